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
 * The first half of this header describes bytes. Padding members (`_pad*`)
 * are written as zero and ignored when read.
 *
 * The second half is the codec (libsplitdrv/blkif.c): pure functions that
 * turn a private copy of one ring slot into a validated, ABI-independent
 * struct sdrv_blkif_req (backend side) and back (frontend side), and encode
 * and decode responses. The codec never touches shared memory on its own:
 * the caller copies a slot out of the ring first (sdrv_ring_back_take_reqs()
 * and friends give such copies), and copies indirect segment pages out with
 * a grant copy, so a frontend cannot change a request between its
 * validation and its use (XSA-155). Encoders write whole entries, zeroed
 * first, so no padding byte ever carries old memory (XSA-216).
 *
 * A backend's loop, in outline:
 * @code
 *   struct sdrv_blkif_limits lim = { .sz = sizeof(lim), .sectors = size,
 *                                    .max_indirect_segments = 256,
 *                                    .flags = SDRV_BLKIF_LIM_FLUSH };
 *   unsigned char slot[SDRV_BLKIF_ENTRY_SIZE];   // sdrv_blkif_entry_size(abi)
 *   struct sdrv_blkif_req req;
 *   struct sdrv_blkif_rsp rsp;
 *
 *   while (sdrv_ring_back_take_req(&ring, slot) == 1) {
 *           int err = sdrv_blkif_decode_req(abi, slot, sizeof(slot), &lim, &req);
 *           if (err == 0 && req.operation == SDRV_BLKIF_OP_INDIRECT)
 *                   err = grant-copy the indirect pages, then
 *                         sdrv_blkif_decode_indirect(&req, pages, len, &lim, segs, max);
 *           if (err == 0)
 *                   err = do the I/O;
 *           rsp.id = req.id;
 *           rsp.operation = sdrv_blkif_rsp_operation(&req);
 *           rsp.status = sdrv_blkif_status_for(err);
 *           sdrv_blkif_encode_rsp(abi, &rsp, sdrv_ring_back_next_rsp(&ring), entry_size);
 *   }
 * @endcode
 *
 * The header is freestanding: it needs only the compiler's stdint.h,
 * stddef.h and stdbool.h.
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

/* ------------------------------------------------------------------------ */
/* The codec                                                                */
/* ------------------------------------------------------------------------ */

/**
 * @brief The ring layouts a frontend can choose with its `protocol` key.
 *
 * SDRV_BLKIF_ABI_X86_64 and SDRV_BLKIF_ABI_ARM have the same bytes (the
 * 64-bit structures above); SDRV_BLKIF_ABI_X86_32 uses the sdrv_blkif_x86_32_*
 * structures. Zero is no ABI, so a zero-filled variable is refused.
 */
enum sdrv_blkif_abi {
	SDRV_BLKIF_ABI_X86_32 = 1, /**< `"x86_32-abi"`: 108-byte requests, 12-byte responses. */
	SDRV_BLKIF_ABI_X86_64 = 2, /**< `"x86_64-abi"`: 112-byte requests, 16-byte responses. */
	SDRV_BLKIF_ABI_ARM = 3,	   /**< `"arm-abi"`: the same bytes as SDRV_BLKIF_ABI_X86_64. */
};

/** @cond INTERNAL */
#if defined(__i386__)
#define SDRV__BLKIF_ABI_NATIVE SDRV_BLKIF_ABI_X86_32
#elif defined(__arm__) || defined(__aarch64__)
#define SDRV__BLKIF_ABI_NATIVE SDRV_BLKIF_ABI_ARM
#else
#define SDRV__BLKIF_ABI_NATIVE SDRV_BLKIF_ABI_X86_64
#endif
/** @endcond */

/**
 * @brief The ABI of the machine this code is built for.
 *
 * What an absent `protocol` key means (Xen's blkif.h: "Default Value:
 * XEN_IO_PROTO_ABI_NATIVE"), and what a frontend normally uses.
 */
#define SDRV_BLKIF_ABI_NATIVE SDRV__BLKIF_ABI_NATIVE

/**
 * @brief Most segments an indirect request can carry: 8 pages of 512.
 *
 * The upper bound for sdrv_blkif_limits::max_indirect_segments (Linux
 * blkback offers 256).
 */
#define SDRV_BLKIF_MAX_INDIRECT_SEGMENTS                                                           \
	(SDRV_BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST * SDRV_BLKIF_SEGS_PER_INDIRECT_FRAME)

/**
 * @defgroup blkif_limflags blkif device capabilities
 * @brief Bits of sdrv_blkif_limits::flags: what the backend offers.
 *
 * Each matches a backend xenstore key; an operation whose bit is clear is
 * refused with -SDRV_EOPNOTSUPP (answered SDRV_BLKIF_RSP_EOPNOTSUPP).
 * @{
 */
#define SDRV_BLKIF_LIM_READONLY 0x01 /**< `mode` "r": only reads are accepted. */
#define SDRV_BLKIF_LIM_FLUSH	0x02 /**< `feature-flush-cache`: FLUSH_DISKCACHE accepted. */
#define SDRV_BLKIF_LIM_BARRIER	0x04 /**< `feature-barrier`: WRITE_BARRIER accepted. */
#define SDRV_BLKIF_LIM_DISCARD	0x08 /**< `feature-discard`: DISCARD accepted. */
/** `discard-secure`: the SDRV_BLKIF_DISCARD_SECURE flag is honoured (without
 *  it the flag is ignored, as Xen's blkif.h and Linux blkback do). */
#define SDRV_BLKIF_LIM_DISCARD_SECURE 0x10
/** @} */

/**
 * @brief What a backend device accepts: the bounds requests are checked against.
 *
 * An option structure: zero-fill it, set `sz` to its sizeof, then the
 * members. A caller built against an older, shorter version passes its
 * own size; the members it lacks count as zero.
 */
struct sdrv_blkif_limits {
	size_t sz;	  /**< sizeof(struct sdrv_blkif_limits). */
	uint64_t sectors; /**< Device size in 512-byte sectors (the `sectors` key). */
	/** `feature-max-indirect-segments` as advertised: 0 (indirect requests
	 *  refused) .. SDRV_BLKIF_MAX_INDIRECT_SEGMENTS. */
	uint32_t max_indirect_segments;
	uint32_t flags; /**< SDRV_BLKIF_LIM_* bits; unknown bits are refused. */
};

/** @brief One validated data segment: sectors first_sect..last_sect of a granted page. */
struct sdrv_blkif_seg {
	uint32_t gref;	    /**< Grant reference of the data page. */
	uint8_t first_sect; /**< First 512-byte sector in the page, 0..7. */
	uint8_t last_sect;  /**< Last sector in the page, first_sect..7 (inclusive). */
	uint16_t _pad0;	    /**< Padding, zero (the structure has no hidden padding). */
};

/**
 * @brief A request in private memory, the same for every ABI.
 *
 * Filled by sdrv_blkif_decode_req() (backend) from a slot, or by a frontend
 * for sdrv_blkif_encode_req(). Which members mean something depends on
 * `operation`:
 *  - READ, WRITE, WRITE_BARRIER, FLUSH_DISKCACHE: handle, sector_number,
 *    nr_segments and seg[0 .. nr_segments-1];
 *  - DISCARD: handle, sector_number, nr_sectors, discard_secure;
 *  - INDIRECT: indirect_op, handle, sector_number, nr_segments,
 *    nr_indirect_pages and indirect_grefs[]; the segments themselves come
 *    from the indirect pages (sdrv_blkif_decode_indirect()).
 */
struct sdrv_blkif_req {
	uint64_t id;		/**< The frontend's value, echoed in the response. */
	uint64_t sector_number; /**< First 512-byte sector on the device. */
	/** Sectors the request covers: for DISCARD the requested count; for
	 *  the others the sum over the segments, set by the decoders (for
	 *  INDIRECT only once sdrv_blkif_decode_indirect() has run). Ignored by
	 *  sdrv_blkif_encode_req() except for DISCARD. */
	uint64_t nr_sectors;
	uint8_t operation;   /**< SDRV_BLKIF_OP_*, as on the wire. */
	uint8_t indirect_op; /**< INDIRECT only: SDRV_BLKIF_OP_READ or SDRV_BLKIF_OP_WRITE. */
	uint16_t handle;     /**< Virtual device handle. */
	/** Segments: 0..11 in seg[] (0 only for FLUSH_DISKCACHE and
	 *  WRITE_BARRIER), or 1..the negotiated maximum for INDIRECT. */
	uint16_t nr_segments;
	/** INDIRECT only: pages of segment descriptors, ceil(nr_segments / 512).
	 *  Set by the decoder; computed from nr_segments by the encoder. */
	uint8_t nr_indirect_pages;
	/** DISCARD only: erase securely. The decoder sets it only if the
	 *  request asks for it and the device offers it. */
	bool discard_secure;
	/** INDIRECT only: grants of the pages holding the segment descriptors. */
	uint32_t indirect_grefs[SDRV_BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
	/** Direct segments, nr_segments of them (not for INDIRECT). */
	struct sdrv_blkif_seg seg[SDRV_BLKIF_MAX_SEGMENTS_PER_REQUEST];
};

/** @brief A response in private memory, the same for every ABI. */
struct sdrv_blkif_rsp {
	uint64_t id;	   /**< The request's id. */
	uint8_t operation; /**< The request's operation; its indirect_op for INDIRECT. */
	int16_t status;	   /**< SDRV_BLKIF_RSP_OKAY, _ERROR or _EOPNOTSUPP. */
};

/**
 * @brief Choose the ABI from the frontend's `protocol` xenstore value.
 *
 * @param protocol the value (NUL-terminated), or NULL if the key is absent
 * @param abi      where to store the ABI
 * @return 0; -SDRV_EINVAL for any other string (Xen's three names are the
 *         only ones; Linux blkback likewise refuses "unknown fe protocol")
 *         or a NULL `abi`
 */
SDRV_API int sdrv_blkif_abi_parse(const char *protocol, enum sdrv_blkif_abi *abi);

/**
 * @brief The `protocol` value naming an ABI (what a frontend writes).
 * @return `"x86_32-abi"`, `"x86_64-abi"` or `"arm-abi"`; NULL for no ABI
 */
SDRV_API const char *sdrv_blkif_abi_name(enum sdrv_blkif_abi abi);

/**
 * @brief Sizes of an ABI's request and response structures.
 * @param abi      the ABI
 * @param req_size where to store the request size (108 or 112), or NULL
 * @param rsp_size where to store the response size (12 or 16), or NULL
 * @return 0, or -SDRV_EINVAL for no ABI
 */
SDRV_API int sdrv_blkif_abi_sizes(enum sdrv_blkif_abi abi, size_t *req_size, size_t *rsp_size);

/**
 * @brief Bytes per ring entry of an ABI, max(request, response): the
 *        `entry_size` for sdrv_ring_front_init() and sdrv_ring_back_attach().
 * @return SDRV_BLKIF_X86_32_ENTRY_SIZE or SDRV_BLKIF_ENTRY_SIZE; 0 for no ABI
 */
SDRV_API size_t sdrv_blkif_entry_size(enum sdrv_blkif_abi abi);

/**
 * @brief Decode and validate a request (backend side).
 *
 * `slot` is the caller's private copy of one ring entry, never the shared
 * ring itself. Checks, in this order, each with its own error:
 *  1. the operation is READ, WRITE, WRITE_BARRIER, FLUSH_DISKCACHE, DISCARD,
 *     or INDIRECT with an indirect_op of READ or WRITE: else -SDRV_ENOSYS
 *     (the reserved operation 4 and unknown ones included);
 *  2. the device offers it (limits flags, max_indirect_segments > 0 for
 *     INDIRECT): else -SDRV_EOPNOTSUPP;
 *  3. a read-only device gets only reads: anything else (also a flush, as
 *     in Linux blkback) is -SDRV_EROFS;
 *  4. the segment count: 1..11 for READ and WRITE, 0..11 for
 *     WRITE_BARRIER and FLUSH_DISKCACHE (Linux blkback allows no segments
 *     with the flush flag), 1..max_indirect_segments for INDIRECT (so at
 *     most 8 indirect pages): else -SDRV_EMSGSIZE;
 *  5. each direct segment has first_sect <= last_sect <= 7: else
 *     -SDRV_EBADMSG;
 *  6. the sectors lie inside the device, computed without overflow
 *     (sector_number + nr_sectors <= limits->sectors; a request of no
 *     sectors has no range, as in Linux blkback; for INDIRECT, where the
 *     sector count is known only with the pages, at least one sector per
 *     segment must fit): else -SDRV_ERANGE.
 *
 * Fields the operation does not use are ignored (padding, `handle` of a
 * flush, unknown discard flag bits). The secure-discard flag of a device
 * without SDRV_BLKIF_LIM_DISCARD_SECURE is ignored (discard_secure false).
 *
 * @param abi  the ring's ABI
 * @param slot private copy of the entry, at least the ABI's request size
 * @param len  bytes at `slot`
 * @param lim  the device's limits
 * @param req  the result. On success, the validated request with every
 *             unused member zero. On a validation error, zero except `id`,
 *             `operation` and `indirect_op` (as read), so the caller can
 *             answer: see sdrv_blkif_rsp_operation() and
 *             sdrv_blkif_status_for(). On -SDRV_EINVAL, all zero (unless
 *             `req` is NULL).
 * @return 0, a negative error above, or -SDRV_EINVAL for bad arguments (no
 *         ABI, a short slot, NULL pointers, limits with a `sz` below
 *         sizeof(size_t) + sizeof(uint64_t), unknown flag bits or
 *         max_indirect_segments above SDRV_BLKIF_MAX_INDIRECT_SEGMENTS)
 */
SDRV_API int sdrv_blkif_decode_req(enum sdrv_blkif_abi abi, const void *slot, size_t len,
				   const struct sdrv_blkif_limits *lim, struct sdrv_blkif_req *req);

/**
 * @brief Decode and validate the segments of an indirect request (backend side).
 *
 * `pages` is the caller's private copy of the request's indirect pages,
 * back to back (page k at byte 4096 * k); only the first
 * 8 * req->nr_segments bytes are read, so the copy of the last page may be
 * partial. Each segment is checked as a direct one (-SDRV_EBADMSG), then
 * the whole request's sectors against the device (-SDRV_ERANGE); on success
 * req->nr_sectors is their sum.
 *
 * @param req  an INDIRECT request that sdrv_blkif_decode_req() accepted
 *             with the same limits
 * @param pages the copied descriptors
 * @param len  bytes at `pages`, at least 8 * req->nr_segments
 * @param lim  the device's limits
 * @param segs where to store the segments, nr_segments of them
 * @param max_segs capacity of `segs`, at least req->nr_segments
 * @return 0, -SDRV_EBADMSG, -SDRV_ERANGE, or -SDRV_EINVAL for bad arguments
 *         (a request that is not an accepted INDIRECT one included)
 */
SDRV_API int sdrv_blkif_decode_indirect(struct sdrv_blkif_req *req, const void *pages, size_t len,
					const struct sdrv_blkif_limits *lim,
					struct sdrv_blkif_seg *segs, size_t max_segs);

/**
 * @brief Encode a request into a slot (frontend side).
 *
 * Zeroes all `len` bytes, then writes the members of the operation's
 * layout in the chosen ABI. The request must be well formed by the
 * protocol's own rules (a known operation, segment counts as in
 * sdrv_blkif_decode_req() with SDRV_BLKIF_MAX_INDIRECT_SEGMENTS as the
 * indirect maximum, valid segments); device limits are the backend's
 * business. Nothing is written if it is not.
 *
 * @param abi  the ring's ABI (frontends normally use SDRV_BLKIF_ABI_NATIVE)
 * @param req  the request
 * @param slot the entry, normally from sdrv_ring_front_next_req()
 * @param len  bytes at `slot`, at least the ABI's request size
 * @return 0, or -SDRV_EINVAL
 */
SDRV_API int sdrv_blkif_encode_req(enum sdrv_blkif_abi abi, const struct sdrv_blkif_req *req,
				   void *slot, size_t len);

/**
 * @brief Write segment descriptors for indirect pages (frontend side).
 *
 * Zeroes all `len` bytes, then writes segment k at byte 8 * k (so page p
 * holds segments 512 * p .. 512 * p + 511).
 *
 * @param segs the segments, each with first_sect <= last_sect <= 7
 * @param n    how many, 1..SDRV_BLKIF_MAX_INDIRECT_SEGMENTS
 * @param pages the pages' memory, back to back
 * @param len  bytes at `pages`, at least 8 * n
 * @return 0, or -SDRV_EINVAL (nothing written)
 */
SDRV_API int sdrv_blkif_encode_indirect(const struct sdrv_blkif_seg *segs, size_t n, void *pages,
					size_t len);

/**
 * @brief Encode a response into a slot (backend side).
 *
 * Zeroes all `len` bytes (the whole ring entry), then writes id, operation
 * and status: no padding byte carries old memory (XSA-216).
 *
 * @param abi  the ring's ABI
 * @param rsp  the response; status must be one of the three SDRV_BLKIF_RSP_*
 * @param slot the entry, normally from sdrv_ring_back_next_rsp()
 * @param len  bytes at `slot`, at least the ABI's response size (pass the
 *             entry size to zero the whole entry)
 * @return 0, or -SDRV_EINVAL (nothing written)
 */
SDRV_API int sdrv_blkif_encode_rsp(enum sdrv_blkif_abi abi, const struct sdrv_blkif_rsp *rsp,
				   void *slot, size_t len);

/**
 * @brief Decode and validate a response (frontend side).
 *
 * `slot` is the caller's private copy of the entry. The status must be one
 * of the three SDRV_BLKIF_RSP_* values and the operation one a response
 * can carry (READ, WRITE, WRITE_BARRIER, FLUSH_DISKCACHE, DISCARD). Then
 * the caller checks `rsp->id` with its in-flight tracker
 * (sdrv_ring_ids_put()) and the response against the request it sent
 * (sdrv_blkif_rsp_matches()).
 *
 * @param abi  the ring's ABI
 * @param slot private copy of the entry, at least the ABI's response size
 * @param len  bytes at `slot`
 * @param rsp  the fields as read (also when they are refused)
 * @return 0; -SDRV_EPROTO if the backend broke the protocol (the frontend
 *         should break the ring); -SDRV_EINVAL for bad arguments
 */
SDRV_API int sdrv_blkif_decode_rsp(enum sdrv_blkif_abi abi, const void *slot, size_t len,
				   struct sdrv_blkif_rsp *rsp);

/**
 * @brief Check a decoded response against the request it answers (frontend side).
 *
 * As hardened Linux blkfront does: the id must be the request's and the
 * operation the request's (its indirect_op for INDIRECT).
 *
 * @return 0; -SDRV_EPROTO if they differ; -SDRV_EINVAL for NULL pointers
 */
SDRV_API int sdrv_blkif_rsp_matches(const struct sdrv_blkif_rsp *rsp,
				    const struct sdrv_blkif_req *sent);

/**
 * @brief The operation a response to `req` carries.
 *
 * The request's operation, except for INDIRECT, which is answered with its
 * indirect_op (Linux blkback and blkfront agree on this).
 */
SDRV_API uint8_t sdrv_blkif_rsp_operation(const struct sdrv_blkif_req *req);

/**
 * @brief The response status for the result of decoding or serving a request.
 *
 * @param err 0 or a negative error
 * @return SDRV_BLKIF_RSP_OKAY for 0; SDRV_BLKIF_RSP_EOPNOTSUPP for
 *         -SDRV_ENOSYS and -SDRV_EOPNOTSUPP (the frontend then stops using
 *         the feature); SDRV_BLKIF_RSP_ERROR for anything else
 */
SDRV_API int16_t sdrv_blkif_status_for(int err);

/**
 * @brief A readable reason for a codec error, for logs and for
 *        sdrv_ring_set_broken().
 * @param err a negative error from the codec
 * @return a string with static storage duration (never NULL)
 */
SDRV_API const char *sdrv_blkif_strerror(int err);

SDRV_END_DECLS

#endif /* SPLITDRV_PROTO_BLKIF_H */
