/* SPDX-License-Identifier: MIT */
/*
 * Fuzz harness for the store's request parser and dispatcher
 * (libsplitdrv/store/).
 *
 * Input: byte 0 chooses the set-up (bits 0-1: one dom0 connection, one
 * domain-5 connection, or both - then odd req_ids go to domain 5; bit 2:
 * tiny quotas), then a stream of requests: 16-byte header and payload,
 * exactly as on the wire. A header whose length runs past the input is sent
 * truncated; one above 4096 bytes is sent as it is (the store must drop
 * that connection). The store runs after every request.
 *
 * Invariants, checked on everything the store sends back: a valid header,
 * payload at most 4096 bytes; every reply answers the oldest unanswered
 * request of its connection with the same req_id, tx_id and type, or is an
 * ERROR whose payload is one of the wire protocol's error names; watch
 * events carry req_id = tx_id = 0 and two NUL-terminated strings. At the
 * end, CONTROL check must find the accounting consistent. Leaks and memory
 * errors are left to the sanitizers and valgrind.
 *
 * Built two ways: with libFuzzer by `make fuzz-store-msg` (-DSDRV_LIBFUZZER,
 * the store's sources compiled in), and as a plain program run by `make
 * check` on the seed corpus (tests/fuzz/corpus/store-msg) and on mutated
 * and random inputs from a fixed seed (SDRV_FUZZ_SEED), scaled with
 * tu_scaled().
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <splitdrv/proto/xs_wire.h>
#include <splitdrv/store.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PENDING 4096

struct fz_conn {
	int fd;
	bool gone;
	struct {
		uint32_t type, req_id, tx_id;
	} pending[MAX_PENDING];
	size_t head, n;
	unsigned char in[2 * (SDRV_XS_PAYLOAD_MAX + 16)];
	size_t in_len;
};

static struct {
	unsigned long inputs, requests, replies, errors, events, dropped, checks;
} fz;

static bool check_failed;

static void fail(const char *what)
{
	fprintf(stderr, "FAIL: fuzz-store-msg: %s\n", what);
	abort();
}

static void log_cb(void *ctx, int level, const char *msg)
{
	(void)ctx;
	(void)level;
	if (!strncmp(msg, "check:", 6) && strstr(msg, "fixed"))
		check_failed = true;
}

static bool known_error(const char *p, uint32_t len)
{
	static const char *const names[] = {
	    "EINVAL",	 "EACCES", "EEXIST", "EISDIR", "ENOENT", "ENOMEM",  "ENOSPC", "EIO",
	    "ENOTEMPTY", "ENOSYS", "EROFS",  "EBUSY",  "EAGAIN", "EISCONN", "E2BIG",  "EPERM",
	};

	if (!len || p[len - 1] != '\0')
		return false;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) + 1 == len && !memcmp(names[i], p, len))
			return true;
	return false;
}

/* Check and consume everything the store sent on `c`. */
static void drain(struct fz_conn *c)
{
	for (;;) {
		struct sdrv_xs_msg h;
		const char *p;
		ssize_t r;

		while (c->in_len >= 16) {
			memcpy(&h, c->in, 16);
			if (h.len > SDRV_XS_PAYLOAD_MAX)
				fail("reply payload above 4096 bytes");
			if (c->in_len < 16 + h.len)
				break;
			p = (const char *)c->in + 16;
			if (h.type == SDRV_XS_WATCH_EVENT) {
				const char *nul = memchr(p, 0, h.len);

				if (h.req_id || h.tx_id || !nul ||
				    !memchr(nul + 1, 0, h.len - (uint32_t)(nul + 1 - p)))
					fail("malformed watch event");
				fz.events++;
			} else {
				size_t k = c->head;

				if (!c->n)
					fail("a reply nobody asked for");
				if (h.req_id != c->pending[k].req_id ||
				    h.tx_id != c->pending[k].tx_id)
					fail("reply ids do not echo the request");
				if (h.type == SDRV_XS_ERROR) {
					if (!known_error(p, h.len))
						fail("error payload is not a wire error name");
					fz.errors++;
				} else if (h.type != c->pending[k].type) {
					fail("reply type differs from the request type");
				}
				c->head = (c->head + 1) % MAX_PENDING;
				c->n--;
				fz.replies++;
			}
			memmove(c->in, c->in + 16 + h.len, c->in_len - 16 - h.len);
			c->in_len -= 16 + h.len;
		}
		if (c->gone)
			return;
		r = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);
		if (r > 0) {
			c->in_len += (size_t)r;
			continue;
		}
		if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
			c->gone = true;
			fz.dropped++;
		}
		return;
	}
}

static void pump(struct sdrv_store *s, struct fz_conn *c, int nc)
{
	for (int i = 0; i < 4; i++) {
		if (sdrv_store_run(s, 0) < 0)
			fail("sdrv_store_run failed");
		for (int k = 0; k < nc; k++)
			drain(&c[k]);
	}
}

static void send_all(struct sdrv_store *s, struct fz_conn *c, const unsigned char *p, size_t n)
{
	int spins = 0;

	while (n && !c->gone) {
		ssize_t r = send(c->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (r > 0) {
			p += r;
			n -= (size_t)r;
			continue;
		}
		if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			c->gone = true;
			return;
		}
		if (sdrv_store_run(s, 0) < 0)
			fail("sdrv_store_run failed");
		drain(c);
		if (++spins > 100000)
			fail("the store stopped reading a client that reads");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sdrv_store_opts o = {
	    .sz = sizeof(o), .stuck_timeout_ms = SDRV_STORE_UNLIMITED, .log = log_cb};
	static struct fz_conn conns[2];
	struct sdrv_store *s;
	unsigned mode;
	int nc;
	size_t off = 1;

	if (size < 1)
		return 0;
	fz.inputs++;
	mode = data[0];
	if (mode & 4) {
		o.quota_nodes = 8;
		o.quota_node_size = 64;
		o.quota_watches = 4;
		o.quota_transactions = 2;
		o.quota_transaction_nodes = 16;
		o.quota_path_max = 40;
		o.quota_permissions = 2;
		o.quota_memory = 1024;
		o.max_watch_events = 4;
		o.max_unread_bytes = 512;
	}
	s = sdrv_store_new(&o);
	if (!s)
		fail("sdrv_store_new failed");
	nc = (mode & 3) == 2 ? 2 : 1;
	for (int k = 0; k < nc; k++) {
		uint32_t domid = (nc == 2 ? k : (mode & 3) == 1) ? 5 : 0;
		int fd = sdrv_store_connect(s, domid);

		if (fd < 0)
			fail("sdrv_store_connect failed");
		memset(&conns[k], 0, sizeof(conns[k]));
		conns[k].fd = fd;
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	}
	while (off < size) {
		struct sdrv_xs_msg h = {0};
		size_t avail = size - off, n;
		struct fz_conn *c;

		if (avail < 16) {
			send_all(s, &conns[0], data + off, avail);
			break;
		}
		memcpy(&h, data + off, 16);
		c = &conns[nc == 2 ? (h.req_id & 1) : 0];
		n = h.len > SDRV_XS_PAYLOAD_MAX ? 16
						: 16 + (h.len < avail - 16 ? h.len : avail - 16);
		if (h.len <= SDRV_XS_PAYLOAD_MAX && 16 + h.len <= avail && !c->gone) {
			if (c->n == MAX_PENDING)
				pump(s, conns, nc);
			if (c->n < MAX_PENDING) {
				size_t t = (c->head + c->n) % MAX_PENDING;

				c->pending[t].type = h.type;
				c->pending[t].req_id = h.req_id;
				c->pending[t].tx_id = h.tx_id;
				c->n++;
				fz.requests++;
			}
		}
		send_all(s, c, data + off, n);
		off += n;
		pump(s, conns, nc);
	}
	pump(s, conns, nc);
	for (int k = 0; k < nc; k++) {
		/* a connection still open answered everything it was asked */
		if (!conns[k].gone && conns[k].n)
			fail("a request went unanswered");
		close(conns[k].fd);
	}
	/* the accounting must still add up */
	{
		int fd = sdrv_store_connect(s, 0);
		static const unsigned char chk[] = {0, 0, 0, 0, 1, 0,	0,   0,	  0,   0,   0,
						    0, 6, 0, 0, 0, 'c', 'h', 'e', 'c', 'k', 0};
		struct fz_conn *c = &conns[0];

		if (fd < 0)
			fail("sdrv_store_connect failed");
		memset(c, 0, sizeof(*c));
		c->fd = fd;
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		c->pending[0].type = SDRV_XS_CONTROL;
		c->pending[0].req_id = 1;
		c->n = 1;
		check_failed = false;
		send_all(s, c, chk, sizeof(chk));
		pump(s, c, 1);
		if (c->n)
			fail("CONTROL check went unanswered");
		if (check_failed)
			fail("CONTROL check found inconsistent accounting");
		fz.checks++;
		close(fd);
	}
	sdrv_store_free(s);
	return 0;
}

#ifndef SDRV_LIBFUZZER
#include <dirent.h>
#include <sys/stat.h>

#include "../common/tutil.h"

#define MAX_IN 16384

struct seed {
	unsigned char *d;
	size_t n;
};

static struct seed seeds[256];
static size_t nseeds;

static void load_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d) {
		fprintf(stderr, "FAIL: cannot open the seed corpus %s\n", dir);
		exit(TU_FAIL);
	}
	while ((e = readdir(d)) != NULL && nseeds < 256) {
		char path[4096 + 512];
		FILE *f;
		unsigned char *buf;
		size_t n;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		f = fopen(path, "rb");
		if (!f)
			continue;
		buf = malloc(MAX_IN);
		n = fread(buf, 1, MAX_IN, f);
		fclose(f);
		seeds[nseeds].d = buf;
		seeds[nseeds].n = n;
		nseeds++;
	}
	closedir(d);
}

int main(int argc, char **argv)
{
	const char *src = getenv("top_srcdir"), *seed_s = getenv("SDRV_FUZZ_SEED");
	uint64_t rng = seed_s ? strtoull(seed_s, NULL, 0) : 0x73746f7265ull;
	uint64_t iters = tu_scaled(3000, 150);
	static unsigned char buf[MAX_IN + 64];
	char dir[4096];

	tu_watchdog(300, "fuzz-store-msg-run");
	if (argc > 1) { /* replay files */
		for (int i = 1; i < argc; i++) {
			FILE *f = fopen(argv[i], "rb");
			size_t n;

			if (!f) {
				fprintf(stderr, "FAIL: cannot open %s\n", argv[i]);
				return TU_FAIL;
			}
			n = fread(buf, 1, MAX_IN, f);
			fclose(f);
			LLVMFuzzerTestOneInput(buf, n);
		}
		printf("ok: %d inputs replayed\n", argc - 1);
		return TU_PASS;
	}
	snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/store-msg", src ? src : ".");
	load_dir(dir);
	if (!nseeds) {
		fprintf(stderr, "FAIL: the seed corpus %s is empty\n", dir);
		return TU_FAIL;
	}
	for (size_t i = 0; i < nseeds; i++)
		LLVMFuzzerTestOneInput(seeds[i].d, seeds[i].n);
	printf("ok: %zu seeds: %lu requests, %lu replies, %lu errors, %lu events\n", nseeds,
	       fz.requests, fz.replies, fz.errors, fz.events);
	if (!fz.replies || !fz.errors || !fz.events || fz.errors == fz.replies) {
		fprintf(stderr, "FAIL: the seeds do not exercise the store\n");
		return TU_FAIL;
	}
	for (uint64_t it = 0; it < iters; it++) {
		uint64_t r = tu_rand(&rng);
		const struct seed *sd = &seeds[r % nseeds];
		size_t n = sd->n;

		memcpy(buf, sd->d, n);
		switch ((r >> 8) % 4) {
		case 0: /* flip bytes */
			for (int k = 0, edits = 1 + (int)((r >> 16) % 8); k < edits && n; k++) {
				uint64_t m = tu_rand(&rng);

				buf[m % n] ^= (unsigned char)(1u << ((m >> 32) % 8));
			}
			break;
		case 1: /* cut */
			n = n ? 1 + (size_t)((r >> 16) % n) : 0;
			break;
		case 2: { /* splice another seed after this one */
			const struct seed *o = &seeds[(r >> 16) % nseeds];
			size_t m = o->n > 1 ? o->n - 1 : 0;

			if (n + m <= MAX_IN) {
				memcpy(buf + n, o->d + 1, m);
				n += m;
			}
			break;
		}
		default: /* set-up byte and random small values in headers */
			buf[0] = (unsigned char)(r >> 16);
			for (int k = 0; k < 4 && n > 17; k++) {
				uint64_t m = tu_rand(&rng);

				buf[1 + m % (n - 1)] = (unsigned char)(m >> 40) & 0x1f;
			}
			break;
		}
		LLVMFuzzerTestOneInput(buf, n);
	}
	printf("ok: %llu mutated inputs (seed %#llx): %lu requests, %lu replies, %lu errors, "
	       "%lu events, %lu connections dropped, %lu checks\n",
	       (unsigned long long)iters,
	       (unsigned long long)(seed_s ? strtoull(seed_s, NULL, 0) : 0x73746f7265ull),
	       fz.requests, fz.replies, fz.errors, fz.events, fz.dropped, fz.checks);
	for (size_t i = 0; i < nseeds; i++)
		free(seeds[i].d);
	if (!fz.dropped) {
		fprintf(stderr, "FAIL: no input made the store drop a connection\n");
		return TU_FAIL;
	}
	printf("PASS: fuzz-store-msg-run\n");
	return TU_PASS;
}
#endif
