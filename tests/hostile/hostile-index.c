/* SPDX-License-Identifier: MIT */
/*
 * Hostile peers, in-process and deterministic: the peer is this program
 * writing the shared header and entries between calls of the project's
 * ring, so every expectation can be exact.
 *
 * For both directions (the project's backend against a hostile frontend,
 * the project's frontend against a hostile backend):
 *  - garbage producer indices, random and at/just past the legal bound,
 *    checked against an oracle from any reachable ring state;
 *  - producer indices that move backwards;
 *  - a peer that never advances (0 work, event index armed, no copies);
 *  - a flooding peer (maximal legal indices): work per call <= max;
 *  - responses for ids that are not outstanding, more responses than
 *    requests published;
 *  - after breaking: sticky -SDRV_EPROTO everywhere, nothing copied,
 *    nothing written to shared memory, the destination untouched;
 *  - slots handed out are zeroed (no stale bytes through padding).
 */
#include "hostile.h"

#include <inttypes.h>

struct geom {
	size_t esz;
	unsigned order;
	uint32_t start;
};

/* Odd sizes (12: netif_tx, 112: blkif, 113: unaligned), 1-entry rings,
 * multi-page rings, and start indices around the 32-bit wrap. */
static const struct geom geoms[] = {
    {12, 0, 0},	 {112, 0, 0xfffffff0u},	 {64, 2, 0x7ffffffeu}, {1, 0, 0xffffff00u},
    {113, 1, 5}, {4032, 0, 0xffffffffu}, {16, 1, 0x80000000u},
};
#define NGEOMS (sizeof(geoms) / sizeof(geoms[0]))

static uint64_t rng = 0x5eed0001d00dfeedull;
static unsigned long nchecks;

static uint32_t rnd(uint32_t bound)
{
	return bound ? (uint32_t)(tu_rand(&rng) % bound) : 0;
}

/* What the hostile peer writes into entry `idx`: recognisable bytes. */
static void peer_fill(struct side *x, sdrv_ring_idx_t idx)
{
	unsigned char *e = side_slot(x, idx);
	size_t i;

	for (i = 0; i < side_esz(x); i++)
		e[i] = (unsigned char)(idx * 131u + i * 7u + 1u);
}

struct state {
	sdrv_ring_idx_t start, cons, prod_pvt, pushed;
};

/*
 * Drive our side, with a well-behaved peer, into a random reachable state
 * whose snapshot of the peer's index is exhausted (everything produced has
 * been taken). Returns the state in `st`.
 */
static void prepare(struct side *x, struct state *st, unsigned char *dst)
{
	uint32_t nr = side_nr(x), a, b, got = 0;
	sdrv_ring_idx_t s = st->start;
	int32_t n;

	if (x->back) {
		/* The frontend produced a; we take them all and answer b. */
		a = rnd(nr + 1);
		for (uint32_t i = 0; i < a; i++)
			peer_fill(x, s + i);
		peer_set_prod(x, s + a);
		while (got < a) {
			n = side_take(x, dst, nr);
			CHECK(n > 0, "prepare: take returned %d with %u of %u taken", n, got, a);
			got += (uint32_t)n;
		}
		CHECK(got == a, "prepare: took %u, %u produced", got, a);
		b = rnd(a + 1);
		for (uint32_t i = 0; i < b; i++)
			CHECK(side_next(x) != NULL, "prepare: next_rsp %u of %u", i, b);
		side_push(x);
		st->cons = s + a;
		st->prod_pvt = st->pushed = s + b;
	} else {
		/* We publish p requests; the backend answers q; we take them
		 * and claim u more that we do not publish. */
		uint32_t p = rnd(nr + 1), q, u;

		for (uint32_t i = 0; i < p; i++)
			CHECK(side_next(x) != NULL, "prepare: next_req %u of %u", i, p);
		side_push(x);
		q = rnd(p + 1);
		for (uint32_t i = 0; i < q; i++)
			peer_fill(x, s + i);
		peer_set_prod(x, s + q);
		while (got < q) {
			n = side_take(x, dst, nr);
			CHECK(n > 0, "prepare: take returned %d with %u of %u taken", n, got, q);
			got += (uint32_t)n;
		}
		CHECK(got == q, "prepare: took %u, %u answered", got, q);
		u = rnd(nr - (p - q) + 1);
		for (uint32_t i = 0; i < u; i++)
			CHECK(side_next(x) != NULL, "prepare: unpublished next_req %u of %u", i, u);
		st->cons = s + q;
		st->pushed = s + p;
		st->prod_pvt = s + p + u;
	}
	CHECK(sdrv_ring_broken(&x->r) == NULL, "prepare broke the ring: %s",
	      sdrv_ring_broken(&x->r));
}

/* Whether a peer producer index `v` is legal in state `st`. */
static int legal(const struct side *x, const struct state *st, uint32_t v)
{
	if (x->back) {
		/* At most nr requests past our responses (Xen's
		 * RING_REQUEST_PROD_OVERFLOW), never behind what we consumed. */
		uint32_t d = v - st->prod_pvt;

		return d <= side_nr(x) && d >= st->cons - st->prod_pvt;
	}
	/* Never more responses than requests published, never backwards. */
	return v - st->cons <= st->pushed - st->cons;
}

/*
 * The ring is broken: everything must now fail with -SDRV_EPROTO, the
 * reason must stay the first one, no entry may be copied out even if the
 * peer "repairs" its index, and our side must not write shared memory.
 */
static void check_broken_sticky(struct side *x, unsigned char *dst, size_t dstsz)
{
	const char *why = sdrv_ring_broken(&x->r);
	struct sdrv_ring before;
	unsigned char *shm_before;
	uint64_t wait = 0;
	int32_t n;

	CHECK(why != NULL && why[0] != '\0', "broken ring without a readable reason");
	/* The peer tries to look well-behaved again. */
	peer_set_prod(x, x->r.cons + 1);
	peer_fill(x, x->r.cons);
	shm_before = malloc(x->bytes);
	CHECK(shm_before != NULL, "malloc");
	memcpy(shm_before, x->mem, x->bytes);
	before = x->r;

	canary_fill(dst, dstsz);
	for (int round = 0; round < 3; round++) {
		n = side_take(x, dst, side_nr(x));
		CHECK(n == -SDRV_EPROTO, "%s: take on a broken ring returned %d", side_name(x), n);
		n = side_final_check(x);
		CHECK(n == -SDRV_EPROTO, "%s: final_check on a broken ring returned %d",
		      side_name(x), n);
		n = side_final_check_at(x, 1000, &wait);
		CHECK(n == -SDRV_EPROTO, "%s: final_check_at on a broken ring returned %d",
		      side_name(x), n);
		n = side_unconsumed(x);
		CHECK(n == -SDRV_EPROTO, "%s: unconsumed on a broken ring returned %d",
		      side_name(x), n);
		CHECK(side_next(x) == NULL, "%s: a broken ring handed out a slot", side_name(x));
		sdrv_ring_set_broken(&x->r, "a later reason");
		CHECK(sdrv_ring_broken(&x->r) == why, "%s: reason changed from \"%s\" to \"%s\"",
		      side_name(x), why, sdrv_ring_broken(&x->r));
	}
	CHECK(canary_first_bad(dst, dstsz) == dstsz,
	      "%s: a broken ring wrote byte %zu of the destination", side_name(x),
	      canary_first_bad(dst, dstsz));
	CHECK(memcmp(&before, &x->r, sizeof(before)) == 0,
	      "%s: the ring object changed after it broke", side_name(x));
	CHECK(memcmp(shm_before, x->mem, x->bytes) == 0,
	      "%s: a broken ring still wrote shared memory", side_name(x));
	free(shm_before);
	nchecks++;
}

/* Check a successful take of `n` entries starting at `cons0`. */
static void check_copies(struct side *x, sdrv_ring_idx_t cons0, int32_t n, uint32_t max,
			 const unsigned char *dst, size_t dstsz)
{
	size_t esz = side_esz(x);

	CHECK(n >= 0 && (uint32_t)n <= max && (uint32_t)n <= side_nr(x),
	      "%s: take returned %d for max %u, ring of %u", side_name(x), n, max, side_nr(x));
	for (int32_t i = 0; i < n; i++)
		CHECK(memcmp(dst + (size_t)i * esz, side_slot(x, cons0 + (uint32_t)i), esz) == 0,
		      "%s: copy %d is not entry %#x", side_name(x), i, cons0 + (uint32_t)i);
	CHECK(canary_first_bad(dst + (size_t)n * esz, dstsz - (size_t)n * esz) ==
		  dstsz - (size_t)n * esz,
	      "%s: take of %d entries wrote past them in the destination", side_name(x), n);
}

/* Allocate a destination for `nr` + 3 entries (take may be asked for more
 * than the ring holds; it must not copy more). */
static unsigned char *dst_alloc(size_t nr, size_t esz, size_t *sz)
{
	unsigned char *d;

	*sz = (nr + 3) * esz;
	d = malloc(*sz);
	CHECK(d != NULL, "malloc");
	return d;
}

/* (a) + (b): garbage, bound and backwards producer indices vs an oracle. */
static void test_garbage_indices(int back)
{
	unsigned long accepted = 0, rejected = 0, at_bound = 0, past_bound = 0;

	for (size_t g = 0; g < NGEOMS; g++) {
		size_t bytes = SDRV_RING_BYTES(geoms[g].order), dstsz;
		unsigned char *mem = tu_shared_mem(bytes);
		uint32_t nr = sdrv_ring_size_for(bytes, geoms[g].esz);
		unsigned char *dst = dst_alloc(nr, geoms[g].esz, &dstsz);
		uint64_t iters = tu_scaled(nr > 256 ? 300 : 1500, 40);

		for (uint64_t it = 0; it < iters; it++) {
			struct side x;
			struct state st = {.start = geoms[g].start};
			uint32_t v, max, limit, base;
			int32_t n;
			int ok;
			const char *why;

			memset(mem, 0x5a, bytes);
			side_attach(&x, back, mem, bytes, geoms[g].esz, st.start);
			prepare(&x, &st, dst);
			base = back ? st.prod_pvt : st.cons;
			limit = back ? nr : st.pushed - st.cons;
			switch (it % 12) {
			case 0:
				v = base + limit;
				break; /* at the bound */
			case 1:
				v = base + limit + 1;
				break; /* one past it */
			case 2:
				v = base + limit + nr + 1;
				break; /* nr + 1 past it */
			case 3:
				v = st.cons - 1;
				break; /* backwards */
			case 4:
				v = st.cons - 1 - rnd(nr);
				break; /* further back */
			case 5:
				v = st.prod_pvt + rnd(2 * nr + 2);
				break; /* near */
			case 6:
				v = st.cons + 0x80000000u;
				break;
			case 7:
				v = st.cons + 0xffffffffu;
				break;
			case 8:
				v = rnd(2) ? 0 : 0xffffffffu;
				break;
			case 9:
				v = st.cons;
				break; /* nothing new */
			default:
				v = (uint32_t)tu_rand(&rng);
				break; /* garbage */
			}
			ok = legal(&x, &st, v);
			if (it % 12 == 0) {
				CHECK(ok, "oracle: the bound must be legal");
				at_bound++;
			}
			if (it % 12 == 1 || it % 12 == 2) {
				CHECK(!ok, "oracle: past the bound must be illegal");
				past_bound++;
			}
			max = 1 + rnd(nr + 2);
			peer_set_prod(&x, v);
			canary_fill(dst, dstsz);
			n = side_take(&x, dst, max);
			why = sdrv_ring_broken(&x.r);
			if (ok) {
				uint32_t want = v - st.cons < max ? v - st.cons : max;

				CHECK(n >= 0 && (uint32_t)n == want && !why,
				      "%s esz %zu: legal index %#x (cons %#x, prod_pvt %#x, "
				      "pushed %#x) gave %d, want %u (broken: %s)",
				      side_name(&x), geoms[g].esz, v, st.cons, st.prod_pvt,
				      st.pushed, n, want, why ? why : "no");
				check_copies(&x, st.cons, n, max, dst, dstsz);
				accepted++;
			} else {
				CHECK(n == -SDRV_EPROTO && why,
				      "%s esz %zu: illegal index %#x (cons %#x, prod_pvt %#x, "
				      "pushed %#x, ring %u) gave %d (broken: %s)",
				      side_name(&x), geoms[g].esz, v, st.cons, st.prod_pvt,
				      st.pushed, nr, n, why ? why : "no");
				CHECK(canary_first_bad(dst, dstsz) == dstsz,
				      "%s: take that broke the ring wrote the destination",
				      side_name(&x));
				if (back && v - st.prod_pvt <= nr)
					CHECK(strstr(why, "backwards") != NULL,
					      "backend: index behind cons should say so: \"%s\"",
					      why);
				check_broken_sticky(&x, dst, dstsz);
				rejected++;
			}
		}
		free(dst);
		tu_shared_free(mem, bytes);
	}
	CHECK(accepted > 0 && rejected > 0 && at_bound > 0 && past_bound > 0,
	      "coverage: %lu accepted, %lu rejected", accepted, rejected);
	printf("ok: %s: garbage indices: %lu accepted (%lu at the bound), %lu rejected (%lu just "
	       "past it)\n",
	       back ? "backend" : "frontend", accepted, at_bound, rejected, past_bound);
}

/*
 * (a)/(b) through the other entry points: the first look at a bad index
 * may be final_check, final_check_at or unconsumed instead of take.
 */
static void test_bad_index_every_entry_point(int back)
{
	const struct geom *gm = &geoms[1];
	size_t bytes = SDRV_RING_BYTES(gm->order), dstsz;
	unsigned char *mem = tu_shared_mem(bytes);
	uint32_t nr = sdrv_ring_size_for(bytes, gm->esz);
	unsigned char *dst = dst_alloc(nr, gm->esz, &dstsz);

	for (int ep = 0; ep < 3; ep++) {
		for (int kind = 0; kind < 2; kind++) {
			struct side x;
			struct state st = {.start = gm->start};
			uint64_t wait = 0;
			int32_t n;

			side_attach(&x, back, mem, bytes, gm->esz, st.start);
			prepare(&x, &st, dst);
			/* kind 0: one past the bound; kind 1: backwards */
			peer_set_prod(&x, kind == 0 ? (back ? st.prod_pvt + nr + 1 : st.pushed + 1)
						    : st.cons - 1);
			if (ep == 0)
				n = side_final_check(&x);
			else if (ep == 1)
				n = side_final_check_at(&x, 5, &wait);
			else
				n = side_unconsumed(&x);
			CHECK(n == -SDRV_EPROTO && sdrv_ring_broken(&x.r),
			      "%s: entry point %d, %s index: returned %d", side_name(&x), ep,
			      kind ? "backwards" : "past-bound", n);
			check_broken_sticky(&x, dst, dstsz);
		}
	}
	free(dst);
	tu_shared_free(mem, bytes);
	printf("ok: %s: bad indices break the ring from every entry point\n",
	       back ? "backend" : "frontend");
}

/*
 * (b) backwards, but not behind what was consumed: the entries between are
 * not handed out again, counts stay bounded; then behind cons: broken.
 */
static void test_backwards_within_snapshot(int back)
{
	size_t esz = 16, bytes = SDRV_RING_BYTES(0), dstsz;
	unsigned char *mem = tu_shared_mem(bytes);
	uint32_t nr = sdrv_ring_size_for(bytes, esz);
	unsigned char *dst = dst_alloc(nr, esz, &dstsz);
	struct side x;
	uint32_t total = 0;
	int32_t n;
	uint64_t wait;

	side_attach(&x, back, mem, bytes, esz, 0);
	if (!back) {
		for (uint32_t i = 0; i < 20; i++)
			CHECK(side_next(&x) != NULL, "next_req");
		side_push(&x);
	}
	for (uint32_t i = 0; i < 20; i++)
		peer_fill(&x, i);
	peer_set_prod(&x, 20);
	n = side_take(&x, dst, 5);
	CHECK(n == 5, "%s: took %d of 20, max 5", side_name(&x), n);
	total += 5;
	/* 20 -> 12: still ahead of cons (5). */
	peer_set_prod(&x, 12);
	n = side_final_check_at(&x, 1, &wait);
	CHECK(n >= 0 && n <= 15, "%s: final_check_at after a partial retreat: %d", side_name(&x),
	      n);
	for (int k = 0; k < 100; k++) {
		sdrv_ring_idx_t cons0 = x.r.cons;

		canary_fill(dst, dstsz);
		n = side_take(&x, dst, nr);
		if (n <= 0)
			break;
		check_copies(&x, cons0, n, nr, dst, dstsz);
		total += (uint32_t)n;
	}
	CHECK(total <= 20, "%s: %u entries handed out, only 20 ever produced", side_name(&x),
	      total);
	CHECK(sdrv_ring_broken(&x.r) == NULL, "%s: broke on a retreat that stayed ahead: %s",
	      side_name(&x), sdrv_ring_broken(&x.r));
	/* Now behind cons. */
	peer_set_prod(&x, total - 1);
	n = side_take(&x, dst, nr);
	CHECK(n == -SDRV_EPROTO, "%s: index behind cons: take returned %d", side_name(&x), n);
	printf("ok: %s: retreat within the snapshot: %u handed out, then behind cons: \"%s\"\n",
	       back ? "backend" : "frontend", total, sdrv_ring_broken(&x.r));
	check_broken_sticky(&x, dst, dstsz);
	free(dst);
	tu_shared_free(mem, bytes);
}

/* (d) a peer that never advances: no work, event armed, nothing copied. */
static void test_never_advances(int back)
{
	for (size_t g = 0; g < NGEOMS; g++) {
		size_t bytes = SDRV_RING_BYTES(geoms[g].order), dstsz;
		unsigned char *mem = tu_shared_mem(bytes);
		uint32_t nr = sdrv_ring_size_for(bytes, geoms[g].esz);
		unsigned char *dst = dst_alloc(nr, geoms[g].esz, &dstsz);
		struct side x;
		struct state st = {.start = geoms[g].start};
		uint64_t calls = tu_scaled(2000, 50), wait;
		uint32_t batch, want, outstanding;
		int32_t n;
		uint32_t v;

		side_attach(&x, back, mem, bytes, geoms[g].esz, st.start);
		prepare(&x, &st, dst);
		v = peer_read(x.peer_prod);
		for (uint64_t i = 0; i < calls; i++) {
			canary_fill(dst, dstsz);
			n = side_take(&x, dst, nr);
			CHECK(n == 0, "%s: idle peer, take returned %d", side_name(&x), n);
			CHECK(canary_first_bad(dst, dstsz) == dstsz,
			      "%s: take of nothing wrote the destination", side_name(&x));
			/* The peer scribbles our event index; the final check must
			 * re-arm it at cons + 1. */
			__atomic_store_n(x.my_event, (uint32_t)tu_rand(&rng), __ATOMIC_RELAXED);
			n = side_final_check(&x);
			CHECK(n == 0, "%s: idle peer, final_check returned %d", side_name(&x), n);
			CHECK(peer_read(x.my_event) == st.cons + 1,
			      "%s: final_check armed %#x, want cons + 1 = %#x", side_name(&x),
			      peer_read(x.my_event), st.cons + 1);
			CHECK(side_unconsumed(&x) == 0, "%s: unconsumed", side_name(&x));
			peer_set_prod(&x, v); /* rewrites the same value: still no work */
		}
		/* Batched final check. */
		batch = nr < 4 ? nr : 4;
		CHECK(sdrv_ring_set_batch(&x.r, batch, 1000000) == 0, "set_batch");
		outstanding = back ? 0 : st.pushed - st.cons;
		want =
		    back ? batch : (batch > outstanding ? (outstanding ? outstanding : 1) : batch);
		n = side_final_check_at(&x, 5000000, &wait);
		CHECK(n == 0, "%s: idle peer, final_check_at returned %d", side_name(&x), n);
		CHECK(peer_read(x.my_event) == st.cons + want,
		      "%s: batch %u, outstanding %u: armed %#x, want %#x", side_name(&x), batch,
		      outstanding, peer_read(x.my_event), st.cons + want);
		CHECK(wait == SDRV_WAIT_FOREVER || wait <= 1000000,
		      "%s: may sleep %" PRIu64 " ns, bound is 1 ms", side_name(&x), wait);
		CHECK(sdrv_ring_broken(&x.r) == NULL, "idle peer broke the ring");
		free(dst);
		tu_shared_free(mem, bytes);
	}
	printf("ok: %s: a peer that never advances gets 0 work and an armed event\n",
	       back ? "backend" : "frontend");
}

/*
 * (e) a flooding peer keeps its index at the largest legal value and
 * rewrites entries; each take copies at most `max`, never past the ring.
 */
static void test_flood(int back)
{
	for (size_t g = 0; g < NGEOMS; g++) {
		size_t bytes = SDRV_RING_BYTES(geoms[g].order), dstsz;
		unsigned char *mem = tu_shared_mem(bytes);
		uint32_t nr = sdrv_ring_size_for(bytes, geoms[g].esz);
		unsigned char *dst = dst_alloc(nr, geoms[g].esz, &dstsz);
		struct side x;
		uint64_t rounds = tu_scaled(nr > 256 ? 2000 : 6000, 100), total = 0;
		sdrv_ring_idx_t s = geoms[g].start;

		side_attach(&x, back, mem, bytes, geoms[g].esz, s);
		for (uint64_t i = 0; i < rounds; i++) {
			uint32_t max = 1 + rnd(nr + 2), v;
			sdrv_ring_idx_t cons0 = x.r.cons;
			int32_t n;

			if (!back) {
				/* Keep the ring full of requests. */
				while (side_next(&x))
					;
				side_push(&x);
				v = peer_read(x.my_prod);
			} else {
				v = peer_read(x.my_prod) + nr;
			}
			for (uint32_t k = cons0; k != v; k++)
				peer_fill(&x, k);
			peer_set_prod(&x, v);
			canary_fill(dst, dstsz);
			n = side_take(&x, dst, max);
			CHECK(n > 0, "%s: flood round %" PRIu64 ": take returned %d (%s)",
			      side_name(&x), i, n,
			      sdrv_ring_broken(&x.r) ? sdrv_ring_broken(&x.r) : "not broken");
			check_copies(&x, cons0, n, max, dst, dstsz);
			total += (uint64_t)n;
			if (back) {
				for (int32_t k = 0; k < n; k++)
					CHECK(side_next(&x) != NULL, "next_rsp");
				side_push(&x);
			}
		}
		CHECK(sdrv_ring_broken(&x.r) == NULL, "a legal flood broke the ring: %s",
		      sdrv_ring_broken(&x.r));
		/* Then maximal, illegal indices: what is left of the validated
		 * snapshot may still be handed out (at most the ring), then the
		 * next look at the index breaks the ring. */
		peer_set_prod(&x, x.r.cons + 0xffffffffu);
		{
			int32_t n = 0;
			uint32_t calls = 0, got = 0;

			while (calls++ <= nr + 1) {
				canary_fill(dst, dstsz);
				n = side_take(&x, dst, nr);
				if (n < 0)
					break;
				got += (uint32_t)n;
			}
			CHECK(n == -SDRV_EPROTO && got <= nr,
			      "%s: maximal index not rejected (%d after %u calls, %u entries)",
			      side_name(&x), n, calls, got);
		}
		check_broken_sticky(&x, dst, dstsz);
		CHECK(total >= rounds, "flood: %" PRIu64 " entries in %" PRIu64 " rounds", total,
		      rounds);
		free(dst);
		tu_shared_free(mem, bytes);
	}
	printf("ok: %s: a flooding peer gets at most max per call\n",
	       back ? "backend" : "frontend");
}

/* The layer above a frontend: validate each response's id (the first 8
 * bytes of the private copy) and break the ring on a bogus one. */
static int32_t front_take_checked(struct side *x, struct sdrv_ring_ids *ids, unsigned char *dst,
				  uint32_t max)
{
	int32_t n = side_take(x, dst, max);

	for (int32_t i = 0; i < n; i++) {
		uint64_t id;

		memcpy(&id, dst + (size_t)i * side_esz(x), sizeof(id));
		if (sdrv_ring_ids_put(ids, id) != 0) {
			sdrv_ring_set_broken(&x->r, "response for a request id that is not "
						    "outstanding");
			return -SDRV_EPROTO;
		}
	}
	return n;
}

/* (e) a backend answering ids that are not outstanding, or answering more
 * than was asked. */
static void test_bogus_responses(void)
{
	static const char *const what[] = {
	    "a duplicate id",
	    "an id never issued",
	    "id == ring size",
	    "id 0xffffffff",
	    "id 2^32 + a live id",
	    "more responses than requests",
	    "responses for requests claimed but not published",
	};
	const size_t esz = 112, bytes = SDRV_RING_BYTES(0);
	uint32_t nr = sdrv_ring_size_for(bytes, esz);
	size_t dstsz;
	unsigned char *mem = tu_shared_mem(bytes);
	unsigned char *dst = dst_alloc(nr, esz, &dstsz);
	uint32_t *links = calloc(nr, sizeof(*links));

	CHECK(links != NULL, "calloc");
	for (size_t c = 0; c < sizeof(what) / sizeof(what[0]); c++) {
		struct side x;
		struct sdrv_ring_ids ids;
		uint32_t issued[8], k = 8;
		uint64_t bogus = 0;
		int32_t n;
		const char *why;

		memset(mem, 0, bytes);
		side_attach(&x, 0, mem, bytes, esz, 0xfffffffcu);
		CHECK(sdrv_ring_ids_init(&ids, links, nr) == 0, "ids_init");
		for (uint32_t i = 0; i < k; i++) {
			unsigned char *req = side_next(&x);
			uint64_t id;

			CHECK(req != NULL, "next_req");
			CHECK(sdrv_ring_ids_get(&ids, &issued[i]) == 0, "ids_get");
			id = issued[i];
			memcpy(req, &id, sizeof(id));
		}
		side_push(&x);
		if (c == 6) {
			CHECK(side_next(&x) != NULL && side_next(&x) != NULL, "next_req");
		}
		/* The backend answers the first three correctly... */
		for (uint32_t i = 0; i < 3; i++) {
			uint64_t id = issued[i];
			memcpy(side_slot(&x, x.r.cons + i), &id, sizeof(id));
		}
		peer_set_prod(&x, x.r.cons + 3);
		n = front_take_checked(&x, &ids, dst, nr);
		CHECK(n == 3 && !sdrv_ring_broken(&x.r), "three good responses: %d", n);
		/* ...then one bogus response among good ones. */
		switch (c) {
		case 0:
			bogus = issued[1];
			break;
		case 1:
			bogus = nr - 1;
			break;
		case 2:
			bogus = nr;
			break;
		case 3:
			bogus = 0xffffffffu;
			break;
		case 4:
			bogus = (1ull << 32) + issued[4];
			break;
		default:
			bogus = issued[4];
			break;
		}
		for (uint32_t i = 3; i < 8; i++) {
			uint64_t id = i == 4 ? bogus : issued[i];
			if (c >= 5)
				id = issued[i];
			memcpy(side_slot(&x, x.r.cons - 3 + i), &id, sizeof(id));
		}
		if (c == 5)
			peer_set_prod(&x, x.r.pushed + 1); /* 9 responses to 8 requests */
		else if (c == 6)
			peer_set_prod(&x, x.r.prod_pvt); /* 10 responses, 8 published */
		else
			peer_set_prod(&x, x.r.cons + 5);
		canary_fill(dst, dstsz);
		n = front_take_checked(&x, &ids, dst, nr);
		why = sdrv_ring_broken(&x.r);
		CHECK(n == -SDRV_EPROTO && why, "frontend: %s was accepted (take returned %d)",
		      what[c], n);
		if (c >= 5)
			CHECK(canary_first_bad(dst, dstsz) == dstsz,
			      "frontend: %s: entries were copied out", what[c]);
		printf("ok: frontend: %s -> \"%s\"\n", what[c], why);
		check_broken_sticky(&x, dst, dstsz);
	}
	free(links);
	free(dst);
	tu_shared_free(mem, bytes);
}

/*
 * Slots handed out are zeroed: stale bytes in the ring (from the peer or
 * from earlier traffic) never reach the peer through padding the caller
 * does not write.
 */
struct hz_req {
	uint8_t op;
	uint8_t pad[111];
};
struct hz_rsp {
	uint64_t id;
	int16_t status; /* 6 bytes of tail padding follow */
};
SDRV_RING_DEFINE(hz, struct hz_req, struct hz_rsp);

/*
 * Response slots: zeroed per slot (XSA-216), only as many as requests
 * consumed, exactly where the index says; bytes past the entries untouched.
 */
static void check_response_slots(const struct geom *gm)
{
	size_t bytes = SDRV_RING_BYTES(gm->order), dstsz, esz = gm->esz;
	unsigned char *mem = tu_shared_mem(bytes);
	uint32_t nr = sdrv_ring_size_for(bytes, esz);
	unsigned char *dst = dst_alloc(nr, esz, &dstsz);
	struct side x;
	sdrv_ring_idx_t s = gm->start;

	side_attach(&x, 1, mem, bytes, esz, s);
	/* Stale bytes everywhere: earlier traffic, or a scribbling peer. */
	memset(mem + SDRV_RING_HDR_SIZE, 0xa5, bytes - SDRV_RING_HDR_SIZE);
	peer_set_prod(&x, s + nr);
	CHECK(side_take(&x, dst, nr) == (int32_t)nr, "take");
	for (uint32_t i = 0; i < nr; i++) {
		sdrv_ring_idx_t at = x.r.prod_pvt;
		unsigned char *slot = side_next(&x);

		CHECK(slot == side_slot(&x, at), "backend: slot %u at %p, want %p", i, (void *)slot,
		      (void *)side_slot(&x, at));
		for (size_t b = 0; b < esz; b++)
			CHECK(slot[b] == 0, "backend esz %zu: byte %zu of response slot %u is %#x",
			      esz, b, i, slot[b]);
		slot[0] = 1; /* the caller writes only its first byte */
	}
	CHECK(side_next(&x) == NULL, "backend: response slot handed out past the requests taken");
	side_push(&x);
	for (uint32_t i = 0; i < nr; i++) {
		unsigned char *e = side_slot(&x, s + i);
		CHECK(e[0] == 1, "slot lost its byte");
		for (size_t b = 1; b < esz; b++)
			CHECK(e[b] == 0, "backend: stale byte %zu in published response %u", b, i);
	}
	for (size_t b = SDRV_RING_HDR_SIZE + (size_t)nr * esz; b < bytes; b++)
		CHECK(mem[b] == 0xa5, "backend esz %zu: byte %zu past the entries written", esz, b);
	free(dst);
	tu_shared_free(mem, bytes);
}

/*
 * Request slots: front_init wipes everything after the header, so no stale
 * frontend memory reaches the backend (XSA-403), and every slot next_req
 * hands out is zeroed again, whatever the backend wrote into it last; next_req
 * writes nothing else.
 */
static void check_request_slots(const struct geom *gm)
{
	size_t bytes = SDRV_RING_BYTES(gm->order), esz = gm->esz;
	unsigned char *mem = tu_shared_mem(bytes), *before = malloc(bytes);
	uint32_t nr = sdrv_ring_size_for(bytes, esz);
	struct side x;

	CHECK(before != NULL, "malloc");
	/* Recycled frontend memory: stale bytes everywhere. */
	memset(mem, 0xa5, bytes);
	side_attach(&x, 0, mem, bytes, esz, 0);
	for (size_t b = SDRV_RING_HDR_SIZE; b < bytes; b++)
		CHECK(mem[b] == 0, "frontend esz %zu: front_init left stale byte %zu (%#x)", esz, b,
		      mem[b]);
	for (uint32_t round = 0; round < 3; round++) {
		for (uint32_t i = 0; i < nr; i++) {
			sdrv_ring_idx_t at = x.r.prod_pvt;
			unsigned char *slot;

			memcpy(before, mem, bytes);
			slot = side_next(&x);
			CHECK(slot == side_slot(&x, at), "frontend: slot %u at %p, want %p", i,
			      (void *)slot, (void *)side_slot(&x, at));
			{
				size_t off = (size_t)(slot - mem);

				CHECK(memcmp(before, mem, off) == 0 &&
					  memcmp(before + off + esz, mem + off + esz,
						 bytes - off - esz) == 0,
				      "frontend: next_req wrote shared memory outside its slot");
			}
			for (size_t b = 0; b < esz; b++)
				CHECK(slot[b] == 0,
				      "frontend esz %zu: byte %zu of slot %u (round %u) is %#x",
				      esz, b, i, round, slot[b]);
			slot[0] = (unsigned char)(round + 1);
		}
		CHECK(side_next(&x) == NULL, "frontend: request slot handed out on a full ring");
		side_push(&x);
		/* The backend answers everything, writing its own bytes. */
		for (uint32_t i = 0; i < nr; i++)
			peer_fill(&x, x.r.cons + i);
		peer_set_prod(&x, x.r.pushed);
		while (side_take(&x, before, 1) == 1)
			;
		CHECK(sdrv_ring_broken(&x.r) == NULL, "broken: %s", sdrv_ring_broken(&x.r));
	}
	free(before);
	tu_shared_free(mem, bytes);
}

static void test_slots_zeroed(void)
{
	for (size_t g = 0; g < NGEOMS; g++) {
		check_response_slots(&geoms[g]);
		check_request_slots(&geoms[g]);
	}

	/* Typed API: the whole union entry is zeroed, not just sizeof(rsp). */
	{
		size_t bytes = SDRV_RING_BYTES(0);
		unsigned char *mem = tu_shared_mem(bytes);
		struct hz_back b;
		struct hz_req reqs[40];
		struct hz_rsp rsps[40];
		struct hz_front f;
		uint32_t nr = hz_ring_size(bytes);
		int32_t n;

		CHECK(nr == 32, "blkif-like ring of one page has 32 entries, got %u", nr);
		memset(mem, 0xa5, bytes); /* recycled pages */
		CHECK(hz_front_init(&f, mem, bytes) == 0, "hz_front_init");
		CHECK(hz_back_attach(&b, mem, bytes, 0) == 0, "hz_back_attach");
		for (int i = 0; i < 5; i++) {
			struct hz_req *q = hz_front_next_req(&f);
			CHECK(q != NULL, "hz_front_next_req");
			for (size_t k = 0; k < sizeof(*q); k++)
				CHECK(((unsigned char *)q)[k] == 0, "typed request byte %zu stale",
				      k);
			q->op = (uint8_t)(i + 1);
		}
		hz_front_push(&f);
		canary_fill(reqs, sizeof(reqs));
		n = hz_back_take_reqs(&b, reqs, 40);
		CHECK(n == 5, "typed take_reqs: %d", n);
		CHECK(canary_first_bad(&reqs[5], sizeof(reqs) - 5 * sizeof(reqs[0])) ==
			  sizeof(reqs) - 5 * sizeof(reqs[0]),
		      "typed take wrote past its entries");
		memset(mem + SDRV_RING_HDR_SIZE, 0xa5, bytes - SDRV_RING_HDR_SIZE);
		for (int i = 0; i < 5; i++) {
			struct hz_rsp *p = hz_back_next_rsp(&b);
			unsigned char *slot = (unsigned char *)p;
			CHECK(p != NULL, "hz_back_next_rsp");
			for (size_t k = 0; k < sizeof(union hz_entry); k++)
				CHECK(slot[k] == 0, "typed response: byte %zu of the entry stale",
				      k);
			p->id = (uint64_t)reqs[i].op;
			p->status = -1;
		}
		CHECK(hz_back_next_rsp(&b) == NULL, "response slot beyond requests consumed");
		hz_back_push(&b);
		for (int i = 0; i < 5; i++) {
			unsigned char *e =
			    mem + SDRV_RING_HDR_SIZE + (size_t)i * sizeof(union hz_entry);
			for (size_t k = 10; k < sizeof(union hz_entry); k++)
				CHECK(e[k] == 0, "published response %d leaks padding byte %zu", i,
				      k);
		}
		canary_fill(rsps, sizeof(rsps));
		n = hz_front_take_rsps(&f, rsps, 40);
		CHECK(n == 5 && rsps[4].id == 5 && rsps[4].status == -1, "typed take_rsps: %d", n);
		CHECK(canary_first_bad(&rsps[5], sizeof(rsps) - 5 * sizeof(rsps[0])) ==
			  sizeof(rsps) - 5 * sizeof(rsps[0]),
		      "typed take wrote past its entries");
		tu_shared_free(mem, bytes);
	}
	printf("ok: request and response slots are handed out zeroed; front_init wipes the ring\n");
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	tu_watchdog(120, "hostile-index");
	for (int back = 1; back >= 0; back--) {
		test_garbage_indices(back);
		test_bad_index_every_entry_point(back);
		test_backwards_within_snapshot(back);
		test_never_advances(back);
		test_flood(back);
	}
	test_bogus_responses();
	test_slots_zeroed();
	printf("PASS: hostile-index (%lu broken rings checked for stickiness)\n", nchecks);
	return TU_PASS;
}
