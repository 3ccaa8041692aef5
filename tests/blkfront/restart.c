/* SPDX-License-Identifier: MIT */
/*
 * blkfront when the backend goes away, and how a frontend ends:
 *
 *   kill       the backend is SIGKILLed while it holds I/O (writes and
 *              reads, on two queues); a new backend process serving the
 *              same RAM disk starts: every I/O completes with 0, the reads
 *              return what was written before, the writes land, nothing
 *              answered before is sent again, stats.resent > 0
 *   random     random I/O with the backend killed and restarted at random
 *              moments: every I/O completes with 0; at each kill the RAM
 *              disk holds every write acknowledged so far; the disk equals
 *              the model at the end
 *   reset      the backend closes orderly (Closing, Closed) with I/O held
 *              and a new one connects: the I/O is sent again and completes
 *   split      the new backend offers no indirect requests: a 1 MiB request
 *              held by the old one is sent again as 24 requests, a 64 KiB
 *              one as 2
 *   timeout    with reconnect_timeout_ms, I/O waiting for a dead backend
 *              fails with -ETIMEDOUT; the device works again once one comes
 *   removed    the toolstack takes the device down (online = 0) or removes
 *              its directories: I/O in flight fails with -ENODEV, process()
 *              and submit() say -ENODEV
 *   free       free with I/O pending: callbacks with -ECANCELED, the
 *              descriptors the frontend opened are all closed again
 */
#include "bftest.h"

#include <poll.h>

static struct th T;
static uint32_t next_devid = 700;
static uint32_t g_queues, g_order, g_timeout;

static void tweak(struct sdrv_blkfront_opts *o)
{
	o->nr_queues = g_queues;
	o->ring_page_order = g_order;
	o->reconnect_timeout_ms = g_timeout;
}

struct want_held {
	struct tb_ctl *ctl;
	uint32_t n;
};

static bool held(void *arg)
{
	struct want_held *w = arg;

	return atomic_load(&w->ctl->held) >= w->n;
}

static bool connected_again(void *arg)
{
	return sdrv_blkfront_connected(arg);
}

/* Kill (or stop orderly) slot 0's backend and start a new one with `cfg`
 * on the same disk. */
static void replace_backend(struct bt_case *c, const struct tb_cfg *cfg, bool kill9)
{
	th_backend_stop(&T, c->slot, kill9);
	th_slot_setup(&T, c->slot, cfg, false);
	th_backend_start(&T, c->slot);
}

#define NIO 8

static void hold_and_replace(bool kill9, bool split)
{
	struct tb_cfg cfg;
	struct bt_case c;
	struct bt_io w[NIO], r[NIO];
	unsigned char *old = malloc(NIO << 16), *neu = malloc(NIO << 16), *got = malloc(NIO << 16);
	size_t wlen = split ? (1 << 20) : (1 << 16);
	int nw = split ? 2 : NIO; /* all in flight at once: within the pools */
	struct want_held want;
	struct sdrv_blkfront_stats st;

	CHECK(old && neu && got, "malloc");
	g_queues = 2;
	g_order = 1;
	th_default_cfg(&cfg, next_devid++);
	bt_begin(&c, &T, 0, &cfg, tweak, true);
	/* Written and acknowledged before. */
	bt_fill(old, NIO << 16, 1);
	CHECK(sdrv_blkfront_pwrite(c.f, old, NIO << 16, 0, 0) == 0, "first write");
	if (split) {
		free(neu);
		neu = malloc(NIO * wlen);
		CHECK(neu, "malloc");
	}
	bt_fill(neu, NIO * wlen, 2);
	atomic_store(&c.ctl->hold, 1);
	memset(w, 0, sizeof(w));
	memset(r, 0, sizeof(r));
	for (int i = 0; i < NIO; i++) {
		CHECK(i >= nw ||
			  sdrv_blkfront_submit(c.f, SDRV_BLKFRONT_OP_WRITE, (4u << 20) + i * wlen,
					       neu + i * wlen, wlen, 0, bt_done, &w[i]) == 0,
		      "write");
		w[i].done = i >= nw;
		CHECK(sdrv_blkfront_submit(c.f, SDRV_BLKFRONT_OP_READ, (uint64_t)i << 16,
					   got + ((size_t)i << 16), 1 << 16, 0, bt_done,
					   &r[i]) == 0,
		      "read");
	}
	want.ctl = c.ctl;
	want.n = (uint32_t)(nw + NIO);
	th_wait(c.f, held, &want, 10000, "the backend holding the I/O");
	if (split)
		cfg.max_indirect = 0;
	replace_backend(&c, &cfg, kill9);
	c.ctl = T.slot[c.slot].ctl;
	for (int i = 0; i < NIO; i++) {
		th_drive_until(c.f, &w[i].done, 20000, "writes after the restart");
		th_drive_until(c.f, &r[i].done, 20000, "reads after the restart");
		CHECK(w[i].status == 0 && r[i].status == 0 && w[i].calls == (i < nw) &&
			  r[i].calls == 1,
		      "I/O %d: %d %d", i, w[i].status, r[i].status);
	}
	CHECK(memcmp(got, old, NIO << 16) == 0, "reads after the restart");
	CHECK(memcmp(c.disk + (4u << 20), neu, nw * wlen) == 0, "writes after the restart");
	CHECK(memcmp(c.disk, old, NIO << 16) == 0, "earlier writes kept");
	st = bt_stats(c.f);
	CHECK(st.connects == 2 && st.resent >= (uint64_t)(nw + NIO) && st.errors == 0,
	      "%llu connects, %llu resent", (unsigned long long)st.connects,
	      (unsigned long long)st.resent);
	/* Nothing but the held requests was sent again. */
	if (split) {
		/* 1 MiB writes in 24 requests of 11 pages, 64 KiB reads in 2 */
		CHECK(atomic_load(&c.ctl->reqs) == (uint64_t)nw * 24 + 2 * NIO,
		      "%llu requests to the new backend", (unsigned long long)c.ctl->reqs);
		CHECK(st.resent == (uint64_t)nw * 24 + 2 * NIO, "resent %llu",
		      (unsigned long long)st.resent);
	} else {
		CHECK(atomic_load(&c.ctl->reqs) == 2 * NIO && st.resent == 2 * NIO,
		      "%llu requests to the new backend, %llu resent",
		      (unsigned long long)c.ctl->reqs, (unsigned long long)st.resent);
	}
	bt_roundtrip(c.f, 12u << 20, 1 << 20, 3);
	printf("%s%s: %llu requests sent again\n", kill9 ? "kill" : "reset",
	       split ? " + split" : "", (unsigned long long)st.resent);
	bt_end(&c);
	g_queues = g_order = 0;
	free(old);
	free(neu);
	free(got);
}

#define DISK	 (16u << 20)
#define INFLIGHT 8

struct rslot {
	struct bt_io io;
	bool busy, write;
	uint64_t off, len;
	unsigned char *buf;
};

static void test_random(void)
{
	unsigned rounds = (unsigned)tu_scaled(3, 1), per = (unsigned)tu_scaled(200, 10);
	unsigned char *model = calloc(1, DISK), *acked = calloc(1, DISK), *all = malloc(DISK);
	uint8_t *busy_sec = calloc(1, DISK / 512);
	struct rslot s[INFLIGHT];
	uint64_t seed = 77, resent;
	struct tb_cfg cfg;
	struct bt_case c;

	CHECK(model && acked && all && busy_sec, "malloc");
	g_queues = 2;
	th_default_cfg(&cfg, next_devid++);
	cfg.sectors = DISK / 512;
	bt_begin(&c, &T, 0, &cfg, tweak, true);
	memset(s, 0, sizeof(s));
	for (int i = 0; i < INFLIGHT; i++)
		CHECK((s[i].buf = malloc(256 << 10)) != NULL, "malloc");
	for (unsigned round = 0; round <= rounds; round++) {
		unsigned started = 0;

		while (started < per) {
			for (int i = 0; i < INFLIGHT && started < per; i++) {
				struct rslot *x = &s[i];
				bool clash;

				if (x->busy)
					continue;
				x->len = ((tu_rand(&seed) % 512) + 1) * 512;
				x->off = (tu_rand(&seed) % ((DISK - x->len) / 512 + 1)) * 512;
				clash = false;
				for (int j = 0; j < INFLIGHT; j++)
					clash |= s[j].busy && x->off < s[j].off + s[j].len &&
						 s[j].off < x->off + x->len;
				if (clash)
					continue;
				x->write = tu_rand(&seed) & 1;
				if (x->write) {
					bt_fill(x->buf, x->len, seed);
					memcpy(model + x->off, x->buf, x->len);
				}
				memset(&x->io, 0, sizeof(x->io));
				CHECK(sdrv_blkfront_submit(
					  c.f,
					  x->write ? SDRV_BLKFRONT_OP_WRITE : SDRV_BLKFRONT_OP_READ,
					  x->off, x->buf, x->len, 0, bt_done, &x->io) == 0,
				      "submit");
				x->busy = true;
				started++;
			}
			th_drive_for(c.f, 1);
			for (int i = 0; i < INFLIGHT; i++) {
				struct rslot *x = &s[i];

				if (!x->busy || !x->io.done)
					continue;
				CHECK(x->io.status == 0 && x->io.calls == 1, "I/O: %d",
				      x->io.status);
				if (x->write)
					memcpy(acked + x->off, x->buf, x->len);
				else
					CHECK(memcmp(x->buf, model + x->off, x->len) == 0,
					      "read differs from the model");
				x->busy = false;
			}
		}
		if (round == rounds)
			break;
		/* Kill now, with I/O in flight. Every acknowledged write is
		 * on the RAM disk (sectors an unacknowledged write may have
		 * touched aside). */
		th_backend_stop(&T, c.slot, true);
		memset(busy_sec, 0, DISK / 512);
		for (int i = 0; i < INFLIGHT; i++)
			if (s[i].busy && s[i].write)
				memset(busy_sec + s[i].off / 512, 1, s[i].len / 512);
		for (uint32_t k = 0; k < DISK / 512; k++)
			CHECK(busy_sec[k] || memcmp(c.disk + k * 512, acked + k * 512, 512) == 0,
			      "round %u: acknowledged sector %u is not on the disk", round, k);
		th_slot_setup(&T, c.slot, &cfg, false);
		th_backend_start(&T, c.slot);
	}
	for (int i = 0; i < INFLIGHT; i++) {
		if (!s[i].busy)
			continue;
		th_drive_until(c.f, &s[i].io.done, 20000, "the last I/Os");
		CHECK(s[i].io.status == 0, "last I/O");
	}
	CHECK(sdrv_blkfront_pread(c.f, all, DISK, 0) == 0, "full read");
	CHECK(memcmp(all, model, DISK) == 0, "disk differs from the model");
	resent = bt_stats(c.f).resent;
	printf("random: %u rounds of %u I/Os, %llu requests sent again, %llu connects\n",
	       rounds + 1, per, (unsigned long long)resent,
	       (unsigned long long)bt_stats(c.f).connects);
	CHECK(resent > 0, "something was sent again");
	CHECK(bt_stats(c.f).errors == 0, "no errors");
	for (int i = 0; i < INFLIGHT; i++)
		free(s[i].buf);
	bt_end(&c);
	g_queues = 0;
	free(model);
	free(acked);
	free(all);
	free(busy_sec);
	printf("ok random\n");
}

static void test_timeout(void)
{
	struct tb_cfg cfg;
	struct bt_case c;
	struct bt_io io[2];
	unsigned char buf[2][4096];
	struct want_held want;
	uint64_t t0;

	g_timeout = 300;
	th_default_cfg(&cfg, next_devid++);
	bt_begin(&c, &T, 0, &cfg, tweak, true);
	atomic_store(&c.ctl->hold, 1);
	memset(io, 0, sizeof(io));
	CHECK(sdrv_blkfront_submit(c.f, SDRV_BLKFRONT_OP_READ, 0, buf[0], 4096, 0, bt_done,
				   &io[0]) == 0,
	      "submit");
	want.ctl = c.ctl;
	want.n = 1;
	th_wait(c.f, held, &want, 10000, "held");
	th_backend_stop(&T, c.slot, true);
	t0 = tu_now_ns();
	/* One more while the backend is gone. */
	CHECK(sdrv_blkfront_submit(c.f, SDRV_BLKFRONT_OP_READ, 4096, buf[1], 4096, 0, bt_done,
				   &io[1]) == 0,
	      "submit while down");
	th_drive_until(c.f, &io[0].done, 10000, "the timeout");
	th_drive_until(c.f, &io[1].done, 10000, "the timeout");
	CHECK(io[0].status == -ETIMEDOUT && io[1].status == -ETIMEDOUT, "timed out (%d %d)",
	      io[0].status, io[1].status);
	CHECK(tu_now_ns() - t0 >= 250000000ull, "not before the timeout");
	printf("timeout: failed after %.2f s\n", (double)(tu_now_ns() - t0) / 1e9);
	th_slot_setup(&T, c.slot, &cfg, false);
	th_backend_start(&T, c.slot);
	th_wait(c.f, connected_again, c.f, 20000, "the reconnection");
	bt_roundtrip(c.f, 0, 8192, 4);
	bt_end(&c);
	g_timeout = 0;
	printf("ok timeout\n");
}

static void test_removed(void)
{
	for (int how = 0; how < 2; how++) {
		struct tb_cfg cfg;
		struct bt_case c;
		struct bt_io io[4];
		unsigned char buf[4][4096];
		struct want_held want;

		th_default_cfg(&cfg, next_devid++);
		bt_begin(&c, &T, 0, &cfg, tweak, true);
		atomic_store(&c.ctl->hold, 1);
		memset(io, 0, sizeof(io));
		for (int i = 0; i < 4; i++)
			CHECK(sdrv_blkfront_submit(c.f, SDRV_BLKFRONT_OP_READ, (uint64_t)i * 4096,
						   buf[i], 4096, 0, bt_done, &io[i]) == 0,
			      "submit");
		want.ctl = c.ctl;
		want.n = 4;
		th_wait(c.f, held, &want, 10000, "held");
		if (how == 0)
			th_dev_shutdown(&T, c.devid); /* online = 0, as libxl */
		else
			th_dev_remove(&T, c.devid);
		for (int i = 0; i < 4; i++) {
			th_drive_until(c.f, &io[i].done, 10000, "removal");
			CHECK(io[i].status == -ENODEV && io[i].calls == 1, "I/O %d: %d", i,
			      io[i].status);
		}
		CHECK(sdrv_blkfront_process(c.f) == -ENODEV, "process: -ENODEV");
		CHECK(sdrv_blkfront_submit(c.f, SDRV_BLKFRONT_OP_READ, 0, buf[0], 4096, 0, bt_done,
					   &io[0]) == -ENODEV,
		      "submit: -ENODEV");
		CHECK(sdrv_blkfront_wait_connected(c.f, 100) == -ENODEV, "wait: -ENODEV");
		printf("removed (%s): -ENODEV\n", how ? "directories removed" : "online = 0");
		sdrv_blkfront_free(c.f, (int)th_ms(2000));
		c.f = NULL;
		th_backend_stop(&T, c.slot, false);
		if (how == 0)
			th_dev_remove(&T, c.devid);
	}
	printf("ok removed\n");
}

static void test_free(void)
{
	struct tb_cfg cfg;
	struct bt_case c;
	struct bt_io io[8];
	unsigned char buf[8][8192];
	struct want_held want;
	int fds0, fds1;

	th_default_cfg(&cfg, next_devid++);
	fds0 = th_count_fds();
	bt_begin(&c, &T, 0, &cfg, tweak, true);
	atomic_store(&c.ctl->hold, 1);
	memset(io, 0, sizeof(io));
	for (int i = 0; i < 8; i++)
		CHECK(sdrv_blkfront_submit(
			  c.f, i & 1 ? SDRV_BLKFRONT_OP_WRITE : SDRV_BLKFRONT_OP_READ,
			  (uint64_t)i * 8192, buf[i], 8192, 0, bt_done, &io[i]) == 0,
		      "submit");
	want.ctl = c.ctl;
	want.n = 8;
	th_wait(c.f, held, &want, 10000, "held");
	sdrv_blkfront_free(c.f, (int)th_ms(200));
	c.f = NULL;
	for (int i = 0; i < 8; i++)
		CHECK(io[i].done && io[i].calls == 1 && io[i].status == -ECANCELED, "I/O %d: %d", i,
		      io[i].status);
	fds1 = th_count_fds();
	CHECK(fds1 == fds0, "descriptors: %d before, %d after", fds0, fds1);
	/* The backend saw the frontend close. */
	th_backend_stop(&T, c.slot, false);
	CHECK(atomic_load(&c.ctl->disconnects) == 1, "backend disconnected");
	th_dev_remove(&T, c.devid);
	printf("ok free\n");
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	tu_watchdog(150, "blkfront restart");
	th_start(&T, true);
	hold_and_replace(true, false);
	hold_and_replace(false, false);
	hold_and_replace(true, true);
	printf("ok kill\n");
	test_random();
	test_timeout();
	test_removed();
	test_free();
	th_stop(&T);
	return TU_PASS;
}
