/* SPDX-License-Identifier: MIT */
/**
 * @file transport.h
 * @brief The one contract every transport implements: domains, grants,
 *        event channels and the store's address.
 *
 * A driver talks to its peer only through this interface, so the same
 * driver runs over real Xen (libxengnttab, libxenevtchn), over QEMU/KVM
 * shared memory (ivshmem) and between ordinary processes (the POSIX
 * transport and its broker, splitdrvd). Semantics follow Xen's where Xen
 * has them; a transport that cannot provide something says so through its
 * capability bits (sdrv_xport_caps()) instead of failing late.
 *
 * Conventions: functions return 0 (or a count) or a negative errno;
 * constructors return NULL and set errno. A transport handle is used by one
 * thread at a time. The library owns no threads: sdrv_xport_fd() becomes
 * readable when an event channel is pending or the transport has news (a
 * peer died), and the caller then calls sdrv_evtchn_pending() and
 * sdrv_xport_process().
 *
 * This header is hosted (it is not part of the freestanding core).
 */
#ifndef SPLITDRV_TRANSPORT_H
#define SPLITDRV_TRANSPORT_H

#include <splitdrv/common.h>
#include <splitdrv/grant.h>

SDRV_BEGIN_DECLS

/** @brief An event-channel port, local to one domain. */
typedef uint32_t sdrv_evtchn_port_t;

/** @brief Ask for any free domain id. */
#define SDRV_DOMID_ANY 0xFFFEu
/** @brief No domain. */
#define SDRV_DOMID_INVALID 0xFFFFu
/** @brief The privileged (toolstack) domain's id. */
#define SDRV_DOMID_PRIVILEGED 0u

/** @name Capability bits (sdrv_xport_caps())
 * @{ */
/** Grant copy (sdrv_gnt_copy()) without mapping. */
#define SDRV_XPORT_CAP_COPY (1u << 0)
/** Isolation: a mapper can reach only pages granted to it. */
#define SDRV_XPORT_CAP_ISOLATE (1u << 1)
/** Read-only grants are enforced by the MMU (a write faults). */
#define SDRV_XPORT_CAP_READONLY (1u << 2)
/** Several refs map into one contiguous range. */
#define SDRV_XPORT_CAP_MAP_BATCH (1u << 3)
/** The death of a peer domain is reported (SDRV_XPORT_EV_PEER_DIED). */
#define SDRV_XPORT_CAP_PEER_DEATH (1u << 4)
/** @} */

/** @name Open flags (sdrv_xport_opts::flags)
 * @{ */
/** Ask to be the privileged domain (the broker's configuration decides). */
#define SDRV_XPORT_PRIVILEGED (1u << 0)
/** Share only what is granted: mappers get per-page descriptors. */
#define SDRV_XPORT_ISOLATE (1u << 1)
/** @} */

/**
 * @brief Options for sdrv_xport_open(). Zero-fill, then set `sz`.
 *
 * New fields are only ever appended; `sz` tells the library which ones the
 * caller knows about.
 */
struct sdrv_xport_opts {
	size_t sz;	      /**< sizeof(struct sdrv_xport_opts). */
	const char *address;  /**< Transport address (POSIX: broker socket path);
				   NULL for the default ($SPLITDRV_BROKER, then
				   /run/splitdrv/broker.sock). */
	uint32_t flags;	      /**< SDRV_XPORT_PRIVILEGED, SDRV_XPORT_ISOLATE. */
	sdrv_domid_t domid;   /**< Domain id wanted, or SDRV_DOMID_ANY. */
	uint32_t grant_pages; /**< Pages this domain can share (0: default 1024). */
};

/** @brief A domain's connection to its transport (hypervisor, broker). */
struct sdrv_xport;

/**
 * @brief Connect to a transport as a new domain.
 * @param kind "posix" (more to come: "xen", "ivshmem"); NULL for "posix"
 * @param opts options, or NULL for the defaults
 * @return the handle, or NULL with errno set (ECONNREFUSED: no broker;
 *         EPERM: privileged or domid refused; EPROTONOSUPPORT: unknown kind)
 */
SDRV_API struct sdrv_xport *sdrv_xport_open(const char *kind, const struct sdrv_xport_opts *opts);

/**
 * @brief Close the connection, releasing everything of this domain.
 *
 * Mappings of other domains' pages are unmapped; pages this domain shared
 * stay valid for peers that still map them until they unmap.
 */
SDRV_API void sdrv_xport_close(struct sdrv_xport *x);

/** @brief This domain's id. */
SDRV_API sdrv_domid_t sdrv_xport_domid(const struct sdrv_xport *x);

/** @brief Capability bits, SDRV_XPORT_CAP_*. */
SDRV_API uint32_t sdrv_xport_caps(const struct sdrv_xport *x);

/**
 * @brief The one file descriptor to poll for this domain.
 *
 * Readable when an event channel is pending or transport news waits.
 * Owned by the transport; do not close or read it.
 */
SDRV_API int sdrv_xport_fd(const struct sdrv_xport *x);

/**
 * @brief Wait until an event channel is pending or transport news waits.
 *
 * What poll() on sdrv_xport_fd() does, in one system call less per
 * wake-up: the look it takes at the domain's channels is the one that the
 * following sdrv_xport_process() and sdrv_evtchn_pending() calls answer
 * from. After a wait, sdrv_evtchn_pending() hands out the ports that the
 * wait found and then returns 0 once without looking again (the call
 * after that looks afresh); whatever arrived meanwhile makes the next wait
 * return at once. The loop it is made for:
 *
 * @code
 * for (;;) {
 *         int r = sdrv_xport_wait(x, -1);
 *
 *         if (r < 0 && r != -EINTR)
 *                 break;
 *         sdrv_xport_process(x, ev, n);
 *         while (sdrv_evtchn_pending(x, &port) == 1) {
 *                 handle(port);
 *                 sdrv_evtchn_unmask(x, port);
 *         }
 * }
 * @endcode
 *
 * @param x          the transport
 * @param timeout_ms longest wait in milliseconds; -1 waits without limit,
 *                   0 only looks
 * @return 1 if something may be ready (returned at once when an earlier
 *         look left ports to hand out, or news is queued), 0 on timeout,
 *         -EINTR if a signal interrupted the wait, or another negative errno
 */
SDRV_API int sdrv_xport_wait(struct sdrv_xport *x, int timeout_ms);

/**
 * @brief The store (xenstore protocol) address of this transport's world.
 * @return a socket path or similar, or NULL if none is configured
 */
SDRV_API const char *sdrv_xport_store_address(const struct sdrv_xport *x);

/** @name Transport news (sdrv_xport_process())
 * @{ */
#define SDRV_XPORT_EV_PEER_DIED 1u /**< `domid` is gone; its channels are closed. */
/** @} */

/** @brief One piece of transport news. */
struct sdrv_xport_event {
	uint32_t type;	    /**< SDRV_XPORT_EV_*. */
	sdrv_domid_t domid; /**< The domain concerned. */
};

/**
 * @brief Handle what the transport has to say, without blocking.
 * @param x      the transport
 * @param ev     out: up to `max` events
 * @param max    room in `ev`
 * @return the number of events stored, or a negative errno (-ECONNRESET:
 *         the transport itself went away)
 */
SDRV_API int sdrv_xport_process(struct sdrv_xport *x, struct sdrv_xport_event *ev, uint32_t max);

/* ------------------------------ grants ---------------------------------- */

/**
 * @brief Share `count` fresh zeroed pages with domain `peer`.
 *
 * Allocates the pages from this domain's grant pool and grants each,
 * read-only unless `writable`. The pages are contiguous in this process.
 *
 * @param x        the transport
 * @param peer     the domain allowed to map them
 * @param count    pages
 * @param writable whether the peer may write
 * @param refs     out: `count` grant references
 * @return the pages, or NULL with errno (ENOSPC: pool or table full)
 */
SDRV_API void *sdrv_gnt_share(struct sdrv_xport *x, sdrv_domid_t peer, uint32_t count,
			      bool writable, sdrv_grant_ref_t *refs);

/**
 * @brief End the peer's access to one shared page, in one atomic step.
 * @return 0, -EBUSY while the peer has it mapped (the page must then not
 *         be reused), -EINVAL for a ref this domain did not grant
 */
SDRV_API int sdrv_gnt_end(struct sdrv_xport *x, sdrv_grant_ref_t ref);

/**
 * @brief End access to and free pages from sdrv_gnt_share().
 *
 * All or nothing: if any page is still mapped by the peer, nothing is
 * freed and -EBUSY is returned (retry later, or after the peer died).
 */
SDRV_API int sdrv_gnt_unshare(struct sdrv_xport *x, void *pages, uint32_t count);

/**
 * @brief Map a batch of another domain's grants, contiguously.
 *
 * Every element gets a status in `status` (0 or a negative errno:
 * -EPERM not granted to us or read-only, -EINVAL bad ref, -ENOENT no such
 * domain). If any element fails, the successful ones are unmapped again
 * and NULL is returned with errno EINVAL or EPERM.
 *
 * @return the mapping (count pages), or NULL
 */
SDRV_API void *sdrv_gnt_map(struct sdrv_xport *x, sdrv_domid_t granter, uint32_t count,
			    const sdrv_grant_ref_t *refs, bool writable, int *status);

/** @brief Unmap what sdrv_gnt_map() returned. */
SDRV_API int sdrv_gnt_unmap(struct sdrv_xport *x, void *addr, uint32_t count);

/** @brief One segment of a grant copy (Xen's gnttab_copy). */
struct sdrv_gnt_copy_seg {
	sdrv_domid_t granter; /**< The domain that granted `ref`. */
	sdrv_grant_ref_t ref; /**< The granted page. */
	uint16_t offset;      /**< Offset in that page. */
	uint16_t len;	      /**< Bytes; offset + len <= 4096. */
	bool to_grant;	      /**< true: local -> granted page; false: the reverse. */
	void *local;	      /**< Local buffer of `len` bytes. */
	int status;	      /**< out: 0 or a negative errno. */
};

/**
 * @brief Copy to or from granted pages without mapping them.
 *
 * Each segment is checked on its own (bounds, grant, direction against a
 * read-only grant) and gets its own status.
 *
 * @return 0 if every segment succeeded, else -EIO (see the statuses)
 */
SDRV_API int sdrv_gnt_copy(struct sdrv_xport *x, struct sdrv_gnt_copy_seg *segs, uint32_t n);

/* --------------------------- event channels ----------------------------- */

/**
 * @brief Allocate a port that domain `remote` may bind to.
 * @return 0 with `*port` set, or a negative errno
 */
SDRV_API int sdrv_evtchn_alloc_unbound(struct sdrv_xport *x, sdrv_domid_t remote,
				       sdrv_evtchn_port_t *port);

/**
 * @brief Bind to port `remote_port` that `remote` allocated for us.
 *
 * As in Xen, the new local port starts pending, so a notification the peer
 * sent before the binding is never lost: check the ring after binding.
 *
 * @return 0 with `*port` set; -EPERM if the port was not offered to us,
 *         -ENOENT if it does not exist, -EBUSY if already bound
 */
SDRV_API int sdrv_evtchn_bind(struct sdrv_xport *x, sdrv_domid_t remote,
			      sdrv_evtchn_port_t remote_port, sdrv_evtchn_port_t *port);

/**
 * @brief Notify the peer of a bound port. One write on the fast path.
 * @return 0, -ENOTCONN if not bound (yet) or the peer is gone
 */
SDRV_API int sdrv_evtchn_notify(struct sdrv_xport *x, sdrv_evtchn_port_t port);

/**
 * @brief Take one pending port (libxenevtchn's xenevtchn_pending()).
 *
 * The port is returned masked and its pending state cleared. Do the work,
 * then sdrv_evtchn_unmask() or sdrv_evtchn_eoi().
 *
 * @return 1 with `*port` set, 0 if none is pending, or a negative errno
 */
SDRV_API int sdrv_evtchn_pending(struct sdrv_xport *x, sdrv_evtchn_port_t *port);

/** @brief Mask a port: its notifications stay pending, undelivered. */
SDRV_API int sdrv_evtchn_mask(struct sdrv_xport *x, sdrv_evtchn_port_t port);

/** @brief Unmask a port; a notification that came meanwhile is delivered. */
SDRV_API int sdrv_evtchn_unmask(struct sdrv_xport *x, sdrv_evtchn_port_t port);

/** @brief sdrv_evtchn_eoi() flag: the wake-up found no work. */
#define SDRV_EOI_SPURIOUS (1u << 0)

/**
 * @brief Late end-of-interrupt: unmask after the work is drained.
 *
 * As Linux's lateeoi (XSA-332, XSA-391): with SDRV_EOI_SPURIOUS the
 * channel's spurious count grows and, past a threshold, the unmask is
 * delayed exponentially (capped at one second), so a peer that floods
 * events costs bounded CPU. A wake-up that found work resets the count.
 */
SDRV_API int sdrv_evtchn_eoi(struct sdrv_xport *x, sdrv_evtchn_port_t port, uint32_t flags);

/** @brief Close a port; the peer's end reports -ENOTCONN from then on. */
SDRV_API int sdrv_evtchn_close(struct sdrv_xport *x, sdrv_evtchn_port_t port);

SDRV_END_DECLS

#endif /* SPLITDRV_TRANSPORT_H */
