/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the blkif codec (libsplitdrv/blkif.c), in every ABI.
 *
 * Wire bytes are built here with the layout structures of proto/blkif.h
 * (which tests/interop checks against Xen's headers), never with the
 * codec's own encoder, so a decoder test does not trust the encoder and an
 * encoder test compares with bytes built independently. Slots handed to
 * the decoders are heap blocks of exactly the ABI's request or response
 * size, so any read past them is caught by ASan or valgrind.
 *
 * The loop tests run once per ABI (_i indexes abis[]).
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <splitdrv/proto/blkif.h>
#include <splitdrv/ring.h>

static const enum sdrv_blkif_abi abis[] = {SDRV_BLKIF_ABI_X86_32, SDRV_BLKIF_ABI_X86_64,
					   SDRV_BLKIF_ABI_ARM};
#define NR_ABIS 3

#define DEV_SECTORS 1000000u

static struct sdrv_blkif_limits lim_all(uint64_t sectors)
{
	struct sdrv_blkif_limits l;

	memset(&l, 0, sizeof(l));
	l.sz = sizeof(l);
	l.sectors = sectors;
	l.max_indirect_segments = 256;
	l.flags = SDRV_BLKIF_LIM_FLUSH | SDRV_BLKIF_LIM_BARRIER | SDRV_BLKIF_LIM_DISCARD |
		  SDRV_BLKIF_LIM_DISCARD_SECURE;
	return l;
}

static size_t req_size(enum sdrv_blkif_abi abi)
{
	size_t r;

	ck_assert_int_eq(sdrv_blkif_abi_sizes(abi, &r, NULL), 0);
	return r;
}

static size_t rsp_size(enum sdrv_blkif_abi abi)
{
	size_t r;

	ck_assert_int_eq(sdrv_blkif_abi_sizes(abi, NULL, &r), 0);
	return r;
}

/* ------------------------- wire bytes, by hand --------------------------- */

/* One wire entry, as the frontend wrote it. */
struct wire {
	unsigned char b[SDRV_BLKIF_ENTRY_SIZE];
};

#define FILL_RW(T)                                                                                 \
	do {                                                                                       \
		T r;                                                                               \
		memset(&r, 0, sizeof(r));                                                          \
		r.operation = op;                                                                  \
		r.nr_segments = nseg;                                                              \
		r.handle = handle;                                                                 \
		r.id = id;                                                                         \
		r.sector_number = sector;                                                          \
		for (unsigned i = 0; i < nseg && i < SDRV_BLKIF_MAX_SEGMENTS_PER_REQUEST; i++)     \
			r.seg[i] = segs[i];                                                        \
		memcpy(w.b, &r, sizeof(r));                                                        \
	} while (0)

/* A read/write/barrier/flush request (or any op in that layout). */
static struct wire wire_rw(enum sdrv_blkif_abi abi, uint8_t op, uint8_t nseg, uint16_t handle,
			   uint64_t id, uint64_t sector,
			   const struct sdrv_blkif_request_segment *segs)
{
	struct wire w;

	memset(&w, 0, sizeof(w));
	if (abi == SDRV_BLKIF_ABI_X86_32)
		FILL_RW(struct sdrv_blkif_x86_32_request);
	else
		FILL_RW(struct sdrv_blkif_request);
	return w;
}

#define FILL_DISCARD(T)                                                                            \
	do {                                                                                       \
		T r;                                                                               \
		memset(&r, 0, sizeof(r));                                                          \
		r.operation = SDRV_BLKIF_OP_DISCARD;                                               \
		r.flag = flag;                                                                     \
		r.handle = handle;                                                                 \
		r.id = id;                                                                         \
		r.sector_number = sector;                                                          \
		r.nr_sectors = n;                                                                  \
		memcpy(w.b, &r, sizeof(r));                                                        \
	} while (0)

static struct wire wire_discard(enum sdrv_blkif_abi abi, uint8_t flag, uint16_t handle, uint64_t id,
				uint64_t sector, uint64_t n)
{
	struct wire w;

	memset(&w, 0, sizeof(w));
	if (abi == SDRV_BLKIF_ABI_X86_32)
		FILL_DISCARD(struct sdrv_blkif_x86_32_request_discard);
	else
		FILL_DISCARD(struct sdrv_blkif_request_discard);
	return w;
}

#define FILL_INDIRECT(T)                                                                           \
	do {                                                                                       \
		T r;                                                                               \
		memset(&r, 0, sizeof(r));                                                          \
		r.operation = SDRV_BLKIF_OP_INDIRECT;                                              \
		r.indirect_op = iop;                                                               \
		r.nr_segments = nseg;                                                              \
		r.handle = handle;                                                                 \
		r.id = id;                                                                         \
		r.sector_number = sector;                                                          \
		for (unsigned i = 0; i < npages; i++)                                              \
			r.indirect_grefs[i] = grefs[i];                                            \
		memcpy(w.b, &r, sizeof(r));                                                        \
	} while (0)

static struct wire wire_indirect(enum sdrv_blkif_abi abi, uint8_t iop, uint16_t nseg,
				 uint16_t handle, uint64_t id, uint64_t sector,
				 const uint32_t *grefs, unsigned npages)
{
	struct wire w;

	memset(&w, 0, sizeof(w));
	if (abi == SDRV_BLKIF_ABI_X86_32)
		FILL_INDIRECT(struct sdrv_blkif_x86_32_request_indirect);
	else
		FILL_INDIRECT(struct sdrv_blkif_request_indirect);
	return w;
}

/* Decode `w` from an exact-size private copy. */
static int decode(enum sdrv_blkif_abi abi, const struct wire *w,
		  const struct sdrv_blkif_limits *lim, struct sdrv_blkif_req *req)
{
	size_t n = req_size(abi);
	unsigned char *copy = malloc(n);
	int rc;

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, w->b, n);
	rc = sdrv_blkif_decode_req(abi, copy, n, lim, req);
	free(copy);
	return rc;
}

static struct sdrv_blkif_request_segment wseg(uint32_t gref, uint8_t first, uint8_t last)
{
	struct sdrv_blkif_request_segment s;

	memset(&s, 0, sizeof(s));
	s.gref = gref;
	s.first_sect = first;
	s.last_sect = last;
	return s;
}

/* `n` full-page segments. */
static void full_segs(struct sdrv_blkif_request_segment *s, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		s[i] = wseg(100 + i, 0, 7);
}

/* Decode a read of `nseg` full pages at `sector`; return the error. */
static int try_rw(enum sdrv_blkif_abi abi, uint8_t op, uint8_t nseg, uint64_t sector,
		  const struct sdrv_blkif_limits *lim)
{
	struct sdrv_blkif_request_segment s[SDRV_BLKIF_MAX_SEGMENTS_PER_REQUEST + 4];
	struct sdrv_blkif_req req;
	struct wire w;

	full_segs(s, SDRV_BLKIF_MAX_SEGMENTS_PER_REQUEST + 4);
	w = wire_rw(abi, op, nseg, 3, 77, sector, s);
	return decode(abi, &w, lim, &req);
}

/* --------------------------------- ABIs ---------------------------------- */

START_TEST(abi_from_protocol_key)
{
	enum sdrv_blkif_abi abi = 0;
	static const char *const bad[] = {
	    "",		  "x86_32",	 "x86_64",	 "arm",
	    "X86_32-ABI", "x86_32-abi ", " x86_64-abi",	 "x86_64-abix",
	    "ppc-abi",	  "native",	 "x86_64-abi\n",
	};

	ck_assert_int_eq(sdrv_blkif_abi_parse(NULL, &abi), 0);
	ck_assert_int_eq(abi, SDRV_BLKIF_ABI_NATIVE);
#if defined(__x86_64__)
	ck_assert_int_eq(abi, SDRV_BLKIF_ABI_X86_64);
#endif
	ck_assert_int_eq(sdrv_blkif_abi_parse("x86_32-abi", &abi), 0);
	ck_assert_int_eq(abi, SDRV_BLKIF_ABI_X86_32);
	ck_assert_int_eq(sdrv_blkif_abi_parse("x86_64-abi", &abi), 0);
	ck_assert_int_eq(abi, SDRV_BLKIF_ABI_X86_64);
	ck_assert_int_eq(sdrv_blkif_abi_parse("arm-abi", &abi), 0);
	ck_assert_int_eq(abi, SDRV_BLKIF_ABI_ARM);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		abi = SDRV_BLKIF_ABI_ARM;
		ck_assert_msg(sdrv_blkif_abi_parse(bad[i], &abi) == -SDRV_EINVAL, "'%s' accepted",
			      bad[i]);
		ck_assert_int_eq(abi, SDRV_BLKIF_ABI_ARM); /* untouched */
	}
	ck_assert_int_eq(sdrv_blkif_abi_parse("arm-abi", NULL), -SDRV_EINVAL);

	/* Names round-trip through the parser. */
	for (int i = 0; i < NR_ABIS; i++) {
		ck_assert_int_eq(sdrv_blkif_abi_parse(sdrv_blkif_abi_name(abis[i]), &abi), 0);
		ck_assert_int_eq(abi, abis[i]);
	}
	ck_assert_str_eq(sdrv_blkif_abi_name(SDRV_BLKIF_ABI_X86_32), SDRV_IO_PROTO_ABI_X86_32);
	ck_assert_ptr_null(sdrv_blkif_abi_name(0));
	ck_assert_ptr_null(sdrv_blkif_abi_name(4));
}
END_TEST

START_TEST(abi_sizes)
{
	size_t rq = 0, rs = 0;

	ck_assert_int_eq(sdrv_blkif_abi_sizes(SDRV_BLKIF_ABI_X86_32, &rq, &rs), 0);
	ck_assert_uint_eq(rq, 108);
	ck_assert_uint_eq(rs, 12);
	ck_assert_uint_eq(sdrv_blkif_entry_size(SDRV_BLKIF_ABI_X86_32), 108);
	ck_assert_int_eq(sdrv_blkif_abi_sizes(SDRV_BLKIF_ABI_X86_64, &rq, &rs), 0);
	ck_assert_uint_eq(rq, 112);
	ck_assert_uint_eq(rs, 16);
	ck_assert_uint_eq(sdrv_blkif_entry_size(SDRV_BLKIF_ABI_X86_64), 112);
	ck_assert_int_eq(sdrv_blkif_abi_sizes(SDRV_BLKIF_ABI_ARM, &rq, &rs), 0);
	ck_assert_uint_eq(rq, 112);
	ck_assert_uint_eq(rs, 16);
	ck_assert_uint_eq(sdrv_blkif_entry_size(SDRV_BLKIF_ABI_ARM), 112);
	ck_assert_int_eq(sdrv_blkif_abi_sizes(0, &rq, &rs), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_blkif_abi_sizes(4, NULL, NULL), -SDRV_EINVAL);
	ck_assert_uint_eq(sdrv_blkif_entry_size(0), 0);
	ck_assert_uint_eq(sdrv_blkif_entry_size((enum sdrv_blkif_abi) - 1), 0);
	/* One page of ring holds 32 entries in every ABI. */
	for (int i = 0; i < NR_ABIS; i++)
		ck_assert_uint_eq(
		    sdrv_ring_size_for(SDRV_PAGE_SIZE, sdrv_blkif_entry_size(abis[i])), 32);
}
END_TEST

/* ----------------------------- round trips ------------------------------- */

/* Requests of every operation, as a frontend fills them in. */
static unsigned sample_reqs(struct sdrv_blkif_req *out)
{
	unsigned n = 0;
	struct sdrv_blkif_req r;

	/* read/write/barrier/flush with 1, 11 and (flush, barrier) 0 segments */
	static const struct {
		uint8_t op, nseg;
	} rw[] = {
	    {SDRV_BLKIF_OP_READ, 1},
	    {SDRV_BLKIF_OP_READ, 11},
	    {SDRV_BLKIF_OP_WRITE, 5},
	    {SDRV_BLKIF_OP_WRITE, 11},
	    {SDRV_BLKIF_OP_WRITE_BARRIER, 0},
	    {SDRV_BLKIF_OP_WRITE_BARRIER, 3},
	    {SDRV_BLKIF_OP_FLUSH_DISKCACHE, 0},
	    {SDRV_BLKIF_OP_FLUSH_DISKCACHE, 11},
	};
	for (size_t k = 0; k < sizeof(rw) / sizeof(rw[0]); k++) {
		memset(&r, 0, sizeof(r));
		r.operation = rw[k].op;
		r.nr_segments = rw[k].nseg;
		r.handle = (uint16_t)(0x5100 + k);
		r.id = 0x1122334455667700ull + k;
		r.sector_number = rw[k].nseg ? 4096 + 100 * k : 0;
		for (unsigned i = 0; i < rw[k].nseg; i++) {
			r.seg[i].gref = 0xabc00000u + i;
			r.seg[i].first_sect = (uint8_t)(i % 8);
			r.seg[i].last_sect = 7;
			r.nr_sectors += 8 - i % 8;
		}
		out[n++] = r;
	}
	for (int secure = 0; secure < 2; secure++) {
		memset(&r, 0, sizeof(r));
		r.operation = SDRV_BLKIF_OP_DISCARD;
		r.handle = 0xfeed;
		r.id = UINT64_MAX - (uint64_t)secure;
		r.sector_number = 12345;
		r.nr_sectors = 777;
		r.discard_secure = secure;
		out[n++] = r;
	}
	static const struct {
		uint8_t iop;
		uint16_t nseg;
	} ind[] = {{SDRV_BLKIF_OP_READ, 1}, {SDRV_BLKIF_OP_WRITE, 12}, {SDRV_BLKIF_OP_READ, 256}};
	for (size_t k = 0; k < sizeof(ind) / sizeof(ind[0]); k++) {
		memset(&r, 0, sizeof(r));
		r.operation = SDRV_BLKIF_OP_INDIRECT;
		r.indirect_op = ind[k].iop;
		r.nr_segments = ind[k].nseg;
		r.nr_indirect_pages = 1;
		r.handle = 0x0303;
		r.id = 42 + k;
		r.sector_number = 8192;
		r.indirect_grefs[0] = 0x7777 + (uint32_t)k;
		out[n++] = r;
	}
	return n;
}

/* What the frontend's request looks like in the ABI's own structures. */
static struct wire expected_wire(enum sdrv_blkif_abi abi, const struct sdrv_blkif_req *r)
{
	struct sdrv_blkif_request_segment s[SDRV_BLKIF_MAX_SEGMENTS_PER_REQUEST];

	switch (r->operation) {
	case SDRV_BLKIF_OP_DISCARD:
		return wire_discard(abi, r->discard_secure ? SDRV_BLKIF_DISCARD_SECURE : 0,
				    r->handle, r->id, r->sector_number, r->nr_sectors);
	case SDRV_BLKIF_OP_INDIRECT:
		return wire_indirect(abi, r->indirect_op, r->nr_segments, r->handle, r->id,
				     r->sector_number, r->indirect_grefs, r->nr_indirect_pages);
	default:
		for (unsigned i = 0; i < r->nr_segments; i++)
			s[i] = wseg(r->seg[i].gref, r->seg[i].first_sect, r->seg[i].last_sect);
		return wire_rw(abi, r->operation, (uint8_t)r->nr_segments, r->handle, r->id,
			       r->sector_number, s);
	}
}

START_TEST(every_operation_round_trips)
{
	enum sdrv_blkif_abi abi = abis[_i];
	struct sdrv_blkif_limits lim = lim_all(DEV_SECTORS);
	struct sdrv_blkif_req reqs[16], got;
	size_t esz = sdrv_blkif_entry_size(abi);
	unsigned n = sample_reqs(reqs);

	for (unsigned k = 0; k < n; k++) {
		unsigned char slot[SDRV_BLKIF_ENTRY_SIZE];
		struct wire want = expected_wire(abi, &reqs[k]);

		/* Encode: the whole entry is written, and it is exactly the
		 * bytes of the ABI's structure (padding zero). */
		memset(slot, 0xAA, sizeof(slot));
		ck_assert_int_eq(sdrv_blkif_encode_req(abi, &reqs[k], slot, esz), 0);
		ck_assert_msg(memcmp(slot, want.b, esz) == 0, "op %u: encoded bytes differ",
			      reqs[k].operation);
		for (size_t b = esz; b < sizeof(slot); b++)
			ck_assert_uint_eq(slot[b], 0xAA); /* nothing past len */

		/* Decode gives back the same request. */
		memcpy(want.b, slot, sizeof(want.b));
		ck_assert_int_eq(decode(abi, &want, &lim, &got), 0);
		if (reqs[k].operation == SDRV_BLKIF_OP_INDIRECT)
			ck_assert_uint_eq(got.nr_sectors, 0); /* known with the pages */
		ck_assert_msg(memcmp(&got, &reqs[k], sizeof(got)) == 0, "op %u does not round-trip",
			      reqs[k].operation);
	}
}
END_TEST

START_TEST(decoded_requests_have_unused_members_zero)
{
	enum sdrv_blkif_abi abi = abis[_i];
	struct sdrv_blkif_limits lim = lim_all(DEV_SECTORS);
	struct sdrv_blkif_request_segment s[SDRV_BLKIF_MAX_SEGMENTS_PER_REQUEST];
	struct sdrv_blkif_req got, want;
	struct wire w;
	uint32_t grefs[8] = {1, 2, 3, 4, 5, 6, 7, 8};

	/* A discard whose bytes past the discard structure are garbage, and a
	 * flush with garbage in its unused segments: neither leaks. */
	w = wire_discard(abi, 0xfe, 9, 10, 11, 12);
	memset(w.b + (abi == SDRV_BLKIF_ABI_X86_32 ? 28 : 32), 0xEE,
	       req_size(abi) - (abi == SDRV_BLKIF_ABI_X86_32 ? 28 : 32));
	ck_assert_int_eq(decode(abi, &w, &lim, &got), 0);
	memset(&want, 0, sizeof(want));
	want.operation = SDRV_BLKIF_OP_DISCARD;
	want.handle = 9;
	want.id = 10;
	want.sector_number = 11;
	want.nr_sectors = 12;
	ck_assert_int_eq(memcmp(&got, &want, sizeof(got)), 0); /* unknown flag bits ignored */

	full_segs(s, SDRV_BLKIF_MAX_SEGMENTS_PER_REQUEST);
	w = wire_rw(abi, SDRV_BLKIF_OP_FLUSH_DISKCACHE, 0, 1, 2, 3, s);
	for (unsigned i = 0; i < SDRV_BLKIF_MAX_SEGMENTS_PER_REQUEST; i++)
		memcpy(w.b + (abi == SDRV_BLKIF_ABI_X86_32 ? 20 : 24) + 8 * i, &s[i], 8);
	ck_assert_int_eq(decode(abi, &w, &lim, &got), 0);
	memset(&want, 0, sizeof(want));
	want.operation = SDRV_BLKIF_OP_FLUSH_DISKCACHE;
	want.handle = 1;
	want.id = 2;
	want.sector_number = 3;
	ck_assert_int_eq(memcmp(&got, &want, sizeof(got)), 0);

	/* An indirect request of 513 segments uses 2 pages: only 2 grefs. */
	w = wire_indirect(abi, SDRV_BLKIF_OP_WRITE, 513, 4, 5, 6, grefs, 8);
	lim.max_indirect_segments = 1024;
	ck_assert_int_eq(decode(abi, &w, &lim, &got), 0);
	ck_assert_uint_eq(got.nr_indirect_pages, 2);
	ck_assert_uint_eq(got.indirect_grefs[0], 1);
	ck_assert_uint_eq(got.indirect_grefs[1], 2);
	for (int i = 2; i < 8; i++)
		ck_assert_uint_eq(got.indirect_grefs[i], 0);
}
END_TEST

/* ----------------------------- validation -------------------------------- */

START_TEST(segment_count_boundaries)
{
	enum sdrv_blkif_abi abi = abis[_i];
	struct sdrv_blkif_limits lim = lim_all(DEV_SECTORS);

	ck_assert_int_eq(try_rw(abi, SDRV_BLKIF_OP_READ, 11, 0, &lim), 0);
	ck_assert_int_eq(try_rw(abi, SDRV_BLKIF_OP_READ, 12, 0, &lim), -SDRV_EMSGSIZE);
	ck_assert_int_eq(try_rw(abi, SDRV_BLKIF_OP_READ, 255, 0, &lim), -SDRV_EMSGSIZE);
	ck_assert_int_eq(try_rw(abi, SDRV_BLKIF_OP_READ, 1, 0, &lim), 0);
	ck_assert_int_eq(try_rw(abi, SDRV_BLKIF_OP_READ, 0, 0, &lim), -SDRV_EMSGSIZE);
	ck_assert_int_eq(try_rw(abi, SDRV_BLKIF_OP_WRITE, 11, 0, &lim), 0);
	ck_assert_int_eq(try_rw(abi, SDRV_BLKIF_OP_WRITE, 12, 0, &lim), -SDRV_EMSGSIZE);
	ck_assert_int_eq(try_rw(abi, SDRV_BLKIF_OP_WRITE, 0, 0, &lim), -SDRV_EMSGSIZE);
	/* Flush and barrier may carry no data (Linux blkback: REQ_PREFLUSH). */
	ck_assert_int_eq(try_rw(abi, SDRV_BLKIF_OP_FLUSH_DISKCACHE, 0, 0, &lim), 0);
	ck_assert_int_eq(try_rw(abi, SDRV_BLKIF_OP_FLUSH_DISKCACHE, 11, 0, &lim), 0);
	ck_assert_int_eq(try_rw(abi, SDRV_BLKIF_OP_FLUSH_DISKCACHE, 12, 0, &lim), -SDRV_EMSGSIZE);
	ck_assert_int_eq(try_rw(abi, SDRV_BLKIF_OP_WRITE_BARRIER, 0, 0, &lim), 0);
	ck_assert_int_eq(try_rw(abi, SDRV_BLKIF_OP_WRITE_BARRIER, 11, 0, &lim), 0);
	ck_assert_int_eq(try_rw(abi, SDRV_BLKIF_OP_WRITE_BARRIER, 12, 0, &lim), -SDRV_EMSGSIZE);
}
END_TEST

START_TEST(segment_sector_boundaries)
{
	enum sdrv_blkif_abi abi = abis[_i];
	struct sdrv_blkif_limits lim = lim_all(DEV_SECTORS);
	struct sdrv_blkif_request_segment s[SDRV_BLKIF_MAX_SEGMENTS_PER_REQUEST];
	struct sdrv_blkif_req req;
	struct wire w;
	static const struct {
		uint8_t first, last;
		int rc;
	} t[] = {
	    {0, 7, 0},
	    {7, 7, 0},
	    {0, 0, 0},
	    {3, 3, 0},
	    {0, 8, -SDRV_EBADMSG},
	    {7, 8, -SDRV_EBADMSG},
	    {8, 8, -SDRV_EBADMSG},
	    {3, 2, -SDRV_EBADMSG},
	    {7, 0, -SDRV_EBADMSG},
	    {255, 255, -SDRV_EBADMSG},
	    {0, 255, -SDRV_EBADMSG},
	};

	for (size_t k = 0; k < sizeof(t) / sizeof(t[0]); k++) {
		/* The bad segment last of 11, so every slot position is read. */
		full_segs(s, SDRV_BLKIF_MAX_SEGMENTS_PER_REQUEST);
		s[10] = wseg(5, t[k].first, t[k].last);
		w = wire_rw(abi, SDRV_BLKIF_OP_WRITE, 11, 0, 99, 0, s);
		ck_assert_msg(decode(abi, &w, &lim, &req) == t[k].rc, "segment %u..%u", t[k].first,
			      t[k].last);
		if (t[k].rc == 0)
			ck_assert_uint_eq(req.nr_sectors, 80u + t[k].last - t[k].first + 1);
		else
			ck_assert_uint_eq(req.id, 99); /* still answerable */
	}
}
END_TEST

START_TEST(sectors_inside_the_device)
{
	enum sdrv_blkif_abi abi = abis[_i];
	struct sdrv_blkif_limits lim = lim_all(1000);
	struct sdrv_blkif_request_segment s[2] = {wseg(1, 0, 7), wseg(2, 7, 7)};
	struct sdrv_blkif_req req;
	struct wire w;

	/* 1 sector: the last one of the device, and one past it. */
	w = wire_rw(abi, SDRV_BLKIF_OP_READ, 1, 0, 1, 999, &s[1]);
	ck_assert_int_eq(decode(abi, &w, &lim, &req), 0);
	w = wire_rw(abi, SDRV_BLKIF_OP_READ, 1, 0, 1, 1000, &s[1]);
	ck_assert_int_eq(decode(abi, &w, &lim, &req), -SDRV_ERANGE);
	/* 9 sectors ending exactly at the end, and one further. */
	w = wire_rw(abi, SDRV_BLKIF_OP_WRITE, 2, 0, 1, 991, s);
	ck_assert_int_eq(decode(abi, &w, &lim, &req), 0);
	ck_assert_uint_eq(req.nr_sectors, 9);
	w = wire_rw(abi, SDRV_BLKIF_OP_WRITE, 2, 0, 1, 992, s);
	ck_assert_int_eq(decode(abi, &w, &lim, &req), -SDRV_ERANGE);
	/* Near UINT64_MAX: sector + count wraps; must not pass. */
	for (uint64_t d = 0; d < 16; d++) {
		w = wire_rw(abi, SDRV_BLKIF_OP_WRITE, 2, 0, 1, UINT64_MAX - d, s);
		ck_assert_int_eq(decode(abi, &w, &lim, &req), -SDRV_ERANGE);
	}
	/* The largest device: the end is exactly UINT64_MAX. */
	lim.sectors = UINT64_MAX;
	w = wire_rw(abi, SDRV_BLKIF_OP_WRITE, 2, 0, 1, UINT64_MAX - 9, s);
	ck_assert_int_eq(decode(abi, &w, &lim, &req), 0);
	w = wire_rw(abi, SDRV_BLKIF_OP_WRITE, 2, 0, 1, UINT64_MAX - 8, s);
	ck_assert_int_eq(decode(abi, &w, &lim, &req), -SDRV_ERANGE);
	w = wire_rw(abi, SDRV_BLKIF_OP_WRITE, 2, 0, 1, UINT64_MAX, s);
	ck_assert_int_eq(decode(abi, &w, &lim, &req), -SDRV_ERANGE);
	/* An empty device takes no data, but a flush without data is fine
	 * wherever its (unused) sector_number points. */
	lim.sectors = 0;
	w = wire_rw(abi, SDRV_BLKIF_OP_READ, 1, 0, 1, 0, s);
	ck_assert_int_eq(decode(abi, &w, &lim, &req), -SDRV_ERANGE);
	w = wire_rw(abi, SDRV_BLKIF_OP_FLUSH_DISKCACHE, 0, 0, 1, UINT64_MAX, s);
	ck_assert_int_eq(decode(abi, &w, &lim, &req), 0);
}
END_TEST

START_TEST(discard_rules)
{
	enum sdrv_blkif_abi abi = abis[_i];
	struct sdrv_blkif_limits lim = lim_all(1000);
	struct sdrv_blkif_req req;
	struct wire w;

	w = wire_discard(abi, 0, 0, 5, 0, 1000); /* the whole device */
	ck_assert_int_eq(decode(abi, &w, &lim, &req), 0);
	ck_assert_uint_eq(req.nr_sectors, 1000);
	w = wire_discard(abi, 0, 0, 5, 1, 1000);
	ck_assert_int_eq(decode(abi, &w, &lim, &req), -SDRV_ERANGE);
	w = wire_discard(abi, 0, 0, 5, 999, 1);
	ck_assert_int_eq(decode(abi, &w, &lim, &req), 0);
	w = wire_discard(abi, 0, 0, 5, 1000, 1);
	ck_assert_int_eq(decode(abi, &w, &lim, &req), -SDRV_ERANGE);
	w = wire_discard(abi, 0, 0, 5, 1, UINT64_MAX);
	ck_assert_int_eq(decode(abi, &w, &lim, &req), -SDRV_ERANGE);
	w = wire_discard(abi, 0, 0, 5, UINT64_MAX, 2);
	ck_assert_int_eq(decode(abi, &w, &lim, &req), -SDRV_ERANGE);
	/* No sectors: nothing to check, as in Linux blkback. */
	w = wire_discard(abi, 0, 0, 5, UINT64_MAX, 0);
	ck_assert_int_eq(decode(abi, &w, &lim, &req), 0);

	/* Secure: honoured only if the device offers it, else ignored. */
	w = wire_discard(abi, SDRV_BLKIF_DISCARD_SECURE, 0, 5, 0, 8);
	ck_assert_int_eq(decode(abi, &w, &lim, &req), 0);
	ck_assert(req.discard_secure);
	lim.flags &= ~(uint32_t)SDRV_BLKIF_LIM_DISCARD_SECURE;
	ck_assert_int_eq(decode(abi, &w, &lim, &req), 0);
	ck_assert(!req.discard_secure);

	/* Disabled: refused, still answerable. */
	lim.flags &= ~(uint32_t)SDRV_BLKIF_LIM_DISCARD;
	w = wire_discard(abi, 0, 0, 0xdead, 0, 8);
	ck_assert_int_eq(decode(abi, &w, &lim, &req), -SDRV_EOPNOTSUPP);
	ck_assert_uint_eq(req.id, 0xdead);
	ck_assert_uint_eq(req.operation, SDRV_BLKIF_OP_DISCARD);
	ck_assert_int_eq(sdrv_blkif_status_for(-SDRV_EOPNOTSUPP), SDRV_BLKIF_RSP_EOPNOTSUPP);
}
END_TEST

START_TEST(read_only_device_refuses_writes)
{
	enum sdrv_blkif_abi abi = abis[_i];
	struct sdrv_blkif_limits lim = lim_all(DEV_SECTORS);
	uint32_t grefs[1] = {9};
	struct sdrv_blkif_req req;
	struct wire w;

	lim.flags |= SDRV_BLKIF_LIM_READONLY;
	ck_assert_int_eq(try_rw(abi, SDRV_BLKIF_OP_READ, 3, 0, &lim), 0);
	ck_assert_int_eq(try_rw(abi, SDRV_BLKIF_OP_WRITE, 3, 0, &lim), -SDRV_EROFS);
	ck_assert_int_eq(try_rw(abi, SDRV_BLKIF_OP_WRITE_BARRIER, 3, 0, &lim), -SDRV_EROFS);
	ck_assert_int_eq(try_rw(abi, SDRV_BLKIF_OP_WRITE_BARRIER, 0, 0, &lim), -SDRV_EROFS);
	ck_assert_int_eq(try_rw(abi, SDRV_BLKIF_OP_FLUSH_DISKCACHE, 0, 0, &lim), -SDRV_EROFS);
	w = wire_discard(abi, 0, 0, 5, 0, 8);
	ck_assert_int_eq(decode(abi, &w, &lim, &req), -SDRV_EROFS);
	w = wire_indirect(abi, SDRV_BLKIF_OP_WRITE, 20, 0, 5, 0, grefs, 1);
	ck_assert_int_eq(decode(abi, &w, &lim, &req), -SDRV_EROFS);
	ck_assert_uint_eq(req.id, 5);
	ck_assert_uint_eq(sdrv_blkif_rsp_operation(&req), SDRV_BLKIF_OP_WRITE);
	w = wire_indirect(abi, SDRV_BLKIF_OP_READ, 20, 0, 5, 0, grefs, 1);
	ck_assert_int_eq(decode(abi, &w, &lim, &req), 0);
	ck_assert_int_eq(sdrv_blkif_status_for(-SDRV_EROFS), SDRV_BLKIF_RSP_ERROR);
}
END_TEST

START_TEST(unknown_and_unoffered_operations)
{
	enum sdrv_blkif_abi abi = abis[_i];
	struct sdrv_blkif_limits lim = lim_all(DEV_SECTORS);
	struct sdrv_blkif_request_segment s[1] = {wseg(1, 0, 7)};
	struct sdrv_blkif_req req;
	struct wire w;
	static const uint8_t unknown[] = {SDRV_BLKIF_OP_RESERVED_1, 7, 8, 100, 200, 255};

	for (size_t k = 0; k < sizeof(unknown); k++) {
		w = wire_rw(abi, unknown[k], 1, 0, 0x0102030405060708ull, 0, s);
		ck_assert_int_eq(decode(abi, &w, &lim, &req), -SDRV_ENOSYS);
		/* Answerable: id and operation are kept. */
		ck_assert_uint_eq(req.id, 0x0102030405060708ull);
		ck_assert_uint_eq(req.operation, unknown[k]);
		ck_assert_uint_eq(sdrv_blkif_rsp_operation(&req), unknown[k]);
		ck_assert_uint_eq(req.nr_segments, 0);
		ck_assert_uint_eq(req.seg[0].gref, 0);
	}
	ck_assert_int_eq(sdrv_blkif_status_for(-SDRV_ENOSYS), SDRV_BLKIF_RSP_EOPNOTSUPP);

	/* Known operations the device does not offer. */
	lim.flags = 0;
	ck_assert_int_eq(try_rw(abi, SDRV_BLKIF_OP_WRITE_BARRIER, 1, 0, &lim), -SDRV_EOPNOTSUPP);
	ck_assert_int_eq(try_rw(abi, SDRV_BLKIF_OP_FLUSH_DISKCACHE, 0, 0, &lim), -SDRV_EOPNOTSUPP);
	lim.flags = SDRV_BLKIF_LIM_FLUSH;
	ck_assert_int_eq(try_rw(abi, SDRV_BLKIF_OP_FLUSH_DISKCACHE, 0, 0, &lim), 0);
	ck_assert_int_eq(try_rw(abi, SDRV_BLKIF_OP_WRITE_BARRIER, 0, 0, &lim), -SDRV_EOPNOTSUPP);
	lim.flags = SDRV_BLKIF_LIM_BARRIER;
	ck_assert_int_eq(try_rw(abi, SDRV_BLKIF_OP_WRITE_BARRIER, 0, 0, &lim), 0);
	ck_assert_int_eq(try_rw(abi, SDRV_BLKIF_OP_FLUSH_DISKCACHE, 0, 0, &lim), -SDRV_EOPNOTSUPP);
}
END_TEST

START_TEST(indirect_header_rules)
{
	enum sdrv_blkif_abi abi = abis[_i];
	struct sdrv_blkif_limits lim = lim_all(DEV_SECTORS);
	uint32_t grefs[8] = {11, 12, 13, 14, 15, 16, 17, 18};
	struct sdrv_blkif_req req;
	struct wire w;

	/* 0 segments, the maximum, one more. */
	w = wire_indirect(abi, SDRV_BLKIF_OP_READ, 0, 0, 1, 0, grefs, 8);
	ck_assert_int_eq(decode(abi, &w, &lim, &req), -SDRV_EMSGSIZE);
	w = wire_indirect(abi, SDRV_BLKIF_OP_READ, 256, 0, 1, 0, grefs, 8);
	ck_assert_int_eq(decode(abi, &w, &lim, &req), 0);
	ck_assert_uint_eq(req.nr_indirect_pages, 1);
	w = wire_indirect(abi, SDRV_BLKIF_OP_READ, 257, 0, 1, 0, grefs, 8);
	ck_assert_int_eq(decode(abi, &w, &lim, &req), -SDRV_EMSGSIZE);
	w = wire_indirect(abi, SDRV_BLKIF_OP_READ, UINT16_MAX, 0, 1, 0, grefs, 8);
	ck_assert_int_eq(decode(abi, &w, &lim, &req), -SDRV_EMSGSIZE);

	/* The protocol's own bound: 8 pages of 512. */
	lim.max_indirect_segments = SDRV_BLKIF_MAX_INDIRECT_SEGMENTS;
	w = wire_indirect(abi, SDRV_BLKIF_OP_WRITE, 4096, 0, 1, 0, grefs, 8);
	ck_assert_int_eq(decode(abi, &w, &lim, &req), 0);
	ck_assert_uint_eq(req.nr_indirect_pages, 8);
	ck_assert_int_eq(memcmp(req.indirect_grefs, grefs, sizeof(grefs)), 0);
	w = wire_indirect(abi, SDRV_BLKIF_OP_WRITE, 4097, 0, 1, 0, grefs, 8);
	ck_assert_int_eq(decode(abi, &w, &lim, &req), -SDRV_EMSGSIZE);
	w = wire_indirect(abi, SDRV_BLKIF_OP_WRITE, 3585, 0, 1, 0, grefs, 8);
	ck_assert_int_eq(decode(abi, &w, &lim, &req), 0);
	ck_assert_uint_eq(req.nr_indirect_pages, 8);
	w = wire_indirect(abi, SDRV_BLKIF_OP_WRITE, 3584, 0, 1, 0, grefs, 8);
	ck_assert_int_eq(decode(abi, &w, &lim, &req), 0);
	ck_assert_uint_eq(req.nr_indirect_pages, 7);
	ck_assert_uint_eq(req.indirect_grefs[7], 0);

	/* indirect_op must be READ or WRITE. */
	lim = lim_all(DEV_SECTORS);
	for (unsigned op = 2; op < 256; op++) {
		w = wire_indirect(abi, (uint8_t)op, 8, 0, 1234, 0, grefs, 1);
		ck_assert_int_eq(decode(abi, &w, &lim, &req), -SDRV_ENOSYS);
		ck_assert_uint_eq(req.id, 1234);
		ck_assert_uint_eq(sdrv_blkif_rsp_operation(&req), op);
	}

	/* Not negotiated: refused as unsupported. */
	lim.max_indirect_segments = 0;
	w = wire_indirect(abi, SDRV_BLKIF_OP_READ, 8, 0, 1, 0, grefs, 1);
	ck_assert_int_eq(decode(abi, &w, &lim, &req), -SDRV_EOPNOTSUPP);

	/* Each segment is at least one sector: a start that leaves less room
	 * than the segment count is refused before the pages are read. */
	lim = lim_all(1000);
	w = wire_indirect(abi, SDRV_BLKIF_OP_READ, 8, 0, 1, 992, grefs, 1);
	ck_assert_int_eq(decode(abi, &w, &lim, &req), 0);
	w = wire_indirect(abi, SDRV_BLKIF_OP_READ, 8, 0, 1, 993, grefs, 1);
	ck_assert_int_eq(decode(abi, &w, &lim, &req), -SDRV_ERANGE);
	w = wire_indirect(abi, SDRV_BLKIF_OP_READ, 8, 0, 1, UINT64_MAX - 3, grefs, 1);
	ck_assert_int_eq(decode(abi, &w, &lim, &req), -SDRV_ERANGE);
}
END_TEST

/* Segment descriptors for indirect pages, by hand. */
static unsigned char *desc_pages(unsigned n, size_t *len)
{
	unsigned char *p;

	*len = (size_t)n * 8;
	p = malloc(*len);
	ck_assert_ptr_nonnull(p);
	for (unsigned i = 0; i < n; i++) {
		struct sdrv_blkif_request_segment s = wseg(0x10000 + i, (uint8_t)(i % 8), 7);
		memcpy(p + 8 * i, &s, 8);
	}
	return p;
}

START_TEST(indirect_segments)
{
	enum sdrv_blkif_abi abi = abis[_i];
	struct sdrv_blkif_limits lim = lim_all(DEV_SECTORS);
	uint32_t grefs[8] = {11, 12, 13, 14, 15, 16, 17, 18};
	struct sdrv_blkif_seg *segs = calloc(4096, sizeof(*segs));
	struct sdrv_blkif_req req, keep;
	unsigned char *pages;
	uint64_t sum = 0;
	size_t len;
	struct wire w;

	ck_assert_ptr_nonnull(segs);
	lim.max_indirect_segments = SDRV_BLKIF_MAX_INDIRECT_SEGMENTS;
	pages = desc_pages(4096, &len);
	w = wire_indirect(abi, SDRV_BLKIF_OP_WRITE, 4096, 0, 1, 100, grefs, 8);
	ck_assert_int_eq(decode(abi, &w, &lim, &req), 0);
	ck_assert_int_eq(sdrv_blkif_decode_indirect(&req, pages, len, &lim, segs, 4096), 0);
	for (unsigned i = 0; i < 4096; i++) {
		ck_assert_uint_eq(segs[i].gref, 0x10000 + i);
		ck_assert_uint_eq(segs[i].first_sect, i % 8);
		ck_assert_uint_eq(segs[i].last_sect, 7);
		sum += 8 - i % 8;
	}
	ck_assert_uint_eq(req.nr_sectors, sum);

	/* Exactly enough bytes of the last page is enough; one less is not,
	 * nor is a smaller array. */
	ck_assert_int_eq(decode(abi, &w, &lim, &req), 0);
	keep = req;
	ck_assert_int_eq(sdrv_blkif_decode_indirect(&req, pages, len - 1, &lim, segs, 4096),
			 -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_blkif_decode_indirect(&req, pages, len, &lim, segs, 4095),
			 -SDRV_EINVAL);
	ck_assert_int_eq(memcmp(&req, &keep, sizeof(req)), 0);

	/* A bad descriptor deep in page 3: first > last, then last = 8. */
	pages[8 * 1500 + 4] = 5;
	pages[8 * 1500 + 5] = 4;
	ck_assert_int_eq(sdrv_blkif_decode_indirect(&req, pages, len, &lim, segs, 4096),
			 -SDRV_EBADMSG);
	pages[8 * 1500 + 4] = 0;
	pages[8 * 1500 + 5] = 8;
	ck_assert_int_eq(sdrv_blkif_decode_indirect(&req, pages, len, &lim, segs, 4096),
			 -SDRV_EBADMSG);
	pages[8 * 1500 + 4] = 1500 % 8; /* as desc_pages() wrote it */
	pages[8 * 1500 + 5] = 7;
	ck_assert_int_eq(sdrv_blkif_decode_indirect(&req, pages, len, &lim, segs, 4096), 0);
	ck_assert_uint_eq(req.nr_sectors, sum);

	/* The sectors must fit: the header check passed (>= 4096 sectors
	 * room), the real total does not. */
	lim.sectors = 100 + sum - 1;
	ck_assert_int_eq(decode(abi, &w, &lim, &req), 0);
	ck_assert_int_eq(sdrv_blkif_decode_indirect(&req, pages, len, &lim, segs, 4096),
			 -SDRV_ERANGE);
	lim.sectors = 100 + sum;
	ck_assert_int_eq(sdrv_blkif_decode_indirect(&req, pages, len, &lim, segs, 4096), 0);

	/* Misuse: not an accepted indirect request. */
	keep = req;
	req.operation = SDRV_BLKIF_OP_READ;
	ck_assert_int_eq(sdrv_blkif_decode_indirect(&req, pages, len, &lim, segs, 4096),
			 -SDRV_EINVAL);
	req = keep;
	req.nr_segments = 0;
	ck_assert_int_eq(sdrv_blkif_decode_indirect(&req, pages, len, &lim, segs, 4096),
			 -SDRV_EINVAL);
	req = keep;
	req.nr_indirect_pages = 1;
	ck_assert_int_eq(sdrv_blkif_decode_indirect(&req, pages, len, &lim, segs, 4096),
			 -SDRV_EINVAL);
	req = keep;
	lim.max_indirect_segments = 256; /* other limits than at decode time */
	ck_assert_int_eq(sdrv_blkif_decode_indirect(&req, pages, len, &lim, segs, 4096),
			 -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_blkif_decode_indirect(NULL, pages, len, &lim, segs, 4096),
			 -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_blkif_decode_indirect(&req, NULL, len, &lim, segs, 4096),
			 -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_blkif_decode_indirect(&req, pages, len, NULL, segs, 4096),
			 -SDRV_EINVAL);
	free(pages);
	free(segs);
}
END_TEST

START_TEST(indirect_pages_round_trip)
{
	struct sdrv_blkif_limits lim = lim_all(DEV_SECTORS);
	struct sdrv_blkif_seg in[600], out[600];
	struct sdrv_blkif_req req;
	unsigned char slot[SDRV_BLKIF_ENTRY_SIZE];
	unsigned char *pages = malloc(2 * SDRV_PAGE_SIZE);
	enum sdrv_blkif_abi abi = abis[_i];

	ck_assert_ptr_nonnull(pages);
	for (unsigned i = 0; i < 600; i++) {
		in[i].gref = 0xf0000000u + i;
		in[i].first_sect = (uint8_t)(i % 8);
		in[i].last_sect = (uint8_t)(i % 8 + (7 - i % 8) / 2);
	}
	memset(pages, 0xAA, 2 * SDRV_PAGE_SIZE);
	ck_assert_int_eq(sdrv_blkif_encode_indirect(in, 600, pages, 2 * SDRV_PAGE_SIZE), 0);
	/* Segment 512 starts page 1; the rest of page 1 is zero. */
	ck_assert_uint_eq(pages[SDRV_PAGE_SIZE + 0], 0x00);
	ck_assert_uint_eq(pages[SDRV_PAGE_SIZE + 1], 0x02);
	for (size_t b = 600 * 8; b < 2 * SDRV_PAGE_SIZE; b++)
		ck_assert_uint_eq(pages[b], 0);
	for (unsigned i = 0; i < 600; i++) /* padding of each descriptor */
		ck_assert(pages[8 * i + 6] == 0 && pages[8 * i + 7] == 0);

	memset(&req, 0, sizeof(req));
	req.operation = SDRV_BLKIF_OP_INDIRECT;
	req.indirect_op = SDRV_BLKIF_OP_READ;
	req.nr_segments = 600;
	req.indirect_grefs[0] = 1;
	req.indirect_grefs[1] = 2;
	req.indirect_grefs[2] = 3; /* beyond the 2 pages: not written */
	lim.max_indirect_segments = 600;
	ck_assert_int_eq(sdrv_blkif_encode_req(abi, &req, slot, sizeof(slot)), 0);
	ck_assert_int_eq(sdrv_blkif_decode_req(abi, slot, sizeof(slot), &lim, &req), 0);
	ck_assert_uint_eq(req.nr_indirect_pages, 2);
	ck_assert_uint_eq(req.indirect_grefs[2], 0);
	ck_assert_int_eq(
	    sdrv_blkif_decode_indirect(&req, pages, 2 * SDRV_PAGE_SIZE, &lim, out, 600), 0);
	for (unsigned i = 0; i < 600; i++)
		ck_assert(out[i].gref == in[i].gref && out[i].first_sect == in[i].first_sect &&
			  out[i].last_sect == in[i].last_sect);

	/* The encoder refuses what the decoder would. */
	in[599].last_sect = 8;
	memset(pages, 0xAA, 16);
	ck_assert_int_eq(sdrv_blkif_encode_indirect(in, 600, pages, 2 * SDRV_PAGE_SIZE),
			 -SDRV_EINVAL);
	ck_assert_uint_eq(pages[0], 0xAA); /* nothing written */
	ck_assert_int_eq(sdrv_blkif_encode_indirect(in, 0, pages, 8), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_blkif_encode_indirect(in, 2, pages, 15), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_blkif_encode_indirect(in, 4097, pages, 2 * SDRV_PAGE_SIZE),
			 -SDRV_EINVAL);
	free(pages);
}
END_TEST

/* ------------------------------ arguments -------------------------------- */

START_TEST(limits_and_arguments)
{
	struct sdrv_blkif_limits lim = lim_all(DEV_SECTORS), bad;
	struct sdrv_blkif_request_segment s[1] = {wseg(1, 0, 7)};
	struct sdrv_blkif_req req;
	uint32_t grefs[1] = {3};
	struct wire w = wire_rw(SDRV_BLKIF_ABI_X86_64, SDRV_BLKIF_OP_READ, 1, 0, 1, 0, s), w32;
	struct {
		struct sdrv_blkif_limits l;
		uint64_t more;
	} longer;

	ck_assert_int_eq(sdrv_blkif_decode_req(SDRV_BLKIF_ABI_X86_64, w.b, 112, &lim, &req), 0);
	/* Short slots, no ABI, NULLs: refused, req zeroed. */
	memset(&req, 0x5A, sizeof(req));
	ck_assert_int_eq(sdrv_blkif_decode_req(SDRV_BLKIF_ABI_X86_64, w.b, 111, &lim, &req),
			 -SDRV_EINVAL);
	ck_assert_uint_eq(req.id, 0);
	ck_assert_uint_eq(req.operation, 0);
	w32 = wire_rw(SDRV_BLKIF_ABI_X86_32, SDRV_BLKIF_OP_READ, 1, 0, 1, 0, s);
	ck_assert_int_eq(sdrv_blkif_decode_req(SDRV_BLKIF_ABI_X86_32, w32.b, 107, &lim, &req),
			 -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_blkif_decode_req(SDRV_BLKIF_ABI_X86_32, w32.b, 108, &lim, &req), 0);
	ck_assert_int_eq(sdrv_blkif_decode_req(0, w.b, 112, &lim, &req), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_blkif_decode_req(9, w.b, 112, &lim, &req), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_blkif_decode_req(SDRV_BLKIF_ABI_X86_64, NULL, 112, &lim, &req),
			 -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_blkif_decode_req(SDRV_BLKIF_ABI_X86_64, w.b, 112, NULL, &req),
			 -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_blkif_decode_req(SDRV_BLKIF_ABI_X86_64, w.b, 112, &lim, NULL),
			 -SDRV_EINVAL);

	/* Limits: sz must cover sectors; unknown flags and impossible maxima
	 * are the caller's bug. */
	bad = lim;
	bad.sz = offsetof(struct sdrv_blkif_limits, sectors) + sizeof(uint64_t) - 1;
	ck_assert_int_eq(sdrv_blkif_decode_req(SDRV_BLKIF_ABI_X86_64, w.b, 112, &bad, &req),
			 -SDRV_EINVAL);
	bad.sz = 0;
	ck_assert_int_eq(sdrv_blkif_decode_req(SDRV_BLKIF_ABI_X86_64, w.b, 112, &bad, &req),
			 -SDRV_EINVAL);
	bad = lim;
	bad.flags |= 0x20;
	ck_assert_int_eq(sdrv_blkif_decode_req(SDRV_BLKIF_ABI_X86_64, w.b, 112, &bad, &req),
			 -SDRV_EINVAL);
	bad = lim;
	bad.max_indirect_segments = SDRV_BLKIF_MAX_INDIRECT_SEGMENTS + 1;
	ck_assert_int_eq(sdrv_blkif_decode_req(SDRV_BLKIF_ABI_X86_64, w.b, 112, &bad, &req),
			 -SDRV_EINVAL);

	/* An older, shorter limits structure: the missing members are zero,
	 * so indirect requests and flushes are not offered. */
	bad = lim;
	bad.sz = offsetof(struct sdrv_blkif_limits, max_indirect_segments);
	ck_assert_int_eq(sdrv_blkif_decode_req(SDRV_BLKIF_ABI_X86_64, w.b, 112, &bad, &req), 0);
	w = wire_indirect(SDRV_BLKIF_ABI_X86_64, SDRV_BLKIF_OP_READ, 8, 0, 1, 0, grefs, 1);
	ck_assert_int_eq(sdrv_blkif_decode_req(SDRV_BLKIF_ABI_X86_64, w.b, 112, &bad, &req),
			 -SDRV_EOPNOTSUPP);
	ck_assert_int_eq(sdrv_blkif_decode_req(SDRV_BLKIF_ABI_X86_64, w.b, 112, &lim, &req), 0);
	/* A newer, longer one is read only as far as this version knows. */
	memset(&longer, 0xFF, sizeof(longer));
	longer.l = lim;
	longer.l.sz = sizeof(longer);
	ck_assert_int_eq(sdrv_blkif_decode_req(SDRV_BLKIF_ABI_X86_64, w.b, 112, &longer.l, &req),
			 0);
}
END_TEST

START_TEST(encoder_refuses_malformed_requests)
{
	enum sdrv_blkif_abi abi = abis[_i];
	struct sdrv_blkif_req ok, r;
	unsigned char slot[SDRV_BLKIF_ENTRY_SIZE];
	size_t esz = sdrv_blkif_entry_size(abi);

	memset(&ok, 0, sizeof(ok));
	ok.operation = SDRV_BLKIF_OP_WRITE;
	ok.nr_segments = 11;
	for (int i = 0; i < 11; i++)
		ok.seg[i].last_sect = 7;

#define REFUSED(mutate)                                                                            \
	do {                                                                                       \
		r = ok;                                                                            \
		mutate;                                                                            \
		memset(slot, 0xAA, sizeof(slot));                                                  \
		ck_assert_int_eq(sdrv_blkif_encode_req(abi, &r, slot, esz), -SDRV_EINVAL);         \
		for (size_t b = 0; b < sizeof(slot); b++)                                          \
			ck_assert_uint_eq(slot[b], 0xAA);                                          \
	} while (0)

	REFUSED(r.nr_segments = 12);
	REFUSED(r.nr_segments = 0);
	REFUSED(r.seg[10].last_sect = 8);
	REFUSED(r.seg[3].first_sect = 4; r.seg[3].last_sect = 3);
	REFUSED(r.operation = SDRV_BLKIF_OP_RESERVED_1);
	REFUSED(r.operation = 200);
	REFUSED(r.operation = SDRV_BLKIF_OP_INDIRECT; r.indirect_op = SDRV_BLKIF_OP_READ;
		r.nr_segments = 0);
	REFUSED(r.operation = SDRV_BLKIF_OP_INDIRECT; r.indirect_op = SDRV_BLKIF_OP_READ;
		r.nr_segments = 4097);
	REFUSED(r.operation = SDRV_BLKIF_OP_INDIRECT; r.indirect_op = SDRV_BLKIF_OP_DISCARD;
		r.nr_segments = 8);
#undef REFUSED
	ck_assert_int_eq(sdrv_blkif_encode_req(abi, &ok, slot, req_size(abi) - 1), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_blkif_encode_req(abi, &ok, NULL, esz), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_blkif_encode_req(abi, NULL, slot, esz), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_blkif_encode_req(0, &ok, slot, esz), -SDRV_EINVAL);
	/* Exactly the request size is enough. */
	ck_assert_int_eq(sdrv_blkif_encode_req(abi, &ok, slot, req_size(abi)), 0);
}
END_TEST

/* ------------------------------ responses -------------------------------- */

START_TEST(responses_are_zero_but_three_fields)
{
	enum sdrv_blkif_abi abi = abis[_i];
	static const int16_t status[] = {SDRV_BLKIF_RSP_OKAY, SDRV_BLKIF_RSP_ERROR,
					 SDRV_BLKIF_RSP_EOPNOTSUPP};
	size_t esz = sdrv_blkif_entry_size(abi), rs = rsp_size(abi);

	for (int k = 0; k < 3; k++) {
		unsigned char slot[SDRV_BLKIF_ENTRY_SIZE + 8], want[SDRV_BLKIF_ENTRY_SIZE];
		struct sdrv_blkif_rsp rsp = {0x8877665544332211ull, SDRV_BLKIF_OP_WRITE_BARRIER,
					     status[k]};
		uint16_t st = (uint16_t)status[k];

		memset(slot, 0xAA, sizeof(slot));
		ck_assert_int_eq(sdrv_blkif_encode_rsp(abi, &rsp, slot, esz), 0);
		memset(want, 0, sizeof(want));
		for (int b = 0; b < 8; b++) /* id, little-endian */
			want[b] = (unsigned char)(rsp.id >> (8 * b));
		want[8] = SDRV_BLKIF_OP_WRITE_BARRIER;
		want[10] = (unsigned char)st;
		want[11] = (unsigned char)(st >> 8);
		ck_assert_int_eq(memcmp(slot, want, esz), 0);
		for (size_t b = esz; b < sizeof(slot); b++)
			ck_assert_uint_eq(slot[b], 0xAA);

		/* With only the response's size, only that is written. */
		memset(slot, 0xAA, sizeof(slot));
		ck_assert_int_eq(sdrv_blkif_encode_rsp(abi, &rsp, slot, rs), 0);
		ck_assert_int_eq(memcmp(slot, want, rs), 0);
		ck_assert_uint_eq(slot[rs], 0xAA);
	}
	ck_assert_uint_eq(rs, abi == SDRV_BLKIF_ABI_X86_32 ? 12 : 16);
}
END_TEST

START_TEST(response_encoder_refuses_bad_status)
{
	enum sdrv_blkif_abi abi = abis[_i];
	unsigned char slot[SDRV_BLKIF_ENTRY_SIZE];
	static const int16_t bad[] = {1, -3, 2, INT16_MIN, INT16_MAX, 0x7fff, -100};

	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		struct sdrv_blkif_rsp rsp = {1, SDRV_BLKIF_OP_READ, bad[k]};

		memset(slot, 0xAA, sizeof(slot));
		ck_assert_int_eq(sdrv_blkif_encode_rsp(abi, &rsp, slot, sizeof(slot)),
				 -SDRV_EINVAL);
		for (size_t b = 0; b < sizeof(slot); b++)
			ck_assert_uint_eq(slot[b], 0xAA);
	}
	struct sdrv_blkif_rsp ok = {1, 200, SDRV_BLKIF_RSP_EOPNOTSUPP}; /* echo any op */
	ck_assert_int_eq(sdrv_blkif_encode_rsp(abi, &ok, slot, rsp_size(abi) - 1), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_blkif_encode_rsp(abi, &ok, slot, rsp_size(abi)), 0);
	ck_assert_int_eq(sdrv_blkif_encode_rsp(abi, NULL, slot, sizeof(slot)), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_blkif_encode_rsp(abi, &ok, NULL, sizeof(slot)), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_blkif_encode_rsp(0, &ok, slot, sizeof(slot)), -SDRV_EINVAL);
}
END_TEST

/* A response built by hand in the ABI's structure, in an exact-size block. */
static unsigned char *wire_rsp(enum sdrv_blkif_abi abi, uint64_t id, uint8_t op, int16_t st)
{
	unsigned char *p = malloc(rsp_size(abi));

	ck_assert_ptr_nonnull(p);
	memset(p, 0xCC, rsp_size(abi)); /* a careless backend's padding */
	if (abi == SDRV_BLKIF_ABI_X86_32) {
		struct sdrv_blkif_x86_32_response r;
		memcpy(&r, p, sizeof(r));
		r.id = id;
		r.operation = op;
		r.status = st;
		memcpy(p, &r, sizeof(r));
	} else {
		struct sdrv_blkif_response r;
		memcpy(&r, p, sizeof(r));
		r.id = id;
		r.operation = op;
		r.status = st;
		memcpy(p, &r, sizeof(r));
	}
	return p;
}

START_TEST(response_decoder_checks)
{
	enum sdrv_blkif_abi abi = abis[_i];
	struct sdrv_blkif_rsp rsp;
	struct sdrv_blkif_req sent;
	unsigned char *p;
	static const uint8_t ops[] = {SDRV_BLKIF_OP_READ, SDRV_BLKIF_OP_WRITE,
				      SDRV_BLKIF_OP_WRITE_BARRIER, SDRV_BLKIF_OP_FLUSH_DISKCACHE,
				      SDRV_BLKIF_OP_DISCARD};
	static const uint8_t bad_ops[] = {SDRV_BLKIF_OP_RESERVED_1, SDRV_BLKIF_OP_INDIRECT, 7, 200,
					  255};
	static const int16_t bad_st[] = {1, -3, 0x100, -0x100, INT16_MIN};

	for (size_t k = 0; k < sizeof(ops); k++)
		for (int16_t st = -2; st <= 0; st++) {
			p = wire_rsp(abi, 1000 + k, ops[k], st);
			ck_assert_int_eq(sdrv_blkif_decode_rsp(abi, p, rsp_size(abi), &rsp), 0);
			ck_assert_uint_eq(rsp.id, 1000 + k);
			ck_assert_uint_eq(rsp.operation, ops[k]);
			ck_assert_int_eq(rsp.status, st);
			free(p);
		}
	for (size_t k = 0; k < sizeof(bad_ops); k++) {
		p = wire_rsp(abi, 5, bad_ops[k], 0);
		ck_assert_int_eq(sdrv_blkif_decode_rsp(abi, p, rsp_size(abi), &rsp), -SDRV_EPROTO);
		ck_assert_uint_eq(rsp.id, 5); /* as read, for the log */
		free(p);
	}
	for (size_t k = 0; k < sizeof(bad_st) / sizeof(bad_st[0]); k++) {
		p = wire_rsp(abi, 5, SDRV_BLKIF_OP_READ, bad_st[k]);
		ck_assert_int_eq(sdrv_blkif_decode_rsp(abi, p, rsp_size(abi), &rsp), -SDRV_EPROTO);
		ck_assert_int_eq(rsp.status, bad_st[k]);
		free(p);
	}
	p = wire_rsp(abi, 5, SDRV_BLKIF_OP_READ, 0);
	ck_assert_int_eq(sdrv_blkif_decode_rsp(abi, p, rsp_size(abi) - 1, &rsp), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_blkif_decode_rsp(abi, NULL, rsp_size(abi), &rsp), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_blkif_decode_rsp(abi, p, rsp_size(abi), NULL), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_blkif_decode_rsp(0, p, rsp_size(abi), &rsp), -SDRV_EINVAL);
	free(p);

	/* Matching against the request sent: id and operation. */
	memset(&sent, 0, sizeof(sent));
	sent.id = 7;
	sent.operation = SDRV_BLKIF_OP_WRITE;
	rsp = (struct sdrv_blkif_rsp){7, SDRV_BLKIF_OP_WRITE, 0};
	ck_assert_int_eq(sdrv_blkif_rsp_matches(&rsp, &sent), 0);
	rsp.id = 8;
	ck_assert_int_eq(sdrv_blkif_rsp_matches(&rsp, &sent), -SDRV_EPROTO);
	rsp.id = 7;
	rsp.operation = SDRV_BLKIF_OP_READ;
	ck_assert_int_eq(sdrv_blkif_rsp_matches(&rsp, &sent), -SDRV_EPROTO);
	/* An indirect request is answered with its indirect_op. */
	sent.operation = SDRV_BLKIF_OP_INDIRECT;
	sent.indirect_op = SDRV_BLKIF_OP_READ;
	ck_assert_int_eq(sdrv_blkif_rsp_matches(&rsp, &sent), 0);
	rsp.operation = SDRV_BLKIF_OP_INDIRECT;
	ck_assert_int_eq(sdrv_blkif_rsp_matches(&rsp, &sent), -SDRV_EPROTO);
	ck_assert_int_eq(sdrv_blkif_rsp_matches(NULL, &sent), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_blkif_rsp_matches(&rsp, NULL), -SDRV_EINVAL);
}
END_TEST

START_TEST(errors_have_statuses_and_reasons)
{
	static const int errs[] = {-SDRV_ENOSYS,  -SDRV_EOPNOTSUPP, -SDRV_EROFS,  -SDRV_EMSGSIZE,
				   -SDRV_EBADMSG, -SDRV_ERANGE,	    -SDRV_EPROTO, -SDRV_EINVAL};
	size_t n = sizeof(errs) / sizeof(errs[0]);

	ck_assert_int_eq(sdrv_blkif_status_for(0), SDRV_BLKIF_RSP_OKAY);
	ck_assert_int_eq(sdrv_blkif_status_for(-SDRV_EMSGSIZE), SDRV_BLKIF_RSP_ERROR);
	ck_assert_int_eq(sdrv_blkif_status_for(-SDRV_EBADMSG), SDRV_BLKIF_RSP_ERROR);
	ck_assert_int_eq(sdrv_blkif_status_for(-SDRV_ERANGE), SDRV_BLKIF_RSP_ERROR);
	ck_assert_int_eq(sdrv_blkif_status_for(-SDRV_EIO), SDRV_BLKIF_RSP_ERROR);
	ck_assert_int_eq(sdrv_blkif_status_for(5), SDRV_BLKIF_RSP_ERROR);
	/* Every class has its own reason. */
	for (size_t i = 0; i < n; i++) {
		ck_assert_ptr_nonnull(sdrv_blkif_strerror(errs[i]));
		ck_assert_ptr_null(strstr(sdrv_blkif_strerror(errs[i]), "unknown error"));
		for (size_t j = 0; j < i; j++)
			ck_assert_str_ne(sdrv_blkif_strerror(errs[i]),
					 sdrv_blkif_strerror(errs[j]));
	}
	ck_assert_ptr_nonnull(sdrv_blkif_strerror(-12345));
}
END_TEST

/* -------------------------- over a real ring ----------------------------- */

/*
 * A frontend and a backend on one ring in the ABI's entry size: the
 * frontend encodes into slots and tracks ids; the backend takes private
 * copies, decodes, answers in the ABI, including a refused request.
 */
START_TEST(frontend_and_backend_over_a_ring)
{
	enum sdrv_blkif_abi abi = abis[_i];
	size_t esz = sdrv_blkif_entry_size(abi);
	struct sdrv_blkif_limits lim = lim_all(DEV_SECTORS);
	void *mem = aligned_alloc(SDRV_PAGE_SIZE, SDRV_PAGE_SIZE);
	struct sdrv_ring f, b;
	struct sdrv_ring_ids ids;
	uint32_t links[32];
	struct sdrv_blkif_req sent[32], reqs[16];
	unsigned char copy[SDRV_BLKIF_ENTRY_SIZE];
	unsigned n = sample_reqs(reqs), answered = 0, refused = 0;
	uint32_t bad_id = UINT32_MAX;

	ck_assert_ptr_nonnull(mem);
	memset(mem, 0xAA, SDRV_PAGE_SIZE);
	ck_assert_int_eq(sdrv_ring_front_init(&f, mem, SDRV_PAGE_SIZE, esz), 0);
	ck_assert_int_eq(sdrv_ring_back_attach(&b, mem, SDRV_PAGE_SIZE, esz, 0), 0);
	ck_assert_int_eq(sdrv_ring_ids_init(&ids, links, 32), 0);

	/* Frontend: every sample, plus a write beyond the device's end. */
	for (unsigned k = 0; k <= n; k++) {
		struct sdrv_blkif_req r;
		uint32_t id;

		if (k < n) {
			r = reqs[k];
		} else {
			memset(&r, 0, sizeof(r));
			r.operation = SDRV_BLKIF_OP_WRITE;
			r.nr_segments = 1;
			r.seg[0].last_sect = 7;
			r.sector_number = DEV_SECTORS;
		}
		ck_assert_int_eq(sdrv_ring_ids_get(&ids, &id), 0);
		r.id = id;
		if (k == n)
			bad_id = id;
		sent[id] = r;
		ck_assert_int_eq(sdrv_blkif_encode_req(abi, &r, sdrv_ring_front_next_req(&f), esz),
				 0);
	}
	sdrv_ring_front_push(&f);

	/* Backend: copies, decodes, answers. */
	while (sdrv_ring_back_take_req(&b, copy) == 1) {
		struct sdrv_blkif_req req;
		struct sdrv_blkif_rsp rsp;
		int err = sdrv_blkif_decode_req(abi, copy, esz, &lim, &req);

		if (err == 0)
			ck_assert_int_eq(memcmp(&req, &sent[req.id], sizeof(req)), 0);
		else
			refused++;
		rsp.id = req.id;
		rsp.operation = sdrv_blkif_rsp_operation(&req);
		rsp.status = sdrv_blkif_status_for(err);
		ck_assert_int_eq(sdrv_blkif_encode_rsp(abi, &rsp, sdrv_ring_back_next_rsp(&b), esz),
				 0);
	}
	sdrv_ring_back_push(&b);
	ck_assert_uint_eq(refused, 1);

	/* Frontend: every response checks out against its request. */
	while (sdrv_ring_front_take_rsp(&f, copy) == 1) {
		struct sdrv_blkif_rsp rsp;

		ck_assert_int_eq(sdrv_blkif_decode_rsp(abi, copy, esz, &rsp), 0);
		ck_assert_int_eq(sdrv_ring_ids_put(&ids, rsp.id), 0);
		ck_assert_int_eq(sdrv_blkif_rsp_matches(&rsp, &sent[rsp.id]), 0);
		ck_assert_int_eq(rsp.status,
				 rsp.id == bad_id ? SDRV_BLKIF_RSP_ERROR : SDRV_BLKIF_RSP_OKAY);
		answered++;
	}
	ck_assert_uint_eq(answered, n + 1);
	ck_assert_ptr_null(sdrv_ring_broken(&f));
	free(mem);
}
END_TEST

static Suite *blkif_suite(void)
{
	Suite *s = suite_create("blkif");
	TCase *tc;

	tc = tcase_create("abi");
	tcase_add_test(tc, abi_from_protocol_key);
	tcase_add_test(tc, abi_sizes);
	suite_add_tcase(s, tc);

	tc = tcase_create("round-trip");
	tcase_add_loop_test(tc, every_operation_round_trips, 0, NR_ABIS);
	tcase_add_loop_test(tc, decoded_requests_have_unused_members_zero, 0, NR_ABIS);
	tcase_add_loop_test(tc, indirect_pages_round_trip, 0, NR_ABIS);
	suite_add_tcase(s, tc);

	tc = tcase_create("validation");
	tcase_add_loop_test(tc, segment_count_boundaries, 0, NR_ABIS);
	tcase_add_loop_test(tc, segment_sector_boundaries, 0, NR_ABIS);
	tcase_add_loop_test(tc, sectors_inside_the_device, 0, NR_ABIS);
	tcase_add_loop_test(tc, discard_rules, 0, NR_ABIS);
	tcase_add_loop_test(tc, read_only_device_refuses_writes, 0, NR_ABIS);
	tcase_add_loop_test(tc, unknown_and_unoffered_operations, 0, NR_ABIS);
	tcase_add_loop_test(tc, indirect_header_rules, 0, NR_ABIS);
	tcase_add_loop_test(tc, indirect_segments, 0, NR_ABIS);
	tcase_add_test(tc, limits_and_arguments);
	tcase_add_loop_test(tc, encoder_refuses_malformed_requests, 0, NR_ABIS);
	suite_add_tcase(s, tc);

	tc = tcase_create("responses");
	tcase_add_loop_test(tc, responses_are_zero_but_three_fields, 0, NR_ABIS);
	tcase_add_loop_test(tc, response_encoder_refuses_bad_status, 0, NR_ABIS);
	tcase_add_loop_test(tc, response_decoder_checks, 0, NR_ABIS);
	tcase_add_test(tc, errors_have_statuses_and_reasons);
	suite_add_tcase(s, tc);

	tc = tcase_create("ring");
	tcase_add_loop_test(tc, frontend_and_backend_over_a_ring, 0, NR_ABIS);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(blkif_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
