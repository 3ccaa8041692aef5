/* SPDX-License-Identifier: MIT */
/*
 * blkfront-testenv: the blkfront tests' world as a program, for tests that
 * run the frontend elsewhere (the nbdkit plugin): the broker and the store
 * on sockets in a temporary directory, the domains' homes, one vbd device
 * (frontend domain 1, backend domain 2) and the test backend serving it
 * from a RAM disk.
 *
 *   blkfront-testenv --info FILE [--devid N] [--mib N] [--readonly]
 *                    [--no-flush] [--no-discard]
 *
 * Once the backend is up it writes FILE (shell syntax: BROKER=, STORE=,
 * FE_DOMID=, DEVID=, SIZE=) and waits. On SIGTERM or SIGINT it stops the
 * backend orderly, removes the device and exits 0; it prints what the
 * backend saw (requests by kind) on stdout first. It exits 1 if the backend
 * failed or died meanwhile.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/tutil.h"
#include "harness.h"

static volatile sig_atomic_t g_stop;

static void on_stop(int sig)
{
	(void)sig;
	g_stop = 1;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"info", required_argument, NULL, 'i'},
	    {"devid", required_argument, NULL, 'd'},
	    {"mib", required_argument, NULL, 'm'},
	    {"readonly", no_argument, NULL, 'r'},
	    {"no-flush", no_argument, NULL, 'F'},
	    {"no-discard", no_argument, NULL, 'D'},
	    {NULL, 0, NULL, 0},
	};
	const char *info = NULL;
	uint32_t devid = 51712, mib = 16;
	bool readonly = false, flush = true, discard = true;
	struct sigaction sa;
	struct tb_cfg cfg;
	struct tb_ctl *ctl;
	struct th t;
	char tmp[512];
	FILE *fp;
	int c, rc = 0;

	while ((c = getopt_long(argc, argv, "i:d:m:rFD", lo, NULL)) != -1) {
		switch (c) {
		case 'i':
			info = optarg;
			break;
		case 'd':
			devid = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'm':
			mib = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'r':
			readonly = true;
			break;
		case 'F':
			flush = false;
			break;
		case 'D':
			discard = false;
			break;
		default:
			fprintf(stderr,
				"usage: %s --info FILE [--devid N] [--mib N] [--readonly] "
				"[--no-flush] [--no-discard]\n",
				argv[0]);
			return 2;
		}
	}
	if (!info || mib == 0 || ((uint64_t)mib << 20) > TH_DISK_MAX) {
		fprintf(stderr, "%s: --info FILE is required; --mib at most %u\n", argv[0],
			TH_DISK_MAX >> 20);
		return 2;
	}
	tu_watchdog(600, "blkfront-testenv");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	th_start(&t, false);
	th_default_cfg(&cfg, devid);
	cfg.sectors = ((uint64_t)mib << 20) / 512;
	cfg.info = readonly ? 4 : 0;
	cfg.flush = cfg.barrier = flush;
	cfg.discard = discard;
	th_slot_setup(&t, 0, &cfg, true);
	ctl = t.slot[0].ctl;
	th_dev_create(&t, devid);
	th_backend_start(&t, 0);
	while (!atomic_load(&ctl->running) && !atomic_load(&ctl->exited))
		usleep(1000);
	snprintf(tmp, sizeof(tmp), "%s.tmp", info);
	fp = fopen(tmp, "w");
	TH_CHECK(fp, "%s", tmp);
	fprintf(fp, "BROKER=%s\nSTORE=%s\nFE_DOMID=%u\nDEVID=%u\nSIZE=%llu\n", t.broker, t.store,
		TH_FE_DOM, devid, (unsigned long long)cfg.sectors * 512);
	TH_CHECK(fclose(fp) == 0 && rename(tmp, info) == 0, "%s", info);
	while (!g_stop && !atomic_load(&ctl->exited))
		usleep(20000);
	if (atomic_load(&ctl->exited)) {
		fprintf(stderr, "blkfront-testenv: the backend died (%d): %s\n",
			atomic_load(&ctl->exit_status), ctl->fail);
		rc = 1;
	}
	printf("backend: connects=%u reqs=%llu reads=%llu writes=%llu flushes=%llu barriers=%llu "
	       "discards=%llu fail=%s\n",
	       atomic_load(&ctl->connects), (unsigned long long)atomic_load(&ctl->reqs),
	       (unsigned long long)atomic_load(&ctl->reads),
	       (unsigned long long)atomic_load(&ctl->writes),
	       (unsigned long long)atomic_load(&ctl->flushes),
	       (unsigned long long)atomic_load(&ctl->barriers),
	       (unsigned long long)atomic_load(&ctl->discards), ctl->fail[0] ? ctl->fail : "-");
	fflush(stdout);
	if (ctl->fail[0])
		rc = 1;
	if (!atomic_load(&ctl->exited))
		th_backend_stop(&t, 0, false);
	th_dev_remove(&t, devid);
	th_stop(&t);
	unlink(info);
	return rc;
}
