/*
 * The MPI plugin (Flyte's kfoperators/mpi): task type `mpi` as a kubeflow.org/v1 MPIJob with a
 * Launcher and Workers. Version 0 copies the task's pod to both roles, runs
 * TaskTemplate.config["worker_spec_command"] (split on spaces) as the workers' args with no
 * command, and sets slotsPerWorker from `slots`; version 1 lets each role set replicas, image,
 * resources, restart policy and a command (which becomes the container's args), with one
 * launcher and slotsPerWorker 1 (Flyte does not read the v1 `slots` field).
 */
#include "kubeflow.h"

#include <flyteplugd/object.h>
#include <flyteplugd/pod.h>

#include <flyteplugd/error.h>
#include "flyteidl/plugins/kubeflow/mpi.pb-c.h"
#include "flyteidl/plugins/mpi.pb-c.h"

#include <string.h>

#define CONTAINER "mpi"

/* Go's strings.Split(s, " "): empty fields kept. */
static json_t *split_spaces(const char *s)
{
	json_t *a = json_array();
	for (const char *p = s;; p++) {
		const char *sp = strchr(p, ' ');
		size_t n = sp ? (size_t)(sp - p) : strlen(p);
		json_array_append_new(a, json_stringn(p, n));
		if (!sp)
			break;
		p = sp;
	}
	return a;
}

/* Workers of a v0 job run worker_spec_command as args, without the task's command. */
static void worker_command_v0(const struct fpd_task *task, json_t *worker)
{
	const char *cmd = fpd_pod_config_get(task->tmpl, "worker_spec_command");
	json_t *c;
	size_t i;
	json_array_foreach(fpd_json_get(worker, "template.spec.containers"), i, c)
	{
		if (strcmp(fpd_json_str_or(c, "name", ""), CONTAINER))
			continue;
		json_object_del(c, "command"); /* []: omitted, as Go's omitempty does */
		if (cmd)
			json_object_set_new(c, "args", split_spaces(cmd));
		else
			json_object_del(c, "args");
	}
}

static int build_v0(const struct fpd_task *task, json_t **launcher, json_t **worker, int32_t *slots,
                    struct fpd_error *err)
{
	const Flyteidl__Plugins__DistributedMPITrainingTask *c = (const void *)task->custom;
	if (fpd_kf_replica_spec(task, CONTAINER, NULL, false, launcher, err))
		return fpd_kf_wrap(err, "Unable to create replica spec");
	*worker = json_deep_copy(*launcher);
	int32_t launchers = c ? c->num_launcher_replicas : 0;
	fpd_kf_set_replicas(*launcher, launchers < 1 ? 1 : launchers);
	fpd_kf_set_replicas(*worker, c ? c->num_workers : 0);
	*slots = c ? c->slots : 0;
	worker_command_v0(task, *worker);
	return FPD_OK;
}

static void command_of(const Flyteidl__Plugins__Kubeflow__DistributedMPITrainingReplicaSpec *s,
                       struct fpd_kf_replica *r)
{
	if (s) {
		r->command = s->command;
		r->n_command = s->n_command;
	}
}

static int build_v1(const struct fpd_task *task, json_t **launcher, json_t **worker,
                    json_t **run_policy, struct fpd_error *err)
{
	const Flyteidl__Plugins__Kubeflow__DistributedMPITrainingTask *c =
	    (const void *)task->custom;
	struct fpd_kf_replica l, w;
	FPD_KF_REPLICA_FROM(c ? c->launcher_replicas : NULL, &l);
	FPD_KF_REPLICA_FROM(c ? c->worker_replicas : NULL, &w);
	command_of(c ? c->launcher_replicas : NULL, &l);
	command_of(c ? c->worker_replicas : NULL, &w);
	if (fpd_kf_replica_spec(task, CONTAINER, &l, true, launcher, err))
		return fpd_kf_wrap(err, "Unable to create launcher replica spec");
	if (fpd_kf_replica_spec(task, CONTAINER, &w, false, worker, err))
		return fpd_kf_wrap(err, "Unable to create worker replica spec");
	if (c && c->run_policy)
		*run_policy = fpd_kf_run_policy(c->run_policy);
	return FPD_OK;
}

static int mpi_build(const struct fpd_task *task, json_t **out, struct fpd_error *err)
{
	json_t *launcher = NULL, *worker = NULL, *run_policy = NULL;
	int32_t slots = 1;
	int rc = task->tmpl->task_type_version == 0
	             ? build_v0(task, &launcher, &worker, &slots, err)
	             : build_v1(task, &launcher, &worker, &run_policy, err);
	if (!rc && fpd_json_int_or(worker, "replicas", 0) <= 0)
		rc = fpd_error_set(err, FPD_EINVAL, "number of workers must be greater than 0");
	if (!rc && fpd_json_int_or(launcher, "replicas", 0) <= 0)
		rc = fpd_error_set(err, FPD_EINVAL, "number of launchers must be greater than 0");
	if (rc) {
		json_decref(launcher);
		json_decref(worker);
		json_decref(run_policy);
		*out = NULL;
		return rc;
	}
	json_t *spec = json_pack("{s:i,s:o,s:{s:o,s:o}}", "slotsPerWorker", (int)slots, "runPolicy",
	                         run_policy ? run_policy : json_object(), "mpiReplicaSpecs",
	                         "Launcher", launcher, "Worker", worker);
	*out = fpd_kf_job_new(task, "MPIJob", spec);
	return FPD_OK;
}

/* Flyte links the workers of an MPIJob only (common.GetLogs returns before other roles). */
static const struct fpd_kf_log_role mpi_logs[] = {
    {"Worker", "-worker-", "", false, true},
};

static const char *const mpi_leads[] = {"launcher", NULL};

static const struct fpd_kf_kind mpi_kind_info = {
    .word = "mpi",
    .specs_key = "mpiReplicaSpecs",
    .container = CONTAINER,
    .log_roles = mpi_logs,
    .log_role_count = 1,
    .lead_types = mpi_leads,
};

static void mpi_status(const struct fpd_status_ctx *ctx, struct fpd_phase_info *out)
{
	fpd_kf_status(&mpi_kind_info, ctx, out);
}

static const struct fpd_task_type mpi_task_types[] = {
    {"mpi", 0, &flyteidl__plugins__distributed_mpitraining_task__descriptor},
    {"mpi", 1, &flyteidl__plugins__kubeflow__distributed_mpitraining_task__descriptor},
};

static const struct fpd_kind mpi_kind = {"kubeflow.org/v1", "MPIJob", "mpijobs"};

static const char *const mpi_keep[] = {"spec.runPolicy.suspend",
                                       "spec.runPolicy.backoffLimit",
                                       "spec.mpiReplicaSpecs.Launcher.replicas",
                                       "spec.mpiReplicaSpecs.Worker.replicas",
                                       "metadata.generation",
                                       NULL};

const struct fpd_plugin fpd_plugin_mpi = {
    .abi = FPD_PLUGIN_ABI,
    .name = "mpi",
    .task_types = mpi_task_types,
    .task_type_count = sizeof(mpi_task_types) / sizeof(mpi_task_types[0]),
    .kind = &mpi_kind,
    .pod_owner_label = "training.kubeflow.org/job-name",
    .keep = mpi_keep,
    .settings_schema = fpd_kf_settings_schema,
    .settings_size = sizeof(struct fpd_kf_settings),
    .settings_defaults = fpd_kf_settings_defaults,
    .build = mpi_build,
    .status = mpi_status,
    .pod_specs = (const char *const[]){"spec.mpiReplicaSpecs.*.template.spec", NULL},
};
