/* SPDX-License-Identifier: MIT */
/*
 * One queue of a block device: its ring, its event channel, its persistent
 * grants, and its requests on their way through io_uring.
 *
 * A request's life: copied out of the ring once (the ring core), decoded
 * and validated into a private struct sdrv_blkif_req (the codec), its
 * indirect descriptor pages copied once and validated, its data pages
 * mapped (kept if persistent), one io_uring operation (or a linked chain
 * for a barrier), then a zeroed response. Anything the frontend got wrong
 * is answered with an error; only index games (which the ring core
 * detects) break the queue.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>

#include "blkback-int.h"

/* user_data tags of io_uring operations (requests are 8-byte aligned). */
#define TAG_DATA  0u /* readv/writev of a request's segments */
#define TAG_SYNC  1u /* fdatasync (flush, barrier) */
#define TAG_OTHER 2u /* fallocate (discard) */
#define TAG_MASK  3u

struct bb_queue *bb_queue_new(struct bb_dev *d, uint32_t idx, enum sdrv_blkif_abi abi)
{
	struct bb_queue *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->d = d;
	q->b = d->b;
	q->idx = idx;
	q->abi = abi;
	q->esz = sdrv_blkif_entry_size(abi);
	return q;
}

/* ------------------------------ grants -------------------------------- */

static uint32_t pg_hash(uint32_t gref)
{
	return gref * 0x9e3779b1u;
}

/*
 * The page of a persistent grant, mapped on first use and kept. Returns
 * 0 with *addr set; 1 if the cache is full (map this request's pages the
 * ordinary way); a negative errno for a grant that cannot be mapped as
 * needed.
 */
static int pg_get(struct bb_queue *q, uint32_t gref, bool need_write, void **addr)
{
	struct bb_dev *d = q->d;
	struct bb *b = q->b;
	uint32_t i = pg_hash(gref) & (q->pg_cap - 1);
	struct bb_pgnt *p;
	int st = 0;

	for (;; i = (i + 1) & (q->pg_cap - 1)) {
		p = &q->pg[i];
		if (!p->used)
			break;
		if (p->gref == gref) {
			if (need_write && !p->writable)
				return -EPERM;
			*addr = p->addr;
			return 0;
		}
	}
	if (q->pg_n >= b->max_pgnt)
		return 1;
	/* Frontends grant persistent pages read-write (Linux blkfront); one
	 * granted read-only can still serve writes to the device. */
	p->addr = sdrv_gnt_map(b->x, d->fe, 1, &gref, true, &st);
	p->writable = p->addr != NULL;
	if (!p->addr && st == -EPERM && !need_write)
		p->addr = sdrv_gnt_map(b->x, d->fe, 1, &gref, false, &st);
	d->maps++;
	if (!p->addr)
		return st ? st : -EIO;
	p->used = true;
	p->gref = gref;
	q->pg_n++;
	d->pmaps++;
	*addr = p->addr;
	return 0;
}

static void pg_release(struct bb_queue *q)
{
	for (uint32_t i = 0; i < q->pg_cap; i++)
		if (q->pg[i].used)
			sdrv_gnt_unmap(q->b->x, q->pg[i].addr, 1);
	free(q->pg);
	q->pg = NULL;
	q->pg_cap = q->pg_n = 0;
}

/* ---------------------------- connecting ------------------------------ */

int bb_queue_connect(struct bb_queue *q, const sdrv_grant_ref_t *refs, unsigned order,
		     uint32_t port)
{
	struct bb_dev *d = q->d;
	struct bb *b = q->b;
	uint32_t pages = 1u << order, n;
	int st[1u << BB_MAX_ORDER], r;

	q->ring_mem = sdrv_gnt_map(b->x, d->fe, pages, refs, true, st);
	d->maps++;
	if (!q->ring_mem) {
		r = -errno;
		for (uint32_t i = 0; i < pages; i++)
			if (st[i])
				bb_log(b, LOG_WARNING,
				       "vbd %u/%u queue %u: ring-ref %u (gref %u) cannot be "
				       "mapped: %s",
				       d->fe, d->devid, q->idx, i, refs[i], strerror(-st[i]));
		return r;
	}
	q->ring_pages = pages;
	r = sdrv_ring_back_attach(&q->ring, q->ring_mem, (size_t)pages * BB_PAGE, q->esz, 0);
	if (r < 0)
		return r;
	n = sdrv_ring_nr_ents(&q->ring);
	q->reqs = calloc(n, sizeof(*q->reqs));
	if (!q->reqs)
		return -ENOMEM;
	for (uint32_t i = n; i-- > 0;) {
		q->reqs[i].next = q->free;
		q->free = &q->reqs[i];
	}
	if (d->lim.max_indirect_segments) {
		q->ind_buf = malloc((size_t)SDRV_BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST * BB_PAGE);
		if (!q->ind_buf)
			return -ENOMEM;
	}
	if (d->persistent) {
		q->pg_cap = 1;
		while (q->pg_cap < 2 * b->max_pgnt)
			q->pg_cap <<= 1;
		q->pg = calloc(q->pg_cap, sizeof(*q->pg));
		if (!q->pg)
			return -ENOMEM;
	}
	r = sdrv_evtchn_bind(b->x, d->fe, port, &q->port);
	if (r < 0) {
		bb_log(b, LOG_WARNING, "vbd %u/%u queue %u: event channel %u cannot be bound: %s",
		       d->fe, d->devid, q->idx, port, strerror(-r));
		return r;
	}
	q->bound = true;
	r = bb_port_set(b, q->port, q);
	if (r < 0)
		return r;
	q->more = true; /* a request may have come before we bound */
	bb_kick(b);
	return 0;
}

/* Unmap and free; nothing of the queue is in flight any more. */
void bb_queue_release(struct bb_queue *q)
{
	struct bb *b = q->b;

	if (q->bound) {
		bb_port_set(b, q->port, NULL);
		sdrv_evtchn_close(b->x, q->port);
	}
	pg_release(q);
	if (q->ring_mem)
		sdrv_gnt_unmap(b->x, q->ring_mem, q->ring_pages);
	if (q->reqs) {
		uint32_t n = sdrv_ring_nr_ents(&q->ring);

		for (uint32_t i = 0; i < n; i++) {
			if (q->reqs[i].map) /* a barrier held when the queue stopped */
				sdrv_gnt_unmap(b->x, q->reqs[i].map, q->reqs[i].map_pages);
			if (q->reqs[i].iov != q->reqs[i].iov_inline)
				free(q->reqs[i].iov);
			if (q->reqs[i].segs != q->reqs[i].r.seg)
				free(q->reqs[i].segs);
		}
	}
	free(q->reqs);
	free(q->ind_buf);
	free(q);
}

/*
 * Stop serving: no more requests are taken and no response is written.
 * Its port is closed at once (the frontend sees it closed); the mappings
 * go when the last request in flight has completed.
 */
void bb_queue_stop(struct bb_queue *q)
{
	struct bb *b = q->b;

	q->dead = true;
	if (q->bound) {
		bb_port_set(b, q->port, NULL);
		sdrv_evtchn_close(b->x, q->port);
		q->bound = false;
	}
	if (q->inflight - (q->held ? 1 : 0) == 0) {
		bb_queue_release(q);
		return;
	}
	q->d = NULL;
	q->next_zombie = b->zombies;
	b->zombies = q;
}

/* ---------------------------- responses ------------------------------- */

static void put_req(struct bb_queue *q, struct bb_req *rq)
{
	rq->next = q->free;
	q->free = rq;
	q->inflight--;
}

static void respond(struct bb_queue *q, struct bb_req *rq, int err)
{
	struct bb_dev *d = q->d;
	struct sdrv_blkif_rsp rsp = {
	    .id = rq->r.id,
	    .operation = sdrv_blkif_rsp_operation(&rq->r),
	    .status = sdrv_blkif_status_for(err),
	};

	sdrv_blkif_encode_rsp(q->abi, &rsp, sdrv_ring_back_next_rsp(&q->ring), q->esz);
	q->need_push = true;
	d->requests++;
	if (err)
		d->errors++;
	put_req(q, rq);
}

void bb_queue_push(struct bb_queue *q)
{
	if (!q->need_push || q->dead)
		return;
	q->need_push = false;
	if (sdrv_ring_back_push(&q->ring))
		sdrv_evtchn_notify(q->b->x, q->port);
}

/* ----------------------------- io_uring ------------------------------- */

static struct io_uring_sqe *sqe_get(struct bb *b, struct bb_req *rq, unsigned tag)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&b->uring);

	if (!sqe) {
		/* The ring is sized so that this does not happen (intake stops
		 * at uring_cap in flight); submit and try once more. */
		io_uring_submit(&b->uring);
		sqe = io_uring_get_sqe(&b->uring);
		if (!sqe)
			return NULL;
	}
	io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)rq | tag);
	b->uring_inflight++;
	b->uring_dirty = true;
	rq->ops++;
	return sqe;
}

static void prep_data(struct io_uring_sqe *sqe, int fd, struct bb_req *rq)
{
	if (rq->r.operation == SDRV_BLKIF_OP_READ ||
	    (rq->r.operation == SDRV_BLKIF_OP_INDIRECT && rq->r.indirect_op == SDRV_BLKIF_OP_READ))
		io_uring_prep_readv(sqe, fd, rq->iov, rq->niov, rq->off);
	else
		io_uring_prep_writev(sqe, fd, rq->iov, rq->niov, rq->off);
}

static int submit_data(struct bb_queue *q, struct bb_req *rq)
{
	struct io_uring_sqe *sqe = sqe_get(q->b, rq, TAG_DATA);

	if (!sqe)
		return -EBUSY;
	prep_data(sqe, q->d->fd, rq);
	return 0;
}

static int submit_sync(struct bb_queue *q, struct bb_req *rq, bool link)
{
	struct io_uring_sqe *sqe = sqe_get(q->b, rq, TAG_SYNC);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_fsync(sqe, q->d->fd, IORING_FSYNC_DATASYNC);
	if (link)
		sqe->flags |= IOSQE_IO_LINK;
	return 0;
}

/* A barrier: everything before it is done (the queue drained); sync, write,
 * sync, as one linked chain. Without data it is a flush. */
static int submit_barrier(struct bb_queue *q, struct bb_req *rq)
{
	struct io_uring_sqe *sqe;
	int r;

	if (!rq->niov)
		return submit_sync(q, rq, false);
	if ((r = submit_sync(q, rq, true)) < 0)
		return r;
	if (!(sqe = sqe_get(q->b, rq, TAG_DATA)))
		return -EBUSY;
	prep_data(sqe, q->d->fd, rq);
	sqe->flags |= IOSQE_IO_LINK;
	return submit_sync(q, rq, false);
}

/* ------------------------------ intake -------------------------------- */

/* The segments of an indirect request: its descriptor pages mapped
 * read-only, copied once, unmapped, then validated. */
static int indirect_segs(struct bb_queue *q, struct bb_req *rq)
{
	struct bb_dev *d = q->d;
	struct bb *b = q->b;
	uint32_t pages = rq->r.nr_indirect_pages, want = rq->r.nr_segments;
	size_t bytes = (size_t)want * sizeof(struct sdrv_blkif_seg);
	sdrv_grant_ref_t refs[SDRV_BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
	int st[SDRV_BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
	void *m;

	if (rq->segs == rq->r.seg || !rq->segs) {
		rq->segs = malloc((size_t)d->lim.max_indirect_segments * sizeof(*rq->segs));
		rq->iov = malloc((size_t)d->lim.max_indirect_segments * sizeof(*rq->iov));
		if (!rq->segs || !rq->iov) {
			free(rq->segs);
			free(rq->iov);
			rq->segs = NULL;
			rq->iov = NULL;
			return -ENOMEM;
		}
	}
	memcpy(refs, rq->r.indirect_grefs, pages * sizeof(refs[0]));
	m = sdrv_gnt_map(b->x, d->fe, pages, refs, false, st);
	d->maps++;
	if (!m)
		return -EIO;
	memcpy(q->ind_buf, m, bytes);
	sdrv_gnt_unmap(b->x, m, pages);
	return sdrv_blkif_decode_indirect(&rq->r, q->ind_buf, bytes, &d->lim, rq->segs,
					  d->lim.max_indirect_segments);
}

static size_t seg_bytes(const struct sdrv_blkif_seg *s)
{
	return (size_t)(s->last_sect - s->first_sect + 1) * SDRV_BLKIF_SECTOR_SIZE;
}

/* Every data page from the persistent grants: 0; 1 if the cache is full;
 * or a negative errno. */
static int map_persistent(struct bb_queue *q, struct bb_req *rq, bool to_pages)
{
	for (uint32_t i = 0; i < rq->nr_segs; i++) {
		void *a = NULL;
		int r = pg_get(q, rq->segs[i].gref, to_pages, &a);

		if (r)
			return r;
		rq->iov[i].iov_base = (char *)a + rq->segs[i].first_sect * SDRV_BLKIF_SECTOR_SIZE;
		rq->iov[i].iov_len = seg_bytes(&rq->segs[i]);
	}
	rq->niov = rq->nr_segs;
	return 0;
}

/* Map the data pages as one batch for this request alone. */
static int map_ordinary(struct bb_queue *q, struct bb_req *rq, bool to_pages)
{
	static __thread sdrv_grant_ref_t refs[SDRV_BLKIF_MAX_INDIRECT_SEGMENTS];
	static __thread int st[SDRV_BLKIF_MAX_INDIRECT_SEGMENTS];
	struct bb_dev *d = q->d;
	uint32_t n = rq->nr_segs;

	for (uint32_t i = 0; i < n; i++)
		refs[i] = rq->segs[i].gref;
	rq->map = sdrv_gnt_map(q->b->x, d->fe, n, refs, to_pages, st);
	d->maps++;
	if (!rq->map)
		return -EIO;
	rq->map_pages = n;
	for (uint32_t i = 0; i < n; i++) {
		rq->iov[i].iov_base = (char *)rq->map + (size_t)i * BB_PAGE +
				      rq->segs[i].first_sect * SDRV_BLKIF_SECTOR_SIZE;
		rq->iov[i].iov_len = seg_bytes(&rq->segs[i]);
	}
	rq->niov = n;
	return 0;
}

/* Map the data pages and build the iovecs. */
static int map_data(struct bb_queue *q, struct bb_req *rq, bool to_pages)
{
	if (q->d->persistent) {
		int r = map_persistent(q, rq, to_pages);

		if (r <= 0)
			return r;
		/* cache full: this request the ordinary way */
	}
	return map_ordinary(q, rq, to_pages);
}

/* Start one request that was just copied out of the ring. */
static void start(struct bb_queue *q, struct bb_req *rq, const void *slot)
{
	struct bb_dev *d = q->d;
	uint8_t op;
	int err;

	rq->q = q;
	rq->map = NULL;
	rq->map_pages = 0;
	rq->ops = 0;
	rq->status = 0;
	rq->niov = 0;
	if (!rq->segs)
		rq->segs = rq->r.seg;
	if (!rq->iov)
		rq->iov = rq->iov_inline;
	err = sdrv_blkif_decode_req(q->abi, slot, q->esz, &d->lim, &rq->r);
	if (err)
		goto answer;
	op = rq->r.operation;
	rq->off = rq->r.sector_number * SDRV_BLKIF_SECTOR_SIZE;
	rq->len = rq->r.nr_sectors * SDRV_BLKIF_SECTOR_SIZE;
	if (op == SDRV_BLKIF_OP_INDIRECT) {
		if ((err = indirect_segs(q, rq)) < 0)
			goto answer;
		rq->nr_segs = rq->r.nr_segments;
		rq->len = rq->r.nr_sectors * SDRV_BLKIF_SECTOR_SIZE;
		op = rq->r.indirect_op;
	} else {
		/* a direct request uses the inline arrays; an earlier indirect
		 * one may have left its own buffers on this slot */
		if (rq->segs != rq->r.seg && rq->segs) {
			memcpy(rq->segs, rq->r.seg, rq->r.nr_segments * sizeof(rq->r.seg[0]));
		} else {
			rq->segs = rq->r.seg;
		}
		rq->nr_segs = rq->r.nr_segments;
	}

	switch (op) {
	case SDRV_BLKIF_OP_READ:
	case SDRV_BLKIF_OP_WRITE:
		if ((err = map_data(q, rq, op == SDRV_BLKIF_OP_READ)) < 0)
			goto answer;
		if ((err = submit_data(q, rq)) < 0)
			goto answer;
		return;
	case SDRV_BLKIF_OP_FLUSH_DISKCACHE:
		/* With data it is a write after a flush (REQ_PREFLUSH). */
		if (rq->nr_segs && (err = map_data(q, rq, false)) < 0)
			goto answer;
		if (!rq->niov) {
			err = submit_sync(q, rq, false);
		} else {
			struct io_uring_sqe *sqe;

			if ((err = submit_sync(q, rq, true)) == 0) {
				if ((sqe = sqe_get(q->b, rq, TAG_DATA)))
					prep_data(sqe, d->fd, rq);
				else
					err = -EBUSY;
			}
		}
		if (err)
			goto answer;
		return;
	case SDRV_BLKIF_OP_WRITE_BARRIER:
		if (rq->nr_segs && (err = map_data(q, rq, false)) < 0)
			goto answer;
		if (q->inflight > 1) { /* others first: hold it, take no more */
			q->barrier = true;
			q->held = rq;
			return;
		}
		if ((err = submit_barrier(q, rq)) < 0)
			goto answer;
		q->barrier = true;
		return;
	case SDRV_BLKIF_OP_DISCARD: {
		struct io_uring_sqe *sqe;

		if (!rq->r.nr_sectors)
			goto answer; /* nothing to do */
		if (!(sqe = sqe_get(q->b, rq, TAG_OTHER))) {
			err = -EBUSY;
			goto answer;
		}
		io_uring_prep_fallocate(sqe, d->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					rq->off, rq->len);
		return;
	}
	default:
		err = -ENOSYS; /* the codec let nothing else through */
		break;
	}
answer:
	if (rq->map) {
		sdrv_gnt_unmap(q->b->x, rq->map, rq->map_pages);
		rq->map = NULL;
	}
	if (rq->ops) {
		/* some of it was queued: let it complete, then answer */
		rq->status = err;
		return;
	}
	respond(q, rq, err);
}

void bb_queue_serve(struct bb_queue *q)
{
	struct bb *b = q->b;
	unsigned char slot[SDRV_BLKIF_ENTRY_SIZE];
	uint32_t n = 0;

	if (q->dead || q->barrier || !q->d)
		return;
	q->more = false;
	while (n < BB_BATCH) {
		struct bb_req *rq;
		int32_t got;

		if (!q->free || b->uring_inflight + 3 > b->uring_cap) {
			/* wait for completions: they serve the queue again */
			q->more = true;
			return;
		}
		got = sdrv_ring_back_take_req(&q->ring, slot);
		if (got < 0) {
			bb_dev_break(q->d, "queue %u: %s", q->idx, sdrv_ring_broken(&q->ring));
			return;
		}
		if (got == 0)
			break;
		n++;
		q->found_work = true;
		rq = q->free;
		q->free = rq->next;
		q->inflight++;
		start(q, rq, slot);
		if (q->barrier)
			return; /* nothing is taken past a barrier */
	}
	if (n == BB_BATCH) {
		q->more = true;
		bb_kick(b);
		return;
	}
	/* Empty: ask to be notified of the next request, and look again. */
	switch (sdrv_ring_back_final_check(&q->ring)) {
	case 0:
		break;
	case -SDRV_EPROTO:
		bb_dev_break(q->d, "queue %u: %s", q->idx, sdrv_ring_broken(&q->ring));
		break;
	default:
		q->more = true;
		bb_kick(b);
	}
}

/* ---------------------------- completions ----------------------------- */

static void finish(struct bb_queue *q, struct bb_req *rq)
{
	struct bb *b = q->b;
	struct bb_dev *d = q->d;
	bool was_barrier = rq->r.operation == SDRV_BLKIF_OP_WRITE_BARRIER;

	if (rq->map) {
		sdrv_gnt_unmap(b->x, rq->map, rq->map_pages);
		rq->map = NULL;
	}
	if (!d) { /* a zombie: nobody to answer */
		put_req(q, rq);
		if (q->inflight - (q->held ? 1 : 0) == 0) {
			struct bb_queue **pp = &b->zombies;

			while (*pp != q)
				pp = &(*pp)->next_zombie;
			*pp = q->next_zombie;
			bb_queue_release(q);
		}
		return;
	}
	if (!rq->status) {
		uint8_t op =
		    rq->r.operation == SDRV_BLKIF_OP_INDIRECT ? rq->r.indirect_op : rq->r.operation;
		if (op == SDRV_BLKIF_OP_READ)
			d->bytes_read += rq->r.nr_sectors * SDRV_BLKIF_SECTOR_SIZE;
		else if (rq->niov)
			d->bytes_written += rq->r.nr_sectors * SDRV_BLKIF_SECTOR_SIZE;
	}
	respond(q, rq, rq->status);
	if (was_barrier) {
		q->barrier = false;
		q->more = true;
		bb_kick(b);
	} else if (q->held && q->inflight == 1) {
		/* everything before the barrier is done: now the barrier */
		struct bb_req *h = q->held;
		int err;

		q->held = NULL;
		if ((err = submit_barrier(q, h)) < 0) {
			if (h->ops)
				h->status = err;
			else {
				respond(q, h, err);
				q->barrier = false;
				q->more = true;
				bb_kick(b);
			}
		}
	}
}

void bb_complete(struct bb *b, struct io_uring_cqe *cqe)
{
	uint64_t data = io_uring_cqe_get_data64(cqe);
	struct bb_req *rq = (struct bb_req *)(uintptr_t)(data & ~(uint64_t)TAG_MASK);
	unsigned tag = (unsigned)(data & TAG_MASK);
	struct bb_queue *q = rq->q;
	int res = cqe->res;

	b->uring_inflight--;
	if (res < 0) {
		if (!rq->status)
			rq->status = res == -ECANCELED ? -EIO : res;
	} else if (tag == TAG_DATA && (uint64_t)res < rq->len) {
		/* A short transfer: go on with the rest, unless it was part
		 * of a chain (the kernel cancels the rest of it) or moved
		 * nothing at all. */
		bool chained = rq->r.operation == SDRV_BLKIF_OP_WRITE_BARRIER ||
			       rq->r.operation == SDRV_BLKIF_OP_FLUSH_DISKCACHE;
		size_t done = (size_t)res;

		if (res == 0 || chained || !q->d || q->dead) {
			if (!rq->status)
				rq->status = -EIO;
		} else {
			uint32_t i = 0;

			while (i < rq->niov && done >= rq->iov[i].iov_len)
				done -= rq->iov[i++].iov_len;
			memmove(rq->iov, rq->iov + i, (rq->niov - i) * sizeof(rq->iov[0]));
			rq->niov -= i;
			rq->iov[0].iov_base = (char *)rq->iov[0].iov_base + done;
			rq->iov[0].iov_len -= done;
			rq->off += (uint64_t)res;
			rq->len -= (uint64_t)res;
			rq->ops--;
			if (submit_data(q, rq) == 0)
				return;
			rq->status = -EIO;
			rq->ops++;
		}
	}
	if (--rq->ops)
		return;
	finish(q, rq);
}
