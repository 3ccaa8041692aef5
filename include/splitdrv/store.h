/* SPDX-License-Identifier: MIT */
/**
 * @file store.h
 * @brief The store: a xenstore-protocol server as a library object.
 *
 * The store holds the hierarchical key/value tree that split drivers use
 * for their handshake, and serves it over the xenstore wire protocol
 * (include/splitdrv/proto/xs_wire.h) on stream sockets: the same bytes Xen's
 * xenstored speaks on its unix socket, so Xen's own clients (libxenstore,
 * xenstore-utils, pyxs) and libsplitdrv's client talk to it unchanged.
 * Semantics follow xenstored's: permissions, transactions with real
 * isolation, watches, special watches, quotas. Every deviation is listed in
 * doc/store.md.
 *
 * Each connection is one domain. A connection accepted on the listening
 * socket is identified by its credentials (SO_PEERCRED): the resolver
 * callback first, if any, then the privileged uids (domain 0), then the
 * uid-to-domain map; anything else is refused. Embedding code that knows
 * who its peer is hands a connected socket over with sdrv_store_adopt(), or
 * makes a fresh pair with sdrv_store_connect().
 *
 * `splitdrv-xenstored` is this object in a daemon. Tests and embedding code
 * run it in their own process: sdrv_store_new(), then sdrv_store_run() from
 * their loop or from a thread of theirs (the library owns no threads). A
 * store is used by one thread at a time.
 *
 * Everything a client sends is hostile: requests are validated and
 * bounded, work per sdrv_store_run() call is bounded, and a client that
 * breaks the framing, floods or stops reading loses its own connection
 * while everybody else is served.
 */
#ifndef SPLITDRV_STORE_H
#define SPLITDRV_STORE_H

#include <sys/types.h>

#include <splitdrv/common.h>

SDRV_BEGIN_DECLS

/** @brief A quota or limit value that means "no limit". */
#define SDRV_STORE_UNLIMITED UINT32_MAX

/** @brief One entry of the uid-to-domain map (sdrv_store_opts::uid_domains). */
struct sdrv_store_uid_domain {
	uid_t uid;	/**< Socket peers with this uid ... */
	uint32_t domid; /**< ... are this (unprivileged, non-zero) domain. */
};

/**
 * @brief Options for sdrv_store_new(). Zero-fill, then set `sz`.
 *
 * Every quota and limit is per domain unless it says otherwise; 0 selects
 * the default (xenstored's where xenstored has one), SDRV_STORE_UNLIMITED
 * switches it off. Quotas never apply to the privileged domain 0, as in
 * xenstored. The names in parentheses are the ones sdrv_store_set_quota(),
 * the daemon's `--quota` and the CONTROL `quota-set` command take.
 */
struct sdrv_store_opts {
	size_t sz; /**< sizeof(struct sdrv_store_opts). */
	/** Unix socket path to listen on; NULL: no listening socket (connections
	 *  only through sdrv_store_adopt() and sdrv_store_connect()). A stale
	 *  socket at the path is replaced; a live one is an error (EADDRINUSE). */
	const char *path;
	/** File that holds the tree across restarts; NULL: the tree lives in
	 *  memory only. Loaded by sdrv_store_new() if it exists (a corrupt file
	 *  is an error: EBADMSG), rewritten atomically after each
	 *  sdrv_store_run() batch that changed the tree and before that batch's
	 *  replies are sent, and by sdrv_store_free(). Format: doc/store.md. */
	const char *state_file;

	uint32_t quota_nodes;		  /**< Nodes a domain owns ("nodes"; 1000). */
	uint32_t quota_node_size;	  /**< Bytes of one node: value, child names
					       and 8 per permission entry
					       ("node-size"; 2048). */
	uint32_t quota_watches;		  /**< Watches ("watches"; 128). */
	uint32_t quota_transactions;	  /**< Open transactions ("transactions"; 10). */
	uint32_t quota_outstanding;	  /**< Replies one connection has not read
					       yet before the store stops reading
					       its requests ("outstanding"; 20). */
	uint32_t quota_transaction_nodes; /**< Nodes one transaction may read or
					       write ("transaction-nodes"; 1024). */
	uint32_t quota_path_max;	  /**< Longest path a domain may name, in
					       bytes below `/local/domain/<domid>/`
					       (or the whole path elsewhere)
					       ("path-max"; 2048, as xenstored).
					       Any path longer than 3072 bytes is
					       invalid for everybody. */
	uint32_t quota_permissions;	  /**< Entries of a node's permission list
					       ("permissions", also "node-permissions";
					       5). */
	uint32_t quota_memory;		  /**< Bytes of the nodes a domain owns
					       (path and node size) and of its
					       watches (path and token) ("memory";
					       2.5 MiB). */
	uint32_t max_watch_events;	  /**< Watch events waiting to be sent on one
					       connection of an unprivileged domain
					       ("watch-events"; 65536); their bytes
					       also count against its quota_memory.
					       Beyond either, events are dropped and
					       counted; domain 0's never are. Same
					       path and token twice are sent once. */
	uint32_t max_unread_bytes;	  /**< Reply bytes waiting on one connection
					       before the store stops reading its
					       requests ("unread-bytes"; 65536). */
	uint32_t stuck_timeout_ms;	  /**< A connection that stays above
					       max_unread_bytes, or keeps a partial
					       request, this long is dropped
					       ("stuck-timeout"; 30000 ms). */
	uint32_t max_connections;	  /**< Connections at most, all domains
					       together ("connections"; 1024). */

	/** Uids whose socket connections are the privileged domain 0; NULL: root
	 *  and the store's own effective uid. */
	const uid_t *privileged_uids;
	size_t nr_privileged_uids; /**< Entries in privileged_uids. */
	/** Uids whose socket connections are a given unprivileged domain. */
	const struct sdrv_store_uid_domain *uid_domains;
	size_t nr_uid_domains; /**< Entries in uid_domains. */

	/**
	 * Asked first about each accepted connection, with its SO_PEERCRED
	 * credentials: return 0 and set `*domid` to serve it as that domain
	 * (0 is privileged), or a negative errno to fall through to
	 * privileged_uids and uid_domains. NULL: not asked.
	 */
	int (*peer_domain)(void *ctx, pid_t pid, uid_t uid, gid_t gid, uint32_t *domid);
	void *peer_domain_ctx; /**< First argument of `peer_domain`. */

	/** Log sink; NULL logs nothing. `level` is a syslog priority. */
	void (*log)(void *ctx, int level, const char *msg);
	void *log_ctx; /**< First argument of `log`. */
	/** Highest syslog priority passed to `log` (LOG_ERR .. LOG_DEBUG); 0:
	 *  LOG_INFO. Clients' misbehaviour is logged at LOG_WARNING, rate-limited
	 *  per connection. */
	int log_level;
};

/** @brief Counters for tests and monitoring (sdrv_store_get_stats()). */
struct sdrv_store_stats {
	size_t sz;		   /**< sizeof(struct sdrv_store_stats), set by the caller. */
	uint64_t nodes;		   /**< As sdrv_store_nr_nodes(). */
	uint64_t connections;	   /**< Live connections. */
	uint64_t watches;	   /**< Watches of all connections. */
	uint64_t transactions;	   /**< Open transactions of all connections. */
	uint64_t requests;	   /**< Requests handled since the start. */
	uint64_t errors;	   /**< Requests answered with an error. */
	uint64_t events_sent;	   /**< Watch events queued for sending. */
	uint64_t events_coalesced; /**< Watch events merged into a pending one. */
	uint64_t events_dropped;   /**< Watch events dropped (bound reached). */
	uint64_t conns_refused;	   /**< Connections refused at accept. */
	uint64_t conns_dropped;	   /**< Connections closed for misbehaving. */
	uint64_t tx_conflicts;	   /**< TRANSACTION_END answered EAGAIN. */
	uint64_t state_writes;	   /**< State files written. */
	uint64_t state_errors;	   /**< State file writes that failed. */
};

/** @brief A store. */
struct sdrv_store;

/**
 * @brief Create a store, load its state file if any, listen on its path if any.
 *
 * A fresh tree holds `/`, `/tool` and `/tool/xenstored`, owned by domain 0
 * and readable by nobody else (`n0`), plus the special nodes
 * `@introduceDomain` and `@releaseDomain` that carry the permissions of
 * the special watches, as xenstored sets it up. `/local/domain/<domid>`
 * is for the toolstack to create, as with Xen.
 *
 * @return the store, or NULL with errno set (EINVAL: bad options;
 *         EADDRINUSE: a live store at the path; EBADMSG: corrupt state file)
 */
SDRV_API struct sdrv_store *sdrv_store_new(const struct sdrv_store_opts *opts);

/** @brief A descriptor that is readable when sdrv_store_run() has work. */
SDRV_API int sdrv_store_fd(const struct sdrv_store *s);

/**
 * @brief Serve clients for up to `timeout_ms` (0: only what is pending, -1:
 *        until something was handled).
 *
 * Work per call is bounded (a number of events, and of requests per
 * connection). Replies of the batch are sent after the state file (if
 * any) has been written.
 *
 * @return 0, or a negative errno on a failure of the store itself
 */
SDRV_API int sdrv_store_run(struct sdrv_store *s, int timeout_ms);

/**
 * @brief Serve an already connected stream socket as domain `domid`.
 *
 * The store sets the descriptor non-blocking and owns it on success (it is
 * closed when the connection ends or the store is freed); on failure the
 * caller keeps it. Domain 0 is privileged. The domain is not "introduced"
 * by this (see sdrv_store_introduce()).
 *
 * @return 0, or -EINVAL (bad descriptor or domid), -ENOSPC (too many
 *         connections), -ENOMEM
 */
SDRV_API int sdrv_store_adopt(struct sdrv_store *s, int fd, uint32_t domid);

/**
 * @brief Make a connected socket pair, serve one end as domain `domid` and
 *        return the other (close-on-exec, blocking) to the caller.
 *
 * @return the client's descriptor, or a negative errno
 */
SDRV_API int sdrv_store_connect(struct sdrv_store *s, uint32_t domid);

/**
 * @brief Mark domain `domid` introduced, as the INTRODUCE request does,
 *        and fire the `@introduceDomain` watches.
 *
 * Introduced domains answer T to IS_DOMAIN_INTRODUCED and can be released.
 * A connection of an unprivileged domain does not need it (its socket or
 * sdrv_store_adopt() says who it is).
 *
 * @return 0, -EINVAL for domain 0 or an id at or above 0x7FF0, -EEXIST if
 *         already introduced
 */
SDRV_API int sdrv_store_introduce(struct sdrv_store *s, uint32_t domid);

/**
 * @brief Release domain `domid`, as the RELEASE request does: close its
 *        connections (their watches and transactions go with them), delete
 *        the nodes it owns and the permission entries that name it (as
 *        xenstored does, so that a later domain with the same id inherits
 *        nothing), and fire the `@releaseDomain` watches.
 *
 * @return 0, -EINVAL for domain 0, or -ENOENT if it was not introduced
 */
SDRV_API int sdrv_store_release(struct sdrv_store *s, uint32_t domid);

/**
 * @brief Change a quota or limit at run time, by name (see
 *        struct sdrv_store_opts). SDRV_STORE_UNLIMITED switches it off.
 *
 * @return 0, -ENOENT for an unknown name, -EINVAL for 0 or a value out of
 *         range (path-max above 3072)
 */
SDRV_API int sdrv_store_set_quota(struct sdrv_store *s, const char *name, uint32_t value);

/**
 * @brief Read a quota or limit by name.
 *
 * @return 0 with `*value` set (SDRV_STORE_UNLIMITED: off), or -ENOENT
 */
SDRV_API int sdrv_store_get_quota(const struct sdrv_store *s, const char *name, uint32_t *value);

/** @brief Change the highest syslog priority passed to the log callback. */
SDRV_API void sdrv_store_set_log_level(struct sdrv_store *s, int level);

/** @brief Number of nodes in the tree (committed state), the root included,
 *         the two special nodes not. */
SDRV_API uint64_t sdrv_store_nr_nodes(const struct sdrv_store *s);

/** @brief Number of live connections. */
SDRV_API uint32_t sdrv_store_nr_connections(const struct sdrv_store *s);

/**
 * @brief Copy the store's counters into `st` (up to `st->sz` bytes).
 *
 * @return 0, or -EINVAL
 */
SDRV_API int sdrv_store_get_stats(const struct sdrv_store *s, struct sdrv_store_stats *st);

/**
 * @brief Stop listening, drop every client, write the state file (if any)
 *        and free everything; the socket path is removed.
 */
SDRV_API void sdrv_store_free(struct sdrv_store *s);

SDRV_END_DECLS

#endif /* SPLITDRV_STORE_H */
