/* SPDX-License-Identifier: MIT */
/*
 * netback across real processes, in a network namespace of its own: the
 * broker and the store (one process, as splitdrvd --run-store runs them),
 * the devices written as libxl writes them, netback (the library, in a
 * child process that reports its interface list through shared memory)
 * with real TAP interfaces, and raw netif frontends in their own processes
 * (real rings, grants and event channels, but any bytes the test wants in
 * the ring). The test sees the TAPs' side through a packet socket bound to
 * each vif: what the guest sent arrives there; what the test sends there
 * goes to the guest.
 *
 * (The toolstack's part is done here with the library; the real daemons,
 * the toolstack and netfront are exercised by tests/e2e/net.sh.)
 *
 *   basic      handshake keys; a frame of one slot and one of three arrive
 *              on the vif byte for byte; frames sent to the vif arrive in
 *              the guest's buffers (one of two pages with MORE_DATA)
 *   spoof      a foreign source MAC, a foreign IPv4 source, a foreign ARP
 *              sender: answered OKAY, never on the vif, counted by kind
 *   hostile    a runt, an ungranted page, a slot larger than its packet, a
 *              checksum offload on a frame that has no TCP/UDP header, 20
 *              data slots: each answered with an error, the interface stays
 *              up; an empty slot (XSA-448) and a header split over slots
 *              pass whole; 100,000 notifications with nothing to do cost a
 *              bounded amount of CPU; then a GSO extra of size 0 (fatal, as
 *              Linux): disabled with a reason, backend Closed, other
 *              interfaces carry on
 *   index      a req_prod 1000 ahead: the interface closes with a reason
 *   no-buffers a guest that posts no buffers while 3000 frames are sent to
 *              its vif: netback's memory does not grow; then it posts
 *              buffers and frames flow again
 *   revive     a frontend that died comes back on the same device and
 *              connects again
 *   bad keys   a frontend's keys that are garbage or refused (ring refs
 *              that are no number, too big or no grant; event channels
 *              that are no number or no port; two queues or "-1"; no
 *              rx-copy or rx-notify; feature and request flags that are
 *              no number or too big): no connection, each; then a good
 *              frontend of the same domain connects and sends; toolstack
 *              keys that are garbage (mac: disabled with a reason; rate,
 *              log, ip: the safe reading)
 *   multicast  a frontend with request-multicast-control gets multicast
 *              frames only for the addresses it added (broadcast and
 *              unicast always; the others dropped and counted); 64
 *              addresses fit, the 65th is an error; removing one stops its
 *              frames; a frontend without the key (basic) gets them all
 *   shutdown   sdrv_netback_free() closes every device; no vif is left
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <splitdrv/netback.h>
#include <splitdrv/proto/netif.h>
#include <splitdrv/ring.h>

#include "../common/thv.h"
#include "../common/tutil.h"

#define PAGE  4096u
#define NVIFS 8
#define BE    0
#define NPAGE 64 /* data pages per frontend: 0..31 transmit, 32..63 receive */

struct shared {
	_Atomic int stop, ready;
	_Atomic int lock;
	_Atomic uint32_t nvifs;
	struct sdrv_netback_vif_info vifs[NVIFS];
	char broken[NVIFS][160];
};

static struct shared *sh;
static char tmp[64], broker[128], store[128];
static pid_t hv_pid, nb_pid;
static int failures;

#define CHECK(c, ...)                                                                              \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "FAIL %s:%d: %s: ", __func__, __LINE__, #c);               \
			fprintf(stderr, __VA_ARGS__);                                              \
			fprintf(stderr, "\n");                                                     \
			return 1;                                                                  \
		}                                                                                  \
	} while (0)

static uint64_t ms_now(void)
{
	return tu_now_ns() / 1000000u;
}

/* ------------------------ broker, store, netback ------------------------ */

static struct sdrv_xs *xs_open(void)
{
	struct sdrv_xs_opts so = {.sz = sizeof(so), .timeout_ms = 20000};

	return sdrv_xs_open(store, &so);
}

static void start_hypervisor(void)
{
	if ((hv_pid = tu_hv_start(broker, store, 0)) < 0) {
		fprintf(stderr, "FAIL: the broker and store did not start\n");
		exit(1);
	}
}

/* The toolstack's part, as libxl writes a vif: both directories, the MAC
 * in both, the backend's policy keys in the backend's. */
static void add_vif(sdrv_domid_t fe, const char *ip)
{
	struct sdrv_xenbus_dev dev = {.sz = sizeof(dev), .type = "vif", .fe = fe, .be = BE};
	struct sdrv_xs *xs = xs_open();
	char be[128], fd[128], name[64], mac[32];

	snprintf(be, sizeof(be), "/local/domain/%u/backend/vif/%u/0", BE, fe);
	snprintf(fd, sizeof(fd), "/local/domain/%u/device/vif/0", fe);
	snprintf(name, sizeof(name), "/local/domain/%u/name", fe);
	snprintf(mac, sizeof(mac), "00:16:3e:00:00:%02x", fe);
	if (!xs || sdrv_xs_write_str(xs, 0, name, "guest") < 0 ||
	    sdrv_xenbus_dev_create(xs, &dev) < 0 ||
	    sdrv_xenbus_write_str(xs, 0, fd, "mac", mac) < 0 ||
	    sdrv_xenbus_write_str(xs, 0, be, "mac", mac) < 0 ||
	    sdrv_xenbus_write_uint(xs, 0, be, "handle", 0) < 0 ||
	    (ip && sdrv_xenbus_write_str(xs, 0, be, "ip", ip) < 0)) {
		fprintf(stderr, "FAIL: cannot create the vif of domain %u\n", fe);
		exit(1);
	}
	sdrv_xs_close(xs);
}

static void nb_log(void *ctx, int level, const char *msg)
{
	(void)ctx;
	if (level <= LOG_NOTICE || getenv("SDRV_TEST_VERBOSE"))
		fprintf(stderr, "netback: %s\n", msg);
}

static void publish_list(struct sdrv_netback *b)
{
	struct sdrv_netback_vif_info v[NVIFS];
	uint32_t n = sdrv_netback_list(b, v, NVIFS);

	atomic_fetch_add(&sh->lock, 1);
	for (uint32_t i = 0; i < n && i < NVIFS; i++) {
		sh->vifs[i] = v[i];
		snprintf(sh->broken[i], sizeof(sh->broken[i]), "%s",
			 v[i].broken ? v[i].broken : "");
		sh->vifs[i].broken = NULL;
	}
	atomic_store(&sh->nvifs, n);
	atomic_fetch_add(&sh->lock, 1);
}

static int netback_main(void)
{
	struct sdrv_xport_opts xo = {.sz = sizeof(xo),
				     .address = broker,
				     .domid = BE,
				     .flags = SDRV_XPORT_PRIVILEGED,
				     .grant_pages = 16};
	struct sdrv_netback_opts no = {.sz = sizeof(no), .log = nb_log};
	struct sdrv_xport *x;
	struct sdrv_xs *xs;
	struct sdrv_netback *b;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (!(x = sdrv_xport_open("posix", &xo)) || !(xs = xs_open())) {
		fprintf(stderr, "netback: cannot join: %s\n", strerror(errno));
		return 1;
	}
	no.xport = x;
	no.xs = xs;
	if (!(b = sdrv_netback_new(&no))) {
		fprintf(stderr, "netback: sdrv_netback_new: %s\n", strerror(errno));
		return 1;
	}
	atomic_store(&sh->ready, 1);
	while (!atomic_load(&sh->stop)) {
		struct pollfd pfd = {.fd = sdrv_netback_fd(b), .events = POLLIN};
		int t = sdrv_netback_timeout(b), r;

		poll(&pfd, 1, t < 0 || t > 20 ? 20 : t);
		if ((r = sdrv_netback_process(b)) < 0) {
			fprintf(stderr, "netback: process: %s\n", strerror(-r));
			return 1;
		}
		publish_list(b);
	}
	sdrv_netback_free(b, 3000);
	sdrv_xs_close(xs);
	sdrv_xport_close(x);
	return 0;
}

/* Interface `fe`'s entry as netback last published it: 0, or -1 if none. */
static int vif_info(sdrv_domid_t fe, struct sdrv_netback_vif_info *out, char *broken)
{
	for (int tries = 0; tries < 100; tries++) {
		int l0 = atomic_load(&sh->lock), found = -1;
		uint32_t n = atomic_load(&sh->nvifs);

		if (l0 & 1)
			continue;
		for (uint32_t i = 0; i < n && i < NVIFS; i++)
			if (sh->vifs[i].frontend == fe) {
				*out = sh->vifs[i];
				if (broken)
					memcpy(broken, sh->broken[i], 160);
				found = 0;
			}
		if (atomic_load(&sh->lock) == l0)
			return found;
	}
	return -1;
}

/* Wait until the counter at byte `off` of fe's info reaches `want`. */
static int wait_counter(sdrv_domid_t fe, size_t off, uint64_t want, int ms)
{
	uint64_t end = ms_now() + (uint64_t)ms;
	struct sdrv_netback_vif_info v;

	do {
		uint64_t c;

		if (vif_info(fe, &v, NULL) == 0) {
			memcpy(&c, (char *)&v + off, sizeof(c));
			if (c >= want)
				return 0;
		}
		usleep(5000);
	} while (ms_now() < end);
	return -1;
}
#define COUNTER(fe, field, want, ms)                                                               \
	wait_counter(fe, offsetof(struct sdrv_netback_vif_info, field), want, ms)

/* Wait until netback reports interface `fe` disabled: 0 with the reason. */
static int wait_broken(sdrv_domid_t fe, char *why, int ms)
{
	uint64_t end = ms_now() + (uint64_t)ms;
	struct sdrv_netback_vif_info v;

	do {
		if (vif_info(fe, &v, why) == 0 && why[0])
			return 0;
		usleep(5000);
	} while (ms_now() < end);
	return -1;
}

/* ------------------------- a raw netif frontend ------------------------- */

struct nf {
	sdrv_domid_t dom;
	struct sdrv_xport *x;
	struct sdrv_xs *xs;
	struct sdrv_xenbus_front *xf;
	void *txr, *rxr;
	sdrv_grant_ref_t txref, rxref;
	struct sdrv_ring tx, rx;
	sdrv_evtchn_port_t port;
	bool have, connected;
	uint8_t *data;
	sdrv_grant_ref_t drefs[NPAGE];
	int ps; /* the packet socket on vif<dom>.0 */
	/* a key the frontend writes last, over what it wrote (a hostile one) */
	const char *bad_key, *bad_val;
	bool published; /* its keys are written (the backend saw us) */
	bool mcast;	/* publish request-multicast-control */
};

static int nf_publish(struct sdrv_xenbus_front *xf, uint32_t tx, void *ctx)
{
	struct nf *f = ctx;
	const char *dir = sdrv_xenbus_front_dir(xf);
	int r;

	if (!f->have) {
		if (!(f->txr = sdrv_gnt_share(f->x, BE, 1, true, &f->txref)) ||
		    !(f->rxr = sdrv_gnt_share(f->x, BE, 1, true, &f->rxref)))
			return -errno;
		sdrv_ring_front_init(&f->tx, f->txr, PAGE, SDRV_NETIF_TX_ENTRY_SIZE);
		sdrv_ring_front_init(&f->rx, f->rxr, PAGE, SDRV_NETIF_RX_ENTRY_SIZE);
		if ((r = sdrv_evtchn_alloc_unbound(f->x, BE, &f->port)) < 0)
			return r;
		f->have = true;
	}
#define W(k, v)                                                                                    \
	do {                                                                                       \
		if ((r = sdrv_xenbus_write_uint(f->xs, tx, dir, k, v)) < 0)                        \
			return r;                                                                  \
	} while (0)
	W("tx-ring-ref", f->txref);
	W("rx-ring-ref", f->rxref);
	W("event-channel", f->port);
	W("request-rx-copy", 1);
	W("feature-rx-notify", 1);
	W("feature-sg", 1);
	W("feature-gso-tcpv4", 1);
	if (f->mcast)
		W("request-multicast-control", 1);
#undef W
	/* a frontend that writes garbage in one of its keys */
	if (f->bad_key && (r = sdrv_xenbus_write_str(f->xs, tx, dir, f->bad_key, f->bad_val)) < 0)
		return r;
	f->published = true;
	return 0;
}

static int nf_connect(struct sdrv_xenbus_front *xf, void *ctx)
{
	(void)xf;
	((struct nf *)ctx)->connected = true;
	return 0;
}

static void nf_disconnect(struct sdrv_xenbus_front *xf, void *ctx)
{
	(void)xf;
	((struct nf *)ctx)->connected = false;
}

static void nf_poll(struct nf *f, int ms)
{
	struct pollfd pfd[2] = {{.fd = sdrv_xs_fd(f->xs), .events = POLLIN},
				{.fd = sdrv_xport_fd(f->x), .events = POLLIN}};
	struct sdrv_xport_event ev[8];
	sdrv_evtchn_port_t p;

	poll(pfd, 2, ms);
	sdrv_xs_process(f->xs);
	sdrv_xport_process(f->x, ev, 8);
	while (sdrv_evtchn_pending(f->x, &p) == 1)
		sdrv_evtchn_unmask(f->x, p);
}

static enum sdrv_xenbus_state back_state(struct nf *f)
{
	char path[SDRV_XENBUS_PATH_MAX], *v;
	size_t len;
	enum sdrv_xenbus_state s;

	snprintf(path, sizeof(path), "/local/domain/%u/backend/vif/%u/0/state", BE, f->dom);
	if (sdrv_xs_read(f->xs, 0, path, &v, &len) < 0)
		return SDRV_XENBUS_UNKNOWN;
	s = sdrv_xenbus_state_parse(v, len);
	free(v);
	return s;
}

/* Join as domain `dom`, connect, and open a packet socket on its vif. */
/* Start a raw frontend of domain `dom` (its handshake runs as it is
 * polled): `mcast` with request-multicast-control, `bad_key` (if not NULL)
 * set to `bad_val` over what it writes. 0 or -1. */
static int nf_start(struct nf *f, sdrv_domid_t dom, bool mcast, const char *bad_key,
		    const char *bad_val)
{
	struct sdrv_xport_opts xo = {.sz = sizeof(xo), .address = broker, .domid = dom};
	struct sdrv_xenbus_front_opts fo = {.sz = sizeof(fo)};

	memset(f, 0, sizeof(*f));
	f->dom = dom;
	f->ps = -1;
	f->mcast = mcast;
	f->bad_key = bad_key;
	f->bad_val = bad_val;
	xo.grant_pages = NPAGE + 16;
	if (!(f->x = sdrv_xport_open("posix", &xo)) || !(f->xs = xs_open()))
		return -1;
	if (!(f->data = sdrv_gnt_share(f->x, BE, NPAGE, true, f->drefs)))
		return -1;
	fo.xs = f->xs;
	fo.domid = dom;
	fo.type = "vif";
	fo.id = 0;
	fo.publish = nf_publish;
	fo.connect = nf_connect;
	fo.disconnect = nf_disconnect;
	fo.ctx = f;
	return (f->xf = sdrv_xenbus_front_new(&fo)) ? 0 : -1;
}

/* Start one and wait until it is connected, with a packet socket on its
 * vif. 0 or -1. */
static int nf_open_mc(struct nf *f, sdrv_domid_t dom, bool mcast)
{
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL)};
	char ifname[16];
	uint64_t end;

	if (nf_start(f, dom, mcast, NULL, NULL) < 0)
		return -1;
	end = ms_now() + 20000;
	while (!f->connected && ms_now() < end)
		nf_poll(f, 10);
	if (!f->connected)
		return -1;
	snprintf(ifname, sizeof(ifname), "vif%u.0", dom);
	/* netback makes the TAP when it connects, before it goes Connected */
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	f->ps = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (!sll.sll_ifindex || f->ps < 0 || bind(f->ps, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		return -1;
	return 0;
}

static int nf_open(struct nf *f, sdrv_domid_t dom)
{
	return nf_open_mc(f, dom, false);
}

static void nf_close(struct nf *f)
{
	if (f->xf) {
		sdrv_xenbus_front_close(f->xf, 3000);
		sdrv_xenbus_front_free(f->xf);
	}
	if (f->ps >= 0)
		close(f->ps);
	sdrv_xs_close(f->xs);
	sdrv_xport_close(f->x);
}

/* Put raw tx slots into the ring, push, notify. */
static void nf_tx_raw(struct nf *f, const struct sdrv_netif_tx_request *slots, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		memcpy(sdrv_ring_front_next_req(&f->tx), &slots[i], sizeof(slots[i]));
	if (sdrv_ring_front_push(&f->tx))
		sdrv_evtchn_notify(f->x, f->port);
}

/* Wait for a tx response: 1, 0 on timeout, -1 if the ring broke. */
static int nf_tx_rsp(struct nf *f, struct sdrv_netif_tx_response *rsp, int ms)
{
	uint8_t slot[SDRV_NETIF_TX_ENTRY_SIZE];
	uint64_t end = ms_now() + (uint64_t)ms;

	for (;;) {
		int32_t n = sdrv_ring_front_take_rsp(&f->tx, slot);

		if (n < 0)
			return -1;
		if (n == 1) {
			memcpy(rsp, slot, sizeof(*rsp));
			return 1;
		}
		if (sdrv_ring_front_final_check(&f->tx) > 0)
			continue;
		if (ms_now() >= end)
			return 0;
		nf_poll(f, 5);
	}
}

/* The frame `len` bytes at data page `page` onwards, sent in slots of at
 * most `chunk` bytes; returns the status of its first response. */
static int nf_send(struct nf *f, uint32_t page, uint32_t len, uint32_t chunk, uint16_t flags)
{
	struct sdrv_netif_tx_request s[20];
	struct sdrv_netif_tx_response r;
	unsigned n = 0;
	int status = 1000;

	for (uint32_t off = 0; off < len; off += chunk, n++) {
		uint32_t sz = len - off < chunk ? len - off : chunk;

		s[n] = (struct sdrv_netif_tx_request){
		    .gref = f->drefs[page + n], .id = (uint16_t)(100 + n), .size = (uint16_t)sz};
		if (n)
			s[n - 1].flags |= SDRV_NETTXF_MORE_DATA;
	}
	s[0].size = (uint16_t)len;
	s[0].flags |= flags;
	nf_tx_raw(f, s, n);
	for (unsigned i = 0; i < n; i++) {
		if (nf_tx_rsp(f, &r, 10000) != 1)
			return -1000;
		if (r.id != 100 + i)
			return -1001;
		if (i == 0)
			status = r.status;
	}
	return status;
}

/* Copy a frame into data pages [page, ...), chunk bytes per page. */
static void put_frame(struct nf *f, uint32_t page, const uint8_t *fr, uint32_t len, uint32_t chunk)
{
	for (uint32_t off = 0, i = 0; off < len; off += chunk, i++)
		memcpy(f->data + (size_t)(page + i) * PAGE, fr + off,
		       len - off < chunk ? len - off : chunk);
}

/* Wait for a frame on the vif (from the guest): its length, or -1. */
static int vif_recv(struct nf *f, uint8_t *buf, size_t size, int ms)
{
	uint64_t end = ms_now() + (uint64_t)ms;

	for (;;) {
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		struct pollfd pfd = {.fd = f->ps, .events = POLLIN};
		ssize_t n = recvfrom(f->ps, buf, size, 0, (struct sockaddr *)&from, &fl);

		if (n >= 0 && from.sll_pkttype != PACKET_OUTGOING)
			return (int)n;
		if (n >= 0)
			continue;
		if (ms_now() >= end)
			return -1;
		poll(&pfd, 1, 10);
	}
}

static uint8_t frame[65536], got[65536];

/* An IPv4/UDP frame from the guest's MAC and `src`, `len` bytes, payload
 * a pattern of `seed`. */
static void make_frame(sdrv_domid_t dom, const char *src, uint32_t len, unsigned seed)
{
	memcpy(frame, "\x00\x16\x3e\x00\x00\xee\x00\x16\x3e\x00\x00", 11);
	frame[11] = (uint8_t)dom;
	frame[12] = 0x08;
	frame[13] = 0x00;
	memset(frame + 14, 0, 28);
	frame[14] = 0x45;
	frame[16] = (uint8_t)((len - 14) >> 8);
	frame[17] = (uint8_t)(len - 14);
	frame[22] = 64;
	frame[23] = 17;
	inet_pton(AF_INET, src, frame + 26);
	inet_pton(AF_INET, "10.77.0.200", frame + 30);
	frame[34] = 0x30;
	frame[35] = 0x39;
	frame[36] = 0x30;
	frame[37] = 0x39;
	frame[38] = (uint8_t)((len - 34) >> 8);
	frame[39] = (uint8_t)(len - 34);
	for (uint32_t i = 42; i < len; i++)
		frame[i] = (uint8_t)(i * 7 + seed);
}

/* Send `frame` (len) on the vif, to the guest. */
static int vif_send(struct nf *f, uint32_t len)
{
	return send(f->ps, frame, len, 0) == (ssize_t)len ? 0 : -1;
}

/* Post rx buffers on data pages [32, 32 + n) with ids 0..n-1. */
static void nf_post(struct nf *f, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct sdrv_netif_rx_request q = {.id = (uint16_t)i, .gref = f->drefs[32 + i]};

		sdrv_netif_rx_encode_req(&q, sdrv_ring_front_next_req(&f->rx),
					 SDRV_NETIF_RX_ENTRY_SIZE);
	}
	if (sdrv_ring_front_push(&f->rx))
		sdrv_evtchn_notify(f->x, f->port);
}

/* Wait for one received packet: decoded into pkt, 0; -1 otherwise. The
 * buffers are the posted ones, in order: slot k of the packet is in the
 * page whose id the response carries. */
static int nf_recv(struct nf *f, struct sdrv_netif_rx_pkt *pkt, uint8_t slots[][8], int ms)
{
	uint64_t end = ms_now() + (uint64_t)ms;
	uint32_t n = 0;

	for (;;) {
		int32_t got1 = sdrv_ring_front_take_rsp(&f->rx, slots[n]);
		int r;

		if (got1 < 0)
			return -1;
		if (got1 == 1) {
			n++;
			r = sdrv_netif_rx_decode(slots, n, pkt);
			if (r == 0)
				return 0;
			if (r != -SDRV_EAGAIN || n == 25)
				return -1;
			continue;
		}
		if (sdrv_ring_front_final_check(&f->rx) > 0)
			continue;
		if (ms_now() >= end)
			return -1;
		nf_poll(f, 5);
	}
}

/* ------------------------------- the cases ------------------------------ */

static int fe_basic(void)
{
	struct sdrv_netif_rx_pkt pkt;
	uint8_t slots[25][8];
	struct nf f;
	char be[96];
	bool v;
	int n;

	CHECK(nf_open(&f, 1) == 0, "no connection");
	snprintf(be, sizeof(be), "/local/domain/%u/backend/vif/1/0", BE);
	for (const char *const *k =
		 (const char *const[]){"feature-sg", "feature-rx-copy", "feature-gso-tcpv4", NULL};
	     *k; k++)
		CHECK(sdrv_xenbus_read_bool(f.xs, 0, be, *k, false, &v) == 0 && v, "%s", *k);
	CHECK(back_state(&f) == SDRV_XENBUS_CONNECTED, "backend not Connected");

	/* one slot, then three (4000 + 4000 + 1000) */
	make_frame(1, "10.77.0.1", 600, 1);
	put_frame(&f, 0, frame, 600, PAGE);
	CHECK(nf_send(&f, 0, 600, PAGE, 0) == SDRV_NETIF_RSP_OKAY, "one slot");
	n = vif_recv(&f, got, sizeof(got), 5000);
	CHECK(n == 600 && !memcmp(got, frame, 600), "the frame on the vif (%d bytes)", n);
	make_frame(1, "10.77.0.1", 9000, 2);
	put_frame(&f, 0, frame, 9000, 4000);
	CHECK(nf_send(&f, 0, 9000, 4000, 0) == SDRV_NETIF_RSP_OKAY, "three slots");
	n = vif_recv(&f, got, sizeof(got), 5000);
	CHECK(n == 9000 && !memcmp(got, frame, 9000), "the big frame on the vif (%d bytes)", n);
	CHECK(COUNTER(1, tx_packets, 2, 5000) == 0, "tx_packets");

	/* to the guest: one page, then two */
	nf_post(&f, 16);
	make_frame(1, "10.77.0.200", 1000, 3);
	memcpy(frame, "\x00\x16\x3e\x00\x00\x01\x00\x16\x3e\x00\x00\xee", 12);
	CHECK(vif_send(&f, 1000) == 0, "sending to the vif: %s", strerror(errno));
	CHECK(nf_recv(&f, &pkt, slots, 5000) == 0, "no packet");
	CHECK(pkt.size == 1000 && pkt.nr_frags == 1, "size %u frags %u", pkt.size, pkt.nr_frags);
	CHECK(!memcmp(f.data + 32 * PAGE + pkt.frag[0].offset, frame, 1000), "data");
	{
		struct ifreq ifr = {0};
		int s = socket(AF_INET, SOCK_DGRAM, 0);

		snprintf(ifr.ifr_name, IFNAMSIZ, "vif1.0");
		ifr.ifr_mtu = 9000;
		CHECK(ioctl(s, SIOCSIFMTU, &ifr) == 0, "mtu: %s", strerror(errno));
		close(s);
	}
	make_frame(1, "10.77.0.200", 6000, 4);
	memcpy(frame, "\x00\x16\x3e\x00\x00\x01\x00\x16\x3e\x00\x00\xee", 12);
	CHECK(vif_send(&f, 6000) == 0, "sending 6000 bytes to the vif: %s", strerror(errno));
	CHECK(nf_recv(&f, &pkt, slots, 5000) == 0, "no 6000-byte packet");
	CHECK(pkt.size == 6000 && pkt.nr_frags == 2, "size %u frags %u", pkt.size, pkt.nr_frags);
	/* ids 1 and 2 were the buffers it used */
	CHECK(!memcmp(f.data + 33 * PAGE + pkt.frag[0].offset, frame, pkt.frag[0].size) &&
		  !memcmp(f.data + 34 * PAGE + pkt.frag[1].offset, frame + pkt.frag[0].size,
			  pkt.frag[1].size),
	      "data of two pages");
	CHECK(COUNTER(1, rx_packets, 2, 5000) == 0, "rx_packets");
	/* without request-multicast-control every multicast frame comes */
	make_frame(1, "10.77.0.200", 300, 5);
	memcpy(frame, "\x01\x00\x5e\x00\x00\xfb\x00\x16\x3e\x00\x00\xee", 12);
	CHECK(vif_send(&f, 300) == 0, "sending a multicast frame: %s", strerror(errno));
	CHECK(nf_recv(&f, &pkt, slots, 5000) == 0 && pkt.size == 300, "no multicast frame");
	nf_close(&f);
	return 0;
}

static int fe_spoof(void)
{
	struct sdrv_netback_vif_info v0, v1;
	struct nf f;

	CHECK(nf_open(&f, 1) == 0, "no connection");
	CHECK(vif_info(1, &v0, NULL) == 0, "no info");
	/* another source MAC */
	make_frame(1, "10.77.0.1", 100, 5);
	frame[11] = 0x77;
	put_frame(&f, 0, frame, 100, PAGE);
	CHECK(nf_send(&f, 0, 100, PAGE, 0) == SDRV_NETIF_RSP_OKAY, "answered OKAY");
	/* another IPv4 source */
	make_frame(1, "10.77.0.99", 100, 6);
	put_frame(&f, 0, frame, 100, PAGE);
	CHECK(nf_send(&f, 0, 100, PAGE, 0) == SDRV_NETIF_RSP_OKAY, "answered OKAY");
	/* ARP for another sender address */
	memcpy(frame + 12, "\x08\x06\x00\x01\x08\x00\x06\x04\x00\x02", 10);
	memcpy(frame + 22, "\x00\x16\x3e\x00\x00\x01\x0a\x4d\x00\x63", 10);
	put_frame(&f, 0, frame, 60, PAGE);
	CHECK(nf_send(&f, 0, 60, PAGE, 0) == SDRV_NETIF_RSP_OKAY, "answered OKAY");
	CHECK(vif_recv(&f, got, sizeof(got), 300) < 0, "a spoofed frame reached the vif");
	CHECK(COUNTER(1, tx_dropped_spoof, v0.tx_dropped_spoof + 3, 5000) == 0, "not counted");
	CHECK(vif_info(1, &v1, NULL) == 0, "no info");
	CHECK(v1.spoof_mac == v0.spoof_mac + 1 && v1.spoof_ipv4 == v0.spoof_ipv4 + 1 &&
		  v1.spoof_arp == v0.spoof_arp + 1,
	      "by kind: mac %llu ipv4 %llu arp %llu", (unsigned long long)v1.spoof_mac,
	      (unsigned long long)v1.spoof_ipv4, (unsigned long long)v1.spoof_arp);
	/* the guest's own address still works */
	make_frame(1, "10.77.0.1", 100, 7);
	put_frame(&f, 0, frame, 100, PAGE);
	CHECK(nf_send(&f, 0, 100, PAGE, 0) == SDRV_NETIF_RSP_OKAY, "own address");
	CHECK(vif_recv(&f, got, sizeof(got), 5000) == 100, "own address not on the vif");
	nf_close(&f);
	return 0;
}

/* A process's user + system CPU time, in ms. */
static uint64_t cpu_ms(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, stt = 0;
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(fp = fopen(path, "r")))
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = 0;
	/* after the command's closing parenthesis: fields 3.. ; utime is 14 */
	if (!(p = strrchr(buf, ')')) ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &stt) != 2)
		return 0;
	return (ut + stt) * 1000u / (uint64_t)sysconf(_SC_CLK_TCK);
}

static int fe_hostile(void)
{
	struct sdrv_netif_tx_request s[3];
	struct sdrv_netif_tx_response r;
	char why[160];
	struct nf f;
	uint64_t end;

	CHECK(nf_open(&f, 2) == 0, "no connection");
	make_frame(2, "10.77.0.2", 200, 8);
	put_frame(&f, 0, frame, 200, PAGE);
	/* a runt: 10 bytes */
	CHECK(nf_send(&f, 0, 10, PAGE, 0) == SDRV_NETIF_RSP_ERROR, "a runt");
	/* a page never granted */
	s[0] = (struct sdrv_netif_tx_request){.gref = 60000, .id = 1, .size = 200};
	nf_tx_raw(&f, s, 1);
	CHECK(nf_tx_rsp(&f, &r, 5000) == 1 && r.id == 1 && r.status == SDRV_NETIF_RSP_ERROR,
	      "an ungranted page: status %d", r.status);
	/* a second slot larger than what its packet has left */
	s[0] = (struct sdrv_netif_tx_request){
	    .gref = f.drefs[0], .id = 2, .size = 200, .flags = SDRV_NETTXF_MORE_DATA};
	s[1] = (struct sdrv_netif_tx_request){.gref = f.drefs[1], .id = 3, .size = 300};
	nf_tx_raw(&f, s, 2);
	CHECK(nf_tx_rsp(&f, &r, 5000) == 1 && r.id == 2 && r.status == SDRV_NETIF_RSP_ERROR,
	      "slot size: status %d", r.status);
	CHECK(nf_tx_rsp(&f, &r, 5000) == 1 && r.id == 3 && r.status == SDRV_NETIF_RSP_ERROR,
	      "slot size, second slot: status %d", r.status);
	/* a checksum to fill in on a frame with no transport header */
	frame[23] = 47; /* GRE */
	put_frame(&f, 0, frame, 200, PAGE);
	CHECK(nf_send(&f, 0, 200, PAGE, SDRV_NETTXF_CSUM_BLANK) == SDRV_NETIF_RSP_ERROR,
	      "offload without a header");
	/* still up: a good frame passes */
	make_frame(2, "10.77.0.2", 200, 9);
	put_frame(&f, 0, frame, 200, PAGE);
	CHECK(nf_send(&f, 0, 200, PAGE, 0) == SDRV_NETIF_RSP_OKAY, "a good frame after");
	CHECK(vif_recv(&f, got, sizeof(got), 5000) == 200 && !memcmp(got, frame, 200),
	      "the good frame on the vif");
	CHECK(COUNTER(2, tx_dropped_error, 4, 5000) == 0, "errors not counted");
	/* an empty slot in the middle (XSA-448: a no-op, its grant never
	 * touched) and the headers split over two slots: the frame arrives
	 * whole, and is checked whole (the source IP is in the third slot) */
	make_frame(2, "10.77.0.2", 300, 11);
	memcpy(f.data, frame, 6);
	memcpy(f.data + PAGE, frame + 6, 294);
	s[0] = (struct sdrv_netif_tx_request){
	    .gref = f.drefs[0], .id = 5, .size = 300, .flags = SDRV_NETTXF_MORE_DATA};
	s[1] = (struct sdrv_netif_tx_request){
	    .gref = 60001, .id = 6, .size = 0, .flags = SDRV_NETTXF_MORE_DATA};
	s[2] = (struct sdrv_netif_tx_request){.gref = f.drefs[1], .id = 7, .size = 294};
	nf_tx_raw(&f, s, 3);
	/* a first slot of 6 bytes is a runt (Linux: "Bad packet size"):
	 * dropped, every slot answered, nothing arrives */
	for (int i = 0; i < 3; i++)
		CHECK(nf_tx_rsp(&f, &r, 5000) == 1 && r.id == 5 + i &&
			  (i || r.status == SDRV_NETIF_RSP_ERROR),
		      "split frame slot %d: id %u status %d", i, r.id, r.status);
	CHECK(vif_recv(&f, got, sizeof(got), 300) < 0, "a 6-byte first slot went through");
	memcpy(f.data, frame, 20);
	memcpy(f.data + PAGE, frame + 20, 280);
	s[0].size = 300;
	s[2].size = 280;
	s[0].id = 8, s[1].id = 9, s[2].id = 10;
	nf_tx_raw(&f, s, 3);
	for (int i = 0; i < 3; i++)
		CHECK(nf_tx_rsp(&f, &r, 5000) == 1 && r.id == 8 + i &&
			  r.status == SDRV_NETIF_RSP_OKAY,
		      "split header slot %d: id %u status %d", i, r.id, r.status);
	CHECK(vif_recv(&f, got, sizeof(got), 5000) == 300 && !memcmp(got, frame, 300),
	      "the split frame on the vif");
	/* 20 data slots: too many (a drop, as Linux), every slot answered */
	{
		struct sdrv_netif_tx_request m[20];

		for (int i = 0; i < 20; i++)
			m[i] = (struct sdrv_netif_tx_request){.gref = f.drefs[i],
							      .id = (uint16_t)(20 + i),
							      .size = 10,
							      .flags = SDRV_NETTXF_MORE_DATA};
		m[0].size = 200;
		m[19].flags = 0;
		nf_tx_raw(&f, m, 20);
		for (int i = 0; i < 20; i++)
			CHECK(nf_tx_rsp(&f, &r, 5000) == 1 && r.id == 20 + i &&
				  r.status == SDRV_NETIF_RSP_ERROR,
			      "too many slots, slot %d: id %u status %d", i, r.id, r.status);
	}
	/* an event flood: 100,000 notifications with nothing in the ring */
	{
		uint64_t t0 = cpu_ms(nb_pid);

		for (int i = 0; i < 100000; i++)
			sdrv_evtchn_notify(f.x, f.port);
		usleep(500000);
		fprintf(stderr, "hostile: 100000 notifications cost netback %llu ms of CPU\n",
			(unsigned long long)(cpu_ms(nb_pid) - t0));
		CHECK(cpu_ms(nb_pid) - t0 < 3000, "the flood cost netback %llu ms",
		      (unsigned long long)(cpu_ms(nb_pid) - t0));
		make_frame(2, "10.77.0.2", 200, 12);
		put_frame(&f, 0, frame, 200, PAGE);
		CHECK(nf_send(&f, 0, 200, PAGE, 0) == SDRV_NETIF_RSP_OKAY,
		      "a frame after the flood");
		CHECK(vif_recv(&f, got, sizeof(got), 5000) == 200, "the frame after the flood");
	}
	/* fatal: a GSO extra of size 0 */
	s[0] = (struct sdrv_netif_tx_request){
	    .gref = f.drefs[0], .id = 4, .size = 200, .flags = SDRV_NETTXF_EXTRA_INFO};
	{
		struct sdrv_netif_extra_info ex = {.type = SDRV_NETIF_EXTRA_TYPE_GSO};

		ex.u.gso.type = SDRV_NETIF_GSO_TYPE_TCPV4;
		memset(&s[1], 0, sizeof(s[1]));
		memcpy(&s[1], &ex, sizeof(ex));
	}
	nf_tx_raw(&f, s, 2);
	end = ms_now() + 10000;
	while (back_state(&f) != SDRV_XENBUS_CLOSED && back_state(&f) != SDRV_XENBUS_CLOSING &&
	       ms_now() < end)
		nf_poll(&f, 10);
	/* the state is in the store before netback's list says why */
	CHECK(wait_broken(2, why, 5000) == 0, "no reason given");
	fprintf(stderr, "hostile: netback says: %s\n", why);
	CHECK(!if_nametoindex("vif2.0"), "the vif of a disabled interface is still there");
	nf_close(&f);
	return 0;
}

/* A multicast control request: one slot with EXTRA_INFO and no data, then
 * the extra; the status of its response (the extra slot's must be NULL). */
static int mcast_req(struct nf *f, uint8_t type, const char *addr, uint16_t id)
{
	struct sdrv_netif_tx_request s[2] = {
	    {.gref = f->drefs[0], .id = id, .size = 0, .flags = SDRV_NETTXF_EXTRA_INFO}};
	struct sdrv_netif_extra_info ex = {.type = type};
	struct sdrv_netif_tx_response r, null;

	memcpy(ex.u.mcast.addr, addr, 6);
	memcpy(&s[1], &ex, sizeof(ex));
	nf_tx_raw(f, s, 2);
	if (nf_tx_rsp(f, &r, 5000) != 1 || r.id != id)
		return -1000;
	if (nf_tx_rsp(f, &null, 5000) != 1 || null.status != SDRV_NETIF_RSP_NULL)
		return -1001;
	return r.status;
}

/* Send a frame for `dst` to the guest: 1 if it arrived, 0 if netback
 * dropped it as unsubscribed multicast (counted), -1 otherwise. */
static int mcast_frame(struct nf *f, const char *dst, uint64_t *dropped)
{
	struct sdrv_netif_rx_pkt pkt;
	uint8_t slots[25][8];

	make_frame(f->dom, "10.77.0.200", 300, 6);
	memcpy(frame, dst, 6);
	memcpy(frame + 6, "\x00\x16\x3e\x00\x00\xee", 6);
	if (vif_send(f, 300) != 0)
		return -1;
	if (nf_recv(f, &pkt, slots, 1500) == 0)
		return pkt.size == 300 && pkt.frag[0].id < 32 &&
			       !memcmp(f->data + (32u + pkt.frag[0].id) * PAGE + pkt.frag[0].offset,
				       frame, 300)
			   ? 1
			   : -1;
	if (COUNTER(f->dom, rx_dropped_mcast, *dropped + 1, 3000) != 0)
		return -1;
	(*dropped)++;
	return 0;
}

static int fe_mcast(void)
{
	static const char g1[] = "\x01\x00\x5e\x00\x00\xfb", g2[] = "\x01\x00\x5e\x00\x00\xfc";
	uint64_t dropped = 0;
	char be[96], addr[6];
	struct nf f;
	bool v;

	CHECK(nf_open_mc(&f, 8, true) == 0, "no connection");
	snprintf(be, sizeof(be), "/local/domain/%u/backend/vif/8/0", BE);
	CHECK(sdrv_xenbus_read_bool(f.xs, 0, be, "feature-multicast-control", false, &v) == 0 && v,
	      "feature-multicast-control");
	nf_post(&f, 32);
	/* nothing subscribed: multicast dropped; broadcast and unicast come */
	CHECK(mcast_frame(&f, g1, &dropped) == 0, "an unsubscribed group arrived");
	CHECK(mcast_frame(&f, "\xff\xff\xff\xff\xff\xff", &dropped) == 1, "broadcast");
	CHECK(mcast_frame(&f, "\x00\x16\x3e\x00\x00\x08", &dropped) == 1, "unicast");
	/* subscribed: that group comes, the other does not */
	CHECK(mcast_req(&f, SDRV_NETIF_EXTRA_TYPE_MCAST_ADD, g1, 10) == SDRV_NETIF_RSP_OKAY, "add");
	CHECK(mcast_req(&f, SDRV_NETIF_EXTRA_TYPE_MCAST_ADD, g1, 11) == SDRV_NETIF_RSP_OKAY,
	      "the same add again");
	CHECK(mcast_frame(&f, g1, &dropped) == 1, "the subscribed group");
	CHECK(mcast_frame(&f, g2, &dropped) == 0, "another group arrived");
	/* 64 addresses fit: g1 and 63 more; the 65th is refused */
	for (int i = 0; i < 63; i++) {
		memcpy(addr, "\x01\x00\x5e\x01\x00\x00", 6);
		addr[5] = (char)i;
		CHECK(mcast_req(&f, SDRV_NETIF_EXTRA_TYPE_MCAST_ADD, addr, (uint16_t)(20 + i)) ==
			  SDRV_NETIF_RSP_OKAY,
		      "add %d", i);
	}
	CHECK(mcast_req(&f, SDRV_NETIF_EXTRA_TYPE_MCAST_ADD, g2, 90) == SDRV_NETIF_RSP_ERROR,
	      "a 65th address was accepted");
	CHECK(mcast_frame(&f, g2, &dropped) == 0, "the refused group arrived");
	/* removing: its frames stop; removing what is not there is fine */
	CHECK(mcast_req(&f, SDRV_NETIF_EXTRA_TYPE_MCAST_DEL, g1, 91) == SDRV_NETIF_RSP_OKAY, "del");
	CHECK(mcast_req(&f, SDRV_NETIF_EXTRA_TYPE_MCAST_DEL, g1, 92) == SDRV_NETIF_RSP_OKAY,
	      "del again");
	CHECK(mcast_frame(&f, g1, &dropped) == 0, "a removed group arrived");
	/* and the freed place takes another */
	CHECK(mcast_req(&f, SDRV_NETIF_EXTRA_TYPE_MCAST_ADD, g2, 93) == SDRV_NETIF_RSP_OKAY,
	      "add into the freed place");
	CHECK(mcast_frame(&f, g2, &dropped) == 1, "the group added last");
	CHECK(back_state(&f) == SDRV_XENBUS_CONNECTED, "the interface did not stay up");
	nf_close(&f);
	return 0;
}

static int fe_index(void)
{
	char why[160];
	struct nf f;
	uint64_t end;

	CHECK(nf_open(&f, 3) == 0, "no connection");
	f.tx.sring->req_prod += 1000;
	sdrv_evtchn_notify(f.x, f.port);
	end = ms_now() + 10000;
	while (back_state(&f) != SDRV_XENBUS_CLOSED && back_state(&f) != SDRV_XENBUS_CLOSING &&
	       ms_now() < end)
		nf_poll(&f, 10);
	CHECK(wait_broken(3, why, 5000) == 0, "no reason given");
	fprintf(stderr, "index: netback says: %s\n", why);
	nf_close(&f);
	return 0;
}

static long rss_kb(pid_t pid)
{
	char path[64], line[128];
	long kb = -1;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (!(fp = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof(line), fp))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	fclose(fp);
	return kb;
}

static int fe_nobuf(void)
{
	struct sdrv_netif_rx_pkt pkt;
	uint8_t slots[25][8];
	long before, after;
	struct nf f;
	int sent = 0;

	CHECK(nf_open(&f, 4) == 0, "no connection");
	usleep(200000);
	before = rss_kb(nb_pid);
	make_frame(4, "10.77.0.200", 1400, 10);
	memcpy(frame, "\x00\x16\x3e\x00\x00\x04\x00\x16\x3e\x00\x00\xee", 12);
	for (int i = 0; i < 3000; i++)
		sent += vif_send(&f, 1400) == 0; /* the TAP's queue drops the rest */
	usleep(300000);
	after = rss_kb(nb_pid);
	CHECK(sent > 0, "nothing could be sent");
	CHECK(before > 0 && after - before < 2048, "netback grew from %ld to %ld kB", before,
	      after);
	/* buffers now: frames flow */
	nf_post(&f, 16);
	CHECK(nf_recv(&f, &pkt, slots, 5000) == 0 && pkt.size == 1400, "no frame after posting");
	nf_close(&f);
	return 0;
}

/* Garbage in the store: a frontend's ring reference that is no number
 * (the device does not connect, and says so), and toolstack keys (mac,
 * bridge, rate, log, ip) that are garbage: the interface is disabled with
 * a reason, or runs with the safe reading, and netback carries on. */
/* A frontend of domain 5 whose key `key` is `val`: the backend closes the
 * device without connecting. 0, or -1 with a message. */
static int badkey(const char *key, const char *val)
{
	struct nf f;
	uint64_t end;

	CHECK(nf_start(&f, 5, false, key, val) == 0, "starting a frontend");
	end = ms_now() + 10000;
	{
		enum sdrv_xenbus_state st = back_state(&f), last = st;
		char seen[64];
		size_t n = (size_t)snprintf(seen, sizeof(seen), "%d", (int)st);

		/* One read per look; the states it went through go in the
		 * message. The backend may still be Closed from the case
		 * before: only its answer to our keys counts (we publish
		 * once it is in InitWait). */
		while ((!f.published || (st != SDRV_XENBUS_CLOSED && st != SDRV_XENBUS_CLOSING)) &&
		       ms_now() < end) {
			nf_poll(&f, 10);
			st = back_state(&f);
			if (st != last && n + 4 < sizeof(seen))
				n += (size_t)snprintf(seen + n, sizeof(seen) - n, " %d", (int)st);
			last = st;
		}
		CHECK(f.published && (st == SDRV_XENBUS_CLOSED || st == SDRV_XENBUS_CLOSING),
		      "%s = \"%s\" did not close the device (states seen: %s)", key, val, seen);
	}
	CHECK(!f.connected && !if_nametoindex("vif5.0"), "%s = \"%s\": it connected anyway", key,
	      val);
	/* the device directory stays: the next case must not find this key */
	{
		char path[160];

		snprintf(path, sizeof(path), "%s/%s", sdrv_xenbus_front_dir(f.xf), key);
		CHECK(sdrv_xs_rm(f.xs, 0, path) == 0, "removing %s", path);
	}
	nf_close(&f);
	return 0;
}

static int fe_badkeys(void)
{
	static const char *const cases[][2] = {
	    {"tx-ring-ref", "12x"},
	    {"rx-ring-ref", ""},
	    {"rx-ring-ref", "99999999999"},
	    {"tx-ring-ref", "4000"}, /* a number, but no grant of ours */
	    {"event-channel", "abc"},
	    {"event-channel", "60000"}, /* no such port */
	    {"multi-queue-num-queues", "2"},
	    {"multi-queue-num-queues", "-1"},
	    {"request-rx-copy", "0"},
	    {"feature-rx-notify", "0"},
	    {"feature-sg", "x"}, /* any number is a flag (not 0: on), as Linux */
	    {"feature-gso-tcpv4", "4294967296"},
	    {"request-multicast-control", "yes"},
	};
	struct sdrv_netback_vif_info v;
	char why[160];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (badkey(cases[i][0], cases[i][1]) != 0)
			return 1;
	/* netback carries on: a good frontend of the same domain connects */
	{
		struct nf f;

		CHECK(nf_open(&f, 5) == 0, "a good frontend after the bad keys did not connect");
		make_frame(5, "10.77.0.5", 200, 9);
		put_frame(&f, 0, frame, 200, PAGE);
		CHECK(nf_send(&f, 0, 200, PAGE, 0) == SDRV_NETIF_RSP_OKAY,
		      "a frame after the bad keys");
		CHECK(vif_recv(&f, got, sizeof(got), 5000) == 200, "the frame after the bad keys");
		nf_close(&f);
	}

	/* domain 6: the toolstack wrote garbage */
	CHECK(wait_broken(6, why, 5000) == 0, "a garbage mac did not disable vif6.0");
	fprintf(stderr, "badkeys: netback says: %s\n", why);
	CHECK(strstr(why, "mac") != NULL, "the reason does not name the key: %s", why);
	/* domain 7: rate, log and ip garbage: unlimited, nothing logged, no
	 * IP source allowed (refuse everything rather than nothing) */
	CHECK(vif_info(7, &v, why) == 0 && !why[0], "garbage policy keys disabled vif7.0: %s", why);
	CHECK(v.rate_bytes == 0 && v.log_classes == 0, "rate %llu log 0x%x",
	      (unsigned long long)v.rate_bytes, v.log_classes);
	return 0;
}

static int run_fe(const char *name, int (*fn)(void))
{
	pid_t p = fork();
	int st;

	if (p == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(fn());
	}
	st = tu_wait_child(p);
	fprintf(stderr, "%s: %s\n", st ? "FAIL" : "ok", name);
	if (st)
		failures++;
	return st;
}

static void write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);

	if (fd >= 0) {
		(void)!write(fd, s, strlen(s));
		close(fd);
	}
}

int main(void)
{
	tu_watchdog(240, "check-netback");
	if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) != 0 ||
	    unshare(CLONE_NEWNET) != 0) {
		if (getenv("CI") && !strcmp(getenv("CI"), "true")) {
			fprintf(stderr, "FAIL: TAP interfaces need root and /dev/net/tun\n");
			return 1;
		}
		tu_skip("needs root, /dev/net/tun and a network namespace");
	}
	/* a quiet namespace: no IPv6 chatter of the kernel's on the vifs */
	write_file("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
	write_file("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
	snprintf(tmp, sizeof(tmp), "/tmp/sdrv-netback-XXXXXX");
	if (!mkdtemp(tmp))
		return 1;
	snprintf(broker, sizeof(broker), "%s/broker.sock", tmp);
	snprintf(store, sizeof(store), "%s/store.sock", tmp);
	sh = tu_shared_mem(sizeof(*sh));
	signal(SIGPIPE, SIG_IGN);

	start_hypervisor();
	add_vif(1, "10.77.0.1");
	add_vif(2, "10.77.0.2");
	add_vif(3, NULL);
	add_vif(4, NULL);
	add_vif(5, NULL);
	add_vif(6, NULL);
	add_vif(7, NULL);
	add_vif(8, NULL);
	{
		struct sdrv_xs *xs = xs_open();
		char d6[96], d7[96];

		snprintf(d6, sizeof(d6), "/local/domain/%u/backend/vif/6/0", BE);
		snprintf(d7, sizeof(d7), "/local/domain/%u/backend/vif/7/0", BE);
		if (!xs || sdrv_xenbus_write_str(xs, 0, d6, "mac", "00:16:3e:zz:00:06") < 0 ||
		    sdrv_xenbus_write_str(xs, 0, d7, "rate", "-1,50000") < 0 ||
		    sdrv_xenbus_write_str(xs, 0, d7, "log", "tcp-syn,bogus") < 0 ||
		    sdrv_xenbus_write_str(xs, 0, d7, "ip", "10.0.0.300 ::g") < 0) {
			fprintf(stderr, "FAIL: cannot write the garbage keys\n");
			return 1;
		}
		sdrv_xs_close(xs);
	}
	nb_pid = fork();
	if (nb_pid == 0)
		_exit(netback_main());
	for (int i = 0; i < 2000 && !atomic_load(&sh->ready); i++)
		usleep(5000);
	if (!atomic_load(&sh->ready)) {
		fprintf(stderr, "FAIL: netback did not start\n");
		return 1;
	}

	run_fe("basic", fe_basic);
	run_fe("spoof (and revive: the same domain again)", fe_spoof);
	run_fe("hostile", fe_hostile);
	run_fe("index", fe_index);
	run_fe("no-buffers", fe_nobuf);
	run_fe("revive (basic once more)", fe_basic);
	run_fe("bad keys", fe_badkeys);
	run_fe("multicast", fe_mcast);

	atomic_store(&sh->stop, 1);
	if (tu_wait_child(nb_pid) != 0) {
		fprintf(stderr, "FAIL: netback did not shut down cleanly\n");
		failures++;
	}
	for (int i = 1; i <= 8; i++) {
		char n[16];

		snprintf(n, sizeof(n), "vif%d.0", i);
		if (if_nametoindex(n)) {
			fprintf(stderr, "FAIL: shutdown: %s is still there\n", n);
			failures++;
		}
	}
	if (tu_hv_stop(hv_pid) != 0) {
		fprintf(stderr, "FAIL: the broker and store did not stop cleanly\n");
		failures++;
	}
	rmdir(tmp);
	fprintf(stderr, "%s: %d failure(s)\n", failures ? "FAIL" : "PASS", failures);
	return failures ? 1 : 0;
}
