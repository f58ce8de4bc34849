/*
 * What the three Kubeflow plugins build alike (Flyte's kfoperators/common): a replica spec per
 * role on top of the pod base, the run policy, the job object, and the plugin settings.
 *
 * A replica's pod template is the task's pod (fpd_pod_build_spec, i.e. Flyte's ToK8sPodSpec)
 * with the primary container renamed to the operator's default container name, labelled and
 * annotated as Flyte's ToReplicaSpec does: k8s defaults < the pod's own < the execution's.
 */
#include "kubeflow.h"

#include <flyteplugd/object.h>
#include <flyteplugd/pod.h>

#include <flyteplugd/error.h>

#include <stddef.h>
#include <stdio.h>
#include <string.h>

const struct fpd_schema_field fpd_kf_settings_schema[] = {
    {"timeout", FPD_SCHEMA_DURATION, offsetof(struct fpd_kf_settings, timeout_ms), 1000,
     7 * 24 * 3600 * 1000LL},
    {"enable-distributed-error-aggregation", FPD_SCHEMA_BOOL,
     offsetof(struct fpd_kf_settings, enable_distributed_error_aggregation)},
    {0},
};

void fpd_kf_settings_defaults(void *settings)
{
	struct fpd_kf_settings *s = settings;
	s->timeout_ms = 60 * 1000;
	s->enable_distributed_error_aggregation = false;
}

const struct fpd_kf_settings *fpd_kf_settings_or_default(const void *ps)
{
	static const struct fpd_kf_settings defaults = {.timeout_ms = 60 * 1000};
	return ps ? ps : &defaults;
}

/* Flyte's ParseRestartPolicy; an enum value it does not map gives "" (omitted, as Go does). */
static const char *restart_policy(int p)
{
	switch (p) {
	case FLYTEIDL__PLUGINS__RESTART_POLICY__RESTART_POLICY_NEVER: return "Never";
	case FLYTEIDL__PLUGINS__RESTART_POLICY__RESTART_POLICY_ON_FAILURE: return "OnFailure";
	case FLYTEIDL__PLUGINS__RESTART_POLICY__RESTART_POLICY_ALWAYS: return "Always";
	default: return NULL;
	}
}

/* The replica's resources as the execution's resource override (Flyte's WithResources), or
 * NULL when the replica sets none. */
static int replica_resources(const struct fpd_task *task, const struct fpd_kf_replica *rs,
                             json_t **out, struct fpd_error *err)
{
	*out = NULL;
	const Flyteidl__Core__Resources *r = rs ? rs->resources : NULL;
	if (!r || (r->n_requests == 0 && r->n_limits == 0))
		return FPD_OK;
	const struct fpd_k8s_settings *k8s = &task->settings->k8s;
	json_t *res;
	int rc = fpd_pod_resources_from_proto(r, k8s->gpu_resource_name, &res, err);
	if (rc)
		return fpd_kf_wrap(err, "invalid TaskSpecification on Resources, Err");
	/* ApplyK8sResourceOverrides: the replica's resources get the platform defaults (and
	 * limits from requests) before they override the task's. */
	json_t *holder = json_pack("{s:s,s:o}", "name", "", "resources", res);
	rc = fpd_pod_settle_resources(holder, NULL, FPD_RES_MERGE, k8s, err);
	if (!rc)
		*out = json_incref(json_object_get(holder, "resources"));
	json_decref(holder);
	return rc ? fpd_kf_wrap(err, "invalid TaskSpecification on Resources, Err") : FPD_OK;
}

/* Flyte's UnionMaps(k8s defaults, the pod's own, the execution's). */
static json_t *union_maps(const json_t *defaults, const json_t *own, const json_t *execution)
{
	json_t *m = json_object();
	fpd_json_merge_into(m, NULL, defaults);
	fpd_json_merge_into(m, NULL, own);
	fpd_json_merge_into(m, NULL, execution);
	return m;
}

/* Renames the primary container (OverridePrimaryContainerName), then applies the replica's
 * image and command to the container so named (OverrideContainerSpec). */
static void override_containers(json_t *spec, const char *primary, const char *container,
                                const struct fpd_kf_replica *rs)
{
	json_t *containers = json_object_get(spec, "containers"), *c;
	size_t i;
	json_array_foreach(containers, i, c)
	{
		if (!strcmp(fpd_json_str_or(c, "name", ""), primary)) {
			json_object_set_new(c, "name", json_string(container));
			break;
		}
	}
	if (!rs)
		return;
	json_array_foreach(containers, i, c)
	{
		if (strcmp(fpd_json_str_or(c, "name", ""), container))
			continue;
		if (rs->image && *rs->image)
			json_object_set_new(c, "image", json_string(rs->image));
		if (rs->n_command) {
			json_t *args = json_array();
			for (size_t k = 0; k < rs->n_command; k++)
				json_array_append_new(args, json_string(rs->command[k]));
			json_object_set_new(c, "args", args);
		}
	}
}

int fpd_kf_replica_spec(const struct fpd_task *task, const char *container,
                        const struct fpd_kf_replica *rs, bool is_master, json_t **out,
                        struct fpd_error *err)
{
	*out = NULL;
	json_t *resources;
	int rc = replica_resources(task, rs, &resources, err);
	if (rc)
		return rc;
	struct fpd_pod_options opts = {.resources = resources};
	struct fpd_pod pod = {0};
	rc = fpd_pod_build_spec(task, &opts, &pod, err);
	json_decref(resources);
	if (rc) {
		char why[FPD_ERROR_TEXT];
		snprintf(why, sizeof(why), "%s", err->text);
		return fpd_error_set(err, FPD_EINVAL, "Unable to create pod spec: [%s]", why);
	}
	override_containers(pod.spec, pod.primary, container, rs);
	fpd_pod_canonical_quantities(pod.spec);
	const struct fpd_k8s_settings *k8s = &task->settings->k8s;
	json_t *labels = union_maps(k8s->default_labels, pod.labels, task->labels);
	json_t *annotations =
	    union_maps(k8s->default_annotations, pod.annotations, task->annotations);
	int32_t replicas = !rs ? 0 : is_master ? 1 : rs->replicas;
	const char *policy = restart_policy(rs ? rs->restart_policy : 0);
	*out =
	    json_pack("{s:i,s:{s:{s:o,s:o},s:O}}", "replicas", (int)replicas, "template",
	              "metadata", "labels", labels, "annotations", annotations, "spec", pod.spec);
	if (policy)
		json_object_set_new(*out, "restartPolicy", json_string(policy));
	fpd_pod_omit_empty(json_object_get(*out, "template"));
	fpd_pod_clear(&pod);
	return FPD_OK;
}

void fpd_kf_set_replicas(json_t *replica_spec, int32_t replicas)
{
	json_object_set_new(replica_spec, "replicas", json_integer(replicas));
}

json_t *fpd_kf_run_policy(const Flyteidl__Plugins__Kubeflow__RunPolicy *rp)
{
	json_t *p = json_object();
	if (!rp)
		return p;
	static const char *const clean[] = {"None", "Running", "All"};
	int c = (int)rp->clean_pod_policy;
	/* An enum value Flyte's map lacks gives Go's zero value "", which omitempty keeps out
	 * of a pointer field only when nil: Flyte sends "". */
	json_object_set_new(p, "cleanPodPolicy", json_string(c >= 0 && c <= 2 ? clean[c] : ""));
	if (rp->ttl_seconds_after_finished)
		json_object_set_new(p, "ttlSecondsAfterFinished",
		                    json_integer(rp->ttl_seconds_after_finished));
	if (rp->active_deadline_seconds)
		json_object_set_new(p, "activeDeadlineSeconds",
		                    json_integer(rp->active_deadline_seconds));
	if (rp->backoff_limit)
		json_object_set_new(p, "backoffLimit", json_integer(rp->backoff_limit));
	return p;
}

json_t *fpd_kf_job_new(const struct fpd_task *task, const char *kind, json_t *spec)
{
	json_t *job =
	    json_pack("{s:s,s:s,s:o}", "apiVersion", "kubeflow.org/v1", "kind", kind, "spec", spec);
	/* Kueue's kubeflow integrations admit a job by clearing runPolicy.suspend. */
	fpd_kueue_apply(task, job, "spec.runPolicy.suspend", NULL);
	return job;
}

int fpd_kf_wrap(struct fpd_error *err, const char *what)
{
	char why[FPD_ERROR_TEXT];
	snprintf(why, sizeof(why), "%s", err->text);
	return fpd_error_set(err, FPD_EINVAL, "%s: [%s]", what, why);
}
