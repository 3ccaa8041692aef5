/* SPDX-License-Identifier: MIT */
/*
 * splitdrv-xenstored: the store (xenstore protocol server) as a daemon
 * (see splitdrv-xenstored(8) and doc/store.md).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <splitdrv/store.h>

#include "config.h"

#define DEFAULT_SOCKET "/run/splitdrv/xenstored.socket"
#define MAX_UIDS       64
#define MAX_QUOTAS     32

static volatile sig_atomic_t stop_signal;
static int use_syslog;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static const char *const level_names[] = {"emerg",   "alert",  "crit", "error",
					  "warning", "notice", "info", "debug"};

static void log_msg(void *ctx, int level, const char *msg)
{
	(void)ctx;
	if (use_syslog)
		syslog(level, "%s", msg);
	else
		fprintf(stderr, "splitdrv-xenstored: %s: %s\n", level_names[level & 7], msg);
}

__attribute__((format(printf, 2, 3))) static void say(int level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_msg(NULL, level, msg);
}

/* An absolute version of `p` (the daemon changes to / when it detaches). */
static char *absolute(const char *p)
{
	char cwd[PATH_MAX], *out;

	if (p[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		return strdup(p);
	if (asprintf(&out, "%s/%s", cwd, p) < 0)
		return NULL;
	return out;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: splitdrv-xenstored [OPTION]...\n"
		"A xenstore-protocol server: Xen's store clients (libxenstore, xenstore-utils,\n"
		"pyxs) and libsplitdrv's talk to it on a unix socket.\n\n"
		"  -s, --socket PATH          listen on PATH (default: $XENSTORED_PATH, then\n"
		"                             " DEFAULT_SOCKET ")\n"
		"  -S, --state FILE           keep the tree in FILE across restarts\n"
		"  -f, --foreground           stay in the foreground and log to standard error\n"
		"                             (otherwise: detach and log to syslog)\n"
		"  -p, --privileged-uid UID   connections of UID are the privileged domain 0\n"
		"                             (repeatable; default: root and the daemon's uid)\n"
		"  -u, --uid-domain UID:DOMID connections of UID are the unprivileged domain\n"
		"                             DOMID (repeatable)\n"
		"  -Q, --quota NAME=VALUE     set a quota or limit (repeatable): nodes,\n"
		"                             node-size, watches, transactions, outstanding,\n"
		"                             transaction-nodes, path-max, permissions, memory,\n"
		"                             watch-events, unread-bytes, stuck-timeout,\n"
		"                             connections; VALUE 'unlimited' switches one off\n"
		"  -l, --log-level LEVEL      error, warning, notice, info (default) or debug\n"
		"  -h, --help                 show this help and exit\n"
		"  -V, --version              show the version and exit\n\n"
		"SIGTERM or SIGINT write the state file, remove the socket and exit 0.\n");
}

static int parse_u32(const char *s, uint32_t *v)
{
	char *end;
	unsigned long x;

	if (!strcmp(s, "unlimited")) {
		*v = SDRV_STORE_UNLIMITED;
		return 0;
	}
	errno = 0;
	x = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || x > UINT32_MAX)
		return -1;
	*v = (uint32_t)x;
	return 0;
}

static int parse_level(const char *s)
{
	if (!strcmp(s, "err"))
		return LOG_ERR;
	for (int i = LOG_ERR; i <= LOG_DEBUG; i++)
		if (!strcmp(s, level_names[i]))
			return i;
	return -1;
}

/* Create the socket's directory (one level) if it is missing. */
static void make_dir_for(const char *path)
{
	char *dir = strdup(path), *slash;

	if (!dir)
		return;
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) != 0 && errno != EEXIST)
			say(LOG_WARNING, "cannot create %s: %s", dir, strerror(errno));
	}
	free(dir);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"state", required_argument, NULL, 'S'},
	    {"foreground", no_argument, NULL, 'f'},
	    {"privileged-uid", required_argument, NULL, 'p'},
	    {"uid-domain", required_argument, NULL, 'u'},
	    {"quota", required_argument, NULL, 'Q'},
	    {"log-level", required_argument, NULL, 'l'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct sdrv_store_opts o = {.sz = sizeof(o)};
	uid_t priv[MAX_UIDS];
	struct sdrv_store_uid_domain map[MAX_UIDS];
	char *quotas[MAX_QUOTAS];
	size_t npriv = 0, nmap = 0, nquotas = 0;
	const char *path = getenv("XENSTORED_PATH");
	bool foreground = false;
	int level = LOG_INFO, c, r = 0;
	struct sdrv_store *s;
	struct sigaction sa = {.sa_handler = on_signal};
	char *sock_abs = NULL, *state_abs = NULL;

	while ((c = getopt_long(argc, argv, "s:S:fp:u:Q:l:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			path = optarg;
			break;
		case 'S':
			o.state_file = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case 'p': {
			uint32_t v;

			if (npriv == MAX_UIDS || parse_u32(optarg, &v) < 0 ||
			    v == SDRV_STORE_UNLIMITED) {
				fprintf(stderr, "splitdrv-xenstored: bad --privileged-uid %s\n",
					optarg);
				return 2;
			}
			priv[npriv++] = (uid_t)v;
			break;
		}
		case 'u': {
			char *colon = strchr(optarg, ':');
			uint32_t uid, domid;

			if (colon)
				*colon = '\0';
			if (nmap == MAX_UIDS || !colon || parse_u32(optarg, &uid) < 0 ||
			    parse_u32(colon + 1, &domid) < 0 || uid == SDRV_STORE_UNLIMITED ||
			    domid == 0 || domid >= 0x7FF0) {
				fprintf(stderr,
					"splitdrv-xenstored: bad --uid-domain (UID:DOMID, DOMID "
					"1..32751)\n");
				return 2;
			}
			map[nmap].uid = (uid_t)uid;
			map[nmap].domid = domid;
			nmap++;
			break;
		}
		case 'Q':
			if (nquotas == MAX_QUOTAS || !strchr(optarg, '=')) {
				fprintf(stderr, "splitdrv-xenstored: bad --quota %s (NAME=VALUE)\n",
					optarg);
				return 2;
			}
			quotas[nquotas++] = optarg;
			break;
		case 'l':
			level = parse_level(optarg);
			if (level < 0) {
				fprintf(stderr, "splitdrv-xenstored: bad --log-level %s\n", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("splitdrv-xenstored (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "splitdrv-xenstored: unexpected argument: %s\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (!path || !*path) {
		path = DEFAULT_SOCKET;
		make_dir_for(path);
	}
	sock_abs = absolute(path);
	state_abs = o.state_file ? absolute(o.state_file) : NULL;
	if (!sock_abs || (o.state_file && !state_abs)) {
		fprintf(stderr, "splitdrv-xenstored: out of memory\n");
		return 1;
	}
	o.path = path = sock_abs;
	o.state_file = state_abs;
	if (npriv) {
		o.privileged_uids = priv;
		o.nr_privileged_uids = npriv;
	}
	if (nmap) {
		o.uid_domains = map;
		o.nr_uid_domains = nmap;
	}
	o.log = log_msg;
	o.log_level = level;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	s = sdrv_store_new(&o);
	if (!s) {
		say(LOG_ERR, "cannot start on %s: %s", path, strerror(errno));
		free(sock_abs);
		free(state_abs);
		return 1;
	}
	for (size_t i = 0; i < nquotas; i++) {
		char *eq = strchr(quotas[i], '=');
		uint32_t v;

		*eq = '\0';
		r = parse_u32(eq + 1, &v) < 0 ? -EINVAL : sdrv_store_set_quota(s, quotas[i], v);
		if (r < 0) {
			say(LOG_ERR, "bad quota %s=%s: %s", quotas[i], eq + 1,
			    r == -ENOENT ? "unknown name" : "bad value");
			sdrv_store_free(s);
			free(sock_abs);
			free(state_abs);
			return 2;
		}
	}
	/* Detach only once the socket listens: whoever started the daemon
	 * can connect as soon as it returns. */
	if (!foreground) {
		if (daemon(0, 0) != 0) {
			say(LOG_ERR, "cannot detach: %s", strerror(errno));
			sdrv_store_free(s);
			free(sock_abs);
			free(state_abs);
			return 1;
		}
		use_syslog = 1;
		openlog("splitdrv-xenstored", LOG_PID, LOG_DAEMON);
	}
	say(LOG_NOTICE, "ready on %s%s%s", path, o.state_file ? ", state in " : "",
	    o.state_file ? o.state_file : "");
	r = 0;
	while (!stop_signal) {
		r = sdrv_store_run(s, 1000);
		if (r < 0) {
			say(LOG_ERR, "store failed: %s", strerror(-r));
			break;
		}
	}
	if (stop_signal)
		say(LOG_NOTICE, "%s, stopping", strsignal(stop_signal));
	sdrv_store_free(s);
	free(sock_abs);
	free(state_abs);
	if (use_syslog)
		closelog();
	return r < 0 ? 1 : 0;
}
