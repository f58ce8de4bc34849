/*
 * Pod status: every tests/fixtures/pod/status/<case>.json is a pod, the time, optional
 * settings, and the exact phase, code, message, kind, cleanup flag, re-check time and whether
 * log links survive. The plugin's status hook is checked on top (logs plus phase).
 */
#include <flyteplugd/phase.h>
#include <flyteplugd/pod.h>

#include <flyteplugd/object.h>

#include "fpd_test.h"
#include "pod/pod.h"
#include "task_fixture.h"

static void run_fixture(const char *name, void *ud)
{
	char rel[256];
	snprintf(rel, sizeof(rel), "pod/status/%s", name);
	json_t *fx = fpd_test_json_fixture(rel);
	struct fpd_config cfg;
	fpd_test_config_load(&cfg, json_object_get(fx, "config"));
	int64_t now = fpd_time_parse(json_string_value(json_object_get(fx, "now")));
	ck_assert_msg(now > 0, "%s: bad now", name);
	const json_t *e = json_object_get(fx, "expect");

	struct fpd_phase_info pi = {0};
	fpd_phase_add_log(&pi, "seed", "http://logs", FPD_LOG_FORMAT_JSON, false, false);
	fpd_pod_status(json_object_get(fx, "pod"), &cfg.settings.k8s, now, &pi);

	fpd_test_assert_outcome(e, &pi, name);
	size_t logs = json_is_true(json_object_get(e, "logs_kept")) ? 1 : 0;
	ck_assert_msg(pi.log_count == logs, "%s: log links: expected %zu, got %zu", name, logs,
	              pi.log_count);
	fpd_phase_info_clear(&pi);
	fpd_test_config_free(&cfg);
	json_decref(fx);
}

START_TEST(status_fixtures)
{
	ck_assert_uint_eq(fpd_fixture_each("pod/status", ".json", NULL, run_fixture, NULL), 41);
}
END_TEST

static const struct fpd_task_ref ref = {.project = "flytesnacks",
                                        .domain = "development",
                                        .execution = "f8a4b2c1d0",
                                        .node_id = "n0",
                                        .task_project = "flytesnacks",
                                        .task_domain = "development",
                                        .task_name = "wf.t",
                                        .task_version = "v1",
                                        .task_type = "python-task",
                                        .generated_name = "f8a4b2c1d0-n0-0",
                                        .namespace_ = "ns",
                                        .link_types = ""};

/* The hook adds the pod's log links, then the phase; a pending failure drops the links. */
START_TEST(plugin_status_hook_adds_logs)
{
	struct fpd_config cfg;
	fpd_test_config_load(&cfg, NULL);
	json_t *pod = json_loads(
	    "{\"metadata\": {\"name\": \"f8a4b2c1d0-n0-0\", \"namespace\": \"ns\","
	    " \"annotations\": {\"primary_container_name\": \"main\"}},"
	    " \"spec\": {\"containers\": [{\"name\": \"main\"}]},"
	    " \"status\": {\"phase\": \"Running\", \"containerStatuses\": [{\"name\": \"main\","
	    " \"state\": {\"running\": {}}}]}}",
	    0, NULL);
	struct fpd_status_ctx ctx = {
	    .ref = &ref, .object = pod, .settings = &cfg.settings, .now_ms = 1772366400000};
	struct fpd_phase_info pi = {0};
	fpd_plugin_pod.status(&ctx, &pi);
	ck_assert_int_eq(pi.phase, FPD_PHASE_RUNNING);
	ck_assert_uint_eq(pi.log_count, 1);
	ck_assert_str_eq(pi.logs[0].name, "Kubernetes Logs (User)");
	ck_assert_str_eq(pi.logs[0].uri,
	                 "http://localhost:30082/#!/log/ns/f8a4b2c1d0-n0-0/pod?namespace=ns");
	ck_assert_int_eq(pi.logs[0].format, FPD_LOG_FORMAT_JSON);
	fpd_phase_info_clear(&pi);

	json_object_set_new(json_object_get(pod, "status"), "phase", json_string("Pending"));
	json_t *conds =
	    json_loads("[{\"type\": \"Ready\", \"status\": \"False\", \"reason\": \"R\","
	               " \"lastTransitionTime\": \"2026-03-01T11:00:00Z\"}]",
	               0, NULL);
	json_object_set_new(json_object_get(pod, "status"), "conditions", conds);
	json_object_set_new(
	    json_array_get(json_object_get(json_object_get(pod, "status"), "containerStatuses"), 0),
	    "state", json_pack("{s:{s:s}}", "waiting", "reason", "ErrImageNeverPull"));
	fpd_plugin_pod.status(&ctx, &pi);
	ck_assert_int_eq(pi.phase, FPD_PHASE_RETRYABLE_FAILED);
	ck_assert_int_eq(pi.kind, FPD_KIND_SYSTEM);
	ck_assert_str_eq(pi.code, "R|ErrImageNeverPull");
	ck_assert(pi.cleanup);
	ck_assert_uint_eq(pi.log_count, 0);
	fpd_phase_info_clear(&pi);
	json_decref(pod);
	fpd_test_config_free(&cfg);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("plugins/pod/status");
	TCase *tc = tcase_create("status");
	tcase_add_test(tc, status_fixtures);
	tcase_add_test(tc, plugin_status_hook_adds_logs);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
