/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "xs-util.h"

#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../../common/tutil.h"

int xsu_ms(int ms)
{
	return tu_under_valgrind() ? ms * 20 : ms;
}

int xsu_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int xsu_wait_socket(const char *path, int timeout_ms)
{
	uint64_t end = tu_now_ns() + (uint64_t)timeout_ms * 1000000u;
	struct timespec ts = {0, 20 * 1000 * 1000};
	int fd;

	for (;;) {
		fd = xsu_connect(path);
		if (fd >= 0) {
			close(fd);
			return 0;
		}
		if (tu_now_ns() >= end)
			return fd;
		nanosleep(&ts, NULL);
	}
}

int xsu_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int xsu_send(int fd, uint32_t type, uint32_t req_id, uint32_t tx_id, const void *payload,
	     size_t len)
{
	struct xsd_sockmsg h = {type, req_id, tx_id, (uint32_t)len};
	char buf[sizeof(h) + XENSTORE_PAYLOAD_MAX];
	int err;

	/* One write when it fits, as clients do; two otherwise. */
	if (len <= XENSTORE_PAYLOAD_MAX) {
		memcpy(buf, &h, sizeof(h));
		if (len)
			memcpy(buf + sizeof(h), payload, len);
		return xsu_write_all(fd, buf, sizeof(h) + len);
	}
	err = xsu_write_all(fd, &h, sizeof(h));
	return err ? err : xsu_write_all(fd, payload, len);
}

size_t xsu_strs(char *buf, size_t size, ...)
{
	va_list ap;
	const char *s;
	size_t len = 0;

	va_start(ap, size);
	while ((s = va_arg(ap, const char *)) != NULL) {
		size_t n = strlen(s) + 1;
		if (n > size - len) {
			va_end(ap);
			return 0;
		}
		memcpy(buf + len, s, n);
		len += n;
	}
	va_end(ap);
	return len;
}

/* Read exactly `len` bytes before the deadline (ns, 0: none). */
static int read_exact(int fd, void *buf, size_t len, uint64_t deadline)
{
	char *p = buf;

	while (len) {
		ssize_t n;

		if (deadline) {
			struct pollfd pfd = {.fd = fd, .events = POLLIN};
			uint64_t now = tu_now_ns();
			int r;

			if (now >= deadline)
				return -ETIMEDOUT;
			r = poll(&pfd, 1, (int)((deadline - now) / 1000000u) + 1);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return -errno;
			if (r == 0)
				continue;
		}
		n = read(fd, p, len);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return errno == ECONNRESET ? -ECONNRESET : -errno;
		}
		if (n == 0)
			return -ECONNRESET;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int xsu_recv(int fd, struct xsu_msg *m, int timeout_ms)
{
	uint64_t deadline = timeout_ms < 0 ? 0 : tu_now_ns() + (uint64_t)timeout_ms * 1000000u;
	int err;

	err = read_exact(fd, &m->hdr, sizeof(m->hdr), deadline);
	if (err)
		return err;
	if (m->hdr.len > XENSTORE_PAYLOAD_MAX)
		return -E2BIG;
	err = read_exact(fd, m->body, m->hdr.len, deadline);
	if (err)
		return err;
	m->body[m->hdr.len] = '\0';
	return 0;
}

int xsu_is_known_error(const struct xsu_msg *m)
{
	size_t i;

	if (m->hdr.type != XS_ERROR || m->hdr.len < 2 || m->body[m->hdr.len - 1] != '\0' ||
	    strlen(m->body) != m->hdr.len - 1)
		return 0;
	for (i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
		if (strcmp(m->body, xsd_errors[i].errstring) == 0)
			return 1;
	return 0;
}

int xsu_is_error(const struct xsu_msg *m, const char *name)
{
	return xsu_is_known_error(m) && strcmp(m->body, name) == 0;
}

const char *xsu_type_name(uint32_t type, char *buf, size_t size)
{
	static const char *const names[] = {
	    [XS_CONTROL] = "CONTROL",
	    [XS_DIRECTORY] = "DIRECTORY",
	    [XS_READ] = "READ",
	    [XS_GET_PERMS] = "GET_PERMS",
	    [XS_WATCH] = "WATCH",
	    [XS_UNWATCH] = "UNWATCH",
	    [XS_TRANSACTION_START] = "TRANSACTION_START",
	    [XS_TRANSACTION_END] = "TRANSACTION_END",
	    [XS_INTRODUCE] = "INTRODUCE",
	    [XS_RELEASE] = "RELEASE",
	    [XS_GET_DOMAIN_PATH] = "GET_DOMAIN_PATH",
	    [XS_WRITE] = "WRITE",
	    [XS_MKDIR] = "MKDIR",
	    [XS_RM] = "RM",
	    [XS_SET_PERMS] = "SET_PERMS",
	    [XS_WATCH_EVENT] = "WATCH_EVENT",
	    [XS_ERROR] = "ERROR",
	    [XS_IS_DOMAIN_INTRODUCED] = "IS_DOMAIN_INTRODUCED",
	    [XS_RESUME] = "RESUME",
	    [XS_SET_TARGET] = "SET_TARGET",
	    [XS_RESET_WATCHES] = "RESET_WATCHES",
	    [XS_DIRECTORY_PART] = "DIRECTORY_PART",
	};

	if (type < sizeof(names) / sizeof(names[0]) && names[type])
		return names[type];
	snprintf(buf, size, "%u", type);
	return buf;
}

char *xsu_escape(const void *in, size_t len, char *out, size_t size)
{
	const unsigned char *p = in;
	size_t o = 0, i;

	for (i = 0; i < len; i++) {
		char tmp[5];
		size_t n;

		if (p[i] == '\\')
			n = (size_t)snprintf(tmp, sizeof(tmp), "\\\\");
		else if (p[i] == 0)
			n = (size_t)snprintf(tmp, sizeof(tmp), "\\0");
		else if (p[i] < 0x20 || p[i] > 0x7e)
			n = (size_t)snprintf(tmp, sizeof(tmp), "\\x%02x", p[i]);
		else
			n = (size_t)snprintf(tmp, sizeof(tmp), "%c", p[i]);
		if (o + n + 1 > size)
			break;
		memcpy(out + o, tmp, n);
		o += n;
	}
	out[o] = '\0';
	return out;
}
