/* The build pipeline: see build.h. */
#include "engine/build.h"

#include "core/log.h"
#include "engine/decorate.h"
#include "engine/volcano.h"

#include <string.h>

/* A policy refusal, with who asked for what where. */
static void log_refusal(const struct fpd_built *b, const char *type, const struct fpd_error *err)
{
	const char *sa = b->prepared.task.service_account;
	fpd_log(FPD_LOG_WARN, "policy",
	        "refused: namespace %s, service account %s, task type %s: %s",
	        b->prepared.namespace_, sa && *sa ? sa : "default", type, err->text);
}

int fpd_build(const struct fpd_build_env *env, const struct fpd_task_request *req,
              struct fpd_built *out, struct fpd_error *err)
{
	memset(out, 0, sizeof(*out));
	const Flyteidl__Core__TaskTemplate *t = req->tmpl;
	if (!t)
		return fpd_error_set(err, FPD_EINVAL, "the task request has no template");
	/* plugins.routes may choose a plugin by the namespace the task runs in. */
	const struct fpd_plugin *plugin =
	    t->type ? fpd_registry_route(env->registry, t->type, t->task_type_version,
	                                 fpd_prepare_namespace(req, env->cfg))
	            : NULL;
	if (!plugin)
		return fpd_error_set(err, FPD_ENOENT, "no plugin serves task type %s (version %d)",
		                     t->type ? t->type : "", t->task_type_version);
	int rc = fpd_prepare(req, plugin, env->cfg, &out->prepared, err);
	if (rc)
		return rc;
	out->plugin = plugin;
	struct fpd_task *task = &out->prepared.task;
	task->plugin_settings = fpd_plugin_settings_get(env->psettings, plugin);
	json_t *obj = NULL;
	if (env->policy) {
		rc = fpd_policy_check_create(env->policy, out->prepared.namespace_,
		                             task->service_account, t->type, err);
		if (rc) {
			log_refusal(out, t->type, err);
			fpd_built_free(out);
			return rc;
		}
	}
	rc = plugin->build(task, &obj, err);
	if (!rc)
		rc = fpd_decorate(obj, task, plugin->name, &env->cfg->settings, err);
	const char *const *paths = fpd_build_pod_specs(plugin);
	if (!rc)
		out->podgroup = fpd_volcano_group(obj, paths, &env->cfg->settings);
	if (!rc && env->policy && paths) {
		rc =
		    fpd_policy_check_object(env->policy, out->prepared.namespace_, obj, paths, err);
		out->pod_security = rc != 0;
		if (rc)
			log_refusal(out, t->type, err);
	}
	if (rc) {
		json_decref(obj);
		json_decref(out->podgroup);
		out->podgroup = NULL;
	} else {
		out->object = obj;
	}
	return FPD_OK;
}

const char *const *fpd_build_pod_specs(const struct fpd_plugin *plugin)
{
	static const char *const pod[] = {"spec", NULL};
	/* A descriptor built for ABI 5 or older ends before pod_specs. */
	if (plugin->abi >= 6 && plugin->pod_specs)
		return plugin->pod_specs;
	if (plugin->kind && !strcmp(plugin->kind->api_version, "v1") &&
	    !strcmp(plugin->kind->kind, "Pod"))
		return pod;
	return NULL;
}

void fpd_built_free(struct fpd_built *b)
{
	json_decref(b->object);
	json_decref(b->podgroup);
	fpd_prepared_free(&b->prepared);
	memset(b, 0, sizeof(*b));
}
