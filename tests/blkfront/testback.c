/* SPDX-License-Identifier: MIT */
/*
 * A test backend: a small but real blkback for one device, in domain
 * TH_BE_DOM. It runs the xenbus handshake with sdrv_xenbus_back (reading
 * the frontend's keys with the strict readers), maps the rings and the data
 * grants with sdrv_gnt_map, binds the event channels, decodes requests with
 * the blkif codec and serves a RAM disk in shared memory. It keeps
 * persistent grants mapped (as Linux blkback) when both sides offer them,
 * and unmaps fresh grants before answering otherwise.
 *
 * Its slot's control block (harness.h) configures what it offers, asks it
 * to misbehave (bad responses, index games, an event storm, grants kept
 * mapped), to hold requests without answering them, and receives what it
 * saw: the frontend's keys, each request, the distinct grants.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <splitdrv/proto/blkif.h>
#include <splitdrv/ring.h>
#include <splitdrv/transport.h>
#include <splitdrv/xenbus.h>
#include <splitdrv/xs.h>

#include "../common/tutil.h"
#include "harness.h"

#define MAX_Q	  16u
#define MAX_ENTS  512u
#define GREF_MAX  (1u << 18)
#define MAX_LEAKS 4096u

struct tbq {
	void *ring_map;
	uint32_t pages;
	struct sdrv_ring r;
	sdrv_evtchn_port_t port;
	bool woken;
	uint32_t nheld;
	unsigned char held[MAX_ENTS][SDRV_BLKIF_ENTRY_SIZE];
};

struct tb {
	struct tb_ctl *ctl;
	struct tb_cfg cfg;
	unsigned char *disk;
	struct sdrv_xport *x;
	struct sdrv_xs *xs;
	struct sdrv_xenbus_back *be;
	size_t esz;
	uint32_t nq;
	struct tbq *q;
	bool connected, persistent;
	struct sdrv_blkif_limits lim;
	void **pmap; /* persistent mappings by gref */
	uint8_t *seen_data, *seen_ind;
	struct {
		void *addr;
		uint32_t n;
	} leaks[MAX_LEAKS];
	uint32_t nleaks;
	uint64_t storm_end;
	struct sdrv_blkif_seg segs[SDRV_BLKIF_MAX_INDIRECT_SEGMENTS];
	sdrv_grant_ref_t refs[SDRV_BLKIF_MAX_INDIRECT_SEGMENTS];
	int st[SDRV_BLKIF_MAX_INDIRECT_SEGMENTS];
	unsigned char indbuf[SDRV_BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST * 4096];
};

static volatile sig_atomic_t g_term;

static void on_term(int sig)
{
	(void)sig;
	g_term = 1;
}

static void tb_fail(struct tb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tb_fail(struct tb *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b->ctl->fail, sizeof(b->ctl->fail), fmt, ap);
	va_end(ap);
	fprintf(stderr, "testback: %s\n", b->ctl->fail);
}

static void count_gref(uint8_t *seen, _Atomic uint32_t *n, uint32_t gref)
{
	if (gref >= GREF_MAX || (seen[gref / 8] & (1u << (gref % 8))))
		return;
	seen[gref / 8] |= (uint8_t)(1u << (gref % 8));
	atomic_fetch_add(n, 1);
}

/* ------------------------------------------------------------------------ */
/* xenbus */

static int write_garbage(struct tb *b, uint32_t tx, uint32_t when)
{
	const char *dir = sdrv_xenbus_back_dir(b->be);
	char path[SDRV_XENBUS_PATH_MAX + 64];

	if (b->cfg.gwhen != when || !b->cfg.gkey[0])
		return 0;
	snprintf(path, sizeof(path), "%s/%s", dir, b->cfg.gkey);
	if (strcmp(b->cfg.gval, TB_ABSENT) == 0) {
		int rc = sdrv_xs_rm(b->xs, tx, path);
		return rc == -ENOENT ? 0 : rc;
	}
	return sdrv_xs_write_str(b->xs, tx, path, b->cfg.gval);
}

/* Remove a key an earlier instance may have written. */
static int rm_key(struct tb *b, uint32_t tx, const char *key)
{
	char path[SDRV_XENBUS_PATH_MAX + 64];
	int rc;

	snprintf(path, sizeof(path), "%s/%s", sdrv_xenbus_back_dir(b->be), key);
	rc = sdrv_xs_rm(b->xs, tx, path);
	return rc == -ENOENT ? 0 : rc;
}

static int tb_publish(struct sdrv_xenbus_back *be, uint32_t tx, void *ctx)
{
	struct tb *b = ctx;
	const char *dir = sdrv_xenbus_back_dir(be);
	const struct tb_cfg *c = &b->cfg;
	int rc = 0;

	rc = c->max_ring_order != TB_NOKEY
		 ? sdrv_xenbus_write_uint(b->xs, tx, dir, SDRV_XENBUS_KEY_MAX_RING_PAGE_ORDER,
					  c->max_ring_order)
		 : rm_key(b, tx, SDRV_XENBUS_KEY_MAX_RING_PAGE_ORDER);
	if (rc == 0)
		rc = c->max_queues != TB_NOKEY
			 ? sdrv_xenbus_write_uint(b->xs, tx, dir, SDRV_XENBUS_KEY_MAX_QUEUES,
						  c->max_queues)
			 : rm_key(b, tx, SDRV_XENBUS_KEY_MAX_QUEUES);
	if (rc == 0)
		rc = sdrv_xenbus_write_bool(b->xs, tx, dir, "feature-flush-cache", c->flush);
	if (rc == 0)
		rc = sdrv_xenbus_write_bool(b->xs, tx, dir, "feature-barrier", c->barrier);
	if (rc == 0)
		rc = sdrv_xenbus_write_bool(b->xs, tx, dir, "feature-discard", c->discard);
	if (rc == 0 && c->discard) {
		rc = sdrv_xenbus_write_bool(b->xs, tx, dir, "discard-secure", c->discard_secure);
		if (rc == 0)
			rc = sdrv_xenbus_write_uint(b->xs, tx, dir, "discard-granularity",
						    c->discard_gran);
		if (rc == 0)
			rc = sdrv_xenbus_write_uint(b->xs, tx, dir, "discard-alignment",
						    c->discard_align);
	}
	if (rc == 0)
		rc = write_garbage(b, tx, TB_G_PUBLISH);
	return rc;
}

static void unmap_all(struct tb *b)
{
	for (uint32_t g = 0; b->pmap && g < GREF_MAX; g++) {
		if (b->pmap[g]) {
			sdrv_gnt_unmap(b->x, b->pmap[g], 1);
			b->pmap[g] = NULL;
		}
	}
	for (uint32_t i = 0; i < b->nleaks; i++)
		sdrv_gnt_unmap(b->x, b->leaks[i].addr, b->leaks[i].n);
	b->nleaks = 0;
	for (uint32_t i = 0; i < b->nq; i++) {
		struct tbq *q = &b->q[i];

		if (q->ring_map) {
			sdrv_evtchn_close(b->x, q->port);
			sdrv_gnt_unmap(b->x, q->ring_map, q->pages);
			q->ring_map = NULL;
		}
		q->nheld = 0;
	}
	b->nq = 0;
	atomic_store(&b->ctl->held, 0);
}

static void tb_disconnect(struct sdrv_xenbus_back *be, void *ctx)
{
	struct tb *b = ctx;

	(void)be;
	unmap_all(b);
	if (b->connected)
		atomic_fetch_add(&b->ctl->disconnects, 1);
	b->connected = false;
	atomic_store(&b->ctl->connected, 0);
}

static int tb_connect(struct sdrv_xenbus_back *be, void *ctx)
{
	struct tb *b = ctx;
	struct tb_ctl *ctl = b->ctl;
	const struct tb_cfg *c = &b->cfg;
	const char *fdir = sdrv_xenbus_back_peer_dir(be), *dir = sdrv_xenbus_back_dir(be);
	unsigned int order, nq, max_order, max_q;
	char *proto = NULL, *top = NULL;
	enum sdrv_blkif_abi abi;
	bool fe_persistent = false;
	int rc;

	max_order = c->max_ring_order == TB_NOKEY ? 0 : c->max_ring_order;
	if (max_order > SDRV_XENBUS_MAX_RING_PAGE_ORDER)
		max_order = SDRV_XENBUS_MAX_RING_PAGE_ORDER;
	max_q = c->max_queues == TB_NOKEY || c->max_queues == 0 ? 1 : c->max_queues;
	if (max_q > MAX_Q)
		max_q = MAX_Q;
	if ((rc = sdrv_xenbus_read_ring_order(b->xs, 0, fdir, max_order, &order)) < 0 ||
	    (rc = sdrv_xenbus_read_num_queues(b->xs, 0, fdir, max_q, &nq)) < 0) {
		tb_fail(b, "frontend ring order or queues: %s", strerror(-rc));
		return rc;
	}
	rc = sdrv_xenbus_read_str(b->xs, 0, fdir, SDRV_XENBUS_KEY_PROTOCOL, 32, &proto);
	atomic_store(&ctl->fe_protocol_ok, rc == 0 && sdrv_blkif_abi_parse(proto, &abi) == 0 &&
					       abi == SDRV_BLKIF_ABI_NATIVE);
	free(proto);
	if (sdrv_xenbus_read_bool(b->xs, 0, fdir, "feature-persistent", false, &fe_persistent) < 0)
		return -EINVAL;
	atomic_store(&ctl->fe_persistent, fe_persistent);
	atomic_store(&ctl->fe_toplevel_ref,
		     sdrv_xenbus_read_str(b->xs, 0, fdir, "ring-ref", 32, &top) == 0);
	free(top);
	b->persistent = c->persistent && fe_persistent;
	for (uint32_t i = 0; i < nq; i++) {
		struct tbq *q = &b->q[i];
		char qdir[SDRV_XENBUS_PATH_MAX];
		sdrv_grant_ref_t refs[SDRV_XENBUS_MAX_RING_REFS];
		int st[SDRV_XENBUS_MAX_RING_REFS];
		uint32_t port;

		if ((rc = sdrv_xenbus_queue_dir(qdir, sizeof(qdir), fdir, nq, i)) < 0 ||
		    (rc = sdrv_xenbus_read_ring_refs(b->xs, 0, qdir, SDRV_XENBUS_KEY_RING_REF,
						     order, refs)) < 0 ||
		    (rc = sdrv_xenbus_read_evtchn(b->xs, 0, qdir, SDRV_XENBUS_KEY_EVENT_CHANNEL,
						  &port)) < 0) {
			tb_fail(b, "queue %u keys: %s", i, strerror(-rc));
			b->nq = i;
			unmap_all(b);
			return rc;
		}
		q->pages = 1u << order;
		q->ring_map = sdrv_gnt_map(b->x, TH_FE_DOM, q->pages, refs, true, st);
		if (!q->ring_map) {
			tb_fail(b, "queue %u: mapping the ring: %s", i, strerror(errno));
			b->nq = i;
			unmap_all(b);
			return -EINVAL;
		}
		b->nq = i + 1;
		if (sdrv_ring_back_attach(&q->r, q->ring_map, (size_t)q->pages * 4096, b->esz, 0) <
			0 ||
		    (rc = sdrv_evtchn_bind(b->x, TH_FE_DOM, port, &q->port)) < 0) {
			tb_fail(b, "queue %u: attach or bind failed", i);
			unmap_all(b);
			return -EINVAL;
		}
		q->nheld = 0;
	}
	atomic_store(&ctl->fe_order, order);
	atomic_store(&ctl->fe_queues, nq);
	/* The device keys, as Linux blkback's connect() writes them. */
	rc = sdrv_xenbus_write_uint(b->xs, 0, dir, "sectors", c->sectors);
	if (rc == 0)
		rc = sdrv_xenbus_write_uint(b->xs, 0, dir, "info", c->info);
	if (rc == 0)
		rc = sdrv_xenbus_write_uint(b->xs, 0, dir, "sector-size", c->sector_size);
	if (rc == 0)
		rc = sdrv_xenbus_write_uint(b->xs, 0, dir, "physical-sector-size",
					    c->phys_sector_size);
	if (rc == 0)
		rc = sdrv_xenbus_write_bool(b->xs, 0, dir, "feature-persistent", c->persistent);
	if (rc == 0)
		rc = c->max_indirect
			 ? sdrv_xenbus_write_uint(b->xs, 0, dir, "feature-max-indirect-segments",
						  c->max_indirect)
			 : rm_key(b, 0, "feature-max-indirect-segments");
	if (rc == 0)
		rc = write_garbage(b, 0, TB_G_CONNECT);
	if (rc < 0) {
		unmap_all(b);
		return rc;
	}
	memset(&b->lim, 0, sizeof(b->lim));
	b->lim.sz = sizeof(b->lim);
	b->lim.sectors = c->sectors;
	b->lim.max_indirect_segments = c->max_indirect;
	b->lim.flags = ((c->info & SDRV_BLKIF_VDISK_READONLY) ? SDRV_BLKIF_LIM_READONLY : 0) |
		       (c->flush ? SDRV_BLKIF_LIM_FLUSH : 0) |
		       (c->barrier ? SDRV_BLKIF_LIM_BARRIER : 0) |
		       (c->discard ? SDRV_BLKIF_LIM_DISCARD : 0) |
		       (c->discard && c->discard_secure ? SDRV_BLKIF_LIM_DISCARD_SECURE : 0);
	b->connected = true;
	atomic_fetch_add(&ctl->connects, 1);
	atomic_store(&ctl->connected, 1);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Requests */

static void log_req(struct tb *b, const struct sdrv_blkif_req *r)
{
	uint32_t i = atomic_fetch_add(&b->ctl->nlog, 1);
	struct tb_logent *e;

	if (i >= TB_LOG)
		return;
	e = &b->ctl->log[i];
	e->op = (uint8_t)sdrv_blkif_rsp_operation(r);
	e->indirect = r->operation == SDRV_BLKIF_OP_INDIRECT;
	e->nsegs = r->nr_segments;
	e->answered_before = (uint32_t)atomic_load(&b->ctl->answered);
	e->sector = r->sector_number;
	e->nr_sectors = r->nr_sectors;
	e->flag = r->discard_secure;
}

/* Move the data of a read or write. */
static int do_rw(struct tb *b, const struct sdrv_blkif_req *r, const struct sdrv_blkif_seg *segs,
		 uint32_t n)
{
	bool read = sdrv_blkif_rsp_operation(r) == SDRV_BLKIF_OP_READ;
	uint64_t pos = r->sector_number * 512;
	unsigned char *map = NULL;
	int rc = 0;

	if (!b->persistent && n) {
		sdrv_grant_ref_t *refs = b->refs;
		int *st = b->st;

		for (uint32_t k = 0; k < n; k++) {
			refs[k] = segs[k].gref;
			count_gref(b->seen_data, &b->ctl->data_grefs, segs[k].gref);
		}
		/* Fresh grants of writes are read-only: map them so. */
		map = sdrv_gnt_map(b->x, TH_FE_DOM, n, refs, read, st);
		if (!map)
			return -EIO;
	}
	for (uint32_t k = 0; k < n; k++) {
		unsigned char *page;
		size_t off = (size_t)segs[k].first_sect * 512;
		size_t len = (size_t)(segs[k].last_sect - segs[k].first_sect + 1) * 512;

		if (map) {
			page = map + (size_t)k * 4096;
		} else {
			uint32_t g = segs[k].gref;
			int st;

			if (g >= GREF_MAX) {
				rc = -EIO;
				break;
			}
			if (!b->pmap[g]) {
				b->pmap[g] = sdrv_gnt_map(b->x, TH_FE_DOM, 1, &g, true, &st);
				if (!b->pmap[g]) {
					rc = -EIO;
					break;
				}
			}
			count_gref(b->seen_data, &b->ctl->data_grefs, g);
			page = b->pmap[g];
		}
		if (pos + len > b->cfg.sectors * 512) {
			rc = -EIO;
			break;
		}
		if (read)
			memcpy(page + off, b->disk + pos, len);
		else
			memcpy(b->disk + pos, page + off, len);
		pos += len;
	}
	if (map) {
		/* Unmap before answering (Linux blkback does), unless told to
		 * keep the mapping (XSA-396 test). */
		if (atomic_load(&b->ctl->evil) == TB_LEAK_MAPS && b->nleaks < MAX_LEAKS) {
			b->leaks[b->nleaks].addr = map;
			b->leaks[b->nleaks++].n = n;
		} else {
			sdrv_gnt_unmap(b->x, map, n);
		}
	}
	return rc;
}

static int serve(struct tb *b, const unsigned char *slot, struct sdrv_blkif_req *r)
{
	int err = sdrv_blkif_decode_req(SDRV_BLKIF_ABI_NATIVE, slot, b->esz, &b->lim, r);
	struct tb_ctl *ctl = b->ctl;
	uint8_t op;

	atomic_fetch_add(&ctl->reqs, 1);
	if (err)
		return err;
	if (r->operation == SDRV_BLKIF_OP_INDIRECT) {
		int st[SDRV_BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
		unsigned char *m;

		for (uint32_t i = 0; i < r->nr_indirect_pages; i++)
			count_gref(b->seen_ind, &ctl->ind_grefs, r->indirect_grefs[i]);
		m = sdrv_gnt_map(b->x, TH_FE_DOM, r->nr_indirect_pages, r->indirect_grefs, false,
				 st);
		if (!m)
			return -EIO;
		memcpy(b->indbuf, m, (size_t)r->nr_segments * 8);
		sdrv_gnt_unmap(b->x, m, r->nr_indirect_pages);
		err = sdrv_blkif_decode_indirect(r, b->indbuf, (size_t)r->nr_segments * 8, &b->lim,
						 b->segs, SDRV_BLKIF_MAX_INDIRECT_SEGMENTS);
		atomic_fetch_add(&ctl->indirect, 1);
	} else {
		memcpy(b->segs, r->seg, sizeof(r->seg));
	}
	log_req(b, r);
	if (err)
		return err;
	if (r->nr_segments > atomic_load(&ctl->max_segs))
		atomic_store(&ctl->max_segs, r->nr_segments);
	op = sdrv_blkif_rsp_operation(r);
	switch (op) {
	case SDRV_BLKIF_OP_READ:
		atomic_fetch_add(&ctl->reads, 1);
		return do_rw(b, r, b->segs, r->nr_segments);
	case SDRV_BLKIF_OP_WRITE:
		atomic_fetch_add(&ctl->writes, 1);
		return do_rw(b, r, b->segs, r->nr_segments);
	case SDRV_BLKIF_OP_WRITE_BARRIER:
		atomic_fetch_add(&ctl->barriers, 1);
		return do_rw(b, r, b->segs, r->nr_segments);
	case SDRV_BLKIF_OP_FLUSH_DISKCACHE:
		atomic_fetch_add(&ctl->flushes, 1);
		return 0;
	case SDRV_BLKIF_OP_DISCARD:
		atomic_fetch_add(&ctl->discards, 1);
		memset(b->disk + r->sector_number * 512, 0, (size_t)r->nr_sectors * 512);
		return 0;
	}
	return -ENOSYS;
}

/* Write one response, as asked or as misbehaviour wants. */
static void respond(struct tb *b, struct tbq *q, const struct sdrv_blkif_req *r, int err,
		    uint32_t evil)
{
	struct sdrv_blkif_rsp rsp = {.id = r->id,
				     .operation = sdrv_blkif_rsp_operation(r),
				     .status = sdrv_blkif_status_for(err)};
	unsigned char *slot = sdrv_ring_back_next_rsp(&q->r);

	if (!slot)
		return;
	if (evil == TB_BAD_ID)
		rsp.id += 1000;
	if (evil == TB_WRONG_OP)
		rsp.operation =
		    rsp.operation == SDRV_BLKIF_OP_READ ? SDRV_BLKIF_OP_WRITE : SDRV_BLKIF_OP_READ;
	sdrv_blkif_encode_rsp(SDRV_BLKIF_ABI_NATIVE, &rsp, slot, b->esz);
	if (evil == TB_BAD_STATUS) {
		int16_t bad = 7;
		memcpy(slot + offsetof(struct sdrv_blkif_response, status), &bad, sizeof(bad));
	}
}

static void serve_queue(struct tb *b, struct tbq *q)
{
	unsigned char slots[32][SDRV_BLKIF_ENTRY_SIZE];
	struct tb_ctl *ctl = b->ctl;

	for (int round = 0; round < 64; round++) {
		int32_t n;
		uint32_t answered = 0;
		bool notify, jump = false;

		if (atomic_load(&ctl->hold)) {
			while (q->nheld < MAX_ENTS &&
			       sdrv_ring_back_take_req(&q->r, q->held[q->nheld]) == 1) {
				q->nheld++;
				atomic_fetch_add(&ctl->held, 1);
			}
			return;
		}
		if (q->nheld) {
			n = q->nheld > 32 ? 32 : (int32_t)q->nheld;
			memcpy(slots, q->held, (size_t)n * sizeof(slots[0]));
			memmove(q->held, q->held[n],
				(size_t)(q->nheld - (uint32_t)n) * sizeof(q->held[0]));
			q->nheld -= (uint32_t)n;
			atomic_fetch_sub(&ctl->held, (uint32_t)n);
		} else {
			n = sdrv_ring_back_take_reqs(&q->r, slots, 32);
		}
		if (n < 0) {
			tb_fail(b, "ring broken: %s", sdrv_ring_broken(&q->r));
			return;
		}
		if (n == 0) {
			if (sdrv_ring_back_final_check(&q->r) > 0)
				continue;
			return;
		}
		for (int32_t i = 0; i < n; i++) {
			struct sdrv_blkif_req r;
			uint32_t evil = atomic_load(&ctl->evil);
			int err = serve(b, slots[i], &r);

			if (evil == TB_DUP && n - i >= 2) {
				/* The first of two answered twice: the second
				 * response takes the other request's slot. */
				atomic_store(&ctl->evil, TB_NONE);
				respond(b, q, &r, err, TB_NONE);
				respond(b, q, &r, err, TB_NONE);
				answered += 2;
				i++;
				continue;
			}
			if (evil == TB_BAD_ID || evil == TB_WRONG_OP || evil == TB_BAD_STATUS ||
			    evil == TB_PROD_JUMP)
				atomic_store(&ctl->evil, TB_NONE);
			else if (evil != TB_LEAK_MAPS)
				evil = TB_NONE;
			respond(b, q, &r, err, evil);
			answered++;
			jump |= evil == TB_PROD_JUMP;
		}
		notify = sdrv_ring_back_push(&q->r);
		if (jump) {
			/* Claim 100 responses more than were answered. */
			SDRV_STORE_RELEASE(&q->r.sring->rsp_prod, q->r.pushed + 100);
			notify = true;
		}
		atomic_fetch_add(&ctl->answered, answered);
		if (notify)
			sdrv_evtchn_notify(b->x, q->port);
	}
}

/* ------------------------------------------------------------------------ */

static struct sdrv_xport *open_xport(const char *broker)
{
	struct sdrv_xport_opts o = {.sz = sizeof(o)};
	uint64_t end = tu_now_ns() + (tu_under_valgrind() ? 200ull : 10ull) * 1000000000ull;
	struct sdrv_xport *x;

	o.address = broker;
	o.domid = TH_BE_DOM;
	o.grant_pages = 64;
	/* EPERM while the broker still holds a dead backend of that id. */
	while (!(x = sdrv_xport_open("posix", &o)) && errno == EPERM && tu_now_ns() < end)
		usleep(2000);
	return x;
}

int tb_main(const char *broker, struct tb_ctl *ctl, unsigned char *disk)
{
	struct sdrv_xenbus_back_opts o = {.sz = sizeof(o)};
	struct sdrv_xs_opts xo = {.sz = sizeof(xo)};
	struct sigaction sa;
	struct tb *b = calloc(1, sizeof(*b));
	int rc = 0;

	if (!b)
		return 2;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	b->ctl = ctl;
	b->cfg = ctl->cfg;
	b->disk = disk;
	b->esz = sdrv_blkif_entry_size(SDRV_BLKIF_ABI_NATIVE);
	b->q = calloc(MAX_Q, sizeof(*b->q));
	b->pmap = calloc(GREF_MAX, sizeof(*b->pmap));
	b->seen_data = calloc(GREF_MAX / 8, 1);
	b->seen_ind = calloc(GREF_MAX / 8, 1);
	if (!b->q || !b->pmap || !b->seen_data || !b->seen_ind)
		return 2;
	b->x = open_xport(broker);
	if (!b->x) {
		tb_fail(b, "transport: %s", strerror(errno));
		return 2;
	}
	xo.timeout_ms = tu_under_valgrind() ? 600000 : 30000;
	b->xs = sdrv_xs_open(sdrv_xport_store_address(b->x), &xo);
	if (!b->xs) {
		tb_fail(b, "store: %s", strerror(errno));
		return 2;
	}
	o.xs = b->xs;
	o.domid = TH_BE_DOM;
	o.type = "vbd";
	o.fe = TH_FE_DOM;
	o.id = b->cfg.devid;
	o.publish = tb_publish;
	o.connect = tb_connect;
	o.disconnect = tb_disconnect;
	o.ctx = b;
	b->be = sdrv_xenbus_back_new(&o);
	if (!b->be) {
		tb_fail(b, "sdrv_xenbus_back_new: %s", strerror(errno));
		return 2;
	}
	atomic_store(&ctl->running, 1);
	while (!g_term) {
		struct pollfd pfd[2] = {{.fd = sdrv_xport_fd(b->x), .events = POLLIN},
					{.fd = sdrv_xs_fd(b->xs), .events = POLLIN}};
		struct sdrv_xport_event ev[8];
		sdrv_evtchn_port_t port;
		uint32_t evil = atomic_load(&ctl->evil);
		bool storming = evil == TB_STORM && b->connected;

		(void)poll(pfd, 2, storming ? 0 : 10);
		if (sdrv_xs_process(b->xs) < 0) {
			tb_fail(b, "store connection: %s", sdrv_xs_broken(b->xs));
			rc = 1;
			break;
		}
		(void)sdrv_xport_process(b->x, ev, 8);
		while (sdrv_evtchn_pending(b->x, &port) == 1) {
			bool ours = false;

			for (uint32_t i = 0; i < b->nq; i++)
				if (b->q[i].ring_map && b->q[i].port == port)
					b->q[i].woken = ours = true;
			if (!ours)
				sdrv_evtchn_unmask(b->x, port);
		}
		if (storming) {
			uint64_t now = tu_now_ns();

			if (!b->storm_end)
				b->storm_end =
				    now + (uint64_t)atomic_load(&ctl->evil_arg) * 1000000ull;
			for (int i = 0; i < 256; i++)
				if (sdrv_evtchn_notify(b->x, b->q[0].port) == 0)
					atomic_fetch_add(&ctl->storm_sent, 1);
			if (now >= b->storm_end) {
				b->storm_end = 0;
				atomic_store(&ctl->evil, TB_NONE);
				atomic_store(&ctl->storm_done, 1);
			}
		}
		for (uint32_t i = 0; b->connected && !storming && i < b->nq; i++)
			serve_queue(b, &b->q[i]);
		for (uint32_t i = 0; i < b->nq; i++) {
			if (b->q[i].woken) {
				b->q[i].woken = false;
				sdrv_evtchn_unmask(b->x, b->q[i].port);
			}
		}
	}
	if (rc == 0 && sdrv_xenbus_back_close(b->be, tu_under_valgrind() ? 20000 : 2000) < 0 &&
	    sdrv_xs_broken(b->xs))
		rc = 1;
	sdrv_xenbus_back_free(b->be);
	unmap_all(b);
	sdrv_xs_close(b->xs);
	sdrv_xport_close(b->x);
	free(b->q);
	free(b->pmap);
	free(b->seen_data);
	free(b->seen_ind);
	free(b);
	return rc;
}
