/* SPDX-License-Identifier: MIT */
/*
 * blkback across real processes: the broker and the store (in one process,
 * as splitdrvd --run-store runs them), the devices written as libxl writes
 * them, blkback (the library, in a child process that reports its device
 * list through shared memory) serving image files, and frontends in their
 * own processes (tests/blkback/tfront.c: real rings and grants, but any
 * bytes the test wants in the ring).
 *
 * (The toolstack's part is done here with the library; the real daemons and
 * toolstack are exercised by tests/e2e/blk.sh.)
 *
 *   basic        every feature a frontend can negotiate, data checked
 *                against the image file: reads, writes, partial segments,
 *                a full ring in flight, flush, barriers, discard (a hole)
 *   multi        a 4-page ring and 2 queues; the x86_32 and arm ABIs
 *   indirect     256 segments in one request; more than offered refused
 *   nonpersist   without persistent grants: each request maps its pages
 *   readonly     a read-only device: reads served, writes/flush refused
 *   hostile      bad grant refs, a read-only grant for a read, too many or
 *                no segments, inverted or out-of-page sectors, sectors past
 *                the end (also overflowing), unknown operations, bad
 *                indirect requests: each gets its error response, the ring
 *                stays usable, the device stays up
 *   bad keys     an unknown `protocol`; a ring-ref that is no number,
 *                empty, too big or no grant; an event-channel that is no
 *                number or no port; a ring-page-order above the offer or no
 *                number; 0 or 99 queues; a feature-persistent that is no
 *                number: each
 *                closes the device without connecting; then a good
 *                frontend connects and its I/O is right
 *   bad images   toolstack keys that name no image: params a FIFO (read
 *                only, where open would wait for a writer for ever), a
 *                directory, a missing file; mode neither r nor w: each
 *                device is disabled with a reason, the others serve
 *   index        a frontend whose req_prod claims 1000 requests: its device
 *                closes with a reason while another frontend's device keeps
 *                serving I/O the whole time
 *   storm        200,000 notifications with no requests cost blkback a
 *                bounded amount of CPU (late EOI), then I/O still works
 *   fe-kill      a frontend killed with I/O in flight: blkback stops its
 *                queues, leaks no descriptor, and a new frontend reconnects
 *   be-restart   blkback killed with SIGKILL after a write and a flush were
 *                acknowledged: the data is in the image; a new blkback
 *                serves the same frontend, which reconnects by itself
 *   shutdown     sdrv_blkback_free() closes every device orderly
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <splitdrv/blkback.h>

#include "../common/thv.h"
#include "../common/tutil.h"
#include "tfront.h"

#define PAGE   4096u
#define IMG_MB 32u
#define NDEVS  16
#define XVDA   51712u
#define BE     0

struct shared {
	_Atomic int stop, ready, generation;
	_Atomic uint64_t cpu_us; /* blkback's user+system time */
	_Atomic uint32_t ndevs;
	_Atomic int nfds;
	struct sdrv_blkback_dev_info devs[NDEVS];
	char broken[NDEVS][160];
	_Atomic int lock; /* seqlock-ish: odd while devs is being written */
};

static struct shared *sh;
static char tmp[64], broker[128], store[128];
static pid_t hv_pid, bb_pid;
static int failures;

#define CHECK(c, ...)                                                                              \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "FAIL %s:%d: %s: ", __func__, __LINE__, #c);               \
			fprintf(stderr, __VA_ARGS__);                                              \
			fprintf(stderr, "\n");                                                     \
			return 1;                                                                  \
		}                                                                                  \
	} while (0)

/* ------------------------------ helpers ------------------------------- */

static void img_path(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s.img", tmp, name);
}

/* An image whose sector s starts with the stamp "S<s>" */
static void make_image(const char *name)
{
	char p[128];
	int fd;
	static char sec[512];

	img_path(p, sizeof(p), name);
	fd = open(p, O_CREAT | O_RDWR | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)IMG_MB << 20) != 0)
		exit(1);
	for (uint32_t s = 0; s < 8192; s++) { /* the first 4 MiB */
		memset(sec, (int)(s & 0xff), sizeof(sec));
		snprintf(sec, 16, "S%u", s);
		if (pwrite(fd, sec, sizeof(sec), (off_t)s * 512) != 512)
			exit(1);
	}
	close(fd);
}

static int img_read(const char *name, void *buf, size_t len, uint64_t off)
{
	char p[128];
	int fd;
	ssize_t n;

	img_path(p, sizeof(p), name);
	fd = open(p, O_RDONLY);
	if (fd < 0)
		return -1;
	n = pread(fd, buf, len, (off_t)off);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

static uint32_t vdev_id(const char *vdev);

/* The toolstack's part (dom0: this process is root, and holds no domain at
 * the broker): the device directories as libxl writes them, then the
 * backend's keys, which blkback waits for. The real toolstack, splitdrv,
 * is exercised by tests/e2e/blk.sh. */
static void add_device(sdrv_domid_t fe, const char *vdev, const char *img, const char *mode)
{
	struct sdrv_xs_opts so = {.sz = sizeof(so), .timeout_ms = 20000};
	struct sdrv_xenbus_dev dev = {.sz = sizeof(dev), .type = "vbd", .fe = fe, .be = BE};
	struct sdrv_xs *xs = sdrv_xs_open(store, &so);
	char p[128], dir[128], name[32];

	dev.id = vdev_id(vdev);
	img_path(p, sizeof(p), img);
	snprintf(dir, sizeof(dir), "/local/domain/%u/backend/vbd/%u/%u", BE, fe, dev.id);
	snprintf(name, sizeof(name), "/local/domain/%u/name", fe);
	if (!xs || sdrv_xs_write_str(xs, 0, name, "guest") < 0 ||
	    sdrv_xenbus_dev_create(xs, &dev) < 0 ||
	    sdrv_xenbus_write_str(xs, 0, dir, "mode", mode) < 0 ||
	    sdrv_xenbus_write_str(xs, 0, dir, "params", p) < 0) {
		fprintf(stderr, "FAIL: cannot create %s of domain %u\n", vdev, fe);
		exit(1);
	}
	sdrv_xs_close(xs);
}

static uint32_t vdev_id(const char *vdev)
{
	return XVDA + (uint32_t)(vdev[3] - 'a') * 16;
}

/* The device blkback reports for (fe, devid), copied; 0 or -1 if none. */
static int dev_info(sdrv_domid_t fe, uint32_t devid, struct sdrv_blkback_dev_info *out,
		    char *broken, size_t blen)
{
	for (int tries = 0; tries < 1000; tries++) {
		int g = atomic_load(&sh->lock);
		int found = -1;

		if (g & 1)
			continue;
		for (uint32_t i = 0; i < atomic_load(&sh->ndevs) && i < NDEVS; i++)
			if (sh->devs[i].frontend == fe && sh->devs[i].devid == devid) {
				*out = sh->devs[i];
				if (broken)
					snprintf(broken, blen, "%s", sh->broken[i]);
				found = 0;
			}
		if (atomic_load(&sh->lock) == g)
			return found;
	}
	return -1;
}

static int wait_dev(sdrv_domid_t fe, uint32_t devid,
		    int (*pred)(const struct sdrv_blkback_dev_info *), int ms)
{
	struct sdrv_blkback_dev_info d;

	for (int i = 0; i < ms / 10; i++) {
		if (dev_info(fe, devid, &d, NULL, 0) == 0 && pred(&d))
			return 0;
		usleep(10000);
	}
	return -1;
}

/* ------------------------------- blkback ------------------------------ */

static void bb_log(void *ctx, int level, const char *msg)
{
	(void)ctx;
	if (level <= LOG_NOTICE || getenv("SDRV_TEST_VERBOSE"))
		fprintf(stderr, "blkback: %s\n", msg);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;
}

static void publish_list(struct sdrv_blkback *b)
{
	struct sdrv_blkback_dev_info d[NDEVS];
	uint32_t n = sdrv_blkback_list(b, d, NDEVS);
	struct rusage ru;

	atomic_fetch_add(&sh->lock, 1);
	for (uint32_t i = 0; i < n && i < NDEVS; i++) {
		sh->devs[i] = d[i];
		snprintf(sh->broken[i], sizeof(sh->broken[i]), "%s",
			 d[i].broken ? d[i].broken : "");
		sh->devs[i].broken = NULL;
	}
	atomic_store(&sh->ndevs, n);
	atomic_fetch_add(&sh->lock, 1);
	getrusage(RUSAGE_SELF, &ru);
	atomic_store(&sh->cpu_us, (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
				      (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec));
	atomic_store(&sh->nfds, count_fds());
}

static int blkback_main(void)
{
	struct sdrv_xport_opts xo = {.sz = sizeof(xo),
				     .address = broker,
				     .domid = BE,
				     .flags = SDRV_XPORT_PRIVILEGED,
				     .grant_pages = 16};
	struct sdrv_xs_opts so = {.sz = sizeof(so), .timeout_ms = 20000};
	struct sdrv_blkback_opts bo = {.sz = sizeof(bo), .log = bb_log};
	struct sdrv_xport *x;
	struct sdrv_xs *xs;
	struct sdrv_blkback *b;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (!(x = sdrv_xport_open("posix", &xo)) || !(xs = sdrv_xs_open(store, &so))) {
		fprintf(stderr, "blkback: cannot join: %s\n", strerror(errno));
		return 1;
	}
	bo.xport = x;
	bo.xs = xs;
	if (!(b = sdrv_blkback_new(&bo))) {
		fprintf(stderr, "blkback: sdrv_blkback_new: %s\n", strerror(errno));
		return 1;
	}
	atomic_fetch_add(&sh->generation, 1);
	atomic_store(&sh->ready, 1);
	while (!atomic_load(&sh->stop)) {
		struct pollfd pfd = {.fd = sdrv_blkback_fd(b), .events = POLLIN};
		int r;

		poll(&pfd, 1, 20);
		if ((r = sdrv_blkback_process(b)) < 0) {
			fprintf(stderr, "blkback: process: %s\n", strerror(-r));
			return 1;
		}
		publish_list(b);
	}
	sdrv_blkback_free(b, 3000);
	sdrv_xs_close(xs);
	sdrv_xport_close(x);
	return 0;
}

static void start_blkback(void)
{
	atomic_store(&sh->ready, 0);
	atomic_store(&sh->stop, 0);
	bb_pid = fork();
	if (bb_pid == 0)
		_exit(blkback_main());
	for (int i = 0; i < 2000 && !atomic_load(&sh->ready); i++)
		usleep(5000);
	if (!atomic_load(&sh->ready)) {
		fprintf(stderr, "FAIL: blkback did not start\n");
		exit(1);
	}
}

/* ------------------------------ frontends ----------------------------- */

static struct tf_opts fopts(sdrv_domid_t dom, const char *vdev)
{
	struct tf_opts o = {.broker = broker,
			    .domid = dom,
			    .backend = BE,
			    .devid = vdev_id(vdev),
			    .nr_queues = 1,
			    .persistent = true,
			    .data_pages = 600};
	return o;
}

static bool twice_connected(struct tf *t)
{
	return t->connects >= 2 && t->connected;
}

static bool backend_closed(struct tf *t)
{
	enum sdrv_xenbus_state s = tf_back_state(t);

	return s == SDRV_XENBUS_CLOSING || s == SDRV_XENBUS_CLOSED;
}

/* Closed in answer to our keys (not still Closed from a frontend before). */
static bool refused(struct tf *t)
{
	return t->published && backend_closed(t);
}

static void fill(struct tf *t, uint32_t page, uint32_t n, unsigned seed)
{
	for (size_t i = 0; i < (size_t)n * PAGE; i++)
		t->data[(size_t)page * PAGE + i] =
		    (unsigned char)((i * 31 + seed * 7 + (i >> 12)) ^ seed);
}

/* Write n pages from data page `page` at `sector`, read them back into
 * `back`, and compare with the image file. */
static int write_read(struct tf *t, unsigned qi, const char *img, uint64_t sector, uint32_t page,
		      uint32_t n, uint32_t back, unsigned seed)
{
	struct sdrv_blkif_req r;
	static unsigned char file[SDRV_BLKIF_MAX_SEGMENTS_PER_REQUEST * PAGE];
	static uint64_t id = 1;

	fill(t, page, n, seed);
	tf_req(t, &r, SDRV_BLKIF_OP_WRITE, id++, sector, page, n);
	CHECK(tf_do(t, qi, &r) == SDRV_BLKIF_RSP_OKAY, "write at %llu", (unsigned long long)sector);
	CHECK(img_read(img, file, (size_t)n * PAGE, sector * 512) == 0, "image read");
	CHECK(memcmp(file, t->data + (size_t)page * PAGE, (size_t)n * PAGE) == 0,
	      "the image does not hold what was written");
	memset(t->data + (size_t)back * PAGE, 0xee, (size_t)n * PAGE);
	tf_req(t, &r, SDRV_BLKIF_OP_READ, id++, sector, back, n);
	CHECK(tf_do(t, qi, &r) == SDRV_BLKIF_RSP_OKAY, "read");
	CHECK(memcmp(t->data + (size_t)back * PAGE, t->data + (size_t)page * PAGE,
		     (size_t)n * PAGE) == 0,
	      "read back differs");
	return 0;
}

static int fe_basic(void)
{
	struct tf t;
	struct sdrv_blkif_req r;
	struct sdrv_blkif_rsp rsp;
	struct tf_opts o = fopts(1, "xvda");
	static unsigned char file[PAGE * 8];
	char p[128];
	struct stat st0, st1;
	uint32_t nents;
	bool seen[64] = {false};

	CHECK(tf_open(&t, &o) == 0, "tf_open");
	CHECK(tf_wait_connected(&t, 10000) == 0, "connect");
	CHECK(t.sectors == ((uint64_t)IMG_MB << 20) / 512, "sectors %llu",
	      (unsigned long long)t.sectors);
	CHECK(t.f_flush && t.f_barrier && t.f_discard && t.f_persistent, "features");
	CHECK(t.max_indirect == 256, "indirect %llu", (unsigned long long)t.max_indirect);
	CHECK(t.sector_size == 512 && t.info == 0, "sector-size/info");

	/* reads of what the image holds, whole and partial pages */
	tf_req(&t, &r, SDRV_BLKIF_OP_READ, 7, 16, 0, 11);
	CHECK(tf_do(&t, 0, &r) == SDRV_BLKIF_RSP_OKAY, "read");
	CHECK(img_read("d0", file, PAGE * 8, 16 * 512) == 0, "image");
	CHECK(memcmp(t.data, file, PAGE * 8) == 0 && strcmp((char *)t.data, "S16") == 0,
	      "read data");
	tf_req(&t, &r, SDRV_BLKIF_OP_READ, 8, 100, 40, 2);
	r.seg[0].first_sect = 3; /* 5 sectors into bytes 1536.. of page 40 */
	r.seg[1].first_sect = 0;
	r.seg[1].last_sect = 0; /* then 1 sector into page 41 */
	memset(t.data + 40 * PAGE, 0, 2 * PAGE);
	CHECK(tf_do(&t, 0, &r) == SDRV_BLKIF_RSP_OKAY, "partial read");
	CHECK(strcmp((char *)t.data + 40 * PAGE + 3 * 512, "S100") == 0 &&
		  strcmp((char *)t.data + 41 * PAGE, "S105") == 0 && t.data[40 * PAGE] == 0,
	      "partial segments land where they should");

	/* writes, checked in the file and read back */
	for (int i = 0; i < 20; i++)
		if (write_read(&t, 0, "d0", 1000 + (uint64_t)i * 97, 100, 1 + i % 11, 200, i))
			return 1;

	/* a full ring in flight */
	nents = sdrv_ring_nr_ents(&t.q[0].r);
	CHECK(nents == 32, "one page holds 32 entries, not %u", nents);
	for (uint32_t i = 0; i < nents; i++) {
		tf_req(&t, &r, SDRV_BLKIF_OP_READ, 100 + i, (uint64_t)i * 8, 300 + i, 1);
		CHECK(tf_put(&t, 0, &r) == 0, "put");
	}
	CHECK(sdrv_ring_front_free(&t.q[0].r) == 0, "ring full");
	for (uint32_t i = 0; i < nents; i++) {
		CHECK(tf_get(&t, 0, &rsp, 10000) == 1, "response %u", i);
		CHECK(rsp.status == 0 && rsp.id >= 100 && rsp.id < 100 + nents &&
			  !seen[rsp.id - 100],
		      "response id %llu", (unsigned long long)rsp.id);
		seen[rsp.id - 100] = true;
	}
	for (uint32_t i = 0; i < nents; i++) {
		char want[16];

		snprintf(want, sizeof(want), "S%u", i * 8);
		CHECK(strcmp((char *)t.data + (300 + i) * PAGE, want) == 0, "parallel read %u", i);
	}

	/* flush; barriers with and without data */
	tf_req(&t, &r, SDRV_BLKIF_OP_FLUSH_DISKCACHE, 9, 0, 0, 0);
	CHECK(tf_do(&t, 0, &r) == SDRV_BLKIF_RSP_OKAY, "flush");
	fill(&t, 100, 4, 99);
	for (int i = 0; i < 8; i++) { /* writes, then a barrier behind them */
		tf_req(&t, &r, SDRV_BLKIF_OP_WRITE, 400 + i, 5000 + (uint64_t)i * 8, 100 + i % 4,
		       1);
		tf_put(&t, 0, &r);
	}
	tf_req(&t, &r, SDRV_BLKIF_OP_WRITE_BARRIER, 10, 6000, 100, 4);
	tf_put(&t, 0, &r);
	for (int i = 0; i < 9; i++) {
		CHECK(tf_get(&t, 0, &rsp, 10000) == 1 && rsp.status == 0, "barrier batch %d", i);
		if (rsp.id == 10)
			CHECK(i == 8, "the barrier was answered before the writes ahead of it");
	}
	CHECK(img_read("d0", file, PAGE * 4, 6000 * 512) == 0 &&
		  memcmp(file, t.data + 100 * PAGE, PAGE * 4) == 0,
	      "barrier data");
	tf_req(&t, &r, SDRV_BLKIF_OP_WRITE_BARRIER, 11, 0, 0, 0);
	CHECK(tf_do(&t, 0, &r) == SDRV_BLKIF_RSP_OKAY, "empty barrier");

	/* discard punches a hole: fewer blocks, zeros read back */
	img_path(p, sizeof(p), "d0");
	fill(&t, 100, 11, 5);
	for (int i = 0; i < 24; i++) {
		tf_req(&t, &r, SDRV_BLKIF_OP_WRITE, 500 + i, 32768 + (uint64_t)i * 88, 100, 11);
		CHECK(tf_do(&t, 0, &r) == 0, "fill before discard");
	}
	stat(p, &st0);
	memset(&r, 0, sizeof(r));
	r.operation = SDRV_BLKIF_OP_DISCARD;
	r.id = 12;
	r.sector_number = 32768;
	r.nr_sectors = 2048; /* 1 MiB */
	r.handle = (uint16_t)o.devid;
	CHECK(tf_do(&t, 0, &r) == SDRV_BLKIF_RSP_OKAY, "discard");
	stat(p, &st1);
	CHECK(st1.st_blocks + 2000 <= st0.st_blocks, "no hole: %lld -> %lld blocks",
	      (long long)st0.st_blocks, (long long)st1.st_blocks);
	tf_req(&t, &r, SDRV_BLKIF_OP_READ, 13, 32768, 100, 1);
	CHECK(tf_do(&t, 0, &r) == 0, "read the hole");
	for (uint32_t i = 0; i < PAGE; i++)
		CHECK(t.data[100 * PAGE + i] == 0, "the hole reads %u at %u",
		      t.data[100 * PAGE + i], i);

	tf_close(&t, 5000);
	return 0;
}

static int fe_multi(void)
{
	struct tf t;
	struct tf_opts o = fopts(1, "xvda");
	const char *abis[] = {NULL, "x86_32-abi", "arm-abi", "x86_64-abi"};

	o.order = 2;
	o.nr_queues = 2;
	CHECK(tf_open(&t, &o) == 0, "tf_open");
	CHECK(tf_wait_connected(&t, 10000) == 0, "connect");
	CHECK(sdrv_ring_nr_ents(&t.q[0].r) == 128, "4 pages hold 128 entries");
	for (int i = 0; i < 10; i++)
		if (write_read(&t, (unsigned)i % 2, "d0", 9000 + (uint64_t)i * 100, 0, 11, 20,
			       40 + i))
			return 1;
	tf_close(&t, 5000);
	for (int a = 1; a < 4; a++) {
		o = fopts(1, "xvda");
		o.protocol = abis[a];
		CHECK(tf_open(&t, &o) == 0, "tf_open %s", abis[a]);
		CHECK(tf_wait_connected(&t, 10000) == 0, "connect %s", abis[a]);
		CHECK(t.esz == (a == 1 ? 108u : 112u), "entry size");
		for (int i = 0; i < 4; i++)
			if (write_read(&t, 0, "d0", 12000 + (uint64_t)i * 100 + a * 1000, 0,
				       1 + i * 3, 20, 70 + i))
				return 1;
		tf_close(&t, 5000);
	}
	return 0;
}

static int fe_indirect(void)
{
	struct tf t;
	struct tf_opts o = fopts(1, "xvda");
	struct sdrv_blkif_req r;
	static unsigned char file[256 * PAGE];

	CHECK(tf_open(&t, &o) == 0, "tf_open");
	CHECK(tf_wait_connected(&t, 10000) == 0, "connect");
	fill(&t, 0, 256, 3);
	tf_req_indirect(&t, &r, SDRV_BLKIF_OP_WRITE, 1, 20000, 0, 256, 590);
	CHECK(tf_do(&t, 0, &r) == SDRV_BLKIF_RSP_OKAY, "indirect write");
	CHECK(img_read("d0", file, sizeof(file), 20000 * 512) == 0 &&
		  memcmp(file, t.data, sizeof(file)) == 0,
	      "1 MiB in one request");
	memset(t.data + 256 * PAGE, 0, 256 * PAGE);
	tf_req_indirect(&t, &r, SDRV_BLKIF_OP_READ, 2, 20000, 256, 256, 591);
	CHECK(tf_do(&t, 0, &r) == SDRV_BLKIF_RSP_OKAY, "indirect read");
	CHECK(memcmp(t.data + 256 * PAGE, t.data, 256 * PAGE) == 0, "indirect read data");
	/* more segments than offered */
	tf_req_indirect(&t, &r, SDRV_BLKIF_OP_READ, 3, 20000, 0, 300, 592);
	CHECK(tf_do(&t, 0, &r) == SDRV_BLKIF_RSP_ERROR, "300 > 256 segments");
	tf_close(&t, 5000);
	return 0;
}

static int fe_nonpersist(void)
{
	struct tf t;
	struct tf_opts o = fopts(1, "xvda");

	o.persistent = false;
	CHECK(tf_open(&t, &o) == 0, "tf_open");
	CHECK(tf_wait_connected(&t, 10000) == 0, "connect");
	for (int i = 0; i < 10; i++)
		if (write_read(&t, 0, "d0", 30000 + (uint64_t)i * 90, 0, 11, 20, 90 + i))
			return 1;
	tf_close(&t, 5000);
	return 0;
}

static int fe_readonly(void)
{
	struct tf t;
	struct tf_opts o = fopts(6, "xvde");
	struct sdrv_blkif_req r;

	CHECK(tf_open(&t, &o) == 0, "tf_open");
	CHECK(tf_wait_connected(&t, 10000) == 0, "connect");
	CHECK(t.info & SDRV_BLKIF_VDISK_READONLY, "info %llu", (unsigned long long)t.info);
	CHECK(!t.f_discard, "a read-only device offers no discard");
	tf_req(&t, &r, SDRV_BLKIF_OP_READ, 1, 64, 0, 1);
	CHECK(tf_do(&t, 0, &r) == 0 && strcmp((char *)t.data, "S64") == 0, "read");
	tf_req(&t, &r, SDRV_BLKIF_OP_WRITE, 2, 64, 0, 1);
	CHECK(tf_do(&t, 0, &r) == SDRV_BLKIF_RSP_ERROR, "write refused");
	tf_req(&t, &r, SDRV_BLKIF_OP_FLUSH_DISKCACHE, 3, 0, 0, 0);
	CHECK(tf_do(&t, 0, &r) == SDRV_BLKIF_RSP_ERROR, "flush refused");
	memset(&r, 0, sizeof(r));
	r.operation = SDRV_BLKIF_OP_DISCARD;
	r.id = 4;
	r.nr_sectors = 8;
	CHECK(tf_do(&t, 0, &r) == SDRV_BLKIF_RSP_EOPNOTSUPP, "discard not offered");
	tf_close(&t, 5000);
	return 0;
}

/* Raw native entries the encoder would refuse to write. The response is
 * read raw too: for an unknown operation blkback echoes it, as Linux's
 * does, and a frontend's decoder rightly refuses that. */
static int raw_status(struct tf *t, const struct sdrv_blkif_request *q, uint64_t id)
{
	unsigned char e[SDRV_BLKIF_ENTRY_SIZE] = {0};
	struct sdrv_blkif_response rsp;

	memcpy(e, q, sizeof(*q));
	tf_put_raw(t, 0, e);
	if (tf_get_raw(t, 0, e, 10000) != 1)
		return -1000;
	memcpy(&rsp, e, sizeof(rsp));
	if (rsp.id != id)
		return -1002;
	if (rsp.operation != (q->operation == SDRV_BLKIF_OP_INDIRECT
				  ? ((const struct sdrv_blkif_request_indirect *)q)->indirect_op
				  : q->operation))
		return -1003;
	for (size_t i = sizeof(rsp); i < sizeof(e); i++)
		if (e[i])
			return -1004; /* the rest of the entry must be zero (XSA-216) */
	return rsp.status;
}

static int fe_hostile(void)
{
	struct tf t;
	struct tf_opts o = fopts(1, "xvda");
	struct sdrv_blkif_request q;
	struct sdrv_blkif_request_indirect *ind = (struct sdrv_blkif_request_indirect *)&q;
	struct sdrv_blkif_request_discard *dis = (struct sdrv_blkif_request_discard *)&q;
	struct sdrv_blkif_req r;
	sdrv_grant_ref_t ro_ref;
	void *ro_page;
	uint64_t id = 1000;

	CHECK(tf_open(&t, &o) == 0, "tf_open");
	CHECK(tf_wait_connected(&t, 10000) == 0, "connect");
	ro_page = sdrv_gnt_share(t.x, BE, 1, false, &ro_ref);
	CHECK(ro_page, "read-only grant");

#define BASE(op_, n_)                                                                              \
	do {                                                                                       \
		memset(&q, 0, sizeof(q));                                                          \
		q.operation = (op_);                                                               \
		q.nr_segments = (n_);                                                              \
		q.id = ++id;                                                                       \
		q.sector_number = 30008;                                                           \
		for (int s_ = 0; s_ < 11; s_++) {                                                  \
			q.seg[s_].gref = t.drefs[s_];                                              \
			q.seg[s_].last_sect = 7;                                                   \
		}                                                                                  \
	} while (0)
#define EXPECT(st, what)                                                                           \
	do {                                                                                       \
		int got_ = raw_status(&t, &q, id);                                                 \
		CHECK(got_ == (st), "%s (operation %u): status %d", what, q.operation, got_);      \
	} while (0)

	BASE(SDRV_BLKIF_OP_READ, 1);
	EXPECT(SDRV_BLKIF_RSP_OKAY, "a good read first");
	BASE(SDRV_BLKIF_OP_READ, 1);
	q.seg[0].gref = 999999;
	EXPECT(SDRV_BLKIF_RSP_ERROR, "a gref that does not exist");
	BASE(SDRV_BLKIF_OP_WRITE, 2);
	q.seg[1].gref = 7; /* a reserved ref, never granted */
	EXPECT(SDRV_BLKIF_RSP_ERROR, "a gref not granted");
	BASE(SDRV_BLKIF_OP_READ, 1);
	q.seg[0].gref = ro_ref;
	EXPECT(SDRV_BLKIF_RSP_ERROR, "reading into a read-only grant");
	BASE(SDRV_BLKIF_OP_WRITE, 1);
	q.seg[0].gref = ro_ref;
	EXPECT(SDRV_BLKIF_RSP_OKAY, "writing from a read-only grant is fine");
	BASE(SDRV_BLKIF_OP_READ, 12);
	EXPECT(SDRV_BLKIF_RSP_ERROR, "12 segments");
	BASE(SDRV_BLKIF_OP_READ, 200);
	EXPECT(SDRV_BLKIF_RSP_ERROR, "200 segments");
	BASE(SDRV_BLKIF_OP_WRITE, 0);
	EXPECT(SDRV_BLKIF_RSP_ERROR, "a write of no segments");
	BASE(SDRV_BLKIF_OP_READ, 3);
	q.seg[1].first_sect = 5;
	q.seg[1].last_sect = 3;
	EXPECT(SDRV_BLKIF_RSP_ERROR, "first_sect > last_sect");
	BASE(SDRV_BLKIF_OP_READ, 1);
	q.seg[0].last_sect = 8;
	EXPECT(SDRV_BLKIF_RSP_ERROR, "last_sect past the page");
	BASE(SDRV_BLKIF_OP_READ, 2);
	q.sector_number = t.sectors - 8;
	EXPECT(SDRV_BLKIF_RSP_ERROR, "sectors past the end");
	BASE(SDRV_BLKIF_OP_WRITE, 11);
	q.sector_number = UINT64_MAX - 20;
	EXPECT(SDRV_BLKIF_RSP_ERROR, "a sector range that overflows");
	BASE(SDRV_BLKIF_OP_READ, 1);
	q.sector_number = t.sectors - 8;
	EXPECT(SDRV_BLKIF_RSP_OKAY, "the last page is fine");
	for (int op = 4; op < 256; op += op < 10 ? 1 : 61) {
		if (op == SDRV_BLKIF_OP_DISCARD || op == SDRV_BLKIF_OP_INDIRECT)
			continue;
		BASE((uint8_t)op, 1);
		EXPECT(SDRV_BLKIF_RSP_EOPNOTSUPP, "an unknown operation");
	}
	/* indirect */
	BASE(SDRV_BLKIF_OP_INDIRECT, 0);
	ind->indirect_op = SDRV_BLKIF_OP_WRITE_BARRIER;
	ind->nr_segments = 8;
	ind->indirect_grefs[0] = t.drefs[590];
	EXPECT(SDRV_BLKIF_RSP_EOPNOTSUPP, "indirect barrier");
	BASE(SDRV_BLKIF_OP_INDIRECT, 0);
	ind->indirect_op = SDRV_BLKIF_OP_READ;
	ind->nr_segments = 0;
	EXPECT(SDRV_BLKIF_RSP_ERROR, "indirect with no segments");
	tf_req_indirect(&t, &r, SDRV_BLKIF_OP_READ, 0, 8, 0, 16, 590);
	BASE(SDRV_BLKIF_OP_INDIRECT, 0);
	ind->indirect_op = SDRV_BLKIF_OP_READ;
	ind->nr_segments = 16;
	ind->sector_number = 8;
	ind->indirect_grefs[0] = 999999;
	EXPECT(SDRV_BLKIF_RSP_ERROR, "indirect page not granted");
	ind->id = ++id;
	ind->indirect_grefs[0] = t.drefs[590];
	((struct sdrv_blkif_request_segment *)(t.data + 590 * PAGE))[5].last_sect = 9;
	EXPECT(SDRV_BLKIF_RSP_ERROR, "an indirect descriptor past the page");
	((struct sdrv_blkif_request_segment *)(t.data + 590 * PAGE))[5].last_sect = 7;
	ind->id = ++id;
	EXPECT(SDRV_BLKIF_RSP_OKAY, "the mended indirect request");
	/* discard */
	memset(&q, 0, sizeof(q));
	dis->operation = SDRV_BLKIF_OP_DISCARD;
	dis->id = ++id;
	dis->sector_number = t.sectors - 4;
	dis->nr_sectors = 8;
	EXPECT(SDRV_BLKIF_RSP_ERROR, "discard past the end");
	/* still fine */
	BASE(SDRV_BLKIF_OP_READ, 11);
	EXPECT(SDRV_BLKIF_RSP_OKAY, "a good read last");
	CHECK(tf_back_state(&t) == SDRV_XENBUS_CONNECTED, "the device stays up");
#undef BASE
#undef EXPECT
	tf_close(&t, 5000);
	return 0;
}

/* A frontend of domain 3 (xvdb) whose key `key` is `val`: blkback closes
 * the device without connecting. The key is removed afterwards (the
 * device directory stays for the next frontend). */
static int badkey(const char *key, const char *val)
{
	struct tf t;
	struct tf_opts o = fopts(3, "xvdb");
	enum sdrv_xenbus_state s;
	char path[SDRV_XENBUS_PATH_MAX];

	o.bad_key = key;
	o.bad_val = val;
	CHECK(tf_open(&t, &o) == 0, "tf_open");
	tf_poll_until(&t, refused, 10000);
	s = tf_back_state(&t);
	CHECK(t.published && (s == SDRV_XENBUS_CLOSING || s == SDRV_XENBUS_CLOSED),
	      "%s = \"%s\": backend state %s", key, val, sdrv_xenbus_state_name(s));
	CHECK(!t.connected, "%s = \"%s\": connected anyway", key, val);
	snprintf(path, sizeof(path), "%s/%s", sdrv_xenbus_front_dir(t.xf), key);
	CHECK(sdrv_xs_rm(t.xs, 0, path) == 0, "removing %s", path);
	tf_close(&t, 2000);
	return 0;
}

/* Hostile frontend keys, one at a time; then a good frontend connects. */
static int fe_badkeys(void)
{
	static const char *const cases[][2] = {
	    {"protocol", "sparc64-abi"},
	    {"ring-ref", "abc"},
	    {"ring-ref", ""},
	    {"ring-ref", "4294967296"},
	    {"ring-ref", "5000"}, /* a number, no grant of ours */
	    {"event-channel", "x"},
	    {"event-channel", "70000"}, /* no such port */
	    {"ring-page-order", "9"},	/* more than offered */
	    {"ring-page-order", "x"},
	    {"multi-queue-num-queues", "0"},
	    {"multi-queue-num-queues", "99"},
	    {"feature-persistent", "yes"},
	};
	struct tf t;
	struct tf_opts o = fopts(3, "xvdb");

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (badkey(cases[i][0], cases[i][1]) != 0)
			return 1;
	CHECK(tf_open(&t, &o) == 0, "tf_open");
	CHECK(tf_wait_connected(&t, 10000) == 0, "a good frontend after the bad keys");
	CHECK(write_read(&t, 0, "d1", 3000, 0, 3, 5, 41) == 0, "I/O after the bad keys");
	tf_close(&t, 5000);
	return 0;
}

/* A frontend that keeps doing I/O until told to stop (index test). */
static _Atomic int *keep_going;

static int fe_worker(void)
{
	struct tf t;
	struct tf_opts o = fopts(1, "xvda");
	int n = 0;

	CHECK(tf_open(&t, &o) == 0, "tf_open");
	CHECK(tf_wait_connected(&t, 10000) == 0, "connect");
	atomic_store(&keep_going[1], 1);
	while (atomic_load(&keep_going[0]) || n < 10) {
		if (write_read(&t, 0, "d0", 40000 + (uint64_t)(n % 50) * 88, 0, 1 + n % 11, 20, n))
			return 1;
		n++;
	}
	tf_close(&t, 5000);
	/* the loop makes at least 10 round trips, each checked above (under
	 * valgrind the hostile neighbour may be done before the 11th) */
	return n >= 10 ? 0 : 1;
}

static int fe_index(void)
{
	struct tf t;
	struct tf_opts o = fopts(4, "xvdc");
	enum sdrv_xenbus_state s = SDRV_XENBUS_UNKNOWN;

	CHECK(tf_open(&t, &o) == 0, "tf_open");
	CHECK(tf_wait_connected(&t, 10000) == 0, "connect");
	t.q[0].r.sring->req_prod += 1000;
	sdrv_evtchn_notify(t.x, t.q[0].port);
	tf_poll_until(&t, backend_closed, 10000);
	s = tf_back_state(&t);
	CHECK(s == SDRV_XENBUS_CLOSING || s == SDRV_XENBUS_CLOSED, "backend state %s",
	      sdrv_xenbus_state_name(s));
	tf_close(&t, 2000);
	return 0;
}

static int fe_storm(void)
{
	struct tf t;
	struct tf_opts o = fopts(5, "xvdd");
	struct sdrv_blkif_req r;
	uint64_t cpu0, t0, wall, cpu, n = tu_scaled(200000, 5000);

	CHECK(tf_open(&t, &o) == 0, "tf_open");
	CHECK(tf_wait_connected(&t, 10000) == 0, "connect");
	usleep(100000);
	cpu0 = atomic_load(&sh->cpu_us);
	t0 = tu_now_ns();
	for (uint64_t i = 0; i < n; i++)
		sdrv_evtchn_notify(t.x, t.q[0].port);
	while (tu_now_ns() - t0 < 1500000000ull)
		usleep(10000);
	wall = (tu_now_ns() - t0) / 1000;
	cpu = atomic_load(&sh->cpu_us) - cpu0;
	fprintf(stderr, "storm: %llu notifications, blkback used %llu us of CPU in %llu us\n",
		(unsigned long long)n, (unsigned long long)cpu, (unsigned long long)wall);
	CHECK(tu_under_valgrind() || cpu < wall / 2, "the storm cost %llu us of %llu",
	      (unsigned long long)cpu, (unsigned long long)wall);
	tf_req(&t, &r, SDRV_BLKIF_OP_READ, 1, 64, 0, 1);
	CHECK(tf_do(&t, 0, &r) == 0 && strcmp((char *)t.data, "S64") == 0, "I/O after the storm");
	tf_close(&t, 5000);
	return 0;
}

/* Push writes, then die with them in flight. */
static int fe_die(void)
{
	struct tf t;
	struct tf_opts o = fopts(1, "xvda");
	struct sdrv_blkif_req r;

	CHECK(tf_open(&t, &o) == 0, "tf_open");
	CHECK(tf_wait_connected(&t, 10000) == 0, "connect");
	for (int i = 0; i < 32; i++) {
		tf_req(&t, &r, SDRV_BLKIF_OP_WRITE, (uint64_t)i, 50000 + (uint64_t)i * 88, 0, 11);
		tf_put(&t, 0, &r);
	}
	kill(getpid(), SIGKILL);
	return 1;
}

/* Write and flush, report, then wait for blkback to be replaced and check
 * that the device comes back by itself. */
static int fe_restart(void)
{
	struct tf t;
	struct tf_opts o = fopts(1, "xvda");
	struct sdrv_blkif_req r;

	CHECK(tf_open(&t, &o) == 0, "tf_open");
	CHECK(tf_wait_connected(&t, 10000) == 0, "connect");
	fill(&t, 0, 11, 77);
	tf_req(&t, &r, SDRV_BLKIF_OP_WRITE, 1, 60000, 0, 11);
	CHECK(tf_do(&t, 0, &r) == 0, "write");
	tf_req(&t, &r, SDRV_BLKIF_OP_FLUSH_DISKCACHE, 2, 0, 0, 0);
	CHECK(tf_do(&t, 0, &r) == 0, "flush");
	atomic_store(&keep_going[2], 1); /* the parent kills blkback now */
	CHECK(tf_poll_until(&t, twice_connected, 30000) == 0, "reconnected: %d connects",
	      t.connects);
	if (write_read(&t, 0, "d0", 61000, 0, 11, 20, 78))
		return 1;
	tf_close(&t, 5000);
	return 0;
}

static int run_fe(const char *name, int (*fn)(void))
{
	pid_t p = fork();
	int st;

	if (p == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(fn());
	}
	st = tu_wait_child(p);
	fprintf(stderr, "%s: %s\n", st ? "FAIL" : "ok", name);
	if (st)
		failures++;
	return st;
}

static pid_t spawn_fe(int (*fn)(void))
{
	pid_t p = fork();

	if (p == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(fn());
	}
	return p;
}

static int no_queues(const struct sdrv_blkback_dev_info *d)
{
	return d->nr_queues == 0;
}

/* Device (fe, vdev) is reported disabled with a reason containing `want`. */
static int bad_image(sdrv_domid_t fe, const char *vdev, const char *want)
{
	struct sdrv_blkback_dev_info d;
	char broken[160] = "";

	for (int i = 0; i < 1000; i++) {
		if (dev_info(fe, vdev_id(vdev), &d, broken, sizeof(broken)) == 0 && broken[0])
			break;
		usleep(10000);
	}
	if (!strstr(broken, want)) {
		fprintf(stderr, "FAIL: bad images: %s of domain %u: reason \"%s\", want \"%s\"\n",
			vdev, fe, broken, want);
		return 1;
	}
	fprintf(stderr, "bad images: %s of domain %u: %s\n", vdev, fe, broken);
	return 0;
}

/* -------------------------------- main -------------------------------- */

static void start_hypervisor(void)
{
	if ((hv_pid = tu_hv_start(broker, store, 0)) < 0) {
		fprintf(stderr, "FAIL: the broker and store did not start\n");
		exit(1);
	}
}

static void stop_blkback(void)
{
	atomic_store(&sh->stop, 1);
	if (tu_wait_child(bb_pid) != 0) {
		fprintf(stderr, "FAIL: blkback did not shut down cleanly\n");
		failures++;
	}
}

int main(void)
{
	struct sdrv_blkback_dev_info d;
	char broken[160];
	pid_t worker;
	int fds0;

	tu_watchdog(240, "check-blkback");
	snprintf(tmp, sizeof(tmp), "/tmp/sdrv-blkback-XXXXXX");
	if (!mkdtemp(tmp))
		return 1;
	snprintf(broker, sizeof(broker), "%s/broker.sock", tmp);
	snprintf(store, sizeof(store), "%s/store.sock", tmp);
	sh = tu_shared_mem(sizeof(*sh) + 4096);
	keep_going = (_Atomic int *)((char *)sh + sizeof(*sh));
	signal(SIGPIPE, SIG_IGN);

	make_image("d0");
	make_image("d1");
	make_image("ro");
	start_hypervisor();
	add_device(1, "xvda", "d0", "w");
	add_device(3, "xvdb", "d1", "w");
	add_device(4, "xvdc", "d1", "w");
	add_device(5, "xvdd", "d1", "w");
	add_device(6, "xvde", "ro", "r");
	{
		char p[128];

		img_path(p, sizeof(p), "fifo");
		if (mkfifo(p, 0600) != 0)
			return 1;
		img_path(p, sizeof(p), "adir");
		if (mkdir(p, 0700) != 0)
			return 1;
	}
	add_device(7, "xvdf", "fifo", "r");
	add_device(8, "xvdg", "adir", "w");
	add_device(9, "xvdh", "missing", "w");
	add_device(10, "xvdi", "d1", "x");
	start_blkback();
	failures += bad_image(7, "xvdf", "neither a file nor a block device");
	failures += bad_image(8, "xvdg", "Is a directory");
	failures += bad_image(9, "xvdh", "No such file");
	failures += bad_image(10, "xvdi", "neither r nor w");

	run_fe("basic", fe_basic);
	run_fe("multi", fe_multi);
	run_fe("indirect", fe_indirect);
	run_fe("nonpersist", fe_nonpersist);
	if (dev_info(1, XVDA, &d, NULL, 0) == 0 && d.maps < 20)
		fprintf(stderr, "FAIL: nonpersist: only %llu maps\n", (unsigned long long)d.maps),
		    failures++;
	run_fe("readonly", fe_readonly);
	run_fe("hostile", fe_hostile);
	run_fe("bad keys", fe_badkeys);

	/* a hostile frontend next to a busy good one */
	worker = spawn_fe(fe_worker);
	atomic_store(&keep_going[0], 1);
	for (int i = 0; i < 1000 && !atomic_load(&keep_going[1]); i++)
		usleep(10000);
	run_fe("index", fe_index);
	if (dev_info(4, vdev_id("xvdc"), &d, broken, sizeof(broken)) != 0 || !broken[0]) {
		fprintf(stderr, "FAIL: index: no reason given\n");
		failures++;
	} else {
		fprintf(stderr, "index: blkback says: %s\n", broken);
	}
	atomic_store(&keep_going[0], 0);
	if (tu_wait_child(worker) != 0) {
		fprintf(stderr, "FAIL: index: the good frontend next to it failed\n");
		failures++;
	}
	run_fe("storm", fe_storm);

	/* a frontend killed with I/O in flight */
	usleep(200000);
	fds0 = atomic_load(&sh->nfds);
	if (tu_wait_child(spawn_fe(fe_die)) != 128 + SIGKILL) {
		fprintf(stderr, "FAIL: fe-kill: the frontend did not get to die\n");
		failures++;
	}
	if (wait_dev(1, XVDA, no_queues, 10000) != 0) {
		fprintf(stderr, "FAIL: fe-kill: blkback kept the dead frontend's queues\n");
		failures++;
	}
	run_fe("fe-kill (a new frontend)", fe_basic);
	usleep(300000);
	if (atomic_load(&sh->nfds) != fds0) {
		fprintf(stderr, "FAIL: fe-kill: blkback had %d descriptors, now %d\n", fds0,
			atomic_load(&sh->nfds));
		failures++;
	}

	/* blkback killed and replaced under a connected frontend */
	{
		pid_t fe = spawn_fe(fe_restart);
		static unsigned char file[11 * PAGE], want[11 * PAGE];
		struct tf dummy;

		for (int i = 0; i < 1000 && !atomic_load(&keep_going[2]); i++)
			usleep(10000);
		kill(bb_pid, SIGKILL);
		tu_wait_child(bb_pid);
		/* the acknowledged write is in the image */
		memset(&dummy, 0, sizeof(dummy));
		dummy.data = want;
		fill(&dummy, 0, 11, 77);
		if (img_read("d0", file, sizeof(file), 60000 * 512) != 0 ||
		    memcmp(file, want, sizeof(file)) != 0) {
			fprintf(stderr, "FAIL: be-restart: an acknowledged write is lost\n");
			failures++;
		}
		start_blkback();
		if (tu_wait_child(fe) != 0) {
			fprintf(stderr, "FAIL: be-restart\n");
			failures++;
		} else {
			fprintf(stderr, "ok: be-restart\n");
		}
	}

	stop_blkback();
	if (tu_hv_stop(hv_pid) != 0) {
		fprintf(stderr, "FAIL: the broker and store did not stop cleanly\n");
		failures++;
	}
	{
		char p[128];

		for (const char *const *n = (const char *const[]){"d0", "d1", "ro", "fifo", NULL};
		     *n; n++) {
			img_path(p, sizeof(p), *n);
			unlink(p);
		}
		img_path(p, sizeof(p), "adir");
		rmdir(p);
		rmdir(tmp);
	}
	fprintf(stderr, "%s: %d failure(s)\n", failures ? "FAIL" : "PASS", failures);
	return failures ? 1 : 0;
}
