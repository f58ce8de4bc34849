/*
 * Test helper: what the engine adds to a fixture task for the Spark plugin (the decoded
 * SparkJob, execution labels and annotations) and the plugin settings from a fixture's
 * "spark" object: a `plugins.settings.spark` section ({"spark-config-default": {},
 * "spark-history-server-url": "", "features": [...], "logs": {"mixed": {...}, ...}}) loaded
 * through the plugin's own schema.
 */
#ifndef FPD_TEST_SPARK_FIXTURE_H
#define FPD_TEST_SPARK_FIXTURE_H

#include "spark/spark.h"
#include "task_fixture.h"

struct fpd_test_spark {
	struct fpd_test_task t;
	struct fpd_spark_settings *settings; /* NULL until loaded */
	ProtobufCMessage *custom;
};

/* Loads fixture (a task fixture with optional "labels", "annotations", "spark"). */
void fpd_test_spark_load(struct fpd_test_spark *s, json_t *fixture);
/* Settings alone from a "spark" object (NULL: the defaults), replacing earlier ones. */
void fpd_test_spark_settings(struct fpd_test_spark *s, const json_t *spark);
void fpd_test_spark_free(struct fpd_test_spark *s);

#endif
