/* SPDX-License-Identifier: MIT */
/*
 * Raw xenstore-wire clients for the store's tests: each one a socket to an
 * in-process store (sdrv_store_connect()) or to a daemon, speaking bytes
 * the way Xen's clients do, with nothing of the library's own client.
 *
 * With an in-process store (cli.s set) the helpers run the store
 * themselves between sending and receiving (one thread, deterministic:
 * once sdrv_store_run() returned, everything the store could send is in
 * the socket). Against a daemon (cli.s NULL) they wait on the socket.
 *
 * Replies are rendered as strings: payload NULs as '|', errors as
 * "!ENAME" (e.g. "!ENOENT"), so tests compare with ck_assert_str_eq().
 */
#ifndef SDRV_TESTS_STORE_WIRE_H
#define SDRV_TESTS_STORE_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include <splitdrv/proto/xs_wire.h>
#include <splitdrv/store.h>

#define W_MAX_EVENTS 4096

struct wmsg {
	struct sdrv_xs_msg h;
	char p[SDRV_XS_PAYLOAD_MAX + 1]; /* NUL-terminated for convenience */
};

struct cli {
	int fd;
	struct sdrv_store *s; /* NULL: the peer is another process */
	uint32_t next_req;
	unsigned char in[2 * (SDRV_XS_PAYLOAD_MAX + 16)];
	size_t in_len;
	char *events[W_MAX_EVENTS]; /* "path|token|", oldest first */
	size_t nevents;
	int closed; /* the peer closed the connection */
};

/* A client of an in-process store as domain `domid`. */
void w_open(struct cli *c, struct sdrv_store *s, uint32_t domid);
/* A client on a connected socket (a daemon's). */
void w_attach(struct cli *c, int fd, struct sdrv_store *s);
/* Connect to a unix socket, retrying for up to `ms` milliseconds; -1 on failure. */
int w_connect_path(const char *path, int ms);
void w_close(struct cli *c);

/* Run an in-process store until it has nothing left to do. */
void w_pump(struct sdrv_store *s);

/* Send raw bytes. */
void w_send_raw(struct cli *c, const void *p, size_t n);
/* Send one request; returns its req_id. */
uint32_t w_send(struct cli *c, uint32_t type, uint32_t tx, const void *p, size_t n);
/* Receive the next reply (events are queued); 0, or -1 if the connection
 * closed or nothing came within the time limit. */
int w_recv(struct cli *c, struct wmsg *m);

/* A request and its reply, rendered. The strings are each sent with a NUL. */
const char *w_req(struct cli *c, uint32_t type, uint32_t tx, int nstr, ...);
/* A request with a raw payload, reply rendered. */
const char *w_req_raw(struct cli *c, uint32_t type, uint32_t tx, const void *p, size_t n);

const char *w_read(struct cli *c, uint32_t tx, const char *path);
const char *w_write(struct cli *c, uint32_t tx, const char *path, const char *value);
const char *w_mkdir(struct cli *c, uint32_t tx, const char *path);
const char *w_rm(struct cli *c, uint32_t tx, const char *path);
const char *w_dir(struct cli *c, uint32_t tx, const char *path);
const char *w_getperms(struct cli *c, uint32_t tx, const char *path);
/* perms: "n0|r5" style, '|'-separated */
const char *w_setperms(struct cli *c, uint32_t tx, const char *path, const char *perms);
const char *w_watch(struct cli *c, const char *path, const char *token);
const char *w_unwatch(struct cli *c, const char *path, const char *token);
/* Start a transaction; returns its id (fails the test on an error). */
uint32_t w_tx_start(struct cli *c);
const char *w_tx_end(struct cli *c, uint32_t tx, int commit);

/* The next watch event "path|token|" (after pumping), or NULL if none. */
const char *w_event(struct cli *c);
/* Drop the queued events. */
void w_events_clear(struct cli *c);
/* Number of events that arrived so far (after pumping). */
size_t w_nevents(struct cli *c);

/* Render a reply as the helpers do (rotating static buffers). */
const char *w_render(const struct wmsg *m);

#endif
