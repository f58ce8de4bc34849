/*
 * The build pipeline, pure: a task request in, the Kubernetes object CreateTask would create out
 * (prepare → the plugin's build → decorate), with nothing sent anywhere. CreateTask and
 * `flyteplugd render` both call it, so render prints exactly what CreateTask creates.
 */
#ifndef FPD_ENGINE_BUILD_H
#define FPD_ENGINE_BUILD_H

#include "core/config.h"
#include "core/error.h"
#include "engine/engine.h"
#include "engine/plugin_settings.h"
#include "engine/prepare.h"
#include "engine/registry.h"

#include <jansson.h>

/* What the pipeline reads besides the request; all borrowed. */
struct fpd_build_env {
	const struct fpd_config *cfg;
	const struct fpd_registry *registry;
	const struct fpd_plugin_settings *psettings;
};

/* A built task. prepared.task says who the attempt is (ref, with its namespace and generated
 * name); object is the decorated object (a new reference), or NULL when the plugin refused to
 * build it. Release with fpd_built_free. */
struct fpd_built {
	const struct fpd_plugin *plugin;
	struct fpd_prepared prepared;
	json_t *object;
};

/*
 * Builds req (borrowed; it must outlive out) under env. Returns:
 *   a negative FPD_E*, out empty: the request is refused before any plugin runs
 *     (FPD_EINVAL malformed, FPD_ENOENT no plugin serves the task type, FPD_EPERM the
 *     namespace is not served), err says why;
 *   FPD_OK with out->object: built;
 *   FPD_OK without out->object: the plugin (or decoration) refused this task, err says why;
 *     the attempt fails, as in Flyte ("FailedToBuildResource").
 */
int fpd_build(const struct fpd_build_env *env, const struct fpd_task_request *req,
              struct fpd_built *out, struct fpd_error *err);

void fpd_built_free(struct fpd_built *b);

#endif
