/* SPDX-License-Identifier: MIT */
/*
 * Ring set-up and the colder parts of the ring core. Freestanding: no libc
 * beyond what the compiler provides (memset/memcpy may be emitted by it).
 */
#include <splitdrv/ring.h>

uint32_t sdrv_ring_size_for(size_t ring_bytes, size_t entry_size)
{
	size_t n;
	uint32_t p = 1;

	if (entry_size == 0 || ring_bytes < SDRV_RING_HDR_SIZE)
		return 0;
	n = (ring_bytes - SDRV_RING_HDR_SIZE) / entry_size;
	if (n == 0)
		return 0;
	if (n > (size_t)1 << 31)
		n = (size_t)1 << 31;
	while ((size_t)p * 2 <= n)
		p *= 2;
	return p;
}

static int attach(struct sdrv_ring *r, void *shared, size_t bytes, size_t entry_size,
		  sdrv_ring_idx_t start, enum sdrv_ring_side side)
{
	uint32_t n;

	/* At most 2^SDRV_RING_MAX_ORDER pages: every count then fits the
	 * int32_t the hot paths return, whatever the peer writes. */
	if (!r || !shared || ((uintptr_t)shared & 7) != 0 || entry_size > UINT32_MAX ||
	    bytes > SDRV_RING_BYTES(SDRV_RING_MAX_ORDER))
		return -SDRV_EINVAL;
	n = sdrv_ring_size_for(bytes, entry_size);
	if (n == 0)
		return -SDRV_EINVAL;
	__builtin_memset(r, 0, sizeof(*r));
	r->sring = (struct sdrv_sring *)shared;
	r->ents = (unsigned char *)shared + SDRV_RING_HDR_SIZE;
	r->nr_ents = n;
	r->mask = n - 1;
	r->entry_size = (uint32_t)entry_size;
	r->prod_pvt = start;
	r->pushed = start;
	r->cons = start;
	r->peer_prod = start;
	r->prod_limit = side == SDRV_RING_FRONT ? start + n : start;
	r->side = side;
	r->batch = 1;
	return 0;
}

int sdrv_ring_front_init(struct sdrv_ring *r, void *shared, size_t bytes, size_t entry_size)
{
	struct sdrv_sring *s = (struct sdrv_sring *)shared;
	int rc = attach(r, shared, bytes, entry_size, 0, SDRV_RING_FRONT);

	if (rc)
		return rc;
	/* SHARED_RING_INIT; the backend may already watch the page, so the
	 * indices are written as single stores, padding before them. */
	__builtin_memset(s->pvt, 0, sizeof(s->pvt));
	__builtin_memset(s->pad, 0, sizeof(s->pad));
	/* Stale contents of the pages never reach the backend (XSA-403):
	 * the slots, and the tail past them that the backend can read too. */
	__builtin_memset(r->ents, 0, bytes - SDRV_RING_HDR_SIZE);
	SDRV_STORE_ONCE(&s->req_prod, 0);
	SDRV_STORE_ONCE(&s->rsp_prod, 0);
	SDRV_STORE_ONCE(&s->req_event, 1);
	SDRV_STORE_RELEASE(&s->rsp_event, 1);
	return 0;
}

int sdrv_ring_front_attach(struct sdrv_ring *r, void *shared, size_t bytes, size_t entry_size,
			   sdrv_ring_idx_t start)
{
	return attach(r, shared, bytes, entry_size, start, SDRV_RING_FRONT);
}

int sdrv_ring_back_attach(struct sdrv_ring *r, void *shared, size_t bytes, size_t entry_size,
			  sdrv_ring_idx_t start)
{
	return attach(r, shared, bytes, entry_size, start, SDRV_RING_BACK);
}

int sdrv_ring_set_batch(struct sdrv_ring *r, uint32_t batch, uint64_t max_delay_ns)
{
	if (!r || batch == 0 || batch > r->nr_ents)
		return -SDRV_EINVAL;
	r->batch = batch;
	r->max_delay_ns = max_delay_ns;
	return 0;
}

void sdrv_ring_set_broken(struct sdrv_ring *r, const char *reason)
{
	if (r)
		sdrv__break(r, reason ? reason : "broken by the caller");
}

/*
 * The batched final check, common to both ends. `want` is how many entries
 * are worth a wake-up; `bounded` says whether entries can arrive at all
 * (a frontend with nothing outstanding expects none).
 *
 * Time bound: every entry waiting now arrived after the last moment the
 * ring was seen empty (empty_seen_ns), so it has waited at most
 * now - empty_seen_ns. Entries are handed out once that reaches the bound;
 * while the ring is empty the consumer must look again within the bound.
 */
static int32_t final_check_at(struct sdrv_ring *r, uint32_t *event_field, uint32_t want,
			      bool expect_more, int back, uint64_t now_ns, uint64_t *wait_ns)
{
	int32_t n;
	uint64_t delay = r->max_delay_ns;

	*wait_ns = SDRV_WAIT_FOREVER;
	if (r->broken)
		return -SDRV_EPROTO;
	n = back ? sdrv__back_refresh(r) : sdrv__front_refresh(r);
	if (n < 0)
		return n;
	if ((uint32_t)n >= want)
		return n;
	if (n > 0 && delay && now_ns - r->empty_seen_ns >= delay)
		return n;
	if (n == 0)
		r->empty_seen_ns = now_ns;
	SDRV_STORE_ONCE(event_field, r->cons + want);
	SDRV_MB();
	n = back ? sdrv__back_refresh(r) : sdrv__front_refresh(r);
	if (n < 0 || (uint32_t)n >= want)
		return n;
	if (want > 1 && delay && expect_more) {
		uint64_t waited = now_ns - r->empty_seen_ns;
		*wait_ns = waited >= delay ? 0 : delay - waited;
	}
	return 0;
}

int32_t sdrv_ring_front_final_check_at(struct sdrv_ring *r, uint64_t now_ns, uint64_t *wait_ns)
{
	uint32_t outstanding = r->pushed - r->cons;
	uint32_t want = r->batch;

	/* Never wait for more responses than there are requests to answer. */
	if (want > outstanding)
		want = outstanding ? outstanding : 1;
	return final_check_at(r, &r->sring->rsp_event, want, outstanding != 0, 0, now_ns, wait_ns);
}

int32_t sdrv_ring_back_final_check_at(struct sdrv_ring *r, uint64_t now_ns, uint64_t *wait_ns)
{
	return final_check_at(r, &r->sring->req_event, r->batch, true, 1, now_ns, wait_ns);
}

int sdrv_ring_ids_init(struct sdrv_ring_ids *ids, uint32_t *storage, uint32_t n)
{
	uint32_t i;

	if (!ids || !storage || n == 0 || n == SDRV_RING_ID_BUSY)
		return -SDRV_EINVAL;
	for (i = 0; i < n; i++)
		storage[i] = i + 1;
	ids->n = n;
	ids->nr_free = n;
	ids->free_head = 0;
	ids->link = storage;
	return 0;
}

void sdrv_pollsleep_init(struct sdrv_pollsleep *ps, uint64_t max_ns, uint64_t min_ns)
{
	__builtin_memset(ps, 0, sizeof(*ps));
	if (min_ns > max_ns)
		min_ns = max_ns;
	ps->max_ns = max_ns;
	ps->min_ns = min_ns;
	ps->window_ns = max_ns;
}

void sdrv_pollsleep_slept(struct sdrv_pollsleep *ps, uint64_t slept_ns)
{
	ps->sleeps++;
	if (slept_ns < ps->max_ns) {
		/* Polling a little longer would have avoided this sleep. */
		uint64_t w = ps->window_ns ? ps->window_ns * 2 : ps->min_ns;
		ps->window_ns = w > ps->max_ns ? ps->max_ns : w;
	} else {
		/* The work came long after any window: polling was wasted. */
		uint64_t w = ps->window_ns / 2;
		ps->window_ns = w < ps->min_ns ? ps->min_ns : w;
	}
}
