/* JSON helpers for Kubernetes objects (object.c) and phase records (phase.c). */
#include "fpd_test.h"

#include <flyteplugd/object.h>
#include <flyteplugd/phase.h>

START_TEST(paths)
{
	json_t *o = json_loads("{\"status\":{\"phase\":\"Running\",\"n\":3,\"ok\":true},"
	                       "\"metadata\":{\"labels\":{\"a\":\"b\"}}}",
	                       0, NULL);
	ck_assert_str_eq(fpd_json_str(o, "status.phase"), "Running");
	ck_assert_ptr_null(fpd_json_str(o, "status.n"));
	ck_assert_int_eq(fpd_json_int_or(o, "status.n", -1), 3);
	ck_assert_int_eq(fpd_json_int_or(o, "status.missing", -1), -1);
	ck_assert(fpd_json_bool_or(o, "status.ok", false));
	ck_assert_ptr_null(fpd_json_get(o, "status.phase.deeper"));
	ck_assert_ptr_null(fpd_json_get(o, ""));
	ck_assert_ptr_null(fpd_json_get(o, "status..phase"));
	ck_assert_int_eq(fpd_json_set_str(o, "spec.template.metadata.name", "x"), 0);
	ck_assert_str_eq(fpd_json_str(o, "spec.template.metadata.name"), "x");
	/* A string in the way is not overwritten. */
	ck_assert_int_eq(fpd_json_set_str(o, "status.phase.sub", "x"), -1);
	ck_assert_str_eq(fpd_json_str(o, "status.phase"), "Running");
	json_t *more = json_pack("{s:s, s:s}", "a", "c", "d", "e");
	fpd_json_merge_into(o, "metadata.labels", more);
	ck_assert_str_eq(fpd_json_str(o, "metadata.labels.a"), "c");
	ck_assert_str_eq(fpd_json_str(o, "metadata.labels.d"), "e");
	json_decref(more);
	json_decref(o);
}
END_TEST

START_TEST(timestamps)
{
	ck_assert_int_eq(fpd_time_parse("1970-01-01T00:00:00Z"), 0);
	ck_assert_int_eq(fpd_time_parse("2026-01-02T03:04:05Z"), 1767323045000LL);
	ck_assert_int_eq(fpd_time_parse("2026-01-02T03:04:05.250Z"), 1767323045250LL);
	ck_assert_int_eq(fpd_time_parse("2026-01-02T05:04:05+02:00"), 1767323045000LL);
	ck_assert_int_eq(fpd_time_parse("2026-01-02T03:04:05.123456789Z"), 1767323045123LL);
	ck_assert_int_eq(fpd_time_parse("2026-01-02 03:04:05"), -1);
	ck_assert_int_eq(fpd_time_parse("2026-13-02T03:04:05Z"), -1);
	ck_assert_int_eq(fpd_time_parse("yesterday"), -1);
	ck_assert_int_eq(fpd_time_parse(NULL), -1);
}
END_TEST

START_TEST(phase_info)
{
	struct fpd_phase_info pi = {0}, copy = {0};
	fpd_phase_setf(&pi, FPD_PHASE_RETRYABLE_FAILED, "OOMKilled", "container %s", "main");
	ck_assert_int_eq(pi.kind, FPD_KIND_USER);
	ck_assert_str_eq(pi.message, "container main");
	fpd_phase_add_log(&pi, "Kubernetes Logs (User)", "http://x", FPD_LOG_FORMAT_JSON, true,
	                  false);
	pi.custom_info = json_pack("{s:i}", "attempt", 2);
	fpd_phase_info_copy(&copy, &pi);
	fpd_phase_info_clear(&pi);
	ck_assert_int_eq(pi.phase, FPD_PHASE_UNDEFINED);
	ck_assert_str_eq(copy.logs[0].uri, "http://x");
	ck_assert(copy.logs[0].show_while_pending);
	ck_assert_int_eq(json_integer_value(json_object_get(copy.custom_info, "attempt")), 2);
	ck_assert(fpd_phase_is_terminal(copy.phase));
	ck_assert(!fpd_phase_is_terminal(FPD_PHASE_RUNNING));
	ck_assert_str_eq(fpd_phase_name(FPD_PHASE_WAITING_FOR_RESOURCES), "WAITING_FOR_RESOURCES");
	fpd_phase_set(&copy, FPD_PHASE_RUNNING, NULL, NULL);
	ck_assert_int_eq(copy.kind, FPD_KIND_UNKNOWN);
	ck_assert_ptr_null(copy.code);
	ck_assert_uint_eq(copy.log_count, 1); /* logs are kept */
	fpd_phase_info_clear(&copy);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lib/object");
	TCase *tc = tcase_create("object");
	tcase_add_test(tc, paths);
	tcase_add_test(tc, timestamps);
	tcase_add_test(tc, phase_info);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
