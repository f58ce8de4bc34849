/* Pure parts of the transport (kube/http.h): Retry-After parsing, the rate-limit budgets as
 * configured. Transfers themselves are tested against a real API server in
 * tests/e2e/kube/test_transport.c and test_scale.c. */
#include "kube/http.h"

#include "core/config.h"
#include "kube/client.h"
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

static void opts_of(const char *yaml, struct fpd_kube_client_opts *o)
{
	struct fpd_config cfg;
	struct fpd_error err;
	int rc = fpd_config_load_text(yaml, strlen(yaml), "test.yaml", &cfg, &err);
	ck_assert_msg(rc == FPD_OK, "%s", err.text);
	fpd_kube_client_opts_from_config(&cfg.kubernetes, o);
	fpd_config_free(&cfg);
}

/* kubernetes.budgets reach the client; an old configuration's qps stays the overall limit. */
START_TEST(budgets_from_config)
{
	struct fpd_kube_client_opts o;
	opts_of("kubernetes:\n  qps: 50\n", &o);
	ck_assert_double_eq(o.qps, 50);
	ck_assert_int_eq(o.burst, 100);
	ck_assert_double_eq(o.budgets[FPD_KUBE_BUDGET_CREATE].qps, 5000);
	ck_assert_double_eq(o.budgets[FPD_KUBE_BUDGET_READ].qps, 500);
	ck_assert_int_eq(o.budgets[FPD_KUBE_BUDGET_READ].burst, 500);
	ck_assert_double_eq(o.budgets[FPD_KUBE_BUDGET_DELETE].qps, 200);
	ck_assert(!o.no_watch_list);
	opts_of("kubernetes:\n  watch_list: false\n  budgets:\n    create: {qps: 0}\n"
	        "    read: {qps: 7.5, burst: 3}\n",
	        &o);
	ck_assert_double_eq(o.qps, 6000);
	ck_assert_double_eq(o.budgets[FPD_KUBE_BUDGET_CREATE].qps, 0);
	ck_assert_int_eq(o.budgets[FPD_KUBE_BUDGET_CREATE].burst, 100);
	ck_assert_double_eq(o.budgets[FPD_KUBE_BUDGET_READ].qps, 7.5);
	ck_assert_int_eq(o.budgets[FPD_KUBE_BUDGET_READ].burst, 3);
	ck_assert(o.no_watch_list);

	struct fpd_config cfg;
	struct fpd_error err;
	const char *bad = "kubernetes:\n  budgets:\n    writes: {qps: 1}\n";
	ck_assert_int_eq(fpd_config_load_text(bad, strlen(bad), "bad.yaml", &cfg, &err),
	                 FPD_EINVAL);
	ck_assert_msg(strstr(err.text, "unknown key \"writes\"") != NULL, "%s", err.text);
	const char *neg = "kubernetes:\n  budgets:\n    read: {qps: -1}\n";
	ck_assert_int_eq(fpd_config_load_text(neg, strlen(neg), "neg.yaml", &cfg, &err),
	                 FPD_ERANGE);
	ck_assert_msg(strstr(err.text, "\"qps\" is out of range") != NULL, "%s", err.text);
}
END_TEST

START_TEST(budget_names)
{
	ck_assert_str_eq(fpd_kube_budget_name(FPD_KUBE_BUDGET_CREATE), "create");
	ck_assert_str_eq(fpd_kube_budget_name(FPD_KUBE_BUDGET_READ), "read");
	ck_assert_str_eq(fpd_kube_budget_name(FPD_KUBE_BUDGET_DELETE), "delete");
	ck_assert_str_eq(fpd_kube_budget_name(FPD_KUBE_BUDGET_OTHER), "other");
	ck_assert_str_eq(fpd_kube_budget_name(FPD_KUBE_BUDGET_COUNT), "?");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kube_http");
	TCase *tc = tcase_create("all");
	tcase_add_test(tc, retry_after_values);
	tcase_add_test(tc, budgets_from_config);
	tcase_add_test(tc, budget_names);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
