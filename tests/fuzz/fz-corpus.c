/* SPDX-License-Identifier: MIT */
/* The plain runners' corpus: see fz-corpus.h. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/tutil.h"
#include "fz-corpus.h"

static void *must(void *p)
{
	if (!p) {
		perror("fuzz runner: out of memory");
		exit(TU_FAIL);
	}
	return p;
}

void fz_corpus_add(struct fz_corpus *c, const unsigned char *d, size_t n)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 16;
		c->data = must(realloc(c->data, c->cap * sizeof(*c->data)));
		c->len = must(realloc(c->len, c->cap * sizeof(*c->len)));
	}
	c->data[c->n] = must(malloc(n ? n : 1));
	memcpy(c->data[c->n], d, n);
	c->len[c->n++] = n;
}

void fz_corpus_free(struct fz_corpus *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->data[i]);
	free(c->data);
	free(c->len);
	memset(c, 0, sizeof(*c));
}

static void run_file(struct fz_corpus *c, const char *path, size_t max_input)
{
	unsigned char *buf = must(malloc(max_input ? max_input : 1));
	FILE *fp = fopen(path, "rb");
	size_t n;

	if (!fp) {
		fprintf(stderr, "FAIL: cannot open %s: %s\n", path, strerror(errno));
		exit(TU_FAIL);
	}
	n = fread(buf, 1, max_input, fp);
	fclose(fp);
	LLVMFuzzerTestOneInput(buf, n);
	fz_corpus_add(c, buf, n);
	free(buf);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void fz_corpus_run(struct fz_corpus *c, const char *path, size_t max_input)
{
	struct stat st;
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	DIR *d;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "FAIL: %s: %s\n", path, strerror(errno));
		exit(TU_FAIL);
	}
	if (!S_ISDIR(st.st_mode)) {
		run_file(c, path, max_input);
		return;
	}
	if (!(d = opendir(path))) {
		fprintf(stderr, "FAIL: %s: %s\n", path, strerror(errno));
		exit(TU_FAIL);
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			names = must(realloc(names, cap * sizeof(*names)));
		}
		if (asprintf(&names[n], "%s/%s", path, e->d_name) < 0)
			must(NULL);
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode))
			run_file(c, names[i], max_input);
		free(names[i]);
	}
	free(names);
}
