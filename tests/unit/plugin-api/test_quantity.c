/*
 * The one quantity parser (quantity.c): values as Go's resource.MustParse(s).AsApproximateFloat64
 * gives them, refusals as Go's ParseQuantity, and no overflow on extreme inputs (the canonical
 * forms are tested with the pod library, tests/unit/plugins/pod/test_quantity.c).
 */
#include <flyteplugd/mem.h>
#include <flyteplugd/quantity.h>

#include "fpd_test.h"

#include <stdlib.h>
#include <string.h>

START_TEST(values)
{
	static const struct {
		const char *q;
		double v;
	} cases[] = {{"500m", 0.5},
	             {"1Gi", 1073741824},
	             {"1.5", 1.5},
	             {"1e3", 1000},
	             {"2E", 2e18},
	             {"+3k", 3000},
	             {".5", 0.5},
	             {"10n", 1e-8},
	             {"1E-2", 0.01},
	             {"-1", -1},
	             {"1Ei", 1152921504606846976.0},
	             {"0", 0},
	             {"100Mi", 104857600}};
	for (size_t i = 0; i < FPD_ARRAY_LEN(cases); i++) {
		double v = -42;
		ck_assert_msg(fpd_quantity_parse(cases[i].q, &v) == 0 && v == cases[i].v,
		              "%s: expected %.17g, got %.17g", cases[i].q, cases[i].v, v);
	}
}
END_TEST

START_TEST(refused)
{
	static const char *const bad[] = {"",     "1 cpu", "1K",   "m",    "1.2.3", "1e",
	                                  "1Gib", "1e+",   "0x10", "1e99", "--1",   NULL};
	for (size_t i = 0; i < FPD_ARRAY_LEN(bad); i++) {
		double v = -42;
		ck_assert_msg(fpd_quantity_parse(bad[i], &v) == -1 && v == -42,
		              "%s must be refused", bad[i] ? bad[i] : "NULL");
		ck_assert_msg(fpd_quantity_canonical(bad[i]) == NULL, "%s: canonical form given",
		              bad[i] ? bad[i] : "NULL");
	}
}
END_TEST

/* Values past the 128-bit nano-unit range are refused, not wrapped (UBSan checks this too);
 * values below a nano-unit round up to one. */
START_TEST(extremes)
{
	double v = 0;
	ck_assert_int_eq(fpd_quantity_parse("9999999999999999999999999999999E", &v), -1);
	ck_assert_int_eq(fpd_quantity_parse("9999999999999999999999999999999Ei", &v), -1);
	ck_assert_int_eq(fpd_quantity_parse("9999999999999999999999999999999e18", &v), -1);
	ck_assert_int_eq(fpd_quantity_parse("0.00000000000000000000000000001e-18", &v), 0);
	ck_assert_msg(v == 1e-9, "expected one nano-unit, got %g", v);
	char *c = fpd_quantity_canonical("0.00000000000000000000000000001e-18");
	ck_assert_str_eq(c, "1e-9"); /* Go keeps the exponent form */
	free(c);
	char long_text[FPD_QUANTITY_MAX + 1];
	memset(long_text, '1', sizeof(long_text) - 1);
	long_text[FPD_QUANTITY_MAX] = '\0';
	ck_assert_int_eq(fpd_quantity_parse(long_text, &v), -1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lib/quantity");
	TCase *tc = tcase_create("all");
	tcase_add_test(tc, values);
	tcase_add_test(tc, refused);
	tcase_add_test(tc, extremes);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
