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

#include "fz-corpus.h"

/* A random input: fresh bytes, or a mutated corpus entry. */
static size_t make_input(unsigned char *buf, const struct fz_corpus *c, uint64_t *rng)
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
	struct fz_corpus c = {0};
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
			fz_corpus_run(&c, argv[i], FZ_MAX_INPUT);
		printf("ok: %" PRIu64 " inputs, %" PRIu64 " rings, %" PRIu64 " ended broken\n",
		       fz_stats.inputs, fz_stats.rings, fz_stats.broken);
		fz_corpus_free(&c);
		return TU_PASS;
	}
	if (env) {
		dir = strdup(env);
	} else if (srcdir) {
		if (asprintf(&dir, "%s/tests/fuzz/corpus/ring-consumer", srcdir) < 0)
			dir = NULL;
	}
	if (dir) {
		fz_corpus_run(&c, dir, FZ_MAX_INPUT);
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
	fz_corpus_free(&c);
	/* A harness that never reaches the interesting paths proves nothing. */
	if (fz_stats.taken == 0 || fz_stats.produced == 0 || fz_stats.broken == 0 ||
	    fz_stats.broken == fz_stats.rings || fz_stats.broken_by_ids == 0) {
		fprintf(stderr, "FAIL: the inputs did not exercise the consumer paths\n");
		return TU_FAIL;
	}
	printf("PASS: fuzz-ring-consumer-run\n");
	return TU_PASS;
}
