/* SPDX-License-Identifier: MIT */
/*
 * Hostile clients of the broker: domain ids and privilege that are not
 * ours are refused; malformed requests get a clear error with their seq;
 * broken framing, too many descriptors, oversized datagrams and a client
 * that never reads its replies lose their connection; random garbage
 * (descriptors of every kind attached now and then) changes nothing for a
 * well-behaved domain connected at the same time, and leaves no
 * descriptor behind in the broker.
 */
#include "posix-common.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "../../transports/posix/proto.h"

struct shm { /* in the page pt_run_pair() shares */
	uint32_t good_domid;
	uint32_t stage_good, stage_raw;
};

static int raw_connect(struct pt_env *e)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	struct timeval tv = {.tv_sec = tu_under_valgrind() ? 120 : 10};

	CHECK(fd >= 0);
	strcpy(sa.sun_path, e->path);
	CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0);
	return fd;
}

static int raw_send(int fd, const void *buf, size_t n, const int *fds, unsigned nfds)
{
	union {
		char b[CMSG_SPACE(sizeof(int) * (SDRV_PM_MAX_FDS + 1))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {.iov_base = (void *)(uintptr_t)buf, .iov_len = n};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};

	if (nfds) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.b;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	return sendmsg(fd, &msg, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -errno;
}

/* The next reply: its status (seq and type checked), or 1 at end of stream. */
static int raw_reply(int fd, uint16_t type, uint32_t seq)
{
	union {
		unsigned char b[SDRV_PM_MAX_MSG];
		uint64_t align;
	} buf;
	struct sdrv_pm_hdr h;
	int32_t status;
	ssize_t n = recv(fd, buf.b, sizeof(buf.b), 0);

	if (n == 0 || (n < 0 && errno == ECONNRESET))
		return 1;
	CHECK(n >= (ssize_t)(SDRV_PM_HDR_SIZE + 4));
	memcpy(&h, buf.b, sizeof(h));
	CHECK(h.magic == SDRV_PM_MAGIC && h.seq == seq && h.type == (type | SDRV_PM_REPLY));
	memcpy(&status, buf.b + SDRV_PM_HDR_SIZE, sizeof(status));
	return status;
}

static int request(int fd, uint16_t type, uint32_t seq, const void *p, size_t len, const int *fds,
		   unsigned nfds)
{
	unsigned char buf[SDRV_PM_MAX_MSG];
	size_t n = sdrv_pm_encode(buf, type, seq, p, len);

	CHECK(raw_send(fd, buf, n, fds, nfds) == 0);
	return raw_reply(fd, type, seq);
}

/* Send `n` bytes; the broker must hang up. */
static void expect_drop(struct pt_env *e, const void *buf, size_t n, const int *fds, unsigned nfds)
{
	int fd = raw_connect(e);
	char c;

	CHECK(raw_send(fd, buf, n, fds, nfds) == 0);
	CHECK(recv(fd, &c, 1, 0) <= 0);
	close(fd);
}

static int memfd(size_t size, bool seal)
{
	int fd = memfd_create("hostile", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	CHECK(fd >= 0 && ftruncate(fd, (off_t)size) == 0);
	if (seal)
		CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) == 0);
	return fd;
}

static void refused_ids(struct pt_env *e, struct shm *s)
{
	errno = 0;
	CHECK(pt_open(e, SDRV_XPORT_PRIVILEGED, SDRV_DOMID_ANY, 4) == NULL && errno == EPERM);
	errno = 0;
	CHECK(pt_open(e, 0, SDRV_DOMID_PRIVILEGED, 4) == NULL && errno == EPERM);
	errno = 0;
	CHECK(pt_open(e, 0, (sdrv_domid_t)s->good_domid, 4) == NULL && errno == EPERM);
	errno = 0;
	CHECK(pt_open(e, 0, 0x7FF0, 4) == NULL && errno == EPERM);
	errno = 0;
	CHECK(pt_open(e, 0, 0x7FF5, 4) == NULL && errno == EPERM);
	{
		struct sdrv_xport_opts o = {
		    .sz = sizeof(o), .address = "/nonexistent/sock", .domid = SDRV_DOMID_ANY};

		errno = 0;
		CHECK(sdrv_xport_open("posix", &o) == NULL && errno == ECONNREFUSED);
		errno = 0;
		CHECK(sdrv_xport_open("xen-no-such", &o) == NULL && errno == EPROTONOSUPPORT);
	}
}

static void bad_requests(struct pt_env *e)
{
	struct sdrv_pm_hello hello = {
	    .version = SDRV_PM_VERSION, .domid = SDRV_DOMID_ANY, .grant_pages = 4};
	struct sdrv_pm_map_setup ms = {.granter = 1};
	unsigned char buf[SDRV_PM_MAX_MSG + 64];
	int fd = raw_connect(e), fds[SDRV_PM_MAX_FDS + 1], pfd[2];
	size_t n;

	/* Unknown type: an error reply with our seq, and we stay connected. */
	CHECK(request(fd, 77, 5, NULL, 0, NULL, 0) == -EOPNOTSUPP);
	CHECK(request(fd, SDRV_PM_MAP_SETUP, 6, &ms, sizeof(ms), NULL, 0) == -ENOTCONN);
	CHECK(request(fd, SDRV_PM_HELLO, 7, &hello, 12, NULL, 0) == -EBADMSG);
	CHECK(request(fd, SDRV_PM_HELLO, 8, &hello, sizeof(hello), NULL, 0) == -EBADMSG);
	CHECK(request(fd, SDRV_PM_HELLO, 0xFFFFFFFFu, &hello, sizeof(hello), NULL, 0) == -EBADMSG);
	/* Not memfds; memfds not sealed; sealed but of the wrong size. */
	CHECK(pipe2(pfd, O_CLOEXEC) == 0);
	CHECK(request(fd, SDRV_PM_HELLO, 9, &hello, sizeof(hello), pfd, 2) == -EINVAL);
	close(pfd[0]);
	close(pfd[1]);
	fds[0] = memfd(4096, false);
	fds[1] = memfd(4 * 4096, false);
	CHECK(request(fd, SDRV_PM_HELLO, 10, &hello, sizeof(hello), fds, 2) == -EINVAL);
	close(fds[0]);
	close(fds[1]);
	fds[0] = memfd(4096, true);
	fds[1] = memfd(8 * 4096, true);
	CHECK(request(fd, SDRV_PM_HELLO, 11, &hello, sizeof(hello), fds, 2) == -EINVAL);
	close(fds[1]);
	fds[1] = memfd(4 * 4096, true);
	hello.version = 99;
	CHECK(request(fd, SDRV_PM_HELLO, 12, &hello, sizeof(hello), fds, 2) == -EPROTONOSUPPORT);
	hello.version = SDRV_PM_VERSION;
	hello.pad = 1;
	CHECK(request(fd, SDRV_PM_HELLO, 13, &hello, sizeof(hello), fds, 2) == -EBADMSG);
	hello.pad = 0;
	/* A correct HELLO on the same connection works after all that. */
	CHECK(request(fd, SDRV_PM_HELLO, 14, &hello, sizeof(hello), fds, 2) == 0);
	CHECK(request(fd, SDRV_PM_HELLO, 15, &hello, sizeof(hello), fds, 2) == -EISCONN);
	/* Not an eventfd. */
	{
		struct sdrv_pm_alloc al = {.remote = 1, .port = 1};

		CHECK(request(fd, SDRV_PM_ALLOC_UNBOUND, 16, &al, sizeof(al), fds, 1) == -EINVAL);
	}
	close(fd);

	/* Framing errors: the connection is dropped. */
	n = sdrv_pm_encode(buf, SDRV_PM_MAP_SETUP, 1, &ms, sizeof(ms));
	expect_drop(e, buf, 5, NULL, 0);     /* truncated header */
	expect_drop(e, buf, n - 1, NULL, 0); /* len disagrees */
	buf[0] ^= 0xFF;
	expect_drop(e, buf, n, NULL, 0); /* bad magic */
	buf[0] ^= 0xFF;
	memset(buf + SDRV_PM_HDR_SIZE, 0, sizeof(buf) - SDRV_PM_HDR_SIZE);
	expect_drop(e, buf, sizeof(buf), NULL, 0); /* oversized */
	for (unsigned i = 2; i < SDRV_PM_MAX_FDS + 1; i++)
		fds[i] = memfd(4096, false);
	expect_drop(e, buf, n, fds, SDRV_PM_MAX_FDS + 1); /* too many descriptors */
	/* an empty datagram with descriptors: taken for the end, and the
	 * descriptors it carried are closed (pt_run_pair() counts the
	 * broker's at the end) */
	expect_drop(e, buf, 0, fds, 2);
	for (unsigned i = 0; i < SDRV_PM_MAX_FDS + 1; i++)
		close(fds[i]);
}

/* A client that sends and never reads is dropped, not waited for. */
static void never_reads(struct pt_env *e)
{
	unsigned char buf[64];
	int fd = raw_connect(e), i, r = 0;
	size_t n = sdrv_pm_encode(buf, 77, 1, NULL, 0);

	for (i = 0; i < 1000000; i++) {
		r = raw_send(fd, buf, n, NULL, 0);
		if (r)
			break;
	}
	CHECK(r == -EPIPE || r == -ECONNRESET);
	close(fd);
}

/*
 * Well framed datagrams of every request type (and the types only the
 * broker sends, a reply bit, types past the last) with random bodies,
 * alternating with random bytes; now and then with descriptors of every
 * kind attached (a pipe's ends, an eventfd, a memfd sealed or not, the
 * socket itself).
 */
static void garbage(struct pt_env *e)
{
	static const uint16_t types[] = {SDRV_PM_EV_BOUND, SDRV_PM_EV_PORT_CLOSED,
					 SDRV_PM_EV_PEER_DIED, SDRV_PM_REPLY | SDRV_PM_BIND,
					 0xffff};
	uint64_t rng = 0x6761726261676531ull, n = tu_scaled(3000, 100);
	unsigned char buf[512];
	int fd = raw_connect(e), drops = 0, replies = 0, pool[6], pp[2];

	CHECK(pipe(pp) == 0);
	pool[0] = pp[0];
	pool[1] = pp[1];
	pool[2] = eventfd(0, EFD_CLOEXEC);
	pool[3] = memfd_create("garbage", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	pool[4] = memfd_create("garbage-sealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	CHECK(pool[2] >= 0 && pool[3] >= 0 && pool[4] >= 0);
	CHECK(ftruncate(pool[4], 4096) == 0 &&
	      fcntl(pool[4], F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) == 0);
	for (uint64_t i = 0; i < n; i++) {
		size_t len = (size_t)(tu_rand(&rng) % sizeof(buf));
		struct sdrv_pm_hdr h = {.magic = SDRV_PM_MAGIC};
		char c[SDRV_PM_MAX_MSG];
		int fds[3];
		unsigned nfds = (tu_rand(&rng) & 3) == 0 ? 1 + (unsigned)(tu_rand(&rng) % 3) : 0;
		ssize_t got;

		for (size_t k = 0; k < len; k++)
			buf[k] = (unsigned char)tu_rand(&rng);
		if ((i & 1) && len >= SDRV_PM_HDR_SIZE) {
			/* Well framed, random inside. */
			uint64_t t = tu_rand(&rng) % 16;

			h.type = t < 11 ? (uint16_t)t : types[t - 11];
			h.flags = (uint16_t)((tu_rand(&rng) & 7) == 0);
			h.seq = (uint32_t)tu_rand(&rng);
			h.len = (uint32_t)(len - SDRV_PM_HDR_SIZE);
			memcpy(buf, &h, sizeof(h));
		}
		pool[5] = fd;
		for (unsigned k = 0; k < nfds; k++)
			fds[k] = pool[tu_rand(&rng) % 6];
		if (raw_send(fd, buf, len, fds, nfds) != 0) {
			close(fd);
			fd = raw_connect(e);
			drops++;
			continue;
		}
		got = recv(fd, c, sizeof(c), 0);
		if (got <= 0) {
			close(fd);
			fd = raw_connect(e);
			drops++;
		} else {
			replies++;
		}
	}
	close(fd);
	for (int k = 0; k < 5; k++)
		close(pool[k]);
	printf("garbage: %llu datagrams, %d error replies, %d disconnects\n", (unsigned long long)n,
	       replies, drops);
	CHECK(replies > 0 && drops > 0);
}

/*
 * A uid that may not be privileged cannot take every connection: past a
 * quarter of max_domains (64 of the default 256) the broker hangs up on
 * it, and once it lets go, it may connect again.
 */
static void connection_flood(struct pt_env *e)
{
	enum { FLOOD = 80, CAP = 256 / 4 };
	int fds[FLOOD], open_left = 0, refused = 0;

	for (int i = 0; i < FLOOD; i++)
		fds[i] = raw_connect(e);
	/* The broker (parent) accepts and refuses meanwhile. */
	usleep(tu_under_valgrind() ? 3000 * 1000 : 300 * 1000);
	for (int i = 0; i < FLOOD; i++) {
		struct pollfd pf = {.fd = fds[i], .events = POLLIN};
		char c;

		if (poll(&pf, 1, 0) == 1 && recv(fds[i], &c, 1, MSG_DONTWAIT) == 0)
			refused++;
		else
			open_left++;
	}
	/* The good domain's connection counts too. */
	CHECK(open_left <= CAP - 1);
	CHECK(refused >= FLOOD - (CAP - 1));
	for (int i = 0; i < FLOOD; i++)
		close(fds[i]);
	usleep(100 * 1000);
	{
		int fd = raw_connect(e);
		struct pollfd pf = {.fd = fd, .events = POLLIN};

		usleep(100 * 1000);
		CHECK(poll(&pf, 1, 0) == 0); /* accepted and kept */
		close(fd);
	}
	printf("ok: connection flood: %d kept, %d refused\n", open_left, refused);
}

static void raw_client(struct pt_env *e, void *arg)
{
	struct shm *s = arg;

	pt_wait_flag(&s->stage_good, 1, "good domain");
	refused_ids(e, s);
	bad_requests(e);
	never_reads(e);
	garbage(e);
	connection_flood(e);
	pt_set_flag(&s->stage_raw, 1);
}

static void good_domain(struct pt_env *e, void *arg)
{
	struct shm *s = arg;
	struct sdrv_xport *x = pt_open(e, 0, 42, 8), *y;
	sdrv_evtchn_port_t p, q;
	sdrv_grant_ref_t ref;
	unsigned char *m;
	int st;

	CHECK(x != NULL && sdrv_xport_domid(x) == 42);
	s->good_domid = 42;
	CHECK(sdrv_evtchn_alloc_unbound(x, 43, &p) == 0);
	pt_set_flag(&s->stage_good, 1);
	pt_wait_flag(&s->stage_raw, 1, "raw client");
	/* Still fine: a new domain binds our port and maps our page. */
	y = pt_open(e, 0, 43, 4);
	CHECK(y != NULL);
	CHECK(sdrv_evtchn_bind(y, 42, p, &q) == 0);
	m = sdrv_gnt_share(x, 43, 1, true, &ref);
	CHECK(m != NULL);
	m[0] = 9;
	{
		unsigned char *mm = sdrv_gnt_map(y, 42, 1, &ref, false, &st);

		CHECK(mm != NULL && mm[0] == 9);
		CHECK(sdrv_gnt_unmap(y, mm, 1) == 0);
	}
	CHECK(sdrv_evtchn_notify(y, q) == 0);
	CHECK(pt_wait_port(x, NULL) == p);
	sdrv_xport_close(y);
	sdrv_xport_close(x);
}

_Static_assert(sizeof(struct shm) <= PT_SHM_SIZE, "shared page");

int main(void)
{
	uid_t other = getuid() + 1; /* our uid may not be privileged */

	signal(SIGPIPE, SIG_IGN);
	return pt_run_pair("posix-hostile", 60, &other, 1, good_domain, "posix-hostile good domain",
			   raw_client, "posix-hostile raw client");
}
