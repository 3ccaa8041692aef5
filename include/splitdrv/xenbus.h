/* SPDX-License-Identifier: MIT */
/**
 * @file xenbus.h
 * @brief The xenbus device lifecycle: the state machine, the store paths
 *        and keys of a split device, and frontend/backend objects that run
 *        the handshake on a store connection (xs.h).
 *
 * A device has two directories in the store:
 * - the frontend's `/local/domain/<fe>/device/<type>/<id>`, with `backend`
 *   (the backend directory), `backend-id`, `state`, and what the frontend
 *   publishes (`ring-ref`, `event-channel`, `protocol`, ...);
 * - the backend's `/local/domain/<be>/backend/<type>/<fe>/<id>`, with
 *   `frontend`, `frontend-id`, `state`, `online`, `hotplug-status` and
 *   the backend's features (`feature-*`, `max-ring-page-order`, ...).
 *
 * Each side writes only its own `state` key and watches the peer's. The
 * normal handshake: the backend publishes its features and goes InitWait;
 * the frontend publishes its rings and goes Initialised; the backend maps
 * them and goes Connected; the frontend goes Connected. Closing either
 * side makes the other close; a side that comes back goes through Closed
 * and Initialising again, and the two reconnect.
 *
 * The state machine is pure logic (sdrv_xenbus_front_step(),
 * sdrv_xenbus_back_step()), freestanding, and tolerates the shortcuts and
 * missed intermediate states real drivers produce (a watch only shows the
 * latest value). doc/xenbus.md has the tables.
 *
 * **The peer is hostile.** Its state key may hold garbage (read as
 * Unknown), flip thousands of times (the objects read it at most once per
 * sdrv_xs_process() round, whatever the number of events), and every value
 * it publishes is parsed strictly and bounded by the helpers below.
 */
#ifndef SPLITDRV_XENBUS_H
#define SPLITDRV_XENBUS_H

#include <splitdrv/common.h>
#include <splitdrv/grant.h>
#include <splitdrv/proto/xs_wire.h>

SDRV_BEGIN_DECLS

struct sdrv_xs;

/** @name States
 * @{ */

/**
 * @brief The name Linux's xenbus_strstate() gives a state ("Initialising",
 *        "InitWait", ..., "Reconfigured"), or "Invalid" outside 0..8.
 */
SDRV_API const char *sdrv_xenbus_state_name(enum sdrv_xenbus_state s);

/**
 * @brief Parse a `state` value: a decimal 0..8, nothing else.
 *
 * @param s the value (need not be NUL-terminated)
 * @param len its length in bytes
 * @return the state, or SDRV_XENBUS_UNKNOWN for anything malformed (as
 *         Linux's xenbus_read_driver_state() does)
 */
SDRV_API enum sdrv_xenbus_state sdrv_xenbus_state_parse(const char *s, size_t len);

/** @} */

/** @name The state machine (pure logic)
 * @{ */

/** @brief Inputs of one step: what a side knows. */
struct sdrv_xenbus_sm_in {
	enum sdrv_xenbus_state self; /**< This side's state, as last written (or found). */
	enum sdrv_xenbus_state peer; /**< The peer's state, as last read (UNKNOWN if absent). */
	bool published;		     /**< The driver published its details for this
					  connection (frontend: rings; backend: features). */
	bool connected;		     /**< The driver is connected (connect ran, no
					  disconnect since). */
	bool online;		     /**< This side wants the device up (false:
					  close it). */
};

/** @brief Actions of a step, in the order they must be done. */
enum sdrv_xenbus_action {
	SDRV_XENBUS_DO_DISCONNECT = 1u << 0,   /**< Stop I/O, unmap, free everything
						    published (clears both flags). */
	SDRV_XENBUS_DO_PUBLISH = 1u << 1,      /**< Publish this side's details
						    (sets `published`). */
	SDRV_XENBUS_DO_CONNECT = 1u << 2,      /**< Read the peer's details and start
						    (sets `connected`). */
	SDRV_XENBUS_DO_RECONF_BEGIN = 1u << 3, /**< The peer asked to reconfigure: do it
						    (detach what goes away). */
	SDRV_XENBUS_DO_RECONF_END = 1u << 4    /**< Reconfiguration done on both sides:
						    resume (attach what is new). */
};

/** @brief Result of one step. */
struct sdrv_xenbus_sm_out {
	enum sdrv_xenbus_state next; /**< State to write once the actions succeeded
					  (equal to `self`: none to write). */
	unsigned int actions;	     /**< SDRV_XENBUS_DO_* bits. */
};

/**
 * @brief One step of a frontend: what to do given `in`.
 *
 * A step with no action and `next == self` means "wait for the peer". The
 * caller repeats steps (with updated flags and `self`) until that happens;
 * from any input that takes at most 4 steps. If PUBLISH or CONNECT fails,
 * the caller goes Closing instead of `next`.
 *
 * @return 0, or -EINVAL if a state in `in` is out of range
 */
SDRV_API int sdrv_xenbus_front_step(const struct sdrv_xenbus_sm_in *in,
				    struct sdrv_xenbus_sm_out *out);

/** @brief One step of a backend; see sdrv_xenbus_front_step(). */
SDRV_API int sdrv_xenbus_back_step(const struct sdrv_xenbus_sm_in *in,
				   struct sdrv_xenbus_sm_out *out);

/** @} */

/** @name Paths and keys
 * @{ */

/** @brief Where domains live in the store. */
#define SDRV_XENBUS_DOMAIN_ROOT "/local/domain"

/** @brief Key: a side's XenbusState, as a decimal string. */
#define SDRV_XENBUS_KEY_STATE "state"
/** @brief Frontend key: the backend directory. */
#define SDRV_XENBUS_KEY_BACKEND "backend"
/** @brief Frontend key: the backend's domain id. */
#define SDRV_XENBUS_KEY_BACKEND_ID "backend-id"
/** @brief Backend key: the frontend directory. */
#define SDRV_XENBUS_KEY_FRONTEND "frontend"
/** @brief Backend key: the frontend's domain id. */
#define SDRV_XENBUS_KEY_FRONTEND_ID "frontend-id"
/** @brief Backend key: "1" while the toolstack wants the device, "0" to remove it. */
#define SDRV_XENBUS_KEY_ONLINE "online"
/** @brief Backend key: hotplug scripts write "connected" (or "error"). */
#define SDRV_XENBUS_KEY_HOTPLUG_STATUS "hotplug-status"
/** @brief Single-page ring: the grant reference (`ring-ref`). */
#define SDRV_XENBUS_KEY_RING_REF "ring-ref"
/** @brief Frontend key: log2 of the pages of each ring. */
#define SDRV_XENBUS_KEY_RING_PAGE_ORDER "ring-page-order"
/** @brief Legacy frontend key: pages of each ring (a power of two). */
#define SDRV_XENBUS_KEY_NUM_RING_PAGES "num-ring-pages"
/** @brief Backend key: the largest ring-page-order it accepts. */
#define SDRV_XENBUS_KEY_MAX_RING_PAGE_ORDER "max-ring-page-order"
/** @brief Key: the event channel port. */
#define SDRV_XENBUS_KEY_EVENT_CHANNEL "event-channel"
/** @brief Frontend key: the ring ABI ("x86_32-abi", "x86_64-abi", ...). */
#define SDRV_XENBUS_KEY_PROTOCOL "protocol"
/** @brief Backend key: the most queues it accepts. */
#define SDRV_XENBUS_KEY_MAX_QUEUES "multi-queue-max-queues"
/** @brief Frontend key: the number of queues it uses. */
#define SDRV_XENBUS_KEY_NUM_QUEUES "multi-queue-num-queues"

/** @brief Largest ring-page-order accepted (Linux's XENBUS_MAX_RING_GRANT_ORDER: 16 pages). */
#define SDRV_XENBUS_MAX_RING_PAGE_ORDER 4u
/** @brief Most grant references of one ring. */
#define SDRV_XENBUS_MAX_RING_REFS (1u << SDRV_XENBUS_MAX_RING_PAGE_ORDER)
/** @brief Most queues accepted from a peer. */
#define SDRV_XENBUS_MAX_QUEUES 64u
/** @brief Largest event channel port accepted (the FIFO ABI's limit). */
#define SDRV_XENBUS_MAX_PORT ((1u << 17) - 1u)
/** @brief Longest device type accepted ("vbd", "vif", "pci", ...). */
#define SDRV_XENBUS_TYPE_MAX 32u
/** @brief A buffer this big holds any path built by this header's functions. */
#define SDRV_XENBUS_PATH_MAX 256u

/**
 * @brief Whether `type` is a usable device type: 1 to SDRV_XENBUS_TYPE_MAX
 *        characters from `[A-Za-z0-9_-]`.
 */
SDRV_API bool sdrv_xenbus_type_valid(const char *type);

/**
 * @brief The frontend directory `/local/domain/<fe>/device/<type>/<id>`.
 *
 * @return the length, or -EINVAL (bad type), -ENAMETOOLONG
 */
SDRV_API int sdrv_xenbus_front_path(char *buf, size_t size, sdrv_domid_t fe, const char *type,
				    uint32_t id);

/**
 * @brief The backend directory `/local/domain/<be>/backend/<type>/<fe>/<id>`.
 *
 * @return the length, or -EINVAL (bad type), -ENAMETOOLONG
 */
SDRV_API int sdrv_xenbus_back_path(char *buf, size_t size, sdrv_domid_t be, const char *type,
				   sdrv_domid_t fe, uint32_t id);

/**
 * @brief Check a backend path a frontend found in its `backend` key.
 *
 * It must be exactly `/local/domain/<be>/backend/<type>/<fe>/<id>` with
 * `<be>` equal to `be` (the `backend-id`), `<fe>` and `<id>` equal to the
 * frontend's own, and `<type>` a valid type (it may differ from the
 * frontend's: a "vbd" may be served by a "qdisk" backend). Numbers in
 * canonical decimal.
 *
 * @return 0, or -EINVAL
 */
SDRV_API int sdrv_xenbus_check_back_path(const char *path, sdrv_domid_t be, sdrv_domid_t fe,
					 uint32_t id);

/**
 * @brief Check a frontend path a backend found in its `frontend` key: it
 *        must be exactly `/local/domain/<fe>/device/<type>/<id>` with `fe`
 *        and `id` equal to the given ones and `<type>` valid.
 *
 * @return 0, or -EINVAL
 */
SDRV_API int sdrv_xenbus_check_front_path(const char *path, sdrv_domid_t fe, uint32_t id);

/** @} */

/** @name Reading and writing a device's keys
 * `dir` is a device (or queue) directory and `key` a name under it. Every
 * read parses strictly (sdrv_xs_parse_uint()) and bounds the result; a
 * malformed value gives -EINVAL, one out of bounds -ERANGE.
 * @{ */

/**
 * @brief Read `<dir>/<key>` as an unsigned number not above `max`.
 *
 * @return 0 with `*out` set; -ENOENT if absent (`*out` = `dflt` then, so
 *         callers with a default may ignore that error); -EINVAL; -ERANGE;
 *         or another negative errno
 */
SDRV_API int sdrv_xenbus_read_uint(struct sdrv_xs *xs, uint32_t tx, const char *dir,
				   const char *key, uint64_t max, uint64_t dflt, uint64_t *out);

/**
 * @brief Read a feature flag (`feature-*`): absent gives `dflt`, any other
 *        value must be a number (not above UINT32_MAX) and is true when
 *        not 0, as Linux's xenbus_read_unsigned() reads them.
 *
 * @return 0 (also when absent), -EINVAL, -ERANGE, or another negative errno
 */
SDRV_API int sdrv_xenbus_read_bool(struct sdrv_xs *xs, uint32_t tx, const char *dir,
				   const char *key, bool dflt, bool *out);

/**
 * @brief Read `<dir>/<key>`: a string of at most `max_len` bytes with no
 *        NUL in it; `out` receives a malloc'd, NUL-terminated copy (free()
 *        it).
 *
 * @return 0, -ENOENT, -E2BIG if longer, -EINVAL if it holds a NUL, or
 *         another negative errno
 */
SDRV_API int sdrv_xenbus_read_str(struct sdrv_xs *xs, uint32_t tx, const char *dir, const char *key,
				  size_t max_len, char **out);

/** @brief Write `<dir>/<key>` = decimal `value`. */
SDRV_API int sdrv_xenbus_write_uint(struct sdrv_xs *xs, uint32_t tx, const char *dir,
				    const char *key, uint64_t value);

/** @brief Write `<dir>/<key>` = "1" or "0". */
SDRV_API int sdrv_xenbus_write_bool(struct sdrv_xs *xs, uint32_t tx, const char *dir,
				    const char *key, bool value);

/** @brief Write `<dir>/<key>` = `value`. */
SDRV_API int sdrv_xenbus_write_str(struct sdrv_xs *xs, uint32_t tx, const char *dir,
				   const char *key, const char *value);

/**
 * @brief Write a ring's grant references: `<dir>/<name>` for a one-page
 *        ring (`order` 0), else `<dir>/<name>0` .. `<dir>/<name>N-1`.
 *
 * `name` is usually "ring-ref" (netif uses "tx-ring-ref"/"rx-ring-ref",
 * single-page only). The order itself goes in `ring-page-order`
 * (sdrv_xenbus_write_uint()), once per device, by the caller.
 *
 * @return 0, -EINVAL if `order` is above SDRV_XENBUS_MAX_RING_PAGE_ORDER,
 *         or another negative errno
 */
SDRV_API int sdrv_xenbus_write_ring_refs(struct sdrv_xs *xs, uint32_t tx, const char *dir,
					 const char *name, const sdrv_grant_ref_t *refs,
					 unsigned int order);

/**
 * @brief Read a ring's grant references written as
 *        sdrv_xenbus_write_ring_refs() writes them.
 *
 * `refs` has room for `1 << order` references.
 *
 * @return 0, -EINVAL (bad order or value), -ENOENT (one missing), or
 *         another negative errno
 */
SDRV_API int sdrv_xenbus_read_ring_refs(struct sdrv_xs *xs, uint32_t tx, const char *dir,
					const char *name, unsigned int order,
					sdrv_grant_ref_t *refs);

/**
 * @brief The ring-page-order a frontend chose: `<dir>/ring-page-order`, or
 *        the legacy `<dir>/num-ring-pages` (a power of two), or 0 if
 *        neither exists.
 *
 * `max_order` is the most the backend offered (at most
 * SDRV_XENBUS_MAX_RING_PAGE_ORDER).
 *
 * @return 0 with `*order` set; -ERANGE above `max_order`; -EINVAL for a
 *         malformed value or a page count that is not a power of two
 */
SDRV_API int sdrv_xenbus_read_ring_order(struct sdrv_xs *xs, uint32_t tx, const char *dir,
					 unsigned int max_order, unsigned int *order);

/**
 * @brief The number of queues a frontend chose: `<dir>/multi-queue-num-queues`,
 *        or 1 if absent.
 *
 * `max` is the most the backend offered (at most SDRV_XENBUS_MAX_QUEUES).
 *
 * @return 0 with `*nr` set; -ERANGE for 0 or above `max`; -EINVAL
 */
SDRV_API int sdrv_xenbus_read_num_queues(struct sdrv_xs *xs, uint32_t tx, const char *dir,
					 unsigned int max, unsigned int *nr);

/**
 * @brief The directory of queue `q`: `dir` itself when there is one queue,
 *        `<dir>/queue-<q>` when there are several.
 *
 * @return the length, or -EINVAL (`q` not below `nr_queues`), -ENAMETOOLONG
 */
SDRV_API int sdrv_xenbus_queue_dir(char *buf, size_t size, const char *dir, unsigned int nr_queues,
				   unsigned int q);

/**
 * @brief Read an event channel port (`<dir>/<name>`, usually
 *        "event-channel"), at most SDRV_XENBUS_MAX_PORT.
 */
SDRV_API int sdrv_xenbus_read_evtchn(struct sdrv_xs *xs, uint32_t tx, const char *dir,
				     const char *name, uint32_t *port);

/** @} */

/** @name Toolstack side
 * What libxl does around a device: create both directories, remove them.
 * @{ */

/** @brief A device, as the toolstack names it. */
struct sdrv_xenbus_dev {
	size_t sz;	       /**< sizeof(struct sdrv_xenbus_dev). */
	const char *type;      /**< Frontend device type ("vif"). */
	const char *back_type; /**< Backend type; NULL: same as `type`. */
	sdrv_domid_t fe;       /**< Frontend domain. */
	sdrv_domid_t be;       /**< Backend domain. */
	uint32_t id;	       /**< Device id. */
};

/**
 * @brief Create a device: in one transaction, the frontend directory
 *        (`backend`, `backend-id`, `state` = Initialising) owned by the
 *        frontend and readable by the backend, and the backend directory
 *        (`frontend`, `frontend-id`, `state` = Initialising, `online` = 1)
 *        owned by the backend and readable by the frontend.
 *
 * @return 0, -EEXIST if either directory exists, or another negative errno
 */
SDRV_API int sdrv_xenbus_dev_create(struct sdrv_xs *xs, const struct sdrv_xenbus_dev *dev);

/**
 * @brief Ask for a device's removal as libxl does: backend `online` = 0 and
 *        backend `state` = Closing (a backend then closes the device).
 */
SDRV_API int sdrv_xenbus_dev_shutdown(struct sdrv_xs *xs, const struct sdrv_xenbus_dev *dev);

/** @brief Remove both directories (whatever the states; missing ones are fine). */
SDRV_API int sdrv_xenbus_dev_remove(struct sdrv_xs *xs, const struct sdrv_xenbus_dev *dev);

/** @} */

/** @name Frontend and backend objects
 * @{ */

/** @brief Phases given to the reconfigure callbacks. */
enum sdrv_xenbus_reconf {
	SDRV_XENBUS_RECONF_BEGIN = 0, /**< The peer asked to reconfigure (see
					   SDRV_XENBUS_DO_RECONF_BEGIN). */
	SDRV_XENBUS_RECONF_END = 1    /**< Both sides are done (see
					   SDRV_XENBUS_DO_RECONF_END). */
};

/** @brief A frontend. */
struct sdrv_xenbus_front;
/** @brief A backend. */
struct sdrv_xenbus_back;

/** @brief Counters of an object's work (to check that storms cost bounded work). */
struct sdrv_xenbus_stats {
	uint64_t events;      /**< Watch events received. */
	uint64_t peer_reads;  /**< Reads of the peer's state. */
	uint64_t steps;	      /**< State machine steps that did something. */
	uint64_t connects;    /**< Successful connects. */
	uint64_t disconnects; /**< Disconnects. */
};

/** @brief Options and callbacks of a frontend. Zero-fill, then set `sz`. */
struct sdrv_xenbus_front_opts {
	size_t sz;	    /**< sizeof(struct sdrv_xenbus_front_opts). */
	struct sdrv_xs *xs; /**< The store connection (not owned; outlives the object). */
	sdrv_domid_t domid; /**< This (the frontend's) domain. */
	const char *type;   /**< Device type ("vif"). */
	uint32_t id;	    /**< Device id. */
	/** Allocate what the backend needs (rings, event channel) unless done
	 *  already, and write its keys under sdrv_xenbus_front_dir() with
	 *  `tx`. Called again with a new `tx` if the commit conflicts. Return
	 *  0 or a negative errno (the frontend then closes). */
	int (*publish)(struct sdrv_xenbus_front *fe, uint32_t tx, void *ctx);
	/** The backend is Connected: read its features and start. Return 0 or
	 *  a negative errno (the frontend then closes). */
	int (*connect)(struct sdrv_xenbus_front *fe, void *ctx);
	/** Stop and free everything publish allocated (idempotent; also
	 *  called when only publish ran). */
	void (*disconnect)(struct sdrv_xenbus_front *fe, void *ctx);
	/** Optional: reconfigure (see enum sdrv_xenbus_reconf). */
	int (*reconfigure)(struct sdrv_xenbus_front *fe, enum sdrv_xenbus_reconf phase, void *ctx);
	/** Optional: called after each change of either state. */
	void (*state_changed)(struct sdrv_xenbus_front *fe, enum sdrv_xenbus_state self,
			      enum sdrv_xenbus_state peer, void *ctx);
	void *ctx; /**< Last argument of the callbacks. */
};

/**
 * @brief Start a frontend on an existing device directory.
 *
 * Reads and checks `backend-id` and `backend`
 * (sdrv_xenbus_check_back_path()), watches the backend's directory and its
 * own `state`, and runs the first steps. From then on the object runs from
 * sdrv_xs_process() on its connection. A state left by an earlier
 * instance (Connected, ...) is reset through Closing, as Linux's
 * xenbus_reset_state() does, so the two sides reconnect.
 *
 * @return the frontend, or NULL with errno set (ENOENT: no such device;
 *         EINVAL: a bad `backend` path)
 */
SDRV_API struct sdrv_xenbus_front *sdrv_xenbus_front_new(const struct sdrv_xenbus_front_opts *opts);

/**
 * @brief Close orderly: go Closing, wait (driving sdrv_xs_wait() on the
 *        frontend's connection) for the backend to close, then go Closed;
 *        after `timeout_ms` (0: at once) go Closed anyway. The object stays
 *        closed (it does not reconnect). Do not call it from a callback.
 *        A process that also serves the backend on another connection
 *        uses sdrv_xenbus_front_shutdown() instead.
 *
 * @return 0 if the backend followed; -ETIMEDOUT if it was forced (the
 *         frontend is Closed either way); another negative errno if the
 *         connection broke
 */
SDRV_API int sdrv_xenbus_front_close(struct sdrv_xenbus_front *fe, int timeout_ms);

/**
 * @brief Begin an orderly close without waiting: the frontend goes Closing
 *        now and Closed when the backend follows, from sdrv_xs_process().
 *        It does not reconnect afterwards. To bound the wait, call
 *        sdrv_xenbus_front_close() with a timeout of 0 when your own timer
 *        expires: that forces Closed. May be called from a callback.
 */
SDRV_API void sdrv_xenbus_front_shutdown(struct sdrv_xenbus_front *fe);

/**
 * @brief Free the frontend: remove its watches, disconnect the driver if
 *        connected. Writes no state (close first for an orderly end).
 *        NULL is allowed. Do not call it from its own callbacks.
 */
SDRV_API void sdrv_xenbus_front_free(struct sdrv_xenbus_front *fe);

/**
 * @brief Begin a frontend-initiated reconfiguration (netfront style): go
 *        Reconfiguring; the backend answers Reconfigured, the frontend's
 *        reconfigure(END) runs and it goes Connected again.
 *
 * @return 0, or -EBUSY unless Connected
 */
SDRV_API int sdrv_xenbus_front_reconfigure(struct sdrv_xenbus_front *fe);

/** @brief The frontend's own state. */
SDRV_API enum sdrv_xenbus_state sdrv_xenbus_front_state(const struct sdrv_xenbus_front *fe);
/** @brief The backend's state as last read. */
SDRV_API enum sdrv_xenbus_state sdrv_xenbus_front_peer_state(const struct sdrv_xenbus_front *fe);
/** @brief The frontend directory. */
SDRV_API const char *sdrv_xenbus_front_dir(const struct sdrv_xenbus_front *fe);
/** @brief The backend directory (checked). */
SDRV_API const char *sdrv_xenbus_front_peer_dir(const struct sdrv_xenbus_front *fe);
/** @brief The backend's domain. */
SDRV_API sdrv_domid_t sdrv_xenbus_front_peer_domid(const struct sdrv_xenbus_front *fe);
/** @brief The store connection. */
SDRV_API struct sdrv_xs *sdrv_xenbus_front_xs(const struct sdrv_xenbus_front *fe);
/** @brief The work counters. */
SDRV_API void sdrv_xenbus_front_stats(const struct sdrv_xenbus_front *fe,
				      struct sdrv_xenbus_stats *st);

/** @brief Options and callbacks of a backend. Zero-fill, then set `sz`. */
struct sdrv_xenbus_back_opts {
	size_t sz;	    /**< sizeof(struct sdrv_xenbus_back_opts). */
	struct sdrv_xs *xs; /**< The store connection (not owned; outlives the object). */
	sdrv_domid_t domid; /**< This (the backend's) domain. */
	const char *type;   /**< Backend device type. */
	sdrv_domid_t fe;    /**< The frontend's domain. */
	uint32_t id;	    /**< Device id. */
	/** Write the backend's features under sdrv_xenbus_back_dir() with
	 *  `tx` (called before InitWait, again after each reconnect, and again
	 *  with a new `tx` if the commit conflicts). Optional. */
	int (*publish)(struct sdrv_xenbus_back *be, uint32_t tx, void *ctx);
	/** The frontend published: read its keys (ring refs, event channel,
	 *  protocol...) from sdrv_xenbus_back_peer_dir() with the strict
	 *  readers, map, bind, start. Return 0 or a negative errno (the
	 *  backend then closes). */
	int (*connect)(struct sdrv_xenbus_back *be, void *ctx);
	/** Stop, unmap, unbind (idempotent). */
	void (*disconnect)(struct sdrv_xenbus_back *be, void *ctx);
	/** Optional: reconfigure (see enum sdrv_xenbus_reconf). */
	int (*reconfigure)(struct sdrv_xenbus_back *be, enum sdrv_xenbus_reconf phase, void *ctx);
	/** Optional: called after each change of either state. */
	void (*state_changed)(struct sdrv_xenbus_back *be, enum sdrv_xenbus_state self,
			      enum sdrv_xenbus_state peer, void *ctx);
	void *ctx; /**< Last argument of the callbacks. */
	/** Write `hotplug-status` = "connected" after each connect, as a
	 *  hotplug script would (for toolstacks that wait for it). */
	bool write_hotplug_status;
};

/**
 * @brief Start a backend on an existing device directory.
 *
 * Reads and checks `frontend-id` (must equal `fe`) and `frontend`
 * (sdrv_xenbus_check_front_path()), watches the frontend's directory and
 * its own `state` and `online`, and runs the first steps. A state left by
 * an earlier instance is reset through Closing. `online` = "0" (the
 * toolstack removing the device) closes it for good.
 *
 * @return the backend, or NULL with errno set
 */
SDRV_API struct sdrv_xenbus_back *sdrv_xenbus_back_new(const struct sdrv_xenbus_back_opts *opts);

/** @brief Close orderly, as sdrv_xenbus_front_close(). */
SDRV_API int sdrv_xenbus_back_close(struct sdrv_xenbus_back *be, int timeout_ms);

/** @brief Begin an orderly close without waiting, as sdrv_xenbus_front_shutdown(). */
SDRV_API void sdrv_xenbus_back_shutdown(struct sdrv_xenbus_back *be);

/** @brief Free the backend, as sdrv_xenbus_front_free(). */
SDRV_API void sdrv_xenbus_back_free(struct sdrv_xenbus_back *be);

/**
 * @brief The frontend's domain died: disconnect and go Closed at once.
 *
 * A dead frontend never answers Closing, so the orderly close would wait
 * for nobody. This step disconnects the driver, writes Closed and re-arms
 * the device, even one closed earlier by a failure (the failure was the
 * dead peer's): when a new frontend starts at Initialising, the backend
 * answers InitWait as after any close. Until then the dead frontend's
 * last state stays in its directory and is not acted on.
 *
 * @return 0; -ENOENT if the device directory was removed; -EBUSY when
 *         called from one of the backend's own callbacks; or the store's
 *         error
 */
SDRV_API int sdrv_xenbus_back_peer_gone(struct sdrv_xenbus_back *be);

/**
 * @brief Begin a backend-initiated reconfiguration (pciback style): go
 *        Reconfiguring; the frontend detaches and goes Reconfiguring, the
 *        backend's reconfigure(BEGIN) runs and it goes Reconfigured, the
 *        frontend attaches and goes Connected, then the backend (END).
 *
 * @return 0, or -EBUSY unless Connected
 */
SDRV_API int sdrv_xenbus_back_reconfigure(struct sdrv_xenbus_back *be);

/** @brief The backend's own state. */
SDRV_API enum sdrv_xenbus_state sdrv_xenbus_back_state(const struct sdrv_xenbus_back *be);
/** @brief The frontend's state as last read. */
SDRV_API enum sdrv_xenbus_state sdrv_xenbus_back_peer_state(const struct sdrv_xenbus_back *be);
/** @brief The backend directory. */
SDRV_API const char *sdrv_xenbus_back_dir(const struct sdrv_xenbus_back *be);
/** @brief The frontend directory (checked). */
SDRV_API const char *sdrv_xenbus_back_peer_dir(const struct sdrv_xenbus_back *be);
/** @brief The frontend's domain. */
SDRV_API sdrv_domid_t sdrv_xenbus_back_peer_domid(const struct sdrv_xenbus_back *be);
/** @brief The store connection. */
SDRV_API struct sdrv_xs *sdrv_xenbus_back_xs(const struct sdrv_xenbus_back *be);
/** @brief The work counters. */
SDRV_API void sdrv_xenbus_back_stats(const struct sdrv_xenbus_back *be,
				     struct sdrv_xenbus_stats *st);

/** @} */

SDRV_END_DECLS

#endif /* SPLITDRV_XENBUS_H */
