/* SPDX-License-Identifier: MIT */
/*
 * The store client against a scripted server: the test holds the other
 * end of a socketpair and plays the server, byte by byte. Replies are
 * written before the client asks (the socket buffers them; request ids are
 * 1, 2, 3... in order), then the requests the client sent are read back
 * and checked. So every step is deterministic, with no thread.
 *
 * Covers every call's encoding and reply parsing, the DIRECTORY_PART
 * fallback, transactions and the retry helper, watches (events queued
 * during a synchronous call, coalescing, the overflow bound), asynchronous
 * requests answered out of order, and every kind of hostile reply: unknown
 * req_id, wrong type, oversized length, truncated message, EOF, garbage,
 * malformed watch events, malformed payloads, silence (timeout).
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <splitdrv/xs.h>

#include "../common/tutil.h"

struct fake {
	int sfd; /* the server's end */
	struct sdrv_xs *xs;
	/* Batch mode: messages gather here and go in one write (thousands of
	 * small writes would each cost a socket buffer of their own). */
	bool batch;
	char *obuf;
	size_t olen, ocap;
};

static void fake_open_opts(struct fake *f, const struct sdrv_xs_opts *opts)
{
	int sv[2];

	memset(f, 0, sizeof(*f));
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	f->sfd = sv[0];
	f->xs = sdrv_xs_open_fd(sv[1], opts);
	ck_assert_ptr_nonnull(f->xs);
}

static void fake_open(struct fake *f)
{
	fake_open_opts(f, NULL);
}

static void fake_close(struct fake *f)
{
	free(f->obuf);
	sdrv_xs_close(f->xs);
	if (f->sfd >= 0)
		close(f->sfd);
}

static void write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = write(fd, c, n);
		ck_assert_int_gt(w, 0);
		c += w;
		n -= (size_t)w;
	}
}

/* Send one message from the server (or add it to the batch). */
static void srv_send(struct fake *f, uint32_t type, uint32_t req_id, uint32_t tx,
		     const void *payload, size_t len)
{
	struct sdrv_xs_msg h = {type, req_id, tx, (uint32_t)len};

	if (f->ocap - f->olen < sizeof(h) + len) {
		f->ocap = (f->ocap + sizeof(h) + len) * 2;
		f->obuf = realloc(f->obuf, f->ocap);
		ck_assert_ptr_nonnull(f->obuf);
	}
	memcpy(f->obuf + f->olen, &h, sizeof(h));
	if (len)
		memcpy(f->obuf + f->olen + sizeof(h), payload, len);
	f->olen += sizeof(h) + len;
	if (!f->batch) {
		write_all(f->sfd, f->obuf, f->olen);
		f->olen = 0;
	}
}

static void srv_flush(struct fake *f)
{
	write_all(f->sfd, f->obuf, f->olen);
	f->olen = 0;
	f->batch = false;
}

#define REPLY(f, type, id, lit) srv_send(f, type, id, 0, lit, sizeof(lit) - 1)
#define OK(f, type, id)		REPLY(f, type, id, "OK\0")

static void read_all(int fd, void *p, size_t n)
{
	char *c = p;

	while (n) {
		ssize_t r = read(fd, c, n);
		ck_assert_int_gt(r, 0);
		c += r;
		n -= (size_t)r;
	}
}

/* Read the next request the client sent and check its header. */
static size_t srv_expect(struct fake *f, uint32_t type, uint32_t req_id, uint32_t tx, char *buf)
{
	struct sdrv_xs_msg h;

	read_all(f->sfd, &h, sizeof(h));
	ck_assert_uint_eq(h.type, type);
	ck_assert_uint_eq(h.req_id, req_id);
	ck_assert_uint_eq(h.tx_id, tx);
	ck_assert_uint_le(h.len, SDRV_XS_PAYLOAD_MAX);
	read_all(f->sfd, buf, h.len);
	return h.len;
}

#define EXPECT(f, type, id, tx, lit)                                                               \
	do {                                                                                       \
		char b_[SDRV_XS_PAYLOAD_MAX];                                                      \
		size_t n_ = srv_expect(f, type, id, tx, b_);                                       \
		ck_assert_uint_eq(n_, sizeof(lit) - 1);                                            \
		ck_assert_msg(memcmp(b_, lit, n_) == 0, "payload of request %u", id);              \
	} while (0)

static bool fd_readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, 0) == 1;
}

/* ------------------------------------------------------------------------ */

START_TEST(test_read_write)
{
	struct fake f;
	char *v;
	size_t len;

	fake_open(&f);
	REPLY(&f, SDRV_XS_READ, 1, "hello");
	ck_assert_int_eq(sdrv_xs_read(f.xs, 0, "/a", &v, &len), 0);
	ck_assert_uint_eq(len, 5);
	ck_assert_str_eq(v, "hello");
	free(v);
	EXPECT(&f, SDRV_XS_READ, 1, 0, "/a\0");

	/* values may hold NULs; the length says where they end */
	REPLY(&f, SDRV_XS_READ, 2, "a\0b");
	ck_assert_int_eq(sdrv_xs_read(f.xs, 9, "/b", &v, &len), 0);
	ck_assert_uint_eq(len, 3);
	ck_assert_int_eq(memcmp(v, "a\0b\0", 4), 0);
	free(v);
	EXPECT(&f, SDRV_XS_READ, 2, 9, "/b\0");

	OK(&f, SDRV_XS_WRITE, 3);
	ck_assert_int_eq(sdrv_xs_write(f.xs, 0, "/a", "val", 3), 0);
	EXPECT(&f, SDRV_XS_WRITE, 3, 0, "/a\0val");

	OK(&f, SDRV_XS_WRITE, 4);
	ck_assert_int_eq(sdrv_xs_printf(f.xs, 0, "/n", "%d-%s", 42, "x"), 0);
	EXPECT(&f, SDRV_XS_WRITE, 4, 0,
	       "/n\0"
	       "42-x");

	OK(&f, SDRV_XS_MKDIR, 5);
	ck_assert_int_eq(sdrv_xs_mkdir(f.xs, 0, "/d"), 0);
	EXPECT(&f, SDRV_XS_MKDIR, 5, 0, "/d\0");

	REPLY(&f, SDRV_XS_ERROR, 6, "ENOENT\0");
	ck_assert_int_eq(sdrv_xs_rm(f.xs, 0, "/d"), -ENOENT);
	EXPECT(&f, SDRV_XS_RM, 6, 0, "/d\0");

	/* an error name nobody knows is EINVAL, and the connection lives on */
	REPLY(&f, SDRV_XS_ERROR, 7, "EWHATEVER\0");
	ck_assert_int_eq(sdrv_xs_read(f.xs, 0, "/a", &v, NULL), -EINVAL);
	EXPECT(&f, SDRV_XS_READ, 7, 0, "/a\0");
	ck_assert_ptr_null(sdrv_xs_broken(f.xs));

	REPLY(&f, SDRV_XS_READ, 8, "12");
	{
		uint64_t u;
		ck_assert_int_eq(sdrv_xs_read_uint(f.xs, 0, "/u", 100, &u), 0);
		ck_assert_uint_eq(u, 12);
	}
	EXPECT(&f, SDRV_XS_READ, 8, 0, "/u\0");
	REPLY(&f, SDRV_XS_READ, 9, "12x");
	{
		uint64_t u;
		ck_assert_int_eq(sdrv_xs_read_uint(f.xs, 0, "/u", 100, &u), -EINVAL);
	}
	EXPECT(&f, SDRV_XS_READ, 9, 0, "/u\0");

	/* too big to send: refused locally, nothing written */
	{
		static char big[SDRV_XS_PAYLOAD_MAX];
		memset(big, 'x', sizeof(big));
		ck_assert_int_eq(sdrv_xs_write(f.xs, 0, "/big", big, sizeof(big)), -E2BIG);
		ck_assert(!fd_readable(f.sfd));
	}
	fake_close(&f);
}
END_TEST

static void check_names(char **names, unsigned int n, const char *const *want, unsigned int wn)
{
	ck_assert_uint_eq(n, wn);
	for (unsigned int i = 0; i < n; i++)
		ck_assert_str_eq(names[i], want[i]);
	free(names);
}

START_TEST(test_directory)
{
	static const char *const abc[] = {"a", "bb", "c"};
	struct fake f;
	char **names;
	unsigned int n;

	fake_open(&f);
	REPLY(&f, SDRV_XS_DIRECTORY, 1, "a\0bb\0c\0");
	ck_assert_int_eq(sdrv_xs_directory(f.xs, 0, "/d", &names, &n), 0);
	check_names(names, n, abc, 3);
	EXPECT(&f, SDRV_XS_DIRECTORY, 1, 0, "/d\0");

	REPLY(&f, SDRV_XS_DIRECTORY, 2, "");
	ck_assert_int_eq(sdrv_xs_directory(f.xs, 0, "/e", &names, &n), 0);
	check_names(names, n, NULL, 0);
	EXPECT(&f, SDRV_XS_DIRECTORY, 2, 0, "/e\0");

	/* E2BIG: in parts, as libxenstore does */
	REPLY(&f, SDRV_XS_ERROR, 3, "E2BIG\0");
	REPLY(&f, SDRV_XS_DIRECTORY_PART, 4, "7\0a\0bb\0");
	REPLY(&f, SDRV_XS_DIRECTORY_PART, 5, "7\0c\0\0");
	ck_assert_int_eq(sdrv_xs_directory(f.xs, 3, "/big", &names, &n), 0);
	check_names(names, n, abc, 3);
	EXPECT(&f, SDRV_XS_DIRECTORY, 3, 3, "/big\0");
	EXPECT(&f, SDRV_XS_DIRECTORY_PART, 4, 3,
	       "/big\0"
	       "0\0");
	EXPECT(&f, SDRV_XS_DIRECTORY_PART, 5, 3,
	       "/big\0"
	       "5\0");

	/* the node changed between parts: start over */
	REPLY(&f, SDRV_XS_ERROR, 6, "E2BIG\0");
	REPLY(&f, SDRV_XS_DIRECTORY_PART, 7, "7\0x\0");
	REPLY(&f, SDRV_XS_DIRECTORY_PART, 8, "8\0y\0");
	REPLY(&f, SDRV_XS_DIRECTORY_PART, 9, "8\0a\0bb\0c\0\0");
	ck_assert_int_eq(sdrv_xs_directory(f.xs, 0, "/big", &names, &n), 0);
	check_names(names, n, abc, 3);
	EXPECT(&f, SDRV_XS_DIRECTORY, 6, 0, "/big\0");
	EXPECT(&f, SDRV_XS_DIRECTORY_PART, 7, 0,
	       "/big\0"
	       "0\0");
	EXPECT(&f, SDRV_XS_DIRECTORY_PART, 8, 0,
	       "/big\0"
	       "2\0");
	EXPECT(&f, SDRV_XS_DIRECTORY_PART, 9, 0,
	       "/big\0"
	       "0\0");

	/* an empty directory in parts */
	REPLY(&f, SDRV_XS_ERROR, 10, "E2BIG\0");
	REPLY(&f, SDRV_XS_DIRECTORY_PART, 11, "3\0\0");
	ck_assert_int_eq(sdrv_xs_directory(f.xs, 0, "/e", &names, &n), 0);
	check_names(names, n, NULL, 0);

	/* a server without DIRECTORY_PART: E2BIG, like libxenstore */
	REPLY(&f, SDRV_XS_ERROR, 12, "E2BIG\0");
	REPLY(&f, SDRV_XS_ERROR, 13, "ENOSYS\0");
	ck_assert_int_eq(sdrv_xs_directory(f.xs, 0, "/big", &names, &n), -E2BIG);
	ck_assert_ptr_null(sdrv_xs_broken(f.xs));
	fake_close(&f);

	/* a reply not NUL-terminated breaks the connection */
	fake_open(&f);
	REPLY(&f, SDRV_XS_DIRECTORY, 1, "a\0b");
	ck_assert_int_eq(sdrv_xs_directory(f.xs, 0, "/d", &names, &n), -EPROTO);
	ck_assert_ptr_nonnull(sdrv_xs_broken(f.xs));
	fake_close(&f);

	/* a DIRECTORY_PART chunk that makes no progress */
	fake_open(&f);
	REPLY(&f, SDRV_XS_ERROR, 1, "E2BIG\0");
	REPLY(&f, SDRV_XS_DIRECTORY_PART, 2, "7\0");
	ck_assert_int_eq(sdrv_xs_directory(f.xs, 0, "/d", &names, &n), -EPROTO);
	fake_close(&f);

	/* a server whose generation changes forever: bounded restarts */
	fake_open(&f);
	REPLY(&f, SDRV_XS_ERROR, 1, "E2BIG\0");
	for (uint32_t id = 2; id < 40; id++) {
		char p[16];
		int l = snprintf(p, sizeof(p), "%u%c%c%c", id, 0, 'x', 0);
		srv_send(&f, SDRV_XS_DIRECTORY_PART, id, 0, p, (size_t)l);
	}
	ck_assert_int_eq(sdrv_xs_directory(f.xs, 0, "/d", &names, &n), -EAGAIN);
	fake_close(&f);
}
END_TEST

START_TEST(test_perms)
{
	struct fake f;
	struct sdrv_xs_perm *p, set[2] = {{3, SDRV_XS_PERM_BOTH}, {4, SDRV_XS_PERM_READ}};
	unsigned int n;

	fake_open(&f);
	REPLY(&f, SDRV_XS_GET_PERMS, 1, "n0\0r5\0w65535\0");
	ck_assert_int_eq(sdrv_xs_get_perms(f.xs, 0, "/p", &p, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(p[0].domid, 0);
	ck_assert_int_eq(p[0].access, SDRV_XS_PERM_NONE);
	ck_assert_int_eq(p[1].domid, 5);
	ck_assert_int_eq(p[1].access, SDRV_XS_PERM_READ);
	ck_assert_int_eq(p[2].domid, 65535);
	ck_assert_int_eq(p[2].access, SDRV_XS_PERM_WRITE);
	free(p);
	EXPECT(&f, SDRV_XS_GET_PERMS, 1, 0, "/p\0");

	OK(&f, SDRV_XS_SET_PERMS, 2);
	ck_assert_int_eq(sdrv_xs_set_perms(f.xs, 0, "/p", set, 2), 0);
	EXPECT(&f, SDRV_XS_SET_PERMS, 2, 0, "/p\0b3\0r4\0");
	ck_assert_int_eq(sdrv_xs_set_perms(f.xs, 0, "/p", set, 0), -EINVAL);

	REPLY(&f, SDRV_XS_GET_PERMS, 3, "n0\0q5\0");
	ck_assert_int_eq(sdrv_xs_get_perms(f.xs, 0, "/p", &p, &n), -EPROTO);
	ck_assert_ptr_nonnull(strstr(sdrv_xs_broken(f.xs), "permission"));
	fake_close(&f);
}
END_TEST

struct tx_ctx {
	int calls;
	int ret_on_call[4];
};

static int tx_body(struct sdrv_xs *xs, uint32_t tx, void *ctx)
{
	struct tx_ctx *c = ctx;
	int rc = sdrv_xs_write(xs, tx, "/t", "1", 1);

	if (rc < 0)
		return rc;
	return c->ret_on_call[c->calls++];
}

START_TEST(test_transactions)
{
	struct fake f;
	uint32_t tx;

	fake_open(&f);
	REPLY(&f, SDRV_XS_TRANSACTION_START, 1, "17\0");
	ck_assert_int_eq(sdrv_xs_transaction_start(f.xs, &tx), 0);
	ck_assert_uint_eq(tx, 17);
	EXPECT(&f, SDRV_XS_TRANSACTION_START, 1, 0, "\0");
	OK(&f, SDRV_XS_TRANSACTION_END, 2);
	ck_assert_int_eq(sdrv_xs_transaction_end(f.xs, 17, true), 0);
	EXPECT(&f, SDRV_XS_TRANSACTION_END, 2, 17, "T\0");
	REPLY(&f, SDRV_XS_ERROR, 3, "EAGAIN\0");
	ck_assert_int_eq(sdrv_xs_transaction_end(f.xs, 17, true), -EAGAIN);
	EXPECT(&f, SDRV_XS_TRANSACTION_END, 3, 17, "T\0");
	OK(&f, SDRV_XS_TRANSACTION_END, 4);
	ck_assert_int_eq(sdrv_xs_transaction_end(f.xs, 17, false), 0);
	EXPECT(&f, SDRV_XS_TRANSACTION_END, 4, 17, "F\0");

	/* the retry helper: a conflict, then success; the body ran twice */
	{
		struct tx_ctx c = {0, {0, 0}};
		REPLY(&f, SDRV_XS_TRANSACTION_START, 5, "5\0");
		OK(&f, SDRV_XS_WRITE, 6);
		REPLY(&f, SDRV_XS_ERROR, 7, "EAGAIN\0");
		REPLY(&f, SDRV_XS_TRANSACTION_START, 8, "6\0");
		OK(&f, SDRV_XS_WRITE, 9);
		OK(&f, SDRV_XS_TRANSACTION_END, 10);
		ck_assert_int_eq(sdrv_xs_transact(f.xs, tx_body, &c, 0), 0);
		ck_assert_int_eq(c.calls, 2);
		EXPECT(&f, SDRV_XS_TRANSACTION_START, 5, 0, "\0");
		EXPECT(&f, SDRV_XS_WRITE, 6, 5,
		       "/t\0"
		       "1");
		EXPECT(&f, SDRV_XS_TRANSACTION_END, 7, 5, "T\0");
		EXPECT(&f, SDRV_XS_TRANSACTION_START, 8, 0, "\0");
		EXPECT(&f, SDRV_XS_WRITE, 9, 6,
		       "/t\0"
		       "1");
		EXPECT(&f, SDRV_XS_TRANSACTION_END, 10, 6, "T\0");
	}
	/* the body fails: abort, its error */
	{
		struct tx_ctx c = {0, {-EINVAL}};
		REPLY(&f, SDRV_XS_TRANSACTION_START, 11, "9\0");
		OK(&f, SDRV_XS_WRITE, 12);
		OK(&f, SDRV_XS_TRANSACTION_END, 13);
		ck_assert_int_eq(sdrv_xs_transact(f.xs, tx_body, &c, 0), -EINVAL);
		ck_assert_int_eq(c.calls, 1);
		EXPECT(&f, SDRV_XS_TRANSACTION_START, 11, 0, "\0");
		EXPECT(&f, SDRV_XS_WRITE, 12, 9,
		       "/t\0"
		       "1");
		EXPECT(&f, SDRV_XS_TRANSACTION_END, 13, 9, "F\0");
	}
	/* conflicts forever: -EAGAIN after max_tries */
	{
		struct tx_ctx c = {0, {0, 0, 0}};
		uint32_t id = 14;
		for (int i = 0; i < 3; i++) {
			REPLY(&f, SDRV_XS_TRANSACTION_START, id++, "4\0");
			OK(&f, SDRV_XS_WRITE, id++);
			REPLY(&f, SDRV_XS_ERROR, id++, "EAGAIN\0");
		}
		ck_assert_int_eq(sdrv_xs_transact(f.xs, tx_body, &c, 3), -EAGAIN);
		ck_assert_int_eq(c.calls, 3);
	}
	ck_assert_ptr_null(sdrv_xs_broken(f.xs));
	fake_close(&f);

	/* a transaction id that is not a number */
	fake_open(&f);
	REPLY(&f, SDRV_XS_TRANSACTION_START, 1, "12ab\0");
	ck_assert_int_eq(sdrv_xs_transaction_start(f.xs, &tx), -EPROTO);
	ck_assert_int_eq(sdrv_xs_transaction_end(f.xs, 12, true), -EPROTO);
	fake_close(&f);
	fake_open(&f);
	REPLY(&f, SDRV_XS_TRANSACTION_START, 1, "0\0");
	ck_assert_int_eq(sdrv_xs_transaction_start(f.xs, &tx), -EPROTO);
	fake_close(&f);
}
END_TEST

START_TEST(test_domains)
{
	struct fake f;
	char *p;
	size_t len;

	fake_open(&f);
	REPLY(&f, SDRV_XS_GET_DOMAIN_PATH, 1, "/local/domain/3\0");
	ck_assert_int_eq(sdrv_xs_get_domain_path(f.xs, 3, &p), 0);
	ck_assert_str_eq(p, "/local/domain/3");
	free(p);
	EXPECT(&f, SDRV_XS_GET_DOMAIN_PATH, 1, 0, "3\0");
	OK(&f, SDRV_XS_INTRODUCE, 2);
	ck_assert_int_eq(sdrv_xs_introduce(f.xs, 3, 123456789012ull, 5), 0);
	EXPECT(&f, SDRV_XS_INTRODUCE, 2, 0,
	       "3\0"
	       "123456789012\0"
	       "5\0");
	REPLY(&f, SDRV_XS_IS_DOMAIN_INTRODUCED, 3, "T\0");
	ck_assert_int_eq(sdrv_xs_is_domain_introduced(f.xs, 3), 1);
	EXPECT(&f, SDRV_XS_IS_DOMAIN_INTRODUCED, 3, 0, "3\0");
	REPLY(&f, SDRV_XS_IS_DOMAIN_INTRODUCED, 4, "F\0");
	ck_assert_int_eq(sdrv_xs_is_domain_introduced(f.xs, 4), 0);
	OK(&f, SDRV_XS_RELEASE, 5);
	ck_assert_int_eq(sdrv_xs_release(f.xs, 3), 0);
	EXPECT(&f, SDRV_XS_IS_DOMAIN_INTRODUCED, 4, 0, "4\0");
	EXPECT(&f, SDRV_XS_RELEASE, 5, 0, "3\0");
	OK(&f, SDRV_XS_RESUME, 6);
	ck_assert_int_eq(sdrv_xs_resume(f.xs, 3), 0);
	OK(&f, SDRV_XS_SET_TARGET, 7);
	ck_assert_int_eq(sdrv_xs_set_target(f.xs, 3, 4), 0);
	EXPECT(&f, SDRV_XS_RESUME, 6, 0, "3\0");
	EXPECT(&f, SDRV_XS_SET_TARGET, 7, 0,
	       "3\0"
	       "4\0");
	REPLY(&f, SDRV_XS_CONTROL, 8, "done\0");
	{
		const char *argv[] = {"log", "on"};
		ck_assert_int_eq(sdrv_xs_control(f.xs, argv, 2, &p, &len), 0);
		ck_assert_uint_eq(len, 5);
		ck_assert_str_eq(p, "done");
		free(p);
	}
	EXPECT(&f, SDRV_XS_CONTROL, 8, 0, "log\0on\0");
	REPLY(&f, SDRV_XS_IS_DOMAIN_INTRODUCED, 9, "maybe\0");
	ck_assert_int_eq(sdrv_xs_is_domain_introduced(f.xs, 4), -EPROTO);
	fake_close(&f);
}
END_TEST

struct seen {
	int n;
	char path[8][64];
	char token[8][32];
	struct fake *unwatch_in_cb; /* remove the watch from its own callback */
};

static void watch_cb(struct sdrv_xs *xs, const char *path, const char *token, void *ctx)
{
	struct seen *s = ctx;

	if (s->n < 8) {
		snprintf(s->path[s->n], sizeof(s->path[0]), "%s", path);
		snprintf(s->token[s->n], sizeof(s->token[0]), "%s", token);
	}
	s->n++;
	if (s->unwatch_in_cb) {
		struct fake *f = s->unwatch_in_cb;
		s->unwatch_in_cb = NULL;
		OK(f, SDRV_XS_UNWATCH, 2); /* the server's answer, ahead of time */
		ck_assert_int_eq(sdrv_xs_unwatch(xs, "/w", token), 0);
	}
}

#define EVENT(f, lit) srv_send(f, SDRV_XS_WATCH_EVENT, 0, 0, lit, sizeof(lit) - 1)

START_TEST(test_watches)
{
	struct fake f;
	struct seen s = {0};
	char *v;

	fake_open(&f);
	OK(&f, SDRV_XS_WATCH, 1);
	ck_assert_int_eq(sdrv_xs_watch(f.xs, "/w", "tok", watch_cb, &s), 0);
	EXPECT(&f, SDRV_XS_WATCH, 1, 0, "/w\0tok\0");
	ck_assert_int_eq(sdrv_xs_watch(f.xs, "/x", "tok", watch_cb, &s), -EEXIST);

	/* delivered by process, with path and token */
	EVENT(&f, "/w\0tok\0");
	EVENT(&f, "/w/a\0tok\0");
	ck_assert_int_eq(sdrv_xs_wait(f.xs, 5000), 0);
	while (s.n < 2)
		ck_assert_int_eq(sdrv_xs_wait(f.xs, 5000), 0);
	ck_assert_int_eq(s.n, 2);
	ck_assert_str_eq(s.path[0], "/w");
	ck_assert_str_eq(s.path[1], "/w/a");
	ck_assert_str_eq(s.token[1], "tok");

	/* an event during a synchronous call waits for process(); the
	 * descriptor says so; a duplicate is coalesced */
	EVENT(&f, "/w/b\0tok\0");
	EVENT(&f, "/w/b\0tok\0");
	EVENT(&f, "/w/c\0tok\0");
	REPLY(&f, SDRV_XS_READ, 2, "v");
	ck_assert_int_eq(sdrv_xs_read(f.xs, 0, "/r", &v, NULL), 0);
	free(v);
	ck_assert_int_eq(s.n, 2);
	ck_assert_uint_eq(sdrv_xs_queued_events(f.xs), 2);
	ck_assert(fd_readable(sdrv_xs_fd(f.xs)));
	ck_assert_int_eq(sdrv_xs_process(f.xs), 0);
	ck_assert_int_eq(s.n, 4);
	ck_assert_str_eq(s.path[2], "/w/b");
	ck_assert_str_eq(s.path[3], "/w/c");
	ck_assert_uint_eq(sdrv_xs_queued_events(f.xs), 0);
	ck_assert(!fd_readable(sdrv_xs_fd(f.xs)));

	/* an event right behind a reply, in the same read: it stays buffered
	 * after the call, and the descriptor must say so (regression: it did
	 * not, and a loop polling it slept forever) */
	f.batch = true;
	REPLY(&f, SDRV_XS_READ, 3, "v");
	EVENT(&f, "/w/after\0tok\0");
	srv_flush(&f);
	ck_assert_int_eq(sdrv_xs_read(f.xs, 0, "/r2", &v, NULL), 0);
	free(v);
	ck_assert(fd_readable(sdrv_xs_fd(f.xs)));
	ck_assert_int_eq(sdrv_xs_process(f.xs), 0);
	ck_assert_int_eq(s.n, 5);
	ck_assert_str_eq(s.path[4], "/w/after");
	EXPECT(&f, SDRV_XS_READ, 2, 0, "/r\0");
	EXPECT(&f, SDRV_XS_READ, 3, 0, "/r2\0");

	/* events of an unknown token (a watch removed meanwhile) are dropped */
	EVENT(&f, "/q\0other\0");
	ck_assert_int_eq(sdrv_xs_wait(f.xs, 5000), 0);
	ck_assert_int_eq(s.n, 5);
	ck_assert_ptr_null(sdrv_xs_broken(f.xs));

	/* unwatch drops what is queued for the watch */
	EVENT(&f, "/w/d\0tok\0");
	OK(&f, SDRV_XS_UNWATCH, 4);
	ck_assert_int_eq(sdrv_xs_unwatch(f.xs, "/w", "tok"), 0);
	EXPECT(&f, SDRV_XS_UNWATCH, 4, 0, "/w\0tok\0");
	ck_assert_uint_eq(sdrv_xs_queued_events(f.xs), 0);
	sdrv_xs_process(f.xs);
	ck_assert_int_eq(s.n, 5);
	ck_assert_int_eq(sdrv_xs_unwatch(f.xs, "/w", "tok"), -ENOENT);

	/* a watch the server refuses is not kept */
	REPLY(&f, SDRV_XS_ERROR, 5, "EACCES\0");
	ck_assert_int_eq(sdrv_xs_watch(f.xs, "/y", "t2", watch_cb, &s), -EACCES);
	ck_assert_int_eq(sdrv_xs_unwatch(f.xs, "/y", "t2"), -ENOENT);
	fake_close(&f);
}
END_TEST

static int count_cb_n;
static char count_last[64];

static void count_cb(struct sdrv_xs *xs, const char *path, const char *token, void *ctx)
{
	(void)xs;
	(void)token;
	(void)ctx;
	count_cb_n++;
	snprintf(count_last, sizeof(count_last), "%s", path);
}

START_TEST(test_watch_storm)
{
	struct sdrv_xs_opts o = {.sz = sizeof(o), .max_events = 32};
	struct fake f;
	char *v;
	int distinct = 300, dup = 2000;

	fake_open_opts(&f, &o);
	OK(&f, SDRV_XS_WATCH, 1);
	ck_assert_int_eq(sdrv_xs_watch(f.xs, "/w", "t", count_cb, NULL), 0);
	EXPECT(&f, SDRV_XS_WATCH, 1, 0, "/w\0t\0");

	/* All of it arrives during one synchronous call: the queue keeps at
	 * most 32 events, duplicates once, and the rest become one overflow
	 * event with the watched path. */
	f.batch = true;
	for (int i = 0; i < dup; i++)
		EVENT(&f, "/w/same\0t\0");
	for (int i = 0; i < distinct; i++) {
		char p[32];
		int l = snprintf(p, sizeof(p), "/w/k%d%ct%c", i, 0, 0);
		srv_send(&f, SDRV_XS_WATCH_EVENT, 0, 0, p, (size_t)l);
	}
	REPLY(&f, SDRV_XS_READ, 2, "v");
	srv_flush(&f);
	ck_assert_int_eq(sdrv_xs_read(f.xs, 0, "/r", &v, NULL), 0);
	free(v);
	ck_assert_uint_eq(sdrv_xs_queued_events(f.xs), 33);
	count_cb_n = 0;
	ck_assert_int_eq(sdrv_xs_process(f.xs), 0);
	ck_assert_int_eq(count_cb_n, 33);
	ck_assert_str_eq(count_last, "/w"); /* the overflow event */
	ck_assert_uint_eq(sdrv_xs_queued_events(f.xs), 0);

	/* The same storm read by process(): bounded work per call, and no
	 * event is lost without an overflow event standing for it. */
	count_cb_n = 0;
	f.batch = true;
	for (int i = 0; i < dup; i++)
		EVENT(&f, "/w/same\0t\0");
	srv_flush(&f);
	{
		int calls = 0;
		while (fd_readable(sdrv_xs_fd(f.xs))) {
			ck_assert_int_eq(sdrv_xs_process(f.xs), 0);
			calls++;
		}
		/* at most 64 messages per call */
		ck_assert_int_ge(calls, dup / 64);
		ck_assert_int_le(count_cb_n, calls);
	}
	ck_assert_ptr_null(sdrv_xs_broken(f.xs));
	fake_close(&f);
}
END_TEST

struct done {
	int n;
	int err[8];
	char val[8][16];
};

/* The context of one asynchronous request: where its result goes. */
struct slot {
	struct done *d;
	int idx;
};

static void done_cb(struct sdrv_xs *xs, int err, const char *payload, size_t len, void *ctx)
{
	struct slot *sl = ctx;

	(void)xs;
	ck_assert_int_lt(sl->idx, 8);
	sl->d->err[sl->idx] = err;
	if (payload)
		snprintf(sl->d->val[sl->idx], sizeof(sl->d->val[0]), "%.*s", (int)len, payload);
	sl->d->n++;
}

START_TEST(test_async)
{
	struct sdrv_xs_opts o = {.sz = sizeof(o), .max_pending = 3};
	struct fake f;
	struct done d = {0};
	struct slot sl[8];

	for (int i = 0; i < 8; i++) {
		sl[i].d = &d;
		sl[i].idx = i;
	}
	fake_open_opts(&f, &o);
	ck_assert_int_eq(sdrv_xs_read_async(f.xs, 0, "/1", done_cb, &sl[0]), 0);
	ck_assert_int_eq(sdrv_xs_read_async(f.xs, 0, "/2", done_cb, &sl[1]), 0);
	ck_assert_int_eq(sdrv_xs_write_async(f.xs, 7, "/3", "x", 1, done_cb, &sl[2]), 0);
	ck_assert_int_eq(sdrv_xs_read_async(f.xs, 0, "/4", done_cb, &sl[7]), -EBUSY);
	ck_assert_int_eq(sdrv_xs_submit(f.xs, SDRV_XS_WATCH, 0, "a\0b\0", 4, done_cb, &sl[7]),
			 -EINVAL);
	EXPECT(&f, SDRV_XS_READ, 1, 0, "/1\0");
	EXPECT(&f, SDRV_XS_READ, 2, 0, "/2\0");
	EXPECT(&f, SDRV_XS_WRITE, 3, 7, "/3\0x");

	/* answered out of order, one with an error */
	OK(&f, SDRV_XS_WRITE, 3);
	REPLY(&f, SDRV_XS_READ, 1, "one");
	REPLY(&f, SDRV_XS_ERROR, 2, "ENOENT\0");
	while (d.n < 3)
		ck_assert_int_eq(sdrv_xs_wait(f.xs, 5000), 0);
	ck_assert_int_eq(d.err[0], 0);
	ck_assert_str_eq(d.val[0], "one");
	ck_assert_int_eq(d.err[1], -ENOENT);
	ck_assert_int_eq(d.err[2], 0);
	ck_assert_str_eq(d.val[2], "OK");

	/* a synchronous call while requests are in flight: its reply comes
	 * after theirs, theirs complete in the next process() */
	ck_assert_int_eq(sdrv_xs_read_async(f.xs, 0, "/5", done_cb, &sl[3]), 0);
	REPLY(&f, SDRV_XS_READ, 4, "five");
	REPLY(&f, SDRV_XS_READ, 5, "six");
	{
		char *v;
		ck_assert_int_eq(sdrv_xs_read(f.xs, 0, "/6", &v, NULL), 0);
		ck_assert_str_eq(v, "six");
		free(v);
	}
	ck_assert_int_eq(d.n, 3);
	ck_assert(fd_readable(sdrv_xs_fd(f.xs)));
	ck_assert_int_eq(sdrv_xs_process(f.xs), 0);
	ck_assert_int_eq(d.n, 4);
	ck_assert_str_eq(d.val[3], "five");

	/* close with requests in flight: they complete with -ECANCELED */
	ck_assert_int_eq(sdrv_xs_read_async(f.xs, 0, "/7", done_cb, &sl[4]), 0);
	fake_close(&f);
	ck_assert_int_eq(d.n, 5);
	ck_assert_int_eq(d.err[4], -ECANCELED);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Hostile servers */

/* After a break: the reason, every call failing, process() reporting it
 * once readable, pending requests completed with the error. */
static void assert_broken_(struct fake *f, int err, const char *reason_part, bool reported)
{
	char *v;
	uint32_t tx;
	struct done d = {0};
	struct slot sl = {&d, 0};

	ck_assert_ptr_nonnull(sdrv_xs_broken(f->xs));
	if (reason_part)
		ck_assert_msg(strstr(sdrv_xs_broken(f->xs), reason_part),
			      "reason \"%s\" lacks \"%s\"", sdrv_xs_broken(f->xs), reason_part);
	ck_assert_int_eq(sdrv_xs_read(f->xs, 0, "/a", &v, NULL), -err);
	ck_assert_int_eq(sdrv_xs_write_str(f->xs, 0, "/a", "b"), -err);
	ck_assert_int_eq(sdrv_xs_transaction_start(f->xs, &tx), -err);
	ck_assert_int_eq(sdrv_xs_watch(f->xs, "/w", "t", count_cb, NULL), -err);
	ck_assert_int_eq(sdrv_xs_read_async(f->xs, 0, "/a", done_cb, &sl), -err);
	/* A break found by a synchronous call makes the descriptor readable
	 * until process() has reported it; then it stays quiet (no busy loop). */
	ck_assert(fd_readable(sdrv_xs_fd(f->xs)) == !reported);
	ck_assert_int_eq(sdrv_xs_process(f->xs), -err);
	ck_assert(!fd_readable(sdrv_xs_fd(f->xs)));
	ck_assert_int_eq(sdrv_xs_process(f->xs), -err);
	ck_assert_int_eq(sdrv_xs_wait(f->xs, 10), -err);
	ck_assert_int_eq(d.n, 0);
}

#define assert_broken(f, err, reason)	       assert_broken_(f, err, reason, false)
#define assert_broken_reported(f, err, reason) assert_broken_(f, err, reason, true)

START_TEST(test_hostile_unknown_req_id)
{
	struct fake f;
	char *v;

	fake_open(&f);
	REPLY(&f, SDRV_XS_READ, 99, "x");
	ck_assert_int_eq(sdrv_xs_read(f.xs, 0, "/a", &v, NULL), -EPROTO);
	assert_broken(&f, EPROTO, "unknown req_id");
	fake_close(&f);

	/* a second reply to an answered request */
	fake_open(&f);
	REPLY(&f, SDRV_XS_READ, 1, "x");
	REPLY(&f, SDRV_XS_READ, 1, "x");
	ck_assert_int_eq(sdrv_xs_read(f.xs, 0, "/a", &v, NULL), 0);
	free(v);
	ck_assert_int_eq(sdrv_xs_read(f.xs, 0, "/a", &v, NULL), -EPROTO);
	assert_broken(&f, EPROTO, "unknown req_id");
	fake_close(&f);
}
END_TEST

START_TEST(test_hostile_wrong_type)
{
	struct fake f;
	char *v;

	fake_open(&f);
	OK(&f, SDRV_XS_WRITE, 1);
	ck_assert_int_eq(sdrv_xs_read(f.xs, 0, "/a", &v, NULL), -EPROTO);
	assert_broken(&f, EPROTO, "type");
	fake_close(&f);

	/* a type that does not exist */
	fake_open(&f);
	srv_send(&f, 0x4242, 1, 0, "x", 1);
	ck_assert_int_eq(sdrv_xs_read(f.xs, 0, "/a", &v, NULL), -EPROTO);
	assert_broken(&f, EPROTO, NULL);
	fake_close(&f);
}
END_TEST

START_TEST(test_hostile_too_long)
{
	struct fake f;
	struct sdrv_xs_msg h = {SDRV_XS_READ, 1, 0, SDRV_XS_PAYLOAD_MAX + 1};
	char *v;

	fake_open(&f);
	write_all(f.sfd, &h, sizeof(h));
	ck_assert_int_eq(sdrv_xs_read(f.xs, 0, "/a", &v, NULL), -EPROTO);
	assert_broken(&f, EPROTO, "4097 bytes");
	fake_close(&f);

	/* the largest legal reply is fine */
	fake_open(&f);
	{
		static char big[SDRV_XS_PAYLOAD_MAX];
		size_t len;
		memset(big, 'v', sizeof(big));
		srv_send(&f, SDRV_XS_READ, 1, 0, big, sizeof(big));
		ck_assert_int_eq(sdrv_xs_read(f.xs, 0, "/a", &v, &len), 0);
		ck_assert_uint_eq(len, SDRV_XS_PAYLOAD_MAX);
		free(v);
	}
	/* and an oversized watch event breaks it too, read by process() */
	h.type = SDRV_XS_WATCH_EVENT;
	h.req_id = 0;
	h.len = 0xffffffffu;
	write_all(f.sfd, &h, sizeof(h));
	ck_assert_int_eq(sdrv_xs_wait(f.xs, 5000), -EPROTO);
	fake_close(&f);
}
END_TEST

START_TEST(test_hostile_truncated_eof)
{
	struct fake f;
	struct sdrv_xs_msg h = {SDRV_XS_READ, 1, 0, 10};
	char *v;

	fake_open(&f);
	write_all(f.sfd, &h, sizeof(h));
	write_all(f.sfd, "abc", 3);
	shutdown(f.sfd, SHUT_WR); /* the server still reads our request */
	ck_assert_int_eq(sdrv_xs_read(f.xs, 0, "/a", &v, NULL), -ECONNRESET);
	assert_broken(&f, ECONNRESET, "inside a message");
	fake_close(&f);

	/* half a header */
	fake_open(&f);
	write_all(f.sfd, &h, 7);
	shutdown(f.sfd, SHUT_WR);
	ck_assert_int_eq(sdrv_xs_read(f.xs, 0, "/a", &v, NULL), -ECONNRESET);
	assert_broken(&f, ECONNRESET, "inside a message");
	fake_close(&f);

	/* plain EOF, noticed by process() while a request is in flight */
	fake_open(&f);
	{
		struct done d = {0};
		struct slot sl = {&d, 0};
		ck_assert_int_eq(sdrv_xs_read_async(f.xs, 0, "/a", done_cb, &sl), 0);
		close(f.sfd);
		f.sfd = -1;
		ck_assert_int_eq(sdrv_xs_wait(f.xs, 5000), -ECONNRESET);
		ck_assert_int_eq(d.n, 1);
		ck_assert_int_eq(d.err[0], -ECONNRESET);
	}
	assert_broken_reported(&f, ECONNRESET, NULL); /* EOF, or a reset */
	fake_close(&f);
}
END_TEST

START_TEST(test_hostile_garbage)
{
	uint64_t seed = 0x6a7ba6e;
	unsigned int iters = (unsigned int)tu_scaled(300, 20);

	for (unsigned int it = 0; it < iters; it++) {
		struct fake f;
		unsigned char junk[512];
		size_t n = 1 + tu_rand(&seed) % sizeof(junk);
		char *v = NULL;
		int rc;

		for (size_t i = 0; i < n; i++)
			junk[i] = (unsigned char)tu_rand(&seed);
		fake_open(&f);
		write_all(f.sfd, junk, n);
		close(f.sfd); /* then EOF: the client must not wait forever */
		f.sfd = -1;
		if (it & 1) {
			rc = sdrv_xs_read(f.xs, 0, "/a", &v, NULL);
			free(v);
		} else {
			do
				rc = sdrv_xs_wait(f.xs, 5000);
			while (rc == 0);
		}
		ck_assert_msg(rc == -EPROTO || rc == -ECONNRESET, "iteration %u: %d", it, rc);
		ck_assert_ptr_nonnull(sdrv_xs_broken(f.xs));
		fake_close(&f);
	}
}
END_TEST

START_TEST(test_hostile_watch_events)
{
	static const struct {
		const char *p;
		size_t n;
	} bad[] = {
	    {"/w", 2},		 /* no NUL */
	    {"/w\0", 3},	 /* one string */
	    {"/w\0tok", 6},	 /* token not terminated */
	    {"/w\0tok\0x\0", 9}, /* three strings */
	    {"\0tok\0", 5},	 /* empty path */
	    {"", 0},		 /* empty */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fake f;
		struct seen s = {0};
		fake_open(&f);
		OK(&f, SDRV_XS_WATCH, 1);
		ck_assert_int_eq(sdrv_xs_watch(f.xs, "/w", "tok", watch_cb, &s), 0);
		srv_send(&f, SDRV_XS_WATCH_EVENT, 0, 0, bad[i].p, bad[i].n);
		ck_assert_int_eq(sdrv_xs_wait(f.xs, 5000), -EPROTO);
		ck_assert_int_eq(s.n, 0);
		assert_broken_reported(&f, EPROTO, "watch event");
		fake_close(&f);
	}
}
END_TEST

START_TEST(test_hostile_silence)
{
	struct sdrv_xs_opts o = {.sz = sizeof(o), .timeout_ms = 50};
	struct fake f;
	char *v;

	fake_open_opts(&f, &o);
	ck_assert_int_eq(sdrv_xs_read(f.xs, 0, "/a", &v, NULL), -ETIMEDOUT);
	assert_broken(&f, ECONNRESET, "no reply");
	fake_close(&f);
}
END_TEST

/* A callback may remove its own watch and make calls; the token stays
 * valid during the call. */
START_TEST(test_callback_reentry)
{
	struct fake f;
	struct seen s = {0};

	fake_open(&f);
	OK(&f, SDRV_XS_WATCH, 1);
	ck_assert_int_eq(sdrv_xs_watch(f.xs, "/w", "tok", watch_cb, &s), 0);
	s.unwatch_in_cb = &f;
	EVENT(&f, "/w/a\0tok\0");
	EVENT(&f, "/w/b\0tok\0");
	while (s.n < 1)
		ck_assert_int_eq(sdrv_xs_wait(f.xs, 5000), 0);
	sdrv_xs_process(f.xs);
	ck_assert_int_eq(s.n, 1); /* /w/b was dropped with the watch */
	ck_assert_ptr_null(sdrv_xs_broken(f.xs));
	fake_close(&f);
}
END_TEST

START_TEST(test_open_paths)
{
	char buf[256], dir[] = "/tmp/sdrv-xs-XXXXXX", sock[300];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct sdrv_xs *xs;
	int lfd, cfd;

	unsetenv("XENSTORED_PATH");
	unsetenv("XENSTORED_RUNDIR");
	ck_assert_int_eq(sdrv_xs_default_path(buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "/var/run/xenstored/socket");
	setenv("XENSTORED_RUNDIR", "/run/x", 1);
	ck_assert_int_eq(sdrv_xs_default_path(buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "/run/x/socket");
	setenv("XENSTORED_PATH", "/p/sock", 1);
	ck_assert_int_eq(sdrv_xs_default_path(buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "/p/sock");
	ck_assert_int_eq(sdrv_xs_default_path(buf, 4), -ENAMETOOLONG);

	/* NULL finds the socket through the environment */
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/socket", dir);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(lfd, 0);
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(lfd, 1), 0);
	unsetenv("XENSTORED_PATH");
	setenv("XENSTORED_RUNDIR", dir, 1);
	xs = sdrv_xs_open(NULL, NULL);
	ck_assert_ptr_nonnull(xs);
	cfd = accept(lfd, NULL, NULL);
	ck_assert_int_ge(cfd, 0);
	/* nothing is sent on connect */
	ck_assert(!fd_readable(cfd));
	sdrv_xs_close(xs);
	close(cfd);

	xs = sdrv_xs_open(sock, NULL);
	ck_assert_ptr_nonnull(xs);
	sdrv_xs_close(xs);
	close(lfd);
	unlink(sock);
	rmdir(dir);

	errno = 0;
	ck_assert_ptr_null(sdrv_xs_open("/nonexistent/xenstored/socket", NULL));
	ck_assert_int_eq(errno, ENOENT);
	setenv("XENSTORED_PATH", "/nonexistent/sock", 1);
	errno = 0;
	ck_assert_ptr_null(sdrv_xs_open(NULL, NULL));
	ck_assert_int_eq(errno, ENOENT);
	unsetenv("XENSTORED_PATH");
	unsetenv("XENSTORED_RUNDIR");
	errno = 0;
	ck_assert_ptr_null(sdrv_xs_open_fd(-1, NULL));
	ck_assert_int_eq(errno, EBADF);
}
END_TEST

static Suite *fake_suite(void)
{
	Suite *s = suite_create("xs-fake");
	TCase *tc = tcase_create("calls");

	tcase_add_test(tc, test_read_write);
	tcase_add_test(tc, test_directory);
	tcase_add_test(tc, test_perms);
	tcase_add_test(tc, test_transactions);
	tcase_add_test(tc, test_domains);
	tcase_add_test(tc, test_watches);
	tcase_add_test(tc, test_watch_storm);
	tcase_add_test(tc, test_async);
	tcase_add_test(tc, test_callback_reentry);
	tcase_add_test(tc, test_open_paths);
	suite_add_tcase(s, tc);
	tc = tcase_create("hostile");
	tcase_add_test(tc, test_hostile_unknown_req_id);
	tcase_add_test(tc, test_hostile_wrong_type);
	tcase_add_test(tc, test_hostile_too_long);
	tcase_add_test(tc, test_hostile_truncated_eof);
	tcase_add_test(tc, test_hostile_garbage);
	tcase_add_test(tc, test_hostile_watch_events);
	tcase_add_test(tc, test_hostile_silence);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(fake_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? TU_FAIL : TU_PASS;
}
