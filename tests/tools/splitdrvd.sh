#!/bin/sh
# SPDX-License-Identifier: MIT
# The daemons and the toolstack as commands: --help (exit 0, usage on
# stdout), --version, bad usage (exit 2, before anything is tried); then
# splitdrvd serving on a temporary socket, alone and with --run-store:
# both sockets accept connections, a second broker on a live socket is
# refused, and SIGTERM (or SIGINT) makes it exit 0 with its sockets
# removed. Under make check-valgrind the daemons run under memcheck.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/tools/lib.sh"
need_tool "${PYTHON3:-python3}" python3
PY=${PYTHON3:-python3}
VG=${VALGRIND_DEMO:-}
version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$top_builddir/config.h")
[ -n "$version" ] || fail "no PACKAGE_VERSION in $top_builddir/config.h"

# can_connect PATH: a unix socket at PATH accepts a connection: the broker
# is SOCK_SEQPACKET, the store SOCK_STREAM (as xenstored).
can_connect() {
	$PY -c 'import socket, sys
t = socket.SOCK_STREAM if sys.argv[1].endswith("xs.sock") else socket.SOCK_SEQPACKET
s = socket.socket(socket.AF_UNIX, t)
s.connect(sys.argv[1])' "$1" 2>/dev/null
}

# has_log FILE TEXT: until FILE holds TEXT (a daemon prints its start-up
# lines after its sockets exist: under valgrind a connect can come first).
has_log() {
	for _ in $(seq 1 200); do
		grep -qF "$2" "$1" && return 0
		sleep 0.05
	done
	return 1
}

# wait_listening PID PATH...: until every PATH accepts connections.
wait_listening() {
	pid=$1
	shift
	for p in "$@"; do
		n=0
		until can_connect "$p"; do
			kill -0 "$pid" 2>/dev/null || fail "the daemon exited at start (waiting for $p)"
			n=$((n + 1))
			[ $n -lt 1200 ] || fail "nothing listens on $p"
			sleep 0.05
		done
	done
}

# stop PID SIGNAL PATH...: the daemon exits 0 and every PATH is gone.
stop() {
	pid=$1
	sig=$2
	shift 2
	kill -"$sig" "$pid" || fail "the daemon is gone before SIG$sig"
	wait "$pid"
	rc=$?
	STORE_PID=
	[ $rc -eq 0 ] || fail "the daemon exited with $rc on SIG$sig"
	for p in "$@"; do
		[ -e "$p" ] && fail "SIG$sig left $p behind"
	done
	return 0
}

# options PROGRAM USAGE-LINE: --help, -h, --version, bad options.
options() {
	prog=$top_builddir/tools/$1
	out=$($VG "$prog" --help 2>"$TMP/err") || fail "$1 --help: exit $?"
	printf '%s\n' "$out" | head -n 1 | grep -qxF "$2" || fail "$1 --help printed: $out"
	printf '%s\n' "$out" | grep -q -- '--version' || fail "$1 --help does not list --version"
	[ -s "$TMP/err" ] && fail "$1 --help wrote to stderr: $(cat "$TMP/err")"
	out=$($VG "$prog" -h) || fail "$1 -h: exit $?"
	printf '%s\n' "$out" | head -n 1 | grep -qxF "$2" || fail "$1 -h printed: $out"
	out=$($VG "$prog" --version) || fail "$1 --version: exit $?"
	[ "$out" = "$1 (libsplitdrv) $version" ] || fail "$1 --version printed: $out"
	out=$($VG "$prog" -V) || fail "$1 -V: exit $?"
	[ "$out" = "$1 (libsplitdrv) $version" ] || fail "$1 -V printed: $out"
	$VG "$prog" --bogus >"$TMP/out" 2>"$TMP/err"
	rc=$?
	[ $rc -eq 2 ] || fail "$1 --bogus: exit $rc, want 2"
	[ -s "$TMP/out" ] && fail "$1 --bogus wrote to stdout: $(cat "$TMP/out")"
	grep -q "^Usage: $1 " "$TMP/err" || fail "$1 --bogus: no usage on stderr: $(cat "$TMP/err")"
	return 0
}

options splitdrvd "Usage: splitdrvd [OPTION]..."
options splitdrv-xenstored "Usage: splitdrv-xenstored [OPTION]..."
options splitdrv "Usage: splitdrv [OPTION]... COMMAND [ARG]..."
sd=$top_builddir/tools/splitdrvd

# Bad usage is exit 2 before anything is tried: no socket is made, and an
# unusable default socket path does not turn it into a different error.
nodir=$TMP/no-such-dir/broker.sock
for args in "extra-argument" "--privileged-uid x" "--privileged-uid -1" \
	"--store-state $TMP/state"; do
	# shellcheck disable=SC2086
	SPLITDRV_BROKER=$nodir $VG "$sd" $args >"$TMP/out" 2>"$TMP/err"
	rc=$?
	[ $rc -eq 2 ] || fail "splitdrvd $args: exit $rc, want 2 ($(cat "$TMP/err"))"
done
# shellcheck disable=SC2086
$VG "$sd" --socket "$TMP/unused.sock" --store-state "$TMP/state" >/dev/null 2>&1
[ $? -eq 2 ] || fail "--store-state without --run-store: exit status is not 2"
[ -e "$TMP/unused.sock" ] && fail "a usage error left a broker socket"
[ -e "$TMP/state" ] && fail "a usage error wrote a state file"
# A socket it cannot make: exit 1 and a message.
SPLITDRV_BROKER=$nodir $VG "$sd" >/dev/null 2>"$TMP/err"
rc=$?
[ $rc -eq 1 ] || fail "an unusable socket path: exit $rc, want 1"
grep -qF "cannot listen on $nodir" "$TMP/err" || fail "no message for the socket: $(cat "$TMP/err")"

# The broker alone, its socket from $SPLITDRV_BROKER: SIGTERM.
b=$TMP/broker.sock
SPLITDRV_BROKER=$b $VG "$sd" >"$TMP/store.log" 2>&1 &
STORE_PID=$!
wait_listening $STORE_PID "$b"
has_log "$TMP/store.log" "splitdrvd: listening on $b" || fail "no 'listening on' line"
# A second broker on the live socket is refused, and leaves it alone.
$VG "$sd" --socket "$b" >"$TMP/out" 2>&1
rc=$?
[ $rc -eq 1 ] || fail "a second splitdrvd on a live socket: exit $rc, want 1"
can_connect "$b" || fail "the second splitdrvd took the first one's socket"
stop $STORE_PID TERM "$b"
grep -q "stopping" "$TMP/store.log" || fail "no 'stopping' line on SIGTERM"

# Again with --socket, stopped by SIGINT.
$VG "$sd" -s "$b" -v >"$TMP/store.log" 2>&1 &
STORE_PID=$!
wait_listening $STORE_PID "$b"
stop $STORE_PID INT "$b"

# The broker and the store: both sockets serve; SIGTERM removes both and
# writes the state file.
st=$TMP/xs.sock
$VG "$sd" --socket "$b" --run-store "$st" --store-state "$TMP/state" >"$TMP/store.log" 2>&1 &
STORE_PID=$!
wait_listening $STORE_PID "$b" "$st"
has_log "$TMP/store.log" "splitdrvd: store on $st" || fail "no 'store on' line"
stop $STORE_PID TERM "$b" "$st"
[ -s "$TMP/state" ] || fail "no state file after SIGTERM with --store-state"
[ -e "$TMP/state.tmp" ] && fail "the state file's temporary was left behind"

# With a stale socket left by a killed daemon: it starts anyway.
$VG "$sd" --socket "$b" --run-store "$st" >"$TMP/store.log" 2>&1 &
STORE_PID=$!
wait_listening $STORE_PID "$b" "$st"
kill -KILL $STORE_PID
{ wait $STORE_PID; } 2>/dev/null
$VG "$sd" --socket "$b" --run-store "$st" >"$TMP/store.log" 2>&1 &
STORE_PID=$!
wait_listening $STORE_PID "$b" "$st"
stop $STORE_PID TERM "$b" "$st"

rm -rf "$TMP"
echo "PASS: splitdrvd and the programs' options"
