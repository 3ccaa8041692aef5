#!/bin/sh
# SPDX-License-Identifier: MIT
# The demos the README's quick start runs keep working: each exits 0 and
# reports no wrong response. Under make check-valgrind they run under
# memcheck too (VALGRIND_DEMO is set there), children included.
set -u
: "${top_builddir:?}"
run() {
	name=$1
	shift
	out=$(${VALGRIND_DEMO:-} "$top_builddir/examples/$name" "$@" 2>&1)
	rc=$?
	printf '%s\n' "$out" | sed "s/^/$name: /"
	if [ $rc -ne 0 ]; then
		echo "FAIL: $name exited with $rc"
		exit 1
	fi
	if ! printf '%s\n' "$out" | grep -q ' 0 wrong'; then
		echo "FAIL: $name did not report '0 wrong'"
		exit 1
	fi
}
n=200000
[ -n "${VALGRIND_DEMO:-}" ] && n=5000
run splitdrv-ring-demo -n $n
run splitdrv-posix-demo -n $n
run splitdrv-posix-demo -n $n -p 8 -q
echo "PASS: both demos"
