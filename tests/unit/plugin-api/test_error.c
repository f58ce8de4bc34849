/* Error records (error.c): setting, wrapping, locations and their text. */
#include <flyteplugd/error.h>
#include "fpd_test.h"

START_TEST(format_with_location)
{
	struct fpd_error err;
	char out[256];
	fpd_error_clear(&err);
	ck_assert_int_eq(fpd_error_set_at(&err, FPD_EINVAL, "a.yaml", 3, 7, "bad %s", "thing"),
	                 FPD_EINVAL);
	ck_assert_str_eq(fpd_error_format(&err, out, sizeof(out)), "a.yaml:3:7: bad thing");
	fpd_error_set_at(&err, FPD_ENOENT, "b.yaml", 0, 0, "cannot open");
	ck_assert_str_eq(fpd_error_format(&err, out, sizeof(out)), "b.yaml: cannot open");
	fpd_error_set(&err, FPD_ERR, "plain");
	ck_assert_str_eq(fpd_error_format(&err, out, sizeof(out)), "plain");
}
END_TEST

START_TEST(wrap_prefixes)
{
	struct fpd_error err;
	fpd_error_clear(&err);
	fpd_error_set(&err, FPD_EIO, "connection refused");
	ck_assert_int_eq(fpd_error_wrap(&err, FPD_EIO, "GET %s", "/api"), FPD_EIO);
	ck_assert_str_eq(err.text, "GET /api: connection refused");
	/* NULL error records are allowed everywhere. */
	ck_assert_int_eq(fpd_error_set(NULL, FPD_EPERM, "x"), FPD_EPERM);
	ck_assert_int_eq(fpd_error_wrap(NULL, FPD_EPERM, "x"), FPD_EPERM);
}
END_TEST

START_TEST(long_messages_truncate)
{
	struct fpd_error err;
	char big[2000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	fpd_error_set(&err, FPD_ERR, "%s", big);
	ck_assert_uint_eq(strlen(err.text), FPD_ERROR_TEXT - 1);
	fpd_error_wrap(&err, FPD_ERR, "prefix");
	ck_assert_uint_eq(strlen(err.text), FPD_ERROR_TEXT - 1);
	ck_assert(strncmp(err.text, "prefix: xxx", 11) == 0);
	ck_assert_str_eq(fpd_strerror(FPD_ETIMEDOUT), "ETIMEDOUT");
	ck_assert_str_eq(fpd_strerror(-999), "UNKNOWN");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lib/error");
	TCase *tc = tcase_create("error");
	tcase_add_test(tc, format_with_location);
	tcase_add_test(tc, wrap_prefixes);
	tcase_add_test(tc, long_messages_truncate);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
