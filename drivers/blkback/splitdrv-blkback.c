/* SPDX-License-Identifier: MIT */
/*
 * splitdrv-blkback: blkback as a daemon (see splitdrv-blkback(8)). It joins
 * the transport as the backend domain, connects to the store, and serves
 * every vbd device under /local/domain/<domid>/backend/vbd until SIGTERM.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <splitdrv/blkback.h>
#include <splitdrv/transport.h>
#include <splitdrv/xs.h>

#include "../common/daemon.h"
#include "config.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: splitdrv-blkback [OPTION]...\n"
		"Serve split block devices: every vbd whose backend directory is under\n"
		"/local/domain/DOMID/backend/vbd, from the image file or block device its\n"
		"params key names, to frontends speaking Xen's blkif protocol.\n\n"
		"  -b, --broker ADDRESS         the transport's address (POSIX: the broker's\n"
		"                               socket; default $SPLITDRV_BROKER, then\n"
		"                               /run/splitdrv/broker.sock)\n"
		"  -d, --domid N                the backend's domain (default 0)\n"
		"  -s, --store PATH             the store's socket (default: the transport's\n"
		"                               store address, else as libxenstore finds it)\n"
		"  -q, --max-queues N           offer N queues (multi-queue-max-queues, 1..16,\n"
		"                               default 4)\n"
		"  -o, --max-ring-page-order N  offer rings of 2^N pages (1..4, default 4)\n"
		"  -i, --max-indirect-segments N  offer N segments per indirect request\n"
		"                               (1..4096, default 256; 0: no indirect requests)\n"
		"  -g, --max-persistent-grants N  persistent grants kept per queue (default 1056)\n"
		"      --no-persistent          do not offer persistent grants\n"
		"      --no-discard             do not offer discard\n"
		"      --direct                 open images with O_DIRECT\n"
		"      --hotplug-status         write hotplug-status = connected, as Xen's\n"
		"                               hotplug scripts do\n"
		"  -v, --verbose                log every state change too\n"
		"  -h, --help                   show this help and exit\n"
		"  -V, --version                show the version and exit\n\n"
		"Logs go to standard error. SIGTERM or SIGINT close every device orderly\n"
		"(waiting up to 5 s for the frontends) and exit 0.\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"broker", required_argument, NULL, 'b'},
	    {"domid", required_argument, NULL, 'd'},
	    {"store", required_argument, NULL, 's'},
	    {"max-queues", required_argument, NULL, 'q'},
	    {"max-ring-page-order", required_argument, NULL, 'o'},
	    {"max-indirect-segments", required_argument, NULL, 'i'},
	    {"max-persistent-grants", required_argument, NULL, 'g'},
	    {"no-persistent", no_argument, NULL, 'P'},
	    {"no-discard", no_argument, NULL, 'D'},
	    {"direct", no_argument, NULL, 'O'},
	    {"hotplug-status", no_argument, NULL, 'H'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct sdrv_xport_opts xo = {.sz = sizeof(xo), .domid = 0};
	struct sdrv_blkback_opts bo = {.sz = sizeof(bo)};
	const char *store = NULL;
	struct sdrv_xport *x;
	struct sdrv_xs *xs;
	struct sdrv_blkback *b;
	uint32_t v;
	int c, r = 0;

	drv_prog = "splitdrv-blkback";
	while ((c = getopt_long(argc, argv, "b:d:s:q:o:i:g:vhV", lo, NULL)) != -1) {
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
		case 'q':
			if (drv_parse_num(optarg, 16, &bo.max_queues) < 0 || !bo.max_queues)
				goto bad;
			break;
		case 'o':
			if (drv_parse_num(optarg, 4, &bo.max_ring_page_order) < 0 ||
			    !bo.max_ring_page_order)
				goto bad;
			break;
		case 'i':
			if (drv_parse_num(optarg, 4096, &bo.max_indirect_segments) < 0)
				goto bad;
			if (!bo.max_indirect_segments)
				bo.flags |= SDRV_BLKBACK_NO_INDIRECT;
			break;
		case 'g':
			if (drv_parse_num(optarg, 1u << 20, &bo.max_persistent_grants) < 0 ||
			    !bo.max_persistent_grants)
				goto bad;
			break;
		case 'P':
			bo.flags |= SDRV_BLKBACK_NO_PERSISTENT;
			break;
		case 'D':
			bo.flags |= SDRV_BLKBACK_NO_DISCARD;
			break;
		case 'O':
			bo.flags |= SDRV_BLKBACK_DIRECT;
			break;
		case 'H':
			bo.flags |= SDRV_BLKBACK_HOTPLUG_STATUS;
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
	drv_signals(false);

	if (xo.domid == 0)
		xo.flags |= SDRV_XPORT_PRIVILEGED;
	xo.grant_pages = 16; /* a backend maps; it shares next to nothing */
	if (drv_join(&xo, store, &x, &xs) < 0)
		return 1;
	bo.xport = x;
	bo.xs = xs;
	bo.log = drv_log;
	b = sdrv_blkback_new(&bo);
	if (!b) {
		fprintf(stderr, "splitdrv-blkback: cannot start: %s\n", strerror(errno));
		sdrv_xs_close(xs);
		sdrv_xport_close(x);
		return 1;
	}
	while (!drv_stop_signal) {
		struct pollfd pfd = {.fd = sdrv_blkback_fd(b), .events = POLLIN};

		if (poll(&pfd, 1, 1000) < 0 && errno != EINTR) {
			fprintf(stderr, "splitdrv-blkback: poll: %s\n", strerror(errno));
			r = -errno;
			break;
		}
		if ((r = sdrv_blkback_process(b)) < 0)
			break;
	}
	if (drv_stop_signal)
		fprintf(stderr, "splitdrv-blkback: %s, closing the devices\n",
			strsignal(drv_stop_signal));
	sdrv_blkback_free(b, 5000);
	sdrv_xs_close(xs);
	sdrv_xport_close(x);
	return r < 0 ? 1 : 0;
bad:
	fprintf(stderr, "splitdrv-blkback: bad value for -%c: %s\n", c, optarg);
	usage(stderr);
	return 2;
}
