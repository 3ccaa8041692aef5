/* SPDX-License-Identifier: MIT */
/*
 * splitdrv-ring-demo: a frontend and a backend, two processes, one ring.
 *
 * The parent is the frontend, the forked child the backend. They share a
 * memfd-backed ring (memfd_create + mmap MAP_SHARED) and wake each other
 * through two eventfds, one per direction, standing in for Xen's event
 * channels. The frontend sends N requests, the backend answers each one,
 * and the frontend checks every answer (id outstanding, sequence number,
 * checksum), so a run is also a correctness test.
 *
 * Read it top to bottom: the message format, the wake-up plumbing, the one
 * function that implements the three notification policies (idle()), then
 * the two sides' loops. The ring rules a driver must follow are all here:
 *  - notify the peer only when push returns true;
 *  - sleep only after the final check returned 0;
 *  - copy entries out once (take_*) and validate only the copy;
 *  - a negative return means the ring is broken: stop and report why.
 *
 * See splitdrv-ring-demo(1) and doc/protocol.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <splitdrv/ring.h>

/* ------------------------------------------------------------------------ */
/* The protocol of this demo: one request, one response, 24 bytes each. */

struct demo_req {
	uint32_t id;	   /* frontend's tag, echoed in the response */
	uint32_t reserved; /* must be 0: the backend checks */
	uint64_t seq;	   /* message number, 0 .. N-1 */
	uint64_t payload;  /* what the backend digests */
};

struct demo_rsp {
	uint32_t id;	 /* the request's id */
	int32_t status;	 /* 0, or -EINVAL for a malformed request */
	uint64_t seq;	 /* the request's seq */
	uint64_t digest; /* demo_digest(id, seq, payload) */
};

_Static_assert(sizeof(struct demo_req) == 24, "request layout");
_Static_assert(sizeof(struct demo_rsp) == 24, "response layout");

/* demo_front, demo_back, demo_front_next_req() ... with checked types. */
SDRV_RING_DEFINE(demo, struct demo_req, struct demo_rsp);

static uint64_t mix64(uint64_t x)
{
	/* splitmix64 finaliser */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t demo_payload(uint64_t seq)
{
	return mix64(seq + 0x9e3779b97f4a7c15ULL);
}

static uint64_t demo_digest(uint32_t id, uint64_t seq, uint64_t payload)
{
	return mix64(payload ^ mix64(seq) ^ ((uint64_t)id << 40));
}

/* ------------------------------------------------------------------------ */
/* Options */

enum policy { POLICY_PLAIN, POLICY_POLLSLEEP, POLICY_BATCH };
static const char *const policy_names[] = {"plain", "pollsleep", "batch"};

#define POLLSLEEP_MAX_NS 50000ULL  /* poll up to 50 us before sleeping ... */
#define POLLSLEEP_MIN_NS 1000ULL   /* ... adapting down to 1 us */
#define BATCH_ENTRIES	 16u	   /* batch policy: wake after 16 entries ... */
#define BATCH_DELAY_NS	 100000ULL /* ... or once the oldest waited 100 us */
#define TAKE_MAX	 64u	   /* entries copied out per take call */

struct opts {
	uint64_t messages;
	unsigned int order; /* ring of 2^order pages */
	enum policy policy;
	bool quiet;
	uint64_t corrupt; /* backend corrupts the response to this seq + 1; 0 = never */
};

/* ------------------------------------------------------------------------ */
/* Per-side statistics. The backend's live in a shared page the parent reads
 * after the child exited; they are not part of the ring protocol. */

struct side_stats {
	uint64_t handled;   /* entries consumed */
	uint64_t notifies;  /* notifications sent to the peer */
	uint64_t sleeps;    /* times the side blocked in ppoll() */
	uint64_t wakeups;   /* ... and woke because the peer notified */
	uint64_t timeouts;  /* ... and woke on the batch time bound */
	uint64_t spurious;  /* woken by a notification, found no work */
	uint64_t window_ns; /* pollsleep: final polling window */
	int failed;	    /* non-zero: `why` says what went wrong */
	char why[160];
};

struct results {
	struct side_stats back;
};

/* One side's wake-up plumbing. */
struct endpoint {
	const struct opts *o;
	bool front;
	int kick_fd; /* eventfd: we write it to notify the peer */
	int wait_fd; /* eventfd: the peer writes it to wake us */
	int peer_fd; /* read end of a pipe only the peer can write: HUP = peer gone */
	bool peer_gone;
	struct sdrv_pollsleep ps;
	struct side_stats *st;
};

enum { IDLE_AGAIN = 0, IDLE_BROKEN = -1, IDLE_PEER_GONE = -2, IDLE_SYSERR = -3 };

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

__attribute__((format(printf, 2, 3))) static void fail(struct side_stats *st, const char *fmt, ...)
{
	va_list ap;

	if (st->failed)
		return;
	st->failed = 1;
	va_start(ap, fmt);
	vsnprintf(st->why, sizeof(st->why), fmt, ap);
	va_end(ap);
}

/* Notify the peer: the equivalent of an event-channel send. */
static int kick(struct endpoint *ep)
{
	uint64_t one = 1;

	ep->st->notifies++;
	if (write(ep->kick_fd, &one, sizeof(one)) != (ssize_t)sizeof(one) && errno != EAGAIN) {
		fail(ep->st, "eventfd write: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Block until the peer notifies us, `wait_ns` passes (SDRV_WAIT_FOREVER:
 * no limit), or the peer exits. Returns IDLE_AGAIN or a negative IDLE_*.
 */
static int block(struct endpoint *ep, uint64_t wait_ns)
{
	struct pollfd pfd[2] = {
	    {.fd = ep->wait_fd, .events = POLLIN},
	    {.fd = ep->peer_fd, .events = POLLIN},
	};
	struct timespec ts, *tsp = NULL;
	uint64_t count;
	int rc;

	if (wait_ns != SDRV_WAIT_FOREVER) {
		ts.tv_sec = (time_t)(wait_ns / 1000000000u);
		ts.tv_nsec = (long)(wait_ns % 1000000000u);
		tsp = &ts;
	}
	ep->st->sleeps++;
	do
		rc = ppoll(pfd, 2, tsp, NULL);
	while (rc < 0 && errno == EINTR);
	if (rc < 0) {
		fail(ep->st, "ppoll: %s", strerror(errno));
		return IDLE_SYSERR;
	}
	if (rc == 0) {
		ep->st->timeouts++;
		return IDLE_AGAIN;
	}
	if (pfd[0].revents & POLLIN) {
		ep->st->wakeups++;
		if (read(ep->wait_fd, &count, sizeof(count)) < 0 && errno != EAGAIN) {
			fail(ep->st, "eventfd read: %s", strerror(errno));
			return IDLE_SYSERR;
		}
	}
	if (pfd[1].revents) {
		/* The peer exited. Look at the ring once more: its last
		 * entries may be there. Give up the next time we would sleep. */
		if (ep->peer_gone)
			return IDLE_PEER_GONE;
		ep->peer_gone = true;
	}
	return IDLE_AGAIN;
}

/*
 * The consumer found the ring empty. Decide, per policy, whether to sleep,
 * and sleep. Returns IDLE_AGAIN (look at the ring again) or a negative
 * IDLE_* code. `r` is the side's struct sdrv_ring.
 */
static int idle(struct endpoint *ep, struct sdrv_ring *r)
{
	uint64_t wait_ns, t0;
	int32_t n;

	switch (ep->o->policy) {
	case POLICY_PLAIN:
		/* Xen: set the event index to cons + 1, look again; sleep
		 * only if that second look found nothing. */
		n = ep->front ? sdrv_ring_front_final_check(r) : sdrv_ring_back_final_check(r);
		if (n != 0)
			return n < 0 ? IDLE_BROKEN : IDLE_AGAIN;
		return block(ep, SDRV_WAIT_FOREVER);

	case POLICY_POLLSLEEP:
		/* Poll first; the event index stays behind meanwhile, so the
		 * producer does not notify. Then the plain final check. */
		sdrv_pollsleep_begin(&ep->ps, now_ns());
		do {
			n = ep->front ? sdrv_ring_front_unconsumed(r)
				      : sdrv_ring_back_unconsumed(r);
			if (n != 0)
				return n < 0 ? IDLE_BROKEN : IDLE_AGAIN;
			cpu_relax();
		} while (sdrv_pollsleep_keep_polling(&ep->ps, now_ns()));
		n = ep->front ? sdrv_ring_front_final_check(r) : sdrv_ring_back_final_check(r);
		if (n != 0)
			return n < 0 ? IDLE_BROKEN : IDLE_AGAIN;
		t0 = now_ns();
		n = block(ep, SDRV_WAIT_FOREVER);
		sdrv_pollsleep_slept(&ep->ps, now_ns() - t0);
		return n;

	case POLICY_BATCH:
		/* Ask to be woken after `batch` entries; wait_ns bounds the
		 * sleep so that no entry waits longer than the delay. */
		n = ep->front ? sdrv_ring_front_final_check_at(r, now_ns(), &wait_ns)
			      : sdrv_ring_back_final_check_at(r, now_ns(), &wait_ns);
		if (n != 0)
			return n < 0 ? IDLE_BROKEN : IDLE_AGAIN;
		if (wait_ns == 0)
			return IDLE_AGAIN;
		return block(ep, wait_ns);
	}
	return IDLE_SYSERR;
}

static int idle_failed(struct endpoint *ep, struct sdrv_ring *r, int rc)
{
	if (rc == IDLE_BROKEN)
		fail(ep->st, "ring broken: %s", sdrv_ring_broken(r));
	else if (rc == IDLE_PEER_GONE)
		fail(ep->st, "%s exited before the run finished",
		     ep->front ? "the backend" : "the frontend");
	return 1;
}

/* ------------------------------------------------------------------------ */
/* Backend (child): answer every request. */

static int run_back(struct endpoint *ep, void *shared, size_t bytes)
{
	const struct opts *o = ep->o;
	struct demo_back b;
	struct demo_req reqs[TAKE_MAX];
	uint64_t answered = 0, wakeups;
	bool woke = false;
	int32_t n, i;
	int rc;

	if (demo_back_attach(&b, shared, bytes, 0) != 0) {
		fail(ep->st, "%s", "cannot attach to the ring");
		return 1;
	}
	if (o->policy == POLICY_BATCH)
		sdrv_ring_set_batch(&b.r, BATCH_ENTRIES, BATCH_DELAY_NS);

	while (answered < o->messages) {
		n = demo_back_take_reqs(&b, reqs, TAKE_MAX);
		if (n < 0) {
			fail(ep->st, "ring broken: %s", sdrv_ring_broken(&b.r));
			return 1;
		}
		if (n == 0) {
			if (woke)
				ep->st->spurious++;
			wakeups = ep->st->wakeups;
			rc = idle(ep, &b.r);
			if (rc < 0)
				return idle_failed(ep, &b.r, rc);
			woke = ep->st->wakeups != wakeups;
			continue;
		}
		woke = false;
		for (i = 0; i < n; i++) {
			/* reqs[i] is our private copy: validate it, then use it. */
			const struct demo_req *q = &reqs[i];
			struct demo_rsp *p = demo_back_next_rsp(&b); /* zeroed slot */

			p->id = q->id;
			p->seq = q->seq;
			if (q->reserved != 0) {
				p->status = -EINVAL;
				continue;
			}
			p->digest = demo_digest(q->id, q->seq, q->payload);
			if (o->corrupt && q->seq + 1 == o->corrupt)
				p->digest ^= 1;
		}
		answered += (uint64_t)n;
		ep->st->handled += (uint64_t)n;
		if (demo_back_push(&b) && kick(ep))
			return 1;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Frontend (parent): send N requests, check every response. */

struct front_state {
	struct demo_front f;
	struct sdrv_ring_ids ids; /* which ids are outstanding */
	uint32_t *id_storage;
	uint64_t *seq_of; /* per id: the seq it was sent with */
	uint64_t wrong;	  /* responses that failed a check */
};

static int check_rsp(struct front_state *s, const struct demo_rsp *p)
{
	uint64_t seq;

	/* An id that is not outstanding is a protocol violation. */
	if (sdrv_ring_ids_put(&s->ids, p->id) != 0) {
		sdrv_ring_set_broken(&s->f.r, "backend answered an id that is not outstanding");
		return -1;
	}
	seq = s->seq_of[p->id];
	if (p->status != 0 || p->seq != seq ||
	    p->digest != demo_digest(p->id, seq, demo_payload(seq))) {
		if (s->wrong++ < 5)
			fprintf(stderr,
				"splitdrv-ring-demo: wrong response for id %" PRIu32 " seq %" PRIu64
				": status %" PRId32 " seq %" PRIu64 " digest %#" PRIx64 "\n",
				p->id, seq, p->status, p->seq, p->digest);
	}
	return 0;
}

static int run_front(struct endpoint *ep, struct front_state *s)
{
	const struct opts *o = ep->o;
	struct demo_rsp rsps[TAKE_MAX];
	uint64_t sent = 0, done = 0, wakeups;
	bool woke = false;
	int32_t n, i;
	int rc;

	if (o->policy == POLICY_BATCH)
		sdrv_ring_set_batch(&s->f.r, BATCH_ENTRIES, BATCH_DELAY_NS);

	while (done < o->messages) {
		/* Fill every free slot, then publish them in one push. */
		while (sent < o->messages && demo_front_free(&s->f) > 0) {
			struct demo_req *q = demo_front_next_req(&s->f); /* zeroed slot */
			uint32_t id;

			if (!q)
				break; /* broken: reported by take below */
			if (sdrv_ring_ids_get(&s->ids, &id) != 0) {
				fail(ep->st, "%s", "internal error: no free id");
				return 1;
			}
			s->seq_of[id] = sent;
			q->id = id;
			q->seq = sent;
			q->payload = demo_payload(sent);
			sent++;
		}
		if (demo_front_push(&s->f) && kick(ep))
			return 1;

		n = demo_front_take_rsps(&s->f, rsps, TAKE_MAX);
		if (n < 0) {
			fail(ep->st, "ring broken: %s", sdrv_ring_broken(&s->f.r));
			return 1;
		}
		if (n == 0) {
			if (woke)
				ep->st->spurious++;
			wakeups = ep->st->wakeups;
			rc = idle(ep, &s->f.r);
			if (rc < 0)
				return idle_failed(ep, &s->f.r, rc);
			woke = ep->st->wakeups != wakeups;
			continue;
		}
		woke = false;
		for (i = 0; i < n; i++) {
			if (check_rsp(s, &rsps[i]) != 0) {
				fail(ep->st, "ring broken: %s", sdrv_ring_broken(&s->f.r));
				return 1;
			}
		}
		done += (uint64_t)n;
		ep->st->handled += (uint64_t)n;
	}
	return s->wrong ? 1 : 0;
}

/* ------------------------------------------------------------------------ */
/* Set-up, fork, report. */

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "Usage: splitdrv-ring-demo [OPTION]...\n"
	    "Run a frontend and a backend process on one shared libsplitdrv ring:\n"
	    "the frontend sends requests, the backend answers each one, the frontend\n"
	    "checks every answer. Prints throughput and notifications per message.\n"
	    "\n"
	    "  -n, --messages N   request/response pairs to exchange (default 2000000)\n"
	    "  -p, --pages N      ring size in 4 KiB pages, a power of two 1..1024 (default 1)\n"
	    "  -P, --policy P     notification policy (default plain):\n"
	    "                       plain      Xen's rule: final check, then sleep\n"
	    "                       pollsleep  poll up to 50 us (adaptive) before sleeping\n"
	    "                       batch      wake after 16 entries or 100 us\n"
	    "      --corrupt SEQ  backend corrupts the response to message SEQ (1-based),\n"
	    "                     to show that the frontend's check catches it\n"
	    "  -q, --quiet        print nothing unless something fails\n"
	    "  -h, --help         show this help and exit\n"
	    "\n"
	    "Exit status: 0 if every response was right, 1 if a response was wrong, the\n"
	    "ring broke or a side failed, 2 on a usage error.\n");
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;
	unsigned long long x;

	if (*s == '\0' || *s == '-')
		return -1;
	errno = 0;
	x = strtoull(s, &end, 0);
	if (errno || *end != '\0')
		return -1;
	*v = x;
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
	    {"messages", required_argument, NULL, 'n'},
	    {"pages", required_argument, NULL, 'p'},
	    {"policy", required_argument, NULL, 'P'},
	    {"corrupt", required_argument, NULL, 'C'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	uint64_t v;
	int c;

	o->messages = 2000000;
	o->order = 0;
	o->policy = POLICY_PLAIN;
	o->quiet = false;
	o->corrupt = 0;
	while ((c = getopt_long(argc, argv, "n:p:P:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (parse_u64(optarg, &o->messages) || o->messages == 0) {
				fprintf(stderr, "splitdrv-ring-demo: bad --messages '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'p':
			if (parse_u64(optarg, &v) || v == 0 || (v & (v - 1)) ||
			    v > (1u << SDRV_RING_MAX_ORDER)) {
				fprintf(
				    stderr,
				    "splitdrv-ring-demo: --pages must be a power of two, 1..%u\n",
				    1u << SDRV_RING_MAX_ORDER);
				return 2;
			}
			o->order = (unsigned int)__builtin_ctzll(v);
			break;
		case 'P':
			for (v = 0; v < 3; v++)
				if (strcmp(optarg, policy_names[v]) == 0)
					break;
			if (v == 3) {
				fprintf(stderr, "splitdrv-ring-demo: unknown --policy '%s'\n",
					optarg);
				return 2;
			}
			o->policy = (enum policy)v;
			break;
		case 'C':
			if (parse_u64(optarg, &o->corrupt)) {
				fprintf(stderr, "splitdrv-ring-demo: bad --corrupt '%s'\n", optarg);
				return 2;
			}
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "splitdrv-ring-demo: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	return -1; /* run */
}

static void print_direction(const char *what, const struct side_stats *prod,
			    const struct side_stats *cons, uint64_t messages)
{
	printf("  %s  %.4f notifications/message (%" PRIu64 " sent); consumer slept %" PRIu64
	       " times (%" PRIu64 " woken, %" PRIu64 " timed out, %" PRIu64 " spurious)\n",
	       what, (double)prod->notifies / (double)messages, prod->notifies, cons->sleeps,
	       cons->wakeups, cons->timeouts, cons->spurious);
}

static void report(const struct opts *o, const struct front_state *s,
		   const struct side_stats *front, const struct side_stats *back, uint64_t ns)
{
	double secs = (double)ns / 1e9;

	printf("splitdrv-ring-demo: %" PRIu64 " pairs, ring of %u page(s) = %" PRIu32
	       " entries of %zu bytes, policy %s\n",
	       o->messages, 1u << o->order, sdrv_ring_nr_ents(&s->f.r), sizeof(union demo_entry),
	       policy_names[o->policy]);
	printf("  elapsed     %.3f s\n", secs);
	printf("  throughput  %.0f pairs/s\n", (double)o->messages / secs);
	print_direction("requests  (front -> back):", front, back, o->messages);
	print_direction("responses (back -> front):", back, front, o->messages);
	if (o->policy == POLICY_POLLSLEEP)
		printf("  pollsleep   final window: frontend %" PRIu64 " ns, backend %" PRIu64
		       " ns\n",
		       front->window_ns, back->window_ns);
	printf("  verified    %" PRIu64 " responses, %" PRIu64 " wrong\n", front->handled,
	       s->wrong);
}

int main(int argc, char **argv)
{
	struct opts o;
	struct front_state s;
	struct side_stats front_st;
	struct endpoint ep;
	struct results *res = MAP_FAILED;
	void *shared = MAP_FAILED;
	int efd_req = -1, efd_rsp = -1, fe_alive[2] = {-1, -1}, be_alive[2] = {-1, -1};
	size_t bytes;
	uint64_t t0 = 0, t1 = 0;
	uint32_t nr;
	pid_t pid;
	int rc, status, memfd;

	rc = parse_opts(argc, argv, &o);
	if (rc >= 0)
		return rc;

	memset(&s, 0, sizeof(s));
	memset(&front_st, 0, sizeof(front_st));
	memset(&ep, 0, sizeof(ep));
	bytes = SDRV_RING_BYTES(o.order);
	rc = 1;

	/* The ring: a memfd mapped shared, so the child sees the same pages.
	 * The mapping keeps the memory; the fd is not needed afterwards. */
	memfd = memfd_create("splitdrv-ring-demo", MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, (off_t)bytes) != 0) {
		perror("splitdrv-ring-demo: memfd");
		if (memfd >= 0)
			close(memfd);
		return 1;
	}
	shared = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	close(memfd);
	/* The demo's own results page (not part of the ring protocol). */
	res = mmap(NULL, sizeof(*res), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED || res == MAP_FAILED) {
		perror("splitdrv-ring-demo: mmap");
		goto out;
	}
	memset(res, 0, sizeof(*res));

	/* One eventfd per direction, plus a pipe per side whose write end
	 * only that side holds: its HUP tells the other side it exited. */
	efd_req = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	efd_rsp = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (efd_req < 0 || efd_rsp < 0 || pipe2(fe_alive, O_CLOEXEC) != 0 ||
	    pipe2(be_alive, O_CLOEXEC) != 0) {
		perror("splitdrv-ring-demo: eventfd/pipe");
		goto out;
	}

	/* Only the frontend initialises the shared header, before the
	 * backend attaches. */
	if (demo_front_init(&s.f, shared, bytes) != 0) {
		fprintf(stderr, "splitdrv-ring-demo: cannot initialise the ring\n");
		goto out;
	}
	nr = sdrv_ring_nr_ents(&s.f.r);

	ep.o = &o;
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("splitdrv-ring-demo: fork");
		goto out;
	}
	if (pid == 0) {
		/* Backend. */
		close(fe_alive[1]);
		close(be_alive[0]);
		fe_alive[1] = be_alive[0] = -1;
		ep.front = false;
		ep.kick_fd = efd_rsp;
		ep.wait_fd = efd_req;
		ep.peer_fd = fe_alive[0];
		ep.st = &res->back;
		sdrv_pollsleep_init(&ep.ps, POLLSLEEP_MAX_NS, POLLSLEEP_MIN_NS);
		rc = run_back(&ep, shared, bytes);
		res->back.window_ns = ep.ps.window_ns;
		goto out;
	}

	/* Frontend. */
	close(fe_alive[0]);
	close(be_alive[1]);
	fe_alive[0] = be_alive[1] = -1;
	ep.front = true;
	ep.kick_fd = efd_req;
	ep.wait_fd = efd_rsp;
	ep.peer_fd = be_alive[0];
	ep.st = &front_st;
	sdrv_pollsleep_init(&ep.ps, POLLSLEEP_MAX_NS, POLLSLEEP_MIN_NS);
	s.id_storage = calloc(nr, sizeof(*s.id_storage));
	s.seq_of = calloc(nr, sizeof(*s.seq_of));
	if (!s.id_storage || !s.seq_of || sdrv_ring_ids_init(&s.ids, s.id_storage, nr) != 0) {
		fail(&front_st, "%s", "out of memory");
	} else {
		t0 = now_ns();
		rc = run_front(&ep, &s);
		t1 = now_ns();
		front_st.window_ns = ep.ps.window_ns;
	}

	/* Let a backend that is still waiting see us go, then reap it. */
	close(fe_alive[1]);
	fe_alive[1] = -1;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		rc = 1;
		if (!res->back.failed)
			fail(&res->back, "%s", "the backend process died");
	}
	if (front_st.failed)
		fprintf(stderr, "splitdrv-ring-demo: frontend: %s\n", front_st.why);
	if (res->back.failed)
		fprintf(stderr, "splitdrv-ring-demo: backend: %s\n", res->back.why);
	if (s.wrong)
		fprintf(stderr, "splitdrv-ring-demo: %" PRIu64 " wrong response(s)\n", s.wrong);
	if (!front_st.failed && !o.quiet)
		report(&o, &s, &front_st, &res->back, t1 - t0);
	if (rc == 0 && (front_st.failed || res->back.failed || s.wrong))
		rc = 1;

out:
	free(s.id_storage);
	free(s.seq_of);
	if (efd_req >= 0)
		close(efd_req);
	if (efd_rsp >= 0)
		close(efd_rsp);
	for (int i = 0; i < 2; i++) {
		if (fe_alive[i] >= 0)
			close(fe_alive[i]);
		if (be_alive[i] >= 0)
			close(be_alive[i]);
	}
	if (res != MAP_FAILED)
		munmap(res, sizeof(*res));
	if (shared != MAP_FAILED)
		munmap(shared, bytes);
	return rc;
}
