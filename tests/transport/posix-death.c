/* SPDX-License-Identifier: MIT */
/*
 * Peer death: a granter SIGKILLed while its peer maps its pages, and a
 * mapper SIGKILLed while it maps. The survivor gets PEER_DIED promptly, its
 * mapping still reads (sealed pool: no SIGBUS), its channel reports
 * -ENOTCONN, nothing leaks (descriptors), the broker reclaims the dead
 * domain, and a granter can end access to pages the dead mapper had mapped.
 */
#include "posix-common.h"

#define NPAGES 4

struct shm {
	uint32_t g_domid, m_domid;
	uint32_t stage_g, stage_m;
	sdrv_grant_ref_t refs[NPAGES];
	uint32_t port;
};

static void fill(unsigned char *p, uint32_t seed)
{
	for (uint32_t i = 0; i < NPAGES * 4096; i++)
		p[i] = (unsigned char)(i * 7 + seed);
}

static int check_fill(const unsigned char *p, uint32_t seed)
{
	for (uint32_t i = 0; i < NPAGES * 4096; i++)
		if (p[i] != (unsigned char)(i * 7 + seed))
			return 0;
	return 1;
}

/* Wait for PEER_DIED about `domid`; returns the milliseconds it took. */
static uint64_t wait_died(struct sdrv_xport *x, sdrv_domid_t domid)
{
	uint64_t t0 = tu_now_ns(),
		 end = t0 + (tu_under_valgrind() ? 300ull : 10ull) * 1000000000ull;

	for (;;) {
		struct sdrv_xport_event ev[4];
		int n = sdrv_xport_process(x, ev, 4);

		CHECK(n >= 0);
		for (int i = 0; i < n; i++)
			if (ev[i].type == SDRV_XPORT_EV_PEER_DIED && ev[i].domid == domid)
				return (tu_now_ns() - t0) / 1000000u;
		CHECK(tu_now_ns() < end);
		/* The broker's news arrives on its socket: the wait wakes for
		 * it (no short timeout to hide a wait that does not; the
		 * callers check how long it took). */
		n = sdrv_xport_wait(x, (int)((end - tu_now_ns()) / 1000000u) + 1);
		CHECK(n >= 0 || n == -EINTR);
	}
}

/* Phase 1: the granter dies. */
static void granter_sleeps(struct pt_env *e, void *arg)
{
	struct shm *s = arg;
	struct sdrv_xport *x = pt_open(e, 0, SDRV_DOMID_ANY, 32);
	sdrv_evtchn_port_t port;
	unsigned char *p;

	CHECK(x != NULL);
	s->g_domid = sdrv_xport_domid(x);
	pt_set_flag(&s->stage_g, 1);
	pt_wait_flag(&s->stage_m, 1, "mapper domid");
	p = sdrv_gnt_share(x, (sdrv_domid_t)s->m_domid, NPAGES, true, s->refs);
	CHECK(p != NULL);
	fill(p, 1);
	CHECK(sdrv_evtchn_alloc_unbound(x, (sdrv_domid_t)s->m_domid, &port) == 0);
	s->port = port;
	pt_set_flag(&s->stage_g, 2);
	for (;;)
		pause(); /* until SIGKILL */
}

static void survivor_maps(struct pt_env *e, void *arg)
{
	struct shm *s = arg;
	struct sdrv_xport *x = pt_open(e, 0, SDRV_DOMID_ANY, 8);
	sdrv_evtchn_port_t port, p;
	unsigned char *m;
	int st[NPAGES], fds0;
	uint64_t ms;

	CHECK(x != NULL);
	fds0 = pt_count_fds();
	s->m_domid = sdrv_xport_domid(x);
	pt_set_flag(&s->stage_m, 1);
	pt_wait_flag(&s->stage_g, 2, "granter shared");
	m = sdrv_gnt_map(x, (sdrv_domid_t)s->g_domid, NPAGES, s->refs, true, st);
	CHECK(m != NULL);
	CHECK(check_fill(m, 1));
	CHECK(sdrv_evtchn_bind(x, (sdrv_domid_t)s->g_domid, s->port, &port) == 0);
	CHECK(sdrv_evtchn_pending(x, &p) == 1 && p == port);
	CHECK(sdrv_evtchn_unmask(x, port) == 0);
	pt_set_flag(&s->stage_m, 2); /* the parent kills the granter now */

	ms = wait_died(x, (sdrv_domid_t)s->g_domid);
	CHECK(ms < (tu_under_valgrind() ? 60000u : 5000u));
	/* The mapping survives its granter. */
	CHECK(check_fill(m, 1));
	memset(m, 0x5A, 4096);
	CHECK(sdrv_evtchn_notify(x, port) == -ENOTCONN);
	/* No new mappings of the dead domain. */
	errno = 0;
	CHECK(sdrv_gnt_map(x, (sdrv_domid_t)s->g_domid, 1, s->refs, false, st) == NULL);
	CHECK(st[0] == -ENOENT);
	CHECK(sdrv_gnt_unmap(x, m, NPAGES) == 0);
	CHECK(sdrv_evtchn_close(x, port) == 0);
	CHECK(pt_count_fds() == fds0);
	printf("granter death seen after %llu ms; survivor has no leaked descriptor\n",
	       (unsigned long long)ms);
	pt_set_flag(&s->stage_m, 3);
	sdrv_xport_close(x);
}

/* Phase 2: the mapper dies. */
static void granter_survives(struct pt_env *e, void *arg)
{
	struct shm *s = arg;
	struct sdrv_xport *x = pt_open(e, 0, SDRV_DOMID_ANY, 32);
	unsigned char *p;

	CHECK(x != NULL);
	s->g_domid = sdrv_xport_domid(x);
	pt_set_flag(&s->stage_g, 1);
	pt_wait_flag(&s->stage_m, 1, "mapper domid");
	p = sdrv_gnt_share(x, (sdrv_domid_t)s->m_domid, NPAGES, true, s->refs);
	CHECK(p != NULL);
	fill(p, 2);
	pt_set_flag(&s->stage_g, 2);
	pt_wait_flag(&s->stage_m, 2, "mapper mapped");
	CHECK(sdrv_gnt_end(x, s->refs[0]) == -EBUSY);
	pt_set_flag(&s->stage_g, 3);
	(void)wait_died(x, (sdrv_domid_t)s->m_domid);
	/* The broker cleared the dead mapper's pins: access can end. */
	for (int i = 0; i < NPAGES; i++)
		CHECK(sdrv_gnt_end(x, s->refs[i]) == 0);
	CHECK(check_fill(p, 2) == 0 && p[0] == 0xA5);
	CHECK(sdrv_gnt_unshare(x, p, NPAGES) == 0);
	sdrv_xport_close(x);
}

static void mapper_sleeps(struct pt_env *e, void *arg)
{
	struct shm *s = arg;
	struct sdrv_xport *x = pt_open(e, 0, SDRV_DOMID_ANY, 8);
	unsigned char *m;
	int st[NPAGES];

	CHECK(x != NULL);
	s->m_domid = sdrv_xport_domid(x);
	pt_set_flag(&s->stage_m, 1);
	pt_wait_flag(&s->stage_g, 2, "granter shared");
	m = sdrv_gnt_map(x, (sdrv_domid_t)s->g_domid, NPAGES, s->refs, true, st);
	CHECK(m != NULL);
	CHECK(check_fill(m, 2));
	m[0] = 0xA5;
	pt_set_flag(&s->stage_m, 2);
	for (;;)
		pause();
}

static void run_phase(void (*victim)(struct pt_env *, void *),
		      void (*survivor)(struct pt_env *, void *), bool victim_is_granter,
		      const char *name)
{
	struct pt_env e;
	struct shm *s = tu_shared_mem(4096);
	pid_t pv, ps[1];
	uint64_t end;
	int st;

	pt_start(&e, NULL, 0);
	if (victim_is_granter) {
		pv = pt_fork(victim, &e, s, name);
		ps[0] = pt_fork(survivor, &e, s, name);
	} else {
		ps[0] = pt_fork(survivor, &e, s, name);
		pv = pt_fork(victim, &e, s, name);
	}
	end = tu_now_ns() + (tu_under_valgrind() ? 600ull : 30ull) * 1000000000ull;
	while (__atomic_load_n(victim_is_granter ? &s->stage_m : &s->stage_g, __ATOMIC_ACQUIRE) <
	       (victim_is_granter ? 2u : 3u)) {
		CHECK(sdrv_broker_run(e.b, 10) == 0);
		CHECK(tu_now_ns() < end);
	}
	CHECK(sdrv_broker_nr_domains(e.b) == 2);
	CHECK(kill(pv, SIGKILL) == 0);
	CHECK(waitpid(pv, &st, 0) == pv && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	while (sdrv_broker_nr_domains(e.b) != 1) {
		CHECK(sdrv_broker_run(e.b, 10) == 0);
		CHECK(tu_now_ns() < end);
	}
	CHECK(pt_serve_until_done(&e, ps, 1) == 0);
	pt_serve_for(&e, 20);
	CHECK(sdrv_broker_nr_domains(e.b) == 0);
	pt_stop(&e);
	tu_shared_free(s, 4096);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	tu_watchdog(60, "posix-death");
	run_phase(granter_sleeps, survivor_maps, true, "posix-death granter dies");
	run_phase(mapper_sleeps, granter_survives, false, "posix-death mapper dies");
	printf("PASS: posix-death\n");
	return TU_PASS;
}
