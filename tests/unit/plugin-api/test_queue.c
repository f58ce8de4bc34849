/* Kueue queueing shared by the plugins (queue.c): the queue a task goes to, the label and
 * suspension on the built object, and the admission state read back from objects and pods. */
#include "fpd_test.h"

#include <flyteplugd/object.h>
#include <flyteplugd/queue.h>
#include <flyteplugd/settings.h>


START_TEST(queue_choice)
{
	struct fpd_settings settings = {0};
	settings.queueing.kueue.queues = fpd_test_json("{\"team-*\": \"team-q\", \"*\": \"\"}");
	json_t *labels = json_object();
	Flyteidl__Core__TaskTemplate tmpl = FLYTEIDL__CORE__TASK_TEMPLATE__INIT;
	Flyteidl__Core__TaskTemplate__ConfigEntry entry =
	    FLYTEIDL__CORE__TASK_TEMPLATE__CONFIG_ENTRY__INIT;
	Flyteidl__Core__TaskTemplate__ConfigEntry *entries[] = {&entry};
	struct fpd_task task = {.labels = labels, .settings = &settings, .tmpl = &tmpl};
	task.ref.namespace_ = "other";
	/* Off by default: no glob matches, an empty queue name is no queue. */
	ck_assert_ptr_null(fpd_kueue_queue(&task, NULL));
	task.ref.namespace_ = "team-a";
	ck_assert_str_eq(fpd_kueue_queue(&task, NULL), "team-q");
	/* A plugin's own globs come before the daemon's. */
	json_t *own = fpd_test_json("{\"team-a\": \"own-q\"}");
	ck_assert_str_eq(fpd_kueue_queue(&task, own), "own-q");
	/* The execution's label before any glob; the task's config before the label. */
	json_object_set_new(labels, FPD_KUEUE_QUEUE_LABEL, json_string("label-q"));
	ck_assert_str_eq(fpd_kueue_queue(&task, own), "label-q");
	entry.key = FPD_KUEUE_QUEUE_LABEL;
	entry.value = "config-q";
	tmpl.n_config = 1;
	tmpl.config = entries;
	ck_assert_str_eq(fpd_kueue_queue(&task, own), "config-q");
	json_decref(own);
	json_decref(labels);
	json_decref(settings.queueing.kueue.queues);
}
END_TEST

START_TEST(apply)
{
	json_t *labels = json_pack("{s:s}", FPD_KUEUE_QUEUE_LABEL, "lq");
	struct fpd_task task = {.labels = labels};
	task.ref.namespace_ = "ns";
	json_t *job =
	    fpd_test_json("{\"kind\": \"PyTorchJob\", \"spec\": {\"runPolicy\": {\"cleanPodPolicy\": "
	        "\"None\"}}}");
	ck_assert_str_eq(fpd_kueue_apply(&task, job, "spec.runPolicy.suspend", NULL), "lq");
	ck_assert_str_eq(json_string_value(json_object_get(fpd_json_get(job, "metadata.labels"),
	                                                   FPD_KUEUE_QUEUE_LABEL)),
	                 "lq");
	ck_assert(fpd_json_bool_or(job, "spec.runPolicy.suspend", false));
	ck_assert_str_eq(fpd_json_str_or(job, "spec.runPolicy.cleanPodPolicy", ""), "None");
	json_decref(job);
	/* No queue: the object is left alone. */
	json_object_clear(labels);
	job = fpd_test_json("{\"kind\": \"JobSet\", \"spec\": {}}");
	ck_assert_ptr_null(fpd_kueue_apply(&task, job, "spec.suspend", NULL));
	ck_assert_ptr_null(fpd_json_get(job, "metadata"));
	ck_assert_ptr_null(fpd_json_get(job, "spec.suspend"));
	json_decref(job);
	json_decref(labels);
}
END_TEST

START_TEST(object_status)
{
	struct fpd_phase_info out = {0};
	/* Not labelled, or not suspended: the plugin's own mapping. */
	json_t *o = fpd_test_json("{\"kind\": \"JobSet\", \"metadata\": {\"generation\": 1}, "
	                "\"spec\": {\"suspend\": true}}");
	ck_assert(!fpd_kueue_status(o, "spec.suspend", &out));
	json_decref(o);
	o = fpd_test_json("{\"kind\": \"JobSet\", \"metadata\": {\"generation\": 2, \"labels\": "
	        "{\"kueue.x-k8s.io/queue-name\": \"lq\"}}, \"spec\": {\"suspend\": false}}");
	ck_assert(!fpd_kueue_status(o, "spec.suspend", &out));
	ck_assert_int_eq(out.phase, FPD_PHASE_UNDEFINED);
	json_decref(o);
	/* Suspended as created: waiting, with the operator's word. */
	o = fpd_test_json("{\"kind\": \"PyTorchJob\", \"metadata\": {\"generation\": 1, \"labels\": "
	        "{\"kueue.x-k8s.io/queue-name\": \"lq\"}}, \"spec\": {\"runPolicy\": {\"suspend\": "
	        "true}}, \"status\": {\"conditions\": [{\"type\": \"Suspended\", \"status\": "
	        "\"True\", \"reason\": \"JobSuspended\", \"message\": \"PyTorchJob x is "
	        "suspended.\"}]}}");
	ck_assert(fpd_kueue_status(o, "spec.runPolicy.suspend", &out));
	ck_assert_int_eq(out.phase, FPD_PHASE_WAITING_FOR_RESOURCES);
	ck_assert_str_eq(out.code, "KueueAdmission");
	ck_assert_str_eq(out.message,
	                 "waiting for Kueue admission in queue lq: PyTorchJob x is suspended.");
	/* Suspended again after admission changed the spec: evicted or preempted. */
	json_object_set_new(fpd_json_get(o, "metadata"), "generation", json_integer(3));
	ck_assert(fpd_kueue_status(o, "spec.runPolicy.suspend", &out));
	ck_assert_int_eq(out.phase, FPD_PHASE_RETRYABLE_FAILED);
	ck_assert_int_eq(out.kind, FPD_KIND_SYSTEM);
	ck_assert(out.cleanup);
	ck_assert_str_eq(out.code, "Evicted");
	ck_assert_str_eq(out.message,
	                 "evicted by Kueue from queue lq: the PyTorchJob was suspended "
	                 "while it ran: JobSuspended - PyTorchJob x is suspended.");
	fpd_phase_info_clear(&out);
	json_decref(o);
}
END_TEST

START_TEST(pod_status)
{
	struct fpd_phase_info out = {0};
	json_t *p =
	    fpd_test_json("{\"metadata\": {\"labels\": {\"kueue.x-k8s.io/queue-name\": \"lq\"}}, "
	        "\"spec\": {\"schedulingGates\": [{\"name\": \"kueue.x-k8s.io/admission\"}]}, "
	        "\"status\": {\"phase\": \"Pending\"}}");
	ck_assert(fpd_kueue_pod_status(p, &out));
	ck_assert_int_eq(out.phase, FPD_PHASE_WAITING_FOR_RESOURCES);
	ck_assert_str_eq(out.message, "waiting for Kueue admission in queue lq");
	/* Admitted: the gate is gone, the pod's own status speaks. */
	json_object_del(fpd_json_get(p, "spec"), "schedulingGates");
	ck_assert(!fpd_kueue_pod_status(p, &out));
	/* Stopped by Kueue. */
	json_object_set_new(fpd_json_get(p, "status"), "conditions",
	                    fpd_test_json("[{\"type\": \"TerminationTarget\", \"status\": \"True\", "
	                        "\"reason\": \"WorkloadEvicted\", \"message\": \"Preempted to "
	                        "accommodate a workload\"}]"));
	ck_assert(fpd_kueue_pod_status(p, &out));
	ck_assert_int_eq(out.phase, FPD_PHASE_RETRYABLE_FAILED);
	ck_assert_int_eq(out.kind, FPD_KIND_SYSTEM);
	ck_assert_str_eq(out.message,
	                 "stopped by Kueue in queue lq: WorkloadEvicted - Preempted to "
	                 "accommodate a workload");
	fpd_phase_info_clear(&out);
	json_decref(p);
	/* Not Kueue's: a gated pod without the label is not waiting on Kueue. */
	p = fpd_test_json("{\"spec\": {\"schedulingGates\": [{\"name\": \"kueue.x-k8s.io/admission\"}]}}");
	ck_assert(!fpd_kueue_pod_status(p, &out));
	json_decref(p);
}
END_TEST

START_TEST(volcano_applies)
{
	struct fpd_settings settings = {0};
	char *globs[] = {"team-*", "ml"};
	/* Off by default. */
	ck_assert(!fpd_volcano_applies(&settings, "team-a"));
	ck_assert(!fpd_volcano_applies(NULL, "team-a"));
	settings.queueing.volcano.enabled = true;
	ck_assert(fpd_volcano_applies(&settings, "anything"));
	settings.queueing.volcano.namespaces = (struct fpd_strings){globs, 2};
	ck_assert(fpd_volcano_applies(&settings, "team-a"));
	ck_assert(fpd_volcano_applies(&settings, "ml"));
	ck_assert(!fpd_volcano_applies(&settings, "ml2"));
	ck_assert(!fpd_volcano_applies(&settings, NULL));
}
END_TEST

START_TEST(volcano_min_member)
{
	static const struct {
		const char *object;
		int64_t want;
	} cases[] = {
	    {"{\"kind\": \"Pod\", \"spec\": {}}", 1},
	    /* Kubeflow: the sum of the replica specs, 1 where unset. */
	    {"{\"kind\": \"PyTorchJob\", \"spec\": {\"pytorchReplicaSpecs\": {\"Master\": "
	     "{\"replicas\": 1}, \"Worker\": {\"replicas\": 3}}}}",
	     4},
	    {"{\"kind\": \"TFJob\", \"spec\": {\"tfReplicaSpecs\": {\"Chief\": {}, "
	     "\"Worker\": {\"replicas\": 2}, \"PS\": {\"replicas\": 0}}}}",
	     3},
	    {"{\"kind\": \"MPIJob\", \"spec\": {\"mpiReplicaSpecs\": {\"Launcher\": "
	     "{\"replicas\": 1}, \"Worker\": {\"replicas\": 4}}}}",
	     5},
	    {"{\"kind\": \"SparkApplication\", \"spec\": {\"executor\": {\"instances\": 3}}}", 4},
	    {"{\"kind\": \"SparkApplication\", \"spec\": {}}", 2},
	    {"{\"kind\": \"RayJob\", \"spec\": {\"rayClusterSpec\": {\"workerGroupSpecs\": "
	     "[{\"minReplicas\": 2, \"replicas\": 5}, {\"minReplicas\": 1}]}}}",
	     4},
	    {"{\"kind\": \"DaskJob\", \"spec\": {\"cluster\": {\"spec\": {\"worker\": "
	     "{\"replicas\": 3}}}}}",
	     5},
	    {"{\"kind\": \"JobSet\", \"spec\": {\"replicatedJobs\": [{\"replicas\": 2, "
	     "\"template\": {\"spec\": {\"parallelism\": 3}}}, {\"template\": {\"spec\": "
	     "{}}}]}}",
	     7},
	    /* Counts from user JSON too large for int64 arithmetic: saturated, then bounded to
	     * minMember's int32 (or at least one). */
	    {"{\"kind\": \"JobSet\", \"spec\": {\"replicatedJobs\": [{\"replicas\": "
	     "4611686018427387904, \"template\": {\"spec\": {\"parallelism\": 4}}}]}}",
	     INT32_MAX},
	    {"{\"kind\": \"JobSet\", \"spec\": {\"replicatedJobs\": [{\"replicas\": "
	     "-4611686018427387904, \"template\": {\"spec\": {\"parallelism\": 4}}}, "
	     "{\"replicas\": -4611686018427387904}]}}",
	     1},
	    {"{\"kind\": \"PyTorchJob\", \"spec\": {\"pytorchReplicaSpecs\": {\"Master\": "
	     "{\"replicas\": 9223372036854775807}, \"Worker\": {\"replicas\": 3}}}}",
	     INT32_MAX},
	    {"{\"kind\": \"SparkApplication\", \"spec\": {\"executor\": {\"instances\": "
	     "9223372036854775807}}}",
	     INT32_MAX},
	    /* Any other kind: one per pod spec found, at least one. */
	    {"{\"kind\": \"Declared\", \"spec\": {}}", 3},
	    {"{\"kind\": \"PyTorchJob\", \"spec\": {\"pytorchReplicaSpecs\": {}}}", 1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *o = fpd_test_json(cases[i].object);
		int64_t got = fpd_volcano_min_member(o, 3);
		ck_assert_msg(got == cases[i].want, "%s: minMember %lld, want %lld",
		              cases[i].object, (long long)got, (long long)cases[i].want);
		json_decref(o);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lib/queue");
	TCase *tc = tcase_create("queue");
	tcase_add_test(tc, queue_choice);
	tcase_add_test(tc, apply);
	tcase_add_test(tc, object_status);
	tcase_add_test(tc, pod_status);
	tcase_add_test(tc, volcano_applies);
	tcase_add_test(tc, volcano_min_member);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
