/*
 * TrainJob building and status. Every tests/fixtures/trainer/build/<case>.json is a task
 * serialized by flytekitplugins-kfpytorch (optional "settings", a `plugins.settings.trainer`
 * section) and either the exact object the plugin must build ("expect") or the exact refusal
 * ("error"). tests/fixtures/trainer/status/cases.json lists observed TrainJobs with the phase,
 * code, message, kind and recheck time they must give.
 */
#include <flyteplugd/error.h>
#include <flyteplugd/object.h>
#include <flyteplugd/structpb.h>

#include "flyteidl/plugins/kubeflow/pytorch.pb-c.h"
#include "flyteidl/plugins/pytorch.pb-c.h"
#include "fpd_test.h"
#include "task_fixture.h"
#include "trainer/trainer.h"

static void run_build_fixture(const char *name, void *ud)
{
	size_t *ran = ud;
	char rel[256];
	snprintf(rel, sizeof(rel), "trainer/build/%s", name);
	json_t *fx = fpd_test_json_fixture(rel);
	struct fpd_test_task t;
	fpd_test_task_load(&t, json_object_get(fx, "task"));
	ProtobufCMessage *custom = NULL;
	if (json_object_size(t.task.custom_json)) {
		struct fpd_error err = {0};
		const ProtobufCMessageDescriptor *d =
		    t.task.tmpl->task_type_version == 0
		        ? &flyteidl__plugins__distributed_py_torch_training_task__descriptor
		        : &flyteidl__plugins__kubeflow__distributed_py_torch_training_task__descriptor;
		ck_assert_msg(fpd_json_to_message(t.task.custom_json, d, &custom, &err) == 0,
		              "%s: custom: %s", name, err.text);
		t.task.custom = custom;
	}
	json_t *task = json_object_get(fx, "task");
	t.task.labels = json_object_get(task, "labels");
	t.task.annotations = json_object_get(task, "annotations");
	void *settings =
	    fpd_test_plugin_settings(&fpd_plugin_trainer, json_object_get(fx, "settings"));
	t.task.plugin_settings = settings;
	struct fpd_error err = {0};
	json_t *out = NULL;
	int rc = fpd_plugin_trainer.build(&t.task, &out, &err);
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
	fpd_test_plugin_settings_free(&fpd_plugin_trainer, settings);
	if (custom)
		protobuf_c_message_free_unpacked(custom, NULL);
	fpd_test_task_free(&t);
	json_decref(fx);
	(*ran)++;
}

START_TEST(builds_and_refuses_as_the_fixtures_say)
{
	size_t ran = 0;
	fpd_fixture_each("trainer/build", ".json", NULL, run_build_fixture, &ran);
	ck_assert_uint_eq(ran, 7);
}
END_TEST

START_TEST(maps_status_as_the_fixtures_say)
{
	json_t *root = fpd_test_json_fixture("trainer/status/cases.json");
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(root, "cases"), i, c)
	{
		char what[256];
		snprintf(what, sizeof(what), "case %zu %s", i, fpd_json_str_or(c, "about", ""));
		struct fpd_test_task t;
		json_t *task = json_pack("{s:{s:s}}", "template", "type", "pytorch");
		fpd_test_task_load(&t, task);
		struct fpd_status_ctx ctx = {
		    .ref = &t.task.ref,
		    .object = json_object_get(c, "object"),
		    .settings = t.task.settings,
		    .now_ms = fpd_time_parse(json_string_value(json_object_get(c, "now"))),
		};
		struct fpd_phase_info pi = {0};
		fpd_plugin_trainer.status(&ctx, &pi);
		const json_t *e = json_object_get(c, "expect");
		fpd_test_assert_outcome(e, &pi, what);
		const json_t *info = json_object_get(e, "custom_info");
		if (info)
			fpd_test_assert_json_eq(info, pi.custom_info, what);
		fpd_phase_info_clear(&pi);
		fpd_test_task_free(&t);
		json_decref(task);
	}
	ck_assert_uint_eq(i, 8);
	json_decref(root);
}
END_TEST

START_TEST(descriptor_serves_pytorch_as_trainjobs)
{
	const struct fpd_plugin *p = &fpd_plugin_trainer;
	ck_assert_str_eq(p->kind->api_version, "trainer.kubeflow.org/v1alpha1");
	ck_assert_str_eq(p->kind->kind, "TrainJob");
	ck_assert_str_eq(p->kind->plural, "trainjobs");
	ck_assert_uint_eq(p->task_type_count, 2);
	ck_assert_str_eq(p->task_types[0].name, "pytorch");
	ck_assert_str_eq(p->task_types[1].name, "pytorch");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("plugins/trainer");
	TCase *tc = tcase_create("trainer");
	tcase_add_test(tc, builds_and_refuses_as_the_fixtures_say);
	tcase_add_test(tc, maps_status_as_the_fixtures_say);
	tcase_add_test(tc, descriptor_serves_pytorch_as_trainjobs);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
