#!/bin/sh
# SPDX-License-Identifier: MIT
# splitdrv-net-demo: two guests' network namespaces connected through a
# split network driver, used by the Linux network stack.
#
#   hypervisor  splitdrvd: the POSIX transport's broker and the store
#   toolstack   splitdrv (domain 0): creates domains 1 and 2 and gives each
#               a network interface, writing both device directories as
#               Xen's libxl does
#   backend     splitdrv-netback (domain 0), in the backend's namespace: a
#               TAP vif<domid>.0 per guest, both ports of a Linux bridge
#   frontends   splitdrv-netfront (domains 1 and 2), each in its guest's
#               namespace: the guest's eth0 is its TAP
#   clients     ping and iperf3 between the two guests
#
# Everything runs in fresh namespaces and a temporary directory and is
# stopped at the end. Needs root, /dev/net/tun, iproute2, ping and iperf3.
# Usage: splitdrv-net-demo [--seconds S] [--keep] [--help]
# Environment: top_builddir (the build tree; default: the installed programs).
set -eu
secs=5 keep=0
while [ $# -gt 0 ]; do
	case $1 in
	--seconds) secs=$2; shift ;;
	--keep) keep=1 ;;
	-h | --help)
		cat <<EOF
Usage: splitdrv-net-demo [OPTION]...
Connect two network namespaces through libsplitdrv's split network driver
(netfront and netback over the POSIX transport, set up as Xen does, the
vifs ports of a Linux bridge) and use it with ping and iperf3. Needs root.

  --seconds S    length of the iperf3 measurement (default 5)
  --keep         keep the temporary directory (logs)
  -h, --help     show this help

Exit status: 0 if the guests reached each other, 1 otherwise, 2 on bad usage.
EOF
		exit 0 ;;
	*) echo "splitdrv-net-demo: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done
if [ -n "${top_builddir:-}" ]; then
	SPLITDRVD=$top_builddir/tools/splitdrvd
	SPLITDRV=$top_builddir/tools/splitdrv
	NETBACK=$top_builddir/drivers/netback/splitdrv-netback
	NETFRONT=$top_builddir/drivers/netfront/splitdrv-netfront
else
	SPLITDRVD=splitdrvd SPLITDRV=splitdrv NETBACK=splitdrv-netback NETFRONT=splitdrv-netfront
fi
for t in ip ping iperf3 python3; do
	command -v $t >/dev/null || { echo "splitdrv-net-demo: $t is not installed" >&2; exit 1; }
done
[ "$(id -u)" -eq 0 ] && [ -c /dev/net/tun ] ||
	{ echo "splitdrv-net-demo: needs root and /dev/net/tun" >&2; exit 1; }
T=$(mktemp -d /tmp/splitdrv-net-demo-XXXXXX)
tag=$$
NSB=sdrvdemob$tag NS1=sdrvdemo1.$tag NS2=sdrvdemo2.$tag
pids=
stop() {
	[ -f "$T/iperf3.pid" ] && kill "$(cat "$T/iperf3.pid")" 2>/dev/null || true
	for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
	pids=
	for n in $NSB $NS1 $NS2; do ip netns del "$n" 2>/dev/null || true; done
	[ $keep -eq 1 ] && echo "demo: logs kept in $T" || rm -rf "$T"
}
trap stop EXIT
trap 'exit 1' INT TERM
bad() {
	echo "demo: FAILED: $*" >&2
	for f in "$T"/*.log; do [ -f "$f" ] && sed "s|^|$(basename "$f" .log): |" "$f" | tail -n 15 >&2; done
	exit 1
}
wait_for() { # what, command...
	what=$1
	shift
	for _ in $(seq 1 300); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
	bad "$what"
}

B=$T/broker.sock
XENSTORED_PATH=$T/store.sock
export XENSTORED_PATH
"$SPLITDRVD" --socket "$B" --run-store "$XENSTORED_PATH" >"$T/splitdrvd.log" 2>&1 &
pids="$pids $!"
wait_for "splitdrvd did not start" test -S "$XENSTORED_PATH"
echo "hypervisor: broker on $B, store on $XENSTORED_PATH"

for n in $NSB $NS1 $NS2; do
	ip netns add "$n"
	ip -n "$n" link set lo up
done
ip -n $NSB link add br0 type bridge
ip -n $NSB link set br0 up
for g in 1 2; do
	"$SPLITDRV" create guest$g --domid $g >/dev/null
	"$SPLITDRV" device-add guest$g vif mac=00:16:3e:00:00:0$g bridge=br0 ip=10.77.0.$g >/dev/null
	echo "toolstack: domain $g (guest$g) has vif 0: MAC 00:16:3e:00:00:0$g, address 10.77.0.$g, bridge br0"
done
ip netns exec $NSB "$NETBACK" -b "$B" >"$T/netback.log" 2>&1 &
pids="$pids $!"
g=1
for n in $NS1 $NS2; do
	ip netns exec "$n" "$NETFRONT" -b "$B" -D $g -i eth0 >"$T/netfront$g.log" 2>&1 &
	pids="$pids $!"
	wait_for "netfront $g did not connect" grep -q 'eth0 connected' "$T/netfront$g.log"
	ip -n "$n" addr add 10.77.0.$g/24 dev eth0
	echo "frontend: domain $g: eth0 in namespace $n, 10.77.0.$g/24"
	g=$((g + 1))
done
wait_for "the vifs did not join the bridge" sh -c \
	"[ \$(ip -n $NSB -o link show master br0 | grep -c 'vif[12]\.0') -eq 2 ]"
sed -n 's/^splitdrv-netback: info: \(vif.* connected.*\)/backend:  \1/p' "$T/netback.log"
echo "backend:  bridge br0 in namespace $NSB has ports:" \
	$(ip -n $NSB -o link show master br0 | sed -n 's/^[0-9]*: \([^:@]*\).*/\1/p')

out=$(ip netns exec $NS1 ping -c 5 -i 0.2 -W 5 10.77.0.2) || bad "guest 1 cannot ping guest 2"
echo "client:   guest 1 pings guest 2: $(printf '%s\n' "$out" | sed -n 's/^\(.* packets transmitted, .*\)$/\1/p')"
printf '%s\n' "$out" | sed -n 's/^rtt \(.*\)$/client:   round trip \1/p'
ip netns exec $NS2 iperf3 -s -B 10.77.0.2 -D -I "$T/iperf3.pid" --logfile "$T/iperf3.log"
wait_for "iperf3 -s did not start" sh -c "ip netns exec $NS2 ss -ltn | grep -q :5201"
ip netns exec $NS1 iperf3 -c 10.77.0.2 -t "$secs" -J >"$T/iperf3.json" || bad "iperf3"
python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))["end"]
print("client:   iperf3 TCP guest 1 -> guest 2: %.2f Gbit/s received, %d retransmits"
      % (e["sum_received"]["bits_per_second"] / 1e9, e["sum_sent"].get("retransmits", 0)))' "$T/iperf3.json"
stop
trap - EXIT
echo "demo: done; the guests reached each other through netfront, netback and the bridge"
