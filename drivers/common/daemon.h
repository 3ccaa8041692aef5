/* SPDX-License-Identifier: MIT */
/*
 * What every driver daemon's main() has (splitdrv-blkback, splitdrv-netback,
 * splitdrv-netfront): signals that ask it to stop, the log sink, --version,
 * the check for stray arguments, and joining the transport and the store
 * with messages that say which failed. Linked into the daemons only.
 */
#ifndef SDRV_DRIVERS_DAEMON_H
#define SDRV_DRIVERS_DAEMON_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <splitdrv/transport.h>
#include <splitdrv/xs.h>

/* The daemon's name, the prefix of every line it prints; set first. */
extern const char *drv_prog;
/* 1 with --verbose: debug lines too. */
extern int drv_verbose;
/* The signal that asked the daemon to stop (SIGTERM, SIGINT), or 0. */
extern volatile sig_atomic_t drv_stop_signal;
/* Set by SIGUSR1 when drv_signals(true) caught it; the daemon clears it. */
extern volatile sig_atomic_t drv_usr1_signal;

/* SIGTERM and SIGINT set drv_stop_signal, SIGUSR1 (if `usr1`) sets
 * drv_usr1_signal; SIGPIPE is ignored (a peer gone is an error return). */
void drv_signals(bool usr1);

/* The library log sink: "PROG: LEVEL: MESSAGE", debug only when verbose. */
void drv_log(void *ctx, int level, const char *msg);

/* --version's line. */
void drv_print_version(void);

/* A decimal number of at most `max`, digits only: 0, or -1. */
int drv_parse_num(const char *s, unsigned long max, uint32_t *out);

/* After getopt: 0, or 2 (with usage on stderr) if an argument is left. */
int drv_no_more_args(int argc, char **argv, void (*usage)(FILE *));

/*
 * Join the transport as xo->domid (POSIX) and connect to the store at
 * `store` (NULL: the address the transport gives), logging through
 * drv_log. 0, or -1 after a message saying which step failed (nothing is
 * left open).
 */
int drv_join(struct sdrv_xport_opts *xo, const char *store, struct sdrv_xport **x,
	     struct sdrv_xs **xs);

#endif
