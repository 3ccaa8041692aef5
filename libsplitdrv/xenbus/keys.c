/* SPDX-License-Identifier: MIT */
/*
 * Paths and keys of a xenbus device: building and checking the two
 * directories, strict typed readers and writers, ring references and queue
 * directories, and the toolstack's create/shutdown/remove. Every value read
 * here comes from a peer or a toolstack and is parsed strictly.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <splitdrv/xenbus.h>
#include <splitdrv/xs.h>

/* The first domain id Xen reserves (DOMID_FIRST_RESERVED). */
#define DOMID_RESERVED 0x7FF0u

SDRV_API bool sdrv_xenbus_type_valid(const char *type)
{
	size_t n;

	if (!type)
		return false;
	n = strnlen(type, SDRV_XENBUS_TYPE_MAX + 1);
	if (n == 0 || n > SDRV_XENBUS_TYPE_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = type[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

static int fmt_result(int n, size_t size)
{
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= size)
		return -ENAMETOOLONG;
	return n;
}

SDRV_API int sdrv_xenbus_front_path(char *buf, size_t size, sdrv_domid_t fe, const char *type,
				    uint32_t id)
{
	if (!buf || !sdrv_xenbus_type_valid(type))
		return -EINVAL;
	return fmt_result(snprintf(buf, size, SDRV_XENBUS_DOMAIN_ROOT "/%u/device/%s/%u",
				   (unsigned int)fe, type, id),
			  size);
}

SDRV_API int sdrv_xenbus_back_path(char *buf, size_t size, sdrv_domid_t be, const char *type,
				   sdrv_domid_t fe, uint32_t id)
{
	if (!buf || !sdrv_xenbus_type_valid(type))
		return -EINVAL;
	return fmt_result(snprintf(buf, size, SDRV_XENBUS_DOMAIN_ROOT "/%u/backend/%s/%u/%u",
				   (unsigned int)be, type, (unsigned int)fe, id),
			  size);
}

/* `path` = `prefix` + <type> + `suffix`, with <type> a valid type. */
static int check_shape(const char *path, const char *prefix, const char *suffix)
{
	size_t pl = strlen(prefix), sl = strlen(suffix), len, tl;
	char type[SDRV_XENBUS_TYPE_MAX + 1];

	if (!path)
		return -EINVAL;
	len = strnlen(path, SDRV_XENBUS_PATH_MAX);
	if (len >= SDRV_XENBUS_PATH_MAX || len < pl + sl + 1)
		return -EINVAL;
	if (memcmp(path, prefix, pl) != 0 || memcmp(path + len - sl, suffix, sl) != 0)
		return -EINVAL;
	tl = len - pl - sl;
	if (tl > SDRV_XENBUS_TYPE_MAX)
		return -EINVAL;
	memcpy(type, path + pl, tl);
	type[tl] = 0;
	return sdrv_xenbus_type_valid(type) ? 0 : -EINVAL;
}

SDRV_API int sdrv_xenbus_check_back_path(const char *path, sdrv_domid_t be, sdrv_domid_t fe,
					 uint32_t id)
{
	char prefix[64], suffix[32];

	snprintf(prefix, sizeof(prefix), SDRV_XENBUS_DOMAIN_ROOT "/%u/backend/", (unsigned int)be);
	snprintf(suffix, sizeof(suffix), "/%u/%u", (unsigned int)fe, id);
	return check_shape(path, prefix, suffix);
}

SDRV_API int sdrv_xenbus_check_front_path(const char *path, sdrv_domid_t fe, uint32_t id)
{
	char prefix[64], suffix[32];

	snprintf(prefix, sizeof(prefix), SDRV_XENBUS_DOMAIN_ROOT "/%u/device/", (unsigned int)fe);
	snprintf(suffix, sizeof(suffix), "/%u", id);
	return check_shape(path, prefix, suffix);
}

/* <dir>/<key> into buf. */
static int key_path(char *buf, size_t size, const char *dir, const char *key)
{
	if (!dir || !key || !*key)
		return -EINVAL;
	return fmt_result(snprintf(buf, size, "%s/%s", dir, key), size);
}

SDRV_API int sdrv_xenbus_read_uint(struct sdrv_xs *xs, uint32_t tx, const char *dir,
				   const char *key, uint64_t max, uint64_t dflt, uint64_t *out)
{
	char path[SDRV_XS_ABS_PATH_MAX + 1];
	int rc = key_path(path, sizeof(path), dir, key);

	if (rc < 0)
		return rc;
	if (!out)
		return -EINVAL;
	rc = sdrv_xs_read_uint(xs, tx, path, max, out);
	if (rc == -ENOENT)
		*out = dflt;
	return rc;
}

SDRV_API int sdrv_xenbus_read_bool(struct sdrv_xs *xs, uint32_t tx, const char *dir,
				   const char *key, bool dflt, bool *out)
{
	uint64_t v;
	int rc;

	if (!out)
		return -EINVAL;
	rc = sdrv_xenbus_read_uint(xs, tx, dir, key, UINT32_MAX, dflt, &v);
	if (rc == -ENOENT) {
		*out = dflt;
		return 0;
	}
	if (rc < 0)
		return rc;
	*out = v != 0;
	return 0;
}

SDRV_API int sdrv_xenbus_read_str(struct sdrv_xs *xs, uint32_t tx, const char *dir, const char *key,
				  size_t max_len, char **out)
{
	char path[SDRV_XS_ABS_PATH_MAX + 1];
	char *v;
	size_t len;
	int rc = key_path(path, sizeof(path), dir, key);

	if (rc < 0)
		return rc;
	if (!out)
		return -EINVAL;
	rc = sdrv_xs_read(xs, tx, path, &v, &len);
	if (rc < 0)
		return rc;
	if (len > max_len) {
		free(v);
		return -E2BIG;
	}
	if (memchr(v, 0, len)) {
		free(v);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

SDRV_API int sdrv_xenbus_write_uint(struct sdrv_xs *xs, uint32_t tx, const char *dir,
				    const char *key, uint64_t value)
{
	char path[SDRV_XS_ABS_PATH_MAX + 1];
	int rc = key_path(path, sizeof(path), dir, key);

	if (rc < 0)
		return rc;
	return sdrv_xs_printf(xs, tx, path, "%llu", (unsigned long long)value);
}

SDRV_API int sdrv_xenbus_write_bool(struct sdrv_xs *xs, uint32_t tx, const char *dir,
				    const char *key, bool value)
{
	return sdrv_xenbus_write_str(xs, tx, dir, key, value ? "1" : "0");
}

SDRV_API int sdrv_xenbus_write_str(struct sdrv_xs *xs, uint32_t tx, const char *dir,
				   const char *key, const char *value)
{
	char path[SDRV_XS_ABS_PATH_MAX + 1];
	int rc = key_path(path, sizeof(path), dir, key);

	if (rc < 0)
		return rc;
	return sdrv_xs_write_str(xs, tx, path, value);
}

/* The key of reference i: `name` for a one-page ring, `name<i>` otherwise. */
static int ref_key(char *buf, size_t size, const char *name, unsigned int order, unsigned int i)
{
	if (!name || !*name)
		return -EINVAL;
	if (order == 0)
		return fmt_result(snprintf(buf, size, "%s", name), size);
	return fmt_result(snprintf(buf, size, "%s%u", name, i), size);
}

SDRV_API int sdrv_xenbus_write_ring_refs(struct sdrv_xs *xs, uint32_t tx, const char *dir,
					 const char *name, const sdrv_grant_ref_t *refs,
					 unsigned int order)
{
	if (!refs || order > SDRV_XENBUS_MAX_RING_PAGE_ORDER)
		return -EINVAL;
	for (unsigned int i = 0; i < (1u << order); i++) {
		char key[64];
		int rc = ref_key(key, sizeof(key), name, order, i);
		if (rc < 0)
			return rc;
		rc = sdrv_xenbus_write_uint(xs, tx, dir, key, refs[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

SDRV_API int sdrv_xenbus_read_ring_refs(struct sdrv_xs *xs, uint32_t tx, const char *dir,
					const char *name, unsigned int order,
					sdrv_grant_ref_t *refs)
{
	if (!refs || order > SDRV_XENBUS_MAX_RING_PAGE_ORDER)
		return -EINVAL;
	for (unsigned int i = 0; i < (1u << order); i++) {
		char key[64];
		uint64_t v;
		int rc = ref_key(key, sizeof(key), name, order, i);
		if (rc < 0)
			return rc;
		rc = sdrv_xenbus_read_uint(xs, tx, dir, key, UINT32_MAX, 0, &v);
		if (rc == -ERANGE)
			return -EINVAL;
		if (rc < 0)
			return rc;
		refs[i] = (sdrv_grant_ref_t)v;
	}
	return 0;
}

SDRV_API int sdrv_xenbus_read_ring_order(struct sdrv_xs *xs, uint32_t tx, const char *dir,
					 unsigned int max_order, unsigned int *order)
{
	uint64_t v;
	int rc;

	if (!order || max_order > SDRV_XENBUS_MAX_RING_PAGE_ORDER)
		return -EINVAL;
	rc = sdrv_xenbus_read_uint(xs, tx, dir, SDRV_XENBUS_KEY_RING_PAGE_ORDER, UINT32_MAX, 0, &v);
	if (rc == 0) {
		if (v > max_order)
			return -ERANGE;
		*order = (unsigned int)v;
		return 0;
	}
	if (rc != -ENOENT)
		return rc;
	rc = sdrv_xenbus_read_uint(xs, tx, dir, SDRV_XENBUS_KEY_NUM_RING_PAGES, UINT32_MAX, 1, &v);
	if (rc == -ENOENT) {
		*order = 0;
		return 0;
	}
	if (rc < 0)
		return rc;
	if (v == 0 || (v & (v - 1)) != 0)
		return -EINVAL;
	if (v > (1u << max_order))
		return -ERANGE;
	*order = 0;
	while ((1ull << *order) < v)
		(*order)++;
	return 0;
}

SDRV_API int sdrv_xenbus_read_num_queues(struct sdrv_xs *xs, uint32_t tx, const char *dir,
					 unsigned int max, unsigned int *nr)
{
	uint64_t v;
	int rc;

	if (!nr || max == 0 || max > SDRV_XENBUS_MAX_QUEUES)
		return -EINVAL;
	rc = sdrv_xenbus_read_uint(xs, tx, dir, SDRV_XENBUS_KEY_NUM_QUEUES, UINT32_MAX, 1, &v);
	if (rc == -ENOENT) {
		*nr = 1;
		return 0;
	}
	if (rc < 0)
		return rc;
	if (v == 0 || v > max)
		return -ERANGE;
	*nr = (unsigned int)v;
	return 0;
}

SDRV_API int sdrv_xenbus_queue_dir(char *buf, size_t size, const char *dir, unsigned int nr_queues,
				   unsigned int q)
{
	if (!buf || !dir || q >= nr_queues)
		return -EINVAL;
	if (nr_queues == 1)
		return fmt_result(snprintf(buf, size, "%s", dir), size);
	return fmt_result(snprintf(buf, size, "%s/queue-%u", dir, q), size);
}

SDRV_API int sdrv_xenbus_read_evtchn(struct sdrv_xs *xs, uint32_t tx, const char *dir,
				     const char *name, uint32_t *port)
{
	uint64_t v;
	int rc;

	if (!port)
		return -EINVAL;
	rc = sdrv_xenbus_read_uint(xs, tx, dir, name, SDRV_XENBUS_MAX_PORT, 0, &v);
	if (rc < 0)
		return rc;
	*port = (uint32_t)v;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Toolstack */

struct dev_paths {
	const struct sdrv_xenbus_dev *dev;
	char front[SDRV_XENBUS_PATH_MAX];
	char back[SDRV_XENBUS_PATH_MAX];
};

static int dev_paths(const struct sdrv_xenbus_dev *dev, struct dev_paths *p)
{
	const char *bt;
	int rc;

	if (!dev || dev->sz < sizeof(size_t))
		return -EINVAL;
	if (dev->sz < offsetof(struct sdrv_xenbus_dev, id) + sizeof(dev->id))
		return -EINVAL;
	if (dev->fe >= DOMID_RESERVED || dev->be >= DOMID_RESERVED)
		return -EINVAL;
	bt = dev->back_type ? dev->back_type : dev->type;
	p->dev = dev;
	rc = sdrv_xenbus_front_path(p->front, sizeof(p->front), dev->fe, dev->type, dev->id);
	if (rc < 0)
		return rc;
	rc = sdrv_xenbus_back_path(p->back, sizeof(p->back), dev->be, bt, dev->fe, dev->id);
	return rc < 0 ? rc : 0;
}

static int absent(struct sdrv_xs *xs, uint32_t tx, const char *path)
{
	char *v;
	int rc = sdrv_xs_read(xs, tx, path, &v, NULL);

	if (rc == 0) {
		free(v);
		return -EEXIST;
	}
	return rc == -ENOENT ? 0 : rc;
}

static int create_tx(struct sdrv_xs *xs, uint32_t tx, void *ctx)
{
	const struct dev_paths *p = ctx;
	const struct sdrv_xenbus_dev *d = p->dev;
	struct sdrv_xs_perm fperm[2] = {{d->fe, SDRV_XS_PERM_NONE}, {d->be, SDRV_XS_PERM_READ}};
	struct sdrv_xs_perm bperm[2] = {{d->be, SDRV_XS_PERM_NONE}, {d->fe, SDRV_XS_PERM_READ}};
	unsigned int nf = d->fe == d->be ? 1 : 2;
	int rc;

	if ((rc = absent(xs, tx, p->front)) < 0 || (rc = absent(xs, tx, p->back)) < 0)
		return rc;
	/* Directories first with their permissions: the keys inherit them. */
	if ((rc = sdrv_xs_mkdir(xs, tx, p->front)) < 0 ||
	    (rc = sdrv_xs_set_perms(xs, tx, p->front, fperm, nf)) < 0 ||
	    (rc = sdrv_xs_mkdir(xs, tx, p->back)) < 0 ||
	    (rc = sdrv_xs_set_perms(xs, tx, p->back, bperm, nf)) < 0)
		return rc;
	if ((rc = sdrv_xenbus_write_str(xs, tx, p->front, SDRV_XENBUS_KEY_BACKEND, p->back)) < 0 ||
	    (rc = sdrv_xenbus_write_uint(xs, tx, p->front, SDRV_XENBUS_KEY_BACKEND_ID, d->be)) <
		0 ||
	    (rc = sdrv_xenbus_write_uint(xs, tx, p->front, SDRV_XENBUS_KEY_STATE,
					 SDRV_XENBUS_INITIALISING)) < 0)
		return rc;
	if ((rc = sdrv_xenbus_write_str(xs, tx, p->back, SDRV_XENBUS_KEY_FRONTEND, p->front)) < 0 ||
	    (rc = sdrv_xenbus_write_uint(xs, tx, p->back, SDRV_XENBUS_KEY_FRONTEND_ID, d->fe)) <
		0 ||
	    (rc = sdrv_xenbus_write_uint(xs, tx, p->back, SDRV_XENBUS_KEY_ONLINE, 1)) < 0 ||
	    (rc = sdrv_xenbus_write_uint(xs, tx, p->back, SDRV_XENBUS_KEY_STATE,
					 SDRV_XENBUS_INITIALISING)) < 0)
		return rc;
	return 0;
}

SDRV_API int sdrv_xenbus_dev_create(struct sdrv_xs *xs, const struct sdrv_xenbus_dev *dev)
{
	struct dev_paths p;
	int rc = dev_paths(dev, &p);

	if (rc < 0)
		return rc;
	return sdrv_xs_transact(xs, create_tx, &p, 0);
}

static int shutdown_tx(struct sdrv_xs *xs, uint32_t tx, void *ctx)
{
	const struct dev_paths *p = ctx;
	int rc;

	if ((rc = absent(xs, tx, p->back)) == 0)
		return -ENOENT;
	if (rc != -EEXIST)
		return rc;
	if ((rc = sdrv_xenbus_write_uint(xs, tx, p->back, SDRV_XENBUS_KEY_ONLINE, 0)) < 0)
		return rc;
	return sdrv_xenbus_write_uint(xs, tx, p->back, SDRV_XENBUS_KEY_STATE, SDRV_XENBUS_CLOSING);
}

SDRV_API int sdrv_xenbus_dev_shutdown(struct sdrv_xs *xs, const struct sdrv_xenbus_dev *dev)
{
	struct dev_paths p;
	int rc = dev_paths(dev, &p);

	if (rc < 0)
		return rc;
	return sdrv_xs_transact(xs, shutdown_tx, &p, 0);
}

SDRV_API int sdrv_xenbus_dev_remove(struct sdrv_xs *xs, const struct sdrv_xenbus_dev *dev)
{
	struct dev_paths p;
	int rc = dev_paths(dev, &p), rc2;

	if (rc < 0)
		return rc;
	rc = sdrv_xs_rm(xs, SDRV_XS_TX_NONE, p.front);
	rc2 = sdrv_xs_rm(xs, SDRV_XS_TX_NONE, p.back);
	if (rc == -ENOENT)
		rc = 0;
	if (rc2 == -ENOENT)
		rc2 = 0;
	return rc < 0 ? rc : rc2;
}
