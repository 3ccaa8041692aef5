/* SPDX-License-Identifier: MIT */
/*
 * Many grant/end cycles (100,000, scaled down under valgrind) and many
 * map/unmap cycles: no descriptor growth, the pool is whole afterwards,
 * the table entries are clean.
 */
#include "posix-common.h"

#define POOL 16

struct shm { /* in the page pt_run_pair() shares */
	uint32_t g_domid, m_domid;
	uint32_t stage_g, stage_m;
	sdrv_grant_ref_t ref;
};

static void granter(struct pt_env *e, void *arg)
{
	struct shm *s = arg;
	struct sdrv_xport *x = pt_open(e, 0, SDRV_DOMID_ANY, POOL);
	uint64_t n = tu_scaled(100000, 500);
	sdrv_grant_ref_t refs[POOL], ref;
	unsigned char *p, *all;
	int fds0;

	CHECK(x != NULL);
	s->g_domid = sdrv_xport_domid(x);
	pt_set_flag(&s->stage_g, 1);
	pt_wait_flag(&s->stage_m, 1, "mapper domid");
	fds0 = pt_count_fds();
	for (uint64_t i = 0; i < n; i++) {
		uint32_t count = 1 + (uint32_t)(i % 3);

		p = sdrv_gnt_share(x, (sdrv_domid_t)s->m_domid, count, (i & 1) != 0, refs);
		CHECK(p != NULL);
		CHECK(p[0] == 0);
		p[0] = 1;
		for (uint32_t k = 0; k < count; k++)
			CHECK(sdrv_gnt_end(x, refs[k]) == 0);
		CHECK(sdrv_gnt_unshare(x, p, count) == 0);
	}
	CHECK(pt_count_fds() == fds0);
	/* The whole pool is free again. */
	all = sdrv_gnt_share(x, (sdrv_domid_t)s->m_domid, POOL, true, refs);
	CHECK(all != NULL);
	CHECK(sdrv_gnt_share(x, (sdrv_domid_t)s->m_domid, 1, true, &ref) == NULL &&
	      errno == ENOSPC);
	CHECK(sdrv_gnt_unshare(x, all, POOL) == 0);
	printf("%llu grant/end cycles\n", (unsigned long long)n);

	/* Now the mapper maps and unmaps one page many times. */
	p = sdrv_gnt_share(x, (sdrv_domid_t)s->m_domid, 1, true, &ref);
	CHECK(p != NULL);
	s->ref = ref;
	pt_set_flag(&s->stage_g, 2);
	pt_wait_flag(&s->stage_m, 2, "mapper cycles");
	CHECK(p[0] == (unsigned char)(tu_scaled(20000, 200) & 0xff));
	CHECK(sdrv_gnt_end(x, ref) == 0);
	CHECK(sdrv_gnt_unshare(x, p, 1) == 0);
	CHECK(pt_count_fds() == fds0);
	pt_set_flag(&s->stage_g, 3);
	sdrv_xport_close(x);
}

static void mapper(struct pt_env *e, void *arg)
{
	struct shm *s = arg;
	struct sdrv_xport *x = pt_open(e, 0, SDRV_DOMID_ANY, 4);
	uint64_t n = tu_scaled(20000, 200);
	int st, fds1 = 0;

	CHECK(x != NULL);
	s->m_domid = sdrv_xport_domid(x);
	pt_set_flag(&s->stage_m, 1);
	pt_wait_flag(&s->stage_g, 2, "granter shared");
	for (uint64_t i = 0; i < n; i++) {
		unsigned char *m = sdrv_gnt_map(x, (sdrv_domid_t)s->g_domid, 1, &s->ref,
						(i & 1) == 0 || i + 1 == n, &st);

		CHECK(m != NULL && st == 0);
		if (i == 0)
			fds1 = pt_count_fds(); /* the granter's table and pool are open now */
		if ((i & 1) == 0 || i + 1 == n)
			m[0] = (unsigned char)(i + 1);
		CHECK(sdrv_gnt_unmap(x, m, 1) == 0);
	}
	CHECK(pt_count_fds() == fds1);
	printf("%llu map/unmap cycles\n", (unsigned long long)n);
	pt_set_flag(&s->stage_m, 2);
	pt_wait_flag(&s->stage_g, 3, "granter done");
	sdrv_xport_close(x);
}

_Static_assert(sizeof(struct shm) <= PT_SHM_SIZE, "shared page");

int main(void)
{
	return pt_run_pair("posix-cycles", 120, NULL, 0, granter, "posix-cycles granter", mapper,
			   "posix-cycles mapper");
}
