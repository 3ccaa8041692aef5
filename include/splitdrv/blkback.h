/* SPDX-License-Identifier: MIT */
/**
 * @file blkback.h
 * @brief blkback: the backend of split block devices, as a library.
 *
 * One blkback serves every virtual block device whose backend directory is
 * under `/local/domain/<domid>/backend/vbd/` (the toolstack writes it, as
 * libxl does: see `splitdrv device-add ... vbd`). For each device it opens
 * the raw image file or block device named by `params` (read-only if
 * `mode` is "r"), publishes Xen's backend keys (`sectors`, `info`,
 * `sector-size`, `physical-sector-size`, `feature-flush-cache`,
 * `feature-barrier`, `feature-discard` with `discard-granularity`,
 * `discard-alignment` and `discard-secure`, `feature-persistent`,
 * `feature-max-indirect-segments`, `max-ring-page-order`,
 * `multi-queue-max-queues`), runs the xenbus handshake, maps each queue's
 * ring, binds its event channel, and serves the requests with io_uring,
 * many in flight at a time.
 *
 * Everything the frontend writes is hostile: each request is copied out of
 * the ring once and validated (proto/blkif.h) before it is used; indirect
 * descriptor pages are copied once; a bad grant reference, too many
 * segments, an inverted or out-of-range sector range or an unknown
 * operation gets an error response; index games break that device's ring,
 * with a reason (sdrv_blkback_list()), and the device closes while the
 * others carry on. Work per call is bounded and event storms are backed
 * off (late EOI).
 *
 * Semantics: a write is answered once the kernel has it (a backend killed
 * afterwards loses nothing the page cache holds); FLUSH_DISKCACHE is
 * answered after fdatasync(); WRITE_BARRIER waits for every earlier
 * request of its queue, and every later one waits for it; it is written
 * between two syncs. DISCARD punches a hole (FALLOC_FL_PUNCH_HOLE) in an
 * image file, BLKDISCARD (or BLKSECDISCARD) on a block device. A
 * read-only device answers writes, flushes and discards with an error.
 *
 * Threads: the library owns none; sdrv_blkback_fd() becomes readable when
 * sdrv_blkback_process() has work. The transport handle is used by this
 * blkback alone (it takes every pending port); the store connection may be
 * shared.
 */
#ifndef SPLITDRV_BLKBACK_H
#define SPLITDRV_BLKBACK_H

#include <splitdrv/common.h>
#include <splitdrv/transport.h>
#include <splitdrv/xenbus.h>
#include <splitdrv/xs.h>

SDRV_BEGIN_DECLS

/** @brief A block backend serving the devices of one backend domain. */
struct sdrv_blkback;

/** @name Option flags (sdrv_blkback_opts::flags)
 * @{ */
/** Do not offer persistent grants. */
#define SDRV_BLKBACK_NO_PERSISTENT (1u << 0)
/** Do not offer discard. */
#define SDRV_BLKBACK_NO_DISCARD (1u << 1)
/** Open images with O_DIRECT (bypass the page cache). */
#define SDRV_BLKBACK_DIRECT (1u << 2)
/** Write `hotplug-status` = "connected", as a hotplug script would. */
#define SDRV_BLKBACK_HOTPLUG_STATUS (1u << 3)
/** Do not offer indirect requests (`feature-max-indirect-segments`). */
#define SDRV_BLKBACK_NO_INDIRECT (1u << 4)
/** @} */

/** @brief Options of sdrv_blkback_new(). Zero-fill, then set `sz`. */
struct sdrv_blkback_opts {
	size_t sz;		  /**< sizeof(struct sdrv_blkback_opts). */
	struct sdrv_xport *xport; /**< This domain's transport (not owned; used by
				       this blkback alone; outlives it). */
	struct sdrv_xs *xs;	  /**< The store connection (not owned; outlives it). */
	/** Offered `max-ring-page-order`, 1..4; 0: 4. (Without the key, a
	 *  frontend uses one page: max_queues and this never go below it.) */
	uint32_t max_ring_page_order;
	/** Offered `multi-queue-max-queues`, 1..16; 0: 4. */
	uint32_t max_queues;
	/** Offered `feature-max-indirect-segments`, 1..4096; 0: 256 (as
	 *  Linux blkback). SDRV_BLKBACK_NO_INDIRECT offers none. */
	uint32_t max_indirect_segments;
	/** Persistent grants kept mapped per queue; 0: 1056 (as Linux). */
	uint32_t max_persistent_grants;
	/** io_uring submission entries, all devices together; 0: 256. */
	uint32_t uring_entries;
	uint32_t flags; /**< SDRV_BLKBACK_* option flags. */
	/** Log sink (syslog priority, message without newline); NULL: none. */
	void (*log)(void *ctx, int level, const char *msg);
	void *log_ctx; /**< First argument of `log`. */
};

/**
 * @brief Start serving the backend domain's vbd devices.
 *
 * Watches `/local/domain/<domid>/backend/vbd`; devices there now and later
 * are served, devices removed are closed.
 *
 * @return the backend, or NULL with errno set (EINVAL: bad options;
 *         ENOSYS: no io_uring)
 */
SDRV_API struct sdrv_blkback *sdrv_blkback_new(const struct sdrv_blkback_opts *opts);

/**
 * @brief Close every device orderly and free the backend.
 *
 * Each device goes Closing; requests in flight complete first (their
 * responses are sent); after `timeout_ms` devices whose frontend did not
 * follow are closed anyway. Never depends on a frontend behaving.
 */
SDRV_API void sdrv_blkback_free(struct sdrv_blkback *b, int timeout_ms);

/**
 * @brief The descriptor to poll: readable when sdrv_blkback_process() has work.
 * @param b the backend
 * @return the descriptor (owned by the backend), or -EINVAL
 */
SDRV_API int sdrv_blkback_fd(const struct sdrv_blkback *b);

/**
 * @brief Do what is pending without blocking: store messages, transport
 *        news, rings, completed I/O; bounded work per call.
 * @return 0, or a negative errno if the backend cannot go on (-ECONNRESET:
 *         the transport or the store went away)
 */
SDRV_API int sdrv_blkback_process(struct sdrv_blkback *b);

/** @brief One served device (sdrv_blkback_list()). */
struct sdrv_blkback_dev_info {
	sdrv_domid_t frontend;	      /**< The frontend's domain. */
	uint32_t devid;		      /**< Device id. */
	enum sdrv_xenbus_state state; /**< The backend's state. */
	uint32_t nr_queues;	      /**< Queues connected. */
	uint32_t ring_page_order;     /**< Order of each ring. */
	bool persistent;	      /**< Persistent grants in use. */
	bool readonly;		      /**< Opened read-only. */
	uint64_t sectors;	      /**< Size in 512-byte sectors. */
	uint64_t requests;	      /**< Requests answered. */
	uint64_t errors;	      /**< Requests answered with an error. */
	uint64_t bytes_read;	      /**< Bytes read for the frontend. */
	uint64_t bytes_written;	      /**< Bytes written for the frontend. */
	uint64_t persistent_maps;     /**< Grants mapped and kept (persistent). */
	uint64_t maps;		      /**< Grant map calls. */
	uint64_t spurious;	      /**< Wake-ups that found no request. */
	/** Why the device was closed by the backend (a static string; NULL
	 *  if it was not): a broken ring, an image that cannot be opened... */
	const char *broken;
};

/**
 * @brief Describe the devices served now.
 * @param b   the backend
 * @param out where to store up to `max` entries (may be NULL with max 0)
 * @param max room in `out`
 * @return the number of devices (also beyond `max`)
 */
SDRV_API uint32_t sdrv_blkback_list(const struct sdrv_blkback *b, struct sdrv_blkback_dev_info *out,
				    uint32_t max);

SDRV_END_DECLS

#endif /* SPLITDRV_BLKBACK_H */
