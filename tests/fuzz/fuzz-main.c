/* SPDX-License-Identifier: MIT */
/*
 * Plain driver for the ring-consumer fuzz harness, so that it runs in
 * `make check` (and under valgrind) without clang or libFuzzer.
 *
 *   fuzz-ring-consumer-run [FILE|DIR]...   run each file (a crash reproducer,
 *                                          a corpus directory)
 *   fuzz-ring-consumer-run                 run the seed corpus (from
 *                                          SDRV_FUZZ_CORPUS or $top_srcdir),
 *                                          then random and mutated inputs from
 *                                          a fixed seed (SDRV_FUZZ_SEED)
 *
 * The number of random inputs scales with tu_scaled() (SDRV_TEST_SCALE,
 * valgrind). A broken invariant aborts, which fails the test.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/tutil.h"

#define FZ_MAX_INPUT 4096

struct corpus {
	unsigned char **data;
	size_t *len;
	size_t n, cap;
};

static void corpus_add(struct corpus *c, const unsigned char *d, size_t n)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 16;
		c->data = realloc(c->data, c->cap * sizeof(*c->data));
		c->len = realloc(c->len, c->cap * sizeof(*c->len));
		if (!c->data || !c->len) {
			perror("realloc");
			exit(TU_FAIL);
		}
	}
	c->data[c->n] = malloc(n ? n : 1);
	if (!c->data[c->n]) {
		perror("malloc");
		exit(TU_FAIL);
	}
	memcpy(c->data[c->n], d, n);
	c->len[c->n++] = n;
}

static void corpus_free(struct corpus *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->data[i]);
	free(c->data);
	free(c->len);
}

/* Run one file; keep it in `c` for mutation. */
static void run_file(const char *path, struct corpus *c)
{
	unsigned char buf[FZ_MAX_INPUT];
	FILE *fp = fopen(path, "rb");
	size_t n;

	if (!fp) {
		fprintf(stderr, "FAIL: cannot open %s: %s\n", path, strerror(errno));
		exit(TU_FAIL);
	}
	n = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	LLVMFuzzerTestOneInput(buf, n);
	corpus_add(c, buf, n);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Run a file, or every regular file of a directory (in name order). */
static void run_path(const char *path, struct corpus *c)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "FAIL: %s: %s\n", path, strerror(errno));
		exit(TU_FAIL);
	}
	if (!S_ISDIR(st.st_mode)) {
		run_file(path, c);
		return;
	}
	d = opendir(path);
	if (!d) {
		fprintf(stderr, "FAIL: %s: %s\n", path, strerror(errno));
		exit(TU_FAIL);
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			names = realloc(names, cap * sizeof(*names));
			if (!names) {
				perror("realloc");
				exit(TU_FAIL);
			}
		}
		if (asprintf(&names[n], "%s/%s", path, e->d_name) < 0) {
			perror("asprintf");
			exit(TU_FAIL);
		}
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode))
			run_file(names[i], c);
		free(names[i]);
	}
	free(names);
}

/* A random input: fresh bytes, or a mutated corpus entry. */
static size_t make_input(unsigned char *buf, const struct corpus *c, uint64_t *rng)
{
	size_t n;
	uint64_t r = tu_rand(rng);

	if (c->n && (r & 1)) {
		size_t k = (size_t)(r >> 8) % c->n, edits;

		n = c->len[k];
		memcpy(buf, c->data[k], n);
		edits = 1 + (size_t)(tu_rand(rng) % 8);
		for (size_t i = 0; i < edits; i++) {
			uint64_t m = tu_rand(rng);

			if ((m & 3) == 0 && n < 1024) {
				/* append a few random bytes */
				size_t add = 1 + (size_t)((m >> 8) % 32);
				for (size_t j = 0; j < add; j++)
					buf[n++] = (unsigned char)tu_rand(rng);
			} else if (n) {
				buf[(m >> 8) % n] = (unsigned char)(m >> 32);
			}
		}
		return n;
	}
	n = 1 + (size_t)((r >> 8) % 600);
	for (size_t i = 0; i < n; i++)
		buf[i] = (unsigned char)(tu_rand(rng) >> 24);
	return n;
}

int main(int argc, char **argv)
{
	struct corpus c = {0};
	unsigned char buf[FZ_MAX_INPUT];
	const char *env = getenv("SDRV_FUZZ_CORPUS"), *seed_s = getenv("SDRV_FUZZ_SEED");
	const char *srcdir = getenv("top_srcdir");
	uint64_t seed = seed_s ? strtoull(seed_s, NULL, 0) : 0x72696e67ull, rng, iters;
	char *dir = NULL;
	size_t seeds;

	setvbuf(stdout, NULL, _IOLBF, 0);
	tu_watchdog(300, "fuzz-ring-consumer-run");
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			run_path(argv[i], &c);
		printf("ok: %" PRIu64 " inputs, %" PRIu64 " rings, %" PRIu64 " ended broken\n",
		       fz_stats.inputs, fz_stats.rings, fz_stats.broken);
		corpus_free(&c);
		return TU_PASS;
	}
	if (env) {
		dir = strdup(env);
	} else if (srcdir) {
		if (asprintf(&dir, "%s/tests/fuzz/corpus/ring-consumer", srcdir) < 0)
			dir = NULL;
	}
	if (dir) {
		run_path(dir, &c);
		free(dir);
	}
	seeds = c.n;
	if (srcdir && seeds == 0) {
		fprintf(stderr, "FAIL: the seed corpus is empty\n");
		return TU_FAIL;
	}
	printf("ok: %zu seed inputs\n", seeds);

	rng = seed ? seed : 1;
	iters = tu_scaled(100000, 1000);
	for (uint64_t i = 0; i < iters; i++) {
		size_t n = make_input(buf, &c, &rng);

		LLVMFuzzerTestOneInput(buf, n);
	}
	printf("ok: %" PRIu64 " random inputs (seed %#" PRIx64 "): %" PRIu64 " rings, %" PRIu64
	       " ops, %" PRIu64 " entries taken, %" PRIu64 " slots produced, %" PRIu64
	       " rings broken (%" PRIu64 " by bad response ids)\n",
	       iters, seed, fz_stats.rings, fz_stats.ops, fz_stats.taken, fz_stats.produced,
	       fz_stats.broken, fz_stats.broken_by_ids);
	corpus_free(&c);
	/* A harness that never reaches the interesting paths proves nothing. */
	if (fz_stats.taken == 0 || fz_stats.produced == 0 || fz_stats.broken == 0 ||
	    fz_stats.broken == fz_stats.rings || fz_stats.broken_by_ids == 0) {
		fprintf(stderr, "FAIL: the inputs did not exercise the consumer paths\n");
		return TU_FAIL;
	}
	printf("PASS: fuzz-ring-consumer-run\n");
	return TU_PASS;
}
