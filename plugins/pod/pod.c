/*
 * The Pod plugin (Flyte's plugins/k8s/pod): container and pod tasks as one Pod.
 *
 * Task types are those Flyte's `container` and `sidecar` Kubernetes plugins serve: flytekit's
 * function tasks (python-task), container tasks (raw-container), the generic `container`
 * type, and pod tasks (`sidecar`, versions 0-2 of its custom format). Version 0 keeps
 * {podSpec, primaryContainerName, annotations, labels} in TaskTemplate.custom, version 1 keeps
 * the PodSpec itself there (primary container in TaskTemplate.config), version 2 and the other
 * types use the template's container or k8s_pod target.
 *
 * Flyte registers these types without a version and builds every version of the non-sidecar
 * types alike; the engine resolves exact versions, so the versions flytekit writes are listed:
 * python-task 1 is flytekitplugins-kfpytorch's single-node Elastic task (torchrun in one pod).
 *
 * The engine names the pod, sets its namespace and Flyte's labels; this file adds what Flyte's
 * BuildResource adds: the primary-container annotation and the service account.
 */
#include "pod.h"

#include <flyteplugd/logs.h>
#include <flyteplugd/object.h>
#include <flyteplugd/pod.h>
#include <flyteplugd/queue.h>

#include <flyteplugd/error.h>
#include <flyteplugd/mem.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Go's encoding/json matches struct fields to keys ignoring case. */
static const json_t *get_ci(const json_t *o, const char *key)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)o, k, v)
	{
		if (!strcasecmp(k, key))
			return v;
	}
	return NULL;
}

/* Custom as text for messages (fpd_error truncates it). */
static char *custom_text(const struct fpd_task *task)
{
	char *s = json_dumps(task->custom_json, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	return s ? s : fpd_strdup("null");
}

static int string_map(const json_t *from, json_t *into)
{
	const char *k;
	json_t *v;
	if (fpd_pod_unset(from))
		return 0;
	if (!json_is_object(from))
		return -1;
	json_object_foreach((json_t *)from, k, v)
	{
		if (!json_is_string(v))
			return -1;
		json_object_set(into, k, v);
	}
	return 0;
}

/* sidecar v0: custom = {podSpec, primaryContainerName, annotations, labels}. */
static int sidecar_v0(const struct fpd_task *task, struct fpd_pod *pod, struct fpd_error *err)
{
	const json_t *c = task->custom_json, *spec = get_ci(c, "podSpec");
	const json_t *primary = get_ci(c, "primaryContainerName");
	char *text = custom_text(task);
	int rc = FPD_OK;
	if (fpd_pod_unset(spec))
		rc = fpd_error_set(err, FPD_EINVAL, "invalid TaskSpecification, nil PodSpec [%s]",
		                   text);
	else if ((primary && !json_is_string(primary)) ||
	         string_map(get_ci(c, "annotations"), pod->annotations) ||
	         string_map(get_ci(c, "labels"), pod->labels))
		rc = fpd_error_set(err, FPD_EINVAL, "invalid TaskSpecification [%s], Err: [%s]",
		                   text,
		                   "primaryContainerName, annotations and labels must be strings");
	else if ((rc = fpd_pod_check_spec(spec, err)) != 0)
		fpd_error_wrap(err, rc, "invalid TaskSpecification [%s], Err", text);
	free(text);
	if (rc)
		return rc;
	pod->spec = json_deep_copy(spec);
	pod->primary = fpd_strdup(primary ? json_string_value(primary) : "");
	return FPD_OK;
}

/* sidecar v1: custom is the PodSpec; the primary container is named in config. */
static int sidecar_v1(const struct fpd_task *task, struct fpd_pod *pod, struct fpd_error *err)
{
	int rc = fpd_pod_check_spec(task->custom_json, err);
	if (rc) {
		char *text = custom_text(task);
		fpd_error_wrap(err, rc, "Unable to unmarshal task custom [%s], Err", text);
		free(text);
		return rc;
	}
	if (task->tmpl->n_config == 0)
		return fpd_error_set(err, FPD_EINVAL,
		                     "invalid TaskSpecification, config needs to be "
		                     "non-empty and include missing [%s] key",
		                     FPD_POD_PRIMARY_ANNOTATION);
	const char *primary = fpd_pod_config_get(task->tmpl, FPD_POD_PRIMARY_ANNOTATION);
	if (!primary) {
		char cfg[256];
		fpd_pod_config_text(task->tmpl, cfg, sizeof(cfg));
		return fpd_error_set(err, FPD_EINVAL,
		                     "invalid TaskSpecification, config missing [%s] key in [%s]",
		                     FPD_POD_PRIMARY_ANNOTATION, cfg);
	}
	pod->spec = json_deep_copy(task->custom_json);
	pod->primary = fpd_strdup(primary);
	const Flyteidl__Core__K8sObjectMetadata *m =
	    task->tmpl->target_case == FLYTEIDL__CORE__TASK_TEMPLATE__TARGET_K8S_POD
	        ? task->tmpl->k8s_pod->metadata
	        : NULL;
	for (size_t i = 0; m && i < m->n_annotations; i++)
		json_object_set_new(pod->annotations, m->annotations[i]->key,
		                    json_string(m->annotations[i]->value));
	for (size_t i = 0; m && i < m->n_labels; i++)
		json_object_set_new(pod->labels, m->labels[i]->key,
		                    json_string(m->labels[i]->value));
	return FPD_OK;
}

static int raw_for_type(const struct fpd_task *task, struct fpd_pod *pod, struct fpd_error *err)
{
	bool sidecar = !strcmp(task->tmpl->type, "sidecar");
	if (!sidecar || task->tmpl->task_type_version > 1)
		return fpd_pod_build_raw(task, pod, err);
	pod->labels = json_object();
	pod->annotations = json_object();
	return task->tmpl->task_type_version == 0 ? sidecar_v0(task, pod, err)
	                                          : sidecar_v1(task, pod, err);
}

/* What Flyte's BuildResource adds after ApplyFlytePodConfiguration. */
static void finish_pod(const struct fpd_task *task, struct fpd_pod *pod)
{
	const char *type = task->tmpl->type;
	/* With the annotation the task ends with its primary container; without it, when
	 * every container has ended. Flyte also annotates a lone container, except for
	 * raw-container tasks. */
	if (!strcmp(type, "sidecar") ||
	    (json_array_size(json_object_get(pod->spec, "containers")) == 1 &&
	     strcmp(type, "raw-container")))
		json_object_set_new(pod->annotations, FPD_POD_PRIMARY_ANNOTATION,
		                    json_string(pod->primary));
	const char *sa = fpd_json_str_or(pod->spec, "serviceAccountName", "");
	const Flyteidl__Core__Identity *id = task->meta ? task->meta->identity : NULL;
	if (!*sa && id && id->k8s_service_account && *id->k8s_service_account)
		json_object_set_new(pod->spec, "serviceAccountName",
		                    json_string(id->k8s_service_account));
}

static int pod_build(const struct fpd_task *task, json_t **out, struct fpd_error *err)
{
	struct fpd_pod pod = {0};
	int rc = raw_for_type(task, &pod, err);
	if (!rc)
		rc = fpd_pod_apply_flyte_config(task, NULL, &pod, err);
	if (!rc) {
		finish_pod(task, &pod);
		/* No suspend field: Kueue's pod webhook gates a labelled pod until admission. */
		const char *queue = fpd_kueue_queue(task, NULL);
		if (queue)
			json_object_set_new(pod.labels, FPD_KUEUE_QUEUE_LABEL, json_string(queue));
		*out = json_pack("{s:s,s:s,s:{s:O,s:O},s:O}", "apiVersion", "v1", "kind", "Pod",
		                 "metadata", "labels", pod.labels, "annotations", pod.annotations,
		                 "spec", pod.spec);
		fpd_pod_omit_empty(*out);
		fpd_pod_canonical_quantities(json_object_get(*out, "spec"));
	}
	fpd_pod_clear(&pod);
	/* Every failure here is the task's (a text over the bound included): plugin.h asks for
	 * FPD_EINVAL so that the engine reports a permanent failure. */
	return rc ? FPD_EINVAL : FPD_OK;
}

static void pod_status(const struct fpd_status_ctx *ctx, struct fpd_phase_info *out)
{
	struct fpd_log_input in = {.ref = ctx->ref,
	                           .pod = ctx->object,
	                           .log_name = " (User)",
	                           .task_config = ctx->task_config,
	                           .now_ms = ctx->now_ms};
	fpd_logs_for_pod(&ctx->settings->logs, &in, out);
	fpd_pod_status(ctx->object, &ctx->settings->k8s, ctx->now_ms, out);
	/* Gated or stopped by Kueue: a pending pod's phase says only "Pending". */
	if (!fpd_phase_is_terminal(out->phase) && fpd_kueue_pod_status(ctx->object, out))
		out->recheck_at_ms = 0;
}

/* "python" is Flyte 2's name for a Python function task (its pod plugin's and the Flyte 2
 * SDK's); the rest are Flyte 1's. */
static const struct fpd_task_type pod_task_types[] = {
    {"python-task", 0}, {"python-task", 1}, {"container", 0}, {"raw-container", 0},
    {"sidecar", 0},     {"sidecar", 1},     {"sidecar", 2},   {"python", 0},
};

static const struct fpd_kind pod_kind = {"v1", "Pod", "pods"};

/* Status and log links read container names, hostname and nodeName, Kueue's status its
 * scheduling gates; nothing else of the spec. */
static const char *const pod_keep[] = {"spec.containers[].name", "spec.initContainers[].name",
                                       "spec.hostname",          "spec.nodeName",
                                       "spec.schedulingGates",   NULL};

const struct fpd_plugin fpd_plugin_pod = {
    .abi = FPD_PLUGIN_ABI,
    .name = "pod",
    .task_types = pod_task_types,
    .task_type_count = sizeof(pod_task_types) / sizeof(pod_task_types[0]),
    .kind = &pod_kind,
    .keep = pod_keep,
    .build = pod_build,
    .status = pod_status,
    .pod_specs = (const char *const[]){"spec", NULL},
};
