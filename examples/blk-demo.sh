#!/bin/sh
# SPDX-License-Identifier: MIT
# splitdrv-blk-demo: a disk image served through a split block driver, used
# by real NBD clients.
#
#   hypervisor  splitdrvd: the POSIX transport's broker and the store
#   toolstack   splitdrv (domain 0): creates domain 1 and gives it a disk,
#               writing both device directories as Xen's libxl does
#   backend     splitdrv-blkback (domain 0): serves the image through io_uring
#   frontend    nbdkit with the splitdrv-blkfront plugin (domain 1): reaches
#               the disk through the ring, granted pages and an event
#               channel, and exports it over NBD on a unix socket
#   clients     qemu-img writes an image into the disk and compares it,
#               nbdcopy reads it all back, fio measures random reads
#
# Everything runs in a fresh temporary directory and is stopped at the end.
# Usage: splitdrv-blk-demo [--size MIB] [--seconds S] [--keep] [--help]
# Environment: top_builddir (the build tree; default: the installed programs).
set -eu
mib=256 secs=5 keep=0
while [ $# -gt 0 ]; do
	case $1 in
	--size) mib=$2; shift ;;
	--seconds) secs=$2; shift ;;
	--keep) keep=1 ;;
	-h | --help)
		cat <<EOF
Usage: splitdrv-blk-demo [OPTION]...
Serve a disk image through libsplitdrv's split block driver (blkback and
blkfront over the POSIX transport, set up as Xen does) and use it with real
NBD clients: qemu-img, nbdcopy and fio.

  --size MIB     size of the disk (default 256)
  --seconds S    length of the fio measurement (default 5)
  --keep         keep the temporary directory (logs, images)
  -h, --help     show this help

Exit status: 0 if every client saw the right data, 1 otherwise, 2 on bad usage.
EOF
		exit 0 ;;
	*) echo "splitdrv-blk-demo: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done
if [ -n "${top_builddir:-}" ]; then
	SPLITDRVD=$top_builddir/tools/splitdrvd
	SPLITDRV=$top_builddir/tools/splitdrv
	BLKBACK=$top_builddir/drivers/blkback/splitdrv-blkback
	PLUGIN=$top_builddir/drivers/blkfront/.libs/nbdkit-splitdrv-blkfront-plugin.so
else
	SPLITDRVD=splitdrvd SPLITDRV=splitdrv BLKBACK=splitdrv-blkback PLUGIN=splitdrv-blkfront
fi
for t in nbdkit qemu-img nbdcopy nbdinfo fio; do
	command -v $t >/dev/null || { echo "splitdrv-blk-demo: $t is not installed" >&2; exit 1; }
done
T=$(mktemp -d /tmp/splitdrv-blk-demo-XXXXXX)
pids=
stop() {
	for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
	# Each gets 10 s to exit. (nbdkit with an ASan plugin preloaded can
	# deadlock in a library's exit handler; the demo must still end.)
	for p in $pids; do
		for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	pids=
	[ $keep -eq 1 ] && echo "demo: logs and images kept in $T" || rm -rf "$T"
}
trap stop EXIT
trap 'exit 1' INT TERM
bad() {
	echo "demo: FAILED: $*" >&2
	for f in "$T"/*.log; do [ -f "$f" ] && sed "s|^|$(basename "$f" .log): |" "$f" | tail -n 15 >&2; done
	exit 1
}
wait_sock() {
	for _ in $(seq 1 300); do [ -S "$1" ] && return 0; sleep 0.1; done
	bad "$2 did not start"
}
now() { date +%s.%N; }
secs_since() { python3 -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$(now)"; }

B=$T/broker.sock
XENSTORED_PATH=$T/store.sock
export XENSTORED_PATH
"$SPLITDRVD" --socket "$B" --run-store "$XENSTORED_PATH" >"$T/splitdrvd.log" 2>&1 &
pids="$pids $!"
wait_sock "$XENSTORED_PATH" splitdrvd
echo "hypervisor: broker on $B, store on $XENSTORED_PATH"

truncate -s "${mib}M" "$T/disk.img"
"$SPLITDRV" create guest1 --domid 1 >/dev/null
"$SPLITDRV" device-add guest1 vbd target="$T/disk.img" vdev=xvda >/dev/null
echo "toolstack: domain 1 (guest1) has disk xvda: $T/disk.img, ${mib} MiB"

"$BLKBACK" -b "$B" >"$T/blkback.log" 2>&1 &
pids="$pids $!"
# nbdkit itself is not built with AddressSanitizer: a plugin from a
# --enable-sanitizers build needs its runtime loaded first.
NK_ENV=
if command -v readelf >/dev/null && readelf -d "$PLUGIN" 2>/dev/null | grep -q libasan; then
	NK_ENV=LD_PRELOAD=$(${CC:-cc} -print-file-name=libasan.so)
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
	export ASAN_OPTIONS
fi
env $NK_ENV nbdkit -f -U "$T/nbd.sock" "$PLUGIN" broker="$B" domid=1 vdev=xvda \
	>"$T/nbdkit.log" 2>&1 &
pids="$pids $!"
wait_sock "$T/nbd.sock" "nbdkit splitdrv-blkfront"
U="nbd+unix:///?socket=$T/nbd.sock"
echo "frontend: nbdkit splitdrv-blkfront exports the disk at $U"
size=$(nbdinfo --size "$U") # answered once the device is Connected
[ "$size" -eq $((mib << 20)) ] || bad "the export is $size bytes"
sed -n 's/^splitdrv-blkback: info: \(vbd .*connected.*\)/backend:  \1/p' "$T/blkback.log"
if command -v xenstore-ls >/dev/null; then
	echo "toolstack: both ends are Connected; the device in the store (xenstore-ls -f):"
	# the ring refs beyond the first of each queue are left out
	xenstore-ls -f /local/domain/1/device/vbd/51712 /local/domain/0/backend/vbd/1/51712 |
		grep -v '/ring-ref[1-9][0-9]* = ' | sed 's/^/  /'
fi
head -c $((mib << 20)) /dev/urandom >"$T/src.img"
t0=$(now)
qemu-img convert -n -f raw -O raw "$T/src.img" "$U" || bad "qemu-img convert"
echo "client:   qemu-img convert wrote ${mib} MiB into the disk in $(secs_since "$t0") s"
qemu-img compare -q -f raw -F raw "$T/src.img" "$U" || bad "qemu-img compare: the disk differs"
echo "client:   qemu-img compare: the disk holds exactly the image"
t0=$(now)
nbdcopy "$U" "$T/back.img" || bad "nbdcopy"
cmp -s "$T/src.img" "$T/back.img" || bad "nbdcopy read back something else"
echo "client:   nbdcopy read all ${mib} MiB back in $(secs_since "$t0") s, identical"
cmp -s "$T/src.img" "$T/disk.img" || bad "the image file differs from what was written"
echo "backend:  the image file itself is byte for byte what qemu-img wrote"
fio --name=demo --ioengine=nbd --uri="$U" --rw=randread --bs=4k --iodepth=32 --size="${mib}M" \
	--time_based --runtime="$secs" --output-format=json >"$T/fio.json" 2>"$T/fio.log" ||
	bad "fio"
python3 -c '
import json, sys
t = open(sys.argv[1]).read()
r = json.loads(t[t.index("{"):])["jobs"][0]["read"]
print("client:   fio 4 KiB random reads at queue depth 32: %.0f IOPS, %.1f MiB/s, "
      "p50 latency %.0f us" % (r["iops"], r["bw_bytes"] / 1048576.0,
                               r["clat_ns"]["percentile"]["50.000000"] / 1000.0))' "$T/fio.json"
stop
trap - EXIT
echo "demo: done; every client saw the right data"
