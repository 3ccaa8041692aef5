/* SPDX-License-Identifier: MIT */
/*
 * A real store (include/splitdrv/store.h) for the xenbus tests: in a thread
 * of the test process, listening on a socket in a fresh temporary
 * directory. Socket connections of the test's own uid are the privileged
 * domain 0; connections of other domains are made with
 * sdrv_store_connect() before the thread starts (the store is used by one
 * thread at a time).
 */
#ifndef SDRV_TESTS_XENBUS_STORE_FIXTURE_H
#define SDRV_TESTS_XENBUS_STORE_FIXTURE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <splitdrv/store.h>
#include <splitdrv/xs.h>

#define SF_MAX_DOMS 4

struct store_fixture {
	struct sdrv_store *s;
	pthread_t th;
	atomic_bool stop;
	bool running;
	char dir[64];
	char path[128];
	int dom_fd[SF_MAX_DOMS]; /* client ends made before the thread runs */
};

static void *sf_thread(void *arg)
{
	struct store_fixture *f = arg;

	while (!atomic_load(&f->stop))
		if (sdrv_store_run(f->s, 20) < 0)
			break;
	return NULL;
}

/* Create the store; `domids` (nr of them) get a connection each. */
static inline int sf_start(struct store_fixture *f, const uint32_t *domids, unsigned int nr)
{
	struct sdrv_store_opts o;

	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/sdrv-xb-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/socket", f->dir);
	memset(&o, 0, sizeof(o));
	o.sz = sizeof(o);
	o.path = f->path;
	f->s = sdrv_store_new(&o);
	if (!f->s)
		return -1;
	for (unsigned int i = 0; i < nr && i < SF_MAX_DOMS; i++) {
		f->dom_fd[i] = sdrv_store_connect(f->s, domids[i]);
		if (f->dom_fd[i] < 0)
			return -1;
	}
	atomic_store(&f->stop, false);
	if (pthread_create(&f->th, NULL, sf_thread, f) != 0)
		return -1;
	f->running = true;
	return 0;
}

static inline void sf_stop(struct store_fixture *f)
{
	if (f->running) {
		atomic_store(&f->stop, true);
		pthread_join(f->th, NULL);
		f->running = false;
	}
	sdrv_store_free(f->s);
	f->s = NULL;
	rmdir(f->dir);
}

/* A privileged client connection. */
static inline struct sdrv_xs *sf_client(struct store_fixture *f)
{
	struct sdrv_xs_opts o;

	memset(&o, 0, sizeof(o));
	o.sz = sizeof(o);
	o.timeout_ms = 30000; /* a hang becomes a failure */
	o.max_pending = 256;
	return sdrv_xs_open(f->path, &o);
}

#endif
