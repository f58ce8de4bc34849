/*
 * SparkApplication status: every case of tests/fixtures/spark/status/ (each file) is an observed
 * application (with pods, the daemon's "config" and the `plugins.settings.spark` section as
 * "spark" when it needs them) and the exact phase, code, message, kind, cleanup flag, log links
 * and custom info the plugin must report. Together the cases cover every row of the state table
 * (checked below), the driver pod rules and the log sections (logs.json).
 */
#include <flyteplugd/object.h>

#include "fpd_test.h"
#include "spark_fixture.h"

/* Runs one case; returns the state it exercised. */
static const char *run_case(const char *file, size_t i, json_t *c)
{
	char what[640];
	const char *about = json_string_value(json_object_get(c, "about"));
	snprintf(what, sizeof(what), "%s[%zu] %s", file, i, about ? about : "");
	struct fpd_test_spark s;
	json_t *task = json_pack("{s:{s:s}}", "template", "type", "spark");
	if (json_object_get(c, "config"))
		json_object_set(task, "config", json_object_get(c, "config"));
	fpd_test_spark_load(&s, task);
	fpd_test_spark_settings(&s, json_object_get(c, "spark"));
	json_t *pods = json_object_get(c, "pods");
	const json_t *pod_list[8];
	size_t n = json_array_size(pods);
	ck_assert_uint_le(n, 8);
	for (size_t p = 0; p < n; p++)
		pod_list[p] = json_array_get(pods, p);
	struct fpd_status_ctx ctx = {
	    .ref = &s.t.task.ref,
	    .object = json_object_get(c, "object"),
	    .pods = pod_list,
	    .pod_count = n,
	    .settings = s.t.task.settings,
	    .plugin_settings = s.settings,
	    .now_ms = fpd_time_parse(json_string_value(json_object_get(c, "now"))),
	};
	ck_assert_msg(ctx.now_ms > 0, "%s: bad now", what);
	struct fpd_phase_info pi = {0};
	fpd_spark_status(&ctx, &pi);
	const json_t *e = json_object_get(c, "expect");
	fpd_test_assert_outcome(e, &pi, what);
	fpd_test_assert_links(json_object_get(e, "logs"), &pi, what);
	json_t *info = json_object_get(e, "custom_info");
	fpd_test_assert_json_eq(info ? info : json_object(), pi.custom_info, what);
	fpd_phase_info_clear(&pi);
	fpd_test_spark_free(&s);
	json_decref(task);
	const char *state =
	    fpd_json_str_or(json_object_get(c, "object"), "status.applicationState.state", "");
	return state;
}

START_TEST(maps_every_state_as_the_fixtures_say)
{
	/* Every state of the table, and one the operator does not define. */
	static const char *const states[] = {
	    "",           "SUBMITTED",         "RUNNING",       "COMPLETED",
	    "FAILED",     "SUBMISSION_FAILED", "PENDING_RERUN", "INVALIDATING",
	    "SUCCEEDING", "FAILING",           "UNKNOWN",       "SUSPENDING",
	    "SUSPENDED",  "RESUMING",          "NOT_A_STATE"};
	size_t ran = fpd_test_status_cases("spark/status", run_case, states,
	                                   sizeof(states) / sizeof(states[0]));
	ck_assert_uint_ge(ran, 25);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("plugins/spark/status");
	TCase *tc = tcase_create("status");
	tcase_add_test(tc, maps_every_state_as_the_fixtures_say);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
