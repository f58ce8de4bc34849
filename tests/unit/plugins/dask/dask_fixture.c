#include "dask_fixture.h"

#include <flyteplugd/error.h>
#include <flyteplugd/structpb.h>
#include "flyteidl/plugins/dask.pb-c.h"
#include "fpd_test.h"

void fpd_test_dask_load(struct fpd_test_dask *d, json_t *fixture)
{
	memset(d, 0, sizeof(*d));
	fpd_test_task_load(&d->t, fixture);
	struct fpd_task *task = &d->t.task;
	if (json_object_size(task->custom_json)) {
		struct fpd_error err = {0};
		int rc = fpd_json_to_message(
		    task->custom_json, &flyteidl__plugins__dask_job__descriptor, &d->custom, &err);
		ck_assert_msg(rc == 0, "custom: %s", err.text);
		task->custom = d->custom;
	}
	json_t *labels = json_object_get(fixture, "labels");
	json_t *annotations = json_object_get(fixture, "annotations");
	if (!labels)
		json_object_set_new(fixture, "labels", labels = json_object());
	if (!annotations)
		json_object_set_new(fixture, "annotations", annotations = json_object());
	task->labels = labels;
	task->annotations = annotations;
}

void fpd_test_dask_free(struct fpd_test_dask *d)
{
	if (d->custom)
		protobuf_c_message_free_unpacked(d->custom, NULL);
	fpd_test_task_free(&d->t);
}
