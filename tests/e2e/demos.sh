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
if [ -n "${VALGRIND_DEMO:-}" ]; then
	n=5000
	# Memcheck would trace Xen's xenstore-ls too: the demo prints the tree itself.
	SPLITDRV_DEMO_OWN_LS=1
	export SPLITDRV_DEMO_OWN_LS
fi
run splitdrv-ring-demo -n $n
run splitdrv-posix-demo -n $n -p 4
# The main demo sets the device up as Xen does: both ends reach Connected
# through the store, the tree shows what each published, and the close
# takes both down before the toolstack removes the device.
for want in 'toolstack: frontend Connected, backend Connected' \
	'/local/domain/1/device/demo/0/ring-ref3 = "' \
	'/local/domain/1/device/demo/0/ring-page-order = "2"' \
	'/local/domain/2/backend/demo/1/0/max-ring-page-order = "4"' \
	'backend:  Closed' 'toolstack: both ends Closed; device removed'; do
	printf '%s\n' "$out" | grep -qF "$want" || { echo "FAIL: the demo did not print: $want"; exit 1; }
done
if [ -z "${SPLITDRV_DEMO_OWN_LS:-}" ] && [ "${CI:-}" = true ] && ! command -v xenstore-ls >/dev/null; then
	echo "FAIL: xenstore-ls (xenstore-utils) is missing, and CI must run every test"
	exit 1
fi
run splitdrv-posix-demo -n $n -p 8 -q
echo "PASS: both demos"
