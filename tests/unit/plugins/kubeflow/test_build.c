/*
 * Building PyTorchJobs, TFJobs and MPIJobs: every tests/fixtures/kubeflow/build/<case>.json
 * names a plugin, a task (old v0 or new v1 custom, as flytekit writes it) and the exact object
 * the plugin must build; errors.json lists tasks that must be refused with an exact message.
 */
#include <flyteplugd/error.h>
#include "fpd_test.h"
#include "kf_fixture.h"
#include "kubeflow/kubeflow.h"

enum { FIXTURES = 10, ERROR_CASES = 6 };

static void run_ok_fixture(const char *name, void *ud)
{
	char rel[256];
	snprintf(rel, sizeof(rel), "kubeflow/build/%s", name);
	json_t *fx = fpd_test_json_fixture(rel);
	const struct fpd_plugin *p =
	    fpd_test_kf_plugin(json_string_value(json_object_get(fx, "plugin")));
	struct fpd_test_task t;
	fpd_test_kf_task_load(&t, p, json_object_get(fx, "task"));
	struct fpd_error err = {0};
	json_t *out = NULL, *again = NULL;
	int rc = p->build(&t.task, &out, &err);
	ck_assert_msg(rc == 0, "%s: build failed (%d): %s", name, rc, err.text);
	fpd_test_assert_json_eq(json_object_get(fx, "expect"), out, name);
	/* CreateTask may be delivered twice: the same task builds the same object. */
	ck_assert_int_eq(p->build(&t.task, &again, &err), 0);
	fpd_test_assert_json_eq(out, again, name);
	json_decref(again);
	json_decref(out);
	fpd_test_kf_task_free(&t);
	json_decref(fx);
}

START_TEST(builds_fixture_jobs)
{
	ck_assert_uint_eq(
	    fpd_fixture_each("kubeflow/build", ".json", "errors.json", run_ok_fixture, NULL),
	    FIXTURES);
}
END_TEST

START_TEST(refuses_bad_tasks_with_exact_messages)
{
	json_t *root = fpd_test_json_fixture("kubeflow/build/errors.json");
	size_t i, ran = 0;
	json_t *c;
	json_array_foreach(json_object_get(root, "cases"), i, c)
	{
		const struct fpd_plugin *p =
		    fpd_test_kf_plugin(json_string_value(json_object_get(c, "plugin")));
		struct fpd_test_task t;
		fpd_test_kf_task_load(&t, p, json_object_get(c, "task"));
		struct fpd_error err = {0};
		json_t *out = json_null();
		int rc = p->build(&t.task, &out, &err);
		const char *want = json_string_value(json_object_get(c, "error"));
		ck_assert_msg(rc == FPD_EINVAL, "case %zu: expected EINVAL [%s], got %d", i, want,
		              rc);
		ck_assert_msg(!strcmp(err.text, want), "case %zu: expected [%s], got [%s]", i, want,
		              err.text);
		ck_assert_ptr_null(out);
		fpd_test_kf_task_free(&t);
		ran++;
	}
	ck_assert_uint_eq(ran, ERROR_CASES);
	json_decref(root);
}
END_TEST

START_TEST(descriptors_declare_training_jobs)
{
	const struct fpd_plugin *ps[] = {&fpd_plugin_pytorch, &fpd_plugin_tensorflow,
	                                 &fpd_plugin_mpi};
	const char *kinds[] = {"PyTorchJob", "TFJob", "MPIJob"};
	const char *plurals[] = {"pytorchjobs", "tfjobs", "mpijobs"};
	for (int i = 0; i < 3; i++) {
		ck_assert_str_eq(ps[i]->kind->api_version, "kubeflow.org/v1");
		ck_assert_str_eq(ps[i]->kind->kind, kinds[i]);
		ck_assert_str_eq(ps[i]->kind->plural, plurals[i]);
		ck_assert_str_eq(ps[i]->pod_owner_label, "training.kubeflow.org/job-name");
		ck_assert_uint_eq(ps[i]->task_type_count, 2);
		ck_assert_int_eq(ps[i]->task_types[0].version, 0);
		ck_assert_int_eq(ps[i]->task_types[1].version, 1);
		ck_assert_str_eq(ps[i]->task_types[0].name, ps[i]->name);
		ck_assert_ptr_nonnull(ps[i]->task_types[1].custom);
		ck_assert_str_eq(ps[i]->keep[1], "spec.runPolicy.backoffLimit");
		struct fpd_kf_settings s;
		ck_assert_uint_eq(ps[i]->settings_size, sizeof(s));
		ps[i]->settings_defaults(&s);
		ck_assert_int_eq(s.timeout_ms, 60000);
		ck_assert(!s.enable_distributed_error_aggregation);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("plugins/kubeflow/build");
	TCase *tc = tcase_create("build");
	tcase_add_test(tc, builds_fixture_jobs);
	tcase_add_test(tc, refuses_bad_tasks_with_exact_messages);
	tcase_add_test(tc, descriptors_declare_training_jobs);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
