/* SPDX-License-Identifier: MIT */
/*
 * The POSIX transport's broker (see broker.h and doc/transports.md).
 *
 * One epoll set holds the listening socket and every connection. Each
 * connection is a client that becomes a domain with HELLO. The broker is
 * the only party that sees every domain's grant table: it hands a table and
 * pool only to a domain that the table names, exchanges event-channel
 * ends only between the two ends of a binding, and cleans up after a
 * domain whose connection ends (process exit, SIGKILL, close).
 *
 * Everything a client sends is hostile: each datagram is validated
 * (proto.c) before a handler looks at it, work per sdrv_broker_run() call is
 * bounded, and a client that does not read its replies is dropped (replies
 * are sent with MSG_DONTWAIT) instead of blocking everybody else.
 */
#define _GNU_SOURCE
#include <splitdrv/broker.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "proto.h"

#define EVENTS_PER_RUN	     32	     /* epoll events handled per sdrv_broker_run() */
#define MSGS_PER_CLIENT	     16	     /* datagrams read from one client per event */
#define ACCEPTS_PER_RUN	     16	     /* connections accepted per event */
#define MAX_UNBOUND	     256     /* unbound ports (each holds a channel end) per domain */
#define LOGS_PER_CLIENT	     8	     /* client-triggered warnings logged per client */
#define DOMID_FIRST_RESERVED 0x7FF0u /* as Xen's DOMID_FIRST_RESERVED */
#define PAGE		     4096u
#define MAX_PINS	     65536u /* isolation mode: pin records per mapper */

enum port_state {
	PORT_UNBOUND, /* offered to `remote`, holds our channel end */
	PORT_BOUND,   /* connected to (remote, peer_port) */
	PORT_CLOSED,  /* the peer closed its end or died */
};

struct bport {
	uint32_t port;
	sdrv_domid_t remote;
	uint8_t state;
	int efd; /* while unbound: the channel end to hand to the binder */
	uint32_t peer_port;
};

/* Isolation mode: what a mapper has pinned of one granter's ref, so that
 * its death undoes exactly its pins. */
struct bpin {
	sdrv_domid_t granter;
	uint32_t ref;
	uint32_t cnt_r, cnt_w; /* mappings (and copies in flight) of each kind */
};

struct bdom {
	int fd;
	bool hello;
	bool dead;
	sdrv_domid_t domid;
	pid_t pid;
	uid_t uid;
	unsigned warnings;
	int table_fd, pool_fd;
	struct sdrv_grant_entry *table;
	size_t table_bytes;
	uint32_t nr_ents, pool_pages;
	struct bport *ports;
	uint32_t nr_ports, cap_ports, nr_unbound;
	/* Isolation mode, as a granter: one memfd per page, by ref - 8. */
	bool isolated;
	int *page_fds;
	/* Isolation mode, as a mapper: pins taken on its behalf. */
	struct bpin *pins;
	uint32_t nr_pins, cap_pins;
	struct bdom *next_dead;
};

struct sdrv_broker {
	int lfd, epfd;
	char *path;
	ino_t sock_ino;
	dev_t sock_dev;
	uid_t *priv;
	size_t nr_priv;
	char *store;
	uint32_t max_domains, max_ports;
	uint32_t max_per_uid; /* connections one unprivileged uid may hold */
	void (*log)(void *ctx, int level, const char *msg);
	void *log_ctx;
	struct bdom **conns; /* every connection, max_domains of them */
	uint32_t nr_conns;
	sdrv_domid_t next_domid;
	struct bdom *dead; /* connections to reap at the end of a run */
	union {
		unsigned char buf[SDRV_PM_MAX_MSG];
		uint64_t align;
	} rx, tx;
};

__attribute__((format(printf, 3, 4))) static void blog(struct sdrv_broker *b, int level,
						       const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!b->log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	b->log(b->log_ctx, level, msg);
}

/* A warning caused by a client: rate-limited per client (XSA-157). */
#define CLIENT_WARN(b, d, fmt, ...)                                                                \
	do {                                                                                       \
		if ((d)->warnings < LOGS_PER_CLIENT) {                                             \
			(d)->warnings++;                                                           \
			blog(b, LOG_WARNING, "client pid %ld (domain %d): " fmt, (long)(d)->pid,   \
			     (d)->hello ? (int)(d)->domid : -1, __VA_ARGS__);                      \
		}                                                                                  \
	} while (0)

static struct bdom *find_dom(struct sdrv_broker *b, sdrv_domid_t domid)
{
	for (uint32_t i = 0; i < b->nr_conns; i++) {
		struct bdom *d = b->conns[i];

		if (d->hello && !d->dead && d->domid == domid)
			return d;
	}
	return NULL;
}

static struct bport *find_port(struct bdom *d, uint32_t port)
{
	for (uint32_t i = 0; i < d->nr_ports; i++)
		if (d->ports[i].port == port)
			return &d->ports[i];
	return NULL;
}

static void drop(struct sdrv_broker *b, struct bdom *d)
{
	if (d->dead)
		return;
	d->dead = true;
	epoll_ctl(b->epfd, EPOLL_CTL_DEL, d->fd, NULL);
	d->next_dead = b->dead;
	b->dead = d;
}

/* Send one message; a client that cannot take it is dropped. */
static void send_msg(struct sdrv_broker *b, struct bdom *d, uint16_t type, uint32_t seq,
		     const void *payload, size_t len, const int *fds, unsigned nfds)
{
	size_t n;
	int r;

	if (d->dead)
		return;
	n = sdrv_pm_encode(b->tx.buf, type, seq, payload, len);
	r = sdrv_pm_send(d->fd, b->tx.buf, n, fds, nfds);
	if (r < 0) {
		blog(b, LOG_NOTICE, "domain %d (pid %ld): cannot send %s (%s); dropping it",
		     d->hello ? (int)d->domid : -1, (long)d->pid, sdrv_pm_type_name(type),
		     strerror(-r));
		drop(b, d);
	}
}

static void reply_status(struct sdrv_broker *b, struct bdom *d, const struct sdrv_pm_hdr *h,
			 int status)
{
	struct sdrv_pm_status st = {.status = status};

	send_msg(b, d, (uint16_t)(h->type | SDRV_PM_REPLY), h->seq, &st, sizeof(st), NULL, 0);
}

static void close_fds(int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/*
 * An event-channel end (transports/posix/evtchn.c): one end of a connected
 * AF_UNIX SEQPACKET pair, the receiving end of the sender's channel.
 */
static bool is_evtchn_end(int fd)
{
	int type = 0, domain = 0;
	socklen_t len = sizeof(type);
	struct sockaddr_un peer;
	socklen_t plen = sizeof(peer);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_SEQPACKET)
		return false;
	len = sizeof(domain);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 || domain != AF_UNIX)
		return false;
	return getpeername(fd, (struct sockaddr *)&peer, &plen) == 0;
}

/* A memfd of exactly `size` bytes whose size can never change again. */
static int check_sealed(int fd, uint64_t size)
{
	const int need = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
	struct stat st;
	int seals = fcntl(fd, F_GET_SEALS);

	if (seals < 0)
		return -EINVAL; /* not a memfd */
	if ((seals & need) != need)
		return -EINVAL;
	if (seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE))
		return -EINVAL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != size)
		return -EINVAL;
	return 0;
}

static bool uid_privileged(struct sdrv_broker *b, uid_t uid)
{
	for (size_t i = 0; i < b->nr_priv; i++)
		if (b->priv[i] == uid)
			return true;
	return false;
}

static int pick_domid(struct sdrv_broker *b, struct bdom *d, uint32_t flags, sdrv_domid_t want)
{
	bool priv = (flags & SDRV_PM_HELLO_PRIVILEGED) || want == SDRV_DOMID_PRIVILEGED;

	if (priv) {
		if (want != SDRV_DOMID_PRIVILEGED && want != SDRV_DOMID_ANY)
			return -EINVAL;
		if (!uid_privileged(b, d->uid))
			return -EPERM;
		if (find_dom(b, SDRV_DOMID_PRIVILEGED))
			return -EPERM;
		return SDRV_DOMID_PRIVILEGED;
	}
	if (want != SDRV_DOMID_ANY) {
		if (want >= DOMID_FIRST_RESERVED || find_dom(b, want))
			return -EPERM;
		return want;
	}
	/* Upward from the last one given, so that a dead domain's id is not
	 * reused at once (stale references to it then find nobody). */
	for (uint32_t i = 0; i < DOMID_FIRST_RESERVED; i++) {
		sdrv_domid_t c = b->next_domid;

		b->next_domid =
		    (sdrv_domid_t)((uint32_t)c + 1u >= DOMID_FIRST_RESERVED ? 1u : c + 1u);
		if (!find_dom(b, c))
			return c;
	}
	return -ENOSPC;
}

static size_t table_bytes(uint32_t nr_ents)
{
	size_t bytes = (size_t)nr_ents * sizeof(struct sdrv_grant_entry);

	return (bytes + PAGE - 1) / PAGE * PAGE;
}

static void on_hello(struct sdrv_broker *b, struct bdom *d, const struct sdrv_pm_hdr *h,
		     const unsigned char *p, int *fds)
{
	struct sdrv_pm_hello m;
	struct sdrv_pm_hello_rep rep = {0};
	unsigned char out[sizeof(rep) + SDRV_PM_MAX_STORE];
	size_t slen = b->store ? strlen(b->store) : 0;
	uint32_t nr_ents;
	void *tab;
	int r;

	memcpy(&m, p, sizeof(m));
	if (d->hello) {
		r = -EISCONN;
		goto fail;
	}
	if (m.version != SDRV_PM_VERSION) {
		r = -EPROTONOSUPPORT;
		goto fail;
	}
	if ((m.flags & ~SDRV_PM_HELLO_KNOWN) || m.grant_pages == 0 ||
	    m.grant_pages > SDRV_PM_MAX_POOL_PAGES) {
		r = -EINVAL;
		goto fail;
	}
	nr_ents = m.grant_pages + SDRV_GNTTAB_NR_RESERVED;
	r = check_sealed(fds[0], table_bytes(nr_ents));
	if (r == 0 && !(m.flags & SDRV_PM_HELLO_ISOLATE))
		r = check_sealed(fds[1], (uint64_t)m.grant_pages * PAGE);
	if (r < 0) {
		CLIENT_WARN(b, d,
			    "HELLO with a table or pool that is not a sealed memfd of %u pages",
			    m.grant_pages);
		goto fail;
	}
	r = pick_domid(b, d, m.flags, m.domid);
	if (r < 0) {
		blog(b, LOG_NOTICE, "client pid %ld uid %ld: domain id %u%s refused (%s)",
		     (long)d->pid, (long)d->uid, m.domid,
		     (m.flags & SDRV_PM_HELLO_PRIVILEGED) ? " (privileged)" : "", strerror(-r));
		goto fail;
	}
	if (m.flags & SDRV_PM_HELLO_ISOLATE) {
		d->page_fds = malloc((size_t)m.grant_pages * sizeof(int));
		if (!d->page_fds) {
			r = -ENOMEM;
			goto fail;
		}
		for (uint32_t i = 0; i < m.grant_pages; i++)
			d->page_fds[i] = -1;
	}
	tab = mmap(NULL, table_bytes(nr_ents), PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
	if (tab == MAP_FAILED) {
		r = -errno;
		free(d->page_fds);
		d->page_fds = NULL;
		goto fail;
	}
	d->isolated = (m.flags & SDRV_PM_HELLO_ISOLATE) != 0;
	d->table = tab;
	d->table_bytes = table_bytes(nr_ents);
	d->nr_ents = nr_ents;
	d->pool_pages = m.grant_pages;
	d->table_fd = fds[0];
	d->pool_fd = fds[1];
	fds[0] = fds[1] = -1;
	d->domid = (sdrv_domid_t)r;
	d->hello = true;
	blog(b, LOG_INFO, "domain %u: pid %ld uid %ld, %u grant pages", d->domid, (long)d->pid,
	     (long)d->uid, m.grant_pages);
	rep.domid = d->domid;
	if (slen > SDRV_PM_MAX_STORE)
		slen = 0;
	memcpy(out, &rep, sizeof(rep));
	if (slen)
		memcpy(out + sizeof(rep), b->store, slen);
	send_msg(b, d, SDRV_PM_HELLO | SDRV_PM_REPLY, h->seq, out, sizeof(rep) + slen, NULL, 0);
	return;
fail:
	close_fds(fds, 2);
	reply_status(b, d, h, r);
}

/* Whether a valid entry of `g`'s table names `domid` (the table is the
 * granter's shared memory: each entry is read once). */
static bool table_names(const struct bdom *g, sdrv_domid_t domid)
{
	for (uint32_t r = SDRV_GNTTAB_NR_RESERVED; r < g->nr_ents; r++) {
		uint32_t w =
		    __atomic_load_n((const uint32_t *)(const void *)&g->table[r], __ATOMIC_ACQUIRE);
		struct sdrv_grant_entry e;

		memcpy(&e, &w, sizeof(w));
		if ((e.flags & SDRV_GTF_TYPE_MASK) == SDRV_GTF_PERMIT_ACCESS && e.domid == domid)
			return true;
	}
	return false;
}

static void on_map_setup(struct sdrv_broker *b, struct bdom *d, const struct sdrv_pm_hdr *h,
			 const unsigned char *p)
{
	struct sdrv_pm_map_setup m;
	struct sdrv_pm_map_setup_rep rep = {0};
	struct bdom *g;
	int fds[2];

	memcpy(&m, p, sizeof(m));
	g = find_dom(b, m.granter);
	if (!g) {
		reply_status(b, d, h, -ENOENT);
		return;
	}
	if (g == d) {
		reply_status(b, d, h, -EINVAL);
		return;
	}
	if (g->isolated) {
		/* Its pages are mapped one by one through MAP, never as a pool. */
		reply_status(b, d, h, -EOPNOTSUPP);
		return;
	}
	if (!table_names(g, d->domid)) {
		reply_status(b, d, h, -EPERM);
		return;
	}
	rep.nr_entries = g->nr_ents;
	rep.pool_pages = g->pool_pages;
	fds[0] = g->table_fd;
	fds[1] = g->pool_fd;
	send_msg(b, d, SDRV_PM_MAP_SETUP | SDRV_PM_REPLY, h->seq, &rep, sizeof(rep), fds, 2);
}

/* A new port record for `d`, or a negative errno. */
static int add_port(struct sdrv_broker *b, struct bdom *d, uint32_t port, bool unbound)
{
	if (port == 0)
		return -EINVAL;
	if (find_port(d, port))
		return -EEXIST;
	if (d->nr_ports >= b->max_ports || (unbound && d->nr_unbound >= MAX_UNBOUND))
		return -ENOSPC;
	if (d->nr_ports == d->cap_ports) {
		uint32_t cap = d->cap_ports ? 2 * d->cap_ports : 8;
		struct bport *np = realloc(d->ports, cap * sizeof(*np));

		if (!np)
			return -ENOMEM;
		d->ports = np;
		d->cap_ports = cap;
	}
	return 0;
}

static void on_alloc_unbound(struct sdrv_broker *b, struct bdom *d, const struct sdrv_pm_hdr *h,
			     const unsigned char *p, int *fds)
{
	struct sdrv_pm_alloc m;
	struct bport *np;
	int r;

	memcpy(&m, p, sizeof(m));
	if (m.remote == SDRV_DOMID_INVALID || m.remote == SDRV_DOMID_ANY ||
	    m.remote >= DOMID_FIRST_RESERVED) {
		r = -EINVAL;
		goto fail;
	}
	if (!is_evtchn_end(fds[0])) {
		CLIENT_WARN(b, d, "%s", "ALLOC_UNBOUND without an event-channel socket");
		r = -EINVAL;
		goto fail;
	}
	r = add_port(b, d, m.port, true);
	if (r < 0)
		goto fail;
	np = &d->ports[d->nr_ports++];
	*np = (struct bport){
	    .port = m.port, .remote = m.remote, .state = PORT_UNBOUND, .efd = fds[0]};
	d->nr_unbound++;
	reply_status(b, d, h, 0);
	return;
fail:
	close_fds(fds, 1);
	reply_status(b, d, h, r);
}

static void on_bind(struct sdrv_broker *b, struct bdom *d, const struct sdrv_pm_hdr *h,
		    const unsigned char *p, int *fds)
{
	struct sdrv_pm_bind m;
	struct sdrv_pm_status st = {0};
	struct sdrv_pm_ev_bound ev = {0};
	struct bdom *o;
	struct bport *op;
	int r, owner_efd;

	memcpy(&m, p, sizeof(m));
	o = find_dom(b, m.remote);
	op = o ? find_port(o, m.remote_port) : NULL;
	if (!op) {
		r = -ENOENT;
		goto fail;
	}
	if (op->remote != d->domid) {
		r = -EPERM;
		goto fail;
	}
	if (op->state != PORT_UNBOUND) {
		r = -EBUSY;
		goto fail;
	}
	if (!is_evtchn_end(fds[0])) {
		CLIENT_WARN(b, d, "%s", "BIND without an event-channel socket");
		r = -EINVAL;
		goto fail;
	}
	r = add_port(b, d, m.port, false);
	if (r < 0)
		goto fail;
	d->ports[d->nr_ports++] = (struct bport){.port = m.port,
						 .remote = o->domid,
						 .state = PORT_BOUND,
						 .efd = -1,
						 .peer_port = m.remote_port};
	op = find_port(o, m.remote_port); /* d->ports may have moved (o == d) */
	owner_efd = op->efd;
	op->efd = -1;
	op->state = PORT_BOUND;
	op->peer_port = m.port;
	o->nr_unbound--;
	/* The binder gets the owner's channel end, the owner the binder's. */
	send_msg(b, d, SDRV_PM_BIND | SDRV_PM_REPLY, h->seq, &st, sizeof(st), &owner_efd, 1);
	ev.port = m.remote_port;
	ev.peer = d->domid;
	ev.peer_port = m.port;
	send_msg(b, o, SDRV_PM_EV_BOUND, 0, &ev, sizeof(ev), fds, 1);
	close(owner_efd);
	close(fds[0]);
	return;
fail:
	close_fds(fds, 1);
	reply_status(b, d, h, r);
}

/* Port `port` of `d` is going away: tell the other end. */
static void port_gone(struct sdrv_broker *b, struct bdom *d, struct bport *pt)
{
	struct bdom *o;
	struct bport *op;
	struct sdrv_pm_ev_port_closed ev;

	if (pt->state != PORT_BOUND)
		return;
	o = find_dom(b, pt->remote);
	op = o ? find_port(o, pt->peer_port) : NULL;
	if (!op || op->state != PORT_BOUND || op->remote != d->domid || op->peer_port != pt->port)
		return;
	op->state = PORT_CLOSED;
	ev.port = op->port;
	send_msg(b, o, SDRV_PM_EV_PORT_CLOSED, 0, &ev, sizeof(ev), NULL, 0);
}

static void on_close(struct sdrv_broker *b, struct bdom *d, const struct sdrv_pm_hdr *h,
		     const unsigned char *p)
{
	struct sdrv_pm_close m;
	struct bport *pt;

	memcpy(&m, p, sizeof(m));
	pt = find_port(d, m.port);
	if (!pt) {
		reply_status(b, d, h, -ENOENT);
		return;
	}
	port_gone(b, d, pt);
	if (pt->state == PORT_UNBOUND)
		d->nr_unbound--;
	if (pt->efd >= 0)
		close(pt->efd);
	*pt = d->ports[--d->nr_ports];
	reply_status(b, d, h, 0);
}

/* ---------------------------- isolation mode ---------------------------- */

static struct bpin *find_pin(struct bdom *m, sdrv_domid_t granter, uint32_t ref)
{
	for (uint32_t i = 0; i < m->nr_pins; i++)
		if (m->pins[i].granter == granter && m->pins[i].ref == ref)
			return &m->pins[i];
	return NULL;
}

/* Room for one more pin record. */
static int reserve_pin(struct bdom *m)
{
	struct bpin *np;
	uint32_t cap;

	if (m->nr_pins < m->cap_pins)
		return 0;
	if (m->nr_pins >= MAX_PINS)
		return -ENOSPC;
	cap = m->cap_pins ? 2 * m->cap_pins : 16;
	np = realloc(m->pins, cap * sizeof(*np));
	if (!np)
		return -ENOMEM;
	m->pins = np;
	m->cap_pins = cap;
	return 0;
}

/* The page memfd of `g`'s ref, checked against the kind of access: a
 * read-only grant must be sealed F_SEAL_FUTURE_WRITE (else no descriptor of
 * it may leave the broker), a writable mapping must not be. */
static int page_fd_for(struct bdom *g, uint32_t ref, bool write)
{
	int fd = g->page_fds[ref - SDRV_GNTTAB_NR_RESERVED], seals;
	uint32_t w;
	struct sdrv_grant_entry e;

	if (fd < 0)
		return -EINVAL; /* granted, but never shared with us */
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0)
		return -EINVAL;
	w = __atomic_load_n((const uint32_t *)(const void *)&g->table[ref], __ATOMIC_ACQUIRE);
	memcpy(&e, &w, sizeof(w));
	if (write && (seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)))
		return -EINVAL;
	if (!write && (e.flags & SDRV_GTF_READONLY) && !(seals & F_SEAL_FUTURE_WRITE))
		return -EINVAL;
	return fd;
}

/* Pin `ref` of granter `g` for mapper `m` (Xen's active-table counts, kept
 * by the broker: the mapper never sees the granter's table). */
static int pin_ref(struct bdom *m, struct bdom *g, uint32_t ref, bool write)
{
	struct bpin *p;
	uint32_t frame;
	bool already;
	int r;

	if (ref < SDRV_GNTTAB_NR_RESERVED || ref >= g->nr_ents)
		return -EINVAL;
	r = reserve_pin(m);
	if (r < 0)
		return r;
	p = find_pin(m, g->domid, ref);
	if (p && (write ? p->cnt_w : p->cnt_r) == UINT32_MAX)
		return -ENOSPC;
	already = p && (p->cnt_r || p->cnt_w);
	r = sdrv_gnttab_pin(g->table, g->nr_ents, ref, m->domid, write, already, &frame);
	if (r < 0)
		return r == -EBUSY ? -EAGAIN : r;
	if (!p) {
		p = &m->pins[m->nr_pins++];
		*p = (struct bpin){.granter = g->domid, .ref = ref};
	}
	if (write)
		p->cnt_w++;
	else
		p->cnt_r++;
	return 0;
}

/* Drop one pin of `p` (a record of `m` on granter `g`). */
static void unpin_ref(struct bdom *m, struct bdom *g, struct bpin *p, bool write)
{
	bool clear_w, clear_r;

	if (write)
		p->cnt_w--;
	else
		p->cnt_r--;
	clear_w = write && p->cnt_w == 0;
	clear_r = p->cnt_w == 0 && p->cnt_r == 0;
	if (clear_w || clear_r)
		(void)sdrv_gnttab_unpin(g->table, g->nr_ents, p->ref, clear_w, clear_r);
	if (clear_r)
		*p = m->pins[--m->nr_pins];
}

static void unpin_ref_by(struct bdom *m, struct bdom *g, uint32_t ref, bool write)
{
	struct bpin *p = find_pin(m, g->domid, ref);

	if (p)
		unpin_ref(m, g, p, write);
}

/* A memfd of one page whose size can never change and whose seals are
 * final. */
static int check_page_fd(int fd)
{
	const int need = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
	struct stat st;
	int seals = fcntl(fd, F_GET_SEALS);

	if (seals < 0 || (seals & need) != need)
		return -EINVAL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size != PAGE)
		return -EINVAL;
	return 0;
}

/* SHARE: an isolated granter hands over the memfds of pages it granted. */
static void on_share(struct sdrv_broker *b, struct bdom *d, const struct sdrv_pm_hdr *h,
		     const unsigned char *p, int *fds, unsigned nfds)
{
	struct sdrv_pm_share m;
	uint32_t refs[SDRV_PM_MAX_BATCH];
	int r = 0;

	memcpy(&m, p, sizeof(m));
	memcpy(refs, p + sizeof(m), (size_t)m.count * sizeof(refs[0]));
	if (!d->isolated || m.count != nfds) {
		r = -EINVAL;
		goto fail;
	}
	for (uint32_t i = 0; i < m.count && !r; i++) {
		if (refs[i] < SDRV_GNTTAB_NR_RESERVED || refs[i] >= d->nr_ents)
			r = -EINVAL;
		for (uint32_t j = 0; j < i && !r; j++)
			if (refs[j] == refs[i])
				r = -EINVAL;
		if (!r)
			r = check_page_fd(fds[i]);
	}
	if (r) {
		CLIENT_WARN(b, d, "%s", "SHARE with a bad ref or a page not a sealed memfd");
		goto fail;
	}
	for (uint32_t i = 0; i < m.count; i++) {
		int *slot = &d->page_fds[refs[i] - SDRV_GNTTAB_NR_RESERVED];

		if (*slot >= 0)
			close(*slot);
		*slot = fds[i];
		fds[i] = -1;
	}
	reply_status(b, d, h, 0);
	return;
fail:
	close_fds(fds, nfds);
	reply_status(b, d, h, r);
}

/* The isolated granter a MAP, UNMAP or COPY names, or a negative errno. */
static int iso_granter(struct sdrv_broker *b, struct bdom *d, sdrv_domid_t domid, struct bdom **out)
{
	struct bdom *g = find_dom(b, domid);

	if (!g)
		return -ENOENT;
	if (g == d)
		return -EINVAL;
	if (!g->isolated)
		return -EOPNOTSUPP;
	*out = g;
	return 0;
}

/* MAP: pin each ref for `d` and hand out one descriptor per page; all or
 * nothing (a failed element leaves nothing pinned), each with a status. */
static void on_map(struct sdrv_broker *b, struct bdom *d, const struct sdrv_pm_hdr *h,
		   const unsigned char *p)
{
	struct sdrv_pm_map m;
	struct sdrv_pm_map_rep rep = {0};
	uint32_t refs[SDRV_PM_MAX_BATCH];
	int32_t st[SDRV_PM_MAX_BATCH];
	int out[SDRV_PM_MAX_BATCH], own[SDRV_PM_MAX_BATCH];
	unsigned char buf[sizeof(rep) + sizeof(st)];
	struct bdom *g;
	bool write, ok = true;
	int r;

	memcpy(&m, p, sizeof(m));
	memcpy(refs, p + sizeof(m), (size_t)m.count * sizeof(refs[0]));
	write = (m.flags & SDRV_PM_MAP_WRITABLE) != 0;
	r = iso_granter(b, d, m.granter, &g);
	if (r < 0) {
		reply_status(b, d, h, r);
		return;
	}
	for (uint32_t i = 0; i < m.count; i++) {
		int fd;

		own[i] = -1;
		out[i] = -1;
		r = pin_ref(d, g, refs[i], write);
		if (r == 0) {
			fd = page_fd_for(g, refs[i], write);
			if (fd >= 0 && !write) {
				/* A read-only descriptor of the sealed memfd: no
				 * way back to write access through it. */
				char path[64];

				snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
				fd = own[i] = open(path, O_RDONLY | O_CLOEXEC);
				if (fd < 0)
					fd = -errno;
			}
			if (fd < 0) {
				unpin_ref_by(d, g, refs[i], write);
				r = fd;
			}
			out[i] = fd;
		}
		st[i] = r;
		if (r)
			ok = false;
	}
	if (!ok) {
		/* Undo exactly the elements that succeeded (XSA-361..365). */
		for (uint32_t i = 0; i < m.count; i++)
			if (st[i] == 0)
				unpin_ref_by(d, g, refs[i], write);
	}
	rep.count = m.count;
	memcpy(buf, &rep, sizeof(rep));
	memcpy(buf + sizeof(rep), st, (size_t)m.count * sizeof(st[0]));
	send_msg(b, d, SDRV_PM_MAP | SDRV_PM_REPLY, h->seq, buf,
		 sizeof(rep) + (size_t)m.count * sizeof(st[0]), out, ok ? m.count : 0);
	close_fds(own, m.count);
}

/* UNMAP: drop pins `d` holds; all or nothing. */
static void on_unmap(struct sdrv_broker *b, struct bdom *d, const struct sdrv_pm_hdr *h,
		     const unsigned char *p)
{
	struct sdrv_pm_map m;
	uint32_t refs[SDRV_PM_MAX_BATCH];
	struct bdom *g;
	bool write;
	int r;

	memcpy(&m, p, sizeof(m));
	memcpy(refs, p + sizeof(m), (size_t)m.count * sizeof(refs[0]));
	write = (m.flags & SDRV_PM_MAP_WRITABLE) != 0;
	r = iso_granter(b, d, m.granter, &g);
	if (r < 0) {
		reply_status(b, d, h, r);
		return;
	}
	/* Every ref must be pinned as often as it is named. */
	for (uint32_t i = 0; i < m.count; i++) {
		struct bpin *pin = find_pin(d, g->domid, refs[i]);
		uint32_t times = 0;

		for (uint32_t j = 0; j < m.count; j++)
			times += refs[j] == refs[i];
		if (!pin || (write ? pin->cnt_w : pin->cnt_r) < times) {
			reply_status(b, d, h, -EINVAL);
			return;
		}
	}
	for (uint32_t i = 0; i < m.count; i++)
		unpin_ref_by(d, g, refs[i], write);
	reply_status(b, d, h, 0);
}

/* COPY: one piece of a grant copy, through the broker's descriptor. */
static void on_copy(struct sdrv_broker *b, struct bdom *d, const struct sdrv_pm_hdr *h,
		    const unsigned char *p)
{
	struct sdrv_pm_copy m;
	struct sdrv_pm_copy_rep rep = {0};
	unsigned char out[sizeof(rep) + SDRV_PM_MAX_COPY];
	struct bdom *g;
	bool to_grant;
	ssize_t done;
	int fd, r;

	memcpy(&m, p, sizeof(m));
	to_grant = (m.flags & SDRV_PM_COPY_TO_GRANT) != 0;
	r = iso_granter(b, d, m.granter, &g);
	if (r < 0)
		goto fail;
	if ((uint32_t)m.offset + m.len > PAGE) {
		r = -EINVAL;
		goto fail;
	}
	r = pin_ref(d, g, m.ref, to_grant);
	if (r < 0)
		goto fail;
	fd = page_fd_for(g, m.ref, to_grant);
	if (fd < 0) {
		r = fd;
	} else if (to_grant) {
		done = pwrite(fd, p + sizeof(m), m.len, m.offset);
		r = done == (ssize_t)m.len ? 0 : (done < 0 ? -errno : -EIO);
	} else {
		done = pread(fd, out + sizeof(rep), m.len, m.offset);
		r = done == (ssize_t)m.len ? 0 : (done < 0 ? -errno : -EIO);
		rep.len = m.len;
	}
	unpin_ref_by(d, g, m.ref, to_grant);
	if (r < 0)
		goto fail;
	memcpy(out, &rep, sizeof(rep));
	send_msg(b, d, SDRV_PM_COPY | SDRV_PM_REPLY, h->seq, out, sizeof(rep) + rep.len, NULL, 0);
	return;
fail:
	reply_status(b, d, h, r);
}

static void dispatch(struct sdrv_broker *b, struct bdom *d, const struct sdrv_pm_hdr *h,
		     const unsigned char *p, int *fds, unsigned nfds)
{
	if (h->type != SDRV_PM_HELLO && !d->hello) {
		close_fds(fds, nfds);
		reply_status(b, d, h, -ENOTCONN);
		return;
	}
	switch (h->type) {
	case SDRV_PM_HELLO:
		on_hello(b, d, h, p, fds);
		break;
	case SDRV_PM_MAP_SETUP:
		on_map_setup(b, d, h, p);
		break;
	case SDRV_PM_ALLOC_UNBOUND:
		on_alloc_unbound(b, d, h, p, fds);
		break;
	case SDRV_PM_BIND:
		on_bind(b, d, h, p, fds);
		break;
	case SDRV_PM_CLOSE:
		on_close(b, d, h, p);
		break;
	case SDRV_PM_SHARE:
		on_share(b, d, h, p, fds, nfds);
		break;
	case SDRV_PM_MAP:
		on_map(b, d, h, p);
		break;
	case SDRV_PM_UNMAP:
		on_unmap(b, d, h, p);
		break;
	case SDRV_PM_COPY:
		on_copy(b, d, h, p);
		break;
	default: /* validated: cannot happen */
		close_fds(fds, nfds);
		reply_status(b, d, h, -EOPNOTSUPP);
		break;
	}
}

static void serve(struct sdrv_broker *b, struct bdom *d)
{
	for (int i = 0; i < MSGS_PER_CLIENT && !d->dead; i++) {
		struct sdrv_pm_hdr h;
		int fds[SDRV_PM_MAX_FDS];
		unsigned nfds;
		bool framing;
		long n;
		int r;

		for (unsigned k = 0; k < SDRV_PM_MAX_FDS; k++)
			fds[k] = -1;
		n = sdrv_pm_recv(d->fd, b->rx.buf, fds, &nfds, &framing);
		if (n == -EAGAIN)
			return;
		if (n <= 0) {
			if (n < 0)
				CLIENT_WARN(b, d, "receive failed: %s", strerror((int)-n));
			drop(b, d);
			return;
		}
		if (framing) {
			CLIENT_WARN(b, d, "%s",
				    "oversized datagram or bad descriptors; disconnecting");
			drop(b, d);
			return;
		}
		r = sdrv_pm_validate(b->rx.buf, (size_t)n, nfds, SDRV_PM_TO_BROKER, &h);
		if (r == -EPROTO) {
			close_fds(fds, nfds);
			CLIENT_WARN(b, d, "framing error (%ld bytes); disconnecting", n);
			drop(b, d);
			return;
		}
		if (r < 0) {
			close_fds(fds, nfds);
			CLIENT_WARN(b, d, "bad %s request (type %u, %u bytes, %u fds): %s",
				    sdrv_pm_type_name(h.type), h.type, h.len, nfds, strerror(-r));
			reply_status(b, d, &h, r);
			continue;
		}
		dispatch(b, d, &h, b->rx.buf + SDRV_PM_HDR_SIZE, fds, nfds);
	}
}

/* A mapper died: clear the status bits it left in other domains' tables
 * (it cannot unmap any more; its mappings died with it). */
static void unpin_for(struct sdrv_broker *b, sdrv_domid_t dead)
{
	for (uint32_t i = 0; i < b->nr_conns; i++) {
		struct bdom *g = b->conns[i];

		if (!g->hello || !g->table || g->isolated)
			continue; /* isolated granters: see unpin_isolated() */
		for (uint32_t r = SDRV_GNTTAB_NR_RESERVED; r < g->nr_ents; r++) {
			uint32_t w =
			    __atomic_load_n((uint32_t *)(void *)&g->table[r], __ATOMIC_ACQUIRE);
			struct sdrv_grant_entry e;

			memcpy(&e, &w, sizeof(w));
			if (e.domid == dead && (e.flags & (SDRV_GTF_READING | SDRV_GTF_WRITING)))
				sdrv_gnttab_unpin(g->table, g->nr_ents, r, true, true);
		}
	}
}

/* Isolation mode: a mapper died; undo exactly the pins taken for it, and
 * forget the pins others hold on a dead granter's table. */
static void unpin_isolated(struct sdrv_broker *b, struct bdom *dead)
{
	uint32_t undone = 0;

	for (uint32_t i = 0; i < dead->nr_pins; i++) {
		struct bdom *g = find_dom(b, dead->pins[i].granter);

		if (g && g->isolated) {
			(void)sdrv_gnttab_unpin(g->table, g->nr_ents, dead->pins[i].ref, true,
						true);
			undone++;
		}
	}
	if (undone)
		blog(b, LOG_INFO, "domain %u: released %u pinned grants", dead->domid, undone);
	dead->nr_pins = 0;
	for (uint32_t i = 0; i < b->nr_conns; i++) {
		struct bdom *m = b->conns[i];

		for (uint32_t k = 0; k < m->nr_pins;) {
			if (m->pins[k].granter == dead->domid)
				m->pins[k] = m->pins[--m->nr_pins];
			else
				k++;
		}
	}
}

static void free_dom(struct bdom *d)
{
	if (d->page_fds) {
		for (uint32_t i = 0; i < d->pool_pages; i++)
			if (d->page_fds[i] >= 0)
				close(d->page_fds[i]);
		free(d->page_fds);
	}
	free(d->pins);
	for (uint32_t i = 0; i < d->nr_ports; i++)
		if (d->ports[i].efd >= 0)
			close(d->ports[i].efd);
	free(d->ports);
	if (d->table)
		munmap(d->table, d->table_bytes);
	if (d->table_fd >= 0)
		close(d->table_fd);
	if (d->pool_fd >= 0)
		close(d->pool_fd);
	close(d->fd);
	free(d);
}

static void remove_conn(struct sdrv_broker *b, struct bdom *d)
{
	for (uint32_t i = 0; i < b->nr_conns; i++) {
		if (b->conns[i] == d) {
			b->conns[i] = b->conns[--b->nr_conns];
			return;
		}
	}
}

/* Reap every dropped connection. Telling the survivors may drop more of
 * them (a survivor that does not read); they are reaped in the same loop. */
static void reap(struct sdrv_broker *b)
{
	while (b->dead) {
		struct bdom *d = b->dead;
		struct sdrv_pm_ev_peer_died ev = {0};

		b->dead = d->next_dead;
		if (d->hello) {
			blog(b, LOG_INFO, "domain %u (pid %ld) is gone", d->domid, (long)d->pid);
			for (uint32_t i = 0; i < d->nr_ports; i++)
				port_gone(b, d, &d->ports[i]);
			unpin_isolated(b, d);
			unpin_for(b, d->domid);
			d->hello = false; /* find_dom() must not find it any more */
			ev.domid = d->domid;
			for (uint32_t i = 0; i < b->nr_conns; i++) {
				struct bdom *o = b->conns[i];

				if (o != d && o->hello && !o->dead)
					send_msg(b, o, SDRV_PM_EV_PEER_DIED, 0, &ev, sizeof(ev),
						 NULL, 0);
			}
		}
		remove_conn(b, d);
		free_dom(d);
	}
}

static uint32_t conns_of(const struct sdrv_broker *b, uid_t uid)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < b->nr_conns; i++)
		n += b->conns[i]->uid == uid;
	return n;
}

static void accept_some(struct sdrv_broker *b)
{
	for (int i = 0; i < ACCEPTS_PER_RUN; i++) {
		struct ucred cred;
		socklen_t len = sizeof(cred);
		struct epoll_event ev = {.events = EPOLLIN};
		struct bdom *d;
		int fd = accept4(b->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				blog(b, LOG_ERR, "accept: %s", strerror(errno));
			return;
		}
		if (b->nr_conns >= b->max_domains) {
			blog(b, LOG_WARNING, "too many clients (%u); refusing one", b->nr_conns);
			close(fd);
			continue;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
			close(fd);
			continue;
		}
		/* One local user must not lock everybody else out. */
		if (!uid_privileged(b, cred.uid) && conns_of(b, cred.uid) >= b->max_per_uid) {
			blog(b, LOG_WARNING, "uid %u holds %u connections; refusing one",
			     (unsigned)cred.uid, b->max_per_uid);
			close(fd);
			continue;
		}
		d = calloc(1, sizeof(*d));
		if (!d) {
			close(fd);
			return;
		}
		d->fd = fd;
		d->pid = cred.pid;
		d->uid = cred.uid;
		d->domid = SDRV_DOMID_INVALID;
		d->table_fd = d->pool_fd = -1;
		ev.data.ptr = d;
		if (epoll_ctl(b->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
			close(fd);
			free(d);
			continue;
		}
		b->conns[b->nr_conns++] = d;
	}
}

int sdrv_broker_run(struct sdrv_broker *b, int timeout_ms)
{
	struct epoll_event evs[EVENTS_PER_RUN];
	int n;

	if (!b)
		return -EINVAL;
	n = epoll_wait(b->epfd, evs, EVENTS_PER_RUN, timeout_ms < 0 ? -1 : timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		struct bdom *d = evs[i].data.ptr;

		if (!d)
			accept_some(b);
		else if (!d->dead)
			serve(b, d);
	}
	reap(b);
	return 0;
}

int sdrv_broker_fd(const struct sdrv_broker *b)
{
	return b ? b->epfd : -1;
}

int sdrv_broker_domain_of(const struct sdrv_broker *b, pid_t pid, uid_t uid, sdrv_domid_t *domid)
{
	const struct bdom *found = NULL;

	for (uint32_t i = 0; i < b->nr_conns; i++) {
		const struct bdom *d = b->conns[i];

		if (d->dead || !d->hello || d->pid != pid || d->uid != uid)
			continue;
		if (found)
			return -EEXIST; /* one process, several domains: ambiguous */
		found = d;
	}
	if (!found)
		return -ENOENT;
	*domid = found->domid;
	return 0;
}

uint32_t sdrv_broker_nr_domains(const struct sdrv_broker *b)
{
	uint32_t n = 0;

	if (!b)
		return 0;
	for (uint32_t i = 0; i < b->nr_conns; i++)
		if (b->conns[i]->hello && !b->conns[i]->dead)
			n++;
	return n;
}

/* Whether a live broker answers at `path`. */
static bool socket_alive(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	bool alive;

	if (fd < 0)
		return false;
	alive = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
	close(fd);
	return alive;
}

struct sdrv_broker *sdrv_broker_new(const struct sdrv_broker_opts *opts)
{
	struct sdrv_broker_opts o;
	struct sdrv_broker *b;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct epoll_event ev = {.events = EPOLLIN};
	struct stat st;
	int err;

	if (!opts || opts->sz < offsetof(struct sdrv_broker_opts, privileged_uids) || !opts->path) {
		errno = EINVAL;
		return NULL;
	}
	memset(&o, 0, sizeof(o));
	memcpy(&o, opts, opts->sz < sizeof(o) ? opts->sz : sizeof(o));
	if (strlen(o.path) >= sizeof(sa.sun_path) || o.path[0] == '\0' ||
	    (o.store_address && strlen(o.store_address) > SDRV_PM_MAX_STORE) ||
	    (o.nr_privileged_uids && !o.privileged_uids)) {
		errno = EINVAL;
		return NULL;
	}
	strcpy(sa.sun_path, o.path);
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->lfd = b->epfd = -1;
	b->max_domains = o.max_domains ? o.max_domains : 256;
	b->max_per_uid = b->max_domains / 4 ? b->max_domains / 4 : 1;
	b->max_ports = o.max_ports ? o.max_ports : 1024;
	b->log = o.log;
	b->log_ctx = o.log_ctx;
	b->next_domid = 1;
	b->path = strdup(o.path);
	b->store = o.store_address ? strdup(o.store_address) : NULL;
	b->nr_priv = o.privileged_uids ? o.nr_privileged_uids : 1;
	b->priv = calloc(b->nr_priv ? b->nr_priv : 1, sizeof(uid_t));
	b->conns = calloc(b->max_domains, sizeof(*b->conns));
	if (!b->path || (o.store_address && !b->store) || !b->priv || !b->conns)
		goto fail_errno;
	if (o.privileged_uids)
		memcpy(b->priv, o.privileged_uids, b->nr_priv * sizeof(uid_t));
	else
		b->priv[0] = geteuid();

	if (lstat(o.path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			errno = EEXIST;
			goto fail_errno;
		}
		if (socket_alive(&sa)) {
			errno = EADDRINUSE;
			goto fail_errno;
		}
		unlink(o.path); /* a stale socket */
	}
	b->lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (b->lfd < 0 || bind(b->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		goto fail_errno;
	if (stat(o.path, &st) == 0) {
		b->sock_ino = st.st_ino;
		b->sock_dev = st.st_dev;
	}
	if (listen(b->lfd, 64) != 0)
		goto fail_unlink;
	b->epfd = epoll_create1(EPOLL_CLOEXEC);
	ev.data.ptr = NULL;
	if (b->epfd < 0 || epoll_ctl(b->epfd, EPOLL_CTL_ADD, b->lfd, &ev) != 0)
		goto fail_unlink;
	blog(b, LOG_INFO, "listening on %s", o.path);
	return b;

fail_unlink:
	err = errno;
	unlink(o.path);
	errno = err;
fail_errno:
	err = errno;
	if (b->epfd >= 0)
		close(b->epfd);
	if (b->lfd >= 0)
		close(b->lfd);
	free(b->conns);
	free(b->priv);
	free(b->store);
	free(b->path);
	free(b);
	errno = err;
	return NULL;
}

void sdrv_broker_free(struct sdrv_broker *b)
{
	struct stat st;

	if (!b)
		return;
	for (uint32_t i = 0; i < b->nr_conns; i++)
		free_dom(b->conns[i]);
	/* Remove the socket only if it is still ours. */
	if (stat(b->path, &st) == 0 && st.st_ino == b->sock_ino && st.st_dev == b->sock_dev)
		unlink(b->path);
	close(b->epfd);
	close(b->lfd);
	free(b->conns);
	free(b->priv);
	free(b->store);
	free(b->path);
	free(b);
}
