/* SPDX-License-Identifier: MIT */
/*
 * Store state files built by hand, byte by byte, for the tests and the
 * fuzz harness of the loader (tests/store/check-store.c,
 * tests/fuzz/fuzz-store-state.c). Written from the format in doc/store.md
 * ("The state file"), not from the store's own writer, so that the two
 * check each other.
 */
#ifndef SDRV_TESTS_STATE_FILE_H
#define SDRV_TESTS_STATE_FILE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct sf {
	unsigned char b[1u << 16];
	size_t n;
};

static inline void sf_put(struct sf *f, const void *d, size_t n)
{
	if (f->n + n > sizeof(f->b))
		abort();
	memcpy(f->b + f->n, d, n);
	f->n += n;
}

static inline void sf_u32(struct sf *f, uint32_t v)
{
	unsigned char x[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
			      (unsigned char)(v >> 24)};

	sf_put(f, x, 4);
}

/* Magic, `version`, flags 0, generation `gen`, `ndoms` (records follow). */
static inline void sf_head(struct sf *f, uint32_t version, uint32_t gen, uint32_t ndoms)
{
	f->n = 0;
	sf_put(f, "SDRVXST1", 8);
	sf_u32(f, version);
	sf_u32(f, 0);
	sf_u32(f, gen);
	sf_u32(f, 0);
	sf_u32(f, ndoms);
}

/* A node with value `v`, owned by `owner` with permission bits `bits`
 * (the owner's entry is what others get); `other` (if not 0) may read and
 * write too. */
static inline void sf_node(struct sf *f, const char *path, const char *v, uint32_t owner,
			   uint32_t bits, uint32_t other)
{
	sf_u32(f, (uint32_t)strlen(path));
	sf_u32(f, (uint32_t)strlen(v));
	sf_u32(f, other ? 2 : 1);
	sf_put(f, path, strlen(path));
	sf_put(f, v, strlen(v));
	sf_u32(f, owner);
	sf_u32(f, bits);
	if (other) {
		sf_u32(f, other);
		sf_u32(f, 3);
	}
}

/* FNV-1a 64, the file's checksum over every byte before it. */
static inline uint64_t sf_fnv64(const unsigned char *p, size_t n)
{
	uint64_t h = 14695981039346656037ull;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 1099511628211ull;
	}
	return h;
}

/* Append the checksum of everything so far (the file is then whole). */
static inline void sf_seal(struct sf *f)
{
	uint64_t h = sf_fnv64(f->b, f->n);
	unsigned char t[8];

	for (int k = 0; k < 8; k++)
		t[k] = (unsigned char)(h >> (8 * k));
	sf_put(f, t, 8);
}

#endif
