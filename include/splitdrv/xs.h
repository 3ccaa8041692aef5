/* SPDX-License-Identifier: MIT */
/**
 * @file xs.h
 * @brief A client of the xenstore wire protocol that does not need libxenstore.
 *
 * One `struct sdrv_xs` is one connection to a store: a unix socket (Xen's
 * xenstored, oxenstored, splitdrv-xenstored, the in-process sdrv_store) or
 * a xenbus character device (`/dev/xen/xenbus`), which speak the same
 * messages (proto/xs_wire.h).
 *
 * Two ways to use it, which mix freely on one connection:
 * - **Synchronous calls** (sdrv_xs_read(), sdrv_xs_write(), ...): send one
 *   request and wait for its reply, up to the timeout of the open options.
 * - **Event loop**: poll sdrv_xs_fd() for reading and call sdrv_xs_process()
 *   when it is readable. process() never blocks; it delivers watch events to
 *   their callbacks and completes asynchronous requests (sdrv_xs_submit()).
 *   Watch events and asynchronous replies that arrive while a synchronous
 *   call waits are queued and delivered by the next sdrv_xs_process(); the
 *   descriptor stays readable while anything is queued, so a loop that only
 *   polls it never misses them.
 *
 * Callbacks run only inside sdrv_xs_process() (and, for asynchronous
 * requests, sdrv_xs_close()). A callback may make synchronous calls, submit
 * requests, add or remove watches (its own too); it must not close the
 * connection.
 *
 * **The server is not trusted.** A reply with an unknown request id or the
 * wrong type, a payload over SDRV_XS_PAYLOAD_MAX, a malformed watch event,
 * a truncated message or end of file move the connection into a sticky
 * *broken* state: sdrv_xs_broken() gives the reason, and every call from
 * then on fails with -EPROTO (the server broke the protocol) or
 * -ECONNRESET (the connection is gone, or a synchronous call timed out).
 * Memory is bounded: at most `max_events` queued watch events (duplicates
 * coalesce; see sdrv_xs_opts), `max_pending` requests in flight, and an
 * input buffer of four largest messages.
 *
 * Every call that names a node takes a transaction id: 0 (SDRV_XS_TX_NONE)
 * outside transactions. Errors the server names (`ENOENT`, `EACCES`,
 * `EAGAIN`...) come back as the negative errno of that name; an unknown
 * name gives -EINVAL, as in libxenstore.
 *
 * A handle is not thread-safe: use it from one thread at a time. Do not use
 * it in a child after fork() (the child shares the socket); open a new one.
 */
#ifndef SPLITDRV_XS_H
#define SPLITDRV_XS_H

#include <stdarg.h>

#include <splitdrv/common.h>
#include <splitdrv/grant.h>
#include <splitdrv/proto/xs_wire.h>

SDRV_BEGIN_DECLS

/** @brief A connection to a store. */
struct sdrv_xs;

/** @brief The transaction id that means "no transaction". */
#define SDRV_XS_TX_NONE 0u

/** @brief Default of sdrv_xs_opts::max_events. */
#define SDRV_XS_DEFAULT_MAX_EVENTS 1024u
/** @brief Default of sdrv_xs_opts::max_pending. */
#define SDRV_XS_DEFAULT_MAX_PENDING 64u
/** @brief Default number of attempts of sdrv_xs_transact() (max_tries 0). */
#define SDRV_XS_DEFAULT_TRIES 16u

/** @brief Options for sdrv_xs_open() and sdrv_xs_open_fd(). Zero-fill, then set `sz`. */
struct sdrv_xs_opts {
	size_t sz; /**< sizeof(struct sdrv_xs_opts). */
	/** How long a synchronous call waits for its reply, in milliseconds;
	 *  0 or negative: forever. A call that times out returns -ETIMEDOUT and
	 *  breaks the connection (the reply may still come, out of step). */
	int timeout_ms;
	/** Watch events queued at most (default SDRV_XS_DEFAULT_MAX_EVENTS).
	 *  An event equal (path and token) to one already queued is dropped. An
	 *  event that finds the queue full is replaced by an *overflow* event
	 *  of its watch: one event whose path is the watched path itself, which
	 *  tells the callback to re-read everything under it. So a storm costs
	 *  at most `max_events` queued events plus one flag per watch. */
	uint32_t max_events;
	/** Asynchronous requests in flight at most (default
	 *  SDRV_XS_DEFAULT_MAX_PENDING); sdrv_xs_submit() beyond it fails with
	 *  -EBUSY. Each may hold a received reply (up to SDRV_XS_PAYLOAD_MAX
	 *  bytes) until sdrv_xs_process() completes it. */
	uint32_t max_pending;
	/** Log sink; NULL logs nothing. `level` is a syslog priority. The client
	 *  logs why it broke and little else. */
	void (*log)(void *ctx, int level, const char *msg);
	void *log_ctx; /**< First argument of `log`. */
};

/**
 * @brief The socket path libxenstore would use, into `buf`.
 *
 * `$XENSTORED_PATH` if set, else `$XENSTORED_RUNDIR/socket` if that variable
 * is set, else `/var/run/xenstored/socket`.
 *
 * @return 0, or -ENAMETOOLONG if it does not fit in `size` bytes
 */
SDRV_API int sdrv_xs_default_path(char *buf, size_t size);

/**
 * @brief Connect to the store at `path`.
 *
 * `path` NULL finds the store as libxenstore does: the socket of
 * sdrv_xs_default_path(); if that cannot be connected, the xenbus device
 * (`$XENSTORED_PATH` if set, else `/dev/xen/xenbus`). A path that is a
 * socket is connected (AF_UNIX, SOCK_STREAM); anything else is opened
 * read-write as a xenbus device. Nothing is sent on connect.
 *
 * @param path the socket or device, or NULL
 * @param opts options, or NULL for the defaults
 * @return the connection, or NULL with errno set
 */
SDRV_API struct sdrv_xs *sdrv_xs_open(const char *path, const struct sdrv_xs_opts *opts);

/**
 * @brief Adopt a connected stream socket (or open xenbus device).
 *
 * The connection owns `fd` from now on, also when this fails: it is made
 * non-blocking and closed by sdrv_xs_close().
 *
 * @return the connection, or NULL with errno set
 */
SDRV_API struct sdrv_xs *sdrv_xs_open_fd(int fd, const struct sdrv_xs_opts *opts);

/**
 * @brief Close the connection and free it.
 *
 * Asynchronous requests still in flight complete with -ECANCELED (their
 * callbacks run here, so their contexts can be freed); queued watch events
 * are dropped; the server removes the connection's watches and aborts its
 * transactions. NULL is allowed.
 */
SDRV_API void sdrv_xs_close(struct sdrv_xs *xs);

/**
 * @brief A descriptor to poll for reading: readable whenever
 *        sdrv_xs_process() has work (bytes from the server, queued events,
 *        completed requests, or a broken connection to report).
 */
SDRV_API int sdrv_xs_fd(const struct sdrv_xs *xs);

/**
 * @brief Read what the server has sent, deliver watch events and complete
 *        asynchronous requests. Never blocks.
 *
 * Work per call is bounded (a few dozen messages read, every event queued
 * at entry delivered); the descriptor stays readable if more is left.
 * Not reentrant: called from one of the connection's own callbacks it
 * does nothing and returns -EBUSY.
 *
 * @return 0; or, once the connection is broken, -EPROTO or -ECONNRESET
 *         (after every request in flight has completed with that error)
 */
SDRV_API int sdrv_xs_process(struct sdrv_xs *xs);

/**
 * @brief Wait up to `timeout_ms` (negative: forever) until the connection
 *        has work, then sdrv_xs_process() it once.
 *
 * For simple programs and tests that have no event loop of their own.
 *
 * @return 0 after processing; -ETIMEDOUT if nothing came; -EINTR if a
 *         signal interrupted the wait; or sdrv_xs_process()'s error
 */
SDRV_API int sdrv_xs_wait(struct sdrv_xs *xs, int timeout_ms);

/**
 * @brief Why the connection is broken, or NULL if it is not.
 *
 * The string lives as long as the connection.
 */
SDRV_API const char *sdrv_xs_broken(const struct sdrv_xs *xs);

/**
 * @brief Number of watch events queued for the next sdrv_xs_process(),
 *        overflow events included.
 */
SDRV_API uint32_t sdrv_xs_queued_events(const struct sdrv_xs *xs);

/** @name Nodes
 * @{ */

/**
 * @brief Read a node's value.
 *
 * @param xs the connection
 * @param tx transaction id, or SDRV_XS_TX_NONE
 * @param path the node (absolute, or relative to the connection's domain)
 * @param[out] value a malloc'd copy of the value with a NUL added after
 *             `len` bytes (values may contain NULs); free() it
 * @param[out] len the value's length without the added NUL; may be NULL
 * @return 0, or a negative errno (-ENOENT: no such node)
 */
SDRV_API int sdrv_xs_read(struct sdrv_xs *xs, uint32_t tx, const char *path, char **value,
			  size_t *len);

/**
 * @brief Write `len` bytes to a node, creating it (and its parents).
 *
 * The path plus its NUL plus the value must fit in SDRV_XS_PAYLOAD_MAX
 * bytes (-E2BIG otherwise).
 */
SDRV_API int sdrv_xs_write(struct sdrv_xs *xs, uint32_t tx, const char *path, const void *value,
			   size_t len);

/** @brief Write a NUL-terminated string (without its NUL) to a node. */
SDRV_API int sdrv_xs_write_str(struct sdrv_xs *xs, uint32_t tx, const char *path,
			       const char *value);

/** @brief Write a printf-formatted value to a node (-E2BIG if it does not fit). */
SDRV_API int sdrv_xs_printf(struct sdrv_xs *xs, uint32_t tx, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/** @brief sdrv_xs_printf() with a va_list. */
SDRV_API int sdrv_xs_vprintf(struct sdrv_xs *xs, uint32_t tx, const char *path, const char *fmt,
			     va_list ap) __attribute__((format(printf, 4, 0)));

/** @brief Create a node with an empty value (no error if it exists). */
SDRV_API int sdrv_xs_mkdir(struct sdrv_xs *xs, uint32_t tx, const char *path);

/** @brief Remove a node and everything under it (-ENOENT if it does not exist). */
SDRV_API int sdrv_xs_rm(struct sdrv_xs *xs, uint32_t tx, const char *path);

/**
 * @brief The names of a node's children.
 *
 * A reply too big for one message (the server says E2BIG) is fetched in
 * parts with DIRECTORY_PART, as libxenstore does, restarting (a bounded
 * number of times) if the node changes meanwhile.
 *
 * @param xs the connection
 * @param tx transaction id, or SDRV_XS_TX_NONE
 * @param path the node
 * @param[out] names one malloc'd block: `*count` pointers to NUL-terminated
 *             names, then the names themselves; free() the block once
 * @param[out] count number of children
 * @return 0, or a negative errno
 */
SDRV_API int sdrv_xs_directory(struct sdrv_xs *xs, uint32_t tx, const char *path, char ***names,
			       unsigned int *count);

/** @} */

/** @name Permissions
 * @{ */

/** @brief Access bits of a permission entry. */
enum sdrv_xs_perm_access {
	SDRV_XS_PERM_NONE = 0,	/**< `n`: no access. */
	SDRV_XS_PERM_READ = 1,	/**< `r`: read. */
	SDRV_XS_PERM_WRITE = 2, /**< `w`: write. */
	SDRV_XS_PERM_BOTH = 3	/**< `b`: read and write. */
};

/**
 * @brief One permission entry, `<c><domid>` on the wire.
 *
 * In a node's list the first entry names the owner (who may do anything)
 * and, by its access bits, what every domain not listed may do; the
 * following entries grant access to one domain each.
 */
struct sdrv_xs_perm {
	sdrv_domid_t domid;		 /**< The domain. */
	enum sdrv_xs_perm_access access; /**< What it may do. */
};

/** @brief Longest permission list sdrv_xs_get_perms() accepts and sdrv_xs_set_perms() sends. */
#define SDRV_XS_PERMS_MAX 512u

/**
 * @brief Parse one `<c><domid>` entry (`c` one of `n r w b`, domid decimal
 *        0..65535, nothing after it).
 *
 * @param s the entry, NUL-terminated
 * @param[out] perm the parsed entry
 * @return 0, or -EINVAL
 */
SDRV_API int sdrv_xs_perm_parse(const char *s, struct sdrv_xs_perm *perm);

/**
 * @brief Format one entry as `<c><domid>`.
 *
 * @return the length written (without the NUL), or -ENOSPC if `size` is too
 *         small (8 bytes are always enough), -EINVAL for bad access bits
 */
SDRV_API int sdrv_xs_perm_format(const struct sdrv_xs_perm *perm, char *buf, size_t size);

/**
 * @brief A node's permission list.
 *
 * @param xs the connection
 * @param tx transaction id, or SDRV_XS_TX_NONE
 * @param path the node
 * @param[out] perms a malloc'd array; free() it
 * @param[out] count its number of entries (at least 1)
 * @return 0, or a negative errno (-EPROTO if the server's list is malformed,
 *         -E2BIG if it holds more than SDRV_XS_PERMS_MAX entries)
 */
SDRV_API int sdrv_xs_get_perms(struct sdrv_xs *xs, uint32_t tx, const char *path,
			       struct sdrv_xs_perm **perms, unsigned int *count);

/** @brief Replace a node's permission list (`count` from 1 to SDRV_XS_PERMS_MAX). */
SDRV_API int sdrv_xs_set_perms(struct sdrv_xs *xs, uint32_t tx, const char *path,
			       const struct sdrv_xs_perm *perms, unsigned int count);

/** @} */

/** @name Watches
 * @{ */

/**
 * @brief A watch callback: `path` is the node that changed (or the watched
 *        path itself for an overflow event, see sdrv_xs_opts::max_events),
 *        `token` the watch's token. Both strings are valid during the call.
 */
typedef void (*sdrv_xs_watch_cb)(struct sdrv_xs *xs, const char *path, const char *token,
				 void *ctx);

/**
 * @brief Watch `path` and everything under it.
 *
 * The server fires the watch once at once, then on every change. Events
 * are dispatched by token, so the token must be unique on this connection
 * (-EEXIST otherwise). Special paths `@introduceDomain` and
 * `@releaseDomain` watch domains coming and going.
 *
 * @return 0, or a negative errno (the watch is not registered then)
 */
SDRV_API int sdrv_xs_watch(struct sdrv_xs *xs, const char *path, const char *token,
			   sdrv_xs_watch_cb cb, void *ctx);

/**
 * @brief Remove a watch. Events of it still queued are dropped; its
 *        callback is never called after this returns.
 *
 * @return 0, -ENOENT if this connection has no such watch, or another
 *         negative errno from the server (the watch is forgotten locally
 *         anyway)
 */
SDRV_API int sdrv_xs_unwatch(struct sdrv_xs *xs, const char *path, const char *token);

/** @} */

/** @name Transactions
 * @{ */

/** @brief Start a transaction; `*tx` receives its id (never 0). */
SDRV_API int sdrv_xs_transaction_start(struct sdrv_xs *xs, uint32_t *tx);

/**
 * @brief Commit (`commit` true) or abort a transaction.
 *
 * @return 0; -EAGAIN if a commit conflicted with another change (nothing
 *         was written; start over); or another negative errno
 */
SDRV_API int sdrv_xs_transaction_end(struct sdrv_xs *xs, uint32_t tx, bool commit);

/**
 * @brief The body of a transaction for sdrv_xs_transact(): do the work
 *        with `tx`, return 0 to commit or a negative errno to abort.
 *        -EAGAIN aborts and retries.
 */
typedef int (*sdrv_xs_tx_fn)(struct sdrv_xs *xs, uint32_t tx, void *ctx);

/**
 * @brief Run `fn` in a transaction, again while it conflicts.
 *
 * Starts a transaction, calls `fn`; if it returns 0 commits, otherwise
 * aborts. A commit that gives -EAGAIN, or `fn` returning -EAGAIN, starts
 * over, at most `max_tries` times in all (0: SDRV_XS_DEFAULT_TRIES). `fn`
 * must be ready to run more than once.
 *
 * @return 0 once committed; `fn`'s error; -EAGAIN after `max_tries`
 *         conflicts; or another negative errno
 */
SDRV_API int sdrv_xs_transact(struct sdrv_xs *xs, sdrv_xs_tx_fn fn, void *ctx,
			      unsigned int max_tries);

/** @} */

/** @name Domains and control
 * @{ */

/**
 * @brief The home path of a domain (`/local/domain/<domid>` on Xen).
 *
 * @param xs the connection
 * @param domid the domain
 * @param[out] path malloc'd, NUL-terminated; free() it
 */
SDRV_API int sdrv_xs_get_domain_path(struct sdrv_xs *xs, sdrv_domid_t domid, char **path);

/**
 * @brief Tell the store about a new domain and its store ring (privileged).
 *
 * @param xs the connection
 * @param domid the new domain
 * @param mfn the ring page's frame (or the transport's equivalent)
 * @param port the domain's store event channel
 */
SDRV_API int sdrv_xs_introduce(struct sdrv_xs *xs, sdrv_domid_t domid, uint64_t mfn, uint32_t port);

/** @brief Tell the store a domain is gone (privileged); fires `@releaseDomain`. */
SDRV_API int sdrv_xs_release(struct sdrv_xs *xs, sdrv_domid_t domid);

/** @brief Tell the store a domain resumed (privileged). */
SDRV_API int sdrv_xs_resume(struct sdrv_xs *xs, sdrv_domid_t domid);

/** @brief Give domain `domid` the privileges of `target` over it (privileged). */
SDRV_API int sdrv_xs_set_target(struct sdrv_xs *xs, sdrv_domid_t domid, sdrv_domid_t target);

/** @return 1 if the store knows `domid`, 0 if not, or a negative errno */
SDRV_API int sdrv_xs_is_domain_introduced(struct sdrv_xs *xs, sdrv_domid_t domid);

/** @brief Drop every watch and transaction of this connection, on the
 *         server and locally. */
SDRV_API int sdrv_xs_reset_watches(struct sdrv_xs *xs);

/**
 * @brief Send a control (debug) command: `argc` NUL-terminated strings
 *        (the command, then its arguments).
 *
 * @param xs the connection
 * @param argv the command and its arguments
 * @param argc number of strings in `argv` (1 to 16)
 * @param[out] reply malloc'd reply with a NUL added after `*len` bytes
 *             (free() it); may be NULL to discard the reply
 * @param[out] len the reply's length; may be NULL
 */
SDRV_API int sdrv_xs_control(struct sdrv_xs *xs, const char *const *argv, unsigned int argc,
			     char **reply, size_t *len);

/** @} */

/** @name Raw and asynchronous requests
 * @{ */

/**
 * @brief Completion of an asynchronous request.
 *
 * @param xs the connection
 * @param err 0, the server's error (negative errno), -EPROTO or
 *        -ECONNRESET if the connection broke, -ECANCELED on close
 * @param payload the reply's payload when `err` is 0 (a NUL follows the
 *        `len` bytes), else NULL; valid during the call
 * @param len its length
 * @param ctx the context given with the request
 */
typedef void (*sdrv_xs_done_cb)(struct sdrv_xs *xs, int err, const char *payload, size_t len,
				void *ctx);

/**
 * @brief Send any request and complete it later, from sdrv_xs_process().
 *
 * Several requests may be in flight (up to sdrv_xs_opts::max_pending);
 * replies are matched by request id. The payload is sent as given: build
 * it as proto/xs_wire.h describes. WATCH, UNWATCH and RESET_WATCHES are
 * refused (-EINVAL): use sdrv_xs_watch(), which keeps the callbacks.
 *
 * @return 0 (`cb` will be called exactly once), or a negative errno (it
 *         will not): -E2BIG, -EBUSY (too many in flight), -EPROTO or
 *         -ECONNRESET (broken)
 */
SDRV_API int sdrv_xs_submit(struct sdrv_xs *xs, enum sdrv_xs_type type, uint32_t tx,
			    const void *payload, size_t len, sdrv_xs_done_cb cb, void *ctx);

/** @brief Asynchronous sdrv_xs_read(): the reply's payload is the value. */
SDRV_API int sdrv_xs_read_async(struct sdrv_xs *xs, uint32_t tx, const char *path,
				sdrv_xs_done_cb cb, void *ctx);

/** @brief Asynchronous sdrv_xs_write(). */
SDRV_API int sdrv_xs_write_async(struct sdrv_xs *xs, uint32_t tx, const char *path,
				 const void *value, size_t len, sdrv_xs_done_cb cb, void *ctx);

/**
 * @brief Send any request and wait for its reply (the synchronous form of
 *        sdrv_xs_submit(), with the same restrictions).
 *
 * @param xs the connection
 * @param type the request type
 * @param tx transaction id, or SDRV_XS_TX_NONE
 * @param payload the payload, built as proto/xs_wire.h describes
 * @param len its length (at most SDRV_XS_PAYLOAD_MAX)
 * @param[out] reply malloc'd payload with a NUL added (free() it); may be NULL
 * @param[out] rlen its length; may be NULL
 */
SDRV_API int sdrv_xs_request(struct sdrv_xs *xs, enum sdrv_xs_type type, uint32_t tx,
			     const void *payload, size_t len, char **reply, size_t *rlen);

/** @} */

/** @name Strict parsing of store values
 * Values come from peers: these accept exactly a non-empty run of decimal
 * digits (no sign, no spaces, no `0x`, nothing after it; leading zeros are
 * allowed) and refuse anything that does not fit.
 * @{ */

/**
 * @brief Parse `len` bytes as a decimal number not above `max`.
 *
 * @return 0 with `*out` set; -EINVAL for malformed text, -ERANGE above `max`
 */
SDRV_API int sdrv_xs_parse_uint(const char *s, size_t len, uint64_t max, uint64_t *out);

/**
 * @brief Read a node and parse it with sdrv_xs_parse_uint().
 *
 * @return 0, -ENOENT, -EINVAL, -ERANGE, or another negative errno
 */
SDRV_API int sdrv_xs_read_uint(struct sdrv_xs *xs, uint32_t tx, const char *path, uint64_t max,
			       uint64_t *out);

/** @} */

SDRV_END_DECLS

#endif /* SPLITDRV_XS_H */
