/* SPDX-License-Identifier: MIT */
/*
 * One virtual block device: the image behind it, the keys the backend
 * publishes, and the handshake callbacks that connect and disconnect its
 * queues (as Linux's drivers/block/xen-blkback/xenbus.c does).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "blkback-int.h"

#define PARAMS_MAX 4096

static void stop_queues(struct bb_dev *d)
{
	for (uint32_t i = 0; i < BB_MAX_QUEUES; i++)
		if (d->q[i]) {
			bb_queue_stop(d->q[i]);
			d->q[i] = NULL;
		}
	d->nr_queues = 0;
}

void bb_dev_break(struct bb_dev *d, const char *fmt, ...)
{
	va_list ap;

	if (d->broken)
		return;
	va_start(ap, fmt);
	vsnprintf(d->broken_buf, sizeof(d->broken_buf), fmt, ap);
	va_end(ap);
	d->broken = d->broken_buf;
	bb_log(d->b, LOG_WARNING, "vbd %u/%u: closing the device: %s", d->fe, d->devid, d->broken);
	stop_queues(d);
	/* As xenbus_dev_fatal(): Closing, then Closed; the other devices
	 * carry on. */
	sdrv_xenbus_back_shutdown(d->xb);
}

void bb_dev_peer_died(struct bb_dev *d)
{
	int r;

	if (d->nr_queues)
		bb_log(d->b, LOG_INFO, "vbd %u/%u: frontend domain %u died; queues stopped", d->fe,
		       d->devid, d->fe);
	stop_queues(d);
	/* Closed now (nobody is left to answer Closing), ready for the next
	 * frontend. A device broken earlier stays broken: its connect refuses. */
	r = sdrv_xenbus_back_peer_gone(d->xb);
	if (r < 0 && r != -ENOENT)
		bb_log(d->b, LOG_WARNING, "vbd %u/%u: cannot close the device: %s", d->fe, d->devid,
		       strerror(-r));
}

/* ------------------------------- image -------------------------------- */

static int open_image(struct bb_dev *d)
{
	struct bb *b = d->b;
	const char *dir = sdrv_xenbus_back_dir(d->xb);
	char *params = NULL, *mode = NULL, *dtype = NULL;
	int flags, fd, r;
	struct stat st;
	uint64_t bytes;

	r = sdrv_xenbus_read_str(b->xs, 0, dir, "params", PARAMS_MAX, &params);
	if (r < 0) {
		bb_dev_break(d, "no usable params key: %s", strerror(-r));
		return r;
	}
	r = sdrv_xenbus_read_str(b->xs, 0, dir, "mode", 8, &mode);
	if (r < 0 && r != -ENOENT)
		goto out;
	/* libxl writes "r" or "w" ("w!" for a writable disk it lets others share) */
	if (mode && mode[0] != 'r' && mode[0] != 'w') {
		bb_dev_break(d, "mode '%s' is neither r nor w", mode);
		r = -EINVAL;
		goto out;
	}
	d->readonly = mode && mode[0] == 'r';
	/* O_NONBLOCK while opening: a FIFO (or a device that waits in open)
	 * named by params must not stall every device; what is neither a
	 * file nor a block device is refused below, and the flag goes. */
	flags = (d->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK;
	fd = open(params, flags | ((b->flags & SDRV_BLKBACK_DIRECT) ? O_DIRECT : 0));
	if (fd < 0 && errno == EINVAL && (b->flags & SDRV_BLKBACK_DIRECT)) {
		bb_log(b, LOG_NOTICE, "vbd %u/%u: %s does not take O_DIRECT; using the page cache",
		       d->fe, d->devid, params);
		fd = open(params, flags);
	}
	if (fd < 0) {
		r = -errno;
		bb_dev_break(d, "cannot open %s: %s", params, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		r = -errno;
		close(fd);
		goto out;
	}
	if ((S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) &&
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) {
		r = -errno;
		close(fd);
		bb_dev_break(d, "cannot use %s: %s", params, strerror(-r));
		goto out;
	}
	d->sector_size = SDRV_BLKIF_SECTOR_SIZE;
	if (S_ISREG(st.st_mode)) {
		bytes = (uint64_t)st.st_size;
		d->phys_sector_size =
		    st.st_blksize >= 512 && st.st_blksize <= 65536 ? (uint32_t)st.st_blksize : 4096;
	} else if (S_ISBLK(st.st_mode)) {
		int lss = 512;
		unsigned int pss = 512;

		d->is_blkdev = true;
		if (ioctl(fd, BLKGETSIZE64, &bytes) != 0 || ioctl(fd, BLKSSZGET, &lss) != 0) {
			r = -errno;
			close(fd);
			bb_dev_break(d, "cannot size block device %s: %s", params, strerror(-r));
			goto out;
		}
		if (ioctl(fd, BLKPBSZGET, &pss) != 0)
			pss = (unsigned int)lss;
		d->sector_size = (uint32_t)lss;
		d->phys_sector_size = pss;
	} else {
		close(fd);
		r = -EINVAL;
		bb_dev_break(d, "%s is neither a file nor a block device", params);
		goto out;
	}
	d->fd = fd;
	d->sectors = bytes / SDRV_BLKIF_SECTOR_SIZE;
	d->discard = !d->readonly && !(b->flags & SDRV_BLKBACK_NO_DISCARD);
	d->info = d->readonly ? SDRV_BLKIF_VDISK_READONLY : 0;
	if (sdrv_xenbus_read_str(b->xs, 0, dir, "device-type", 16, &dtype) == 0 &&
	    strcmp(dtype, "cdrom") == 0)
		d->info |= SDRV_BLKIF_VDISK_CDROM;
	memset(&d->lim, 0, sizeof(d->lim));
	d->lim.sz = sizeof(d->lim);
	d->lim.sectors = d->sectors;
	d->lim.max_indirect_segments = b->max_indirect;
	d->lim.flags = SDRV_BLKIF_LIM_FLUSH | SDRV_BLKIF_LIM_BARRIER |
		       (d->discard ? SDRV_BLKIF_LIM_DISCARD : 0) |
		       (d->readonly ? SDRV_BLKIF_LIM_READONLY : 0);
	bb_log(b, LOG_INFO, "vbd %u/%u: %s %s, %llu sectors%s", d->fe, d->devid,
	       d->is_blkdev ? "block device" : "image", params, (unsigned long long)d->sectors,
	       d->readonly ? ", read-only" : "");
	r = 0;
out:
	free(params);
	free(mode);
	free(dtype);
	return r;
}

/* ---------------------------- handshake ------------------------------- */

/* Before InitWait: everything a frontend reads, in the one transaction. */
static int dev_publish(struct sdrv_xenbus_back *xb, uint32_t tx, void *ctx)
{
	struct bb_dev *d = ctx;
	struct bb *b = d->b;
	struct sdrv_xs *xs = b->xs;
	const char *dir = sdrv_xenbus_back_dir(xb);
	int r;

	if (d->fd < 0 && (r = open_image(d)) < 0)
		return r;
#define W(key, v)                                                                                  \
	do {                                                                                       \
		if ((r = sdrv_xenbus_write_uint(xs, tx, dir, key, v)) < 0)                         \
			return r;                                                                  \
	} while (0)
	W("feature-flush-cache", 1);
	W("feature-barrier", 1);
	W("feature-discard", d->discard);
	if (d->discard) {
		W("discard-granularity", d->phys_sector_size);
		W("discard-alignment", 0);
		W("discard-secure", 0);
	}
	W("feature-persistent", !(b->flags & SDRV_BLKBACK_NO_PERSISTENT));
	if (b->max_indirect)
		W("feature-max-indirect-segments", b->max_indirect);
	W(SDRV_XENBUS_KEY_MAX_RING_PAGE_ORDER, b->max_order);
	W(SDRV_XENBUS_KEY_MAX_QUEUES, b->max_queues);
	W("sectors", d->sectors);
	W("info", d->info);
	W("sector-size", d->sector_size);
	W("physical-sector-size", d->phys_sector_size);
#undef W
	return 0;
}

static void dev_disconnect(struct sdrv_xenbus_back *xb, void *ctx)
{
	struct bb_dev *d = ctx;

	(void)xb;
	if (d->nr_queues)
		bb_log(d->b, LOG_INFO, "vbd %u/%u: disconnected", d->fe, d->devid);
	stop_queues(d);
}

/* The frontend published: read its keys strictly, map, bind, serve. */
static int dev_connect(struct sdrv_xenbus_back *xb, void *ctx)
{
	struct bb_dev *d = ctx;
	struct bb *b = d->b;
	struct sdrv_xs *xs = b->xs;
	const char *peer = sdrv_xenbus_back_peer_dir(xb);
	enum sdrv_blkif_abi abi = SDRV_BLKIF_ABI_NATIVE;
	char *proto = NULL, qdir[SDRV_XENBUS_PATH_MAX];
	unsigned int nq, order;
	bool persistent = false;
	const char *what;
	int r;

	if (d->broken)
		return -EIO;
	what = "protocol";
	r = sdrv_xenbus_read_str(xs, 0, peer, SDRV_XENBUS_KEY_PROTOCOL, 32, &proto);
	if (r == 0) {
		r = sdrv_blkif_abi_parse(proto, &abi);
		if (r < 0) {
			bb_log(b, LOG_WARNING, "vbd %u/%u: unknown frontend protocol '%s'", d->fe,
			       d->devid, proto);
			free(proto);
			return -ENOSYS;
		}
		free(proto);
	} else if (r != -ENOENT) {
		goto bad;
	}
	what = "feature-persistent";
	if ((r = sdrv_xenbus_read_bool(xs, 0, peer, what, false, &persistent)) < 0)
		goto bad;
	d->persistent = persistent && !(b->flags & SDRV_BLKBACK_NO_PERSISTENT);
	what = SDRV_XENBUS_KEY_NUM_QUEUES;
	if ((r = sdrv_xenbus_read_num_queues(xs, 0, peer, b->max_queues, &nq)) < 0)
		goto bad;
	what = SDRV_XENBUS_KEY_RING_PAGE_ORDER;
	if ((r = sdrv_xenbus_read_ring_order(xs, 0, peer, b->max_order, &order)) < 0)
		goto bad;
	d->order = order;
	for (unsigned int i = 0; i < nq; i++) {
		sdrv_grant_ref_t refs[1u << BB_MAX_ORDER];
		uint32_t port;

		if ((r = sdrv_xenbus_queue_dir(qdir, sizeof(qdir), peer, nq, i)) < 0)
			goto fail;
		what = SDRV_XENBUS_KEY_RING_REF;
		if ((r = sdrv_xenbus_read_ring_refs(xs, 0, qdir, what, order, refs)) < 0)
			goto bad;
		what = SDRV_XENBUS_KEY_EVENT_CHANNEL;
		if ((r = sdrv_xenbus_read_evtchn(xs, 0, qdir, what, &port)) < 0)
			goto bad;
		if (!(d->q[i] = bb_queue_new(d, i, abi))) {
			r = -ENOMEM;
			goto fail;
		}
		d->nr_queues = i + 1;
		if ((r = bb_queue_connect(d->q[i], refs, order, port)) < 0)
			goto fail;
	}
	bb_log(b, LOG_INFO,
	       "vbd %u/%u: connected: %u queue%s of %u page%s, protocol %s, persistent grants %s",
	       d->fe, d->devid, nq, nq == 1 ? "" : "s", 1u << order, order ? "s" : "",
	       sdrv_blkif_abi_name(abi), d->persistent ? "on" : "off");
	return 0;
bad:
	bb_log(b, LOG_WARNING, "vbd %u/%u: the frontend's %s is unusable: %s", d->fe, d->devid,
	       what, strerror(-r));
fail:
	stop_queues(d);
	return r;
}

static void dev_state(struct sdrv_xenbus_back *xb, enum sdrv_xenbus_state self,
		      enum sdrv_xenbus_state peer, void *ctx)
{
	struct bb_dev *d = ctx;

	(void)xb;
	bb_log(d->b, LOG_DEBUG, "vbd %u/%u: backend %s, frontend %s", d->fe, d->devid,
	       sdrv_xenbus_state_name(self), sdrv_xenbus_state_name(peer));
}

struct bb_dev *bb_dev_new(struct bb *b, sdrv_domid_t fe, uint32_t devid)
{
	struct sdrv_xenbus_back_opts o;
	struct bb_dev *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->b = b;
	d->fe = fe;
	d->devid = devid;
	d->fd = -1;
	memset(&o, 0, sizeof(o));
	o.sz = sizeof(o);
	o.xs = b->xs;
	o.domid = b->domid;
	o.type = "vbd";
	o.fe = fe;
	o.id = devid;
	o.publish = dev_publish;
	o.connect = dev_connect;
	o.disconnect = dev_disconnect;
	o.state_changed = dev_state;
	o.ctx = d;
	o.write_hotplug_status = (b->flags & SDRV_BLKBACK_HOTPLUG_STATUS) != 0;
	d->xb = sdrv_xenbus_back_new(&o);
	if (!d->xb) {
		int err = errno;

		if (d->fd >= 0)
			close(d->fd);
		free(d);
		errno = err;
		return NULL;
	}
	bb_log(b, LOG_INFO, "vbd %u/%u: serving", fe, devid);
	return d;
}

void bb_dev_free(struct bb_dev *d)
{
	sdrv_xenbus_back_free(d->xb);
	stop_queues(d);
	if (d->fd >= 0)
		close(d->fd);
	free(d);
}
