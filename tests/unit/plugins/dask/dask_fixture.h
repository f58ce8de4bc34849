/*
 * Test helper for the Dask plugin: a fixture task with its DaskJob decoded from template.custom
 * (libflyteplugd's structpb, as CreateTask does) and the execution's labels and annotations.
 */
#ifndef FPD_TEST_DASK_FIXTURE_H
#define FPD_TEST_DASK_FIXTURE_H

#include "dask/dask.h"
#include "task_fixture.h"

struct fpd_test_dask {
	struct fpd_test_task t;
	ProtobufCMessage *custom;
};

/* Loads fixture (a task fixture with optional "labels", "annotations"). */
void fpd_test_dask_load(struct fpd_test_dask *d, json_t *fixture);
void fpd_test_dask_free(struct fpd_test_dask *d);

#endif
