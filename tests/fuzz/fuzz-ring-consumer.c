/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the ring consumer paths.
 *
 * The input picks a ring geometry (entry sizes including odd ones such as
 * 12, 112 and 113, orders 0..2, start indices around the 32-bit wrap), the
 * project's side (a backend against a hostile frontend, or a frontend that
 * tracks request ids against a hostile backend), and then scripts a
 * hostile peer: it writes the peer's producer index (absolute, or relative
 * to interesting values such as the legal bound), the peer's event index,
 * any header word including ours, scribbles entry bytes, produces entries,
 * interleaved with the project's calls: take, next slot, push, final
 * check, batched final check, unconsumed.
 *
 * The shared region is an exact-size heap block (optionally ending right
 * after the last entry), so any access outside it is caught by ASan or
 * valgrind. Invariants (abort() on violation):
 *  - counts never exceed `max` nor the ring size; take returns exactly
 *    what the documented snapshot rule gives (read the peer's index only
 *    when the previous snapshot is exhausted; accept it iff legal);
 *  - copies are the entries' bytes; nothing past them in the destination
 *    is written; a broken ring copies nothing;
 *  - cons never passes a validated producer index, the snapshot is always
 *    a legal value the peer actually wrote;
 *  - the ring never un-breaks and keeps its first reason; -SDRV_EPROTO iff
 *    broken;
 *  - the project's side writes shared memory only where it may: consumers
 *    never, final checks only their event index, next-slot only the slot
 *    (zeroed), push only its producer index;
 *  - slots handed out are zeroed and where the index says.
 */
#include "harness.h"

#include <splitdrv/ring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fz_stats fz_stats;

static void fz_fail(const char *what, int line) __attribute__((noreturn));

static void fz_fail(const char *what, int line)
{
	fprintf(stderr, "fuzz-ring-consumer: invariant violated at line %d: %s\n", line, what);
	abort();
}

#define FZ_CHECK(cond)                                                                             \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fz_fail(#cond, __LINE__);                                                  \
	} while (0)

/* ------------------------------ input ----------------------------------- */

struct input {
	const uint8_t *p;
	size_t n, i;
};

static uint8_t in8(struct input *in)
{
	return in->i < in->n ? in->p[in->i++] : 0;
}

static uint16_t in16(struct input *in)
{
	uint16_t lo = in8(in);

	return (uint16_t)(lo | (uint16_t)in8(in) << 8);
}

static uint32_t in32(struct input *in)
{
	uint32_t lo = in16(in);

	return lo | (uint32_t)in16(in) << 16;
}

/* ------------------------------ state ----------------------------------- */

#define OWN_REASON "fuzz: layer above rejected a response id"

struct fz {
	struct sdrv_ring r;
	unsigned char *mem, *shadow, *dst;
	size_t bytes, esz, dstsz;
	uint32_t nr;
	int back;
	uint32_t *peer_prod, *peer_event, *my_prod, *my_event;
	/* Model of our side. */
	sdrv_ring_idx_t cons, prod_pvt, pushed;
	const char *broken;
	uint32_t batch;
	uint64_t delay, now;
	/* Scripted peer. */
	sdrv_ring_idx_t peer_next;
	/* Frontend: request ids (when entries are at least 4 bytes). */
	int use_ids;
	struct sdrv_ring_ids ids;
	uint32_t *links;
	/* Backend: the id of each request taken, to echo in its response. */
	uint32_t *pending;
};

static const uint32_t esizes[] = {1,   2,   4,	 8,   12,  16,	 24,   36,   64,
				  100, 112, 113, 128, 508, 2016, 4032, 4033, 16320};
static const uint32_t starts[] = {0,	       1,	    0x7fffffffu, 0x80000000u,
				  0xfffffffeu, 0xffffffffu, 0xffffff00u, 0xfffffff0u};

static uint32_t rd_id(const unsigned char *e, size_t esz)
{
	uint32_t id = 0;

	memcpy(&id, e, esz < 4 ? esz : 4);
	return id;
}

static unsigned char *slot_of(const struct fz *f, sdrv_ring_idx_t idx)
{
	return f->mem + SDRV_RING_HDR_SIZE + (size_t)(idx & (f->nr - 1)) * f->esz;
}

/* Whether `v` is a legal peer producer index in the model's state. */
static int legal(const struct fz *f, uint32_t v)
{
	if (f->back)
		return v - f->prod_pvt <= f->nr && v - f->prod_pvt >= f->cons - f->prod_pvt;
	return v - f->cons <= f->pushed - f->cons;
}

static void model_sync_broken(struct fz *f)
{
	const char *why = sdrv_ring_broken(&f->r);

	if (f->broken) {
		FZ_CHECK(why == f->broken); /* never un-breaks, keeps the first reason */
	} else if (why) {
		FZ_CHECK(why[0] != '\0');
		f->broken = why;
	}
}

/* Our side's state agrees with the model; the snapshot is legal. */
static void invariants(struct fz *f)
{
	uint32_t p = f->r.peer_prod;

	model_sync_broken(f);
	FZ_CHECK(f->r.cons == f->cons);
	FZ_CHECK(f->r.prod_pvt == f->prod_pvt);
	FZ_CHECK(f->r.pushed == f->pushed);
	FZ_CHECK(p - f->cons <= f->nr); /* cons never passes the snapshot */
	if (f->back) {
		FZ_CHECK(f->cons - f->prod_pvt <= f->nr);
		FZ_CHECK(f->prod_pvt - f->pushed <= f->cons - f->pushed);
		/* Documented as consumed-but-unanswered; a broken ring currently
		 * reports 0 (tests/hostile/xfail-unanswered-after-break). */
		FZ_CHECK(sdrv_ring_back_unanswered(&f->r) == f->cons - f->prod_pvt ||
			 (f->broken && sdrv_ring_back_unanswered(&f->r) == 0));
		FZ_CHECK(p - f->prod_pvt <= f->nr);
		FZ_CHECK(f->cons - f->prod_pvt <= p - f->prod_pvt);
	} else {
		FZ_CHECK(f->prod_pvt - f->cons <= f->nr);
		FZ_CHECK(f->pushed - f->cons <= f->prod_pvt - f->cons);
		/* A broken ring may report no free slot: none is handed out. */
		FZ_CHECK(sdrv_ring_front_free(&f->r) == f->nr - (f->prod_pvt - f->cons) ||
			 (f->broken && sdrv_ring_front_free(&f->r) == 0));
		FZ_CHECK(sdrv_ring_front_outstanding(&f->r) == f->pushed - f->cons);
		FZ_CHECK(p - f->cons <= f->pushed - f->cons);
		if (f->use_ids && !f->broken)
			FZ_CHECK(f->ids.n - f->ids.nr_free == f->prod_pvt - f->cons);
	}
}

/* Before a call of our side: remember shared memory. */
static void before(struct fz *f)
{
	memcpy(f->shadow, f->mem, f->bytes);
}

/* After it: shared memory changed only in [lo, hi) (our own field/slot). */
static void only_changed(const struct fz *f, size_t lo, size_t hi)
{
	FZ_CHECK(memcmp(f->shadow, f->mem, lo) == 0);
	FZ_CHECK(memcmp(f->shadow + hi, f->mem + hi, f->bytes - hi) == 0);
}

static size_t off_of(const struct fz *f, const void *p)
{
	return (size_t)((const unsigned char *)p - f->mem);
}

/* ------------------------------ our side -------------------------------- */

static void op_take(struct fz *f, struct input *in)
{
	uint8_t b = in8(in);
	uint32_t max, snap = f->r.peer_prod, field = *f->peer_prod, want_n = 0;
	sdrv_ring_idx_t cons0 = f->cons;
	int expect_broken = 0;
	int32_t n;

	if (b < 200)
		max = b;
	else if (b < 250)
		max = f->nr + (uint32_t)(b - 200);
	else
		max = UINT32_MAX - (uint32_t)(b - 250);
	/* The oracle (ring.h): the peer's index is read only when the
	 * snapshot is exhausted, and accepted iff legal. */
	if (f->broken) {
		expect_broken = 1;
	} else if (snap != cons0) {
		want_n = snap - cons0;
	} else if (legal(f, field)) {
		want_n = field - cons0;
	} else {
		expect_broken = 1;
	}
	if (want_n > max)
		want_n = max;

	memset(f->dst, 0xc5, f->dstsz);
	before(f);
	n = f->back ? sdrv_ring_back_take_reqs(&f->r, f->dst, max)
		    : sdrv_ring_front_take_rsps(&f->r, f->dst, max);
	only_changed(f, 0, 0); /* a consumer never writes shared memory */
	if (expect_broken) {
		FZ_CHECK(n == -SDRV_EPROTO);
		FZ_CHECK(sdrv_ring_broken(&f->r) != NULL);
		n = 0;
	} else {
		FZ_CHECK(n >= 0);
		FZ_CHECK((uint32_t)n == want_n);
	}
	FZ_CHECK((uint32_t)n <= max && (uint32_t)n <= f->nr);
	for (int32_t i = 0; i < n; i++)
		FZ_CHECK(memcmp(f->dst + (size_t)i * f->esz, slot_of(f, cons0 + (uint32_t)i),
				f->esz) == 0);
	for (size_t k = (size_t)n * f->esz; k < f->dstsz; k++)
		FZ_CHECK(f->dst[k] == 0xc5);
	if (snap != cons0 && !expect_broken)
		FZ_CHECK(f->r.peer_prod == snap); /* no re-read while work remains */
	f->cons += (uint32_t)n;
	fz_stats.taken += (uint64_t)n;

	/* The layer above acts on the copies only. */
	for (int32_t i = 0; i < n; i++) {
		const unsigned char *e = f->dst + (size_t)i * f->esz;
		sdrv_ring_idx_t idx = cons0 + (uint32_t)i;

		if (f->back) {
			f->pending[idx & (f->nr - 1)] = rd_id(e, f->esz);
		} else if (f->use_ids && sdrv_ring_ids_put(&f->ids, rd_id(e, f->esz)) != 0) {
			sdrv_ring_set_broken(&f->r, OWN_REASON);
			if (!f->broken)
				fz_stats.broken_by_ids++;
			FZ_CHECK(sdrv_ring_broken(&f->r) == (f->broken ? f->broken : OWN_REASON));
			break;
		}
	}
}

static void op_next(struct fz *f, struct input *in)
{
	unsigned k = (unsigned)(in8(in) % 8) + 1;

	for (unsigned j = 0; j < k; j++) {
		uint32_t room = f->back ? f->cons - f->prod_pvt : f->nr - (f->prod_pvt - f->cons);
		unsigned char *want = slot_of(f, f->prod_pvt), *slot;
		uint32_t id = 0;

		before(f);
		slot = f->back ? sdrv_ring_back_next_rsp(&f->r) : sdrv_ring_front_next_req(&f->r);
		if (f->broken || room == 0) {
			FZ_CHECK(slot == NULL);
			only_changed(f, 0, 0);
			return;
		}
		FZ_CHECK(slot == want);
		/* Every slot handed out is zeroed (XSA-216), and nothing else
		 * in shared memory changes. */
		only_changed(f, off_of(f, slot), off_of(f, slot) + f->esz);
		for (size_t b = 0; b < f->esz; b++)
			FZ_CHECK(slot[b] == 0);
		if (f->back) {
			id = f->pending[f->prod_pvt & (f->nr - 1)];
		} else if (f->use_ids) {
			FZ_CHECK(sdrv_ring_ids_get(&f->ids, &id) == 0);
		}
		memcpy(slot, &id, f->esz < 4 ? f->esz : 4);
		if (f->esz > 4)
			slot[f->esz - 1] = in8(in);
		f->prod_pvt++;
		fz_stats.produced++;
	}
}

static void op_push(struct fz *f)
{
	uint32_t ev = *f->peer_event, old = f->pushed, new_prod = f->prod_pvt;
	bool notify;

	before(f);
	notify = f->back ? sdrv_ring_back_push(&f->r) : sdrv_ring_front_push(&f->r);
	if (new_prod == old) {
		FZ_CHECK(!notify);
		only_changed(f, 0, 0);
		return;
	}
	only_changed(f, off_of(f, f->my_prod), off_of(f, f->my_prod) + 4);
	FZ_CHECK(*f->my_prod == new_prod);
	FZ_CHECK(notify == ((uint32_t)(new_prod - ev) < (uint32_t)(new_prod - old)));
	f->pushed = new_prod;
}

/* Result of a final check: a count the snapshot justifies, 0 with the
 * event armed at cons + `want`, or -SDRV_EPROTO iff broken. */
static void check_final(struct fz *f, int32_t n, int was_broken, uint32_t want)
{
	model_sync_broken(f);
	if (was_broken || f->broken) {
		FZ_CHECK(n == -SDRV_EPROTO);
		FZ_CHECK(f->broken != NULL);
		return;
	}
	FZ_CHECK(n >= 0 && (uint32_t)n <= f->nr);
	FZ_CHECK((uint32_t)n == f->r.peer_prod - f->cons);
	if (n == 0) {
		FZ_CHECK(*f->my_event == f->cons + want);
		FZ_CHECK(*f->peer_prod == f->cons);
	}
}

static void op_final_check(struct fz *f)
{
	int was = f->broken != NULL;
	int32_t n;

	before(f);
	n = f->back ? sdrv_ring_back_final_check(&f->r) : sdrv_ring_front_final_check(&f->r);
	only_changed(f, off_of(f, f->my_event), off_of(f, f->my_event) + 4);
	check_final(f, n, was, 1);
}

static void op_final_check_at(struct fz *f, struct input *in)
{
	int was = f->broken != NULL;
	uint32_t outstanding = f->pushed - f->cons, want = f->batch;
	uint64_t wait = 0;
	int32_t n;

	if (!f->back && want > outstanding)
		want = outstanding ? outstanding : 1;
	f->now += (uint64_t)in16(in) * 97;
	before(f);
	n = f->back ? sdrv_ring_back_final_check_at(&f->r, f->now, &wait)
		    : sdrv_ring_front_final_check_at(&f->r, f->now, &wait);
	only_changed(f, off_of(f, f->my_event), off_of(f, f->my_event) + 4);
	if (n == 0 && !was) {
		/* 0 with fewer than `want` waiting (the batch is not full yet). */
		FZ_CHECK(*f->my_event == f->cons + want);
		FZ_CHECK(f->r.peer_prod - f->cons < want);
		FZ_CHECK(wait == SDRV_WAIT_FOREVER || wait <= f->delay);
		model_sync_broken(f);
		FZ_CHECK(!f->broken);
		return;
	}
	model_sync_broken(f);
	if (was || f->broken) {
		FZ_CHECK(n == -SDRV_EPROTO);
		return;
	}
	FZ_CHECK(n > 0 && (uint32_t)n <= f->nr);
	FZ_CHECK((uint32_t)n == f->r.peer_prod - f->cons);
}

static void op_unconsumed(struct fz *f)
{
	int was = f->broken != NULL;
	uint32_t field = *f->peer_prod;
	int32_t n;

	before(f);
	n = f->back ? sdrv_ring_back_unconsumed(&f->r) : sdrv_ring_front_unconsumed(&f->r);
	only_changed(f, 0, 0);
	model_sync_broken(f);
	if (was) {
		FZ_CHECK(n == -SDRV_EPROTO);
	} else if (legal(f, field)) {
		FZ_CHECK(n >= 0 && (uint32_t)n == field - f->cons && !f->broken);
	} else {
		FZ_CHECK(n == -SDRV_EPROTO && f->broken);
	}
}

static void op_set_batch(struct fz *f, struct input *in)
{
	uint32_t b = in8(in);
	uint64_t d = (uint64_t)in16(in) * 1000;
	int rc;

	if (b == 255)
		b = f->nr + 1;
	rc = sdrv_ring_set_batch(&f->r, b, d);
	if (b == 0 || b > f->nr) {
		FZ_CHECK(rc == -SDRV_EINVAL);
	} else {
		FZ_CHECK(rc == 0);
		f->batch = b;
		f->delay = d;
	}
}

/* ------------------------------ the peer -------------------------------- */

static uint32_t peer_base(const struct fz *f, uint8_t sel)
{
	switch (sel % 6) {
	case 0:
		return f->cons;
	case 1:
		return f->prod_pvt;
	case 2:
		return f->pushed;
	case 3:
		return f->r.peer_prod;
	case 4:
		return f->peer_next;
	default:
		return *f->my_prod;
	}
}

static void peer_prod_rel(struct fz *f, struct input *in)
{
	uint8_t sel = in8(in);
	int8_t delta = (int8_t)in8(in);
	uint32_t v = peer_base(f, sel) + (uint32_t)(int32_t)delta + (uint32_t)(sel >> 6) * f->nr;

	*f->peer_prod = v;
}

static void peer_produce(struct fz *f, struct input *in)
{
	uint8_t b = in8(in);
	uint32_t k = b == 255 ? f->nr : b == 254 ? f->nr + 1 : b % (f->nr + 2);

	for (uint32_t i = 0; i < k; i++) {
		unsigned char *e = slot_of(f, f->peer_next + i);

		if (f->back) {
			/* A frontend's request: some id, some bytes. */
			uint32_t id = in8(in);
			memcpy(e, &id, f->esz < 4 ? f->esz : 4);
		}
		/* A backend answering in order leaves the request's id in
		 * place (same slot); both scribble the entry's last byte. */
		if (f->esz > 4)
			e[f->esz - 1] = in8(in);
	}
	f->peer_next += k;
	*f->peer_prod = f->peer_next;
}

static void peer_scribble(struct fz *f, struct input *in)
{
	size_t off = in16(in) % f->bytes;
	size_t len = in8(in) % 33;

	for (size_t i = 0; i < len && off + i < f->bytes; i++)
		f->mem[off + i] = in8(in);
}

static void peer_header_word(struct fz *f, struct input *in)
{
	uint8_t w = in8(in) % 16;
	uint32_t v = in32(in);

	memcpy(f->mem + 4 * w, &v, 4);
}

static void peer_event(struct fz *f, struct input *in)
{
	uint8_t sel = in8(in);

	*f->peer_event = peer_base(f, sel) + (uint32_t)(int32_t)(int8_t)in8(in);
}

static void peer_sync(struct fz *f, struct input *in)
{
	f->peer_next = peer_base(f, in8(in));
}

/* ------------------------------- driver --------------------------------- */

static int setup(struct fz *f, struct input *in)
{
	uint8_t c0 = in8(in), c1 = in8(in), c2 = in8(in);
	unsigned order = (unsigned)(c1 % 3);
	sdrv_ring_idx_t start = (c1 & 0x80) ? in32(in) : starts[c2 % 8];
	int exact = (c1 >> 2) & 1, garbage = (c1 >> 3) & 1, init = (c1 >> 4) & 1;
	int rc;

	memset(f, 0, sizeof(*f));
	f->esz = esizes[c0 % (sizeof(esizes) / sizeof(esizes[0]))];
	f->back = (c1 >> 5) & 1;
	f->nr = sdrv_ring_size_for(SDRV_RING_BYTES(order), f->esz);
	if (f->nr == 0) {
		uint64_t page[SDRV_PAGE_SIZE / 8];
		struct sdrv_ring r;

		FZ_CHECK(sdrv_ring_back_attach(&r, page, sizeof(page), f->esz, 0) == -SDRV_EINVAL);
		return -1;
	}
	f->bytes = exact ? SDRV_RING_HDR_SIZE + (size_t)f->nr * f->esz : SDRV_RING_BYTES(order);
	FZ_CHECK(sdrv_ring_size_for(f->bytes, f->esz) == f->nr);
	f->mem = malloc(f->bytes);
	f->shadow = malloc(f->bytes);
	f->dstsz = (size_t)f->nr * f->esz;
	f->dst = malloc(f->dstsz);
	f->links = malloc(sizeof(*f->links) * f->nr);
	f->pending = calloc(f->nr, sizeof(*f->pending));
	FZ_CHECK(f->mem && f->shadow && f->dst && f->links && f->pending);
	memset(f->mem, 0, f->bytes);
	if (garbage)
		for (size_t i = 0; i < f->bytes; i += 61)
			f->mem[i] = in8(in);
	if (f->back) {
		f->peer_prod = &((struct sdrv_sring *)(void *)f->mem)->req_prod;
		f->peer_event = &((struct sdrv_sring *)(void *)f->mem)->rsp_event;
		f->my_prod = &((struct sdrv_sring *)(void *)f->mem)->rsp_prod;
		f->my_event = &((struct sdrv_sring *)(void *)f->mem)->req_event;
		rc = sdrv_ring_back_attach(&f->r, f->mem, f->bytes, f->esz, start);
	} else {
		f->peer_prod = &((struct sdrv_sring *)(void *)f->mem)->rsp_prod;
		f->peer_event = &((struct sdrv_sring *)(void *)f->mem)->req_event;
		f->my_prod = &((struct sdrv_sring *)(void *)f->mem)->req_prod;
		f->my_event = &((struct sdrv_sring *)(void *)f->mem)->rsp_event;
		if (init) {
			start = 0;
			rc = sdrv_ring_front_init(&f->r, f->mem, f->bytes, f->esz);
			FZ_CHECK(*f->my_prod == 0 && *f->peer_prod == 0);
			/* Nothing stale after the header (XSA-403). */
			for (size_t i = SDRV_RING_HDR_SIZE; i < f->bytes; i++)
				FZ_CHECK(f->mem[i] == 0);
		} else {
			rc = sdrv_ring_front_attach(&f->r, f->mem, f->bytes, f->esz, start);
		}
		f->use_ids = f->esz >= 4;
		if (f->use_ids)
			FZ_CHECK(sdrv_ring_ids_init(&f->ids, f->links, f->nr) == 0);
	}
	FZ_CHECK(rc == 0);
	FZ_CHECK(sdrv_ring_nr_ents(&f->r) == f->nr);
	f->cons = f->prod_pvt = f->pushed = f->peer_next = start;
	f->batch = 1;
	return 0;
}

static void teardown(struct fz *f)
{
	free(f->mem);
	free(f->shadow);
	free(f->dst);
	free(f->links);
	free(f->pending);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size, 0};
	struct fz f;
	unsigned ops = 0;

	fz_stats.inputs++;
	if (setup(&f, &in) != 0)
		return 0;
	fz_stats.rings++;
	invariants(&f);
	while (in.i < in.n && ops++ < 20000) {
		switch (in8(&in) % 16) {
		case 0:
			peer_prod_rel(&f, &in);
			break;
		case 1:
			*f.peer_prod = in32(&in);
			break;
		case 2:
			peer_produce(&f, &in);
			break;
		case 3:
			peer_scribble(&f, &in);
			break;
		case 4:
			peer_header_word(&f, &in);
			break;
		case 5:
			peer_event(&f, &in);
			break;
		case 6:
			peer_sync(&f, &in);
			break;
		case 7:
		case 8:
			op_take(&f, &in);
			break;
		case 9:
			op_next(&f, &in);
			break;
		case 10:
			op_push(&f);
			break;
		case 11:
			op_final_check(&f);
			break;
		case 12:
			op_final_check_at(&f, &in);
			break;
		case 13:
			op_unconsumed(&f);
			break;
		case 14:
			op_set_batch(&f, &in);
			break;
		default:
			/* Rarely, the layer above gives up for its own reasons. */
			if (in8(&in) == 0xa5)
				sdrv_ring_set_broken(&f.r, "fuzz: layer above gave up");
			break;
		}
		invariants(&f);
	}
	fz_stats.ops += ops;
	if (f.broken)
		fz_stats.broken++;
	teardown(&f);
	return 0;
}
