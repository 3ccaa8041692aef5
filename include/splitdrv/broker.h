/* SPDX-License-Identifier: MIT */
/**
 * @file broker.h
 * @brief The POSIX transport's broker: the hypervisor's part between processes.
 *
 * The broker listens on a unix socket. Each process that connects becomes a
 * domain, known by its credentials (SO_PEERCRED); the broker gives out
 * domain ids (the privileged one only to the uids its configuration
 * allows), and hands file descriptors (grant memory, event-channel
 * eventfds) only to the domain that a grant or a binding names. Fast paths
 * never pass through it: notifying is one eventfd write, and mapping a
 * grant after set-up is a compare-and-swap and pointer arithmetic.
 *
 * `splitdrvd` is this object in a daemon. Tests and demos run it inside
 * their own process: sdrv_broker_new(), then sdrv_broker_run() from their
 * loop or a thread of theirs (the library owns no threads).
 */
#ifndef SPLITDRV_BROKER_H
#define SPLITDRV_BROKER_H

#include <sys/types.h>

#include <splitdrv/common.h>
#include <splitdrv/transport.h>

SDRV_BEGIN_DECLS

/** @brief Options for sdrv_broker_new(). Zero-fill, then set `sz`. */
struct sdrv_broker_opts {
	size_t sz;		      /**< sizeof(struct sdrv_broker_opts). */
	const char *path;	      /**< Socket path to listen on (required). */
	const uid_t *privileged_uids; /**< Uids that may become the privileged
					   domain; NULL: only the broker's own uid. */
	size_t nr_privileged_uids;    /**< Entries in privileged_uids. */
	const char *store_address;    /**< Handed to clients (sdrv_xport_store_address()). */
	uint32_t max_domains;	      /**< Connections at most; 0: default 256. A uid
					   that may not be privileged holds at most a
					   quarter of them. */
	uint32_t max_ports;	      /**< Event channels per domain; 0: default 1024. */
	/** Log sink; NULL logs nothing. `level` is a syslog priority. */
	void (*log)(void *ctx, int level, const char *msg);
	void *log_ctx; /**< First argument of `log`. */
};

/** @brief A broker. */
struct sdrv_broker;

/**
 * @brief Create a broker listening on `opts->path`.
 *
 * A stale socket at the path is replaced; a live one (another broker) is
 * an error (EADDRINUSE).
 *
 * @return the broker, or NULL with errno set
 */
SDRV_API struct sdrv_broker *sdrv_broker_new(const struct sdrv_broker_opts *opts);

/** @brief A descriptor that is readable when sdrv_broker_run() has work. */
SDRV_API int sdrv_broker_fd(const struct sdrv_broker *b);

/**
 * @brief Serve clients for up to `timeout_ms` (0: only what is pending, -1: until
 *        one event has been handled).
 *
 * Work per call is bounded. A client that sends garbage gets an error reply
 * or loses its connection; nobody else notices.
 *
 * @return 0, or a negative errno on a failure of the broker itself
 */
SDRV_API int sdrv_broker_run(struct sdrv_broker *b, int timeout_ms);

/** @brief Number of connected domains. */
SDRV_API uint32_t sdrv_broker_nr_domains(const struct sdrv_broker *b);

/**
 * @brief The domain a connected process holds, for services that identify
 *        their own clients by credentials (the store does).
 *
 * A process is named by the pid and uid its socket credentials give
 * (SO_PEERCRED). Only a connection that completed its hello and is alive
 * counts, and the uid must match too, so a recycled pid of another user
 * never inherits a domain.
 *
 * @return 0 with `*domid` set; -ENOENT if that process holds no domain;
 *         -EEXIST if it holds several (ambiguous: the caller decides)
 */
SDRV_API int sdrv_broker_domain_of(const struct sdrv_broker *b, pid_t pid, uid_t uid,
				   sdrv_domid_t *domid);

/**
 * @brief Stop listening, drop every client (they see the broker gone) and
 *        free everything; the socket path is removed.
 */
SDRV_API void sdrv_broker_free(struct sdrv_broker *b);

SDRV_END_DECLS

#endif /* SPLITDRV_BROKER_H */
