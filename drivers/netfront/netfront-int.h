/* SPDX-License-Identifier: MIT */
/*
 * netfront internals: the handle. netfront.c has the handshake and the
 * data path.
 */
#ifndef SDRV_NETFRONT_INT_H
#define SDRV_NETFRONT_INT_H

#include <splitdrv/netfront.h>
#include <splitdrv/proto/netif.h>
#include <splitdrv/ring.h>
#include <splitdrv/xenbus.h>

/* Pool sizes: at most one ring's worth (both rings have 256 entries). */
#define NF_MAX_POOL 256u
#define NF_PAGE	    SDRV_PAGE_SIZE

/* Granted pages the backend still mapped when they were to be revoked:
 * never reused, revoked again later (XSA-396). */
struct nf_grave {
	struct nf_grave *next;
	void *mem;
	uint32_t n;
};

struct sdrv_netfront {
	struct sdrv_netfront_opts o;
	struct sdrv_xport *x;
	struct sdrv_xs *xs;
	struct sdrv_xenbus_front *xf;
	sdrv_domid_t be_domid;
	int epfd, kickfd;
	bool kicked;

	uint8_t mac[6];
	bool have_mac;
	uint32_t mtu, features;

	bool published;	 /* rings and the port exist for the backend */
	bool connected;	 /* Connected: frames may be sent */
	bool seen_state; /* the xenbus object reported a state */
	bool gone, closing, in_teardown;
	bool in_process; /* sdrv_netfront_process() runs (callbacks may be inside) */
	const char *broken;
	char broken_buf[256];

	/* The rings: two pages of one share (tx, then rx). */
	void *ring_mem;
	sdrv_grant_ref_t ring_refs[2];
	struct sdrv_ring txr, rxr;
	sdrv_evtchn_port_t port;
	bool have_port, woken, need_notify;
	uint32_t work_since_eoi;

	/* Transmit: a pool of pages granted read-only; a data slot's id is
	 * its page's index. */
	uint32_t tx_pages;
	unsigned char *tx_mem;
	sdrv_grant_ref_t tx_ref[NF_MAX_POOL];
	uint16_t tx_free[NF_MAX_POOL];
	uint32_t tx_nfree;
	bool tx_busy[NF_MAX_POOL];  /* in flight */
	bool tx_first[NF_MAX_POOL]; /* the first slot of its frame */
	uint32_t tx_nulls;	    /* extra-info slots in flight (NULL responses due) */

	/* Receive: buffers granted writable, each posted with the id of its
	 * ring position. */
	uint32_t rx_bufs;
	unsigned char *rx_mem;
	sdrv_grant_ref_t rx_ref[NF_MAX_POOL];
	uint16_t rx_free[NF_MAX_POOL];
	uint32_t rx_nfree;
	uint16_t pos_buf[NF_MAX_POOL]; /* the buffer posted at each ring position */
	uint32_t rx_prod, rx_cons;     /* own request and response indices */
	/* Response copies taken but not yet consumed, with the buffer and
	 * the id of their position. */
	unsigned char rx_pend[SDRV_NETIF_RX_MAX_PACKET_SLOTS * SDRV_NETIF_RX_ENTRY_SIZE];
	uint16_t pend_buf[SDRV_NETIF_RX_MAX_PACKET_SLOTS], pend_id[SDRV_NETIF_RX_MAX_PACKET_SLOTS];
	uint32_t rx_npend;
	unsigned char *rx_frame; /* SDRV_NETIF_RX_MAX_SIZE bytes */

	struct nf_grave *graves;
	uint32_t grave_pages;
	struct sdrv_netfront_stats st;
};

#endif
