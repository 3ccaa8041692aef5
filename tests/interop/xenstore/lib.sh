# SPDX-License-Identifier: MIT
# Sourced by the tests against Xen's real xenstore clients. Each test runs
# its own splitdrv-xenstored on a socket in a fresh temporary directory and
# stops it with SIGTERM at the end (exit status 0 and the socket removed
# are part of the test); an EXIT trap kills whatever is left and removes
# the directory, also when a check fails.
#
# Checks do not stop the test: each failure is printed with "FAIL:" and
# counted, and xs_finish exits 1 if there was any. Under make
# check-valgrind ($VALGRIND_DEMO set) the daemon and the helpers built here
# run under memcheck, and the waits are longer.

set -u
: "${top_builddir:?}" "${top_srcdir:?}"
# Byte order for sort, English messages from the tools.
LC_ALL=C
export LC_ALL

xs_bin=$top_builddir/tests/interop/xenstore
xs_src=$top_srcdir/tests/interop/xenstore
# SDRV_XENSTORED runs the suite against another store daemon.
xs_daemon=${SDRV_XENSTORED:-$top_builddir/tools/splitdrv-xenstored}
xs_vg=${VALGRIND_DEMO:-}
# Longest wait for anything, in seconds.
xs_t=20
[ -n "$xs_vg" ] && xs_t=300

xs_fails=0
xs_procs=""
xs_tmp=$(mktemp -d "${TMPDIR:-/tmp}/sdrv-xs.XXXXXX") || exit 1
# Other users (the tests' unprivileged uid) must reach the sockets.
chmod 755 "$xs_tmp"

say() { printf '%s\n' "$*"; }
ok() { say "ok - $*"; }
fail() {
	# (long arguments, e.g. 4 KiB values, cut short)
	printf 'FAIL: %.600s\n' "$*"
	xs_fails=$((xs_fails + 1))
}
die() {
	say "FAIL: $*"
	exit 1
}

# skip REASON: exit 77, or fail in CI (CI=true installs every peer).
skip() {
	if [ "${CI:-}" = true ]; then
		die "(CI=true, skipping is not allowed) $*"
	fi
	say "SKIP: $*"
	exit 77
}

need_cmd() {
	command -v "$1" >/dev/null 2>&1 || skip "$1 not found (Debian package $2)"
}

# skip_part REASON: one part of the test cannot run here; the rest does.
# xs_finish then exits 77 if nothing failed. In CI (CI=true) it is a failure.
xs_skipped=""
skip_part() {
	if [ "${CI:-}" = true ]; then
		fail "(CI=true, skipping is not allowed) $*"
		return 0
	fi
	say "SKIP (this part only): $*"
	xs_skipped="$xs_skipped
  $*"
}

# Clients run as uid 65534, which the daemons of the tests map to the
# unprivileged domain 5 (--uid-domain 65534:5): "$xs_as5 CMD...".
xs_as5="setpriv --reuid=65534 --regid=65534 --clear-groups"
# xs_no_as5: why this run cannot do that (prints nothing if it can).
xs_no_as5() {
	if [ "$(id -u)" != 0 ]; then
		echo "running clients as uid 65534 (setpriv) needs root"
	elif ! command -v setpriv >/dev/null 2>&1; then
		echo "setpriv not found (Debian package util-linux)"
	fi
}

# Whether process $1 has exited (gone, or a zombie waiting for us).
xs_exited() {
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 0
	case $st in Z*) return 0 ;; esac
	return 1
}

# xs_wait_exit PID SECONDS: 0 once it exited, 1 if it still runs.
xs_wait_exit() {
	n=0
	while [ "$n" -lt $(($2 * 10)) ]; do
		xs_exited "$1" && return 0
		sleep 0.1
		n=$((n + 1))
	done
	return 1
}

xs_forget() {
	new=""
	for p in $xs_procs; do
		[ "$p" = "$1" ] || new="$new $p"
	done
	xs_procs=$new
}

xs_cleanup() {
	rc=$?
	trap - EXIT INT TERM HUP
	for p in $xs_procs; do
		kill -TERM "$p" 2>/dev/null
		xs_wait_exit "$p" 10 || kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		for f in "$xs_tmp"/*/log; do
			[ -s "$f" ] || continue
			say "---- $f (last 40 lines)"
			tail -n 40 "$f"
		done
	fi
	rm -rf "$xs_tmp"
	exit "$rc"
}
trap xs_cleanup EXIT
trap 'exit 1' INT TERM HUP

# xs_start NAME [OPTION...]: start a daemon on $xs_tmp/NAME/socket, wait
# until it accepts connections. Sets xs_sock and xs_pid.
xs_start() {
	xs_name=$1
	shift
	[ -x "$xs_daemon" ] || die "$xs_daemon is not built"
	mkdir -p "$xs_tmp/$xs_name"
	chmod 755 "$xs_tmp/$xs_name"
	xs_sock=$xs_tmp/$xs_name/socket
	$xs_vg "$xs_daemon" --socket "$xs_sock" --foreground "$@" >"$xs_tmp/$xs_name/log" 2>&1 &
	xs_pid=$!
	xs_procs="$xs_procs $xs_pid"
	n=0
	until "$xs_bin/xs-wire" wait "$xs_sock" 1 2>/dev/null; do
		if xs_exited "$xs_pid"; then
			cat "$xs_tmp/$xs_name/log"
			die "$xs_name: splitdrv-xenstored ${*:-(no options)} exited at start"
		fi
		n=$((n + 1))
		if [ "$n" -ge "$xs_t" ]; then
			cat "$xs_tmp/$xs_name/log"
			die "$xs_name: splitdrv-xenstored ${*:-} did not accept connections in ${xs_t}s"
		fi
	done
}

# xs_stop NAME PID: SIGTERM; the daemon must exit 0 and remove its socket.
xs_stop() {
	kill -TERM "$2" 2>/dev/null || fail "$1: daemon already gone before SIGTERM"
	if ! xs_wait_exit "$2" "$xs_t"; then
		fail "$1: daemon still running ${xs_t}s after SIGTERM"
		kill -KILL "$2" 2>/dev/null
	fi
	wait "$2"
	st=$?
	xs_forget "$2"
	if [ "$st" -eq 0 ]; then
		ok "$1: daemon exits 0 on SIGTERM"
	else
		fail "$1: daemon exit status $st after SIGTERM (want 0)"
		tail -n 40 "$xs_tmp/$1/log"
	fi
	[ -e "$xs_tmp/$1/socket" ] && fail "$1: socket $xs_tmp/$1/socket left behind"
	return 0
}

# xs_proxy NAME UPSTREAM [OPTION...]: start xs-proxy on $xs_tmp/NAME/socket
# logging to $xs_tmp/NAME/wire. Sets px_sock, px_log, px_pid.
xs_proxy() {
	px_name=$1
	px_up=$2
	shift 2
	mkdir -p "$xs_tmp/$px_name"
	chmod 755 "$xs_tmp/$px_name"
	px_sock=$xs_tmp/$px_name/socket
	px_log=$xs_tmp/$px_name/wire
	: >"$px_log"
	$xs_vg "$xs_bin/xs-proxy" --listen "$px_sock" --upstream "$px_up" --log "$px_log" "$@" \
		>"$xs_tmp/$px_name/log" 2>&1 &
	px_pid=$!
	xs_procs="$xs_procs $px_pid"
	"$xs_bin/xs-wire" wait "$px_sock" "$xs_t" || die "$px_name: xs-proxy did not start"
	chmod 666 "$px_sock"
}

# xs_proxy_stop NAME PID: SIGTERM, exit 0 (it runs under memcheck too).
xs_proxy_stop() {
	kill -TERM "$2" 2>/dev/null
	xs_wait_exit "$2" "$xs_t" || kill -KILL "$2" 2>/dev/null
	wait "$2"
	st=$?
	xs_forget "$2"
	[ "$st" -eq 0 ] || {
		fail "$1: xs-proxy exit status $st"
		cat "$xs_tmp/$1/log"
	}
	return 0
}

# xs_run CMD...: run with a time limit; sets rc, out (stdout, trailing
# newlines stripped) and err (stderr).
xs_run() {
	timeout -k 5 "$xs_t" "$@" >"$xs_tmp/out" 2>"$xs_tmp/err"
	rc=$?
	out=$(cat "$xs_tmp/out")
	err=$(cat "$xs_tmp/err")
}

# check DESC RC STDOUT CMD...: CMD must exit RC and print exactly STDOUT.
check() {
	c_desc=$1
	c_rc=$2
	c_out=$3
	shift 3
	xs_run "$@"
	if [ "$rc" = "$c_rc" ] && [ "$out" = "$c_out" ]; then
		ok "$c_desc"
	else
		fail "$c_desc: '$*' exit $rc (want $c_rc), stdout [$out] (want [$c_out]), stderr [$err]"
	fi
}

# check_err DESC RC STDERR CMD...: CMD must exit RC and print exactly STDERR
# on stderr.
check_err() {
	c_desc=$1
	c_rc=$2
	c_err=$3
	shift 3
	xs_run "$@"
	if [ "$rc" = "$c_rc" ] && [ "$err" = "$c_err" ]; then
		ok "$c_desc"
	else
		fail "$c_desc: '$*' exit $rc (want $c_rc), stderr [$err] (want [$c_err]), stdout [$out]"
	fi
}

# expect DESC ACTUAL WANTED
expect() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		fail "$1: got [$2], want [$3]"
	fi
}

# wire_has DESC ERE: the proxy log has a line matching ERE.
wire_has() {
	if grep -Eq -- "$2" "$px_log"; then
		ok "$1"
	else
		fail "$1: no line of the wire log matches /$2/"
		sed 's/^/    wire: /' "$px_log" | tail -n 30
	fi
}

# wire_lacks DESC ERE: no line matches.
wire_lacks() {
	if grep -Eq -- "$2" "$px_log"; then
		fail "$1: the wire log has /$2/:"
		grep -E -- "$2" "$px_log" | head -n 5 | sed 's/^/    wire: /'
	else
		ok "$1"
	fi
}

# last_conn: the number of the proxy's latest connection.
last_conn() {
	sed -n 's/^C\([0-9]*\) open$/\1/p' "$px_log" | tail -n 1
}

# wait_lines FILE N: wait until FILE has at least N lines.
wait_lines() {
	n=0
	while [ "$(cat "$1" 2>/dev/null | wc -l)" -lt "$2" ]; do
		[ "$n" -ge $((xs_t * 20)) ] && return 1
		sleep 0.05
		n=$((n + 1))
	done
	return 0
}

xs_finish() {
	if [ "$xs_fails" -ne 0 ]; then
		say "$xs_fails check(s) failed"
		exit 1
	fi
	if [ -n "$xs_skipped" ]; then
		say "SKIP: everything that ran passed, but these parts did not run:$xs_skipped"
		exit 77
	fi
	say "PASS"
	exit 0
}
