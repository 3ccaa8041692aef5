/* SPDX-License-Identifier: MIT */
/**
 * @file blkif.h
 * @brief Block device protocol (blkif): wire layouts of the ring entries.
 *
 * The layouts are byte-compatible with Xen's public `io/blkif.h`. Two ABIs
 * exist on the wire, chosen by the frontend's `protocol` xenstore key:
 *
 *  - the 64-bit layout (`"x86_64-abi"`, also `"arm-abi"`): the structures
 *    without an ABI in their name, e.g. struct sdrv_blkif_request. Every
 *    padding byte is an explicit member, so these structures have the same
 *    layout whatever the compiler's ABI, also on a 32-bit host;
 *  - the 32-bit x86 layout (`"x86_32-abi"`): struct sdrv_blkif_x86_32_request
 *    and friends, where 64-bit members are only 4-byte aligned.
 *
 * This header only describes bytes; validating a request copied out of the
 * ring is the job of a codec. Padding members (`_pad*`) are written as zero
 * and ignored when read.
 *
 * The header is freestanding: it needs only the compiler's stdint.h.
 */
#ifndef SPLITDRV_PROTO_BLKIF_H
#define SPLITDRV_PROTO_BLKIF_H

#include <splitdrv/common.h>

SDRV_BEGIN_DECLS

/**
 * @defgroup blkif_ops blkif operations
 * @brief Values of sdrv_blkif_request::operation.
 * @{
 */
#define SDRV_BLKIF_OP_READ	      0 /**< Read from the device into the segments. */
#define SDRV_BLKIF_OP_WRITE	      1 /**< Write the segments to the device. */
#define SDRV_BLKIF_OP_WRITE_BARRIER   2 /**< Write, ordered after earlier writes. */
#define SDRV_BLKIF_OP_FLUSH_DISKCACHE 3 /**< Flush the device's write cache. */
#define SDRV_BLKIF_OP_RESERVED_1      4 /**< Reserved (was a vendor extension); never valid. */
#define SDRV_BLKIF_OP_DISCARD	      5 /**< Discard sectors (struct sdrv_blkif_request_discard). */
#define SDRV_BLKIF_OP_INDIRECT	      6 /**< Indirect segments (struct sdrv_blkif_request_indirect). */
/** @} */

/**
 * @defgroup blkif_status blkif response status
 * @brief Values of sdrv_blkif_response::status.
 * @{
 */
#define SDRV_BLKIF_RSP_EOPNOTSUPP (-2) /**< The backend does not support the operation. */
#define SDRV_BLKIF_RSP_ERROR	  (-1) /**< The request failed. */
#define SDRV_BLKIF_RSP_OKAY	  0    /**< The request succeeded. */
/** @} */

/**
 * @defgroup blkif_limits blkif limits and flags
 * @{
 */
/** @brief Most segments carried directly in a request (struct sdrv_blkif_request::seg). */
#define SDRV_BLKIF_MAX_SEGMENTS_PER_REQUEST 11
/** @brief Granted pages of segment descriptors an indirect request may name. */
#define SDRV_BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST 8
/** @brief Segment descriptors in one indirect page (4096 / 8). */
#define SDRV_BLKIF_SEGS_PER_INDIRECT_FRAME 512
/** @brief Unit of sector_number, first_sect and last_sect, in bytes. */
#define SDRV_BLKIF_SECTOR_SIZE 512
/** @brief Largest first_sect/last_sect value in a 4 KiB page. */
#define SDRV_BLKIF_MAX_SECT_PER_PAGE 7
/** @brief sdrv_blkif_request_discard::flag: erase securely (if `discard-secure`). */
#define SDRV_BLKIF_DISCARD_SECURE (1 << 0)
/** @brief `info` xenstore bit: the device is a CD-ROM. */
#define SDRV_BLKIF_VDISK_CDROM 0x1
/** @brief `info` xenstore bit: the medium is removable. */
#define SDRV_BLKIF_VDISK_REMOVABLE 0x2
/** @brief `info` xenstore bit: the device is read-only. */
#define SDRV_BLKIF_VDISK_READONLY 0x4
/** @} */

/**
 * @defgroup blkif_abi blkif ABI names
 * @brief Values of the frontend's `protocol` xenstore key (Xen's XEN_IO_PROTO_ABI_*).
 * @{
 */
#define SDRV_IO_PROTO_ABI_X86_32 "x86_32-abi" /**< 32-bit x86 layouts (sdrv_blkif_x86_32_*). */
#define SDRV_IO_PROTO_ABI_X86_64 "x86_64-abi" /**< 64-bit layouts (sdrv_blkif_*). */
#define SDRV_IO_PROTO_ABI_ARM	 "arm-abi"    /**< Arm, 32 and 64 bit: the 64-bit layouts. */
/** @} */

/**
 * @brief One data segment: a sector range of one granted page.
 *
 * The same 8 bytes in both ABIs. Sectors are SDRV_BLKIF_SECTOR_SIZE bytes
 * and the range is inclusive, so 0 <= first_sect <= last_sect <= 7.
 */
struct sdrv_blkif_request_segment {
	uint32_t gref;	    /**< Grant reference of the data page. */
	uint8_t first_sect; /**< First sector in the page to transfer (inclusive). */
	uint8_t last_sect;  /**< Last sector in the page to transfer (inclusive). */
	uint8_t _pad0[2];   /**< Padding, zero. */
};

/**
 * @brief A read/write/barrier/flush request, 64-bit layout (112 bytes).
 *
 * Every request starts with this layout; `operation` says which of the
 * other request layouts applies.
 */
struct sdrv_blkif_request {
	uint8_t operation;	/**< SDRV_BLKIF_OP_*. */
	uint8_t nr_segments;	/**< Segments used in seg[], 1..11 for reads and writes. */
	uint16_t handle;	/**< Virtual device handle (only for reads and writes). */
	uint32_t _pad0;		/**< Padding, zero. */
	uint64_t id;		/**< Frontend's private value, echoed in the response. */
	uint64_t sector_number; /**< First sector on the disk (reads and writes only). */
	/** Data segments, nr_segments of them. */
	struct sdrv_blkif_request_segment seg[SDRV_BLKIF_MAX_SEGMENTS_PER_REQUEST];
};

/**
 * @brief A discard request (operation SDRV_BLKIF_OP_DISCARD), 64-bit layout (32 bytes).
 */
struct sdrv_blkif_request_discard {
	uint8_t operation;	/**< SDRV_BLKIF_OP_DISCARD. */
	uint8_t flag;		/**< SDRV_BLKIF_DISCARD_SECURE or zero. */
	uint16_t handle;	/**< Virtual device handle. */
	uint32_t _pad0;		/**< Padding, zero. */
	uint64_t id;		/**< Frontend's private value, echoed in the response. */
	uint64_t sector_number; /**< First sector to discard. */
	uint64_t nr_sectors;	/**< Number of contiguous sectors to discard. */
};

/**
 * @brief An indirect request (operation SDRV_BLKIF_OP_INDIRECT), 64-bit layout (64 bytes).
 *
 * The segment descriptors live in up to 8 granted pages of
 * SDRV_BLKIF_SEGS_PER_INDIRECT_FRAME struct sdrv_blkif_request_segment each.
 */
struct sdrv_blkif_request_indirect {
	uint8_t operation;	/**< SDRV_BLKIF_OP_INDIRECT. */
	uint8_t indirect_op;	/**< SDRV_BLKIF_OP_READ or SDRV_BLKIF_OP_WRITE. */
	uint16_t nr_segments;	/**< Segments in the indirect pages. */
	uint32_t _pad0;		/**< Padding, zero. */
	uint64_t id;		/**< Frontend's private value, echoed in the response. */
	uint64_t sector_number; /**< First sector on the disk. */
	uint16_t handle;	/**< Virtual device handle. */
	uint16_t _pad1;		/**< Padding, zero. */
	/** Grant references of the pages holding the segment descriptors. */
	uint32_t indirect_grefs[SDRV_BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
	uint32_t _pad2; /**< Padding, zero. */
};

/**
 * @brief A response, 64-bit layout (16 bytes).
 *
 * Six of the 16 bytes are padding: a backend zeroes the whole slot before it
 * writes one (XSA-216).
 */
struct sdrv_blkif_response {
	uint64_t id;	   /**< Copied from the request. */
	uint8_t operation; /**< Copied from the request. */
	uint8_t _pad0;	   /**< Padding, zero. */
	int16_t status;	   /**< SDRV_BLKIF_RSP_*. */
	uint32_t _pad1;	   /**< Padding, zero. */
};

/** @brief Bytes per ring entry, 64-bit layout: max(request, response). */
#define SDRV_BLKIF_ENTRY_SIZE 112

/** @cond INTERNAL */
#pragma pack(push, 4)
/** @endcond */

/**
 * @brief A read/write/barrier/flush request, 32-bit x86 layout (108 bytes).
 *
 * As struct sdrv_blkif_request, but 64-bit members are 4-byte aligned, so
 * there is no padding before `id`.
 */
struct sdrv_blkif_x86_32_request {
	uint8_t operation;	/**< SDRV_BLKIF_OP_*. */
	uint8_t nr_segments;	/**< Segments used in seg[]. */
	uint16_t handle;	/**< Virtual device handle. */
	uint64_t id;		/**< Frontend's private value, echoed in the response. */
	uint64_t sector_number; /**< First sector on the disk. */
	/** Data segments, nr_segments of them. */
	struct sdrv_blkif_request_segment seg[SDRV_BLKIF_MAX_SEGMENTS_PER_REQUEST];
};

/** @brief A discard request, 32-bit x86 layout (28 bytes). */
struct sdrv_blkif_x86_32_request_discard {
	uint8_t operation;	/**< SDRV_BLKIF_OP_DISCARD. */
	uint8_t flag;		/**< SDRV_BLKIF_DISCARD_SECURE or zero. */
	uint16_t handle;	/**< Virtual device handle. */
	uint64_t id;		/**< Frontend's private value, echoed in the response. */
	uint64_t sector_number; /**< First sector to discard. */
	uint64_t nr_sectors;	/**< Number of contiguous sectors to discard. */
};

/** @brief An indirect request, 32-bit x86 layout (64 bytes, padded explicitly by Xen). */
struct sdrv_blkif_x86_32_request_indirect {
	uint8_t operation;	/**< SDRV_BLKIF_OP_INDIRECT. */
	uint8_t indirect_op;	/**< SDRV_BLKIF_OP_READ or SDRV_BLKIF_OP_WRITE. */
	uint16_t nr_segments;	/**< Segments in the indirect pages. */
	uint64_t id;		/**< Frontend's private value, echoed in the response. */
	uint64_t sector_number; /**< First sector on the disk. */
	uint16_t handle;	/**< Virtual device handle. */
	uint16_t _pad0;		/**< Padding, zero. */
	/** Grant references of the pages holding the segment descriptors. */
	uint32_t indirect_grefs[SDRV_BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
	uint64_t _pad1; /**< Padding to 64 bytes, zero (Xen's `pad`). */
};

/** @brief A response, 32-bit x86 layout (12 bytes). */
struct sdrv_blkif_x86_32_response {
	uint64_t id;	   /**< Copied from the request. */
	uint8_t operation; /**< Copied from the request. */
	uint8_t _pad0;	   /**< Padding, zero. */
	int16_t status;	   /**< SDRV_BLKIF_RSP_*. */
};

/** @cond INTERNAL */
#pragma pack(pop)
/** @endcond */

/** @brief Bytes per ring entry, 32-bit x86 layout: max(request, response). */
#define SDRV_BLKIF_X86_32_ENTRY_SIZE 108

/** @cond INTERNAL */
#ifdef __cplusplus
#define SDRV__BLKIF_ASSERT static_assert
#else
#define SDRV__BLKIF_ASSERT _Static_assert
#endif
#define SDRV__BLKIF_AT(t, m, off) SDRV__BLKIF_ASSERT(offsetof(t, m) == (off), #t "." #m " offset")
SDRV__BLKIF_ASSERT(sizeof(struct sdrv_blkif_request_segment) == 8, "blkif segment size");
SDRV__BLKIF_ASSERT(sizeof(struct sdrv_blkif_request) == 112, "blkif request size");
SDRV__BLKIF_ASSERT(sizeof(struct sdrv_blkif_request_discard) == 32, "blkif discard size");
SDRV__BLKIF_ASSERT(sizeof(struct sdrv_blkif_request_indirect) == 64, "blkif indirect size");
SDRV__BLKIF_ASSERT(sizeof(struct sdrv_blkif_response) == 16, "blkif response size");
SDRV__BLKIF_AT(struct sdrv_blkif_request, id, 8);
SDRV__BLKIF_AT(struct sdrv_blkif_request, sector_number, 16);
SDRV__BLKIF_AT(struct sdrv_blkif_request, seg, 24);
SDRV__BLKIF_AT(struct sdrv_blkif_request_discard, nr_sectors, 24);
SDRV__BLKIF_AT(struct sdrv_blkif_request_indirect, handle, 24);
SDRV__BLKIF_AT(struct sdrv_blkif_request_indirect, indirect_grefs, 28);
SDRV__BLKIF_AT(struct sdrv_blkif_response, operation, 8);
SDRV__BLKIF_AT(struct sdrv_blkif_response, status, 10);
SDRV__BLKIF_ASSERT(sizeof(struct sdrv_blkif_x86_32_request) == 108, "blkif x86_32 request size");
SDRV__BLKIF_ASSERT(sizeof(struct sdrv_blkif_x86_32_request_discard) == 28, "x86_32 discard size");
SDRV__BLKIF_ASSERT(sizeof(struct sdrv_blkif_x86_32_request_indirect) == 64, "x86_32 indirect size");
SDRV__BLKIF_ASSERT(sizeof(struct sdrv_blkif_x86_32_response) == 12, "blkif x86_32 response size");
SDRV__BLKIF_AT(struct sdrv_blkif_x86_32_request, id, 4);
SDRV__BLKIF_AT(struct sdrv_blkif_x86_32_request, sector_number, 12);
SDRV__BLKIF_AT(struct sdrv_blkif_x86_32_request, seg, 20);
SDRV__BLKIF_AT(struct sdrv_blkif_x86_32_request_discard, nr_sectors, 20);
SDRV__BLKIF_AT(struct sdrv_blkif_x86_32_request_indirect, handle, 20);
SDRV__BLKIF_AT(struct sdrv_blkif_x86_32_request_indirect, indirect_grefs, 24);
SDRV__BLKIF_AT(struct sdrv_blkif_x86_32_request_indirect, _pad1, 56);
SDRV__BLKIF_AT(struct sdrv_blkif_x86_32_response, status, 10);
SDRV__BLKIF_ASSERT(SDRV_BLKIF_SEGS_PER_INDIRECT_FRAME * sizeof(struct sdrv_blkif_request_segment) ==
		       4096,
		   "indirect frame");
#undef SDRV__BLKIF_AT
#undef SDRV__BLKIF_ASSERT
/** @endcond */

SDRV_END_DECLS

#endif /* SPLITDRV_PROTO_BLKIF_H */
