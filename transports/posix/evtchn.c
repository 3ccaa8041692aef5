/* SPDX-License-Identifier: MIT */
/*
 * Event channels of one domain on sender-owned SEQPACKET sockets: see
 * evtchn.h.
 *
 * State of a port: its pending state is "its receive end has records (or
 * hung up)" or its software pending bit (`soft`: set by connect,
 * disconnect and the peer's death). "masked" is a software flag: whether
 * the port may be delivered. The receive end's epoll registration is
 * either armed (EPOLLIN | EPOLLRDHUP, level-triggered) or disarmed
 * (EPOLLONESHOT alone, through which the kernel still reports a hang-up,
 * once: epoll always adds EPOLLHUP). An unmasked port is always armed. A
 * masked port normally stays armed too: pending() drained its receive
 * end, so epoll has nothing to report and masking, unmasking and delivery
 * cost no system call. Only when epoll reports a masked port (a
 * notification came while masked, or a delayed port is being flooded) is
 * it disarmed with EPOLL_CTL_MOD; unmask re-arms just those ports, and the
 * re-arm re-checks the socket, so the notification that came while masked
 * is reported at once (pending survives masking). A hang-up reported on a
 * masked port marks it dead and soft-pending, still masked.
 *
 * Soft-pending unmasked ports sit on the `ready` list; while that list is
 * not empty the table's private wake eventfd (data EVL_WAKE_TAG) is
 * readable, so the epoll fd is. A port whose unmask the late-EOI back-off
 * delays stays masked (so disarmed if it is reported meanwhile) and sits
 * on the delayed list; one timerfd in the same epoll set (data 0, which is
 * never a port) fires at the earliest deadline. Watched descriptors of
 * the caller (sdrv_evl_watch()) carry tags just below EVL_WAKE_TAG.
 *
 * One epoll_wait() (a "scan", up to EVL_SCAN_MAX events) serves both
 * sdrv_evl_pending() and sdrv_evl_watched(): it handles what needs no
 * delivery on the spot (timer, stale wake, masked ports, watched
 * descriptors: a readiness bit) and keeps the unmasked ports it reports in
 * a small cache, which pending() delivers from before it looks again. The
 * cache holds only ports that were unmasked, so armed and level-triggered:
 * their registrations stay on epoll's ready list, and the epoll fd stays
 * readable while they are cached. An entry is checked again when used (the
 * port may have been masked since) and dropped when its receive end is
 * closed (its hang-up bit would be stale).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "evtchn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Linux 6.16: refuse SCM_RIGHTS on a socket. The value is the generic one
 * (asm-generic/socket.h); other architectures get it from their headers. */
#if !defined(SO_PASSRIGHTS) && (defined(__x86_64__) || defined(__i386__) ||                        \
				defined(__aarch64__) || defined(__arm__) || defined(__riscv))
#define SO_PASSRIGHTS 83
#endif

/* epoll data of the timerfd, the wake eventfd and watched descriptors;
 * ports are 1..2^17. */
#define EVL_TIMER_TAG	  0u
#define EVL_WAKE_TAG	  UINT64_MAX
#define EVL_WATCH_TAG(id) (UINT64_MAX - 1u - (uint64_t)(id))
/* Events of an armed receive end (level-triggered) and of a disarmed one. */
#define EVL_ARMED    (EPOLLIN | EPOLLRDHUP)
#define EVL_DISARMED EPOLLONESHOT
/* Events one scan (epoll_wait) takes at most. */
#define EVL_SCAN_MAX 32
/* Epoll events examined per sdrv_evl_pending() call before giving up (the
 * fd stays readable, so the caller comes back). Bounds the work a peer can
 * cause by racing us for records on a receive end it kept a copy of. */
#define EVL_PENDING_SPINS 64
/* The spurious count stops growing once the delay is capped. */
#define EVL_SPURIOUS_MAX (SDRV_EVL_SPURIOUS_THRESHOLD + 12u)
/* Send buffer of a sending socket (the kernel doubles it: 8 KiB, about 11
 * queued one-byte records); more notifies coalesce (EAGAIN). Keeps drains
 * short and the kernel memory a peer that never reads makes us pin small. */
#define EVL_SNDBUF 4096

enum drain_result { DRAIN_NONE, DRAIN_SOME, DRAIN_DEAD };

struct evl_port {
	int send_fd;  /* our sending socket; -1 when the slot is free */
	int give_fd;  /* our channel's receive end, for the peer; -1 once connected */
	int recv_fd;  /* the peer's channel's receive end; -1 when not connected */
	bool masked;  /* not deliverable (a software flag) */
	bool armed;   /* receive end registered EVL_ARMED (else EVL_DISARMED) */
	bool soft;    /* software pending bit */
	bool ready;   /* on the ready list: soft && !masked */
	bool delayed; /* on the delayed-unmask list */
	uint32_t spurious;
	uint64_t deadline_ns;  /* CLOCK_MONOTONIC, when delayed */
	uint32_t dprev, dnext; /* delayed list links (port numbers, 0 = none) */
	uint32_t rprev, rnext; /* ready list links */
};

struct sdrv_evl {
	int epfd;
	int timerfd;
	int wakefd; /* readable while the ready list is not empty; never shared */
	bool wake_on;
	uint32_t max_ports;
	uint32_t cap; /* slots allocated in `ports`, index 0 unused */
	struct evl_port *ports;
	uint32_t free_hint;    /* no free slot below this one */
	uint32_t delayed_head; /* delayed list, unordered */
	uint32_t ready_head;   /* ready list, most recent first */
	uint64_t timer_ns;     /* armed deadline, 0 = disarmed */
	struct sdrv_evl_stats stats;
	uint32_t watch_ready; /* bit `id`: watched descriptor `id` was reported */
	/* Unmasked ports reported by the last scan, not yet delivered. */
	uint32_t nr_cached, next_cached;
	/* The last scan was sdrv_evl_wait()'s and saw everything there was:
	 * once its ports are delivered, pending() answers 0 once without
	 * looking again (the caller waits next, and the level-triggered epoll
	 * fd reports whatever came since). */
	bool snapshot;
	/* Bit `id`: the same for sdrv_evl_watched(id): the wait's look did not
	 * report the descriptor, and that answer has not been given yet. */
	uint32_t watch_fresh;
	struct {
		uint32_t port;
		bool hup;
	} cached[EVL_SCAN_MAX];
	/* Drain vector: SDRV_EVL_DRAIN_MAX records into one byte. */
	struct mmsghdr *drain;
	struct iovec drain_iov;
	char drain_byte;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void close_fd(int fd)
{
	if (fd >= 0)
		(void)close(fd);
}

static struct evl_port *port_get(const struct sdrv_evl *e, sdrv_evtchn_port_t port)
{
	if (!e || port == 0 || port >= e->cap || e->ports[port].send_fd < 0)
		return NULL;
	return &e->ports[port];
}

/* ------------------------------- channels ------------------------------- */

/* Refuse descriptors passed over this socket, where the kernel can. */
static void refuse_rights(int fd)
{
#ifdef SO_PASSRIGHTS
	int off = 0;

	(void)setsockopt(fd, SOL_SOCKET, SO_PASSRIGHTS, &off, sizeof(off));
#else
	(void)fd;
#endif
}

/* Read and drop what the peer queued on a receive end, never blocking
 * whatever the peer did to the file's flags (MSG_DONTWAIT): DRAIN_NONE
 * (nothing there), DRAIN_SOME, or DRAIN_DEAD (the peer's sending socket is
 * gone: end of file, or a zero-length record, which our peers never
 * send). A record longer than one byte is truncated, still one record.
 * One recvmmsg() of at most SDRV_EVL_DRAIN_MAX records: bounded, and what
 * is left over keeps the end readable. */
static enum drain_result chan_drain(struct sdrv_evl *e, int fd)
{
	int n, i = 0;

	do {
		n = recvmmsg(fd, e->drain, SDRV_EVL_DRAIN_MAX, MSG_DONTWAIT, NULL);
	} while (n < 0 && errno == EINTR && ++i < 8);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return DRAIN_NONE;
		if (errno == ECONNRESET || errno == ENOTCONN || errno == EPIPE)
			return DRAIN_DEAD;
		/* Anything else: let the owner look (a spurious wake-up at
		 * worst) rather than lose a notification. */
		return DRAIN_SOME;
	}
	/* At end of file every further slot reads as an empty record. */
	for (int k = 0; k < n; k++)
		if (e->drain[k].msg_len == 0)
			return DRAIN_DEAD;
	return n > 0 ? DRAIN_SOME : DRAIN_NONE;
}

/* Whether `fd` can be a receive end: 0, -EBADF or -EINVAL. A connected
 * AF_UNIX SOCK_SEQPACKET socket: anything else could block, or mean
 * something else, when read. */
static int chan_check(int fd)
{
	struct sockaddr_un sa;
	socklen_t len;
	int v;

	if (fd < 0 || fcntl(fd, F_GETFL) < 0)
		return -EBADF;
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) != 0 || v != AF_UNIX)
		return -EINVAL;
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) != 0 || v != SOCK_SEQPACKET)
		return -EINVAL;
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) != 0 || v != 0)
		return -EINVAL;
	len = sizeof(sa);
	if (getpeername(fd, (struct sockaddr *)&sa, &len) != 0)
		return -EINVAL;
	return 0;
}

/* Whether the table owns descriptor `fd` (it would be closed twice). */
static bool table_owns(const struct sdrv_evl *e, int fd)
{
	if (fd == e->epfd || fd == e->timerfd || fd == e->wakefd)
		return true;
	for (uint32_t i = 1; i < e->cap; i++) {
		const struct evl_port *p = &e->ports[i];

		if (p->send_fd == fd || p->give_fd == fd || p->recv_fd == fd)
			return true;
	}
	return false;
}

/* ----------------------- soft pending, ready list ----------------------- */

/* Make the wake eventfd readable iff the ready list is not empty. */
static int wake_sync(struct sdrv_evl *e)
{
	bool want = e->ready_head != 0;
	uint64_t v = 1;

	if (want == e->wake_on)
		return 0;
	if (want) {
		if (write(e->wakefd, &v, sizeof(v)) != (ssize_t)sizeof(v))
			return -errno;
	} else {
		if (read(e->wakefd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			return -errno;
	}
	e->wake_on = want;
	return 0;
}

static void ready_add(struct sdrv_evl *e, sdrv_evtchn_port_t port)
{
	struct evl_port *p = &e->ports[port];

	if (p->ready)
		return;
	p->ready = true;
	p->rprev = 0;
	p->rnext = e->ready_head;
	if (e->ready_head)
		e->ports[e->ready_head].rprev = port;
	e->ready_head = port;
}

static void ready_del(struct sdrv_evl *e, sdrv_evtchn_port_t port)
{
	struct evl_port *p = &e->ports[port];

	if (!p->ready)
		return;
	if (p->rprev)
		e->ports[p->rprev].rnext = p->rnext;
	else
		e->ready_head = p->rnext;
	if (p->rnext)
		e->ports[p->rnext].rprev = p->rprev;
	p->rprev = p->rnext = 0;
	p->ready = false;
}

/* Set the software pending bit: delivered now if unmasked, else on unmask. */
static int soft_set(struct sdrv_evl *e, sdrv_evtchn_port_t port)
{
	e->ports[port].soft = true;
	if (!e->ports[port].masked)
		ready_add(e, port);
	return wake_sync(e);
}

/* Forget the receive end: the port is no longer connected. Its cached
 * report (if any) goes too: it may carry a hang-up of this receive end. */
static void recv_close(struct sdrv_evl *e, sdrv_evtchn_port_t port)
{
	struct evl_port *p = &e->ports[port];

	if (p->recv_fd < 0)
		return;
	for (uint32_t i = e->next_cached; i < e->nr_cached; i++)
		if (e->cached[i].port == port)
			e->cached[i].port = 0;
	(void)epoll_ctl(e->epfd, EPOLL_CTL_DEL, p->recv_fd, NULL);
	close_fd(p->recv_fd);
	p->recv_fd = -1;
	p->armed = false;
}

/* -------------------------------- epoll --------------------------------- */

/* (Re-)register the receive end armed or disarmed, if it is not already. */
static int port_set_armed(struct sdrv_evl *e, sdrv_evtchn_port_t port, bool arm)
{
	struct evl_port *p = &e->ports[port];
	struct epoll_event ev = {.events = arm ? EVL_ARMED : EVL_DISARMED, .data.u64 = port};

	if (p->recv_fd < 0 || p->armed == arm)
		return 0;
	if (epoll_ctl(e->epfd, EPOLL_CTL_MOD, p->recv_fd, &ev) != 0)
		return -errno;
	p->armed = arm;
	return 0;
}

/* Unmask: a soft-pending port goes on the ready list, a disarmed receive
 * end is re-armed (which reports what came while it was masked). No system
 * call if the port was armed and not soft-pending. */
static int port_unmask(struct sdrv_evl *e, sdrv_evtchn_port_t port)
{
	struct evl_port *p = &e->ports[port];
	int r;

	p->masked = false;
	if (p->soft)
		ready_add(e, port);
	r = port_set_armed(e, port, true);
	if (!r)
		r = wake_sync(e);
	return r;
}

/* Mask: a software flag; the receive end stays armed until epoll reports
 * it (see sdrv_evl_pending()). */
static int port_mask(struct sdrv_evl *e, sdrv_evtchn_port_t port)
{
	e->ports[port].masked = true;
	ready_del(e, port);
	return wake_sync(e);
}

/* ------------------------- delayed unmask list -------------------------- */

static void delayed_unlink(struct sdrv_evl *e, sdrv_evtchn_port_t port)
{
	struct evl_port *p = &e->ports[port];

	if (!p->delayed)
		return;
	if (p->dprev)
		e->ports[p->dprev].dnext = p->dnext;
	else
		e->delayed_head = p->dnext;
	if (p->dnext)
		e->ports[p->dnext].dprev = p->dprev;
	p->dprev = p->dnext = 0;
	p->delayed = false;
}

/* Arm the timerfd for `ns` (absolute), or disarm it for 0. */
static int timer_set(struct sdrv_evl *e, uint64_t ns)
{
	struct itimerspec its;

	if (ns == e->timer_ns)
		return 0;
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = (time_t)(ns / 1000000000ull);
	its.it_value.tv_nsec = (long)(ns % 1000000000ull);
	if (timerfd_settime(e->timerfd, TFD_TIMER_ABSTIME, &its, NULL) != 0)
		return -errno;
	e->timer_ns = ns;
	return 0;
}

static uint64_t delay_ms(uint32_t spurious)
{
	uint32_t shift = spurious - SDRV_EVL_SPURIOUS_THRESHOLD - 1;

	if (shift >= 31)
		return SDRV_EVL_MAX_DELAY_MS;
	return (1ull << shift) < SDRV_EVL_MAX_DELAY_MS ? (1ull << shift) : SDRV_EVL_MAX_DELAY_MS;
}

static int delayed_add(struct sdrv_evl *e, sdrv_evtchn_port_t port, uint64_t deadline)
{
	struct evl_port *p = &e->ports[port];

	p->deadline_ns = deadline;
	p->delayed = true;
	p->dprev = 0;
	p->dnext = e->delayed_head;
	if (e->delayed_head)
		e->ports[e->delayed_head].dprev = port;
	e->delayed_head = port;
	if (e->timer_ns == 0 || deadline < e->timer_ns)
		return timer_set(e, deadline);
	return 0;
}

/* Unmask the delayed ports that are due; re-arm the timer for the rest. */
static int delayed_run(struct sdrv_evl *e, uint64_t now)
{
	uint64_t next = 0;
	uint32_t port = e->delayed_head;
	int err = 0, r;

	while (port) {
		struct evl_port *p = &e->ports[port];
		uint32_t following = p->dnext;

		if (p->deadline_ns <= now) {
			delayed_unlink(e, port);
			r = port_unmask(e, port);
			if (r && !err)
				err = r;
		} else if (next == 0 || p->deadline_ns < next) {
			next = p->deadline_ns;
		}
		port = following;
	}
	r = timer_set(e, next);
	return err ? err : r;
}

/* -------------------------------- table --------------------------------- */

struct sdrv_evl *sdrv_evl_new(uint32_t max_ports)
{
	struct epoll_event tev = {.events = EPOLLIN, .data.u64 = EVL_TIMER_TAG};
	struct epoll_event wev = {.events = EPOLLIN, .data.u64 = EVL_WAKE_TAG};
	struct sdrv_evl *e;
	int err;

	if (max_ports == 0 || max_ports > SDRV_EVL_MAX_PORTS) {
		errno = EINVAL;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->max_ports = max_ports;
	e->drain = calloc(SDRV_EVL_DRAIN_MAX, sizeof(*e->drain));
	if (!e->drain) {
		free(e);
		return NULL;
	}
	e->drain_iov.iov_base = &e->drain_byte;
	e->drain_iov.iov_len = sizeof(e->drain_byte);
	for (uint32_t i = 0; i < SDRV_EVL_DRAIN_MAX; i++) {
		e->drain[i].msg_hdr.msg_iov = &e->drain_iov;
		e->drain[i].msg_hdr.msg_iovlen = 1;
	}
	e->epfd = epoll_create1(EPOLL_CLOEXEC);
	e->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	e->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (e->epfd < 0 || e->timerfd < 0 || e->wakefd < 0 ||
	    epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->timerfd, &tev) != 0 ||
	    epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->wakefd, &wev) != 0) {
		err = errno;
		close_fd(e->epfd);
		close_fd(e->timerfd);
		close_fd(e->wakefd);
		free(e->drain);
		free(e);
		errno = err;
		return NULL;
	}
	return e;
}

void sdrv_evl_free(struct sdrv_evl *e)
{
	if (!e)
		return;
	for (uint32_t i = 1; i < e->cap; i++) {
		close_fd(e->ports[i].send_fd);
		close_fd(e->ports[i].give_fd);
		close_fd(e->ports[i].recv_fd);
	}
	close_fd(e->wakefd);
	close_fd(e->timerfd);
	close_fd(e->epfd);
	free(e->ports);
	free(e->drain);
	free(e);
}

int sdrv_evl_fd(const struct sdrv_evl *e)
{
	return e ? e->epfd : -EINVAL;
}

int sdrv_evl_watch(struct sdrv_evl *e, int fd, unsigned id)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EVL_WATCH_TAG(id)};

	if (!e || fd < 0 || id >= SDRV_EVL_NR_WATCH)
		return -EINVAL;
	return epoll_ctl(e->epfd, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : -errno;
}

/* A free slot, growing the array (doubling, up to max_ports) if needed. */
static int slot_find(struct sdrv_evl *e, uint32_t *slot)
{
	struct evl_port *np;
	uint32_t ncap;

	for (uint32_t i = e->free_hint > 1 ? e->free_hint : 1; i < e->cap; i++) {
		if (e->ports[i].send_fd < 0) {
			*slot = e->free_hint = i;
			return 0;
		}
	}
	if (e->cap > e->max_ports)
		return -ENOSPC;
	ncap = e->cap ? e->cap * 2 : 16;
	if (ncap > e->max_ports + 1)
		ncap = e->max_ports + 1;
	np = realloc(e->ports, (size_t)ncap * sizeof(*np));
	if (!np)
		return -ENOMEM;
	for (uint32_t i = e->cap; i < ncap; i++) {
		memset(&np[i], 0, sizeof(np[i]));
		np[i].send_fd = -1;
		np[i].give_fd = -1;
		np[i].recv_fd = -1;
	}
	*slot = e->free_hint = e->cap ? e->cap : 1;
	e->ports = np;
	e->cap = ncap;
	return 0;
}

int sdrv_evl_add(struct sdrv_evl *e, sdrv_evtchn_port_t *port, int *peer_fd)
{
	const int sndbuf = EVL_SNDBUF;
	struct evl_port *p;
	uint32_t slot;
	int sv[2], r;

	if (!e || !port || !peer_fd)
		return -EINVAL;
	r = slot_find(e, &slot);
	if (r)
		return r;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
		return -errno;
	/* sv[0] is ours and sends only: shut for reading, nothing can ever
	 * be queued to it (so closing it never releases anything of the
	 * peer's). */
	if (shutdown(sv[0], SHUT_RD) != 0) {
		r = -errno;
		close(sv[0]);
		close(sv[1]);
		return r;
	}
	(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	refuse_rights(sv[1]);
	p = &e->ports[slot];
	memset(p, 0, sizeof(*p));
	p->send_fd = sv[0];
	p->give_fd = sv[1];
	p->recv_fd = -1;
	*port = slot;
	*peer_fd = sv[1];
	return 0;
}

int sdrv_evl_connect(struct sdrv_evl *e, sdrv_evtchn_port_t port, int recv_fd)
{
	struct evl_port *p = port_get(e, port);
	struct epoll_event ev = {.data.u64 = port};
	int r;

	if (!p)
		return -EINVAL;
	if (p->recv_fd >= 0)
		return -EBUSY;
	r = chan_check(recv_fd);
	if (r)
		return r;
	if (table_owns(e, recv_fd))
		return -EINVAL;
	/* Armed even if masked: it is disarmed if reported while masked. */
	ev.events = EVL_ARMED;
	if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, recv_fd, &ev) != 0)
		return -errno;
	refuse_rights(recv_fd);
	p->recv_fd = recv_fd;
	p->armed = true;
	/* The peer has its copy by now: from here it is the only reader. */
	close_fd(p->give_fd);
	p->give_fd = -1;
	return soft_set(e, port);
}

int sdrv_evl_disconnect(struct sdrv_evl *e, sdrv_evtchn_port_t port)
{
	if (!port_get(e, port))
		return -EINVAL;
	recv_close(e, port);
	return soft_set(e, port);
}

int sdrv_evl_notify(struct sdrv_evl *e, sdrv_evtchn_port_t port)
{
	struct evl_port *p = port_get(e, port);
	const char one = 1;
	ssize_t r;
	int i = 0;

	if (!p)
		return -EINVAL;
	if (p->recv_fd < 0)
		return -ENOTCONN;
	do {
		r = send(p->send_fd, &one, sizeof(one), MSG_DONTWAIT | MSG_NOSIGNAL);
	} while (r < 0 && errno == EINTR && ++i < 8);
	if (r == (ssize_t)sizeof(one) || (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)))
		return 0;
	if (r >= 0)
		return -EIO;
	if (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN) {
		/* Every copy of our give end is closed: the peer is gone. */
		recv_close(e, port);
		r = soft_set(e, port);
		return r ? (int)r : -ENOTCONN;
	}
	return -errno;
}

/* Return port `pn` from sdrv_evl_pending(): masked, soft bit and receive
 * end cleared. The registration stays armed: the drained receive end has
 * nothing to report until the next notification. `drained`: the caller
 * drained the receive end already; `dead`: it hung up. */
static int deliver(struct sdrv_evl *e, uint32_t pn, bool drained, bool dead,
		   sdrv_evtchn_port_t *port)
{
	struct evl_port *p = &e->ports[pn];
	int r;

	p->masked = true;
	p->soft = false;
	ready_del(e, pn);
	if (p->recv_fd >= 0 && !dead && !drained)
		dead = chan_drain(e, p->recv_fd) == DRAIN_DEAD;
	if (dead)
		recv_close(e, pn);
	r = wake_sync(e);
	if (r)
		return r;
	e->stats.delivered++;
	*port = pn;
	return 1;
}

/*
 * The `n` events of one look at the epoll set. Handles on the spot what
 * needs no delivery: the timer (due delayed unmasks), a stale wake-up, watched
 * descriptors (their bits in watch_ready), masked ports (a hang-up marks
 * the port dead and soft-pending; anything else disarms it, so that it
 * stops reporting until unmasked). Unmasked ports replace the cache.
 * Returns 1 if a further look may find more (the batch was full, or due
 * unmasks re-armed ports), 0, or a negative errno.
 */
static int scan_events(struct sdrv_evl *e, const struct epoll_event *evs, int n)
{
	bool more;
	int r, i;

	e->nr_cached = e->next_cached = 0;
	e->snapshot = false;
	e->watch_fresh = 0;
	more = n == EVL_SCAN_MAX;
	for (i = 0; i < n; i++) {
		uint64_t tag = evs[i].data.u64;
		struct evl_port *p;
		bool hup;

		if (tag == EVL_TIMER_TAG) {
			uint64_t ticks;

			/* Clear the expiry; the timer is re-armed below. */
			if (read(e->timerfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
				return -errno;
			e->timer_ns = 0;
			r = delayed_run(e, now_ns());
			if (r)
				return r;
			more = true;
			continue;
		}
		if (tag == EVL_WAKE_TAG) {
			/* The caller checks the ready list: at worst stale. */
			r = wake_sync(e);
			if (r)
				return r;
			continue;
		}
		if (tag >= EVL_WATCH_TAG(SDRV_EVL_NR_WATCH - 1)) {
			e->watch_ready |= 1u << (EVL_WATCH_TAG(0) - tag);
			continue;
		}
		/* Only our own registrations carry port numbers; be strict anyway. */
		if (tag >= e->cap || e->ports[tag].send_fd < 0 || e->ports[tag].recv_fd < 0)
			continue;
		p = &e->ports[tag];
		hup = evs[i].events & (EPOLLHUP | EPOLLRDHUP | EPOLLERR);
		if (p->masked) {
			if (hup) {
				/* The peer is gone; tell the owner when it unmasks. */
				recv_close(e, (uint32_t)tag);
				r = soft_set(e, (uint32_t)tag);
			} else {
				/* A notification while masked: stays queued, and
				 * unmask re-arms the port, which reports it. */
				r = port_set_armed(e, (uint32_t)tag, false);
			}
			if (r)
				return r;
			continue;
		}
		e->cached[e->nr_cached].port = (uint32_t)tag;
		e->cached[e->nr_cached].hup = hup;
		e->nr_cached++;
	}
	return more;
}

/* One look at the epoll set, without waiting: scan_events() of it. */
static int scan(struct sdrv_evl *e)
{
	struct epoll_event evs[EVL_SCAN_MAX];
	int n, i = 0;

	do {
		n = epoll_wait(e->epfd, evs, EVL_SCAN_MAX, 0);
	} while (n < 0 && errno == EINTR && ++i < 8);
	if (n < 0)
		return -errno;
	return scan_events(e, evs, n);
}

int sdrv_evl_pending(struct sdrv_evl *e, sdrv_evtchn_port_t *port)
{
	bool scanned = false, more = false;
	int r;

	if (!e || !port)
		return -EINVAL;
	if (e->delayed_head && now_ns() >= e->timer_ns) {
		r = delayed_run(e, now_ns());
		if (r)
			return r;
	}
	for (int spin = 0; spin < EVL_PENDING_SPINS; spin++) {
		struct evl_port *p;
		uint32_t pn;
		bool hup;

		if (e->ready_head)
			return deliver(e, e->ready_head, false, false, port);
		if (e->next_cached == e->nr_cached) {
			/* Look again unless the last look in this call saw
			 * everything there was. */
			if (scanned && !more)
				return 0;
			if (!scanned && e->snapshot) {
				e->snapshot = false;
				return 0;
			}
			r = scan(e);
			if (r < 0)
				return r;
			scanned = true;
			more = r;
			continue;
		}
		pn = e->cached[e->next_cached].port;
		hup = e->cached[e->next_cached].hup;
		e->next_cached++;
		/* Dropped (closed), or masked since the scan: if it still has
		 * something, epoll reports it again. */
		if (pn == 0 || e->ports[pn].send_fd < 0 || e->ports[pn].recv_fd < 0)
			continue;
		p = &e->ports[pn];
		if (p->masked)
			continue;
		if (!hup) {
			enum drain_result d = chan_drain(e, p->recv_fd);

			/* DRAIN_NONE: someone holding a copy of our receive
			 * end (the peer) took the records first, or the entry
			 * was stale: nothing is pending. It stays armed. */
			if (d == DRAIN_NONE)
				continue;
			hup = d == DRAIN_DEAD;
		}
		return deliver(e, pn, true, hup, port);
	}
	return 0;
}

int sdrv_evl_wait(struct sdrv_evl *e, int timeout_ms)
{
	struct epoll_event evs[EVL_SCAN_MAX];
	int n, r;

	if (!e)
		return -EINVAL;
	/* Something to hand out already: no waiting. (A watched descriptor
	 * reported earlier is still readable if it matters, and reported
	 * again.) */
	if (e->ready_head || e->next_cached < e->nr_cached)
		return 1;
	if (e->delayed_head && now_ns() >= e->timer_ns)
		return 1;
	n = epoll_wait(e->epfd, evs, EVL_SCAN_MAX, timeout_ms);
	if (n < 0)
		return -errno;
	/* An empty look (a timeout) is a complete one too. */
	r = scan_events(e, evs, n);
	if (r < 0)
		return r;
	if (r == 0) {
		e->snapshot = true;
		e->watch_fresh = ~e->watch_ready & ((1u << SDRV_EVL_NR_WATCH) - 1u);
	}
	return n > 0;
}

int sdrv_evl_watched(struct sdrv_evl *e, unsigned id)
{
	uint32_t bit;
	int r;

	if (!e || id >= SDRV_EVL_NR_WATCH)
		return -EINVAL;
	bit = 1u << id;
	if (!(e->watch_ready & bit)) {
		/* The wait's look found it idle: that answer, once. */
		if (e->watch_fresh & bit) {
			e->watch_fresh &= ~bit;
			return 0;
		}
		r = scan(e);
		if (r < 0)
			return r;
		if (!(e->watch_ready & bit))
			return 0;
	}
	e->watch_ready &= ~bit;
	return 1;
}

int sdrv_evl_mask(struct sdrv_evl *e, sdrv_evtchn_port_t port)
{
	if (!port_get(e, port))
		return -EINVAL;
	delayed_unlink(e, port);
	return port_mask(e, port);
}

int sdrv_evl_unmask(struct sdrv_evl *e, sdrv_evtchn_port_t port)
{
	if (!port_get(e, port))
		return -EINVAL;
	delayed_unlink(e, port);
	return port_unmask(e, port);
}

int sdrv_evl_eoi(struct sdrv_evl *e, sdrv_evtchn_port_t port, uint32_t flags)
{
	struct evl_port *p = port_get(e, port);
	int r;

	if (!p || (flags & ~SDRV_EOI_SPURIOUS))
		return -EINVAL;
	if (!(flags & SDRV_EOI_SPURIOUS)) {
		p->spurious = 0;
		delayed_unlink(e, port);
		return port_unmask(e, port);
	}
	if (p->delayed)
		return 0;
	e->stats.spurious++;
	if (p->spurious < EVL_SPURIOUS_MAX)
		p->spurious++;
	if (p->spurious <= SDRV_EVL_SPURIOUS_THRESHOLD)
		return port_unmask(e, port);
	/* Keep it masked (it normally is: pending() returned it) and unmask
	 * it when the delay is over. Masked, it is disarmed as soon as epoll
	 * reports it, so a flooding peer wakes us at most once meanwhile. */
	r = port_mask(e, port);
	if (r)
		return r;
	e->stats.delayed_unmasks++;
	return delayed_add(e, port, now_ns() + delay_ms(p->spurious) * 1000000ull);
}

int sdrv_evl_close(struct sdrv_evl *e, sdrv_evtchn_port_t port)
{
	struct evl_port *p = port_get(e, port);

	if (!p)
		return -EINVAL;
	delayed_unlink(e, port);
	ready_del(e, port);
	recv_close(e, port);
	close_fd(p->send_fd);
	close_fd(p->give_fd);
	memset(p, 0, sizeof(*p));
	p->send_fd = -1;
	p->give_fd = -1;
	p->recv_fd = -1;
	if (port < e->free_hint)
		e->free_hint = port;
	return wake_sync(e);
}

int sdrv_evl_connected(const struct sdrv_evl *e, sdrv_evtchn_port_t port)
{
	const struct evl_port *p = port_get(e, port);

	if (!p)
		return -EINVAL;
	return p->recv_fd >= 0;
}

void sdrv_evl_get_stats(const struct sdrv_evl *e, struct sdrv_evl_stats *st)
{
	if (!st)
		return;
	if (!e) {
		memset(st, 0, sizeof(*st));
		return;
	}
	*st = e->stats;
}
