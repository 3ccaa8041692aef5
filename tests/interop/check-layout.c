/* SPDX-License-Identifier: MIT */
/*
 * The wire layouts of libsplitdrv equal Xen's, proven against Debian's
 * libxen-dev headers:
 *
 *  - at compile time: the shared ring header, every blkif and netif entry
 *    (offset, size and signedness of every field, struct sizes and
 *    alignment), the entry sizes and every protocol constant;
 *  - the 32-bit x86 blkif layouts against the offsets documented in
 *    shared/ref/xen-abi.md (the same structures are also compared with
 *    Xen's own i386 layout by layout-x86-32.sh, which compiles
 *    layout-x86-32.c with -m32);
 *  - at run time: ring sizes (sdrv_ring_size_for against __CONST_RING_SIZE
 *    and __RING_SIZE over a table of entry and ring sizes), a page set up
 *    by XEN_FRONT_RING_INIT against one set up by sdrv_ring_front_init
 *    (byte for byte), and blkif/netif messages written with Xen's types and
 *    read with ours through a ring, and back.
 */
#define _GNU_SOURCE
#include "xen-compat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <splitdrv/ring.h>
#include <splitdrv/proto/blkif.h>
#include <splitdrv/proto/netif.h>
#include <splitdrv/proto/xs_wire.h>

#include "../common/tutil.h"

/* ------------------------------------------------------------------------ */
/* Compile time */

/* -1 / 2 is 0 in a signed type and large in an unsigned one. */
#define SIGNED_OF(x) ((__typeof__(x))-1 / 2 == 0)
#define FLD(t, m)    (((t *)0)->m)

/* Same offset and size. */
#define SAME_AT(st, sf, xt, xf)                                                                    \
	_Static_assert(offsetof(st, sf) == offsetof(xt, xf), #st "." #sf ": offset differs");      \
	_Static_assert(sizeof(FLD(st, sf)) == sizeof(FLD(xt, xf)), #st "." #sf ": size differs")
/* Same offset, size and signedness (integer fields). */
#define SAME_INT(st, sf, xt, xf)                                                                   \
	SAME_AT(st, sf, xt, xf);                                                                   \
	_Static_assert(SIGNED_OF(FLD(st, sf)) == SIGNED_OF(FLD(xt, xf)),                           \
		       #st "." #sf ": signedness differs")
#define SAME_STRUCT(st, xt)                                                                        \
	_Static_assert(sizeof(st) == sizeof(xt), #st ": size differs");                            \
	_Static_assert(_Alignof(st) == _Alignof(xt), #st ": alignment differs")
#define SAME_CONST(s, x) _Static_assert((long)(s) == (long)(x), #s " != " #x)

/* The shared ring header, against every Xen ring type used here. */
#define SAME_SRING(xt)                                                                             \
	SAME_INT(struct sdrv_sring, req_prod, xt, req_prod);                                       \
	SAME_INT(struct sdrv_sring, req_event, xt, req_event);                                     \
	SAME_INT(struct sdrv_sring, rsp_prod, xt, rsp_prod);                                       \
	SAME_INT(struct sdrv_sring, rsp_event, xt, rsp_event);                                     \
	SAME_AT(struct sdrv_sring, pvt, xt, pvt);                                                  \
	SAME_AT(struct sdrv_sring, pvt, xt, pvt.pvt_pad);                                          \
	SAME_AT(struct sdrv_sring, pvt[0], xt, pvt.netif.smartpoll_active);                        \
	SAME_AT(struct sdrv_sring, pad, xt, __pad);                                                \
	_Static_assert(sizeof(struct sdrv_sring) == offsetof(xt, ring), #xt ": header size");      \
	_Static_assert(SDRV_RING_HDR_SIZE == offsetof(xt, ring), #xt ": entries offset")

SAME_SRING(struct blkif_sring);
SAME_SRING(struct netif_tx_sring);
SAME_SRING(struct netif_rx_sring);
SAME_SRING(struct xen_netif_ctrl_sring);
_Static_assert(sizeof(sdrv_ring_idx_t) == sizeof(RING_IDX), "RING_IDX");
_Static_assert((sdrv_ring_idx_t)-1 > 0 && (RING_IDX)-1 > 0, "RING_IDX is unsigned");
SAME_CONST(SDRV_PAGE_SIZE, 1u << XEN_PAGE_SHIFT);

/* blkif, 64-bit (native x86_64) layout. */
SAME_STRUCT(struct sdrv_blkif_request_segment, struct blkif_request_segment);
SAME_INT(struct sdrv_blkif_request_segment, gref, struct blkif_request_segment, gref);
SAME_INT(struct sdrv_blkif_request_segment, first_sect, struct blkif_request_segment, first_sect);
SAME_INT(struct sdrv_blkif_request_segment, last_sect, struct blkif_request_segment, last_sect);

SAME_STRUCT(struct sdrv_blkif_request, struct blkif_request);
SAME_INT(struct sdrv_blkif_request, operation, struct blkif_request, operation);
SAME_INT(struct sdrv_blkif_request, nr_segments, struct blkif_request, nr_segments);
SAME_INT(struct sdrv_blkif_request, handle, struct blkif_request, handle);
SAME_INT(struct sdrv_blkif_request, id, struct blkif_request, id);
SAME_INT(struct sdrv_blkif_request, sector_number, struct blkif_request, sector_number);
SAME_AT(struct sdrv_blkif_request, seg, struct blkif_request, seg);
SAME_AT(struct sdrv_blkif_request, seg[10].last_sect, struct blkif_request, seg[10].last_sect);

SAME_STRUCT(struct sdrv_blkif_request_discard, struct blkif_request_discard);
SAME_INT(struct sdrv_blkif_request_discard, operation, struct blkif_request_discard, operation);
SAME_INT(struct sdrv_blkif_request_discard, flag, struct blkif_request_discard, flag);
SAME_INT(struct sdrv_blkif_request_discard, handle, struct blkif_request_discard, handle);
SAME_INT(struct sdrv_blkif_request_discard, id, struct blkif_request_discard, id);
SAME_INT(struct sdrv_blkif_request_discard, sector_number, struct blkif_request_discard,
	 sector_number);
SAME_INT(struct sdrv_blkif_request_discard, nr_sectors, struct blkif_request_discard, nr_sectors);

SAME_STRUCT(struct sdrv_blkif_request_indirect, struct blkif_request_indirect);
SAME_INT(struct sdrv_blkif_request_indirect, operation, struct blkif_request_indirect, operation);
SAME_INT(struct sdrv_blkif_request_indirect, indirect_op, struct blkif_request_indirect,
	 indirect_op);
SAME_INT(struct sdrv_blkif_request_indirect, nr_segments, struct blkif_request_indirect,
	 nr_segments);
SAME_INT(struct sdrv_blkif_request_indirect, id, struct blkif_request_indirect, id);
SAME_INT(struct sdrv_blkif_request_indirect, sector_number, struct blkif_request_indirect,
	 sector_number);
SAME_INT(struct sdrv_blkif_request_indirect, handle, struct blkif_request_indirect, handle);
SAME_AT(struct sdrv_blkif_request_indirect, indirect_grefs, struct blkif_request_indirect,
	indirect_grefs);
SAME_INT(struct sdrv_blkif_request_indirect, indirect_grefs[0], struct blkif_request_indirect,
	 indirect_grefs[0]);

SAME_STRUCT(struct sdrv_blkif_response, struct blkif_response);
SAME_INT(struct sdrv_blkif_response, id, struct blkif_response, id);
SAME_INT(struct sdrv_blkif_response, operation, struct blkif_response, operation);
SAME_INT(struct sdrv_blkif_response, status, struct blkif_response, status);

_Static_assert(sizeof(union blkif_sring_entry) == SDRV_BLKIF_ENTRY_SIZE, "blkif entry size");

SAME_CONST(SDRV_BLKIF_OP_READ, BLKIF_OP_READ);
SAME_CONST(SDRV_BLKIF_OP_WRITE, BLKIF_OP_WRITE);
SAME_CONST(SDRV_BLKIF_OP_WRITE_BARRIER, BLKIF_OP_WRITE_BARRIER);
SAME_CONST(SDRV_BLKIF_OP_FLUSH_DISKCACHE, BLKIF_OP_FLUSH_DISKCACHE);
SAME_CONST(SDRV_BLKIF_OP_RESERVED_1, BLKIF_OP_RESERVED_1);
SAME_CONST(SDRV_BLKIF_OP_DISCARD, BLKIF_OP_DISCARD);
SAME_CONST(SDRV_BLKIF_OP_INDIRECT, BLKIF_OP_INDIRECT);
SAME_CONST(SDRV_BLKIF_RSP_EOPNOTSUPP, BLKIF_RSP_EOPNOTSUPP);
SAME_CONST(SDRV_BLKIF_RSP_ERROR, BLKIF_RSP_ERROR);
SAME_CONST(SDRV_BLKIF_RSP_OKAY, BLKIF_RSP_OKAY);
SAME_CONST(SDRV_BLKIF_MAX_SEGMENTS_PER_REQUEST, BLKIF_MAX_SEGMENTS_PER_REQUEST);
SAME_CONST(SDRV_BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST, BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST);
SAME_CONST(SDRV_BLKIF_SEGS_PER_INDIRECT_FRAME,
	   (1u << XEN_PAGE_SHIFT) / sizeof(struct blkif_request_segment));
SAME_CONST(SDRV_BLKIF_DISCARD_SECURE, BLKIF_DISCARD_SECURE);
SAME_CONST(SDRV_BLKIF_VDISK_CDROM, VDISK_CDROM);
SAME_CONST(SDRV_BLKIF_VDISK_REMOVABLE, VDISK_REMOVABLE);
SAME_CONST(SDRV_BLKIF_VDISK_READONLY, VDISK_READONLY);
_Static_assert(sizeof(SDRV_IO_PROTO_ABI_X86_32) == sizeof(XEN_IO_PROTO_ABI_X86_32), "abi name");
_Static_assert(sizeof(SDRV_IO_PROTO_ABI_X86_64) == sizeof(XEN_IO_PROTO_ABI_X86_64), "abi name");
_Static_assert(sizeof(SDRV_IO_PROTO_ABI_ARM) == sizeof(XEN_IO_PROTO_ABI_ARM), "abi name");

/* blkif, 32-bit x86 layout: the offsets of xen-abi.md section 3 (and of
 * Linux blkback's blkif_x86_32_* structures). Compared with Xen's own i386
 * headers by layout-x86-32.sh. */
#define AT(t, m, off) _Static_assert(offsetof(t, m) == (off), #t "." #m " offset")
_Static_assert(sizeof(struct sdrv_blkif_x86_32_request) == 108, "x86_32 request size");
_Static_assert(_Alignof(struct sdrv_blkif_x86_32_request) == 4, "x86_32 request align");
AT(struct sdrv_blkif_x86_32_request, operation, 0);
AT(struct sdrv_blkif_x86_32_request, nr_segments, 1);
AT(struct sdrv_blkif_x86_32_request, handle, 2);
AT(struct sdrv_blkif_x86_32_request, id, 4);
AT(struct sdrv_blkif_x86_32_request, sector_number, 12);
AT(struct sdrv_blkif_x86_32_request, seg, 20);
_Static_assert(sizeof(struct sdrv_blkif_x86_32_request_discard) == 28, "x86_32 discard size");
AT(struct sdrv_blkif_x86_32_request_discard, flag, 1);
AT(struct sdrv_blkif_x86_32_request_discard, handle, 2);
AT(struct sdrv_blkif_x86_32_request_discard, id, 4);
AT(struct sdrv_blkif_x86_32_request_discard, sector_number, 12);
AT(struct sdrv_blkif_x86_32_request_discard, nr_sectors, 20);
_Static_assert(sizeof(struct sdrv_blkif_x86_32_request_indirect) == 64, "x86_32 indirect size");
AT(struct sdrv_blkif_x86_32_request_indirect, indirect_op, 1);
AT(struct sdrv_blkif_x86_32_request_indirect, nr_segments, 2);
AT(struct sdrv_blkif_x86_32_request_indirect, id, 4);
AT(struct sdrv_blkif_x86_32_request_indirect, sector_number, 12);
AT(struct sdrv_blkif_x86_32_request_indirect, handle, 20);
AT(struct sdrv_blkif_x86_32_request_indirect, indirect_grefs, 24);
_Static_assert(sizeof(struct sdrv_blkif_x86_32_response) == 12, "x86_32 response size");
AT(struct sdrv_blkif_x86_32_response, id, 0);
AT(struct sdrv_blkif_x86_32_response, operation, 8);
AT(struct sdrv_blkif_x86_32_response, status, 10);
_Static_assert(SDRV_BLKIF_X86_32_ENTRY_SIZE == sizeof(struct sdrv_blkif_x86_32_request),
	       "x86_32 entry size");

/* netif */
SAME_STRUCT(struct sdrv_netif_tx_request, struct netif_tx_request);
SAME_INT(struct sdrv_netif_tx_request, gref, struct netif_tx_request, gref);
SAME_INT(struct sdrv_netif_tx_request, offset, struct netif_tx_request, offset);
SAME_INT(struct sdrv_netif_tx_request, flags, struct netif_tx_request, flags);
SAME_INT(struct sdrv_netif_tx_request, id, struct netif_tx_request, id);
SAME_INT(struct sdrv_netif_tx_request, size, struct netif_tx_request, size);

SAME_STRUCT(struct sdrv_netif_tx_response, struct netif_tx_response);
SAME_INT(struct sdrv_netif_tx_response, id, struct netif_tx_response, id);
SAME_INT(struct sdrv_netif_tx_response, status, struct netif_tx_response, status);

SAME_STRUCT(struct sdrv_netif_rx_request, struct netif_rx_request);
SAME_INT(struct sdrv_netif_rx_request, id, struct netif_rx_request, id);
SAME_INT(struct sdrv_netif_rx_request, _pad0, struct netif_rx_request, pad);
SAME_INT(struct sdrv_netif_rx_request, gref, struct netif_rx_request, gref);

SAME_STRUCT(struct sdrv_netif_rx_response, struct netif_rx_response);
SAME_INT(struct sdrv_netif_rx_response, id, struct netif_rx_response, id);
SAME_INT(struct sdrv_netif_rx_response, offset, struct netif_rx_response, offset);
SAME_INT(struct sdrv_netif_rx_response, flags, struct netif_rx_response, flags);
SAME_INT(struct sdrv_netif_rx_response, status, struct netif_rx_response, status);

SAME_STRUCT(struct sdrv_netif_extra_info, struct netif_extra_info);
SAME_INT(struct sdrv_netif_extra_info, type, struct netif_extra_info, type);
SAME_INT(struct sdrv_netif_extra_info, flags, struct netif_extra_info, flags);
SAME_AT(struct sdrv_netif_extra_info, u, struct netif_extra_info, u);
SAME_INT(struct sdrv_netif_extra_info, u.gso.size, struct netif_extra_info, u.gso.size);
SAME_INT(struct sdrv_netif_extra_info, u.gso.type, struct netif_extra_info, u.gso.type);
SAME_INT(struct sdrv_netif_extra_info, u.gso.pad, struct netif_extra_info, u.gso.pad);
SAME_INT(struct sdrv_netif_extra_info, u.gso.features, struct netif_extra_info, u.gso.features);
SAME_AT(struct sdrv_netif_extra_info, u.mcast.addr, struct netif_extra_info, u.mcast.addr);
SAME_INT(struct sdrv_netif_extra_info, u.hash.type, struct netif_extra_info, u.hash.type);
SAME_INT(struct sdrv_netif_extra_info, u.hash.algorithm, struct netif_extra_info, u.hash.algorithm);
SAME_AT(struct sdrv_netif_extra_info, u.hash.value, struct netif_extra_info, u.hash.value);
SAME_AT(struct sdrv_netif_extra_info, u.pad, struct netif_extra_info, u.pad);
_Static_assert(sizeof(struct sdrv_netif_extra_info) <= sizeof(struct netif_tx_request) &&
		   sizeof(struct sdrv_netif_extra_info) <= sizeof(struct netif_rx_response),
	       "extra info fits the slots it replaces");

SAME_STRUCT(struct sdrv_netif_ctrl_request, struct xen_netif_ctrl_request);
SAME_INT(struct sdrv_netif_ctrl_request, id, struct xen_netif_ctrl_request, id);
SAME_INT(struct sdrv_netif_ctrl_request, type, struct xen_netif_ctrl_request, type);
SAME_AT(struct sdrv_netif_ctrl_request, data, struct xen_netif_ctrl_request, data);
SAME_INT(struct sdrv_netif_ctrl_request, data[2], struct xen_netif_ctrl_request, data[2]);
SAME_STRUCT(struct sdrv_netif_ctrl_response, struct xen_netif_ctrl_response);
SAME_INT(struct sdrv_netif_ctrl_response, id, struct xen_netif_ctrl_response, id);
SAME_INT(struct sdrv_netif_ctrl_response, type, struct xen_netif_ctrl_response, type);
SAME_INT(struct sdrv_netif_ctrl_response, status, struct xen_netif_ctrl_response, status);
SAME_INT(struct sdrv_netif_ctrl_response, data, struct xen_netif_ctrl_response, data);
SAME_STRUCT(struct sdrv_netif_gref, struct xen_netif_gref);
SAME_INT(struct sdrv_netif_gref, ref, struct xen_netif_gref, ref);
SAME_INT(struct sdrv_netif_gref, flags, struct xen_netif_gref, flags);
SAME_INT(struct sdrv_netif_gref, status, struct xen_netif_gref, status);

_Static_assert(sizeof(union netif_tx_sring_entry) == SDRV_NETIF_TX_ENTRY_SIZE, "tx entry");
_Static_assert(sizeof(union netif_rx_sring_entry) == SDRV_NETIF_RX_ENTRY_SIZE, "rx entry");
_Static_assert(sizeof(union xen_netif_ctrl_sring_entry) == SDRV_NETIF_CTRL_ENTRY_SIZE, "ctrl");

SAME_CONST(SDRV_NETIF_NR_SLOTS_MIN, XEN_NETIF_NR_SLOTS_MIN);
SAME_CONST(SDRV_NETIF_MAX_TX_SIZE, XEN_NETIF_MAX_TX_SIZE);
SAME_CONST(SDRV_NETTXF_CSUM_BLANK, NETTXF_csum_blank);
SAME_CONST(SDRV_NETTXF_DATA_VALIDATED, NETTXF_data_validated);
SAME_CONST(SDRV_NETTXF_MORE_DATA, NETTXF_more_data);
SAME_CONST(SDRV_NETTXF_EXTRA_INFO, NETTXF_extra_info);
SAME_CONST(SDRV_NETRXF_DATA_VALIDATED, NETRXF_data_validated);
SAME_CONST(SDRV_NETRXF_CSUM_BLANK, NETRXF_csum_blank);
SAME_CONST(SDRV_NETRXF_MORE_DATA, NETRXF_more_data);
SAME_CONST(SDRV_NETRXF_EXTRA_INFO, NETRXF_extra_info);
SAME_CONST(SDRV_NETRXF_GSO_PREFIX, NETRXF_gso_prefix);
SAME_CONST(SDRV_NETIF_EXTRA_TYPE_NONE, XEN_NETIF_EXTRA_TYPE_NONE);
SAME_CONST(SDRV_NETIF_EXTRA_TYPE_GSO, XEN_NETIF_EXTRA_TYPE_GSO);
SAME_CONST(SDRV_NETIF_EXTRA_TYPE_MCAST_ADD, XEN_NETIF_EXTRA_TYPE_MCAST_ADD);
SAME_CONST(SDRV_NETIF_EXTRA_TYPE_MCAST_DEL, XEN_NETIF_EXTRA_TYPE_MCAST_DEL);
SAME_CONST(SDRV_NETIF_EXTRA_TYPE_HASH, XEN_NETIF_EXTRA_TYPE_HASH);
SAME_CONST(SDRV_NETIF_EXTRA_TYPE_MAX, XEN_NETIF_EXTRA_TYPE_MAX);
SAME_CONST(SDRV_NETIF_EXTRA_FLAG_MORE, XEN_NETIF_EXTRA_FLAG_MORE);
SAME_CONST(SDRV_NETIF_GSO_TYPE_NONE, XEN_NETIF_GSO_TYPE_NONE);
SAME_CONST(SDRV_NETIF_GSO_TYPE_TCPV4, XEN_NETIF_GSO_TYPE_TCPV4);
SAME_CONST(SDRV_NETIF_GSO_TYPE_TCPV6, XEN_NETIF_GSO_TYPE_TCPV6);
SAME_CONST(SDRV_NETIF_RSP_DROPPED, NETIF_RSP_DROPPED);
SAME_CONST(SDRV_NETIF_RSP_ERROR, NETIF_RSP_ERROR);
SAME_CONST(SDRV_NETIF_RSP_OKAY, NETIF_RSP_OKAY);
SAME_CONST(SDRV_NETIF_RSP_NULL, NETIF_RSP_NULL);
SAME_CONST(SDRV_NETIF_CTRL_TYPE_INVALID, XEN_NETIF_CTRL_TYPE_INVALID);
SAME_CONST(SDRV_NETIF_CTRL_TYPE_GET_HASH_FLAGS, XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS);
SAME_CONST(SDRV_NETIF_CTRL_TYPE_SET_HASH_FLAGS, XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS);
SAME_CONST(SDRV_NETIF_CTRL_TYPE_SET_HASH_KEY, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY);
SAME_CONST(SDRV_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE, XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE);
SAME_CONST(SDRV_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE);
SAME_CONST(SDRV_NETIF_CTRL_TYPE_SET_HASH_MAPPING, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING);
SAME_CONST(SDRV_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM, XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM);
SAME_CONST(SDRV_NETIF_CTRL_TYPE_GET_GREF_MAPPING_SIZE, XEN_NETIF_CTRL_TYPE_GET_GREF_MAPPING_SIZE);
SAME_CONST(SDRV_NETIF_CTRL_TYPE_ADD_GREF_MAPPING, XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING);
SAME_CONST(SDRV_NETIF_CTRL_TYPE_DEL_GREF_MAPPING, XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING);
SAME_CONST(SDRV_NETIF_CTRL_STATUS_SUCCESS, XEN_NETIF_CTRL_STATUS_SUCCESS);
SAME_CONST(SDRV_NETIF_CTRL_STATUS_NOT_SUPPORTED, XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED);
SAME_CONST(SDRV_NETIF_CTRL_STATUS_INVALID_PARAMETER, XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
SAME_CONST(SDRV_NETIF_CTRL_STATUS_BUFFER_OVERFLOW, XEN_NETIF_CTRL_STATUS_BUFFER_OVERFLOW);
SAME_CONST(SDRV_NETIF_CTRL_HASH_TYPE_IPV4, XEN_NETIF_CTRL_HASH_TYPE_IPV4);
SAME_CONST(SDRV_NETIF_CTRL_HASH_TYPE_IPV4_TCP, XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP);
SAME_CONST(SDRV_NETIF_CTRL_HASH_TYPE_IPV6, XEN_NETIF_CTRL_HASH_TYPE_IPV6);
SAME_CONST(SDRV_NETIF_CTRL_HASH_TYPE_IPV6_TCP, XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP);
SAME_CONST(SDRV_NETIF_CTRL_HASH_ALGORITHM_NONE, XEN_NETIF_CTRL_HASH_ALGORITHM_NONE);
SAME_CONST(SDRV_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ, XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ);
SAME_CONST(SDRV_NETIF_CTRLF_GREF_READONLY, XEN_NETIF_CTRLF_GREF_readonly);

/* ------------------------------------------------------------------------ */
/* Run time */

static int failures;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);            \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

static void check_abi_names(void)
{
	CHECK(strcmp(SDRV_IO_PROTO_ABI_X86_32, XEN_IO_PROTO_ABI_X86_32) == 0, "x86_32 name");
	CHECK(strcmp(SDRV_IO_PROTO_ABI_X86_64, XEN_IO_PROTO_ABI_X86_64) == 0, "x86_64 name");
	CHECK(strcmp(SDRV_IO_PROTO_ABI_ARM, XEN_IO_PROTO_ABI_ARM) == 0, "arm name");
}

/* __CONST_RING_SIZE of Xen's protocol rings against sdrv_ring_size_for. */
static void check_proto_ring_sizes(void)
{
	unsigned order;

#define ONE(tag, esz)                                                                              \
	do {                                                                                       \
		unsigned long xen =                                                                \
		    __CONST_RING_SIZE(tag, (unsigned long)SDRV_PAGE_SIZE << order);                \
		uint32_t ours = sdrv_ring_size_for(SDRV_RING_BYTES(order), (esz));                 \
		CHECK(xen == ours, "%s order %u: Xen %lu entries, sdrv_ring_size_for %u", #tag,    \
		      order, xen, ours);                                                           \
	} while (0)
	for (order = 0; order <= 8; order++) {
		ONE(blkif, SDRV_BLKIF_ENTRY_SIZE);
		ONE(netif_tx, SDRV_NETIF_TX_ENTRY_SIZE);
		ONE(netif_rx, SDRV_NETIF_RX_ENTRY_SIZE);
		ONE(xen_netif_ctrl, SDRV_NETIF_CTRL_ENTRY_SIZE);
	}
#undef ONE
	/* The values of xen-abi.md, so a common mistake in both cannot hide. */
	CHECK(sdrv_ring_size_for(4096, SDRV_BLKIF_ENTRY_SIZE) == 32, "blkif 1 page");
	CHECK(sdrv_ring_size_for(4096 * 16, SDRV_BLKIF_ENTRY_SIZE) == 512, "blkif 16 pages");
	CHECK(sdrv_ring_size_for(4096, SDRV_BLKIF_X86_32_ENTRY_SIZE) == 32, "blkif x86_32");
	CHECK(sdrv_ring_size_for(4096, SDRV_NETIF_TX_ENTRY_SIZE) == 256, "netif tx");
	CHECK(sdrv_ring_size_for(4096, SDRV_NETIF_RX_ENTRY_SIZE) == 256, "netif rx");
	CHECK(sdrv_ring_size_for(4096, SDRV_NETIF_CTRL_ENTRY_SIZE) == 128, "netif ctrl");
}

/* __RING_SIZE over a table of entry sizes: one Xen ring type per size. */
/* clang-format cannot settle on a layout for this list: */
/* clang-format off */
#define ENTRY_SIZES(X) \
	X(1) X(2) X(3) X(4) X(5) X(7) X(8) X(12) X(16) X(24) X(31) X(32) X(48) X(63) X(64) \
	X(65) X(100) X(108) X(112) X(127) X(128) X(200) X(255) X(256) X(1000) X(1008) \
	X(2015) X(2016) X(2017) X(2048) X(4032) X(4033) X(8128) X(8129) X(65536)
/* clang-format on */

#define DEFINE_SIZED(n)                                                                            \
	struct sized##n {                                                                          \
		unsigned char b[n];                                                                \
	};                                                                                         \
	DEFINE_RING_TYPES(sized##n, struct sized##n, struct sized##n);
ENTRY_SIZES(DEFINE_SIZED)

static const size_t ring_bytes[] = {
    64,	      65,	 100,	    127,	128,
    4095,     4096,	 4097,	    8192,	3 * 4096,
    5 * 4096, 4096 << 4, 4096 << 8, 4096 << 10, (4096 << 10) + 4096 * 3,
};

static void check_ring_size_table(void)
{
	static uint64_t page[512] __attribute__((aligned(64)));
	size_t i;
	unsigned checked = 0;

	for (i = 0; i < sizeof(ring_bytes) / sizeof(ring_bytes[0]); i++) {
		size_t sz = ring_bytes[i];
#define ONE(n)                                                                                     \
	do {                                                                                       \
		struct sized##n##_sring *s = (struct sized##n##_sring *)page;                      \
		unsigned long xen = (unsigned long)__RING_SIZE(s, sz);                             \
		uint32_t ours = sdrv_ring_size_for(sz, n);                                         \
		_Static_assert(sizeof(union sized##n##_sring_entry) == n, "entry " #n);            \
		CHECK(xen == ours, "%zu bytes, entry %u: Xen __RING_SIZE %lu, sdrv %u", sz, n,     \
		      xen, ours);                                                                  \
		checked++;                                                                         \
	} while (0);
		ENTRY_SIZES(ONE)
#undef ONE
	}
	CHECK(checked > 400, "only %u ring sizes checked", checked);
	/* A ring smaller than its header, and a zero entry size, have no entries. */
	CHECK(sdrv_ring_size_for(63, 1) == 0, "63 bytes");
	CHECK(sdrv_ring_size_for(4096, 0) == 0, "entry size 0");
}

/* XEN_FRONT_RING_INIT and sdrv_ring_front_init leave identical pages. */
static void check_front_init(unsigned order)
{
	size_t bytes = SDRV_RING_BYTES(order);
	unsigned char *a = tu_shared_mem(bytes), *b = tu_shared_mem(bytes);
	unsigned char *before = malloc(bytes);
	uint64_t rng = 0x1234567 + order;
	struct blkif_front_ring xf;
	struct blkif_back_ring xb;
	struct sdrv_ring f, bk;
	size_t i;

	if (!before)
		abort();
	/* The same garbage everywhere: the header must come out byte for
	 * byte as Xen's init leaves it; the entries, which Xen's init leaves
	 * alone, are zeroed by ours (stale frontend memory never reaches the
	 * backend, XSA-403). */
	for (i = 0; i < bytes; i++)
		a[i] = (unsigned char)tu_rand(&rng);
	memcpy(b, a, bytes);
	memcpy(before, a, bytes);

	XEN_FRONT_RING_INIT(&xf, (struct blkif_sring *)a, bytes);
	CHECK(sdrv_ring_front_init(&f, b, bytes, SDRV_BLKIF_ENTRY_SIZE) == 0, "front_init");
	for (i = 0; i < SDRV_RING_HDR_SIZE && a[i] == b[i]; i++)
		;
	CHECK(i == SDRV_RING_HDR_SIZE,
	      "order %u: headers differ at byte %zu after init: Xen %#x, sdrv %#x", order, i,
	      i < SDRV_RING_HDR_SIZE ? a[i] : 0, i < SDRV_RING_HDR_SIZE ? b[i] : 0);
	CHECK(memcmp(a + SDRV_RING_HDR_SIZE, before + SDRV_RING_HDR_SIZE,
		     bytes - SDRV_RING_HDR_SIZE) == 0,
	      "order %u: Xen's init wrote into the entries", order);
	for (i = SDRV_RING_HDR_SIZE; i < bytes && b[i] == 0; i++)
		;
	CHECK(i == bytes, "order %u: byte %zu after the header not zeroed by front_init", order, i);
	/* From here on both pages must stay identical: start from the same. */
	memcpy(a + SDRV_RING_HDR_SIZE, b + SDRV_RING_HDR_SIZE, bytes - SDRV_RING_HDR_SIZE);
	CHECK(xf.nr_ents == sdrv_ring_nr_ents(&f), "order %u: nr_ents Xen %u sdrv %u", order,
	      xf.nr_ents, sdrv_ring_nr_ents(&f));
	CHECK(RING_FREE_REQUESTS(&xf) == sdrv_ring_front_free(&f), "order %u: free", order);

	/* The backend's attach writes nothing, as BACK_RING_INIT. */
	memcpy(before, b, bytes);
	BACK_RING_INIT(&xb, (struct blkif_sring *)a, bytes);
	CHECK(sdrv_ring_back_attach(&bk, b, bytes, SDRV_BLKIF_ENTRY_SIZE, 0) == 0, "back_attach");
	CHECK(memcmp(b, before, bytes) == 0 && memcmp(a, before, bytes) == 0,
	      "order %u: back attach wrote to the page", order);
	CHECK(xb.nr_ents == sdrv_ring_nr_ents(&bk), "order %u: back nr_ents", order);

	/* Re-initialising a used ring resets it the same way. */
	memset(a, 0x5a, SDRV_RING_HDR_SIZE);
	memset(b, 0x5a, SDRV_RING_HDR_SIZE);
	XEN_FRONT_RING_INIT(&xf, (struct blkif_sring *)a, bytes);
	CHECK(sdrv_ring_front_init(&f, b, bytes, SDRV_BLKIF_ENTRY_SIZE) == 0, "front_init");
	CHECK(memcmp(a, b, SDRV_RING_HDR_SIZE) == 0, "order %u: re-init headers differ", order);

	free(before);
	tu_shared_free(a, bytes);
	tu_shared_free(b, bytes);
}

/* Our typed ring over our blkif types, Xen's macros over Xen's types. */
SDRV_RING_DEFINE(tblk, struct sdrv_blkif_request, struct sdrv_blkif_response);
SDRV_RING_DEFINE(ttx, struct sdrv_netif_tx_request, struct sdrv_netif_tx_response);
_Static_assert(sizeof(union tblk_entry) == sizeof(union blkif_sring_entry), "typed blkif entry");
_Static_assert(sizeof(union ttx_entry) == sizeof(union netif_tx_sring_entry), "typed tx entry");

/* A Xen blkif frontend sends requests; our backend decodes them field by
 * field and answers; the Xen frontend decodes the answers. */
static void check_blkif_messages(void)
{
	void *page = tu_shared_mem(4096);
	struct blkif_front_ring xf;
	struct tblk_back b;
	struct sdrv_blkif_request got[4];
	struct blkif_response rsp;
	struct blkif_request *rq;
	struct blkif_request_discard *dq;
	struct blkif_request_indirect *iq;
	int notify, i;

	XEN_FRONT_RING_INIT(&xf, (struct blkif_sring *)page, 4096);
	CHECK(tblk_back_attach(&b, page, 4096, 0) == 0, "attach");

	rq = RING_GET_REQUEST(&xf, xf.req_prod_pvt++);
	memset(rq, 0, sizeof(*rq));
	rq->operation = BLKIF_OP_WRITE;
	rq->nr_segments = BLKIF_MAX_SEGMENTS_PER_REQUEST;
	rq->handle = 0xbeef;
	rq->id = 0x0102030405060708ull;
	rq->sector_number = 0xfedcba9876543210ull;
	for (i = 0; i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++) {
		rq->seg[i].gref = 0x1000u + (unsigned)i;
		rq->seg[i].first_sect = (uint8_t)(i % 8);
		rq->seg[i].last_sect = 7;
	}
	dq = (struct blkif_request_discard *)RING_GET_REQUEST(&xf, xf.req_prod_pvt++);
	memset(dq, 0, sizeof(struct blkif_request));
	dq->operation = BLKIF_OP_DISCARD;
	dq->flag = BLKIF_DISCARD_SECURE;
	dq->handle = 3;
	dq->id = 77;
	dq->sector_number = 1ull << 40;
	dq->nr_sectors = 0x1122334455ull;
	iq = (struct blkif_request_indirect *)RING_GET_REQUEST(&xf, xf.req_prod_pvt++);
	memset(iq, 0, sizeof(struct blkif_request));
	iq->operation = BLKIF_OP_INDIRECT;
	iq->indirect_op = BLKIF_OP_READ;
	iq->nr_segments = 4000;
	iq->id = ~0ull;
	iq->sector_number = 12345;
	iq->handle = 0x7777;
	for (i = 0; i < BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST; i++)
		iq->indirect_grefs[i] = 0xabc00000u + (unsigned)i;
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&xf, notify);
	CHECK(notify, "first push notifies");

	CHECK(tblk_back_take_reqs(&b, got, 4) == 3, "three requests");
	CHECK(got[0].operation == SDRV_BLKIF_OP_WRITE && got[0].nr_segments == 11 &&
		  got[0].handle == 0xbeef && got[0].id == 0x0102030405060708ull &&
		  got[0].sector_number == 0xfedcba9876543210ull,
	      "read/write request fields");
	for (i = 0; i < SDRV_BLKIF_MAX_SEGMENTS_PER_REQUEST; i++)
		CHECK(got[0].seg[i].gref == 0x1000u + (unsigned)i &&
			  got[0].seg[i].first_sect == i % 8 && got[0].seg[i].last_sect == 7,
		      "segment %d", i);
	{
		struct sdrv_blkif_request_discard d;
		struct sdrv_blkif_request_indirect ind;

		memcpy(&d, &got[1], sizeof(d));
		memcpy(&ind, &got[2], sizeof(ind));
		CHECK(d.operation == SDRV_BLKIF_OP_DISCARD && d.flag == SDRV_BLKIF_DISCARD_SECURE &&
			  d.handle == 3 && d.id == 77 && d.sector_number == 1ull << 40 &&
			  d.nr_sectors == 0x1122334455ull,
		      "discard request fields");
		CHECK(ind.operation == SDRV_BLKIF_OP_INDIRECT &&
			  ind.indirect_op == SDRV_BLKIF_OP_READ && ind.nr_segments == 4000 &&
			  ind.id == ~0ull && ind.sector_number == 12345 && ind.handle == 0x7777,
		      "indirect request fields");
		for (i = 0; i < SDRV_BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST; i++)
			CHECK(ind.indirect_grefs[i] == 0xabc00000u + (unsigned)i,
			      "indirect gref %d", i);
	}
	for (i = 0; i < 3; i++) {
		struct sdrv_blkif_response *r = tblk_back_next_rsp(&b);
		r->id = got[i].id;
		r->operation = got[i].operation;
		r->status = (int16_t)(i == 0   ? SDRV_BLKIF_RSP_OKAY
				      : i == 1 ? SDRV_BLKIF_RSP_EOPNOTSUPP
					       : SDRV_BLKIF_RSP_ERROR);
	}
	CHECK(tblk_back_push(&b), "response push notifies (rsp_event 1)");
	for (i = 0; i < 3; i++) {
		RING_COPY_RESPONSE(&xf, xf.rsp_cons, &rsp);
		xf.rsp_cons++;
		CHECK(rsp.id == (i == 0	  ? 0x0102030405060708ull
				 : i == 1 ? 77
					  : ~0ull),
		      "response %d id", i);
		CHECK(rsp.operation == (i == 0	 ? BLKIF_OP_WRITE
					: i == 1 ? BLKIF_OP_DISCARD
						 : BLKIF_OP_INDIRECT),
		      "response %d op", i);
		CHECK(rsp.status == (i == 0   ? BLKIF_RSP_OKAY
				     : i == 1 ? BLKIF_RSP_EOPNOTSUPP
					      : BLKIF_RSP_ERROR),
		      "response %d status %d", i, rsp.status);
	}
	CHECK(xf.rsp_cons == xf.sring->rsp_prod, "all responses read");
	tu_shared_free(page, 4096);
}

/* Our netif frontend sends a packet with an extra-info slot; a Xen backend
 * reads it with Xen's types. */
static void check_netif_messages(void)
{
	void *page = tu_shared_mem(4096);
	struct ttx_front f;
	struct netif_tx_back_ring xb;
	struct sdrv_netif_tx_request *t;
	struct sdrv_netif_extra_info *e;
	struct sdrv_netif_tx_response rsp[2];
	struct netif_tx_request q;
	struct netif_extra_info xe;
	struct netif_tx_response *xr;
	int notify;

	CHECK(ttx_front_init(&f, page, 4096) == 0, "init");
	BACK_RING_INIT(&xb, (struct netif_tx_sring *)page, 4096);
	t = ttx_front_next_req(&f);
	t->gref = 0xcafe0001u;
	t->offset = 0x123;
	t->flags = SDRV_NETTXF_CSUM_BLANK | SDRV_NETTXF_EXTRA_INFO;
	t->id = 9;
	t->size = 1514;
	e = (struct sdrv_netif_extra_info *)ttx_front_next_req(&f);
	e->type = SDRV_NETIF_EXTRA_TYPE_GSO;
	e->flags = 0;
	e->u.gso.size = 1448;
	e->u.gso.type = SDRV_NETIF_GSO_TYPE_TCPV6;
	e->u.gso.features = 0;
	CHECK(ttx_front_push(&f), "push notifies");

	CHECK(xb.sring->req_prod == 2, "two slots published");
	RING_COPY_REQUEST(&xb, xb.req_cons, &q);
	xb.req_cons++;
	CHECK(q.gref == 0xcafe0001u && q.offset == 0x123 &&
		  q.flags == (NETTXF_csum_blank | NETTXF_extra_info) && q.id == 9 && q.size == 1514,
	      "tx request fields");
	memcpy(&xe, RING_GET_REQUEST(&xb, xb.req_cons), sizeof(xe));
	xb.req_cons++;
	CHECK(xe.type == XEN_NETIF_EXTRA_TYPE_GSO && xe.u.gso.size == 1448 &&
		  xe.u.gso.type == XEN_NETIF_GSO_TYPE_TCPV6,
	      "extra info fields");
	xr = RING_GET_RESPONSE(&xb, xb.rsp_prod_pvt++);
	xr->id = 9;
	xr->status = NETIF_RSP_DROPPED;
	xr = RING_GET_RESPONSE(&xb, xb.rsp_prod_pvt++);
	xr->id = 0;
	xr->status = NETIF_RSP_NULL;
	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&xb, notify);
	CHECK(notify, "response push notifies");
	CHECK(ttx_front_take_rsps(&f, rsp, 2) == 2, "two responses");
	CHECK(rsp[0].id == 9 && rsp[0].status == SDRV_NETIF_RSP_DROPPED, "tx response 0");
	CHECK(rsp[1].status == SDRV_NETIF_RSP_NULL, "tx response 1");
	tu_shared_free(page, 4096);
}

int main(void)
{
	unsigned order;

	tu_watchdog(60, "check-layout");
	check_abi_names();
	check_proto_ring_sizes();
	check_ring_size_table();
	for (order = 0; order <= 4; order++)
		check_front_init(order);
	check_front_init(8);
	check_blkif_messages();
	check_netif_messages();
	if (failures) {
		fprintf(stderr, "check-layout: %d check(s) failed\n", failures);
		return TU_FAIL;
	}
	printf("PASS: sring header, blkif and netif layouts, constants, ring sizes and ring "
	       "initialisation equal Xen's (libxen-dev)\n");
	return TU_PASS;
}

/* xenstore wire protocol */
SAME_STRUCT(struct sdrv_xs_msg, struct xsd_sockmsg);
SAME_INT(struct sdrv_xs_msg, type, struct xsd_sockmsg, type);
SAME_INT(struct sdrv_xs_msg, req_id, struct xsd_sockmsg, req_id);
SAME_INT(struct sdrv_xs_msg, tx_id, struct xsd_sockmsg, tx_id);
SAME_INT(struct sdrv_xs_msg, len, struct xsd_sockmsg, len);
SAME_STRUCT(struct sdrv_xs_domain_interface, struct xenstore_domain_interface);
SAME_AT(struct sdrv_xs_domain_interface, req, struct xenstore_domain_interface, req);
SAME_AT(struct sdrv_xs_domain_interface, rsp, struct xenstore_domain_interface, rsp);
SAME_INT(struct sdrv_xs_domain_interface, req_cons, struct xenstore_domain_interface, req_cons);
SAME_INT(struct sdrv_xs_domain_interface, req_prod, struct xenstore_domain_interface, req_prod);
SAME_INT(struct sdrv_xs_domain_interface, rsp_cons, struct xenstore_domain_interface, rsp_cons);
SAME_INT(struct sdrv_xs_domain_interface, rsp_prod, struct xenstore_domain_interface, rsp_prod);
SAME_INT(struct sdrv_xs_domain_interface, server_features, struct xenstore_domain_interface,
	 server_features);
SAME_INT(struct sdrv_xs_domain_interface, connection, struct xenstore_domain_interface, connection);
SAME_INT(struct sdrv_xs_domain_interface, error, struct xenstore_domain_interface, error);
SAME_CONST(SDRV_XS_CONTROL, XS_CONTROL);
SAME_CONST(SDRV_XS_DIRECTORY, XS_DIRECTORY);
SAME_CONST(SDRV_XS_READ, XS_READ);
SAME_CONST(SDRV_XS_GET_PERMS, XS_GET_PERMS);
SAME_CONST(SDRV_XS_WATCH, XS_WATCH);
SAME_CONST(SDRV_XS_UNWATCH, XS_UNWATCH);
SAME_CONST(SDRV_XS_TRANSACTION_START, XS_TRANSACTION_START);
SAME_CONST(SDRV_XS_TRANSACTION_END, XS_TRANSACTION_END);
SAME_CONST(SDRV_XS_INTRODUCE, XS_INTRODUCE);
SAME_CONST(SDRV_XS_RELEASE, XS_RELEASE);
SAME_CONST(SDRV_XS_GET_DOMAIN_PATH, XS_GET_DOMAIN_PATH);
SAME_CONST(SDRV_XS_WRITE, XS_WRITE);
SAME_CONST(SDRV_XS_MKDIR, XS_MKDIR);
SAME_CONST(SDRV_XS_RM, XS_RM);
SAME_CONST(SDRV_XS_SET_PERMS, XS_SET_PERMS);
SAME_CONST(SDRV_XS_WATCH_EVENT, XS_WATCH_EVENT);
SAME_CONST(SDRV_XS_ERROR, XS_ERROR);
SAME_CONST(SDRV_XS_IS_DOMAIN_INTRODUCED, XS_IS_DOMAIN_INTRODUCED);
SAME_CONST(SDRV_XS_RESUME, XS_RESUME);
SAME_CONST(SDRV_XS_SET_TARGET, XS_SET_TARGET);
SAME_CONST(SDRV_XS_RESET_WATCHES, XS_RESET_WATCHES);
SAME_CONST(SDRV_XS_DIRECTORY_PART, XS_DIRECTORY_PART);
SAME_CONST(SDRV_XS_TYPE_COUNT, XS_TYPE_COUNT);
SAME_CONST(SDRV_XS_INVALID, XS_INVALID);
SAME_CONST(SDRV_XS_PAYLOAD_MAX, XENSTORE_PAYLOAD_MAX);
SAME_CONST(SDRV_XS_ABS_PATH_MAX, XENSTORE_ABS_PATH_MAX);
SAME_CONST(SDRV_XS_REL_PATH_MAX, XENSTORE_REL_PATH_MAX);
SAME_CONST(SDRV_XS_WATCH_PATH, XS_WATCH_PATH);
SAME_CONST(SDRV_XS_WATCH_TOKEN, XS_WATCH_TOKEN);
SAME_CONST(SDRV_XS_RING_SIZE, XENSTORE_RING_SIZE);
SAME_CONST(SDRV_XS_SERVER_FEATURE_RECONNECTION, XENSTORE_SERVER_FEATURE_RECONNECTION);
SAME_CONST(SDRV_XS_SERVER_FEATURE_ERROR, XENSTORE_SERVER_FEATURE_ERROR);
SAME_CONST(SDRV_XS_CONNECTED, XENSTORE_CONNECTED);
SAME_CONST(SDRV_XS_RECONNECT, XENSTORE_RECONNECT);
SAME_CONST(SDRV_XS_ERROR_NONE, XENSTORE_ERROR_NONE);
SAME_CONST(SDRV_XS_ERROR_COMM, XENSTORE_ERROR_COMM);
SAME_CONST(SDRV_XS_ERROR_RINGIDX, XENSTORE_ERROR_RINGIDX);
SAME_CONST(SDRV_XS_ERROR_PROTO, XENSTORE_ERROR_PROTO);
SAME_CONST(SDRV_XENBUS_UNKNOWN, XenbusStateUnknown);
SAME_CONST(SDRV_XENBUS_INITIALISING, XenbusStateInitialising);
SAME_CONST(SDRV_XENBUS_INITWAIT, XenbusStateInitWait);
SAME_CONST(SDRV_XENBUS_INITIALISED, XenbusStateInitialised);
SAME_CONST(SDRV_XENBUS_CONNECTED, XenbusStateConnected);
SAME_CONST(SDRV_XENBUS_CLOSING, XenbusStateClosing);
SAME_CONST(SDRV_XENBUS_CLOSED, XenbusStateClosed);
SAME_CONST(SDRV_XENBUS_RECONFIGURING, XenbusStateReconfiguring);
SAME_CONST(SDRV_XENBUS_RECONFIGURED, XenbusStateReconfigured);
_Static_assert(sizeof(struct sdrv_xs_domain_interface) == 2076, "xenstore ring page size");
