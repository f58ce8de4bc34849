/* Fixture loading for the Kubeflow plugin tests: see kf_fixture.h. */
#include "kf_fixture.h"

#include <flyteplugd/structpb.h>
#include "fpd_test.h"
#include "kubeflow/kubeflow.h"

const struct fpd_plugin *fpd_test_kf_plugin(const char *name)
{
	ck_assert_msg(name != NULL, "fixture names no plugin");
	if (!strcmp(name, "pytorch"))
		return &fpd_plugin_pytorch;
	if (!strcmp(name, "tensorflow"))
		return &fpd_plugin_tensorflow;
	if (!strcmp(name, "mpi-v2"))
		return &fpd_plugin_mpi_v2;
	ck_assert_msg(!strcmp(name, "mpi"), "unknown plugin %s", name);
	return &fpd_plugin_mpi;
}

void fpd_test_kf_task_load(struct fpd_test_task *t, const struct fpd_plugin *p, json_t *fixture)
{
	fpd_test_task_load(t, fixture);
	const ProtobufCMessageDescriptor *d = NULL;
	for (size_t i = 0; i < p->task_type_count; i++)
		if (p->task_types[i].version == t->tmpl->task_type_version)
			d = p->task_types[i].custom;
	ck_assert_msg(d != NULL, "%s has no version %d", p->name, t->tmpl->task_type_version);
	/* The execution's labels and annotations, and the plugin's settings. */
	t->task.labels = json_object_get(fixture, "labels");
	t->task.annotations = json_object_get(fixture, "annotations");
	const json_t *ps = json_object_get(fixture, "plugin_settings");
	if (ps) {
		static struct fpd_kf_settings settings;
		fpd_kf_settings_defaults(&settings);
		settings.enable_distributed_error_aggregation =
		    json_is_true(json_object_get(ps, "enable-distributed-error-aggregation"));
		t->task.plugin_settings = &settings;
	}
	const json_t *custom = json_object_get(json_object_get(fixture, "template"), "custom");
	if (!custom)
		return;
	ProtobufCMessage *m = NULL;
	struct fpd_error err = {0};
	ck_assert_msg(fpd_json_to_message(custom, d, &m, &err) == 0, "custom: %s", err.text);
	t->task.custom = m;
}

void fpd_test_kf_task_free(struct fpd_test_task *t)
{
	if (t->task.custom)
		protobuf_c_message_free_unpacked((ProtobufCMessage *)t->task.custom, NULL);
	fpd_test_task_free(t);
}
