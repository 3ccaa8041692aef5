/* SPDX-License-Identifier: MIT */
/*
 * splitdrv-netfront: netfront as a daemon (see splitdrv-netfront(8)). It
 * joins the transport as a guest domain, connects to the store, and relays
 * the vif device to a TAP interface: frames the host stack sends on the
 * TAP go to the backend, frames the backend delivers are written to the
 * TAP, each with a virtio-net header carrying the checksum and
 * segmentation offloads.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <syslog.h>
#include <unistd.h>

#include <splitdrv/netfront.h>
#include <splitdrv/proto/netif.h>
#include <splitdrv/transport.h>
#include <splitdrv/xs.h>

#include "../common/daemon.h"
#include "config.h"

/* Frames read from the TAP per round before the backend is notified. */
#define TAP_BATCH 64
/* Transmit buffers a frame is read into: the largest frame fits in 16
 * pages; one more tells a frame that is too big. */
#define TX_IOV 17

struct relay {
	struct sdrv_netfront *nf;
	int tap;
	char ifname[IFNAMSIZ];
	bool configured; /* the TAP carries the device's MAC and offloads */
	bool want_room;	 /* the TAP waits until the device is writable */
	uint64_t tap_drops, rx_drops;
};

static void say(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(int level, const char *fmt, ...)
{
	va_list ap;

	if (level > LOG_INFO + drv_verbose)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "splitdrv-netfront: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}

static void log_lib(void *ctx, int level, const char *msg)
{
	(void)ctx;
	say(level, "%s", msg);
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: splitdrv-netfront [OPTION]... -D DOMID\n"
		"Be the frontend of the split network device vif/HANDLE of domain DOMID,\n"
		"relayed to a TAP interface of this host: frames sent on the TAP go to the\n"
		"backend through Xen's netif protocol, frames from the backend come out of it.\n\n"
		"  -D, --domid N        the frontend's (guest's) domain (required)\n"
		"  -H, --handle N       the device's handle (default 0)\n"
		"  -i, --ifname NAME    the TAP interface's name (default eth%%d: the\n"
		"                       first free ethN)\n"
		"  -b, --broker ADDRESS the transport's address (POSIX: the broker's socket;\n"
		"                       default $SPLITDRV_BROKER, then\n"
		"                       /run/splitdrv/broker.sock)\n"
		"  -s, --store PATH     the store's socket (default: the transport's store\n"
		"                       address, else as libxenstore finds it)\n"
		"  -v, --verbose        log more (every state change)\n"
		"  -h, --help           show this help and exit\n"
		"  -V, --version        show the version and exit\n\n"
		"Needs CAP_NET_ADMIN for the TAP. Logs go to standard error. The TAP has a\n"
		"carrier only while the backend is connected; when the backend's domain dies\n"
		"the link goes down and the daemon waits for a backend to come back. SIGTERM\n"
		"or SIGINT close the device orderly (waiting up to 5 s for the backend),\n"
		"remove the TAP and exit 0. Exit status 1: an error (the device broke, the\n"
		"TAP could not be made); 2: bad usage.\n");
}

/* ------------------------------------------------------------------------ */
/* The TAP */

static int tap_open(const char *name, char actual[IFNAMSIZ])
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC),
	    hdr = (int)sizeof(struct virtio_net_hdr);

	if (fd < 0) {
		say(LOG_ERR, "cannot open /dev/net/tun: %s", strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		say(LOG_ERR, "cannot make the TAP interface %s: %s", name, strerror(errno));
		close(fd);
		return -1;
	}
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		say(LOG_ERR, "%s: cannot set the virtio-net header size: %s", ifr.ifr_name,
		    strerror(errno));
		close(fd);
		return -1;
	}
	snprintf(actual, IFNAMSIZ, "%s", ifr.ifr_name);
	return fd;
}

/*
 * The TAP's carrier follows the link to the backend, as Linux netfront's
 * does (netif_carrier_off() until connected): without a backend the
 * interface shows NO-CARRIER, its routes are marked linkdown and what the
 * stack sends is dropped at once instead of queueing for a reader that is
 * not there. TUNSETCARRIER is Linux 5.0's; on an older kernel the carrier
 * stays on.
 */
static void tap_carrier(struct relay *r, bool on)
{
	int v = on;

	if (ioctl(r->tap, TUNSETCARRIER, &v) < 0)
		say(LOG_DEBUG, "%s: cannot set the carrier %s: %s", r->ifname, on ? "on" : "off",
		    strerror(errno));
}

/* At connect: the device's MAC, MTU and offloads; then up. */
static int tap_configure(struct relay *r)
{
	uint32_t feat = sdrv_netfront_features(r->nf);
	unsigned int off = TUN_F_CSUM;
	struct ifreq ifr;
	uint8_t mac[6];
	int s, rc = -1;

	if ((feat & SDRV_NETFRONT_F_SG) && (feat & SDRV_NETFRONT_F_GSO_TCPV4))
		off |= TUN_F_TSO4;
	if ((feat & SDRV_NETFRONT_F_SG) && (feat & SDRV_NETFRONT_F_GSO_TCPV6))
		off |= TUN_F_TSO6;
	if (ioctl(r->tap, TUNSETOFFLOAD, off) < 0) {
		say(LOG_ERR, "%s: cannot set the offloads: %s", r->ifname, strerror(errno));
		return -1;
	}
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		say(LOG_ERR, "socket: %s", strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", r->ifname);
	if (sdrv_netfront_mac(r->nf, mac) == 0) {
		ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
		memcpy(ifr.ifr_hwaddr.sa_data, mac, 6);
		if (ioctl(s, SIOCSIFHWADDR, &ifr) < 0) {
			say(LOG_ERR, "%s: cannot set the MAC address: %s", r->ifname,
			    strerror(errno));
			goto out;
		}
	}
	ifr.ifr_mtu = (int)sdrv_netfront_mtu(r->nf);
	if (ifr.ifr_mtu > 1500)
		ifr.ifr_mtu = 1500;
	if (ioctl(s, SIOCSIFMTU, &ifr) < 0) {
		say(LOG_ERR, "%s: cannot set the MTU: %s", r->ifname, strerror(errno));
		goto out;
	}
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
		say(LOG_ERR, "%s: cannot read the flags: %s", r->ifname, strerror(errno));
		goto out;
	}
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) {
		say(LOG_ERR, "%s: cannot bring it up: %s", r->ifname, strerror(errno));
		goto out;
	}
	say(LOG_DEBUG, "%s: offloads csum%s%s", r->ifname, (off & TUN_F_TSO4) ? " tso4" : "",
	    (off & TUN_F_TSO6) ? " tso6" : "");
	rc = 0;
out:
	close(s);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* The relay */

static void on_link(void *ctx, bool up)
{
	struct relay *r = ctx;

	if (up) {
		if (tap_configure(r) == 0)
			r->configured = true;
		tap_carrier(r, true);
		say(LOG_NOTICE, "%s connected to backend domain %u", r->ifname,
		    sdrv_netfront_backend(r->nf));
	} else {
		tap_carrier(r, false);
		say(LOG_NOTICE, "%s disconnected from backend domain %u", r->ifname,
		    sdrv_netfront_backend(r->nf));
	}
}

/* Bytes of a received frame copied before its headers are read: the
 * buffers stay the backend's to write (TCP/IPv6 headers with options fit). */
#define RX_HEAD 256u

/*
 * A frame from the backend, in place in the receive buffers: to the TAP
 * with its virtio-net header. The headers are copied first and the offload
 * worked out on the copy, which is what the TAP gets; the rest goes from
 * the buffers as it is (the backend could change the payload anyway).
 */
static void on_rxv(void *ctx, const struct iovec *in, unsigned int nin, size_t len,
		   const struct sdrv_netfront_offload *off)
{
	struct relay *r = ctx;
	struct virtio_net_hdr h;
	struct iovec iov[2 + SDRV_NETIF_RX_MAX_FRAGS];
	unsigned char head[RX_HEAD];
	size_t hl = len < RX_HEAD ? len : RX_HEAD, got = 0;
	unsigned int n = 2;
	struct sdrv_netif_l4 l4;
	bool have_l4 = false;

	/* the head, then the rest of the pieces after it */
	for (unsigned int i = 0; i < nin; i++) {
		size_t take = 0;

		if (got < hl) {
			take = in[i].iov_len < hl - got ? in[i].iov_len : hl - got;
			memcpy(head + got, in[i].iov_base, take);
			got += take;
		}
		if (take < in[i].iov_len) {
			iov[n].iov_base = (unsigned char *)in[i].iov_base + take;
			iov[n].iov_len = in[i].iov_len - take;
			n++;
		}
	}
	memset(&h, 0, sizeof(h));
	if ((off->flags & SDRV_NETFRONT_CSUM_BLANK) || off->gso_type) {
		have_l4 = sdrv_netif_parse_l4(head, hl, &l4) == 0;
		if (!have_l4) {
			/* As Linux netfront's checksum_setup(): a packet whose
			 * checksum cannot be completed is dropped. */
			r->rx_drops++;
			say(LOG_DEBUG, "%s: dropped a received frame without a TCP/UDP header",
			    r->ifname);
			return;
		}
	}
	if (off->flags & SDRV_NETFRONT_CSUM_BLANK) {
		h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		h.csum_start = l4.csum_start;
		h.csum_offset = l4.csum_offset;
	} else if (off->flags & SDRV_NETFRONT_DATA_VALIDATED) {
		h.flags = VIRTIO_NET_HDR_F_DATA_VALID;
	}
	if (off->gso_type == SDRV_NETIF_GSO_TYPE_TCPV4 ||
	    off->gso_type == SDRV_NETIF_GSO_TYPE_TCPV6) {
		h.gso_type = off->gso_type == SDRV_NETIF_GSO_TYPE_TCPV4 ? VIRTIO_NET_HDR_GSO_TCPV4
									: VIRTIO_NET_HDR_GSO_TCPV6;
		h.gso_size = off->gso_size;
		h.hdr_len = l4.hdr_len;
	}
	iov[0].iov_base = &h;
	iov[0].iov_len = sizeof(h);
	iov[1].iov_base = head;
	iov[1].iov_len = hl;
	if (writev(r->tap, iov, (int)n) < 0) {
		r->rx_drops++;
		say(LOG_DEBUG, "%s: writing a frame: %s", r->ifname, strerror(errno));
	}
}

/* Offloads of a frame from the TAP: 0, or -1 for a kind the ring cannot carry. */
static int tap_offload(const struct virtio_net_hdr *h, struct sdrv_netfront_offload *off)
{
	memset(off, 0, sizeof(*off));
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
		off->flags |= SDRV_NETFRONT_CSUM_BLANK;
	if (h->flags & VIRTIO_NET_HDR_F_DATA_VALID)
		off->flags |= SDRV_NETFRONT_DATA_VALIDATED;
	switch (h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return 0;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		off->gso_type = SDRV_NETIF_GSO_TYPE_TCPV4;
		off->gso_size = h->gso_size;
		return 0;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		off->gso_type = SDRV_NETIF_GSO_TYPE_TCPV6;
		off->gso_size = h->gso_size;
		return 0;
	default:
		return -1;
	}
}

/*
 * Frames from the TAP to the device, read straight into the granted
 * transmit pages (sdrv_netfront_tx_buffers()): no copy on the way. A frame
 * is read only when there is room for the largest one, so none is ever
 * held; without room the TAP is left alone until the device is writable.
 * 0, or -1 if the device is broken.
 */
static int pump_tap(struct relay *r)
{
	struct virtio_net_hdr h;
	int sent = 0;

	r->want_room = false;
	for (int n = 0; n < TAP_BATCH; n++) {
		struct iovec iov[1 + TX_IOV];
		struct sdrv_netfront_offload off;
		ssize_t got;
		size_t len;
		int nb, rc;

		nb = sdrv_netfront_tx_buffers(r->nf, iov + 1, TX_IOV);
		if (nb == -EAGAIN) {
			r->want_room = true;
			break;
		}
		if (nb < 0)
			return nb == -EIO || nb == -ENODEV ? -1 : 0;
		iov[0].iov_base = &h;
		iov[0].iov_len = sizeof(h);
		got = readv(r->tap, iov, 1 + nb);
		if (got < 0) {
			if (errno != EAGAIN && errno != EINTR)
				say(LOG_ERR, "%s: read: %s", r->ifname, strerror(errno));
			break;
		}
		len = (size_t)got > sizeof(h) ? (size_t)got - sizeof(h) : 0;
		if (len < SDRV_NETFRONT_MIN_FRAME || len > SDRV_NETFRONT_MAX_FRAME ||
		    tap_offload(&h, &off) < 0) {
			r->tap_drops++;
			continue;
		}
		off.flags |= SDRV_NETFRONT_MORE;
		rc = sdrv_netfront_send_buffers(r->nf, len, &off);
		if (rc == 0) {
			sent++;
			continue;
		}
		if (rc == -EIO || rc == -ENODEV)
			return -1;
		/* -ENOTCONN (the link went down), a frame the device does not
		 * take (larger than one page without feature-sg, a GSO kind
		 * the backend does not offer): dropped. */
		r->tap_drops++;
		say(LOG_DEBUG, "%s: dropped a frame of %zu bytes: %s", r->ifname, len,
		    strerror(-rc));
		if (rc == -ENOTCONN)
			break;
	}
	if (sent)
		(void)sdrv_netfront_flush(r->nf);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"broker", required_argument, NULL, 'b'},
	    {"domid", required_argument, NULL, 'D'},
	    {"handle", required_argument, NULL, 'H'},
	    {"ifname", required_argument, NULL, 'i'},
	    {"store", required_argument, NULL, 's'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct sdrv_xport_opts xo = {.sz = sizeof(xo)};
	struct sdrv_netfront_opts no = {.sz = sizeof(no)};
	const char *store = NULL, *ifname = "eth%d";
	struct relay r;
	struct sdrv_xport *x;
	struct sdrv_xs *xs;
	uint32_t v, handle = 0;
	bool have_domid = false;
	int c, rc = 0;

	drv_prog = "splitdrv-netfront";
	memset(&r, 0, sizeof(r));
	r.tap = -1;
	while ((c = getopt_long(argc, argv, "b:D:H:i:s:vhV", lo, NULL)) != -1) {
		switch (c) {
		case 'b':
			xo.address = optarg;
			break;
		case 'D':
			if (drv_parse_num(optarg, 0x7fef, &v) < 0 || v == 0)
				goto bad;
			xo.domid = (sdrv_domid_t)v;
			have_domid = true;
			break;
		case 'H':
			if (drv_parse_num(optarg, 0xffff, &handle) < 0)
				goto bad;
			break;
		case 'i':
			if (!optarg[0] || strlen(optarg) >= IFNAMSIZ || strchr(optarg, '/') ||
			    strchr(optarg, ' '))
				goto bad;
			ifname = optarg;
			break;
		case 's':
			store = optarg;
			break;
		case 'v':
			drv_verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			drv_print_version();
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (drv_no_more_args(argc, argv, usage))
		return 2;
	if (!have_domid) {
		fprintf(stderr, "splitdrv-netfront: -D DOMID is required\n");
		usage(stderr);
		return 2;
	}
	drv_signals(false);

	/* A guest: not privileged; it shares the rings and its data pools. */
	xo.grant_pages = 1024;
	if (drv_join(&xo, store, &x, &xs) < 0)
		return 1;
	r.tap = tap_open(ifname, r.ifname);
	if (r.tap < 0) {
		sdrv_xs_close(xs);
		sdrv_xport_close(x);
		return 1;
	}
	tap_carrier(&r, false); /* until the backend is connected */
	no.xport = x;
	no.xs = xs;
	no.handle = handle;
	no.rxv = on_rxv;
	no.link = on_link;
	no.ctx = &r;
	no.log = log_lib;
	r.nf = sdrv_netfront_new(&no);
	if (!r.nf) {
		fprintf(stderr, "splitdrv-netfront: cannot start vif %u of domain %u: %s\n", handle,
			xo.domid, strerror(errno));
		close(r.tap);
		sdrv_xs_close(xs);
		sdrv_xport_close(x);
		return 1;
	}
	say(LOG_INFO, "%s: the frontend of vif %u of domain %u", r.ifname, handle, xo.domid);
	while (!drv_stop_signal) {
		struct pollfd pfd[2] = {{.fd = sdrv_netfront_fd(r.nf), .events = POLLIN},
					{.fd = r.tap, .events = POLLIN}};
		bool tap_on =
		    sdrv_netfront_connected(r.nf) && (!r.want_room || sdrv_netfront_writable(r.nf));

		if (poll(pfd, tap_on ? 2 : 1, 1000) < 0 && errno != EINTR) {
			say(LOG_ERR, "poll: %s", strerror(errno));
			rc = -errno;
			break;
		}
		if ((rc = sdrv_netfront_process(r.nf)) < 0)
			break;
		if (sdrv_netfront_connected(r.nf) &&
		    (r.want_room ? sdrv_netfront_writable(r.nf)
				 : tap_on && (pfd[1].revents & POLLIN))) {
			if (pump_tap(&r) < 0) {
				rc = -EIO;
				break;
			}
		}
	}
	if (drv_stop_signal) {
		say(LOG_INFO, "%s, closing the device", strsignal(drv_stop_signal));
		rc = 0;
	} else if (rc == -ENODEV) {
		say(LOG_INFO, "the device was removed");
		rc = 0;
	} else if (sdrv_netfront_broken(r.nf)) {
		say(LOG_ERR, "the device broke: %s", sdrv_netfront_broken(r.nf));
	}
	if (r.tap_drops || r.rx_drops)
		say(LOG_INFO, "%s: %llu frames from the TAP and %llu to it dropped", r.ifname,
		    (unsigned long long)r.tap_drops, (unsigned long long)r.rx_drops);
	sdrv_netfront_free(r.nf, 5000);
	close(r.tap); /* a TAP that is not persistent goes with its descriptor */
	sdrv_xs_close(xs);
	sdrv_xport_close(x);
	return rc < 0 ? 1 : 0;
bad:
	fprintf(stderr, "splitdrv-netfront: bad value for -%c: %s\n", c, optarg);
	usage(stderr);
	return 2;
}
