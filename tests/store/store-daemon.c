/* SPDX-License-Identifier: MIT */
/*
 * splitdrv-xenstored as a process: --help, bad options, serving in the
 * foreground on a temporary socket, SIGTERM/SIGINT -> exit 0 with the
 * socket removed, the state kept across a restart with --state,
 * $XENSTORED_PATH, and a second daemon refused on a live socket.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/tutil.h"
#include "wire.h"

static char daemon_path[4096];
static char dir[64];

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "FAIL: %s:%d: ", __FILE__, __LINE__);                      \
			fprintf(stderr, __VA_ARGS__);                                              \
			fprintf(stderr, "\n");                                                     \
			exit(TU_FAIL);                                                             \
		}                                                                                  \
	} while (0)

#define EXPECT(got, want) CHECK(!strcmp((got), (want)), "got \"%s\", want \"%s\"", (got), (want))

/* Start the daemon with these arguments (NULL-terminated); env_path sets
 * $XENSTORED_PATH (or unsets it when NULL). */
static pid_t start(const char *env_path, const char *const *args)
{
	const char *argv[32];
	int n = 0;
	pid_t pid;

	argv[n++] = daemon_path;
	while (*args && n < 31)
		argv[n++] = *args++;
	argv[n] = NULL;
	pid = fork();
	CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		if (env_path)
			setenv("XENSTORED_PATH", env_path, 1);
		else
			unsetenv("XENSTORED_PATH");
		execv(daemon_path, (char *const *)argv);
		_exit(127);
	}
	return pid;
}

static int run_to_end(const char *const *args)
{
	return tu_wait_child(start(NULL, args));
}

static int connect_to(const char *sock)
{
	int fd = w_connect_path(sock, tu_under_valgrind() ? 120000 : 20000);

	CHECK(fd >= 0, "cannot connect to the daemon at %s", sock);
	return fd;
}

static void stop(pid_t pid, int sig, const char *sock)
{
	int st;

	CHECK(kill(pid, sig) == 0, "kill: %s", strerror(errno));
	st = tu_wait_child(pid);
	CHECK(st == 0, "the daemon exited with %d after signal %d", st, sig);
	CHECK(access(sock, F_OK) != 0, "the socket %s is still there", sock);
}

int main(void)
{
	const char *top = getenv("top_builddir");
	char sock[128], sock2[128], state[160], cmd[128];
	struct cli c;
	pid_t pid, pid2;
	int st;

	setvbuf(stdout, NULL, _IOLBF, 0);
	tu_watchdog(120, "store-daemon");
	snprintf(daemon_path, sizeof(daemon_path), "%s/tools/splitdrv-xenstored", top ? top : ".");
	if (access(daemon_path, X_OK) != 0) {
		fprintf(stderr, "FAIL: %s is missing\n", daemon_path);
		return TU_FAIL;
	}
	strcpy(dir, "/tmp/sdrv-xsd-XXXXXX");
	CHECK(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	snprintf(sock, sizeof(sock), "%s/sock", dir);
	snprintf(sock2, sizeof(sock2), "%s/env-sock", dir);
	snprintf(state, sizeof(state), "%s/state", dir);

	/* --help, bad options */
	{
		const char *help[] = {"--help", NULL}, *bad[] = {"--bogus", NULL},
			   *badq[] = {"-f", "-s", sock, "-Q", "bogus=1", NULL},
			   *badu[] = {"-f", "-s", sock, "--uid-domain", "1:0", NULL};

		CHECK(run_to_end(help) == 0, "--help did not exit 0");
		CHECK(run_to_end(bad) == 2, "a bad option did not exit 2");
		if (!tu_under_valgrind()) { /* each start costs seconds there */
			CHECK(run_to_end(badq) == 2, "a bad quota did not exit 2");
			CHECK(run_to_end(badu) == 2, "a bad --uid-domain did not exit 2");
		}
		CHECK(access(sock, F_OK) != 0, "a failed start left its socket");
	}
	printf("ok: --help and bad options\n");

	/* serve, stop with SIGTERM */
	{
		const char *args[] = {"--foreground", "--socket", sock,		 "--state", state,
				      "-Q",	      "nodes=50", "--log-level", "debug",   NULL};

		pid = start(NULL, args);
		w_attach(&c, connect_to(sock), NULL);
		EXPECT(w_write(&c, 0, "/kept/a", "one"), "OK|");
		EXPECT(w_setperms(&c, 0, "/kept/a", "n0|r5"), "OK|");
		EXPECT(w_read(&c, 0, "/kept/a"), "one");
		EXPECT(w_watch(&c, "/kept", "tok"), "OK|");
		EXPECT(w_event(&c), "/kept|tok|");
		EXPECT(w_write(&c, 0, "/kept/b", "two"), "OK|");
		EXPECT(w_event(&c), "/kept/b|tok|");
		{
			uint32_t tx = w_tx_start(&c);

			EXPECT(w_write(&c, tx, "/kept/c", "three"), "OK|");
			EXPECT(w_tx_end(&c, tx, 1), "OK|");
		}
		CHECK(strstr(w_req(&c, SDRV_XS_CONTROL, 0, 1, "quota"),
			     "nodes            :       50"),
		      "the quota option was not applied");
		/* a second daemon on the live socket is refused */
		{
			const char *again[] = {"-f", "-s", sock, NULL};

			st = run_to_end(again);
			CHECK(st == 1, "a second daemon on a live socket exited %d", st);
		}
		EXPECT(w_read(&c, 0, "/kept/b"), "two");
		w_close(&c);
		stop(pid, SIGTERM, sock);
	}
	printf("ok: served, SIGTERM -> exit 0, socket removed\n");

	/* restart on the state file; SIGINT; $XENSTORED_PATH */
	{
		const char *args[] = {"-f", "-S", state, NULL};

		pid = start(sock2, args);
		w_attach(&c, connect_to(sock2), NULL);
		EXPECT(w_read(&c, 0, "/kept/a"), "one");
		EXPECT(w_read(&c, 0, "/kept/c"), "three");
		EXPECT(w_getperms(&c, 0, "/kept/a"), "n0|r5|");
		EXPECT(w_dir(&c, 0, "/kept"), "a|b|c|");
		w_close(&c);
		stop(pid, SIGINT, sock2);
	}
	printf("ok: restart with --state keeps the data; SIGINT; $XENSTORED_PATH\n");

	/* a corrupt state file: a clear error, no start */
	{
		FILE *f = fopen(state, "r+b");
		const char *args[] = {"-f", "-s", sock, "-S", state, NULL};

		CHECK(f, "open %s", state);
		fseek(f, 20, SEEK_SET);
		fputc('X', f);
		fclose(f);
		pid2 = start(NULL, args);
		st = tu_wait_child(pid2);
		CHECK(st == 1, "a corrupt state file: exit %d, want 1", st);
		CHECK(access(sock, F_OK) != 0, "a failed start left its socket");
	}
	printf("ok: a corrupt state file is refused\n");

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0, "cleanup");
	printf("PASS: store-daemon\n");
	return TU_PASS;
}
