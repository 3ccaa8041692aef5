/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the ring core in one process: both ends on one buffer, so
 * every step is deterministic. Cross-process behaviour, Xen's own macros and
 * hostile peers have their own suites (tests/interop, tests/hostile).
 */
#define _GNU_SOURCE
#include <check.h>
#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <splitdrv/ring.h>

struct msg_req {
	uint64_t id;
	uint32_t seq;
	uint8_t op;
	/* 3 bytes of padding the producer never writes */
};

struct msg_rsp {
	uint64_t id;
	int16_t status;
	/* 6 bytes of padding */
};

SDRV_RING_DEFINE(msg, struct msg_req, struct msg_rsp);

#define PAGE SDRV_PAGE_SIZE
#define ESZ  64u

static void *page_new(size_t bytes, int fill)
{
	void *p = aligned_alloc(PAGE, bytes);
	ck_assert_ptr_nonnull(p);
	memset(p, fill, bytes);
	return p;
}

/* A front and a back end on one fresh 1-page ring with 64-byte entries. */
struct pair {
	void *mem;
	struct sdrv_ring f, b;
};

static void pair_init(struct pair *p, size_t bytes, size_t esz)
{
	p->mem = page_new(bytes, 0xAA);
	ck_assert_int_eq(sdrv_ring_front_init(&p->f, p->mem, bytes, esz), 0);
	ck_assert_int_eq(sdrv_ring_back_attach(&p->b, p->mem, bytes, esz, 0), 0);
}

/* Produce `n` requests, each tagged with its sequence number. */
static void produce(struct sdrv_ring *f, uint32_t n, uint32_t *seq)
{
	for (uint32_t i = 0; i < n; i++) {
		uint32_t *slot = sdrv_ring_front_next_req(f);
		ck_assert_ptr_nonnull(slot);
		slot[0] = (*seq)++;
	}
}

/* ------------------------------ layout -------------------------------- */

START_TEST(header_layout_is_xens)
{
	ck_assert_uint_eq(sizeof(struct sdrv_sring), 64);
	ck_assert_uint_eq(offsetof(struct sdrv_sring, req_prod), 0);
	ck_assert_uint_eq(offsetof(struct sdrv_sring, req_event), 4);
	ck_assert_uint_eq(offsetof(struct sdrv_sring, rsp_prod), 8);
	ck_assert_uint_eq(offsetof(struct sdrv_sring, rsp_event), 12);
	ck_assert_uint_eq(offsetof(struct sdrv_sring, pvt), 16);
	ck_assert_uint_eq(offsetof(struct sdrv_sring, pad), 20);
}
END_TEST

START_TEST(size_for_matches_xen_rounding)
{
	static const struct {
		size_t bytes, esz;
		uint32_t n;
	} t[] = {
	    {4096, 112, 32},					   /* blkif: 36 fit, rounded down */
	    {8192, 112, 64},   {65536, 112, 512}, {4096, 12, 256}, /* netif tx */
	    {65536, 12, 4096}, {4096, 8, 256},			   /* netif rx */
	    {4096, 16, 128},					   /* netif ctrl */
	    {4096, 4, 512},    {4096, 64, 32},	  {4096 << 8, 64, 8192},
	    {128, 64, 1},      {127, 64, 0},	  {64, 1, 0},
	    {63, 1, 0},	       {4096, 0, 0},	  {4096, 4033, 0},
	    {4096, 4032, 1},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ck_assert_msg(sdrv_ring_size_for(t[i].bytes, t[i].esz) == t[i].n,
			      "size_for(%zu, %zu) = %u, want %u", t[i].bytes, t[i].esz,
			      sdrv_ring_size_for(t[i].bytes, t[i].esz), t[i].n);
	/* Every order: the largest power of two that fits. */
	for (unsigned o = 0; o <= SDRV_RING_MAX_ORDER; o++) {
		uint32_t n = sdrv_ring_size_for(SDRV_RING_BYTES(o), ESZ);
		ck_assert_uint_eq(n & (n - 1), 0);
		ck_assert_uint_le(SDRV_RING_HDR_SIZE + (size_t)n * ESZ, SDRV_RING_BYTES(o));
		ck_assert_uint_gt(SDRV_RING_HDR_SIZE + (size_t)n * 2 * ESZ, SDRV_RING_BYTES(o));
	}
}
END_TEST

START_TEST(front_init_writes_xen_initial_header)
{
	void *mem = page_new(PAGE, 0xAA);
	struct sdrv_ring f;
	struct sdrv_sring *s = mem;
	unsigned char *b = mem;

	ck_assert_int_eq(sdrv_ring_front_init(&f, mem, PAGE, ESZ), 0);
	ck_assert_uint_eq(s->req_prod, 0);
	ck_assert_uint_eq(s->rsp_prod, 0);
	ck_assert_uint_eq(s->req_event, 1);
	ck_assert_uint_eq(s->rsp_event, 1);
	for (int i = 16; i < 64; i++)
		ck_assert_uint_eq(b[i], 0);
	/* Entries are zeroed too: stale page contents never reach the peer. */
	for (size_t i = 64; i < PAGE; i++)
		ck_assert_uint_eq(b[i], 0);
	ck_assert_uint_eq(sdrv_ring_nr_ents(&f), 32);
	ck_assert_uint_eq(sdrv_ring_front_free(&f), 32);
	free(mem);
}
END_TEST

START_TEST(back_attach_writes_nothing)
{
	void *mem = page_new(PAGE, 0x5C);
	void *copy = page_new(PAGE, 0x5C);
	struct sdrv_ring b;

	ck_assert_int_eq(sdrv_ring_back_attach(&b, mem, PAGE, ESZ, 0), 0);
	ck_assert_int_eq(memcmp(mem, copy, PAGE), 0);
	ck_assert_int_eq(sdrv_ring_front_attach(&b, mem, PAGE, ESZ, 7), 0);
	ck_assert_int_eq(memcmp(mem, copy, PAGE), 0);
	free(mem);
	free(copy);
}
END_TEST

START_TEST(attach_rejects_bad_arguments)
{
	void *mem = page_new(2 * PAGE, 0);
	struct sdrv_ring r;

	ck_assert_int_eq(sdrv_ring_front_init(NULL, mem, PAGE, ESZ), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_ring_front_init(&r, NULL, PAGE, ESZ), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_ring_front_init(&r, (char *)mem + 4, PAGE, ESZ), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_ring_front_init(&r, mem, 64, ESZ), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_ring_front_init(&r, mem, PAGE, 0), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_ring_back_attach(&r, mem, PAGE, PAGE, 0), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_ring_front_attach(&r, mem, 100, ESZ, 0), -SDRV_EINVAL);
	/* Larger than 2^SDRV_RING_MAX_ORDER pages: counts could overflow. */
	ck_assert_int_eq(
	    sdrv_ring_back_attach(&r, mem, SDRV_RING_BYTES(SDRV_RING_MAX_ORDER) + 64, 1, 0),
	    -SDRV_EINVAL);
	/* The smallest ring that works: one entry. */
	ck_assert_int_eq(sdrv_ring_front_init(&r, mem, 64 + ESZ, ESZ), 0);
	ck_assert_uint_eq(sdrv_ring_nr_ents(&r), 1);
	free(mem);
}
END_TEST

/* --------------------------- producer side ---------------------------- */

START_TEST(request_slots_are_zeroed_and_bounded)
{
	struct pair p;
	unsigned char *slot;

	pair_init(&p, PAGE, ESZ);
	for (uint32_t i = 0; i < 32; i++) {
		slot = sdrv_ring_front_next_req(&p.f);
		ck_assert_ptr_nonnull(slot);
		ck_assert_ptr_eq(slot, (unsigned char *)p.mem + 64 + i * ESZ);
		for (uint32_t j = 0; j < ESZ; j++)
			ck_assert_uint_eq(slot[j], 0);
		ck_assert_uint_eq(sdrv_ring_front_free(&p.f), 31 - i);
	}
	ck_assert_ptr_null(sdrv_ring_front_next_req(&p.f));
	/* Nothing visible to the backend before the push. */
	ck_assert_int_eq(sdrv_ring_back_unconsumed(&p.b), 0);
	ck_assert(sdrv_ring_front_push(&p.f));
	ck_assert_int_eq(sdrv_ring_back_unconsumed(&p.b), 32);
	/* Answer everything with a pattern; after the wrap the request slot
	 * that held a response is zeroed again. */
	{
		unsigned char buf[ESZ * 32];
		ck_assert_int_eq(sdrv_ring_back_take_reqs(&p.b, buf, 32), 32);
		for (int i = 0; i < 32; i++)
			memset(sdrv_ring_back_next_rsp(&p.b), 0x5A, ESZ);
		sdrv_ring_back_push(&p.b);
		ck_assert_int_eq(sdrv_ring_front_take_rsps(&p.f, buf, 32), 32);
	}
	slot = sdrv_ring_front_next_req(&p.f);
	ck_assert_ptr_eq(slot, (unsigned char *)p.mem + 64);
	for (uint32_t j = 0; j < ESZ; j++)
		ck_assert_uint_eq(slot[j], 0);
	free(p.mem);
}
END_TEST

START_TEST(push_notifies_by_xens_event_rule)
{
	struct pair p;
	uint32_t seq = 0;
	unsigned char buf[ESZ * 8];

	pair_init(&p, PAGE, ESZ);
	/* req_event starts at 1: the first push that covers index 1 notifies. */
	ck_assert(!sdrv_ring_front_push(&p.f)); /* nothing to push */
	produce(&p.f, 3, &seq);
	ck_assert(sdrv_ring_front_push(&p.f));
	produce(&p.f, 1, &seq);
	ck_assert(!sdrv_ring_front_push(&p.f)); /* not re-armed */
	ck_assert_int_eq(sdrv_ring_back_take_reqs(&p.b, buf, 8), 4);
	/* The backend runs dry and re-arms at cons + 1 = 5. */
	ck_assert_int_eq(sdrv_ring_back_final_check(&p.b), 0);
	ck_assert_uint_eq(p.b.sring->req_event, 5);
	produce(&p.f, 1, &seq);
	ck_assert(sdrv_ring_front_push(&p.f));
	/* An event index further ahead: pushes notify only once they cross it. */
	p.b.sring->req_event = 8;
	produce(&p.f, 1, &seq);
	ck_assert(!sdrv_ring_front_push(&p.f)); /* prod 6 */
	produce(&p.f, 1, &seq);
	ck_assert(!sdrv_ring_front_push(&p.f)); /* prod 7 */
	produce(&p.f, 2, &seq);
	ck_assert(sdrv_ring_front_push(&p.f)); /* prod 9 covers 8 */
	free(p.mem);
}
END_TEST

START_TEST(final_check_sees_entries_pushed_meanwhile)
{
	struct pair p;
	uint32_t seq = 0;
	unsigned char buf[ESZ];

	pair_init(&p, PAGE, ESZ);
	produce(&p.f, 1, &seq);
	sdrv_ring_front_push(&p.f);
	/* Work is reported without touching the event index. */
	p.b.sring->req_event = 77;
	ck_assert_int_eq(sdrv_ring_back_final_check(&p.b), 1);
	ck_assert_uint_eq(p.b.sring->req_event, 77);
	ck_assert_int_eq(sdrv_ring_back_take_reqs(&p.b, buf, 1), 1);
	ck_assert_int_eq(sdrv_ring_back_final_check(&p.b), 0);
	ck_assert_uint_eq(p.b.sring->req_event, 2);
	free(p.mem);
}
END_TEST

/* --------------------------- consumer side ---------------------------- */

START_TEST(take_copies_in_order_and_respects_max)
{
	struct pair p;
	uint32_t seq = 0, got[ESZ / 4 * 32];

	pair_init(&p, PAGE, ESZ);
	produce(&p.f, 20, &seq);
	sdrv_ring_front_push(&p.f);
	ck_assert_int_eq(sdrv_ring_back_take_reqs(&p.b, got, 0), 0);
	ck_assert_int_eq(sdrv_ring_back_take_reqs(&p.b, got, 7), 7);
	for (uint32_t i = 0; i < 7; i++)
		ck_assert_uint_eq(got[i * ESZ / 4], i);
	ck_assert_int_eq(sdrv_ring_back_take_reqs(&p.b, got, 100), 13);
	for (uint32_t i = 0; i < 13; i++)
		ck_assert_uint_eq(got[i * ESZ / 4], 7 + i);
	ck_assert_int_eq(sdrv_ring_back_take_reqs(&p.b, got, 100), 0);
	/* The copy is private: scribbling on the ring does not change it. */
	memset((char *)p.mem + 64, 0xEE, 20 * ESZ);
	ck_assert_uint_eq(got[0], 7);
	free(p.mem);
}
END_TEST

START_TEST(peer_index_read_once_per_batch)
{
	struct pair p;
	uint32_t seq = 0;
	unsigned char buf[ESZ * 4];

	pair_init(&p, PAGE, ESZ);
	produce(&p.f, 8, &seq);
	sdrv_ring_front_push(&p.f);
	ck_assert_int_eq(sdrv_ring_back_take_reqs(&p.b, buf, 4), 4);
	/* A snapshot of 8 is being consumed; a garbage index written now is
	 * not looked at until the snapshot is used up. */
	p.b.sring->req_prod = 0xDEADBEEF;
	ck_assert_int_eq(sdrv_ring_back_take_reqs(&p.b, buf, 4), 4);
	ck_assert_ptr_null(sdrv_ring_broken(&p.b));
	ck_assert_int_eq(sdrv_ring_back_take_reqs(&p.b, buf, 4), -SDRV_EPROTO);
	ck_assert_ptr_nonnull(sdrv_ring_broken(&p.b));
	free(p.mem);
}
END_TEST

START_TEST(single_takes_copy_one_entry)
{
	struct pair p;
	uint32_t seq = 0, got[ESZ / 4];

	pair_init(&p, PAGE, ESZ);
	ck_assert_int_eq(sdrv_ring_back_take_req(&p.b, got), 0);
	produce(&p.f, 3, &seq);
	sdrv_ring_front_push(&p.f);
	for (uint32_t i = 0; i < 3; i++) {
		ck_assert_int_eq(sdrv_ring_back_take_req(&p.b, got), 1);
		ck_assert_uint_eq(got[0], i);
		*(uint32_t *)sdrv_ring_back_next_rsp(&p.b) = 100 + i;
	}
	ck_assert_int_eq(sdrv_ring_back_take_req(&p.b, got), 0);
	sdrv_ring_back_push(&p.b);
	for (uint32_t i = 0; i < 3; i++) {
		ck_assert_int_eq(sdrv_ring_front_take_rsp(&p.f, got), 1);
		ck_assert_uint_eq(got[0], 100 + i);
	}
	ck_assert_int_eq(sdrv_ring_front_take_rsp(&p.f, got), 0);
	ck_assert_uint_eq(sdrv_ring_front_free(&p.f), 32);
	free(p.mem);
}
END_TEST

/* Breaking the ring drops entries already snapshotted: nothing more is
 * copied out, by either take, and no slot is handed out. */
START_TEST(break_discards_cached_entries)
{
	struct pair p;
	uint32_t seq = 0;
	unsigned char buf[ESZ * 8];

	pair_init(&p, PAGE, ESZ);
	produce(&p.f, 6, &seq);
	sdrv_ring_front_push(&p.f);
	ck_assert_int_eq(sdrv_ring_back_take_reqs(&p.b, buf, 2), 2);
	sdrv_ring_set_broken(&p.b, "bad request");
	memset(buf, 0x77, sizeof(buf));
	ck_assert_int_eq(sdrv_ring_back_take_req(&p.b, buf), -SDRV_EPROTO);
	ck_assert_int_eq(sdrv_ring_back_take_reqs(&p.b, buf, 8), -SDRV_EPROTO);
	ck_assert_uint_eq(buf[0], 0x77);
	ck_assert_ptr_null(sdrv_ring_back_next_rsp(&p.b));
	/* Still two consumed, unanswered requests to release on teardown. */
	ck_assert_uint_eq(sdrv_ring_back_unanswered(&p.b), 2);
	ck_assert_int_eq(sdrv_ring_back_final_check(&p.b), -SDRV_EPROTO);
	ck_assert_str_eq(sdrv_ring_broken(&p.b), "bad request");
	/* The frontend the same way. */
	sdrv_ring_set_broken(&p.f, "bad response");
	ck_assert_ptr_null(sdrv_ring_front_next_req(&p.f));
	ck_assert_uint_eq(sdrv_ring_front_free(&p.f), 0);
	ck_assert_int_eq(sdrv_ring_front_take_rsp(&p.f, buf), -SDRV_EPROTO);
	free(p.mem);
}
END_TEST

START_TEST(response_slots_zeroed_and_only_for_consumed_requests)
{
	struct pair p;
	uint32_t seq = 0;
	unsigned char buf[ESZ * 4], *slot;

	pair_init(&p, PAGE, ESZ);
	ck_assert_ptr_null(sdrv_ring_back_next_rsp(&p.b));
	produce(&p.f, 3, &seq);
	sdrv_ring_front_push(&p.f);
	ck_assert_int_eq(sdrv_ring_back_take_reqs(&p.b, buf, 2), 2);
	ck_assert_uint_eq(sdrv_ring_back_unanswered(&p.b), 2);
	for (int i = 0; i < 2; i++) {
		slot = sdrv_ring_back_next_rsp(&p.b);
		ck_assert_ptr_nonnull(slot);
		/* The request bytes that were in the slot are gone. */
		for (uint32_t j = 0; j < ESZ; j++)
			ck_assert_uint_eq(slot[j], 0);
		slot[0] = (unsigned char)(0x10 + i);
	}
	ck_assert_ptr_null(sdrv_ring_back_next_rsp(&p.b));
	ck_assert(sdrv_ring_back_push(&p.b));
	ck_assert_uint_eq(sdrv_ring_front_outstanding(&p.f), 3);
	ck_assert_int_eq(sdrv_ring_front_take_rsps(&p.f, buf, 4), 2);
	ck_assert_uint_eq(buf[0], 0x10);
	ck_assert_uint_eq(buf[ESZ], 0x11);
	ck_assert_uint_eq(sdrv_ring_front_outstanding(&p.f), 1);
	ck_assert_uint_eq(sdrv_ring_front_free(&p.f), 31);
	free(p.mem);
}
END_TEST

/* Run `rounds` full cycles of random batches from `start`, checking every
 * request and response; indices wrap past 2^32 on the way. */
static void run_cycles(uint32_t start, size_t bytes, uint32_t rounds)
{
	void *mem = page_new(bytes, 0);
	struct sdrv_ring f, b;
	struct sdrv_sring *s = mem;
	uint32_t next_req = 0, next_rsp = 0, rng = 12345;
	unsigned char buf[ESZ * 64];

	s->req_prod = s->rsp_prod = start;
	s->req_event = s->rsp_event = start + 1;
	ck_assert_int_eq(sdrv_ring_front_attach(&f, mem, bytes, ESZ, start), 0);
	ck_assert_int_eq(sdrv_ring_back_attach(&b, mem, bytes, ESZ, start), 0);
	for (uint32_t r = 0; r < rounds; r++) {
		uint32_t n;
		int32_t got;

		rng = rng * 1103515245u + 12345u;
		n = 1 + (rng >> 16) % 64;
		if (n > sdrv_ring_front_free(&f))
			n = sdrv_ring_front_free(&f);
		produce(&f, n, &next_req);
		sdrv_ring_front_push(&f);
		while ((got = sdrv_ring_back_take_reqs(&b, buf, 64)) > 0) {
			for (int32_t i = 0; i < got; i++) {
				uint32_t *rsp = sdrv_ring_back_next_rsp(&b);
				ck_assert_ptr_nonnull(rsp);
				rsp[0] = ~*(uint32_t *)(buf + (size_t)i * ESZ);
			}
			sdrv_ring_back_push(&b);
		}
		ck_assert_int_eq(got, 0);
		while ((got = sdrv_ring_front_take_rsps(&f, buf, 64)) > 0)
			for (int32_t i = 0; i < got; i++)
				ck_assert_uint_eq(*(uint32_t *)(buf + (size_t)i * ESZ),
						  ~next_rsp++);
		ck_assert_int_eq(got, 0);
		ck_assert_uint_eq(next_rsp, next_req);
	}
	ck_assert_ptr_null(sdrv_ring_broken(&f));
	ck_assert_ptr_null(sdrv_ring_broken(&b));
	/* The shared indices really went past 2^32. */
	ck_assert_uint_lt(s->req_prod, start);
	ck_assert_uint_eq(s->req_prod, start + next_req);
	free(mem);
}

START_TEST(indices_wrap_across_2_32)
{
	run_cycles(0xFFFFFFF0u, PAGE, 200);
	run_cycles(0xFFFFFFFFu, PAGE, 50);
	run_cycles(0xFFFFFF00u, SDRV_RING_BYTES(3), 200);
}
END_TEST

/* ----------------------------- broken state --------------------------- */

START_TEST(backend_breaks_on_request_overflow)
{
	struct pair p;
	unsigned char buf[ESZ * 64];

	pair_init(&p, PAGE, ESZ);
	/* Exactly a ring's worth is legal. */
	p.f.sring->req_prod = 32;
	ck_assert_int_eq(sdrv_ring_back_take_reqs(&p.b, buf, 64), 32);
	ck_assert_ptr_null(sdrv_ring_broken(&p.b));
	/* One more than the free response slots is RING_REQUEST_PROD_OVERFLOW. */
	p.f.sring->req_prod = 33;
	ck_assert_int_eq(sdrv_ring_back_take_reqs(&p.b, buf, 64), -SDRV_EPROTO);
	ck_assert_ptr_nonnull(strstr(sdrv_ring_broken(&p.b), "overflow"));
	/* Sticky: even a sane index later does not revive it. */
	p.f.sring->req_prod = 32;
	ck_assert_int_eq(sdrv_ring_back_take_reqs(&p.b, buf, 64), -SDRV_EPROTO);
	ck_assert_int_eq(sdrv_ring_back_final_check(&p.b), -SDRV_EPROTO);
	ck_assert_int_eq(sdrv_ring_back_unconsumed(&p.b), -SDRV_EPROTO);
	ck_assert_ptr_null(sdrv_ring_back_next_rsp(&p.b));
	free(p.mem);
}
END_TEST

START_TEST(backend_breaks_on_backwards_index)
{
	struct pair p;
	unsigned char buf[ESZ * 8];

	pair_init(&p, PAGE, ESZ);
	p.f.sring->req_prod = 5;
	ck_assert_int_eq(sdrv_ring_back_take_reqs(&p.b, buf, 8), 5);
	p.f.sring->req_prod = 3;
	ck_assert_int_eq(sdrv_ring_back_final_check(&p.b), -SDRV_EPROTO);
	ck_assert_ptr_nonnull(strstr(sdrv_ring_broken(&p.b), "backwards"));
	free(p.mem);
}
END_TEST

START_TEST(frontend_breaks_on_responses_beyond_requests)
{
	struct pair p;
	uint32_t seq = 0;
	unsigned char buf[ESZ * 8];

	pair_init(&p, PAGE, ESZ);
	produce(&p.f, 4, &seq);
	sdrv_ring_front_push(&p.f);
	produce(&p.f, 2, &seq); /* claimed, not pushed: cannot be answered */
	p.f.sring->rsp_prod = 4;
	ck_assert_int_eq(sdrv_ring_front_take_rsps(&p.f, buf, 8), 4);
	p.f.sring->rsp_prod = 5;
	ck_assert_int_eq(sdrv_ring_front_take_rsps(&p.f, buf, 8), -SDRV_EPROTO);
	ck_assert_ptr_nonnull(sdrv_ring_broken(&p.f));
	ck_assert_ptr_null(sdrv_ring_front_next_req(&p.f));
	free(p.mem);
}
END_TEST

START_TEST(frontend_breaks_on_backwards_and_huge_indices)
{
	static const uint32_t bad[] = {0xFFFFFFFFu, 0x80000000u, 33, 0xFFFFFFF0u};
	unsigned char buf[ESZ * 8];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pair p;
		uint32_t seq = 0;

		pair_init(&p, PAGE, ESZ);
		produce(&p.f, 2, &seq);
		sdrv_ring_front_push(&p.f);
		p.f.sring->rsp_prod = bad[i];
		ck_assert_int_eq(sdrv_ring_front_final_check(&p.f), -SDRV_EPROTO);
		ck_assert_int_eq(sdrv_ring_front_take_rsps(&p.f, buf, 8), -SDRV_EPROTO);
		free(p.mem);
	}
}
END_TEST

START_TEST(set_broken_keeps_first_reason)
{
	struct pair p;

	pair_init(&p, PAGE, ESZ);
	ck_assert_ptr_null(sdrv_ring_broken(&p.f));
	sdrv_ring_set_broken(&p.f, "first");
	sdrv_ring_set_broken(&p.f, "second");
	ck_assert_str_eq(sdrv_ring_broken(&p.f), "first");
	sdrv_ring_set_broken(&p.b, NULL);
	ck_assert_ptr_nonnull(sdrv_ring_broken(&p.b));
	free(p.mem);
}
END_TEST

/* ------------------------------ id tracker ---------------------------- */

START_TEST(ids_track_outstanding_requests)
{
	struct sdrv_ring_ids ids;
	uint32_t store[8], id, seen = 0;

	ck_assert_int_eq(sdrv_ring_ids_init(&ids, store, 0), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_ring_ids_init(&ids, NULL, 8), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_ring_ids_init(&ids, store, 8), 0);
	for (int i = 0; i < 8; i++) {
		ck_assert_int_eq(sdrv_ring_ids_get(&ids, &id), 0);
		ck_assert_uint_lt(id, 8);
		ck_assert(!(seen & (1u << id)));
		seen |= 1u << id;
		ck_assert(sdrv_ring_ids_busy(&ids, id));
	}
	ck_assert_int_eq(sdrv_ring_ids_get(&ids, &id), -SDRV_ENOSPC);
	/* Ids a peer may send back that were never handed out. */
	ck_assert_int_eq(sdrv_ring_ids_put(&ids, 8), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_ring_ids_put(&ids, UINT64_MAX), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_ring_ids_put(&ids, 0x100000003ull), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_ring_ids_put(&ids, 3), 0);
	ck_assert(!sdrv_ring_ids_busy(&ids, 3));
	/* The same response twice. */
	ck_assert_int_eq(sdrv_ring_ids_put(&ids, 3), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_ring_ids_get(&ids, &id), 0);
	ck_assert_uint_eq(id, 3);
	for (uint32_t i = 0; i < 8; i++)
		ck_assert_int_eq(sdrv_ring_ids_put(&ids, i), 0);
	ck_assert_uint_eq(ids.nr_free, 8);
}
END_TEST

/* ------------------------------- batching ----------------------------- */

START_TEST(set_batch_validates)
{
	struct pair p;

	pair_init(&p, PAGE, ESZ);
	ck_assert_int_eq(sdrv_ring_set_batch(&p.b, 0, 0), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_ring_set_batch(&p.b, 33, 0), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_ring_set_batch(&p.b, 32, 0), 0);
	ck_assert_int_eq(sdrv_ring_set_batch(NULL, 1, 0), -SDRV_EINVAL);
	free(p.mem);
}
END_TEST

START_TEST(plain_policy_sleeps_until_notified)
{
	struct pair p;
	uint64_t wait = 0;

	pair_init(&p, PAGE, ESZ);
	ck_assert_int_eq(sdrv_ring_back_final_check_at(&p.b, 1000, &wait), 0);
	ck_assert_uint_eq(wait, SDRV_WAIT_FOREVER);
	ck_assert_uint_eq(p.b.sring->req_event, 1);
	ck_assert_int_eq(sdrv_ring_front_final_check_at(&p.f, 1000, &wait), 0);
	ck_assert_uint_eq(wait, SDRV_WAIT_FOREVER);
	free(p.mem);
}
END_TEST

START_TEST(backend_batch_by_count_and_time)
{
	struct pair p;
	uint32_t seq = 0;
	uint64_t wait;
	unsigned char buf[ESZ * 8];

	pair_init(&p, PAGE, ESZ);
	ck_assert_int_eq(sdrv_ring_set_batch(&p.b, 4, 1000), 0);
	/* Empty at t=100: ask for a wake-up after 4, poll again by t=1100. */
	ck_assert_int_eq(sdrv_ring_back_final_check_at(&p.b, 100, &wait), 0);
	ck_assert_uint_eq(p.b.sring->req_event, 4);
	ck_assert_uint_eq(wait, 1000);
	/* One request: not worth a notification. */
	produce(&p.f, 1, &seq);
	ck_assert(!sdrv_ring_front_push(&p.f));
	/* At t=600 it has waited at most 500: keep sleeping, 500 more. */
	ck_assert_int_eq(sdrv_ring_back_final_check_at(&p.b, 600, &wait), 0);
	ck_assert_uint_eq(wait, 500);
	/* At t=1100 it may have waited the full bound: hand it out. */
	ck_assert_int_eq(sdrv_ring_back_final_check_at(&p.b, 1100, &wait), 1);
	ck_assert_int_eq(sdrv_ring_back_take_reqs(&p.b, buf, 8), 1);
	/* Empty again at t=1200: the fourth request from here notifies. */
	ck_assert_int_eq(sdrv_ring_back_final_check_at(&p.b, 1200, &wait), 0);
	ck_assert_uint_eq(p.b.sring->req_event, 5);
	produce(&p.f, 3, &seq);
	ck_assert(!sdrv_ring_front_push(&p.f));
	produce(&p.f, 1, &seq);
	ck_assert(sdrv_ring_front_push(&p.f));
	ck_assert_int_eq(sdrv_ring_back_final_check_at(&p.b, 1300, &wait), 4);
	free(p.mem);
}
END_TEST

START_TEST(frontend_batch_capped_by_outstanding)
{
	struct pair p;
	uint32_t seq = 0;
	uint64_t wait;
	unsigned char buf[ESZ * 8];

	pair_init(&p, PAGE, ESZ);
	ck_assert_int_eq(sdrv_ring_set_batch(&p.f, 8, 5000), 0);
	/* Nothing outstanding: no response can come, sleep forever. */
	ck_assert_int_eq(sdrv_ring_front_final_check_at(&p.f, 10, &wait), 0);
	ck_assert_uint_eq(wait, SDRV_WAIT_FOREVER);
	produce(&p.f, 2, &seq);
	sdrv_ring_front_push(&p.f);
	/* Two outstanding: wait for two, not eight, so it cannot stall. */
	ck_assert_int_eq(sdrv_ring_front_final_check_at(&p.f, 20, &wait), 0);
	ck_assert_uint_eq(p.f.sring->rsp_event, 2);
	ck_assert_uint_eq(wait, 5000);
	ck_assert_int_eq(sdrv_ring_back_take_reqs(&p.b, buf, 8), 2);
	sdrv_ring_back_next_rsp(&p.b);
	ck_assert(!sdrv_ring_back_push(&p.b));
	sdrv_ring_back_next_rsp(&p.b);
	ck_assert(sdrv_ring_back_push(&p.b));
	ck_assert_int_eq(sdrv_ring_front_final_check_at(&p.f, 30, &wait), 2);
	free(p.mem);
}
END_TEST

/* ---------------------------- poll-then-sleep -------------------------- */

START_TEST(pollsleep_adapts_window)
{
	struct sdrv_pollsleep ps;

	sdrv_pollsleep_init(&ps, 50000, 1000);
	ck_assert_uint_eq(ps.window_ns, 50000);
	sdrv_pollsleep_begin(&ps, 100);
	ck_assert(sdrv_pollsleep_keep_polling(&ps, 100));
	ck_assert(sdrv_pollsleep_keep_polling(&ps, 50099));
	ck_assert(!sdrv_pollsleep_keep_polling(&ps, 50100));
	/* Long sleeps: polling was wasted, halve down to the minimum. */
	sdrv_pollsleep_slept(&ps, 1000000);
	ck_assert_uint_eq(ps.window_ns, 25000);
	for (int i = 0; i < 10; i++)
		sdrv_pollsleep_slept(&ps, 1000000);
	ck_assert_uint_eq(ps.window_ns, 1000);
	/* A short sleep: a longer poll would have caught it, double. */
	sdrv_pollsleep_slept(&ps, 2000);
	ck_assert_uint_eq(ps.window_ns, 2000);
	for (int i = 0; i < 10; i++)
		sdrv_pollsleep_slept(&ps, 10);
	ck_assert_uint_eq(ps.window_ns, 50000);
	ck_assert_uint_eq(ps.sleeps, 22);
	ck_assert_uint_eq(ps.polls, 1);
	/* min > max is clamped; a zero window never polls. */
	sdrv_pollsleep_init(&ps, 0, 10);
	sdrv_pollsleep_begin(&ps, 5);
	ck_assert(!sdrv_pollsleep_keep_polling(&ps, 5));
}
END_TEST

/* ------------------------------- typed API ---------------------------- */

START_TEST(typed_api_round_trip)
{
	void *mem = page_new(PAGE, 0xAA);
	struct msg_front f;
	struct msg_back b;
	struct msg_req reqs[4];
	struct msg_rsp rsps[4];
	struct msg_req *q;
	struct msg_rsp *r;
	unsigned char *raw;

	ck_assert_uint_eq(msg_ring_size(PAGE), 128); /* 16-byte entries */
	ck_assert_int_eq(msg_front_init(&f, mem, PAGE), 0);
	ck_assert_int_eq(msg_back_attach(&b, mem, PAGE, 0), 0);
	for (uint32_t i = 0; i < 3; i++) {
		q = msg_front_next_req(&f);
		q->id = 100 + i;
		q->seq = i;
		q->op = 1;
	}
	/* Padding the producer never wrote is zero, not 0xAA. */
	raw = (unsigned char *)mem + 64;
	ck_assert_uint_eq(raw[13], 0);
	ck_assert_uint_eq(raw[15], 0);
	ck_assert(msg_front_push(&f));
	ck_assert_uint_eq(msg_front_free(&f), 125);
	ck_assert_int_eq(msg_back_take_reqs(&b, reqs, 4), 3);
	for (uint32_t i = 0; i < 3; i++) {
		ck_assert_uint_eq(reqs[i].id, 100 + i);
		r = msg_back_next_rsp(&b);
		r->id = reqs[i].id;
		r->status = -1;
	}
	ck_assert_ptr_null(msg_back_next_rsp(&b));
	ck_assert(msg_back_push(&b));
	ck_assert_int_eq(msg_front_take_rsps(&f, rsps, 4), 3);
	ck_assert_uint_eq(rsps[2].id, 102);
	ck_assert_int_eq(rsps[2].status, -1);
	ck_assert_int_eq(msg_front_final_check(&f), 0);
	ck_assert_int_eq(msg_back_final_check(&b), 0);
	free(mem);
}
END_TEST

/* Every inline helper is also a callable library function. */
START_TEST(inline_helpers_have_callable_copies)
{
	struct pair p;
	uint32_t (*free_fn)(const struct sdrv_ring *);
	void *(*next_fn)(struct sdrv_ring *);
	bool (*push_fn)(struct sdrv_ring *);
	int32_t (*take_fn)(struct sdrv_ring *, void *, uint32_t);
	unsigned char buf[ESZ];

	pair_init(&p, PAGE, ESZ);
	*(void **)&free_fn = dlsym(RTLD_DEFAULT, "sdrv_ring_front_free");
	*(void **)&next_fn = dlsym(RTLD_DEFAULT, "sdrv_ring_front_next_req");
	*(void **)&push_fn = dlsym(RTLD_DEFAULT, "sdrv_ring_front_push");
	*(void **)&take_fn = dlsym(RTLD_DEFAULT, "sdrv_ring_back_take_reqs");
	if (!free_fn || !next_fn || !push_fn || !take_fn) {
		/* A static link has no dynamic symbol table to look in. */
		free(p.mem);
		return;
	}
	ck_assert_uint_eq(free_fn(&p.f), 32);
	*(uint32_t *)next_fn(&p.f) = 0xC0FFEE;
	ck_assert(push_fn(&p.f));
	ck_assert_int_eq(take_fn(&p.b, buf, 1), 1);
	ck_assert_uint_eq(*(uint32_t *)buf, 0xC0FFEE);
	free(p.mem);
}
END_TEST

static Suite *ring_suite(void)
{
	Suite *s = suite_create("ring");
	TCase *tc;

	tc = tcase_create("layout");
	tcase_add_test(tc, header_layout_is_xens);
	tcase_add_test(tc, size_for_matches_xen_rounding);
	tcase_add_test(tc, front_init_writes_xen_initial_header);
	tcase_add_test(tc, back_attach_writes_nothing);
	tcase_add_test(tc, attach_rejects_bad_arguments);
	suite_add_tcase(s, tc);

	tc = tcase_create("producer");
	tcase_add_test(tc, request_slots_are_zeroed_and_bounded);
	tcase_add_test(tc, push_notifies_by_xens_event_rule);
	tcase_add_test(tc, final_check_sees_entries_pushed_meanwhile);
	suite_add_tcase(s, tc);

	tc = tcase_create("consumer");
	tcase_add_test(tc, take_copies_in_order_and_respects_max);
	tcase_add_test(tc, peer_index_read_once_per_batch);
	tcase_add_test(tc, single_takes_copy_one_entry);
	tcase_add_test(tc, break_discards_cached_entries);
	tcase_add_test(tc, response_slots_zeroed_and_only_for_consumed_requests);
	tcase_add_test(tc, indices_wrap_across_2_32);
	suite_add_tcase(s, tc);

	tc = tcase_create("broken");
	tcase_add_test(tc, backend_breaks_on_request_overflow);
	tcase_add_test(tc, backend_breaks_on_backwards_index);
	tcase_add_test(tc, frontend_breaks_on_responses_beyond_requests);
	tcase_add_test(tc, frontend_breaks_on_backwards_and_huge_indices);
	tcase_add_test(tc, set_broken_keeps_first_reason);
	suite_add_tcase(s, tc);

	tc = tcase_create("ids");
	tcase_add_test(tc, ids_track_outstanding_requests);
	suite_add_tcase(s, tc);

	tc = tcase_create("policy");
	tcase_add_test(tc, set_batch_validates);
	tcase_add_test(tc, plain_policy_sleeps_until_notified);
	tcase_add_test(tc, backend_batch_by_count_and_time);
	tcase_add_test(tc, frontend_batch_capped_by_outstanding);
	tcase_add_test(tc, pollsleep_adapts_window);
	suite_add_tcase(s, tc);

	tc = tcase_create("api");
	tcase_add_test(tc, typed_api_round_trip);
	tcase_add_test(tc, inline_helpers_have_callable_copies);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ring_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
