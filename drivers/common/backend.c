/* SPDX-License-Identifier: MIT */
/* The parts every backend object has: see backend.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <splitdrv/xenbus.h>

#include "backend.h"

int drv_ports_set(struct drv_ports *pt, uint32_t port, void *v)
{
	if (port >= pt->n) {
		uint32_t n = pt->n ? pt->n : 64;
		void **p;

		if (!v)
			return 0;
		while (n <= port)
			n *= 2;
		p = realloc(pt->v, n * sizeof(*p));
		if (!p)
			return -ENOMEM;
		memset(p + pt->n, 0, (n - pt->n) * sizeof(*p));
		pt->v = p;
		pt->n = n;
	}
	pt->v[port] = v;
	return 0;
}

void drv_ports_free(struct drv_ports *pt)
{
	free(pt->v);
	pt->v = NULL;
	pt->n = 0;
}

int drv_kick_open(struct drv_kick *k)
{
	k->kicked = false;
	k->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return k->fd < 0 ? -errno : 0;
}

void drv_kick(struct drv_kick *k)
{
	uint64_t one = 1;

	if (k->kicked)
		return;
	k->kicked = true;
	(void)!write(k->fd, &one, sizeof(one));
}

void drv_kick_drain(struct drv_kick *k)
{
	uint64_t v;

	if (!k->kicked) /* only the backend writes it: nothing to read otherwise */
		return;
	(void)!read(k->fd, &v, sizeof(v));
	k->kicked = false;
}

void drv_kick_close(struct drv_kick *k)
{
	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
}

void drv_vlog(void (*log)(void *ctx, int level, const char *msg), void *ctx, int level,
	      const char *fmt, va_list ap)
{
	char msg[512];

	if (!log)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	log(ctx, level, msg);
}

int drv_dev_path(const char *dir, const char *path, sdrv_domid_t *fe, uint32_t *id,
		 const char **rest)
{
	size_t n = strlen(dir);
	unsigned long f, i;
	char *end;

	if (strncmp(path, dir, n) != 0 || path[n] != '/')
		return 0;
	f = strtoul(path + n + 1, &end, 10);
	if (*end != '/' || f > 0x7fef)
		return 0;
	i = strtoul(end + 1, &end, 10);
	if ((*end != '/' && *end) || i > UINT32_MAX)
		return 0;
	*fe = (sdrv_domid_t)f;
	*id = (uint32_t)i;
	*rest = end;
	return 1;
}

int drv_scan(struct sdrv_xs *xs, const char *dir,
	     void (*found)(void *ctx, sdrv_domid_t fe, uint32_t id), void *ctx)
{
	char **fes = NULL, **ids = NULL, path[SDRV_XENBUS_PATH_MAX];
	unsigned int nfe = 0, nid = 0;
	int r = sdrv_xs_directory(xs, 0, dir, &fes, &nfe);

	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	for (unsigned int i = 0; i < nfe; i++) {
		uint64_t fe;

		if (sdrv_xs_parse_uint(fes[i], strlen(fes[i]), 0x7fef, &fe) < 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, fes[i]);
		if (sdrv_xs_directory(xs, 0, path, &ids, &nid) < 0)
			continue;
		for (unsigned int j = 0; j < nid; j++) {
			uint64_t id;

			if (sdrv_xs_parse_uint(ids[j], strlen(ids[j]), UINT32_MAX, &id) == 0)
				found(ctx, (sdrv_domid_t)fe, (uint32_t)id);
		}
		free(ids);
		ids = NULL;
	}
	free(fes);
	return 0;
}
