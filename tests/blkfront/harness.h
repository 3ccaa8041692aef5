/* SPDX-License-Identifier: MIT */
/*
 * The blkfront tests' world, with real processes and sockets:
 *
 *   hv        the hypervisor's part: the POSIX transport's broker and the
 *             store, each on a socket in a fresh temporary directory (a
 *             process forked first, so nobody inherits their descriptors)
 *   launcher  a clean process (forked second) that forks test backends on
 *             request and reaps them
 *   backend   a test backend (testback.c) in domain TH_BE_DOM: a small but
 *             real blkback that serves a RAM disk and misbehaves on demand
 *   the test  the toolstack (domain 0 on its store connection) and the
 *             frontend (domain TH_FE_DOM on the transport)
 *
 * Each backend works from a slot in shared memory: a control block (its
 * configuration, the misbehaviour asked for, its counters) and the RAM
 * disk, which outlives the backend process, so a backend started after
 * one was killed serves the same data.
 */
#ifndef SDRV_TESTS_BLKFRONT_HARNESS_H
#define SDRV_TESTS_BLKFRONT_HARNESS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <splitdrv/blkfront.h>
#include <splitdrv/transport.h>
#include <splitdrv/xs.h>

#define TH_FE_DOM    1
#define TH_BE_DOM    2
#define TH_SLOTS     4
#define TH_DISK_MAX  (64u << 20)
#define TH_CTL_BYTES (1u << 16)

/* Backend misbehaviour (tb_ctl::evil), applied to the next response (or
 * the next batch) and then cleared, except TB_STORM and TB_LEAK_MAPS. */
enum tb_evil {
	TB_NONE = 0,
	TB_BAD_ID,     /* answer with an id that is not outstanding */
	TB_DUP,	       /* answer the first of two requests twice */
	TB_WRONG_OP,   /* answer with another operation */
	TB_BAD_STATUS, /* answer with status 7 */
	TB_PROD_JUMP,  /* move rsp_prod 100 past what was answered */
	TB_STORM,      /* notify without answering for evil_arg ms */
	TB_LEAK_MAPS,  /* keep fresh grants mapped after answering */
};

/* tb_cfg::gwhen: when the garbage key is written. */
#define TB_G_PUBLISH 1 /* with the features, before InitWait */
#define TB_G_CONNECT 2 /* with the device keys, before Connected */
/* tb_cfg::gval meaning "remove the key". */
#define TB_ABSENT "<absent>"
/* tb_cfg numeric fields: do not write the key. */
#define TB_NOKEY UINT32_MAX

struct tb_cfg {
	uint32_t devid;
	uint64_t sectors;
	uint32_t sector_size, phys_sector_size, info;
	uint32_t max_ring_order; /* TB_NOKEY: no max-ring-page-order */
	uint32_t max_queues;	 /* TB_NOKEY: no multi-queue-max-queues */
	uint32_t max_indirect;	 /* 0: no feature-max-indirect-segments */
	bool persistent, flush, barrier, discard, discard_secure;
	uint32_t discard_gran, discard_align;
	char gkey[64], gval[64];
	uint32_t gwhen;
};

/* One request as the backend saw it (tb_ctl::log). */
struct tb_logent {
	uint8_t op; /* wire operation (INDIRECT: its indirect_op) */
	uint8_t indirect;
	uint16_t nsegs;
	uint32_t answered_before; /* responses pushed before it arrived */
	uint64_t sector, nr_sectors;
	uint32_t flag;
};

#define TB_LOG 1024

struct tb_ctl {
	struct tb_cfg cfg;
	_Atomic uint32_t evil, evil_arg;
	_Atomic uint32_t hold; /* take requests but do not answer them */
	/* what the backend saw */
	_Atomic uint32_t running, connects, disconnects, connected;
	_Atomic uint32_t fe_order, fe_queues, fe_persistent, fe_protocol_ok, fe_toplevel_ref;
	_Atomic uint64_t reqs, reads, writes, barriers, flushes, discards, indirect, answered;
	_Atomic uint32_t max_segs, held;
	_Atomic uint32_t data_grefs, ind_grefs; /* distinct grant refs seen */
	_Atomic uint64_t storm_sent;
	_Atomic uint32_t storm_done;
	_Atomic uint32_t nlog;
	struct tb_logent log[TB_LOG];
	_Atomic uint32_t exited;
	_Atomic int32_t exit_status;
	_Atomic int32_t pid;
	char fail[256];
};

struct th_slot {
	struct tb_ctl *ctl;
	unsigned char *disk;
};

/* The world (the test process's view). */
struct th {
	char dir[64], broker[96], store[96];
	pid_t hv, launcher;
	int cmd_fd, rep_fd;
	struct sdrv_xs *tool; /* domain 0 */
	struct sdrv_xport *x; /* the frontend's domain */
	struct sdrv_xs *fxs;  /* the frontend's store connection */
	struct th_slot slot[TH_SLOTS];
};

/* Failure: message, then exit(1) of the calling process. */
void th_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void th_failx(const char *file, int line, const char *cond, const char *fmt, ...)
    __attribute__((format(printf, 4, 5), noreturn));
#define TH_CHECK(cond, ...)                                                                        \
	do {                                                                                       \
		if (!(cond))                                                                       \
			th_failx(__FILE__, __LINE__, #cond, __VA_ARGS__);                          \
	} while (0)

/* Start hv and launcher, connect the toolstack, write the domains' homes.
 * With `frontend`, also open the frontend's transport and store. */
void th_start(struct th *t, bool frontend);
void th_stop(struct th *t);

/* A default configuration: a 16 MiB disk, everything offered. */
void th_default_cfg(struct tb_cfg *c, uint32_t devid);

/* Reset slot `s` (counters, knobs; the disk is kept unless `wipe`) and set
 * its configuration. */
void th_slot_setup(struct th *t, unsigned s, const struct tb_cfg *c, bool wipe);

/* The toolstack: create/remove the device of slot `s` (vbd, fe 1, be 2). */
void th_dev_create(struct th *t, uint32_t devid);
void th_dev_remove(struct th *t, uint32_t devid);
void th_dev_shutdown(struct th *t, uint32_t devid);

/* Start a backend on slot `s` (it serves the slot's cfg.devid). */
pid_t th_backend_start(struct th *t, unsigned s);
/* SIGTERM (orderly) or SIGKILL it and wait until it is gone. */
void th_backend_stop(struct th *t, unsigned s, bool kill9);

/* A frontend on the test's transport and store, for `devid`. */
struct sdrv_blkfront *th_front(struct th *t, uint32_t devid,
			       void (*tweak)(struct sdrv_blkfront_opts *o));
/* Drive the frontend until `*flag` or timeout (ms, scaled under valgrind). */
void th_drive_until(struct sdrv_blkfront *f, volatile bool *flag, unsigned ms, const char *what);
/* Drive for `ms` milliseconds. */
void th_drive_for(struct sdrv_blkfront *f, unsigned ms);
/* Wait (polling shared memory, driving `f` if not NULL) until cond(). */
void th_wait(struct sdrv_blkfront *f, bool (*cond)(void *), void *arg, unsigned ms,
	     const char *what);

/* Milliseconds, times 20 under valgrind. */
unsigned th_ms(unsigned ms);
/* Open descriptors of this process. */
int th_count_fds(void);
/* Read a key below a directory, NULL if absent (free() it). */
char *th_read(struct th *t, const char *dir, const char *key);

/* testback.c: serve slot `ctl`/`disk` as domain TH_BE_DOM; returns the
 * exit status. */
int tb_main(const char *broker, struct tb_ctl *ctl, unsigned char *disk);

#endif
