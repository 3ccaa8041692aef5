#!/bin/sh
# SPDX-License-Identifier: MIT
# The 32-bit x86 blkif layouts (sdrv_blkif_x86_32_*) equal Xen's own i386
# layout: layout-x86-32.c is compiled with -m32 against libxen-dev's headers,
# where Xen's native structures are the x86_32 ABI, and asserts field by
# field at compile time. Only the compiler is needed (-fsyntax-only with
# -ffreestanding: no 32-bit C library, no gcc-multilib).
set -eu
: "${top_srcdir:?}" "${CC:=cc}"
probe="$top_srcdir/tests/interop/layout-x86-32.c"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

skip() {
	if [ "${CI:-}" = true ]; then
		echo "FAIL (CI=true, skipping is not allowed): $1"; exit 1
	fi
	echo "SKIP: $1"; exit 77
}

printf '#include <stdint.h>\n#if !defined(__i386__)\n#error no\n#endif\n' > "$tmp/m32.c"
if ! $CC -m32 -ffreestanding -fsyntax-only "$tmp/m32.c" 2>"$tmp/err"; then
	skip "$CC cannot compile for -m32 (i386): $(head -n 1 "$tmp/err")"
fi
# shellcheck disable=SC2086 # CPPFLAGS may hold several options
if ! $CC -m32 -std=gnu11 -ffreestanding -fsyntax-only -Wall -Wextra -Werror \
	${CPPFLAGS:-} -I"$top_srcdir/include" "$probe"; then
	echo "FAIL: the x86_32 blkif layouts differ from Xen's i386 headers (see above)"
	exit 1
fi
echo "PASS: sdrv_blkif_x86_32_* equal Xen's blkif structures compiled for i386"
