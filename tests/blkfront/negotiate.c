/* SPDX-License-Identifier: MIT */
/*
 * blkfront's negotiation against the test backend, each case a fresh
 * device, backend process and frontend:
 *
 *   rings      one page and ring-page-order 1..4 (the keys as Linux writes
 *              them: ring-ref, or ring-ref0..N-1 and ring-page-order), the
 *              backend's offer capping the wish, no offer meaning one page
 *   queues     1 queue (top-level keys) and several (multi-queue-num-queues,
 *              queue-N/..., no top-level ring-ref), capped by the offer
 *   persistent both sides offer: a small pool is reused (the backend sees
 *              at most pool_pages distinct data grants over many I/Os);
 *              either side declining: fresh grants
 *   indirect   with indirect requests of 256 segments a 1 MiB I/O is one
 *              request and a 4 MiB one four; without (the backend or the
 *              frontend declining) 1 MiB takes 24 requests of at most 11
 *   features   flush, barrier, discard and secure discard not offered:
 *              -EOPNOTSUPP at submit; flush through a barrier when only
 *              barriers are offered; FUA without a cache is a plain write
 *   read-only  VDISK_READONLY: writes and discards -EROFS, reads work
 *   relayout   a new frontend on the same device with another layout (fewer
 *              queues, another ring order) removes the earlier instance's
 *              keys, so the backend maps the new rings
 *   device     sectors, info, sector sizes, discard granularity read right;
 *              4096-byte sectors need 4096-aligned I/O; protocol is native
 */
#include "bftest.h"

#include <splitdrv/xenbus.h>

static struct th T;
static uint32_t next_devid = 100;

static uint32_t g_order, g_queues, g_pool, g_flags, g_segs;

static void tweak(struct sdrv_blkfront_opts *o)
{
	o->ring_page_order = g_order;
	o->nr_queues = g_queues;
	o->pool_pages = g_pool;
	o->flags = g_flags;
	o->max_indirect_segments = g_segs;
}

static void reset_tweaks(void)
{
	g_order = g_queues = g_pool = g_flags = g_segs = 0;
}

static void begin(struct bt_case *c, struct tb_cfg *cfg)
{
	bt_begin(c, &T, 0, cfg, tweak, true);
}

static void front_dir(char *buf, size_t n, uint32_t devid)
{
	sdrv_xenbus_front_path(buf, n, TH_FE_DOM, "vbd", devid);
}

static void test_rings(void)
{
	for (uint32_t want = 0; want <= 4; want++) {
		struct tb_cfg cfg;
		struct bt_case c;
		char dir[SDRV_XENBUS_PATH_MAX], *v;

		reset_tweaks();
		g_order = want;
		th_default_cfg(&cfg, next_devid++);
		begin(&c, &cfg);
		CHECK(bt_info(c.f).ring_page_order == want, "order %u", want);
		CHECK(atomic_load(&c.ctl->fe_order) == want, "backend saw order %u",
		      atomic_load(&c.ctl->fe_order));
		front_dir(dir, sizeof(dir), c.devid);
		v = th_read(&T, dir, "ring-page-order");
		CHECK(want ? v && atoi(v) == (int)want : v == NULL, "ring-page-order key");
		free(v);
		v = th_read(&T, dir, want ? "ring-ref0" : "ring-ref");
		CHECK(v != NULL, "ring-ref key");
		free(v);
		v = th_read(&T, dir, want ? "ring-ref" : "ring-ref0");
		CHECK(v == NULL, "no ring-ref key of the other layout");
		free(v);
		bt_roundtrip(c.f, 4096 * want, 64 << 10, want);
		bt_end(&c);
	}
	/* The backend's offer caps: MAX takes it; no key means one page. */
	{
		struct tb_cfg cfg;
		struct bt_case c;

		reset_tweaks();
		g_order = SDRV_BLKFRONT_MAX;
		th_default_cfg(&cfg, next_devid++);
		cfg.max_ring_order = 2;
		begin(&c, &cfg);
		CHECK(bt_info(c.f).ring_page_order == 2, "capped order");
		bt_end(&c);
		g_order = 3;
		th_default_cfg(&cfg, next_devid++);
		cfg.max_ring_order = TB_NOKEY;
		begin(&c, &cfg);
		CHECK(bt_info(c.f).ring_page_order == 0, "no offer");
		bt_roundtrip(c.f, 0, 8192, 7);
		bt_end(&c);
	}
	printf("ok rings\n");
}

static void test_queues(void)
{
	static const struct {
		uint32_t want, offer, got;
	} cases[] = {{1, 4, 1}, {4, 4, 4}, {SDRV_BLKFRONT_MAX, 2, 2}, {3, TB_NOKEY, 1}};

	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct tb_cfg cfg;
		struct bt_case c;
		struct bt_io io[16];
		unsigned char *buf;
		char dir[SDRV_XENBUS_PATH_MAX], *v;
		uint32_t got = cases[k].got;

		reset_tweaks();
		g_queues = cases[k].want;
		th_default_cfg(&cfg, next_devid++);
		cfg.max_queues = cases[k].offer;
		begin(&c, &cfg);
		CHECK(bt_info(c.f).nr_queues == got, "queues: %u", bt_info(c.f).nr_queues);
		CHECK(atomic_load(&c.ctl->fe_queues) == got, "backend saw %u queues",
		      atomic_load(&c.ctl->fe_queues));
		CHECK(atomic_load(&c.ctl->fe_toplevel_ref) == (got == 1), "top-level ring-ref");
		front_dir(dir, sizeof(dir), c.devid);
		v = th_read(&T, dir, SDRV_XENBUS_KEY_NUM_QUEUES);
		CHECK(got > 1 ? v && atoi(v) == (int)got : v == NULL, "multi-queue-num-queues");
		free(v);
		if (got > 1) {
			char qd[SDRV_XENBUS_PATH_MAX + 32];

			snprintf(qd, sizeof(qd), "%s/queue-%u", dir, got - 1);
			v = th_read(&T, qd, "event-channel");
			CHECK(v != NULL, "queue-N/event-channel");
			free(v);
		}
		/* 16 I/Os at once, spread over the queues. */
		buf = malloc(16 << 16);
		bt_fill(buf, 16 << 16, k);
		for (unsigned i = 0; i < 16; i++) {
			memset(&io[i], 0, sizeof(io[i]));
			CHECK(sdrv_blkfront_submit(c.f, SDRV_BLKFRONT_OP_WRITE, (uint64_t)i << 16,
						   buf + ((size_t)i << 16), 1 << 16, 0, bt_done,
						   &io[i]) == 0,
			      "submit");
		}
		for (unsigned i = 0; i < 16; i++) {
			th_drive_until(c.f, &io[i].done, 10000, "queued writes");
			CHECK(io[i].status == 0, "write %u: %d", i, io[i].status);
		}
		CHECK(memcmp(c.disk, buf, 16 << 16) == 0, "disk content");
		free(buf);
		bt_end(&c);
	}
	printf("ok queues\n");
}

static void test_relayout(void)
{
	static const uint32_t layout[][2] = {{4, 2}, {1, 0}, {2, 4}, {1, 1}, {4, 0}};
	struct tb_cfg cfg;
	struct bt_case c;
	char dir[SDRV_XENBUS_PATH_MAX], *v;

	reset_tweaks();
	th_default_cfg(&cfg, next_devid++);
	g_queues = layout[0][0];
	g_order = layout[0][1];
	begin(&c, &cfg);
	front_dir(dir, sizeof(dir), c.devid);
	for (unsigned k = 0; k < sizeof(layout) / sizeof(layout[0]); k++) {
		if (k) {
			/* The earlier frontend goes, a new one comes. */
			sdrv_blkfront_free(c.f, (int)th_ms(5000));
			g_queues = layout[k][0];
			g_order = layout[k][1];
			c.f = th_front(&T, c.devid, tweak);
			CHECK(sdrv_blkfront_wait_connected(c.f, (int)th_ms(20000)) == 0,
			      "layout %u: %s", k,
			      sdrv_blkfront_broken(c.f) ? sdrv_blkfront_broken(c.f) : "timeout");
		}
		CHECK(atomic_load(&c.ctl->fe_queues) == layout[k][0] &&
			  atomic_load(&c.ctl->fe_order) == layout[k][1],
		      "layout %u: the backend saw %u queues, order %u", k,
		      atomic_load(&c.ctl->fe_queues), atomic_load(&c.ctl->fe_order));
		v = th_read(&T, dir, "queue-3");
		CHECK((v != NULL) == (layout[k][0] == 4), "layout %u: queue-3", k);
		free(v);
		v = th_read(&T, dir, SDRV_XENBUS_KEY_NUM_QUEUES);
		CHECK((v != NULL) == (layout[k][0] > 1), "layout %u: multi-queue-num-queues", k);
		free(v);
		v = th_read(&T, dir, "ring-page-order");
		CHECK((v != NULL) == (layout[k][1] > 0), "layout %u: ring-page-order", k);
		free(v);
		bt_roundtrip(c.f, 65536 * k, 65536, k);
	}
	bt_end(&c);
	printf("ok relayout\n");
}

static void random_4k(struct sdrv_blkfront *f, unsigned n, uint64_t seed)
{
	unsigned char w[4096], r[4096];

	for (unsigned i = 0; i < n; i++) {
		uint64_t off = (tu_rand(&seed) % 2048) * 4096;

		bt_fill(w, sizeof(w), seed);
		CHECK(sdrv_blkfront_pwrite(f, w, sizeof(w), off, 0) == 0, "write");
		CHECK(sdrv_blkfront_pread(f, r, sizeof(r), off) == 0, "read");
		CHECK(memcmp(w, r, sizeof(w)) == 0, "data");
	}
}

static void test_persistent(void)
{
	unsigned n = (unsigned)tu_scaled(200, 20);
	struct tb_cfg cfg;
	struct bt_case c;
	char dir[SDRV_XENBUS_PATH_MAX], *v;

	/* Both offer: a pool of 32 pages is all the backend ever sees. */
	reset_tweaks();
	g_pool = 32;
	th_default_cfg(&cfg, next_devid++);
	begin(&c, &cfg);
	CHECK(bt_info(c.f).persistent, "persistent negotiated");
	CHECK(atomic_load(&c.ctl->fe_persistent) == 1, "frontend offered");
	random_4k(c.f, n, 1);
	CHECK(atomic_load(&c.ctl->data_grefs) <= 32, "%u distinct data grants with a pool of 32",
	      atomic_load(&c.ctl->data_grefs));
	printf("persistent: %u I/Os, %u distinct data grants\n", 2 * n,
	       atomic_load(&c.ctl->data_grefs));
	bt_end(&c);

	/* The frontend declines: fresh grants (more distinct ones than the
	 * pool would have), feature-persistent = 0 written. */
	g_flags = SDRV_BLKFRONT_NO_PERSISTENT;
	th_default_cfg(&cfg, next_devid++);
	begin(&c, &cfg);
	CHECK(!bt_info(c.f).persistent, "not persistent");
	CHECK(atomic_load(&c.ctl->fe_persistent) == 0, "frontend did not offer");
	front_dir(dir, sizeof(dir), c.devid);
	v = th_read(&T, dir, "feature-persistent");
	CHECK(v && strcmp(v, "0") == 0, "feature-persistent key");
	free(v);
	random_4k(c.f, n, 2);
	CHECK(atomic_load(&c.ctl->data_grefs) > 32, "fresh grants: %u distinct",
	      atomic_load(&c.ctl->data_grefs));
	CHECK(bt_stats(c.f).deferred_pages == 0, "a correct backend unmaps before answering");
	bt_end(&c);

	/* The backend declines. */
	reset_tweaks();
	th_default_cfg(&cfg, next_devid++);
	cfg.persistent = false;
	begin(&c, &cfg);
	CHECK(!bt_info(c.f).persistent, "backend declined");
	random_4k(c.f, 10, 3);
	bt_end(&c);
	printf("ok persistent\n");
}

/* Requests the backend saw for one write and one read of `len` bytes. */
static void big_io(struct bt_case *c, size_t len, uint64_t *reqs, uint32_t *max_segs, uint64_t *ind)
{
	uint64_t r0 = atomic_load(&c->ctl->reqs), i0 = atomic_load(&c->ctl->indirect);

	bt_roundtrip(c->f, 1 << 20, len, len);
	*reqs = (atomic_load(&c->ctl->reqs) - r0) / 2;
	*ind = (atomic_load(&c->ctl->indirect) - i0) / 2;
	*max_segs = atomic_load(&c->ctl->max_segs);
}

static void test_indirect(void)
{
	struct tb_cfg cfg;
	struct bt_case c;
	uint64_t reqs, ind;
	uint32_t segs;

	for (int mode = 0; mode < 4; mode++) {
		reset_tweaks();
		th_default_cfg(&cfg, next_devid++);
		if (mode == 1)
			g_flags = SDRV_BLKFRONT_NO_INDIRECT;
		if (mode == 2)
			cfg.max_indirect = 0;
		if (mode == 3)
			g_segs = 32;
		if (mode == 0)
			g_flags = SDRV_BLKFRONT_NO_PERSISTENT; /* fresh indirect pages too */
		begin(&c, &cfg);
		big_io(&c, 1 << 20, &reqs, &segs, &ind);
		printf("indirect mode %d: 1 MiB = %llu requests, %u segments at most, %llu "
		       "indirect\n",
		       mode, (unsigned long long)reqs, segs, (unsigned long long)ind);
		if (mode == 0) {
			CHECK(reqs == 1 && ind == 1 && segs == 256, "1 indirect request of 256");
			CHECK(bt_info(c.f).max_segments == 256, "max_segments");
			big_io(&c, 4 << 20, &reqs, &segs, &ind);
			CHECK(reqs == 4 && ind == 4, "4 MiB: 4 indirect requests of 256");
		} else if (mode == 3) {
			CHECK(reqs == 8 && ind == 8 && segs == 32, "8 indirect requests of 32");
		} else {
			CHECK(reqs == 24 && ind == 0 && segs == 11, "24 direct requests of 11");
			CHECK(bt_info(c.f).max_segments == 11, "max_segments");
		}
		bt_end(&c);
	}
	/* Persistent with indirect: the descriptor pages are reused too. */
	reset_tweaks();
	th_default_cfg(&cfg, next_devid++);
	begin(&c, &cfg);
	for (int i = 0; i < 4; i++) {
		big_io(&c, 4 << 20, &reqs, &segs, &ind);
		CHECK(reqs == 4 && ind == 4, "indirect with persistent grants");
	}
	CHECK(atomic_load(&c.ctl->ind_grefs) <= 32, "%u distinct indirect pages",
	      atomic_load(&c.ctl->ind_grefs));
	CHECK(atomic_load(&c.ctl->data_grefs) <= 1024, "%u distinct data pages",
	      atomic_load(&c.ctl->data_grefs));
	bt_end(&c);
	printf("ok indirect\n");
}

static uint64_t count_op(struct tb_ctl *ctl, uint8_t op, uint32_t from, uint16_t *nsegs)
{
	uint64_t n = 0;

	for (uint32_t i = from; i < atomic_load(&ctl->nlog) && i < TB_LOG; i++)
		if (ctl->log[i].op == op) {
			n++;
			if (nsegs)
				*nsegs = ctl->log[i].nsegs;
		}
	return n;
}

static void test_features(void)
{
	unsigned char buf[4096] = {1};
	struct tb_cfg cfg;
	struct bt_case c;
	struct bt_io io = {0};
	uint32_t l0;
	uint16_t nsegs = 99;

	/* Nothing offered. */
	reset_tweaks();
	th_default_cfg(&cfg, next_devid++);
	cfg.flush = cfg.barrier = cfg.discard = false;
	begin(&c, &cfg);
	CHECK(sdrv_blkfront_submit(c.f, SDRV_BLKFRONT_OP_FLUSH, 0, NULL, 0, 0, bt_done, &io) ==
		  -EOPNOTSUPP,
	      "flush not offered");
	CHECK(sdrv_blkfront_flush(c.f) == -EOPNOTSUPP, "sync flush");
	CHECK(sdrv_blkfront_submit(c.f, SDRV_BLKFRONT_OP_DISCARD, 0, NULL, 4096, 0, bt_done, &io) ==
		  -EOPNOTSUPP,
	      "discard not offered");
	CHECK(sdrv_blkfront_submit(c.f, SDRV_BLKFRONT_OP_WRITE, 0, buf, 4096, SDRV_BLKFRONT_BARRIER,
				   bt_done, &io) == -EOPNOTSUPP,
	      "barrier not offered");
	l0 = atomic_load(&c.ctl->nlog);
	CHECK(sdrv_blkfront_pwrite(c.f, buf, 4096, 0, SDRV_BLKFRONT_FUA) == 0,
	      "FUA without a cache");
	CHECK(count_op(c.ctl, SDRV_BLKIF_OP_FLUSH_DISKCACHE, l0, NULL) == 0 &&
		  count_op(c.ctl, SDRV_BLKIF_OP_WRITE_BARRIER, l0, NULL) == 0,
	      "no flush sent");
	CHECK(!io.done, "no callback for refused submissions");
	bt_end(&c);

	/* Barrier only: flushes go as empty barriers; barrier writes work. */
	th_default_cfg(&cfg, next_devid++);
	cfg.flush = false;
	cfg.discard_secure = false;
	begin(&c, &cfg);
	l0 = atomic_load(&c.ctl->nlog);
	CHECK(sdrv_blkfront_flush(c.f) == 0, "flush through a barrier");
	CHECK(count_op(c.ctl, SDRV_BLKIF_OP_WRITE_BARRIER, l0, &nsegs) == 1 && nsegs == 0,
	      "one empty barrier");
	CHECK(sdrv_blkfront_pwrite(c.f, buf, 4096, 8192, SDRV_BLKFRONT_BARRIER) == 0,
	      "barrier write");
	CHECK(c.disk[8192] == 1, "barrier write data");
	CHECK(sdrv_blkfront_discard(c.f, 4096, 0, SDRV_BLKFRONT_SECURE) == -EOPNOTSUPP,
	      "secure discard not offered");
	CHECK(sdrv_blkfront_discard(c.f, 4096, 8192, 0) == 0 && c.disk[8192] == 0, "discard");
	bt_end(&c);
	printf("ok features\n");
}

static void test_readonly(void)
{
	unsigned char buf[4096];
	struct tb_cfg cfg;
	struct bt_case c;

	reset_tweaks();
	th_default_cfg(&cfg, next_devid++);
	cfg.info = SDRV_BLKIF_VDISK_READONLY | SDRV_BLKIF_VDISK_CDROM;
	begin(&c, &cfg);
	memset(c.disk, 0x5A, 4096);
	CHECK(bt_info(c.f).readonly && bt_info(c.f).vdisk_info == 5, "read-only");
	CHECK(sdrv_blkfront_pwrite(c.f, buf, 4096, 0, 0) == -EROFS, "write refused");
	CHECK(sdrv_blkfront_discard(c.f, 4096, 0, 0) == -EROFS, "discard refused");
	CHECK(sdrv_blkfront_flush(c.f) == 0, "flush of nothing");
	CHECK(sdrv_blkfront_pread(c.f, buf, 4096, 0) == 0 && buf[4095] == 0x5A, "read");
	CHECK(atomic_load(&c.ctl->writes) == 0 && atomic_load(&c.ctl->flushes) == 0,
	      "nothing but reads sent");
	bt_end(&c);
	printf("ok readonly\n");
}

static void test_device(void)
{
	unsigned char buf[8192];
	struct sdrv_blkfront_info in;
	struct tb_cfg cfg;
	struct bt_case c;
	struct bt_io io = {0};

	reset_tweaks();
	th_default_cfg(&cfg, next_devid++);
	cfg.sectors = 12345 * 8 + 7;
	cfg.info = SDRV_BLKIF_VDISK_REMOVABLE;
	cfg.phys_sector_size = 4096;
	cfg.discard_gran = 65536;
	cfg.discard_align = 512;
	begin(&c, &cfg);
	in = bt_info(c.f);
	CHECK(in.sectors == cfg.sectors && in.sector_size == 512 &&
		  in.physical_sector_size == 4096 && in.vdisk_info == 2 && !in.readonly,
	      "device keys");
	CHECK(in.flush && in.barrier && in.discard && in.discard_secure &&
		  in.discard_granularity == 65536 && in.discard_alignment == 512,
	      "feature keys");
	CHECK(atomic_load(&c.ctl->fe_protocol_ok) == 1, "protocol is the native ABI");
	/* The last sector works; one more does not. */
	CHECK(sdrv_blkfront_pread(c.f, buf, 512, (cfg.sectors - 1) * 512) == 0, "last sector");
	CHECK(sdrv_blkfront_submit(c.f, SDRV_BLKFRONT_OP_READ, (cfg.sectors - 1) * 512, buf, 1024,
				   0, bt_done, &io) == -EINVAL,
	      "past the end");
	CHECK(sdrv_blkfront_submit(c.f, SDRV_BLKFRONT_OP_READ, 100, buf, 512, 0, bt_done, &io) ==
		  -EINVAL,
	      "unaligned offset");
	CHECK(sdrv_blkfront_submit(c.f, SDRV_BLKFRONT_OP_READ, 0, buf, 0, 0, bt_done, &io) ==
		  -EINVAL,
	      "empty read");
	CHECK(sdrv_blkfront_submit(c.f, 9, 0, buf, 512, 0, bt_done, &io) == -EINVAL, "unknown op");
	CHECK(sdrv_blkfront_submit(c.f, SDRV_BLKFRONT_OP_READ, 0, buf, 512, SDRV_BLKFRONT_FUA,
				   bt_done, &io) == -EINVAL,
	      "FUA read");
	CHECK(sdrv_blkfront_submit(c.f, SDRV_BLKFRONT_OP_FLUSH, 512, NULL, 0, 0, bt_done, &io) ==
		  -EINVAL,
	      "flush with an offset");
	bt_end(&c);

	/* 4096-byte sectors. */
	th_default_cfg(&cfg, next_devid++);
	cfg.sector_size = 4096;
	cfg.phys_sector_size = 4096;
	begin(&c, &cfg);
	CHECK(bt_info(c.f).sector_size == 4096, "sector size");
	bt_roundtrip(c.f, 8192, 8192, 9);
	CHECK(sdrv_blkfront_submit(c.f, SDRV_BLKFRONT_OP_READ, 512, buf, 4096, 0, bt_done, &io) ==
		  -EINVAL,
	      "512-aligned on a 4096 device");
	CHECK(sdrv_blkfront_submit(c.f, SDRV_BLKFRONT_OP_READ, 4096, buf, 512, 0, bt_done, &io) ==
		  -EINVAL,
	      "512 bytes on a 4096 device");
	bt_end(&c);
	printf("ok device\n");
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	tu_watchdog(120, "blkfront negotiate");
	th_start(&T, true);
	test_rings();
	test_queues();
	test_relayout();
	test_persistent();
	test_indirect();
	test_features();
	test_readonly();
	test_device();
	th_stop(&T);
	return TU_PASS;
}
