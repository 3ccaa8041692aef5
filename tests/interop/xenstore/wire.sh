#!/bin/sh
# SPDX-License-Identifier: MIT
# The store's wire protocol, byte by byte, against what Xen's clients rely
# on and what Xen's xenstored does: every quirk of
# shared/ref/xenstore-clients.md (no handshake, req_id echo and pipelining,
# reply types, the 4096-byte payload limit, error names, transactions,
# DIRECTORY_PART, value encoding, socket connections privileged), plus
# watches, special watches and transactions' events. The checks are in
# xs-wire.c, written with Xen's own xs_wire.h.
. "$top_srcdir/tests/interop/xenstore/lib.sh"

xs_start wire
xs_run $xs_vg "$xs_bin/xs-wire" quirks "$xs_sock"
printf '%s\n' "$out"
[ -n "$err" ] && printf '%s\n' "$err"
if [ "$rc" -eq 0 ]; then
	ok "xs-wire quirks"
else
	fail "xs-wire quirks: exit $rc"
fi
# Still serving after the hostile parts (oversized requests, garbage).
check "store alive after the wire checks" 0 "" \
	"$xs_bin/xs-wire" put "$xs_sock" /after/wire 6c6561660a
check "value written after the wire checks" 0 "6c6561660a" \
	"$xs_bin/xs-wire" get "$xs_sock" /after/wire
xs_stop wire "$xs_pid"
xs_finish
