#!/bin/sh
# SPDX-License-Identifier: MIT
# splitdrvd --run-store: the broker and the store in one daemon, where a
# process that holds a domain at the broker is that domain at the store.
# The toolstack (splitdrv, a plain root process) is domain 0.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/tools/lib.sh"
need_tool xenstore-read xenstore-utils

XENSTORED_PATH=$TMP/store.sock
export XENSTORED_PATH
${VALGRIND_DEMO:-} "$top_builddir/tools/splitdrvd" --socket "$TMP/broker.sock" \
	--run-store "$XENSTORED_PATH" --store-state "$TMP/state" >"$TMP/store.log" 2>&1 &
STORE_PID=$!
for _ in $(seq 1 600); do
	xenstore-exists / 2>/dev/null && break
	kill -0 "$STORE_PID" 2>/dev/null || fail "splitdrvd exited at start"
	sleep 0.1
done
SD="${VALGRIND_DEMO:-} $top_builddir/tools/splitdrv"
$SD create guest5 --domid 5 >/dev/null || fail "create guest5"
out=$(${VALGRIND_DEMO:-} "$top_builddir/tests/tools/store-domain" "$TMP/broker.sock" 5 2>&1) ||
	fail "the domain's checks: $out"
echo "$out" | grep -q '^name=guest5$' || fail "the domain did not read its name: $out"
expect_read /local/domain/5/data/hello "from the domain"
xenstore-exists /local/domain/0/intruder && fail "domain 5 wrote into domain 0's home"
# The tree survives a restart of the daemon through its state file.
store_stop_keep() {
	kill -TERM "$STORE_PID"; wait "$STORE_PID"; rc=$?
	[ $rc -eq 0 ] || fail "splitdrvd exited with $rc on SIGTERM"
}
store_stop_keep
${VALGRIND_DEMO:-} "$top_builddir/tools/splitdrvd" --socket "$TMP/broker.sock" \
	--run-store "$XENSTORED_PATH" --store-state "$TMP/state" >"$TMP/store.log" 2>&1 &
STORE_PID=$!
for _ in $(seq 1 600); do
	xenstore-exists / 2>/dev/null && break
	sleep 0.1
done
expect_read /local/domain/5/data/hello "from the domain"
store_stop
echo "PASS: splitdrvd --run-store"
