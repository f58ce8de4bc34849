/*
 * The crd plugin: declared task types (see crd.h and docs/task-types.md).
 *
 * compile: a declaration (JSON) into a struct fpd_crd_type, every field checked with its path.
 * build:   the manifest rendered with the task's variables, apiVersion and kind from the
 *          resource, the interface's output types recorded in an annotation.
 * status:  the rules in a fixed order over the observed object (failed, succeeded, then stuck
 *          child pods, running, waiting, queued), then the staleness timeout; outputs on
 *          success; log links of the child pods and the declared ones.
 */
#include "crd/internal.h"

#include <flyteplugd/buf.h>
#include <flyteplugd/logs.h>
#include <flyteplugd/mem.h>
#include <flyteplugd/object.h>
#include <flyteplugd/phase.h>
#include <flyteplugd/pod.h>
#include <flyteplugd/queue.h>
#include <flyteplugd/settings.h>

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum rule {
	RULE_FAILED,
	RULE_SUCCEEDED,
	RULE_RUNNING,
	RULE_WAITING,
	RULE_QUEUED,
	RULE_MESSAGE,
	RULE_RETRYABLE,
	RULE_COUNT,
};
static const char *const rule_keys[RULE_COUNT] = {
    "failed", "succeeded", "running", "waitingForResources", "queued", "message", "retryable"};

#define MAX_OUTPUTS 64
#define MAX_LINKS 16
#define MAX_POD_LINKS 16
#define MAX_KEEP 16
#define MAX_TIMEOUT_MS (7LL * 24 * 3600 * 1000)

struct output {
	char *name;
	struct fpd_crd_jq *q;
};

struct link {
	char *name;
	char *uri;
	bool show_while_pending;
};

struct fpd_crd_type {
	struct fpd_plugin plugin;
	struct fpd_task_type task_type;
	struct fpd_kind kind;
	char *name;
	char *api_version, *kind_name, *plural;
	char *pod_label;
	char *role_label; /* names a child pod's role in its link names, or NULL */
	bool pod_logs;
	json_t *manifest;
	struct fpd_crd_jq *rules[RULE_COUNT];
	enum fpd_error_kind failure_kind;
	int64_t timeout_ms;
	struct output *outputs;
	size_t output_count;
	struct link *links;
	size_t link_count;
	char **keep;  /* NULL-terminated, for the descriptor */
	json_t *spec; /* the declaration's spec, as compiled */
	/* spec.kueue: hand the object to Kueue when the task has a queue (queue.h); the
	 * dotted path of its suspend field, or NULL for the label only. */
	bool kueue;
	char *kueue_suspend;
};

static int build(const struct fpd_task *task, json_t **out, struct fpd_error *err);
static void status(const struct fpd_status_ctx *ctx, struct fpd_phase_info *out);

struct var {
	const char *name, *value;
};

/* Renders a declared link's URI with vars (n of them; value NULL only when checking). Returns
 * a new string, or NULL naming the unknown variable in err. */
static char *render_link(const char *uri, const struct var *vars, size_t n, struct fpd_error *err)
{
	struct fpd_buf b;
	fpd_buf_init(&b, 8192);
	const char *s = uri, *o;
	while ((o = strstr(s, "{{"))) {
		const char *c = strstr(o, "}}");
		const char *a = o + 2;
		while (*a == ' ')
			a++;
		const char *e = c;
		while (e && e > a && e[-1] == ' ')
			e--;
		const struct var *v = NULL;
		for (size_t i = 0; c && i < n && !v; i++)
			if (*a == '.' && strlen(vars[i].name) == (size_t)(e - a - 1) &&
			    !strncmp(vars[i].name, a + 1, (size_t)(e - a - 1)))
				v = &vars[i];
		if (!v) {
			fpd_error_set(err, FPD_EINVAL, "unknown variable in %s", uri);
			fpd_buf_free(&b);
			return NULL;
		}
		fpd_buf_append(&b, s, (size_t)(o - s));
		fpd_buf_append_str(&b, v->value ? v->value : "");
		s = c + 2;
	}
	fpd_buf_append_str(&b, s);
	size_t len;
	char *r = fpd_buf_steal(&b, &len);
	fpd_buf_free(&b);
	return r ? r : fpd_strdup("");
}

static const char *const link_var_names[] = {"name",          "namespace",        "uid",
                                             "generatedName", "executionProject", "executionDomain",
                                             "executionName", "taskRetryAttempt"};
#define LINK_VARS (sizeof(link_var_names) / sizeof(link_var_names[0]))

/* ---- compiling a declaration ------------------------------------------------------------- */

static int check_keys(const json_t *obj, const char *path, const char *const *keys,
                      struct fpd_error *err)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)obj, k, v)
	{
		bool ok = false;
		for (const char *const *p = keys; *p && !ok; p++)
			ok = !strcmp(*p, k);
		if (!ok)
			return fpd_error_set(err, FPD_EINVAL, "%s.%s: unknown field", path, k);
	}
	return 0;
}

static int get_obj(const json_t *parent, const char *key, const char *path, bool required,
                   const json_t **out, struct fpd_error *err)
{
	const json_t *v = json_object_get(parent, key);
	*out = NULL;
	if (!v || json_is_null(v)) {
		if (required)
			return fpd_error_set(err, FPD_EINVAL, "%s.%s: required", path, key);
		return 0;
	}
	if (!json_is_object(v))
		return fpd_error_set(err, FPD_EINVAL, "%s.%s: expected an object", path, key);
	*out = v;
	return 0;
}

static int get_str(const json_t *parent, const char *key, const char *path, bool required,
                   size_t max, char **out, struct fpd_error *err)
{
	const json_t *v = json_object_get(parent, key);
	*out = NULL;
	if (!v || json_is_null(v)) {
		if (required)
			return fpd_error_set(err, FPD_EINVAL, "%s.%s: required", path, key);
		return 0;
	}
	if (!json_is_string(v) || (required && !json_string_length(v)))
		return fpd_error_set(err, FPD_EINVAL, "%s.%s: expected a non-empty string", path,
		                     key);
	if (json_string_length(v) > max)
		return fpd_error_set(err, FPD_EINVAL, "%s.%s: longer than %zu", path, key, max);
	*out = fpd_strdup(json_string_value(v));
	return 0;
}

static bool plugin_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > 63)
		return false;
	for (; *s; s++)
		if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '-' ||
		      *s == '_'))
			return false;
	return true;
}

/* "90s", "10m", "1h", "1h30m" or a number of seconds; -1 if malformed. */
static int64_t parse_duration(const json_t *v)
{
	if (json_is_integer(v))
		return json_integer_value(v) >= 0 ? json_integer_value(v) * 1000 : -1;
	if (!json_is_string(v))
		return -1;
	const char *s = json_string_value(v);
	int64_t total = 0;
	if (!*s)
		return -1;
	while (*s) {
		char *end;
		long long n = strtoll(s, &end, 10);
		if (end == s || n < 0 || n > 1000000)
			return -1;
		int64_t unit = *end == 'h' ? 3600000 : *end == 'm' ? 60000 : *end == 's' ? 1000 : 0;
		if (!unit)
			return -1;
		total += n * unit;
		s = end + 1;
	}
	return total;
}

static int compile_taskType(struct fpd_crd_type *t, const json_t *spec, struct fpd_error *err)
{
	const json_t *tt;
	int rc = get_obj(spec, "taskType", "spec", true, &tt, err);
	if (rc)
		return rc;
	static const char *const keys[] = {"name", "version", NULL};
	if ((rc = check_keys(tt, "spec.taskType", keys, err)) ||
	    (rc = get_str(tt, "name", "spec.taskType", true, 63, &t->name, err)))
		return rc;
	if (!plugin_name_ok(t->name))
		return fpd_error_set(
		    err, FPD_EINVAL,
		    "spec.taskType.name: \"%s\" must be 1-63 characters of [a-z0-9_-]", t->name);
	const json_t *ver = json_object_get(tt, "version");
	if (ver && !json_is_null(ver) &&
	    (!json_is_integer(ver) || json_integer_value(ver) < 0 ||
	     json_integer_value(ver) > INT32_MAX))
		return fpd_error_set(err, FPD_EINVAL,
		                     "spec.taskType.version: expected an integer from 0 to 2^31-1");
	t->task_type.name = t->name;
	t->task_type.version = ver ? (int32_t)json_integer_value(ver) : 0;
	return 0;
}

static int compile_resource(struct fpd_crd_type *t, const json_t *spec, struct fpd_error *err)
{
	const json_t *r;
	static const char *const keys[] = {"apiVersion", "kind", "plural", NULL};
	int rc;
	if ((rc = get_obj(spec, "resource", "spec", true, &r, err)) ||
	    (rc = check_keys(r, "spec.resource", keys, err)) ||
	    (rc = get_str(r, "apiVersion", "spec.resource", true, 253, &t->api_version, err)) ||
	    (rc = get_str(r, "kind", "spec.resource", true, 63, &t->kind_name, err)) ||
	    (rc = get_str(r, "plural", "spec.resource", true, 63, &t->plural, err)))
		return rc;
	const char *slash = strchr(t->api_version, '/');
	if (!slash ? strchr(t->api_version, '.') != NULL : strchr(slash + 1, '/') != NULL)
		return fpd_error_set(
		    err, FPD_EINVAL,
		    "spec.resource.apiVersion: \"%s\" is not group/version or version",
		    t->api_version);
	for (const char *p = t->plural; *p; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '-')
			return fpd_error_set(
			    err, FPD_EINVAL,
			    "spec.resource.plural: \"%s\" is not a lowercase resource name",
			    t->plural);
	if (!strcmp(t->api_version, "v1") && !strcmp(t->kind_name, "Pod"))
		return fpd_error_set(
		    err, FPD_EINVAL,
		    "spec.resource: Pods are the pod plugin's; declare another kind");
	t->kind.api_version = t->api_version;
	t->kind.kind = t->kind_name;
	t->kind.plural = t->plural;
	return 0;
}

static int compile_status(struct fpd_crd_type *t, const json_t *spec, struct fpd_error *err)
{
	const json_t *st;
	int rc = get_obj(spec, "status", "spec", true, &st, err);
	if (rc)
		return rc;
	static const char *const keys[] = {
	    "failed",  "succeeded", "running",   "waitingForResources",
	    "queued",  "message",   "retryable", "failureKind",
	    "timeout", NULL};
	if ((rc = check_keys(st, "spec.status", keys, err)))
		return rc;
	for (int i = 0; i < RULE_COUNT; i++) {
		const json_t *v = json_object_get(st, rule_keys[i]);
		char where[64];
		snprintf(where, sizeof(where), "spec.status.%s", rule_keys[i]);
		if (!v || json_is_null(v))
			continue;
		if (!json_is_string(v))
			return fpd_error_set(err, FPD_EINVAL,
			                     "%s: expected a jq program (a string)", where);
		if ((rc = fpd_crd_jq_compile(json_string_value(v), where, &t->rules[i], err)))
			return rc;
	}
	if (!t->rules[RULE_SUCCEEDED] || !t->rules[RULE_FAILED])
		return fpd_error_set(err, FPD_EINVAL,
		                     "spec.status: succeeded and failed are required");
	const char *fk = json_string_value(json_object_get(st, "failureKind"));
	t->failure_kind = FPD_KIND_USER;
	if (json_object_get(st, "failureKind")) {
		if (fk && !strcmp(fk, "system"))
			t->failure_kind = FPD_KIND_SYSTEM;
		else if (!fk || strcmp(fk, "user"))
			return fpd_error_set(err, FPD_EINVAL,
			                     "spec.status.failureKind: expected user or system");
	}
	const json_t *to = json_object_get(st, "timeout");
	if (to) {
		t->timeout_ms = parse_duration(to);
		if (t->timeout_ms <= 0 || t->timeout_ms > MAX_TIMEOUT_MS)
			return fpd_error_set(
			    err, FPD_EINVAL,
			    "spec.status.timeout: expected a duration (\"90s\", \"10m\", "
			    "\"1h\") from 1s to 168h");
	}
	return 0;
}

static int compile_outputs(struct fpd_crd_type *t, const json_t *spec, struct fpd_error *err)
{
	const json_t *o;
	int rc = get_obj(spec, "outputs", "spec", false, &o, err);
	if (rc || !o)
		return rc;
	if (json_object_size(o) > MAX_OUTPUTS)
		return fpd_error_set(err, FPD_EINVAL, "spec.outputs: more than %d", MAX_OUTPUTS);
	t->outputs = fpd_calloc(json_object_size(o) + 1, sizeof(*t->outputs));
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)o, k, v)
	{
		char where[160];
		snprintf(where, sizeof(where), "spec.outputs.%.100s", k);
		if (!json_is_string(v))
			return fpd_error_set(err, FPD_EINVAL,
			                     "%s: expected a jq program (a string)", where);
		struct output *out = &t->outputs[t->output_count++];
		out->name = fpd_strdup(k);
		if ((rc = fpd_crd_jq_compile(json_string_value(v), where, &out->q, err)))
			return rc;
	}
	return 0;
}

static int compile_pods(struct fpd_crd_type *t, const json_t *spec, struct fpd_error *err)
{
	const json_t *p;
	static const char *const keys[] = {"ownerLabel", "roleLabel", "logs", NULL};
	int rc = get_obj(spec, "pods", "spec", false, &p, err);
	if (rc || !p)
		return rc;
	if ((rc = check_keys(p, "spec.pods", keys, err)) ||
	    (rc = get_str(p, "ownerLabel", "spec.pods", true, 317, &t->pod_label, err)) ||
	    (rc = get_str(p, "roleLabel", "spec.pods", false, 317, &t->role_label, err)))
		return rc;
	const json_t *logs = json_object_get(p, "logs");
	if (logs && !json_is_boolean(logs))
		return fpd_error_set(err, FPD_EINVAL, "spec.pods.logs: expected true or false");
	t->pod_logs = !logs || json_is_true(logs);
	return 0;
}

/* A dotted path a declaration names ("spec.replicas", "spec.jobs[].name" when arrays is true). */
static bool dotted_path(const json_t *v, bool arrays)
{
	const char *p = json_string_value(v);
	bool ok = p && *p && json_string_length(v) <= 256 && *p != '.';
	for (const char *c = p; ok && *c; c++)
		ok = isalnum((unsigned char)*c) || strchr(arrays ? "_-.[]" : "_-.", *c);
	return ok;
}

/* spec.keep: the object's fields, beyond metadata and status, that the engine keeps for the
 * rules ("spec.replicas", "spec.replicatedJobs[].name"). */
static int compile_keep(struct fpd_crd_type *t, const json_t *spec, struct fpd_error *err)
{
	const json_t *k = json_object_get(spec, "keep");
	if (!k || json_is_null(k))
		return 0;
	if (!json_is_array(k) || json_array_size(k) > MAX_KEEP)
		return fpd_error_set(err, FPD_EINVAL,
		                     "spec.keep: expected a list of at most %d paths", MAX_KEEP);
	t->keep = fpd_calloc(json_array_size(k) + 1, sizeof(*t->keep));
	size_t i;
	json_t *v;
	json_array_foreach(k, i, v)
	{
		if (!dotted_path(v, true))
			return fpd_error_set(
			    err, FPD_EINVAL,
			    "spec.keep[%zu]: expected a dotted path (\"spec.replicas\", "
			    "\"spec.jobs[].name\")",
			    i);
		t->keep[i] = fpd_strdup(json_string_value(v));
	}
	return 0;
}

/* spec.kueue: {suspend: "spec.suspend"} or {}: the queue label (and suspension) of the kinds
 * Kueue admits; the suspend field and the generation are kept for the status. */
static int compile_kueue(struct fpd_crd_type *t, const json_t *spec, struct fpd_error *err)
{
	const json_t *k = json_object_get(spec, "kueue");
	if (!k || json_is_null(k))
		return 0;
	static const char *const keys[] = {"suspend", NULL};
	int rc = check_keys(k, "spec.kueue", keys, err);
	if (rc)
		return rc;
	const json_t *s = json_object_get(k, "suspend");
	if (s && !dotted_path(s, false))
		return fpd_error_set(
		    err, FPD_EINVAL,
		    "spec.kueue.suspend: expected a dotted path (\"spec.suspend\")");
	t->kueue = true;
	size_t n = 0;
	while (t->keep && t->keep[n])
		n++;
	t->keep = fpd_realloc(t->keep, (n + 3) * sizeof(*t->keep));
	t->keep[n++] = fpd_strdup("metadata.generation");
	if (s) {
		t->kueue_suspend = fpd_strdup(json_string_value(s));
		t->keep[n++] = fpd_strdup(t->kueue_suspend);
	}
	t->keep[n] = NULL;
	return 0;
}

static int compile_links(struct fpd_crd_type *t, const json_t *spec, struct fpd_error *err)
{
	const json_t *l = json_object_get(spec, "logLinks");
	if (!l || json_is_null(l))
		return 0;
	if (!json_is_array(l) || json_array_size(l) > MAX_LINKS)
		return fpd_error_set(err, FPD_EINVAL,
		                     "spec.logLinks: expected a list of at most %d", MAX_LINKS);
	t->links = fpd_calloc(json_array_size(l) + 1, sizeof(*t->links));
	static const char *const keys[] = {"name", "uri", "showWhilePending", NULL};
	size_t i;
	json_t *v;
	json_array_foreach(l, i, v)
	{
		char where[64];
		snprintf(where, sizeof(where), "spec.logLinks[%zu]", i);
		if (!json_is_object(v))
			return fpd_error_set(err, FPD_EINVAL, "%s: expected an object", where);
		struct link *k = &t->links[t->link_count++];
		int rc;
		if ((rc = check_keys(v, where, keys, err)) ||
		    (rc = get_str(v, "name", where, true, 256, &k->name, err)) ||
		    (rc = get_str(v, "uri", where, true, 2048, &k->uri, err)))
			return rc;
		k->show_while_pending = json_is_true(json_object_get(v, "showWhilePending"));
		struct var check[LINK_VARS];
		for (size_t j = 0; j < LINK_VARS; j++)
			check[j] = (struct var){link_var_names[j], ""};
		char *uri = render_link(k->uri, check, LINK_VARS, err);
		if (!uri)
			return fpd_error_wrap(err, FPD_EINVAL, "%s.uri", where);
		free(uri);
	}
	return 0;
}

int fpd_crd_type_compile(const json_t *decl, struct fpd_crd_type **out, struct fpd_error *err)
{
	if (!json_is_object(decl))
		return fpd_error_set(err, FPD_EINVAL, "a task type declaration must be an object");
	const json_t *spec = decl;
	if (json_object_get(decl, "kind") || json_object_get(decl, "apiVersion")) {
		const char *kind = json_string_value(json_object_get(decl, "kind"));
		if (!kind || strcmp(kind, "FlyteTaskType"))
			return fpd_error_set(err, FPD_EINVAL, "kind: expected FlyteTaskType");
		spec = json_object_get(decl, "spec");
		if (!json_is_object(spec))
			return fpd_error_set(err, FPD_EINVAL, "spec: required");
	}
	static const char *const keys[] = {"taskType", "resource", "manifest", "status", "outputs",
	                                   "pods",     "logLinks", "keep",     "kueue",  NULL};
	struct fpd_crd_type *t = fpd_calloc(1, sizeof(*t));
	char *manifest = NULL;
	int rc;
	if ((rc = check_keys(spec, "spec", keys, err)) || (rc = compile_taskType(t, spec, err)) ||
	    (rc = compile_resource(t, spec, err)) ||
	    (rc = get_str(spec, "manifest", "spec", true, FPD_CRD_MANIFEST_MAX_BYTES, &manifest,
	                  err)) ||
	    (rc = fpd_crd_manifest_parse(manifest, "spec.manifest", &t->manifest, err)) ||
	    (rc = compile_status(t, spec, err)) || (rc = compile_outputs(t, spec, err)) ||
	    (rc = compile_pods(t, spec, err)) || (rc = compile_links(t, spec, err)) ||
	    (rc = compile_keep(t, spec, err)) || (rc = compile_kueue(t, spec, err))) {
		free(manifest);
		fpd_crd_type_free(t);
		return rc;
	}
	free(manifest);
	t->spec = json_deep_copy(spec);
	/* Pod specs are found by their shape wherever the manifest (or a custom field it takes
	 * whole) puts them: a declaration cannot leave one out of the check. */
	static const char *const pod_specs[] = {"**", NULL};
	t->plugin = (struct fpd_plugin){
	    .abi = FPD_PLUGIN_ABI,
	    .pod_specs = pod_specs,
	    .name = t->name,
	    .task_types = &t->task_type,
	    .task_type_count = 1,
	    .kind = &t->kind,
	    .pod_owner_label = t->pod_label,
	    .keep = (const char *const *)t->keep,
	    .build = build,
	    .status = status,
	};
	*out = t;
	return 0;
}

void fpd_crd_type_free(struct fpd_crd_type *t)
{
	if (!t)
		return;
	for (int i = 0; i < RULE_COUNT; i++)
		fpd_crd_jq_free(t->rules[i]);
	for (size_t i = 0; i < t->output_count; i++) {
		free(t->outputs[i].name);
		fpd_crd_jq_free(t->outputs[i].q);
	}
	for (size_t i = 0; i < t->link_count; i++) {
		free(t->links[i].name);
		free(t->links[i].uri);
	}
	for (size_t i = 0; t->keep && t->keep[i]; i++)
		free(t->keep[i]);
	free(t->keep);
	free(t->kueue_suspend);
	free(t->outputs);
	free(t->links);
	json_decref(t->manifest);
	json_decref(t->spec);
	free(t->name);
	free(t->api_version);
	free(t->kind_name);
	free(t->plural);
	free(t->pod_label);
	free(t->role_label);
	free(t);
}

const struct fpd_plugin *fpd_crd_type_plugin(const struct fpd_crd_type *t)
{
	return &t->plugin;
}

const char *fpd_crd_type_name(const struct fpd_crd_type *t)
{
	return t->name;
}

const json_t *fpd_crd_type_spec(const struct fpd_crd_type *t)
{
	return t->spec;
}

/* ---- the active set ----------------------------------------------------------------------- */

static struct {
	struct fpd_crd_type **active, **retired;
	size_t active_count, retired_count;
} types;

static void retire(size_t i)
{
	types.retired = fpd_realloc(types.retired, (types.retired_count + 1) * sizeof(void *));
	types.retired[types.retired_count++] = types.active[i];
	types.active[i] = types.active[--types.active_count];
}

void fpd_crd_activate(struct fpd_crd_type *t)
{
	/* The types live until the process ends. They are freed then, not left to the OS: a live
	 * jq_state points at the end of its stack block only, which LeakSanitizer does not count
	 * as a reference, so every program that ran would be reported as leaked. */
	static bool at_exit;
	if (!at_exit)
		at_exit = atexit(fpd_crd_shutdown) == 0;
	fpd_crd_withdraw(t->name);
	types.active = fpd_realloc(types.active, (types.active_count + 1) * sizeof(void *));
	types.active[types.active_count++] = t;
}

bool fpd_crd_withdraw(const char *name)
{
	for (size_t i = 0; i < types.active_count; i++)
		if (!strcmp(types.active[i]->name, name)) {
			retire(i);
			return true;
		}
	return false;
}

const struct fpd_crd_type *fpd_crd_active(const char *name)
{
	for (size_t i = 0; i < types.active_count; i++)
		if (!strcmp(types.active[i]->name, name))
			return types.active[i];
	return NULL;
}

const struct fpd_crd_type *fpd_crd_active_at(size_t i)
{
	return i < types.active_count ? types.active[i] : NULL;
}

void fpd_crd_shutdown(void)
{
	for (size_t i = 0; i < types.active_count; i++)
		fpd_crd_type_free(types.active[i]);
	for (size_t i = 0; i < types.retired_count; i++)
		fpd_crd_type_free(types.retired[i]);
	free(types.active);
	free(types.retired);
	memset(&types, 0, sizeof(types));
}

static const struct fpd_crd_type *active_for(const char *type, int32_t version)
{
	for (size_t i = 0; i < types.active_count; i++)
		if (!strcmp(types.active[i]->task_type.name, type) &&
		    types.active[i]->task_type.version == version)
			return types.active[i];
	return NULL;
}

/* ---- build -------------------------------------------------------------------------------- */

static const char *literal_type_name(const Flyteidl__Core__LiteralType *lt)
{
	if (!lt || lt->type_case != FLYTEIDL__CORE__LITERAL_TYPE__TYPE_SIMPLE)
		return NULL;
	switch (lt->simple) {
	case FLYTEIDL__CORE__SIMPLE_TYPE__INTEGER: return "integer";
	case FLYTEIDL__CORE__SIMPLE_TYPE__FLOAT: return "float";
	case FLYTEIDL__CORE__SIMPLE_TYPE__STRING: return "string";
	case FLYTEIDL__CORE__SIMPLE_TYPE__BOOLEAN: return "boolean";
	case FLYTEIDL__CORE__SIMPLE_TYPE__STRUCT: return "struct";
	default: return NULL;
	}
}

/* The interface's outputs as {name: type}, each needing an expression of t. */
static int output_types(const struct fpd_crd_type *t, const struct fpd_task *task, json_t **out,
                        struct fpd_error *err)
{
	*out = NULL;
	const Flyteidl__Core__TypedInterface *ti = task->tmpl ? task->tmpl->interface : NULL;
	const Flyteidl__Core__VariableMap *vm = ti ? ti->outputs : NULL;
	if (!vm || !vm->n_variables)
		return 0;
	json_t *types_ = json_object();
	for (size_t i = 0; i < vm->n_variables; i++) {
		const char *name = vm->variables[i]->key;
		const char *type = literal_type_name(
		    vm->variables[i]->value ? vm->variables[i]->value->type : NULL);
		bool declared = false;
		for (size_t j = 0; j < t->output_count && !declared; j++)
			declared = !strcmp(t->outputs[j].name, name);
		int rc = 0;
		if (!declared)
			rc = fpd_error_set(err, FPD_EINVAL,
			                   "output %s: task type %s has no expression for it "
			                   "(spec.outputs)",
			                   name, t->name);
		else if (!type)
			rc = fpd_error_set(
			    err, FPD_EINVAL,
			    "output %s: only integer, float, string, boolean and struct "
			    "outputs can come from a declared task type",
			    name);
		if (rc) {
			json_decref(types_);
			return rc;
		}
		json_object_set_new(types_, name, json_string(type));
	}
	*out = types_;
	return 0;
}

static int build(const struct fpd_task *task, json_t **out, struct fpd_error *err)
{
	const struct fpd_crd_type *t = active_for(task->ref.task_type, task->ref.task_type_version);
	if (!t)
		return fpd_error_set(err, FPD_EINVAL,
		                     "task type %s (version %d) is no longer declared",
		                     task->ref.task_type, task->ref.task_type_version);
	json_t *obj, *otypes;
	int rc = fpd_crd_manifest_render(t->manifest, task, &obj, err);
	if (rc)
		return rc;
	if ((rc = output_types(t, task, &otypes, err))) {
		json_decref(obj);
		return rc;
	}
	json_object_set_new(obj, "apiVersion", json_string(t->api_version));
	json_object_set_new(obj, "kind", json_string(t->kind_name));
	if (otypes) {
		json_t *ann = fpd_json_ensure_obj(obj, "metadata.annotations");
		if (!ann) {
			json_decref(otypes);
			json_decref(obj);
			return fpd_error_set(err, FPD_EINVAL,
			                     "manifest: metadata is not an object");
		}
		char *text = json_dumps(otypes, JSON_COMPACT | JSON_SORT_KEYS);
		json_object_set_new(ann, FPD_CRD_OUTPUT_TYPES_ANNOTATION,
		                    json_string(text ? text : ""));
		free(text);
		json_decref(otypes);
	}
	if (t->kueue)
		fpd_kueue_apply(task, obj, t->kueue_suspend, NULL);
	*out = obj;
	return 0;
}

/* ---- status ------------------------------------------------------------------------------- */

static void link_vars(const struct fpd_status_ctx *ctx, struct var *v, char *attempt, size_t n)
{
	const char *values[LINK_VARS] = {fpd_json_str_or(ctx->object, "metadata.name", ""),
	                                 fpd_json_str_or(ctx->object, "metadata.namespace", ""),
	                                 fpd_json_str_or(ctx->object, "metadata.uid", ""),
	                                 ctx->ref->generated_name,
	                                 ctx->ref->project,
	                                 ctx->ref->domain,
	                                 ctx->ref->execution,
	                                 attempt};
	snprintf(attempt, n, "%u", ctx->ref->retry_attempt);
	for (size_t i = 0; i < LINK_VARS; i++)
		v[i] = (struct var){link_var_names[i], values[i]};
}

/* Runs a rule: new reference or NULL ("no"); a runtime error is "no" too, noted in note. */
static json_t *run(struct fpd_crd_jq *q, jv doc, char *note, size_t size)
{
	if (!q)
		return NULL;
	json_t *v = NULL;
	char msg[200] = "";
	if (fpd_crd_jq_first(q, jv_copy(doc), &v, msg, sizeof(msg)) && !note[0])
		snprintf(note, size, "rule %s: %s", fpd_crd_jq_text(q), msg);
	return v;
}

static bool rule_yes(const struct fpd_crd_type *t, enum rule r, jv doc, char *note, size_t size,
                     json_t **value)
{
	json_t *v = run(t->rules[r], doc, note, size);
	bool yes = fpd_crd_truthy(v);
	if (value && yes)
		*value = v;
	else
		json_decref(v);
	return yes;
}

/* One output value as proto3 JSON of a flyteidl.core.Literal, or NULL with why in err. */
static json_t *output_literal(const char *type, const json_t *v, struct fpd_error *err)
{
	json_t *prim = NULL;
	if (!strcmp(type, "integer")) {
		json_int_t n = 0;
		bool ok = json_is_integer(v);
		if (ok)
			n = json_integer_value(v);
		else if (json_is_real(v) && fabs(json_real_value(v)) < 9007199254740992.0 &&
		         json_real_value(v) == floor(json_real_value(v))) {
			ok = true;
			n = (json_int_t)json_real_value(v);
		} else if (json_is_string(v)) {
			char *end;
			n = strtoll(json_string_value(v), &end, 10);
			ok = json_string_length(v) && !*end;
		}
		if (ok) {
			char buf[32];
			snprintf(buf, sizeof(buf), "%lld", (long long)n);
			prim = json_pack("{ss}", "integer", buf);
		}
	} else if (!strcmp(type, "float")) {
		if (json_is_number(v))
			prim = json_pack("{sf}", "floatValue", json_number_value(v));
	} else if (!strcmp(type, "string")) {
		if (json_is_string(v))
			prim = json_pack("{sO}", "stringValue", v);
		else if (json_is_number(v) || json_is_boolean(v)) {
			char *s = json_dumps(v, JSON_ENCODE_ANY);
			prim = json_pack("{ss}", "stringValue", s ? s : "");
			free(s);
		}
	} else if (!strcmp(type, "boolean")) {
		if (json_is_boolean(v))
			prim = json_pack("{sb}", "boolean", json_is_true(v));
	} else if (!strcmp(type, "struct")) {
		if (json_is_object(v))
			return json_pack("{s{sO}}", "scalar", "generic", v);
	}
	if (prim)
		return json_pack("{s{so}}", "scalar", "primitive", prim);
	char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	fpd_error_set(err, FPD_EINVAL, "expected %s %s, the expression gave %.200s",
	              strchr("aeiou", type[0]) ? "an" : "a", type, text ? text : "?");
	free(text);
	return NULL;
}

/* The outputs for the interface recorded at build time, as proto3 JSON of a
 * flyteidl.core.LiteralMap in out->outputs; a missing or mistyped one fails the task. */
static void collect_outputs(const struct fpd_crd_type *t, const struct fpd_status_ctx *ctx, jv doc,
                            struct fpd_phase_info *out)
{
	const char *text = json_string_value(json_object_get(
	    fpd_json_get(ctx->object, "metadata.annotations"), FPD_CRD_OUTPUT_TYPES_ANNOTATION));
	json_t *otypes = text ? json_loads(text, 0, NULL) : NULL;
	if (!json_is_object(otypes)) {
		json_decref(otypes);
		return;
	}
	json_t *literals = json_object();
	const char *name;
	json_t *type;
	json_object_foreach(otypes, name, type)
	{
		const struct output *o = NULL;
		for (size_t i = 0; i < t->output_count && !o; i++)
			if (!strcmp(t->outputs[i].name, name))
				o = &t->outputs[i];
		struct fpd_error err = {0};
		char msg[200] = "";
		json_t *v = NULL, *lit = NULL;
		if (!o)
			fpd_error_set(&err, FPD_EINVAL, "no expression for it in task type %s",
			              t->name);
		else if (fpd_crd_jq_first(o->q, jv_copy(doc), &v, msg, sizeof(msg)))
			fpd_error_set(&err, FPD_EINVAL, "%s", msg);
		else if (!v || json_is_null(v))
			fpd_error_set(&err, FPD_EINVAL, "the expression gave no value");
		else
			lit = output_literal(json_string_value(type), v, &err);
		json_decref(v);
		if (!lit) {
			fpd_phase_setf(out, FPD_PHASE_FAILED, "OutputsMissing", "output %s: %s",
			               name, err.text);
			json_decref(literals);
			json_decref(otypes);
			return;
		}
		json_object_set_new(literals, name, lit);
	}
	json_decref(otypes);
	out->outputs = json_pack("{so}", "literals", literals);
}

/* A child pod stuck before it runs (image pull, config errors, pending timeout) fails the task
 * now rather than when the operator gives up. Returns true when it did. */
static bool stuck_pod(const struct fpd_status_ctx *ctx, struct fpd_phase_info *out)
{
	for (size_t i = 0; ctx->settings && i < ctx->pod_count; i++) {
		const json_t *pod = ctx->pods[i];
		if (strcmp(fpd_json_str_or(pod, "status.phase", ""), "Pending"))
			continue;
		struct fpd_phase_info pi = {0};
		fpd_pod_status(pod, &ctx->settings->k8s, ctx->now_ms, &pi);
		if (pi.recheck_at_ms > 0 &&
		    (!out->recheck_at_ms || pi.recheck_at_ms < out->recheck_at_ms))
			out->recheck_at_ms = pi.recheck_at_ms;
		if (fpd_phase_is_failure(pi.phase)) {
			fpd_phase_setf(out, pi.phase, pi.code, "pod %s: %s",
			               fpd_json_str_or(pod, "metadata.name", "?"),
			               pi.message ? pi.message : "failed");
			out->kind = pi.kind;
			out->cleanup = true;
			fpd_phase_info_clear(&pi);
			return true;
		}
		fpd_phase_info_clear(&pi);
	}
	return false;
}

static const char *pod_role(const struct fpd_crd_type *t, const json_t *pod)
{
	const json_t *labels = fpd_json_get(pod, "metadata.labels");
	return t->role_label ? json_string_value(json_object_get(labels, t->role_label)) : NULL;
}

/* " (<role>)", " (<role> <n>)" when several pods have the role, " (<pod name>)" without a
 * role when there are several pods, "" for a single one. */
static void pod_log_name(const struct fpd_crd_type *t, const struct fpd_status_ctx *ctx, size_t i,
                         char *out, size_t size)
{
	const char *role = pod_role(t, ctx->pods[i]);
	if (!role) {
		out[0] = '\0';
		if (ctx->pod_count > 1)
			snprintf(out, size, " (%s)",
			         fpd_json_str_or(ctx->pods[i], "metadata.name", ""));
		return;
	}
	size_t same = 0, before = 0;
	for (size_t j = 0; j < ctx->pod_count && j < MAX_POD_LINKS; j++) {
		const char *r = pod_role(t, ctx->pods[j]);
		if (r && !strcmp(r, role)) {
			same++;
			before += j < i;
		}
	}
	if (same > 1)
		snprintf(out, size, " (%s %zu)", role, before);
	else
		snprintf(out, size, " (%s)", role);
}

static void add_links(const struct fpd_crd_type *t, const struct fpd_status_ctx *ctx,
                      struct fpd_phase_info *out)
{
	struct var vars[LINK_VARS];
	char attempt[16];
	link_vars(ctx, vars, attempt, sizeof(attempt));
	for (size_t i = 0; i < t->link_count; i++) {
		char *uri = render_link(t->links[i].uri, vars, LINK_VARS, NULL);
		if (uri)
			fpd_phase_add_log(out, t->links[i].name, uri, FPD_LOG_FORMAT_UNKNOWN,
			                  t->links[i].show_while_pending, false);
		free(uri);
	}
	if (!t->pod_logs || !ctx->settings)
		return;
	for (size_t i = 0; i < ctx->pod_count && i < MAX_POD_LINKS; i++) {
		char name[400];
		pod_log_name(t, ctx, i, name, sizeof(name));
		struct fpd_log_input in = {.ref = ctx->ref,
		                           .pod = ctx->pods[i],
		                           .log_name = name,
		                           .task_config = ctx->task_config,
		                           .now_ms = ctx->now_ms};
		fpd_logs_for_pod(&ctx->settings->logs, &in, out);
	}
}

static void decide(const struct fpd_crd_type *t, const struct fpd_status_ctx *ctx, jv doc,
                   struct fpd_phase_info *out, char *note, size_t size)
{
	json_t *why = NULL;
	if (rule_yes(t, RULE_FAILED, doc, note, size, &why)) {
		bool retry = rule_yes(t, RULE_RETRYABLE, doc, note, size, NULL);
		json_t *m =
		    json_is_string(why) ? NULL : run(t->rules[RULE_MESSAGE], doc, note, size);
		const char *msg = json_is_string(why) ? json_string_value(why)
		                  : json_is_string(m) ? json_string_value(m)
		                                      : "failed";
		fpd_phase_set(out, retry ? FPD_PHASE_RETRYABLE_FAILED : FPD_PHASE_FAILED, "Failed",
		              msg);
		out->kind = t->failure_kind;
		json_decref(why);
		json_decref(m);
		return;
	}
	if (rule_yes(t, RULE_SUCCEEDED, doc, note, size, NULL)) {
		fpd_phase_set(out, FPD_PHASE_SUCCEEDED, NULL, NULL);
		collect_outputs(t, ctx, doc, out);
		return;
	}
	if (stuck_pod(ctx, out))
		return;
	static const struct {
		enum rule r;
		enum fpd_phase phase;
	} order[] = {{RULE_RUNNING, FPD_PHASE_RUNNING},
	             {RULE_WAITING, FPD_PHASE_WAITING_FOR_RESOURCES},
	             {RULE_QUEUED, FPD_PHASE_QUEUED}};
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (rule_yes(t, order[i].r, doc, note, size, NULL)) {
			fpd_phase_set(out, order[i].phase, NULL, NULL);
			return;
		}
	/* No rule says anything: the previous phase stands until the timeout. */
	int64_t created =
	    fpd_time_parse(fpd_json_str_or(ctx->object, "metadata.creationTimestamp", ""));
	if (t->timeout_ms && created > 0) {
		if (ctx->now_ms - created >= t->timeout_ms) {
			fpd_phase_setf(out, FPD_PHASE_RETRYABLE_FAILED, "Timeout",
			               "%s %s reported no known status for %llds", t->kind_name,
			               fpd_json_str_or(ctx->object, "metadata.name", ""),
			               (long long)(t->timeout_ms / 1000));
			out->kind = FPD_KIND_SYSTEM;
			out->cleanup = true;
			return;
		}
		int64_t at = created + t->timeout_ms;
		if (!out->recheck_at_ms || at < out->recheck_at_ms)
			out->recheck_at_ms = at;
	}
}

/* The type a task was built with: the active one, else the last one withdrawn or replaced
 * (a task started before an edit or a delete is still followed by the rules it started
 * under). */
static const struct fpd_crd_type *built_with(const char *type, int32_t version)
{
	const struct fpd_crd_type *t = active_for(type, version);
	for (size_t i = types.retired_count; !t && i-- > 0;)
		if (!strcmp(types.retired[i]->task_type.name, type) &&
		    types.retired[i]->task_type.version == version)
			t = types.retired[i];
	return t;
}

static void status(const struct fpd_status_ctx *ctx, struct fpd_phase_info *out)
{
	const struct fpd_crd_type *t = built_with(ctx->ref->task_type, ctx->ref->task_type_version);
	if (!t) {
		fpd_phase_setf(out, FPD_PHASE_UNDEFINED, "Undeclared",
		               "task type %s (version %d) is no longer declared",
		               ctx->ref->task_type, ctx->ref->task_type_version);
		return;
	}
	/* Held or evicted by Kueue, before the declaration's rules. */
	if (t->kueue_suspend && fpd_kueue_status(ctx->object, t->kueue_suspend, out))
		return;
	jv doc = fpd_crd_jv_from_json(ctx->object);
	char note[256] = "";
	decide(t, ctx, doc, out, note, sizeof(note));
	if (!fpd_phase_is_failure(out->phase) && out->phase != FPD_PHASE_UNDEFINED) {
		json_t *m = run(t->rules[RULE_MESSAGE], doc, note, sizeof(note));
		if (json_is_string(m)) {
			free(out->message);
			out->message = fpd_strdup(json_string_value(m));
		}
		json_decref(m);
	}
	if (note[0] && !out->message)
		out->message = fpd_strdup(note);
	jv_free(doc);
	add_links(t, ctx, out);
}

/* ---- the plugin owning plugins.settings.crd ---------------------------------------------- */

static const struct fpd_schema_field settings_fields[] = {
    {.key = "task_types",
     .type = FPD_SCHEMA_JSON,
     .offset = offsetof(struct fpd_crd_settings, task_types)},
    {.key = "dir",
     .type = FPD_SCHEMA_STRING,
     .offset = offsetof(struct fpd_crd_settings, dir),
     .nonempty = true},
    {0}};

const struct fpd_plugin fpd_plugin_crd = {
    .abi = FPD_PLUGIN_ABI,
    .name = "crd",
    .settings_schema = settings_fields,
    .settings_size = sizeof(struct fpd_crd_settings),
};
