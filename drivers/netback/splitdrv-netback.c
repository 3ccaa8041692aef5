/* SPDX-License-Identifier: MIT */
/*
 * splitdrv-netback: netback as a daemon (see splitdrv-netback(8)). It joins
 * the transport as the backend domain, connects to the store, and serves
 * every vif device under /local/domain/<domid>/backend/vif until SIGTERM,
 * each as a TAP interface vif<FE>.<HANDLE> in its network namespace.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <splitdrv/netback.h>
#include <splitdrv/transport.h>
#include <splitdrv/xs.h>

#include "../common/daemon.h"
#include "config.h"

#define MAX_VIFS 1024

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: splitdrv-netback [OPTION]...\n"
		"Serve split network devices: every vif whose backend directory is under\n"
		"/local/domain/DOMID/backend/vif, to frontends speaking Xen's netif protocol,\n"
		"each as a TAP interface vif<FE>.<HANDLE> (in the bridge its bridge key names).\n\n"
		"  -b, --broker ADDRESS     the transport's address (POSIX: the broker's\n"
		"                           socket; default $SPLITDRV_BROKER, then\n"
		"                           /run/splitdrv/broker.sock)\n"
		"  -d, --domid N            the backend's domain (default 0)\n"
		"  -s, --store PATH         the store's socket (default: the transport's\n"
		"                           store address, else as libxenstore finds it)\n"
		"      --stats-dir DIR      keep a file DIR/vif<FE>.<HANDLE> of counters\n"
		"                           (key=value lines), rewritten every second and\n"
		"                           on SIGUSR1, removed at exit\n"
		"      --log-class LIST     log these frames on every interface: a comma-\n"
		"                           separated list of tcp-syn, arp, icmp, dhcp, all\n"
		"                           (a device's log key adds its own)\n"
		"      --log-rate N         classifier lines per second per interface\n"
		"                           (default 20; beyond them they are counted)\n"
		"      --no-gso             do not offer segmentation offload\n"
		"      --hotplug-status     write hotplug-status = connected, as Xen's\n"
		"                           hotplug scripts do\n"
		"  -v, --verbose            log every state change too\n"
		"  -h, --help               show this help and exit\n"
		"  -V, --version            show the version and exit\n\n"
		"Logs go to standard error. SIGTERM or SIGINT close every device orderly\n"
		"(waiting up to 5 s for the frontends), remove the TAPs and exit 0.\n");
}

/* --------------------------- the stats files -------------------------- */

static const char *stats_dir;

static int is_stats_name(const char *n)
{
	unsigned int a, b;
	char end;

	return sscanf(n, "vif%u.%u%c", &a, &b, &end) == 2;
}

static void write_stats(const struct sdrv_netback *nb)
{
	static struct sdrv_netback_vif_info info[MAX_VIFS];
	char path[PATH_MAX], tmp[PATH_MAX];
	uint32_t n = sdrv_netback_list(nb, info, MAX_VIFS);
	struct dirent *de;
	DIR *d;

	if (n > MAX_VIFS)
		n = MAX_VIFS;
	for (uint32_t i = 0; i < n; i++) {
		const struct sdrv_netback_vif_info *v = &info[i];
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", stats_dir, v->ifname);
		snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", stats_dir, v->ifname);
		if (!(f = fopen(tmp, "w")))
			continue;
#define U(k) fprintf(f, #k "=%llu\n", (unsigned long long)v->k)
		fprintf(f, "frontend=%u\nhandle=%u\nstate=%d\nconnected=%d\nifindex=%d\n",
			v->frontend, v->handle, (int)v->state, v->connected, v->ifindex);
		U(rate_bytes);
		U(rate_usec);
		fprintf(f, "log_classes=%u\n", v->log_classes);
		U(tx_packets);
		U(tx_bytes);
		U(tx_gso);
		U(rx_packets);
		U(rx_bytes);
		U(rx_gso);
		U(tx_dropped_spoof);
		U(spoof_mac);
		U(spoof_ipv4);
		U(spoof_arp);
		U(spoof_ipv6);
		U(tx_dropped_error);
		U(rx_dropped_error);
		U(rx_dropped_mcast);
		U(tx_throttled);
		U(logged);
		U(log_suppressed);
		U(spurious);
#undef U
		fprintf(f, "broken=%s\n", v->broken ? v->broken : "");
		if (fclose(f) != 0 || rename(tmp, path) != 0)
			unlink(tmp);
	}
	/* files of interfaces that went */
	if (!(d = opendir(stats_dir)))
		return;
	while ((de = readdir(d))) {
		uint32_t i;

		if (!is_stats_name(de->d_name))
			continue;
		for (i = 0; i < n; i++)
			if (!strcmp(info[i].ifname, de->d_name))
				break;
		if (i == n) {
			snprintf(path, sizeof(path), "%s/%s", stats_dir, de->d_name);
			unlink(path);
		}
	}
	closedir(d);
}

static void remove_stats(void)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(stats_dir);

	if (!d)
		return;
	while ((de = readdir(d)))
		if (is_stats_name(de->d_name)) {
			snprintf(path, sizeof(path), "%s/%s", stats_dir, de->d_name);
			unlink(path);
		}
	closedir(d);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"broker", required_argument, NULL, 'b'},
	    {"domid", required_argument, NULL, 'd'},
	    {"store", required_argument, NULL, 's'},
	    {"stats-dir", required_argument, NULL, 'S'},
	    {"log-class", required_argument, NULL, 'L'},
	    {"log-rate", required_argument, NULL, 'R'},
	    {"no-gso", no_argument, NULL, 'G'},
	    {"hotplug-status", no_argument, NULL, 'H'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct sdrv_xport_opts xo = {.sz = sizeof(xo), .domid = 0};
	struct sdrv_netback_opts no = {.sz = sizeof(no)};
	const char *store = NULL;
	struct sdrv_netback *nb;
	struct sdrv_xport *x;
	struct sdrv_xs *xs;
	uint64_t next_stats = 0;
	uint32_t v;
	int c, r = 0;

	drv_prog = "splitdrv-netback";
	while ((c = getopt_long(argc, argv, "b:d:s:vhV", lo, NULL)) != -1) {
		switch (c) {
		case 'b':
			xo.address = optarg;
			break;
		case 'd':
			if (drv_parse_num(optarg, 0x7fef, &v) < 0)
				goto bad;
			xo.domid = (sdrv_domid_t)v;
			break;
		case 's':
			store = optarg;
			break;
		case 'S':
			stats_dir = optarg;
			break;
		case 'L':
			if (sdrv_netback_parse_classes(optarg, &no.log_classes) < 0)
				goto bad;
			break;
		case 'R':
			if (drv_parse_num(optarg, 100000, &no.log_rate) < 0 || !no.log_rate)
				goto bad;
			break;
		case 'G':
			no.flags |= SDRV_NETBACK_NO_GSO;
			break;
		case 'H':
			no.flags |= SDRV_NETBACK_HOTPLUG_STATUS;
			break;
		case 'v':
			drv_verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			drv_print_version();
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (drv_no_more_args(argc, argv, usage))
		return 2;
	if (stats_dir && access(stats_dir, W_OK) != 0) {
		fprintf(stderr, "splitdrv-netback: --stats-dir %s: %s\n", stats_dir,
			strerror(errno));
		return 2;
	}
	drv_signals(true);

	if (xo.domid == 0)
		xo.flags |= SDRV_XPORT_PRIVILEGED;
	xo.grant_pages = 16; /* a backend maps and copies; it shares next to nothing */
	if (drv_join(&xo, store, &x, &xs) < 0)
		return 1;
	no.xport = x;
	no.xs = xs;
	no.log = drv_log;
	nb = sdrv_netback_new(&no);
	if (!nb) {
		fprintf(stderr, "splitdrv-netback: cannot start: %s\n", strerror(errno));
		sdrv_xs_close(xs);
		sdrv_xport_close(x);
		return 1;
	}
	while (!drv_stop_signal) {
		struct pollfd pfd = {.fd = sdrv_netback_fd(nb), .events = POLLIN};
		int t = sdrv_netback_timeout(nb);
		uint64_t now;

		if (stats_dir && (t < 0 || t > 1000))
			t = 1000;
		if (poll(&pfd, 1, t) < 0 && errno != EINTR) {
			fprintf(stderr, "splitdrv-netback: poll: %s\n", strerror(errno));
			r = -errno;
			break;
		}
		if ((r = sdrv_netback_process(nb)) < 0)
			break;
		now = now_ms();
		if (stats_dir && (drv_usr1_signal || now >= next_stats)) {
			drv_usr1_signal = 0;
			next_stats = now + 1000;
			write_stats(nb);
		}
	}
	if (drv_stop_signal)
		fprintf(stderr, "splitdrv-netback: %s, closing the devices\n",
			strsignal(drv_stop_signal));
	sdrv_netback_free(nb, 5000);
	if (stats_dir)
		remove_stats();
	sdrv_xs_close(xs);
	sdrv_xport_close(x);
	return r < 0 ? 1 : 0;
bad:
	fprintf(stderr, "splitdrv-netback: bad value for --%s: %s\n",
		c == 'd'   ? "domid"
		: c == 'L' ? "log-class"
			   : "log-rate",
		optarg);
	usage(stderr);
	return 2;
}
