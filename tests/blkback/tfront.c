/* SPDX-License-Identifier: MIT */
/* The raw test frontend: see tfront.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tfront.h"

#define PAGE 4096u

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int publish(struct sdrv_xenbus_front *xf, uint32_t tx, void *ctx)
{
	struct tf *t = ctx;
	const char *dir = sdrv_xenbus_front_dir(xf);
	char qdir[SDRV_XENBUS_PATH_MAX];
	uint32_t pages = 1u << t->o.order;
	int r;

	if (!t->have_rings) {
		for (unsigned i = 0; i < t->o.nr_queues; i++) {
			struct tf_queue *q = &t->q[i];

			q->ring = sdrv_gnt_share(t->x, t->o.backend, pages, true, q->refs);
			if (!q->ring)
				return -errno;
			if ((r = sdrv_ring_front_init(&q->r, q->ring, (size_t)pages * PAGE,
						      t->esz)))
				return r;
			if ((r = sdrv_evtchn_alloc_unbound(t->x, t->o.backend, &q->port)) < 0)
				return r;
		}
		t->have_rings = true;
	}
	/* An earlier frontend of this device may have published another
	 * shape: its keys must not mislead the backend. */
	{
		static const char *const stale[] = {SDRV_XENBUS_KEY_NUM_QUEUES,
						    SDRV_XENBUS_KEY_RING_PAGE_ORDER,
						    SDRV_XENBUS_KEY_PROTOCOL, "feature-persistent"};
		char path[SDRV_XENBUS_PATH_MAX], **names;
		unsigned int n;

		for (unsigned i = 0; i < sizeof(stale) / sizeof(stale[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s", dir, stale[i]);
			sdrv_xs_rm(t->xs, tx, path);
		}
		if (sdrv_xs_directory(t->xs, tx, dir, &names, &n) == 0) {
			for (unsigned i = 0; i < n; i++)
				if (!strncmp(names[i], "ring-ref", 8) ||
				    !strncmp(names[i], "queue-", 6)) {
					snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
					sdrv_xs_rm(t->xs, tx, path);
				}
			free(names);
		}
	}
	if (t->o.nr_queues > 1 &&
	    (r = sdrv_xenbus_write_uint(t->xs, tx, dir, SDRV_XENBUS_KEY_NUM_QUEUES,
					t->o.nr_queues)) < 0)
		return r;
	if (t->o.order && (r = sdrv_xenbus_write_uint(
			       t->xs, tx, dir, SDRV_XENBUS_KEY_RING_PAGE_ORDER, t->o.order)) < 0)
		return r;
	for (unsigned i = 0; i < t->o.nr_queues; i++) {
		sdrv_xenbus_queue_dir(qdir, sizeof(qdir), dir, t->o.nr_queues, i);
		if ((r = sdrv_xenbus_write_ring_refs(t->xs, tx, qdir, SDRV_XENBUS_KEY_RING_REF,
						     t->q[i].refs, t->o.order)) < 0 ||
		    (r = sdrv_xenbus_write_uint(t->xs, tx, qdir, SDRV_XENBUS_KEY_EVENT_CHANNEL,
						t->q[i].port)) < 0)
			return r;
	}
	if (t->o.protocol && (r = sdrv_xenbus_write_str(t->xs, tx, dir, SDRV_XENBUS_KEY_PROTOCOL,
							t->o.protocol)) < 0)
		return r;
	if (t->o.persistent &&
	    (r = sdrv_xenbus_write_uint(t->xs, tx, dir, "feature-persistent", 1)) < 0)
		return r;
	if (t->o.bad_key &&
	    (r = sdrv_xenbus_write_str(t->xs, tx, dir, t->o.bad_key, t->o.bad_val)) < 0)
		return r;
	t->published = true;
	return 0;
}

static int connect(struct sdrv_xenbus_front *xf, void *ctx)
{
	struct tf *t = ctx;
	const char *be = sdrv_xenbus_front_peer_dir(xf);

	sdrv_xenbus_read_uint(t->xs, 0, be, "sectors", UINT64_MAX, 0, &t->sectors);
	sdrv_xenbus_read_uint(t->xs, 0, be, "info", UINT32_MAX, 0, &t->info);
	sdrv_xenbus_read_uint(t->xs, 0, be, "sector-size", UINT32_MAX, 512, &t->sector_size);
	sdrv_xenbus_read_uint(t->xs, 0, be, "feature-max-indirect-segments", UINT32_MAX, 0,
			      &t->max_indirect);
	sdrv_xenbus_read_bool(t->xs, 0, be, "feature-flush-cache", false, &t->f_flush);
	sdrv_xenbus_read_bool(t->xs, 0, be, "feature-barrier", false, &t->f_barrier);
	sdrv_xenbus_read_bool(t->xs, 0, be, "feature-discard", false, &t->f_discard);
	sdrv_xenbus_read_bool(t->xs, 0, be, "feature-persistent", false, &t->f_persistent);
	t->connected = true;
	t->connects++;
	return 0;
}

/* Revoke the rings; a backend that still maps them makes that fail, and
 * then the pages are simply leaked to the test (never reused). */
static void disconnect(struct sdrv_xenbus_front *xf, void *ctx)
{
	struct tf *t = ctx;

	(void)xf;
	t->connected = false;
	t->disconnects++;
	if (!t->have_rings)
		return;
	for (unsigned i = 0; i < t->o.nr_queues; i++) {
		sdrv_evtchn_close(t->x, t->q[i].port);
		sdrv_gnt_unshare(t->x, t->q[i].ring, 1u << t->o.order);
		memset(&t->q[i], 0, sizeof(t->q[i]));
	}
	t->have_rings = false;
}

int tf_open(struct tf *t, const struct tf_opts *o)
{
	struct sdrv_xport_opts xo = {.sz = sizeof(xo)};
	struct sdrv_xs_opts so = {.sz = sizeof(so), .timeout_ms = 20000};
	struct sdrv_xenbus_front_opts fo = {.sz = sizeof(fo)};
	int r;

	memset(t, 0, sizeof(*t));
	t->o = *o;
	if (!t->o.nr_queues)
		t->o.nr_queues = 1;
	t->abi = SDRV_BLKIF_ABI_NATIVE;
	if (o->protocol && sdrv_blkif_abi_parse(o->protocol, &t->abi) < 0)
		t->abi = SDRV_BLKIF_ABI_NATIVE; /* a bogus one, for the backend to refuse */
	t->esz = sdrv_blkif_entry_size(t->abi);
	xo.address = o->broker;
	xo.domid = o->domid;
	xo.grant_pages = o->data_pages + 64 * TF_MAX_QUEUES + 64;
	if (!(t->x = sdrv_xport_open("posix", &xo)))
		return -errno;
	if (!(t->xs = sdrv_xs_open(sdrv_xport_store_address(t->x), &so)))
		return -errno;
	if (o->data_pages) {
		t->drefs = calloc(o->data_pages, sizeof(*t->drefs));
		if (!t->drefs)
			return -ENOMEM;
		t->data = sdrv_gnt_share(t->x, o->backend, o->data_pages, true, t->drefs);
		if (!t->data)
			return -errno;
	}
	fo.xs = t->xs;
	fo.domid = o->domid;
	fo.type = "vbd";
	fo.id = o->devid;
	fo.publish = publish;
	fo.connect = connect;
	fo.disconnect = disconnect;
	fo.ctx = t;
	if (!(t->xf = sdrv_xenbus_front_new(&fo))) {
		r = -errno;
		return r;
	}
	return 0;
}

void tf_close(struct tf *t, int timeout_ms)
{
	if (t->xf) {
		sdrv_xenbus_front_close(t->xf, timeout_ms);
		sdrv_xenbus_front_free(t->xf);
	}
	sdrv_xs_close(t->xs);
	sdrv_xport_close(t->x);
	free(t->drefs);
	memset(t, 0, sizeof(*t));
}

void tf_poll(struct tf *t, int ms)
{
	struct pollfd pfd[2] = {{.fd = sdrv_xs_fd(t->xs), .events = POLLIN},
				{.fd = sdrv_xport_fd(t->x), .events = POLLIN}};
	struct sdrv_xport_event ev[8];
	sdrv_evtchn_port_t p;

	poll(pfd, 2, ms);
	sdrv_xs_process(t->xs);
	sdrv_xport_process(t->x, ev, 8);
	/* Notifications only matter to tf_get(), which looks at the ring
	 * anyway: take them, or the descriptor stays readable. */
	while (sdrv_evtchn_pending(t->x, &p) == 1)
		sdrv_evtchn_unmask(t->x, p);
}

int tf_poll_until(struct tf *t, bool (*done)(struct tf *t), int timeout_ms)
{
	uint64_t end = ms_now() + (uint64_t)timeout_ms;

	while (!done(t)) {
		if (ms_now() >= end)
			return -ETIMEDOUT;
		tf_poll(t, 10);
	}
	return 0;
}

static bool is_connected(struct tf *t)
{
	return t->connected;
}

int tf_wait_connected(struct tf *t, int timeout_ms)
{
	return tf_poll_until(t, is_connected, timeout_ms);
}

enum sdrv_xenbus_state tf_back_state(struct tf *t)
{
	char path[SDRV_XENBUS_PATH_MAX], *v;
	size_t len;
	enum sdrv_xenbus_state s;

	snprintf(path, sizeof(path), "%s/state", sdrv_xenbus_front_peer_dir(t->xf));
	if (sdrv_xs_read(t->xs, 0, path, &v, &len) < 0)
		return SDRV_XENBUS_UNKNOWN;
	s = sdrv_xenbus_state_parse(v, len);
	free(v);
	return s;
}

void tf_put_raw(struct tf *t, unsigned qi, const void *entry)
{
	struct tf_queue *q = &t->q[qi];

	memcpy(sdrv_ring_front_next_req(&q->r), entry, t->esz);
	if (sdrv_ring_front_push(&q->r))
		sdrv_evtchn_notify(t->x, q->port);
}

int tf_put(struct tf *t, unsigned qi, const struct sdrv_blkif_req *req)
{
	struct tf_queue *q = &t->q[qi];
	int r = sdrv_blkif_encode_req(t->abi, req, sdrv_ring_front_next_req(&q->r), t->esz);

	if (r)
		return r;
	if (sdrv_ring_front_push(&q->r))
		sdrv_evtchn_notify(t->x, q->port);
	return 0;
}

int tf_get(struct tf *t, unsigned qi, struct sdrv_blkif_rsp *rsp, int ms)
{
	unsigned char slot[SDRV_BLKIF_ENTRY_SIZE];
	int r = tf_get_raw(t, qi, slot, ms);

	if (r != 1)
		return r;
	return sdrv_blkif_decode_rsp(t->abi, slot, t->esz, rsp) ? -EPROTO : 1;
}

int tf_get_raw(struct tf *t, unsigned qi, void *slot, int ms)
{
	struct tf_queue *q = &t->q[qi];
	uint64_t end = ms_now() + (uint64_t)ms;

	for (;;) {
		struct pollfd pfd = {.fd = sdrv_xport_fd(t->x), .events = POLLIN};
		sdrv_evtchn_port_t p;
		int32_t n = sdrv_ring_front_take_rsp(&q->r, slot);

		if (n < 0)
			return -EPROTO;
		if (n == 1)
			return 1;
		if (sdrv_ring_front_final_check(&q->r) > 0)
			continue;
		if (ms_now() >= end)
			return 0;
		poll(&pfd, 1, 10);
		while (sdrv_evtchn_pending(t->x, &p) == 1)
			sdrv_evtchn_unmask(t->x, p);
		if (t->xs)
			sdrv_xs_process(t->xs);
	}
}

void tf_req(struct tf *t, struct sdrv_blkif_req *r, uint8_t op, uint64_t id, uint64_t sector,
	    uint32_t page, uint32_t nsegs)
{
	memset(r, 0, sizeof(*r));
	r->operation = op;
	r->id = id;
	r->sector_number = sector;
	r->handle = (uint16_t)t->o.devid;
	r->nr_segments = (uint16_t)nsegs;
	for (uint32_t i = 0; i < nsegs && i < SDRV_BLKIF_MAX_SEGMENTS_PER_REQUEST; i++) {
		r->seg[i].gref = t->drefs[page + i];
		r->seg[i].first_sect = 0;
		r->seg[i].last_sect = 7;
	}
}

void tf_req_indirect(struct tf *t, struct sdrv_blkif_req *r, uint8_t op, uint64_t id,
		     uint64_t sector, uint32_t page, uint32_t nsegs, uint32_t ind_page)
{
	struct sdrv_blkif_seg segs[SDRV_BLKIF_MAX_INDIRECT_SEGMENTS];
	uint32_t npages =
	    (nsegs + SDRV_BLKIF_SEGS_PER_INDIRECT_FRAME - 1) / SDRV_BLKIF_SEGS_PER_INDIRECT_FRAME;

	memset(r, 0, sizeof(*r));
	memset(segs, 0, sizeof(segs));
	for (uint32_t i = 0; i < nsegs; i++) {
		segs[i].gref = t->drefs[page + i];
		segs[i].last_sect = 7;
	}
	sdrv_blkif_encode_indirect(segs, nsegs, t->data + (size_t)ind_page * PAGE,
				   (size_t)npages * PAGE);
	r->operation = SDRV_BLKIF_OP_INDIRECT;
	r->indirect_op = op;
	r->id = id;
	r->sector_number = sector;
	r->handle = (uint16_t)t->o.devid;
	r->nr_segments = (uint16_t)nsegs;
	for (uint32_t i = 0; i < npages; i++)
		r->indirect_grefs[i] = t->drefs[ind_page + i];
}

int tf_do(struct tf *t, unsigned qi, const struct sdrv_blkif_req *r)
{
	struct sdrv_blkif_rsp rsp;

	if (tf_put(t, qi, r))
		return -1001;
	if (tf_get(t, qi, &rsp, 10000) != 1)
		return -1000;
	if (rsp.id != r->id || rsp.operation != sdrv_blkif_rsp_operation(r))
		return -1002;
	return rsp.status;
}
