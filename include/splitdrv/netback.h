/* SPDX-License-Identifier: MIT */
/**
 * @file netback.h
 * @brief The network backend: a virtual switch port per frontend interface.
 *
 * A struct sdrv_netback serves every vif device under
 * `/local/domain/<domid>/backend/vif` (watching the store: devices come
 * and go while it runs), speaking Xen's netif protocol with Linux
 * xen-netback's xenstore keys. Each connected interface appears in the
 * caller's network namespace as a TAP interface `vif<FE>.<HANDLE>`
 * (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, not persistent), brought up with
 * the device's MTU and, if the backend key `bridge` names one, attached to
 * that Linux bridge (as Xen's vif-bridge script does).
 *
 * On the way from the frontend to the TAP (the interface *transmits*):
 * the codec validates every packet (sdrv_netif_tx_decode()); the data is
 * grant-copied into private memory, so nothing is read twice; frames whose
 * source MAC is not the device's `mac`, and, if the backend key `ip` is
 * set, IPv4/IPv6/ARP frames whose source address is not in it, are dropped
 * and counted; the `rate` key ("BYTES,USEC") limits the bytes per window
 * as Linux netback's credit scheduler does; a classifier can log frames
 * (TCP SYN, ARP, ICMP, DHCP). GSO and checksum offload go between the
 * netif extra-info slots and the TAP's virtio-net header, so a 64 KiB TCP
 * segment crosses the ring as one packet.
 *
 * On the way from the TAP to the frontend (the interface *receives*): a
 * frame is read from the TAP only when the frontend has posted the buffers
 * it needs, so a frontend that stops reading holds at most one frame of the
 * backend's memory; the rest waits in the TAP's own queue (its txqueuelen),
 * where the kernel drops and counts what does not fit.
 *
 * The library owns no thread: poll sdrv_netback_fd() with the timeout of
 * sdrv_netback_timeout() and call sdrv_netback_process().
 */
#ifndef SPLITDRV_NETBACK_H
#define SPLITDRV_NETBACK_H

#include <splitdrv/common.h>
#include <splitdrv/transport.h>
#include <splitdrv/xenbus.h>
#include <splitdrv/xs.h>

SDRV_BEGIN_DECLS

/** @brief A network backend serving the vif devices of one backend domain. */
struct sdrv_netback;

/** @name Option flags (sdrv_netback_opts::flags)
 * @{ */
/** Do not offer segmentation offload (feature-gso-tcpv4/6 = 0). */
#define SDRV_NETBACK_NO_GSO (1u << 0)
/** Write `hotplug-status` = "connected", as a hotplug script would. */
#define SDRV_NETBACK_HOTPLUG_STATUS (1u << 1)
/** Do not create TAP interfaces (for tests of the ring side only: frames
 *  the frontend sends are counted and discarded). */
#define SDRV_NETBACK_NO_TAP (1u << 2)
/** @} */

/** @name Classifier classes (sdrv_netback_opts::log_classes, sdrv_netback_classify())
 * @{ */
#define SDRV_NETBACK_CLASS_TCP_SYN (1u << 0) /**< TCP SYN without ACK (a connection attempt). */
#define SDRV_NETBACK_CLASS_ARP	   (1u << 1) /**< ARP. */
#define SDRV_NETBACK_CLASS_ICMP	   (1u << 2) /**< ICMP and ICMPv6. */
#define SDRV_NETBACK_CLASS_DHCP	   (1u << 3) /**< DHCP (UDP 67/68) and DHCPv6 (UDP 546/547). */
#define SDRV_NETBACK_CLASS_ALL	   0xfu	     /**< All of them. */
/** @} */

/** @brief Options of sdrv_netback_new(). Zero-fill, then set `sz`. */
struct sdrv_netback_opts {
	size_t sz;		  /**< sizeof(struct sdrv_netback_opts). */
	struct sdrv_xport *xport; /**< This domain's transport (not owned; outlives it). */
	struct sdrv_xs *xs;	  /**< The store connection (not owned; outlives it). */
	uint32_t flags;		  /**< SDRV_NETBACK_* option flags. */
	/** Packets per interface and direction per sdrv_netback_process()
	 *  call, 1..1024 (the fairness quantum); 0: 64. */
	uint32_t budget;
	/** Classes logged on every interface (SDRV_NETBACK_CLASS_*); the
	 *  backend key `log` adds per device. */
	uint32_t log_classes;
	/** Classifier lines per second per interface, beyond which lines
	 *  are counted, not logged; 0: 20. */
	uint32_t log_rate;
	/** Log sink (syslog priority, message without newline); NULL: none. */
	void (*log)(void *ctx, int level, const char *msg);
	void *log_ctx; /**< First argument of `log`. */
};

/**
 * @brief Start serving.
 *
 * Watches the vif directory; devices are picked up by
 * sdrv_netback_process().
 *
 * @return the backend, or NULL with errno (EINVAL for bad options)
 */
SDRV_API struct sdrv_netback *sdrv_netback_new(const struct sdrv_netback_opts *opts);

/**
 * @brief Close every device (Closing, then Closed), remove every TAP, free.
 *
 * Serves until the frontends follow or `timeout_ms` passes.
 *
 * @param nb the backend (NULL: nothing)
 * @param timeout_ms how long to wait for the frontends
 */
SDRV_API void sdrv_netback_free(struct sdrv_netback *nb, int timeout_ms);

/**
 * @brief A descriptor that is readable when sdrv_netback_process() has work.
 * @return the descriptor, or -EINVAL
 */
SDRV_API int sdrv_netback_fd(const struct sdrv_netback *nb);

/**
 * @brief Milliseconds until a timer of the backend expires (credit
 *        replenishment), for the caller's poll().
 * @return 0..1000, or -1 if no timer runs
 */
SDRV_API int sdrv_netback_timeout(const struct sdrv_netback *nb);

/**
 * @brief Do a bounded amount of work: store events, devices, rings, TAPs.
 * @return 0; -ECONNRESET if the store or the transport went away;
 *         -EINVAL
 */
SDRV_API int sdrv_netback_process(struct sdrv_netback *nb);

/** @brief One served interface (sdrv_netback_list()). */
struct sdrv_netback_vif_info {
	sdrv_domid_t frontend;	      /**< The frontend's domain. */
	uint32_t handle;	      /**< Device id (`handle`). */
	enum sdrv_xenbus_state state; /**< The backend's state. */
	bool connected;		      /**< Rings mapped, TAP up. */
	char ifname[16];	      /**< "vif<FE>.<HANDLE>". */
	int ifindex;		      /**< The TAP's interface index (0: none). */
	uint64_t rate_bytes;	      /**< Credit per window (0: unlimited). */
	uint64_t rate_usec;	      /**< The window. */
	uint32_t log_classes;	      /**< Classes logged now. */
	uint64_t tx_packets;	      /**< Frames from the frontend written to the TAP. */
	uint64_t tx_bytes;	      /**< Their bytes. */
	uint64_t tx_gso;	      /**< Of them, GSO frames. */
	uint64_t rx_packets;	      /**< Frames from the TAP delivered to the frontend. */
	uint64_t rx_bytes;	      /**< Their bytes. */
	uint64_t rx_gso;	      /**< Of them, GSO frames. */
	uint64_t tx_dropped_spoof;    /**< Frames dropped by anti-spoofing (all kinds). */
	uint64_t spoof_mac;	      /**< ...with a foreign source MAC. */
	uint64_t spoof_ipv4;	      /**< ...IPv4 with a foreign source address. */
	uint64_t spoof_arp;	      /**< ...ARP with a foreign sender address. */
	uint64_t spoof_ipv6;	      /**< ...IPv6 with a foreign source address. */
	uint64_t tx_dropped_error;    /**< Packets answered with an error (codec, grant). */
	uint64_t rx_dropped_error;    /**< Frames not deliverable (too big, bad buffer grant). */
	uint64_t rx_dropped_mcast;    /**< Multicast frames the frontend did not subscribe to. */
	uint64_t tx_throttled;	      /**< Times the rate limit held transmission. */
	uint64_t logged;	      /**< Classifier lines logged. */
	uint64_t log_suppressed;      /**< Classifier matches beyond the line rate. */
	uint64_t spurious;	      /**< Notifications that found no work. */
	/** Why the interface was disabled (a string owned by the backend,
	 *  valid until the next process call; NULL if it was not). */
	const char *broken;
};

/**
 * @brief The interfaces served, with their counters.
 * @param nb  the backend
 * @param out where to store up to `max` entries (may be NULL with max 0)
 * @param max capacity of `out`
 * @return the number of interfaces (may exceed `max`)
 */
SDRV_API uint32_t sdrv_netback_list(const struct sdrv_netback *nb,
				    struct sdrv_netback_vif_info *out, uint32_t max);

/** @name Building blocks (pure functions, exposed for tests and tools)
 * @{ */

/**
 * @brief Parse a `rate` key: "BYTES,USEC" (Linux netback's xen_net_read_rate()).
 * @param s     the value
 * @param bytes credit per window, > 0
 * @param usec  the window in microseconds, > 0
 * @return 0, or -EINVAL (the caller then runs unlimited, as Linux does)
 */
SDRV_API int sdrv_netback_parse_rate(const char *s, uint64_t *bytes, uint64_t *usec);

/**
 * @brief Parse a classifier list: comma-separated tcp-syn, arp, icmp, dhcp, all.
 * @param s    the list ("" is none)
 * @param mask SDRV_NETBACK_CLASS_* bits
 * @return 0, or -EINVAL for an unknown name
 */
SDRV_API int sdrv_netback_parse_classes(const char *s, uint32_t *mask);

/**
 * @brief Classify a frame and describe it for a log line.
 * @param frame the Ethernet frame
 * @param len   its bytes
 * @param desc  where to write a description such as
 *              "tcp-syn 10.0.0.1:43210 -> 10.0.0.2:5201" (may be NULL)
 * @param size  bytes at `desc`
 * @return the SDRV_NETBACK_CLASS_* bit of the frame, or 0
 */
SDRV_API uint32_t sdrv_netback_classify(const void *frame, size_t len, char *desc, size_t size);

/**
 * @brief The credit scheduler of one interface (Linux netback's
 *        tx_add_credit() and tx_credit_exceeded()).
 *
 * Fill it with sdrv_netback_credit_init(); the members are readable.
 */
struct sdrv_netback_credit {
	uint64_t bytes;		  /**< Credit per window (0: unlimited). */
	uint64_t usec;		  /**< The window, in microseconds. */
	uint64_t remaining;	  /**< Credit left now. */
	uint64_t window_start_us; /**< When the current window began. */
};

/**
 * @brief Set a credit scheduler up (or change its rate while it runs).
 *
 * A window starts at `now_us` with a full window of credit, as Linux does
 * when the `rate` key changes.
 *
 * @param c      the scheduler
 * @param bytes  credit per window; 0 or usec 0: unlimited
 * @param usec   the window
 * @param now_us the time now (any monotonic clock, in microseconds)
 */
SDRV_API void sdrv_netback_credit_init(struct sdrv_netback_credit *c, uint64_t bytes, uint64_t usec,
				       uint64_t now_us);

/**
 * @brief Ask for credit to send a packet of `size` bytes.
 *
 * If the packet is larger than the credit left and the window has
 * passed, a new window begins and adds `bytes` of credit, capped at
 * max(bytes + 65535, 131072), so that a 64 KiB packet always fits (Linux's
 * tx_add_credit() caps at max(bytes, 131072), which loses the credit a
 * window leaves unused: up to 17% of the rate with 64 KiB packets; here
 * the long-run rate is the configured one). The credit is taken only
 * when the packet is sent.
 *
 * @param c       the scheduler
 * @param size    the packet's bytes
 * @param now_us  the time now
 * @param wait_us out (may be NULL): on -EAGAIN, microseconds until the
 *                next window
 * @return 0 (the credit is taken), or -EAGAIN
 */
SDRV_API int sdrv_netback_credit_take(struct sdrv_netback_credit *c, uint32_t size, uint64_t now_us,
				      uint64_t *wait_us);
/** @} */

SDRV_END_DECLS

#endif /* SPLITDRV_NETBACK_H */
