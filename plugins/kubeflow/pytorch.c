/*
 * The PyTorch plugin (Flyte's kfoperators/pytorch): task type `pytorch` as a kubeflow.org/v1
 * PyTorchJob. Version 0 (flyteidl.plugins.DistributedPyTorchTrainingTask) copies the task's pod
 * to one Master and `workers` Workers; version 1 (flyteidl.plugins.kubeflow.*) lets each role
 * set replicas, image, resources and restart policy, adds a run policy, and gives workers the
 * _F_WN (and _F_DES) variables. An elastic config turns the job elastic: no Master.
 */
#include "kubeflow.h"

#include <flyteplugd/object.h>

#include <flyteplugd/error.h>
#include "flyteidl/plugins/kubeflow/pytorch.pb-c.h"
#include "flyteidl/plugins/pytorch.pb-c.h"

#include <string.h>

#define CONTAINER "pytorch"

/* ParseElasticConfig: every field, zero or not. The v0 and v1 messages are identical. */
static json_t *elastic_policy(const char *backend, int32_t min, int32_t max, int32_t nproc,
                              int32_t restarts)
{
	return json_pack("{s:i,s:i,s:s,s:i,s:i}", "minReplicas", (int)min, "maxReplicas", (int)max,
	                 "rdzvBackend", backend ? backend : "", "nProcPerNode", (int)nproc,
	                 "maxRestarts", (int)restarts);
}

static int build_v0(const struct fpd_task *task, json_t **master, json_t **worker, json_t **elastic,
                    struct fpd_error *err)
{
	const Flyteidl__Plugins__DistributedPyTorchTrainingTask *c = (const void *)task->custom;
	int rc = fpd_kf_replica_spec(task, CONTAINER, NULL, false, master, err);
	if (rc)
		return fpd_kf_wrap(err, "Unable to create replica spec");
	*worker = json_deep_copy(*master);
	fpd_kf_set_replicas(*master, 1);
	fpd_kf_set_replicas(*worker, c ? c->workers : 0);
	const Flyteidl__Plugins__ElasticConfig *e = c ? c->elastic_config : NULL;
	if (e)
		*elastic = elastic_policy(e->rdzv_backend, e->min_replicas, e->max_replicas,
		                          e->nproc_per_node, e->max_restarts);
	return FPD_OK;
}

/* The worker's first container learns its pod name (and the error aggregation strategy). */
static void worker_env(const struct fpd_task *task, json_t *worker)
{
	json_t *c0 = json_array_get(fpd_json_get(worker, "template.spec.containers"), 0);
	json_t *env = json_object_get(c0, "env");
	if (!c0)
		return;
	if (!json_is_array(env)) {
		env = json_array();
		json_object_set_new(c0, "env", env);
	}
	json_array_append_new(env, json_pack("{s:s,s:{s:{s:s}}}", "name", "_F_WN", "valueFrom",
	                                     "fieldRef", "fieldPath", "metadata.name"));
	if (fpd_kf_settings_or_default(task->plugin_settings)->enable_distributed_error_aggregation)
		json_array_append_new(
		    env, json_pack("{s:s,s:s}", "name", "_F_DES", "value", "Earliest"));
}

static int build_v1(const struct fpd_task *task, json_t **master, json_t **worker, json_t **elastic,
                    json_t **run_policy, struct fpd_error *err)
{
	const Flyteidl__Plugins__Kubeflow__DistributedPyTorchTrainingTask *c =
	    (const void *)task->custom;
	struct fpd_kf_replica m, w;
	FPD_KF_REPLICA_FROM(c ? c->master_replicas : NULL, &m);
	FPD_KF_REPLICA_FROM(c ? c->worker_replicas : NULL, &w);
	if (fpd_kf_replica_spec(task, CONTAINER, &m, true, master, err))
		return fpd_kf_wrap(err, "Unable to create master replica spec");
	if (fpd_kf_replica_spec(task, CONTAINER, &w, false, worker, err))
		return fpd_kf_wrap(err, "Unable to create worker replica spec");
	worker_env(task, *worker);
	if (c && c->run_policy)
		*run_policy = fpd_kf_run_policy(c->run_policy);
	const Flyteidl__Plugins__Kubeflow__ElasticConfig *e = c ? c->elastic_config : NULL;
	if (e)
		*elastic = elastic_policy(e->rdzv_backend, e->min_replicas, e->max_replicas,
		                          e->nproc_per_node, e->max_restarts);
	return FPD_OK;
}

static int pytorch_build(const struct fpd_task *task, json_t **out, struct fpd_error *err)
{
	json_t *master = NULL, *worker = NULL, *elastic = NULL, *run_policy = NULL;
	int rc = task->tmpl->task_type_version == 0
	             ? build_v0(task, &master, &worker, &elastic, err)
	             : build_v1(task, &master, &worker, &elastic, &run_policy, err);
	if (rc) {
		json_decref(master);
		json_decref(worker);
		json_decref(elastic);
		json_decref(run_policy);
		*out = NULL;
		return rc;
	}
	json_t *specs = json_object();
	/* An elastic job has no Master: torchrun's rendezvous replaces it. */
	if (elastic)
		json_decref(master);
	else
		json_object_set_new(specs, "Master", master);
	if (fpd_json_int_or(worker, "replicas", 0) > 0)
		json_object_set_new(specs, "Worker", worker);
	else
		json_decref(worker);
	json_t *spec = json_pack("{s:o,s:o}", "pytorchReplicaSpecs", specs, "runPolicy",
	                         run_policy ? run_policy : json_object());
	if (elastic)
		json_object_set_new(spec, "elasticPolicy", elastic);
	*out = fpd_kf_job_new(task, "PyTorchJob", spec);
	return FPD_OK;
}

static const struct fpd_kf_log_role pytorch_logs[] = {
    {"Master", "-master-", "master", true, true},
    {"Worker", "-worker-", "", false, true},
};

static const char *const pytorch_leads[] = {"master", "worker", NULL};

static const struct fpd_kf_kind pytorch_kind_info = {
    .word = "pytorch",
    .specs_key = "pytorchReplicaSpecs",
    .container = CONTAINER,
    .log_roles = pytorch_logs,
    .log_role_count = 2,
    .lead_types = pytorch_leads,
};

static void pytorch_status(const struct fpd_status_ctx *ctx, struct fpd_phase_info *out)
{
	fpd_kf_status(&pytorch_kind_info, ctx, out);
}

static const struct fpd_task_type pytorch_task_types[] = {
    {"pytorch", 0, &flyteidl__plugins__distributed_py_torch_training_task__descriptor},
    {"pytorch", 1, &flyteidl__plugins__kubeflow__distributed_py_torch_training_task__descriptor},
};

static const struct fpd_kind pytorch_kind = {"kubeflow.org/v1", "PyTorchJob", "pytorchjobs"};

static const char *const pytorch_keep[] = {"spec.runPolicy.suspend",
                                           "spec.runPolicy.backoffLimit",
                                           "spec.pytorchReplicaSpecs.Master.replicas",
                                           "spec.pytorchReplicaSpecs.Worker.replicas",
                                           "metadata.generation",
                                           NULL};

const struct fpd_plugin fpd_plugin_pytorch = {
    .abi = FPD_PLUGIN_ABI,
    .name = "pytorch",
    .task_types = pytorch_task_types,
    .task_type_count = sizeof(pytorch_task_types) / sizeof(pytorch_task_types[0]),
    .kind = &pytorch_kind,
    .pod_owner_label = "training.kubeflow.org/job-name",
    .keep = pytorch_keep,
    .settings_schema = fpd_kf_settings_schema,
    .settings_size = sizeof(struct fpd_kf_settings),
    .settings_defaults = fpd_kf_settings_defaults,
    .build = pytorch_build,
    .status = pytorch_status,
    .pod_specs = (const char *const[]){"spec.pytorchReplicaSpecs.*.template.spec", NULL},
};
