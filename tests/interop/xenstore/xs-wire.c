/* SPDX-License-Identifier: MIT */
/*
 * xs-wire: the store's wire protocol checked byte by byte, with Xen's own
 * definitions (<xen/io/xs_wire.h>), against what Xen's clients rely on
 * (shared/ref/xenstore-clients.md) and what Xen's xenstored does. Each
 * group below names the quirk of xenstore-clients.md it covers ("quirk N").
 *
 * usage: xs-wire quirks SOCK          run every check against the store at SOCK
 *        xs-wire wait SOCK SECONDS    wait until SOCK accepts connections
 *        xs-wire get SOCK PATH        print a node's value in hex
 *        xs-wire put SOCK PATH HEX    write bytes (given in hex) to a node
 *        xs-wire perms SOCK PATH PERM...  set a node's permissions
 *        xs-wire mkstate FILE         write a daemon state file whose /big
 *                                     holds a 4096-byte value
 *
 * Every reply seen by the checks is also held to three rules: its type is
 * the request's or ERROR (quirk 3: libxenstore closes the connection
 * otherwise), it echoes req_id and tx_id (quirk 2: pyxs requires it), and an
 * error names one of Xen's errors with one NUL (quirk 5).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xs-util.h"
#include "../../common/tutil.h"

static const char *sock;
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
	fprintf(stderr, "FAIL (xs-wire.c:%d): ", line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int conn(void)
{
	int fd = xsu_connect(sock);

	if (fd < 0) {
		fprintf(stderr, "FAIL: connect %s: %s\n", sock, strerror(-fd));
		exit(1);
	}
	return fd;
}

/* Watch events that arrive while call() waits for a reply. */
#define EVQ_MAX 64
struct evq {
	int n;
	char ev[EVQ_MAX][256];
	size_t len[EVQ_MAX];
};
static struct evq events;

static char esc[4 * XENSTORE_PAYLOAD_MAX + 1];
static const char *show(const struct xsu_msg *m)
{
	return xsu_escape(m->body, m->hdr.len, esc, sizeof(esc));
}

/*
 * Send one request and receive its reply (watch events before it go to
 * `events`). Returns 0, or the receive error (reported).
 */
static int call(int fd, uint32_t type, uint32_t req, uint32_t tx, const void *p, size_t len,
		struct xsu_msg *r)
{
	char tb[16], rb[16];
	int err = xsu_send(fd, type, req, tx, p, len);

	if (err) {
		CHECK(0, "send %s: %s", xsu_type_name(type, tb, sizeof(tb)), strerror(-err));
		return err;
	}
	for (;;) {
		err = xsu_recv(fd, r, xsu_ms(10000));
		if (err) {
			CHECK(0, "%s: no reply: %s", xsu_type_name(type, tb, sizeof(tb)),
			      strerror(-err));
			r->hdr.type = XS_INVALID;
			r->hdr.len = 0;
			r->body[0] = '\0';
			return err;
		}
		if (r->hdr.type != XS_WATCH_EVENT)
			break;
		if (events.n < EVQ_MAX && r->hdr.len < sizeof(events.ev[0])) {
			memcpy(events.ev[events.n], r->body, r->hdr.len);
			events.len[events.n++] = r->hdr.len;
		}
	}
	/* quirk 3: reply type is the request's, or ERROR */
	CHECK(r->hdr.type == type || r->hdr.type == XS_ERROR, "quirk 3: reply to %s has type %s",
	      xsu_type_name(type, tb, sizeof(tb)), xsu_type_name(r->hdr.type, rb, sizeof(rb)));
	/* quirk 2: req_id and tx_id echoed */
	CHECK(r->hdr.req_id == req && r->hdr.tx_id == tx,
	      "quirk 2: reply to %s (req %u tx %u) carries req %u tx %u",
	      xsu_type_name(type, tb, sizeof(tb)), req, tx, r->hdr.req_id, r->hdr.tx_id);
	/* quirk 5: errors are Xen's names, NUL-terminated */
	if (r->hdr.type == XS_ERROR)
		CHECK(xsu_is_known_error(r),
		      "quirk 5: error reply to %s is not a Xen error name: %s",
		      xsu_type_name(type, tb, sizeof(tb)), show(r));
	return 0;
}

/* call() with a payload of NUL-terminated strings. */
#define CALLS(fd, type, req, tx, r, ...)                                                           \
	({                                                                                         \
		char pl_[XENSTORE_PAYLOAD_MAX];                                                    \
		size_t n_ = xsu_strs(pl_, sizeof(pl_), __VA_ARGS__, (const char *)NULL);           \
		call(fd, type, req, tx, pl_, n_, r);                                               \
	})

static int is_ok(const struct xsu_msg *r, uint32_t type)
{
	return r->hdr.type == type && r->hdr.len == 3 && memcmp(r->body, "OK", 3) == 0;
}

static void write_node(int fd, const char *path, const char *value)
{
	char pl[XENSTORE_PAYLOAD_MAX];
	size_t lp = strlen(path) + 1, lv = strlen(value);
	struct xsu_msg r;

	memcpy(pl, path, lp);
	memcpy(pl + lp, value, lv);
	call(fd, XS_WRITE, 0, 0, pl, lp + lv, &r);
	CHECK(is_ok(&r, XS_WRITE), "WRITE %s: %s", path, show(&r));
}

/* Receive the next message, which must be the watch event path/token. */
static void expect_event(int fd, const char *path, const char *token, const char *what)
{
	struct xsu_msg m;
	char want[512];
	size_t n = xsu_strs(want, sizeof(want), path, token, (const char *)NULL);
	int err = xsu_recv(fd, &m, xsu_ms(10000));

	if (err) {
		CHECK(0, "%s: no watch event %s: %s", what, path, strerror(-err));
		return;
	}
	CHECK(m.hdr.type == XS_WATCH_EVENT && m.hdr.req_id == 0 && m.hdr.tx_id == 0 &&
		  m.hdr.len == n && memcmp(m.body, want, n) == 0,
	      "%s: want WATCH_EVENT req 0 tx 0 \"%s|%s|\", got type %u req %u tx %u \"%s\"", what,
	      path, token, m.hdr.type, m.hdr.req_id, m.hdr.tx_id, show(&m));
}

/*
 * Add a watch and take its reply and initial event: the reply first, then
 * the event (as xenstored sends them), and nothing else before them. The
 * store handles a connection's requests in order, so an event that
 * something earlier should not have caused would show up here first.
 */
static void sync_watch(int w, const char *path, const char *token, const char *what)
{
	static char esc2[1024];
	struct xsu_msg r;

	events.n = 0;
	CALLS(w, XS_WATCH, 0, 0, &r, path, token);
	CHECK(is_ok(&r, XS_WATCH) && events.n == 0,
	      "%s: WATCH %s: want the OK reply first, got %s after %d event(s)%s%s", what, path,
	      show(&r), events.n, events.n ? ", the first: " : "",
	      events.n ? xsu_escape(events.ev[0], events.len[0], esc2, sizeof(esc2)) : "");
	expect_event(w, path, token, what);
}

/* Nothing readable on fd for `ms` milliseconds. */
static int quiet_for(int fd, int ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	return poll(&pfd, 1, ms) == 0;
}

/* ------------------------------------------------------------------------ */

/* quirk 1: no handshake. libxenstore sends nothing on connect and its first
 * bytes are a request; the store must not wait for or send anything first. */
static void q_handshake(void)
{
	struct xsu_msg r;
	int fd = conn(), idle, half;

	CHECK(quiet_for(fd, 300), "quirk 1: the store sent something on connect");
	call(fd, XS_READ, 0, 0, "/", 2, &r);
	CHECK(r.hdr.type == XS_READ && r.hdr.len == 0, "quirk 1: first request READ / -> %s",
	      show(&r));
	/* Connections that say nothing, or half a header, then go away. */
	idle = conn();
	close(idle);
	half = conn();
	(void)xsu_write_all(half, "\x02\0\0\0\0\0", 6);
	close(half);
	call(fd, XS_DIRECTORY, 0, 0, "/", 2, &r);
	CHECK(r.hdr.type == XS_DIRECTORY, "quirk 1: store still serves after idle peers");
	close(fd);
}

/* quirk 2: libxenstore sends req_id 0; pyxs increments and requires the
 * echo, with several requests in flight from several threads. */
static void q_reqid(void)
{
	static const uint32_t ids[] = {0, 1, 2, 7, 0x7fffffffu, 0x80000000u, 0xffffffffu};
	char buf[16 * 64];
	size_t off = 0;
	struct xsu_msg r;
	int fd = conn(), i;

	for (i = 0; i < (int)(sizeof(ids) / sizeof(ids[0])); i++)
		call(fd, XS_READ, ids[i], 0, "/", 2, &r);
	/* 16 requests in one write, ids 1000..1015: 16 replies in order. */
	for (i = 0; i < 16; i++) {
		struct xsd_sockmsg h = {XS_GET_PERMS, 1000u + (uint32_t)i, 0, 6};
		memcpy(buf + off, &h, sizeof(h));
		memcpy(buf + off + sizeof(h), "/tool", 6);
		off += sizeof(h) + 6;
	}
	CHECK(xsu_write_all(fd, buf, off) == 0, "quirk 2: pipelined write");
	for (i = 0; i < 16; i++) {
		int err = xsu_recv(fd, &r, xsu_ms(10000));
		CHECK(!err && r.hdr.type == XS_GET_PERMS && r.hdr.req_id == 1000u + (uint32_t)i,
		      "quirk 2: pipelined reply %d: err %d type %u req %u", i, err, r.hdr.type,
		      r.hdr.req_id);
	}
	close(fd);
}

/* quirk 3: every request's successful reply has the request's type. */
static void q_reply_type(void)
{
	struct xsu_msg r;
	char tx[32];
	int fd = conn();

	CALLS(fd, XS_MKDIR, 1, 0, &r, "/rt");
	CHECK(is_ok(&r, XS_MKDIR), "MKDIR: %s", show(&r));
	write_node(fd, "/rt/a", "v");
	CALLS(fd, XS_DIRECTORY, 2, 0, &r, "/rt");
	CALLS(fd, XS_READ, 3, 0, &r, "/rt/a");
	CALLS(fd, XS_GET_PERMS, 4, 0, &r, "/rt/a");
	CALLS(fd, XS_SET_PERMS, 5, 0, &r, "/rt/a", "n0", "r3");
	CHECK(is_ok(&r, XS_SET_PERMS), "SET_PERMS: %s", show(&r));
	CALLS(fd, XS_GET_DOMAIN_PATH, 6, 0, &r, "3");
	CALLS(fd, XS_IS_DOMAIN_INTRODUCED, 7, 0, &r, "3");
	CALLS(fd, XS_DIRECTORY_PART, 8, 0, &r, "/rt", "0");
	CALLS(fd, XS_WATCH, 9, 0, &r, "/rt", "t");
	CHECK(is_ok(&r, XS_WATCH), "WATCH: %s", show(&r));
	CALLS(fd, XS_UNWATCH, 10, 0, &r, "/rt", "t");
	CHECK(is_ok(&r, XS_UNWATCH), "UNWATCH: %s", show(&r));
	call(fd, XS_TRANSACTION_START, 11, 0, "", 1, &r);
	snprintf(tx, sizeof(tx), "%.31s", r.body);
	call(fd, XS_TRANSACTION_END, 12, (uint32_t)strtoul(tx, NULL, 10), "F", 2, &r);
	CHECK(is_ok(&r, XS_TRANSACTION_END), "TRANSACTION_END F: %s", show(&r));
	CALLS(fd, XS_RM, 13, 0, &r, "/rt");
	CHECK(is_ok(&r, XS_RM), "RM: %s", show(&r));
	call(fd, XS_RESET_WATCHES, 14, 0, "", 1, &r);
	CHECK(is_ok(&r, XS_RESET_WATCHES), "RESET_WATCHES: %s", show(&r));
	close(fd);
}

/* quirk 4: a 4096-byte payload works both ways; nothing larger is sent, and
 * a client that sends more loses its connection (xenstored drops it). */
static void q_limits(void)
{
	char pl[XENSTORE_PAYLOAD_MAX + 64], name[64];
	const char *path = "/lim/v";
	size_t lp = strlen(path) + 1, i;
	struct xsu_msg r;
	int fd = conn(), big, err;

	/* WRITE with exactly 4096 payload bytes, READ back. */
	memcpy(pl, path, lp);
	memset(pl + lp, 'v', XENSTORE_PAYLOAD_MAX - lp);
	call(fd, XS_WRITE, 0, 0, pl, XENSTORE_PAYLOAD_MAX, &r);
	CHECK(is_ok(&r, XS_WRITE), "quirk 4: WRITE of a 4096-byte payload: %s", show(&r));
	CALLS(fd, XS_READ, 0, 0, &r, path);
	CHECK(r.hdr.type == XS_READ && r.hdr.len == XENSTORE_PAYLOAD_MAX - lp &&
		  memcmp(r.body, pl + lp, r.hdr.len) == 0,
	      "quirk 4: READ back %zu bytes: type %u len %u", XENSTORE_PAYLOAD_MAX - lp, r.hdr.type,
	      r.hdr.len);

	/* A DIRECTORY reply of exactly 4096 bytes (128 names of 31 bytes plus
	 * NUL), and one of 4097 that the store must refuse with E2BIG. */
	for (i = 0; i < 128; i++) {
		snprintf(name, sizeof(name), "/lim/d4096/%031zu", i);
		CALLS(fd, XS_MKDIR, 0, 0, &r, name);
		snprintf(name, sizeof(name), i ? "/lim/d4097/%031zu" : "/lim/d4097/%032zu", i);
		CALLS(fd, XS_MKDIR, 0, 0, &r, name);
	}
	CALLS(fd, XS_DIRECTORY, 0, 0, &r, "/lim/d4096");
	CHECK(r.hdr.type == XS_DIRECTORY && r.hdr.len == XENSTORE_PAYLOAD_MAX,
	      "quirk 4: 4096-byte DIRECTORY reply: type %u len %u", r.hdr.type, r.hdr.len);
	CALLS(fd, XS_DIRECTORY, 0, 0, &r, "/lim/d4097");
	CHECK(xsu_is_error(&r, "E2BIG"), "quirk 4: DIRECTORY of 4097 bytes -> %s", show(&r));

	/* A request over 4096 bytes: the store closes the connection. */
	big = conn();
	memset(pl, 'x', sizeof(pl));
	memcpy(pl, "/lim/big", 9);
	err = xsu_send(big, XS_WRITE, 0, 0, pl, XENSTORE_PAYLOAD_MAX + 1);
	if (!err)
		err = xsu_recv(big, &r, xsu_ms(10000));
	CHECK(err == -ECONNRESET || err == -EPIPE,
	      "quirk 4: a 4097-byte request: want the connection closed, got %s (type %u %s)",
	      err ? strerror(-err) : "a reply", r.hdr.type, err ? "" : show(&r));
	close(big);
	big = conn();
	err = xsu_write_all(big, &(struct xsd_sockmsg){XS_READ, 0, 0, 0xffffffffu}, 16);
	if (!err)
		err = xsu_recv(big, &r, xsu_ms(10000));
	CHECK(err == -ECONNRESET || err == -EPIPE,
	      "quirk 4: a header announcing 4 GiB: want the connection closed, got %s",
	      err ? strerror(-err) : "a reply");
	close(big);
	CALLS(fd, XS_READ, 0, 0, &r, "/lim/big");
	CHECK(xsu_is_error(&r, "ENOENT"), "quirk 4: the oversized WRITE was not applied: %s",
	      show(&r));
	close(fd);
}

/* quirk 5: errors are sent as Xen's names; unknown request types get ENOSYS
 * (as xenstored answers) and the connection stays usable. */
static void q_errors(void)
{
	static const uint32_t bad_types[] = {20,   XS_WATCH_EVENT, XS_ERROR, XS_TYPE_COUNT,
					     0x55, XS_INVALID};
	static const char *const bad_paths[] = {"/bad path", "/a/", "/a//b", "", "/a\x01"};
	struct xsu_msg r;
	char tb[16];
	int fd = conn(), i;

	CALLS(fd, XS_READ, 0, 0, &r, "/nope");
	CHECK(xsu_is_error(&r, "ENOENT"), "quirk 5: READ of a missing node: %s", show(&r));
	for (i = 0; i < (int)(sizeof(bad_types) / sizeof(bad_types[0])); i++) {
		call(fd, bad_types[i], 5, 0, "/\0", 2, &r);
		CHECK(xsu_is_error(&r, "ENOSYS"), "quirk 5: request type %s: want ENOSYS, got %s",
		      xsu_type_name(bad_types[i], tb, sizeof(tb)), show(&r));
		call(fd, XS_READ, 6, 0, "/", 2, &r);
		CHECK(r.hdr.type == XS_READ, "quirk 5: connection usable after an unknown type");
	}
	for (i = 0; i < (int)(sizeof(bad_paths) / sizeof(bad_paths[0])); i++) {
		CALLS(fd, XS_READ, 0, 0, &r, bad_paths[i]);
		CHECK(xsu_is_error(&r, "EINVAL"), "quirk 5: READ of invalid path \"%s\": %s",
		      bad_paths[i], show(&r));
	}
	call(fd, XS_READ, 0, 0, "/tool", 5, &r); /* no NUL */
	CHECK(xsu_is_error(&r, "EINVAL"), "quirk 5: READ without NUL: %s", show(&r));
	call(fd, XS_WRITE, 0, 0, "/e/abc", 6, &r); /* no NUL at all */
	CHECK(xsu_is_error(&r, "EINVAL"), "quirk 5: WRITE without NUL: %s", show(&r));
	CALLS(fd, XS_READ, 0, 4242, &r, "/tool");
	CHECK(xsu_is_error(&r, "ENOENT"), "quirk 5: unknown transaction id: %s", show(&r));
	call(fd, XS_TRANSACTION_END, 0, 0, "T", 2, &r);
	CHECK(xsu_is_error(&r, "ENOENT"), "quirk 5: TRANSACTION_END outside one: %s", show(&r));
	CALLS(fd, XS_RM, 0, 0, &r, "/");
	CHECK(xsu_is_error(&r, "EINVAL"), "quirk 5: RM /: %s", show(&r));
	CALLS(fd, XS_RM, 0, 0, &r, "/nope/deeper");
	CHECK(xsu_is_error(&r, "ENOENT"), "quirk 5: RM below a missing parent: %s", show(&r));
	CALLS(fd, XS_RM, 0, 0, &r, "/nope");
	CHECK(is_ok(&r, XS_RM), "quirk 5: RM of a missing node whose parent exists: %s", show(&r));
	CALLS(fd, XS_MKDIR, 0, 0, &r, "/tool");
	CHECK(is_ok(&r, XS_MKDIR), "quirk 5: MKDIR of an existing node: %s", show(&r));
	CALLS(fd, XS_SET_PERMS, 0, 0, &r, "/tool");
	CHECK(xsu_is_error(&r, "EINVAL"), "quirk 5: SET_PERMS without permissions: %s", show(&r));
	CALLS(fd, XS_SET_PERMS, 0, 0, &r, "/tool", "z5");
	CHECK(xsu_is_error(&r, "EINVAL"), "quirk 5: SET_PERMS z5: %s", show(&r));
	CALLS(fd, XS_WATCH, 0, 0, &r, "/tool");
	CHECK(xsu_is_error(&r, "EINVAL"), "quirk 5: WATCH without token: %s", show(&r));
	CALLS(fd, XS_WATCH, 0, 0, &r, "/e", "dup");
	CALLS(fd, XS_WATCH, 0, 0, &r, "/e", "dup");
	CHECK(xsu_is_error(&r, "EEXIST"), "quirk 5: a duplicate WATCH: %s", show(&r));
	CALLS(fd, XS_UNWATCH, 0, 0, &r, "/e", "never");
	CHECK(xsu_is_error(&r, "ENOENT"), "quirk 5: UNWATCH of no watch: %s", show(&r));
	{
		uint32_t t = 0;
		char *end;

		call(fd, XS_TRANSACTION_START, 0, 0, "", 1, &r);
		t = (uint32_t)strtoul(r.body, &end, 10);
		call(fd, XS_TRANSACTION_START, 0, t, "", 1, &r);
		CHECK(xsu_is_error(&r, "EBUSY"), "quirk 5: TRANSACTION_START inside one: %s",
		      show(&r));
		call(fd, XS_TRANSACTION_END, 0, t, "F", 2, &r);
	}
	call(fd, XS_READ, 0, 0, "/", 2, &r);
	CHECK(r.hdr.type == XS_READ, "quirk 5: connection usable after errors");
	close(fd);
}

static uint32_t tx_start(int fd)
{
	struct xsu_msg r;
	char *end;
	unsigned long id;

	/* quirk 6: TRANSACTION_START payload "\0", reply "<decimal id>\0" */
	call(fd, XS_TRANSACTION_START, 0, 0, "", 1, &r);
	id = strtoul(r.body, &end, 10);
	CHECK(r.hdr.type == XS_TRANSACTION_START && r.hdr.len >= 2 &&
		  end == r.body + r.hdr.len - 1 && id != 0 && id <= 0xffffffffu,
	      "quirk 6: TRANSACTION_START reply \"%s\"", show(&r));
	return (uint32_t)id;
}

/* quirk 6: transactions as the CLI uses them: start, work with the id,
 * end with "T" (commit) or "F" (abort); EAGAIN on a conflict. */
static void q_transactions(void)
{
	struct xsu_msg r;
	int fd = conn(), other = conn();
	uint32_t t, t2;

	t = tx_start(fd);
	{
		char pl[] = "/tx/a\0one";
		call(fd, XS_WRITE, 0, t, pl, sizeof(pl) - 1, &r);
		CHECK(is_ok(&r, XS_WRITE), "quirk 6: WRITE in a transaction: %s", show(&r));
	}
	CALLS(other, XS_READ, 0, 0, &r, "/tx/a");
	CHECK(xsu_is_error(&r, "ENOENT"), "quirk 6: uncommitted write visible outside: %s",
	      show(&r));
	CALLS(fd, XS_READ, 0, t, &r, "/tx/a");
	CHECK(r.hdr.type == XS_READ && strcmp(r.body, "one") == 0,
	      "quirk 6: own write invisible inside the transaction: %s", show(&r));
	call(fd, XS_TRANSACTION_END, 0, t, "T", 2, &r);
	CHECK(is_ok(&r, XS_TRANSACTION_END), "quirk 6: commit: %s", show(&r));
	CALLS(other, XS_READ, 0, 0, &r, "/tx/a");
	CHECK(r.hdr.type == XS_READ && strcmp(r.body, "one") == 0, "quirk 6: committed: %s",
	      show(&r));
	CALLS(fd, XS_READ, 0, t, &r, "/tx/a");
	CHECK(xsu_is_error(&r, "ENOENT"), "quirk 6: id still valid after the end: %s", show(&r));

	/* Abort. */
	t = tx_start(fd);
	write_node(fd, "/tx/outside", "1");
	{
		char pl[] = "/tx/aborted\0x";
		call(fd, XS_WRITE, 0, t, pl, sizeof(pl) - 1, &r);
	}
	call(fd, XS_TRANSACTION_END, 0, t, "F", 2, &r);
	CHECK(is_ok(&r, XS_TRANSACTION_END), "quirk 6: abort: %s", show(&r));
	CALLS(other, XS_READ, 0, 0, &r, "/tx/aborted");
	CHECK(xsu_is_error(&r, "ENOENT"), "quirk 6: aborted write applied: %s", show(&r));

	/* Conflict: read in the transaction, changed outside, commit -> EAGAIN. */
	t = tx_start(fd);
	CALLS(fd, XS_READ, 0, t, &r, "/tx/a");
	write_node(other, "/tx/a", "two");
	{
		char pl[] = "/tx/b\0mine";
		call(fd, XS_WRITE, 0, t, pl, sizeof(pl) - 1, &r);
	}
	call(fd, XS_TRANSACTION_END, 0, t, "T", 2, &r);
	CHECK(xsu_is_error(&r, "EAGAIN"), "quirk 6: conflicting commit: want EAGAIN, got %s",
	      show(&r));
	CALLS(other, XS_READ, 0, 0, &r, "/tx/b");
	CHECK(xsu_is_error(&r, "ENOENT"), "quirk 6: a failed commit wrote: %s", show(&r));

	/* Two transactions at once on one connection (pyxs's copies of a
	 * client share it), on nodes that exist already: creating them would
	 * change the same parent in both, a conflict in xenstored too. */
	write_node(fd, "/tx/t1", "0");
	write_node(fd, "/tx/t2", "0");
	t = tx_start(fd);
	t2 = tx_start(fd);
	CHECK(t != t2, "quirk 6: two open transactions share id %u", t);
	{
		char p1[] = "/tx/t1\0x", p2[] = "/tx/t2\0y";
		call(fd, XS_WRITE, 0, t, p1, sizeof(p1) - 1, &r);
		call(fd, XS_WRITE, 0, t2, p2, sizeof(p2) - 1, &r);
	}
	call(fd, XS_TRANSACTION_END, 0, t2, "T", 2, &r);
	CHECK(is_ok(&r, XS_TRANSACTION_END), "quirk 6: second of two: %s", show(&r));
	call(fd, XS_TRANSACTION_END, 0, t, "T", 2, &r);
	CHECK(is_ok(&r, XS_TRANSACTION_END), "quirk 6: first of two: %s", show(&r));
	call(fd, XS_TRANSACTION_END, 0, tx_start(fd), "X", 2, &r);
	CHECK(xsu_is_error(&r, "EINVAL"), "quirk 6: TRANSACTION_END \"X\": %s", show(&r));
	close(fd);
	close(other);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* quirk 7: DIRECTORY of a big node gives E2BIG; DIRECTORY_PART "path\0off\0"
 * (offset in bytes of the child list) gives "gen\0child\0..." with an extra
 * NUL after the last chunk. */
static void q_directory_part(void)
{
	enum { N = 300 };
	static char names[N][48], got_buf[N * 48];
	char *want[N], *got[N], gen[32] = "", offs[16], path[64];
	size_t goff = 0;
	struct xsu_msg r;
	int fd = conn(), i, ngot = 0, chunks = 0;
	unsigned off = 0;

	for (i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "child-%04d-abcdefghijklmnop", i);
		snprintf(path, sizeof(path), "/dp/%.47s", names[i]);
		CALLS(fd, XS_MKDIR, 0, 0, &r, path);
		want[i] = names[i];
	}
	CALLS(fd, XS_DIRECTORY, 0, 0, &r, "/dp");
	CHECK(xsu_is_error(&r, "E2BIG"), "quirk 7: DIRECTORY of %d children: want E2BIG, got %s", N,
	      r.hdr.type == XS_ERROR ? show(&r) : "a reply");
	for (;;) {
		size_t glen, dlen;
		const char *data;
		int last;

		snprintf(offs, sizeof(offs), "%u", off);
		CALLS(fd, XS_DIRECTORY_PART, 0, 0, &r, "/dp", offs);
		if (r.hdr.type != XS_DIRECTORY_PART || r.hdr.len < 2 ||
		    r.body[r.hdr.len - 1] != '\0' || ++chunks > 20) {
			CHECK(0, "quirk 7: DIRECTORY_PART /dp %u: %s", off, show(&r));
			break;
		}
		glen = strlen(r.body);
		if (off == 0)
			snprintf(gen, sizeof(gen), "%.31s", r.body);
		CHECK(glen > 0 && strspn(r.body, "0123456789") == glen && strcmp(gen, r.body) == 0,
		      "quirk 7: generation \"%s\" (first \"%s\")", r.body, gen);
		data = r.body + glen + 1;
		dlen = r.hdr.len - glen - 1;
		last = dlen >= 1 && (dlen == 1 || data[dlen - 2] == '\0');
		for (size_t p = 0; p < dlen - (last ? 1 : 0); p += strlen(data + p) + 1) {
			size_t l = strlen(data + p) + 1;
			if (ngot == N || goff + l > sizeof(got_buf)) {
				CHECK(0, "quirk 7: too many children");
				break;
			}
			memcpy(got_buf + goff, data + p, l);
			got[ngot++] = got_buf + goff;
			goff += l;
		}
		if (last)
			break;
		off += (unsigned)dlen;
	}
	CHECK(ngot == N, "quirk 7: DIRECTORY_PART gave %d children, want %d", ngot, N);
	if (ngot == N) {
		qsort(got, N, sizeof(got[0]), cmp_str);
		qsort(want, N, sizeof(want[0]), cmp_str);
		for (i = 0; i < N; i++)
			CHECK(strcmp(got[i], want[i]) == 0, "quirk 7: child %d: %s != %s", i,
			      got[i], want[i]);
	}
	/* Past the end: the generation and an empty list. */
	CALLS(fd, XS_DIRECTORY_PART, 0, 0, &r, "/dp", "99999");
	CHECK(r.hdr.type == XS_DIRECTORY_PART && r.hdr.len == strlen(gen) + 2 &&
		  strcmp(r.body, gen) == 0 && r.body[r.hdr.len - 1] == '\0',
	      "quirk 7: DIRECTORY_PART past the end: %s", show(&r));
	/* A change of the node changes the generation (libxenstore restarts). */
	CALLS(fd, XS_MKDIR, 0, 0, &r, "/dp/zzz-new");
	CALLS(fd, XS_DIRECTORY_PART, 0, 0, &r, "/dp", "0");
	CHECK(r.hdr.type == XS_DIRECTORY_PART && strcmp(r.body, gen) != 0,
	      "quirk 7: generation unchanged (%s) after adding a child", gen);
	CALLS(fd, XS_DIRECTORY_PART, 0, 0, &r, "/dp-missing", "0");
	CHECK(xsu_is_error(&r, "ENOENT"), "quirk 7: DIRECTORY_PART of a missing node: %s",
	      show(&r));
	close(fd);
}

/* quirk 8: value encoding. WRITE is "path\0value" with no NUL after the
 * value (which may hold any bytes); READ returns the bytes alone; OK
 * replies are "OK\0"; lists are NUL-terminated strings. */
static void q_encoding(void)
{
	static const char bin[] = {'a', 0, 'b', (char)0xff};
	char pl[64];
	struct xsu_msg r;
	int fd = conn();

	memcpy(pl, "/enc/bin", 9);
	memcpy(pl + 9, bin, sizeof(bin));
	call(fd, XS_WRITE, 0, 0, pl, 9 + sizeof(bin), &r);
	CHECK(is_ok(&r, XS_WRITE), "quirk 8: WRITE reply is \"OK\\0\": %s", show(&r));
	CALLS(fd, XS_READ, 0, 0, &r, "/enc/bin");
	CHECK(r.hdr.type == XS_READ && r.hdr.len == sizeof(bin) &&
		  memcmp(r.body, bin, sizeof(bin)) == 0,
	      "quirk 8: READ of binary value: %s", show(&r));
	call(fd, XS_WRITE, 0, 0, "/enc/empty", 11, &r);
	CALLS(fd, XS_READ, 0, 0, &r, "/enc/empty");
	CHECK(r.hdr.type == XS_READ && r.hdr.len == 0, "quirk 8: empty value: %s", show(&r));
	CALLS(fd, XS_DIRECTORY, 0, 0, &r, "/enc");
	CHECK(r.hdr.type == XS_DIRECTORY && r.hdr.len == 10 &&
		  ((memcmp(r.body, "bin\0empty\0", 10) == 0) ||
		   memcmp(r.body, "empty\0bin\0", 10) == 0),
	      "quirk 8: DIRECTORY reply: %s", show(&r));
	CALLS(fd, XS_DIRECTORY, 0, 0, &r, "/enc/bin");
	CHECK(r.hdr.type == XS_DIRECTORY && r.hdr.len == 0, "quirk 8: DIRECTORY of a leaf: %s",
	      show(&r));
	CALLS(fd, XS_GET_PERMS, 0, 0, &r, "/enc/bin");
	CHECK(r.hdr.type == XS_GET_PERMS && r.hdr.len == 3 && memcmp(r.body, "n0", 3) == 0,
	      "quirk 8: GET_PERMS of a node dom0 made: %s", show(&r));
	CALLS(fd, XS_GET_DOMAIN_PATH, 0, 0, &r, "7");
	CHECK(r.hdr.type == XS_GET_DOMAIN_PATH && r.hdr.len == 16 &&
		  memcmp(r.body, "/local/domain/7", 16) == 0,
	      "quirk 8: GET_DOMAIN_PATH 7: %s", show(&r));
	CALLS(fd, XS_IS_DOMAIN_INTRODUCED, 0, 0, &r, "7");
	CHECK(r.hdr.type == XS_IS_DOMAIN_INTRODUCED && r.hdr.len == 2 &&
		  memcmp(r.body, "F", 2) == 0,
	      "quirk 8: IS_DOMAIN_INTRODUCED of an unknown domain: %s", show(&r));
	close(fd);
}

/* Watches (quirk 6 of the CLI: WATCH "path\0token\0", WATCH_EVENT
 * "path\0token\0" with req_id = tx_id = 0, initial event included), special
 * watches, and events of transactions only at commit. */
static void q_watches(void)
{
	struct xsu_msg r;
	int w = conn(), fd = conn();
	uint32_t t;

	events.n = 0;
	call(w, XS_WATCH, 42, 0, "/wt\0tok", 8, &r);
	CHECK(is_ok(&r, XS_WATCH) && events.n == 0,
	      "WATCH: want the OK reply before the initial event: %s, %d events", show(&r),
	      events.n);
	expect_event(w, "/wt", "tok", "initial event");
	write_node(fd, "/wt/a", "1");
	expect_event(w, "/wt/a", "tok", "event of a child");

	/* A transaction's changes fire at commit, not before. */
	t = tx_start(fd);
	{
		char pl[] = "/wt/b\0x";
		call(fd, XS_WRITE, 0, t, pl, sizeof(pl) - 1, &r);
	}
	sync_watch(w, "/wsync", "s1", "nothing fires before the commit");
	call(fd, XS_TRANSACTION_END, 0, t, "T", 2, &r);
	expect_event(w, "/wt/b", "tok", "event at commit");

	/* After UNWATCH nothing more. */
	call(w, XS_UNWATCH, 0, 0, "/wt\0tok", 8, &r);
	CHECK(is_ok(&r, XS_UNWATCH), "UNWATCH: %s", show(&r));
	write_node(fd, "/wt/c", "1");
	sync_watch(w, "/wsync", "s2", "no event after UNWATCH");

	/* Removing a subtree: a watch on a deleted node fires with its own
	 * path, one on the removed node's path fires with that path, once. */
	write_node(fd, "/wr/a/b", "1");
	CALLS(w, XS_WATCH, 0, 0, &r, "/wr/a/b", "deep");
	expect_event(w, "/wr/a/b", "deep", "initial event (deep)");
	CALLS(w, XS_WATCH, 0, 0, &r, "/wr", "top");
	expect_event(w, "/wr", "top", "initial event (top)");
	CALLS(fd, XS_RM, 0, 0, &r, "/wr");
	{
		struct xsu_msg e1, e2;
		int err1 = xsu_recv(w, &e1, xsu_ms(10000)), err2 = xsu_recv(w, &e2, xsu_ms(10000));
		static const char a[] = "/wr/a/b\0deep", b[] = "/wr\0top";
		int got_a, got_b;

		got_a = (!err1 && e1.hdr.len == sizeof(a) && memcmp(e1.body, a, sizeof(a)) == 0) ||
			(!err2 && e2.hdr.len == sizeof(a) && memcmp(e2.body, a, sizeof(a)) == 0);
		got_b = (!err1 && e1.hdr.len == sizeof(b) && memcmp(e1.body, b, sizeof(b)) == 0) ||
			(!err2 && e2.hdr.len == sizeof(b) && memcmp(e2.body, b, sizeof(b)) == 0);
		CHECK(got_a && got_b, "RM of a subtree: want events /wr/a/b|deep and /wr|top");
	}
	sync_watch(w, "/wsync", "s3", "exactly two events for the removed subtree");

	/* Special watches, INTRODUCE and RELEASE (privileged, quirk 9). */
	sync_watch(w, "@introduceDomain", "intro", "initial @introduceDomain");
	sync_watch(w, "@releaseDomain", "rel", "initial @releaseDomain");
	CALLS(fd, XS_INTRODUCE, 0, 0, &r, "9", "4660", "3");
	CHECK(is_ok(&r, XS_INTRODUCE), "INTRODUCE 9: %s", show(&r));
	expect_event(w, "@introduceDomain", "intro", "@introduceDomain after INTRODUCE");
	CALLS(fd, XS_IS_DOMAIN_INTRODUCED, 0, 0, &r, "9");
	CHECK(r.hdr.type == XS_IS_DOMAIN_INTRODUCED && strcmp(r.body, "T") == 0,
	      "IS_DOMAIN_INTRODUCED 9 after INTRODUCE: %s", show(&r));
	CALLS(fd, XS_RELEASE, 0, 0, &r, "9");
	CHECK(is_ok(&r, XS_RELEASE), "RELEASE 9: %s", show(&r));
	expect_event(w, "@releaseDomain", "rel", "@releaseDomain after RELEASE");
	CALLS(fd, XS_IS_DOMAIN_INTRODUCED, 0, 0, &r, "9");
	CHECK(r.hdr.type == XS_IS_DOMAIN_INTRODUCED && strcmp(r.body, "F") == 0,
	      "IS_DOMAIN_INTRODUCED 9 after RELEASE: %s", show(&r));
	close(w);
	close(fd);
}

/* quirk 9: socket connections are the privileged domain 0. */
static void q_privileged(void)
{
	struct xsu_msg r;
	int fd = conn(), found = 0;

	CALLS(fd, XS_GET_PERMS, 0, 0, &r, "/");
	CHECK(r.hdr.type == XS_GET_PERMS && strcmp(r.body, "n0") == 0, "quirk 9: perms of /: %s",
	      show(&r));
	CALLS(fd, XS_DIRECTORY, 0, 0, &r, "/");
	for (size_t p = 0; r.hdr.type == XS_DIRECTORY && p < r.hdr.len; p += strlen(r.body + p) + 1)
		found |= strcmp(r.body + p, "tool") == 0;
	CHECK(found, "quirk 9: / lists no \"tool\" (xenstored creates /tool/xenstored): %s",
	      show(&r));
	CALLS(fd, XS_READ, 0, 0, &r, "/tool/xenstored");
	CHECK(r.hdr.type == XS_READ, "quirk 9: dom0 reads an n0 node: %s", show(&r));
	write_node(fd, "/local/domain/12/x", "1");
	CALLS(fd, XS_SET_PERMS, 0, 0, &r, "/local/domain/12", "n12");
	CHECK(is_ok(&r, XS_SET_PERMS), "quirk 9: dom0 gives a node to domain 12: %s", show(&r));
	CALLS(fd, XS_GET_PERMS, 0, 0, &r, "/local/domain/12");
	CHECK(r.hdr.type == XS_GET_PERMS && strcmp(r.body, "n12") == 0,
	      "quirk 9: perms after SET_PERMS: %s", show(&r));
	CALLS(fd, XS_READ, 0, 0, &r, "/local/domain/12/x");
	CHECK(r.hdr.type == XS_READ, "quirk 9: dom0 still reads everything: %s", show(&r));
	CALLS(fd, XS_GET_PERMS, 0, 0, &r, "@introduceDomain");
	CHECK(r.hdr.type == XS_GET_PERMS && strcmp(r.body, "n0") == 0,
	      "quirk 9: perms of @introduceDomain: %s", show(&r));
	CALLS(fd, XS_IS_DOMAIN_INTRODUCED, 0, 0, &r, "0");
	CHECK(r.hdr.type == XS_IS_DOMAIN_INTRODUCED && strcmp(r.body, "T") == 0,
	      "quirk 9: domain 0 is introduced: %s", show(&r));
	close(fd);
}

/* ------------------------------------------------------------------------ */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int cmd_get(const char *path)
{
	struct xsu_msg r;
	int fd = conn();

	CALLS(fd, XS_READ, 0, 0, &r, path);
	close(fd);
	if (r.hdr.type != XS_READ) {
		fprintf(stderr, "%s\n", r.hdr.type == XS_ERROR ? r.body : "bad reply");
		return 1;
	}
	for (uint32_t i = 0; i < r.hdr.len; i++)
		printf("%02x", (unsigned char)r.body[i]);
	printf("\n");
	return failures ? 1 : 0;
}

static int cmd_put(const char *path, const char *hex)
{
	char pl[XENSTORE_PAYLOAD_MAX];
	size_t lp = strlen(path) + 1, n = strlen(hex) / 2, i;
	struct xsu_msg r;
	int fd;

	if (strlen(hex) % 2 || lp + n > sizeof(pl))
		return 2;
	memcpy(pl, path, lp);
	for (i = 0; i < n; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return 2;
		pl[lp + i] = (char)(hi << 4 | lo);
	}
	fd = conn();
	call(fd, XS_WRITE, 0, 0, pl, lp + n, &r);
	close(fd);
	if (!is_ok(&r, XS_WRITE)) {
		fprintf(stderr, "%s\n", r.hdr.type == XS_ERROR ? r.body : "bad reply");
		return 1;
	}
	return failures ? 1 : 0;
}

static int cmd_perms(const char *path, char **perms, int n)
{
	char pl[XENSTORE_PAYLOAD_MAX];
	size_t len = strlen(path) + 1;
	struct xsu_msg r;
	int fd, i;

	if (len > sizeof(pl))
		return 2;
	memcpy(pl, path, len);
	for (i = 0; i < n; i++) {
		size_t l = strlen(perms[i]) + 1;
		if (l > sizeof(pl) - len)
			return 2;
		memcpy(pl + len, perms[i], l);
		len += l;
	}
	fd = conn();
	call(fd, XS_SET_PERMS, 0, 0, pl, len, &r);
	close(fd);
	if (!is_ok(&r, XS_SET_PERMS)) {
		fprintf(stderr, "%s\n", r.hdr.type == XS_ERROR ? r.body : "bad reply");
		return 1;
	}
	return failures ? 1 : 0;
}

/* State file writer (doc/store.md, "The state file"). */
struct sbuf {
	unsigned char b[16384];
	size_t n;
};

static void put(struct sbuf *s, const void *p, size_t n)
{
	if (n > sizeof(s->b) - s->n) {
		fprintf(stderr, "xs-wire mkstate: too big\n");
		exit(2);
	}
	memcpy(s->b + s->n, p, n);
	s->n += n;
}

static void put32(struct sbuf *s, uint32_t v)
{
	unsigned char b[4] = {v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >> 24};

	put(s, b, 4);
}

static void put64(struct sbuf *s, uint64_t v)
{
	put32(s, (uint32_t)v);
	put32(s, (uint32_t)(v >> 32));
}

/* A node owned by domain 0, nobody else may read it (n0). */
static void put_node(struct sbuf *s, const char *path, const char *value, size_t vlen)
{
	put32(s, (uint32_t)strlen(path));
	put32(s, (uint32_t)vlen);
	put32(s, 1);
	put(s, path, strlen(path));
	put(s, value, vlen);
	put32(s, 0); /* domid 0 */
	put32(s, 0); /* no access for others */
}

/*
 * A state file for splitdrv-xenstored --state with xenstored's initial
 * tree plus /big, whose value is 4096 bytes: no WRITE can make such a node
 * (its path would not fit in the payload), and a READ of it is a reply of
 * exactly 4096 bytes (quirk 4).
 */
static int cmd_mkstate(const char *file)
{
	static struct sbuf s;
	static char big[XENSTORE_PAYLOAD_MAX];
	uint64_t h = 0xcbf29ce484222325ull;
	FILE *f;

	memset(big, 'b', sizeof(big));
	put(&s, "SDRVXST1", 8);
	put32(&s, 1);  /* version */
	put32(&s, 0);  /* flags */
	put64(&s, 10); /* generation */
	put32(&s, 0);  /* domains */
	put32(&s, 6);  /* nodes, pre-order, then the special ones */
	put_node(&s, "/", "", 0);
	put_node(&s, "/tool", "", 0);
	put_node(&s, "/tool/xenstored", "", 0);
	put_node(&s, "/big", big, sizeof(big));
	put_node(&s, "@introduceDomain", "", 0);
	put_node(&s, "@releaseDomain", "", 0);
	for (size_t i = 0; i < s.n; i++) {
		h ^= s.b[i];
		h *= 0x100000001b3ull;
	}
	put64(&s, h);
	f = fopen(file, "wb");
	if (!f || fwrite(s.b, 1, s.n, f) != s.n || fclose(f) != 0) {
		perror(file);
		return 1;
	}
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: xs-wire quirks SOCK | wait SOCK SECONDS | get SOCK PATH |"
			" put SOCK PATH HEX | perms SOCK PATH PERM... | mkstate FILE\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return usage();
	if (strcmp(argv[1], "mkstate") == 0 && argc == 3)
		return cmd_mkstate(argv[2]);
	sock = argv[2];
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(argv[1], "wait") == 0 && argc == 4) {
		int err = xsu_wait_socket(sock, atoi(argv[3]) * 1000);
		if (err)
			fprintf(stderr, "xs-wire: %s: %s\n", sock, strerror(-err));
		return err ? 1 : 0;
	}
	if (strcmp(argv[1], "get") == 0 && argc == 4)
		return cmd_get(argv[3]);
	if (strcmp(argv[1], "put") == 0 && argc == 5)
		return cmd_put(argv[3], argv[4]);
	if (strcmp(argv[1], "perms") == 0 && argc >= 5)
		return cmd_perms(argv[3], argv + 4, argc - 4);
	if (strcmp(argv[1], "quirks") != 0 || argc != 3)
		return usage();

	tu_watchdog(120, "xs-wire quirks");
	q_handshake();
	q_reqid();
	q_reply_type();
	q_limits();
	q_errors();
	q_transactions();
	q_directory_part();
	q_encoding();
	q_watches();
	q_privileged();
	printf("xs-wire: %d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
