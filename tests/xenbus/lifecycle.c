/* SPDX-License-Identifier: MIT */
/*
 * The xenbus lifecycle across real processes: a store process (the real
 * store, include/splitdrv/store.h), frontend and backend processes running
 * sdrv_xenbus_front / sdrv_xenbus_back with small drivers, and this
 * process as the toolstack. The drivers report through shared memory.
 *
 *   connect    both sides reach Connected on the same publication; the
 *              toolstack's removal (online = 0) closes both
 *   restart    the backend is killed and a new one started: the frontend
 *              reconnects and publishes again
 *   fe-restart the frontend is killed and a new one started: it resets the
 *              state the dead one left, publishes again, and both sides
 *              reach Connected on the new publication
 *   fe-kill    the frontend is killed (or disappears) in every state, a
 *              real one also while it closes the device (Closing); the
 *              toolstack removes its directory or marks it Closed; the
 *              backend disconnects and reaches Closed
 *   race       both sides started and stopped in random order, many times
 *   storm      the frontend's state key rewritten thousands of times costs
 *              the backend a bounded number of reads
 *
 * Exit 0 pass, 1 fail.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <splitdrv/store.h>
#include <splitdrv/xenbus.h>
#include <splitdrv/xs.h>

#include "../common/tutil.h"

#define FE_DOM 7
#define BE_DOM 0
#define TYPE   "vtest"

struct shared {
	/* what the test asks of the next frontend */
	_Atomic int block_publish, block_connect, block_closing;
	/* frontend reports */
	_Atomic int fe_state, fe_pubs, fe_connects, fe_disconnects, fe_ref;
	/* backend reports */
	_Atomic int be_state, be_peer, be_connects, be_disconnects, be_ref, be_port;
	_Atomic int be_errors;
	_Atomic int fe_blocked; /* the frontend sits in a blocked callback */
	_Atomic int be_live;	/* the backend driver is connected */
	char fail[256];
};

static struct shared *sh;
static char store_path[128];
static char store_dir[64];
static pid_t store_pid;
static struct sdrv_xs *tool; /* the toolstack's connection */
static volatile sig_atomic_t g_term;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	if (store_pid > 0)
		kill(store_pid, SIGKILL);
	exit(TU_FAIL);
}

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fail(__VA_ARGS__);                                                         \
	} while (0)

static void on_term(int sig)
{
	(void)sig;
	g_term = 1;
}

/* In a new child: die with the test, handle SIGTERM, drop the parent's
 * connection (the child must not use it). */
static void child_init(void)
{
	struct sigaction sa;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term; /* no SA_RESTART: the wait returns EINTR */
	sigaction(SIGTERM, &sa, NULL);
	if (tool) {
		sdrv_xs_close(tool);
		tool = NULL;
	}
}

static int wait_ms(void)
{
	return tu_under_valgrind() ? 600000 : 30000;
}

/* Wait until `cond` holds, polling the shared memory. */
#define WAIT_UNTIL(cond, ...)                                                                      \
	do {                                                                                       \
		uint64_t t0_ = tu_now_ns();                                                        \
		while (!(cond)) {                                                                  \
			if (tu_now_ns() - t0_ > (uint64_t)wait_ms() * 1000000u)                    \
				fail(__VA_ARGS__);                                                 \
			usleep(1000);                                                              \
		}                                                                                  \
	} while (0)

static struct sdrv_xs *connect_store(void)
{
	struct sdrv_xs_opts o = {.sz = sizeof(o), .timeout_ms = wait_ms()};
	struct sdrv_xs *xs = sdrv_xs_open(store_path, &o);

	CHECK(xs, "connecting to the store: %s", strerror(errno));
	return xs;
}

/* ------------------------------------------------------------------------ */
/* The store process */

static void store_main(void)
{
	struct sdrv_store_opts o = {.sz = sizeof(o), .path = store_path};
	struct sdrv_store *s;

	child_init();
	s = sdrv_store_new(&o);
	if (!s)
		_exit(3);
	while (!g_term)
		if (sdrv_store_run(s, 100) < 0)
			break;
	sdrv_store_free(s);
	_exit(0);
}

static void start_store(void)
{
	snprintf(store_dir, sizeof(store_dir), "/tmp/sdrv-lc-XXXXXX");
	CHECK(mkdtemp(store_dir), "mkdtemp");
	snprintf(store_path, sizeof(store_path), "%s/socket", store_dir);
	store_pid = fork();
	CHECK(store_pid >= 0, "fork");
	if (store_pid == 0)
		store_main();
	/* wait for the socket */
	for (int i = 0; i < 100000; i++) {
		struct sdrv_xs *xs;
		if (access(store_path, F_OK) == 0 && (xs = sdrv_xs_open(store_path, NULL))) {
			sdrv_xs_close(xs);
			return;
		}
		usleep(1000);
	}
	fail("the store did not start");
}

static void stop_store(void)
{
	kill(store_pid, SIGTERM);
	CHECK(tu_wait_child(store_pid) == 0, "store exit");
	store_pid = 0;
	rmdir(store_dir);
}

/* ------------------------------------------------------------------------ */
/* A frontend driver: publishes one ring reference and an event channel,
 * reads the backend's feature when connecting. */

struct fe_drv {
	bool allocated;
	int ref;
};

static int fe_publish(struct sdrv_xenbus_front *fe, uint32_t tx, void *ctx)
{
	struct fe_drv *d = ctx;
	struct sdrv_xs *xs = sdrv_xenbus_front_xs(fe);
	sdrv_grant_ref_t ref;
	int rc;

	if (atomic_load(&sh->block_publish)) {
		atomic_store(&sh->fe_blocked, 1);
		for (;;)
			pause(); /* killed here */
	}
	if (!d->allocated) {
		d->allocated = true;
		d->ref = 1000 + atomic_fetch_add(&sh->fe_pubs, 1);
		atomic_store(&sh->fe_ref, d->ref);
	}
	ref = (sdrv_grant_ref_t)d->ref;
	rc = sdrv_xenbus_write_ring_refs(xs, tx, sdrv_xenbus_front_dir(fe), "ring-ref", &ref, 0);
	if (rc == 0)
		rc = sdrv_xenbus_write_uint(xs, tx, sdrv_xenbus_front_dir(fe), "event-channel", 7);
	return rc;
}

static int fe_connect(struct sdrv_xenbus_front *fe, void *ctx)
{
	bool feat = false;
	int rc;

	(void)ctx;
	if (atomic_load(&sh->block_connect)) {
		atomic_store(&sh->fe_blocked, 1);
		for (;;)
			pause();
	}
	rc = sdrv_xenbus_read_bool(sdrv_xenbus_front_xs(fe), 0, sdrv_xenbus_front_peer_dir(fe),
				   "feature-test", false, &feat);
	if (rc < 0 || !feat)
		return -EPROTO;
	atomic_fetch_add(&sh->fe_connects, 1);
	return 0;
}

static void fe_disconnect(struct sdrv_xenbus_front *fe, void *ctx)
{
	struct fe_drv *d = ctx;

	(void)fe;
	d->allocated = false;
	atomic_fetch_add(&sh->fe_disconnects, 1);
}

static void fe_state(struct sdrv_xenbus_front *fe, enum sdrv_xenbus_state self,
		     enum sdrv_xenbus_state peer, void *ctx)
{
	(void)fe;
	(void)peer;
	(void)ctx;
	atomic_store(&sh->fe_state, (int)self);
	if (self == SDRV_XENBUS_CLOSING && atomic_load(&sh->block_closing)) {
		/* Closing is in the store: stay there until killed */
		atomic_store(&sh->fe_blocked, 1);
		for (;;)
			pause();
	}
}

static void front_main(uint32_t id)
{
	struct fe_drv drv = {0};
	struct sdrv_xenbus_front_opts o = {.sz = sizeof(o)};
	struct sdrv_xenbus_front *fe;
	struct sdrv_xs *xs;
	int rc = 0;

	child_init();
	xs = connect_store();
	o.xs = xs;
	o.domid = FE_DOM;
	o.type = TYPE;
	o.id = id;
	o.publish = fe_publish;
	o.connect = fe_connect;
	o.disconnect = fe_disconnect;
	o.state_changed = fe_state;
	o.ctx = &drv;
	fe = sdrv_xenbus_front_new(&o);
	if (!fe) {
		fprintf(stderr, "frontend: %s\n", strerror(errno));
		sdrv_xs_close(xs);
		_exit(2);
	}
	while (!g_term) {
		rc = sdrv_xs_wait(xs, 200);
		if (rc < 0 && rc != -ETIMEDOUT && rc != -EINTR)
			break;
		rc = 0;
	}
	if (rc == 0)
		rc = sdrv_xenbus_front_close(fe, wait_ms());
	if (rc < 0)
		fprintf(stderr, "frontend %u: close: %s (%s)\n", id, strerror(-rc),
			sdrv_xs_broken(xs) ? sdrv_xs_broken(xs) : "connection fine");
	sdrv_xenbus_front_free(fe);
	sdrv_xs_close(xs);
	_exit(rc < 0 ? 2 : 0);
}

/* ------------------------------------------------------------------------ */
/* A backend driver: offers a feature, maps (here: reads) the ring. */

static int be_publish(struct sdrv_xenbus_back *be, uint32_t tx, void *ctx)
{
	(void)ctx;
	return sdrv_xenbus_write_bool(sdrv_xenbus_back_xs(be), tx, sdrv_xenbus_back_dir(be),
				      "feature-test", true);
}

static int be_connect(struct sdrv_xenbus_back *be, void *ctx)
{
	struct sdrv_xs *xs = sdrv_xenbus_back_xs(be);
	const char *fdir = sdrv_xenbus_back_peer_dir(be);
	sdrv_grant_ref_t ref;
	uint32_t port;
	unsigned int order;
	int rc;

	(void)ctx;
	rc = sdrv_xenbus_read_ring_order(xs, 0, fdir, 0, &order);
	if (rc == 0)
		rc = sdrv_xenbus_read_ring_refs(xs, 0, fdir, "ring-ref", order, &ref);
	if (rc == 0)
		rc = sdrv_xenbus_read_evtchn(xs, 0, fdir, "event-channel", &port);
	if (rc < 0) {
		atomic_fetch_add(&sh->be_errors, 1);
		return rc;
	}
	atomic_store(&sh->be_ref, (int)ref);
	atomic_store(&sh->be_port, (int)port);
	atomic_fetch_add(&sh->be_connects, 1);
	atomic_store(&sh->be_live, 1);
	return 0;
}

static void be_disconnect(struct sdrv_xenbus_back *be, void *ctx)
{
	(void)be;
	(void)ctx;
	atomic_fetch_add(&sh->be_disconnects, 1);
	atomic_store(&sh->be_live, 0);
}

static void be_state(struct sdrv_xenbus_back *be, enum sdrv_xenbus_state self,
		     enum sdrv_xenbus_state peer, void *ctx)
{
	(void)be;
	(void)ctx;
	atomic_store(&sh->be_state, (int)self);
	atomic_store(&sh->be_peer, (int)peer);
}

static struct sdrv_xenbus_back *new_back(struct sdrv_xs *xs, uint32_t id)
{
	struct sdrv_xenbus_back_opts o = {.sz = sizeof(o)};

	o.xs = xs;
	o.domid = BE_DOM;
	o.type = TYPE;
	o.fe = FE_DOM;
	o.id = id;
	o.publish = be_publish;
	o.connect = be_connect;
	o.disconnect = be_disconnect;
	o.state_changed = be_state;
	o.write_hotplug_status = true;
	return sdrv_xenbus_back_new(&o);
}

static void back_main(uint32_t id)
{
	struct sdrv_xenbus_back *be;
	struct sdrv_xs *xs;
	int rc = 0;

	child_init();
	xs = connect_store();
	be = new_back(xs, id);
	if (!be) {
		fprintf(stderr, "backend: %s\n", strerror(errno));
		sdrv_xs_close(xs);
		_exit(2);
	}
	while (!g_term) {
		rc = sdrv_xs_wait(xs, 200);
		if (rc < 0 && rc != -ETIMEDOUT && rc != -EINTR)
			break;
		rc = 0;
	}
	if (rc == 0)
		rc = sdrv_xenbus_back_close(be, wait_ms());
	if (rc < 0)
		fprintf(stderr, "backend %u: close: %s\n", id, strerror(-rc));
	sdrv_xenbus_back_free(be);
	sdrv_xs_close(xs);
	_exit(rc < 0 ? 2 : 0);
}

static pid_t spawn(void (*fn)(uint32_t), uint32_t id)
{
	pid_t pid = fork();

	CHECK(pid >= 0, "fork");
	if (pid == 0)
		fn(id);
	return pid;
}

static void reset_shared(void)
{
	memset(sh, 0, sizeof(*sh));
}

static struct sdrv_xenbus_dev dev_of(uint32_t id)
{
	struct sdrv_xenbus_dev d = {
	    .sz = sizeof(d), .type = TYPE, .fe = FE_DOM, .be = BE_DOM, .id = id};
	return d;
}

static void stop_child(pid_t pid, const char *what)
{
	int st;

	kill(pid, SIGTERM);
	st = tu_wait_child(pid);
	CHECK(st == 0, "%s exited with %d", what, st);
}

static int read_state(const char *dir)
{
	char path[256];
	uint64_t v;

	snprintf(path, sizeof(path), "%s/state", dir);
	if (sdrv_xs_read_uint(tool, 0, path, 8, &v) < 0)
		return -1;
	return (int)v;
}

#define CONNECTED(n)                                                                               \
	(atomic_load(&sh->fe_state) == SDRV_XENBUS_CONNECTED &&                                    \
	 atomic_load(&sh->be_state) == SDRV_XENBUS_CONNECTED &&                                    \
	 atomic_load(&sh->fe_connects) == (n) && atomic_load(&sh->be_connects) == (n))

/* ------------------------------------------------------------------------ */

static void test_connect(void)
{
	struct sdrv_xenbus_dev d = dev_of(1);
	pid_t fe, be;
	char fdir[SDRV_XENBUS_PATH_MAX], bdir[SDRV_XENBUS_PATH_MAX];
	char *hs;

	reset_shared();
	CHECK(sdrv_xenbus_dev_create(tool, &d) == 0, "create");
	be = spawn(back_main, 1);
	fe = spawn(front_main, 1);
	WAIT_UNTIL(CONNECTED(1), "connect: fe %d be %d", sh->fe_state, sh->be_state);
	CHECK(sh->be_ref == sh->fe_ref && sh->be_port == 7, "backend read ref %d, published %d",
	      sh->be_ref, sh->fe_ref);
	sdrv_xenbus_front_path(fdir, sizeof(fdir), FE_DOM, TYPE, 1);
	sdrv_xenbus_back_path(bdir, sizeof(bdir), BE_DOM, TYPE, FE_DOM, 1);
	CHECK(read_state(fdir) == 4 && read_state(bdir) == 4, "store states");
	CHECK(sdrv_xenbus_read_str(tool, 0, bdir, "hotplug-status", 32, &hs) == 0 &&
		  strcmp(hs, "connected") == 0,
	      "hotplug-status");
	free(hs);

	/* the toolstack removes the device: the backend closes, the frontend
	 * follows and waits in Initialising for a backend to come back */
	CHECK(sdrv_xenbus_dev_shutdown(tool, &d) == 0, "shutdown");
	WAIT_UNTIL(atomic_load(&sh->be_state) == SDRV_XENBUS_CLOSED &&
		       atomic_load(&sh->be_disconnects) == 1 &&
		       atomic_load(&sh->fe_disconnects) == 1 &&
		       atomic_load(&sh->fe_state) == SDRV_XENBUS_INITIALISING,
		   "shutdown: fe %d be %d", sh->fe_state, sh->be_state);
	stop_child(be, "backend");
	stop_child(fe, "frontend");
	CHECK(sh->fe_connects == 1 && sh->be_connects == 1, "no reconnect after shutdown");
	CHECK(sdrv_xenbus_dev_remove(tool, &d) == 0, "remove");
	printf("ok connect\n");
}

static void test_restart(void)
{
	struct sdrv_xenbus_dev d = dev_of(2);
	pid_t fe, be;

	reset_shared();
	CHECK(sdrv_xenbus_dev_create(tool, &d) == 0, "create");
	fe = spawn(front_main, 2);
	be = spawn(back_main, 2);
	WAIT_UNTIL(CONNECTED(1), "restart: first connect");
	for (int round = 2; round <= 3; round++) {
		kill(be, SIGKILL);
		tu_wait_child(be);
		be = spawn(back_main, 2);
		WAIT_UNTIL(CONNECTED(round), "restart %d: fe %d (%d connects) be %d (%d)", round,
			   sh->fe_state, sh->fe_connects, sh->be_state, sh->be_connects);
		CHECK(sh->fe_pubs == round, "the frontend published again");
		CHECK(sh->be_ref == sh->fe_ref, "the new backend reads the new publication");
		CHECK(sh->fe_disconnects == round - 1, "the frontend disconnected once");
	}
	/* the frontend leaves orderly: the backend closes */
	stop_child(fe, "frontend");
	WAIT_UNTIL(atomic_load(&sh->be_state) == SDRV_XENBUS_CLOSED, "backend closed after fe");
	stop_child(be, "backend");
	CHECK(sdrv_xenbus_dev_remove(tool, &d) == 0, "remove");
	printf("ok restart\n");
}

/* The mirror of test_restart: the frontend is killed (SIGKILL, so the
 * store still says Connected) and a new frontend process started. It
 * resets that state through Closing, the backend lets the dead one go,
 * and both reach Connected on the new publication. */
static void test_fe_restart(void)
{
	struct sdrv_xenbus_dev d = dev_of(3);
	char fdir[SDRV_XENBUS_PATH_MAX], bdir[SDRV_XENBUS_PATH_MAX];
	pid_t fe, be;

	reset_shared();
	sdrv_xenbus_front_path(fdir, sizeof(fdir), FE_DOM, TYPE, 3);
	sdrv_xenbus_back_path(bdir, sizeof(bdir), BE_DOM, TYPE, FE_DOM, 3);
	CHECK(sdrv_xenbus_dev_create(tool, &d) == 0, "create");
	be = spawn(back_main, 3);
	fe = spawn(front_main, 3);
	WAIT_UNTIL(CONNECTED(1), "fe-restart: first connect");
	for (int round = 2; round <= 3; round++) {
		int old_ref = atomic_load(&sh->fe_ref);

		kill(fe, SIGKILL);
		CHECK(tu_wait_child(fe) == 128 + SIGKILL, "fe-restart %d: kill", round);
		CHECK(read_state(fdir) == SDRV_XENBUS_CONNECTED,
		      "the dead frontend left Connected");
		atomic_store(&sh->fe_state, -1); /* the new one reports from scratch */
		fe = spawn(front_main, 3);
		WAIT_UNTIL(CONNECTED(round), "fe-restart %d: fe %d (%d connects) be %d (%d)", round,
			   sh->fe_state, sh->fe_connects, sh->be_state, sh->be_connects);
		CHECK(sh->fe_pubs == round, "fe-restart %d: the new frontend published (%d)", round,
		      sh->fe_pubs);
		CHECK(sh->fe_ref != old_ref && sh->be_ref == sh->fe_ref,
		      "fe-restart %d: the backend reads the new publication (%d; old %d, new %d)",
		      round, sh->be_ref, old_ref, sh->fe_ref);
		CHECK(sh->be_disconnects == round - 1,
		      "fe-restart %d: the backend let the dead frontend go once (%d)", round,
		      sh->be_disconnects);
		CHECK(sh->be_live, "fe-restart %d: the backend is connected", round);
		CHECK(read_state(fdir) == SDRV_XENBUS_CONNECTED &&
			  read_state(bdir) == SDRV_XENBUS_CONNECTED,
		      "fe-restart %d: the store says Connected on both sides", round);
	}
	/* the new frontend leaves orderly: the backend closes */
	stop_child(fe, "frontend");
	WAIT_UNTIL(atomic_load(&sh->be_state) == SDRV_XENBUS_CLOSED && !sh->be_live,
		   "backend closed after the frontend");
	stop_child(be, "backend");
	CHECK(sh->be_connects == 3 && sh->be_disconnects == 3,
	      "backend: %d connects %d disconnects", sh->be_connects, sh->be_disconnects);
	CHECK(sdrv_xenbus_dev_remove(tool, &d) == 0, "remove");
	printf("ok fe-restart\n");
}

/* Write what a frontend would leave behind in state `st`. */
static void fake_front(const char *fdir, int st)
{
	sdrv_grant_ref_t ref = 4242;

	sdrv_xenbus_write_ring_refs(tool, 0, fdir, "ring-ref", &ref, 0);
	sdrv_xenbus_write_uint(tool, 0, fdir, "event-channel", 9);
	CHECK(sdrv_xenbus_write_uint(tool, 0, fdir, "state", (uint64_t)st) == 0, "fake state");
}

/* The backend closes, whatever state the dead frontend was in. */
static void test_fe_kill(void)
{
	uint32_t id = 100;

	/* real frontends killed in Initialising (inside publish), in
	 * Initialised (inside connect) and in Connected */
	for (int k = 0; k < 3; k++, id++) {
		struct sdrv_xenbus_dev d = dev_of(id);
		char fdir[SDRV_XENBUS_PATH_MAX];
		pid_t fe, be;

		reset_shared();
		sdrv_xenbus_front_path(fdir, sizeof(fdir), FE_DOM, TYPE, id);
		CHECK(sdrv_xenbus_dev_create(tool, &d) == 0, "create");
		sh->block_publish = k == 0;
		sh->block_connect = k == 1;
		be = spawn(back_main, id);
		fe = spawn(front_main, id);
		if (k == 0)
			WAIT_UNTIL(sh->fe_blocked && sh->be_state == SDRV_XENBUS_INITWAIT,
				   "fe-kill: waiting at Initialising");
		else if (k == 1)
			WAIT_UNTIL(sh->fe_blocked && sh->fe_state == SDRV_XENBUS_INITIALISED &&
				       sh->be_state == SDRV_XENBUS_CONNECTED,
				   "fe-kill: waiting at Initialised");
		else
			WAIT_UNTIL(CONNECTED(1), "fe-kill: waiting at Connected");
		kill(fe, SIGKILL);
		tu_wait_child(fe);
		if (k == 1)
			CHECK(read_state(fdir) == 3, "frontend died in Initialised");
		/* the toolstack notices the dead domain */
		if (k & 1)
			CHECK(sdrv_xs_rm(tool, 0, fdir) == 0, "rm");
		else
			CHECK(sdrv_xenbus_write_uint(tool, 0, fdir, "state", 6) == 0, "closed");
		WAIT_UNTIL(sh->be_state == SDRV_XENBUS_CLOSED && !sh->be_live,
			   "fe-kill %d: backend %d, %d connects %d disconnects", k, sh->be_state,
			   sh->be_connects, sh->be_disconnects);
		stop_child(be, "backend");
		sdrv_xenbus_dev_remove(tool, &d);
	}

	/* A real frontend killed while it closes the device: it disconnected
	 * and went Closing, the backend followed (Closing, disconnected), and
	 * the frontend dies before it reaches Closed. */
	for (int how = 0; how < 2; how++, id++) {
		struct sdrv_xenbus_dev d = dev_of(id);
		char fdir[SDRV_XENBUS_PATH_MAX], bdir[SDRV_XENBUS_PATH_MAX];
		pid_t fe, be;

		reset_shared();
		sdrv_xenbus_front_path(fdir, sizeof(fdir), FE_DOM, TYPE, id);
		sdrv_xenbus_back_path(bdir, sizeof(bdir), BE_DOM, TYPE, FE_DOM, id);
		CHECK(sdrv_xenbus_dev_create(tool, &d) == 0, "create");
		be = spawn(back_main, id);
		fe = spawn(front_main, id);
		WAIT_UNTIL(CONNECTED(1), "fe-kill in Closing: waiting at Connected");
		sh->block_closing = 1;
		kill(fe, SIGTERM); /* it closes the device */
		WAIT_UNTIL(sh->fe_blocked && sh->be_state == SDRV_XENBUS_CLOSING &&
			       sh->be_disconnects == 1 && !sh->be_live,
			   "fe-kill in Closing: fe %d (blocked %d), be %d (%d disconnects)",
			   sh->fe_state, sh->fe_blocked, sh->be_state, sh->be_disconnects);
		CHECK(sh->fe_disconnects == 1, "the frontend disconnected as it went Closing");
		kill(fe, SIGKILL);
		CHECK(tu_wait_child(fe) == 128 + SIGKILL, "fe-kill in Closing: kill");
		CHECK(read_state(fdir) == SDRV_XENBUS_CLOSING &&
			  read_state(bdir) == SDRV_XENBUS_CLOSING,
		      "both Closing when the frontend died: fe %d be %d", read_state(fdir),
		      read_state(bdir));
		/* the toolstack notices the dead domain */
		if (how)
			CHECK(sdrv_xs_rm(tool, 0, fdir) == 0, "rm");
		else
			CHECK(sdrv_xenbus_write_uint(tool, 0, fdir, "state", 6) == 0, "closed");
		WAIT_UNTIL(sh->be_state == SDRV_XENBUS_CLOSED,
			   "fe-kill in Closing (%s): backend %d", how ? "rm" : "closed",
			   sh->be_state);
		CHECK(read_state(bdir) == SDRV_XENBUS_CLOSED,
		      "the store says the backend is Closed");
		CHECK(sh->be_connects == 1 && sh->be_disconnects == 1 && !sh->be_live,
		      "fe-kill in Closing: backend %d connects %d disconnects", sh->be_connects,
		      sh->be_disconnects);
		stop_child(be, "backend");
		sdrv_xenbus_dev_remove(tool, &d);
	}

	/* a dead frontend in each state (as its state key says), then gone */
	for (int st = 1; st <= 8; st++) {
		for (int how = 0; how < 2; how++, id++) {
			struct sdrv_xenbus_dev d = dev_of(id);
			char fdir[SDRV_XENBUS_PATH_MAX];
			pid_t be;

			reset_shared();
			sdrv_xenbus_front_path(fdir, sizeof(fdir), FE_DOM, TYPE, id);
			CHECK(sdrv_xenbus_dev_create(tool, &d) == 0, "create");
			be = spawn(back_main, id);
			WAIT_UNTIL(sh->be_state == SDRV_XENBUS_INITWAIT, "backend InitWait");
			fake_front(fdir, st);
			/* let the backend react to it (a round trip through its
			 * state is not observable for every st: just settle) */
			WAIT_UNTIL(sh->be_peer == st || st == SDRV_XENBUS_INITIALISING,
				   "backend saw %d", st);
			if (how)
				CHECK(sdrv_xs_rm(tool, 0, fdir) == 0, "rm");
			else
				CHECK(sdrv_xenbus_write_uint(tool, 0, fdir, "state", 6) == 0,
				      "closed");
			WAIT_UNTIL(sh->be_state == SDRV_XENBUS_CLOSED && !sh->be_live,
				   "dead frontend in %d (%s): backend %d", st,
				   how ? "rm" : "closed", sh->be_state);
			stop_child(be, "backend");
			sdrv_xenbus_dev_remove(tool, &d);
		}
	}
	printf("ok fe-kill\n");
}

static void test_race(void)
{
	uint64_t seed = 0x7ace;
	unsigned int iters = (unsigned int)tu_scaled(30, 3);

	for (unsigned int it = 0; it < iters; it++) {
		uint32_t id = 1000 + it;
		struct sdrv_xenbus_dev d = dev_of(id);
		pid_t fe, be;
		bool fe_first = tu_rand(&seed) & 1;

		reset_shared();
		CHECK(sdrv_xenbus_dev_create(tool, &d) == 0, "create");
		if (fe_first) {
			fe = spawn(front_main, id);
			usleep((useconds_t)(tu_rand(&seed) % 3000));
			be = spawn(back_main, id);
		} else {
			be = spawn(back_main, id);
			usleep((useconds_t)(tu_rand(&seed) % 3000));
			fe = spawn(front_main, id);
		}
		WAIT_UNTIL(CONNECTED(1), "race %u: fe %d be %d", it, sh->fe_state, sh->be_state);
		CHECK(sh->be_ref == sh->fe_ref, "race %u: same publication", it);
		/* stop in random order, sometimes both at once */
		switch (tu_rand(&seed) % 3) {
		case 0:
			stop_child(fe, "frontend");
			stop_child(be, "backend");
			break;
		case 1:
			stop_child(be, "backend");
			stop_child(fe, "frontend");
			break;
		default:
			kill(fe, SIGTERM);
			kill(be, SIGTERM);
			CHECK(tu_wait_child(fe) == 0 && tu_wait_child(be) == 0, "race %u: stops",
			      it);
		}
		CHECK(sh->fe_disconnects == 1 && sh->be_disconnects == 1 && !sh->be_live,
		      "race %u: one disconnect each (%d %d)", it, sh->fe_disconnects,
		      sh->be_disconnects);
		CHECK(sdrv_xenbus_dev_remove(tool, &d) == 0, "remove");
	}
	printf("ok race (%u)\n", iters);
}

/* The frontend's state rewritten thousands of times while the backend is
 * busy elsewhere: the backend reads it a bounded number of times. */
static void test_storm(void)
{
	uint32_t id = 5000;
	struct sdrv_xenbus_dev d = dev_of(id);
	char fdir[SDRV_XENBUS_PATH_MAX], path[SDRV_XENBUS_PATH_MAX + 8];
	struct sdrv_xs *bxs = connect_store();
	struct sdrv_xs_opts o = {.sz = sizeof(o), .timeout_ms = wait_ms(), .max_pending = 128};
	struct sdrv_xs *flip = sdrv_xs_open(store_path, &o);
	struct sdrv_xenbus_back *be;
	struct sdrv_xenbus_stats st0, st;
	unsigned int flips = (unsigned int)tu_scaled(5000, 500), sent = 0, rounds = 0;

	CHECK(flip, "flipper");
	reset_shared();
	sdrv_xenbus_front_path(fdir, sizeof(fdir), FE_DOM, TYPE, id);
	snprintf(path, sizeof(path), "%s/state", fdir);
	CHECK(sdrv_xenbus_dev_create(tool, &d) == 0, "create");
	be = new_back(bxs, id);
	CHECK(be, "backend: %s", strerror(errno));
	while (sdrv_xenbus_back_state(be) != SDRV_XENBUS_INITWAIT)
		CHECK(sdrv_xs_wait(bxs, wait_ms()) == 0, "backend wait");
	sdrv_xenbus_back_stats(be, &st0);

	/* Initialising and InitWait (which a frontend never uses) alternate:
	 * neither asks the backend to act. It does not process meanwhile. */
	while (sent < flips) {
		while (sent < flips) {
			int rc = sdrv_xs_write_async(flip, 0, path, (sent & 1) ? "2" : "1", 1, NULL,
						     NULL);
			if (rc == -EBUSY)
				break;
			CHECK(rc == 0, "flip %u: %d", sent, rc);
			sent++;
		}
		CHECK(sdrv_xs_wait(flip, wait_ms()) == 0, "flipper wait");
	}
	/* a read after the last write: the store has done them all */
	{
		char *v;
		CHECK(sdrv_xs_read(flip, 0, path, &v, NULL) == 0, "read back");
		free(v);
	}
	/* Then the real publication. */
	fake_front(fdir, SDRV_XENBUS_CONNECTED);
	while (sdrv_xenbus_back_state(be) != SDRV_XENBUS_CONNECTED) {
		CHECK(sdrv_xs_wait(bxs, wait_ms()) == 0, "backend wait");
		rounds++;
	}
	sdrv_xenbus_back_stats(be, &st);
	printf("storm: %u flips, backend: %llu events, %llu reads, %llu steps, %u rounds\n", flips,
	       (unsigned long long)(st.events - st0.events),
	       (unsigned long long)(st.peer_reads - st0.peer_reads),
	       (unsigned long long)(st.steps - st0.steps), rounds);
	CHECK(st.peer_reads - st0.peer_reads <= flips / 32 + 4,
	      "the backend read the frontend's state %llu times for %u flips",
	      (unsigned long long)(st.peer_reads - st0.peer_reads), flips);
	CHECK(st.steps - st0.steps <= 4, "steps");
	CHECK(sh->be_connects == 1 && sh->be_ref == 4242, "connected to the final publication");
	sdrv_xenbus_back_free(be);
	sdrv_xs_close(bxs);
	sdrv_xs_close(flip);
	sdrv_xenbus_dev_remove(tool, &d);
	printf("ok storm\n");
}

int main(void)
{
	tu_watchdog(300, "xenbus lifecycle");
	setvbuf(stdout, NULL, _IONBF, 0);
	sh = tu_shared_mem(sizeof(*sh));
	start_store();
	tool = connect_store();
	test_connect();
	test_restart();
	test_fe_restart();
	test_fe_kill();
	test_race();
	test_storm();
	sdrv_xs_close(tool);
	tool = NULL;
	stop_store();
	tu_shared_free(sh, sizeof(*sh));
	return TU_PASS;
}
