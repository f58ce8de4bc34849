/*
 * DaskJob building: every tests/fixtures/dask/build/<case>.json is a task and the exact DaskJob
 * Flyte's dask.go (master) builds for it, less spec.cluster.metadata, which the operator's CRD
 * prunes (docs/parity/dask.md); errors.json lists tasks that must be refused with an exact
 * message.
 */
#include <flyteplugd/error.h>
#include "flyteidl/plugins/dask.pb-c.h"
#include "fpd_test.h"
#include "dask_fixture.h"

static void run_ok_fixture(const char *name, void *ud)
{
	char rel[256];
	snprintf(rel, sizeof(rel), "dask/build/%s", name);
	json_t *fx = fpd_test_json_fixture(rel);
	struct fpd_test_dask r;
	fpd_test_dask_load(&r, json_object_get(fx, "task"));
	struct fpd_error err = {0};
	json_t *out = NULL;
	int rc = fpd_plugin_dask.build(&r.t.task, &out, &err);
	ck_assert_msg(rc == 0, "%s: build failed (%d): %s", name, rc, err.text);
	fpd_test_assert_json_eq(json_object_get(fx, "expect"), out, name);
	json_decref(out);
	fpd_test_dask_free(&r);
	json_decref(fx);
}

START_TEST(builds_fixture_dask_jobs)
{
	ck_assert_uint_eq(
	    fpd_fixture_each("dask/build", ".json", "errors.json", run_ok_fixture, NULL), 4);
}
END_TEST

START_TEST(refuses_bad_tasks_with_exact_messages)
{
	json_t *root = fpd_test_json_fixture("dask/build/errors.json");
	size_t i, ran = 0;
	json_t *c;
	json_array_foreach(json_object_get(root, "cases"), i, c)
	{
		struct fpd_test_dask r;
		fpd_test_dask_load(&r, json_object_get(c, "task"));
		struct fpd_error err = {0};
		json_t *out = NULL;
		int rc = fpd_plugin_dask.build(&r.t.task, &out, &err);
		const char *want = json_string_value(json_object_get(c, "error"));
		ck_assert_msg(rc == FPD_EINVAL, "case %zu: expected EINVAL [%s], got %d", i, want,
		              rc);
		ck_assert_msg(!strcmp(err.text, want), "case %zu: expected [%s], got [%s]", i, want,
		              err.text);
		ck_assert_ptr_null(out);
		fpd_test_dask_free(&r);
		ran++;
	}
	ck_assert_uint_eq(ran, 2);
	json_decref(root);
}
END_TEST

START_TEST(descriptor_declares_dask_jobs)
{
	const struct fpd_plugin *p = &fpd_plugin_dask;
	ck_assert_str_eq(p->name, "dask");
	ck_assert_uint_eq(p->task_type_count, 1);
	ck_assert_str_eq(p->task_types[0].name, "dask");
	ck_assert_int_eq(p->task_types[0].version, 0);
	ck_assert_ptr_eq(p->task_types[0].custom, &flyteidl__plugins__dask_job__descriptor);
	ck_assert_str_eq(p->kind->api_version, "kubernetes.dask.org/v1");
	ck_assert_str_eq(p->kind->kind, "DaskJob");
	ck_assert_str_eq(p->kind->plural, "daskjobs");
	ck_assert_str_eq(p->pod_owner_label, "dask.org/cluster-name");
	ck_assert_ptr_null(p->keep); /* status() reads only metadata and status */
	ck_assert_ptr_nonnull(p->status);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("plugins/dask/build");
	TCase *tc = tcase_create("build");
	tcase_add_test(tc, builds_fixture_dask_jobs);
	tcase_add_test(tc, refuses_bad_tasks_with_exact_messages);
	tcase_add_test(tc, descriptor_declares_dask_jobs);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
