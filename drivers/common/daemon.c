/* SPDX-License-Identifier: MIT */
/* What every driver daemon's main() has; see daemon.h. */
#define _GNU_SOURCE
#include "daemon.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"

const char *drv_prog = "splitdrv";
int drv_verbose;
volatile sig_atomic_t drv_stop_signal, drv_usr1_signal;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		drv_usr1_signal = 1;
	else
		drv_stop_signal = sig;
}

void drv_signals(bool usr1)
{
	struct sigaction sa = {.sa_handler = on_signal};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (usr1)
		sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

void drv_log(void *ctx, int level, const char *msg)
{
	static const char *const names[] = {"emerg",   "alert",	 "crit", "error",
					    "warning", "notice", "info", "debug"};

	(void)ctx;
	if (level > LOG_INFO + drv_verbose)
		return;
	fprintf(stderr, "%s: %s: %s\n", drv_prog, names[level & 7], msg);
}

void drv_print_version(void)
{
	printf("%s (%s) %s\n", drv_prog, PACKAGE_NAME, PACKAGE_VERSION);
}

int drv_parse_num(const char *s, unsigned long max, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	/* strtoul() would take a sign or leading blanks */
	if (errno || end == s || *end || v > max || *s < '0' || *s > '9')
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int drv_no_more_args(int argc, char **argv, void (*usage)(FILE *))
{
	if (optind >= argc)
		return 0;
	fprintf(stderr, "%s: unexpected argument: %s\n", drv_prog, argv[optind]);
	usage(stderr);
	return 2;
}

int drv_join(struct sdrv_xport_opts *xo, const char *store, struct sdrv_xport **x,
	     struct sdrv_xs **xs)
{
	struct sdrv_xs_opts so = {.sz = sizeof(so), .timeout_ms = 30000, .log = drv_log};

	*x = sdrv_xport_open("posix", xo);
	if (!*x) {
		fprintf(stderr, "%s: cannot join the transport as domain %u: %s\n", drv_prog,
			xo->domid, strerror(errno));
		return -1;
	}
	if (!store)
		store = sdrv_xport_store_address(*x);
	*xs = sdrv_xs_open(store, &so);
	if (!*xs) {
		fprintf(stderr, "%s: cannot connect to the store%s%s: %s\n", drv_prog,
			store ? " at " : "", store ? store : "", strerror(errno));
		sdrv_xport_close(*x);
		*x = NULL;
		return -1;
	}
	return 0;
}
