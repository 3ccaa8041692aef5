#!/bin/sh
# SPDX-License-Identifier: MIT
# The demos the README's quick start runs keep working: each exits 0 and
# reports no wrong response. Under make check-valgrind they run under
# memcheck too (VALGRIND_DEMO is set there), children included.
set -u
: "${top_builddir:?}"
run() {
	name=$1
	shift
	out=$(${VALGRIND_DEMO:-} "$top_builddir/examples/$name" "$@" 2>&1)
	rc=$?
	printf '%s\n' "$out" | sed "s/^/$name: /"
	if [ $rc -ne 0 ]; then
		echo "FAIL: $name exited with $rc"
		exit 1
	fi
	if ! printf '%s\n' "$out" | grep -q ' 0 wrong'; then
		echo "FAIL: $name did not report '0 wrong'"
		exit 1
	fi
}
n=200000
if [ -n "${VALGRIND_DEMO:-}" ]; then
	n=5000
	# Memcheck would trace Xen's xenstore-ls too: the demo prints the tree itself.
	SPLITDRV_DEMO_OWN_LS=1
	export SPLITDRV_DEMO_OWN_LS
fi
run splitdrv-ring-demo -n $n
run splitdrv-posix-demo -n $n -p 4
# The main demo sets the device up as Xen does: the toolstack writes both
# directories, the backend maps what the frontend published and binds its
# channel, both reach Connected through the store, the tree shows what each
# published, and the close takes both down before the toolstack removes the
# device. Each line must be there, in this order.
has() { # a grep -E pattern for one whole line of the demo's output
	printf '%s\n' "$out" | grep -Eqx -- "$1" || { echo "FAIL: the demo did not print a line /$1/"; exit 1; }
}
has 'hypervisor: broker on /tmp/splitdrv-demo-[A-Za-z0-9]+/broker\.sock, store on /tmp/splitdrv-demo-[A-Za-z0-9]+/store\.sock'
has 'toolstack: device directories written: /local/domain/1/device/demo/0 and /local/domain/2/backend/demo/1/0'
has "backend:  domain 2 read the frontend's keys, mapped 4 pages and bound channel [1-9][0-9]* as port [1-9][0-9]*"
has 'frontend: domain 1 is Connected: a 4-page ring \(256 slots\), refs( [0-9]+){4}, event channel [1-9][0-9]*'
has 'toolstack: frontend Connected, backend Connected'
has 'frontend: closed; the backend unmapped the ring and its grants are revoked'
has 'backend:  Closed'
has 'toolstack: both ends Closed; device removed'
has "$n pairs in [0-9.]+ s: [0-9]+ pairs/s, [0-9.]+ notifications/message to the backend, [0-9.]+ wake-ups/message from it, 0 wrong"
# The frontend's channel is the one the backend bound.
fch=$(printf '%s\n' "$out" | sed -n 's/^frontend: domain 1 is Connected: .*, event channel \([0-9]*\)$/\1/p')
bch=$(printf '%s\n' "$out" | sed -n 's/^backend:  domain 2 .* bound channel \([0-9]*\) as port .*/\1/p')
[ -n "$fch" ] && [ "$fch" = "$bch" ] || { echo "FAIL: frontend channel '$fch', backend bound '$bch'"; exit 1; }
order=$(printf '%s\n' "$out" | sed -n 's/^\(toolstack\): \(device directories\|frontend Connected\|both ends Closed\).*/\2/p' | tr '\n' '|')
[ "$order" = "device directories|frontend Connected|both ends Closed|" ] ||
	{ echo "FAIL: the toolstack's lines came in this order: $order"; exit 1; }
# Who printed the tree: Xen's xenstore-ls when installed (its -f lines are
# not indented), the demo's own printer (indented) only when it is not or
# under valgrind (SPLITDRV_DEMO_OWN_LS). In CI xenstore-ls must be there.
real="toolstack: the store now holds (Xen's xenstore-ls -f /local/domain):"
own="toolstack: the store now holds (the demo's own listing, as xenstore-ls -f /local/domain;"
if [ -n "${SPLITDRV_DEMO_OWN_LS:-}" ]; then
	want=own
	lead='  '
elif command -v xenstore-ls >/dev/null 2>&1; then
	want=real
	lead=''
elif [ "${CI:-}" = true ]; then
	echo "FAIL: xenstore-ls (xenstore-utils) is missing, and CI must run every test"
	exit 1
else
	echo "note: xenstore-ls (xenstore-utils) is not installed: the demo prints the tree itself"
	want=own
	lead='  '
fi
if [ $want = real ]; then
	printf '%s\n' "$out" | grep -qxF "$real" || { echo "FAIL: the demo did not run Xen's xenstore-ls"; exit 1; }
	printf '%s\n' "$out" | grep -qF "$own" && { echo "FAIL: the demo fell back to its own listing"; exit 1; }
else
	printf '%s\n' "$out" | grep -qF "$own" || { echo "FAIL: the demo did not say it printed the tree itself"; exit 1; }
	printf '%s\n' "$out" | grep -qxF "$real" && { echo "FAIL: the demo claims xenstore-ls ran"; exit 1; }
fi
for want in "$lead"'/local/domain/1/device/demo/0/ring-ref3 = "[0-9]+"' \
	"$lead"'/local/domain/1/device/demo/0/ring-page-order = "2"' \
	"$lead"'/local/domain/1/device/demo/0/event-channel = "'"$fch"'"' \
	"$lead"'/local/domain/1/device/demo/0/backend = "/local/domain/2/backend/demo/1/0"' \
	"$lead"'/local/domain/2/backend/demo/1/0/frontend = "/local/domain/1/device/demo/0"' \
	"$lead"'/local/domain/2/backend/demo/1/0/max-ring-page-order = "4"'; do
	has "$want"
done
run splitdrv-posix-demo -n $n -p 8 -q
# -q: the summary line only.
[ "$(printf '%s\n' "$out" | grep -Ec "^$n pairs in .*, 0 wrong\$"):$(printf '%s\n' "$out" | wc -l)" = 1:1 ] ||
	{ echo "FAIL: the quiet demo printed more than its summary line"; exit 1; }
# The main demo's two scripts: a disk used by NBD clients, two namespaces
# through the network driver. Their daemons are tested under memcheck by
# blk.sh and net.sh; here the scripts themselves must work as the quick
# start runs them.
if [ -z "${VALGRIND_DEMO:-}" ]; then
	script() { # name, arguments...
		name=$1
		shift
		[ -x "$top_builddir/examples/$name" ] || {
			echo "FAIL: $name was not built (nbdkit-plugin-dev and liburing-dev at configure time)"
			exit 1
		}
		out=$(top_builddir=$top_builddir sh "$top_builddir/examples/$name" "$@" 2>&1)
		rc=$?
		printf '%s\n' "$out" | sed "s/^/$name: /"
		[ $rc -eq 0 ] || { echo "FAIL: $name exited with $rc"; exit 1; }
	}
	script splitdrv-blk-demo --size 16 --seconds 1
	has 'demo: done; every client saw the right data'
	has 'client:   qemu-img compare: the disk holds exactly the image'
	if [ "$(id -u)" -eq 0 ] && [ -c /dev/net/tun ]; then
		script splitdrv-net-demo --seconds 1
		has 'backend:  vif1\.0 connected.*'
		has 'backend:  bridge br0 in namespace sdrvdemob[0-9]+ has ports: vif1\.0 vif2\.0|backend:  bridge br0 in namespace sdrvdemob[0-9]+ has ports: vif2\.0 vif1\.0'
		has 'client:   guest 1 pings guest 2: 5 packets transmitted, 5 received, 0% packet loss, time [0-9]+ms'
		has 'client:   iperf3 TCP guest 1 -> guest 2: [0-9.]+ Gbit/s received, [0-9]+ retransmits'
		has 'demo: done; the guests reached each other through netfront, netback and the bridge'
	elif [ "${CI:-}" = true ]; then
		echo "FAIL: the network demo needs root and /dev/net/tun, and CI must run every test"
		exit 1
	else
		echo "note: not root or no /dev/net/tun: the network demo is not run"
	fi
fi
echo "PASS: the demos"
