/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the POSIX transport's event channels (transports/posix/
 * evtchn.h): two tables connected to each other by handing each other
 * dup()ed give ends (the receive ends of their send channels), exactly what
 * the broker does across processes; then the same across two processes (a
 * give end inherited one way, passed with SCM_RIGHTS the other), with the
 * peer's death noticed; then late EOI against a flooding process, with the
 * delivery count and the consumer's CPU time bounded by the back-off; and a
 * hostile peer that sets every descriptor it holds blocking and stops
 * reading while we notify 100,000 times (the eventfd design's hang).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../transports/posix/evtchn.h"
#include "../common/tutil.h"

/* ------------------------------- helpers -------------------------------- */

/* Descriptors open in this process (the directory's own fd included, which
 * is the same before and after). */
static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	ck_assert_msg(d != NULL, "opendir(/proc/self/fd): %s", strerror(errno));
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static bool readable(int fd, int timeout_ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	int r;

	do {
		r = poll(&pfd, 1, timeout_ms);
	} while (r < 0 && errno == EINTR);
	return r > 0 && (pfd.revents & POLLIN);
}

static bool fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* One pending port without waiting: the port, 0 if none, or <0 errno. */
static int64_t take(struct sdrv_evl *e)
{
	sdrv_evtchn_port_t p = 0;
	int r = sdrv_evl_pending(e, &p);

	if (r < 0)
		return r;
	return r == 1 ? (int64_t)p : 0;
}

/* Take `n` ports, one at a time: each a port of 1..n, none twice; each is
 * unmasked again. */
static void take_each_once(struct sdrv_evl *e, uint32_t n)
{
	bool *seen = calloc(n + 1, sizeof(*seen));
	int64_t r;

	ck_assert_ptr_nonnull(seen);
	for (uint32_t i = 1; i <= n; i++) {
		r = take(e);
		ck_assert_msg(r >= 1 && r <= n && !seen[r], "bad, repeated or missing port %lld",
			      (long long)r);
		seen[r] = true;
		ck_assert_int_eq(sdrv_evl_unmask(e, (sdrv_evtchn_port_t)r), 0);
	}
	free(seen);
}

/* Wait up to `timeout_ms` on the table's fd for a pending port. */
static int64_t wait_take(struct sdrv_evl *e, int timeout_ms)
{
	uint64_t end = tu_now_ns() + (uint64_t)timeout_ms * 1000000ull, now;
	int64_t r;

	for (;;) {
		r = take(e);
		if (r != 0)
			return r;
		now = tu_now_ns();
		if (now >= end)
			return 0;
		(void)readable(sdrv_evl_fd(e), (int)((end - now + 999999) / 1000000));
	}
}

/* dup() that must work. */
static int xdup(int fd)
{
	int d = fcntl(fd, F_DUPFD_CLOEXEC, 0);

	ck_assert_msg(d >= 0, "dup(%d): %s", fd, strerror(errno));
	return d;
}

/* Two tables, one port each, connected to each other. */
struct pair {
	struct sdrv_evl *a, *b;
	sdrv_evtchn_port_t pa, pb;
	/* Copies of the give ends the test keeps (as a broker could), for
	 * connecting again; -1 unless `keep`. */
	int ka, kb;
};

/* Like the broker: take copies of both give ends (the tables close theirs
 * when connected), then hand each table the other's copy. */
static void pair_open_keep(struct pair *pp, uint32_t max_ports, bool keep)
{
	int ga, gb, da, db;

	pp->a = sdrv_evl_new(max_ports);
	pp->b = sdrv_evl_new(max_ports);
	ck_assert_msg(pp->a && pp->b, "sdrv_evl_new: %s", strerror(errno));
	ck_assert_int_eq(sdrv_evl_add(pp->a, &pp->pa, &ga), 0);
	ck_assert_int_eq(sdrv_evl_add(pp->b, &pp->pb, &gb), 0);
	da = xdup(ga);
	db = xdup(gb);
	pp->ka = keep ? xdup(ga) : -1;
	pp->kb = keep ? xdup(gb) : -1;
	ck_assert_int_eq(sdrv_evl_connect(pp->a, pp->pa, db), 0);
	ck_assert_int_eq(sdrv_evl_connect(pp->b, pp->pb, da), 0);
	/* Connecting closed each table's own copy of its give end. */
	ck_assert_msg(!fd_is_open(ga) && !fd_is_open(gb), "connect kept the give end open");
}

static void pair_open(struct pair *pp, uint32_t max_ports)
{
	pair_open_keep(pp, max_ports, false);
}

/* Open, then consume the pending state that connecting sets, so both
 * ports are quiet and unmasked. */
static void pair_open_quiet(struct pair *pp)
{
	pair_open(pp, 8);
	ck_assert_int_eq(take(pp->a), pp->pa);
	ck_assert_int_eq(take(pp->b), pp->pb);
	ck_assert_int_eq(sdrv_evl_unmask(pp->a, pp->pa), 0);
	ck_assert_int_eq(sdrv_evl_unmask(pp->b, pp->pb), 0);
	ck_assert_msg(!readable(sdrv_evl_fd(pp->b), 0), "quiet table's fd is readable");
}

static void pair_close(struct pair *pp)
{
	sdrv_evl_free(pp->a);
	sdrv_evl_free(pp->b);
	if (pp->ka >= 0)
		close(pp->ka);
	if (pp->kb >= 0)
		close(pp->kb);
}

/* A connected SEQPACKET pair, as a raw peer channel: [0] sends, [1] is the
 * receive end a table may connect to. */
static void raw_chan(int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
}

/* Clear O_NONBLOCK on `fd`'s open file description, as a hostile peer may
 * on every descriptor it holds. */
static void set_blocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	ck_assert_int_ge(fl, 0);
	ck_assert_int_eq(fcntl(fd, F_SETFL, fl & ~O_NONBLOCK), 0);
}

/* The back-off schedule of evtchn.h, in ms, for a spurious count. */
static uint64_t backoff_ms(uint32_t count)
{
	uint32_t shift;

	if (count <= SDRV_EVL_SPURIOUS_THRESHOLD)
		return 0;
	shift = count - SDRV_EVL_SPURIOUS_THRESHOLD - 1;
	if (shift >= 31 || (1ull << shift) > SDRV_EVL_MAX_DELAY_MS)
		return SDRV_EVL_MAX_DELAY_MS;
	return 1ull << shift;
}

/* Most deliveries a handler that always reports spurious can see in
 * `window_ms` against a peer that never stops: one delivery at t = 0, then
 * one after each back-off delay. The real delays are never shorter. */
static unsigned max_deliveries(uint64_t window_ms)
{
	uint64_t t = 0;
	unsigned n = 0;

	while (t <= window_ms) {
		n++;
		t += backoff_ms(n);
	}
	return n;
}

static uint64_t cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000ull +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000ull;
}

static void watchdog_setup(void)
{
	tu_watchdog(60, "check-evtchn test case");
}

/* --------------------------- table and ports ---------------------------- */

START_TEST(new_rejects_bad_sizes_and_table_fills)
{
	struct sdrv_evl *e;
	sdrv_evtchn_port_t p1, p2;
	int fd1, fd2;

	errno = 0;
	ck_assert_ptr_null(sdrv_evl_new(0));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(sdrv_evl_new(SDRV_EVL_MAX_PORTS + 1));
	ck_assert_int_eq(errno, EINVAL);
	sdrv_evl_free(NULL);
	ck_assert_int_eq(sdrv_evl_fd(NULL), -EINVAL);

	e = sdrv_evl_new(2);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_ge(sdrv_evl_fd(e), 0);
	ck_assert_int_eq(sdrv_evl_add(e, &p1, &fd1), 0);
	ck_assert_int_eq(sdrv_evl_add(e, &p2, &fd2), 0);
	ck_assert_uint_eq(p1, 1);
	ck_assert_uint_eq(p2, 2);
	ck_assert_int_ne(fd1, fd2);
	ck_assert_int_eq(sdrv_evl_add(e, &p1, &fd1), -ENOSPC);
	ck_assert_int_eq(sdrv_evl_add(e, NULL, &fd1), -EINVAL);
	ck_assert_int_eq(sdrv_evl_add(e, &p1, NULL), -EINVAL);
	ck_assert_int_eq(sdrv_evl_add(NULL, &p1, &fd1), -EINVAL);
	/* A closed number is reused, and the new port starts fresh. */
	ck_assert_int_eq(sdrv_evl_close(e, 1), 0);
	ck_assert_int_eq(sdrv_evl_add(e, &p1, &fd1), 0);
	ck_assert_uint_eq(p1, 1);
	ck_assert_int_eq(sdrv_evl_connected(e, 1), 0);
	ck_assert_int_eq(take(e), 0);
	sdrv_evl_free(e);
}
END_TEST

START_TEST(invalid_ports_and_arguments_are_rejected)
{
	struct sdrv_evl *e = sdrv_evl_new(4);
	const sdrv_evtchn_port_t bad[] = {0, 3 /* never added */, 4 /* closed */, 5, 0xFFFFFFFFu};
	sdrv_evtchn_port_t p;
	int fd, efd, sv[2];

	raw_chan(sv);
	efd = sv[1]; /* a good receive end: only the port is wrong */
	ck_assert_ptr_nonnull(e);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(sdrv_evl_add(e, &p, &fd), 0);
	ck_assert_int_eq(sdrv_evl_close(e, 3), 0);
	ck_assert_int_eq(sdrv_evl_close(e, 4), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sdrv_evtchn_port_t b = bad[i];

		ck_assert_msg(sdrv_evl_connect(e, b, efd) == -EINVAL, "connect port %u", b);
		ck_assert_msg(sdrv_evl_disconnect(e, b) == -EINVAL, "disconnect port %u", b);
		ck_assert_msg(sdrv_evl_notify(e, b) == -EINVAL, "notify port %u", b);
		ck_assert_msg(sdrv_evl_mask(e, b) == -EINVAL, "mask port %u", b);
		ck_assert_msg(sdrv_evl_unmask(e, b) == -EINVAL, "unmask port %u", b);
		ck_assert_msg(sdrv_evl_eoi(e, b, 0) == -EINVAL, "eoi port %u", b);
		ck_assert_msg(sdrv_evl_eoi(e, b, SDRV_EOI_SPURIOUS) == -EINVAL, "eoi port %u", b);
		ck_assert_msg(sdrv_evl_close(e, b) == -EINVAL, "close port %u", b);
		ck_assert_msg(sdrv_evl_connected(e, b) == -EINVAL, "connected port %u", b);
	}
	/* A NULL table. */
	ck_assert_int_eq(sdrv_evl_connect(NULL, 1, efd), -EINVAL);
	ck_assert_int_eq(sdrv_evl_disconnect(NULL, 1), -EINVAL);
	ck_assert_int_eq(sdrv_evl_notify(NULL, 1), -EINVAL);
	ck_assert_int_eq(sdrv_evl_pending(NULL, &p), -EINVAL);
	ck_assert_int_eq(sdrv_evl_mask(NULL, 1), -EINVAL);
	ck_assert_int_eq(sdrv_evl_unmask(NULL, 1), -EINVAL);
	ck_assert_int_eq(sdrv_evl_eoi(NULL, 1, 0), -EINVAL);
	ck_assert_int_eq(sdrv_evl_close(NULL, 1), -EINVAL);
	ck_assert_int_eq(sdrv_evl_connected(NULL, 1), -EINVAL);
	/* Bad out pointer, unknown EOI flags, notify while unconnected. */
	ck_assert_int_eq(sdrv_evl_pending(e, NULL), -EINVAL);
	ck_assert_int_eq(sdrv_evl_eoi(e, 1, 2), -EINVAL);
	ck_assert_int_eq(sdrv_evl_eoi(e, 1, SDRV_EOI_SPURIOUS | 0x80000000u), -EINVAL);
	ck_assert_int_eq(sdrv_evl_notify(e, 1), -ENOTCONN);
	ck_assert_int_eq(sdrv_evl_connected(e, 1), 0);
	/* None of this consumed the caller's descriptor. */
	ck_assert_msg(fd_is_open(efd), "a rejected connect closed the caller's fd");
	close(sv[0]);
	close(sv[1]);
	sdrv_evl_free(e);
}
END_TEST

START_TEST(connect_checks_the_descriptor_and_keeps_it_on_error)
{
	struct sdrv_evl *e = sdrv_evl_new(4);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	sdrv_evtchn_port_t p, q;
	int fd, fdq, pfd[2], mfd, efd, closed, st[2], dg[2], lone, lis, sv[2], sv2[2];

	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(sdrv_evl_add(e, &p, &fd), 0);
	ck_assert_int_eq(sdrv_evl_add(e, &q, &fdq), 0);
	ck_assert_int_eq(sdrv_evl_connect(e, p, -1), -EBADF);
	closed = eventfd(0, EFD_CLOEXEC);
	close(closed);
	ck_assert_int_eq(sdrv_evl_connect(e, p, closed), -EBADF);
	/* Not connected SEQPACKET sockets: a pipe, a memfd, the epoll fd, an
	 * eventfd (the old design), stream and datagram pairs, a lone
	 * SEQPACKET socket and a listening one. */
	ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
	ck_assert_int_eq(sdrv_evl_connect(e, p, pfd[0]), -EINVAL);
	mfd = memfd_create("evtchn-test", MFD_CLOEXEC);
	ck_assert_int_ge(mfd, 0);
	ck_assert_int_eq(sdrv_evl_connect(e, p, mfd), -EINVAL);
	ck_assert_int_eq(sdrv_evl_connect(e, p, sdrv_evl_fd(e)), -EINVAL);
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ck_assert_int_eq(sdrv_evl_connect(e, p, efd), -EINVAL);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, st), 0);
	ck_assert_int_eq(sdrv_evl_connect(e, p, st[1]), -EINVAL);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, dg), 0);
	ck_assert_int_eq(sdrv_evl_connect(e, p, dg[1]), -EINVAL);
	lone = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(lone, 0);
	ck_assert_int_eq(sdrv_evl_connect(e, p, lone), -EINVAL);
	lis = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(lis, 0);
	snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "sdrv-evtchn-test-%d", (int)getpid());
	ck_assert_int_eq(bind(lis, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(lis, 1), 0);
	ck_assert_int_eq(sdrv_evl_connect(e, p, lis), -EINVAL);
	/* Descriptors the table owns (would be closed twice): its own give
	 * ends, which are good receive ends otherwise. */
	ck_assert_int_eq(sdrv_evl_connect(e, p, fd), -EINVAL);
	ck_assert_int_eq(sdrv_evl_connect(e, p, fdq), -EINVAL);
	ck_assert_int_eq(sdrv_evl_connected(e, p), 0);
	ck_assert_msg(fd_is_open(pfd[0]) && fd_is_open(mfd) && fd_is_open(efd) &&
			  fd_is_open(st[1]) && fd_is_open(dg[1]) && fd_is_open(lone) &&
			  fd_is_open(lis) && fd_is_open(fd) && fd_is_open(fdq),
		      "a rejected connect closed the caller's fd");
	close(pfd[0]);
	close(pfd[1]);
	close(mfd);
	close(efd);
	close(st[0]);
	close(st[1]);
	close(dg[0]);
	close(dg[1]);
	close(lone);
	close(lis);
	/* A good one, then a second connect of the same port. */
	raw_chan(sv);
	ck_assert_int_eq(sdrv_evl_connect(e, p, sv[1]), 0);
	ck_assert_int_eq(sdrv_evl_connected(e, p), 1);
	ck_assert_msg(!fd_is_open(fd), "connect did not close the port's give end");
	raw_chan(sv2);
	ck_assert_int_eq(sdrv_evl_connect(e, p, sv2[1]), -EBUSY);
	ck_assert_msg(fd_is_open(sv2[1]), "connect -EBUSY closed the caller's fd");
	/* The caller still owns it and may use it elsewhere. */
	ck_assert_int_eq(sdrv_evl_connect(e, q, sv2[1]), 0);
	/* The table owns it now. */
	ck_assert_int_eq(sdrv_evl_connect(e, p, sv2[1]), -EBUSY);
	sdrv_evl_free(e);
	close(sv[0]);
	close(sv2[0]);
}
END_TEST

/* ------------------------------- delivery ------------------------------- */

START_TEST(notify_makes_the_peer_fd_readable_and_pending_once)
{
	struct pair pp;
	struct sdrv_evl_stats st0, st1;

	pair_open_quiet(&pp);
	sdrv_evl_get_stats(pp.b, &st0);
	ck_assert_int_eq(take(pp.b), 0);
	ck_assert_int_eq(sdrv_evl_notify(pp.a, pp.pa), 0);
	ck_assert_msg(readable(sdrv_evl_fd(pp.b), 1000), "notify did not wake the peer's epoll fd");
	ck_assert_msg(!readable(sdrv_evl_fd(pp.a), 0), "notify woke the sender's own fd");
	ck_assert_int_eq(take(pp.b), pp.pb);
	/* Returned masked and cleared: nothing more, fd quiet. */
	ck_assert_int_eq(take(pp.b), 0);
	ck_assert_msg(!readable(sdrv_evl_fd(pp.b), 0), "fd still readable after pending()");
	/* Cleared: unmasking with no new notification delivers nothing. */
	ck_assert_int_eq(sdrv_evl_unmask(pp.b, pp.pb), 0);
	ck_assert_int_eq(take(pp.b), 0);
	/* And the other direction. */
	ck_assert_int_eq(sdrv_evl_notify(pp.b, pp.pb), 0);
	ck_assert_int_eq(wait_take(pp.a, 1000), pp.pa);
	sdrv_evl_get_stats(pp.b, &st1);
	ck_assert_uint_eq(st1.delivered - st0.delivered, 1);
	pair_close(&pp);
}
END_TEST

START_TEST(notification_while_masked_is_delivered_on_unmask)
{
	struct pair pp;

	pair_open_quiet(&pp);
	/* Masked by pending(): a notify now stays pending, undelivered. */
	ck_assert_int_eq(sdrv_evl_notify(pp.a, pp.pa), 0);
	ck_assert_int_eq(take(pp.b), pp.pb);
	ck_assert_int_eq(sdrv_evl_notify(pp.a, pp.pa), 0);
	ck_assert_int_eq(take(pp.b), 0);
	ck_assert_msg(!readable(sdrv_evl_fd(pp.b), 0), "masked port made the fd readable");
	ck_assert_int_eq(sdrv_evl_unmask(pp.b, pp.pb), 0);
	ck_assert_msg(readable(sdrv_evl_fd(pp.b), 0), "unmask did not deliver the pending event");
	ck_assert_int_eq(take(pp.b), pp.pb);
	ck_assert_int_eq(sdrv_evl_unmask(pp.b, pp.pb), 0);

	/* Explicit mask, twice (idempotent), then notify, then unmask. */
	ck_assert_int_eq(sdrv_evl_mask(pp.b, pp.pb), 0);
	ck_assert_int_eq(sdrv_evl_mask(pp.b, pp.pb), 0);
	ck_assert_int_eq(sdrv_evl_notify(pp.a, pp.pa), 0);
	ck_assert_int_eq(take(pp.b), 0);
	ck_assert_int_eq(sdrv_evl_unmask(pp.b, pp.pb), 0);
	ck_assert_int_eq(sdrv_evl_unmask(pp.b, pp.pb), 0);
	ck_assert_int_eq(take(pp.b), pp.pb);
	ck_assert_int_eq(take(pp.b), 0);
	ck_assert_int_eq(sdrv_evl_unmask(pp.b, pp.pb), 0);

	/* Notify first (already reported by epoll), then mask: held back. */
	ck_assert_int_eq(sdrv_evl_notify(pp.a, pp.pa), 0);
	ck_assert_int_eq(sdrv_evl_mask(pp.b, pp.pb), 0);
	ck_assert_int_eq(take(pp.b), 0);
	ck_assert_int_eq(sdrv_evl_unmask(pp.b, pp.pb), 0);
	ck_assert_int_eq(take(pp.b), pp.pb);
	pair_close(&pp);
}
END_TEST

START_TEST(notifications_coalesce)
{
	struct pair pp;
	struct sdrv_evl_stats st;

	pair_open_quiet(&pp);
	for (int i = 0; i < 1000; i++)
		ck_assert_int_eq(sdrv_evl_notify(pp.a, pp.pa), 0);
	ck_assert_int_eq(take(pp.b), pp.pb);
	ck_assert_int_eq(take(pp.b), 0);
	ck_assert_int_eq(sdrv_evl_unmask(pp.b, pp.pb), 0);
	ck_assert_msg(take(pp.b) == 0, "1000 notifies were delivered more than once");
	sdrv_evl_get_stats(pp.b, &st);
	ck_assert_uint_eq(st.delivered, 2); /* the connect, then the 1000 notifies */

	/* A full queue (the 1000 above overflowed it) is still "pending",
	 * not an error, while the peer is masked; one delivery on unmask. */
	ck_assert_int_eq(sdrv_evl_mask(pp.b, pp.pb), 0);
	for (int i = 0; i < 1000; i++)
		ck_assert_int_eq(sdrv_evl_notify(pp.a, pp.pa), 0);
	ck_assert_int_eq(take(pp.b), 0);
	ck_assert_int_eq(sdrv_evl_unmask(pp.b, pp.pb), 0);
	ck_assert_int_eq(take(pp.b), pp.pb);
	ck_assert_int_eq(sdrv_evl_unmask(pp.b, pp.pb), 0);
	ck_assert_int_eq(take(pp.b), 0);
	pair_close(&pp);
}
END_TEST

START_TEST(connect_sets_the_local_port_pending)
{
	struct sdrv_evl *a = sdrv_evl_new(4), *b = sdrv_evl_new(4);
	sdrv_evtchn_port_t pa, pb;
	int ra, rb, ka;

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(sdrv_evl_add(a, &pa, &ra), 0);
	ck_assert_int_eq(sdrv_evl_add(b, &pb, &rb), 0);
	ck_assert_int_eq(take(a), 0);
	ka = xdup(ra); /* a's give end, in flight to b */
	/* a is bound first and notifies b before b is bound (nothing lost). */
	ck_assert_int_eq(sdrv_evl_connect(a, pa, xdup(rb)), 0);
	ck_assert_int_eq(sdrv_evl_connected(a, pa), 1);
	ck_assert_int_eq(sdrv_evl_notify(a, pa), 0);
	ck_assert_msg(take(a) == pa, "connect did not set the local port pending");
	ck_assert_int_eq(sdrv_evl_connect(b, pb, xdup(ka)), 0);
	ck_assert_int_eq(take(b), pb);
	ck_assert_msg(take(b) == 0, "early notify and bind pending not coalesced");
	/* Connecting a masked port: pending, delivered on unmask. */
	ck_assert_int_eq(sdrv_evl_disconnect(b, pb), 0);
	ck_assert_int_eq(sdrv_evl_unmask(b, pb), 0);
	ck_assert_int_eq(take(b), pb); /* the disconnect */
	ck_assert_int_eq(sdrv_evl_connected(b, pb), 0);
	ck_assert_int_eq(sdrv_evl_connect(b, pb, ka), 0);
	ck_assert_int_eq(take(b), 0);
	ck_assert_int_eq(sdrv_evl_unmask(b, pb), 0);
	ck_assert_int_eq(take(b), pb);
	sdrv_evl_free(a);
	sdrv_evl_free(b);
}
END_TEST

START_TEST(disconnect_answers_enotconn_and_wakes_the_owner)
{
	struct pair pp;
	int before;

	pair_open_keep(&pp, 8, true);
	ck_assert_int_eq(take(pp.a), pp.pa);
	ck_assert_int_eq(take(pp.b), pp.pb);
	ck_assert_int_eq(sdrv_evl_unmask(pp.a, pp.pa), 0);
	ck_assert_int_eq(sdrv_evl_unmask(pp.b, pp.pb), 0);
	ck_assert_int_eq(sdrv_evl_connected(pp.a, pp.pa), 1);
	before = count_fds();
	ck_assert_int_eq(sdrv_evl_disconnect(pp.a, pp.pa), 0);
	ck_assert_int_eq(count_fds(), before - 1); /* the receive end */
	ck_assert_int_eq(sdrv_evl_connected(pp.a, pp.pa), 0);
	ck_assert_msg(readable(sdrv_evl_fd(pp.a), 0), "disconnect did not wake the owner");
	ck_assert_int_eq(take(pp.a), pp.pa);
	ck_assert_int_eq(sdrv_evl_notify(pp.a, pp.pa), -ENOTCONN);
	/* Still a valid port: mask, unmask, eoi and close work. */
	ck_assert_int_eq(sdrv_evl_eoi(pp.a, pp.pa, 0), 0);
	ck_assert_int_eq(sdrv_evl_disconnect(pp.a, pp.pa), 0); /* again: fine */
	ck_assert_int_eq(take(pp.a), pp.pa);
	ck_assert_int_eq(sdrv_evl_unmask(pp.a, pp.pa), 0);
	/* The broker may bind it again. */
	ck_assert_int_eq(sdrv_evl_connect(pp.a, pp.pa, xdup(pp.kb)), 0);
	ck_assert_int_eq(take(pp.a), pp.pa);
	ck_assert_int_eq(sdrv_evl_notify(pp.a, pp.pa), 0);
	ck_assert_int_eq(take(pp.b), pp.pb);
	pair_close(&pp);
}
END_TEST

START_TEST(close_forgets_pending_and_releases_fds)
{
	struct pair pp;
	struct sdrv_evl_stats st;
	sdrv_evtchn_port_t p;
	int fd, before;

	pair_open_keep(&pp, 8, true);
	ck_assert_int_eq(take(pp.a), pp.pa);
	ck_assert_int_eq(take(pp.b), pp.pb);
	ck_assert_int_eq(sdrv_evl_unmask(pp.a, pp.pa), 0);
	ck_assert_int_eq(sdrv_evl_unmask(pp.b, pp.pb), 0);
	/* Pending when closed: never delivered, the fd goes quiet. */
	ck_assert_int_eq(sdrv_evl_notify(pp.a, pp.pa), 0);
	before = count_fds();
	ck_assert_int_eq(sdrv_evl_close(pp.b, pp.pb), 0);
	ck_assert_int_eq(count_fds(), before - 2); /* send and receive ends */
	ck_assert_int_eq(take(pp.b), 0);
	ck_assert_msg(!readable(sdrv_evl_fd(pp.b), 0), "closed port still makes the fd readable");
	ck_assert_int_eq(sdrv_evl_notify(pp.b, pp.pb), -EINVAL);
	ck_assert_int_eq(sdrv_evl_close(pp.b, pp.pb), -EINVAL);
	/* The number comes back fresh. */
	ck_assert_int_eq(sdrv_evl_add(pp.b, &p, &fd), 0);
	ck_assert_uint_eq(p, pp.pb);
	ck_assert_int_eq(sdrv_evl_connected(pp.b, p), 0);
	ck_assert_int_eq(take(pp.b), 0);

	/* Closing a port whose unmask is delayed: the timer then finds
	 * nothing due and the fd goes quiet again. */
	ck_assert_int_eq(sdrv_evl_disconnect(pp.a, pp.pa), 0); /* a pointed at the old port */
	ck_assert_int_eq(sdrv_evl_connect(pp.a, pp.pa, xdup(fd)), 0);
	ck_assert_int_eq(sdrv_evl_connect(pp.b, p, xdup(pp.ka)), 0);
	ck_assert_int_eq(take(pp.b), p);
	ck_assert_int_eq(sdrv_evl_eoi(pp.b, p, SDRV_EOI_SPURIOUS), 0);
	ck_assert_int_eq(sdrv_evl_notify(pp.a, pp.pa), 0);
	ck_assert_int_eq(take(pp.b), p);
	ck_assert_int_eq(sdrv_evl_eoi(pp.b, p, SDRV_EOI_SPURIOUS), 0);
	sdrv_evl_get_stats(pp.b, &st);
	ck_assert_uint_eq(st.delayed_unmasks, 1);
	ck_assert_int_eq(sdrv_evl_notify(pp.a, pp.pa), 0);
	ck_assert_int_eq(sdrv_evl_close(pp.b, p), 0);
	ck_assert_msg(readable(sdrv_evl_fd(pp.b), 2000), "delayed-unmask timer never fired");
	ck_assert_int_eq(take(pp.b), 0);
	ck_assert_msg(!readable(sdrv_evl_fd(pp.b), 0), "fd readable after a stale timer");
	pair_close(&pp);
}
END_TEST

/* Masking is a software flag and the registration stays armed: a
 * notification that comes while masked is delivered on unmask whether or
 * not pending() saw (and disarmed) the port meanwhile; several queued
 * notifications are drained in one delivery. */
START_TEST(masked_port_armed_or_disarmed_delivers_on_unmask)
{
	struct pair pp;

	pair_open_quiet(&pp);
	/* Masked, notified, unmasked with no pending() in between. */
	ck_assert_int_eq(sdrv_evl_mask(pp.b, pp.pb), 0);
	ck_assert_int_eq(sdrv_evl_notify(pp.a, pp.pa), 0);
	ck_assert_int_eq(sdrv_evl_unmask(pp.b, pp.pb), 0);
	ck_assert_int_eq(wait_take(pp.b, 1000), pp.pb);
	ck_assert_int_eq(take(pp.b), 0);
	ck_assert_int_eq(sdrv_evl_unmask(pp.b, pp.pb), 0);
	ck_assert_int_eq(take(pp.b), 0);
	/* Returned masked by pending(), notified: pending() disarms it and the
	 * fd goes quiet; a second mask and unmask changes nothing of that. */
	ck_assert_int_eq(sdrv_evl_notify(pp.a, pp.pa), 0);
	ck_assert_int_eq(wait_take(pp.b, 1000), pp.pb);
	ck_assert_int_eq(sdrv_evl_notify(pp.a, pp.pa), 0);
	ck_assert_msg(readable(sdrv_evl_fd(pp.b), 1000), "notify while masked never arrived");
	ck_assert_int_eq(take(pp.b), 0);
	ck_assert_msg(!readable(sdrv_evl_fd(pp.b), 0), "disarmed masked port keeps fd readable");
	ck_assert_int_eq(sdrv_evl_mask(pp.b, pp.pb), 0);
	ck_assert_int_eq(take(pp.b), 0);
	ck_assert_int_eq(sdrv_evl_unmask(pp.b, pp.pb), 0);
	ck_assert_msg(readable(sdrv_evl_fd(pp.b), 0), "re-arming did not report the notification");
	ck_assert_int_eq(take(pp.b), pp.pb);
	ck_assert_int_eq(take(pp.b), 0);
	ck_assert_int_eq(sdrv_evl_unmask(pp.b, pp.pb), 0);
	/* Five queued records: one delivery, drained in one go. */
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(sdrv_evl_notify(pp.a, pp.pa), 0);
	ck_assert_int_eq(wait_take(pp.b, 1000), pp.pb);
	ck_assert_int_eq(sdrv_evl_unmask(pp.b, pp.pb), 0);
	ck_assert_int_eq(take(pp.b), 0);
	ck_assert_msg(!readable(sdrv_evl_fd(pp.b), 0), "records left after one delivery");
	pair_close(&pp);
}
END_TEST

/* Watched descriptors share the epoll set: the fd is readable while one
 * is, sdrv_evl_watched() reports it (from pending()'s look, or its own),
 * and the ports its own look found are delivered by pending(). */
START_TEST(watched_descriptors_share_the_epoll_set)
{
	struct pair pp;
	int sv[2];
	char c = 1;

	pair_open_quiet(&pp);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv),
			 0);
	ck_assert_int_eq(sdrv_evl_watch(NULL, sv[1], 0), -EINVAL);
	ck_assert_int_eq(sdrv_evl_watch(pp.b, sv[1], SDRV_EVL_NR_WATCH), -EINVAL);
	ck_assert_int_eq(sdrv_evl_watch(pp.b, -1, 0), -EINVAL);
	ck_assert_int_eq(sdrv_evl_watched(NULL, 0), -EINVAL);
	ck_assert_int_eq(sdrv_evl_watched(pp.b, SDRV_EVL_NR_WATCH), -EINVAL);
	ck_assert_int_eq(sdrv_evl_watch(pp.b, sv[1], 1), 0);
	ck_assert_int_eq(sdrv_evl_watch(pp.b, sv[1], 0), -EEXIST);
	ck_assert_int_eq(sdrv_evl_watched(pp.b, 1), 0);
	ck_assert_msg(!readable(sdrv_evl_fd(pp.b), 0), "idle watched fd makes the fd readable");

	/* Seen by watched()'s own look, which keeps the port for pending(). */
	ck_assert_int_eq(send(sv[0], &c, 1, 0), 1);
	ck_assert_int_eq(sdrv_evl_notify(pp.a, pp.pa), 0);
	ck_assert_msg(readable(sdrv_evl_fd(pp.b), 1000), "watched fd did not wake the epoll fd");
	ck_assert_int_eq(sdrv_evl_watched(pp.b, 1), 1);
	ck_assert_int_eq(wait_take(pp.b, 1000), pp.pb);
	ck_assert_int_eq(sdrv_evl_unmask(pp.b, pp.pb), 0);
	/* Not read yet: still readable, reported again by a new look. */
	ck_assert_int_eq(sdrv_evl_watched(pp.b, 1), 1);
	ck_assert_int_eq(recv(sv[1], &c, 1, 0), 1);
	ck_assert_int_eq(sdrv_evl_watched(pp.b, 1), 0);
	ck_assert_int_eq(take(pp.b), 0);

	/* Seen by pending()'s look: recorded, consumed once. */
	ck_assert_int_eq(send(sv[0], &c, 1, 0), 1);
	ck_assert_msg(readable(sdrv_evl_fd(pp.b), 1000), "watched fd did not wake the epoll fd");
	ck_assert_int_eq(take(pp.b), 0);
	ck_assert_int_eq(recv(sv[1], &c, 1, 0), 1);
	ck_assert_int_eq(sdrv_evl_watched(pp.b, 1), 1); /* recorded, now stale */
	ck_assert_int_eq(sdrv_evl_watched(pp.b, 1), 0);
	ck_assert_msg(!readable(sdrv_evl_fd(pp.b), 0), "fd readable with nothing to report");
	pair_close(&pp);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(many_ports_map_to_the_right_numbers)
{
	enum { N = 100 };
	struct sdrv_evl *a = sdrv_evl_new(N), *b = sdrv_evl_new(N);
	sdrv_evtchn_port_t pa[N + 1], pb[N + 1], p;
	int ra[N + 1], rb[N + 1], fd;
	bool seen[N + 1];
	int64_t r;

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	for (int i = 1; i <= N; i++) {
		ck_assert_int_eq(sdrv_evl_add(a, &pa[i], &ra[i]), 0);
		ck_assert_int_eq(sdrv_evl_add(b, &pb[i], &rb[i]), 0);
		ck_assert_uint_eq(pa[i], (unsigned)i);
		ck_assert_uint_eq(pb[i], (unsigned)i);
	}
	ck_assert_int_eq(sdrv_evl_add(a, &p, &fd), -ENOSPC);
	/* a's port i talks to b's port N + 1 - i. Copies of the give ends
	 * first: connecting closes the table's own. */
	for (int i = 1; i <= N; i++) {
		ra[i] = xdup(ra[i]);
		rb[i] = xdup(rb[i]);
	}
	for (int i = 1; i <= N; i++) {
		ck_assert_int_eq(sdrv_evl_connect(a, pa[i], rb[N + 1 - i]), 0);
		ck_assert_int_eq(sdrv_evl_connect(b, pb[N + 1 - i], ra[i]), 0);
	}
	/* Every port pending once from the connect. */
	take_each_once(b, N);
	ck_assert_int_eq(take(b), 0);
	/* Notify from a's ports 3, 6, 9...: b sees exactly N + 1 - those. */
	for (int i = 3; i <= N; i += 3)
		ck_assert_int_eq(sdrv_evl_notify(a, pa[i]), 0);
	memset(seen, 0, sizeof(seen));
	while ((r = take(b)) > 0) {
		ck_assert_msg(r <= N && !seen[r], "bad or repeated port %lld", (long long)r);
		seen[r] = true;
	}
	ck_assert_int_eq(r, 0);
	for (int i = 1; i <= N; i++)
		ck_assert_msg(seen[N + 1 - i] == (i % 3 == 0), "port %d: delivered=%d", N + 1 - i,
			      seen[N + 1 - i]);
	/* Closed numbers come back lowest first. */
	ck_assert_int_eq(sdrv_evl_close(a, 50), 0);
	ck_assert_int_eq(sdrv_evl_close(a, 20), 0);
	ck_assert_int_eq(sdrv_evl_add(a, &p, &fd), 0);
	ck_assert_uint_eq(p, 20);
	ck_assert_int_eq(sdrv_evl_add(a, &p, &fd), 0);
	ck_assert_uint_eq(p, 50);
	ck_assert_int_eq(sdrv_evl_add(a, &p, &fd), -ENOSPC);
	sdrv_evl_free(a);
	sdrv_evl_free(b);
}
END_TEST

static void on_usr1(int sig)
{
	(void)sig;
}

START_TEST(wait_answers_pending_from_its_own_look)
{
	enum { N = 40 }; /* more ports than one look takes (32) */
	struct sdrv_evl *a = sdrv_evl_new(N), *b = sdrv_evl_new(N);
	sdrv_evtchn_port_t pa[N + 1], pb[N + 1];
	int ra[N + 1], rb[N + 1], sv[2];
	struct sigevent sev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1};
	struct itimerspec its = {.it_value = {.tv_nsec = 50000000}};
	struct sigaction sa;
	timer_t tm;
	char c = 1;
	uint64_t t0;

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(sdrv_evl_wait(NULL, 0), -EINVAL);
	for (int i = 1; i <= N; i++) {
		ck_assert_int_eq(sdrv_evl_add(a, &pa[i], &ra[i]), 0);
		ck_assert_int_eq(sdrv_evl_add(b, &pb[i], &rb[i]), 0);
	}
	for (int i = 1; i <= N; i++) {
		ra[i] = xdup(ra[i]);
		rb[i] = xdup(rb[i]);
	}
	for (int i = 1; i <= N; i++) {
		ck_assert_int_eq(sdrv_evl_connect(a, pa[i], rb[i]), 0);
		ck_assert_int_eq(sdrv_evl_connect(b, pb[i], ra[i]), 0);
	}
	/* Connecting set every port pending (software bits): no waiting. */
	t0 = tu_now_ns();
	ck_assert_int_eq(sdrv_evl_wait(b, 5000), 1);
	ck_assert_msg(tu_now_ns() - t0 < 1000000000ull, "wait blocked with ports pending");
	take_each_once(b, N);
	ck_assert_int_eq(take(b), 0);

	/* Nothing: 0 at once, or after the timeout. */
	ck_assert_int_eq(sdrv_evl_wait(b, 0), 0);
	t0 = tu_now_ns();
	ck_assert_int_eq(sdrv_evl_wait(b, 50), 0);
	ck_assert_msg(tu_now_ns() - t0 >= 40000000ull, "wait returned before its timeout");
	/* A timed-out wait was a complete look as well: its answer once. */
	ck_assert_int_eq(sdrv_evl_notify(a, pa[5]), 0);
	ck_assert_int_eq(take(b), 0);
	ck_assert_int_eq(take(b), pb[5]);
	ck_assert_int_eq(sdrv_evl_unmask(b, pb[5]), 0);
	ck_assert_int_eq(take(b), 0);

	/* One notification: the wait's look is what pending() answers from;
	 * once it is used up, one 0 without looking (the notification sent
	 * meanwhile is not seen yet), and the next wait returns at once. */
	ck_assert_int_eq(sdrv_evl_notify(a, pa[7]), 0);
	ck_assert_int_eq(sdrv_evl_wait(b, 5000), 1);
	ck_assert_int_eq(take(b), pb[7]);
	ck_assert_int_eq(sdrv_evl_unmask(b, pb[7]), 0);
	ck_assert_int_eq(sdrv_evl_notify(a, pa[9]), 0);
	ck_assert_int_eq(take(b), 0);
	t0 = tu_now_ns();
	ck_assert_int_eq(sdrv_evl_wait(b, 5000), 1);
	ck_assert_msg(tu_now_ns() - t0 < 1000000000ull, "wait blocked with a port pending");
	ck_assert_int_eq(take(b), pb[9]);
	ck_assert_int_eq(sdrv_evl_unmask(b, pb[9]), 0);
	/* Without a wait in between, pending() looks afresh every time. */
	ck_assert_int_eq(take(b), 0);
	ck_assert_int_eq(sdrv_evl_notify(a, pa[11]), 0);
	ck_assert_int_eq(take(b), pb[11]);
	ck_assert_int_eq(sdrv_evl_unmask(b, pb[11]), 0);
	ck_assert_int_eq(sdrv_evl_notify(a, pa[12]), 0);
	ck_assert_int_eq(take(b), pb[12]);
	ck_assert_int_eq(sdrv_evl_unmask(b, pb[12]), 0);
	ck_assert_int_eq(take(b), 0);

	/* A watched descriptor: the wait's look answers watched() once too. */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv),
			 0);
	ck_assert_int_eq(sdrv_evl_watch(b, sv[1], 1), 0);
	ck_assert_int_eq(sdrv_evl_notify(a, pa[13]), 0);
	ck_assert_int_eq(sdrv_evl_wait(b, 5000), 1);
	ck_assert_int_eq(send(sv[0], &c, 1, 0), 1);  /* after the look */
	ck_assert_int_eq(sdrv_evl_watched(b, 1), 0); /* the look's answer */
	ck_assert_int_eq(take(b), pb[13]);
	ck_assert_int_eq(sdrv_evl_unmask(b, pb[13]), 0);
	ck_assert_int_eq(take(b), 0);
	ck_assert_int_eq(sdrv_evl_watched(b, 1), 1); /* a fresh look */
	ck_assert_int_eq(sdrv_evl_wait(b, 5000), 1); /* still readable */
	ck_assert_int_eq(sdrv_evl_watched(b, 1), 1);
	ck_assert_int_eq(recv(sv[1], &c, 1, 0), 1);
	ck_assert_int_eq(sdrv_evl_wait(b, 0), 0);

	/* More ports than one look holds: the wait's look was not complete,
	 * so pending() looks again and every port arrives, none twice. */
	for (int i = 1; i <= N; i++)
		ck_assert_int_eq(sdrv_evl_notify(a, pa[i]), 0);
	ck_assert_int_eq(sdrv_evl_wait(b, 5000), 1);
	take_each_once(b, N);
	ck_assert_int_eq(take(b), 0);
	ck_assert_int_eq(take(b), 0);

	/* A signal ends a wait without limit with -EINTR (a timer's, not
	 * SIGALRM: that is the watchdog's). */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
	ck_assert_int_eq(timer_create(CLOCK_MONOTONIC, &sev, &tm), 0);
	ck_assert_int_eq(timer_settime(tm, 0, &its, NULL), 0);
	ck_assert_int_eq(sdrv_evl_wait(b, -1), -EINTR);
	ck_assert_int_eq(timer_delete(tm), 0);
	signal(SIGUSR1, SIG_DFL);
	sdrv_evl_free(a);
	sdrv_evl_free(b);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(free_releases_every_descriptor)
{
	int before = count_fds();
	struct sdrv_evl *a = sdrv_evl_new(64), *b = sdrv_evl_new(64);
	sdrv_evtchn_port_t pa[20], pb[20];
	int ra[20], rb[20];

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	for (int i = 0; i < 20; i++) {
		ck_assert_int_eq(sdrv_evl_add(a, &pa[i], &ra[i]), 0);
		ck_assert_int_eq(sdrv_evl_add(b, &pb[i], &rb[i]), 0);
	}
	/* 2 tables x (epoll + timerfd + wake) + 40 ports x (send + give). */
	ck_assert_int_eq(count_fds(), before + 6 + 80);
	for (int i = 0; i < 20; i++) {
		int da = xdup(ra[i]), db = xdup(rb[i]);

		ck_assert_int_eq(sdrv_evl_connect(a, pa[i], db), 0);
		ck_assert_int_eq(sdrv_evl_connect(b, pb[i], da), 0);
	}
	/* 40 ports x (send + recv): the give ends are closed. */
	ck_assert_int_eq(count_fds(), before + 6 + 80);
	/* Mixed states at free time: closed, disconnected, delayed, masked. */
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(sdrv_evl_close(a, pa[i]), 0);
	ck_assert_int_eq(sdrv_evl_disconnect(b, pb[5]), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(sdrv_evl_eoi(b, pb[6], SDRV_EOI_SPURIOUS), 0);
	ck_assert_int_eq(sdrv_evl_mask(b, pb[7]), 0);
	ck_assert_int_eq(count_fds(), before + 6 + 80 - 10 - 1);
	/* And a port never connected: send end and give end. */
	ck_assert_int_eq(sdrv_evl_add(a, &pa[0], &ra[0]), 0);
	ck_assert_int_eq(count_fds(), before + 6 + 80 - 10 - 1 + 2);
	sdrv_evl_free(a);
	sdrv_evl_free(b);
	ck_assert_msg(count_fds() == before, "fd leak: %d open before, %d after free", before,
		      count_fds());
}
END_TEST

START_TEST(stats_count_deliveries_spurious_and_delays)
{
	struct pair pp;
	struct sdrv_evl_stats st;

	memset(&st, 0xff, sizeof(st));
	sdrv_evl_get_stats(NULL, &st);
	ck_assert_uint_eq(st.delivered + st.spurious + st.delayed_unmasks, 0);
	sdrv_evl_get_stats(NULL, NULL);
	pair_open(&pp, 4);
	sdrv_evl_get_stats(pp.b, &st);
	ck_assert_uint_eq(st.delivered + st.spurious + st.delayed_unmasks, 0);
	ck_assert_int_eq(take(pp.b), pp.pb);				   /* 1 */
	ck_assert_int_eq(sdrv_evl_eoi(pp.b, pp.pb, SDRV_EOI_SPURIOUS), 0); /* count 1 */
	ck_assert_int_eq(sdrv_evl_notify(pp.a, pp.pa), 0);
	ck_assert_int_eq(take(pp.b), pp.pb);				   /* 2 */
	ck_assert_int_eq(sdrv_evl_eoi(pp.b, pp.pb, SDRV_EOI_SPURIOUS), 0); /* 2: delayed */
	ck_assert_int_eq(sdrv_evl_eoi(pp.b, pp.pb, SDRV_EOI_SPURIOUS), 0); /* ignored */
	ck_assert_int_eq(sdrv_evl_notify(pp.a, pp.pa), 0);
	ck_assert_int_eq(wait_take(pp.b, 2000), pp.pb); /* 3 */
	ck_assert_int_eq(sdrv_evl_eoi(pp.b, pp.pb, 0), 0);
	sdrv_evl_get_stats(pp.b, &st);
	ck_assert_uint_eq(st.delivered, 3);
	ck_assert_uint_eq(st.spurious, 2);
	ck_assert_uint_eq(st.delayed_unmasks, 1);
	sdrv_evl_get_stats(pp.a, &st);
	ck_assert_uint_eq(st.delivered + st.spurious + st.delayed_unmasks, 0);
	pair_close(&pp);
}
END_TEST

/* The peer closes its port (or dies): noticed without the broker, through
 * the failed send (EPIPE) or the hang-up of the receive end, whether the
 * port is armed or masked; reported once; then -ENOTCONN. */
START_TEST(peer_death_is_noticed_and_reported_once)
{
	struct pair pp;
	int before;

	/* Noticed by notify: every copy of our give end is closed. */
	pair_open_quiet(&pp);
	ck_assert_int_eq(sdrv_evl_close(pp.a, pp.pa), 0);
	ck_assert_int_eq(sdrv_evl_notify(pp.b, pp.pb), -ENOTCONN);
	ck_assert_int_eq(sdrv_evl_connected(pp.b, pp.pb), 0);
	ck_assert_int_eq(take(pp.b), pp.pb);
	ck_assert_int_eq(sdrv_evl_unmask(pp.b, pp.pb), 0);
	ck_assert_int_eq(take(pp.b), 0);
	ck_assert_int_eq(sdrv_evl_notify(pp.b, pp.pb), -ENOTCONN);
	pair_close(&pp);

	/* Noticed by the hang-up of an armed port. */
	pair_open_quiet(&pp);
	before = count_fds();
	ck_assert_int_eq(sdrv_evl_close(pp.a, pp.pa), 0);
	ck_assert_int_eq(wait_take(pp.b, 1000), pp.pb);
	ck_assert_int_eq(sdrv_evl_connected(pp.b, pp.pb), 0);
	ck_assert_int_eq(count_fds(), before - 3); /* a's two, b's receive end */
	ck_assert_int_eq(sdrv_evl_unmask(pp.b, pp.pb), 0);
	ck_assert_int_eq(take(pp.b), 0);
	ck_assert_msg(!readable(sdrv_evl_fd(pp.b), 0), "fd readable after the death was seen");
	pair_close(&pp);

	/* Masked: the hang-up is seen, the port stays masked, and the news is
	 * delivered once on unmask. */
	pair_open_quiet(&pp);
	ck_assert_int_eq(sdrv_evl_mask(pp.b, pp.pb), 0);
	ck_assert_int_eq(sdrv_evl_notify(pp.a, pp.pa), 0);
	ck_assert_int_eq(sdrv_evl_close(pp.a, pp.pa), 0);
	(void)readable(sdrv_evl_fd(pp.b), 1000);
	ck_assert_int_eq(take(pp.b), 0);
	ck_assert_int_eq(sdrv_evl_connected(pp.b, pp.pb), 0);
	ck_assert_msg(!readable(sdrv_evl_fd(pp.b), 0), "a dead masked port keeps the fd readable");
	ck_assert_int_eq(sdrv_evl_unmask(pp.b, pp.pb), 0);
	ck_assert_int_eq(take(pp.b), pp.pb);
	ck_assert_int_eq(sdrv_evl_unmask(pp.b, pp.pb), 0);
	ck_assert_int_eq(take(pp.b), 0);
	pair_close(&pp);
}
END_TEST

/* What a hostile sender can put on its channel: a long record is one
 * notification and drained whole; passed descriptors never land in our
 * descriptor table (refused where the kernel has SO_PASSRIGHTS); a
 * zero-length record ends the channel. */
START_TEST(hostile_records_count_once_and_carry_no_descriptors)
{
	struct sdrv_evl *e = sdrv_evl_new(4);
	static char big[65536];
	sdrv_evtchn_port_t p;
	int give, sv[2], efd, before;
	char c = 'X';
	struct iovec iov = {.iov_base = &c, .iov_len = 1};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *cm;
	ssize_t r;

	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(sdrv_evl_add(e, &p, &give), 0);
	raw_chan(sv);
	ck_assert_int_eq(sdrv_evl_connect(e, p, sv[1]), 0);
	ck_assert_int_eq(take(e), p);
	ck_assert_int_eq(sdrv_evl_unmask(e, p), 0);

	memset(big, 'B', sizeof(big));
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(send(sv[0], big, sizeof(big), MSG_DONTWAIT), (ssize_t)sizeof(big));
	ck_assert_int_eq(take(e), p);
	ck_assert_int_eq(sdrv_evl_unmask(e, p), 0);
	ck_assert_msg(take(e) == 0, "long records were not drained whole");

	efd = eventfd(0, EFD_CLOEXEC);
	ck_assert_int_ge(efd, 0);
	memset(u.buf, 0, sizeof(u.buf));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &efd, sizeof(int));
	before = count_fds();
	r = sendmsg(sv[0], &mh, MSG_DONTWAIT);
	ck_assert_msg(r == 1 || (r < 0 && errno == EPERM), "sendmsg(SCM_RIGHTS): %s",
		      strerror(errno));
	fprintf(stderr, "evtchn: passing a descriptor to a receive end: %s\n",
		r < 0 ? "refused (SO_PASSRIGHTS)" : "accepted, discarded on drain");
	close(efd);
	if (r == 1) {
		ck_assert_int_eq(take(e), p);
		ck_assert_int_eq(sdrv_evl_unmask(e, p), 0);
	}
	ck_assert_int_eq(take(e), 0);
	ck_assert_int_eq(count_fds(), before - 1); /* only efd went */
	ck_assert_int_eq(sdrv_evl_connected(e, p), 1);

	/* A zero-length record: the end of the channel. */
	ck_assert_int_eq(send(sv[0], &c, 0, MSG_DONTWAIT), 0);
	ck_assert_int_eq(take(e), p);
	ck_assert_int_eq(sdrv_evl_connected(e, p), 0);
	ck_assert_int_eq(sdrv_evl_notify(e, p), -ENOTCONN);
	ck_assert_int_eq(sdrv_evl_unmask(e, p), 0);
	ck_assert_int_eq(take(e), 0);
	close(sv[0]);
	sdrv_evl_free(e);
}
END_TEST

/* The eventfd design's hang, on the receive side: a peer sets the file
 * description it shares with our receive end blocking and races us for
 * its records; pending() never blocks, and returns 0 when it lost. */
START_TEST(receive_end_set_blocking_by_the_peer_never_blocks)
{
	struct pair pp;
	uint64_t t0;
	char c;

	pair_open_keep(&pp, 8, true);
	ck_assert_int_eq(take(pp.a), pp.pa);
	ck_assert_int_eq(take(pp.b), pp.pb);
	ck_assert_int_eq(sdrv_evl_unmask(pp.a, pp.pa), 0);
	ck_assert_int_eq(sdrv_evl_unmask(pp.b, pp.pb), 0);
	/* kb is b's give end: the same description as a's receive end. */
	set_blocking(pp.kb);
	set_blocking(pp.ka);
	ck_assert_int_eq(sdrv_evl_notify(pp.b, pp.pb), 0);
	ck_assert_msg(readable(sdrv_evl_fd(pp.a), 1000), "notify did not wake a");
	/* The peer steals the record first. */
	ck_assert_int_eq(recv(pp.kb, &c, 1, MSG_DONTWAIT), 1);
	t0 = tu_now_ns();
	ck_assert_int_eq(take(pp.a), 0);
	ck_assert_int_eq(take(pp.a), 0);
	ck_assert_msg(tu_now_ns() - t0 < 1000000000ull, "pending() blocked");
	/* Still armed: the next notify is delivered. */
	ck_assert_int_eq(sdrv_evl_notify(pp.b, pp.pb), 0);
	ck_assert_int_eq(wait_take(pp.a, 1000), pp.pa);
	ck_assert_int_eq(sdrv_evl_unmask(pp.a, pp.pa), 0);
	ck_assert_int_eq(take(pp.a), 0);
	pair_close(&pp);
}
END_TEST

/* ------------------------------- late EOI ------------------------------- */

/* Each spurious EOI delays the next delivery by at least the schedule's
 * delay (exact lower bound; generous upper bound), up to the 1 s cap; a
 * non-spurious EOI resets the count. ~3 s. */
START_TEST(lateeoi_follows_the_backoff_schedule_and_resets)
{
	struct pair pp;
	struct sdrv_evl_stats st;
	const uint32_t last = SDRV_EVL_SPURIOUS_THRESHOLD + 12; /* two capped delays */
	uint64_t delayed = 0, slack_ms = tu_under_valgrind() ? 2000 : 500;

	pair_open_quiet(&pp);
	ck_assert_int_eq(sdrv_evl_notify(pp.a, pp.pa), 0);
	ck_assert_int_eq(take(pp.b), pp.pb);
	for (uint32_t k = 1; k <= last; k++) {
		uint64_t d = backoff_ms(k), t0 = tu_now_ns(), el;
		int64_t r;

		ck_assert_int_eq(sdrv_evl_eoi(pp.b, pp.pb, SDRV_EOI_SPURIOUS), 0);
		ck_assert_int_eq(sdrv_evl_notify(pp.a, pp.pa), 0);
		if (d >= 100)
			ck_assert_msg(take(pp.b) == 0,
				      "spurious EOI #%u (delay %llu ms) unmasked at once", k,
				      (unsigned long long)d);
		r = wait_take(pp.b, (int)(d + slack_ms + 2000));
		el = tu_now_ns() - t0;
		ck_assert_msg(r == pp.pb, "spurious EOI #%u: port never came back (%lld)", k,
			      (long long)r);
		ck_assert_msg(el >= d * 1000000ull,
			      "spurious EOI #%u: delivered after %.3f ms, back-off is %llu ms", k,
			      el / 1e6, (unsigned long long)d);
		ck_assert_msg(el < (d + slack_ms) * 1000000ull,
			      "spurious EOI #%u: delivered after %.3f ms, expected ~%llu ms", k,
			      el / 1e6, (unsigned long long)d);
		delayed += d > 0;
	}
	sdrv_evl_get_stats(pp.b, &st);
	ck_assert_uint_eq(st.spurious, last);
	ck_assert_uint_eq(st.delayed_unmasks, delayed);

	/* Work found: count reset, unmasked at once. */
	ck_assert_int_eq(sdrv_evl_eoi(pp.b, pp.pb, 0), 0);
	ck_assert_int_eq(sdrv_evl_notify(pp.a, pp.pa), 0);
	ck_assert_msg(take(pp.b) == pp.pb, "non-spurious EOI did not unmask at once");
	/* The next spurious EOI is the first again: no delay... */
	ck_assert_int_eq(sdrv_evl_eoi(pp.b, pp.pb, SDRV_EOI_SPURIOUS), 0);
	ck_assert_int_eq(sdrv_evl_notify(pp.a, pp.pa), 0);
	ck_assert_msg(take(pp.b) == pp.pb, "spurious count not reset by a non-spurious EOI");
	sdrv_evl_get_stats(pp.b, &st);
	ck_assert_uint_eq(st.delayed_unmasks, delayed);
	/* ...and the one after is delayed by the shortest step. */
	ck_assert_int_eq(sdrv_evl_eoi(pp.b, pp.pb, SDRV_EOI_SPURIOUS), 0);
	sdrv_evl_get_stats(pp.b, &st);
	ck_assert_uint_eq(st.delayed_unmasks, delayed + 1);
	ck_assert_int_eq(sdrv_evl_notify(pp.a, pp.pa), 0);
	ck_assert_int_eq(wait_take(pp.b, 2000), pp.pb);
	pair_close(&pp);
}
END_TEST

/* Explicit mask and unmask override a delayed unmask. ~1.3 s. */
START_TEST(mask_and_unmask_override_a_delayed_unmask)
{
	struct pair pp;
	struct sdrv_evl_stats st0, st1;

	pair_open_quiet(&pp);
	ck_assert_int_eq(sdrv_evl_notify(pp.a, pp.pa), 0);
	ck_assert_int_eq(take(pp.b), pp.pb);
	/* Raise the count to the cap without waiting: unmask cancels each
	 * delay but keeps the count. */
	for (int i = 0; i < 14; i++) {
		ck_assert_int_eq(sdrv_evl_eoi(pp.b, pp.pb, SDRV_EOI_SPURIOUS), 0);
		ck_assert_int_eq(sdrv_evl_unmask(pp.b, pp.pb), 0);
	}
	ck_assert_int_eq(sdrv_evl_eoi(pp.b, pp.pb, SDRV_EOI_SPURIOUS), 0); /* 1 s */
	ck_assert_int_eq(sdrv_evl_notify(pp.a, pp.pa), 0);
	ck_assert_int_eq(take(pp.b), 0);
	/* Spurious EOI while delayed: nothing changes. */
	sdrv_evl_get_stats(pp.b, &st0);
	ck_assert_int_eq(sdrv_evl_eoi(pp.b, pp.pb, SDRV_EOI_SPURIOUS), 0);
	sdrv_evl_get_stats(pp.b, &st1);
	ck_assert_uint_eq(st1.spurious, st0.spurious);
	ck_assert_uint_eq(st1.delayed_unmasks, st0.delayed_unmasks);
	/* Explicit unmask: delivered now. */
	ck_assert_int_eq(sdrv_evl_unmask(pp.b, pp.pb), 0);
	ck_assert_msg(take(pp.b) == pp.pb, "unmask did not override the delay");

	/* Delay again, then mask: the port must stay masked past the
	 * deadline, until unmasked. */
	ck_assert_int_eq(sdrv_evl_eoi(pp.b, pp.pb, SDRV_EOI_SPURIOUS), 0);
	ck_assert_int_eq(sdrv_evl_mask(pp.b, pp.pb), 0);
	ck_assert_int_eq(sdrv_evl_notify(pp.a, pp.pa), 0);
	ck_assert_msg(wait_take(pp.b, SDRV_EVL_MAX_DELAY_MS + 300) == 0,
		      "the delayed unmask unmasked a port masked since");
	ck_assert_int_eq(sdrv_evl_unmask(pp.b, pp.pb), 0);
	ck_assert_int_eq(take(pp.b), pp.pb);
	pair_close(&pp);
}
END_TEST

/* A process floods our port for `window` while the handler always says
 * spurious: deliveries stay within what the back-off schedule allows and
 * the consumer's CPU time stays far below the wall time; then a
 * non-spurious EOI brings the next delivery at once, not a second later. */
START_TEST(flood_from_another_process_costs_bounded_cpu)
{
	const uint64_t window_ms = 2000;
	struct sdrv_evl *e = sdrv_evl_new(4);
	struct sdrv_evl_stats st;
	volatile int *stop = tu_shared_mem(4096);
	sdrv_evtchn_port_t p;
	uint64_t t0, wall, cpu0, cpu, t1, dt;
	unsigned deliveries = 0, bound;
	int64_t r = 0, r2 = 0, rerr = 0;
	int fd, status, reoi, sv[2];
	pid_t pid;

	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(sdrv_evl_add(e, &p, &fd), 0);
	raw_chan(sv);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* The flooder: the peer sending on its channel to our port. */
		const char one = 1;
		uint64_t end = tu_now_ns() + 20000000000ull, writes = 0;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(sv[1]);
		while (!*stop && tu_now_ns() < end)
			if (send(sv[0], &one, 1, MSG_DONTWAIT | MSG_NOSIGNAL) == 1)
				writes++;
		/* The parent's table: free only releases our copies. */
		sdrv_evl_free(e);
		_exit(writes > 0 ? 0 : 3);
	}
	close(sv[0]);
	ck_assert_int_eq(sdrv_evl_connect(e, p, sv[1]), 0);
	t0 = tu_now_ns();
	cpu0 = cpu_ns();
	while (tu_now_ns() - t0 < window_ms * 1000000ull) {
		sdrv_evtchn_port_t q;
		int n;

		(void)readable(sdrv_evl_fd(e), 100);
		while ((n = sdrv_evl_pending(e, &q)) == 1) {
			deliveries++;
			if (sdrv_evl_eoi(e, q, SDRV_EOI_SPURIOUS) != 0)
				rerr = -1;
		}
		if (n < 0)
			rerr = n;
	}
	cpu = cpu_ns() - cpu0;
	wall = tu_now_ns() - t0;
	/* The port is now backed off by (up to) a second: take the next
	 * delivery, report work found, and time the one after. */
	r = wait_take(e, 3000);
	reoi = sdrv_evl_eoi(e, p, 0);
	t1 = tu_now_ns();
	r2 = wait_take(e, 3000);
	dt = tu_now_ns() - t1;
	*stop = 1;
	status = tu_wait_child(pid);
	sdrv_evl_get_stats(e, &st);
	sdrv_evl_free(e);
	tu_shared_free((void *)stop, 4096);

	bound = max_deliveries(wall / 1000000ull) + 2;
	fprintf(stderr,
		"flood: %u deliveries in %.0f ms (back-off bound %u), consumer CPU %.1f ms; "
		"after a non-spurious EOI: %.3f ms\n",
		deliveries, wall / 1e6, bound, cpu / 1e6, dt / 1e6);
	ck_assert_msg(status == 0, "flooder exited with %d", status);
	ck_assert_msg(rerr == 0, "pending/eoi failed during the flood: %lld", (long long)rerr);
	ck_assert_msg(deliveries <= bound && deliveries < 50,
		      "%u deliveries in %.0f ms of flood; back-off allows at most %u", deliveries,
		      wall / 1e6, bound);
	ck_assert_msg(deliveries >= 3, "only %u deliveries: the flood was not seen", deliveries);
	ck_assert_msg(cpu * 4 < wall, "consumer used %.0f ms CPU in %.0f ms under flood", cpu / 1e6,
		      wall / 1e6);
	ck_assert_msg(r == p, "no delivery after the flood window (%lld)", (long long)r);
	ck_assert_msg(reoi == 0, "non-spurious EOI failed: %d", reoi);
	ck_assert_msg(r2 == p, "no delivery after a non-spurious EOI (%lld)", (long long)r2);
	ck_assert_msg(
	    dt < 600000000ull,
	    "after a non-spurious EOI the next delivery took %.0f ms (back-off not reset)",
	    dt / 1e6);
	ck_assert_uint_eq(st.spurious, deliveries);
	ck_assert_uint_ge(st.delayed_unmasks, deliveries - SDRV_EVL_SPURIOUS_THRESHOLD);
}
END_TEST

/* ---------------------------- two processes ----------------------------- */

static int send_fd(int sock, int fd)
{
	char c = 'F';
	struct iovec iov = {.iov_base = &c, .iov_len = 1};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

	memset(u.buf, 0, sizeof(u.buf));
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &mh, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char c;
	struct iovec iov = {.iov_base = &c, .iov_len = 1};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&mh);
	if (!cm || cm->cmsg_type != SCM_RIGHTS || cm->cmsg_len != CMSG_LEN(sizeof(int)))
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* The child's side of the ping-pong; returns its exit code. */
static int pong(int sock, int parent_fd, uint64_t rounds)
{
	struct sdrv_evl *b = sdrv_evl_new(4);
	sdrv_evtchn_port_t pb;
	int rb, code = 0;
	char c = 'R';

	if (!b || sdrv_evl_add(b, &pb, &rb) != 0 || send_fd(sock, rb) != 0)
		return 10;
	if (sdrv_evl_connect(b, pb, dup(parent_fd)) != 0)
		code = 11;
	else if (take(b) != pb || sdrv_evl_unmask(b, pb) != 0)
		code = 12; /* the bind pending */
	else if (write(sock, &c, 1) != 1)
		code = 13;
	for (uint64_t i = 0; !code && i < rounds; i++) {
		if (wait_take(b, 10000) != pb)
			code = 14;
		else if (sdrv_evl_unmask(b, pb) != 0 || sdrv_evl_notify(b, pb) != 0)
			code = 15;
	}
	sdrv_evl_free(b);
	return code;
}

/* Ping-pong between two processes, each with its own table: the parent's
 * give end reaches the child by inheritance, the child's comes back over a
 * unix socket (SCM_RIGHTS), as the broker will pass them. When the child
 * exits, the parent notices by itself: the port is reported once and is
 * disconnected. */
START_TEST(ping_pong_between_two_processes)
{
	const uint64_t rounds = tu_scaled(2000, 50);
	struct sdrv_evl *a = sdrv_evl_new(4);
	sdrv_evtchn_port_t pa;
	int ra, rb, sv[2], status, fds_before;
	int64_t r;
	uint64_t i;
	char c;
	pid_t pid;

	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(sdrv_evl_add(a, &pa, &ra), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(sv[0]);
		status = pong(sv[1], ra, rounds);
		sdrv_evl_free(a); /* the parent's table: only our copies */
		_exit(status);
	}
	close(sv[1]);
	rb = recv_fd(sv[0]);
	ck_assert_msg(rb >= 0, "no give end from the child");
	ck_assert_int_eq(sdrv_evl_connect(a, pa, rb), 0);
	ck_assert_int_eq(take(a), pa);
	ck_assert_int_eq(sdrv_evl_unmask(a, pa), 0);
	ck_assert_msg(read(sv[0], &c, 1) == 1 && c == 'R', "child not ready");
	for (i = 0; i < rounds; i++) {
		ck_assert_int_eq(sdrv_evl_notify(a, pa), 0);
		if (wait_take(a, 10000) != pa)
			break;
		ck_assert_int_eq(sdrv_evl_unmask(a, pa), 0);
	}
	status = tu_wait_child(pid);
	ck_assert_msg(i == rounds, "ping-pong stalled at round %llu of %llu", (unsigned long long)i,
		      (unsigned long long)rounds);
	ck_assert_msg(status == 0, "child failed with %d", status);
	close(sv[0]);
	/* The child is gone: its send channel hung up. The news may have
	 * come with the last round's delivery (one pending bit); if not, it
	 * comes now, once. */
	if (sdrv_evl_connected(a, pa) == 1) {
		fds_before = count_fds();
		r = wait_take(a, 5000);
		ck_assert_msg(r == pa, "the peer's death was not reported (%lld)", (long long)r);
		ck_assert_int_eq(count_fds(), fds_before - 1); /* the receive end */
		ck_assert_int_eq(sdrv_evl_unmask(a, pa), 0);
	}
	ck_assert_int_eq(sdrv_evl_connected(a, pa), 0);
	ck_assert_int_eq(sdrv_evl_notify(a, pa), -ENOTCONN);
	ck_assert_msg(take(a) == 0, "the peer's death was reported twice");
	fds_before = count_fds();
	/* The broker reports it too: disconnect again is fine. */
	ck_assert_int_eq(sdrv_evl_disconnect(a, pa), 0);
	ck_assert_int_eq(count_fds(), fds_before); /* nothing left to close */
	ck_assert_int_eq(take(a), pa);
	ck_assert_int_eq(sdrv_evl_notify(a, pa), -ENOTCONN);
	sdrv_evl_free(a);
}
END_TEST

/* The eventfd design's hang: the peer process holds the receive end of our
 * channel, clears O_NONBLOCK on every descriptor it holds and stops
 * reading while we notify 100,000 times. Every notify returns 0 at once
 * (the watchdog catches a hang); when the peer finally drains, it sees one
 * delivery. */
START_TEST(hostile_peer_cannot_block_notify)
{
	const unsigned n = 100000; /* not scaled: cheap even under valgrind */
	struct sdrv_evl *a = sdrv_evl_new(4);
	volatile int *flag = tu_shared_mem(4096); /* 1: peer ready, 2: notified */
	sdrv_evtchn_port_t pa;
	uint64_t t0, t, worst = 0, total;
	int ga, sv[2], status, bad = 0;
	pid_t pid;

	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(sdrv_evl_add(a, &pa, &ga), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* The peer: binds to our give end (inherited), sets everything
		 * it holds blocking and does not read until told. */
		struct sdrv_evl *b = sdrv_evl_new(4);
		sdrv_evtchn_port_t pb;
		int gb, mine = xdup(ga), code = 0;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (!b || sdrv_evl_add(b, &pb, &gb) != 0 ||
		    sdrv_evl_connect(b, pb, xdup(mine)) != 0)
			_exit(20);
		if (take(b) != pb || sdrv_evl_unmask(b, pb) != 0)
			_exit(21);
		for (int fd = 0; fd < 1024; fd++) {
			int fl = fcntl(fd, F_GETFL);

			if (fl >= 0 && (fl & O_NONBLOCK))
				(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
		}
		*flag = 1;
		while (*flag != 2)
			usleep(1000);
		if (wait_take(b, 5000) != pb)
			code = 22;
		else if (take(b) != 0 || sdrv_evl_unmask(b, pb) != 0)
			code = 23;
		else if (take(b) != 0)
			code = 24; /* more than one delivery */
		sdrv_evl_free(b);
		sdrv_evl_free(a); /* the parent's table: only our copies */
		close(mine);
		_exit(code);
	}
	raw_chan(sv); /* where a receives from: not used here */
	ck_assert_int_eq(sdrv_evl_connect(a, pa, sv[1]), 0);
	while (*flag != 1)
		usleep(1000);
	t0 = tu_now_ns();
	for (unsigned i = 0; i < n; i++) {
		uint64_t s0 = tu_now_ns();

		if (sdrv_evl_notify(a, pa) != 0)
			bad++;
		t = tu_now_ns() - s0;
		if (t > worst)
			worst = t;
	}
	total = tu_now_ns() - t0;
	*flag = 2;
	status = tu_wait_child(pid);
	fprintf(stderr,
		"evtchn: %u notifies to a peer that blocks and does not read: %.1f ms, "
		"worst %.3f ms\n",
		n, total / 1e6, worst / 1e6);
	sdrv_evl_free(a);
	close(sv[0]);
	tu_shared_free((void *)flag, 4096);
	ck_assert_msg(bad == 0, "%d notifies failed", bad);
	ck_assert_msg(worst < (tu_under_valgrind() ? 2000000000ull : 200000000ull),
		      "a notify took %.3f ms", worst / 1e6);
	ck_assert_msg(status == 0, "peer failed with %d", status);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("evtchn");
	TCase *tc = tcase_create("ports");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, watchdog_setup, NULL);
	tcase_add_test(tc, new_rejects_bad_sizes_and_table_fills);
	tcase_add_test(tc, invalid_ports_and_arguments_are_rejected);
	tcase_add_test(tc, connect_checks_the_descriptor_and_keeps_it_on_error);
	tcase_add_test(tc, notify_makes_the_peer_fd_readable_and_pending_once);
	tcase_add_test(tc, notification_while_masked_is_delivered_on_unmask);
	tcase_add_test(tc, masked_port_armed_or_disarmed_delivers_on_unmask);
	tcase_add_test(tc, watched_descriptors_share_the_epoll_set);
	tcase_add_test(tc, notifications_coalesce);
	tcase_add_test(tc, connect_sets_the_local_port_pending);
	tcase_add_test(tc, disconnect_answers_enotconn_and_wakes_the_owner);
	tcase_add_test(tc, close_forgets_pending_and_releases_fds);
	tcase_add_test(tc, many_ports_map_to_the_right_numbers);
	tcase_add_test(tc, wait_answers_pending_from_its_own_look);
	tcase_add_test(tc, free_releases_every_descriptor);
	tcase_add_test(tc, stats_count_deliveries_spurious_and_delays);
	tcase_add_test(tc, peer_death_is_noticed_and_reported_once);
	tcase_add_test(tc, hostile_records_count_once_and_carry_no_descriptors);
	tcase_add_test(tc, receive_end_set_blocking_by_the_peer_never_blocks);
	suite_add_tcase(s, tc);
	tc = tcase_create("lateeoi");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, watchdog_setup, NULL);
	tcase_add_test(tc, lateeoi_follows_the_backoff_schedule_and_resets);
	tcase_add_test(tc, mask_and_unmask_override_a_delayed_unmask);
	tcase_add_test(tc, flood_from_another_process_costs_bounded_cpu);
	suite_add_tcase(s, tc);
	tc = tcase_create("processes");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, watchdog_setup, NULL);
	tcase_add_test(tc, ping_pong_between_two_processes);
	tcase_add_test(tc, hostile_peer_cannot_block_notify);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
