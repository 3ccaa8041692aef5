#!/bin/sh
# SPDX-License-Identifier: MIT
# The network path end to end, with the Linux network stack at both ends:
# three guests' network namespaces, each with a splitdrv-netfront whose TAP
# is the guest's eth0, one splitdrv-netback in a backend namespace whose
# vif<domid>.0 TAPs are ports of a Linux bridge, as Xen's vif-bridge script
# sets them up. Only the namespaces' own addresses carry traffic.
#
#   ping       every guest reaches every other, both ways
#   TCP        a file sent over TCP arrives with the same SHA-256
#   tcpdump    the guest's traffic is visible on its vif
#   iperf3     TCP throughput between two guests (a figure, not a target)
#   fairness   two guests sending at once: neither gets less than half
#              what the other gets
#   spoofing   a guest sending from an address it was not given (IPv4 and
#              MAC): nothing arrives, and the drops are counted
#   rate       the backend's rate key (bytes,usec) holds iperf3 within 15%,
#              and a change while running takes effect
#   SYN log    log=tcp-syn makes netback log each TCP SYN the guest sends
#   SIGKILL    a netfront killed: its vif goes, its backend directory says
#              Closed, the other guests carry on
#   carrier    the guest's eth0 has a carrier only while its backend is
#              connected: netback stopped, NO-CARRIER; started again, the
#              netfronts reconnect and traffic flows
#   shutdown   SIGTERM stops every daemon with status 0, TAPs removed
#
# Needs root, /dev/net/tun, iproute2, ping, iperf3, tcpdump (CI installs them; a
# missing one fails there). Under make check-valgrind the project's daemons
# run under memcheck and the traffic is smaller.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/tools/lib.sh"
need_tool ip iproute2
need_tool ping iputils-ping
need_tool iperf3 iperf3
need_tool sha256sum coreutils
need_tool python3 python3
need_tool tcpdump tcpdump
if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/net/tun ]; then
	if [ "${CI:-}" = true ]; then
		echo "FAIL: network namespaces and TAP devices need root and /dev/net/tun"
		exit 1
	fi
	echo "SKIP: needs root and /dev/net/tun"
	rm -rf "$TMP"
	exit 77
fi

V=${VALGRIND_DEMO:-}
NB=$top_builddir/drivers/netback/splitdrv-netback
NF=$top_builddir/drivers/netfront/splitdrv-netfront
SD="$V $top_builddir/tools/splitdrv"
B=$TMP/broker.sock
XENSTORED_PATH=$TMP/store.sock
export XENSTORED_PATH
# unique names: parallel runs (make check -j, the bench) never meet
tag=$$
NSB=sdrvnb$tag
ns() { echo "sdrvg$1.$tag"; }
NB_PID= NF1_PID= NF2_PID= NF3_PID= SRV_PID=

cleanup() {
	[ -f "$TMP/iperf3.pid" ] && kill "$(cat "$TMP/iperf3.pid")" 2>/dev/null
	[ -f "$TMP/iperf3b.pid" ] && kill "$(cat "$TMP/iperf3b.pid")" 2>/dev/null
	for p in $SRV_PID $NF1_PID $NF2_PID $NF3_PID $NB_PID; do kill -9 "$p" 2>/dev/null; done
	[ -n "$STORE_PID" ] && kill -9 "$STORE_PID" 2>/dev/null
	for n in $NSB $(ns 1) $(ns 2) $(ns 3); do ip netns del "$n" 2>/dev/null; done
}
trap cleanup EXIT
die() {
	for f in netback netfront1 netfront2 netfront3 iperf3; do
		[ -f "$TMP/$f.log" ] && sed "s/^/$f: /" "$TMP/$f.log" | tail -n 30
	done
	cleanup
	fail "$@"
}
wait_for() { # seconds, what, command...
	n=$(($1 * 10))
	what=$2
	shift 2
	for _ in $(seq 1 $n); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	die "$what"
}
in_ns() { # guest, command...
	g=$1
	shift
	ip netns exec "$(ns "$g")" "$@"
}
stat_of() { # vif, key: a counter from netback's stats file
	sed -n "s/^$2=//p" "$TMP/stats/$1" 2>/dev/null
}
stats_now() { # make netback write its stats files now
	kill -USR1 "$NB_PID" 2>/dev/null
	sleep 0.3
}
be() { echo "/local/domain/0/backend/vif/$1/0"; }

for f in "$NB" "$NF"; do [ -x "$f" ] || die "$f was not built"; done
"$NB" --help | grep -q -- '--stats-dir' || die "netback --help lists no options"
"$NF" --help | grep -q -- '--ifname' || die "netfront --help lists no options"
for f in "$NB" "$NF"; do
	"$f" --version | grep -q "^$(basename "$f") " || die "$(basename "$f") --version"
	"$f" --bogus 2>/dev/null
	[ $? -eq 2 ] || die "$(basename "$f"): a bad option must exit 2"
done

# --- the world: broker and store; the backend's namespace with a bridge ----
$V "$top_builddir/tools/splitdrvd" --socket "$B" --run-store "$XENSTORED_PATH" \
	>"$TMP/store.log" 2>&1 &
STORE_PID=$!
wait_for 60 "splitdrvd did not start" test -S "$XENSTORED_PATH"
ip netns add $NSB || die "ip netns add"
ip -n $NSB link set lo up
ip -n $NSB link add br0 type bridge || die "a bridge in the backend's namespace"
ip -n $NSB link set br0 up
mkdir -p "$TMP/stats"
ip netns exec $NSB $V "$NB" -b "$B" -s "$XENSTORED_PATH" --stats-dir "$TMP/stats" -v \
	>"$TMP/netback.log" 2>&1 &
NB_PID=$!

# three guests: domain G has MAC 00:16:3e:00:00:0G and address 10.77.0.G
for g in 1 2 3; do
	$SD create guest$g --domid $g >/dev/null || die "create guest$g"
	$SD device-add guest$g vif mac=00:16:3e:00:00:0$g bridge=br0 ip=10.77.0.$g >/dev/null ||
		die "device-add guest$g vif"
	ip netns add "$(ns $g)" || die "ip netns add $(ns $g)"
	ip -n "$(ns $g)" link set lo up
	# not through in_ns: $! must be netfront itself (ip netns exec execs
	# it), not a subshell, for the SIGKILL below
	ip netns exec "$(ns $g)" $V "$NF" -b "$B" -s "$XENSTORED_PATH" -D $g -i eth0 -v \
		>"$TMP/netfront$g.log" 2>&1 &
	eval NF${g}_PID=\$!
done
for g in 1 2 3; do
	wait_for 60 "netfront $g did not connect" grep -q 'eth0 connected' "$TMP/netfront$g.log"
	wait_for 30 "vif$g.0 is not in the bridge" sh -c \
		"ip -n $NSB -o link show vif$g.0 | grep -q 'master br0'"
	mac=$(ip -n "$(ns $g)" -o link show eth0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
	[ "$mac" = 00:16:3e:00:00:0$g ] || die "guest $g's eth0 has MAC '$mac'"
	ip -n "$(ns $g)" addr add 10.77.0.$g/24 dev eth0 || die "address for guest $g"
done
grep -q 'vif1.0 connected' "$TMP/netback.log" || die "netback did not log vif1.0 connected"
[ "$(xenstore-read "$(be 1)/state")" = 4 ] || die "vif1.0's backend is not Connected"

# --- ping: everybody reaches everybody ---------------------------------------
for a in 1 2 3; do
	for b in 1 2 3; do
		[ $a = $b ] && continue
		in_ns $a ping -c 3 -i 0.2 -W 5 10.77.0.$b >"$TMP/ping.log" 2>&1 ||
			die "guest $a cannot ping 10.77.0.$b: $(tail -n 3 "$TMP/ping.log")"
	done
done
# the vif is an ordinary interface: tcpdump sees the guest's traffic on it
ip netns exec $NSB timeout 10 tcpdump -l -n -i vif1.0 -c 2 icmp >"$TMP/tcpdump.log" 2>&1 &
TD_PID=$!
sleep 1
in_ns 1 ping -c 3 -i 0.2 -W 5 10.77.0.2 >/dev/null 2>&1 || die "ping while tcpdump listens"
wait $TD_PID
grep -q '10.77.0.1 > 10.77.0.2: ICMP echo request' "$TMP/tcpdump.log" ||
	die "tcpdump on vif1.0 saw no echo request: $(cat "$TMP/tcpdump.log")"
# a large ping: fragments reassembled on the far side
in_ns 1 ping -c 2 -s 30000 -W 5 10.77.0.2 >/dev/null 2>&1 || die "a 30000-byte ping"

# --- a file over TCP: the same bytes arrive ----------------------------------
MB=32
[ -n "$V" ] && MB=4
head -c $((MB << 20)) /dev/urandom >"$TMP/file.src"
cat >"$TMP/recv.py" <<'EOF'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.77.0.2", 7777)); s.listen(1)
c, _ = s.accept()
with open(sys.argv[1], "wb") as f:
    while True:
        b = c.recv(1 << 20)
        if not b:
            break
        f.write(b)
EOF
cat >"$TMP/send.py" <<'EOF'
import socket, sys, time
for _ in range(100):
    try:
        s = socket.create_connection(("10.77.0.2", 7777), timeout=20)
        break
    except OSError:
        time.sleep(0.1)
with open(sys.argv[1], "rb") as f:
    s.sendfile(f)
s.shutdown(socket.SHUT_WR); s.recv(1); s.close()
EOF
in_ns 2 timeout 120 python3 "$TMP/recv.py" "$TMP/file.dst" &
SRV_PID=$!
in_ns 1 timeout 120 python3 "$TMP/send.py" "$TMP/file.src" || die "sending the file over TCP"
wait $SRV_PID || die "receiving the file over TCP"
SRV_PID=
[ "$(sha256sum <"$TMP/file.src")" = "$(sha256sum <"$TMP/file.dst")" ] ||
	die "the file arrived with another checksum"

# --- iperf3 between two guests ------------------------------------------------
in_ns 2 iperf3 -s -B 10.77.0.2 -D -I "$TMP/iperf3.pid" --logfile "$TMP/iperf3.log" ||
	die "iperf3 -s"
iperf() { # guest, seconds: prints the receiver's bits per second
	for _ in $(seq 1 50); do
		out=$(in_ns "$1" iperf3 -c 10.77.0.2 -t "$2" -J 2>/dev/null) && break
		sleep 0.1
	done
	printf '%s' "$out" | python3 -c 'import json, sys
print(int(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]))'
}
secs=3
[ -n "$V" ] && secs=2
bps=$(iperf 1 $secs) || die "iperf3 from guest 1"
echo "iperf3 guest 1 -> guest 2: $((bps / 1000000)) Mbit/s"
[ "$bps" -gt 0 ] || die "iperf3 measured nothing"

# --- fair sharing: two guests sending at once get alike shares --------------
if [ -z "$V" ]; then
	in_ns 2 iperf3 -s -B 10.77.0.2 -p 5202 -D -I "$TMP/iperf3b.pid" \
		--logfile "$TMP/iperf3b.log" || die "iperf3 -s -p 5202"
	sleep 0.3
	in_ns 1 iperf3 -c 10.77.0.2 -t 3 -J >"$TMP/fair1.json" 2>&1 &
	F1=$!
	in_ns 3 iperf3 -c 10.77.0.2 -p 5202 -t 3 -J >"$TMP/fair3.json" 2>&1
	wait $F1
	kill "$(cat "$TMP/iperf3b.pid")" 2>/dev/null
	python3 - "$TMP/fair1.json" "$TMP/fair3.json" <<'EOF' || die "unfair shares"
import json, sys
a, b = (json.load(open(f))["end"]["sum_received"]["bits_per_second"] for f in sys.argv[1:])
print("two guests at once: %d and %d Mbit/s" % (a / 1e6, b / 1e6))
sys.exit(0 if min(a, b) >= 0.5 * max(a, b) else 1)
EOF
fi

# --- spoofing: an address the guest was not given ----------------------------
stats_now
sp0=$(stat_of vif1.0 tx_dropped_spoof)
[ -n "$sp0" ] || die "netback wrote no stats for vif1.0 ($(ls "$TMP/stats"))"
ip -n "$(ns 1)" addr add 10.77.0.99/24 dev eth0 || die "a second address"
in_ns 1 ping -c 3 -i 0.2 -W 1 -I 10.77.0.99 10.77.0.2 >/dev/null 2>&1 &&
	die "a ping from a spoofed IPv4 address got through"
ip -n "$(ns 1)" addr del 10.77.0.99/24 dev eth0
stats_now
sp1=$(stat_of vif1.0 tx_dropped_spoof)
[ "$sp1" -gt "$sp0" ] || die "spoofed IPv4 packets were not counted ($sp0 -> $sp1)"
# the guest's own MAC changed: every frame is a spoofed one
ip -n "$(ns 1)" link set eth0 address 00:16:3e:00:00:77 || die "changing eth0's MAC"
ip -n "$(ns 1)" neigh flush dev eth0
in_ns 1 ping -c 3 -i 0.2 -W 1 10.77.0.2 >/dev/null 2>&1 &&
	die "a ping from a spoofed MAC address got through"
ip -n "$(ns 1)" link set eth0 address 00:16:3e:00:00:01
stats_now
sp2=$(stat_of vif1.0 tx_dropped_spoof)
[ "$sp2" -gt "$sp1" ] || die "spoofed MAC frames were not counted ($sp1 -> $sp2)"
in_ns 1 ping -c 2 -W 5 10.77.0.2 >/dev/null 2>&1 || die "the guest's own addresses stopped working"

# --- rate limit: bytes per window, changed while running ---------------------
rate_check() { # Mbit/s
	# credit of BYTES per 50 ms window
	xenstore-write "$(be 1)/rate" "$(($1 * 1000000 / 8 / 20)),50000" || die "writing the rate"
	sleep 0.5
	r=$(iperf 1 $secs) || die "iperf3 at $1 Mbit/s"
	# iperf3 counts TCP payload: the limit counts frames (headers too)
	echo "rate $1 Mbit/s: iperf3 measured $((r / 1000000)) Mbit/s"
	python3 -c "import sys; r, want = float(sys.argv[1]), float(sys.argv[2]) * 1e6
sys.exit(0 if abs(r - want) <= 0.15 * want else 1)" "$r" "$1" ||
		die "rate $1 Mbit/s: iperf3 measured $r bit/s, not within 15%"
}
if [ -z "$V" ]; then
	rate_check 200
	rate_check 50
	xenstore-rm "$(be 1)/rate" || die "removing the rate"
	sleep 0.5
	r=$(iperf 1 2)
	[ "$r" -gt 400000000 ] || die "without a rate the guest is still limited ($r bit/s)"
fi

# --- SYN logging ----------------------------------------------------------------
xenstore-write "$(be 1)/log" tcp-syn || die "writing the log key"
sleep 0.5
iperf 1 1 >/dev/null || die "iperf3 for the SYN log"
wait_for 10 "netback logged no TCP SYN of vif1.0" \
	grep -Eq 'vif1\.0: tcp-syn 10\.77\.0\.1:[0-9]+ -> 10\.77\.0\.2:5201' "$TMP/netback.log"
# guest 3 has no log key: its SYNs are not logged
in_ns 3 iperf3 -c 10.77.0.2 -t 1 >/dev/null 2>&1 || true
grep -q 'vif3\.0: tcp-syn' "$TMP/netback.log" && die "vif3.0's SYNs were logged without a rule"

# --- SIGKILL: a netfront dies, the others carry on ---------------------------
kill -9 "$NF3_PID"
wait "$NF3_PID" 2>/dev/null
NF3_PID=
wait_for 30 "vif3.0 was not removed after its netfront died" sh -c \
	"! ip -n $NSB link show vif3.0"
wait_for 30 "vif3.0's backend directory is not Closed" sh -c \
	"[ \"\$(xenstore-read $(be 3)/state)\" = 6 ]"
in_ns 1 ping -c 3 -i 0.2 -W 5 10.77.0.2 >/dev/null 2>&1 || die "guest 1 lost guest 2 after guest 3 died"
in_ns 2 ping -c 3 -i 0.2 -W 5 10.77.0.1 >/dev/null 2>&1 || die "guest 2 lost guest 1 after guest 3 died"
grep -Eq 'vif1\.0 (disconnected|closed)' "$TMP/netback.log" && die "vif1.0 went down with vif3.0"

# --- carrier: the TAP's carrier follows the backend --------------------------
carrier() { in_ns "$1" cat /sys/class/net/eth0/carrier 2>/dev/null; }
for g in 1 2; do
	[ "$(carrier $g)" = 1 ] || die "guest $g's eth0 has no carrier while connected"
done
kill -TERM "$NB_PID"
wait "$NB_PID"
rc=$?
NB_PID=
[ $rc -eq 0 ] || die "netback exited with $rc on SIGTERM"
for g in 1 2; do
	wait_for 300 "guest $g's eth0 kept its carrier without a backend" sh -c \
		"[ \"\$(ip netns exec $(ns $g) cat /sys/class/net/eth0/carrier)\" = 0 ]"
done
ip -n "$(ns 1)" -o link show eth0 | grep -q NO-CARRIER || die "eth0 does not show NO-CARRIER"
in_ns 1 ping -c 1 -W 1 10.77.0.2 >/dev/null 2>&1 && die "a ping went through without a backend"
ip netns exec $NSB $V "$NB" -b "$B" -s "$XENSTORED_PATH" --stats-dir "$TMP/stats" -v \
	>>"$TMP/netback.log" 2>&1 &
NB_PID=$!
for g in 1 2; do
	wait_for 600 "guest $g's eth0 did not get its carrier back" sh -c \
		"[ \"\$(ip netns exec $(ns $g) cat /sys/class/net/eth0/carrier)\" = 1 ]"
	wait_for 300 "vif$g.0 is not in the bridge again" sh -c \
		"ip -n $NSB -o link show vif$g.0 | grep -q 'master br0'"
done
wait_for 100 "guest 1 cannot ping guest 2 after the backend came back" \
	in_ns 1 ping -c 1 -W 2 10.77.0.2

# --- shutdown: SIGTERM, status 0, nothing left -------------------------------
for p in NF1_PID NF2_PID; do
	eval pid=\$$p
	kill -TERM "$pid"
	wait "$pid"
	rc=$?
	eval $p=
	[ $rc -eq 0 ] || die "a netfront exited with $rc on SIGTERM"
done
in_ns 1 ip link show eth0 >/dev/null 2>&1 && die "netfront left its TAP behind"
kill -TERM "$NB_PID"
wait "$NB_PID"
rc=$?
NB_PID=
[ $rc -eq 0 ] || die "netback exited with $rc on SIGTERM"
ip -n $NSB -o link | grep -q 'vif[0-9]' && die "netback left a vif behind"
ls "$TMP/stats" | grep -q . && die "netback left stats files behind"
kill -TERM "$STORE_PID"
wait "$STORE_PID"
rc=$?
STORE_PID=
[ $rc -eq 0 ] || die "splitdrvd exited with $rc on SIGTERM"
cleanup
trap - EXIT
rm -rf "$TMP"
echo "PASS: ping, tcpdump, TCP, iperf3, fairness, spoofing, rate, SYN log, SIGKILL, carrier, shutdown"
