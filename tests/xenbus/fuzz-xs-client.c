/* SPDX-License-Identifier: MIT */
/*
 * Fuzz harness for the store client (libsplitdrv/xenbus/xs.c): the input
 * is everything a server sends, then end of file.
 *
 * Input: byte 0 picks options (bit 0: a tiny event queue; bit 1: a tiny
 * request limit), the rest is the server's byte stream. The client
 * registers a watch, submits an asynchronous read, makes synchronous calls
 * of several kinds, then processes until the connection breaks (the EOF
 * guarantees it does). It must never crash, leak or hang; it must end
 * broken with a reason; the asynchronous callback must run exactly once;
 * and the event queue must stay within its bound.
 *
 * Built two ways, as tests/fuzz/ does: with libFuzzer by `make
 * fuzz-xs-client` (-DSDRV_LIBFUZZER, also part of `make fuzz`), and as a
 * plain program run by `make check` on mutations of well-formed
 * conversations and random bytes from a fixed seed, scaled with
 * tu_scaled().
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <splitdrv/xs.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT 60000

static unsigned long n_inputs, n_watch_ok, n_events, n_async_ok, n_read_ok, n_dir_ok;

static void fail(const char *what)
{
	fprintf(stderr, "FAIL: %s\n", what);
	abort();
}

static void ev_cb(struct sdrv_xs *xs, const char *path, const char *token, void *ctx)
{
	(void)xs;
	(void)ctx;
	if (!path || !token || strcmp(token, "tok") != 0)
		fail("event with a bad token");
	n_events++;
}

static void done_cb(struct sdrv_xs *xs, int err, const char *payload, size_t len, void *ctx)
{
	int *calls = ctx;

	(void)xs;
	(void)len;
	if (err == 0 && !payload)
		fail("success without a payload");
	if (err == 0)
		n_async_ok++;
	(*calls)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sdrv_xs_opts o = {.sz = sizeof(o), .timeout_ms = 10000};
	struct sdrv_xs *xs;
	int sv[2], calls = 0, rc;
	char *v, **names;
	unsigned int n;
	struct sdrv_xs_perm *perms;
	uint32_t tx;

	if (size < 1 || size > MAX_INPUT)
		return 0;
	n_inputs++;
	if (data[0] & 1)
		o.max_events = 2;
	if (data[0] & 2)
		o.max_pending = 1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		fail("socketpair");
	if (size > 1 && write(sv[0], data + 1, size - 1) != (ssize_t)(size - 1))
		fail("write");
	shutdown(sv[0], SHUT_WR);
	xs = sdrv_xs_open_fd(sv[1], &o);
	if (!xs)
		fail("open");

	if (sdrv_xs_watch(xs, "/w", "tok", ev_cb, NULL) == 0)
		n_watch_ok++;
	rc = sdrv_xs_read_async(xs, 0, "/a", done_cb, &calls);
	if (rc < 0)
		calls = 1; /* not submitted: no callback due */
	if (sdrv_xs_read(xs, 0, "/r", &v, NULL) == 0) {
		n_read_ok++;
		free(v);
	}
	if (sdrv_xs_directory(xs, 0, "/d", &names, &n) == 0) {
		n_dir_ok++;
		for (unsigned int i = 0; i < n; i++)
			if (!names[i])
				fail("directory entry");
		free(names);
	}
	if (sdrv_xs_get_perms(xs, 0, "/p", &perms, &n) == 0) {
		if (n == 0)
			fail("empty permission list accepted");
		free(perms);
	}
	if (sdrv_xs_transaction_start(xs, &tx) == 0 && tx == 0)
		fail("transaction 0 accepted");
	for (int i = 0; i < 100000; i++) {
		if (sdrv_xs_queued_events(xs) > (o.max_events ? o.max_events : 1024) + 1)
			fail("event queue above its bound");
		rc = sdrv_xs_process(xs);
		if (rc < 0)
			break;
		if (rc == 0 && sdrv_xs_wait(xs, 10000) == -ETIMEDOUT)
			fail("hang: no EOF seen");
	}
	if (!sdrv_xs_broken(xs))
		fail("not broken after EOF");
	sdrv_xs_close(xs);
	if (calls != 1)
		fail("the asynchronous callback did not run exactly once");
	close(sv[0]);
	return 0;
}

#ifndef SDRV_LIBFUZZER
#include "../common/tutil.h"

struct buf {
	uint8_t b[MAX_INPUT];
	size_t n;
};

static void msg(struct buf *b, uint32_t type, uint32_t id, const void *p, size_t len)
{
	struct sdrv_xs_msg h = {type, id, 0, (uint32_t)len};

	if (b->n + sizeof(h) + len > sizeof(b->b))
		return;
	memcpy(b->b + b->n, &h, sizeof(h));
	memcpy(b->b + b->n + sizeof(h), p, len);
	b->n += sizeof(h) + len;
}

#define MSG(b, t, id, lit) msg(b, t, id, lit, sizeof(lit) - 1)

/* A well-formed conversation for the calls the harness makes. */
static void conversation(struct buf *b, uint64_t *seed)
{
	b->n = 0;
	b->b[b->n++] = (uint8_t)(tu_rand(seed) & 3);
	MSG(b, SDRV_XS_WATCH, 1, "OK\0");
	MSG(b, SDRV_XS_WATCH_EVENT, 0, "/w\0tok\0");
	MSG(b, SDRV_XS_WATCH_EVENT, 0, "/w/x\0tok\0");
	MSG(b, SDRV_XS_READ, 3, "value");
	MSG(b, SDRV_XS_READ, 2, "async");
	if (tu_rand(seed) & 1) {
		MSG(b, SDRV_XS_DIRECTORY, 4, "a\0b\0");
		MSG(b, SDRV_XS_GET_PERMS, 5, "n0\0r3\0");
		MSG(b, SDRV_XS_TRANSACTION_START, 6, "9\0");
	} else {
		MSG(b, SDRV_XS_ERROR, 4, "E2BIG\0");
		MSG(b, SDRV_XS_DIRECTORY_PART, 5, "1\0a\0");
		MSG(b, SDRV_XS_DIRECTORY_PART, 6, "1\0b\0\0");
		MSG(b, SDRV_XS_GET_PERMS, 7, "b0\0");
		MSG(b, SDRV_XS_TRANSACTION_START, 8, "12\0");
	}
	for (int i = 0; i < 20; i++)
		MSG(b, SDRV_XS_WATCH_EVENT, 0, "/w/y\0tok\0");
	MSG(b, SDRV_XS_WATCH_EVENT, 0, "/w/z\0tok\0");
}

static void mutate(struct buf *b, uint64_t *seed)
{
	unsigned int k = 1 + (unsigned int)(tu_rand(seed) % 4);

	while (k--) {
		size_t at = b->n > 1 ? 1 + tu_rand(seed) % (b->n - 1) : 0;
		switch (tu_rand(seed) % 5) {
		case 0: /* flip a byte */
			b->b[at] ^= (uint8_t)(1u << (tu_rand(seed) % 8));
			break;
		case 1: /* a random byte */
			b->b[at] = (uint8_t)tu_rand(seed);
			break;
		case 2: /* truncate */
			b->n = at;
			break;
		case 3: { /* an interesting 32-bit value */
			static const uint32_t vals[] = {0, 1, 2, 4096, 4097, 0xffffffffu, 15, 16};
			uint32_t v = vals[tu_rand(seed) % 8];
			if (at + 4 <= b->n)
				memcpy(b->b + at, &v, 4);
			break;
		}
		default: /* duplicate a slice */
			if (b->n + 64 < sizeof(b->b) && at + 32 <= b->n) {
				memmove(b->b + at + 32, b->b + at, b->n - at);
				b->n += 32;
			}
		}
	}
}

int main(void)
{
	static struct buf b;
	const char *s = getenv("SDRV_FUZZ_SEED");
	uint64_t seed = s ? strtoull(s, NULL, 0) : 0x5eed0f22ull;
	uint64_t iters = tu_scaled(3000, 60);

	tu_watchdog(300, "fuzz-xs-client");
	/* the well-formed conversation goes through */
	conversation(&b, &seed);
	LLVMFuzzerTestOneInput(b.b, b.n);
	if (n_watch_ok != 1 || n_read_ok != 1 || n_dir_ok != 1 || n_async_ok != 1 || n_events == 0)
		fail("the well-formed conversation was not understood");
	for (uint64_t i = 0; i < iters; i++) {
		if (i % 4 == 3) {
			b.n = 1 + tu_rand(&seed) % 2048;
			for (size_t j = 0; j < b.n; j++)
				b.b[j] = (uint8_t)tu_rand(&seed);
		} else {
			conversation(&b, &seed);
			mutate(&b, &seed);
		}
		LLVMFuzzerTestOneInput(b.b, b.n);
	}
	printf("PASS: %lu inputs; watches %lu, reads %lu, directories %lu, async %lu, events %lu\n",
	       n_inputs, n_watch_ok, n_read_ok, n_dir_ok, n_async_ok, n_events);
	/* a harness that never got past the first reply would prove little */
	if (n_read_ok < iters / 20 || n_events < iters / 20)
		fail("the mutations rarely reach the later calls");
	return 0;
}
#endif
