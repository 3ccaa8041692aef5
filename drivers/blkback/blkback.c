/* SPDX-License-Identifier: MIT */
/*
 * blkback: the object, its event loop and the list of devices it serves.
 *
 * One epoll set holds the transport's descriptor (event channels, peer
 * deaths), the store connection's, io_uring's own descriptor (readable
 * while completions wait) and an eventfd blkback kicks itself with when it
 * left work for the next round,
 * so sdrv_blkback_fd() is readable exactly when sdrv_blkback_process() has
 * something to do.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "blkback-int.h"

/* Completions taken per process() call, as a multiple of the ring size. */
#define CQE_ROUNDS 2

void bb_log(struct bb *b, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	drv_vlog(b->log, b->log_ctx, level, fmt, ap);
	va_end(ap);
}

void bb_kick(struct bb *b)
{
	drv_kick(&b->kick);
}

int bb_port_set(struct bb *b, sdrv_evtchn_port_t port, struct bb_queue *q)
{
	return drv_ports_set(&b->ports, port, q);
}

/* -------------------------- finding devices --------------------------- */

static struct bb_dev *find_dev(struct bb *b, sdrv_domid_t fe, uint32_t devid)
{
	for (struct bb_dev *d = b->devs; d; d = d->next)
		if (d->fe == fe && d->devid == devid)
			return d;
	return NULL;
}

/*
 * A change under the vbd directory. Devices blkback serves watch their own
 * keys; what matters here is a device appearing or going, so look again
 * only for paths naming no known device, or naming one at its top.
 */
static void on_vbd(struct sdrv_xs *xs, const char *path, const char *token, void *ctx)
{
	struct bb *b = ctx;
	const char *rest;
	sdrv_domid_t fe;
	uint32_t id;

	(void)xs;
	(void)token;
	if (!drv_dev_path(b->vbd_dir, path, &fe, &id, &rest) || !*rest || !find_dev(b, fe, id))
		b->rescan = true;
}

static void found_vbd(void *ctx, sdrv_domid_t fe, uint32_t id)
{
	struct bb *b = ctx;
	char path[SDRV_XENBUS_PATH_MAX], *val;
	struct bb_dev *d;
	size_t vlen;

	if ((d = find_dev(b, fe, id))) {
		d->gone = false;
		return;
	}
	/* As Linux blkback waits for physical-device: a device is served
	 * once the toolstack has named its image. Until then (and for a
	 * directory the toolstack is still writing, which fails below) the
	 * device's next key brings us back here (on_vbd). */
	snprintf(path, sizeof(path), "%s/%u/%u/params", b->vbd_dir, fe, id);
	if (sdrv_xs_read(b->xs, 0, path, &val, &vlen) < 0)
		return;
	free(val);
	if (!(d = bb_dev_new(b, fe, id))) {
		bb_log(b, LOG_DEBUG, "vbd %u/%u: not (yet) usable: %s", fe, id, strerror(errno));
		return;
	}
	d->next = b->devs;
	b->devs = d;
}

static void rescan(struct bb *b)
{
	struct bb_dev *d;
	int r;

	b->rescan = false;
	for (d = b->devs; d; d = d->next)
		d->gone = true;
	if ((r = drv_scan(b->xs, b->vbd_dir, found_vbd, b)) < 0) {
		bb_log(b, LOG_WARNING, "listing %s: %s", b->vbd_dir, strerror(-r));
		for (d = b->devs; d; d = d->next)
			d->gone = false;
	}
}

static void reap(struct bb *b)
{
	struct bb_dev **pp = &b->devs;

	while (*pp) {
		struct bb_dev *d = *pp;

		if (!d->gone) {
			pp = &d->next;
			continue;
		}
		*pp = d->next;
		bb_log(b, LOG_INFO, "vbd %u/%u: removed", d->fe, d->devid);
		bb_dev_free(d);
	}
}

/* ------------------------------ the API ------------------------------- */

static int ep_add(struct bb *b, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN};

	ev.data.fd = fd;
	return epoll_ctl(b->epfd, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : -errno;
}

struct sdrv_blkback *sdrv_blkback_new(const struct sdrv_blkback_opts *opts)
{
	struct sdrv_blkback_opts o;
	struct bb *b;
	char token[48];
	int r;

	if (!opts || opts->sz < offsetof(struct sdrv_blkback_opts, max_ring_page_order) ||
	    !opts->xport || !opts->xs) {
		errno = EINVAL;
		return NULL;
	}
	memset(&o, 0, sizeof(o));
	memcpy(&o, opts, opts->sz < sizeof(o) ? opts->sz : sizeof(o));
	if (o.max_ring_page_order > BB_MAX_ORDER || o.max_queues > BB_MAX_QUEUES ||
	    o.max_indirect_segments > SDRV_BLKIF_MAX_INDIRECT_SEGMENTS || o.uring_entries > 32768) {
		errno = EINVAL;
		return NULL;
	}
	if (!(b = calloc(1, sizeof(*b))))
		return NULL;
	b->x = o.xport;
	b->xs = o.xs;
	b->domid = sdrv_xport_domid(o.xport);
	b->max_order = o.max_ring_page_order ? o.max_ring_page_order : BB_MAX_ORDER;
	b->max_queues = o.max_queues ? o.max_queues : 4;
	b->max_indirect = (o.flags & SDRV_BLKBACK_NO_INDIRECT) ? 0
			  : o.max_indirect_segments	       ? o.max_indirect_segments
							       : 256;
	b->max_pgnt = o.max_persistent_grants ? o.max_persistent_grants : 1056;
	b->flags = o.flags;
	b->log = o.log;
	b->log_ctx = o.log_ctx;
	b->uring_cap = o.uring_entries ? o.uring_entries : 256;
	b->epfd = b->kick.fd = -1;

	r = io_uring_queue_init(b->uring_cap, &b->uring, 0);
	if (r < 0) {
		free(b);
		errno = -r == EPERM ? ENOSYS : -r;
		return NULL;
	}
	/* The kernel rounds the ring up to a power of two; the completion
	 * ring is twice that, so what is in flight always fits in it. */
	b->uring_cap = b->uring.sq.ring_entries;
	b->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (b->epfd < 0 || drv_kick_open(&b->kick) < 0)
		goto fail;
	/* io_uring's own descriptor is readable while completions wait:
	 * no eventfd to drain with a system call each round. */
	if (ep_add(b, sdrv_xport_fd(b->x)) < 0 || ep_add(b, sdrv_xs_fd(b->xs)) < 0 ||
	    ep_add(b, b->kick.fd) < 0 || ep_add(b, b->uring.ring_fd) < 0)
		goto fail;
	snprintf(b->vbd_dir, sizeof(b->vbd_dir), "/local/domain/%u/backend/vbd", b->domid);
	snprintf(token, sizeof(token), "sdrv-blkback/%p", (void *)b);
	if ((r = sdrv_xs_watch(b->xs, b->vbd_dir, token, on_vbd, b)) < 0) {
		errno = -r;
		goto fail;
	}
	b->rescan = true;
	bb_kick(b);
	bb_log(
	    b, LOG_INFO,
	    "serving %s: up to %u queues of %u pages, %u indirect segments, persistent grants %s",
	    b->vbd_dir, b->max_queues, 1u << b->max_order, b->max_indirect,
	    (b->flags & SDRV_BLKBACK_NO_PERSISTENT) ? "off" : "on");
	return (struct sdrv_blkback *)b;
fail : {
	int err = errno ? errno : EIO;

	io_uring_queue_exit(&b->uring);
	if (b->epfd >= 0)
		close(b->epfd);
	drv_kick_close(&b->kick);
	free(b);
	errno = err;
	return NULL;
}
}

int sdrv_blkback_fd(const struct sdrv_blkback *bk)
{
	const struct bb *b = (const struct bb *)bk;

	return b ? b->epfd : -EINVAL;
}

static void take_completions(struct bb *b)
{
	uint32_t budget = CQE_ROUNDS * b->uring_cap;
	struct io_uring_cqe *cqe;

	while (budget-- && io_uring_peek_cqe(&b->uring, &cqe) == 0) {
		bb_complete(b, cqe);
		io_uring_cqe_seen(&b->uring, cqe);
	}
	if (io_uring_cq_ready(&b->uring))
		bb_kick(b);
}

int sdrv_blkback_process(struct sdrv_blkback *bk)
{
	struct bb *b = (struct bb *)bk;
	struct sdrv_xport_event ev[16];
	sdrv_evtchn_port_t woken[64], p;
	struct epoll_event evs[8];
	bool xs_ready = false, x_ready = false;
	uint32_t nwoken = 0;
	int n, r;

	if (!b)
		return -EINVAL;
	drv_kick_drain(&b->kick);
	/* One look at the set says which parts have work, so that a round
	 * busy with rings makes no system call for the store or the
	 * transport. (Completions are seen in memory.) */
	n = epoll_wait(b->epfd, evs, 8, 0);
	if (n < 0)
		xs_ready = x_ready = true;
	for (int i = 0; i < n; i++) {
		xs_ready |= evs[i].data.fd == sdrv_xs_fd(b->xs);
		x_ready |= evs[i].data.fd == sdrv_xport_fd(b->x);
	}

	r = xs_ready ? sdrv_xs_process(b->xs) : 0;
	if (r < 0 && r != -EBUSY) {
		bb_log(b, LOG_ERR, "the store connection broke: %s",
		       sdrv_xs_broken(b->xs) ? sdrv_xs_broken(b->xs) : strerror(-r));
		return -ECONNRESET;
	}
	if (b->rescan)
		rescan(b);
	reap(b);

	if (x_ready)
		(void)sdrv_xport_wait(b->x, 0); /* the look process() and pending() answer from */
	n = x_ready ? sdrv_xport_process(b->x, ev, 16) : 0;
	if (n < 0) {
		bb_log(b, LOG_ERR, "the transport went away: %s", strerror(-n));
		return -ECONNRESET;
	}
	for (int i = 0; i < n; i++)
		if (ev[i].type == SDRV_XPORT_EV_PEER_DIED)
			for (struct bb_dev *d = b->devs; d; d = d->next)
				if (d->fe == ev[i].domid)
					bb_dev_peer_died(d);
	if (n == 16)
		bb_kick(b);

	take_completions(b);

	/* Ports that fired: each masked until its queue is drained (late EOI). */
	while (x_ready && nwoken < 64 && sdrv_evtchn_pending(b->x, &p) == 1) {
		struct bb_queue *q = drv_ports_get(&b->ports, p);

		if (!q) {
			sdrv_evtchn_unmask(b->x, p);
			continue;
		}
		q->woken = true;
		q->found_work = false;
		q->more = true;
		woken[nwoken++] = p;
	}
	if (nwoken == 64)
		bb_kick(b);

	for (struct bb_dev *d = b->devs; d; d = d->next)
		for (uint32_t i = 0; i < d->nr_queues; i++)
			if (d->q[i] && d->q[i]->more)
				bb_queue_serve(d->q[i]);
	if (b->uring_dirty) {
		b->uring_dirty = false;
		r = io_uring_submit(&b->uring);
		if (r < 0 && r != -EAGAIN && r != -EBUSY && r != -EINTR)
			bb_log(b, LOG_ERR, "io_uring_submit: %s", strerror(-r));
		if (r < 0)
			bb_kick(b);
	}
	for (struct bb_dev *d = b->devs; d; d = d->next)
		for (uint32_t i = 0; i < d->nr_queues; i++)
			if (d->q[i])
				bb_queue_push(d->q[i]);

	for (uint32_t i = 0; i < nwoken; i++) {
		struct bb_queue *q = drv_ports_get(&b->ports, woken[i]);

		if (!q)
			continue; /* stopped meanwhile: its port is closed */
		if (!q->found_work && q->d)
			q->d->spurious++;
		sdrv_evtchn_eoi(b->x, woken[i], q->found_work ? 0 : SDRV_EOI_SPURIOUS);
		q->woken = false;
	}
	return 0;
}

uint32_t sdrv_blkback_list(const struct sdrv_blkback *bk, struct sdrv_blkback_dev_info *out,
			   uint32_t max)
{
	const struct bb *b = (const struct bb *)bk;
	uint32_t n = 0;

	if (!b)
		return 0;
	for (const struct bb_dev *d = b->devs; d; d = d->next, n++) {
		struct sdrv_blkback_dev_info *i;

		if (n >= max || !out)
			continue;
		i = &out[n];
		memset(i, 0, sizeof(*i));
		i->frontend = d->fe;
		i->devid = d->devid;
		i->state = sdrv_xenbus_back_state(d->xb);
		i->nr_queues = d->nr_queues;
		i->ring_page_order = d->order;
		i->persistent = d->persistent;
		i->readonly = d->readonly;
		i->sectors = d->sectors;
		i->requests = d->requests;
		i->errors = d->errors;
		i->bytes_read = d->bytes_read;
		i->bytes_written = d->bytes_written;
		i->persistent_maps = d->pmaps;
		i->maps = d->maps;
		i->spurious = d->spurious;
		i->broken = d->broken;
	}
	return n;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool all_closed(const struct bb *b)
{
	for (const struct bb_dev *d = b->devs; d; d = d->next) {
		enum sdrv_xenbus_state s = sdrv_xenbus_back_state(d->xb);

		if (s != SDRV_XENBUS_CLOSED && s != SDRV_XENBUS_UNKNOWN)
			return false;
	}
	return b->uring_inflight == 0;
}

void sdrv_blkback_free(struct sdrv_blkback *bk, int timeout_ms)
{
	struct bb *b = (struct bb *)bk;
	uint64_t end;
	char token[48];

	if (!b)
		return;
	/* Go Closing everywhere and serve until the frontends follow (or
	 * the time is up): requests in flight get their responses. */
	for (struct bb_dev *d = b->devs; d; d = d->next)
		sdrv_xenbus_back_shutdown(d->xb);
	end = now_ms() + (timeout_ms > 0 ? (uint64_t)timeout_ms : 0);
	while (!all_closed(b) && now_ms() < end) {
		struct pollfd pfd = {.fd = b->epfd, .events = POLLIN};
		int left = (int)(end - now_ms());

		if (poll(&pfd, 1, left > 100 ? 100 : left) < 0 && errno != EINTR)
			break;
		if (sdrv_blkback_process(bk) < 0)
			break;
	}
	/* Whatever is still in flight finishes before anything is unmapped:
	 * tearing the ring down waits for its requests. */
	io_uring_queue_exit(&b->uring);
	b->uring_inflight = 0;
	while (b->devs) {
		struct bb_dev *d = b->devs;

		b->devs = d->next;
		bb_dev_free(d);
	}
	while (b->zombies) {
		struct bb_queue *q = b->zombies;

		b->zombies = q->next_zombie;
		bb_queue_release(q);
	}
	snprintf(token, sizeof(token), "sdrv-blkback/%p", (void *)b);
	sdrv_xs_unwatch(b->xs, b->vbd_dir, token);
	close(b->epfd);
	drv_kick_close(&b->kick);
	drv_ports_free(&b->ports);
	free(b);
}
