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
#include <jansson.h>

#include "flyteidl/plugins/spark.pb-c.h"

/* One of `features`: when a task sets spark.flyte.<name>.enabled (or spark.flyteorg...) to
 * "true", spark_config is added to its sparkConf instead of that key. */
struct fpd_spark_feature {
	char *name;
	json_t *spark_config; /* object of scalars, or NULL */
};

/* `plugins.settings.spark` (the keys of propeller's `plugins.spark`). */
struct fpd_spark_settings {
	json_t *spark_config_default;   /* `spark-config-default`: object of scalars, or NULL */
	char *spark_history_server_url; /* `spark-history-server-url`: NULL or "" = no link */
	struct fpd_list features;       /* of struct fpd_spark_feature */
};

extern const struct fpd_plugin fpd_plugin_spark;

/* The hooks, for tests (plugin_settings NULL means the defaults). */
int fpd_spark_build(const struct fpd_task *task, json_t **out, struct fpd_error *err);
void fpd_spark_status(const struct fpd_status_ctx *ctx, struct fpd_phase_info *out);

#endif
