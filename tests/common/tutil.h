/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the test programs: shared memory between processes,
 * clocks, iteration scaling, watchdogs and the skip convention.
 *
 * Exit codes follow automake: 0 pass, 1 fail, 77 skip. In CI (CI=true) a
 * test never skips: tu_skip() fails instead, because CI installs every peer.
 */
#ifndef SDRV_TESTS_TUTIL_H
#define SDRV_TESTS_TUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TU_PASS 0
#define TU_FAIL 1
#define TU_SKIP 77

/* Map `bytes` of fresh zeroed memfd memory MAP_SHARED (inherited by fork),
 * 4096-aligned. Aborts the test on failure. */
void *tu_shared_mem(size_t bytes);
void tu_shared_free(void *p, size_t bytes);

/* Monotonic time in nanoseconds. */
uint64_t tu_now_ns(void);

/* `n` scaled by SDRV_TEST_SCALE (a positive float, default 1), and
 * divided by 50 under valgrind (SDRV_UNDER_VALGRIND=1), at least `min`. */
uint64_t tu_scaled(uint64_t n, uint64_t min);

/* Whether the test runs under valgrind (set by make check-valgrind). */
int tu_under_valgrind(void);

/* Kill the whole test (this process group member) after `seconds` with a
 * message naming `what`: a hang becomes a failure, never a stuck CI. The
 * limit is multiplied by 20 under valgrind. */
void tu_watchdog(unsigned seconds, const char *what);

/* Skip (exit 77) with a reason, or fail if CI=true. */
void tu_skip(const char *why) __attribute__((noreturn));

/* Pin the calling process to CPU `cpu` modulo the CPUs available; best effort. */
void tu_pin(int cpu);

/* Wait for child `pid`; return its exit status, or 128+signal. */
int tu_wait_child(pid_t pid);

/* A small, fast, seedable PRNG (xorshift64*), for reproducible runs. */
static inline uint64_t tu_rand(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* FNV-1a over `len` bytes. */
static inline uint32_t tu_fnv1a(const void *p, size_t len)
{
	const unsigned char *b = (const unsigned char *)p;
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++) {
		h ^= b[i];
		h *= 16777619u;
	}
	return h;
}

#endif
