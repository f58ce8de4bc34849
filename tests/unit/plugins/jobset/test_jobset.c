/*
 * JobSet building and status. Every tests/fixtures/jobset/build/<case>.json is a
 * `clustered-task` task (custom: a ClusteredTaskSpec in proto3 JSON) and either the exact
 * object the plugin must build ("expect") or the exact refusal ("error").
 * tests/fixtures/jobset/status/cases.json lists observed JobSets and their pods with the
 * phase, code, message, kind and log links they must give.
 */
#include <flyteplugd/error.h>
#include <flyteplugd/object.h>
#include <flyteplugd/structpb.h>

#include "flyteidl2/plugins/clustered.pb-c.h"
#include "fpd_test.h"
#include "jobset/jobset.h"
#include "task_fixture.h"

static void run_build_fixture(const char *name, void *ud)
{
	size_t *ran = ud;
	char rel[256];
	snprintf(rel, sizeof(rel), "jobset/build/%s", name);
	json_t *fx = fpd_test_json_fixture(rel);
	struct fpd_test_task t;
	json_t *task = json_object_get(fx, "task");
	fpd_test_task_load(&t, task);
	ProtobufCMessage *custom = NULL;
	if (json_object_size(t.task.custom_json)) {
		struct fpd_error err = {0};
		ck_assert_msg(
		    fpd_json_to_message(t.task.custom_json,
		                        &flyteidl2__plugins__clustered_task_spec__descriptor,
		                        &custom, &err) == 0,
		    "%s: custom: %s", name, err.text);
		t.task.custom = custom;
	}
	t.task.labels = json_object_get(task, "labels");
	t.task.annotations = json_object_get(task, "annotations");
	struct fpd_error err = {0};
	json_t *out = NULL;
	int rc = fpd_plugin_jobset.build(&t.task, &out, &err);
	const char *want_err = json_string_value(json_object_get(fx, "error"));
	if (want_err) {
		ck_assert_msg(rc == FPD_EINVAL && !strcmp(err.text, want_err),
		              "%s: expected refusal [%s], got %d [%s]", name, want_err, rc,
		              err.text);
		ck_assert_ptr_null(out);
	} else {
		ck_assert_msg(rc == 0, "%s: build failed (%d): %s", name, rc, err.text);
		fpd_test_assert_json_eq(json_object_get(fx, "expect"), out, name);
	}
	json_decref(out);
	if (custom)
		protobuf_c_message_free_unpacked(custom, NULL);
	fpd_test_task_free(&t);
	json_decref(fx);
	(*ran)++;
}

START_TEST(builds_and_refuses_as_the_fixtures_say)
{
	size_t ran = 0;
	fpd_fixture_each("jobset/build", ".json", NULL, run_build_fixture, &ran);
	ck_assert_uint_eq(ran, 9);
}
END_TEST

START_TEST(maps_status_as_the_fixtures_say)
{
	json_t *root = fpd_test_json_fixture("jobset/status/cases.json");
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(root, "cases"), i, c)
	{
		char what[256];
		snprintf(what, sizeof(what), "case %zu %s", i, fpd_json_str_or(c, "about", ""));
		struct fpd_test_task t;
		json_t *task = json_pack("{s:{s:s}}", "template", "type", "clustered-task");
		fpd_test_task_load(&t, task);
		json_t *pods = json_object_get(c, "pods");
		const json_t *pv[16];
		size_t n = json_array_size(pods);
		ck_assert_uint_le(n, 16);
		for (size_t k = 0; k < n; k++)
			pv[k] = json_array_get(pods, k);
		struct fpd_status_ctx ctx = {
		    .ref = &t.task.ref,
		    .object = json_object_get(c, "object"),
		    .pods = pv,
		    .pod_count = n,
		    .settings = t.task.settings,
		    .now_ms = fpd_time_parse(json_string_value(json_object_get(c, "now"))),
		};
		struct fpd_phase_info pi = {0};
		fpd_plugin_jobset.status(&ctx, &pi);
		const json_t *e = json_object_get(c, "expect");
		fpd_test_assert_outcome(e, &pi, what);
		if (json_object_get(e, "logs"))
			fpd_test_assert_links(json_object_get(e, "logs"), &pi, what);
		fpd_phase_info_clear(&pi);
		fpd_test_task_free(&t);
		json_decref(task);
	}
	ck_assert_uint_eq(i, 12);
	json_decref(root);
}
END_TEST

START_TEST(descriptor_serves_clustered_task_as_jobsets)
{
	const struct fpd_plugin *p = &fpd_plugin_jobset;
	ck_assert_str_eq(p->kind->api_version, "jobset.x-k8s.io/v1alpha2");
	ck_assert_str_eq(p->kind->kind, "JobSet");
	ck_assert_str_eq(p->kind->plural, "jobsets");
	/* Version 0 (flytekit's default) and 1 (the Flyte 2 SDK's), the same spec. */
	ck_assert_uint_eq(p->task_type_count, 2);
	for (int i = 0; i < 2; i++) {
		ck_assert_str_eq(p->task_types[i].name, "clustered-task");
		ck_assert_int_eq(p->task_types[i].version, i);
		ck_assert_ptr_eq(p->task_types[i].custom,
		                 &flyteidl2__plugins__clustered_task_spec__descriptor);
	}
	ck_assert_uint_eq(p->name_max_len, 41);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("plugins/jobset");
	TCase *tc = tcase_create("jobset");
	tcase_add_test(tc, builds_and_refuses_as_the_fixtures_say);
	tcase_add_test(tc, maps_status_as_the_fixtures_say);
	tcase_add_test(tc, descriptor_serves_clustered_task_as_jobsets);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
