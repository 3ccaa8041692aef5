/* SPDX-License-Identifier: MIT */
/*
 * What every backend object has, shared by blkback and netback (a
 * convenience library linked into each; nothing here is exported): the
 * table from local event-channel port to the queue or interface it
 * serves, the eventfd a backend kicks itself with when it left work for
 * its next round, log formatting, and the scan of its backend directory
 * (`/local/domain/<be>/backend/<type>/<fe>/<id>`).
 */
#ifndef SDRV_DRIVERS_BACKEND_H
#define SDRV_DRIVERS_BACKEND_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include <splitdrv/xs.h>

/* Local port -> what it serves (NULL: nothing). */
struct drv_ports {
	void **v;
	uint32_t n;
};

/* Set (or with v NULL clear) a port's entry; 0 or -ENOMEM. */
int drv_ports_set(struct drv_ports *pt, uint32_t port, void *v);
void drv_ports_free(struct drv_ports *pt);

static inline void *drv_ports_get(const struct drv_ports *pt, uint32_t port)
{
	return port < pt->n ? pt->v[port] : NULL;
}

/* An eventfd written at most once per round. */
struct drv_kick {
	int fd;
	bool kicked;
};

int drv_kick_open(struct drv_kick *k); /* 0 or -errno */
void drv_kick(struct drv_kick *k);
void drv_kick_drain(struct drv_kick *k); /* at the start of a round */
void drv_kick_close(struct drv_kick *k);

/* Format and hand a line to a log sink (NULL: nothing). */
void drv_vlog(void (*log)(void *ctx, int level, const char *msg), void *ctx, int level,
	      const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

/*
 * Whether `path` (from a watch on `dir`) names device <fe>/<id> under it:
 * 1 with *rest what follows ("" for the device's own directory, else
 * "/key..."); 0 for any other path (`dir` itself, a frontend's directory,
 * junk), which only a new scan can explain.
 */
int drv_dev_path(const char *dir, const char *path, sdrv_domid_t *fe, uint32_t *id,
		 const char **rest);

/*
 * List the devices under `dir`: found(ctx, fe, id) for each <fe>/<id> of
 * well-formed numbers. 0 (also when `dir` does not exist), or the error of
 * listing `dir` itself.
 */
int drv_scan(struct sdrv_xs *xs, const char *dir,
	     void (*found)(void *ctx, sdrv_domid_t fe, uint32_t id), void *ctx);

#endif
