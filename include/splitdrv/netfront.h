/* SPDX-License-Identifier: MIT */
/**
 * @file netfront.h
 * @brief netfront: the frontend of a split network device, as a library.
 *
 * A frontend reaches a virtual network interface ("vif") that a backend
 * (netback, or Linux's xen-netback) serves, through the netif protocol
 * (proto/netif.h): a transmit ring and a receive ring of one page each,
 * one event channel for both, and granted pages for the data, negotiated
 * through the device's store directories
 * (`/local/domain/<fe>/device/vif/<handle>`) with the xenbus handshake
 * (xenbus.h), with the keys Linux's xen-netfront writes.
 *
 * What it does for its user:
 *  - publishes the rings and its features (`feature-sg`,
 *    `feature-gso-tcpv4`, `feature-gso-tcpv6`, `feature-rx-notify`,
 *    `request-rx-copy`, `feature-ipv6-csum-offload`), reads the device's
 *    MAC address from the frontend's own `mac` key and, at connect, what
 *    the backend offers;
 *  - transmits frames of up to 65535 bytes: each is copied into granted
 *    pages of a pool shared once per connection, one slot per 4096-byte
 *    piece, with checksum and segmentation offload requests the backend
 *    accepts (GSO only where the backend offers it, several slots only
 *    with `feature-sg`);
 *  - keeps every receive slot posted with a granted buffer and hands each
 *    received frame, reassembled from its slots, to the `rx` callback;
 *  - does not trust the backend: every ring slot goes through the netif
 *    codec; a tx response for an id that is not in flight, a receive
 *    response for another slot's buffer, an unknown status or an index
 *    that claims more responses than requests breaks the device with a
 *    reason (sdrv_netfront_broken()), logged, and the device is closed. A
 *    malformed received packet (what Linux drops) is dropped and counted.
 *  - survives a backend restart: when the backend's domain dies the link
 *    goes down, and the device reconnects when a backend comes back.
 *
 * Threads: the library owns none. One handle is used by one thread at a
 * time; sdrv_netfront_fd() becomes readable when sdrv_netfront_process()
 * has work. The callbacks run inside sdrv_netfront_process(); the `rx`
 * callback may call sdrv_netfront_send() but no callback may free the
 * handle. The transport handle given in the options is used by this
 * frontend alone (it takes every pending event channel of it); the store
 * connection may be shared.
 */
#ifndef SPLITDRV_NETFRONT_H
#define SPLITDRV_NETFRONT_H

#include <sys/uio.h>

#include <splitdrv/common.h>
#include <splitdrv/proto/netif.h>
#include <splitdrv/transport.h>
#include <splitdrv/xs.h>

SDRV_BEGIN_DECLS

/** @brief A network frontend. */
struct sdrv_netfront;

/** @brief Largest frame sdrv_netfront_send() takes, in bytes (with its Ethernet header). */
#define SDRV_NETFRONT_MAX_FRAME 65535u
/** @brief Smallest frame sdrv_netfront_send() takes: an Ethernet header. */
#define SDRV_NETFRONT_MIN_FRAME 14u

/**
 * @defgroup netfront_off netfront offload flags
 * @brief Bits of sdrv_netfront_offload::flags.
 * @{
 */
/** @brief The frame's TCP or UDP checksum is not computed yet (SDRV_NETIF_PKT_CSUM_BLANK). */
#define SDRV_NETFRONT_CSUM_BLANK (1u << 0)
/** @brief The frame's checksum was validated (SDRV_NETIF_PKT_DATA_VALIDATED). */
#define SDRV_NETFRONT_DATA_VALIDATED (1u << 1)
/**
 * @brief sdrv_netfront_send() only: more frames follow at once; publish
 *        the requests but notify the backend with the next send without
 *        this flag, sdrv_netfront_flush() or sdrv_netfront_process().
 */
#define SDRV_NETFRONT_MORE (1u << 8)
/** @} */

/**
 * @defgroup netfront_feat netfront backend features
 * @brief Bits of sdrv_netfront_features().
 * @{
 */
#define SDRV_NETFRONT_F_SG	  (1u << 0) /**< The backend offers `feature-sg`. */
#define SDRV_NETFRONT_F_GSO_TCPV4 (1u << 1) /**< The backend offers `feature-gso-tcpv4`. */
#define SDRV_NETFRONT_F_GSO_TCPV6 (1u << 2) /**< The backend offers `feature-gso-tcpv6`. */
/** @} */

/** @brief Offload information of a frame, in both directions. */
struct sdrv_netfront_offload {
	uint16_t flags;	   /**< SDRV_NETFRONT_CSUM_BLANK, _DATA_VALIDATED (send: also _MORE). */
	uint16_t gso_type; /**< SDRV_NETIF_GSO_TYPE_NONE, _TCPV4 or _TCPV6. */
	uint16_t gso_size; /**< With a GSO type: the largest segment payload (MSS), > 0. */
	uint16_t _pad0;	   /**< Padding, zero. */
};

/** @brief Options of sdrv_netfront_new(). Zero-fill, then set `sz`. */
struct sdrv_netfront_opts {
	size_t sz;		  /**< sizeof(struct sdrv_netfront_opts). */
	struct sdrv_xport *xport; /**< The frontend's domain (not owned; outlives the handle). */
	struct sdrv_xs *xs;	  /**< Its store connection (not owned; outlives the handle). */
	uint32_t handle;	  /**< Device id: the `vif/<handle>` directory. */
	uint32_t flags;		  /**< Reserved, zero. */
	/** A received frame, `len` bytes at `frame` (valid during the call),
	 *  with its offload information. Optional (frames are dropped). */
	void (*rx)(void *ctx, const void *frame, size_t len,
		   const struct sdrv_netfront_offload *off);
	/** The link went up (connected to the backend) or down. Optional. */
	void (*link)(void *ctx, bool up);
	void *ctx; /**< First argument of `rx` and `link`. */
	/** Log sink (`level` a syslog priority); NULL logs nothing. */
	void (*log)(void *ctx, int level, const char *msg);
	void *log_ctx;	     /**< First argument of `log`. */
	uint32_t tx_pages;   /**< Granted transmit pages, 19..256 (0: 256). */
	uint32_t rx_buffers; /**< Receive buffers posted, 32..256 (0: 256). */
	/** A received frame in place: `len` bytes in `niov` pieces of the
	 *  receive buffers, valid during the call, with its offload
	 *  information. When set, it is called instead of `rx`, and no copy
	 *  is made. The buffers are granted to the backend, which can still
	 *  write them: copy what you must check before you rely on it (the
	 *  headers), and hand the rest on as it is. Optional. */
	void (*rxv)(void *ctx, const struct iovec *iov, unsigned int niov, size_t len,
		    const struct sdrv_netfront_offload *off);
};

/** @brief Counters of a frontend (sdrv_netfront_stats()). */
struct sdrv_netfront_stats {
	size_t sz;	     /**< sizeof(struct sdrv_netfront_stats), set by the caller. */
	uint64_t tx_packets; /**< Frames sent. */
	uint64_t tx_bytes;   /**< Bytes sent. */
	uint64_t tx_errors;  /**< Frames the backend answered with an error or a drop. */
	uint64_t tx_busy;    /**< Sends refused with -EAGAIN. */
	uint64_t rx_packets; /**< Frames received. */
	uint64_t rx_bytes;   /**< Bytes received. */
	uint64_t rx_dropped; /**< Malformed received packets dropped. */
	uint64_t notifies;   /**< Event channel notifications sent. */
	uint64_t wakeups;    /**< Event channel notifications received. */
	uint64_t connects;   /**< Successful connections. */
	/** Transmit ring slots in flight now (requests not yet answered). */
	uint64_t tx_inflight;
};

/**
 * @brief Create a frontend for device `vif/<handle>` of the transport's domain.
 *
 * The device's directories must exist (the toolstack made them); the
 * handshake then runs from sdrv_netfront_process().
 *
 * @param opts the options
 * @return the frontend, or NULL with errno set (EINVAL: bad options;
 *         ENOENT: no such device)
 */
SDRV_API struct sdrv_netfront *sdrv_netfront_new(const struct sdrv_netfront_opts *opts);

/**
 * @brief Close the device orderly and free the handle.
 *
 * Goes Closing, waits up to `timeout_ms` for the backend to close (it then
 * unmaps the pages), revokes every grant and frees everything. Frames not
 * yet answered are lost. NULL is allowed.
 *
 * @param nf         the frontend
 * @param timeout_ms how long to wait for the backend (0: not at all)
 */
SDRV_API void sdrv_netfront_free(struct sdrv_netfront *nf, int timeout_ms);

/**
 * @brief The descriptor to poll: readable when sdrv_netfront_process() has work.
 * @param nf the frontend
 * @return an epoll descriptor owned by the handle
 */
SDRV_API int sdrv_netfront_fd(const struct sdrv_netfront *nf);

/**
 * @brief Do the pending work without blocking: store events, the
 *        handshake, responses, received frames (the `rx` callback), and
 *        notifications deferred by SDRV_NETFRONT_MORE.
 * @param nf the frontend
 * @return 0; -EIO once the device is broken (sdrv_netfront_broken());
 *         -ENODEV once it was removed; -EBUSY when called from a callback
 */
SDRV_API int sdrv_netfront_process(struct sdrv_netfront *nf);

/**
 * @brief Transmit one Ethernet frame.
 *
 * The frame is copied; the buffer may be reused on return.
 *
 * @param nf    the frontend
 * @param frame the frame, from its Ethernet header
 * @param len   its bytes, SDRV_NETFRONT_MIN_FRAME..SDRV_NETFRONT_MAX_FRAME
 *              (at most 4096 unless the backend offers `feature-sg`)
 * @param off   offload information, or NULL for none
 * @return 0; -EAGAIN when the transmit ring or the page pool is full
 *         (sdrv_netfront_fd() becomes readable when responses free space:
 *         process, then try again once sdrv_netfront_writable());
 *         -EMSGSIZE for a bad length; -EOPNOTSUPP for a GSO type the
 *         backend does not offer; -EINVAL for bad offload information
 *         or a NULL frame;
 *         -ENOTCONN while not connected; -EIO once broken; -ENODEV once
 *         removed
 */
SDRV_API int sdrv_netfront_send(struct sdrv_netfront *nf, const void *frame, size_t len,
				const struct sdrv_netfront_offload *off);

/**
 * @brief The transmit pages the next frame goes in, to fill in place.
 *
 * For a caller that reads frames straight into the granted pages (readv()
 * from a TAP, say) instead of handing sdrv_netfront_send() a copy: fill
 * the first bytes of these buffers, in order, then call
 * sdrv_netfront_send_buffers() with no other send in between. Asking
 * again without sending hands out the same pages.
 *
 * @param nf  the frontend
 * @param iov out: up to `max` buffers of 4096 bytes each, room for a frame
 *            of the largest size the backend takes when `max` allows
 * @param max capacity of `iov` (17 covers any frame)
 * @return the number of buffers; -EAGAIN when there is no room for the
 *         largest frame (as sdrv_netfront_writable()); -EINVAL; or the
 *         errors of sdrv_netfront_send()
 */
SDRV_API int sdrv_netfront_tx_buffers(struct sdrv_netfront *nf, struct iovec *iov,
				      unsigned int max);

/**
 * @brief Transmit the frame written into the buffers of sdrv_netfront_tx_buffers().
 * @param nf  the frontend
 * @param len the frame's bytes, from the start of the first buffer, at
 *            most the buffers' total
 * @param off offload information, or NULL for none
 * @return as sdrv_netfront_send()
 */
SDRV_API int sdrv_netfront_send_buffers(struct sdrv_netfront *nf, size_t len,
					const struct sdrv_netfront_offload *off);

/**
 * @brief Notify the backend of requests published with SDRV_NETFRONT_MORE.
 * @param nf the frontend
 * @return 0, or the error sdrv_netfront_send() would give
 */
SDRV_API int sdrv_netfront_flush(struct sdrv_netfront *nf);

/**
 * @brief Whether a frame of the largest size the backend accepts can be
 *        sent now (connected, ring slots and pages free).
 * @param nf the frontend
 * @return true if sdrv_netfront_send() will not give -EAGAIN
 */
SDRV_API bool sdrv_netfront_writable(const struct sdrv_netfront *nf);

/**
 * @brief Whether the device is connected to a live backend.
 * @param nf the frontend
 * @return true while frames can be sent and received
 */
SDRV_API bool sdrv_netfront_connected(const struct sdrv_netfront *nf);

/**
 * @brief The device's MAC address (the frontend's `mac` key).
 * @param nf  the frontend
 * @param mac out: the six bytes
 * @return 0, or -ENOENT until the key was read (it is read when the
 *         device is published)
 */
SDRV_API int sdrv_netfront_mac(const struct sdrv_netfront *nf, uint8_t mac[6]);

/**
 * @brief The device's MTU: the backend's `mtu` key when it writes one
 *        (68..65535), else 1500.
 * @param nf the frontend
 * @return the MTU in bytes
 */
SDRV_API uint32_t sdrv_netfront_mtu(const struct sdrv_netfront *nf);

/**
 * @brief What the backend offered at the last connect.
 * @param nf the frontend
 * @return SDRV_NETFRONT_F_* bits (0 before the first connect)
 */
SDRV_API uint32_t sdrv_netfront_features(const struct sdrv_netfront *nf);

/**
 * @brief The backend's domain.
 * @param nf the frontend
 * @return its domain id (from the device's `backend-id`)
 */
SDRV_API sdrv_domid_t sdrv_netfront_backend(const struct sdrv_netfront *nf);

/**
 * @brief Why the device broke.
 * @param nf the frontend
 * @return NULL while it is not broken, else the reason
 */
SDRV_API const char *sdrv_netfront_broken(const struct sdrv_netfront *nf);

/**
 * @brief The counters.
 * @param nf the frontend
 * @param st out: set `st->sz` first; members beyond it are not written
 */
SDRV_API void sdrv_netfront_stats(const struct sdrv_netfront *nf, struct sdrv_netfront_stats *st);

SDRV_END_DECLS

#endif /* SPLITDRV_NETFRONT_H */
