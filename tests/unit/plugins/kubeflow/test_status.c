/*
 * Job status: every tests/fixtures/kubeflow/status/<case>.json is a job as the engine keeps it
 * (trimmed to metadata, status and the plugin's keep paths), its pods, the time and optional
 * settings, and the exact phase, code, message, kind, re-check time and log links the plugin
 * must report. Together the fixtures cover every row of the table in plugins/kubeflow/status.c.
 */
#include <flyteplugd/object.h>
#include <flyteplugd/phase.h>

#include "fpd_test.h"
#include "kf_fixture.h"
#include "kubeflow/kubeflow.h"

enum { FIXTURES = 23 };

static const struct fpd_task_ref ref = {.project = "flytesnacks",
                                        .domain = "development",
                                        .execution = "f8a4b2c1d0",
                                        .node_id = "n0",
                                        .task_project = "flytesnacks",
                                        .task_domain = "development",
                                        .task_name = "wf.train",
                                        .task_version = "v1",
                                        .task_type = "pytorch",
                                        .generated_name = "f8a4b2c1d0-n0-0",
                                        .namespace_ = "ns",
                                        .link_types = ""};

static json_t *links(const struct fpd_phase_info *pi)
{
	json_t *a = json_array();
	for (size_t i = 0; i < pi->log_count; i++)
		json_array_append_new(a, json_pack("[s,s]", pi->logs[i].name, pi->logs[i].uri));
	return a;
}

static void run_fixture(const char *name, void *ud)
{
	char rel[256];
	snprintf(rel, sizeof(rel), "kubeflow/status/%s", name);
	json_t *fx = fpd_test_json_fixture(rel);
	const struct fpd_plugin *p =
	    fpd_test_kf_plugin(json_string_value(json_object_get(fx, "plugin")));
	struct fpd_config cfg;
	fpd_test_config_load(&cfg, json_object_get(fx, "config"));
	struct fpd_kf_settings ks;
	fpd_kf_settings_defaults(&ks);
	const json_t *timeout = json_object_get(fx, "timeout_ms");
	if (timeout)
		ks.timeout_ms = json_integer_value(timeout);
	const json_t *pods = json_object_get(fx, "pods");
	size_t n = json_array_size(pods);
	const json_t *podv[8];
	ck_assert_uint_le(n, 8);
	for (size_t i = 0; i < n; i++)
		podv[i] = json_array_get(pods, i);
	int64_t now = fpd_time_parse(json_string_value(json_object_get(fx, "now")));
	ck_assert_msg(now > 0, "%s: bad now", name);
	struct fpd_status_ctx ctx = {.ref = &ref,
	                             .object = json_object_get(fx, "object"),
	                             .pods = podv,
	                             .pod_count = n,
	                             .settings = &cfg.settings,
	                             .plugin_settings = timeout ? &ks : NULL,
	                             .now_ms = now};
	struct fpd_phase_info pi = {0};
	p->status(&ctx, &pi);

	const json_t *e = json_object_get(fx, "expect");
	fpd_test_assert_outcome(e, &pi, name);
	json_t *got = links(&pi);
	fpd_test_assert_json_eq(json_object_get(e, "logs"), got, name);
	json_decref(got);
	/* The operator's status goes to the event's custom_info as it is. */
	const json_t *status = json_object_get(ctx.object, "status");
	if (status)
		fpd_test_assert_json_eq(status, pi.custom_info, name);
	else
		ck_assert_ptr_null(pi.custom_info);
	fpd_phase_info_clear(&pi);
	fpd_test_config_free(&cfg);
	json_decref(fx);
}

START_TEST(status_fixtures)
{
	ck_assert_uint_eq(fpd_fixture_each("kubeflow/status", ".json", NULL, run_fixture, NULL),
	                  FIXTURES);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("plugins/kubeflow/status");
	TCase *tc = tcase_create("status");
	tcase_add_test(tc, status_fixtures);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
