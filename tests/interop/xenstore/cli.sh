#!/bin/sh
# SPDX-License-Identifier: MIT
# Xen's xenstore-utils (xenstore-read, -write, -ls, -list, -exists, -rm,
# -chmod, -watch: one binary linked with libxenstore) against the store,
# found through XENSTORED_PATH as a toolstack finds xenstored (and once
# through XENSTORED_RUNDIR). The last part runs the CLI through xs-proxy
# and checks the messages themselves: no handshake (quirk 1), req_id 0
# (quirk 2), reply types (quirk 3), the CLI's implicit transactions
# (quirk 6) and watch events. Quirk 5 (error messages) and quirk 8 (value
# encoding and escapes) are checked in the first part.
. "$top_srcdir/tests/interop/xenstore/lib.sh"
need_cmd xenstore-read xenstore-utils
need_cmd timeout coreutils

xs_start cli
XENSTORED_PATH=$xs_sock
export XENSTORED_PATH

# ---- write, read, list, ls
check "xenstore-write one key" 0 "" xenstore-write /t/a hello
check "xenstore-read one key" 0 "hello" xenstore-read /t/a
check "xenstore-write several keys" 0 "" xenstore-write /t/b world /t/c 1 /t/d 2 /t/n/x deep
check "xenstore-read several keys" 0 "hello
world" xenstore-read /t/a /t/b
check "xenstore-read -p" 0 "/t/a: hello
/t/c: 1" xenstore-read -p /t/a /t/c
# quirk 5: an error reply (ENOENT) is "couldn't read path ...", exit 1.
check_err "xenstore-read of a missing key" 1 "xenstore-read: couldn't read path /t/nope" \
	xenstore-read /t/nope
check_err "xenstore-read of several keys, one missing" 1 \
	"xenstore-read: couldn't read path /t/nope" xenstore-read /t/a /t/nope
xs_run xenstore-list /t
expect "xenstore-list" "$rc:$(printf '%s\n' "$out" | sort | tr '\n' ' ')" "0:a b c d n "
xs_run xenstore-list -p /t
expect "xenstore-list -p" "$rc:$(printf '%s\n' "$out" | sort | tr '\n' ' ')" \
	"0:/t/a /t/b /t/c /t/d /t/n "
check_err "xenstore-list of a missing key" 1 "xenstore-list: could not list path /t/nope" \
	xenstore-list /t/nope
xs_run xenstore-ls /t
expect "xenstore-ls" "$rc:$(printf '%s\n' "$out" | sort | tr '\n' '|')" \
	'0: x = "deep"|a = "hello"|b = "world"|c = "1"|d = "2"|n = ""|'
xs_run xenstore-ls -f /t
expect "xenstore-ls -f" "$rc:$(printf '%s\n' "$out" | sort | tr '\n' '|')" \
	'0:/t/a = "hello"|/t/b = "world"|/t/c = "1"|/t/d = "2"|/t/n = ""|/t/n/x = "deep"|'
xs_run xenstore-ls -f -p /t
expect "xenstore-ls -f -p: permissions n0 everywhere" \
	"$rc:$(printf '%s\n' "$out" | grep -Ec '^/t/[a-z/]+ = "[a-z0-9]*" +\(n0\)$')" "0:6"

# ---- chmod (then ls -p shows it)
check "xenstore-chmod" 0 "" xenstore-chmod /t/a b0 r5 w7
xs_run xenstore-ls -f -p /t
expect "xenstore-ls -p after xenstore-chmod" \
	"$(printf '%s\n' "$out" | grep -E '^/t/a ' | sed 's/.*(/(/')" "(b0,r5,w7)"
check "xenstore-chmod -r" 0 "" xenstore-chmod -r /t/n n0 r3
xs_run xenstore-ls -f -p /t/n
expect "xenstore-chmod -r reaches children" "$(printf '%s\n' "$out" | sed 's/.*(/(/')" "(n0,r3)"
check "xenstore-chmod -u" 0 "" xenstore-chmod -u /t/n/x n0 r4
xs_run xenstore-ls -f -p /
expect "xenstore-chmod -u reaches parents" \
	"$(printf '%s\n' "$out" | grep -E '^/t(/n(/x)?)? ' | sed 's/.*(/(/' | tr '\n' ' ')" \
	"(n0,r4) (n0,r4) (n0,r4) "
check "xenstore-chmod back" 0 "" xenstore-chmod -r /t n0

# ---- exists (both answers), rm
check "xenstore-exists of a key" 0 "" xenstore-exists /t/a
check "xenstore-exists of a missing key" 1 "" xenstore-exists /t/nope
check "xenstore-rm" 0 "" xenstore-rm /t/b
check "xenstore-exists after xenstore-rm" 1 "" xenstore-exists /t/b
check "xenstore-rm of a missing key (parent exists)" 0 "" xenstore-rm /t/b
check_err "xenstore-rm below a missing parent" 1 "xenstore-rm: could not remove path /nope/x" \
	xenstore-rm /nope/x
check "xenstore-rm of a subtree" 0 "" xenstore-rm /t/n
check "the subtree is gone" 1 "" xenstore-exists /t/n/x
check "xenstore-write deep key" 0 "" xenstore-write /tidy/p/q/leaf v
check "xenstore-rm -t removes empty parents" 0 "" xenstore-rm -t /tidy/p/q/leaf
check "xenstore-rm -t: /tidy gone" 1 "" xenstore-exists /tidy

# ---- quirk 8: value encoding. The CLI unescapes \t \n \xNN \ooo before
# the WRITE (value bytes, no NUL) and escapes what READ returns; -R is raw.
check "xenstore-write with escapes" 0 "" xenstore-write /t/e 'a\tb\nc\x41\101\\z'
check "escapes unescaped on the wire" 0 "6109620a6341415c7a" "$xs_bin/xs-wire" get "$xs_sock" /t/e
check "xenstore-read escapes the value" 0 'a\tb\ncAA\\z' xenstore-read /t/e
check "xenstore-write -R stores backslashes" 0 "" xenstore-write -R /t/r 'a\tb'
check "raw value on the wire" 0 "615c7462" "$xs_bin/xs-wire" get "$xs_sock" /t/r
xs_run sh -c 'xenstore-read -R /t/e | od -An -tx1 | tr -d " \n"'
expect "xenstore-read -R gives the bytes" "$rc:$out" "0:6109620a6341415c7a"
check "binary bytes written raw" 0 "" "$xs_bin/xs-wire" put "$xs_sock" /t/bin 01ff0d
xs_run xenstore-read /t/bin
expect "xenstore-read escapes control and high bytes" "$rc:$out" '0:\001\xff\r'

# ---- watch: initial event, change events, -n to stop
wout=$xs_tmp/watch.out
: >"$wout"
timeout -k 5 "$xs_t" xenstore-watch -n 3 /t/w >"$wout" 2>&1 &
wpid=$!
xs_procs="$xs_procs $wpid"
wait_lines "$wout" 1 || fail "xenstore-watch: no initial event"
xenstore-write /t/w/child 1
wait_lines "$wout" 2 || fail "xenstore-watch: no event for a child"
xenstore-rm /t/w
wait "$wpid"
wrc=$?
xs_forget "$wpid"
expect "xenstore-watch -n 3: initial event, a write below, the removal" \
	"$wrc:$(tr '\n' ' ' <"$wout")" "0:/t/w /t/w/child /t/w "

# ---- once through XENSTORED_RUNDIR (the socket is $XENSTORED_RUNDIR/socket)
xs_run env -u XENSTORED_PATH XENSTORED_RUNDIR="$xs_tmp/cli" xenstore-read /t/a
expect "XENSTORED_RUNDIR finds the store" "$rc:$out" "0:hello"

# ---- the same CLI through xs-proxy: what goes over the wire
xs_proxy px "$xs_sock"
XENSTORED_PATH=$px_sock
check "through the proxy: xenstore-read" 0 "hello" xenstore-read /t/a
c=$(last_conn)
# quirk 1: nothing before the first request, which is the READ itself.
expect "quirk 1: the first message of the connection is the READ" \
	"$(grep -E "^C$c[<>] " "$px_log" | head -n 1)" 'C'$c'> READ req=0 tx=0 len=5 /t/a\0'
check "through the proxy: xenstore-rm (implicit transaction)" 0 "" xenstore-rm /t/d
c=$(last_conn)
# quirk 6: TRANSACTION_START "\0" -> "<id>\0"; the work with that id; "T\0".
wire_has "quirk 6: TRANSACTION_START with payload \\0" \
	"^C$c> TRANSACTION_START req=0 tx=0 len=1 \\\\0\$"
txid=$(sed -n "s/^C$c< TRANSACTION_START req=0 tx=0 len=[0-9]* \\([0-9]*\\)\\\\0\$/\\1/p" "$px_log")
expect "quirk 6: TRANSACTION_START reply is a decimal id" \
	"$(printf '%s' "$txid" | grep -Ec '^[1-9][0-9]*$')" 1
wire_has "quirk 6: RM inside the transaction" "^C$c> RM req=0 tx=$txid len=5 /t/d\\\\0\$"
wire_has "quirk 6: TRANSACTION_END T" "^C$c> TRANSACTION_END req=0 tx=$txid len=2 T\\\\0\$"
wire_has "quirk 6: commit acknowledged" "^C$c< TRANSACTION_END req=0 tx=$txid len=3 OK\\\\0\$"
# quirk 6: several pairs of one xenstore-write are one transaction: exactly
# TRANSACTION_START, a WRITE per pair (value without a NUL) with its id, in
# order, and TRANSACTION_END "T"; each answered with that id.
check "through the proxy: xenstore-write of three pairs" 0 "" \
	xenstore-write /t/m1 one /t/m2 two /t/m3 three
c=$(last_conn)
txid=$(sed -n "s/^C$c< TRANSACTION_START req=0 tx=0 len=[0-9]* \\([0-9]*\\)\\\\0\$/\\1/p" "$px_log")
expect "quirk 6: xenstore-write of three pairs: one transaction id" \
	"$(printf '%s' "$txid" | grep -Ec '^[1-9][0-9]*$')" 1
expect "quirk 6: xenstore-write of three pairs: the requests, in order" \
	"$(grep -E "^C$c> " "$px_log")" \
	"C$c> TRANSACTION_START req=0 tx=0 len=1 \\0
C$c> WRITE req=0 tx=$txid len=9 /t/m1\\0one
C$c> WRITE req=0 tx=$txid len=9 /t/m2\\0two
C$c> WRITE req=0 tx=$txid len=11 /t/m3\\0three
C$c> TRANSACTION_END req=0 tx=$txid len=2 T\\0"
expect "quirk 6: xenstore-write of three pairs: every reply OK with the id" \
	"$(grep -E "^C$c< " "$px_log" | sed 's/ req=0 tx=[0-9]* len=[0-9]* / /')" \
	"C$c< TRANSACTION_START $txid\\0
C$c< WRITE OK\\0
C$c< WRITE OK\\0
C$c< WRITE OK\\0
C$c< TRANSACTION_END OK\\0"
expect "quirk 6: the replies of the WRITEs carry the id" \
	"$(grep -Ec "^C$c< WRITE req=0 tx=$txid len=3 OK\\\\0\$" "$px_log")" 3
check "the three pairs were committed" 0 "one
two
three" xenstore-read /t/m1 /t/m2 /t/m3
# (The CLI prints what it read before the failure, and exits 1.)
check "through the proxy: xenstore-read of a missing key among two" 1 "hello" \
	xenstore-read /t/a /t/nope
c=$(last_conn)
wire_has "quirk 6: a failing CLI aborts with F" \
	"^C$c> TRANSACTION_END req=0 tx=[1-9][0-9]* len=2 F\\\\0\$"
check "through the proxy: xenstore-read of one key" 0 "hello" xenstore-read /t/a
c=$(last_conn)
wire_lacks "quirk 6: xenstore-read of one key has no transaction" "^C$c> TRANSACTION_START"
check "through the proxy: xenstore-exists (implicit transaction)" 0 "" xenstore-exists /t/a
wire_has "quirk 6: xenstore-exists opens a transaction" "^C$(last_conn)> TRANSACTION_START "
check "through the proxy: xenstore-list (implicit transaction)" 0 "" xenstore-list /t/e
wire_has "quirk 6: xenstore-list opens a transaction" "^C$(last_conn)> TRANSACTION_START "
check "through the proxy: xenstore-chmod (implicit transaction)" 0 "" xenstore-chmod /t/e n0
c=$(last_conn)
wire_has "quirk 6: xenstore-chmod opens a transaction" "^C$c> TRANSACTION_START "
wire_has "quirk 6: SET_PERMS payload" \
	"^C$c> SET_PERMS req=0 tx=[1-9][0-9]* len=8 /t/e\\\\0n0\\\\0\$"
xs_run xenstore-ls -p /t
c=$(last_conn)
expect "through the proxy: xenstore-ls -p" "$rc" 0
wire_lacks "quirk 6: xenstore-ls has no transaction" "^C$c> TRANSACTION_START"
wire_has "xenstore-ls -p asks GET_PERMS" "^C$c> GET_PERMS req=0 tx=0 len=5 /t/a\\\\0\$"
: >"$wout"
timeout -k 5 "$xs_t" xenstore-watch -n 2 /t/pw >"$wout" 2>&1 &
wpid=$!
xs_procs="$xs_procs $wpid"
wait_lines "$wout" 1 || fail "xenstore-watch through the proxy: no initial event"
xenstore-write /t/pw 1
wait "$wpid"
wrc=$?
xs_forget "$wpid"
expect "through the proxy: xenstore-watch" "$wrc:$(tr '\n' ' ' <"$wout")" "0:/t/pw /t/pw "
wire_has "WATCH path\\0token\\0 with token = path" \
	'^C[0-9]+> WATCH req=0 tx=0 len=12 /t/pw\\0/t/pw\\0$'
expect "two WATCH_EVENTs, req_id 0 tx_id 0, path and token" \
	"$(grep -Ec '^C[0-9]+< WATCH_EVENT req=0 tx=0 len=12 /t/pw\\0/t/pw\\0$' "$px_log")" 2
# quirk 2 and 3 over everything the CLI sent: req_id always 0; each reply
# has the type of the request before it, or ERROR.
expect "quirk 2: libxenstore sends req_id 0 only" \
	"$(grep -E '^C[0-9]+> ' "$px_log" | grep -Evc ' req=0 ')" 0
bad=$(awk '
	/^C[0-9]+> / { split($1, c, ">"); req[c[1]] = $2; next }
	/^C[0-9]+< / { split($1, c, "<"); if ($2 == "WATCH_EVENT") next;
		if ($2 != req[c[1]] && $2 != "ERROR") print }' "$px_log")
expect "quirk 3: every reply has its request's type or ERROR" "$bad" ""
xs_proxy_stop px "$px_pid"

XENSTORED_PATH=$xs_sock
check "the store still answers" 0 "hello" xenstore-read /t/a
xs_stop cli "$xs_pid"
xs_finish
