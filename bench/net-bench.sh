#!/bin/sh
# SPDX-License-Identifier: MIT
# splitdrv-net-bench: iperf3 TCP throughput through the split network path
# against its baselines, in one run, interleaved round by round:
#
#   split      ns A eth0 (netfront's TAP) -> netfront -> ring -> netback ->
#              vifA.0 -> Linux bridge -> vifB.0 -> netback -> ring ->
#              netfront -> ns B eth0, offloads on, 64 KiB GSO frames
#   tap-relay  ns A tap -> splitdrv-tap-relay -> ns B tap: two TAPs with
#              virtio-net headers and offloads joined by the barest relay
#              (bench/tap-relay.c), what the split path costs beyond
#   veth       ns A -> veth pair -> ns B: the kernel alone
#
# Each row's figure is the median of its rounds; the ratios are split over
# each baseline. Target: split >= 0.8x tap-relay.
#
# Usage: net-bench.sh [--quick] [--rounds N] [--seconds S]
# Environment: top_builddir (the build tree), NET_BENCH_NETBACK_ARGS (more
# options for splitdrv-netback, to compare its settings). Needs root, /dev/net/tun,
# iproute2 and iperf3.
set -eu
rounds=3 secs=5
while [ $# -gt 0 ]; do
	case $1 in
	--quick) rounds=1 secs=2 ;;
	--rounds) rounds=$2; shift ;;
	--seconds) secs=$2; shift ;;
	-h | --help) sed -n '3,20s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "net-bench: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
: "${top_builddir:?net-bench: set top_builddir to the build tree}"
for t in ip iperf3 python3; do
	command -v $t >/dev/null || { echo "net-bench: $t is not installed" >&2; exit 1; }
done
[ "$(id -u)" -eq 0 ] && [ -c /dev/net/tun ] ||
	{ echo "net-bench: needs root and /dev/net/tun" >&2; exit 1; }
NB=$top_builddir/drivers/netback/splitdrv-netback
NF=$top_builddir/drivers/netfront/splitdrv-netfront
SD=$top_builddir/tools/splitdrv
RELAY=$top_builddir/bench/splitdrv-tap-relay
[ -x "$RELAY" ] || { echo "net-bench: build $RELAY first (make bench-net does)" >&2; exit 1; }
T=$(mktemp -d /tmp/splitdrv-net-bench-XXXXXX)
tag=$$
pids=
stop() {
	for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
	for n in sdrvbb sdrvba sdrvbs sdrvra sdrvrb sdrvva sdrvvb; do
		ip netns del "$n$tag" 2>/dev/null || true
	done
	rm -rf "$T"
}
trap stop EXIT
trap 'exit 1' INT TERM
bad() {
	echo "net-bench: $*" >&2
	for f in "$T"/*.log; do [ -f "$f" ] && tail -n 15 "$f" | sed "s|^|$(basename "$f"): |" >&2; done
	exit 1
}
wait_for() { # what, command...
	what=$1
	shift
	for _ in $(seq 1 300); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
	bad "$what"
}
addr() { # ns, dev, address
	ip -n "$1" link set "$2" up
	ip -n "$1" addr add "$3/24" dev "$2"
}
for n in sdrvbb sdrvba sdrvbs sdrvra sdrvrb sdrvva sdrvvb; do
	ip netns add "$n$tag"
	ip -n "$n$tag" link set lo up
done

# veth: the kernel alone
ip link add sdrvva0 netns sdrvva$tag type veth peer name sdrvvb0 netns sdrvvb$tag
addr sdrvva$tag sdrvva0 10.78.0.1
addr sdrvvb$tag sdrvvb0 10.78.0.2

# the TAP relay: the devices are made in the relay's namespace, then moved
ip netns exec sdrvra$tag "$RELAY" tap0 tap1 >"$T/relay.log" 2>&1 &
pids="$pids $!"
wait_for "the TAP relay did not start" ip -n sdrvra$tag link show tap1
ip -n sdrvra$tag link set tap1 netns sdrvrb$tag
addr sdrvra$tag tap0 10.78.0.1
addr sdrvrb$tag tap1 10.78.0.2

# the split path: broker and store, two guests, netback with a bridge
B=$T/broker.sock
XENSTORED_PATH=$T/store.sock
export XENSTORED_PATH
"$top_builddir/tools/splitdrvd" --socket "$B" --run-store "$XENSTORED_PATH" >"$T/splitdrvd.log" 2>&1 &
pids="$pids $!"
wait_for "splitdrvd did not start" test -S "$XENSTORED_PATH"
ip -n sdrvbs$tag link add br0 type bridge
ip -n sdrvbs$tag link set br0 up
ip netns exec sdrvbs$tag "$NB" -b "$B" ${NET_BENCH_NETBACK_ARGS:-} >"$T/netback.log" 2>&1 &
pids="$pids $!"
g=1
for n in sdrvba sdrvbb; do
	"$SD" create g$g --domid $g >/dev/null
	"$SD" device-add g$g vif mac=00:16:3e:00:01:0$g bridge=br0 ip=10.78.0.$g >/dev/null
	ip netns exec $n$tag "$NF" -b "$B" -D $g -i eth0 >"$T/netfront$g.log" 2>&1 &
	pids="$pids $!"
	wait_for "netfront $g did not connect" grep -q 'eth0 connected' "$T/netfront$g.log"
	ip -n $n$tag addr add 10.78.0.$g/24 dev eth0
	g=$((g + 1))
done

for n in sdrvbb sdrvrb sdrvvb; do
	ip netns exec "$n$tag" iperf3 -s -B 10.78.0.2 -D -I "$T/iperf3-$n.pid" --logfile "$T/iperf3-$n.log"
	wait_for "iperf3 -s in $n" sh -c "ip netns exec $n$tag ss -ltn | grep -q :5201"
done
# warm up the paths (ARP, TCP slow start of the first run)
for n in sdrvba sdrvra sdrvva; do
	ip netns exec $n$tag ping -c 2 -W 5 10.78.0.2 >/dev/null || bad "no path in $n"
done
gbps() { # client ns
	ip netns exec "$1$tag" iperf3 -c 10.78.0.2 -t "$secs" -J | python3 -c 'import json, sys
print("%.3f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))'
}
echo "splitdrv-net-bench: iperf3 TCP, $rounds round(s) of $secs s per row, interleaved"
r=1
while [ $r -le "$rounds" ]; do
	s=$(gbps sdrvba) || bad "iperf3 through the split path"
	t=$(gbps sdrvra) || bad "iperf3 through the TAP relay"
	v=$(gbps sdrvva) || bad "iperf3 through the veth pair"
	echo "round $r: split $s, tap-relay $t, veth $v Gbit/s"
	echo "$s $t $v" >>"$T/rounds"
	r=$((r + 1))
done
for n in sdrvbb sdrvrb sdrvvb; do kill "$(cat "$T/iperf3-$n.pid")" 2>/dev/null || true; done
python3 - "$T/rounds" <<'EOF'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
s, t, v = (statistics.median(c) for c in zip(*rows))
print()
print("| path | Gbit/s (median) |")
print("|---|---|")
print("| split: netfront -> ring -> netback -> bridge -> netback -> ring -> netfront | %.2f |" % s)
print("| tap-relay: two TAPs with virtio-net headers, one relay | %.2f |" % t)
print("| veth pair | %.2f |" % v)
print()
print("split / tap-relay: %.2fx (target >= 0.8x)" % (s / t))
print("split / veth:      %.2fx" % (s / v))
EOF
