/*
 * fpd_pod_omit_empty against tests/fixtures/pod/omitempty/cases.json: each case is a JSON
 * value and what it must become.
 */
#include <flyteplugd/object.h>
#include <flyteplugd/pod.h>

#include <flyteplugd/error.h>
#include "fpd_test.h"
#include "pod/pod.h"
#include "task_fixture.h"

START_TEST(omits_what_go_omits)
{
	json_t *root = fpd_test_json_fixture("pod/omitempty/cases.json");
	size_t i, ran = 0;
	json_t *c;
	json_array_foreach(json_object_get(root, "cases"), i, c)
	{
		const char *about = json_string_value(json_object_get(c, "about"));
		json_t *v = json_deep_copy(json_object_get(c, "in"));
		ck_assert_msg(v && json_object_get(c, "expect"), "case %zu: needs in and expect",
		              i);
		fpd_pod_omit_empty(v);
		fpd_test_assert_json_eq(json_object_get(c, "expect"), v, about);
		json_decref(v);
		ran++;
	}
	ck_assert_uint_eq(ran, 8);
	json_decref(root);
}
END_TEST

/* The pass runs last in the Pod plugin's build: a flytekit pod spec's empty lists never
 * reach the API server. */
START_TEST(plugin_build_omits_empty_lists)
{
	json_t *fx = json_loads(
	    "{\"template\": {\"type\": \"sidecar\", \"task_type_version\": 1,"
	    " \"config\": {\"primary_container_name\": \"c\"},"
	    " \"custom\": {\"containers\": [{\"name\": \"c\", \"command\": [], \"args\": []}],"
	    "  \"volumes\": [], \"nodeSelector\": {}}}}",
	    0, NULL);
	struct fpd_test_task t;
	fpd_test_task_load(&t, fx);
	struct fpd_error err;
	json_t *pod;
	ck_assert_int_eq(fpd_plugin_pod.build(&t.task, &pod, &err), 0);
	json_t *c = json_array_get(fpd_json_get(pod, "spec.containers"), 0);
	ck_assert_ptr_nonnull(c);
	ck_assert_msg(!json_object_get(c, "command") && !json_object_get(c, "args"),
	              "expected no command or args on the container");
	ck_assert_msg(!fpd_json_get(pod, "spec.volumes"), "expected no spec.volumes");
	ck_assert_msg(!fpd_json_get(pod, "metadata.labels"), "expected no metadata.labels");
	ck_assert_ptr_nonnull(fpd_json_get(pod, "spec.affinity"));
	json_decref(pod);
	fpd_test_task_free(&t);
	json_decref(fx);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("plugins/pod/omitempty");
	TCase *tc = tcase_create("omitempty");
	tcase_add_test(tc, omits_what_go_omits);
	tcase_add_test(tc, plugin_build_omits_empty_lists);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
