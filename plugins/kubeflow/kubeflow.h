/*
 * The Kubeflow training-operator plugins (Flyte's plugins/k8s/kfoperators): PyTorchJob, TFJob and
 * MPIJob of kubeflow.org/v1, one descriptor per job kind, sharing what Flyte's kfoperators/common
 * shares: a replica spec per role built on the pod base, the run policy, and one status table.
 *
 * Everything here follows the contract of plugin.h: arguments are borrowed, JSON results are new
 * references for the caller.
 */
#ifndef FPD_PLUGINS_KUBEFLOW_H
#define FPD_PLUGINS_KUBEFLOW_H

#include <flyteplugd/plugin.h>
#include <flyteplugd/queue.h>
#include <stdbool.h>
#include <stdint.h>

#include "flyteidl/plugins/kubeflow/common.pb-c.h"

struct fpd_error;

extern const struct fpd_plugin fpd_plugin_pytorch;
extern const struct fpd_plugin fpd_plugin_tensorflow;
extern const struct fpd_plugin fpd_plugin_mpi;
/* MPIJob kubeflow.org/v2beta1 (mpi-operator), built as the module mpi-v2.so (mpi_v2.c). */
extern const struct fpd_plugin fpd_plugin_mpi_v2;

/* `plugins.settings.<pytorch|tensorflow|mpi>` (propeller's plugins.kf-operator, plus the one
 * plugins.k8s key only these plugins read). */
struct fpd_kf_settings {
	/* A job without status.startTime and without any condition this long after its creation
	 * is failed (retryable, system): the operator is not running or not watching (1m). */
	int64_t timeout_ms;
	/* plugins.k8s.enable-distributed-error-aggregation: PyTorch workers get _F_DES. */
	bool enable_distributed_error_aggregation;
};

extern const struct fpd_schema_field fpd_kf_settings_schema[];
void fpd_kf_settings_defaults(void *settings);
/* The settings in effect: ps, or the defaults when the daemon passed none. */
const struct fpd_kf_settings *fpd_kf_settings_or_default(const void *ps);

/* One role's replica settings from the v1 protos (the deprecated fields or CommonReplicaSpec,
 * as Flyte's ToReplicaSpecWithOverrides reads them). All borrowed; zero = unset. */
struct fpd_kf_replica {
	int32_t replicas;
	const char *image;
	const Flyteidl__Core__Resources *resources;
	int restart_policy;   /* flyteidl.plugins.RestartPolicy */
	char *const *command; /* MPI only: replaces the container's args */
	size_t n_command;
};

/*
 * One ReplicaSpec {replicas, template: {metadata: {labels, annotations}, spec}, restartPolicy}
 * for a task, its primary container renamed to `container` (the operator requires it).
 * rs NULL: Flyte's ToReplicaSpec (v0: replicas 0, restartPolicy Never, the task's resources);
 * otherwise ToReplicaSpecWithOverrides (replicas, or 1 when is_master; image, resources,
 * restart policy, command). A new object in *out; FPD_EINVAL with err set.
 */
int fpd_kf_replica_spec(const struct fpd_task *task, const char *container,
                        const struct fpd_kf_replica *rs, bool is_master, json_t **out,
                        struct fpd_error *err);

/* Rewrites err's message as "<what>: [<message>]" (Flyte's nesting) and returns FPD_EINVAL:
 * every build failure is the task's. */
int fpd_kf_wrap(struct fpd_error *err, const char *what);

/* Fills r from a v1 replica spec message s (NULL allowed): CommonReplicaSpec when set, else the
 * deprecated fields, as Flyte's ToReplicaSpecWithOverrides. A macro because the three replica
 * messages are distinct C types with the same fields. */
#define FPD_KF_REPLICA_FROM(s, r)                                                \
	do {                                                                     \
		_Pragma("GCC diagnostic push");                                  \
		_Pragma("GCC diagnostic ignored \"-Wdeprecated-declarations\""); \
		memset((r), 0, sizeof(*(r)));                                    \
		if ((s) && (s)->common) {                                        \
			(r)->replicas = (s)->common->replicas;                   \
			(r)->image = (s)->common->image;                         \
			(r)->resources = (s)->common->resources;                 \
			(r)->restart_policy = (int)(s)->common->restart_policy;  \
		} else if (s) {                                                  \
			(r)->replicas = (s)->replicas;                           \
			(r)->image = (s)->image;                                 \
			(r)->resources = (s)->resources;                         \
			(r)->restart_policy = (int)(s)->restart_policy;          \
		}                                                                \
		_Pragma("GCC diagnostic pop");                                   \
	} while (0)

/* Sets the replica count of a replica spec. */
void fpd_kf_set_replicas(json_t *replica_spec, int32_t replicas);

/* Flyte's ParseRunPolicy: cleanPodPolicy always, the other fields when non-zero. rp NULL: {}. */
json_t *fpd_kf_run_policy(const Flyteidl__Plugins__Kubeflow__RunPolicy *rp);

/* The job object {apiVersion: kubeflow.org/v1, kind, spec}, stealing spec; handed to Kueue
 * (queue label, runPolicy.suspend) when the task has a queue. */
json_t *fpd_kf_job_new(const struct fpd_task *task, const char *kind, json_t *spec);

/* A role whose pods get log links, in Flyte's order (common.GetLogs). */
struct fpd_kf_log_role {
	const char *replica_type; /* key under the replica specs: "Master" */
	const char *pod_infix;    /* "-master-": pod <job>-master-<i> */
	const char *log_name;     /* appended to the link name ("master"), or "" */
	bool first_only;          /* Flyte links index 0 only (chief, evaluator, master) */
	bool with_details;        /* Flyte passes container name and times */
};

/* What the shared status code needs to know of a job kind. */
struct fpd_kf_kind {
	const char *word;      /* "pytorch": Flyte's messages say "the pytorch custom resource" */
	const char *specs_key; /* "pytorchReplicaSpecs" */
	const char *container; /* "pytorch" */
	const struct fpd_kf_log_role *log_roles;
	size_t log_role_count;
	/* Replica types whose pod 0 decides the diagnosis, first present wins ("master", ...) as
	 * the operator writes them in training.kubeflow.org/replica-type. NULL-terminated. */
	const char *const *lead_types;
};

/* The status hook shared by the three plugins. */
void fpd_kf_status(const struct fpd_kf_kind *kind, const struct fpd_status_ctx *ctx,
                   struct fpd_phase_info *out);

#endif
