/* SPDX-License-Identifier: MIT */
/*
 * splitdrv-store-bench: the store (include/splitdrv/store.h, in this
 * process, served by a thread of its own) measured with raw xenstore wire
 * messages over unix stream sockets, in two parts.
 *
 *  1. Round trips with one request outstanding, READ and WRITE of a 1-byte
 *     and a 1 KiB value, against a bare unix-socket echo of the same sizes
 *     (a thread that reads the 16-byte header and the payload, and answers
 *     a header and as many bytes as the store's reply has), interleaved
 *     round by round; the ratio store/echo of the median round trips is
 *     printed with the target (<= 2x), and the ratio of the means (which
 *     host noise moves more) beside it.
 *  2. A toolstack-sized tree: 1,000 vif devices of 100 frontend domains
 *     created the way libxl does (one transaction per device: both
 *     directories with their permissions and about ten keys each), a watch
 *     by each frontend on each of its backend directories, then writes to
 *     the backend state keys: one at a time (write round trip and the time
 *     until the frontend's watch event arrives) and as a burst of 1,000
 *     (writes/s, events/s).
 *
 * Exit status: 0, or 1 on a functional error (a wrong or missing reply or
 * event). Ratios never fail the run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <splitdrv/proto/xs_wire.h>
#include <splitdrv/store.h>

#include "tutil.h"

#define MSG_MAX (sizeof(struct sdrv_xs_msg) + SDRV_XS_PAYLOAD_MAX)

static unsigned rounds = 7;
static unsigned ops = 20000;
static struct sdrv_store *store;
static atomic_int store_stop;

static void die(const char *what)
{
	fprintf(stderr, "splitdrv-store-bench: %s\n", what);
	exit(1);
}

/* ------------------------------------------------------------------------ */
/* Raw messages */

static void write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("write to the store failed");
		p += n;
		len -= (size_t)n;
	}
}

static void read_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("read from the store failed (connection closed?)");
		p += n;
		len -= (size_t)n;
	}
}

/* Build a message: header, then `a` (la bytes), then `b` (lb bytes). */
static size_t build(char *buf, uint32_t type, uint32_t req_id, uint32_t tx, const void *a,
		    size_t la, const void *b, size_t lb)
{
	struct sdrv_xs_msg h = {type, req_id, tx, (uint32_t)(la + lb)};

	if (la + lb > SDRV_XS_PAYLOAD_MAX)
		die("message too big");
	memcpy(buf, &h, sizeof(h));
	if (la)
		memcpy(buf + sizeof(h), a, la);
	if (lb)
		memcpy(buf + sizeof(h) + la, b, lb);
	return sizeof(h) + la + lb;
}

/* Receive one message; `body` holds SDRV_XS_PAYLOAD_MAX + 1 bytes. */
static void recv_msg(int fd, struct sdrv_xs_msg *h, char *body)
{
	read_all(fd, h, sizeof(*h));
	if (h->len > SDRV_XS_PAYLOAD_MAX)
		die("reply over 4096 bytes");
	read_all(fd, body, h->len);
	body[h->len] = '\0';
}

/* One request, its reply must have type `type` (not ERROR). Returns the
 * reply's length; the payload is left in `body`. */
static uint32_t call(int fd, uint32_t type, uint32_t tx, const void *a, size_t la, const void *b,
		     size_t lb, char *body)
{
	char buf[MSG_MAX];
	struct sdrv_xs_msg h;

	write_all(fd, buf, build(buf, type, 0, tx, a, la, b, lb));
	do
		recv_msg(fd, &h, body);
	while (h.type == SDRV_XS_WATCH_EVENT);
	if (h.type != type) {
		fprintf(stderr, "splitdrv-store-bench: request %u: reply type %u \"%s\"\n", type,
			h.type, h.type == SDRV_XS_ERROR ? body : "");
		exit(1);
	}
	return h.len;
}

static void xs_write_str(int fd, uint32_t tx, const char *path, const char *value)
{
	char body[SDRV_XS_PAYLOAD_MAX + 1];

	call(fd, SDRV_XS_WRITE, tx, path, strlen(path) + 1, value, strlen(value), body);
}

/* Payload of NUL-terminated strings, ending with NULL. */
static size_t strs(char *buf, ...) __attribute__((sentinel));
static size_t strs(char *buf, ...)
{
	va_list ap;
	const char *s;
	size_t len = 0;

	va_start(ap, buf);
	while ((s = va_arg(ap, const char *)) != NULL) {
		memcpy(buf + len, s, strlen(s) + 1);
		len += strlen(s) + 1;
	}
	va_end(ap);
	return len;
}

/* ------------------------------------------------------------------------ */
/* Statistics */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(const double *v, unsigned n)
{
	double tmp[64];

	memcpy(tmp, v, n * sizeof(v[0]));
	qsort(tmp, n, sizeof(tmp[0]), cmp_dbl);
	return tmp[n / 2];
}

struct lat {
	double mean, p50, p99; /* microseconds */
};

static struct lat lat_of(uint64_t *ns, unsigned n)
{
	struct lat l;
	uint64_t sum = 0;

	for (unsigned i = 0; i < n; i++)
		sum += ns[i];
	qsort(ns, n, sizeof(ns[0]), cmp_u64);
	l.mean = (double)sum / n / 1e3;
	l.p50 = (double)ns[n / 2] / 1e3;
	l.p99 = (double)ns[(size_t)n * 99 / 100] / 1e3;
	return l;
}

/* ------------------------------------------------------------------------ */
/* Threads: the store, and the echo baseline */

static void *store_thread(void *arg)
{
	(void)arg;
	tu_pin(1);
	while (!atomic_load(&store_stop))
		if (sdrv_store_run(store, 50) < 0)
			die("sdrv_store_run failed");
	return NULL;
}

/* Bytes of payload the echo answers with (the store's reply size). */
static atomic_uint echo_rsp_len;

static void *echo_thread(void *arg)
{
	int fd = *(int *)arg;
	char buf[MSG_MAX];

	tu_pin(1);
	for (;;) {
		struct sdrv_xs_msg h;
		ssize_t n = read(fd, &h, sizeof(h)); /* the header, as a server reads it */
		uint32_t rl;

		if (n != (ssize_t)sizeof(h))
			break; /* closed: done (a short read does not happen here) */
		if (h.len > SDRV_XS_PAYLOAD_MAX)
			die("echo: bad header");
		read_all(fd, buf + sizeof(h), h.len);
		rl = atomic_load(&echo_rsp_len);
		h.len = rl;
		memcpy(buf, &h, sizeof(h));
		memset(buf + sizeof(h), 0, rl);
		write_all(fd, buf, sizeof(h) + rl);
	}
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* Part 1: round trips */

/* `n` round trips of the message in `req` on `fd`, one outstanding; each
 * reply must have `rsp_len` payload bytes. Per-op times into `ns`. */
static void round_trips(int fd, const char *req, size_t req_len, uint32_t rsp_len, unsigned n,
			uint64_t *ns)
{
	struct sdrv_xs_msg want, h;
	char body[SDRV_XS_PAYLOAD_MAX + 1];

	memcpy(&want, req, sizeof(want));
	for (unsigned i = 0; i < n; i++) {
		uint64_t t0 = tu_now_ns();

		write_all(fd, req, req_len);
		recv_msg(fd, &h, body);
		ns[i] = tu_now_ns() - t0;
		if (h.len != rsp_len || h.type != want.type)
			die("round trip: unexpected reply");
	}
}

/* Round trips per turn of store and echo. */
#define CHUNK 250u

struct rt_row {
	const char *name;
	uint32_t type;
	size_t value_len;
};

static void part_round_trips(int sfd, int efd)
{
	static const struct rt_row rows[] = {
	    {"READ, 1-byte value", SDRV_XS_READ, 1},
	    {"WRITE, 1-byte value", SDRV_XS_WRITE, 1},
	    {"READ, 1 KiB value", SDRV_XS_READ, 1024},
	    {"WRITE, 1 KiB value", SDRV_XS_WRITE, 1024},
	};
	static const char path[] = "/local/domain/1/device/vif/0/state";
	static char value[1024], body[SDRV_XS_PAYLOAD_MAX + 1];
	uint64_t *ns = malloc(ops * sizeof(*ns)), *ens = malloc(ops * sizeof(*ens));

	if (!ns || !ens)
		die("out of memory");
	memset(value, '4', sizeof(value));
	printf("Part 1: round trips with one request outstanding, the store against a bare\n"
	       "unix-socket echo answering the same sizes, taking turns every %u; %u rounds of\n"
	       "%u each, medians of the rounds.\n\n",
	       CHUNK, rounds, ops);
	printf("| # | request                | store us p50 / p99 / mean | echo us p50 / mean "
	       "| store/echo p50 (mean) | target <= 2x |\n");
	printf("|---|------------------------|---------------------------|--------------------"
	       "|-----------------------|--------------|\n");
	for (unsigned k = 0; k < sizeof(rows) / sizeof(rows[0]); k++) {
		const struct rt_row *r = &rows[k];
		double s50[64], s99[64], smean[64], e50[64], emean[64], ratio[64], r50[64];
		char req[MSG_MAX];
		size_t req_len;
		uint32_t rsp_len;

		/* The node holds a value of this size; the request is sent as is. */
		xs_write_str(sfd, 0, path, "");
		call(sfd, SDRV_XS_WRITE, 0, path, sizeof(path), value, r->value_len, body);
		if (r->type == SDRV_XS_READ) {
			req_len = build(req, SDRV_XS_READ, 0, 0, path, sizeof(path), NULL, 0);
			rsp_len = (uint32_t)r->value_len;
		} else {
			req_len = build(req, SDRV_XS_WRITE, 0, 0, path, sizeof(path), value,
					r->value_len);
			rsp_len = 3; /* "OK\0" */
		}
		atomic_store(&echo_rsp_len, rsp_len);
		for (unsigned i = 0; i < rounds; i++) {
			struct lat s, e;

			/* Store and echo take turns every CHUNK round trips, so that
			 * both see the same host noise. */
			for (unsigned done = 0; done < ops; done += CHUNK) {
				unsigned n = ops - done < CHUNK ? ops - done : CHUNK;

				if ((done / CHUNK + i) & 1) {
					round_trips(efd, req, req_len, rsp_len, n, ens + done);
					round_trips(sfd, req, req_len, rsp_len, n, ns + done);
				} else {
					round_trips(sfd, req, req_len, rsp_len, n, ns + done);
					round_trips(efd, req, req_len, rsp_len, n, ens + done);
				}
			}
			s = lat_of(ns, ops);
			e = lat_of(ens, ops);
			s50[i] = s.p50;
			s99[i] = s.p99;
			smean[i] = s.mean;
			e50[i] = e.p50;
			emean[i] = e.mean;
			ratio[i] = s.mean / e.mean;
			r50[i] = s.p50 / e.p50;
		}
		printf(
		    "| %u | %-22s | %7.2f / %7.2f / %7.2f | %7.2f / %7.2f  | %8.2fx (%5.2fx)     "
		    "| %-12s |\n",
		    k + 1, r->name, median(s50, rounds), median(s99, rounds), median(smean, rounds),
		    median(e50, rounds), median(emean, rounds), median(r50, rounds),
		    median(ratio, rounds), median(r50, rounds) <= 2.0 ? "met" : "NOT met");
	}
	free(ns);
	free(ens);
}

/* ------------------------------------------------------------------------ */
/* Part 2: 1,000 devices */

#define NR_FE  100 /* frontend domains 1..100 */
#define PER_FE 10  /* vifs per frontend */
#define NR_DEV (NR_FE * PER_FE)

struct tree {
	int ts;	       /* the toolstack (domain 0) */
	int be;	       /* the backend (domain 0), writes its state keys */
	int fe[NR_FE]; /* frontend domain d+1 */
	/* burst: filled by the collector thread */
	atomic_uint events;
	uint64_t last_event_ns;
	unsigned bad_events;
	int epfd;
};

static void be_dir(char *buf, size_t size, unsigned dev)
{
	snprintf(buf, size, "/local/domain/0/backend/vif/%u/%u", dev / PER_FE + 1, dev % PER_FE);
}

static void fe_dir(char *buf, size_t size, unsigned dev)
{
	snprintf(buf, size, "/local/domain/%u/device/vif/%u", dev / PER_FE + 1, dev % PER_FE);
}

/* One device as libxl adds it: one transaction, both directories with their
 * permissions, then the keys (which inherit them). 20 requests. */
static void add_device(int fd, unsigned dev)
{
	unsigned fe = dev / PER_FE + 1, id = dev % PER_FE;
	char be[96], fr[96], key[160], perms[32], val[96], body[SDRV_XS_PAYLOAD_MAX + 1];
	static const char *const be_keys[][2] = {
	    {"online", "1"},	  {"state", "1"},  {"script", "/etc/xen/scripts/vif-bridge"},
	    {"bridge", "xenbr0"}, {"type", "vif"},
	};
	size_t pl;
	uint32_t tx;

	be_dir(be, sizeof(be), dev);
	fe_dir(fr, sizeof(fr), dev);
	call(fd, SDRV_XS_TRANSACTION_START, 0, "", 1, NULL, 0, body);
	tx = (uint32_t)strtoul(body, NULL, 10);

	call(fd, SDRV_XS_MKDIR, tx, fr, strlen(fr) + 1, NULL, 0, body);
	snprintf(val, sizeof(val), "n%u", fe);
	pl = strs(perms, val, "r0", (const char *)NULL);
	call(fd, SDRV_XS_SET_PERMS, tx, fr, strlen(fr) + 1, perms, pl, body);
#define FKEY(k, v)                                                                                 \
	do {                                                                                       \
		snprintf(key, sizeof(key), "%s/%s", fr, k);                                        \
		xs_write_str(fd, tx, key, v);                                                      \
	} while (0)
	FKEY("backend", be);
	FKEY("backend-id", "0");
	FKEY("state", "1");
	snprintf(val, sizeof(val), "%u", id);
	FKEY("handle", val);
	snprintf(val, sizeof(val), "00:16:3e:%02x:%02x:%02x", fe >> 8, fe & 0xff, id);
	FKEY("mac", val);
#undef FKEY

	call(fd, SDRV_XS_MKDIR, tx, be, strlen(be) + 1, NULL, 0, body);
	snprintf(val, sizeof(val), "r%u", fe);
	pl = strs(perms, "n0", val, (const char *)NULL);
	call(fd, SDRV_XS_SET_PERMS, tx, be, strlen(be) + 1, perms, pl, body);
#define BKEY(k, v)                                                                                 \
	do {                                                                                       \
		snprintf(key, sizeof(key), "%s/%s", be, k);                                        \
		xs_write_str(fd, tx, key, v);                                                      \
	} while (0)
	BKEY("frontend", fr);
	snprintf(val, sizeof(val), "%u", fe);
	BKEY("frontend-id", val);
	snprintf(val, sizeof(val), "00:16:3e:%02x:%02x:%02x", fe >> 8, fe & 0xff, id);
	BKEY("mac", val);
	snprintf(val, sizeof(val), "%u", id);
	BKEY("handle", val);
	for (unsigned i = 0; i < sizeof(be_keys) / sizeof(be_keys[0]); i++)
		BKEY(be_keys[i][0], be_keys[i][1]);
#undef BKEY
	call(fd, SDRV_XS_TRANSACTION_END, tx, "T", 2, NULL, 0, body);
}

/* Receive the next message on a frontend connection: must be the event of
 * device `dev`'s backend state key. */
static bool is_state_event(const char *body, uint32_t len, unsigned dev)
{
	char want[160], tok[16];
	size_t lp;

	be_dir(want, sizeof(want), dev);
	strcat(want, "/state");
	snprintf(tok, sizeof(tok), "be%u", dev % PER_FE);
	lp = strlen(want) + 1;
	return len == lp + strlen(tok) + 1 && memcmp(body, want, lp) == 0 &&
	       strcmp(body + lp, tok) == 0;
}

static void *collector(void *arg)
{
	struct tree *t = arg;
	struct epoll_event ev[32];

	tu_pin(0);
	while (atomic_load(&t->events) < NR_DEV) {
		int n = epoll_wait(t->epfd, ev, 32, 10000);

		if (n <= 0)
			break; /* missing events: reported by the caller */
		for (int i = 0; i < n; i++) {
			unsigned d = ev[i].data.u32;
			struct sdrv_xs_msg h;
			char body[SDRV_XS_PAYLOAD_MAX + 1];
			unsigned dev;

			recv_msg(t->fe[d], &h, body);
			/* The token names the device of this frontend. */
			dev = d * PER_FE + (unsigned)strtoul(body + strlen(body) + 1 + 2, NULL, 10);
			if (h.type != SDRV_XS_WATCH_EVENT || !is_state_event(body, h.len, dev))
				t->bad_events++;
			t->last_event_ns = tu_now_ns();
			atomic_fetch_add(&t->events, 1);
		}
	}
	return NULL;
}

static void part_tree(struct tree *t)
{
	char body[SDRV_XS_PAYLOAD_MAX + 1], path[160], tok[16];
	uint64_t *wr = malloc(NR_DEV * sizeof(*wr)), *evl = malloc(NR_DEV * sizeof(*evl));
	uint64_t t0, t1, first100 = 0, t100 = 0;
	struct lat lw, le;
	pthread_t th;
	char *burst;
	size_t off = 0;

	if (!wr || !evl)
		die("out of memory");
	printf("\nPart 2: %u vif devices of %u frontend domains, a watch by each frontend on\n"
	       "each of its backend directories, writes to the backend state keys.\n\n",
	       NR_DEV, NR_FE);
	printf("| # | measure                                           |      value |\n");
	printf("|---|---------------------------------------------------|------------|\n");

	/* Homes of the frontends, as the toolstack makes them. */
	for (unsigned d = 1; d <= NR_FE; d++) {
		char p[64], perm[16];

		snprintf(p, sizeof(p), "/local/domain/%u", d);
		snprintf(perm, sizeof(perm), "n%u", d);
		xs_write_str(t->ts, 0, p, "");
		call(t->ts, SDRV_XS_SET_PERMS, 0, p, strlen(p) + 1, perm, strlen(perm) + 1, body);
	}

	t0 = tu_now_ns();
	for (unsigned dev = 0; dev < NR_DEV; dev++) {
		add_device(t->ts, dev);
		if (dev == 99)
			first100 = tu_now_ns() - t0;
		if (dev == NR_DEV - 101)
			t100 = tu_now_ns();
	}
	t1 = tu_now_ns() - t0;
	printf("| 5 | create a device (transaction of 20 requests), us  | %10.1f |\n",
	       (double)t1 / NR_DEV / 1e3);
	printf("| 5 | ... the first 100 devices, us per device          | %10.1f |\n",
	       (double)first100 / 100 / 1e3);
	printf("| 5 | ... the last 100 devices, us per device           | %10.1f |\n",
	       (double)(tu_now_ns() - t100) / 100 / 1e3);
	printf("| 5 | ... requests per second                           | %10.0f |\n",
	       NR_DEV * 20.0 / ((double)t1 / 1e9));
	printf("| 5 | ... nodes in the tree at the end                  | %10llu |\n",
	       (unsigned long long)sdrv_store_nr_nodes(store));

	/* Watches: each frontend on each of its backend directories. */
	t0 = tu_now_ns();
	for (unsigned dev = 0; dev < NR_DEV; dev++) {
		int fd = t->fe[dev / PER_FE];
		struct sdrv_xs_msg h;
		char pl[192];
		size_t n;

		be_dir(path, sizeof(path), dev);
		snprintf(tok, sizeof(tok), "be%u", dev % PER_FE);
		n = strs(pl, path, tok, (const char *)NULL);
		call(fd, SDRV_XS_WATCH, 0, pl, n, NULL, 0, body);
		recv_msg(fd, &h, body); /* the initial event */
		if (h.type != SDRV_XS_WATCH_EVENT || strcmp(body, path) != 0)
			die("watch: no initial event");
	}
	t1 = tu_now_ns() - t0;
	printf("| 6 | add a watch (reply and initial event), us         | %10.1f |\n",
	       (double)t1 / NR_DEV / 1e3);

	/* One state write at a time: its round trip, and the time until the
	 * frontend's event arrives (whichever of the two comes first). */
	for (unsigned dev = 0; dev < NR_DEV; dev++) {
		struct pollfd pf[2] = {{.fd = t->be, .events = POLLIN},
				       {.fd = t->fe[dev / PER_FE], .events = POLLIN}};
		char req[MSG_MAX];
		size_t len;
		bool got_reply = false, got_event = false;

		be_dir(path, sizeof(path), dev);
		strcat(path, "/state");
		len = build(req, SDRV_XS_WRITE, 0, 0, path, strlen(path) + 1, "4", 1);
		t0 = tu_now_ns();
		write_all(t->be, req, len);
		while (!got_reply || !got_event) {
			struct sdrv_xs_msg h;

			if (poll(pf, 2, 10000) <= 0)
				die("state write: no reply or no event in 10 s");
			if (!got_reply && (pf[0].revents & POLLIN)) {
				recv_msg(t->be, &h, body);
				wr[dev] = tu_now_ns() - t0;
				if (h.type != SDRV_XS_WRITE)
					die("state write: error reply");
				got_reply = true;
				pf[0].events = 0;
			}
			if (!got_event && (pf[1].revents & POLLIN)) {
				recv_msg(t->fe[dev / PER_FE], &h, body);
				evl[dev] = tu_now_ns() - t0;
				if (h.type != SDRV_XS_WATCH_EVENT ||
				    !is_state_event(body, h.len, dev))
					die("state write: wrong watch event");
				got_event = true;
				pf[1].events = 0;
			}
		}
	}
	lw = lat_of(wr, NR_DEV);
	le = lat_of(evl, NR_DEV);
	printf("| 7 | state write round trip, us p50                    | %10.1f |\n", lw.p50);
	printf("| 7 | ... p99                                           | %10.1f |\n", lw.p99);
	printf("| 8 | write to watch event arrival, us p50              | %10.1f |\n", le.p50);
	printf("| 8 | ... p99                                           | %10.1f |\n", le.p99);

	/* A burst: all 1,000 writes sent at once, replies and events counted. */
	burst = malloc(NR_DEV * 128);
	if (!burst)
		die("out of memory");
	for (unsigned dev = 0; dev < NR_DEV; dev++) {
		be_dir(path, sizeof(path), dev);
		strcat(path, "/state");
		off += build(burst + off, SDRV_XS_WRITE, dev, 0, path, strlen(path) + 1, "5", 1);
	}
	t->epfd = epoll_create1(EPOLL_CLOEXEC);
	for (unsigned d = 0; d < NR_FE; d++) {
		struct epoll_event e = {.events = EPOLLIN, .data.u32 = d};

		if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->fe[d], &e))
			die("epoll_ctl");
	}
	atomic_store(&t->events, 0);
	if (pthread_create(&th, NULL, collector, t))
		die("pthread_create");
	t0 = tu_now_ns();
	write_all(t->be, burst, off);
	for (unsigned dev = 0; dev < NR_DEV; dev++) {
		struct sdrv_xs_msg h;

		recv_msg(t->be, &h, body);
		if (h.type != SDRV_XS_WRITE || h.req_id != dev)
			die("burst: wrong reply");
	}
	t1 = tu_now_ns() - t0;
	pthread_join(th, NULL);
	if (atomic_load(&t->events) != NR_DEV || t->bad_events)
		fprintf(stderr, "splitdrv-store-bench: burst: %u of %u events, %u wrong\n",
			atomic_load(&t->events), NR_DEV, t->bad_events);
	printf("| 9 | burst of %u state writes: writes per second     | %10.0f |\n", NR_DEV,
	       NR_DEV / ((double)t1 / 1e9));
	printf("| 9 | ... watch events per second (all %u arrived)    | %10.0f |\n", NR_DEV,
	       NR_DEV / ((double)(t->last_event_ns - t0) / 1e9));
	printf("| 9 | ... last event after, ms                          | %10.2f |\n",
	       (double)(t->last_event_ns - t0) / 1e6);
	close(t->epfd);
	free(burst);
	free(wr);
	free(evl);
	if (atomic_load(&t->events) != NR_DEV || t->bad_events)
		exit(1);
}

/* ------------------------------------------------------------------------ */

static void usage(FILE *f, const char *argv0)
{
	fprintf(f,
		"Usage: %s [OPTION]...\n"
		"Measure the store (sdrv_store, in this process) with raw xenstore messages:\n"
		"READ and WRITE round trips against a bare unix-socket echo of the same sizes,\n"
		"then a tree of 1,000 devices with watches (state writes, watch events).\n\n"
		"  -r, --rounds=N    interleaved rounds of part 1, medians reported (default 7)\n"
		"  -n, --ops=N       round trips per measurement (default 20000)\n"
		"  -q, --quick       3 rounds of 5000 (also SDRV_BENCH_QUICK=1)\n"
		"  -h, --help        show this help\n",
		argv0);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"rounds", required_argument, NULL, 'r'},
	    {"ops", required_argument, NULL, 'n'},
	    {"quick", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct sdrv_store_opts o;
	struct sdrv_store_stats st;
	static struct tree t;
	pthread_t sth, eth;
	int sfd, ep[2], c;

	if (getenv("SDRV_BENCH_QUICK") && strcmp(getenv("SDRV_BENCH_QUICK"), "0") != 0)
		rounds = 3, ops = 5000;
	while ((c = getopt_long(argc, argv, "r:n:qh", lo, NULL)) != -1) {
		switch (c) {
		case 'r':
			rounds = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'n':
			ops = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'q':
			rounds = 3;
			ops = 5000;
			break;
		case 'h':
			usage(stdout, argv[0]);
			return 0;
		default:
			usage(stderr, argv[0]);
			return 2;
		}
	}
	if (rounds == 0 || rounds > 64)
		rounds = 7;
	if (ops < 100)
		ops = 100;

	memset(&o, 0, sizeof(o));
	o.sz = sizeof(o);
	store = sdrv_store_new(&o);
	if (!store)
		die("sdrv_store_new failed");
	/* Every connection is made before the store's thread starts: a store is
	 * used by one thread at a time. */
	sfd = sdrv_store_connect(store, 0);
	t.ts = sdrv_store_connect(store, 0);
	t.be = sdrv_store_connect(store, 0);
	for (unsigned d = 0; d < NR_FE; d++)
		if ((t.fe[d] = sdrv_store_connect(store, d + 1)) < 0)
			die("sdrv_store_connect (frontend) failed");
	if (sfd < 0 || t.ts < 0 || t.be < 0)
		die("sdrv_store_connect failed");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ep))
		die("socketpair");
	if (pthread_create(&sth, NULL, store_thread, NULL) ||
	    pthread_create(&eth, NULL, echo_thread, &ep[1]))
		die("pthread_create");
	tu_pin(0);

	printf("splitdrv-store-bench: the in-process store (sdrv_store) served by one thread\n"
	       "on CPU 1, clients on CPU 0, raw xenstore messages over unix stream sockets.\n\n");
	part_round_trips(sfd, ep[0]);
	part_tree(&t);

	atomic_store(&store_stop, 1);
	pthread_join(sth, NULL);
	close(ep[0]);
	pthread_join(eth, NULL);
	close(ep[1]);
	memset(&st, 0, sizeof(st));
	st.sz = sizeof(st);
	if (sdrv_store_get_stats(store, &st) == 0)
		printf("\nstore counters: %llu requests, %llu errors, %llu events sent, %llu "
		       "coalesced, %llu dropped\n",
		       (unsigned long long)st.requests, (unsigned long long)st.errors,
		       (unsigned long long)st.events_sent, (unsigned long long)st.events_coalesced,
		       (unsigned long long)st.events_dropped);
	close(sfd);
	close(t.ts);
	close(t.be);
	for (unsigned d = 0; d < NR_FE; d++)
		close(t.fe[d]);
	sdrv_store_free(store);
	return 0;
}
