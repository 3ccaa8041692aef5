/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <splitdrv/ring.h>
#include <stdlib.h>

START_TEST(size_for_rounds_down)
{
	ck_assert_uint_eq(sdrv_ring_size_for(4096, 112), 32);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ring");
	TCase *tc = tcase_create("layout");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, size_for_rounds_down);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
