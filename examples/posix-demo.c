/* SPDX-License-Identifier: MIT */
/*
 * splitdrv-posix-demo: a frontend and a backend brought together through
 * the POSIX transport's broker, the way Xen brings two domains together.
 *
 *   parent    runs the broker (the hypervisor's part) on a private socket
 *   frontend  domain 1: shares ring pages with domain 2 (grant refs),
 *             allocates an event channel for it, publishes both
 *   backend   domain 2: maps the refs, binds the channel, answers requests
 *
 * The refs and the port travel over a pipe here; the xenstore-protocol
 * store replaces it in the control plane. Every response is checked, and
 * at the end the frontend revokes its grants, which succeeds only once the
 * backend has unmapped them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <splitdrv/broker.h>
#include <splitdrv/ring.h>
#include <splitdrv/transport.h>

#define FRONT_DOMID 1
#define BACK_DOMID  2
#define MAX_PAGES   16
#define BATCH	    32
#define WAIT_MS	    5000

struct demo_req {
	uint64_t id;
	uint64_t data[3];
};

struct demo_rsp {
	uint64_t id;
	uint64_t sum;
};

SDRV_RING_DEFINE(demo, struct demo_req, struct demo_rsp);

/* What the frontend publishes (a stand-in for its xenstore directory). */
struct publish {
	uint32_t pages;
	sdrv_grant_ref_t refs[MAX_PAGES];
	sdrv_evtchn_port_t port;
};

struct opts {
	uint64_t messages;
	uint32_t pages;
	bool quiet;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void usage(FILE *f, const char *argv0)
{
	fprintf(f,
		"Usage: %s [OPTION]...\n"
		"Run a frontend and a backend in two processes that find each other through\n"
		"the POSIX transport's broker: granted ring pages, an event channel, and\n"
		"request/response messages, every response checked.\n\n"
		"  -n, --messages=N  request/response pairs (default 1000000)\n"
		"  -p, --pages=N     ring pages, a power of two up to %u (default 1)\n"
		"  -q, --quiet       print only the summary line\n"
		"  -h, --help        show this help\n\n"
		"Exit status: 0 if every response was right, 1 otherwise, 2 on bad usage.\n",
		argv0, MAX_PAGES);
}

static int die(const char *who, const char *what, int err)
{
	fprintf(stderr, "%s: %s: %s\n", who, what, strerror(err));
	return 1;
}

static struct sdrv_xport *open_domain(const char *sock, sdrv_domid_t domid)
{
	struct sdrv_xport_opts o;

	memset(&o, 0, sizeof(o));
	o.sz = sizeof(o);
	o.address = sock;
	o.domid = domid;
	o.grant_pages = 64;
	return sdrv_xport_open("posix", &o);
}

/*
 * Sleep until the transport has something for us: a pending port (taken,
 * then unmasked: the caller looks at the ring next) or news. Returns 1 if
 * `port` fired, 0 on other wake-ups, -ETIMEDOUT, or -EPIPE if the peer died.
 */
static int wait_for(struct sdrv_xport *x, sdrv_evtchn_port_t port, uint64_t *wakeups)
{
	struct pollfd pfd = {.fd = sdrv_xport_fd(x), .events = POLLIN};
	struct sdrv_xport_event ev[4];
	sdrv_evtchn_port_t p;
	int n, fired = 0;

	n = poll(&pfd, 1, WAIT_MS);
	if (n == 0)
		return -ETIMEDOUT;
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	n = sdrv_xport_process(x, ev, 4);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++)
		if (ev[i].type == SDRV_XPORT_EV_PEER_DIED)
			return -EPIPE;
	while (sdrv_evtchn_pending(x, &p) == 1) {
		if (p == port) {
			fired = 1;
			(*wakeups)++;
		}
		sdrv_evtchn_unmask(x, p);
	}
	return fired;
}

static int frontend(const char *sock, int pubfd, const struct opts *o)
{
	const char *me = "frontend";
	struct sdrv_xport *x = open_domain(sock, FRONT_DOMID);
	struct publish pub;
	struct demo_front f;
	struct demo_rsp rsp[BATCH];
	uint64_t sent = 0, got = 0, notifies = 0, wakeups = 0, bad = 0, t0;
	size_t bytes = (size_t)o->pages * SDRV_PAGE_SIZE;
	void *ring;
	int rc;

	if (!x)
		return die(me, "sdrv_xport_open", errno);
	memset(&pub, 0, sizeof(pub));
	pub.pages = o->pages;
	ring = sdrv_gnt_share(x, BACK_DOMID, o->pages, true, pub.refs);
	if (!ring)
		return die(me, "sdrv_gnt_share", errno);
	if (demo_front_init(&f, ring, bytes))
		return die(me, "ring init", EINVAL);
	rc = sdrv_evtchn_alloc_unbound(x, BACK_DOMID, &pub.port);
	if (rc)
		return die(me, "sdrv_evtchn_alloc_unbound", -rc);
	if (!o->quiet) {
		printf("frontend: domain %u shares a %u-page ring (%u slots) with domain %u: refs",
		       sdrv_xport_domid(x), o->pages, sdrv_ring_nr_ents(&f.r), BACK_DOMID);
		for (uint32_t i = 0; i < o->pages; i++)
			printf(" %u", pub.refs[i]);
		printf(", event channel %u\n", pub.port);
		fflush(stdout);
	}
	if (write(pubfd, &pub, sizeof(pub)) != (ssize_t)sizeof(pub))
		return die(me, "publish", errno);
	close(pubfd);
	/* The backend's bind sets our port pending, as in Xen. */
	while ((rc = wait_for(x, pub.port, &wakeups)) == 0)
		;
	if (rc < 0)
		return die(me, "waiting for the backend to bind", -rc);

	t0 = now_ns();
	while (got < o->messages) {
		int32_t n;

		while (sent < o->messages && demo_front_free(&f)) {
			struct demo_req *q = demo_front_next_req(&f);

			q->id = sent;
			q->data[0] = sent * 3;
			q->data[1] = ~sent;
			q->data[2] = sent << 7;
			sent++;
		}
		if (demo_front_push(&f)) {
			notifies++;
			if ((rc = sdrv_evtchn_notify(x, pub.port)))
				return die(me, "sdrv_evtchn_notify", -rc);
		}
		while ((n = demo_front_take_rsps(&f, rsp, BATCH)) > 0)
			for (int32_t i = 0; i < n; i++, got++)
				bad +=
				    rsp[i].id != got || rsp[i].sum != got * 3 + ~got + (got << 7);
		if (n < 0) {
			fprintf(stderr, "frontend: ring broken: %s\n", sdrv_ring_broken(&f.r));
			return 1;
		}
		if (got < sent && demo_front_final_check(&f) == 0 &&
		    (rc = wait_for(x, pub.port, &wakeups)) < 0)
			return die(me, "waiting for responses", -rc);
	}
	t0 = now_ns() - t0;

	/* Revoke: refused while the backend still maps the pages. */
	while ((rc = sdrv_gnt_unshare(x, ring, o->pages)) == -EBUSY)
		if ((rc = wait_for(x, pub.port, &wakeups)) < 0 && rc != -EPIPE)
			return die(me, "waiting for the backend to unmap", -rc);
	if (rc && rc != -EPIPE)
		return die(me, "sdrv_gnt_unshare", -rc);
	printf("%" PRIu64 " pairs in %.3f s: %.0f pairs/s, %.4f notifications/message "
	       "to the backend, %.4f wake-ups/message from it, %" PRIu64 " wrong\n",
	       got, (double)t0 / 1e9, (double)got * 1e9 / (double)t0,
	       (double)notifies / (double)got, (double)wakeups / (double)got, bad);
	sdrv_evtchn_close(x, pub.port);
	sdrv_xport_close(x);
	return bad ? 1 : 0;
}

static int backend(const char *sock, int pubfd, const struct opts *o)
{
	const char *me = "backend";
	struct sdrv_xport *x = open_domain(sock, BACK_DOMID);
	struct publish pub;
	struct demo_back b;
	struct demo_req req[BATCH];
	sdrv_evtchn_port_t port;
	uint64_t done = 0, wakeups = 0;
	int status[MAX_PAGES], rc;
	void *ring;

	if (!x)
		return die(me, "sdrv_xport_open", errno);
	if (read(pubfd, &pub, sizeof(pub)) != (ssize_t)sizeof(pub) || pub.pages == 0 ||
	    pub.pages > MAX_PAGES)
		return die(me, "reading what the frontend published", EPROTO);
	close(pubfd);
	ring = sdrv_gnt_map(x, FRONT_DOMID, pub.pages, pub.refs, true, status);
	if (!ring)
		return die(me, "sdrv_gnt_map", errno);
	if (demo_back_attach(&b, ring, (size_t)pub.pages * SDRV_PAGE_SIZE, 0))
		return die(me, "ring attach", EINVAL);
	rc = sdrv_evtchn_bind(x, FRONT_DOMID, pub.port, &port);
	if (rc)
		return die(me, "sdrv_evtchn_bind", -rc);
	if (!o->quiet) {
		printf("backend:  domain %u mapped the refs and bound channel %u as port %u\n",
		       sdrv_xport_domid(x), pub.port, port);
		fflush(stdout);
	}
	while (done < o->messages) {
		int32_t n = demo_back_take_reqs(&b, req, BATCH);

		if (n < 0) {
			fprintf(stderr, "backend: ring broken: %s\n", sdrv_ring_broken(&b.r));
			return 1;
		}
		for (int32_t i = 0; i < n; i++, done++) {
			struct demo_rsp *p = demo_back_next_rsp(&b);

			p->id = req[i].id;
			p->sum = req[i].data[0] + req[i].data[1] + req[i].data[2];
		}
		if (n && demo_back_push(&b) && (rc = sdrv_evtchn_notify(x, port)))
			return die(me, "sdrv_evtchn_notify", -rc);
		if (n == 0 && demo_back_final_check(&b) == 0 &&
		    (rc = wait_for(x, port, &wakeups)) < 0)
			return die(me, "waiting for requests", -rc);
	}
	/* Unmap, then tell the frontend it may revoke. */
	sdrv_gnt_unmap(x, ring, pub.pages);
	sdrv_evtchn_notify(x, port);
	sdrv_evtchn_close(x, port);
	sdrv_xport_close(x);
	return 0;
}

static void ignore(void *ctx, int level, const char *msg)
{
	(void)ctx;
	(void)level;
	(void)msg;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"messages", required_argument, NULL, 'n'},
	    {"pages", required_argument, NULL, 'p'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct opts o = {.messages = 1000000, .pages = 1};
	char dir[] = "/tmp/splitdrv-demo-XXXXXX", sock[64];
	struct sdrv_broker_opts bo;
	struct sdrv_broker *br;
	int pub[2], go[2], c, st, status = 0, left = 2;
	pid_t fe, be;

	while ((c = getopt_long(argc, argv, "n:p:qh", lo, NULL)) != -1) {
		switch (c) {
		case 'n':
			o.messages = strtoull(optarg, NULL, 0);
			break;
		case 'p':
			o.pages = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'q':
			o.quiet = true;
			break;
		case 'h':
			usage(stdout, argv[0]);
			return 0;
		default:
			usage(stderr, argv[0]);
			return 2;
		}
	}
	if (o.messages == 0 || o.pages == 0 || o.pages > MAX_PAGES || (o.pages & (o.pages - 1))) {
		usage(stderr, argv[0]);
		return 2;
	}
	if (!mkdtemp(dir))
		return die("demo", "mkdtemp", errno);
	snprintf(sock, sizeof(sock), "%s/broker.sock", dir);
	/* The domains are forked first and wait for "go", so they never
	 * inherit the broker object. */
	if (pipe(pub) || pipe(go))
		return die("demo", "pipe", errno);
	fflush(stdout);
	fe = fork();
	if (fe == 0) {
		int r = 1;

		close(pub[0]);
		close(go[1]);
		if (read(go[0], &c, 1) == 1)
			r = frontend(sock, pub[1], &o);
		fflush(NULL);
		_exit(r);
	}
	be = fork();
	if (be == 0) {
		int r = 1;

		close(pub[1]);
		close(go[1]);
		if (read(go[0], &c, 1) == 1)
			r = backend(sock, pub[0], &o);
		fflush(NULL);
		_exit(r);
	}
	close(pub[0]);
	close(pub[1]);
	close(go[0]);
	memset(&bo, 0, sizeof(bo));
	bo.sz = sizeof(bo);
	bo.path = sock;
	bo.log = ignore;
	br = sdrv_broker_new(&bo);
	if (!br) {
		status = die("demo", "sdrv_broker_new", errno);
		close(go[1]);
		while (wait(NULL) > 0)
			;
		rmdir(dir);
		return status;
	}
	if (!o.quiet)
		printf("broker:   listening on %s\n", sock);
	fflush(stdout);
	if (write(go[1], "gg", 2) != 2)
		status = die("demo", "starting the domains", errno);
	close(go[1]);
	/* Play the hypervisor until both domains are gone. */
	while (left > 0) {
		pid_t pid;

		sdrv_broker_run(br, 50);
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
			left--;
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
				fprintf(stderr, "demo: the %s failed\n",
					pid == fe ? "frontend" : "backend");
				status = 1;
				kill(pid == fe ? be : fe, SIGTERM);
			}
		}
	}
	sdrv_broker_free(br);
	rmdir(dir);
	return status;
}
