/* SPDX-License-Identifier: MIT */
/*
 * Hostile peers as real processes: a forked child shares a memfd ring with
 * the project's side and misbehaves concurrently, as a peer in another
 * domain would.
 *
 *  scribble: the child keeps its index at the largest legal value (a
 *    flood) and rewrites every entry byte by byte, forever, while the
 *    project's side consumes. Each entry carries a checksum. Every copy the
 *    consumer accepted (checksum valid) must stay valid, and no copy may
 *    change after take returned; torn copies are counted, never trusted.
 *  garbage: the child writes random producer indices (and entries, and our
 *    event index) as fast as it can; the consumer must end broken, with a
 *    readable reason, with at most `max` entries per call and nothing
 *    copied or handed out after that.
 *  stall: the child is alive but never advances: every call returns 0 and
 *    the final check arms the event index.
 *
 * Both directions each: the project's backend against a hostile frontend
 * and the project's frontend against a hostile backend.
 */
#include "hostile.h"

#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <sys/types.h>

/* Shared between the test and its hostile child, outside the ring. */
struct ctl {
	uint32_t stop;
	uint32_t ready;
	uint64_t rewrites; /* entries the child rewrote */
	uint64_t indices;  /* index values the child wrote */
	uint32_t hostile;  /* garbage child: 0 = behave (flood legally), 1 = garbage */
};

static uint32_t ld32(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void st32(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static pid_t spawn(void (*child)(struct side *, struct ctl *, uint64_t), struct side *x,
		   struct ctl *c, uint64_t seed)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0, "fork failed");
	if (pid == 0) {
		child(x, c, seed);
		_exit(TU_PASS);
	}
	while (!__atomic_load_n(&c->ready, __ATOMIC_ACQUIRE))
		sched_yield();
	return pid;
}

static void reap(pid_t pid, struct ctl *c)
{
	int rc;

	__atomic_store_n(&c->stop, 1, __ATOMIC_RELEASE);
	rc = tu_wait_child(pid);
	CHECK(rc == 0, "hostile child exited with %d", rc);
}

static int stopping(struct ctl *c)
{
	return __atomic_load_n(&c->stop, __ATOMIC_ACQUIRE) != 0;
}

/*
 * Rewrite one entry byte by byte through volatile stores (so that the
 * consumer can catch it half-written), then its checksum.
 */
static void scribble_entry(unsigned char *slot, size_t esz, uint64_t seq)
{
	volatile unsigned char *v = slot;
	unsigned char tmp[4096];
	size_t i;

	for (i = 0; i < esz - 4; i++)
		tmp[i] = (unsigned char)(seq * 31u + i * 7u + (seq >> 8));
	entry_seal(tmp, esz);
	for (i = 0; i < esz; i++)
		v[i] = tmp[i];
}

/* ----------------------------- scribble --------------------------------- */

static void child_scribbler(struct side *x, struct ctl *c, uint64_t seed)
{
	uint32_t nr = side_nr(x);
	uint64_t seq = seed;

	__atomic_store_n(&c->ready, 1, __ATOMIC_RELEASE);
	while (!stopping(c)) {
		for (uint32_t i = 0; i < nr; i++) {
			/* Flood: as many entries as the rules allow, always.
			 * A hostile frontend may have nr requests past the
			 * responses; a hostile backend answers everything
			 * published. Both only ever grow. */
			uint32_t v = x->back ? ld32(x->my_prod) + nr : ld32(x->my_prod);

			st32(x->peer_prod, v);
			scribble_entry(side_slot(x, i), side_esz(x), seq++);
			__atomic_fetch_add(&c->rewrites, 1, __ATOMIC_RELAXED);
		}
	}
}

#define HIST 64

struct kept {
	unsigned char e[4096];
	uint32_t hash; /* of the copy when take returned */
	int valid;
};

static void check_history(const struct kept *h, size_t n, size_t esz, const char *who)
{
	for (size_t i = 0; i < n; i++) {
		CHECK(tu_fnv1a(h[i].e, esz) == h[i].hash,
		      "%s: a copy changed after take returned (history slot %zu)", who, i);
		CHECK(!h[i].valid || entry_valid(h[i].e, esz),
		      "%s: an accepted copy became invalid (history slot %zu)", who, i);
	}
}

static void test_scribble(int back, size_t esz, unsigned order)
{
	size_t bytes = SDRV_RING_BYTES(order);
	unsigned char *mem = tu_shared_mem(bytes);
	struct ctl *c = tu_shared_mem(4096);
	struct side x;
	uint32_t nr;
	unsigned char *dst;
	struct kept *hist = calloc(HIST, sizeof(*hist));
	uint64_t target = tu_scaled(150000, 3000), taken = 0, accepted = 0, torn = 0;
	uint64_t calls = 0, idle = 0, deadline, rng = 0xabcdef12345ull + esz;
	size_t nhist = 0, hpos = 0;
	pid_t pid;

	CHECK(hist != NULL && esz <= sizeof(hist[0].e) && esz > 4, "setup");
	side_attach(&x, back, mem, bytes, esz, back ? 0x10u : 0);
	nr = side_nr(&x);
	dst = malloc((size_t)nr * esz);
	CHECK(dst != NULL, "malloc");
	pid = spawn(child_scribbler, &x, c, 77);
	deadline = tu_now_ns() + (tu_under_valgrind() ? 60 : 3) * 1000000000ull;

	while (taken < target && tu_now_ns() < deadline) {
		uint32_t max = 1 + (uint32_t)(tu_rand(&rng) % nr);
		int32_t n;

		if (!back) {
			/* Keep the ring full of requests. */
			unsigned char *q;
			while ((q = side_next(&x)) != NULL)
				q[0] = 1;
			side_push(&x);
		}
		n = side_take(&x, dst, max);
		calls++;
		CHECK(n >= 0 && (uint32_t)n <= max, "%s: take returned %d for max %u (%s)",
		      side_name(&x), n, max,
		      sdrv_ring_broken(&x.r) ? sdrv_ring_broken(&x.r) : "not broken");
		for (int32_t i = 0; i < n; i++) {
			struct kept *k = &hist[hpos];
			const unsigned char *e = dst + (size_t)i * esz;

			memcpy(k->e, e, esz);
			k->hash = tu_fnv1a(e, esz);
			k->valid = entry_valid(e, esz);
			if (k->valid)
				accepted++;
			else
				torn++;
			hpos = (hpos + 1) % HIST;
			if (nhist < HIST)
				nhist++;
		}
		taken += (uint64_t)n;
		if (back) {
			for (int32_t i = 0; i < n; i++) {
				unsigned char *p = side_next(&x);
				CHECK(p != NULL, "next_rsp");
				p[0] = 2;
			}
			side_push(&x);
		}
		/* Copies taken earlier, while the child kept writing: intact. */
		check_history(hist, nhist, esz, side_name(&x));
		if (n == 0) {
			idle++;
			CHECK(side_final_check(&x) >= 0, "final_check");
			sched_yield();
		}
	}
	reap(pid, c);
	check_history(hist, nhist, esz, side_name(&x));
	CHECK(sdrv_ring_broken(&x.r) == NULL,
	      "%s: a peer that kept to the index rules broke the ring: %s", side_name(&x),
	      sdrv_ring_broken(&x.r));
	CHECK(accepted > 0, "%s: no entry ever arrived intact (%" PRIu64 " torn)", side_name(&x),
	      torn);
	CHECK(accepted + torn == taken, "accounting");
	printf("ok: %s, esz %zu: %" PRIu64 " entries taken in %" PRIu64 " calls (%" PRIu64
	       " idle) while the peer rewrote %" PRIu64 ": %" PRIu64 " accepted, %" PRIu64
	       " torn copies detected, all accepted copies stayed valid and unchanged\n",
	       side_name(&x), esz, taken, calls, idle,
	       __atomic_load_n(&c->rewrites, __ATOMIC_RELAXED), accepted, torn);
	free(dst);
	free(hist);
	tu_shared_free(c, 4096);
	tu_shared_free(mem, bytes);
}

/* ------------------------------ garbage --------------------------------- */

static void child_garbage(struct side *x, struct ctl *c, uint64_t seed)
{
	uint64_t rng = seed;
	uint32_t nr = side_nr(x);

	__atomic_store_n(&c->ready, 1, __ATOMIC_RELEASE);
	while (!stopping(c)) {
		uint64_t r = tu_rand(&rng);
		uint32_t base = ld32(x->my_prod), v;

		if (!__atomic_load_n(&c->hostile, __ATOMIC_ACQUIRE)) {
			/* First a legal flood, so that the ring is busy when
			 * the garbage starts. */
			st32(x->peer_prod, x->back ? base + nr : base);
			continue;
		}
		switch (r % 8) {
		case 0:
			v = base + nr;
			break; /* legal for a frontend: the bound */
		case 1:
			v = base + nr + 1;
			break; /* just past it */
		case 2:
			v = base - 1;
			break; /* backwards */
		case 3:
			v = base;
			break;
		default:
			v = (uint32_t)(r >> 32);
			break;
		}
		st32(x->peer_prod, v);
		__atomic_fetch_add(&c->indices, 1, __ATOMIC_RELAXED);
		if ((r & 0xf00) == 0)
			scribble_entry(side_slot(x, (uint32_t)(r >> 20)), side_esz(x), r);
		if ((r & 0xf000) == 0) /* and our event index */
			st32(x->my_event, (uint32_t)(r >> 16));
	}
}

static void test_garbage(int back, size_t esz, unsigned order)
{
	size_t bytes = SDRV_RING_BYTES(order);
	unsigned char *mem = tu_shared_mem(bytes);
	struct ctl *c = tu_shared_mem(4096);
	struct side x;
	uint32_t nr;
	size_t dstsz;
	unsigned char *dst;
	uint64_t calls = 0, taken = 0, after = tu_scaled(20000, 500), wait;
	uint64_t legal_calls = tu_scaled(20000, 500);
	uint64_t deadline, rng = 0x1234567ull + esz;
	const char *why;
	pid_t pid;

	side_attach(&x, back, mem, bytes, esz, 0);
	nr = side_nr(&x);
	dstsz = ((size_t)nr + 1) * esz;
	dst = malloc(dstsz);
	CHECK(dst != NULL, "malloc");
	if (!back) {
		while (side_next(&x) != NULL)
			;
		side_push(&x);
	}
	pid = spawn(child_garbage, &x, c, 99 + esz);
	deadline = tu_now_ns() + (tu_under_valgrind() ? 120 : 10) * 1000000000ull;
	while (!sdrv_ring_broken(&x.r) && tu_now_ns() < deadline) {
		uint32_t max = 1 + (uint32_t)(tu_rand(&rng) % (nr + 1));
		int32_t n;

		if (calls == legal_calls)
			__atomic_store_n(&c->hostile, 1, __ATOMIC_RELEASE);
		canary_fill(dst, dstsz);
		switch (calls++ % 4) {
		case 0:
		case 1:
			n = side_take(&x, dst, max);
			CHECK(n == -SDRV_EPROTO || (n >= 0 && (uint32_t)n <= max),
			      "%s: take returned %d for max %u", side_name(&x), n, max);
			if (n > 0) {
				taken += (uint64_t)n;
				CHECK(canary_first_bad(dst + (size_t)n * esz,
						       dstsz - (size_t)n * esz) ==
					  dstsz - (size_t)n * esz,
				      "%s: take of %d wrote past them", side_name(&x), n);
			} else {
				CHECK(canary_first_bad(dst, dstsz) == dstsz,
				      "%s: take of nothing wrote the destination", side_name(&x));
			}
			if (back && n > 0) {
				for (int32_t i = 0; i < n; i++)
					CHECK(side_next(&x) != NULL, "next_rsp");
				side_push(&x);
			} else if (n > 0) {
				while (side_next(&x) != NULL)
					;
				side_push(&x);
			}
			break;
		case 2:
			n = side_final_check(&x);
			CHECK(n == -SDRV_EPROTO || (n >= 0 && (uint32_t)n <= nr),
			      "%s: final_check returned %d", side_name(&x), n);
			break;
		default:
			n = side_final_check_at(&x, tu_now_ns(), &wait);
			CHECK(n == -SDRV_EPROTO || (n >= 0 && (uint32_t)n <= nr),
			      "%s: final_check_at returned %d", side_name(&x), n);
			break;
		}
		CHECK((n == -SDRV_EPROTO) == (sdrv_ring_broken(&x.r) != NULL),
		      "%s: returned %d, broken: %s", side_name(&x), n,
		      sdrv_ring_broken(&x.r) ? sdrv_ring_broken(&x.r) : "no");
	}
	why = sdrv_ring_broken(&x.r);
	CHECK(why != NULL && why[0], "%s: %" PRIu64 " calls against random indices and not broken",
	      side_name(&x), calls);
	CHECK(calls > legal_calls, "%s: broke during the legal flood: %s", side_name(&x), why);
	CHECK(taken > 0, "%s: nothing taken during the legal flood", side_name(&x));
	/* Sticky, while the child goes on writing anything it likes. */
	for (uint64_t i = 0; i < after; i++) {
		canary_fill(dst, dstsz);
		CHECK(side_take(&x, dst, nr) == -SDRV_EPROTO, "%s: take after breaking",
		      side_name(&x));
		CHECK(canary_first_bad(dst, dstsz) == dstsz,
		      "%s: broken ring copied into the destination", side_name(&x));
		CHECK(side_final_check(&x) == -SDRV_EPROTO, "final_check after breaking");
		CHECK(side_final_check_at(&x, tu_now_ns(), &wait) == -SDRV_EPROTO,
		      "final_check_at after breaking");
		CHECK(side_unconsumed(&x) == -SDRV_EPROTO, "unconsumed after breaking");
		CHECK(side_next(&x) == NULL, "slot handed out after breaking");
		CHECK(sdrv_ring_broken(&x.r) == why, "reason changed");
	}
	reap(pid, c);
	printf("ok: %s, esz %zu: legal flood for %" PRIu64 " calls, then random "
	       "indices: broken after %" PRIu64 " calls (%" PRIu64
	       " entries taken), \"%s\"; sticky for %" PRIu64 " more\n",
	       side_name(&x), esz, legal_calls, calls, taken, why, after);
	free(dst);
	tu_shared_free(c, 4096);
	tu_shared_free(mem, bytes);
}

/* ------------------------------- stall ---------------------------------- */

static void child_stall(struct side *x, struct ctl *c, uint64_t seed)
{
	uint32_t v = ld32(x->peer_prod);

	(void)seed;
	__atomic_store_n(&c->ready, 1, __ATOMIC_RELEASE);
	while (!stopping(c)) {
		st32(x->peer_prod, v); /* alive, but never advances */
		__atomic_fetch_add(&c->indices, 1, __ATOMIC_RELAXED);
		sched_yield();
	}
}

static void test_stall(int back)
{
	size_t esz = 112, bytes = SDRV_RING_BYTES(0), dstsz;
	unsigned char *mem = tu_shared_mem(bytes);
	struct ctl *c = tu_shared_mem(4096);
	struct side x;
	unsigned char *dst;
	uint64_t calls = tu_scaled(100000, 2000), t0, dt;
	pid_t pid;

	side_attach(&x, back, mem, bytes, esz, 0xfffffff8u);
	dstsz = (size_t)side_nr(&x) * esz;
	dst = malloc(dstsz);
	CHECK(dst != NULL, "malloc");
	if (!back) {
		for (int i = 0; i < 3; i++)
			CHECK(side_next(&x) != NULL, "next_req");
		side_push(&x);
	}
	pid = spawn(child_stall, &x, c, 0);
	t0 = tu_now_ns();
	for (uint64_t i = 0; i < calls; i++) {
		int32_t n;

		canary_fill(dst, esz);
		n = side_take(&x, dst, side_nr(&x));
		CHECK(n == 0, "%s: stalled peer, take returned %d", side_name(&x), n);
		CHECK(canary_first_bad(dst, esz) == esz, "take of nothing wrote the destination");
		n = side_final_check(&x);
		CHECK(n == 0, "%s: stalled peer, final_check returned %d", side_name(&x), n);
		CHECK(ld32(x.my_event) == x.r.cons + 1, "%s: event index %#x, want %#x",
		      side_name(&x), ld32(x.my_event), x.r.cons + 1);
	}
	dt = tu_now_ns() - t0;
	reap(pid, c);
	CHECK(sdrv_ring_broken(&x.r) == NULL, "stalled peer broke the ring");
	printf("ok: %s: stalled peer: %" PRIu64 " take + final_check pairs returned 0 in %.1f ms "
	       "(%.0f ns each), event armed\n",
	       side_name(&x), calls, (double)dt / 1e6, (double)dt / (double)calls);
	free(dst);
	tu_shared_free(c, 4096);
	tu_shared_free(mem, bytes);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	tu_watchdog(120, "hostile-procs");
	for (int back = 1; back >= 0; back--) {
		test_scribble(back, back ? 112 : 64, 0);
		test_scribble(back, 12, 0);
		test_garbage(back, 12, 0);
		test_garbage(back, 112, 1);
		test_stall(back);
	}
	printf("PASS: hostile-procs\n");
	return TU_PASS;
}
