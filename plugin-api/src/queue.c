/*
 * Kueue queueing shared by every plugin whose kind Kueue can admit: the queue a task goes to,
 * handing the built object to Kueue, and reading its admission state back (see queue.h).
 */
#include <fnmatch.h>
#include <stdint.h>
#include <string.h>

#include "flyteplugd/object.h"
#include "flyteplugd/pod.h"
#include "flyteplugd/queue.h"
#include "flyteplugd/settings.h"

static const char *by_namespace(const json_t *queues, const char *ns)
{
	const char *glob;
	json_t *v;
	if (!json_is_object(queues))
		return NULL;
	json_object_foreach((json_t *)queues, glob, v)
	{
		if (json_string_length(v) && !fnmatch(glob, ns, 0))
			return json_string_value(v);
	}
	return NULL;
}

const char *fpd_kueue_queue(const struct fpd_task *task, const json_t *namespace_queues)
{
	const char *q = task->tmpl ? fpd_pod_config_get(task->tmpl, FPD_KUEUE_QUEUE_LABEL) : NULL;
	if (q && *q)
		return q;
	q = json_string_value(json_object_get(task->labels, FPD_KUEUE_QUEUE_LABEL));
	if (q && *q)
		return q;
	const char *ns = task->ref.namespace_ ? task->ref.namespace_ : "";
	if ((q = by_namespace(namespace_queues, ns)) != NULL)
		return q;
	return task->settings ? by_namespace(task->settings->queueing.kueue.queues, ns) : NULL;
}

const char *fpd_kueue_apply(const struct fpd_task *task, json_t *object, const char *suspend_path,
                            const json_t *namespace_queues)
{
	const char *queue = fpd_kueue_queue(task, namespace_queues);
	if (!queue)
		return NULL;
	json_object_set_new(fpd_json_ensure_obj(object, "metadata.labels"), FPD_KUEUE_QUEUE_LABEL,
	                    json_string(queue));
	if (suspend_path)
		fpd_json_set_new(object, suspend_path, json_true());
	return queue;
}

static const char *queue_of(const json_t *object)
{
	return json_string_value(
	    json_object_get(fpd_json_get(object, "metadata.labels"), FPD_KUEUE_QUEUE_LABEL));
}

/* The condition of that type with status True, or NULL. */
static const json_t *true_condition(const json_t *object, const char *type)
{
	const json_t *conds = fpd_json_get(object, "status.conditions");
	for (size_t i = 0; i < json_array_size(conds); i++) {
		const json_t *c = json_array_get(conds, i);
		if (!strcmp(fpd_json_str_or(c, "type", ""), type) &&
		    !strcmp(fpd_json_str_or(c, "status", ""), "True"))
			return c;
	}
	return NULL;
}

bool fpd_kueue_status(const json_t *object, const char *suspend_path, struct fpd_phase_info *out)
{
	const char *queue = queue_of(object);
	if (!queue || !suspend_path || !fpd_json_bool_or(object, suspend_path, false))
		return false;
	const json_t *cond = true_condition(object, "Suspended");
	const char *reason = fpd_json_str_or(cond, "reason", "");
	const char *msg = fpd_json_str_or(cond, "message", "");
	/* Only a spec change raises the generation of a custom resource: Kueue's admission
	 * (suspend false, its pod set changes). Suspended after that is Kueue taking the admission
	 * back: eviction or preemption, the Workload says which. */
	if (fpd_json_int_or(object, "metadata.generation", 1) > 1) {
		fpd_phase_setf(
		    out, FPD_PHASE_RETRYABLE_FAILED, "Evicted",
		    "evicted by Kueue from queue %s: the %s was suspended while it ran%s%s%s%s",
		    queue, fpd_json_str_or(object, "kind", "object"), *reason ? ": " : "", reason,
		    *msg ? (*reason ? " - " : ": ") : "", msg);
		out->kind = FPD_KIND_SYSTEM;
		out->cleanup = true;
	} else {
		fpd_phase_setf(out, FPD_PHASE_WAITING_FOR_RESOURCES, "KueueAdmission",
		               "waiting for Kueue admission in queue %s%s%s", queue,
		               *msg ? ": " : "", msg);
	}
	return true;
}

static bool gated(const json_t *pod)
{
	const json_t *gates = fpd_json_get(pod, "spec.schedulingGates");
	for (size_t i = 0; i < json_array_size(gates); i++)
		if (!strcmp(fpd_json_str_or(json_array_get(gates, i), "name", ""),
		            FPD_KUEUE_POD_GATE))
			return true;
	/* Not the PodScheduled condition: it says SchedulingGated until the scheduler looks
	 * again, after the gate is gone. */
	return false;
}

bool fpd_kueue_pod_status(const json_t *pod, struct fpd_phase_info *out)
{
	const char *queue = queue_of(pod);
	if (!queue)
		return false;
	const json_t *stop = true_condition(pod, "TerminationTarget");
	if (stop) {
		const char *msg = fpd_json_str_or(stop, "message", "");
		fpd_phase_setf(out, FPD_PHASE_RETRYABLE_FAILED, "Evicted",
		               "stopped by Kueue in queue %s: %s%s%s", queue,
		               fpd_json_str_or(stop, "reason", "StoppedByKueue"), *msg ? " - " : "",
		               msg);
		out->kind = FPD_KIND_SYSTEM;
		out->cleanup = true;
		return true;
	}
	if (!gated(pod) || *fpd_json_str_or(pod, "spec.nodeName", ""))
		return false;
	fpd_phase_setf(out, FPD_PHASE_WAITING_FOR_RESOURCES, "KueueAdmission",
	               "waiting for Kueue admission in queue %s", queue);
	return true;
}

/* ---- Volcano ------------------------------------------------------------------------- */

bool fpd_volcano_applies(const struct fpd_settings *settings, const char *ns)
{
	const struct fpd_volcano_settings *v = settings ? &settings->queueing.volcano : NULL;
	if (!v || !v->enabled)
		return false;
	if (!v->namespaces.count)
		return true;
	for (size_t i = 0; i < v->namespaces.count; i++)
		if (!fnmatch(v->namespaces.items[i], ns ? ns : "", 0))
			return true;
	return false;
}

/* a + b and a * b, saturated at INT64_MIN / INT64_MAX: the counts come from user JSON. */
static int64_t sat_add(int64_t a, int64_t b)
{
	int64_t r;
	if (__builtin_add_overflow(a, b, &r))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

static int64_t sat_mul(int64_t a, int64_t b)
{
	int64_t r;
	if (__builtin_mul_overflow(a, b, &r))
		return (a < 0) == (b < 0) ? INT64_MAX : INT64_MIN;
	return r;
}

/* The sum over an object of replica specs (kubeflow's map, or an array) of replicas at key,
 * each times the factor at factor_path (NULL: 1); unset counts def. */
static int64_t sum_replicas(const json_t *specs, const char *key, int64_t def,
                            const char *factor_path)
{
	int64_t n = 0;
	const char *k;
	size_t i;
	json_t *v;
	if (json_is_object(specs)) {
		json_object_foreach((json_t *)specs, k, v)
		{
			n = sat_add(n, fpd_json_int_or(v, key, def));
		}
	}
	json_array_foreach(specs, i, v)
	{
		n = sat_add(n, sat_mul(fpd_json_int_or(v, key, def),
		                       factor_path ? fpd_json_int_or(v, factor_path, 1) : 1));
	}
	return n;
}

int64_t fpd_volcano_min_member(const json_t *object, int64_t pod_specs)
{
	const char *kind = fpd_json_str_or(object, "kind", "");
	const json_t *spec = json_object_get(object, "spec");
	int64_t n;
	if (!strcmp(kind, "Pod"))
		n = 1;
	else if (!strcmp(kind, "PyTorchJob"))
		n = sum_replicas(json_object_get(spec, "pytorchReplicaSpecs"), "replicas", 1, NULL);
	else if (!strcmp(kind, "TFJob"))
		n = sum_replicas(json_object_get(spec, "tfReplicaSpecs"), "replicas", 1, NULL);
	else if (!strcmp(kind, "MPIJob"))
		n = sum_replicas(json_object_get(spec, "mpiReplicaSpecs"), "replicas", 1, NULL);
	else if (!strcmp(kind, "SparkApplication"))
		n = sat_add(1, fpd_json_int_or(spec, "executor.instances", 1));
	else if (!strcmp(kind, "RayJob"))
		n = sat_add(1, sum_replicas(fpd_json_get(spec, "rayClusterSpec.workerGroupSpecs"),
		                            "minReplicas", 0, NULL));
	else if (!strcmp(kind, "DaskJob"))
		n = sat_add(2, fpd_json_int_or(spec, "cluster.spec.worker.replicas", 0));
	else if (!strcmp(kind, "JobSet"))
		n = sum_replicas(json_object_get(spec, "replicatedJobs"), "replicas", 1,
		                 "template.spec.parallelism");
	else
		n = pod_specs;
	/* PodGroup's minMember is an int32. */
	return n < 1 ? 1 : n > INT32_MAX ? INT32_MAX : n;
}
