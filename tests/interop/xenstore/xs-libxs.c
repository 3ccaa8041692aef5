/* SPDX-License-Identifier: MIT */
/*
 * xs-libxs: Xen's own libxenstore (<xenstore.h>, -lxenstore, Debian's
 * libxen-dev) against the store. The store is found the way every Xen tool
 * finds it: xs_open(0) with XENSTORED_PATH set by the calling script
 * (libxs.sh), which also runs it through xs-proxy to check the bytes.
 *
 * usage: xs-libxs api             the API as the privileged domain 0
 *        xs-libxs client-quirks   through xs-proxy --inject (see libxs.sh)
 *        xs-libxs unpriv          as a uid the store maps to domain 5, with
 *                                 the nodes libxs.sh prepared
 *        xs-libxs quota           as domain 5 against a store with small
 *                                 quotas (-Q, see libxs.sh)
 *        xs-libxs big             against a store loaded from the state
 *                                 file of xs-wire mkstate
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenstore.h>

#include "xs-util.h"
#include "../../common/tutil.h"

static int failures, checks;

#define CHECK(cond, ...) check_at(!!(cond), __LINE__, __VA_ARGS__)

static void check_at(int ok, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void check_at(int ok, int line, const char *fmt, ...)
{
	va_list ap;

	checks++;
	if (ok)
		return;
	failures++;
	fprintf(stderr, "FAIL (xs-libxs.c:%d): ", line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static struct xs_handle *open_or_die(void)
{
	struct xs_handle *h = xs_open(0);

	if (!h) {
		fprintf(stderr, "FAIL: xs_open (XENSTORED_PATH=%s): %s\n",
			getenv("XENSTORED_PATH") ? getenv("XENSTORED_PATH") : "(unset)",
			strerror(errno));
		exit(1);
	}
	return h;
}

/* Read a node; check its value (NULL: check it fails with `err`). */
static void expect_read(struct xs_handle *h, xs_transaction_t t, const char *path, const char *want,
			int err, const char *what)
{
	unsigned int len = 0;
	char *v;

	errno = 0;
	v = xs_read(h, t, path, &len);
	if (want)
		CHECK(v && len == strlen(want) && memcmp(v, want, len) == 0,
		      "%s: xs_read %s: want \"%s\", got %s%s%s (%s)", what, path, want,
		      v ? "\"" : "NULL", v ? v : "", v ? "\"" : "", v ? "" : strerror(errno));
	else
		CHECK(!v && errno == err, "%s: xs_read %s: want failure %s, got %s (%s)", what,
		      path, strerror(err), v ? v : "NULL", strerror(errno));
	free(v);
}

static void must_write(struct xs_handle *h, xs_transaction_t t, const char *path, const char *value)
{
	CHECK(xs_write(h, t, path, value, (unsigned int)strlen(value)), "xs_write %s: %s", path,
	      strerror(errno));
}

/* Wait (poll on xs_fileno) for the next watch event; it must be path/token. */
static void expect_watch(struct xs_handle *h, const char *path, const char *token, const char *what)
{
	struct pollfd pfd = {.fd = xs_fileno(h), .events = POLLIN};
	unsigned int num = 0;
	char **vec;

	CHECK(pfd.fd >= 0, "%s: xs_fileno", what);
	if (poll(&pfd, 1, xsu_ms(10000)) != 1) {
		CHECK(0, "%s: no watch event for %s (xs_fileno never readable)", what, path);
		return;
	}
	vec = xs_read_watch(h, &num);
	CHECK(vec && num >= 2 && strcmp(vec[XS_WATCH_PATH], path) == 0 &&
		  strcmp(vec[XS_WATCH_TOKEN], token) == 0,
	      "%s: want event %s/%s, got %s/%s", what, path, token,
	      vec ? vec[XS_WATCH_PATH] : "NULL", vec && num >= 2 ? vec[XS_WATCH_TOKEN] : "-");
	free(vec);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* xs_directory must list exactly `n` names, each `fmt` of 0..n-1 (sorted). */
static void expect_dir(struct xs_handle *h, const char *path, unsigned int n,
		       const char *(*name)(unsigned int, char *), const char *what)
{
	unsigned int num = 0, i;
	char **list = xs_directory(h, XBT_NULL, path, &num);

	CHECK(list && num == n, "%s: xs_directory %s: %u names (%s), want %u", what, path,
	      list ? num : 0, list ? "ok" : strerror(errno), n);
	if (list && num == n) {
		qsort(list, num, sizeof(list[0]), cmp_str);
		for (i = 0; i < n; i++) {
			char buf[64];
			CHECK(strcmp(list[i], name(i, buf)) == 0, "%s: name %u: %s != %s", what, i,
			      list[i], buf);
		}
	}
	free(list);
}

static const char *name31(unsigned int i, char *buf)
{
	snprintf(buf, 64, "%031u", i);
	return buf;
}

static const char *name4097(unsigned int i, char *buf)
{
	snprintf(buf, 64, i ? "%031u" : "%032u", i);
	return buf;
}

/* ------------------------------------------------------------------------ */

static void t_nodes(struct xs_handle *h)
{
	unsigned int num = 0;
	char **list;

	must_write(h, XBT_NULL, "/api/a", "1");
	expect_read(h, XBT_NULL, "/api/a", "1", 0, "xs_write then xs_read");
	CHECK(xs_mkdir(h, XBT_NULL, "/api/dir"), "xs_mkdir: %s", strerror(errno));
	CHECK(xs_mkdir(h, XBT_NULL, "/api/dir"), "xs_mkdir of an existing node: %s",
	      strerror(errno));
	expect_read(h, XBT_NULL, "/api/dir", "", 0, "value of a new directory");
	list = xs_directory(h, XBT_NULL, "/api", &num);
	if (list && num == 2)
		qsort(list, num, sizeof(list[0]), cmp_str);
	CHECK(list && num == 2 && strcmp(list[0], "a") == 0 && strcmp(list[1], "dir") == 0,
	      "xs_directory /api: %u names", list ? num : 0);
	free(list);
	CHECK(xs_rm(h, XBT_NULL, "/api/a"), "xs_rm: %s", strerror(errno));
	expect_read(h, XBT_NULL, "/api/a", NULL, ENOENT, "after xs_rm");
	CHECK(xs_rm(h, XBT_NULL, "/api/a"), "xs_rm of a missing node (parent exists): %s",
	      strerror(errno));
	CHECK(!xs_rm(h, XBT_NULL, "/api/missing/child") && errno == ENOENT,
	      "xs_rm below a missing parent: want ENOENT, got %s", strerror(errno));
	expect_read(h, XBT_NULL, "/api/missing", NULL, ENOENT, "xs_read of a missing node");
}

static void t_perms(struct xs_handle *h)
{
	struct xs_permissions set[3] = {
	    {.id = 0, .perms = XS_PERM_NONE},
	    {.id = 5, .perms = XS_PERM_READ},
	    {.id = 6, .perms = XS_PERM_READ | XS_PERM_WRITE},
	};
	struct xs_permissions *p;
	unsigned int n = 0, i;

	p = xs_get_permissions(h, XBT_NULL, "/api/dir", &n);
	CHECK(p && n == 1 && p[0].id == 0 && p[0].perms == XS_PERM_NONE,
	      "xs_get_permissions of a node dom0 made: want n0, got %u entries", p ? n : 0);
	free(p);
	CHECK(xs_set_permissions(h, XBT_NULL, "/api/dir", set, 3), "xs_set_permissions: %s",
	      strerror(errno));
	p = xs_get_permissions(h, XBT_NULL, "/api/dir", &n);
	CHECK(p && n == 3, "xs_get_permissions after set: %u entries", p ? n : 0);
	for (i = 0; p && i < n && i < 3; i++)
		CHECK(p[i].id == set[i].id && p[i].perms == set[i].perms,
		      "permission %u: id %u perms %d", i, p[i].id, (int)p[i].perms);
	free(p);
}

static void t_watches(struct xs_handle *h, struct xs_handle *h2)
{
	CHECK(xs_watch(h, "/api/w", "tokw"), "xs_watch: %s", strerror(errno));
	expect_watch(h, "/api/w", "tokw", "initial event");
	must_write(h2, XBT_NULL, "/api/w/x", "1");
	expect_watch(h, "/api/w/x", "tokw", "event of a child written elsewhere");
	CHECK(xs_unwatch(h, "/api/w", "tokw"), "xs_unwatch: %s", strerror(errno));
	must_write(h2, XBT_NULL, "/api/w/y", "1");
	/* The store answers a connection in order: had /api/w/y fired, its
	 * event would come before the initial event of this new watch. */
	CHECK(xs_watch(h, "/api/sync", "sync"), "xs_watch: %s", strerror(errno));
	expect_watch(h, "/api/sync", "sync", "no event after xs_unwatch");
	CHECK(xs_unwatch(h, "/api/sync", "sync"), "xs_unwatch: %s", strerror(errno));
}

static void t_transactions(struct xs_handle *h, struct xs_handle *h2)
{
	xs_transaction_t t;
	char *v, buf[64];
	int tries;

	must_write(h, XBT_NULL, "/api/c/x", "base");

	/* A real conflict: read in the transaction, changed by h2, commit. */
	t = xs_transaction_start(h);
	CHECK(t != XBT_NULL, "xs_transaction_start: %s", strerror(errno));
	expect_read(h, t, "/api/c/x", "base", 0, "read in a transaction");
	must_write(h2, XBT_NULL, "/api/c/x", "other");
	must_write(h, t, "/api/c/y", "mine");
	expect_read(h2, XBT_NULL, "/api/c/y", NULL, ENOENT, "isolation before commit");
	CHECK(!xs_transaction_end(h, t, false) && errno == EAGAIN,
	      "conflicting xs_transaction_end: want EAGAIN, got %s", strerror(errno));
	expect_read(h2, XBT_NULL, "/api/c/y", NULL, ENOENT, "nothing written by a failed commit");

	/* The retry loop every Xen tool uses; the first try is disturbed. */
	for (tries = 1; tries <= 5; tries++) {
		t = xs_transaction_start(h);
		v = xs_read(h, t, "/api/c/x", NULL);
		if (tries == 1)
			must_write(h2, XBT_NULL, "/api/c/x", "again");
		snprintf(buf, sizeof(buf), "%s-seen", v ? v : "(null)");
		free(v);
		must_write(h, t, "/api/c/y", buf);
		if (xs_transaction_end(h, t, false))
			break;
		CHECK(errno == EAGAIN, "xs_transaction_end: %s", strerror(errno));
	}
	CHECK(tries == 2, "retry loop: committed after %d tries, want 2", tries);
	expect_read(h2, XBT_NULL, "/api/c/y", "again-seen", 0, "value after the retry");

	/* Abort. */
	t = xs_transaction_start(h);
	must_write(h, t, "/api/c/z", "gone");
	CHECK(xs_transaction_end(h, t, true), "abort: %s", strerror(errno));
	expect_read(h, XBT_NULL, "/api/c/z", NULL, ENOENT, "aborted write");
}

static void t_domains(struct xs_handle *h, struct xs_handle *h2)
{
	char *p;

	CHECK(xs_watch(h, "@introduceDomain", "intro"), "xs_watch @introduceDomain: %s",
	      strerror(errno));
	expect_watch(h, "@introduceDomain", "intro", "initial @introduceDomain");
	CHECK(xs_watch(h, "@releaseDomain", "rel"), "xs_watch @releaseDomain: %s", strerror(errno));
	expect_watch(h, "@releaseDomain", "rel", "initial @releaseDomain");
	CHECK(!xs_is_domain_introduced(h2, 7), "domain 7 introduced before xs_introduce_domain");
	CHECK(xs_introduce_domain(h2, 7, 0x1234, 5), "xs_introduce_domain 7: %s", strerror(errno));
	expect_watch(h, "@introduceDomain", "intro", "@introduceDomain after xs_introduce_domain");
	CHECK(xs_is_domain_introduced(h2, 7), "xs_is_domain_introduced 7 after introduce");
	CHECK(!xs_is_domain_introduced(h2, 8), "xs_is_domain_introduced 8 (never introduced)");
	p = xs_get_domain_path(h2, 7);
	CHECK(p && strcmp(p, "/local/domain/7") == 0, "xs_get_domain_path 7: %s", p ? p : "NULL");
	free(p);
	CHECK(xs_release_domain(h2, 7), "xs_release_domain 7: %s", strerror(errno));
	expect_watch(h, "@releaseDomain", "rel", "@releaseDomain after xs_release_domain");
	CHECK(!xs_is_domain_introduced(h2, 7), "xs_is_domain_introduced 7 after release");
	CHECK(xs_unwatch(h, "@introduceDomain", "intro") && xs_unwatch(h, "@releaseDomain", "rel"),
	      "xs_unwatch special: %s", strerror(errno));
}

/* quirk 4: 4096 bytes of payload at most, both ways. */
static void t_limits(struct xs_handle *h)
{
	static char buf[XENSTORE_PAYLOAD_MAX];
	const char *path = "/api/big";
	unsigned int max = XENSTORE_PAYLOAD_MAX - (unsigned int)strlen(path) - 1, len = 0, i;
	xs_transaction_t t;
	char name[96], nb[64], *v;

	memset(buf, 'v', sizeof(buf));
	/* A value of exactly 4096 bytes does not fit a WRITE with its path:
	 * libxenstore refuses to send it, and the handle stays usable. */
	CHECK(!xs_write(h, XBT_NULL, path, buf, XENSTORE_PAYLOAD_MAX) && errno == E2BIG,
	      "xs_write of a 4096-byte value: want E2BIG, got %s", strerror(errno));
	expect_read(h, XBT_NULL, path, NULL, ENOENT, "handle usable after E2BIG");
	CHECK(xs_write(h, XBT_NULL, path, buf, max), "xs_write of %u bytes (payload 4096): %s", max,
	      strerror(errno));
	v = xs_read(h, XBT_NULL, path, &len);
	CHECK(v && len == max && memcmp(v, buf, max) == 0, "xs_read of %u bytes: %u", max,
	      v ? len : 0);
	free(v);

	/* A 4096-byte DIRECTORY reply, and a 4097-byte list that libxenstore
	 * fetches with DIRECTORY_PART after the store's E2BIG (quirk 7). */
	t = xs_transaction_start(h);
	for (i = 0; i < 128; i++) {
		snprintf(name, sizeof(name), "/api/d4096/%s", name31(i, nb));
		CHECK(xs_mkdir(h, t, name), "xs_mkdir %s: %s", name, strerror(errno));
		snprintf(name, sizeof(name), "/api/d4097/%s", name4097(i, nb));
		CHECK(xs_mkdir(h, t, name), "xs_mkdir %s: %s", name, strerror(errno));
	}
	CHECK(xs_transaction_end(h, t, false), "commit of 256 mkdirs: %s", strerror(errno));
	expect_dir(h, "/api/d4096", 128, name31, "4096-byte list");
	expect_dir(h, "/api/d4097", 128, name4097, "4097-byte list");
}

static int run_api(void)
{
	struct xs_handle *h = open_or_die(), *h2 = open_or_die();

	t_nodes(h);
	t_perms(h);
	t_watches(h, h2);
	t_transactions(h, h2);
	t_domains(h, h2);
	t_limits(h);
	xs_close(h2);
	xs_close(h);
	return 0;
}

/*
 * What libxenstore does when a server breaks a rule (the proxy injects
 * it): this is why the store must never do these things.
 */
static int run_client_quirks(void)
{
	struct xs_handle *h = open_or_die();

	/* quirk 5: an unknown error name is EINVAL; the handle stays usable. */
	expect_read(h, XBT_NULL, "/inject/unknown", NULL, EINVAL, "quirk 5: unknown error name");
	expect_read(h, XBT_NULL, "/inject/known", NULL, EACCES, "quirk 5: error name EACCES");
	expect_read(h, XBT_NULL, "/", "", 0, "quirk 5: usable after an unknown error name");

	/* quirk 3: a reply of another type is EBADF and closes the handle. */
	expect_read(h, XBT_NULL, "/inject/badtype", NULL, EBADF, "quirk 3: wrong reply type");
	expect_read(h, XBT_NULL, "/", NULL, EBADF, "quirk 3: handle dead after a wrong type");
	xs_close(h);

	/* quirk 4: a 4097-byte reply is E2BIG and kills the handle. */
	h = open_or_die();
	expect_read(h, XBT_NULL, "/inject/oversize", NULL, E2BIG, "quirk 4: 4097-byte reply");
	expect_read(h, XBT_NULL, "/", NULL, EBADF, "quirk 4: handle dead after E2BIG");
	xs_close(h);

	/* quirk 7: without DIRECTORY_PART (ENOSYS, injected for /inject/big)
	 * a list over 4096 bytes cannot be read at all: E2BIG. */
	h = open_or_die();
	{
		xs_transaction_t t = xs_transaction_start(h);
		unsigned int i, num = 0;
		char name[96], nb[64], **list;

		for (i = 0; i < 128; i++) {
			snprintf(name, sizeof(name), "/inject/big/%s", name4097(i, nb));
			CHECK(xs_mkdir(h, t, name), "xs_mkdir %s: %s", name, strerror(errno));
		}
		CHECK(xs_transaction_end(h, t, false), "commit: %s", strerror(errno));
		list = xs_directory(h, XBT_NULL, "/inject/big", &num);
		CHECK(!list && errno == E2BIG,
		      "quirk 7: DIRECTORY_PART answered ENOSYS: want E2BIG, got %s",
		      list ? "a list" : strerror(errno));
		free(list);
		expect_read(h, XBT_NULL, "/", "", 0, "quirk 7: usable after the failed list");
	}
	xs_close(h);
	return 0;
}

/* As domain 5 (socket uid mapped by --uid-domain). libxs.sh made
 * /local/domain/5 (n5), /secret (n0), /shared (n0,r5), /both (n0,b5) and
 * /wonly (n0,w5). */
static int run_unpriv(void)
{
	struct xs_handle *h = open_or_die();
	struct xs_permissions give[1] = {{.id = 6, .perms = XS_PERM_NONE}};
	struct xs_permissions keep[2] = {{.id = 5, .perms = XS_PERM_NONE},
					 {.id = 6, .perms = XS_PERM_READ}};
	struct xs_permissions *p;
	unsigned int n = 0;
	char *path;

	expect_read(h, XBT_NULL, "/secret", NULL, EACCES, "domain 5 reads an n0 node");
	expect_read(h, XBT_NULL, "/secret/none", NULL, EACCES,
		    "a missing node below an unreadable one: EACCES, not ENOENT");
	expect_read(h, XBT_NULL, "/both/none", NULL, ENOENT,
		    "a missing node below a readable one: ENOENT");
	CHECK(!xs_write(h, XBT_NULL, "/secret", "x", 1) && errno == EACCES,
	      "domain 5 writes an n0 node: want EACCES, got %s", strerror(errno));
	expect_read(h, XBT_NULL, "/shared", "s", 0, "domain 5 reads an r5 node");
	CHECK(!xs_write(h, XBT_NULL, "/shared", "x", 1) && errno == EACCES,
	      "domain 5 writes an r5 node: want EACCES, got %s", strerror(errno));
	must_write(h, XBT_NULL, "/local/domain/5/mine", "v");
	must_write(h, XBT_NULL, "rel", "r");
	expect_read(h, XBT_NULL, "/local/domain/5/rel", "r", 0, "relative path of domain 5");
	expect_read(h, XBT_NULL, "rel", "r", 0, "relative read");
	p = xs_get_permissions(h, XBT_NULL, "/local/domain/5/mine", &n);
	CHECK(p && n >= 1 && p[0].id == 5, "a node domain 5 made is owned by 5 (got %u)",
	      p && n ? p[0].id : 0);
	free(p);
	CHECK(!xs_set_permissions(h, XBT_NULL, "/local/domain/5/mine", give, 1) && errno == EPERM,
	      "domain 5 gives its node away: want EPERM, got %s", strerror(errno));
	CHECK(xs_set_permissions(h, XBT_NULL, "/local/domain/5/mine", keep, 2),
	      "domain 5 sets permissions of its node: %s", strerror(errno));
	CHECK(!xs_introduce_domain(h, 9, 1, 1) && errno == EACCES,
	      "domain 5 xs_introduce_domain: want EACCES, got %s", strerror(errno));
	CHECK(!xs_release_domain(h, 9) && errno == EACCES,
	      "domain 5 xs_release_domain: want EACCES, got %s", strerror(errno));
	path = xs_get_domain_path(h, 5);
	CHECK(path && strcmp(path, "/local/domain/5") == 0, "xs_get_domain_path 5: %s",
	      path ? path : "NULL");
	free(path);

	/* A relative watch gets relative event paths. */
	CHECK(xs_watch(h, "relw", "rw"), "relative xs_watch: %s", strerror(errno));
	expect_watch(h, "relw", "rw", "initial event of a relative watch");
	must_write(h, XBT_NULL, "relw/x", "1");
	expect_watch(h, "relw/x", "rw", "event of a relative watch");
	/* Events only for nodes the watcher may read (or whose parent it may
	 * read): /both is b5, /wonly is w5 (write only), both below / (n0). */
	CHECK(xs_watch(h, "/both", "bo") && xs_watch(h, "/wonly", "wo"), "xs_watch: %s",
	      strerror(errno));
	expect_watch(h, "/both", "bo", "initial event of a readable node");
	expect_watch(h, "/wonly", "wo", "initial event of an unreadable node (always sent)");
	must_write(h, XBT_NULL, "/wonly", "x");
	must_write(h, XBT_NULL, "/both", "y");
	/* In order: had /wonly fired, its event would come first. */
	expect_watch(h, "/both", "bo", "event of a readable node, none of an unreadable one");
	xs_close(h);
	return 0;
}

/* As domain 5 against a store started with -Q nodes=4 -Q node-size=1024
 * -Q watches=2 -Q transactions=2 -Q permissions=3; libxs.sh made
 * /local/domain/5 (n5: the domain's first node) and /secret (n0). Each
 * refusal is the errno libxenstore reports for xenstored's answer, and
 * changes nothing. */
static int run_quota(void)
{
	static char big[1100], huge[XENSTORE_PAYLOAD_MAX];
	struct xs_handle *h = open_or_die();
	struct xs_permissions three[3] = {{.id = 5, .perms = XS_PERM_NONE},
					  {.id = 6, .perms = XS_PERM_READ},
					  {.id = 7, .perms = XS_PERM_READ}};
	struct xs_permissions four[4] = {{.id = 5, .perms = XS_PERM_NONE},
					 {.id = 6, .perms = XS_PERM_READ},
					 {.id = 7, .perms = XS_PERM_READ},
					 {.id = 8, .perms = XS_PERM_READ}};
	struct xs_permissions *p;
	xs_transaction_t t1, t2, t3;
	unsigned int n = 0;
	char **list;

	/* nodes: 1 + 3 fit, the fifth is ENOSPC */
	must_write(h, XBT_NULL, "k1", "v");
	must_write(h, XBT_NULL, "k2", "v");
	must_write(h, XBT_NULL, "/local/domain/5/k3", "v");
	CHECK(!xs_write(h, XBT_NULL, "k4", "v", 1) && errno == ENOSPC,
	      "xs_write of node 5 over the nodes quota of 4: want ENOSPC, got %s", strerror(errno));
	CHECK(!xs_mkdir(h, XBT_NULL, "k4") && errno == ENOSPC,
	      "xs_mkdir of node 5 over the nodes quota of 4: want ENOSPC, got %s", strerror(errno));
	expect_read(h, XBT_NULL, "k4", NULL, ENOENT, "the refused node does not exist");
	list = xs_directory(h, XBT_NULL, "/local/domain/5", &n);
	CHECK(list && n == 3, "xs_directory of the home: %u names, want k1 k2 k3", list ? n : 0);
	free(list);
	CHECK(xs_rm(h, XBT_NULL, "k3"), "xs_rm: %s", strerror(errno));
	must_write(h, XBT_NULL, "k4", "v"); /* the room came back */

	/* node-size: a 1100-byte value is ENOSPC; the old value stays */
	memset(big, 'x', sizeof(big));
	CHECK(!xs_write(h, XBT_NULL, "k1", big, sizeof(big)) && errno == ENOSPC,
	      "xs_write of 1100 bytes over node-size 1024: want ENOSPC, got %s", strerror(errno));
	expect_read(h, XBT_NULL, "k1", "v", 0, "the value refused over node-size");
	/* A value no request can carry: libxenstore's own E2BIG, nothing sent. */
	memset(huge, 'y', sizeof(huge));
	CHECK(!xs_write(h, XBT_NULL, "k1", huge, sizeof(huge)) && errno == E2BIG,
	      "xs_write of a 4096-byte value: want E2BIG, got %s", strerror(errno));
	expect_read(h, XBT_NULL, "k1", "v", 0, "the handle works after E2BIG");

	/* watches: the third is E2BIG, as xenstored answers */
	CHECK(xs_watch(h, "k1", "w1") && xs_watch(h, "k2", "w2"), "two watches: %s",
	      strerror(errno));
	CHECK(!xs_watch(h, "k4", "w3") && errno == E2BIG,
	      "a watch over the watches quota of 2: want E2BIG, got %s", strerror(errno));
	CHECK(xs_unwatch(h, "k2", "w2"), "xs_unwatch: %s", strerror(errno));
	CHECK(xs_watch(h, "k4", "w3"), "a watch after xs_unwatch: %s", strerror(errno));

	/* transactions: the third open one is ENOSPC */
	t1 = xs_transaction_start(h);
	t2 = xs_transaction_start(h);
	CHECK(t1 != XBT_NULL && t2 != XBT_NULL, "two transactions: %s", strerror(errno));
	t3 = xs_transaction_start(h);
	CHECK(t3 == XBT_NULL && errno == ENOSPC,
	      "a transaction over the transactions quota of 2: want ENOSPC, got %s",
	      t3 == XBT_NULL ? strerror(errno) : "a transaction");
	CHECK(xs_transaction_end(h, t1, true) && xs_transaction_end(h, t2, true),
	      "ending the transactions: %s", strerror(errno));
	t3 = xs_transaction_start(h);
	CHECK(t3 != XBT_NULL && xs_transaction_end(h, t3, true),
	      "a transaction once the others ended: %s", strerror(errno));

	/* permissions: a list of 4 entries is ENOSPC, 3 are fine */
	CHECK(!xs_set_permissions(h, XBT_NULL, "k1", four, 4) && errno == ENOSPC,
	      "4 permission entries over the quota of 3: want ENOSPC, got %s", strerror(errno));
	CHECK(xs_set_permissions(h, XBT_NULL, "k1", three, 3), "3 permission entries: %s",
	      strerror(errno));
	p = xs_get_permissions(h, XBT_NULL, "k1", &n);
	CHECK(p && n == 3 && p[2].id == 7, "the 3 entries were set (%u)", p ? n : 0);
	free(p);

	/* permissions: EACCES for what domain 5 may not read or write */
	expect_read(h, XBT_NULL, "/secret", NULL, EACCES, "domain 5 reads an n0 node");
	CHECK(!xs_write(h, XBT_NULL, "/secret", "x", 1) && errno == EACCES,
	      "domain 5 writes an n0 node: want EACCES, got %s", strerror(errno));
	CHECK(!xs_directory(h, XBT_NULL, "/", &n) && errno == EACCES,
	      "domain 5 lists /: want EACCES, got %s", strerror(errno));
	xs_close(h);
	return 0;
}

/* quirk 4: /big holds 4096 bytes (xs-wire mkstate): a READ reply of exactly
 * XENSTORE_PAYLOAD_MAX bytes is read whole, and the handle stays usable. */
static int run_big(void)
{
	struct xs_handle *h = open_or_die();
	unsigned int len = 0, i, ok = 1;
	char *v = xs_read(h, XBT_NULL, "/big", &len);

	for (i = 0; v && i < len; i++)
		ok &= v[i] == 'b';
	CHECK(v && len == XENSTORE_PAYLOAD_MAX && ok && v[len] == '\0',
	      "quirk 4: xs_read of a 4096-byte value: %s, %u bytes", v ? "ok" : strerror(errno),
	      v ? len : 0);
	free(v);
	must_write(h, XBT_NULL, "/after", "1");
	expect_read(h, XBT_NULL, "/after", "1", 0, "quirk 4: usable after a 4096-byte reply");
	xs_close(h);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: xs-libxs api | client-quirks | unpriv | quota | big\n");
		return 2;
	}
	tu_watchdog(120, "xs-libxs");
	if (strcmp(argv[1], "api") == 0)
		run_api();
	else if (strcmp(argv[1], "client-quirks") == 0)
		run_client_quirks();
	else if (strcmp(argv[1], "unpriv") == 0)
		run_unpriv();
	else if (strcmp(argv[1], "big") == 0)
		run_big();
	else if (strcmp(argv[1], "quota") == 0)
		run_quota();
	else
		return 2;
	printf("xs-libxs %s: %d checks, %d failed\n", argv[1], checks, failures);
	return failures ? 1 : 0;
}
