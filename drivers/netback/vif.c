/* SPDX-License-Identifier: MIT */
/*
 * One network interface: the keys the toolstack wrote for it (trusted: the
 * backend directory; the frontend's own directory is the guest's to write
 * and is read only for what the guest offers), the handshake callbacks that
 * map and unmap its rings (as Linux's drivers/net/xen-netback/xenbus.c),
 * and its TAP (as Xen's vif-bridge hotplug script sets it up).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "netback-int.h"

#define KEY_MAX 1024

/* ------------------------------- keys --------------------------------- */

/* rate, log and ip: read at start and whenever they change */
void nb_vif_read_keys(struct nb_vif *v)
{
	struct nb *b = v->nb;
	const char *dir = v->dir;
	uint64_t bytes = 0, usec = 0;
	uint32_t classes = 0;
	char *s = NULL;
	int r;

	v->keys_dirty = false;
	r = sdrv_xenbus_read_str(b->xs, 0, dir, "rate", 64, &s);
	if (r == 0 && sdrv_netback_parse_rate(s, &bytes, &usec) < 0) {
		nb_log(b, LOG_WARNING, "%s: rate '%s' is not BYTES,USEC; running unlimited",
		       v->name, s);
		bytes = usec = 0;
	}
	if (bytes != v->credit.bytes || usec != v->credit.usec) {
		sdrv_netback_credit_init(&v->credit, bytes, usec, nb_now_us());
		v->throttle_until_us = 0;
		v->tx_more = true;
		if (bytes)
			nb_log(b, LOG_INFO, "%s: rate %llu bytes per %llu us", v->name,
			       (unsigned long long)bytes, (unsigned long long)usec);
		else
			nb_log(b, LOG_INFO, "%s: rate unlimited", v->name);
		nb_kick(b);
	}
	free(s);
	s = NULL;
	r = sdrv_xenbus_read_str(b->xs, 0, dir, "log", 256, &s);
	if (r == 0 && sdrv_netback_parse_classes(s, &classes) < 0) {
		nb_log(b, LOG_WARNING, "%s: log '%s' names an unknown class; logging nothing",
		       v->name, s);
		classes = 0;
	}
	if (classes != v->key_classes)
		nb_log(b, LOG_INFO, "%s: logging classes 0x%x", v->name, classes);
	v->key_classes = classes;
	free(s);
	s = NULL;
	r = sdrv_xenbus_read_str(b->xs, 0, dir, "ip", KEY_MAX, &s);
	if (r == 0) {
		if (nb_parse_addrs(s, v->addrs, NB_MAX_ADDRS, &v->naddrs) < 0) {
			/* refuse everything rather than nothing */
			nb_log(b, LOG_WARNING, "%s: ip '%s' is unusable; no IP source is allowed",
			       v->name, s);
			v->naddrs = 0;
			v->addrs[0].len = 0xff; /* a list that matches nothing */
			v->naddrs = 1;
		}
	} else {
		v->naddrs = 0;
	}
	free(s);
}

/* ------------------------------- the TAP ------------------------------ */

void nb_vif_arm_tap(struct nb_vif *v, bool on)
{
	struct epoll_event ev = {.events = on ? EPOLLIN : 0};

	if (v->tapfd < 0 || v->tap_armed == on)
		return;
	ev.data.ptr = v; /* sdrv_netback_process() finds the interface so */
	if (epoll_ctl(v->nb->epfd, EPOLL_CTL_MOD, v->tapfd, &ev) == 0)
		v->tap_armed = on;
}

static int ifreq_ioctl(struct nb_vif *v, unsigned long req, struct ifreq *ifr, const char *what)
{
	if (ioctl(v->nb->sockfd, req, ifr) == 0)
		return 0;
	nb_vif_break(v, "%s: %s", what, strerror(errno));
	return -errno;
}

static int tap_open(struct nb_vif *v)
{
	struct nb *b = v->nb;
	struct ifreq ifr;
	struct epoll_event ev = {.events = 0};
	unsigned int off = 0;
	int hdr = NB_VNET_HDR, fd;

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		nb_vif_break(v, "cannot open /dev/net/tun: %s", strerror(errno));
		return -errno;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", v->name);
	/* What the kernel may hand us for the frontend: partial checksums
	 * unless it cannot take them, TSO the frontend takes. */
	if (v->fe_csum) {
		off |= TUN_F_CSUM;
		if (v->fe_gso4)
			off |= TUN_F_TSO4;
		if (v->fe_gso6)
			off |= TUN_F_TSO6;
	}
	if (ioctl(fd, TUNSETIFF, &ifr) != 0 || ioctl(fd, TUNSETVNETHDRSZ, &hdr) != 0 ||
	    ioctl(fd, TUNSETOFFLOAD, off) != 0) {
		int err = errno;

		close(fd);
		nb_vif_break(v, "cannot create TAP %s: %s", v->name, strerror(err));
		return -err;
	}
	v->tapfd = fd;
	ev.data.ptr = v;
	if (epoll_ctl(b->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		nb_vif_break(v, "epoll: %s", strerror(errno));
		return -errno;
	}
	v->tap_armed = false;
	/* as vif-bridge: the vif's own MAC is fe:ff:ff:ff:ff:ff, never the guest's */
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", v->name);
	ifr.ifr_hwaddr.sa_family = 1; /* ARPHRD_ETHER */
	memcpy(ifr.ifr_hwaddr.sa_data, "\xfe\xff\xff\xff\xff\xff", 6);
	if (ifreq_ioctl(v, SIOCSIFHWADDR, &ifr, "setting the vif's MAC") < 0)
		return -EIO;
	ifr.ifr_mtu = (int)v->mtu;
	if (ifreq_ioctl(v, SIOCSIFMTU, &ifr, "setting the MTU") < 0)
		return -EIO;
	if (ifreq_ioctl(v, SIOCGIFINDEX, &ifr, "the TAP's index") < 0)
		return -EIO;
	v->ifindex = ifr.ifr_ifindex;
	if (v->bridge[0]) {
		struct ifreq br;

		memset(&br, 0, sizeof(br));
		snprintf(br.ifr_name, IFNAMSIZ, "%s", v->bridge);
		br.ifr_ifindex = v->ifindex;
		if (ioctl(b->sockfd, SIOCBRADDIF, &br) != 0) {
			nb_vif_break(v, "cannot add %s to bridge %s: %s", v->name, v->bridge,
				     strerror(errno));
			return -EIO;
		}
	}
	if (ifreq_ioctl(v, SIOCGIFFLAGS, &ifr, "the TAP's flags") < 0)
		return -EIO;
	ifr.ifr_flags |= IFF_UP;
	if (ifreq_ioctl(v, SIOCSIFFLAGS, &ifr, "bringing the TAP up") < 0)
		return -EIO;
	return 0;
}

/* --------------------------- connecting ------------------------------- */

static void stop(struct nb_vif *v)
{
	struct nb *b = v->nb;

	if (v->tapfd >= 0) {
		epoll_ctl(b->epfd, EPOLL_CTL_DEL, v->tapfd, NULL);
		close(v->tapfd); /* not persistent: the interface goes with it */
		v->tapfd = -1;
		v->tap_armed = false;
	}
	if (v->tx_port) {
		nb_port_set(b, v->tx_port, NULL);
		sdrv_evtchn_close(b->x, v->tx_port);
	}
	if (v->rx_port && v->rx_port != v->tx_port) {
		nb_port_set(b, v->rx_port, NULL);
		sdrv_evtchn_close(b->x, v->rx_port);
	}
	v->tx_port = v->rx_port = 0;
	if (v->tx_mem)
		sdrv_gnt_unmap(b->x, v->tx_mem, 1);
	if (v->rx_mem)
		sdrv_gnt_unmap(b->x, v->rx_mem, 1);
	v->tx_mem = v->rx_mem = NULL;
	v->connected = false;
	v->txstart = v->txn = 0;
	v->pend_len = 0;
	v->tx_more = v->rx_more = v->tx_push = v->rx_push = false;
	v->throttle_until_us = 0;
}

void nb_vif_break(struct nb_vif *v, const char *fmt, ...)
{
	va_list ap;

	if (v->broken)
		return;
	va_start(ap, fmt);
	vsnprintf(v->broken_buf, sizeof(v->broken_buf), fmt, ap);
	va_end(ap);
	v->broken = v->broken_buf;
	nb_log(v->nb, LOG_WARNING, "%s: disabling the interface: %s", v->name, v->broken);
	stop(v);
	/* As xenbus_dev_fatal(): Closing, then Closed; the others carry on. */
	if (v->xb)
		sdrv_xenbus_back_shutdown(v->xb);
}

static int read_device(struct nb_vif *v);

void nb_vif_peer_died(struct nb_vif *v)
{
	int r;

	if (!v->xb)
		return;
	nb_log(v->nb, LOG_INFO, "%s: frontend domain %u died; removing the interface", v->name,
	       v->fe);
	stop(v);
	/* The next frontend starts afresh: a reason to disable the interface
	 * that the dead one gave goes, one in the toolstack's keys is found
	 * again (read_device() after the re-arm, so that it stays closed). */
	v->broken = NULL;
	r = sdrv_xenbus_back_peer_gone(v->xb);
	if (r < 0 && r != -ENOENT)
		nb_log(v->nb, LOG_WARNING, "%s: cannot close the device: %s", v->name,
		       strerror(-r));
	v->have_mac = false;
	read_device(v);
}

/* Before InitWait: everything a frontend reads, in the one transaction. */
static int vif_publish(struct sdrv_xenbus_back *xb, uint32_t tx, void *ctx)
{
	struct nb_vif *v = ctx;
	struct nb *b = v->nb;
	const char *dir = sdrv_xenbus_back_dir(xb);
	bool gso = !(b->flags & SDRV_NETBACK_NO_GSO);
	int r;

#define W(key, val)                                                                                \
	do {                                                                                       \
		if ((r = sdrv_xenbus_write_uint(b->xs, tx, dir, key, val)) < 0)                    \
			return r;                                                                  \
	} while (0)
	W("feature-sg", 1);
	W("feature-gso-tcpv4", gso);
	W("feature-gso-tcpv6", gso);
	W("feature-ipv6-csum-offload", 1);
	W("feature-rx-copy", 1);
	W("feature-rx-flip", 0);
	W("feature-split-event-channels", 1);
	W("feature-multicast-control", 1);
#undef W
	return 0;
}

static void vif_disconnect(struct sdrv_xenbus_back *xb, void *ctx)
{
	struct nb_vif *v = ctx;

	(void)xb;
	if (v->connected)
		nb_log(v->nb, LOG_INFO, "%s disconnected", v->name);
	stop(v);
}

static int map_ring(struct nb_vif *v, const char *peer, const char *key, size_t esz, void **mem,
		    struct sdrv_ring *ring)
{
	struct nb *b = v->nb;
	sdrv_grant_ref_t g;
	uint64_t ref;
	int st = 0, r;

	if ((r = sdrv_xenbus_read_uint(b->xs, 0, peer, key, UINT32_MAX, UINT64_MAX, &ref)) < 0 ||
	    ref == UINT64_MAX) {
		nb_log(b, LOG_WARNING, "%s: the frontend's %s is unusable: %s", v->name, key,
		       strerror(r < 0 ? -r : ENOENT));
		return r < 0 ? r : -ENOENT;
	}
	g = (sdrv_grant_ref_t)ref;
	*mem = sdrv_gnt_map(b->x, v->fe, 1, &g, true, &st);
	if (!*mem) {
		nb_log(b, LOG_WARNING, "%s: cannot map %s %llu: %s", v->name, key,
		       (unsigned long long)ref, strerror(st ? -st : errno));
		return st ? st : -EIO;
	}
	return sdrv_ring_back_attach(ring, *mem, NB_PAGE, esz, 0) < 0 ? -EINVAL : 0;
}

static int bind_port(struct nb_vif *v, uint32_t remote, sdrv_evtchn_port_t *port)
{
	int r = sdrv_evtchn_bind(v->nb->x, v->fe, remote, port);

	if (r < 0) {
		nb_log(v->nb, LOG_WARNING, "%s: cannot bind the frontend's port %u: %s", v->name,
		       remote, strerror(-r));
		return r;
	}
	return nb_port_set(v->nb, *port, v);
}

/* The frontend published: read its keys strictly, map, bind, make the TAP. */
static int vif_connect(struct sdrv_xenbus_back *xb, void *ctx)
{
	struct nb_vif *v = ctx;
	struct nb *b = v->nb;
	const char *peer = sdrv_xenbus_back_peer_dir(xb);
	bool gso = !(b->flags & SDRV_NETBACK_NO_GSO), copy, notify, nocsum;
	uint32_t p_tx = 0, p_rx = 0;
	uint64_t nq = 1;
	int r;

	if (v->broken)
		return -EIO;
	stop(v);
	r = sdrv_xenbus_read_uint(b->xs, 0, peer, "multi-queue-num-queues", 64, 1, &nq);
	if (r < 0 && r != -ENOENT) {
		nb_log(b, LOG_WARNING, "%s: the frontend's multi-queue-num-queues is unusable: %s",
		       v->name, strerror(-r));
		return -EINVAL;
	}
	if (nq != 1) {
		nb_log(b, LOG_WARNING, "%s: the frontend asks for %llu queues; one is offered",
		       v->name, (unsigned long long)nq);
		return -EOPNOTSUPP;
	}
	/* Linux netback: rx-copy and rx-notify are mandatory */
	if ((r = sdrv_xenbus_read_bool(b->xs, 0, peer, "request-rx-copy", false, &copy)) < 0 ||
	    !copy) {
		nb_log(b, LOG_WARNING, "%s: the frontend does not do rx-copy", v->name);
		return -EOPNOTSUPP;
	}
	if ((r = sdrv_xenbus_read_bool(b->xs, 0, peer, "feature-rx-notify", false, &notify)) < 0 ||
	    !notify) {
		nb_log(b, LOG_WARNING, "%s: feature-rx-notify is mandatory", v->name);
		return -EOPNOTSUPP;
	}
	if (sdrv_xenbus_read_bool(b->xs, 0, peer, "feature-sg", false, &v->fe_sg) < 0 ||
	    sdrv_xenbus_read_bool(b->xs, 0, peer, "feature-gso-tcpv4", false, &v->fe_gso4) < 0 ||
	    sdrv_xenbus_read_bool(b->xs, 0, peer, "feature-gso-tcpv6", false, &v->fe_gso6) < 0 ||
	    sdrv_xenbus_read_bool(b->xs, 0, peer, "feature-no-csum-offload", false, &nocsum) < 0 ||
	    sdrv_xenbus_read_bool(b->xs, 0, peer, "request-multicast-control", false,
				  &v->mcast_ctrl) < 0) {
		nb_log(b, LOG_WARNING,
		       "%s: a feature or request key of the frontend is not a number", v->name);
		return -EINVAL;
	}
	/* without scatter-gather a packet is one page: no segmentation */
	v->fe_gso4 = v->fe_gso4 && v->fe_sg && gso;
	v->fe_gso6 = v->fe_gso6 && v->fe_sg && gso;
	v->fe_csum = !nocsum;
	v->nr_mcast = 0; /* a new connection subscribes afresh */
	if ((r = map_ring(v, peer, "tx-ring-ref", SDRV_NETIF_TX_ENTRY_SIZE, &v->tx_mem, &v->tx)) <
		0 ||
	    (r = map_ring(v, peer, "rx-ring-ref", SDRV_NETIF_RX_ENTRY_SIZE, &v->rx_mem, &v->rx)) <
		0)
		goto fail;
	if (sdrv_xenbus_read_evtchn(b->xs, 0, peer, "event-channel-tx", &p_tx) == 0 &&
	    sdrv_xenbus_read_evtchn(b->xs, 0, peer, "event-channel-rx", &p_rx) == 0) {
		if ((r = bind_port(v, p_tx, &v->tx_port)) < 0 ||
		    (r = bind_port(v, p_rx, &v->rx_port)) < 0)
			goto fail;
	} else {
		if ((r = sdrv_xenbus_read_evtchn(b->xs, 0, peer, "event-channel", &p_tx)) < 0) {
			nb_log(b, LOG_WARNING, "%s: the frontend's event-channel is unusable: %s",
			       v->name, strerror(-r));
			goto fail;
		}
		if ((r = bind_port(v, p_tx, &v->tx_port)) < 0)
			goto fail;
		v->rx_port = v->tx_port;
	}
	if (!(b->flags & SDRV_NETBACK_NO_TAP) && (r = tap_open(v)) < 0)
		goto fail;
	v->connected = true;
	v->tx_more = v->rx_more = true;
	nb_vif_arm_tap(v, true);
	nb_kick(b);
	nb_log(b, LOG_INFO, "%s connected: %s event channel%s, sg %s, gso %s, multicast %s",
	       v->name, v->rx_port == v->tx_port ? "one" : "split",
	       v->rx_port == v->tx_port ? "" : "s", v->fe_sg ? "on" : "off",
	       v->fe_gso4 && v->fe_gso6 ? "tcpv4 tcpv6"
	       : v->fe_gso4		? "tcpv4"
	       : v->fe_gso6		? "tcpv6"
					: "off",
	       v->mcast_ctrl ? "filtered" : "all");
	return 0;
fail:
	stop(v);
	return r < 0 ? r : -EIO;
}

static void vif_state(struct sdrv_xenbus_back *xb, enum sdrv_xenbus_state self,
		      enum sdrv_xenbus_state peer, void *ctx)
{
	struct nb_vif *v = ctx;

	(void)xb;
	nb_log(v->nb, LOG_DEBUG, "%s: backend %s, frontend %s", v->name,
	       sdrv_xenbus_state_name(self), sdrv_xenbus_state_name(peer));
}

/* The device's fixed keys, from the backend directory. */
static int read_device(struct nb_vif *v)
{
	struct nb *b = v->nb;
	const char *dir = v->dir;
	uint64_t mtu;
	char *s = NULL;
	int r;

	r = sdrv_xenbus_read_str(b->xs, 0, dir, "mac", 32, &s);
	if (r == 0) {
		if (sdrv_netif_parse_mac(s, v->mac) != 0) { /* a group address is no source */
			nb_vif_break(v, "mac '%s' is not a unicast MAC address", s);
			free(s);
			return -EINVAL;
		}
		v->have_mac = true;
	} else if (r != -ENOENT) {
		nb_vif_break(v, "the mac key is unusable: %s", strerror(-r));
		return r;
	}
	free(s);
	s = NULL;
	r = sdrv_xenbus_read_str(b->xs, 0, dir, "bridge", 64, &s);
	if (r == 0) {
		if (!s[0] || strlen(s) >= IFNAMSIZ || strchr(s, '/')) {
			nb_vif_break(v, "bridge '%s' is no interface name", s);
			free(s);
			return -EINVAL;
		}
		snprintf(v->bridge, sizeof(v->bridge), "%s", s);
	}
	free(s);
	r = sdrv_xenbus_read_uint(b->xs, 0, dir, "mtu", 65535, 1500, &mtu);
	if ((r < 0 && r != -ENOENT) || mtu < 68) {
		nb_vif_break(v, "the mtu key is unusable");
		return -EINVAL;
	}
	v->mtu = (uint32_t)mtu;
	nb_vif_read_keys(v);
	return 0;
}

struct nb_vif *nb_vif_new(struct nb *b, sdrv_domid_t fe, uint32_t handle)
{
	struct sdrv_xenbus_back_opts o;
	struct nb_vif *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->nb = b;
	v->fe = fe;
	v->handle = handle;
	v->tapfd = -1;
	snprintf(v->name, sizeof(v->name), "vif%u.%u", fe, handle);
	if (strlen(v->name) >= IFNAMSIZ) {
		free(v);
		errno = ENAMETOOLONG;
		return NULL;
	}
	v->pend = malloc(NB_VNET_HDR + NB_FRAME_MAX);
	if (!v->pend ||
	    sdrv_xenbus_back_path(v->dir, sizeof(v->dir), b->domid, "vif", fe, handle) < 0) {
		free(v->pend);
		free(v);
		errno = ENOMEM;
		return NULL;
	}
	/* before the handshake can run: connecting needs them. A bad key
	 * disables the interface, with the reason. */
	read_device(v);
	memset(&o, 0, sizeof(o));
	o.sz = sizeof(o);
	o.xs = b->xs;
	o.domid = b->domid;
	o.type = "vif";
	o.fe = fe;
	o.id = handle;
	o.publish = vif_publish;
	o.connect = vif_connect;
	o.disconnect = vif_disconnect;
	o.state_changed = vif_state;
	o.ctx = v;
	o.write_hotplug_status = (b->flags & SDRV_NETBACK_HOTPLUG_STATUS) != 0;
	v->xb = sdrv_xenbus_back_new(&o);
	if (!v->xb) {
		int err = errno;

		free(v->pend);
		free(v);
		errno = err;
		return NULL;
	}
	nb_log(b, LOG_INFO, "%s: serving frontend domain %u", v->name, fe);
	return v;
}

void nb_vif_free(struct nb_vif *v)
{
	if (v->xb)
		sdrv_xenbus_back_free(v->xb);
	stop(v);
	free(v->pend);
	free(v);
}
