/* SPDX-License-Identifier: MIT */
/*
 * blkfront's data path: I/Os are cut into parts (one ring request each),
 * which take a ring slot, a tracker id and granted pages; responses are
 * copied out, checked and matched to their part; a disconnect puts the
 * unanswered parts aside to be sent again on the next connection.
 *
 * Nothing here trusts the backend. A response reaches a part only through
 * the tracker id it carries (never a pointer), after the codec accepted
 * it and it matched the request that id was given to; anything else
 * breaks the device. A granted page goes back into use only after the
 * transport's atomic end of access succeeded, or (persistent grants) for
 * the same backend and device, which keeps it mapped by design.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "blkfront-int.h"

static uint32_t div_up(uint64_t a, uint32_t b)
{
	return (uint32_t)((a + b - 1) / b);
}

/* ------------------------------------------------------------------------ */
/* Granted pages */

int bf_pool_init(struct sdrv_blkfront *f, struct bf_pool *p, uint32_t n, bool writable)
{
	memset(p, 0, sizeof(*p));
	p->free_head = BF_NONE;
	if (n == 0)
		return 0;
	p->n = n;
	p->nchunks = div_up(n, BF_POOL_CHUNK);
	p->next = calloc(n, sizeof(*p->next));
	p->addr = calloc(n, sizeof(*p->addr));
	p->ref = calloc(n, sizeof(*p->ref));
	p->chunks = calloc(p->nchunks, sizeof(*p->chunks));
	if (!p->next || !p->addr || !p->ref || !p->chunks) {
		bf_pool_release(f, p);
		return -ENOMEM;
	}
	for (uint32_t c = 0; c < p->nchunks; c++) {
		uint32_t first = c * BF_POOL_CHUNK;
		uint32_t cnt = n - first < BF_POOL_CHUNK ? n - first : BF_POOL_CHUNK;
		unsigned char *mem =
		    sdrv_gnt_share(f->x, f->be_domid, cnt, writable, p->ref + first);

		if (!mem) {
			int rc = -errno;
			bf_pool_release(f, p);
			return rc ? rc : -ENOMEM;
		}
		p->chunks[c].mem = mem;
		p->chunks[c].n = cnt;
		for (uint32_t i = 0; i < cnt; i++)
			p->addr[first + i] = mem + (size_t)i * BF_PAGE;
	}
	for (uint32_t i = n; i-- > 0;) {
		p->next[i] = p->free_head;
		p->free_head = i;
	}
	p->nfree = n;
	return 0;
}

/* Revoke a pool. A chunk the backend still maps is kept aside, never used
 * again (XSA-396); the pool's bookkeeping goes either way. */
void bf_pool_release(struct sdrv_blkfront *f, struct bf_pool *p)
{
	for (uint32_t c = 0; p->chunks && c < p->nchunks; c++) {
		if (!p->chunks[c].mem)
			continue;
		if (sdrv_gnt_unshare(f->x, p->chunks[c].mem, p->chunks[c].n) == -EBUSY)
			bf_bury(f, p->chunks[c].mem, p->chunks[c].n);
	}
	free(p->next);
	free(p->addr);
	free(p->ref);
	free(p->chunks);
	memset(p, 0, sizeof(*p));
	p->free_head = BF_NONE;
}

static uint32_t pool_take(struct bf_pool *p, uint32_t n)
{
	uint32_t head = BF_NONE, prev = BF_NONE;

	for (uint32_t k = 0; k < n; k++) {
		uint32_t i = p->free_head;

		p->free_head = p->next[i];
		if (prev == BF_NONE)
			head = i;
		else
			p->next[prev] = i;
		prev = i;
	}
	if (prev != BF_NONE)
		p->next[prev] = BF_NONE;
	p->nfree -= n;
	return head;
}

static void pool_give(struct bf_pool *p, uint32_t head)
{
	while (head != BF_NONE) {
		uint32_t nx = p->next[head];

		p->next[head] = p->free_head;
		p->free_head = head;
		p->nfree++;
		head = nx;
	}
}

void bf_bury(struct sdrv_blkfront *f, void *mem, uint32_t n)
{
	struct bf_grave *g = malloc(sizeof(*g));

	if (!g) {
		/* Without a record the pages are never revoked; they are still
		 * never reused, which is what matters. */
		bf_log(f, LOG_ERR, "out of memory: %u granted pages left to the backend", n);
		return;
	}
	g->mem = mem;
	g->n = n;
	g->next = f->graves;
	f->graves = g;
	f->grave_pages += n;
	bf_want_retry(f, 10000000ull);
}

void bf_reap_graves(struct sdrv_blkfront *f)
{
	struct bf_grave **pp = &f->graves;

	while (*pp) {
		struct bf_grave *g = *pp;

		if (sdrv_gnt_unshare(f->x, g->mem, g->n) == -EBUSY) {
			pp = &g->next;
			continue;
		}
		f->grave_pages -= g->n;
		*pp = g->next;
		free(g);
	}
	if (f->graves)
		bf_want_retry(f, 20000000ull);
}

/* ------------------------------------------------------------------------ */
/* Lists */

void bf_wait_append(struct sdrv_blkfront *f, struct bf_io *io)
{
	io->waiting = true;
	io->next = NULL;
	io->prev = f->wait_tail;
	if (f->wait_tail)
		f->wait_tail->next = io;
	else
		f->wait_head = io;
	f->wait_tail = io;
}

static void wait_prepend(struct sdrv_blkfront *f, struct bf_io *io)
{
	io->waiting = true;
	io->prev = NULL;
	io->next = f->wait_head;
	if (f->wait_head)
		f->wait_head->prev = io;
	else
		f->wait_tail = io;
	f->wait_head = io;
}

static void wait_remove(struct sdrv_blkfront *f, struct bf_io *io)
{
	if (!io->waiting)
		return;
	if (io->prev)
		io->prev->next = io->next;
	else
		f->wait_head = io->next;
	if (io->next)
		io->next->prev = io->prev;
	else
		f->wait_tail = io->prev;
	io->next = io->prev = NULL;
	io->waiting = false;
}

static struct bf_part *part_alloc(struct sdrv_blkfront *f)
{
	struct bf_part *p = f->part_free;

	if (!p)
		return NULL;
	f->part_free = p->next;
	memset(p, 0, sizeof(*p));
	return p;
}

static void part_free(struct sdrv_blkfront *f, struct bf_part *p)
{
	if (p->dyn) {
		free(p);
		return;
	}
	p->next = f->part_free;
	f->part_free = p;
}

static void resend_append(struct sdrv_blkfront *f, struct bf_part *p)
{
	p->next = NULL;
	if (f->resend_tail)
		f->resend_tail->next = p;
	else
		f->resend_head = p;
	f->resend_tail = p;
}

static void resend_pop(struct sdrv_blkfront *f)
{
	struct bf_part *p = f->resend_head;

	f->resend_head = p->next;
	if (!f->resend_head)
		f->resend_tail = NULL;
	p->next = NULL;
}

/* ------------------------------------------------------------------------ */
/* Completion */

void bf_io_complete(struct sdrv_blkfront *f, struct bf_io *io)
{
	if (io->completed)
		return;
	wait_remove(f, io);
	io->completed = true;
	io->next = NULL;
	if (f->done_tail)
		f->done_tail->next = io;
	else
		f->done_head = io;
	f->done_tail = io;
}

/* The operation that makes completed writes durable, or 0 if the device
 * has no volatile cache (neither flush nor barrier offered). */
uint8_t bf_flush_op(const struct sdrv_blkfront *f)
{
	if (f->info.flush)
		return SDRV_BLKIF_OP_FLUSH_DISKCACHE;
	if (f->info.barrier)
		return SDRV_BLKIF_OP_WRITE_BARRIER;
	return 0;
}

/* A part of `io` is answered (or given up). The I/O completes once every
 * part is answered and none is left to send; a FUA write then flushes. */
static void io_part_done(struct sdrv_blkfront *f, struct bf_io *io, int status)
{
	if (status && !io->status)
		io->status = status;
	io->parts_out--;
	if (io->parts_out || io->waiting || io->completed)
		return;
	if (io->phase == 0 && (io->flags & SDRV_BLKFRONT_FUA) && !io->status && bf_flush_op(f)) {
		/* Durable once the flush that follows the write completes. It
		 * goes first: its I/O was accepted before everything waiting. */
		io->phase = 1;
		wait_prepend(f, io);
		return;
	}
	bf_io_complete(f, io);
}

/* Refuse an I/O when it is first sent (it was submitted before the device
 * was known). */
static void io_refuse(struct sdrv_blkfront *f, struct bf_io *io, int status)
{
	if (!io->status)
		io->status = status;
	wait_remove(f, io);
	if (io->parts_out == 0)
		bf_io_complete(f, io);
}

int bf_check_io(const struct sdrv_blkfront *f, uint32_t op, uint64_t offset, uint64_t len,
		uint32_t flags)
{
	const struct sdrv_blkfront_info *in = &f->info;
	uint64_t size = in->sectors * SDRV_BLKIF_SECTOR_SIZE;

	if (op != SDRV_BLKFRONT_OP_FLUSH) {
		if (len > size || offset > size - len)
			return -EINVAL;
		if ((offset | len) % in->sector_size)
			return -EINVAL;
	}
	if (in->readonly && (op == SDRV_BLKFRONT_OP_WRITE || op == SDRV_BLKFRONT_OP_DISCARD))
		return -EROFS;
	switch (op) {
	case SDRV_BLKFRONT_OP_WRITE:
		if ((flags & SDRV_BLKFRONT_BARRIER) && !in->barrier)
			return -EOPNOTSUPP;
		break;
	case SDRV_BLKFRONT_OP_FLUSH:
		if (!in->readonly && !bf_flush_op(f))
			return -EOPNOTSUPP;
		break;
	case SDRV_BLKFRONT_OP_DISCARD:
		if (!in->discard || ((flags & SDRV_BLKFRONT_SECURE) && !in->discard_secure))
			return -EOPNOTSUPP;
		break;
	}
	return 0;
}

/*
 * Copy bytes [a, b) of a part's data (counted from the part's start) to
 * `out`: fresh grants are one mapping; persistent pages are found through
 * their pool's tables `addr` and `next`.
 */
static void part_copy_out(const struct bf_part *p, unsigned char *const *addr, const uint32_t *next,
			  uint64_t a, uint64_t b, unsigned char *out)
{
	uint64_t at = 0;
	uint32_t i = p->pg_head;

	if (p->np_data) {
		memcpy(out, (const unsigned char *)p->np_data + a, (size_t)(b - a));
		return;
	}
	while (i != BF_NONE && at + BF_PAGE <= a) {
		i = next[i];
		at += BF_PAGE;
	}
	while (i != BF_NONE && at < b) {
		uint64_t s0 = at > a ? at : a, s1 = at + BF_PAGE < b ? at + BF_PAGE : b;

		memcpy(out + (s0 - a), addr[i] + (s0 - at), (size_t)(s1 - s0));
		i = next[i];
		at += BF_PAGE;
	}
}

/* Take a part's indirect descriptor pages back. */
static void part_release_ind(struct sdrv_blkfront *f, struct bf_queue *q, struct bf_part *p)
{
	if (p->ind_head != BF_NONE && p->nind)
		pool_give(&q->ind, p->ind_head);
	p->ind_head = BF_NONE;
	if (p->np_ind) {
		if (sdrv_gnt_unshare(f->x, p->np_ind, p->nind) == -EBUSY)
			bf_bury(f, p->np_ind, p->nind);
		p->np_ind = NULL;
	}
}

/* Take a part's pages back, copying a successful read out first. */
static void part_release(struct sdrv_blkfront *f, struct bf_queue *q, struct bf_part *p, bool copy)
{
	if (copy && p->io && p->op == SDRV_BLKIF_OP_READ && p->nsegs)
		part_copy_out(p, q->data.addr, q->data.next, 0, p->len,
			      p->io->buf + (p->off - p->io->offset));
	if (p->pg_head != BF_NONE && p->nsegs)
		pool_give(&q->data, p->pg_head);
	p->pg_head = BF_NONE;
	if (p->np_data) {
		/* The backend unmaps before it answers: still mapped now means
		 * it did not (XSA-396). Never reuse; revoke later. */
		if (sdrv_gnt_unshare(f->x, p->np_data, p->nsegs) == -EBUSY)
			bf_bury(f, p->np_data, p->nsegs);
		q->np_used -= p->nsegs;
		p->np_data = NULL;
	}
	part_release_ind(f, q, p);
}

/* Pages kept aside are bounded: a backend that keeps every page it was
 * given mapped after answering breaks the device (checked between
 * batches, never in the middle of a completion). */
static int check_graves(struct sdrv_blkfront *f)
{
	if (f->grave_pages <= f->grave_limit || f->broken)
		return 0;
	bf_break(f, "the backend keeps %u granted pages mapped after answering their requests",
		 f->grave_pages);
	return -EIO;
}

/*
 * A held read's part, answered: its data pages stay out of the pool (and
 * granted) until the caller releases the I/O; its descriptor pages go
 * back now. It counts against neither the queue's pages for fresh grants
 * nor its ring: the caller's held I/Os (at most max_ios) bound it.
 */
static void part_hold(struct sdrv_blkfront *f, struct bf_queue *q, struct bf_part *p)
{
	struct bf_io *io = p->io;

	part_release_ind(f, q, p);
	if (p->pg_head != BF_NONE) {
		p->hpool = &q->data;
		p->h_addr = q->data.addr;
		p->h_next = q->data.next;
		q->data.held += p->nsegs;
	}
	if (p->np_data)
		q->np_used -= p->nsegs;
	p->next = io->held;
	io->held = p;
}

/* Give back the pages of a held I/O's parts (owner's thread). */
static void held_parts_free(struct sdrv_blkfront *f, struct bf_io *io)
{
	while (io->held) {
		struct bf_part *p = io->held;

		io->held = p->next;
		if (p->hpool) {
			struct bf_pool *pool = p->hpool;

			pool_give(pool, p->pg_head);
			pool->held -= p->nsegs;
			if (pool->retired && pool->held == 0) {
				bf_pool_release(f, pool);
				free(pool);
			}
		}
		if (p->np_data && sdrv_gnt_unshare(f->x, p->np_data, p->nsegs) == -EBUSY)
			bf_bury(f, p->np_data, p->nsegs);
		part_free(f, p);
	}
}

/* Copy [off, off + len) of a held read (any thread: reads only what the
 * owner does not change while the read is held). */
void bf_held_copy(const struct bf_io *io, uint64_t off, unsigned char *out, uint64_t len)
{
	uint64_t end = off + len;

	if (io->bounce) {
		memcpy(out, io->bounce + off, (size_t)len);
		return;
	}
	for (const struct bf_part *p = io->held; p; p = p->next) {
		uint64_t ps = p->off - io->offset, pe = ps + p->len;
		uint64_t a = ps > off ? ps : off, b = pe < end ? pe : end;

		if (a < b)
			part_copy_out(p, p->h_addr, p->h_next, a - ps, b - ps, out + (a - off));
	}
}

/*
 * Sending waits for pages or parts while held reads that are not complete
 * yet keep some: those may be what their own remaining parts wait for (a
 * read bigger than the pool), so they move into private memory and give
 * their pages and parts back; their later parts complete as plain reads
 * into that memory. Held reads already complete are the caller's to
 * release. Returns whether anything came back.
 */
static bool spill_held(struct sdrv_blkfront *f)
{
	bool any = false;

	for (uint32_t i = 0; i < f->max_ios; i++) {
		struct bf_io *io = &f->ios[i];

		if (!io->busy || io->held_out || !io->held)
			continue;
		unsigned char *b = malloc(io->len);

		if (!b) {
			bf_log(f, LOG_ERR, "out of memory: a held read keeps its pages");
			continue;
		}
		bf_held_copy(io, 0, b, io->len);
		held_parts_free(f, io);
		io->buf = io->bounce = b;
		f->st.spilled++;
		any = true;
	}
	return any;
}

static void part_answered(struct sdrv_blkfront *f, struct bf_queue *q, struct bf_part *p,
			  int status)
{
	struct bf_io *io = p->io;

	q->inflight--;
	if (status == 0 && io && io->hold && !io->bounce && p->nsegs) {
		part_hold(f, q, p);
		io_part_done(f, io, 0);
		return;
	}
	part_release(f, q, p, status == 0);
	if (status == -EOPNOTSUPP) {
		/* As Linux blkfront: the backend refused a feature it offered;
		 * stop using it. */
		if (p->op == SDRV_BLKIF_OP_FLUSH_DISKCACHE && f->info.flush) {
			bf_log(f, LOG_WARNING, "the backend refused a flush: flush disabled");
			f->info.flush = false;
		} else if (p->op == SDRV_BLKIF_OP_WRITE_BARRIER && f->info.barrier) {
			bf_log(f, LOG_WARNING, "the backend refused a barrier: barriers disabled");
			f->info.barrier = false;
		} else if (p->op == SDRV_BLKIF_OP_DISCARD && f->info.discard) {
			bf_log(f, LOG_WARNING, "the backend refused a discard: discard disabled");
			f->info.discard = false;
		}
	}
	part_free(f, p);
	if (io)
		io_part_done(f, io, status);
}

/* ------------------------------------------------------------------------ */
/* Sending */

static bool can_send(const struct sdrv_blkfront *f)
{
	return f->connected && !f->broken && !f->gone && !f->closing;
}

static uint32_t segs_cap(const struct sdrv_blkfront *f, uint8_t op)
{
	uint32_t segs = BF_DIRECT_SEGS;

	if (f->indirect && (op == SDRV_BLKIF_OP_READ || op == SDRV_BLKIF_OP_WRITE))
		segs = f->max_segs;
	return segs < f->pool_pages ? segs : f->pool_pages;
}

static bool is_data(uint8_t op)
{
	return op == SDRV_BLKIF_OP_READ || op == SDRV_BLKIF_OP_WRITE ||
	       (op == SDRV_BLKIF_OP_WRITE_BARRIER);
}

static void part_shape(const struct sdrv_blkfront *f, struct bf_part *p)
{
	p->nsegs = is_data(p->op) ? (uint16_t)div_up(p->len, BF_PAGE) : 0;
	p->indirect = p->nsegs > BF_DIRECT_SEGS;
	p->nind = p->indirect ? (uint16_t)div_up(p->nsegs, BF_SEGS_PER_IND) : 0;
	(void)f;
}

/* The queue with the most free slots that has room for the part. */
static struct bf_queue *pick_queue(struct sdrv_blkfront *f, const struct bf_part *p)
{
	struct bf_queue *best = NULL;
	uint32_t best_free = 0;

	if (f->nr_queues == 0)
		return NULL;
	for (uint32_t k = 0; k < f->nr_queues; k++) {
		struct bf_queue *q = &f->qs[(f->rr + k) % f->nr_queues];
		uint32_t fr;

		if (!q->live)
			continue;
		fr = sdrv_ring_front_free(&q->ring);
		if (fr <= best_free)
			continue;
		if (f->persistent) {
			if (q->data.nfree < p->nsegs || q->ind.nfree < p->nind) {
				f->short_held = true;
				continue;
			}
		} else if (q->np_used + p->nsegs > f->pool_pages) {
			f->short_held = true;
			continue;
		}
		best = q;
		best_free = fr;
	}
	if (best)
		f->rr = (best->idx + 1) % f->nr_queues;
	return best;
}

/* Give `p` its pages (and write data into them). 1: done; 0: no grant
 * space now (try again later). */
static int part_grant(struct sdrv_blkfront *f, struct bf_queue *q, struct bf_part *p)
{
	const unsigned char *src = NULL;

	p->pg_head = p->ind_head = BF_NONE;
	if (p->op != SDRV_BLKIF_OP_READ && p->nsegs)
		src = p->io->buf + (p->off - p->io->offset);
	if (f->persistent) {
		uint32_t k = 0;

		if (p->nsegs)
			p->pg_head = pool_take(&q->data, p->nsegs);
		if (p->nind)
			p->ind_head = pool_take(&q->ind, p->nind);
		for (uint32_t i = p->pg_head; p->nsegs && i != BF_NONE; i = q->data.next[i], k++) {
			uint64_t left = p->len - (uint64_t)k * BF_PAGE;
			size_t bytes = left < BF_PAGE ? (size_t)left : BF_PAGE;

			f->segs[k].gref = q->data.ref[i];
			f->segs[k].first_sect = 0;
			f->segs[k].last_sect = (uint8_t)(bytes / SDRV_BLKIF_SECTOR_SIZE - 1);
			if (src)
				memcpy(q->data.addr[i], src + (size_t)k * BF_PAGE, bytes);
		}
		return 1;
	}
	if (p->nsegs) {
		/* Reads are written by the backend; writes only read. */
		p->np_data = sdrv_gnt_share(f->x, f->be_domid, p->nsegs,
					    p->op == SDRV_BLKIF_OP_READ, f->refs);
		if (!p->np_data)
			return 0;
		if (src)
			memcpy(p->np_data, src, (size_t)p->len);
		for (uint32_t k = 0; k < p->nsegs; k++) {
			uint64_t left = p->len - (uint64_t)k * BF_PAGE;
			size_t bytes = left < BF_PAGE ? (size_t)left : BF_PAGE;

			f->segs[k].gref = f->refs[k];
			f->segs[k].first_sect = 0;
			f->segs[k].last_sect = (uint8_t)(bytes / SDRV_BLKIF_SECTOR_SIZE - 1);
		}
		q->np_used += p->nsegs;
	}
	if (p->nind) {
		/* Descriptor pages are only read by the backend. */
		p->np_ind = sdrv_gnt_share(f->x, f->be_domid, p->nind, false, f->refs);
		if (!p->np_ind) {
			if (sdrv_gnt_unshare(f->x, p->np_data, p->nsegs) == -EBUSY)
				bf_bury(f, p->np_data, p->nsegs);
			q->np_used -= p->nsegs;
			p->np_data = NULL;
			return 0;
		}
	}
	return 1;
}

/* Indirect descriptor page `j` of a part, and its grant. */
static unsigned char *ind_page(struct bf_queue *q, struct bf_part *p, uint32_t j,
			       const struct sdrv_blkfront *f, sdrv_grant_ref_t *ref)
{
	uint32_t i = p->ind_head;

	if (!f->persistent) {
		*ref = f->refs[j];
		return (unsigned char *)p->np_ind + (size_t)j * BF_PAGE;
	}
	while (j--)
		i = q->ind.next[i];
	*ref = q->ind.ref[i];
	return q->ind.addr[i];
}

/*
 * Send `p` on `q`: grant its pages, write its request. 1: sent (the
 * request waits in the ring for the next push); 0: no grant space now;
 * -EIO: the device broke.
 */
static int send_part(struct sdrv_blkfront *f, struct bf_queue *q, struct bf_part *p)
{
	struct sdrv_blkif_req r;
	unsigned char slot[SDRV_BLKIF_ENTRY_SIZE];
	void *dst;
	uint32_t id;

	if (!part_grant(f, q, p)) {
		bf_reap_graves(f);
		bf_want_retry(f, 1000000ull);
		return 0;
	}
	if (sdrv_ring_ids_get(&q->ids, &id) < 0) {
		/* Cannot happen: each free slot has its free id. */
		part_release(f, q, p, false);
		bf_break(f, "queue %u: no free request id for a free slot", q->idx);
		return -EIO;
	}
	memset(&r, 0, sizeof(r));
	r.id = id;
	r.handle = f->handle;
	r.sector_number = p->off / SDRV_BLKIF_SECTOR_SIZE;
	if (p->op == SDRV_BLKIF_OP_DISCARD) {
		r.operation = SDRV_BLKIF_OP_DISCARD;
		r.nr_sectors = p->len / SDRV_BLKIF_SECTOR_SIZE;
		r.discard_secure = p->secure;
	} else if (p->indirect) {
		r.operation = SDRV_BLKIF_OP_INDIRECT;
		r.indirect_op = p->op;
		r.nr_segments = p->nsegs;
		r.nr_indirect_pages = (uint8_t)p->nind;
		for (uint32_t j = 0; j < p->nind; j++) {
			uint32_t first = j * BF_SEGS_PER_IND;
			uint32_t n =
			    p->nsegs - first < BF_SEGS_PER_IND ? p->nsegs - first : BF_SEGS_PER_IND;
			unsigned char *pg = ind_page(q, p, j, f, &r.indirect_grefs[j]);

			(void)sdrv_blkif_encode_indirect(f->segs + first, n, pg, BF_PAGE);
		}
	} else {
		r.operation = p->op;
		r.nr_segments = p->nsegs;
		memcpy(r.seg, f->segs, (size_t)p->nsegs * sizeof(r.seg[0]));
	}
	/* Encode into private memory first: a slot, once claimed, is sent. */
	if (sdrv_blkif_encode_req(SDRV_BLKIF_ABI_NATIVE, &r, slot, f->esz) < 0 ||
	    !(dst = sdrv_ring_front_next_req(&q->ring))) {
		sdrv_ring_ids_put(&q->ids, id);
		part_release(f, q, p, false);
		bf_break(f, "queue %u: could not encode a request (internal error)", q->idx);
		return -EIO;
	}
	memcpy(dst, slot, f->esz);
	p->q = q->idx;
	p->id = id;
	q->id2part[id] = p;
	q->inflight++;
	q->need_push = true;
	f->st.requests++;
	return 1;
}

/* A part that cannot go to this backend any more (features changed across
 * a reconnect): the error its I/O gets, or 0. */
static int part_refused(struct sdrv_blkfront *f, struct bf_part *p)
{
	switch (p->op) {
	case SDRV_BLKIF_OP_WRITE:
		return f->info.readonly ? -EROFS : 0;
	case SDRV_BLKIF_OP_WRITE_BARRIER:
		if (f->info.readonly)
			return -EROFS;
		return f->info.barrier ? 0 : -EOPNOTSUPP;
	case SDRV_BLKIF_OP_FLUSH_DISKCACHE:
		if (!f->info.flush) {
			if (!f->info.barrier)
				return -EOPNOTSUPP;
			p->op = SDRV_BLKIF_OP_WRITE_BARRIER;
		}
		return 0;
	case SDRV_BLKIF_OP_DISCARD:
		if (f->info.readonly)
			return -EROFS;
		if (!f->info.discard || (p->secure && !f->info.discard_secure))
			return -EOPNOTSUPP;
		return 0;
	default:
		return 0;
	}
}

/* Send the first part waiting to be sent again. 1: progress; 0: wait. */
static int issue_resend(struct sdrv_blkfront *f)
{
	struct bf_part *p = f->resend_head;
	struct bf_queue *q;
	int rc;

	if (!p->io) {
		resend_pop(f);
		part_free(f, p);
		return 1;
	}
	if ((rc = part_refused(f, p))) {
		resend_pop(f);
		io_part_done(f, p->io, rc);
		part_free(f, p);
		return 1;
	}
	if (is_data(p->op) && p->len > (uint64_t)segs_cap(f, p->op) * BF_PAGE) {
		/* The new connection carries less per request: split. Rare
		 * (a backend that came back with fewer segments), so the extra
		 * part is allocated here. */
		struct bf_part *rest = malloc(sizeof(*rest));
		uint64_t cut = (uint64_t)segs_cap(f, p->op) * BF_PAGE;

		if (!rest) {
			bf_want_retry(f, 10000000ull);
			return 0;
		}
		*rest = *p;
		rest->dyn = true;
		rest->off += cut;
		rest->len -= cut;
		p->len = cut;
		rest->next = p->next;
		p->next = rest;
		if (f->resend_tail == p)
			f->resend_tail = rest;
		p->io->parts_out++;
	}
	part_shape(f, p);
	if (!(q = pick_queue(f, p)))
		return 0;
	rc = send_part(f, q, p);
	if (rc <= 0)
		return rc;
	resend_pop(f);
	f->st.resent++;
	return 1;
}

/* Send the next part of the first waiting I/O. 1: progress; 0: wait. */
static int issue_io(struct sdrv_blkfront *f, struct bf_io *io)
{
	struct bf_part tmpl, *p;
	struct bf_queue *q;
	bool last;
	int rc;

	if (!io->checked) {
		io->checked = true;
		rc = bf_check_io(f, io->op, io->offset, io->len, io->flags);
		if (rc) {
			io_refuse(f, io, rc);
			return 1;
		}
	}
	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.io = io;
	if (io->phase == 1 || io->op == SDRV_BLKFRONT_OP_FLUSH) {
		tmpl.op = bf_flush_op(f);
		if (!tmpl.op || f->info.readonly) {
			/* Nothing to make durable. */
			io_refuse(f, io, 0);
			return 1;
		}
		last = true;
	} else if (io->op == SDRV_BLKFRONT_OP_DISCARD) {
		tmpl.op = SDRV_BLKIF_OP_DISCARD;
		tmpl.off = io->offset;
		tmpl.len = io->len;
		tmpl.secure = (io->flags & SDRV_BLKFRONT_SECURE) != 0;
		last = true;
	} else {
		uint64_t cap, left = io->len - io->issued;

		tmpl.op = io->op == SDRV_BLKFRONT_OP_READ	? SDRV_BLKIF_OP_READ
			  : (io->flags & SDRV_BLKFRONT_BARRIER) ? SDRV_BLKIF_OP_WRITE_BARRIER
								: SDRV_BLKIF_OP_WRITE;
		cap = (uint64_t)segs_cap(f, tmpl.op) * BF_PAGE;
		tmpl.off = io->offset + io->issued;
		tmpl.len = left < cap ? left : cap;
		last = tmpl.len == left;
	}
	if ((rc = part_refused(f, &tmpl))) {
		io_refuse(f, io, rc);
		return 1;
	}
	part_shape(f, &tmpl);
	if (!(q = pick_queue(f, &tmpl)))
		return 0;
	if (!(p = part_alloc(f))) {
		f->short_held = true;
		return 0;
	}
	*p = tmpl;
	rc = send_part(f, q, p);
	if (rc <= 0) {
		part_free(f, p);
		return rc;
	}
	io->issued += p->op == SDRV_BLKIF_OP_DISCARD ? 0 : p->len;
	io->parts_out++;
	if (last)
		wait_remove(f, io);
	return 1;
}

/* Send what waits, in order: parts to send again first, then the I/Os in
 * the order they were accepted. Stops at the first that does not fit, so
 * a big I/O is not overtaken forever by small ones. */
void bf_issue(struct sdrv_blkfront *f)
{
	while (can_send(f) && (f->resend_head || f->wait_head)) {
		int rc;

		f->short_held = false;
		rc = f->resend_head ? issue_resend(f) : issue_io(f, f->wait_head);

		if (rc > 0)
			continue;
		if (rc == 0 && f->short_held && spill_held(f))
			continue;
		if (rc == 0 && f->nr_held) {
			/* Waiting for pages or parts, some of which held I/Os
			 * keep: their release from another thread kicks us. A
			 * release pushed before the flag was set is seen here. */
			atomic_store(&f->rel.kick_on_release, true);
			if (atomic_load(&f->rel.released)) {
				bf_reap_released(f);
				continue;
			}
		}
		break;
	}
}

/* Free the held I/Os released since the last look (owner's thread). */
void bf_reap_released(struct sdrv_blkfront *f)
{
	struct bf_io *io;

	if (!atomic_load_explicit(&f->rel.released, memory_order_relaxed))
		return;
	io = atomic_exchange_explicit(&f->rel.released, NULL, memory_order_acquire);
	while (io) {
		struct bf_io *nx = io->rel_next;

		bf_held_free(f, io);
		io = nx;
	}
}

/* An I/O's slot is free again, with whatever pages it still held. */
static void io_recycle(struct sdrv_blkfront *f, struct bf_io *io)
{
	held_parts_free(f, io);
	free(io->bounce);
	memset(io, 0, sizeof(*io));
	io->next = f->io_free;
	f->io_free = io;
	f->nr_busy--;
}

/* A held I/O the caller released: its pages and its slot come back. */
void bf_held_free(struct sdrv_blkfront *f, struct bf_io *io)
{
	io_recycle(f, io);
	f->nr_held--;
}

void bf_push_all(struct sdrv_blkfront *f)
{
	for (uint32_t i = 0; i < f->queues_cap; i++) {
		struct bf_queue *q = &f->qs[i];

		if (!q->need_push)
			continue;
		q->need_push = false;
		if (q->have_ring && sdrv_ring_front_push(&q->ring) &&
		    sdrv_evtchn_notify(f->x, q->port) == 0)
			f->st.notifies++;
	}
}

/* ------------------------------------------------------------------------ */
/* Responses */

/* The ring's own reason is static; the device's (bf_break) says more. */
static void rsp_break(struct bf_queue *q, const char *why)
{
	sdrv_ring_set_broken(&q->ring, why);
}

/*
 * Take up to `budget` responses of `q`: each copied out once by the ring
 * core, decoded and checked by the codec, its id checked with the tracker
 * and the response against the request of that id. Returns the number
 * taken, or -EIO once the device is broken.
 */
int bf_take_responses(struct sdrv_blkfront *f, struct bf_queue *q, uint32_t budget)
{
	unsigned char buf[BF_RSP_BATCH * SDRV_BLKIF_ENTRY_SIZE];
	uint32_t total = 0;

	while (q->have_ring && total < budget) {
		uint32_t want = budget - total < BF_RSP_BATCH ? budget - total : BF_RSP_BATCH;
		int32_t n = sdrv_ring_front_take_rsps(&q->ring, buf, want);

		if (n < 0) {
			bf_break(f, "queue %u: %s", q->idx, sdrv_ring_broken(&q->ring));
			return -EIO;
		}
		if (n == 0)
			break;
		for (int32_t i = 0; i < n; i++) {
			struct sdrv_blkif_rsp rsp;
			struct sdrv_blkif_req sent;
			struct bf_part *p;
			int status;

			if (sdrv_blkif_decode_rsp(SDRV_BLKIF_ABI_NATIVE, buf + (size_t)i * f->esz,
						  f->esz, &rsp) < 0) {
				rsp_break(q, "malformed response");
				bf_break(f,
					 "queue %u: the backend sent a response with status %d and "
					 "operation %u",
					 q->idx, rsp.status, rsp.operation);
				return -EIO;
			}
			if (!sdrv_ring_ids_busy(&q->ids, rsp.id)) {
				rsp_break(q, "response for an id that is not outstanding");
				bf_break(f,
					 "queue %u: the backend answered id %llu, which is not "
					 "outstanding",
					 q->idx, (unsigned long long)rsp.id);
				return -EIO;
			}
			p = q->id2part[rsp.id];
			memset(&sent, 0, sizeof(sent));
			sent.id = rsp.id;
			sent.operation = p->indirect ? SDRV_BLKIF_OP_INDIRECT : p->op;
			sent.indirect_op = p->indirect ? p->op : 0;
			if (sdrv_blkif_rsp_matches(&rsp, &sent) < 0) {
				rsp_break(q, "response does not match its request");
				bf_break(f,
					 "queue %u: the backend answered operation %u to a request "
					 "of operation %u",
					 q->idx, rsp.operation, sdrv_blkif_rsp_operation(&sent));
				return -EIO;
			}
			sdrv_ring_ids_put(&q->ids, rsp.id);
			q->id2part[rsp.id] = NULL;
			status = rsp.status == SDRV_BLKIF_RSP_OKAY	   ? 0
				 : rsp.status == SDRV_BLKIF_RSP_EOPNOTSUPP ? -EOPNOTSUPP
									   : -EIO;
			part_answered(f, q, p, status);
			if (f->broken)
				return -EIO;
		}
		total += (uint32_t)n;
		q->rsp_since_eoi += (uint32_t)n;
		if (check_graves(f) < 0)
			return -EIO;
	}
	return (int)total;
}

/* ------------------------------------------------------------------------ */
/* Disconnecting, failing */

/*
 * A queue's data pool goes with its connection, but pages of it that held
 * parts keep are being read by the caller's threads: the pool's record
 * moves to the heap, unchanged (its page tables, and the granted memory,
 * stay where they are), and is revoked when its last held page returns.
 */
static void retire_held(struct sdrv_blkfront *f, struct bf_pool *pool)
{
	struct bf_pool *r;

	if (pool->held == 0)
		return;
	if ((r = malloc(sizeof(*r)))) {
		*r = *pool;
		r->retired = true;
	} else {
		/* Never revoked, never reused (the held parts give their pages
		 * to no pool): the caller's copies stay safe. */
		bf_log(f, LOG_ERR, "out of memory: %u granted pages left to the backend", pool->n);
	}
	for (uint32_t i = 0; i < f->max_ios; i++)
		for (struct bf_part *p = f->ios[i].held; p; p = p->next)
			if (p->hpool == pool)
				p->hpool = r;
	memset(pool, 0, sizeof(*pool));
	pool->free_head = BF_NONE;
}

/*
 * The rings go away (the backend closed, reset or died; we break or
 * close). Responses already in a healthy ring are taken first. Every part
 * still unanswered gives back its pages and waits to be sent again on the
 * next connection; with the frontend failing (broken, removed, closing)
 * the parts are orphans and are dropped. Pages the backend still maps are
 * kept aside, never reused.
 */
void bf_teardown(struct sdrv_blkfront *f)
{
	if (f->in_teardown)
		return;
	f->in_teardown = true;
	if (f->connected)
		f->down_since_ns = bf_now_ns();
	f->connected = false;
	for (uint32_t i = 0; i < f->queues_cap; i++) {
		struct bf_queue *q = &f->qs[i];

		q->live = false;
		if (q->have_ring && !f->broken && !f->gone && !f->closing &&
		    !sdrv_ring_broken(&q->ring))
			(void)bf_take_responses(f, q, q->nr_ents);
	}
	for (uint32_t i = 0; i < f->queues_cap; i++) {
		struct bf_queue *q = &f->qs[i];
		bool keep = !f->broken && !f->gone && !f->closing;

		for (uint32_t id = 0; id < q->nr_ents; id++) {
			struct bf_part *p = q->id2part[id];

			if (!p)
				continue;
			q->id2part[id] = NULL;
			part_release(f, q, p, false);
			q->inflight--;
			if (p->io && keep) {
				resend_append(f, p);
			} else {
				if (p->io)
					io_part_done(f, p->io, -EIO);
				part_free(f, p);
			}
		}
		q->need_push = q->woken = false;
		q->rsp_since_eoi = 0;
		retire_held(f, &q->data);
		bf_pool_release(f, &q->data);
		bf_pool_release(f, &q->ind);
		if (q->have_ring) {
			if (q->port)
				sdrv_evtchn_close(f->x, q->port);
			q->port = 0;
			if (sdrv_gnt_unshare(f->x, q->ring_mem, q->ring_pages) == -EBUSY)
				bf_bury(f, q->ring_mem, q->ring_pages);
			q->have_ring = false;
			q->ring_mem = NULL;
		}
		q->nr_ents = 0;
		q->inflight = 0;
		q->np_used = 0;
	}
	f->published = false;
	f->persistent = false;
	f->in_teardown = false;
}

/* Fail one I/O now: its waiting and resend parts are dropped, its parts in
 * flight become orphans (their pages come back with their responses or
 * the teardown). */
void bf_abort_io(struct sdrv_blkfront *f, struct bf_io *io, int status)
{
	struct bf_part **pp = &f->resend_head, *last = NULL;

	if (!io->busy || io->completed)
		return;
	wait_remove(f, io);
	while (*pp) {
		struct bf_part *p = *pp;

		if (p->io == io) {
			*pp = p->next;
			part_free(f, p);
			continue;
		}
		last = p;
		pp = &p->next;
	}
	f->resend_tail = last;
	for (uint32_t i = 0; i < f->queues_cap; i++) {
		struct bf_queue *q = &f->qs[i];

		for (uint32_t id = 0; q->inflight && id < q->nr_ents; id++)
			if (q->id2part[id] && q->id2part[id]->io == io)
				q->id2part[id]->io = NULL;
	}
	if (!io->status || status == -ECANCELED)
		io->status = status;
	io->parts_out = 0;
	bf_io_complete(f, io);
}

void bf_fail_all(struct sdrv_blkfront *f, int status)
{
	while (f->resend_head) {
		struct bf_part *p = f->resend_head;

		resend_pop(f);
		part_free(f, p);
	}
	for (uint32_t i = 0; i < f->queues_cap; i++) {
		struct bf_queue *q = &f->qs[i];

		for (uint32_t id = 0; id < q->nr_ents; id++)
			if (q->id2part[id])
				q->id2part[id]->io = NULL;
	}
	for (uint32_t i = 0; i < f->max_ios; i++) {
		struct bf_io *io = &f->ios[i];

		if (!io->busy || io->completed)
			continue;
		wait_remove(f, io);
		if (!io->status || status == -ECANCELED)
			io->status = status;
		io->parts_out = 0;
		bf_io_complete(f, io);
	}
}

/* Run the callbacks of completed I/Os. Each I/O's slot is free again
 * before its callback runs, so the callback may submit. */
void bf_deliver(struct sdrv_blkfront *f)
{
	if (f->delivering)
		return;
	f->delivering = true;
	while (f->done_head) {
		struct bf_io *io = f->done_head;
		sdrv_blkfront_done_fn done = io->done;
		void *ctx = io->ctx;
		int status = io->status;

		f->done_head = io->next;
		if (!f->done_head)
			f->done_tail = NULL;
		if (io->hold && status == 0) {
			/* The caller copies and releases (sdrv_blkfront_held_release()). */
			f->nr_held++;
			atomic_store_explicit(&io->held_out, true, memory_order_release);
			f->st.ios++;
			done(status, ctx);
			continue;
		}
		io_recycle(f, io);
		f->st.ios++;
		if (status)
			f->st.errors++;
		done(status, ctx);
	}
	f->delivering = false;
}
