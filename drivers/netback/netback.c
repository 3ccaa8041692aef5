/* SPDX-License-Identifier: MIT */
/*
 * netback: the object, its event loop and the list of interfaces it serves.
 *
 * One epoll set holds the transport's descriptor (event channels, peer
 * deaths), the store connection's, every connected TAP that may be read
 * (armed only while the frontend has buffers posted) and an eventfd netback
 * kicks itself with when it left work for the next round, so
 * sdrv_netback_fd() is readable exactly when sdrv_netback_process() has
 * something to do; sdrv_netback_timeout() covers the rate limiter.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "netback-int.h"

/* Ports taken from the transport per process() call. */
#define MAX_WOKEN 64

void nb_log(struct nb *b, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	drv_vlog(b->log, b->log_ctx, level, fmt, ap);
	va_end(ap);
}

void nb_kick(struct nb *b)
{
	drv_kick(&b->kick);
}

uint64_t nb_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int nb_port_set(struct nb *b, sdrv_evtchn_port_t port, struct nb_vif *v)
{
	return drv_ports_set(&b->ports, port, v);
}

/* -------------------------- finding devices --------------------------- */

static struct nb_vif *find_vif(struct nb *b, sdrv_domid_t fe, uint32_t handle)
{
	for (struct nb_vif *v = b->vifs; v; v = v->next)
		if (v->fe == fe && v->handle == handle)
			return v;
	return NULL;
}

/*
 * A change under the vif directory: a device appearing or going (look
 * again), or a key of a known device changing (its rate, its log classes,
 * its addresses: read them again at the next round).
 */
static void on_vif(struct sdrv_xs *xs, const char *path, const char *token, void *ctx)
{
	struct nb *b = ctx;
	struct nb_vif *v = NULL;
	const char *rest;
	sdrv_domid_t fe;
	uint32_t id;

	(void)xs;
	(void)token;
	if (drv_dev_path(b->vif_dir, path, &fe, &id, &rest) && *rest)
		v = find_vif(b, fe, id);
	if (!v) {
		b->rescan = true; /* a device may have come or gone */
		return;
	}
	if (!strcmp(rest, "/rate") || !strcmp(rest, "/log") || !strcmp(rest, "/ip"))
		v->keys_dirty = true;
}

static void found_vif(void *ctx, sdrv_domid_t fe, uint32_t id)
{
	struct nb *b = ctx;
	struct nb_vif *v = find_vif(b, fe, id);

	if (v) {
		v->gone = false;
		return;
	}
	/* A directory the toolstack is still writing fails here; its next
	 * key brings us back (on_vif). */
	if (!(v = nb_vif_new(b, fe, id))) {
		nb_log(b, LOG_DEBUG, "vif%u.%u: not (yet) usable: %s", fe, id, strerror(errno));
		return;
	}
	v->next = b->vifs;
	b->vifs = v;
}

static void rescan(struct nb *b)
{
	struct nb_vif *v;
	int r;

	b->rescan = false;
	for (v = b->vifs; v; v = v->next)
		v->gone = true;
	if ((r = drv_scan(b->xs, b->vif_dir, found_vif, b)) < 0) {
		nb_log(b, LOG_WARNING, "listing %s: %s", b->vif_dir, strerror(-r));
		for (v = b->vifs; v; v = v->next)
			v->gone = false;
	}
}

static void reap(struct nb *b)
{
	struct nb_vif **pp = &b->vifs;

	while (*pp) {
		struct nb_vif *v = *pp;

		if (!v->gone) {
			pp = &v->next;
			continue;
		}
		*pp = v->next;
		nb_log(b, LOG_INFO, "%s: removed", v->name);
		nb_vif_free(v);
	}
}

/* ------------------------------ the API ------------------------------- */

/* The epoll set's own descriptors are tagged with these addresses; a
 * TAP's with its struct nb_vif (a vif leaves the set before it is freed,
 * and events are used in the call that got them). */
static char tag_xs, tag_xport, tag_kick;

static int ep_add(struct nb *b, int fd, void *tag)
{
	struct epoll_event ev = {.events = EPOLLIN};

	ev.data.ptr = tag;
	return epoll_ctl(b->epfd, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : -errno;
}

struct sdrv_netback *sdrv_netback_new(const struct sdrv_netback_opts *opts)
{
	struct sdrv_netback_opts o;
	struct nb *b;
	char token[48];
	int r;

	if (!opts || opts->sz < offsetof(struct sdrv_netback_opts, budget) || !opts->xport ||
	    !opts->xs) {
		errno = EINVAL;
		return NULL;
	}
	memset(&o, 0, sizeof(o));
	memcpy(&o, opts, opts->sz < sizeof(o) ? opts->sz : sizeof(o));
	if (o.budget > 1024 || (o.log_classes & ~SDRV_NETBACK_CLASS_ALL) ||
	    (o.flags &
	     ~(SDRV_NETBACK_NO_GSO | SDRV_NETBACK_HOTPLUG_STATUS | SDRV_NETBACK_NO_TAP))) {
		errno = EINVAL;
		return NULL;
	}
	if (!(b = calloc(1, sizeof(*b))))
		return NULL;
	b->x = o.xport;
	b->xs = o.xs;
	b->domid = sdrv_xport_domid(o.xport);
	b->flags = o.flags;
	b->budget = o.budget ? o.budget : 64;
	b->log_classes = o.log_classes;
	b->log_rate = o.log_rate ? o.log_rate : 20;
	b->log = o.log;
	b->log_ctx = o.log_ctx;
	b->epfd = b->kick.fd = b->sockfd = -1;
	b->frame = malloc(NB_VNET_HDR + NB_FRAME_MAX);
	b->epfd = epoll_create1(EPOLL_CLOEXEC);
	b->sockfd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (!b->frame || b->epfd < 0 || drv_kick_open(&b->kick) < 0 || b->sockfd < 0)
		goto fail;
	if (ep_add(b, sdrv_xport_fd(b->x), &tag_xport) < 0 ||
	    ep_add(b, sdrv_xs_fd(b->xs), &tag_xs) < 0 || ep_add(b, b->kick.fd, &tag_kick) < 0)
		goto fail;
	snprintf(b->vif_dir, sizeof(b->vif_dir), "/local/domain/%u/backend/vif", b->domid);
	snprintf(token, sizeof(token), "sdrv-netback/%p", (void *)b);
	if ((r = sdrv_xs_watch(b->xs, b->vif_dir, token, on_vif, b)) < 0) {
		errno = -r;
		goto fail;
	}
	b->rescan = true;
	nb_kick(b);
	nb_log(b, LOG_INFO, "serving %s: segmentation offload %s%s", b->vif_dir,
	       (b->flags & SDRV_NETBACK_NO_GSO) ? "off" : "on",
	       (b->flags & SDRV_NETBACK_NO_TAP) ? ", no TAP interfaces" : "");
	return (struct sdrv_netback *)b;
fail : {
	int err = errno ? errno : EIO;

	if (b->epfd >= 0)
		close(b->epfd);
	drv_kick_close(&b->kick);
	if (b->sockfd >= 0)
		close(b->sockfd);
	free(b->frame);
	free(b);
	errno = err;
	return NULL;
}
}

int sdrv_netback_fd(const struct sdrv_netback *nbk)
{
	const struct nb *b = (const struct nb *)nbk;

	return b ? b->epfd : -EINVAL;
}

int sdrv_netback_timeout(const struct sdrv_netback *nbk)
{
	const struct nb *b = (const struct nb *)nbk;
	uint64_t now, soonest = UINT64_MAX;

	if (!b)
		return -1;
	for (const struct nb_vif *v = b->vifs; v; v = v->next)
		if (v->connected && v->throttle_until_us && v->throttle_until_us < soonest)
			soonest = v->throttle_until_us;
	if (soonest == UINT64_MAX)
		return -1;
	now = nb_now_us();
	if (soonest <= now)
		return 0;
	soonest = (soonest - now + 999) / 1000;
	return soonest > 1000 ? 1000 : (int)soonest;
}

int sdrv_netback_process(struct sdrv_netback *nbk)
{
	struct nb *b = (struct nb *)nbk;
	struct sdrv_xport_event ev[16];
	sdrv_evtchn_port_t woken[MAX_WOKEN], p;
	struct epoll_event evs[32];
	bool xs_ready = false, x_ready = false;
	uint32_t nwoken = 0;
	uint64_t now;
	int n, r;

	if (!b)
		return -EINVAL;
	drv_kick_drain(&b->kick);
	n = epoll_wait(b->epfd, evs, 32, 0);
	if (n < 0)
		xs_ready = x_ready = true;
	for (int i = 0; i < n; i++) {
		void *tag = evs[i].data.ptr;

		if (tag == &tag_xs)
			xs_ready = true;
		else if (tag == &tag_xport)
			x_ready = true;
		else if (tag != &tag_kick)
			((struct nb_vif *)tag)->rx_more = true;
	}

	r = xs_ready ? sdrv_xs_process(b->xs) : 0;
	if (r < 0 && r != -EBUSY) {
		nb_log(b, LOG_ERR, "the store connection broke: %s",
		       sdrv_xs_broken(b->xs) ? sdrv_xs_broken(b->xs) : strerror(-r));
		return -ECONNRESET;
	}
	if (b->rescan)
		rescan(b);
	reap(b);
	for (struct nb_vif *v = b->vifs; v; v = v->next)
		if (v->keys_dirty)
			nb_vif_read_keys(v);

	if (x_ready)
		(void)sdrv_xport_wait(b->x, 0); /* the look process() and pending() answer from */
	n = x_ready ? sdrv_xport_process(b->x, ev, 16) : 0;
	if (n < 0) {
		nb_log(b, LOG_ERR, "the transport went away: %s", strerror(-n));
		return -ECONNRESET;
	}
	for (int i = 0; i < n; i++)
		if (ev[i].type == SDRV_XPORT_EV_PEER_DIED)
			for (struct nb_vif *v = b->vifs; v; v = v->next)
				if (v->fe == ev[i].domid)
					nb_vif_peer_died(v);
	if (n == 16)
		nb_kick(b);

	/* Ports that fired: each masked until its interface is served (late EOI). */
	while (x_ready && nwoken < MAX_WOKEN && sdrv_evtchn_pending(b->x, &p) == 1) {
		struct nb_vif *v = drv_ports_get(&b->ports, p);

		if (!v) {
			sdrv_evtchn_unmask(b->x, p);
			continue;
		}
		if (!v->woken)
			v->found_work = false;
		v->woken = true;
		if (p == v->tx_port)
			v->tx_more = true;
		if (p == v->rx_port)
			v->rx_more = true;
		woken[nwoken++] = p;
	}
	if (nwoken == MAX_WOKEN)
		nb_kick(b);

	now = nb_now_us();
	for (struct nb_vif *v = b->vifs; v; v = v->next) {
		if (!v->connected)
			continue;
		if (v->throttle_until_us && now >= v->throttle_until_us) {
			v->throttle_until_us = 0;
			v->tx_more = true;
		}
		if (v->tx_more && !v->throttle_until_us)
			nb_tx_serve(v);
		if (v->connected && v->rx_more)
			nb_rx_serve(v);
		if (v->connected)
			nb_push(v);
	}

	for (uint32_t i = 0; i < nwoken; i++) {
		struct nb_vif *v = drv_ports_get(&b->ports, woken[i]);

		if (!v)
			continue; /* stopped meanwhile: its port is closed */
		if (v->woken && !v->found_work)
			v->st.spurious++;
		sdrv_evtchn_eoi(b->x, woken[i], v->found_work ? 0 : SDRV_EOI_SPURIOUS);
		v->woken = false;
	}
	return 0;
}

uint32_t sdrv_netback_list(const struct sdrv_netback *nbk, struct sdrv_netback_vif_info *out,
			   uint32_t max)
{
	const struct nb *b = (const struct nb *)nbk;
	uint32_t n = 0;

	if (!b)
		return 0;
	for (const struct nb_vif *v = b->vifs; v; v = v->next, n++) {
		struct sdrv_netback_vif_info *i;

		if (n >= max || !out)
			continue;
		i = &out[n];
		*i = v->st;
		i->frontend = v->fe;
		i->handle = v->handle;
		i->state = v->xb ? sdrv_xenbus_back_state(v->xb) : SDRV_XENBUS_CLOSED;
		i->connected = v->connected;
		memcpy(i->ifname, v->name, sizeof(i->ifname));
		i->ifindex = v->tapfd >= 0 ? v->ifindex : 0;
		i->rate_bytes = v->credit.bytes;
		i->rate_usec = v->credit.usec;
		i->log_classes = v->key_classes | b->log_classes;
		i->broken = v->broken;
	}
	return n;
}

static bool all_closed(const struct nb *b)
{
	for (const struct nb_vif *v = b->vifs; v; v = v->next) {
		enum sdrv_xenbus_state s;

		if (!v->xb)
			continue;
		s = sdrv_xenbus_back_state(v->xb);
		if (s != SDRV_XENBUS_CLOSED && s != SDRV_XENBUS_UNKNOWN)
			return false;
	}
	return true;
}

void sdrv_netback_free(struct sdrv_netback *nbk, int timeout_ms)
{
	struct nb *b = (struct nb *)nbk;
	uint64_t end;
	char token[48];

	if (!b)
		return;
	/* Go Closing everywhere and serve until the frontends follow (or
	 * the time is up). */
	for (struct nb_vif *v = b->vifs; v; v = v->next)
		if (v->xb)
			sdrv_xenbus_back_shutdown(v->xb);
	end = nb_now_us() / 1000 + (timeout_ms > 0 ? (uint64_t)timeout_ms : 0);
	while (!all_closed(b) && nb_now_us() / 1000 < end) {
		struct pollfd pfd = {.fd = b->epfd, .events = POLLIN};
		int left = (int)(end - nb_now_us() / 1000);

		if (poll(&pfd, 1, left > 100 ? 100 : left) < 0 && errno != EINTR)
			break;
		if (sdrv_netback_process(nbk) < 0)
			break;
	}
	while (b->vifs) {
		struct nb_vif *v = b->vifs;

		b->vifs = v->next;
		nb_vif_free(v);
	}
	snprintf(token, sizeof(token), "sdrv-netback/%p", (void *)b);
	sdrv_xs_unwatch(b->xs, b->vif_dir, token);
	close(b->epfd);
	drv_kick_close(&b->kick);
	close(b->sockfd);
	drv_ports_free(&b->ports);
	free(b->frame);
	free(b);
}
