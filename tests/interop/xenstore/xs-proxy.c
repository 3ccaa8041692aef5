/* SPDX-License-Identifier: MIT */
/*
 * xs-proxy: a relay between xenstore clients and a store, for the interop
 * tests. It logs every message in both directions, so a test can check what
 * Xen's real clients send and what the store answers (req_id 0 from
 * libxenstore, no handshake, the CLI's implicit transactions, the
 * DIRECTORY_PART fallback, watch events with req_id = tx_id = 0), and it
 * can inject two kinds of trouble:
 *
 *   --conflict PATH=VALUE  before forwarding the first TRANSACTION_END "T"
 *                          a client sends, write VALUE to PATH on a
 *                          connection of its own: the transaction now
 *                          conflicts (if it read PATH), and a real client
 *                          must retry it.
 *   --inject [TYPE:]PATH=ACTION
 *                          answer a request of type TYPE (a number; READ
 *                          if not given) whose first string is PATH itself
 *                          instead of the store: ACTION is error:NAME (an
 *                          error reply naming NAME), type:N (an "OK" reply
 *                          of type N) or oversize (a 4097-byte reply).
 *                          This shows what a client does when a server
 *                          breaks one of the rules in xenstore-clients.md.
 *
 * usage: xs-proxy --listen SOCK --upstream SOCK [--log FILE]
 *                 [--conflict PATH=VALUE] [--inject [TYPE:]PATH=ACTION]...
 *
 * Log lines: "C<n> open", "C<n>> TYPE req=R tx=T len=L PAYLOAD" (client to
 * store), "C<n>< ..." (store or proxy to client, "(injected)" appended
 * for the proxy's own), "C<n> closed by client|store", "ACTION ...".
 * PAYLOAD is escaped: NUL as \0, other bytes outside printable ASCII as
 * \xNN. It exits 0 on SIGTERM or SIGINT.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "xs-util.h"

#define MAX_PAIRS   64
#define MAX_INJECTS 8
#define MSG_MAX	    (sizeof(struct xsd_sockmsg) + XENSTORE_PAYLOAD_MAX)

struct half {
	int fd;
	size_t used;
	char buf[MSG_MAX];
};

struct pair {
	int id;
	struct half cli; /* bytes from the client */
	struct half srv; /* bytes from the store */
};

struct inject {
	char path[256];
	char action[64];
};

static const char *upstream;
static FILE *logfp;
static struct pair *pairs[MAX_PAIRS];
static struct inject injects[MAX_INJECTS];
static int nr_injects;
static char conflict_path[256], conflict_value[256];
static int conflict_pending;
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void logmsg(int id, char dir, const struct xsd_sockmsg *h, const char *payload,
		   const char *note)
{
	static char esc[4 * XENSTORE_PAYLOAD_MAX + 1];
	char tbuf[16];

	if (!logfp)
		return;
	fprintf(logfp, "C%d%c %s req=%u tx=%u len=%u %s%s\n", id, dir,
		xsu_type_name(h->type, tbuf, sizeof(tbuf)), h->req_id, h->tx_id, h->len,
		xsu_escape(payload, h->len, esc, sizeof(esc)), note);
	fflush(logfp);
}

static void logline(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logline(const char *fmt, ...)
{
	va_list ap;

	if (!logfp)
		return;
	va_start(ap, fmt);
	vfprintf(logfp, fmt, ap);
	va_end(ap);
	fputc('\n', logfp);
	fflush(logfp);
}

static void close_pair(int i, const char *why)
{
	struct pair *p = pairs[i];

	logline("C%d closed by %s", p->id, why);
	close(p->cli.fd);
	close(p->srv.fd);
	free(p);
	pairs[i] = NULL;
}

/* Write VALUE to PATH on a connection of the proxy's own. */
static void conflict_write(void)
{
	char payload[512];
	size_t lp = strlen(conflict_path) + 1, lv = strlen(conflict_value);
	struct xsu_msg m;
	int fd = xsu_connect(upstream), err;

	memcpy(payload, conflict_path, lp);
	memcpy(payload + lp, conflict_value, lv);
	if (fd < 0) {
		logline("ACTION conflict-write %s failed: connect: %s", conflict_path,
			strerror(-fd));
		return;
	}
	err = xsu_send(fd, XS_WRITE, 0, 0, payload, lp + lv);
	if (!err)
		err = xsu_recv(fd, &m, xsu_ms(10000));
	if (err)
		logline("ACTION conflict-write %s failed: %s", conflict_path, strerror(-err));
	else
		logline("ACTION conflict-write %s=%s reply type %u %s", conflict_path,
			conflict_value, m.hdr.type, m.body);
	close(fd);
}

/* Answer the client ourselves if a request matches an --inject (its type,
 * READ unless the spec says "TYPE:PATH", and its first string). 1: handled. */
static int try_inject(struct pair *p, const struct xsd_sockmsg *h, const char *payload)
{
	int i;

	if (h->len == 0 || !memchr(payload, '\0', h->len))
		return 0;
	for (i = 0; i < nr_injects; i++) {
		const char *a = injects[i].action, *path = injects[i].path, *colon;
		struct xsd_sockmsg r = {h->type, h->req_id, h->tx_id, 0};
		char body[XENSTORE_PAYLOAD_MAX + 2];
		uint32_t type = XS_READ;
		size_t len;

		colon = strchr(path, ':');
		if (colon) {
			type = (uint32_t)strtoul(path, NULL, 0);
			path = colon + 1;
		}
		if (h->type != type || strcmp(payload, path) != 0)
			continue;
		if (strncmp(a, "error:", 6) == 0) {
			r.type = XS_ERROR;
			len = strlen(a + 6) + 1;
			memcpy(body, a + 6, len);
		} else if (strncmp(a, "type:", 5) == 0) {
			r.type = (uint32_t)strtoul(a + 5, NULL, 0);
			memcpy(body, "OK", 3);
			len = 3;
		} else { /* oversize */
			len = XENSTORE_PAYLOAD_MAX + 1;
			memset(body, 'x', len);
		}
		r.len = (uint32_t)len;
		logmsg(p->id, '<', &r, body, " (injected)");
		if (xsu_write_all(p->cli.fd, &r, sizeof(r)) == 0)
			(void)xsu_write_all(p->cli.fd, body, len);
		return 1;
	}
	return 0;
}

/*
 * Forward every complete message in `from` to `to`. Returns 0, or -1 if the
 * pair must close (a message over the limit, or a failed write).
 */
static int pump(struct pair *p, struct half *from, struct half *to, char dir)
{
	size_t off = 0;

	for (;;) {
		struct xsd_sockmsg h;
		const char *payload;
		size_t total;

		if (from->used - off < sizeof(h))
			break;
		memcpy(&h, from->buf + off, sizeof(h));
		if (h.len > XENSTORE_PAYLOAD_MAX) {
			logline("C%d%c header announces %u payload bytes: closing", p->id, dir,
				h.len);
			return -1;
		}
		total = sizeof(h) + h.len;
		if (from->used - off < total)
			break;
		payload = from->buf + off + sizeof(h);
		off += total;
		logmsg(p->id, dir, &h, payload, "");
		if (dir == '>') {
			if (try_inject(p, &h, payload))
				continue;
			if (conflict_pending && h.type == XS_TRANSACTION_END && h.len == 2 &&
			    payload[0] == 'T') {
				conflict_pending = 0;
				conflict_write();
			}
		}
		if (xsu_write_all(to->fd, payload - sizeof(h), total) != 0)
			return -1;
	}
	memmove(from->buf, from->buf + off, from->used - off);
	from->used -= off;
	return 0;
}

static void accept_one(int lfd, int *next_id)
{
	int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC), sfd, i;
	struct pair *p;

	if (cfd < 0)
		return;
	for (i = 0; i < MAX_PAIRS && pairs[i]; i++)
		;
	sfd = i < MAX_PAIRS ? xsu_connect(upstream) : -EMFILE;
	p = sfd >= 0 ? calloc(1, sizeof(*p)) : NULL;
	if (!p) {
		logline("accept: cannot relay: %s", strerror(sfd < 0 ? -sfd : ENOMEM));
		if (sfd >= 0)
			close(sfd);
		close(cfd);
		return;
	}
	p->id = (*next_id)++;
	p->cli.fd = cfd;
	p->srv.fd = sfd;
	pairs[i] = p;
	logline("C%d open", p->id);
}

static int usage(void)
{
	fprintf(stderr, "usage: xs-proxy --listen SOCK --upstream SOCK [--log FILE]\n"
			"                [--conflict PATH=VALUE] [--inject [TYPE:]PATH=ACTION]...\n"
			"ACTION: error:NAME | type:N | oversize\n");
	return 2;
}

static int split(const char *arg, char *key, size_t ksz, char *val, size_t vsz)
{
	const char *eq = strchr(arg, '=');

	if (!eq || (size_t)(eq - arg) >= ksz || strlen(eq + 1) >= vsz)
		return -1;
	memcpy(key, arg, (size_t)(eq - arg));
	key[eq - arg] = '\0';
	memcpy(val, eq + 1, strlen(eq + 1) + 1);
	return 0;
}

int main(int argc, char **argv)
{
	const char *listen_path = NULL, *log_path = NULL;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct sigaction act = {.sa_handler = on_signal};
	sigset_t block, orig;
	int lfd, i, next_id = 1;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--help") == 0) {
			usage();
			return 0;
		}
		if (!v)
			return usage();
		i++;
		if (strcmp(a, "--listen") == 0) {
			listen_path = v;
		} else if (strcmp(a, "--upstream") == 0) {
			upstream = v;
		} else if (strcmp(a, "--log") == 0) {
			log_path = v;
		} else if (strcmp(a, "--conflict") == 0) {
			if (split(v, conflict_path, sizeof(conflict_path), conflict_value,
				  sizeof(conflict_value)))
				return usage();
			conflict_pending = 1;
		} else if (strcmp(a, "--inject") == 0) {
			if (nr_injects == MAX_INJECTS ||
			    split(v, injects[nr_injects].path, sizeof(injects[0].path),
				  injects[nr_injects].action, sizeof(injects[0].action)))
				return usage();
			nr_injects++;
		} else {
			return usage();
		}
	}
	if (!listen_path || !upstream || strlen(listen_path) >= sizeof(sa.sun_path))
		return usage();
	if (log_path && !(logfp = fopen(log_path, "a"))) {
		perror(log_path);
		return 1;
	}

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &orig);
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	signal(SIGPIPE, SIG_IGN);

	memcpy(sa.sun_path, listen_path, strlen(listen_path) + 1);
	unlink(listen_path);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(lfd, 64) != 0) {
		perror("xs-proxy: listen");
		return 1;
	}

	while (!stop) {
		struct pollfd pfd[1 + 2 * MAX_PAIRS];
		int idx[1 + 2 * MAX_PAIRS];
		nfds_t n = 1;
		int r;

		pfd[0] = (struct pollfd){.fd = lfd, .events = POLLIN};
		for (i = 0; i < MAX_PAIRS; i++) {
			if (!pairs[i])
				continue;
			pfd[n] = (struct pollfd){.fd = pairs[i]->cli.fd, .events = POLLIN};
			idx[n++] = i;
			pfd[n] = (struct pollfd){.fd = pairs[i]->srv.fd, .events = POLLIN};
			idx[n++] = i;
		}
		r = ppoll(pfd, n, NULL, &orig);
		if (r < 0)
			continue; /* EINTR: a signal, checked above */
		if (pfd[0].revents & POLLIN)
			accept_one(lfd, &next_id);
		for (nfds_t k = 1; k < n; k++) {
			struct pair *p = pairs[idx[k]];
			int from_cli = (k % 2) == 1;
			struct half *from, *to;
			ssize_t got;

			if (!p || !pfd[k].revents)
				continue;
			from = from_cli ? &p->cli : &p->srv;
			to = from_cli ? &p->srv : &p->cli;
			got =
			    read(from->fd, from->buf + from->used, sizeof(from->buf) - from->used);
			if (got < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (got <= 0) {
				close_pair(idx[k], from_cli ? "client" : "store");
				continue;
			}
			from->used += (size_t)got;
			if (pump(p, from, to, from_cli ? '>' : '<') != 0)
				close_pair(idx[k], "proxy (bad message or write failure)");
		}
	}

	for (i = 0; i < MAX_PAIRS; i++)
		if (pairs[i])
			close_pair(i, "proxy (stopping)");
	close(lfd);
	unlink(listen_path);
	if (logfp)
		fclose(logfp);
	return 0;
}
