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
 * This header only describes bytes; validation is the job of a codec.
 * The header is freestanding: it needs only the compiler's stdint.h.
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

#define SDRV_NETIF_CTRL_HASH_TYPE_IPV4	   (1u << 0) /**< Hash over IPv4 addresses. */
#define SDRV_NETIF_CTRL_HASH_TYPE_IPV4_TCP (1u << 1) /**< Hash over IPv4 addresses and TCP ports.  \
						      */
#define SDRV_NETIF_CTRL_HASH_TYPE_IPV6	   (1u << 2) /**< Hash over IPv6 addresses. */
#define SDRV_NETIF_CTRL_HASH_TYPE_IPV6_TCP (1u << 3) /**< Hash over IPv6 addresses and TCP ports.  \
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

SDRV_END_DECLS

#endif /* SPLITDRV_PROTO_NETIF_H */
