/* SPDX-License-Identifier: MIT */
/*
 * Held reads (sdrv_blkfront_read_held()): the data stay in the granted
 * pages until the caller copies them, from any thread.
 *
 *   copy       with persistent grants on four queues, with a pool of 64
 *              pages and with fresh grants on one page: reads of one sector
 *              to 3 MiB, copied whole and in odd pieces, equal what was
 *              written (reads bigger than the pool, or than the parts a
 *              queue has, spill into private memory); a copy outside the
 *              read, or before its callback, is -EINVAL; a held read
 *              counts in held_ios (not inflight_ios) until released
 *   threads    reads handed to a thread that copies, checks and releases
 *              them while the frontend's thread sends more
 *   pressure   a pool of 64 pages, 48 of them held: the next 32-page read
 *              waits for pages, nothing is sent; releasing from another
 *              thread wakes sdrv_blkfront_fd() and the read completes
 *   max-ios    held reads count against max_ios: -EAGAIN until one is
 *              released
 *   release    a release that is not of a held read of this frontend (NULL,
 *              a read still in flight, one released already, a pointer into
 *              a handle or off the frontend's I/Os) is refused and changes
 *              nothing: no pages freed twice, the counts stay, the device
 *              works on
 *   restart    the backend is killed and another starts while a read is
 *              held and another is in flight: the first's data stay
 *              readable after the reconnect, the second is sent again and
 *              completes held, and the device works on with new pages
 *   broken     the backend breaks the device with a held read done and one
 *              in flight: the first stays readable, the second completes
 *              with -EIO and holds nothing
 *   free       sdrv_blkfront_free() with reads still held releases them
 *              (valgrind and ASan check that nothing leaks)
 */
#include "bftest.h"

#include <poll.h>
#include <pthread.h>
#include <unistd.h>

static struct th T;
static uint32_t next_devid = 900;
static uint32_t g_queues, g_order, g_pool, g_flags, g_max_ios;

static void tweak(struct sdrv_blkfront_opts *o)
{
	o->nr_queues = g_queues;
	o->ring_page_order = g_order;
	o->pool_pages = g_pool;
	o->flags = g_flags;
	o->max_ios = g_max_ios;
}

#define DISK (8u << 20)

static void start(struct bt_case *c, unsigned char *pattern, uint64_t seed)
{
	struct tb_cfg cfg;

	th_default_cfg(&cfg, next_devid++);
	cfg.sectors = DISK / 512;
	bt_begin(c, &T, 0, &cfg, tweak, true);
	bt_fill(pattern, DISK, seed);
	CHECK(sdrv_blkfront_pwrite(c->f, pattern, DISK, 0, 0) == 0, "fill the disk");
}

/* Submit a held read and drive until its callback ran. */
static struct sdrv_blkfront_held *held_read(struct sdrv_blkfront *f, uint64_t off, uint64_t len,
					    struct bt_io *io)
{
	struct sdrv_blkfront_held *h = NULL;
	int rc;

	memset(io, 0, sizeof(*io));
	rc = sdrv_blkfront_read_held(f, off, len, 0, bt_done, io, &h);
	CHECK(rc == 0 && h, "held read of %llu at %llu: %s", (unsigned long long)len,
	      (unsigned long long)off, strerror(-rc));
	th_drive_until(f, &io->done, 10000, "held read");
	CHECK(io->calls == 1 && io->status == 0, "held read: %s", strerror(-io->status));
	return h;
}

static void copy_case(const char *name, bool want_spill)
{
	static const uint64_t lens[] = {512, 4096, 4096 + 512, 44 * 1024, 1 << 20, 3u << 20};
	struct bt_case c;
	unsigned char *pat = malloc(DISK), *got = malloc(3u << 20);
	uint64_t seed = 11;

	CHECK(pat && got, "malloc");
	start(&c, pat, 1);
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		uint64_t len = lens[k];
		uint64_t off = (tu_rand(&seed) % ((DISK - len) / 512)) * 512;
		struct bt_io io;
		struct sdrv_blkfront_held *h;
		struct sdrv_blkfront_stats st;

		h = held_read(c.f, off, len, &io);
		st = bt_stats(c.f);
		CHECK(st.held_ios == 1 && st.inflight_ios == 0, "%s: held %u, in flight %u", name,
		      st.held_ios, st.inflight_ios);
		memset(got, 0xEE, len);
		CHECK(sdrv_blkfront_held_copy(h, 0, got, len) == 0, "copy whole");
		CHECK(memcmp(got, pat + off, len) == 0, "%s: %llu bytes at %llu differ", name,
		      (unsigned long long)len, (unsigned long long)off);
		/* Odd pieces, across pages and parts. */
		for (int i = 0; i < 8; i++) {
			uint64_t a = tu_rand(&seed) % len, n = tu_rand(&seed) % (len - a) + 1;

			memset(got, 0xEE, n);
			CHECK(sdrv_blkfront_held_copy(h, a, got, n) == 0, "copy a piece");
			CHECK(memcmp(got, pat + off + a, n) == 0, "%s: piece %llu+%llu differs",
			      name, (unsigned long long)a, (unsigned long long)n);
		}
		CHECK(sdrv_blkfront_held_copy(h, len, got, 0) == 0, "an empty copy at the end");
		CHECK(sdrv_blkfront_held_copy(h, 0, got, len + 1) == -EINVAL, "past the end");
		CHECK(sdrv_blkfront_held_copy(h, len + 1, got, 0) == -EINVAL, "start past the end");
		CHECK(sdrv_blkfront_held_copy(h, UINT64_MAX, got, 2) == -EINVAL, "wrapping range");
		CHECK(sdrv_blkfront_held_copy(h, 0, NULL, 1) == -EINVAL, "no buffer");
		CHECK(sdrv_blkfront_held_copy(NULL, 0, got, 1) == -EINVAL, "no handle");
		sdrv_blkfront_held_release(c.f, h);
		CHECK(sdrv_blkfront_poll(c.f) >= 0, "poll");
		st = bt_stats(c.f);
		CHECK(st.held_ios == 0 && st.inflight_ios == 0, "released: held %u", st.held_ios);
	}
	/* Before its callback a held read has nothing to copy. */
	{
		struct sdrv_blkfront_held *h = NULL;
		struct bt_io io = {0};

		atomic_store(&c.ctl->hold, 1);
		CHECK(sdrv_blkfront_read_held(c.f, 0, 4096, 0, bt_done, &io, &h) == 0, "submit");
		CHECK(sdrv_blkfront_held_copy(h, 0, got, 4096) == -EINVAL, "copy before done");
		atomic_store(&c.ctl->hold, 0);
		th_drive_until(c.f, &io.done, 10000, "the read");
		CHECK(sdrv_blkfront_held_copy(h, 0, got, 4096) == 0 && memcmp(got, pat, 4096) == 0,
		      "copy after done");
		sdrv_blkfront_held_release(c.f, h);
	}
	CHECK(sdrv_blkfront_read_held(c.f, 0, 4096, 0, bt_done, NULL, NULL) == -EINVAL,
	      "no handle pointer");
	CHECK(sdrv_blkfront_read_held(c.f, 1, 4096, 0, bt_done, NULL,
				      &(struct sdrv_blkfront_held *){NULL}) == -EINVAL,
	      "unaligned");
	CHECK(sdrv_blkfront_read_held(c.f, 0, 4096, SDRV_BLKFRONT_FUA, bt_done, NULL,
				      &(struct sdrv_blkfront_held *){NULL}) == -EINVAL,
	      "a write flag");
	bt_roundtrip(c.f, 0, 1 << 20, 2);
	CHECK(!want_spill || bt_stats(c.f).spilled > 0,
	      "%s: a read bigger than what it may hold was spilled", name);
	printf("copy (%s): %llu spilled\n", name, (unsigned long long)bt_stats(c.f).spilled);
	bt_end(&c);
	free(pat);
	free(got);
}

static void test_copy(void)
{
	g_queues = 4;
	g_order = 2;
	copy_case("persistent, indirect, 4 queues", false);
	g_queues = 1;
	g_pool = 64;
	copy_case("persistent, a pool of 64 pages", true);
	g_pool = 0;
	g_order = 0;
	g_flags = SDRV_BLKFRONT_NO_PERSISTENT | SDRV_BLKFRONT_NO_INDIRECT;
	copy_case("fresh grants, direct, one page", true);
	g_queues = g_order = g_flags = 0;
	printf("ok copy\n");
}

/* A thread that copies held reads, checks them and releases them. */
struct consumer {
	struct sdrv_blkfront *f;
	const unsigned char *pat;
	int fd[2];
	_Atomic unsigned checked, bad;
};

struct handoff {
	struct sdrv_blkfront_held *h;
	uint64_t off, len;
};

static void *consume(void *arg)
{
	struct consumer *k = arg;
	unsigned char *buf = malloc(1 << 20);
	struct handoff m;

	CHECK(buf, "malloc");
	while (read(k->fd[0], &m, sizeof(m)) == (ssize_t)sizeof(m)) {
		if (sdrv_blkfront_held_copy(m.h, 0, buf, m.len) != 0 ||
		    memcmp(buf, k->pat + m.off, m.len) != 0)
			atomic_fetch_add(&k->bad, 1);
		sdrv_blkfront_held_release(k->f, m.h);
		atomic_fetch_add(&k->checked, 1);
	}
	free(buf);
	return NULL;
}

#define TNIO 8

struct tslot {
	struct bt_io io;
	struct sdrv_blkfront_held *h;
	uint64_t off, len;
	bool busy;
};

static void test_threads(void)
{
	struct bt_case c;
	struct consumer k = {0};
	struct tslot s[TNIO];
	unsigned char *pat = malloc(DISK);
	unsigned n = (unsigned)tu_scaled(2000, 100), started = 0, sent = 0;
	uint64_t seed = 5;
	pthread_t th;

	CHECK(pat, "malloc");
	g_queues = 2;
	g_order = 1;
	g_pool = 96; /* the held pages make sending wait now and then */
	start(&c, pat, 3);
	k.f = c.f;
	k.pat = pat;
	CHECK(pipe(k.fd) == 0, "pipe");
	CHECK(pthread_create(&th, NULL, consume, &k) == 0, "thread");
	memset(s, 0, sizeof(s));
	while (sent < n) {
		for (int i = 0; i < TNIO && started < n; i++) {
			struct tslot *x = &s[i];
			int rc;

			if (x->busy)
				continue;
			x->len = ((tu_rand(&seed) % 64) + 1) * 4096;
			x->off = (tu_rand(&seed) % ((DISK - x->len) / 512)) * 512;
			memset(&x->io, 0, sizeof(x->io));
			rc = sdrv_blkfront_read_held(c.f, x->off, x->len, SDRV_BLKFRONT_DEFER,
						     bt_done, &x->io, &x->h);
			if (rc == -EAGAIN)
				break;
			CHECK(rc == 0, "submit: %s", strerror(-rc));
			x->busy = true;
			started++;
		}
		CHECK(sdrv_blkfront_push(c.f) == 0, "push");
		{
			struct pollfd pfd = {.fd = sdrv_blkfront_fd(c.f), .events = POLLIN};

			(void)poll(&pfd, 1, 10);
		}
		CHECK(sdrv_blkfront_process(c.f) == 0, "process");
		for (int i = 0; i < TNIO; i++) {
			struct tslot *x = &s[i];
			struct handoff m = {x->h, x->off, x->len};

			if (!x->busy || !x->io.done)
				continue;
			CHECK(x->io.status == 0 && x->io.calls == 1, "read: %s",
			      strerror(-x->io.status));
			CHECK(write(k.fd[1], &m, sizeof(m)) == (ssize_t)sizeof(m), "hand off");
			x->busy = false;
			sent++;
		}
	}
	close(k.fd[1]);
	pthread_join(th, NULL);
	close(k.fd[0]);
	CHECK(atomic_load(&k.checked) == n && atomic_load(&k.bad) == 0,
	      "%u of %u reads checked by the thread, %u wrong", atomic_load(&k.checked), n,
	      atomic_load(&k.bad));
	CHECK(sdrv_blkfront_poll(c.f) >= 0, "poll");
	CHECK(bt_stats(c.f).held_ios == 0, "all released");
	bt_roundtrip(c.f, 4096, 1 << 20, 4);
	bt_end(&c);
	g_queues = g_order = g_pool = 0;
	free(pat);
	printf("ok threads (%u reads)\n", n);
}

struct releaser {
	struct sdrv_blkfront *f;
	struct sdrv_blkfront_held *h;
};

static void *release_later(void *arg)
{
	struct releaser *r = arg;

	usleep(50000);
	sdrv_blkfront_held_release(r->f, r->h);
	return NULL;
}

static void test_pressure(void)
{
	struct bt_case c;
	unsigned char *pat = malloc(DISK), *got = malloc(32 * 4096);
	struct bt_io a, b = {0};
	struct sdrv_blkfront_held *ha, *hb = NULL;
	struct releaser r;
	struct pollfd pfd;
	uint64_t reqs;
	pthread_t th;
	int n;

	CHECK(pat && got, "malloc");
	g_queues = 1;
	g_pool = 64;
	start(&c, pat, 7);
	ha = held_read(c.f, 0, 48 * 4096, &a);
	reqs = atomic_load(&c.ctl->reqs);
	CHECK(sdrv_blkfront_read_held(c.f, 1u << 20, 32 * 4096, 0, bt_done, &b, &hb) == 0,
	      "submit");
	for (int i = 0; i < 5; i++) {
		CHECK(sdrv_blkfront_process(c.f) == 0, "process");
		usleep(2000);
	}
	CHECK(!b.done && atomic_load(&c.ctl->reqs) == reqs,
	      "the read waits for pages the held one keeps");
	/* Drain the descriptor: nothing else wakes it now. */
	CHECK(sdrv_blkfront_process(c.f) == 0, "process");
	pfd.fd = sdrv_blkfront_fd(c.f);
	pfd.events = POLLIN;
	CHECK(poll(&pfd, 1, 50) == 0, "the descriptor is quiet before the release");
	r.f = c.f;
	r.h = ha;
	CHECK(pthread_create(&th, NULL, release_later, &r) == 0, "thread");
	n = poll(&pfd, 1, (int)th_ms(5000));
	pthread_join(th, NULL);
	CHECK(n == 1, "the release woke the frontend's descriptor");
	th_drive_until(c.f, &b.done, 10000, "the waiting read");
	CHECK(b.status == 0 && sdrv_blkfront_held_copy(hb, 0, got, 32 * 4096) == 0 &&
		  memcmp(got, pat + (1u << 20), 32 * 4096) == 0,
	      "its data");
	sdrv_blkfront_held_release(c.f, hb);
	bt_end(&c);
	g_queues = g_pool = 0;
	free(pat);
	free(got);
	printf("ok pressure\n");
}

static void test_max_ios(void)
{
	struct bt_case c;
	unsigned char *pat = malloc(DISK), buf[4096];
	struct bt_io io[3];
	struct sdrv_blkfront_held *h[3];

	CHECK(pat, "malloc");
	g_max_ios = 2;
	start(&c, pat, 9);
	h[0] = held_read(c.f, 0, 4096, &io[0]);
	h[1] = held_read(c.f, 4096, 4096, &io[1]);
	CHECK(sdrv_blkfront_read_held(c.f, 8192, 4096, 0, bt_done, &io[2], &h[2]) == -EAGAIN &&
		  sdrv_blkfront_submit(c.f, SDRV_BLKFRONT_OP_READ, 0, buf, 4096, 0, bt_done,
				       &io[2]) == -EAGAIN,
	      "two held reads fill max_ios");
	sdrv_blkfront_held_release(c.f, h[0]);
	h[2] = held_read(c.f, 8192, 4096, &io[2]);
	CHECK(sdrv_blkfront_held_copy(h[1], 0, buf, 4096) == 0 && !memcmp(buf, pat + 4096, 4096) &&
		  sdrv_blkfront_held_copy(h[2], 0, buf, 4096) == 0 &&
		  !memcmp(buf, pat + 8192, 4096),
	      "data");
	sdrv_blkfront_held_release(c.f, h[1]);
	sdrv_blkfront_held_release(c.f, h[2]);
	bt_end(&c);
	g_max_ios = 0;
	free(pat);
	printf("ok max-ios\n");
}

/* What is refused must change nothing: the counts stay and every page
 * comes back exactly once (a double release would free the slot's pages
 * under its next I/O, which the data check after it would see). */
static void test_release(void)
{
	struct bt_case c;
	unsigned char *pat = malloc(DISK), buf[8192];
	struct bt_io io[3], in_flight = {0};
	struct sdrv_blkfront_held *h[3], *hf = NULL;
	struct sdrv_blkfront_stats st;
	long local;

	CHECK(pat, "malloc");
	g_max_ios = 2;
	start(&c, pat, 23);
	CHECK(sdrv_blkfront_held_release(c.f, NULL) == -EINVAL, "NULL");
	CHECK(sdrv_blkfront_held_release(NULL, NULL) == -EINVAL, "no frontend");
	/* In flight: the backend holds it; releasing it now is refused. */
	atomic_store(&c.ctl->hold, 1);
	CHECK(sdrv_blkfront_read_held(c.f, 0, 4096, 0, bt_done, &in_flight, &hf) == 0, "submit");
	CHECK(sdrv_blkfront_held_release(c.f, hf) == -EINVAL, "a read still in flight");
	atomic_store(&c.ctl->hold, 0);
	th_drive_until(c.f, &in_flight.done, 10000, "the read");
	CHECK(in_flight.status == 0 && sdrv_blkfront_held_copy(hf, 0, buf, 4096) == 0 &&
		  !memcmp(buf, pat, 4096),
	      "the refused release left it held");
	CHECK(sdrv_blkfront_held_release(c.f, hf) == 0, "released once its callback ran");
	/* Twice: refused; nothing is freed twice. */
	CHECK(sdrv_blkfront_held_release(c.f, hf) == -EINVAL, "a second release");
	CHECK(sdrv_blkfront_held_copy(hf, 0, buf, 512) == -EINVAL, "a copy after the release");
	CHECK(sdrv_blkfront_poll(c.f) >= 0, "poll");
	st = bt_stats(c.f);
	CHECK(st.held_ios == 0 && st.inflight_ios == 0, "held %u, in flight %u", st.held_ios,
	      st.inflight_ios);
	/* Pointers that are no handle: into one, off the I/Os, a local. */
	h[0] = held_read(c.f, 8192, 8192, &io[0]);
	CHECK(sdrv_blkfront_held_release(c.f, (struct sdrv_blkfront_held *)((char *)h[0] + 1)) ==
		  -EINVAL,
	      "a pointer into a handle");
	CHECK(sdrv_blkfront_held_release(c.f, (struct sdrv_blkfront_held *)&local) == -EINVAL,
	      "a pointer to a local");
	CHECK(sdrv_blkfront_held_release(c.f, (struct sdrv_blkfront_held *)((char *)h[0] - 4096)) ==
		  -EINVAL,
	      "a pointer below the I/Os");
	CHECK(bt_stats(c.f).held_ios == 1, "one held after the refusals");
	CHECK(sdrv_blkfront_held_copy(h[0], 0, buf, 8192) == 0 && !memcmp(buf, pat + 8192, 8192),
	      "the held data are intact");
	CHECK(sdrv_blkfront_held_release(c.f, h[0]) == 0, "release");
	/* max_ios is 2: both places are free again, exactly once each. */
	h[1] = held_read(c.f, 4096, 4096, &io[1]);
	h[2] = held_read(c.f, 3 << 20, 8192, &io[2]);
	CHECK(sdrv_blkfront_held_copy(h[1], 0, buf, 4096) == 0 && !memcmp(buf, pat + 4096, 4096),
	      "data after the refusals (1)");
	CHECK(sdrv_blkfront_held_copy(h[2], 0, buf, 8192) == 0 &&
		  !memcmp(buf, pat + (3 << 20), 8192),
	      "data after the refusals (2)");
	CHECK(sdrv_blkfront_held_release(c.f, h[1]) == 0 &&
		  sdrv_blkfront_held_release(c.f, h[2]) == 0,
	      "release both");
	CHECK(sdrv_blkfront_pread(c.f, buf, 8192, 1 << 20) == 0 &&
		  !memcmp(buf, pat + (1 << 20), 8192),
	      "a plain read after");
	bt_end(&c);
	g_max_ios = 0;
	free(pat);
	printf("ok release\n");
}

static bool connected_again(void *arg)
{
	return sdrv_blkfront_connected(arg) && bt_stats(arg).connects == 2;
}

static bool backend_holds(void *arg)
{
	return atomic_load(&((struct tb_ctl *)arg)->held) >= 1;
}

static void test_restart(void)
{
	struct bt_case c;
	struct tb_cfg cfg;
	unsigned char *pat = malloc(DISK), *got = malloc(1 << 20);
	struct bt_io io, io2 = {0};
	struct sdrv_blkfront_held *h, *h2 = NULL;
	struct sdrv_blkfront_stats st;

	CHECK(pat && got, "malloc");
	g_queues = 2;
	start(&c, pat, 13);
	h = held_read(c.f, 1u << 20, 1 << 20, &io);
	/* And one the old backend takes but never answers: sent again. */
	atomic_store(&c.ctl->hold, 1);
	CHECK(sdrv_blkfront_read_held(c.f, 5u << 20, 1 << 20, 0, bt_done, &io2, &h2) == 0,
	      "submit");
	th_wait(c.f, backend_holds, c.ctl, 10000, "the backend holding the second read");
	cfg = c.ctl->cfg;
	th_backend_stop(&T, c.slot, true);
	th_slot_setup(&T, c.slot, &cfg, false);
	th_backend_start(&T, c.slot);
	c.ctl = T.slot[c.slot].ctl;
	th_wait(c.f, connected_again, c.f, 20000, "the new backend");
	th_drive_until(c.f, &io2.done, 10000, "the read sent again");
	st = bt_stats(c.f);
	CHECK(io2.status == 0 && st.connects == 2 && st.held_ios == 2 && st.resent >= 1,
	      "reconnected with one read held and the other sent again (%d)", io2.status);
	CHECK(sdrv_blkfront_held_copy(h2, 0, got, 1 << 20) == 0 &&
		  memcmp(got, pat + (5u << 20), 1 << 20) == 0,
	      "the read sent again");
	sdrv_blkfront_held_release(c.f, h2);
	CHECK(sdrv_blkfront_held_copy(h, 0, got, 1 << 20) == 0 &&
		  memcmp(got, pat + (1u << 20), 1 << 20) == 0,
	      "the held data after the reconnect");
	/* New I/O uses the new connection's pages while the old are held. */
	bt_roundtrip(c.f, 2u << 20, 1 << 20, 14);
	sdrv_blkfront_held_release(c.f, h);
	bt_roundtrip(c.f, 3u << 20, 1 << 20, 15);
	st = bt_stats(c.f);
	CHECK(st.held_ios == 0, "released");
	bt_end(&c);
	g_queues = 0;
	free(pat);
	free(got);
	printf("ok restart\n");
}

static void test_broken(void)
{
	struct bt_case c;
	unsigned char *pat = malloc(DISK), *got = malloc(64 * 1024);
	struct bt_io a, b = {0};
	struct sdrv_blkfront_held *ha, *hb = NULL;

	CHECK(pat && got, "malloc");
	start(&c, pat, 17);
	ha = held_read(c.f, 0, 64 * 1024, &a);
	atomic_store(&c.ctl->evil, TB_BAD_ID);
	CHECK(sdrv_blkfront_read_held(c.f, 65536, 4096, 0, bt_done, &b, &hb) == 0, "submit");
	th_drive_until(c.f, &b.done, 10000, "the read answered with a bad id");
	CHECK(b.calls == 1 && b.status == -EIO && sdrv_blkfront_broken(c.f),
	      "-EIO and a broken device (%d)", b.status);
	CHECK(bt_stats(c.f).held_ios == 1, "only the first is held");
	CHECK(sdrv_blkfront_held_copy(ha, 0, got, 64 * 1024) == 0 &&
		  memcmp(got, pat, 64 * 1024) == 0,
	      "the first stays readable");
	sdrv_blkfront_held_release(c.f, ha);
	(void)sdrv_blkfront_process(c.f);
	CHECK(bt_stats(c.f).held_ios == 0, "released");
	bt_end(&c);
	free(pat);
	free(got);
	printf("ok broken\n");
}

static void test_free(void)
{
	struct bt_case c;
	unsigned char *pat = malloc(DISK);
	struct bt_io io[2];

	CHECK(pat, "malloc");
	g_queues = 2;
	start(&c, pat, 19);
	(void)held_read(c.f, 0, 1 << 20, &io[0]);
	(void)held_read(c.f, 4096, 8192, &io[1]);
	CHECK(bt_stats(c.f).held_ios == 2, "two held");
	bt_end(&c); /* frees the frontend with both held */
	g_queues = 0;
	free(pat);
	printf("ok free\n");
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	tu_watchdog(120, "blkfront held");
	th_start(&T, true);
	test_copy();
	test_threads();
	test_pressure();
	test_max_ios();
	test_release();
	test_restart();
	test_broken();
	test_free();
	th_stop(&T);
	return TU_PASS;
}
