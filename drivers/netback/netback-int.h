/* SPDX-License-Identifier: MIT */
/*
 * netback's internals, shared by netback.c (the object, the event loop, the
 * interface list), vif.c (one interface: keys, handshake, TAP), datapath.c
 * (the two rings and the TAP) and policy.c (rate, anti-spoofing, the
 * classifier: pure functions).
 *
 * Ownership: a struct nb owns its interfaces; an interface owns its ring
 * mappings, event channels and TAP while connected. Nothing of the
 * frontend's is read in place: requests are copied out of the ring (the
 * ring core), packet data is grant-copied into nb->frame (one buffer, used
 * by one packet at a time).
 */
#ifndef SDRV_NETBACK_INT_H
#define SDRV_NETBACK_INT_H

#include <stdarg.h>
#include <syslog.h>

#include <splitdrv/netback.h>
#include <splitdrv/proto/netif.h>
#include <splitdrv/ring.h>

#include "../common/backend.h"

#define NB_PAGE 4096u
/* A netif ring is one page: 256 slots each way. */
#define NB_RING_SLOTS 256u
/* The virtio-net header the TAPs are opened with (struct virtio_net_hdr). */
#define NB_VNET_HDR 10u
/* The biggest frame either way, with room for the header in front. */
#define NB_FRAME_MAX (SDRV_NETIF_RX_MAX_SIZE + 64u)
/* Addresses the `ip` key may list. */
#define NB_MAX_ADDRS 16u
/* Multicast addresses a frontend may subscribe to (Linux's XEN_NETBK_MCAST_MAX). */
#define NB_MCAST_MAX 64u

struct nb;

/* An address the guest may send from: IPv4 (4 bytes) or IPv6 (16). */
struct nb_addr {
	uint8_t len;
	uint8_t a[16];
};

struct nb_vif {
	struct nb *nb;
	struct nb_vif *next;
	sdrv_domid_t fe;
	uint32_t handle;
	char name[16];			/* vif<FE>.<HANDLE> */
	char dir[SDRV_XENBUS_PATH_MAX]; /* the backend directory */
	struct sdrv_xenbus_back *xb;
	bool gone;	 /* no longer in the store: free at the next round */
	bool keys_dirty; /* rate or log changed: read them again */
	/* the device, from the backend directory */
	uint8_t mac[6];
	bool have_mac;
	struct nb_addr addrs[NB_MAX_ADDRS];
	uint32_t naddrs;
	char bridge[16];
	uint32_t mtu;
	uint32_t key_classes; /* from the `log` key */
	struct sdrv_netback_credit credit;
	/* what the frontend offered */
	bool fe_sg, fe_gso4, fe_gso6, fe_csum;
	/* Multicast control (the frontend's request-multicast-control):
	 * multicast frames reach it only for the addresses it added with
	 * MCAST_ADD requests (Linux's xenvif_mcast_*); broadcast always. */
	bool mcast_ctrl;
	uint32_t nr_mcast;
	uint8_t mcast[NB_MCAST_MAX][6];
	/* connection */
	bool connected;
	void *tx_mem, *rx_mem;
	struct sdrv_ring tx, rx;
	sdrv_evtchn_port_t tx_port, rx_port; /* equal for one channel */
	bool tx_more, rx_more;		     /* work may wait: serve again */
	bool tx_push, rx_push;		     /* responses written, not pushed */
	bool woken, found_work;
	uint64_t throttle_until_us; /* the rate limit holds tx until then */
	/* tx slots copied out of the ring, not yet answered */
	uint8_t txq[NB_RING_SLOTS * SDRV_NETIF_TX_ENTRY_SIZE];
	uint32_t txstart, txn; /* the unanswered ones: txn from slot txstart */
	/* the TAP */
	int tapfd;
	int ifindex;
	bool tap_armed; /* in the epoll set with EPOLLIN */
	/* a frame read from the TAP waiting for buffers */
	uint8_t *pend;
	uint32_t pend_len;
	const char *broken;
	char broken_buf[160];
	/* the classifier's line budget */
	uint64_t log_window_us;
	uint32_t log_lines;
	struct sdrv_netback_vif_info st; /* the counters */
};

struct nb {
	struct sdrv_xport *x;
	struct sdrv_xs *xs;
	sdrv_domid_t domid;
	uint32_t flags, budget, log_classes, log_rate;
	void (*log)(void *ctx, int level, const char *msg);
	void *log_ctx;
	int epfd, sockfd;
	struct drv_kick kick;
	char vif_dir[64];
	bool rescan;
	struct nb_vif *vifs;
	struct drv_ports ports; /* port -> interface */
	uint8_t *frame;		/* NB_VNET_HDR + NB_FRAME_MAX: one packet at a time */
};

/* netback.c */
void nb_log(struct nb *b, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void nb_kick(struct nb *b);
int nb_port_set(struct nb *b, sdrv_evtchn_port_t port, struct nb_vif *v);
uint64_t nb_now_us(void);

/* vif.c */
struct nb_vif *nb_vif_new(struct nb *b, sdrv_domid_t fe, uint32_t handle);
void nb_vif_free(struct nb_vif *v);
void nb_vif_break(struct nb_vif *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void nb_vif_peer_died(struct nb_vif *v);
void nb_vif_read_keys(struct nb_vif *v);
void nb_vif_arm_tap(struct nb_vif *v, bool on);

/* datapath.c */
void nb_tx_serve(struct nb_vif *v);
void nb_rx_serve(struct nb_vif *v);
void nb_push(struct nb_vif *v);

/* policy.c */
int nb_parse_addrs(const char *s, struct nb_addr *out, uint32_t max, uint32_t *n);
/* 0: may pass; else the SDRV spoof counter to bump (1 mac, 2 ipv4, 3 arp, 4 ipv6) */
int nb_spoofed(const struct nb_vif *v, const uint8_t *f, size_t len);

#endif
