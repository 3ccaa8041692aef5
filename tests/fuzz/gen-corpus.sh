#!/bin/sh
# SPDX-License-Identifier: MIT
# Regenerate the seed corpus of the ring-consumer fuzz harness
# (tests/fuzz/corpus/ring-consumer/). Each seed is a tiny scripted scenario;
# see fuzz-ring-consumer.c for the encoding:
#   header: entry-size index, flags (order = bits 0-1 % 3, 0x04 exact-size
#   region, 0x08 garbage fill, 0x10 frontend init, 0x20 our side is the
#   backend, 0x80 raw start index follows), start-index selector;
#   then ops (byte % 16): 0 peer index = base(sel) + delta (+ nr * sel>>6),
#   1 peer index = u32, 2 peer produces k, 3 scribble off16 len bytes,
#   4 header word w = u32, 5 peer event index, 6 peer resyncs, 7/8 take max,
#   9 claim k+1 slots, 10 push, 11 final check, 12 final check at (+u16),
#   13 unconsumed, 14 set batch b delay16, 15 layer above gives up (0xa5).
# Usage: gen-corpus.sh [OUTDIR]
set -eu
out=${1:-$(dirname "$0")/corpus/ring-consumer}
mkdir -p "$out"

# b N... : write the bytes N... (decimal) to stdout
b() {
	for n in "$@"; do
		# shellcheck disable=SC2059
		printf "$(printf '\\%03o' "$n")"
	done
}
rep() { # rep COUNT BYTES... : repeat a byte group
	c=$1; shift
	while [ "$c" -gt 0 ]; do b "$@"; c=$((c - 1)); done
}

# Backend, blkif-sized entries (112), exact region: the frontend fills the
# ring to the bound (accepted), we take with a huge max, answer 8, push,
# then it claims nr + 1 more than allowed: broken.
{ b 10 36 0; b 2 255; rep 32 7 9; b 7 255; b 9 7; rep 8 1; b 10 11
  b 0 65 1; b 7 20; b 11; b 7 20; } > "$out/back-bound-112"

# Frontend, 16-byte entries with id tracking: 8 requests, 3 good answers,
# then a response whose id was scribbled to 0xffffffff: broken by the ids.
{ b 5 20 0; b 9 7; rep 8 1; b 10; b 2 3; rep 3 9; b 8 10
  b 3 112 0 4 255 255 255 255; b 2 1 9; b 8 10; b 13; } > "$out/front-bogus-id-16"

# Frontend, 12-byte entries (netif_tx): 5 requests published, 6 answers.
{ b 4 20 0; b 9 4; rep 5 1; b 10; b 2 6; rep 6 3; b 7 50; b 11; } > "$out/front-too-many-12"

# Backend, odd 113-byte entries, two pages, start 0xffffffff: a garbage index.
{ b 11 33 5; b 1 239 190 173 222; b 11; b 7 9; b 12 10 0; } > "$out/back-garbage-113"

# Backend, 1-byte entries, four pages, exact: a peer that never advances,
# batched final check (batch 4, 1 ms), repeated checks.
{ b 0 38 0; b 14 4 232 3; b 12 100 0; b 7 0; b 11; b 13; b 12 200 0; b 7 100
  b 2 3 1 1 1; b 12 10 0; b 12 250 0; b 8 255; } > "$out/back-idle-batch-1"

# Backend, 12-byte entries, start 0x7fffffff: 10 requests, take 5, then the
# frontend moves its index behind cons.
{ b 4 36 2; b 2 10; rep 10 5 6; b 7 5; b 12 1 0; b 0 0 255; b 7 5; b 7 5; b 11; } \
	> "$out/back-backwards-12"

# Frontend attached at 0xfffffffe (wraps), 64-byte entries, four pages:
# answered exactly up to what was published, taken in small bites.
{ b 8 2 4; b 9 7; rep 8 2; b 10; b 0 2 0; b 7 3; b 7 3; b 7 3; b 9 2; rep 3 4; b 10
  b 0 2 0; b 7 200; b 12 5 0; b 14 3 10 0; b 12 255 255; } > "$out/front-wrap-64"

# Backend, 8-byte entries, garbage-filled page, then our own header fields
# scribbled by the peer; claims and pushes on top.
{ b 3 40 0; rep 68 171; b 4 0 3 0 0 0; b 7 9; b 4 2 255 255 255 255; b 9 1; b 10
  b 4 1 0 0 0 128; b 10; b 11; b 5 0 1; b 9 0; b 10; } > "$out/back-scribbled-header-8"

# Entry size that does not fit one page (4033): attach must refuse.
b 16 0 0 > "$out/too-big-entry"
