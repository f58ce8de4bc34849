/*
 * Pod building: every tests/fixtures/pod/build/<case>.json is a task and the exact object
 * (plugin build hook) or pod (fpd_pod_build_spec) it must give; errors.json lists tasks that
 * must be refused with an exact message.
 */
#include <flyteplugd/object.h>
#include <flyteplugd/pod.h>

#include <flyteplugd/error.h>
#include "fpd_test.h"
#include "pbjson.h"
#include "pod/pod.h"
#include "task_fixture.h"

#include <math.h>

/* Builds the fixture's task the way "call" says; returns the rc, the result in *out. */
static int build(const json_t *fx, struct fpd_test_task *t, json_t **out, struct fpd_error *err)
{
	const char *call = json_string_value(json_object_get(fx, "call"));
	ck_assert_msg(call, "fixture without call");
	*out = NULL;
	if (!strcmp(call, "plugin"))
		return fpd_plugin_pod.build(&t->task, out, err);
	ck_assert_str_eq(call, "spec");
	struct fpd_pod_options opts = {0};
	const json_t *o = json_object_get(fx, "options");
	Flyteidl__Core__ExtendedResources *er = NULL;
	const char *mode = json_string_value(json_object_get(o, "interruptible"));
	if (mode)
		opts.interruptible = !strcmp(mode, "never")    ? FPD_POD_INTERRUPTIBLE_NEVER
		                     : !strcmp(mode, "always") ? FPD_POD_INTERRUPTIBLE_ALWAYS
		                                               : FPD_POD_INTERRUPTIBLE_AS_TASK;
	opts.resources = json_object_get(o, "resources");
	if (json_object_get(o, "extended_resources")) {
		char why[128];
		er = (void *)fpd_test_pb_from_json(&flyteidl__core__extended_resources__descriptor,
		                                   json_object_get(o, "extended_resources"), why,
		                                   sizeof(why));
		ck_assert_msg(er != NULL, "options: %s", why);
		opts.extended_resources = er;
	}
	struct fpd_pod pod = {0};
	int rc = fpd_pod_build_spec(&t->task, o ? &opts : NULL, &pod, err);
	if (er)
		protobuf_c_message_free_unpacked(&er->base, NULL);
	if (rc) {
		ck_assert_ptr_null(pod.spec);
		return rc;
	}
	*out = json_pack("{s:O,s:s,s:O,s:O}", "spec", pod.spec, "primary", pod.primary, "labels",
	                 pod.labels, "annotations", pod.annotations);
	fpd_pod_clear(&pod);
	return rc;
}

static void run_ok_fixture(const char *name, void *ud)
{
	char rel[256];
	snprintf(rel, sizeof(rel), "pod/build/%s", name);
	json_t *fx = fpd_test_json_fixture(rel);
	struct fpd_test_task t;
	fpd_test_task_load(&t, json_object_get(fx, "task"));
	struct fpd_error err = {0};
	json_t *out;
	int rc = build(fx, &t, &out, &err);
	ck_assert_msg(rc == 0, "%s: build failed (%d): %s", name, rc, err.text);
	fpd_test_assert_json_eq(json_object_get(fx, "expect"), out, name);
	/* Same task, same object: CreateTask may be delivered more than once. */
	json_t *again;
	ck_assert_int_eq(build(fx, &t, &again, &err), 0);
	fpd_test_assert_json_eq(out, again, name);
	json_decref(again);
	json_decref(out);
	fpd_test_task_free(&t);
	json_decref(fx);
}

START_TEST(builds_fixture_pods)
{
	ck_assert_uint_eq(
	    fpd_fixture_each("pod/build", ".json", "errors.json", run_ok_fixture, NULL), 13);
}
END_TEST

START_TEST(refuses_bad_tasks_with_exact_messages)
{
	json_t *root = fpd_test_json_fixture("pod/build/errors.json");
	size_t i, ran = 0;
	json_t *c;
	json_array_foreach(json_object_get(root, "cases"), i, c)
	{
		struct fpd_test_task t;
		fpd_test_task_load(&t, json_object_get(c, "task"));
		struct fpd_error err = {0};
		json_t *out;
		int rc = build(c, &t, &out, &err);
		const char *want = json_string_value(json_object_get(c, "error"));
		ck_assert_msg(rc == FPD_EINVAL, "case %zu: expected EINVAL [%s], got %d", i, want,
		              rc);
		ck_assert_msg(!strcmp(err.text, want), "case %zu: expected [%s], got [%s]", i, want,
		              err.text);
		ck_assert_ptr_null(out);
		fpd_test_task_free(&t);
		ran++;
	}
	ck_assert_uint_eq(ran, 22);
	json_decref(root);
}
END_TEST

/* The Value under key in s, failing the test when absent. */
static Google__Protobuf__Value *field(const Google__Protobuf__Struct *s, const char *key)
{
	for (size_t i = 0; i < s->n_fields; i++)
		if (!strcmp(s->fields[i]->key, key))
			return s->fields[i]->value;
	ck_abort_msg("no key %s in the Struct", key);
	return NULL;
}

/* The pod spec Struct goes through the shared converter (flyteplugd/structpb.h): integral
 * numbers stay integers, and what it refuses is reported with the path of the value. */
START_TEST(pod_spec_struct_numbers_and_refusals)
{
	json_t *fx = json_loads(
	    "{\"template\": {\"type\": \"sidecar\", \"task_type_version\": 2,"
	    " \"config\": {\"primary_container_name\": \"c\"}, \"k8s_pod\": {\"pod_spec\":"
	    " {\"containers\": [{\"name\": \"c\", \"ports\": [{\"containerPort\": 8080}]}]}}}}",
	    0, NULL);
	struct fpd_test_task t;
	fpd_test_task_load(&t, fx);
	struct fpd_error err = {0};
	json_t *out = NULL;
	ck_assert_msg(fpd_plugin_pod.build(&t.task, &out, &err) == 0, "build: %s", err.text);
	const json_t *c0 = json_array_get(fpd_json_get(out, "spec.containers"), 0);
	const json_t *port =
	    json_object_get(json_array_get(json_object_get(c0, "ports"), 0), "containerPort");
	ck_assert_msg(json_is_integer(port) && json_integer_value(port) == 8080,
	              "expected containerPort 8080 as an integer");
	json_decref(out);

	/* JSON cannot carry a NaN; a protobuf client can. */
	Google__Protobuf__Value *c =
	    field(t.tmpl->k8s_pod->pod_spec, "containers")->list_value->values[0];
	Google__Protobuf__Value *p = field(c->struct_value, "ports")->list_value->values[0];
	field(p->struct_value, "containerPort")->number_value = NAN;
	out = NULL;
	ck_assert_int_eq(fpd_plugin_pod.build(&t.task, &out, &err), FPD_EINVAL);
	ck_assert_ptr_null(out);
	ck_assert_str_eq(err.text, "Unable to unmarshal task k8s pod: invalid pod spec: "
	                           "containers[0].ports[0].containerPort: number_value is NaN, "
	                           "which JSON cannot hold");
	fpd_test_task_free(&t);
	json_decref(fx);
}
END_TEST

START_TEST(container_name_falls_back_deterministically)
{
	json_t *fx =
	    json_pack("{s:{s:s,s:{s:s}},s:{s:s}}", "template", "type", "python-task", "container",
	              "image", "x", "ref", "generated_name", "Upper_Case.Not-A-Label");
	struct fpd_test_task t;
	fpd_test_task_load(&t, fx);
	struct fpd_error err;
	json_t *a, *b;
	ck_assert_int_eq(fpd_plugin_pod.build(&t.task, &a, &err), 0);
	ck_assert_int_eq(fpd_plugin_pod.build(&t.task, &b, &err), 0);
	const char *name = json_string_value(json_object_get(
	    json_array_get(json_object_get(json_object_get(a, "spec"), "containers"), 0), "name"));
	ck_assert_uint_eq(strlen(name), 4);
	ck_assert_uint_eq(strspn(name, "bcdfghjklmnpqrstvwxz2456789"), 4);
	ck_assert_str_eq(json_string_value(json_object_get(
	                     json_object_get(json_object_get(a, "metadata"), "annotations"),
	                     FPD_POD_PRIMARY_ANNOTATION)),
	                 name);
	fpd_test_assert_json_eq(a, b, "two builds");
	json_decref(a);
	json_decref(b);
	fpd_test_task_free(&t);
	json_decref(fx);
}
END_TEST

START_TEST(extended_resource_tolerations_are_not_repeated)
{
	struct fpd_config cfg;
	json_t *conf = json_pack("{s:{s:[s,s]}}", "k8s", "add-tolerations-for-extended-resources",
	                         "b.io/x", "a.io/y");
	fpd_test_config_load(&cfg, conf);
	json_t *spec = json_loads(
	    "{\"containers\": [{\"name\": \"c\", \"resources\": {\"requests\": {\"b.io/x\": "
	    "\"1\"}}}],"
	    " \"initContainers\": [{\"name\": \"i\", \"resources\": {\"requests\": {\"a.io/y\": 1},"
	    " \"limits\": {\"z.io/z\": 1}}}],"
	    " \"tolerations\": [{\"key\": \"b.io/x\", \"operator\": \"Exists\", \"effect\": "
	    "\"NoSchedule\"}]}",
	    0, NULL);
	fpd_pod_add_extended_resource_tolerations(spec, &cfg.settings.k8s);
	json_t *want = json_loads("[{\"key\": \"b.io/x\", \"operator\": \"Exists\", \"effect\": "
	                          "\"NoSchedule\"}, {\"key\": \"a.io/y\", \"operator\": \"Exists\","
	                          " \"effect\": \"NoSchedule\"}]",
	                          0, NULL);
	fpd_test_assert_json_eq(want, json_object_get(spec, "tolerations"), "tolerations");
	json_decref(want);
	json_decref(spec);
	json_decref(conf);
	fpd_test_config_free(&cfg);
}
END_TEST

START_TEST(descriptor_declares_pods)
{
	const struct fpd_plugin *p = &fpd_plugin_pod;
	ck_assert_str_eq(p->kind->api_version, "v1");
	ck_assert_str_eq(p->kind->kind, "Pod");
	ck_assert_str_eq(p->kind->plural, "pods");
	ck_assert_ptr_null(p->pod_owner_label);
	ck_assert_str_eq(p->keep[0], "spec.containers[].name");
	ck_assert_ptr_nonnull(p->build);
	ck_assert_ptr_nonnull(p->status);
	ck_assert_uint_eq(p->task_type_count, 8);
}
END_TEST

/* Flyte's container plugin takes python-task whatever its version; flytekitplugins-kfpytorch's
 * single-node Elastic task is version 1 and must resolve to the pod plugin. */
START_TEST(serves_python_task_version_1)
{
	const struct fpd_plugin *p = &fpd_plugin_pod;
	bool v0 = false, v1 = false;
	for (size_t i = 0; i < p->task_type_count; i++)
		if (!strcmp(p->task_types[i].name, "python-task")) {
			v0 |= p->task_types[i].version == 0;
			v1 |= p->task_types[i].version == 1;
		}
	ck_assert_msg(v0 && v1, "expected python-task versions 0 and 1, saw v0=%d v1=%d", v0, v1);
}
END_TEST

int main(void)
{
	setenv("FPD_POD_TEST_ENV", "from-the-daemon", 1);
	Suite *s = suite_create("plugins/pod/build");
	TCase *tc = tcase_create("build");
	tcase_add_test(tc, builds_fixture_pods);
	tcase_add_test(tc, refuses_bad_tasks_with_exact_messages);
	tcase_add_test(tc, pod_spec_struct_numbers_and_refusals);
	tcase_add_test(tc, container_name_falls_back_deterministically);
	tcase_add_test(tc, extended_resource_tolerations_are_not_repeated);
	tcase_add_test(tc, descriptor_declares_pods);
	tcase_add_test(tc, serves_python_task_version_1);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
