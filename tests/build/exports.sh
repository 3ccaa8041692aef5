#!/bin/sh
# SPDX-License-Identifier: MIT
# Each shared library exports exactly the symbols listed in its version
# script: nothing leaks (hidden visibility works), nothing listed is missing
# (every inline helper has its callable copy), and every public function of
# its headers is listed.
set -eu
: "${top_srcdir:?}" "${top_builddir:?}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
inc=$top_srcdir/include/splitdrv
# The drivers' headers belong to their own libraries; the rest to libsplitdrv.
driver_headers="blkback.h blkfront.h netback.h netfront.h"
status=0 checked=0

check() { # library directory, library name, version script, headers...
	dir=$1 name=$2 map=$3
	shift 3
	so=$(ls "$top_builddir/$dir"/.libs/"$name".so.* 2>/dev/null | head -n1 || true)
	if [ -z "$so" ]; then
		echo "note: $name not built, not checked"
		return 0
	fi
	checked=$((checked + 1))
	nm -D --defined-only "$so" | awk '$2 ~ /^[TDBR]$/ {print $3}' | sed 's/@.*//' |
		grep -v '^LIBSPLITDRV' | sort -u > "$tmp/exported"
	sed -n 's/^[[:space:]]*\(sdrv_[A-Za-z0-9_]*\);.*/\1/p' "$top_srcdir/$map" | sort -u > "$tmp/listed"
	if ! diff -u "$tmp/listed" "$tmp/exported"; then
		echo "FAIL: $name: exported symbols differ from $map (- listed only, + exported only)"
		status=1
	fi
	grep -hoE '^(SDRV_INLINE|SDRV_API)[^(]*[ *](sdrv_[a-z0-9_]+)\(' "$@" 2>/dev/null |
		sed -E 's/.*[ *](sdrv_[a-z0-9_]+)\($/\1/' | sort -u > "$tmp/declared"
	if ! diff -u "$tmp/declared" "$tmp/listed"; then
		echo "FAIL: $name: public functions not in $map (- declared only, + listed only)"
		status=1
	fi
	[ $status -eq 0 ] && echo "ok: $name: $(wc -l < "$tmp/exported") symbols exported, all listed, all declared"
	return 0
}

core_headers=
for h in "$inc"/*.h "$inc"/*/*.h; do
	case " $driver_headers " in *" $(basename "$h") "*) continue ;; esac
	core_headers="$core_headers $h"
done
# shellcheck disable=SC2086
check libsplitdrv libsplitdrv libsplitdrv/libsplitdrv.map $core_headers
check drivers/blkback libsplitdrv-blkback drivers/blkback/libsplitdrv-blkback.map "$inc/blkback.h"
check drivers/blkfront libsplitdrv-blkfront drivers/blkfront/libsplitdrv-blkfront.map "$inc/blkfront.h"
check drivers/netback libsplitdrv-netback drivers/netback/libsplitdrv-netback.map "$inc/netback.h"
check drivers/netfront libsplitdrv-netfront drivers/netfront/libsplitdrv-netfront.map "$inc/netfront.h"
if [ $checked -eq 0 ]; then
	echo "SKIP: no shared library built (--disable-shared)"; exit 77
fi
[ $status -eq 0 ] && echo "PASS"
exit $status
