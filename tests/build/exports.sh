#!/bin/sh
# SPDX-License-Identifier: MIT
# The shared library exports exactly the symbols listed in its version
# script: nothing leaks (hidden visibility works), nothing listed is missing
# (every inline helper has its callable copy).
set -eu
: "${top_srcdir:?}" "${top_builddir:?}"
so=$(ls "$top_builddir"/libsplitdrv/.libs/libsplitdrv.so.* 2>/dev/null | head -n1 || true)
if [ -z "$so" ]; then
	echo "SKIP: no shared library built (--disable-shared)"; exit 77
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
nm -D --defined-only "$so" | awk '$2 ~ /^[TDBR]$/ {print $3}' | sed 's/@.*//' | grep -v '^LIBSPLITDRV_' | sort -u > "$tmp/exported"
sed -n 's/^[[:space:]]*\(sdrv_[A-Za-z0-9_]*\);.*/\1/p' "$top_srcdir/libsplitdrv/libsplitdrv.map" | sort -u > "$tmp/listed"
if ! diff -u "$tmp/listed" "$tmp/exported"; then
	echo "FAIL: exported symbols differ from libsplitdrv.map (- listed only, + exported only)"
	exit 1
fi
# Every SDRV_INLINE and SDRV_API function in the public headers is listed.
grep -hoE '^(SDRV_INLINE|SDRV_API)[^(]*[ *](sdrv_[a-z0-9_]+)\(' "$top_srcdir"/include/splitdrv/*.h "$top_srcdir"/include/splitdrv/*/*.h 2>/dev/null \
	| sed -E 's/.*[ *](sdrv_[a-z0-9_]+)\($/\1/' | sort -u > "$tmp/declared"
if ! diff -u "$tmp/declared" "$tmp/listed"; then
	echo "FAIL: public functions not in libsplitdrv.map (- declared only, + listed only)"
	exit 1
fi
echo "PASS: $(wc -l < "$tmp/exported") symbols exported, all listed, all declared"
