/*
 * MPIJob v2beta1 (mpi-operator v0.8): `mpi` tasks for clusters that run the standalone MPI
 * operator instead of the training operator's kubeflow.org/v1 MPIJob. Flyte builds v1 only;
 * this plugin builds the same launcher and worker replica specs and run policy as mpi.c (the
 * two APIs share them) and adds what v2beta1 has: the task's slots per worker (Flyte's v1
 * ignores them), the MPI implementation and runLauncherAsWorker from settings.
 *
 * A plugin creates one kind, so this is the module mpi-v2.so: a deployment loads it
 * (plugins.modules) and leaves `mpi` out of plugins.enabled.
 * Without mpi-operator's CRD, CreateTask fails naming kubeflow.org/v2beta1 (the engine's
 * discovery of the kind).
 */
#include "kubeflow.h"

#include <flyteplugd/error.h>
#include <flyteplugd/object.h>

#include "flyteidl/plugins/kubeflow/mpi.pb-c.h"
#include "flyteidl/plugins/mpi.pb-c.h"

#include <stddef.h>
#include <string.h>

static const char *const implementations[] = {"OpenMPI", "Intel", "MPICH", NULL};

/* `plugins.settings.mpi-v2`: the kubeflow settings (first, so that the shared status code
 * reads them) and v2beta1's own. */
struct mpi_v2_settings {
	struct fpd_kf_settings kf;
	int implementation; /* index into implementations */
	bool run_launcher_as_worker;
};

static const struct fpd_schema_field mpi_v2_schema[] = {
    {"timeout", FPD_SCHEMA_DURATION, offsetof(struct mpi_v2_settings, kf.timeout_ms), 1000,
     7 * 24 * 3600 * 1000LL},
    {"mpi_implementation", FPD_SCHEMA_ENUM, offsetof(struct mpi_v2_settings, implementation),
     .names = implementations},
    {"run_launcher_as_worker", FPD_SCHEMA_BOOL,
     offsetof(struct mpi_v2_settings, run_launcher_as_worker)},
    {0},
};

static void mpi_v2_defaults(void *p)
{
	struct mpi_v2_settings *s = p;
	memset(s, 0, sizeof(*s));
	fpd_kf_settings_defaults(&s->kf);
}

static const struct mpi_v2_settings builtin = {.kf = {.timeout_ms = 60 * 1000}};

static int mpi_v2_build(const struct fpd_task *task, json_t **out, struct fpd_error *err)
{
	const struct mpi_v2_settings *s = task->plugin_settings ? task->plugin_settings : &builtin;
	int rc = fpd_plugin_mpi.build(task, out, err);
	if (rc)
		return rc;
	json_object_set_new(*out, "apiVersion", json_string("kubeflow.org/v2beta1"));
	json_t *spec = json_object_get(*out, "spec");
	const Flyteidl__Plugins__Kubeflow__DistributedMPITrainingTask *c =
	    task->tmpl->task_type_version == 1 ? (const void *)task->custom : NULL;
	if (c && c->slots > 0)
		json_object_set_new(spec, "slotsPerWorker", json_integer(c->slots));
	json_object_set_new(spec, "mpiImplementation",
	                    json_string(implementations[s->implementation]));
	if (s->run_launcher_as_worker)
		json_object_set_new(spec, "runLauncherAsWorker", json_true());
	return FPD_OK;
}

/* mpi-operator v2 writes the training operator's condition types and pod labels. */
static const struct fpd_kf_log_role mpi_v2_logs[] = {
    {"Worker", "-worker-", "", false, true},
};

static const char *const mpi_v2_leads[] = {"launcher", NULL};

static const struct fpd_kf_kind mpi_v2_kind_info = {
    .word = "mpi",
    .specs_key = "mpiReplicaSpecs",
    .container = "mpi",
    .log_roles = mpi_v2_logs,
    .log_role_count = 1,
    .lead_types = mpi_v2_leads,
};

static void mpi_v2_status(const struct fpd_status_ctx *ctx, struct fpd_phase_info *out)
{
	fpd_kf_status(&mpi_v2_kind_info, ctx, out);
}

static const struct fpd_task_type mpi_v2_task_types[] = {
    {"mpi", 0, &flyteidl__plugins__distributed_mpitraining_task__descriptor},
    {"mpi", 1, &flyteidl__plugins__kubeflow__distributed_mpitraining_task__descriptor},
};

static const struct fpd_kind mpi_v2_kind = {"kubeflow.org/v2beta1", "MPIJob", "mpijobs"};

static const char *const mpi_v2_keep[] = {"spec.runPolicy.suspend",
                                          "spec.runPolicy.backoffLimit",
                                          "spec.mpiReplicaSpecs.Launcher.replicas",
                                          "spec.mpiReplicaSpecs.Worker.replicas",
                                          "metadata.generation",
                                          NULL};

const struct fpd_plugin fpd_plugin_mpi_v2 = {
    .abi = FPD_PLUGIN_ABI,
    .name = "mpi-v2",
    .task_types = mpi_v2_task_types,
    .task_type_count = 2,
    .kind = &mpi_v2_kind,
    .pod_owner_label = "training.kubeflow.org/job-name",
    .keep = mpi_v2_keep,
    .settings_schema = mpi_v2_schema,
    .settings_size = sizeof(struct mpi_v2_settings),
    .settings_defaults = mpi_v2_defaults,
    .build = mpi_v2_build,
    .status = mpi_v2_status,
    .pod_specs = (const char *const[]){"spec.mpiReplicaSpecs.*.template.spec", NULL},
};

/* The module's entry point. */
__attribute__((visibility("default"))) const struct fpd_plugin *fpd_plugin_entry =
    &fpd_plugin_mpi_v2;
