/* SPDX-License-Identifier: MIT */
/* Small helpers shared by the blkfront test programs. */
#ifndef SDRV_TESTS_BLKFRONT_BFTEST_H
#define SDRV_TESTS_BLKFRONT_BFTEST_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <splitdrv/blkfront.h>
#include <splitdrv/proto/blkif.h>

#include "../common/tutil.h"
#include "harness.h"

#define CHECK TH_CHECK

/* Completion of an asynchronous I/O. */
struct bt_io {
	bool done;
	int status;
	unsigned calls;
};

static inline void bt_done(int status, void *ctx)
{
	struct bt_io *io = ctx;

	io->status = status;
	io->done = true;
	io->calls++;
}

/* A frontend whose device the backend of slot 0 serves with `cfg`. */
struct bt_case {
	struct th *t;
	unsigned slot;
	uint32_t devid;
	struct sdrv_blkfront *f;
	struct tb_ctl *ctl;
	unsigned char *disk;
};

static inline void bt_begin(struct bt_case *c, struct th *t, unsigned slot,
			    const struct tb_cfg *cfg, void (*tweak)(struct sdrv_blkfront_opts *o),
			    bool connect)
{
	memset(c, 0, sizeof(*c));
	c->t = t;
	c->slot = slot;
	c->devid = cfg->devid;
	th_slot_setup(t, slot, cfg, true);
	c->ctl = t->slot[slot].ctl;
	c->disk = t->slot[slot].disk;
	th_dev_create(t, cfg->devid);
	th_backend_start(t, slot);
	c->f = th_front(t, cfg->devid, tweak);
	if (connect) {
		int rc = sdrv_blkfront_wait_connected(c->f, (int)th_ms(20000));

		CHECK(rc == 0, "connect: %s (%s)", strerror(-rc),
		      sdrv_blkfront_broken(c->f) ? sdrv_blkfront_broken(c->f) : "-");
	}
}

static inline void bt_end(struct bt_case *c)
{
	if (c->f)
		sdrv_blkfront_free(c->f, (int)th_ms(5000));
	c->f = NULL;
	th_backend_stop(c->t, c->slot, false);
	th_dev_remove(c->t, c->devid);
	CHECK(!c->ctl->fail[0], "the backend failed: %s", c->ctl->fail);
}

static inline void bt_fill(unsigned char *p, size_t n, uint64_t seed)
{
	uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;

	for (size_t i = 0; i < n; i += 8) {
		uint64_t v = tu_rand(&s);
		memcpy(p + i, &v, n - i < 8 ? n - i : 8);
	}
}

static inline struct sdrv_blkfront_info bt_info(struct sdrv_blkfront *f)
{
	struct sdrv_blkfront_info in = {.sz = sizeof(in)};

	CHECK(sdrv_blkfront_info(f, &in) == 0, "info");
	return in;
}

static inline struct sdrv_blkfront_stats bt_stats(struct sdrv_blkfront *f)
{
	struct sdrv_blkfront_stats st = {.sz = sizeof(st)};

	sdrv_blkfront_stats(f, &st);
	return st;
}

/* Write `len` bytes of pattern `seed` at `off` and read them back. */
static inline void bt_roundtrip(struct sdrv_blkfront *f, uint64_t off, size_t len, uint64_t seed)
{
	unsigned char *w = malloc(len), *r = malloc(len);
	int rc;

	CHECK(w && r, "malloc");
	bt_fill(w, len, seed);
	rc = sdrv_blkfront_pwrite(f, w, len, off, 0);
	CHECK(rc == 0, "write %zu at %llu: %s", len, (unsigned long long)off, strerror(-rc));
	memset(r, 0xEE, len);
	rc = sdrv_blkfront_pread(f, r, len, off);
	CHECK(rc == 0, "read %zu at %llu: %s", len, (unsigned long long)off, strerror(-rc));
	CHECK(memcmp(w, r, len) == 0, "data read back differs (%zu at %llu)", len,
	      (unsigned long long)off);
	free(w);
	free(r);
}

#endif
