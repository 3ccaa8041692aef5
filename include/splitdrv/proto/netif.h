/* SPDX-License-Identifier: MIT */
/**
 * @file netif.h
 * @brief Network device protocol (netif): wire layouts of the ring entries.
 *
 * The layouts are byte-compatible with Xen's public `io/netif.h`. A network
 * device uses up to three rings: the transmit ring (struct
 * sdrv_netif_tx_request / struct sdrv_netif_tx_response), the receive ring
 * (struct sdrv_netif_rx_request / struct sdrv_netif_rx_response) and the
 * optional control ring (struct sdrv_netif_ctrl_request / struct
 * sdrv_netif_ctrl_response). A struct sdrv_netif_extra_info may take the
 * place of a tx request or an rx response, when the preceding slot's flags
 * say so. Unlike blkif, netif has the same layout on every ABI.
 *
 * The first half of this header describes bytes. The second half is the
 * codec (libsplitdrv/netif.c), pure functions modelled on Linux's
 * xen-netback and xen-netfront:
 *
 *  - transmit, backend side: sdrv_netif_tx_decode() turns the caller's
 *    private copies of the slots of one packet into a validated struct
 *    sdrv_netif_tx_pkt; sdrv_netif_tx_make_rsp() and
 *    sdrv_netif_tx_encode_rsp() answer every slot of it. Frontend side:
 *    sdrv_netif_tx_prepare() and sdrv_netif_tx_encode_req() write a packet,
 *    sdrv_netif_tx_decode_rsp() reads the answers;
 *  - receive, frontend side: sdrv_netif_rx_encode_req() posts buffers,
 *    sdrv_netif_rx_decode() validates the responses of one packet. Backend
 *    side: sdrv_netif_rx_decode_req(), then sdrv_netif_rx_prepare() and
 *    sdrv_netif_rx_encode_rsp() fill the responses;
 *  - the control ring: sdrv_netif_ctrl_decode_req() and friends, with
 *    overflow-safe checks of every size and offset (XSA-270);
 *  - the Toeplitz hash of the control ring's hash algorithm
 *    (sdrv_netif_toeplitz(), sdrv_netif_hash_frame()).
 *
 * The decoders never touch shared memory on their own: the caller copies
 * the slots out of the ring first (sdrv_ring_back_take_reqs() and friends
 * give such copies), so a peer cannot change a slot between its validation
 * and its use (XSA-155). The encoders zero every slot they write, so no
 * padding byte ever carries old memory (XSA-216).
 *
 * A packet's decoder says one of four things, in its return value:
 *  - 0: the packet is valid; use the description;
 *  - -SDRV_EAGAIN: the packet continues past the slots given; take more
 *    from the ring and call again with all of them (the decoders keep no
 *    state);
 *  - -SDRV_EBADMSG, *drop*: the packet is malformed in a way Linux treats
 *    as a packet error. Answer every one of its slots with an error (tx:
 *    sdrv_netif_tx_make_rsp() with SDRV_NETIF_RSP_ERROR) or recycle them
 *    (rx), skip `nr_slots` slots and carry on;
 *  - -SDRV_EPROTO, *fatal*: the peer broke the protocol in a way Linux
 *    treats as malice ("fatal error; disabling device"). Stop the
 *    interface (sdrv_ring_set_broken()).
 *
 * The description's `reason` (enum sdrv_netif_reason) names the rule, and
 * sdrv_netif_reason() gives it as text; doc/net.md lists which Linux check
 * each rule mirrors.
 *
 * A backend's transmit loop, in outline:
 * @code
 *   unsigned char slots[SDRV_NETIF_TX_MAX_PACKET_SLOTS * SDRV_NETIF_TX_ENTRY_SIZE];
 *   size_t have = 0;   // slots copied but not yet consumed
 *   struct sdrv_netif_tx_pkt pkt;
 *   struct sdrv_netif_tx_response rsp;
 *
 *   for (;;) {
 *           int32_t got = sdrv_ring_back_take_reqs(&ring, slots + have * 12,
 *                                                  SDRV_NETIF_TX_MAX_PACKET_SLOTS - have);
 *           have += got > 0 ? got : 0;
 *           int err = sdrv_netif_tx_decode(slots, have, NULL, &pkt);
 *           if (err == -SDRV_EAGAIN)
 *                   break;                       // wait for the frontend
 *           if (err == -SDRV_EPROTO) {
 *                   sdrv_ring_set_broken(&ring, sdrv_netif_reason(pkt.reason));
 *                   break;
 *           }
 *           if (err == 0)
 *                   send the packet: grant-copy or map frag[0 .. nr_frags-1],
 *                   except those of size 0 (XSA-448);
 *           for (uint32_t k = 0; k < pkt.nr_slots; k++) {
 *                   sdrv_netif_tx_make_rsp(&pkt, k, sdrv_netif_tx_status_for(err), &rsp);
 *                   sdrv_netif_tx_encode_rsp(&rsp, sdrv_ring_back_next_rsp(&ring), 12);
 *           }
 *           move the `have - pkt.nr_slots` slots after the packet to the front;
 *   }
 * @endcode
 *
 * The header is freestanding: it needs only the compiler's stdint.h,
 * stddef.h and stdbool.h.
 */
#ifndef SPLITDRV_PROTO_NETIF_H
#define SPLITDRV_PROTO_NETIF_H

#include <splitdrv/common.h>

SDRV_BEGIN_DECLS

/**
 * @defgroup netif_limits netif limits
 * @{
 */
/** @brief Slots per packet that every backend must accept. */
#define SDRV_NETIF_NR_SLOTS_MIN 18
/** @brief Largest packet a tx request can describe (sdrv_netif_tx_request::size). */
#define SDRV_NETIF_MAX_TX_SIZE 0xFFFF
/** @} */

/**
 * @defgroup netif_txf netif tx request flags
 * @brief Bits of sdrv_netif_tx_request::flags.
 * @{
 */
#define SDRV_NETTXF_CSUM_BLANK	   (1u << 0) /**< The protocol checksum is not yet computed. */
#define SDRV_NETTXF_DATA_VALIDATED (1u << 1) /**< The checksum was validated. */
#define SDRV_NETTXF_MORE_DATA	   (1u << 2) /**< The packet continues in the next slot. */
#define SDRV_NETTXF_EXTRA_INFO	   (1u << 3) /**< An extra-info slot follows this one. */
/** @} */

/**
 * @defgroup netif_rxf netif rx response flags
 * @brief Bits of sdrv_netif_rx_response::flags.
 * @{
 */
#define SDRV_NETRXF_DATA_VALIDATED (1u << 0) /**< The checksum was validated. */
#define SDRV_NETRXF_CSUM_BLANK	   (1u << 1) /**< The protocol checksum is not yet computed. */
#define SDRV_NETRXF_MORE_DATA	   (1u << 2) /**< The packet continues in the next slot. */
#define SDRV_NETRXF_EXTRA_INFO	   (1u << 3) /**< An extra-info slot follows this one. */
#define SDRV_NETRXF_GSO_PREFIX	   (1u << 4) /**< Deprecated: GSO prefix descriptor. */
/** @} */

/**
 * @defgroup netif_extra netif extra-info types and flags
 * @brief Values of sdrv_netif_extra_info::type and sdrv_netif_extra_info::flags.
 * @{
 */
#define SDRV_NETIF_EXTRA_TYPE_NONE	0	  /**< Never used: invalid. */
#define SDRV_NETIF_EXTRA_TYPE_GSO	1	  /**< Segmentation offload (u.gso). */
#define SDRV_NETIF_EXTRA_TYPE_MCAST_ADD 2	  /**< Add a multicast address (u.mcast). */
#define SDRV_NETIF_EXTRA_TYPE_MCAST_DEL 3	  /**< Remove a multicast address (u.mcast). */
#define SDRV_NETIF_EXTRA_TYPE_HASH	4	  /**< Packet hash (u.hash). */
#define SDRV_NETIF_EXTRA_TYPE_MAX	5	  /**< One past the last valid type. */
#define SDRV_NETIF_EXTRA_FLAG_MORE	(1u << 0) /**< Another extra-info slot follows. */
/** @} */

/**
 * @defgroup netif_gso netif GSO types
 * @brief Values of sdrv_netif_extra_info::u.gso.type.
 * @{
 */
#define SDRV_NETIF_GSO_TYPE_NONE  0 /**< No segmentation. */
#define SDRV_NETIF_GSO_TYPE_TCPV4 1 /**< TCP over IPv4. */
#define SDRV_NETIF_GSO_TYPE_TCPV6 2 /**< TCP over IPv6. */
/** @} */

/**
 * @defgroup netif_status netif response status
 * @brief Values of the tx and rx response status (rx: > 0 is a byte count).
 * @{
 */
#define SDRV_NETIF_RSP_DROPPED (-2) /**< The packet was dropped. */
#define SDRV_NETIF_RSP_ERROR   (-1) /**< The request failed. */
#define SDRV_NETIF_RSP_OKAY    0    /**< The request succeeded. */
#define SDRV_NETIF_RSP_NULL    1    /**< No response: the slot held extra info. */
/** @} */

/**
 * @defgroup netif_ctrl netif control ring values
 * @brief Request types, status codes, hash types and algorithms of the control ring.
 * @{
 */
#define SDRV_NETIF_CTRL_TYPE_INVALID		   0  /**< Invalid request. */
#define SDRV_NETIF_CTRL_TYPE_GET_HASH_FLAGS	   1  /**< Query the hash types supported. */
#define SDRV_NETIF_CTRL_TYPE_SET_HASH_FLAGS	   2  /**< Select the hash types. */
#define SDRV_NETIF_CTRL_TYPE_SET_HASH_KEY	   3  /**< Set the hash key from a granted page. */
#define SDRV_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE 4  /**< Query the largest mapping table. */
#define SDRV_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE 5  /**< Set the mapping table size. */
#define SDRV_NETIF_CTRL_TYPE_SET_HASH_MAPPING	   6  /**< Set mapping table entries. */
#define SDRV_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM	   7  /**< Select the hash algorithm. */
#define SDRV_NETIF_CTRL_TYPE_GET_GREF_MAPPING_SIZE 8  /**< Query how many grant mappings fit. */
#define SDRV_NETIF_CTRL_TYPE_ADD_GREF_MAPPING	   9  /**< Add persistent grant mappings. */
#define SDRV_NETIF_CTRL_TYPE_DEL_GREF_MAPPING	   10 /**< Remove persistent grant mappings. */

#define SDRV_NETIF_CTRL_STATUS_SUCCESS		 0 /**< The operation succeeded. */
#define SDRV_NETIF_CTRL_STATUS_NOT_SUPPORTED	 1 /**< The operation is not supported. */
#define SDRV_NETIF_CTRL_STATUS_INVALID_PARAMETER 2 /**< A parameter is invalid. */
#define SDRV_NETIF_CTRL_STATUS_BUFFER_OVERFLOW	 3 /**< A size exceeds what the backend supports. */

#define SDRV_NETIF_CTRL_HASH_TYPE_IPV4 (1u << 0) /**< Hash over IPv4 addresses. */
#define SDRV_NETIF_CTRL_HASH_TYPE_IPV4_TCP                                                         \
	(1u << 1)				 /**< Hash over IPv4 addresses and TCP ports.      \
						  */
#define SDRV_NETIF_CTRL_HASH_TYPE_IPV6 (1u << 2) /**< Hash over IPv6 addresses. */
#define SDRV_NETIF_CTRL_HASH_TYPE_IPV6_TCP                                                         \
	(1u << 3) /**< Hash over IPv6 addresses and TCP ports.                                     \
		   */

#define SDRV_NETIF_CTRL_HASH_ALGORITHM_NONE	0 /**< No hashing. */
#define SDRV_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ 1 /**< The Toeplitz hash. */

/** @brief sdrv_netif_gref::flags: map the grant read-only. */
#define SDRV_NETIF_CTRLF_GREF_READONLY (1u << 0)
/** @} */

/** @brief A transmit request: one slot of a packet (12 bytes). */
struct sdrv_netif_tx_request {
	uint32_t gref;	 /**< Grant reference of the page holding the data. */
	uint16_t offset; /**< Offset of the data within the page. */
	uint16_t flags;	 /**< SDRV_NETTXF_*. */
	uint16_t id;	 /**< Echoed in the response. */
	uint16_t size;	 /**< First slot: size of the whole packet; others: of this slot. */
};

/** @brief A transmit response (4 bytes). */
struct sdrv_netif_tx_response {
	uint16_t id;	/**< From the request. */
	int16_t status; /**< SDRV_NETIF_RSP_*. */
};

/** @brief A receive request: a granted buffer for the backend to fill (8 bytes). */
struct sdrv_netif_rx_request {
	uint16_t id;	/**< Echoed in the response. */
	uint16_t _pad0; /**< Padding, zero (Xen's `pad`). */
	uint32_t gref;	/**< Grant reference of the buffer page. */
};

/** @brief A receive response (8 bytes). */
struct sdrv_netif_rx_response {
	uint16_t id;	 /**< From the request. */
	uint16_t offset; /**< Offset of the data within the page. */
	uint16_t flags;	 /**< SDRV_NETRXF_*. */
	int16_t status;	 /**< Bytes received (> 0), or SDRV_NETIF_RSP_* (<= 0). */
};

/** @brief Segmentation offload parameters (extra type SDRV_NETIF_EXTRA_TYPE_GSO). */
struct sdrv_netif_extra_gso {
	uint16_t size;	   /**< Maximum payload of each segment. */
	uint8_t type;	   /**< SDRV_NETIF_GSO_TYPE_*. */
	uint8_t pad;	   /**< Padding, zero. */
	uint16_t features; /**< Extra GSO features (none defined: zero). */
};

/** @brief A multicast address (extra types SDRV_NETIF_EXTRA_TYPE_MCAST_*). */
struct sdrv_netif_extra_mcast {
	uint8_t addr[6]; /**< The Ethernet address. */
};

/** @brief A packet hash (extra type SDRV_NETIF_EXTRA_TYPE_HASH). */
struct sdrv_netif_extra_hash {
	uint8_t type;	   /**< Bit number of a SDRV_NETIF_CTRL_HASH_TYPE_* value. */
	uint8_t algorithm; /**< SDRV_NETIF_CTRL_HASH_ALGORITHM_*. */
	uint8_t value[4];  /**< The hash, little-endian. */
};

/** @brief Type-specific part of struct sdrv_netif_extra_info. */
union sdrv_netif_extra_u {
	struct sdrv_netif_extra_gso gso;     /**< SDRV_NETIF_EXTRA_TYPE_GSO. */
	struct sdrv_netif_extra_mcast mcast; /**< SDRV_NETIF_EXTRA_TYPE_MCAST_ADD / _DEL. */
	struct sdrv_netif_extra_hash hash;   /**< SDRV_NETIF_EXTRA_TYPE_HASH. */
	uint16_t pad[3];		     /**< Size of the union. */
};

/**
 * @brief Extra information in a slot of its own (8 bytes).
 *
 * Fits both a tx request slot and an rx response slot; it follows a slot
 * whose flags carry SDRV_NETTXF_EXTRA_INFO / SDRV_NETRXF_EXTRA_INFO.
 */
struct sdrv_netif_extra_info {
	uint8_t type;		    /**< SDRV_NETIF_EXTRA_TYPE_*. */
	uint8_t flags;		    /**< SDRV_NETIF_EXTRA_FLAG_*. */
	union sdrv_netif_extra_u u; /**< Selected by type. */
};

/** @brief A control ring request (16 bytes). */
struct sdrv_netif_ctrl_request {
	uint16_t id;	  /**< Echoed in the response. */
	uint16_t type;	  /**< SDRV_NETIF_CTRL_TYPE_*. */
	uint32_t data[3]; /**< Type-specific arguments. */
};

/** @brief A control ring response (12 bytes); responses may come out of order. */
struct sdrv_netif_ctrl_response {
	uint16_t id;	 /**< From the request. */
	uint16_t type;	 /**< From the request. */
	uint32_t status; /**< SDRV_NETIF_CTRL_STATUS_*. */
	uint32_t data;	 /**< Type-specific result. */
};

/** @brief An entry of the grant mapping table of the *_GREF_MAPPING control requests (8 bytes). */
struct sdrv_netif_gref {
	uint32_t ref;	 /**< Grant reference (in). */
	uint16_t flags;	 /**< SDRV_NETIF_CTRLF_GREF_* (in). */
	uint16_t status; /**< SDRV_NETIF_CTRL_STATUS_* (out). */
};

/** @brief Bytes per transmit ring entry: max(request, response). */
#define SDRV_NETIF_TX_ENTRY_SIZE 12
/** @brief Bytes per receive ring entry: max(request, response). */
#define SDRV_NETIF_RX_ENTRY_SIZE 8
/** @brief Bytes per control ring entry: max(request, response). */
#define SDRV_NETIF_CTRL_ENTRY_SIZE 16

/** @cond INTERNAL */
#ifdef __cplusplus
#define SDRV__NETIF_ASSERT static_assert
#else
#define SDRV__NETIF_ASSERT _Static_assert
#endif
#define SDRV__NETIF_AT(t, m, off) SDRV__NETIF_ASSERT(offsetof(t, m) == (off), #t "." #m " offset")
SDRV__NETIF_ASSERT(sizeof(struct sdrv_netif_tx_request) == 12, "netif tx request size");
SDRV__NETIF_ASSERT(sizeof(struct sdrv_netif_tx_response) == 4, "netif tx response size");
SDRV__NETIF_ASSERT(sizeof(struct sdrv_netif_rx_request) == 8, "netif rx request size");
SDRV__NETIF_ASSERT(sizeof(struct sdrv_netif_rx_response) == 8, "netif rx response size");
SDRV__NETIF_ASSERT(sizeof(struct sdrv_netif_extra_info) == 8, "netif extra info size");
SDRV__NETIF_ASSERT(sizeof(struct sdrv_netif_ctrl_request) == 16, "netif ctrl request size");
SDRV__NETIF_ASSERT(sizeof(struct sdrv_netif_ctrl_response) == 12, "netif ctrl response size");
SDRV__NETIF_ASSERT(sizeof(struct sdrv_netif_gref) == 8, "netif gref size");
SDRV__NETIF_AT(struct sdrv_netif_tx_request, size, 10);
SDRV__NETIF_AT(struct sdrv_netif_rx_request, gref, 4);
SDRV__NETIF_AT(struct sdrv_netif_rx_response, status, 6);
SDRV__NETIF_AT(struct sdrv_netif_extra_info, u.gso.features, 6);
SDRV__NETIF_AT(struct sdrv_netif_extra_info, u.hash.value, 4);
SDRV__NETIF_AT(struct sdrv_netif_ctrl_response, data, 8);
#undef SDRV__NETIF_AT
#undef SDRV__NETIF_ASSERT
/** @endcond */

/* ------------------------------------------------------------------------ */
/* The codec                                                                */
/* ------------------------------------------------------------------------ */

/**
 * @defgroup netif_codec_limits netif codec limits
 * @brief The bounds the codec enforces, after Linux's xen-netback and xen-netfront.
 * @{
 */
/** @brief Bytes of a granted page: no slot's data may cross it (XEN_PAGE_SIZE). */
#define SDRV_NETIF_PAGE_SIZE 4096u
/** @brief Smallest first slot of a transmitted packet: an Ethernet header (ETH_HLEN). */
#define SDRV_NETIF_ETH_HLEN 14u
/** @brief Distinct extra-info types, so the longest extra-info chain the codec accepts. */
#define SDRV_NETIF_MAX_EXTRAS (SDRV_NETIF_EXTRA_TYPE_MAX - 1)
/**
 * @brief Slots after the first a transmitted packet may use; more and it is
 *        dropped (Linux netback's XEN_NETBK_LEGACY_SLOTS_MAX).
 *
 * Counted as Linux counts them: the first slot is not included, so a
 * packet of up to 19 data slots is accepted.
 */
#define SDRV_NETIF_TX_LEGACY_SLOTS_MAX 18u
/**
 * @brief Default slots after the first beyond which the frontend is
 *        malicious (Linux netback's fatal_skb_slots): 21 or more is fatal.
 */
#define SDRV_NETIF_TX_FATAL_SLOTS 20u
/** @brief Largest sdrv_netif_tx_limits::fatal_slots. */
#define SDRV_NETIF_TX_FATAL_SLOTS_MAX 32u
/** @brief Data slots of an accepted transmitted packet, at most: the first and 18 more. */
#define SDRV_NETIF_TX_MAX_FRAGS (1u + SDRV_NETIF_TX_LEGACY_SLOTS_MAX)
/**
 * @brief Most slots sdrv_netif_tx_decode() reads for one packet: the first,
 *        four extra-info slots and SDRV_NETIF_TX_FATAL_SLOTS_MAX more.
 *
 * A caller that passes this many slots (or every slot the frontend has
 * published) never gets -SDRV_EAGAIN for a packet that is there.
 */
#define SDRV_NETIF_TX_MAX_PACKET_SLOTS (1u + SDRV_NETIF_MAX_EXTRAS + SDRV_NETIF_TX_FATAL_SLOTS_MAX)
/**
 * @brief Data slots a received packet may use (Linux netfront: XEN_NETIF_NR_SLOTS_MIN,
 *        one more when the first slot holds at most SDRV_NETIF_RX_COPY_THRESHOLD bytes).
 */
#define SDRV_NETIF_RX_MAX_SLOTS 18u
/** @brief Linux netfront's RX_COPY_THRESHOLD: see SDRV_NETIF_RX_MAX_SLOTS. */
#define SDRV_NETIF_RX_COPY_THRESHOLD 256u
/** @brief Data slots of an accepted received packet, at most. */
#define SDRV_NETIF_RX_MAX_FRAGS (SDRV_NETIF_RX_MAX_SLOTS + 1u)
/**
 * @brief Data slots beyond which a received packet is fatal: the bound
 *        netback puts on frontends (SDRV_NETIF_TX_FATAL_SLOTS after the first).
 */
#define SDRV_NETIF_RX_FATAL_SLOTS (1u + SDRV_NETIF_TX_FATAL_SLOTS)
/** @brief Most slots sdrv_netif_rx_decode() reads for one packet. */
#define SDRV_NETIF_RX_MAX_PACKET_SLOTS (SDRV_NETIF_MAX_EXTRAS + SDRV_NETIF_RX_FATAL_SLOTS)
/**
 * @brief Largest received packet: an IP datagram of 65535 bytes in an
 *        Ethernet frame with one VLAN tag (14 + 4 bytes of header).
 */
#define SDRV_NETIF_RX_MAX_SIZE (0xFFFFu + 18u)
/** @brief Largest hash key Linux netback takes (XEN_NETBK_MAX_HASH_KEY_SIZE). */
#define SDRV_NETIF_MAX_HASH_KEY_SIZE 40u
/** @brief Hash mapping table entries Linux netback offers (XEN_NETBK_MAX_HASH_MAPPING_SIZE). */
#define SDRV_NETIF_MAX_HASH_MAPPING_SIZE 128u
/** @brief Mapping table entries in one granted page (4096 / 4). */
#define SDRV_NETIF_HASH_MAPPING_PER_PAGE (SDRV_NETIF_PAGE_SIZE / 4u)
/** @} */

/**
 * @defgroup netif_pktflags netif packet flags
 * @brief Bits of sdrv_netif_tx_pkt::flags and sdrv_netif_rx_pkt::flags.
 *
 * The same in both directions, unlike the wire, where NETTXF_ and NETRXF_
 * put the two checksum bits in opposite order.
 * @{
 */
#define SDRV_NETIF_PKT_CSUM_BLANK     (1u << 0) /**< The protocol checksum is not yet computed. */
#define SDRV_NETIF_PKT_DATA_VALIDATED (1u << 1) /**< The checksum was validated. */
/** @} */

/**
 * @brief The bit of extra-info type `type` (SDRV_NETIF_EXTRA_TYPE_*) in
 *        sdrv_netif_tx_pkt::extras and sdrv_netif_rx_pkt::extras.
 */
#define SDRV_NETIF_EXTRA_BIT(type) (1u << (type))

/**
 * @brief Why the codec refused a packet: sdrv_netif_tx_pkt::reason and
 *        sdrv_netif_rx_pkt::reason.
 *
 * The return value says what to do (drop or fatal); this says which rule.
 * In brackets: the class in each direction, and the Linux check mirrored.
 */
enum sdrv_netif_reason {
	SDRV_NETIF_R_NONE = 0,	    /**< Accepted. */
	SDRV_NETIF_R_NEED_MORE = 1, /**< The packet continues past the slots given. */
	SDRV_NETIF_R_TOO_MANY =
	    2, /**< More data slots than the limit (drop; tx "Too many slots"). */
	SDRV_NETIF_R_MALICIOUS = 3, /**< More data slots than the fatal limit (fatal). */
	SDRV_NETIF_R_SLOT_SIZE = 4, /**< tx: a slot larger than the rest of the packet (drop). */
	SDRV_NETIF_R_RUNT =
	    5, /**< tx: the first slot holds < 14 bytes (drop; "Bad packet size"). */
	SDRV_NETIF_R_CROSS_PAGE = 6, /**< offset + size > 4096 (tx fatal, rx drop). */
	SDRV_NETIF_R_EXTRA_TYPE = 7, /**< Extra-info type 0 or >= MAX (tx fatal, rx drop). */
	SDRV_NETIF_R_EXTRA_REPEATED =
	    8, /**< An extra-info type twice in a packet (tx fatal, rx drop). */
	SDRV_NETIF_R_EXTRA_CHAIN = 9, /**< rx: more than four extra-info slots (fatal). */
	SDRV_NETIF_R_GSO_SIZE = 10,   /**< GSO extra with size 0 (tx fatal, rx drop). */
	SDRV_NETIF_R_GSO_TYPE = 11,   /**< GSO type neither TCPv4 nor TCPv6 (tx fatal, rx drop). */
	SDRV_NETIF_R_STATUS = 12,     /**< rx: a data slot with status <= 0 (drop). */
	SDRV_NETIF_R_TOO_BIG = 13,    /**< rx: more than SDRV_NETIF_RX_MAX_SIZE bytes (drop). */
};

/** @brief Segmentation offload of a packet (the validated GSO extra). */
struct sdrv_netif_gso {
	uint16_t size;	   /**< Largest segment payload (the MSS), > 0. */
	uint8_t type;	   /**< SDRV_NETIF_GSO_TYPE_TCPV4 or SDRV_NETIF_GSO_TYPE_TCPV6. */
	uint8_t _pad0;	   /**< Padding, zero. */
	uint16_t features; /**< GSO features as sent (none are defined). */
};

/** @brief The hash of a packet (the HASH extra, or sdrv_netif_hash_frame()'s result). */
struct sdrv_netif_hash {
	uint32_t value;	   /**< The hash (little-endian on the wire). */
	uint8_t type;	   /**< Bit number of a SDRV_NETIF_CTRL_HASH_TYPE_* value, 0..3. */
	uint8_t algorithm; /**< SDRV_NETIF_CTRL_HASH_ALGORITHM_*, as sent. */
	uint16_t _pad0;	   /**< Padding, zero. */
};

/** @brief One data slot of a transmitted packet. */
struct sdrv_netif_tx_frag {
	uint32_t gref;	 /**< Grant of the page holding the data. */
	uint16_t offset; /**< Offset of the data in the page. */
	/** Bytes in this slot; offset + size <= 4096. For the first slot the
	 *  packet size minus the other slots' (the wire's first size is the
	 *  packet's). A size of 0 (only after the first) is a no-op: answer
	 *  it SDRV_NETIF_RSP_OKAY and never map or check its grant (XSA-448). */
	uint16_t size;
	uint16_t id;   /**< The slot's id, for its response. */
	uint16_t slot; /**< Index of the slot among the packet's slots (0: the first). */
};

/**
 * @brief A transmitted packet in private memory.
 *
 * Filled by sdrv_netif_tx_decode() (backend), or by a frontend for
 * sdrv_netif_tx_prepare(). The slots of a packet are, in order: the first
 * data slot, `nr_extras` extra-info slots, the other data slots. Members
 * that do not apply are zero, so two descriptions compare with memcmp().
 *
 * A multicast control request (an extra-info of type MCAST_ADD or
 * MCAST_DEL) carries no data: nr_frags and size are 0, the id of its one
 * request slot is slot_id[0], and only its multicast extras are kept (Linux
 * netback answers it at once and reads no data slots, whatever its flags).
 */
struct sdrv_netif_tx_pkt {
	uint32_t size;	    /**< Packet bytes: the sum of frag[].size, 14..65535 (0: control). */
	uint16_t nr_slots;  /**< Request slots of the packet: responses to write, slots to skip. */
	uint16_t nr_frags;  /**< Data slots, 1..SDRV_NETIF_TX_MAX_FRAGS (0: control). */
	uint16_t nr_extras; /**< Extra-info slots, 0..4. */
	uint16_t nr_empty;  /**< Data slots of size 0 (see sdrv_netif_tx_frag::size). */
	uint16_t flags;	    /**< SDRV_NETIF_PKT_* from the first slot. */
	uint16_t extras;    /**< SDRV_NETIF_EXTRA_BIT() of each extra-info type present. */
	uint16_t reason;    /**< enum sdrv_netif_reason. */
	uint16_t _pad0;	    /**< Padding, zero. */
	struct sdrv_netif_hash
	    hash; /**< With the HASH extra (types above 3 are ignored, as Linux). */
	struct sdrv_netif_gso gso; /**< With the GSO extra. */
	uint8_t mcast_add[6];	   /**< With the MCAST_ADD extra: the address. */
	uint8_t mcast_del[6];	   /**< With the MCAST_DEL extra: the address. */
	/** The id of every slot, for the responses (extra-info slots: 0). */
	uint16_t slot_id[SDRV_NETIF_TX_MAX_PACKET_SLOTS];
	/** The data slots, nr_frags of them, in packet order. */
	struct sdrv_netif_tx_frag frag[SDRV_NETIF_TX_MAX_FRAGS];
};

/**
 * @brief Transmit bounds of a backend.
 *
 * An option structure: zero-fill it, set `sz` to its sizeof, then the
 * members; a member left zero takes its default. NULL means all defaults.
 */
struct sdrv_netif_tx_limits {
	size_t sz; /**< sizeof(struct sdrv_netif_tx_limits). */
	/** Slots after the first beyond which the frontend is malicious:
	 *  0 (SDRV_NETIF_TX_FATAL_SLOTS, Linux's default) or
	 *  SDRV_NETIF_TX_LEGACY_SLOTS_MAX .. SDRV_NETIF_TX_FATAL_SLOTS_MAX. */
	uint32_t fatal_slots;
	uint32_t _pad0; /**< Reserved, zero. */
};

/** @brief One data slot of a received packet. */
struct sdrv_netif_rx_frag {
	uint16_t offset; /**< Offset of the data in the buffer page. */
	uint16_t size;	 /**< Bytes (the response's status), 1..4096 - offset. */
	uint16_t id;	 /**< The response's id, as read (Linux netfront ignores it). */
	/** Index of the slot among the packet's; the buffer is the one posted
	 *  in the same ring slot (responses appear where their request was). */
	uint16_t slot;
};

/**
 * @brief A received packet in private memory.
 *
 * Filled by sdrv_netif_rx_decode() (frontend), or by a backend for
 * sdrv_netif_rx_prepare(). The slots of a packet are, in order: the first
 * data slot, `nr_extras` extra-info slots, the other data slots; every one
 * of them used up one posted request. Only GSO and HASH extras mean
 * anything here; others are skipped.
 */
struct sdrv_netif_rx_pkt {
	uint32_t size;		     /**< Packet bytes: the sum of frag[].size. */
	uint16_t nr_slots;	     /**< Ring slots of the packet (requests used up). */
	uint16_t nr_frags;	     /**< Data slots, 1..SDRV_NETIF_RX_MAX_FRAGS. */
	uint16_t nr_extras;	     /**< Extra-info slots, 0..4. */
	uint16_t flags;		     /**< SDRV_NETIF_PKT_* from the first slot. */
	uint16_t extras;	     /**< SDRV_NETIF_EXTRA_BIT() of GSO and HASH when present. */
	uint16_t reason;	     /**< enum sdrv_netif_reason. */
	struct sdrv_netif_hash hash; /**< With the HASH extra. */
	struct sdrv_netif_gso gso;   /**< With the GSO extra. */
	uint16_t _pad0;		     /**< Padding, zero. */
	/** The data slots, nr_frags of them, in packet order. */
	struct sdrv_netif_rx_frag frag[SDRV_NETIF_RX_MAX_FRAGS];
};

/**
 * @brief Decode and validate the slots of one transmitted packet (backend side).
 *
 * `slots` are the caller's private copies of consecutive tx ring entries,
 * SDRV_NETIF_TX_ENTRY_SIZE bytes each, the first being the first slot of
 * a packet; never the shared ring itself. Each slot is read once. The rules
 * are Linux netback's (xenvif_tx_build_gops(), xenvif_get_extras(),
 * xenvif_count_requests(), xenvif_set_skb_gso()), in its order:
 *  1. extra-info slots (when the first has SDRV_NETTXF_EXTRA_INFO, chained
 *     by SDRV_NETIF_EXTRA_FLAG_MORE): type 0 or >= MAX is fatal; so is a
 *     type seen before in the packet (Linux lets the later one win; the
 *     codec refuses, which bounds the chain to four slots);
 *  2. a multicast request (MCAST_ADD or MCAST_DEL extra) ends there;
 *  3. the data slots after the first (SDRV_NETTXF_MORE_DATA): more than
 *     fatal_slots of them is fatal; more than 18 drops the packet; a slot
 *     larger than what remains of the first slot's size drops it (a frame
 *     of 64 KiB or more, which overflows the 16-bit size: Linux keeps this
 *     a drop because buggy frontends do it); a slot whose offset + size
 *     passes 4096 is fatal, also in a packet already dropped and also for a
 *     slot of size 0;
 *  4. the first slot's own bytes (its size minus the others) below 14
 *     drop the packet; its offset + own bytes past 4096 is fatal;
 *  5. a GSO extra of size 0, or of a type other than TCPv4 and TCPv6, is
 *     fatal.
 * Data slots of size 0 after the first are accepted as no-ops (XSA-448).
 *
 * @param slots the copies, nr * SDRV_NETIF_TX_ENTRY_SIZE bytes
 * @param nr    how many slots are at `slots`
 * @param lim   the backend's limits, or NULL for Linux's
 * @param pkt   the result. On success the validated packet. On a drop, only
 *              nr_slots, nr_extras, slot_id[] (what answering needs) and
 *              reason. On a fatal error or -SDRV_EAGAIN, only reason and
 *              nr_slots (slots read; for -SDRV_EAGAIN, nr + 1: at least
 *              that many are needed). All zero on -SDRV_EINVAL.
 * @return 0; -SDRV_EAGAIN when the packet continues past the nr slots
 *         (also for nr == 0); -SDRV_EBADMSG: drop the packet; -SDRV_EPROTO:
 *         fatal; -SDRV_EINVAL for bad arguments
 */
SDRV_API int sdrv_netif_tx_decode(const void *slots, size_t nr,
				  const struct sdrv_netif_tx_limits *lim,
				  struct sdrv_netif_tx_pkt *pkt);

/**
 * @brief The response to slot `k` of a packet (backend side).
 *
 * One response per request slot, in slot order: extra-info slots get
 * SDRV_NETIF_RSP_NULL with id 0; a data slot of size 0 of an accepted
 * packet gets SDRV_NETIF_RSP_OKAY whatever `status` says (Linux answers
 * them before mapping anything); every other slot gets `status` and its id.
 *
 * @param pkt    a packet sdrv_netif_tx_decode() accepted or dropped
 * @param k      the slot, below pkt->nr_slots
 * @param status SDRV_NETIF_RSP_OKAY, _ERROR or _DROPPED (see sdrv_netif_tx_status_for())
 * @param rsp    the response
 * @return 0, or -SDRV_EINVAL (k out of range, a bad status, NULL pointers)
 */
SDRV_API int sdrv_netif_tx_make_rsp(const struct sdrv_netif_tx_pkt *pkt, uint32_t k, int16_t status,
				    struct sdrv_netif_tx_response *rsp);

/**
 * @brief Encode a tx response into a slot (backend side).
 *
 * Zeroes all `len` bytes (pass SDRV_NETIF_TX_ENTRY_SIZE to zero the whole
 * entry), then writes id and status (XSA-216).
 *
 * @param rsp  the response; status one of the four SDRV_NETIF_RSP_*
 * @param slot the entry, normally from sdrv_ring_back_next_rsp()
 * @param len  bytes at `slot`, at least 4
 * @return 0, or -SDRV_EINVAL (nothing written)
 */
SDRV_API int sdrv_netif_tx_encode_rsp(const struct sdrv_netif_tx_response *rsp, void *slot,
				      size_t len);

/**
 * @brief The tx response status for the result of decoding or sending a packet.
 * @param err 0 or a negative error
 * @return SDRV_NETIF_RSP_OKAY for 0, SDRV_NETIF_RSP_ERROR for anything
 *         else (what Linux netback answers to a dropped packet)
 */
SDRV_API int16_t sdrv_netif_tx_status_for(int err);

/**
 * @brief Check a packet a frontend is about to send, and complete its description.
 *
 * The frontend fills nr_frags, frag[i].gref/offset/size/id, flags, extras
 * and the matching gso, hash and mcast members (for a multicast request:
 * nr_frags 0, slot_id[0] and the mcast extras). The packet must be one any
 * backend accepts: 1..SDRV_NETIF_NR_SLOTS_MIN data slots, each of 1..4096
 * bytes within its page, the first of at least 14, at most 65535 in all;
 * extras GSO (valid) and HASH (type 0..3) only, or only MCAST_ADD/_DEL in a
 * multicast request; no unknown flag. Then size, nr_slots, nr_extras,
 * slot_id[] and frag[].slot are computed, and every member that does not
 * apply is zeroed, so the description is exactly what
 * sdrv_netif_tx_decode() gives back for the encoded slots.
 *
 * @return 0, or -SDRV_EINVAL (the description is left as it was)
 */
SDRV_API int sdrv_netif_tx_prepare(struct sdrv_netif_tx_pkt *pkt);

/**
 * @brief Encode slot `k` of a prepared packet (frontend side).
 *
 * Zeroes all `len` bytes, then writes the slot: the first data slot (its
 * size the packet's, SDRV_NETTXF_EXTRA_INFO and SDRV_NETTXF_MORE_DATA as
 * needed), the extra-info slots in ascending type order, the other data
 * slots. Call it for k = 0 .. nr_slots - 1 on consecutive ring entries.
 *
 * @param pkt  a packet sdrv_netif_tx_prepare() accepted
 * @param k    the slot, below pkt->nr_slots
 * @param slot the entry, normally from sdrv_ring_front_next_req()
 * @param len  bytes at `slot`, at least SDRV_NETIF_TX_ENTRY_SIZE
 * @return 0, or -SDRV_EINVAL (nothing written)
 */
SDRV_API int sdrv_netif_tx_encode_req(const struct sdrv_netif_tx_pkt *pkt, uint32_t k, void *slot,
				      size_t len);

/**
 * @brief Decode and validate a tx response (frontend side).
 *
 * The status must be one of SDRV_NETIF_RSP_OKAY, _ERROR, _DROPPED and
 * _NULL; a NULL response answers an extra-info slot and is skipped. The
 * caller checks the id against its requests in flight.
 *
 * @param slot private copy of the entry
 * @param len  bytes at `slot`, at least 4
 * @param rsp  the fields as read (also when refused)
 * @return 0; -SDRV_EPROTO for any other status (break the ring);
 *         -SDRV_EINVAL for bad arguments
 */
SDRV_API int sdrv_netif_tx_decode_rsp(const void *slot, size_t len,
				      struct sdrv_netif_tx_response *rsp);

/**
 * @brief Encode an rx request: post a buffer (frontend side).
 *
 * Zeroes all `len` bytes, then writes id and gref (the padding stays zero).
 *
 * @param req  id and gref (req->_pad0 is ignored)
 * @param slot the entry, normally from sdrv_ring_front_next_req()
 * @param len  bytes at `slot`, at least SDRV_NETIF_RX_ENTRY_SIZE
 * @return 0, or -SDRV_EINVAL
 */
SDRV_API int sdrv_netif_rx_encode_req(const struct sdrv_netif_rx_request *req, void *slot,
				      size_t len);

/**
 * @brief Decode an rx request copy (backend side).
 *
 * Only layout: any id and gref is well formed. Checking the id against the
 * ring size, and the grant when it is used, is the caller's business.
 *
 * @param slot private copy of the entry
 * @param len  bytes at `slot`, at least SDRV_NETIF_RX_ENTRY_SIZE
 * @param req  id and gref; _pad0 is zero whatever the wire held
 * @return 0, or -SDRV_EINVAL
 */
SDRV_API int sdrv_netif_rx_decode_req(const void *slot, size_t len,
				      struct sdrv_netif_rx_request *req);

/**
 * @brief Check a packet a backend is about to deliver, and complete its description.
 *
 * The backend fills nr_frags, frag[i].offset/size (where it put the bytes
 * in the buffer of the i-th data slot), flags, extras (GSO, HASH) and the
 * matching gso and hash members. The packet must be one Linux netfront
 * accepts: 1..18 data slots (19 if the first holds at most 256 bytes), each
 * of 1..4096 bytes within its page, at most SDRV_NETIF_RX_MAX_SIZE in all;
 * a valid GSO extra; a HASH extra of type 0..3. Then size, nr_slots,
 * nr_extras and frag[].slot are computed, frag[].id zeroed (the responses
 * take the requests' ids) and every member that does not apply zeroed.
 *
 * @return 0, or -SDRV_EINVAL (the description is left as it was)
 */
SDRV_API int sdrv_netif_rx_prepare(struct sdrv_netif_rx_pkt *pkt);

/**
 * @brief Encode response slot `k` of a prepared packet (backend side).
 *
 * Responses must appear in the ring slot of the request they consume
 * (Xen's netif.h: Linux netfront ignores the id and goes by position), so
 * slot k is written where the k-th request of the packet was taken from.
 * Zeroes all `len` bytes, then writes: for the first data slot, its offset
 * and size, the id of `req`, the checksum flags, SDRV_NETRXF_EXTRA_INFO
 * with extras and SDRV_NETRXF_MORE_DATA with more data slots; for
 * k = 1 .. nr_extras, the extras in ascending type order (GSO, then HASH)
 * chained with SDRV_NETIF_EXTRA_FLAG_MORE (they overlay the id); then the
 * other data slots, each with SDRV_NETRXF_MORE_DATA but the last.
 *
 * @param pkt  a packet sdrv_netif_rx_prepare() accepted
 * @param k    the slot, below pkt->nr_slots
 * @param req  the request consumed for this slot (its id is echoed;
 *             ignored, and may be NULL, for an extra-info slot)
 * @param slot the entry
 * @param len  bytes at `slot`, at least SDRV_NETIF_RX_ENTRY_SIZE
 * @return 0, or -SDRV_EINVAL (nothing written)
 */
SDRV_API int sdrv_netif_rx_encode_rsp(const struct sdrv_netif_rx_pkt *pkt, uint32_t k,
				      const struct sdrv_netif_rx_request *req, void *slot,
				      size_t len);

/**
 * @brief Decode and validate the responses of one received packet (frontend side).
 *
 * `slots` are the caller's private copies of consecutive rx ring entries,
 * SDRV_NETIF_RX_ENTRY_SIZE bytes each, the first being the first slot of a
 * packet. The rules are Linux netfront's (xennet_get_responses(),
 * xennet_get_extras(), xennet_set_skb_gso()), which drop a bad packet and
 * carry on:
 *  - drop: a data slot whose status is <= 0 (Linux: < 0; a slot of no
 *    bytes is refused here, never handed up) or whose offset + status
 *    passes 4096; an extra-info type 0 or >= MAX, or seen twice; more data
 *    slots than SDRV_NETIF_RX_MAX_SLOTS (one more when the first holds at
 *    most 256 bytes); more than SDRV_NETIF_RX_MAX_SIZE bytes in all; a GSO
 *    extra of size 0 or of a type other than TCPv4 and TCPv6;
 *  - fatal (not in Linux, which walks on to the producer index): more than
 *    four extra-info slots, or more than SDRV_NETIF_RX_FATAL_SLOTS data
 *    slots, which no backend's packet needs.
 * A packet that continues past the slots given is -SDRV_EAGAIN (Linux:
 * "Need more slots", a drop), so a caller may wait for the backend.
 *
 * @param slots the copies, nr * SDRV_NETIF_RX_ENTRY_SIZE bytes
 * @param nr    how many slots are at `slots`
 * @param pkt   the result, as for sdrv_netif_tx_decode(): on a drop,
 *              nr_slots (the slots to recycle), nr_extras and reason
 * @return 0; -SDRV_EAGAIN; -SDRV_EBADMSG: drop; -SDRV_EPROTO: fatal;
 *         -SDRV_EINVAL for bad arguments
 */
SDRV_API int sdrv_netif_rx_decode(const void *slots, size_t nr, struct sdrv_netif_rx_pkt *pkt);

/**
 * @brief The backend's hash state and capabilities, against which control
 *        requests are checked.
 *
 * An option structure: zero-fill it, set `sz` to its sizeof, then the
 * members. Zero means zero (a zeroed structure accepts no key and no
 * mapping table).
 */
struct sdrv_netif_ctrl_config {
	size_t sz;	    /**< sizeof(struct sdrv_netif_ctrl_config). */
	uint32_t algorithm; /**< The algorithm selected now: SDRV_NETIF_CTRL_HASH_ALGORITHM_*. */
	/** The hash types the backend computes (the GET_HASH_FLAGS answer):
	 *  SDRV_NETIF_CTRL_HASH_TYPE_* bits. */
	uint32_t hash_types;
	/** Largest key accepted, in bytes, at most SDRV_NETIF_PAGE_SIZE
	 *  (Linux: SDRV_NETIF_MAX_HASH_KEY_SIZE). */
	uint32_t max_key_size;
	/** Largest mapping table (the GET_HASH_MAPPING_SIZE answer; Linux:
	 *  SDRV_NETIF_MAX_HASH_MAPPING_SIZE; 0: no table). */
	uint32_t max_mapping_size;
	uint32_t mapping_size; /**< The table's size now, at most max_mapping_size. */
	uint32_t nr_queues;    /**< Queues (`multi-queue-num-queues`): table entries are below. */
};

/**
 * @brief A control request in private memory.
 *
 * Which members mean something depends on `type`; the others are zero:
 * SET_HASH_ALGORITHM and SET_HASH_FLAGS: value; SET_HASH_KEY: gref, size
 * (bytes); SET_HASH_MAPPING_SIZE: size (entries); SET_HASH_MAPPING: gref,
 * size (entries), offset (first entry).
 */
struct sdrv_netif_ctrl_req {
	uint16_t id;	 /**< Echoed in the response. */
	uint16_t type;	 /**< SDRV_NETIF_CTRL_TYPE_*. */
	uint32_t value;	 /**< The algorithm, or the hash type flags. */
	uint32_t gref;	 /**< Grant of the page holding the key or the (sub-)table. */
	uint32_t size;	 /**< Key bytes, or table entries. */
	uint32_t offset; /**< First table entry to set. */
};

/**
 * @brief Decode and validate a control request (backend side).
 *
 * `slot` is a private copy of the entry. As Linux netback's
 * process_ctrl_request() and hash.c, with the status codes of Xen's
 * netif.h; every size is checked against its bound without overflow:
 *  - INVALID, GET_GREF_MAPPING_SIZE, ADD/DEL_GREF_MAPPING (Linux has none)
 *    and unknown types: -SDRV_EOPNOTSUPP (NOT_SUPPORTED);
 *  - SET_HASH_ALGORITHM: NONE or TOEPLITZ, else -SDRV_EBADMSG;
 *  - GET_HASH_FLAGS: -SDRV_EOPNOTSUPP while the algorithm is NONE;
 *  - SET_HASH_FLAGS: the flags within cfg->hash_types and an algorithm
 *    selected, else -SDRV_EBADMSG;
 *  - SET_HASH_KEY: a size beyond its one page (4096) is -SDRV_EBADMSG
 *    (INVALID_PARAMETER), beyond cfg->max_key_size -SDRV_EMSGSIZE
 *    (BUFFER_OVERFLOW; Linux says INVALID_PARAMETER); 0 clears the key;
 *  - SET_HASH_MAPPING_SIZE: above cfg->max_mapping_size, -SDRV_EBADMSG;
 *  - SET_HASH_MAPPING: more entries than one page holds (1024),
 *    -SDRV_EMSGSIZE; offset + size past cfg->mapping_size (computed
 *    without wrapping: the XSA-270-class bug), -SDRV_EBADMSG. The entries
 *    themselves are checked by sdrv_netif_ctrl_decode_mapping() once
 *    copied.
 *
 * @param slot private copy of the entry
 * @param len  bytes at `slot`, at least 16
 * @param cfg  the backend's state
 * @param req  the request; on an error only id and type
 * @return 0, -SDRV_EOPNOTSUPP, -SDRV_EBADMSG, -SDRV_EMSGSIZE, or
 *         -SDRV_EINVAL for bad arguments (a config with a short `sz`, an
 *         unknown algorithm or hash type, max_key_size above 4096 or
 *         mapping_size above max_mapping_size)
 */
SDRV_API int sdrv_netif_ctrl_decode_req(const void *slot, size_t len,
					const struct sdrv_netif_ctrl_config *cfg,
					struct sdrv_netif_ctrl_req *req);

/**
 * @brief Decode and validate the (sub-)table of a SET_HASH_MAPPING request.
 *
 * `table` is the caller's private copy of the first 4 * req->size bytes of
 * the granted page (a grant copy); each entry is read once, into `out`,
 * and must name a queue below cfg->nr_queues (Linux checks them after the
 * copy too).
 *
 * @param req   a SET_HASH_MAPPING request sdrv_netif_ctrl_decode_req() accepted
 * @param table the copied entries (native-endian uint32_t)
 * @param len   bytes at `table`, at least 4 * req->size
 * @param cfg   the backend's state
 * @param out   where to store the entries (entry i is table entry offset + i)
 * @param max   capacity of `out`, at least req->size
 * @return 0; -SDRV_EBADMSG for an entry naming no queue (`out` is then
 *         zeroed); -SDRV_EINVAL for bad arguments
 */
SDRV_API int sdrv_netif_ctrl_decode_mapping(const struct sdrv_netif_ctrl_req *req,
					    const void *table, size_t len,
					    const struct sdrv_netif_ctrl_config *cfg, uint32_t *out,
					    size_t max);

/**
 * @brief The control response status for the result of a request.
 * @return SDRV_NETIF_CTRL_STATUS_SUCCESS for 0, _NOT_SUPPORTED for
 *         -SDRV_EOPNOTSUPP, _BUFFER_OVERFLOW for -SDRV_EMSGSIZE,
 *         _INVALID_PARAMETER for anything else
 */
SDRV_API uint32_t sdrv_netif_ctrl_status_for(int err);

/**
 * @brief The response to a control request (backend side).
 *
 * id and type from the request, the status for `err`, and the data of a
 * successful GET_HASH_FLAGS (cfg->hash_types) or GET_HASH_MAPPING_SIZE
 * (cfg->max_mapping_size); 0 otherwise.
 *
 * @return 0, or -SDRV_EINVAL for NULL pointers
 */
SDRV_API int sdrv_netif_ctrl_make_rsp(const struct sdrv_netif_ctrl_req *req, int err,
				      const struct sdrv_netif_ctrl_config *cfg,
				      struct sdrv_netif_ctrl_response *rsp);

/**
 * @brief Encode a control response into a slot (backend side).
 *
 * Zeroes all `len` bytes (pass SDRV_NETIF_CTRL_ENTRY_SIZE to zero the whole
 * entry), then writes the four fields.
 *
 * @param rsp  the response; status one of the four SDRV_NETIF_CTRL_STATUS_*
 * @param slot the entry
 * @param len  bytes at `slot`, at least 12
 * @return 0, or -SDRV_EINVAL (nothing written)
 */
SDRV_API int sdrv_netif_ctrl_encode_rsp(const struct sdrv_netif_ctrl_response *rsp, void *slot,
					size_t len);

/**
 * @brief Encode a control request into a slot (frontend side).
 *
 * Zeroes all `len` bytes, then writes id, type and the data words the type
 * uses (see struct sdrv_netif_ctrl_req).
 *
 * @param req  a request of type GET_HASH_FLAGS .. SET_HASH_ALGORITHM
 * @param slot the entry
 * @param len  bytes at `slot`, at least 16
 * @return 0, or -SDRV_EINVAL (nothing written)
 */
SDRV_API int sdrv_netif_ctrl_encode_req(const struct sdrv_netif_ctrl_req *req, void *slot,
					size_t len);

/**
 * @brief Decode and validate a control response (frontend side).
 *
 * The status must be one of the four SDRV_NETIF_CTRL_STATUS_*; the caller
 * matches id and type with its request (responses may come in any order).
 *
 * @param slot private copy of the entry
 * @param len  bytes at `slot`, at least 12
 * @param rsp  the fields as read (also when refused)
 * @return 0; -SDRV_EPROTO for an unknown status; -SDRV_EINVAL for bad arguments
 */
SDRV_API int sdrv_netif_ctrl_decode_rsp(const void *slot, size_t len,
					struct sdrv_netif_ctrl_response *rsp);

/**
 * @brief The Toeplitz hash (SDRV_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ).
 *
 * As Xen's netif.h defines it (xen_netif_toeplitz_hash()): for each bit of
 * `data`, most significant first, XOR in the left-most 32 bits of the key,
 * then shift the key left by one. Key bytes past `key_len` count as zero,
 * so a short key (or none) is allowed.
 *
 * @param key     the key (may be NULL when key_len is 0)
 * @param key_len bytes of key
 * @param data    the bytes to hash (may be NULL when len is 0)
 * @param len     bytes of data
 * @return the hash
 */
SDRV_API uint32_t sdrv_netif_toeplitz(const uint8_t *key, size_t key_len, const void *data,
				      size_t len);

/**
 * @brief Hash an Ethernet frame as Linux netback's xenvif_set_skb_hash() does.
 *
 * Reads the Ethernet header (and one 802.1Q tag), then IPv4 or IPv6. The
 * hash input is source address, destination address and, for TCP when the
 * type is enabled, source and destination port, in network byte order
 * (Xen's netif.h, "Hash types"); the IPV4_TCP or IPV6_TCP type wins over
 * IPV4 or IPV6 when both are enabled, as Xen specifies. TCP ports are not
 * used for a fragment (any IPv4 fragment, as Linux), nor behind IPv6
 * extension headers (a deviation: Linux's flow dissector walks them).
 * Every read is bounded by `len`.
 *
 * @param key     the hash key
 * @param key_len its bytes
 * @param types   SDRV_NETIF_CTRL_HASH_TYPE_* bits enabled (SET_HASH_FLAGS)
 * @param frame   the frame, from its Ethernet header
 * @param len     bytes at `frame`
 * @param hash    the hash, its type (a bit number) and algorithm TOEPLITZ
 * @return 0; -SDRV_ENOENT when no enabled type applies (not IP, too short,
 *         or the type disabled: the packet has no hash); -SDRV_EINVAL for
 *         NULL pointers
 */
SDRV_API int sdrv_netif_hash_frame(const uint8_t *key, size_t key_len, uint32_t types,
				   const void *frame, size_t len, struct sdrv_netif_hash *hash);

/**
 * @brief Where a frame's TCP or UDP header, and its checksum, are.
 *
 * What a driver needs to turn a packet the peer marked "checksum blank"
 * (SDRV_NETIF_PKT_CSUM_BLANK) into a partial checksum for the host's stack
 * (a virtio-net header's csum_start and csum_offset), as Linux netback's
 * checksum_setup() does, and a segmentation offload's header length.
 */
struct sdrv_netif_l4 {
	uint16_t csum_start;  /**< Offset of the TCP or UDP header in the frame. */
	uint16_t csum_offset; /**< Offset of its checksum field from csum_start (TCP 16, UDP 6). */
	uint16_t hdr_len;     /**< Bytes of headers: up to the end of the TCP or UDP header. */
	uint8_t proto;	      /**< 6 (TCP) or 17 (UDP). */
	uint8_t ipv6;	      /**< 1 for IPv6, 0 for IPv4. */
};

/**
 * @brief Find the transport header of an Ethernet frame.
 *
 * Reads Ethernet (one 802.1Q tag at most), IPv4 (not a fragment after the
 * first) or IPv6 (skipping hop-by-hop, routing and destination options), then
 * TCP or UDP, never reading past `len`.
 *
 * @param frame the frame, from its Ethernet header
 * @param len   its bytes
 * @param l4    the result (zeroed unless 0 is returned)
 * @return 0; -SDRV_EBADMSG for a truncated or malformed header;
 *         -SDRV_EOPNOTSUPP for another protocol; -SDRV_EINVAL for bad arguments
 */
SDRV_API int sdrv_netif_parse_l4(const void *frame, size_t len, struct sdrv_netif_l4 *l4);

/**
 * @brief Parse a MAC address as the `mac` keys of vif devices hold it.
 *
 * Exactly six pairs of hexadecimal digits (either case) joined by colons,
 * as in "00:16:3e:01:02:03", and nothing before or after: no sign, no
 * space, no one-digit byte (all of which `sscanf("%2x")` takes). Reads no
 * further than the first NUL or the 18th byte.
 *
 * @param s   the text, NUL-terminated
 * @param mac the address (written only when 0 or 1 is returned)
 * @return 0 for a unicast address; 1 for a group (multicast or broadcast)
 *         address, which no interface may have; -SDRV_EINVAL if `s` is not
 *         a MAC address (or an argument is NULL)
 */
SDRV_API int sdrv_netif_parse_mac(const char *s, uint8_t mac[6]);

/**
 * @brief A readable explanation of a codec error, for logs.
 * @param err 0 or a negative error from a netif function
 * @return a string with static storage duration (never NULL)
 */
SDRV_API const char *sdrv_netif_strerror(int err);

/**
 * @brief A readable name of the rule behind a refusal, for logs and for
 *        sdrv_ring_set_broken().
 * @param reason an enum sdrv_netif_reason (sdrv_netif_tx_pkt::reason,
 *               sdrv_netif_rx_pkt::reason)
 * @return a string with static storage duration (never NULL)
 */
SDRV_API const char *sdrv_netif_reason(unsigned int reason);

SDRV_END_DECLS

#endif /* SPLITDRV_PROTO_NETIF_H */
