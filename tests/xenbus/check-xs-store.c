/* SPDX-License-Identifier: MIT */
/*
 * The store client against the real in-process store: every call, the
 * DIRECTORY_PART fallback on a big directory, permissions seen from an
 * unprivileged domain, watches (initial, change, removal, special),
 * transactions and the retry helper under real conflicts (also between
 * threads), asynchronous requests pipelined, and the typed xenbus readers
 * on hostile values.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <splitdrv/xenbus.h>
#include <splitdrv/xs.h>

#include "../common/tutil.h"
#include "store-fixture.h"

static struct store_fixture sf;
static struct sdrv_xs *xs;

static void setup(void)
{
	uint32_t doms[] = {5};

	ck_assert_int_eq(sf_start(&sf, doms, 1), 0);
	xs = sf_client(&sf);
	ck_assert_ptr_nonnull(xs);
}

static void teardown(void)
{
	sdrv_xs_close(xs);
	if (sf.dom_fd[0] > 0)
		close(sf.dom_fd[0]);
	sf_stop(&sf);
}

static char *rd(struct sdrv_xs *c, const char *path)
{
	char *v = NULL;
	int rc = sdrv_xs_read(c, 0, path, &v, NULL);

	ck_assert_msg(rc == 0, "read %s: %d", path, rc);
	return v;
}

#define ASSERT_VAL(c, path, want)                                                                  \
	do {                                                                                       \
		char *v_ = rd(c, path);                                                            \
		ck_assert_str_eq(v_, want);                                                        \
		free(v_);                                                                          \
	} while (0)

START_TEST(test_nodes)
{
	char *v, **names;
	unsigned int n;
	size_t len;

	ck_assert_int_eq(sdrv_xs_write(xs, 0, "/t/a", "1", 1), 0);
	ck_assert_int_eq(sdrv_xs_write_str(xs, 0, "/t/b", "two"), 0);
	ck_assert_int_eq(sdrv_xs_printf(xs, 0, "/t/c", "%u", 3u), 0);
	ck_assert_int_eq(sdrv_xs_mkdir(xs, 0, "/t/d"), 0);
	ck_assert_int_eq(sdrv_xs_mkdir(xs, 0, "/t/d"), 0); /* exists: fine */
	ASSERT_VAL(xs, "/t/a", "1");
	ASSERT_VAL(xs, "/t/b", "two");
	ck_assert_int_eq(sdrv_xs_read(xs, 0, "/t/d", &v, &len), 0);
	ck_assert_uint_eq(len, 0);
	free(v);
	ck_assert_int_eq(sdrv_xs_write(xs, 0, "/t/nul", "a\0b", 3), 0);
	ck_assert_int_eq(sdrv_xs_read(xs, 0, "/t/nul", &v, &len), 0);
	ck_assert_uint_eq(len, 3);
	ck_assert_int_eq(memcmp(v, "a\0b", 3), 0);
	free(v);
	ck_assert_int_eq(sdrv_xs_directory(xs, 0, "/t", &names, &n), 0);
	ck_assert_uint_eq(n, 5);
	free(names);
	ck_assert_int_eq(sdrv_xs_rm(xs, 0, "/t/a"), 0);
	ck_assert_int_eq(sdrv_xs_read(xs, 0, "/t/a", &v, NULL), -ENOENT);
	ck_assert_int_eq(sdrv_xs_directory(xs, 0, "/nope", &names, &n), -ENOENT);
	ck_assert_int_eq(sdrv_xs_rm(xs, 0, "/t"), 0);
	ck_assert_int_eq(sdrv_xs_read(xs, 0, "/t/b", &v, NULL), -ENOENT);
	ck_assert_ptr_null(sdrv_xs_broken(xs));
}
END_TEST

/* A directory bigger than one message comes back in parts. */
START_TEST(test_big_directory)
{
	char path[128], **names;
	unsigned int n, want = 200;
	size_t total = 0;

	for (unsigned int i = 0; i < want; i++) {
		snprintf(path, sizeof(path), "/big/child-with-a-rather-long-name-%04u", i);
		ck_assert_int_eq(sdrv_xs_write_str(xs, 0, path, "x"), 0);
		total += strlen(path) - strlen("/big/") + 1;
	}
	ck_assert_uint_gt(total, SDRV_XS_PAYLOAD_MAX);
	ck_assert_int_eq(sdrv_xs_directory(xs, 0, "/big", &names, &n), 0);
	ck_assert_uint_eq(n, want);
	for (unsigned int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "child-with-a-rather-long-name-%04u", i);
		ck_assert_str_eq(names[i], path);
	}
	free(names);
}
END_TEST

START_TEST(test_perms)
{
	struct sdrv_xs *dom5 = sdrv_xs_open_fd(sf.dom_fd[0], NULL);
	struct sdrv_xs_perm set[2] = {{0, SDRV_XS_PERM_NONE}, {5, SDRV_XS_PERM_READ}};
	struct sdrv_xs_perm *p;
	unsigned int n;
	char *v;

	sf.dom_fd[0] = -1; /* the connection owns it now */
	ck_assert_ptr_nonnull(dom5);
	ck_assert_int_eq(sdrv_xs_write_str(xs, 0, "/p/secret", "s"), 0);
	ck_assert_int_eq(sdrv_xs_set_perms(xs, 0, "/p/secret", set, 1), 0);
	ck_assert_int_eq(sdrv_xs_read(dom5, 0, "/p/secret", &v, NULL), -EACCES);
	ck_assert_int_eq(sdrv_xs_set_perms(xs, 0, "/p/secret", set, 2), 0);
	ck_assert_int_eq(sdrv_xs_get_perms(xs, 0, "/p/secret", &p, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(p[0].domid, 0);
	ck_assert_int_eq(p[0].access, SDRV_XS_PERM_NONE);
	ck_assert_int_eq(p[1].domid, 5);
	ck_assert_int_eq(p[1].access, SDRV_XS_PERM_READ);
	free(p);
	ASSERT_VAL(dom5, "/p/secret", "s");
	ck_assert_int_eq(sdrv_xs_write_str(dom5, 0, "/p/secret", "x"), -EACCES);
	/* privileged-only requests */
	ck_assert_int_eq(sdrv_xs_introduce(dom5, 7, 1, 1), -EACCES);
	/* a relative path is the domain's home */
	{
		char *home;
		ck_assert_int_eq(sdrv_xs_get_domain_path(dom5, 5, &home), 0);
		ck_assert_str_eq(home, "/local/domain/5");
		free(home);
	}
	ck_assert_ptr_null(sdrv_xs_broken(dom5));
	sdrv_xs_close(dom5);
}
END_TEST

struct evlog {
	int n;
	char path[32][96];
};

static void ev_cb(struct sdrv_xs *c, const char *path, const char *token, void *ctx)
{
	struct evlog *l = ctx;

	(void)c;
	(void)token;
	if (l->n < 32)
		snprintf(l->path[l->n], sizeof(l->path[0]), "%s", path);
	l->n++;
}

/* Wait until `l` holds an event for `path` (bounded by the client's and the
 * test's watchdogs). */
static void wait_event(struct sdrv_xs *c, struct evlog *l, const char *path)
{
	for (int tries = 0; tries < 1000; tries++) {
		for (int i = 0; i < l->n && i < 32; i++)
			if (strcmp(l->path[i], path) == 0)
				return;
		int rc_ = sdrv_xs_wait(c, 60000);
		ck_assert_msg(rc_ != -ETIMEDOUT, "no event for %s within a minute (%d seen)", path,
			      l->n);
	}
	ck_abort_msg("no event for %s", path);
}

START_TEST(test_watches)
{
	struct evlog l = {0};
	struct sdrv_xs *other = sf_client(&sf);

	ck_assert_ptr_nonnull(other);
	ck_assert_int_eq(sdrv_xs_write_str(xs, 0, "/w/x", "0"), 0);
	ck_assert_int_eq(sdrv_xs_watch(xs, "/w", "tok", ev_cb, &l), 0);
	wait_event(xs, &l, "/w"); /* fires once at once */
	ck_assert_int_eq(sdrv_xs_write_str(other, 0, "/w/x/y", "1"), 0);
	wait_event(xs, &l, "/w/x/y");
	ck_assert_int_eq(sdrv_xs_rm(other, 0, "/w/x"), 0);
	wait_event(xs, &l, "/w/x");
	ck_assert_int_eq(sdrv_xs_unwatch(xs, "/w", "tok"), 0);
	l.n = 0;
	ck_assert_int_eq(sdrv_xs_write_str(other, 0, "/w/z", "1"), 0);
	/* a read round trip after the write: any event would be here by now */
	ASSERT_VAL(xs, "/w/z", "1");
	sdrv_xs_process(xs);
	ck_assert_int_eq(l.n, 0);

	/* special watches */
	ck_assert_int_eq(sdrv_xs_watch(xs, "@introduceDomain", "in", ev_cb, &l), 0);
	ck_assert_int_eq(sdrv_xs_watch(xs, "@releaseDomain", "out", ev_cb, &l), 0);
	ck_assert_int_eq(sdrv_xs_is_domain_introduced(xs, 9), 0);
	ck_assert_int_eq(sdrv_xs_introduce(xs, 9, 1234, 3), 0);
	ck_assert_int_eq(sdrv_xs_is_domain_introduced(xs, 9), 1);
	l.n = 0;
	wait_event(xs, &l, "@introduceDomain");
	ck_assert_int_eq(sdrv_xs_release(xs, 9), 0);
	wait_event(xs, &l, "@releaseDomain");
	ck_assert_int_eq(sdrv_xs_is_domain_introduced(xs, 9), 0);
	ck_assert_int_eq(sdrv_xs_release(xs, 9), -ENOENT);

	{
		const char *argv[] = {"print", "hello from check-xs-store"};
		char *reply;
		ck_assert_int_eq(sdrv_xs_control(xs, argv, 2, &reply, NULL), 0);
		free(reply);
		argv[0] = "no-such-command";
		ck_assert_int_lt(sdrv_xs_control(xs, argv, 1, NULL, NULL), 0);
	}
	ck_assert_int_eq(sdrv_xs_reset_watches(xs), 0);
	sdrv_xs_close(other);
	ck_assert_ptr_null(sdrv_xs_broken(xs));
}
END_TEST

struct conflict {
	struct sdrv_xs *other;
	int calls;
};

/* Read the counter in the transaction; on the first call another
 * connection changes it meanwhile, so the commit conflicts. */
static int incr_body(struct sdrv_xs *c, uint32_t tx, void *ctx)
{
	struct conflict *k = ctx;
	uint64_t v;
	int rc = sdrv_xs_read_uint(c, tx, "/cnt", UINT64_MAX, &v);

	if (rc < 0)
		return rc;
	if (k->calls++ == 0 && k->other)
		ck_assert_int_eq(sdrv_xs_write_str(k->other, 0, "/cnt", "100"), 0);
	return sdrv_xs_printf(c, tx, "/cnt", "%llu", (unsigned long long)(v + 1));
}

START_TEST(test_transactions)
{
	struct sdrv_xs *other = sf_client(&sf);
	struct conflict k = {other, 0};
	uint32_t tx;
	char *v;

	ck_assert_ptr_nonnull(other);
	ck_assert_int_eq(sdrv_xs_write_str(xs, 0, "/cnt", "0"), 0);
	ck_assert_int_eq(sdrv_xs_transact(xs, incr_body, &k, 0), 0);
	ck_assert_int_eq(k.calls, 2); /* conflicted once, then committed */
	ASSERT_VAL(xs, "/cnt", "101");

	/* isolation and abort */
	ck_assert_int_eq(sdrv_xs_transaction_start(xs, &tx), 0);
	ck_assert_int_eq(sdrv_xs_write_str(xs, tx, "/iso", "in-tx"), 0);
	ck_assert_int_eq(sdrv_xs_read(other, 0, "/iso", &v, NULL), -ENOENT);
	ck_assert_int_eq(sdrv_xs_transaction_end(xs, tx, false), 0);
	ck_assert_int_eq(sdrv_xs_read(xs, 0, "/iso", &v, NULL), -ENOENT);
	ck_assert_int_lt(sdrv_xs_transaction_end(xs, tx, true), 0); /* ended already */
	sdrv_xs_close(other);
}
END_TEST

struct racer {
	struct store_fixture *f;
	int iters;
	int rc;
};

static int incr_plain(struct sdrv_xs *c, uint32_t tx, void *ctx)
{
	uint64_t v;
	int rc = sdrv_xs_read_uint(c, tx, "/race", UINT64_MAX, &v);

	(void)ctx;
	if (rc < 0)
		return rc;
	return sdrv_xs_printf(c, tx, "/race", "%llu", (unsigned long long)(v + 1));
}

static void *racer(void *arg)
{
	struct racer *r = arg;
	struct sdrv_xs *c = sf_client(r->f);

	r->rc = c ? 0 : -1;
	for (int i = 0; c && i < r->iters && r->rc == 0; i++)
		r->rc = sdrv_xs_transact(c, incr_plain, NULL, 1000);
	sdrv_xs_close(c);
	return NULL;
}

/* Threads with their own connections increment one counter: conflicts are
 * real, and the retry helper loses no increment. */
START_TEST(test_transact_race)
{
	enum { NT = 4 };
	pthread_t th[NT];
	struct racer r[NT];
	int iters = (int)tu_scaled(50, 5);
	char want[32];

	ck_assert_int_eq(sdrv_xs_write_str(xs, 0, "/race", "0"), 0);
	for (int i = 0; i < NT; i++) {
		r[i].f = &sf;
		r[i].iters = iters;
		r[i].rc = 0;
		ck_assert_int_eq(pthread_create(&th[i], NULL, racer, &r[i]), 0);
	}
	for (int i = 0; i < NT; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(r[i].rc, 0);
	}
	snprintf(want, sizeof(want), "%d", NT * iters);
	ASSERT_VAL(xs, "/race", want);
}
END_TEST

struct pipe_ctx {
	int done, errors;
	int next_expected;
	bool in_order;
	char want[16];
	int *counter;
	int idx;
};

static void pipe_cb(struct sdrv_xs *c, int err, const char *payload, size_t len, void *ctx)
{
	struct pipe_ctx *p = ctx;

	(void)c;
	(*p->counter)++;
	p->done++;
	if (err ||
	    (payload && p->want[0] && (len != strlen(p->want) || memcmp(payload, p->want, len))))
		p->errors++;
}

/* Many requests in flight at once, matched by req_id. */
START_TEST(test_async_pipeline)
{
	enum { N = 120 }; /* 240 in flight: below max_pending (256) */
	static struct pipe_ctx w[N], r[N];
	int completed = 0;
	char path[64], val[16];

	for (int i = 0; i < N; i++) {
		snprintf(path, sizeof(path), "/pipe/%d", i);
		snprintf(val, sizeof(val), "v%d", i * 7);
		memset(&w[i], 0, sizeof(w[i]));
		w[i].counter = &completed;
		ck_assert_int_eq(sdrv_xs_write_async(xs, 0, path, val, strlen(val), pipe_cb, &w[i]),
				 0);
	}
	for (int i = 0; i < N; i++) {
		snprintf(path, sizeof(path), "/pipe/%d", i);
		memset(&r[i], 0, sizeof(r[i]));
		snprintf(r[i].want, sizeof(r[i].want), "v%d", i * 7);
		r[i].counter = &completed;
		ck_assert_int_eq(sdrv_xs_read_async(xs, 0, path, pipe_cb, &r[i]), 0);
	}
	while (completed < 2 * N)
		ck_assert_int_eq(sdrv_xs_wait(xs, 30000), 0);
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(w[i].done, 1);
		ck_assert_int_eq(w[i].errors, 0);
		ck_assert_int_eq(r[i].done, 1);
		ck_assert_int_eq(r[i].errors, 0);
	}
	/* raw request */
	{
		char *reply;
		size_t len;
		ck_assert_int_eq(sdrv_xs_request(xs, SDRV_XS_READ, 0, "/pipe/3", 8, &reply, &len),
				 0);
		ck_assert_str_eq(reply, "v21");
		free(reply);
	}
}
END_TEST

/* The typed readers on what a hostile peer may write. */
START_TEST(test_typed_keys)
{
	const char *d = "/dev";
	uint64_t u;
	bool b;
	char *s;
	unsigned int order, nq;
	uint32_t port;
	sdrv_grant_ref_t refs[SDRV_XENBUS_MAX_RING_REFS], in[4] = {8, 9, 4294967295u, 0};

	ck_assert_int_eq(sdrv_xenbus_write_uint(xs, 0, d, "n", 42), 0);
	ck_assert_int_eq(sdrv_xenbus_read_uint(xs, 0, d, "n", 100, 0, &u), 0);
	ck_assert_uint_eq(u, 42);
	ck_assert_int_eq(sdrv_xenbus_read_uint(xs, 0, d, "n", 10, 0, &u), -ERANGE);
	ck_assert_int_eq(sdrv_xenbus_read_uint(xs, 0, d, "absent", 10, 5, &u), -ENOENT);
	ck_assert_uint_eq(u, 5);
	ck_assert_int_eq(sdrv_xenbus_write_str(xs, 0, d, "junk", "12junk"), 0);
	ck_assert_int_eq(sdrv_xenbus_read_uint(xs, 0, d, "junk", 100, 0, &u), -EINVAL);
	ck_assert_int_eq(sdrv_xenbus_write_str(xs, 0, d, "neg", "-1"), 0);
	ck_assert_int_eq(sdrv_xenbus_read_uint(xs, 0, d, "neg", 100, 0, &u), -EINVAL);

	ck_assert_int_eq(sdrv_xenbus_write_bool(xs, 0, d, "feature-a", true), 0);
	ck_assert_int_eq(sdrv_xenbus_read_bool(xs, 0, d, "feature-a", false, &b), 0);
	ck_assert(b);
	ck_assert_int_eq(sdrv_xenbus_read_bool(xs, 0, d, "feature-none", true, &b), 0);
	ck_assert(b);
	ck_assert_int_eq(sdrv_xenbus_read_bool(xs, 0, d, "junk", false, &b), -EINVAL);
	ck_assert_int_eq(sdrv_xenbus_write_str(xs, 0, d, "feature-huge", "99999999999"), 0);
	ck_assert_int_eq(sdrv_xenbus_read_bool(xs, 0, d, "feature-huge", false, &b), -ERANGE);

	ck_assert_int_eq(sdrv_xenbus_write_str(xs, 0, d, "protocol", "x86_64-abi"), 0);
	ck_assert_int_eq(sdrv_xenbus_read_str(xs, 0, d, "protocol", 32, &s), 0);
	ck_assert_str_eq(s, "x86_64-abi");
	free(s);
	ck_assert_int_eq(sdrv_xenbus_read_str(xs, 0, d, "protocol", 4, &s), -E2BIG);
	ck_assert_int_eq(sdrv_xs_write(xs, 0, "/dev/nulstr", "ab\0c", 4), 0);
	ck_assert_int_eq(sdrv_xenbus_read_str(xs, 0, d, "nulstr", 32, &s), -EINVAL);

	/* rings: one page, then several */
	ck_assert_int_eq(sdrv_xenbus_write_ring_refs(xs, 0, d, "ring-ref", in, 0), 0);
	ASSERT_VAL(xs, "/dev/ring-ref", "8");
	ck_assert_int_eq(sdrv_xenbus_read_ring_refs(xs, 0, d, "ring-ref", 0, refs), 0);
	ck_assert_uint_eq(refs[0], 8);
	ck_assert_int_eq(sdrv_xenbus_write_ring_refs(xs, 0, d, "ring-ref", in, 2), 0);
	ASSERT_VAL(xs, "/dev/ring-ref2", "4294967295");
	ck_assert_int_eq(sdrv_xenbus_read_ring_refs(xs, 0, d, "ring-ref", 2, refs), 0);
	ck_assert_uint_eq(refs[2], 4294967295u);
	ck_assert_uint_eq(refs[3], 0);
	ck_assert_int_eq(sdrv_xenbus_write_ring_refs(xs, 0, d, "ring-ref", in, 5), -EINVAL);
	ck_assert_int_eq(sdrv_xenbus_write_str(xs, 0, d, "ring-ref1", "4294967296"), 0);
	ck_assert_int_eq(sdrv_xenbus_read_ring_refs(xs, 0, d, "ring-ref", 2, refs), -EINVAL);
	ck_assert_int_eq(sdrv_xenbus_write_str(xs, 0, d, "ring-ref1", "9"), 0);
	ck_assert_int_eq(sdrv_xenbus_read_ring_refs(xs, 0, d, "ring-ref", 4, refs), -ENOENT);

	/* ring-page-order: absent, legal, too big, legacy num-ring-pages */
	ck_assert_int_eq(sdrv_xenbus_read_ring_order(xs, 0, d, 4, &order), 0);
	ck_assert_uint_eq(order, 0);
	ck_assert_int_eq(sdrv_xenbus_write_uint(xs, 0, d, "ring-page-order", 2), 0);
	ck_assert_int_eq(sdrv_xenbus_read_ring_order(xs, 0, d, 4, &order), 0);
	ck_assert_uint_eq(order, 2);
	ck_assert_int_eq(sdrv_xenbus_read_ring_order(xs, 0, d, 1, &order), -ERANGE);
	ck_assert_int_eq(sdrv_xenbus_write_str(xs, 0, d, "ring-page-order", "4294967295"), 0);
	ck_assert_int_eq(sdrv_xenbus_read_ring_order(xs, 0, d, 4, &order), -ERANGE);
	ck_assert_int_eq(sdrv_xenbus_read_ring_order(xs, 0, d, 5, &order), -EINVAL);
	ck_assert_int_eq(sdrv_xs_rm(xs, 0, "/dev/ring-page-order"), 0);
	ck_assert_int_eq(sdrv_xenbus_write_uint(xs, 0, d, "num-ring-pages", 8), 0);
	ck_assert_int_eq(sdrv_xenbus_read_ring_order(xs, 0, d, 4, &order), 0);
	ck_assert_uint_eq(order, 3);
	ck_assert_int_eq(sdrv_xenbus_write_uint(xs, 0, d, "num-ring-pages", 6), 0);
	ck_assert_int_eq(sdrv_xenbus_read_ring_order(xs, 0, d, 4, &order), -EINVAL);
	ck_assert_int_eq(sdrv_xenbus_write_uint(xs, 0, d, "num-ring-pages", 32), 0);
	ck_assert_int_eq(sdrv_xenbus_read_ring_order(xs, 0, d, 4, &order), -ERANGE);

	/* queues: absent means 1; 0 and above the offer are refused */
	ck_assert_int_eq(sdrv_xenbus_read_num_queues(xs, 0, d, 4, &nq), 0);
	ck_assert_uint_eq(nq, 1);
	ck_assert_int_eq(sdrv_xenbus_write_uint(xs, 0, d, "multi-queue-num-queues", 4), 0);
	ck_assert_int_eq(sdrv_xenbus_read_num_queues(xs, 0, d, 4, &nq), 0);
	ck_assert_uint_eq(nq, 4);
	ck_assert_int_eq(sdrv_xenbus_read_num_queues(xs, 0, d, 3, &nq), -ERANGE);
	ck_assert_int_eq(sdrv_xenbus_write_uint(xs, 0, d, "multi-queue-num-queues", 0), 0);
	ck_assert_int_eq(sdrv_xenbus_read_num_queues(xs, 0, d, 4, &nq), -ERANGE);
	ck_assert_int_eq(sdrv_xenbus_read_num_queues(xs, 0, d, 65, &nq), -EINVAL);

	ck_assert_int_eq(sdrv_xenbus_write_uint(xs, 0, d, "event-channel", 131071), 0);
	ck_assert_int_eq(sdrv_xenbus_read_evtchn(xs, 0, d, "event-channel", &port), 0);
	ck_assert_uint_eq(port, 131071);
	ck_assert_int_eq(sdrv_xenbus_write_uint(xs, 0, d, "event-channel", 131072), 0);
	ck_assert_int_eq(sdrv_xenbus_read_evtchn(xs, 0, d, "event-channel", &port), -ERANGE);
}
END_TEST

/* The toolstack helpers lay a device out as libxl does. */
START_TEST(test_dev_create)
{
	struct sdrv_xenbus_dev dev = {
	    .sz = sizeof(dev), .type = "vbd", .back_type = "qdisk", .fe = 3, .be = 0, .id = 51712};
	struct sdrv_xs_perm *p;
	unsigned int n;

	ck_assert_int_eq(sdrv_xenbus_dev_create(xs, &dev), 0);
	ck_assert_int_eq(sdrv_xenbus_dev_create(xs, &dev), -EEXIST);
	ASSERT_VAL(xs, "/local/domain/3/device/vbd/51712/backend",
		   "/local/domain/0/backend/qdisk/3/51712");
	ASSERT_VAL(xs, "/local/domain/3/device/vbd/51712/backend-id", "0");
	ASSERT_VAL(xs, "/local/domain/3/device/vbd/51712/state", "1");
	ASSERT_VAL(xs, "/local/domain/0/backend/qdisk/3/51712/frontend",
		   "/local/domain/3/device/vbd/51712");
	ASSERT_VAL(xs, "/local/domain/0/backend/qdisk/3/51712/frontend-id", "3");
	ASSERT_VAL(xs, "/local/domain/0/backend/qdisk/3/51712/online", "1");
	ASSERT_VAL(xs, "/local/domain/0/backend/qdisk/3/51712/state", "1");
	ck_assert_int_eq(sdrv_xs_get_perms(xs, 0, "/local/domain/3/device/vbd/51712/state", &p, &n),
			 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(p[0].domid, 3); /* the frontend owns its keys */
	ck_assert_int_eq(p[1].domid, 0);
	ck_assert_int_eq(p[1].access, SDRV_XS_PERM_READ);
	free(p);
	ck_assert_int_eq(sdrv_xenbus_dev_shutdown(xs, &dev), 0);
	ASSERT_VAL(xs, "/local/domain/0/backend/qdisk/3/51712/online", "0");
	ASSERT_VAL(xs, "/local/domain/0/backend/qdisk/3/51712/state", "5");
	ck_assert_int_eq(sdrv_xenbus_dev_remove(xs, &dev), 0);
	ck_assert_int_eq(sdrv_xenbus_dev_remove(xs, &dev), 0);
	ck_assert_int_eq(sdrv_xenbus_dev_shutdown(xs, &dev), -ENOENT);
	dev.type = "../evil";
	ck_assert_int_eq(sdrv_xenbus_dev_create(xs, &dev), -EINVAL);
}
END_TEST

static Suite *store_suite(void)
{
	Suite *s = suite_create("xs-store");
	TCase *tc = tcase_create("client");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_nodes);
	tcase_add_test(tc, test_big_directory);
	tcase_add_test(tc, test_perms);
	tcase_add_test(tc, test_watches);
	tcase_add_test(tc, test_transactions);
	tcase_add_test(tc, test_transact_race);
	tcase_add_test(tc, test_async_pipeline);
	tcase_add_test(tc, test_typed_keys);
	tcase_add_test(tc, test_dev_create);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(store_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? TU_FAIL : TU_PASS;
}
