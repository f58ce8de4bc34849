/*
 * The clustered-task plugin (Flyte 2's plugins/k8s/clustered): multi-node torchrun training as
 * a JobSet (jobset.x-k8s.io/v1alpha2). custom is a flyteidl2.plugins.ClusteredTaskSpec.
 *
 * One replicated job, "workers", runs one indexed Job of `replicas` pods, each the task's pod
 * as a pod task would have it (fpd_pod_build_spec) plus the torchrun environment (NNODES,
 * NPROC_PER_NODE, MASTER_PORT, RDZV_BACKEND, JOBSET_*). Pod k of the Job is rank k; the JobSet's
 * headless service (network.enableDNSHostnames) gives rank 0 the name torchrun's launcher
 * script reaches as master.
 *
 * Restarts are the JobSet's: failurePolicy.maxRestarts restarts the whole cluster. With
 * restart_on_host_maintenance a pod disrupted by the node (condition DisruptionTarget) fails
 * its Job with reason PodFailurePolicy, and the JobSet restarts without counting it; a JobSet
 * that fails anyway on such a pod is a system failure, retried by Flyte. docs/parity/jobset.md
 * says what differs from Flyte 2.
 */
#include "jobset.h"

#include "../children.h"

#include <flyteplugd/error.h>
#include <flyteplugd/logs.h>
#include <flyteplugd/mem.h>
#include <flyteplugd/object.h>
#include <flyteplugd/pod.h>
#include <flyteplugd/queue.h>

#include "flyteidl2/plugins/clustered.pb-c.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define WORKERS "workers"
#define NAME_LABEL "jobset.sigs.k8s.io/jobset-name"
#define MAINTENANCE_ANNOTATION "flyteplugd.flyte.org/restart-on-host-maintenance"
#define PRIMARY_ANNOTATION "flyte.org/primary-container"
/* Flyte 2's bound on replicas: pod names "<jobset>-workers-0-<index>-<5>" stay within 63. */
#define MAX_REPLICAS 100000
/* 63 - len("-workers-0-99999-abcde"), Flyte 2's GeneratedNameMaxLength. */
#define NAME_MAX_LEN 41
/* Log links for at most this many ranks: a status answer stays small for any cluster. */
#define MAX_LOG_RANKS 64

/* --- build --- */

static json_t *env_value(const char *name, const char *value)
{
	return json_pack("{s:s,s:s}", "name", name, "value", value);
}

static json_t *env_field(const char *name, const char *path)
{
	return json_pack("{s:s,s:{s:{s:s}}}", "name", name, "valueFrom", "fieldRef", "fieldPath",
	                 path);
}

/* Sets (replacing one of the same name) env var e, stolen, in the container's env. */
static void upsert_env(json_t *container, json_t *e)
{
	json_t *env = json_object_get(container, "env"), *v;
	size_t i;
	if (!json_is_array(env)) {
		env = json_array();
		json_object_set_new(container, "env", env);
	}
	const char *name = json_string_value(json_object_get(e, "name"));
	json_array_foreach(env, i, v)
	{
		if (!strcmp(fpd_json_str_or(v, "name", ""), name)) {
			json_array_set_new(env, i, e);
			return;
		}
	}
	json_array_append_new(env, e);
}

/* What torchrun's launcher reads: the cluster shape and the rendezvous. */
static void torchrun_env(json_t *container, const Flyteidl2__Plugins__ClusteredTaskSpec *s)
{
	char nnodes[16], nproc[16], restarts[16];
	const Flyteidl2__Plugins__TorchRuntime *t = s->runtime ? s->runtime->torchrun : NULL;
	bool c10d = t && t->rdzv_backend == FLYTEIDL2__PLUGINS__RDZV_BACKEND__C10D;
	snprintf(nnodes, sizeof(nnodes), "%d", (int)s->replicas);
	snprintf(nproc, sizeof(nproc), "%d", (int)s->nproc_per_node);
	snprintf(restarts, sizeof(restarts), "%d",
	         (int)(s->failure_policy ? s->failure_policy->max_restarts : 0));
	upsert_env(container, env_value("NNODES", nnodes));
	upsert_env(container, env_value("NPROC_PER_NODE", nproc));
	upsert_env(container, env_value("MASTER_PORT", "29500"));
	upsert_env(container, env_value("RDZV_BACKEND", c10d ? "c10d" : "static"));
	upsert_env(container, env_value("JOBSET_MAX_RESTARTS", restarts));
	upsert_env(container, env_field("JOBSET_NAME", "metadata.labels['" NAME_LABEL "']"));
	upsert_env(container,
	           env_field("JOBSET_RESTART_ATTEMPT",
	                     "metadata.annotations['jobset.sigs.k8s.io/restart-attempt']"));
	upsert_env(container, env_field("POD_NAMESPACE", "metadata.namespace"));
}

static int check_spec(const Flyteidl2__Plugins__ClusteredTaskSpec *s, struct fpd_error *err)
{
	if (!s)
		return fpd_error_set(err, FPD_EINVAL,
		                     "invalid ClusteredTaskSpec: custom is required");
	if (s->replicas < 1 || s->replicas > MAX_REPLICAS)
		return fpd_error_set(err, FPD_EINVAL, "replicas must be 1 to %d, got %d",
		                     MAX_REPLICAS, (int)s->replicas);
	if (s->nproc_per_node < 1)
		return fpd_error_set(err, FPD_EINVAL, "nproc_per_node must be >= 1, got %d",
		                     (int)s->nproc_per_node);
	if (s->failure_policy && s->failure_policy->max_restarts < 0)
		return fpd_error_set(err, FPD_EINVAL,
		                     "failure_policy.max_restarts must be >= 0, got %d",
		                     (int)s->failure_policy->max_restarts);
	if (s->runtime && s->runtime->torchrun && s->runtime->torchrun->max_restarts < 0)
		return fpd_error_set(err, FPD_EINVAL,
		                     "runtime.torchrun.max_restarts must be >= 0, got %d",
		                     (int)s->runtime->torchrun->max_restarts);
	if (s->ttl_seconds_after_finished && s->ttl_seconds_after_finished->value > INT32_MAX)
		return fpd_error_set(err, FPD_EINVAL,
		                     "ttl_seconds_after_finished %" PRIu32 " exceeds %d",
		                     s->ttl_seconds_after_finished->value, INT32_MAX);
	return FPD_OK;
}

/* The JobSet's failurePolicy, or NULL: maxRestarts, and with host maintenance a rule that
 * restarts on a disrupted pod without counting it. */
static json_t *failure_policy(const Flyteidl2__Plugins__ClusteredTaskSpec *s)
{
	const Flyteidl2__Plugins__ClusterFailurePolicy *fp = s->failure_policy;
	if (!fp || (!fp->max_restarts && !fp->restart_on_host_maintenance))
		return NULL;
	json_t *p = json_pack("{s:i}", "maxRestarts", (int)fp->max_restarts);
	if (fp->restart_on_host_maintenance)
		json_object_set_new(p, "rules",
		                    json_pack("[{s:s,s:s,s:[s]}]", "name", "host-maintenance",
		                              "action", "RestartJobSetAndIgnoreMaxRestarts",
		                              "onJobFailureReasons", "PodFailurePolicy"));
	return p;
}

/* The Job spec: `replicas` indexed pods, no Job-level retries (restarts are the JobSet's). */
static json_t *job_spec(const Flyteidl2__Plugins__ClusteredTaskSpec *s, json_t *pod_meta,
                        json_t *pod_spec)
{
	json_t *job =
	    json_pack("{s:i,s:i,s:s,s:i,s:{s:o,s:o}}", "parallelism", (int)s->replicas,
	              "completions", (int)s->replicas, "completionMode", "Indexed", "backoffLimit",
	              0, "template", "metadata", pod_meta, "spec", pod_spec);
	if (s->failure_policy && s->failure_policy->restart_on_host_maintenance)
		json_object_set_new(job, "podFailurePolicy",
		                    json_pack("{s:[{s:s,s:[{s:s,s:s}]}]}", "rules", "action",
		                              "FailJob", "onPodConditions", "type",
		                              "DisruptionTarget", "status", "True"));
	return job;
}

static json_t *merged(const json_t *a, const json_t *b)
{
	json_t *m = json_object();
	if (json_is_object(a))
		json_object_update(m, (json_t *)a);
	if (json_is_object(b))
		json_object_update(m, (json_t *)b);
	return m;
}

static int jobset_build(const struct fpd_task *task, json_t **out, struct fpd_error *err)
{
	const Flyteidl2__Plugins__ClusteredTaskSpec *s = (const void *)task->custom;
	*out = NULL;
	if (check_spec(s, err))
		return FPD_EINVAL;
	struct fpd_pod pod = {0};
	int rc = fpd_pod_build_spec(task, NULL, &pod, err);
	if (rc)
		return rc;
	json_t *container = fpd_pod_find_container(pod.spec, pod.primary);
	if (!container) {
		rc = fpd_error_set(err, FPD_EINVAL, "primary container %s not found in pod spec",
		                   pod.primary);
		fpd_pod_clear(&pod);
		return rc;
	}
	torchrun_env(container, s);
	json_object_set_new(pod.spec, "restartPolicy", json_string("Never"));
	const char *name = task->ref.generated_name ? task->ref.generated_name : "";
	if (!*fpd_json_str_or(pod.spec, "subdomain", "") && *name)
		json_object_set_new(pod.spec, "subdomain", json_string(name));

	json_t *meta = json_object();
	json_t *labels = merged(pod.labels, task->labels);
	json_t *annotations = merged(pod.annotations, task->annotations);
	if (json_object_size(labels))
		json_object_set(meta, "labels", labels);
	if (json_object_size(annotations))
		json_object_set(meta, "annotations", annotations);
	json_decref(labels);
	json_decref(annotations);

	json_t *spec =
	    json_pack("{s:{s:b},s:{s:s},s:[{s:s,s:i,s:{s:o}}]}", "network", "enableDNSHostnames", 1,
	              "successPolicy", "operator", "All", "replicatedJobs", "name", WORKERS,
	              "replicas", 1, "template", "spec", job_spec(s, meta, json_incref(pod.spec)));
	json_t *fp = failure_policy(s);
	if (fp)
		json_object_set_new(spec, "failurePolicy", fp);
	if (s->ttl_seconds_after_finished)
		json_object_set_new(spec, "ttlSecondsAfterFinished",
		                    json_integer(s->ttl_seconds_after_finished->value));
	json_t *obj_annotations = json_pack("{s:s,s:s}", "flyte.org/task-type", "clustered-task",
	                                    PRIMARY_ANNOTATION, pod.primary);
	if (s->failure_policy && s->failure_policy->restart_on_host_maintenance)
		json_object_set_new(obj_annotations, MAINTENANCE_ANNOTATION, json_string("true"));
	*out = json_pack("{s:s,s:s,s:{s:o},s:o}", "apiVersion", "jobset.x-k8s.io/v1alpha2", "kind",
	                 "JobSet", "metadata", "annotations", obj_annotations, "spec", spec);
	/* Kueue's jobset integration admits a JobSet by clearing spec.suspend. */
	fpd_kueue_apply(task, *out, "spec.suspend", NULL);
	fpd_pod_clear(&pod);
	return FPD_OK;
}

/* --- status --- */

/* The True condition that changed last (Flyte 2's current condition), or NULL. */
static const json_t *current_condition(const json_t *obj)
{
	const json_t *c, *best = NULL;
	int64_t best_at = INT64_MIN;
	size_t i;
	json_array_foreach(fpd_json_get(obj, "status.conditions"), i, c)
	{
		if (strcmp(fpd_json_str_or(c, "status", ""), "True"))
			continue;
		const char *t = fpd_json_str_or(c, "lastTransitionTime", "");
		int64_t at = *t ? fpd_time_parse(t) : 0;
		if (!best || at > best_at) {
			best = c;
			best_at = at;
		}
	}
	return best;
}

/* The condition of type that is True, or NULL. */
static const json_t *condition(const json_t *obj, const char *type)
{
	const json_t *c;
	size_t i;
	json_array_foreach(fpd_json_get(obj, "status.conditions"), i, c)
	{
		if (!strcmp(fpd_json_str_or(c, "type", ""), type) &&
		    !strcmp(fpd_json_str_or(c, "status", ""), "True"))
			return c;
	}
	return NULL;
}

static bool label_is(const json_t *pod, const char *key, const char *value)
{
	const char *v =
	    json_string_value(json_object_get(fpd_json_get(pod, "metadata.labels"), key));
	return v && !strcmp(v, value);
}

/* metadata.annotations[key] (keys hold dots, which paths cannot), or "". */
static const char *annotation(const json_t *obj, const char *key)
{
	const char *v =
	    json_string_value(json_object_get(fpd_json_get(obj, "metadata.annotations"), key));
	return v ? v : "";
}

static bool pod_active(const json_t *pod)
{
	const char *p = fpd_json_str_or(pod, "status.phase", "");
	return !strcmp(p, "Running") || !strcmp(p, "Pending");
}

/* The pod of rank `rank` in the JobSet named name: an active one before a finished one, then
 * the newest (a restart creates new pods with the same index). */
static const json_t *rank_pod(const struct fpd_status_ctx *ctx, const char *name, const char *rank)
{
	const json_t *best = NULL;
	for (size_t i = 0; i < ctx->pod_count; i++) {
		const json_t *p = ctx->pods[i];
		if (!label_is(p, NAME_LABEL, name) ||
		    !label_is(p, "jobset.sigs.k8s.io/replicatedjob-name", WORKERS) ||
		    !label_is(p, "jobset.sigs.k8s.io/job-index", "0") ||
		    !label_is(p, "batch.kubernetes.io/job-completion-index", rank))
			continue;
		if (!best || pod_active(p) > pod_active(best) ||
		    (pod_active(p) == pod_active(best) &&
		     strcmp(fpd_json_str_or(p, "metadata.creationTimestamp", ""),
		            fpd_json_str_or(best, "metadata.creationTimestamp", "")) > 0))
			best = p;
	}
	return best;
}

static const json_t *workers_status(const json_t *obj)
{
	const json_t *r;
	size_t i;
	json_array_foreach(fpd_json_get(obj, "status.replicatedJobsStatus"), i, r)
	{
		if (!strcmp(fpd_json_str_or(r, "name", ""), WORKERS))
			return r;
	}
	return NULL;
}

/* Restarts that count against maxRestarts (JobSet reports those apart since v0.8). */
static int64_t counted_restarts(const json_t *obj)
{
	const json_t *st = json_object_get(obj, "status");
	const json_t *v = json_object_get(st, "restartsCountTowardsMax");
	return json_is_integer(v) ? json_integer_value(v) : fpd_json_int_or(st, "restarts", 0);
}

/* One link set per rank, "<name> workers-0 (rank k)": the observed pod, or the name its pods
 * start with before one is seen. */
static void rank_logs(const struct fpd_status_ctx *ctx, const char *name,
                      struct fpd_phase_info *out)
{
	/* The plugin builds one replicated job, "workers" (the engine keeps one field of it). */
	int64_t n =
	    fpd_json_int_or(json_array_get(fpd_json_get(ctx->object, "spec.replicatedJobs"), 0),
	                    "template.spec.parallelism", 0);
	if (n > MAX_LOG_RANKS)
		n = MAX_LOG_RANKS;
	const char *ns = fpd_json_str_or(ctx->object, "metadata.namespace", "");
	const char *created = fpd_json_str_or(ctx->object, "metadata.creationTimestamp", "");
	const char *primary = annotation(ctx->object, PRIMARY_ANNOTATION);
	for (int64_t k = 0; k < n; k++) {
		char rank[24], log_name[48];
		snprintf(rank, sizeof(rank), "%" PRId64, k);
		snprintf(log_name, sizeof(log_name), " " WORKERS "-0 (rank %" PRId64 ")", k);
		const json_t *pod = rank_pod(ctx, name, rank);
		json_t *pseudo = NULL;
		if (!pod) {
			char *pod_name = fpd_asprintf("%s-" WORKERS "-0-%s", name, rank);
			pseudo = json_pack("{s:{s:s,s:s,s:s},s:{s:[{s:s}]}}", "metadata", "name",
			                   pod_name, "namespace", ns, "creationTimestamp", created,
			                   "spec", "containers", "name", primary);
			free(pod_name);
			pod = pseudo;
		}
		size_t ci = 0, i;
		const json_t *c;
		json_array_foreach(fpd_json_get(pod, "spec.containers"), i, c)
		{
			if (!strcmp(fpd_json_str_or(c, "name", ""), primary))
				ci = i;
		}
		struct fpd_log_input in = {.ref = ctx->ref,
		                           .pod = pod,
		                           .container_index = ci,
		                           .log_name = log_name,
		                           .task_config = ctx->task_config,
		                           .now_ms = ctx->now_ms};
		fpd_logs_for_pod(&ctx->settings->logs, &in, out);
		json_decref(pseudo);
	}
}

static bool disrupted(const json_t *pod)
{
	const json_t *c;
	size_t i;
	json_array_foreach(fpd_json_get(pod, "status.conditions"), i, c)
	{
		if (!strcmp(fpd_json_str_or(c, "type", ""), "DisruptionTarget") &&
		    !strcmp(fpd_json_str_or(c, "status", ""), "True"))
			return true;
	}
	return false;
}

/* Whether the failed JobSet lost rank 0 to its node: disrupted (DisruptionTarget: drained,
 * preempted, node shutdown) or failed with a reason naming the node's end. A rank's own failure
 * (its process exiting) is not maintenance, whatever the pod rules make of it. */
static bool host_maintenance(const json_t *rank0)
{
	static const char *const node_gone[] = {"Shutdown", "Terminated", "NodeShutdown"};
	if (!rank0)
		return false;
	if (disrupted(rank0))
		return true;
	const char *reason = fpd_json_str_or(rank0, "status.reason", "");
	for (size_t i = 0; i < FPD_ARRAY_LEN(node_gone); i++)
		if (!strcmp(reason, node_gone[i]))
			return true;
	return false;
}

/* Rank 0's pod decides the task when it cannot start (pending failure) or when it failed and
 * no restart is left. Returns true with *out set. */
static bool rank0_fails_fast(const struct fpd_status_ctx *ctx, const json_t *rank0,
                             int64_t max_restarts, struct fpd_phase_info *out)
{
	if (!rank0)
		return false;
	const char *phase = fpd_json_str_or(rank0, "status.phase", "");
	const json_t *ws = workers_status(ctx->object);
	bool exhausted =
	    counted_restarts(ctx->object) >= max_restarts && fpd_json_int_or(ws, "failed", 0) > 0;
	if (strcmp(phase, "Pending") && !(strcmp(phase, "Failed") == 0 && exhausted))
		return false;
	struct fpd_phase_info p = {0};
	fpd_pod_status(rank0, &ctx->settings->k8s, ctx->now_ms, &p);
	bool failed = p.phase == FPD_PHASE_RETRYABLE_FAILED || p.phase == FPD_PHASE_FAILED;
	if (failed) {
		fpd_phase_take_logs(&p, out);
		fpd_phase_info_clear(out);
		*out = p;
		out->cleanup = true;
	} else {
		fpd_phase_info_clear(&p);
	}
	return failed;
}

static bool started(const struct fpd_status_ctx *ctx, const char *name)
{
	const json_t *ws = workers_status(ctx->object);
	if (fpd_json_int_or(ctx->object, "status.restarts", 0) > 0 ||
	    fpd_json_int_or(ws, "ready", 0) > 0 || fpd_json_int_or(ws, "active", 0) > 0 ||
	    fpd_json_int_or(ws, "succeeded", 0) > 0 || fpd_json_int_or(ws, "failed", 0) > 0)
		return true;
	for (size_t i = 0; i < ctx->pod_count; i++)
		if (label_is(ctx->pods[i], NAME_LABEL, name) &&
		    !strcmp(fpd_json_str_or(ctx->pods[i], "status.phase", ""), "Running"))
			return true;
	return false;
}

static void running(const json_t *obj, int64_t max_restarts, struct fpd_phase_info *out)
{
	int64_t restarts = fpd_json_int_or(obj, "status.restarts", 0);
	if (!restarts)
		fpd_phase_set(out, FPD_PHASE_RUNNING, NULL, "running");
	else
		fpd_phase_setf(out, FPD_PHASE_RUNNING, "Restarting",
		               "running (restart attempt %" PRId64 ", %" PRId64 " of %" PRId64
		               " counted)",
		               restarts, counted_restarts(obj), max_restarts);
}

static void jobset_status(const struct fpd_status_ctx *ctx, struct fpd_phase_info *out)
{
	const json_t *obj = ctx->object;
	const char *name = fpd_json_str_or(obj, "metadata.name", "");
	const json_t *st = json_object_get(obj, "status");
	if (json_is_object(st))
		out->custom_info = json_deep_copy(st);
	rank_logs(ctx, name, out);
	int64_t max_restarts = fpd_json_int_or(obj, "spec.failurePolicy.maxRestarts", 0);
	const json_t *rank0 = rank_pod(ctx, name, "0");
	const json_t *c = current_condition(obj);
	const char *type = c ? fpd_json_str_or(c, "type", "") : "";
	const json_t *f;
	if ((f = condition(obj, "Completed"))) {
		fpd_phase_set(out, FPD_PHASE_SUCCEEDED, NULL, fpd_json_str_or(f, "message", ""));
		return;
	}
	if ((f = condition(obj, "Failed"))) {
		if (!strcmp(annotation(obj, MAINTENANCE_ANNOTATION), "true") &&
		    host_maintenance(rank0)) {
			fpd_phase_set(out, FPD_PHASE_RETRYABLE_FAILED, "HostMaintenance",
			              "pod evicted due to host maintenance; retrying without "
			              "charging max_restarts");
			out->kind = FPD_KIND_SYSTEM;
			out->cleanup = true;
			return;
		}
		const char *reason = fpd_json_str_or(f, "reason", "");
		fpd_phase_set(out, FPD_PHASE_RETRYABLE_FAILED, *reason ? reason : "JobSetFailed",
		              fpd_json_str_or(f, "message", "JobSet failed"));
		out->kind = FPD_KIND_USER;
		out->cleanup = true;
		return;
	}
	if (fpd_kueue_status(obj, "spec.suspend", out))
		return;
	if (!strcmp(type, "Suspended")) {
		fpd_phase_setf(out, FPD_PHASE_QUEUED, "Suspended", "JobSet suspended: %s",
		               fpd_json_str_or(c, "message", ""));
		return;
	}
	if (rank0_fails_fast(ctx, rank0, max_restarts, out))
		return;
	/* Any rank's pod that cannot run fails the task now: the JobSet would wait. */
	if (fpd_children_fail_fast(ctx->pods, ctx->pod_count,
	                           (struct fpd_children_filter){NAME_LABEL, name},
	                           &ctx->settings->k8s, ctx->now_ms, out))
		return;
	if (started(ctx, name) || !strcmp(type, "StartupPolicyCompleted")) {
		running(obj, max_restarts, out);
		return;
	}
	fpd_phase_set(out, FPD_PHASE_INITIALIZING, "Initializing",
	              "pods scheduling / DNS resolving");
}

/* Version 1 is what the Flyte 2 SDK's ClusteredTaskEnvironment writes; 0 is flytekit's default
 * (docs/parity/jobset.md). Both carry the same ClusteredTaskSpec. */
static const struct fpd_task_type jobset_types[] = {
    {"clustered-task", 0, &flyteidl2__plugins__clustered_task_spec__descriptor},
    {"clustered-task", 1, &flyteidl2__plugins__clustered_task_spec__descriptor},
};

static const struct fpd_kind jobset_kind = {"jobset.x-k8s.io/v1alpha2", "JobSet", "jobsets"};

const struct fpd_plugin fpd_plugin_jobset = {
    .abi = FPD_PLUGIN_ABI,
    .name = "clustered-task",
    .task_types = jobset_types,
    .task_type_count = FPD_ARRAY_LEN(jobset_types),
    .kind = &jobset_kind,
    .pod_owner_label = NAME_LABEL,
    .keep = (const char *const[]){"spec.failurePolicy.maxRestarts", "spec.replicatedJobs[].name",
                                  "spec.replicatedJobs[].template.spec.parallelism", "spec.suspend",
                                  "metadata.generation", NULL},
    .build = jobset_build,
    .status = jobset_status,
    .name_max_len = NAME_MAX_LEN,
    .pod_specs = (const char *const[]){"spec.replicatedJobs.*.template.spec.template.spec", NULL},
};
