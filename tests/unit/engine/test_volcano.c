/* Volcano gang scheduling in the engine (volcano.c): the pod templates pointed at Volcano at a
 * plugin's pod spec paths, the PodGroup made for the object, and the group's phase read back. */
#include "fpd_test.h"

#include "engine/decorate.h"
#include "engine/volcano.h"

#include <flyteplugd/object.h>
#include <flyteplugd/queue.h>
#include <string.h>


static void expect_marked(const json_t *template, const char *where)
{
	ck_assert_msg(!strcmp(fpd_json_str_or(template, "spec.schedulerName", ""), "volcano"),
	              "%s: no schedulerName volcano", where);
	const char *g = json_string_value(json_object_get(
	    fpd_json_get(template, "metadata.annotations"), FPD_VOLCANO_GROUP_ANNOTATION));
	ck_assert_msg(g && !strcmp(g, "job-n0-0"), "%s: group annotation %s", where,
	              g ? g : "(none)");
}

START_TEST(pytorch_group)
{
	struct fpd_settings settings = {0};
	settings.queueing.volcano.enabled = true;
	settings.queueing.volcano.queue = "research";
	json_t *o = fpd_test_json(
	    "{\"apiVersion\": \"kubeflow.org/v1\", \"kind\": \"PyTorchJob\", \"metadata\": "
	    "{\"name\": "
	    "\"job-n0-0\", \"namespace\": \"ns\", \"labels\": {\"app.kubernetes.io/managed-by\": "
	    "\"flyteplugd\"}, \"annotations\": {\"" FPD_ANNOTATION_IDENTITY "\": \"{}\"}}, "
	    "\"spec\": {\"pytorchReplicaSpecs\": {\"Master\": {\"replicas\": 1, \"template\": "
	    "{\"metadata\": {\"annotations\": {\"owner\": \"alice\"}}, \"spec\": {\"containers\": "
	    "[]}}}, \"Worker\": {\"replicas\": 2, \"template\": {\"spec\": {\"containers\": "
	    "[]}}}}}}");
	static const char *const paths[] = {"spec.pytorchReplicaSpecs.*.template.spec", NULL};
	json_t *g = fpd_volcano_group(o, paths, &settings);
	ck_assert_ptr_nonnull(g);
	expect_marked(fpd_json_get(o, "spec.pytorchReplicaSpecs.Master.template"), "Master");
	expect_marked(fpd_json_get(o, "spec.pytorchReplicaSpecs.Worker.template"), "Worker");
	ck_assert_str_eq(fpd_json_str_or(o,
	                                 "spec.pytorchReplicaSpecs.Master.template.metadata."
	                                 "annotations.owner",
	                                 ""),
	                 "alice");
	json_t *want =
	    fpd_test_json("{\"apiVersion\": \"scheduling.volcano.sh/v1beta1\", \"kind\": \"PodGroup\", "
	        "\"metadata\": {\"name\": \"job-n0-0\", \"namespace\": \"ns\", \"labels\": "
	        "{\"app.kubernetes.io/managed-by\": \"flyteplugd\"}, \"annotations\": "
	        "{\"" FPD_ANNOTATION_IDENTITY
	        "\": \"{}\"}}, \"spec\": {\"minMember\": 3, \"queue\": \"research\"}}");
	char *got = json_dumps(g, JSON_SORT_KEYS);
	ck_assert_msg(json_equal(g, want), "PodGroup %s", got);
	free(got);
	json_decref(want);
	json_decref(g);
	/* Another namespace than its globs: the object is left alone. */
	char *globs[] = {"team-*"};
	settings.queueing.volcano.namespaces = (struct fpd_strings){globs, 1};
	json_t *before = json_deep_copy(o);
	json_object_set_new(json_object_get(o, "metadata"), "namespace", json_string("other"));
	json_object_set_new(json_object_get(before, "metadata"), "namespace", json_string("other"));
	ck_assert_ptr_null(fpd_volcano_group(o, paths, &settings));
	ck_assert(json_equal(o, before));
	json_decref(before);
	json_decref(o);
}
END_TEST

START_TEST(pod_spark_jobset_search)
{
	struct fpd_settings settings = {0};
	settings.queueing.volcano.enabled = true;
	settings.queueing.volcano.scheduler_name = "gang";
	/* A Pod: its own metadata is the template's. */
	json_t *o = fpd_test_json("{\"kind\": \"Pod\", \"metadata\": {\"name\": \"job-n0-0\", \"namespace\": "
	                "\"ns\"}, \"spec\": {\"containers\": []}}");
	static const char *const pod[] = {"spec", NULL};
	json_t *g = fpd_volcano_group(o, pod, &settings);
	ck_assert_ptr_nonnull(g);
	ck_assert_str_eq(fpd_json_str_or(o, "spec.schedulerName", ""), "gang");
	ck_assert_int_eq(fpd_json_int_or(g, "spec.minMember", 0), 1);
	ck_assert_ptr_null(fpd_json_get(g, "spec.queue"));
	json_decref(g);
	json_decref(o);
	/* A SparkPodSpec holds its own schedulerName and annotations. */
	o = fpd_test_json("{\"kind\": \"SparkApplication\", \"metadata\": {\"name\": \"job-n0-0\", "
	        "\"namespace\": \"ns\"}, \"spec\": {\"driver\": {}, \"executor\": {\"instances\": "
	        "2}}}");
	static const char *const spark[] = {"spark:spec.driver", "spark:spec.executor",
	                                    "spec.driver.template.spec", NULL};
	g = fpd_volcano_group(o, spark, &settings);
	ck_assert_ptr_nonnull(g);
	ck_assert_str_eq(fpd_json_str_or(o, "spec.executor.schedulerName", ""), "gang");
	ck_assert_str_eq(
	    json_string_value(json_object_get(fpd_json_get(o, "spec.driver.annotations"),
	                                      FPD_VOLCANO_GROUP_ANNOTATION)),
	    "job-n0-0");
	ck_assert_int_eq(fpd_json_int_or(g, "spec.minMember", 0), 3);
	json_decref(g);
	json_decref(o);
	/* With the Spark operator's own batch scheduler: left to it. */
	o = fpd_test_json("{\"kind\": \"SparkApplication\", \"metadata\": {\"name\": \"job-n0-0\", "
	        "\"namespace\": \"ns\"}, \"spec\": {\"batchScheduler\": \"volcano\", \"driver\": "
	        "{}}}");
	ck_assert_ptr_null(fpd_volcano_group(o, spark, &settings));
	ck_assert_ptr_null(fpd_json_get(o, "spec.driver.schedulerName"));
	json_decref(o);
	/* "*" over an array (JobSet's replicatedJobs) and "**" by shape. */
	const char *js =
	    "{\"kind\": \"JobSet\", \"metadata\": {\"name\": \"job-n0-0\", "
	    "\"namespace\": \"ns\"}, \"spec\": {\"replicatedJobs\": [{\"replicas\": 2, "
	    "\"template\": {\"spec\": {\"template\": {\"spec\": {\"containers\": "
	    "[]}}}}}]}}";
	static const char *const jobset[] = {"spec.replicatedJobs.*.template.spec.template.spec",
	                                     NULL};
	static const char *const search[] = {"**", NULL};
	const char *const *by[] = {jobset, search};
	for (int i = 0; i < 2; i++) {
		o = fpd_test_json(js);
		g = fpd_volcano_group(o, by[i], &settings);
		ck_assert_ptr_nonnull(g);
		json_t *t = fpd_json_get(json_array_get(fpd_json_get(o, "spec.replicatedJobs"), 0),
		                         "template.spec.template");
		ck_assert_str_eq(fpd_json_str_or(t, "spec.schedulerName", ""), "gang");
		ck_assert_int_eq(fpd_json_int_or(g, "spec.minMember", 0), 2);
		json_decref(g);
		json_decref(o);
	}
	/* A TrainJob's runtimePatches take no schedulerName: not grouped. */
	o = fpd_test_json("{\"kind\": \"TrainJob\", \"metadata\": {\"name\": \"job-n0-0\", \"namespace\": "
	        "\"ns\"}, \"spec\": {\"containers\": []}}");
	ck_assert_ptr_null(fpd_volcano_group(o, search, &settings));
	ck_assert_ptr_null(fpd_json_get(o, "spec.schedulerName"));
	json_decref(o);
	/* No pod template at the paths: no group, nothing changed. */
	o = fpd_test_json("{\"kind\": \"Thing\", \"metadata\": {\"name\": \"job-n0-0\", \"namespace\": "
	        "\"ns\"}, \"spec\": {}}");
	json_t *before = json_deep_copy(o);
	ck_assert_ptr_null(fpd_volcano_group(o, jobset, &settings));
	ck_assert(json_equal(o, before));
	json_decref(before);
	json_decref(o);
}
END_TEST

START_TEST(group_status)
{
	struct fpd_phase_info out = {0};
	json_t *g = fpd_test_json("{\"metadata\": {\"name\": \"job-n0-0\"}, \"spec\": {\"minMember\": 3}}");
	ck_assert(fpd_volcano_status(g, &out));
	ck_assert_int_eq(out.phase, FPD_PHASE_WAITING_FOR_RESOURCES);
	ck_assert_str_eq(
	    out.message,
	    "waiting for Volcano to schedule PodGroup job-n0-0 (Pending, minMember 3)");
	fpd_phase_info_clear(&out);
	json_object_set_new(g, "status",
	                    fpd_test_json("{\"phase\": \"Inqueue\", \"conditions\": [{\"type\": "
	                        "\"Unschedulable\", \"status\": \"True\", \"message\": \"3/3 "
	                        "tasks in gang unschedulable\"}]}"));
	json_object_set_new(json_object_get(g, "spec"), "queue", json_string("q"));
	ck_assert(fpd_volcano_status(g, &out));
	ck_assert_str_eq(out.message, "waiting for Volcano to schedule PodGroup job-n0-0 (Inqueue, "
	                              "minMember 3, queue q): 3/3 tasks in gang unschedulable");
	fpd_phase_info_clear(&out);
	static const char *const running[] = {"Running", "Completed", "Unknown"};
	for (size_t i = 0; i < 3; i++) {
		json_object_set_new(json_object_get(g, "status"), "phase", json_string(running[i]));
		ck_assert_msg(!fpd_volcano_status(g, &out), "phase %s waits", running[i]);
	}
	json_decref(g);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("engine/volcano");
	TCase *tc = tcase_create("volcano");
	tcase_add_test(tc, pytorch_group);
	tcase_add_test(tc, pod_spark_jobset_search);
	tcase_add_test(tc, group_status);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
