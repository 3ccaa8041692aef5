/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the grant-table steps (grant.h): Xen's v1 layout, the
 * owner's grant and atomic end, the mapper's checked pin and unpin, and
 * races between the two that must never let the owner revoke a pinned entry.
 */
#include <check.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <splitdrv/grant.h>

#include "../common/tutil.h"

#define NR 64u
static struct sdrv_grant_entry tab[NR];

static void reset(void)
{
	memset(tab, 0, sizeof(tab));
}

START_TEST(entry_layout_is_xens_v1)
{
	ck_assert_uint_eq(sizeof(struct sdrv_grant_entry), 8);
	ck_assert_uint_eq(offsetof(struct sdrv_grant_entry, flags), 0);
	ck_assert_uint_eq(offsetof(struct sdrv_grant_entry, domid), 2);
	ck_assert_uint_eq(offsetof(struct sdrv_grant_entry, frame), 4);
	ck_assert_uint_eq(SDRV_GRANTS_PER_PAGE, 512);
	ck_assert_uint_eq(SDRV_GTF_READONLY, 4);
	ck_assert_uint_eq(SDRV_GTF_READING, 8);
	ck_assert_uint_eq(SDRV_GTF_WRITING, 16);
}
END_TEST

START_TEST(grant_writes_entry_and_refuses_busy_or_reserved)
{
	reset();
	ck_assert_int_eq(sdrv_gnttab_grant(tab, NR, 10, 3, 0x1234, false), 0);
	ck_assert_uint_eq(tab[10].flags, SDRV_GTF_PERMIT_ACCESS);
	ck_assert_uint_eq(tab[10].domid, 3);
	ck_assert_uint_eq(tab[10].frame, 0x1234);
	ck_assert_int_eq(sdrv_gnttab_grant(tab, NR, 10, 3, 1, false), -SDRV_EBUSY);
	ck_assert_int_eq(sdrv_gnttab_grant(tab, NR, 11, 3, 7, true), 0);
	ck_assert_uint_eq(tab[11].flags, SDRV_GTF_PERMIT_ACCESS | SDRV_GTF_READONLY);
	ck_assert_int_eq(sdrv_gnttab_grant(tab, NR, 1, 3, 7, true), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_gnttab_grant(tab, NR, NR, 3, 7, true), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_gnttab_grant(NULL, NR, 9, 3, 7, true), -SDRV_EINVAL);
}
END_TEST

START_TEST(pin_checks_domain_type_and_mode)
{
	uint32_t frame = 0;

	reset();
	sdrv_gnttab_grant(tab, NR, 10, 3, 0x55, true);
	/* Another domain, an unused entry, a ref out of range. */
	ck_assert_int_eq(sdrv_gnttab_pin(tab, NR, 10, 4, false, false, &frame), -SDRV_EPERM);
	ck_assert_int_eq(sdrv_gnttab_pin(tab, NR, 12, 3, false, false, &frame), -SDRV_EPERM);
	ck_assert_int_eq(sdrv_gnttab_pin(tab, NR, NR, 3, false, false, &frame), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_gnttab_pin(tab, NR, 0xFFFFFFFFu, 3, false, false, &frame),
			 -SDRV_EINVAL);
	/* Writable map of a read-only grant. */
	ck_assert_int_eq(sdrv_gnttab_pin(tab, NR, 10, 3, true, false, &frame), -SDRV_EPERM);
	ck_assert_uint_eq(tab[10].flags, SDRV_GTF_PERMIT_ACCESS | SDRV_GTF_READONLY);
	ck_assert_int_eq(sdrv_gnttab_pin(tab, NR, 10, 3, false, false, &frame), 0);
	ck_assert_uint_eq(frame, 0x55);
	ck_assert(tab[10].flags & SDRV_GTF_READING);
	ck_assert(!(tab[10].flags & SDRV_GTF_WRITING));
	/* A transfer-type entry is not mappable. */
	tab[13].flags = SDRV_GTF_ACCEPT_TRANSFER;
	tab[13].domid = 3;
	ck_assert_int_eq(sdrv_gnttab_pin(tab, NR, 13, 3, false, false, &frame), -SDRV_EPERM);
}
END_TEST

START_TEST(end_fails_while_mapped_and_succeeds_after)
{
	uint32_t frame;

	reset();
	sdrv_gnttab_grant(tab, NR, 20, 5, 9, false);
	ck_assert_int_eq(sdrv_gnttab_pin(tab, NR, 20, 5, true, false, &frame), 0);
	ck_assert(sdrv_gnttab_in_use(tab, NR, 20));
	ck_assert_int_eq(sdrv_gnttab_end(tab, NR, 20), -SDRV_EBUSY);
	/* A second, read-only mapping by the same domain. */
	ck_assert_int_eq(sdrv_gnttab_pin(tab, NR, 20, 5, false, true, &frame), 0);
	/* The writable one goes: still reading, still busy. */
	ck_assert_int_eq(sdrv_gnttab_unpin(tab, NR, 20, true, false), 0);
	ck_assert_uint_eq(tab[20].flags, SDRV_GTF_PERMIT_ACCESS | SDRV_GTF_READING);
	ck_assert_int_eq(sdrv_gnttab_end(tab, NR, 20), -SDRV_EBUSY);
	ck_assert_int_eq(sdrv_gnttab_unpin(tab, NR, 20, false, true), 0);
	ck_assert(!sdrv_gnttab_in_use(tab, NR, 20));
	ck_assert_int_eq(sdrv_gnttab_end(tab, NR, 20), 0);
	ck_assert_uint_eq(tab[20].flags, 0);
	/* Ended: no longer mappable, not endable twice, reusable. */
	ck_assert_int_eq(sdrv_gnttab_pin(tab, NR, 20, 5, false, false, &frame), -SDRV_EPERM);
	ck_assert_int_eq(sdrv_gnttab_end(tab, NR, 20), -SDRV_EINVAL);
	ck_assert_int_eq(sdrv_gnttab_grant(tab, NR, 20, 6, 10, false), 0);
}
END_TEST

/* ---------------------------- races ----------------------------------- */

/*
 * Each race runs a second thread that hammers the same entry. valgrind runs
 * one thread at a time, so there the two sides are interleaved step by step
 * in one thread instead: memcheck still sees every path, and the real race
 * runs in the normal and sanitizer builds.
 */
static volatile int mapper_holds;
/* Tells the peer thread to stop: atomic, read and written across threads. */
static int stop;

static void mapper_step(void)
{
	uint32_t frame;

	if (sdrv_gnttab_pin(tab, NR, 30, 7, true, false, &frame) == 0) {
		__atomic_store_n(&mapper_holds, 1, __ATOMIC_SEQ_CST);
		__atomic_store_n(&mapper_holds, 0, __ATOMIC_SEQ_CST);
		ck_assert_int_eq(sdrv_gnttab_unpin(tab, NR, 30, true, true), 0);
	}
}

static void *mapper(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE))
		mapper_step();
	return NULL;
}

static void flipper_step(void)
{
	__atomic_xor_fetch(&tab[40].flags, SDRV_GTF_READONLY, __ATOMIC_SEQ_CST);
}

static void *flipper(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE))
		flipper_step();
	return NULL;
}

/* Start `fn` in a thread, or return false to interleave `step` by hand. */
static bool start_peer(pthread_t *t, void *(*fn)(void *))
{
	__atomic_store_n(&stop, 0, __ATOMIC_RELEASE);
	if (tu_under_valgrind())
		return false;
	ck_assert_int_eq(pthread_create(t, NULL, fn, NULL), 0);
	return true;
}

static void stop_peer(pthread_t t, bool threaded)
{
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	if (threaded)
		pthread_join(t, NULL);
}

START_TEST(end_never_revokes_a_pinned_entry)
{
	pthread_t t = 0;
	long ended = 0, refused = 0;
	const long rounds = (long)tu_scaled(200000, 2000);
	bool threaded;

	reset();
	sdrv_gnttab_grant(tab, NR, 30, 7, 1, false);
	threaded = start_peer(&t, mapper);
	for (long i = 0; i < rounds; i++) {
		int rc;

		if (!threaded && (i & 1))
			mapper_step();
		rc = sdrv_gnttab_end(tab, NR, 30);
		if (rc == 0) {
			/* Revoked: the mapper cannot have held a pin at that instant. */
			ck_assert_int_eq(__atomic_load_n(&mapper_holds, __ATOMIC_SEQ_CST), 0);
			ended++;
			ck_assert_int_eq(sdrv_gnttab_grant(tab, NR, 30, 7, 1, false), 0);
		} else {
			ck_assert_int_eq(rc, -SDRV_EBUSY);
			refused++;
		}
	}
	stop_peer(t, threaded);
	ck_assert_int_gt(ended, 0);
	ck_assert_int_eq(ended + refused, rounds);
}
END_TEST

START_TEST(hostile_owner_cannot_livelock_the_mapper)
{
	pthread_t t = 0;
	long ok = 0, busy = 0, perm = 0;
	const long rounds = (long)tu_scaled(100000, 2000);
	bool threaded;

	reset();
	sdrv_gnttab_grant(tab, NR, 40, 2, 1, false);
	threaded = start_peer(&t, flipper);
	for (long i = 0; i < rounds; i++) {
		uint32_t frame;
		int rc;

		if (!threaded)
			flipper_step();
		rc = sdrv_gnttab_pin(tab, NR, 40, 2, true, false, &frame);
		if (rc == 0) {
			ok++;
			sdrv_gnttab_unpin(tab, NR, 40, true, true);
		} else if (rc == -SDRV_EBUSY) {
			busy++;
		} else {
			ck_assert_int_eq(rc, -SDRV_EPERM); /* saw it read-only */
			perm++;
		}
	}
	stop_peer(t, threaded);
	/* Every call returned: bounded work, whatever the owner does. */
	ck_assert_int_eq(ok + busy + perm, rounds);
	if (!threaded) {
		/* Interleaved by hand, the entry alternates: both outcomes occur. */
		ck_assert_int_gt(ok, 0);
		ck_assert_int_gt(perm, 0);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("grant");
	TCase *tc = tcase_create("steps");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, entry_layout_is_xens_v1);
	tcase_add_test(tc, grant_writes_entry_and_refuses_busy_or_reserved);
	tcase_add_test(tc, pin_checks_domain_type_and_mode);
	tcase_add_test(tc, end_fails_while_mapped_and_succeeds_after);
	suite_add_tcase(s, tc);
	tc = tcase_create("races");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, end_never_revokes_a_pinned_entry);
	tcase_add_test(tc, hostile_owner_cannot_livelock_the_mapper);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
