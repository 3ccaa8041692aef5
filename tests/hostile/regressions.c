/* SPDX-License-Identifier: MIT */
/*
 * Regression tests for two findings of the hostile-peer suite in the ring
 * core, one program each (KNOWN_BUG selects which).
 *
 * KNOWN_BUG 1, regress-huge-ring: counts that did not fit the int32_t
 * return type. sdrv_ring_*_attach() accepted any region size, although
 * SDRV_RING_MAX_ORDER documents 2^10 pages as the largest ring. With 1-byte
 * entries a region of 2 GiB + 64 bytes gave nr_ents = 2^31, and a hostile
 * frontend that wrote the legal bound, req_prod = 2^31, made the refresh
 * return (int32_t)2^31 = INT32_MIN: neither a count nor -SDRV_EPROTO.
 * Now attach refuses such a region (-SDRV_EINVAL); the test also accepts a
 * core that returns a count in [0, nr_ents] or -SDRV_EPROTO. Only the
 * header and the first entry are ever touched, so a 4 KiB buffer stands in
 * for the region.
 *
 * KNOWN_BUG 2, regress-unanswered-after-break: sdrv_ring_back_unanswered()
 * ("requests consumed but not yet answered") returned 0 once a hostile
 * frontend had broken the ring, so a backend tearing down would skip
 * releasing what those requests hold (grant mappings, buffers). It must
 * count the consumed, unanswered requests, broken or not.
 */
#include "hostile.h"

#ifndef KNOWN_BUG
#error "build with -DKNOWN_BUG=n"
#endif

#if KNOWN_BUG == 1
static int known_bug(void)
{
	void *mem = tu_shared_mem(SDRV_PAGE_SIZE);
	struct sdrv_sring *s = mem;
	struct sdrv_ring r;
	unsigned char dst[8];
	size_t bytes = ((size_t)1 << 31) + SDRV_RING_HDR_SIZE;
	int32_t n;
	int rc;

	rc = sdrv_ring_back_attach(&r, mem, bytes, 1, 0);
	if (rc == -SDRV_EINVAL) {
		printf("ok: attach refuses a ring larger than SDRV_RING_MAX_ORDER\n");
		tu_shared_free(mem, SDRV_PAGE_SIZE);
		return TU_PASS;
	}
	CHECK(rc == 0, "attach returned %d", rc);
	printf("attach accepted %zu bytes: %u entries\n", bytes, sdrv_ring_nr_ents(&r));
	s->req_prod = 0x80000000u; /* the legal bound */

	n = sdrv_ring_back_take_reqs(&r, dst, 1);
	CHECK(n == -SDRV_EPROTO || (n >= 0 && n <= 1),
	      "take_reqs(max 1) returned %d, neither a count nor -SDRV_EPROTO (broken: %s)", n,
	      sdrv_ring_broken(&r) ? sdrv_ring_broken(&r) : "no");
	n = sdrv_ring_back_unconsumed(&r);
	CHECK(n == -SDRV_EPROTO || n >= 0, "unconsumed returned %d (broken: %s)", n,
	      sdrv_ring_broken(&r) ? sdrv_ring_broken(&r) : "no");
	tu_shared_free(mem, SDRV_PAGE_SIZE);
	return TU_PASS;
}
#elif KNOWN_BUG == 2
static int known_bug(void)
{
	size_t bytes = SDRV_RING_BYTES(0), esz = 112;
	unsigned char *mem = tu_shared_mem(bytes);
	unsigned char dst[32 * 112];
	struct side x;
	int32_t n;

	side_attach(&x, 1, mem, bytes, esz, 0);
	peer_set_prod(&x, 5);
	n = side_take(&x, dst, 32);
	CHECK(n == 5, "take: %d", n);
	CHECK(side_next(&x) != NULL && side_next(&x) != NULL, "next_rsp");
	side_push(&x);
	CHECK(sdrv_ring_back_unanswered(&x.r) == 3, "before breaking: %u unanswered, want 3",
	      sdrv_ring_back_unanswered(&x.r));
	peer_set_prod(&x, 0xdead0000u); /* hostile: breaks the ring */
	CHECK(side_take(&x, dst, 32) == -SDRV_EPROTO, "garbage index accepted");
	printf("broken: %s\n", sdrv_ring_broken(&x.r));
	CHECK(sdrv_ring_back_unanswered(&x.r) == 3,
	      "after breaking: %u unanswered, but 3 requests were consumed and not answered",
	      sdrv_ring_back_unanswered(&x.r));
	CHECK(side_next(&x) == NULL, "a broken ring handed out a response slot");
	tu_shared_free(mem, bytes);
	return TU_PASS;
}
#else
#error "unknown KNOWN_BUG"
#endif

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	tu_watchdog(30, "known-core-bugs");
	if (known_bug() == TU_PASS)
		printf("ok: regression %d stays fixed\n", KNOWN_BUG);
	return TU_PASS;
}
