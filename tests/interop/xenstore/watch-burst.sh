#!/bin/sh
# SPDX-License-Identifier: MIT
# xenstore-watch must see every change of a transaction that changes many
# nodes at once, as with Xen's xenstored: it queues every event for a
# connection, bounded only by the domain's memory quota (2.5 MB by default,
# none for dom0), and drops events of unprivileged domains only after 20 s
# unread. Here one xenstore-write (one transaction) creates 600 nodes under
# a watched directory, and the watcher reads at once: dom0's and domain 5's
# watchers must each get the initial event and 600 more. (Domain 5's
# watcher runs as uid 65534, which needs root: without it, only dom0's.)
. "$top_srcdir/tests/interop/xenstore/lib.sh"
need_cmd xenstore-read xenstore-utils
need_cmd timeout coreutils

as5=$xs_as5

xs_start burst --uid-domain 65534:5
chmod 666 "$xs_sock"
XENSTORED_PATH=$xs_sock
export XENSTORED_PATH
check "dom0: /burst" 0 "" xenstore-write /burst ""
check "dom0: home of domain 5" 0 "" xenstore-write /local/domain/5/burst ""
check "dom0: owned by domain 5" 0 "" xenstore-chmod -r /local/domain/5 n5

# burst NAME WHO DIR: a watcher of DIR (run as WHO) and 600 new children of
# DIR written by dom0 in one transaction. Then a sentinel node is written
# (again, until its event shows): its event comes after all of the burst's,
# so once it is there the watcher has seen everything it will see.
burst() {
	out=$xs_tmp/$1.out
	: >"$out"
	# shellcheck disable=SC2086
	timeout -k 5 "$xs_t" $2 xenstore-watch "$3" >"$out" 2>&1 &
	wpid=$!
	xs_procs="$xs_procs $wpid"
	wait_lines "$out" 1 || fail "$1: no initial event"
	i=0
	args=""
	while [ "$i" -lt 600 ]; do
		args="$args $3/k$i v"
		i=$((i + 1))
	done
	# shellcheck disable=SC2086
	xenstore-write $args || fail "$1: xenstore-write of 600 nodes"
	n=0
	until grep -q "^$3/zz\$" "$out"; do
		[ "$n" -ge $((xs_t * 5)) ] && break
		xenstore-write "$3/zz" "$n"
		sleep 0.2
		n=$((n + 1))
	done
	kill -TERM "$wpid" 2>/dev/null
	wait "$wpid"
	xs_forget "$wpid"
	expect "$1: the watcher got all 600 changes" "$(grep -c "^$3/k[0-9]*\$" "$out")" 600
}
burst dom0 "" /burst
why=$(xs_no_as5)
if [ -n "$why" ]; then
	skip_part "the watcher as domain 5: $why"
else
	burst domain5 "$as5" /local/domain/5/burst
fi
xs_stop burst "$xs_pid"
xs_finish
