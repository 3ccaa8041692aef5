/* SPDX-License-Identifier: MIT */
/*
 * blkfront: the handle, the xenbus handshake and the negotiation. The
 * data path is in io.c; doc/blkfront.md has the design.
 *
 * The xenbus front object runs the XenbusState machine; its callbacks are
 * ours: publish grants the rings and allocates the event channels (after
 * reading what the backend offers), connect reads the device and the
 * features and grants the persistent pools, disconnect takes the rings
 * down and keeps every unanswered request for the next connection. Every
 * key the backend wrote is read with the strict readers: a value that is
 * malformed or that no conforming backend writes refuses the device with
 * a reason naming the key, it is never guessed at.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "blkfront-int.h"

#define DEFAULT_MAX_IOS 256u
#define DEFAULT_POOL	1024u
#define DEFAULT_SEGS	256u
#define MAX_MAX_IOS	65536u
#define MAX_POOL	(1u << 20)
#define DEV_TYPE	"vbd"
#define TAG_XPORT	1u
#define TAG_XS		2u
#define TAG_KICK	3u
#define TAG_TIMER	4u
/* Work per sdrv_blkfront_process(): ports taken, responses per queue. */
#define PORT_BUDGET 64u
#define RSP_BUDGET  512u
/* Largest physical-sector-size believed. */
#define MAX_PHYS_SECTOR (1u << 20)
#define KNOWN_OPT_FLAGS (SDRV_BLKFRONT_NO_PERSISTENT | SDRV_BLKFRONT_NO_INDIRECT)
#define KNOWN_IO_FLAGS                                                                             \
	(SDRV_BLKFRONT_FUA | SDRV_BLKFRONT_BARRIER | SDRV_BLKFRONT_SECURE | SDRV_BLKFRONT_DEFER)

uint64_t bf_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void bf_log(struct sdrv_blkfront *f, int level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!f->o.log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	f->o.log(f->o.log_ctx, level, msg);
}

/*
 * Break the frontend for good: the first reason is kept, every I/O fails
 * with -EIO, the device goes Closing (as xenbus_dev_fatal()). The rings are
 * taken down by the xenbus object's disconnect, or at free.
 */
void bf_break(struct sdrv_blkfront *f, const char *fmt, ...)
{
	va_list ap;

	if (f->broken)
		return;
	va_start(ap, fmt);
	vsnprintf(f->broken_buf, sizeof(f->broken_buf), fmt, ap);
	va_end(ap);
	f->broken = f->broken_buf;
	f->connected = false;
	bf_log(f, LOG_ERR, "vbd %u: %s; the device is closed", f->o.devid, f->broken);
	bf_fail_all(f, -EIO);
	bf_kick(f);
	if (f->xf && !f->closing)
		sdrv_xenbus_front_shutdown(f->xf);
}

void bf_kick(struct sdrv_blkfront *f)
{
	uint64_t one = 1;

	if (f->kicked || f->kickfd < 0)
		return;
	if (write(f->kickfd, &one, sizeof(one)) == (ssize_t)sizeof(one))
		f->kicked = true;
}

void bf_want_retry(struct sdrv_blkfront *f, uint64_t delay_ns)
{
	uint64_t t = bf_now_ns() + delay_ns;

	if (!f->retry_ns || t < f->retry_ns)
		f->retry_ns = t;
}

/* The device is gone (removed, or the toolstack took it down): everything
 * fails with -ENODEV and the frontend does not reconnect. */
static void bf_gone(struct sdrv_blkfront *f, const char *why)
{
	if (f->gone)
		return;
	f->gone = true;
	f->connected = false;
	bf_log(f, LOG_INFO, "vbd %u: %s", f->o.devid, why);
	bf_fail_all(f, -ENODEV);
	bf_teardown(f);
	bf_kick(f);
	if (f->xf && !f->closing)
		sdrv_xenbus_front_shutdown(f->xf);
}

/* ------------------------------------------------------------------------ */
/* Reading what the backend wrote */

/* A backend value for a message: at most 40 printable bytes. */
static void raw_value(struct sdrv_blkfront *f, uint32_t tx, const char *key, char *out, size_t size)
{
	char *v = NULL;
	size_t i;

	snprintf(out, size, "?");
	if (sdrv_xenbus_read_str(f->xs, tx, sdrv_xenbus_front_peer_dir(f->xf), key, 4096, &v) < 0)
		return;
	for (i = 0; v[i] && i + 1 < size && i < 40; i++)
		out[i] = (v[i] >= 0x20 && v[i] < 0x7f && v[i] != '"') ? v[i] : '?';
	out[i] = 0;
	free(v);
}

/* Refuse the device because of key `key` (read with error `rc`). */
static int refuse_key(struct sdrv_blkfront *f, uint32_t tx, const char *key, int rc, uint64_t min,
		      uint64_t max)
{
	char raw[48];

	if (rc == -ENOENT) {
		bf_break(f, "the backend did not write %s", key);
		return -EINVAL;
	}
	if (rc != -EINVAL && rc != -ERANGE && rc != 0) {
		bf_break(f, "reading the backend's %s failed: %s", key, strerror(-rc));
		return rc;
	}
	raw_value(f, tx, key, raw, sizeof(raw));
	if (rc == -EINVAL)
		bf_break(f, "the backend's %s is \"%s\", not a number", key, raw);
	else
		bf_break(f, "the backend's %s is %s, out of range (%llu..%llu)", key, raw,
			 (unsigned long long)min, (unsigned long long)max);
	return -EINVAL;
}

/* A number the backend wrote, in min..max; `dflt` if absent and not required. */
static int be_uint(struct sdrv_blkfront *f, uint32_t tx, const char *key, uint64_t min,
		   uint64_t max, bool required, uint64_t dflt, uint64_t *out)
{
	int rc = sdrv_xenbus_read_uint(f->xs, tx, sdrv_xenbus_front_peer_dir(f->xf), key, max, dflt,
				       out);

	if (rc == -ENOENT && !required) {
		*out = dflt;
		return 0;
	}
	if (rc == 0 && *out >= min)
		return 0;
	return refuse_key(f, tx, key, rc, min, max);
}

static int be_bool(struct sdrv_blkfront *f, const char *key, bool *out)
{
	int rc = sdrv_xenbus_read_bool(f->xs, SDRV_XS_TX_NONE, sdrv_xenbus_front_peer_dir(f->xf),
				       key, false, out);

	return rc < 0 ? refuse_key(f, SDRV_XS_TX_NONE, key, rc, 0, UINT32_MAX) : 0;
}

/* ------------------------------------------------------------------------ */
/* xenbus callbacks */

static int alloc_queues(struct sdrv_blkfront *f)
{
	for (uint32_t i = 0; i < f->nr_queues; i++) {
		struct bf_queue *q = &f->qs[i];
		size_t bytes = SDRV_RING_BYTES(f->order);
		int rc;

		q->ring_pages = 1u << f->order;
		q->ring_mem = sdrv_gnt_share(f->x, f->be_domid, q->ring_pages, true, q->ring_refs);
		if (!q->ring_mem) {
			rc = -errno;
			bf_break(f, "granting the ring of queue %u failed: %s", i, strerror(-rc));
			return rc;
		}
		/* From here on the teardown revokes the pages (and closes the
		 * port if there is one). */
		q->have_ring = true;
		q->port = 0;
		rc = sdrv_ring_front_init(&q->ring, q->ring_mem, bytes, f->esz);
		if (rc == 0)
			q->nr_ents = sdrv_ring_nr_ents(&q->ring);
		if (rc == 0 && (q->nr_ents > f->ents_cap ||
				sdrv_ring_ids_init(&q->ids, q->ids_store, q->nr_ents) < 0))
			rc = -EINVAL;
		if (rc < 0) {
			bf_break(f, "setting up the ring of queue %u failed", i);
			return -EINVAL;
		}
		memset(q->id2part, 0, sizeof(*q->id2part) * f->ents_cap);
		rc = sdrv_evtchn_alloc_unbound(f->x, f->be_domid, &q->port);
		if (rc < 0) {
			q->port = 0;
			bf_break(f, "allocating the event channel of queue %u failed: %s", i,
				 strerror(-rc));
			return rc;
		}
	}
	return 0;
}

/* A ring key of some publication: ring-ref, ring-refN, queue-N, ... */
static bool ring_key(const char *name)
{
	static const char *const fixed[] = {
	    SDRV_XENBUS_KEY_RING_PAGE_ORDER, SDRV_XENBUS_KEY_NUM_RING_PAGES,
	    SDRV_XENBUS_KEY_NUM_QUEUES, SDRV_XENBUS_KEY_EVENT_CHANNEL};
	size_t rl = strlen(SDRV_XENBUS_KEY_RING_REF);

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (strcmp(name, fixed[i]) == 0)
			return true;
	if (strncmp(name, SDRV_XENBUS_KEY_RING_REF, rl) == 0 &&
	    strspn(name + rl, "0123456789") == strlen(name + rl))
		return true;
	return strncmp(name, "queue-", 6) == 0 && name[6] &&
	       strspn(name + 6, "0123456789") == strlen(name + 6);
}

/*
 * Remove the ring keys of earlier publications, also of an earlier
 * frontend instance (another process) with another layout: a backend that
 * found a stale multi-queue-num-queues or queue-N/ would map dead refs.
 */
static int remove_old_keys(struct sdrv_blkfront *f, uint32_t tx, const char *dir)
{
	char **names = NULL;
	unsigned int n = 0;
	int rc = sdrv_xs_directory(f->xs, tx, dir, &names, &n);

	if (rc == -ENOENT)
		return 0;
	for (unsigned int i = 0; rc == 0 && i < n; i++) {
		char key[SDRV_XENBUS_PATH_MAX + 64];

		if (!ring_key(names[i]))
			continue;
		snprintf(key, sizeof(key), "%s/%s", dir, names[i]);
		rc = sdrv_xs_rm(f->xs, tx, key);
		if (rc == -ENOENT)
			rc = 0;
	}
	free(names);
	return rc;
}

/* Frontend Initialising, backend InitWait: choose the rings from what the
 * backend offers, grant them, and write the keys as Linux blkfront does. */
static int bf_publish(struct sdrv_xenbus_front *xf, uint32_t tx, void *ctx)
{
	struct sdrv_blkfront *f = ctx;
	const char *dir = sdrv_xenbus_front_dir(xf);
	uint64_t be_order, be_queues;
	int rc;

	if (f->broken || f->gone || f->closing)
		return -EIO;
	if (!f->published) {
		/* A stale connection's leftovers first, so the grant pool has
		 * room for the new rings. */
		bf_teardown(f);
		bf_reap_graves(f);
		if ((rc = be_uint(f, tx, SDRV_XENBUS_KEY_MAX_RING_PAGE_ORDER, 0,
				  SDRV_RING_MAX_ORDER, false, 0, &be_order)) < 0 ||
		    (rc = be_uint(f, tx, SDRV_XENBUS_KEY_MAX_QUEUES, 1, SDRV_XENBUS_MAX_QUEUES,
				  false, 1, &be_queues)) < 0)
			return rc;
		f->order = f->order_want < be_order ? f->order_want : (uint32_t)be_order;
		f->nr_queues = f->queues_want < be_queues ? f->queues_want : (uint32_t)be_queues;
		f->be_dead = false;
		if ((rc = alloc_queues(f)) < 0)
			return rc;
		f->published = true;
	}
	if ((rc = remove_old_keys(f, tx, dir)) < 0)
		return rc;
	for (uint32_t i = 0; i < f->nr_queues; i++) {
		char qdir[SDRV_XENBUS_PATH_MAX];

		if ((rc = sdrv_xenbus_queue_dir(qdir, sizeof(qdir), dir, f->nr_queues, i)) < 0 ||
		    (rc = sdrv_xenbus_write_ring_refs(f->xs, tx, qdir, SDRV_XENBUS_KEY_RING_REF,
						      f->qs[i].ring_refs, f->order)) < 0 ||
		    (rc = sdrv_xenbus_write_uint(f->xs, tx, qdir, SDRV_XENBUS_KEY_EVENT_CHANNEL,
						 f->qs[i].port)) < 0)
			return rc;
	}
	if (f->order && (rc = sdrv_xenbus_write_uint(
			     f->xs, tx, dir, SDRV_XENBUS_KEY_RING_PAGE_ORDER, f->order)) < 0)
		return rc;
	if (f->nr_queues > 1 && (rc = sdrv_xenbus_write_uint(
				     f->xs, tx, dir, SDRV_XENBUS_KEY_NUM_QUEUES, f->nr_queues)) < 0)
		return rc;
	if ((rc = sdrv_xenbus_write_str(f->xs, tx, dir, SDRV_XENBUS_KEY_PROTOCOL,
					sdrv_blkif_abi_name(SDRV_BLKIF_ABI_NATIVE))) < 0 ||
	    (rc = sdrv_xenbus_write_bool(f->xs, tx, dir, "feature-persistent",
					 !(f->o.flags & SDRV_BLKFRONT_NO_PERSISTENT))) < 0)
		return rc;
	return 0;
}

/* Backend Connected: read the device and its features, grant the pools. */
static int bf_connect(struct sdrv_xenbus_front *xf, void *ctx)
{
	struct sdrv_blkfront *f = ctx;
	struct sdrv_blkfront_info in;
	uint64_t sectors, info, ssize, pssize, segs, gran = 0, align = 0;
	bool be_persistent;
	int rc;

	(void)xf;
	if (f->broken || f->gone || f->closing || !f->published)
		return -EIO;
	memset(&in, 0, sizeof(in));
	in.sz = sizeof(in);
	/* Linux blkfront requires these three (xenbus_gather). The size in
	 * bytes must fit 64 bits. */
	if ((rc = be_uint(f, 0, "sectors", 0, UINT64_MAX / SDRV_BLKIF_SECTOR_SIZE, true, 0,
			  &sectors)) < 0 ||
	    (rc = be_uint(f, 0, "info", 0, UINT32_MAX, true, 0, &info)) < 0 ||
	    (rc = be_uint(f, 0, "sector-size", 512, 4096, true, 0, &ssize)) < 0)
		return rc;
	if (ssize != 512 && ssize != 4096) {
		bf_break(f, "the backend's sector-size is %llu; only 512 and 4096 are supported",
			 (unsigned long long)ssize);
		return -EINVAL;
	}
	if ((rc = be_uint(f, 0, "physical-sector-size", ssize, MAX_PHYS_SECTOR, false, ssize,
			  &pssize)) < 0)
		return rc;
	if (pssize & (pssize - 1)) {
		bf_break(f, "the backend's physical-sector-size %llu is not a power of two",
			 (unsigned long long)pssize);
		return -EINVAL;
	}
	if ((rc = be_bool(f, "feature-flush-cache", &in.flush)) < 0 ||
	    (rc = be_bool(f, "feature-barrier", &in.barrier)) < 0 ||
	    (rc = be_bool(f, "feature-discard", &in.discard)) < 0 ||
	    (rc = be_bool(f, "feature-persistent", &be_persistent)) < 0 ||
	    (rc = be_uint(f, 0, "feature-max-indirect-segments", 0,
			  SDRV_BLKIF_MAX_INDIRECT_SEGMENTS, false, 0, &segs)) < 0)
		return rc;
	if (in.discard &&
	    ((rc = be_bool(f, "discard-secure", &in.discard_secure)) < 0 ||
	     (rc = be_uint(f, 0, "discard-granularity", 0, UINT32_MAX, false, 0, &gran)) < 0 ||
	     (rc = be_uint(f, 0, "discard-alignment", 0, UINT32_MAX, false, 0, &align)) < 0))
		return rc;
	in.sectors = sectors;
	in.vdisk_info = (uint32_t)info;
	in.readonly = (info & SDRV_BLKIF_VDISK_READONLY) != 0;
	in.sector_size = (uint32_t)ssize;
	in.physical_sector_size = (uint32_t)pssize;
	in.discard_granularity = (uint32_t)gran;
	in.discard_alignment = (uint32_t)align;
	in.persistent = be_persistent && !(f->o.flags & SDRV_BLKFRONT_NO_PERSISTENT);
	in.ring_page_order = f->order;
	in.nr_queues = f->nr_queues;
	segs = segs < f->segs_want ? segs : f->segs_want;
	f->indirect = !(f->o.flags & SDRV_BLKFRONT_NO_INDIRECT) && segs > BF_DIRECT_SEGS;
	f->max_segs = f->indirect ? (uint32_t)segs : BF_DIRECT_SEGS;
	in.max_segments = f->max_segs;
	if (f->ever_connected && in.sectors != f->info.sectors)
		bf_log(f, LOG_NOTICE, "vbd %u: the device now has %llu sectors (was %llu)",
		       f->o.devid, (unsigned long long)in.sectors,
		       (unsigned long long)f->info.sectors);
	f->info = in;
	f->persistent = in.persistent;
	f->be_dead = false;
	if (f->persistent) {
		uint32_t per_req = (f->max_segs + BF_SEGS_PER_IND - 1) / BF_SEGS_PER_IND;

		for (uint32_t i = 0; i < f->nr_queues; i++) {
			struct bf_queue *q = &f->qs[i];
			uint32_t nreq = f->pool_pages / (BF_DIRECT_SEGS + 1) + 1;

			if (nreq > q->nr_ents)
				nreq = q->nr_ents;
			rc = bf_pool_init(f, &q->data, f->pool_pages, true);
			if (rc == 0 && f->indirect)
				rc = bf_pool_init(f, &q->ind, nreq * per_req, false);
			if (rc < 0) {
				bf_break(f, "granting the persistent pool of queue %u failed: %s",
					 i, strerror(-rc));
				return rc;
			}
		}
	}
	for (uint32_t i = 0; i < f->nr_queues; i++)
		f->qs[i].live = true;
	f->connected = true;
	f->ever_connected = true;
	f->st.connects++;
	bf_log(f, LOG_INFO,
	       "vbd %u: connected: %llu sectors of %u bytes%s, %u queue%s of %u pages, %s grants, "
	       "%u segments per request",
	       f->o.devid, (unsigned long long)in.sectors, in.sector_size,
	       in.readonly ? " (read-only)" : "", in.nr_queues, in.nr_queues == 1 ? "" : "s",
	       1u << in.ring_page_order, f->persistent ? "persistent" : "fresh", f->max_segs);
	bf_kick(f); /* send what waited */
	return 0;
}

static void bf_disconnect(struct sdrv_xenbus_front *xf, void *ctx)
{
	(void)xf;
	bf_teardown(ctx);
}

/* Is the toolstack taking the device down (backend `online` = 0)? */
static bool backend_offline(struct sdrv_blkfront *f)
{
	char *v = NULL;
	bool off = false;

	if (sdrv_xenbus_read_str(f->xs, SDRV_XS_TX_NONE, sdrv_xenbus_front_peer_dir(f->xf),
				 SDRV_XENBUS_KEY_ONLINE, 16, &v) == 0) {
		off = strcmp(v, "0") == 0;
		free(v);
	}
	return off;
}

static void bf_state_changed(struct sdrv_xenbus_front *xf, enum sdrv_xenbus_state self,
			     enum sdrv_xenbus_state peer, void *ctx)
{
	struct sdrv_blkfront *f = ctx;

	(void)xf;
	if (self == SDRV_XENBUS_UNKNOWN && f->seen_state) {
		/* The xenbus object goes inert when its directory is removed. */
		bf_gone(f, "the device was removed");
		return;
	}
	if (self != SDRV_XENBUS_UNKNOWN)
		f->seen_state = true;
	if ((peer == SDRV_XENBUS_CLOSING || peer == SDRV_XENBUS_CLOSED) && !f->gone &&
	    !f->closing && backend_offline(f))
		bf_gone(f, "the toolstack removed the device (backend online = 0)");
}

/* ------------------------------------------------------------------------ */
/* The handle */

static void free_tables(struct sdrv_blkfront *f)
{
	if (f->qs) {
		for (uint32_t i = 0; i < f->queues_cap; i++) {
			free(f->qs[i].ids_store);
			free(f->qs[i].id2part);
		}
	}
	free(f->qs);
	free(f->ios);
	free(f->parts);
	free(f->segs);
	free(f->refs);
	if (f->epfd >= 0)
		close(f->epfd);
	if (f->kickfd >= 0)
		close(f->kickfd);
	if (f->timerfd >= 0)
		close(f->timerfd);
	free(f);
}

static int ep_add(int epfd, int fd, uint32_t tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = tag};

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : -errno;
}

SDRV_API struct sdrv_blkfront *sdrv_blkfront_new(const struct sdrv_blkfront_opts *opts)
{
	struct sdrv_xenbus_front_opts xo;
	struct sdrv_blkfront *f;
	uint32_t nparts;
	int rc = -EINVAL;

	if (!opts || opts->sz < offsetof(struct sdrv_blkfront_opts, devid) + sizeof(uint32_t)) {
		errno = EINVAL;
		return NULL;
	}
	/* Aligned for its cache line of the caller's threads (f->rel). */
	f = aligned_alloc(_Alignof(struct sdrv_blkfront), sizeof(*f));
	if (!f) {
		errno = ENOMEM;
		return NULL;
	}
	memset(f, 0, sizeof(*f));
	f->epfd = f->kickfd = f->timerfd = -1;
	memcpy(&f->o, opts, opts->sz < sizeof(f->o) ? opts->sz : sizeof(f->o));
	f->o.sz = sizeof(f->o);
	if (!f->o.xport || !f->o.xs || (f->o.flags & ~KNOWN_OPT_FLAGS) ||
	    f->o.max_ios > MAX_MAX_IOS || f->o.pool_pages > MAX_POOL ||
	    (f->o.max_indirect_segments > SDRV_BLKIF_MAX_INDIRECT_SEGMENTS))
		goto fail;
	f->x = f->o.xport;
	f->xs = f->o.xs;
	f->handle = (uint16_t)f->o.devid;
	f->esz = sdrv_blkif_entry_size(SDRV_BLKIF_ABI_NATIVE);
	f->queues_want = f->o.nr_queues == 0 ? 1 : f->o.nr_queues;
	if (f->queues_want > BF_MAX_QUEUES)
		f->queues_want = BF_MAX_QUEUES;
	f->order_want = f->o.ring_page_order > BF_MAX_ORDER ? BF_MAX_ORDER : f->o.ring_page_order;
	f->segs_want = f->o.max_indirect_segments ? f->o.max_indirect_segments : DEFAULT_SEGS;
	f->max_ios = f->o.max_ios ? f->o.max_ios : DEFAULT_MAX_IOS;
	f->pool_pages = f->o.pool_pages ? f->o.pool_pages : DEFAULT_POOL;
	f->queues_cap = f->queues_want;
	f->order_cap = f->order_want;
	f->ents_cap = sdrv_ring_size_for(SDRV_RING_BYTES(f->order_cap), f->esz);
	f->grave_limit = f->pool_pages * f->queues_cap;
	if (f->grave_limit < 1024)
		f->grave_limit = 1024;
	/* A part for every ring slot, and as many again for the parts that
	 * held reads keep after their slots are free. */
	nparts = f->queues_cap * f->ents_cap * 2;

	rc = -ENOMEM;
	f->qs = calloc(f->queues_cap, sizeof(*f->qs));
	f->ios = calloc(f->max_ios, sizeof(*f->ios));
	f->parts = calloc(nparts, sizeof(*f->parts));
	f->segs = calloc(SDRV_BLKIF_MAX_INDIRECT_SEGMENTS, sizeof(*f->segs));
	f->refs = calloc(SDRV_BLKIF_MAX_INDIRECT_SEGMENTS, sizeof(*f->refs));
	if (!f->qs || !f->ios || !f->parts || !f->segs || !f->refs)
		goto fail;
	for (uint32_t i = 0; i < f->queues_cap; i++) {
		struct bf_queue *q = &f->qs[i];

		q->idx = i;
		q->ids_store = calloc(f->ents_cap, sizeof(*q->ids_store));
		q->id2part = calloc(f->ents_cap, sizeof(*q->id2part));
		if (!q->ids_store || !q->id2part)
			goto fail;
		q->data.free_head = q->ind.free_head = BF_NONE;
	}
	for (uint32_t i = f->max_ios; i-- > 0;) {
		f->ios[i].next = f->io_free;
		f->io_free = &f->ios[i];
	}
	for (uint32_t i = nparts; i-- > 0;) {
		f->parts[i].next = f->part_free;
		f->part_free = &f->parts[i];
	}

	f->epfd = epoll_create1(EPOLL_CLOEXEC);
	f->kickfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	f->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (f->epfd < 0 || f->kickfd < 0 || f->timerfd < 0) {
		rc = -errno;
		goto fail;
	}
	if ((rc = ep_add(f->epfd, sdrv_xport_fd(f->x), TAG_XPORT)) < 0 ||
	    (rc = ep_add(f->epfd, sdrv_xs_fd(f->xs), TAG_XS)) < 0 ||
	    (rc = ep_add(f->epfd, f->kickfd, TAG_KICK)) < 0 ||
	    (rc = ep_add(f->epfd, f->timerfd, TAG_TIMER)) < 0)
		goto fail;

	memset(&xo, 0, sizeof(xo));
	xo.sz = sizeof(xo);
	xo.xs = f->xs;
	xo.domid = sdrv_xport_domid(f->x);
	xo.type = DEV_TYPE;
	xo.id = f->o.devid;
	xo.publish = bf_publish;
	xo.connect = bf_connect;
	xo.disconnect = bf_disconnect;
	xo.state_changed = bf_state_changed;
	xo.ctx = f;
	f->xf = sdrv_xenbus_front_new(&xo);
	if (!f->xf) {
		rc = -errno;
		goto fail;
	}
	f->be_domid = sdrv_xenbus_front_peer_domid(f->xf);
	return f;
fail:
	free_tables(f);
	errno = rc < 0 ? -rc : EINVAL;
	return NULL;
}

SDRV_API int sdrv_blkfront_fd(const struct sdrv_blkfront *f)
{
	return f->epfd;
}

static int closed_error(const struct sdrv_blkfront *f)
{
	if (f->gone)
		return -ENODEV;
	if (f->broken)
		return -EIO;
	return 0;
}

static void arm_timer(struct sdrv_blkfront *f)
{
	uint64_t t = f->retry_ns, lim = (uint64_t)f->o.reconnect_timeout_ms * 1000000ull;
	struct itimerspec its;

	if (lim && !f->connected && f->down_since_ns && f->nr_busy && !f->broken && !f->gone) {
		/* The earliest deadline of any I/O; the sweep re-arms for the next. */
		for (uint32_t i = 0; i < f->max_ios; i++) {
			const struct bf_io *io = &f->ios[i];
			uint64_t dl;

			if (!io->busy || io->completed)
				continue;
			dl = (io->t_submit_ns > f->down_since_ns ? io->t_submit_ns
								 : f->down_since_ns) +
			     lim;
			if (!t || dl < t)
				t = dl;
		}
	}
	if (t == f->timer_ns)
		return;
	memset(&its, 0, sizeof(its));
	if (t) {
		its.it_value.tv_sec = (time_t)(t / 1000000000ull);
		its.it_value.tv_nsec = (long)(t % 1000000000ull);
	}
	if (timerfd_settime(f->timerfd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
		f->timer_ns = t;
}

/* I/Os that waited longer than reconnect_timeout_ms for a backend fail. */
static void sweep_timeouts(struct sdrv_blkfront *f, uint64_t now)
{
	uint64_t lim = (uint64_t)f->o.reconnect_timeout_ms * 1000000ull;

	if (!lim || f->connected || !f->down_since_ns)
		return;
	for (uint32_t i = 0; i < f->max_ios; i++) {
		struct bf_io *io = &f->ios[i];
		uint64_t since;

		if (!io->busy || io->completed)
			continue;
		since = io->t_submit_ns > f->down_since_ns ? io->t_submit_ns : f->down_since_ns;
		if (now >= since + lim)
			bf_abort_io(f, io, -ETIMEDOUT);
	}
}

static void handle_xport(struct sdrv_blkfront *f)
{
	struct sdrv_xport_event ev[8];
	uint32_t taken = 0;
	int n;

	(void)sdrv_xport_wait(f->x, 0); /* the look process() and pending() answer from */
	n = sdrv_xport_process(f->x, ev, 8);
	if (n < 0) {
		bf_break(f, "the transport connection failed: %s", strerror(-n));
		return;
	}
	for (int i = 0; i < n; i++) {
		if (ev[i].type != SDRV_XPORT_EV_PEER_DIED || ev[i].domid != f->be_domid)
			continue;
		/* Keep the rings and what is in flight: the xenbus reset that
		 * follows when a new backend comes takes them down (the broker
		 * has reclaimed the dead domain's mappings by then). */
		bf_log(f, LOG_WARNING, "vbd %u: the backend's domain %u died", f->o.devid,
		       f->be_domid);
		if (f->connected)
			f->down_since_ns = bf_now_ns();
		f->connected = false;
		f->be_dead = true;
		for (uint32_t q = 0; q < f->queues_cap; q++)
			f->qs[q].live = false;
	}
	if (n == 8)
		bf_kick(f);
	for (;;) {
		sdrv_evtchn_port_t port;
		struct bf_queue *q = NULL;
		int r;

		if (taken == PORT_BUDGET) {
			bf_kick(f);
			break;
		}
		r = sdrv_evtchn_pending(f->x, &port);
		if (r <= 0)
			break;
		taken++;
		f->st.wakeups++;
		for (uint32_t i = 0; i < f->queues_cap; i++)
			if (f->qs[i].have_ring && f->qs[i].port == port)
				q = &f->qs[i];
		if (q)
			q->woken = true;
		else
			sdrv_evtchn_unmask(f->x, port);
	}
}

static void run_rings(struct sdrv_blkfront *f, bool final)
{
	bool more = false;

	for (uint32_t i = 0; i < f->queues_cap && !f->broken; i++) {
		struct bf_queue *q = &f->qs[i];
		int n;

		if (!q->have_ring)
			continue;
		n = bf_take_responses(f, q, RSP_BUDGET);
		if (n < 0)
			return;
		if ((uint32_t)n == RSP_BUDGET)
			more = true;
	}
	bf_issue(f);
	bf_push_all(f);
	for (uint32_t i = 0; final && i < f->queues_cap && !f->broken; i++) {
		struct bf_queue *q = &f->qs[i];
		int32_t r;

		if (!q->have_ring)
			continue;
		/* Ask to be notified, and look once more (the race with a
		 * response pushed meanwhile). Also with nothing outstanding:
		 * another thread may submit while the caller sleeps. */
		r = sdrv_ring_front_final_check(&q->ring);
		if (r < 0) {
			bf_break(f, "queue %u: %s", q->idx, sdrv_ring_broken(&q->ring));
			return;
		}
		if (r > 0)
			more = true;
	}
	if (more)
		bf_kick(f);
}

static void eoi_ports(struct sdrv_blkfront *f)
{
	for (uint32_t i = 0; i < f->queues_cap; i++) {
		struct bf_queue *q = &f->qs[i];
		bool spurious;

		if (!q->woken)
			continue;
		q->woken = false;
		if (!q->have_ring)
			continue;
		/* Late EOI (XSA-391): a wake-up that brought no response since
		 * the last one counts as spurious, and the transport backs the
		 * channel off; a broken ring's channel stays masked. */
		if (f->broken)
			continue;
		spurious = q->rsp_since_eoi == 0;
		q->rsp_since_eoi = 0;
		if (spurious)
			f->st.spurious++;
		sdrv_evtchn_eoi(f->x, q->port, spurious ? SDRV_EOI_SPURIOUS : 0);
	}
}

SDRV_API int sdrv_blkfront_process(struct sdrv_blkfront *f)
{
	struct epoll_event ev[8];
	bool xport = false, xs = false, timer = false;
	uint64_t now;
	int n;

	if (f->delivering)
		return -EBUSY;
	bf_reap_released(f);
	n = epoll_wait(f->epfd, ev, 8, 0);
	for (int i = 0; i < n; i++) {
		switch (ev[i].data.u32) {
		case TAG_XPORT:
			xport = true;
			break;
		case TAG_XS:
			xs = true;
			break;
		case TAG_KICK: {
			uint64_t v;
			if (read(f->kickfd, &v, sizeof(v)) < 0) {
				/* EAGAIN: someone else read it */
			}
			f->kicked = false;
			break;
		}
		case TAG_TIMER:
			timer = true;
			break;
		}
	}
	if (timer) {
		uint64_t v;
		if (read(f->timerfd, &v, sizeof(v)) < 0) {
			/* not expired after all (re-armed meanwhile) */
		}
		f->timer_ns = 0;
	}
	if (xport)
		handle_xport(f);
	if (xs) {
		int rc = sdrv_xs_process(f->xs);

		if (rc < 0 && rc != -EBUSY && !f->broken && !f->gone)
			bf_break(f, "the store connection failed: %s",
				 sdrv_xs_broken(f->xs) ? sdrv_xs_broken(f->xs) : strerror(-rc));
	}
	now = bf_now_ns();
	if (f->retry_ns && now >= f->retry_ns) {
		f->retry_ns = 0;
		if (f->graves)
			bf_reap_graves(f);
	}
	sweep_timeouts(f, now);
	if (!f->broken && !f->gone)
		run_rings(f, true);
	eoi_ports(f);
	bf_deliver(f);
	arm_timer(f);
	return closed_error(f);
}

SDRV_API int sdrv_blkfront_poll(struct sdrv_blkfront *f)
{
	int total = 0;

	if (f->delivering)
		return -EBUSY;
	bf_reap_released(f);
	for (uint32_t i = 0; i < f->queues_cap && !f->broken && !f->gone; i++) {
		int n;

		if (!f->qs[i].have_ring)
			continue;
		n = bf_take_responses(f, &f->qs[i], RSP_BUDGET);
		if (n > 0)
			total += n;
	}
	if (!f->broken && !f->gone) {
		bf_issue(f);
		bf_push_all(f);
	}
	bf_deliver(f);
	if (f->broken || f->gone) {
		bf_kick(f); /* process() reports it and finishes the teardown */
		return closed_error(f);
	}
	return total;
}

SDRV_API int sdrv_blkfront_push(struct sdrv_blkfront *f)
{
	int rc = closed_error(f);

	if (rc)
		return rc;
	bf_reap_released(f);
	bf_issue(f);
	bf_push_all(f);
	if (f->done_head)
		bf_kick(f);
	return 0;
}

SDRV_API int sdrv_blkfront_wait_connected(struct sdrv_blkfront *f, int timeout_ms)
{
	uint64_t end = bf_now_ns() + (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms) * 1000000ull;

	for (;;) {
		struct pollfd pfd = {.fd = f->epfd, .events = POLLIN};
		int rc = sdrv_blkfront_process(f), wait = 1000;
		uint64_t now;

		if (rc < 0)
			return rc;
		if (sdrv_blkfront_connected(f))
			return 0;
		now = bf_now_ns();
		if (timeout_ms >= 0) {
			if (now >= end)
				return -ETIMEDOUT;
			if ((end - now) / 1000000u + 1 < (uint64_t)wait)
				wait = (int)((end - now) / 1000000u + 1);
		}
		(void)poll(&pfd, 1, wait);
	}
}

SDRV_API bool sdrv_blkfront_connected(const struct sdrv_blkfront *f)
{
	return f->connected && !f->broken && !f->gone;
}

SDRV_API int sdrv_blkfront_info(const struct sdrv_blkfront *f, struct sdrv_blkfront_info *info)
{
	size_t sz;

	if (!info || info->sz < sizeof(size_t))
		return -EINVAL;
	if (!f->ever_connected)
		return -ENOTCONN;
	sz = info->sz < sizeof(f->info) ? info->sz : sizeof(f->info);
	memcpy((char *)info + sizeof(size_t), (const char *)&f->info + sizeof(size_t),
	       sz - sizeof(size_t));
	return 0;
}

SDRV_API const char *sdrv_blkfront_broken(const struct sdrv_blkfront *f)
{
	return f->broken;
}

SDRV_API void sdrv_blkfront_stats(const struct sdrv_blkfront *f, struct sdrv_blkfront_stats *st)
{
	struct sdrv_blkfront_stats s = f->st;
	size_t sz;

	if (!st || st->sz < sizeof(size_t))
		return;
	s.inflight_ios = f->nr_busy - f->nr_held;
	s.held_ios = f->nr_held;
	s.deferred_pages = f->grave_pages;
	sz = st->sz < sizeof(s) ? st->sz : sizeof(s);
	memcpy((char *)st + sizeof(size_t), (const char *)&s + sizeof(size_t), sz - sizeof(size_t));
}

static int submit(struct sdrv_blkfront *f, uint32_t op, uint64_t offset, void *buf, uint64_t len,
		  uint32_t flags, sdrv_blkfront_done_fn done, void *ctx, struct bf_io **held)
{
	struct bf_io *io;
	uint32_t allowed;
	int rc;

	if ((rc = closed_error(f)))
		return rc;
	if (f->closing)
		return -ECANCELED;
	switch (op) {
	case SDRV_BLKFRONT_OP_READ:
		allowed = SDRV_BLKFRONT_DEFER;
		break;
	case SDRV_BLKFRONT_OP_WRITE:
		allowed = SDRV_BLKFRONT_DEFER | SDRV_BLKFRONT_FUA | SDRV_BLKFRONT_BARRIER;
		break;
	case SDRV_BLKFRONT_OP_FLUSH:
		allowed = SDRV_BLKFRONT_DEFER;
		break;
	case SDRV_BLKFRONT_OP_DISCARD:
		allowed = SDRV_BLKFRONT_DEFER | SDRV_BLKFRONT_SECURE;
		break;
	default:
		return -EINVAL;
	}
	if ((flags & ~allowed) || !done)
		return -EINVAL;
	if (op == SDRV_BLKFRONT_OP_FLUSH) {
		if (len || offset)
			return -EINVAL;
	} else if (len == 0 || (offset | len) % SDRV_BLKIF_SECTOR_SIZE ||
		   (op != SDRV_BLKFRONT_OP_DISCARD && !buf && !held)) {
		return -EINVAL;
	}
	if (f->ever_connected && (rc = bf_check_io(f, op, offset, len, flags)))
		return rc;
	bf_reap_released(f);
	if (!(io = f->io_free))
		return -EAGAIN;
	f->io_free = io->next;
	f->nr_busy++;
	memset(io, 0, sizeof(*io));
	io->busy = true;
	io->done = done;
	io->ctx = ctx;
	io->buf = op == SDRV_BLKFRONT_OP_DISCARD ? NULL : buf;
	io->offset = op == SDRV_BLKFRONT_OP_FLUSH ? 0 : offset;
	io->len = op == SDRV_BLKFRONT_OP_FLUSH ? 0 : len;
	io->op = op;
	io->flags = flags;
	io->checked = f->ever_connected;
	io->hold = held != NULL;
	if (held)
		*held = io;
	if (f->o.reconnect_timeout_ms)
		io->t_submit_ns = bf_now_ns();
	bf_wait_append(f, io);
	bf_issue(f);
	if (!(flags & SDRV_BLKFRONT_DEFER))
		bf_push_all(f);
	if (f->done_head)
		bf_kick(f); /* refused when sent: the callback runs in process() */
	if (!f->connected && f->o.reconnect_timeout_ms)
		arm_timer(f);
	return 0;
}

SDRV_API int sdrv_blkfront_submit(struct sdrv_blkfront *f, uint32_t op, uint64_t offset, void *buf,
				  uint64_t len, uint32_t flags, sdrv_blkfront_done_fn done,
				  void *ctx)
{
	return submit(f, op, offset, buf, len, flags, done, ctx, NULL);
}

SDRV_API int sdrv_blkfront_read_held(struct sdrv_blkfront *f, uint64_t offset, uint64_t len,
				     uint32_t flags, sdrv_blkfront_done_fn done, void *ctx,
				     struct sdrv_blkfront_held **held)
{
	struct bf_io *io = NULL;
	int rc;

	if (!held)
		return -EINVAL;
	rc = submit(f, SDRV_BLKFRONT_OP_READ, offset, NULL, len, flags, done, ctx, &io);
	*held = rc == 0 ? (struct sdrv_blkfront_held *)io : NULL;
	return rc;
}

SDRV_API int sdrv_blkfront_held_copy(const struct sdrv_blkfront_held *held, uint64_t off, void *buf,
				     uint64_t len)
{
	const struct bf_io *io = (const struct bf_io *)held;

	if (!io || !atomic_load_explicit(&io->held_out, memory_order_acquire) || (len && !buf) ||
	    off > io->len || len > io->len - off)
		return -EINVAL;
	bf_held_copy(io, off, buf, len);
	return 0;
}

SDRV_API int sdrv_blkfront_held_release(struct sdrv_blkfront *f, struct sdrv_blkfront_held *held)
{
	struct bf_io *io = (struct bf_io *)held;
	struct bf_io *head;

	/* Only one of this frontend's I/O slots, and only once: a second
	 * release would put the slot on the stack twice (a cycle), and free
	 * its pages under whoever has the slot next. */
	if (!f || !io || io < f->ios || io >= f->ios + f->max_ios ||
	    (size_t)((const char *)io - (const char *)f->ios) % sizeof(*io) != 0 ||
	    !atomic_exchange_explicit(&io->held_out, false, memory_order_acq_rel))
		return -EINVAL;
	head = atomic_load_explicit(&f->rel.released, memory_order_relaxed);
	do
		io->rel_next = head;
	while (!atomic_compare_exchange_weak_explicit(&f->rel.released, &head, io,
						      memory_order_release, memory_order_relaxed));
	/* The frontend's thread waits for pages: wake it (its descriptor). */
	if (atomic_load(&f->rel.kick_on_release) &&
	    atomic_exchange(&f->rel.kick_on_release, false)) {
		uint64_t one = 1;

		if (write(f->kickfd, &one, sizeof(one)) < 0) {
			/* EAGAIN: the counter is full, so it is readable anyway */
		}
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Synchronous helpers */

struct sync_io {
	bool done;
	int status;
};

static void sync_done(int status, void *ctx)
{
	struct sync_io *s = ctx;

	s->status = status;
	s->done = true;
}

static int drive(struct sdrv_blkfront *f, int wait_ms)
{
	struct pollfd pfd = {.fd = f->epfd, .events = POLLIN};
	int rc = sdrv_blkfront_process(f);

	if (rc == -EBUSY)
		return rc;
	(void)poll(&pfd, 1, wait_ms);
	return 0;
}

static int run_sync(struct sdrv_blkfront *f, uint32_t op, uint64_t offset, void *buf, uint64_t len,
		    uint32_t flags)
{
	struct sync_io s = {0};
	int rc;

	if (f->delivering)
		return -EBUSY;
	while ((rc = sdrv_blkfront_submit(f, op, offset, buf, len, flags & ~SDRV_BLKFRONT_DEFER,
					  sync_done, &s)) == -EAGAIN)
		if ((rc = drive(f, 100)) < 0)
			return rc;
	if (rc < 0)
		return rc;
	while (!s.done) {
		struct pollfd pfd = {.fd = f->epfd, .events = POLLIN};

		(void)sdrv_blkfront_process(f);
		if (s.done)
			break;
		(void)poll(&pfd, 1, 1000);
	}
	return s.status;
}

SDRV_API int sdrv_blkfront_pread(struct sdrv_blkfront *f, void *buf, uint64_t len, uint64_t offset)
{
	return run_sync(f, SDRV_BLKFRONT_OP_READ, offset, buf, len, 0);
}

SDRV_API int sdrv_blkfront_pwrite(struct sdrv_blkfront *f, const void *buf, uint64_t len,
				  uint64_t offset, uint32_t flags)
{
	return run_sync(f, SDRV_BLKFRONT_OP_WRITE, offset, (void *)buf, len, flags);
}

SDRV_API int sdrv_blkfront_flush(struct sdrv_blkfront *f)
{
	return run_sync(f, SDRV_BLKFRONT_OP_FLUSH, 0, NULL, 0, 0);
}

SDRV_API int sdrv_blkfront_discard(struct sdrv_blkfront *f, uint64_t len, uint64_t offset,
				   uint32_t flags)
{
	return run_sync(f, SDRV_BLKFRONT_OP_DISCARD, offset, NULL, len, flags);
}

/* ------------------------------------------------------------------------ */
/* Free */

SDRV_API void sdrv_blkfront_free(struct sdrv_blkfront *f, int timeout_ms)
{
	uint64_t limit = (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms) * 1000000ull, end;

	if (!f)
		return;
	/* 0. Held I/Os are the caller's, who has finished with them now. */
	bf_reap_released(f);
	for (uint32_t i = 0; i < f->max_ios; i++) {
		struct bf_io *io = &f->ios[i];

		if (atomic_exchange(&io->held_out, false))
			bf_held_free(f, io);
	}
	/* 1. Let the I/Os in flight finish, while the device works. */
	end = bf_now_ns() + limit;
	while (f->nr_busy && !f->broken && !f->gone && bf_now_ns() < end) {
		uint64_t left = (end - bf_now_ns()) / 1000000u + 1;

		if (drive(f, left < 50 ? (int)left : 50) < 0)
			break;
	}
	/* 2. Cancel the rest; nothing is sent from now on. */
	f->closing = true;
	bf_fail_all(f, -ECANCELED);
	bf_deliver(f);
	/* 3. Close orderly: the backend unmaps and goes Closed; the xenbus
	 * object calls our disconnect, which revokes what it can. */
	end = bf_now_ns() + limit;
	if (f->xf)
		(void)sdrv_xenbus_front_close(f->xf, timeout_ms < 0 ? 0 : timeout_ms);
	bf_teardown(f);
	/* 4. Pages the backend still maps: retry until the time is up (a
	 * dying backend's mappings are reclaimed by the transport). */
	for (;;) {
		struct sdrv_xport_event ev[8];
		struct pollfd pfd = {.fd = sdrv_xport_fd(f->x), .events = POLLIN};

		bf_reap_graves(f);
		if (!f->graves || bf_now_ns() >= end)
			break;
		(void)poll(&pfd, 1, 5);
		(void)sdrv_xport_process(f->x, ev, 8);
	}
	if (f->graves) {
		bf_log(f, LOG_WARNING,
		       "vbd %u: the backend still maps %u granted pages; they stay granted and are "
		       "never reused",
		       f->o.devid, f->grave_pages);
		while (f->graves) {
			struct bf_grave *g = f->graves;

			f->graves = g->next;
			free(g);
		}
	}
	sdrv_xenbus_front_free(f->xf);
	f->xf = NULL;
	bf_deliver(f);
	free_tables(f);
}
