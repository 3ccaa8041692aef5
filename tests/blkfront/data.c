/* SPDX-License-Identifier: MIT */
/*
 * blkfront's data path against the test backend:
 *
 *   random     many I/Os in flight at once (reads, writes, FUA writes,
 *              discards; 512 bytes to 4 MiB at random sector offsets, some
 *              submitted deferred and pushed together), every read checked
 *              against a model byte for byte, then the whole disk and the
 *              backend's RAM disk itself; with persistent grants and
 *              indirect requests on several queues, with fresh grants on one
 *              small ring, and with pools much smaller than the I/Os (parts
 *              wait for pages in order)
 *   eagain     at max_ios I/Os in flight submit says -EAGAIN, and works again
 *              once one completed
 *   fua        a FUA write is the write, then a flush sent only after every
 *              part of the write was answered (an empty barrier if only
 *              barriers are offered); the callback runs once, after both
 *   discard    one request per range whatever its size, secure when asked
 */
#include "bftest.h"

#include <poll.h>

static struct th T;
static uint32_t next_devid = 300;
static uint32_t g_order, g_queues, g_pool, g_flags, g_max_ios;

static void tweak(struct sdrv_blkfront_opts *o)
{
	o->ring_page_order = g_order;
	o->nr_queues = g_queues;
	o->pool_pages = g_pool;
	o->flags = g_flags;
	o->max_ios = g_max_ios;
}

#define DISK	 (32u << 20)
#define INFLIGHT 16
#define MAX_IO	 (4u << 20)

struct slot {
	struct bt_io io;
	bool busy;
	uint32_t op, flags;
	uint64_t off, len;
	unsigned char *buf;
};

static unsigned char *model;

static bool overlaps(const struct slot *s, uint64_t off, uint64_t len)
{
	for (int i = 0; i < INFLIGHT; i++)
		if (s[i].busy && off < s[i].off + s[i].len && s[i].off < off + len)
			return true;
	return false;
}

static uint64_t pick_len(uint64_t *seed)
{
	/* log-uniform from 512 bytes to 4 MiB, in sectors */
	unsigned shift = (unsigned)(tu_rand(seed) % 14);
	uint64_t max = (512ull << shift);
	uint64_t len = (tu_rand(seed) % max + 512) & ~511ull;

	return len > MAX_IO ? MAX_IO : len;
}

static bool done_any(const struct slot *s)
{
	for (int i = 0; i < INFLIGHT; i++)
		if (s[i].busy && s[i].io.done)
			return true;
	return false;
}

static void finish(struct slot *s)
{
	CHECK(s->io.calls == 1, "callback ran %u times", s->io.calls);
	CHECK(s->io.status == 0, "op %u of %llu at %llu: %s", s->op, (unsigned long long)s->len,
	      (unsigned long long)s->off, strerror(-s->io.status));
	if (s->op == SDRV_BLKFRONT_OP_READ)
		CHECK(memcmp(s->buf, model + s->off, s->len) == 0,
		      "read of %llu at %llu differs from the model", (unsigned long long)s->len,
		      (unsigned long long)s->off);
	s->busy = false;
}

static void random_io(const char *name, unsigned n, uint64_t seed)
{
	struct tb_cfg cfg;
	struct bt_case c;
	struct slot s[INFLIGHT];
	unsigned started = 0, pending = 0;
	unsigned char *all;
	uint64_t bytes = 0;

	th_default_cfg(&cfg, next_devid++);
	cfg.sectors = DISK / 512;
	bt_begin(&c, &T, 0, &cfg, tweak, true);
	memset(model, 0, DISK);
	memset(s, 0, sizeof(s));
	for (int i = 0; i < INFLIGHT; i++)
		CHECK((s[i].buf = malloc(MAX_IO)) != NULL, "malloc");
	while (started < n || pending) {
		bool deferred = false;

		/* Fill the free slots. */
		for (int i = 0; i < INFLIGHT && started < n; i++) {
			struct slot *x = &s[i];
			uint64_t r = tu_rand(&seed) % 100;
			int rc, tries = 0;

			if (x->busy)
				continue;
			do {
				x->len = pick_len(&seed);
				x->off = (tu_rand(&seed) % ((DISK - x->len) / 512 + 1)) * 512;
			} while (overlaps(s, x->off, x->len) && ++tries < 20);
			if (tries == 20)
				break;
			x->flags = (tu_rand(&seed) & 3) == 0 ? SDRV_BLKFRONT_DEFER : 0;
			if (r < 45) {
				x->op = SDRV_BLKFRONT_OP_READ;
			} else if (r < 90) {
				x->op = SDRV_BLKFRONT_OP_WRITE;
				bt_fill(x->buf, x->len, seed ^ started);
			} else if (r < 95) {
				x->op = SDRV_BLKFRONT_OP_WRITE;
				x->flags |= SDRV_BLKFRONT_FUA;
				bt_fill(x->buf, x->len, seed ^ started);
			} else {
				x->op = SDRV_BLKFRONT_OP_DISCARD;
			}
			memset(&x->io, 0, sizeof(x->io));
			rc = sdrv_blkfront_submit(c.f, x->op, x->off,
						  x->op == SDRV_BLKFRONT_OP_DISCARD ? NULL : x->buf,
						  x->len, x->flags, bt_done, &x->io);
			CHECK(rc == 0, "submit: %s", strerror(-rc));
			deferred |= (x->flags & SDRV_BLKFRONT_DEFER) != 0;
			/* No two I/Os in flight overlap, so the model may take
			 * a write now. */
			if (x->op == SDRV_BLKFRONT_OP_WRITE)
				memcpy(model + x->off, x->buf, x->len);
			if (x->op == SDRV_BLKFRONT_OP_DISCARD)
				memset(model + x->off, 0, x->len);
			x->busy = true;
			started++;
			pending++;
			bytes += x->len;
		}
		if (deferred)
			CHECK(sdrv_blkfront_push(c.f) == 0, "push");
		/* Drive until one completes: poll the rings, then process
		 * and sleep on the descriptor. */
		for (bool polled = false;;) {
			struct pollfd pfd = {.fd = sdrv_blkfront_fd(c.f), .events = POLLIN};
			bool any = false;

			for (int i = 0; i < INFLIGHT; i++) {
				if (s[i].busy && s[i].io.done) {
					finish(&s[i]);
					pending--;
					any = true;
				}
			}
			if (any || !pending)
				break;
			if (polled) {
				/* Nothing came while polling: ask for a wake-up,
				 * then sleep unless that found work. */
				polled = false;
				CHECK(sdrv_blkfront_process(c.f) == 0, "process: %s",
				      sdrv_blkfront_broken(c.f));
				if (!done_any(s))
					(void)poll(&pfd, 1, (int)th_ms(5000));
				continue;
			}
			polled = sdrv_blkfront_poll(c.f) == 0;
		}
	}
	/* The whole disk through the frontend, and the RAM disk itself. */
	all = malloc(DISK);
	CHECK(all, "malloc");
	CHECK(sdrv_blkfront_pread(c.f, all, DISK, 0) == 0, "full read");
	CHECK(memcmp(all, model, DISK) == 0, "the disk read through the frontend differs");
	CHECK(memcmp(c.disk, model, DISK) == 0, "the RAM disk differs from the model");
	free(all);
	{
		struct sdrv_blkfront_stats st = bt_stats(c.f);

		CHECK(st.ios == n + 1 && st.errors == 0 && st.inflight_ios == 0, "stats");
		printf("%s: %u I/Os, %.1f MiB, %llu requests, %llu notifications, %llu wake-ups "
		       "(%llu spurious)\n",
		       name, n, (double)bytes / (1 << 20), (unsigned long long)st.requests,
		       (unsigned long long)st.notifies, (unsigned long long)st.wakeups,
		       (unsigned long long)st.spurious);
	}
	for (int i = 0; i < INFLIGHT; i++)
		free(s[i].buf);
	bt_end(&c);
}

static void test_random(void)
{
	unsigned n = (unsigned)tu_scaled(300, 12);

	g_order = 2;
	g_queues = 4;
	g_pool = 0;
	g_flags = 0;
	random_io("persistent, indirect, 4 queues", n, 1);
	g_order = 0;
	g_queues = 1;
	g_flags = SDRV_BLKFRONT_NO_PERSISTENT | SDRV_BLKFRONT_NO_INDIRECT;
	random_io("fresh grants, direct, one page", n, 2);
	g_order = 1;
	g_queues = 2;
	g_pool = 64;
	g_flags = 0;
	random_io("persistent, pool of 64", n, 3);
	g_pool = 40;
	g_flags = SDRV_BLKFRONT_NO_PERSISTENT;
	random_io("fresh grants, indirect, 40 pages at a time", n, 4);
	g_order = g_queues = g_pool = g_flags = 0;
	printf("ok random\n");
}

static bool held_n(void *arg)
{
	struct tb_ctl *ctl = arg;

	return atomic_load(&ctl->held) >= 4;
}

static void test_eagain(void)
{
	struct tb_cfg cfg;
	struct bt_case c;
	struct bt_io io[5];
	unsigned char buf[5][4096];

	g_max_ios = 4;
	th_default_cfg(&cfg, next_devid++);
	bt_begin(&c, &T, 0, &cfg, tweak, true);
	atomic_store(&c.ctl->hold, 1);
	memset(io, 0, sizeof(io));
	for (int i = 0; i < 4; i++)
		CHECK(sdrv_blkfront_submit(c.f, SDRV_BLKFRONT_OP_READ, (uint64_t)i * 4096, buf[i],
					   4096, 0, bt_done, &io[i]) == 0,
		      "submit %d", i);
	CHECK(sdrv_blkfront_submit(c.f, SDRV_BLKFRONT_OP_READ, 0, buf[4], 4096, 0, bt_done,
				   &io[4]) == -EAGAIN,
	      "the fifth gets -EAGAIN");
	CHECK(bt_stats(c.f).inflight_ios == 4, "4 in flight");
	th_wait(c.f, held_n, c.ctl, 10000, "the backend holding 4");
	atomic_store(&c.ctl->hold, 0);
	th_drive_until(c.f, &io[0].done, 10000, "first read");
	CHECK(sdrv_blkfront_submit(c.f, SDRV_BLKFRONT_OP_READ, 0, buf[4], 4096, 0, bt_done,
				   &io[4]) == 0,
	      "room again");
	for (int i = 0; i < 5; i++) {
		th_drive_until(c.f, &io[i].done, 10000, "reads");
		CHECK(io[i].status == 0 && io[i].calls == 1, "read %d", i);
	}
	bt_end(&c);
	g_max_ios = 0;
	printf("ok eagain\n");
}

/* The FUA write's log entries since `from`: writes, then the flush. */
static void check_fua(struct tb_ctl *ctl, uint32_t from, uint8_t flush_op, unsigned writes)
{
	uint32_t n = atomic_load(&ctl->nlog), w = 0, answered_writes = 0;

	CHECK(n == from + writes + 1, "%u requests for a FUA write of %u parts", n - from, writes);
	for (uint32_t i = from; i < from + writes; i++) {
		CHECK(ctl->log[i].op == SDRV_BLKIF_OP_WRITE, "write first");
		w++;
	}
	answered_writes = ctl->log[from + writes].answered_before - ctl->log[from].answered_before;
	CHECK(ctl->log[from + writes].op == flush_op && ctl->log[from + writes].nsegs == 0,
	      "then an empty flush (op %u)", ctl->log[from + writes].op);
	CHECK(answered_writes >= w, "the flush came after the %u writes were answered (%u)", w,
	      answered_writes);
}

static void test_fua(void)
{
	struct tb_cfg cfg;
	struct bt_case c;
	struct bt_io io = {0};
	unsigned char *buf = malloc(1 << 20);
	uint32_t l0;

	CHECK(buf, "malloc");
	bt_fill(buf, 1 << 20, 5);
	g_flags = SDRV_BLKFRONT_NO_INDIRECT;
	th_default_cfg(&cfg, next_devid++);
	bt_begin(&c, &T, 0, &cfg, tweak, true);
	l0 = atomic_load(&c.ctl->nlog);
	CHECK(sdrv_blkfront_pwrite(c.f, buf, 4096, 0, SDRV_BLKFRONT_FUA) == 0, "FUA write");
	check_fua(c.ctl, l0, SDRV_BLKIF_OP_FLUSH_DISKCACHE, 1);
	/* A big one: 24 parts, the flush after all of them. */
	l0 = atomic_load(&c.ctl->nlog);
	CHECK(sdrv_blkfront_submit(c.f, SDRV_BLKFRONT_OP_WRITE, 1 << 20, buf, 1 << 20,
				   SDRV_BLKFRONT_FUA, bt_done, &io) == 0,
	      "FUA submit");
	th_drive_until(c.f, &io.done, 10000, "FUA write");
	CHECK(io.status == 0 && io.calls == 1, "one callback");
	check_fua(c.ctl, l0, SDRV_BLKIF_OP_FLUSH_DISKCACHE, 24);
	CHECK(memcmp(c.disk + (1 << 20), buf, 1 << 20) == 0, "data");
	bt_end(&c);

	/* Only barriers: the flush is an empty barrier. */
	th_default_cfg(&cfg, next_devid++);
	cfg.flush = false;
	bt_begin(&c, &T, 0, &cfg, tweak, true);
	l0 = atomic_load(&c.ctl->nlog);
	CHECK(sdrv_blkfront_pwrite(c.f, buf, 8192, 4096, SDRV_BLKFRONT_FUA) == 0, "FUA write");
	check_fua(c.ctl, l0, SDRV_BLKIF_OP_WRITE_BARRIER, 1);
	bt_end(&c);
	g_flags = 0;
	free(buf);
	printf("ok fua\n");
}

static void test_discard(void)
{
	struct tb_cfg cfg;
	struct bt_case c;
	unsigned char *buf = malloc(1 << 20), *z = calloc(1, 1 << 20);
	uint32_t l0;

	CHECK(buf && z, "malloc");
	th_default_cfg(&cfg, next_devid++);
	cfg.sectors = DISK / 512;
	bt_begin(&c, &T, 0, &cfg, tweak, true);
	bt_fill(buf, 1 << 20, 6);
	CHECK(sdrv_blkfront_pwrite(c.f, buf, 1 << 20, 0, 0) == 0, "write");
	l0 = atomic_load(&c.ctl->nlog);
	CHECK(sdrv_blkfront_discard(c.f, 512 * 7, 4096 + 512, 0) == 0, "discard");
	CHECK(sdrv_blkfront_pread(c.f, buf, 1 << 20, 0) == 0, "read");
	CHECK(memcmp(buf + 4096 + 512, z, 512 * 7) == 0, "discarded sectors read as zeroes");
	CHECK(memcmp(buf + 4096, z, 512) != 0 && memcmp(buf + 8192, z, 512) != 0,
	      "the sectors around are kept");
	CHECK(c.ctl->log[l0].op == SDRV_BLKIF_OP_DISCARD && c.ctl->log[l0].sector == 9 &&
		  c.ctl->log[l0].nr_sectors == 7 && c.ctl->log[l0].flag == 0,
	      "one discard of 7 sectors at 9");
	/* The whole disk: one request, nr_sectors is 64-bit. */
	l0 = atomic_load(&c.ctl->nlog);
	CHECK(sdrv_blkfront_discard(c.f, DISK, 0, SDRV_BLKFRONT_SECURE) == 0, "secure discard");
	CHECK(atomic_load(&c.ctl->nlog) == l0 + 1 && c.ctl->log[l0].nr_sectors == DISK / 512 &&
		  c.ctl->log[l0].flag == 1,
	      "one secure discard of the whole disk");
	bt_end(&c);
	free(buf);
	free(z);
	printf("ok discard\n");
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	tu_watchdog(120, "blkfront data");
	model = malloc(DISK);
	CHECK(model, "malloc");
	th_start(&T, true);
	test_random();
	test_eagain();
	test_fua();
	test_discard();
	th_stop(&T);
	free(model);
	return TU_PASS;
}
