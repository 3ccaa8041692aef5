/* SPDX-License-Identifier: MIT */
/*
 * POSIX transport, default mode, between two real processes: share, map
 * (batch), read and write both ways, read-only grants fault on write, maps
 * of what was not granted to us fail per element, grant copy, end access
 * while mapped (EBUSY) and after; event channels: bind (not offered: EPERM,
 * no such port: ENOENT, twice: EBUSY), pending at bind, notify both ways,
 * close seen by the peer.
 */
#include "posix-common.h"

#include <setjmp.h>
#include <sys/mman.h>

struct shm { /* in the page pt_run_pair() shares */
	uint32_t f_domid, b_domid;
	uint32_t stage_f, stage_b;
	sdrv_grant_ref_t rw[2], ro, other;
	uint32_t port_f, port_x;
};

static void frontend(struct pt_env *e, void *arg)
{
	struct shm *s = arg;
	struct sdrv_xport *x = pt_open(e, 0, SDRV_DOMID_ANY, 64);
	sdrv_grant_ref_t rw[2], ro, other;
	unsigned char *pages, *rop, *op;
	sdrv_evtchn_port_t port_f, port_x, p;
	sdrv_domid_t be;
	uint64_t end;
	int r;

	CHECK(x != NULL);
	CHECK(sdrv_xport_domid(x) != SDRV_DOMID_PRIVILEGED);
	s->f_domid = sdrv_xport_domid(x);
	pt_set_flag(&s->stage_f, 1);
	pt_wait_flag(&s->stage_b, 1, "backend domid");
	be = (sdrv_domid_t)s->b_domid;

	pages = sdrv_gnt_share(x, be, 2, true, rw);
	CHECK(pages != NULL);
	for (int i = 0; i < 8192; i++)
		CHECK(pages[i] == 0); /* fresh pages are zeroed */
	memset(pages, 'F', 4096);
	for (int i = 0; i < 4096; i++)
		pages[4096 + i] = (unsigned char)i;
	rop = sdrv_gnt_share(x, be, 1, false, &ro);
	CHECK(rop != NULL);
	memset(rop, 'R', 4096);
	op = sdrv_gnt_share(x, 999, 1, true, &other);
	CHECK(op != NULL);
	CHECK(sdrv_evtchn_alloc_unbound(x, be, &port_f) == 0);
	CHECK(sdrv_evtchn_alloc_unbound(x, 999, &port_x) == 0);
	CHECK(port_f != port_x);
	s->rw[0] = rw[0];
	s->rw[1] = rw[1];
	s->ro = ro;
	s->other = other;
	s->port_f = port_f;
	s->port_x = port_x;
	pt_set_flag(&s->stage_f, 2);

	/* The backend bound our port (pending at once) and wrote to the pages. */
	pt_wait_flag(&s->stage_b, 3, "backend mapped and wrote");
	p = pt_wait_port(x, NULL);
	CHECK(p == port_f);
	CHECK(sdrv_evtchn_eoi(x, p, 0) == 0);
	for (int i = 100; i < 200; i++)
		CHECK(pages[i] == 'B');
	CHECK(pages[99] == 'F' && pages[200] == 'F');
	CHECK(pages[4096 + 4000] == 0xAB); /* the backend's grant copy */
	/* Mapped: ending access must fail, and unshare frees nothing. */
	CHECK(sdrv_gnt_end(x, rw[0]) == -EBUSY);
	CHECK(sdrv_gnt_unshare(x, pages, 2) == -EBUSY);
	CHECK(sdrv_gnt_end(x, 3) == -EINVAL);	   /* reserved */
	CHECK(sdrv_gnt_end(x, 100000) == -EINVAL); /* out of range */
	pt_set_flag(&s->stage_f, 3);

	pt_wait_flag(&s->stage_b, 4, "backend unmapped");
	CHECK(sdrv_gnt_end(x, rw[0]) == 0);
	CHECK(sdrv_gnt_end(x, rw[0]) == -EINVAL); /* already ended */
	CHECK(sdrv_gnt_unshare(x, pages, 2) == 0);
	CHECK(sdrv_gnt_unshare(x, rop, 1) == 0);
	CHECK(sdrv_gnt_unshare(x, op, 1) == 0);
	CHECK(sdrv_gnt_unshare(x, op, 1) == -EINVAL); /* already free */

	pt_wait_flag(&s->stage_b, 5, "backend waits for a notification");
	CHECK(sdrv_evtchn_notify(x, port_f) == 0);

	/* The backend closes its end: ours reports -ENOTCONN. */
	pt_wait_flag(&s->stage_b, 6, "backend closed its port");
	end = tu_now_ns() + 60ull * 1000000000ull;
	for (;;) {
		struct sdrv_xport_event ev[2];

		CHECK(sdrv_xport_process(x, ev, 2) >= 0);
		r = sdrv_evtchn_notify(x, port_f);
		if (r == -ENOTCONN)
			break;
		CHECK(r == 0);
		CHECK(tu_now_ns() < end);
		usleep(2000);
	}
	CHECK(sdrv_evtchn_close(x, port_f) == 0);
	CHECK(sdrv_evtchn_close(x, port_x) == 0);
	CHECK(sdrv_evtchn_close(x, port_x) < 0);
	pt_set_flag(&s->stage_f, 4);
	sdrv_xport_close(x);
}

/* Mappings of this process (lines of /proc/self/maps). */
static size_t count_vmas(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	size_t n = 0;
	int c;

	CHECK(f != NULL);
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static void on_segv(int sig)
{
	(void)sig;
	_exit(42);
}

/* A write through a read-only mapping faults (checked in a child). */
static void expect_write_faults(volatile unsigned char *p)
{
	pid_t pid = fork();

	CHECK(pid >= 0);
	if (pid == 0) {
		signal(SIGSEGV, on_segv);
		signal(SIGBUS, on_segv);
		p[10] = 'X';
		_exit(0);
	}
	CHECK(tu_wait_child(pid) == 42);
}

static void backend(struct pt_env *e, void *arg)
{
	struct shm *s = arg;
	struct sdrv_xport *x = pt_open(e, 0, SDRV_DOMID_ANY, 16);
	unsigned char *m, *rom, buf[64];
	sdrv_grant_ref_t refs[2];
	sdrv_evtchn_port_t bport, p;
	sdrv_domid_t fe;
	int st[2];
	const char *store;

	CHECK(x != NULL);
	CHECK(sdrv_xport_caps(x) == (SDRV_XPORT_CAP_COPY | SDRV_XPORT_CAP_READONLY |
				     SDRV_XPORT_CAP_MAP_BATCH | SDRV_XPORT_CAP_PEER_DEATH));
	store = sdrv_xport_store_address(x);
	CHECK(store && strcmp(store, "/tmp/sdrv-test-store.sock") == 0);
	s->b_domid = sdrv_xport_domid(x);
	pt_set_flag(&s->stage_b, 1);
	pt_wait_flag(&s->stage_f, 2, "frontend shared");
	fe = (sdrv_domid_t)s->f_domid;
	CHECK(fe != s->b_domid);

	/* Batch map of two writable grants: contiguous here. */
	refs[0] = s->rw[0];
	refs[1] = s->rw[1];
	m = sdrv_gnt_map(x, fe, 2, refs, true, st);
	CHECK(m != NULL);
	CHECK(st[0] == 0 && st[1] == 0);
	CHECK(m[0] == 'F' && m[4095] == 'F');
	for (int i = 0; i < 4096; i++)
		CHECK(m[4096 + i] == (unsigned char)i);
	memset(m + 100, 'B', 100);

	/* After set-up a map is pin plus pointer arithmetic into one view of
	 * the granter's pool: no new mapping of the process appears. Refs out
	 * of frame order, and a second map of a page already mapped, get a
	 * mapping of their own, and every one shows the same pages. */
	{
		unsigned char *one, *again, *rev;
		size_t vmas = count_vmas();

		one = sdrv_gnt_map(x, fe, 1, &s->rw[1], true, st);
		CHECK(one != NULL && st[0] == 0);
		CHECK(count_vmas() == vmas);
		CHECK(one[1] == 1 && one[255] == 255);
		again = sdrv_gnt_map(x, fe, 1, &s->rw[0], true, st);
		CHECK(again != NULL && again != m && st[0] == 0);
		CHECK(again[100] == 'B' && again[0] == 'F');
		again[0] = 'A';
		CHECK(m[0] == 'A');
		m[0] = 'F';
		refs[0] = s->rw[1];
		refs[1] = s->rw[0];
		rev = sdrv_gnt_map(x, fe, 2, refs, true, st);
		CHECK(rev != NULL && st[0] == 0 && st[1] == 0);
		CHECK(rev[7] == 7 && rev[4096] == 'F' && rev[4096 + 100] == 'B');
		CHECK(sdrv_gnt_unmap(x, rev, 2) == 0);
		CHECK(sdrv_gnt_unmap(x, again, 1) == 0);
		CHECK(sdrv_gnt_unmap(x, one, 1) == 0);
		CHECK(sdrv_gnt_unmap(x, one, 1) == -EINVAL);
		CHECK(m[0] == 'F' && m[4096 + 9] == 9); /* the first map is intact */
	}

	/* Many mappings at once (the transport keeps them hashed by address):
	 * each unmaps exactly once, in any order. */
	{
		unsigned char *many[40];

		for (int i = 0; i < 40; i++) {
			many[i] = sdrv_gnt_map(x, fe, 1, &s->rw[i & 1], false, st);
			CHECK(many[i] != NULL && st[0] == 0);
			CHECK(many[i][0] == ((i & 1) ? 0 : 'F'));
		}
		for (int i = 0; i < 40; i += 2)
			CHECK(sdrv_gnt_unmap(x, many[i], 1) == 0);
		for (int i = 39; i > 0; i -= 2)
			CHECK(sdrv_gnt_unmap(x, many[i], 1) == 0);
		for (int i = 0; i < 40; i++)
			CHECK(sdrv_gnt_unmap(x, many[i], 1) == -EINVAL);
	}

	/* Read-only grant: readable, a write faults, writable map refused. */
	rom = sdrv_gnt_map(x, fe, 1, &s->ro, false, st);
	CHECK(rom != NULL && st[0] == 0);
	CHECK(rom[0] == 'R' && rom[4095] == 'R');
	expect_write_faults(rom);
	errno = 0;
	CHECK(sdrv_gnt_map(x, fe, 1, &s->ro, true, st) == NULL);
	CHECK(errno == EPERM && st[0] == -EPERM);

	/* Not granted to us, reserved, out of range: per-element statuses,
	 * and the element that succeeded is undone. */
	CHECK(sdrv_gnt_map(x, fe, 1, &s->other, false, st) == NULL && st[0] == -EPERM);
	refs[0] = s->rw[0];
	refs[1] = 3;
	CHECK(sdrv_gnt_map(x, fe, 2, refs, false, st) == NULL);
	CHECK(st[0] == 0 && st[1] == -EINVAL);
	refs[1] = 1u << 30;
	CHECK(sdrv_gnt_map(x, fe, 2, refs, false, st) == NULL);
	CHECK(st[0] == 0 && st[1] == -EINVAL);
	CHECK(sdrv_gnt_map(x, 4321, 1, refs, false, st) == NULL && st[0] == -ENOENT);
	CHECK(sdrv_gnt_map(x, sdrv_xport_domid(x), 1, refs, false, st) == NULL);

	/* Grant copy. */
	{
		struct sdrv_gnt_copy_seg seg[4];
		unsigned char w[96];

		memset(seg, 0, sizeof(seg));
		memset(w, 0xAB, sizeof(w));
		seg[0] = (struct sdrv_gnt_copy_seg){.granter = fe,
						    .ref = s->ro,
						    .offset = 8,
						    .len = 16,
						    .to_grant = false,
						    .local = buf};
		seg[1] = (struct sdrv_gnt_copy_seg){.granter = fe,
						    .ref = s->ro,
						    .offset = 0,
						    .len = 4,
						    .to_grant = true,
						    .local = w};
		seg[2] = (struct sdrv_gnt_copy_seg){.granter = fe,
						    .ref = s->rw[1],
						    .offset = 4000,
						    .len = 96,
						    .to_grant = true,
						    .local = w};
		seg[3] = (struct sdrv_gnt_copy_seg){.granter = fe,
						    .ref = s->rw[1],
						    .offset = 4090,
						    .len = 10,
						    .to_grant = false,
						    .local = buf};
		CHECK(sdrv_gnt_copy(x, seg, 4) == -EIO);
		CHECK(seg[0].status == 0 && memcmp(buf, "RRRRRRRRRRRRRRRR", 16) == 0);
		CHECK(seg[1].status == -EPERM);
		CHECK(seg[2].status == 0);
		CHECK(seg[3].status == -EINVAL);
		CHECK(rom[0] == 'R');
		CHECK(sdrv_gnt_copy(x, seg, 1) == 0);
	}

	/* Event channels. */
	CHECK(sdrv_evtchn_bind(x, fe, s->port_x, &bport) == -EPERM);
	CHECK(sdrv_evtchn_bind(x, fe, 777, &bport) == -ENOENT);
	CHECK(sdrv_evtchn_bind(x, 4321, s->port_f, &bport) == -ENOENT);
	CHECK(sdrv_evtchn_bind(x, fe, s->port_f, &bport) == 0);
	CHECK(sdrv_evtchn_bind(x, fe, s->port_f, &p) == -EBUSY);
	/* As in Xen: pending right after binding. */
	CHECK(sdrv_evtchn_pending(x, &p) == 1 && p == bport);
	CHECK(sdrv_evtchn_unmask(x, bport) == 0);
	CHECK(sdrv_evtchn_notify(x, bport) == 0);
	pt_set_flag(&s->stage_b, 3);

	pt_wait_flag(&s->stage_f, 3, "frontend tried to end access");
	CHECK(sdrv_gnt_unmap(x, m, 2) == 0);
	CHECK(sdrv_gnt_unmap(x, m, 2) == -EINVAL);
	CHECK(sdrv_gnt_unmap(x, rom, 1) == 0);
	pt_set_flag(&s->stage_b, 4);

	pt_set_flag(&s->stage_b, 5);
	p = pt_wait_port(x, NULL);
	CHECK(p == bport);
	CHECK(sdrv_evtchn_eoi(x, p, 0) == 0);
	CHECK(sdrv_evtchn_close(x, bport) == 0);
	CHECK(sdrv_evtchn_notify(x, bport) < 0);
	pt_set_flag(&s->stage_b, 6);
	pt_wait_flag(&s->stage_f, 4, "frontend done");
	sdrv_xport_close(x);
}

_Static_assert(sizeof(struct shm) <= PT_SHM_SIZE, "shared page");

int main(void)
{
	return pt_run_pair("posix-grants", 60, NULL, 0, frontend, "posix-grants frontend", backend,
			   "posix-grants backend");
}
