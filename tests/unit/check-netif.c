/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the netif codec (libsplitdrv/netif.c): transmit and receive
 * packets, the control ring, and the Toeplitz hash.
 *
 * Wire bytes are built here with the layout structures of proto/netif.h
 * (which tests/interop checks against Xen's headers), never with the
 * codec's own encoders, so a decoder test does not trust the encoder and an
 * encoder test compares with bytes built independently. Slots handed to
 * the decoders are heap blocks of exactly the slots given, so any read past
 * them is caught by ASan or valgrind.
 *
 * Slot counts follow Linux netback (xenvif_count_requests()), which counts
 * the data slots *after* the first: 18 of them (19 data slots in all) are
 * accepted, 19 or 20 drop the packet, 21 or more are fatal.
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <splitdrv/proto/netif.h>
#include <splitdrv/ring.h>

#define MAXS 64 /* slots in a test packet */

/* ------------------------- wire bytes, by hand --------------------------- */

/* Consecutive tx ring slots, as a frontend wrote them. */
struct txs {
	unsigned char b[MAXS][SDRV_NETIF_TX_ENTRY_SIZE];
	size_t n;
};

static void tx_req(struct txs *s, uint32_t gref, uint16_t off, uint16_t flags, uint16_t id,
		   uint16_t size)
{
	struct sdrv_netif_tx_request r;

	ck_assert_uint_lt(s->n, MAXS);
	memset(&r, 0, sizeof(r));
	r.gref = gref;
	r.offset = off;
	r.flags = flags;
	r.id = id;
	r.size = size;
	memcpy(s->b[s->n++], &r, sizeof(r));
}

static void put_extra(unsigned char *slot, const struct sdrv_netif_extra_info *x)
{
	memcpy(slot, x, sizeof(*x));
}

static struct sdrv_netif_extra_info ex_gso(uint16_t size, uint8_t type, uint8_t flags)
{
	struct sdrv_netif_extra_info x;

	memset(&x, 0, sizeof(x));
	x.type = SDRV_NETIF_EXTRA_TYPE_GSO;
	x.flags = flags;
	x.u.gso.size = size;
	x.u.gso.type = type;
	return x;
}

static struct sdrv_netif_extra_info ex_hash(uint8_t htype, uint32_t value, uint8_t flags)
{
	struct sdrv_netif_extra_info x;

	memset(&x, 0, sizeof(x));
	x.type = SDRV_NETIF_EXTRA_TYPE_HASH;
	x.flags = flags;
	x.u.hash.type = htype;
	x.u.hash.algorithm = SDRV_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ;
	x.u.hash.value[0] = (uint8_t)value;
	x.u.hash.value[1] = (uint8_t)(value >> 8);
	x.u.hash.value[2] = (uint8_t)(value >> 16);
	x.u.hash.value[3] = (uint8_t)(value >> 24);
	return x;
}

static struct sdrv_netif_extra_info ex_mcast(uint8_t type, uint8_t last, uint8_t flags)
{
	struct sdrv_netif_extra_info x;

	memset(&x, 0, sizeof(x));
	x.type = type;
	x.flags = flags;
	x.u.mcast.addr[0] = 0x01;
	x.u.mcast.addr[1] = 0x00;
	x.u.mcast.addr[2] = 0x5e;
	x.u.mcast.addr[5] = last;
	return x;
}

static struct sdrv_netif_extra_info ex_raw(uint8_t type, uint8_t flags)
{
	struct sdrv_netif_extra_info x;

	memset(&x, 0xEE, sizeof(x));
	x.type = type;
	x.flags = flags;
	return x;
}

static void tx_extra(struct txs *s, struct sdrv_netif_extra_info x)
{
	ck_assert_uint_lt(s->n, MAXS);
	memset(s->b[s->n], 0xEE, SDRV_NETIF_TX_ENTRY_SIZE); /* the padding for tx */
	put_extra(s->b[s->n++], &x);
}

/* Decode the first `n` slots of `s` from an exact-size private copy. */
static int tx_decode_n(const struct txs *s, size_t n, const struct sdrv_netif_tx_limits *lim,
		       struct sdrv_netif_tx_pkt *pkt)
{
	size_t bytes = n * SDRV_NETIF_TX_ENTRY_SIZE;
	unsigned char *copy = malloc(bytes ? bytes : 1);
	int rc;

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, s->b, bytes);
	rc = sdrv_netif_tx_decode(copy, n, lim, pkt);
	free(copy);
	return rc;
}

static int tx_decode(const struct txs *s, struct sdrv_netif_tx_pkt *pkt)
{
	return tx_decode_n(s, s->n, NULL, pkt);
}

/*
 * A packet of 1 + `follow` data slots (and `nx` extras before them: GSO,
 * then HASH), all of `each` bytes after a first slot of `first_own`.
 */
static void tx_packet(struct txs *s, unsigned follow, uint16_t first_own, uint16_t each,
		      unsigned nx)
{
	uint32_t total = first_own + (uint32_t)follow * each;
	uint16_t flags = follow ? SDRV_NETTXF_MORE_DATA : 0;

	s->n = 0;
	if (nx)
		flags |= SDRV_NETTXF_EXTRA_INFO;
	tx_req(s, 0x1000, 0, flags, 100, (uint16_t)total);
	if (nx >= 1)
		tx_extra(s, ex_gso(1448, SDRV_NETIF_GSO_TYPE_TCPV4,
				   nx > 1 ? SDRV_NETIF_EXTRA_FLAG_MORE : 0));
	if (nx >= 2)
		tx_extra(s, ex_hash(1, 0xdeadbeef, 0));
	for (unsigned i = 0; i < follow; i++)
		tx_req(s, 0x2000 + i, (uint16_t)(each <= 4096 - 8 * i ? 8 * i : 0),
		       i + 1 < follow ? SDRV_NETTXF_MORE_DATA : 0, (uint16_t)(101 + i), each);
}

static struct sdrv_netif_tx_limits tx_lim(uint32_t fatal)
{
	struct sdrv_netif_tx_limits l;

	memset(&l, 0, sizeof(l));
	l.sz = sizeof(l);
	l.fatal_slots = fatal;
	return l;
}

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* ------------------------------- transmit -------------------------------- */

START_TEST(tx_single_slot)
{
	struct txs s = {.n = 0};
	struct sdrv_netif_tx_pkt p;

	tx_req(&s, 0xabcdef01, 100, SDRV_NETTXF_CSUM_BLANK | SDRV_NETTXF_DATA_VALIDATED, 7, 60);
	ck_assert_int_eq(tx_decode(&s, &p), 0);
	ck_assert_uint_eq(p.size, 60);
	ck_assert_uint_eq(p.nr_slots, 1);
	ck_assert_uint_eq(p.nr_frags, 1);
	ck_assert_uint_eq(p.nr_extras, 0);
	ck_assert_uint_eq(p.nr_empty, 0);
	ck_assert_uint_eq(p.flags, SDRV_NETIF_PKT_CSUM_BLANK | SDRV_NETIF_PKT_DATA_VALIDATED);
	ck_assert_uint_eq(p.extras, 0);
	ck_assert_uint_eq(p.reason, SDRV_NETIF_R_NONE);
	ck_assert_uint_eq(p.frag[0].gref, 0xabcdef01);
	ck_assert_uint_eq(p.frag[0].offset, 100);
	ck_assert_uint_eq(p.frag[0].size, 60);
	ck_assert_uint_eq(p.frag[0].id, 7);
	ck_assert_uint_eq(p.frag[0].slot, 0);
	ck_assert_uint_eq(p.slot_id[0], 7);
	/* Nothing else is set. */
	ck_assert(all_zero(&p.slot_id[1], sizeof(p.slot_id) - sizeof(p.slot_id[0])));
	ck_assert(all_zero(&p.frag[1], sizeof(p.frag) - sizeof(p.frag[0])));
	ck_assert(all_zero(&p.hash, sizeof(p.hash)) && all_zero(&p.gso, sizeof(p.gso)));
	ck_assert(all_zero(p.mcast_add, 6) && all_zero(p.mcast_del, 6) && p._pad0 == 0);

	/* The checksum bits map one by one (the wire's rx bits differ). */
	s.n = 0;
	tx_req(&s, 1, 0, SDRV_NETTXF_DATA_VALIDATED, 7, 60);
	ck_assert_int_eq(tx_decode(&s, &p), 0);
	ck_assert_uint_eq(p.flags, SDRV_NETIF_PKT_DATA_VALIDATED);
	s.n = 0;
	tx_req(&s, 1, 0, 0xfff0, 7, 60); /* unknown flag bits are ignored */
	ck_assert_int_eq(tx_decode(&s, &p), 0);
	ck_assert_uint_eq(p.flags, 0);
}
END_TEST

START_TEST(tx_multi_slot_sizes)
{
	struct txs s = {.n = 0};
	struct sdrv_netif_tx_pkt p;
	uint32_t sum = 0;

	/* The first slot's size is the packet's; its own bytes are the rest. */
	tx_packet(&s, 5, 200, 1000, 2);
	ck_assert_int_eq(tx_decode(&s, &p), 0);
	ck_assert_uint_eq(p.size, 5200);
	ck_assert_uint_eq(p.nr_frags, 6);
	ck_assert_uint_eq(p.nr_extras, 2);
	ck_assert_uint_eq(p.nr_slots, 8);
	ck_assert_uint_eq(p.frag[0].size, 200);
	for (unsigned i = 0; i < p.nr_frags; i++) {
		sum += p.frag[i].size;
		ck_assert_uint_le((uint32_t)p.frag[i].offset + p.frag[i].size, 4096);
		ck_assert_uint_eq(p.frag[i].slot, i == 0 ? 0 : 2 + i);
		ck_assert_uint_eq(p.slot_id[p.frag[i].slot], p.frag[i].id);
		if (i)
			ck_assert_uint_eq(p.frag[i].gref, 0x2000 + i - 1);
	}
	ck_assert_uint_eq(sum, p.size);
	ck_assert_uint_eq(p.slot_id[1], 0); /* extras carry no id */
	ck_assert_uint_eq(p.slot_id[2], 0);
	ck_assert_uint_eq(p.extras, SDRV_NETIF_EXTRA_BIT(SDRV_NETIF_EXTRA_TYPE_GSO) |
					SDRV_NETIF_EXTRA_BIT(SDRV_NETIF_EXTRA_TYPE_HASH));
	ck_assert_uint_eq(p.gso.size, 1448);
	ck_assert_uint_eq(p.gso.type, SDRV_NETIF_GSO_TYPE_TCPV4);
	ck_assert_uint_eq(p.hash.value, 0xdeadbeef);
	ck_assert_uint_eq(p.hash.type, 1);
	ck_assert_uint_eq(p.hash.algorithm, SDRV_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ);

	/* Slots past the packet are not part of it (and not read). */
	tx_req(&s, 9, 4095, 0, 9, 9999);
	ck_assert_int_eq(tx_decode(&s, &p), 0);
	ck_assert_uint_eq(p.nr_slots, 8);
}
END_TEST

/* 17, 18, 19 data slots (16..18 after the first) are accepted; 20 and 21
 * drop the packet; 22 and more are fatal (Linux's default fatal_skb_slots). */
START_TEST(tx_slot_count_boundaries)
{
	static const struct {
		unsigned follow;
		int rc;
		unsigned reason;
	} cases[] = {
	    {0, 0, 0},
	    {16, 0, 0},
	    {17, 0, 0},
	    {18, 0, 0},
	    {19, -SDRV_EBADMSG, SDRV_NETIF_R_TOO_MANY},
	    {20, -SDRV_EBADMSG, SDRV_NETIF_R_TOO_MANY},
	    {21, -SDRV_EPROTO, SDRV_NETIF_R_MALICIOUS},
	    {40, -SDRV_EPROTO, SDRV_NETIF_R_MALICIOUS},
	};
	struct txs s;
	struct sdrv_netif_tx_pkt p;

	for (unsigned nx = 0; nx <= 2; nx++) {
		for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
			tx_packet(&s, cases[c].follow, 100, 60, nx);
			ck_assert_msg(tx_decode(&s, &p) == cases[c].rc, "%u extras, %u more slots",
				      nx, cases[c].follow);
			ck_assert_uint_eq(p.reason, cases[c].reason);
			if (cases[c].rc == 0) {
				ck_assert_uint_eq(p.nr_frags, 1 + cases[c].follow);
				ck_assert_uint_eq(p.nr_slots, 1 + nx + cases[c].follow);
			} else if (cases[c].rc == -SDRV_EBADMSG) {
				/* A drop: every slot is known, so every slot is answered. */
				ck_assert_uint_eq(p.nr_slots, 1 + nx + cases[c].follow);
				ck_assert_uint_eq(p.nr_extras, nx);
				ck_assert_uint_eq(p.nr_frags, 0);
				ck_assert_uint_eq(p.size, 0);
				ck_assert_uint_eq(p.slot_id[0], 100);
				for (unsigned i = 0; i < cases[c].follow; i++)
					ck_assert_uint_eq(p.slot_id[1 + nx + i], 101 + i);
				ck_assert(all_zero(p.frag, sizeof(p.frag)));
			} else {
				/* Fatal before reading the 21st slot after the first. */
				ck_assert_uint_eq(p.nr_slots, 1 + nx + 20);
			}
		}
	}

	/* fatal_slots at its bounds: 18 makes 19 after the first fatal, 32
	 * lets 32 after the first be a drop. */
	struct sdrv_netif_tx_limits lim = tx_lim(18);

	tx_packet(&s, 18, 100, 60, 0);
	ck_assert_int_eq(tx_decode_n(&s, s.n, &lim, &p), 0);
	tx_packet(&s, 19, 100, 60, 0);
	ck_assert_int_eq(tx_decode_n(&s, s.n, &lim, &p), -SDRV_EPROTO);
	lim = tx_lim(32);
	tx_packet(&s, 21, 100, 60, 0);
	ck_assert_int_eq(tx_decode_n(&s, s.n, &lim, &p), -SDRV_EBADMSG);
	tx_packet(&s, 32, 100, 60, 2);
	ck_assert_int_eq(tx_decode_n(&s, s.n, &lim, &p), -SDRV_EBADMSG);
	ck_assert_uint_eq(p.nr_slots, 35);
	ck_assert_uint_le(p.nr_slots, SDRV_NETIF_TX_MAX_PACKET_SLOTS);
	tx_packet(&s, 33, 100, 60, 2);
	ck_assert_int_eq(tx_decode_n(&s, s.n, &lim, &p), -SDRV_EPROTO);
	/* Tiny slots at the maximum (XSA-432's shape): a 19-slot packet
	 * smaller than any header copy is still exact. */
	tx_packet(&s, 18, 14, 1, 0);
	ck_assert_int_eq(tx_decode(&s, &p), 0);
	ck_assert_uint_eq(p.size, 32);
}
END_TEST

START_TEST(tx_page_boundaries)
{
	struct txs s;
	struct sdrv_netif_tx_pkt p;

	/* The first slot's own bytes: offset + own = 4096 fits, 4097 is fatal. */
	s.n = 0;
	tx_req(&s, 1, 4096 - 60, 0, 1, 60);
	ck_assert_int_eq(tx_decode(&s, &p), 0);
	s.n = 0;
	tx_req(&s, 1, 4096 - 59, 0, 1, 60);
	ck_assert_int_eq(tx_decode(&s, &p), -SDRV_EPROTO);
	ck_assert_uint_eq(p.reason, SDRV_NETIF_R_CROSS_PAGE);
	/* Own bytes, not the packet's size, count for the first slot. */
	s.n = 0;
	tx_req(&s, 1, 4000, SDRV_NETTXF_MORE_DATA, 1, 4192);
	tx_req(&s, 2, 0, 0, 2, 4096);
	ck_assert_int_eq(tx_decode(&s, &p), 0);
	ck_assert_uint_eq(p.frag[0].size, 96);
	s.n = 0;
	tx_req(&s, 1, 4000, SDRV_NETTXF_MORE_DATA, 1, 4192);
	tx_req(&s, 2, 0, 0, 2, 4095);
	ck_assert_int_eq(tx_decode(&s, &p), -SDRV_EPROTO);

	/* A later slot: 4096 fits, 4097 fatal; no 16-bit wrap. */
	static const struct {
		uint16_t off, size;
		int rc;
	} later[] = {
	    {0, 4096, 0},
	    {1, 4096, -SDRV_EPROTO},
	    {4095, 1, 0},
	    {4095, 2, -SDRV_EPROTO},
	    {0xffff, 1, -SDRV_EPROTO},
	    {0xffff, 0xffff, -SDRV_EPROTO},
	    {4096, 0, 0},
	    {4097, 0, -SDRV_EPROTO},
	    {0xffff, 0, -SDRV_EPROTO},
	};
	for (size_t c = 0; c < sizeof(later) / sizeof(later[0]); c++) {
		s.n = 0;
		tx_req(&s, 1, 0, SDRV_NETTXF_MORE_DATA, 1, (uint16_t)(100 + later[c].size));
		tx_req(&s, 2, later[c].off, 0, 2, later[c].size);
		ck_assert_msg(tx_decode(&s, &p) == later[c].rc, "offset %u size %u", later[c].off,
			      later[c].size);
	}

	/* Fatal even inside a packet already dropped for its slot count:
	 * Linux checks every slot it reads. */
	tx_packet(&s, 20, 100, 60, 0);
	memcpy(s.b[20] + offsetof(struct sdrv_netif_tx_request, offset), &(uint16_t){4090}, 2);
	ck_assert_int_eq(tx_decode(&s, &p), -SDRV_EPROTO);
	ck_assert_uint_eq(p.reason, SDRV_NETIF_R_CROSS_PAGE);
	/* ... and inside one dropped for a slot too large. */
	s.n = 0;
	tx_req(&s, 1, 0, SDRV_NETTXF_MORE_DATA, 1, 100);
	tx_req(&s, 2, 0, SDRV_NETTXF_MORE_DATA, 2, 200);
	tx_req(&s, 3, 4000, 0, 3, 200);
	ck_assert_int_eq(tx_decode(&s, &p), -SDRV_EPROTO);
}
END_TEST

START_TEST(tx_size_rules)
{
	struct txs s;
	struct sdrv_netif_tx_pkt p;

	/* ETH_HLEN: the first slot needs 14 bytes of its own. */
	s.n = 0;
	tx_req(&s, 1, 0, 0, 1, 13);
	ck_assert_int_eq(tx_decode(&s, &p), -SDRV_EBADMSG);
	ck_assert_uint_eq(p.reason, SDRV_NETIF_R_RUNT);
	ck_assert_uint_eq(p.nr_slots, 1);
	s.n = 0;
	tx_req(&s, 1, 0, 0, 1, 14);
	ck_assert_int_eq(tx_decode(&s, &p), 0);
	s.n = 0;
	tx_req(&s, 1, 0, 0, 1, 0);
	ck_assert_int_eq(tx_decode(&s, &p), -SDRV_EBADMSG);

	/* The other slots against the first size: own 14 is fine, 13 and 0
	 * are runts, one byte too many is a slot larger than what remains. */
	static const struct {
		uint16_t second;
		int rc;
		unsigned reason;
	} cases[] = {{86, 0, 0},
		     {87, -SDRV_EBADMSG, SDRV_NETIF_R_RUNT},
		     {100, -SDRV_EBADMSG, SDRV_NETIF_R_RUNT},
		     {101, -SDRV_EBADMSG, SDRV_NETIF_R_SLOT_SIZE},
		     {4096, -SDRV_EBADMSG, SDRV_NETIF_R_SLOT_SIZE}};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		s.n = 0;
		tx_req(&s, 1, 0, SDRV_NETTXF_MORE_DATA, 1, 100);
		tx_req(&s, 2, 0, 0, 2, cases[c].second);
		ck_assert_msg(tx_decode(&s, &p) == cases[c].rc, "second slot %u", cases[c].second);
		ck_assert_uint_eq(p.reason, cases[c].reason);
	}
	/* The sum crossing the first size in a later slot. */
	s.n = 0;
	tx_req(&s, 1, 0, SDRV_NETTXF_MORE_DATA, 1, 100);
	tx_req(&s, 2, 0, SDRV_NETTXF_MORE_DATA, 2, 60);
	tx_req(&s, 3, 0, 0, 3, 50);
	ck_assert_int_eq(tx_decode(&s, &p), -SDRV_EBADMSG);
	ck_assert_uint_eq(p.reason, SDRV_NETIF_R_SLOT_SIZE);
	ck_assert_uint_eq(p.nr_slots, 3);

	/* 0xFFFF: the largest packet, 16 slots. */
	tx_packet(&s, 15, 4095, 4096, 0);
	ck_assert_int_eq(tx_decode(&s, &p), 0);
	ck_assert_uint_eq(p.size, 0xFFFF);
	/* 0x10000: the first size wraps to 0 and the next slot is larger than
	 * what remains: dropped, not fatal (Linux: buggy frontends do this). */
	tx_packet(&s, 15, 4096, 4096, 0);
	ck_assert_int_eq(tx_decode(&s, &p), -SDRV_EBADMSG);
	ck_assert_uint_eq(p.reason, SDRV_NETIF_R_SLOT_SIZE);
	ck_assert_uint_eq(p.nr_slots, 16);
	/* Linux's order: a runt is a drop even when its first slot would cross
	 * the page, and even with a bad GSO extra. */
	s.n = 0;
	tx_req(&s, 1, 4095, SDRV_NETTXF_EXTRA_INFO, 1, 13);
	tx_extra(&s, ex_gso(0, 9, 0));
	ck_assert_int_eq(tx_decode(&s, &p), -SDRV_EBADMSG);
	ck_assert_uint_eq(p.reason, SDRV_NETIF_R_RUNT);
	ck_assert_uint_eq(p.nr_slots, 2);
	ck_assert_uint_eq(p.nr_extras, 1);
}
END_TEST

/* XSA-448: zero-length slots after the first are no-ops answered OKAY. */
START_TEST(tx_zero_length_slots)
{
	struct txs s = {.n = 0};
	struct sdrv_netif_tx_pkt p;
	struct sdrv_netif_tx_response r;

	tx_req(&s, 1, 0, SDRV_NETTXF_MORE_DATA, 1, 100);
	tx_req(&s, 0xffffffff, 4096, SDRV_NETTXF_MORE_DATA, 2, 0); /* junk grant */
	tx_req(&s, 3, 0, SDRV_NETTXF_MORE_DATA, 3, 40);
	tx_req(&s, 0, 0, 0, 4, 0);
	ck_assert_int_eq(tx_decode(&s, &p), 0);
	ck_assert_uint_eq(p.nr_frags, 4);
	ck_assert_uint_eq(p.nr_empty, 2);
	ck_assert_uint_eq(p.size, 100);
	ck_assert_uint_eq(p.frag[0].size, 60);
	ck_assert_uint_eq(p.frag[1].size, 0);
	ck_assert_uint_eq(p.frag[3].size, 0);
	/* Answered OKAY whatever the packet's fate; the others get it. */
	for (uint32_t k = 0; k < p.nr_slots; k++) {
		ck_assert_int_eq(sdrv_netif_tx_make_rsp(&p, k, SDRV_NETIF_RSP_ERROR, &r), 0);
		ck_assert_uint_eq(r.id, k + 1);
		ck_assert_int_eq(r.status,
				 (k == 1 || k == 3) ? SDRV_NETIF_RSP_OKAY : SDRV_NETIF_RSP_ERROR);
	}
	/* Every slot after the first may be empty. */
	tx_packet(&s, 18, 100, 0, 1);
	ck_assert_int_eq(tx_decode(&s, &p), 0);
	ck_assert_uint_eq(p.nr_empty, 18);
	ck_assert_uint_eq(p.nr_frags, 19);
	/* In a dropped packet they are answered ERROR like the rest. */
	tx_packet(&s, 19, 100, 0, 0);
	ck_assert_int_eq(tx_decode(&s, &p), -SDRV_EBADMSG);
	for (uint32_t k = 0; k < p.nr_slots; k++) {
		ck_assert_int_eq(sdrv_netif_tx_make_rsp(&p, k, SDRV_NETIF_RSP_ERROR, &r), 0);
		ck_assert_int_eq(r.status, SDRV_NETIF_RSP_ERROR);
	}
}
END_TEST

START_TEST(tx_extra_info_rules)
{
	struct txs s;
	struct sdrv_netif_tx_pkt p;
	const uint8_t more = SDRV_NETIF_EXTRA_FLAG_MORE;

	/* Type 0, MAX and anything above: fatal. */
	static const uint8_t bad_types[] = {0, SDRV_NETIF_EXTRA_TYPE_MAX, 6, 0x7f, 0xff};
	for (size_t i = 0; i < sizeof(bad_types); i++) {
		s.n = 0;
		tx_req(&s, 1, 0, SDRV_NETTXF_EXTRA_INFO, 1, 60);
		tx_extra(&s, ex_raw(bad_types[i], 0));
		ck_assert_int_eq(tx_decode(&s, &p), -SDRV_EPROTO);
		ck_assert_uint_eq(p.reason, SDRV_NETIF_R_EXTRA_TYPE);
		/* Also as the second of a chain. */
		s.n = 0;
		tx_req(&s, 1, 0, SDRV_NETTXF_EXTRA_INFO, 1, 60);
		tx_extra(&s, ex_gso(1000, SDRV_NETIF_GSO_TYPE_TCPV6, more));
		tx_extra(&s, ex_raw(bad_types[i], 0));
		ck_assert_int_eq(tx_decode(&s, &p), -SDRV_EPROTO);
	}
	/* A repeated type: fatal (Linux would let the later one win). */
	s.n = 0;
	tx_req(&s, 1, 0, SDRV_NETTXF_EXTRA_INFO, 1, 60);
	tx_extra(&s, ex_gso(1000, SDRV_NETIF_GSO_TYPE_TCPV4, more));
	tx_extra(&s, ex_hash(0, 5, more));
	tx_extra(&s, ex_gso(1200, SDRV_NETIF_GSO_TYPE_TCPV4, 0));
	ck_assert_int_eq(tx_decode(&s, &p), -SDRV_EPROTO);
	ck_assert_uint_eq(p.reason, SDRV_NETIF_R_EXTRA_REPEATED);
	/* So a chain is four slots at most: a fifth always repeats. */
	s.n = 0;
	tx_req(&s, 1, 0, SDRV_NETTXF_EXTRA_INFO, 1, 60);
	tx_extra(&s, ex_gso(1000, SDRV_NETIF_GSO_TYPE_TCPV4, more));
	tx_extra(&s, ex_mcast(SDRV_NETIF_EXTRA_TYPE_MCAST_ADD, 1, more));
	tx_extra(&s, ex_mcast(SDRV_NETIF_EXTRA_TYPE_MCAST_DEL, 2, more));
	tx_extra(&s, ex_hash(0, 5, more));
	tx_extra(&s, ex_hash(0, 6, 0));
	ck_assert_int_eq(tx_decode(&s, &p), -SDRV_EPROTO);
	ck_assert_uint_eq(p.nr_slots, 6);

	/* GSO: size 0 and types other than TCPv4/v6 are fatal. */
	static const struct {
		uint16_t size;
		uint8_t type;
		int rc;
		unsigned reason;
	} gso[] = {
	    {1448, SDRV_NETIF_GSO_TYPE_TCPV4, 0, 0},
	    {1, SDRV_NETIF_GSO_TYPE_TCPV6, 0, 0},
	    {0xffff, SDRV_NETIF_GSO_TYPE_TCPV6, 0, 0},
	    {0, SDRV_NETIF_GSO_TYPE_TCPV4, -SDRV_EPROTO, SDRV_NETIF_R_GSO_SIZE},
	    {1448, SDRV_NETIF_GSO_TYPE_NONE, -SDRV_EPROTO, SDRV_NETIF_R_GSO_TYPE},
	    {1448, 3, -SDRV_EPROTO, SDRV_NETIF_R_GSO_TYPE},
	    {1448, 0xff, -SDRV_EPROTO, SDRV_NETIF_R_GSO_TYPE},
	};
	for (size_t i = 0; i < sizeof(gso) / sizeof(gso[0]); i++) {
		s.n = 0;
		tx_req(&s, 1, 0, SDRV_NETTXF_EXTRA_INFO | SDRV_NETTXF_MORE_DATA, 1, 3000);
		tx_extra(&s, ex_gso(gso[i].size, gso[i].type, 0));
		tx_req(&s, 2, 0, 0, 2, 2000);
		ck_assert_int_eq(tx_decode(&s, &p), gso[i].rc);
		ck_assert_uint_eq(p.reason, gso[i].reason);
		if (gso[i].rc == 0) {
			ck_assert_uint_eq(p.gso.size, gso[i].size);
			ck_assert_uint_eq(p.gso.type, gso[i].type);
			ck_assert_uint_eq(p.nr_slots, 3);
			ck_assert_uint_eq(p.frag[1].slot, 2);
		}
	}
	/* GSO features are kept as sent. */
	s.n = 0;
	tx_req(&s, 1, 0, SDRV_NETTXF_EXTRA_INFO, 1, 60);
	{
		struct sdrv_netif_extra_info x = ex_gso(500, SDRV_NETIF_GSO_TYPE_TCPV4, 0);

		x.u.gso.features = 0x8001;
		x.u.gso.pad = 0x77;
		tx_extra(&s, x);
	}
	ck_assert_int_eq(tx_decode(&s, &p), 0);
	ck_assert_uint_eq(p.gso.features, 0x8001);
	ck_assert_uint_eq(p.gso._pad0, 0);

	/* A hash of an unknown type is ignored, as Linux does. */
	s.n = 0;
	tx_req(&s, 1, 0, SDRV_NETTXF_EXTRA_INFO, 1, 60);
	tx_extra(&s, ex_hash(4, 0x1234, 0));
	ck_assert_int_eq(tx_decode(&s, &p), 0);
	ck_assert_uint_eq(p.extras, 0);
	ck_assert(all_zero(&p.hash, sizeof(p.hash)));
	ck_assert_uint_eq(p.nr_extras, 1);
	ck_assert_uint_eq(p.nr_slots, 2);
	s.n = 0;
	tx_req(&s, 1, 0, SDRV_NETTXF_EXTRA_INFO, 1, 60);
	tx_extra(&s, ex_hash(3, 0x01020304, 0));
	ck_assert_int_eq(tx_decode(&s, &p), 0);
	ck_assert_uint_eq(p.hash.value, 0x01020304);
	ck_assert_uint_eq(p.hash.type, 3);
}
END_TEST

START_TEST(tx_multicast_requests)
{
	struct txs s;
	struct sdrv_netif_tx_pkt p;
	struct sdrv_netif_tx_response r;

	/* A dummy slot with its extras; MORE_DATA and the size are ignored
	 * and no data slot is read, as Linux does; so are other extras. */
	s.n = 0;
	tx_req(&s, 0xdead, 0xffff, SDRV_NETTXF_EXTRA_INFO | SDRV_NETTXF_MORE_DATA, 42, 3);
	tx_extra(&s, ex_gso(0, 0, SDRV_NETIF_EXTRA_FLAG_MORE));
	tx_extra(&s, ex_mcast(SDRV_NETIF_EXTRA_TYPE_MCAST_ADD, 0x33, SDRV_NETIF_EXTRA_FLAG_MORE));
	tx_extra(&s, ex_mcast(SDRV_NETIF_EXTRA_TYPE_MCAST_DEL, 0x44, 0));
	tx_req(&s, 1, 4095, 0, 43, 4095); /* the next packet, not this one */
	ck_assert_int_eq(tx_decode(&s, &p), 0);
	ck_assert_uint_eq(p.nr_slots, 4);
	ck_assert_uint_eq(p.nr_frags, 0);
	ck_assert_uint_eq(p.nr_extras, 3);
	ck_assert_uint_eq(p.size, 0);
	ck_assert_uint_eq(p.slot_id[0], 42);
	ck_assert_uint_eq(p.extras, SDRV_NETIF_EXTRA_BIT(SDRV_NETIF_EXTRA_TYPE_MCAST_ADD) |
					SDRV_NETIF_EXTRA_BIT(SDRV_NETIF_EXTRA_TYPE_MCAST_DEL));
	ck_assert_uint_eq(p.mcast_add[5], 0x33);
	ck_assert_uint_eq(p.mcast_del[5], 0x44);
	ck_assert_uint_eq(p.mcast_add[2], 0x5e);
	ck_assert(all_zero(&p.gso, sizeof(p.gso)));
	/* Answered: the request, then NULL for each extra. */
	ck_assert_int_eq(sdrv_netif_tx_make_rsp(&p, 0, SDRV_NETIF_RSP_OKAY, &r), 0);
	ck_assert_uint_eq(r.id, 42);
	ck_assert_int_eq(r.status, SDRV_NETIF_RSP_OKAY);
	for (uint32_t k = 1; k < 4; k++) {
		ck_assert_int_eq(sdrv_netif_tx_make_rsp(&p, k, SDRV_NETIF_RSP_OKAY, &r), 0);
		ck_assert_int_eq(r.status, SDRV_NETIF_RSP_NULL);
		ck_assert_uint_eq(r.id, 0);
	}
	ck_assert_int_eq(sdrv_netif_tx_make_rsp(&p, 4, SDRV_NETIF_RSP_OKAY, &r), -SDRV_EINVAL);
}
END_TEST

/* A packet that runs past the slots given waits; every prefix does. */
START_TEST(tx_need_more_slots)
{
	struct txs s;
	struct sdrv_netif_tx_pkt p;

	for (unsigned nx = 0; nx <= 2; nx++) {
		tx_packet(&s, 18, 100, 60, nx);
		for (size_t n = 0; n < s.n; n++) {
			ck_assert_int_eq(tx_decode_n(&s, n, NULL, &p), -SDRV_EAGAIN);
			ck_assert_uint_eq(p.reason, SDRV_NETIF_R_NEED_MORE);
			ck_assert_uint_eq(p.nr_slots, n + 1);
		}
		ck_assert_int_eq(tx_decode_n(&s, s.n, NULL, &p), 0);
	}
	/* An extra-info chain past the end waits too. */
	s.n = 0;
	tx_req(&s, 1, 0, SDRV_NETTXF_EXTRA_INFO, 1, 60);
	tx_extra(&s, ex_gso(1000, SDRV_NETIF_GSO_TYPE_TCPV4, SDRV_NETIF_EXTRA_FLAG_MORE));
	ck_assert_int_eq(tx_decode(&s, &p), -SDRV_EAGAIN);
	/* A packet already past the fatal bound never waits: fatal as soon as
	 * its 21st slot after the first is due. */
	tx_packet(&s, 30, 100, 60, 0);
	ck_assert_int_eq(tx_decode_n(&s, 21, NULL, &p), -SDRV_EPROTO);
	ck_assert_int_eq(tx_decode_n(&s, 20, NULL, &p), -SDRV_EAGAIN);
	/* A drop (19 or more after the first) still waits for its end, to
	 * answer every slot. */
	struct sdrv_netif_tx_limits lim = tx_lim(SDRV_NETIF_TX_FATAL_SLOTS_MAX);

	ck_assert_int_eq(tx_decode_n(&s, 21, &lim, &p), -SDRV_EAGAIN);
	ck_assert_int_eq(tx_decode_n(&s, 31, &lim, &p), -SDRV_EBADMSG);
	/* The most a caller ever has to give. */
	tx_packet(&s, 60, 100, 60, 2);
	ck_assert_int_eq(tx_decode_n(&s, SDRV_NETIF_TX_MAX_PACKET_SLOTS - 2, &lim, &p),
			 -SDRV_EPROTO);
}
END_TEST

START_TEST(tx_responses_zeroed)
{
	struct txs s;
	struct sdrv_netif_tx_pkt p;
	struct sdrv_netif_tx_response r;
	unsigned char slot[SDRV_NETIF_TX_ENTRY_SIZE + 4];

	tx_packet(&s, 3, 100, 60, 2);
	ck_assert_int_eq(tx_decode(&s, &p), 0);
	for (uint32_t k = 0; k < p.nr_slots; k++) {
		struct sdrv_netif_tx_response w;

		ck_assert_int_eq(sdrv_netif_tx_make_rsp(&p, k, SDRV_NETIF_RSP_OKAY, &r), 0);
		memset(slot, 0xAA, sizeof(slot));
		ck_assert_int_eq(sdrv_netif_tx_encode_rsp(&r, slot, SDRV_NETIF_TX_ENTRY_SIZE), 0);
		memcpy(&w, slot, sizeof(w));
		ck_assert_uint_eq(w.id, k == 0 ? 100 : k <= 2 ? 0 : 101 + k - 3);
		ck_assert_int_eq(w.status,
				 k >= 1 && k <= 2 ? SDRV_NETIF_RSP_NULL : SDRV_NETIF_RSP_OKAY);
		/* XSA-216: the rest of the entry is zero, nothing past it. */
		ck_assert(all_zero(slot + 4, SDRV_NETIF_TX_ENTRY_SIZE - 4));
		for (size_t b = SDRV_NETIF_TX_ENTRY_SIZE; b < sizeof(slot); b++)
			ck_assert_uint_eq(slot[b], 0xAA);
	}
	/* Bad arguments write nothing. */
	r.id = 1;
	memset(slot, 0xAA, sizeof(slot));
	for (int st = -4; st <= 3; st++) {
		r.status = (int16_t)st;
		ck_assert_int_eq(sdrv_netif_tx_encode_rsp(&r, slot, 12),
				 st >= -2 && st <= 1 ? 0 : -SDRV_EINVAL);
		ck_assert_int_eq(sdrv_netif_tx_make_rsp(&p, 0, (int16_t)st, &r),
				 st >= -2 && st <= 0 ? 0 : -SDRV_EINVAL);
	}
	memset(slot, 0xAA, sizeof(slot));
	r.status = 0;
	ck_assert_int_eq(sdrv_netif_tx_encode_rsp(&r, slot, 3), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_netif_tx_encode_rsp(NULL, slot, 12), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_netif_tx_encode_rsp(&r, NULL, 12), -SDRV_EINVAL);
	ck_assert_uint_eq(slot[0], 0xAA);
	ck_assert_int_eq(sdrv_netif_tx_make_rsp(&p, p.nr_slots, 0, &r), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_netif_tx_make_rsp(NULL, 0, 0, &r), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_netif_tx_make_rsp(&p, 0, 0, NULL), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_netif_tx_status_for(0), SDRV_NETIF_RSP_OKAY);
	ck_assert_int_eq(sdrv_netif_tx_status_for(-SDRV_EBADMSG), SDRV_NETIF_RSP_ERROR);
	ck_assert_int_eq(sdrv_netif_tx_status_for(-SDRV_EPROTO), SDRV_NETIF_RSP_ERROR);
}
END_TEST

START_TEST(tx_response_decoder)
{
	struct sdrv_netif_tx_response w, r;
	unsigned char *slot = malloc(4);

	ck_assert_ptr_nonnull(slot);
	for (int st = -32768; st <= 32767; st += (st > -8 && st < 8) ? 1 : 997) {
		w.id = (uint16_t)(st * 7);
		w.status = (int16_t)st;
		memcpy(slot, &w, 4);
		ck_assert_int_eq(sdrv_netif_tx_decode_rsp(slot, 4, &r),
				 st >= -2 && st <= 1 ? 0 : -SDRV_EPROTO);
		ck_assert_uint_eq(r.id, w.id);
		ck_assert_int_eq(r.status, w.status);
	}
	ck_assert_int_eq(sdrv_netif_tx_decode_rsp(slot, 3, &r), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_netif_tx_decode_rsp(NULL, 4, &r), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_netif_tx_decode_rsp(slot, 4, NULL), -SDRV_EINVAL);
	free(slot);
}
END_TEST

START_TEST(tx_arguments)
{
	struct txs s;
	struct sdrv_netif_tx_pkt p;
	struct sdrv_netif_tx_limits lim;

	tx_packet(&s, 2, 100, 60, 0);
	memset(&p, 0x55, sizeof(p));
	ck_assert_int_eq(sdrv_netif_tx_decode(NULL, 1, NULL, &p), -SDRV_EINVAL);
	ck_assert(all_zero(&p, sizeof(p)));
	ck_assert_int_eq(sdrv_netif_tx_decode(s.b, 3, NULL, NULL), -SDRV_EINVAL);
	for (uint32_t f = 0; f <= 40; f++) {
		lim = tx_lim(f);
		ck_assert_int_eq(tx_decode_n(&s, s.n, &lim, &p),
				 f == 0 || (f >= 18 && f <= 32) ? 0 : -SDRV_EINVAL);
	}
	lim = tx_lim(0);
	lim._pad0 = 1;
	ck_assert_int_eq(tx_decode_n(&s, s.n, &lim, &p), -SDRV_EINVAL);
	/* An older, shorter structure: the missing members are defaults. */
	lim = tx_lim(5);
	lim.sz = sizeof(size_t);
	ck_assert_int_eq(tx_decode_n(&s, s.n, &lim, &p), 0);
	lim.sz = sizeof(size_t) - 1;
	ck_assert_int_eq(tx_decode_n(&s, s.n, &lim, &p), -SDRV_EINVAL);
	ck_assert_int_eq(tx_decode_n(&s, 0, NULL, &p), -SDRV_EAGAIN);
}
END_TEST

/* Packets as a frontend describes them. */
static unsigned sample_tx(struct sdrv_netif_tx_pkt *out)
{
	static const struct {
		unsigned frags;
		uint16_t first, each;
		uint16_t extras, flags;
	} v[] = {
	    {1, 60, 0, 0, SDRV_NETIF_PKT_CSUM_BLANK | SDRV_NETIF_PKT_DATA_VALIDATED},
	    {1, 4096, 0, 0, 0},
	    {2, 14, 1, 0, SDRV_NETIF_PKT_DATA_VALIDATED},
	    {3, 1000, 3000, 1 << SDRV_NETIF_EXTRA_TYPE_GSO, SDRV_NETIF_PKT_CSUM_BLANK},
	    {5, 128, 4096, 1 << SDRV_NETIF_EXTRA_TYPE_HASH, 0},
	    {16, 4095, 4096, (1 << SDRV_NETIF_EXTRA_TYPE_GSO) | (1 << SDRV_NETIF_EXTRA_TYPE_HASH),
	     SDRV_NETIF_PKT_CSUM_BLANK},
	    {18, 200, 100, 1 << SDRV_NETIF_EXTRA_TYPE_GSO, 0},
	};
	unsigned n = 0;

	for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++) {
		struct sdrv_netif_tx_pkt p;

		memset(&p, 0, sizeof(p));
		p.nr_frags = (uint16_t)v[k].frags;
		p.flags = v[k].flags;
		p.extras = v[k].extras;
		p.gso.size = 1448;
		p.gso.type = SDRV_NETIF_GSO_TYPE_TCPV6;
		p.gso.features = 1;
		p.hash.value = 0x12345678u + (uint32_t)k;
		p.hash.type = 3;
		p.hash.algorithm = SDRV_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ;
		for (unsigned i = 0; i < v[k].frags; i++) {
			uint16_t size = i ? v[k].each : v[k].first;

			p.frag[i].gref = 0x40000000u + (uint32_t)(k << 8) + i;
			p.frag[i].offset = (uint16_t)((4096 - size) / (i + 1));
			p.frag[i].size = size;
			p.frag[i].id = (uint16_t)(k * 32 + i);
		}
		out[n++] = p;
	}
	/* A multicast request. */
	memset(&out[n], 0, sizeof(out[n]));
	out[n].extras =
	    (1 << SDRV_NETIF_EXTRA_TYPE_MCAST_ADD) | (1 << SDRV_NETIF_EXTRA_TYPE_MCAST_DEL);
	out[n].slot_id[0] = 999;
	memcpy(out[n].mcast_add, "\x01\x00\x5e\x00\x00\x01", 6);
	memcpy(out[n].mcast_del, "\x33\x33\x00\x00\x00\x01", 6);
	return n + 1;
}

/* The wire bytes of a prepared packet, built here with the layouts. */
static void expected_tx(const struct sdrv_netif_tx_pkt *p, struct txs *s)
{
	static const uint8_t order[] = {SDRV_NETIF_EXTRA_TYPE_GSO, SDRV_NETIF_EXTRA_TYPE_MCAST_ADD,
					SDRV_NETIF_EXTRA_TYPE_MCAST_DEL,
					SDRV_NETIF_EXTRA_TYPE_HASH};
	unsigned left = p->nr_extras;
	uint16_t flags = 0;

	memset(s, 0, sizeof(*s));
	if (p->flags & SDRV_NETIF_PKT_CSUM_BLANK)
		flags |= SDRV_NETTXF_CSUM_BLANK;
	if (p->flags & SDRV_NETIF_PKT_DATA_VALIDATED)
		flags |= SDRV_NETTXF_DATA_VALIDATED;
	if (p->nr_frags > 1)
		flags |= SDRV_NETTXF_MORE_DATA;
	if (p->nr_extras)
		flags |= SDRV_NETTXF_EXTRA_INFO;
	if (p->nr_frags)
		tx_req(s, p->frag[0].gref, p->frag[0].offset, flags, p->frag[0].id,
		       (uint16_t)p->size);
	else
		tx_req(s, 0, 0, flags, p->slot_id[0], 0);
	for (size_t i = 0; i < sizeof(order); i++) {
		struct sdrv_netif_extra_info x;
		uint8_t more;

		if (!(p->extras & (1u << order[i])))
			continue;
		more = --left ? SDRV_NETIF_EXTRA_FLAG_MORE : 0;
		if (order[i] == SDRV_NETIF_EXTRA_TYPE_GSO) {
			x = ex_gso(p->gso.size, p->gso.type, more);
			x.u.gso.features = p->gso.features;
		} else if (order[i] == SDRV_NETIF_EXTRA_TYPE_HASH) {
			x = ex_hash(p->hash.type, p->hash.value, more);
			x.u.hash.algorithm = p->hash.algorithm;
		} else {
			memset(&x, 0, sizeof(x));
			x.type = order[i];
			x.flags = more;
			memcpy(x.u.mcast.addr,
			       order[i] == SDRV_NETIF_EXTRA_TYPE_MCAST_ADD ? p->mcast_add
									   : p->mcast_del,
			       6);
		}
		ck_assert_uint_lt(s->n, MAXS);
		memset(s->b[s->n], 0, SDRV_NETIF_TX_ENTRY_SIZE);
		put_extra(s->b[s->n++], &x);
	}
	for (unsigned i = 1; i < p->nr_frags; i++)
		tx_req(s, p->frag[i].gref, p->frag[i].offset,
		       i + 1 < p->nr_frags ? SDRV_NETTXF_MORE_DATA : 0, p->frag[i].id,
		       p->frag[i].size);
}

START_TEST(tx_round_trips)
{
	struct sdrv_netif_tx_pkt pk[16], got;
	unsigned n = sample_tx(pk);

	for (unsigned k = 0; k < n; k++) {
		struct txs want, s;

		ck_assert_int_eq(sdrv_netif_tx_prepare(&pk[k]), 0);
		ck_assert_uint_eq(pk[k].nr_slots,
				  1 + pk[k].nr_extras + (pk[k].nr_frags ? pk[k].nr_frags - 1 : 0));
		expected_tx(&pk[k], &want);
		ck_assert_uint_eq(want.n, pk[k].nr_slots);
		memset(&s, 0, sizeof(s));
		for (uint32_t i = 0; i < pk[k].nr_slots; i++) {
			unsigned char slot[SDRV_NETIF_TX_ENTRY_SIZE + 4];

			memset(slot, 0xAA, sizeof(slot));
			ck_assert_int_eq(sdrv_netif_tx_encode_req(&pk[k], i, slot, 12), 0);
			ck_assert_msg(memcmp(slot, want.b[i], 12) == 0, "packet %u slot %u", k, i);
			for (size_t b = 12; b < sizeof(slot); b++)
				ck_assert_uint_eq(slot[b], 0xAA);
			memcpy(s.b[i], slot, 12);
		}
		s.n = pk[k].nr_slots;
		ck_assert_int_eq(sdrv_netif_tx_encode_req(&pk[k], pk[k].nr_slots, s.b[0], 12),
				 -SDRV_EINVAL);
		ck_assert_int_eq(tx_decode(&s, &got), 0);
		ck_assert_msg(memcmp(&got, &pk[k], sizeof(got)) == 0, "packet %u round trip", k);
		/* Prepare is idempotent on its own result. */
		ck_assert_int_eq(sdrv_netif_tx_prepare(&got), 0);
		ck_assert_int_eq(memcmp(&got, &pk[k], sizeof(got)), 0);
	}
}
END_TEST

START_TEST(tx_prepare_refuses)
{
	struct sdrv_netif_tx_pkt good[16], p;
	unsigned n = sample_tx(good);
	const unsigned g = 3; /* three data slots, GSO */

	(void)n;
#define REFUSE(edit)                                                                               \
	do {                                                                                       \
		struct sdrv_netif_tx_pkt before;                                                   \
		p = good[g];                                                                       \
		edit;                                                                              \
		before = p;                                                                        \
		ck_assert_msg(sdrv_netif_tx_prepare(&p) == -SDRV_EINVAL, "accepted: %s", #edit);   \
		ck_assert_int_eq(memcmp(&p, &before, sizeof(p)), 0);                               \
	} while (0)
	REFUSE(p.nr_frags = 0);
	REFUSE(p.nr_frags = 19);
	REFUSE(p.frag[1].size = 0);
	REFUSE(p.frag[0].size = 13);
	REFUSE((p.frag[2].offset = 1, p.frag[2].size = 4096));
	REFUSE(p.flags |= 4);
	REFUSE(p.extras |= 1);
	REFUSE(p.extras |= 1 << 5);
	REFUSE(p.extras |= 1 << SDRV_NETIF_EXTRA_TYPE_MCAST_ADD);
	REFUSE(p.gso.size = 0);
	REFUSE(p.gso.type = 0);
	REFUSE((p.extras |= 1 << SDRV_NETIF_EXTRA_TYPE_HASH, p.hash.type = 4));
	REFUSE((p.nr_frags = 17, p.frag[0].size = 4096, p.frag[0].offset = 0));
	ck_assert_int_eq(sdrv_netif_tx_prepare(NULL), -SDRV_EINVAL);
	/* 65535 bytes pass; 65536 do not. */
	memset(&p, 0, sizeof(p));
	p.nr_frags = 16;
	for (unsigned i = 0; i < 16; i++)
		p.frag[i].size = 4096;
	p.frag[0].size = 4095;
	ck_assert_int_eq(sdrv_netif_tx_prepare(&p), 0);
	ck_assert_uint_eq(p.size, 0xFFFF);
	p.frag[0].size = 4096;
	ck_assert_int_eq(sdrv_netif_tx_prepare(&p), -SDRV_EINVAL);
	/* A multicast request: only multicast extras, no flags. */
	memset(&p, 0, sizeof(p));
	ck_assert_int_eq(sdrv_netif_tx_prepare(&p), -SDRV_EINVAL);
	p.extras = 1 << SDRV_NETIF_EXTRA_TYPE_MCAST_DEL;
	ck_assert_int_eq(sdrv_netif_tx_prepare(&p), 0);
	p.extras |= 1 << SDRV_NETIF_EXTRA_TYPE_GSO;
	ck_assert_int_eq(sdrv_netif_tx_prepare(&p), -SDRV_EINVAL);
	p.extras = 1 << SDRV_NETIF_EXTRA_TYPE_MCAST_DEL;
	p.flags = SDRV_NETIF_PKT_CSUM_BLANK;
	ck_assert_int_eq(sdrv_netif_tx_prepare(&p), -SDRV_EINVAL);
#undef REFUSE
}
END_TEST

/* ------------------------------- receive --------------------------------- */

struct rxs {
	unsigned char b[MAXS][SDRV_NETIF_RX_ENTRY_SIZE];
	size_t n;
};

static void rx_rsp(struct rxs *s, uint16_t id, uint16_t off, uint16_t flags, int16_t status)
{
	struct sdrv_netif_rx_response r;

	ck_assert_uint_lt(s->n, MAXS);
	r.id = id;
	r.offset = off;
	r.flags = flags;
	r.status = status;
	memcpy(s->b[s->n++], &r, sizeof(r));
}

static void rx_extra(struct rxs *s, struct sdrv_netif_extra_info x)
{
	ck_assert_uint_lt(s->n, MAXS);
	put_extra(s->b[s->n++], &x);
}

static int rx_decode_n(const struct rxs *s, size_t n, struct sdrv_netif_rx_pkt *pkt)
{
	size_t bytes = n * SDRV_NETIF_RX_ENTRY_SIZE;
	unsigned char *copy = malloc(bytes ? bytes : 1);
	int rc;

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, s->b, bytes);
	rc = sdrv_netif_rx_decode(copy, n, pkt);
	free(copy);
	return rc;
}

static int rx_decode(const struct rxs *s, struct sdrv_netif_rx_pkt *pkt)
{
	return rx_decode_n(s, s->n, pkt);
}

/* `data` data slots of `each` bytes after a first of `first` bytes, with
 * `nx` extras (GSO, then HASH). */
static void rx_packet(struct rxs *s, unsigned data, int16_t first, int16_t each, unsigned nx)
{
	uint16_t flags = data > 1 ? SDRV_NETRXF_MORE_DATA : 0;

	s->n = 0;
	if (nx)
		flags |= SDRV_NETRXF_EXTRA_INFO;
	rx_rsp(s, 0, 0, flags | SDRV_NETRXF_DATA_VALIDATED, first);
	if (nx >= 1)
		rx_extra(s, ex_gso(1448, SDRV_NETIF_GSO_TYPE_TCPV4,
				   nx > 1 ? SDRV_NETIF_EXTRA_FLAG_MORE : 0));
	if (nx >= 2)
		rx_extra(s, ex_hash(2, 0xcafe, 0));
	for (unsigned i = 1; i < data; i++)
		rx_rsp(s, (uint16_t)i, 0, i + 1 < data ? SDRV_NETRXF_MORE_DATA : 0, each);
}

START_TEST(rx_requests)
{
	struct sdrv_netif_rx_request q = {.id = 0x1234, ._pad0 = 0x5555, .gref = 0x89abcdef}, got;
	unsigned char slot[SDRV_NETIF_RX_ENTRY_SIZE + 4];
	struct sdrv_netif_rx_request w;

	memset(slot, 0xAA, sizeof(slot));
	ck_assert_int_eq(sdrv_netif_rx_encode_req(&q, slot, 8), 0);
	memcpy(&w, slot, 8);
	ck_assert_uint_eq(w.id, 0x1234);
	ck_assert_uint_eq(w._pad0, 0); /* the padding is never copied */
	ck_assert_uint_eq(w.gref, 0x89abcdef);
	ck_assert_uint_eq(slot[8], 0xAA);
	/* The decoder ignores the pad. */
	w._pad0 = 0xffff;
	memcpy(slot, &w, 8);
	ck_assert_int_eq(sdrv_netif_rx_decode_req(slot, 8, &got), 0);
	ck_assert_uint_eq(got.id, 0x1234);
	ck_assert_uint_eq(got.gref, 0x89abcdef);
	ck_assert_uint_eq(got._pad0, 0);
	ck_assert_int_eq(sdrv_netif_rx_decode_req(slot, 7, &got), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_netif_rx_decode_req(NULL, 8, &got), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_netif_rx_decode_req(slot, 8, NULL), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_netif_rx_encode_req(&q, slot, 7), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_netif_rx_encode_req(NULL, slot, 8), -SDRV_EINVAL);
}
END_TEST

START_TEST(rx_decode_basics)
{
	struct rxs s;
	struct sdrv_netif_rx_pkt p;
	uint32_t sum = 0;

	rx_packet(&s, 4, 1500, 4000, 2);
	((struct sdrv_netif_rx_response *)s.b[0])->flags |= SDRV_NETRXF_CSUM_BLANK;
	ck_assert_int_eq(rx_decode(&s, &p), 0);
	ck_assert_uint_eq(p.nr_frags, 4);
	ck_assert_uint_eq(p.nr_extras, 2);
	ck_assert_uint_eq(p.nr_slots, 6);
	ck_assert_uint_eq(p.size, 1500 + 3 * 4000);
	ck_assert_uint_eq(p.flags, SDRV_NETIF_PKT_CSUM_BLANK | SDRV_NETIF_PKT_DATA_VALIDATED);
	ck_assert_uint_eq(p.gso.size, 1448);
	ck_assert_uint_eq(p.hash.value, 0xcafe);
	ck_assert_uint_eq(p.hash.type, 2);
	for (unsigned i = 0; i < p.nr_frags; i++) {
		sum += p.frag[i].size;
		ck_assert_uint_eq(p.frag[i].slot, i == 0 ? 0 : 2 + i);
		ck_assert_uint_eq(p.frag[i].id, i);
	}
	ck_assert_uint_eq(sum, p.size);
	ck_assert(all_zero(&p.frag[4], sizeof(p.frag) - 4 * sizeof(p.frag[0])));
	/* The rx bit order differs from tx's: validated is bit 0. */
	rx_packet(&s, 1, 60, 0, 0);
	ck_assert_int_eq(rx_decode(&s, &p), 0);
	ck_assert_uint_eq(p.flags, SDRV_NETIF_PKT_DATA_VALIDATED);
	/* Multicast extras mean nothing here: skipped; an unknown hash type
	 * is ignored. */
	s.n = 0;
	rx_rsp(&s, 0, 0, SDRV_NETRXF_EXTRA_INFO, 60);
	rx_extra(&s, ex_mcast(SDRV_NETIF_EXTRA_TYPE_MCAST_ADD, 1, SDRV_NETIF_EXTRA_FLAG_MORE));
	rx_extra(&s, ex_hash(4, 1, 0));
	ck_assert_int_eq(rx_decode(&s, &p), 0);
	ck_assert_uint_eq(p.extras, 0);
	ck_assert_uint_eq(p.nr_extras, 2);
	ck_assert_uint_eq(p.nr_slots, 3);
	ck_assert(all_zero(&p.hash, sizeof(p.hash)));
}
END_TEST

START_TEST(rx_slot_rules)
{
	struct rxs s;
	struct sdrv_netif_rx_pkt p;

	/* Status: > 0 only; offset + status within the page. */
	static const struct {
		uint16_t off;
		int16_t st;
		int rc;
		unsigned reason;
	} one[] = {
	    {0, 1, 0, 0},
	    {0, 4096, 0, 0},
	    {4095, 1, 0, 0},
	    {4096, 1, -SDRV_EBADMSG, SDRV_NETIF_R_CROSS_PAGE},
	    {1, 4096, -SDRV_EBADMSG, SDRV_NETIF_R_CROSS_PAGE},
	    {0xffff, 0x7fff, -SDRV_EBADMSG, SDRV_NETIF_R_CROSS_PAGE},
	    {0, 4097, -SDRV_EBADMSG, SDRV_NETIF_R_CROSS_PAGE},
	    {0, 0, -SDRV_EBADMSG, SDRV_NETIF_R_STATUS},
	    {0, SDRV_NETIF_RSP_ERROR, -SDRV_EBADMSG, SDRV_NETIF_R_STATUS},
	    {0, SDRV_NETIF_RSP_DROPPED, -SDRV_EBADMSG, SDRV_NETIF_R_STATUS},
	    {0, -32768, -SDRV_EBADMSG, SDRV_NETIF_R_STATUS},
	};
	for (size_t c = 0; c < sizeof(one) / sizeof(one[0]); c++) {
		for (unsigned pos = 0; pos < 2; pos++) {
			s.n = 0;
			if (pos)
				rx_rsp(&s, 0, 0, SDRV_NETRXF_MORE_DATA, 100);
			rx_rsp(&s, 1, one[c].off, 0, one[c].st);
			ck_assert_msg(rx_decode(&s, &p) == one[c].rc, "offset %u status %d at %u",
				      one[c].off, one[c].st, pos);
			ck_assert_uint_eq(p.reason, one[c].reason);
			ck_assert_uint_eq(p.nr_slots, pos + 1);
		}
	}
	/* A bad slot in the middle: the packet is walked to its end. */
	rx_packet(&s, 5, 100, 100, 1);
	((struct sdrv_netif_rx_response *)s.b[3])->status = -1;
	ck_assert_int_eq(rx_decode(&s, &p), -SDRV_EBADMSG);
	ck_assert_uint_eq(p.nr_slots, 6);
	ck_assert_uint_eq(p.nr_extras, 1);

	/* Slot counts (netfront's max): 18, or 19 after a first of <= 256
	 * bytes, then a drop; fatal beyond 21. */
	static const struct {
		unsigned data;
		int16_t first;
		int rc;
	} cnt[] = {
	    {18, 1000, 0},
	    {19, 1000, -SDRV_EBADMSG},
	    {19, 256, 0},
	    {19, 257, -SDRV_EBADMSG},
	    {20, 256, -SDRV_EBADMSG},
	    {21, 100, -SDRV_EBADMSG},
	    {22, 100, -SDRV_EPROTO},
	    {40, 100, -SDRV_EPROTO},
	};
	for (size_t c = 0; c < sizeof(cnt) / sizeof(cnt[0]); c++) {
		rx_packet(&s, cnt[c].data, cnt[c].first, 100, 1);
		ck_assert_msg(rx_decode(&s, &p) == cnt[c].rc, "%u slots", cnt[c].data);
		if (cnt[c].rc == -SDRV_EBADMSG) {
			ck_assert_uint_eq(p.reason, SDRV_NETIF_R_TOO_MANY);
			ck_assert_uint_eq(p.nr_slots, cnt[c].data + 1);
		} else if (cnt[c].rc == -SDRV_EPROTO) {
			ck_assert_uint_eq(p.reason, SDRV_NETIF_R_MALICIOUS);
		}
	}
	/* Size: 65553 bytes pass, 65554 do not. */
	rx_packet(&s, 17, 17, 4096, 0);
	ck_assert_int_eq(rx_decode(&s, &p), 0);
	ck_assert_uint_eq(p.size, SDRV_NETIF_RX_MAX_SIZE);
	rx_packet(&s, 17, 18, 4096, 0);
	ck_assert_int_eq(rx_decode(&s, &p), -SDRV_EBADMSG);
	ck_assert_uint_eq(p.reason, SDRV_NETIF_R_TOO_BIG);
	rx_packet(&s, 18, 4096, 4096, 0);
	ck_assert_int_eq(rx_decode(&s, &p), -SDRV_EBADMSG);
}
END_TEST

START_TEST(rx_extra_rules)
{
	struct rxs s;
	struct sdrv_netif_rx_pkt p;
	const uint8_t more = SDRV_NETIF_EXTRA_FLAG_MORE;

	/* Bad types and repeats drop the packet (netfront), the chain and the
	 * data slots still counted so all of them are recycled. */
	static const uint8_t bad[] = {0, SDRV_NETIF_EXTRA_TYPE_MAX, 0xff};
	for (size_t i = 0; i < sizeof(bad); i++) {
		s.n = 0;
		rx_rsp(&s, 0, 0, SDRV_NETRXF_EXTRA_INFO | SDRV_NETRXF_MORE_DATA, 100);
		rx_extra(&s, ex_raw(bad[i], more));
		rx_extra(&s, ex_gso(100, SDRV_NETIF_GSO_TYPE_TCPV4, 0));
		rx_rsp(&s, 1, 0, 0, 100);
		ck_assert_int_eq(rx_decode(&s, &p), -SDRV_EBADMSG);
		ck_assert_uint_eq(p.reason, SDRV_NETIF_R_EXTRA_TYPE);
		ck_assert_uint_eq(p.nr_slots, 4);
		ck_assert_uint_eq(p.nr_extras, 2);
	}
	s.n = 0;
	rx_rsp(&s, 0, 0, SDRV_NETRXF_EXTRA_INFO, 100);
	rx_extra(&s, ex_hash(0, 1, more));
	rx_extra(&s, ex_hash(0, 2, 0));
	ck_assert_int_eq(rx_decode(&s, &p), -SDRV_EBADMSG);
	ck_assert_uint_eq(p.reason, SDRV_NETIF_R_EXTRA_REPEATED);
	/* Four extras are the most; a fifth is fatal whatever it is. */
	s.n = 0;
	rx_rsp(&s, 0, 0, SDRV_NETRXF_EXTRA_INFO, 100);
	rx_extra(&s, ex_gso(100, SDRV_NETIF_GSO_TYPE_TCPV4, more));
	rx_extra(&s, ex_mcast(SDRV_NETIF_EXTRA_TYPE_MCAST_ADD, 1, more));
	rx_extra(&s, ex_mcast(SDRV_NETIF_EXTRA_TYPE_MCAST_DEL, 1, more));
	rx_extra(&s, ex_hash(0, 1, 0));
	ck_assert_int_eq(rx_decode(&s, &p), 0);
	((struct sdrv_netif_extra_info *)s.b[4])->flags = more;
	rx_extra(&s, ex_hash(0, 1, 0));
	ck_assert_int_eq(rx_decode(&s, &p), -SDRV_EPROTO);
	ck_assert_uint_eq(p.reason, SDRV_NETIF_R_EXTRA_CHAIN);
	/* GSO: size 0 or a bad type drops (netfront). */
	static const struct {
		uint16_t size;
		uint8_t type;
		int rc;
	} gso[] = {{1, SDRV_NETIF_GSO_TYPE_TCPV4, 0},
		   {9000, SDRV_NETIF_GSO_TYPE_TCPV6, 0},
		   {0, SDRV_NETIF_GSO_TYPE_TCPV4, -SDRV_EBADMSG},
		   {100, 0, -SDRV_EBADMSG},
		   {100, 3, -SDRV_EBADMSG}};
	for (size_t i = 0; i < sizeof(gso) / sizeof(gso[0]); i++) {
		s.n = 0;
		rx_rsp(&s, 0, 0, SDRV_NETRXF_EXTRA_INFO, 100);
		rx_extra(&s, ex_gso(gso[i].size, gso[i].type, 0));
		ck_assert_int_eq(rx_decode(&s, &p), gso[i].rc);
	}
	/* Missing slots wait, at every prefix. */
	rx_packet(&s, 6, 100, 100, 2);
	for (size_t n = 0; n < s.n; n++) {
		ck_assert_int_eq(rx_decode_n(&s, n, &p), -SDRV_EAGAIN);
		ck_assert_uint_eq(p.nr_slots, n + 1);
	}
	ck_assert_int_eq(rx_decode_n(&s, s.n, &p), 0);
	/* ... but never beyond the fatal bound. */
	rx_packet(&s, 30, 100, 100, 0);
	ck_assert_int_eq(rx_decode_n(&s, 21, &p), -SDRV_EPROTO);
	ck_assert_int_eq(rx_decode_n(&s, 20, &p), -SDRV_EAGAIN);
	ck_assert_int_eq(sdrv_netif_rx_decode(NULL, 1, &p), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_netif_rx_decode(s.b, 1, NULL), -SDRV_EINVAL);
}
END_TEST

static unsigned sample_rx(struct sdrv_netif_rx_pkt *out)
{
	static const struct {
		unsigned frags;
		uint16_t first, each, extras, flags;
	} v[] = {
	    {1, 60, 0, 0, SDRV_NETIF_PKT_DATA_VALIDATED},
	    {1, 4096, 0, 1 << SDRV_NETIF_EXTRA_TYPE_HASH, 0},
	    {3, 1000, 4096, 1 << SDRV_NETIF_EXTRA_TYPE_GSO,
	     SDRV_NETIF_PKT_CSUM_BLANK | SDRV_NETIF_PKT_DATA_VALIDATED},
	    {18, 4096, 3000, (1 << SDRV_NETIF_EXTRA_TYPE_GSO) | (1 << SDRV_NETIF_EXTRA_TYPE_HASH),
	     SDRV_NETIF_PKT_CSUM_BLANK},
	    {19, 256, 3000, 0, 0},
	};
	unsigned n = 0;

	for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++) {
		struct sdrv_netif_rx_pkt p;

		memset(&p, 0, sizeof(p));
		p.nr_frags = (uint16_t)v[k].frags;
		p.extras = v[k].extras;
		p.flags = v[k].flags;
		p.gso.size = 8948;
		p.gso.type = SDRV_NETIF_GSO_TYPE_TCPV4;
		p.hash.value = 0x87654321u;
		p.hash.type = 1;
		p.hash.algorithm = SDRV_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ;
		for (unsigned i = 0; i < v[k].frags; i++) {
			p.frag[i].size = i ? v[k].each : v[k].first;
			p.frag[i].offset = (uint16_t)((4096 - p.frag[i].size) / 2);
		}
		out[n++] = p;
	}
	return n;
}

START_TEST(rx_round_trips)
{
	struct sdrv_netif_rx_pkt pk[8], got;
	unsigned n = sample_rx(pk);

	for (unsigned k = 0; k < n; k++) {
		struct rxs s;
		unsigned nx;

		ck_assert_int_eq(sdrv_netif_rx_prepare(&pk[k]), 0);
		nx = pk[k].nr_extras;
		ck_assert_uint_eq(pk[k].nr_slots, pk[k].nr_frags + nx);
		s.n = 0;
		for (uint32_t i = 0; i < pk[k].nr_slots; i++) {
			struct sdrv_netif_rx_request req = {.id = (uint16_t)(500 + i), .gref = i};
			unsigned char slot[SDRV_NETIF_RX_ENTRY_SIZE + 4];
			struct sdrv_netif_rx_response w;

			memset(slot, 0xAA, sizeof(slot));
			ck_assert_int_eq(sdrv_netif_rx_encode_rsp(&pk[k], i, &req, slot, 8), 0);
			ck_assert_uint_eq(slot[8], 0xAA);
			memcpy(&w, slot, 8);
			if (i >= 1 && i <= nx) {
				struct sdrv_netif_extra_info x;

				memcpy(&x, slot, sizeof(x));
				ck_assert_uint_eq(x.flags, i < nx ? SDRV_NETIF_EXTRA_FLAG_MORE : 0);
				if (x.type == SDRV_NETIF_EXTRA_TYPE_GSO) {
					ck_assert_uint_eq(i, 1); /* GSO before HASH */
					ck_assert_uint_eq(x.u.gso.size, 8948);
					ck_assert_uint_eq(x.u.gso.pad, 0);
					ck_assert_uint_eq(x.u.gso.features, 0);
				} else {
					ck_assert_uint_eq(x.type, SDRV_NETIF_EXTRA_TYPE_HASH);
					ck_assert_uint_eq(x.u.hash.value[0], 0x21);
					ck_assert_uint_eq(x.u.hash.value[3], 0x87);
				}
			} else {
				unsigned f = i == 0 ? 0 : i - nx;
				uint16_t want = 0;

				if (f + 1 < pk[k].nr_frags)
					want |= SDRV_NETRXF_MORE_DATA;
				if (i == 0 && nx)
					want |= SDRV_NETRXF_EXTRA_INFO;
				if (i == 0 && (pk[k].flags & SDRV_NETIF_PKT_CSUM_BLANK))
					want |= SDRV_NETRXF_CSUM_BLANK;
				if (i == 0 && (pk[k].flags & SDRV_NETIF_PKT_DATA_VALIDATED))
					want |= SDRV_NETRXF_DATA_VALIDATED;
				ck_assert_uint_eq(w.id, 500 + i); /* the request's */
				ck_assert_uint_eq(w.offset, pk[k].frag[f].offset);
				ck_assert_int_eq(w.status, pk[k].frag[f].size);
				ck_assert_uint_eq(w.flags, want);
			}
			memcpy(s.b[s.n++], slot, 8);
		}
		ck_assert_int_eq(rx_decode(&s, &got), 0);
		/* The decoded ids are the responses' (the requests' here). */
		for (unsigned i = 0; i < got.nr_frags; i++) {
			ck_assert_uint_eq(got.frag[i].id, 500 + got.frag[i].slot);
			got.frag[i].id = 0;
		}
		ck_assert_msg(memcmp(&got, &pk[k], sizeof(got)) == 0, "rx packet %u round trip", k);
	}
	/* Extra slots need no request; data slots do. */
	ck_assert_int_eq(sdrv_netif_rx_encode_rsp(&pk[3], 1, NULL, got.frag, 8), 0);
	ck_assert_int_eq(sdrv_netif_rx_encode_rsp(&pk[3], 0, NULL, got.frag, 8), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_netif_rx_encode_rsp(&pk[3], pk[3].nr_slots, NULL, got.frag, 8),
			 -SDRV_EINVAL);
}
END_TEST

START_TEST(rx_prepare_refuses)
{
	struct sdrv_netif_rx_pkt good[8], p;

	sample_rx(good);
#define REFUSE(edit)                                                                               \
	do {                                                                                       \
		struct sdrv_netif_rx_pkt before;                                                   \
		p = good[2];                                                                       \
		edit;                                                                              \
		before = p;                                                                        \
		ck_assert_msg(sdrv_netif_rx_prepare(&p) == -SDRV_EINVAL, "accepted: %s", #edit);   \
		ck_assert_int_eq(memcmp(&p, &before, sizeof(p)), 0);                               \
	} while (0)
	REFUSE(p.nr_frags = 0);
	REFUSE(p.nr_frags = 19);
	REFUSE(p.frag[1].size = 0);
	REFUSE((p.frag[2].offset = 4000, p.frag[2].size = 97));
	REFUSE(p.flags = 4);
	REFUSE(p.extras |= 1 << SDRV_NETIF_EXTRA_TYPE_MCAST_ADD);
	REFUSE(p.gso.size = 0);
	REFUSE(p.gso.type = 9);
	REFUSE((p.extras |= 1 << SDRV_NETIF_EXTRA_TYPE_HASH, p.hash.type = 4));
	ck_assert_int_eq(sdrv_netif_rx_prepare(NULL), -SDRV_EINVAL);
	/* 19 slots only after a small first slot; 65553 bytes at most. */
	p = good[4];
	ck_assert_int_eq(sdrv_netif_rx_prepare(&p), 0);
	p = good[4];
	p.frag[0].size = 257;
	ck_assert_int_eq(sdrv_netif_rx_prepare(&p), -SDRV_EINVAL);
	memset(&p, 0, sizeof(p));
	p.nr_frags = 17;
	for (unsigned i = 0; i < 17; i++)
		p.frag[i].size = 4096;
	p.frag[0].size = 17;
	ck_assert_int_eq(sdrv_netif_rx_prepare(&p), 0);
	p.frag[0].size = 18;
	ck_assert_int_eq(sdrv_netif_rx_prepare(&p), -SDRV_EINVAL);
#undef REFUSE
}
END_TEST

/* ----------------------------- control ring ------------------------------ */

static struct sdrv_netif_ctrl_config ctrl_cfg(void)
{
	struct sdrv_netif_ctrl_config c;

	memset(&c, 0, sizeof(c));
	c.sz = sizeof(c);
	c.algorithm = SDRV_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ;
	c.hash_types = SDRV_NETIF_CTRL_HASH_TYPE_IPV4 | SDRV_NETIF_CTRL_HASH_TYPE_IPV4_TCP |
		       SDRV_NETIF_CTRL_HASH_TYPE_IPV6 | SDRV_NETIF_CTRL_HASH_TYPE_IPV6_TCP;
	c.max_key_size = SDRV_NETIF_MAX_HASH_KEY_SIZE;
	c.max_mapping_size = SDRV_NETIF_MAX_HASH_MAPPING_SIZE;
	c.mapping_size = SDRV_NETIF_MAX_HASH_MAPPING_SIZE;
	c.nr_queues = 4;
	return c;
}

static int ctrl(uint16_t type, uint32_t d0, uint32_t d1, uint32_t d2,
		const struct sdrv_netif_ctrl_config *cfg, struct sdrv_netif_ctrl_req *req)
{
	struct sdrv_netif_ctrl_request w = {.id = 0x77, .type = type, .data = {d0, d1, d2}};
	unsigned char *copy = malloc(sizeof(w));
	int rc;

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, &w, sizeof(w));
	rc = sdrv_netif_ctrl_decode_req(copy, sizeof(w), cfg, req);
	free(copy);
	ck_assert_uint_eq(req->id, 0x77);
	ck_assert_uint_eq(req->type, type);
	return rc;
}

START_TEST(ctrl_requests)
{
	struct sdrv_netif_ctrl_config c = ctrl_cfg(), none = ctrl_cfg();
	struct sdrv_netif_ctrl_req r;

	none.algorithm = SDRV_NETIF_CTRL_HASH_ALGORITHM_NONE;
	/* The algorithm. */
	ck_assert_int_eq(ctrl(SDRV_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM, 0, 0, 0, &c, &r), 0);
	ck_assert_int_eq(ctrl(SDRV_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM, 1, 9, 9, &c, &r), 0);
	ck_assert_uint_eq(r.value, 1);
	ck_assert_int_eq(ctrl(SDRV_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM, 2, 0, 0, &c, &r),
			 -SDRV_EBADMSG);
	ck_assert_int_eq(ctrl(SDRV_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM, UINT32_MAX, 0, 0, &c, &r),
			 -SDRV_EBADMSG);
	ck_assert_uint_eq(r.value, 0); /* only id and type on an error */
	/* Flags: within what the backend computes, and an algorithm chosen. */
	ck_assert_int_eq(ctrl(SDRV_NETIF_CTRL_TYPE_GET_HASH_FLAGS, 0, 0, 0, &c, &r), 0);
	ck_assert_int_eq(ctrl(SDRV_NETIF_CTRL_TYPE_GET_HASH_FLAGS, 0, 0, 0, &none, &r),
			 -SDRV_EOPNOTSUPP);
	ck_assert_int_eq(ctrl(SDRV_NETIF_CTRL_TYPE_SET_HASH_FLAGS, 0xf, 0, 0, &c, &r), 0);
	ck_assert_uint_eq(r.value, 0xf);
	ck_assert_int_eq(ctrl(SDRV_NETIF_CTRL_TYPE_SET_HASH_FLAGS, 0, 0, 0, &c, &r), 0);
	ck_assert_int_eq(ctrl(SDRV_NETIF_CTRL_TYPE_SET_HASH_FLAGS, 0x10, 0, 0, &c, &r),
			 -SDRV_EBADMSG);
	ck_assert_int_eq(ctrl(SDRV_NETIF_CTRL_TYPE_SET_HASH_FLAGS, 1, 0, 0, &none, &r),
			 -SDRV_EBADMSG);
	c.hash_types = SDRV_NETIF_CTRL_HASH_TYPE_IPV4;
	ck_assert_int_eq(ctrl(SDRV_NETIF_CTRL_TYPE_SET_HASH_FLAGS, 1, 0, 0, &c, &r), 0);
	ck_assert_int_eq(ctrl(SDRV_NETIF_CTRL_TYPE_SET_HASH_FLAGS, 3, 0, 0, &c, &r), -SDRV_EBADMSG);
	c = ctrl_cfg();
	/* The key: 40 bytes at most here, one page in any case. */
	static const struct {
		uint32_t size;
		int rc;
	} key[] = {{0, 0},
		   {1, 0},
		   {40, 0},
		   {41, -SDRV_EMSGSIZE},
		   {4096, -SDRV_EMSGSIZE},
		   {4097, -SDRV_EBADMSG},
		   {0x80000000u, -SDRV_EBADMSG},
		   {UINT32_MAX, -SDRV_EBADMSG}};
	for (size_t i = 0; i < sizeof(key) / sizeof(key[0]); i++) {
		ck_assert_int_eq(
		    ctrl(SDRV_NETIF_CTRL_TYPE_SET_HASH_KEY, 0x1234, key[i].size, 0, &c, &r),
		    key[i].rc);
		if (key[i].rc == 0) {
			ck_assert_uint_eq(r.gref, 0x1234);
			ck_assert_uint_eq(r.size, key[i].size);
		}
	}
	c.max_key_size = 4096;
	ck_assert_int_eq(ctrl(SDRV_NETIF_CTRL_TYPE_SET_HASH_KEY, 1, 4096, 0, &c, &r), 0);
	c = ctrl_cfg();
	/* The table's size. */
	ck_assert_int_eq(ctrl(SDRV_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE, 0, 0, 0, &c, &r), 0);
	ck_assert_int_eq(ctrl(SDRV_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE, 128, 0, 0, &c, &r), 0);
	ck_assert_uint_eq(r.size, 128);
	ck_assert_int_eq(ctrl(SDRV_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE, 0, 0, 0, &c, &r), 0);
	ck_assert_int_eq(ctrl(SDRV_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE, 129, 0, 0, &c, &r),
			 -SDRV_EBADMSG);
	ck_assert_int_eq(ctrl(SDRV_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE, UINT32_MAX, 0, 0, &c, &r),
			 -SDRV_EBADMSG);
	/* Not supported: INVALID, the grant mappings, unknown types. */
	static const uint16_t unsup[] = {0, 8, 9, 10, 11, 0x100, 0xffff};
	for (size_t i = 0; i < sizeof(unsup) / sizeof(unsup[0]); i++)
		ck_assert_int_eq(ctrl(unsup[i], 1, 2, 3, &c, &r), -SDRV_EOPNOTSUPP);
}
END_TEST

/* SET_HASH_MAPPING: offset + size checked without wrapping (XSA-270 class). */
START_TEST(ctrl_mapping_overflow)
{
	struct sdrv_netif_ctrl_config c = ctrl_cfg();
	struct sdrv_netif_ctrl_req r;
	static const struct {
		uint32_t map, off, size;
		int rc;
	} v[] = {
	    {128, 0, 128, 0},
	    {128, 0, 0, 0},
	    {128, 128, 0, 0},
	    {128, 127, 1, 0},
	    {128, 1, 128, -SDRV_EBADMSG},
	    {128, 128, 1, -SDRV_EBADMSG},
	    {128, 129, 0, -SDRV_EBADMSG},
	    {128, 0, 129, -SDRV_EBADMSG},
	    /* offset + size wraps 32 bits to something small */
	    {128, UINT32_MAX, 1, -SDRV_EBADMSG},
	    {128, UINT32_MAX, 2, -SDRV_EBADMSG},
	    {128, 0xFFFFFF80u, 128, -SDRV_EBADMSG},
	    {128, 0x80000000u, 0x80000000u, -SDRV_EMSGSIZE},
	    {128, 1, UINT32_MAX, -SDRV_EMSGSIZE},
	    {128, 0, 1025, -SDRV_EMSGSIZE},
	    /* a huge table: the page bound and the wrap both matter */
	    {UINT32_MAX, UINT32_MAX - 1024, 1024, 0},
	    {UINT32_MAX, UINT32_MAX - 1023, 1024, -SDRV_EBADMSG},
	    {UINT32_MAX, UINT32_MAX, 1, -SDRV_EBADMSG},
	    {UINT32_MAX, UINT32_MAX, 0, 0},
	    {UINT32_MAX, 0, 1024, 0},
	    {UINT32_MAX, 0, 1025, -SDRV_EMSGSIZE},
	    {0, 0, 0, 0},
	    {0, 0, 1, -SDRV_EBADMSG},
	    {0, 1, 0, -SDRV_EBADMSG},
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		c.max_mapping_size = v[i].map;
		c.mapping_size = v[i].map;
		ck_assert_msg(ctrl(SDRV_NETIF_CTRL_TYPE_SET_HASH_MAPPING, 0x55, v[i].size, v[i].off,
				   &c, &r) == v[i].rc,
			      "table %u offset %u size %u", v[i].map, v[i].off, v[i].size);
		if (v[i].rc == 0) {
			ck_assert_uint_eq(r.gref, 0x55);
			ck_assert_uint_eq(r.size, v[i].size);
			ck_assert_uint_eq(r.offset, v[i].off);
			ck_assert_uint_le((uint64_t)r.offset + r.size, v[i].map);
		}
	}
}
END_TEST

START_TEST(ctrl_mapping_entries)
{
	struct sdrv_netif_ctrl_config c = ctrl_cfg();
	struct sdrv_netif_ctrl_req r;
	uint32_t *table = malloc(16 * sizeof(uint32_t)), out[16];

	ck_assert_ptr_nonnull(table);
	for (uint32_t i = 0; i < 16; i++)
		table[i] = i % 4;
	ck_assert_int_eq(ctrl(SDRV_NETIF_CTRL_TYPE_SET_HASH_MAPPING, 1, 16, 100, &c, &r), 0);
	ck_assert_int_eq(sdrv_netif_ctrl_decode_mapping(&r, table, 64, &c, out, 16), 0);
	ck_assert_int_eq(memcmp(out, table, 64), 0);
	/* An entry naming no queue: refused, nothing kept. */
	table[9] = 4;
	ck_assert_int_eq(sdrv_netif_ctrl_decode_mapping(&r, table, 64, &c, out, 16), -SDRV_EBADMSG);
	ck_assert(all_zero(out, sizeof(out)));
	table[9] = UINT32_MAX;
	ck_assert_int_eq(sdrv_netif_ctrl_decode_mapping(&r, table, 64, &c, out, 16), -SDRV_EBADMSG);
	table[9] = 3;
	/* Short copies or arrays are the caller's error. */
	ck_assert_int_eq(sdrv_netif_ctrl_decode_mapping(&r, table, 63, &c, out, 16), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_netif_ctrl_decode_mapping(&r, table, 64, &c, out, 15), -SDRV_EINVAL);
	/* So is a request that was not accepted against this table. */
	c.mapping_size = 115;
	ck_assert_int_eq(sdrv_netif_ctrl_decode_mapping(&r, table, 64, &c, out, 16), -SDRV_EINVAL);
	c.mapping_size = 116;
	ck_assert_int_eq(sdrv_netif_ctrl_decode_mapping(&r, table, 64, &c, out, 16), 0);
	r.type = SDRV_NETIF_CTRL_TYPE_SET_HASH_KEY;
	ck_assert_int_eq(sdrv_netif_ctrl_decode_mapping(&r, table, 64, &c, out, 16), -SDRV_EINVAL);
	r.type = SDRV_NETIF_CTRL_TYPE_SET_HASH_MAPPING;
	r.offset = UINT32_MAX;
	ck_assert_int_eq(sdrv_netif_ctrl_decode_mapping(&r, table, 64, &c, out, 16), -SDRV_EINVAL);
	/* An empty (sub-)table. */
	ck_assert_int_eq(ctrl(SDRV_NETIF_CTRL_TYPE_SET_HASH_MAPPING, 1, 0, 0, &c, &r), 0);
	ck_assert_int_eq(sdrv_netif_ctrl_decode_mapping(&r, table, 0, &c, out, 0), 0);
	/* No queue at all: every entry is refused. */
	c.nr_queues = 0;
	ck_assert_int_eq(ctrl(SDRV_NETIF_CTRL_TYPE_SET_HASH_MAPPING, 1, 1, 0, &c, &r), 0);
	table[0] = 0;
	ck_assert_int_eq(sdrv_netif_ctrl_decode_mapping(&r, table, 4, &c, out, 1), -SDRV_EBADMSG);
	free(table);
}
END_TEST

START_TEST(ctrl_responses)
{
	struct sdrv_netif_ctrl_config c = ctrl_cfg();
	struct sdrv_netif_ctrl_req r;
	struct sdrv_netif_ctrl_response rsp, got;
	unsigned char slot[SDRV_NETIF_CTRL_ENTRY_SIZE + 4];
	int err;

	c.hash_types = 0x5;
	err = ctrl(SDRV_NETIF_CTRL_TYPE_GET_HASH_FLAGS, 0, 0, 0, &c, &r);
	ck_assert_int_eq(sdrv_netif_ctrl_make_rsp(&r, err, &c, &rsp), 0);
	ck_assert_uint_eq(rsp.id, 0x77);
	ck_assert_uint_eq(rsp.type, SDRV_NETIF_CTRL_TYPE_GET_HASH_FLAGS);
	ck_assert_uint_eq(rsp.status, SDRV_NETIF_CTRL_STATUS_SUCCESS);
	ck_assert_uint_eq(rsp.data, 0x5);
	err = ctrl(SDRV_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE, 0, 0, 0, &c, &r);
	ck_assert_int_eq(sdrv_netif_ctrl_make_rsp(&r, err, &c, &rsp), 0);
	ck_assert_uint_eq(rsp.data, 128);
	err = ctrl(9, 0, 0, 0, &c, &r);
	ck_assert_int_eq(sdrv_netif_ctrl_make_rsp(&r, err, &c, &rsp), 0);
	ck_assert_uint_eq(rsp.status, SDRV_NETIF_CTRL_STATUS_NOT_SUPPORTED);
	ck_assert_uint_eq(rsp.data, 0);
	ck_assert_uint_eq(rsp.type, 9);
	err = ctrl(SDRV_NETIF_CTRL_TYPE_SET_HASH_KEY, 0, 41, 0, &c, &r);
	ck_assert_int_eq(sdrv_netif_ctrl_make_rsp(&r, err, &c, &rsp), 0);
	ck_assert_uint_eq(rsp.status, SDRV_NETIF_CTRL_STATUS_BUFFER_OVERFLOW);
	err = ctrl(SDRV_NETIF_CTRL_TYPE_SET_HASH_KEY, 0, 5000, 0, &c, &r);
	ck_assert_int_eq(sdrv_netif_ctrl_make_rsp(&r, err, &c, &rsp), 0);
	ck_assert_uint_eq(rsp.status, SDRV_NETIF_CTRL_STATUS_INVALID_PARAMETER);
	ck_assert_uint_eq(sdrv_netif_ctrl_status_for(-SDRV_EIO),
			  SDRV_NETIF_CTRL_STATUS_INVALID_PARAMETER);

	/* The whole 16-byte entry is written: 12 bytes, then zeros. */
	memset(slot, 0xAA, sizeof(slot));
	ck_assert_int_eq(sdrv_netif_ctrl_encode_rsp(&rsp, slot, SDRV_NETIF_CTRL_ENTRY_SIZE), 0);
	memcpy(&got, slot, sizeof(got));
	ck_assert_int_eq(memcmp(&got, &rsp, sizeof(got)), 0);
	ck_assert(all_zero(slot + 12, 4));
	ck_assert_uint_eq(slot[16], 0xAA);
	ck_assert_int_eq(sdrv_netif_ctrl_decode_rsp(slot, 12, &got), 0);
	ck_assert_int_eq(memcmp(&got, &rsp, sizeof(got)), 0);
	rsp.status = 4;
	ck_assert_int_eq(sdrv_netif_ctrl_encode_rsp(&rsp, slot, 16), -SDRV_EINVAL);
	memcpy(slot, &rsp, sizeof(rsp));
	ck_assert_int_eq(sdrv_netif_ctrl_decode_rsp(slot, 12, &got), -SDRV_EPROTO);
	ck_assert_uint_eq(got.status, 4);
	ck_assert_int_eq(sdrv_netif_ctrl_decode_rsp(slot, 11, &got), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_netif_ctrl_encode_rsp(&rsp, slot, 11), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_netif_ctrl_make_rsp(NULL, 0, &c, &rsp), -SDRV_EINVAL);
}
END_TEST

START_TEST(ctrl_round_trip_and_config)
{
	struct sdrv_netif_ctrl_config c = ctrl_cfg(), bad;
	static const struct sdrv_netif_ctrl_req reqs[] = {
	    {1, SDRV_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM, 1, 0, 0, 0},
	    {2, SDRV_NETIF_CTRL_TYPE_GET_HASH_FLAGS, 0, 0, 0, 0},
	    {3, SDRV_NETIF_CTRL_TYPE_SET_HASH_FLAGS, 0xa, 0, 0, 0},
	    {4, SDRV_NETIF_CTRL_TYPE_SET_HASH_KEY, 0, 0x99, 40, 0},
	    {5, SDRV_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE, 0, 0, 0, 0},
	    {6, SDRV_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE, 0, 0, 64, 0},
	    {7, SDRV_NETIF_CTRL_TYPE_SET_HASH_MAPPING, 0, 0x98, 28, 100},
	};
	struct sdrv_netif_ctrl_req got, tmp = reqs[0];
	unsigned char slot[SDRV_NETIF_CTRL_ENTRY_SIZE + 4];

	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		struct sdrv_netif_ctrl_request w;

		memset(slot, 0xAA, sizeof(slot));
		ck_assert_int_eq(sdrv_netif_ctrl_encode_req(&reqs[i], slot, 16), 0);
		ck_assert_uint_eq(slot[16], 0xAA);
		memcpy(&w, slot, sizeof(w));
		ck_assert_uint_eq(w.id, reqs[i].id);
		ck_assert_int_eq(sdrv_netif_ctrl_decode_req(slot, 16, &c, &got), 0);
		ck_assert_int_eq(memcmp(&got, &reqs[i], sizeof(got)), 0);
	}
	/* The data words as Xen's netif.h defines them. */
	{
		struct sdrv_netif_ctrl_request w;

		ck_assert_int_eq(sdrv_netif_ctrl_encode_req(&reqs[6], slot, 16), 0);
		memcpy(&w, slot, sizeof(w));
		ck_assert_uint_eq(w.data[0], 0x98);
		ck_assert_uint_eq(w.data[1], 28);
		ck_assert_uint_eq(w.data[2], 100);
	}
	tmp.type = 8;
	ck_assert_int_eq(sdrv_netif_ctrl_encode_req(&tmp, slot, 16), -SDRV_EINVAL);
	tmp.type = 0;
	ck_assert_int_eq(sdrv_netif_ctrl_encode_req(&tmp, slot, 16), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_netif_ctrl_encode_req(&reqs[0], slot, 15), -SDRV_EINVAL);

	/* Configurations the backend got wrong. */
	ck_assert_int_eq(sdrv_netif_ctrl_encode_req(&reqs[1], slot, 16), 0);
#define BADCFG(edit)                                                                               \
	do {                                                                                       \
		bad = c;                                                                           \
		edit;                                                                              \
		ck_assert_msg(sdrv_netif_ctrl_decode_req(slot, 16, &bad, &got) == -SDRV_EINVAL,    \
			      "accepted: %s", #edit);                                              \
	} while (0)
	BADCFG(bad.sz = offsetof(struct sdrv_netif_ctrl_config, nr_queues));
	BADCFG(bad.algorithm = 2);
	BADCFG(bad.hash_types = 0x10);
	BADCFG(bad.max_key_size = 4097);
	BADCFG(bad.mapping_size = 129);
#undef BADCFG
	ck_assert_int_eq(sdrv_netif_ctrl_decode_req(slot, 16, NULL, &got), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_netif_ctrl_decode_req(slot, 15, &c, &got), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_netif_ctrl_decode_req(NULL, 16, &c, &got), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_netif_ctrl_decode_req(slot, 16, &c, NULL), -SDRV_EINVAL);
}
END_TEST

/* --------------------------------- hash ---------------------------------- */

static const uint8_t ms_key[40] = {0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
				   0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
				   0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
				   0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};

/* Microsoft's "Verifying the RSS Hash Calculation" (also in Intel's 82599
 * datasheet, 7.1.2.8.3): destination, source, and the IPv4 / IPv4+TCP hashes. */
static const struct {
	uint8_t dst[4], src[4];
	uint16_t dport, sport;
	uint32_t l3, l4;
} ms_v4[] = {
    {{161, 142, 100, 80}, {66, 9, 149, 187}, 1766, 2794, 0x323e8fc2, 0x51ccc178},
    {{65, 69, 140, 83}, {199, 92, 111, 2}, 4739, 14230, 0xd718262a, 0xc626b0ea},
    {{12, 22, 207, 184}, {24, 19, 198, 95}, 38024, 12898, 0xd2d0a5de, 0x5c2b394a},
    {{209, 142, 163, 6}, {38, 27, 205, 30}, 2217, 48228, 0x82989176, 0xafc7327f},
    {{202, 188, 127, 2}, {153, 39, 163, 191}, 1303, 44251, 0x5d1809c5, 0x10e828a2},
};

static const struct {
	uint8_t dst[16], src[16];
	uint16_t dport, sport;
	uint32_t l3, l4;
} ms_v6[] = {
    {/* 3ffe:2501:200:3::1 */
     {0x3f, 0xfe, 0x25, 0x01, 0x02, 0x00, 0x00, 0x03, 0, 0, 0, 0, 0, 0, 0, 0x01},
     /* 3ffe:2501:200:1fff::7 */
     {0x3f, 0xfe, 0x25, 0x01, 0x02, 0x00, 0x1f, 0xff, 0, 0, 0, 0, 0, 0, 0, 0x07},
     1766,
     2794,
     0x2cc18cd5,
     0x40207d3d},
    {/* ff02::1 */
     {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01},
     /* 3ffe:501:8::260:97ff:fe40:efab */
     {0x3f, 0xfe, 0x05, 0x01, 0x00, 0x08, 0, 0, 0x02, 0x60, 0x97, 0xff, 0xfe, 0x40, 0xef, 0xab},
     4739,
     14230,
     0x0f0c461c,
     0xdde51bbf},
    {/* fe80::200:f8ff:fe21:67cf */
     {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x00, 0xf8, 0xff, 0xfe, 0x21, 0x67, 0xcf},
     /* 3ffe:1900:4545:3:200:f8ff:fe21:67cf */
     {0x3f, 0xfe, 0x19, 0x00, 0x45, 0x45, 0x00, 0x03, 0x02, 0x00, 0xf8, 0xff, 0xfe, 0x21, 0x67,
      0xcf},
     38024,
     44251,
     0x4b61e985,
     0x02d1feef},
};

static size_t frame_v4(uint8_t *f, const uint8_t *src, const uint8_t *dst, uint16_t sport,
		       uint16_t dport, uint8_t proto, bool vlan)
{
	size_t o = 12;

	memset(f, 0, 128);
	if (vlan) {
		f[o++] = 0x81, f[o++] = 0x00, f[o++] = 0x00, f[o++] = 0x05;
	}
	f[o++] = 0x08, f[o++] = 0x00;
	f[o] = 0x45; /* version 4, 20-byte header */
	f[o + 9] = proto;
	memcpy(f + o + 12, src, 4);
	memcpy(f + o + 16, dst, 4);
	f[o + 20] = (uint8_t)(sport >> 8), f[o + 21] = (uint8_t)sport;
	f[o + 22] = (uint8_t)(dport >> 8), f[o + 23] = (uint8_t)dport;
	return o + 40; /* with a 20-byte TCP header */
}

static size_t frame_v6(uint8_t *f, const uint8_t *src, const uint8_t *dst, uint16_t sport,
		       uint16_t dport, uint8_t next)
{
	size_t o = 14;

	memset(f, 0, 128);
	f[12] = 0x86, f[13] = 0xdd;
	f[o] = 0x60;
	f[o + 6] = next;
	memcpy(f + o + 8, src, 16);
	memcpy(f + o + 24, dst, 16);
	f[o + 40] = (uint8_t)(sport >> 8), f[o + 41] = (uint8_t)sport;
	f[o + 42] = (uint8_t)(dport >> 8), f[o + 43] = (uint8_t)dport;
	return o + 60;
}

/* Where the partial checksum goes (sdrv_netif_parse_l4()), on heap copies
 * of exactly the frame's length. */
static int l4_of(const uint8_t *f, size_t n, struct sdrv_netif_l4 *l4)
{
	uint8_t *c = malloc(n ? n : 1);
	int r;

	memcpy(c, f, n);
	r = sdrv_netif_parse_l4(c, n, l4);
	free(c);
	return r;
}

/* The mac keys: exactly xx:xx:xx:xx:xx:xx, unicast 0, group 1. */
START_TEST(parse_mac_strictly)
{
	static const char *const bad[] = {
	    "",
	    "00:16:3e:00:00",
	    "00:16:3e:00:00:011",
	    "00:16:3e:00:00:01 ",
	    " 0:16:3e:00:00:01",
	    "+2:+2:+2:+2:+2:+2",
	    "-2:-2:-2:-2:-2:-2",
	    "0:16:3e:00:00:01",
	    "00-16-3e-00-00-01",
	    "00:16:3e:00:00:0g",
	    "00:16:3e::00:01:",
	    "0x:16:3e:00:00:01",
	};
	uint8_t mac[6], keep[6] = {9, 9, 9, 9, 9, 9};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(mac, keep, 6);
		ck_assert_msg(sdrv_netif_parse_mac(bad[i], mac) == -SDRV_EINVAL, "\"%s\" accepted",
			      bad[i]);
		ck_assert_msg(!memcmp(mac, keep, 6), "\"%s\" wrote the address", bad[i]);
	}
	ck_assert_int_eq(sdrv_netif_parse_mac(NULL, mac), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_netif_parse_mac("00:16:3e:00:00:01", NULL), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_netif_parse_mac("00:16:3E:aB:cd:EF", mac), 0);
	ck_assert_mem_eq(mac, "\x00\x16\x3e\xab\xcd\xef", 6);
	ck_assert_int_eq(sdrv_netif_parse_mac("01:00:5e:00:00:fb", mac), 1);
	ck_assert_mem_eq(mac, "\x01\x00\x5e\x00\x00\xfb", 6);
	ck_assert_int_eq(sdrv_netif_parse_mac("ff:ff:ff:ff:ff:ff", mac), 1);
	ck_assert_int_eq(sdrv_netif_parse_mac("fe:ff:ff:ff:ff:ff", mac), 0);
}
END_TEST

START_TEST(parse_l4_frames)
{
	static const uint8_t a[4] = {10, 0, 0, 1}, b[4] = {10, 0, 0, 2};
	static const uint8_t a6[16] = {0xfd, [15] = 1}, b6[16] = {0xfd, [15] = 2};
	struct sdrv_netif_l4 l4;
	uint8_t f[128];
	size_t n;

	for (int vlan = 0; vlan < 2; vlan++) {
		size_t ip = vlan ? 18 : 14;

		n = frame_v4(f, a, b, 1, 2, 6, vlan);
		f[ip + 20 + 12] = 0x50; /* a 20-byte TCP header */
		ck_assert_int_eq(l4_of(f, n, &l4), 0);
		ck_assert_uint_eq(l4.csum_start, ip + 20);
		ck_assert_uint_eq(l4.csum_offset, 16);
		ck_assert_uint_eq(l4.hdr_len, ip + 40);
		ck_assert_uint_eq(l4.proto, 6);
		ck_assert_uint_eq(l4.ipv6, 0);
		/* every truncation: an error, nothing read past the end */
		for (size_t k = 0; k < n; k++)
			ck_assert_int_eq(l4_of(f, k, &l4), -SDRV_EBADMSG);
		/* TCP options: a 32-byte header past the frame, then within */
		f[ip + 20 + 12] = 0x80;
		ck_assert_int_eq(l4_of(f, n, &l4), -SDRV_EBADMSG);
		ck_assert_int_eq(l4_of(f, n + 12, &l4), 0);
		ck_assert_uint_eq(l4.hdr_len, ip + 52);
		f[ip + 20 + 12] = 0x40; /* below 20 bytes */
		ck_assert_int_eq(l4_of(f, n, &l4), -SDRV_EBADMSG);
		/* UDP */
		f[ip + 9] = 17;
		ck_assert_int_eq(l4_of(f, ip + 28, &l4), 0);
		ck_assert_uint_eq(l4.csum_offset, 6);
		ck_assert_uint_eq(l4.hdr_len, ip + 28);
		ck_assert_int_eq(l4_of(f, ip + 27, &l4), -SDRV_EBADMSG);
		/* other protocols; a later fragment; an IHL below 5 */
		f[ip + 9] = 1;
		ck_assert_int_eq(l4_of(f, n, &l4), -SDRV_EOPNOTSUPP);
		f[ip + 9] = 6;
		f[ip + 20 + 12] = 0x50;
		f[ip + 7] = 1;
		ck_assert_int_eq(l4_of(f, n, &l4), -SDRV_EOPNOTSUPP);
		f[ip + 7] = 0;
		f[ip] = 0x44;
		ck_assert_int_eq(l4_of(f, n, &l4), -SDRV_EBADMSG);
	}
	/* IPv6, directly and behind a hop-by-hop and a destination header */
	n = frame_v6(f, a6, b6, 1, 2, 6);
	f[54 + 12] = 0x50;
	ck_assert_int_eq(l4_of(f, 74, &l4), 0);
	ck_assert_uint_eq(l4.csum_start, 54);
	ck_assert_uint_eq(l4.ipv6, 1);
	ck_assert_uint_eq(l4.hdr_len, 74);
	memset(f + 54, 0, 16);
	f[20] = 0;  /* hop-by-hop */
	f[54] = 60; /* then destination options */
	f[62] = 17; /* then UDP */
	ck_assert_int_eq(l4_of(f, 78, &l4), 0);
	ck_assert_uint_eq(l4.csum_start, 70);
	ck_assert_uint_eq(l4.proto, 17);
	f[55] = 200; /* an extension header past the frame */
	ck_assert_int_eq(l4_of(f, 78, &l4), -SDRV_EBADMSG);
	f[12] = 0x88, f[13] = 0xcc; /* LLDP */
	ck_assert_int_eq(l4_of(f, 78, &l4), -SDRV_EOPNOTSUPP);
	ck_assert_int_eq(sdrv_netif_parse_l4(NULL, 10, &l4), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_netif_parse_l4(f, 10, NULL), -SDRV_EINVAL);
	(void)n;
}
END_TEST

START_TEST(toeplitz_known_answers)
{
	for (size_t i = 0; i < sizeof(ms_v4) / sizeof(ms_v4[0]); i++) {
		uint8_t in[12];

		memcpy(in, ms_v4[i].src, 4);
		memcpy(in + 4, ms_v4[i].dst, 4);
		in[8] = (uint8_t)(ms_v4[i].sport >> 8), in[9] = (uint8_t)ms_v4[i].sport;
		in[10] = (uint8_t)(ms_v4[i].dport >> 8), in[11] = (uint8_t)ms_v4[i].dport;
		ck_assert_uint_eq(sdrv_netif_toeplitz(ms_key, 40, in, 8), ms_v4[i].l3);
		ck_assert_uint_eq(sdrv_netif_toeplitz(ms_key, 40, in, 12), ms_v4[i].l4);
	}
	for (size_t i = 0; i < sizeof(ms_v6) / sizeof(ms_v6[0]); i++) {
		uint8_t in[36];

		memcpy(in, ms_v6[i].src, 16);
		memcpy(in + 16, ms_v6[i].dst, 16);
		in[32] = (uint8_t)(ms_v6[i].sport >> 8), in[33] = (uint8_t)ms_v6[i].sport;
		in[34] = (uint8_t)(ms_v6[i].dport >> 8), in[35] = (uint8_t)ms_v6[i].dport;
		ck_assert_uint_eq(sdrv_netif_toeplitz(ms_key, 40, in, 32), ms_v6[i].l3);
		ck_assert_uint_eq(sdrv_netif_toeplitz(ms_key, 40, in, 36), ms_v6[i].l4);
	}
	/* Key bytes past the key count as zero; no data hashes to zero. */
	{
		uint8_t k8[48] = {0}, in[36];

		memcpy(k8, ms_key, 12);
		for (size_t i = 0; i < sizeof(in); i++)
			in[i] = (uint8_t)(i * 37 + 1);
		ck_assert_uint_eq(sdrv_netif_toeplitz(ms_key, 12, in, 36),
				  sdrv_netif_toeplitz(k8, 48, in, 36));
		ck_assert_uint_eq(sdrv_netif_toeplitz(NULL, 0, in, 36), 0);
		ck_assert_uint_eq(sdrv_netif_toeplitz(ms_key, 40, NULL, 0), 0);
		/* One set bit picks the key's 32 bits at that position. */
		memset(in, 0, sizeof(in));
		in[1] = 0x80;
		ck_assert_uint_eq(sdrv_netif_toeplitz(ms_key, 40, in, 2), 0x5a56da25);
	}
}
END_TEST

START_TEST(hash_frames)
{
	uint8_t f[128];
	struct sdrv_netif_hash h;
	const uint32_t all = 0xf;

	for (size_t i = 0; i < sizeof(ms_v4) / sizeof(ms_v4[0]); i++) {
		for (int vlan = 0; vlan < 2; vlan++) {
			size_t n = frame_v4(f, ms_v4[i].src, ms_v4[i].dst, ms_v4[i].sport,
					    ms_v4[i].dport, 6, vlan);

			ck_assert_int_eq(sdrv_netif_hash_frame(ms_key, 40, all, f, n, &h), 0);
			ck_assert_uint_eq(h.value, ms_v4[i].l4);
			ck_assert_uint_eq(h.type, 1);
			ck_assert_uint_eq(h.algorithm, SDRV_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ);
			/* Only IPV4 enabled: the addresses alone. */
			ck_assert_int_eq(sdrv_netif_hash_frame(ms_key, 40, 1, f, n, &h), 0);
			ck_assert_uint_eq(h.value, ms_v4[i].l3);
			ck_assert_uint_eq(h.type, 0);
			/* Only IPV4_TCP: a UDP packet has no hash. */
			ck_assert_int_eq(sdrv_netif_hash_frame(ms_key, 40, 2, f, n, &h), 0);
			f[(vlan ? 18 : 14) + 9] = 17;
			ck_assert_int_eq(sdrv_netif_hash_frame(ms_key, 40, 2, f, n, &h),
					 -SDRV_ENOENT);
			ck_assert_int_eq(sdrv_netif_hash_frame(ms_key, 40, all, f, n, &h), 0);
			ck_assert_uint_eq(h.value, ms_v4[i].l3);
			f[(vlan ? 18 : 14) + 9] = 6;
			/* A fragment (MF, or an offset) hashes without ports. */
			f[(vlan ? 18 : 14) + 6] = 0x20;
			ck_assert_int_eq(sdrv_netif_hash_frame(ms_key, 40, all, f, n, &h), 0);
			ck_assert_uint_eq(h.type, 0);
			f[(vlan ? 18 : 14) + 6] = 0;
			f[(vlan ? 18 : 14) + 7] = 1;
			ck_assert_int_eq(sdrv_netif_hash_frame(ms_key, 40, all, f, n, &h), 0);
			ck_assert_uint_eq(h.type, 0);
			f[(vlan ? 18 : 14) + 7] = 0;
			f[(vlan ? 18 : 14) + 6] = 0x40; /* DF is not a fragment */
			ck_assert_int_eq(sdrv_netif_hash_frame(ms_key, 40, all, f, n, &h), 0);
			ck_assert_uint_eq(h.type, 1);
		}
	}
	for (size_t i = 0; i < sizeof(ms_v6) / sizeof(ms_v6[0]); i++) {
		size_t n =
		    frame_v6(f, ms_v6[i].src, ms_v6[i].dst, ms_v6[i].sport, ms_v6[i].dport, 6);

		ck_assert_int_eq(sdrv_netif_hash_frame(ms_key, 40, all, f, n, &h), 0);
		ck_assert_uint_eq(h.value, ms_v6[i].l4);
		ck_assert_uint_eq(h.type, 3);
		ck_assert_int_eq(sdrv_netif_hash_frame(ms_key, 40, 4, f, n, &h), 0);
		ck_assert_uint_eq(h.value, ms_v6[i].l3);
		ck_assert_uint_eq(h.type, 2);
		ck_assert_int_eq(sdrv_netif_hash_frame(ms_key, 40, 3, f, n, &h), -SDRV_ENOENT);
		/* Behind an extension header: the addresses only. */
		f[14 + 6] = 0; /* hop-by-hop */
		ck_assert_int_eq(sdrv_netif_hash_frame(ms_key, 40, all, f, n, &h), 0);
		ck_assert_uint_eq(h.value, ms_v6[i].l3);
		ck_assert_int_eq(sdrv_netif_hash_frame(ms_key, 40, 8, f, n, &h), -SDRV_ENOENT);
	}
	/* Every truncation is read within bounds (exact heap copies). */
	for (int kind = 0; kind < 3; kind++) {
		size_t full = kind == 0	  ? frame_v4(f, ms_v4[0].src, ms_v4[0].dst, 1, 2, 6, false)
			      : kind == 1 ? frame_v4(f, ms_v4[0].src, ms_v4[0].dst, 1, 2, 6, true)
					  : frame_v6(f, ms_v6[0].src, ms_v6[0].dst, 1, 2, 6);

		for (size_t n = 0; n <= full; n++) {
			uint8_t *copy = malloc(n ? n : 1);
			int rc;

			ck_assert_ptr_nonnull(copy);
			memcpy(copy, f, n);
			rc = sdrv_netif_hash_frame(ms_key, 40, all, copy, n, &h);
			ck_assert(rc == 0 || rc == -SDRV_ENOENT);
			if (rc == -SDRV_ENOENT)
				ck_assert(all_zero(&h, sizeof(h)));
			free(copy);
		}
	}
	/* Not IP, bad versions, a bad IHL. */
	frame_v4(f, ms_v4[0].src, ms_v4[0].dst, 1, 2, 6, false);
	f[12] = 0x08, f[13] = 0x06; /* ARP */
	ck_assert_int_eq(sdrv_netif_hash_frame(ms_key, 40, all, f, 60, &h), -SDRV_ENOENT);
	f[12] = 0x08, f[13] = 0x00, f[14] = 0x65;
	ck_assert_int_eq(sdrv_netif_hash_frame(ms_key, 40, all, f, 60, &h), -SDRV_ENOENT);
	f[14] = 0x44;
	ck_assert_int_eq(sdrv_netif_hash_frame(ms_key, 40, all, f, 60, &h), -SDRV_ENOENT);
	f[14] = 0x4f; /* a 60-byte header the frame does not hold */
	ck_assert_int_eq(sdrv_netif_hash_frame(ms_key, 40, all, f, 60, &h), -SDRV_ENOENT);
	ck_assert_int_eq(sdrv_netif_hash_frame(ms_key, 40, all, f, 14 + 60, &h), 0);
	ck_assert_int_eq(sdrv_netif_hash_frame(ms_key, 40, all, NULL, 10, &h), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_netif_hash_frame(ms_key, 40, all, f, 60, NULL), -SDRV_EINVAL);
}
END_TEST

START_TEST(errors_and_reasons)
{
	static const int errs[] = {-SDRV_EAGAIN,     -SDRV_EBADMSG, -SDRV_EPROTO, -SDRV_EMSGSIZE,
				   -SDRV_EOPNOTSUPP, -SDRV_ENOENT,  -SDRV_EINVAL};
	size_t n = sizeof(errs) / sizeof(errs[0]);

	for (size_t i = 0; i < n; i++) {
		ck_assert_ptr_null(strstr(sdrv_netif_strerror(errs[i]), "unknown"));
		for (size_t j = 0; j < i; j++)
			ck_assert_str_ne(sdrv_netif_strerror(errs[i]),
					 sdrv_netif_strerror(errs[j]));
	}
	ck_assert_ptr_nonnull(sdrv_netif_strerror(-12345));
	for (unsigned r = 0; r <= SDRV_NETIF_R_TOO_BIG; r++) {
		ck_assert_ptr_null(strstr(sdrv_netif_reason(r), "unknown"));
		for (unsigned q = 0; q < r; q++)
			ck_assert_str_ne(sdrv_netif_reason(r), sdrv_netif_reason(q));
	}
	ck_assert_ptr_nonnull(strstr(sdrv_netif_reason(SDRV_NETIF_R_TOO_BIG + 1), "unknown"));
}
END_TEST

/* -------------------------- over a real ring ----------------------------- */

/*
 * A frontend transmits packets (one of them dropped by the backend, one
 * spanning the ring's end) on a one-page tx ring; the backend takes
 * private copies in small batches, decodes with -SDRV_EAGAIN when a packet
 * is not all there yet, and answers every slot; the frontend checks every
 * answer against its ids.
 */
START_TEST(tx_over_a_ring)
{
	void *mem = aligned_alloc(SDRV_PAGE_SIZE, SDRV_PAGE_SIZE);
	struct sdrv_ring f, b;
	struct sdrv_netif_tx_pkt pk[16], got;
	unsigned n = sample_tx(pk), sent = 0, decoded = 0, dropped = 0, answered = 0, nulls = 0;
	unsigned char buf[SDRV_NETIF_TX_MAX_PACKET_SLOTS * SDRV_NETIF_TX_ENTRY_SIZE];
	unsigned char copy[SDRV_NETIF_TX_ENTRY_SIZE];
	size_t have = 0;
	bool seen[1024] = {false};

	ck_assert_ptr_nonnull(mem);
	memset(mem, 0xAA, SDRV_PAGE_SIZE);
	ck_assert_int_eq(sdrv_ring_front_init(&f, mem, SDRV_PAGE_SIZE, SDRV_NETIF_TX_ENTRY_SIZE),
			 0);
	ck_assert_int_eq(
	    sdrv_ring_back_attach(&b, mem, SDRV_PAGE_SIZE, SDRV_NETIF_TX_ENTRY_SIZE, 0), 0);
	for (int round = 0; round < 40; round++) {
		/* Frontend: the samples, then one packet the backend drops (a
		 * runt, hand-written), as long as there is room. */
		for (unsigned k = 0; k <= n; k++) {
			struct sdrv_netif_tx_pkt p;

			if (k < n) {
				p = pk[k];
				ck_assert_int_eq(sdrv_netif_tx_prepare(&p), 0);
				if (sdrv_ring_front_free(&f) < p.nr_slots)
					break;
				for (uint32_t i = 0; i < p.nr_slots; i++)
					ck_assert_int_eq(
					    sdrv_netif_tx_encode_req(
						&p, i, sdrv_ring_front_next_req(&f), 12),
					    0);
			} else {
				struct sdrv_netif_tx_request r = {
				    .gref = 1, .size = 13, .id = 1000};

				if (sdrv_ring_front_free(&f) < 1)
					break;
				memcpy(sdrv_ring_front_next_req(&f), &r, sizeof(r));
			}
			sent++;
		}
		sdrv_ring_front_push(&f);

		/* Backend: three slots at a time, so packets arrive in pieces. */
		for (;;) {
			int32_t got_n = sdrv_ring_back_take_reqs(
			    &b, buf + have * 12,
			    (uint32_t)(have + 3 <= SDRV_NETIF_TX_MAX_PACKET_SLOTS
					   ? 3
					   : SDRV_NETIF_TX_MAX_PACKET_SLOTS - have));
			int err;

			ck_assert_int_ge(got_n, 0);
			have += (size_t)got_n;
			err = sdrv_netif_tx_decode(buf, have, NULL, &got);
			if (err == -SDRV_EAGAIN) {
				if (got_n == 0)
					break;
				continue;
			}
			ck_assert_msg(err == 0 || err == -SDRV_EBADMSG, "%s",
				      sdrv_netif_reason(got.reason));
			if (err == 0)
				decoded++;
			else
				dropped++;
			for (uint32_t k = 0; k < got.nr_slots; k++) {
				struct sdrv_netif_tx_response r;

				ck_assert_int_eq(sdrv_netif_tx_make_rsp(
						     &got, k, sdrv_netif_tx_status_for(err), &r),
						 0);
				ck_assert_int_eq(
				    sdrv_netif_tx_encode_rsp(&r, sdrv_ring_back_next_rsp(&b), 12),
				    0);
			}
			memmove(buf, buf + (size_t)got.nr_slots * 12, (have - got.nr_slots) * 12);
			have -= got.nr_slots;
		}
		sdrv_ring_back_push(&b);
		ck_assert_uint_eq(have, 0);

		/* Frontend: every answer is a known id or NULL. */
		while (sdrv_ring_front_take_rsp(&f, copy) == 1) {
			struct sdrv_netif_tx_response r;

			ck_assert_int_eq(sdrv_netif_tx_decode_rsp(copy, 12, &r), 0);
			if (r.status == SDRV_NETIF_RSP_NULL) {
				nulls++;
				continue;
			}
			ck_assert_uint_lt(r.id, 1024);
			if (r.id == 1000)
				ck_assert_int_eq(r.status, SDRV_NETIF_RSP_ERROR);
			else
				ck_assert_int_eq(r.status, SDRV_NETIF_RSP_OKAY);
			seen[r.id] = true;
			answered++;
		}
	}
	ck_assert_uint_eq(decoded + dropped, sent);
	ck_assert_uint_gt(dropped, 0);
	ck_assert(seen[1000] && seen[999] && seen[6 * 32 + 17]);
	ck_assert_uint_gt(nulls, 0);
	ck_assert_uint_gt(answered, sent);
	ck_assert_ptr_null(sdrv_ring_broken(&f));
	ck_assert_ptr_null(sdrv_ring_broken(&b));
	free(mem);
}
END_TEST

/*
 * The receive path on a one-page rx ring: the frontend posts buffers, the
 * backend consumes one request per slot and answers each in its ring slot,
 * the frontend decodes packets and finds each fragment's buffer by
 * position, then reposts them.
 */
START_TEST(rx_over_a_ring)
{
	void *mem = aligned_alloc(SDRV_PAGE_SIZE, SDRV_PAGE_SIZE);
	struct sdrv_ring f, b;
	struct sdrv_netif_rx_pkt pk[8], got;
	unsigned n = sample_rx(pk), delivered = 0, received = 0;
	uint32_t next_gref = 0x100, posted_gref[256] = {0}, sizes[4096], base = 0, posted = 0;
	unsigned char rsps[SDRV_NETIF_RX_MAX_PACKET_SLOTS * 8], req[8];
	size_t have = 0;

	ck_assert_ptr_nonnull(mem);
	ck_assert_int_eq(sdrv_ring_front_init(&f, mem, SDRV_PAGE_SIZE, 8), 0);
	ck_assert_int_eq(sdrv_ring_back_attach(&b, mem, SDRV_PAGE_SIZE, 8, 0), 0);
	ck_assert_uint_eq(sdrv_ring_nr_ents(&f), 256);
	for (int round = 0; round < 30; round++) {
		/* Frontend: fill the ring with buffers; id = ring slot. */
		while (sdrv_ring_front_free(&f) > 0) {
			struct sdrv_netif_rx_request q;

			q.id = (uint16_t)(posted & 255);
			q.gref = next_gref++;
			posted_gref[posted & 255] = q.gref;
			posted++;
			ck_assert_int_eq(
			    sdrv_netif_rx_encode_req(&q, sdrv_ring_front_next_req(&f), 8), 0);
		}
		sdrv_ring_front_push(&f);
		/* Backend: deliver packets while requests last. */
		for (unsigned k = 0;; k = (k + 1) % n) {
			struct sdrv_netif_rx_pkt p = pk[k];

			ck_assert_int_eq(sdrv_netif_rx_prepare(&p), 0);
			if ((uint32_t)sdrv_ring_back_unconsumed(&b) < p.nr_slots)
				break;
			sizes[delivered % 4096] = p.size;
			for (uint32_t i = 0; i < p.nr_slots; i++) {
				struct sdrv_netif_rx_request q;

				ck_assert_int_eq(sdrv_ring_back_take_req(&b, req), 1);
				ck_assert_int_eq(sdrv_netif_rx_decode_req(req, 8, &q), 0);
				ck_assert_int_eq(sdrv_netif_rx_encode_rsp(
						     &p, i, &q, sdrv_ring_back_next_rsp(&b), 8),
						 0);
			}
			delivered++;
		}
		sdrv_ring_back_push(&b);
		/* Frontend: take responses into private memory, decode whole
		 * packets, find each fragment's buffer by its ring slot. */
		for (;;) {
			int32_t got_n = sdrv_ring_front_take_rsps(
			    &f, rsps + have * 8, (uint32_t)(SDRV_NETIF_RX_MAX_PACKET_SLOTS - have));
			int err;

			ck_assert_int_ge(got_n, 0);
			have += (size_t)got_n;
			err = sdrv_netif_rx_decode(rsps, have, &got);
			if (err == -SDRV_EAGAIN && got_n == 0)
				break;
			if (err == -SDRV_EAGAIN)
				continue;
			ck_assert_int_eq(err, 0);
			ck_assert_uint_eq(got.size, sizes[received % 4096]);
			for (unsigned i = 0; i < got.nr_frags; i++) {
				uint32_t idx = (base + got.frag[i].slot) & 255;

				/* Our backend echoes the id: it is the slot. */
				ck_assert_uint_eq(got.frag[i].id, idx);
				ck_assert_uint_ne(posted_gref[idx], 0);
			}
			for (uint32_t i = 0; i < got.nr_slots; i++)
				posted_gref[(base + i) & 255] = 0;
			memmove(rsps, rsps + (size_t)got.nr_slots * 8, (have - got.nr_slots) * 8);
			have -= got.nr_slots;
			base += got.nr_slots;
			received++;
		}
		ck_assert_uint_eq(have, 0);
	}
	ck_assert_uint_eq(received, delivered);
	ck_assert_uint_gt(received, 30);
	ck_assert_ptr_null(sdrv_ring_broken(&f));
	free(mem);
}
END_TEST

static Suite *netif_suite(void)
{
	Suite *s = suite_create("netif");
	TCase *tc;

	tc = tcase_create("tx");
	tcase_add_test(tc, tx_single_slot);
	tcase_add_test(tc, tx_multi_slot_sizes);
	tcase_add_test(tc, tx_slot_count_boundaries);
	tcase_add_test(tc, tx_page_boundaries);
	tcase_add_test(tc, tx_size_rules);
	tcase_add_test(tc, tx_zero_length_slots);
	tcase_add_test(tc, tx_extra_info_rules);
	tcase_add_test(tc, tx_multicast_requests);
	tcase_add_test(tc, tx_need_more_slots);
	tcase_add_test(tc, tx_responses_zeroed);
	tcase_add_test(tc, tx_response_decoder);
	tcase_add_test(tc, tx_arguments);
	tcase_add_test(tc, tx_round_trips);
	tcase_add_test(tc, tx_prepare_refuses);
	suite_add_tcase(s, tc);

	tc = tcase_create("rx");
	tcase_add_test(tc, rx_requests);
	tcase_add_test(tc, rx_decode_basics);
	tcase_add_test(tc, rx_slot_rules);
	tcase_add_test(tc, rx_extra_rules);
	tcase_add_test(tc, rx_round_trips);
	tcase_add_test(tc, rx_prepare_refuses);
	suite_add_tcase(s, tc);

	tc = tcase_create("ctrl");
	tcase_add_test(tc, ctrl_requests);
	tcase_add_test(tc, ctrl_mapping_overflow);
	tcase_add_test(tc, ctrl_mapping_entries);
	tcase_add_test(tc, ctrl_responses);
	tcase_add_test(tc, ctrl_round_trip_and_config);
	suite_add_tcase(s, tc);

	tc = tcase_create("hash");
	tcase_add_test(tc, toeplitz_known_answers);
	tcase_add_test(tc, hash_frames);
	tcase_add_test(tc, parse_l4_frames);
	tcase_add_test(tc, parse_mac_strictly);
	tcase_add_test(tc, errors_and_reasons);
	suite_add_tcase(s, tc);

	tc = tcase_create("ring");
	tcase_add_test(tc, tx_over_a_ring);
	tcase_add_test(tc, rx_over_a_ring);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(netif_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
