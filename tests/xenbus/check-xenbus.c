/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the pure parts of the xenbus layer: the frontend and
 * backend transition tables (row by row, then a model of two sides that
 * only ever see each other's latest state, under random schedules, peer
 * restarts and removals), state parsing, strict number parsing,
 * permissions, and the device paths.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <splitdrv/xenbus.h>
#include <splitdrv/xs.h>

#include "../common/tutil.h"

#define U  SDRV_XENBUS_UNKNOWN
#define I1 SDRV_XENBUS_INITIALISING
#define IW SDRV_XENBUS_INITWAIT
#define I3 SDRV_XENBUS_INITIALISED
#define C  SDRV_XENBUS_CONNECTED
#define CG SDRV_XENBUS_CLOSING
#define CD SDRV_XENBUS_CLOSED
#define RG SDRV_XENBUS_RECONFIGURING
#define RD SDRV_XENBUS_RECONFIGURED

#define D_DIS SDRV_XENBUS_DO_DISCONNECT
#define D_PUB SDRV_XENBUS_DO_PUBLISH
#define D_CON SDRV_XENBUS_DO_CONNECT
#define D_RB  SDRV_XENBUS_DO_RECONF_BEGIN
#define D_RE  SDRV_XENBUS_DO_RECONF_END

struct row {
	enum sdrv_xenbus_state self, peer;
	bool pub, con, online;
	enum sdrv_xenbus_state next;
	unsigned int actions;
	const char *why;
};

/* The frontend's table, as Linux frontends (blkfront, netfront, pcifront,
 * xenbus_reset_state) behave, plus the reconnect rules. */
static const struct row front_rows[] = {
    {I1, I1, 0, 0, 1, I1, 0, "wait for the backend's InitWait"},
    {I1, IW, 0, 0, 1, I3, D_PUB, "publish at InitWait (blkfront talk_to_blkback)"},
    {I3, IW, 1, 0, 1, I3, 0, "published, wait for Connected"},
    {I3, C, 1, 0, 1, C, D_CON, "backend connected: connect"},
    {C, C, 1, 1, 1, C, 0, "steady"},
    {C, C, 1, 0, 1, C, D_CON, "published, connected late (netfront-like)"},
    {C, CG, 1, 1, 1, CD, D_DIS, "backend closing: close (xenbus_frontend_closed)"},
    {C, CD, 1, 1, 1, CD, D_DIS, "missed the backend's Closing"},
    {C, U, 1, 1, 1, CD, D_DIS, "backend directory gone"},
    {C, IW, 1, 1, 1, CD, D_DIS, "backend restarted (sndfront: recover)"},
    {I3, I1, 1, 0, 1, CD, D_DIS, "backend restarted before connecting"},
    {CD, CD, 0, 0, 1, I1, 0, "reconnect once the backend is Closed (reset_state)"},
    {CD, CG, 0, 0, 1, CD, 0, "not while the backend is Closing"},
    {CD, IW, 0, 0, 1, I1, 0, "a new backend waits"},
    {CD, C, 0, 0, 1, CD, 0, "wait for a stale backend to close"},
    {CD, CD, 1, 0, 1, CD, D_DIS, "drop what is still published first"},
    {I1, C, 0, 0, 1, CG, 0, "backend connected to an earlier us: reset"},
    {C, C, 0, 0, 1, CG, 0, "our own stale state: reset through Closing"},
    {I3, IW, 0, 0, 1, CG, 0, "stale Initialised: reset"},
    {CG, C, 0, 0, 1, CG, 0, "Closing: wait for the backend"},
    {CG, CG, 0, 0, 1, CD, 0, "both closing: Closed"},
    {CG, IW, 0, 0, 1, CD, 0, "backend reset meanwhile"},
    {C, RG, 1, 1, 1, RG, D_RB, "pciback asks to reconfigure: detach"},
    {RG, RD, 1, 1, 1, C, D_RE, "backend reconfigured: attach"},
    {RG, C, 1, 1, 1, RG, 0, "our request (netfront): wait"},
    {C, RD, 1, 1, 1, C, 0, "backend finishing: wait"},
    {RG, CG, 1, 1, 1, CD, D_DIS, "closed while reconfiguring"},
    {U, I1, 0, 0, 1, I1, 0, "no state yet: Initialising"},
    /* closing (not online) */
    {C, C, 1, 1, 0, CG, D_DIS, "close: disconnect, Closing"},
    {I3, IW, 1, 0, 0, CG, D_DIS, "close after publishing"},
    {I1, IW, 0, 0, 0, CD, 0, "close before publishing: Closed at once"},
    {CG, C, 0, 0, 0, CG, 0, "wait for the backend"},
    {CG, CG, 0, 0, 0, CD, 0, "backend followed"},
    {CG, U, 0, 0, 0, CD, 0, "backend gone"},
    {CD, CD, 0, 0, 0, CD, 0, "closed for good (no reconnect)"},
    {CD, IW, 0, 0, 0, CD, 0, "closed for good"},
};

/* The backend's table, as Linux backends (blkback, netback, pciback,
 * usbback) behave, plus the reset and reconnect rules. */
static const struct row back_rows[] = {
    {I1, I1, 0, 0, 1, IW, D_PUB, "probe: publish features, InitWait"},
    {I1, U, 0, 0, 1, CD, 0, "no frontend: Closed"},
    {I1, CD, 0, 0, 1, CD, 0, "frontend closed"},
    {IW, I1, 1, 0, 1, IW, 0, "wait for the frontend"},
    {IW, I3, 1, 0, 1, C, D_CON, "frontend published: connect"},
    {IW, C, 1, 0, 1, C, D_CON, "frontend went straight to Connected (netfront)"},
    {IW, CG, 1, 0, 1, CG, 0, "Closing before Connected"},
    {IW, CD, 1, 0, 1, CD, D_DIS, "frontend closed before connecting"},
    {IW, U, 1, 0, 1, CD, D_DIS, "frontend vanished (blkback: unregister)"},
    {IW, I1, 0, 0, 1, IW, D_PUB, "stale InitWait: publish again"},
    {C, I3, 1, 1, 1, C, 0, "connected; frontend not yet Connected"},
    {C, C, 1, 1, 1, C, 0, "steady"},
    {C, CG, 1, 1, 1, CG, D_DIS, "frontend closing"},
    {C, CD, 1, 1, 1, CD, D_DIS, "frontend closed"},
    {C, U, 1, 1, 1, CD, D_DIS, "frontend directory removed"},
    {C, I1, 1, 1, 1, CD, D_DIS, "frontend restarted"},
    {C, C, 0, 0, 1, CG, 0, "our own stale Connected: reset through Closing"},
    {RD, C, 1, 0, 1, CG, D_DIS, "stale and published: drop, reset"},
    {CG, C, 0, 0, 1, CG, 0, "wait for the frontend to close"},
    {CG, CD, 0, 0, 1, CD, 0, "frontend closed: Closed"},
    {CG, I1, 0, 0, 1, CD, 0, "frontend reset meanwhile"},
    {CG, C, 1, 1, 1, CG, D_DIS, "toolstack set Closing: disconnect first"},
    {CD, I1, 0, 0, 1, IW, D_PUB, "prepare for reconnect (blkback)"},
    {CD, CD, 0, 0, 1, CD, 0, "wait for a frontend"},
    {CD, C, 0, 0, 1, CD, 0, "wait for a stale frontend to see us"},
    {C, RG, 1, 1, 1, RD, D_RB, "frontend asks (netfront xdp, usbback)"},
    {RG, C, 1, 1, 1, RG, 0, "our request (pciback): wait for the frontend"},
    {RG, RG, 1, 1, 1, RD, D_RB, "frontend acknowledged: reconfigure"},
    {RD, RG, 1, 1, 1, RD, 0, "wait for the frontend to finish"},
    {RD, C, 1, 1, 1, C, D_RE, "frontend finished: Connected"},
    {RD, CG, 1, 1, 1, CG, D_DIS, "closed while reconfiguring"},
    /* the toolstack removes the device (online = 0) */
    {C, C, 1, 1, 0, CG, D_DIS, "online 0: Closing"},
    {IW, I1, 1, 0, 0, CG, D_DIS, "online 0 before connecting"},
    {CG, C, 0, 0, 0, CG, 0, "wait for the frontend"},
    {CG, CD, 0, 0, 0, CD, 0, "frontend closed: Closed for good"},
    {CG, U, 0, 0, 0, CD, 0, "frontend gone"},
    {CD, I1, 0, 0, 0, CD, 0, "no reconnect when offline"},
};

static void check_rows(const struct row *rows, size_t n, bool back)
{
	for (size_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		struct sdrv_xenbus_sm_in in = {r->self, r->peer, r->pub, r->con, r->online};
		struct sdrv_xenbus_sm_out out;
		int rc =
		    back ? sdrv_xenbus_back_step(&in, &out) : sdrv_xenbus_front_step(&in, &out);
		ck_assert_int_eq(rc, 0);
		ck_assert_msg(out.next == r->next && out.actions == r->actions,
			      "%s row %zu (%s, peer %s): got %s/%#x, want %s/%#x: %s",
			      back ? "back" : "front", i, sdrv_xenbus_state_name(r->self),
			      sdrv_xenbus_state_name(r->peer), sdrv_xenbus_state_name(out.next),
			      out.actions, sdrv_xenbus_state_name(r->next), r->actions, r->why);
	}
}

START_TEST(test_front_table)
{
	check_rows(front_rows, sizeof(front_rows) / sizeof(front_rows[0]), false);
}
END_TEST

START_TEST(test_back_table)
{
	check_rows(back_rows, sizeof(back_rows) / sizeof(back_rows[0]), true);
}
END_TEST

/* Every input is accepted, and a side left alone settles in at most 4 steps. */
START_TEST(test_settles)
{
	for (int side = 0; side < 2; side++)
		for (unsigned int s = 0; s <= 8; s++)
			for (unsigned int p = 0; p <= 8; p++)
				for (unsigned int f = 0; f < 8; f++) {
					struct sdrv_xenbus_sm_in in = {
					    (enum sdrv_xenbus_state)s, (enum sdrv_xenbus_state)p,
					    f & 1, (f & 2) != 0, (f & 4) != 0};
					int steps = 0;
					if (in.connected)
						in.published = true;
					for (;;) {
						struct sdrv_xenbus_sm_out out;
						int rc = side ? sdrv_xenbus_back_step(&in, &out)
							      : sdrv_xenbus_front_step(&in, &out);
						ck_assert_int_eq(rc, 0);
						if (out.actions == 0 && out.next == in.self)
							break;
						ck_assert_msg(++steps <= 4,
							      "%s from %u/%u/%u does not settle",
							      side ? "back" : "front", s, p, f);
						if (out.actions & SDRV_XENBUS_DO_DISCONNECT)
							in.published = in.connected = false;
						if (out.actions & SDRV_XENBUS_DO_PUBLISH)
							in.published = true;
						if (out.actions & SDRV_XENBUS_DO_CONNECT)
							in.connected = true;
						in.self = out.next;
					}
				}
	{
		struct sdrv_xenbus_sm_in bad = {(enum sdrv_xenbus_state)9, I1, 0, 0, 1};
		struct sdrv_xenbus_sm_out out;
		ck_assert_int_eq(sdrv_xenbus_front_step(&bad, &out), -EINVAL);
		bad.self = I1;
		bad.peer = (enum sdrv_xenbus_state)77;
		ck_assert_int_eq(sdrv_xenbus_back_step(&bad, &out), -EINVAL);
	}
}
END_TEST

/*
 * A model of the two sides: each writes its own state and sees the other's
 * only when it looks (the latest value: intermediate values are lost, as
 * with coalesced watches). Random schedules with faults (a side killed and
 * restarted with its state key left behind, the frontend directory removed
 * and recreated), then a fair run without faults must connect both sides
 * on the same publication, within a bounded number of rounds. Safety in
 * runs without kills: the backend connects only to a published frontend,
 * the frontend only to a backend connected to its current publication.
 * (After a kill a side may briefly act on the state key its dead peer left
 * behind, as real drivers do; the reset rules must then bring both back.)
 */
struct side {
	enum sdrv_xenbus_state st;   /* in the store */
	enum sdrv_xenbus_state view; /* what it last saw of the peer */
	bool pub, con, online;
};

struct model {
	struct side f, b;
	unsigned int fgen; /* frontend publication */
	unsigned int bgen; /* publication the backend connected to */
	unsigned int fgen_at_connect;
	bool fdir;   /* the frontend directory exists */
	bool faulty; /* a side was killed */
};

static void m_step(struct model *m, bool back)
{
	struct side *s = back ? &m->b : &m->f;
	struct side *o = back ? &m->f : &m->b;
	struct sdrv_xenbus_sm_in in = {s->st, s->view, s->pub, s->con, s->online};
	struct sdrv_xenbus_sm_out out;

	ck_assert_int_eq(
	    back ? sdrv_xenbus_back_step(&in, &out) : sdrv_xenbus_front_step(&in, &out), 0);
	if (out.actions & SDRV_XENBUS_DO_DISCONNECT)
		s->pub = s->con = false;
	if (out.actions & SDRV_XENBUS_DO_PUBLISH) {
		s->pub = true;
		if (!back)
			m->fgen++;
	}
	if (out.actions & SDRV_XENBUS_DO_CONNECT) {
		if (back) {
			ck_assert_msg(o->pub || m->faulty,
				      "backend connected to an unpublished frontend");
			m->bgen = m->fgen;
		} else {
			ck_assert_msg((o->con && m->bgen == m->fgen) || m->faulty,
				      "frontend connected to a backend that is not connected "
				      "to its publication");
			m->fgen_at_connect = m->fgen;
		}
		s->con = true;
	}
	if (!back && !m->fdir)
		return; /* never resurrect a removed directory */
	s->st = out.next;
}

static void m_look(struct model *m, bool back)
{
	if (back)
		m->b.view = m->fdir ? m->f.st : U;
	else
		m->f.view = m->b.st;
}

static bool side_eq(const struct side *a, const struct side *b)
{
	return a->st == b->st && a->view == b->view && a->pub == b->pub && a->con == b->con &&
	       a->online == b->online;
}

/* Look and step until neither side changes; return the rounds it took. */
static int m_settle(struct model *m)
{
	for (int round = 1; round <= 40; round++) {
		struct model before = *m;
		m_look(m, false);
		m_step(m, false);
		m_look(m, true);
		m_step(m, true);
		if (side_eq(&before.f, &m->f) && side_eq(&before.b, &m->b) &&
		    before.fgen == m->fgen && before.bgen == m->bgen)
			return round;
	}
	return -1;
}

START_TEST(test_model_random)
{
	uint64_t seed = 0x5eed0001 + (uint64_t)_i;
	unsigned int iters = (unsigned int)tu_scaled(3000, 200);

	for (unsigned int it = 0; it < iters; it++) {
		struct model m = {.f = {I1, U, 0, 0, 1}, .b = {I1, U, 0, 0, 1}, .fdir = true};
		unsigned int len = 1 + (unsigned int)(tu_rand(&seed) % 60);
		bool no_faults = it % 2 == 0;
		int rounds;

		/* Optionally start from states a dead earlier pair left behind. */
		if (tu_rand(&seed) % 3 == 0) {
			m.f.st = (enum sdrv_xenbus_state)(tu_rand(&seed) % 9);
			m.b.st = (enum sdrv_xenbus_state)(tu_rand(&seed) % 9);
			m.faulty = true;
		}
		for (unsigned int k = 0; k < len; k++) {
			switch (tu_rand(&seed) % 12) {
			case 0:
			case 1:
				m_look(&m, false);
				break;
			case 2:
			case 3:
				m_look(&m, true);
				break;
			case 4:
			case 5:
			case 6:
				m_step(&m, false);
				break;
			case 7:
			case 8:
			case 9:
				m_step(&m, true);
				break;
			case 10: /* backend killed and restarted */
				if (no_faults)
					break;
				m.faulty = true;
				m.b.pub = m.b.con = false;
				m.b.view = U;
				break;
			case 11: /* frontend killed and restarted, or its directory
				  * removed and recreated by the toolstack */
				if (no_faults)
					break;
				m.faulty = true;
				m.f.pub = m.f.con = false;
				m.f.view = U;
				if (tu_rand(&seed) & 1) {
					m.fdir = false;
					m_look(&m, true);
					m_step(&m, true);
					m.fdir = true;
					m.f.st = I1;
				}
				break;
			}
		}
		rounds = m_settle(&m);
		ck_assert_msg(rounds > 0, "iteration %u does not settle", it);
		ck_assert_msg(m.f.st == C && m.b.st == C && m.f.con && m.b.con &&
				  m.bgen == m.fgen && m.fgen_at_connect == m.fgen,
			      "iteration %u settled in %s/%s (con %d/%d)", it,
			      sdrv_xenbus_state_name(m.f.st), sdrv_xenbus_state_name(m.b.st),
			      m.f.con, m.b.con);
		ck_assert_msg(rounds <= 12, "iteration %u took %d rounds", it, rounds);

		/* Then a close from a random side must end both down. */
		if (tu_rand(&seed) & 1) {
			m.f.online = false; /* frontend closes */
			ck_assert_int_gt(m_settle(&m), 0);
			ck_assert(m.f.st == CD && !m.f.pub && !m.f.con);
			ck_assert(m.b.st == CD && !m.b.con);
		} else {
			m.b.online = false; /* toolstack: online = 0 */
			ck_assert_int_gt(m_settle(&m), 0);
			ck_assert(m.b.st == CD && !m.b.pub && !m.b.con);
			ck_assert(!m.f.con && !m.f.pub);
		}
	}
}
END_TEST

/* Pci-style and netfront-style reconfiguration both come back to Connected. */
START_TEST(test_model_reconfigure)
{
	for (int who = 0; who < 2; who++) {
		struct model m = {.f = {I1, U, 0, 0, 1}, .b = {I1, U, 0, 0, 1}, .fdir = true};
		ck_assert_int_gt(m_settle(&m), 0);
		ck_assert(m.f.st == C && m.b.st == C);
		if (who)
			m.b.st = RG; /* pciback */
		else
			m.f.st = RG; /* netfront */
		ck_assert_int_gt(m_settle(&m), 0);
		ck_assert(m.f.st == C && m.b.st == C && m.f.con && m.b.con);
	}
}
END_TEST

START_TEST(test_state_parse)
{
	ck_assert_int_eq(sdrv_xenbus_state_parse("4", 1), C);
	ck_assert_int_eq(sdrv_xenbus_state_parse("0", 1), U);
	ck_assert_int_eq(sdrv_xenbus_state_parse("8", 1), RD);
	ck_assert_int_eq(sdrv_xenbus_state_parse("006", 3), CD);
	ck_assert_int_eq(sdrv_xenbus_state_parse("9", 1), U);
	ck_assert_int_eq(sdrv_xenbus_state_parse("44", 2), U);
	ck_assert_int_eq(sdrv_xenbus_state_parse("4 ", 2), U);
	ck_assert_int_eq(sdrv_xenbus_state_parse("4\0", 2), U);
	ck_assert_int_eq(sdrv_xenbus_state_parse("-4", 2), U);
	ck_assert_int_eq(sdrv_xenbus_state_parse("", 0), U);
	ck_assert_int_eq(sdrv_xenbus_state_parse(NULL, 3), U);
	ck_assert_str_eq(sdrv_xenbus_state_name(IW), "InitWait");
	ck_assert_str_eq(sdrv_xenbus_state_name(RD), "Reconfigured");
	ck_assert_str_eq(sdrv_xenbus_state_name((enum sdrv_xenbus_state)42), "Invalid");
}
END_TEST

START_TEST(test_parse_uint)
{
	uint64_t v = 7;

	ck_assert_int_eq(sdrv_xs_parse_uint("0", 1, 10, &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(sdrv_xs_parse_uint("0042", 4, 100, &v), 0);
	ck_assert_uint_eq(v, 42);
	ck_assert_int_eq(sdrv_xs_parse_uint("18446744073709551615", 20, UINT64_MAX, &v), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
	v = 7;
	ck_assert_int_eq(sdrv_xs_parse_uint("18446744073709551616", 20, UINT64_MAX, &v), -ERANGE);
	ck_assert_int_eq(sdrv_xs_parse_uint("99999999999999999999999", 23, UINT64_MAX, &v),
			 -ERANGE);
	ck_assert_int_eq(sdrv_xs_parse_uint("4294967296", 10, UINT32_MAX, &v), -ERANGE);
	ck_assert_int_eq(sdrv_xs_parse_uint("11", 2, 10, &v), -ERANGE);
	ck_assert_uint_eq(v, 7); /* untouched on error */
	ck_assert_int_eq(sdrv_xs_parse_uint("", 0, 10, &v), -EINVAL);
	ck_assert_int_eq(sdrv_xs_parse_uint("-1", 2, 10, &v), -EINVAL);
	ck_assert_int_eq(sdrv_xs_parse_uint("+1", 2, 10, &v), -EINVAL);
	ck_assert_int_eq(sdrv_xs_parse_uint(" 1", 2, 10, &v), -EINVAL);
	ck_assert_int_eq(sdrv_xs_parse_uint("1 ", 2, 10, &v), -EINVAL);
	ck_assert_int_eq(sdrv_xs_parse_uint("0x10", 4, 100, &v), -EINVAL);
	ck_assert_int_eq(sdrv_xs_parse_uint("1\n", 2, 10, &v), -EINVAL);
	ck_assert_int_eq(sdrv_xs_parse_uint("1\0", 2, 10, &v), -EINVAL);
	ck_assert_int_eq(sdrv_xs_parse_uint("1e3", 3, 10000, &v), -EINVAL);
	/* garbage wins over overflow */
	ck_assert_int_eq(sdrv_xs_parse_uint("99999999999999999999999x", 24, UINT64_MAX, &v),
			 -EINVAL);
	ck_assert_uint_eq(v, 7);
}
END_TEST

START_TEST(test_perms)
{
	struct sdrv_xs_perm p;
	char buf[16];

	ck_assert_int_eq(sdrv_xs_perm_parse("b7", &p), 0);
	ck_assert_int_eq(p.domid, 7);
	ck_assert_int_eq(p.access, SDRV_XS_PERM_BOTH);
	ck_assert_int_eq(sdrv_xs_perm_parse("n0", &p), 0);
	ck_assert_int_eq(p.access, SDRV_XS_PERM_NONE);
	ck_assert_int_eq(sdrv_xs_perm_parse("r65535", &p), 0);
	ck_assert_int_eq(p.domid, 65535);
	ck_assert_int_eq(sdrv_xs_perm_parse("w65536", &p), -EINVAL);
	ck_assert_int_eq(sdrv_xs_perm_parse("x1", &p), -EINVAL);
	ck_assert_int_eq(sdrv_xs_perm_parse("r", &p), -EINVAL);
	ck_assert_int_eq(sdrv_xs_perm_parse("r1 ", &p), -EINVAL);
	ck_assert_int_eq(sdrv_xs_perm_parse("", &p), -EINVAL);
	ck_assert_int_eq(sdrv_xs_perm_parse("R1", &p), -EINVAL);
	p.domid = 12;
	p.access = SDRV_XS_PERM_WRITE;
	ck_assert_int_eq(sdrv_xs_perm_format(&p, buf, sizeof(buf)), 3);
	ck_assert_str_eq(buf, "w12");
	ck_assert_int_eq(sdrv_xs_perm_format(&p, buf, 3), -ENOSPC);
	p.access = (enum sdrv_xs_perm_access)4;
	ck_assert_int_eq(sdrv_xs_perm_format(&p, buf, sizeof(buf)), -EINVAL);
}
END_TEST

START_TEST(test_paths)
{
	char buf[SDRV_XENBUS_PATH_MAX];

	ck_assert_int_gt(sdrv_xenbus_front_path(buf, sizeof(buf), 3, "vif", 0), 0);
	ck_assert_str_eq(buf, "/local/domain/3/device/vif/0");
	ck_assert_int_gt(sdrv_xenbus_back_path(buf, sizeof(buf), 0, "qdisk", 3, 51712), 0);
	ck_assert_str_eq(buf, "/local/domain/0/backend/qdisk/3/51712");
	ck_assert_int_eq(sdrv_xenbus_front_path(buf, 10, 3, "vif", 0), -ENAMETOOLONG);
	ck_assert_int_eq(sdrv_xenbus_front_path(buf, sizeof(buf), 3, "../x", 0), -EINVAL);
	ck_assert_int_eq(sdrv_xenbus_front_path(buf, sizeof(buf), 3, "", 0), -EINVAL);
	ck_assert_int_eq(sdrv_xenbus_front_path(buf, sizeof(buf), 3, "a/b", 0), -EINVAL);
	ck_assert(sdrv_xenbus_type_valid("vbd"));
	ck_assert(sdrv_xenbus_type_valid("9pfs"));
	ck_assert(sdrv_xenbus_type_valid("virtio_disk-2"));
	ck_assert(!sdrv_xenbus_type_valid("x y"));
	ck_assert(!sdrv_xenbus_type_valid(".."));
	ck_assert(!sdrv_xenbus_type_valid("0123456789012345678901234567890123"));
	ck_assert(!sdrv_xenbus_type_valid(NULL));

	ck_assert_int_eq(sdrv_xenbus_check_back_path("/local/domain/0/backend/vif/3/0", 0, 3, 0),
			 0);
	ck_assert_int_eq(
	    sdrv_xenbus_check_back_path("/local/domain/0/backend/qdisk/3/51712", 0, 3, 51712), 0);
	/* wrong backend domain, frontend, id; outside; traversal; junk */
	ck_assert_int_eq(sdrv_xenbus_check_back_path("/local/domain/1/backend/vif/3/0", 0, 3, 0),
			 -EINVAL);
	ck_assert_int_eq(sdrv_xenbus_check_back_path("/local/domain/0/backend/vif/4/0", 0, 3, 0),
			 -EINVAL);
	ck_assert_int_eq(sdrv_xenbus_check_back_path("/local/domain/0/backend/vif/3/1", 0, 3, 0),
			 -EINVAL);
	ck_assert_int_eq(sdrv_xenbus_check_back_path("/local/domain/0/backend/vif/3/01", 0, 3, 1),
			 -EINVAL);
	ck_assert_int_eq(sdrv_xenbus_check_back_path("/local/domain/0/backend/vif/3/0/", 0, 3, 0),
			 -EINVAL);
	ck_assert_int_eq(sdrv_xenbus_check_back_path("/local/domain/0/backend/../../3/0", 0, 3, 0),
			 -EINVAL);
	ck_assert_int_eq(sdrv_xenbus_check_back_path("/local/domain/0/backend/a/b/3/0", 0, 3, 0),
			 -EINVAL);
	ck_assert_int_eq(sdrv_xenbus_check_back_path("/local/domain/0/backend//3/0", 0, 3, 0),
			 -EINVAL);
	ck_assert_int_eq(sdrv_xenbus_check_back_path("/tool/xenstored/3/0", 0, 3, 0), -EINVAL);
	ck_assert_int_eq(sdrv_xenbus_check_back_path("/local/domain/0/backend/vif/3/0x", 0, 3, 0),
			 -EINVAL);
	ck_assert_int_eq(sdrv_xenbus_check_back_path("", 0, 3, 0), -EINVAL);
	ck_assert_int_eq(sdrv_xenbus_check_back_path(NULL, 0, 3, 0), -EINVAL);

	ck_assert_int_eq(sdrv_xenbus_check_front_path("/local/domain/3/device/vif/0", 3, 0), 0);
	ck_assert_int_eq(sdrv_xenbus_check_front_path("/local/domain/4/device/vif/0", 3, 0),
			 -EINVAL);
	ck_assert_int_eq(sdrv_xenbus_check_front_path("/local/domain/3/device/vif/0/x", 3, 0),
			 -EINVAL);
	ck_assert_int_eq(sdrv_xenbus_check_front_path("/local/domain/3/backend/vif/0", 3, 0),
			 -EINVAL);
	ck_assert_int_eq(sdrv_xenbus_check_front_path("/local/domain/3/device/../0", 3, 0),
			 -EINVAL);

	ck_assert_int_gt(sdrv_xenbus_queue_dir(buf, sizeof(buf), "/d", 1, 0), 0);
	ck_assert_str_eq(buf, "/d");
	ck_assert_int_gt(sdrv_xenbus_queue_dir(buf, sizeof(buf), "/d", 4, 3), 0);
	ck_assert_str_eq(buf, "/d/queue-3");
	ck_assert_int_eq(sdrv_xenbus_queue_dir(buf, sizeof(buf), "/d", 4, 4), -EINVAL);
	ck_assert_int_eq(sdrv_xenbus_queue_dir(buf, sizeof(buf), "/d", 0, 0), -EINVAL);
}
END_TEST

static Suite *xenbus_suite(void)
{
	Suite *s = suite_create("xenbus");
	TCase *tc = tcase_create("tables");

	tcase_add_test(tc, test_front_table);
	tcase_add_test(tc, test_back_table);
	tcase_add_test(tc, test_settles);
	tcase_add_loop_test(tc, test_model_random, 0, 4);
	tcase_add_test(tc, test_model_reconfigure);
	suite_add_tcase(s, tc);
	tc = tcase_create("parsing");
	tcase_add_test(tc, test_state_parse);
	tcase_add_test(tc, test_parse_uint);
	tcase_add_test(tc, test_perms);
	tcase_add_test(tc, test_paths);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(xenbus_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? TU_FAIL : TU_PASS;
}
