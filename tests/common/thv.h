/* SPDX-License-Identifier: MIT */
/*
 * The hypervisor's part of the tests that run drivers across processes, as
 * `splitdrvd --run-store` runs it: the POSIX transport's broker and the
 * store in one forked process, the store knowing each client by the domain
 * its process holds at the broker.
 */
#ifndef SDRV_TESTS_THV_H
#define SDRV_TESTS_THV_H

#include <sys/types.h>

/* No node or watch quotas in the store (for tests that make many). */
#define TU_HV_UNLIMITED (1u << 0)

/* Fork the broker on `broker` and the store on `store`; return once the
 * store answers. The child dies with the test. The pid, or -1. */
pid_t tu_hv_start(const char *broker, const char *store, unsigned flags);

/* SIGTERM it and wait: its exit status (0: it stopped cleanly). */
int tu_hv_stop(pid_t pid);

#endif
