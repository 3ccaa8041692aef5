/* SPDX-License-Identifier: MIT */
/*
 * The plain runners' corpus: read seed files (one file, or every regular
 * file of a directory in name order), run each through the harness's
 * LLVMFuzzerTestOneInput(), and keep them for the runner's mutations.
 * Shared by every fuzz-*-run program; failures end the test (TU_FAIL).
 */
#ifndef SDRV_TESTS_FZ_CORPUS_H
#define SDRV_TESTS_FZ_CORPUS_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz_corpus {
	unsigned char **data;
	size_t *len;
	size_t n, cap;
};

/* Keep a copy of `n` bytes. */
void fz_corpus_add(struct fz_corpus *c, const unsigned char *d, size_t n);
void fz_corpus_free(struct fz_corpus *c);
/* Run `path` (a file, or a directory's files) and keep what ran; inputs are
 * read up to `max_input` bytes. */
void fz_corpus_run(struct fz_corpus *c, const char *path, size_t max_input);

#endif
