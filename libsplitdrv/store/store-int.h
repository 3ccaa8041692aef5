/* SPDX-License-Identifier: MIT */
/*
 * Private definitions of the store (include/splitdrv/store.h, doc/store.md).
 *
 * tree.c   the node table: versioned nodes (for transaction snapshots),
 *          permissions, per-domain accounting, the domain table
 * ops.c    one handler per request type, transactions, watches
 * conn.c   connections: accept, framing, output queues, backpressure,
 *          the run loop and the public API
 * state.c  the state file
 */
#ifndef SDRV_STORE_INT_H
#define SDRV_STORE_INT_H

#include <splitdrv/proto/xs_wire.h>
#include <splitdrv/store.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ST_PERM_NONE  0u
#define ST_PERM_READ  1u
#define ST_PERM_WRITE 2u
#define ST_PERM_OWNER 4u
#define ST_PERM_ALL   (ST_PERM_READ | ST_PERM_WRITE | ST_PERM_OWNER)

#define ST_DOMID_FIRST_RESERVED 0x7FF0u /* Xen's DOMID_FIRST_RESERVED */
#define ST_DOMID_SELF		0x7FF0u /* Xen's DOMID_SELF */
#define ST_DOMID_MAX		0xFFFFu /* permission entries name 16-bit domids */
#define ST_NO_TARGET		UINT32_MAX
#define ST_PERM_BYTES		8u /* accounted per permission entry */

#define ST_PATH_BUF (SDRV_XS_PAYLOAD_MAX + 64) /* a canonical path, with room */
#define ST_HDR	    16u			       /* sizeof(struct sdrv_xs_msg) */
#define ST_INBUF    8192u		       /* input buffer per connection */
#define ST_HIST_MAX (16u << 20)		       /* bytes of old versions kept */

/* Quotas and limits, by index (names and defaults in tree.c). */
enum st_quota {
	Q_NODES,
	Q_NODE_SIZE,
	Q_WATCHES,
	Q_TRANSACTIONS,
	Q_OUTSTANDING,
	Q_TRANSACTION_NODES,
	Q_PATH_MAX,
	Q_PERMISSIONS,
	Q_MEMORY,
	Q_WATCH_EVENTS,
	Q_UNREAD_BYTES,
	Q_STUCK_TIMEOUT,
	Q_CONNECTIONS,
	Q_COUNT
};

struct st_quota_def {
	const char *name;
	const char *alias;
	const char *descr;
	uint32_t dflt;
	size_t opt_off; /* offset of the field in struct sdrv_store_opts */
};
extern const struct st_quota_def st_quota_defs[Q_COUNT];

struct st_perm {
	uint32_t domid;
	uint32_t perms; /* ST_PERM_READ | ST_PERM_WRITE */
};

/* One version of a node. Immutable once installed in the table. */
struct st_ver {
	struct st_ver *older;
	uint64_t gen; /* generation at which it became current */
	bool deleted; /* tombstone: the node does not exist from gen on */
	uint32_t nperms, vlen, clen;
	struct st_perm *perms;
	char *value;
	char *children; /* NUL-terminated names, in creation order */
};

/* A path in the table, with its versions (newest first). */
struct st_node {
	struct st_node *hnext;
	struct st_ver *v;
	struct st_node *hist_next, *hist_prev; /* nodes holding old versions */
	bool in_hist;
	uint32_t hash;
	size_t plen;
	char path[];
};

/* A domain: accounting, and what the domain-management requests set. */
struct st_dom {
	struct st_dom *next;
	uint32_t domid;
	bool introduced;
	uint32_t target; /* SET_TARGET, or ST_NO_TARGET */
	uint32_t nodes;
	uint64_t mem;  /* bytes of the nodes it owns */
	uint64_t wmem; /* bytes of its watches */
	uint64_t emem; /* bytes of watch events waiting on its connections */
	uint32_t watches, txns, conns;
};

struct st_watch {
	struct st_watch *next;
	size_t prefix_len; /* bytes stripped from event paths (relative watch) */
	size_t mem;
	char *token;
	char path[];
};

/* A node a transaction has looked at or changed. */
struct st_txe {
	struct st_txe *hnext, *lnext;
	bool written;
	struct st_ver *local;	   /* own version when written; NULL: deleted */
	bool fire, exact;	   /* watch event on commit */
	struct st_perm *old_perms; /* permissions in the snapshot, if it existed */
	uint32_t nold;
	bool had_old;
	uint32_t hash;
	char path[];
};

struct st_delta {
	uint32_t domid;
	int64_t nodes, mem;
};

struct st_conn;

struct st_txn {
	struct st_txn *next;	      /* in the connection's list */
	struct st_txn *lprev, *lnext; /* in the store's list of live snapshots */
	struct st_conn *conn;
	uint32_t id;
	uint64_t start;
	bool live;   /* holds its snapshot (not doomed) */
	bool doomed; /* snapshot given up: the commit fails with EAGAIN */
	struct st_txe **tab;
	uint32_t tabsz, nents;
	struct st_txe *first, *last;
	struct st_delta *deltas;
	uint32_t ndeltas, capdeltas;
};

struct st_omsg {
	struct st_omsg *next;
	struct st_omsg *hnext; /* a waiting event's chain in st_conn.evtab */
	uint32_t hash;	       /* of a waiting event's payload */
	uint32_t len;	       /* header + payload */
	bool event, reply;
	bool hashed; /* in st_conn.evtab: waiting, not yet started on the socket */
	unsigned char data[];
};

struct st_conn {
	struct st_conn *next, *prev;
	struct sdrv_store *s;
	int fd;
	uint32_t serial;
	uint32_t domid;
	struct st_dom *dom;
	bool priv;
	long pid, uid;
	bool dead;
	unsigned warnings;
	uint32_t ep_events; /* registered epoll interest */
	/* input */
	unsigned char *in;
	size_t in_len;
	uint64_t partial_since;
	/* output */
	struct st_omsg *out_head, *out_tail;
	size_t out_off, out_bytes, event_bytes;
	uint32_t out_replies, out_events;
	/* Waiting events by payload, for coalescing in O(1): a chained hash
	 * table of evtab_mask + 1 buckets (NULL until the first event). */
	struct st_omsg **evtab;
	uint32_t evtab_mask, evtab_n;
	uint64_t over_since;
	uint64_t events_dropped;
	/* state */
	struct st_watch *watches;
	uint32_t nr_watches;
	struct st_txn *txns;
	uint32_t nr_txns, next_txid;
	struct st_conn *next_dead;
};

struct sdrv_store {
	int lfd, epfd, kickfd;
	char *path;
	dev_t sock_dev;
	ino_t sock_ino;
	char *state_file;
	uint32_t q[Q_COUNT];
	uid_t *priv;
	size_t npriv;
	struct sdrv_store_uid_domain *umap;
	size_t numap;
	int (*peer_domain)(void *ctx, pid_t pid, uid_t uid, gid_t gid, uint32_t *domid);
	void *peer_domain_ctx;
	void (*log)(void *ctx, int level, const char *msg);
	void *log_ctx;
	int log_level;

	/* the node table */
	struct st_node **tab;
	size_t tabsz, nrecs;
	uint32_t seed;
	uint64_t gen;
	uint64_t nr_nodes;
	struct st_node *hist_head;
	size_t hist_bytes;
	/* transactions holding snapshots, oldest first */
	struct st_txn *live_head, *live_tail;
	/* domains */
	struct st_dom *doms[256];
	/* connections */
	struct st_conn *conns;
	uint32_t nr_conns, serial;
	struct st_conn *dead;
	bool dirty;
	bool kicked;
	struct sdrv_store_stats st;
	char pbuf[SDRV_XS_PAYLOAD_MAX + 8]; /* the request being handled */
};

/* ------------------------------ tree.c -------------------------------- */
__attribute__((format(printf, 3, 4))) void st_log(struct sdrv_store *s, int level, const char *fmt,
						  ...);
uint64_t st_now_ms(void);

int st_table_init(struct sdrv_store *s);
void st_table_free(struct sdrv_store *s);
int st_tree_init(struct sdrv_store *s);
struct st_node *st_lookup(const struct sdrv_store *s, const char *path);
/* The current version of `path`, NULL if it does not exist. */
const struct st_ver *st_global(const struct sdrv_store *s, const char *path);
/* The version a snapshot taken at `gen` sees. */
const struct st_ver *st_at(const struct st_node *n, uint64_t gen);
struct st_ver *st_ver_new(const struct st_perm *perms, uint32_t nperms, const char *value,
			  uint32_t vlen, const char *children, uint32_t clen);
struct st_ver *st_ver_dup(const struct st_ver *v);
void st_ver_free(struct st_ver *v);
size_t st_ver_size(const struct st_ver *v); /* node size, for the node-size quota */
size_t st_ver_mem(size_t plen, const struct st_ver *v);
/* Make sure st_global_put() of `path` cannot fail (a record, perhaps with
 * no version yet, which reads as absent). */
int st_reserve(struct sdrv_store *s, const char *path);
/* Install `nv` (a version with `deleted` set: delete) as the current
 * version of `path`; takes ownership of `nv`. Returns 0, or -ENOMEM (then
 * `nv` is freed) unless the path was reserved or exists. */
int st_global_put(struct sdrv_store *s, const char *path, struct st_ver *nv);
void st_prune_all(struct sdrv_store *s);
void st_live_add(struct sdrv_store *s, struct st_txn *t);
void st_live_remove(struct sdrv_store *s, struct st_txn *t);

struct st_dom *st_dom_get(struct sdrv_store *s, uint32_t domid, bool create);
void st_doms_free(struct sdrv_store *s);
unsigned st_perm_for(const struct sdrv_store *s, uint32_t domid, const struct st_perm *p,
		     uint32_t n);
int st_parent(const char *path, char *out, size_t outsz);
const char *st_basename(const char *path);
bool st_is_child(const char *child, const char *parent);
int st_quota_index(const char *name);
/* Recount the accounting from the tree; returns the number of fixes. */
unsigned st_check(struct sdrv_store *s);

/* ------------------------------ ops.c --------------------------------- */
void st_handle(struct sdrv_store *s, struct st_conn *c, const struct sdrv_xs_msg *h,
	       const char *payload);
void st_fire(struct sdrv_store *s, const char *path, bool exact, const struct st_perm *p1,
	     uint32_t n1, const struct st_perm *p2, uint32_t n2);
void st_conn_drop_state(struct sdrv_store *s, struct st_conn *c);
void st_txn_free(struct sdrv_store *s, struct st_txn *t);
int st_introduce(struct sdrv_store *s, uint32_t domid);
int st_release(struct sdrv_store *s, uint32_t domid);

/* ------------------------------ conn.c -------------------------------- */
void st_reply(struct st_conn *c, const struct sdrv_xs_msg *req, uint32_t type, const void *data,
	      size_t len);
void st_error(struct st_conn *c, const struct sdrv_xs_msg *req, int err);
void st_event(struct st_conn *c, const char *path, const char *token);
void st_drop(struct st_conn *c, const char *why);
__attribute__((format(printf, 2, 3))) void st_conn_warn(struct st_conn *c, const char *fmt, ...);

/* ------------------------------ state.c ------------------------------- */
int st_state_save(struct sdrv_store *s);
int st_state_load(struct sdrv_store *s); /* 0, -ENOENT (no file), -EBADMSG, ... */

#endif /* SDRV_STORE_INT_H */
