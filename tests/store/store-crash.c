/* SPDX-License-Identifier: MIT */
/*
 * The state file survives SIGKILL: splitdrv-xenstored runs with --state, a
 * client writes as fast as it can, and the daemon is killed at a random
 * moment, many times. After each kill a new daemon must start on the file
 * (a corrupt file would be refused) and hold a prefix of the writes: every
 * write the store acknowledged (it replies only after the state file is
 * written), perhaps the one in flight, nothing beyond it; and everything
 * earlier rounds wrote.
 *
 * Round r's writer writes the sequence i = 0, 1, 2, ... as value i of node
 * /crash/r<r>/n<i % SLOTS>, so the tree after i writes is a function of i
 * alone: the test reads it back, finds that i, and checks every slot.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/tutil.h"
#include "wire.h"

#define SLOTS 16

static char daemon_path[4096];
static char dir[64], sock[128], state[128], log_path[128];
static pid_t daemon_pid;

struct shared {
	_Atomic uint64_t sent;	/* writes sent (the one in flight included) */
	_Atomic uint64_t acked; /* writes the store answered OK */
	_Atomic int writer_error;
};
static struct shared *sh;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "FAIL: %s:%d: ", __FILE__, __LINE__);                      \
			fprintf(stderr, __VA_ARGS__);                                              \
			fprintf(stderr, "\n");                                                     \
			show_log();                                                                \
			if (daemon_pid > 0)                                                        \
				kill(daemon_pid, SIGKILL);                                         \
			exit(TU_FAIL);                                                             \
		}                                                                                  \
	} while (0)

static void show_log(void)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "tail -n 20 %s 1>&2", log_path);
	(void)!system(cmd);
}

static pid_t start_daemon(void)
{
	const char *argv[] = {daemon_path, "--foreground", "--socket", sock, "--state",
			      state,	   "--log-level",  "info",     NULL};
	pid_t pid = fork();

	CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		FILE *f = freopen(log_path, "a", stderr);

		(void)f;
		execv(daemon_path, (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/* Connect to the daemon just started; fail at once if it exits instead
 * (as it does on a state file it finds corrupt). */
static int connect_daemon(const char *when)
{
	uint64_t end = tu_now_ns() + (tu_under_valgrind() ? 300 : 20) * 1000000000ull;

	for (;;) {
		int fd = w_connect_path(sock, 0), st;
		pid_t r;

		if (fd >= 0)
			return fd;
		r = waitpid(daemon_pid, &st, WNOHANG);
		if (r == daemon_pid) {
			daemon_pid = 0;
			CHECK(0, "%s: the daemon exited (status %d) instead of loading %s", when,
			      WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), state);
		}
		CHECK(tu_now_ns() < end, "%s: the daemon does not accept connections", when);
		usleep(5000);
	}
}

/* The writer of round r: until the connection dies. */
static void writer(unsigned r)
{
	struct cli c;
	char path[64], val[32];

	w_attach(&c, connect_daemon("writer"), NULL);
	for (uint64_t i = 0;; i++) {
		const char *rep;

		snprintf(path, sizeof(path), "/crash/r%u/n%u", r, (unsigned)(i % SLOTS));
		snprintf(val, sizeof(val), "%llu", (unsigned long long)i);
		atomic_store(&sh->sent, i + 1);
		rep = w_write(&c, 0, path, val);
		if (!strcmp(rep, "!closed"))
			break;
		if (strcmp(rep, "OK|")) {
			fprintf(stderr, "FAIL: writer: write %llu: %s\n", (unsigned long long)i,
				rep);
			atomic_store(&sh->writer_error, 1);
			break;
		}
		atomic_store(&sh->acked, i + 1);
	}
	w_close(&c);
	_exit(0);
}

/* Round r left `*writes` writes in the tree (checked to be consistent). */
static uint64_t check_round(struct cli *c, unsigned r)
{
	char path[64];
	uint64_t vals[SLOTS], m = 0;
	int have[SLOTS];

	for (unsigned j = 0; j < SLOTS; j++) {
		const char *v;

		snprintf(path, sizeof(path), "/crash/r%u/n%u", r, j);
		v = w_read(c, 0, path);
		have[j] = v[0] != '!';
		CHECK(have[j] || !strcmp(v, "!ENOENT"), "round %u: read %s: %s", r, path, v);
		vals[j] = have[j] ? strtoull(v, NULL, 10) : 0;
		if (have[j]) {
			CHECK(vals[j] % SLOTS == j, "round %u: %s holds %s", r, path, v);
			if (vals[j] + 1 > m)
				m = vals[j] + 1;
		}
	}
	/* After m writes, slot j holds the last i < m with i % SLOTS == j. */
	for (unsigned j = 0; j < SLOTS; j++) {
		if (j >= m) {
			CHECK(!have[j], "round %u: after %llu writes slot %u exists", r,
			      (unsigned long long)m, j);
			continue;
		}
		CHECK(have[j] && vals[j] == (m - 1 - j) / SLOTS * SLOTS + j,
		      "round %u: after %llu writes slot %u holds %llu (or nothing): not a prefix",
		      r, (unsigned long long)m, j, (unsigned long long)vals[j]);
	}
	return m;
}

int main(void)
{
	const char *top = getenv("top_builddir");
	unsigned rounds = (unsigned)tu_scaled(30, 3);
	uint64_t seed = 0xc0ffee, *kept;
	unsigned mid_save = 0, in_flight = 0;
	struct cli c;
	char cmd[128];
	int st;

	setvbuf(stdout, NULL, _IOLBF, 0);
	tu_watchdog(120, "store-crash");
	snprintf(daemon_path, sizeof(daemon_path), "%s/tools/splitdrv-xenstored", top ? top : ".");
	if (access(daemon_path, X_OK) != 0) {
		fprintf(stderr, "FAIL: %s is missing\n", daemon_path);
		return TU_FAIL;
	}
	strcpy(dir, "/tmp/sdrv-crash-XXXXXX");
	CHECK(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	snprintf(sock, sizeof(sock), "%s/sock", dir);
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(log_path, sizeof(log_path), "%s/log", dir);
	sh = tu_shared_mem(sizeof(*sh));
	kept = calloc(rounds, sizeof(*kept));
	CHECK(kept, "calloc");

	daemon_pid = start_daemon();
	for (unsigned r = 0; r < rounds; r++) {
		uint64_t sent, acked, m, threshold = 1 + tu_rand(&seed) % 64;
		pid_t w;

		atomic_store(&sh->sent, 0);
		atomic_store(&sh->acked, 0);
		w = fork();
		CHECK(w >= 0, "fork: %s", strerror(errno));
		if (w == 0)
			writer(r);
		/* Some writes in, then a random moment: in a write of the
		 * state file, between two, or while a reply goes out. */
		{
			uint64_t end =
			    tu_now_ns() + (tu_under_valgrind() ? 600 : 30) * 1000000000ull;

			while (atomic_load(&sh->acked) < threshold) {
				CHECK(!atomic_load(&sh->writer_error) &&
					  waitpid(w, &st, WNOHANG) == 0,
				      "round %u: the writer stopped", r);
				CHECK(tu_now_ns() < end, "round %u: the writer does not get going",
				      r);
				usleep(200);
			}
		}
		usleep((useconds_t)(tu_rand(&seed) % 3000));
		CHECK(kill(daemon_pid, SIGKILL) == 0, "kill: %s", strerror(errno));
		CHECK(tu_wait_child(daemon_pid) == 128 + SIGKILL,
		      "the daemon did not die of SIGKILL");
		daemon_pid = 0;
		CHECK(tu_wait_child(w) == 0, "round %u: the writer failed", r);
		CHECK(!atomic_load(&sh->writer_error), "round %u: a write was refused", r);
		sent = atomic_load(&sh->sent);
		acked = atomic_load(&sh->acked);
		{
			char tmp[160];

			snprintf(tmp, sizeof(tmp), "%s.tmp", state);
			mid_save += access(tmp, F_OK) == 0; /* killed while writing it */
		}

		/* A new daemon on the same file: it must load it. */
		daemon_pid = start_daemon();
		w_attach(&c, connect_daemon("restart"), NULL);
		m = check_round(&c, r);
		CHECK(m >= acked && m <= sent,
		      "round %u: the file holds %llu writes; %llu were acknowledged, %llu sent", r,
		      (unsigned long long)m, (unsigned long long)acked, (unsigned long long)sent);
		kept[r] = m;
		in_flight += m > acked;
		for (unsigned k = 0; k < r; k++)
			CHECK(check_round(&c, k) == kept[k], "round %u: round %u's writes changed",
			      r, k);
		w_close(&c);
	}
	printf("ok: %u kills (%u while the state file was being written, %u with the write in "
	       "flight on disk): every restart loaded the file, with every acknowledged write\n",
	       rounds, mid_save, in_flight);

	/* An orderly stop writes the same tree once more. */
	CHECK(kill(daemon_pid, SIGTERM) == 0, "kill: %s", strerror(errno));
	st = tu_wait_child(daemon_pid);
	daemon_pid = 0;
	CHECK(st == 0, "the daemon exited with %d on SIGTERM", st);
	daemon_pid = start_daemon();
	w_attach(&c, connect_daemon("final restart"), NULL);
	for (unsigned k = 0; k < rounds; k++)
		CHECK(check_round(&c, k) == kept[k], "after SIGTERM: round %u's writes changed", k);
	w_close(&c);
	CHECK(kill(daemon_pid, SIGTERM) == 0 && tu_wait_child(daemon_pid) == 0, "final stop");
	daemon_pid = 0;

	free(kept);
	tu_shared_free(sh, sizeof(*sh));
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0, "cleanup");
	printf("PASS: store-crash\n");
	return TU_PASS;
}
