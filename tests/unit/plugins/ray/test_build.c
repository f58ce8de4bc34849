/*
 * RayJob building: every tests/fixtures/ray/build/<case>.json is a task (with "ray" settings
 * when it needs them) and the exact RayJob Flyte's ray.go would build for it; errors.json lists
 * tasks that must be refused with an exact message.
 */
#include <flyteplugd/error.h>
#include "flyteidl/plugins/ray.pb-c.h"
#include "fpd_test.h"
#include "ray_fixture.h"

static void run_ok_fixture(const char *name, void *ud)
{
	char rel[256];
	snprintf(rel, sizeof(rel), "ray/build/%s", name);
	json_t *fx = fpd_test_json_fixture(rel);
	struct fpd_test_ray r;
	fpd_test_ray_load(&r, json_object_get(fx, "task"));
	struct fpd_error err = {0};
	json_t *out = NULL;
	int rc = fpd_plugin_ray.build(&r.t.task, &out, &err);
	ck_assert_msg(rc == 0, "%s: build failed (%d): %s", name, rc, err.text);
	fpd_test_assert_json_eq(json_object_get(fx, "expect"), out, name);
	json_decref(out);
	fpd_test_ray_free(&r);
	json_decref(fx);
}

START_TEST(builds_fixture_ray_jobs)
{
	ck_assert_uint_eq(
	    fpd_fixture_each("ray/build", ".json", "errors.json", run_ok_fixture, NULL), 10);
}
END_TEST

START_TEST(refuses_bad_tasks_with_exact_messages)
{
	json_t *root = fpd_test_json_fixture("ray/build/errors.json");
	size_t i, ran = 0;
	json_t *c;
	json_array_foreach(json_object_get(root, "cases"), i, c)
	{
		struct fpd_test_ray r;
		fpd_test_ray_load(&r, json_object_get(c, "task"));
		struct fpd_error err = {0};
		json_t *out = NULL;
		int rc = fpd_plugin_ray.build(&r.t.task, &out, &err);
		const char *want = json_string_value(json_object_get(c, "error"));
		ck_assert_msg(rc == FPD_EINVAL, "case %zu: expected EINVAL [%s], got %d", i, want,
		              rc);
		ck_assert_msg(!strcmp(err.text, want), "case %zu: expected [%s], got [%s]", i, want,
		              err.text);
		ck_assert_ptr_null(out);
		fpd_test_ray_free(&r);
		ran++;
	}
	ck_assert_uint_eq(ran, 6);
	json_decref(root);
}
END_TEST

START_TEST(runtime_env_base64_becomes_yaml_v2)
{
	/* {"pip":["numpy","pandas==2.0"],"env_vars":{"A":"1","B":"yes"},"working_dir":"."} */
	char *y =
	    fpd_ray_runtime_env_yaml("eyJwaXAiOlsibnVtcHkiLCJwYW5kYXM9PTIuMCJdLCJlbnZfdmFycyI6"
	                             "eyJBIjoiMSIsIkIiOiJ5ZXMifSwid29ya2luZ19kaXIiOiIuIn0=");
	ck_assert_ptr_nonnull(y);
	ck_assert_str_eq(y, "env_vars:\n  A: \"1\"\n  B: \"yes\"\npip:\n- numpy\n- pandas==2.0\n"
	                    "working_dir: .\n");
	free(y);
	y = fpd_ray_runtime_env_yaml("e30="); /* {} */
	ck_assert_str_eq(y, "{}\n");
	free(y);
	ck_assert_ptr_null(fpd_ray_runtime_env_yaml("WzFd")); /* [1]: not an object */
	ck_assert_ptr_null(fpd_ray_runtime_env_yaml("e30"));  /* unpadded */
}
END_TEST

START_TEST(descriptor_declares_ray_jobs)
{
	const struct fpd_plugin *p = &fpd_plugin_ray;
	ck_assert_str_eq(p->name, "ray");
	ck_assert_uint_eq(p->task_type_count, 2);
	ck_assert_str_eq(p->task_types[0].name, "ray");
	ck_assert_int_eq(p->task_types[0].version, 0);
	ck_assert_int_eq(p->task_types[1].version, 1);
	ck_assert_ptr_eq(p->task_types[0].custom, &flyteidl__plugins__ray_job__descriptor);
	ck_assert_str_eq(p->kind->api_version, "ray.io/v1");
	ck_assert_str_eq(p->kind->kind, "RayJob");
	ck_assert_str_eq(p->kind->plural, "rayjobs");
	ck_assert_str_eq(p->pod_owner_label, "ray.io/cluster");
	ck_assert_str_eq(p->keep[0], "spec.backoffLimit");
	ck_assert_str_eq(p->keep[1], "spec.suspend");        /* Kueue admission */
	ck_assert_str_eq(p->keep[2], "metadata.generation"); /* Kueue eviction */
	ck_assert_ptr_null(p->keep[3]);
	ck_assert_uint_eq(p->settings_size, sizeof(struct fpd_ray_settings));
	ck_assert_ptr_nonnull(p->status);
	/* Flyte's GeneratedNameMaxLength for RayJobs (ray.go GetProperties). */
	ck_assert_uint_eq(p->name_max_len, 47);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("plugins/ray/build");
	TCase *tc = tcase_create("build");
	tcase_add_test(tc, builds_fixture_ray_jobs);
	tcase_add_test(tc, refuses_bad_tasks_with_exact_messages);
	tcase_add_test(tc, runtime_env_base64_becomes_yaml_v2);
	tcase_add_test(tc, descriptor_declares_ray_jobs);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
