/* SPDX-License-Identifier: MIT */
/*
 * The ring-consumer fuzz harness, shared by the libFuzzer build (make fuzz)
 * and the plain runner that make check runs.
 */
#ifndef SDRV_TESTS_FUZZ_HARNESS_H
#define SDRV_TESTS_FUZZ_HARNESS_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the inputs run so far exercised, for the plain runner's coverage
 * checks (a harness that never takes an entry would prove nothing). */
struct fz_stats {
	uint64_t inputs;	/* inputs run */
	uint64_t rings;		/* inputs that attached a ring */
	uint64_t broken;	/* rings that ended broken */
	uint64_t broken_by_ids; /* ... by the id tracker of the layer above */
	uint64_t taken;		/* entries copied out */
	uint64_t produced;	/* slots claimed by the project's side */
	uint64_t ops;		/* operations run */
};
extern struct fz_stats fz_stats;

#endif
