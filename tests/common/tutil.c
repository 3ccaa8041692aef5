/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "tutil.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void *tu_shared_mem(size_t bytes)
{
	int fd = memfd_create("sdrv-test", MFD_CLOEXEC);
	void *p;

	if (fd < 0 || ftruncate(fd, (off_t)bytes) != 0) {
		perror("memfd");
		exit(TU_FAIL);
	}
	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(TU_FAIL);
	}
	return p;
}

void tu_shared_free(void *p, size_t bytes)
{
	munmap(p, bytes);
}

uint64_t tu_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int tu_under_valgrind(void)
{
	const char *v = getenv("SDRV_UNDER_VALGRIND");
	return v && *v && strcmp(v, "0") != 0;
}

uint64_t tu_scaled(uint64_t n, uint64_t min)
{
	const char *s = getenv("SDRV_TEST_SCALE");
	double f = s ? strtod(s, NULL) : 1.0;
	uint64_t r;

	if (!(f > 0))
		f = 1.0;
	if (tu_under_valgrind())
		f /= 50;
	r = (uint64_t)((double)n * f);
	return r < min ? min : r;
}

static const char *watchdog_what = "test";

static void watchdog_fire(int sig)
{
	char msg[256];
	int len = snprintf(msg, sizeof(msg), "FAIL: watchdog: %s did not finish in time (hang?)\n",
			   watchdog_what);
	(void)sig;
	if (len > 0)
		(void)!write(2, msg, (size_t)len);
	_exit(TU_FAIL);
}

void tu_watchdog(unsigned seconds, const char *what)
{
	watchdog_what = what;
	signal(SIGALRM, watchdog_fire);
	alarm(tu_under_valgrind() ? seconds * 20 : seconds);
}

void tu_skip(const char *why)
{
	const char *ci = getenv("CI");
	if (ci && strcmp(ci, "true") == 0) {
		fprintf(stderr, "FAIL (CI=true, skipping is not allowed): %s\n", why);
		exit(TU_FAIL);
	}
	fprintf(stderr, "SKIP: %s\n", why);
	exit(TU_SKIP);
}

void tu_pin(int cpu)
{
	cpu_set_t set;
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n <= 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu % n, &set);
	(void)sched_setaffinity(0, sizeof(set), &set);
}

int tu_wait_child(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return 255;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 255;
}
