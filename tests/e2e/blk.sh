#!/bin/sh
# SPDX-License-Identifier: MIT
# The block path end to end, with real programs nobody here wrote at both
# ends: NBD clients (qemu-img, nbdcopy, nbdsh, fio) talk to nbdkit running
# the splitdrv-blkfront plugin, which reaches splitdrv-blkback through the
# ring, the grants and an event channel; blkback serves an image file. The
# daemons are the installed-style programs (splitdrvd with the store, the
# splitdrv toolstack, splitdrv-blkback), under memcheck in make
# check-valgrind. The image is compared byte for byte with what the
# clients wrote after every step.
#
#   qemu-img   convert into the device, compare it with the source
#   nbdcopy    the whole device out, and a whole image in
#   nbdsh      reads and writes at odd offsets and lengths, flush, trim,
#              and the export's size and flags
#   fio        randwrite and read verify workloads (ioengine=nbd)
#   durability a write acknowledged after a completed flush survives
#              blkback being killed with SIGKILL
#   restart    blkback killed and started again while a client waits: the
#              frontend reconnects, the waiting write completes, and no
#              acknowledged write is lost
#   read-only  a mode=r device: reads work, writes are refused
#   shutdown   SIGTERM stops every daemon with status 0
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/tools/lib.sh"
need_tool "${NBDKIT:-nbdkit}" nbdkit
need_tool "${QEMU_IMG:-qemu-img}" qemu-utils
need_tool "${NBDCOPY:-nbdcopy}" libnbd-bin
need_tool /usr/bin/nbdsh python3-libnbd
need_tool "${FIO:-fio}" fio
need_tool cmp diffutils
PATH=/usr/bin:$PATH # nbdsh needs Debian's python3
export PATH

V=${VALGRIND_DEMO:-}
MB=64
[ -n "$V" ] && MB=16
B=$TMP/broker.sock
XENSTORED_PATH=$TMP/store.sock
export XENSTORED_PATH
PLUGIN=$top_builddir/drivers/blkfront/.libs/nbdkit-splitdrv-blkfront-plugin.so
for f in "$PLUGIN" "$top_builddir/drivers/blkback/splitdrv-blkback"; do
	[ -e "$f" ] && continue
	# configure builds them only with their libraries: say which is missing
	need_tool /nonexistent/"$(basename "$f")" "liburing-dev and nbdkit-plugin-dev, then configure"
done
SD="$V $top_builddir/tools/splitdrv"
# nbdkit is not ours and is not built with AddressSanitizer: a plugin that
# is needs the runtime loaded first (and nbdkit's own leaks are not ours).
NK_ENV=
if readelf -d "$PLUGIN" 2>/dev/null | grep -q libasan; then
	NK_ENV=LD_PRELOAD=$(${CC:-cc} -print-file-name=libasan.so)
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
	export ASAN_OPTIONS
fi
nbdkit_bg() { # log, nbdkit arguments...
	log=$1
	shift
	env $NK_ENV "${NBDKIT:-nbdkit}" "$@" >"$log" 2>&1 &
}
BB_PID= NK_PID= NK2_PID=

cleanup() {
	for p in $NK_PID $NK2_PID $BB_PID; do kill -9 "$p" 2>/dev/null; done
	[ -n "$STORE_PID" ] && kill -9 "$STORE_PID" 2>/dev/null
}
die() {
	for f in blkback nbdkit; do
		[ -f "$TMP/$f.log" ] && sed "s/^/$f: /" "$TMP/$f.log" | tail -n 30
	done
	cleanup
	fail "$@"
}
wait_file() { # path, what
	for _ in $(seq 1 600); do
		[ -S "$1" ] && return 0
		sleep 0.1
	done
	die "$2 did not start"
}
uri() { echo "nbd+unix:///?socket=$TMP/$1"; }
start_blkback() {
	$V "$top_builddir/drivers/blkback/splitdrv-blkback" -b "$B" -s "$XENSTORED_PATH" -v \
		>>"$TMP/blkback.log" 2>&1 &
	BB_PID=$!
}
# the image must equal the model after a flush
same() { # what
	cmp -s "$TMP/disk.img" "$TMP/model.img" || die "$1: the image differs from what was written"
}

# --- the world: broker and store, a guest, its disk, the backend ----------
$V "$top_builddir/tools/splitdrvd" --socket "$B" --run-store "$XENSTORED_PATH" \
	>"$TMP/store.log" 2>&1 &
STORE_PID=$!
wait_file "$XENSTORED_PATH" splitdrvd
out=$("$top_builddir/drivers/blkback/splitdrv-blkback" --help) || die "blkback --help"
echo "$out" | grep -q -- '--max-queues' || die "blkback --help lists no options"
"$top_builddir/drivers/blkback/splitdrv-blkback" --version | grep -q '^splitdrv-blkback ' ||
	die "blkback --version"
"$top_builddir/drivers/blkback/splitdrv-blkback" --bogus 2>/dev/null
[ $? -eq 2 ] || die "blkback: a bad option must exit 2"

head -c $((MB << 20)) /dev/urandom >"$TMP/src.img"
head -c $((MB << 20)) /dev/urandom >"$TMP/src2.img"
truncate -s "${MB}M" "$TMP/disk.img"
cp "$TMP/disk.img" "$TMP/model.img"
head -c $((4 << 20)) /dev/urandom >"$TMP/ro.img"
$SD create guest1 --domid 1 >/dev/null || die "create guest1"
$SD device-add guest1 vbd target="$TMP/disk.img" vdev=xvda >/dev/null || die "device-add xvda"
# one process holds one domain: the read-only disk goes to another guest
$SD create guest2 --domid 2 >/dev/null || die "create guest2"
$SD device-add guest2 vbd target="$TMP/ro.img" vdev=xvdb mode=r >/dev/null ||
	die "device-add xvdb"
start_blkback
nbdkit_bg "$TMP/nbdkit.log" -f -U "$TMP/nbd.sock" "$PLUGIN" broker="$B" domid=1 vdev=xvda
NK_PID=$!
wait_file "$TMP/nbd.sock" nbdkit
U=$(uri nbd.sock)

# --- qemu-img --------------------------------------------------------------
size=$(nbdinfo --size "$U" 2>&1) || die "nbdinfo: $size"
[ "$size" = $((MB << 20)) ] || die "the export is $size bytes, not $((MB << 20))"
"${QEMU_IMG:-qemu-img}" convert -n -f raw -O raw "$TMP/src.img" "$U" ||
	die "qemu-img convert into the device"
"${QEMU_IMG:-qemu-img}" compare -f raw -F raw "$TMP/src.img" "$U" >/dev/null ||
	die "qemu-img compare: the device differs from the source"
cp "$TMP/src.img" "$TMP/model.img"
same "qemu-img convert"

# --- nbdcopy ---------------------------------------------------------------
"${NBDCOPY:-nbdcopy}" "$U" "$TMP/out.img" || die "nbdcopy out"
cmp -s "$TMP/out.img" "$TMP/src.img" || die "nbdcopy out: what came out differs"
"${NBDCOPY:-nbdcopy}" --flush "$TMP/src2.img" "$U" || die "nbdcopy in"
cp "$TMP/src2.img" "$TMP/model.img"
same "nbdcopy in"

# --- nbdsh at odd offsets ----------------------------------------------------
cat >"$TMP/odd.py" <<'EOF'
import os, random, sys
uri, model, mb = os.environ["U"], os.environ["MODEL"], int(os.environ["MB"])
h = nbd.NBD()
h.connect_uri(uri)
size = h.get_size()
assert size == mb << 20, size
assert h.can_flush() and h.can_trim(), "flush and trim are offered"
assert not h.is_read_only()
rnd = random.Random(7)
f = open(model, "r+b")
for i in range(200):
    off = rnd.randrange(0, size - 70000)
    n = rnd.choice([1, 3, 511, 513, 4095, 4097, 65537, rnd.randrange(1, 70000)])
    data = os.urandom(n)
    h.pwrite(data, off)
    f.seek(off); f.write(data)
    back = h.pread(n, off)
    assert back == data, "read back at %d+%d differs" % (off, n)
    m = rnd.randrange(1, 9000)
    o2 = rnd.randrange(0, size - m)
    f.seek(o2)
    assert h.pread(m, o2) == f.read(m), "read at %d+%d differs" % (o2, m)
# trim: zeroes (blkback punches a hole)
h.trim(1 << 20, 8 << 20)
f.seek(8 << 20); f.write(bytes(1 << 20))
assert h.pread(1 << 20, 8 << 20) == bytes(1 << 20), "trimmed range reads zero"
h.flush()
f.close()
h.shutdown()
EOF
# nbdsh takes no arguments for the script: they go through the environment
MODEL=$TMP/model.img
export U MODEL MB
/usr/bin/nbdsh -c "exec(open('$TMP/odd.py').read())" 2>"$TMP/nbdsh.err" ||
	die "nbdsh at odd offsets: $(tail -n 5 "$TMP/nbdsh.err")"
same "nbdsh at odd offsets"

# --- fio verify ---------------------------------------------------------------
fio_run() { # name, extra options...
	name=$1
	shift
	"${FIO:-fio}" --name="$name" --ioengine=nbd --uri="$U" --size="$((MB / 2))M" \
		--offset="$((MB / 4))M" --bs=4k --iodepth=16 --verify=crc32c --verify_fatal=1 \
		--do_verify=1 --verify_state_save=0 --output-format=normal "$@" >"$TMP/fio-$name.log" 2>&1 ||
		die "fio $name: $(tail -n 20 "$TMP/fio-$name.log")"
	grep -q 'err= 0' "$TMP/fio-$name.log" || die "fio $name reported errors"
}
fio_run randwrite --rw=randwrite --bsrange=512-64k
fio_run seqwrite --rw=write --bs=1m --iodepth=4
# fio's data is now in the image: take it into the model
"${NBDCOPY:-nbdcopy}" "$U" "$TMP/model.img" || die "nbdcopy after fio"
same "fio"

# --- durability: write, flush, SIGKILL ---------------------------------------
cat >"$TMP/dur.py" <<'EOF'
import os
uri, model, off = os.environ["U"], os.environ["MODEL"], int(os.environ["OFF"])
h = nbd.NBD()
h.connect_uri(uri)
data = bytes((i * 7 + 3) & 0xff for i in range(1 << 20))
h.pwrite(data, off)
h.flush()
with open(model, "r+b") as f:
    f.seek(off); f.write(data)
h.shutdown()
EOF
OFF=$((3 << 20)) /usr/bin/nbdsh -c "exec(open('$TMP/dur.py').read())" ||
	die "the write before the kill"
kill -9 "$BB_PID"
wait "$BB_PID" 2>/dev/null
BB_PID=
same "a flushed write after blkback was killed"

# --- restart: a client waits while blkback is down ---------------------------
cat >"$TMP/wait.py" <<'EOF'
import os
uri, model, off = os.environ["U"], os.environ["MODEL"], int(os.environ["OFF"])
h = nbd.NBD()
h.connect_uri(uri)
data = bytes((i * 13 + 1) & 0xff for i in range(256 << 10))
h.pwrite(data, off)  # waits for the backend to come back
h.flush()
assert h.pread(len(data), off) == data
with open(model, "r+b") as f:
    f.seek(off); f.write(data)
h.shutdown()
EOF
OFF=$((5 << 20)) /usr/bin/nbdsh -c "exec(open('$TMP/wait.py').read())" 2>"$TMP/wait.err" &
W_PID=$!
sleep 1
kill -0 "$W_PID" 2>/dev/null || die "the client did not wait for the backend: $(cat "$TMP/wait.err")"
start_blkback
wait "$W_PID" || die "the waiting write failed: $(tail -n 5 "$TMP/wait.err")"
same "restart"
grep -q 'connected' "$TMP/blkback.log" || die "the new blkback did not connect"

# --- read-only ----------------------------------------------------------------
nbdkit_bg "$TMP/nbdkit-ro.log" -f -U "$TMP/ro.sock" "$PLUGIN" broker="$B" domid=2 vdev=xvdb
NK2_PID=$!
wait_file "$TMP/ro.sock" "nbdkit (read-only)"
cat >"$TMP/ro.py" <<'EOF'
import os
uri, img = os.environ["U"], os.environ["IMG"]
h = nbd.NBD()
h.connect_uri(uri)
assert h.is_read_only(), "a mode=r device is exported read-only"
want = open(img, "rb").read()
assert h.pread(len(want), 0) == want
try:
    h.pwrite(b"x" * 512, 0)
except nbd.Error:
    pass
else:
    raise AssertionError("a write to a read-only device succeeded")
h.shutdown()
EOF
U=$(uri ro.sock) IMG=$TMP/ro.img /usr/bin/nbdsh -c "exec(open('$TMP/ro.py').read())" \
	2>"$TMP/ro.err" || die "read-only device: $(tail -n 5 "$TMP/ro.err")"
head -c $((4 << 20)) "$TMP/ro.img" | cmp -s - "$TMP/ro.img" || die "the read-only image changed"

# --- shutdown -----------------------------------------------------------------
for p in $NK2_PID $NK_PID; do
	kill -TERM "$p"
	wait "$p" || die "nbdkit exited with $? on SIGTERM"
done
NK_PID= NK2_PID=
kill -TERM "$BB_PID"
wait "$BB_PID"
rc=$?
BB_PID=
[ $rc -eq 0 ] || die "splitdrv-blkback exited with $rc on SIGTERM"
grep -q 'closing the devices' "$TMP/blkback.log" || die "blkback did not log its shutdown"
same "the end"
kill -TERM "$STORE_PID"
wait "$STORE_PID"
rc=$?
STORE_PID=
[ $rc -eq 0 ] || fail "splitdrvd exited with $rc on SIGTERM"
rm -rf "$TMP"
echo "PASS: qemu-img, nbdcopy, nbdsh and fio through blkfront and blkback; durability, restart, read-only"
