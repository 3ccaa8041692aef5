/* SPDX-License-Identifier: MIT */
/*
 * A raw blkif frontend for testing backends: it runs the xenbus handshake
 * with the real objects (sdrv_xenbus_front) and shares real rings and data
 * pages through the transport, but puts whatever bytes a test wants into
 * the ring, so a test can be a well-behaved frontend or a hostile one.
 */
#ifndef SDRV_TESTS_TFRONT_H
#define SDRV_TESTS_TFRONT_H

#include <splitdrv/proto/blkif.h>
#include <splitdrv/ring.h>
#include <splitdrv/transport.h>
#include <splitdrv/xenbus.h>
#include <splitdrv/xs.h>

#define TF_MAX_QUEUES 4

struct tf_opts {
	const char *broker;   /* transport address */
	sdrv_domid_t domid;   /* this frontend's domain */
	sdrv_domid_t backend; /* the backend's domain (grants go to it) */
	uint32_t devid;
	unsigned order;	      /* ring-page-order to publish */
	unsigned nr_queues;   /* 1: no multi-queue keys */
	const char *protocol; /* written if not NULL */
	bool persistent;      /* write feature-persistent = 1 */
	uint32_t data_pages;  /* pages shared read-write with the backend */
	/* A key (relative to the device directory) written last, over what
	 * was written: a hostile frontend's. Not written if NULL. */
	const char *bad_key, *bad_val;
};

struct tf_queue {
	void *ring;
	sdrv_grant_ref_t refs[16];
	sdrv_evtchn_port_t port;
	struct sdrv_ring r;
};

struct tf {
	struct tf_opts o;
	struct sdrv_xport *x;
	struct sdrv_xs *xs;
	struct sdrv_xenbus_front *xf;
	enum sdrv_blkif_abi abi;
	size_t esz;
	struct tf_queue q[TF_MAX_QUEUES];
	bool have_rings, connected;
	bool published; /* the keys are written: the backend has seen us */
	int connects, disconnects;
	unsigned char *data; /* data_pages pages */
	sdrv_grant_ref_t *drefs;
	/* what the backend published */
	uint64_t sectors, info, sector_size, max_indirect, max_order, max_queues;
	bool f_flush, f_barrier, f_discard, f_persistent;
};

/* Join the transport as o->domid, connect to the store the transport names
 * and start the handshake. 0 or a negative errno. */
int tf_open(struct tf *t, const struct tf_opts *o);
void tf_close(struct tf *t, int timeout_ms);
/* Drive the store and the transport for up to `ms` (at least one round). */
void tf_poll(struct tf *t, int ms);
/* Drive until done(t) holds; 0 or -ETIMEDOUT. */
int tf_poll_until(struct tf *t, bool (*done)(struct tf *t), int timeout_ms);
/* Drive until connected; 0 or -ETIMEDOUT. */
int tf_wait_connected(struct tf *t, int timeout_ms);
/* The backend's xenbus state as in the store now. */
enum sdrv_xenbus_state tf_back_state(struct tf *t);
/* Put one raw entry (esz bytes) into queue `qi`, push, notify if asked. */
void tf_put_raw(struct tf *t, unsigned qi, const void *entry);
/* Encode a request into queue `qi` and push it. */
int tf_put(struct tf *t, unsigned qi, const struct sdrv_blkif_req *req);
/* Wait up to `ms` for one response on queue `qi`: 1 with *rsp, 0 timeout,
 * negative if the ring broke. */
int tf_get(struct tf *t, unsigned qi, struct sdrv_blkif_rsp *rsp, int ms);
/* The same, the response's bytes (esz) as they are, not decoded. */
int tf_get_raw(struct tf *t, unsigned qi, void *slot, int ms);
/* A request over data pages [page, page + nsegs) with whole pages (the last
 * one `last_sect` long), at `sector`. */
void tf_req(struct tf *t, struct sdrv_blkif_req *r, uint8_t op, uint64_t id, uint64_t sector,
	    uint32_t page, uint32_t nsegs);
/* Send `r` on queue `qi` and wait for its response: the status, or -1000
 * on a timeout or a broken ring. */
int tf_do(struct tf *t, unsigned qi, const struct sdrv_blkif_req *r);
/* An indirect request: segments over data pages [page, page + nsegs), its
 * descriptor pages at data pages [ind_page, ...). */
void tf_req_indirect(struct tf *t, struct sdrv_blkif_req *r, uint8_t op, uint64_t id,
		     uint64_t sector, uint32_t page, uint32_t nsegs, uint32_t ind_page);

#endif
