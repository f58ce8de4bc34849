/*
 * Execution entries: the table, and every change of an entry's state (see exec.h).
 */
#include "engine/internal.h"

#include "core/clock.h"
#include "core/json_text.h"
#include "core/log.h"
#include <flyteplugd/mem.h>
#include "engine/decorate.h"

#include <flyteplugd/object.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct execution *exec_new(struct fpd_engine *e, const struct fpd_plugin *plugin,
                           struct watched_kind *kind, const char *ns, const char *name)
{
	struct execution *x = fpd_calloc(1, sizeof(*x));
	size_t nl = strlen(ns), ml = strlen(name);
	/* "ns/name", then ns and name on their own: one allocation for the three */
	x->key = fpd_malloc(2 * (nl + ml) + 4);
	x->namespace_ = x->key + nl + ml + 2;
	x->name = x->namespace_ + nl + 1;
	memcpy(x->namespace_, ns, nl + 1);
	memcpy(x->name, name, ml + 1);
	memcpy(x->key, ns, nl);
	x->key[nl] = '/';
	memcpy(x->key + nl + 1, name, ml + 1);
	x->plugin = plugin;
	x->kind = kind;
	x->uid = fpd_strdup("");
	x->started_ms = fpd_clock_wall_ms();
	x->last_poll_ms = x->started_ms;
	struct execution *old = fpd_map_put(&e->execs, x->key, x);
	FPD_ASSERT(old == NULL);
	return x;
}

struct execution *exec_find(struct fpd_engine *e, const char *ns, const char *name)
{
	char stack[512];
	size_t nl = strlen(ns), ml = strlen(name);
	char *key = nl + ml + 2 <= sizeof(stack) ? stack : fpd_malloc(nl + ml + 2);
	memcpy(key, ns, nl);
	key[nl] = '/';
	memcpy(key + nl + 1, name, ml + 1);
	struct execution *x = fpd_map_get(&e->execs, key);
	if (key != stack)
		free(key);
	return x;
}

static void free_pods(struct fpd_map *pods)
{
	if (!pods)
		return;
	size_t it = 0;
	const char *k;
	void *v;
	while (fpd_map_next(pods, &it, &k, &v))
		free(v);
	fpd_map_free(pods);
	free(pods);
}

static void exec_free(struct execution *x)
{
	free_pods(x->pods);
	free(x->key);
	free(x->uid);
	free(x->group_uid);
	free(x->id.block);
	exec_drop_object(x);
	free(x->observed);
	fpd_phase_info_clear(&x->phase);
	free(x);
}

void exec_remove(struct fpd_engine *e, struct execution *x)
{
	fpd_map_del(&e->execs, x->key);
	x->dead = true;
	if (x->busy == 0)
		exec_free(x);
}

void exec_hold(struct execution *x)
{
	x->busy++;
}

void exec_release(struct execution *x)
{
	FPD_ASSERT(x->busy > 0);
	if (--x->busy == 0 && x->dead)
		exec_free(x);
}

void exec_set_ref(struct execution *x, const struct fpd_task_ref *ref)
{
	const char *src[] = {ref->project,        ref->domain,       ref->execution,
	                     ref->node_id,        ref->task_project, ref->task_domain,
	                     ref->task_name,      ref->task_version, ref->task_type,
	                     ref->generated_name, ref->namespace_,   ref->link_types};
	size_t len[FPD_ARRAY_LEN(src)], total = 0;
	for (size_t i = 0; i < FPD_ARRAY_LEN(src); i++) {
		len[i] = src[i] ? strlen(src[i]) : 0;
		total += len[i] + 1;
	}
	/* One block for the twelve strings (100,000 entries: 1.1 million allocations fewer);
	 * built before the old one is freed, which ref may point into. */
	char *block = fpd_malloc(total);
	const char *dst[FPD_ARRAY_LEN(src)];
	char *p = block;
	for (size_t i = 0; i < FPD_ARRAY_LEN(src); i++) {
		if (len[i])
			memcpy(p, src[i], len[i]);
		p[len[i]] = '\0';
		dst[i] = p;
		p += len[i] + 1;
	}
	struct fpd_task_ref t = {
	    .project = dst[0],
	    .domain = dst[1],
	    .execution = dst[2],
	    .node_id = dst[3],
	    .retry_attempt = ref->retry_attempt,
	    .task_project = dst[4],
	    .task_domain = dst[5],
	    .task_name = dst[6],
	    .task_version = dst[7],
	    .task_type = dst[8],
	    .task_type_version = ref->task_type_version,
	    .generated_name = dst[9],
	    .namespace_ = dst[10],
	    .link_types = dst[11],
	};
	free(x->id.block);
	x->id.ref = t;
	x->id.block = block;
}

/* The identity annotation (see decorate.c) back into a ref; -1 if absent or malformed. */
int exec_ref_from_object(struct execution *x, const json_t *obj)
{
	const char *s = json_string_value(
	    json_object_get(fpd_json_get(obj, "metadata.annotations"), FPD_ANNOTATION_IDENTITY));
	json_t *id = s ? json_loads(s, 0, NULL) : NULL;
	if (!json_is_object(id)) {
		json_decref(id);
		return -1;
	}
	json_t *t = json_object_get(id, "t");
	struct fpd_task_ref r = {
	    .project = fpd_json_str_or(id, "p", ""),
	    .domain = fpd_json_str_or(id, "d", ""),
	    .execution = fpd_json_str_or(id, "e", ""),
	    .node_id = fpd_json_str_or(id, "n", ""),
	    .retry_attempt = (uint32_t)fpd_json_int_or(id, "a", 0),
	    .task_project = json_string_value(json_array_get(t, 0)),
	    .task_domain = json_string_value(json_array_get(t, 1)),
	    .task_name = json_string_value(json_array_get(t, 2)),
	    .task_version = json_string_value(json_array_get(t, 3)),
	    .task_type = fpd_json_str_or(id, "tt", ""),
	    .task_type_version = (int32_t)fpd_json_int_or(id, "tv", 0),
	    .generated_name = x->name,
	    .namespace_ = x->namespace_,
	    .link_types = fpd_json_str_or(id, "lt", ""),
	};
	exec_set_ref(x, &r);
	json_decref(id);
	return 0;
}

/* The kept object shares its values with the object it was made from (a list item, a watch
 * event, an API answer) instead of copying them: a relist keeps 100,000 of them. Only the
 * objects on the way to a kept value are t's own, and only those are ever changed; a value
 * t holds at a path is shared exactly when it is the object's value at that path. */

/* Keeps obj's value at the dotted path in t. A path under one kept whole is kept already; a
 * path above kept ones replaces them with the whole. */
static void keep_path(json_t *t, const json_t *obj, const char *path)
{
	char key[256];
	if (!fpd_json_get(obj, path))
		return; /* nothing to make a way to */
	for (;;) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);
		if (n == 0 || n >= sizeof(key) || !json_is_object(obj))
			return;
		memcpy(key, path, n);
		key[n] = '\0';
		json_t *v = json_object_get(obj, key);
		if (!v)
			return;
		json_t *mine = json_object_get(t, key);
		if (mine == v)
			return; /* kept whole already */
		if (!dot) {
			json_object_set(t, key, v);
			return;
		}
		if (!json_is_object(mine)) {
			mine = json_object();
			json_object_set_new(t, key, mine);
		}
		t = mine;
		obj = v;
		path = dot + 1;
	}
}

/* "a.b[].c": only field c (a dotted path) of each element of the array at a.b: container
 * names without their env, args and volumes, which dominate a pod spec's size. Several such
 * fields of one array land in the same elements. */
static void keep_array_field(json_t *t, const json_t *obj, const char *spec)
{
	const char *brackets = strstr(spec, "[].");
	char path[256];
	if ((size_t)(brackets - spec) >= sizeof(path))
		return;
	snprintf(path, sizeof(path), "%.*s", (int)(brackets - spec), spec);
	const json_t *list = fpd_json_get(obj, path);
	if (!json_is_array(list))
		return;
	json_t *out = fpd_json_get(t, path);
	if (out == list)
		return; /* kept whole already */
	if (!json_is_array(out) || json_array_size(out) != json_array_size(list)) {
		out = json_array();
		for (size_t i = 0; i < json_array_size(list); i++)
			json_array_append_new(out, json_object());
		fpd_json_set_new(t, path, out);
	}
	for (size_t i = 0; i < json_array_size(list); i++)
		keep_path(json_array_get(out, i), json_array_get(list, i), brackets + 3);
}

const char *const exec_kept_always[] = {
    "apiVersion",
    "kind",
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "metadata.labels",
    "metadata.annotations",
    "metadata.creationTimestamp",
    "metadata.deletionTimestamp",
    "metadata.finalizers",
    "status",
    NULL,
};

const char *const exec_related_pod_keep[] = {"spec.containers[].name", "spec.initContainers[].name",
                                             "spec.hostname", "spec.nodeName", NULL};

json_t *exec_kept_object(const json_t *obj, const char *const *keep)
{
	json_t *t = json_object();
	for (const char *const *m = exec_kept_always; *m; m++)
		keep_path(t, obj, *m);
	for (const char *const *k = keep; k && *k; k++) {
		if (strstr(*k, "[]."))
			keep_array_field(t, obj, *k);
		else
			keep_path(t, obj, *k);
	}
	json_t *meta = json_object_get(t, "metadata");
	if (meta && meta == json_object_get(obj, "metadata")) {
		json_t *own = json_object();
		json_object_update(own, meta);
		json_object_set_new(t, "metadata", own);
		meta = own;
	}
	/* The identity is in the entry's ref already; nothing reads it from the kept object. */
	json_t *ann = json_object_get(meta, "annotations");
	if (json_object_get(ann, FPD_ANNOTATION_IDENTITY)) {
		json_t *own = json_object();
		json_object_update(own, ann);
		json_object_del(own, FPD_ANNOTATION_IDENTITY);
		json_object_set_new(meta, "annotations", own);
	}
	return t;
}

/* The compact JSON text of t in an allocation of its size: an entry keeps it for the task's
 * life, and the writer's doubling buffer would hold up to twice that. */
static char *kept_text(const json_t *t)
{
	size_t n;
	char *text = fpd_json_text(t, false, &n);
	if (!text)
		return NULL;
	char *exact = fpd_strndup(text, n);
	free(text);
	return exact;
}

void exec_set_phase(struct execution *x, enum fpd_phase phase, const char *code,
                    enum fpd_error_kind kind, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fpd_phase_set(&x->phase, phase, code, msg);
	x->phase.kind = kind;
	if (fpd_phase_is_terminal(phase) && !x->finished_ms)
		x->finished_ms = fpd_clock_wall_ms();
}

/* The kept text of x's own object t (changed): without the name, namespace and uid, which the
 * entry holds already (100 bytes of 100,000 entries); entry_object puts them back. */
static char *kept_text_of_entry(const struct execution *x, json_t *t)
{
	json_t *meta = json_object_get(t, "metadata");
	const char *own[][2] = {{"name", x->name}, {"namespace", x->namespace_}, {"uid", x->uid}};
	for (size_t i = 0; i < FPD_ARRAY_LEN(own); i++) {
		const char *v = json_string_value(json_object_get(meta, own[i][0]));
		if (v && v[0] && strcmp(v, own[i][1]) == 0)
			json_object_del(meta, own[i][0]);
	}
	return kept_text(t);
}

/* x's object as kept (a new reference), or NULL. */
static json_t *entry_object(const struct execution *x)
{
	json_t *t = x->observed ? json_loads(x->observed, 0, NULL) : NULL;
	if (!t)
		return NULL;
	json_t *meta = json_object_get(t, "metadata");
	if (!json_is_object(meta)) {
		meta = json_object();
		json_object_set_new(t, "metadata", meta);
	}
	const char *own[][2] = {{"name", x->name}, {"namespace", x->namespace_}, {"uid", x->uid}};
	for (size_t i = 0; i < FPD_ARRAY_LEN(own); i++)
		if (own[i][1][0] && !json_object_get(meta, own[i][0]))
			json_object_set_new(meta, own[i][0], json_string(own[i][1]));
	return t;
}

/* The related pods as JSON, for status(): a new array of *count parsed objects. */
static json_t **parse_pods(const struct execution *x, size_t *count)
{
	*count = 0;
	if (!x->pods || !x->pods->count)
		return NULL;
	json_t **pods = fpd_calloc(x->pods->count, sizeof(*pods));
	size_t it = 0;
	const char *k;
	void *v;
	while (fpd_map_next(x->pods, &it, &k, &v)) {
		json_t *p = json_loads(v, 0, NULL);
		if (p)
			pods[(*count)++] = p;
	}
	return pods;
}

/* An operator's object whose status nobody has written since it was created, for longer than
 * engine.operator_timeout: whatever the plugin made of the empty status, the operator is not
 * there (its controller is not running, or watches other namespaces). A retryable system
 * failure says so; before the deadline the entry is looked at again when it passes. Pods are
 * the kubelet's and the scheduler's, whose silence the Pod plugin's own rules judge. */
static void operator_silent(const struct fpd_engine *e, const struct execution *x,
                            const json_t *obj, int64_t now_ms, struct fpd_phase_info *pi)
{
	const json_t *status = json_object_get(obj, "status");
	/* Held by a queue (Kueue): the operator has nothing to do yet. */
	if (strcmp(x->plugin->kind->kind, "Pod") == 0 || fpd_phase_is_terminal(pi->phase) ||
	    pi->phase == FPD_PHASE_WAITING_FOR_RESOURCES ||
	    (json_is_object(status) && json_object_size(status) > 0))
		return;
	int64_t created = fpd_time_parse(fpd_json_str_or(obj, "metadata.creationTimestamp", ""));
	if (created < 0)
		return;
	int64_t timeout = e->cfg->engine.operator_timeout_ms;
	int64_t deadline = created + timeout;
	if (now_ms < deadline) {
		if (!pi->recheck_at_ms || pi->recheck_at_ms > deadline)
			pi->recheck_at_ms = deadline;
		return;
	}
	fpd_phase_info_clear(pi);
	pi->phase = FPD_PHASE_RETRYABLE_FAILED;
	pi->code = fpd_strdup("OperatorNotResponding");
	pi->kind = FPD_KIND_SYSTEM;
	pi->message = fpd_asprintf(
	    "%s %s/%s has had no status for %lld s since it was created: its operator is not "
	    "running, or does not watch this namespace (engine.operator_timeout)",
	    x->plugin->kind->kind, x->namespace_, x->name, (long long)(timeout / 1000));
}

/* How far along an attempt is, for the phases computed from its object: a later answer never
 * goes back (a stale event, the object as sent after the watch has shown more). Terminal
 * phases are always taken. Queued and waiting for resources alternate (an unschedulable pod
 * scheduled later, a job Kueue admits and its operator has not started yet): same rank. */
static int progress(enum fpd_phase p)
{
	switch (p) {
	case FPD_PHASE_UNDEFINED: return 0;
	case FPD_PHASE_QUEUED: return 1;
	case FPD_PHASE_WAITING_FOR_RESOURCES: return 1;
	case FPD_PHASE_INITIALIZING: return 3;
	case FPD_PHASE_RUNNING: return 4;
	default: return 5;
	}
}

static void run_status(struct fpd_engine *e, struct execution *x, const json_t *obj)
{
	size_t npods;
	json_t **pods = parse_pods(x, &npods);
	const char *config = json_string_value(
	    json_object_get(fpd_json_get(obj, "metadata.annotations"), FPD_ANNOTATION_TASK_CONFIG));
	json_t *task_config = config ? json_loads(config, 0, NULL) : NULL;
	struct fpd_status_ctx ctx = {
	    .ref = &x->id.ref,
	    .object = obj,
	    .pods = (const json_t *const *)pods,
	    .pod_count = npods,
	    .settings = &e->cfg->settings,
	    .plugin_settings = fpd_plugin_settings_get(e->psettings, x->plugin),
	    .now_ms = fpd_clock_wall_ms(),
	    .task_config = json_is_object(task_config) ? task_config : NULL,
	};
	struct fpd_phase_info pi = {0};
	x->plugin->status(&ctx, &pi);
	json_decref(task_config);
	for (size_t i = 0; i < npods; i++)
		json_decref(pods[i]);
	free(pods);
	if (x->observed_as_sent && !fpd_phase_is_terminal(pi.phase) &&
	    progress(pi.phase) > progress(FPD_PHASE_QUEUED)) {
		/* The object as CreateTask sent it, without the status the API server gives it:
		 * whatever the plugin's rules make of that (the pod rules read an empty pod phase
		 * as running), the task is queued until the API server's copy is seen. */
		fpd_phase_set(&pi, FPD_PHASE_QUEUED, NULL, "task submitted to K8s");
	}
	operator_silent(e, x, obj, ctx.now_ms, &pi);
	if (pi.phase == FPD_PHASE_UNDEFINED) {
		/* The plugin did not recognise the state: keep the last phase, say so. */
		e->stats.status_unknown++;
		fpd_log(FPD_LOG_WARN, "engine", "%s: %s reported an unknown state; keeping %s",
		        x->key, x->plugin->name, fpd_phase_name(x->phase.phase));
		fpd_phase_info_clear(&pi);
		return;
	}
	enum fpd_phase before = x->phase.phase;
	if (!fpd_phase_is_terminal(pi.phase) && progress(pi.phase) < progress(before)) {
		fpd_log(FPD_LOG_DEBUG, "engine", "%s: %s after %s ignored (phases only advance)",
		        x->key, fpd_phase_name(pi.phase), fpd_phase_name(before));
		/* Its time-based rules still apply: look again when they say. */
		x->phase.recheck_at_ms = pi.recheck_at_ms;
		fpd_phase_info_clear(&pi);
		return;
	}
	fpd_phase_info_clear(&x->phase);
	x->phase = pi;
	if (fpd_phase_is_terminal(pi.phase) && !x->finished_ms)
		x->finished_ms = ctx.now_ms;
	if (before != pi.phase)
		fpd_log(FPD_LOG_INFO, "engine", "%s: %s -> %s%s%s", x->key, fpd_phase_name(before),
		        fpd_phase_name(pi.phase), pi.code ? " " : "", pi.code ? pi.code : "");
}

void exec_created(struct execution *x, const char *uid)
{
	if (!x->uid[0] && uid[0]) {
		free(x->uid);
		x->uid = fpd_strdup(uid);
	}
	if (x->state == EXEC_CREATING)
		x->state = EXEC_ACTIVE;
}

/* The latest sign of life any replica saw: its creation, or a poll recorded on it. */
static void note_polls(struct execution *x, const json_t *obj)
{
	int64_t created = fpd_time_parse(fpd_json_str_or(obj, "metadata.creationTimestamp", ""));
	const json_t *polled =
	    json_object_get(fpd_json_get(obj, "metadata.annotations"), FPD_ANNOTATION_LAST_POLL);
	int64_t noted = json_is_string(polled) ? fpd_time_parse(json_string_value(polled)) : -1;
	if (created > x->noted_poll_ms)
		x->noted_poll_ms = created;
	if (noted > x->noted_poll_ms)
		x->noted_poll_ms = noted;
}

static void observe(struct fpd_engine *e, struct execution *x, json_t *obj, bool as_sent)
{
	if (x->pending_sent) /* the API server's copy supersedes the object as created */
		exec_drop_object(x);
	const char *uid = fpd_json_str_or(obj, "metadata.uid", "");
	if (x->uid[0] && uid[0] && strcmp(x->uid, uid) != 0) {
		/* Same name, another object: ours was deleted and something recreated it. */
		if (!fpd_phase_is_terminal(x->phase.phase))
			exec_set_phase(x, FPD_PHASE_RETRYABLE_FAILED, "ResourceDeletedExternally",
			               FPD_KIND_SYSTEM,
			               "resource [%s] was replaced by another object (uid %s)",
			               x->key, uid);
		return;
	}
	if (!x->uid[0]) {
		free(x->uid);
		x->uid = fpd_strdup(uid);
	}
	if (x->state != EXEC_ACTIVE && x->state != EXEC_GONE)
		x->state = EXEC_ACTIVE;
	note_polls(x, obj);
	json_t *t = exec_kept_object(obj, x->plugin->keep);
	x->observed_as_sent = as_sent;
	bool terminal_before = fpd_phase_is_terminal(x->phase.phase);
	/* Once finished, a task stays finished: later changes (a deletion, a restarted pod)
	 * must not turn a reported success into something else. */
	if (!terminal_before)
		run_status(e, x, t);
	if (fpd_json_get(obj, "metadata.deletionTimestamp") &&
	    !fpd_phase_is_terminal(x->phase.phase))
		exec_set_phase(x, x->aborted ? FPD_PHASE_ABORTED : FPD_PHASE_RETRYABLE_FAILED,
		               x->aborted ? "Aborted" : "UnexpectedObjectDeletion", FPD_KIND_SYSTEM,
		               "object [%s] terminated in the background, manually", x->key);
	free(x->observed);
	x->observed = kept_text_of_entry(x, t);
	json_decref(t);
}

void exec_observe(struct fpd_engine *e, struct execution *x, json_t *obj)
{
	observe(e, x, obj, false);
}

void exec_drop_object(struct execution *x)
{
	json_decref(x->pending);
	x->pending = NULL;
	free(x->sent);
	x->sent = NULL;
	x->sent_len = 0;
	json_decref(x->sent_meta);
	x->sent_meta = NULL;
	x->pending_sent = false;
}

void exec_settle(struct fpd_engine *e, struct execution *x)
{
	if (!x->pending_sent)
		return;
	json_t *obj = NULL;
	if (!x->dead && !x->observed) {
		/* Our own body, as POSTed and taken by the API server: it parses. */
		struct fpd_error err;
		if (!x->sent_pb)
			obj = json_loadb(x->sent, x->sent_len, 0, NULL);
		else if (fpd_kube_decode_created(e->kube, x->sent, x->sent_len, &obj, &err))
			/* over the decoder's budget (a hostile spec of thousands of tiny
			 * elements): the watch brings the API server's copy instead */
			fpd_log(FPD_LOG_DEBUG, "engine", "%s: the object as sent: %s", x->key,
			        err.text);
		json_t *meta = json_object_get(obj, "metadata");
		if (json_is_object(meta) && json_is_object(x->sent_meta))
			json_object_update(meta, x->sent_meta);
	}
	exec_drop_object(x);
	if (json_is_object(obj)) {
		e->stats.creates_seen_as_sent++;
		observe(e, x, obj, true);
	}
	json_decref(obj);
}

void exec_observe_pod(struct fpd_engine *e, struct execution *x, json_t *pod, bool gone)
{
	const char *name = fpd_json_str(pod, "metadata.name");
	if (!name)
		return;
	fpd_log(FPD_LOG_DEBUG, "engine", "%s: pod %s %s", x->key, name, gone ? "gone" : "changed");
	if (gone) {
		if (x->pods)
			free(fpd_map_del(x->pods, name));
	} else {
		json_t *t = exec_kept_object(pod, exec_related_pod_keep);
		if (!x->pods) {
			x->pods = fpd_malloc(sizeof(*x->pods));
			fpd_map_init(x->pods);
		}
		free(fpd_map_put(x->pods, name, kept_text(t)));
		json_decref(t);
	}
	exec_recompute(e, x);
}

void exec_recompute(struct fpd_engine *e, struct execution *x)
{
	if (!x->observed || fpd_phase_is_terminal(x->phase.phase))
		return;
	json_t *t = entry_object(x);
	if (t)
		run_status(e, x, t);
	json_decref(t);
}

bool exec_create_refused(struct execution *x, int http, const char *msg, const char *error,
                         int64_t retry_max_ms)
{
	if (http == 403 && strstr(msg, "exceeded quota")) {
		x->state = EXEC_WAITING_QUOTA;
		x->create_backoff_ms = x->create_backoff_ms ? x->create_backoff_ms * 2 : 2000;
		if (x->create_backoff_ms > retry_max_ms)
			x->create_backoff_ms = retry_max_ms;
		x->next_create_ms = fpd_clock_wall_ms() + x->create_backoff_ms;
		exec_set_phase(x, FPD_PHASE_WAITING_FOR_RESOURCES, "ResourceQuotaExceeded",
		               FPD_KIND_UNKNOWN, "Exceeded resourcequota: %s", msg);
		return true;
	}
	exec_drop_object(x);
	x->state = EXEC_REJECTED;
	if (http == 403)
		exec_set_phase(x, FPD_PHASE_RETRYABLE_FAILED, "RuntimeFailure", FPD_KIND_USER, "%s",
		               msg);
	else if (http == 400 || http == 422)
		exec_set_phase(x, FPD_PHASE_FAILED, "BadTaskFormat", FPD_KIND_USER, "%s", msg);
	else if (http == 413)
		exec_set_phase(x, FPD_PHASE_FAILED, "EntityTooLarge", FPD_KIND_USER, "%s", msg);
	else
		exec_set_phase(x, FPD_PHASE_RETRYABLE_FAILED, "CreateFailed", FPD_KIND_SYSTEM,
		               "failed to create resource: %s", error);
	return false;
}

static size_t phase_bytes(const struct fpd_phase_info *pi)
{
	size_t n = exec_usable(pi->code) + exec_usable(pi->message) + exec_usable(pi->logs);
	for (size_t i = 0; i < pi->log_count; i++)
		n += exec_usable(pi->logs[i].name) + exec_usable(pi->logs[i].uri);
	return n;
}

size_t exec_bytes(const struct execution *x)
{
	size_t n = exec_usable(x) + exec_usable(x->key) + exec_usable(x->uid) +
	           exec_usable(x->group_uid) + exec_usable(x->id.block) + exec_usable(x->observed) +
	           phase_bytes(&x->phase);
	if (x->pods) {
		size_t it = 0;
		const char *k;
		void *v;
		n += exec_usable(x->pods) + exec_usable(x->pods->slots);
		while (fpd_map_next(x->pods, &it, &k, &v))
			n += exec_usable(k) + exec_usable(v);
	}
	return n;
}

const char *exec_state_name(enum exec_state s)
{
	switch (s) {
	case EXEC_CREATING: return "creating";
	case EXEC_WAITING_QUOTA: return "waiting-for-quota";
	case EXEC_REJECTED: return "rejected";
	case EXEC_ACTIVE: return "active";
	case EXEC_GONE: return "gone";
	}
	return "?";
}
