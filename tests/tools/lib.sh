# SPDX-License-Identifier: MIT
# Shell helpers for tests that run the store daemon and the tools: a
# daemon on a socket in a fresh temporary directory, stopped with SIGTERM
# at the end (it must exit 0), killed on any failure.
TMP=$(mktemp -d /tmp/sdrv-tools-XXXXXX)
STORE_PID=
fail() {
	echo "FAIL: $*"
	[ -n "$STORE_PID" ] && kill -9 "$STORE_PID" 2>/dev/null
	[ -f "$TMP/store.log" ] && sed 's/^/store: /' "$TMP/store.log" | tail -n 20
	rm -rf "$TMP"
	exit 1
}
need_tool() { # program, package
	command -v "$1" >/dev/null 2>&1 && return 0
	if [ "${CI:-}" = true ]; then
		echo "FAIL: $1 ($2) is missing, and CI must run every test"
		exit 1
	fi
	echo "SKIP: $1 ($2) is not installed"
	rm -rf "$TMP"
	exit 77
}
store_start() { # extra daemon options...
	XENSTORED_PATH=$TMP/store.sock
	export XENSTORED_PATH
	${VALGRIND_DEMO:-} "$top_builddir/tools/splitdrv-xenstored" --foreground \
		--socket "$XENSTORED_PATH" "$@" >"$TMP/store.log" 2>&1 &
	STORE_PID=$!
	for _ in $(seq 1 600); do
		xenstore-exists / 2>/dev/null && return 0
		kill -0 "$STORE_PID" 2>/dev/null || fail "the store daemon exited at start"
		sleep 0.1
	done
	fail "the store daemon did not start"
}
store_stop() {
	kill -TERM "$STORE_PID"
	wait "$STORE_PID"
	rc=$?
	STORE_PID=
	[ $rc -eq 0 ] || fail "the store daemon exited with $rc on SIGTERM"
	[ -e "$XENSTORED_PATH" ] && fail "the store daemon left its socket behind"
	rm -rf "$TMP"
}
expect_read() { # path, value
	v=$(xenstore-read "$1" 2>&1) || fail "cannot read $1: $v"
	[ "$v" = "$2" ] || fail "$1 is '$v', not '$2'"
}
gone() { # path
	xenstore-exists "$1" 2>/dev/null && fail "$1 still exists"
	return 0
}
