/* SPDX-License-Identifier: MIT */
/*
 * blkback's internals, shared by blkback.c (the object, the event loop, the
 * device list), device.c (one device: image, keys, handshake) and queue.c
 * (one queue: the ring, grants, io_uring).
 *
 * Ownership: a struct bb owns its devices; a device owns its queues while
 * connected. A queue that is disconnected while io_uring still has requests
 * of it in flight becomes a zombie (on bb->zombies): its grant mappings stay
 * until the last completion arrives, because the kernel may still be
 * writing into them (XSA-350: teardown never frees what I/O still uses).
 */
#ifndef SDRV_BLKBACK_INT_H
#define SDRV_BLKBACK_INT_H

#include <stdarg.h>
#include <sys/uio.h>
#include <syslog.h>

#include <liburing.h>

#include <splitdrv/blkback.h>
#include <splitdrv/proto/blkif.h>
#include <splitdrv/ring.h>

#include "../common/backend.h"

/* Requests taken from one queue's ring per process() call. */
#define BB_BATCH 64
/* Most queues, and Linux's limit on ring pages. */
#define BB_MAX_QUEUES 16
#define BB_MAX_ORDER  4
#define BB_PAGE	      4096u

struct bb;
struct bb_dev;
struct bb_queue;

/* A persistent grant: a page of the frontend's, mapped once and kept. */
struct bb_pgnt {
	uint32_t gref;
	bool used;
	bool writable;
	void *addr;
};

/* One request between the ring and its response. */
struct bb_req {
	struct bb_queue *q;
	struct bb_req *next; /* free list */
	struct sdrv_blkif_req r;
	struct sdrv_blkif_seg *segs; /* r.seg, or the indirect segments */
	uint32_t nr_segs;
	struct iovec *iov; /* iov_inline or a queue-sized buffer */
	uint32_t niov;
	void *map; /* non-persistent mapping of the data pages, or NULL */
	uint32_t map_pages;
	uint64_t off, len; /* bytes on the device, and bytes still to move */
	uint32_t ops;	   /* io_uring operations still in flight */
	int status;	   /* first error, as a negative errno */
	struct iovec iov_inline[SDRV_BLKIF_MAX_SEGMENTS_PER_REQUEST];
};

struct bb_queue {
	struct bb *b;
	struct bb_dev *d; /* NULL for a zombie */
	struct bb_queue *next_zombie;
	uint32_t idx;
	enum sdrv_blkif_abi abi;
	size_t esz;
	void *ring_mem;
	uint32_t ring_pages;
	struct sdrv_ring ring;
	sdrv_evtchn_port_t port;
	bool bound;
	bool dead;	     /* stopped: the frontend died or the ring broke */
	bool more;	     /* requests may be waiting: serve again */
	bool need_push;	     /* responses written, not pushed yet */
	bool woken;	     /* its port fired this round */
	bool found_work;     /* ...and requests were there */
	bool barrier;	     /* a barrier waits for the queue to drain */
	struct bb_req *held; /* the barrier waiting */
	uint32_t inflight;   /* requests taken, not yet answered */
	struct bb_req *reqs; /* one per ring slot */
	struct bb_req *free;
	struct iovec *iov_big; /* for indirect requests: nr_ents * max segs */
	struct sdrv_blkif_seg *seg_big;
	void *ind_buf; /* private copy of indirect pages */
	/* persistent grants, open addressing on gref */
	struct bb_pgnt *pg;
	uint32_t pg_cap, pg_n;
};

struct bb_dev {
	struct bb *b;
	struct bb_dev *next;
	sdrv_domid_t fe;
	uint32_t devid;
	struct sdrv_xenbus_back *xb;
	bool gone; /* no longer in the store: free at the next round */
	/* the image */
	int fd;
	bool readonly, is_blkdev, discard;
	uint64_t sectors;
	uint32_t sector_size, phys_sector_size;
	struct sdrv_blkif_limits lim;
	uint32_t info;
	/* connection */
	bool persistent;
	unsigned order;
	uint32_t nr_queues;
	struct bb_queue *q[BB_MAX_QUEUES];
	const char *broken;
	char broken_buf[160];
	/* counters */
	uint64_t requests, errors, bytes_read, bytes_written, pmaps, maps, spurious;
};

struct bb {
	struct sdrv_xport *x;
	struct sdrv_xs *xs;
	sdrv_domid_t domid;
	uint32_t max_order, max_queues, max_indirect, max_pgnt, flags;
	void (*log)(void *ctx, int level, const char *msg);
	void *log_ctx;
	int epfd;
	struct drv_kick kick;
	struct io_uring uring;
	uint32_t uring_cap, uring_inflight;
	bool uring_dirty; /* SQEs prepared, not yet submitted */
	char vbd_dir[64];
	bool rescan;
	struct bb_dev *devs;
	struct bb_queue *zombies;
	struct drv_ports ports; /* port -> queue */
};

/* blkback.c */
void bb_log(struct bb *b, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void bb_kick(struct bb *b);
int bb_port_set(struct bb *b, sdrv_evtchn_port_t port, struct bb_queue *q);

/* device.c */
struct bb_dev *bb_dev_new(struct bb *b, sdrv_domid_t fe, uint32_t devid);
void bb_dev_free(struct bb_dev *d);
void bb_dev_break(struct bb_dev *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void bb_dev_peer_died(struct bb_dev *d);

/* queue.c */
struct bb_queue *bb_queue_new(struct bb_dev *d, uint32_t idx, enum sdrv_blkif_abi abi);
int bb_queue_connect(struct bb_queue *q, const sdrv_grant_ref_t *refs, unsigned order,
		     uint32_t port);
void bb_queue_stop(struct bb_queue *q);
void bb_queue_release(struct bb_queue *q);
void bb_queue_serve(struct bb_queue *q);
void bb_queue_push(struct bb_queue *q);
void bb_complete(struct bb *b, struct io_uring_cqe *cqe);

#endif
