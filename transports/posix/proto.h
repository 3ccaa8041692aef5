/* SPDX-License-Identifier: MIT */
/*
 * The broker protocol of the POSIX transport (private; see doc/transports.md).
 *
 * One message per SOCK_SEQPACKET datagram: a 16-byte header, then `len`
 * bytes of payload (at most SDRV_PM_MAX_PAYLOAD), plus file descriptors in
 * one SCM_RIGHTS control message. Integers are in host byte order (both
 * ends are on the same host). Every padding field must be zero.
 *
 * Requests (client -> broker) carry a non-zero seq; the reply has type
 * `request | SDRV_PM_REPLY`, the same seq and starts with an int32 status
 * (0 or a negative errno). Events (broker -> client) have seq 0.
 *
 * sdrv_pm_validate() checks a received datagram against the table of
 * message shapes: header, exact payload size (or fixed part plus whole
 * array elements), zero padding and the number of descriptors. Handlers
 * then only check meaning (ports, domain ids, permissions).
 */
#ifndef SDRV_POSIX_PROTO_H
#define SDRV_POSIX_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SDRV_PM_MAGIC	    0x42524453u /* "SDRB" in memory on little-endian */
#define SDRV_PM_VERSION	    1u
#define SDRV_PM_HDR_SIZE    16u
#define SDRV_PM_MAX_PAYLOAD 4096u
#define SDRV_PM_MAX_MSG	    (SDRV_PM_HDR_SIZE + SDRV_PM_MAX_PAYLOAD)
/* Most descriptors any message carries (SHARE and the MAP reply: one per
 * page; the kernel's SCM_MAX_FD is 253). */
#define SDRV_PM_MAX_FDS 32u
/* Pages per SHARE, MAP and UNMAP message (isolation mode). */
#define SDRV_PM_MAX_BATCH SDRV_PM_MAX_FDS
/* Bytes per COPY message (isolation mode); a segment takes at most two. */
#define SDRV_PM_MAX_COPY 2048u
/* Longest store address in a HELLO reply. */
#define SDRV_PM_MAX_STORE 1024u
/* Largest grant pool a domain may announce (pages): 1 GiB. */
#define SDRV_PM_MAX_POOL_PAGES (1u << 18)

/* Message types. */
enum {
	SDRV_PM_HELLO = 1,
	SDRV_PM_MAP_SETUP = 2,
	SDRV_PM_ALLOC_UNBOUND = 3,
	SDRV_PM_BIND = 4,
	SDRV_PM_CLOSE = 5,
	SDRV_PM_SHARE = 6,   /* isolation mode: the granter's page memfds */
	SDRV_PM_MAP = 7,     /* isolation mode: pin and get page descriptors */
	SDRV_PM_UNMAP = 8,   /* isolation mode: drop pins */
	SDRV_PM_COPY = 9,    /* isolation mode: grant copy through the broker */
	SDRV_PM_NR_REQUESTS, /* one past the last request type */

	SDRV_PM_EV_BOUND = 0x4001,
	SDRV_PM_EV_PORT_CLOSED = 0x4002,
	SDRV_PM_EV_PEER_DIED = 0x4003,
};
#define SDRV_PM_REPLY 0x8000u

/* HELLO flags. */
#define SDRV_PM_HELLO_PRIVILEGED (1u << 0)
/* Isolation mode: HELLO carries only the table (no pool); the domain's
 * pages are shared one memfd each with SHARE. */
#define SDRV_PM_HELLO_ISOLATE (1u << 1)
#define SDRV_PM_HELLO_KNOWN   (SDRV_PM_HELLO_PRIVILEGED | SDRV_PM_HELLO_ISOLATE)

struct sdrv_pm_hdr {
	uint32_t magic;
	uint16_t type;
	uint16_t flags; /* must be 0 */
	uint32_t seq;
	uint32_t len; /* payload bytes after the header */
};

/* HELLO: + 2 fds (grant table memfd, pool memfd), both sealed; with
 * SDRV_PM_HELLO_ISOLATE + 1 fd (the table). */
struct sdrv_pm_hello {
	uint32_t version;
	uint32_t flags;
	uint16_t domid; /* wanted, or SDRV_DOMID_ANY */
	uint16_t pad;
	uint32_t grant_pages;
};

/* Reply to HELLO: then the store address (no NUL), possibly empty. */
struct sdrv_pm_hello_rep {
	int32_t status;
	uint16_t domid;
	uint16_t pad;
};

/* MAP_SETUP: ask for `granter`'s table and pool. */
struct sdrv_pm_map_setup {
	uint16_t granter;
	uint16_t pad;
};

/* Reply to MAP_SETUP: + 2 fds (table, pool) when status is 0. */
struct sdrv_pm_map_setup_rep {
	int32_t status;
	uint32_t nr_entries;
	uint32_t pool_pages;
	uint32_t pad;
};

/* ALLOC_UNBOUND: + 1 fd (the new local port's eventfd). */
struct sdrv_pm_alloc {
	uint16_t remote;
	uint16_t pad;
	uint32_t port;
};

/* BIND: + 1 fd (the new local port's eventfd). Reply: status + 1 fd (the
 * remote port's eventfd) when status is 0. */
struct sdrv_pm_bind {
	uint16_t remote;
	uint16_t pad;
	uint32_t remote_port;
	uint32_t port;
	uint32_t pad2;
};

/* CLOSE. */
struct sdrv_pm_close {
	uint32_t port;
};

/* SHARE (isolation mode): `count` refs follow (1..SDRV_PM_MAX_BATCH), and
 * one fd per ref: a memfd of one page sealed F_SEAL_SHRINK | F_SEAL_GROW |
 * F_SEAL_SEAL, plus F_SEAL_FUTURE_WRITE for a read-only grant. */
struct sdrv_pm_share {
	uint32_t count;
	uint32_t pad;
	/* uint32_t refs[count]; */
};

/* MAP and UNMAP (isolation mode): `count` refs of `granter` follow
 * (1..SDRV_PM_MAX_BATCH). */
#define SDRV_PM_MAP_WRITABLE (1u << 0)
struct sdrv_pm_map {
	uint16_t granter;
	uint16_t flags; /* SDRV_PM_MAP_WRITABLE */
	uint32_t count;
	/* uint32_t refs[count]; */
};

/* Reply to MAP: `count` int32 statuses follow. If all are 0, `count` fds
 * come with it (read-only grants: an O_RDONLY descriptor of a memfd sealed
 * F_SEAL_FUTURE_WRITE); otherwise none, and the broker pinned nothing. */
struct sdrv_pm_map_rep {
	int32_t status;
	uint32_t count;
	uint32_t pad;
	uint32_t pad2;
	/* int32_t st[count]; */
};

/* COPY (isolation mode): one piece of a grant copy; `len` bytes of data
 * follow when SDRV_PM_COPY_TO_GRANT. */
#define SDRV_PM_COPY_TO_GRANT (1u << 0)
struct sdrv_pm_copy {
	uint16_t granter;
	uint16_t flags; /* SDRV_PM_COPY_TO_GRANT */
	uint32_t ref;
	uint16_t offset;
	uint16_t len; /* <= SDRV_PM_MAX_COPY */
	uint32_t pad;
};

/* Reply to COPY: `len` bytes follow (the data, when copying from the grant;
 * else 0). */
struct sdrv_pm_copy_rep {
	int32_t status;
	uint32_t len;
};

/* Reply to anything that has no richer reply, and every error reply. */
struct sdrv_pm_status {
	int32_t status;
	uint32_t pad;
};

/* Event: `peer` bound its port `peer_port` to our `port`; + 1 fd (its eventfd). */
struct sdrv_pm_ev_bound {
	uint32_t port;
	uint16_t peer;
	uint16_t pad;
	uint32_t peer_port;
	uint32_t pad2;
};

/* Event: the peer of our `port` closed it or died. */
struct sdrv_pm_ev_port_closed {
	uint32_t port;
};

/* Event: domain `domid` is gone. */
struct sdrv_pm_ev_peer_died {
	uint16_t domid;
	uint16_t pad;
};

/* Which side a datagram comes from. */
enum sdrv_pm_dir {
	SDRV_PM_TO_BROKER,
	SDRV_PM_TO_CLIENT,
};

/*
 * Validate one received datagram of `n` bytes that came with `nfds`
 * descriptors. Returns 0 if its shape is right (`*hdr` filled), -EPROTO for
 * a framing error (short, bad magic, len disagreeing with the datagram,
 * oversized: the connection cannot be trusted any more), or another
 * negative errno for a well-framed message that is wrong (unknown type
 * -EOPNOTSUPP, bad size or padding -EBADMSG, wrong descriptor count
 * -EBADMSG): `*hdr` is then filled so the broker can answer with the
 * request's seq.
 */
int sdrv_pm_validate(const void *buf, size_t n, unsigned nfds, enum sdrv_pm_dir dir,
		     struct sdrv_pm_hdr *hdr);

/* Write header + payload into `buf` (room for SDRV_PM_MAX_MSG). Returns
 * the datagram size. */
size_t sdrv_pm_encode(void *buf, uint16_t type, uint32_t seq, const void *payload, size_t len);

/*
 * Send one datagram with `nfds` descriptors, never blocking and never
 * raising SIGPIPE. Returns 0 or a negative errno (-EAGAIN: the peer does
 * not read; the broker then drops it).
 */
int sdrv_pm_send(int sock, const void *buf, size_t n, const int *fds, unsigned nfds);

/*
 * Receive one datagram without blocking into `buf` (room for
 * SDRV_PM_MAX_MSG). Descriptors (close-on-exec) go to `fds` (room for
 * SDRV_PM_MAX_FDS), their number to `*nfds`. Returns the size, 0 at end
 * of stream (or for an empty datagram: its descriptors are closed), or a
 * negative errno (-EAGAIN: nothing waiting). A datagram too long, or with
 * too many or truncated descriptors, sets `*framing` (its descriptors are
 * already closed).
 */
long sdrv_pm_recv(int sock, void *buf, int *fds, unsigned *nfds, bool *framing);

/* A short name of a message type, for logs. */
const char *sdrv_pm_type_name(uint16_t type);

#endif
