/*
 * The Spark plugin's descriptor and settings: see spark.h.
 */
#include "spark/spark.h"

#include <stddef.h>

#define SPARK(f) offsetof(struct fpd_spark_settings, f)
#define FEATURE(f) offsetof(struct fpd_spark_feature, f)

static const struct fpd_schema_field feature_fields[] = {
    {"name", FPD_SCHEMA_STRING, FEATURE(name), .nonempty = true},
    {"spark-config", FPD_SCHEMA_JSON, FEATURE(spark_config)},
    {NULL},
};

/* Propeller's `plugins.spark` keys. Its `logs` (mixed, user, system, all-user) are not taken:
 * the driver and executors get the links of the daemon's own `logs:` section. */
static const struct fpd_schema_field spark_fields[] = {
    {"spark-config-default", FPD_SCHEMA_JSON, SPARK(spark_config_default)},
    {"spark-history-server-url", FPD_SCHEMA_STRING, SPARK(spark_history_server_url)},
    {"features", FPD_SCHEMA_SECTIONS, SPARK(features), .fields = feature_fields,
     .elem_size = sizeof(struct fpd_spark_feature)},
    {NULL},
};

static void spark_defaults(void *settings)
{
	(void)settings; /* all empty: no defaults, no history server, no features */
}

static const struct fpd_task_type spark_task_types[] = {
    {"spark", 0, &flyteidl__plugins__spark_job__descriptor},
};

static const struct fpd_kind spark_kind = {"sparkoperator.k8s.io/v1beta2", "SparkApplication",
                                           "sparkapplications"};

/* The operator's retry counters are read against the restart policy. */
static const char *const spark_keep[] = {"spec.restartPolicy", NULL};

const struct fpd_plugin fpd_plugin_spark = {
    .abi = FPD_PLUGIN_ABI,
    .name = "spark",
    .task_types = spark_task_types,
    .task_type_count = sizeof(spark_task_types) / sizeof(spark_task_types[0]),
    .kind = &spark_kind,
    .pod_owner_label = "spark-app-name",
    .keep = spark_keep,
    .settings_schema = spark_fields,
    .settings_size = sizeof(struct fpd_spark_settings),
    .settings_defaults = spark_defaults,
    .build = fpd_spark_build,
    .status = fpd_spark_status,
};
