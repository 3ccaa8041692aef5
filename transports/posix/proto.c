/* SPDX-License-Identifier: MIT */
/*
 * Encoding and validation of broker messages (see proto.h). The broker
 * runs every datagram through sdrv_pm_validate() before looking at it, and
 * so does the client for what the broker sends; the fuzz harness
 * tests/fuzz/fuzz-broker-msg.c drives it with arbitrary bytes.
 */
#include "proto.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

_Static_assert(sizeof(struct sdrv_pm_hdr) == SDRV_PM_HDR_SIZE, "header size");
_Static_assert(sizeof(struct sdrv_pm_hello) == 16, "hello size");
_Static_assert(sizeof(struct sdrv_pm_hello_rep) == 8, "hello reply size");
_Static_assert(sizeof(struct sdrv_pm_map_setup) == 4, "map_setup size");
_Static_assert(sizeof(struct sdrv_pm_map_setup_rep) == 16, "map_setup reply size");
_Static_assert(sizeof(struct sdrv_pm_alloc) == 8, "alloc size");
_Static_assert(sizeof(struct sdrv_pm_bind) == 16, "bind size");
_Static_assert(sizeof(struct sdrv_pm_close) == 4, "close size");
_Static_assert(sizeof(struct sdrv_pm_share) == 8, "share size");
_Static_assert(sizeof(struct sdrv_pm_map) == 8, "map size");
_Static_assert(sizeof(struct sdrv_pm_map_rep) == 16, "map reply size");
_Static_assert(sizeof(struct sdrv_pm_copy) == 16, "copy size");
_Static_assert(sizeof(struct sdrv_pm_copy_rep) == 8, "copy reply size");
_Static_assert(sizeof(struct sdrv_pm_status) == 8, "status size");
_Static_assert(8 + 4 * SDRV_PM_MAX_BATCH <= SDRV_PM_MAX_PAYLOAD, "batch fits");
_Static_assert(16 + SDRV_PM_MAX_COPY <= SDRV_PM_MAX_PAYLOAD, "copy fits");
_Static_assert(sizeof(struct sdrv_pm_ev_bound) == 16, "ev_bound size");
_Static_assert(sizeof(struct sdrv_pm_ev_port_closed) == 4, "ev_port_closed size");
_Static_assert(sizeof(struct sdrv_pm_ev_peer_died) == 4, "ev_peer_died size");

/* The shape of one message: payload size (exact, or a range for the HELLO
 * reply's trailing store address and the isolation-mode arrays) and
 * descriptors (VAR_FDS: the count depends on the payload, see check_var()). */
#define VAR_FDS	      0xFFu
#define BATCH_MAX_LEN (8 + 4 * SDRV_PM_MAX_BATCH)

struct shape {
	uint16_t type;
	uint16_t min_len;
	uint16_t max_len;
	uint8_t nfds;
};

static const struct shape requests[] = {
    {SDRV_PM_HELLO, 16, 16, VAR_FDS},
    {SDRV_PM_MAP_SETUP, 4, 4, 0},
    {SDRV_PM_ALLOC_UNBOUND, 8, 8, 1},
    {SDRV_PM_BIND, 16, 16, 1},
    {SDRV_PM_CLOSE, 4, 4, 0},
    {SDRV_PM_SHARE, 12, BATCH_MAX_LEN, VAR_FDS},
    {SDRV_PM_MAP, 12, BATCH_MAX_LEN, 0},
    {SDRV_PM_UNMAP, 12, BATCH_MAX_LEN, 0},
    {SDRV_PM_COPY, 16, 16 + SDRV_PM_MAX_COPY, 0},
};

/* Successful replies (status 0). Errors are always a bare sdrv_pm_status. */
static const struct shape replies[] = {
    {SDRV_PM_HELLO, 8, 8 + SDRV_PM_MAX_STORE, 0},
    {SDRV_PM_MAP_SETUP, 16, 16, 2},
    {SDRV_PM_ALLOC_UNBOUND, 8, 8, 0},
    {SDRV_PM_BIND, 8, 8, 1},
    {SDRV_PM_CLOSE, 8, 8, 0},
    {SDRV_PM_SHARE, 8, 8, 0},
    {SDRV_PM_MAP, 20, 16 + 4 * SDRV_PM_MAX_BATCH, VAR_FDS},
    {SDRV_PM_UNMAP, 8, 8, 0},
    {SDRV_PM_COPY, 8, 8 + SDRV_PM_MAX_COPY, 0},
};

static const struct shape events[] = {
    {SDRV_PM_EV_BOUND, 16, 16, 1},
    {SDRV_PM_EV_PORT_CLOSED, 4, 4, 0},
    {SDRV_PM_EV_PEER_DIED, 4, 4, 0},
};

static const struct shape *find(const struct shape *tab, size_t n, uint16_t type)
{
	for (size_t i = 0; i < n; i++)
		if (tab[i].type == type)
			return &tab[i];
	return NULL;
}

#define FIND(tab, type) find(tab, sizeof(tab) / sizeof(tab[0]), type)

static uint16_t rd16(const unsigned char *p)
{
	uint16_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t rd32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

/* Padding fields (offset, width) of each fixed layout must be zero. */
static bool pads_zero(uint16_t type, bool reply, const unsigned char *p, size_t len)
{
	if (reply) {
		switch (type) {
		case SDRV_PM_HELLO:
			return rd16(p + 6) == 0;
		case SDRV_PM_MAP_SETUP:
			return rd32(p + 12) == 0;
		case SDRV_PM_MAP:
			return rd32(p + 8) == 0 && rd32(p + 12) == 0;
		case SDRV_PM_COPY:
			return true; /* no padding; the length is checked by check_var() */
		default:
			return len < 8 || rd32(p + 4) == 0;
		}
	}
	switch (type) {
	case SDRV_PM_HELLO:
		return rd16(p + 10) == 0;
	case SDRV_PM_MAP_SETUP:
		return rd16(p + 2) == 0;
	case SDRV_PM_ALLOC_UNBOUND:
		return rd16(p + 2) == 0;
	case SDRV_PM_BIND:
		return rd16(p + 2) == 0 && rd32(p + 12) == 0;
	case SDRV_PM_EV_BOUND:
		return rd16(p + 6) == 0 && rd32(p + 12) == 0;
	case SDRV_PM_EV_PEER_DIED:
		return rd16(p + 2) == 0;
	case SDRV_PM_SHARE:
		return rd32(p + 4) == 0;
	case SDRV_PM_COPY:
		return rd32(p + 12) == 0;
	default:
		return true;
	}
}

/* A count of refs or statuses that must match the payload length. */
static bool batch_ok(uint32_t count, uint32_t len, uint32_t fixed)
{
	return count >= 1 && count <= SDRV_PM_MAX_BATCH && len == fixed + 4 * count;
}

/* Shapes whose size, flags or descriptors depend on the payload. */
static bool check_var(uint16_t type, bool reply, const unsigned char *p, uint32_t len,
		      unsigned nfds)
{
	if (reply) {
		switch (type) {
		case SDRV_PM_MAP: {
			uint32_t count = rd32(p + 4);
			bool all_ok = true;

			if (!batch_ok(count, len, 16))
				return false;
			for (uint32_t i = 0; i < count; i++) {
				int32_t st = (int32_t)rd32(p + 16 + 4 * i);

				if (st > 0 || st < -4095)
					return false;
				if (st)
					all_ok = false;
			}
			return nfds == (all_ok ? count : 0);
		}
		case SDRV_PM_COPY:
			return rd32(p + 4) == len - 8;
		default:
			return true;
		}
	}
	switch (type) {
	case SDRV_PM_HELLO:
		return nfds == ((rd32(p + 4) & SDRV_PM_HELLO_ISOLATE) ? 1u : 2u);
	case SDRV_PM_SHARE:
		return batch_ok(rd32(p), len, 8) && nfds == rd32(p);
	case SDRV_PM_MAP:
	case SDRV_PM_UNMAP:
		return batch_ok(rd32(p + 4), len, 8) && (rd16(p + 2) & ~SDRV_PM_MAP_WRITABLE) == 0;
	case SDRV_PM_COPY: {
		uint16_t flags = rd16(p + 2), n = rd16(p + 10);

		if ((flags & ~SDRV_PM_COPY_TO_GRANT) || n > SDRV_PM_MAX_COPY)
			return false;
		return len == 16u + ((flags & SDRV_PM_COPY_TO_GRANT) ? n : 0u);
	}
	default:
		return true;
	}
}

static int check_shape(const struct shape *s, const unsigned char *p, uint32_t len, unsigned nfds,
		       bool reply)
{
	if (len < s->min_len || len > s->max_len)
		return -EBADMSG;
	if (s->nfds != VAR_FDS && nfds != s->nfds)
		return -EBADMSG;
	if (!pads_zero(s->type, reply, p, len))
		return -EBADMSG;
	if (!check_var(s->type, reply, p, len, nfds))
		return -EBADMSG;
	return 0;
}

int sdrv_pm_validate(const void *buf, size_t n, unsigned nfds, enum sdrv_pm_dir dir,
		     struct sdrv_pm_hdr *hdr)
{
	const unsigned char *p = buf;
	const struct shape *s;
	struct sdrv_pm_hdr h;

	memset(hdr, 0, sizeof(*hdr));
	if (!buf || n < SDRV_PM_HDR_SIZE || n > SDRV_PM_MAX_MSG || nfds > SDRV_PM_MAX_FDS)
		return -EPROTO;
	memcpy(&h, p, sizeof(h));
	if (h.magic != SDRV_PM_MAGIC || h.len > SDRV_PM_MAX_PAYLOAD ||
	    (size_t)h.len != n - SDRV_PM_HDR_SIZE)
		return -EPROTO;
	*hdr = h;
	p += SDRV_PM_HDR_SIZE;
	if (h.flags != 0)
		return -EBADMSG;

	if (dir == SDRV_PM_TO_BROKER) {
		if (h.seq == 0)
			return -EBADMSG;
		s = FIND(requests, h.type);
		if (!s)
			return -EOPNOTSUPP;
		return check_shape(s, p, h.len, nfds, false);
	}

	if (h.type & SDRV_PM_REPLY) {
		int32_t status;

		if (h.seq == 0)
			return -EBADMSG;
		s = FIND(replies, (uint16_t)(h.type & ~SDRV_PM_REPLY));
		if (!s)
			return -EOPNOTSUPP;
		if (h.len < 8)
			return -EBADMSG;
		memcpy(&status, p, sizeof(status));
		if (status > 0 || status < -4095)
			return -EBADMSG;
		if (status < 0) {
			/* Errors are bare statuses, without descriptors. */
			if (h.len != 8 || nfds != 0 || rd32(p + 4) != 0)
				return -EBADMSG;
			return 0;
		}
		return check_shape(s, p, h.len, nfds, true);
	}
	if (h.seq != 0)
		return -EBADMSG;
	s = FIND(events, h.type);
	if (!s)
		return -EOPNOTSUPP;
	return check_shape(s, p, h.len, nfds, false);
}

size_t sdrv_pm_encode(void *buf, uint16_t type, uint32_t seq, const void *payload, size_t len)
{
	struct sdrv_pm_hdr h = {
	    .magic = SDRV_PM_MAGIC,
	    .type = type,
	    .flags = 0,
	    .seq = seq,
	    .len = (uint32_t)len,
	};

	if (len > SDRV_PM_MAX_PAYLOAD)
		return 0;
	memcpy(buf, &h, sizeof(h));
	if (len)
		memcpy((unsigned char *)buf + SDRV_PM_HDR_SIZE, payload, len);
	return SDRV_PM_HDR_SIZE + len;
}

const char *sdrv_pm_type_name(uint16_t type)
{
	switch (type & ~SDRV_PM_REPLY) {
	case SDRV_PM_HELLO:
		return "HELLO";
	case SDRV_PM_MAP_SETUP:
		return "MAP_SETUP";
	case SDRV_PM_ALLOC_UNBOUND:
		return "ALLOC_UNBOUND";
	case SDRV_PM_BIND:
		return "BIND";
	case SDRV_PM_CLOSE:
		return "CLOSE";
	case SDRV_PM_SHARE:
		return "SHARE";
	case SDRV_PM_MAP:
		return "MAP";
	case SDRV_PM_UNMAP:
		return "UNMAP";
	case SDRV_PM_COPY:
		return "COPY";
	case SDRV_PM_EV_BOUND:
		return "EV_BOUND";
	case SDRV_PM_EV_PORT_CLOSED:
		return "EV_PORT_CLOSED";
	case SDRV_PM_EV_PEER_DIED:
		return "EV_PEER_DIED";
	default:
		return "unknown";
	}
}

int sdrv_pm_send(int sock, const void *buf, size_t n, const int *fds, unsigned nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * SDRV_PM_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {.iov_base = (void *)(uintptr_t)buf, .iov_len = n};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t r;

	if (nfds > SDRV_PM_MAX_FDS)
		return -EINVAL;
	if (nfds) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	do {
		r = sendmsg(sock, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return (size_t)r == n ? 0 : -EMSGSIZE;
}

long sdrv_pm_recv(int sock, void *buf, int *fds, unsigned *nfds, bool *framing)
{
	/* Room for more descriptors than any message carries, to see excess. */
	union {
		char buf[CMSG_SPACE(sizeof(int) * (SDRV_PM_MAX_FDS + 8))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {.iov_base = buf, .iov_len = SDRV_PM_MAX_MSG};
	struct msghdr msg = {
	    .msg_iov = &iov,
	    .msg_iovlen = 1,
	    .msg_control = ctl.buf,
	    .msg_controllen = sizeof(ctl.buf),
	};
	ssize_t r;

	*nfds = 0;
	*framing = false;
	do {
		r = recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		size_t k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0)) {
			*framing = true;
			continue;
		}
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*nfds < SDRV_PM_MAX_FDS) {
				fds[(*nfds)++] = fd;
			} else {
				close(fd);
				*framing = true;
			}
		}
	}
	if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		*framing = true;
	/* 0 bytes: end of stream, or an empty datagram, which callers take
	 * for it and which no message is: what it carried goes too. */
	if (*framing || r == 0) {
		for (unsigned i = 0; i < *nfds; i++)
			close(fds[i]);
		*nfds = 0;
	}
	return (long)r;
}
