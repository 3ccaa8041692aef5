/* SPDX-License-Identifier: MIT */
/*
 * nbdkit-splitdrv-blkfront-plugin: export a split block device over NBD.
 *
 *   nbdkit splitdrv-blkfront broker=SOCK domid=1 vdev=xvda
 *
 * The plugin is a frontend domain: it opens the transport and the store,
 * runs one blkfront for the device, and serves every NBD connection from
 * it. Threads: nbdkit calls pread/pwrite/... from many threads at once
 * (thread model PARALLEL); one poller thread of ours owns
 * the library handle: it submits and completes the requests. A worker
 * puts its request on a lock-free list (waking the poller only if it
 * sleeps) and sleeps on its own futex until the completion callback wakes
 * it. The poller submits what it finds deferred and pushes once (one
 * notification for all).
 *
 * The poller polls the rings for a while (spin=USEC) after the last
 * response before it asks the backend for notifications and sleeps: while
 * it polls, the backend sends none.
 *
 * Reads are held (sdrv_blkfront_read_held()): the worker copies its data
 * out of the granted pages itself, so the copies of many reads run in
 * parallel rather than one after another in the poller.
 *
 * NBD clients may use any offset and length. An unaligned read reads the
 * covering sectors and copies the range asked for; an unaligned write is a
 * read-modify-write of the covering sectors, made exclusive against every
 * other request with a rwlock (aligned requests share it).
 *
 * Threads start in .after_fork, once nbdkit has daemonised.
 */
#define _GNU_SOURCE
#define NBDKIT_API_VERSION 2
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <nbdkit-plugin.h>

#include <splitdrv/blkfront.h>
#include <splitdrv/transport.h>
#include <splitdrv/xs.h>

#define THREAD_MODEL NBDKIT_THREAD_MODEL_PARALLEL

/* ------------------------------------------------------------------------ */
/* Configuration */

static struct {
	const char *broker, *store;
	int64_t domid, devid;
	uint32_t queues, ring_order, indirect, pool_pages, max_ios, spin_us;
	bool persistent;
	uint32_t timeout_s;
} cfg = {
    .domid = -1,
    .devid = -1,
    .queues = 4,
    .ring_order = SDRV_BLKFRONT_MAX,
    .indirect = 256,
    .pool_pages = 1024,
    .max_ios = 512,
    .spin_us = 50,
    .persistent = true,
    .timeout_s = 30,
};

/* Xen's vbd numbering: xvdX is 202 << 8 | disk << 4 | partition for the
 * first 16 disks, 1 << 28 | disk << 8 | partition beyond. */
static int parse_vdev(const char *s, int64_t *out)
{
	uint64_t disk = 0, part = 0;
	const char *p = s + 3;

	if (strncmp(s, "xvd", 3) != 0 || *p < 'a' || *p > 'z')
		return -1;
	while (*p >= 'a' && *p <= 'z') {
		disk = disk * 26 + (uint64_t)(*p - 'a' + 1);
		if (disk > (1u << 20))
			return -1;
		p++;
	}
	disk--;
	if (*p) {
		char *end;

		if (*p < '1' || *p > '9')
			return -1;
		errno = 0;
		part = strtoull(p, &end, 10);
		if (errno || *end)
			return -1;
	}
	if (disk < 16 && part < 16)
		*out = (202 << 8) | (int64_t)(disk << 4) | (int64_t)part;
	else if (disk < (1u << 20) && part < 256)
		*out = (int64_t)((1u << 28) | (disk << 8) | part);
	else
		return -1;
	return 0;
}

static int parse_u32(const char *what, const char *value, uint32_t min, uint32_t max, uint32_t *out)
{
	if (nbdkit_parse_uint32_t(what, value, out) == -1)
		return -1;
	if (*out < min || *out > max) {
		nbdkit_error("%s must be %u..%u, not %s", what, min, max, value);
		return -1;
	}
	return 0;
}

static int bf_config(const char *key, const char *value)
{
	uint32_t v;

	if (strcmp(key, "broker") == 0) {
		cfg.broker = value;
	} else if (strcmp(key, "store") == 0) {
		cfg.store = value;
	} else if (strcmp(key, "domid") == 0) {
		if (parse_u32("domid", value, 1, 0x7FEF, &v) == -1)
			return -1;
		cfg.domid = v;
	} else if (strcmp(key, "devid") == 0) {
		if (nbdkit_parse_uint32_t("devid", value, &v) == -1)
			return -1;
		cfg.devid = v;
	} else if (strcmp(key, "vdev") == 0) {
		if (parse_vdev(value, &cfg.devid) < 0) {
			nbdkit_error("vdev: %s is not a Xen virtual disk name (xvda, xvdb2, ...)",
				     value);
			return -1;
		}
	} else if (strcmp(key, "queues") == 0) {
		return parse_u32("queues", value, 1, 16, &cfg.queues);
	} else if (strcmp(key, "ring-order") == 0) {
		return parse_u32("ring-order", value, 0, 4, &cfg.ring_order);
	} else if (strcmp(key, "persistent") == 0) {
		int b = nbdkit_parse_bool(value);
		if (b == -1)
			return -1;
		cfg.persistent = b;
	} else if (strcmp(key, "indirect") == 0) {
		return parse_u32("indirect", value, 0, 4096, &cfg.indirect);
	} else if (strcmp(key, "pool-pages") == 0) {
		return parse_u32("pool-pages", value, 1, 1u << 20, &cfg.pool_pages);
	} else if (strcmp(key, "max-ios") == 0) {
		return parse_u32("max-ios", value, 1, 65536, &cfg.max_ios);
	} else if (strcmp(key, "timeout") == 0) {
		return parse_u32("timeout", value, 1, 86400, &cfg.timeout_s);
	} else if (strcmp(key, "spin") == 0) {
		return parse_u32("spin", value, 0, 1000000, &cfg.spin_us);
	} else {
		nbdkit_error("unknown parameter '%s'", key);
		return -1;
	}
	return 0;
}

static int bf_config_complete(void)
{
	if (cfg.domid < 0) {
		nbdkit_error("domid=N (this frontend's domain) is required");
		return -1;
	}
	if (cfg.devid < 0) {
		nbdkit_error("devid=N or vdev=xvdX (the device) is required");
		return -1;
	}
	if (!cfg.broker)
		cfg.broker = getenv("SPLITDRV_BROKER"); /* NULL: the transport's default */
	return 0;
}

#define bf_config_help                                                                             \
	"broker=SOCK      The transport's address (default: $SPLITDRV_BROKER).\n"                  \
	"store=SOCK       The store's address (default: the transport's).\n"                       \
	"domid=N          (required) This frontend's domain.\n"                                    \
	"devid=N          The device id (51712 is xvda), or:\n"                                    \
	"vdev=xvdX        The device by its Xen name.\n"                                           \
	"queues=N         Queues wanted (default 4; capped by the backend).\n"                     \
	"ring-order=N     Ring pages as an order, 0..4 (default: the backend's maximum).\n"        \
	"persistent=BOOL  Offer persistent grants (default true).\n"                               \
	"indirect=N       Segments per indirect request, 0 for none (default 256).\n"              \
	"pool-pages=N     Granted data pages per queue (default 1024).\n"                          \
	"max-ios=N        I/Os in flight at most (default 512).\n"                                 \
	"timeout=SEC      How long to wait for the device to connect (default 30).\n"              \
	"spin=USEC        Poll the rings this long before sleeping (default 50; 0: never)."

/* ------------------------------------------------------------------------ */
/* The device */

/* One NBD request on its way: a worker's, on its stack. */
struct req {
	struct req *next;
	uint32_t op, flags;
	uint64_t off, len;
	void *buf;
	bool hold; /* a held read: the worker copies out of the granted pages */
	struct sdrv_blkfront_held *held;
	atomic_int state; /* 0 queued, 1 done, 2 a worker sleeps on it */
	int status;
};

static struct {
	struct sdrv_xport *x;
	struct sdrv_xs *xs;
	struct sdrv_blkfront *f;
	struct sdrv_blkfront_info info;
	pthread_rwlock_t rmw; /* aligned I/O shared, read-modify-write exclusive */
	pthread_t poller;
	bool poller_running, cleaned;
	int wake_fd; /* the poller sleeps on it too */
	atomic_bool stop;
	_Atomic(struct req *) queue; /* requests for the poller, newest first */
	atomic_int sleeping;	     /* the poller is (about to be) asleep */
	/* The poller's own: requests refused with -EAGAIN, oldest first. */
	struct req *backlog, *backlog_tail;
	bool broken_reported;
} dev = {
    .rmw = PTHREAD_RWLOCK_INITIALIZER,
    .wake_fd = -1,
};

static void lib_log(void *ctx, int level, const char *msg)
{
	(void)ctx;
	if (level <= LOG_WARNING)
		nbdkit_error("%s", msg);
	else
		nbdkit_debug("%s", msg);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static void wake_poller(void)
{
	uint64_t one = 1;

	if (write(dev.wake_fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is full, so it is readable anyway */
	}
}

/* The completion callback (in the poller): wake the worker. */
static void req_done(int status, void *ctx)
{
	struct req *r = ctx;

	r->status = status;
	if (atomic_exchange(&r->state, 1) == 2)
		syscall(SYS_futex, &r->state, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* Poller: submit one request; false if there is no room now. */
static bool submit_one(struct req *r)
{
	int rc = !r->hold ? sdrv_blkfront_submit(dev.f, r->op, r->off, r->buf, r->len,
						 r->flags | SDRV_BLKFRONT_DEFER, req_done, r)
			  : sdrv_blkfront_read_held(dev.f, r->off, r->len,
						    r->flags | SDRV_BLKFRONT_DEFER, req_done, r,
						    &r->held);

	if (rc == -EAGAIN)
		return false;
	if (rc < 0)
		req_done(rc, r);
	return true;
}

/* Poller: submit what waits, oldest first. Returns how many went. */
static unsigned submit_queued(void)
{
	struct req *list, *fifo = NULL;
	unsigned n = 0;

	while (dev.backlog) {
		struct req *r = dev.backlog;

		if (!submit_one(r))
			return n;
		dev.backlog = r->next;
		if (!dev.backlog)
			dev.backlog_tail = NULL;
		n++;
	}
	list = atomic_exchange(&dev.queue, NULL);
	while (list) { /* newest first: reverse */
		struct req *r = list;

		list = r->next;
		r->next = fifo;
		fifo = r;
	}
	while (fifo) {
		struct req *r = fifo;

		fifo = r->next;
		r->next = NULL;
		if (dev.backlog || !submit_one(r)) {
			/* max_ios in flight: keep the order, retry later */
			if (dev.backlog_tail)
				dev.backlog_tail->next = r;
			else
				dev.backlog = r;
			dev.backlog_tail = r;
			continue;
		}
		n++;
	}
	return n;
}

static void report_closed(int rc)
{
	if (rc >= 0 || dev.broken_reported)
		return;
	dev.broken_reported = true;
	nbdkit_error("the device is closed: %s",
		     rc == -ENODEV ? "it was removed"
				   : (sdrv_blkfront_broken(dev.f) ? sdrv_blkfront_broken(dev.f)
								  : strerror(-rc)));
}

static void *poller_main(void *arg)
{
	struct pollfd pfd[2] = {{.fd = sdrv_blkfront_fd(dev.f), .events = POLLIN},
				{.fd = dev.wake_fd, .events = POLLIN}};
	uint64_t spin_ns = (uint64_t)cfg.spin_us * 1000u, last = now_ns(), last_process = 0;

	(void)arg;
	while (!atomic_load(&dev.stop)) {
		struct sdrv_blkfront_stats st = {.sz = sizeof(st)};
		unsigned sent = submit_queued();
		int n = sdrv_blkfront_poll(dev.f);
		uint64_t now;
		int rc;

		if (sent)
			sdrv_blkfront_push(dev.f);
		if (n < 0) {
			report_closed(n);
			n = 0;
		}
		now = now_ns();
		if (n > 0 || sent)
			last = now;
		sdrv_blkfront_stats(dev.f, &st);
		/* Busy: poll the rings (no notification, no system call), but
		 * look at the store and the transport now and then. */
		if (spin_ns && st.inflight_ios && now - last < spin_ns &&
		    now - last_process < 10000000u) {
			for (int i = 0; i < 32; i++)
				cpu_relax();
			continue;
		}
		last_process = now;
		rc = sdrv_blkfront_process(dev.f);
		report_closed(rc);
		if (st.inflight_ios && now - last < spin_ns)
			continue; /* still spinning: that was the periodic look */
		/* Sleep until the device or a worker has something. A worker
		 * that queued before it saw `sleeping` is seen here. */
		atomic_store(&dev.sleeping, 1);
		if (!atomic_load(&dev.queue) && !atomic_load(&dev.stop)) {
			if (poll(pfd, 2, rc < 0 ? 1000 : -1) > 0 && rc < 0)
				usleep(10000); /* closed for good: no busy loop */
			if (pfd[1].revents) {
				uint64_t v;
				if (read(dev.wake_fd, &v, sizeof(v)) < 0) {
					/* nothing: another read took it */
				}
			}
		}
		atomic_store(&dev.sleeping, 0);
		last = now_ns();
	}
	/* Stopping (no connection is left): fail what still waits. */
	submit_queued();
	while (dev.backlog) {
		struct req *r = dev.backlog;

		dev.backlog = r->next;
		req_done(-ESHUTDOWN, r);
	}
	return NULL;
}

static void dev_cleanup(void)
{
	if (dev.cleaned)
		return;
	dev.cleaned = true;
	if (dev.poller_running) {
		atomic_store(&dev.stop, true);
		wake_poller();
		pthread_join(dev.poller, NULL);
		dev.poller_running = false;
	}
	if (dev.f)
		sdrv_blkfront_free(dev.f, 5000);
	dev.f = NULL;
	if (dev.xs)
		sdrv_xs_close(dev.xs);
	dev.xs = NULL;
	if (dev.x)
		sdrv_xport_close(dev.x);
	dev.x = NULL;
	if (dev.wake_fd >= 0)
		close(dev.wake_fd);
	dev.wake_fd = -1;
}

static int bf_after_fork(void)
{
	struct sdrv_xport_opts xo = {.sz = sizeof(xo)};
	struct sdrv_xs_opts so = {.sz = sizeof(so)};
	struct sdrv_blkfront_opts o = {.sz = sizeof(o)};
	uint32_t ind_pages = cfg.indirect ? (cfg.indirect + 511) / 512 : 0;
	uint32_t per_queue = cfg.pool_pages + 16 + (cfg.pool_pages / 12 + 1) * ind_pages;
	const char *store;
	int rc, err;

	xo.address = cfg.broker;
	xo.domid = (sdrv_domid_t)cfg.domid;
	/* The rings, the pools and the indirect pages of every queue, with
	 * room for pages kept aside while a backend goes away. */
	xo.grant_pages = cfg.queues * per_queue * 2 + 64;
	dev.x = sdrv_xport_open("posix", &xo);
	if (!dev.x) {
		nbdkit_error("cannot open the transport at %s as domain %lld: %m",
			     cfg.broker ? cfg.broker : "(default)", (long long)cfg.domid);
		return -1;
	}
	store = cfg.store ? cfg.store : sdrv_xport_store_address(dev.x);
	so.timeout_ms = 30000;
	so.log = lib_log;
	dev.xs = sdrv_xs_open(store, &so);
	if (!dev.xs) {
		err = errno;
		nbdkit_error("cannot connect to the store at %s: %s", store ? store : "(default)",
			     strerror(err));
		goto fail;
	}
	o.xport = dev.x;
	o.xs = dev.xs;
	o.devid = (uint32_t)cfg.devid;
	o.ring_page_order = cfg.ring_order;
	o.nr_queues = cfg.queues;
	o.max_indirect_segments = cfg.indirect ? cfg.indirect : 0;
	o.max_ios = cfg.max_ios;
	o.pool_pages = cfg.pool_pages;
	o.flags = (cfg.persistent ? 0 : SDRV_BLKFRONT_NO_PERSISTENT) |
		  (cfg.indirect ? 0 : SDRV_BLKFRONT_NO_INDIRECT);
	o.log = lib_log;
	dev.f = sdrv_blkfront_new(&o);
	if (!dev.f) {
		err = errno;
		nbdkit_error("cannot start the frontend of vbd %lld: %s", (long long)cfg.devid,
			     strerror(err));
		goto fail;
	}
	rc = sdrv_blkfront_wait_connected(dev.f, (int)cfg.timeout_s * 1000);
	if (rc < 0) {
		nbdkit_error("vbd %lld did not connect: %s", (long long)cfg.devid,
			     sdrv_blkfront_broken(dev.f) ? sdrv_blkfront_broken(dev.f)
							 : strerror(-rc));
		goto fail;
	}
	dev.info.sz = sizeof(dev.info);
	sdrv_blkfront_info(dev.f, &dev.info);
	nbdkit_debug("vbd %lld: %llu sectors of %u bytes, %u queues, ring order %u, "
		     "%s grants, %u segments per request",
		     (long long)cfg.devid, (unsigned long long)dev.info.sectors,
		     dev.info.sector_size, dev.info.nr_queues, dev.info.ring_page_order,
		     dev.info.persistent ? "persistent" : "fresh", dev.info.max_segments);
	dev.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (dev.wake_fd < 0) {
		nbdkit_error("eventfd: %m");
		goto fail;
	}
	if ((err = pthread_create(&dev.poller, NULL, poller_main, NULL)) != 0) {
		nbdkit_error("pthread_create: %s", strerror(err));
		goto fail;
	}
	dev.poller_running = true;
	return 0;
fail:
	dev_cleanup();
	return -1;
}

static void bf_cleanup(void)
{
	dev_cleanup();
}

static void bf_unload(void)
{
	dev_cleanup();
}

/* ------------------------------------------------------------------------ */
/* Requests */

static void req_wait(struct req *r)
{
	int expected = 0;

	/* No spinning here: with many workers on few cores a spinning worker
	 * takes the CPU the backend and the poller need. */
	if (!atomic_compare_exchange_strong(&r->state, &expected, 2))
		return;
	while (atomic_load(&r->state) == 2)
		syscall(SYS_futex, &r->state, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
}

static int nbd_errno(int err)
{
	switch (err) {
	case -EROFS:
		return EPERM;
	case -EOPNOTSUPP:
		return ENOTSUP;
	case -ENODEV:
	case -ECANCELED:
		return ESHUTDOWN;
	case -EINVAL:
		return EINVAL;
	default:
		return EIO;
	}
}

/* Hand one I/O to the poller and wait for it. */
static int run_req(struct req *rp)
{
	struct req *head = atomic_load(&dev.queue);

	do
		rp->next = head;
	while (!atomic_compare_exchange_weak(&dev.queue, &head, rp));
	/* Seen `sleeping` after queueing: the poller, before it sleeps,
	 * looks at the queue after setting it, so one of us sees the other. */
	if (atomic_load(&dev.sleeping) && atomic_exchange(&dev.sleeping, 0))
		wake_poller();
	req_wait(rp);
	return rp->status;
}

static int do_io(uint32_t op, uint64_t off, void *buf, uint64_t len, uint32_t flags)
{
	struct req r = {.op = op, .flags = flags, .off = off, .len = len, .buf = buf};

	return run_req(&r);
}

/* Read the sectors covering [off, off + len) and copy the range out of
 * the granted pages here, in the worker: reads of many workers copy in
 * parallel, and an unaligned read needs no bounce buffer. */
static int do_read(void *buf, uint64_t start, uint64_t cover, uint64_t off, uint64_t len)
{
	struct req r = {.op = SDRV_BLKFRONT_OP_READ, .off = start, .len = cover, .hold = true};
	int rc = run_req(&r);

	if (rc == 0) {
		rc = sdrv_blkfront_held_copy(r.held, off - start, buf, len);
		sdrv_blkfront_held_release(dev.f, r.held);
	}
	return rc;
}

static int fail(const char *what, uint64_t off, uint64_t len, int rc)
{
	nbdkit_error("%s of %llu bytes at %llu: %s", what, (unsigned long long)len,
		     (unsigned long long)off, strerror(-rc));
	nbdkit_set_error(nbd_errno(rc));
	return -1;
}

static void *bf_open(int readonly)
{
	(void)readonly;
	if (!dev.f) {
		nbdkit_error("the device is not set up");
		return NULL;
	}
	return &dev; /* every connection shares the one device */
}

static int64_t bf_get_size(void *handle)
{
	(void)handle;
	return (int64_t)(dev.info.sectors * 512);
}

static int bf_block_size(void *handle, uint32_t *minimum, uint32_t *preferred, uint32_t *maximum)
{
	(void)handle;
	/* Any offset and length work (unaligned ones by read-modify-write of
	 * the covering sectors), so clients need not align; aligned ones are
	 * what is fast. */
	*minimum = 1;
	*preferred = dev.info.physical_sector_size > 4096 ? dev.info.physical_sector_size : 4096;
	*maximum = 0xffffffff;
	return 0;
}

static int bf_can_write(void *handle)
{
	(void)handle;
	return !dev.info.readonly;
}

static int bf_can_flush(void *handle)
{
	(void)handle;
	return dev.info.flush || dev.info.barrier;
}

static int bf_can_fua(void *handle)
{
	(void)handle;
	return bf_can_flush(handle) ? NBDKIT_FUA_NATIVE : NBDKIT_FUA_NONE;
}

static int bf_can_trim(void *handle)
{
	(void)handle;
	return dev.info.discard && !dev.info.readonly;
}

static int bf_can_multi_conn(void *handle)
{
	/* One device behind every connection: a flush on any covers all. */
	return bf_can_flush(handle);
}

static int bf_pread(void *handle, void *buf, uint32_t count, uint64_t offset, uint32_t flags)
{
	uint64_t ss = dev.info.sector_size, start = offset / ss * ss;
	uint64_t end = (offset + count + ss - 1) / ss * ss;
	int rc;

	(void)handle;
	(void)flags;
	if (count == 0)
		return 0;
	pthread_rwlock_rdlock(&dev.rmw);
	rc = do_read(buf, start, end - start, offset, count);
	pthread_rwlock_unlock(&dev.rmw);
	return rc ? fail("read", offset, count, rc) : 0;
}

/* A write that does not cover whole sectors: read the partial sectors at
 * both ends, merge, write the covering range. Exclusive. */
static int rmw_write(const void *buf, uint32_t count, uint64_t offset, uint32_t bflags)
{
	uint64_t ss = dev.info.sector_size, start = offset / ss * ss;
	uint64_t end = (offset + count + ss - 1) / ss * ss, len = end - start;
	unsigned char *b = malloc(len);
	int rc = 0;

	if (!b)
		return -ENOMEM;
	if (offset != start)
		rc = do_io(SDRV_BLKFRONT_OP_READ, start, b, ss, 0);
	if (rc == 0 && (offset + count) % ss && (end - ss != start || offset == start))
		rc = do_io(SDRV_BLKFRONT_OP_READ, end - ss, b + len - ss, ss, 0);
	if (rc == 0) {
		memcpy(b + (offset - start), buf, count);
		rc = do_io(SDRV_BLKFRONT_OP_WRITE, start, b, len, bflags);
	}
	free(b);
	return rc;
}

static int bf_pwrite(void *handle, const void *buf, uint32_t count, uint64_t offset, uint32_t flags)
{
	uint64_t ss = dev.info.sector_size;
	uint32_t bflags = (flags & NBDKIT_FLAG_FUA) ? SDRV_BLKFRONT_FUA : 0;
	int rc;

	(void)handle;
	if (count == 0)
		return 0;
	if (offset % ss == 0 && count % ss == 0) {
		pthread_rwlock_rdlock(&dev.rmw);
		rc = do_io(SDRV_BLKFRONT_OP_WRITE, offset, (void *)buf, count, bflags);
	} else {
		pthread_rwlock_wrlock(&dev.rmw);
		rc = rmw_write(buf, count, offset, bflags);
	}
	pthread_rwlock_unlock(&dev.rmw);
	return rc ? fail("write", offset, count, rc) : 0;
}

static int bf_flush(void *handle, uint32_t flags)
{
	int rc;

	(void)handle;
	(void)flags;
	rc = do_io(SDRV_BLKFRONT_OP_FLUSH, 0, NULL, 0, 0);
	return rc ? fail("flush", 0, 0, rc) : 0;
}

static int bf_trim(void *handle, uint32_t count, uint64_t offset, uint32_t flags)
{
	/* Advisory: discard the whole sectors inside the range. */
	uint64_t ss = dev.info.sector_size, start = (offset + ss - 1) / ss * ss;
	uint64_t end = (offset + count) / ss * ss;
	int rc = 0;

	(void)handle;
	if (end > start) {
		pthread_rwlock_rdlock(&dev.rmw);
		rc = do_io(SDRV_BLKFRONT_OP_DISCARD, start, NULL, end - start, 0);
		pthread_rwlock_unlock(&dev.rmw);
	}
	if (rc == 0 && (flags & NBDKIT_FLAG_FUA))
		rc = do_io(SDRV_BLKFRONT_OP_FLUSH, 0, NULL, 0, 0);
	return rc ? fail("trim", offset, count, rc) : 0;
}

static struct nbdkit_plugin plugin = {
    .name = "splitdrv-blkfront",
    .version = PACKAGE_VERSION,
    .longname = "libsplitdrv blkfront: a split (Xen blkif) block device over NBD",
    .description = "Exports a virtual block device served by a split-driver backend "
		   "(blkback) through libsplitdrv's transport.",
    .unload = bf_unload,
    .config = bf_config,
    .config_complete = bf_config_complete,
    .config_help = bf_config_help,
    .after_fork = bf_after_fork,
    .cleanup = bf_cleanup,
    .open = bf_open,
    .get_size = bf_get_size,
    .block_size = bf_block_size,
    .can_write = bf_can_write,
    .can_flush = bf_can_flush,
    .can_fua = bf_can_fua,
    .can_trim = bf_can_trim,
    .can_multi_conn = bf_can_multi_conn,
    .pread = bf_pread,
    .pwrite = bf_pwrite,
    .flush = bf_flush,
    .trim = bf_trim,
    .errno_is_preserved = 0,
};

NBDKIT_REGISTER_PLUGIN(plugin)
