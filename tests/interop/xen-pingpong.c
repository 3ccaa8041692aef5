/* SPDX-License-Identifier: MIT */
/*
 * A frontend and a backend in two processes on one memfd-backed ring, one
 * of them written with Xen's io/ring.h macros and the other with
 * libsplitdrv, exchanging at least a million request/response pairs.
 *
 * Modes (argv[1], or the program name's suffix after "xen-pingpong-"):
 *   xfront-poll     Xen-macro frontend, libsplitdrv backend, busy polling
 *   xfront-evtchn   the same, sleeping on eventfds
 *   xback-poll      libsplitdrv frontend, Xen-macro backend, busy polling
 *   xback-evtchn    the same, sleeping on eventfds
 * Optional argv[2]: the random seed.
 *
 * Requests and responses are 64 bytes: a sequence number, 52 bytes of
 * payload derived from it, and an FNV-1a checksum. The backend checks every
 * request (order, payload, checksum) and answers with a transformed payload;
 * the frontend checks every response. Batch sizes on both sides are random.
 *
 * In the eventfd modes each side notifies its peer only when its own notify
 * decision says so (RING_PUSH_*_AND_CHECK_NOTIFY or sdrv_ring_*_push), and
 * sleeps only after its final check found no work (RING_FINAL_CHECK_FOR_*
 * or sdrv_ring_*_final_check). A lost wake-up shows as a failure naming the
 * side and the ring state after 5 s without a notification, not as a hang.
 *
 * Each mode runs on a 1-page ring starting just below 2^32 (the indices
 * wrap after 16 requests) with the full count, and with a quarter of the
 * count on a freshly initialised 1-page ring and on 8-page rings from 0
 * and across the wrap.
 */
#define _GNU_SOURCE
#include "xen-compat.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <splitdrv/ring.h>

#include "../common/tutil.h"

#define PAYLOAD 52
struct pp_msg {
	uint64_t seq;
	uint8_t payload[PAYLOAD];
	uint32_t csum; /* FNV-1a of the 60 bytes before it */
};
_Static_assert(sizeof(struct pp_msg) == 64, "64-byte messages");
DEFINE_RING_TYPES(pp, struct pp_msg, struct pp_msg);

#define MAX_ENTS      256 /* 8 pages of 64-byte entries */
#define STALL_SECONDS 5

struct cfg {
	int xen_front; /* 1: Xen-macro frontend + sdrv backend; 0: the reverse */
	int evtchn;    /* 1: eventfd wake-ups; 0: busy polling */
	unsigned order;
	uint32_t start;
	uint64_t count;
	uint64_t seed;
	void *shared;
	size_t bytes;
	int to_back, to_front; /* eventfds */
	const char *label;
};

struct stats {
	uint64_t notifies, wakeups, idle_wakeups, final_checks, pushes;
};

/* ---- message contents ---- */

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static void req_payload(uint64_t seq, uint8_t *p)
{
	for (int i = 0; i < PAYLOAD; i++)
		p[i] = (uint8_t)(mix(seq * 64 + (uint64_t)i / 8) >> (8 * (i % 8)));
}

static void seal(struct pp_msg *m)
{
	m->csum = tu_fnv1a(m, offsetof(struct pp_msg, csum));
}

static void make_req(uint64_t seq, struct pp_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->seq = seq;
	req_payload(seq, m->payload);
	seal(m);
}

/* The backend's answer: the request's payload reversed, each byte + 1. */
static void make_rsp(const struct pp_msg *req, struct pp_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->seq = req->seq;
	for (int i = 0; i < PAYLOAD; i++)
		m->payload[i] = (uint8_t)(req->payload[PAYLOAD - 1 - i] + 1);
	seal(m);
}

static void die(const struct cfg *c, const char *side, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

static void die(const struct cfg *c, const char *side, const char *fmt, ...)
{
	va_list ap;
	char buf[512];
	const struct sdrv_sring *s = c->shared;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr,
		"FAIL [%s] %s: %s (ring: req_prod %#x req_event %#x rsp_prod %#x rsp_event %#x)\n",
		c->label, side, buf, __atomic_load_n(&s->req_prod, __ATOMIC_RELAXED),
		__atomic_load_n(&s->req_event, __ATOMIC_RELAXED),
		__atomic_load_n(&s->rsp_prod, __ATOMIC_RELAXED),
		__atomic_load_n(&s->rsp_event, __ATOMIC_RELAXED));
	exit(TU_FAIL);
}

static void check_req(const struct cfg *c, const struct pp_msg *m, uint64_t want)
{
	uint8_t p[PAYLOAD];

	if (m->csum != tu_fnv1a(m, offsetof(struct pp_msg, csum)))
		die(c, "backend", "request %" PRIu64 ": bad checksum", want);
	if (m->seq != want)
		die(c, "backend", "request out of order: got seq %" PRIu64 ", expected %" PRIu64,
		    m->seq, want);
	req_payload(want, p);
	if (memcmp(p, m->payload, PAYLOAD) != 0)
		die(c, "backend", "request %" PRIu64 ": payload differs", want);
}

static void check_rsp(const struct cfg *c, const struct pp_msg *m, uint64_t want)
{
	struct pp_msg req, exp;

	if (m->csum != tu_fnv1a(m, offsetof(struct pp_msg, csum)))
		die(c, "frontend", "response %" PRIu64 ": bad checksum", want);
	if (m->seq != want)
		die(c, "frontend", "response out of order: got seq %" PRIu64 ", expected %" PRIu64,
		    m->seq, want);
	make_req(want, &req);
	make_rsp(&req, &exp);
	if (memcmp(&exp, m, sizeof(exp)) != 0)
		die(c, "frontend", "response %" PRIu64 ": payload differs", want);
}

/* ---- notifications ---- */

static void kick(const struct cfg *c, int fd, struct stats *st, const char *side)
{
	st->notifies++;
	if (eventfd_write(fd, 1) != 0)
		die(c, side, "eventfd_write: %s", strerror(errno));
}

/* Sleep until notified; a silent peer for STALL_SECONDS is a lost wake-up. */
static void wait_kick(const struct cfg *c, int fd, struct stats *st, const char *side,
		      const char *what, uint64_t pending)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	int ms = STALL_SECONDS * 1000 * (tu_under_valgrind() ? 20 : 1);
	eventfd_t v;
	int rc;

	do
		rc = poll(&pfd, 1, ms);
	while (rc < 0 && errno == EINTR);
	if (rc < 0)
		die(c, side, "poll: %s", strerror(errno));
	if (rc == 0)
		die(c, side, "lost wake-up: no notification for %d s while %" PRIu64 " %s",
		    STALL_SECONDS, pending, what);
	if (eventfd_read(fd, &v) != 0)
		die(c, side, "eventfd_read: %s", strerror(errno));
	st->wakeups++;
}

/* Busy polling: yield the CPU (two cores are shared) and detect stalls. */
static void idle_poll(const struct cfg *c, uint64_t *idle, uint64_t *since, const char *side,
		      const char *what, uint64_t pending)
{
	sched_yield();
	if ((++*idle & 1023) == 0) {
		uint64_t now = tu_now_ns();
		uint64_t limit = (uint64_t)STALL_SECONDS * (tu_under_valgrind() ? 20 : 1);

		if (*since == 0)
			*since = now;
		else if (now - *since > limit * 1000000000ull)
			die(c, side, "stalled: no progress for %" PRIu64 " s while %" PRIu64 " %s",
			    limit, pending, what);
	}
}

static uint32_t rand_batch(uint64_t *rng, uint32_t nr)
{
	uint64_t r = tu_rand(rng);

	/* Half small batches, half anything up to the ring size. */
	return 1 + (uint32_t)((r >> 1) % ((r & 1) ? 4 : nr));
}

/* ---- the four ends ---- */

static void xen_front(const struct cfg *c, struct stats *st)
{
	struct pp_front_ring f;
	uint64_t sent = 0, done = 0, idle = 0, since = 0;
	uint64_t rng = c->seed ^ 0xf00d;

	if (c->start == 0)
		XEN_FRONT_RING_INIT(&f, (struct pp_sring *)c->shared, c->bytes);
	else
		FRONT_RING_ATTACH(&f, (struct pp_sring *)c->shared, c->start, c->bytes);
	while (done < c->count) {
		int progress = 0, notify, work;
		uint32_t b, k;
		RING_IDX rp;

		if (sent < c->count && !RING_FULL(&f)) {
			b = rand_batch(&rng, f.nr_ents);
			if (b > RING_FREE_REQUESTS(&f))
				b = RING_FREE_REQUESTS(&f);
			if (b > c->count - sent)
				b = (uint32_t)(c->count - sent);
			for (k = 0; k < b; k++) {
				make_req(sent++, RING_GET_REQUEST(&f, f.req_prod_pvt));
				f.req_prod_pvt++;
			}
			RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&f, notify);
			st->pushes++;
			if (notify && c->evtchn)
				kick(c, c->to_back, st, "Xen frontend");
			progress = 1;
		}
		rp = f.sring->rsp_prod;
		xen_rmb(); /* responses after the index */
		if (RING_RESPONSE_PROD_OVERFLOW(&f, rp) ||
		    rp - f.rsp_cons > f.req_prod_pvt - f.rsp_cons)
			die(c, "Xen frontend", "bogus response producer %#x (consumed %#x)", rp,
			    f.rsp_cons);
		b = rand_batch(&rng, f.nr_ents);
		for (k = 0; k < b && f.rsp_cons != rp; k++) {
			struct pp_msg m;

			RING_COPY_RESPONSE(&f, f.rsp_cons, &m);
			f.rsp_cons++;
			check_rsp(c, &m, done++);
			progress = 1;
		}
		if (progress) {
			since = 0;
			continue;
		}
		if (!c->evtchn) {
			idle_poll(c, &idle, &since, "Xen frontend", "requests outstanding",
				  sent - done);
			continue;
		}
		st->final_checks++;
		RING_FINAL_CHECK_FOR_RESPONSES(&f, work);
		if (!work)
			wait_kick(c, c->to_front, st, "Xen frontend", "requests outstanding",
				  sent - done);
	}
}

static void sdrv_front(const struct cfg *c, struct stats *st)
{
	struct sdrv_ring r;
	struct pp_msg buf[MAX_ENTS];
	uint64_t sent = 0, done = 0, idle = 0, since = 0;
	uint64_t rng = c->seed ^ 0xf00d;
	int rc;

	rc = c->start == 0
		 ? sdrv_ring_front_init(&r, c->shared, c->bytes, sizeof(struct pp_msg))
		 : sdrv_ring_front_attach(&r, c->shared, c->bytes, sizeof(struct pp_msg), c->start);
	if (rc)
		die(c, "sdrv frontend", "init/attach failed: %d", rc);
	while (done < c->count) {
		int progress = 0;
		uint32_t b, k, fr = sdrv_ring_front_free(&r);
		int32_t n, work;

		if (sent < c->count && fr) {
			b = rand_batch(&rng, sdrv_ring_nr_ents(&r));
			if (b > fr)
				b = fr;
			if (b > c->count - sent)
				b = (uint32_t)(c->count - sent);
			for (k = 0; k < b; k++) {
				void *slot = sdrv_ring_front_next_req(&r);

				if (!slot)
					die(c, "sdrv frontend", "next_req: NULL with %u free", fr);
				make_req(sent++, slot);
			}
			st->pushes++;
			if (sdrv_ring_front_push(&r) && c->evtchn)
				kick(c, c->to_back, st, "sdrv frontend");
			progress = 1;
		}
		n = sdrv_ring_front_take_rsps(&r, buf, rand_batch(&rng, sdrv_ring_nr_ents(&r)));
		if (n < 0)
			die(c, "sdrv frontend", "ring broken: %s", sdrv_ring_broken(&r));
		for (k = 0; k < (uint32_t)n; k++)
			check_rsp(c, &buf[k], done++);
		if (progress || n > 0) {
			since = 0;
			continue;
		}
		if (!c->evtchn) {
			idle_poll(c, &idle, &since, "sdrv frontend", "requests outstanding",
				  sent - done);
			continue;
		}
		st->final_checks++;
		work = sdrv_ring_front_final_check(&r);
		if (work < 0)
			die(c, "sdrv frontend", "ring broken: %s", sdrv_ring_broken(&r));
		if (work == 0)
			wait_kick(c, c->to_front, st, "sdrv frontend", "requests outstanding",
				  sent - done);
	}
	if (sdrv_ring_front_outstanding(&r) != 0)
		die(c, "sdrv frontend", "%u requests still outstanding at the end",
		    sdrv_ring_front_outstanding(&r));
}

static void xen_back(const struct cfg *c, struct stats *st)
{
	struct pp_back_ring b;
	struct pp_msg buf[MAX_ENTS];
	uint64_t done = 0, idle = 0, since = 0;
	uint64_t rng = c->seed ^ 0xbacc;

	BACK_RING_ATTACH(&b, (struct pp_sring *)c->shared, c->start, c->bytes);
	while (done < c->count) {
		uint32_t n = 0, max = rand_batch(&rng, b.nr_ents);
		RING_IDX rp = b.sring->req_prod;
		int notify, work;

		xen_rmb(); /* requests after the index */
		if (RING_REQUEST_PROD_OVERFLOW(&b, rp))
			die(c, "Xen backend", "bogus request producer %#x", rp);
		while (n < max && b.req_cons != rp && !RING_REQUEST_CONS_OVERFLOW(&b, b.req_cons)) {
			RING_COPY_REQUEST(&b, b.req_cons, &buf[n]);
			b.req_cons++;
			check_req(c, &buf[n], done + n);
			n++;
		}
		/* Answer in random sub-batches, pushing after each. */
		for (uint32_t i = 0; i < n;) {
			uint32_t e = i + rand_batch(&rng, b.nr_ents);

			for (; i < n && i < e; i++) {
				make_rsp(&buf[i], RING_GET_RESPONSE(&b, b.rsp_prod_pvt));
				b.rsp_prod_pvt++;
			}
			RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&b, notify);
			st->pushes++;
			if (notify && c->evtchn)
				kick(c, c->to_front, st, "Xen backend");
		}
		if (n) {
			done += n;
			since = 0;
			continue;
		}
		if (!c->evtchn) {
			idle_poll(c, &idle, &since, "Xen backend", "requests answered", done);
			continue;
		}
		st->final_checks++;
		RING_FINAL_CHECK_FOR_REQUESTS(&b, work);
		if (!work)
			wait_kick(c, c->to_back, st, "Xen backend", "requests answered so far",
				  done);
	}
}

static void sdrv_back(const struct cfg *c, struct stats *st)
{
	struct sdrv_ring r;
	struct pp_msg buf[MAX_ENTS];
	uint64_t done = 0, idle = 0, since = 0;
	uint64_t rng = c->seed ^ 0xbacc;
	int rc;

	rc = sdrv_ring_back_attach(&r, c->shared, c->bytes, sizeof(struct pp_msg), c->start);
	if (rc)
		die(c, "sdrv backend", "attach failed: %d", rc);
	while (done < c->count) {
		int32_t n =
		    sdrv_ring_back_take_reqs(&r, buf, rand_batch(&rng, sdrv_ring_nr_ents(&r)));
		int32_t work;

		if (n < 0)
			die(c, "sdrv backend", "ring broken: %s", sdrv_ring_broken(&r));
		for (uint32_t k = 0; k < (uint32_t)n; k++)
			check_req(c, &buf[k], done + k);
		/* Answer in random sub-batches, pushing after each. */
		for (uint32_t i = 0; i < (uint32_t)n;) {
			uint32_t e = i + rand_batch(&rng, sdrv_ring_nr_ents(&r));

			for (; i < (uint32_t)n && i < e; i++) {
				void *slot = sdrv_ring_back_next_rsp(&r);

				if (!slot)
					die(c, "sdrv backend",
					    "next_rsp: NULL for a consumed request");
				make_rsp(&buf[i], slot);
			}
			st->pushes++;
			if (sdrv_ring_back_push(&r) && c->evtchn)
				kick(c, c->to_front, st, "sdrv backend");
		}
		if (n > 0) {
			done += (uint32_t)n;
			since = 0;
			continue;
		}
		if (!c->evtchn) {
			idle_poll(c, &idle, &since, "sdrv backend", "requests answered", done);
			continue;
		}
		st->final_checks++;
		work = sdrv_ring_back_final_check(&r);
		if (work < 0)
			die(c, "sdrv backend", "ring broken: %s", sdrv_ring_broken(&r));
		if (work == 0)
			wait_kick(c, c->to_back, st, "sdrv backend", "requests answered so far",
				  done);
	}
}

/* ---- one run: the parent is the frontend, a child the backend ---- */

static int run(struct cfg *c)
{
	struct stats fst = {0}, *bst;
	struct sdrv_sring *s;
	uint64_t t0, ns;
	pid_t pid;
	int status;

	c->bytes = SDRV_RING_BYTES(c->order);
	c->shared = tu_shared_mem(c->bytes + 4096);
	bst = (struct stats *)((unsigned char *)c->shared + c->bytes); /* backend's stats */
	s = c->shared;
	if (c->start != 0) {
		/* Reconnecting at an agreed index: both ends attach there. */
		s->req_prod = s->rsp_prod = c->start;
		s->req_event = s->rsp_event = c->start + 1;
	} else {
		memset(s, 0xa5, c->bytes); /* init must clear what matters */
	}
	c->to_back = eventfd(0, EFD_CLOEXEC);
	c->to_front = eventfd(0, EFD_CLOEXEC);
	if (c->to_back < 0 || c->to_front < 0) {
		perror("eventfd");
		return TU_FAIL;
	}
	/* The frontend initialises the ring before the backend attaches. */
	fflush(NULL);
	t0 = tu_now_ns();
	if (c->start == 0) {
		if (c->xen_front) {
			struct pp_front_ring f;
			XEN_FRONT_RING_INIT(&f, (struct pp_sring *)s, c->bytes);
		} else {
			struct sdrv_ring r;
			if (sdrv_ring_front_init(&r, s, c->bytes, sizeof(struct pp_msg)))
				return TU_FAIL;
		}
	}
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return TU_FAIL;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		tu_watchdog(300, "xen-pingpong backend");
		if (c->xen_front)
			sdrv_back(c, bst);
		else
			xen_back(c, bst);
		_exit(TU_PASS);
	}
	/* start 0: the frontend re-initialises an initialised ring, which must
	 * be harmless before the first request. */
	if (c->xen_front)
		xen_front(c, &fst);
	else
		sdrv_front(c, &fst);
	status = tu_wait_child(pid);
	ns = tu_now_ns() - t0;
	if (status != 0) {
		fprintf(stderr, "FAIL [%s]: backend exited with status %d\n", c->label, status);
		return TU_FAIL;
	}
	if (s->req_prod != c->start + (uint32_t)c->count ||
	    s->rsp_prod != c->start + (uint32_t)c->count) {
		fprintf(stderr,
			"FAIL [%s]: final indices req_prod %#x rsp_prod %#x, expected %#x\n",
			c->label, s->req_prod, s->rsp_prod, c->start + (uint32_t)c->count);
		return TU_FAIL;
	}
	printf("ok [%s] %" PRIu64 " pairs in %.2f s (%.0f/s); frontend: %" PRIu64
	       " pushes, %" PRIu64 " notifies, %" PRIu64 " final checks, %" PRIu64
	       " wake-ups; backend: %" PRIu64 " pushes, %" PRIu64 " notifies, %" PRIu64
	       " final checks, %" PRIu64 " wake-ups\n",
	       c->label, c->count, (double)ns / 1e9, (double)c->count * 1e9 / (double)ns,
	       fst.pushes, fst.notifies, fst.final_checks, fst.wakeups, bst->pushes, bst->notifies,
	       bst->final_checks, bst->wakeups);
	if (c->evtchn && (fst.notifies == 0 || bst->notifies == 0)) {
		fprintf(stderr, "FAIL [%s]: a side never notified\n", c->label);
		return TU_FAIL;
	}
	close(c->to_back);
	close(c->to_front);
	tu_shared_free(c->shared, c->bytes + 4096);
	return TU_PASS;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : NULL;
	uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 0) : 0xc0ffee;
	uint64_t n = tu_scaled(1000000, 2000);
	static const struct {
		unsigned order;
		uint32_t start;
		unsigned div;
	} runs[] = {
	    {0, 0xFFFFFFF0u, 1}, /* the full count, indices wrap early */
	    {0, 0, 4},		 /* freshly initialised */
	    {3, 0, 4},		 /* 8 pages */
	    {3, 0xFFFFFF00u, 4}, /* 8 pages across the wrap */
	};
	struct cfg c = {0};
	char label[128];

	if (!mode) {
		const char *p = strrchr(argv[0], '/');
		p = p ? p + 1 : argv[0];
		mode = strncmp(p, "xen-pingpong-", 13) == 0 ? p + 13 : "";
	}
	if (!strcmp(mode, "xfront-poll") || !strcmp(mode, "xfront-evtchn"))
		c.xen_front = 1;
	else if (strcmp(mode, "xback-poll") && strcmp(mode, "xback-evtchn")) {
		fprintf(stderr, "usage: xen-pingpong {xfront|xback}-{poll|evtchn} [seed]\n");
		return TU_FAIL;
	}
	c.evtchn = strstr(mode, "evtchn") != NULL;
	c.seed = seed;
	tu_watchdog(300, "xen-pingpong");
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		c.order = runs[i].order;
		c.start = runs[i].start;
		c.count = n / runs[i].div;
		c.seed = seed + i;
		snprintf(label, sizeof(label), "%s %s, %u page%s, start %#x, seed %#" PRIx64,
			 c.xen_front ? "Xen front / sdrv back" : "sdrv front / Xen back",
			 c.evtchn ? "eventfd" : "busy-poll", 1u << c.order, c.order ? "s" : "",
			 c.start, c.seed);
		c.label = label;
		if (run(&c) != TU_PASS)
			return TU_FAIL;
	}
	printf("PASS: %s\n", mode);
	return TU_PASS;
}
