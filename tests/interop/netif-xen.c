/* SPDX-License-Identifier: MIT */
/*
 * The netif codec against Xen's own netif.h (Debian libxen-dev).
 *
 *  0. layouts, at compile time, in this program and in the same source
 *     compiled with -m32 (tests/netif.mk): the size of every structure and
 *     the offset, size and signedness of every field of sdrv_netif_* equal
 *     Xen's, every constant and flag equals Xen's, and the ring sizes are
 *     __CONST_RING_SIZE's. netif has one layout for every ABI;
 *  1. one table of slots (NETIF_VECTORS: transmitted packets of one to
 *     four data slots with GSO, hash, multicast and zero-length slots;
 *     received packets with GSO and hash; control requests and responses),
 *     only Xen's names, is used both ways on real rings:
 *     - a Xen frontend (netfront's way: RING_GET_REQUEST, the extra-info
 *       cast, garbage in every byte it leaves alone) transmits, our backend
 *       decodes the packets to the table's descriptions and answers; the
 *       Xen frontend reads the answers with RING_COPY_RESPONSE (one per
 *       slot, NULL for extras, nothing else in the entry);
 *     - our frontend transmits the same packets: the entries are byte for
 *       byte what Xen's structures give in a zeroed entry; a Xen backend
 *       answers as netback's make_tx_response() does (an extra's NULL
 *       response keeps whatever id was there) and we accept the answers;
 *     - receive: a Xen frontend posts buffers, our backend delivers the
 *       table's packets into the slots of the requests it consumed, and
 *       the Xen frontend reads them as netfront does; then a Xen backend
 *       (netback's way) delivers them to our frontend, which decodes them;
 *     - the control ring both ways;
 *  2. the i386 frames: the same table written with Xen's structures under
 *     -m32 (an ELF section of netif-xen-i386.elf) is byte for byte the
 *     native table, and decodes to the same descriptions;
 *  3. sdrv_netif_toeplitz() against Xen's reference xen_netif_toeplitz_hash()
 *     (XEN_NETIF_DEFINE_TOEPLITZ) on random keys and data.
 */

/* One row per slot. TX, GSO, MC, HASH and RX rows belong to a packet
 * (`pkt`; `ring` 0 for transmit, 1 for receive); CQ and CP are control
 * requests and responses. Only Xen's names. */
#define NETIF_VECTORS(TX, GSO, MC, HASH, RX, CQ, CP)                                               \
	/* tx 0: one slot, checksum offload */                                                     \
	TX(0, 0x0000a001u, 0, NETTXF_csum_blank | NETTXF_data_validated, 1, 60)                    \
	/* tx 1: netfront's GSO shape */                                                           \
	TX(1, 0x0000a002u, 2048,                                                                   \
	   NETTXF_csum_blank | NETTXF_data_validated | NETTXF_extra_info | NETTXF_more_data, 2,    \
	   9000)                                                                                   \
	GSO(0, 1, 0, 1448, XEN_NETIF_GSO_TYPE_TCPV4, 0)                                            \
	TX(1, 0x0000a003u, 0, NETTXF_more_data, 3, 4096)                                           \
	TX(1, 0x0000a004u, 0, 0, 4, 2856)                                                          \
	/* tx 2: a hash and a zero-length slot (XSA-448) */                                        \
	TX(2, 0x0000a005u, 100, NETTXF_extra_info | NETTXF_more_data, 5, 1000)                     \
	HASH(0, 2, 0, _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP, XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ,  \
	     0x51ccc178u)                                                                          \
	TX(2, 0xffffffffu, 4096, NETTXF_more_data, 6, 0)                                           \
	TX(2, 0x0000a007u, 0, 0, 7, 900)                                                           \
	/* tx 3: a multicast request */                                                            \
	TX(3, 0, 0, NETTXF_extra_info, 8, 0)                                                       \
	MC(0, 3, XEN_NETIF_EXTRA_TYPE_MCAST_ADD, XEN_NETIF_EXTRA_FLAG_MORE, 0x11)                  \
	MC(0, 3, XEN_NETIF_EXTRA_TYPE_MCAST_DEL, 0, 0x22)                                          \
	/* tx 4: GSO over IPv6 and a hash, the first slot at its page's end */                     \
	TX(4, 0xfffffffeu, 4000, NETTXF_extra_info | NETTXF_more_data | NETTXF_csum_blank, 0xffff, \
	   4192)                                                                                   \
	GSO(0, 4, XEN_NETIF_EXTRA_FLAG_MORE, 1440, XEN_NETIF_GSO_TYPE_TCPV6, 0)                    \
	HASH(0, 4, 0, _XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP, XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ,  \
	     0x02d1feefu)                                                                          \
	TX(4, 0x0000a008u, 0, 0, 9, 4096)                                                          \
	/* rx 10: one slot */                                                                      \
	RX(10, 0, NETRXF_data_validated | NETRXF_csum_blank, 1514)                                 \
	/* rx 11: GSO, three slots */                                                              \
	RX(11, 64, NETRXF_extra_info | NETRXF_more_data | NETRXF_data_validated, 4032)             \
	GSO(1, 11, 0, 1448, XEN_NETIF_GSO_TYPE_TCPV4, 0)                                           \
	RX(11, 0, NETRXF_more_data, 4096)                                                          \
	RX(11, 0, 0, 1000)                                                                         \
	/* rx 12: GSO and a hash, a small first slot */                                            \
	RX(12, 0, NETRXF_extra_info | NETRXF_more_data, 256)                                       \
	GSO(1, 12, XEN_NETIF_EXTRA_FLAG_MORE, 9000, XEN_NETIF_GSO_TYPE_TCPV6, 0)                   \
	HASH(1, 12, 0, _XEN_NETIF_CTRL_HASH_TYPE_IPV6, XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ,     \
	     0x4b61e985u)                                                                          \
	RX(12, 0, 0, 4096)                                                                         \
	/* the control ring */                                                                     \
	CQ(1, XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM, XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ, 0,   \
	   0)                                                                                      \
	CQ(2, XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS, 0, 0, 0)                                         \
	CQ(3, XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS,                                                  \
	   XEN_NETIF_CTRL_HASH_TYPE_IPV4 | XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP, 0, 0)                \
	CQ(4, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, 0x123u, 40, 0)                                     \
	CQ(5, XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE, 0, 0, 0)                                  \
	CQ(6, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE, 128, 0, 0)                                \
	CQ(7, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, 0x124u, 64, 64)                                \
	CP(1, XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM, XEN_NETIF_CTRL_STATUS_SUCCESS, 0)            \
	CP(2, XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS, XEN_NETIF_CTRL_STATUS_SUCCESS, 0xf)              \
	CP(9, XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING, XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED, 0)        \
	CP(7, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER, 0)    \
	CP(4, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, XEN_NETIF_CTRL_STATUS_BUFFER_OVERFLOW, 0)

#define VEC_ONE(...) +1
#define NR_ROWS	     (0 NETIF_VECTORS(VEC_ONE, VEC_ONE, VEC_ONE, VEC_ONE, VEC_ONE, VEC_ONE, VEC_ONE))
#define BLOB_MAGIC   0x3146744eu /* "Ntf1" */
#define BLOB_SLOT    16u	 /* bytes per row in the blob */
#define BLOB_SECTION ".sdrv_netif_i386"

/* -------------------- layouts (both compilations) ---------------------- */

#define SIGNED_OF(x) ((__typeof__(x))-1 / 2 == 0)
#define FLD(t, m)    (((t *)0)->m)
#define SAME_AT(st, sf, xt, xf)                                                                    \
	_Static_assert(offsetof(st, sf) == offsetof(xt, xf), #st "." #sf ": offset differs");      \
	_Static_assert(sizeof(FLD(st, sf)) == sizeof(FLD(xt, xf)), #st "." #sf ": size differs")
#define SAME_INT(st, sf, xt, xf)                                                                   \
	SAME_AT(st, sf, xt, xf);                                                                   \
	_Static_assert(SIGNED_OF(FLD(st, sf)) == SIGNED_OF(FLD(xt, xf)),                           \
		       #st "." #sf ": signedness differs")
#define SAME_STRUCT(st, xt)                                                                        \
	_Static_assert(sizeof(st) == sizeof(xt), #st ": size differs");                            \
	_Static_assert(_Alignof(st) == _Alignof(xt), #st ": alignment differs")
#define SAME_CONST(s, x) _Static_assert((long)(s) == (long)(x), #s " != " #x)

#define NETIF_LAYOUT_ASSERTS                                                                       \
	SAME_STRUCT(struct sdrv_netif_tx_request, struct netif_tx_request);                        \
	SAME_INT(struct sdrv_netif_tx_request, gref, struct netif_tx_request, gref);               \
	SAME_INT(struct sdrv_netif_tx_request, offset, struct netif_tx_request, offset);           \
	SAME_INT(struct sdrv_netif_tx_request, flags, struct netif_tx_request, flags);             \
	SAME_INT(struct sdrv_netif_tx_request, id, struct netif_tx_request, id);                   \
	SAME_INT(struct sdrv_netif_tx_request, size, struct netif_tx_request, size);               \
	SAME_STRUCT(struct sdrv_netif_tx_response, struct netif_tx_response);                      \
	SAME_INT(struct sdrv_netif_tx_response, id, struct netif_tx_response, id);                 \
	SAME_INT(struct sdrv_netif_tx_response, status, struct netif_tx_response, status);         \
	SAME_STRUCT(struct sdrv_netif_rx_request, struct netif_rx_request);                        \
	SAME_INT(struct sdrv_netif_rx_request, id, struct netif_rx_request, id);                   \
	SAME_INT(struct sdrv_netif_rx_request, _pad0, struct netif_rx_request, pad);               \
	SAME_INT(struct sdrv_netif_rx_request, gref, struct netif_rx_request, gref);               \
	SAME_STRUCT(struct sdrv_netif_rx_response, struct netif_rx_response);                      \
	SAME_INT(struct sdrv_netif_rx_response, id, struct netif_rx_response, id);                 \
	SAME_INT(struct sdrv_netif_rx_response, offset, struct netif_rx_response, offset);         \
	SAME_INT(struct sdrv_netif_rx_response, flags, struct netif_rx_response, flags);           \
	SAME_INT(struct sdrv_netif_rx_response, status, struct netif_rx_response, status);         \
	SAME_STRUCT(struct sdrv_netif_extra_info, struct netif_extra_info);                        \
	SAME_INT(struct sdrv_netif_extra_info, type, struct netif_extra_info, type);               \
	SAME_INT(struct sdrv_netif_extra_info, flags, struct netif_extra_info, flags);             \
	SAME_AT(struct sdrv_netif_extra_info, u, struct netif_extra_info, u);                      \
	SAME_INT(struct sdrv_netif_extra_info, u.gso.size, struct netif_extra_info, u.gso.size);   \
	SAME_INT(struct sdrv_netif_extra_info, u.gso.type, struct netif_extra_info, u.gso.type);   \
	SAME_INT(struct sdrv_netif_extra_info, u.gso.pad, struct netif_extra_info, u.gso.pad);     \
	SAME_INT(struct sdrv_netif_extra_info, u.gso.features, struct netif_extra_info,            \
		 u.gso.features);                                                                  \
	SAME_AT(struct sdrv_netif_extra_info, u.mcast.addr, struct netif_extra_info,               \
		u.mcast.addr);                                                                     \
	SAME_INT(struct sdrv_netif_extra_info, u.hash.type, struct netif_extra_info, u.hash.type); \
	SAME_INT(struct sdrv_netif_extra_info, u.hash.algorithm, struct netif_extra_info,          \
		 u.hash.algorithm);                                                                \
	SAME_AT(struct sdrv_netif_extra_info, u.hash.value, struct netif_extra_info,               \
		u.hash.value);                                                                     \
	SAME_AT(struct sdrv_netif_extra_info, u.pad, struct netif_extra_info, u.pad);              \
	SAME_STRUCT(struct sdrv_netif_ctrl_request, struct xen_netif_ctrl_request);                \
	SAME_INT(struct sdrv_netif_ctrl_request, id, struct xen_netif_ctrl_request, id);           \
	SAME_INT(struct sdrv_netif_ctrl_request, type, struct xen_netif_ctrl_request, type);       \
	SAME_AT(struct sdrv_netif_ctrl_request, data, struct xen_netif_ctrl_request, data);        \
	SAME_INT(struct sdrv_netif_ctrl_request, data[0], struct xen_netif_ctrl_request, data[0]); \
	SAME_INT(struct sdrv_netif_ctrl_request, data[1], struct xen_netif_ctrl_request, data[1]); \
	SAME_INT(struct sdrv_netif_ctrl_request, data[2], struct xen_netif_ctrl_request, data[2]); \
	SAME_STRUCT(struct sdrv_netif_ctrl_response, struct xen_netif_ctrl_response);              \
	SAME_INT(struct sdrv_netif_ctrl_response, id, struct xen_netif_ctrl_response, id);         \
	SAME_INT(struct sdrv_netif_ctrl_response, type, struct xen_netif_ctrl_response, type);     \
	SAME_INT(struct sdrv_netif_ctrl_response, status, struct xen_netif_ctrl_response, status); \
	SAME_INT(struct sdrv_netif_ctrl_response, data, struct xen_netif_ctrl_response, data);     \
	SAME_STRUCT(struct sdrv_netif_gref, struct xen_netif_gref);                                \
	SAME_INT(struct sdrv_netif_gref, ref, struct xen_netif_gref, ref);                         \
	SAME_INT(struct sdrv_netif_gref, flags, struct xen_netif_gref, flags);                     \
	SAME_INT(struct sdrv_netif_gref, status, struct xen_netif_gref, status);                   \
	_Static_assert(sizeof(union netif_tx_sring_entry) == SDRV_NETIF_TX_ENTRY_SIZE, "tx");      \
	_Static_assert(sizeof(union netif_rx_sring_entry) == SDRV_NETIF_RX_ENTRY_SIZE, "rx");      \
	_Static_assert(sizeof(union xen_netif_ctrl_sring_entry) == SDRV_NETIF_CTRL_ENTRY_SIZE,     \
		       "ctrl");                                                                    \
	_Static_assert(__CONST_RING_SIZE(netif_tx, 4096) == 256, "tx ring");                       \
	_Static_assert(__CONST_RING_SIZE(netif_rx, 4096) == 256, "rx ring");                       \
	_Static_assert(__CONST_RING_SIZE(xen_netif_ctrl, 4096) == 128, "ctrl ring");               \
	SAME_CONST(SDRV_NETIF_NR_SLOTS_MIN, XEN_NETIF_NR_SLOTS_MIN);                               \
	SAME_CONST(SDRV_NETIF_MAX_TX_SIZE, XEN_NETIF_MAX_TX_SIZE);                                 \
	SAME_CONST(SDRV_NETIF_PAGE_SIZE, 1u << XEN_PAGE_SHIFT);                                    \
	SAME_CONST(SDRV_NETTXF_CSUM_BLANK, NETTXF_csum_blank);                                     \
	SAME_CONST(SDRV_NETTXF_CSUM_BLANK, 1u << _NETTXF_csum_blank);                              \
	SAME_CONST(SDRV_NETTXF_DATA_VALIDATED, NETTXF_data_validated);                             \
	SAME_CONST(SDRV_NETTXF_DATA_VALIDATED, 1u << _NETTXF_data_validated);                      \
	SAME_CONST(SDRV_NETTXF_MORE_DATA, NETTXF_more_data);                                       \
	SAME_CONST(SDRV_NETTXF_MORE_DATA, 1u << _NETTXF_more_data);                                \
	SAME_CONST(SDRV_NETTXF_EXTRA_INFO, NETTXF_extra_info);                                     \
	SAME_CONST(SDRV_NETTXF_EXTRA_INFO, 1u << _NETTXF_extra_info);                              \
	SAME_CONST(SDRV_NETRXF_DATA_VALIDATED, NETRXF_data_validated);                             \
	SAME_CONST(SDRV_NETRXF_DATA_VALIDATED, 1u << _NETRXF_data_validated);                      \
	SAME_CONST(SDRV_NETRXF_CSUM_BLANK, NETRXF_csum_blank);                                     \
	SAME_CONST(SDRV_NETRXF_CSUM_BLANK, 1u << _NETRXF_csum_blank);                              \
	SAME_CONST(SDRV_NETRXF_MORE_DATA, NETRXF_more_data);                                       \
	SAME_CONST(SDRV_NETRXF_MORE_DATA, 1u << _NETRXF_more_data);                                \
	SAME_CONST(SDRV_NETRXF_EXTRA_INFO, NETRXF_extra_info);                                     \
	SAME_CONST(SDRV_NETRXF_EXTRA_INFO, 1u << _NETRXF_extra_info);                              \
	SAME_CONST(SDRV_NETRXF_GSO_PREFIX, NETRXF_gso_prefix);                                     \
	SAME_CONST(SDRV_NETRXF_GSO_PREFIX, 1u << _NETRXF_gso_prefix);                              \
	SAME_CONST(SDRV_NETIF_EXTRA_TYPE_NONE, XEN_NETIF_EXTRA_TYPE_NONE);                         \
	SAME_CONST(SDRV_NETIF_EXTRA_TYPE_GSO, XEN_NETIF_EXTRA_TYPE_GSO);                           \
	SAME_CONST(SDRV_NETIF_EXTRA_TYPE_MCAST_ADD, XEN_NETIF_EXTRA_TYPE_MCAST_ADD);               \
	SAME_CONST(SDRV_NETIF_EXTRA_TYPE_MCAST_DEL, XEN_NETIF_EXTRA_TYPE_MCAST_DEL);               \
	SAME_CONST(SDRV_NETIF_EXTRA_TYPE_HASH, XEN_NETIF_EXTRA_TYPE_HASH);                         \
	SAME_CONST(SDRV_NETIF_EXTRA_TYPE_MAX, XEN_NETIF_EXTRA_TYPE_MAX);                           \
	SAME_CONST(SDRV_NETIF_MAX_EXTRAS, XEN_NETIF_EXTRA_TYPE_MAX - 1);                           \
	SAME_CONST(SDRV_NETIF_EXTRA_FLAG_MORE, XEN_NETIF_EXTRA_FLAG_MORE);                         \
	SAME_CONST(SDRV_NETIF_EXTRA_FLAG_MORE, 1u << _XEN_NETIF_EXTRA_FLAG_MORE);                  \
	SAME_CONST(SDRV_NETIF_GSO_TYPE_NONE, XEN_NETIF_GSO_TYPE_NONE);                             \
	SAME_CONST(SDRV_NETIF_GSO_TYPE_TCPV4, XEN_NETIF_GSO_TYPE_TCPV4);                           \
	SAME_CONST(SDRV_NETIF_GSO_TYPE_TCPV6, XEN_NETIF_GSO_TYPE_TCPV6);                           \
	SAME_CONST(SDRV_NETIF_RSP_DROPPED, NETIF_RSP_DROPPED);                                     \
	SAME_CONST(SDRV_NETIF_RSP_ERROR, NETIF_RSP_ERROR);                                         \
	SAME_CONST(SDRV_NETIF_RSP_OKAY, NETIF_RSP_OKAY);                                           \
	SAME_CONST(SDRV_NETIF_RSP_NULL, NETIF_RSP_NULL);                                           \
	SAME_CONST(SDRV_NETIF_CTRL_TYPE_INVALID, XEN_NETIF_CTRL_TYPE_INVALID);                     \
	SAME_CONST(SDRV_NETIF_CTRL_TYPE_GET_HASH_FLAGS, XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS);       \
	SAME_CONST(SDRV_NETIF_CTRL_TYPE_SET_HASH_FLAGS, XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS);       \
	SAME_CONST(SDRV_NETIF_CTRL_TYPE_SET_HASH_KEY, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY);           \
	SAME_CONST(SDRV_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE,                                     \
		   XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE);                                     \
	SAME_CONST(SDRV_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE,                                     \
		   XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE);                                     \
	SAME_CONST(SDRV_NETIF_CTRL_TYPE_SET_HASH_MAPPING, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING);   \
	SAME_CONST(SDRV_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM,                                        \
		   XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM);                                        \
	SAME_CONST(SDRV_NETIF_CTRL_TYPE_GET_GREF_MAPPING_SIZE,                                     \
		   XEN_NETIF_CTRL_TYPE_GET_GREF_MAPPING_SIZE);                                     \
	SAME_CONST(SDRV_NETIF_CTRL_TYPE_ADD_GREF_MAPPING, XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING);   \
	SAME_CONST(SDRV_NETIF_CTRL_TYPE_DEL_GREF_MAPPING, XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING);   \
	SAME_CONST(SDRV_NETIF_CTRL_STATUS_SUCCESS, XEN_NETIF_CTRL_STATUS_SUCCESS);                 \
	SAME_CONST(SDRV_NETIF_CTRL_STATUS_NOT_SUPPORTED, XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED);     \
	SAME_CONST(SDRV_NETIF_CTRL_STATUS_INVALID_PARAMETER,                                       \
		   XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);                                       \
	SAME_CONST(SDRV_NETIF_CTRL_STATUS_BUFFER_OVERFLOW, XEN_NETIF_CTRL_STATUS_BUFFER_OVERFLOW); \
	SAME_CONST(SDRV_NETIF_CTRL_HASH_TYPE_IPV4, XEN_NETIF_CTRL_HASH_TYPE_IPV4);                 \
	SAME_CONST(SDRV_NETIF_CTRL_HASH_TYPE_IPV4_TCP, XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP);         \
	SAME_CONST(SDRV_NETIF_CTRL_HASH_TYPE_IPV6, XEN_NETIF_CTRL_HASH_TYPE_IPV6);                 \
	SAME_CONST(SDRV_NETIF_CTRL_HASH_TYPE_IPV6_TCP, XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP);         \
	SAME_CONST(SDRV_NETIF_CTRL_HASH_TYPE_IPV4, 1u << _XEN_NETIF_CTRL_HASH_TYPE_IPV4);          \
	SAME_CONST(SDRV_NETIF_CTRL_HASH_TYPE_IPV4_TCP, 1u << _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP);  \
	SAME_CONST(SDRV_NETIF_CTRL_HASH_TYPE_IPV6, 1u << _XEN_NETIF_CTRL_HASH_TYPE_IPV6);          \
	SAME_CONST(SDRV_NETIF_CTRL_HASH_TYPE_IPV6_TCP, 1u << _XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP);  \
	SAME_CONST(SDRV_NETIF_CTRL_HASH_ALGORITHM_NONE, XEN_NETIF_CTRL_HASH_ALGORITHM_NONE);       \
	SAME_CONST(SDRV_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ,                                        \
		   XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ);                                        \
	SAME_CONST(SDRV_NETIF_CTRLF_GREF_READONLY, XEN_NETIF_CTRLF_GREF_readonly);                 \
	SAME_CONST(SDRV_NETIF_CTRLF_GREF_READONLY, 1u << _XEN_NETIF_CTRLF_GREF_readonly)

#ifdef SDRV_NETIF_XEN_I386
/* ======================= the i386 side (data only) ====================== */
#if !defined(__i386__)
#error "SDRV_NETIF_XEN_I386 is for -m32 builds"
#endif
#include <stddef.h>
#include <stdint.h>

#include <xen/io/netif.h>

#include <splitdrv/proto/netif.h>

NETIF_LAYOUT_ASSERTS;

union i386_slot {
	struct netif_tx_request tx;
	struct netif_extra_info ex;
	struct netif_rx_response rx;
	struct xen_netif_ctrl_request cq;
	struct xen_netif_ctrl_response cp;
	unsigned char bytes[BLOB_SLOT];
};

#define I386_TX(pkt, g, off, fl, id_, sz)                                                          \
	{.tx = {.gref = (g), .offset = (off), .flags = (fl), .id = (id_), .size = (sz)}},
#define I386_GSO(ring, pkt, fl, sz, ty, feat)                                                      \
	{.ex = {.type = XEN_NETIF_EXTRA_TYPE_GSO,                                                  \
		.flags = (fl),                                                                     \
		.u.gso = {.size = (sz), .type = (ty), .features = (feat)}}},
#define I386_MC(ring, pkt, ty, fl, last)                                                           \
	{.ex = {.type = (ty), .flags = (fl), .u.mcast.addr = {0x01, 0x00, 0x5e, 0, 0, (last)}}},
#define I386_HASH(ring, pkt, fl, ht, alg, v)                                                       \
	{.ex = {.type = XEN_NETIF_EXTRA_TYPE_HASH,                                                 \
		.flags = (fl),                                                                     \
		.u.hash = {.type = (ht),                                                           \
			   .algorithm = (alg),                                                     \
			   .value = {(v)&0xff, ((v) >> 8) & 0xff, ((v) >> 16) & 0xff,              \
				     ((v) >> 24) & 0xff}}}},
#define I386_RX(pkt, off, fl, st) {.rx = {.id = 0, .offset = (off), .flags = (fl), .status = (st)}},
#define I386_CQ(id_, ty, d0, d1, d2)                                                               \
	{.cq = {.id = (id_), .type = (ty), .data = {(d0), (d1), (d2)}}},
#define I386_CP(id_, ty, st, d) {.cp = {.id = (id_), .type = (ty), .status = (st), .data = (d)}},

struct i386_blob {
	uint32_t magic, nr, slots_offset, slot_size;
	uint32_t size_tx, size_tx_rsp, size_rx_req, size_rx, size_extra, size_cq, size_cp;
	union i386_slot slots[NR_ROWS];
};

_Static_assert(sizeof(union i386_slot) == BLOB_SLOT, "slot size");

extern const struct i386_blob sdrv_netif_i386_blob;
const struct i386_blob sdrv_netif_i386_blob __attribute__((section(BLOB_SECTION), used)) = {
    .magic = BLOB_MAGIC,
    .nr = NR_ROWS,
    .slots_offset = offsetof(struct i386_blob, slots),
    .slot_size = sizeof(union i386_slot),
    .size_tx = sizeof(struct netif_tx_request),
    .size_tx_rsp = sizeof(struct netif_tx_response),
    .size_rx_req = sizeof(struct netif_rx_request),
    .size_rx = sizeof(struct netif_rx_response),
    .size_extra = sizeof(struct netif_extra_info),
    .size_cq = sizeof(struct xen_netif_ctrl_request),
    .size_cp = sizeof(struct xen_netif_ctrl_response),
    .slots = {NETIF_VECTORS(I386_TX, I386_GSO, I386_MC, I386_HASH, I386_RX, I386_CQ, I386_CP)},
};

#else
/* ============================ the test program ========================== */
#define _GNU_SOURCE
/* Xen's reference Toeplitz implementation, to compare against. */
#define XEN_NETIF_DEFINE_TOEPLITZ 1
#include "xen-compat.h"

#include "elf32.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <splitdrv/proto/netif.h>
#include <splitdrv/ring.h>

#include "../common/tutil.h"

NETIF_LAYOUT_ASSERTS;

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

enum kind { K_TX, K_GSO, K_MC, K_HASH, K_RX, K_CQ, K_CP };

struct row {
	enum kind kind;
	int ring; /* 0 tx, 1 rx (packet rows) */
	int pkt;
	uint32_t gref, value, d[3];
	uint16_t offset, flags, id, size, features, type;
	int16_t status;
	uint8_t xflags, sub, alg;
};

#define R_TX(p, g, off, fl, id_, sz)                                                               \
	{.kind = K_TX,                                                                             \
	 .ring = 0,                                                                                \
	 .pkt = (p),                                                                               \
	 .gref = (g),                                                                              \
	 .offset = (off),                                                                          \
	 .flags = (fl),                                                                            \
	 .id = (id_),                                                                              \
	 .size = (sz)},
#define R_GSO(r, p, fl, sz, ty, feat)                                                              \
	{.kind = K_GSO,                                                                            \
	 .ring = (r),                                                                              \
	 .pkt = (p),                                                                               \
	 .xflags = (fl),                                                                           \
	 .size = (sz),                                                                             \
	 .sub = (ty),                                                                              \
	 .features = (feat)},
#define R_MC(r, p, ty, fl, last)                                                                   \
	{.kind = K_MC, .ring = (r), .pkt = (p), .type = (ty), .xflags = (fl), .sub = (last)},
#define R_HASH(r, p, fl, ht, al, v)                                                                \
	{.kind = K_HASH,                                                                           \
	 .ring = (r),                                                                              \
	 .pkt = (p),                                                                               \
	 .xflags = (fl),                                                                           \
	 .sub = (ht),                                                                              \
	 .alg = (al),                                                                              \
	 .value = (v)},
#define R_RX(p, off, fl, st)                                                                       \
	{.kind = K_RX, .ring = 1, .pkt = (p), .offset = (off), .flags = (fl), .status = (st)},
#define R_CQ(id_, ty, d0, d1, d2)                                                                  \
	{.kind = K_CQ, .ring = 2, .pkt = -1, .id = (id_), .type = (ty), .d = {(d0), (d1), (d2)}},
#define R_CP(id_, ty, st, dd)                                                                      \
	{.kind = K_CP,                                                                             \
	 .ring = 2,                                                                                \
	 .pkt = -1,                                                                                \
	 .id = (id_),                                                                              \
	 .type = (ty),                                                                             \
	 .value = (st),                                                                            \
	 .d = {(dd), 0, 0}},

static const struct row rows[] = {NETIF_VECTORS(R_TX, R_GSO, R_MC, R_HASH, R_RX, R_CQ, R_CP)};
_Static_assert(sizeof(rows) / sizeof(rows[0]) == NR_ROWS, "row count");

#define PAGE  4096u

static void *page_new(int fill)
{
	void *p = aligned_alloc(PAGE, PAGE);

	if (!p) {
		perror("aligned_alloc");
		exit(TU_FAIL);
	}
	memset(p, fill, PAGE);
	return p;
}

/* Write an extra-info row through Xen's structure, as netfront/netback do. */
static void xen_extra(struct netif_extra_info *x, const struct row *r)
{
	x->flags = r->xflags;
	switch (r->kind) {
	case K_GSO:
		x->type = XEN_NETIF_EXTRA_TYPE_GSO;
		x->u.gso.size = r->size;
		x->u.gso.type = r->sub;
		x->u.gso.pad = 0;
		x->u.gso.features = r->features;
		break;
	case K_MC:
		x->type = (uint8_t)r->type;
		x->u.mcast.addr[0] = 0x01;
		x->u.mcast.addr[1] = 0x00;
		x->u.mcast.addr[2] = 0x5e;
		x->u.mcast.addr[3] = 0;
		x->u.mcast.addr[4] = 0;
		x->u.mcast.addr[5] = r->sub;
		break;
	case K_HASH:
		x->type = XEN_NETIF_EXTRA_TYPE_HASH;
		x->u.hash.type = r->sub;
		x->u.hash.algorithm = r->alg;
		x->u.hash.value[0] = (uint8_t)r->value;
		x->u.hash.value[1] = (uint8_t)(r->value >> 8);
		x->u.hash.value[2] = (uint8_t)(r->value >> 16);
		x->u.hash.value[3] = (uint8_t)(r->value >> 24);
		break;
	default:
		break;
	}
}

/* A row in a zeroed 16-byte slot, through Xen's (native) structures. */
static void xen_row_bytes(const struct row *r, unsigned char out[BLOB_SLOT], uint16_t rx_id)
{
	memset(out, 0, BLOB_SLOT);
	switch (r->kind) {
	case K_TX: {
		struct netif_tx_request t = {.gref = r->gref,
					     .offset = r->offset,
					     .flags = r->flags,
					     .id = r->id,
					     .size = r->size};

		memcpy(out, &t, sizeof(t));
		break;
	}
	case K_RX: {
		struct netif_rx_response x = {
		    .id = rx_id, .offset = r->offset, .flags = r->flags, .status = r->status};

		memcpy(out, &x, sizeof(x));
		break;
	}
	case K_CQ: {
		struct xen_netif_ctrl_request q = {
		    .id = r->id, .type = r->type, .data = {r->d[0], r->d[1], r->d[2]}};

		memcpy(out, &q, sizeof(q));
		break;
	}
	case K_CP: {
		struct xen_netif_ctrl_response p = {
		    .id = r->id, .type = r->type, .status = r->value, .data = r->d[0]};

		memcpy(out, &p, sizeof(p));
		break;
	}
	default: {
		struct netif_extra_info x;

		memset(&x, 0, sizeof(x));
		xen_extra(&x, r);
		memcpy(out, &x, sizeof(x));
		break;
	}
	}
}

/* The rows of one packet. */
static size_t pkt_rows(int ring, int pkt, const struct row **out)
{
	size_t n = 0;

	for (size_t i = 0; i < NR_ROWS; i++)
		if (rows[i].ring == ring && rows[i].pkt == pkt && rows[i].kind != K_CQ &&
		    rows[i].kind != K_CP)
			out[n++] = &rows[i];
	return n;
}

static const int tx_pkts[] = {0, 1, 2, 3, 4};
static const int rx_pkts[] = {10, 11, 12};
#define NR_TX (sizeof(tx_pkts) / sizeof(tx_pkts[0]))
#define NR_RX (sizeof(rx_pkts) / sizeof(rx_pkts[0]))

static void keep_extra(const struct row *r, uint16_t *extras, struct sdrv_netif_gso *gso,
		       struct sdrv_netif_hash *hash, uint8_t *add, uint8_t *del)
{
	if (r->kind == K_GSO) {
		*extras |= 1u << XEN_NETIF_EXTRA_TYPE_GSO;
		gso->size = r->size;
		gso->type = r->sub;
		gso->features = r->features;
	} else if (r->kind == K_HASH) {
		*extras |= 1u << XEN_NETIF_EXTRA_TYPE_HASH;
		hash->value = r->value;
		hash->type = r->sub;
		hash->algorithm = r->alg;
	} else if (r->kind == K_MC && add) {
		uint8_t *a = r->type == XEN_NETIF_EXTRA_TYPE_MCAST_ADD ? add : del;

		*extras |= (uint16_t)(1u << r->type);
		a[0] = 0x01, a[1] = 0x00, a[2] = 0x5e, a[5] = r->sub;
	}
}

/* What a transmitted packet of the table means, worked out from the rows. */
static struct sdrv_netif_tx_pkt expected_tx(int pkt)
{
	const struct row *r[32];
	size_t n = pkt_rows(0, pkt, r);
	struct sdrv_netif_tx_pkt p;
	uint32_t rest = 0;

	memset(&p, 0, sizeof(p));
	p.nr_slots = (uint16_t)n;
	p.slot_id[0] = r[0]->id;
	for (size_t i = 1; i < n; i++) {
		if (r[i]->kind == K_TX) {
			struct sdrv_netif_tx_frag *f = &p.frag[++p.nr_frags];

			f->gref = r[i]->gref;
			f->offset = r[i]->offset;
			f->size = r[i]->size;
			f->id = r[i]->id;
			f->slot = (uint16_t)i;
			p.slot_id[i] = r[i]->id;
			rest += r[i]->size;
			p.nr_empty += r[i]->size == 0;
		} else {
			p.nr_extras++;
			keep_extra(r[i], &p.extras, &p.gso, &p.hash, p.mcast_add, p.mcast_del);
		}
	}
	if (p.extras &
	    ((1u << XEN_NETIF_EXTRA_TYPE_MCAST_ADD) | (1u << XEN_NETIF_EXTRA_TYPE_MCAST_DEL))) {
		p.nr_frags = 0; /* a multicast request has no data */
		return p;
	}
	p.nr_frags++;
	p.size = r[0]->size;
	p.frag[0].gref = r[0]->gref;
	p.frag[0].offset = r[0]->offset;
	p.frag[0].size = (uint16_t)(r[0]->size - rest);
	p.frag[0].id = r[0]->id;
	if (r[0]->flags & NETTXF_csum_blank)
		p.flags |= SDRV_NETIF_PKT_CSUM_BLANK;
	if (r[0]->flags & NETTXF_data_validated)
		p.flags |= SDRV_NETIF_PKT_DATA_VALIDATED;
	return p;
}

/* What a received packet of the table means (ids as the backend wrote them). */
static struct sdrv_netif_rx_pkt expected_rx(int pkt, const uint16_t *ids)
{
	const struct row *r[32];
	size_t n = pkt_rows(1, pkt, r);
	struct sdrv_netif_rx_pkt p;

	memset(&p, 0, sizeof(p));
	p.nr_slots = (uint16_t)n;
	for (size_t i = 0; i < n; i++) {
		if (r[i]->kind == K_RX) {
			struct sdrv_netif_rx_frag *f = &p.frag[p.nr_frags++];

			f->offset = r[i]->offset;
			f->size = (uint16_t)r[i]->status;
			f->id = ids ? ids[i] : 0;
			f->slot = (uint16_t)i;
			p.size += (uint32_t)r[i]->status;
		} else {
			p.nr_extras++;
			keep_extra(r[i], &p.extras, &p.gso, &p.hash, NULL, NULL);
		}
	}
	if (r[0]->flags & NETRXF_csum_blank)
		p.flags |= SDRV_NETIF_PKT_CSUM_BLANK;
	if (r[0]->flags & NETRXF_data_validated)
		p.flags |= SDRV_NETIF_PKT_DATA_VALIDATED;
	return p;
}

static const int16_t tx_status[] = {NETIF_RSP_OKAY, NETIF_RSP_ERROR, NETIF_RSP_DROPPED};

/* ------------- 1a. a Xen frontend transmits, our backend receives ------------- */

static void xen_front_our_back_tx(void)
{
	void *page = page_new(0xEE); /* garbage in every byte Xen leaves alone */
	netif_tx_sring_t *s = page;
	netif_tx_front_ring_t fr;
	struct sdrv_ring b;
	unsigned char buf[SDRV_NETIF_TX_MAX_PACKET_SLOTS * 12];
	size_t have = 0;
	unsigned nslots = 0;
	RING_IDX i, rp;

	SHARED_RING_INIT(s);
	FRONT_RING_INIT(&fr, s, PAGE);
	for (size_t k = 0; k < NR_TX; k++) {
		const struct row *r[32];
		size_t n = pkt_rows(0, tx_pkts[k], r);

		for (size_t j = 0; j < n; j++) {
			if (r[j]->kind == K_TX) {
				netif_tx_request_t *t = RING_GET_REQUEST(&fr, fr.req_prod_pvt);

				t->gref = r[j]->gref;
				t->offset = r[j]->offset;
				t->flags = r[j]->flags;
				t->id = r[j]->id;
				t->size = r[j]->size;
			} else {
				xen_extra((struct netif_extra_info *)RING_GET_REQUEST(
					      &fr, fr.req_prod_pvt),
					  r[j]);
			}
			fr.req_prod_pvt++;
			nslots++;
		}
	}
	RING_PUSH_REQUESTS(&fr);

	CHECK(sdrv_ring_back_attach(&b, page, PAGE, SDRV_NETIF_TX_ENTRY_SIZE, 0) == 0, "attach");
	for (size_t k = 0; k < NR_TX; k++) {
		struct sdrv_netif_tx_pkt got, want = expected_tx(tx_pkts[k]);
		int32_t n = sdrv_ring_back_take_reqs(&b, buf + have * 12,
						     (uint32_t)(sizeof(buf) / 12 - have));
		int err;

		CHECK(n >= 0, "take");
		have += n > 0 ? (size_t)n : 0;
		err = sdrv_netif_tx_decode(buf, have, NULL, &got);
		CHECK(err == 0, "Xen's tx packet %d refused: %s", tx_pkts[k],
		      sdrv_netif_reason(got.reason));
		CHECK(memcmp(&got, &want, sizeof(got)) == 0,
		      "Xen's tx packet %d decodes differently", tx_pkts[k]);
		if (err)
			break;
		for (uint32_t j = 0; j < got.nr_slots; j++) {
			struct sdrv_netif_tx_response rsp;

			CHECK(sdrv_netif_tx_make_rsp(&got, j, tx_status[k % 3], &rsp) == 0, "rsp");
			CHECK(sdrv_netif_tx_encode_rsp(&rsp, sdrv_ring_back_next_rsp(&b),
						       SDRV_NETIF_TX_ENTRY_SIZE) == 0,
			      "encode rsp");
		}
		memmove(buf, buf + got.nr_slots * 12, (have - got.nr_slots) * 12);
		have -= got.nr_slots;
	}
	CHECK(have == 0, "%zu slots left over", have);
	sdrv_ring_back_push(&b);

	/* The Xen frontend reads them as netfront's xennet_tx_buf_gc() does. */
	rp = s->rsp_prod;
	xen_rmb();
	CHECK(rp - fr.rsp_cons == nslots, "%u responses for %u slots", rp - fr.rsp_cons, nslots);
	i = fr.rsp_cons;
	for (size_t k = 0; k < NR_TX && i != rp; k++) {
		const struct row *r[32];
		size_t n = pkt_rows(0, tx_pkts[k], r);

		for (size_t j = 0; j < n && i != rp; j++, i++) {
			netif_tx_response_t x;
			const unsigned char *raw = (const unsigned char *)RING_GET_RESPONSE(&fr, i);

			RING_COPY_RESPONSE(&fr, i, &x);
			if (r[j]->kind != K_TX) {
				CHECK(x.status == NETIF_RSP_NULL && x.id == 0,
				      "extra's response %d/%d", x.id, x.status);
			} else {
				int16_t st = tx_status[k % 3];

				if (j > 0 && r[j]->size == 0)
					st = NETIF_RSP_OKAY; /* XSA-448 */
				CHECK(x.id == r[j]->id, "response id %u, want %u", x.id, r[j]->id);
				CHECK(x.status == st, "response status %d, want %d", x.status, st);
			}
			/* XSA-216: nothing but the two fields in the entry. */
			for (size_t byte = sizeof(x); byte < SDRV_NETIF_TX_ENTRY_SIZE; byte++)
				CHECK(raw[byte] == 0, "response byte %zu is %#x", byte, raw[byte]);
		}
	}
	fr.rsp_cons = i;
	free(page);
}

/* ------------- 1b. our frontend transmits, a Xen backend receives ------------- */

static void our_front_xen_back_tx(void)
{
	void *page = page_new(0xEE);
	netif_tx_sring_t *s = page;
	netif_tx_back_ring_t br;
	struct sdrv_ring f;
	unsigned char copy[12];
	unsigned nslots = 0, answered = 0, nulls = 0;
	RING_IDX rc, rp;

	CHECK(sdrv_ring_front_init(&f, page, PAGE, SDRV_NETIF_TX_ENTRY_SIZE) == 0, "front init");
	for (size_t k = 0; k < NR_TX; k++) {
		struct sdrv_netif_tx_pkt p = expected_tx(tx_pkts[k]);
		int err;

		/* A frontend never sends empty slots: drop them from the
		 * description (the backend side had them, from Xen's). */
		if (p.nr_empty) {
			struct sdrv_netif_tx_pkt q = p;

			q.nr_frags = 0;
			for (unsigned j = 0; j < p.nr_frags; j++)
				if (p.frag[j].size)
					q.frag[q.nr_frags++] = p.frag[j];
			p = q;
		}
		err = sdrv_netif_tx_prepare(&p);
		CHECK(err == 0, "prepare tx packet %d", tx_pkts[k]);
		for (uint32_t j = 0; err == 0 && j < p.nr_slots; j++) {
			CHECK(sdrv_netif_tx_encode_req(&p, j, sdrv_ring_front_next_req(&f), 12) ==
				  0,
			      "encode");
			nslots++;
		}
	}
	sdrv_ring_front_push(&f);

	/* A Xen backend, the way Linux netback reads: producer index once,
	 * then a private copy of each slot. */
	BACK_RING_INIT(&br, s, PAGE);
	rp = s->req_prod;
	xen_rmb();
	CHECK(rp == nslots, "%u slots published, want %u", rp, nslots);
	rc = br.req_cons;
	for (size_t k = 0; k < NR_TX; k++) {
		const struct row *r[32];
		size_t n = pkt_rows(0, tx_pkts[k], r);
		unsigned data = 0;

		for (size_t j = 0; j < n && rc != rp; j++) {
			unsigned char want[BLOB_SLOT];
			netif_tx_request_t x;
			struct row adj = *r[j];

			if (r[j]->kind == K_TX && j > 0 && r[j]->size == 0)
				continue; /* not sent, see above */
			/* Our frontend's flags: MORE_DATA up to the last data slot. */
			if (adj.kind == K_TX && data++ > 0) {
				bool last = true;

				for (size_t m = j + 1; m < n; m++)
					if (r[m]->kind == K_TX && r[m]->size)
						last = false;
				adj.flags = last ? 0 : NETTXF_more_data;
			}
			xen_row_bytes(&adj, want, 0);
			CHECK(memcmp(RING_GET_REQUEST(&br, rc), want, SDRV_NETIF_TX_ENTRY_SIZE) ==
				  0,
			      "our slot %u of packet %d differs from Xen's structure", rc,
			      tx_pkts[k]);
			RING_COPY_REQUEST(&br, rc, &x);
			/* netback's make_tx_response(): id and status, and for each
			 * extra only the status (the id stays what was there). */
			if (r[j]->kind == K_TX) {
				netif_tx_response_t *resp = RING_GET_RESPONSE(&br, br.rsp_prod_pvt);

				resp->id = x.id;
				resp->status = tx_status[(k + j) % 3];
			} else {
				RING_GET_RESPONSE(&br, br.rsp_prod_pvt)->status = NETIF_RSP_NULL;
			}
			br.rsp_prod_pvt++;
			rc++;
		}
	}
	br.req_cons = rc;
	RING_PUSH_RESPONSES(&br);

	while (sdrv_ring_front_take_rsp(&f, copy) == 1) {
		struct sdrv_netif_tx_response rsp;

		CHECK(sdrv_netif_tx_decode_rsp(copy, sizeof(copy), &rsp) == 0,
		      "Xen's tx response refused (status %d)", rsp.status);
		if (rsp.status == SDRV_NETIF_RSP_NULL)
			nulls++;
		else
			answered++;
	}
	CHECK(answered + nulls == nslots, "%u answers, %u NULL, for %u slots", answered, nulls,
	      nslots);
	CHECK(nulls == 6, "%u NULL responses", nulls);
	CHECK(sdrv_ring_broken(&f) == NULL, "ring broken: %s", sdrv_ring_broken(&f));
	free(page);
}

/* ---------------- 1c. receive: our backend, a Xen frontend ---------------- */

static void our_back_xen_front_rx(void)
{
	void *page = page_new(0xEE);
	netif_rx_sring_t *s = page;
	netif_rx_front_ring_t fr;
	struct sdrv_ring b;
	unsigned char copy[8];
	RING_IDX i, rp;

	SHARED_RING_INIT(s);
	FRONT_RING_INIT(&fr, s, PAGE);
	/* netfront's xennet_alloc_rx_buffers(): id = the slot's index. */
	for (unsigned k = 0; k < 32; k++) {
		netif_rx_request_t *q = RING_GET_REQUEST(&fr, fr.req_prod_pvt);

		q->id = (uint16_t)(fr.req_prod_pvt & (RING_SIZE(&fr) - 1));
		q->gref = 0x7000 + k;
		fr.req_prod_pvt++;
	}
	RING_PUSH_REQUESTS(&fr);

	CHECK(sdrv_ring_back_attach(&b, page, PAGE, SDRV_NETIF_RX_ENTRY_SIZE, 0) == 0, "attach");
	for (size_t k = 0; k < NR_RX; k++) {
		struct sdrv_netif_rx_pkt p = expected_rx(rx_pkts[k], NULL);

		/* The backend describes where it put the bytes; the rest is
		 * worked out by prepare. */
		CHECK(sdrv_netif_rx_prepare(&p) == 0, "prepare rx packet %d", rx_pkts[k]);
		for (uint32_t j = 0; j < p.nr_slots; j++) {
			struct sdrv_netif_rx_request q;

			CHECK(sdrv_ring_back_take_req(&b, copy) == 1, "request waiting");
			CHECK(sdrv_netif_rx_decode_req(copy, sizeof(copy), &q) == 0, "decode req");
			/* The response goes in the request's own ring slot. */
			CHECK(sdrv_netif_rx_encode_rsp(&p, j, &q, sdrv_ring_back_next_rsp(&b), 8) ==
				  0,
			      "encode rsp");
		}
	}
	sdrv_ring_back_push(&b);

	/* The Xen frontend reads them by position, as netfront does. */
	rp = s->rsp_prod;
	xen_rmb();
	i = fr.rsp_cons;
	for (size_t k = 0; k < NR_RX; k++) {
		const struct row *r[32];
		size_t n = pkt_rows(1, rx_pkts[k], r);

		for (size_t j = 0; j < n; j++, i++) {
			unsigned char want[BLOB_SLOT];
			uint16_t id = (uint16_t)(i & (RING_SIZE(&fr) - 1));

			CHECK(i != rp, "response missing");
			if (i == rp)
				break;
			xen_row_bytes(r[j], want, id);
			CHECK(memcmp(RING_GET_RESPONSE(&fr, i), want, SDRV_NETIF_RX_ENTRY_SIZE) ==
				  0,
			      "our rx slot %u of packet %d differs from Xen's structure", i,
			      rx_pkts[k]);
			if (r[j]->kind == K_RX) {
				netif_rx_response_t x;

				RING_COPY_RESPONSE(&fr, i, &x);
				CHECK(x.id == id && x.status == r[j]->status &&
					  x.offset == r[j]->offset && x.flags == r[j]->flags,
				      "rx response fields");
			} else {
				struct netif_extra_info x;

				memcpy(&x, RING_GET_RESPONSE(&fr, i), sizeof(x));
				CHECK(x.flags == r[j]->xflags, "extra flags");
			}
		}
	}
	CHECK(i == rp, "%u responses left", rp - i);
	fr.rsp_cons = i;
	free(page);
}

/* ---------------- 1d. receive: a Xen backend, our frontend ---------------- */

static void xen_back_our_front_rx(void)
{
	void *page = page_new(0xEE);
	netif_rx_sring_t *s = page;
	netif_rx_back_ring_t br;
	struct sdrv_ring f;
	unsigned char buf[SDRV_NETIF_RX_MAX_PACKET_SLOTS * 8];
	size_t have = 0;
	RING_IDX rc, rp;

	CHECK(sdrv_ring_front_init(&f, page, PAGE, SDRV_NETIF_RX_ENTRY_SIZE) == 0, "front init");
	for (unsigned k = 0; k < 32; k++) {
		struct sdrv_netif_rx_request q = {.id = (uint16_t)(1000 + k), .gref = 0x9000 + k};

		CHECK(sdrv_netif_rx_encode_req(&q, sdrv_ring_front_next_req(&f), 8) == 0, "post");
	}
	sdrv_ring_front_push(&f);

	/* netback's xenvif_rx_skb(): each response in its request's slot,
	 * the request's id in data slots; extras overlay the whole slot. */
	BACK_RING_INIT(&br, s, PAGE);
	rp = s->req_prod;
	xen_rmb();
	rc = br.req_cons;
	for (size_t k = 0; k < NR_RX; k++) {
		const struct row *r[32];
		size_t n = pkt_rows(1, rx_pkts[k], r);
		uint16_t ids[32];
		struct sdrv_netif_rx_pkt got, want;
		int err;

		for (size_t j = 0; j < n && rc != rp; j++, rc++) {
			netif_rx_request_t q;

			RING_COPY_REQUEST(&br, rc, &q);
			ids[j] = q.id;
			if (r[j]->kind == K_RX) {
				netif_rx_response_t *x = RING_GET_RESPONSE(&br, rc);

				x->id = q.id;
				x->offset = r[j]->offset;
				x->flags = r[j]->flags;
				x->status = r[j]->status;
			} else {
				xen_extra((struct netif_extra_info *)RING_GET_RESPONSE(&br, rc),
					  r[j]);
			}
		}
		br.rsp_prod_pvt = rc;
		br.req_cons = rc;
		RING_PUSH_RESPONSES(&br);

		for (;;) {
			int32_t got_n = sdrv_ring_front_take_rsps(
			    &f, buf + have * 8, (uint32_t)(sizeof(buf) / 8 - have));

			CHECK(got_n >= 0, "take");
			if (got_n <= 0)
				break;
			have += (size_t)got_n;
		}
		want = expected_rx(rx_pkts[k], ids);
		err = sdrv_netif_rx_decode(buf, have, &got);
		CHECK(err == 0, "Xen's rx packet %d refused: %s", rx_pkts[k],
		      sdrv_netif_reason(got.reason));
		CHECK(memcmp(&got, &want, sizeof(got)) == 0,
		      "Xen's rx packet %d decodes differently", rx_pkts[k]);
		if (err)
			break;
		memmove(buf, buf + got.nr_slots * 8, (have - got.nr_slots) * 8);
		have -= got.nr_slots;
	}
	CHECK(have == 0, "%zu rx slots left over", have);
	CHECK(sdrv_ring_broken(&f) == NULL, "ring broken: %s", sdrv_ring_broken(&f));
	free(page);
}

/* ------------------------- 1e. the control ring ------------------------- */

static struct sdrv_netif_ctrl_config ctrl_config(void)
{
	struct sdrv_netif_ctrl_config c;

	memset(&c, 0, sizeof(c));
	c.sz = sizeof(c);
	c.algorithm = XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ;
	c.hash_types = XEN_NETIF_CTRL_HASH_TYPE_IPV4 | XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP |
		       XEN_NETIF_CTRL_HASH_TYPE_IPV6 | XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP;
	c.max_key_size = 40;
	c.max_mapping_size = 128;
	c.mapping_size = 128;
	c.nr_queues = 4;
	return c;
}

static void ctrl_both_ways(void)
{
	struct sdrv_netif_ctrl_config cfg = ctrl_config();
	void *page = page_new(0xEE);
	xen_netif_ctrl_sring_t *s = page;
	xen_netif_ctrl_front_ring_t fr;
	struct sdrv_ring b, f;
	unsigned char copy[16];
	unsigned nreq = 0;
	RING_IDX i, rp;

	/* A Xen frontend asks; our backend answers. */
	SHARED_RING_INIT(s);
	FRONT_RING_INIT(&fr, s, PAGE);
	for (size_t k = 0; k < NR_ROWS; k++) {
		struct xen_netif_ctrl_request *q;

		if (rows[k].kind != K_CQ)
			continue;
		q = RING_GET_REQUEST(&fr, fr.req_prod_pvt++);
		q->id = rows[k].id;
		q->type = rows[k].type;
		q->data[0] = rows[k].d[0];
		q->data[1] = rows[k].d[1];
		q->data[2] = rows[k].d[2];
		nreq++;
	}
	RING_PUSH_REQUESTS(&fr);
	CHECK(sdrv_ring_back_attach(&b, page, PAGE, SDRV_NETIF_CTRL_ENTRY_SIZE, 0) == 0, "attach");
	while (sdrv_ring_back_take_req(&b, copy) == 1) {
		struct sdrv_netif_ctrl_req req;
		struct sdrv_netif_ctrl_response rsp;
		int err = sdrv_netif_ctrl_decode_req(copy, sizeof(copy), &cfg, &req);

		CHECK(err == 0, "Xen's control request %u refused: %s", req.id,
		      sdrv_netif_strerror(err));
		CHECK(sdrv_netif_ctrl_make_rsp(&req, err, &cfg, &rsp) == 0, "make rsp");
		CHECK(sdrv_netif_ctrl_encode_rsp(&rsp, sdrv_ring_back_next_rsp(&b), 16) == 0,
		      "rsp");
	}
	sdrv_ring_back_push(&b);
	rp = s->rsp_prod;
	xen_rmb();
	CHECK(rp == nreq, "%u control responses", rp);
	for (i = fr.rsp_cons; i != rp; i++) {
		struct xen_netif_ctrl_response x;
		const unsigned char *raw = (const unsigned char *)RING_GET_RESPONSE(&fr, i);

		RING_COPY_RESPONSE(&fr, i, &x);
		CHECK(x.status == XEN_NETIF_CTRL_STATUS_SUCCESS, "status %u", x.status);
		CHECK(x.id == i + 1, "id %u", x.id);
		if (x.type == XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS)
			CHECK(x.data == cfg.hash_types, "flags %u", x.data);
		else if (x.type == XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE)
			CHECK(x.data == 128, "mapping size %u", x.data);
		else
			CHECK(x.data == 0, "data %u", x.data);
		for (size_t byte = sizeof(x); byte < SDRV_NETIF_CTRL_ENTRY_SIZE; byte++)
			CHECK(raw[byte] == 0, "ctrl response byte %zu", byte);
	}
	fr.rsp_cons = i;

	/* Our frontend asks; a Xen backend reads, and answers. */
	memset(page, 0xEE, PAGE);
	CHECK(sdrv_ring_front_init(&f, page, PAGE, SDRV_NETIF_CTRL_ENTRY_SIZE) == 0, "front init");
	{
		xen_netif_ctrl_back_ring_t br;
		RING_IDX rc;
		size_t k = 0, want_rsp = 0;
		unsigned got = 0;

		for (k = 0; k < NR_ROWS; k++) {
			struct sdrv_netif_ctrl_req q;

			if (rows[k].kind != K_CQ)
				continue;
			/* The table's request, decoded: what encoding must give back. */
			unsigned char wire[BLOB_SLOT];

			xen_row_bytes(&rows[k], wire, 0);
			CHECK(sdrv_netif_ctrl_decode_req(wire, 16, &cfg, &q) == 0, "decode");
			CHECK(sdrv_netif_ctrl_encode_req(&q, sdrv_ring_front_next_req(&f), 16) == 0,
			      "encode");
		}
		sdrv_ring_front_push(&f);
		BACK_RING_INIT(&br, s, PAGE);
		rp = s->req_prod;
		xen_rmb();
		rc = br.req_cons;
		for (k = 0; k < NR_ROWS && rc != rp; k++) {
			unsigned char want[BLOB_SLOT];

			if (rows[k].kind != K_CQ)
				continue;
			xen_row_bytes(&rows[k], want, 0);
			CHECK(memcmp(RING_GET_REQUEST(&br, rc), want, 16) == 0,
			      "our control request %u differs from Xen's structure", rows[k].id);
			rc++;
		}
		br.req_cons = rc;
		/* The table's responses, written as Linux's make_ctrl_response()
		 * does (and out of order, which is allowed). */
		for (k = 0; k < NR_ROWS; k++) {
			struct xen_netif_ctrl_response *x;

			if (rows[k].kind != K_CP)
				continue;
			x = RING_GET_RESPONSE(&br, br.rsp_prod_pvt++);
			x->id = rows[k].id;
			x->type = rows[k].type;
			x->status = rows[k].value;
			x->data = rows[k].d[0];
			want_rsp++;
		}
		RING_PUSH_RESPONSES(&br);
		k = 0;
		while (sdrv_ring_front_take_rsp(&f, copy) == 1) {
			struct sdrv_netif_ctrl_response rsp;

			while (k < NR_ROWS && rows[k].kind != K_CP)
				k++;
			CHECK(sdrv_netif_ctrl_decode_rsp(copy, sizeof(copy), &rsp) == 0,
			      "Xen's control response refused");
			CHECK(k < NR_ROWS && rsp.id == rows[k].id && rsp.type == rows[k].type &&
				  rsp.status == rows[k].value && rsp.data == rows[k].d[0],
			      "control response %zu", k);
			k++;
			got++;
		}
		CHECK(got == want_rsp, "%u of %zu control responses", got, want_rsp);
	}
	free(page);
}

/* ------------------------ 2. the i386 structures ------------------------ */

static uint32_t rd32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void i386_structures(const char *path)
{
	struct sdrv_netif_ctrl_config cfg = ctrl_config();
	size_t n = 0, len = 0, idx[NR_ROWS];
	unsigned char *file = elf32_read_file(path, &n);
	const unsigned char *blob, *slots;

	if (!file) {
		fprintf(stderr, "FAIL: cannot read %s: %s (built by make check)\n", path,
			strerror(errno));
		failures++;
		return;
	}
	if (n >= 5 && memcmp(file, "SKIP:", 5) == 0) {
		fwrite(file, 1, n, stderr);
		free(file);
		tu_skip("the i386 part needs a compiler that can build -m32 objects");
	}
	blob = elf32_section(file, n, BLOB_SECTION, &len);
	CHECK(blob != NULL && len >= 44, "%s: no usable " BLOB_SECTION " section", path);
	if (!blob || len < 44) {
		free(file);
		return;
	}
	CHECK(rd32(blob) == BLOB_MAGIC && rd32(blob + 4) == NR_ROWS && rd32(blob + 12) == BLOB_SLOT,
	      "blob header");
	/* Xen's i386 structure sizes are the native ones. */
	CHECK(rd32(blob + 16) == sizeof(struct netif_tx_request) &&
		  rd32(blob + 20) == sizeof(struct netif_tx_response) &&
		  rd32(blob + 24) == sizeof(struct netif_rx_request) &&
		  rd32(blob + 28) == sizeof(struct netif_rx_response) &&
		  rd32(blob + 32) == sizeof(struct netif_extra_info) &&
		  rd32(blob + 36) == sizeof(struct xen_netif_ctrl_request) &&
		  rd32(blob + 40) == sizeof(struct xen_netif_ctrl_response),
	      "i386 sizes differ from native");
	CHECK(rd32(blob + 8) <= len && (len - rd32(blob + 8)) / BLOB_SLOT >= NR_ROWS, "blob size");
	if (failures) {
		free(file);
		return;
	}
	slots = blob + rd32(blob + 8);
	/* Byte for byte the native table. */
	for (size_t k = 0; k < NR_ROWS; k++) {
		unsigned char native[BLOB_SLOT];

		xen_row_bytes(&rows[k], native, 0);
		CHECK(memcmp(native, slots + k * BLOB_SLOT, BLOB_SLOT) == 0,
		      "row %zu: i386 bytes differ from native", k);
		idx[k] = k;
	}
	/* The i386 packets and requests decode to the table's meaning. */
	for (size_t k = 0; k < NR_TX; k++) {
		unsigned char buf[32 * 12];
		size_t m = 0;
		struct sdrv_netif_tx_pkt got, want = expected_tx(tx_pkts[k]);

		for (size_t r = 0; r < NR_ROWS; r++)
			if (rows[r].ring == 0 && rows[r].pkt == tx_pkts[k])
				memcpy(buf + 12 * m++, slots + idx[r] * BLOB_SLOT, 12);
		CHECK(sdrv_netif_tx_decode(buf, m, NULL, &got) == 0 &&
			  memcmp(&got, &want, sizeof(got)) == 0,
		      "i386 tx packet %d", tx_pkts[k]);
	}
	for (size_t k = 0; k < NR_RX; k++) {
		unsigned char buf[32 * 8];
		uint16_t ids[32] = {0};
		size_t m = 0;
		struct sdrv_netif_rx_pkt got, want = expected_rx(rx_pkts[k], ids);

		for (size_t r = 0; r < NR_ROWS; r++)
			if (rows[r].ring == 1 && rows[r].pkt == rx_pkts[k])
				memcpy(buf + 8 * m++, slots + idx[r] * BLOB_SLOT, 8);
		CHECK(sdrv_netif_rx_decode(buf, m, &got) == 0 &&
			  memcmp(&got, &want, sizeof(got)) == 0,
		      "i386 rx packet %d", rx_pkts[k]);
	}
	for (size_t r = 0; r < NR_ROWS; r++) {
		if (rows[r].kind == K_CQ) {
			struct sdrv_netif_ctrl_req q;

			CHECK(sdrv_netif_ctrl_decode_req(slots + r * BLOB_SLOT, 16, &cfg, &q) ==
				      0 &&
				  q.id == rows[r].id && q.type == rows[r].type,
			      "i386 control request %zu", r);
		} else if (rows[r].kind == K_CP) {
			struct sdrv_netif_ctrl_response p;

			CHECK(sdrv_netif_ctrl_decode_rsp(slots + r * BLOB_SLOT, 12, &p) == 0 &&
				  p.status == rows[r].value && p.data == rows[r].d[0],
			      "i386 control response %zu", r);
		}
	}
	free(file);
}

/* --------------------------- 3. the Toeplitz hash ------------------------ */

static void toeplitz_against_xen(void)
{
	uint64_t rng = 0x746f65706c69747aull;
	uint8_t key[64], data[64];

	for (unsigned it = 0; it < tu_scaled(20000, 500); it++) {
		unsigned klen = (unsigned)(tu_rand(&rng) % 45),
			 dlen = (unsigned)(tu_rand(&rng) % 41);
		uint32_t ours, xen;

		for (unsigned i = 0; i < sizeof(key); i++)
			key[i] = (uint8_t)tu_rand(&rng);
		for (unsigned i = 0; i < sizeof(data); i++)
			data[i] = (uint8_t)tu_rand(&rng);
		ours = sdrv_netif_toeplitz(key, klen, data, dlen);
		xen = xen_netif_toeplitz_hash(key, klen, data, dlen);
		if (ours != xen) {
			CHECK(ours == xen, "key %u bytes, data %u bytes: %#x, Xen %#x", klen, dlen,
			      ours, xen);
			break;
		}
	}
}

int main(int argc, char **argv)
{
	const char *bdir = getenv("top_builddir");
	char *path = NULL;

	tu_watchdog(60, "netif-xen");
	if (argc > 1)
		path = strdup(argv[1]);
	else if (asprintf(&path, "%s/tests/interop/netif-xen-i386.elf", bdir ? bdir : ".") < 0)
		path = NULL;
	if (!path) {
		perror("path");
		return TU_FAIL;
	}
	xen_front_our_back_tx();
	our_front_xen_back_tx();
	our_back_xen_front_rx();
	xen_back_our_front_rx();
	ctrl_both_ways();
	toeplitz_against_xen();
	i386_structures(path);
	free(path);
	if (failures) {
		fprintf(stderr, "netif-xen: %d check(s) failed\n", failures);
		return TU_FAIL;
	}
	printf("PASS: netif codec against Xen's netif.h: layouts (native and i386), tx and rx "
	       "both ways, the control ring both ways, i386 frames, Toeplitz against Xen's\n");
	return TU_PASS;
}
#endif
