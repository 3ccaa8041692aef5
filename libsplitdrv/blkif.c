/* SPDX-License-Identifier: MIT */
/*
 * The blkif codec: requests and responses between a ring slot in one of the
 * three ABIs and the ABI-independent structures of proto/blkif.h.
 * Freestanding: nothing beyond what the compiler provides (it may emit
 * memcpy/memset).
 *
 * Every decoder first copies the bytes it reads into a local buffer, once,
 * and parses only that buffer: even a caller that broke the contract and
 * passed shared memory would get one consistent snapshot (XSA-155). Every
 * encoder builds the entry in a zeroed local buffer and writes the slot
 * whole, so no padding byte carries old memory (XSA-216).
 *
 * The byte offsets come from the layout structures of proto/blkif.h, which
 * tests/interop checks against Xen's own headers (both ABIs).
 */
#include <splitdrv/proto/blkif.h>

/* Where one ABI keeps each field. Fields at the same offset in every ABI
 * (operation 0, nr_segments / flag / indirect_op 1, handle 2, indirect
 * nr_segments 2, response operation 8 and status 10) are asserted below. */
struct layout {
	uint32_t req_size;   /* request structure */
	uint32_t rsp_size;   /* response structure */
	uint32_t entry_size; /* ring entry: max of the two */
	uint32_t id;	     /* every request's id */
	uint32_t sector;     /* every request's sector_number */
	uint32_t seg;	     /* read/write: seg[] */
	uint32_t nr_sectors; /* discard: nr_sectors */
	uint32_t ind_handle; /* indirect: handle */
	uint32_t ind_grefs;  /* indirect: indirect_grefs[] */
};

/* One ABI's layout, from its structures in proto/blkif.h. */
#define LAYOUT(req, rsp, discard, indirect, entry)                                                 \
	{                                                                                          \
		.req_size = sizeof(req), .rsp_size = sizeof(rsp), .entry_size = (entry),           \
		.id = offsetof(req, id), .sector = offsetof(req, sector_number),                   \
		.seg = offsetof(req, seg), .nr_sectors = offsetof(discard, nr_sectors),            \
		.ind_handle = offsetof(indirect, handle),                                          \
		.ind_grefs = offsetof(indirect, indirect_grefs),                                   \
	}
#define LAYOUT_32                                                                                  \
	LAYOUT(struct sdrv_blkif_x86_32_request, struct sdrv_blkif_x86_32_response,                \
	       struct sdrv_blkif_x86_32_request_discard,                                           \
	       struct sdrv_blkif_x86_32_request_indirect, SDRV_BLKIF_X86_32_ENTRY_SIZE)
#define LAYOUT_64                                                                                  \
	LAYOUT(struct sdrv_blkif_request, struct sdrv_blkif_response,                              \
	       struct sdrv_blkif_request_discard, struct sdrv_blkif_request_indirect,              \
	       SDRV_BLKIF_ENTRY_SIZE)

static const struct layout layouts[] = {
    [SDRV_BLKIF_ABI_X86_32] = LAYOUT_32,
    [SDRV_BLKIF_ABI_X86_64] = LAYOUT_64,
    [SDRV_BLKIF_ABI_ARM] = LAYOUT_64,
};

#define L64(m) offsetof(struct sdrv_blkif_request, m)
#define L32(m) offsetof(struct sdrv_blkif_x86_32_request, m)

/* Large enough for any request or response of any ABI. */
#define MAX_ENTRY SDRV_BLKIF_ENTRY_SIZE

/* The fields the layout table does not carry are where it assumes. */
#define SAME_AT(t, m, off) _Static_assert(offsetof(t, m) == (off), #t "." #m)
SAME_AT(struct sdrv_blkif_request, operation, 0);
SAME_AT(struct sdrv_blkif_request, nr_segments, 1);
SAME_AT(struct sdrv_blkif_request, handle, 2);
SAME_AT(struct sdrv_blkif_request_discard, flag, 1);
SAME_AT(struct sdrv_blkif_request_discard, handle, 2);
SAME_AT(struct sdrv_blkif_request_discard, id, L64(id));
SAME_AT(struct sdrv_blkif_request_discard, sector_number, L64(sector_number));
SAME_AT(struct sdrv_blkif_request_indirect, indirect_op, 1);
SAME_AT(struct sdrv_blkif_request_indirect, nr_segments, 2);
SAME_AT(struct sdrv_blkif_request_indirect, id, L64(id));
SAME_AT(struct sdrv_blkif_request_indirect, sector_number, L64(sector_number));
SAME_AT(struct sdrv_blkif_response, id, 0);
SAME_AT(struct sdrv_blkif_response, operation, 8);
SAME_AT(struct sdrv_blkif_response, status, 10);
SAME_AT(struct sdrv_blkif_x86_32_request, operation, 0);
SAME_AT(struct sdrv_blkif_x86_32_request, nr_segments, 1);
SAME_AT(struct sdrv_blkif_x86_32_request, handle, 2);
SAME_AT(struct sdrv_blkif_x86_32_request_discard, flag, 1);
SAME_AT(struct sdrv_blkif_x86_32_request_discard, handle, 2);
SAME_AT(struct sdrv_blkif_x86_32_request_discard, id, L32(id));
SAME_AT(struct sdrv_blkif_x86_32_request_discard, sector_number, L32(sector_number));
SAME_AT(struct sdrv_blkif_x86_32_request_indirect, indirect_op, 1);
SAME_AT(struct sdrv_blkif_x86_32_request_indirect, nr_segments, 2);
SAME_AT(struct sdrv_blkif_x86_32_request_indirect, id, L32(id));
SAME_AT(struct sdrv_blkif_x86_32_request_indirect, sector_number, L32(sector_number));
SAME_AT(struct sdrv_blkif_x86_32_response, id, 0);
SAME_AT(struct sdrv_blkif_x86_32_response, operation, 8);
SAME_AT(struct sdrv_blkif_x86_32_response, status, 10);
SAME_AT(struct sdrv_blkif_request_segment, first_sect, 4);
SAME_AT(struct sdrv_blkif_request_segment, last_sect, 5);
_Static_assert(sizeof(struct sdrv_blkif_request) <= MAX_ENTRY, "entry buffer");
_Static_assert(SDRV_BLKIF_MAX_INDIRECT_SEGMENTS <= UINT16_MAX, "nr_segments is 16 bits");
/* The private request has no hidden padding: callers may compare requests
 * with memcmp(), and nothing uninitialised is ever copied around. */
_Static_assert(sizeof(struct sdrv_blkif_seg) == 8, "sdrv_blkif_seg padding");
_Static_assert(sizeof(struct sdrv_blkif_req) == 3 * 8 + 8 + 4 * 8 + 11 * 8,
	       "sdrv_blkif_req padding");
_Static_assert(sizeof(struct sdrv_blkif_rsp) == 16, "sdrv_blkif_rsp size");

/* Outside i386 the native ABI is the 64-bit layout, which needs 8-byte
 * aligned 64-bit members: a new architecture where they are not must get
 * its own ABI here, not a silently wrong one. */
struct align_probe {
	char c;
	uint64_t v;
};
_Static_assert(SDRV_BLKIF_ABI_NATIVE == SDRV_BLKIF_ABI_X86_32 ||
		   offsetof(struct align_probe, v) == 8,
	       "the native blkif ABI of this architecture is not the 64-bit layout");

#define SEG_SIZE sizeof(struct sdrv_blkif_request_segment)

/* ------------------------------- bytes ---------------------------------- */

static uint16_t get16(const unsigned char *p)
{
	uint16_t v;

	__builtin_memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t get32(const unsigned char *p)
{
	uint32_t v;

	__builtin_memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v;

	__builtin_memcpy(&v, p, sizeof(v));
	return v;
}

static void put16(unsigned char *p, uint16_t v)
{
	__builtin_memcpy(p, &v, sizeof(v));
}

static void put32(unsigned char *p, uint32_t v)
{
	__builtin_memcpy(p, &v, sizeof(v));
}

static void put64(unsigned char *p, uint64_t v)
{
	__builtin_memcpy(p, &v, sizeof(v));
}

static const struct layout *layout_of(enum sdrv_blkif_abi abi)
{
	switch (abi) {
	case SDRV_BLKIF_ABI_X86_32:
	case SDRV_BLKIF_ABI_X86_64:
	case SDRV_BLKIF_ABI_ARM:
		return &layouts[abi];
	}
	return NULL;
}

/* -------------------------------- ABIs ---------------------------------- */

static bool streq(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

int sdrv_blkif_abi_parse(const char *protocol, enum sdrv_blkif_abi *abi)
{
	if (!abi)
		return -SDRV_EINVAL;
	if (!protocol)
		*abi = SDRV_BLKIF_ABI_NATIVE;
	else if (streq(protocol, SDRV_IO_PROTO_ABI_X86_32))
		*abi = SDRV_BLKIF_ABI_X86_32;
	else if (streq(protocol, SDRV_IO_PROTO_ABI_X86_64))
		*abi = SDRV_BLKIF_ABI_X86_64;
	else if (streq(protocol, SDRV_IO_PROTO_ABI_ARM))
		*abi = SDRV_BLKIF_ABI_ARM;
	else
		return -SDRV_EINVAL;
	return 0;
}

const char *sdrv_blkif_abi_name(enum sdrv_blkif_abi abi)
{
	switch (abi) {
	case SDRV_BLKIF_ABI_X86_32:
		return SDRV_IO_PROTO_ABI_X86_32;
	case SDRV_BLKIF_ABI_X86_64:
		return SDRV_IO_PROTO_ABI_X86_64;
	case SDRV_BLKIF_ABI_ARM:
		return SDRV_IO_PROTO_ABI_ARM;
	}
	return NULL;
}

int sdrv_blkif_abi_sizes(enum sdrv_blkif_abi abi, size_t *req_size, size_t *rsp_size)
{
	const struct layout *l = layout_of(abi);

	if (!l)
		return -SDRV_EINVAL;
	if (req_size)
		*req_size = l->req_size;
	if (rsp_size)
		*rsp_size = l->rsp_size;
	return 0;
}

size_t sdrv_blkif_entry_size(enum sdrv_blkif_abi abi)
{
	const struct layout *l = layout_of(abi);

	return l ? l->entry_size : 0;
}

/* ------------------------------ requests -------------------------------- */

#define KNOWN_LIM_FLAGS                                                                            \
	(SDRV_BLKIF_LIM_READONLY | SDRV_BLKIF_LIM_FLUSH | SDRV_BLKIF_LIM_BARRIER |                 \
	 SDRV_BLKIF_LIM_DISCARD | SDRV_BLKIF_LIM_DISCARD_SECURE)

/* The caller's limits, at whatever size it knows, completed with zeros. */
static int get_limits(const struct sdrv_blkif_limits *in, struct sdrv_blkif_limits *out)
{
	if (!in || in->sz < offsetof(struct sdrv_blkif_limits, max_indirect_segments))
		return -SDRV_EINVAL;
	__builtin_memset(out, 0, sizeof(*out));
	__builtin_memcpy(out, in, in->sz < sizeof(*out) ? in->sz : sizeof(*out));
	if ((out->flags & ~(uint32_t)KNOWN_LIM_FLAGS) ||
	    out->max_indirect_segments > SDRV_BLKIF_MAX_INDIRECT_SEGMENTS)
		return -SDRV_EINVAL;
	return 0;
}

static int get_seg(const unsigned char *p, struct sdrv_blkif_seg *s)
{
	s->gref = get32(p);
	s->first_sect = p[offsetof(struct sdrv_blkif_request_segment, first_sect)];
	s->last_sect = p[offsetof(struct sdrv_blkif_request_segment, last_sect)];
	s->_pad0 = 0;
	if (s->first_sect > s->last_sect || s->last_sect > SDRV_BLKIF_MAX_SECT_PER_PAGE)
		return -SDRV_EBADMSG;
	return 0;
}

static uint32_t seg_sectors(const struct sdrv_blkif_seg *s)
{
	return (uint32_t)s->last_sect - s->first_sect + 1;
}

/* [sector, sector + n) lies inside a device of `size` sectors; a request of
 * no sectors has no range (as in Linux blkback's xen_vbd_translate). */
static int in_device(uint64_t sector, uint64_t n, uint64_t size)
{
	if (n == 0)
		return 0;
	if (n > size || sector > size - n)
		return -SDRV_ERANGE;
	return 0;
}

static uint32_t indirect_pages(uint32_t nr_segments)
{
	return (nr_segments + SDRV_BLKIF_SEGS_PER_INDIRECT_FRAME - 1) /
	       SDRV_BLKIF_SEGS_PER_INDIRECT_FRAME;
}

/* Step 1 and 2 of the checks: a known operation the device offers. */
static int check_op(const struct sdrv_blkif_req *r, const struct sdrv_blkif_limits *lim)
{
	switch (r->operation) {
	case SDRV_BLKIF_OP_READ:
	case SDRV_BLKIF_OP_WRITE:
		return 0;
	case SDRV_BLKIF_OP_WRITE_BARRIER:
		return (lim->flags & SDRV_BLKIF_LIM_BARRIER) ? 0 : -SDRV_EOPNOTSUPP;
	case SDRV_BLKIF_OP_FLUSH_DISKCACHE:
		return (lim->flags & SDRV_BLKIF_LIM_FLUSH) ? 0 : -SDRV_EOPNOTSUPP;
	case SDRV_BLKIF_OP_DISCARD:
		return (lim->flags & SDRV_BLKIF_LIM_DISCARD) ? 0 : -SDRV_EOPNOTSUPP;
	case SDRV_BLKIF_OP_INDIRECT:
		if (r->indirect_op != SDRV_BLKIF_OP_READ && r->indirect_op != SDRV_BLKIF_OP_WRITE)
			return -SDRV_ENOSYS;
		return lim->max_indirect_segments ? 0 : -SDRV_EOPNOTSUPP;
	default:
		/* SDRV_BLKIF_OP_RESERVED_1 and everything unknown */
		return -SDRV_ENOSYS;
	}
}

static bool is_read(const struct sdrv_blkif_req *r)
{
	return r->operation == SDRV_BLKIF_OP_READ ||
	       (r->operation == SDRV_BLKIF_OP_INDIRECT && r->indirect_op == SDRV_BLKIF_OP_READ);
}

/* Steps 4 to 6 for the direct layouts (read, write, barrier, flush). */
static int decode_direct(const unsigned char *b, const struct layout *l,
			 const struct sdrv_blkif_limits *lim, struct sdrv_blkif_req *r)
{
	uint32_t min = (r->operation == SDRV_BLKIF_OP_READ || r->operation == SDRV_BLKIF_OP_WRITE);
	uint64_t sectors = 0;
	int err;

	r->nr_segments = b[offsetof(struct sdrv_blkif_request, nr_segments)];
	if (r->nr_segments < min || r->nr_segments > SDRV_BLKIF_MAX_SEGMENTS_PER_REQUEST) {
		r->nr_segments = 0;
		return -SDRV_EMSGSIZE;
	}
	for (uint32_t i = 0; i < r->nr_segments; i++) {
		err = get_seg(b + l->seg + i * SEG_SIZE, &r->seg[i]);
		if (err)
			return err;
		sectors += seg_sectors(&r->seg[i]);
	}
	r->nr_sectors = sectors;
	return in_device(r->sector_number, sectors, lim->sectors);
}

static int decode_indirect_hdr(const unsigned char *b, const struct layout *l,
			       const struct sdrv_blkif_limits *lim, struct sdrv_blkif_req *r)
{
	uint32_t n = get16(b + offsetof(struct sdrv_blkif_request_indirect, nr_segments));

	if (n == 0 || n > lim->max_indirect_segments)
		return -SDRV_EMSGSIZE;
	r->nr_segments = (uint16_t)n;
	r->nr_indirect_pages = (uint8_t)indirect_pages(n);
	if (r->nr_indirect_pages > SDRV_BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST)
		return -SDRV_EMSGSIZE; /* not reachable while the limit is checked */
	r->handle = get16(b + l->ind_handle);
	for (uint32_t i = 0; i < r->nr_indirect_pages; i++)
		r->indirect_grefs[i] = get32(b + l->ind_grefs + 4 * i);
	/* The count is known with the pages; each segment is at least one
	 * sector, so this much must fit already. */
	return in_device(r->sector_number, n, lim->sectors);
}

int sdrv_blkif_decode_req(enum sdrv_blkif_abi abi, const void *slot, size_t len,
			  const struct sdrv_blkif_limits *lim_in, struct sdrv_blkif_req *req)
{
	const struct layout *l = layout_of(abi);
	struct sdrv_blkif_limits lim;
	struct sdrv_blkif_req r;
	unsigned char b[MAX_ENTRY];
	int err;

	if (!req)
		return -SDRV_EINVAL;
	__builtin_memset(req, 0, sizeof(*req));
	if (!l || !slot || len < l->req_size || get_limits(lim_in, &lim) != 0)
		return -SDRV_EINVAL;
	/* One copy; from here on only `b` is read. */
	__builtin_memcpy(b, slot, l->req_size);

	__builtin_memset(&r, 0, sizeof(r));
	r.operation = b[0];
	r.id = get64(b + l->id);
	if (r.operation == SDRV_BLKIF_OP_INDIRECT)
		r.indirect_op = b[offsetof(struct sdrv_blkif_request_indirect, indirect_op)];

	err = check_op(&r, &lim);
	if (!err && (lim.flags & SDRV_BLKIF_LIM_READONLY) && !is_read(&r))
		err = -SDRV_EROFS;
	if (!err) {
		r.sector_number = get64(b + l->sector);
		switch (r.operation) {
		case SDRV_BLKIF_OP_DISCARD:
			r.handle = get16(b + offsetof(struct sdrv_blkif_request_discard, handle));
			r.nr_sectors = get64(b + l->nr_sectors);
			r.discard_secure = (b[offsetof(struct sdrv_blkif_request_discard, flag)] &
					    SDRV_BLKIF_DISCARD_SECURE) &&
					   (lim.flags & SDRV_BLKIF_LIM_DISCARD_SECURE);
			err = in_device(r.sector_number, r.nr_sectors, lim.sectors);
			break;
		case SDRV_BLKIF_OP_INDIRECT:
			err = decode_indirect_hdr(b, l, &lim, &r);
			break;
		default:
			r.handle = get16(b + offsetof(struct sdrv_blkif_request, handle));
			err = decode_direct(b, l, &lim, &r);
			break;
		}
	}
	if (err) {
		/* Enough to answer the request, nothing that was refused. */
		req->id = r.id;
		req->operation = r.operation;
		req->indirect_op = r.indirect_op;
		return err;
	}
	*req = r;
	return 0;
}

int sdrv_blkif_decode_indirect(struct sdrv_blkif_req *req, const void *pages, size_t len,
			       const struct sdrv_blkif_limits *lim_in, struct sdrv_blkif_seg *segs,
			       size_t max_segs)
{
	const unsigned char *p = pages;
	struct sdrv_blkif_limits lim;
	uint64_t sectors = 0;
	uint32_t n;
	int err;

	if (!req || !pages || !segs || get_limits(lim_in, &lim) != 0)
		return -SDRV_EINVAL;
	n = req->nr_segments;
	/* What sdrv_blkif_decode_req() guarantees for an accepted request. */
	if (req->operation != SDRV_BLKIF_OP_INDIRECT ||
	    (req->indirect_op != SDRV_BLKIF_OP_READ && req->indirect_op != SDRV_BLKIF_OP_WRITE) ||
	    n == 0 || n > lim.max_indirect_segments || req->nr_indirect_pages != indirect_pages(n))
		return -SDRV_EINVAL;
	if (max_segs < n || len / SEG_SIZE < n)
		return -SDRV_EINVAL;
	for (uint32_t i = 0; i < n; i++) {
		unsigned char b[sizeof(struct sdrv_blkif_request_segment)];

		/* One copy of each descriptor, then only the copy is read. */
		__builtin_memcpy(b, p + (size_t)i * SEG_SIZE, sizeof(b));
		err = get_seg(b, &segs[i]);
		if (err)
			return err;
		sectors += seg_sectors(&segs[i]);
	}
	err = in_device(req->sector_number, sectors, lim.sectors);
	if (err)
		return err;
	req->nr_sectors = sectors;
	return 0;
}

static bool seg_ok(const struct sdrv_blkif_seg *s)
{
	return s->first_sect <= s->last_sect && s->last_sect <= SDRV_BLKIF_MAX_SECT_PER_PAGE;
}

static void put_seg(unsigned char *p, const struct sdrv_blkif_seg *s)
{
	put32(p, s->gref);
	p[offsetof(struct sdrv_blkif_request_segment, first_sect)] = s->first_sect;
	p[offsetof(struct sdrv_blkif_request_segment, last_sect)] = s->last_sect;
}

/* The protocol's own rules for a request a frontend sends. */
static bool req_well_formed(const struct sdrv_blkif_req *r)
{
	uint32_t min = 1;

	switch (r->operation) {
	case SDRV_BLKIF_OP_WRITE_BARRIER:
	case SDRV_BLKIF_OP_FLUSH_DISKCACHE:
		min = 0;
		/* fall through */
	case SDRV_BLKIF_OP_READ:
	case SDRV_BLKIF_OP_WRITE:
		if (r->nr_segments < min || r->nr_segments > SDRV_BLKIF_MAX_SEGMENTS_PER_REQUEST)
			return false;
		for (uint32_t i = 0; i < r->nr_segments; i++)
			if (!seg_ok(&r->seg[i]))
				return false;
		return true;
	case SDRV_BLKIF_OP_DISCARD:
		return true;
	case SDRV_BLKIF_OP_INDIRECT:
		return (r->indirect_op == SDRV_BLKIF_OP_READ ||
			r->indirect_op == SDRV_BLKIF_OP_WRITE) &&
		       r->nr_segments >= 1 && r->nr_segments <= SDRV_BLKIF_MAX_INDIRECT_SEGMENTS;
	default:
		return false;
	}
}

int sdrv_blkif_encode_req(enum sdrv_blkif_abi abi, const struct sdrv_blkif_req *req, void *slot,
			  size_t len)
{
	const struct layout *l = layout_of(abi);
	unsigned char b[MAX_ENTRY];
	unsigned char *out = slot;

	if (!l || !req || !slot || len < l->req_size || !req_well_formed(req))
		return -SDRV_EINVAL;
	__builtin_memset(b, 0, sizeof(b));
	b[0] = req->operation;
	put64(b + l->id, req->id);
	put64(b + l->sector, req->sector_number);
	switch (req->operation) {
	case SDRV_BLKIF_OP_DISCARD:
		b[offsetof(struct sdrv_blkif_request_discard, flag)] =
		    req->discard_secure ? SDRV_BLKIF_DISCARD_SECURE : 0;
		put16(b + offsetof(struct sdrv_blkif_request_discard, handle), req->handle);
		put64(b + l->nr_sectors, req->nr_sectors);
		break;
	case SDRV_BLKIF_OP_INDIRECT:
		b[offsetof(struct sdrv_blkif_request_indirect, indirect_op)] = req->indirect_op;
		put16(b + offsetof(struct sdrv_blkif_request_indirect, nr_segments),
		      req->nr_segments);
		put16(b + l->ind_handle, req->handle);
		for (uint32_t i = 0; i < indirect_pages(req->nr_segments); i++)
			put32(b + l->ind_grefs + 4 * i, req->indirect_grefs[i]);
		break;
	default:
		b[offsetof(struct sdrv_blkif_request, nr_segments)] = (uint8_t)req->nr_segments;
		put16(b + offsetof(struct sdrv_blkif_request, handle), req->handle);
		for (uint32_t i = 0; i < req->nr_segments; i++)
			put_seg(b + l->seg + i * SEG_SIZE, &req->seg[i]);
		break;
	}
	__builtin_memcpy(out, b, l->req_size);
	__builtin_memset(out + l->req_size, 0, len - l->req_size);
	return 0;
}

int sdrv_blkif_encode_indirect(const struct sdrv_blkif_seg *segs, size_t n, void *pages, size_t len)
{
	unsigned char *out = pages;

	if (!segs || !pages || n == 0 || n > SDRV_BLKIF_MAX_INDIRECT_SEGMENTS || len / SEG_SIZE < n)
		return -SDRV_EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!seg_ok(&segs[i]))
			return -SDRV_EINVAL;
	__builtin_memset(out, 0, len);
	for (size_t i = 0; i < n; i++)
		put_seg(out + i * SEG_SIZE, &segs[i]);
	return 0;
}

/* ------------------------------ responses ------------------------------- */

static bool status_ok(int16_t st)
{
	return st == SDRV_BLKIF_RSP_OKAY || st == SDRV_BLKIF_RSP_ERROR ||
	       st == SDRV_BLKIF_RSP_EOPNOTSUPP;
}

int sdrv_blkif_encode_rsp(enum sdrv_blkif_abi abi, const struct sdrv_blkif_rsp *rsp, void *slot,
			  size_t len)
{
	const struct layout *l = layout_of(abi);
	unsigned char b[sizeof(struct sdrv_blkif_response)];
	unsigned char *out = slot;

	if (!l || !rsp || !slot || len < l->rsp_size || !status_ok(rsp->status))
		return -SDRV_EINVAL;
	__builtin_memset(b, 0, sizeof(b));
	put64(b + offsetof(struct sdrv_blkif_response, id), rsp->id);
	b[offsetof(struct sdrv_blkif_response, operation)] = rsp->operation;
	put16(b + offsetof(struct sdrv_blkif_response, status), (uint16_t)rsp->status);
	__builtin_memcpy(out, b, l->rsp_size);
	__builtin_memset(out + l->rsp_size, 0, len - l->rsp_size);
	return 0;
}

int sdrv_blkif_decode_rsp(enum sdrv_blkif_abi abi, const void *slot, size_t len,
			  struct sdrv_blkif_rsp *rsp)
{
	const struct layout *l = layout_of(abi);
	unsigned char b[sizeof(struct sdrv_blkif_response)];

	if (!rsp)
		return -SDRV_EINVAL;
	__builtin_memset(rsp, 0, sizeof(*rsp));
	if (!l || !slot || len < l->rsp_size)
		return -SDRV_EINVAL;
	__builtin_memcpy(b, slot, l->rsp_size);
	rsp->id = get64(b + offsetof(struct sdrv_blkif_response, id));
	rsp->operation = b[offsetof(struct sdrv_blkif_response, operation)];
	rsp->status = (int16_t)get16(b + offsetof(struct sdrv_blkif_response, status));
	if (!status_ok(rsp->status))
		return -SDRV_EPROTO;
	switch (rsp->operation) {
	case SDRV_BLKIF_OP_READ:
	case SDRV_BLKIF_OP_WRITE:
	case SDRV_BLKIF_OP_WRITE_BARRIER:
	case SDRV_BLKIF_OP_FLUSH_DISKCACHE:
	case SDRV_BLKIF_OP_DISCARD:
		return 0;
	default:
		/* INDIRECT is answered with its indirect_op; the rest was
		 * never sent by a frontend. */
		return -SDRV_EPROTO;
	}
}

uint8_t sdrv_blkif_rsp_operation(const struct sdrv_blkif_req *req)
{
	return req->operation == SDRV_BLKIF_OP_INDIRECT ? req->indirect_op : req->operation;
}

int sdrv_blkif_rsp_matches(const struct sdrv_blkif_rsp *rsp, const struct sdrv_blkif_req *sent)
{
	if (!rsp || !sent)
		return -SDRV_EINVAL;
	if (rsp->id != sent->id || rsp->operation != sdrv_blkif_rsp_operation(sent))
		return -SDRV_EPROTO;
	return 0;
}

int16_t sdrv_blkif_status_for(int err)
{
	if (err == 0)
		return SDRV_BLKIF_RSP_OKAY;
	if (err == -SDRV_ENOSYS || err == -SDRV_EOPNOTSUPP)
		return SDRV_BLKIF_RSP_EOPNOTSUPP;
	return SDRV_BLKIF_RSP_ERROR;
}

const char *sdrv_blkif_strerror(int err)
{
	switch (err) {
	case 0:
		return "no error";
	case -SDRV_ENOSYS:
		return "blkif: unknown or reserved operation";
	case -SDRV_EOPNOTSUPP:
		return "blkif: operation not offered by this device";
	case -SDRV_EROFS:
		return "blkif: write to a read-only device";
	case -SDRV_EMSGSIZE:
		return "blkif: bad number of segments";
	case -SDRV_EBADMSG:
		return "blkif: bad segment (first_sect > last_sect or last_sect > 7)";
	case -SDRV_ERANGE:
		return "blkif: sectors outside the device";
	case -SDRV_EPROTO:
		return "blkif: malformed response (bad status or operation)";
	case -SDRV_EINVAL:
		return "blkif: invalid argument";
	default:
		return "blkif: unknown error";
	}
}
