/* SPDX-License-Identifier: MIT */
/*
 * Event channels of one domain on sender-owned sockets (private to the
 * POSIX transport).
 *
 * Every direction of a channel is a one-way AF_UNIX SOCK_SEQPACKET
 * socketpair created by its SENDER. sdrv_evl_add() creates the port's send
 * channel: the table keeps the sending socket, which no other process ever
 * holds (so nobody else can change its file flags or options), and hands
 * out the other socket, the peer's receive end, to be passed to the peer
 * through the broker. sdrv_evl_connect() takes the peer's send channel's
 * receive end. Notify is one send() of one byte with MSG_DONTWAIT |
 * MSG_NOSIGNAL: non-blocking per call whatever anybody does to file flags,
 * and never SIGPIPE. A full queue (EAGAIN) means the peer has unread
 * notifications: already pending, success. All receive ends sit in one
 * epoll set (EPOLLIN | EPOLLRDHUP, level-triggered) whose descriptor is the
 * domain's single pollable fd; the transport adds its own descriptors to
 * the same set (sdrv_evl_watch()), so that one epoll_wait() tells both.
 *
 * Why not pipes or eventfds. An eventfd is one open file description
 * shared with the peer: a hostile peer clears O_NONBLOCK on it and
 * saturates the counter, and our write(2) blocks for ever (eventfds have
 * no per-call non-blocking write). A pipe's write end can be ours alone,
 * but a write to a pipe whose readers are gone raises SIGPIPE (a library
 * must not touch the process's signal disposition), and pipe_write takes
 * the pipe mutex that a reader holds while copying to user memory.
 * Measured round trips, two processes ping-ponging through epoll (1 byte
 * or one eventfd count per hop; 5 x 10,000 rounds, medians, 2 vCPUs,
 * Linux 6.18): eventfd 25.0 us, pipe 27.6 us, SEQPACKET 31.5 us; both
 * processes pinned to one CPU: 18.2, 20.5, 22.7 us. The socket costs
 * about 11-14% more than a pipe, under the 20% we allowed for robustness.
 *
 * Delivery follows libxenevtchn: sdrv_evl_pending() returns a port masked
 * and cleared (its queued notifications drained, with one recvmmsg());
 * unmask makes it deliverable again, and a notification that arrived
 * meanwhile is delivered at once (pending survives masking). Masking is a
 * software flag: a wake-up costs one epoll_wait() and one recvmmsg() on
 * the receiving side, and mask and unmask no system call, unless a
 * notification arrives while the port is masked (the port is then
 * disarmed in epoll until unmasked: one EPOLL_CTL_MOD each way).
 *
 * Some pending state cannot be written into a socket we do not own
 * (connect's "bind sets pending", a disconnect, the peer's death): it is a
 * software pending bit, made visible by a per-table self-wake eventfd
 * (never shared) in the same epoll set. Late EOI
 * (XSA-332/391): a wake-up reported spurious raises the port's spurious
 * count; past a threshold the unmask is delayed exponentially (1 ms <<
 * (count - threshold - 1), capped at 1 s) through a timerfd in the same
 * epoll set, so a flooding peer costs bounded CPU.
 *
 * Peer death: when every copy of the peer's sending socket is closed (the
 * peer closed the port or died), our receive end hangs up (EPOLLHUP /
 * EPOLLRDHUP, or a read of 0 bytes: a zero-length record, which we never
 * send, is taken as the end too); when every copy of our give end is
 * closed, our send fails with EPIPE. Either way the port becomes
 * disconnected (notify answers -ENOTCONN, its receive end is closed) and
 * is reported pending once so that its owner looks.
 *
 * All functions return 0 (or what is documented) or a negative errno:
 * -EINVAL for a NULL table, port 0, a port out of range or not open, or
 * unknown flags. A table is used by one thread at a time. These symbols are
 * internal to the library (hidden visibility), never exported.
 *
 * fork(): the epoll set is shared with a child that inherits the table, so
 * a child must not use an inherited table; it may only sdrv_evl_free() it,
 * which closes its copies of the descriptors and leaves the parent's
 * registrations alone (it never calls EPOLL_CTL_DEL).
 *
 * Trust: the peer holds our give ends and may keep copies of the give
 * ends it handed us. Nothing it does to those makes a call of ours block:
 * every send and receive is MSG_DONTWAIT, the sending socket is ours
 * alone and shut for reading (nothing can be queued to it), and the work
 * per wake-up is bounded (a drain reads at most SDRV_EVL_DRAIN_MAX
 * records; more left over is delivered again after unmask, which late EOI
 * bounds). Descriptors a hostile peer passes over its channel (SCM_RIGHTS)
 * are refused where the kernel has SO_PASSRIGHTS (Linux 6.16), set on every
 * receive end; a peer that kept a copy of the receive end it gave us can
 * turn that back on, and the kernel then discards what it passed when we
 * drain, releasing those files in our process. Closing the last copy of
 * some files can sleep (a TCP socket with SO_LINGER); only channels that
 * the broker creates and hands out (neither peer holding the other's end)
 * would close that hole.
 */
#ifndef SDRV_POSIX_EVTCHN_H
#define SDRV_POSIX_EVTCHN_H

#include <stdint.h>

#include <splitdrv/transport.h>

#pragma GCC visibility push(hidden)

/* Largest table (Xen's FIFO ABI has 2^17 channels). */
#define SDRV_EVL_MAX_PORTS 131072u
/* Spurious EOIs tolerated before the unmask is delayed (Linux's default). */
#define SDRV_EVL_SPURIOUS_THRESHOLD 1u
/* Cap of the delayed unmask, milliseconds (Linux: HZ, one second). */
#define SDRV_EVL_MAX_DELAY_MS 1000u
/* Records read from one receive end per delivery. Our senders queue at
 * most about 11 one-byte records (send buffer 8 KiB); a hostile sender with
 * the default buffer (212992) about 280. */
#define SDRV_EVL_DRAIN_MAX 1024u

struct sdrv_evl;

/* A table of at most `max_ports` ports (port numbers 1..max_ports; 0 is
 * never a valid port, as in Xen). NULL with errno on failure (EINVAL:
 * max_ports is 0 or above SDRV_EVL_MAX_PORTS). */
struct sdrv_evl *sdrv_evl_new(uint32_t max_ports);
/* Closes every descriptor of the table. NULL is a no-op. */
void sdrv_evl_free(struct sdrv_evl *e);

/* The epoll descriptor: readable when a port is pending (or a delayed
 * unmask is due, or a masked port was notified or its peer hung up:
 * sdrv_evl_pending() handles these), or a watched descriptor is readable.
 * It may occasionally be readable with nothing to deliver;
 * sdrv_evl_pending() then returns 0. */
int sdrv_evl_fd(const struct sdrv_evl *e);

/* Watched descriptors: ids 0..SDRV_EVL_NR_WATCH-1. */
#define SDRV_EVL_NR_WATCH 2u
/* Add the caller's descriptor `fd` to the epoll set (EPOLLIN,
 * level-triggered) as watched descriptor `id`, so that sdrv_evl_fd() is
 * readable while `fd` is. The table does not own `fd`; the caller keeps
 * it open until sdrv_evl_free(). -EINVAL: bad id; -EEXIST: `fd` is
 * already in the set. */
int sdrv_evl_watch(struct sdrv_evl *e, int fd, unsigned id);
/* Whether watched descriptor `id` was reported readable: 1 (and the
 * report is consumed), 0, or <0 errno. The report comes from the last
 * look at the epoll set, which sdrv_evl_pending() takes too; if there is
 * none, this looks now (one epoll_wait() without waiting, whose port
 * events sdrv_evl_pending() then delivers without looking again). A
 * report may be stale (the caller must cope with finding nothing); a
 * descriptor that stays readable keeps the epoll fd readable, so it is
 * reported again. */
int sdrv_evl_watched(struct sdrv_evl *e, unsigned id);

/* New local port with a fresh send channel. `*peer_fd` is the channel's
 * receive end, for the peer: pass it to the peer (the broker forwards it
 * with SCM_RIGHTS, which copies it). The table keeps owning `*peer_fd`
 * until the port is connected (sdrv_evl_connect() closes it on success)
 * or closed, so the caller must not close it; after connect the peer is
 * the only reader. The lowest free port number is used (closed ports are
 * reused). The port starts unmasked, not connected, not pending. -ENOSPC
 * when the table is full. */
int sdrv_evl_add(struct sdrv_evl *e, sdrv_evtchn_port_t *port, int *peer_fd);

/* Connect `port` to the peer: `recv_fd` is the receive end of the peer's
 * send channel (the `*peer_fd` of the peer's sdrv_evl_add()), which the
 * table now owns; the table closes the port's own `*peer_fd`, which the
 * peer has received by now. Connecting sets the local port pending (Xen's
 * bind_interdomain does, so nothing sent before binding is lost).
 * Ownership of `recv_fd` passes only on success; on error the caller still
 * owns it. -EBADF: `recv_fd` is not open; -EINVAL: it is not a connected
 * AF_UNIX SOCK_SEQPACKET socket, or the table owns it already; -EBUSY: the
 * port is already connected. A port disconnected by sdrv_evl_disconnect()
 * (or by the peer's death) may be connected again: it receives from the
 * new `recv_fd` and still sends on its own channel, which reaches whoever
 * holds its `*peer_fd`. */
int sdrv_evl_connect(struct sdrv_evl *e, sdrv_evtchn_port_t port, int recv_fd);

/* The peer is gone: notify answers -ENOTCONN; the port is set pending so
 * its owner looks and notices. Closes the receive descriptor (the send
 * channel stays, for a later connect). Also valid (and sets the port
 * pending) on a port that is not connected. */
int sdrv_evl_disconnect(struct sdrv_evl *e, sdrv_evtchn_port_t port);

/* Set the peer's port pending: one send() that never blocks. Notifying a
 * port that is already pending is not an error (notifications coalesce,
 * a full queue counts as pending). -ENOTCONN if the port is not connected
 * or the peer is found gone (the port is then disconnected and pending). */
int sdrv_evl_notify(struct sdrv_evl *e, sdrv_evtchn_port_t port);
/* 1 with *port, 0 if none pending, <0 errno. The port is returned masked
 * and its pending state cleared (its receive end drained, at most
 * SDRV_EVL_DRAIN_MAX records); unmask it or EOI it when done. Also
 * performs delayed unmasks that are due and notices dead peers. */
int sdrv_evl_pending(struct sdrv_evl *e, sdrv_evtchn_port_t *port);
/* Wait up to `timeout_ms` (-1: forever, 0: just look) until a port is
 * pending or a watched descriptor readable, as poll() on sdrv_evl_fd()
 * would, but the look it takes is the one sdrv_evl_pending() and
 * sdrv_evl_watched() would take next: they answer from it without a system
 * call of their own. After a wait that saw everything there was, the first
 * sdrv_evl_pending() that finds its ports all delivered returns 0 without
 * looking (the call after it looks again), and so does the first
 * sdrv_evl_watched(id) for a descriptor the wait did not see readable: a
 * caller that waits, asks about its descriptors, takes ports until 0 and
 * waits again makes one epoll_wait() per wake-up. A wait that times out
 * is such a look too. 1 (may be ready; returned at once if the last look
 * left something to hand out), 0 (timed out), -EINTR (a signal came), or
 * <0 errno. */
int sdrv_evl_wait(struct sdrv_evl *e, int timeout_ms);
/* Mask: notifications stay pending, undelivered. Cancels a delayed unmask
 * (the port stays masked until unmasked). Idempotent. No system call. */
int sdrv_evl_mask(struct sdrv_evl *e, sdrv_evtchn_port_t port);
/* Unmask now: a notification that came while masked is delivered. An
 * explicit unmask overrides a delayed unmask (the spurious count stays).
 * No system call unless the port was disarmed (notified while masked). */
int sdrv_evl_unmask(struct sdrv_evl *e, sdrv_evtchn_port_t port);
/* Late EOI: `flags` is 0 or SDRV_EOI_SPURIOUS. Without the flag the spurious
 * count is reset and the port unmasked at once. With it the count grows;
 * past SDRV_EVL_SPURIOUS_THRESHOLD the port stays masked and is unmasked
 * after 1 ms << (count - threshold - 1), capped at SDRV_EVL_MAX_DELAY_MS.
 * A spurious EOI on a port whose unmask is already delayed changes nothing
 * (as Linux's lateeoi). */
int sdrv_evl_eoi(struct sdrv_evl *e, sdrv_evtchn_port_t port, uint32_t flags);
/* Close the port and all its descriptors; the number becomes free. */
int sdrv_evl_close(struct sdrv_evl *e, sdrv_evtchn_port_t port);

/* Whether `port` is connected to a live peer: 1, 0, or -EINVAL. */
int sdrv_evl_connected(const struct sdrv_evl *e, sdrv_evtchn_port_t port);

/* Statistics for tests and benchmarks. */
struct sdrv_evl_stats {
	uint64_t delivered;	  /* ports returned by sdrv_evl_pending() */
	uint64_t spurious;	  /* EOIs flagged spurious */
	uint64_t delayed_unmasks; /* unmasks deferred by the back-off */
};
/* Zeroes `*st` if `e` is NULL. */
void sdrv_evl_get_stats(const struct sdrv_evl *e, struct sdrv_evl_stats *st);

#pragma GCC visibility pop

#endif
