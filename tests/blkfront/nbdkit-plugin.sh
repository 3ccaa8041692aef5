#!/bin/sh
# SPDX-License-Identifier: MIT
# The nbdkit plugin, for real: blkfront-testenv runs the broker, the store,
# a vbd device and the test backend (a RAM disk); nbdkit loads the built
# plugin as the frontend domain and serves it on a unix socket; nbdsh
# (libnbd) checks the export: its size and flags, writes and reads at odd
# offsets and lengths against a model (read-modify-write in the plugin),
# FUA, flush, trim, zero, many requests in flight at once, a second
# connection seeing the first's writes. Then nbdkit and the environment
# stop orderly, and the backend must have seen the flushes and discards.
#
# nbdkit and nbdsh must be installed: without them the test is skipped,
# except under CI=true, where that is a failure. Under make check-valgrind
# our own program (blkfront-testenv) runs under valgrind ($VALGRIND_DEMO);
# nbdkit does not.
set -u
: "${top_builddir:?}"

skip() {
	if [ "${CI:-}" = true ]; then
		echo "FAIL (CI=true, skipping is not allowed): $1"
		exit 1
	fi
	echo "SKIP: $1"
	exit 77
}

PATH=/usr/bin:$PATH
export PATH
nbdkit=${NBDKIT:-}
[ -n "$nbdkit" ] || nbdkit=$(command -v nbdkit || true)
nbdsh=${NBDSH:-}
[ -n "$nbdsh" ] || nbdsh=$(command -v nbdsh || true)
if [ -z "$nbdkit" ] || [ ! -x "$nbdkit" ]; then
	skip "nbdkit is not installed"
fi
if [ -z "$nbdsh" ] || [ ! -x "$nbdsh" ]; then
	skip "nbdsh (libnbd-bin, python3-libnbd) is not installed"
fi
plugin=$top_builddir/drivers/blkfront/.libs/nbdkit-splitdrv-blkfront-plugin.so
[ -f "$plugin" ] || skip "the plugin was not built (configure did not find nbdkit-plugin-dev)"
testenv=$top_builddir/tests/blkfront/blkfront-testenv
preload=
# A plugin built with AddressSanitizer or ThreadSanitizer needs its runtime
# loaded first into nbdkit (which is not built with it); nbdkit's own leaks
# are not ours. ThreadSanitizer then checks the plugin's worker and poller
# threads (nbdkit's locks are seen through the runtime's interceptors).
for san in asan tsan; do
	readelf -d "$plugin" 2>/dev/null | grep -q "lib$san" || continue
	rt=$(${CC:-cc} -print-file-name=lib$san.so)
	[ -f "$rt" ] || skip "the plugin uses lib$san but $rt is missing"
	preload=LD_PRELOAD=$rt
done
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
TSAN_OPTIONS=${TSAN_OPTIONS:+$TSAN_OPTIONS:}exitcode=66
export ASAN_OPTIONS TSAN_OPTIONS

slow=1
[ -n "${VALGRIND_DEMO:-}" ] && slow=20
tmp=$(mktemp -d /tmp/sdrv-nbd-XXXXXX)
envpid=
nbdpid=
cleanup() {
	[ -n "$nbdpid" ] && kill "$nbdpid" 2>/dev/null
	[ -n "$envpid" ] && kill "$envpid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $1"
	for f in env.err env.out nbdkit.err; do
		[ -s "$tmp/$f" ] && { echo "--- $f"; tail -n 30 "$tmp/$f"; }
	done
	exit 1
}
# stop PID SECONDS: SIGTERM, then wait at most SECONDS (a hang fails)
stop() {
	kill "$1" 2>/dev/null
	n=$(( $2 * slow * 10 ))
	while kill -0 "$1" 2>/dev/null; do
		n=$((n - 1))
		if [ $n -le 0 ]; then
			kill -9 "$1" 2>/dev/null
			fail "process $1 did not exit within $(( $2 * slow )) s of SIGTERM"
		fi
		sleep 0.1
	done
	wait "$1"
}
# wait_for FILE SECONDS
wait_for() {
	n=$(( $2 * slow * 10 ))
	while [ ! -e "$1" ]; do
		n=$((n - 1))
		[ $n -gt 0 ] || return 1
		sleep 0.1
	done
}

# Parameters are checked before anything is opened.
if env ${preload:+"$preload"} "$nbdkit" "$plugin" vdev=xvda --run true > "$tmp/cfg.out" 2>&1; then
	fail "nbdkit accepted a configuration without domid"
fi
grep -q "domid=N" "$tmp/cfg.out" || fail "no clear message for a missing domid: $(cat "$tmp/cfg.out")"
if env ${preload:+"$preload"} "$nbdkit" "$plugin" domid=1 vdev=hda --run true > "$tmp/cfg.out" 2>&1; then
	fail "nbdkit accepted vdev=hda"
fi
grep -q "not a Xen virtual disk name" "$tmp/cfg.out" || fail "no clear message for vdev=hda"

# shellcheck disable=SC2086
${VALGRIND_DEMO:-} "$testenv" --info "$tmp/env" --mib 16 > "$tmp/env.out" 2> "$tmp/env.err" &
envpid=$!
wait_for "$tmp/env" 30 || fail "blkfront-testenv did not start"
# shellcheck disable=SC1091
. "$tmp/env"

env ${preload:+"$preload"} "$nbdkit" -U "$tmp/nbd.sock" -P "$tmp/nbdkit.pid" -f -v "$plugin" broker="$BROKER" \
	domid="$FE_DOMID" vdev=xvda timeout=$((30 * slow)) queues=2 > "$tmp/nbdkit.out" \
	2> "$tmp/nbdkit.err" &
nbdpid=$!
wait_for "$tmp/nbdkit.pid" 30 || fail "nbdkit did not start"
wait_for "$tmp/nbd.sock" 30 || fail "nbdkit did not listen"

SOCK=$tmp/nbd.sock SIZE=$SIZE timeout $((120 * slow)) "$nbdsh" -c '
import os, random

sock = os.environ["SOCK"]
size = int(os.environ["SIZE"])
uri = "nbd+unix:///?socket=" + sock

# Odd offsets on purpose: the plugin advertises a minimum block size of 1,
# so the strict mode of libnbd lets them through.
h.connect_uri(uri)
assert h.get_size() == size, h.get_size()
assert h.is_read_only() == 0
assert h.can_flush() and h.can_fua() and h.can_trim() and h.can_multi_conn()
assert h.get_block_size(nbd.SIZE_MINIMUM) == 1
assert h.get_block_size(nbd.SIZE_PREFERRED) == 4096

r = random.Random(7)
model = bytearray(size)
for i in range(300):
    n = r.randrange(1, 70000)
    off = r.randrange(0, size - n)
    if r.random() < 0.5:
        data = r.randbytes(n)
        h.pwrite(data, off, nbd.CMD_FLAG_FUA if r.random() < 0.1 else 0)
        model[off:off + n] = data
    else:
        got = h.pread(n, off)
        assert got == bytes(model[off:off + n]), "read of %d at %d" % (n, off)

# One byte, both ends of a sector, the last byte of the disk.
for off, data in ((0, b"A"), (511, b"BC"), (4095, b"D" * 1025), (size - 1, b"Z")):
    h.pwrite(data, off)
    model[off:off + len(data)] = data
    assert h.pread(len(data) + 2 if off + len(data) + 2 <= size else len(data), off) == \
        bytes(model[off:off + len(data) + 2 if off + len(data) + 2 <= size else off + len(data)])
h.flush()

# Trim is advisory: whole sectors inside the range go (this backend zeroes
# them), the bytes around them stay.
h.pwrite(b"\x55" * 70000, 10000)
model[10000:80000] = b"\x55" * 70000
h.trim(65536, 12345)
lo, hi = (12345 + 511) // 512 * 512, (12345 + 65536) // 512 * 512
model[lo:hi] = bytes(hi - lo)
assert h.pread(70000, 10000) == bytes(model[10000:80000])
h.zero(5000, 3333)
model[3333:8333] = bytes(5000)

# Many in flight at once, aligned and not.
bufs = []
for i in range(48):
    n = r.randrange(1, 300000)
    off = i * 320000 + r.randrange(0, 1000)
    data = r.randbytes(n)
    model[off:off + n] = data
    bufs.append((h.aio_pwrite(nbd.Buffer.from_bytearray(bytearray(data)), off), off, n))
while h.aio_in_flight() > 0:
    h.poll(-1)
for c, off, n in bufs:
    assert h.aio_command_completed(c)
reads = []
for i in range(48):
    n = r.randrange(1, 300000)
    off = r.randrange(0, size - n)
    b = nbd.Buffer(n)
    reads.append((h.aio_pread(b, off), b, off, n))
while h.aio_in_flight() > 0:
    h.poll(-1)
for c, b, off, n in reads:
    assert h.aio_command_completed(c)
    assert b.to_bytearray() == model[off:off + n], "aio read of %d at %d" % (n, off)

# Another connection sees the same device.
h2 = nbd.NBD()
h2.connect_uri(uri)
for off in range(0, size, 1 << 20):
    assert h2.pread(1 << 20, off) == bytes(model[off:off + (1 << 20)]), "chunk at %d" % off
h2.shutdown()
h.flush()
h.shutdown()
print("nbdsh: all checks passed")
' > "$tmp/nbdsh.out" 2>&1 || { cat "$tmp/nbdsh.out"; fail "nbdsh checks failed"; }
cat "$tmp/nbdsh.out"

stop "$nbdpid" 30
rc=$?
nbdpid=
[ $rc -eq 0 ] || fail "nbdkit exited with $rc"
grep -q "connected:" "$tmp/nbdkit.err" || fail "the plugin did not log the connection"
stop "$envpid" 30
rc=$?
envpid=
[ $rc -eq 0 ] || fail "blkfront-testenv exited with $rc"
cat "$tmp/env.out"
for what in writes reads flushes discards; do
	grep -Eq " $what=[1-9]" "$tmp/env.out" || fail "the backend saw no $what"
done
grep -q "fail=-" "$tmp/env.out" || fail "the backend reported a failure"
echo "PASS: nbdkit-plugin"
