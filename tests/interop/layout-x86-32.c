/* SPDX-License-Identifier: MIT */
/*
 * Compiled (never run) with -m32 by layout-x86-32.sh: under the i386 ABI,
 * Xen's native blkif structures are the "x86_32-abi" layouts, so this
 * compares libsplitdrv's sdrv_blkif_x86_32_* structures with Xen's own
 * headers field by field. It also shows that the 64-bit sdrv_blkif_*
 * layouts do not change on a 32-bit host (their headers assert the x86_64
 * offsets) and that netif has no 32/64-bit difference.
 */
#if !defined(__i386__)
#error "compile with -m32"
#endif
#include <stddef.h>
#include <stdint.h>

#include <xen/io/blkif.h>
#include <xen/io/netif.h>

#include <splitdrv/proto/blkif.h>
#include <splitdrv/proto/netif.h>

#define SIGNED_OF(x) ((__typeof__(x))-1 / 2 == 0)
#define FLD(t, m)    (((t *)0)->m)
#define SAME(st, sf, xt, xf)                                                                       \
	_Static_assert(offsetof(st, sf) == offsetof(xt, xf), #st "." #sf ": offset differs");      \
	_Static_assert(sizeof(FLD(st, sf)) == sizeof(FLD(xt, xf)), #st "." #sf ": size differs")
#define SAME_INT(st, sf, xt, xf)                                                                   \
	SAME(st, sf, xt, xf);                                                                      \
	_Static_assert(SIGNED_OF(FLD(st, sf)) == SIGNED_OF(FLD(xt, xf)), #st "." #sf ": sign")
#define SAME_STRUCT(st, xt)                                                                        \
	_Static_assert(sizeof(st) == sizeof(xt), #st ": size differs from Xen's i386 layout");     \
	_Static_assert(_Alignof(st) == _Alignof(xt), #st ": alignment differs")

SAME_STRUCT(struct sdrv_blkif_request_segment, struct blkif_request_segment);
SAME_STRUCT(struct sdrv_blkif_x86_32_request, struct blkif_request);
SAME_INT(struct sdrv_blkif_x86_32_request, operation, struct blkif_request, operation);
SAME_INT(struct sdrv_blkif_x86_32_request, nr_segments, struct blkif_request, nr_segments);
SAME_INT(struct sdrv_blkif_x86_32_request, handle, struct blkif_request, handle);
SAME_INT(struct sdrv_blkif_x86_32_request, id, struct blkif_request, id);
SAME_INT(struct sdrv_blkif_x86_32_request, sector_number, struct blkif_request, sector_number);
SAME(struct sdrv_blkif_x86_32_request, seg, struct blkif_request, seg);
SAME_INT(struct sdrv_blkif_x86_32_request, seg[10].gref, struct blkif_request, seg[10].gref);

SAME_STRUCT(struct sdrv_blkif_x86_32_request_discard, struct blkif_request_discard);
SAME_INT(struct sdrv_blkif_x86_32_request_discard, flag, struct blkif_request_discard, flag);
SAME_INT(struct sdrv_blkif_x86_32_request_discard, handle, struct blkif_request_discard, handle);
SAME_INT(struct sdrv_blkif_x86_32_request_discard, id, struct blkif_request_discard, id);
SAME_INT(struct sdrv_blkif_x86_32_request_discard, sector_number, struct blkif_request_discard,
	 sector_number);
SAME_INT(struct sdrv_blkif_x86_32_request_discard, nr_sectors, struct blkif_request_discard,
	 nr_sectors);

SAME_STRUCT(struct sdrv_blkif_x86_32_request_indirect, struct blkif_request_indirect);
SAME_INT(struct sdrv_blkif_x86_32_request_indirect, indirect_op, struct blkif_request_indirect,
	 indirect_op);
SAME_INT(struct sdrv_blkif_x86_32_request_indirect, nr_segments, struct blkif_request_indirect,
	 nr_segments);
SAME_INT(struct sdrv_blkif_x86_32_request_indirect, id, struct blkif_request_indirect, id);
SAME_INT(struct sdrv_blkif_x86_32_request_indirect, sector_number, struct blkif_request_indirect,
	 sector_number);
SAME_INT(struct sdrv_blkif_x86_32_request_indirect, handle, struct blkif_request_indirect, handle);
SAME(struct sdrv_blkif_x86_32_request_indirect, indirect_grefs, struct blkif_request_indirect,
     indirect_grefs);
SAME(struct sdrv_blkif_x86_32_request_indirect, _pad1, struct blkif_request_indirect, pad);

SAME_STRUCT(struct sdrv_blkif_x86_32_response, struct blkif_response);
SAME_INT(struct sdrv_blkif_x86_32_response, id, struct blkif_response, id);
SAME_INT(struct sdrv_blkif_x86_32_response, operation, struct blkif_response, operation);
SAME_INT(struct sdrv_blkif_x86_32_response, status, struct blkif_response, status);

_Static_assert(sizeof(union blkif_sring_entry) == SDRV_BLKIF_X86_32_ENTRY_SIZE, "entry size");
_Static_assert(sizeof(struct blkif_sring) == 64 + SDRV_BLKIF_X86_32_ENTRY_SIZE, "sring header");

/* The 64-bit layouts keep their x86_64 size on i386. */
_Static_assert(sizeof(struct sdrv_blkif_request) == 112, "64-bit request on i386");
_Static_assert(sizeof(struct sdrv_blkif_response) == 16, "64-bit response on i386");

/* netif: the same on both ABIs. */
SAME_STRUCT(struct sdrv_netif_tx_request, struct netif_tx_request);
SAME_STRUCT(struct sdrv_netif_tx_response, struct netif_tx_response);
SAME_STRUCT(struct sdrv_netif_rx_request, struct netif_rx_request);
SAME_STRUCT(struct sdrv_netif_rx_response, struct netif_rx_response);
SAME_STRUCT(struct sdrv_netif_extra_info, struct netif_extra_info);
SAME_STRUCT(struct sdrv_netif_ctrl_request, struct xen_netif_ctrl_request);
SAME_STRUCT(struct sdrv_netif_ctrl_response, struct xen_netif_ctrl_response);
