/*
 * The Spark plugin's descriptor and settings: see spark.h.
 */
#include "spark.h"

#include <stddef.h>

#define SPARK(f) offsetof(struct fpd_spark_settings, f)
#define FEATURE(f) offsetof(struct fpd_spark_feature, f)

static const struct fpd_schema_field feature_fields[] = {
    {"name", FPD_SCHEMA_STRING, FEATURE(name), .nonempty = true},
    {"spark-config", FPD_SCHEMA_JSON, FEATURE(spark_config)},
    {NULL},
};

/* propeller's spark LogConfig: `mixed` defaults to logs.DefaultConfig, the others to nothing. */
#define LOGS(f) offsetof(struct fpd_spark_logs, f)
#define LOG_SIZE sizeof(struct fpd_log_settings)
static const struct fpd_schema_field logs_fields[] = {
    {"mixed", FPD_SCHEMA_OPTIONAL_SECTION, LOGS(mixed), .fields = fpd_log_settings_fields,
     .elem_size = LOG_SIZE, .elem_defaults = fpd_log_settings_defaults},
    {"user", FPD_SCHEMA_OPTIONAL_SECTION, LOGS(user), .fields = fpd_log_settings_fields,
     .elem_size = LOG_SIZE},
    {"system", FPD_SCHEMA_OPTIONAL_SECTION, LOGS(system), .fields = fpd_log_settings_fields,
     .elem_size = LOG_SIZE},
    {"all-user", FPD_SCHEMA_OPTIONAL_SECTION, LOGS(all_user), .fields = fpd_log_settings_fields,
     .elem_size = LOG_SIZE},
    {NULL},
};

/* Propeller's `plugins.spark` keys. */
static const struct fpd_schema_field spark_fields[] = {
    {"spark-config-default", FPD_SCHEMA_JSON, SPARK(spark_config_default)},
    {"spark-history-server-url", FPD_SCHEMA_STRING, SPARK(spark_history_server_url)},
    {"features", FPD_SCHEMA_SECTIONS, SPARK(features), .fields = feature_fields,
     .elem_size = sizeof(struct fpd_spark_feature)},
    {"logs", FPD_SCHEMA_SECTION, SPARK(logs), .fields = logs_fields},
    {"enable-pod-template", FPD_SCHEMA_BOOL, SPARK(enable_pod_template)},
    {"suspend", FPD_SCHEMA_BOOL, SPARK(suspend)},
    {"batch-scheduler", FPD_SCHEMA_STRING, SPARK(batch_scheduler)},
    {"batch-scheduler-queue", FPD_SCHEMA_STRING, SPARK(batch_scheduler_queue)},
    {NULL},
};

static void spark_defaults(void *settings)
{
	/* all empty: no defaults, no history server, no features, no log sections of its own */
	(void)settings;
}

static const struct fpd_task_type spark_task_types[] = {
    {"spark", 0, &flyteidl__plugins__spark_job__descriptor},
};

static const struct fpd_kind spark_kind = {"sparkoperator.k8s.io/v1beta2", "SparkApplication",
                                           "sparkapplications"};

/* The operator's retry counters are read against the restart policy. */
static const char *const spark_keep[] = {"spec.restartPolicy", "spec.suspend",
                                         "metadata.generation", NULL};

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
    .pod_specs =
        (const char *const[]){"spark:spec.driver", "spark:spec.executor",
                              "spec.driver.template.spec", "spec.executor.template.spec", NULL},
};
