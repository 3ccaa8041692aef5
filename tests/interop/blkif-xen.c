/* SPDX-License-Identifier: MIT */
/*
 * The blkif codec against Xen's own blkif.h (Debian libxen-dev).
 *
 * One table of requests and responses (BLKIF_VECTORS: every operation,
 * 0/1/11 segments, 1 to 4096 indirect segments, extreme ids and sectors,
 * every status) is used three ways:
 *
 *  1. native ABI, a Xen frontend against our backend: requests written
 *     with Xen's structures and ring macros (RING_GET_REQUEST, the casts to
 *     blkif_request_discard/indirect that blkfront does, indirect pages of
 *     Xen's blkif_request_segment, garbage in every unused byte) decode to
 *     the table's fields; our responses read back through RING_COPY_RESPONSE
 *     give the same fields, with every other byte of the entry zero;
 *  2. native ABI, our frontend against a Xen backend: our encoded requests
 *     are byte for byte what Xen's structures give (zeroed entry, then the
 *     fields), read back through RING_COPY_REQUEST; indirect pages we
 *     encode read back as Xen's segments; responses a Xen backend writes
 *     the way Linux blkback does (a local blkif_response copied whole,
 *     padding included) decode and match; "x86_64-abi" and "arm-abi"
 *     encode the same bytes as native here;
 *  3. the x86_32 ABI: this same file, compiled with -m32 and
 *     -DSDRV_BLKIF_XEN_I386 at build time (tests/blkif.mk), holds the table
 *     as Xen's own structures under the i386 ABI, in an ELF section; this
 *     program reads that section and checks that each request decodes to
 *     the table's fields, that our x86_32 encoding of each request and
 *     response is exactly those bytes, and that the responses decode.
 *     (The field offsets of sdrv_blkif_x86_32_* against Xen's i386 layout
 *     are layout-x86-32.sh's business; this checks the codec.)
 */

/* One row per message: requests first, then responses. Only Xen's names. */
#define BLKIF_VECTORS(RW, DISCARD, INDIRECT, RSP)                                                  \
	RW(BLKIF_OP_READ, 1, 0x0102, 0x1111222233334444ULL, 1000ULL, 0x100u)                       \
	RW(BLKIF_OP_WRITE, 11, 0xfffe, 0xfedcba9876543210ULL, 123456789012ULL, 0x80000000u)        \
	RW(BLKIF_OP_WRITE, 6, 0, 0ULL, 0ULL, 0xfffffff0u)                                          \
	RW(BLKIF_OP_WRITE_BARRIER, 0, 7, 3ULL, 0ULL, 0u)                                           \
	RW(BLKIF_OP_WRITE_BARRIER, 2, 7, 4ULL, 77ULL, 0x300u)                                      \
	RW(BLKIF_OP_FLUSH_DISKCACHE, 0, 0x8000, 5ULL, 0ULL, 0u)                                    \
	RW(BLKIF_OP_FLUSH_DISKCACHE, 11, 1, 10ULL, 4096ULL, 0x900u)                                \
	DISCARD(0, 0x0a0b, 0xa5a5a5a5a5a5a5a5ULL, 4096ULL, 1ULL << 30)                             \
	DISCARD(BLKIF_DISCARD_SECURE, 1, 6ULL, 0ULL, 1ULL)                                         \
	INDIRECT(BLKIF_OP_READ, 1, 0x0c0d, 7ULL, 2048ULL, 0x400u)                                  \
	INDIRECT(BLKIF_OP_WRITE, 512, 2, 8ULL, 1ULL << 32, 0x500u)                                 \
	INDIRECT(BLKIF_OP_READ, 513, 3, 9ULL, 0ULL, 0x600u)                                        \
	INDIRECT(BLKIF_OP_WRITE, 4096, 4, UINT64_MAX, 123ULL, 0x700u)                              \
	RSP(0x1111222233334444ULL, BLKIF_OP_READ, BLKIF_RSP_OKAY)                                  \
	RSP(0xfedcba9876543210ULL, BLKIF_OP_WRITE, BLKIF_RSP_ERROR)                                \
	RSP(3ULL, BLKIF_OP_WRITE_BARRIER, BLKIF_RSP_EOPNOTSUPP)                                    \
	RSP(5ULL, BLKIF_OP_FLUSH_DISKCACHE, BLKIF_RSP_OKAY)                                        \
	RSP(0xa5a5a5a5a5a5a5a5ULL, BLKIF_OP_DISCARD, BLKIF_RSP_EOPNOTSUPP)                         \
	RSP(UINT64_MAX, BLKIF_OP_WRITE, BLKIF_RSP_ERROR)

#define VEC_ONE(...) +1
#define NR_VECS	     (0 BLKIF_VECTORS(VEC_ONE, VEC_ONE, VEC_ONE, VEC_ONE))
#define BLOB_MAGIC   0x31426b42u /* "Bkb1" */
#define BLOB_SLOT    112u	 /* bytes per message in the blob */
#define BLOB_SECTION ".sdrv_blkif_i386"

#ifdef SDRV_BLKIF_XEN_I386
/* ======================= the i386 side (data only) ====================== */
#if !defined(__i386__)
#error "SDRV_BLKIF_XEN_I386 is for -m32 builds"
#endif
#include <stddef.h>
#include <stdint.h>

#include <xen/io/blkif.h>

/* Segment i of a message whose segments start at gref g: only the first n
 * are filled in, the rest of the array stays zero as an encoder leaves it. */
#define SEG1(g, n, i)                                                                              \
	{                                                                                          \
		(i) < (n) ? (g) + (i) : 0u, (i) < (n) ? (i) % 8 : 0, (i) < (n) ? 7 : 0             \
	}
#define SEGS(g, n)                                                                                 \
	{                                                                                          \
		SEG1(g, n, 0), SEG1(g, n, 1), SEG1(g, n, 2), SEG1(g, n, 3), SEG1(g, n, 4),         \
		    SEG1(g, n, 5), SEG1(g, n, 6), SEG1(g, n, 7), SEG1(g, n, 8), SEG1(g, n, 9),     \
		    SEG1(g, n, 10)                                                                 \
	}
#define PAGES(n)       (((n) + 511) / 512)
#define GREF1(g, n, k) ((k) < PAGES(n) ? (g) + (k) : 0u)
#define GREFS(g, n)                                                                                \
	{                                                                                          \
		GREF1(g, n, 0), GREF1(g, n, 1), GREF1(g, n, 2), GREF1(g, n, 3), GREF1(g, n, 4),    \
		    GREF1(g, n, 5), GREF1(g, n, 6), GREF1(g, n, 7)                                 \
	}

#define I386_RW(op, n, h, id_, sec, g)                                                             \
	{.r = {.operation = (op),                                                                  \
	       .nr_segments = (n),                                                                 \
	       .handle = (h),                                                                      \
	       .id = (id_),                                                                        \
	       .sector_number = (sec),                                                             \
	       .seg = SEGS(g, n)}},
#define I386_DISCARD(fl, h, id_, sec, nr)                                                          \
	{.d = {.operation = BLKIF_OP_DISCARD,                                                      \
	       .flag = (fl),                                                                       \
	       .handle = (h),                                                                      \
	       .id = (id_),                                                                        \
	       .sector_number = (sec),                                                             \
	       .nr_sectors = (nr)}},
#define I386_INDIRECT(iop, n, h, id_, sec, g)                                                      \
	{.i = {.operation = BLKIF_OP_INDIRECT,                                                     \
	       .indirect_op = (iop),                                                               \
	       .nr_segments = (n),                                                                 \
	       .id = (id_),                                                                        \
	       .sector_number = (sec),                                                             \
	       .handle = (h),                                                                      \
	       .indirect_grefs = GREFS(g, n)}},
#define I386_RSP(id_, op, st) {.p = {.id = (id_), .operation = (op), .status = (st)}},

union i386_slot {
	struct blkif_request r;
	struct blkif_request_discard d;
	struct blkif_request_indirect i;
	struct blkif_response p;
	unsigned char bytes[BLOB_SLOT];
};

struct i386_blob {
	uint32_t magic, nr, slots_offset, slot_size;
	uint32_t size_req, size_discard, size_indirect, size_rsp;
	union i386_slot slots[NR_VECS];
};

_Static_assert(sizeof(union i386_slot) == BLOB_SLOT, "slot size");

extern const struct i386_blob sdrv_blkif_i386_blob;
const struct i386_blob sdrv_blkif_i386_blob __attribute__((section(BLOB_SECTION), used)) = {
    .magic = BLOB_MAGIC,
    .nr = NR_VECS,
    .slots_offset = offsetof(struct i386_blob, slots),
    .slot_size = sizeof(union i386_slot),
    .size_req = sizeof(struct blkif_request),
    .size_discard = sizeof(struct blkif_request_discard),
    .size_indirect = sizeof(struct blkif_request_indirect),
    .size_rsp = sizeof(struct blkif_response),
    .slots = {BLKIF_VECTORS(I386_RW, I386_DISCARD, I386_INDIRECT, I386_RSP)},
};

#else
/* ============================ the test program ========================== */
#define _GNU_SOURCE
#include "xen-compat.h"

#include "elf32.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <splitdrv/proto/blkif.h>
#include <splitdrv/ring.h>

#include "../common/tutil.h"

static int failures;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);            \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

enum kind { K_RW, K_DISCARD, K_INDIRECT, K_RSP };

struct vec {
	enum kind kind;
	uint8_t op;    /* operation (RW, RSP), indirect_op (INDIRECT) */
	uint8_t flag;  /* DISCARD */
	uint16_t nseg; /* RW, INDIRECT */
	uint16_t handle;
	uint64_t id, sector, nr_sectors;
	uint32_t gref;	/* first data gref (RW) or indirect page gref (INDIRECT) */
	int16_t status; /* RSP */
};

#define V_RW(op_, n, h, id_, sec, g)                                                               \
	{.kind = K_RW,                                                                             \
	 .op = (op_),                                                                              \
	 .nseg = (n),                                                                              \
	 .handle = (h),                                                                            \
	 .id = (id_),                                                                              \
	 .sector = (sec),                                                                          \
	 .gref = (g)},
#define V_DISCARD(fl, h, id_, sec, nr)                                                             \
	{.kind = K_DISCARD,                                                                        \
	 .op = BLKIF_OP_DISCARD,                                                                   \
	 .flag = (fl),                                                                             \
	 .handle = (h),                                                                            \
	 .id = (id_),                                                                              \
	 .sector = (sec),                                                                          \
	 .nr_sectors = (nr)},
#define V_INDIRECT(iop, n, h, id_, sec, g)                                                         \
	{.kind = K_INDIRECT,                                                                       \
	 .op = (iop),                                                                              \
	 .nseg = (n),                                                                              \
	 .handle = (h),                                                                            \
	 .id = (id_),                                                                              \
	 .sector = (sec),                                                                          \
	 .gref = (g)},
#define V_RSP(id_, op_, st) {.kind = K_RSP, .id = (id_), .op = (op_), .status = (st)},

static const struct vec vecs[] = {BLKIF_VECTORS(V_RW, V_DISCARD, V_INDIRECT, V_RSP)};
_Static_assert(sizeof(vecs) / sizeof(vecs[0]) == NR_VECS, "vector count");

#define NATIVE SDRV_BLKIF_ABI_NATIVE
#define PAGE   4096u

static struct sdrv_blkif_limits limits(void)
{
	struct sdrv_blkif_limits l;

	memset(&l, 0, sizeof(l));
	l.sz = sizeof(l);
	l.sectors = 1ULL << 40;
	l.max_indirect_segments = SDRV_BLKIF_MAX_INDIRECT_SEGMENTS;
	l.flags = SDRV_BLKIF_LIM_FLUSH | SDRV_BLKIF_LIM_BARRIER | SDRV_BLKIF_LIM_DISCARD |
		  SDRV_BLKIF_LIM_DISCARD_SECURE;
	return l;
}

static unsigned pages_of(unsigned nseg)
{
	return (nseg + 511) / 512;
}

/* Segment i of an indirect request's pages. */
static struct blkif_request_segment ind_seg(const struct vec *v, unsigned i)
{
	struct blkif_request_segment s;

	memset(&s, 0, sizeof(s));
	s.gref = 0x40000000u + v->gref * 16 + i;
	s.first_sect = (uint8_t)(i % 8);
	s.last_sect = (uint8_t)(7 - (i % 3));
	if (s.last_sect < s.first_sect)
		s.last_sect = s.first_sect;
	return s;
}

/* The private request the table's row stands for. */
static struct sdrv_blkif_req expected(const struct vec *v)
{
	struct sdrv_blkif_req r;

	memset(&r, 0, sizeof(r));
	r.id = v->id;
	r.sector_number = v->sector;
	r.handle = v->handle;
	switch (v->kind) {
	case K_RW:
		r.operation = v->op;
		r.nr_segments = v->nseg;
		for (unsigned i = 0; i < v->nseg; i++) {
			r.seg[i].gref = v->gref + i;
			r.seg[i].first_sect = (uint8_t)(i % 8);
			r.seg[i].last_sect = 7;
			r.nr_sectors += 8 - i % 8;
		}
		break;
	case K_DISCARD:
		r.operation = SDRV_BLKIF_OP_DISCARD;
		r.nr_sectors = v->nr_sectors;
		r.discard_secure = (v->flag & BLKIF_DISCARD_SECURE) != 0;
		break;
	case K_INDIRECT:
		r.operation = SDRV_BLKIF_OP_INDIRECT;
		r.indirect_op = v->op;
		r.nr_segments = v->nseg;
		r.nr_indirect_pages = (uint8_t)pages_of(v->nseg);
		for (unsigned k = 0; k < r.nr_indirect_pages; k++)
			r.indirect_grefs[k] = v->gref + k;
		break;
	case K_RSP:
		break;
	}
	return r;
}

/* Write a row with Xen's structures, as a Xen frontend does: only the
 * fields (whatever is in the rest of the entry stays). */
static void xen_fill(const struct vec *v, blkif_request_t *req)
{
	blkif_request_discard_t *d = (blkif_request_discard_t *)req;
	blkif_request_indirect_t *ind = (blkif_request_indirect_t *)req;

	switch (v->kind) {
	case K_RW:
		req->operation = v->op;
		req->nr_segments = (uint8_t)v->nseg;
		req->handle = v->handle;
		req->id = v->id;
		req->sector_number = v->sector;
		for (unsigned i = 0; i < v->nseg; i++) {
			req->seg[i].gref = v->gref + i;
			req->seg[i].first_sect = (uint8_t)(i % 8);
			req->seg[i].last_sect = 7;
		}
		break;
	case K_DISCARD:
		d->operation = BLKIF_OP_DISCARD;
		d->flag = v->flag;
		d->handle = v->handle;
		d->id = v->id;
		d->sector_number = v->sector;
		d->nr_sectors = v->nr_sectors;
		break;
	case K_INDIRECT:
		ind->operation = BLKIF_OP_INDIRECT;
		ind->indirect_op = v->op;
		ind->nr_segments = v->nseg;
		ind->handle = v->handle;
		ind->id = v->id;
		ind->sector_number = v->sector;
		for (unsigned k = 0; k < pages_of(v->nseg); k++)
			ind->indirect_grefs[k] = v->gref + k;
		break;
	case K_RSP:
		break;
	}
}

/* Indirect pages written with Xen's segment structure. */
static struct blkif_request_segment *xen_pages(const struct vec *v)
{
	struct blkif_request_segment *p = aligned_alloc(PAGE, pages_of(v->nseg) * PAGE);

	if (!p) {
		perror("aligned_alloc");
		exit(TU_FAIL);
	}
	memset(p, 0xEE, pages_of(v->nseg) * PAGE);
	for (unsigned i = 0; i < v->nseg; i++)
		p[i] = ind_seg(v, i);
	return p;
}

/* Check decoded indirect segments against the row. */
static void check_ind_segs(const struct vec *v, const struct sdrv_blkif_seg *s,
			   const struct sdrv_blkif_req *req)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < v->nseg; i++) {
		struct blkif_request_segment x = ind_seg(v, i);

		CHECK(s[i].gref == x.gref && s[i].first_sect == x.first_sect &&
			  s[i].last_sect == x.last_sect,
		      "indirect segment %u of id %#llx", i, (unsigned long long)v->id);
		sum += (unsigned)x.last_sect - x.first_sect + 1;
	}
	CHECK(req->nr_sectors == sum, "indirect sectors of id %#llx", (unsigned long long)v->id);
}

static void *page_new(size_t bytes, int fill)
{
	void *p = aligned_alloc(PAGE, bytes);

	if (!p) {
		perror("aligned_alloc");
		exit(TU_FAIL);
	}
	memset(p, fill, bytes);
	return p;
}

static const int16_t statuses[] = {BLKIF_RSP_OKAY, BLKIF_RSP_ERROR, BLKIF_RSP_EOPNOTSUPP};

/* ---------------- 1. a Xen frontend, our backend (native) ---------------- */

static void xen_front_our_back(void)
{
	struct sdrv_blkif_limits lim = limits();
	size_t esz = sdrv_blkif_entry_size(NATIVE);
	void *page = page_new(PAGE, 0xEE); /* garbage in every byte Xen leaves alone */
	blkif_sring_t *s = page;
	blkif_front_ring_t fr;
	struct sdrv_ring b;
	struct sdrv_blkif_seg *segs = calloc(SDRV_BLKIF_MAX_INDIRECT_SEGMENTS, sizeof(*segs));
	unsigned char copy[SDRV_BLKIF_ENTRY_SIZE];
	unsigned nreq = 0, k = 0;
	RING_IDX i, rp;

	CHECK(segs != NULL, "calloc");
	CHECK(esz == sizeof(union blkif_sring_entry), "entry size");
	SHARED_RING_INIT(s);
	FRONT_RING_INIT(&fr, s, PAGE);
	for (size_t v = 0; v < NR_VECS; v++) {
		if (vecs[v].kind == K_RSP)
			continue;
		xen_fill(&vecs[v], RING_GET_REQUEST(&fr, fr.req_prod_pvt));
		fr.req_prod_pvt++;
		nreq++;
	}
	RING_PUSH_REQUESTS(&fr);

	CHECK(sdrv_ring_back_attach(&b, page, PAGE, esz, 0) == 0, "attach");
	for (size_t v = 0; v < NR_VECS; v++) {
		struct sdrv_blkif_req req, want;
		struct sdrv_blkif_rsp rsp;
		int err;

		if (vecs[v].kind == K_RSP)
			continue;
		CHECK(sdrv_ring_back_take_req(&b, copy) == 1, "request %zu waiting", v);
		want = expected(&vecs[v]);
		err = sdrv_blkif_decode_req(NATIVE, copy, esz, &lim, &req);
		CHECK(err == 0, "Xen's request %zu refused: %s", v, sdrv_blkif_strerror(err));
		CHECK(memcmp(&req, &want, sizeof(req)) == 0,
		      "Xen's request %zu decodes differently", v);
		if (err == 0 && vecs[v].kind == K_INDIRECT) {
			struct blkif_request_segment *pg = xen_pages(&vecs[v]);

			/* The pages as a grant copy would have fetched them. */
			err = sdrv_blkif_decode_indirect(&req, pg, pages_of(vecs[v].nseg) * PAGE,
							 &lim, segs,
							 SDRV_BLKIF_MAX_INDIRECT_SEGMENTS);
			CHECK(err == 0, "Xen's indirect pages refused: %s",
			      sdrv_blkif_strerror(err));
			if (err == 0)
				check_ind_segs(&vecs[v], segs, &req);
			free(pg);
		}
		rsp.id = req.id;
		rsp.operation = sdrv_blkif_rsp_operation(&req);
		rsp.status = statuses[k++ % 3];
		CHECK(sdrv_blkif_encode_rsp(NATIVE, &rsp, sdrv_ring_back_next_rsp(&b), esz) == 0,
		      "encode response");
	}
	sdrv_ring_back_push(&b);

	/* The Xen frontend reads them with its own structure. */
	rp = s->rsp_prod;
	xen_rmb();
	CHECK(rp - fr.rsp_cons == nreq, "%u responses", rp - fr.rsp_cons);
	k = 0;
	for (i = fr.rsp_cons; i != rp && k < nreq; i++) {
		blkif_response_t x;
		const unsigned char *raw = (const unsigned char *)RING_GET_RESPONSE(&fr, i);
		size_t v = 0;

		RING_COPY_RESPONSE(&fr, i, &x);
		for (unsigned seen = 0; v < NR_VECS; v++)
			if (vecs[v].kind != K_RSP && seen++ == k)
				break;
		CHECK(x.id == vecs[v].id, "response id");
		CHECK(x.operation == vecs[v].op, "response operation (indirect: its indirect_op)");
		CHECK(x.status == statuses[k % 3], "response status");
		/* XSA-216: nothing but the three fields in the whole entry. */
		for (size_t byte = 0; byte < esz; byte++)
			if (byte != 9 && byte >= 12)
				CHECK(raw[byte] == 0, "response byte %zu is %#x", byte, raw[byte]);
		CHECK(raw[9] == 0, "response padding byte 9");
		k++;
	}
	fr.rsp_cons = i;
	free(segs);
	free(page);
}

/* ---------------- 2. our frontend, a Xen backend (native) ---------------- */

static void our_front_xen_back(void)
{
	size_t esz = sdrv_blkif_entry_size(NATIVE);
	void *page = page_new(PAGE, 0xEE);
	blkif_sring_t *s = page;
	blkif_back_ring_t br;
	struct sdrv_ring f;
	struct sdrv_blkif_req sent[NR_VECS];
	struct blkif_request_segment *pages[NR_VECS];
	unsigned char copy[SDRV_BLKIF_ENTRY_SIZE];
	unsigned nreq = 0, answered = 0;
	RING_IDX rc, rp;

	memset(pages, 0, sizeof(pages));
	CHECK(sdrv_ring_front_init(&f, page, PAGE, esz) == 0, "front init");
	for (size_t v = 0; v < NR_VECS; v++) {
		void *slot;

		if (vecs[v].kind == K_RSP)
			continue;
		sent[nreq] = expected(&vecs[v]);
		slot = sdrv_ring_front_next_req(&f);
		CHECK(slot && sdrv_blkif_encode_req(NATIVE, &sent[nreq], slot, esz) == 0,
		      "encode request %zu", v);
		if (vecs[v].kind == K_INDIRECT) {
			struct sdrv_blkif_seg *in = calloc(vecs[v].nseg, sizeof(*in));
			size_t len = pages_of(vecs[v].nseg) * PAGE;

			CHECK(in != NULL, "calloc");
			for (unsigned i = 0; in && i < vecs[v].nseg; i++) {
				struct blkif_request_segment x = ind_seg(&vecs[v], i);

				in[i].gref = x.gref;
				in[i].first_sect = x.first_sect;
				in[i].last_sect = x.last_sect;
			}
			pages[nreq] = page_new(len, 0xEE);
			CHECK(sdrv_blkif_encode_indirect(in, vecs[v].nseg, pages[nreq], len) == 0,
			      "encode indirect pages");
			free(in);
		}
		nreq++;
	}
	sdrv_ring_front_push(&f);

	/* A Xen backend, the way Linux blkback reads: producer index once,
	 * then a private copy of each request. */
	BACK_RING_INIT(&br, s, PAGE);
	rp = s->req_prod;
	xen_rmb();
	CHECK(rp == nreq, "%u requests published", rp);
	for (rc = br.req_cons; rc != rp && rc < nreq; rc++) {
		union blkif_sring_entry want;
		blkif_request_t x;
		blkif_response_t resp;
		const struct vec *v = NULL;
		size_t n = 0;

		for (size_t j = 0; j < NR_VECS; j++)
			if (vecs[j].kind != K_RSP && n++ == rc)
				v = &vecs[j];
		/* Byte for byte what Xen's structures give in a zeroed entry. */
		memset(&want, 0, sizeof(want));
		xen_fill(v, &want.req);
		CHECK(memcmp(RING_GET_REQUEST(&br, rc), &want, sizeof(want)) == 0,
		      "our request %u differs from Xen's structure", rc);
		RING_COPY_REQUEST(&br, rc, &x);
		if (v->kind == K_RW) {
			CHECK(x.operation == v->op && x.nr_segments == v->nseg &&
				  x.handle == v->handle && x.id == v->id &&
				  x.sector_number == v->sector,
			      "request %u fields", rc);
			for (unsigned i = 0; i < v->nseg; i++)
				CHECK(x.seg[i].gref == v->gref + i &&
					  x.seg[i].first_sect == i % 8 && x.seg[i].last_sect == 7,
				      "request %u segment %u", rc, i);
		} else if (v->kind == K_DISCARD) {
			blkif_request_discard_t d;

			memcpy(&d, &x, sizeof(d));
			CHECK(d.operation == BLKIF_OP_DISCARD && d.flag == v->flag &&
				  d.handle == v->handle && d.id == v->id &&
				  d.sector_number == v->sector && d.nr_sectors == v->nr_sectors,
			      "discard %u fields", rc);
		} else {
			blkif_request_indirect_t ind;

			memcpy(&ind, &x, sizeof(ind));
			CHECK(ind.operation == BLKIF_OP_INDIRECT && ind.indirect_op == v->op &&
				  ind.nr_segments == v->nseg && ind.handle == v->handle &&
				  ind.id == v->id && ind.sector_number == v->sector,
			      "indirect %u fields", rc);
			for (unsigned k = 0; k < BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST; k++)
				CHECK(ind.indirect_grefs[k] ==
					  (k < pages_of(v->nseg) ? v->gref + k : 0),
				      "indirect %u gref %u", rc, k);
			for (unsigned i = 0; pages[rc] && i < v->nseg; i++) {
				struct blkif_request_segment a = pages[rc][i], b = ind_seg(v, i);

				CHECK(a.gref == b.gref && a.first_sect == b.first_sect &&
					  a.last_sect == b.last_sect,
				      "indirect %u page segment %u", rc, i);
			}
		}
		/* Answer as Linux blkback's make_response(): a local structure,
		 * here with garbage padding, copied whole into the slot. */
		memset(&resp, 0xCC, sizeof(resp));
		resp.id = x.id;
		resp.operation = x.operation == BLKIF_OP_INDIRECT ? v->op : x.operation;
		resp.status = statuses[rc % 3];
		memcpy(RING_GET_RESPONSE(&br, br.rsp_prod_pvt), &resp, sizeof(resp));
		br.rsp_prod_pvt++;
	}
	br.req_cons = rc;
	RING_PUSH_RESPONSES(&br);

	while (sdrv_ring_front_take_rsp(&f, copy) == 1) {
		struct sdrv_blkif_rsp rsp;
		const struct sdrv_blkif_req *req = NULL;
		unsigned idx = 0;

		CHECK(sdrv_blkif_decode_rsp(NATIVE, copy, esz, &rsp) == 0,
		      "Xen's response refused");
		for (unsigned j = 0; j < nreq; j++)
			if (sent[j].id == rsp.id) {
				req = &sent[j];
				idx = j;
			}
		CHECK(req != NULL, "response for an unknown id");
		if (req) {
			CHECK(sdrv_blkif_rsp_matches(&rsp, req) == 0, "response does not match");
			CHECK(rsp.status == statuses[idx % 3], "status");
		}
		answered++;
	}
	CHECK(answered == nreq, "%u of %u answered", answered, nreq);
	CHECK(sdrv_ring_broken(&f) == NULL, "ring broken: %s", sdrv_ring_broken(&f));
	for (unsigned j = 0; j < nreq; j++)
		free(pages[j]);
	free(page);
}

/* ---------------------- the 64-bit names, and ABIs ---------------------- */

static void abi_names_and_64bit_twins(void)
{
	struct sdrv_blkif_limits lim = limits();
	enum sdrv_blkif_abi abi;

	CHECK(sdrv_blkif_abi_parse(XEN_IO_PROTO_ABI_X86_32, &abi) == 0 &&
		  abi == SDRV_BLKIF_ABI_X86_32,
	      "x86_32");
	CHECK(sdrv_blkif_abi_parse(XEN_IO_PROTO_ABI_X86_64, &abi) == 0 &&
		  abi == SDRV_BLKIF_ABI_X86_64,
	      "x86_64");
	CHECK(sdrv_blkif_abi_parse(XEN_IO_PROTO_ABI_ARM, &abi) == 0 && abi == SDRV_BLKIF_ABI_ARM,
	      "arm");
	/* Xen's native name on this machine is our native ABI. */
	CHECK(sdrv_blkif_abi_parse(XEN_IO_PROTO_ABI_NATIVE, &abi) == 0 && abi == NATIVE,
	      "native is %s", XEN_IO_PROTO_ABI_NATIVE);
	CHECK(sdrv_blkif_entry_size(NATIVE) == sizeof(union blkif_sring_entry), "native entry");

	/* x86_64 and arm are the same bytes as this (64-bit) native ABI. */
	if (NATIVE == SDRV_BLKIF_ABI_X86_32)
		return;
	for (size_t v = 0; v < NR_VECS; v++) {
		unsigned char n[SDRV_BLKIF_ENTRY_SIZE], x[SDRV_BLKIF_ENTRY_SIZE],
		    a[SDRV_BLKIF_ENTRY_SIZE];
		struct sdrv_blkif_req req = expected(&vecs[v]), dx, da;
		struct sdrv_blkif_rsp rsp = {vecs[v].id, vecs[v].op, vecs[v].status};

		if (vecs[v].kind == K_RSP) {
			CHECK(
			    sdrv_blkif_encode_rsp(NATIVE, &rsp, n, sizeof(n)) == 0 &&
				sdrv_blkif_encode_rsp(SDRV_BLKIF_ABI_X86_64, &rsp, x, sizeof(x)) ==
				    0 &&
				sdrv_blkif_encode_rsp(SDRV_BLKIF_ABI_ARM, &rsp, a, sizeof(a)) == 0,
			    "encode responses");
		} else {
			CHECK(
			    sdrv_blkif_encode_req(NATIVE, &req, n, sizeof(n)) == 0 &&
				sdrv_blkif_encode_req(SDRV_BLKIF_ABI_X86_64, &req, x, sizeof(x)) ==
				    0 &&
				sdrv_blkif_encode_req(SDRV_BLKIF_ABI_ARM, &req, a, sizeof(a)) == 0,
			    "encode requests");
			CHECK(sdrv_blkif_decode_req(SDRV_BLKIF_ABI_X86_64, n, sizeof(n), &lim,
						    &dx) == 0 &&
				  sdrv_blkif_decode_req(SDRV_BLKIF_ABI_ARM, n, sizeof(n), &lim,
							&da) == 0 &&
				  memcmp(&dx, &req, sizeof(dx)) == 0 &&
				  memcmp(&da, &req, sizeof(da)) == 0,
			      "decode row %zu as x86_64 and arm", v);
		}
		CHECK(memcmp(n, x, sizeof(n)) == 0 && memcmp(n, a, sizeof(n)) == 0,
		      "row %zu: x86_64/arm bytes differ from native", v);
	}
}

/* ------------------------ 3. the x86_32 ABI (i386) ----------------------- */

static uint32_t rd32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void x86_32_against_i386_structures(const char *path)
{
	struct sdrv_blkif_limits lim = limits();
	const enum sdrv_blkif_abi abi = SDRV_BLKIF_ABI_X86_32;
	size_t n = 0, len = 0, rq, rs;
	unsigned char *file = elf32_read_file(path, &n);
	const unsigned char *blob, *slots;

	if (!file) {
		fprintf(stderr, "FAIL: cannot read %s: %s (built by make check)\n", path,
			strerror(errno));
		failures++;
		return;
	}
	if (n >= 5 && memcmp(file, "SKIP:", 5) == 0) {
		/* The build could not compile for i386: the file says why. */
		fwrite(file, 1, n, stderr);
		free(file);
		tu_skip("x86_32 part needs a compiler that can build -m32 objects");
	}
	blob = elf32_section(file, n, BLOB_SECTION, &len);
	CHECK(blob != NULL && len >= 32, "%s: no usable " BLOB_SECTION " section", path);
	if (!blob || len < 32) {
		free(file);
		return;
	}
	CHECK(sdrv_blkif_abi_sizes(abi, &rq, &rs) == 0, "sizes");
	CHECK(rd32(blob) == BLOB_MAGIC && rd32(blob + 4) == NR_VECS && rd32(blob + 12) == BLOB_SLOT,
	      "blob header");
	CHECK(rd32(blob + 16) == rq && rq == SDRV_BLKIF_X86_32_ENTRY_SIZE,
	      "i386 blkif_request is %u bytes", rd32(blob + 16));
	CHECK(rd32(blob + 20) == 28 && rd32(blob + 24) == 64, "i386 discard/indirect sizes");
	CHECK(rd32(blob + 28) == rs, "i386 blkif_response is %u bytes", rd32(blob + 28));
	CHECK(rd32(blob + 8) <= len && (len - rd32(blob + 8)) / BLOB_SLOT >= NR_VECS, "blob size");
	if (failures) {
		free(file);
		return;
	}
	slots = blob + rd32(blob + 8);

	for (size_t v = 0; v < NR_VECS; v++) {
		const unsigned char *xen = slots + v * BLOB_SLOT;
		unsigned char out[SDRV_BLKIF_ENTRY_SIZE];
		size_t xsize = vecs[v].kind == K_RW	    ? rd32(blob + 16)
			       : vecs[v].kind == K_DISCARD  ? rd32(blob + 20)
			       : vecs[v].kind == K_INDIRECT ? rd32(blob + 24)
							    : rd32(blob + 28);

		memset(out, 0xAA, sizeof(out));
		if (vecs[v].kind == K_RSP) {
			struct sdrv_blkif_rsp rsp = {vecs[v].id, vecs[v].op, vecs[v].status}, got;
			unsigned char *exact = malloc(rs);

			CHECK(sdrv_blkif_encode_rsp(abi, &rsp, out, rq) == 0, "encode rsp");
			CHECK(memcmp(out, xen, xsize) == 0, "row %zu: x86_32 response bytes differ",
			      v);
			CHECK(exact != NULL, "malloc");
			if (!exact)
				continue;
			memcpy(exact, xen, rs);
			CHECK(sdrv_blkif_decode_rsp(abi, exact, rs, &got) == 0 &&
				  got.id == rsp.id && got.operation == rsp.operation &&
				  got.status == rsp.status,
			      "row %zu: i386 response decodes differently", v);
			free(exact);
		} else {
			struct sdrv_blkif_req want = expected(&vecs[v]), got;
			unsigned char *exact = malloc(rq);
			int err;

			CHECK(sdrv_blkif_encode_req(abi, &want, out, rq) == 0, "encode req");
			CHECK(memcmp(out, xen, xsize) == 0, "row %zu: x86_32 request bytes differ",
			      v);
			CHECK(exact != NULL, "malloc");
			if (!exact)
				continue;
			/* An exact-size private copy of Xen's i386 entry. */
			memcpy(exact, xen, rq);
			err = sdrv_blkif_decode_req(abi, exact, rq, &lim, &got);
			CHECK(err == 0, "row %zu: i386 request refused: %s", v,
			      sdrv_blkif_strerror(err));
			CHECK(memcmp(&got, &want, sizeof(got)) == 0,
			      "row %zu: i386 request decodes differently", v);
			free(exact);
		}
		/* The rest of the entry is zero, and nothing past it written. */
		for (size_t byte = xsize; byte < rq; byte++)
			CHECK(out[byte] == 0, "row %zu: byte %zu not zero", v, byte);
		for (size_t byte = rq; byte < sizeof(out); byte++)
			CHECK(out[byte] == 0xAA, "row %zu: byte %zu written past the entry", v,
			      byte);
	}
	free(file);
}

int main(int argc, char **argv)
{
	const char *bdir = getenv("top_builddir");
	char *path = NULL;

	tu_watchdog(60, "blkif-xen");
	if (argc > 1)
		path = strdup(argv[1]);
	else if (asprintf(&path, "%s/tests/interop/blkif-xen-i386.elf", bdir ? bdir : ".") < 0)
		path = NULL;
	if (!path) {
		perror("path");
		return TU_FAIL;
	}
	abi_names_and_64bit_twins();
	xen_front_our_back();
	our_front_xen_back();
	x86_32_against_i386_structures(path);
	free(path);
	if (failures) {
		fprintf(stderr, "blkif-xen: %d check(s) failed\n", failures);
		return TU_FAIL;
	}
	printf("PASS: blkif codec against Xen's blkif.h: native requests/responses both ways, "
	       "indirect pages, x86_64/arm twins, x86_32 against Xen's i386 structures\n");
	return TU_PASS;
}
#endif
