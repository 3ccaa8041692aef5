/* SPDX-License-Identifier: MIT */
/*
 * The store client: the xenstore wire protocol over a stream socket or a
 * xenbus device, without libxenstore. See include/splitdrv/xs.h.
 *
 * Shape: one non-blocking descriptor to the server, an output buffer
 * (requests wait there while the server does not read), one input buffer
 * holding at most a few messages, a list of requests in flight matched by
 * req_id, and a bounded queue of watch events with a hash for coalescing.
 * sdrv_xs_fd() is an epoll set holding the server descriptor and an
 * eventfd ("kick") that is readable while work is queued, so a caller that
 * only polls that one descriptor never sleeps on queued work.
 *
 * The server is not trusted: every header is checked (length, type,
 * req_id) before anything is used, and any violation moves the connection
 * into a sticky broken state with a reason.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <splitdrv/xs.h>

#include "xs-internal.h"

#define HDR_SIZE ((size_t)sizeof(struct sdrv_xs_msg))
#define MSG_MAX	 (HDR_SIZE + SDRV_XS_PAYLOAD_MAX)
/* Input buffer: several messages per read() on a busy connection. */
#define IN_SIZE (4 * MSG_MAX)
/* Messages parsed per sdrv_xs_process() before handing back to the loop. */
#define PROCESS_BUDGET 64
/* Bounds of the DIRECTORY_PART fallback. */
#define DIR_PART_MAX_BYTES    (1u << 20)
#define DIR_PART_MAX_RESTARTS 8

struct xs_watch {
	struct xs_watch *next;
	char *path;
	char *token;
	sdrv_xs_watch_cb cb;
	void *ctx;
	bool overflow; /* an overflow event is due */
};

struct xs_event {
	struct xs_event *next, *prev; /* FIFO */
	struct xs_event *hnext;	      /* hash chain */
	struct xs_watch *w;
	uint32_t hash;
	char path[]; /* NUL-terminated */
};

struct xs_req {
	struct xs_req *next;
	uint32_t req_id;
	uint32_t type;
	bool async;
	bool done;
	int err;
	char *reply; /* malloc'd, NUL added */
	size_t rlen;
	sdrv_xs_done_cb cb;
	void *ctx;
};

struct xs_hook {
	sdrv_xs_hook_fn fn;
	void *ctx;
};

struct sdrv_xs {
	int fd;
	int epfd;
	int kickfd;
	bool is_sock;
	bool pollout; /* EPOLLOUT registered */

	int timeout_ms;
	uint32_t max_events;
	uint32_t max_pending;
	void (*log)(void *ctx, int level, const char *msg);
	void *log_ctx;

	int err; /* positive errno once broken */
	bool err_reported;
	char reason[192];

	unsigned char *in;
	size_t in_len;
	unsigned char *out;
	size_t out_len, out_cap;

	struct xs_req *reqs, *reqs_tail;
	uint32_t nr_async;
	uint32_t next_req_id;

	struct xs_watch *watches;
	struct xs_watch *dead; /* removed during sdrv_xs_process(), freed at its end */
	struct xs_event *ev_head, *ev_tail;
	struct xs_event **buckets;
	uint32_t nr_buckets; /* power of two */
	uint32_t nr_events;
	uint32_t nr_overflow;
	uint32_t seed;

	struct xs_hook *hooks;
	unsigned int nr_hooks, cap_hooks;

	bool in_process;
	bool rerun; /* sdrv_xs_kick(): run the hooks again */
};

/* ------------------------------------------------------------------------ */
/* Small helpers */

static void xs_log(struct sdrv_xs *xs, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void xs_log(struct sdrv_xs *xs, int level, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	if (!xs->log)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	xs->log(xs->log_ctx, level, buf);
}

static void xs_kick_set(struct sdrv_xs *xs)
{
	uint64_t one = 1;
	ssize_t n = write(xs->kickfd, &one, sizeof(one));
	(void)n; /* EAGAIN: already readable */
}

static void xs_kick_clear(struct sdrv_xs *xs)
{
	uint64_t v;
	ssize_t n = read(xs->kickfd, &v, sizeof(v));
	(void)n;
}

void sdrv_xs_logf(struct sdrv_xs *xs, int level, const char *fmt, ...)
{
	char buf[320];
	va_list ap;

	if (!xs->log)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	xs->log(xs->log_ctx, level, buf);
}

void sdrv_xs_kick(struct sdrv_xs *xs)
{
	xs->rerun = true;
	xs_kick_set(xs);
}

uint64_t sdrv_xs_unique(void)
{
	static _Atomic uint64_t counter;
	return atomic_fetch_add(&counter, 1) + 1;
}

static void xs_break(struct sdrv_xs *xs, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Enter the sticky broken state (the first reason wins). */
static void xs_break(struct sdrv_xs *xs, int err, const char *fmt, ...)
{
	va_list ap;

	if (xs->err)
		return;
	xs->err = err;
	va_start(ap, fmt);
	vsnprintf(xs->reason, sizeof(xs->reason), fmt, ap);
	va_end(ap);
	xs_log(xs, LOG_ERR, "store connection broken: %s", xs->reason);
	/* The server descriptor leaves the poll set (EOF would keep it readable
	 * forever); the kick reports the break once. */
	epoll_ctl(xs->epfd, EPOLL_CTL_DEL, xs->fd, NULL);
	xs_kick_set(xs);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint32_t hash_event(const struct sdrv_xs *xs, const struct xs_watch *w, const char *path)
{
	uint32_t h = 2166136261u ^ xs->seed;
	uintptr_t p = (uintptr_t)w;

	for (size_t i = 0; i < sizeof(p); i++) {
		h ^= (uint8_t)(p >> (8 * i));
		h *= 16777619u;
	}
	for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
		h ^= *c;
		h *= 16777619u;
	}
	return h;
}

/* ------------------------------------------------------------------------ */
/* Strict numbers and permissions (also used by the xenbus layer) */

SDRV_API int sdrv_xs_parse_uint(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	bool range = false;

	if (!s || len == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		unsigned int d;
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		d = (unsigned int)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			range = true;
		else
			v = v * 10 + d;
	}
	if (range || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

SDRV_API int sdrv_xs_perm_parse(const char *s, struct sdrv_xs_perm *perm)
{
	uint64_t v;
	enum sdrv_xs_perm_access a;

	if (!s || !perm)
		return -EINVAL;
	switch (s[0]) {
	case 'n':
		a = SDRV_XS_PERM_NONE;
		break;
	case 'r':
		a = SDRV_XS_PERM_READ;
		break;
	case 'w':
		a = SDRV_XS_PERM_WRITE;
		break;
	case 'b':
		a = SDRV_XS_PERM_BOTH;
		break;
	default:
		return -EINVAL;
	}
	if (sdrv_xs_parse_uint(s + 1, strlen(s + 1), UINT16_MAX, &v) < 0)
		return -EINVAL;
	perm->access = a;
	perm->domid = (sdrv_domid_t)v;
	return 0;
}

SDRV_API int sdrv_xs_perm_format(const struct sdrv_xs_perm *perm, char *buf, size_t size)
{
	static const char letters[] = "nrwb";
	int n;

	if (!perm || (unsigned int)perm->access > 3)
		return -EINVAL;
	n = snprintf(buf, size, "%c%u", letters[perm->access], (unsigned int)perm->domid);
	if (n < 0 || (size_t)n >= size)
		return -ENOSPC;
	return n;
}

/* ------------------------------------------------------------------------ */
/* Output */

static void xs_update_pollout(struct sdrv_xs *xs)
{
	bool want = xs->out_len > 0;
	struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0u)};

	if (xs->err || want == xs->pollout)
		return;
	ev.data.fd = xs->fd;
	if (epoll_ctl(xs->epfd, EPOLL_CTL_MOD, xs->fd, &ev) == 0)
		xs->pollout = want;
}

/* Write what the server will take now. */
static void xs_flush(struct sdrv_xs *xs)
{
	while (xs->out_len > 0 && !xs->err) {
		ssize_t n;
		if (xs->is_sock)
			n = send(xs->fd, xs->out, xs->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
		else
			n = write(xs->fd, xs->out, xs->out_len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			xs_break(xs, ECONNRESET, "sending: %s", strerror(errno));
			return;
		}
		memmove(xs->out, xs->out + n, xs->out_len - (size_t)n);
		xs->out_len -= (size_t)n;
	}
	xs_update_pollout(xs);
}

struct part {
	const void *p;
	size_t n;
};

/* Append one message to the output buffer. */
static int xs_queue_msg(struct sdrv_xs *xs, uint32_t type, uint32_t req_id, uint32_t tx,
			const struct part *parts, unsigned int nparts)
{
	struct sdrv_xs_msg hdr = {.type = type, .req_id = req_id, .tx_id = tx, .len = 0};
	size_t len = 0;

	for (unsigned int i = 0; i < nparts; i++) {
		if (parts[i].n > SDRV_XS_PAYLOAD_MAX - len)
			return -E2BIG;
		len += parts[i].n;
	}
	hdr.len = (uint32_t)len;
	if (xs->out_cap - xs->out_len < HDR_SIZE + len) {
		size_t cap = xs->out_cap ? xs->out_cap : MSG_MAX;
		unsigned char *p;
		while (cap - xs->out_len < HDR_SIZE + len)
			cap *= 2;
		p = realloc(xs->out, cap);
		if (!p)
			return -ENOMEM;
		xs->out = p;
		xs->out_cap = cap;
	}
	memcpy(xs->out + xs->out_len, &hdr, HDR_SIZE);
	xs->out_len += HDR_SIZE;
	for (unsigned int i = 0; i < nparts; i++) {
		if (parts[i].n)
			memcpy(xs->out + xs->out_len, parts[i].p, parts[i].n);
		xs->out_len += parts[i].n;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Requests */

static uint32_t xs_new_req_id(struct sdrv_xs *xs)
{
	for (;;) {
		uint32_t id = xs->next_req_id++;
		bool used = false;
		if (id == 0)
			continue;
		for (struct xs_req *r = xs->reqs; r; r = r->next)
			if (r->req_id == id) {
				used = true;
				break;
			}
		if (!used)
			return id;
	}
}

static void xs_req_unlink(struct sdrv_xs *xs, struct xs_req *req)
{
	struct xs_req **pp = &xs->reqs, *prev = NULL;

	while (*pp && *pp != req) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (!*pp)
		return;
	*pp = req->next;
	if (xs->reqs_tail == req)
		xs->reqs_tail = prev;
	if (req->async)
		xs->nr_async--;
}

static void xs_req_free(struct xs_req *req)
{
	free(req->reply);
	free(req);
}

static bool type_allowed_raw(uint32_t type)
{
	switch (type) {
	case SDRV_XS_WATCH:
	case SDRV_XS_UNWATCH:
	case SDRV_XS_RESET_WATCHES:
	case SDRV_XS_WATCH_EVENT:
	case SDRV_XS_ERROR:
		return false;
	default:
		return type < SDRV_XS_TYPE_COUNT && type != 20;
	}
}

/* Create a request and queue its message; on error nothing is left. */
static struct xs_req *xs_send(struct sdrv_xs *xs, uint32_t type, uint32_t tx,
			      const struct part *parts, unsigned int nparts, bool async, int *err)
{
	struct xs_req *req;
	int rc;

	if (xs->err) {
		*err = -xs->err;
		return NULL;
	}
	req = calloc(1, sizeof(*req));
	if (!req) {
		*err = -ENOMEM;
		return NULL;
	}
	req->type = type;
	req->async = async;
	req->req_id = xs_new_req_id(xs);
	rc = xs_queue_msg(xs, type, req->req_id, tx, parts, nparts);
	if (rc < 0) {
		free(req);
		*err = rc;
		return NULL;
	}
	if (xs->reqs_tail)
		xs->reqs_tail->next = req;
	else
		xs->reqs = req;
	xs->reqs_tail = req;
	if (async)
		xs->nr_async++;
	xs_flush(xs);
	return req;
}

/* ------------------------------------------------------------------------ */
/* Watch events */

static struct xs_watch *xs_find_watch_token(struct sdrv_xs *xs, const char *token)
{
	for (struct xs_watch *w = xs->watches; w; w = w->next)
		if (strcmp(w->token, token) == 0)
			return w;
	return NULL;
}

static void xs_event_unhash(struct sdrv_xs *xs, struct xs_event *ev)
{
	struct xs_event **pp = &xs->buckets[ev->hash & (xs->nr_buckets - 1)];

	while (*pp && *pp != ev)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = ev->hnext;
}

static void xs_event_unlink(struct sdrv_xs *xs, struct xs_event *ev)
{
	if (ev->prev)
		ev->prev->next = ev->next;
	else
		xs->ev_head = ev->next;
	if (ev->next)
		ev->next->prev = ev->prev;
	else
		xs->ev_tail = ev->prev;
	xs_event_unhash(xs, ev);
	xs->nr_events--;
}

static void xs_enqueue_event(struct sdrv_xs *xs, const char *path, const char *token)
{
	struct xs_watch *w = xs_find_watch_token(xs, token);
	struct xs_event *ev;
	uint32_t h;
	size_t plen;

	if (!w)
		return; /* unknown token: an event of a watch removed meanwhile */
	if (w->overflow)
		return; /* the overflow event covers it */
	h = hash_event(xs, w, path);
	for (ev = xs->buckets[h & (xs->nr_buckets - 1)]; ev; ev = ev->hnext)
		if (ev->hash == h && ev->w == w && strcmp(ev->path, path) == 0)
			return; /* coalesced */
	plen = strlen(path);
	if (xs->nr_events >= xs->max_events || !(ev = malloc(sizeof(*ev) + plen + 1))) {
		w->overflow = true;
		xs->nr_overflow++;
		xs_kick_set(xs);
		return;
	}
	ev->w = w;
	ev->hash = h;
	memcpy(ev->path, path, plen + 1);
	ev->next = NULL;
	ev->prev = xs->ev_tail;
	if (xs->ev_tail)
		xs->ev_tail->next = ev;
	else
		xs->ev_head = ev;
	xs->ev_tail = ev;
	ev->hnext = xs->buckets[h & (xs->nr_buckets - 1)];
	xs->buckets[h & (xs->nr_buckets - 1)] = ev;
	xs->nr_events++;
	xs_kick_set(xs);
}

/* Drop the queued events of one watch (all watches if w is NULL). */
static void xs_drop_events(struct sdrv_xs *xs, struct xs_watch *w)
{
	struct xs_event *ev = xs->ev_head;

	while (ev) {
		struct xs_event *next = ev->next;
		if (!w || ev->w == w) {
			xs_event_unlink(xs, ev);
			free(ev);
		}
		ev = next;
	}
}

static void xs_watch_free(struct sdrv_xs *xs, struct xs_watch *w)
{
	struct xs_watch **pp = &xs->watches;

	while (*pp && *pp != w)
		pp = &(*pp)->next;
	if (*pp)
		*pp = w->next;
	xs_drop_events(xs, w);
	if (w->overflow)
		xs->nr_overflow--;
	w->overflow = false;
	if (xs->in_process) {
		/* A callback may be running with this watch's token. */
		w->next = xs->dead;
		xs->dead = w;
		return;
	}
	free(w->path);
	free(w->token);
	free(w);
}

static void xs_free_dead(struct sdrv_xs *xs)
{
	while (xs->dead) {
		struct xs_watch *w = xs->dead;
		xs->dead = w->next;
		free(w->path);
		free(w->token);
		free(w);
	}
}

/* ------------------------------------------------------------------------ */
/* Input */

/* Handle one complete, length-checked message. */
static void xs_handle_msg(struct sdrv_xs *xs, const struct sdrv_xs_msg *hdr,
			  const unsigned char *payload)
{
	struct xs_req *req;

	if (hdr->type == SDRV_XS_WATCH_EVENT) {
		const char *p = (const char *)payload;
		size_t l1, nuls = 0;

		for (uint32_t i = 0; i < hdr->len; i++)
			nuls += payload[i] == 0;
		if (hdr->len < 3 || payload[hdr->len - 1] != 0 || nuls != 2 || p[0] == 0) {
			xs_break(xs, EPROTO, "malformed watch event (%u bytes)", hdr->len);
			return;
		}
		l1 = strlen(p);
		xs_enqueue_event(xs, p, p + l1 + 1);
		return;
	}
	for (req = xs->reqs; req; req = req->next)
		if (req->req_id == hdr->req_id && !req->done)
			break;
	if (!req) {
		xs_break(xs, EPROTO, "reply of type %u with unknown req_id %u", hdr->type,
			 hdr->req_id);
		return;
	}
	if (hdr->type != req->type && hdr->type != SDRV_XS_ERROR) {
		xs_break(xs, EPROTO, "reply of type %u to a request of type %u", hdr->type,
			 req->type);
		return;
	}
	req->done = true;
	if (hdr->type == SDRV_XS_ERROR) {
		req->err = -sdrv_xs_error_parse((const char *)payload, hdr->len);
	} else {
		req->reply = malloc((size_t)hdr->len + 1);
		if (!req->reply) {
			req->err = -ENOMEM;
		} else {
			if (hdr->len)
				memcpy(req->reply, payload, hdr->len);
			req->reply[hdr->len] = 0;
			req->rlen = hdr->len;
		}
	}
	if (req->async)
		xs_kick_set(xs);
}

/* Parse complete messages from the input buffer, at most `budget`, and
 * stop after the reply to `until` (what follows it stays buffered for
 * sdrv_xs_process()). Returns how many were parsed. */
static unsigned int xs_parse(struct sdrv_xs *xs, unsigned int budget, const struct xs_req *until)
{
	size_t off = 0;
	unsigned int n = 0;

	while (!xs->err && n < budget && xs->in_len - off >= HDR_SIZE && !(until && until->done)) {
		struct sdrv_xs_msg hdr;
		memcpy(&hdr, xs->in + off, HDR_SIZE);
		if (hdr.len > SDRV_XS_PAYLOAD_MAX) {
			xs_break(xs, EPROTO, "message of %u bytes (more than %u)", hdr.len,
				 SDRV_XS_PAYLOAD_MAX);
			break;
		}
		if (xs->in_len - off < HDR_SIZE + hdr.len)
			break;
		xs_handle_msg(xs, &hdr, xs->in + off + HDR_SIZE);
		off += HDR_SIZE + hdr.len;
		n++;
	}
	if (off) {
		memmove(xs->in, xs->in + off, xs->in_len - off);
		xs->in_len -= off;
	}
	return n;
}

static bool xs_complete_msg_buffered(const struct sdrv_xs *xs)
{
	struct sdrv_xs_msg hdr;

	if (xs->in_len < HDR_SIZE)
		return false;
	memcpy(&hdr, xs->in, HDR_SIZE);
	return hdr.len > SDRV_XS_PAYLOAD_MAX || xs->in_len >= HDR_SIZE + hdr.len;
}

/* One read from the server. Returns 1 if bytes came, 0 if none now. */
static int xs_read_some(struct sdrv_xs *xs)
{
	ssize_t n;

	if (xs->err || xs->in_len >= IN_SIZE)
		return 0;
	for (;;) {
		n = read(xs->fd, xs->in + xs->in_len, IN_SIZE - xs->in_len);
		if (n < 0 && errno == EINTR)
			continue;
		break;
	}
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		xs_break(xs, ECONNRESET, "receiving: %s", strerror(errno));
		return 0;
	}
	if (n == 0) {
		if (xs->in_len)
			xs_break(xs, ECONNRESET,
				 "server closed the connection inside a message (%zu bytes)",
				 xs->in_len);
		else
			xs_break(xs, ECONNRESET, "server closed the connection");
		return 0;
	}
	xs->in_len += (size_t)n;
	return 1;
}

static bool xs_has_work(const struct sdrv_xs *xs);

/* Wait for a synchronous request's reply. */
static int xs_wait_reply(struct sdrv_xs *xs, struct xs_req *req)
{
	int64_t deadline = xs->timeout_ms > 0 ? now_ms() + xs->timeout_ms : -1;

	for (;;) {
		struct pollfd pfd;
		int timeout = -1, rc;

		xs_parse(xs, UINT32_MAX, req);
		if (req->done || xs->err)
			break;
		xs_flush(xs);
		if (xs->err)
			break;
		if (deadline >= 0) {
			int64_t left = deadline - now_ms();
			if (left <= 0) {
				xs_break(xs, ECONNRESET, "no reply within %d ms", xs->timeout_ms);
				return -ETIMEDOUT;
			}
			timeout = left > INT32_MAX ? INT32_MAX : (int)left;
		}
		pfd.fd = xs->fd;
		pfd.events = POLLIN | (xs->out_len ? POLLOUT : 0);
		pfd.revents = 0;
		rc = poll(&pfd, 1, timeout);
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			xs_break(xs, ECONNRESET, "poll: %s", strerror(errno));
			break;
		}
		if (rc == 0)
			continue; /* the deadline check above decides */
		if (pfd.revents & POLLOUT)
			xs_flush(xs);
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR))
			xs_read_some(xs);
	}
	if (!req->done)
		return -xs->err;
	return 0;
}

/*
 * Send a request and wait for its reply. On success `*reply` (if not
 * NULL) takes the payload (NUL added); otherwise it is freed.
 */
static int xs_talk(struct sdrv_xs *xs, uint32_t type, uint32_t tx, const struct part *parts,
		   unsigned int nparts, char **reply, size_t *rlen)
{
	struct xs_req *req;
	int err = 0;

	if (reply)
		*reply = NULL;
	if (rlen)
		*rlen = 0;
	req = xs_send(xs, type, tx, parts, nparts, false, &err);
	if (!req)
		return err;
	err = xs_wait_reply(xs, req);
	xs_req_unlink(xs, req);
	if (err == 0)
		err = req->err;
	if (err == 0) {
		if (rlen)
			*rlen = req->rlen;
		if (reply) {
			*reply = req->reply;
			req->reply = NULL;
		}
	}
	xs_req_free(req);
	/* Events, completions, or messages read past our reply may be waiting
	 * for process(): the socket will not say so, the kick must. */
	if (xs_has_work(xs))
		xs_kick_set(xs);
	return err;
}

static int xs_talk_str(struct sdrv_xs *xs, uint32_t type, uint32_t tx, const char *s, char **reply,
		       size_t *rlen)
{
	struct part p = {s, strlen(s) + 1};
	return xs_talk(xs, type, tx, &p, 1, reply, rlen);
}

/* ------------------------------------------------------------------------ */
/* Open and close */

SDRV_API int sdrv_xs_default_path(char *buf, size_t size)
{
	const char *p = getenv("XENSTORED_PATH");
	int n;

	if (p && *p) {
		n = snprintf(buf, size, "%s", p);
	} else {
		const char *dir = getenv("XENSTORED_RUNDIR");
		n = snprintf(buf, size, "%s/socket", dir && *dir ? dir : "/var/run/xenstored");
	}
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

SDRV_API struct sdrv_xs *sdrv_xs_open_fd(int fd, const struct sdrv_xs_opts *opts)
{
	struct sdrv_xs_opts o = {0};
	struct sdrv_xs *xs;
	struct stat st;
	struct epoll_event ev = {.events = EPOLLIN};
	int flags, err;
	uint32_t nb;

	if (fd < 0) {
		errno = EBADF;
		return NULL;
	}
	if (opts && opts->sz < sizeof(opts->sz)) {
		close(fd);
		errno = EINVAL;
		return NULL;
	}
	if (opts) {
		/* A caller built against an older, shorter struct gets defaults
		 * for the newer fields. */
		memcpy(&o, opts, opts->sz < sizeof(o) ? opts->sz : sizeof(o));
		opts = &o;
	}
	xs = calloc(1, sizeof(*xs));
	if (!xs) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	xs->fd = fd;
	xs->epfd = -1;
	xs->kickfd = -1;
	xs->next_req_id = 1;
	xs->max_events = SDRV_XS_DEFAULT_MAX_EVENTS;
	xs->max_pending = SDRV_XS_DEFAULT_MAX_PENDING;
	if (opts) {
		xs->timeout_ms = opts->timeout_ms;
		if (opts->max_events)
			xs->max_events = opts->max_events;
		if (opts->max_pending)
			xs->max_pending = opts->max_pending;
		xs->log = opts->log;
		xs->log_ctx = opts->log_ctx;
	}
	if (xs->max_events > (1u << 20))
		xs->max_events = 1u << 20;
	for (nb = 16; nb < xs->max_events; nb *= 2)
		;
	xs->nr_buckets = nb;
	if (getrandom(&xs->seed, sizeof(xs->seed), GRND_NONBLOCK) != sizeof(xs->seed))
		xs->seed = (uint32_t)now_ms() ^ (uint32_t)(uintptr_t)xs;

	xs->buckets = calloc(nb, sizeof(*xs->buckets));
	xs->in = malloc(IN_SIZE);
	if (!xs->buckets || !xs->in) {
		err = ENOMEM;
		goto fail;
	}
	if (fstat(fd, &st) < 0) {
		err = errno;
		goto fail;
	}
	xs->is_sock = S_ISSOCK(st.st_mode);
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		err = errno;
		goto fail;
	}
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	xs->epfd = epoll_create1(EPOLL_CLOEXEC);
	xs->kickfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (xs->epfd < 0 || xs->kickfd < 0) {
		err = errno;
		goto fail;
	}
	ev.data.fd = fd;
	if (epoll_ctl(xs->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		err = errno;
		goto fail;
	}
	ev.data.fd = xs->kickfd;
	if (epoll_ctl(xs->epfd, EPOLL_CTL_ADD, xs->kickfd, &ev) < 0) {
		err = errno;
		goto fail;
	}
	return xs;
fail:
	if (xs->epfd >= 0)
		close(xs->epfd);
	if (xs->kickfd >= 0)
		close(xs->kickfd);
	close(fd);
	free(xs->buckets);
	free(xs->in);
	free(xs);
	errno = err;
	return NULL;
}

static int open_path(const char *path)
{
	struct stat st;
	int fd;

	if (stat(path, &st) < 0)
		return -errno;
	if (S_ISSOCK(st.st_mode)) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		if (strlen(path) >= sizeof(sa.sun_path))
			return -ENAMETOOLONG;
		memcpy(sa.sun_path, path, strlen(path) + 1);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			int err = errno;
			if (err == EINTR)
				continue;
			close(fd);
			return -err;
		}
		return fd;
	}
	fd = open(path, O_RDWR | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

SDRV_API struct sdrv_xs *sdrv_xs_open(const char *path, const struct sdrv_xs_opts *opts)
{
	char def[4096];
	int fd;

	if (path) {
		fd = open_path(path);
	} else {
		const char *env = getenv("XENSTORED_PATH");
		int rc = sdrv_xs_default_path(def, sizeof(def));
		if (rc < 0) {
			errno = -rc;
			return NULL;
		}
		fd = open_path(def);
		if (fd < 0) {
			/* libxenstore's device fallback */
			int first = fd;
			if (env && *env) {
				fd = first; /* same path: already failed */
			} else {
				fd = open_path("/dev/xen/xenbus");
				if (fd < 0)
					fd = open_path("/proc/xen/xenbus");
				if (fd < 0)
					fd = first;
			}
		}
	}
	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	return sdrv_xs_open_fd(fd, opts);
}

SDRV_API void sdrv_xs_close(struct sdrv_xs *xs)
{
	if (!xs)
		return;
	/* Complete asynchronous requests so their contexts can be freed. */
	while (xs->reqs) {
		struct xs_req *req = xs->reqs;
		xs_req_unlink(xs, req);
		if (req->async && req->cb)
			req->cb(xs, -ECANCELED, NULL, 0, req->ctx);
		xs_req_free(req);
	}
	xs->in_process = false;
	while (xs->watches)
		xs_watch_free(xs, xs->watches);
	xs_free_dead(xs);
	close(xs->fd);
	close(xs->epfd);
	close(xs->kickfd);
	free(xs->buckets);
	free(xs->in);
	free(xs->out);
	free(xs->hooks);
	free(xs);
}

/* ------------------------------------------------------------------------ */
/* Event loop */

SDRV_API int sdrv_xs_fd(const struct sdrv_xs *xs)
{
	return xs->epfd;
}

SDRV_API const char *sdrv_xs_broken(const struct sdrv_xs *xs)
{
	return xs->err ? xs->reason : NULL;
}

SDRV_API uint32_t sdrv_xs_queued_events(const struct sdrv_xs *xs)
{
	return xs->nr_events + xs->nr_overflow;
}

int sdrv_xs_hook_add(struct sdrv_xs *xs, sdrv_xs_hook_fn fn, void *ctx)
{
	if (xs->nr_hooks == xs->cap_hooks) {
		unsigned int cap = xs->cap_hooks ? xs->cap_hooks * 2 : 8;
		struct xs_hook *h = realloc(xs->hooks, cap * sizeof(*h));
		if (!h)
			return -ENOMEM;
		xs->hooks = h;
		xs->cap_hooks = cap;
	}
	xs->hooks[xs->nr_hooks].fn = fn;
	xs->hooks[xs->nr_hooks].ctx = ctx;
	xs->nr_hooks++;
	return 0;
}

void sdrv_xs_hook_del(struct sdrv_xs *xs, sdrv_xs_hook_fn fn, void *ctx)
{
	for (unsigned int i = 0; i < xs->nr_hooks; i++) {
		if (xs->hooks[i].fn == fn && xs->hooks[i].ctx == ctx) {
			memmove(&xs->hooks[i], &xs->hooks[i + 1],
				(xs->nr_hooks - i - 1) * sizeof(xs->hooks[0]));
			xs->nr_hooks--;
			return;
		}
	}
}

/* Deliver the events queued now (not those queued by the callbacks). */
static void xs_dispatch_events(struct sdrv_xs *xs)
{
	uint32_t n = xs->nr_events;

	while (n-- > 0 && xs->ev_head) {
		struct xs_event *ev = xs->ev_head;
		struct xs_watch *w = ev->w;
		xs_event_unlink(xs, ev);
		w->cb(xs, ev->path, w->token, w->ctx);
		free(ev);
	}
	/* Overflow events: one per watch. Restart the scan after each call:
	 * a callback may remove watches. */
	while (xs->nr_overflow > 0) {
		struct xs_watch *w;
		for (w = xs->watches; w && !w->overflow; w = w->next)
			;
		if (!w)
			break;
		w->overflow = false;
		xs->nr_overflow--;
		w->cb(xs, w->path, w->token, w->ctx);
	}
}

static void xs_complete(struct sdrv_xs *xs)
{
	uint32_t budget = xs->max_pending + 1;

	while (budget-- > 0) {
		struct xs_req *req;
		for (req = xs->reqs; req; req = req->next)
			if (req->async && (req->done || xs->err))
				break;
		if (!req)
			return;
		xs_req_unlink(xs, req);
		if (req->cb) {
			int err = req->done ? req->err : -xs->err;
			req->cb(xs, err, err ? NULL : req->reply, err ? 0 : req->rlen, req->ctx);
		}
		xs_req_free(req);
	}
}

static bool xs_has_work(const struct sdrv_xs *xs)
{
	if (xs->nr_events || xs->nr_overflow || xs->rerun)
		return true;
	for (const struct xs_req *r = xs->reqs; r; r = r->next)
		if (r->async && (r->done || xs->err))
			return true;
	return !xs->err && xs_complete_msg_buffered(xs);
}

SDRV_API int sdrv_xs_process(struct sdrv_xs *xs)
{
	unsigned int parsed = 0;

	if (xs->in_process)
		return -EBUSY;
	if (xs->err && xs->err_reported && !xs_has_work(xs)) {
		xs_kick_clear(xs);
		return -xs->err;
	}
	xs->in_process = true;
	xs->rerun = false;
	xs_kick_clear(xs);

	if (!xs->err) {
		xs_flush(xs);
		parsed += xs_parse(xs, PROCESS_BUDGET, NULL);
		while (!xs->err && parsed < PROCESS_BUDGET && xs_read_some(xs))
			parsed += xs_parse(xs, PROCESS_BUDGET - parsed, NULL);
	}
	xs_dispatch_events(xs);
	xs_complete(xs);
	for (unsigned int i = 0; i < xs->nr_hooks; i++)
		xs->hooks[i].fn(xs, xs->hooks[i].ctx);

	/* Readable again only if work is left (a break is reported now). */
	if (xs_has_work(xs))
		xs_kick_set(xs);
	else
		xs_kick_clear(xs);
	xs->in_process = false;
	xs_free_dead(xs);
	if (xs->err) {
		xs->err_reported = true;
		return -xs->err;
	}
	return 0;
}

SDRV_API int sdrv_xs_wait(struct sdrv_xs *xs, int timeout_ms)
{
	struct pollfd pfd = {.fd = xs->epfd, .events = POLLIN};
	int rc;

	if (xs->err && xs->err_reported && !xs_has_work(xs))
		return -xs->err;
	rc = poll(&pfd, 1, timeout_ms < 0 ? -1 : timeout_ms);
	if (rc < 0)
		return -errno;
	if (rc == 0)
		return -ETIMEDOUT;
	return sdrv_xs_process(xs);
}

/* ------------------------------------------------------------------------ */
/* Nodes */

SDRV_API int sdrv_xs_read(struct sdrv_xs *xs, uint32_t tx, const char *path, char **value,
			  size_t *len)
{
	if (!path || !value)
		return -EINVAL;
	return xs_talk_str(xs, SDRV_XS_READ, tx, path, value, len);
}

SDRV_API int sdrv_xs_write(struct sdrv_xs *xs, uint32_t tx, const char *path, const void *value,
			   size_t len)
{
	struct part p[2] = {{path, 0}, {value, len}};

	if (!path || (!value && len))
		return -EINVAL;
	p[0].n = strlen(path) + 1;
	return xs_talk(xs, SDRV_XS_WRITE, tx, p, 2, NULL, NULL);
}

SDRV_API int sdrv_xs_write_str(struct sdrv_xs *xs, uint32_t tx, const char *path, const char *value)
{
	if (!value)
		return -EINVAL;
	return sdrv_xs_write(xs, tx, path, value, strlen(value));
}

SDRV_API int sdrv_xs_vprintf(struct sdrv_xs *xs, uint32_t tx, const char *path, const char *fmt,
			     va_list ap)
{
	char buf[SDRV_XS_PAYLOAD_MAX + 1];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);

	if (n < 0)
		return -EINVAL;
	if ((size_t)n > SDRV_XS_PAYLOAD_MAX)
		return -E2BIG;
	return sdrv_xs_write(xs, tx, path, buf, (size_t)n);
}

SDRV_API int sdrv_xs_printf(struct sdrv_xs *xs, uint32_t tx, const char *path, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = sdrv_xs_vprintf(xs, tx, path, fmt, ap);
	va_end(ap);
	return rc;
}

SDRV_API int sdrv_xs_mkdir(struct sdrv_xs *xs, uint32_t tx, const char *path)
{
	if (!path)
		return -EINVAL;
	return xs_talk_str(xs, SDRV_XS_MKDIR, tx, path, NULL, NULL);
}

SDRV_API int sdrv_xs_rm(struct sdrv_xs *xs, uint32_t tx, const char *path)
{
	if (!path)
		return -EINVAL;
	return xs_talk_str(xs, SDRV_XS_RM, tx, path, NULL, NULL);
}

/* Turn `len` bytes of NUL-terminated names into the one-block array. */
static int names_to_array(const char *strings, size_t len, char ***names, unsigned int *count)
{
	size_t n = 0;
	char **arr, *copy;

	for (size_t i = 0; i < len; i++)
		n += strings[i] == 0;
	if (n > UINT32_MAX / 2)
		return -E2BIG;
	arr = malloc(n * sizeof(char *) + len + 1);
	if (!arr)
		return -ENOMEM;
	copy = (char *)(arr + n);
	if (len)
		memcpy(copy, strings, len);
	copy[len] = 0;
	for (size_t i = 0, off = 0; i < n; i++) {
		arr[i] = copy + off;
		off += strlen(copy + off) + 1;
	}
	*names = arr;
	*count = (unsigned int)n;
	return 0;
}

static int xs_directory_part(struct sdrv_xs *xs, uint32_t tx, const char *path, char ***names,
			     unsigned int *count)
{
	char *acc = NULL, gen[32] = "";
	size_t off = 0;
	unsigned int restarts = 0;
	int rc;

	for (;;) {
		char offstr[24], *reply = NULL;
		size_t rlen, glen, clen;
		struct part p[2] = {{path, strlen(path) + 1}, {offstr, 0}};

		snprintf(offstr, sizeof(offstr), "%zu", off);
		p[1].n = strlen(offstr) + 1;
		rc = xs_talk(xs, SDRV_XS_DIRECTORY_PART, tx, p, 2, &reply, &rlen);
		if (rc == -ENOSYS)
			rc = -E2BIG;
		if (rc < 0)
			break;
		glen = strnlen(reply, rlen);
		if (glen == rlen || glen == 0 || glen >= sizeof(gen)) {
			free(reply);
			xs_break(xs, EPROTO, "malformed DIRECTORY_PART reply");
			rc = -EPROTO;
			break;
		}
		if (off == 0) {
			memcpy(gen, reply, glen + 1);
		} else if (strcmp(gen, reply) != 0) {
			free(reply);
			if (++restarts > DIR_PART_MAX_RESTARTS) {
				rc = -EAGAIN;
				break;
			}
			off = 0;
			continue;
		}
		clen = rlen - glen - 1;
		if (clen == 0 || reply[rlen - 1] != 0) {
			/* no progress, or a name cut in the middle */
			free(reply);
			xs_break(xs, EPROTO, "malformed DIRECTORY_PART chunk");
			rc = -EPROTO;
			break;
		}
		if (off + clen > DIR_PART_MAX_BYTES) {
			free(reply);
			rc = -E2BIG;
			break;
		}
		{
			char *n = realloc(acc, off + clen);
			if (!n) {
				free(reply);
				rc = -ENOMEM;
				break;
			}
			acc = n;
		}
		memcpy(acc + off, reply + glen + 1, clen);
		free(reply);
		off += clen;
		/* The last chunk ends with an extra NUL (an empty name). */
		if (off == 1 || (off >= 2 && acc[off - 2] == 0)) {
			off--;
			rc = names_to_array(acc, off, names, count);
			break;
		}
	}
	free(acc);
	return rc;
}

SDRV_API int sdrv_xs_directory(struct sdrv_xs *xs, uint32_t tx, const char *path, char ***names,
			       unsigned int *count)
{
	char *reply;
	size_t rlen;
	int rc;

	if (!path || !names || !count)
		return -EINVAL;
	rc = xs_talk_str(xs, SDRV_XS_DIRECTORY, tx, path, &reply, &rlen);
	if (rc == -E2BIG)
		return xs_directory_part(xs, tx, path, names, count);
	if (rc < 0)
		return rc;
	if (rlen && reply[rlen - 1] != 0) {
		free(reply);
		xs_break(xs, EPROTO, "DIRECTORY reply not NUL-terminated");
		return -EPROTO;
	}
	rc = names_to_array(reply, rlen, names, count);
	free(reply);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Permissions */

SDRV_API int sdrv_xs_get_perms(struct sdrv_xs *xs, uint32_t tx, const char *path,
			       struct sdrv_xs_perm **perms, unsigned int *count)
{
	char *reply;
	size_t rlen, n = 0;
	struct sdrv_xs_perm *arr;
	int rc;

	if (!path || !perms || !count)
		return -EINVAL;
	rc = xs_talk_str(xs, SDRV_XS_GET_PERMS, tx, path, &reply, &rlen);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < rlen; i++)
		n += reply[i] == 0;
	if (rlen == 0 || reply[rlen - 1] != 0) {
		free(reply);
		xs_break(xs, EPROTO, "malformed GET_PERMS reply");
		return -EPROTO;
	}
	if (n > SDRV_XS_PERMS_MAX) {
		free(reply);
		return -E2BIG;
	}
	arr = calloc(n, sizeof(*arr));
	if (!arr) {
		free(reply);
		return -ENOMEM;
	}
	for (size_t i = 0, off = 0; i < n; i++) {
		if (sdrv_xs_perm_parse(reply + off, &arr[i]) < 0) {
			free(arr);
			free(reply);
			xs_break(xs, EPROTO, "malformed permission in GET_PERMS reply");
			return -EPROTO;
		}
		off += strlen(reply + off) + 1;
	}
	free(reply);
	*perms = arr;
	*count = (unsigned int)n;
	return 0;
}

SDRV_API int sdrv_xs_set_perms(struct sdrv_xs *xs, uint32_t tx, const char *path,
			       const struct sdrv_xs_perm *perms, unsigned int count)
{
	char buf[SDRV_XS_PAYLOAD_MAX];
	size_t len = 0;
	struct part p[2];

	if (!path || !perms || count == 0)
		return -EINVAL;
	if (count > SDRV_XS_PERMS_MAX)
		return -E2BIG;
	for (unsigned int i = 0; i < count; i++) {
		int n = sdrv_xs_perm_format(&perms[i], buf + len, sizeof(buf) - len);
		if (n == -ENOSPC)
			return -E2BIG;
		if (n < 0)
			return n;
		len += (size_t)n + 1;
	}
	p[0].p = path;
	p[0].n = strlen(path) + 1;
	p[1].p = buf;
	p[1].n = len;
	return xs_talk(xs, SDRV_XS_SET_PERMS, tx, p, 2, NULL, NULL);
}

/* ------------------------------------------------------------------------ */
/* Watches */

SDRV_API int sdrv_xs_watch(struct sdrv_xs *xs, const char *path, const char *token,
			   sdrv_xs_watch_cb cb, void *ctx)
{
	struct xs_watch *w;
	struct part p[2];
	int rc;

	if (!path || !token || !cb || !*path)
		return -EINVAL;
	if (xs->err)
		return -xs->err;
	if (xs_find_watch_token(xs, token))
		return -EEXIST;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->path = strdup(path);
	w->token = strdup(token);
	if (!w->path || !w->token) {
		free(w->path);
		free(w->token);
		free(w);
		return -ENOMEM;
	}
	w->cb = cb;
	w->ctx = ctx;
	/* Registered first: the initial event may come right after the reply. */
	w->next = xs->watches;
	xs->watches = w;
	p[0].p = path;
	p[0].n = strlen(path) + 1;
	p[1].p = token;
	p[1].n = strlen(token) + 1;
	rc = xs_talk(xs, SDRV_XS_WATCH, SDRV_XS_TX_NONE, p, 2, NULL, NULL);
	if (rc < 0)
		xs_watch_free(xs, w);
	return rc;
}

SDRV_API int sdrv_xs_unwatch(struct sdrv_xs *xs, const char *path, const char *token)
{
	struct xs_watch *w;
	struct part p[2];

	if (!path || !token)
		return -EINVAL;
	w = xs_find_watch_token(xs, token);
	if (!w || strcmp(w->path, path) != 0)
		return -ENOENT;
	xs_watch_free(xs, w);
	if (xs->err)
		return -xs->err;
	p[0].p = path;
	p[0].n = strlen(path) + 1;
	p[1].p = token;
	p[1].n = strlen(token) + 1;
	return xs_talk(xs, SDRV_XS_UNWATCH, SDRV_XS_TX_NONE, p, 2, NULL, NULL);
}

SDRV_API int sdrv_xs_reset_watches(struct sdrv_xs *xs)
{
	while (xs->watches)
		xs_watch_free(xs, xs->watches);
	return xs_talk_str(xs, SDRV_XS_RESET_WATCHES, SDRV_XS_TX_NONE, "", NULL, NULL);
}

/* ------------------------------------------------------------------------ */
/* Transactions */

SDRV_API int sdrv_xs_transaction_start(struct sdrv_xs *xs, uint32_t *tx)
{
	char *reply;
	size_t rlen;
	uint64_t v;
	int rc;

	if (!tx)
		return -EINVAL;
	rc = xs_talk_str(xs, SDRV_XS_TRANSACTION_START, SDRV_XS_TX_NONE, "", &reply, &rlen);
	if (rc < 0)
		return rc;
	if (rlen && reply[rlen - 1] == 0)
		rlen--;
	rc = sdrv_xs_parse_uint(reply, rlen, UINT32_MAX, &v);
	free(reply);
	if (rc < 0 || v == 0) {
		xs_break(xs, EPROTO, "malformed transaction id");
		return -EPROTO;
	}
	*tx = (uint32_t)v;
	return 0;
}

SDRV_API int sdrv_xs_transaction_end(struct sdrv_xs *xs, uint32_t tx, bool commit)
{
	if (tx == SDRV_XS_TX_NONE)
		return -EINVAL;
	return xs_talk_str(xs, SDRV_XS_TRANSACTION_END, tx, commit ? "T" : "F", NULL, NULL);
}

SDRV_API int sdrv_xs_transact(struct sdrv_xs *xs, sdrv_xs_tx_fn fn, void *ctx,
			      unsigned int max_tries)
{
	int rc = -EAGAIN;

	if (!fn)
		return -EINVAL;
	if (max_tries == 0)
		max_tries = SDRV_XS_DEFAULT_TRIES;
	for (unsigned int i = 0; i < max_tries; i++) {
		uint32_t tx;
		rc = sdrv_xs_transaction_start(xs, &tx);
		if (rc < 0)
			return rc;
		rc = fn(xs, tx, ctx);
		if (rc < 0) {
			int rc2 = sdrv_xs_transaction_end(xs, tx, false);
			if (rc == -EAGAIN && (rc2 == 0 || rc2 == -EAGAIN))
				continue;
			return rc;
		}
		rc = sdrv_xs_transaction_end(xs, tx, true);
		if (rc != -EAGAIN)
			return rc;
	}
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Domains and control */

static int talk_domid(struct sdrv_xs *xs, uint32_t type, sdrv_domid_t domid, char **reply,
		      size_t *rlen)
{
	char buf[8];
	snprintf(buf, sizeof(buf), "%u", (unsigned int)domid);
	return xs_talk_str(xs, type, SDRV_XS_TX_NONE, buf, reply, rlen);
}

SDRV_API int sdrv_xs_get_domain_path(struct sdrv_xs *xs, sdrv_domid_t domid, char **path)
{
	char *reply;
	size_t rlen;
	int rc;

	if (!path)
		return -EINVAL;
	rc = talk_domid(xs, SDRV_XS_GET_DOMAIN_PATH, domid, &reply, &rlen);
	if (rc < 0)
		return rc;
	if (rlen && reply[rlen - 1] == 0)
		rlen--;
	if (rlen == 0 || strlen(reply) != rlen) {
		free(reply);
		xs_break(xs, EPROTO, "malformed GET_DOMAIN_PATH reply");
		return -EPROTO;
	}
	*path = reply;
	return 0;
}

SDRV_API int sdrv_xs_introduce(struct sdrv_xs *xs, sdrv_domid_t domid, uint64_t mfn, uint32_t port)
{
	char a[8], b[24], c[12];
	struct part p[3];

	snprintf(a, sizeof(a), "%u", (unsigned int)domid);
	snprintf(b, sizeof(b), "%llu", (unsigned long long)mfn);
	snprintf(c, sizeof(c), "%u", (unsigned int)port);
	p[0].p = a;
	p[0].n = strlen(a) + 1;
	p[1].p = b;
	p[1].n = strlen(b) + 1;
	p[2].p = c;
	p[2].n = strlen(c) + 1;
	return xs_talk(xs, SDRV_XS_INTRODUCE, SDRV_XS_TX_NONE, p, 3, NULL, NULL);
}

SDRV_API int sdrv_xs_release(struct sdrv_xs *xs, sdrv_domid_t domid)
{
	return talk_domid(xs, SDRV_XS_RELEASE, domid, NULL, NULL);
}

SDRV_API int sdrv_xs_resume(struct sdrv_xs *xs, sdrv_domid_t domid)
{
	return talk_domid(xs, SDRV_XS_RESUME, domid, NULL, NULL);
}

SDRV_API int sdrv_xs_set_target(struct sdrv_xs *xs, sdrv_domid_t domid, sdrv_domid_t target)
{
	char a[8], b[8];
	struct part p[2];

	snprintf(a, sizeof(a), "%u", (unsigned int)domid);
	snprintf(b, sizeof(b), "%u", (unsigned int)target);
	p[0].p = a;
	p[0].n = strlen(a) + 1;
	p[1].p = b;
	p[1].n = strlen(b) + 1;
	return xs_talk(xs, SDRV_XS_SET_TARGET, SDRV_XS_TX_NONE, p, 2, NULL, NULL);
}

SDRV_API int sdrv_xs_is_domain_introduced(struct sdrv_xs *xs, sdrv_domid_t domid)
{
	char *reply;
	size_t rlen;
	int rc;

	rc = talk_domid(xs, SDRV_XS_IS_DOMAIN_INTRODUCED, domid, &reply, &rlen);
	if (rc < 0)
		return rc;
	if (rlen && reply[rlen - 1] == 0)
		rlen--;
	if (rlen == 1 && reply[0] == 'T')
		rc = 1;
	else if (rlen == 1 && reply[0] == 'F')
		rc = 0;
	else {
		xs_break(xs, EPROTO, "malformed IS_DOMAIN_INTRODUCED reply");
		rc = -EPROTO;
	}
	free(reply);
	return rc;
}

SDRV_API int sdrv_xs_control(struct sdrv_xs *xs, const char *const *argv, unsigned int argc,
			     char **reply, size_t *len)
{
	struct part p[16];
	char *r = NULL;
	size_t rl = 0;
	int rc;

	if (!argv || argc == 0 || argc > 16)
		return -EINVAL;
	for (unsigned int i = 0; i < argc; i++) {
		if (!argv[i])
			return -EINVAL;
		p[i].p = argv[i];
		p[i].n = strlen(argv[i]) + 1;
	}
	rc = xs_talk(xs, SDRV_XS_CONTROL, SDRV_XS_TX_NONE, p, argc, &r, &rl);
	if (rc < 0)
		return rc;
	if (reply)
		*reply = r;
	else
		free(r);
	if (len)
		*len = rl;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Raw and asynchronous requests */

SDRV_API int sdrv_xs_submit(struct sdrv_xs *xs, enum sdrv_xs_type type, uint32_t tx,
			    const void *payload, size_t len, sdrv_xs_done_cb cb, void *ctx)
{
	struct part p = {payload, len};
	struct xs_req *req;
	int err = 0;

	if (!type_allowed_raw(type) || (!payload && len))
		return -EINVAL;
	if (len > SDRV_XS_PAYLOAD_MAX)
		return -E2BIG;
	if (xs->err)
		return -xs->err;
	if (xs->nr_async >= xs->max_pending)
		return -EBUSY;
	req = xs_send(xs, type, tx, &p, 1, true, &err);
	if (!req)
		return err;
	req->cb = cb;
	req->ctx = ctx;
	return 0;
}

SDRV_API int sdrv_xs_read_async(struct sdrv_xs *xs, uint32_t tx, const char *path,
				sdrv_xs_done_cb cb, void *ctx)
{
	if (!path)
		return -EINVAL;
	return sdrv_xs_submit(xs, SDRV_XS_READ, tx, path, strlen(path) + 1, cb, ctx);
}

SDRV_API int sdrv_xs_write_async(struct sdrv_xs *xs, uint32_t tx, const char *path,
				 const void *value, size_t len, sdrv_xs_done_cb cb, void *ctx)
{
	char buf[SDRV_XS_PAYLOAD_MAX];
	size_t plen;

	if (!path || (!value && len))
		return -EINVAL;
	plen = strlen(path) + 1;
	if (plen > sizeof(buf) || len > sizeof(buf) - plen)
		return -E2BIG;
	memcpy(buf, path, plen);
	if (len)
		memcpy(buf + plen, value, len);
	return sdrv_xs_submit(xs, SDRV_XS_WRITE, tx, buf, plen + len, cb, ctx);
}

SDRV_API int sdrv_xs_request(struct sdrv_xs *xs, enum sdrv_xs_type type, uint32_t tx,
			     const void *payload, size_t len, char **reply, size_t *rlen)
{
	struct part p = {payload, len};

	if (!type_allowed_raw(type) || (!payload && len))
		return -EINVAL;
	return xs_talk(xs, type, tx, &p, 1, reply, rlen);
}

SDRV_API int sdrv_xs_read_uint(struct sdrv_xs *xs, uint32_t tx, const char *path, uint64_t max,
			       uint64_t *out)
{
	char *v;
	size_t len;
	int rc = sdrv_xs_read(xs, tx, path, &v, &len);

	if (rc < 0)
		return rc;
	rc = sdrv_xs_parse_uint(v, len, max, out);
	free(v);
	return rc;
}
