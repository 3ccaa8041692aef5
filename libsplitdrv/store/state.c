/* SPDX-License-Identifier: MIT */
/*
 * The store's state file (format: doc/store.md, "The state file").
 *
 * Written whole and atomically: a temporary file next to it, fsync, rename
 * over the old one, fsync of the directory. Read back strictly: any
 * inconsistency (bad magic, lengths, paths, permissions, order, checksum,
 * trailing bytes) makes the file corrupt (EBADMSG) and the store refuses
 * to start on it rather than serving half a tree.
 */
#define _GNU_SOURCE
#include "store-int.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

static const unsigned char MAGIC[8] = {'S', 'D', 'R', 'V', 'X', 'S', 'T', '1'};
#define STATE_VERSION 1u
#define MAX_PERMS     1024u
#define MAX_FILE      (1u << 30)

struct buf {
	unsigned char *p;
	size_t len, cap;
	bool fail;
};

static void put(struct buf *b, const void *d, size_t n)
{
	if (b->fail)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		unsigned char *np;

		while (cap < b->len + n)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np) {
			b->fail = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

static void put32(struct buf *b, uint32_t v)
{
	unsigned char x[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
			      (unsigned char)(v >> 24)};

	put(b, x, 4);
}

static void put64(struct buf *b, uint64_t v)
{
	put32(b, (uint32_t)v);
	put32(b, (uint32_t)(v >> 32));
}

static uint64_t fnv64(const unsigned char *p, size_t n)
{
	uint64_t h = 14695981039346656037ull;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 1099511628211ull;
	}
	return h;
}

static void put_node(struct buf *b, const char *path, const struct st_ver *v)
{
	put32(b, (uint32_t)strlen(path));
	put32(b, v->vlen);
	put32(b, v->nperms);
	put(b, path, strlen(path));
	put(b, v->value, v->vlen);
	for (uint32_t i = 0; i < v->nperms; i++) {
		put32(b, v->perms[i].domid);
		put32(b, v->perms[i].perms);
	}
}

/* Pre-order walk of the current tree: parents before children, children
 * in their listing order (the loader relies on both). */
static int serialize_tree(struct sdrv_store *s, struct buf *b, uint32_t *count)
{
	struct frame {
		char path[ST_PATH_BUF];
		const struct st_ver *v;
		uint32_t off;
	} * stack;
	size_t depth = 0, cap = 64;

	stack = malloc(cap * sizeof(*stack));
	if (!stack)
		return -ENOMEM;
	strcpy(stack[0].path, "/");
	stack[0].v = st_global(s, "/");
	stack[0].off = 0;
	if (!stack[0].v) {
		free(stack);
		return -EIO;
	}
	put_node(b, "/", stack[0].v);
	(*count)++;
	depth = 1;
	while (depth) {
		struct frame *f = &stack[depth - 1];
		const char *name;
		const struct st_ver *cv;
		char cp[ST_PATH_BUF];

		if (f->off >= f->v->clen) {
			depth--;
			continue;
		}
		name = f->v->children + f->off;
		f->off += (uint32_t)strlen(name) + 1;
		if (snprintf(cp, sizeof(cp), "%s/%s", strcmp(f->path, "/") ? f->path : "", name) >=
		    (int)sizeof(cp))
			continue;
		cv = st_global(s, cp);
		if (!cv)
			continue;
		put_node(b, cp, cv);
		(*count)++;
		if (depth == cap) {
			struct frame *ns = realloc(stack, 2 * cap * sizeof(*ns));

			if (!ns) {
				free(stack);
				return -ENOMEM;
			}
			stack = ns;
			cap *= 2;
		}
		strcpy(stack[depth].path, cp);
		stack[depth].v = cv;
		stack[depth].off = 0;
		depth++;
	}
	free(stack);
	return 0;
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int st_state_save(struct sdrv_store *s)
{
	static const char *const specials[] = {"@introduceDomain", "@releaseDomain"};
	struct buf b = {0};
	uint32_t ndoms = 0, nnodes = 0;
	size_t count_at, nodes_at;
	char *tmp = NULL, *dircopy = NULL;
	int fd = -1, err;

	put(&b, MAGIC, sizeof(MAGIC));
	put32(&b, STATE_VERSION);
	put32(&b, 0);
	put64(&b, s->gen);
	count_at = b.len;
	put32(&b, 0);
	for (size_t i = 0; i < 256; i++) {
		for (struct st_dom *d = s->doms[i]; d; d = d->next) {
			if (!d->introduced && d->target == ST_NO_TARGET)
				continue;
			put32(&b, d->domid);
			put32(&b, d->introduced ? 1u : 0u);
			put32(&b, d->target);
			ndoms++;
		}
	}
	nodes_at = b.len;
	put32(&b, 0);
	err = serialize_tree(s, &b, &nnodes);
	for (size_t i = 0; !err && i < 2; i++) {
		const struct st_ver *v = st_global(s, specials[i]);

		if (v) {
			put_node(&b, specials[i], v);
			nnodes++;
		}
	}
	if (!err && b.fail)
		err = -ENOMEM;
	if (err)
		goto out;
	b.p[count_at] = (unsigned char)ndoms;
	b.p[count_at + 1] = (unsigned char)(ndoms >> 8);
	b.p[count_at + 2] = (unsigned char)(ndoms >> 16);
	b.p[count_at + 3] = (unsigned char)(ndoms >> 24);
	b.p[nodes_at] = (unsigned char)nnodes;
	b.p[nodes_at + 1] = (unsigned char)(nnodes >> 8);
	b.p[nodes_at + 2] = (unsigned char)(nnodes >> 16);
	b.p[nodes_at + 3] = (unsigned char)(nnodes >> 24);
	put64(&b, fnv64(b.p, b.len));
	if (b.fail) {
		err = -ENOMEM;
		goto out;
	}
	if (asprintf(&tmp, "%s.tmp", s->state_file) < 0) {
		tmp = NULL;
		err = -ENOMEM;
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	err = write_all(fd, b.p, b.len);
	if (!err && fsync(fd) != 0)
		err = -errno;
	if (close(fd) != 0 && !err)
		err = -errno;
	fd = -1;
	if (!err && rename(tmp, s->state_file) != 0)
		err = -errno;
	if (err) {
		unlink(tmp);
		goto out;
	}
	dircopy = strdup(s->state_file);
	if (dircopy) {
		int dfd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dfd >= 0) {
			(void)fsync(dfd);
			close(dfd);
		}
	}
	s->st.state_writes++;
out:
	if (err)
		st_log(s, LOG_ERR, "cannot write the state file %s: %s", s->state_file,
		       strerror(-err));
	free(dircopy);
	free(tmp);
	free(b.p);
	return err;
}

/* ------------------------------ loading ------------------------------- */

struct rd {
	const unsigned char *p;
	size_t len, off;
	bool bad;
};

static uint32_t get32(struct rd *r)
{
	uint32_t v;

	if (r->bad || r->len - r->off < 4) {
		r->bad = true;
		return 0;
	}
	v = (uint32_t)r->p[r->off] | (uint32_t)r->p[r->off + 1] << 8 |
	    (uint32_t)r->p[r->off + 2] << 16 | (uint32_t)r->p[r->off + 3] << 24;
	r->off += 4;
	return v;
}

static uint64_t get64(struct rd *r)
{
	uint64_t lo = get32(r);

	return lo | (uint64_t)get32(r) << 32;
}

static const unsigned char *getn(struct rd *r, size_t n)
{
	const unsigned char *p;

	if (r->bad || r->len - r->off < n) {
		r->bad = true;
		return NULL;
	}
	p = r->p + r->off;
	r->off += n;
	return p;
}

struct rec {
	char *path;
	const unsigned char *value;
	uint32_t vlen, nperms;
	struct st_perm *perms;
	size_t parent; /* index, or SIZE_MAX */
	uint32_t clen, cfill;
	char *children;
};

static bool valid_path(const char *p, size_t n)
{
	static const char ok[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-/_@";

	if (!n || n > SDRV_XS_ABS_PATH_MAX || strspn(p, ok) != n)
		return false;
	if (p[0] == '@')
		return !strcmp(p, "@introduceDomain") || !strcmp(p, "@releaseDomain");
	if (p[0] != '/' || strstr(p, "//"))
		return false;
	return n == 1 || p[n - 1] != '/';
}

/* Is `parent` the parent of `child` (both valid absolute paths)? */
static bool parent_of(const char *parent, const char *child)
{
	size_t pl = strlen(parent);
	const char *rest;

	if (!strcmp(parent, "/"))
		rest = child + 1;
	else if (!strncmp(child, parent, pl) && child[pl] == '/')
		rest = child + pl + 1;
	else
		return false;
	return *rest && !strchr(rest, '/');
}

static int parse(struct sdrv_store *s, struct rd *r, const char **why)
{
	struct rec *recs = NULL;
	size_t *stack = NULL, depth = 0;
	uint32_t ndoms, nnodes;
	uint64_t gen;
	int err = -EBADMSG;
	size_t i = 0;

	*why = "truncated";
	if (r->len < sizeof(MAGIC) + 8 || memcmp(r->p, MAGIC, sizeof(MAGIC))) {
		*why = "not a store state file (bad magic)";
		return -EBADMSG;
	}
	{
		uint64_t stored = 0;

		for (int k = 7; k >= 0; k--)
			stored = stored << 8 | r->p[r->len - 8 + (size_t)k];
		if (fnv64(r->p, r->len - 8) != stored) {
			*why = "checksum mismatch";
			return -EBADMSG;
		}
	}
	r->len -= 8;
	r->off = sizeof(MAGIC);
	if (get32(r) != STATE_VERSION) {
		*why = "unknown version";
		return -EBADMSG;
	}
	(void)get32(r); /* flags */
	gen = get64(r);
	ndoms = get32(r);
	if (r->bad || ndoms > ST_DOMID_FIRST_RESERVED) {
		*why = "bad domain count";
		return -EBADMSG;
	}
	for (uint32_t k = 0; k < ndoms; k++) {
		uint32_t domid = get32(r), flags = get32(r), target = get32(r);
		struct st_dom *d;

		if (r->bad || domid == 0 || domid >= ST_DOMID_FIRST_RESERVED || flags > 1 ||
		    (target != ST_NO_TARGET && target >= ST_DOMID_FIRST_RESERVED)) {
			*why = "bad domain record";
			return -EBADMSG;
		}
		d = st_dom_get(s, domid, true);
		if (!d)
			return -ENOMEM;
		d->introduced = flags & 1u;
		d->target = target;
	}
	nnodes = get32(r);
	if (r->bad || nnodes == 0 || nnodes > r->len / 12) {
		*why = "bad node count";
		return -EBADMSG;
	}
	recs = calloc(nnodes, sizeof(*recs));
	stack = calloc(nnodes, sizeof(*stack));
	if (!recs || !stack) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < nnodes; i++) {
		struct rec *rc = &recs[i];
		uint32_t plen = get32(r), vlen = get32(r), np = get32(r);
		const unsigned char *pp = getn(r, plen);

		*why = "bad node record";
		if (r->bad || plen == 0 || plen > SDRV_XS_ABS_PATH_MAX ||
		    vlen > SDRV_XS_PAYLOAD_MAX || np == 0 || np > MAX_PERMS)
			goto out;
		rc->path = strndup((const char *)pp, plen);
		if (!rc->path) {
			err = -ENOMEM;
			goto out;
		}
		if (strlen(rc->path) != plen || !valid_path(rc->path, plen)) {
			*why = "bad node path";
			goto out;
		}
		rc->value = getn(r, vlen);
		rc->vlen = vlen;
		rc->nperms = np;
		rc->perms = calloc(np, sizeof(*rc->perms));
		if (!rc->perms) {
			err = -ENOMEM;
			goto out;
		}
		for (uint32_t k = 0; k < np; k++) {
			rc->perms[k].domid = get32(r);
			rc->perms[k].perms = get32(r);
			if (rc->perms[k].domid > ST_DOMID_MAX || rc->perms[k].perms > 3u) {
				*why = "bad permissions";
				goto out;
			}
		}
		if (r->bad)
			goto out;
		rc->parent = SIZE_MAX;
		*why = "nodes out of order (a parent must come first)";
		if (i == 0) {
			if (strcmp(rc->path, "/"))
				goto out;
			stack[depth++] = 0;
			continue;
		}
		if (rc->path[0] == '@') {
			depth = 0; /* the tree is over */
			continue;
		}
		while (depth && !parent_of(recs[stack[depth - 1]].path, rc->path))
			depth--;
		if (!depth)
			goto out;
		rc->parent = stack[depth - 1];
		{
			size_t nl = strlen(st_basename(rc->path)) + 1;

			if (recs[rc->parent].clen + nl > UINT32_MAX / 2)
				goto out;
			recs[rc->parent].clen += (uint32_t)nl;
		}
		stack[depth++] = i;
	}
	if (r->off != r->len) {
		*why = "trailing bytes";
		goto out;
	}
	/* The children lists, in file order. */
	for (i = 0; i < nnodes; i++) {
		recs[i].children = malloc(recs[i].clen + 1);
		if (!recs[i].children) {
			err = -ENOMEM;
			goto out;
		}
	}
	for (i = 1; i < nnodes; i++) {
		struct rec *p;
		const char *base = st_basename(recs[i].path);
		size_t nl = strlen(base) + 1;

		if (recs[i].parent == SIZE_MAX)
			continue;
		p = &recs[recs[i].parent];
		memcpy(p->children + p->cfill, base, nl);
		p->cfill += (uint32_t)nl;
	}
	*why = "duplicate node";
	for (i = 0; i < nnodes; i++) {
		struct st_ver *v;

		if (st_global(s, recs[i].path))
			goto out;
		v = st_ver_new(recs[i].perms, recs[i].nperms, (const char *)recs[i].value,
			       recs[i].vlen, recs[i].children, recs[i].clen);
		if (!v || st_global_put(s, recs[i].path, v) < 0) {
			err = -ENOMEM;
			goto out;
		}
	}
	if (!st_global(s, "@introduceDomain") || !st_global(s, "@releaseDomain")) {
		*why = "special nodes missing";
		goto out;
	}
	if (gen > s->gen)
		s->gen = gen;
	err = 0;
out:
	for (size_t k = 0; recs && k < nnodes; k++) {
		free(recs[k].path);
		free(recs[k].perms);
		free(recs[k].children);
	}
	free(recs);
	free(stack);
	return err;
}

int st_state_load(struct sdrv_store *s)
{
	struct stat st;
	unsigned char *data;
	struct rd r = {0};
	const char *why = "";
	int fd = open(s->state_file, O_RDONLY | O_CLOEXEC), err = 0;
	size_t got = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > MAX_FILE) {
		close(fd);
		st_log(s, LOG_ERR, "state file %s: not a regular file of at most %u bytes",
		       s->state_file, MAX_FILE);
		return -EBADMSG;
	}
	data = malloc((size_t)st.st_size + 1);
	if (!data) {
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, data + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EBADMSG;
			break;
		}
		got += (size_t)n;
	}
	close(fd);
	if (!err) {
		r.p = data;
		r.len = got;
		err = parse(s, &r, &why);
	}
	if (err) {
		st_log(s, LOG_ERR, "state file %s: %s", s->state_file,
		       err == -EBADMSG ? why : strerror(-err));
		/* Whatever was loaded goes: the caller fails or starts afresh. */
		st_table_free(s);
		st_doms_free(s);
		s->nr_nodes = 0;
		(void)st_table_init(s);
		(void)st_dom_get(s, 0, true);
	} else {
		st_log(s, LOG_INFO, "loaded %llu nodes from %s", (unsigned long long)s->nr_nodes,
		       s->state_file);
	}
	free(data);
	return err;
}
