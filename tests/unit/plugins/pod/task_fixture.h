/*
 * Test helper: a struct fpd_task (and the settings it points to) from a JSON fixture:
 *   {"config": {"k8s": {...}, "logs": {...}},     daemon configuration (defaults if absent)
 *    "template": {...TaskTemplate...},            proto field names; custom as plain JSON
 *    "meta": {...admin.TaskExecutionMetadata...},
 *    "inputs": {...core.LiteralMap...},
 *    "ref": {...}, "paths": {...},                 override the standard values below
 *    "service_account": "", "interruptible": false, "injected_env": [{name, value}]}
 */
#ifndef FPD_TEST_TASK_FIXTURE_H
#define FPD_TEST_TASK_FIXTURE_H

#include <flyteplugd/plugin.h>
#include <flyteplugd/task.h>

#include "core/config.h"

struct fpd_test_task {
	struct fpd_task task;
	struct fpd_config cfg;
	json_t *fixture; /* holds every string the task points to */
	Flyteidl__Core__TaskTemplate *tmpl;
	Flyteidl__Admin__TaskExecutionMetadata *meta;
	Flyteidl__Core__LiteralMap *inputs;
};

/* Loads t from fixture (a new reference is taken). Fails the running test on bad input. */
void fpd_test_task_load(struct fpd_test_task *t, json_t *fixture);
/* Settings alone, from {"k8s":..., "logs":...} (NULL: defaults). Fails the test on error. */
void fpd_test_config_load(struct fpd_config *cfg, const json_t *config);
/* fpd_config_free, plus what it misses (see task_fixture.c). */
void fpd_test_config_free(struct fpd_config *cfg);
void fpd_test_task_free(struct fpd_test_task *t);

/* A plugin's settings struct from its `plugins.settings.<name>` section written as JSON (NULL:
 * the defaults), through the plugin's own schema and settings_defaults, as the daemon loads it.
 * New; release with fpd_test_plugin_settings_free. Fails the test when the schema refuses it. */
void *fpd_test_plugin_settings(const struct fpd_plugin *plugin, const json_t *section);
void fpd_test_plugin_settings_free(const struct fpd_plugin *plugin, void *settings);

/* The file under tests/fixtures as JSON (new reference); fails the test when unreadable. */
json_t *fpd_test_json_fixture(const char *rel);
/* Fails the test with both documents printed when a and b differ. */
void fpd_test_assert_json_eq(const json_t *expected, const json_t *actual, const char *what);

/* Fails the test, naming what, unless a status hook's pi has the outcome expect (a fixture's
 * "expect") names: "phase" and "kind" (USER, SYSTEM or UNKNOWN) as written, "code" and "message"
 * (missing: none), "cleanup" (missing: false) and "recheck_at" (RFC 3339; missing: none). */
void fpd_test_assert_outcome(const json_t *expect, const struct fpd_phase_info *pi,
                             const char *what);
/* Fails the test, naming what, unless pi's log links are expected, an array of {"name", "uri"}
 * with "showWhilePending": true on the links shown while pending (NULL: no links). */
void fpd_test_assert_links(const json_t *expected, const struct fpd_phase_info *pi,
                           const char *what);

/* Runs run(file, i, c) on every case c of every .json fixture in dir's "cases" array, in name
 * order; run returns the operator state the case is about. Fails naming a state of states (count
 * n) that no case covers. Returns how many cases ran. (Needs tests/unit/fixtures.c.) */
size_t fpd_test_status_cases(const char *dir,
                             const char *(*run)(const char *file, size_t i, json_t *c),
                             const char *const *states, size_t n);

#endif
