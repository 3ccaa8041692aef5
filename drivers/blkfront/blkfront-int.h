/* SPDX-License-Identifier: MIT */
/*
 * blkfront internals, shared by blkfront.c (the handle, the xenbus
 * handshake and the negotiation) and io.c (the data path: splitting I/O
 * into ring requests, grants, responses, recovery). doc/blkfront.md has
 * the design.
 */
#ifndef SDRV_BLKFRONT_INT_H
#define SDRV_BLKFRONT_INT_H

#include <stdarg.h>
#include <stdatomic.h>

#include <splitdrv/blkfront.h>
#include <splitdrv/proto/blkif.h>
#include <splitdrv/ring.h>
#include <splitdrv/xenbus.h>

/* Most queues, and the largest ring-page-order, ever used. */
#define BF_MAX_QUEUES	16u
#define BF_MAX_ORDER	SDRV_XENBUS_MAX_RING_PAGE_ORDER
#define BF_PAGE		SDRV_PAGE_SIZE
#define BF_DIRECT_SEGS	SDRV_BLKIF_MAX_SEGMENTS_PER_REQUEST
#define BF_SEGS_PER_IND SDRV_BLKIF_SEGS_PER_INDIRECT_FRAME
/* Pages granted by one sdrv_gnt_share() call of a persistent pool: the
 * unit that is revoked (or kept aside) as a whole. */
#define BF_POOL_CHUNK 256u
/* Responses copied out of a ring at a time. */
#define BF_RSP_BATCH 32u
/* "No page" in the pools' free lists and page lists. */
#define BF_NONE UINT32_MAX

/* An accepted I/O. Lives in the preallocated table f->ios. */
struct bf_io {
	struct bf_io *next, *prev; /* wait queue, or free list / done list (next only) */
	sdrv_blkfront_done_fn done;
	void *ctx;
	unsigned char *buf;
	uint64_t offset, len; /* bytes */
	uint64_t issued;      /* bytes already carried by parts */
	uint64_t t_submit_ns; /* for reconnect_timeout_ms */
	uint32_t op, flags;
	uint32_t parts_out; /* parts sent (or waiting to be sent again), not answered */
	int status;	    /* first error */
	uint8_t phase;	    /* 0: the operation; 1: the flush after a FUA write */
	bool busy;	    /* accepted, callback not yet run */
	bool waiting;	    /* on the wait queue (more parts to send) */
	bool completed;	    /* on the done list */
	bool checked;	    /* checked against the device when first sent */
	bool hold;	    /* a held read (sdrv_blkfront_read_held()) */
	/* Its callback ran with status 0: the caller has it, until the
	 * release (any thread) takes it back. */
	atomic_bool held_out;
	struct bf_part *held;	/* answered parts whose pages it keeps (through next) */
	unsigned char *bounce;	/* a held read spilled out of its pages (io->buf too) */
	struct bf_io *rel_next; /* on the released stack */
};

/*
 * One ring request: a piece of an I/O. In flight it sits in its queue's
 * id2part[] under its tracker id; after a disconnect it waits on the
 * resend list (holding nothing but its range) until the next connection.
 */
struct bf_part {
	struct bf_part *next; /* free list or resend list */
	struct bf_io *io;     /* NULL: orphan (its I/O was failed); dropped when answered */
	uint64_t off, len;    /* device bytes */
	uint8_t op;    /* wire operation: READ, WRITE, WRITE_BARRIER, FLUSH_DISKCACHE, DISCARD */
	bool indirect; /* sent as INDIRECT */
	bool secure;   /* DISCARD: secure */
	bool dyn;      /* malloc'd (a split of a part resent with smaller limits) */
	uint16_t nsegs, nind; /* data pages, indirect descriptor pages */
	uint32_t q, id;	      /* queue and tracker id while in flight */
	uint32_t pg_head;     /* persistent: first data page (list through pool.next) */
	uint32_t ind_head;    /* persistent: first indirect page */
	void *np_data;	      /* not persistent: the pages granted for this request */
	void *np_ind;
	/* Held (answered, its I/O a held read): the pool its pages go back
	 * to, and that pool's page tables, which never move while a page of
	 * theirs is held; the caller's thread reads only these. */
	struct bf_pool *hpool;
	unsigned char *const *h_addr;
	const uint32_t *h_next;
};

/* Granted pages handed out one by one and taken back (persistent grants). */
struct bf_pool {
	uint32_t n, nfree, free_head;
	uint32_t *next;	       /* per page: next free page, or next page of its part */
	unsigned char **addr;  /* per page */
	sdrv_grant_ref_t *ref; /* per page */
	struct bf_chunk {
		void *mem;
		uint32_t n;
	} * chunks;
	uint32_t nchunks;
	uint32_t held; /* pages out with held parts */
	bool retired;  /* a disconnected queue's, kept until its last held page returns */
};

struct bf_queue {
	uint32_t idx;
	bool have_ring; /* ring pages granted and a port allocated */
	bool live;	/* connected: new requests may go here */
	bool need_push; /* requests written, not published */
	bool woken;	/* its port was taken pending: EOI due */
	void *ring_mem;
	uint32_t ring_pages;
	sdrv_grant_ref_t ring_refs[1u << BF_MAX_ORDER];
	struct sdrv_ring ring;
	uint32_t nr_ents;
	sdrv_evtchn_port_t port;
	struct sdrv_ring_ids ids;
	uint32_t *ids_store;	  /* ents_cap words */
	struct bf_part **id2part; /* ents_cap entries */
	uint32_t inflight;	  /* parts in id2part */
	uint32_t rsp_since_eoi;	  /* responses taken since the port's last EOI */
	uint32_t np_used;	  /* not persistent: data pages granted now */
	struct bf_pool data, ind;
};

/* Granted pages the backend still mapped when they were to be revoked. */
struct bf_grave {
	struct bf_grave *next;
	void *mem;
	uint32_t n;
};

struct sdrv_blkfront {
	struct sdrv_blkfront_opts o;
	struct sdrv_xport *x;
	struct sdrv_xs *xs;
	struct sdrv_xenbus_front *xf;
	sdrv_domid_t be_domid;
	uint16_t handle; /* blkif `handle`: the device id */
	size_t esz;	 /* ring entry size of the native ABI */
	int epfd, kickfd, timerfd;
	bool kicked;
	uint64_t timer_ns; /* armed deadline (CLOCK_MONOTONIC), 0: disarmed */

	/* Limits from the options. */
	uint32_t queues_want, order_want, segs_want;
	uint32_t queues_cap, order_cap, ents_cap;
	uint32_t max_ios, pool_pages;
	uint32_t grave_limit;

	/* The current publication and connection. */
	bool published; /* rings and ports exist for the backend */
	uint32_t nr_queues, order;
	bool connected; /* Connected and the backend alive: requests may be sent */
	bool ever_connected;
	bool be_dead;	 /* the backend's domain died (until the next publish) */
	bool seen_state; /* the xenbus object reported a state */
	bool persistent, indirect;
	uint32_t max_segs; /* segments of a READ/WRITE request */
	uint64_t down_since_ns;
	struct sdrv_blkfront_info info;

	struct bf_queue *qs; /* queues_cap of them */
	uint32_t rr;	     /* where the next queue search starts */

	struct bf_io *ios, *io_free;
	uint32_t nr_busy;
	struct bf_io *wait_head, *wait_tail;
	struct bf_io *done_head, *done_tail;
	uint32_t nr_held; /* held I/Os the caller has (counted in nr_busy) */
	bool short_held;  /* the last send lacked pages or parts */
	/* Written by the caller's threads: a cache line of their own, so that
	 * nothing of the frontend's shares it. */
	struct {
		_Alignas(64) _Atomic(struct bf_io *) released; /* released from any thread */
		atomic_bool kick_on_release; /* sending waits for pages a held I/O keeps */
		char pad[64 - sizeof(void *) - sizeof(atomic_bool)];
	} rel;
	struct bf_part *parts, *part_free;
	struct bf_part *resend_head, *resend_tail;
	struct bf_grave *graves;
	uint32_t grave_pages;
	uint64_t retry_ns; /* when to retry graves or a grant that did not fit */

	struct sdrv_blkif_seg *segs; /* scratch: one request's segments */
	sdrv_grant_ref_t *refs;	     /* scratch: refs of fresh grants */

	const char *broken; /* points into broken_buf once broken */
	char broken_buf[256];
	bool gone;    /* removed: -ENODEV */
	bool closing; /* sdrv_blkfront_free() runs */
	bool in_teardown, delivering;
	struct sdrv_blkfront_stats st;
};

/* blkfront.c */
void bf_log(struct sdrv_blkfront *f, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void bf_break(struct sdrv_blkfront *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void bf_kick(struct sdrv_blkfront *f);
uint64_t bf_now_ns(void);
void bf_want_retry(struct sdrv_blkfront *f, uint64_t delay_ns);

/* io.c */
int bf_pool_init(struct sdrv_blkfront *f, struct bf_pool *p, uint32_t n, bool writable);
void bf_pool_release(struct sdrv_blkfront *f, struct bf_pool *p);
void bf_bury(struct sdrv_blkfront *f, void *mem, uint32_t n);
void bf_reap_graves(struct sdrv_blkfront *f);
void bf_wait_append(struct sdrv_blkfront *f, struct bf_io *io);
void bf_io_complete(struct sdrv_blkfront *f, struct bf_io *io);
void bf_issue(struct sdrv_blkfront *f);
void bf_push_all(struct sdrv_blkfront *f);
int bf_take_responses(struct sdrv_blkfront *f, struct bf_queue *q, uint32_t budget);
void bf_teardown(struct sdrv_blkfront *f);
void bf_abort_io(struct sdrv_blkfront *f, struct bf_io *io, int status);
void bf_fail_all(struct sdrv_blkfront *f, int status);
void bf_deliver(struct sdrv_blkfront *f);
void bf_held_free(struct sdrv_blkfront *f, struct bf_io *io);
void bf_reap_released(struct sdrv_blkfront *f);
void bf_held_copy(const struct bf_io *io, uint64_t off, unsigned char *out, uint64_t len);
int bf_check_io(const struct sdrv_blkfront *f, uint32_t op, uint64_t offset, uint64_t len,
		uint32_t flags);
uint8_t bf_flush_op(const struct sdrv_blkfront *f);

#endif
