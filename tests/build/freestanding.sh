#!/bin/sh
# SPDX-License-Identifier: MIT
# The ring core, the codecs and their headers compile with -ffreestanding -nostdlib and
# can reach only the compiler's own headers; the object needs nothing from
# a C library except memcpy/memset, which every freestanding environment
# must provide (GCC and Clang may emit calls to them).
set -eu
: "${top_srcdir:?}" "${CC:=cc}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# Only the compiler's include directory: no libc headers are reachable.
ccinc=$($CC -print-file-name=include)
status=0
for src in libsplitdrv/ring.c libsplitdrv/grant.c libsplitdrv/blkif.c libsplitdrv/netif.c \
	libsplitdrv/inline-copies.c; do
	obj="$tmp/$(basename "$src" .c).o"
	if ! $CC -std=c11 -ffreestanding -nostdlib -nostdinc -isystem "$ccinc" \
		-I"$top_srcdir/include" -O2 -Wall -Wextra -Werror \
		-Wno-missing-prototypes -c "$top_srcdir/$src" -o "$obj"; then
		echo "FAIL: $src does not build freestanding"; status=1; continue
	fi
	undef=$(nm -u "$obj" | awk '{print $2}' | grep -vE '^(memcpy|memset)$' || true)
	if [ -n "$undef" ]; then
		echo "FAIL: $src needs symbols a freestanding environment lacks: $undef"; status=1
	fi
done
# A translation unit that uses the typed API and every header, linked with
# -nostdlib into a relocatable object: also freestanding.
cat > "$tmp/user.c" <<'C'
#include <splitdrv/splitdrv.h>
#include <splitdrv/proto/blkif.h>
#include <splitdrv/proto/netif.h>
#include <splitdrv/proto/xs_wire.h>
struct req { uint64_t id; uint8_t op; };
struct rsp { uint64_t id; int16_t st; };
SDRV_RING_DEFINE(demo, struct req, struct rsp);
int use(void *page);
int use(void *page)
{
	struct demo_front f; struct demo_back b; struct req q; struct rsp p;
	if (demo_front_init(&f, page, SDRV_PAGE_SIZE) || demo_back_attach(&b, page, SDRV_PAGE_SIZE, 0))
		return -1;
	demo_front_next_req(&f)->id = 7;
	(void)demo_front_push(&f);
	if (demo_back_take_reqs(&b, &q, 1) != 1) return -1;
	demo_back_next_rsp(&b)->id = q.id;
	(void)demo_back_push(&b);
	return demo_front_take_rsps(&f, &p, 1) == 1 && p.id == 7 ? 0 : -1;
}
int use_blkif(const void *slot, void *rsp_slot);
int use_blkif(const void *slot, void *rsp_slot)
{
	struct sdrv_blkif_limits lim = {.sz = sizeof(lim), .sectors = 1024};
	struct sdrv_blkif_req req;
	struct sdrv_blkif_rsp rsp;
	int err = sdrv_blkif_decode_req(SDRV_BLKIF_ABI_NATIVE, slot, SDRV_BLKIF_ENTRY_SIZE, &lim, &req);
	rsp.id = req.id;
	rsp.operation = sdrv_blkif_rsp_operation(&req);
	rsp.status = sdrv_blkif_status_for(err);
	return sdrv_blkif_encode_rsp(SDRV_BLKIF_ABI_NATIVE, &rsp, rsp_slot, SDRV_BLKIF_ENTRY_SIZE);
}
int use_netif(const void *slots, size_t nr, void *rsp_slot, const void *ctrl, void *ctrl_rsp);
int use_netif(const void *slots, size_t nr, void *rsp_slot, const void *ctrl, void *ctrl_rsp)
{
	struct sdrv_netif_tx_limits lim = {.sz = sizeof(lim), .fatal_slots = SDRV_NETIF_TX_FATAL_SLOTS};
	struct sdrv_netif_ctrl_config cfg = {.sz = sizeof(cfg), .nr_queues = 1};
	struct sdrv_netif_tx_pkt pkt;
	struct sdrv_netif_tx_response rsp;
	struct sdrv_netif_ctrl_req req;
	struct sdrv_netif_ctrl_response crsp;
	struct sdrv_netif_hash hash;
	int err = sdrv_netif_tx_decode(slots, nr, &lim, &pkt);
	if (err == -SDRV_EAGAIN || err == -SDRV_EPROTO)
		return err;
	if (sdrv_netif_tx_make_rsp(&pkt, 0, sdrv_netif_tx_status_for(err), &rsp) ||
	    sdrv_netif_tx_encode_rsp(&rsp, rsp_slot, SDRV_NETIF_TX_ENTRY_SIZE))
		return -1;
	err = sdrv_netif_ctrl_decode_req(ctrl, SDRV_NETIF_CTRL_ENTRY_SIZE, &cfg, &req);
	if (sdrv_netif_ctrl_make_rsp(&req, err, &cfg, &crsp))
		return -1;
	(void)sdrv_netif_hash_frame(0, 0, SDRV_NETIF_CTRL_HASH_TYPE_IPV4, slots, nr * 12, &hash);
	return sdrv_netif_ctrl_encode_rsp(&crsp, ctrl_rsp, SDRV_NETIF_CTRL_ENTRY_SIZE);
}
C
if ! $CC -std=c11 -ffreestanding -nostdlib -nostdinc -isystem "$ccinc" -I"$top_srcdir/include" \
	-O2 -Wall -Wextra -Werror -c "$tmp/user.c" -o "$tmp/user.o"; then
	echo "FAIL: the typed API does not build freestanding"; status=1
fi
if [ $status -eq 0 ] && ! $CC -nostdlib -r "$tmp/user.o" "$tmp/ring.o" "$tmp/blkif.o" \
	"$tmp/netif.o" -o "$tmp/all.o"; then
	echo "FAIL: freestanding objects do not link with -nostdlib"; status=1
fi
[ $status -eq 0 ] && echo "PASS: ring core, blkif and netif codecs are freestanding ($CC)"
# A kernel or hypervisor may build with either compiler: the other one too
# (Clang warns where GCC does not, e.g. of unused static inline functions).
if [ -z "${SDRV_FREESTANDING_SECOND:-}" ] && ! $CC --version 2>/dev/null | grep -qi clang; then
	if command -v clang >/dev/null 2>&1; then
		SDRV_FREESTANDING_SECOND=1 CC=clang sh "$0" || status=1
	elif [ "${CI:-}" = true ]; then
		echo "FAIL: clang is missing, and CI must run every test"; status=1
	else
		echo "note: clang is not installed: only $CC was checked"
	fi
fi
exit $status
