/* SPDX-License-Identifier: MIT */
/*
 * The store's connections and its public API (see store.h).
 *
 * One epoll set holds the listening socket, an eventfd the store kicks
 * itself with when work is left for the next sdrv_store_run() call, and
 * every connection. A connection reads into a bounded buffer, requests are
 * handled a bounded number at a time, and replies and watch events wait in
 * the connection's output queue until the end of the batch: after the
 * state file (if any) was written, so that an acknowledged change is on
 * disk. A connection with too much unread output is not read any more
 * (backpressure) and is dropped if it stays so; one that breaks the framing
 * (a header claiming more than 4096 bytes) is dropped at once, as xenstored
 * does.
 */
#define _GNU_SOURCE
#include "store-int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#define EVENTS_PER_RUN	  64
#define MSGS_PER_CONN	  16
#define ACCEPTS_PER_RUN	  16
#define WARNINGS_PER_CONN 8
#define SNDBUF_BYTES	  (64 * 1024)

static void *const KICK_TAG = (void *)&KICK_TAG;

void st_conn_warn(struct st_conn *c, const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	if (c->warnings >= WARNINGS_PER_CONN)
		return;
	if (++c->warnings == WARNINGS_PER_CONN) {
		st_log(c->s, LOG_WARNING, "connection %u (domain %u): further warnings suppressed",
		       c->serial, c->domid);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	st_log(c->s, LOG_WARNING, "connection %u (domain %u, pid %ld): %s", c->serial, c->domid,
	       c->pid, msg);
}

static void kick(struct sdrv_store *s)
{
	uint64_t one = 1;

	if (s->kicked)
		return;
	s->kicked = true;
	(void)!write(s->kickfd, &one, sizeof(one));
}

/* ------------------------------ output -------------------------------- */

static bool paused(const struct st_conn *c)
{
	const struct sdrv_store *s = c->s;

	if (c->out_bytes > s->q[Q_UNREAD_BYTES])
		return true;
	return !c->priv && c->out_replies >= s->q[Q_OUTSTANDING];
}

static void append(struct st_conn *c, struct st_omsg *m)
{
	m->next = NULL;
	if (c->out_tail)
		c->out_tail->next = m;
	else
		c->out_head = m;
	c->out_tail = m;
	c->out_bytes += m->len;
	if (m->reply)
		c->out_replies++;
	if (m->event) {
		c->out_events++;
		c->event_bytes += m->len;
		if (!c->priv)
			c->dom->emem += m->len;
	}
}

/* ---------------------- waiting events, by payload -------------------- */

/* Seeded, so that a peer cannot aim collisions: path and token with
 * their NULs, i.e. the event's payload. */
static uint32_t ev_hash(const struct sdrv_store *s, const char *path, size_t pl, const char *token,
			size_t tl)
{
	uint32_t h = 2166136261u ^ s->seed;

	for (size_t i = 0; i < pl + tl; i++) {
		h ^= (unsigned char)(i < pl ? path[i] : token[i - pl]);
		h *= 16777619u;
	}
	h ^= h >> 15;
	h *= 0x2c1b3c6du;
	h ^= h >> 12;
	return h;
}

/* The waiting event with this payload, or NULL. */
static struct st_omsg *ev_find(const struct st_conn *c, uint32_t h, const char *path, size_t pl,
			       const char *token, size_t tl)
{
	if (!c->evtab)
		return NULL;
	for (struct st_omsg *m = c->evtab[h & c->evtab_mask]; m; m = m->hnext)
		if (m->hash == h && m->len == ST_HDR + pl + tl &&
		    !memcmp(m->data + ST_HDR, path, pl) &&
		    !memcmp(m->data + ST_HDR + pl, token, tl))
			return m;
	return NULL;
}

/* Index a waiting event; the table doubles at a load of one. Without
 * memory for the table the event is still sent, just not coalesced. */
static void ev_index(struct st_conn *c, struct st_omsg *m)
{
	if (!c->evtab || c->evtab_n > c->evtab_mask) {
		uint32_t nsz = c->evtab ? (c->evtab_mask + 1) * 2 : 64;
		struct st_omsg **nt = calloc(nsz, sizeof(*nt));

		if (!nt)
			return;
		for (uint32_t b = 0; c->evtab && b <= c->evtab_mask; b++)
			while (c->evtab[b]) {
				struct st_omsg *o = c->evtab[b];

				c->evtab[b] = o->hnext;
				o->hnext = nt[o->hash & (nsz - 1)];
				nt[o->hash & (nsz - 1)] = o;
			}
		free(c->evtab);
		c->evtab = nt;
		c->evtab_mask = nsz - 1;
	}
	m->hnext = c->evtab[m->hash & c->evtab_mask];
	c->evtab[m->hash & c->evtab_mask] = m;
	m->hashed = true;
	c->evtab_n++;
}

/* An event starts on the socket: it can no longer absorb later ones. */
static void ev_unindex(struct st_conn *c, struct st_omsg *m)
{
	struct st_omsg **pp;

	if (!m->hashed)
		return;
	for (pp = &c->evtab[m->hash & c->evtab_mask]; *pp != m; pp = &(*pp)->hnext)
		;
	*pp = m->hnext;
	m->hashed = false;
	c->evtab_n--;
}

static struct st_omsg *omsg_new(uint32_t type, uint32_t req_id, uint32_t tx_id, const void *d1,
				size_t l1, const void *d2, size_t l2)
{
	struct st_omsg *m = malloc(sizeof(*m) + ST_HDR + l1 + l2);
	struct sdrv_xs_msg h = {
	    .type = type, .req_id = req_id, .tx_id = tx_id, .len = (uint32_t)(l1 + l2)};

	if (!m)
		return NULL;
	memset(m, 0, sizeof(*m));
	m->len = (uint32_t)(ST_HDR + l1 + l2);
	memcpy(m->data, &h, ST_HDR);
	if (l1)
		memcpy(m->data + ST_HDR, d1, l1);
	if (l2)
		memcpy(m->data + ST_HDR + l1, d2, l2);
	return m;
}

void st_reply(struct st_conn *c, const struct sdrv_xs_msg *req, uint32_t type, const void *data,
	      size_t len)
{
	struct st_omsg *m;

	if (!c || c->dead)
		return;
	if (len > SDRV_XS_PAYLOAD_MAX) {
		st_error(c, req, E2BIG);
		return;
	}
	m = omsg_new(type, req->req_id, req->tx_id, data, len, NULL, 0);
	if (!m) {
		st_drop(c, "out of memory for a reply");
		return;
	}
	m->reply = true;
	append(c, m);
}

void st_error(struct st_conn *c, const struct sdrv_xs_msg *req, int err)
{
	const char *name = sdrv_xs_error_name(err);

	if (!c || c->dead)
		return;
	c->s->st.errors++;
	st_reply(c, req, SDRV_XS_ERROR, name, strlen(name) + 1);
}

/*
 * Queue a watch event. Bounds, as xenstored's (XSA-326): the privileged
 * domain's events are never dropped; an unprivileged domain's count
 * against its memory quota with everything else it holds, and at most
 * watch-events wait on one of its connections; beyond either, events are
 * dropped, counted and logged. An event whose path and token already wait
 * (not yet started on the socket) is merged into that one (special events
 * excepted, as in xenstored), so a peer rewriting one node cannot grow
 * anybody's queue, and the privileged queue is bounded by the number of
 * distinct (path, token) pairs the tree and the watches can produce.
 */
void st_event(struct st_conn *c, const char *path, const char *token)
{
	struct sdrv_store *s = c->s;
	size_t pl = strlen(path) + 1, tl = strlen(token) + 1, len = pl + tl;
	struct st_omsg *m;
	uint32_t h = 0;

	if (c->dead || len > SDRV_XS_PAYLOAD_MAX)
		return;
	if (path[0] != '@') {
		h = ev_hash(s, path, pl, token, tl);
		if (ev_find(c, h, path, pl, token, tl)) {
			s->st.events_coalesced++;
			return;
		}
	}
	if (!c->priv &&
	    (c->out_events >= s->q[Q_WATCH_EVENTS] ||
	     (s->q[Q_MEMORY] != SDRV_STORE_UNLIMITED &&
	      c->dom->mem + c->dom->wmem + c->dom->emem + ST_HDR + len > s->q[Q_MEMORY]))) {
		s->st.events_dropped++;
		if (c->events_dropped++ == 0)
			st_conn_warn(
			    c,
			    "watch events are not read; dropping them (%u pending, "
			    "%llu bytes of the domain's memory quota)",
			    c->out_events,
			    (unsigned long long)(c->dom->mem + c->dom->wmem + c->dom->emem));
		return;
	}
	m = omsg_new(SDRV_XS_WATCH_EVENT, 0, 0, path, pl, token, tl);
	if (!m) {
		s->st.events_dropped++;
		return;
	}
	m->event = true;
	m->hash = h;
	append(c, m);
	if (path[0] != '@')
		ev_index(c, m);
	s->st.events_sent++;
}

static void free_out(struct st_conn *c)
{
	if (!c->priv && c->dom)
		c->dom->emem -= c->event_bytes;
	while (c->out_head) {
		struct st_omsg *m = c->out_head;

		c->out_head = m->next;
		free(m);
	}
	free(c->evtab);
	c->evtab = NULL;
	c->evtab_mask = c->evtab_n = 0;
	c->out_tail = NULL;
	c->out_bytes = c->event_bytes = c->out_off = 0;
	c->out_replies = c->out_events = 0;
}

void st_drop(struct st_conn *c, const char *why)
{
	struct sdrv_store *s = c->s;

	if (c->dead)
		return;
	c->dead = true;
	st_log(s, LOG_DEBUG, "connection %u (domain %u, pid %ld) closed: %s", c->serial, c->domid,
	       c->pid, why);
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	st_conn_drop_state(s, c);
	free_out(c);
	c->next_dead = s->dead;
	s->dead = c;
	kick(s);
}

static void misbehaved(struct st_conn *c, const char *why)
{
	st_conn_warn(c, "%s; disconnecting", why);
	c->s->st.conns_dropped++;
	st_drop(c, why);
}

static void flush(struct st_conn *c)
{
	bool progress = false;

	while (c->out_head && !c->dead) {
		struct st_omsg *m = c->out_head;
		ssize_t n;

		n = send(c->fd, m->data + c->out_off, m->len - c->out_off,
			 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				st_drop(c, "cannot send");
			break;
		}
		progress = true;
		ev_unindex(c, m); /* started: later events cannot merge into it */
		c->out_off += (size_t)n;
		if (c->out_off < m->len)
			continue;
		c->out_off = 0;
		c->out_head = m->next;
		if (!c->out_head)
			c->out_tail = NULL;
		c->out_bytes -= m->len;
		if (m->reply)
			c->out_replies--;
		if (m->event) {
			c->out_events--;
			c->event_bytes -= m->len;
			if (!c->priv)
				c->dom->emem -= m->len;
		}
		free(m);
	}
	if (progress)
		c->over_since = 0;
}

/* ------------------------------ input --------------------------------- */

static void conn_read(struct st_conn *c)
{
	ssize_t n;

	if (c->dead || paused(c) || c->in_len >= ST_INBUF)
		return;
	n = read(c->fd, c->in + c->in_len, ST_INBUF - c->in_len);
	if (n == 0) {
		st_drop(c, "closed by the client");
		return;
	}
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			st_drop(c, "read error");
		return;
	}
	c->in_len += (size_t)n;
	if (c->in_len >= ST_HDR) {
		struct sdrv_xs_msg h;

		memcpy(&h, c->in, ST_HDR);
		if (h.len > SDRV_XS_PAYLOAD_MAX)
			misbehaved(c, "request payload above 4096 bytes");
	}
}

static bool complete_request(const struct st_conn *c)
{
	struct sdrv_xs_msg h;

	if (c->in_len < ST_HDR)
		return false;
	memcpy(&h, c->in, ST_HDR);
	return h.len <= SDRV_XS_PAYLOAD_MAX && c->in_len >= ST_HDR + h.len;
}

static void conn_process(struct sdrv_store *s, struct st_conn *c, uint64_t now)
{
	for (int i = 0; i < MSGS_PER_CONN && !c->dead && !paused(c); i++) {
		struct sdrv_xs_msg h;
		size_t used;

		if (c->in_len < ST_HDR)
			break;
		memcpy(&h, c->in, ST_HDR);
		if (h.len > SDRV_XS_PAYLOAD_MAX) {
			misbehaved(c, "request payload above 4096 bytes");
			return;
		}
		used = ST_HDR + h.len;
		if (c->in_len < used)
			break;
		memcpy(s->pbuf, c->in + ST_HDR, h.len);
		s->pbuf[h.len] = '\0';
		memmove(c->in, c->in + used, c->in_len - used);
		c->in_len -= used;
		c->partial_since = 0;
		st_handle(s, c, &h, s->pbuf);
	}
	if (c->dead)
		return;
	if (c->in_len && !complete_request(c)) {
		if (!c->partial_since)
			c->partial_since = now;
	} else {
		c->partial_since = 0;
	}
}

/* Drop what stays stuck; returns the next deadline (0: none). */
static uint64_t timers(struct sdrv_store *s, uint64_t now)
{
	uint64_t next = 0, lim = s->q[Q_STUCK_TIMEOUT];

	if (lim == SDRV_STORE_UNLIMITED)
		return 0;
	for (struct st_conn *c = s->conns; c; c = c->next) {
		uint64_t dl;

		if (c->dead)
			continue;
		if (paused(c)) {
			if (!c->over_since)
				c->over_since = now;
		} else {
			c->over_since = 0;
		}
		if (c->over_since) {
			if (now - c->over_since >= lim) {
				misbehaved(c, "replies not read");
				continue;
			}
			dl = c->over_since + lim;
			next = !next || dl < next ? dl : next;
		}
		if (c->partial_since) {
			if (now - c->partial_since >= lim) {
				misbehaved(c, "partial request not completed in time");
				continue;
			}
			dl = c->partial_since + lim;
			next = !next || dl < next ? dl : next;
		}
	}
	return next;
}

static void update_interest(struct sdrv_store *s, struct st_conn *c)
{
	uint32_t want = (paused(c) ? 0 : EPOLLIN) | (c->out_head ? EPOLLOUT : 0);
	struct epoll_event ev = {.events = want, .data.ptr = c};

	if (c->dead || want == c->ep_events)
		return;
	if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->ep_events = want;
}

/* ------------------------------ connections --------------------------- */

static void conn_free(struct sdrv_store *s, struct st_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nr_conns--;
	if (c->dom)
		c->dom->conns--;
	st_conn_drop_state(s, c);
	free_out(c);
	close(c->fd);
	free(c->in);
	free(c);
}

static void reap(struct sdrv_store *s)
{
	while (s->dead) {
		struct st_conn *c = s->dead;

		s->dead = c->next_dead;
		conn_free(s, c);
	}
}

static int conn_new(struct sdrv_store *s, int fd, uint32_t domid, long pid, long uid)
{
	struct st_conn *c;
	struct st_dom *d;
	struct epoll_event ev = {.events = EPOLLIN};
	int sndbuf = SNDBUF_BYTES;
	uint32_t live = s->nr_conns;

	for (struct st_conn *o = s->dead; o; o = o->next_dead)
		live--;
	if (domid >= ST_DOMID_FIRST_RESERVED)
		return -EINVAL;
	if (live >= s->q[Q_CONNECTIONS])
		return -ENOSPC;
	d = st_dom_get(s, domid, true);
	if (!d)
		return -ENOMEM;
	/* One domain must not lock the others out. */
	if (domid != 0 && s->q[Q_CONNECTIONS] != SDRV_STORE_UNLIMITED &&
	    d->conns >= (s->q[Q_CONNECTIONS] / 4 ? s->q[Q_CONNECTIONS] / 4 : 1))
		return -ENOSPC;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->in = malloc(ST_INBUF);
	if (!c->in) {
		free(c);
		return -ENOMEM;
	}
	c->s = s;
	c->fd = fd;
	c->serial = ++s->serial;
	c->domid = domid;
	c->dom = d;
	c->priv = domid == 0;
	c->pid = pid;
	c->uid = uid;
	c->next_txid = 1;
	ev.data.ptr = c;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		int err = -errno;

		free(c->in);
		free(c);
		return err;
	}
	c->ep_events = EPOLLIN;
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	d->conns++;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nr_conns++;
	st_log(s, LOG_DEBUG, "connection %u: domain %u%s (pid %ld, uid %ld)", c->serial, domid,
	       domid == 0 ? " (privileged)" : "", pid, uid);
	return 0;
}

static bool uid_in(const uid_t *v, size_t n, uid_t uid)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == uid)
			return true;
	return false;
}

static void accept_some(struct sdrv_store *s)
{
	for (int i = 0; i < ACCEPTS_PER_RUN; i++) {
		struct ucred cred;
		socklen_t len = sizeof(cred);
		uint32_t domid = 0;
		int r = -ENOENT;
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				st_log(s, LOG_ERR, "accept: %s", strerror(errno));
			return;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
			close(fd);
			continue;
		}
		if (s->peer_domain)
			r = s->peer_domain(s->peer_domain_ctx, cred.pid, cred.uid, cred.gid,
					   &domid);
		if (r < 0 && uid_in(s->priv, s->npriv, cred.uid)) {
			domid = 0;
			r = 0;
		}
		for (size_t k = 0; r < 0 && k < s->numap; k++) {
			if (s->umap[k].uid == cred.uid) {
				domid = s->umap[k].domid;
				r = 0;
			}
		}
		if (r == 0)
			r = conn_new(s, fd, domid, (long)cred.pid, (long)cred.uid);
		if (r < 0) {
			st_log(s, LOG_WARNING, "refusing a connection from pid %ld uid %ld: %s",
			       (long)cred.pid, (long)cred.uid,
			       r == -ENOENT ? "no domain for this user" : strerror(-r));
			s->st.conns_refused++;
			close(fd);
		}
	}
}

/* ------------------------------ the public API ------------------------ */

int sdrv_store_run(struct sdrv_store *s, int timeout_ms)
{
	struct epoll_event evs[EVENTS_PER_RUN];

	if (!s)
		return -EINVAL;
	for (;;) {
		uint64_t now = st_now_ms(), next;
		int wait = timeout_ms < 0 ? -1 : timeout_ms, n;
		bool handled;

		next = timers(s, now);
		if (next) {
			uint64_t until = next > now ? next - now : 0;

			if (wait < 0 || until < (uint64_t)wait)
				wait = (int)until;
		}
		if (s->kicked)
			wait = 0;
		n = epoll_wait(s->epfd, evs, EVENTS_PER_RUN, wait);
		if (n < 0)
			return errno == EINTR ? 0 : -errno;
		handled = n > 0 || s->kicked;
		if (s->kicked) {
			uint64_t v;

			(void)!read(s->kickfd, &v, sizeof(v));
			s->kicked = false;
		}
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;

			if (!p)
				accept_some(s);
			else if (p != KICK_TAG && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
				conn_read(p);
		}
		now = st_now_ms();
		for (struct st_conn *c = s->conns; c; c = c->next)
			if (!c->dead)
				conn_process(s, c, now);
		(void)timers(s, now);
		if (s->dirty) {
			s->dirty = false;
			if (s->state_file && st_state_save(s) < 0)
				s->st.state_errors++;
		}
		for (struct st_conn *c = s->conns; c; c = c->next)
			if (!c->dead && c->out_head)
				flush(c);
		for (struct st_conn *c = s->conns; c; c = c->next)
			update_interest(s, c);
		reap(s);
		for (struct st_conn *c = s->conns; c; c = c->next)
			if (!c->dead && !paused(c) && complete_request(c))
				kick(s);
		if (timeout_ms >= 0 || handled)
			return 0;
	}
}

int sdrv_store_fd(const struct sdrv_store *s)
{
	return s ? s->epfd : -1;
}

int sdrv_store_adopt(struct sdrv_store *s, int fd, uint32_t domid)
{
	int type = 0, fl, r;
	socklen_t len = sizeof(type);

	if (!s || fd < 0 || domid >= ST_DOMID_FIRST_RESERVED)
		return -EINVAL;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM)
		return -EINVAL;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	r = conn_new(s, fd, domid, -1, -1);
	if (r == 0)
		kick(s);
	return r;
}

int sdrv_store_connect(struct sdrv_store *s, uint32_t domid)
{
	int sv[2], r;

	if (!s)
		return -EINVAL;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return -errno;
	r = sdrv_store_adopt(s, sv[0], domid);
	if (r < 0) {
		close(sv[0]);
		close(sv[1]);
		return r;
	}
	return sv[1];
}

int sdrv_store_introduce(struct sdrv_store *s, uint32_t domid)
{
	int r;

	if (!s)
		return -EINVAL;
	r = st_introduce(s, domid);
	kick(s);
	return r;
}

int sdrv_store_release(struct sdrv_store *s, uint32_t domid)
{
	int r;

	if (!s)
		return -EINVAL;
	r = st_release(s, domid);
	kick(s);
	return r;
}

int sdrv_store_set_quota(struct sdrv_store *s, const char *name, uint32_t value)
{
	int i;

	if (!s || !name)
		return -EINVAL;
	i = st_quota_index(name);
	if (i < 0)
		return -ENOENT;
	if (value == 0 ||
	    (i == Q_PATH_MAX && value > SDRV_XS_ABS_PATH_MAX && value != SDRV_STORE_UNLIMITED))
		return -EINVAL;
	s->q[i] = value;
	kick(s); /* bounds may have changed: re-evaluate every connection */
	return 0;
}

int sdrv_store_get_quota(const struct sdrv_store *s, const char *name, uint32_t *value)
{
	int i;

	if (!s || !name || !value)
		return -EINVAL;
	i = st_quota_index(name);
	if (i < 0)
		return -ENOENT;
	*value = s->q[i];
	return 0;
}

void sdrv_store_set_log_level(struct sdrv_store *s, int level)
{
	if (s)
		s->log_level = level < LOG_ERR ? LOG_ERR : level > LOG_DEBUG ? LOG_DEBUG : level;
}

uint64_t sdrv_store_nr_nodes(const struct sdrv_store *s)
{
	return s ? s->nr_nodes : 0;
}

uint32_t sdrv_store_nr_connections(const struct sdrv_store *s)
{
	uint32_t n = 0;

	if (!s)
		return 0;
	for (const struct st_conn *c = s->conns; c; c = c->next)
		n += !c->dead;
	return n;
}

int sdrv_store_get_stats(const struct sdrv_store *s, struct sdrv_store_stats *st)
{
	struct sdrv_store_stats full;
	size_t n;

	if (!s || !st || st->sz < sizeof(size_t))
		return -EINVAL;
	full = s->st;
	full.sz = st->sz;
	full.nodes = s->nr_nodes;
	full.connections = sdrv_store_nr_connections(s);
	n = st->sz < sizeof(full) ? st->sz : sizeof(full);
	memcpy(st, &full, n);
	return 0;
}

/* Whether a live server answers at `sa`. */
static bool socket_alive(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool alive;

	if (fd < 0)
		return false;
	alive = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
	close(fd);
	return alive;
}

static int listen_on(struct sdrv_store *s, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	struct stat st;

	if (strlen(path) >= sizeof(sa.sun_path) || !path[0])
		return -EINVAL;
	strcpy(sa.sun_path, path);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		if (socket_alive(&sa))
			return -EADDRINUSE;
		unlink(path); /* a stale socket */
	}
	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return -errno;
	s->path = strdup(path);
	if (!s->path) {
		unlink(path);
		return -ENOMEM;
	}
	if (stat(path, &st) == 0) {
		s->sock_dev = st.st_dev;
		s->sock_ino = st.st_ino;
	}
	if (listen(s->lfd, 128) != 0 || epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->lfd, &ev) != 0) {
		int err = -errno;

		unlink(path);
		return err;
	}
	return 0;
}

static void store_destroy(struct sdrv_store *s, bool save)
{
	struct stat st;

	while (s->conns) {
		struct st_conn *c = s->conns;

		if (!c->dead) {
			c->dead = true;
			epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		}
		conn_free(s, c);
	}
	s->dead = NULL;
	if (save && s->state_file && st_state_save(s) < 0)
		st_log(s, LOG_ERR, "could not write the state file %s", s->state_file);
	if (s->path) {
		/* Remove the socket only if it is still ours. */
		if (stat(s->path, &st) == 0 && st.st_ino == s->sock_ino && st.st_dev == s->sock_dev)
			unlink(s->path);
		free(s->path);
	}
	if (s->lfd >= 0)
		close(s->lfd);
	if (s->kickfd >= 0)
		close(s->kickfd);
	if (s->epfd >= 0)
		close(s->epfd);
	st_table_free(s);
	st_doms_free(s);
	free(s->state_file);
	free(s->priv);
	free(s->umap);
	free(s);
}

struct sdrv_store *sdrv_store_new(const struct sdrv_store_opts *opts)
{
	struct sdrv_store_opts o;
	struct sdrv_store *s;
	struct epoll_event ev = {.events = EPOLLIN};
	int err;

	if (!opts || opts->sz < offsetof(struct sdrv_store_opts, quota_nodes)) {
		errno = EINVAL;
		return NULL;
	}
	memset(&o, 0, sizeof(o));
	memcpy(&o, opts, opts->sz < sizeof(o) ? opts->sz : sizeof(o));
	if ((o.nr_privileged_uids && !o.privileged_uids) || (o.nr_uid_domains && !o.uid_domains) ||
	    (o.state_file && !o.state_file[0]) || o.log_level < 0 || o.log_level > LOG_DEBUG) {
		errno = EINVAL;
		return NULL;
	}
	for (size_t i = 0; i < o.nr_uid_domains; i++) {
		if (o.uid_domains[i].domid == 0 ||
		    o.uid_domains[i].domid >= ST_DOMID_FIRST_RESERVED) {
			errno = EINVAL;
			return NULL;
		}
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->lfd = s->epfd = s->kickfd = -1;
	s->log = o.log;
	s->log_ctx = o.log_ctx;
	s->log_level = o.log_level ? o.log_level : LOG_INFO;
	s->peer_domain = o.peer_domain;
	s->peer_domain_ctx = o.peer_domain_ctx;
	s->st.sz = sizeof(s->st);
	for (int i = 0; i < Q_COUNT; i++) {
		uint32_t v;

		memcpy(&v, (const char *)&o + st_quota_defs[i].opt_off, sizeof(v));
		s->q[i] = v ? v : st_quota_defs[i].dflt;
	}
	if (s->q[Q_PATH_MAX] > SDRV_XS_ABS_PATH_MAX && s->q[Q_PATH_MAX] != SDRV_STORE_UNLIMITED) {
		err = EINVAL;
		goto fail;
	}
	if (o.nr_privileged_uids) {
		s->npriv = o.nr_privileged_uids;
		s->priv = calloc(s->npriv, sizeof(uid_t));
		if (!s->priv)
			goto fail_errno;
		memcpy(s->priv, o.privileged_uids, s->npriv * sizeof(uid_t));
	} else {
		s->priv = calloc(2, sizeof(uid_t));
		if (!s->priv)
			goto fail_errno;
		s->priv[s->npriv++] = 0;
		if (geteuid() != 0)
			s->priv[s->npriv++] = geteuid();
	}
	if (o.nr_uid_domains) {
		s->numap = o.nr_uid_domains;
		s->umap = calloc(s->numap, sizeof(*s->umap));
		if (!s->umap)
			goto fail_errno;
		memcpy(s->umap, o.uid_domains, s->numap * sizeof(*s->umap));
	}
	if (o.state_file) {
		s->state_file = strdup(o.state_file);
		if (!s->state_file)
			goto fail_errno;
	}
	err = -st_table_init(s);
	if (err)
		goto fail;
	if (!st_dom_get(s, 0, true))
		goto fail_errno;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->kickfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->epfd < 0 || s->kickfd < 0)
		goto fail_errno;
	ev.data.ptr = KICK_TAG;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->kickfd, &ev) != 0)
		goto fail_errno;
	err = s->state_file ? -st_state_load(s) : ENOENT;
	if (err == ENOENT)
		err = -st_tree_init(s);
	if (err) {
		st_log(s, LOG_ERR, "cannot load the state file %s: %s", s->state_file,
		       err == EBADMSG ? "corrupt" : strerror(err));
		goto fail;
	}
	s->dirty = false;
	if (o.path) {
		err = -listen_on(s, o.path);
		if (err) {
			st_log(s, LOG_ERR, "cannot listen on %s: %s", o.path, strerror(err));
			goto fail;
		}
		st_log(s, LOG_INFO, "listening on %s", o.path);
	}
	return s;

fail_errno:
	err = errno ? errno : ENOMEM;
fail:
	store_destroy(s, false);
	errno = err;
	return NULL;
}

void sdrv_store_free(struct sdrv_store *s)
{
	if (s)
		store_destroy(s, true);
}
