/* SPDX-License-Identifier: MIT */
/*
 * splitdrv-transport-bench: the POSIX transport against its baselines, in
 * the same run, interleaved, as ratios.
 *
 *  1. grant map + unmap, ns per page, batches of 1 and 16 pages, default
 *     and isolation mode (both domains in this process, the broker in a
 *     thread; the map path of the default mode never reaches the broker);
 *  2. event-channel wake round trip between two processes (notify, poll on
 *     the transport descriptor, take the pending port, unmask) against a
 *     raw eventfd round trip (write, poll, read);
 *  3. ring throughput, busy polling, one push per 16 messages, on pages
 *     shared through grants against the same ring on a bare memfd.
 *
 * Exit status: 0, or 1 on a functional error. Ratios never fail the run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <splitdrv/broker.h>
#include <splitdrv/ring.h>
#include <splitdrv/transport.h>

#include "tutil.h"

struct msg {
	uint64_t id;
	uint64_t data[7];
};
SDRV_RING_DEFINE(tb, struct msg, struct msg);

static unsigned rounds = 7;
static uint64_t run_ns = 200000000ull;
static char sock[128];
static struct sdrv_broker *broker;
static volatile int broker_stop;
/* Every domain gets a fresh id, so no round waits for the broker to reap
 * the previous round's domains. */
static sdrv_domid_t next_id = 10;

static sdrv_domid_t fresh(void)
{
	return next_id++;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned n)
{
	uint64_t tmp[64];

	for (unsigned i = 0; i < n; i++)
		tmp[i] = (uint64_t)(v[i] * 1000.0);
	qsort(tmp, n, sizeof(tmp[0]), cmp_u64);
	return (double)tmp[n / 2] / 1000.0;
}

static void *broker_thread(void *arg)
{
	(void)arg;
	while (!broker_stop)
		sdrv_broker_run(broker, 20);
	return NULL;
}

static struct sdrv_xport *dom(sdrv_domid_t id, uint32_t flags, uint32_t pages)
{
	struct sdrv_xport_opts o;
	struct sdrv_xport *x;

	memset(&o, 0, sizeof(o));
	o.sz = sizeof(o);
	o.address = sock;
	o.domid = id;
	o.flags = flags;
	o.grant_pages = pages;
	x = sdrv_xport_open("posix", &o);
	if (!x && errno != EOPNOTSUPP) {
		fprintf(stderr, "sdrv_xport_open(domain %u): %s\n", id, strerror(errno));
		exit(1);
	}
	return x;
}

/* ------------------------------ row 1 --------------------------------- */

/* ns per page of map+unmap, or a negative value if the mode is missing. */
static double map_unmap_ns(uint32_t flags, uint32_t batch, sdrv_domid_t a, sdrv_domid_t b)
{
	struct sdrv_xport *g = dom(a, flags, 64), *m;
	sdrv_grant_ref_t refs[16];
	int status[16];
	uint64_t t0, n = 0;
	void *pages, *p;

	if (!g)
		return -1;
	m = dom(b, 0, 8);
	pages = sdrv_gnt_share(g, b, batch, true, refs);
	if (!m || !pages) {
		fprintf(stderr, "map bench set-up: %s\n", strerror(errno));
		exit(1);
	}
	t0 = tu_now_ns();
	while (tu_now_ns() - t0 < run_ns / 2) {
		for (int i = 0; i < 64; i++) {
			p = sdrv_gnt_map(m, a, batch, refs, true, status);
			if (!p || sdrv_gnt_unmap(m, p, batch)) {
				fprintf(stderr, "map/unmap failed: %s\n", strerror(errno));
				exit(1);
			}
		}
		n += 64;
	}
	t0 = tu_now_ns() - t0;
	if (sdrv_gnt_unshare(g, pages, batch)) {
		fprintf(stderr, "unshare after unmap failed\n");
		exit(1);
	}
	sdrv_xport_close(m);
	sdrv_xport_close(g);
	return (double)t0 / (double)(n * batch);
}

static void row_map(void)
{
	static const uint32_t batches[] = {1, 16};

	for (unsigned k = 0; k < 2; k++) {
		double def[64], iso[64];
		bool have_iso = true;

		for (unsigned r = 0; r < rounds; r++) {
			sdrv_domid_t a = fresh(), b = fresh();

			def[r] = map_unmap_ns(0, batches[k], a, b);
			a = fresh();
			b = fresh();
			iso[r] = map_unmap_ns(SDRV_XPORT_ISOLATE, batches[k], a, b);
			if (iso[r] < 0)
				have_iso = false;
		}
		printf("| 1 | map+unmap, ns per page, batch %-2u | default | %10.0f | %s\n",
		       batches[k], median(def, rounds), "");
		if (have_iso)
			printf("| 1 | map+unmap, ns per page, batch %-2u | isolate | %10.0f | "
			       "%.2fx default\n",
			       batches[k], median(iso, rounds),
			       median(iso, rounds) / median(def, rounds));
		else
			printf("| 1 | map+unmap, ns per page, batch %-2u | isolate |        n/a | "
			       "isolation mode not available\n",
			       batches[k]);
	}
}

/* ------------------------------ row 2 --------------------------------- */

#define RTT_ROUNDS 20000u

/* How row 2 waits: sdrv_xport_wait() (default), or poll() on the
 * transport's descriptor (--poll), the way a caller with an event loop of
 * its own waits. */
static bool wait_poll;

static int wait_ready(struct sdrv_xport *x, struct pollfd *pf)
{
	return wait_poll ? poll(pf, 1, 5000) : sdrv_xport_wait(x, 5000);
}

/* Round trips per second: the child echoes every wake-up. */
static double rtt_evtchn(void)
{
	sdrv_domid_t ida = fresh(), idb = fresh();
	struct sdrv_xport *a = dom(ida, 0, 8);
	sdrv_evtchn_port_t port, p;
	int pipefd[2];
	uint64_t t0;
	pid_t pid;

	if (sdrv_evtchn_alloc_unbound(a, idb, &port) || pipe(pipefd))
		exit(1);
	pid = fork();
	if (pid == 0) {
		struct sdrv_xport *b;
		sdrv_evtchn_port_t lp;
		struct pollfd pf;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		tu_pin(1);
		b = dom(idb, 0, 8);
		if (sdrv_evtchn_bind(b, ida, port, &lp))
			_exit(1);
		pf.fd = sdrv_xport_fd(b);
		pf.events = POLLIN;
		for (;;) {
			if (wait_ready(b, &pf) <= 0)
				_exit(1);
			sdrv_xport_process(b, NULL, 0);
			while (sdrv_evtchn_pending(b, &p) == 1) {
				sdrv_evtchn_unmask(b, p);
				if (p == lp && sdrv_evtchn_notify(b, lp))
					_exit(0); /* the frontend closed: done */
			}
		}
	}
	tu_pin(0);
	{
		struct pollfd pf = {.fd = sdrv_xport_fd(a), .events = POLLIN};
		unsigned got = 0;

		/* The bind sets our port pending: wait for it. */
		while (!got) {
			if (poll(&pf, 1, 5000) <= 0)
				exit(1);
			sdrv_xport_process(a, NULL, 0);
			while (sdrv_evtchn_pending(a, &p) == 1) {
				sdrv_evtchn_unmask(a, p);
				got = 1;
			}
		}
		t0 = tu_now_ns();
		for (unsigned i = 0; i < RTT_ROUNDS; i++) {
			if (sdrv_evtchn_notify(a, port))
				exit(1);
			for (got = 0; !got;) {
				if (wait_ready(a, &pf) <= 0) {
					fprintf(stderr, "evtchn round trip: lost wake-up\n");
					exit(1);
				}
				while (sdrv_evtchn_pending(a, &p) == 1) {
					sdrv_evtchn_unmask(a, p);
					got |= p == port;
				}
			}
		}
		t0 = tu_now_ns() - t0;
	}
	sdrv_evtchn_close(a, port);
	sdrv_xport_close(a);
	kill(pid, SIGKILL);
	tu_wait_child(pid);
	close(pipefd[0]);
	close(pipefd[1]);
	return (double)t0 / RTT_ROUNDS;
}

/*
 * The baselines: the same round trip on two raw eventfds (write, poll,
 * read), or on two bare SOCK_SEQPACKET pairs (send, poll, recv), the kind
 * of channel the transport's event channels are made of: what the kernel's
 * socket path costs against an eventfd, before any of the transport's own
 * work. `fd[0]` of a channel is written, `fd[1]` read (the same eventfd).
 */
static int raw_kick(bool seqp, int fd)
{
	uint64_t v = 1;

	return seqp ? (int)send(fd, &v, 1, MSG_DONTWAIT) : (int)write(fd, &v, sizeof(v));
}

static bool raw_take(bool seqp, int fd)
{
	uint64_t v;

	return seqp ? recv(fd, &v, 1, MSG_DONTWAIT) == 1 : read(fd, &v, sizeof(v)) == sizeof(v);
}

static void raw_chan(bool seqp, int fd[2])
{
	if (seqp ? socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fd) != 0
		 : (fd[0] = fd[1] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		exit(1);
}

static double rtt_raw(bool seqp)
{
	int ab[2], ba[2];
	uint64_t t0;
	pid_t pid;

	raw_chan(seqp, ab);
	raw_chan(seqp, ba);
	pid = fork();
	if (pid == 0) {
		struct pollfd pf = {.fd = ab[1], .events = POLLIN};

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		tu_pin(1);
		for (;;) {
			if (poll(&pf, 1, 5000) <= 0)
				_exit(1);
			if (raw_take(seqp, ab[1]) && raw_kick(seqp, ba[0]) < 0)
				_exit(1);
		}
	}
	tu_pin(0);
	{
		struct pollfd pf = {.fd = ba[1], .events = POLLIN};

		t0 = tu_now_ns();
		for (unsigned i = 0; i < RTT_ROUNDS; i++) {
			if (raw_kick(seqp, ab[0]) < 0 || poll(&pf, 1, 5000) <= 0 ||
			    !raw_take(seqp, ba[1])) {
				fprintf(stderr, "%s round trip failed\n",
					seqp ? "SEQPACKET" : "eventfd");
				exit(1);
			}
		}
		t0 = tu_now_ns() - t0;
	}
	kill(pid, SIGKILL);
	tu_wait_child(pid);
	close(ab[0]);
	close(ba[0]);
	if (seqp) {
		close(ab[1]);
		close(ba[1]);
	}
	return (double)t0 / RTT_ROUNDS;
}

static void row_rtt(void)
{
	double e[64], r[64], q[64], ratio[64], qratio[64];

	/* The three take turns, the order rotating from round to round. */
	for (unsigned i = 0; i < rounds; i++) {
		for (unsigned k = 0; k < 3; k++) {
			switch ((i + k) % 3) {
			case 0:
				e[i] = rtt_evtchn();
				break;
			case 1:
				r[i] = rtt_raw(false);
				break;
			default:
				q[i] = rtt_raw(true);
				break;
			}
		}
		ratio[i] = e[i] / r[i];
		qratio[i] = e[i] / q[i];
	}
	printf(
	    "| 2 | wake round trip, ns (p50 of runs)   | evtchn  | %10.0f | raw eventfd %.0f ns: "
	    "%.3fx (target <= 1.05x)\n",
	    median(e, rounds), median(r, rounds), median(ratio, rounds));
	printf("| 2 | (the same on a bare SEQPACKET pair)  |         |            | "
	       "raw SEQPACKET %.0f ns: %.3fx; SEQPACKET/eventfd %.3fx\n",
	       median(q, rounds), median(qratio, rounds), median(q, rounds) / median(r, rounds));
}

/* ------------------------------ row 3 --------------------------------- */

/* Busy-poll throughput (Mpairs/s) of the typed ring on `mem`, shared with
 * a forked backend that has the same memory at `bmem` (NULL: inherited). */
static double ring_tput(void *fmem, size_t bytes, void *(*back_mem)(void *), void *ctx)
{
	volatile uint64_t *stop = tu_shared_mem(4096);
	struct tb_front f;
	struct msg rsp[16];
	uint64_t got = 0, sent = 0, t0;
	pid_t pid;

	if (tb_front_init(&f, fmem, bytes))
		exit(1);
	pid = fork();
	if (pid == 0) {
		struct tb_back b;
		struct msg req[16];
		void *m = back_mem ? back_mem(ctx) : fmem;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		tu_pin(1);
		if (!m || tb_back_attach(&b, m, bytes, 0))
			_exit(1);
		while (!*stop) {
			int32_t n = tb_back_take_reqs(&b, req, 16);

			if (n < 0)
				_exit(1);
			for (int32_t i = 0; i < n; i++) {
				struct msg *p = tb_back_next_rsp(&b);

				p->id = req[i].id;
			}
			if (n)
				tb_back_push(&b);
		}
		_exit(0);
	}
	tu_pin(0);
	t0 = tu_now_ns();
	while (tu_now_ns() - t0 < run_ns) {
		int32_t n;

		for (int i = 0; i < 16 && tb_front_free(&f); i++)
			tb_front_next_req(&f)->id = sent++;
		tb_front_push(&f);
		while ((n = tb_front_take_rsps(&f, rsp, 16)) > 0)
			for (int32_t i = 0; i < n; i++, got++)
				if (rsp[i].id != got) {
					fprintf(stderr, "ring bench: wrong response\n");
					exit(1);
				}
	}
	t0 = tu_now_ns() - t0;
	*stop = 1;
	if (tu_wait_child(pid) != 0) {
		fprintf(stderr, "ring bench: backend failed\n");
		exit(1);
	}
	tu_shared_free((void *)stop, 4096);
	return (double)got * 1e3 / (double)t0;
}

struct granted {
	sdrv_grant_ref_t refs[16];
	uint32_t pages;
	sdrv_domid_t granter, mapper;
};

static void *map_in_child(void *arg)
{
	struct granted *g = arg;
	struct sdrv_xport *b = dom(g->mapper, 0, 8);
	int status[16];

	return sdrv_gnt_map(b, g->granter, g->pages, g->refs, true, status);
}

static void row_ring(void)
{
	static const uint32_t orders[] = {0, 3};

	for (unsigned k = 0; k < 2; k++) {
		uint32_t pages = 1u << orders[k];
		size_t bytes = SDRV_RING_BYTES(orders[k]);
		double bare[64], tr[64], ratio[64];

		for (unsigned r = 0; r < rounds; r++) {
			struct granted g = {.pages = pages, .granter = fresh(), .mapper = fresh()};
			struct sdrv_xport *a = dom(g.granter, 0, 64);
			void *gmem = sdrv_gnt_share(a, g.mapper, pages, true, g.refs);
			void *mem = tu_shared_mem(bytes);

			if (!gmem)
				exit(1);
			if (r & 1) {
				bare[r] = ring_tput(mem, bytes, NULL, NULL);
				tr[r] = ring_tput(gmem, bytes, map_in_child, &g);
			} else {
				tr[r] = ring_tput(gmem, bytes, map_in_child, &g);
				bare[r] = ring_tput(mem, bytes, NULL, NULL);
			}
			ratio[r] = tr[r] / bare[r];
			tu_shared_free(mem, bytes);
			sdrv_xport_close(a);
		}
		printf(
		    "| 3 | ring busy poll, Mpairs/s, %u page%s   | granted | %10.2f | bare memfd "
		    "%.2f: %.3fx (target >= 0.95x)\n",
		    pages, pages > 1 ? "s" : " ", median(tr, rounds), median(bare, rounds),
		    median(ratio, rounds));
	}
}

static void usage(FILE *f, const char *argv0)
{
	fprintf(f,
		"Usage: %s [OPTION]...\n"
		"Measure the POSIX transport against its baselines in one run: grant map+unmap\n"
		"per page (default and isolation mode), event-channel wake round trip against a\n"
		"raw eventfd, ring throughput on granted pages against a bare memfd.\n\n"
		"  -r, --rounds=N    interleaved rounds per row, medians reported (default 7)\n"
		"  -q, --quick       3 short rounds\n"
		"  -p, --poll        row 2 waits with poll() on the transport's descriptor\n"
		"                    instead of sdrv_xport_wait()\n"
		"  -h, --help        show this help\n",
		argv0);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"rounds", required_argument, NULL, 'r'},
	    {"quick", no_argument, NULL, 'q'},
	    {"poll", no_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	char dir[] = "/tmp/splitdrv-tbench-XXXXXX";
	struct sdrv_broker_opts bo;
	pthread_t th;
	int c;

	if (getenv("SDRV_BENCH_QUICK"))
		rounds = 3, run_ns /= 4;
	while ((c = getopt_long(argc, argv, "r:qph", lo, NULL)) != -1) {
		switch (c) {
		case 'r':
			rounds = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'q':
			rounds = 3;
			run_ns /= 4;
			break;
		case 'p':
			wait_poll = true;
			break;
		case 'h':
			usage(stdout, argv[0]);
			return 0;
		default:
			usage(stderr, argv[0]);
			return 2;
		}
	}
	if (rounds == 0 || rounds > 64)
		rounds = 7;
	if (!mkdtemp(dir))
		return 1;
	snprintf(sock, sizeof(sock), "%s/broker.sock", dir);
	memset(&bo, 0, sizeof(bo));
	bo.sz = sizeof(bo);
	bo.path = sock;
	broker = sdrv_broker_new(&bo);
	if (!broker || pthread_create(&th, NULL, broker_thread, NULL)) {
		fprintf(stderr, "broker: %s\n", strerror(errno));
		return 1;
	}
	printf("POSIX transport, %u interleaved rounds per row, medians.\n\n", rounds);
	printf("| # | measure                             | mode    |     value  | baseline / "
	       "ratio\n");
	printf("|---|-------------------------------------|---------|------------|-----------------"
	       "\n");
	row_map();
	row_rtt();
	row_ring();
	broker_stop = 1;
	pthread_join(th, NULL);
	sdrv_broker_free(broker);
	rmdir(dir);
	return 0;
}
