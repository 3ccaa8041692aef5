/* SPDX-License-Identifier: MIT */
/* Raw xenstore-wire clients for the store's tests (see wire.h). */
#define _GNU_SOURCE
#include "wire.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../common/tutil.h"

__attribute__((format(printf, 1, 2), noreturn)) static void w_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL (wire): ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(TU_FAIL);
}

static uint64_t limit_ms(void)
{
	return tu_under_valgrind() ? 200000 : 20000;
}

void w_attach(struct cli *c, int fd, struct sdrv_store *s)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->s = s;
	c->next_req = 1;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

void w_open(struct cli *c, struct sdrv_store *s, uint32_t domid)
{
	int fd = sdrv_store_connect(s, domid);

	if (fd < 0)
		w_fail("sdrv_store_connect(%u): %s", domid, strerror(-fd));
	w_attach(c, fd, s);
}

int w_connect_path(const char *path, int ms)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	uint64_t end = tu_now_ns() + (uint64_t)ms * 1000000u;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, path);
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return -1;
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		close(fd);
		if (tu_now_ns() > end)
			return -1;
		usleep(10000);
	}
}

void w_events_clear(struct cli *c)
{
	for (size_t i = 0; i < c->nevents; i++)
		free(c->events[i]);
	c->nevents = 0;
}

void w_close(struct cli *c)
{
	w_events_clear(c);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

void w_pump(struct sdrv_store *s)
{
	for (int i = 0; i < 8; i++) {
		int r = sdrv_store_run(s, 0);

		if (r < 0)
			w_fail("sdrv_store_run: %s", strerror(-r));
	}
}

void w_send_raw(struct cli *c, const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t end = tu_now_ns() + limit_ms() * 1000000u;

	while (n) {
		ssize_t k = send(c->fd, b, n, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (k > 0) {
			b += k;
			n -= (size_t)k;
			continue;
		}
		if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			c->closed = 1;
			return; /* the store closed us: the caller checks */
		}
		if (c->s)
			w_pump(c->s);
		else
			usleep(1000);
		if (tu_now_ns() > end)
			w_fail("cannot send a request");
	}
}

uint32_t w_send(struct cli *c, uint32_t type, uint32_t tx, const void *p, size_t n)
{
	unsigned char buf[16 + 2 * SDRV_XS_PAYLOAD_MAX];
	struct sdrv_xs_msg h = {
	    .type = type, .req_id = c->next_req++, .tx_id = tx, .len = (uint32_t)n};

	if (n > 2 * SDRV_XS_PAYLOAD_MAX)
		w_fail("test payload too big");
	memcpy(buf, &h, 16);
	if (n)
		memcpy(buf + 16, p, n);
	w_send_raw(c, buf, 16 + n);
	return h.req_id;
}

static char *render_payload(const struct sdrv_xs_msg *h, const char *p)
{
	char *out = malloc((size_t)h->len + 32);
	size_t o = 0;

	if (!out)
		w_fail("malloc");
	if (h->type == SDRV_XS_ERROR) {
		out[o++] = '!';
		for (uint32_t i = 0; i < h->len && p[i]; i++)
			out[o++] = p[i];
	} else {
		for (uint32_t i = 0; i < h->len; i++)
			out[o++] = p[i] ? p[i] : '|';
	}
	out[o] = '\0';
	return out;
}

/* Parse one buffered message into m; 1 if one was there. */
static int take(struct cli *c, struct wmsg *m)
{
	struct sdrv_xs_msg h;

	if (c->in_len < 16)
		return 0;
	memcpy(&h, c->in, 16);
	if (h.len > SDRV_XS_PAYLOAD_MAX)
		w_fail("the store sent a %u-byte payload", h.len);
	if (c->in_len < 16 + h.len)
		return 0;
	m->h = h;
	memcpy(m->p, c->in + 16, h.len);
	m->p[h.len] = '\0';
	memmove(c->in, c->in + 16 + h.len, c->in_len - 16 - h.len);
	c->in_len -= 16 + h.len;
	return 1;
}

/* Read what is there; 1 if bytes came. */
static int fill(struct cli *c, int wait_ms)
{
	ssize_t n;

	if (c->closed || c->in_len == sizeof(c->in))
		return 0;
	n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);
	if (n > 0) {
		c->in_len += (size_t)n;
		return 1;
	}
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
		c->closed = 1;
		return 0;
	}
	if (wait_ms) {
		struct pollfd pfd = {.fd = c->fd, .events = POLLIN};

		(void)poll(&pfd, 1, wait_ms);
	}
	return 0;
}

static void queue_event(struct cli *c, const struct wmsg *m)
{
	if (m->h.req_id != 0 || m->h.tx_id != 0)
		w_fail("watch event with req_id %u tx_id %u", m->h.req_id, m->h.tx_id);
	if (c->nevents == W_MAX_EVENTS)
		w_fail("too many events queued in the test client");
	c->events[c->nevents++] = render_payload(&m->h, m->p);
}

int w_recv(struct cli *c, struct wmsg *m)
{
	uint64_t end = tu_now_ns() + limit_ms() * 1000000u;

	for (;;) {
		while (take(c, m)) {
			if (m->h.type != SDRV_XS_WATCH_EVENT)
				return 0;
			queue_event(c, m);
		}
		if (c->closed)
			return -1;
		if (c->s) {
			int r = sdrv_store_run(c->s, 0);

			if (r < 0)
				w_fail("sdrv_store_run: %s", strerror(-r));
		}
		if (!fill(c, c->s ? 0 : 20) && c->s) {
			struct pollfd pfd = {.fd = sdrv_store_fd(c->s), .events = POLLIN};

			(void)poll(&pfd, 1, 1);
		}
		if (tu_now_ns() > end)
			return -1;
	}
}

const char *w_render(const struct wmsg *m)
{
	static char *ring[16];
	static unsigned k;
	char *s = render_payload(&m->h, m->p);

	k = (k + 1) % 16;
	free(ring[k]);
	ring[k] = s;
	return s;
}

const char *w_req_raw(struct cli *c, uint32_t type, uint32_t tx, const void *p, size_t n)
{
	static struct wmsg m;
	uint32_t id = w_send(c, type, tx, p, n);

	if (w_recv(c, &m) < 0)
		return c->closed ? "!closed" : "!timeout";
	if (m.h.req_id != id || m.h.tx_id != tx)
		w_fail("reply req_id %u tx_id %u to request %u tx %u", m.h.req_id, m.h.tx_id, id,
		       tx);
	if (m.h.type != type && m.h.type != SDRV_XS_ERROR)
		w_fail("reply type %u to request type %u", m.h.type, type);
	return w_render(&m);
}

const char *w_req(struct cli *c, uint32_t type, uint32_t tx, int nstr, ...)
{
	char buf[2 * SDRV_XS_PAYLOAD_MAX];
	size_t n = 0;
	va_list ap;

	va_start(ap, nstr);
	for (int i = 0; i < nstr; i++) {
		const char *s = va_arg(ap, const char *);
		size_t l = strlen(s) + 1;

		if (n + l > sizeof(buf))
			w_fail("test payload too big");
		memcpy(buf + n, s, l);
		n += l;
	}
	va_end(ap);
	return w_req_raw(c, type, tx, buf, n);
}

const char *w_read(struct cli *c, uint32_t tx, const char *path)
{
	return w_req(c, SDRV_XS_READ, tx, 1, path);
}

const char *w_write(struct cli *c, uint32_t tx, const char *path, const char *value)
{
	char buf[2 * SDRV_XS_PAYLOAD_MAX];
	size_t pl = strlen(path) + 1, vl = strlen(value);

	if (pl + vl > sizeof(buf))
		w_fail("test payload too big");
	memcpy(buf, path, pl);
	memcpy(buf + pl, value, vl);
	return w_req_raw(c, SDRV_XS_WRITE, tx, buf, pl + vl);
}

const char *w_mkdir(struct cli *c, uint32_t tx, const char *path)
{
	return w_req(c, SDRV_XS_MKDIR, tx, 1, path);
}

const char *w_rm(struct cli *c, uint32_t tx, const char *path)
{
	return w_req(c, SDRV_XS_RM, tx, 1, path);
}

const char *w_dir(struct cli *c, uint32_t tx, const char *path)
{
	return w_req(c, SDRV_XS_DIRECTORY, tx, 1, path);
}

const char *w_getperms(struct cli *c, uint32_t tx, const char *path)
{
	return w_req(c, SDRV_XS_GET_PERMS, tx, 1, path);
}

const char *w_setperms(struct cli *c, uint32_t tx, const char *path, const char *perms)
{
	char buf[SDRV_XS_PAYLOAD_MAX];
	size_t pl = strlen(path) + 1, ql = strlen(perms) + 1;

	if (pl + ql > sizeof(buf))
		w_fail("test payload too big");
	memcpy(buf, path, pl);
	memcpy(buf + pl, perms, ql);
	for (size_t i = pl; i < pl + ql; i++)
		if (buf[i] == '|')
			buf[i] = '\0';
	return w_req_raw(c, SDRV_XS_SET_PERMS, tx, buf, pl + ql);
}

const char *w_watch(struct cli *c, const char *path, const char *token)
{
	return w_req(c, SDRV_XS_WATCH, 0, 2, path, token);
}

const char *w_unwatch(struct cli *c, const char *path, const char *token)
{
	return w_req(c, SDRV_XS_UNWATCH, 0, 2, path, token);
}

uint32_t w_tx_start(struct cli *c)
{
	const char *r = w_req(c, SDRV_XS_TRANSACTION_START, 0, 1, "");
	char *end;
	unsigned long id = strtoul(r, &end, 10);

	if (r[0] == '!' || strcmp(end, "|") || id == 0)
		w_fail("TRANSACTION_START answered %s", r);
	return (uint32_t)id;
}

const char *w_tx_end(struct cli *c, uint32_t tx, int commit)
{
	return w_req(c, SDRV_XS_TRANSACTION_END, tx, 1, commit ? "T" : "F");
}

/* Read and queue events until nothing more comes. */
static void gather(struct cli *c)
{
	struct wmsg m;
	int quiet = 0;

	while (quiet < 2) {
		int progress = 0;

		if (c->s)
			w_pump(c->s);
		while (fill(c, 0))
			progress = 1;
		while (take(c, &m)) {
			progress = 1;
			if (m.h.type != SDRV_XS_WATCH_EVENT)
				w_fail("unexpected reply (type %u) while waiting for events",
				       m.h.type);
			queue_event(c, &m);
		}
		if (!progress && !c->s)
			fill(c, 20);
		quiet = progress ? 0 : quiet + 1;
	}
}

const char *w_event(struct cli *c)
{
	static char *last;

	if (!c->nevents)
		gather(c);
	if (!c->nevents)
		return NULL;
	free(last);
	last = c->events[0];
	memmove(c->events, c->events + 1, (c->nevents - 1) * sizeof(c->events[0]));
	c->nevents--;
	return last;
}

size_t w_nevents(struct cli *c)
{
	gather(c);
	return c->nevents;
}
