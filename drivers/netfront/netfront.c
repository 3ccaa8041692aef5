/* SPDX-License-Identifier: MIT */
/*
 * netfront: the frontend of a split network device (include/splitdrv/netfront.h).
 *
 * The xenbus front object runs the XenbusState machine; its callbacks are
 * ours: publish grants the two rings, allocates the event channel and
 * writes the keys Linux's xen-netfront writes; connect reads what the
 * backend offers, grants the transmit and receive pools and posts every
 * receive buffer; disconnect takes it all down. Every slot the backend
 * writes goes through the netif codec (proto/netif.h); everything it
 * answers is checked against what is in flight.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "netfront-int.h"

#define DEV_TYPE  "vif"
#define TAG_XPORT 1u
#define TAG_XS	  2u
#define TAG_KICK  3u
/* Work per sdrv_netfront_process(). */
#define PORT_BUDGET 64u
#define SLOT_BUDGET 2048u
#define TX_BATCH    64u
#define RX_SLOTS    SDRV_NETIF_RX_MAX_PACKET_SLOTS
#define SEND_FLAGS  (SDRV_NETFRONT_CSUM_BLANK | SDRV_NETFRONT_DATA_VALIDATED | SDRV_NETFRONT_MORE)

_Static_assert(SDRV_NETFRONT_CSUM_BLANK == SDRV_NETIF_PKT_CSUM_BLANK &&
		   SDRV_NETFRONT_DATA_VALIDATED == SDRV_NETIF_PKT_DATA_VALIDATED,
	       "the offload flags are the codec's packet flags");

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void nf_log(struct sdrv_netfront *nf, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void nf_log(struct sdrv_netfront *nf, int level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!nf->o.log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	nf->o.log(nf->o.log_ctx, level, msg);
}

static void nf_kick(struct sdrv_netfront *nf)
{
	uint64_t one = 1;

	if (nf->kicked || nf->kickfd < 0)
		return;
	if (write(nf->kickfd, &one, sizeof(one)) == (ssize_t)sizeof(one))
		nf->kicked = true;
}

static void link_down(struct sdrv_netfront *nf)
{
	bool was = nf->connected;

	nf->connected = false;
	if (was && nf->o.link)
		nf->o.link(nf->o.ctx, false);
}

/*
 * Break the device for good: the first reason is kept, nothing the backend
 * writes is used from now on, the device goes Closing (as Linux's
 * xenbus_dev_fatal()). The rings go at the disconnect, or at free.
 */
static void nf_break(struct sdrv_netfront *nf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void nf_break(struct sdrv_netfront *nf, const char *fmt, ...)
{
	va_list ap;

	if (nf->broken)
		return;
	va_start(ap, fmt);
	vsnprintf(nf->broken_buf, sizeof(nf->broken_buf), fmt, ap);
	va_end(ap);
	nf->broken = nf->broken_buf;
	nf_log(nf, LOG_ERR, "vif %u: %s; the device is closed", nf->o.handle, nf->broken);
	link_down(nf);
	nf_kick(nf);
	if (nf->xf && !nf->closing)
		sdrv_xenbus_front_shutdown(nf->xf);
}

/* ------------------------------------------------------------------------ */
/* Grants */

static void bury(struct sdrv_netfront *nf, void *mem, uint32_t n)
{
	struct nf_grave *g = malloc(sizeof(*g));

	if (!g) {
		nf_log(nf, LOG_ERR, "out of memory: %u granted pages left to the backend", n);
		return;
	}
	g->mem = mem;
	g->n = n;
	g->next = nf->graves;
	nf->graves = g;
	nf->grave_pages += n;
}

static void unshare(struct sdrv_netfront *nf, void *mem, uint32_t n)
{
	if (mem && sdrv_gnt_unshare(nf->x, mem, n) == -EBUSY)
		bury(nf, mem, n);
}

static void reap_graves(struct sdrv_netfront *nf)
{
	struct nf_grave **pp = &nf->graves;

	while (*pp) {
		struct nf_grave *g = *pp;

		if (sdrv_gnt_unshare(nf->x, g->mem, g->n) == -EBUSY) {
			pp = &g->next;
			continue;
		}
		nf->grave_pages -= g->n;
		*pp = g->next;
		free(g);
	}
}

/* Take everything down: pools, rings, port. Idempotent. */
static void teardown(struct sdrv_netfront *nf)
{
	if (nf->in_teardown)
		return;
	nf->in_teardown = true;
	link_down(nf);
	unshare(nf, nf->tx_mem, nf->tx_pages);
	unshare(nf, nf->rx_mem, nf->rx_bufs);
	nf->tx_mem = nf->rx_mem = NULL;
	if (nf->have_port)
		sdrv_evtchn_close(nf->x, nf->port);
	nf->have_port = nf->woken = nf->need_notify = false;
	nf->port = 0;
	unshare(nf, nf->ring_mem, 2);
	nf->ring_mem = NULL;
	memset(&nf->txr, 0, sizeof(nf->txr));
	memset(&nf->rxr, 0, sizeof(nf->rxr));
	nf->tx_nfree = nf->rx_nfree = nf->tx_nulls = 0;
	nf->rx_npend = nf->rx_prod = nf->rx_cons = 0;
	nf->work_since_eoi = 0;
	memset(nf->tx_busy, 0, sizeof(nf->tx_busy));
	nf->published = false;
	nf->in_teardown = false;
}

/* ------------------------------------------------------------------------ */
/* Notifications */

static void notify(struct sdrv_netfront *nf)
{
	if (!nf->need_notify || !nf->have_port)
		return;
	nf->need_notify = false;
	if (sdrv_evtchn_notify(nf->x, nf->port) == 0)
		nf->st.notifies++;
}

/* ------------------------------------------------------------------------ */
/* Receive */

/* Post every free buffer the ring has room for. */
static void rx_refill(struct sdrv_netfront *nf)
{
	uint32_t mask = sdrv_ring_nr_ents(&nf->rxr) - 1;

	while (nf->rx_nfree > 0) {
		struct sdrv_netif_rx_request req;
		void *slot = sdrv_ring_front_next_req(&nf->rxr);
		uint16_t b, pos;

		if (!slot)
			break;
		b = nf->rx_free[--nf->rx_nfree];
		pos = (uint16_t)(nf->rx_prod++ & mask);
		nf->pos_buf[pos] = b;
		req.id = pos;
		req._pad0 = 0;
		req.gref = nf->rx_ref[b];
		(void)sdrv_netif_rx_encode_req(&req, slot, SDRV_NETIF_RX_ENTRY_SIZE);
	}
	if (sdrv_ring_front_push(&nf->rxr))
		nf->need_notify = true;
}

/* The first `n` pending slots are done with: their buffers are free again. */
static void rx_consume(struct sdrv_netfront *nf, uint32_t n)
{
	for (uint32_t k = 0; k < n; k++)
		nf->rx_free[nf->rx_nfree++] = nf->pend_buf[k];
	nf->rx_npend -= n;
	memmove(nf->rx_pend, nf->rx_pend + (size_t)n * SDRV_NETIF_RX_ENTRY_SIZE,
		(size_t)nf->rx_npend * SDRV_NETIF_RX_ENTRY_SIZE);
	memmove(nf->pend_buf, nf->pend_buf + n, nf->rx_npend * sizeof(nf->pend_buf[0]));
	memmove(nf->pend_id, nf->pend_id + n, nf->rx_npend * sizeof(nf->pend_id[0]));
}

static int rx_deliver(struct sdrv_netfront *nf, const struct sdrv_netif_rx_pkt *pkt)
{
	struct iovec iov[SDRV_NETIF_RX_MAX_FRAGS];
	struct sdrv_netfront_offload off;
	size_t len = 0;

	for (uint32_t i = 0; i < pkt->nr_frags; i++) {
		const struct sdrv_netif_rx_frag *fr = &pkt->frag[i];

		if (fr->slot >= nf->rx_npend || fr->id != nf->pend_id[fr->slot]) {
			nf_break(nf,
				 "the backend answered the receive request %u with the id %u (a "
				 "response must echo the id of the request in its slot)",
				 fr->slot < nf->rx_npend ? nf->pend_id[fr->slot] : 0u, fr->id);
			return -EIO;
		}
		if (len + fr->size > SDRV_NETIF_RX_MAX_SIZE) { /* the codec bounds it */
			nf_break(nf, "a received packet is larger than %u bytes",
				 SDRV_NETIF_RX_MAX_SIZE);
			return -EIO;
		}
		iov[i].iov_base =
		    nf->rx_mem + (size_t)nf->pend_buf[fr->slot] * NF_PAGE + fr->offset;
		iov[i].iov_len = fr->size;
		if (!nf->o.rxv)
			memcpy(nf->rx_frame + len, iov[i].iov_base, fr->size);
		len += fr->size;
	}
	memset(&off, 0, sizeof(off));
	off.flags = pkt->flags & (SDRV_NETFRONT_CSUM_BLANK | SDRV_NETFRONT_DATA_VALIDATED);
	if (pkt->extras & SDRV_NETIF_EXTRA_BIT(SDRV_NETIF_EXTRA_TYPE_GSO)) {
		off.gso_type = pkt->gso.type;
		off.gso_size = pkt->gso.size;
	}
	nf->st.rx_packets++;
	nf->st.rx_bytes += len;
	if (nf->o.rxv) {
		/* in place: the buffers are reposted only after the callback */
		nf->o.rxv(nf->o.ctx, iov, pkt->nr_frags, len, &off);
		rx_consume(nf, pkt->nr_slots);
		return 0;
	}
	rx_consume(nf, pkt->nr_slots);
	if (nf->o.rx)
		nf->o.rx(nf->o.ctx, nf->rx_frame, len, &off);
	return 0;
}

/* Take the receive responses, deliver the packets; the number of slots taken. */
static int rx_take(struct sdrv_netfront *nf, uint32_t budget)
{
	uint32_t mask = sdrv_ring_nr_ents(&nf->rxr) - 1, taken = 0;

	while (!nf->broken && nf->connected && taken < budget) {
		struct sdrv_netif_rx_pkt pkt;
		uint32_t room = RX_SLOTS - nf->rx_npend;
		int32_t n = 0;
		int rc;

		if (room) {
			n = sdrv_ring_front_take_rsps(
			    &nf->rxr, nf->rx_pend + (size_t)nf->rx_npend * SDRV_NETIF_RX_ENTRY_SIZE,
			    room);
			if (n < 0) {
				nf_break(nf, "receive ring: %s", sdrv_ring_broken(&nf->rxr));
				return -EIO;
			}
			for (int32_t i = 0; i < n; i++) {
				uint16_t pos = (uint16_t)(nf->rx_cons++ & mask);

				nf->pend_buf[nf->rx_npend] = nf->pos_buf[pos];
				nf->pend_id[nf->rx_npend++] = pos;
			}
			taken += (uint32_t)n;
		}
		if (nf->rx_npend == 0)
			break;
		memset(&pkt, 0, sizeof(pkt));
		rc = sdrv_netif_rx_decode(nf->rx_pend, nf->rx_npend, &pkt);
		if (rc == -SDRV_EAGAIN) {
			if (nf->rx_npend == RX_SLOTS) {
				nf_break(nf, "a received packet has more slots than any can have");
				return -EIO;
			}
			if (n == 0)
				break; /* the rest of the packet is not there yet */
			continue;
		}
		if (rc == -SDRV_EPROTO) {
			nf_break(nf, "the backend broke the receive protocol: %s",
				 sdrv_netif_reason(pkt.reason));
			return -EIO;
		}
		if (pkt.nr_slots == 0 || pkt.nr_slots > nf->rx_npend) {
			nf_break(nf, "the netif codec returned %d with %u slots", rc, pkt.nr_slots);
			return -EIO;
		}
		if (rc == -SDRV_EBADMSG) {
			/* As Linux netfront: a packet error, not the end of the
			 * device. The first few are logged as warnings. */
			nf->st.rx_dropped++;
			nf_log(nf, nf->st.rx_dropped <= 10 ? LOG_WARNING : LOG_DEBUG,
			       "vif %u: dropped a malformed received packet of %u slots: %s%s",
			       nf->o.handle, pkt.nr_slots, sdrv_netif_reason(pkt.reason),
			       nf->st.rx_dropped == 10
				   ? " (further drops are logged at debug level)"
				   : "");
			rx_consume(nf, pkt.nr_slots);
			continue;
		}
		if (rc != 0) {
			nf_break(nf, "decoding a received packet failed: %s",
				 sdrv_netif_strerror(rc));
			return -EIO;
		}
		if (rx_deliver(nf, &pkt) < 0)
			return -EIO;
	}
	if (!nf->broken && nf->connected)
		rx_refill(nf);
	nf->work_since_eoi += taken;
	return (int)taken;
}

/* ------------------------------------------------------------------------ */
/* Transmit */

static int tx_take(struct sdrv_netfront *nf, uint32_t budget)
{
	unsigned char buf[TX_BATCH * SDRV_NETIF_TX_ENTRY_SIZE];
	uint32_t taken = 0;

	while (!nf->broken && taken < budget) {
		int32_t n = sdrv_ring_front_take_rsps(&nf->txr, buf, TX_BATCH);

		if (n < 0) {
			nf_break(nf, "transmit ring: %s", sdrv_ring_broken(&nf->txr));
			return -EIO;
		}
		if (n == 0)
			break;
		taken += (uint32_t)n;
		for (int32_t i = 0; i < n; i++) {
			struct sdrv_netif_tx_response r;

			if (sdrv_netif_tx_decode_rsp(buf + (size_t)i * SDRV_NETIF_TX_ENTRY_SIZE,
						     SDRV_NETIF_TX_ENTRY_SIZE, &r) < 0) {
				nf_break(nf,
					 "the backend answered a transmit request with status %d",
					 r.status);
				return -EIO;
			}
			if (r.status == SDRV_NETIF_RSP_NULL) {
				if (nf->tx_nulls == 0) {
					nf_break(nf,
						 "the backend sent a NULL transmit response with "
						 "no extra-info slot in flight");
					return -EIO;
				}
				nf->tx_nulls--;
				continue;
			}
			if (r.id >= nf->tx_pages || !nf->tx_busy[r.id]) {
				nf_break(
				    nf,
				    "the backend answered the transmit request %u, which is not in "
				    "flight",
				    r.id);
				return -EIO;
			}
			nf->tx_busy[r.id] = false;
			nf->tx_free[nf->tx_nfree++] = r.id;
			if (nf->tx_first[r.id] && r.status != SDRV_NETIF_RSP_OKAY)
				nf->st.tx_errors++;
		}
	}
	nf->work_since_eoi += taken;
	return (int)taken;
}

static int state_error(const struct sdrv_netfront *nf)
{
	if (nf->gone)
		return -ENODEV;
	if (nf->broken)
		return -EIO;
	if (!nf->connected || nf->closing)
		return -ENOTCONN;
	return 0;
}

/* Send `len` bytes: copied from `frame`, or (frame NULL) already in the
 * pages sdrv_netfront_tx_buffers() handed out, which are the next ones
 * taken from the free stack. */
static int tx_submit(struct sdrv_netfront *nf, const void *frame, size_t len,
		     const struct sdrv_netfront_offload *off)
{
	struct sdrv_netif_tx_pkt pkt;
	uint32_t flags = off ? off->flags : 0, nfrags, nslots;
	bool gso = off && off->gso_type != SDRV_NETIF_GSO_TYPE_NONE;
	int rc;

	if ((rc = state_error(nf)))
		return rc;
	if (len < SDRV_NETFRONT_MIN_FRAME || len > SDRV_NETFRONT_MAX_FRAME)
		return -EMSGSIZE;
	if (flags & ~SEND_FLAGS)
		return -EINVAL;
	if (gso) {
		uint32_t need =
		    off->gso_type == SDRV_NETIF_GSO_TYPE_TCPV4	 ? SDRV_NETFRONT_F_GSO_TCPV4
		    : off->gso_type == SDRV_NETIF_GSO_TYPE_TCPV6 ? SDRV_NETFRONT_F_GSO_TCPV6
								 : 0;

		if (!need || off->gso_size == 0)
			return -EINVAL;
		if (!(nf->features & need))
			return -EOPNOTSUPP;
	}
	nfrags = (uint32_t)((len + NF_PAGE - 1) / NF_PAGE);
	if (nfrags > 1 && !(nf->features & SDRV_NETFRONT_F_SG))
		return -EMSGSIZE;
	nslots = nfrags + (gso ? 1u : 0u);
	if (sdrv_ring_front_free(&nf->txr) < nslots || nf->tx_nfree < nfrags) {
		nf->st.tx_busy++;
		/* Whatever waits with SDRV_NETFRONT_MORE goes now, so the
		 * backend answers and frees space. */
		notify(nf);
		return -EAGAIN;
	}
	memset(&pkt, 0, sizeof(pkt));
	pkt.nr_frags = (uint16_t)nfrags;
	pkt.flags = (uint16_t)(flags & (SDRV_NETIF_PKT_CSUM_BLANK | SDRV_NETIF_PKT_DATA_VALIDATED));
	if (gso) {
		pkt.extras = SDRV_NETIF_EXTRA_BIT(SDRV_NETIF_EXTRA_TYPE_GSO);
		pkt.gso.size = off->gso_size;
		pkt.gso.type = (uint8_t)off->gso_type;
	}
	for (uint32_t k = 0; k < nfrags; k++) {
		uint16_t pg = nf->tx_free[nf->tx_nfree - 1 - k];
		size_t at = (size_t)k * NF_PAGE, sz = len - at < NF_PAGE ? len - at : NF_PAGE;

		if (frame)
			memcpy(nf->tx_mem + (size_t)pg * NF_PAGE, (const unsigned char *)frame + at,
			       sz);
		pkt.frag[k].gref = nf->tx_ref[pg];
		pkt.frag[k].offset = 0;
		pkt.frag[k].size = (uint16_t)sz;
		pkt.frag[k].id = pg;
	}
	if (sdrv_netif_tx_prepare(&pkt) < 0)
		return -EINVAL;
	for (uint32_t k = 0; k < pkt.nr_slots; k++) {
		void *slot = sdrv_ring_front_next_req(&nf->txr);

		/* Room was checked above; the codec never wants more slots. */
		if (!slot ||
		    sdrv_netif_tx_encode_req(&pkt, k, slot, SDRV_NETIF_TX_ENTRY_SIZE) < 0) {
			nf_break(nf, "writing a transmit request failed");
			return -EIO;
		}
	}
	for (uint32_t k = 0; k < nfrags; k++) {
		uint16_t pg = nf->tx_free[--nf->tx_nfree];

		nf->tx_busy[pg] = true;
		nf->tx_first[pg] = k == 0;
	}
	nf->tx_nulls += pkt.nr_extras;
	nf->st.tx_packets++;
	nf->st.tx_bytes += len;
	if (sdrv_ring_front_push(&nf->txr))
		nf->need_notify = true;
	if (!(flags & SDRV_NETFRONT_MORE))
		notify(nf);
	return 0;
}

SDRV_API int sdrv_netfront_send(struct sdrv_netfront *nf, const void *frame, size_t len,
				const struct sdrv_netfront_offload *off)
{
	if (!frame)
		return state_error(nf) ? state_error(nf) : -EINVAL;
	return tx_submit(nf, frame, len, off);
}

/* Pages for a frame of the largest size the backend takes. */
static uint32_t tx_max_frags(const struct sdrv_netfront *nf)
{
	return (nf->features & SDRV_NETFRONT_F_SG)
		   ? (SDRV_NETFRONT_MAX_FRAME + NF_PAGE - 1) / NF_PAGE
		   : 1u;
}

SDRV_API int sdrv_netfront_tx_buffers(struct sdrv_netfront *nf, struct iovec *iov, unsigned int max)
{
	uint32_t n;
	int rc;

	if ((rc = state_error(nf)))
		return rc;
	if (!iov || !max)
		return -EINVAL;
	n = tx_max_frags(nf);
	if (n > max)
		n = max;
	if (nf->tx_nfree < n || sdrv_ring_front_free(&nf->txr) < n + 1) {
		nf->st.tx_busy++;
		notify(nf);
		return -EAGAIN;
	}
	/* the pages tx_submit() takes next, in the order it takes them */
	for (uint32_t k = 0; k < n; k++) {
		iov[k].iov_base = nf->tx_mem + (size_t)nf->tx_free[nf->tx_nfree - 1 - k] * NF_PAGE;
		iov[k].iov_len = NF_PAGE;
	}
	return (int)n;
}

SDRV_API int sdrv_netfront_send_buffers(struct sdrv_netfront *nf, size_t len,
					const struct sdrv_netfront_offload *off)
{
	return tx_submit(nf, NULL, len, off);
}

SDRV_API int sdrv_netfront_flush(struct sdrv_netfront *nf)
{
	int rc = state_error(nf);

	if (rc == 0)
		notify(nf);
	return rc;
}

SDRV_API bool sdrv_netfront_writable(const struct sdrv_netfront *nf)
{
	uint32_t frags = tx_max_frags(nf);

	return state_error(nf) == 0 && nf->tx_nfree >= frags &&
	       sdrv_ring_front_free(&nf->txr) >= frags + 1;
}

/* ------------------------------------------------------------------------ */
/* xenbus callbacks */

/* A value for a message: at most 40 printable bytes. */
static void printable(const char *v, char *out, size_t size)
{
	size_t i;

	for (i = 0; v[i] && i + 1 < size && i < 40; i++)
		out[i] = (v[i] >= 0x20 && v[i] < 0x7f && v[i] != '"') ? v[i] : '?';
	out[i] = 0;
}

static int read_mac(struct sdrv_netfront *nf, uint32_t tx)
{
	char *v = NULL, raw[48];
	int rc = sdrv_xenbus_read_str(nf->xs, tx, sdrv_xenbus_front_dir(nf->xf), "mac", 64, &v);

	if (rc == -ENOENT) {
		nf_break(nf, "the device has no mac key");
		return -EINVAL;
	}
	if (rc < 0) {
		nf_break(nf, "reading the device's mac key failed: %s", strerror(-rc));
		return rc;
	}
	rc = sdrv_netif_parse_mac(v, nf->mac); /* six two-digit hex bytes */
	printable(v, raw, sizeof(raw));
	free(v);
	if (rc == 1) {
		nf_break(nf, "the device's mac key \"%s\" is a multicast address", raw);
		return -EINVAL;
	}
	if (rc < 0) {
		nf_break(nf, "the device's mac key \"%s\" is not a MAC address (xx:xx:xx:xx:xx:xx)",
			 raw);
		return -EINVAL;
	}
	nf->have_mac = true;
	return 0;
}

static int nf_publish(struct sdrv_xenbus_front *xf, uint32_t tx, void *ctx)
{
	static const char *const ones[] = {"request-rx-copy",	"feature-rx-notify",
					   "feature-sg",	"feature-gso-tcpv4",
					   "feature-gso-tcpv6", "feature-ipv6-csum-offload"};
	struct sdrv_netfront *nf = ctx;
	const char *dir = sdrv_xenbus_front_dir(xf);
	int rc;

	if (nf->broken || nf->gone || nf->closing)
		return -EIO;
	if (!nf->published) {
		teardown(nf);
		reap_graves(nf);
		if ((rc = read_mac(nf, tx)) < 0)
			return rc;
		nf->ring_mem = sdrv_gnt_share(nf->x, nf->be_domid, 2, true, nf->ring_refs);
		if (!nf->ring_mem) {
			rc = -errno;
			nf_break(nf, "granting the rings failed: %s", strerror(-rc));
			return rc;
		}
		if (sdrv_ring_front_init(&nf->txr, nf->ring_mem, NF_PAGE,
					 SDRV_NETIF_TX_ENTRY_SIZE) < 0 ||
		    sdrv_ring_front_init(&nf->rxr, (unsigned char *)nf->ring_mem + NF_PAGE, NF_PAGE,
					 SDRV_NETIF_RX_ENTRY_SIZE) < 0) {
			nf_break(nf, "setting up the rings failed");
			return -EINVAL;
		}
		rc = sdrv_evtchn_alloc_unbound(nf->x, nf->be_domid, &nf->port);
		if (rc < 0) {
			nf_break(nf, "allocating the event channel failed: %s", strerror(-rc));
			return rc;
		}
		nf->have_port = true;
		nf->published = true;
	}
	if ((rc = sdrv_xenbus_write_uint(nf->xs, tx, dir, "tx-ring-ref", nf->ring_refs[0])) < 0 ||
	    (rc = sdrv_xenbus_write_uint(nf->xs, tx, dir, "rx-ring-ref", nf->ring_refs[1])) < 0 ||
	    (rc = sdrv_xenbus_write_uint(nf->xs, tx, dir, SDRV_XENBUS_KEY_EVENT_CHANNEL,
					 nf->port)) < 0)
		return rc;
	for (size_t i = 0; i < sizeof(ones) / sizeof(ones[0]); i++)
		if ((rc = sdrv_xenbus_write_uint(nf->xs, tx, dir, ones[i], 1)) < 0)
			return rc;
	return 0;
}

static int be_bool(struct sdrv_netfront *nf, const char *key, bool dflt, bool *out)
{
	int rc = sdrv_xenbus_read_bool(nf->xs, SDRV_XS_TX_NONE, sdrv_xenbus_front_peer_dir(nf->xf),
				       key, dflt, out);

	if (rc < 0)
		nf_break(nf, "the backend's %s is malformed (%s)", key, strerror(-rc));
	return rc < 0 ? -EINVAL : 0;
}

static int nf_connect(struct sdrv_xenbus_front *xf, void *ctx)
{
	struct sdrv_netfront *nf = ctx;
	bool sg, v4, v6, copy;
	uint64_t mtu;
	int rc;

	(void)xf;
	if (nf->broken || nf->gone || nf->closing || !nf->published)
		return -EIO;
	if ((rc = be_bool(nf, "feature-sg", false, &sg)) < 0 ||
	    (rc = be_bool(nf, "feature-gso-tcpv4", false, &v4)) < 0 ||
	    (rc = be_bool(nf, "feature-gso-tcpv6", false, &v6)) < 0 ||
	    (rc = be_bool(nf, "feature-rx-copy", true, &copy)) < 0)
		return rc;
	if (!copy) {
		nf_break(nf, "the backend does not offer feature-rx-copy");
		return -EINVAL;
	}
	rc = sdrv_xenbus_read_uint(nf->xs, SDRV_XS_TX_NONE, sdrv_xenbus_front_peer_dir(xf), "mtu",
				   65535, 1500, &mtu);
	if ((rc < 0 && rc != -ENOENT) || mtu < 68) {
		nf_break(nf, "the backend's mtu is malformed or out of range (68..65535)");
		return -EINVAL;
	}
	nf->mtu = (uint32_t)mtu;
	nf->features = (sg ? SDRV_NETFRONT_F_SG : 0) | (v4 ? SDRV_NETFRONT_F_GSO_TCPV4 : 0) |
		       (v6 ? SDRV_NETFRONT_F_GSO_TCPV6 : 0);
	nf->tx_mem = sdrv_gnt_share(nf->x, nf->be_domid, nf->tx_pages, false, nf->tx_ref);
	if (nf->tx_mem)
		nf->rx_mem = sdrv_gnt_share(nf->x, nf->be_domid, nf->rx_bufs, true, nf->rx_ref);
	if (!nf->tx_mem || !nf->rx_mem) {
		rc = -errno;
		nf_break(nf, "granting the data pages failed: %s", strerror(-rc));
		return rc;
	}
	nf->tx_nfree = nf->tx_pages;
	for (uint32_t i = 0; i < nf->tx_pages; i++)
		nf->tx_free[i] = (uint16_t)(nf->tx_pages - 1 - i);
	nf->rx_nfree = nf->rx_bufs;
	for (uint32_t i = 0; i < nf->rx_bufs; i++)
		nf->rx_free[i] = (uint16_t)(nf->rx_bufs - 1 - i);
	nf->tx_nulls = nf->rx_npend = 0;
	nf->connected = true;
	rx_refill(nf);
	notify(nf);
	nf->st.connects++;
	nf_log(nf, LOG_INFO,
	       "vif %u: connected to backend domain %u: mac %02x:%02x:%02x:%02x:%02x:%02x, mtu %u, "
	       "sg %s, gso tcpv4 %s, tcpv6 %s",
	       nf->o.handle, nf->be_domid, nf->mac[0], nf->mac[1], nf->mac[2], nf->mac[3],
	       nf->mac[4], nf->mac[5], nf->mtu, sg ? "on" : "off", v4 ? "on" : "off",
	       v6 ? "on" : "off");
	if (nf->o.link)
		nf->o.link(nf->o.ctx, true);
	nf_kick(nf);
	return 0;
}

static void nf_disconnect(struct sdrv_xenbus_front *xf, void *ctx)
{
	(void)xf;
	teardown(ctx);
}

static void nf_gone(struct sdrv_netfront *nf, const char *why)
{
	if (nf->gone)
		return;
	nf->gone = true;
	nf_log(nf, LOG_INFO, "vif %u: %s", nf->o.handle, why);
	teardown(nf);
	nf_kick(nf);
	if (nf->xf && !nf->closing)
		sdrv_xenbus_front_shutdown(nf->xf);
}

static bool backend_offline(struct sdrv_netfront *nf)
{
	char *v = NULL;
	bool off = false;

	if (sdrv_xenbus_read_str(nf->xs, SDRV_XS_TX_NONE, sdrv_xenbus_front_peer_dir(nf->xf),
				 SDRV_XENBUS_KEY_ONLINE, 16, &v) == 0) {
		off = strcmp(v, "0") == 0;
		free(v);
	}
	return off;
}

static void nf_state_changed(struct sdrv_xenbus_front *xf, enum sdrv_xenbus_state self,
			     enum sdrv_xenbus_state peer, void *ctx)
{
	struct sdrv_netfront *nf = ctx;

	(void)xf;
	nf_log(nf, LOG_DEBUG, "vif %u: frontend %s, backend %s", nf->o.handle,
	       sdrv_xenbus_state_name(self), sdrv_xenbus_state_name(peer));
	if (self == SDRV_XENBUS_UNKNOWN && nf->seen_state) {
		nf_gone(nf, "the device was removed");
		return;
	}
	if (self != SDRV_XENBUS_UNKNOWN)
		nf->seen_state = true;
	if ((peer == SDRV_XENBUS_CLOSING || peer == SDRV_XENBUS_CLOSED) && !nf->gone &&
	    !nf->closing && backend_offline(nf))
		nf_gone(nf, "the toolstack removed the device (backend online = 0)");
}

/* ------------------------------------------------------------------------ */
/* The handle */

static void free_handle(struct sdrv_netfront *nf)
{
	if (nf->epfd >= 0)
		close(nf->epfd);
	if (nf->kickfd >= 0)
		close(nf->kickfd);
	free(nf->rx_frame);
	free(nf);
}

static int ep_add(int epfd, int fd, uint32_t tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = tag};

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : -errno;
}

SDRV_API struct sdrv_netfront *sdrv_netfront_new(const struct sdrv_netfront_opts *opts)
{
	struct sdrv_xenbus_front_opts xo;
	struct sdrv_netfront *nf;
	int rc = -EINVAL;

	if (!opts || opts->sz < offsetof(struct sdrv_netfront_opts, flags) + sizeof(uint32_t)) {
		errno = EINVAL;
		return NULL;
	}
	nf = calloc(1, sizeof(*nf));
	if (!nf) {
		errno = ENOMEM;
		return NULL;
	}
	nf->epfd = nf->kickfd = -1;
	memcpy(&nf->o, opts, opts->sz < sizeof(nf->o) ? opts->sz : sizeof(nf->o));
	nf->o.sz = sizeof(nf->o);
	nf->tx_pages = nf->o.tx_pages ? nf->o.tx_pages : NF_MAX_POOL;
	nf->rx_bufs = nf->o.rx_buffers ? nf->o.rx_buffers : NF_MAX_POOL;
	if (!nf->o.xport || !nf->o.xs || nf->o.flags || nf->o.handle > 0xffff ||
	    nf->tx_pages < SDRV_NETIF_TX_MAX_FRAGS || nf->tx_pages > NF_MAX_POOL ||
	    nf->rx_bufs < 32 || nf->rx_bufs > NF_MAX_POOL)
		goto fail;
	nf->x = nf->o.xport;
	nf->xs = nf->o.xs;
	nf->mtu = 1500;
	rc = -ENOMEM;
	nf->rx_frame = malloc(SDRV_NETIF_RX_MAX_SIZE);
	if (!nf->rx_frame)
		goto fail;
	nf->epfd = epoll_create1(EPOLL_CLOEXEC);
	nf->kickfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (nf->epfd < 0 || nf->kickfd < 0) {
		rc = -errno;
		goto fail;
	}
	if ((rc = ep_add(nf->epfd, sdrv_xport_fd(nf->x), TAG_XPORT)) < 0 ||
	    (rc = ep_add(nf->epfd, sdrv_xs_fd(nf->xs), TAG_XS)) < 0 ||
	    (rc = ep_add(nf->epfd, nf->kickfd, TAG_KICK)) < 0)
		goto fail;
	memset(&xo, 0, sizeof(xo));
	xo.sz = sizeof(xo);
	xo.xs = nf->xs;
	xo.domid = sdrv_xport_domid(nf->x);
	xo.type = DEV_TYPE;
	xo.id = nf->o.handle;
	xo.publish = nf_publish;
	xo.connect = nf_connect;
	xo.disconnect = nf_disconnect;
	xo.state_changed = nf_state_changed;
	xo.ctx = nf;
	nf->xf = sdrv_xenbus_front_new(&xo);
	if (!nf->xf) {
		rc = -errno;
		goto fail;
	}
	nf->be_domid = sdrv_xenbus_front_peer_domid(nf->xf);
	return nf;
fail:
	teardown(nf);
	free_handle(nf);
	errno = rc < 0 ? -rc : EINVAL;
	return NULL;
}

SDRV_API int sdrv_netfront_fd(const struct sdrv_netfront *nf)
{
	return nf->epfd;
}

static void handle_xport(struct sdrv_netfront *nf)
{
	struct sdrv_xport_event ev[8];
	uint32_t taken = 0;
	int n;

	(void)sdrv_xport_wait(nf->x, 0); /* the look process() and pending() answer from */
	n = sdrv_xport_process(nf->x, ev, 8);
	if (n < 0) {
		nf_break(nf, "the transport connection failed: %s", strerror(-n));
		return;
	}
	for (int i = 0; i < n; i++) {
		if (ev[i].type != SDRV_XPORT_EV_PEER_DIED || ev[i].domid != nf->be_domid)
			continue;
		/* Keep the rings: the xenbus reset that follows when a new
		 * backend comes takes them down (the transport has reclaimed
		 * the dead domain's mappings by then). */
		nf_log(nf, LOG_WARNING,
		       "vif %u: the backend's domain %u died; waiting for a backend to come back",
		       nf->o.handle, nf->be_domid);
		link_down(nf);
	}
	if (n == 8)
		nf_kick(nf);
	for (;;) {
		sdrv_evtchn_port_t port;
		int r;

		if (taken == PORT_BUDGET) {
			nf_kick(nf);
			break;
		}
		r = sdrv_evtchn_pending(nf->x, &port);
		if (r <= 0)
			break;
		taken++;
		nf->st.wakeups++;
		if (nf->have_port && port == nf->port)
			nf->woken = true;
		else
			sdrv_evtchn_unmask(nf->x, port);
	}
}

static void run_rings(struct sdrv_netfront *nf)
{
	int t, r;
	int32_t a, b;

	t = tx_take(nf, SLOT_BUDGET);
	if (t < 0)
		return;
	r = rx_take(nf, SLOT_BUDGET);
	if (r < 0 || nf->broken || !nf->connected)
		return;
	notify(nf);
	/* Ask to be notified, and look once more (the race with a response
	 * pushed meanwhile). */
	a = sdrv_ring_front_final_check(&nf->txr);
	b = sdrv_ring_front_final_check(&nf->rxr);
	if (a < 0 || b < 0) {
		nf_break(nf, "%s", a < 0 ? sdrv_ring_broken(&nf->txr) : sdrv_ring_broken(&nf->rxr));
		return;
	}
	if (a > 0 || b > 0 || (uint32_t)t >= SLOT_BUDGET || (uint32_t)r >= SLOT_BUDGET)
		nf_kick(nf);
}

static void eoi_port(struct sdrv_netfront *nf)
{
	bool spurious;

	if (!nf->woken)
		return;
	nf->woken = false;
	/* A broken device's channel stays masked. */
	if (!nf->have_port || nf->broken)
		return;
	/* Late EOI (XSA-391): a wake-up that brought nothing is spurious. */
	spurious = nf->work_since_eoi == 0;
	nf->work_since_eoi = 0;
	sdrv_evtchn_eoi(nf->x, nf->port, spurious ? SDRV_EOI_SPURIOUS : 0);
}

static int closed_error(const struct sdrv_netfront *nf)
{
	if (nf->gone)
		return -ENODEV;
	if (nf->broken)
		return -EIO;
	return 0;
}

SDRV_API int sdrv_netfront_process(struct sdrv_netfront *nf)
{
	struct epoll_event ev[8];
	bool xport = false, xs = false;
	int n;

	if (nf->in_process)
		return -EBUSY;
	nf->in_process = true;
	n = epoll_wait(nf->epfd, ev, 8, 0);

	for (int i = 0; i < n; i++) {
		if (ev[i].data.u32 == TAG_XPORT) {
			xport = true;
		} else if (ev[i].data.u32 == TAG_XS) {
			xs = true;
		} else if (ev[i].data.u32 == TAG_KICK) {
			uint64_t v;

			if (read(nf->kickfd, &v, sizeof(v)) < 0) {
				/* EAGAIN: nothing there after all */
			}
			nf->kicked = false;
		}
	}
	if (xport)
		handle_xport(nf);
	if (xs) {
		int rc = sdrv_xs_process(nf->xs);

		if (rc < 0 && rc != -EBUSY && !nf->broken && !nf->gone)
			nf_break(nf, "the store connection failed: %s",
				 sdrv_xs_broken(nf->xs) ? sdrv_xs_broken(nf->xs) : strerror(-rc));
	}
	if (nf->connected && !nf->broken && !nf->gone)
		run_rings(nf);
	eoi_port(nf);
	if (nf->graves)
		reap_graves(nf);
	nf->in_process = false;
	return closed_error(nf);
}

SDRV_API void sdrv_netfront_free(struct sdrv_netfront *nf, int timeout_ms)
{
	uint64_t end;

	if (!nf)
		return;
	if (timeout_ms < 0)
		timeout_ms = 0;
	end = now_ns() + (uint64_t)timeout_ms * 1000000ull;
	notify(nf);
	nf->closing = true;
	if (nf->xf)
		(void)sdrv_xenbus_front_close(nf->xf, timeout_ms);
	teardown(nf);
	/* Pages the backend still maps: retry until the time is up (a dying
	 * backend's mappings are reclaimed by the transport). */
	for (;;) {
		struct sdrv_xport_event ev[8];
		struct pollfd pfd = {.fd = sdrv_xport_fd(nf->x), .events = POLLIN};

		reap_graves(nf);
		if (!nf->graves || now_ns() >= end)
			break;
		(void)poll(&pfd, 1, 5);
		(void)sdrv_xport_process(nf->x, ev, 8);
	}
	if (nf->graves) {
		nf_log(nf, LOG_WARNING,
		       "vif %u: the backend still maps %u granted pages; they stay granted and are "
		       "never reused",
		       nf->o.handle, nf->grave_pages);
		while (nf->graves) {
			struct nf_grave *g = nf->graves;

			nf->graves = g->next;
			free(g);
		}
	}
	sdrv_xenbus_front_free(nf->xf);
	nf->xf = NULL;
	free_handle(nf);
}

SDRV_API bool sdrv_netfront_connected(const struct sdrv_netfront *nf)
{
	return state_error(nf) == 0;
}

SDRV_API int sdrv_netfront_mac(const struct sdrv_netfront *nf, uint8_t mac[6])
{
	if (!nf->have_mac)
		return -ENOENT;
	memcpy(mac, nf->mac, 6);
	return 0;
}

SDRV_API uint32_t sdrv_netfront_mtu(const struct sdrv_netfront *nf)
{
	return nf->mtu;
}

SDRV_API uint32_t sdrv_netfront_features(const struct sdrv_netfront *nf)
{
	return nf->features;
}

SDRV_API sdrv_domid_t sdrv_netfront_backend(const struct sdrv_netfront *nf)
{
	return nf->be_domid;
}

SDRV_API const char *sdrv_netfront_broken(const struct sdrv_netfront *nf)
{
	return nf->broken;
}

SDRV_API void sdrv_netfront_stats(const struct sdrv_netfront *nf, struct sdrv_netfront_stats *st)
{
	struct sdrv_netfront_stats s;
	size_t sz;

	if (!st || st->sz < sizeof(size_t))
		return;
	s = nf->st;
	s.tx_inflight = nf->tx_pages - nf->tx_nfree + nf->tx_nulls;
	sz = st->sz < sizeof(s) ? st->sz : sizeof(s);
	memcpy((char *)st + sizeof(size_t), (const char *)&s + sizeof(size_t), sz - sizeof(size_t));
}
