/* SPDX-License-Identifier: MIT */
/**
 * @file blkfront.h
 * @brief blkfront: the frontend of a split block device, as a library.
 *
 * A frontend reaches a virtual block device that a backend (blkback, or
 * Linux's xen-blkback, or QEMU's qdisk) serves, through the blkif protocol
 * (proto/blkif.h): shared rings, granted data pages and event channels,
 * negotiated through the device's store directories
 * (`/local/domain/<fe>/device/vbd/<id>`) with the xenbus handshake
 * (xenbus.h).
 *
 * What it does for its user:
 *  - negotiates every feature the backend offers and the caller allows:
 *    multi-page rings (`ring-page-order`), several queues
 *    (`multi-queue-num-queues`, one ring and event channel each),
 *    persistent grants (`feature-persistent`), indirect requests
 *    (`feature-max-indirect-segments`), flush, barrier and discard;
 *  - splits an I/O of any size (a multiple of 512 bytes) into ring
 *    requests, copying data between the caller's buffer and granted pages;
 *  - bounds what is in flight: at most `max_ios` I/Os are accepted, their
 *    parts wait in order for ring slots and granted pages;
 *  - does not trust the backend: a response with an id that is not
 *    outstanding, an operation that is not the request's, an unknown
 *    status, or an index that claims more responses than requests breaks
 *    the device with a reason (sdrv_blkfront_broken()); every I/O in
 *    flight then fails with -EIO and nothing the backend wrote afterwards
 *    is used. Event storms from the backend are bounded (late EOI);
 *  - survives a backend restart: when the backend goes away (its domain
 *    dies, or it resets the device through Closing), the I/Os in flight
 *    are kept, and once the device is Connected again they are sent again,
 *    so no I/O the caller was not told of is lost (Linux's blkif_recover).
 *    Only a completed write (its callback ran with 0) is acknowledged;
 *    only a completed flush makes earlier completed writes durable.
 *
 * Threads: the library owns none. One handle is used by one thread at a
 * time; sdrv_blkfront_fd() becomes readable when sdrv_blkfront_process()
 * has work. Completion callbacks run inside sdrv_blkfront_process() and
 * sdrv_blkfront_poll() (and with -ECANCELED inside sdrv_blkfront_free()),
 * never inside sdrv_blkfront_submit(). A callback may submit new I/O but
 * must not free the handle.
 *
 * doc/blkfront.md describes the design: what is negotiated, how I/O is
 * split, the persistent grant pool, recovery, and what is not trusted.
 *
 * The transport handle given in the options is used by this frontend
 * alone: sdrv_blkfront_process() takes every pending event-channel port of
 * it. The store connection may be shared.
 */
#ifndef SPLITDRV_BLKFRONT_H
#define SPLITDRV_BLKFRONT_H

#include <splitdrv/common.h>
#include <splitdrv/transport.h>
#include <splitdrv/xs.h>

SDRV_BEGIN_DECLS

/** @brief A block frontend. */
struct sdrv_blkfront;

/** @name Option flags (sdrv_blkfront_opts::flags)
 * @{ */
/** Do not offer persistent grants (grant fresh pages for each request). */
#define SDRV_BLKFRONT_NO_PERSISTENT (1u << 0)
/** Do not use indirect requests even if the backend offers them. */
#define SDRV_BLKFRONT_NO_INDIRECT (1u << 1)
/** @} */

/** @brief "Take the backend's maximum" for ring_page_order and nr_queues. */
#define SDRV_BLKFRONT_MAX UINT32_MAX

/** @brief Options of sdrv_blkfront_new(). Zero-fill, then set `sz`. */
struct sdrv_blkfront_opts {
	size_t sz;		  /**< sizeof(struct sdrv_blkfront_opts). */
	struct sdrv_xport *xport; /**< This domain's transport (not owned; used by
				       this frontend alone; outlives it). */
	struct sdrv_xs *xs;	  /**< The store connection (not owned; outlives it). */
	uint32_t devid;		  /**< Device id: the `vbd/<id>` directory (for
				       xvda, 51712). */
	/** Ring pages wanted, as an order (0: one page); capped by the
	 *  backend's `max-ring-page-order` and by 4. 0 by default;
	 *  SDRV_BLKFRONT_MAX for the backend's offer. */
	uint32_t ring_page_order;
	/** Queues wanted; capped by the backend's `multi-queue-max-queues`.
	 *  0: 1; SDRV_BLKFRONT_MAX for the backend's offer (at most 16). */
	uint32_t nr_queues;
	/** Segments per indirect request wanted, capped by the backend's
	 *  `feature-max-indirect-segments`; 0: 256; at most
	 *  SDRV_BLKIF_MAX_INDIRECT_SEGMENTS (4096). 11 or fewer means no
	 *  indirect requests. */
	uint32_t max_indirect_segments;
	/** I/Os accepted at a time (sdrv_blkfront_submit() answers -EAGAIN
	 *  beyond); 0: 256; at most 65536. */
	uint32_t max_ios;
	/** Granted data pages per queue: the persistent grant pool, and without
	 *  persistent grants the bound on the pages granted at a time; either
	 *  way the bound on the data in flight per queue. 0: 1024 (4 MiB). The
	 *  transport's grant pool must hold, per queue, this plus the ring
	 *  (2^ring_page_order pages) plus the indirect descriptor pages (at
	 *  most min(ring slots, pool_pages / 12 + 1) times
	 *  ceil(max_indirect_segments / 512)). At most 2^20. */
	uint32_t pool_pages;
	/** How long I/Os may wait for a backend that went away before they fail
	 *  with -EIO, in ms; 0: forever (as Linux blkfront). */
	uint32_t reconnect_timeout_ms;
	uint32_t flags; /**< SDRV_BLKFRONT_* option flags. */
	/** Log sink (syslog priority, message without newline); NULL: none. */
	void (*log)(void *ctx, int level, const char *msg);
	void *log_ctx; /**< First argument of `log`. */
};

/** @brief What the device is, as negotiated (sdrv_blkfront_info()). */
struct sdrv_blkfront_info {
	size_t sz;		       /**< sizeof(struct sdrv_blkfront_info), set by the caller. */
	uint64_t sectors;	       /**< Size in 512-byte sectors (`sectors`). */
	uint32_t sector_size;	       /**< Logical sector size (`sector-size`). */
	uint32_t physical_sector_size; /**< `physical-sector-size` (sector_size if absent). */
	uint32_t vdisk_info;	       /**< `info`: SDRV_BLKIF_VDISK_* bits. */
	bool readonly;		       /**< Writes are refused (`info` or `mode`). */
	bool flush;		       /**< `feature-flush-cache`. */
	bool barrier;		       /**< `feature-barrier`. */
	bool discard;		       /**< `feature-discard`. */
	bool discard_secure;	       /**< `discard-secure`. */
	bool persistent;	       /**< Persistent grants in use (both sides offered them). */
	uint32_t discard_granularity;  /**< `discard-granularity` in bytes (0 if absent). */
	uint32_t discard_alignment;    /**< `discard-alignment` in bytes. */
	uint32_t ring_page_order;      /**< Order of each queue's ring. */
	uint32_t nr_queues;	       /**< Queues in use. */
	uint32_t max_segments; /**< Segments per ring request (11, or the indirect maximum). */
};

/** @brief Counters (sdrv_blkfront_stats()). */
struct sdrv_blkfront_stats {
	size_t sz;	       /**< sizeof(struct sdrv_blkfront_stats), set by the caller. */
	uint64_t ios;	       /**< I/Os completed (any status). */
	uint64_t requests;     /**< Ring requests sent (resent ones included). */
	uint64_t resent;       /**< Ring requests sent again after a reconnect. */
	uint64_t errors;       /**< I/Os completed with an error. */
	uint64_t notifies;     /**< Notifications sent to the backend. */
	uint64_t wakeups;      /**< Event-channel wake-ups taken. */
	uint64_t spurious;     /**< Wake-ups that found no response. */
	uint64_t connects;     /**< Times the device became Connected. */
	uint32_t inflight_ios; /**< I/Os accepted and not yet completed. */
	/** Granted pages kept aside because the backend still mapped them
	 *  when they were to be revoked (never reused; revoked later). */
	uint32_t deferred_pages;
	/** Held reads whose callback ran and that the caller has not
	 *  released yet (sdrv_blkfront_read_held()); not in inflight_ios. */
	uint32_t held_ios;
	/** Held reads moved out of their pages into private memory before
	 *  they completed, because sending waited for the pages they kept
	 *  (a read bigger than the pool, or several at once). */
	uint64_t spilled;
};

/**
 * @brief Start a frontend on an existing device directory.
 *
 * The toolstack has written the device (sdrv_xenbus_dev_create(), or
 * `splitdrv device-add`). Runs the handshake from sdrv_blkfront_process()
 * from then on; sdrv_blkfront_wait_connected() waits for it.
 *
 * @return the frontend, or NULL with errno set (ENOENT: no such device;
 *         EINVAL: bad options)
 */
SDRV_API struct sdrv_blkfront *sdrv_blkfront_new(const struct sdrv_blkfront_opts *opts);

/**
 * @brief Close the device orderly and free the frontend.
 *
 * Waits up to `timeout_ms` for the I/Os in flight, then goes Closing and
 * waits (up to the same timeout) for the backend to close; I/Os still in
 * flight then complete with -ECANCELED. Grants the backend still maps are
 * never reused. Never depends on the backend behaving.
 */
SDRV_API void sdrv_blkfront_free(struct sdrv_blkfront *f, int timeout_ms);

/** @brief The descriptor to poll: readable when sdrv_blkfront_process() has work. */
SDRV_API int sdrv_blkfront_fd(const struct sdrv_blkfront *f);

/**
 * @brief Do what is pending, without blocking: the store's messages, the
 *        transport's news, the responses, waiting parts; bounded work.
 * @return 0, or a negative errno if the frontend is closed for good
 *         (-ENODEV: the device was removed; -EIO: broken); -EBUSY (and
 *         nothing done) when called from a completion callback
 */
SDRV_API int sdrv_blkfront_process(struct sdrv_blkfront *f);

/**
 * @brief Drive sdrv_blkfront_process() until the device is Connected.
 * @param f          the frontend
 * @param timeout_ms how long at most; negative: forever
 * @return 0, -ETIMEDOUT, or the error that closed the frontend (-EIO
 *         also when the negotiation was refused: see sdrv_blkfront_broken())
 */
SDRV_API int sdrv_blkfront_wait_connected(struct sdrv_blkfront *f, int timeout_ms);

/** @brief Whether the device is Connected now (and its backend alive). */
SDRV_API bool sdrv_blkfront_connected(const struct sdrv_blkfront *f);

/**
 * @brief What the device is (valid once it has been Connected).
 * @return 0, or -ENOTCONN before the first connection
 */
SDRV_API int sdrv_blkfront_info(const struct sdrv_blkfront *f, struct sdrv_blkfront_info *info);

/**
 * @brief Why the frontend broke, or NULL while it is healthy.
 *
 * The frontend breaks when the backend breaks the protocol (a bad
 * response, a bad index) and when the negotiation is refused (a backend key
 * that is malformed or out of range, a sector size other than 512 or 4096,
 * grants that cannot be allocated). The string says which, with the
 * offending key or value, and lives until sdrv_blkfront_free().
 */
SDRV_API const char *sdrv_blkfront_broken(const struct sdrv_blkfront *f);

/** @brief Fill `st` (set st->sz first). */
SDRV_API void sdrv_blkfront_stats(const struct sdrv_blkfront *f, struct sdrv_blkfront_stats *st);

/** @name Operations (sdrv_blkfront_submit())
 * @{ */
#define SDRV_BLKFRONT_OP_READ	 0 /**< Read `len` bytes at `offset` into `buf`. */
#define SDRV_BLKFRONT_OP_WRITE	 1 /**< Write `len` bytes of `buf` at `offset`. */
#define SDRV_BLKFRONT_OP_FLUSH	 2 /**< Make every completed write durable (`len` 0). */
#define SDRV_BLKFRONT_OP_DISCARD 3 /**< Discard `len` bytes at `offset` (`buf` NULL). */
/** @} */

/** @name I/O flags (sdrv_blkfront_submit())
 * @{ */
/** WRITE: durable when it completes (written, then flushed). */
#define SDRV_BLKFRONT_FUA (1u << 0)
/** WRITE: as a barrier (WRITE_BARRIER), ordered after every earlier write
 *  of the same queue (the backend orders per ring). */
#define SDRV_BLKFRONT_BARRIER (1u << 1)
/** DISCARD: erase securely (needs `discard-secure`). */
#define SDRV_BLKFRONT_SECURE (1u << 2)
/** Any operation: write the requests into the ring but do not publish them
 *  yet; sdrv_blkfront_push() (or the next submit without this flag, or
 *  sdrv_blkfront_process()) does, with at most one notification per
 *  queue. For callers that submit several I/Os at once. */
#define SDRV_BLKFRONT_DEFER (1u << 3)
/** @} */

/**
 * @brief Completion of one I/O.
 * @param status 0; -EIO (the backend answered an error, or the device
 *        broke); -EOPNOTSUPP (the backend refused the operation);
 *        -ECANCELED (the frontend was freed); -ENODEV (the device was
 *        removed); -ETIMEDOUT (reconnect_timeout_ms passed)
 * @param ctx the submitter's `ctx`
 */
typedef void (*sdrv_blkfront_done_fn)(int status, void *ctx);

/**
 * @brief Submit one I/O; `done` runs once, from sdrv_blkfront_process().
 *
 * `offset` and `len` are bytes, multiples of 512 (of 4096 on a device
 * with 4096-byte sectors); `len` and `offset` are 0 for FLUSH and only
 * then; the range lies inside the device. `buf` must stay valid until
 * `done` runs. May be called before the device is Connected: the I/O then
 * waits, and what can only be checked against the device (range,
 * read-only, features) is checked when it is sent, its callback getting
 * the error (-EINVAL, -EROFS, -EOPNOTSUPP).
 *
 * A FUA write on a device that offers neither `feature-flush-cache` nor
 * `feature-barrier` has no volatile cache to flush and is a plain write;
 * a FLUSH on a read-only device completes at once (nothing was written).
 *
 * @return 0; -EAGAIN if max_ios I/Os are in flight (process, then retry);
 *         -EINVAL (alignment, range, unknown op or flags, NULL `done` or
 *         `buf`); -EROFS (a write or discard to a read-only device);
 *         -EOPNOTSUPP (flush, barrier, discard or secure discard the
 *         backend does not offer); or the error that closed the frontend
 */
SDRV_API int sdrv_blkfront_submit(struct sdrv_blkfront *f, uint32_t op, uint64_t offset, void *buf,
				  uint64_t len, uint32_t flags, sdrv_blkfront_done_fn done,
				  void *ctx);

/** A held read's data, left in the granted pages (sdrv_blkfront_read_held()). */
struct sdrv_blkfront_held;

/**
 * @brief Submit a read whose data stay in the granted pages until the
 *        caller has copied them, from any thread.
 *
 * For callers that complete I/Os on one thread and consume the data on
 * others (a server with worker threads): the copy out of the granted
 * pages, which sdrv_blkfront_submit() makes on the frontend's thread when
 * the response comes, is made by whoever wants the data, in parallel.
 *
 * Like a READ of sdrv_blkfront_submit() without a buffer. When `done`
 * runs with status 0, `*held` holds the data: copy them with
 * sdrv_blkfront_held_copy(), then give them back with
 * sdrv_blkfront_held_release() (both from any thread). With any other
 * status nothing is held and `*held` is already invalid. Until it is
 * released a held read counts against max_ios and keeps its granted pages
 * out of use: release promptly. sdrv_blkfront_free() releases what is
 * still held; nothing may copy from then on.
 *
 * The pages stay valid across a disconnect: a queue's pages that are held
 * are revoked only once the last of them is released.
 *
 * @param f the frontend
 * @param offset where the read starts, in bytes (a multiple of the sector size)
 * @param len how many bytes (a multiple of the sector size, not 0)
 * @param flags SDRV_BLKFRONT_DEFER or 0
 * @param done runs once, from the frontend's thread, when the read completes
 * @param ctx passed to `done`
 * @param[out] held the handle, valid from a return of 0 until the release
 *        (or the callback with an error)
 * @return as sdrv_blkfront_submit(); -EINVAL if `held` is NULL
 */
SDRV_API int sdrv_blkfront_read_held(struct sdrv_blkfront *f, uint64_t offset, uint64_t len,
				     uint32_t flags, sdrv_blkfront_done_fn done, void *ctx,
				     struct sdrv_blkfront_held **held);

/**
 * @brief Copy `len` bytes from byte `off` of a held read into `buf`.
 *
 * Any thread, concurrently with every other call on the frontend, between
 * the read's callback (status 0) and its release. Copies may overlap and
 * repeat.
 *
 * @return 0, or -EINVAL (the range leaves the read, or `held` is not a
 *         read whose callback ran with status 0)
 */
SDRV_API int sdrv_blkfront_held_copy(const struct sdrv_blkfront_held *held, uint64_t off, void *buf,
				     uint64_t len);

/**
 * @brief Give a held read's pages and its place among max_ios back.
 *
 * Any thread; once per held read, after its last sdrv_blkfront_held_copy().
 * The frontend's thread takes them back in its next call (submit, poll,
 * push or process), and is woken through sdrv_blkfront_fd() if sending
 * waits for them.
 *
 * A handle that is not one of this frontend's held reads, or one already
 * released, is refused and nothing changes. The check is exact until the
 * released read's place is reused by a later I/O (the next submit may
 * reuse it); a handle used after that is the caller's bug, which no check
 * can tell from the new read's own.
 *
 * @param f the frontend that completed the read
 * @param held the handle that sdrv_blkfront_read_held() gave
 * @return 0, or -EINVAL (refused: NULL, not this frontend's, not held,
 *         released already)
 */
SDRV_API int sdrv_blkfront_held_release(struct sdrv_blkfront *f, struct sdrv_blkfront_held *held);

/**
 * @brief Publish the requests of deferred submissions (SDRV_BLKFRONT_DEFER)
 *        and notify the backend where the ring says so.
 * @return 0, or the error that closed the frontend
 */
SDRV_API int sdrv_blkfront_push(struct sdrv_blkfront *f);

/**
 * @brief Take the responses waiting in the rings, complete what they
 *        finish and send what waited: the ring part of
 *        sdrv_blkfront_process(), without looking at the store or the
 *        transport and without a system call (except notifications for
 *        requests it sends).
 *
 * For a busy-polling loop before it sleeps: polling does not ask the
 * backend for notifications, so while the frontend polls the backend
 * sends none. Call sdrv_blkfront_process() before sleeping on
 * sdrv_blkfront_fd(): that asks for them again (the ring's final check).
 *
 * @return the number of responses taken (>= 0), the error that closed the
 *         frontend, or -EBUSY from a completion callback
 */
SDRV_API int sdrv_blkfront_poll(struct sdrv_blkfront *f);

/**
 * @brief Synchronous read: submit and drive sdrv_blkfront_process() until done.
 *
 * Like the other synchronous helpers, waits for room when max_ios I/Os are
 * in flight, and must not be called from a completion callback (-EBUSY).
 *
 * @return 0, the I/O's status, or what sdrv_blkfront_submit() refused it with
 */
SDRV_API int sdrv_blkfront_pread(struct sdrv_blkfront *f, void *buf, uint64_t len, uint64_t offset);
/** @brief Synchronous write (flags as sdrv_blkfront_submit()). */
SDRV_API int sdrv_blkfront_pwrite(struct sdrv_blkfront *f, const void *buf, uint64_t len,
				  uint64_t offset, uint32_t flags);
/** @brief Synchronous flush. */
SDRV_API int sdrv_blkfront_flush(struct sdrv_blkfront *f);
/** @brief Synchronous discard (flags: SDRV_BLKFRONT_SECURE). */
SDRV_API int sdrv_blkfront_discard(struct sdrv_blkfront *f, uint64_t len, uint64_t offset,
				   uint32_t flags);

SDRV_END_DECLS

#endif /* SPLITDRV_BLKFRONT_H */
