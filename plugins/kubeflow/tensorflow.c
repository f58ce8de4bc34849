/*
 * The TensorFlow plugin (Flyte's kfoperators/tensorflow): task type `tensorflow` as a
 * kubeflow.org/v1 TFJob with Chief, Worker, PS and Evaluator roles, each present only with at
 * least one replica; a job without workers is refused. Version 0 copies the task's pod to every
 * role; version 1 lets each role set replicas, image, resources and restart policy.
 */
#include "kubeflow.h"

#include <flyteplugd/object.h>

#include <flyteplugd/error.h>
#include "flyteidl/plugins/kubeflow/tensorflow.pb-c.h"
#include "flyteidl/plugins/tensorflow.pb-c.h"

#include <string.h>

#define CONTAINER "tensorflow"

enum { CHIEF, WORKER, PS, EVALUATOR, ROLES };
static const char *const role_names[ROLES] = {"Chief", "Worker", "PS", "Evaluator"};

static int build_v0(const struct fpd_task *task, json_t *specs, struct fpd_error *err)
{
	const Flyteidl__Plugins__DistributedTensorflowTrainingTask *c = (const void *)task->custom;
	int32_t n[ROLES] = {0};
	if (c) {
		n[CHIEF] = c->chief_replicas;
		n[WORKER] = c->workers;
		n[PS] = c->ps_replicas;
		n[EVALUATOR] = c->evaluator_replicas;
	}
	json_t *base;
	if (fpd_kf_replica_spec(task, CONTAINER, NULL, false, &base, err))
		return fpd_kf_wrap(err, "Unable to create replica spec");
	for (int i = 0; i < ROLES; i++) {
		if (n[i] <= 0)
			continue;
		json_t *rs = json_deep_copy(base);
		fpd_kf_set_replicas(rs, n[i]);
		json_object_set_new(specs, role_names[i], rs);
	}
	json_decref(base);
	return FPD_OK;
}

static int build_v1(const struct fpd_task *task, json_t *specs, json_t **run_policy,
                    struct fpd_error *err)
{
	const Flyteidl__Plugins__Kubeflow__DistributedTensorflowTrainingTask *c =
	    (const void *)task->custom;
	const Flyteidl__Plugins__Kubeflow__DistributedTensorflowTrainingReplicaSpec *cfg[ROLES] = {
	    c ? c->chief_replicas : NULL, c ? c->worker_replicas : NULL, c ? c->ps_replicas : NULL,
	    c ? c->evaluator_replicas : NULL};
	for (int i = 0; i < ROLES; i++) {
		struct fpd_kf_replica r;
		FPD_KF_REPLICA_FROM(cfg[i], &r);
		if (r.replicas <= 0)
			continue; /* no pod spec for a role without replicas */
		json_t *rs;
		if (fpd_kf_replica_spec(task, CONTAINER, &r, false, &rs, err))
			return fpd_kf_wrap(err, "Unable to create replica spec");
		json_object_set_new(specs, role_names[i], rs);
	}
	if (c && c->run_policy)
		*run_policy = fpd_kf_run_policy(c->run_policy);
	return FPD_OK;
}

static int tensorflow_build(const struct fpd_task *task, json_t **out, struct fpd_error *err)
{
	json_t *specs = json_object(), *run_policy = NULL;
	int rc = task->tmpl->task_type_version == 0 ? build_v0(task, specs, err)
	                                            : build_v1(task, specs, &run_policy, err);
	if (!rc && fpd_json_int_or(specs, "Worker.replicas", 0) <= 0)
		rc = fpd_error_set(err, FPD_EINVAL, "number of workers must be greater than 0");
	if (rc) {
		json_decref(specs);
		json_decref(run_policy);
		*out = NULL;
		return rc;
	}
	*out = fpd_kf_job_new(task, "TFJob",
	                      json_pack("{s:o,s:o}", "tfReplicaSpecs", specs, "runPolicy",
	                                run_policy ? run_policy : json_object()));
	return FPD_OK;
}

/* Flyte's GetLogs order and pod names ("psReplica", "chiefReplica" as Flyte codes them). */
static const struct fpd_kf_log_role tensorflow_logs[] = {
    {"Worker", "-worker-", "", false, true},
    {"PS", "-psReplica-", "", false, false},
    {"Chief", "-chiefReplica-", "", true, false},
    {"Evaluator", "-evaluatorReplica-", "", true, false},
};

static const char *const tensorflow_leads[] = {"chief", "worker", NULL};

static const struct fpd_kf_kind tensorflow_kind_info = {
    .word = "tensorflow",
    .specs_key = "tfReplicaSpecs",
    .container = CONTAINER,
    .log_roles = tensorflow_logs,
    .log_role_count = 4,
    .lead_types = tensorflow_leads,
};

static void tensorflow_status(const struct fpd_status_ctx *ctx, struct fpd_phase_info *out)
{
	fpd_kf_status(&tensorflow_kind_info, ctx, out);
}

static const struct fpd_task_type tensorflow_task_types[] = {
    {"tensorflow", 0, &flyteidl__plugins__distributed_tensorflow_training_task__descriptor},
    {"tensorflow", 1,
     &flyteidl__plugins__kubeflow__distributed_tensorflow_training_task__descriptor},
};

static const struct fpd_kind tensorflow_kind = {"kubeflow.org/v1", "TFJob", "tfjobs"};

static const char *const tensorflow_keep[] = {"spec.runPolicy.suspend",
                                              "spec.runPolicy.backoffLimit",
                                              "spec.tfReplicaSpecs.Chief.replicas",
                                              "spec.tfReplicaSpecs.Worker.replicas",
                                              "spec.tfReplicaSpecs.PS.replicas",
                                              "spec.tfReplicaSpecs.Evaluator.replicas",
                                              "metadata.generation",
                                              NULL};

const struct fpd_plugin fpd_plugin_tensorflow = {
    .abi = FPD_PLUGIN_ABI,
    .name = "tensorflow",
    .task_types = tensorflow_task_types,
    .task_type_count = sizeof(tensorflow_task_types) / sizeof(tensorflow_task_types[0]),
    .kind = &tensorflow_kind,
    .pod_owner_label = "training.kubeflow.org/job-name",
    .keep = tensorflow_keep,
    .settings_schema = fpd_kf_settings_schema,
    .settings_size = sizeof(struct fpd_kf_settings),
    .settings_defaults = fpd_kf_settings_defaults,
    .build = tensorflow_build,
    .status = tensorflow_status,
    .pod_specs = (const char *const[]){"spec.tfReplicaSpecs.*.template.spec", NULL},
};
