/* SPDX-License-Identifier: MIT */
/*
 * splitdrvd: the POSIX transport's broker as a daemon (see splitdrvd(8)),
 * optionally with the store in the same process, so that the store knows
 * each of its clients by the domain it holds at the broker.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <syslog.h>
#include <unistd.h>

#include <splitdrv/broker.h>
#include <splitdrv/store.h>

#include "config.h"

#define DEFAULT_SOCKET "/run/splitdrv/broker.sock"
#define MAX_PRIV_UIDS  64

static volatile sig_atomic_t stop_signal;
static int verbose;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static void log_stderr(void *ctx, int level, const char *msg)
{
	static const char *const names[] = {"emerg",   "alert",	 "crit", "error",
					    "warning", "notice", "info", "debug"};

	(void)ctx;
	if (level > LOG_NOTICE && !verbose)
		return;
	fprintf(stderr, "splitdrvd: %s: %s\n", names[level & 7], msg);
}

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "Usage: splitdrvd [OPTION]...\n"
	    "The broker of libsplitdrv's POSIX transport: processes that connect to its\n"
	    "socket become domains that share pages by grants and notify each other\n"
	    "through event channels.\n\n"
	    "  -s, --socket PATH          listen on PATH (default: $SPLITDRV_BROKER, then\n"
	    "                             " DEFAULT_SOCKET ")\n"
	    "  -p, --privileged-uid UID   UID may become the privileged domain 0\n"
	    "                             (repeatable; default: splitdrvd's own uid)\n"
	    "  -S, --store ADDRESS        store address handed to domains\n"
	    "      --run-store PATH       also serve the store on PATH (implies --store PATH);\n"
	    "                             a process that holds a domain here is that domain\n"
	    "                             there, other clients as splitdrv-xenstored(8) sees them\n"
	    "      --store-state FILE     keep the store's tree in FILE across restarts\n"
	    "  -f, --foreground           accepted for compatibility (always in the foreground)\n"
	    "  -v, --verbose              log every connection and domain, not just problems\n"
	    "  -h, --help                 show this help and exit\n"
	    "  -V, --version              show the version and exit\n\n"
	    "Logs go to standard error. SIGTERM or SIGINT stop the broker (and the\n"
	    "store) and remove the sockets.\n");
}

/* The store asks who an accepted client is: the domain its process holds
 * at the broker, if any (it must have connected here first). */
static int domain_at_broker(void *ctx, pid_t pid, uid_t uid, gid_t gid, uint32_t *domid)
{
	sdrv_domid_t d;
	int r;

	(void)gid;
	r = sdrv_broker_domain_of(ctx, pid, uid, &d);
	if (r < 0)
		return r;
	*domid = d;
	return 0;
}

static void log_store(void *ctx, int level, const char *msg)
{
	char buf[600];

	snprintf(buf, sizeof(buf), "store: %s", msg);
	log_stderr(ctx, level, buf);
}

static int parse_uid(const char *s, uid_t *uid)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v >= (unsigned long)(uid_t)-1 || s[0] == '-')
		return -1;
	*uid = (uid_t)v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"privileged-uid", required_argument, NULL, 'p'},
	    {"store", required_argument, NULL, 'S'},
	    {"run-store", required_argument, NULL, 'R'},
	    {"store-state", required_argument, NULL, 'T'},
	    {"foreground", no_argument, NULL, 'f'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct sdrv_broker_opts o = {.sz = sizeof(o)};
	uid_t uids[MAX_PRIV_UIDS];
	size_t nr_uids = 0;
	const char *path = getenv("SPLITDRV_BROKER");
	struct sdrv_broker *b;
	struct sdrv_store *st = NULL;
	struct sdrv_store_opts so = {.sz = sizeof(so)};
	struct sigaction sa = {.sa_handler = on_signal};
	struct rlimit rl;
	int c, r = 0;

	while ((c = getopt_long(argc, argv, "s:p:S:fvhV", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			path = optarg;
			break;
		case 'p':
			if (nr_uids == MAX_PRIV_UIDS || parse_uid(optarg, &uids[nr_uids]) < 0) {
				fprintf(stderr, "splitdrvd: bad or too many --privileged-uid: %s\n",
					optarg);
				return 2;
			}
			nr_uids++;
			break;
		case 'S':
			o.store_address = optarg;
			break;
		case 'R':
			so.path = optarg;
			o.store_address = optarg;
			break;
		case 'T':
			so.state_file = optarg;
			break;
		case 'f':
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("splitdrvd (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "splitdrvd: unexpected argument: %s\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (so.state_file && !so.path) {
		fprintf(stderr, "splitdrvd: --store-state needs --run-store\n");
		usage(stderr);
		return 2;
	}
	if (!path || !*path)
		path = DEFAULT_SOCKET;
	o.path = path;
	if (nr_uids) {
		o.privileged_uids = uids;
		o.nr_privileged_uids = nr_uids;
	}
	o.log = log_stderr;

	/* Each unbound port and each domain's table and pool hold a descriptor. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	b = sdrv_broker_new(&o);
	if (!b) {
		fprintf(stderr, "splitdrvd: cannot listen on %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (so.path) {
		if (nr_uids) {
			so.privileged_uids = uids;
			so.nr_privileged_uids = nr_uids;
		}
		so.peer_domain = domain_at_broker;
		so.peer_domain_ctx = b;
		so.log = log_store;
		so.log_level = verbose ? LOG_DEBUG : LOG_NOTICE;
		st = sdrv_store_new(&so);
		if (!st) {
			fprintf(stderr, "splitdrvd: cannot serve the store on %s: %s\n", so.path,
				strerror(errno));
			sdrv_broker_free(b);
			return 1;
		}
		fprintf(stderr, "splitdrvd: store on %s\n", so.path);
	}
	if (!verbose) /* the broker logs it itself when verbose */
		fprintf(stderr, "splitdrvd: listening on %s\n", path);
	while (!stop_signal) {
		struct pollfd pfd[2] = {{.fd = sdrv_broker_fd(b), .events = POLLIN},
					{.fd = st ? sdrv_store_fd(st) : -1, .events = POLLIN}};

		if (poll(pfd, 2, 1000) < 0 && errno != EINTR) {
			fprintf(stderr, "splitdrvd: poll: %s\n", strerror(errno));
			r = -errno;
			break;
		}
		/* The broker first: a process that just connected to both is a
		 * domain before the store asks who it is. */
		r = sdrv_broker_run(b, 0);
		if (r < 0) {
			fprintf(stderr, "splitdrvd: broker failed: %s\n", strerror(-r));
			break;
		}
		if (st && (r = sdrv_store_run(st, 0)) < 0) {
			fprintf(stderr, "splitdrvd: store failed: %s\n", strerror(-r));
			break;
		}
	}
	if (stop_signal)
		fprintf(stderr, "splitdrvd: %s, stopping\n", strsignal(stop_signal));
	if (st)
		sdrv_store_free(st);
	sdrv_broker_free(b);
	return r < 0 ? 1 : 0;
}
