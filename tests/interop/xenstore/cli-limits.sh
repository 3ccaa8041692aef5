#!/bin/sh
# SPDX-License-Identifier: MIT
# xenstore-utils at the edges, with xs-proxy logging the wire:
#  - quirk 4: the 4096-byte payload limit (a WRITE of exactly 4096 bytes
#    works, one byte more is refused by the client itself; a READ reply of
#    exactly 4096 bytes works);
#  - quirk 4 and 7: a directory list of exactly 4096 bytes comes in one
#    DIRECTORY reply; 4097 bytes and a list of 300 children make the store
#    answer E2BIG, and libxenstore falls back to DIRECTORY_PART;
#  - quirk 6: the CLI's implicit transaction retried on EAGAIN: xs-proxy
#    writes a node the CLI's transaction read just before it commits, the
#    store must answer EAGAIN, the CLI starts over and prints the new value.
. "$top_srcdir/tests/interop/xenstore/lib.sh"
need_cmd xenstore-read xenstore-utils
need_cmd timeout coreutils

xs_start limits
XENSTORED_PATH=$xs_sock
export XENSTORED_PATH

# n-character string of 'v'
vs() { head -c "$1" /dev/zero | tr '\0' v; }
# xenstore-write arguments for N children of DIR, names printf FMT of i.
kids() {
	i=0
	while [ "$i" -lt "$2" ]; do
		# shellcheck disable=SC2059
		printf "$1/$3 x\n" "$i"
		i=$((i + 1))
	done
}

xs_proxy px "$xs_sock"
XENSTORED_PATH=$px_sock

# ---- quirk 4: WRITE payload "/lim/v\0" + 4089 bytes = 4096
check "xenstore-write of a 4096-byte payload" 0 "" xenstore-write /lim/v "$(vs 4089)"
wire_has "quirk 4: the WRITE carried 4096 bytes" '^C[0-9]+> WRITE req=0 tx=0 len=4096 /lim/v'
xs_run sh -c 'xenstore-read /lim/v | tr -d "\n" | wc -c'
expect "xenstore-read of the 4089-byte value" "$rc:$out" "0:4089"
check_err "xenstore-write of a 4097-byte payload fails" 1 \
	"xenstore-write: could not write path /lim/v" xenstore-write /lim/v "$(vs 4090)"
wire_lacks "quirk 4: libxenstore never sent it" ' len=4097 '
xs_run sh -c 'xenstore-read /lim/v | tr -d "\n" | wc -c'
expect "the value is unchanged" "$rc:$out" "0:4089"

# ---- quirk 4 and 7: directory lists at and over the limit
# 128 names of 31 bytes + NUL = 4096 bytes; the first name one byte
# longer = 4097.
# shellcheck disable=SC2046
check "128 children (list of 4096 bytes)" 0 "" \
	xenstore-write $(kids /lim/d4096 128 '%031d')
# shellcheck disable=SC2046
check "128 children (list of 4097 bytes)" 0 "" \
	xenstore-write /lim/d4097/00000000000000000000000000000000 x \
	$(kids /lim/d4097 127 '1%030d')
xs_run xenstore-list /lim/d4096
expect "xenstore-list of a 4096-byte list" "$rc:$(printf '%s\n' "$out" | wc -l)" "0:128"
c=$(last_conn)
wire_has "quirk 4: one DIRECTORY reply of exactly 4096 bytes" \
	"^C$c< DIRECTORY req=0 tx=[0-9]+ len=4096 "
wire_lacks "no DIRECTORY_PART for it" "^C$c> DIRECTORY_PART"
xs_run xenstore-list /lim/d4097
expect "xenstore-list of a 4097-byte list" "$rc:$(printf '%s\n' "$out" | sort -u | wc -l)" \
	"0:128"
c=$(last_conn)
wire_has "quirk 7: the store answers DIRECTORY with E2BIG" \
	"^C$c< ERROR req=0 tx=[0-9]+ len=6 E2BIG\\\\0\$"
wire_has "quirk 7: libxenstore falls back to DIRECTORY_PART at offset 0" \
	"^C$c> DIRECTORY_PART req=0 tx=[0-9]+ len=[0-9]+ /lim/d4097\\\\00\\\\0\$"
wire_has "quirk 7: and asks for the rest" \
	"^C$c> DIRECTORY_PART req=0 tx=[0-9]+ len=[0-9]+ /lim/d4097\\\\0[1-9][0-9]*\\\\0\$"

# 300 children of 27-byte names: 8400 bytes with their NULs.
# shellcheck disable=SC2046
check "300 children" 0 "" xenstore-write $(kids /big 300 'child-%04d-abcdefghijklmnop')
xs_run xenstore-list /big
expect "xenstore-list of 300 children" "$rc:$(printf '%s\n' "$out" | sort -u | wc -l)" "0:300"
c=$(last_conn)
# 8400 bytes need three parts at least (each part is under 4096 bytes).
parts=$(grep -Ec "^C$c> DIRECTORY_PART " "$px_log")
expect "quirk 7: three DIRECTORY_PART requests or more for it" "$([ "$parts" -ge 3 ] && echo yes)" \
	yes
xs_run xenstore-ls /big
expect "xenstore-ls of 300 children" "$rc:$(printf '%s\n' "$out" | grep -c ' = "x"$')" "0:300"
xs_proxy_stop px "$px_pid"

# ---- quirk 6: retry of the CLI's implicit transaction on EAGAIN
XENSTORED_PATH=$xs_sock
check "setup /cf" 0 "" xenstore-write /cf/a one /cf/b two
xs_proxy pxc "$xs_sock" --conflict /cf/a=intruder
XENSTORED_PATH=$px_sock
check "xenstore-read of two keys retries and prints the new value" 0 "intruder
two" xenstore-read /cf/a /cf/b
wire_has "the proxy changed /cf/a before the first commit" '^ACTION conflict-write /cf/a=intruder reply type 11 OK$'
c=$(last_conn)
wire_has "quirk 6: the first commit got EAGAIN" "^C$c< ERROR req=0 tx=[0-9]+ len=7 EAGAIN\\\\0\$"
expect "quirk 6: the CLI started the transaction twice" \
	"$(grep -Ec "^C$c> TRANSACTION_START " "$px_log")" 2
expect "quirk 6: and committed the second" \
	"$(grep -Ec "^C$c< TRANSACTION_END req=0 tx=[0-9]+ len=3 OK\\\\0\$" "$px_log")" 1
xs_proxy_stop pxc "$px_pid"

# A transaction of writes only, disturbed the same way: the CLI's values
# must be what remains (xenstored answers EAGAIN here too, and the CLI
# writes again; a store that let the last writer win would also be right).
xs_proxy pxw "$xs_sock" --conflict /cf/a=intruder2
XENSTORED_PATH=$px_sock
check "xenstore-write of two keys under a conflicting write" 0 "" \
	xenstore-write /cf/a mine /cf/b mine2
XENSTORED_PATH=$xs_sock
check "the CLI's values won" 0 "mine
mine2" xenstore-read /cf/a /cf/b
xs_proxy_stop pxw "$px_pid"

xs_stop limits "$xs_pid"

# ---- quirk 4: a READ reply of exactly 4096 bytes. No WRITE can make a node
# with a 4096-byte value (its path would not fit in the payload), so the
# daemon loads one from a state file (--state).
"$xs_bin/xs-wire" mkstate "$xs_tmp/big.state" || die "xs-wire mkstate failed"
xs_start big --state "$xs_tmp/big.state"
xs_proxy pxb "$xs_sock"
XENSTORED_PATH=$px_sock
xs_run sh -c 'xenstore-read /big | tr -d "\n" | wc -c'
expect "xenstore-read of a 4096-byte value" "$rc:$out" "0:4096"
wire_has "quirk 4: a READ reply of exactly 4096 bytes" '^C[0-9]+< READ req=0 tx=0 len=4096 b'
check "the connection still works after it" 0 "" xenstore-write /after 1
xs_proxy_stop pxb "$px_pid"
xs_stop big "$xs_pid"
xs_finish
