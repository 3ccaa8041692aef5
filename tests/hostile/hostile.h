/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the hostile-peer tests: a check macro with a readable
 * failure message, a uniform view of "our side" of a ring (the project's
 * backend against a hostile frontend, or the project's frontend against a
 * hostile backend), and checksummed entries for the torn-copy tests.
 *
 * The hostile peer writes the shared header with plain atomic stores: it
 * may write any field, including ours; the project's side must survive it.
 */
#ifndef SDRV_TESTS_HOSTILE_H
#define SDRV_TESTS_HOSTILE_H

#include <splitdrv/ring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/tutil.h"

/* Fail the test (or the child process) with the condition and a message. */
#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);            \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			fflush(stderr);                                                            \
			exit(TU_FAIL);                                                             \
		}                                                                                  \
	} while (0)

/* The project's side of one ring, whichever end it is. */
struct side {
	struct sdrv_ring r;
	struct sdrv_sring *s;
	unsigned char *mem;
	size_t bytes;
	int back;	     /* 1: our backend vs a hostile frontend; 0: the reverse */
	uint32_t *peer_prod; /* the producer index the hostile peer owns */
	uint32_t *my_event;  /* the event index our consumer arms */
	uint32_t *my_prod;   /* the producer index we publish */
	uint32_t *peer_event;
};

static inline const char *side_name(const struct side *x)
{
	return x->back ? "backend vs hostile frontend" : "frontend vs hostile backend";
}

static inline void side_wire(struct side *x)
{
	x->s = (struct sdrv_sring *)(void *)x->mem;
	if (x->back) {
		x->peer_prod = &x->s->req_prod;
		x->my_event = &x->s->req_event;
		x->my_prod = &x->s->rsp_prod;
		x->peer_event = &x->s->rsp_event;
	} else {
		x->peer_prod = &x->s->rsp_prod;
		x->my_event = &x->s->rsp_event;
		x->my_prod = &x->s->req_prod;
		x->peer_event = &x->s->req_event;
	}
}

/* Attach our side to `mem` (which the test owns) at index `start`. */
static inline void side_attach(struct side *x, int back, void *mem, size_t bytes, size_t esz,
			       sdrv_ring_idx_t start)
{
	int rc;

	memset(x, 0, sizeof(*x));
	x->mem = (unsigned char *)mem;
	x->bytes = bytes;
	x->back = back;
	side_wire(x);
	if (back) {
		/* A well-behaved frontend would have initialised the header at
		 * `start`; the hostile one will overwrite it anyway. */
		x->s->req_prod = start;
		x->s->rsp_prod = start;
		x->s->req_event = start + 1;
		x->s->rsp_event = start + 1;
		rc = sdrv_ring_back_attach(&x->r, mem, bytes, esz, start);
	} else if (start == 0) {
		rc = sdrv_ring_front_init(&x->r, mem, bytes, esz);
	} else {
		x->s->req_prod = start;
		x->s->rsp_prod = start;
		x->s->req_event = start + 1;
		x->s->rsp_event = start + 1;
		rc = sdrv_ring_front_attach(&x->r, mem, bytes, esz, start);
	}
	CHECK(rc == 0, "attach (%s, esz %zu, start %#x) failed: %d", side_name(x), esz, start, rc);
}

static inline uint32_t side_nr(const struct side *x)
{
	return sdrv_ring_nr_ents(&x->r);
}

static inline size_t side_esz(const struct side *x)
{
	return x->r.entry_size;
}

static inline unsigned char *side_slot(const struct side *x, sdrv_ring_idx_t idx)
{
	return x->mem + SDRV_RING_HDR_SIZE + (size_t)(idx & (side_nr(x) - 1)) * side_esz(x);
}

/* Consumer calls of our side. */
static inline int32_t side_take(struct side *x, void *dst, uint32_t max)
{
	return x->back ? sdrv_ring_back_take_reqs(&x->r, dst, max)
		       : sdrv_ring_front_take_rsps(&x->r, dst, max);
}

static inline int32_t side_final_check(struct side *x)
{
	return x->back ? sdrv_ring_back_final_check(&x->r) : sdrv_ring_front_final_check(&x->r);
}

static inline int32_t side_final_check_at(struct side *x, uint64_t now, uint64_t *wait)
{
	return x->back ? sdrv_ring_back_final_check_at(&x->r, now, wait)
		       : sdrv_ring_front_final_check_at(&x->r, now, wait);
}

static inline int32_t side_unconsumed(struct side *x)
{
	return x->back ? sdrv_ring_back_unconsumed(&x->r) : sdrv_ring_front_unconsumed(&x->r);
}

/* Producer calls of our side: claim a (zeroed) slot, publish. */
static inline void *side_next(struct side *x)
{
	return x->back ? sdrv_ring_back_next_rsp(&x->r) : sdrv_ring_front_next_req(&x->r);
}

static inline bool side_push(struct side *x)
{
	return x->back ? sdrv_ring_back_push(&x->r) : sdrv_ring_front_push(&x->r);
}

/* The hostile peer's writes. */
static inline void peer_set_prod(struct side *x, uint32_t v)
{
	__atomic_store_n(x->peer_prod, v, __ATOMIC_RELEASE);
}

static inline uint32_t peer_read(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/* Fill `n` bytes with a pattern, check it is still there. */
#define CANARY 0xc5

static inline void canary_fill(void *p, size_t n)
{
	memset(p, CANARY, n);
}

/* Index of the first byte of [p, p+n) that is not the canary, or n. */
static inline size_t canary_first_bad(const void *p, size_t n)
{
	const unsigned char *b = (const unsigned char *)p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != CANARY)
			return i;
	return n;
}

/*
 * Checksummed entries. The last 4 bytes of an entry hold the FNV-1a hash of
 * the rest; a copy whose hash does not match is torn.
 */
static inline void entry_seal(unsigned char *e, size_t esz)
{
	uint32_t h = tu_fnv1a(e, esz - 4);

	memcpy(e + esz - 4, &h, 4);
}

static inline int entry_valid(const unsigned char *e, size_t esz)
{
	uint32_t h;

	memcpy(&h, e + esz - 4, 4);
	return h == tu_fnv1a(e, esz - 4);
}

#endif
