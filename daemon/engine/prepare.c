/* Task preparation: see prepare.h. */
#include "engine/prepare.h"

#include <flyteplugd/mem.h>
#include "engine/decorate.h"
#include "engine/naming.h"

#include <flyteplugd/object.h>
#include <flyteplugd/structpb.h>
#include <stdlib.h>
#include <string.h>

static const char *str_or_empty(const char *s)
{
	return s ? s : "";
}

const ProtobufCMessageDescriptor *fpd_plugin_custom_descriptor(const struct fpd_plugin *plugin,
                                                               const char *type, int32_t version)
{
	for (size_t i = 0; i < plugin->task_type_count; i++)
		if (plugin->task_types[i].version == version &&
		    strcmp(plugin->task_types[i].name, type) == 0)
			return plugin->task_types[i].custom;
	return NULL;
}

static const char *config_value(const Flyteidl__Core__TaskTemplate *t, const char *key)
{
	for (size_t i = 0; i < t->n_config; i++)
		if (strcmp(t->config[i]->key, key) == 0)
			return t->config[i]->value;
	return NULL;
}

/* Sorted so the built object is the same whatever order the map arrived in. */
static int cmp_env(const void *a, const void *b)
{
	const char *ka = json_string_value(json_object_get(*(json_t *const *)a, "name"));
	const char *kb = json_string_value(json_object_get(*(json_t *const *)b, "name"));
	return strcmp(ka, kb);
}

static void env_add(json_t *env, const char *name, const char *value)
{
	json_array_append_new(env, fpd_json_name_value(name, json_string(value)));
}

static void env_add_sorted_object(json_t *env, const json_t *obj)
{
	if (!json_is_object(obj))
		return;
	json_t *tmp = json_array();
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)obj, k, v)
	{
		const char *val = json_string_value(v);
		env_add(tmp, k, val ? val : "");
	}
	size_t n = json_array_size(tmp);
	json_t **items = fpd_calloc(n, sizeof(*items));
	for (size_t i = 0; i < n; i++)
		items[i] = json_array_get(tmp, i);
	qsort(items, n, sizeof(*items), cmp_env);
	for (size_t i = 0; i < n; i++)
		json_array_append(env, items[i]);
	free(items);
	json_decref(tmp);
}

/* Flyte's DecorateEnvVars, in its order. */
static json_t *injected_env(const struct fpd_task_ref *r, const struct fpd_task_meta *meta,
                            const struct fpd_k8s_settings *k8s)
{
	json_t *env = json_array();
	char attempt[16];
	snprintf(attempt, sizeof(attempt), "%u", r->retry_attempt);
	env_add(env, "FLYTE_INTERNAL_EXECUTION_ID", r->execution);
	env_add(env, "FLYTE_INTERNAL_EXECUTION_PROJECT", r->project);
	env_add(env, "FLYTE_INTERNAL_EXECUTION_DOMAIN", r->domain);
	env_add(env, "FLYTE_ATTEMPT_NUMBER", attempt);
	env_add(env, "FLYTE_INTERNAL_TASK_PROJECT", r->task_project);
	env_add(env, "FLYTE_INTERNAL_TASK_DOMAIN", r->task_domain);
	env_add(env, "FLYTE_INTERNAL_TASK_NAME", r->task_name);
	env_add(env, "FLYTE_INTERNAL_TASK_VERSION", r->task_version);
	json_t *exec_env = json_object();
	for (size_t i = 0; i < meta->n_env; i++)
		if (meta->env[i].key)
			json_object_set_new(exec_env, meta->env[i].key,
			                    json_string(str_or_empty(meta->env[i].value)));
	env_add_sorted_object(env, exec_env);
	json_decref(exec_env);
	/* default-env-vars and default-env-vars-from-env are added by the pod base, after these
	 * (fpd_pod_build_spec), for every container it builds. */
	(void)k8s;
	return env;
}

static json_t *string_map(const struct fpd_kv *kv, size_t n)
{
	json_t *obj = json_object();
	for (size_t i = 0; i < n; i++)
		json_object_set_new(obj, str_or_empty(kv[i].key),
		                    json_string(str_or_empty(kv[i].value)));
	return obj;
}

static int fill_ref(const struct fpd_task_request *req, const struct fpd_plugin *plugin,
                    struct fpd_prepared *p, struct fpd_error *err)
{
	const Flyteidl__Core__TaskTemplate *t = req->tmpl;
	const struct fpd_task_meta *m = &req->meta;
	if (!m->execution || !*m->execution || !m->node_id || !*m->node_id)
		return fpd_error_set(err, FPD_EINVAL,
		                     "the task attempt's execution name and node id are required "
		                     "(task_execution_metadata.task_execution_id)");
	struct fpd_task_ref *r = &p->task.ref;
	r->project = str_or_empty(m->project);
	r->domain = str_or_empty(m->domain);
	r->execution = m->execution;
	r->node_id = m->node_id;
	r->retry_attempt = m->retry_attempt;
	const Flyteidl__Core__Identifier *tid = m->task_id ? m->task_id : t->id;
	r->task_project = str_or_empty(tid ? tid->project : NULL);
	r->task_domain = str_or_empty(tid ? tid->domain : NULL);
	r->task_name = str_or_empty(tid ? tid->name : NULL);
	r->task_version = str_or_empty(tid ? tid->version : NULL);
	r->task_type = str_or_empty(t->type);
	r->task_type_version = t->task_type_version;
	r->link_types = str_or_empty(config_value(t, "link_type"));
	/* The one place an attempt's object name is made: CreateTask and render both prepare,
	 * and everything later (adoption after a 409, GetTask/DeleteTask, the informers after a
	 * restart) finds the object by this name, carried in resource_meta or read back from
	 * the object itself. */
	p->generated_name =
	    fpd_name_generated(r->execution, r->node_id, r->retry_attempt, plugin->name_max_len);
	r->generated_name = p->generated_name;
	return FPD_OK;
}

const char *fpd_prepare_namespace(const struct fpd_task_request *req, const struct fpd_config *cfg)
{
	const struct fpd_task_meta *m = &req->meta;
	return m->namespace_ && *m->namespace_ ? m->namespace_ : cfg->namespaces.default_namespace;
}

static int choose_namespace(const struct fpd_task_request *req, const struct fpd_config *cfg,
                            struct fpd_prepared *p, struct fpd_error *err)
{
	const char *ns = fpd_prepare_namespace(req, cfg);
	if (cfg->namespaces.watch.count && !fpd_strings_contains(&cfg->namespaces.watch, ns))
		return fpd_error_set(err, FPD_EPERM,
		                     "namespace \"%s\" is not one flyteplugd serves "
		                     "(namespaces.watch)",
		                     ns);
	p->namespace_ = fpd_strdup(ns);
	p->task.ref.namespace_ = p->namespace_;
	return FPD_OK;
}

/* Propeller renders arguments before CreateTask; these are for templates left unrendered (and
 * for `flyteplugd render`). Propeller's output prefix is <node data dir>/<attempt>, and the
 * inputs live in the node data dir. */
static void fill_paths(const struct fpd_task_request *req, struct fpd_prepared *p)
{
	const char *out = str_or_empty(req->output_prefix);
	const char *slash = strrchr(out, '/');
	p->input_prefix = slash ? fpd_strndup(out, (size_t)(slash - out)) : fpd_strdup(out);
	p->input_path = fpd_asprintf("%s/inputs.pb", p->input_prefix);
	p->raw_output_prefix = fpd_strdup(out);
	p->checkpoint_prefix = fpd_asprintf("%s/_flytecheckpoints", out);
	struct fpd_task_paths *paths = &p->task.paths;
	paths->input_path = p->input_path;
	paths->input_prefix = p->input_prefix;
	paths->output_prefix = out;
	paths->raw_output_prefix = p->raw_output_prefix;
	paths->checkpoint_prefix = p->checkpoint_prefix;
	paths->prev_checkpoint_prefix = "";
	paths->task_template_path = "";
}

static int decode_custom(const Flyteidl__Core__TaskTemplate *t, const struct fpd_plugin *plugin,
                         struct fpd_prepared *p, struct fpd_error *err)
{
	if (t->custom) {
		int rc = fpd_struct_to_json(t->custom, &p->custom_json, err);
		if (rc)
			return fpd_error_wrap(err, rc, "TaskTemplate.custom");
	} else {
		p->custom_json = json_object();
	}
	const ProtobufCMessageDescriptor *desc =
	    fpd_plugin_custom_descriptor(plugin, t->type, t->task_type_version);
	if (desc && t->custom) {
		int rc = fpd_json_to_message(p->custom_json, desc, &p->custom, err);
		if (rc)
			return fpd_error_wrap(err, rc, "TaskTemplate.custom as %s", desc->name);
	}
	p->task.custom_json = p->custom_json;
	p->task.custom = p->custom;
	return FPD_OK;
}

int fpd_prepare(const struct fpd_task_request *req, const struct fpd_plugin *plugin,
                const struct fpd_config *cfg, struct fpd_prepared *out, struct fpd_error *err)
{
	memset(out, 0, sizeof(*out));
	const Flyteidl__Core__TaskTemplate *t = req->tmpl;
	if (!t || !t->type || !*t->type)
		return fpd_error_set(err, FPD_EINVAL, "a task template with a type is required");
	const struct fpd_task_meta *m = &req->meta;
	int rc = fill_ref(req, plugin, out, err);
	if (!rc)
		rc = choose_namespace(req, cfg, out, err);
	if (!rc)
		rc = decode_custom(t, plugin, out, err);
	if (rc) {
		fpd_prepared_free(out);
		return rc;
	}
	fill_paths(req, out);
	const Flyteidl__Core__SecurityContext *sc = t->security_context;
	const char *sa =
	    sc && sc->run_as && sc->run_as->k8s_service_account && *sc->run_as->k8s_service_account
	        ? sc->run_as->k8s_service_account
	        : m->service_account;
	out->service_account = fpd_strdup(str_or_empty(sa));
	out->labels = string_map(m->labels, m->n_labels);
	/* Operator plugins put these labels on their pod templates: the pods can then be told
	 * apart as flyteplugd's and attributed to this attempt. */
	json_object_set_new(out->labels, FPD_LABEL_MANAGED_BY, json_string(FPD_MANAGED_BY));
	json_object_set_new(out->labels, FPD_LABEL_OWNER, json_string(out->generated_name));
	out->annotations = string_map(m->annotations, m->n_annotations);
	out->injected_env = injected_env(&out->task.ref, m, &cfg->settings.k8s);

	struct fpd_task *task = &out->task;
	task->tmpl = t;
	task->meta = m->plugin_meta;
	task->inputs = req->inputs;
	task->service_account = out->service_account;
	const char *il = json_string_value(json_object_get(out->labels, "interruptible"));
	task->interruptible = m->interruptible || (il && strcmp(il, "true") == 0);
	task->injected_env = out->injected_env;
	task->labels = out->labels;
	task->annotations = out->annotations;
	task->settings = &cfg->settings;
	return FPD_OK;
}

void fpd_prepared_free(struct fpd_prepared *p)
{
	free(p->generated_name);
	free(p->namespace_);
	free(p->service_account);
	free(p->input_prefix);
	free(p->input_path);
	free(p->raw_output_prefix);
	free(p->checkpoint_prefix);
	json_decref(p->custom_json);
	if (p->custom)
		protobuf_c_message_free_unpacked(p->custom, NULL);
	json_decref(p->injected_env);
	json_decref(p->labels);
	json_decref(p->annotations);
	memset(p, 0, sizeof(*p));
}
