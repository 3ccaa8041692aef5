/* SPDX-License-Identifier: MIT */
/*
 * The data path of one interface.
 *
 * Transmit (the frontend's tx ring to the TAP): requests are copied out of
 * the ring into v->txq, decoded and validated by the codec one packet at a
 * time, the packet's data grant-copied into nb->frame behind a virtio-net
 * header, checked against the anti-spoofing rules and written to the TAP;
 * every slot gets its response. The rate limit holds a packet (still in
 * v->txq) until its window has credit.
 *
 * Receive (the TAP to the frontend's rx ring): a frame is read only when at
 * least one buffer is posted; it waits in v->pend until the buffers it
 * needs (one per 4 KiB, one more for the GSO extra) are there, while the
 * TAP is left out of the epoll set. Then it is grant-copied into the
 * buffers and answered in the slots of the requests it used.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/virtio_net.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "netback-int.h"

#define TX_ESZ SDRV_NETIF_TX_ENTRY_SIZE
#define RX_ESZ SDRV_NETIF_RX_ENTRY_SIZE

_Static_assert(sizeof(struct virtio_net_hdr) == NB_VNET_HDR, "virtio-net header size");

/* One more line about this interface within its budget of log_rate per
 * second (warnings and classifier lines alike)? Counts what it refuses. */
static bool log_budget(struct nb_vif *v)
{
	uint64_t now = nb_now_us();

	if (now - v->log_window_us >= 1000000u) {
		v->log_window_us = now;
		v->log_lines = 0;
	}
	if (v->log_lines++ < v->nb->log_rate)
		return true;
	v->st.log_suppressed++;
	return false;
}

static void vif_warn(struct nb_vif *v, const char *what, const char *why)
{
	if (log_budget(v))
		nb_log(v->nb, LOG_WARNING, "%s: %s: %s", v->name, what, why);
}

static void classify(struct nb_vif *v, const uint8_t *f, size_t len)
{
	uint32_t classes = v->key_classes | v->nb->log_classes;
	char desc[128];

	if (!classes || !(sdrv_netback_classify(f, len, desc, sizeof(desc)) & classes) ||
	    !log_budget(v))
		return;
	v->st.logged++;
	nb_log(v->nb, LOG_NOTICE, "%s: %s", v->name, desc);
}

/* -------------------------------- transmit ------------------------------ */

static void tx_respond(struct nb_vif *v, const struct sdrv_netif_tx_pkt *pkt, int16_t status)
{
	for (uint32_t k = 0; k < pkt->nr_slots; k++) {
		struct sdrv_netif_tx_response rsp;
		void *slot = sdrv_ring_back_next_rsp(&v->tx);

		if (!slot || sdrv_netif_tx_make_rsp(pkt, k, status, &rsp) < 0)
			break;
		sdrv_netif_tx_encode_rsp(&rsp, slot, TX_ESZ);
	}
	v->tx_push = true;
}

/* The virtio-net header for a packet the frontend sent: its offloads. */
static int tx_vnet_hdr(const struct sdrv_netif_tx_pkt *pkt, const uint8_t *f,
		       struct virtio_net_hdr *vh)
{
	bool gso = pkt->extras & SDRV_NETIF_EXTRA_BIT(SDRV_NETIF_EXTRA_TYPE_GSO);
	struct sdrv_netif_l4 l4;

	memset(vh, 0, sizeof(*vh));
	if (!(pkt->flags & SDRV_NETIF_PKT_CSUM_BLANK) && !gso) {
		if (pkt->flags & SDRV_NETIF_PKT_DATA_VALIDATED)
			vh->flags = VIRTIO_NET_HDR_F_DATA_VALID;
		return 0;
	}
	/* As Linux netback's checksum_setup(): find where the partial
	 * checksum goes; a packet whose headers do not say is dropped. */
	if (sdrv_netif_parse_l4(f, pkt->size, &l4) < 0)
		return -EBADMSG;
	vh->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vh->csum_start = l4.csum_start;
	vh->csum_offset = l4.csum_offset;
	if (gso) {
		bool v6 = pkt->gso.type == SDRV_NETIF_GSO_TYPE_TCPV6;

		if (l4.proto != 6 || v6 != (l4.ipv6 != 0))
			return -EBADMSG;
		vh->gso_type = v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
		vh->gso_size = pkt->gso.size;
		vh->hdr_len = l4.hdr_len;
	}
	return 0;
}

/* One accepted packet: copy, check, hand to the TAP. The response status. */
static int16_t tx_packet(struct nb_vif *v, const struct sdrv_netif_tx_pkt *pkt)
{
	struct nb *b = v->nb;
	struct sdrv_gnt_copy_seg segs[SDRV_NETIF_TX_MAX_FRAGS];
	struct virtio_net_hdr vh;
	uint8_t *f = b->frame + NB_VNET_HDR;
	uint32_t n = 0, off = 0;
	int r, spoof;

	for (uint32_t i = 0; i < pkt->nr_frags; i++) {
		const struct sdrv_netif_tx_frag *fr = &pkt->frag[i];

		if (!fr->size)
			continue; /* a no-op slot: its grant is never touched (XSA-448) */
		segs[n] = (struct sdrv_gnt_copy_seg){.granter = v->fe,
						     .ref = fr->gref,
						     .offset = fr->offset,
						     .len = fr->size,
						     .to_grant = false,
						     .local = f + off};
		off += fr->size;
		n++;
	}
	r = sdrv_gnt_copy(b->x, segs, n);
	for (uint32_t i = 0; r >= 0 && i < n; i++)
		if (segs[i].status)
			r = segs[i].status;
	if (r < 0) {
		v->st.tx_dropped_error++;
		vif_warn(v, "a packet's grant cannot be copied", strerror(-r));
		return SDRV_NETIF_RSP_ERROR;
	}
	if ((spoof = nb_spoofed(v, f, pkt->size))) {
		v->st.tx_dropped_spoof++;
		if (spoof == 1)
			v->st.spoof_mac++;
		else if (spoof == 2)
			v->st.spoof_ipv4++;
		else if (spoof == 3)
			v->st.spoof_arp++;
		else
			v->st.spoof_ipv6++;
		/* as a switch port filter: the guest learns nothing */
		return SDRV_NETIF_RSP_OKAY;
	}
	classify(v, f, pkt->size);
	if (tx_vnet_hdr(pkt, f, &vh) < 0) {
		v->st.tx_dropped_error++;
		vif_warn(v, "dropping a packet", "its offload does not match its headers");
		return SDRV_NETIF_RSP_ERROR;
	}
	if (v->tapfd >= 0) {
		memcpy(b->frame, &vh, sizeof(vh));
		if (write(v->tapfd, b->frame, NB_VNET_HDR + pkt->size) < 0) {
			v->st.tx_dropped_error++;
			vif_warn(v, "writing to the TAP", strerror(errno));
			return SDRV_NETIF_RSP_ERROR;
		}
	}
	v->st.tx_packets++;
	v->st.tx_bytes += pkt->size;
	if (vh.gso_type)
		v->st.tx_gso++;
	return SDRV_NETIF_RSP_OKAY;
}

static void tx_consume(struct nb_vif *v, uint32_t slots)
{
	/* no move per packet: the rest moves to the front when more are taken */
	v->txstart += slots;
	v->txn -= slots;
	if (!v->txn)
		v->txstart = 0;
}

/* ------------------------------ multicast ------------------------------- */

static int mcast_find(const struct nb_vif *v, const uint8_t *addr)
{
	for (uint32_t i = 0; i < v->nr_mcast; i++)
		if (!memcmp(v->mcast[i], addr, 6))
			return (int)i;
	return -1;
}

/*
 * A multicast control request (MCAST_ADD and/or MCAST_DEL extras, no
 * data), answered at once as Linux netback does: an add beyond
 * NB_MCAST_MAX addresses is an error and changes nothing; adding an
 * address twice keeps one entry; removing one that is not there is fine.
 * The list is kept whether or not the frontend asked for filtering, which
 * only decides whether it is used.
 */
static int16_t mcast_request(struct nb_vif *v, const struct sdrv_netif_tx_pkt *pkt)
{
	int16_t status = SDRV_NETIF_RSP_OKAY;
	int i;

	if (pkt->extras & SDRV_NETIF_EXTRA_BIT(SDRV_NETIF_EXTRA_TYPE_MCAST_DEL) &&
	    (i = mcast_find(v, pkt->mcast_del)) >= 0) {
		memmove(v->mcast[i], v->mcast[i + 1], (size_t)(v->nr_mcast - (uint32_t)i - 1) * 6);
		v->nr_mcast--;
	}
	if (pkt->extras & SDRV_NETIF_EXTRA_BIT(SDRV_NETIF_EXTRA_TYPE_MCAST_ADD) &&
	    mcast_find(v, pkt->mcast_add) < 0) {
		if (v->nr_mcast < NB_MCAST_MAX)
			memcpy(v->mcast[v->nr_mcast++], pkt->mcast_add, 6);
		else
			status = SDRV_NETIF_RSP_ERROR;
	}
	return status;
}

/* Whether a frame for `dst` may go to the frontend: anything but a
 * multicast address it did not add, when it asked for filtering. */
static bool mcast_wanted(const struct nb_vif *v, const uint8_t *dst)
{
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

	if (!v->mcast_ctrl || !(dst[0] & 1) || !memcmp(dst, bcast, 6))
		return true;
	return mcast_find(v, dst) >= 0;
}

void nb_tx_serve(struct nb_vif *v)
{
	struct nb *b = v->nb;
	struct sdrv_netif_tx_pkt pkt;
	uint32_t done = 0;
	uint64_t wait;
	int32_t n;
	int r;

	v->tx_more = false;
	while (done < b->budget) {
		if (v->txn < NB_RING_SLOTS) {
			if (v->txstart) {
				memmove(v->txq, v->txq + (size_t)v->txstart * TX_ESZ,
					(size_t)v->txn * TX_ESZ);
				v->txstart = 0;
			}
			n = sdrv_ring_back_take_reqs(&v->tx, v->txq + (size_t)v->txn * TX_ESZ,
						     NB_RING_SLOTS - v->txn);
			if (n < 0) {
				nb_vif_break(v, "tx ring: %s", sdrv_ring_broken(&v->tx));
				return;
			}
			if (n > 0)
				v->found_work = true;
			v->txn += (uint32_t)n;
		}
		r = v->txn ? sdrv_netif_tx_decode(v->txq + (size_t)v->txstart * TX_ESZ, v->txn,
						  NULL, &pkt)
			   : -SDRV_EAGAIN;
		if (r == -SDRV_EAGAIN) {
			if (v->txn >= NB_RING_SLOTS) {
				nb_vif_break(v, "a packet longer than the tx ring");
				return;
			}
			/* nothing (more) to take: sleep until notified */
			n = sdrv_ring_back_final_check(&v->tx);
			if (n < 0) {
				nb_vif_break(v, "tx ring: %s", sdrv_ring_broken(&v->tx));
				return;
			}
			if (n == 0)
				return;
			continue;
		}
		if (r == -SDRV_EPROTO) {
			/* Linux: xenvif_fatal_tx_err() */
			nb_vif_break(v, "the frontend sent a malformed packet: %s",
				     sdrv_netif_reason(pkt.reason));
			return;
		}
		if (r == -SDRV_EBADMSG) {
			v->st.tx_dropped_error++;
			vif_warn(v, "dropping a packet", sdrv_netif_reason(pkt.reason));
			tx_respond(v, &pkt, SDRV_NETIF_RSP_ERROR);
			tx_consume(v, pkt.nr_slots);
			done++;
			continue;
		}
		if (r < 0) {
			nb_vif_break(v, "tx decode: %s", sdrv_netif_strerror(r));
			return;
		}
		if (!pkt.nr_frags) { /* a multicast control request */
			tx_respond(v, &pkt, mcast_request(v, &pkt));
			tx_consume(v, pkt.nr_slots);
			done++; /* within the budget, as packets are */
			continue;
		}
		if (sdrv_netback_credit_take(&v->credit, pkt.size, nb_now_us(), &wait) < 0) {
			/* held in v->txq until the next window */
			v->throttle_until_us = nb_now_us() + wait;
			v->st.tx_throttled++;
			return;
		}
		tx_respond(v, &pkt, tx_packet(v, &pkt));
		tx_consume(v, pkt.nr_slots);
		done++;
	}
	v->tx_more = true;
	nb_kick(b);
}

/* -------------------------------- receive ------------------------------- */

/* Describe the waiting frame as an rx packet: offsets, sizes, offloads. */
static int rx_describe(struct nb_vif *v, struct sdrv_netif_rx_pkt *pkt)
{
	struct virtio_net_hdr vh;
	uint32_t len = v->pend_len - NB_VNET_HDR;
	uint8_t gt;

	memcpy(&vh, v->pend, sizeof(vh));
	memset(pkt, 0, sizeof(*pkt));
	if (len > SDRV_NETIF_RX_MAX_SIZE || (len > NB_PAGE && !v->fe_sg))
		return -EMSGSIZE;
	pkt->nr_frags = (uint16_t)((len + NB_PAGE - 1) / NB_PAGE);
	for (uint32_t i = 0; i < pkt->nr_frags; i++)
		pkt->frag[i].size =
		    (uint16_t)(len - i * NB_PAGE > NB_PAGE ? NB_PAGE : len - i * NB_PAGE);
	if (vh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
		pkt->flags = SDRV_NETIF_PKT_CSUM_BLANK | SDRV_NETIF_PKT_DATA_VALIDATED;
	else if (vh.flags & VIRTIO_NET_HDR_F_DATA_VALID)
		pkt->flags = SDRV_NETIF_PKT_DATA_VALIDATED;
	gt = vh.gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	if (gt == VIRTIO_NET_HDR_GSO_TCPV4 && v->fe_gso4) {
		pkt->gso.type = SDRV_NETIF_GSO_TYPE_TCPV4;
	} else if (gt == VIRTIO_NET_HDR_GSO_TCPV6 && v->fe_gso6) {
		pkt->gso.type = SDRV_NETIF_GSO_TYPE_TCPV6;
	} else if (gt != VIRTIO_NET_HDR_GSO_NONE) {
		return -EOPNOTSUPP; /* the TAP was told not to: never happens */
	}
	if (pkt->gso.type) {
		pkt->gso.size = vh.gso_size;
		pkt->extras = SDRV_NETIF_EXTRA_BIT(SDRV_NETIF_EXTRA_TYPE_GSO);
	}
	return sdrv_netif_rx_prepare(pkt) < 0 ? -EINVAL : 0;
}

static void rx_error_rsp(const struct sdrv_netif_rx_request *req, void *slot)
{
	struct sdrv_netif_rx_response rsp = {.id = req->id, .status = SDRV_NETIF_RSP_ERROR};

	memset(slot, 0, RX_ESZ);
	memcpy(slot, &rsp, sizeof(rsp));
}

static void rx_deliver(struct nb_vif *v, const struct sdrv_netif_rx_pkt *pkt)
{
	struct nb *b = v->nb;
	uint8_t raw[SDRV_NETIF_RX_MAX_PACKET_SLOTS * RX_ESZ];
	struct sdrv_netif_rx_request req[SDRV_NETIF_RX_MAX_PACKET_SLOTS];
	struct sdrv_gnt_copy_seg segs[SDRV_NETIF_RX_MAX_FRAGS];
	const uint8_t *f = v->pend + NB_VNET_HDR;
	int32_t n;
	int r;

	n = sdrv_ring_back_take_reqs(&v->rx, raw, pkt->nr_slots);
	if (n != (int32_t)pkt->nr_slots) {
		nb_vif_break(v, "rx ring: %s",
			     sdrv_ring_broken(&v->rx) ? sdrv_ring_broken(&v->rx)
						      : "requests vanished");
		return;
	}
	for (uint32_t k = 0; k < pkt->nr_slots; k++)
		sdrv_netif_rx_decode_req(raw + k * RX_ESZ, RX_ESZ, &req[k]);
	for (uint32_t i = 0; i < pkt->nr_frags; i++)
		segs[i] = (struct sdrv_gnt_copy_seg){.granter = v->fe,
						     .ref = req[pkt->frag[i].slot].gref,
						     .offset = pkt->frag[i].offset,
						     .len = pkt->frag[i].size,
						     .to_grant = true,
						     .local = (void *)(f + (size_t)i * NB_PAGE)};
	r = sdrv_gnt_copy(b->x, segs, pkt->nr_frags);
	for (uint32_t i = 0; r >= 0 && i < pkt->nr_frags; i++)
		if (segs[i].status)
			r = segs[i].status;
	for (uint32_t k = 0; k < pkt->nr_slots; k++) {
		void *slot = sdrv_ring_back_next_rsp(&v->rx);

		if (!slot)
			break;
		if (r < 0)
			rx_error_rsp(&req[k], slot);
		else
			sdrv_netif_rx_encode_rsp(pkt, k, &req[k], slot, RX_ESZ);
	}
	v->rx_push = true;
	v->found_work = true;
	if (r < 0) {
		v->st.rx_dropped_error++;
		vif_warn(v, "an rx buffer's grant cannot be written", strerror(-r));
		return;
	}
	v->st.rx_packets++;
	v->st.rx_bytes += pkt->size;
	if (pkt->gso.type)
		v->st.rx_gso++;
}

void nb_rx_serve(struct nb_vif *v)
{
	struct nb *b = v->nb;
	struct sdrv_netif_rx_pkt pkt;
	uint32_t done = 0;
	int32_t avail;
	ssize_t n;

	v->rx_more = false;
	while (done < b->budget) {
		avail = sdrv_ring_back_unconsumed(&v->rx);
		if (avail < 0) {
			nb_vif_break(v, "rx ring: %s", sdrv_ring_broken(&v->rx));
			return;
		}
		if (!v->pend_len) {
			if (v->tapfd < 0)
				return;
			if (avail == 0) {
				/* no buffer: leave frames in the TAP's queue */
				nb_vif_arm_tap(v, false);
				if (sdrv_ring_back_final_check(&v->rx) > 0)
					continue;
				return;
			}
			n = read(v->tapfd, v->pend, NB_VNET_HDR + NB_FRAME_MAX);
			if (n < 0) {
				if (errno != EAGAIN && errno != EINTR)
					vif_warn(v, "reading the TAP", strerror(errno));
				nb_vif_arm_tap(v, true);
				return;
			}
			if ((size_t)n < NB_VNET_HDR + SDRV_NETIF_ETH_HLEN) {
				v->st.rx_dropped_error++;
				continue;
			}
			if (!mcast_wanted(v, v->pend + NB_VNET_HDR)) {
				v->st.rx_dropped_mcast++;
				continue;
			}
			v->pend_len = (uint32_t)n;
		}
		if (rx_describe(v, &pkt) < 0) {
			v->st.rx_dropped_error++;
			v->pend_len = 0;
			continue;
		}
		if (avail < (int32_t)pkt.nr_slots) {
			/* wait for buffers: the frontend notifies when it posts */
			nb_vif_arm_tap(v, false);
			avail = sdrv_ring_back_final_check(&v->rx);
			if (avail >= (int32_t)pkt.nr_slots)
				continue;
			return;
		}
		rx_deliver(v, &pkt);
		if (!v->connected)
			return;
		v->pend_len = 0;
		done++;
	}
	v->rx_more = true;
	nb_kick(b);
}

void nb_push(struct nb_vif *v)
{
	struct nb *b = v->nb;

	if (v->tx_push) {
		v->tx_push = false;
		if (sdrv_ring_back_push(&v->tx))
			sdrv_evtchn_notify(b->x, v->tx_port);
	}
	if (v->rx_push) {
		v->rx_push = false;
		if (sdrv_ring_back_push(&v->rx))
			sdrv_evtchn_notify(b->x, v->rx_port);
	}
}
