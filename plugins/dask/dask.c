/*
 * The Dask plugin (Flyte's plugins/k8s/dask/dask.go at flyteorg/flyte master 6fadb90d): a
 * `dask` task becomes one DaskJob (kubernetes.dask.org/v1) of the Dask operator. The task's pod
 * is built twice (fpd_pod_build_spec): as the task asks for the workers, never interruptible
 * for the scheduler and the job runner; each role renames the primary container and sets the
 * `dask` CLI's arguments.
 *
 * Status follows Flyte's GetTaskPhase on status.jobStatus, after the job-runner pod: a runner
 * pod that failed, or cannot start, fails the task at once. The operator's pods are told apart
 * by its own labels (dask.org/cluster-name, dask.org/component = scheduler | worker |
 * job-runner), which it sets next to the DaskJob's labels it copies onto every pod. See
 * docs/parity/dask.md.
 *
 * Settings: `plugins.settings.dask.logs` (Flyte's plugins.dask.logs) for the runner's links.
 */
#include "dask.h"

#include "../children.h"

#include <flyteplugd/logs.h>
#include <flyteplugd/object.h>
#include <flyteplugd/pod.h>
#include <flyteplugd/quantity.h>

#include <flyteplugd/error.h>
#include <flyteplugd/mem.h>
#include "flyteidl/plugins/dask.pb-c.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* --- settings --- */

/* propeller's dask LogConfig defaults to logs.DefaultConfig: a `logs` section starts from it. */
static const struct fpd_schema_field dask_fields[] = {
    {"logs", FPD_SCHEMA_OPTIONAL_SECTION, offsetof(struct fpd_dask_settings, logs),
     .fields = fpd_log_settings_fields, .elem_size = sizeof(struct fpd_log_settings),
     .elem_defaults = fpd_log_settings_defaults},
    {NULL},
};

/* The primary container of spec, renamed; NULL when missing. Borrowed. */
static json_t *rename_primary(json_t *spec, const char *primary, const char *name)
{
	json_t *c = fpd_pod_find_container(spec, primary);
	if (c)
		json_object_set_new(c, "name", json_string(name));
	return c;
}

/* Flyte: a group's own resources (ToK8sResourceRequirements + ApplyK8sResourceOverrides)
 * replace the container's when they name any request or limit. */
static int group_resources(const struct fpd_task *task, json_t *c,
                           const Flyteidl__Core__Resources *r, struct fpd_error *err)
{
	if (!r || (r->n_requests == 0 && r->n_limits == 0))
		return FPD_OK;
	json_t *res;
	int rc = fpd_pod_resources_from_proto(r, "nvidia.com/gpu", &res, err);
	if (rc)
		return rc;
	json_object_set_new(c, "resources", res);
	return fpd_pod_settle_resources(c, NULL, FPD_RES_MERGE, &task->settings->k8s, err);
}

static void set_image(json_t *c, const char *image)
{
	if (image && *image)
		json_object_set_new(c, "image", json_string(image));
}

/* ["dask", "worker", "--name", "$(DASK_WORKER_NAME)"] plus, with limits, --nthreads (the cpu
 * limit rounded up, Quantity.Value) and --memory-limit (the memory limit's canonical form). */
static json_t *worker_args(const json_t *c)
{
	json_t *args = json_pack("[ssss]", "dask", "worker", "--name", "$(DASK_WORKER_NAME)");
	const json_t *limits = fpd_json_get(c, "resources.limits");
	if (!json_is_object(limits))
		return args;
	double cpu = 0;
	const char *cs = json_string_value(json_object_get(limits, "cpu"));
	if (cs)
		fpd_quantity_parse(cs, &cpu);
	char n[32];
	snprintf(n, sizeof(n), "%lld", (long long)ceil(cpu));
	const char *ms = json_string_value(json_object_get(limits, "memory"));
	char *mem = ms ? fpd_quantity_canonical(ms) : NULL;
	json_t *more = json_pack("[ss ss]", "--nthreads", n, "--memory-limit", mem ? mem : "0");
	json_array_extend(args, more); /* does not take the reference */
	json_decref(more);
	free(mem);
	return args;
}

static int worker_spec(const struct fpd_task *task, const Flyteidl__Plugins__DaskWorkerGroup *w,
                       const struct fpd_pod *pod, json_t **out, struct fpd_error *err)
{
	json_t *spec = json_deep_copy(pod->spec);
	json_t *c = rename_primary(spec, pod->primary, "dask-worker");
	int rc = FPD_OK;
	if (!c)
		rc = fpd_error_set(err, FPD_EINVAL, "primary container [%s] not found in pod spec",
		                   pod->primary);
	if (!rc) {
		set_image(c, w->image);
		rc = group_resources(task, c, w->resources, err);
	}
	if (rc) {
		json_decref(spec);
		return rc;
	}
	json_object_set_new(c, "args", worker_args(c));
	json_object_set_new(spec, "restartPolicy", json_string("Always"));
	fpd_pod_omit_empty(spec);
	fpd_pod_canonical_quantities(spec);
	*out = json_pack("{s:I,s:o}", "replicas", (json_int_t)w->number_of_workers, "spec", spec);
	return FPD_OK;
}

static int scheduler_spec(const struct fpd_task *task, const Flyteidl__Plugins__DaskScheduler *s,
                          const struct fpd_pod *pod, json_t **out, struct fpd_error *err)
{
	json_t *spec = json_deep_copy(pod->spec);
	json_t *c = rename_primary(spec, pod->primary, "scheduler");
	int rc = FPD_OK;
	if (!c)
		rc = fpd_error_set(err, FPD_EINVAL, "primary container [%s] not found in pod spec",
		                   pod->primary);
	if (!rc) {
		set_image(c, s->image);
		rc = group_resources(task, c, s->resources, err);
	}
	if (rc) {
		json_decref(spec);
		return rc;
	}
	json_object_set_new(c, "args", json_pack("[ss]", "dask", "scheduler"));
	json_object_set_new(c, "ports",
	                    json_pack("[{s:s,s:i,s:s},{s:s,s:i,s:s}]", "name", "tcp-comm",
	                              "containerPort", 8786, "protocol", "TCP", "name", "dashboard",
	                              "containerPort", 8787, "protocol", "TCP"));
	/* Ready once the dashboard answers; a probe of the task's own pod template stays. */
	if (!json_object_get(c, "readinessProbe"))
		json_object_set_new(c, "readinessProbe",
		                    json_pack("{s:{s:s},s:i,s:i,s:i}", "httpGet", "port",
		                              "dashboard", "initialDelaySeconds", 5,
		                              "periodSeconds", 5, "failureThreshold", 30));
	json_object_set_new(spec, "restartPolicy", json_string("Always"));
	fpd_pod_omit_empty(spec);
	fpd_pod_canonical_quantities(spec);
	json_t *service =
	    json_pack("{s:s,s:{s:s,s:s},s:[{s:s,s:s,s:i,s:s},{s:s,s:s,s:i,s:s}]}", "type",
	              "NodePort", "selector", "dask.org/cluster-name", task->ref.generated_name,
	              "dask.org/component", "scheduler", "ports", "name", "tcp-comm", "protocol",
	              "TCP", "port", 8786, "targetPort", "tcp-comm", "name", "dashboard",
	              "protocol", "TCP", "port", 8787, "targetPort", "dashboard");
	*out = json_pack("{s:o,s:o}", "spec", spec, "service", service);
	return FPD_OK;
}

static int job_runner_spec(const struct fpd_pod *pod, json_t **out, struct fpd_error *err)
{
	json_t *spec = json_deep_copy(pod->spec);
	json_object_set_new(spec, "restartPolicy", json_string("Never"));
	if (!rename_primary(spec, pod->primary, "job-runner")) {
		json_decref(spec);
		return fpd_error_set(err, FPD_EINVAL,
		                     "primary container [%s] not found in pod spec", pod->primary);
	}
	fpd_pod_canonical_quantities(spec);
	*out = spec;
	return FPD_OK;
}

static int dask_build(const struct fpd_task *task, json_t **out, struct fpd_error *err)
{
	const Flyteidl__Plugins__DaskJob *job = (const void *)task->custom;
	*out = NULL;
	if (!job || !job->workers || !job->scheduler)
		return fpd_error_set(err, FPD_EINVAL,
		                     "invalid TaskSpecification [%s], failed to unmarshal: %s",
		                     "custom", "scheduler and workers are required");
	struct fpd_pod pod = {0}, fixed = {0};
	struct fpd_pod_options never = {.interruptible = FPD_POD_INTERRUPTIBLE_NEVER};
	int rc = fpd_pod_build_spec(task, NULL, &pod, err);
	if (!rc)
		rc = fpd_pod_build_spec(task, &never, &fixed, err);
	json_t *worker = NULL, *scheduler = NULL, *runner = NULL;
	if (!rc)
		rc = worker_spec(task, job->workers, &pod, &worker, err);
	if (!rc)
		rc = scheduler_spec(task, job->scheduler, &fixed, &scheduler, err);
	if (!rc)
		rc = job_runner_spec(&fixed, &runner, err);
	if (!rc) {
		/* Flyte adds the execution's labels and annotations to the pod's objectMeta, which
		 * it uses for the DaskJob and for spec.cluster.metadata. The operator's published
		 * CRD has no spec.cluster.metadata (the API server prunes it); the operator copies
		 * the DaskJob's own labels and annotations onto the cluster and every pod. */
		json_t *labels = json_deep_copy(pod.labels);
		json_t *ann = json_deep_copy(pod.annotations);
		json_object_update(labels, (json_t *)task->labels);
		json_object_update(ann, (json_t *)task->annotations);
		*out = json_pack("{s:s,s:s,s:{s:o,s:o},s:{s:{s:o},s:{s:{s:o,s:o}}}}", "apiVersion",
		                 "kubernetes.dask.org/v1", "kind", "DaskJob", "metadata", "labels",
		                 labels, "annotations", ann, "spec", "job", "spec", runner,
		                 "cluster", "spec", "worker", worker, "scheduler", scheduler);
		worker = scheduler = runner = NULL;
	}
	json_decref(worker);
	json_decref(scheduler);
	json_decref(runner);
	fpd_pod_clear(&pod);
	fpd_pod_clear(&fixed);
	return rc ? FPD_EINVAL : FPD_OK;
}

/* --- status --- */

/* The operator's pod of one role (label dask.org/component) in this DaskJob's cluster (label
 * dask.org/cluster-name, the DaskJob's name), or the pod called `name` when name is not
 * empty; NULL when none was delivered. Of several, the first by name, as Flyte's list. */
static const json_t *role_pod(const struct fpd_status_ctx *ctx, const char *component,
                              const char *name)
{
	const char *cluster = fpd_json_str_or(ctx->object, "metadata.name", "");
	const json_t *found = NULL;
	for (size_t i = 0; i < ctx->pod_count; i++) {
		const json_t *labels = fpd_json_get(ctx->pods[i], "metadata.labels");
		const char *comp = json_string_value(json_object_get(labels, "dask.org/component"));
		const char *cl =
		    json_string_value(json_object_get(labels, "dask.org/cluster-name"));
		const char *pn = fpd_json_str_or(ctx->pods[i], "metadata.name", "");
		bool named = *name && !strcmp(pn, name);
		bool role = comp && cl && !strcmp(comp, component) && !strcmp(cl, cluster);
		if ((named || role) &&
		    (!found || strcmp(pn, fpd_json_str_or(found, "metadata.name", "")) < 0))
			found = ctx->pods[i];
	}
	return found;
}

/* Flyte's links: the runner pod by name (no container, no times) in the DaskJob's namespace,
 * with {{ .daskSchedulerName }} the scheduler pod's name once there is one. From
 * `plugins.settings.dask.logs` when set, else from the daemon's `logs:` (the same input). */
static void dask_logs(const struct fpd_status_ctx *ctx, const char *runner, const json_t *scheduler,
                      struct fpd_phase_info *out)
{
	const struct fpd_dask_settings *s = ctx->plugin_settings;
	json_t *pseudo =
	    json_pack("{s:{s:s,s:s},s:{s:[{}]}}", "metadata", "name", runner, "namespace",
	              fpd_json_str_or(ctx->object, "metadata.namespace", ""), "spec", "containers");
	struct fpd_log_var var = {"daskSchedulerName",
	                          fpd_json_str_or(scheduler, "metadata.name", "")};
	struct fpd_log_input in = {.ref = ctx->ref,
	                           .pod = pseudo,
	                           .log_name = "",
	                           .task_config = ctx->task_config,
	                           .extra_vars = &var,
	                           .extra_var_count = *var.value ? 1 : 0,
	                           .now_ms = ctx->now_ms};
	fpd_logs_for_pod(s && s->logs ? s->logs : &ctx->settings->logs, &in, out);
	json_decref(pseudo);
}

/* Flyte's DemystifyFailedOrPendingPod on the job-runner pod: a Failed or Pending pod read as a
 * task pod whose primary container is `job-runner`, into *p (zeroed by the caller) over a copy
 * of links' log links. False, *p untouched, when the pod is in neither phase. */
static bool runner_phase(const struct fpd_status_ctx *ctx, const json_t *pod,
                         const struct fpd_phase_info *links, struct fpd_phase_info *p)
{
	const char *phase = fpd_json_str_or(pod, "status.phase", "");
	if (strcmp(phase, "Failed") && strcmp(phase, "Pending"))
		return false;
	json_t *copy = json_deep_copy(pod);
	json_t *meta = fpd_json_ensure_obj(copy, "metadata");
	json_t *ann = json_object_get(meta, "annotations");
	if (!json_is_object(ann))
		json_object_set_new(meta, "annotations", ann = json_object());
	json_object_set_new(ann, FPD_POD_PRIMARY_ANNOTATION, json_string("job-runner"));
	fpd_phase_info_copy(p, links);
	fpd_pod_status(copy, &ctx->settings->k8s, ctx->now_ms, p);
	json_decref(copy);
	return true;
}

/* Flyte's table on status.jobStatus (JobCreated, ClusterCreated, Running, Successful, Failed:
 * every value the operator writes). */
static void job_phase(const char *st, struct fpd_phase_info *out)
{
	if (!*st)
		fpd_phase_set(out, FPD_PHASE_INITIALIZING, NULL, "unknown");
	else if (!strcmp(st, "JobCreated"))
		fpd_phase_set(out, FPD_PHASE_INITIALIZING, NULL, "job created");
	else if (!strcmp(st, "ClusterCreated"))
		fpd_phase_set(out, FPD_PHASE_INITIALIZING, NULL, "cluster created");
	else if (!strcmp(st, "Running"))
		fpd_phase_set(out, FPD_PHASE_RUNNING, NULL, NULL);
	else if (!strcmp(st, "Successful"))
		fpd_phase_set(out, FPD_PHASE_SUCCEEDED, NULL, NULL);
	else if (!strcmp(st, "Failed"))
		fpd_phase_set(out, FPD_PHASE_RETRYABLE_FAILED, "DownstreamSystemError",
		              "Dask Job failed");
	else /* Flyte says Running; a state this plugin does not know keeps the last phase */
		fpd_phase_setf(out, FPD_PHASE_UNDEFINED, NULL, "unknown job status: %s", st);
}

static void dask_status(const struct fpd_status_ctx *ctx, struct fpd_phase_info *out)
{
	const char *name = fpd_json_str_or(ctx->object, "status.jobRunnerPodName", "");
	const json_t *runner = role_pod(ctx, "job-runner", name);
	dask_logs(ctx, name, role_pod(ctx, "scheduler", ""), out);

	struct fpd_phase_info p = {0};
	bool read = runner && runner_phase(ctx, runner, out, &p);
	if (read && fpd_phase_is_failure(p.phase)) {
		/* A runner that failed, or cannot start, fails the task whatever the job says. */
		fpd_phase_info_clear(out);
		*out = p;
		return;
	}
	job_phase(fpd_json_str_or(ctx->object, "status.jobStatus", ""), out);
	/* The scheduler's or any worker's pod that cannot run fails the job now. */
	if (!fpd_phase_is_terminal(out->phase) &&
	    fpd_children_fail_fast(
	        ctx->pods, ctx->pod_count,
	        (struct fpd_children_filter){"dask.org/cluster-name",
	                                     fpd_json_str_or(ctx->object, "metadata.name", "")},
	        &ctx->settings->k8s, ctx->now_ms, out)) {
		fpd_phase_info_clear(&p);
		return;
	}
	if (read) {
		/* While initializing, the pending runner may say why nothing moves ("Demistify
		 * Pending" is Flyte's word for a pod with nothing to say yet); its grace periods
		 * are re-checked whatever the job's state. */
		if (out->phase == FPD_PHASE_INITIALIZING && p.message && *p.message &&
		    strcmp(p.message, "Demistify Pending") != 0) {
			char *m =
			    fpd_asprintf("%s; job-runner pod %s: %s", out->message,
			                 fpd_json_str_or(runner, "metadata.name", ""), p.message);
			free(out->message);
			out->message = m;
		}
		out->recheck_at_ms = p.recheck_at_ms;
	}
	fpd_phase_info_clear(&p);
}

static const struct fpd_task_type dask_task_types[] = {
    {"dask", 0, &flyteidl__plugins__dask_job__descriptor},
};

static const struct fpd_kind dask_kind = {"kubernetes.dask.org/v1", "DaskJob", "daskjobs"};

const struct fpd_plugin fpd_plugin_dask = {
    .abi = FPD_PLUGIN_ABI,
    .name = "dask",
    .task_types = dask_task_types,
    .task_type_count = sizeof(dask_task_types) / sizeof(dask_task_types[0]),
    .kind = &dask_kind,
    /* The operator names its cluster after the DaskJob and labels the scheduler, worker and
     * job-runner pods with it. status() reads only metadata and status: nothing to keep. */
    .pod_owner_label = "dask.org/cluster-name",
    .settings_schema = dask_fields,
    .settings_size = sizeof(struct fpd_dask_settings),
    .build = dask_build,
    .status = dask_status,
    .pod_specs = (const char *const[]){"spec.job.spec", "spec.cluster.spec.scheduler.spec",
                                       "spec.cluster.spec.worker.spec", NULL},
};
