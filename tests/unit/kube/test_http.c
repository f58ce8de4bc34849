/* Pure parts of the transport (kube/http.h): Retry-After parsing. Transfers themselves are
 * tested against a real API server in tests/e2e/kube/test_transport.c. */
#include "kube/http.h"
#include "fpd_test.h"

#include <curl/curl.h>

static int64_t parse(const char *v, int64_t now)
{
	return fpd_kube_http_parse_retry_after(v, strlen(v), now);
}

START_TEST(retry_after_values)
{
	ck_assert_int_eq(parse(" 1\r\n", 0), 1000);
	ck_assert_int_eq(parse("0", 0), 0);
	ck_assert_int_eq(parse("120", 0), 120000);
	ck_assert_int_eq(parse("", 0), -1);
	ck_assert_int_eq(parse("soon", 0), -1);
	ck_assert_int_eq(parse("-5", 0), -1);
	/* An HTTP date: relative to now, never negative. */
	int64_t date_ms = (int64_t)curl_getdate("Wed, 21 Oct 2015 07:28:00 GMT", NULL) * 1000;
	ck_assert_int_eq(parse("Wed, 21 Oct 2015 07:28:00 GMT\r\n", date_ms - 3000), 3000);
	ck_assert_int_eq(parse("Wed, 21 Oct 2015 07:28:00 GMT", date_ms + 3000), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kube_http");
	TCase *tc = tcase_create("all");
	tcase_add_test(tc, retry_after_values);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
