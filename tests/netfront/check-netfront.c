/* SPDX-License-Identifier: MIT */
/*
 * netfront against a scripted backend, over the POSIX transport.
 *
 * Each test builds a world: a forked process runs the broker and the
 * store; the test process is the toolstack (domain 0 on the store), the
 * frontend (domain 1: its own transport handle and store connection) and
 * the backend (domain 2 on a second transport handle; it writes its keys
 * through the toolstack's store connection). The backend is a script: the
 * test writes its state and keys, maps the rings, and reads and writes ring
 * slots itself, with the netif codec where it plays by the rules and with
 * raw bytes where it does not.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <splitdrv/netfront.h>
#include <splitdrv/proto/netif.h>
#include <splitdrv/ring.h>
#include <splitdrv/transport.h>
#include <splitdrv/xenbus.h>
#include <splitdrv/xs.h>

#include "../common/thv.h"
#include "../common/tutil.h"

#define FE    1
#define BE    2
#define FEDIR "/local/domain/1/device/vif/0"
#define BEDIR "/local/domain/2/backend/vif/1/0"
#define MAC   "00:16:3e:00:00:01"
#define MAXRX 64

static bool g_in_place; /* the next frontend delivers with rxv */

struct rxframe {
	size_t len;
	struct sdrv_netfront_offload off;
	unsigned char *data;
	unsigned niov; /* in place (rxv): the pieces it came in */
};

struct world {
	char dir[64], broker[96], store[96];
	pid_t hv;
	struct sdrv_xs *tool;
	struct sdrv_xport *fx, *bx;
	struct sdrv_xs *fxs;
	struct sdrv_netfront *nf;
	/* what the frontend reported */
	int link_ups, link_downs;
	char last_err[512];
	int nerr;
	struct rxframe rx[MAXRX];
	unsigned nrx;
	/* the backend */
	void *txmap, *rxmap;
	struct sdrv_ring btx, brx;
	sdrv_evtchn_port_t bport;
	bool bound;
	/* rx requests taken, not yet used */
	struct sdrv_netif_rx_request rxq[256];
	unsigned nrxq;
	/* tx requests taken, not yet decoded */
	unsigned char txs[SDRV_NETIF_TX_MAX_PACKET_SLOTS * 4][SDRV_NETIF_TX_ENTRY_SIZE];
	unsigned ntxs;
};

/* A transmitted packet as the backend saw it. */
struct txpkt {
	struct sdrv_netif_tx_pkt pkt;
	unsigned char data[65536];
	size_t len;
};

static unsigned ms(unsigned v)
{
	return tu_under_valgrind() ? v * 20 : v;
}

/* ------------------------------------------------------------------------ */
/* The hypervisor's part (as tests/blkfront/harness.c) */

static struct sdrv_xport *open_xport(const char *broker, sdrv_domid_t domid)
{
	struct sdrv_xport_opts o = {.sz = sizeof(o)};

	o.address = broker;
	o.domid = domid;
	o.grant_pages = 1024;
	return sdrv_xport_open("posix", &o);
}

static void make_home(struct world *w, sdrv_domid_t domid)
{
	struct sdrv_xs_perm perms[2] = {{0, SDRV_XS_PERM_NONE}, {domid, SDRV_XS_PERM_READ}};
	char path[64];

	snprintf(path, sizeof(path), "/local/domain/%u", domid);
	ck_assert_int_eq(sdrv_xs_mkdir(w->tool, 0, path), 0);
	ck_assert_int_eq(sdrv_xs_set_perms(w->tool, 0, path, perms, 2), 0);
}

static void wr(struct world *w, const char *dir, const char *key, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	ck_assert_int_eq(sdrv_xs_write_str(w->tool, 0, path, val), 0);
}

static char *rd(struct world *w, const char *dir, const char *key)
{
	char path[256];
	char *v = NULL;

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	if (sdrv_xs_read(w->tool, 0, path, &v, NULL) < 0)
		return NULL;
	return v;
}

static bool key_is(struct world *w, const char *dir, const char *key, const char *val)
{
	char *v = rd(w, dir, key);
	bool eq = v && strcmp(v, val) == 0;

	free(v);
	return eq;
}

static void world_start(struct world *w, const char *mac)
{
	struct sdrv_xs_opts xo = {.sz = sizeof(xo), .timeout_ms = 30000};
	struct sdrv_xenbus_dev d = {.sz = sizeof(d), .type = "vif", .fe = FE, .be = BE, .id = 0};
	char *v = NULL;

	memset(w, 0, sizeof(*w));
	signal(SIGPIPE, SIG_IGN);
	snprintf(w->dir, sizeof(w->dir), "/tmp/sdrv-nf-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(w->dir));
	snprintf(w->broker, sizeof(w->broker), "%s/broker.sock", w->dir);
	snprintf(w->store, sizeof(w->store), "%s/store.sock", w->dir);
	w->hv = tu_hv_start(w->broker, w->store, 0);
	ck_assert_msg(w->hv > 0, "the broker and the store did not start");
	for (int i = 0; i < 10000 && !w->tool; i++) {
		if (access(w->store, F_OK) == 0 && access(w->broker, F_OK) == 0)
			w->tool = sdrv_xs_open(w->store, &xo);
		if (!w->tool)
			usleep(2000);
	}
	ck_assert_msg(w->tool != NULL, "the store did not start");
	make_home(w, FE);
	make_home(w, BE);
	/* The store knows a connection by the one domain its process holds
	 * at the broker when it accepts: the frontend's store connection
	 * comes before the backend's transport. */
	w->fx = open_xport(w->broker, FE);
	ck_assert_msg(w->fx != NULL, "frontend transport: %s", strerror(errno));
	w->fxs = sdrv_xs_open(w->store, &xo);
	ck_assert_ptr_nonnull(w->fxs);
	ck_assert_int_eq(sdrv_xs_read(w->fxs, 0, "/local/domain/1", &v, NULL), 0);
	free(v);
	w->bx = open_xport(w->broker, BE);
	ck_assert_msg(w->bx != NULL, "backend transport: %s", strerror(errno));
	ck_assert_int_eq(sdrv_xenbus_dev_create(w->tool, &d), 0);
	if (mac)
		wr(w, FEDIR, "mac", mac);
}

static void be_unmap(struct world *w)
{
	if (w->bound)
		sdrv_evtchn_close(w->bx, w->bport);
	w->bound = false;
	if (w->txmap)
		sdrv_gnt_unmap(w->bx, w->txmap, 1);
	if (w->rxmap)
		sdrv_gnt_unmap(w->bx, w->rxmap, 1);
	w->txmap = w->rxmap = NULL;
}

static void world_stop(struct world *w)
{
	be_unmap(w);
	if (w->nf)
		sdrv_netfront_free(w->nf, 0);
	for (unsigned i = 0; i < w->nrx; i++)
		free(w->rx[i].data);
	sdrv_xport_close(w->bx);
	sdrv_xs_close(w->fxs);
	sdrv_xport_close(w->fx);
	sdrv_xs_close(w->tool);
	ck_assert_int_eq(tu_hv_stop(w->hv), 0);
	unlink(w->broker);
	unlink(w->store);
	rmdir(w->dir);
}

/* ------------------------------------------------------------------------ */
/* The frontend */

static void fe_log(void *ctx, int level, const char *msg)
{
	struct world *w = ctx;

	if (getenv("SDRV_TEST_VERBOSE"))
		fprintf(stderr, "netfront[%d]: %s\n", level, msg);
	if (level <= 4) {
		snprintf(w->last_err, sizeof(w->last_err), "%s", msg);
		w->nerr++;
	}
}

static void fe_rx(void *ctx, const void *frame, size_t len, const struct sdrv_netfront_offload *off)
{
	struct world *w = ctx;
	struct rxframe *r;

	ck_assert_uint_lt(w->nrx, MAXRX);
	r = &w->rx[w->nrx++];
	r->len = len;
	r->off = *off;
	r->data = malloc(len);
	ck_assert_ptr_nonnull(r->data);
	memcpy(r->data, frame, len);
}

/* In place: the pieces point into the receive buffers; gather them. */
static void fe_rxv(void *ctx, const struct iovec *iov, unsigned int niov, size_t len,
		   const struct sdrv_netfront_offload *off)
{
	struct world *w = ctx;
	struct rxframe *r;
	size_t at = 0;

	ck_assert_uint_lt(w->nrx, MAXRX);
	r = &w->rx[w->nrx++];
	r->len = len;
	r->off = *off;
	r->niov = niov;
	r->data = malloc(len);
	ck_assert_ptr_nonnull(r->data);
	for (unsigned int i = 0; i < niov; i++) {
		ck_assert_uint_le(at + iov[i].iov_len, len);
		memcpy(r->data + at, iov[i].iov_base, iov[i].iov_len);
		at += iov[i].iov_len;
	}
	ck_assert_uint_eq(at, len);
}

static void fe_link(void *ctx, bool up)
{
	struct world *w = ctx;

	if (up)
		w->link_ups++;
	else
		w->link_downs++;
}

static void rx_reset(struct world *w)
{
	for (unsigned i = 0; i < w->nrx; i++)
		free(w->rx[i].data);
	w->nrx = 0;
}

static void fe_new(struct world *w)
{
	struct sdrv_netfront_opts o = {.sz = sizeof(o)};

	o.xport = w->fx;
	o.xs = w->fxs;
	o.handle = 0;
	o.rx = fe_rx;
	if (g_in_place)
		o.rxv = fe_rxv;
	o.link = fe_link;
	o.ctx = w;
	o.log = fe_log;
	o.log_ctx = w;
	w->nf = sdrv_netfront_new(&o);
	ck_assert_msg(w->nf != NULL, "sdrv_netfront_new: %s", strerror(errno));
}

static void drive(struct world *w, unsigned t)
{
	struct pollfd pfd = {.fd = sdrv_netfront_fd(w->nf), .events = POLLIN};

	(void)sdrv_netfront_process(w->nf);
	(void)poll(&pfd, 1, (int)t);
	(void)sdrv_netfront_process(w->nf);
}

#define DRIVE_UNTIL(w, cond, tmo)                                                                  \
	do {                                                                                       \
		uint64_t end_ = tu_now_ns() + (uint64_t)ms(tmo) * 1000000ull;                      \
		while (!(cond)) {                                                                  \
			ck_assert_msg(tu_now_ns() < end_, "timeout waiting for %s", #cond);        \
			drive(w, 5);                                                               \
		}                                                                                  \
	} while (0)

/* ------------------------------------------------------------------------ */
/* The backend */

static void be_offer(struct world *w, bool sg, bool gso)
{
	wr(w, BEDIR, "feature-rx-copy", "1");
	wr(w, BEDIR, "feature-sg", sg ? "1" : "0");
	wr(w, BEDIR, "feature-gso-tcpv4", gso ? "1" : "0");
	wr(w, BEDIR, "feature-gso-tcpv6", gso ? "1" : "0");
	wr(w, BEDIR, "state", "2");
}

static uint32_t fe_uint(struct world *w, const char *key)
{
	char *v = rd(w, FEDIR, key);
	uint32_t n;

	ck_assert_msg(v != NULL, "frontend key %s missing", key);
	n = (uint32_t)strtoul(v, NULL, 10);
	free(v);
	return n;
}

/* Map the rings, bind the channel, go Connected. */
static void be_go_connected(struct world *w)
{
	sdrv_grant_ref_t ref;
	int st;

	DRIVE_UNTIL(w, key_is(w, FEDIR, "state", "3"), 5000);
	ref = fe_uint(w, "tx-ring-ref");
	w->txmap = sdrv_gnt_map(w->bx, FE, 1, &ref, true, &st);
	ck_assert_ptr_nonnull(w->txmap);
	ref = fe_uint(w, "rx-ring-ref");
	w->rxmap = sdrv_gnt_map(w->bx, FE, 1, &ref, true, &st);
	ck_assert_ptr_nonnull(w->rxmap);
	ck_assert_int_eq(
	    sdrv_ring_back_attach(&w->btx, w->txmap, 4096, SDRV_NETIF_TX_ENTRY_SIZE, 0), 0);
	ck_assert_int_eq(
	    sdrv_ring_back_attach(&w->brx, w->rxmap, 4096, SDRV_NETIF_RX_ENTRY_SIZE, 0), 0);
	ck_assert_int_eq(sdrv_evtchn_bind(w->bx, FE, fe_uint(w, "event-channel"), &w->bport), 0);
	w->bound = true;
	w->nrxq = w->ntxs = 0;
	wr(w, BEDIR, "state", "4");
}

/* The same, then wait for the frontend to connect. */
static void be_connect(struct world *w)
{
	be_go_connected(w);
	DRIVE_UNTIL(w, sdrv_netfront_connected(w->nf), 5000);
}

static void be_notify(struct world *w)
{
	sdrv_evtchn_port_t p;

	while (sdrv_evtchn_pending(w->bx, &p) > 0)
		sdrv_evtchn_unmask(w->bx, p);
	sdrv_evtchn_notify(w->bx, w->bport);
}

/* Take the rx requests the frontend posted. */
static unsigned be_take_rx(struct world *w)
{
	unsigned char slot[SDRV_NETIF_RX_ENTRY_SIZE];

	while (w->nrxq < 256 && sdrv_ring_back_take_req(&w->brx, slot) == 1)
		ck_assert_int_eq(sdrv_netif_rx_decode_req(slot, sizeof(slot), &w->rxq[w->nrxq++]),
				 0);
	return w->nrxq;
}

static void be_copy(struct world *w, sdrv_grant_ref_t ref, uint16_t off, void *buf, uint16_t len,
		    bool to_grant)
{
	struct sdrv_gnt_copy_seg seg = {.granter = FE,
					.ref = ref,
					.offset = off,
					.len = len,
					.to_grant = to_grant,
					.local = buf};

	ck_assert_int_eq(sdrv_gnt_copy(w->bx, &seg, 1), 0);
}

/* Deliver a frame through the rx ring, in slots of `chunk` bytes at
 * offset `boff` in each buffer. */
static void be_rx_frame(struct world *w, const unsigned char *frame, size_t len, size_t chunk,
			uint16_t boff, uint16_t flags, uint8_t gso_type, uint16_t gso_size)
{
	struct sdrv_netif_rx_pkt pkt;
	struct sdrv_netif_rx_request used[SDRV_NETIF_RX_MAX_PACKET_SLOTS];
	unsigned nfr = (unsigned)((len + chunk - 1) / chunk), nsl, k, f = 0;

	memset(&pkt, 0, sizeof(pkt));
	pkt.nr_frags = (uint16_t)nfr;
	pkt.flags = flags;
	if (gso_type) {
		pkt.extras = SDRV_NETIF_EXTRA_BIT(SDRV_NETIF_EXTRA_TYPE_GSO);
		pkt.gso.type = gso_type;
		pkt.gso.size = gso_size;
	}
	for (unsigned i = 0; i < nfr; i++) {
		pkt.frag[i].offset = boff;
		pkt.frag[i].size = (uint16_t)(len - i * chunk < chunk ? len - i * chunk : chunk);
	}
	ck_assert_int_eq(sdrv_netif_rx_prepare(&pkt), 0);
	nsl = pkt.nr_slots;
	be_take_rx(w);
	ck_assert_uint_ge(w->nrxq, nsl);
	memcpy(used, w->rxq, nsl * sizeof(used[0]));
	memmove(w->rxq, w->rxq + nsl, (w->nrxq - nsl) * sizeof(w->rxq[0]));
	w->nrxq -= nsl;
	for (k = 0; k < nsl; k++) {
		void *slot = sdrv_ring_back_next_rsp(&w->brx);

		ck_assert_ptr_nonnull(slot);
		/* The data slots are slot 0 and the slots after the extras. */
		if (k == 0 || k > pkt.nr_extras) {
			be_copy(w, used[k].gref, boff, (void *)(frame + f * chunk),
				pkt.frag[f].size, true);
			f++;
		}
		ck_assert_int_eq(
		    sdrv_netif_rx_encode_rsp(&pkt, k, &used[k], slot, SDRV_NETIF_RX_ENTRY_SIZE), 0);
	}
	sdrv_ring_back_push(&w->brx);
	be_notify(w);
}

/* A raw rx response in the slot of the next posted request. */
static void be_rx_raw(struct world *w, int id, uint16_t offset, uint16_t flags, int16_t status)
{
	struct sdrv_netif_rx_response r;
	void *slot;

	be_take_rx(w);
	ck_assert_uint_ge(w->nrxq, 1);
	r.id = id < 0 ? w->rxq[0].id : (uint16_t)id;
	r.offset = offset;
	r.flags = flags;
	r.status = status;
	memmove(w->rxq, w->rxq + 1, (w->nrxq - 1) * sizeof(w->rxq[0]));
	w->nrxq--;
	slot = sdrv_ring_back_next_rsp(&w->brx);
	ck_assert_ptr_nonnull(slot);
	memcpy(slot, &r, sizeof(r));
	sdrv_ring_back_push(&w->brx);
	be_notify(w);
}

/* Take tx slots; decode one packet into `out` and answer it with
 * `status` (no answer if `answer` is false). 1: a packet; 0: none yet. */
static int be_tx_packet(struct world *w, struct txpkt *out, bool answer, int16_t status)
{
	int rc;

	while (w->ntxs < sizeof(w->txs) / sizeof(w->txs[0]) &&
	       sdrv_ring_back_take_req(&w->btx, w->txs[w->ntxs]) == 1)
		w->ntxs++;
	if (w->ntxs == 0)
		return 0;
	rc = sdrv_netif_tx_decode(w->txs, w->ntxs, NULL, &out->pkt);
	if (rc == -SDRV_EAGAIN)
		return 0;
	ck_assert_msg(rc == 0, "tx decode: %d (%s)", rc, sdrv_netif_reason(out->pkt.reason));
	out->len = 0;
	for (unsigned i = 0; i < out->pkt.nr_frags; i++) {
		be_copy(w, out->pkt.frag[i].gref, out->pkt.frag[i].offset, out->data + out->len,
			out->pkt.frag[i].size, false);
		out->len += out->pkt.frag[i].size;
	}
	if (answer) {
		for (uint32_t k = 0; k < out->pkt.nr_slots; k++) {
			struct sdrv_netif_tx_response r;
			void *slot = sdrv_ring_back_next_rsp(&w->btx);

			ck_assert_ptr_nonnull(slot);
			ck_assert_int_eq(sdrv_netif_tx_make_rsp(&out->pkt, k, status, &r), 0);
			ck_assert_int_eq(
			    sdrv_netif_tx_encode_rsp(&r, slot, SDRV_NETIF_TX_ENTRY_SIZE), 0);
		}
		sdrv_ring_back_push(&w->btx);
		be_notify(w);
	}
	memmove(w->txs, w->txs[out->pkt.nr_slots],
		(w->ntxs - out->pkt.nr_slots) * SDRV_NETIF_TX_ENTRY_SIZE);
	w->ntxs -= out->pkt.nr_slots;
	return 1;
}

static void be_tx_wait(struct world *w, struct txpkt *p, bool answer)
{
	uint64_t end = tu_now_ns() + (uint64_t)ms(5000) * 1000000ull;

	while (!be_tx_packet(w, p, answer, SDRV_NETIF_RSP_OKAY)) {
		ck_assert_msg(tu_now_ns() < end, "timeout waiting for a tx packet");
		drive(w, 1);
	}
}

static void fill(unsigned char *b, size_t n, unsigned seed)
{
	uint64_t s = seed * 2654435761u + 1;

	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)(tu_rand(&s) >> 56);
	/* An Ethernet header: unicast destination, IPv4. */
	if (n >= 14) {
		b[0] = 0x00;
		b[12] = 0x08;
		b[13] = 0x00;
	}
}

static void up(struct world *w, bool sg, bool gso)
{
	world_start(w, MAC);
	be_offer(w, sg, gso);
	fe_new(w);
	be_connect(w);
}

/* ------------------------------------------------------------------------ */
/* Tests */

START_TEST(handshake)
{
	static const char *const ones[] = {"request-rx-copy",	"feature-rx-notify",
					   "feature-sg",	"feature-gso-tcpv4",
					   "feature-gso-tcpv6", "feature-ipv6-csum-offload"};
	struct world w;
	uint8_t mac[6];
	bool seen[256] = {false};

	world_start(&w, MAC);
	be_offer(&w, true, true);
	fe_new(&w);
	DRIVE_UNTIL(&w, key_is(&w, FEDIR, "state", "3"), 5000);
	for (size_t i = 0; i < sizeof(ones) / sizeof(ones[0]); i++)
		ck_assert_msg(key_is(&w, FEDIR, ones[i], "1"), "%s", ones[i]);
	ck_assert_uint_ne(fe_uint(&w, "tx-ring-ref"), fe_uint(&w, "rx-ring-ref"));
	(void)fe_uint(&w, "event-channel");
	ck_assert(!sdrv_netfront_connected(w.nf));
	ck_assert_int_eq(sdrv_netfront_send(w.nf, "0123456789abcdef", 16, NULL), -ENOTCONN);
	be_connect(&w);
	ck_assert_int_eq(w.link_ups, 1);
	ck_assert_int_eq(sdrv_netfront_mac(w.nf, mac), 0);
	ck_assert(mac[0] == 0 && mac[1] == 0x16 && mac[2] == 0x3e && mac[5] == 1);
	ck_assert_uint_eq(sdrv_netfront_mtu(w.nf), 1500);
	ck_assert_uint_eq(sdrv_netfront_features(w.nf), SDRV_NETFRONT_F_SG |
							    SDRV_NETFRONT_F_GSO_TCPV4 |
							    SDRV_NETFRONT_F_GSO_TCPV6);
	ck_assert_uint_eq(sdrv_netfront_backend(w.nf), BE);
	ck_assert(sdrv_netfront_writable(w.nf));
	/* Every rx slot is posted, with distinct ids. */
	DRIVE_UNTIL(&w, be_take_rx(&w) == 256, 5000);
	for (unsigned i = 0; i < 256; i++) {
		ck_assert_uint_lt(w.rxq[i].id, 256);
		ck_assert(!seen[w.rxq[i].id]);
		seen[w.rxq[i].id] = true;
	}
	ck_assert_ptr_null(sdrv_netfront_broken(w.nf));
	world_stop(&w);
}
END_TEST

START_TEST(tx_frames)
{
	static const size_t sizes[] = {60, 1514, 4096, 4097, 30000, 65535};
	struct txpkt *p = malloc(sizeof(*p));
	unsigned char *f = malloc(65536);
	struct sdrv_netfront_offload off = {0};
	struct sdrv_netfront_stats st = {.sz = sizeof(st)};
	struct world w;

	ck_assert(p && f);
	up(&w, true, true);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		fill(f, sizes[i], (unsigned)i);
		off.flags = i % 2 ? SDRV_NETFRONT_CSUM_BLANK : SDRV_NETFRONT_DATA_VALIDATED;
		ck_assert_int_eq(sdrv_netfront_send(w.nf, f, sizes[i], &off), 0);
		be_tx_wait(&w, p, true);
		ck_assert_uint_eq(p->len, sizes[i]);
		ck_assert_uint_eq(p->pkt.size, sizes[i]);
		ck_assert_uint_eq(p->pkt.nr_frags, (sizes[i] + 4095) / 4096);
		ck_assert_uint_eq(p->pkt.flags, off.flags);
		ck_assert_uint_eq(p->pkt.extras, 0);
		ck_assert(memcmp(p->data, f, sizes[i]) == 0);
	}
	/* A GSO frame: the extra slot carries type and size. */
	fill(f, 20000, 99);
	off.flags = SDRV_NETFRONT_CSUM_BLANK;
	off.gso_type = SDRV_NETIF_GSO_TYPE_TCPV6;
	off.gso_size = 1440;
	ck_assert_int_eq(sdrv_netfront_send(w.nf, f, 20000, &off), 0);
	be_tx_wait(&w, p, true);
	ck_assert_uint_eq(p->pkt.nr_frags, 5);
	ck_assert_uint_eq(p->pkt.nr_extras, 1);
	ck_assert_uint_eq(p->pkt.nr_slots, 6);
	ck_assert_uint_eq(p->pkt.extras, SDRV_NETIF_EXTRA_BIT(SDRV_NETIF_EXTRA_TYPE_GSO));
	ck_assert_uint_eq(p->pkt.gso.type, SDRV_NETIF_GSO_TYPE_TCPV6);
	ck_assert_uint_eq(p->pkt.gso.size, 1440);
	ck_assert(memcmp(p->data, f, 20000) == 0);
	/* Refused. */
	ck_assert_int_eq(sdrv_netfront_send(w.nf, f, 13, NULL), -EMSGSIZE);
	ck_assert_int_eq(sdrv_netfront_send(w.nf, f, 65536, NULL), -EMSGSIZE);
	off.gso_type = 7;
	ck_assert_int_eq(sdrv_netfront_send(w.nf, f, 2000, &off), -EINVAL);
	off.gso_type = SDRV_NETIF_GSO_TYPE_TCPV4;
	off.gso_size = 0;
	ck_assert_int_eq(sdrv_netfront_send(w.nf, f, 2000, &off), -EINVAL);
	off.flags = 1u << 5;
	off.gso_type = 0;
	ck_assert_int_eq(sdrv_netfront_send(w.nf, f, 2000, &off), -EINVAL);
	/* A batch with SDRV_NETFRONT_MORE, then a flush. */
	off.flags = SDRV_NETFRONT_MORE;
	for (unsigned i = 0; i < 20; i++) {
		fill(f, 100 + i, 1000 + i);
		ck_assert_int_eq(sdrv_netfront_send(w.nf, f, 100 + i, &off), 0);
	}
	ck_assert_int_eq(sdrv_netfront_flush(w.nf), 0);
	for (unsigned i = 0; i < 20; i++) {
		be_tx_wait(&w, p, true);
		fill(f, 100 + i, 1000 + i);
		ck_assert_uint_eq(p->len, 100 + i);
		ck_assert(memcmp(p->data, f, p->len) == 0);
	}
	/* Backpressure: 32 frames of 8 pages fill the pool of 256. */
	DRIVE_UNTIL(&w, (sdrv_netfront_stats(w.nf, &st), st.tx_inflight == 0), 5000);
	off.flags = 0;
	for (unsigned i = 0; i < 32; i++)
		ck_assert_int_eq(sdrv_netfront_send(w.nf, f, 30000, &off), 0);
	ck_assert_int_eq(sdrv_netfront_send(w.nf, f, 30000, &off), -EAGAIN);
	ck_assert(!sdrv_netfront_writable(w.nf));
	for (unsigned i = 0; i < 32; i++)
		be_tx_wait(&w, p, true);
	DRIVE_UNTIL(&w, sdrv_netfront_writable(w.nf), 5000);
	ck_assert_int_eq(sdrv_netfront_send(w.nf, f, 30000, &off), 0);
	be_tx_wait(&w, p, true);
	/* An error answer is counted. */
	ck_assert_int_eq(sdrv_netfront_send(w.nf, f, 5000, &off), 0);
	{
		uint64_t end = tu_now_ns() + (uint64_t)ms(5000) * 1000000ull;

		while (!be_tx_packet(&w, p, true, SDRV_NETIF_RSP_ERROR)) {
			ck_assert(tu_now_ns() < end);
			drive(&w, 1);
		}
	}
	DRIVE_UNTIL(&w, (sdrv_netfront_stats(w.nf, &st), st.tx_errors == 1), 5000);
	ck_assert_uint_eq(st.tx_packets, 6 + 1 + 20 + 32 + 1 + 1);
	ck_assert_ptr_null(sdrv_netfront_broken(w.nf));
	world_stop(&w);
	free(p);
	free(f);
}
END_TEST

START_TEST(tx_no_features)
{
	struct txpkt *p = malloc(sizeof(*p));
	unsigned char f[8192];
	struct sdrv_netfront_offload off = {.gso_type = SDRV_NETIF_GSO_TYPE_TCPV4,
					    .gso_size = 1448};
	struct world w;

	up(&w, false, false);
	ck_assert_uint_eq(sdrv_netfront_features(w.nf), 0);
	fill(f, sizeof(f), 5);
	ck_assert_int_eq(sdrv_netfront_send(w.nf, f, 4097, NULL), -EMSGSIZE);
	ck_assert_int_eq(sdrv_netfront_send(w.nf, f, 1500, &off), -EOPNOTSUPP);
	ck_assert_int_eq(sdrv_netfront_send(w.nf, f, 4096, NULL), 0);
	be_tx_wait(&w, p, true);
	ck_assert_uint_eq(p->pkt.nr_frags, 1);
	ck_assert(memcmp(p->data, f, 4096) == 0);
	world_stop(&w);
	free(p);
}
END_TEST

/* Frames filled in place in the transmit pages (as the daemon reads a TAP
 * into them) arrive as sent; asking twice hands out the same pages. */
START_TEST(tx_in_place)
{
	struct txpkt *p = malloc(sizeof(*p));
	unsigned char *f = malloc(65536);
	struct sdrv_netfront_offload off = {.flags = SDRV_NETFRONT_CSUM_BLANK};
	struct iovec iov[17], again[17];
	struct world w;
	int n;

	ck_assert(p && f);
	up(&w, true, true);
	n = sdrv_netfront_tx_buffers(w.nf, iov, 17);
	ck_assert_int_eq(n, 16);
	ck_assert_int_eq(sdrv_netfront_tx_buffers(w.nf, again, 17), 16);
	for (int i = 0; i < n; i++) {
		ck_assert_ptr_eq(iov[i].iov_base, again[i].iov_base);
		ck_assert_uint_eq(iov[i].iov_len, 4096);
	}
	for (size_t len = 60; len <= 65535; len = len * 3 + 1) {
		fill(f, len, (unsigned)len);
		ck_assert_int_eq(sdrv_netfront_tx_buffers(w.nf, iov, 17), 16);
		for (size_t at = 0, i = 0; at < len; at += 4096, i++)
			memcpy(iov[i].iov_base, f + at, len - at < 4096 ? len - at : 4096);
		ck_assert_int_eq(sdrv_netfront_send_buffers(w.nf, len, &off), 0);
		be_tx_wait(&w, p, true);
		ck_assert_uint_eq(p->len, len);
		ck_assert_uint_eq(p->pkt.nr_frags, (len + 4095) / 4096);
		ck_assert(memcmp(p->data, f, len) == 0);
	}
	/* a short max gives fewer pages; bad arguments are refused */
	ck_assert_int_eq(sdrv_netfront_tx_buffers(w.nf, iov, 2), 2);
	ck_assert_int_eq(sdrv_netfront_tx_buffers(w.nf, NULL, 17), -EINVAL);
	ck_assert_int_eq(sdrv_netfront_tx_buffers(w.nf, iov, 0), -EINVAL);
	ck_assert_int_eq(sdrv_netfront_send_buffers(w.nf, 13, NULL), -EMSGSIZE);
	world_stop(&w);
	free(p);
	free(f);
}
END_TEST

/* With rxv, frames come in place, one piece per slot, byte for byte. */
START_TEST(rx_in_place)
{
	unsigned char *f = malloc(65536);
	struct world w;

	g_in_place = true;
	up(&w, true, true);
	g_in_place = false;
	DRIVE_UNTIL(&w, be_take_rx(&w) == 256, 5000);
	fill(f, 60, 1);
	be_rx_frame(&w, f, 60, 4096, 0, 0, 0, 0);
	DRIVE_UNTIL(&w, w.nrx == 1, 5000);
	ck_assert_uint_eq(w.rx[0].len, 60);
	ck_assert_uint_eq(w.rx[0].niov, 1);
	ck_assert(memcmp(w.rx[0].data, f, 60) == 0);
	fill(f, 30000, 3);
	be_rx_frame(&w, f, 30000, 2000, 64, SDRV_NETIF_PKT_CSUM_BLANK, 0, 0);
	DRIVE_UNTIL(&w, w.nrx == 2, 5000);
	ck_assert_uint_eq(w.rx[1].len, 30000);
	ck_assert_uint_eq(w.rx[1].niov, 15);
	ck_assert(memcmp(w.rx[1].data, f, 30000) == 0);
	ck_assert_uint_eq(w.rx[1].off.flags, SDRV_NETFRONT_CSUM_BLANK);
	fill(f, 65535, 4);
	be_rx_frame(&w, f, 65535, 4096, 0, SDRV_NETIF_PKT_CSUM_BLANK, SDRV_NETIF_GSO_TYPE_TCPV4,
		    1448);
	DRIVE_UNTIL(&w, w.nrx == 3, 5000);
	ck_assert_uint_eq(w.rx[2].len, 65535);
	ck_assert(memcmp(w.rx[2].data, f, 65535) == 0);
	ck_assert_uint_eq(w.rx[2].off.gso_type, SDRV_NETIF_GSO_TYPE_TCPV4);
	world_stop(&w);
	free(f);
}
END_TEST

START_TEST(rx_frames)
{
	unsigned char *f = malloc(65536);
	struct sdrv_netfront_stats st = {.sz = sizeof(st)};
	struct world w;

	up(&w, true, true);
	DRIVE_UNTIL(&w, be_take_rx(&w) == 256, 5000);
	fill(f, 60, 1);
	be_rx_frame(&w, f, 60, 4096, 0, 0, 0, 0);
	DRIVE_UNTIL(&w, w.nrx == 1, 5000);
	ck_assert_uint_eq(w.rx[0].len, 60);
	ck_assert(memcmp(w.rx[0].data, f, 60) == 0);
	ck_assert_uint_eq(w.rx[0].off.flags, 0);
	ck_assert_uint_eq(w.rx[0].off.gso_type, 0);
	fill(f, 1514, 2);
	be_rx_frame(&w, f, 1514, 4096, 100, SDRV_NETIF_PKT_DATA_VALIDATED, 0, 0);
	DRIVE_UNTIL(&w, w.nrx == 2, 5000);
	ck_assert_uint_eq(w.rx[1].len, 1514);
	ck_assert(memcmp(w.rx[1].data, f, 1514) == 0);
	ck_assert_uint_eq(w.rx[1].off.flags, SDRV_NETFRONT_DATA_VALIDATED);
	/* Multi-slot, odd slot sizes at an offset. */
	fill(f, 30000, 3);
	be_rx_frame(&w, f, 30000, 2000, 64, SDRV_NETIF_PKT_CSUM_BLANK, 0, 0);
	DRIVE_UNTIL(&w, w.nrx == 3, 5000);
	ck_assert_uint_eq(w.rx[2].len, 30000);
	ck_assert(memcmp(w.rx[2].data, f, 30000) == 0);
	ck_assert_uint_eq(w.rx[2].off.flags, SDRV_NETFRONT_CSUM_BLANK);
	/* GSO. */
	fill(f, 65535, 4);
	be_rx_frame(&w, f, 65535, 4096, 0, SDRV_NETIF_PKT_CSUM_BLANK, SDRV_NETIF_GSO_TYPE_TCPV4,
		    1448);
	DRIVE_UNTIL(&w, w.nrx == 4, 5000);
	ck_assert_uint_eq(w.rx[3].len, 65535);
	ck_assert(memcmp(w.rx[3].data, f, 65535) == 0);
	ck_assert_uint_eq(w.rx[3].off.gso_type, SDRV_NETIF_GSO_TYPE_TCPV4);
	ck_assert_uint_eq(w.rx[3].off.gso_size, 1448);
	/* Many more frames than buffers: they are posted again. */
	for (unsigned i = 0; i < 600; i++) {
		fill(f, 200 + i, 100 + i);
		DRIVE_UNTIL(&w, be_take_rx(&w) >= 1, 5000);
		be_rx_frame(&w, f, 200 + i, 4096, 0, 0, 0, 0);
		if (i % 32 == 31 || i == 599) {
			DRIVE_UNTIL(&w, (sdrv_netfront_stats(w.nf, &st), st.rx_packets == 5 + i),
				    5000);
			rx_reset(&w);
		}
	}
	sdrv_netfront_stats(w.nf, &st);
	ck_assert_uint_eq(st.rx_packets, 604);
	ck_assert_uint_eq(st.rx_dropped, 0);
	ck_assert_ptr_null(sdrv_netfront_broken(w.nf));
	world_stop(&w);
	free(f);
}
END_TEST

/* Malformed packets (what Linux drops) are dropped; the device goes on. */
START_TEST(rx_drops)
{
	unsigned char f[100];
	struct sdrv_netfront_stats st = {.sz = sizeof(st)};
	struct world w;

	up(&w, true, true);
	DRIVE_UNTIL(&w, be_take_rx(&w) == 256, 5000);
	be_rx_raw(&w, -1, 0, 0, SDRV_NETIF_RSP_ERROR); /* bad status */
	be_rx_raw(&w, -1, 0, 0, 0);		       /* no bytes */
	be_rx_raw(&w, -1, 4000, 0, 200);	       /* offset + size > 4096 */
	DRIVE_UNTIL(&w, (sdrv_netfront_stats(w.nf, &st), st.rx_dropped == 3), 5000);
	ck_assert_ptr_null(sdrv_netfront_broken(w.nf));
	ck_assert_int_gt(w.nerr, 0);
	fill(f, sizeof(f), 7);
	be_rx_frame(&w, f, sizeof(f), 4096, 0, 0, 0, 0);
	DRIVE_UNTIL(&w, w.nrx == 1, 5000);
	ck_assert(memcmp(w.rx[0].data, f, sizeof(f)) == 0);
	/* The three buffers came back: all 256 are posted again. */
	DRIVE_UNTIL(&w, be_take_rx(&w) == 256, 5000);
	world_stop(&w);
}
END_TEST

enum evil {
	RX_BAD_ID,
	RX_PROD_JUMP,
	RX_EXTRA_CHAIN,
	TX_BAD_ID,
	TX_DUP,
	TX_BAD_STATUS,
	TX_PROD_JUMP,
	TX_NULL
};

static void hostile(enum evil e, const char *expect)
{
	struct txpkt *p = malloc(sizeof(*p));
	unsigned char f[3000];
	struct world w;

	up(&w, true, true);
	DRIVE_UNTIL(&w, be_take_rx(&w) == 256, 5000);
	fill(f, sizeof(f), 1);
	switch (e) {
	case RX_BAD_ID:
		be_rx_raw(&w, (w.rxq[0].id + 1) % 256, 0, 0, 60);
		break;
	case RX_PROD_JUMP:
		__atomic_store_n(&w.brx.sring->rsp_prod, 1000u, __ATOMIC_RELEASE);
		be_notify(&w);
		break;
	case RX_EXTRA_CHAIN:
		/* More data slots than any backend's packet needs. */
		for (int i = 0; i < 22; i++) {
			struct sdrv_netif_rx_response r = {
			    .offset = 0, .flags = SDRV_NETRXF_MORE_DATA, .status = 100};
			void *slot;

			be_take_rx(&w);
			r.id = w.rxq[0].id;
			memmove(w.rxq, w.rxq + 1, (w.nrxq - 1) * sizeof(w.rxq[0]));
			w.nrxq--;
			slot = sdrv_ring_back_next_rsp(&w.brx);
			memcpy(slot, &r, sizeof(r));
		}
		sdrv_ring_back_push(&w.brx);
		be_notify(&w);
		break;
	default: {
		struct sdrv_netif_tx_response r = {.id = 0, .status = 0};
		void *slot;

		ck_assert_int_eq(sdrv_netfront_send(w.nf, f, sizeof(f), NULL), 0);
		ck_assert_int_eq(sdrv_netfront_send(w.nf, f, sizeof(f), NULL), 0);
		be_tx_wait(&w, p, false);
		be_tx_wait(&w, p, false);
		if (e == TX_PROD_JUMP) {
			__atomic_store_n(&w.btx.sring->rsp_prod, 50u, __ATOMIC_RELEASE);
			be_notify(&w);
			break;
		}
		r.id = p->pkt.frag[0].id;
		if (e == TX_BAD_ID)
			r.id = (uint16_t)(r.id + 1000);
		if (e == TX_BAD_STATUS)
			r.status = 9;
		if (e == TX_NULL)
			r.status = SDRV_NETIF_RSP_NULL;
		slot = sdrv_ring_back_next_rsp(&w.btx);
		ck_assert_int_eq(sdrv_netif_tx_encode_rsp(&r, slot, 12),
				 e == TX_BAD_STATUS ? -22 : 0);
		if (e == TX_BAD_STATUS)
			memcpy(slot, &r, sizeof(r));
		if (e == TX_DUP) {
			slot = sdrv_ring_back_next_rsp(&w.btx);
			ck_assert_int_eq(sdrv_netif_tx_encode_rsp(&r, slot, 12), 0);
		}
		sdrv_ring_back_push(&w.btx);
		be_notify(&w);
		break;
	}
	}
	DRIVE_UNTIL(&w, sdrv_netfront_broken(w.nf) != NULL, 5000);
	ck_assert_msg(strstr(sdrv_netfront_broken(w.nf), expect) != NULL, "reason: %s",
		      sdrv_netfront_broken(w.nf));
	ck_assert_msg(strstr(w.last_err, expect) != NULL, "log: %s", w.last_err);
	ck_assert(!sdrv_netfront_connected(w.nf));
	ck_assert_int_eq(w.link_downs, 1);
	ck_assert_int_eq(sdrv_netfront_send(w.nf, f, 100, NULL), -EIO);
	ck_assert_int_eq(sdrv_netfront_process(w.nf), -EIO);
	/* The frontend closes the device. */
	DRIVE_UNTIL(&w, key_is(&w, FEDIR, "state", "5"), 5000);
	world_stop(&w);
	free(p);
}

START_TEST(hostile_rx_bad_id)
{
	hostile(RX_BAD_ID, "with the id");
}
END_TEST

START_TEST(hostile_rx_prod_jump)
{
	hostile(RX_PROD_JUMP, "producer index");
}
END_TEST

START_TEST(hostile_rx_extra_chain)
{
	hostile(RX_EXTRA_CHAIN, "receive protocol");
}
END_TEST

START_TEST(hostile_tx_bad_id)
{
	hostile(TX_BAD_ID, "not in flight");
}
END_TEST

START_TEST(hostile_tx_dup)
{
	hostile(TX_DUP, "not in flight");
}
END_TEST

START_TEST(hostile_tx_bad_status)
{
	hostile(TX_BAD_STATUS, "status 9");
}
END_TEST

START_TEST(hostile_tx_prod_jump)
{
	hostile(TX_PROD_JUMP, "producer index");
}
END_TEST

START_TEST(hostile_tx_null)
{
	hostile(TX_NULL, "NULL transmit response");
}
END_TEST

static void bad_mac(const char *mac, const char *expect)
{
	struct world w;

	world_start(&w, mac);
	be_offer(&w, true, true);
	fe_new(&w);
	DRIVE_UNTIL(&w, sdrv_netfront_broken(w.nf) != NULL, 5000);
	ck_assert_msg(strstr(sdrv_netfront_broken(w.nf), expect) != NULL, "reason: %s",
		      sdrv_netfront_broken(w.nf));
	ck_assert_msg(strstr(w.last_err, expect) != NULL, "log: %s", w.last_err);
	DRIVE_UNTIL(&w, key_is(&w, FEDIR, "state", "5") || key_is(&w, FEDIR, "state", "6"), 5000);
	ck_assert_int_eq(w.link_ups, 0);
	world_stop(&w);
}

START_TEST(mac_malformed)
{
	bad_mac("00:16:3e:zz:00:01", "not a MAC address");
	bad_mac("00:16:3e:00:00:01:02", "not a MAC address");
	bad_mac("00-16-3e-00-00-01", "not a MAC address");
	bad_mac("01:00:5e:00:00:01", "multicast");
	bad_mac(NULL, "no mac key");
}
END_TEST

/* A backend whose key `key` is `val` when it goes Connected: the frontend
 * breaks with a reason containing `expect`, and the link never comes up. */
static void bad_be_key(const char *key, const char *val, const char *expect)
{
	struct world w;

	world_start(&w, MAC);
	be_offer(&w, true, true);
	wr(&w, BEDIR, key, val);
	fe_new(&w);
	be_go_connected(&w);
	DRIVE_UNTIL(&w, sdrv_netfront_broken(w.nf) != NULL, 5000);
	ck_assert_msg(strstr(sdrv_netfront_broken(w.nf), expect) != NULL, "%s = \"%s\": reason: %s",
		      key, val, sdrv_netfront_broken(w.nf));
	ck_assert_msg(!sdrv_netfront_connected(w.nf) && w.link_ups == 0,
		      "%s = \"%s\": connected anyway", key, val);
	world_stop(&w);
}

START_TEST(backend_keys_malformed)
{
	bad_be_key("feature-sg", "x", "feature-sg is malformed");
	bad_be_key("feature-gso-tcpv4", "-1", "feature-gso-tcpv4 is malformed");
	bad_be_key("feature-gso-tcpv6", "4294967296", "feature-gso-tcpv6 is malformed");
	bad_be_key("feature-rx-copy", "0", "does not offer feature-rx-copy");
	bad_be_key("feature-rx-copy", "", "feature-rx-copy is malformed");
	bad_be_key("mtu", "x", "mtu is malformed or out of range");
	bad_be_key("mtu", "67", "mtu is malformed or out of range");
	bad_be_key("mtu", "65536", "mtu is malformed or out of range");
}
END_TEST

/* The backend's domain dies: the link goes down, and comes back up with
 * a new backend. */
START_TEST(backend_restart)
{
	struct txpkt *p = malloc(sizeof(*p));
	unsigned char f[1000];
	struct world w;
	uint64_t end;

	up(&w, true, true);
	be_unmap(&w);
	sdrv_xport_close(w.bx);
	DRIVE_UNTIL(&w, w.link_downs == 1, 5000);
	ck_assert(!sdrv_netfront_connected(w.nf));
	ck_assert_ptr_null(sdrv_netfront_broken(w.nf));
	/* A new backend: the broker may hold the dead domain a moment. */
	end = tu_now_ns() + (uint64_t)ms(5000) * 1000000ull;
	while (!(w.bx = open_xport(w.broker, BE))) {
		ck_assert(tu_now_ns() < end);
		drive(&w, 5);
	}
	/* It resets the device through Closing, as a restarted backend does. */
	wr(&w, BEDIR, "state", "5");
	DRIVE_UNTIL(&w,
		    key_is(&w, FEDIR, "state", "5") || key_is(&w, FEDIR, "state", "6") ||
			key_is(&w, FEDIR, "state", "1"),
		    5000);
	wr(&w, BEDIR, "state", "6");
	drive(&w, 20);
	wr(&w, BEDIR, "state", "2");
	be_connect(&w);
	ck_assert_int_eq(w.link_ups, 2);
	fill(f, sizeof(f), 3);
	ck_assert_int_eq(sdrv_netfront_send(w.nf, f, sizeof(f), NULL), 0);
	be_tx_wait(&w, p, true);
	ck_assert(memcmp(p->data, f, sizeof(f)) == 0);
	world_stop(&w);
	free(p);
}
END_TEST

/* An event storm without work costs bounded wake-ups (late EOI) and
 * breaks nothing. */
START_TEST(event_storm)
{
	struct txpkt *p = malloc(sizeof(*p));
	struct sdrv_netfront_stats st = {.sz = sizeof(st)};
	unsigned char f[500];
	struct world w;
	uint64_t end;

	up(&w, true, true);
	end = tu_now_ns() + (uint64_t)ms(300) * 1000000ull;
	while (tu_now_ns() < end) {
		for (int i = 0; i < 50; i++)
			sdrv_evtchn_notify(w.bx, w.bport);
		drive(&w, 0);
	}
	sdrv_netfront_stats(w.nf, &st);
	ck_assert_ptr_null(sdrv_netfront_broken(w.nf));
	ck_assert(sdrv_netfront_connected(w.nf));
	fill(f, sizeof(f), 8);
	ck_assert_int_eq(sdrv_netfront_send(w.nf, f, sizeof(f), NULL), 0);
	be_tx_wait(&w, p, true);
	ck_assert(memcmp(p->data, f, sizeof(f)) == 0);
	world_stop(&w);
	free(p);
}
END_TEST

static Suite *netfront_suite(void)
{
	Suite *s = suite_create("netfront");
	TCase *tc = tcase_create("netfront");

	tcase_set_timeout(tc, tu_under_valgrind() ? 600 : 60);
	tcase_add_test(tc, handshake);
	tcase_add_test(tc, tx_frames);
	tcase_add_test(tc, tx_no_features);
	tcase_add_test(tc, tx_in_place);
	tcase_add_test(tc, rx_frames);
	tcase_add_test(tc, rx_in_place);
	tcase_add_test(tc, rx_drops);
	tcase_add_test(tc, hostile_rx_bad_id);
	tcase_add_test(tc, hostile_rx_prod_jump);
	tcase_add_test(tc, hostile_rx_extra_chain);
	tcase_add_test(tc, hostile_tx_bad_id);
	tcase_add_test(tc, hostile_tx_dup);
	tcase_add_test(tc, hostile_tx_bad_status);
	tcase_add_test(tc, hostile_tx_prod_jump);
	tcase_add_test(tc, hostile_tx_null);
	tcase_add_test(tc, mac_malformed);
	tcase_add_test(tc, backend_keys_malformed);
	tcase_add_test(tc, backend_restart);
	tcase_add_test(tc, event_storm);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(netfront_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
