/* API error parsing (kube/status.h) with Status bodies captured from kube-apiserver. */
#include <flyteplugd/error.h>
#include "kube/status.h"
#include "fpd_test.h"

static void parse_fixture(const char *rel, long http, struct fpd_kube_status *st)
{
	size_t len;
	char *body = fpd_read_fixture(rel, &len);
	fpd_kube_status_parse(http, body, len, st);
	free(body);
}

START_TEST(not_found)
{
	struct fpd_kube_status st;
	parse_fixture("kube/status/notfound.json", 404, &st);
	ck_assert_int_eq(st.reason, FPD_KUBE_NOT_FOUND);
	ck_assert_str_eq(st.reason_text, "NotFound");
	ck_assert_int_eq(st.code, 404);
	ck_assert_str_eq(st.message, "pods \"nope\" not found");
	ck_assert_int_eq(fpd_kube_status_errcode(&st), FPD_ENOENT);
	ck_assert(!fpd_kube_status_is_gone(&st));
}
END_TEST

START_TEST(invalid_and_too_many)
{
	struct fpd_kube_status st;
	parse_fixture("kube/status/invalid.json", 422, &st);
	ck_assert_int_eq(st.reason, FPD_KUBE_INVALID);
	ck_assert_int_eq(fpd_kube_status_errcode(&st), FPD_EINVAL);
	ck_assert_ptr_nonnull(strstr(st.message, "metadata.name: Invalid value"));

	parse_fixture("kube/status/toomany.json", 429, &st);
	ck_assert_int_eq(st.reason, FPD_KUBE_TOO_MANY_REQUESTS);
	ck_assert_int_eq(st.retry_after_s, 3);
	ck_assert_int_eq(fpd_kube_status_errcode(&st), FPD_ERR);
}
END_TEST

START_TEST(gone_in_watch_event)
{
	size_t len;
	char *text = fpd_read_fixture("kube/status/expired-event.json", &len);
	json_t *ev = json_loadb(text, len, 0, NULL);
	free(text);
	struct fpd_kube_status st;
	fpd_kube_status_from_json(200, json_object_get(ev, "object"), &st);
	json_decref(ev);
	ck_assert_int_eq(st.http, 200);
	ck_assert_int_eq(st.code, 410);
	ck_assert_int_eq(st.reason, FPD_KUBE_EXPIRED);
	ck_assert(fpd_kube_status_is_gone(&st));
}
END_TEST

START_TEST(not_a_status_body)
{
	struct fpd_kube_status st;
	parse_fixture("kube/status/bad-gateway.html", 502, &st);
	ck_assert_int_eq(st.reason, FPD_KUBE_INTERNAL_ERROR);
	ck_assert_str_eq(st.message, "<html><body><h1>502 Bad Gateway</h1></body></html>");

	fpd_kube_status_parse(403, NULL, 0, &st);
	ck_assert_int_eq(st.reason, FPD_KUBE_FORBIDDEN);
	ck_assert_int_eq(fpd_kube_status_errcode(&st), FPD_EPERM);
	fpd_kube_status_parse(410, "", 0, &st);
	ck_assert(fpd_kube_status_is_gone(&st));
	fpd_kube_status_parse(201, "{}", 2, &st);
	ck_assert_int_eq(st.reason, FPD_KUBE_OK);
	ck_assert_int_eq(fpd_kube_status_errcode(&st), FPD_OK);
	/* 409 without a body is a Conflict; AlreadyExists needs the server to say so. */
	fpd_kube_status_parse(409, NULL, 0, &st);
	ck_assert_int_eq(st.reason, FPD_KUBE_CONFLICT);
}
END_TEST

START_TEST(unknown_reason_keeps_text)
{
	const char *body = "{\"kind\":\"Status\",\"status\":\"Failure\",\"reason\":\"Brandnew\","
	                   "\"code\":409,\"message\":\"m\"}";
	struct fpd_kube_status st;
	fpd_kube_status_parse(409, body, strlen(body), &st);
	ck_assert_int_eq(st.reason, FPD_KUBE_CONFLICT);
	ck_assert_str_eq(st.reason_text, "Brandnew");
	ck_assert_int_eq(fpd_kube_reason_parse("AlreadyExists"), FPD_KUBE_ALREADY_EXISTS);
	ck_assert_str_eq(fpd_kube_reason_name(FPD_KUBE_GONE), "Gone");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kube_status");
	TCase *tc = tcase_create("all");
	tcase_add_test(tc, not_found);
	tcase_add_test(tc, invalid_and_too_many);
	tcase_add_test(tc, gone_in_watch_event);
	tcase_add_test(tc, not_a_status_body);
	tcase_add_test(tc, unknown_reason_keeps_text);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
