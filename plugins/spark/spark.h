/*
 * The Spark plugin (Flyte's plugins/k8s/spark): `spark` tasks as a kubeflow spark-operator
 * SparkApplication (sparkoperator.k8s.io/v1beta2), its status read back into a Flyte phase.
 *
 * build.c builds the application the way Flyte's BuildResource does, status.c maps
 * status.applicationState (and the driver pod, when the engine delivers it) to a phase with
 * log links, spark.c holds the descriptor and the settings (Flyte's `plugins.spark`).
 */
#ifndef FPD_PLUGINS_SPARK_H
#define FPD_PLUGINS_SPARK_H

#include <flyteplugd/plugin.h>
#include <flyteplugd/schema.h>
#include <flyteplugd/settings.h>
#include <jansson.h>
#include <stdbool.h>

#include "flyteidl/plugins/spark.pb-c.h"

/* One of `features`: when a task sets spark.flyte.<name>.enabled (or spark.flyteorg...) to
 * "true", spark_config is added to its sparkConf instead of that key. */
struct fpd_spark_feature {
	char *name;
	json_t *spark_config; /* object of scalars, or NULL */
};

/* `logs` (propeller's plugins.spark.logs), each a log section with the keys of the daemon's
 * `logs:`, NULL when the configuration leaves it out. */
struct fpd_spark_logs {
	/* `mixed`: the driver's links, "(Driver Logs)", and each executor's. NULL: the daemon's
	 * `logs:`; when set it starts from propeller's default (Kubernetes links). */
	struct fpd_log_settings *mixed;
	/* `user`: "(User Logs)" for the driver pod; `system`: "(System Logs)" and `all-user`:
	 * "(Spark-Submit/All User Logs)", shown while pending, both with the application's name
	 * as podName. NULL: none; when set they start empty (propeller's zero LogConfig). */
	struct fpd_log_settings *user;
	struct fpd_log_settings *system;
	struct fpd_log_settings *all_user;
};

/* `plugins.settings.spark` (the keys of propeller's `plugins.spark`). */
struct fpd_spark_settings {
	json_t *spark_config_default;   /* `spark-config-default`: object of scalars, or NULL */
	char *spark_history_server_url; /* `spark-history-server-url`: NULL or "" = no link */
	struct fpd_list features;       /* of struct fpd_spark_feature */
	struct fpd_spark_logs logs;     /* `logs` */
	/* spark-operator v2 fields (flyteplugd's keys; Flyte 2 has enable-pod-template). */
	/* `enable-pod-template`: also pass each role's pod as driver/executor `template` (Flyte
	 * 2's behaviour; needs spark-operator >= 2.0's CRD, an older one prunes it). */
	bool enable_pod_template;
	/* `suspend`: create applications suspended (spark-operator >= 2.4), for a queue manager
	 * such as Kueue to admit. */
	bool suspend;
	/* `batch-scheduler`: spec.batchScheduler when the task's sparkConf has no
	 * spark.batchScheduler; `batch-scheduler-queue`: batchSchedulerOptions.queue. */
	char *batch_scheduler;
	char *batch_scheduler_queue;
};

extern const struct fpd_plugin fpd_plugin_spark;

/* The hooks, for tests (plugin_settings NULL means the defaults). */
int fpd_spark_build(const struct fpd_task *task, json_t **out, struct fpd_error *err);
void fpd_spark_status(const struct fpd_status_ctx *ctx, struct fpd_phase_info *out);

#endif
