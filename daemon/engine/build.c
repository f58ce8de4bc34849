/* The build pipeline: see build.h. */
#include "engine/build.h"

#include "engine/decorate.h"

#include <string.h>

int fpd_build(const struct fpd_build_env *env, const struct fpd_task_request *req,
              struct fpd_built *out, struct fpd_error *err)
{
	memset(out, 0, sizeof(*out));
	const Flyteidl__Core__TaskTemplate *t = req->tmpl;
	if (!t)
		return fpd_error_set(err, FPD_EINVAL, "the task request has no template");
	const struct fpd_plugin *plugin =
	    t->type ? fpd_registry_find(env->registry, t->type, t->task_type_version) : NULL;
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
	rc = plugin->build(task, &obj, err);
	if (!rc)
		rc = fpd_decorate(obj, task, plugin->name, &env->cfg->settings, err);
	if (rc)
		json_decref(obj);
	else
		out->object = obj;
	return FPD_OK;
}

void fpd_built_free(struct fpd_built *b)
{
	json_decref(b->object);
	fpd_prepared_free(&b->prepared);
	memset(b, 0, sizeof(*b));
}
