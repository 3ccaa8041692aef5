/* SPDX-License-Identifier: MIT */
/*
 * Fuzz harness for the blkif codec (libsplitdrv/blkif.c): the request
 * decoder, the indirect-page decoder and the response decoder, in any ABI
 * under random device limits, from hostile bytes.
 *
 * Input (missing bytes read as zero):
 *   [0]    bits 0-1: ABI (% 3: x86_32, x86_64, arm); bit 7: pass [1] as the
 *          limits' flags unmasked (unknown bits: the caller's error)
 *   [1]    limits flags (SDRV_BLKIF_LIM_*)
 *   [2]    device size: low 3 bits pick 0, 1, 8, 1000, 2^32, UINT64_MAX - 1,
 *          UINT64_MAX, or (7) the next 8 bytes
 *   [+2]   max_indirect_segments, u16 % 4098 (4097 is the caller's error)
 *   [+R]   the request slot (R = the ABI's request size)
 *   [+P]   a response slot (P = the ABI's response size)
 *   [rest] indirect segment descriptors
 *
 * Every result is checked, not just survived (abort() on violation):
 *  - the error is one of the documented classes, -SDRV_EINVAL exactly when
 *    the limits are invalid; a refused request keeps only id, operation
 *    and indirect_op; an accepted one has a known operation the device
 *    offers, no write on a read-only device, a segment count within the
 *    protocol and the negotiated maximum, valid segments, sectors inside
 *    the device (checked here without overflow), every field equal to the
 *    wire's (read here through the layout structures) and every unused
 *    member zero, and it re-encodes to a slot that decodes to the same;
 *  - the indirect decoder fills exactly nr_segments valid segments equal
 *    to the descriptors, or refuses with a documented error; a short copy
 *    is refused;
 *  - the response to any request encodes to the three fields and zeros;
 *    the response decoder accepts exactly the valid statuses and
 *    operations, returning the wire's fields.
 *
 * Built two ways: with libFuzzer by `make fuzz-blkif` (-DSDRV_LIBFUZZER),
 * and as a plain program run by `make check`: the seed corpus
 * (tests/fuzz/corpus/blkif, SDRV_FUZZ_CORPUS), generated valid requests,
 * then mutations of both from a fixed seed (SDRV_FUZZ_SEED), scaled with
 * tu_scaled(). `fuzz-blkif-run FILE|DIR...` replays inputs;
 * `fuzz-blkif-run --gen-corpus DIR` rewrites the seed corpus.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <splitdrv/proto/blkif.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the inputs exercised, for the plain runner's coverage check. */
static struct {
	unsigned long inputs, accepted_rw, accepted_flush0, accepted_discard, accepted_indirect;
	unsigned long ind_ok, ind_badmsg, ind_range, rsp_ok, rsp_proto;
	unsigned long err_enosys, err_eopnotsupp, err_erofs, err_emsgsize, err_ebadmsg, err_erange,
	    err_einval;
} st;

static void fz_fail(const char *what, int line) __attribute__((noreturn));

static void fz_fail(const char *what, int line)
{
	fprintf(stderr, "fuzz-blkif: invariant violated at line %d: %s\n", line, what);
	abort();
}

#define FZ_CHECK(cond)                                                                             \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fz_fail(#cond, __LINE__);                                                  \
	} while (0)

struct input {
	const uint8_t *p;
	size_t n, i;
};

static uint8_t in8(struct input *in)
{
	return in->i < in->n ? in->p[in->i++] : 0;
}

/* `len` bytes into `dst`, zero where the input ran out. */
static void in_bytes(struct input *in, void *dst, size_t len)
{
	unsigned char *d = dst;

	for (size_t k = 0; k < len; k++)
		d[k] = in8(in);
}

static bool in_device(uint64_t sector, uint64_t n, uint64_t size)
{
	return n == 0 || (n <= size && sector <= size - n);
}

static bool seg_valid(const struct sdrv_blkif_seg *s)
{
	return s->first_sect <= s->last_sect && s->last_sect <= 7 && s->_pad0 == 0;
}

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t k = 0; k < n; k++)
		if (b[k])
			return false;
	return true;
}

/* The wire's fields, read through the layout structures (not the codec's
 * offset table). */
struct wire {
	uint8_t op, b1;
	uint16_t handle, ind_nseg, ind_handle;
	uint64_t id, sector, nr_sectors;
	uint32_t grefs[SDRV_BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
	struct sdrv_blkif_request_segment seg[SDRV_BLKIF_MAX_SEGMENTS_PER_REQUEST];
};

#define READ_WIRE(RW, DI, IND)                                                                     \
	do {                                                                                       \
		RW r;                                                                              \
		DI d;                                                                              \
		IND x;                                                                             \
		memcpy(&r, slot, sizeof(r));                                                       \
		memcpy(&d, slot, sizeof(d));                                                       \
		memcpy(&x, slot, sizeof(x));                                                       \
		w->op = r.operation;                                                               \
		w->b1 = r.nr_segments;                                                             \
		w->handle = r.handle;                                                              \
		w->id = r.id;                                                                      \
		w->sector = r.sector_number;                                                       \
		memcpy(w->seg, r.seg, sizeof(w->seg));                                             \
		w->nr_sectors = d.nr_sectors;                                                      \
		w->ind_nseg = x.nr_segments;                                                       \
		w->ind_handle = x.handle;                                                          \
		memcpy(w->grefs, x.indirect_grefs, sizeof(w->grefs));                              \
	} while (0)

static void read_wire(enum sdrv_blkif_abi abi, const unsigned char *slot, struct wire *w)
{
	if (abi == SDRV_BLKIF_ABI_X86_32)
		READ_WIRE(struct sdrv_blkif_x86_32_request,
			  struct sdrv_blkif_x86_32_request_discard,
			  struct sdrv_blkif_x86_32_request_indirect);
	else
		READ_WIRE(struct sdrv_blkif_request, struct sdrv_blkif_request_discard,
			  struct sdrv_blkif_request_indirect);
}

static void count_error(int rc)
{
	switch (rc) {
	case -SDRV_ENOSYS:
		st.err_enosys++;
		break;
	case -SDRV_EOPNOTSUPP:
		st.err_eopnotsupp++;
		break;
	case -SDRV_EROFS:
		st.err_erofs++;
		break;
	case -SDRV_EMSGSIZE:
		st.err_emsgsize++;
		break;
	case -SDRV_EBADMSG:
		st.err_ebadmsg++;
		break;
	case -SDRV_ERANGE:
		st.err_erange++;
		break;
	case -SDRV_EINVAL:
		st.err_einval++;
		break;
	default:
		fz_fail("undocumented error from sdrv_blkif_decode_req", __LINE__);
	}
}

/* An accepted request: everything the decoder promises. */
static void check_accepted(enum sdrv_blkif_abi abi, const struct sdrv_blkif_limits *lim,
			   const struct wire *w, const struct sdrv_blkif_req *req)
{
	bool ro = lim->flags & SDRV_BLKIF_LIM_READONLY;
	struct sdrv_blkif_req want, again;
	unsigned char slot[SDRV_BLKIF_ENTRY_SIZE];
	uint64_t sum = 0;

	memset(&want, 0, sizeof(want));
	want.operation = w->op;
	want.id = w->id;
	want.sector_number = w->sector;
	FZ_CHECK(req->operation == w->op && req->id == w->id && req->sector_number == w->sector);
	switch (req->operation) {
	case SDRV_BLKIF_OP_READ:
	case SDRV_BLKIF_OP_WRITE:
	case SDRV_BLKIF_OP_WRITE_BARRIER:
	case SDRV_BLKIF_OP_FLUSH_DISKCACHE:
		if (req->operation == SDRV_BLKIF_OP_WRITE_BARRIER)
			FZ_CHECK(lim->flags & SDRV_BLKIF_LIM_BARRIER);
		if (req->operation == SDRV_BLKIF_OP_FLUSH_DISKCACHE)
			FZ_CHECK(lim->flags & SDRV_BLKIF_LIM_FLUSH);
		FZ_CHECK(!ro || req->operation == SDRV_BLKIF_OP_READ);
		FZ_CHECK(req->nr_segments == w->b1);
		FZ_CHECK(req->nr_segments <= SDRV_BLKIF_MAX_SEGMENTS_PER_REQUEST);
		FZ_CHECK(req->nr_segments >= 1 || req->operation == SDRV_BLKIF_OP_WRITE_BARRIER ||
			 req->operation == SDRV_BLKIF_OP_FLUSH_DISKCACHE);
		for (unsigned i = 0; i < req->nr_segments; i++) {
			FZ_CHECK(seg_valid(&req->seg[i]));
			FZ_CHECK(req->seg[i].gref == w->seg[i].gref &&
				 req->seg[i].first_sect == w->seg[i].first_sect &&
				 req->seg[i].last_sect == w->seg[i].last_sect);
			sum += (unsigned)req->seg[i].last_sect - req->seg[i].first_sect + 1;
			want.seg[i] = req->seg[i];
		}
		FZ_CHECK(req->nr_sectors == sum);
		FZ_CHECK(in_device(req->sector_number, sum, lim->sectors));
		want.handle = w->handle;
		want.nr_segments = req->nr_segments;
		want.nr_sectors = sum;
		if (req->nr_segments)
			st.accepted_rw++;
		else
			st.accepted_flush0++;
		break;
	case SDRV_BLKIF_OP_DISCARD:
		FZ_CHECK(lim->flags & SDRV_BLKIF_LIM_DISCARD);
		FZ_CHECK(!ro);
		FZ_CHECK(req->nr_sectors == w->nr_sectors);
		FZ_CHECK(in_device(req->sector_number, req->nr_sectors, lim->sectors));
		FZ_CHECK(req->discard_secure == ((w->b1 & SDRV_BLKIF_DISCARD_SECURE) &&
						 (lim->flags & SDRV_BLKIF_LIM_DISCARD_SECURE)));
		want.handle = w->handle;
		want.nr_sectors = w->nr_sectors;
		want.discard_secure = req->discard_secure;
		st.accepted_discard++;
		break;
	case SDRV_BLKIF_OP_INDIRECT:
		FZ_CHECK(req->indirect_op == w->b1);
		FZ_CHECK(req->indirect_op == SDRV_BLKIF_OP_READ ||
			 req->indirect_op == SDRV_BLKIF_OP_WRITE);
		FZ_CHECK(!ro || req->indirect_op == SDRV_BLKIF_OP_READ);
		FZ_CHECK(req->nr_segments == w->ind_nseg);
		FZ_CHECK(req->nr_segments >= 1 && req->nr_segments <= lim->max_indirect_segments);
		FZ_CHECK(req->nr_indirect_pages == (req->nr_segments + 511) / 512);
		FZ_CHECK(req->nr_indirect_pages <= SDRV_BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST);
		FZ_CHECK(in_device(req->sector_number, req->nr_segments, lim->sectors));
		FZ_CHECK(req->nr_sectors == 0);
		want.indirect_op = req->indirect_op;
		want.handle = w->ind_handle;
		want.nr_segments = req->nr_segments;
		want.nr_indirect_pages = req->nr_indirect_pages;
		for (unsigned k = 0; k < req->nr_indirect_pages; k++)
			want.indirect_grefs[k] = w->grefs[k];
		st.accepted_indirect++;
		break;
	default:
		fz_fail("accepted an unknown operation", __LINE__);
	}
	/* Every member is the wire's or zero: nothing else was invented. */
	FZ_CHECK(memcmp(req, &want, sizeof(want)) == 0);

	/* The request re-encodes to a slot that decodes to the same. */
	memset(slot, 0x5A, sizeof(slot));
	FZ_CHECK(sdrv_blkif_encode_req(abi, req, slot, sdrv_blkif_entry_size(abi)) == 0);
	FZ_CHECK(sdrv_blkif_decode_req(abi, slot, sdrv_blkif_entry_size(abi), lim, &again) == 0);
	FZ_CHECK(memcmp(req, &again, sizeof(again)) == 0);
}

/* The indirect pages of an accepted INDIRECT request. */
static void check_indirect(struct sdrv_blkif_req *req, const struct sdrv_blkif_limits *lim,
			   struct input *in)
{
	size_t len = (size_t)req->nr_segments * 8;
	unsigned char *pages = malloc(len);
	struct sdrv_blkif_seg *segs = malloc((size_t)req->nr_segments * sizeof(*segs));
	struct sdrv_blkif_req before = *req;
	uint64_t sum = 0;
	int rc;

	FZ_CHECK(pages && segs);
	/* The descriptors: the input's remaining bytes, repeated if short
	 * (one byte of the input then shapes many descriptors). */
	if (in->i < in->n) {
		for (size_t k = 0; k < len; k++)
			pages[k] = in->p[in->i + k % (in->n - in->i)];
	} else {
		memset(pages, 0, len);
	}
	/* A copy one byte short, or an array one short: the caller's error. */
	FZ_CHECK(sdrv_blkif_decode_indirect(req, pages, len - 1, lim, segs, req->nr_segments) ==
		 -SDRV_EINVAL);
	FZ_CHECK(sdrv_blkif_decode_indirect(req, pages, len, lim, segs, req->nr_segments - 1u) ==
		 -SDRV_EINVAL);
	FZ_CHECK(memcmp(req, &before, sizeof(before)) == 0);

	rc = sdrv_blkif_decode_indirect(req, pages, len, lim, segs, req->nr_segments);
	if (rc == -SDRV_EBADMSG) {
		bool bad = false;

		for (unsigned i = 0; i < req->nr_segments; i++)
			bad |= pages[8 * i + 4] > pages[8 * i + 5] || pages[8 * i + 5] > 7;
		FZ_CHECK(bad);
		FZ_CHECK(memcmp(req, &before, sizeof(before)) == 0);
		st.ind_badmsg++;
	} else if (rc == -SDRV_ERANGE) {
		for (unsigned i = 0; i < req->nr_segments; i++) {
			FZ_CHECK(pages[8 * i + 4] <= pages[8 * i + 5] && pages[8 * i + 5] <= 7);
			sum += (unsigned)pages[8 * i + 5] - pages[8 * i + 4] + 1;
		}
		FZ_CHECK(!in_device(req->sector_number, sum, lim->sectors));
		FZ_CHECK(memcmp(req, &before, sizeof(before)) == 0);
		st.ind_range++;
	} else {
		FZ_CHECK(rc == 0);
		for (unsigned i = 0; i < req->nr_segments; i++) {
			struct sdrv_blkif_request_segment w;

			memcpy(&w, pages + 8 * i, sizeof(w));
			FZ_CHECK(seg_valid(&segs[i]));
			FZ_CHECK(segs[i].gref == w.gref && segs[i].first_sect == w.first_sect &&
				 segs[i].last_sect == w.last_sect);
			sum += (unsigned)segs[i].last_sect - segs[i].first_sect + 1;
		}
		FZ_CHECK(req->nr_sectors == sum);
		FZ_CHECK(sum >= req->nr_segments && sum <= 8u * req->nr_segments);
		FZ_CHECK(in_device(req->sector_number, sum, lim->sectors));
		before.nr_sectors = sum;
		FZ_CHECK(memcmp(req, &before, sizeof(before)) == 0);
		st.ind_ok++;
	}
	free(pages);
	free(segs);
}

/* The backend's answer to whatever came: three fields, the rest zero. */
static void check_answer(enum sdrv_blkif_abi abi, const struct sdrv_blkif_req *req, int rc)
{
	unsigned char slot[SDRV_BLKIF_ENTRY_SIZE + 4];
	size_t esz = sdrv_blkif_entry_size(abi);
	struct sdrv_blkif_rsp rsp, back;
	uint64_t id;
	int16_t status;

	rsp.id = req->id;
	rsp.operation = sdrv_blkif_rsp_operation(req);
	rsp.status = sdrv_blkif_status_for(rc);
	FZ_CHECK(rsp.status == (rc == 0					       ? 0
				: rc == -SDRV_ENOSYS || rc == -SDRV_EOPNOTSUPP ? -2
									       : -1));
	memset(slot, 0xAA, sizeof(slot));
	FZ_CHECK(sdrv_blkif_encode_rsp(abi, &rsp, slot, esz) == 0);
	memcpy(&id, slot, 8);
	memcpy(&status, slot + 10, 2);
	FZ_CHECK(id == rsp.id && slot[8] == rsp.operation && status == rsp.status);
	FZ_CHECK(slot[9] == 0 && all_zero(slot + 12, esz - 12));
	FZ_CHECK(slot[esz] == 0xAA);
	rc = sdrv_blkif_decode_rsp(abi, slot, esz, &back);
	FZ_CHECK(back.id == rsp.id && back.operation == rsp.operation && back.status == rsp.status);
	if (rc == 0)
		FZ_CHECK(sdrv_blkif_rsp_matches(&back, req) == 0);
	else
		FZ_CHECK(rc == -SDRV_EPROTO); /* an operation no frontend sends */
}

static void check_response_bytes(enum sdrv_blkif_abi abi, struct input *in)
{
	size_t rs;
	unsigned char *slot;
	struct sdrv_blkif_rsp rsp;
	uint64_t id;
	int16_t status;
	bool ok;
	int rc;

	FZ_CHECK(sdrv_blkif_abi_sizes(abi, NULL, &rs) == 0);
	slot = malloc(rs); /* exact size: any overread is caught */
	FZ_CHECK(slot != NULL);
	in_bytes(in, slot, rs);
	rc = sdrv_blkif_decode_rsp(abi, slot, rs, &rsp);
	memcpy(&id, slot, 8);
	memcpy(&status, slot + 10, 2);
	FZ_CHECK(rsp.id == id && rsp.operation == slot[8] && rsp.status == status);
	ok = (status == 0 || status == -1 || status == -2) &&
	     (slot[8] <= SDRV_BLKIF_OP_FLUSH_DISKCACHE || slot[8] == SDRV_BLKIF_OP_DISCARD);
	FZ_CHECK(rc == (ok ? 0 : -SDRV_EPROTO));
	if (ok)
		st.rsp_ok++;
	else
		st.rsp_proto++;
	free(slot);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t sizes[] = {0, 1, 8, 1000, 1ULL << 32, UINT64_MAX - 1, UINT64_MAX};
	static const enum sdrv_blkif_abi abis[] = {SDRV_BLKIF_ABI_X86_32, SDRV_BLKIF_ABI_X86_64,
						   SDRV_BLKIF_ABI_ARM};
	struct input in = {data, size, 0};
	struct sdrv_blkif_limits lim;
	struct sdrv_blkif_req req;
	struct wire w;
	enum sdrv_blkif_abi abi;
	uint8_t mode, flags, szsel;
	bool lim_ok;
	size_t rq;
	unsigned char *slot;
	int rc;

	st.inputs++;
	mode = in8(&in);
	flags = in8(&in);
	szsel = in8(&in);
	abi = abis[(mode & 3) % 3];
	memset(&lim, 0, sizeof(lim));
	lim.sz = sizeof(lim);
	lim.flags = (mode & 0x80) ? flags : (flags & 0x1f);
	if ((szsel & 7) == 7)
		in_bytes(&in, &lim.sectors, sizeof(lim.sectors));
	else
		lim.sectors = sizes[szsel & 7];
	lim.max_indirect_segments = in8(&in);
	lim.max_indirect_segments |= (uint32_t)in8(&in) << 8;
	lim.max_indirect_segments %= 4098u;
	lim_ok = !(lim.flags & ~0x1fu) && lim.max_indirect_segments <= 4096;

	FZ_CHECK(sdrv_blkif_abi_sizes(abi, &rq, NULL) == 0);
	slot = malloc(rq); /* exact size: any overread is caught */
	FZ_CHECK(slot != NULL);
	in_bytes(&in, slot, rq);
	read_wire(abi, slot, &w);

	rc = sdrv_blkif_decode_req(abi, slot, rq, &lim, &req);
	free(slot);
	if (!lim_ok) {
		FZ_CHECK(rc == -SDRV_EINVAL);
		FZ_CHECK(all_zero(&req, sizeof(req)));
		st.err_einval++;
		check_response_bytes(abi, &in);
		return 0;
	}
	if (rc != 0) {
		struct sdrv_blkif_req want;

		count_error(rc);
		FZ_CHECK(rc != -SDRV_EINVAL);
		/* Refused: only what answering needs. */
		memset(&want, 0, sizeof(want));
		want.id = w.id;
		want.operation = w.op;
		if (w.op == SDRV_BLKIF_OP_INDIRECT)
			want.indirect_op = w.b1;
		FZ_CHECK(memcmp(&req, &want, sizeof(want)) == 0);
		/* The classes are what the bytes say. */
		if (rc == -SDRV_ENOSYS)
			FZ_CHECK(w.op == SDRV_BLKIF_OP_RESERVED_1 ||
				 w.op > SDRV_BLKIF_OP_INDIRECT ||
				 (w.op == SDRV_BLKIF_OP_INDIRECT && w.b1 > SDRV_BLKIF_OP_WRITE));
		if (rc == -SDRV_EROFS)
			FZ_CHECK(lim.flags & SDRV_BLKIF_LIM_READONLY);
	} else {
		check_accepted(abi, &lim, &w, &req);
	}
	check_answer(abi, &req, rc);
	check_response_bytes(abi, &in);
	if (rc == 0 && req.operation == SDRV_BLKIF_OP_INDIRECT)
		check_indirect(&req, &lim, &in);
	return 0;
}

#ifndef SDRV_LIBFUZZER
/* ============================ the plain runner =========================== */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "../common/tutil.h"

#define FZ_MAX_INPUT (5 + 8 + SDRV_BLKIF_ENTRY_SIZE + 16 + 8 * SDRV_BLKIF_MAX_INDIRECT_SEGMENTS)

#include "fz-corpus.h"

/*
 * A valid input: a request the device accepts (built with the codec's
 * encoders), with limits to match, a valid response and valid indirect
 * descriptors (for half of the indirect requests on a device with room for
 * only one sector per segment, so the pages are refused as out of range).
 * `kind` picks the operation; `name` says what it is.
 */
static size_t gen_valid(unsigned char *buf, uint64_t *rng, unsigned kind, const char **name)
{
	static const char *const names[] = {"read",	     "write",	      "barrier",
					    "flush",	     "flush-empty",   "discard",
					    "indirect-read", "indirect-write"};
	enum sdrv_blkif_abi abi = (enum sdrv_blkif_abi)(1 + tu_rand(rng) % 3);
	struct sdrv_blkif_req r;
	struct sdrv_blkif_rsp rsp;
	size_t n = 0, rq, rs;
	uint16_t max;

	kind %= 8;
	*name = names[kind];
	memset(&r, 0, sizeof(r));
	r.id = tu_rand(rng);
	r.handle = (uint16_t)tu_rand(rng);
	r.sector_number = tu_rand(rng) % 100000;
	switch (kind) {
	case 0:
	case 1:
	case 2:
	case 3:
		r.operation = (uint8_t)kind;
		r.nr_segments = (uint16_t)(1 + tu_rand(rng) % 11);
		for (unsigned i = 0; i < r.nr_segments; i++) {
			r.seg[i].gref = (uint32_t)tu_rand(rng);
			r.seg[i].first_sect = (uint8_t)(tu_rand(rng) % 8);
			r.seg[i].last_sect = (uint8_t)(r.seg[i].first_sect +
						       tu_rand(rng) % (8u - r.seg[i].first_sect));
		}
		break;
	case 4:
		r.operation = SDRV_BLKIF_OP_FLUSH_DISKCACHE;
		break;
	case 5:
		r.operation = SDRV_BLKIF_OP_DISCARD;
		r.nr_sectors = tu_rand(rng) % 5000;
		r.discard_secure = tu_rand(rng) & 1;
		break;
	default:
		r.operation = SDRV_BLKIF_OP_INDIRECT;
		r.indirect_op = kind == 6 ? SDRV_BLKIF_OP_READ : SDRV_BLKIF_OP_WRITE;
		r.nr_segments = (uint16_t)(tu_rand(rng) & 1 ? 40 : 4096);
		r.nr_segments = (uint16_t)(1 + tu_rand(rng) % r.nr_segments);
		for (unsigned k = 0; k < 8; k++)
			r.indirect_grefs[k] = (uint32_t)tu_rand(rng);
		break;
	}
	max =
	    r.operation == SDRV_BLKIF_OP_INDIRECT ? r.nr_segments : (uint16_t)(tu_rand(rng) % 300);
	buf[n++] = (uint8_t)(abi - 1);
	buf[n++] = SDRV_BLKIF_LIM_FLUSH | SDRV_BLKIF_LIM_BARRIER | SDRV_BLKIF_LIM_DISCARD |
		   SDRV_BLKIF_LIM_DISCARD_SECURE;
	buf[n++] = 3; /* 1000 sectors... */
	if (r.operation == SDRV_BLKIF_OP_INDIRECT && (tu_rand(rng) & 1)) {
		/* ... or room for one sector per segment only: the header
		 * passes, the pages' sectors (likely) overflow the device */
		uint64_t size = r.sector_number + r.nr_segments;

		buf[n - 1] = 7;
		memcpy(buf + n, &size, 8);
		n += 8;
	} else if (r.sector_number + 8u * (r.nr_segments + 1) + r.nr_sectors > 1000) {
		uint64_t size = r.sector_number + 8u * (r.nr_segments + 1) + r.nr_sectors;

		buf[n - 1] = 7; /* ... or enough */
		memcpy(buf + n, &size, 8);
		n += 8;
	}
	buf[n++] = (uint8_t)max;
	buf[n++] = (uint8_t)(max >> 8);
	FZ_CHECK(sdrv_blkif_abi_sizes(abi, &rq, &rs) == 0);
	FZ_CHECK(sdrv_blkif_encode_req(abi, &r, buf + n, rq) == 0);
	n += rq;
	rsp.id = r.id;
	rsp.operation = sdrv_blkif_rsp_operation(&r);
	rsp.status = (int16_t)(-(int)(tu_rand(rng) % 3));
	FZ_CHECK(sdrv_blkif_encode_rsp(abi, &rsp, buf + n, rs) == 0);
	n += rs;
	if (r.operation == SDRV_BLKIF_OP_INDIRECT) {
		struct sdrv_blkif_seg segs[SDRV_BLKIF_MAX_INDIRECT_SEGMENTS];

		for (unsigned i = 0; i < r.nr_segments; i++) {
			segs[i].gref = (uint32_t)tu_rand(rng);
			segs[i].first_sect = (uint8_t)(tu_rand(rng) % 8);
			segs[i].last_sect = 7;
			segs[i]._pad0 = 0;
		}
		FZ_CHECK(sdrv_blkif_encode_indirect(segs, r.nr_segments, buf + n,
						    8u * r.nr_segments) == 0);
		n += 8u * r.nr_segments;
	}
	return n;
}

static size_t mutate(unsigned char *buf, size_t n, uint64_t *rng)
{
	unsigned edits = 1 + (unsigned)(tu_rand(rng) % 4);

	for (unsigned k = 0; k < edits; k++) {
		uint64_t m = tu_rand(rng);
		size_t at = n ? (size_t)((m >> 8) % n) : 0;

		switch (m % 8) {
		case 0: /* truncate */
			n = at;
			break;
		case 1: /* the header: ABI, flags, size, maximum */
			if (n > 5)
				buf[(m >> 8) % 5] = (uint8_t)(m >> 16);
			break;
		case 2: /* an operation byte or its neighbour */
			if (n > 14)
				buf[5 + (m >> 8) % 2] = (uint8_t)(m >> 16);
			break;
		case 3: /* an interesting value: 0, 7, 8, 11, 12, 0xff */
			if (n) {
				static const uint8_t v[] = {0, 7, 8, 11, 12, 0xff, 4, 6};
				buf[at] = v[(m >> 32) % 8];
			}
			break;
		default: /* a flipped bit */
			if (n)
				buf[at] ^= (uint8_t)(1u << ((m >> 32) % 8));
			break;
		}
	}
	return n;
}

static int gen_corpus(const char *dir)
{
	static unsigned char buf[FZ_MAX_INPUT];
	uint64_t rng = 0x626c6b6966ull;

	for (unsigned kind = 0; kind < 8; kind++)
		for (unsigned k = 0; k < 2; k++) {
			const char *name;
			size_t n = gen_valid(buf, &rng, kind, &name);
			char *path;
			FILE *fp;

			if (asprintf(&path, "%s/%s-%u", dir, name, k) < 0)
				return TU_FAIL;
			fp = fopen(path, "wb");
			if (!fp || fwrite(buf, 1, n, fp) != n || fclose(fp) != 0) {
				fprintf(stderr, "FAIL: %s: %s\n", path, strerror(errno));
				free(path);
				return TU_FAIL;
			}
			free(path);
		}
	return TU_PASS;
}

int main(int argc, char **argv)
{
	static unsigned char buf[FZ_MAX_INPUT];
	const char *env = getenv("SDRV_FUZZ_CORPUS"), *seed_s = getenv("SDRV_FUZZ_SEED");
	const char *srcdir = getenv("top_srcdir");
	uint64_t rng = seed_s ? strtoull(seed_s, NULL, 0) : 0x626c6b6966ull, iters;
	struct fz_corpus c = {0};
	char *dir = NULL;
	size_t seeds;

	setvbuf(stdout, NULL, _IOLBF, 0);
	tu_watchdog(300, "fuzz-blkif-run");
	if (argc == 3 && strcmp(argv[1], "--gen-corpus") == 0)
		return gen_corpus(argv[2]);
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			fz_corpus_run(&c, argv[i], FZ_MAX_INPUT);
		printf("ok: %lu inputs\n", st.inputs);
		fz_corpus_free(&c);
		return TU_PASS;
	}
	if (env)
		dir = strdup(env);
	else if (srcdir && asprintf(&dir, "%s/tests/fuzz/corpus/blkif", srcdir) < 0)
		dir = NULL;
	if (dir) {
		fz_corpus_run(&c, dir, FZ_MAX_INPUT);
		free(dir);
	}
	seeds = c.n;
	if (srcdir && seeds == 0) {
		fprintf(stderr, "FAIL: the seed corpus is empty\n");
		return TU_FAIL;
	}
	printf("ok: %zu seed inputs\n", seeds);
	if (!rng)
		rng = 1;

	/* Valid requests of every kind are accepted as they are. */
	for (unsigned k = 0; k < 64; k++) {
		const char *name;
		size_t n = gen_valid(buf, &rng, k, &name);
		unsigned long before = st.accepted_rw + st.accepted_flush0 + st.accepted_discard +
				       st.accepted_indirect;

		LLVMFuzzerTestOneInput(buf, n);
		if (st.accepted_rw + st.accepted_flush0 + st.accepted_discard +
			st.accepted_indirect !=
		    before + 1) {
			FILE *fp = fopen("fuzz-blkif-refused.bin", "wb");

			if (fp) {
				fwrite(buf, 1, n, fp);
				fclose(fp);
			}
			fprintf(stderr,
				"FAIL: a valid %s request was refused (input saved as "
				"fuzz-blkif-refused.bin)\n",
				name);
			fz_corpus_free(&c);
			return TU_FAIL;
		}
		fz_corpus_add(&c, buf, n);
	}

	iters = tu_scaled(100000, 2000);
	for (uint64_t i = 0; i < iters; i++) {
		uint64_t r = tu_rand(&rng);
		size_t n;

		if (r % 8 == 0) {
			/* fresh random bytes */
			n = (size_t)((r >> 8) % 300);
			for (size_t k = 0; k < n; k++)
				buf[k] = (unsigned char)(tu_rand(&rng) >> 24);
		} else {
			size_t k = (size_t)((r >> 8) % c.n);

			n = c.len[k];
			memcpy(buf, c.data[k], n);
			n = mutate(buf, n, &rng);
		}
		LLVMFuzzerTestOneInput(buf, n);
	}
	printf("ok: %" PRIu64 " random inputs (seed %#" PRIx64 "): accepted %lu rw, %lu empty "
	       "flush/barrier, %lu discard, %lu indirect (pages: %lu ok, %lu bad segment, %lu out "
	       "of range); refused %lu ENOSYS, %lu EOPNOTSUPP, %lu EROFS, %lu EMSGSIZE, %lu "
	       "EBADMSG, %lu ERANGE, %lu EINVAL; responses %lu ok, %lu EPROTO\n",
	       iters, (uint64_t)(seed_s ? strtoull(seed_s, NULL, 0) : 0x626c6b6966ull),
	       st.accepted_rw, st.accepted_flush0, st.accepted_discard, st.accepted_indirect,
	       st.ind_ok, st.ind_badmsg, st.ind_range, st.err_enosys, st.err_eopnotsupp,
	       st.err_erofs, st.err_emsgsize, st.err_ebadmsg, st.err_erange, st.err_einval,
	       st.rsp_ok, st.rsp_proto);
	fz_corpus_free(&c);
	/* A harness that never reaches a path proves nothing about it. */
	if (!st.accepted_rw || !st.accepted_flush0 || !st.accepted_discard ||
	    !st.accepted_indirect || !st.ind_ok || !st.ind_badmsg || !st.ind_range ||
	    !st.err_enosys || !st.err_eopnotsupp || !st.err_erofs || !st.err_emsgsize ||
	    !st.err_ebadmsg || !st.err_erange || !st.err_einval || !st.rsp_ok || !st.rsp_proto) {
		fprintf(stderr, "FAIL: the inputs did not exercise every decoder path\n");
		return TU_FAIL;
	}
	printf("PASS: fuzz-blkif-run\n");
	return TU_PASS;
}
#endif
