/* SPDX-License-Identifier: MIT */
/* The blkfront tests' world: see harness.h. */
#define _GNU_SOURCE
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <splitdrv/xenbus.h>

#include "../common/thv.h"
#include "../common/tutil.h"

void th_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL [pid %ld]: ", (long)getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(TU_FAIL);
}

void th_failx(const char *file, int line, const char *cond, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL [pid %ld] %s:%d: %s: ", (long)getpid(), file, line, cond);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(TU_FAIL);
}

unsigned th_ms(unsigned ms)
{
	return tu_under_valgrind() ? ms * 20 : ms;
}

/* ------------------------------------------------------------------------ */
/* The launcher */

struct cmd {
	uint32_t slot;
};

static void launcher_main(struct th *t, int cmd_fd, int rep_fd)
{
	pid_t pids[TH_SLOTS * 8];
	unsigned slot_of[TH_SLOTS * 8], n = 0;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGTERM, SIG_DFL);
	for (;;) {
		struct pollfd pfd = {.fd = cmd_fd, .events = POLLIN};
		struct cmd c;
		pid_t pid;
		int st;

		while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
			for (unsigned i = 0; i < n; i++) {
				struct tb_ctl *ctl;

				if (pids[i] != pid)
					continue;
				ctl = t->slot[slot_of[i]].ctl;
				atomic_store(&ctl->exit_status,
					     WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
				atomic_store(&ctl->exited, 1);
				pids[i] = pids[n - 1];
				slot_of[i] = slot_of[n - 1];
				n--;
				break;
			}
		}
		if (poll(&pfd, 1, 10) <= 0)
			continue;
		if (read(cmd_fd, &c, sizeof(c)) != (ssize_t)sizeof(c))
			break; /* the test is gone */
		if (c.slot >= TH_SLOTS || n == TH_SLOTS * 8)
			_exit(5);
		pid = fork();
		if (pid == 0) {
			int rc;

			close(cmd_fd);
			close(rep_fd);
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			tu_watchdog(600, "test backend");
			rc = tb_main(t->broker, t->slot[c.slot].ctl, t->slot[c.slot].disk);
			_exit(rc);
		}
		if (pid > 0) {
			pids[n] = pid;
			slot_of[n++] = c.slot;
		}
		if (write(rep_fd, &pid, sizeof(pid)) != (ssize_t)sizeof(pid))
			break;
	}
	for (unsigned i = 0; i < n; i++)
		kill(pids[i], SIGKILL);
	while (wait(NULL) > 0)
		;
	_exit(0);
}

/* ------------------------------------------------------------------------ */
/* The world */

static void make_home(struct th *t, sdrv_domid_t domid)
{
	struct sdrv_xs_perm perms[2] = {{0, SDRV_XS_PERM_NONE}, {domid, SDRV_XS_PERM_READ}};
	char path[64];

	snprintf(path, sizeof(path), "/local/domain/%u", domid);
	TH_CHECK(sdrv_xs_mkdir(t->tool, 0, path) == 0, "home");
	TH_CHECK(sdrv_xs_set_perms(t->tool, 0, path, perms, 2) == 0, "home perms");
}

static struct sdrv_xport *open_xport(const char *broker, sdrv_domid_t domid)
{
	struct sdrv_xport_opts o = {.sz = sizeof(o)};
	uint64_t end = tu_now_ns() + (uint64_t)th_ms(10000) * 1000000ull;
	struct sdrv_xport *x;

	o.address = broker;
	o.domid = domid;
	o.grant_pages = 65536;
	/* EPERM while the broker still holds a dead domain of that id. */
	while (!(x = sdrv_xport_open("posix", &o)) && errno == EPERM && tu_now_ns() < end)
		usleep(2000);
	return x;
}

void th_start(struct th *t, bool frontend)
{
	int cmd[2], rep[2];
	size_t slot_bytes = (size_t)TH_CTL_BYTES + TH_DISK_MAX;
	unsigned char *mem;
	struct sdrv_xs_opts xo = {.sz = sizeof(xo)};

	memset(t, 0, sizeof(*t));
	signal(SIGPIPE, SIG_IGN);
	mem = tu_shared_mem(slot_bytes * TH_SLOTS);
	for (unsigned i = 0; i < TH_SLOTS; i++) {
		t->slot[i].ctl = (struct tb_ctl *)(mem + i * slot_bytes);
		t->slot[i].disk = mem + i * slot_bytes + TH_CTL_BYTES;
	}
	snprintf(t->dir, sizeof(t->dir), "/tmp/sdrv-bf-XXXXXX");
	TH_CHECK(mkdtemp(t->dir) != NULL, "mkdtemp");
	snprintf(t->broker, sizeof(t->broker), "%s/broker.sock", t->dir);
	snprintf(t->store, sizeof(t->store), "%s/store.sock", t->dir);
	/* The tests make many devices, watches and connections. */
	t->hv = tu_hv_start(t->broker, t->store, TU_HV_UNLIMITED);
	TH_CHECK(t->hv > 0, "the broker and the store did not start");
	fflush(NULL);
	TH_CHECK(pipe(cmd) == 0 && pipe(rep) == 0, "pipe");
	t->launcher = fork();
	TH_CHECK(t->launcher >= 0, "fork");
	if (t->launcher == 0) {
		close(cmd[1]);
		close(rep[0]);
		launcher_main(t, cmd[0], rep[1]);
	}
	close(cmd[0]);
	close(rep[1]);
	t->cmd_fd = cmd[1];
	t->rep_fd = rep[0];
	/* The store answers once both listen. */
	xo.timeout_ms = (int)th_ms(30000);
	for (int i = 0; i < 10000 && !t->tool; i++) {
		if (access(t->store, F_OK) == 0 && access(t->broker, F_OK) == 0)
			t->tool = sdrv_xs_open(t->store, &xo);
		if (!t->tool)
			usleep(2000);
	}
	TH_CHECK(t->tool, "the store did not start");
	make_home(t, TH_FE_DOM);
	make_home(t, TH_BE_DOM);
	if (!frontend)
		return;
	/* The store knows this process as the domain it holds at the broker
	 * when it accepts: the toolstack connection came first (domain 0). */
	t->x = open_xport(t->broker, TH_FE_DOM);
	TH_CHECK(t->x, "frontend transport: %s", strerror(errno));
	t->fxs = sdrv_xs_open(t->store, &xo);
	TH_CHECK(t->fxs, "frontend store: %s", strerror(errno));
}

void th_stop(struct th *t)
{
	int st;

	for (unsigned i = 0; i < TH_SLOTS; i++)
		if (atomic_load(&t->slot[i].ctl->running) && !atomic_load(&t->slot[i].ctl->exited))
			th_backend_stop(t, i, false);
	if (t->fxs)
		sdrv_xs_close(t->fxs);
	if (t->x)
		sdrv_xport_close(t->x);
	sdrv_xs_close(t->tool);
	close(t->cmd_fd);
	close(t->rep_fd);
	TH_CHECK(waitpid(t->launcher, &st, 0) == t->launcher && WIFEXITED(st) &&
		     WEXITSTATUS(st) == 0,
		 "launcher exit %d", st);
	st = tu_hv_stop(t->hv);
	TH_CHECK(st == 0, "hv exit %d", st);
	rmdir(t->dir);
	tu_shared_free(t->slot[0].ctl, ((size_t)TH_CTL_BYTES + TH_DISK_MAX) * TH_SLOTS);
}

void th_default_cfg(struct tb_cfg *c, uint32_t devid)
{
	memset(c, 0, sizeof(*c));
	c->devid = devid;
	c->sectors = (16u << 20) / 512;
	c->sector_size = 512;
	c->phys_sector_size = 4096;
	c->max_ring_order = 4;
	c->max_queues = 4;
	c->max_indirect = 256;
	c->persistent = c->flush = c->barrier = c->discard = c->discard_secure = true;
	c->discard_gran = 4096;
	c->discard_align = 0;
}

void th_slot_setup(struct th *t, unsigned s, const struct tb_cfg *c, bool wipe)
{
	struct tb_ctl *ctl = t->slot[s].ctl;

	TH_CHECK(s < TH_SLOTS && c->sectors * 512 <= TH_DISK_MAX, "slot");
	memset(ctl, 0, sizeof(*ctl));
	ctl->cfg = *c;
	if (wipe)
		memset(t->slot[s].disk, 0, (size_t)c->sectors * 512);
}

static struct sdrv_xenbus_dev dev_of(uint32_t devid)
{
	struct sdrv_xenbus_dev d = {
	    .sz = sizeof(d), .type = "vbd", .fe = TH_FE_DOM, .be = TH_BE_DOM, .id = devid};
	return d;
}

void th_dev_create(struct th *t, uint32_t devid)
{
	struct sdrv_xenbus_dev d = dev_of(devid);

	(void)sdrv_xenbus_dev_remove(t->tool, &d);
	TH_CHECK(sdrv_xenbus_dev_create(t->tool, &d) == 0, "device %u", devid);
}

void th_dev_remove(struct th *t, uint32_t devid)
{
	struct sdrv_xenbus_dev d = dev_of(devid);

	TH_CHECK(sdrv_xenbus_dev_remove(t->tool, &d) == 0, "remove %u", devid);
}

void th_dev_shutdown(struct th *t, uint32_t devid)
{
	struct sdrv_xenbus_dev d = dev_of(devid);

	TH_CHECK(sdrv_xenbus_dev_shutdown(t->tool, &d) == 0, "shutdown %u", devid);
}

pid_t th_backend_start(struct th *t, unsigned s)
{
	struct cmd c = {.slot = s};
	struct tb_ctl *ctl = t->slot[s].ctl;
	pid_t pid;

	atomic_store(&ctl->exited, 0);
	atomic_store(&ctl->running, 0);
	TH_CHECK(write(t->cmd_fd, &c, sizeof(c)) == (ssize_t)sizeof(c), "launch");
	TH_CHECK(read(t->rep_fd, &pid, sizeof(pid)) == (ssize_t)sizeof(pid) && pid > 0, "launch");
	atomic_store(&ctl->pid, pid);
	return pid;
}

void th_backend_stop(struct th *t, unsigned s, bool kill9)
{
	struct tb_ctl *ctl = t->slot[s].ctl;
	uint64_t end = tu_now_ns() + (uint64_t)th_ms(20000) * 1000000ull;
	pid_t pid = atomic_load(&ctl->pid);

	if (pid <= 0)
		return;
	kill(pid, kill9 ? SIGKILL : SIGTERM);
	while (!atomic_load(&ctl->exited)) {
		TH_CHECK(tu_now_ns() < end, "backend %ld did not exit", (long)pid);
		usleep(1000);
	}
	if (!kill9)
		TH_CHECK(atomic_load(&ctl->exit_status) == 0, "backend exited with %d: %s",
			 atomic_load(&ctl->exit_status), ctl->fail);
	atomic_store(&ctl->pid, 0);
	atomic_store(&ctl->running, 0);
}

static void front_log(void *ctx, int level, const char *msg)
{
	(void)ctx;
	if (getenv("SDRV_TEST_VERBOSE"))
		fprintf(stderr, "blkfront[%d]: %s\n", level, msg);
}

struct sdrv_blkfront *th_front(struct th *t, uint32_t devid,
			       void (*tweak)(struct sdrv_blkfront_opts *o))
{
	struct sdrv_blkfront_opts o = {.sz = sizeof(o)};
	struct sdrv_blkfront *f;

	o.xport = t->x;
	o.xs = t->fxs;
	o.devid = devid;
	o.log = front_log;
	if (tweak)
		tweak(&o);
	f = sdrv_blkfront_new(&o);
	TH_CHECK(f, "sdrv_blkfront_new: %s", strerror(errno));
	return f;
}

void th_drive_until(struct sdrv_blkfront *f, volatile bool *flag, unsigned ms, const char *what)
{
	uint64_t end = tu_now_ns() + (uint64_t)th_ms(ms) * 1000000ull;

	while (!*flag) {
		struct pollfd pfd = {.fd = sdrv_blkfront_fd(f), .events = POLLIN};

		(void)sdrv_blkfront_process(f);
		if (*flag)
			break;
		TH_CHECK(tu_now_ns() < end, "timeout waiting for %s", what);
		(void)poll(&pfd, 1, 20);
	}
}

void th_drive_for(struct sdrv_blkfront *f, unsigned ms)
{
	uint64_t end = tu_now_ns() + (uint64_t)ms * 1000000ull;

	while (tu_now_ns() < end) {
		struct pollfd pfd = {.fd = sdrv_blkfront_fd(f), .events = POLLIN};

		(void)sdrv_blkfront_process(f);
		(void)poll(&pfd, 1, 5);
	}
}

void th_wait(struct sdrv_blkfront *f, bool (*cond)(void *), void *arg, unsigned ms,
	     const char *what)
{
	uint64_t end = tu_now_ns() + (uint64_t)th_ms(ms) * 1000000ull;

	while (!cond(arg)) {
		TH_CHECK(tu_now_ns() < end, "timeout waiting for %s", what);
		if (f) {
			struct pollfd pfd = {.fd = sdrv_blkfront_fd(f), .events = POLLIN};

			(void)sdrv_blkfront_process(f);
			(void)poll(&pfd, 1, 5);
		} else {
			usleep(1000);
		}
	}
}

int th_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	TH_CHECK(d != NULL, "opendir");
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;
}

char *th_read(struct th *t, const char *dir, const char *key)
{
	char path[512];
	char *v = NULL;

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	if (sdrv_xs_read(t->tool, 0, path, &v, NULL) < 0)
		return NULL;
	return v;
}
