#include "spark_fixture.h"

#include <flyteplugd/error.h>
#include <flyteplugd/structpb.h>
#include "fpd_test.h"

void fpd_test_spark_settings(struct fpd_test_spark *s, const json_t *spark)
{
	fpd_test_plugin_settings_free(&fpd_plugin_spark, s->settings);
	s->settings = fpd_test_plugin_settings(&fpd_plugin_spark, spark);
}

void fpd_test_spark_load(struct fpd_test_spark *s, json_t *fixture)
{
	memset(s, 0, sizeof(*s));
	fpd_test_task_load(&s->t, fixture);
	struct fpd_task *task = &s->t.task;
	if (json_object_size(task->custom_json)) {
		struct fpd_error err = {0};
		int rc = fpd_json_to_message(
		    task->custom_json, &flyteidl__plugins__spark_job__descriptor, &s->custom, &err);
		ck_assert_msg(rc == 0, "custom: %s", err.text);
		task->custom = s->custom;
	}
	json_t *labels = json_object_get(fixture, "labels");
	json_t *annotations = json_object_get(fixture, "annotations");
	if (!labels)
		json_object_set_new(fixture, "labels", labels = json_object());
	if (!annotations)
		json_object_set_new(fixture, "annotations", annotations = json_object());
	task->labels = labels;
	task->annotations = annotations;
	json_t *spark = json_object_get(fixture, "spark");
	if (spark) {
		fpd_test_spark_settings(s, spark);
		task->plugin_settings = s->settings;
	}
}

void fpd_test_spark_free(struct fpd_test_spark *s)
{
	if (s->custom)
		protobuf_c_message_free_unpacked(s->custom, NULL);
	fpd_test_plugin_settings_free(&fpd_plugin_spark, s->settings);
	fpd_test_task_free(&s->t);
}
