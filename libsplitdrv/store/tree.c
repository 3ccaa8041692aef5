/* SPDX-License-Identifier: MIT */
/*
 * The store's node table (see store-int.h and doc/store.md).
 *
 * Every path maps to a chain of versions, newest first. A version is never
 * changed once installed: a write installs a new one. Old versions are kept
 * only while a transaction that started before the write still needs them
 * (its snapshot), and are pruned as soon as no live transaction does; their
 * total size is bounded (ST_HIST_MAX): beyond it the oldest transactions
 * give up their snapshots and will fail with EAGAIN.
 *
 * Generations: s->gen grows by one for every installed version; a version's
 * gen is when it became current, so "changed since transaction start" is
 * "newest version's gen > start", per node.
 */
#define _GNU_SOURCE
#include "store-int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define QDEF(idx, nm, al, de, df, field)                                                           \
	[idx] = {.name = nm,                                                                       \
		 .alias = al,                                                                      \
		 .descr = de,                                                                      \
		 .dflt = df,                                                                       \
		 .opt_off = offsetof(struct sdrv_store_opts, field)}

const struct st_quota_def st_quota_defs[Q_COUNT] = {
    QDEF(Q_NODES, "nodes", NULL, "Nodes per domain", 1000, quota_nodes),
    QDEF(Q_NODE_SIZE, "node-size", NULL, "Max. size of a node", 2048, quota_node_size),
    QDEF(Q_WATCHES, "watches", NULL, "Watches per domain", 128, quota_watches),
    QDEF(Q_TRANSACTIONS, "transactions", NULL, "Active transactions per domain", 10,
	 quota_transactions),
    QDEF(Q_OUTSTANDING, "outstanding", NULL, "Outstanding requests per connection", 20,
	 quota_outstanding),
    QDEF(Q_TRANSACTION_NODES, "transaction-nodes", NULL,
	 "Max. number of accessed nodes per transaction", 1024, quota_transaction_nodes),
    QDEF(Q_PATH_MAX, "path-max", "path-length", "Max. length of a node path", SDRV_XS_REL_PATH_MAX,
	 quota_path_max),
    QDEF(Q_PERMISSIONS, "permissions", "node-permissions", "Max. number of permissions per node", 5,
	 quota_permissions),
    QDEF(Q_MEMORY, "memory", NULL, "Total Xenstore memory per domain", 2 * 1024 * 1024 + 512 * 1024,
	 quota_memory),
    QDEF(Q_WATCH_EVENTS, "watch-events", NULL, "Pending watch events per unprivileged connection",
	 65536, max_watch_events),
    QDEF(Q_UNREAD_BYTES, "unread-bytes", NULL, "Unread reply bytes per connection", 65536,
	 max_unread_bytes),
    QDEF(Q_STUCK_TIMEOUT, "stuck-timeout", NULL, "Milliseconds a connection may stay stuck", 30000,
	 stuck_timeout_ms),
    QDEF(Q_CONNECTIONS, "connections", NULL, "Connections of all domains", 1024, max_connections),
};

void st_log(struct sdrv_store *s, int level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!s->log || level > s->log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s->log(s->log_ctx, level, msg);
}

uint64_t st_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int st_quota_index(const char *name)
{
	for (int i = 0; i < Q_COUNT; i++)
		if (!strcmp(name, st_quota_defs[i].name) ||
		    (st_quota_defs[i].alias && !strcmp(name, st_quota_defs[i].alias)))
			return i;
	return -1;
}

/* ------------------------------ paths --------------------------------- */

int st_parent(const char *path, char *out, size_t outsz)
{
	const char *slash = strrchr(path + 1, '/');
	size_t n;

	if (!path[0] || !strcmp(path, "/"))
		return -EINVAL;
	if (!slash) {
		/* "/a" and the special "@x" both have / as parent, as in xenstored */
		if (outsz < 2)
			return -EINVAL;
		strcpy(out, "/");
		return 0;
	}
	n = (size_t)(slash - path);
	if (n + 1 > outsz)
		return -EINVAL;
	memcpy(out, path, n);
	out[n] = '\0';
	return 0;
}

const char *st_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

bool st_is_child(const char *child, const char *parent)
{
	size_t len = strlen(parent);

	if (!strcmp(parent, "/"))
		return true;
	if (strncmp(child, parent, len) != 0)
		return false;
	return child[len] == '/' || child[len] == '\0';
}

/* ------------------------------ domains ------------------------------- */

struct st_dom *st_dom_get(struct sdrv_store *s, uint32_t domid, bool create)
{
	struct st_dom **head = &s->doms[domid & 255u], *d;

	for (d = *head; d; d = d->next)
		if (d->domid == domid)
			return d;
	if (!create)
		return NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->domid = domid;
	d->target = ST_NO_TARGET;
	d->next = *head;
	*head = d;
	return d;
}

void st_doms_free(struct sdrv_store *s)
{
	for (size_t i = 0; i < 256; i++) {
		while (s->doms[i]) {
			struct st_dom *d = s->doms[i];

			s->doms[i] = d->next;
			free(d);
		}
	}
}

unsigned st_perm_for(const struct sdrv_store *s, uint32_t domid, const struct st_perm *p,
		     uint32_t n)
{
	uint32_t tgt = ST_NO_TARGET;
	const struct st_dom *d;

	if (domid == 0)
		return ST_PERM_ALL;
	if (n == 0)
		return ST_PERM_NONE;
	d = st_dom_get((struct sdrv_store *)s, domid, false);
	if (d)
		tgt = d->target;
	/* Owners (and domains that target the owner) get it all. */
	if (p[0].domid == domid || (tgt != ST_NO_TARGET && p[0].domid == tgt))
		return ST_PERM_ALL;
	for (uint32_t i = 1; i < n; i++)
		if (p[i].domid == domid || (tgt != ST_NO_TARGET && p[i].domid == tgt))
			return p[i].perms & (ST_PERM_READ | ST_PERM_WRITE);
	return p[0].perms & (ST_PERM_READ | ST_PERM_WRITE);
}

/* ------------------------------ versions ------------------------------ */

struct st_ver *st_ver_new(const struct st_perm *perms, uint32_t nperms, const char *value,
			  uint32_t vlen, const char *children, uint32_t clen)
{
	size_t bytes =
	    sizeof(struct st_ver) + (size_t)nperms * sizeof(struct st_perm) + vlen + clen + 1;
	struct st_ver *v = malloc(bytes);
	char *p;

	if (!v)
		return NULL;
	memset(v, 0, sizeof(*v));
	v->nperms = nperms;
	v->vlen = vlen;
	v->clen = clen;
	v->perms = (struct st_perm *)(void *)(v + 1);
	if (nperms)
		memcpy(v->perms, perms, (size_t)nperms * sizeof(*perms));
	p = (char *)(v->perms + nperms);
	v->value = p;
	if (vlen)
		memcpy(p, value, vlen);
	p += vlen;
	v->children = p;
	if (clen)
		memcpy(p, children, clen);
	p[clen] = '\0';
	return v;
}

struct st_ver *st_ver_dup(const struct st_ver *v)
{
	return st_ver_new(v->perms, v->nperms, v->value, v->vlen, v->children, v->clen);
}

void st_ver_free(struct st_ver *v)
{
	free(v);
}

size_t st_ver_size(const struct st_ver *v)
{
	return (size_t)v->vlen + v->clen + (size_t)v->nperms * ST_PERM_BYTES;
}

size_t st_ver_mem(size_t plen, const struct st_ver *v)
{
	return plen + st_ver_size(v);
}

static size_t ver_bytes(const struct st_ver *v)
{
	return sizeof(*v) + (size_t)v->nperms * sizeof(struct st_perm) + v->vlen + v->clen + 1;
}

/* ------------------------------ the table ----------------------------- */

static uint32_t path_hash(const struct sdrv_store *s, const char *p, size_t *len)
{
	uint32_t h = 2166136261u ^ s->seed;
	size_t n = 0;

	for (; p[n]; n++) {
		h ^= (unsigned char)p[n];
		h *= 16777619u;
	}
	h ^= h >> 15;
	h *= 0x2c1b3c6du;
	h ^= h >> 12;
	*len = n;
	return h;
}

int st_table_init(struct sdrv_store *s)
{
	uint32_t seed = 0;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed))
		seed = (uint32_t)st_now_ms() ^ (uint32_t)getpid() * 2654435761u;
	s->seed = seed;
	s->tabsz = 1024;
	s->tab = calloc(s->tabsz, sizeof(*s->tab));
	return s->tab ? 0 : -ENOMEM;
}

static void free_node(struct st_node *n)
{
	while (n->v) {
		struct st_ver *v = n->v;

		n->v = v->older;
		st_ver_free(v);
	}
	free(n);
}

void st_table_free(struct sdrv_store *s)
{
	for (size_t i = 0; s->tab && i < s->tabsz; i++) {
		while (s->tab[i]) {
			struct st_node *n = s->tab[i];

			s->tab[i] = n->hnext;
			free_node(n);
		}
	}
	free(s->tab);
	s->tab = NULL;
	s->nrecs = 0;
	s->hist_head = NULL;
	s->hist_bytes = 0;
}

struct st_node *st_lookup(const struct sdrv_store *s, const char *path)
{
	size_t len;
	uint32_t h = path_hash(s, path, &len);

	for (struct st_node *n = s->tab[h & (s->tabsz - 1)]; n; n = n->hnext)
		if (n->hash == h && n->plen == len && !memcmp(n->path, path, len))
			return n;
	return NULL;
}

static void grow(struct sdrv_store *s)
{
	size_t nsz = s->tabsz * 2;
	struct st_node **nt = calloc(nsz, sizeof(*nt));

	if (!nt)
		return; /* keep the longer chains */
	for (size_t i = 0; i < s->tabsz; i++) {
		while (s->tab[i]) {
			struct st_node *n = s->tab[i];

			s->tab[i] = n->hnext;
			n->hnext = nt[n->hash & (nsz - 1)];
			nt[n->hash & (nsz - 1)] = n;
		}
	}
	free(s->tab);
	s->tab = nt;
	s->tabsz = nsz;
}

static struct st_node *record(struct sdrv_store *s, const char *path)
{
	size_t len;
	uint32_t h = path_hash(s, path, &len);
	struct st_node *n;

	for (n = s->tab[h & (s->tabsz - 1)]; n; n = n->hnext)
		if (n->hash == h && n->plen == len && !memcmp(n->path, path, len))
			return n;
	n = calloc(1, sizeof(*n) + len + 1);
	if (!n)
		return NULL;
	n->hash = h;
	n->plen = len;
	memcpy(n->path, path, len + 1);
	n->hnext = s->tab[h & (s->tabsz - 1)];
	s->tab[h & (s->tabsz - 1)] = n;
	if (++s->nrecs > s->tabsz)
		grow(s);
	return n;
}

static void unlink_record(struct sdrv_store *s, struct st_node *n)
{
	struct st_node **pp = &s->tab[n->hash & (s->tabsz - 1)];

	while (*pp && *pp != n)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = n->hnext;
	s->nrecs--;
}

int st_reserve(struct sdrv_store *s, const char *path)
{
	return record(s, path) ? 0 : -ENOMEM;
}

const struct st_ver *st_global(const struct sdrv_store *s, const char *path)
{
	const struct st_node *n = st_lookup(s, path);

	if (!n || !n->v || n->v->deleted)
		return NULL;
	return n->v;
}

const struct st_ver *st_at(const struct st_node *n, uint64_t gen)
{
	for (const struct st_ver *v = n ? n->v : NULL; v; v = v->older)
		if (v->gen <= gen)
			return v->deleted ? NULL : v;
	return NULL;
}

/* --------------------------- history, snapshots ----------------------- */

static void hist_add(struct sdrv_store *s, struct st_node *n)
{
	if (n->in_hist)
		return;
	n->in_hist = true;
	n->hist_prev = NULL;
	n->hist_next = s->hist_head;
	if (s->hist_head)
		s->hist_head->hist_prev = n;
	s->hist_head = n;
}

static void hist_del(struct sdrv_store *s, struct st_node *n)
{
	if (!n->in_hist)
		return;
	if (n->hist_prev)
		n->hist_prev->hist_next = n->hist_next;
	else
		s->hist_head = n->hist_next;
	if (n->hist_next)
		n->hist_next->hist_prev = n->hist_prev;
	n->in_hist = false;
	n->hist_next = n->hist_prev = NULL;
}

static uint64_t min_live_start(const struct sdrv_store *s)
{
	return s->live_head ? s->live_head->start : UINT64_MAX;
}

/* Bytes of a chain that count as history: all but a live newest version. */
static size_t chain_hist_bytes(const struct st_node *n)
{
	size_t b = 0;

	for (const struct st_ver *v = n->v; v; v = v->older)
		if (v != n->v || v->deleted)
			b += ver_bytes(v);
	return b;
}

/* Drop the versions no live snapshot can see; may free the record. Returns
 * true if the record was freed. */
static bool prune(struct sdrv_store *s, struct st_node *n)
{
	uint64_t min = min_live_start(s);
	struct st_ver *v, *keep_last;

	s->hist_bytes -= chain_hist_bytes(n);
	/* Keep versions down to the first one a snapshot at `min` sees. */
	keep_last = n->v;
	for (v = n->v; v; v = v->older) {
		keep_last = v;
		if (v->gen <= min)
			break;
	}
	if (keep_last) {
		while (keep_last->older) {
			struct st_ver *o = keep_last->older;

			keep_last->older = o->older;
			st_ver_free(o);
		}
	}
	/* A chain that is only a tombstone reads like no record at all. */
	if (n->v && n->v->deleted && !n->v->older) {
		st_ver_free(n->v);
		n->v = NULL;
	}
	if (!n->v) {
		hist_del(s, n);
		unlink_record(s, n);
		free(n);
		return true;
	}
	s->hist_bytes += chain_hist_bytes(n);
	if (n->v->older || n->v->deleted)
		hist_add(s, n);
	else
		hist_del(s, n);
	return false;
}

void st_prune_all(struct sdrv_store *s)
{
	struct st_node *n = s->hist_head, *next;

	for (; n; n = next) {
		next = n->hist_next;
		prune(s, n);
	}
}

void st_live_add(struct sdrv_store *s, struct st_txn *t)
{
	t->live = true;
	t->lnext = NULL;
	t->lprev = s->live_tail;
	if (s->live_tail)
		s->live_tail->lnext = t;
	else
		s->live_head = t;
	s->live_tail = t;
}

void st_live_remove(struct sdrv_store *s, struct st_txn *t)
{
	if (!t->live)
		return;
	if (t->lprev)
		t->lprev->lnext = t->lnext;
	else
		s->live_head = t->lnext;
	if (t->lnext)
		t->lnext->lprev = t->lprev;
	else
		s->live_tail = t->lprev;
	t->live = false;
	t->lprev = t->lnext = NULL;
}

/* Too much history: the oldest snapshots go first (their commits fail). */
static void bound_history(struct sdrv_store *s)
{
	while (s->hist_bytes > ST_HIST_MAX && s->live_head) {
		struct st_txn *t = s->live_head;

		t->doomed = true;
		st_live_remove(s, t);
		st_log(s, LOG_NOTICE,
		       "transaction %u of domain %u gave up its snapshot (history above %u bytes)",
		       t->id, t->conn ? t->conn->domid : 0, ST_HIST_MAX);
		st_prune_all(s);
	}
}

static void account(struct sdrv_store *s, const struct st_node *n, const struct st_ver *v, int sign)
{
	struct st_dom *d;
	size_t mem;

	if (!v || v->deleted)
		return;
	if (n->path[0] == '/')
		s->nr_nodes += (uint64_t)(int64_t)sign;
	d = st_dom_get(s, v->perms[0].domid, true);
	if (!d)
		return; /* out of memory: the count is fixed by st_check() */
	mem = st_ver_mem(n->plen, v);
	if (sign > 0) {
		d->nodes++;
		d->mem += mem;
	} else {
		d->nodes--;
		d->mem -= mem;
	}
}

int st_global_put(struct sdrv_store *s, const char *path, struct st_ver *nv)
{
	struct st_node *n = record(s, path);
	struct st_ver *old;
	bool keep_old;

	if (!n) {
		st_ver_free(nv);
		return -ENOMEM;
	}
	old = n->v;
	if (nv->deleted && (!old || old->deleted)) {
		/* nothing to delete */
		st_ver_free(nv);
		if (!n->v) {
			unlink_record(s, n);
			free(n);
		}
		return 0;
	}
	s->hist_bytes -= chain_hist_bytes(n);
	account(s, n, old, -1);
	account(s, n, nv, +1);
	nv->gen = ++s->gen;
	/* Does a live snapshot still see the current version? */
	keep_old = old && s->live_tail && s->live_tail->start >= old->gen;
	if (old && !keep_old) {
		nv->older = old->older;
		st_ver_free(old);
	} else {
		nv->older = old;
	}
	n->v = nv;
	s->hist_bytes += chain_hist_bytes(n);
	s->dirty = true;
	prune(s, n);
	bound_history(s);
	return 0;
}

/* ------------------------------ set-up -------------------------------- */

int st_tree_init(struct sdrv_store *s)
{
	static const struct {
		const char *path, *children;
	} nodes[] = {
	    {"/", "tool"},	    {"/tool", "xenstored"},   {"/tool/xenstored", ""},
	    {"@releaseDomain", ""}, {"@introduceDomain", ""},
	};
	const struct st_perm p = {.domid = 0, .perms = ST_PERM_NONE};

	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		size_t cl = strlen(nodes[i].children);
		struct st_ver *v =
		    st_ver_new(&p, 1, NULL, 0, nodes[i].children, cl ? (uint32_t)cl + 1 : 0);

		if (!v || st_global_put(s, nodes[i].path, v) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* Recount what the tree says each domain owns. */
unsigned st_check(struct sdrv_store *s)
{
	unsigned fixes = 0;
	uint64_t nodes = 0;

	for (size_t i = 0; i < 256; i++) {
		for (struct st_dom *d = s->doms[i]; d; d = d->next) {
			uint32_t cnt = 0;
			uint64_t mem = 0;

			for (size_t k = 0; k < s->tabsz; k++) {
				for (struct st_node *n = s->tab[k]; n; n = n->hnext) {
					const struct st_ver *v = n->v;

					if (!v || v->deleted || v->perms[0].domid != d->domid)
						continue;
					cnt++;
					mem += st_ver_mem(n->plen, v);
				}
			}
			if (cnt != d->nodes || mem != d->mem) {
				st_log(s, LOG_WARNING,
				       "check: domain %u owns %u nodes (%llu bytes), accounted %u "
				       "(%llu); fixed",
				       d->domid, cnt, (unsigned long long)mem, d->nodes,
				       (unsigned long long)d->mem);
				d->nodes = cnt;
				d->mem = mem;
				fixes++;
			}
		}
	}
	for (size_t k = 0; k < s->tabsz; k++)
		for (struct st_node *n = s->tab[k]; n; n = n->hnext)
			if (n->v && !n->v->deleted && n->path[0] == '/')
				nodes++;
	if (nodes != s->nr_nodes) {
		st_log(s, LOG_WARNING, "check: %llu nodes, counted %llu; fixed",
		       (unsigned long long)nodes, (unsigned long long)s->nr_nodes);
		s->nr_nodes = nodes;
		fixes++;
	}
	return fixes;
}
