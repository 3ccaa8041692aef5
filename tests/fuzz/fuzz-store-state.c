/* SPDX-License-Identifier: MIT */
/*
 * Fuzz harness for the store's state file loader (libsplitdrv/store/
 * state.c; the format is in doc/store.md, "The state file").
 *
 * Input: the file without its last 8 bytes. The harness appends the
 * FNV-1a 64 checksum the format ends with, so that inputs reach the
 * structural checks behind it instead of all failing the checksum (which
 * tests/store/check-store.c covers), writes the file and starts a store on
 * it (sdrv_store_new() with state_file).
 *
 * Invariants (abort() on violation): the store either refuses the file
 * with EBADMSG (or ENOMEM), or loads it; a store that loaded it writes it
 * back when freed, and that file loads again and is written back byte for
 * byte the same (the loader accepts only what the saver produces, in its
 * canonical order). Leaks and memory errors are left to the sanitizers and
 * valgrind.
 *
 * Built two ways: with libFuzzer by `make fuzz-store-state` (-DSDRV_LIBFUZZER,
 * the store's sources compiled in), and as a plain program run by `make
 * check`: valid files built here (a tree, domains, permissions), then
 * mutations of them and random inputs from a fixed seed (SDRV_FUZZ_SEED),
 * scaled with tu_scaled(). `fuzz-store-state-run FILE...` replays inputs;
 * `fuzz-store-state-run --gen-corpus DIR` writes the seed corpus.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <splitdrv/store.h>

#include "../store/state-file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_IN (1u << 16)

static char dir[64], path[96];
static unsigned long loaded, refused;

static void put_file(const unsigned char *d, size_t n, bool trailer)
{
	FILE *f = fopen(path, "wb");
	unsigned char t[8];
	uint64_t h = sf_fnv64(d, n);

	if (!f)
		abort();
	for (int k = 0; k < 8; k++)
		t[k] = (unsigned char)(h >> (8 * k));
	if (fwrite(d, 1, n, f) != n || (trailer && fwrite(t, 1, 8, f) != 8))
		abort();
	if (fclose(f) != 0)
		abort();
}

/* The file as it is now; *n its size. */
static unsigned char *get_file(size_t *n)
{
	FILE *f = fopen(path, "rb");
	unsigned char *b = malloc(MAX_IN + 64);

	if (!f || !b)
		abort();
	*n = fread(b, 1, MAX_IN + 64, f);
	fclose(f);
	return b;
}

/* The scratch directory goes at exit, in both builds. */
static void finish(void)
{
	char cmd[128];

	if (!dir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

static struct sdrv_store *load(void)
{
	struct sdrv_store_opts o = {.sz = sizeof(o), .state_file = path};

	errno = 0;
	return sdrv_store_new(&o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sdrv_store *s;
	unsigned char *a, *b;
	size_t na, nb;

	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/sdrv-fuzz-state-XXXXXX");
		if (!mkdtemp(dir))
			abort();
		snprintf(path, sizeof(path), "%s/state", dir);
		atexit(finish);
	}
	if (size > MAX_IN)
		return 0;
	put_file(data, size, true);
	s = load();
	if (!s) {
		if (errno != EBADMSG && errno != ENOMEM)
			abort();
		refused++;
		return 0;
	}
	loaded++;
	sdrv_store_free(s); /* writes the state back */
	a = get_file(&na);
	s = load();
	if (!s)
		abort(); /* what the store wrote it must read */
	sdrv_store_free(s);
	b = get_file(&nb);
	if (na != nb || memcmp(a, b, na))
		abort();
	free(a);
	free(b);
	return 0;
}

#ifndef SDRV_LIBFUZZER
/* ============================ the plain runner =========================== */
#include "../common/tutil.h"

/* A valid file body (no checksum): `kind` 0 a small tree, 1 domains and
 * permissions, 2 a wide directory. */
static void gen_valid(struct sf *f, unsigned kind)
{
	static const char *const tree[] = {"/",
					   "/local",
					   "/local/domain",
					   "/local/domain/0",
					   "/local/domain/0/backend",
					   "/tool",
					   "/tool/xenstored"};

	sf_head(f, 1, 42, kind == 1 ? 2 : 0);
	if (kind == 1) {
		sf_u32(f, 5), sf_u32(f, 1), sf_u32(f, 0xffffffffu);
		sf_u32(f, 6), sf_u32(f, 0), sf_u32(f, 5);
	}
	if (kind == 2) {
		sf_u32(f, 2 + 40 + 2);
		sf_node(f, "/", "", 0, 0, 0);
		sf_node(f, "/d", "", 0, 0, 0);
		for (int i = 0; i < 40; i++) {
			char p[32], v[16];

			snprintf(p, sizeof(p), "/d/n%02d", i);
			snprintf(v, sizeof(v), "v%d", i * 7);
			sf_node(f, p, v, (uint32_t)i, 0, i & 1 ? 5u : 0u);
		}
	} else {
		sf_u32(f, (uint32_t)(sizeof(tree) / sizeof(tree[0])) + 2 + (kind == 1 ? 2 : 0));
		for (size_t i = 0; i < sizeof(tree) / sizeof(tree[0]); i++)
			sf_node(f, tree[i], i == 6 ? "running" : "", 0, 0, 0);
		if (kind == 1) {
			sf_node(f, "/vm", "", 0, 0, 0);
			sf_node(f, "/vm/x", "a value", 5, 0, 6);
		}
	}
	sf_node(f, "@introduceDomain", "", 0, 0, 0);
	sf_node(f, "@releaseDomain", "", 0, 0, kind == 1 ? 5 : 0);
}

static int gen_corpus(const char *out)
{
	static const char *const names[] = {"small", "domains", "wide"};
	static struct sf f;

	for (unsigned k = 0; k < 3; k++) {
		char p[4096];
		FILE *o;

		gen_valid(&f, k);
		snprintf(p, sizeof(p), "%s/%s", out, names[k]);
		o = fopen(p, "wb");
		if (!o || fwrite(f.b, 1, f.n, o) != f.n || fclose(o) != 0) {
			fprintf(stderr, "FAIL: cannot write %s\n", p);
			return TU_FAIL;
		}
	}
	printf("ok: 3 seeds written to %s\n", out);
	return TU_PASS;
}

int main(int argc, char **argv)
{
	const char *seed_s = getenv("SDRV_FUZZ_SEED");
	uint64_t rng = seed_s ? strtoull(seed_s, NULL, 0) : 0x7374617465ull, seed0 = rng;
	uint64_t iters = tu_scaled(4000, 200);
	static struct sf f, m;
	unsigned long valid_loaded;

	tu_watchdog(300, "fuzz-store-state-run");
	if (argc == 3 && !strcmp(argv[1], "--gen-corpus"))
		return gen_corpus(argv[2]);
	if (argc > 1) { /* replay files */
		for (int i = 1; i < argc; i++) {
			FILE *in = fopen(argv[i], "rb");

			if (!in) {
				fprintf(stderr, "FAIL: cannot open %s\n", argv[i]);
				return TU_FAIL;
			}
			f.n = fread(f.b, 1, sizeof(f.b), in);
			fclose(in);
			LLVMFuzzerTestOneInput(f.b, f.n);
		}
		printf("ok: %d inputs replayed\n", argc - 1);
		return TU_PASS;
	}
	/* the valid files load (and round-trip) */
	for (unsigned k = 0; k < 3; k++) {
		gen_valid(&f, k);
		LLVMFuzzerTestOneInput(f.b, f.n);
	}
	valid_loaded = loaded;
	if (valid_loaded != 3) {
		fprintf(stderr, "FAIL: %lu of the 3 valid files loaded\n", valid_loaded);
		return TU_FAIL;
	}
	for (uint64_t i = 0; i < iters; i++) {
		uint64_t r = tu_rand(&rng);

		gen_valid(&m, (unsigned)(r % 3));
		switch ((r >> 8) % 6) {
		case 0: /* random bytes */
			m.n = (size_t)(tu_rand(&rng) % 512);
			for (size_t k = 0; k < m.n; k++)
				m.b[k] = (uint8_t)tu_rand(&rng);
			break;
		case 1: /* truncated */
			m.n = (size_t)(tu_rand(&rng) % (m.n + 1));
			break;
		case 2: /* a 32-bit field (all fields are aligned to 4) */
		{
			size_t at = (size_t)(tu_rand(&rng) % (m.n / 4)) * 4;
			static const uint32_t edge[] = {
			    0,	  1,	2,    3,    0x7fef, 0x7ff0,	0xffff,	    0x10000,
			    1024, 1025, 3072, 4096, 4097,   0x7fffffff, 0xffffffff, 8};
			uint32_t v = edge[tu_rand(&rng) % 16];

			memcpy(m.b + at, &v, 4);
			break;
		}
		default: /* a few bytes flipped */
			for (int k = 0; k < 1 + (int)(tu_rand(&rng) % 4); k++)
				m.b[tu_rand(&rng) % m.n] ^= (uint8_t)(1u << (tu_rand(&rng) % 8));
			break;
		}
		LLVMFuzzerTestOneInput(m.b, m.n);
	}
	/* a file whose checksum is wrong is refused too */
	gen_valid(&f, 0);
	put_file(f.b, f.n, false);
	errno = 0;
	if (load() != NULL || errno != EBADMSG) {
		fprintf(stderr, "FAIL: a file without its checksum loaded\n");
		return TU_FAIL;
	}
	printf("ok: %llu inputs (seed %#llx): %lu loaded and written back the same, %lu "
	       "refused\n",
	       (unsigned long long)iters, (unsigned long long)seed0, loaded - valid_loaded,
	       refused);
	/* a harness that never reaches a path proves nothing about it */
	if (loaded - valid_loaded == 0 || refused == 0) {
		fprintf(stderr, "FAIL: the mutations never loaded, or never failed\n");
		return TU_FAIL;
	}
	return TU_PASS;
}
#endif
