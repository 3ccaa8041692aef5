/* SPDX-License-Identifier: MIT */
/*
 * blkfront against a hostile backend (the test backend told to misbehave):
 *
 *   responses  an id that is not outstanding, a duplicate response, the
 *              wrong operation, an unknown status, rsp_prod jumping past
 *              what was requested: each breaks the device with a reason
 *              naming the violation; the I/O in flight fails with -EIO (one
 *              answered correctly before the violation keeps its 0); later
 *              submits and process() fail -EIO; the device goes Closing
 *   keys       garbage in the backend's keys (a malformed sectors, one
 *              missing, max-ring-page-order 99, multi-queue-max-queues 0 and
 *              1000, a huge feature-max-indirect-segments, a bad sector
 *              size or feature flag, discard keys that are no number or
 *              too big): the device does not connect, the
 *              reason names the key, I/O submitted before fails -EIO
 *   storm      a backend notifying without answering, as fast as it can,
 *              for a second: the frontend wakes a bounded number of times
 *              (late EOI backs the channel off) and uses little CPU; the
 *              device keeps working
 *   grants     a backend keeping fresh grants mapped after answering: the
 *              data is right, the pages are kept aside (never reused) and
 *              revoked once the backend is gone; one that keeps too many
 *              breaks the device
 */
#include "bftest.h"

#include <poll.h>
#include <sys/resource.h>

#include <splitdrv/xenbus.h>

static struct th T;
static uint32_t next_devid = 500;
static uint32_t g_flags;

static void tweak(struct sdrv_blkfront_opts *o)
{
	o->flags = g_flags;
}

static int front_state(uint32_t devid)
{
	char dir[SDRV_XENBUS_PATH_MAX], *v;
	int st;

	sdrv_xenbus_front_path(dir, sizeof(dir), TH_FE_DOM, "vbd", devid);
	v = th_read(&T, dir, "state");
	st = v ? atoi(v) : -1;
	free(v);
	return st;
}

static void expect_broken(struct bt_case *c, const char *what)
{
	const char *why = sdrv_blkfront_broken(c->f);
	unsigned char buf[512];
	struct bt_io io = {0};
	uint64_t end = tu_now_ns() + (uint64_t)th_ms(10000) * 1000000ull;

	CHECK(why && strstr(why, what), "broken for \"%s\", not \"%s\"", what, why ? why : "-");
	CHECK(sdrv_blkfront_submit(c->f, SDRV_BLKFRONT_OP_READ, 0, buf, 512, 0, bt_done, &io) ==
		  -EIO,
	      "submit after breaking");
	CHECK(sdrv_blkfront_process(c->f) == -EIO, "process after breaking");
	CHECK(!sdrv_blkfront_connected(c->f), "not connected");
	/* The device closes, as xenbus_dev_fatal() closes it. */
	while (front_state(c->devid) < SDRV_XENBUS_CLOSING) {
		CHECK(tu_now_ns() < end, "the frontend did not go Closing");
		th_drive_for(c->f, 5);
	}
	printf("  broken: %s\n", why);
}

static void test_responses(void)
{
	static const struct {
		enum tb_evil evil;
		const char *reason;
		uint32_t op;
	} cases[] = {
	    {TB_BAD_ID, "not outstanding", SDRV_BLKFRONT_OP_READ},
	    {TB_DUP, "not outstanding", SDRV_BLKFRONT_OP_READ},
	    {TB_WRONG_OP, "operation 0 to a request of operation 1", SDRV_BLKFRONT_OP_WRITE},
	    {TB_BAD_STATUS, "status 7", SDRV_BLKFRONT_OP_WRITE},
	    {TB_PROD_JUMP, "exceeds the requests published", SDRV_BLKFRONT_OP_READ},
	};

	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct tb_cfg cfg;
		struct bt_case c;
		struct bt_io io[2];
		unsigned char buf[2][8192];

		th_default_cfg(&cfg, next_devid++);
		bt_begin(&c, &T, 0, &cfg, tweak, true);
		bt_roundtrip(c.f, 0, 4096, k); /* works before */
		atomic_store(&c.ctl->evil, cases[k].evil);
		memset(io, 0, sizeof(io));
		memset(buf, 1, sizeof(buf));
		for (int i = 0; i < 2; i++)
			CHECK(sdrv_blkfront_submit(c.f, cases[k].op, (uint64_t)i * 8192, buf[i],
						   8192, SDRV_BLKFRONT_DEFER, bt_done, &io[i]) == 0,
			      "submit");
		CHECK(sdrv_blkfront_push(c.f) == 0, "push");
		th_drive_until(c.f, &io[1].done, 10000, "the second I/O");
		th_drive_until(c.f, &io[0].done, 10000, "the first I/O");
		CHECK(io[0].calls == 1 && io[1].calls == 1, "one callback each");
		if (cases[k].evil == TB_DUP)
			CHECK(io[0].status == 0 && io[1].status == -EIO,
			      "the first answered, the second failed (%d %d)", io[0].status,
			      io[1].status);
		else
			CHECK(io[0].status == -EIO && io[1].status == -EIO, "both failed (%d %d)",
			      io[0].status, io[1].status);
		expect_broken(&c, cases[k].reason);
		bt_end(&c);
	}
	printf("ok responses\n");
}

static void test_keys(void)
{
	static const struct {
		const char *key, *val;
		uint32_t when;
	} cases[] = {
	    {"sectors", "12x", TB_G_CONNECT},
	    {"sectors", TB_ABSENT, TB_G_CONNECT},
	    {"sectors", "", TB_G_CONNECT},
	    {"max-ring-page-order", "99", TB_G_PUBLISH},
	    {"multi-queue-max-queues", "0", TB_G_PUBLISH},
	    {"multi-queue-max-queues", "1000", TB_G_PUBLISH},
	    {"multi-queue-max-queues", "0x4", TB_G_PUBLISH},
	    {"feature-max-indirect-segments", "99999999999", TB_G_CONNECT},
	    {"feature-max-indirect-segments", "-1", TB_G_CONNECT},
	    {"sector-size", "1000", TB_G_CONNECT},
	    {"sector-size", "8192", TB_G_CONNECT},
	    {"feature-persistent", "yes", TB_G_CONNECT},
	    {"info", " 4", TB_G_CONNECT},
	    {"physical-sector-size", "3000", TB_G_CONNECT},
	    {"feature-discard", "on", TB_G_CONNECT},
	    {"discard-secure", "-1", TB_G_CONNECT},
	    {"discard-granularity", "4k", TB_G_CONNECT},
	    {"discard-alignment", "4294967296", TB_G_CONNECT},
	};

	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct tb_cfg cfg;
		struct bt_case c;
		struct bt_io io = {0};
		unsigned char buf[4096];
		const char *why;
		int rc;

		th_default_cfg(&cfg, next_devid++);
		snprintf(cfg.gkey, sizeof(cfg.gkey), "%s", cases[k].key);
		snprintf(cfg.gval, sizeof(cfg.gval), "%s", cases[k].val);
		cfg.gwhen = cases[k].when;
		bt_begin(&c, &T, 0, &cfg, tweak, false);
		/* Submitted before the device is known: waits, then fails. */
		CHECK(sdrv_blkfront_submit(c.f, SDRV_BLKFRONT_OP_READ, 0, buf, 4096, 0, bt_done,
					   &io) == 0,
		      "early submit");
		rc = sdrv_blkfront_wait_connected(c.f, (int)th_ms(10000));
		why = sdrv_blkfront_broken(c.f);
		CHECK(rc == -EIO && why && strstr(why, cases[k].key),
		      "%s = \"%s\": connect gave %d, reason %s", cases[k].key, cases[k].val, rc,
		      why ? why : "-");
		th_drive_until(c.f, &io.done, 5000, "the early I/O");
		CHECK(io.status == -EIO && io.calls == 1, "the early I/O failed");
		CHECK(sdrv_blkfront_info(c.f,
					 &(struct sdrv_blkfront_info){
					     .sz = sizeof(struct sdrv_blkfront_info)}) == -ENOTCONN,
		      "never connected");
		printf("  %s = \"%s\": %s\n", cases[k].key, cases[k].val, why);
		bt_end(&c);
	}
	printf("ok keys\n");
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void test_storm(void)
{
	struct tb_cfg cfg;
	struct bt_case c;
	struct sdrv_blkfront_stats st0, st1;
	unsigned loops = 0;
	double cpu0;
	uint64_t t0;

	th_default_cfg(&cfg, next_devid++);
	bt_begin(&c, &T, 0, &cfg, tweak, true);
	bt_roundtrip(c.f, 0, 4096, 1);
	st0 = bt_stats(c.f);
	cpu0 = cpu_s();
	atomic_store(&c.ctl->evil_arg, 1000);
	atomic_store(&c.ctl->evil, TB_STORM);
	t0 = tu_now_ns();
	/* The loop an application runs: sleep on the descriptor, process. */
	while (!atomic_load(&c.ctl->storm_done)) {
		struct pollfd pfd = {.fd = sdrv_blkfront_fd(c.f), .events = POLLIN};

		CHECK(tu_now_ns() - t0 < (uint64_t)th_ms(10000) * 1000000ull, "storm never ended");
		(void)poll(&pfd, 1, 100);
		CHECK(sdrv_blkfront_process(c.f) == 0, "process during the storm");
		loops++;
	}
	st1 = bt_stats(c.f);
	printf("storm: %llu notifications sent in %.2f s; the frontend woke %llu times (%llu "
	       "spurious), ran its loop %u times, used %.3f s of CPU\n",
	       (unsigned long long)atomic_load(&c.ctl->storm_sent),
	       (double)(tu_now_ns() - t0) / 1e9, (unsigned long long)(st1.wakeups - st0.wakeups),
	       (unsigned long long)(st1.spurious - st0.spurious), loops, cpu_s() - cpu0);
	CHECK(atomic_load(&c.ctl->storm_sent) > 1000, "it was a storm");
	CHECK(st1.wakeups - st0.wakeups <= 40, "bounded wake-ups");
	CHECK(st1.spurious - st0.spurious >= 2, "spurious wake-ups counted");
	CHECK(loops <= 80, "no busy loop (%u)", loops);
	if (!tu_under_valgrind())
		CHECK(cpu_s() - cpu0 < 0.25, "bounded CPU");
	CHECK(!sdrv_blkfront_broken(c.f), "a storm is not a protocol violation");
	bt_roundtrip(c.f, 8192, 65536, 2); /* still works */
	bt_end(&c);
	printf("ok storm\n");
}

static bool exited(void *arg)
{
	return atomic_load(&((struct tb_ctl *)arg)->exited);
}

static void test_grants(void)
{
	struct tb_cfg cfg;
	struct bt_case c;
	struct sdrv_blkfront_stats st;
	uint64_t end;
	unsigned char *buf = malloc(1 << 20);

	CHECK(buf, "malloc");
	g_flags = SDRV_BLKFRONT_NO_PERSISTENT;
	th_default_cfg(&cfg, next_devid++);
	bt_begin(&c, &T, 0, &cfg, tweak, true);
	atomic_store(&c.ctl->evil, TB_LEAK_MAPS);
	for (int i = 0; i < 10; i++)
		bt_roundtrip(c.f, (uint64_t)i * 65536, 16384, (uint64_t)i);
	st = bt_stats(c.f);
	printf("grants: %u pages kept aside after 20 I/Os\n", st.deferred_pages);
	CHECK(st.deferred_pages == 20 * 4, "deferred pages: %u", st.deferred_pages);
	CHECK(!sdrv_blkfront_broken(c.f), "not broken yet");
	/* The backend dies: its mappings go, and the pages are revoked. */
	th_backend_stop(&T, 0, true);
	th_wait(c.f, exited, c.ctl, 5000, "the backend's death");
	end = tu_now_ns() + (uint64_t)th_ms(5000) * 1000000ull;
	while (bt_stats(c.f).deferred_pages) {
		CHECK(tu_now_ns() < end, "pages still deferred after the backend died");
		th_drive_for(c.f, 10);
	}
	sdrv_blkfront_free(c.f, 0);
	c.f = NULL;
	th_dev_remove(&T, c.devid);

	/* One that keeps too many mapped breaks the device. */
	th_default_cfg(&cfg, next_devid++);
	bt_begin(&c, &T, 0, &cfg, tweak, true);
	atomic_store(&c.ctl->evil, TB_LEAK_MAPS);
	for (int i = 0; i < 5 && !sdrv_blkfront_broken(c.f); i++)
		(void)sdrv_blkfront_pwrite(c.f, buf, 1 << 20, 0, 0);
	expect_broken(&c, "keeps");
	atomic_store(&c.ctl->evil, TB_NONE);
	bt_end(&c);
	g_flags = 0;
	free(buf);
	printf("ok grants\n");
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	tu_watchdog(120, "blkfront hostile");
	th_start(&T, true);
	test_responses();
	test_keys();
	test_storm();
	test_grants();
	th_stop(&T);
	return TU_PASS;
}
