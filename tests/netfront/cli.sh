#!/bin/sh
# SPDX-License-Identifier: MIT
# splitdrv-netfront's command line: --help, --version, usage errors.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/tools/lib.sh"

NF="${VALGRIND_DEMO:-} $top_builddir/drivers/netfront/splitdrv-netfront"

out=$($NF --help) || fail "--help exited $?"
echo "$out" | grep -q -- '--ifname' || fail "--help does not mention --ifname"
echo "$out" | grep -q -- '-D, --domid' || fail "--help does not mention --domid"
out=$($NF -h) || fail "-h exited $?"
out=$($NF --version) || fail "--version exited $?"
echo "$out" | grep -q '^splitdrv-netfront (libsplitdrv) ' || fail "--version said: $out"

$NF --frobnicate >/dev/null 2>"$TMP/err"
[ $? -eq 2 ] || fail "a bad option did not exit 2"
grep -q 'Usage: splitdrv-netfront' "$TMP/err" || fail "a bad option printed no usage to stderr"
$NF >/dev/null 2>&1
[ $? -eq 2 ] || fail "no -D did not exit 2"
$NF -D abc >/dev/null 2>&1
[ $? -eq 2 ] || fail "-D abc did not exit 2"
$NF -D 1 -H x >/dev/null 2>&1
[ $? -eq 2 ] || fail "-H x did not exit 2"
$NF -D 1 extra >/dev/null 2>&1
[ $? -eq 2 ] || fail "an extra argument did not exit 2"
$NF -D 1 -i 'this-name-is-far-too-long' >/dev/null 2>&1
[ $? -eq 2 ] || fail "an interface name of 25 bytes did not exit 2"
# No broker: a clear error and exit 1.
$NF -D 1 -b "$TMP/none.sock" >/dev/null 2>"$TMP/err"
[ $? -eq 1 ] || fail "no broker did not exit 1"
grep -q 'splitdrv-netfront: ' "$TMP/err" || fail "no broker: no message"
rm -rf "$TMP"
echo PASS
