#!/bin/sh
# SPDX-License-Identifier: MIT
# splitdrv-blk-bench: fio through the split block path against fio through
# nbdkit's own file plugin, on the same image, in the same run.
#
#   split:     fio (ioengine=nbd) -> nbdkit splitdrv-blkfront -> ring, grants,
#              event channel -> splitdrv-blkback -> io_uring -> image
#   baseline:  fio (ioengine=nbd) -> nbdkit file plugin -> image
#
# Both serve one image from the page cache over a unix socket; the two
# alternate within each round so that host noise falls on both. Rows: 4 KiB
# random reads at queue depth 32, 1 MiB sequential reads and writes at queue
# depth 8. The figure is the median over rounds of split/baseline (IOPS or
# bandwidth). Targets: >= 1.0x for 4 KiB, >= 0.9x for 1 MiB.
#
# Usage: blk-bench.sh [--seconds S] [--rounds N] [--size MIB] [--quick]
# Environment: top_builddir (default .), NBDKIT, FIO, BLK_BENCH_DIR (where
# the image goes; default /dev/shm when it has room, else /tmp).
set -eu
secs=10 rounds=3 mib=1024
while [ $# -gt 0 ]; do
	case $1 in
	--seconds) secs=$2; shift ;;
	--rounds) rounds=$2; shift ;;
	--size) mib=$2; shift ;;
	--quick) secs=3 rounds=1 mib=256 ;;
	-h | --help) sed -n '3,19s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "blk-bench: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
tb=${top_builddir:-.}
NBDKIT=${NBDKIT:-nbdkit}
FIO=${FIO:-fio}
for t in "$NBDKIT" "$FIO" python3; do
	command -v "$t" >/dev/null || { echo "blk-bench: $t is not installed" >&2; exit 1; }
done
PLUGIN=$tb/drivers/blkfront/.libs/nbdkit-splitdrv-blkfront-plugin.so
[ -f "$PLUGIN" ] || { echo "blk-bench: build the plugin first ($PLUGIN)" >&2; exit 1; }
# The image lives in tmpfs when there is room: page-cache pages of a disk
# file may be reclaimed in the middle of a run (proactive reclaim on some
# VMs), which makes the baseline's figures swing by 4x; tmpfs pages stay.
dir=${BLK_BENCH_DIR:-}
if [ -z "$dir" ]; then
	dir=/tmp
	free=$(df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 { print $4 }')
	[ -w /dev/shm ] && [ "${free:-0}" -gt $(((mib + 256) * 1024)) ] && dir=/dev/shm
fi
TMP=$(mktemp -d "$dir/sdrv-blkbench-XXXXXX")
pids=
cleanup() {
	for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
	sleep 0.5
	for p in $pids; do kill -9 "$p" 2>/dev/null || true; done
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM
wait_sock() {
	for _ in $(seq 1 300); do [ -S "$1" ] && return 0; sleep 0.1; done
	echo "blk-bench: $2 did not start" >&2
	exit 1
}

B=$TMP/broker.sock S=$TMP/store.sock
"$tb/tools/splitdrvd" --socket "$B" --run-store "$S" >"$TMP/splitdrvd.log" 2>&1 &
pids="$pids $!"
wait_sock "$S" splitdrvd
echo "preparing a ${mib} MiB image..." >&2
head -c $((mib << 20)) /dev/urandom >"$TMP/disk.img"
XENSTORED_PATH=$S "$tb/tools/splitdrv" create guest1 --domid 1 >/dev/null
XENSTORED_PATH=$S "$tb/tools/splitdrv" device-add guest1 vbd target="$TMP/disk.img" vdev=xvda \
	>/dev/null
"$tb/drivers/blkback/splitdrv-blkback" -b "$B" -s "$S" >"$TMP/blkback.log" 2>&1 &
pids="$pids $!"
"$NBDKIT" -f -U "$TMP/split.sock" "$PLUGIN" broker="$B" domid=1 vdev=xvda \
	${BLK_BENCH_PLUGIN_ARGS:-} >"$TMP/nbdkit-split.log" 2>&1 &
pids="$pids $!"
"$NBDKIT" -f -U "$TMP/file.sock" file file="$TMP/disk.img" >"$TMP/nbdkit-file.log" 2>&1 &
pids="$pids $!"
wait_sock "$TMP/split.sock" "nbdkit splitdrv-blkfront"
wait_sock "$TMP/file.sock" "nbdkit file"
cat "$TMP/disk.img" >/dev/null # into the page cache for both

# run SOCK RW BS QD -> IOPS and MiB/s of one fio run
run() {
	"$FIO" --name=b --ioengine=nbd --uri="nbd+unix:///?socket=$1" --rw="$2" --bs="$3" \
		--iodepth="$4" --size="${mib}M" --time_based --runtime="$secs" --ramp_time=1 \
		--output-format=json >"$TMP/fio.out" 2>"$TMP/fio.err" || {
		echo "blk-bench: fio failed:" >&2
		cat "$TMP/fio.err" >&2
		exit 1
	}
	# fio's nbd engine prints a line before the JSON
	python3 -c '
import json, sys
t = open(sys.argv[1]).read()
j = json.loads(t[t.index("{"):])["jobs"][0]
r = j["read"] if j["read"]["io_bytes"] else j["write"]
print("%.1f %.1f" % (r["iops"], r["bw_bytes"] / 1048576.0))' "$TMP/fio.out"
}

echo
echo "splitdrv-blk-bench: fio through nbdkit splitdrv-blkfront -> blkback against fio"
echo "through nbdkit's file plugin, one ${mib} MiB image, ${secs} s runs, ${rounds} rounds,"
echo "alternating; medians of the per-round ratios."
echo
printf '| %-22s | %-16s | %-16s | %-14s | %-10s |\n' workload "split" "file plugin" "split/file" target
printf '|%s|%s|%s|%s|%s|\n' ------------------------ ------------------ ------------------ \
	---------------- ------------
status=0
for row in "randread 4k 32 1.0 iops" "read 1m 8 0.9 bw" "write 1m 8 0.9 bw"; do
	set -- $row
	rw=$1 bs=$2 qd=$3 target=$4 what=$5
	ratios= sv= fv=
	for r in $(seq 1 "$rounds"); do
		if [ $((r % 2)) -eq 1 ]; then
			s=$(run "$TMP/split.sock" "$rw" "$bs" "$qd")
			f=$(run "$TMP/file.sock" "$rw" "$bs" "$qd")
		else
			f=$(run "$TMP/file.sock" "$rw" "$bs" "$qd")
			s=$(run "$TMP/split.sock" "$rw" "$bs" "$qd")
		fi
		[ "$what" = iops ] && { s=${s% *}; f=${f% *}; } || { s=${s#* }; f=${f#* }; }
		sv="$sv $s" fv="$fv $f"
		ratios="$ratios $(python3 -c "print('%.3f' % ($s / $f))")"
	done
	med() { python3 -c "import statistics,sys; print('%.1f' % statistics.median(map(float, sys.argv[1:])))" "$@"; }
	medr=$(python3 -c "import statistics,sys; print('%.2f' % statistics.median(map(float, sys.argv[1:])))" $ratios)
	unit=$([ "$what" = iops ] && echo IOPS || echo MiB/s)
	met=$(python3 -c "print('met' if $medr >= $target else 'NOT met')")
	[ "$met" = met ] || status=1
	printf '| %-22s | %10s %-5s | %10s %-5s | %8sx       | >= %sx %s |\n' \
		"$rw $bs QD$qd" "$(med $sv)" "$unit" "$(med $fv)" "$unit" "$medr" "$target" "$met"
	echo "    rounds: split/file =$ratios" >&2
done
echo
exit 0
