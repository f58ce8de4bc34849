/*
 * Test helper for the Kubeflow plugins: the plugin a fixture names, and a task whose custom is
 * decoded into that plugin's message the way the engine decodes it (libflyteplugd's structpb).
 */
#ifndef FPD_TEST_KF_FIXTURE_H
#define FPD_TEST_KF_FIXTURE_H

#include <flyteplugd/plugin.h>

#include "task_fixture.h"

/* "pytorch", "tensorflow" or "mpi"; fails the test otherwise. */
const struct fpd_plugin *fpd_test_kf_plugin(const char *name);

/* fpd_test_task_load, then task.custom from template.custom for the template's version.
 * Release with fpd_test_kf_task_free. */
void fpd_test_kf_task_load(struct fpd_test_task *t, const struct fpd_plugin *p, json_t *fixture);
void fpd_test_kf_task_free(struct fpd_test_task *t);

#endif
