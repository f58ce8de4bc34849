/*
 * RayJob status: every case of tests/fixtures/ray/status/ (each file) is an observed RayJob
 * (with pods, the daemon's "config", and plugin settings when it needs them: "ray" in the
 * helper's shorthand or "settings", a real `plugins.settings.ray` section loaded through the
 * plugin's schema) and the exact phase, code, message, kind, cleanup
 * flag, recheck time, log links and custom info the plugin must report. Together the cases cover
 * every jobDeploymentStatus of Flyte's table and KubeRay's (checked below), the retry counters
 * against backoffLimit, the head pod diagnosis and the log and dashboard links.
 */
#include <flyteplugd/object.h>

#include "fpd_test.h"
#include "ray_fixture.h"

/* Runs one case; returns the state it exercised. */
static const char *run_case(const char *file, size_t i, json_t *c)
{
	char what[640];
	const char *about = json_string_value(json_object_get(c, "about"));
	snprintf(what, sizeof(what), "%s[%zu] %s", file, i, about ? about : "");
	struct fpd_test_ray s;
	json_t *task = json_pack("{s:{s:s}}", "template", "type", "ray");
	if (json_object_get(c, "config"))
		json_object_set(task, "config", json_object_get(c, "config"));
	fpd_test_ray_load(&s, task);
	fpd_test_ray_settings(&s, json_object_get(c, "ray"));
	if (json_object_get(c, "settings"))
		fpd_test_ray_section(&s, json_object_get(c, "settings"));
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
	    .plugin_settings = fpd_test_ray_settings_in_use(&s),
	    .now_ms = fpd_time_parse(json_string_value(json_object_get(c, "now"))),
	};
	ck_assert_msg(ctx.now_ms > 0, "%s: bad now", what);
	struct fpd_phase_info pi = {0};
	fpd_plugin_ray.status(&ctx, &pi);
	const json_t *e = json_object_get(c, "expect");
	fpd_test_assert_outcome(e, &pi, what);
	fpd_test_assert_links(json_object_get(e, "logs"), &pi, what);
	json_t *info = json_object_get(e, "custom_info");
	if (info)
		fpd_test_assert_json_eq(info, pi.custom_info, what);
	else
		ck_assert_msg(!json_object_size(pi.custom_info), "%s: unexpected custom info",
		              what);
	fpd_phase_info_clear(&pi);
	fpd_test_ray_free(&s);
	json_decref(task);
	const char *state =
	    fpd_json_str_or(json_object_get(c, "object"), "status.jobDeploymentStatus", "");
	return state;
}

START_TEST(maps_every_state_as_the_fixtures_say)
{
	/* Every state of the table, and one the operator does not define. */
	static const char *const states[] = {
	    "",           "Initializing",     "Running",  "Complete", "Failed",     "Suspended",
	    "Suspending", "ValidationFailed", "Retrying", "Waiting",  "NOT_A_STATE"};
	size_t ran = fpd_test_status_cases("ray/status", run_case, states,
	                                   sizeof(states) / sizeof(states[0]));
	ck_assert_uint_ge(ran, 18);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("plugins/ray/status");
	TCase *tc = tcase_create("status");
	tcase_add_test(tc, maps_every_state_as_the_fixtures_say);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
