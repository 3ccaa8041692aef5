/* SPDX-License-Identifier: MIT */
/*
 * Shared by the POSIX-transport tests: the test process is the broker (on a
 * socket in a fresh temporary directory) and forks the domains; it serves
 * the broker until its children are done. Children talk to each other
 * through a small MAP_SHARED block (tu_shared_mem) and report failures by
 * exit status.
 */
#ifndef SDRV_TESTS_POSIX_COMMON_H
#define SDRV_TESTS_POSIX_COMMON_H

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <splitdrv/broker.h>
#include <splitdrv/transport.h>

#include "../common/tutil.h"

/* Fail the current process (a child: its parent sees the status). */
#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "FAIL [pid %ld] %s:%d: %s (errno %s)\n", (long)getpid(),   \
				__FILE__, __LINE__, #cond, strerror(errno));                       \
			exit(TU_FAIL);                                                             \
		}                                                                                  \
	} while (0)

struct pt_env {
	char dir[64];
	char path[96];
	struct sdrv_broker *b;
};

static inline void pt_log(void *ctx, int level, const char *msg)
{
	(void)ctx;
	if (getenv("SDRV_TEST_VERBOSE") || level <= 3)
		fprintf(stderr, "broker[%d]: %s\n", level, msg);
}

/* A broker on a fresh socket. `uids`: privileged uids (NULL: our own). */
static inline void pt_start(struct pt_env *e, const uid_t *uids, size_t nr_uids)
{
	struct sdrv_broker_opts o = {.sz = sizeof(o)};

	snprintf(e->dir, sizeof(e->dir), "/tmp/sdrv-posix-XXXXXX");
	CHECK(mkdtemp(e->dir) != NULL);
	snprintf(e->path, sizeof(e->path), "%s/broker.sock", e->dir);
	o.path = e->path;
	o.privileged_uids = uids;
	o.nr_privileged_uids = nr_uids;
	o.store_address = "/tmp/sdrv-test-store.sock";
	o.log = pt_log;
	e->b = sdrv_broker_new(&o);
	CHECK(e->b != NULL);
}

static inline void pt_stop(struct pt_env *e)
{
	sdrv_broker_free(e->b);
	rmdir(e->dir);
}

/* Serve the broker for `ms` milliseconds. */
static inline void pt_serve_for(struct pt_env *e, unsigned ms)
{
	uint64_t end = tu_now_ns() + (uint64_t)ms * 1000000ull;

	while (tu_now_ns() < end)
		CHECK(sdrv_broker_run(e->b, 10) == 0);
}

/* Serve the broker until every child in `pids` exited; return how many
 * failed (a status other than 0 is reported). */
static inline int pt_serve_until_done(struct pt_env *e, pid_t *pids, int n)
{
	int left = n, failed = 0;

	while (left > 0) {
		CHECK(sdrv_broker_run(e->b, 10) == 0);
		for (int i = 0; i < n; i++) {
			int st;

			if (pids[i] <= 0 || waitpid(pids[i], &st, WNOHANG) != pids[i])
				continue;
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
				fprintf(stderr, "FAIL: child %d (pid %ld) ended with %s %d\n", i,
					(long)pids[i], WIFEXITED(st) ? "status" : "signal",
					WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
				failed++;
			}
			pids[i] = 0;
			left--;
		}
	}
	return failed;
}

static inline pid_t pt_fork(void (*fn)(struct pt_env *e, void *arg), struct pt_env *e, void *arg,
			    const char *name)
{
	pid_t pid = fork();

	CHECK(pid >= 0);
	if (pid == 0) {
		tu_watchdog(60, name);
		fn(e, arg);
		exit(TU_PASS);
	}
	return pid;
}

/* Open descriptors of this process. */
static inline int pt_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	CHECK(d != NULL);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory itself */
}

/* One process-shared page for the two domains of pt_run_pair() to talk. */
#define PT_SHM_SIZE 4096u

/*
 * The whole life of a two-domain test: a broker on a fresh socket (`uids`:
 * its privileged uids, NULL for ours), domains `a` and `b` forked with one
 * zeroed shared page as their argument, the broker served until both exit,
 * then a moment more so it notices the last hang-ups: every domain must
 * have been reclaimed, and every descriptor they gave the broker closed.
 * Prints "PASS: name" and returns the exit status.
 */
static inline int pt_run_pair(const char *name, unsigned watchdog_s, const uid_t *uids,
			      size_t nr_uids, void (*a)(struct pt_env *e, void *arg),
			      const char *a_name, void (*b)(struct pt_env *e, void *arg),
			      const char *b_name)
{
	struct pt_env e;
	void *shm = tu_shared_mem(PT_SHM_SIZE);
	pid_t pids[2];
	int failed;

	setvbuf(stdout, NULL, _IOLBF, 0);
	tu_watchdog(watchdog_s, name);
	int fds0;

	pt_start(&e, uids, nr_uids);
	fds0 = pt_count_fds();
	pids[0] = pt_fork(a, &e, shm, a_name);
	pids[1] = pt_fork(b, &e, shm, b_name);
	failed = pt_serve_until_done(&e, pids, 2);
	pt_serve_for(&e, 20);
	CHECK(sdrv_broker_nr_domains(e.b) == 0);
	/* and everything of theirs: no descriptor is left in the broker */
	CHECK(pt_count_fds() == fds0);
	pt_stop(&e);
	tu_shared_free(shm, PT_SHM_SIZE);
	if (failed)
		return TU_FAIL;
	printf("PASS: %s\n", name);
	return TU_PASS;
}

static inline struct sdrv_xport *pt_open(struct pt_env *e, uint32_t flags, sdrv_domid_t domid,
					 uint32_t pages)
{
	struct sdrv_xport_opts o = {.sz = sizeof(o)};

	o.address = e->path;
	o.flags = flags;
	o.domid = domid;
	o.grant_pages = pages;
	return sdrv_xport_open("posix", &o);
}

/* Wait until *flag reaches at least `v` (another process sets it). */
static inline void pt_wait_flag(volatile uint32_t *flag, uint32_t v, const char *what)
{
	uint64_t end = tu_now_ns() + (tu_under_valgrind() ? 600ull : 30ull) * 1000000000ull;

	while (__atomic_load_n(flag, __ATOMIC_ACQUIRE) < v) {
		if (tu_now_ns() > end) {
			fprintf(stderr, "FAIL [pid %ld]: timeout waiting for %s\n", (long)getpid(),
				what);
			exit(TU_FAIL);
		}
		usleep(1000);
	}
}

static inline void pt_set_flag(volatile uint32_t *flag, uint32_t v)
{
	__atomic_store_n(flag, v, __ATOMIC_RELEASE);
}

/* Wait until a port is pending on `x` (sdrv_xport_wait()), handling
 * transport news; returns the port. Events seen are counted in *died (may be NULL). */
static inline sdrv_evtchn_port_t pt_wait_port(struct sdrv_xport *x, unsigned *died)
{
	uint64_t end = tu_now_ns() + (tu_under_valgrind() ? 600ull : 30ull) * 1000000000ull;

	for (;;) {
		struct sdrv_xport_event ev[4];
		sdrv_evtchn_port_t port;
		int n = sdrv_xport_process(x, ev, 4);

		CHECK(n >= 0);
		for (int i = 0; i < n && died; i++)
			if (ev[i].type == SDRV_XPORT_EV_PEER_DIED)
				(*died)++;
		n = sdrv_evtchn_pending(x, &port);
		CHECK(n >= 0);
		if (n == 1)
			return port;
		CHECK(tu_now_ns() < end);
		n = sdrv_xport_wait(x, 100);
		CHECK(n >= 0 || n == -EINTR);
	}
}

#endif
