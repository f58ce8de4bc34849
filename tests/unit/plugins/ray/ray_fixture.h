/*
 * Test helper for the Ray plugin: a fixture task with its RayJob decoded from template.custom
 * (libflyteplugd's structpb, as CreateTask does), execution labels and annotations, and the plugin
 * settings from a fixture's "ray" object: the built-in defaults overridden by any of
 * shutdownAfterJobFinishes, ttlSecondsAfterFinished, serviceType, enableIngress,
 * includeDashboard, dashboardHost, enableUsageStats, serviceAccount, logsSidecar,
 * headStartParameters, workerStartParameters, headIPAddress, workerIPAddress,
 * dashboardURLTemplate {displayName, templateUris}.
 */
#ifndef FPD_TEST_RAY_FIXTURE_H
#define FPD_TEST_RAY_FIXTURE_H

#include "ray/internal.h"
#include "ray/ray.h"
#include "task_fixture.h"

struct fpd_test_ray {
	struct fpd_test_task t;
	struct fpd_ray_settings settings;
	char *dash_uris[4];
	/* A real `plugins.settings.ray` section loaded by fpd_test_ray_section, or NULL. */
	struct fpd_ray_settings *section;
	ProtobufCMessage *custom;
};

/* Loads fixture (a task fixture with optional "labels", "annotations", "ray"). */
void fpd_test_ray_load(struct fpd_test_ray *r, json_t *fixture);
/* Settings alone from a "ray" object (NULL: defaults; borrowed for the settings' lifetime). */
void fpd_test_ray_settings(struct fpd_test_ray *r, const json_t *ray);
/* Settings from a `plugins.settings.ray` section through the plugin's own schema instead; the
 * task's plugin_settings then point to them. */
void fpd_test_ray_section(struct fpd_test_ray *r, const json_t *section);
/* The settings in use: the section's when one was loaded. */
const struct fpd_ray_settings *fpd_test_ray_settings_in_use(const struct fpd_test_ray *r);
void fpd_test_ray_free(struct fpd_test_ray *r);

#endif
