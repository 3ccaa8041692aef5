/* SPDX-License-Identifier: MIT */
/*
 * splitdrv-ring-bench: libsplitdrv's ring against Xen's own io/ring.h macros,
 * side by side, interleaved, in one run.
 *
 * Two processes share a memfd ring: the frontend (this process, CPU 0) and
 * the backend (a forked child, CPU 1). Requests and responses are 64 bytes.
 * Every measurement runs once with Xen's macros and once with the project's
 * typed API (SDRV_RING_DEFINE), alternating which goes first, for several
 * rounds; the report gives medians and the median of the per-round
 * project/Xen ratios, because the host moves the vCPUs and every cross-core
 * cost drifts over minutes.
 *
 * Both implementations run the very same loops: the ring operations are
 * small always-inline helpers that take the implementation as a constant,
 * so the compiler emits one specialised copy of each loop per
 * implementation and nothing but the ring code differs.
 *
 *  - Xen side, as hardened Xen drivers (blkback/blkfront) do: read the
 *    peer's producer index once per batch, then xen_rmb(), reject it with
 *    RING_{REQUEST,RESPONSE}_PROD_OVERFLOW, copy each request out with
 *    RING_COPY_REQUEST and each response with RING_COPY_RESPONSE (as the
 *    hardened Linux blkfront and netfront have done since XSA-396: a
 *    frontend must not trust the backend either), write responses into
 *    their slots with RING_GET_RESPONSE,
 *    publish with RING_PUSH_*_AND_CHECK_NOTIFY, sleep after
 *    RING_FINAL_CHECK_FOR_*.
 *  - Project side, as a libsplitdrv driver does: the *_take_reqs and *_take_rsps helpers
 *    copy entries out, *_next_req and *_next_rsp hand out zeroed slots,
 *    *_push publishes and says whether to notify, *_final_check before
 *    sleeping, struct sdrv_pollsleep for poll-then-sleep.
 *
 * Exit status: 0, or 1 on a functional error (wrong data, a broken ring, a
 * child that failed). A ratio never fails the run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* Xen's header needs the includer's barriers: these are what Linux's
 * virt_mb/virt_rmb/virt_wmb are on x86-64. Ask for the 4.14 interface, or the
 * legacy one maps them onto mb()/rmb()/wmb(). */
#define __XEN_INTERFACE_VERSION__ 0x00040e00
#define xen_mb()		  __sync_synchronize()
#if defined(__x86_64__) || defined(__i386__)
#define xen_rmb() __asm__ __volatile__("" ::: "memory")
#define xen_wmb() __asm__ __volatile__("" ::: "memory")
#else
#define xen_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define xen_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#endif
#include <xen/io/ring.h>

#include <splitdrv/ring.h>

#include "tutil.h"

/* ------------------------------------------------------------------------ */
/* Messages and payload work, identical for both implementations. */

struct bench_req {
	uint64_t id;
	uint64_t arg[7];
};

struct bench_rsp {
	uint64_t id;
	uint64_t status;
	uint64_t val[6];
};

DEFINE_RING_TYPES(xb, struct bench_req, struct bench_rsp);
SDRV_RING_DEFINE(sb, struct bench_req, struct bench_rsp);

_Static_assert(sizeof(union xb_sring_entry) == 64, "64-byte Xen entries");
_Static_assert(sizeof(union sb_entry) == 64, "64-byte project entries");
_Static_assert(offsetof(struct xb_sring, ring) == SDRV_RING_HDR_SIZE, "same header");

#define ARG_KEY	   0x9e3779b97f4a7c15ull
#define STATUS_KEY 0x5bd1e9955bd1e995ull

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* Payload work, as light as a driver's: fill all 64 bytes, check ids. */
ALWAYS_INLINE void fill_req(struct bench_req *q, uint64_t id)
{
	q->id = id;
	q->arg[0] = ARG_KEY;
	q->arg[1] = ARG_KEY + 1;
	q->arg[2] = ARG_KEY + 2;
	q->arg[3] = ARG_KEY + 3;
	q->arg[4] = ARG_KEY + 4;
	q->arg[5] = ARG_KEY + 5;
	q->arg[6] = id ^ ARG_KEY;
}

/* Both ends check every word of what they receive, as a driver uses every
 * field of a request (and as the interop tests' checksums do): the same
 * payload work for both implementations, whatever the compiler does with
 * Xen's volatile RING_COPY_*. */
ALWAYS_INLINE uint64_t check_req(const struct bench_req *q, uint64_t expect)
{
	return (q->id != expect) | (q->arg[0] != ARG_KEY) | (q->arg[1] != ARG_KEY + 1) |
	       (q->arg[2] != ARG_KEY + 2) | (q->arg[3] != ARG_KEY + 3) |
	       (q->arg[4] != ARG_KEY + 4) | (q->arg[5] != ARG_KEY + 5) |
	       (q->arg[6] != (expect ^ ARG_KEY));
}

ALWAYS_INLINE void fill_rsp(struct bench_rsp *p, const struct bench_req *q)
{
	p->id = q->id;
	p->status = q->id ^ STATUS_KEY;
	p->val[0] = q->arg[0];
	p->val[1] = q->arg[1];
	p->val[2] = q->arg[2];
	p->val[3] = q->arg[3];
	p->val[4] = q->arg[4];
	p->val[5] = q->arg[5];
}

ALWAYS_INLINE uint64_t check_rsp(const struct bench_rsp *p, uint64_t expect)
{
	return (p->id != expect) | (p->status != (expect ^ STATUS_KEY)) | (p->val[0] != ARG_KEY) |
	       (p->val[1] != ARG_KEY + 1) | (p->val[2] != ARG_KEY + 2) |
	       (p->val[3] != ARG_KEY + 3) | (p->val[4] != ARG_KEY + 4) | (p->val[5] != ARG_KEY + 5);
}

/* ------------------------------------------------------------------------ */
/* The two ends, each with both implementations' private state. */

enum impl { XEN = 0, PROJ = 1 };
static const char *const impl_name[2] = {"xen", "project"};

#define MAX_BATCH   256
#define POLL_NS	    50000u
#define POLL_MIN_NS (POLL_NS / 8)

struct fe {
	struct xb_front_ring x;
	RING_IDX x_rp; /* snapshot of rsp_prod, as blkfront keeps `rp` */
	struct sb_front s;
	uint64_t next_id, expect, errors, notifies;
	const char *why;
	struct bench_rsp buf[MAX_BATCH];
};

struct be {
	struct xb_back_ring x;
	RING_IDX x_rp; /* snapshot of req_prod, as blkback keeps `rp` */
	struct sb_back s;
	uint64_t expect, errors, notifies;
	const char *why;
	struct bench_req buf[MAX_BATCH];
};

/*
 * The Xen side's poll-then-sleep window, written by hand as a Xen driver
 * would: the same rule as struct sdrv_pollsleep (start at the maximum;
 * double after a sleep shorter than the maximum, halve after a longer one),
 * so that row 4b compares rings, not policies.
 */
struct xen_poll {
	uint64_t window_ns;
};

static void xen_poll_slept(struct xen_poll *xp, uint64_t slept_ns)
{
	if (slept_ns < POLL_NS)
		xp->window_ns = xp->window_ns * 2 > POLL_NS ? POLL_NS : xp->window_ns * 2;
	else
		xp->window_ns = xp->window_ns / 2 < POLL_MIN_NS ? POLL_MIN_NS : xp->window_ns / 2;
}

static void kick(int fd)
{
	uint64_t one = 1;

	if (fd >= 0 && write(fd, &one, sizeof(one)) != sizeof(one))
		perror("eventfd write");
}

static void sleep_on(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) < 0 && errno == EINTR)
		;
}

ALWAYS_INLINE uint32_t fe_free(const struct fe *f, int impl)
{
	return impl == XEN ? RING_FREE_REQUESTS(&f->x) : sb_front_free(&f->s);
}

/* Produce one request; the caller checked that a slot is free. */
ALWAYS_INLINE void fe_put(struct fe *f, int impl)
{
	struct bench_req *q;

	if (impl == XEN) {
		q = RING_GET_REQUEST(&f->x, f->x.req_prod_pvt);
		f->x.req_prod_pvt++;
	} else {
		q = sb_front_next_req(&f->s);
		if (__builtin_expect(q == NULL, 0)) {
			f->errors++;
			return;
		}
	}
	fill_req(q, f->next_id++);
}

ALWAYS_INLINE void fe_push(struct fe *f, int impl, int fd)
{
	bool notify;

	if (impl == XEN) {
		int n;
		RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&f->x, n);
		notify = n;
	} else {
		notify = sb_front_push(&f->s);
	}
	if (notify) {
		f->notifies++;
		kick(fd);
	}
}

/* Consume and check up to `max` responses; returns the count or -1. */
ALWAYS_INLINE int32_t fe_take(struct fe *f, int impl, uint32_t max)
{
	uint64_t bad = 0;
	uint32_t n, i;

	if (impl == XEN) {
		RING_IDX cons = f->x.rsp_cons;

		if (cons == f->x_rp) {
			RING_IDX rp = f->x.sring->rsp_prod;
			xen_rmb(); /* responses are read after rsp_prod */
			if (__builtin_expect(RING_RESPONSE_PROD_OVERFLOW(&f->x, rp), 0)) {
				f->why = "Xen: backend response producer overflow";
				return -1;
			}
			f->x_rp = rp;
		}
		n = f->x_rp - cons;
		if (n > max)
			n = max;
		for (i = 0; i < n; i++) {
			struct bench_rsp p;

			RING_COPY_RESPONSE(&f->x, cons + i, &p);
			bad |= check_rsp(&p, f->expect + i);
		}
		f->x.rsp_cons = cons + n;
	} else {
		int32_t got = sb_front_take_rsps(&f->s, f->buf, max);

		if (__builtin_expect(got < 0, 0)) {
			f->why = sdrv_ring_broken(&f->s.r);
			return -1;
		}
		n = (uint32_t)got;
		for (i = 0; i < n; i++)
			bad |= check_rsp(&f->buf[i], f->expect + i);
	}
	f->expect += n;
	if (__builtin_expect(bad != 0, 0)) {
		f->errors++;
		f->why = "wrong response data";
	}
	return (int32_t)n;
}

ALWAYS_INLINE int32_t fe_final_check(struct fe *f, int impl)
{
	if (impl == XEN) {
		int work;
		RING_FINAL_CHECK_FOR_RESPONSES(&f->x, work);
		return work;
	}
	return sb_front_final_check(&f->s);
}

/* Take up to `max` requests, check them, answer each, push once at the end
 * or after every response. Returns the count or -1. */
ALWAYS_INLINE int32_t be_work(struct be *b, int impl, uint32_t max, bool push_each, int fd)
{
	uint64_t bad = 0;
	uint32_t n, i;
	bool notify = false;

	if (impl == XEN) {
		RING_IDX cons = b->x.req_cons;

		if (cons == b->x_rp) {
			RING_IDX rp = b->x.sring->req_prod;
			xen_rmb(); /* requests are read after req_prod */
			if (__builtin_expect(RING_REQUEST_PROD_OVERFLOW(&b->x, rp), 0)) {
				b->why = "Xen: frontend request producer overflow";
				return -1;
			}
			b->x_rp = rp;
		}
		n = b->x_rp - cons;
		if (n > max)
			n = max;
		for (i = 0; i < n; i++) {
			struct bench_req q;
			struct bench_rsp *p;

			RING_COPY_REQUEST(&b->x, cons + i, &q);
			b->x.req_cons = cons + i + 1;
			bad |= check_req(&q, b->expect + i);
			p = RING_GET_RESPONSE(&b->x, b->x.rsp_prod_pvt);
			b->x.rsp_prod_pvt++;
			fill_rsp(p, &q);
			if (push_each) {
				int nt;
				RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&b->x, nt);
				if (nt) {
					b->notifies++;
					kick(fd);
				}
			}
		}
		if (!push_each && n) {
			int nt;
			RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&b->x, nt);
			notify = nt;
		}
	} else {
		int32_t got = max == 1 ? sb_back_take_req(&b->s, b->buf)
				       : sb_back_take_reqs(&b->s, b->buf, max);

		if (__builtin_expect(got < 0, 0)) {
			b->why = sdrv_ring_broken(&b->s.r);
			return -1;
		}
		n = (uint32_t)got;
		for (i = 0; i < n; i++) {
			struct bench_rsp *p;

			bad |= check_req(&b->buf[i], b->expect + i);
			p = sb_back_next_rsp(&b->s);
			if (__builtin_expect(p == NULL, 0)) {
				b->why = "project: no response slot";
				return -1;
			}
			fill_rsp(p, &b->buf[i]);
			if (push_each && sb_back_push(&b->s)) {
				b->notifies++;
				kick(fd);
			}
		}
		if (!push_each && n)
			notify = sb_back_push(&b->s);
	}
	if (notify) {
		b->notifies++;
		kick(fd);
	}
	b->expect += n;
	if (__builtin_expect(bad != 0, 0)) {
		b->errors++;
		b->why = "wrong request data";
	}
	return (int32_t)n;
}

ALWAYS_INLINE int32_t be_final_check(struct be *b, int impl)
{
	if (impl == XEN) {
		int work;
		RING_FINAL_CHECK_FOR_REQUESTS(&b->x, work);
		return work;
	}
	return sb_back_final_check(&b->s);
}

/* ------------------------------------------------------------------------ */
/* Runs. */

enum mode {
	M_BATCH,   /* busy poll, push once per batch */
	M_PERMSG,  /* busy poll, push after every message */
	M_RTT,	   /* one request outstanding */
	M_EVPLAIN, /* eventfd wake-ups, final check then sleep */
	M_EVPOLL,  /* eventfd wake-ups, poll ~50 us, final check, sleep */
};

struct cfg {
	enum mode mode;
	uint32_t batch;
	uint64_t duration_ns;
	int efd_front; /* the backend kicks the frontend here */
	int efd_back;  /* the frontend kicks the backend here */
};

/* Shared control block, one cache line per writer. */
struct ctl {
	_Alignas(64) uint32_t ready;
	_Alignas(64) uint32_t stop;
	_Alignas(64) uint64_t notifies, errors, sleeps, processed;
	char why[96];
};

struct result {
	double mpps;	 /* million pairs per second */
	double notif;	 /* notifications (both directions) per pair */
	double p50, p99; /* round trip, ns */
	uint64_t errors;
	char why[96];
};

static bool ev_mode(enum mode m)
{
	return m == M_EVPLAIN || m == M_EVPOLL;
}

ALWAYS_INLINE void back_run(struct be *b, int impl, const struct cfg *c, struct ctl *ctl)
{
	bool push_each = c->mode == M_PERMSG || c->mode == M_RTT;
	bool ev = ev_mode(c->mode), poll = c->mode == M_EVPOLL;
	int fd = ev ? c->efd_front : -1;
	uint32_t max = push_each ? 1 : c->batch;
	struct sdrv_pollsleep ps;
	struct xen_poll xp = {POLL_NS};

	sdrv_pollsleep_init(&ps, POLL_NS, POLL_MIN_NS);
	for (;;) {
		int32_t n = be_work(b, impl, max, push_each, fd);

		if (n < 0)
			break;
		if (n > 0)
			continue;
		if (!ev) {
			if (__atomic_load_n(&ctl->stop, __ATOMIC_ACQUIRE))
				break;
			continue;
		}
		if (poll) {
			if (impl == PROJ) {
				sdrv_pollsleep_begin(&ps, tu_now_ns());
				while ((n = be_work(b, impl, max, push_each, fd)) == 0 &&
				       sdrv_pollsleep_keep_polling(&ps, tu_now_ns()))
					;
			} else {
				uint64_t t0 = tu_now_ns();
				while ((n = be_work(b, impl, max, push_each, fd)) == 0 &&
				       tu_now_ns() - t0 < xp.window_ns)
					;
			}
			if (n < 0)
				break;
			if (n > 0)
				continue;
		}
		n = be_final_check(b, impl);
		if (n < 0) {
			b->why = impl == PROJ ? sdrv_ring_broken(&b->s.r) : "final check";
			break;
		}
		if (n > 0)
			continue;
		if (__atomic_load_n(&ctl->stop, __ATOMIC_ACQUIRE))
			break;
		ctl->sleeps++;
		if (poll) {
			uint64_t t0 = tu_now_ns();
			sleep_on(c->efd_back);
			if (impl == PROJ)
				sdrv_pollsleep_slept(&ps, tu_now_ns() - t0);
			else
				xen_poll_slept(&xp, tu_now_ns() - t0);
		} else {
			sleep_on(c->efd_back);
		}
	}
	ctl->notifies = b->notifies;
	ctl->errors = b->errors + (b->why != NULL);
	ctl->processed = b->expect;
	if (b->why)
		snprintf(ctl->why, sizeof(ctl->why), "backend: %s", b->why);
}

/* Throughput in million pairs per second, measured after a 10% warm-up. */
ALWAYS_INLINE void front_run(struct fe *f, int impl, const struct cfg *c, struct result *res)
{
	bool permsg = c->mode == M_PERMSG;
	bool ev = ev_mode(c->mode), poll = c->mode == M_EVPOLL;
	int fd = ev ? c->efd_back : -1;
	uint32_t batch = c->batch;
	uint64_t t0 = tu_now_ns(), warm_at = t0 + c->duration_ns / 10;
	uint64_t end_at = t0 + c->duration_ns, t_warm = 0, recv_warm = 0;
	uint64_t recv = 0, iter = 0;
	bool stopping = false;
	struct sdrv_pollsleep ps;
	struct xen_poll xp = {POLL_NS};

	sdrv_pollsleep_init(&ps, POLL_NS, POLL_MIN_NS);
	for (;;) {
		int32_t n = fe_take(f, impl, batch);
		uint32_t k = 0;

		if (n < 0)
			break;
		recv += (uint32_t)n;
		if (!stopping) {
			uint32_t room = fe_free(f, impl);

			if (permsg) {
				k = room < batch ? room : batch;
				for (uint32_t i = 0; i < k; i++) {
					fe_put(f, impl);
					fe_push(f, impl, fd);
				}
			} else if (room >= batch) {
				k = batch;
				for (uint32_t i = 0; i < k; i++)
					fe_put(f, impl);
				fe_push(f, impl, fd);
			}
		}
		if ((++iter & 63) == 0 || (stopping && n == 0)) {
			uint64_t t = tu_now_ns();

			if (!t_warm && t >= warm_at) {
				t_warm = t;
				recv_warm = recv;
			}
			if (!stopping && t >= end_at) {
				stopping = true;
				res->mpps =
				    (double)(recv - recv_warm) / ((double)(t - t_warm) / 1e3);
			}
			if (stopping && recv == f->next_id)
				break;
		}
		if (n > 0 || k > 0 || !ev)
			continue;
		/* Nothing to do: wait for responses. */
		if (poll) {
			if (impl == PROJ) {
				sdrv_pollsleep_begin(&ps, tu_now_ns());
				while ((n = fe_take(f, impl, batch)) == 0 &&
				       sdrv_pollsleep_keep_polling(&ps, tu_now_ns()))
					;
			} else {
				uint64_t tp = tu_now_ns();
				while ((n = fe_take(f, impl, batch)) == 0 &&
				       tu_now_ns() - tp < xp.window_ns)
					;
			}
			if (n < 0)
				break;
			if (n > 0) {
				recv += (uint32_t)n;
				continue;
			}
		}
		if (stopping && recv == f->next_id)
			continue; /* the time check above ends the loop */
		n = fe_final_check(f, impl);
		if (n < 0) {
			f->why = impl == PROJ ? sdrv_ring_broken(&f->s.r) : "final check";
			break;
		}
		if (n > 0)
			continue;
		if (poll) {
			uint64_t ts = tu_now_ns();
			sleep_on(c->efd_front);
			if (impl == PROJ)
				sdrv_pollsleep_slept(&ps, tu_now_ns() - ts);
			else
				xen_poll_slept(&xp, tu_now_ns() - ts);
		} else {
			sleep_on(c->efd_front);
		}
	}
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static uint32_t *rtt_samples;
#define RTT_CAP (4u << 20)

ALWAYS_INLINE void front_rtt(struct fe *f, int impl, const struct cfg *c, struct result *res)
{
	uint64_t t0 = tu_now_ns(), end_at = t0 + c->duration_ns, prev = t0;
	uint32_t nr = 0, skip;

	for (;;) {
		int32_t n;
		uint64_t t;

		fe_put(f, impl);
		fe_push(f, impl, -1);
		while ((n = fe_take(f, impl, 1)) == 0)
			;
		if (n < 0)
			break;
		t = tu_now_ns();
		rtt_samples[nr++] = (uint32_t)(t - prev > UINT32_MAX ? UINT32_MAX : t - prev);
		prev = t;
		if (nr == RTT_CAP || t >= end_at)
			break;
	}
	skip = nr / 10;
	if (nr - skip == 0)
		return;
	qsort(rtt_samples + skip, nr - skip, sizeof(uint32_t), cmp_u32);
	res->p50 = rtt_samples[skip + (nr - skip) / 2];
	res->p99 = rtt_samples[skip + (uint32_t)((uint64_t)(nr - skip) * 99 / 100)];
	res->mpps = (double)nr / ((double)(prev - t0) / 1e3);
}

static void *ring_mem;
static struct ctl *ctl;
static struct fe g_fe;
static struct be g_be;

/*
 * Each implementation's loops are a function of their own, starting on a
 * cache line. In one function with both, Xen's code was laid out after the
 * project's, and a change to the project's moved Xen's: its round trip
 * (row 3) then moved by up to 30% between builds (bench/README.md).
 */
#define BENCH_FN static __attribute__((noinline, noclone, aligned(64)))

BENCH_FN void back_main_xen(const struct cfg *c)
{
	back_run(&g_be, XEN, c, ctl);
}

BENCH_FN void back_main_proj(const struct cfg *c)
{
	back_run(&g_be, PROJ, c, ctl);
}

BENCH_FN void front_main_xen(const struct cfg *c, struct result *r)
{
	if (c->mode == M_RTT)
		front_rtt(&g_fe, XEN, c, r);
	else
		front_run(&g_fe, XEN, c, r);
}

BENCH_FN void front_main_proj(const struct cfg *c, struct result *r)
{
	if (c->mode == M_RTT)
		front_rtt(&g_fe, PROJ, c, r);
	else
		front_run(&g_fe, PROJ, c, r);
}

static void back_main(int impl, const struct cfg *c)
{
	if (impl == XEN)
		back_main_xen(c);
	else
		back_main_proj(c);
}

static void front_main(int impl, const struct cfg *c, struct result *r)
{
	if (impl == XEN)
		front_main_xen(c, r);
	else
		front_main_proj(c, r);
}

static void fe_init(struct fe *f, int impl, void *mem, size_t bytes)
{
	memset(f, 0, sizeof(*f));
	if (impl == XEN) {
		XEN_FRONT_RING_INIT(&f->x, (struct xb_sring *)mem, bytes);
		f->x_rp = 0;
	} else if (sb_front_init(&f->s, mem, bytes) != 0) {
		fprintf(stderr, "sb_front_init failed\n");
		exit(1);
	}
}

static void be_init(struct be *b, int impl, void *mem, size_t bytes)
{
	memset(b, 0, sizeof(*b));
	if (impl == XEN) {
		BACK_RING_INIT(&b->x, (struct xb_sring *)mem, bytes);
		b->x_rp = 0;
	} else if (sb_back_attach(&b->s, mem, bytes, 0) != 0) {
		fprintf(stderr, "sb_back_attach failed\n");
		exit(1);
	}
}

static struct result run_one(int impl, enum mode mode, unsigned pages, uint32_t batch,
			     uint64_t duration_ns)
{
	size_t bytes = (size_t)pages * SDRV_PAGE_SIZE;
	struct result res;
	struct cfg c = {.mode = mode, .duration_ns = duration_ns, .efd_front = -1, .efd_back = -1};
	uint32_t nr_ents = sb_ring_size(bytes);
	pid_t pid;
	int st;

	memset(&res, 0, sizeof(res));
	c.batch = batch > nr_ents ? nr_ents : batch;
	if (c.batch > MAX_BATCH)
		c.batch = MAX_BATCH;
	memset(ring_mem, 0, bytes);
	memset(ctl, 0, sizeof(*ctl));
	if (ev_mode(mode)) {
		c.efd_front = eventfd(0, EFD_CLOEXEC);
		c.efd_back = eventfd(0, EFD_CLOEXEC);
		if (c.efd_front < 0 || c.efd_back < 0) {
			perror("eventfd");
			exit(1);
		}
	}
	fe_init(&g_fe, impl, ring_mem, bytes);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		tu_pin(1);
		be_init(&g_be, impl, ring_mem, bytes);
		__atomic_store_n(&ctl->ready, 1, __ATOMIC_RELEASE);
		back_main(impl, &c);
		_exit(0);
	}
	while (!__atomic_load_n(&ctl->ready, __ATOMIC_ACQUIRE))
		;
	front_main(impl, &c, &res);
	__atomic_store_n(&ctl->stop, 1, __ATOMIC_RELEASE);
	kick(c.efd_back);
	if (g_fe.why != NULL && c.efd_back < 0)
		kill(pid, SIGKILL); /* a busy-polling backend may wait for requests forever */
	st = tu_wait_child(pid);
	if (c.efd_front >= 0) {
		close(c.efd_front);
		close(c.efd_back);
	}
	/* Notifications in both directions over the whole run, per pair. */
	if (g_fe.next_id)
		res.notif = (double)(g_fe.notifies + ctl->notifies) / (double)g_fe.next_id;
	res.errors = g_fe.errors + ctl->errors + (g_fe.why != NULL) + (st != 0);
	if (g_fe.why)
		snprintf(res.why, sizeof(res.why), "frontend: %s", g_fe.why);
	else if (ctl->why[0])
		snprintf(res.why, sizeof(res.why), "%s", ctl->why);
	else if (st != 0)
		snprintf(res.why, sizeof(res.why), "backend exited with status %d", st);
	else if (ctl->processed != g_fe.next_id) {
		res.errors++;
		snprintf(res.why, sizeof(res.why),
			 "backend saw %" PRIu64 " requests, sent %" PRIu64, ctl->processed,
			 g_fe.next_id);
	}
	return res;
}

/* ------------------------------------------------------------------------ */
/* Instructions per pair: one process, the frontend and the backend taking
 * turns on one ring, counted by callgrind (--toggle-collect on these). */

ALWAYS_INLINE uint64_t cg_loop(struct fe *f, struct be *b, int impl, uint32_t batch, uint64_t iters)
{
	uint64_t bad = 0;

	for (uint64_t it = 0; it < iters; it++) {
		for (uint32_t i = 0; i < batch; i++)
			fe_put(f, impl);
		fe_push(f, impl, -1);
		bad += be_work(b, impl, batch, false, -1) != (int32_t)batch;
		bad += fe_take(f, impl, batch) != (int32_t)batch;
	}
	return bad;
}

static __attribute__((noinline, noclone)) uint64_t cg_loop_xen(struct fe *f, struct be *b,
							       uint32_t batch, uint64_t iters)
{
	return cg_loop(f, b, XEN, batch, iters);
}

static __attribute__((noinline, noclone)) uint64_t cg_loop_project(struct fe *f, struct be *b,
								   uint32_t batch, uint64_t iters)
{
	return cg_loop(f, b, PROJ, batch, iters);
}

#define CG_PAIRS 65536u
#define CG_PAGES 1u

static int cg_child(int impl, uint32_t batch)
{
	size_t bytes = CG_PAGES * SDRV_PAGE_SIZE;
	void *mem = tu_shared_mem(bytes);
	uint64_t bad;

	fe_init(&g_fe, impl, mem, bytes);
	be_init(&g_be, impl, mem, bytes);
	if (impl == XEN)
		bad = cg_loop_xen(&g_fe, &g_be, batch, CG_PAIRS / batch);
	else
		bad = cg_loop_project(&g_fe, &g_be, batch, CG_PAIRS / batch);
	if (bad || g_fe.errors || g_be.errors || g_fe.why || g_be.why) {
		fprintf(stderr, "callgrind loop (%s, batch %u): functional error: %s\n",
			impl_name[impl], batch,
			g_fe.why   ? g_fe.why
			: g_be.why ? g_be.why
				   : "wrong count");
		return 1;
	}
	return 0;
}

/* Runs the callgrind loop under valgrind; returns instructions per pair,
 * 0 if valgrind is unavailable, -1 on a functional error. */
static double cg_measure(const char *valgrind, int impl, uint32_t batch)
{
	char exe[4096], out[] = "/tmp/splitdrv-ring-bench-cg.XXXXXX", outopt[64 + sizeof(out)];
	char toggle[64], implarg[16], batcharg[16], line[512];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	double ir = 0;
	FILE *fp;
	pid_t pid;
	int fd, st;

	if (len <= 0)
		return 0;
	exe[len] = '\0';
	fd = mkstemp(out);
	if (fd < 0)
		return 0;
	close(fd);
	snprintf(outopt, sizeof(outopt), "--callgrind-out-file=%s", out);
	snprintf(toggle, sizeof(toggle), "--toggle-collect=cg_loop_%s*", impl_name[impl]);
	snprintf(implarg, sizeof(implarg), "%d", impl);
	snprintf(batcharg, sizeof(batcharg), "%u", batch);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		if (devnull >= 0)
			dup2(devnull, 1);
		execlp(valgrind, valgrind, "--tool=callgrind", "-q", outopt, toggle, exe,
		       "--cg-child", implarg, batcharg, (char *)NULL);
		_exit(127);
	}
	st = pid > 0 ? tu_wait_child(pid) : 127;
	if (st == 127) {
		unlink(out);
		return 0;
	}
	if (st != 0) {
		unlink(out);
		return -1;
	}
	fp = fopen(out, "r");
	while (fp && fgets(line, sizeof(line), fp)) {
		if (strncmp(line, "totals:", 7) == 0 || strncmp(line, "summary:", 8) == 0) {
			ir = strtod(strchr(line, ':') + 1, NULL);
			break;
		}
	}
	if (fp)
		fclose(fp);
	unlink(out);
	return ir / CG_PAIRS;
}

/* ------------------------------------------------------------------------ */
/* Rounds, medians and the report. */

enum cell_id {
	C_BATCH1,
	C_BATCH8,
	C_PERMSG1,
	C_PERMSG8,
	C_RTT1,
	C_RTT8,
	C_EVPLAIN1,
	C_EVPLAIN8,
	C_EVPOLL1,
	C_EVPOLL8,
	C_NR
};

static const struct {
	enum mode mode;
	unsigned pages;
	int row;
	const char *what;
} cells[C_NR] = {
    [C_BATCH1] = {M_BATCH, 1, 1, "batched busy poll"},
    [C_BATCH8] = {M_BATCH, 8, 1, "batched busy poll"},
    [C_PERMSG1] = {M_PERMSG, 1, 2, "push per message"},
    [C_PERMSG8] = {M_PERMSG, 8, 2, "push per message"},
    [C_RTT1] = {M_RTT, 1, 3, "round trip"},
    [C_RTT8] = {M_RTT, 8, 3, "round trip"},
    [C_EVPLAIN1] = {M_EVPLAIN, 1, 4, "eventfd, final check"},
    [C_EVPLAIN8] = {M_EVPLAIN, 8, 4, "eventfd, final check"},
    [C_EVPOLL1] = {M_EVPOLL, 1, 4, "eventfd, poll 50us then sleep"},
    [C_EVPOLL8] = {M_EVPOLL, 8, 4, "eventfd, poll 50us then sleep"},
};

#define MAX_ROUNDS 31

static struct result results[C_NR][2][MAX_ROUNDS];

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned n)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

enum field { F_MPPS, F_NOTIF, F_P50, F_P99 };

static double field_of(const struct result *r, enum field f)
{
	switch (f) {
	case F_MPPS:
		return r->mpps;
	case F_NOTIF:
		return r->notif;
	case F_P50:
		return r->p50;
	default:
		return r->p99;
	}
}

static double cell_median(int c, int impl, enum field f, unsigned rounds)
{
	double v[MAX_ROUNDS];

	for (unsigned r = 0; r < rounds; r++)
		v[r] = field_of(&results[c][impl][r], f);
	return median(v, rounds);
}

/* Median over rounds of project/Xen, each round's pair run back to back. */
static double cell_ratio(int c, enum field f, unsigned rounds)
{
	double v[MAX_ROUNDS];
	unsigned n = 0;

	for (unsigned r = 0; r < rounds; r++) {
		double x = field_of(&results[c][XEN][r], f);
		double p = field_of(&results[c][PROJ][r], f);

		if (x > 0)
			v[n++] = p / x;
	}
	return n ? median(v, n) : -1;
}

struct report {
	char *buf;
	size_t len, cap;
};

static void __attribute__((format(printf, 2, 3))) rep(struct report *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(r->buf + r->len, r->cap - r->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (r->len + (size_t)n < r->cap)
			break;
		r->cap = (r->cap + (size_t)n) * 2;
		r->buf = realloc(r->buf, r->cap);
		if (!r->buf) {
			perror("realloc");
			exit(1);
		}
	}
	r->len += (size_t)n;
}

static void fmt_val(char *s, size_t n, double v, int prec)
{
	if (v < 0)
		snprintf(s, n, "n/a");
	else
		snprintf(s, n, "%.*f", prec, v);
}

/* One table line. `ratio` < 0 prints n/a; `met` < 0: no verdict on `target`. */
static void rep_line(struct report *r, const char *row, const char *what, const char *ring,
		     double x, double p, int prec, double ratio, const char *better,
		     const char *target, int met)
{
	char xs[32], ps[32], rs[32], ts[48];

	fmt_val(xs, sizeof(xs), x, prec);
	fmt_val(ps, sizeof(ps), p, prec);
	if (ratio < 0)
		snprintf(rs, sizeof(rs), "n/a");
	else
		snprintf(rs, sizeof(rs), "%.2fx", ratio);
	if (met < 0)
		snprintf(ts, sizeof(ts), "%s", target);
	else
		snprintf(ts, sizeof(ts), "%s %s", target, met ? "met" : "MISSED");
	rep(r, "| %-2s | %-44s | %-7s | %10s | %10s | %7s | %-6s | %-17s |\n", row, what, ring, xs,
	    ps, rs, better, ts);
}

static const char *pages_str(unsigned pages)
{
	return pages == 1 ? "1 page" : "8 pages";
}

static void usage(FILE *to, const char *argv0)
{
	fprintf(
	    to,
	    "Usage: %s [OPTION]...\n"
	    "Compare libsplitdrv's ring with Xen's io/ring.h macros, interleaved, in one run.\n"
	    "\n"
	    "  -r, --rounds=N       rounds of Xen/project pairs per measurement (default 9,\n"
	    "                       3 with --quick); medians are reported\n"
	    "  -d, --duration=MS    length of one timed run in ms (default 300, 100 with --quick)\n"
	    "  -b, --batch=N        requests per push in the batched rows (default 16)\n"
	    "  -R, --rows=LIST      rows to run, digits 1-5 (default 12345)\n"
	    "  -q, --quick          smoke run of about 20 s (also SDRV_BENCH_QUICK=1)\n"
	    "  -o, --output=FILE    also write the summary table (Markdown) to FILE\n"
	    "      --valgrind=PATH  valgrind for row 5 (default $SDRV_BENCH_VALGRIND or valgrind)\n"
	    "  -h, --help           show this help\n"
	    "\n"
	    "Rows: 1 batched busy-poll throughput, 2 push-per-message throughput, 3 round trip\n"
	    "with one request outstanding (p50, p99), 4 eventfd wake-ups with the plain final\n"
	    "check and with poll-then-sleep (throughput, notifications per pair), 5 instructions\n"
	    "per request+response pair under callgrind. Rings of 1 and 8 pages, 64-byte entries,\n"
	    "frontend pinned to CPU 0, backend to CPU 1.\n"
	    "Exit status: 0, or 1 on a functional error (wrong data); never on a ratio.\n",
	    argv0);
}

static void print_round(int c, unsigned r, unsigned rounds)
{
	const struct result *x = &results[c][XEN][r], *p = &results[c][PROJ][r];

	printf("round %u/%u  %-30s %-7s ", r + 1, rounds, cells[c].what, pages_str(cells[c].pages));
	switch (cells[c].mode) {
	case M_RTT:
		printf("xen p50 %5.0f p99 %6.0f ns | project p50 %5.0f p99 %6.0f ns | p50 %.2fx\n",
		       x->p50, x->p99, p->p50, p->p99, x->p50 > 0 ? p->p50 / x->p50 : 0);
		break;
	case M_EVPLAIN:
	case M_EVPOLL:
		printf("xen %6.2f Mpairs/s %.4f notif/pair | project %6.2f Mpairs/s %.4f notif/pair"
		       " | %.2fx\n",
		       x->mpps, x->notif, p->mpps, p->notif, x->mpps > 0 ? p->mpps / x->mpps : 0);
		break;
	default:
		printf("xen %6.2f Mpairs/s | project %6.2f Mpairs/s | %.2fx\n", x->mpps, p->mpps,
		       x->mpps > 0 ? p->mpps / x->mpps : 0);
		break;
	}
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"rounds", required_argument, NULL, 'r'},	{"duration", required_argument, NULL, 'd'},
	    {"batch", required_argument, NULL, 'b'},	{"rows", required_argument, NULL, 'R'},
	    {"quick", no_argument, NULL, 'q'},		{"output", required_argument, NULL, 'o'},
	    {"valgrind", required_argument, NULL, 'V'}, {"cg-child", no_argument, NULL, 'C'},
	    {"help", no_argument, NULL, 'h'},		{NULL, 0, NULL, 0},
	};
	const char *q = getenv("SDRV_BENCH_QUICK"), *rows = "12345", *output = NULL;
	const char *valgrind = getenv("SDRV_BENCH_VALGRIND");
	bool quick = q && *q && strcmp(q, "0") != 0, cg = false;
	unsigned rounds = 0, duration_ms = 0, batch = 16, errors = 0;
	double ins[2][2] = {{-1, -1}, {-1, -1}};
	struct report rp = {NULL, 0, 0};
	int opt;

	while ((opt = getopt_long(argc, argv, "r:d:b:R:qo:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			rounds = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'd':
			duration_ms = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'b':
			batch = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'R':
			rows = optarg;
			break;
		case 'q':
			quick = true;
			break;
		case 'o':
			output = optarg;
			break;
		case 'V':
			valgrind = optarg;
			break;
		case 'C':
			cg = true;
			break;
		case 'h':
			usage(stdout, argv[0]);
			return 0;
		default:
			usage(stderr, argv[0]);
			return 2;
		}
	}
	if (cg) {
		/* Internal: the callgrind loop, run under valgrind by cg_measure(). */
		if (argc - optind != 2)
			return 2;
		return cg_child(atoi(argv[optind]) ? PROJ : XEN,
				(uint32_t)strtoul(argv[optind + 1], NULL, 10));
	}
	if (optind != argc) {
		usage(stderr, argv[0]);
		return 2;
	}
	if (!rounds)
		rounds = quick ? 3 : 9;
	if (rounds > MAX_ROUNDS)
		rounds = MAX_ROUNDS;
	if (!duration_ms)
		duration_ms = quick ? 100 : 300;
	if (batch == 0 || batch > MAX_BATCH) {
		fprintf(stderr, "--batch must be 1..%u\n", MAX_BATCH);
		return 2;
	}
	if (!valgrind || !*valgrind)
		valgrind = "valgrind";
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		fprintf(stderr,
			"warning: fewer than 2 CPUs: both ends share one, figures mean little\n");

	ring_mem = tu_shared_mem(SDRV_RING_BYTES(3));
	ctl = tu_shared_mem(SDRV_PAGE_SIZE);
	rtt_samples = malloc(RTT_CAP * sizeof(*rtt_samples));
	if (!rtt_samples) {
		perror("malloc");
		return 1;
	}
	tu_pin(0);
	tu_watchdog(1800, "splitdrv-ring-bench");
	printf("splitdrv-ring-bench: %u rounds, %u ms per run, batch %u, 64-byte entries, "
	       "frontend CPU 0, backend CPU 1\n",
	       rounds, duration_ms, batch);
	for (unsigned r = 0; r < rounds; r++) {
		for (int c = 0; c < C_NR; c++) {
			if (!strchr(rows, '0' + cells[c].row))
				continue;
			for (int j = 0; j < 2; j++) {
				/* Alternate which implementation goes first. */
				int impl = ((r + (unsigned)c) & 1) ? 1 - j : j;
				struct result *res = &results[c][impl][r];

				*res = run_one(impl, cells[c].mode, cells[c].pages, batch,
					       (uint64_t)duration_ms * 1000000u);
				if (res->errors) {
					fprintf(stderr, "FAIL: %s, %s, %s: %s\n", impl_name[impl],
						cells[c].what, pages_str(cells[c].pages),
						res->why[0] ? res->why : "functional error");
					errors++;
				}
			}
			print_round(c, r, rounds);
		}
	}
	if (strchr(rows, '5')) {
		uint32_t bs[2] = {1, batch > 32 ? 32 : batch};

		for (int bi = 0; bi < 2; bi++) {
			for (int impl = 0; impl < 2; impl++) {
				ins[bi][impl] = cg_measure(valgrind, impl, bs[bi]);
				if (ins[bi][impl] < 0) {
					fprintf(stderr, "FAIL: callgrind loop, %s, batch %u\n",
						impl_name[impl], bs[bi]);
					errors++;
				} else if (ins[bi][impl] == 0) {
					ins[bi][impl] = -1; /* no valgrind */
				}
			}
			printf(
			    "callgrind, push per %-3u xen %.1f, project %.1f instructions/pair\n",
			    bs[bi], ins[bi][XEN], ins[bi][PROJ]);
		}
		if (ins[0][0] < 0)
			fprintf(stderr, "note: row 5 needs valgrind (%s): not run\n", valgrind);
	}

	/* The summary table. */
	rep(&rp, "\n### libsplitdrv ring vs Xen io/ring.h macros\n\n");
	rep(&rp,
	    "64-byte requests and responses, frontend and backend in two processes pinned to "
	    "CPUs 0 and 1; %u rounds of back-to-back Xen/project runs of %u ms, order "
	    "alternating; values are medians, project/Xen is the median of the per-round "
	    "ratios. Batched rows push once per %u messages.\n\n",
	    rounds, duration_ms, batch);
	rep(&rp, "| #  | %-44s | %-7s | %10s | %10s | %7s | %-6s | %-17s |\n", "measure", "ring",
	    "Xen", "project", "proj/Xen", "better", "target");
	rep(&rp, "|----|----------------------------------------------|---------|------------|"
		 "------------|---------|--------|-------------------|\n");
	for (int c = 0; c < C_NR; c++) {
		const char *ring = pages_str(cells[c].pages);
		char what[64];
		double x, p, ratio;

		if (!strchr(rows, '0' + cells[c].row))
			continue;
		x = cell_median(c, XEN, F_MPPS, rounds);
		p = cell_median(c, PROJ, F_MPPS, rounds);
		ratio = cell_ratio(c, F_MPPS, rounds);
		switch (cells[c].mode) {
		case M_BATCH:
			snprintf(what, sizeof(what), "batched busy poll, Mpairs/s (push per %u)",
				 batch);
			if (cells[c].pages == 8)
				rep_line(&rp, "1", what, ring, x, p, 2, ratio, "higher", ">=1.25x",
					 ratio >= 1.25);
			else
				rep_line(&rp, "1", what, ring, x, p, 2, ratio, "higher", ">=1.00x",
					 ratio >= 1.0);
			break;
		case M_PERMSG:
			rep_line(&rp, "2", "push per message, Mpairs/s", ring, x, p, 2, ratio,
				 "higher", ">=2.00x", ratio >= 2.0);
			break;
		case M_RTT:
			ratio = cell_ratio(c, F_P50, rounds);
			rep_line(&rp, "3", "round trip, 1 outstanding, p50 ns", ring,
				 cell_median(c, XEN, F_P50, rounds),
				 cell_median(c, PROJ, F_P50, rounds), 0, ratio, "lower", "<=0.80x",
				 ratio >= 0 && ratio <= 0.8);
			ratio = cell_ratio(c, F_P99, rounds);
			rep_line(&rp, "3", "round trip, 1 outstanding, p99 ns", ring,
				 cell_median(c, XEN, F_P99, rounds),
				 cell_median(c, PROJ, F_P99, rounds), 0, ratio, "lower", "<=1.00x",
				 ratio >= 0 && ratio <= 1.0);
			break;
		case M_EVPLAIN:
			rep_line(&rp, "4a", "eventfd, final check then sleep, Mpairs/s", ring, x, p,
				 2, ratio, "higher", ">=1.00x", ratio >= 1.0);
			rep_line(&rp, "4a", "  notifications per pair (both ways)", ring,
				 cell_median(c, XEN, F_NOTIF, rounds),
				 cell_median(c, PROJ, F_NOTIF, rounds), 4,
				 cell_ratio(c, F_NOTIF, rounds), "lower", "-", -1);
			break;
		case M_EVPOLL: {
			int busy = cells[c].pages == 1 ? C_BATCH1 : C_BATCH8;
			double bx = cell_median(busy, XEN, F_MPPS, rounds);
			double bp = cell_median(busy, PROJ, F_MPPS, rounds);
			double np = cell_median(c, PROJ, F_NOTIF, rounds);

			rep_line(&rp, "4b", "eventfd, poll 50us then sleep, Mpairs/s", ring, x, p,
				 2, ratio, "higher", ">=1.00x", ratio >= 1.0);
			rep_line(&rp, "4b", "  notifications per pair (both ways)", ring,
				 cell_median(c, XEN, F_NOTIF, rounds), np, 4,
				 cell_ratio(c, F_NOTIF, rounds), "lower", "proj <=0.01",
				 np <= 0.01);
			if (strchr(rows, '1') && bx > 0 && bp > 0)
				rep_line(&rp, "4b", "  poll-then-sleep / busy poll (row 1)", ring,
					 x / bx, p / bp, 2, (p / bp) / (x / bx), "higher",
					 "proj >=0.90", p / bp >= 0.9);
			break;
		}
		default:
			break;
		}
	}
	if (strchr(rows, '5')) {
		for (int bi = 0; bi < 2; bi++) {
			char what[64];
			double x = ins[bi][XEN], p = ins[bi][PROJ];
			double ratio = x > 0 && p > 0 ? p / x : -1;

			snprintf(what, sizeof(what), "instructions per pair, push per %u",
				 bi ? (batch > 32 ? 32 : batch) : 1);
			rep_line(&rp, "5", what, "1 page", x, p, 1, ratio, "lower", "<=1.00x",
				 ratio < 0 ? -1 : ratio <= 1.0);
		}
	}
	rep(&rp, "\nRatios above 1 mean the project is faster for \"higher\" rows and slower for "
		 "\"lower\" rows. Row 5 is callgrind's exact count for one process running both "
		 "ends in turn, payload work included.\n");
	if (errors)
		rep(&rp, "\n%u functional error(s): see the messages above.\n", errors);
	fputs(rp.buf, stdout);
	if (output) {
		FILE *fp = fopen(output, "w");

		if (!fp || fputs(rp.buf, fp) < 0 || fclose(fp) != 0) {
			perror(output);
			errors++;
		} else {
			printf("\n(table written to %s)\n", output);
		}
	}
	free(rp.buf);
	free(rtt_samples);
	return errors ? 1 : 0;
}
