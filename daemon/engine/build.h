/*
 * The build pipeline, pure: a task request in, the Kubernetes object CreateTask would create out
 * (prepare → the plugin's build → decorate), with nothing sent anywhere. CreateTask and
 * `flyteplugd render` both call it, so render prints exactly what CreateTask creates.
 */
#ifndef FPD_ENGINE_BUILD_H
#define FPD_ENGINE_BUILD_H

#include "core/config.h"
#include <flyteplugd/error.h>
#include "engine/engine.h"
#include "engine/plugin_settings.h"
#include "engine/policy.h"
#include "engine/prepare.h"
#include "engine/registry.h"

#include <jansson.h>

/* What the pipeline reads besides the request; all borrowed. */
struct fpd_build_env {
	const struct fpd_config *cfg;
	const struct fpd_registry *registry;
	const struct fpd_plugin_settings *psettings;
	const struct fpd_policy *policy; /* NULL: no caller policy, no Pod Security check */
};

/* A built task. prepared.task says who the attempt is (ref, with its namespace and generated
 * name); object is the decorated object (a new reference), or NULL when the plugin refused to
 * build it. Release with fpd_built_free. */
struct fpd_built {
	const struct fpd_plugin *plugin;
	struct fpd_prepared prepared;
	json_t *object;
	/* With object, when queueing.volcano applies: the PodGroup to create before it (new
	 * reference; engine/volcano.h). */
	json_t *podgroup;
	/* Without object: the Pod Security check refused the built object (rather than the plugin
	 * refusing to build it). */
	bool pod_security;
};

/*
 * Builds req (borrowed; it must outlive out) under env. Returns:
 *   a negative FPD_E*, out empty: the request is refused before any plugin runs
 *     (FPD_EINVAL malformed, FPD_ENOENT no plugin serves the task type, FPD_EPERM the
 *     namespace is not served, or env->policy refuses the namespace, service account or task
 *     type: fpd_policy_check_create), err says why;
 *   FPD_OK with out->object: built, and every pod it runs meets the namespace's Pod Security
 *     level (fpd_policy_check_object at fpd_build_pod_specs, when env->policy is set);
 *   FPD_OK without out->object: the plugin (or decoration) refused this task, or the Pod
 *     Security check refused the object (out->pod_security), err says why; the attempt
 *     fails, as in Flyte ("FailedToBuildResource").
 */
int fpd_build(const struct fpd_build_env *env, const struct fpd_task_request *req,
              struct fpd_built *out, struct fpd_error *err);

void fpd_built_free(struct fpd_built *b);

/* Where plugin's objects hold pod specs (borrowed, NULL-terminated), or NULL for none: its
 * pod_specs when its descriptor has the field (ABI 6) and sets it, else {"spec"} for a v1/Pod
 * kind. */
const char *const *fpd_build_pod_specs(const struct fpd_plugin *plugin);

#endif
