/* Declared task types in the registry: see tasktypes.h. */
#include "engine/tasktypes.h"

#include "core/log.h"
#include <flyteplugd/mem.h>
#include "core/schema.h"
#include "core/yaml.h"
#include "crd/crd.h"
#include "kube/access.h"
#include "kube/client.h"
#include "kube/discovery.h"
#include "kube/informer.h"
#include "kube/resource.h"

#include <dirent.h>
#include <ev.h>
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

/* The verbs the engine uses on a declared kind's objects: create, follow (get, list, watch),
 * note polls and remove its finalizer (patch), delete. */
static const char *const kind_verbs[] = {"create", "get", "list", "watch", "patch", "delete"};
#define KIND_VERBS (sizeof(kind_verbs) / sizeof(kind_verbs[0]))

/*
 * A declaration being checked before it is served: its spec compiles, discovery serves its
 * resource (namespaced, under the declared plural), and the daemon's own identity may use it
 * (SelfSubjectAccessReview for kind_verbs in each watched namespace, or in all). A refusal that
 * may pass without an edit (resource not served yet, permission not granted yet, the API server
 * not answering) is checked again after retry_s, which doubles up to RECHECK_MAX_S.
 */
struct pending_decl {
	struct pending_decl *next;
	struct fpd_tasktypes_watch *w;
	char *name; /* the FlyteTaskType object's; NULL for a declaration of the configuration */
	char *type; /* spec.taskType.name, or "" */
	json_int_t generation;
	json_t *spec; /* owned */
	char group[254], version[64], kind[64], plural[64];
	struct fpd_kube_access *access; /* while the reviews are under way */
	bool resolving;                 /* while discovery is under way */
	ev_timer recheck;
	double retry_s;
	char reported[FPD_ERROR_TEXT]; /* the last refusal reported, not to repeat it */
};

struct fpd_tasktypes_watch {
	struct ev_loop *loop;
	struct fpd_kube_client *kube;
	struct fpd_kube_discovery *disc;
	struct pending_decl *pending;
	struct fpd_registry *reg;
	struct fpd_kube_informer *inf;
	struct fpd_kube_gvr gvr;
	const char **namespaces; /* the ones checked; NULL: all namespaces */
	size_t nnamespaces;
	size_t declared, refused, config_refused;
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

/* Writes the Accepted condition of FlyteTaskType name: True when reason is NULL. */
static void write_status(struct fpd_tasktypes_watch *w, const char *name, json_int_t g,
                         const char *reason, const char *message)
{
	char now[32], location[160] = "";
	time_t t = time(NULL);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	if (reason)
		error_location(message, location, sizeof(location));
	json_t *cond =
	    json_pack("{ss ss ss ss sI ss}", "type", "Accepted", "status",
	              reason ? "False" : "True", "reason", reason ? reason : "Declared", "message",
	              message, "observedGeneration", g, "lastTransitionTime", now);
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

static const char *reason_of(int rc)
{
	return rc == FPD_EEXIST ? "Conflict" : "Invalid";
}

/* Reports a refusal of p, once per distinct message: in the object's status (reason), or for a
 * declaration of the configuration in the log. */
static void refuse(struct pending_decl *p, const char *reason, const char *message)
{
	if (!strcmp(p->reported, message))
		return;
	bool first = !p->reported[0];
	snprintf(p->reported, sizeof(p->reported), "%s", message);
	if (p->name) {
		if (first)
			p->w->refused++;
		fpd_log(FPD_LOG_ERROR, "tasktypes", "FlyteTaskType %s refused (%s): %s", p->name,
		        reason, message);
		write_status(p->w, p->name, p->generation, reason, message);
	} else {
		if (first)
			p->w->config_refused++;
		fpd_tasktypes_withdraw(p->w->reg, p->type);
		fpd_log(FPD_LOG_ERROR, "tasktypes",
		        "task type %s of the configuration not served (%s): %s", p->type, reason,
		        message);
	}
}

/* Declares p's spec once every check passed, and says so. */
static void declare_spec(struct pending_decl *p)
{
	struct fpd_tasktypes_watch *w = p->w;
	const struct fpd_crd_type *t = fpd_crd_active(p->type);
	if (!p->name && t && fpd_registry_by_name(w->reg, p->type) == fpd_crd_type_plugin(t))
		return; /* of the configuration, served since the start */
	struct fpd_error err = {0};
	int rc = fpd_tasktypes_declare(w->reg, p->spec, &err);
	const char *reason = rc ? reason_of(rc) : NULL;
	const struct fpd_plugin *plugin = !rc ? fpd_registry_by_name(w->reg, p->type) : NULL;
	if (plugin && w->on_declared && w->on_declared(w->on_declared_ud, plugin, &err)) {
		/* Served but not followed would lose its tasks' status: take it back. */
		fpd_tasktypes_withdraw(w->reg, p->type);
		rc = FPD_EIO;
		reason = "NotWatched";
	}
	if (rc) {
		refuse(p, reason, err.text);
		return;
	}
	if (p->name) {
		w->declared++;
		fpd_log(FPD_LOG_INFO, "tasktypes", "FlyteTaskType %s declared", p->name);
		write_status(w, p->name, p->generation, NULL, "the task type is served");
	} else {
		if (p->reported[0])
			w->config_refused--;
		fpd_log(FPD_LOG_INFO, "tasktypes", "task type %s of the configuration served",
		        p->type);
	}
}

static void pending_free(struct pending_decl *p)
{
	struct fpd_tasktypes_watch *w = p->w;
	if (p->resolving)
		fpd_kube_discovery_cancel(w->disc, p);
	fpd_kube_access_cancel(p->access);
	ev_timer_stop(w->loop, &p->recheck);
	json_decref(p->spec);
	free(p->name);
	free(p->type);
	free(p);
}

/* Takes p out of the pending list and frees it: its checks are over. */
static void pending_done(struct pending_decl *p)
{
	struct pending_decl **pp = &p->w->pending;
	while (*pp != p)
		pp = &(*pp)->next;
	*pp = p->next;
	pending_free(p);
}

/* Checks p again later: retry_s from now, the next time twice that (at most RECHECK_MAX_S). */
static void recheck_later(struct pending_decl *p)
{
	ev_timer_set(&p->recheck, p->retry_s, 0);
	ev_timer_start(p->w->loop, &p->recheck);
	p->retry_s = p->retry_s * 2 > FPD_TASKTYPES_RECHECK_MAX_S ? FPD_TASKTYPES_RECHECK_MAX_S
	                                                          : p->retry_s * 2;
}

static void on_access(void *ud, int code, const struct fpd_error *aerr)
{
	struct pending_decl *p = ud;
	p->access = NULL;
	if (code == FPD_OK) {
		declare_spec(p);
		pending_done(p);
		return;
	}
	if (code == FPD_EPERM) {
		struct fpd_error msg;
		fpd_error_set(
		    &msg, FPD_EPERM,
		    "spec.resource: the daemon's identity may not %s (its RBAC needs "
		    "create, get, list, watch, patch and delete on the resource); checked "
		    "again every %d s at most",
		    aerr->text, (int)FPD_TASKTYPES_RECHECK_MAX_S);
		refuse(p, "MissingRBAC", msg.text);
	} else {
		fpd_log(FPD_LOG_WARN, "tasktypes", "task type %s: checking its RBAC: %s", p->type,
		        aerr ? aerr->text : "failed");
	}
	recheck_later(p);
}

static void check_access(struct pending_decl *p)
{
	struct fpd_tasktypes_watch *w = p->w;
	struct fpd_kube_access_req req = {.group = p->group,
	                                  .resource = p->plural,
	                                  .verbs = kind_verbs,
	                                  .nverbs = KIND_VERBS,
	                                  .namespaces = w->namespaces,
	                                  .nnamespaces = w->nnamespaces};
	struct fpd_error err = {0};
	int rc = fpd_kube_access_check(w->kube, &req, on_access, p, &p->access, &err);
	if (rc != FPD_AGAIN) {
		fpd_log(FPD_LOG_WARN, "tasktypes", "task type %s: checking its RBAC: %s", p->type,
		        err.text);
		recheck_later(p);
	}
}

/* Discovery answered for p: the resource must be served under the plural declared, in
 * namespaces (the engine creates every object in the task's namespace). */
static void resolved(struct pending_decl *p, int code, const struct fpd_kube_gvr *gvr,
                     const struct fpd_error *derr)
{
	struct fpd_error err = {0};
	if (code == FPD_ENOENT) {
		fpd_error_set(
		    &err, FPD_EINVAL,
		    "spec.resource: the API server serves no kind %s in %s%s%s (is its CRD "
		    "installed?); checked again every %d s at most",
		    p->kind, p->group, p->group[0] ? "/" : "", p->version,
		    (int)FPD_TASKTYPES_RECHECK_MAX_S);
		refuse(p, "ResourceNotFound", err.text);
		recheck_later(p);
		return;
	}
	if (code == FPD_EINVAL) {
		refuse(p, "Invalid", derr ? derr->text : "spec.resource: invalid");
		pending_done(p);
		return;
	}
	if (code) {
		/* Not known either way (the API server did not answer): ask again later. */
		fpd_log(FPD_LOG_WARN, "tasktypes", "task type %s: discovery: %s", p->type,
		        derr ? derr->text : "failed");
		recheck_later(p);
		return;
	}
	if (strcmp(gvr->resource, p->plural))
		fpd_error_set(&err, FPD_EINVAL,
		              "spec.resource.plural: the API server serves kind %s as \"%s\", "
		              "not \"%s\"",
		              p->kind, gvr->resource, p->plural);
	else if (!gvr->namespaced)
		fpd_error_set(&err, FPD_EINVAL,
		              "spec.resource: %s is cluster-scoped; tasks run in namespaces",
		              p->kind);
	if (err.text[0]) {
		refuse(p, "Invalid", err.text);
		pending_done(p);
		return;
	}
	check_access(p);
}

static void on_resolved(void *ud, int code, const struct fpd_kube_gvr *gvr,
                        const struct fpd_error *err)
{
	struct pending_decl *p = ud;
	p->resolving = false;
	resolved(p, code, gvr, err);
}

static void check(struct pending_decl *p)
{
	struct fpd_kube_gvr gvr;
	struct fpd_error err = {0};
	int rc =
	    fpd_kube_resolve(p->w->disc, p->group, p->version, p->kind, &gvr, on_resolved, p, &err);
	if (rc == FPD_AGAIN)
		p->resolving = true;
	else
		resolved(p, rc, &gvr, &err);
}

static void on_recheck(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	check(t->data);
}

/* Starts the checks of spec (stolen) for FlyteTaskType name (NULL: of the configuration). A
 * spec that does not compile is refused at once, since no check could make it pass. */
static void check_new(struct fpd_tasktypes_watch *w, const char *name, json_int_t gen, json_t *spec)
{
	struct pending_decl *p = fpd_calloc(1, sizeof(*p));
	p->w = w;
	p->name = name ? fpd_strdup(name) : NULL;
	p->generation = gen;
	p->spec = spec;
	p->retry_s = FPD_TASKTYPES_RECHECK_FIRST_S;
	ev_init(&p->recheck, on_recheck);
	p->recheck.data = p;
	const char *type =
	    json_string_value(json_object_get(json_object_get(spec, "taskType"), "name"));
	p->type = fpd_strdup(type ? type : "");
	p->next = w->pending;
	w->pending = p;

	struct fpd_crd_type *t = NULL;
	struct fpd_error err = {0};
	int rc = spec ? fpd_crd_type_compile(spec, &t, &err)
	              : fpd_error_set(&err, FPD_EINVAL, "spec: required");
	fpd_crd_type_free(t);
	if (rc) {
		refuse(p, reason_of(rc), err.text);
		pending_done(p);
		return;
	}
	/* Compiled: spec.resource has an apiVersion, a kind and a plural of bounded length. */
	const json_t *res = json_object_get(spec, "resource");
	const char *av = json_string_value(json_object_get(res, "apiVersion"));
	const char *slash = strchr(av, '/');
	if (strlen(slash ? slash + 1 : av) >= sizeof(p->version)) {
		refuse(p, "Invalid", "spec.resource.apiVersion: the version is too long");
		pending_done(p);
		return;
	}
	if (slash)
		snprintf(p->group, sizeof(p->group), "%.*s", (int)(slash - av), av);
	snprintf(p->version, sizeof(p->version), "%s", slash ? slash + 1 : av);
	snprintf(p->kind, sizeof(p->kind), "%s", json_string_value(json_object_get(res, "kind")));
	snprintf(p->plural, sizeof(p->plural), "%s",
	         json_string_value(json_object_get(res, "plural")));
	check(p);
}

/* Stops the checks of FlyteTaskType name still under way: a newer spec, or the object
 * deleted, supersedes them. */
static void drop_pending(struct fpd_tasktypes_watch *w, const char *name)
{
	for (struct pending_decl **pp = &w->pending; *pp;) {
		struct pending_decl *p = *pp;
		if (!p->name || strcmp(p->name, name)) {
			pp = &p->next;
			continue;
		}
		*pp = p->next;
		pending_free(p);
	}
}

static void declare_obj(struct fpd_tasktypes_watch *w, const struct fpd_kube_obj *obj)
{
	const char *name = fpd_kube_obj_name(obj);
	const char *spec_text = fpd_kube_obj_field(obj, FIELD_SPEC);
	const char *gen = fpd_kube_obj_field(obj, FIELD_GENERATION);
	drop_pending(w, name);
	check_new(w, name, gen ? strtoll(gen, NULL, 10) : 0,
	          spec_text ? json_loads(spec_text, 0, NULL) : NULL);
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

/* The configuration's declared types (every active one at start) go through the same checks as
 * a FlyteTaskType: each refused is withdrawn, and served again once its checks pass. */
static void check_config_types(struct fpd_tasktypes_watch *w)
{
	const struct fpd_crd_type *t;
	size_t n = 0;
	char **names = NULL;
	for (size_t i = 0; (t = fpd_crd_active_at(i)); i++) {
		if (fpd_registry_by_name(w->reg, fpd_crd_type_name(t)) != fpd_crd_type_plugin(t))
			continue;
		names = fpd_realloc(names, (n + 1) * sizeof(*names));
		names[n++] = fpd_strdup(fpd_crd_type_name(t));
	}
	for (size_t i = 0; i < n; i++) {
		t = fpd_crd_active(names[i]);
		check_new(w, NULL, 0, json_deep_copy(fpd_crd_type_spec(t)));
		free(names[i]);
	}
	free(names);
}

int fpd_tasktypes_watch_new(struct ev_loop *loop, struct fpd_kube_client *kube,
                            struct fpd_registry *reg, const struct fpd_strings *namespaces,
                            struct fpd_tasktypes_watch **out, struct fpd_error *err)
{
	*out = NULL;
	struct fpd_tasktypes_watch *w = fpd_calloc(1, sizeof(*w));
	w->loop = loop;
	w->kube = kube;
	w->reg = reg;
	if (namespaces && namespaces->count) {
		/* As many as one check may review; docs/task-types.md says so. */
		w->nnamespaces = namespaces->count < FPD_KUBE_ACCESS_MAX / KIND_VERBS
		                     ? namespaces->count
		                     : FPD_KUBE_ACCESS_MAX / KIND_VERBS;
		w->namespaces = fpd_calloc(w->nnamespaces, sizeof(*w->namespaces));
		for (size_t i = 0; i < w->nnamespaces; i++)
			w->namespaces[i] = fpd_strdup(namespaces->items[i]);
	}
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
		fpd_tasktypes_watch_free(w);
		return rc;
	}
	fpd_kube_informer_start(w->inf);
	check_config_types(w);
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

size_t fpd_tasktypes_watch_config_refused(const struct fpd_tasktypes_watch *w)
{
	return w ? w->config_refused : 0;
}

void fpd_tasktypes_watch_free(struct fpd_tasktypes_watch *w)
{
	if (!w)
		return;
	fpd_kube_informer_free(w->inf);
	fpd_kube_cancel(w->kube, w);
	while (w->pending) {
		struct pending_decl *p = w->pending;
		w->pending = p->next;
		pending_free(p);
	}
	fpd_kube_discovery_free(w->disc);
	for (size_t i = 0; i < w->nnamespaces; i++)
		free((char *)w->namespaces[i]);
	free(w->namespaces);
	free(w);
}
