/* SPDX-License-Identifier: MIT */
/*
 * splitdrv-posix-demo: a split driver set up the way Xen sets one up, with
 * ordinary processes in the roles of the hypervisor, the toolstack and two
 * domains.
 *
 *   parent     the hypervisor's part: the POSIX transport's broker and the
 *              store (xenstore protocol), each on a private socket; the
 *              store knows each client by the domain it holds at the broker
 *   toolstack  the privileged domain 0: writes both domains' homes and the
 *              device's frontend and backend directories, as libxl does,
 *              then watches the device come up and shows the tree
 *   frontend   domain 1: shares ring pages with domain 2 (grant refs),
 *              allocates an event channel, publishes both in its device
 *              directory and goes Initialised
 *   backend    domain 2: publishes its features (InitWait), reads what the
 *              frontend published, maps the refs, binds the channel and goes
 *              Connected; the frontend follows
 *
 * Then the frontend sends requests and checks every response. At the end it
 * closes the device: the backend unmaps and goes Closed, and the frontend
 * revokes its grants, which succeeds only once nothing maps them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <splitdrv/broker.h>
#include <splitdrv/ring.h>
#include <splitdrv/store.h>
#include <splitdrv/transport.h>
#include <splitdrv/xenbus.h>
#include <splitdrv/xs.h>

#define FRONT_DOMID 1
#define BACK_DOMID  2
#define DEV_TYPE    "demo"
#define DEV_ID	    0
#define MAX_ORDER   4 /* 16 pages */
#define BATCH	    32
#define WAIT_MS	    5000

extern char **environ;

struct demo_req {
	uint64_t id;
	uint64_t data[3];
};

struct demo_rsp {
	uint64_t id;
	uint64_t sum;
};

SDRV_RING_DEFINE(demo, struct demo_req, struct demo_rsp);

struct opts {
	uint64_t messages;
	uint32_t pages;
	bool quiet;
	const char *broker, *store;
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
		"Set up a split driver the way Xen does, with processes for the hypervisor,\n"
		"the toolstack and two domains: the toolstack writes the device directories\n"
		"to the store, the frontend publishes its granted ring and event channel,\n"
		"the backend connects, and request/response messages flow, every response\n"
		"checked.\n\n"
		"  -n, --messages=N  request/response pairs (default 1000000)\n"
		"  -p, --pages=N     ring pages, a power of two up to %u (default 1)\n"
		"  -q, --quiet       print only the summary line\n"
		"  -h, --help        show this help\n\n"
		"Exit status: 0 if every response was right, 1 otherwise, 2 on bad usage.\n",
		argv0, 1u << MAX_ORDER);
}

static int die(const char *who, const char *what, int err)
{
	fprintf(stderr, "%s: %s: %s\n", who, what, strerror(err));
	return 1;
}

static unsigned order_of(uint32_t pages)
{
	unsigned o = 0;

	while ((1u << o) < pages)
		o++;
	return o;
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

/* A domain's store connection: the address its transport gives. The store
 * knows us as the domain we hold at the broker. */
static struct sdrv_xs *open_store(struct sdrv_xport *x)
{
	struct sdrv_xs_opts o;

	memset(&o, 0, sizeof(o));
	o.sz = sizeof(o);
	o.timeout_ms = 30000;
	return sdrv_xs_open(sdrv_xport_store_address(x), &o);
}

/*
 * Sleep until the transport or the store has something for us: a pending
 * port (taken, then unmasked: the caller looks at the ring next), news, or
 * store traffic (processed: xenbus callbacks run from here). Returns 1 if
 * `port` fired, 0 on other wake-ups, -ETIMEDOUT, or -EPIPE if the peer died.
 */
static int wait_for(struct sdrv_xport *x, struct sdrv_xs *xs, sdrv_evtchn_port_t port,
		    uint64_t *wakeups)
{
	struct pollfd pfd[2] = {{.fd = sdrv_xport_fd(x), .events = POLLIN},
				{.fd = sdrv_xs_fd(xs), .events = POLLIN}};
	struct sdrv_xport_event ev[4];
	sdrv_evtchn_port_t p;
	int n, fired = 0;

	n = poll(pfd, 2, WAIT_MS);
	if (n == 0)
		return -ETIMEDOUT;
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	if (pfd[1].revents && (n = sdrv_xs_process(xs)) < 0)
		return n;
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

/* ---- the frontend ------------------------------------------------------ */

struct front {
	const struct opts *o;
	struct sdrv_xport *x;
	void *ring;
	struct demo_front f;
	sdrv_grant_ref_t refs[1u << MAX_ORDER];
	sdrv_evtchn_port_t port;
	bool connected;
	int unshare_rc;
};

static int front_publish(struct sdrv_xenbus_front *xf, uint32_t tx, void *ctx)
{
	struct front *s = ctx;
	struct sdrv_xs *xs = sdrv_xenbus_front_xs(xf);
	const char *dir = sdrv_xenbus_front_dir(xf);
	unsigned order = order_of(s->o->pages);
	int r;

	if (!s->ring) {
		s->ring = sdrv_gnt_share(s->x, BACK_DOMID, s->o->pages, true, s->refs);
		if (!s->ring)
			return -errno;
		if (demo_front_init(&s->f, s->ring, (size_t)s->o->pages * SDRV_PAGE_SIZE))
			return -EINVAL;
		if ((r = sdrv_evtchn_alloc_unbound(s->x, BACK_DOMID, &s->port)) < 0)
			return r;
	}
	if ((r = sdrv_xenbus_write_ring_refs(xs, tx, dir, SDRV_XENBUS_KEY_RING_REF, s->refs,
					     order)) < 0)
		return r;
	if (order &&
	    (r = sdrv_xenbus_write_uint(xs, tx, dir, SDRV_XENBUS_KEY_RING_PAGE_ORDER, order)) < 0)
		return r;
	return sdrv_xenbus_write_uint(xs, tx, dir, SDRV_XENBUS_KEY_EVENT_CHANNEL, s->port);
}

static int front_connect(struct sdrv_xenbus_front *xf, void *ctx)
{
	struct front *s = ctx;

	(void)xf;
	s->connected = true;
	return 0;
}

/* Revoke the ring's grants. The transport refuses while the backend still
 * maps them (-EBUSY); then the pages are kept, never reused, and revoked
 * later, as Linux's deferred grant ends do (XSA-396). */
static void front_disconnect(struct sdrv_xenbus_front *xf, void *ctx)
{
	struct front *s = ctx;

	(void)xf;
	s->connected = false;
	if (s->ring) {
		s->unshare_rc = sdrv_gnt_unshare(s->x, s->ring, s->o->pages);
		if (s->unshare_rc != -EBUSY)
			s->ring = NULL;
		if (s->port) {
			sdrv_evtchn_close(s->x, s->port);
			s->port = 0;
		}
	}
}

static int frontend(const struct opts *o)
{
	const char *me = "frontend";
	struct front s = {.o = o};
	struct sdrv_xenbus_front_opts fo = {.sz = sizeof(fo)};
	struct sdrv_xenbus_front *xf;
	struct sdrv_xs *xs;
	struct demo_rsp rsp[BATCH];
	uint64_t sent = 0, got = 0, notifies = 0, wakeups = 0, bad = 0, t0;
	int rc;

	s.x = open_domain(o->broker, FRONT_DOMID);
	if (!s.x)
		return die(me, "sdrv_xport_open", errno);
	if (!(xs = open_store(s.x)))
		return die(me, "connecting to the store", errno);
	fo.xs = xs;
	fo.domid = FRONT_DOMID;
	fo.type = DEV_TYPE;
	fo.id = DEV_ID;
	fo.publish = front_publish;
	fo.connect = front_connect;
	fo.disconnect = front_disconnect;
	fo.ctx = &s;
	if (!(xf = sdrv_xenbus_front_new(&fo)))
		return die(me, "sdrv_xenbus_front_new", errno);
	while (!s.connected)
		if ((rc = wait_for(s.x, xs, s.port, &wakeups)) < 0)
			return die(me, "waiting for the backend to connect", -rc);
	if (!o->quiet) {
		printf("frontend: domain %u is Connected: a %u-page ring (%u slots), refs",
		       FRONT_DOMID, o->pages, sdrv_ring_nr_ents(&s.f.r));
		for (uint32_t i = 0; i < o->pages; i++)
			printf(" %u", s.refs[i]);
		printf(", event channel %u\n", s.port);
		fflush(stdout);
	}

	t0 = now_ns();
	while (got < o->messages) {
		int32_t n;

		while (sent < o->messages && demo_front_free(&s.f)) {
			struct demo_req *q = demo_front_next_req(&s.f);

			q->id = sent;
			q->data[0] = sent * 3;
			q->data[1] = ~sent;
			q->data[2] = sent << 7;
			sent++;
		}
		if (demo_front_push(&s.f)) {
			notifies++;
			if ((rc = sdrv_evtchn_notify(s.x, s.port)))
				return die(me, "sdrv_evtchn_notify", -rc);
		}
		while ((n = demo_front_take_rsps(&s.f, rsp, BATCH)) > 0)
			for (int32_t i = 0; i < n; i++, got++)
				bad +=
				    rsp[i].id != got || rsp[i].sum != got * 3 + ~got + (got << 7);
		if (n < 0) {
			fprintf(stderr, "frontend: ring broken: %s\n", sdrv_ring_broken(&s.f.r));
			return 1;
		}
		if (got < sent && demo_front_final_check(&s.f) == 0 &&
		    (rc = wait_for(s.x, xs, s.port, &wakeups)) < 0)
			return die(me, "waiting for responses", -rc);
		if (!s.connected) {
			fprintf(stderr, "frontend: the backend went away\n");
			return 1;
		}
	}
	t0 = now_ns() - t0;

	/* Closing: the backend unmaps and goes Closed, then our disconnect
	 * callback revokes the grants (refused while anything maps them). */
	rc = sdrv_xenbus_front_close(xf, WAIT_MS);
	if (rc < 0)
		return die(me, "closing the device", -rc);
	/* The backend is Closed, so it has unmapped: revoke what was deferred. */
	for (int tries = 0; s.ring && tries < 1000; tries++) {
		struct sdrv_xport_event ev[4];

		if ((s.unshare_rc = sdrv_gnt_unshare(s.x, s.ring, o->pages)) != -EBUSY)
			s.ring = NULL;
		else if (sdrv_xport_process(s.x, ev, 4) >= 0)
			usleep(1000);
	}
	if (s.unshare_rc)
		return die(me, "revoking the ring's grants", -s.unshare_rc);
	if (!o->quiet)
		printf("frontend: closed; the backend unmapped the ring and its grants are "
		       "revoked\n");
	printf("%" PRIu64 " pairs in %.3f s: %.0f pairs/s, %.4f notifications/message "
	       "to the backend, %.4f wake-ups/message from it, %" PRIu64 " wrong\n",
	       got, (double)t0 / 1e9, (double)got * 1e9 / (double)t0,
	       (double)notifies / (double)got, (double)wakeups / (double)got, bad);
	sdrv_xenbus_front_free(xf);
	sdrv_xs_close(xs);
	sdrv_xport_close(s.x);
	return bad ? 1 : 0;
}

/* ---- the backend ------------------------------------------------------- */

struct back {
	const struct opts *o;
	struct sdrv_xport *x;
	void *ring;
	uint32_t pages;
	struct demo_back b;
	sdrv_evtchn_port_t port;
	bool connected;
};

static int back_publish(struct sdrv_xenbus_back *xb, uint32_t tx, void *ctx)
{
	(void)ctx;
	return sdrv_xenbus_write_uint(sdrv_xenbus_back_xs(xb), tx, sdrv_xenbus_back_dir(xb),
				      SDRV_XENBUS_KEY_MAX_RING_PAGE_ORDER, MAX_ORDER);
}

/* Everything the frontend wrote is read strictly and bounded. */
static int back_connect(struct sdrv_xenbus_back *xb, void *ctx)
{
	struct back *s = ctx;
	struct sdrv_xs *xs = sdrv_xenbus_back_xs(xb);
	const char *dir = sdrv_xenbus_back_peer_dir(xb);
	sdrv_grant_ref_t refs[1u << MAX_ORDER];
	int status[1u << MAX_ORDER];
	unsigned order;
	uint32_t port;
	int r;

	if ((r = sdrv_xenbus_read_ring_order(xs, 0, dir, MAX_ORDER, &order)) < 0 ||
	    (r = sdrv_xenbus_read_ring_refs(xs, 0, dir, SDRV_XENBUS_KEY_RING_REF, order, refs)) <
		0 ||
	    (r = sdrv_xenbus_read_evtchn(xs, 0, dir, SDRV_XENBUS_KEY_EVENT_CHANNEL, &port)) < 0)
		return r;
	s->pages = 1u << order;
	s->ring = sdrv_gnt_map(s->x, FRONT_DOMID, s->pages, refs, true, status);
	if (!s->ring)
		return -errno;
	if (demo_back_attach(&s->b, s->ring, (size_t)s->pages * SDRV_PAGE_SIZE, 0)) {
		sdrv_gnt_unmap(s->x, s->ring, s->pages);
		s->ring = NULL;
		return -EINVAL;
	}
	if ((r = sdrv_evtchn_bind(s->x, FRONT_DOMID, port, &s->port)) < 0) {
		sdrv_gnt_unmap(s->x, s->ring, s->pages);
		s->ring = NULL;
		return r;
	}
	if (!s->o->quiet) {
		printf("backend:  domain %u read the frontend's keys, mapped %u page%s and bound "
		       "channel %u as port %u\n",
		       BACK_DOMID, s->pages, s->pages == 1 ? "" : "s", port, s->port);
		fflush(stdout);
	}
	s->connected = true;
	return 0;
}

static void back_disconnect(struct sdrv_xenbus_back *xb, void *ctx)
{
	struct back *s = ctx;

	(void)xb;
	if (s->ring) {
		sdrv_gnt_unmap(s->x, s->ring, s->pages);
		sdrv_evtchn_close(s->x, s->port);
		s->ring = NULL;
	}
	s->connected = false;
}

static int backend(const struct opts *o)
{
	const char *me = "backend";
	struct back s = {.o = o};
	struct sdrv_xenbus_back_opts bo = {.sz = sizeof(bo)};
	struct sdrv_xenbus_back *xb;
	struct sdrv_xs *xs;
	struct demo_req req[BATCH];
	uint64_t wakeups = 0;
	bool served = false;
	int rc;

	s.x = open_domain(o->broker, BACK_DOMID);
	if (!s.x)
		return die(me, "sdrv_xport_open", errno);
	if (!(xs = open_store(s.x)))
		return die(me, "connecting to the store", errno);
	bo.xs = xs;
	bo.domid = BACK_DOMID;
	bo.type = DEV_TYPE;
	bo.fe = FRONT_DOMID;
	bo.id = DEV_ID;
	bo.publish = back_publish;
	bo.connect = back_connect;
	bo.disconnect = back_disconnect;
	bo.ctx = &s;
	if (!(xb = sdrv_xenbus_back_new(&bo)))
		return die(me, "sdrv_xenbus_back_new", errno);
	/* Serve while connected; the frontend's Closing disconnects us (from
	 * sdrv_xs_process() in wait_for) and the backend then goes Closed. */
	while (sdrv_xenbus_back_state(xb) != SDRV_XENBUS_CLOSED) {
		int32_t n = 0;

		if (s.connected) {
			served = true;
			n = demo_back_take_reqs(&s.b, req, BATCH);
			if (n < 0) {
				fprintf(stderr, "backend: ring broken: %s\n",
					sdrv_ring_broken(&s.b.r));
				return 1;
			}
			for (int32_t i = 0; i < n; i++) {
				struct demo_rsp *p = demo_back_next_rsp(&s.b);

				p->id = req[i].id;
				p->sum = req[i].data[0] + req[i].data[1] + req[i].data[2];
			}
			if (n && demo_back_push(&s.b) && (rc = sdrv_evtchn_notify(s.x, s.port)))
				return die(me, "sdrv_evtchn_notify", -rc);
			if (n)
				continue;
			if (demo_back_final_check(&s.b))
				continue;
		}
		if ((rc = wait_for(s.x, xs, s.connected ? s.port : 0, &wakeups)) < 0 &&
		    rc != -EPIPE)
			return die(me, "waiting", -rc);
		if (served && !s.connected && rc == -EPIPE)
			break;
	}
	if (!o->quiet)
		printf("backend:  Closed\n");
	sdrv_xenbus_back_free(xb);
	sdrv_xs_close(xs);
	sdrv_xport_close(s.x);
	return 0;
}

/* ---- the toolstack ----------------------------------------------------- */

static void on_change(struct sdrv_xs *xs, const char *path, const char *token, void *ctx)
{
	(void)xs;
	(void)path;
	(void)token;
	*(bool *)ctx = true;
}

static enum sdrv_xenbus_state read_state(struct sdrv_xs *xs, const char *dir)
{
	char path[SDRV_XENBUS_PATH_MAX + 8], *v;
	size_t len;
	enum sdrv_xenbus_state st;

	snprintf(path, sizeof(path), "%s/state", dir);
	if (sdrv_xs_read(xs, 0, path, &v, &len) < 0)
		return SDRV_XENBUS_UNKNOWN;
	st = sdrv_xenbus_state_parse(v, len);
	free(v);
	return st;
}

/* Print the tree under `path` as `xenstore-ls -f` does. */
static void print_tree(struct sdrv_xs *xs, const char *path)
{
	char **names, *v, child[SDRV_XENBUS_PATH_MAX * 2];
	unsigned n;
	size_t len;

	if (sdrv_xs_read(xs, 0, path, &v, &len) == 0) {
		printf("  %s = \"%s\"\n", path, v);
		free(v);
	}
	if (sdrv_xs_directory(xs, 0, path, &names, &n) < 0)
		return;
	for (unsigned i = 0; i < n; i++) {
		snprintf(child, sizeof(child), "%s/%s", strcmp(path, "/") ? path : "", names[i]);
		print_tree(xs, child);
	}
	free(names);
}

/* Run Xen's `xenstore-ls -f /local/domain` against our store and return
 * what it printed (malloc'ed, NUL-terminated), or NULL if it is not
 * installed or did not succeed. */
static char *run_xenstore_ls(const struct opts *o)
{
	char *argv[] = {"xenstore-ls", "-f", "/local/domain", NULL};
	posix_spawn_file_actions_t fa;
	char *out = NULL;
	size_t len = 0, cap = 0;
	int p[2], st, ok = 0;
	pid_t pid;

	if (setenv("XENSTORED_PATH", o->store, 1) != 0 || pipe(p) != 0)
		return NULL;
	if (posix_spawn_file_actions_init(&fa) != 0) {
		close(p[0]);
		close(p[1]);
		return NULL;
	}
	posix_spawn_file_actions_addclose(&fa, p[0]);
	posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
	posix_spawn_file_actions_addclose(&fa, p[1]);
	ok = posix_spawnp(&pid, "xenstore-ls", &fa, NULL, argv, environ) == 0;
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	for (;;) {
		ssize_t n;

		if (len + 1024 > cap) {
			char *nb = realloc(out, cap + 8192);

			if (!nb)
				break;
			out = nb;
			cap += 8192;
		}
		n = read(p[0], out + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(p[0]);
	if (ok)
		ok = waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
	if (!ok || !out) {
		free(out);
		return NULL;
	}
	out[len] = '\0';
	return out;
}

/* Show the tree with Xen's own xenstore-ls when it is installed (and
 * SPLITDRV_DEMO_OWN_LS is not set), else with the demo's own printer; the
 * heading says which one printed it. */
static void show_tree(struct sdrv_xs *xs, const struct opts *o)
{
	char *ls = getenv("SPLITDRV_DEMO_OWN_LS") ? NULL : run_xenstore_ls(o);

	if (ls) {
		printf("toolstack: the store now holds (Xen's xenstore-ls -f /local/domain):\n%s",
		       ls);
		free(ls);
		return;
	}
	printf("toolstack: the store now holds (the demo's own listing, as xenstore-ls -f "
	       "/local/domain; Xen's xenstore-ls %s):\n",
	       getenv("SPLITDRV_DEMO_OWN_LS") ? "not used (SPLITDRV_DEMO_OWN_LS)"
					      : "is not installed or failed");
	print_tree(xs, "/local/domain");
}

static int make_home(struct sdrv_xs *xs, sdrv_domid_t domid, const char *name)
{
	/* As libxl: the toolstack owns a domain's home, the domain reads it. */
	struct sdrv_xs_perm perms[2] = {{0, SDRV_XS_PERM_NONE}, {domid, SDRV_XS_PERM_READ}};
	char path[64];
	int r;

	snprintf(path, sizeof(path), "/local/domain/%u", domid);
	if ((r = sdrv_xs_mkdir(xs, 0, path)) < 0 ||
	    (r = sdrv_xs_set_perms(xs, 0, path, perms, 2)) < 0)
		return r;
	snprintf(path, sizeof(path), "/local/domain/%u/name", domid);
	return sdrv_xs_write_str(xs, 0, path, name);
}

static int toolstack(const struct opts *o, int go_fd)
{
	const char *me = "toolstack";
	struct sdrv_xenbus_dev dev = {.sz = sizeof(dev)};
	char fdir[SDRV_XENBUS_PATH_MAX], bdir[SDRV_XENBUS_PATH_MAX];
	bool changed = true, shown = false;
	struct sdrv_xs *xs = sdrv_xs_open(o->store, NULL);
	uint64_t end;
	int r;

	if (!xs)
		return die(me, "connecting to the store", errno);
	dev.type = DEV_TYPE;
	dev.fe = FRONT_DOMID;
	dev.be = BACK_DOMID;
	dev.id = DEV_ID;
	if ((r = make_home(xs, FRONT_DOMID, "frontend")) < 0 ||
	    (r = make_home(xs, BACK_DOMID, "backend")) < 0 ||
	    (r = sdrv_xenbus_dev_create(xs, &dev)) < 0)
		return die(me, "writing the device directories", -r);
	sdrv_xenbus_front_path(fdir, sizeof(fdir), FRONT_DOMID, DEV_TYPE, DEV_ID);
	sdrv_xenbus_back_path(bdir, sizeof(bdir), BACK_DOMID, DEV_TYPE, FRONT_DOMID, DEV_ID);
	if (!o->quiet) {
		printf("toolstack: device directories written: %s and %s\n", fdir, bdir);
		fflush(stdout);
	}
	if (write(go_fd, "gg", 2) != 2)
		return die(me, "starting the domains", errno);
	close(go_fd);
	if ((r = sdrv_xs_watch(xs, fdir, "fe", on_change, &changed)) < 0 ||
	    (r = sdrv_xs_watch(xs, bdir, "be", on_change, &changed)) < 0)
		return die(me, "watching the device", -r);
	/* Watch the handshake: until both sides are Connected, then until the
	 * frontend's close has taken both down. */
	end = now_ns() + 600ull * 1000000000ull;
	for (;;) {
		struct pollfd pfd = {.fd = sdrv_xs_fd(xs), .events = POLLIN};
		enum sdrv_xenbus_state fs, bs;

		if (changed) {
			changed = false;
			fs = read_state(xs, fdir);
			bs = read_state(xs, bdir);
			if (!shown && fs == SDRV_XENBUS_CONNECTED && bs == SDRV_XENBUS_CONNECTED) {
				shown = true;
				if (!o->quiet) {
					printf("toolstack: frontend %s, backend %s\n",
					       sdrv_xenbus_state_name(fs),
					       sdrv_xenbus_state_name(bs));
					show_tree(xs, o);
					fflush(stdout);
				}
			}
			if (shown && fs == SDRV_XENBUS_CLOSED && bs == SDRV_XENBUS_CLOSED)
				break;
		}
		if (now_ns() > end)
			return die(me, "waiting for the device", ETIMEDOUT);
		if (poll(&pfd, 1, 1000) > 0 && (r = sdrv_xs_process(xs)) < 0)
			return die(me, "store connection", -r);
	}
	/* Both ends are Closed: remove the device and the domains' homes. */
	r = sdrv_xenbus_dev_remove(xs, &dev);
	if (r == 0)
		r = sdrv_xs_rm(xs, 0, "/local/domain/1");
	if (r == 0)
		r = sdrv_xs_rm(xs, 0, "/local/domain/2");
	if (r < 0)
		return die(me, "removing the device", -r);
	if (!o->quiet)
		printf("toolstack: both ends Closed; device removed\n");
	sdrv_xs_close(xs);
	return 0;
}

/* ---- the hypervisor's part --------------------------------------------- */

static void ignore(void *ctx, int level, const char *msg)
{
	(void)ctx;
	(void)level;
	(void)msg;
}

static int domain_at_broker(void *ctx, pid_t pid, uid_t uid, gid_t gid, uint32_t *domid)
{
	sdrv_domid_t d;
	int r = sdrv_broker_domain_of(ctx, pid, uid, &d);

	(void)gid;
	if (r == 0)
		*domid = d;
	return r;
}

static pid_t start(int (*fn)(const struct opts *), const struct opts *o, int go_fd)
{
	pid_t pid = fork();

	if (pid == 0) {
		char c;
		int r = 1;

		if (read(go_fd, &c, 1) == 1)
			r = fn(o);
		fflush(NULL);
		_exit(r);
	}
	return pid;
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
	char dir[] = "/tmp/splitdrv-demo-XXXXXX", bsock[64], ssock[64];
	struct sdrv_broker_opts bo;
	struct sdrv_store_opts so;
	struct sdrv_broker *br;
	struct sdrv_store *store;
	int go[2], tgo[2], c, st, status = 0, left = 3;
	pid_t pids[3];

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
	if (o.messages == 0 || o.pages == 0 || o.pages > (1u << MAX_ORDER) ||
	    (o.pages & (o.pages - 1))) {
		usage(stderr, argv[0]);
		return 2;
	}
	if (!mkdtemp(dir))
		return die("demo", "mkdtemp", errno);
	snprintf(bsock, sizeof(bsock), "%s/broker.sock", dir);
	snprintf(ssock, sizeof(ssock), "%s/store.sock", dir);
	o.broker = bsock;
	o.store = ssock;
	/* Everybody is forked first and waits for "go", so nobody inherits
	 * the broker or the store: the toolstack's go comes from us once both
	 * listen, the domains' from the toolstack once their directories
	 * exist. */
	if (pipe(go) || pipe(tgo))
		return die("demo", "pipe", errno);
	fflush(stdout);
	pids[0] = fork();
	if (pids[0] == 0) {
		char ch;
		int r = 1;

		close(go[0]);
		close(tgo[1]);
		if (read(tgo[0], &ch, 1) == 1)
			r = toolstack(&o, go[1]);
		fflush(NULL);
		_exit(r);
	}
	close(tgo[0]);
	close(go[1]);
	pids[1] = start(frontend, &o, go[0]);
	pids[2] = start(backend, &o, go[0]);
	close(go[0]);

	memset(&bo, 0, sizeof(bo));
	bo.sz = sizeof(bo);
	bo.path = bsock;
	bo.store_address = ssock;
	bo.log = ignore;
	br = sdrv_broker_new(&bo);
	memset(&so, 0, sizeof(so));
	so.sz = sizeof(so);
	so.path = ssock;
	so.peer_domain = domain_at_broker;
	so.peer_domain_ctx = br;
	so.log = ignore;
	store = br ? sdrv_store_new(&so) : NULL;
	if (!store) {
		status = die("demo", br ? "sdrv_store_new" : "sdrv_broker_new", errno);
		close(tgo[1]);
		while (wait(NULL) > 0)
			;
		sdrv_broker_free(br);
		rmdir(dir);
		return status;
	}
	if (!o.quiet)
		printf("hypervisor: broker on %s, store on %s\n", bsock, ssock);
	fflush(stdout);
	if (write(tgo[1], "g", 1) != 1)
		status = die("demo", "starting the toolstack", errno);
	close(tgo[1]);
	/* Play the hypervisor until everybody is gone. */
	while (left > 0) {
		struct pollfd pfd[2] = {{.fd = sdrv_broker_fd(br), .events = POLLIN},
					{.fd = sdrv_store_fd(store), .events = POLLIN}};
		pid_t pid;

		poll(pfd, 2, 50);
		/* The broker first: a process is a domain there before the
		 * store asks who it is. */
		sdrv_broker_run(br, 0);
		sdrv_store_run(store, 0);
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
			static const char *const who[] = {"toolstack", "frontend", "backend"};

			left--;
			for (int i = 0; i < 3; i++) {
				if (pids[i] != pid)
					continue;
				pids[i] = 0;
				if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
					fprintf(stderr, "demo: the %s failed\n", who[i]);
					status = 1;
					for (int j = 0; j < 3; j++)
						if (pids[j] > 0)
							kill(pids[j], SIGTERM);
				}
			}
		}
	}
	sdrv_store_free(store);
	sdrv_broker_free(br);
	rmdir(dir);
	return status;
}
