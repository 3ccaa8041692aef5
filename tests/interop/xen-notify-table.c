/* SPDX-License-Identifier: MIT */
/*
 * Notification decisions and final checks equal Xen's.
 *
 * Two copies of the same shared ring: one driven with Xen's io/ring.h macros
 * (RING_PUSH_*_AND_CHECK_NOTIFY, RING_FINAL_CHECK_FOR_*), the other with
 * libsplitdrv (sdrv_ring_front_push/back_push, sdrv_ring_*_final_check).
 * Every step is applied to both; the notify decisions, the final-check
 * results, the entries copied out and the shared header bytes must agree
 * after every step, and the whole ring at the end of each sequence.
 *
 * Sequences come from a hand-written table (each with the results Xen's
 * rules give, checked against both implementations) and from a seeded
 * random generator. Starting indices include 0, just below 2^32 so the
 * free-running indices wrap, and around 2^31.
 *
 * A sequence is a string of steps:
 *   p<n>   frontend claims n requests and pushes
 *   q<n>   frontend claims n requests, no push    P   frontend pushes
 *   c<n>   backend consumes up to n requests
 *   r<n>   backend claims n responses and pushes
 *   s<n>   backend claims n responses, no push    R   backend pushes
 *   d<n>   frontend consumes up to n responses
 *   B      backend final check                    F   frontend final check
 *   e<k>   req_event := req_prod + k (a batching backend; k may be negative)
 *   E<k>   rsp_event := rsp_prod + k (a batching frontend)
 * A push may be followed by '!' (must notify) or '.' (must not); c, d, B and
 * F by "=<n>" (the expected count).
 *
 * The Xen-side consumer reads the producer index once per batch, as Linux's
 * blkback does (rp = req_prod; rmb(); while (rc != rp) ...), which is also
 * what libsplitdrv does; Xen's final-check macros read it afresh. Where the
 * two can legitimately differ in magnitude (a final check while a batch is
 * still partly unconsumed) only "work or no work" is compared.
 *
 * Usage: xen-notify-table [seed]
 */
#define _GNU_SOURCE
#include "xen-compat.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <splitdrv/ring.h>

#include "../common/tutil.h"

#define ESZ 64
struct ent {
	unsigned char b[ESZ];
};
DEFINE_RING_TYPES(tbl, struct ent, struct ent);

struct world {
	size_t bytes;
	unsigned char *xpage, *spage;
	struct tbl_front_ring xf;
	struct tbl_back_ring xb;
	RING_IDX xb_rp, xf_rp; /* the Xen-side consumers' batch snapshots */
	struct sdrv_ring sf, sb;
	uint64_t content;
	/* for messages */
	const char *name;
	const char *seq;
	uint32_t start;
	unsigned order;
	int step;
	const char *tok;
	int toklen;
};

static int failures;
static uint64_t nr_notify[2], nr_final[2], nr_steps;

#define FAIL(w, ...)                                                                               \
	do {                                                                                       \
		fail_at(w);                                                                        \
		fprintf(stderr, __VA_ARGS__);                                                      \
		fputc('\n', stderr);                                                               \
		return -1;                                                                         \
	} while (0)

static void fail_at(const struct world *w)
{
	failures++;
	fprintf(stderr, "FAIL: %s (start %#" PRIx32 ", order %u), step %d '%.*s': ", w->name,
		w->start, w->order, w->step, w->toklen, w->tok);
}

static struct tbl_sring *xs(const struct world *w)
{
	return (struct tbl_sring *)w->xpage;
}

static void set_header(unsigned char *page, uint32_t start)
{
	struct sdrv_sring *s = (struct sdrv_sring *)page;

	memset(s, 0, sizeof(*s));
	s->req_prod = s->rsp_prod = start;
	s->req_event = s->rsp_event = start + 1;
}

static int world_init(struct world *w, const char *name, uint32_t start, unsigned order)
{
	memset(w, 0, sizeof(*w));
	w->name = name;
	w->start = start;
	w->order = order;
	w->bytes = SDRV_RING_BYTES(order);
	/* Both ends live in this process: private memory will do (and is
	 * much cheaper than a memfd per sequence). */
	w->xpage = aligned_alloc(SDRV_PAGE_SIZE, w->bytes);
	w->spage = aligned_alloc(SDRV_PAGE_SIZE, w->bytes);
	if (!w->xpage || !w->spage)
		abort();
	w->content = 0x9e3779b97f4a7c15ull ^ start ^ ((uint64_t)order << 40);
	/* Garbage for a reconnect (nobody rewrites entries then); zeroes for
	 * a fresh ring, since sdrv_ring_front_init() zeroes the entries that
	 * Xen's init leaves alone (check-layout tests that difference). */
	memset(w->xpage, start == 0 ? 0 : 0xa5, w->bytes);
	memset(w->spage, start == 0 ? 0 : 0xa5, w->bytes);
	if (start == 0) {
		XEN_FRONT_RING_INIT(&w->xf, xs(w), w->bytes);
		if (sdrv_ring_front_init(&w->sf, w->spage, w->bytes, ESZ))
			FAIL(w, "sdrv_ring_front_init failed");
	} else {
		/* A reconnect at an agreed index: header written by hand,
		 * both ends attach there. */
		set_header(w->xpage, start);
		set_header(w->spage, start);
		FRONT_RING_ATTACH(&w->xf, xs(w), start, w->bytes);
		if (sdrv_ring_front_attach(&w->sf, w->spage, w->bytes, ESZ, start))
			FAIL(w, "sdrv_ring_front_attach failed");
	}
	BACK_RING_ATTACH(&w->xb, xs(w), start, w->bytes);
	if (sdrv_ring_back_attach(&w->sb, w->spage, w->bytes, ESZ, start))
		FAIL(w, "sdrv_ring_back_attach failed");
	w->xb_rp = w->xf_rp = start;
	if (w->xf.nr_ents != sdrv_ring_nr_ents(&w->sf))
		FAIL(w, "ring size: Xen %u, sdrv %u", w->xf.nr_ents, sdrv_ring_nr_ents(&w->sf));
	if (memcmp(w->xpage, w->spage, w->bytes) != 0)
		FAIL(w, "pages differ after set-up");
	return 0;
}

static void world_free(struct world *w)
{
	free(w->xpage);
	free(w->spage);
}

static void fill(struct world *w, struct ent *e)
{
	for (size_t i = 0; i < ESZ; i += 8) {
		uint64_t v = tu_rand(&w->content);
		memcpy(e->b + i, &v, 8);
	}
}

static int check_header(struct world *w)
{
	if (memcmp(w->xpage, w->spage, SDRV_RING_HDR_SIZE) != 0) {
		const struct sdrv_sring *a = (const void *)w->xpage, *b = (const void *)w->spage;
		FAIL(w,
		     "shared headers differ: Xen req_prod %#x req_event %#x rsp_prod %#x "
		     "rsp_event %#x; sdrv %#x %#x %#x %#x",
		     a->req_prod, a->req_event, a->rsp_prod, a->rsp_event, b->req_prod,
		     b->req_event, b->rsp_prod, b->rsp_event);
	}
	return 0;
}

static int check_broken(struct world *w)
{
	if (sdrv_ring_broken(&w->sf) || sdrv_ring_broken(&w->sb))
		FAIL(w, "sdrv ring broke on a well-behaved peer: %s",
		     sdrv_ring_broken(&w->sf) ? sdrv_ring_broken(&w->sf)
					      : sdrv_ring_broken(&w->sb));
	return 0;
}

/* ---- the steps, applied to both worlds ---- */

static int claim_reqs(struct world *w, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		struct ent e;
		void *slot;

		if (RING_FULL(&w->xf))
			FAIL(w, "test bug: claiming request %u of %u on a full ring", i, n);
		fill(w, &e);
		*RING_GET_REQUEST(&w->xf, w->xf.req_prod_pvt) = e;
		w->xf.req_prod_pvt++;
		slot = sdrv_ring_front_next_req(&w->sf);
		if (!slot)
			FAIL(w, "sdrv_ring_front_next_req: NULL with %u free in Xen's view",
			     RING_FREE_REQUESTS(&w->xf) + 1);
		memcpy(slot, &e, ESZ);
	}
	if (RING_FREE_REQUESTS(&w->xf) != sdrv_ring_front_free(&w->sf))
		FAIL(w, "free requests: Xen %u, sdrv %u", RING_FREE_REQUESTS(&w->xf),
		     sdrv_ring_front_free(&w->sf));
	return 0;
}

static int claim_rsps(struct world *w, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		struct ent e;
		void *slot;

		if (w->xb.req_cons == w->xb.rsp_prod_pvt)
			FAIL(w, "test bug: response %u of %u without a request", i, n);
		fill(w, &e);
		*RING_GET_RESPONSE(&w->xb, w->xb.rsp_prod_pvt) = e;
		w->xb.rsp_prod_pvt++;
		slot = sdrv_ring_back_next_rsp(&w->sb);
		if (!slot)
			FAIL(w, "sdrv_ring_back_next_rsp: NULL although a request is unanswered");
		memcpy(slot, &e, ESZ);
	}
	return 0;
}

/* expect: -1 don't care, 0 must not notify, 1 must notify */
static int push(struct world *w, int back, int expect)
{
	int xn;
	bool sn;

	if (back) {
		RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&w->xb, xn);
		sn = sdrv_ring_back_push(&w->sb);
	} else {
		RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&w->xf, xn);
		sn = sdrv_ring_front_push(&w->sf);
	}
	if (!!xn != sn)
		FAIL(w, "%s push: Xen says notify=%d, sdrv says %d", back ? "response" : "request",
		     !!xn, sn);
	if (expect >= 0 && sn != expect)
		FAIL(w, "%s push: both say notify=%d, the table expects %d",
		     back ? "response" : "request", sn, expect);
	nr_notify[sn]++;
	return check_header(w);
}

static int consume(struct world *w, int back, uint32_t max, long expect)
{
	struct ent xg[256], sg[256];
	uint32_t n = 0;
	int32_t sn;

	if (max > 256)
		max = 256;
	if (back) {
		if (w->xb.req_cons == w->xb_rp) {
			w->xb_rp = xs(w)->req_prod;
			xen_rmb();
			if (RING_REQUEST_PROD_OVERFLOW(&w->xb, w->xb_rp))
				FAIL(w, "Xen backend: request producer overflow");
		}
		while (n < max && w->xb.req_cons != w->xb_rp &&
		       !RING_REQUEST_CONS_OVERFLOW(&w->xb, w->xb.req_cons)) {
			RING_COPY_REQUEST(&w->xb, w->xb.req_cons, &xg[n]);
			w->xb.req_cons++;
			n++;
		}
		sn = sdrv_ring_back_take_reqs(&w->sb, sg, max);
	} else {
		if (w->xf.rsp_cons == w->xf_rp) {
			w->xf_rp = xs(w)->rsp_prod;
			xen_rmb();
			if (RING_RESPONSE_PROD_OVERFLOW(&w->xf, w->xf_rp))
				FAIL(w, "Xen frontend: response producer overflow");
		}
		while (n < max && w->xf.rsp_cons != w->xf_rp) {
			RING_COPY_RESPONSE(&w->xf, w->xf.rsp_cons, &xg[n]);
			w->xf.rsp_cons++;
			n++;
		}
		sn = sdrv_ring_front_take_rsps(&w->sf, sg, max);
	}
	if (sn < 0 || (uint32_t)sn != n)
		FAIL(w, "%s consumed: Xen %u, sdrv %d", back ? "requests" : "responses", n, sn);
	if (memcmp(xg, sg, (size_t)n * ESZ) != 0)
		FAIL(w, "entries copied out differ");
	if (expect >= 0 && n != (uint32_t)expect)
		FAIL(w, "consumed %u, the table expects %ld", n, expect);
	return check_header(w);
}

static int final_check(struct world *w, int back, long expect)
{
	int xwork;
	int32_t swork;
	/* With the batch exhausted both read the producer index afresh and
	 * must agree exactly; otherwise libsplitdrv reports what is left of
	 * its batch and Xen the fresh count. */
	int exact = back ? w->xb.req_cons == w->xb_rp : w->xf.rsp_cons == w->xf_rp;

	if (back) {
		RING_FINAL_CHECK_FOR_REQUESTS(&w->xb, xwork);
		swork = sdrv_ring_back_final_check(&w->sb);
		if (exact)
			w->xb_rp = xs(w)->req_prod;
	} else {
		RING_FINAL_CHECK_FOR_RESPONSES(&w->xf, xwork);
		swork = sdrv_ring_front_final_check(&w->sf);
		if (exact)
			w->xf_rp = xs(w)->rsp_prod;
	}
	if (swork < 0)
		FAIL(w, "sdrv final check failed: %d (%s)", swork,
		     sdrv_ring_broken(back ? &w->sb : &w->sf));
	if ((xwork != 0) != (swork != 0) || (exact && xwork != swork))
		FAIL(w, "%s final check: Xen %d, sdrv %d", back ? "backend" : "frontend", xwork,
		     swork);
	if (expect >= 0 && swork != expect)
		FAIL(w, "final check gives %d, the table expects %ld", swork, expect);
	nr_final[swork != 0]++;
	return check_header(w);
}

static int set_event(struct world *w, int rsp, long k)
{
	struct sdrv_sring *a = (void *)w->xpage, *b = (void *)w->spage;

	if (rsp)
		a->rsp_event = b->rsp_event = a->rsp_prod + (uint32_t)k;
	else
		a->req_event = b->req_event = a->req_prod + (uint32_t)k;
	return 0;
}

/* Apply one step; `expect` as parsed from the table (-1 if none). */
static int apply(struct world *w, char op, long arg, long expect)
{
	int rc;

	nr_steps++;
	switch (op) {
	case 'p':
		rc = claim_reqs(w, (uint32_t)arg) ?: push(w, 0, (int)expect);
		break;
	case 'q':
		rc = claim_reqs(w, (uint32_t)arg);
		break;
	case 'P':
		rc = push(w, 0, (int)expect);
		break;
	case 'c':
		rc = consume(w, 1, (uint32_t)arg, expect);
		break;
	case 'r':
		rc = claim_rsps(w, (uint32_t)arg) ?: push(w, 1, (int)expect);
		break;
	case 's':
		rc = claim_rsps(w, (uint32_t)arg);
		break;
	case 'R':
		rc = push(w, 1, (int)expect);
		break;
	case 'd':
		rc = consume(w, 0, (uint32_t)arg, expect);
		break;
	case 'B':
		rc = final_check(w, 1, expect);
		break;
	case 'F':
		rc = final_check(w, 0, expect);
		break;
	case 'e':
		rc = set_event(w, 0, arg);
		break;
	case 'E':
		rc = set_event(w, 1, arg);
		break;
	default:
		FAIL(w, "bad step '%c' in the table", op);
	}
	return rc ?: check_broken(w);
}

static int world_finish(struct world *w)
{
	int rc = 0;

	if (memcmp(w->xpage, w->spage, w->bytes) != 0) {
		fail_at(w);
		fprintf(stderr, "the rings differ at the end of the sequence\n");
		rc = -1;
	}
	world_free(w);
	return rc;
}

/* ---- the hand-written table ---- */

struct seq {
	const char *name;
	uint32_t start;
	unsigned order;
	const char *steps;
};

/* ESZ 64: 32 entries in one page, 256 in 8 (order 3). */
static const struct seq table[] = {
    {"basic: first push notifies, later ones only after a final check", 0, 0,
     "p3! p1. B=4 c4=4 B=0 p1! p1. c2=2 r6! F=6 d6=6 F=0 p2. c2=2 r1! r1. F=2 d2=2"},
    {"basic at the wrap", 0xFFFFFFF0u, 0,
     "p3! p1. B=4 c4=4 B=0 p1! p1. c2=2 r6! F=6 d6=6 F=0 "
     "p20. c20=20 r1! r1. F=2 d2=2 r18. F=18 d18=18 F=0"},
    {"a push that crosses 2^32", 0xFFFFFFF8u, 0, "c1=0 B=0 p16! c16=16 r16! d16=16 F=0 p1."},
    {"indices at 2^32 - 1", 0xFFFFFFFFu, 0, "p1! B=1 c1=1 B=0 p1! c1=1 r1! F=1 d1=1 F=0 r0."},
    {"indices at 2^31", 0x7FFFFFFEu, 0, "p4! c4=4 B=0 p4! r4! c4=4 F=4 d8=4 F=0 r4!"},
    {"event exactly at the new index", 0x100, 0, "e3 p2. p1! p1. e1 p1! e0 p1."},
    {"event behind the producer never notifies", 0, 0, "p1! e-1 p5. e-5 p1. e-100 p25."},
    {"event far ahead (a batching consumer)", 0xFFFFFFF0u, 0,
     "e1000 q32 P. c32=32 r32! d32=32 B=0 p1!"},
    {"event half way (old netfront tx batching)", 0xFFFFFFF0u, 0,
     "q20 P! c20=20 E10 r9. r1! r10. d20=20 F=0"},
    {"full ring, then drain", 0xFFFFFFE0u, 0,
     "q32 P! c40=32 s32 R! F=32 d40=32 F=0 q32 P. c32=32 B=0 r32! d32=32"},
    {"pushing nothing does not notify", 0, 0, "P. R. p1! P. c1=1 r1! R."},
    /* B=5 after p2: libsplitdrv reports what is left of the batch it
     * read, Xen's macro the fresh count (7); both mean "do not sleep". */
    {"final check with work left in the batch", 0xFFFFFFFCu, 0,
     "p8! c3=3 B=5 p2. B=5 c10=5 B=2 c10=2 B=0 p1! r10! d4=4 F=6 d20=6 F=0"},
    {"final check re-arms once per sleep", 0, 0, "B=0 B=0 p1! p1. B=2 c2=2 B=0 p1!"},
    {"multi-page ring across the wrap", 0xFFFFFF80u, 3,
     "q256 P! c300=256 B=0 s200 R! d300=200 q100 P! c300=100 r156. F=156 d400=156 F=0 "
     "p100. c100=100 r100! B=0 p1!"},
    {"multi-page ring from zero", 0, 3, "p255! p1. c1=1 B=255 c255=255 B=0 r256! d256=256 F=0"},
};

static int parse_num(const char **p, long *v)
{
	char *end;

	*v = strtol(*p, &end, 10);
	if (end == *p)
		return -1;
	*p = end;
	return 0;
}

static void run_table(void)
{
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const struct seq *t = &table[i];
		const char *p = t->steps;
		struct world w;

		if (world_init(&w, t->name, t->start, t->order))
			continue;
		w.seq = t->steps;
		while (*p) {
			char op;
			long arg = 0, expect = -1;

			while (*p == ' ')
				p++;
			if (!*p)
				break;
			w.tok = p;
			op = *p++;
			if (strchr("pqcrsdeE", op) && parse_num(&p, &arg)) {
				w.toklen = 1;
				fail_at(&w);
				fprintf(stderr, "bad table entry\n");
				break;
			}
			if (*p == '!' || *p == '.') {
				expect = *p == '!';
				p++;
			} else if (*p == '=') {
				p++;
				if (parse_num(&p, &expect)) {
					fail_at(&w);
					fprintf(stderr, "bad table entry\n");
					break;
				}
			}
			w.toklen = (int)(p - w.tok);
			w.step++;
			if (apply(&w, op, arg, expect))
				break;
		}
		world_finish(&w);
	}
}

/* ---- random sequences ---- */

static uint32_t pick_start(uint64_t *rng)
{
	switch (tu_rand(rng) % 6) {
	case 0:
		return 0;
	case 1:
		return 0xFFFFFFF0u + (uint32_t)(tu_rand(rng) % 16);
	case 2:
		return 0xFFFFFFFFu - (uint32_t)(tu_rand(rng) % 600);
	case 3:
		return 0x7FFFFF00u + (uint32_t)(tu_rand(rng) % 512);
	default:
		return (uint32_t)tu_rand(rng);
	}
}

static int run_random(uint64_t seed, uint64_t count, unsigned steps)
{
	uint64_t rng = seed;
	char name[96];

	for (uint64_t k = 0; k < count && failures < 10; k++) {
		struct world w;
		uint32_t start = pick_start(&rng);
		unsigned order = (unsigned)(tu_rand(&rng) % 3);
		uint32_t nr;

		snprintf(name, sizeof(name), "random sequence %" PRIu64 " (seed %#" PRIx64 ")", k,
			 seed);
		if (world_init(&w, name, start, order))
			continue;
		nr = w.xf.nr_ents;
		w.tok = "?";
		w.toklen = 1;
		for (unsigned i = 0; i < steps; i++) {
			uint64_t r = tu_rand(&rng);
			uint32_t free_req = RING_FREE_REQUESTS(&w.xf);
			uint32_t unanswered = w.xb.req_cons - w.xb.rsp_prod_pvt;
			/* Mostly small batches, sometimes up to the whole ring. */
			uint32_t sz = (r >> 8) % 4 == 0 ? (uint32_t)((r >> 16) % (nr + 1))
							: (uint32_t)((r >> 16) % 6);
			char op;
			long arg;
			static char tok[32];

			switch (r % 12) {
			case 0:
			case 1:
				op = 'p', arg = sz < free_req ? sz : free_req;
				break;
			case 2:
				op = 'q', arg = sz < free_req ? sz : free_req;
				break;
			case 3:
				op = 'P', arg = 0;
				break;
			case 4:
			case 5:
				op = 'c', arg = sz;
				break;
			case 6:
				op = 'r', arg = sz < unanswered ? sz : unanswered;
				break;
			case 7:
				op = 's', arg = sz < unanswered ? sz : unanswered;
				break;
			case 8:
				op = (r >> 40) & 1 ? 'R' : 'd', arg = sz;
				break;
			case 9:
				op = (r >> 40) & 1 ? 'B' : 'F', arg = 0;
				break;
			case 10:
				op = 'd', arg = sz;
				break;
			default:
				/* A consumer asking for a later (or an earlier) wake-up. */
				op = (r >> 40) & 1 ? 'e' : 'E';
				arg = (long)((r >> 41) % (nr + 8)) - 4;
				break;
			}
			w.toklen = snprintf(tok, sizeof(tok), "%c%ld", op, arg);
			w.tok = tok;
			w.step = (int)i + 1;
			if (apply(&w, op, arg, -1))
				break;
		}
		world_finish(&w);
	}
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 0x5d1ce5eedull;
	uint64_t count = tu_scaled(20000, 100);

	tu_watchdog(120, "xen-notify-table");
	run_table();
	if (failures == 0)
		run_random(seed, count, 64);
	if (failures) {
		fprintf(stderr, "xen-notify-table: %d failure(s) (seed %#" PRIx64 ")\n", failures,
			seed);
		return TU_FAIL;
	}
	if (nr_notify[0] < 1000 && count >= 1000)
		fprintf(stderr, "warning: few non-notifying pushes\n");
	if (!nr_notify[0] || !nr_notify[1] || !nr_final[0] || !nr_final[1]) {
		fprintf(stderr, "FAIL: the sequences did not exercise both outcomes\n");
		return TU_FAIL;
	}
	printf("PASS: %zu table sequences and %" PRIu64 " random ones (seed %#" PRIx64 "), %" PRIu64
	       " steps: %" PRIu64 " pushes notified, %" PRIu64 " did not, %" PRIu64
	       " final checks found work, %" PRIu64 " did not; identical to Xen's macros\n",
	       sizeof(table) / sizeof(table[0]), count, seed, nr_steps, nr_notify[1], nr_notify[0],
	       nr_final[1], nr_final[0]);
	return TU_PASS;
}
