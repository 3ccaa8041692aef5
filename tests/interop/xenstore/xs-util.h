/* SPDX-License-Identifier: MIT */
/*
 * Raw xenstore wire messages for the interop helpers (xs-wire, xs-proxy,
 * xs-libxs), built on Xen's own <xen/io/xs_wire.h> from libxen-dev rather
 * than on the project's copy, so that the tests check the store against
 * Xen's definitions.
 */
#ifndef SDRV_TESTS_XS_UTIL_H
#define SDRV_TESTS_XS_UTIL_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include <xen/io/xs_wire.h>

/* One message: the header and its payload with a NUL added after it. */
struct xsu_msg {
	struct xsd_sockmsg hdr;
	char body[XENSTORE_PAYLOAD_MAX + 1];
};

/* A timeout in milliseconds, multiplied by 20 under valgrind. */
int xsu_ms(int ms);

/* Connect to a unix stream socket: the descriptor, or a negative errno. */
int xsu_connect(const char *path);

/* Try to connect every 20 ms until it works or `timeout_ms` passed:
 * 0, or a negative errno. */
int xsu_wait_socket(const char *path, int timeout_ms);

/* Write all of `len` bytes (MSG_NOSIGNAL): 0 or a negative errno. */
int xsu_write_all(int fd, const void *buf, size_t len);

/* Send one message with `len` payload bytes (no limit is checked, so a
 * test can send oversized ones): 0 or a negative errno. */
int xsu_send(int fd, uint32_t type, uint32_t req_id, uint32_t tx_id, const void *payload,
	     size_t len);

/* Build a payload of NUL-terminated strings: "a\0b\0...". The list ends
 * with NULL. Returns the length, or 0 if it does not fit. */
size_t xsu_strs(char *buf, size_t size, ...) __attribute__((sentinel));

/*
 * Receive one message within `timeout_ms` (-1: no limit). Returns 0;
 * -ETIMEDOUT; -ECONNRESET at end of file (or on a reset connection);
 * -E2BIG if the header announces more than XENSTORE_PAYLOAD_MAX bytes (the
 * header is in m->hdr, the payload is left unread); another negative errno.
 */
int xsu_recv(int fd, struct xsu_msg *m, int timeout_ms);

/* Whether `m` is an error reply whose payload is one of Xen's error
 * names followed by exactly one NUL. */
int xsu_is_known_error(const struct xsu_msg *m);

/* Whether `m` is an error reply naming `name` (e.g. "ENOENT"). */
int xsu_is_error(const struct xsu_msg *m, const char *name);

/* A printable name for a message type ("READ", ..., or the number). */
const char *xsu_type_name(uint32_t type, char *buf, size_t size);

/* Escape `len` bytes for a log line: printable ASCII as is (and '\\' as
 * "\\\\"), NUL as "\\0", anything else as "\\xNN". Truncates to fit
 * `size` (which must be at least 1); returns `out`. */
char *xsu_escape(const void *in, size_t len, char *out, size_t size);

#endif
