/* SPDX-License-Identifier: MIT */
/*
 * The POSIX transport, client side: transport.h for kind "posix".
 *
 * A domain is a process connected to the broker (broker.c). Its grant table
 * and grant pool are two sealed memfds (their sizes can never change, so a
 * mapper never takes SIGBUS), announced at HELLO. Sharing a page is a
 * local step (sdrv_gnttab_grant() on our own table). A mapper asks the
 * broker once per granter for that granter's table and pool (the broker
 * gives them only to a domain the table names); after that, mapping is
 * sdrv_gnttab_pin() on the granter's table plus mmap() of the granted page,
 * all local. Event channels are sender-owned SEQPACKET pairs (evtchn.c);
 * the broker only exchanges them when a port is bound. See
 * doc/transports.md.
 *
 * Isolation mode (SDRV_XPORT_ISOLATE): the pool is a reserved address
 * range and each shared page is its own memfd, mapped into it, handed to
 * the broker (SHARE) and never reused once shared. Mappers of such a
 * domain never get its table: the broker answers MAP_SETUP with
 * -EOPNOTSUPP, pins on their behalf (MAP, UNMAP) and hands out one
 * descriptor per granted page (read-only grants: sealed
 * F_SEAL_FUTURE_WRITE, opened O_RDONLY); COPY goes through the broker.
 */
#define _GNU_SOURCE
#include <splitdrv/transport.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "evtchn.h"
#include "proto.h"

#define PAGE		   4096u
#define DEFAULT_POOL_PAGES 1024u
#define DEFAULT_ADDRESS	   "/run/splitdrv/broker.sock"
#define MAX_PORTS	   1024u
#define MAX_NEWS	   256u	 /* queued PEER_DIED reports */
#define MAP_BUCKETS	   256u	 /* our mappings, hashed by address */
#define MSGS_PER_PROCESS   64	 /* broker messages handled per sdrv_xport_process() */
#define CALL_TIMEOUT_MS	   30000 /* a broker that does not answer is broken */
#define MAX_MAP_COUNT	   (1u << 18)

enum page_state { PG_FREE, PG_ALLOC, PG_GRANTED, PG_ENDING };

struct page_info {
	uint8_t state;
	uint8_t readonly;
	sdrv_domid_t peer;
};

/* What we know of another domain's grant table (Xen's active table). */
struct granter {
	struct granter *next;
	sdrv_domid_t domid;
	bool stale;    /* the domain died: no new mappings through this entry */
	bool isolated; /* isolation mode: the broker pins; no table, no pool */
	int table_fd, pool_fd;
	struct sdrv_grant_entry *table;
	size_t table_bytes;
	uint32_t nr, pool_pages;
	uint32_t *cnt_r, *cnt_w; /* our read-only / writable mappings per ref */
	uint32_t users;		 /* live mappings through this entry */
	/* The whole pool, mapped at the first grant copy or writable map
	 * (NULL: not yet, or the mapping failed and copies go through the
	 * descriptor), and a read-only view for read-only maps. */
	unsigned char *pool, *pool_ro;
	bool pool_tried, pool_ro_tried;
};

struct mapping {
	struct mapping *next;
	void *addr;
	uint32_t count;
	bool writable;
	bool direct; /* addr points into the granter's pool view: no munmap */
	struct granter *g;
	sdrv_grant_ref_t refs[];
};

/* Our descriptors watched in the event-channel table's epoll set, which is
 * sdrv_xport_fd(): one set, so that the epoll_wait() of
 * sdrv_evtchn_pending() also tells whether the broker socket is readable,
 * and sdrv_xport_process() reads it only then. */
enum { WATCH_SOCK, WATCH_NEWS };

struct sdrv_xport {
	int sock, newsfd;
	bool news_signalled; /* newsfd is readable (news queued) */
	int broken;	     /* 0, or the negative errno that broke the connection */
	struct sdrv_evl *evl;
	sdrv_domid_t domid;
	uint32_t caps, seq;
	bool isolated; /* our pages are one memfd each (SDRV_XPORT_ISOLATE) */
	char *store;
	/* Our grants. */
	int table_fd, pool_fd;
	struct sdrv_grant_entry *table;
	size_t table_bytes;
	unsigned char *pool;
	uint32_t nr_ents, pool_pages, alloc_hint;
	struct page_info *pages;
	/* Others' grants we map. */
	struct granter *granters;
	struct mapping *maps[MAP_BUCKETS];
	/* PEER_DIED reports not yet returned by sdrv_xport_process(). */
	sdrv_domid_t news[MAX_NEWS];
	uint32_t news_head, nr_news;
	union {
		unsigned char buf[SDRV_PM_MAX_MSG];
		uint64_t align;
	} io;
};

static size_t table_bytes(uint32_t nr_ents)
{
	size_t bytes = (size_t)nr_ents * sizeof(struct sdrv_grant_entry);

	return (bytes + PAGE - 1) / PAGE * PAGE;
}

/* ------------------------------ messages -------------------------------- */

static void close_fds(int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static void news_push(struct sdrv_xport *x, sdrv_domid_t domid)
{
	uint64_t one = 1;

	for (uint32_t i = 0; i < x->nr_news; i++)
		if (x->news[(x->news_head + i) % MAX_NEWS] == domid)
			return;
	if (x->nr_news == MAX_NEWS)
		return; /* cannot happen with fewer than MAX_NEWS distinct domains */
	x->news[(x->news_head + x->nr_news++) % MAX_NEWS] = domid;
	if (x->news_signalled)
		return;
	if (write(x->newsfd, &one, sizeof(one)) < 0) {
		/* saturated: already readable */
	}
	x->news_signalled = true;
}

static void granter_free(struct granter *g)
{
	if (g->pool)
		munmap(g->pool, (size_t)g->pool_pages * PAGE);
	if (g->pool_ro)
		munmap(g->pool_ro, (size_t)g->pool_pages * PAGE);
	if (g->table)
		munmap(g->table, g->table_bytes);
	if (g->table_fd >= 0)
		close(g->table_fd);
	if (g->pool_fd >= 0)
		close(g->pool_fd);
	free(g->cnt_r);
	free(g->cnt_w);
	free(g);
}

static void granter_unlink_if_unused(struct sdrv_xport *x, struct granter *g)
{
	if (!g->stale || g->users)
		return;
	for (struct granter **pp = &x->granters; *pp; pp = &(*pp)->next) {
		if (*pp == g) {
			*pp = g->next;
			granter_free(g);
			return;
		}
	}
}

static void on_peer_died(struct sdrv_xport *x, sdrv_domid_t domid)
{
	for (struct granter *g = x->granters; g; g = g->next) {
		if (g->domid == domid && !g->stale) {
			g->stale = true;
			granter_unlink_if_unused(x, g);
			break;
		}
	}
	news_push(x, domid);
}

static void handle_event(struct sdrv_xport *x, const struct sdrv_pm_hdr *h, const unsigned char *p,
			 int *fds)
{
	switch (h->type) {
	case SDRV_PM_EV_BOUND: {
		struct sdrv_pm_ev_bound ev;

		memcpy(&ev, p, sizeof(ev));
		if (sdrv_evl_connect(x->evl, ev.port, fds[0]) < 0)
			close(fds[0]);
		break;
	}
	case SDRV_PM_EV_PORT_CLOSED: {
		struct sdrv_pm_ev_port_closed ev;

		memcpy(&ev, p, sizeof(ev));
		(void)sdrv_evl_disconnect(x->evl, ev.port);
		break;
	}
	case SDRV_PM_EV_PEER_DIED: {
		struct sdrv_pm_ev_peer_died ev;

		memcpy(&ev, p, sizeof(ev));
		on_peer_died(x, ev.domid);
		break;
	}
	default:
		break;
	}
}

/*
 * Receive one message. Events are handled on the spot. Returns 1 with a
 * reply in x->io (its descriptors in `fds`), 0 for an event or nothing
 * (-EAGAIN when nothing waited), or a negative errno that breaks x.
 */
static int rx_one(struct sdrv_xport *x, struct sdrv_pm_hdr *h, int *fds, unsigned *nfds)
{
	bool framing;
	long n = sdrv_pm_recv(x->sock, x->io.buf, fds, nfds, &framing);
	int r;

	if (n == -EAGAIN)
		return -EAGAIN;
	if (n == 0 || n == -ECONNRESET || n == -EPIPE)
		return x->broken = -ECONNRESET;
	if (n < 0)
		return x->broken = (int)n;
	if (framing)
		return x->broken = -EPROTO;
	r = sdrv_pm_validate(x->io.buf, (size_t)n, *nfds, SDRV_PM_TO_CLIENT, h);
	if (r < 0) {
		close_fds(fds, *nfds);
		return x->broken = -EPROTO;
	}
	if (h->type & SDRV_PM_REPLY)
		return 1;
	handle_event(x, h, x->io.buf + SDRV_PM_HDR_SIZE, fds);
	return 0;
}

static int wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	int r;

	do {
		r = poll(&pfd, 1, timeout_ms);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return r == 0 ? -ETIMEDOUT : 0;
}

/*
 * One request and its reply. On success, the reply's payload is copied to
 * `rep` (at most `rep_cap` bytes, size in `*rep_len`) and its descriptors to
 * `rfds` (the caller owns them). Returns the reply's status, or a negative
 * errno of the connection (which then is broken).
 */
static int call(struct sdrv_xport *x, uint16_t type, const void *payload, size_t len,
		const int *fds, unsigned nfds, void *rep, size_t rep_cap, size_t *rep_len,
		int *rfds, unsigned rfds_cap)
{
	struct sdrv_pm_hdr h;
	int got[SDRV_PM_MAX_FDS];
	unsigned ngot;
	uint32_t seq;
	size_t n;
	int32_t status;
	int r;

	if (x->broken)
		return x->broken;
	seq = ++x->seq;
	if (seq == 0)
		seq = x->seq = 1;
	n = sdrv_pm_encode(x->io.buf, type, seq, payload, len);
	for (;;) {
		r = sdrv_pm_send(x->sock, x->io.buf, n, fds, nfds);
		if (r != -EAGAIN)
			break;
		r = wait_fd(x->sock, POLLOUT, CALL_TIMEOUT_MS);
		if (r < 0)
			break;
	}
	if (r < 0)
		return x->broken = (r == -EPIPE ? -ECONNRESET : r);
	for (;;) {
		r = rx_one(x, &h, got, &ngot);
		if (r == -EAGAIN) {
			r = wait_fd(x->sock, POLLIN, CALL_TIMEOUT_MS);
			if (r < 0)
				return x->broken = r;
			continue;
		}
		if (r < 0)
			return r;
		if (r == 1)
			break;
	}
	if (h.seq != seq || (h.type & ~SDRV_PM_REPLY) != type || ngot > rfds_cap) {
		close_fds(got, ngot);
		return x->broken = -EPROTO;
	}
	memcpy(&status, x->io.buf + SDRV_PM_HDR_SIZE, sizeof(status));
	if (rep) {
		*rep_len = h.len < rep_cap ? h.len : rep_cap;
		memcpy(rep, x->io.buf + SDRV_PM_HDR_SIZE, *rep_len);
	}
	for (unsigned i = 0; i < ngot; i++)
		rfds[i] = got[i];
	return status;
}

/* ------------------------------ open/close ------------------------------ */

static int sealed_memfd(const char *name, size_t bytes, void **map)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	void *p;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)bytes) != 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
		goto fail;
	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	*map = p;
	return fd;
fail : {
	int err = errno;

	close(fd);
	return -err;
}
}

static int connect_broker(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int err = errno;

		close(fd);
		/* No broker there, in whatever way. */
		return (err == ENOENT || err == ECONNREFUSED || err == ENOTSOCK) ? -ECONNREFUSED
										 : -err;
	}
	return fd;
}

/* The bucket of x->maps a mapping starting at `addr` is in. */
static struct mapping **map_bucket(struct sdrv_xport *x, const void *addr)
{
	uintptr_t pg = (uintptr_t)addr / PAGE;

	return &x->maps[(pg ^ (pg >> 8) ^ (pg >> 16)) % MAP_BUCKETS];
}

static void xport_free(struct sdrv_xport *x)
{
	for (uint32_t i = 0; i < MAP_BUCKETS; i++) {
		while (x->maps[i]) {
			struct mapping *m = x->maps[i];

			(void)sdrv_gnt_unmap(x, m->addr, m->count);
			if (x->maps[i] == m) { /* cannot happen: unmap unlinks it */
				x->maps[i] = m->next;
				free(m);
			}
		}
	}
	while (x->granters) {
		struct granter *g = x->granters;

		x->granters = g->next;
		granter_free(g);
	}
	if (x->evl)
		sdrv_evl_free(x->evl);
	if (x->sock >= 0)
		close(x->sock);
	if (x->newsfd >= 0)
		close(x->newsfd);
	if (x->table)
		munmap(x->table, x->table_bytes);
	if (x->pool)
		munmap(x->pool, (size_t)x->pool_pages * PAGE);
	if (x->table_fd >= 0)
		close(x->table_fd);
	if (x->pool_fd >= 0)
		close(x->pool_fd);
	free(x->pages);
	free(x->store);
	free(x);
}

struct sdrv_xport *sdrv_xport_open(const char *kind, const struct sdrv_xport_opts *opts)
{
	struct sdrv_xport_opts o = {.sz = sizeof(o), .domid = SDRV_DOMID_ANY};
	struct sdrv_pm_hello hello = {.version = SDRV_PM_VERSION};
	unsigned char rep[sizeof(struct sdrv_pm_hello_rep) + SDRV_PM_MAX_STORE];
	struct sdrv_pm_hello_rep hr;
	struct sdrv_xport *x;
	const char *address;
	void *map;
	size_t rep_len = 0;
	int fds[2], r;

	if (kind && strcmp(kind, "posix") != 0) {
		errno = EPROTONOSUPPORT;
		return NULL;
	}
	if (opts) {
		if (opts->sz < offsetof(struct sdrv_xport_opts, flags)) {
			errno = EINVAL;
			return NULL;
		}
		memcpy(&o, opts, opts->sz < sizeof(o) ? opts->sz : sizeof(o));
		if (opts->sz < offsetof(struct sdrv_xport_opts, domid) + sizeof(o.domid))
			o.domid = SDRV_DOMID_ANY;
	}
	if (o.flags & ~(SDRV_XPORT_PRIVILEGED | SDRV_XPORT_ISOLATE)) {
		errno = EINVAL;
		return NULL;
	}
	if (o.grant_pages == 0)
		o.grant_pages = DEFAULT_POOL_PAGES;
	if (o.grant_pages > SDRV_PM_MAX_POOL_PAGES) {
		errno = EINVAL;
		return NULL;
	}
	address = o.address ? o.address : getenv("SPLITDRV_BROKER");
	if (!address || !*address)
		address = DEFAULT_ADDRESS;

	x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	x->sock = x->newsfd = x->table_fd = x->pool_fd = -1;
	x->pool_pages = o.grant_pages;
	x->nr_ents = o.grant_pages + SDRV_GNTTAB_NR_RESERVED;
	x->table_bytes = table_bytes(x->nr_ents);
	x->pages = calloc(x->pool_pages, sizeof(*x->pages));
	if (!x->pages) {
		r = -ENOMEM;
		goto fail;
	}
	r = x->table_fd = sealed_memfd("splitdrv-gnttab", x->table_bytes, &map);
	if (r < 0)
		goto fail;
	x->table = map;
	if (o.flags & SDRV_XPORT_ISOLATE) {
		/* Only reserved: each page gets its own memfd when shared. */
		x->isolated = true;
		map = mmap(NULL, (size_t)x->pool_pages * PAGE, PROT_NONE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (map == MAP_FAILED) {
			r = -errno;
			goto fail;
		}
	} else {
		r = x->pool_fd = sealed_memfd("splitdrv-pool", (size_t)x->pool_pages * PAGE, &map);
		if (r < 0)
			goto fail;
	}
	x->pool = map;
	x->evl = sdrv_evl_new(MAX_PORTS);
	if (!x->evl) {
		r = -errno;
		goto fail;
	}
	x->newsfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (x->newsfd < 0) {
		r = -errno;
		goto fail;
	}
	r = x->sock = connect_broker(address);
	if (r < 0)
		goto fail;
	r = sdrv_evl_watch(x->evl, x->sock, WATCH_SOCK);
	if (!r)
		r = sdrv_evl_watch(x->evl, x->newsfd, WATCH_NEWS);
	if (r)
		goto fail;

	hello.flags = (o.flags & SDRV_XPORT_PRIVILEGED) ? SDRV_PM_HELLO_PRIVILEGED : 0;
	if (x->isolated)
		hello.flags |= SDRV_PM_HELLO_ISOLATE;
	hello.domid = o.domid;
	hello.grant_pages = o.grant_pages;
	fds[0] = x->table_fd;
	fds[1] = x->pool_fd;
	r = call(x, SDRV_PM_HELLO, &hello, sizeof(hello), fds, x->isolated ? 1 : 2, rep,
		 sizeof(rep), &rep_len, NULL, 0);
	if (r < 0)
		goto fail;
	memcpy(&hr, rep, sizeof(hr));
	x->domid = hr.domid;
	if (rep_len > sizeof(hr)) {
		x->store = strndup((const char *)rep + sizeof(hr), rep_len - sizeof(hr));
		if (!x->store || strlen(x->store) != rep_len - sizeof(hr)) {
			r = x->store ? -EPROTO : -ENOMEM;
			goto fail;
		}
	}
	x->caps = SDRV_XPORT_CAP_COPY | SDRV_XPORT_CAP_READONLY | SDRV_XPORT_CAP_MAP_BATCH |
		  SDRV_XPORT_CAP_PEER_DEATH;
	if (x->isolated)
		x->caps |= SDRV_XPORT_CAP_ISOLATE;
	return x;
fail:
	xport_free(x);
	errno = -r;
	return NULL;
}

void sdrv_xport_close(struct sdrv_xport *x)
{
	if (x)
		xport_free(x);
}

sdrv_domid_t sdrv_xport_domid(const struct sdrv_xport *x)
{
	return x ? x->domid : SDRV_DOMID_INVALID;
}

uint32_t sdrv_xport_caps(const struct sdrv_xport *x)
{
	return x ? x->caps : 0;
}

int sdrv_xport_fd(const struct sdrv_xport *x)
{
	return x ? sdrv_evl_fd(x->evl) : -EINVAL;
}

int sdrv_xport_wait(struct sdrv_xport *x, int timeout_ms)
{
	if (!x)
		return -EINVAL;
	/* News or a broken link: sdrv_xport_process() has something to say. */
	if (x->nr_news || x->broken)
		return 1;
	return sdrv_evl_wait(x->evl, timeout_ms);
}

const char *sdrv_xport_store_address(const struct sdrv_xport *x)
{
	return x ? x->store : NULL;
}

int sdrv_xport_process(struct sdrv_xport *x, struct sdrv_xport_event *ev, uint32_t max)
{
	uint32_t n = 0;
	uint64_t v;

	if (!x || (max && !ev))
		return -EINVAL;
	/* Read the broker socket only if the last look at the epoll set saw
	 * it readable (sdrv_evtchn_pending() looks too), or, without such a
	 * look, one taken now finds it so (a failed look: just try it). Then
	 * until it is empty: what is left keeps it readable, so it is
	 * reported again. */
	for (int i = 0; i < MSGS_PER_PROCESS && !x->broken &&
			(i > 0 || sdrv_evl_watched(x->evl, WATCH_SOCK) != 0);
	     i++) {
		struct sdrv_pm_hdr h;
		int fds[SDRV_PM_MAX_FDS];
		unsigned nfds;
		int r = rx_one(x, &h, fds, &nfds);

		if (r == -EAGAIN || r < 0)
			break;
		if (r == 1) { /* a reply nobody waits for */
			close_fds(fds, nfds);
			x->broken = -EPROTO;
		}
	}
	while (n < max && x->nr_news) {
		ev[n].type = SDRV_XPORT_EV_PEER_DIED;
		ev[n].domid = x->news[x->news_head];
		x->news_head = (x->news_head + 1) % MAX_NEWS;
		x->nr_news--;
		n++;
	}
	/* The news eventfd stays readable while news is queued. */
	if (x->news_signalled && !x->nr_news) {
		if (read(x->newsfd, &v, sizeof(v)) < 0) {
			/* already clear */
		}
		x->news_signalled = false;
	}
	if (n == 0 && x->broken)
		return x->broken == -EPROTO || x->broken == -ETIMEDOUT ? x->broken : -ECONNRESET;
	return (int)n;
}

/* ------------------------------ our grants ------------------------------ */

/* Isolation mode: give the pool slot `pg` back to the reservation; its
 * memfd (which left this process) is never used again. */
static void iso_drop_page(struct sdrv_xport *x, uint32_t pg)
{
	(void)mmap(x->pool + (size_t)pg * PAGE, PAGE, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
}

/* Isolation mode: a fresh zeroed page memfd mapped at slot `pg`, sealed so
 * its size and (read-only grants) its contents can only be changed through
 * our existing mapping. Returns the fd or a negative errno. */
static int iso_new_page(struct sdrv_xport *x, uint32_t pg, bool readonly)
{
	int fd = memfd_create("splitdrv-page", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	int err;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, PAGE) != 0 || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) != 0 ||
	    mmap(x->pool + (size_t)pg * PAGE, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		 fd, 0) == MAP_FAILED)
		goto fail;
	/* After our writable mapping exists: it keeps working, no new one can
	 * be made and write() fails, through any descriptor of this file. */
	if (readonly && fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE) != 0)
		goto fail_map;
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL) != 0)
		goto fail_map;
	return fd;
fail_map:
	err = errno;
	iso_drop_page(x, pg);
	close(fd);
	return -err;
fail:
	err = errno;
	close(fd);
	return -err;
}

/* Isolation mode: sdrv_gnt_share() on pages first..first+count-1. */
static void *iso_share(struct sdrv_xport *x, sdrv_domid_t peer, uint32_t first, uint32_t count,
		       bool writable, sdrv_grant_ref_t *refs)
{
	unsigned char buf[sizeof(struct sdrv_pm_share) + SDRV_PM_MAX_BATCH * sizeof(uint32_t)];
	int fds[SDRV_PM_MAX_BATCH];
	uint32_t done = 0, granted = 0;
	int r = 0;

	while (done < count && r == 0) {
		uint32_t n = count - done < SDRV_PM_MAX_BATCH ? count - done : SDRV_PM_MAX_BATCH;
		struct sdrv_pm_share m = {.count = n};
		uint32_t made = 0;

		for (; made < n; made++) {
			fds[made] = iso_new_page(x, first + done + made, !writable);
			if (fds[made] < 0) {
				r = fds[made];
				break;
			}
		}
		for (uint32_t i = 0; i < made && r == 0; i++) {
			uint32_t pg = first + done + i;
			sdrv_grant_ref_t ref = pg + SDRV_GNTTAB_NR_RESERVED;

			r = sdrv_gnttab_grant(x->table, x->nr_ents, ref, peer, pg, !writable);
			if (r == 0) {
				x->pages[pg] = (struct page_info){
				    .state = PG_GRANTED, .readonly = !writable, .peer = peer};
				refs[done + i] = ref;
				granted++;
			}
		}
		if (r == 0) {
			memcpy(buf, &m, sizeof(m));
			memcpy(buf + sizeof(m), &refs[done], n * sizeof(uint32_t));
			r = call(x, SDRV_PM_SHARE, buf, sizeof(m) + n * sizeof(uint32_t), fds, n,
				 NULL, 0, NULL, NULL, 0);
		}
		/* The broker has its own descriptors now; ours are not needed
		 * (the mappings keep the pages). */
		close_fds(fds, made);
		if (r == 0)
			done += n;
		else
			for (uint32_t i = made; i < n; i++)
				iso_drop_page(x, first + done + i);
	}
	if (r < 0) {
		/* Nobody could map these yet: the mapper did not get the refs. */
		for (uint32_t i = 0; i < count; i++) {
			uint32_t pg = first + i;

			if (i < granted)
				(void)sdrv_gnttab_end(x->table, x->nr_ents, refs[i]);
			iso_drop_page(x, pg);
			x->pages[pg] =
			    (struct page_info){.state = PG_FREE, .peer = SDRV_DOMID_INVALID};
		}
		errno = -r;
		return NULL;
	}
	x->alloc_hint = (first + count) % x->pool_pages;
	return x->pool + (size_t)first * PAGE;
}

static bool pages_free(const struct sdrv_xport *x, uint32_t first, uint32_t count)
{
	for (uint32_t i = 0; i < count; i++)
		if (x->pages[first + i].state != PG_FREE)
			return false;
	return true;
}

void *sdrv_gnt_share(struct sdrv_xport *x, sdrv_domid_t peer, uint32_t count, bool writable,
		     sdrv_grant_ref_t *refs)
{
	uint32_t first = UINT32_MAX;

	if (!x || !refs || count == 0 || count > x->pool_pages || peer == SDRV_DOMID_INVALID ||
	    peer == SDRV_DOMID_ANY) {
		errno = EINVAL;
		return NULL;
	}
	/* First fit from where the last allocation ended, then from 0. */
	for (uint32_t pass = 0; pass < 2 && first == UINT32_MAX; pass++) {
		uint32_t start = pass ? 0 : x->alloc_hint;

		for (uint32_t p = start; p + count <= x->pool_pages; p++) {
			if (pages_free(x, p, count)) {
				first = p;
				break;
			}
		}
	}
	if (first == UINT32_MAX) {
		errno = ENOSPC;
		return NULL;
	}
	if (x->isolated)
		return iso_share(x, peer, first, count, writable, refs);
	memset(x->pool + (size_t)first * PAGE, 0, (size_t)count * PAGE);
	for (uint32_t i = 0; i < count; i++) {
		uint32_t pg = first + i;
		sdrv_grant_ref_t ref = pg + SDRV_GNTTAB_NR_RESERVED;
		int r = sdrv_gnttab_grant(x->table, x->nr_ents, ref, peer, pg, !writable);

		if (r < 0) {
			/* Our own table: only if a mapper scribbled on a free entry. */
			for (uint32_t j = 0; j < i; j++) {
				(void)sdrv_gnttab_end(x->table, x->nr_ents, refs[j]);
				x->pages[first + j].state = PG_FREE;
			}
			errno = -r;
			return NULL;
		}
		x->pages[pg] =
		    (struct page_info){.state = PG_GRANTED, .readonly = !writable, .peer = peer};
		refs[i] = ref;
	}
	x->alloc_hint = (first + count) % x->pool_pages;
	return x->pool + (size_t)first * PAGE;
}

int sdrv_gnt_end(struct sdrv_xport *x, sdrv_grant_ref_t ref)
{
	uint32_t pg;
	int r;

	if (!x || ref < SDRV_GNTTAB_NR_RESERVED || ref >= x->nr_ents)
		return -EINVAL;
	pg = ref - SDRV_GNTTAB_NR_RESERVED;
	if (x->pages[pg].state != PG_GRANTED)
		return -EINVAL;
	r = sdrv_gnttab_end(x->table, x->nr_ents, ref);
	if (r == 0)
		x->pages[pg].state = PG_ALLOC;
	return r;
}

int sdrv_gnt_unshare(struct sdrv_xport *x, void *pages, uint32_t count)
{
	uintptr_t off;
	uint32_t first;

	if (!x || !pages || count == 0)
		return -EINVAL;
	off = (uintptr_t)pages - (uintptr_t)x->pool;
	if ((uintptr_t)pages < (uintptr_t)x->pool || off % PAGE ||
	    off / PAGE + count > x->pool_pages || off / PAGE + count < count)
		return -EINVAL;
	first = (uint32_t)(off / PAGE);
	for (uint32_t i = 0; i < count; i++)
		if (x->pages[first + i].state == PG_FREE)
			return -EINVAL;
	for (uint32_t i = 0; i < count; i++) {
		struct page_info *pi = &x->pages[first + i];
		int r;

		if (pi->state != PG_GRANTED)
			continue;
		r = sdrv_gnttab_end(x->table, x->nr_ents, first + i + SDRV_GNTTAB_NR_RESERVED);
		if (r == 0) {
			pi->state = PG_ENDING;
			continue;
		}
		/* All or nothing: grant again what this call ended. The peer
		 * could not map those pages meanwhile, nothing else changed. */
		for (uint32_t j = 0; j < i; j++) {
			struct page_info *pj = &x->pages[first + j];

			if (pj->state != PG_ENDING)
				continue;
			pj->state = PG_ALLOC;
			if (sdrv_gnttab_grant(x->table, x->nr_ents,
					      first + j + SDRV_GNTTAB_NR_RESERVED, pj->peer,
					      first + j, pj->readonly) == 0)
				pj->state = PG_GRANTED;
		}
		return r;
	}
	for (uint32_t i = 0; i < count; i++) {
		if (x->isolated)
			iso_drop_page(x, first + i);
		x->pages[first + i] =
		    (struct page_info){.state = PG_FREE, .peer = SDRV_DOMID_INVALID};
	}
	return 0;
}

/* --------------------------- others' grants ----------------------------- */

static int check_memfd(int fd, uint64_t min_size)
{
	const int need = F_SEAL_SHRINK | F_SEAL_GROW;
	struct stat st;
	int seals = fcntl(fd, F_GET_SEALS);

	if (seals < 0 || (seals & need) != need)
		return -EPROTO;
	if (fstat(fd, &st) != 0 || (uint64_t)st.st_size < min_size)
		return -EPROTO;
	return 0;
}

/* The granter's table and pool: asked from the broker once. */
static int get_granter(struct sdrv_xport *x, sdrv_domid_t domid, struct granter **out)
{
	struct sdrv_pm_map_setup m = {.granter = domid};
	struct sdrv_pm_map_setup_rep rep;
	struct granter *g;
	size_t rep_len = 0;
	int fds[2] = {-1, -1}, r;

	for (g = x->granters; g; g = g->next) {
		if (g->domid == domid && !g->stale) {
			*out = g;
			return 0;
		}
	}
	if (domid == x->domid)
		return -EINVAL;
	r = call(x, SDRV_PM_MAP_SETUP, &m, sizeof(m), NULL, 0, &rep, sizeof(rep), &rep_len, fds, 2);
	if (r == -EOPNOTSUPP && !x->broken) {
		/* An isolated granter: everything goes through the broker. */
		g = calloc(1, sizeof(*g));
		if (!g)
			return -ENOMEM;
		g->domid = domid;
		g->isolated = true;
		g->table_fd = g->pool_fd = -1;
		g->next = x->granters;
		x->granters = g;
		*out = g;
		return 0;
	}
	if (r < 0)
		return r;
	g = calloc(1, sizeof(*g));
	if (!g) {
		close_fds(fds, 2);
		return -ENOMEM;
	}
	g->domid = domid;
	g->table_fd = fds[0];
	g->pool_fd = fds[1];
	g->nr = rep.nr_entries;
	g->pool_pages = rep.pool_pages;
	g->table_bytes = table_bytes(g->nr);
	r = -EPROTO;
	if (g->nr <= SDRV_GNTTAB_NR_RESERVED || g->pool_pages > SDRV_PM_MAX_POOL_PAGES ||
	    g->nr > SDRV_PM_MAX_POOL_PAGES + SDRV_GNTTAB_NR_RESERVED ||
	    check_memfd(g->table_fd, g->table_bytes) < 0 ||
	    check_memfd(g->pool_fd, (uint64_t)g->pool_pages * PAGE) < 0)
		goto fail;
	r = -ENOMEM;
	g->cnt_r = calloc(g->nr, sizeof(uint32_t));
	g->cnt_w = calloc(g->nr, sizeof(uint32_t));
	if (!g->cnt_r || !g->cnt_w)
		goto fail;
	g->table = mmap(NULL, g->table_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, g->table_fd, 0);
	if (g->table == MAP_FAILED) {
		r = -errno;
		g->table = NULL;
		goto fail;
	}
	g->next = x->granters;
	x->granters = g;
	*out = g;
	return 0;
fail:
	granter_free(g);
	return r;
}

/* Drop one of our pins of `ref` (Xen's active-table counts). */
static void unpin_one(struct granter *g, sdrv_grant_ref_t ref, bool writable)
{
	bool clear_w, clear_r;

	if (writable)
		g->cnt_w[ref]--;
	else
		g->cnt_r[ref]--;
	clear_w = writable && g->cnt_w[ref] == 0;
	clear_r = g->cnt_w[ref] == 0 && g->cnt_r[ref] == 0;
	if (clear_w || clear_r)
		(void)sdrv_gnttab_unpin(g->table, g->nr, ref, clear_w, clear_r);
}

/* Pin `ref` for us; the granted frame, bounds-checked, in `*frame`. */
static int pin_one(struct sdrv_xport *x, struct granter *g, sdrv_grant_ref_t ref, bool writable,
		   uint32_t *frame)
{
	bool already;
	int r;

	if (ref >= g->nr || ref < SDRV_GNTTAB_NR_RESERVED)
		return -EINVAL;
	if ((writable ? g->cnt_w[ref] : g->cnt_r[ref]) == UINT32_MAX)
		return -ENOSPC;
	already = g->cnt_r[ref] || g->cnt_w[ref];
	r = sdrv_gnttab_pin(g->table, g->nr, ref, x->domid, writable, already, frame);
	if (r < 0)
		return r == -EBUSY ? -EAGAIN : r;
	if (writable)
		g->cnt_w[ref]++;
	else
		g->cnt_r[ref]++;
	if (*frame >= g->pool_pages) {
		unpin_one(g, ref, writable);
		return -EINVAL;
	}
	return 0;
}

/*
 * Default mode: the granter's whole pool, mapped once, writable or
 * read-only. The pool is sealed against shrinking (check_memfd()) and
 * pinned frames are below pool_pages (pin_one()), so no access through a
 * view can fault. NULL if the view cannot be made.
 */
static unsigned char *pool_view(struct granter *g, bool writable)
{
	unsigned char **view = writable ? &g->pool : &g->pool_ro;
	bool *tried = writable ? &g->pool_tried : &g->pool_ro_tried;

	if (!*tried) {
		void *p =
		    mmap(NULL, (size_t)g->pool_pages * PAGE,
			 writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, g->pool_fd, 0);

		*tried = true;
		*view = p == MAP_FAILED ? NULL : p;
	}
	return *view;
}

/* Whether a live mapping already starts at `addr` (unmap finds mappings by
 * address, so a direct map must not share one). */
static bool addr_in_use(struct sdrv_xport *x, const void *addr)
{
	for (const struct mapping *m = *map_bucket(x, addr); m; m = m->next)
		if (m->addr == addr)
			return true;
	return false;
}

static void fill_status(int *status, uint32_t count, int r)
{
	if (status)
		for (uint32_t i = 0; i < count; i++)
			status[i] = r;
}

/* Isolation mode: ask the broker to drop our pins of `refs`, in batches.
 * Returns 0 or the first error. */
static int iso_unpin(struct sdrv_xport *x, struct granter *g, const sdrv_grant_ref_t *refs,
		     uint32_t count, bool writable)
{
	unsigned char buf[sizeof(struct sdrv_pm_map) + SDRV_PM_MAX_BATCH * sizeof(uint32_t)];
	int ret = 0;

	for (uint32_t done = 0; done < count;) {
		uint32_t n = count - done < SDRV_PM_MAX_BATCH ? count - done : SDRV_PM_MAX_BATCH;
		struct sdrv_pm_map m = {
		    .granter = g->domid, .count = n, .flags = writable ? SDRV_PM_MAP_WRITABLE : 0};
		int r;

		memcpy(buf, &m, sizeof(m));
		memcpy(buf + sizeof(m), refs + done, n * sizeof(uint32_t));
		r = call(x, SDRV_PM_UNMAP, buf, sizeof(m) + n * sizeof(uint32_t), NULL, 0, NULL, 0,
			 NULL, NULL, 0);
		if (r < 0 && !ret)
			ret = r;
		done += n;
	}
	return ret;
}

/*
 * Isolation mode: map `count` refs at `base` through the broker, in
 * batches. Each batch is all or nothing at the broker; `st` gets every
 * element's status and `pinned[b]` whether batch b holds pins. Returns the
 * first error (0 if every element succeeded).
 */
static int iso_map(struct sdrv_xport *x, struct granter *g, uint32_t count,
		   const sdrv_grant_ref_t *refs, bool writable, unsigned char *base, int *st,
		   bool *pinned)
{
	unsigned char buf[sizeof(struct sdrv_pm_map) + SDRV_PM_MAX_BATCH * sizeof(uint32_t)];
	unsigned char rbuf[sizeof(struct sdrv_pm_map_rep) + SDRV_PM_MAX_BATCH * sizeof(int32_t)];
	int prot = writable ? PROT_READ | PROT_WRITE : PROT_READ, first_err = 0;

	for (uint32_t done = 0, b = 0; done < count; b++) {
		uint32_t n = count - done < SDRV_PM_MAX_BATCH ? count - done : SDRV_PM_MAX_BATCH;
		struct sdrv_pm_map m = {
		    .granter = g->domid, .count = n, .flags = writable ? SDRV_PM_MAP_WRITABLE : 0};
		struct sdrv_pm_map_rep rep;
		int fds[SDRV_PM_MAX_BATCH];
		size_t rlen = 0;
		int r;

		for (uint32_t i = 0; i < SDRV_PM_MAX_BATCH; i++)
			fds[i] = -1;
		pinned[b] = false;
		memcpy(buf, &m, sizeof(m));
		memcpy(buf + sizeof(m), refs + done, n * sizeof(uint32_t));
		r = call(x, SDRV_PM_MAP, buf, sizeof(m) + n * sizeof(uint32_t), NULL, 0, rbuf,
			 sizeof(rbuf), &rlen, fds, SDRV_PM_MAX_BATCH);
		if (r == 0) {
			memcpy(&rep, rbuf, sizeof(rep));
			if (rep.count != n || rlen != sizeof(rep) + n * sizeof(int32_t)) {
				close_fds(fds, SDRV_PM_MAX_BATCH);
				r = x->broken = -EPROTO;
			}
		}
		if (r < 0) {
			for (uint32_t i = 0; i < n; i++)
				st[done + i] = r;
		} else {
			bool all = true;

			for (uint32_t i = 0; i < n; i++) {
				int32_t e;

				memcpy(&e, rbuf + sizeof(rep) + i * sizeof(e), sizeof(e));
				st[done + i] = e;
				if (e)
					all = false;
			}
			/* All succeeded: the broker pinned them and sent one
			 * descriptor each (validated by sdrv_pm_validate()). */
			pinned[b] = all;
			for (uint32_t i = 0; all && i < n; i++) {
				if (check_memfd(fds[i], PAGE) < 0)
					st[done + i] = -EPROTO;
				else if (mmap(base + (size_t)(done + i) * PAGE, PAGE, prot,
					      MAP_SHARED | MAP_FIXED, fds[i], 0) == MAP_FAILED)
					st[done + i] = -errno;
			}
			close_fds(fds, SDRV_PM_MAX_BATCH);
		}
		for (uint32_t i = 0; i < n; i++)
			if (st[done + i] && !first_err)
				first_err = st[done + i];
		done += n;
	}
	return first_err;
}

/*
 * Default mode: pin every ref, each status in `st` and each frame in
 * `frames`. If one fails, exactly the pins taken are undone (XSA-361..365)
 * and the first error is returned.
 */
static int pin_all(struct sdrv_xport *x, struct granter *g, uint32_t count,
		   const sdrv_grant_ref_t *refs, bool writable, int *st, uint32_t *frames)
{
	int first_err = 0;

	for (uint32_t i = 0; i < count; i++) {
		st[i] = pin_one(x, g, refs[i], writable, &frames[i]);
		if (st[i] && !first_err)
			first_err = st[i];
	}
	if (first_err)
		for (uint32_t i = 0; i < count; i++)
			if (st[i] == 0)
				unpin_one(g, refs[i], writable);
	return first_err;
}

/*
 * Default mode, pinned frames: if they are one ascending run, their
 * address in the pool view, which is then the whole mapping; NULL if they
 * are not, or the view cannot be made, or a live mapping already starts
 * there (unmap finds mappings by address).
 */
static unsigned char *direct_base(struct sdrv_xport *x, struct granter *g, uint32_t count,
				  const uint32_t *frames, bool writable)
{
	unsigned char *view;

	for (uint32_t i = 1; i < count; i++)
		if (frames[i] != frames[0] + i)
			return NULL;
	view = pool_view(g, writable);
	if (!view || addr_in_use(x, view + (size_t)frames[0] * PAGE))
		return NULL;
	return view + (size_t)frames[0] * PAGE;
}

void *sdrv_gnt_map(struct sdrv_xport *x, sdrv_domid_t granter, uint32_t count,
		   const sdrv_grant_ref_t *refs, bool writable, int *status)
{
	struct granter *g = NULL;
	struct mapping *m;
	unsigned char *base = NULL;
	int prot = writable ? PROT_READ | PROT_WRITE : PROT_READ, first_err = 0, r;
	uint32_t *frames = NULL;
	bool *pinned = NULL;
	int *st;

	if (!x || !refs || count == 0 || count > MAX_MAP_COUNT) {
		fill_status(status, count && refs ? count : 0, -EINVAL);
		errno = EINVAL;
		return NULL;
	}
	r = get_granter(x, granter, &g);
	if (r < 0) {
		fill_status(status, count, r);
		errno = r == -EPERM ? EPERM : EINVAL;
		return NULL;
	}
	m = malloc(sizeof(*m) + (size_t)count * sizeof(m->refs[0]));
	st = malloc((size_t)count * sizeof(*st));
	if (g->isolated)
		pinned =
		    calloc((count + SDRV_PM_MAX_BATCH - 1) / SDRV_PM_MAX_BATCH, sizeof(*pinned));
	else
		frames = malloc((size_t)count * sizeof(*frames));
	if (!m || !st || (g->isolated ? !pinned : !frames)) {
		free(pinned);
		free(frames);
		free(m);
		free(st);
		fill_status(status, count, -ENOMEM);
		errno = ENOMEM;
		return NULL;
	}
	m->direct = false;
	if (!g->isolated) {
		/* The fast path: pins are compare-and-swaps on the shared
		 * table, and a run of frames is pointer arithmetic into the
		 * pool view. */
		first_err = pin_all(x, g, count, refs, writable, st, frames);
		if (!first_err)
			base = direct_base(x, g, count, frames, writable);
		m->direct = base != NULL;
	}
	if (!first_err && !base) {
		/* A mapping of its own: a reserved range, page by page. */
		base = mmap(NULL, (size_t)count * PAGE, PROT_NONE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (base == MAP_FAILED) {
			base = NULL;
			first_err = -ENOMEM;
			fill_status(st, count, first_err);
			if (!g->isolated)
				for (uint32_t i = 0; i < count; i++)
					unpin_one(g, refs[i], writable);
		} else if (g->isolated) {
			first_err = iso_map(x, g, count, refs, writable, base, st, pinned);
			if (first_err) {
				/* The pages first, then the batches the broker
				 * pinned. */
				munmap(base, (size_t)count * PAGE);
				for (uint32_t off = 0; off < count; off += SDRV_PM_MAX_BATCH) {
					uint32_t n = count - off < SDRV_PM_MAX_BATCH
							 ? count - off
							 : SDRV_PM_MAX_BATCH;

					if (pinned[off / SDRV_PM_MAX_BATCH])
						(void)iso_unpin(x, g, refs + off, n, writable);
				}
			}
		} else {
			for (uint32_t i = 0; i < count; i++) {
				if (mmap(base + (size_t)i * PAGE, PAGE, prot,
					 MAP_SHARED | MAP_FIXED, g->pool_fd,
					 (off_t)frames[i] * PAGE) == MAP_FAILED) {
					st[i] = -errno;
					unpin_one(g, refs[i], writable);
					if (!first_err)
						first_err = st[i];
				}
			}
			if (first_err) {
				/* Undo exactly the elements that succeeded: the
				 * pages first, then their pins. */
				munmap(base, (size_t)count * PAGE);
				for (uint32_t i = 0; i < count; i++)
					if (st[i] == 0)
						unpin_one(g, refs[i], writable);
			}
		}
	}
	free(pinned);
	free(frames);
	if (status)
		memcpy(status, st, (size_t)count * sizeof(*st));
	free(st);
	if (first_err) {
		free(m);
		granter_unlink_if_unused(x, g);
		errno = first_err == -EPERM ? EPERM : first_err == -ENOMEM ? ENOMEM : EINVAL;
		return NULL;
	}
	m->addr = base;
	m->count = count;
	m->writable = writable;
	m->g = g;
	memcpy(m->refs, refs, (size_t)count * sizeof(refs[0]));
	g->users++;
	m->next = *map_bucket(x, base);
	*map_bucket(x, base) = m;
	return base;
}

int sdrv_gnt_unmap(struct sdrv_xport *x, void *addr, uint32_t count)
{
	struct mapping **pp, *m;

	if (!x || !addr)
		return -EINVAL;
	for (pp = map_bucket(x, addr); *pp; pp = &(*pp)->next)
		if ((*pp)->addr == addr && (*pp)->count == count)
			break;
	m = *pp;
	if (!m)
		return -EINVAL;
	*pp = m->next;
	/* The pages go first: once a pin is dropped the granter may reuse them.
	 * A direct map is a view of the pool, which stays. */
	if (!m->direct)
		munmap(m->addr, (size_t)m->count * PAGE);
	if (m->g->isolated)
		(void)iso_unpin(x, m->g, m->refs, m->count, m->writable);
	else
		for (uint32_t i = 0; i < m->count; i++)
			unpin_one(m->g, m->refs[i], m->writable);
	m->g->users--;
	granter_unlink_if_unused(x, m->g);
	free(m);
	return 0;
}

/* Isolation mode: one copy segment through the broker, in pieces of at
 * most SDRV_PM_MAX_COPY bytes (already bounds-checked; the broker checks
 * again). */
static int iso_copy(struct sdrv_xport *x, struct granter *g, const struct sdrv_gnt_copy_seg *s)
{
	unsigned char buf[sizeof(struct sdrv_pm_copy) + SDRV_PM_MAX_COPY];
	unsigned char rbuf[sizeof(struct sdrv_pm_copy_rep) + SDRV_PM_MAX_COPY];
	uint32_t done = 0;

	do {
		uint32_t n = s->len - done < SDRV_PM_MAX_COPY ? s->len - done : SDRV_PM_MAX_COPY;
		struct sdrv_pm_copy m = {.granter = g->domid,
					 .ref = s->ref,
					 .offset = (uint16_t)(s->offset + done),
					 .len = (uint16_t)n,
					 .flags = s->to_grant ? SDRV_PM_COPY_TO_GRANT : 0};
		struct sdrv_pm_copy_rep rep;
		size_t len = sizeof(m), rlen = 0;
		int r;

		memcpy(buf, &m, sizeof(m));
		if (s->to_grant) {
			memcpy(buf + sizeof(m), (const unsigned char *)s->local + done, n);
			len += n;
		}
		r = call(x, SDRV_PM_COPY, buf, len, NULL, 0, rbuf, sizeof(rbuf), &rlen, NULL, 0);
		if (r < 0)
			return r;
		memcpy(&rep, rbuf, sizeof(rep));
		if (rep.len != (s->to_grant ? 0 : n) || rlen != sizeof(rep) + rep.len)
			return x->broken = -EPROTO;
		if (!s->to_grant)
			memcpy((unsigned char *)s->local + done, rbuf + sizeof(rep), n);
		done += n;
	} while (done < s->len);
	return 0;
}

int sdrv_gnt_copy(struct sdrv_xport *x, struct sdrv_gnt_copy_seg *segs, uint32_t n)
{
	int ret = 0;

	if (!x || (n && !segs))
		return -EINVAL;
	for (uint32_t i = 0; i < n; i++) {
		struct sdrv_gnt_copy_seg *s = &segs[i];
		struct granter *g;
		uint32_t frame;
		ssize_t done;
		off_t off;
		int r;

		if ((uint32_t)s->offset + s->len > PAGE || (s->len && !s->local)) {
			r = -EINVAL;
			goto next;
		}
		r = get_granter(x, s->granter, &g);
		if (r < 0)
			goto next;
		if (g->isolated) {
			r = iso_copy(x, g, s);
			goto next;
		}
		r = pin_one(x, g, s->ref, s->to_grant, &frame);
		if (r < 0)
			goto next;
		off = (off_t)frame * PAGE + s->offset;
		/* Through one mapping of the whole pool, made once: a copy is
		 * then a memcpy, not a system call per page (a 64 KiB packet
		 * is 16 copies). The pool is sealed against shrinking
		 * (check_memfd()) and the frame is below pool_pages
		 * (pin_one()), so the access can never fault. Where the
		 * mapping cannot be made, through the descriptor. */
		if (pool_view(g, true)) {
			if (s->to_grant)
				memcpy(g->pool + off, s->local, s->len);
			else
				memcpy(s->local, g->pool + off, s->len);
			done = s->len;
		} else if (s->to_grant) {
			done = pwrite(g->pool_fd, s->local, s->len, off);
		} else {
			done = pread(g->pool_fd, s->local, s->len, off);
		}
		r = done == (ssize_t)s->len ? 0 : (done < 0 ? -errno : -EIO);
		unpin_one(g, s->ref, s->to_grant);
	next:
		s->status = r;
		if (r)
			ret = -EIO;
	}
	return ret;
}

/* --------------------------- event channels ----------------------------- */

int sdrv_evtchn_alloc_unbound(struct sdrv_xport *x, sdrv_domid_t remote, sdrv_evtchn_port_t *port)
{
	struct sdrv_pm_alloc m = {.remote = remote};
	sdrv_evtchn_port_t p;
	int fd, r;

	if (!x || !port)
		return -EINVAL;
	if (x->broken)
		return x->broken;
	r = sdrv_evl_add(x->evl, &p, &fd);
	if (r < 0)
		return r;
	m.port = p;
	r = call(x, SDRV_PM_ALLOC_UNBOUND, &m, sizeof(m), &fd, 1, NULL, 0, NULL, NULL, 0);
	if (r < 0) {
		sdrv_evl_close(x->evl, p);
		return r;
	}
	*port = p;
	return 0;
}

int sdrv_evtchn_bind(struct sdrv_xport *x, sdrv_domid_t remote, sdrv_evtchn_port_t remote_port,
		     sdrv_evtchn_port_t *port)
{
	struct sdrv_pm_bind m = {.remote = remote, .remote_port = remote_port};
	sdrv_evtchn_port_t p;
	int fd, peer_fd = -1, r;

	if (!x || !port)
		return -EINVAL;
	if (x->broken)
		return x->broken;
	r = sdrv_evl_add(x->evl, &p, &fd);
	if (r < 0)
		return r;
	m.port = p;
	r = call(x, SDRV_PM_BIND, &m, sizeof(m), &fd, 1, NULL, 0, NULL, &peer_fd, 1);
	if (r == 0 && peer_fd < 0)
		r = x->broken = -EPROTO;
	if (r == 0) {
		r = sdrv_evl_connect(x->evl, p, peer_fd);
		if (r < 0)
			close(peer_fd);
	}
	if (r < 0) {
		sdrv_evl_close(x->evl, p);
		return r;
	}
	*port = p;
	return 0;
}

int sdrv_evtchn_notify(struct sdrv_xport *x, sdrv_evtchn_port_t port)
{
	return x ? sdrv_evl_notify(x->evl, port) : -EINVAL;
}

int sdrv_evtchn_pending(struct sdrv_xport *x, sdrv_evtchn_port_t *port)
{
	return x ? sdrv_evl_pending(x->evl, port) : -EINVAL;
}

int sdrv_evtchn_mask(struct sdrv_xport *x, sdrv_evtchn_port_t port)
{
	return x ? sdrv_evl_mask(x->evl, port) : -EINVAL;
}

int sdrv_evtchn_unmask(struct sdrv_xport *x, sdrv_evtchn_port_t port)
{
	return x ? sdrv_evl_unmask(x->evl, port) : -EINVAL;
}

int sdrv_evtchn_eoi(struct sdrv_xport *x, sdrv_evtchn_port_t port, uint32_t flags)
{
	return x ? sdrv_evl_eoi(x->evl, port, flags) : -EINVAL;
}

int sdrv_evtchn_close(struct sdrv_xport *x, sdrv_evtchn_port_t port)
{
	struct sdrv_pm_close m = {.port = port};
	int r;

	if (!x)
		return -EINVAL;
	r = sdrv_evl_close(x->evl, port);
	if (r < 0)
		return r;
	/* The broker tells the peer; if the broker is gone, so is the peer's
	 * channel. */
	if (!x->broken)
		(void)call(x, SDRV_PM_CLOSE, &m, sizeof(m), NULL, 0, NULL, 0, NULL, NULL, 0);
	return 0;
}
