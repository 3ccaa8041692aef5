/* SPDX-License-Identifier: MIT */
/*
 * The store's requests (see doc/store.md): one handler per type, with
 * xenstored's semantics, errors and quotas; transactions and watches.
 *
 * Every handler works on a "view": the global tree outside transactions;
 * inside one, the transaction's own versions over its snapshot. Changes are
 * prepared completely (every allocation done, every quota checked) before
 * the first one is applied, so a request either happens or fails as a whole.
 */
#define _GNU_SOURCE
#include "store-int.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#define VALID_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-/_@"

struct ev {
	char *path;
	bool exact;
	struct st_perm *p1, *p2;
	uint32_t n1, n2;
};

struct req {
	struct sdrv_store *s;
	struct st_conn *c; /* NULL: the store itself (releasing a domain) */
	struct st_txn *t;  /* NULL outside transactions */
	const struct sdrv_xs_msg *h;
	const char *p; /* payload, NUL-terminated at p[len] */
	uint32_t len;
	uint32_t domid;
	bool unpriv;
	struct ev *evs;
	size_t nevs, capevs;
};

/* ------------------------------ payloads ------------------------------ */

/* Number of NUL bytes: xenstored's xenstore_count_strings(). */
static unsigned count_strings(const char *p, uint32_t len)
{
	unsigned n = 0;

	for (uint32_t i = 0; i < len; i++)
		n += p[i] == '\0';
	return n;
}

/* The NUL-terminated strings from the start (trailing bytes without a NUL
 * are ignored), up to `max` of them in vec; returns how many there are. */
static unsigned get_strings(const struct req *r, const char **vec, unsigned max)
{
	unsigned n = 0;
	uint32_t off = 0;

	while (off < r->len) {
		const char *nul = memchr(r->p + off, 0, r->len - off);

		if (!nul)
			break;
		if (n < max)
			vec[n] = r->p + off;
		n++;
		off = (uint32_t)(nul - r->p) + 1;
	}
	return n;
}

/* Exactly one string, NUL-terminated at the end of the payload. */
static const char *onearg(const struct req *r)
{
	if (!r->len || strlen(r->p) + 1 != r->len)
		return NULL;
	return r->p;
}

static bool q_on(const struct req *r, enum st_quota q)
{
	return r->unpriv && r->s->q[q] != SDRV_STORE_UNLIMITED;
}

/* ------------------------------ paths --------------------------------- */

/* Length of a "/local/domain/<digits>/" prefix of `p`, or 0. */
static size_t home_prefix(const char *p)
{
	static const char pre[] = "/local/domain/";
	size_t i = sizeof(pre) - 1, digits = 0;

	if (strncmp(p, pre, i))
		return 0;
	while (p[i] >= '0' && p[i] <= '9' && digits < 5) {
		i++;
		digits++;
	}
	if (!digits || p[i] != '/')
		return 0;
	return i + 1;
}

/* xenstored's canonicalize(): validate and make absolute. */
static int canon(const struct req *r, const char *in, bool allow_special, char *out)
{
	size_t n;

	if (!in)
		return -EINVAL;
	n = strlen(in);
	if (strspn(in, VALID_CHARS) != n || (in[0] == '@' && !allow_special))
		return -EINVAL;
	if (in[0] != '/' && in[0] != '@') {
		int k = snprintf(out, ST_PATH_BUF, "/local/domain/%u/%s", r->domid, in);

		if (k < 0 || k >= ST_PATH_BUF)
			return -EINVAL;
	} else {
		if (n >= ST_PATH_BUF)
			return -EINVAL;
		memcpy(out, in, n + 1);
	}
	n = strlen(out);
	if ((n > 1 && out[n - 1] == '/') || strstr(out, "//") || n > SDRV_XS_ABS_PATH_MAX)
		return -EINVAL;
	if (q_on(r, Q_PATH_MAX) && n - home_prefix(out) > r->s->q[Q_PATH_MAX])
		return -EINVAL;
	return 0;
}

/* ---------------------------- transactions ---------------------------- */

static uint32_t str_hash(const char *p, size_t *len)
{
	uint32_t h = 2166136261u;
	size_t n = 0;

	for (; p[n]; n++) {
		h ^= (unsigned char)p[n];
		h *= 16777619u;
	}
	*len = n;
	return h;
}

static struct st_txe *txe_find(const struct st_txn *t, const char *path)
{
	size_t len;
	uint32_t h = str_hash(path, &len);

	if (!t->tab)
		return NULL;
	for (struct st_txe *e = t->tab[h & (t->tabsz - 1)]; e; e = e->hnext)
		if (e->hash == h && !strcmp(e->path, path))
			return e;
	return NULL;
}

static int txe_grow(struct st_txn *t)
{
	uint32_t nsz = t->tabsz ? t->tabsz * 2 : 64;
	struct st_txe **nt = calloc(nsz, sizeof(*nt));

	if (!nt)
		return -ENOMEM;
	for (struct st_txe *e = t->first; e; e = e->lnext) {
		e->hnext = nt[e->hash & (nsz - 1)];
		nt[e->hash & (nsz - 1)] = e;
	}
	free(t->tab);
	t->tab = nt;
	t->tabsz = nsz;
	return 0;
}

/* The transaction's entry for `path`, made on first access (counted
 * against the transaction-nodes quota). */
static int txe_get(struct req *r, const char *path, struct st_txe **out)
{
	struct st_txn *t = r->t;
	struct st_txe *e = txe_find(t, path);
	const struct st_ver *snap;
	size_t len;
	uint32_t h;

	if (e) {
		*out = e;
		return 0;
	}
	if (q_on(r, Q_TRANSACTION_NODES) && t->nents >= r->s->q[Q_TRANSACTION_NODES])
		return -ENOSPC;
	if (t->nents >= t->tabsz && txe_grow(t) < 0)
		return -ENOMEM;
	h = str_hash(path, &len);
	snap = st_at(st_lookup(r->s, path), t->start);
	{
		/* the snapshot's permissions live after the path, aligned */
		size_t off = (offsetof(struct st_txe, path) + len + 1 + 7) & ~(size_t)7;
		uint32_t np = snap ? snap->nperms : 0;

		e = calloc(1, off + np * sizeof(struct st_perm));
		if (!e)
			return -ENOMEM;
		memcpy(e->path, path, len + 1);
		e->hash = h;
		if (snap) {
			e->old_perms = (struct st_perm *)(void *)((char *)e + off);
			memcpy(e->old_perms, snap->perms, np * sizeof(struct st_perm));
			e->nold = np;
			e->had_old = true;
		}
	}
	e->hnext = t->tab[h & (t->tabsz - 1)];
	t->tab[h & (t->tabsz - 1)] = e;
	if (t->last)
		t->last->lnext = e;
	else
		t->first = e;
	t->last = e;
	t->nents++;
	*out = e;
	return 0;
}

static struct st_delta *delta_for(struct st_txn *t, uint32_t domid)
{
	for (uint32_t i = 0; i < t->ndeltas; i++)
		if (t->deltas[i].domid == domid)
			return &t->deltas[i];
	if (t->ndeltas == t->capdeltas) {
		uint32_t cap = t->capdeltas ? t->capdeltas * 2 : 4;
		struct st_delta *nd = realloc(t->deltas, cap * sizeof(*nd));

		if (!nd)
			return NULL;
		t->deltas = nd;
		t->capdeltas = cap;
	}
	t->deltas[t->ndeltas] = (struct st_delta){.domid = domid};
	return &t->deltas[t->ndeltas++];
}

static void delta_add(struct st_txn *t, const char *path, const struct st_ver *v, int sign)
{
	struct st_delta *d;

	if (!v || v->deleted)
		return;
	d = delta_for(t, v->perms[0].domid);
	if (!d)
		return; /* out of memory: the quota check is approximate, the
			 * commit's accounting stays exact */
	d->nodes += sign;
	d->mem += sign * (int64_t)st_ver_mem(strlen(path), v);
}

static int64_t delta_of(const struct st_txn *t, uint32_t domid, bool mem)
{
	for (uint32_t i = 0; t && i < t->ndeltas; i++)
		if (t->deltas[i].domid == domid)
			return mem ? t->deltas[i].mem : t->deltas[i].nodes;
	return 0;
}

/* What `domid` owns as the request sees it. */
static int64_t eff_nodes(struct req *r, uint32_t domid)
{
	struct st_dom *d = st_dom_get(r->s, domid, false);

	return (d ? (int64_t)d->nodes : 0) + delta_of(r->t, domid, false);
}

static int64_t eff_mem(struct req *r, uint32_t domid)
{
	struct st_dom *d = st_dom_get(r->s, domid, false);

	return (d ? (int64_t)(d->mem + d->wmem) : 0) + delta_of(r->t, domid, true);
}

/* ------------------------------ the view ------------------------------ */

static int view_get(struct req *r, const char *path, const struct st_ver **out)
{
	struct st_txe *e;
	int err;

	if (!r->t) {
		*out = st_global(r->s, path);
		return 0;
	}
	err = txe_get(r, path, &e);
	if (err)
		return err;
	if (e->written)
		*out = e->local && !e->local->deleted ? e->local : NULL;
	else
		*out = st_at(st_lookup(r->s, path), r->t->start);
	return 0;
}

/* Make sure view_put() of `path` cannot fail. */
static int view_reserve(struct req *r, const char *path)
{
	struct st_txe *e;

	if (r->t)
		return txe_get(r, path, &e);
	return st_reserve(r->s, path);
}

/* Install `nv` (a tombstone to delete); never fails after view_reserve()
 * or a view_get() of the same path. */
static void view_put(struct req *r, const char *path, struct st_ver *nv)
{
	struct st_txe *e;
	const struct st_ver *old;

	if (!r->t) {
		(void)st_global_put(r->s, path, nv);
		return;
	}
	e = txe_find(r->t, path);
	if (!e) { /* cannot happen: reserved */
		st_ver_free(nv);
		return;
	}
	old = e->written ? e->local : st_at(st_lookup(r->s, path), r->t->start);
	delta_add(r->t, path, old, -1);
	delta_add(r->t, path, nv, +1);
	if (e->written)
		st_ver_free(e->local);
	e->written = true;
	e->local = nv;
}

/* ------------------------------ permissions --------------------------- */

static unsigned perm_of(const struct req *r, const struct st_ver *v)
{
	return st_perm_for(r->s, r->domid, v->perms, v->nperms);
}

/* xenstored's errno_from_parents(): whether the caller may learn that a
 * node does not exist depends on the nearest existing ancestor. */
static int err_from_parents(struct req *r, const char *path, int err, unsigned perm)
{
	char a[ST_PATH_BUF], b[ST_PATH_BUF];
	char *cur = a, *par = b;

	strcpy(cur, path);
	for (;;) {
		const struct st_ver *v;
		char *tmp;
		int e;

		if (st_parent(cur, par, ST_PATH_BUF) < 0)
			return -EACCES; /* no root: treat as no permission */
		e = view_get(r, par, &v);
		if (e)
			return e;
		if (v)
			return (perm_of(r, v) & perm) ? err : -EACCES;
		if (!strcmp(par, "/"))
			return -EACCES;
		tmp = cur;
		cur = par;
		par = tmp;
	}
}

static int get_node(struct req *r, const char *path, unsigned perm, const struct st_ver **out)
{
	const struct st_ver *v;
	int e = view_get(r, path, &v);

	*out = NULL;
	if (e)
		return e;
	if (v && (perm_of(r, v) & perm) == perm) {
		*out = v;
		return 0;
	}
	return err_from_parents(r, path, v ? -EACCES : -ENOENT, perm);
}

/* ------------------------------ events -------------------------------- */

static struct st_perm *perms_dup(const struct st_ver *v, uint32_t *n)
{
	struct st_perm *p;

	*n = 0;
	if (!v || !v->nperms)
		return NULL;
	p = malloc(v->nperms * sizeof(*p));
	if (!p)
		return NULL;
	memcpy(p, v->perms, v->nperms * sizeof(*p));
	*n = v->nperms;
	return p;
}

/* A change to announce: queued on the transaction's entry, or kept for
 * st_fire() after the request (with the permissions the node and its
 * parent had before, for watchers that lose access by the change). */
static void queue_event(struct req *r, const char *path, bool exact, const struct st_ver *before,
			const struct st_ver *parent_before)
{
	struct ev *ev;

	if (r->t) {
		struct st_txe *e = txe_find(r->t, path);

		if (!e)
			return;
		if (!e->fire) {
			e->fire = true;
			e->exact = exact;
		} else if (!exact) {
			e->exact = false;
		}
		return;
	}
	if (r->nevs == r->capevs) {
		size_t cap = r->capevs ? r->capevs * 2 : 4;
		struct ev *ne = realloc(r->evs, cap * sizeof(*ne));

		if (!ne)
			return; /* a lost event: watches may miss, never crash */
		r->evs = ne;
		r->capevs = cap;
	}
	ev = &r->evs[r->nevs];
	memset(ev, 0, sizeof(*ev));
	ev->path = strdup(path);
	if (!ev->path)
		return;
	ev->exact = exact;
	ev->p1 = perms_dup(before, &ev->n1);
	ev->p2 = perms_dup(parent_before, &ev->n2);
	r->nevs++;
}

static bool readable(const struct sdrv_store *s, uint32_t domid, const struct st_perm *p,
		     uint32_t n)
{
	return p && n && (st_perm_for(s, domid, p, n) & ST_PERM_READ);
}

/* xenstored's watch_permitted(): the watcher may read the node or its
 * parent, now or (p1, p2) before the change. */
static bool permitted(struct sdrv_store *s, uint32_t domid, const char *path,
		      const struct st_perm *p1, uint32_t n1, const struct st_perm *p2, uint32_t n2)
{
	char parent[ST_PATH_BUF];
	const struct st_ver *v;

	if (domid == 0 || readable(s, domid, p1, n1) || readable(s, domid, p2, n2))
		return true;
	v = st_global(s, path);
	if (v && readable(s, domid, v->perms, v->nperms))
		return true;
	if (st_parent(path, parent, sizeof(parent)) < 0)
		return false;
	v = st_global(s, parent);
	return v && readable(s, domid, v->perms, v->nperms);
}

void st_fire(struct sdrv_store *s, const char *path, bool exact, const struct st_perm *p1,
	     uint32_t n1, const struct st_perm *p2, uint32_t n2)
{
	for (struct st_conn *c = s->conns; c; c = c->next) {
		bool checked = false;

		if (c->dead)
			continue;
		for (struct st_watch *w = c->watches; w; w = w->next) {
			bool match = exact ? !strcmp(path, w->path) : st_is_child(path, w->path);

			if (!match)
				continue;
			if (!checked) {
				if (!permitted(s, c->domid, path, p1, n1, p2, n2))
					break;
				checked = true;
			}
			st_event(c, path + w->prefix_len, w->token);
		}
	}
}

static void flush_events(struct req *r)
{
	for (size_t i = 0; i < r->nevs; i++) {
		struct ev *ev = &r->evs[i];

		st_fire(r->s, ev->path, ev->exact, ev->p1, ev->n1, ev->p2, ev->n2);
		free(ev->path);
		free(ev->p1);
		free(ev->p2);
	}
	free(r->evs);
	r->evs = NULL;
	r->nevs = r->capevs = 0;
}

static void fire_special(struct sdrv_store *s, const char *name)
{
	st_fire(s, name, true, NULL, 0, NULL, 0);
}

/* ------------------------------ changes ------------------------------- */

static struct st_ver *tombstone(void)
{
	struct st_ver *v = st_ver_new(NULL, 0, NULL, 0, NULL, 0);

	if (v)
		v->deleted = true;
	return v;
}

/* Would `v` break the node-size quota? */
static bool too_big(const struct req *r, size_t size)
{
	return q_on(r, Q_NODE_SIZE) && size > r->s->q[Q_NODE_SIZE];
}

/* Create `path` (it does not exist; its nearest ancestor is writable) and
 * any missing parents, inheriting the ancestor's permissions. */
static int create(struct req *r, const char *path, const char *value, uint32_t vlen)
{
	size_t n = strlen(path), nslash = 0, levels = 0, cur = n, alen = 0;
	size_t *lens;
	struct st_ver **nv = NULL, *anv = NULL;
	const struct st_ver *a = NULL;
	struct st_perm perms[64], *pp = perms;
	char buf[ST_PATH_BUF];
	uint32_t owner;
	int64_t mem = 0;
	int err = 0;

	for (size_t i = 0; i < n; i++)
		nslash += path[i] == '/';
	lens = calloc(nslash + 1, sizeof(*lens));
	if (!lens)
		return -ENOMEM;
	/* Walk up to the nearest existing node. */
	for (;;) {
		size_t plen;
		const char *slash;

		lens[levels++] = cur;
		memcpy(buf, path, cur);
		buf[cur] = '\0';
		slash = strrchr(buf, '/');
		plen = slash == buf ? 1 : (size_t)(slash - buf);
		buf[plen] = '\0';
		err = view_get(r, buf, &a);
		if (err)
			goto out;
		if (a) {
			alen = plen;
			break;
		}
		if (plen == 1 || levels > nslash) {
			err = -EIO; /* no root */
			goto out;
		}
		cur = plen;
	}
	/* The permissions the new nodes inherit. */
	if (a->nperms > sizeof(perms) / sizeof(perms[0])) {
		pp = malloc(a->nperms * sizeof(*pp));
		if (!pp) {
			err = -ENOMEM;
			goto out;
		}
	}
	memcpy(pp, a->perms, a->nperms * sizeof(*pp));
	if (r->unpriv)
		pp[0].domid = r->domid;
	owner = pp[0].domid;
	if (q_on(r, Q_NODES) && eff_nodes(r, owner) + (int64_t)levels > r->s->q[Q_NODES]) {
		err = -ENOSPC;
		goto out;
	}
	nv = calloc(levels, sizeof(*nv));
	if (!nv) {
		err = -ENOMEM;
		goto out;
	}
	/* lens[0] is the new node, lens[levels - 1] the child of the ancestor. */
	for (size_t i = 0; i < levels; i++) {
		const char *child = "";
		uint32_t clen = 0;

		if (i > 0) {
			child = path + lens[i] + 1;
			clen = (uint32_t)(lens[i - 1] - lens[i]); /* name + NUL */
		}
		memcpy(buf, child, clen ? clen - 1 : 0);
		buf[clen ? clen - 1 : 0] = '\0';
		nv[i] =
		    st_ver_new(pp, a->nperms, i == 0 ? value : NULL, i == 0 ? vlen : 0, buf, clen);
		if (!nv[i]) {
			err = -ENOMEM;
			goto out;
		}
		if (too_big(r, st_ver_size(nv[i]))) {
			err = -ENOSPC;
			goto out;
		}
		mem += (int64_t)st_ver_mem(lens[i], nv[i]);
	}
	{
		const char *top = path + (alen == 1 ? 1 : alen + 1);
		size_t tl = lens[levels - 1] - (size_t)(top - path);
		char *ch = malloc(a->clen + tl + 1);

		if (!ch) {
			err = -ENOMEM;
			goto out;
		}
		memcpy(ch, a->children, a->clen);
		memcpy(ch + a->clen, top, tl);
		ch[a->clen + tl] = '\0';
		anv = st_ver_new(a->perms, a->nperms, a->value, a->vlen, ch,
				 a->clen + (uint32_t)tl + 1);
		free(ch);
		if (!anv) {
			err = -ENOMEM;
			goto out;
		}
		if (too_big(r, st_ver_size(anv))) {
			err = -ENOSPC;
			goto out;
		}
		if (a->perms[0].domid == owner)
			mem += (int64_t)(tl + 1);
	}
	if (q_on(r, Q_MEMORY) && eff_mem(r, owner) + mem > (int64_t)r->s->q[Q_MEMORY]) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < levels; i++) {
		memcpy(buf, path, lens[i]);
		buf[lens[i]] = '\0';
		err = view_reserve(r, buf);
		if (err)
			goto out;
	}
	/* Apply: nothing below can fail. The parent last, so that it never
	 * lists a child that does not exist. */
	for (size_t i = 0; i < levels; i++) {
		memcpy(buf, path, lens[i]);
		buf[lens[i]] = '\0';
		view_put(r, buf, nv[i]);
		nv[i] = NULL;
	}
	memcpy(buf, path, alen);
	buf[alen] = '\0';
	view_put(r, buf, anv);
	anv = NULL;
	queue_event(r, path, false, NULL, NULL);
out:
	if (nv) {
		for (size_t i = 0; i < levels; i++)
			st_ver_free(nv[i]);
		free(nv);
	}
	st_ver_free(anv);
	if (pp != perms)
		free(pp);
	free(lens);
	return err;
}

/* Replace the value or permissions of an existing node. */
static int modify(struct req *r, const char *path, const struct st_ver *old, const char *value,
		  uint32_t vlen, const struct st_perm *perms, uint32_t nperms)
{
	struct st_ver *nv = st_ver_new(perms, nperms, value, vlen, old->children, old->clen);
	int64_t grow;
	uint32_t owner;

	if (!nv)
		return -ENOMEM;
	if (too_big(r, st_ver_size(nv))) {
		st_ver_free(nv);
		return -ENOSPC;
	}
	owner = perms[0].domid;
	grow = (int64_t)st_ver_mem(strlen(path), nv);
	if (old->perms[0].domid == owner)
		grow -= (int64_t)st_ver_mem(strlen(path), old);
	if (q_on(r, Q_MEMORY) && grow > 0 &&
	    eff_mem(r, owner) + grow > (int64_t)r->s->q[Q_MEMORY]) {
		st_ver_free(nv);
		return -ENOMEM;
	}
	if (q_on(r, Q_NODES) && owner != old->perms[0].domid &&
	    eff_nodes(r, owner) + 1 > r->s->q[Q_NODES]) {
		st_ver_free(nv);
		return -ENOSPC;
	}
	queue_event(r, path, false, perms == old->perms ? NULL : old, NULL);
	view_put(r, path, nv);
	return 0;
}

struct rm_item {
	char *path;
	struct st_ver *tomb;
};

/* Delete `path` (it exists and is not /) with everything below it. */
static int rm_tree(struct req *r, const char *path)
{
	struct frame {
		char *path;
		const struct st_ver *v;
		uint32_t off;
	} *stack = NULL;
	struct rm_item *items = NULL;
	size_t nst = 0, capst = 0, nit = 0, capit = 0;
	char parent[ST_PATH_BUF];
	const struct st_ver *pv, *v;
	struct st_ver *pnv = NULL;
	const char *base = st_basename(path);
	size_t blen = strlen(base);
	int err;

	if (st_parent(path, parent, sizeof(parent)) < 0)
		return -EINVAL;
	err = view_get(r, parent, &pv);
	if (err)
		return err;
	err = view_get(r, path, &v);
	if (err)
		return err;
	if (!pv || !v)
		return -EIO;
	/* Post-order walk of the subtree, as the view sees it. */
	capst = 16;
	stack = malloc(capst * sizeof(*stack));
	if (!stack)
		return -ENOMEM;
	stack[nst++] = (struct frame){.path = strdup(path), .v = v, .off = 0};
	if (!stack[0].path) {
		err = -ENOMEM;
		goto out;
	}
	while (nst) {
		struct frame *f = &stack[nst - 1];

		if (f->off < f->v->clen) {
			const char *name = f->v->children + f->off;
			size_t nl = strlen(name), pl = strlen(f->path);
			const struct st_ver *cv;
			char *cp;

			f->off += (uint32_t)nl + 1;
			cp = malloc(pl + nl + 2);
			if (!cp) {
				err = -ENOMEM;
				goto out;
			}
			if (!strcmp(f->path, "/"))
				sprintf(cp, "/%s", name);
			else
				sprintf(cp, "%s/%s", f->path, name);
			err = view_get(r, cp, &cv);
			if (err || !cv) {
				free(cp);
				if (err)
					goto out;
				continue; /* listed but gone: nothing to delete */
			}
			if (nst == capst) {
				struct frame *ns = realloc(stack, 2 * capst * sizeof(*ns));

				if (!ns) {
					free(cp);
					err = -ENOMEM;
					goto out;
				}
				stack = ns;
				capst *= 2;
			}
			stack[nst++] = (struct frame){.path = cp, .v = cv, .off = 0};
			continue;
		}
		if (nit == capit) {
			size_t cap = capit ? capit * 2 : 16;
			struct rm_item *ni = realloc(items, cap * sizeof(*ni));

			if (!ni) {
				err = -ENOMEM;
				goto out;
			}
			items = ni;
			capit = cap;
		}
		items[nit].path = f->path;
		items[nit].tomb = tombstone();
		nit++;
		nst--;
		if (!items[nit - 1].tomb) {
			err = -ENOMEM;
			goto out;
		}
	}
	/* The parent without this child. */
	{
		char *ch = malloc(pv->clen + 1);
		uint32_t off = 0;

		if (!ch) {
			err = -ENOMEM;
			goto out;
		}
		for (uint32_t i = 0; i < pv->clen; i += (uint32_t)strlen(pv->children + i) + 1) {
			const char *name = pv->children + i;
			size_t l = strlen(name);

			if (l == blen && !memcmp(name, base, blen))
				continue;
			memcpy(ch + off, name, l + 1);
			off += (uint32_t)l + 1;
		}
		pnv = st_ver_new(pv->perms, pv->nperms, pv->value, pv->vlen, ch, off);
		free(ch);
		if (!pnv) {
			err = -ENOMEM;
			goto out;
		}
	}
	/* Apply, children first, each announced with the permissions it had
	 * (and its parent had) before. */
	for (size_t i = 0; i < nit; i++) {
		const struct st_ver *before, *pbefore;
		char pp[ST_PATH_BUF];
		bool root = i + 1 == nit;

		(void)view_get(r, items[i].path, &before); /* entries exist: no failure */
		pbefore = NULL;
		if (st_parent(items[i].path, pp, sizeof(pp)) == 0)
			(void)view_get(r, pp, &pbefore);
		queue_event(r, items[i].path, !root, before, pbefore);
		view_put(r, items[i].path, items[i].tomb);
		items[i].tomb = NULL;
	}
	view_put(r, parent, pnv);
	pnv = NULL;
	err = 0;
out:
	for (size_t i = 0; i < nst; i++)
		free(stack[i].path);
	free(stack);
	for (size_t i = 0; i < nit; i++) {
		free(items[i].path);
		st_ver_free(items[i].tomb);
	}
	free(items);
	st_ver_free(pnv);
	return err;
}

/* ------------------------------ handlers ------------------------------ */

static int do_read(struct req *r)
{
	char path[ST_PATH_BUF];
	const struct st_ver *v;
	int err = canon(r, onearg(r), false, path);

	if (!err)
		err = get_node(r, path, ST_PERM_READ, &v);
	if (err)
		return err;
	st_reply(r->c, r->h, SDRV_XS_READ, v->value, v->vlen);
	return 0;
}

static int do_directory(struct req *r)
{
	char path[ST_PATH_BUF];
	const struct st_ver *v;
	int err = canon(r, onearg(r), false, path);

	if (!err)
		err = get_node(r, path, ST_PERM_READ, &v);
	if (err)
		return err;
	st_reply(r->c, r->h, SDRV_XS_DIRECTORY, v->children, v->clen);
	return 0;
}

static int do_directory_part(struct req *r)
{
	char path[ST_PATH_BUF], gen[24];
	const struct st_ver *v;
	char *data;
	unsigned long long off;
	size_t genlen, len = 0, maxlen;
	const char *child;
	int err;

	if (count_strings(r->p, r->len) != 2)
		return -EINVAL;
	err = canon(r, r->p, false, path);
	if (!err)
		err = get_node(r, path, ST_PERM_READ, &v);
	if (err)
		return err;
	/* atoi() in xenstored; a negative or huge offset lists nothing */
	{
		const char *o = r->p + strlen(r->p) + 1;
		long long x = strtoll(o, NULL, 10);

		off = x < 0 ? ULLONG_MAX : (unsigned long long)x;
	}
	genlen = (size_t)snprintf(gen, sizeof(gen), "%" PRIu64, v->gen) + 1;
	if (off >= v->clen) {
		char empty[sizeof(gen) + 1];

		memcpy(empty, gen, genlen);
		empty[genlen] = '\0';
		st_reply(r->c, r->h, SDRV_XS_DIRECTORY_PART, empty, genlen + 1);
		return 0;
	}
	maxlen = SDRV_XS_PAYLOAD_MAX - genlen - 1;
	child = v->children + off;
	while (len + strlen(child) < maxlen) {
		len += strlen(child) + 1;
		child += strlen(child) + 1;
		if (off + len == v->clen)
			break;
	}
	data = malloc(genlen + len + 1);
	if (!data)
		return -ENOMEM;
	memcpy(data, gen, genlen);
	memcpy(data + genlen, v->children + off, len);
	if (off + len == v->clen)
		data[genlen + len++] = '\0';
	st_reply(r->c, r->h, SDRV_XS_DIRECTORY_PART, data, genlen + len);
	free(data);
	return 0;
}

static char perm_char(uint32_t p)
{
	switch (p & (ST_PERM_READ | ST_PERM_WRITE)) {
	case ST_PERM_READ:
		return 'r';
	case ST_PERM_WRITE:
		return 'w';
	case ST_PERM_READ | ST_PERM_WRITE:
		return 'b';
	default:
		return 'n';
	}
}

static int do_get_perms(struct req *r)
{
	char path[ST_PATH_BUF], *out;
	const struct st_ver *v;
	size_t len = 0;
	int err = canon(r, onearg(r), true, path);

	if (!err)
		err = get_node(r, path, ST_PERM_READ, &v);
	if (err)
		return err;
	out = malloc((size_t)v->nperms * 16 + 1);
	if (!out)
		return -ENOMEM;
	for (uint32_t i = 0; i < v->nperms; i++)
		len += (size_t)sprintf(out + len, "%c%u", perm_char(v->perms[i].perms),
				       v->perms[i].domid) +
		       1;
	st_reply(r->c, r->h, SDRV_XS_GET_PERMS, out, len);
	free(out);
	return 0;
}

static int do_write(struct req *r)
{
	char path[ST_PATH_BUF];
	const char *vec[1];
	const struct st_ver *v;
	uint32_t off;
	int err;

	if (get_strings(r, vec, 1) < 1)
		return -EINVAL;
	off = (uint32_t)strlen(vec[0]) + 1;
	err = canon(r, vec[0], false, path);
	if (err)
		return err;
	err = get_node(r, path, ST_PERM_WRITE, &v);
	if (err == -ENOENT)
		err = create(r, path, r->p + off, r->len - off);
	else if (!err)
		err = modify(r, path, v, r->p + off, r->len - off, v->perms, v->nperms);
	if (err)
		return err;
	st_reply(r->c, r->h, SDRV_XS_WRITE, "OK", 3);
	return 0;
}

static int do_mkdir(struct req *r)
{
	char path[ST_PATH_BUF];
	const struct st_ver *v;
	int err = canon(r, onearg(r), false, path);

	if (err)
		return err;
	err = get_node(r, path, ST_PERM_WRITE, &v);
	if (err == -ENOENT)
		err = create(r, path, NULL, 0);
	if (err)
		return err;
	st_reply(r->c, r->h, SDRV_XS_MKDIR, "OK", 3);
	return 0;
}

static int do_rm(struct req *r)
{
	char path[ST_PATH_BUF], parent[ST_PATH_BUF];
	const struct st_ver *v, *pv;
	int err = canon(r, onearg(r), false, path);

	if (err)
		return err;
	err = get_node(r, path, ST_PERM_WRITE, &v);
	if (err == -ENOENT) {
		/* Didn't exist already? Fine, if the parent exists. */
		if (st_parent(path, parent, sizeof(parent)) < 0)
			return -ENOENT;
		err = view_get(r, parent, &pv);
		if (err)
			return err;
		if (!pv)
			return -ENOENT;
		st_reply(r->c, r->h, SDRV_XS_RM, "OK", 3);
		return 0;
	}
	if (err)
		return err;
	if (!strcmp(path, "/"))
		return -EINVAL;
	err = rm_tree(r, path);
	if (err)
		return err;
	st_reply(r->c, r->h, SDRV_XS_RM, "OK", 3);
	return 0;
}

/* xenstored's xenstore_strings_to_perms(), on the strings after the path. */
static int parse_perms(const char *p, uint32_t n, struct st_perm *out)
{
	for (uint32_t i = 0; i < n; i++) {
		char *end;
		unsigned long id;

		switch (*p) {
		case 'r':
			out[i].perms = ST_PERM_READ;
			break;
		case 'w':
			out[i].perms = ST_PERM_WRITE;
			break;
		case 'b':
			out[i].perms = ST_PERM_READ | ST_PERM_WRITE;
			break;
		case 'n':
			out[i].perms = ST_PERM_NONE;
			break;
		default:
			return -EINVAL;
		}
		p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		id = strtoul(p, &end, 10);
		if (*end || id > ST_DOMID_MAX)
			return -EINVAL;
		out[i].domid = (uint32_t)id;
		p = end + 1;
	}
	return 0;
}

static int do_set_perms(struct req *r)
{
	char path[ST_PATH_BUF];
	unsigned num = count_strings(r->p, r->len);
	struct st_perm *perms;
	const struct st_ver *v;
	int err;

	if (num < 2)
		return -EINVAL;
	num--;
	if (q_on(r, Q_PERMISSIONS) && num > r->s->q[Q_PERMISSIONS])
		return -ENOSPC;
	perms = malloc(num * sizeof(*perms));
	if (!perms)
		return -ENOMEM;
	err = parse_perms(r->p + strlen(r->p) + 1, num, perms);
	if (!err)
		err = canon(r, r->p, true, path);
	if (!err)
		err = get_node(r, path, ST_PERM_WRITE | ST_PERM_OWNER, &v);
	/* Unprivileged domains may not change the owner. */
	if (!err && r->unpriv && perms[0].domid != v->perms[0].domid)
		err = -EPERM;
	if (!err)
		err = modify(r, path, v, v->value, v->vlen, perms, num);
	free(perms);
	if (err)
		return err;
	st_reply(r->c, r->h, SDRV_XS_SET_PERMS, "OK", 3);
	return 0;
}

static int do_watch(struct req *r)
{
	char path[ST_PATH_BUF];
	const char *vec[2];
	struct st_conn *c = r->c;
	struct st_watch *w, **tail;
	size_t pl, tl;
	bool relative;
	int err;

	if (get_strings(r, vec, 2) != 2)
		return -EINVAL;
	relative = vec[0][0] != '/' && vec[0][0] != '@';
	err = canon(r, vec[0], true, path);
	if (err)
		return err;
	for (w = c->watches; w; w = w->next)
		if (!strcmp(w->path, path) && !strcmp(w->token, vec[1]))
			return -EEXIST;
	if (q_on(r, Q_WATCHES) && c->dom->watches >= r->s->q[Q_WATCHES])
		return -E2BIG;
	pl = strlen(path);
	tl = strlen(vec[1]);
	if (q_on(r, Q_MEMORY) && eff_mem(r, c->domid) + (int64_t)(pl + tl) > r->s->q[Q_MEMORY])
		return -ENOMEM;
	w = malloc(sizeof(*w) + pl + 1 + tl + 1);
	if (!w)
		return -ENOMEM;
	memcpy(w->path, path, pl + 1);
	w->token = w->path + pl + 1;
	memcpy(w->token, vec[1], tl + 1);
	w->prefix_len = relative ? home_prefix(path) : 0;
	w->mem = pl + tl;
	w->next = NULL;
	for (tail = &c->watches; *tail; tail = &(*tail)->next)
		;
	*tail = w;
	c->nr_watches++;
	c->dom->watches++;
	c->dom->wmem += w->mem;
	r->s->st.watches++;
	st_reply(c, r->h, SDRV_XS_WATCH, "OK", 3);
	/* Fire once up front, to the watcher only. */
	st_event(c, w->path + w->prefix_len, w->token);
	return 0;
}

static void watch_free(struct sdrv_store *s, struct st_conn *c, struct st_watch *w)
{
	c->nr_watches--;
	c->dom->watches--;
	c->dom->wmem -= w->mem;
	s->st.watches--;
	free(w);
}

static int do_unwatch(struct req *r)
{
	char path[ST_PATH_BUF];
	const char *vec[2];
	int err;

	if (get_strings(r, vec, 2) != 2)
		return -EINVAL;
	err = canon(r, vec[0], true, path);
	if (err)
		return err;
	for (struct st_watch **pp = &r->c->watches; *pp; pp = &(*pp)->next) {
		struct st_watch *w = *pp;

		if (!strcmp(w->path, path) && !strcmp(w->token, vec[1])) {
			*pp = w->next;
			watch_free(r->s, r->c, w);
			st_reply(r->c, r->h, SDRV_XS_UNWATCH, "OK", 3);
			return 0;
		}
	}
	return -ENOENT;
}

void st_txn_free(struct sdrv_store *s, struct st_txn *t)
{
	struct st_txe *e = t->first;

	while (e) {
		struct st_txe *n = e->lnext;

		if (e->written)
			st_ver_free(e->local);
		free(e);
		e = n;
	}
	free(t->tab);
	free(t->deltas);
	st_live_remove(s, t);
	if (t->conn) {
		t->conn->nr_txns--;
		t->conn->dom->txns--;
	}
	s->st.transactions--;
	free(t);
	st_prune_all(s); /* its snapshot may have held old versions */
}

static int do_tx_start(struct req *r)
{
	struct st_conn *c = r->c;
	struct st_txn *t;
	char id[16];

	if (r->t)
		return -EBUSY; /* no nested transactions */
	if (q_on(r, Q_TRANSACTIONS) && c->dom->txns >= r->s->q[Q_TRANSACTIONS])
		return -ENOSPC;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	/* Pick an unused, non-zero id. */
	for (;;) {
		struct st_txn *o;

		t->id = c->next_txid++;
		if (!t->id)
			continue;
		for (o = c->txns; o && o->id != t->id; o = o->next)
			;
		if (!o)
			break;
	}
	t->conn = c;
	t->start = r->s->gen;
	t->next = c->txns;
	c->txns = t;
	c->nr_txns++;
	c->dom->txns++;
	r->s->st.transactions++;
	st_live_add(r->s, t);
	snprintf(id, sizeof(id), "%u", t->id);
	st_reply(c, r->h, SDRV_XS_TRANSACTION_START, id, strlen(id) + 1);
	return 0;
}

static void txn_unlink(struct st_conn *c, struct st_txn *t)
{
	for (struct st_txn **pp = &c->txns; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			return;
		}
	}
}

static int tx_commit(struct req *r, struct st_txn *t)
{
	struct sdrv_store *s = r->s;

	if (t->doomed)
		return -EAGAIN;
	/* Anything it looked at or changed must be as it was at its start. */
	for (struct st_txe *e = t->first; e; e = e->lnext) {
		const struct st_node *n = st_lookup(s, e->path);

		if (n && n->v && n->v->gen > t->start)
			return -EAGAIN;
	}
	/* Quotas on what the commit adds (CVE-2022-42326: nodes created and
	 * deleted inside the transaction count for nothing). */
	if (r->unpriv) {
		for (uint32_t i = 0; i < t->ndeltas; i++) {
			const struct st_delta *d = &t->deltas[i];
			struct st_dom *dom = st_dom_get(s, d->domid, false);
			int64_t nodes = dom ? dom->nodes : 0,
				mem = dom ? (int64_t)(dom->mem + dom->wmem) : 0;

			if (d->domid == 0)
				continue;
			if (d->nodes > 0 && s->q[Q_NODES] != SDRV_STORE_UNLIMITED &&
			    nodes + d->nodes > s->q[Q_NODES])
				return -ENOSPC;
			if (d->mem > 0 && s->q[Q_MEMORY] != SDRV_STORE_UNLIMITED &&
			    mem + d->mem > (int64_t)s->q[Q_MEMORY])
				return -ENOMEM;
		}
	}
	for (struct st_txe *e = t->first; e; e = e->lnext) {
		if (!e->written)
			continue;
		if (st_reserve(s, e->path) < 0)
			return -ENOMEM;
	}
	for (struct st_txe *e = t->first; e; e = e->lnext) {
		if (!e->written)
			continue;
		(void)st_global_put(s, e->path, e->local);
		e->local = NULL;
		e->written = false;
	}
	for (struct st_txe *e = t->first; e; e = e->lnext) {
		char pp[ST_PATH_BUF];
		const struct st_txe *pe = NULL;

		if (!e->fire)
			continue;
		if (st_parent(e->path, pp, sizeof(pp)) == 0)
			pe = txe_find(t, pp);
		st_fire(s, e->path, e->exact, e->had_old ? e->old_perms : NULL, e->nold,
			pe && pe->had_old ? pe->old_perms : NULL, pe ? pe->nold : 0);
	}
	return 0;
}

static int do_tx_end(struct req *r)
{
	const char *arg = onearg(r);
	struct st_txn *t = r->t;
	int err = 0;

	if (!arg || (strcmp(arg, "T") && strcmp(arg, "F")))
		return -EINVAL;
	if (!t)
		return -ENOENT;
	if (!strcmp(arg, "T")) {
		err = tx_commit(r, t);
		if (err == -EAGAIN)
			r->s->st.tx_conflicts++;
	}
	/* Ended either way, as in xenstored. */
	txn_unlink(r->c, t);
	r->t = NULL;
	st_txn_free(r->s, t);
	if (err)
		return err;
	st_reply(r->c, r->h, SDRV_XS_TRANSACTION_END, "OK", 3);
	return 0;
}

static unsigned parse_domid(const char *s)
{
	return (unsigned)atoi(s); /* as xenstored: garbage reads as 0 */
}

int st_introduce(struct sdrv_store *s, uint32_t domid)
{
	struct st_dom *d;

	if (domid == 0 || domid >= ST_DOMID_FIRST_RESERVED)
		return -EINVAL;
	d = st_dom_get(s, domid, true);
	if (!d)
		return -ENOMEM;
	if (d->introduced)
		return -EEXIST;
	d->introduced = true;
	s->dirty = true;
	st_log(s, LOG_INFO, "domain %u introduced", domid);
	fire_special(s, "@introduceDomain");
	return 0;
}

static int do_introduce(struct req *r)
{
	const char *vec[3];
	unsigned domid;
	int err;

	if (get_strings(r, vec, 3) < 3)
		return -EINVAL;
	domid = parse_domid(vec[0]);
	if (atoi(vec[2]) <= 0) /* the event channel */
		return -EINVAL;
	err = st_introduce(r->s, domid);
	if (err && err != -EEXIST) /* introducing again is fine */
		return err;
	st_reply(r->c, r->h, SDRV_XS_INTRODUCE, "OK", 3);
	return 0;
}

/* Collect the topmost nodes `domid` owns, below `path`. */
struct pathlist {
	char **v;
	size_t n, cap;
};

static int pl_add(struct pathlist *pl, const char *p)
{
	if (pl->n == pl->cap) {
		size_t cap = pl->cap ? pl->cap * 2 : 16;
		char **nv = realloc(pl->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		pl->v = nv;
		pl->cap = cap;
	}
	pl->v[pl->n] = strdup(p);
	if (!pl->v[pl->n])
		return -ENOMEM;
	pl->n++;
	return 0;
}

static void pl_free(struct pathlist *pl)
{
	for (size_t i = 0; i < pl->n; i++)
		free(pl->v[i]);
	free(pl->v);
}

static int owned_roots(struct sdrv_store *s, const char *path, uint32_t domid, struct pathlist *pl)
{
	struct pathlist todo = {0};
	int err = pl_add(&todo, path);

	while (!err && todo.n) {
		char *p = todo.v[--todo.n];
		const struct st_ver *v = st_global(s, p);

		if (v && v->perms[0].domid == domid) {
			err = pl_add(pl, p);
		} else if (v) {
			for (uint32_t i = 0; !err && i < v->clen;
			     i += (uint32_t)strlen(v->children + i) + 1) {
				char cp[ST_PATH_BUF];

				if (snprintf(cp, sizeof(cp), "%s/%s", strcmp(p, "/") ? p : "",
					     v->children + i) >= (int)sizeof(cp))
					continue;
				err = pl_add(&todo, cp);
			}
		}
		free(p);
	}
	pl_free(&todo);
	return err;
}

int st_release(struct sdrv_store *s, uint32_t domid)
{
	struct st_dom *d = st_dom_get(s, domid, false);
	struct pathlist roots = {0}, fix = {0};
	struct req r = {.s = s, .domid = 0};

	if (domid == 0)
		return -EINVAL;
	if (!d || !d->introduced)
		return -ENOENT;
	for (struct st_conn *c = s->conns; c; c = c->next)
		if (!c->dead && c->domid == domid)
			st_drop(c, "its domain was released");
	/* Its nodes go (xenstored's default, against inheritance by a later
	 * domain with the same id). */
	if (owned_roots(s, "/", domid, &roots) == 0) {
		for (size_t i = 0; i < roots.n; i++) {
			if (strcmp(roots.v[i], "/") && st_global(s, roots.v[i]))
				(void)rm_tree(&r, roots.v[i]);
		}
	}
	flush_events(&r);
	pl_free(&roots);
	/* Permission entries that name it go too; owned special nodes pass to
	 * domain 0. */
	for (size_t k = 0; k < s->tabsz; k++) {
		for (struct st_node *n = s->tab[k]; n; n = n->hnext) {
			const struct st_ver *v = n->v;
			bool hit = false;

			if (!v || v->deleted)
				continue;
			for (uint32_t i = 0; i < v->nperms; i++)
				hit |= v->perms[i].domid == domid;
			if (hit)
				(void)pl_add(&fix, n->path);
		}
	}
	for (size_t i = 0; i < fix.n; i++) {
		const struct st_ver *v = st_global(s, fix.v[i]);
		struct st_perm *np;
		uint32_t nn = 0;

		if (!v)
			continue;
		np = malloc(v->nperms * sizeof(*np));
		if (!np)
			continue;
		for (uint32_t k = 0; k < v->nperms; k++) {
			if (k == 0 && v->perms[0].domid == domid)
				np[nn++] = (struct st_perm){.domid = 0, .perms = v->perms[0].perms};
			else if (k == 0 || v->perms[k].domid != domid)
				np[nn++] = v->perms[k];
		}
		{
			struct st_ver *nv =
			    st_ver_new(np, nn, v->value, v->vlen, v->children, v->clen);

			if (nv)
				(void)st_global_put(s, fix.v[i], nv);
		}
		free(np);
	}
	pl_free(&fix);
	d->introduced = false;
	d->target = ST_NO_TARGET;
	for (size_t i = 0; i < 256; i++)
		for (struct st_dom *o = s->doms[i]; o; o = o->next)
			if (o->target == domid)
				o->target = ST_NO_TARGET;
	s->dirty = true;
	st_log(s, LOG_INFO, "domain %u released", domid);
	fire_special(s, "@releaseDomain");
	return 0;
}

static int onearg_domain(struct req *r, struct st_dom **out)
{
	const char *a = onearg(r);
	unsigned domid;

	if (!a)
		return -EINVAL;
	domid = parse_domid(a);
	if (domid == 0)
		return -EINVAL;
	*out = st_dom_get(r->s, domid, false);
	if (!*out || !(*out)->introduced)
		return -ENOENT;
	return 0;
}

static int do_release(struct req *r)
{
	struct st_dom *d;
	int err = onearg_domain(r, &d);

	if (!err)
		err = st_release(r->s, d->domid);
	if (err)
		return err;
	if (!r->c->dead)
		st_reply(r->c, r->h, SDRV_XS_RELEASE, "OK", 3);
	return 0;
}

static int do_resume(struct req *r)
{
	struct st_dom *d;
	int err = onearg_domain(r, &d);

	if (err)
		return err;
	st_reply(r->c, r->h, SDRV_XS_RESUME, "OK", 3);
	return 0;
}

static int do_set_target(struct req *r)
{
	const char *vec[2];
	struct st_dom *d, *t;

	if (get_strings(r, vec, 2) < 2)
		return -EINVAL;
	d = st_dom_get(r->s, parse_domid(vec[0]), false);
	t = st_dom_get(r->s, parse_domid(vec[1]), false);
	if (!d || !d->introduced || !t || !t->introduced)
		return -ENOENT;
	d->target = t->domid;
	r->s->dirty = true;
	st_reply(r->c, r->h, SDRV_XS_SET_TARGET, "OK", 3);
	return 0;
}

static int do_get_domain_path(struct req *r)
{
	const char *a = onearg(r);
	char path[48];

	if (!a)
		return -EINVAL;
	snprintf(path, sizeof(path), "/local/domain/%u", parse_domid(a));
	st_reply(r->c, r->h, SDRV_XS_GET_DOMAIN_PATH, path, strlen(path) + 1);
	return 0;
}

static int do_is_introduced(struct req *r)
{
	const char *a = onearg(r);
	unsigned domid;
	const struct st_dom *d;
	bool yes;

	if (!a)
		return -EINVAL;
	domid = parse_domid(a);
	d = st_dom_get(r->s, domid, false);
	yes = domid == ST_DOMID_SELF || domid == 0 || (d && d->introduced);
	st_reply(r->c, r->h, SDRV_XS_IS_DOMAIN_INTRODUCED, yes ? "T" : "F", 2);
	return 0;
}

void st_conn_drop_state(struct sdrv_store *s, struct st_conn *c)
{
	while (c->watches) {
		struct st_watch *w = c->watches;

		c->watches = w->next;
		watch_free(s, c, w);
	}
	while (c->txns) {
		struct st_txn *t = c->txns;

		c->txns = t->next;
		st_txn_free(s, t);
	}
}

static int do_reset_watches(struct req *r)
{
	st_conn_drop_state(r->s, r->c);
	r->t = NULL;
	st_reply(r->c, r->h, SDRV_XS_RESET_WATCHES, "OK", 3);
	return 0;
}

/* ------------------------------ CONTROL ------------------------------- */

struct sbuf {
	char buf[SDRV_XS_PAYLOAD_MAX + 1];
	size_t len;
	bool over;
};

__attribute__((format(printf, 2, 3))) static void sb_add(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->over)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->buf + b->len, sizeof(b->buf) - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(b->buf) - b->len)
		b->over = true;
	else
		b->len += (size_t)n;
}

static void sb_reply(struct req *r, struct sbuf *b)
{
	if (b->over) {
		st_error(r->c, r->h, E2BIG);
		return;
	}
	st_reply(r->c, r->h, SDRV_XS_CONTROL, b->buf, b->len + 1);
}

static const char *const level_names[] = {"emerg",   "alert",  "crit", "err",
					  "warning", "notice", "info", "debug"};

static int parse_level(const char *s)
{
	char *end;
	long v;

	if (!strcmp(s, "on"))
		return LOG_DEBUG;
	if (!strcmp(s, "off"))
		return LOG_ERR;
	if (!strcmp(s, "error"))
		return LOG_ERR;
	for (int i = 0; i < 8; i++)
		if (!strcmp(s, level_names[i]))
			return i;
	v = strtol(s, &end, 10);
	if (*s && !*end && v >= 0 && v <= 7)
		return (int)v;
	return -1;
}

static int quota_set(struct req *r, const char *name, const char *val)
{
	char *end;
	unsigned long v;
	int idx = st_quota_index(name);

	if (idx < 0)
		return -EINVAL;
	errno = 0;
	v = strtoul(val, &end, 10);
	if (errno || !*val || *end || v < 1 || v > UINT32_MAX)
		return -EINVAL;
	if (sdrv_store_set_quota(r->s, st_quota_defs[idx].name, (uint32_t)v) < 0)
		return -EINVAL;
	st_log(r->s, LOG_NOTICE, "quota %s set to %lu", st_quota_defs[idx].name, v);
	st_reply(r->c, r->h, SDRV_XS_CONTROL, "OK", 3);
	return 0;
}

static int do_control(struct req *r)
{
	static const char *const help = "check           \n"
					"help            \n"
					"log             [<level>|on|off]\n"
					"print           <string>\n"
					"quota           [set <name> <val>|<domid>]\n"
					"quota-set       <name> <val>\n";
	const char *vec[8];
	unsigned num = count_strings(r->p, r->len);
	struct sbuf *b;
	int err = 0;

	if (!num)
		return -EINVAL;
	if (num > 8)
		num = 8;
	get_strings(r, vec, num);
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	if (!strcmp(vec[0], "help")) {
		if (num != 1) {
			err = -EINVAL;
		} else {
			sb_add(b, "%s", help);
			sb_reply(r, b);
		}
	} else if (!strcmp(vec[0], "print")) {
		if (num != 2) {
			err = -EINVAL;
		} else {
			st_log(r->s, LOG_NOTICE, "control: %s", vec[1]);
			st_reply(r->c, r->h, SDRV_XS_CONTROL, "OK", 3);
		}
	} else if (!strcmp(vec[0], "check")) {
		if (num != 1) {
			err = -EINVAL;
		} else {
			unsigned fixes = st_check(r->s);

			st_log(r->s, LOG_INFO, "check: %u fixes", fixes);
			st_reply(r->c, r->h, SDRV_XS_CONTROL, "OK", 3);
		}
	} else if (!strcmp(vec[0], "log")) {
		if (num == 1) {
			int l = r->s->log_level;

			sb_add(b, "Log level: %s\n", level_names[l < 0 ? 0 : l > 7 ? 7 : l]);
			sb_reply(r, b);
		} else if (num == 2 && parse_level(vec[1]) >= 0) {
			sdrv_store_set_log_level(r->s, parse_level(vec[1]));
			st_reply(r->c, r->h, SDRV_XS_CONTROL, "OK", 3);
		} else {
			err = -EINVAL;
		}
	} else if (!strcmp(vec[0], "quota-set")) {
		err = num == 3 ? quota_set(r, vec[1], vec[2]) : -EINVAL;
	} else if (!strcmp(vec[0], "quota")) {
		if (num == 1) {
			sb_add(b, "Quota settings:\n");
			for (int i = 0; i < Q_COUNT; i++)
				sb_add(b, "%-17s: %8u %s\n", st_quota_defs[i].name, r->s->q[i],
				       st_quota_defs[i].descr);
			sb_reply(r, b);
		} else if (!strcmp(vec[1], "set")) {
			err = num == 4 ? quota_set(r, vec[2], vec[3]) : -EINVAL;
		} else if (num == 2) {
			const struct st_dom *d = st_dom_get(r->s, parse_domid(vec[1]), false);

			if (!d) {
				err = -ENOENT;
			} else {
				sb_add(b, "Domain %u:\n", d->domid);
				sb_add(b, "%-17s: %8u (max %8u)\n", "nodes", d->nodes,
				       r->s->q[Q_NODES]);
				sb_add(b, "%-17s: %8u (max %8u)\n", "watches", d->watches,
				       r->s->q[Q_WATCHES]);
				sb_add(b, "%-17s: %8u (max %8u)\n", "transactions", d->txns,
				       r->s->q[Q_TRANSACTIONS]);
				sb_add(b, "%-17s: %8llu (max %8u)\n", "memory",
				       (unsigned long long)(d->mem + d->wmem + d->emem),
				       r->s->q[Q_MEMORY]);
				sb_add(b, "%-17s: %8u\n", "connections", d->conns);
				sb_reply(r, b);
			}
		} else {
			err = -EINVAL;
		}
	} else {
		err = -EINVAL;
	}
	free(b);
	return err;
}

/* ------------------------------ dispatch ------------------------------ */

#define F_NOTID 1u /* ignores the transaction id */
#define F_PRIV	2u /* privileged domain only */

static const struct {
	int (*fn)(struct req *r);
	unsigned flags;
} handlers[SDRV_XS_TYPE_COUNT] = {
    [SDRV_XS_CONTROL] = {do_control, F_PRIV},
    [SDRV_XS_DIRECTORY] = {do_directory, 0},
    [SDRV_XS_READ] = {do_read, 0},
    [SDRV_XS_GET_PERMS] = {do_get_perms, 0},
    [SDRV_XS_WATCH] = {do_watch, F_NOTID},
    [SDRV_XS_UNWATCH] = {do_unwatch, F_NOTID},
    [SDRV_XS_TRANSACTION_START] = {do_tx_start, 0},
    [SDRV_XS_TRANSACTION_END] = {do_tx_end, 0},
    [SDRV_XS_INTRODUCE] = {do_introduce, F_PRIV},
    [SDRV_XS_RELEASE] = {do_release, F_PRIV},
    [SDRV_XS_GET_DOMAIN_PATH] = {do_get_domain_path, 0},
    [SDRV_XS_WRITE] = {do_write, 0},
    [SDRV_XS_MKDIR] = {do_mkdir, 0},
    [SDRV_XS_RM] = {do_rm, 0},
    [SDRV_XS_SET_PERMS] = {do_set_perms, 0},
    [SDRV_XS_IS_DOMAIN_INTRODUCED] = {do_is_introduced, F_PRIV},
    [SDRV_XS_RESUME] = {do_resume, F_PRIV},
    [SDRV_XS_SET_TARGET] = {do_set_target, F_PRIV},
    [SDRV_XS_RESET_WATCHES] = {do_reset_watches, 0},
    [SDRV_XS_DIRECTORY_PART] = {do_directory_part, 0},
};

void st_handle(struct sdrv_store *s, struct st_conn *c, const struct sdrv_xs_msg *h,
	       const char *payload)
{
	struct req r = {.s = s,
			.c = c,
			.h = h,
			.p = payload,
			.len = h->len,
			.domid = c->domid,
			.unpriv = !c->priv};
	int err;

	s->st.requests++;
	if (h->type >= SDRV_XS_TYPE_COUNT || !handlers[h->type].fn) {
		st_conn_warn(c, "unknown request type %u", h->type);
		st_error(c, h, ENOSYS);
		return;
	}
	if ((handlers[h->type].flags & F_PRIV) && r.unpriv) {
		st_error(c, h, EACCES);
		return;
	}
	if (!(handlers[h->type].flags & F_NOTID) && h->tx_id) {
		for (r.t = c->txns; r.t && r.t->id != h->tx_id; r.t = r.t->next)
			;
		if (!r.t) {
			st_error(c, h, ENOENT);
			return;
		}
	}
	err = handlers[h->type].fn(&r);
	flush_events(&r);
	if (err)
		st_error(c, h, -err);
}
