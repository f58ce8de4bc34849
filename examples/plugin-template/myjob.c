/*
 * The "myjob" plugin: task type myjob (version 0) runs as a batch/v1 Job built from the task's
 * custom section, a mycompany.MyJob message (proto/myjob.proto), and reports the Job's
 * conditions as Flyte phases. A template to copy: README.md says what to rename.
 *
 * The engine decodes TaskTemplate.custom into MyJob by proto3 JSON rules before build() runs
 * (CreateTask is refused, naming the field, when "replicas" is not a number; unknown keys are
 * ignored, as Flyte's plugins ignore them), so build() reads typed fields only.
 */
#include <flyteplugd/error.h>
#include <flyteplugd/logs.h>
#include <flyteplugd/object.h>
#include <flyteplugd/phase.h>
#include <flyteplugd/plugin.h>
#include <flyteplugd/pod.h>
#include <flyteplugd/settings.h>

#include <stdlib.h>
#include <string.h>

#include "myjob.pb-c.h"

/* The label the Job controller puts on the pods of a Job, with the Job's name. */
#define JOB_NAME_LABEL "batch.kubernetes.io/job-name"

/* The container's image: custom.image, else the task's container image. */
static const char *job_image(const struct fpd_task *task, const Mycompany__MyJob *job)
{
	if (job && job->image && *job->image)
		return job->image;
	const Flyteidl__Core__Container *c = task->tmpl->container;
	return c && c->image && *c->image ? c->image : NULL;
}

/* Flyte's environment (every container gets it), then custom.params. New reference. */
static json_t *job_env(const struct fpd_task *task, const Mycompany__MyJob *job)
{
	json_t *env = task->injected_env ? json_deep_copy(task->injected_env) : json_array();
	for (size_t i = 0; job && i < job->n_params; i++)
		json_array_append_new(env, fpd_json_name_value(job->params[i]->key,
		                                               json_string(job->params[i]->value)));
	return env;
}

/* The strings of list, each with Flyte's templates rendered ({{ .inputs.n }},
 * {{ .outputPrefix }}, ...), as a new JSON array in *out. */
static int render_list(const struct fpd_task *task, char *const *list, size_t n, json_t **out,
                       struct fpd_error *err)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		char *s;
		int rc = fpd_render_template(task, list[i], &s, err);
		if (rc) {
			json_decref(arr);
			return rc;
		}
		json_array_append_new(arr, json_string(s));
		free(s);
	}
	*out = arr;
	return 0;
}

/* The task container's command, args (rendered) and resources, added to c. */
static int from_task_container(const struct fpd_task *task, json_t *c, struct fpd_error *err)
{
	const Flyteidl__Core__Container *tc = task->tmpl->container;
	if (!tc)
		return 0;
	json_t *command, *args, *res;
	int rc = render_list(task, tc->command, tc->n_command, &command, err);
	if (rc)
		return fpd_error_wrap(err, rc, "container.command");
	json_object_set_new(c, "command", command);
	if ((rc = render_list(task, tc->args, tc->n_args, &args, err)))
		return fpd_error_wrap(err, rc, "container.args");
	json_object_set_new(c, "args", args);
	if (!tc->resources)
		return 0;
	if ((rc = fpd_pod_resources_from_proto(tc->resources, "nvidia.com/gpu", &res, err)))
		return fpd_error_wrap(err, rc, "container.resources");
	json_object_set_new(c, "resources", res);
	return 0;
}

/* The Job's one container: image, env, and what the task's container says. New in *out. */
static int job_container(const struct fpd_task *task, const Mycompany__MyJob *job, json_t **out,
                         struct fpd_error *err)
{
	const char *image = job_image(task, job);
	if (!image)
		return fpd_error_set(err, FPD_EINVAL,
		                     "custom.image: empty, and the task has no container image");
	json_t *c =
	    json_pack("{s:s,s:s,s:o}", "name", "main", "image", image, "env", job_env(task, job));
	if (!c)
		return fpd_error_set(err, FPD_EINVAL, "custom.image: not valid UTF-8");
	int rc = from_task_container(task, c, err);
	if (rc) {
		json_decref(c);
		return rc;
	}
	*out = c;
	return 0;
}

static int build(const struct fpd_task *task, json_t **out, struct fpd_error *err)
{
	const Mycompany__MyJob *job = (const Mycompany__MyJob *)task->custom;
	int32_t replicas = job && job->replicas ? job->replicas : 1;
	if (replicas < 1 || replicas > 1000)
		return fpd_error_set(err, FPD_EINVAL, "custom.replicas: %d is not from 1 to 1000",
		                     (int)replicas);
	int32_t backoff = job ? job->backoff_limit : 0;
	if (backoff < 0)
		return fpd_error_set(err, FPD_EINVAL, "custom.backoffLimit: %d is negative",
		                     (int)backoff);
	json_t *container;
	int rc = job_container(task, job, &container, err);
	if (rc)
		return rc;
	/* The pod template carries Flyte's labels and annotations: the engine finds the pods by
	 * them, and they name the execution to whoever reads the pods. */
	*out = json_pack("{s:s,s:s,s:{s:i,s:i,s:i,s:{s:{s:O,s:O},s:{s:s,s:[o]}}}}", "apiVersion",
	                 "batch/v1", "kind", "Job", "spec", "parallelism", (int)replicas,
	                 "completions", (int)replicas, "backoffLimit", (int)backoff, "template",
	                 "metadata", "labels", task->labels, "annotations", task->annotations,
	                 "spec", "restartPolicy", "Never", "containers", container);
	if (!*out)
		return fpd_error_set(err, FPD_EINVAL, "the Job could not be built");
	return 0;
}

/* The condition of the given type whose status is "True", or NULL. Borrowed. */
static const json_t *true_condition(const json_t *job, const char *type)
{
	const json_t *conds = fpd_json_get(job, "status.conditions"), *c;
	size_t i;
	json_array_foreach(conds, i, c)
	{
		const char *t = fpd_json_str(c, "type"), *s = fpd_json_str(c, "status");
		if (t && s && !strcmp(t, type) && !strcmp(s, "True"))
			return c;
	}
	return NULL;
}

/* Log links of every pod the engine found for the Job. */
static void job_logs(const struct fpd_status_ctx *ctx, struct fpd_phase_info *out)
{
	for (size_t i = 0; i < ctx->pod_count; i++) {
		struct fpd_log_input in = {.ref = ctx->ref,
		                           .pod = ctx->pods[i],
		                           .task_config = ctx->task_config,
		                           .now_ms = ctx->now_ms};
		fpd_logs_for_pod(&ctx->settings->logs, &in, out);
	}
}

/*
 * Complete: succeeded. Failed (BackoffLimitExceeded, DeadlineExceeded, ...): a user failure,
 * not retried by Flyte since the Job already retried its pods. Suspended: queued. Otherwise
 * running once a pod is active, else queued. FailureTarget and SuccessCriteriaMet come before
 * the final condition while pods are still terminating: the Job is still running then, even
 * with no pod left active.
 */
static void status(const struct fpd_status_ctx *ctx, struct fpd_phase_info *out)
{
	const json_t *job = ctx->object, *c;
	job_logs(ctx, out);
	if ((c = true_condition(job, "Complete"))) {
		fpd_phase_set(out, FPD_PHASE_SUCCEEDED, NULL, fpd_json_str(c, "message"));
	} else if ((c = true_condition(job, "Failed"))) {
		fpd_phase_setf(out, FPD_PHASE_FAILED, fpd_json_str_or(c, "reason", "JobFailed"),
		               "Job failed: %s", fpd_json_str_or(c, "message", "no message"));
		out->kind = FPD_KIND_USER;
	} else if ((c = true_condition(job, "Suspended"))) {
		fpd_phase_set(out, FPD_PHASE_QUEUED, "Suspended", fpd_json_str(c, "message"));
	} else if ((c = true_condition(job, "FailureTarget")) ||
	           (c = true_condition(job, "SuccessCriteriaMet"))) {
		fpd_phase_setf(out, FPD_PHASE_RUNNING, NULL, "finishing: %s",
		               fpd_json_str_or(c, "reason", "pods terminating"));
	} else if (fpd_json_int_or(job, "status.active", 0) > 0 ||
	           fpd_json_int_or(job, "status.ready", 0) > 0) {
		fpd_phase_setf(out, FPD_PHASE_RUNNING, NULL, "%lld pods active",
		               (long long)fpd_json_int_or(job, "status.active", 0));
	} else {
		fpd_phase_set(out, FPD_PHASE_QUEUED, NULL, "the Job has no active pod yet");
	}
}

static const struct fpd_task_type types[] = {{"myjob", 0, &mycompany__my_job__descriptor}};
static const struct fpd_kind kind = {"batch/v1", "Job", "jobs"};

static const struct fpd_plugin plugin = {
    .abi = FPD_PLUGIN_ABI,
    .name = "myjob",
    .task_types = types,
    .task_type_count = 1,
    .kind = &kind,
    .pod_owner_label = JOB_NAME_LABEL,
    .build = build,
    .status = status,
};

__attribute__((visibility("default"))) const struct fpd_plugin *fpd_plugin_entry = &plugin;
