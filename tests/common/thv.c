/* SPDX-License-Identifier: MIT */
/* The hypervisor's part of the process tests: see thv.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <splitdrv/broker.h>
#include <splitdrv/store.h>
#include <splitdrv/xs.h>

#include "thv.h"
#include "tutil.h"

static volatile sig_atomic_t hv_term;

static void on_term(int sig)
{
	(void)sig;
	hv_term = 1;
}

static void hv_log(void *ctx, int level, const char *msg)
{
	if (getenv("SDRV_TEST_VERBOSE") || level <= 3)
		fprintf(stderr, "%s[%d]: %s\n", (const char *)ctx, level, msg);
}

/* The store knows a client by the domain its process holds at the broker. */
static int domain_at_broker(void *ctx, pid_t pid, uid_t uid, gid_t gid, uint32_t *domid)
{
	sdrv_domid_t d;
	int r = sdrv_broker_domain_of(ctx, pid, uid, &d);

	(void)gid;
	if (r == 0)
		*domid = d;
	return r;
}

static int hv_main(const char *broker, const char *store, unsigned flags)
{
	struct sdrv_broker_opts bo = {.sz = sizeof(bo), .path = broker, .store_address = store};
	struct sdrv_store_opts so = {.sz = sizeof(so), .path = store};
	struct sigaction sa;
	struct sdrv_broker *b;
	struct sdrv_store *s;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	bo.log = hv_log;
	bo.log_ctx = (void *)"broker";
	if (!(b = sdrv_broker_new(&bo)))
		return 3;
	so.peer_domain = domain_at_broker;
	so.peer_domain_ctx = b;
	so.log = hv_log;
	so.log_ctx = (void *)"store";
	if (flags & TU_HV_UNLIMITED) {
		so.quota_nodes = SDRV_STORE_UNLIMITED;
		so.quota_watches = SDRV_STORE_UNLIMITED;
	}
	if (!(s = sdrv_store_new(&so)))
		return 4;
	while (!hv_term) {
		struct pollfd pfd[2] = {{.fd = sdrv_broker_fd(b), .events = POLLIN},
					{.fd = sdrv_store_fd(s), .events = POLLIN}};

		(void)poll(pfd, 2, 50);
		/* The broker first: a process is a domain there before the
		 * store asks who it is. */
		if (sdrv_broker_run(b, 0) < 0 || sdrv_store_run(s, 0) < 0)
			return 5;
	}
	sdrv_store_free(s);
	sdrv_broker_free(b);
	return 0;
}

pid_t tu_hv_start(const char *broker, const char *store, unsigned flags)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(hv_main(broker, store, flags));
	/* ready once the store answers */
	for (int i = 0; i < 3000; i++) {
		struct sdrv_xs_opts so = {.sz = sizeof(so), .timeout_ms = 2000};
		struct sdrv_xs *xs = access(store, F_OK) == 0 && access(broker, F_OK) == 0
					 ? sdrv_xs_open(store, &so)
					 : NULL;

		if (xs) {
			sdrv_xs_close(xs);
			return pid;
		}
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return -1;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	errno = ETIMEDOUT;
	return -1;
}

int tu_hv_stop(pid_t pid)
{
	kill(pid, SIGTERM);
	return tu_wait_child(pid);
}
