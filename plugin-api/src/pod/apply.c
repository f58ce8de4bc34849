/*
 * Flyte's ApplyFlytePodConfiguration over JSON: templating, env and resources of every
 * container, then UpdatePod (update.c), the extended resources (extended.c) and the image
 * override. Where Go iterates a map (random order) the configuration's order is used, so the
 * same task always gives the same pod (CreateTask may be delivered twice).
 */
#include "internal.h"

#include <flyteplugd/object.h>

#include <flyteplugd/error.h>
#include <flyteplugd/mem.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Renders every string of the array at c[key] in place. */
static int render_list(const struct fpd_task *task, json_t *c, const char *key,
                       struct fpd_error *err)
{
	json_t *list = json_object_get(c, key), *v;
	size_t i;
	json_array_foreach(list, i, v)
	{
		char *out;
		const char *in = json_string_value(v);
		int rc = fpd_render_template(task, in, &out, err);
		if (rc)
			return rc;
		/* Most arguments hold no variable: they stay the strings they are. */
		if (!in || strcmp(in, out) != 0)
			json_array_set_new(list, i, json_string(out));
		free(out);
	}
	return FPD_OK;
}

json_t *fpd_pod_scalar_string(const json_t *v)
{
	char num[64];
	if (json_is_string(v))
		return json_copy((json_t *)v);
	if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return json_string(num);
	}
	if (json_is_real(v)) {
		fpd_go_float(json_real_value(v), num, sizeof(num));
		return json_string(num);
	}
	if (json_is_boolean(v))
		return json_string(json_is_true(v) ? "true" : "false");
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	json_t *out = json_string(s ? s : "");
	free(s);
	return out;
}

/* Flyte's DecorateEnvVars after the container's own env: the engine's injected env (execution
 * ids and env), k8s.default-env-vars, k8s.default-env-vars-from-env, then envFrom for
 * k8s.default-env-from-secrets and -configmaps. */
static void decorate_env(const struct fpd_task *task, json_t *c)
{
	const struct fpd_k8s_settings *k8s = &task->settings->k8s;
	json_t *env = json_object_get(c, "env");
	if (fpd_pod_unset(env)) {
		env = json_array();
		json_object_set_new(c, "env", env);
	}
	/* The entries themselves are shared (each container holds a reference): nothing edits an
	 * env entry in place, and copying them was a tenth of a pod's build. */
	if (task->injected_env)
		json_array_extend(env, (json_t *)task->injected_env);
	const char *k;
	json_t *v;
	json_object_foreach(k8s->default_env_vars, k, v)
	{
		json_array_append_new(env, fpd_json_name_value(k, fpd_pod_scalar_string(v)));
	}
	json_object_foreach(k8s->default_env_vars_from_env, k, v)
	{
		const char *val = json_is_string(v) ? getenv(json_string_value(v)) : NULL;
		json_array_append_new(env, fpd_json_name_value(k, json_string(val ? val : "")));
	}
	if (json_array_size(env) == 0)
		json_object_del(c, "env");
	const struct fpd_strings *refs[] = {&k8s->default_env_from_secrets,
	                                    &k8s->default_env_from_configmaps};
	const char *ref_keys[] = {"secretRef", "configMapRef"};
	for (size_t r = 0; r < 2; r++)
		for (size_t i = 0; i < refs[r]->count; i++) {
			json_t *from = json_object_get(c, "envFrom");
			if (fpd_pod_unset(from)) {
				from = json_array();
				json_object_set_new(c, "envFrom", from);
			}
			json_array_append_new(from, json_pack("{s:{s:s,s:b}}", ref_keys[r], "name",
			                                      refs[r]->items[i], "optional", 1));
		}
}

/* AddFlyteCustomizationsToContainer: templating, env, resources. */
static int customize(const struct fpd_task *task, json_t *c, const json_t *overrides,
                     enum fpd_res_mode mode, struct fpd_error *err)
{
	int rc = render_list(task, c, "command", err);
	if (!rc)
		rc = render_list(task, c, "args", err);
	if (rc)
		return rc;
	decorate_env(task, c);
	return fpd_pod_settle_resources(c, overrides, mode, &task->settings->k8s, err);
}

/* Resource overrides of the execution (or of the operator's role) as {requests, limits}. */
static int override_resources(const struct fpd_task *task, const struct fpd_pod_options *opts,
                              json_t **out, struct fpd_error *err)
{
	*out = NULL;
	if (opts && opts->resources) {
		*out = json_deep_copy(opts->resources);
		return FPD_OK;
	}
	const Flyteidl__Core__Resources *r =
	    task->meta && task->meta->overrides ? task->meta->overrides->resources : NULL;
	if (!r)
		return FPD_OK;
	return fpd_pod_resources_from_proto(r, task->settings->k8s.gpu_resource_name, out, err);
}

/* Customizes init containers, then containers (the primary one like init containers), and
 * checks that the primary container exists. overrides: see override_resources(). */
static int customize_containers(const struct fpd_task *task, const json_t *overrides,
                                struct fpd_pod *pod, struct fpd_error *err)
{
	json_t *c;
	size_t i;
	int rc = FPD_OK;
	json_array_foreach(json_object_get(pod->spec, "initContainers"), i, c)
	{
		if (!rc)
			rc = customize(task, c, overrides, FPD_RES_MERGE, err);
	}
	bool found = false;
	json_array_foreach(json_object_get(pod->spec, "containers"), i, c)
	{
		bool primary = !strcmp(fpd_json_str_or(c, "name", ""), pod->primary);
		found = found || primary;
		if (!rc)
			rc = customize(task, c, overrides, primary ? FPD_RES_MERGE : FPD_RES_ENSURE,
			               err);
	}
	if (!rc && !found)
		rc = fpd_error_set(err, FPD_EINVAL,
		                   "invalid TaskSpecification, primary container [%s] not defined",
		                   pod->primary);
	return rc;
}

/* Features Flyte has and this plugin does not yet: refuse rather than build a different pod. */
static int check_supported(const struct fpd_task *task, struct fpd_error *err)
{
	const Flyteidl__Core__TaskTemplate *t = task->tmpl;
	const char *pt = t->metadata ? t->metadata->pod_template_name : NULL;
	if (pt && *pt)
		return fpd_error_set(
		    err, FPD_EINVAL,
		    "PodTemplate '%s' cannot be used: flyteplugd does not resolve PodTemplates yet",
		    pt);
	return FPD_OK;
}

static bool interruptible(const struct fpd_task *task, const struct fpd_pod_options *opts)
{
	switch (opts ? opts->interruptible : FPD_POD_INTERRUPTIBLE_AS_TASK) {
	case FPD_POD_INTERRUPTIBLE_NEVER: return false;
	case FPD_POD_INTERRUPTIBLE_ALWAYS: return true;
	default: return task->interruptible;
	}
}

int fpd_pod_apply_flyte_config(const struct fpd_task *task, const struct fpd_pod_options *opts,
                               struct fpd_pod *pod, struct fpd_error *err)
{
	json_t *overrides = NULL;
	int rc = check_supported(task, err);
	if (!rc)
		rc = override_resources(task, opts, &overrides, err);
	if (!rc)
		rc = customize_containers(task, overrides, pod, err);
	/* After the customization: Flyte leaves the co-pilot containers as it makes them. */
	if (!rc)
		rc = fpd_pod_add_copilot(task, overrides, pod, err);
	json_decref(overrides);
	if (rc)
		return rc;
	fpd_pod_update(task, interruptible(task, opts), pod->spec);
	const json_t *def_sc = task->settings->k8s.default_security_context;
	json_t *primary = fpd_pod_find_container(pod->spec, pod->primary);
	if (fpd_pod_unset(json_object_get(primary, "securityContext")) && !fpd_pod_unset(def_sc))
		json_object_set_new(primary, "securityContext", json_deep_copy(def_sc));
	rc = fpd_pod_extended_resources(task, opts, pod, err);
	const char *image =
	    task->meta && task->meta->overrides ? task->meta->overrides->container_image : NULL;
	if (!rc && image && *image)
		json_object_set_new(primary, "image", json_string(image));
	return rc;
}

int fpd_pod_build_spec(const struct fpd_task *task, const struct fpd_pod_options *opts,
                       struct fpd_pod *out, struct fpd_error *err)
{
	int rc = fpd_pod_build_raw(task, out, err);
	if (!rc)
		rc = fpd_pod_apply_flyte_config(task, opts, out, err);
	if (rc) {
		fpd_pod_clear(out);
		return rc;
	}
	fpd_pod_add_extended_resource_tolerations(out->spec, &task->settings->k8s);
	fpd_pod_omit_empty(out->spec);
	fpd_pod_canonical_quantities(out->spec);
	return FPD_OK;
}
