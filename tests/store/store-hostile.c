/* SPDX-License-Identifier: MIT */
/*
 * Misbehaving store clients: garbage headers, oversized payloads, truncated
 * and trickled messages, clients that never read, floods of watches and
 * transactions, deep and long paths, strings without their NUL, random
 * bytes. Each one gets its error or loses its own connection; a second,
 * well-behaved connection is served correctly all along (served()).
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/tutil.h"
#include "wire.h"

static struct sdrv_store *S;
static struct cli good;
static unsigned serial;

static void open_store(const struct sdrv_store_opts *in)
{
	struct sdrv_store_opts o = {0};

	if (in)
		o = *in;
	o.sz = sizeof(o);
	S = sdrv_store_new(&o);
	ck_assert_msg(S != NULL, "sdrv_store_new: %s", strerror(errno));
	w_open(&good, S, 0);
}

static void setup(void)
{
	open_store(NULL);
}

static void teardown(void)
{
	w_close(&good);
	sdrv_store_free(S);
	S = NULL;
}

/* The well-behaved connection writes and reads back a fresh value. */
static void served(void)
{
	char v[32];

	snprintf(v, sizeof(v), "v%u", ++serial);
	ck_assert_str_eq(w_write(&good, 0, "/good/key", v), "OK|");
	ck_assert_str_eq(w_read(&good, 0, "/good/key"), v);
}

static struct sdrv_store_stats stats(void)
{
	struct sdrv_store_stats st = {.sz = sizeof(st)};

	ck_assert_int_eq(sdrv_store_get_stats(S, &st), 0);
	return st;
}

/* Run the store until `c` is closed by it (reading what it sent, or not:
 * a client that never reads), serving the good one meanwhile; fails after
 * a generous limit. */
static void wait_closed_how(struct cli *c, int read_it)
{
	uint64_t end = tu_now_ns() + (tu_under_valgrind() ? 120 : 20) * 1000000000ull;
	char buf[4096];

	while (tu_now_ns() < end) {
		struct pollfd pfd = {.fd = c->fd, .events = POLLRDHUP};
		ssize_t n;

		ck_assert_int_eq(sdrv_store_run(S, 20), 0);
		if (read_it) {
			do
				n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
			while (n > 0);
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
				c->closed = 1;
				return;
			}
		} else if (poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLRDHUP | POLLHUP))) {
			c->closed = 1;
			return;
		}
		served();
	}
	ck_abort_msg("the store did not close the misbehaving connection");
}

static void wait_closed(struct cli *c)
{
	wait_closed_how(c, 1);
}

static void raw_hdr(struct cli *c, uint32_t type, uint32_t req, uint32_t tx, uint32_t len)
{
	struct sdrv_xs_msg h = {.type = type, .req_id = req, .tx_id = tx, .len = len};

	w_send_raw(c, &h, sizeof(h));
}

START_TEST(garbage_type_gets_enosys)
{
	struct cli c;
	struct wmsg m;

	w_open(&c, S, 0);
	raw_hdr(&c, 0xdeadbeef, 77, 0, 3);
	w_send_raw(&c, "abc", 3);
	ck_assert_int_eq(w_recv(&c, &m), 0);
	ck_assert_uint_eq(m.h.type, SDRV_XS_ERROR);
	ck_assert_uint_eq(m.h.req_id, 77);
	ck_assert_str_eq(m.p, "ENOSYS");
	served();
	/* still usable */
	ck_assert_str_eq(w_read(&c, 0, "/good/key"), "v1");
	w_close(&c);
}
END_TEST

START_TEST(oversized_payload_closes)
{
	static const uint32_t lens[] = {SDRV_XS_PAYLOAD_MAX + 1, 65536, 0xffffffffu};

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct cli c;

		w_open(&c, S, i ? 5 : 0);
		raw_hdr(&c, SDRV_XS_WRITE, 1, 0, lens[i]);
		w_send_raw(&c, "/x\0y", 4);
		wait_closed(&c);
		served();
		w_close(&c);
	}
	ck_assert_uint_eq(stats().conns_dropped, 3);
	/* exactly 4096 is fine */
	{
		static char p[SDRV_XS_PAYLOAD_MAX];

		memset(p, 'a', sizeof(p));
		memcpy(p, "/max", 5);
		ck_assert_str_eq(w_req_raw(&good, SDRV_XS_WRITE, 0, p, sizeof(p)), "OK|");
	}
}
END_TEST

START_TEST(truncated_then_closed)
{
	uint32_t before = sdrv_store_nr_connections(S);

	for (int cut = 1; cut < 24; cut += 3) {
		struct cli c;
		unsigned char msg[16 + 8];
		struct sdrv_xs_msg h = {.type = SDRV_XS_WRITE, .req_id = 1, .len = 8};

		memcpy(msg, &h, 16);
		memcpy(msg + 16, "/trunc\0v", 8);
		w_open(&c, S, 5);
		w_send_raw(&c, msg, (size_t)cut);
		w_pump(S);
		w_close(&c);
		w_pump(S);
		served();
	}
	ck_assert_uint_eq(sdrv_store_nr_connections(S), before);
	ck_assert_str_eq(w_read(&good, 0, "/trunc"), "!ENOENT");
}
END_TEST

START_TEST(slowloris_is_dropped)
{
	struct sdrv_store_opts o = {.stuck_timeout_ms = 200};
	struct cli c, d;

	teardown();
	open_store(&o);
	/* half a request, then nothing */
	w_open(&c, S, 5);
	raw_hdr(&c, SDRV_XS_READ, 1, 0, 10);
	w_send_raw(&c, "/ab", 3);
	/* one byte at a time: progress, but the request never completes in time */
	w_open(&d, S, 5);
	raw_hdr(&d, SDRV_XS_READ, 1, 0, 4000);
	for (int i = 0; i < 3; i++) {
		w_send_raw(&d, "a", 1);
		served();
	}
	wait_closed(&c);
	wait_closed(&d);
	served();
	ck_assert_uint_eq(stats().conns_dropped, 2);
	w_close(&c);
	w_close(&d);
}
END_TEST

/* Send requests and never read: the store stops reading (the client's
 * sends block), then drops the connection. */
static void flood(uint32_t domid, uint32_t type, const char *arg)
{
	struct sdrv_store_opts o = {.stuck_timeout_ms = 300};
	struct cli c;
	unsigned char msg[64];
	struct sdrv_xs_msg h = {.type = type, .len = (uint32_t)strlen(arg) + 1};
	int blocked = 0;

	teardown();
	open_store(&o);
	{
		static char big[4000];

		memset(big, 'B', sizeof(big) - 1);
		ck_assert_str_eq(w_write(&good, 0, "/big", big), "OK|");
		ck_assert_str_eq(w_setperms(&good, 0, "/big", "r0"), "OK|");
	}
	w_open(&c, S, domid);
	memcpy(msg + 16, arg, h.len);
	for (int i = 0; i < 200000 && !blocked; i++) {
		ssize_t n;

		h.req_id = (uint32_t)i;
		memcpy(msg, &h, 16);
		n = send(c.fd, msg, 16 + h.len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			ck_assert_int_eq(errno, EAGAIN);
			blocked = 1;
		} else {
			ck_assert_int_eq(n, 16 + h.len); /* small: all or nothing */
		}
		if (i % 64 == 0) {
			ck_assert_int_eq(sdrv_store_run(S, 0), 0);
			if (i % 1024 == 0)
				served();
		}
	}
	ck_assert_msg(blocked, "the store kept reading a client that never reads");
	served();
	wait_closed_how(&c, 0);
	ck_assert_uint_ge(stats().conns_dropped, 1);
	w_close(&c);
}

START_TEST(never_reading_dom0)
{
	flood(0, SDRV_XS_READ, "/big");
}
END_TEST

START_TEST(never_reading_domain)
{
	flood(5, SDRV_XS_READ, "/big");
}
END_TEST

START_TEST(never_reading_small_replies)
{
	flood(5, SDRV_XS_GET_DOMAIN_PATH, "5");
}
END_TEST

START_TEST(thousands_of_watches)
{
	struct cli c, d5;
	char p[64];
	int n = (int)tu_scaled(3000, 300);
	uint64_t dropped;

	w_open(&c, S, 0);
	for (int i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "/many/%d", i);
		ck_assert_str_eq(w_write(&good, 0, p, ""), "OK|");
		ck_assert_str_eq(w_watch(&c, p, "tok"), "OK|");
		if (c.nevents > W_MAX_EVENTS / 2)
			w_events_clear(&c);
	}
	(void)w_nevents(&c); /* the last initial events */
	w_events_clear(&c);
	/* c never reads: removing /many fires one event per watch, and as
	 * in xenstored the privileged domain loses none of them */
	ck_assert_str_eq(w_rm(&good, 0, "/many"), "OK|");
	served();
	dropped = stats().events_dropped;
	ck_assert_uint_eq(dropped, 0);
	ck_assert_uint_eq(w_nevents(&c), (uint64_t)n);
	/* a domain stops at its quota */
	w_open(&d5, S, 5);
	for (int i = 0; i < 200; i++) {
		const char *r;

		snprintf(p, sizeof(p), "/x%d", i);
		r = w_watch(&d5, p, "t");
		if (i < 128)
			ck_assert_str_eq(r, "OK|");
		else
			ck_assert_str_eq(r, "!E2BIG");
		w_events_clear(&d5);
	}
	served();
	w_close(&c);
	w_close(&d5);
	w_pump(S);
	ck_assert_uint_eq(stats().watches, 0);
}
END_TEST

START_TEST(transaction_spam)
{
	struct cli c, d5;
	int n = (int)tu_scaled(2000, 200);

	w_open(&d5, S, 5);
	for (int i = 0; i < 10; i++)
		(void)w_tx_start(&d5);
	ck_assert_str_eq(w_req(&d5, SDRV_XS_TRANSACTION_START, 0, 1, ""), "!ENOSPC");
	w_open(&c, S, 0);
	for (int i = 0; i < n; i++) {
		uint32_t tx = w_tx_start(&c);
		char p[32];

		snprintf(p, sizeof(p), "/spam/%d", i % 10);
		ck_assert_str_eq(w_write(&c, tx, p, "x"), "OK|");
		if (i % 256 == 0)
			served();
	}
	ck_assert_uint_eq(stats().transactions, (uint64_t)n + 10);
	/* the connections go, and everything with them */
	w_close(&c);
	w_close(&d5);
	w_pump(S);
	ck_assert_uint_eq(stats().transactions, 0);
	ck_assert_str_eq(w_read(&good, 0, "/spam"), "!ENOENT");
	served();
}
END_TEST

START_TEST(deep_and_long_paths)
{
	char p[SDRV_XS_ABS_PATH_MAX + 16];
	size_t len = 0;
	int depth = 0;
	uint64_t n0 = sdrv_store_nr_nodes(S);

	/* /d/d/d/... as deep as a path can be */
	while (len + 2 <= SDRV_XS_ABS_PATH_MAX) {
		p[len++] = '/';
		p[len++] = 'd';
		depth++;
	}
	p[len] = '\0';
	ck_assert_str_eq(w_write(&good, 0, p, "deep"), "OK|");
	ck_assert_str_eq(w_read(&good, 0, p), "deep");
	ck_assert_uint_eq(sdrv_store_nr_nodes(S), n0 + (uint64_t)depth);
	p[len++] = '/';
	p[len++] = 'd';
	p[len] = '\0';
	ck_assert_str_eq(w_write(&good, 0, p, "x"), "!EINVAL");
	ck_assert_str_eq(w_watch(&good, "/d", "deep"), "OK|");
	(void)w_event(&good);
	ck_assert_str_eq(w_rm(&good, 0, "/d"), "OK|");
	ck_assert_uint_eq(sdrv_store_nr_nodes(S), n0);
	ck_assert_str_eq(w_event(&good), "/d|deep|");
	served();
	/* inside a transaction too */
	{
		uint32_t tx = w_tx_start(&good);

		p[len - 2] = '\0';
		ck_assert_str_eq(w_write(&good, tx, p, "deep"), "OK|");
		ck_assert_str_eq(w_rm(&good, tx, "/d/d"), "OK|");
		ck_assert_str_eq(w_tx_end(&good, tx, 1), "OK|");
		ck_assert_str_eq(w_dir(&good, 0, "/d"), "");
	}
	/* a domain's relative path: 2048 bytes at most */
	{
		struct cli d5;
		char q[SDRV_XS_REL_PATH_MAX + 4];

		w_open(&d5, S, 5);
		memset(q, 'q', sizeof(q));
		q[SDRV_XS_REL_PATH_MAX + 1] = '\0';
		ck_assert_str_eq(w_read(&d5, 0, q), "!EINVAL");
		w_close(&d5);
	}
}
END_TEST

START_TEST(strings_without_nul)
{
	struct cli c;

	w_open(&c, S, 0);
	ck_assert_str_eq(w_req_raw(&c, SDRV_XS_SET_PERMS, 0, "/good\0r5", 8), "!EINVAL");
	ck_assert_str_eq(w_req_raw(&c, SDRV_XS_WATCH, 0, "/good\0tok", 9), "!EINVAL");
	ck_assert_str_eq(w_req_raw(&c, SDRV_XS_UNWATCH, 0, "/good", 5), "!EINVAL");
	ck_assert_str_eq(w_req_raw(&c, SDRV_XS_TRANSACTION_END, 0, "T", 1), "!EINVAL");
	ck_assert_str_eq(w_req_raw(&c, SDRV_XS_DIRECTORY_PART, 0,
				   "/\0"
				   "12",
				   4),
			 "!EINVAL");
	ck_assert_str_eq(w_req_raw(&c, SDRV_XS_INTRODUCE, 0,
				   "5\0"
				   "0\0"
				   "1",
				   5),
			 "!EINVAL");
	ck_assert_str_eq(w_req_raw(&c, SDRV_XS_RELEASE, 0, "5", 1), "!EINVAL");
	ck_assert_str_eq(w_req_raw(&c, SDRV_XS_IS_DOMAIN_INTRODUCED, 0, "5", 1), "!EINVAL");
	ck_assert_str_eq(w_req_raw(&c, SDRV_XS_CONTROL, 0, "help", 4), "!EINVAL");
	ck_assert_str_eq(w_req_raw(&c, SDRV_XS_GET_PERMS, 0, "/\0/", 3), "!EINVAL");
	/* embedded NULs inside what must be one string */
	ck_assert_str_eq(w_req_raw(&c, SDRV_XS_READ, 0, "/go\0od\0", 7), "!EINVAL");
	ck_assert_str_eq(w_req_raw(&c, SDRV_XS_TRANSACTION_END, 0, "T\0F\0", 4), "!EINVAL");
	/* bytes above 0x7f in a path */
	ck_assert_str_eq(w_req_raw(&c, SDRV_XS_READ, 0, "/\xc3\xa9\0", 4), "!EINVAL");
	/* values may hold anything */
	ck_assert_str_eq(w_req_raw(&c, SDRV_XS_WRITE, 0, "/bin\0\0\xff\0", 8), "OK|");
	ck_assert_str_eq(w_read(&c, 0, "/bin"), "|\xff|");
	served();
	w_close(&c);
}
END_TEST

START_TEST(random_bytes)
{
	uint64_t rng = 0x686f7374696c65ull;
	int rounds = (int)tu_scaled(40, 8);

	for (int r = 0; r < rounds; r++) {
		struct cli c;
		unsigned char buf[4096];
		size_t n = 1 + tu_rand(&rng) % sizeof(buf);
		struct wmsg m;

		w_open(&c, S, r % 3 ? 5 : 0);
		for (size_t i = 0; i < n; i++)
			buf[i] = (unsigned char)tu_rand(&rng);
		/* sometimes a plausible header in front */
		if (r % 2) {
			struct sdrv_xs_msg h = {.type = (uint32_t)(tu_rand(&rng) % 24),
						.len = (uint32_t)(n > 16 ? (n - 16) % 64 : 0)};

			memcpy(buf, &h, n < 16 ? n : 16);
		}
		w_send_raw(&c, buf, n);
		w_pump(S);
		/* whatever came back is well-formed (w_recv checks the framing) */
		while (!c.closed && c.in_len >= 16)
			if (w_recv(&c, &m) < 0)
				break;
		w_close(&c);
		served();
	}
	ck_assert_uint_eq(sdrv_store_nr_connections(S), 1);
	ck_assert_str_eq(w_req(&good, SDRV_XS_CONTROL, 0, 1, "check"), "OK|");
}
END_TEST

START_TEST(connection_limits)
{
	struct sdrv_store_opts o = {.max_connections = 8};
	int fds[16], n = 0, r;

	teardown();
	open_store(&o); /* good is one of the 8 */
	/* one domain gets a quarter */
	for (;;) {
		r = sdrv_store_connect(S, 5);
		if (r < 0)
			break;
		fds[n++] = r;
		ck_assert_int_lt(n, 16);
	}
	ck_assert_int_eq(r, -ENOSPC);
	ck_assert_int_eq(n, 2);
	/* dom0 fills the rest */
	for (;;) {
		r = sdrv_store_connect(S, 0);
		if (r < 0)
			break;
		fds[n++] = r;
		ck_assert_int_lt(n, 16);
	}
	ck_assert_int_eq(r, -ENOSPC);
	ck_assert_int_eq(n, 7);
	served();
	for (int i = 0; i < n; i++)
		close(fds[i]);
	w_pump(S);
	ck_assert_uint_eq(sdrv_store_nr_connections(S), 1);
	r = sdrv_store_connect(S, 5);
	ck_assert_int_ge(r, 0);
	close(r);
}
END_TEST

static Suite *hostile_suite(void)
{
	Suite *s = suite_create("store-hostile");
	TCase *tc = tcase_create("hostile");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, garbage_type_gets_enosys);
	tcase_add_test(tc, oversized_payload_closes);
	tcase_add_test(tc, truncated_then_closed);
	tcase_add_test(tc, slowloris_is_dropped);
	tcase_add_test(tc, never_reading_dom0);
	tcase_add_test(tc, never_reading_domain);
	tcase_add_test(tc, never_reading_small_replies);
	tcase_add_test(tc, thousands_of_watches);
	tcase_add_test(tc, transaction_spam);
	tcase_add_test(tc, deep_and_long_paths);
	tcase_add_test(tc, strings_without_nul);
	tcase_add_test(tc, random_bytes);
	tcase_add_test(tc, connection_limits);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(hostile_suite());
	int failed;

	tu_watchdog(300, "store-hostile");
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? TU_FAIL : TU_PASS;
}
