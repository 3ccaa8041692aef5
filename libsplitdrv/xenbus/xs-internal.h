/* SPDX-License-Identifier: MIT */
/*
 * Private to libsplitdrv: what the xenbus objects need from the store
 * client beyond its public API.
 */
#ifndef SDRV_XENBUS_XS_INTERNAL_H
#define SDRV_XENBUS_XS_INTERNAL_H

#include <splitdrv/xs.h>

/*
 * A hook runs at the end of every sdrv_xs_process(), after the watch
 * callbacks: the xenbus objects let their watch callbacks only mark work
 * and do it here, once per round, however many events came (coalescing).
 * A hook may make synchronous calls. Hooks are kept in order of addition.
 */
typedef void (*sdrv_xs_hook_fn)(struct sdrv_xs *xs, void *ctx);

int sdrv_xs_hook_add(struct sdrv_xs *xs, sdrv_xs_hook_fn fn, void *ctx);
void sdrv_xs_hook_del(struct sdrv_xs *xs, sdrv_xs_hook_fn fn, void *ctx);

/* Make sdrv_xs_fd() readable so that the next sdrv_xs_process() runs the
 * hooks even if nothing arrives. */
void sdrv_xs_kick(struct sdrv_xs *xs);

/* Log through the connection's log sink (sdrv_xs_opts::log). */
void sdrv_xs_logf(struct sdrv_xs *xs, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A token unique in this process, for the objects' own watches. */
uint64_t sdrv_xs_unique(void);

#endif
