/* Declared task types in the registry: see tasktypes.h. */
#include "engine/tasktypes.h"

#include "core/log.h"
#include "core/mem.h"
#include "core/schema.h"
#include "core/yaml.h"
#include "crd/crd.h"
#include "kube/client.h"
#include "kube/discovery.h"
#include "kube/informer.h"
#include "kube/resource.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int fpd_tasktypes_declare(struct fpd_registry *reg, const json_t *decl, struct fpd_error *err)
{
	struct fpd_crd_type *t;
	int rc = fpd_crd_type_compile(decl, &t, err);
	if (rc)
		return rc;
	const struct fpd_plugin *p = fpd_crd_type_plugin(t);
	const struct fpd_plugin *same = fpd_registry_by_name(reg, p->name);
	const struct fpd_crd_type *prev = fpd_crd_active(p->name);
	if (same && (!prev || fpd_crd_type_plugin(prev) != same)) {
		fpd_error_set(err, FPD_EEXIST,
		              "spec.taskType.name: \"%s\" is the name of a plugin that is not "
		              "a declared task type",
		              p->name);
		fpd_crd_type_free(t);
		return FPD_EEXIST;
	}
	if ((rc = fpd_registry_put(reg, p, err))) {
		fpd_crd_type_free(t);
		return rc;
	}
	fpd_crd_activate(t);
	return FPD_OK;
}

int fpd_tasktypes_withdraw(struct fpd_registry *reg, const char *name)
{
	const struct fpd_crd_type *t = fpd_crd_active(name);
	if (!t || fpd_registry_by_name(reg, name) != fpd_crd_type_plugin(t))
		return FPD_ENOENT;
	fpd_registry_remove(reg, name);
	fpd_crd_withdraw(name);
	return FPD_OK;
}

/* The node of the field a compile error starts with ("spec.status.failed: ..."), as deep as
 * the declaration has it; a declaration may be a spec alone. */
static const struct fpd_yaml_node *error_node(const struct fpd_yaml_node *decl, const char *text)
{
	const struct fpd_yaml_node *node = decl;
	size_t n = strcspn(text, ": ");
	if (text[n] != ':')
		return node;
	for (const char *k = text, *end = text + n; k < end;) {
		size_t len = strcspn(k, ".:");
		char key[128];
		snprintf(key, sizeof(key), "%.*s", (int)len, k);
		k += len + 1;
		const struct fpd_yaml_node *next =
		    node->kind == FPD_YAML_MAP ? fpd_yaml_get(node, key) : NULL;
		if (!next && node == decl && !strcmp(key, "spec"))
			continue;
		if (!next)
			break;
		node = next;
	}
	return node;
}

static void declare_node(struct fpd_registry *reg, const struct fpd_yaml_node *node,
                         const char *file, const char *what, size_t *declared, size_t *refused)
{
	json_t *decl = fpd_yaml_to_json(node);
	struct fpd_error err = {0};
	int rc = fpd_tasktypes_declare(reg, decl, &err);
	if (rc) {
		const struct fpd_yaml_node *at = error_node(node, err.text);
		fpd_log(FPD_LOG_ERROR, "tasktypes", "%s:%d:%d: %s: task type refused: %s", file,
		        at->line, at->column, what, err.text);
		(*refused)++;
	} else {
		fpd_log(FPD_LOG_INFO, "tasktypes", "%s: declared task type %s", what,
		        json_string_value(
		            json_object_get(json_object_get(json_object_get(decl, "spec")
		                                                ? json_object_get(decl, "spec")
		                                                : decl,
		                                            "taskType"),
		                            "name")));
		(*declared)++;
	}
	json_decref(decl);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_dir(struct fpd_registry *reg, const char *dir, size_t *declared, size_t *refused,
                    struct fpd_error *err)
{
	DIR *d = opendir(dir);
	if (!d)
		return fpd_error_set(err, FPD_EIO, "plugins.settings.crd.dir %s: %s", dir,
		                     strerror(errno));
	char **names = NULL;
	size_t n = 0;
	struct dirent *ent;
	while ((ent = readdir(d))) {
		size_t len = strlen(ent->d_name);
		if (ent->d_name[0] != '.' &&
		    ((len > 5 && !strcmp(ent->d_name + len - 5, ".yaml")) ||
		     (len > 4 && !strcmp(ent->d_name + len - 4, ".yml")))) {
			names = fpd_realloc(names, (n + 1) * sizeof(*names));
			names[n++] = fpd_asprintf("%s/%s", dir, ent->d_name);
		}
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		struct fpd_yaml_node *root = NULL;
		struct fpd_error perr = {0};
		if (fpd_yaml_parse_file(names[i], &root, &perr)) {
			char text[FPD_ERROR_TEXT + 64];
			fpd_log(FPD_LOG_ERROR, "tasktypes", "task type refused: %s",
			        fpd_error_format(&perr, text, sizeof(text)));
			(*refused)++;
		} else {
			declare_node(reg, root, names[i], "FlyteTaskType", declared, refused);
		}
		fpd_yaml_free(root);
		free(names[i]);
	}
	free(names);
	return FPD_OK;
}

int fpd_tasktypes_load_config(struct fpd_registry *reg, const struct fpd_config *cfg,
                              size_t *declared, size_t *refused, struct fpd_error *err)
{
	*declared = *refused = 0;
	if (!fpd_registry_by_name(reg, "crd"))
		return FPD_OK;
	const struct fpd_yaml_node *crd = fpd_yaml_get(cfg->plugins.settings, "crd");
	const struct fpd_yaml_node *list = crd ? fpd_yaml_get(crd, "task_types") : NULL;
	const char *file = cfg->source && cfg->source[0] ? cfg->source : "config";
	for (size_t i = 0; list && list->kind == FPD_YAML_SEQ && i < list->count; i++) {
		char what[64];
		snprintf(what, sizeof(what), "plugins.settings.crd.task_types[%zu]", i);
		declare_node(reg, list->items[i], file, what, declared, refused);
	}
	if (list && list->kind != FPD_YAML_SEQ && !fpd_yaml_is_null(list))
		return fpd_error_set_at(err, FPD_EINVAL, file, list->line, list->column,
		                        "plugins.settings.crd.task_types: expected a list");
	const struct fpd_yaml_node *dir = crd ? fpd_yaml_get(crd, "dir") : NULL;
	if (dir && dir->kind == FPD_YAML_SCALAR && dir->len)
		return load_dir(reg, dir->value, declared, refused, err);
	return FPD_OK;
}

/* ---- live registration ------------------------------------------------------------------ */

enum { FIELD_SPEC, FIELD_GENERATION, FIELD_COUNT };
enum {
	REFUSED_NOT_WATCHED = 1
}; /* a positive code of this file's: the engine cannot watch the kind */

/* A declaration waiting for discovery to say whether its resource exists. */
struct pending_decl {
	struct pending_decl *next;
	struct fpd_tasktypes_watch *w;
	char *name; /* the FlyteTaskType object's */
	json_int_t generation;
	json_t *spec; /* owned */
	char plural[64];
};

struct fpd_tasktypes_watch {
	struct fpd_kube_client *kube;
	struct fpd_kube_discovery *disc;
	struct pending_decl *pending;
	struct fpd_registry *reg;
	struct fpd_kube_informer *inf;
	struct fpd_kube_gvr gvr;
	size_t declared, refused;
	fpd_tasktypes_declared_fn on_declared;
	void *on_declared_ud;
};

static void on_status_written(void *ud, const struct fpd_kube_result *res)
{
	(void)ud;
	if (res->code)
		fpd_log(FPD_LOG_WARN, "tasktypes", "writing a FlyteTaskType status: %s",
		        res->err.text);
}

/* The field path a compile error starts with ("spec.status.failed: column 6: ..."). */
static void error_location(const char *text, char *out, size_t size)
{
	size_t n = strcspn(text, ": ");
	if (strncmp(text, "spec", 4) || text[n] != ':')
		n = 0;
	snprintf(out, size, "%.*s", (int)n, text);
}

static void write_status(struct fpd_tasktypes_watch *w, const char *name, json_int_t g, int rc,
                         const char *message)
{
	char now[32], location[160] = "";
	time_t t = time(NULL);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	if (rc)
		error_location(message, location, sizeof(location));
	json_t *cond = json_pack(
	    "{ss ss ss ss sI ss}", "type", "Accepted", "status", rc ? "False" : "True", "reason",
	    !rc                         ? "Declared"
	    : rc == FPD_EEXIST          ? "Conflict"
	    : rc == REFUSED_NOT_WATCHED ? "NotWatched"
	                                : "Invalid",
	    "message", message, "observedGeneration", g, "lastTransitionTime", now);
	if (!cond)
		return;
	if (location[0])
		json_object_set_new(cond, "location", json_string(location));
	json_t *patch =
	    json_pack("{s{sIs[o]}}", "status", "observedGeneration", g, "conditions", cond);
	struct fpd_kube_ref ref = {.gvr = &w->gvr, .name = name, .subresource = "status"};
	struct fpd_error err = {0};
	if (fpd_kube_patch(w->kube, &ref, FPD_KUBE_PATCH_MERGE, patch, NULL, on_status_written, w,
	                   &err) < 0)
		fpd_log(FPD_LOG_WARN, "tasktypes", "FlyteTaskType %s: %s", name, err.text);
	json_decref(patch);
}

/* Declares spec (borrowed) for FlyteTaskType name, unless rc already refuses it (err saying
 * why), and says how it went in its status. */
static void declare_spec(struct fpd_tasktypes_watch *w, const char *name, json_int_t gen,
                         const json_t *spec, int rc, struct fpd_error *err)
{
	if (!rc)
		rc = spec ? fpd_tasktypes_declare(w->reg, spec, err)
		          : fpd_error_set(err, FPD_EINVAL, "spec: required");
	const char *type =
	    json_string_value(json_object_get(json_object_get(spec, "taskType"), "name"));
	const struct fpd_plugin *p = !rc && type ? fpd_registry_by_name(w->reg, type) : NULL;
	if (p && w->on_declared && w->on_declared(w->on_declared_ud, p, err)) {
		/* Served but not followed would lose its tasks' status: take it back. */
		fpd_tasktypes_withdraw(w->reg, type);
		rc = REFUSED_NOT_WATCHED;
	}
	if (rc) {
		w->refused++;
		fpd_log(FPD_LOG_ERROR, "tasktypes", "FlyteTaskType %s refused: %s", name,
		        err->text);
		write_status(w, name, gen, rc, err->text);
	} else {
		w->declared++;
		fpd_log(FPD_LOG_INFO, "tasktypes", "FlyteTaskType %s declared", name);
		write_status(w, name, gen, 0, "the task type is served");
	}
}

/* Discovery answered for p: the resource must exist under the plural declared, in namespaces
 * (the engine creates every object in the task's namespace). */
static void resolved(struct pending_decl *p, int code, const struct fpd_kube_gvr *gvr,
                     const struct fpd_error *derr)
{
	struct fpd_error err = {0};
	int rc = FPD_OK;
	const json_t *res = json_object_get(p->spec, "resource");
	const char *av = json_string_value(json_object_get(res, "apiVersion"));
	const char *kind = json_string_value(json_object_get(res, "kind"));
	if (code == FPD_ENOENT)
		rc = fpd_error_set(&err, FPD_EINVAL,
		                   "spec.resource: the API server serves no kind %s in %s", kind,
		                   av);
	else if (code == FPD_OK && strcmp(gvr->resource, p->plural))
		rc = fpd_error_set(&err, FPD_EINVAL,
		                   "spec.resource.plural: the API server serves kind %s as \"%s\", "
		                   "not \"%s\"",
		                   kind, gvr->resource, p->plural);
	else if (code == FPD_OK && !gvr->namespaced)
		rc = fpd_error_set(&err, FPD_EINVAL,
		                   "spec.resource: %s is cluster-scoped; tasks run in namespaces",
		                   kind);
	else if (code)
		/* Not known either way (the API server did not answer): declare; the first
		 * CreateTask says it if the resource is wrong. */
		fpd_log(FPD_LOG_WARN, "tasktypes", "FlyteTaskType %s: discovery: %s", p->name,
		        derr ? derr->text : "failed");
	declare_spec(p->w, p->name, p->generation, p->spec, rc, &err);
}

static void pending_free(struct pending_decl *p)
{
	json_decref(p->spec);
	free(p->name);
	free(p);
}

static void on_resolved(void *ud, int code, const struct fpd_kube_gvr *gvr,
                        const struct fpd_error *err)
{
	struct pending_decl *p = ud;
	struct pending_decl **pp = &p->w->pending;
	while (*pp != p)
		pp = &(*pp)->next;
	*pp = p->next;
	resolved(p, code, gvr, err);
	pending_free(p);
}

/* Drops the declarations of FlyteTaskType name still waiting for discovery (a newer spec, or
 * the object deleted, supersedes them). */
static void drop_pending(struct fpd_tasktypes_watch *w, const char *name)
{
	for (struct pending_decl **pp = &w->pending; *pp;) {
		struct pending_decl *p = *pp;
		if (strcmp(p->name, name)) {
			pp = &p->next;
			continue;
		}
		*pp = p->next;
		fpd_kube_discovery_cancel(w->disc, p);
		pending_free(p);
	}
}

static void declare_obj(struct fpd_tasktypes_watch *w, const struct fpd_kube_obj *obj)
{
	const char *name = fpd_kube_obj_name(obj);
	const char *spec_text = fpd_kube_obj_field(obj, FIELD_SPEC);
	const char *gen = fpd_kube_obj_field(obj, FIELD_GENERATION);
	drop_pending(w, name);
	struct pending_decl *p = fpd_calloc(1, sizeof(*p));
	p->w = w;
	p->name = fpd_strdup(name);
	p->generation = gen ? strtoll(gen, NULL, 10) : 0;
	p->spec = spec_text ? json_loads(spec_text, 0, NULL) : NULL;
	const json_t *res = json_object_get(p->spec, "resource");
	const char *av = json_string_value(json_object_get(res, "apiVersion"));
	const char *kind = json_string_value(json_object_get(res, "kind"));
	const char *plural = json_string_value(json_object_get(res, "plural"));
	struct fpd_error err = {0};
	if (!av || !kind || !plural || strlen(plural) >= sizeof(p->plural)) {
		/* Compiling names what is missing. */
		declare_spec(w, p->name, p->generation, p->spec, FPD_OK, &err);
		pending_free(p);
		return;
	}
	snprintf(p->plural, sizeof(p->plural), "%s", plural);
	const char *slash = strchr(av, '/');
	char group[254] = "";
	if (slash)
		snprintf(group, sizeof(group), "%.*s", (int)(slash - av), av);
	struct fpd_kube_gvr gvr;
	int rc = fpd_kube_resolve(w->disc, group, slash ? slash + 1 : av, kind, &gvr, on_resolved,
	                          p, &err);
	if (rc == FPD_AGAIN) {
		p->next = w->pending;
		w->pending = p;
		return;
	}
	resolved(p, rc, &gvr, &err);
	pending_free(p);
}

static void on_add(void *ud, const struct fpd_kube_obj *obj)
{
	declare_obj(ud, obj);
}

static void on_update(void *ud, const struct fpd_kube_obj *old, const struct fpd_kube_obj *obj)
{
	const char *a = fpd_kube_obj_field(old, FIELD_SPEC),
	           *b = fpd_kube_obj_field(obj, FIELD_SPEC);
	/* Our own status writes come back as updates: only a new spec is declared again. */
	if (a && b && !strcmp(a, b))
		return;
	declare_obj(ud, obj);
}

static void on_delete(void *ud, const struct fpd_kube_obj *obj, bool final_state_unknown)
{
	struct fpd_tasktypes_watch *w = ud;
	(void)final_state_unknown;
	drop_pending(w, fpd_kube_obj_name(obj));
	const char *spec_text = fpd_kube_obj_field(obj, FIELD_SPEC);
	json_t *spec = spec_text ? json_loads(spec_text, 0, NULL) : NULL;
	const char *name =
	    json_string_value(json_object_get(json_object_get(spec, "taskType"), "name"));
	if (name && fpd_tasktypes_withdraw(w->reg, name) == FPD_OK)
		fpd_log(FPD_LOG_INFO, "tasktypes",
		        "FlyteTaskType %s deleted: task type %s withdrawn", fpd_kube_obj_name(obj),
		        name);
	json_decref(spec);
}

static void on_error(void *ud, const struct fpd_error *err, int64_t retry_in_ms)
{
	(void)ud;
	fpd_log(FPD_LOG_DEBUG, "tasktypes", "watching FlyteTaskTypes: %s (retrying in %lld ms)",
	        err->text, (long long)retry_in_ms);
}

int fpd_tasktypes_watch_new(struct fpd_kube_client *kube, struct fpd_registry *reg,
                            struct fpd_tasktypes_watch **out, struct fpd_error *err)
{
	*out = NULL;
	struct fpd_tasktypes_watch *w = fpd_calloc(1, sizeof(*w));
	w->kube = kube;
	w->reg = reg;
	w->disc = fpd_kube_discovery_new(kube);
	int rc = fpd_kube_gvr_set(&w->gvr, FPD_TASKTYPES_GROUP, FPD_TASKTYPES_VERSION,
	                          FPD_TASKTYPES_PLURAL, false, err);
	static const struct fpd_kube_field fields[FIELD_COUNT] = {{"/spec", false},
	                                                          {"/metadata/generation", false}};
	struct fpd_kube_informer_opts opts = {.gvr = w->gvr,
	                                      .fields = fields,
	                                      .nfields = FIELD_COUNT,
	                                      .on_add = on_add,
	                                      .on_update = on_update,
	                                      .on_delete = on_delete,
	                                      .on_error = on_error,
	                                      .ud = w,
	                                      .max_object_bytes = 256 * 1024};
	if (!rc)
		rc = fpd_kube_informer_new(kube, &opts, &w->inf, err);
	if (rc) {
		fpd_kube_discovery_free(w->disc);
		free(w);
		return rc;
	}
	fpd_kube_informer_start(w->inf);
	*out = w;
	return FPD_OK;
}

void fpd_tasktypes_watch_on_declare(struct fpd_tasktypes_watch *w, fpd_tasktypes_declared_fn fn,
                                    void *ud)
{
	w->on_declared = fn;
	w->on_declared_ud = ud;
}

void fpd_tasktypes_watch_counts(const struct fpd_tasktypes_watch *w, size_t *declared,
                                size_t *refused)
{
	*declared = w->declared;
	*refused = w->refused;
}

void fpd_tasktypes_watch_free(struct fpd_tasktypes_watch *w)
{
	if (!w)
		return;
	fpd_kube_informer_free(w->inf);
	fpd_kube_cancel(w->kube, w);
	fpd_kube_discovery_free(w->disc);
	while (w->pending) {
		struct pending_decl *p = w->pending;
		w->pending = p->next;
		pending_free(p);
	}
	free(w);
}
