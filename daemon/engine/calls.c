/*
 * The task calls: create, get and delete, the Kubernetes requests they make, and the typed
 * results they answer with.
 */
#include "engine/internal.h"

#include "core/clock.h"
#include "core/json_text.h"
#include "core/log.h"
#include <flyteplugd/mem.h>
#include "engine/build.h"
#include "engine/decorate.h"
#include "engine/volcano.h"

#include <flyteplugd/object.h>
#include <flyteplugd/queue.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A protobuf body past this is left to JSON (which the API server then refuses: its limit on
 * a request body is 3 MiB). */
#define SENT_PB_MAX ((size_t)3 << 20)

struct pending_call *call_new(struct fpd_engine *e, fpd_engine_done_fn done, void *ud)
{
	struct pending_call *c = fpd_calloc(1, sizeof(*c));
	c->engine = e;
	c->done = done;
	c->ud = ud;
	c->next = e->calls;
	e->calls = c;
	return c;
}

void call_free(struct fpd_engine *e, struct pending_call *c)
{
	for (struct pending_call **p = &e->calls; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	if (c->exec)
		exec_release(c->exec);
	free(c);
}

/* Answers c with r, once: later answers (and answers to a caller gone) are dropped. */
static void reply(struct pending_call *c, const struct fpd_engine_result *r)
{
	if (c->done)
		c->done(c->ud, r);
	c->done = NULL;
}

static void call_reply_error(struct pending_call *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void call_reply_error(struct pending_call *c, int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	struct fpd_engine_result r = {.code = code, .message = msg};
	reply(c, &r);
}

static void reply_status(struct pending_call *c, const struct fpd_phase_info *status)
{
	struct fpd_engine_result r = {.code = FPD_OK, .status = status, .outputs = status->outputs};
	reply(c, &r);
}

static void reply_ok(struct pending_call *c)
{
	struct fpd_engine_result r = {.code = FPD_OK};
	reply(c, &r);
}

void fpd_engine_forget(struct fpd_engine *e, void *ud)
{
	for (struct pending_call *c = e->calls; c; c = c->next)
		if (c->ud == ud)
			c->done = NULL;
}

static void hold(struct pending_call *c, struct execution *x)
{
	c->exec = x;
	exec_hold(x);
}

static void meta_of(const struct execution *x, struct fpd_resource_meta *m)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->plugin, sizeof(m->plugin), "%s", x->plugin->name);
	snprintf(m->namespace_, sizeof(m->namespace_), "%s", x->namespace_);
	snprintf(m->name, sizeof(m->name), "%s", x->name);
	/* "-": no object (yet); the entry in memory is all there is. */
	snprintf(m->uid, sizeof(m->uid), "%s", x->uid[0] ? x->uid : "-");
}

/* Answers a create with x's signed resource_meta. */
static void reply_meta(struct fpd_engine *e, struct pending_call *c, struct execution *x)
{
	if (!c->done)
		return;
	struct fpd_resource_meta m;
	char *bytes;
	size_t len;
	struct fpd_error err;
	meta_of(x, &m);
	if (fpd_resource_meta_encode(&m, e->signer, &bytes, &len, &err)) {
		call_reply_error(c, FPD_ERR, "%s", err.text);
		return;
	}
	struct fpd_engine_result r = {
	    .code = FPD_OK, .resource_meta = (const uint8_t *)bytes, .resource_meta_len = len};
	reply(c, &r);
	free(bytes);
}

/* ---- objects just created ---------------------------------------------------------- */

/* The object as created gives x its first status only if the watch has not shown the API
 * server's copy first: x keeps it (x->sent, pending_sent) until a GetTask asks for x
 * (answer_get), the watch or a GET shows the object (exec_observe drops it unobserved), or
 * SENT_WINDOW_S after the first of a batch of creates, when the rest are observed as sent. The
 * watch event of a new object comes within milliseconds: most objects as sent are dropped
 * without being trimmed, judged and serialized (~108,000 of the ~868,000 instructions the
 * daemon spent per create; bench/engine/README.md). */
#define SENT_WINDOW_S 0.25

struct created {
	struct created *next;
	struct execution *x; /* held */
};

/* x->sent is the object as created: observe it at the end of the window unless the API
 * server's copy is observed first. */
static void observe_created(struct fpd_engine *e, struct execution *x)
{
	struct created *c = fpd_calloc(1, sizeof(*c));
	c->x = x;
	exec_hold(x);
	x->pending_sent = true;
	c->next = e->created_head;
	e->created_head = c;
	if (!ev_is_active(&e->created_later)) {
		ev_timer_set(&e->created_later, SENT_WINDOW_S, 0.);
		ev_timer_start(e->loop, &e->created_later);
	}
}

static void drop_created(struct fpd_engine *e, bool observe)
{
	struct created *c = e->created_head;
	e->created_head = NULL;
	while (c) {
		struct created *next = c->next;
		if (observe)
			exec_settle(e, c->x);
		exec_release(c->x);
		free(c);
		c = next;
	}
}

static void on_created_later(struct ev_loop *loop, ev_timer *w, int revents)
{
	drop_created(w->data, true);
}

void calls_init(struct fpd_engine *e)
{
	ev_timer_init(&e->created_later, on_created_later, 0., 0.);
	e->created_later.data = e;
}

void calls_free(struct fpd_engine *e)
{
	ev_timer_stop(e->loop, &e->created_later);
	drop_created(e, false);
	/* Waits on informers are dropped with the informers, freed right after (engine.c). */
	for (struct pending_call *c = e->calls; c; c = c->next)
		fpd_kube_cancel(e->kube, c);
	while (e->calls)
		call_free(e, e->calls);
}

/* ---- CreateTask ---------------------------------------------------------------------- */

static void drop_group(struct fpd_engine *e, struct execution *x);
static void own_group(struct fpd_engine *e, struct execution *x);

static void on_adopt_get(void *ud, const struct fpd_kube_result *res)
{
	struct pending_call *c = ud;
	struct fpd_engine *e = c->engine;
	struct execution *x = c->exec;
	if (res->code == FPD_OK && fpd_identity_matches(res->object, &x->id.ref)) {
		exec_drop_object(x);
		exec_observe(e, x, res->object);
		own_group(e, x);
		fpd_log(FPD_LOG_INFO, "engine", "%s: already exists, adopted", x->key);
	} else if (res->code == FPD_OK) {
		exec_drop_object(x);
		x->state = EXEC_REJECTED;
		exec_set_phase(x, FPD_PHASE_FAILED, "AlreadyExists", FPD_KIND_USER,
		               "an object named %s exists that flyteplugd did not create for this "
		               "task attempt",
		               x->key);
		drop_group(e, x);
	} else {
		/* Gone again between the 409 and the GET: try the create once more later. */
		x->state = EXEC_WAITING_QUOTA;
		x->next_create_ms = fpd_clock_wall_ms() + 1000;
	}
	if (c->done)
		reply_meta(e, c, x);
	call_free(e, c);
}

/* An HTTP 500 for an object the API server's storage will never take: larger than etcd's
 * --max-request-bytes ("etcdserver: request is too large") or than the API server's etcd client
 * sends at all (gRPC ResourceExhausted, "trying to send message larger than max"). The API
 * server answers both as InternalError, like an outage. */
static bool too_large_for_storage(const struct fpd_kube_result *res)
{
	const char *m = res->status.message;
	return res->status.http == 500 && (strstr(m, "etcdserver: request is too large") ||
	                                   (strstr(m, "ResourceExhausted") &&
	                                    strstr(m, "trying to send message larger than max")));
}

static void on_created(void *ud, const struct fpd_kube_result *res)
{
	struct pending_call *c = ud;
	struct fpd_engine *e = c->engine;
	struct execution *x = c->exec;
	if (x->dead) {
		call_free(e, c);
		return;
	}
	if (res->code == FPD_OK) {
		/* The answer is the object's metadata (metadata_only): its uid is all the reply
		 * needs. The object as sent, with that metadata, gives the first status (as the
		 * watch will, maybe sooner), once the reply is out. */
		exec_created(x, fpd_json_str_or(res->object, "metadata.uid", ""));
		/* The caller waits for the uid alone: the reply goes out first. */
		if (c->done)
			reply_meta(e, c, x);
		json_t *meta = json_object_get(res->object, "metadata");
		json_decref(x->sent_meta);
		x->sent_meta = json_is_object(meta) ? json_incref(meta) : NULL;
		observe_created(e, x);
		x->create_backoff_ms = 0;
		own_group(e, x);
		/* Created: queued, also after a wait for quota (whose phase must not outlive
		 * it), unless the watch has already shown more. */
		if (x->phase.phase == FPD_PHASE_UNDEFINED ||
		    (x->phase.code && strcmp(x->phase.code, "ResourceQuotaExceeded") == 0))
			exec_set_phase(x, FPD_PHASE_QUEUED, NULL, FPD_KIND_UNKNOWN,
			               "task submitted to K8s");
		fpd_log(FPD_LOG_INFO, "engine", "%s: created %s (uid %s)", x->key,
		        x->plugin->kind->kind, x->uid);
	} else if (res->code == FPD_EEXIST) {
		/* CreateTask is delivered at least once: adopt only our own object. */
		struct fpd_kube_ref ref = {&x->kind->gvr, x->namespace_, x->name, NULL};
		struct fpd_error err;
		if (fpd_kube_get(e->kube, &ref, on_adopt_get, c, &err) == FPD_AGAIN)
			return;
		call_reply_error(c, FPD_EIO, "%s", err.text);
	} else if (too_large_for_storage(res)) {
		/* etcd refuses the object itself: every retry would be refused the same. */
		exec_create_refused(x, 413, res->status.message, res->err.text,
		                    e->cfg->engine.create_retry_max_ms);
		e->stats.create_errors++;
		fpd_log(FPD_LOG_WARN, "engine", "%s: create refused: %s", x->key, res->err.text);
	} else if (res->status.http == 0 || res->status.http >= 500 || res->status.http == 429) {
		/* The API server is not there (or overloaded): let propeller retry the call. */
		x->state = EXEC_REJECTED;
		call_reply_error(c, FPD_EIO, "creating %s: %s", x->key, res->err.text);
		drop_group(e, x);
		call_free(e, c);
		exec_remove(e, x);
		return;
	} else {
		const char *msg = res->status.message[0] ? res->status.message : res->err.text;
		if (!exec_create_refused(x, res->status.http, msg, res->err.text,
		                         e->cfg->engine.create_retry_max_ms))
			e->stats.create_errors++;
		fpd_log(FPD_LOG_WARN, "engine", "%s: create refused: %s", x->key, res->err.text);
	}
	/* Refused for good (not waiting for quota): the object never will be. */
	if (x->state == EXEC_REJECTED)
		drop_group(e, x);
	if (c->done)
		reply_meta(e, c, x);
	call_free(e, c);
}

void call_post(struct fpd_engine *e, struct execution *x, struct pending_call *c)
{
	struct fpd_kube_ref ref = {&x->kind->gvr, x->namespace_, NULL, NULL};
	struct fpd_kube_write_opts opts = {.metadata_only = true};
	struct fpd_error err;
	x->state = EXEC_CREATING;
	hold(c, x);
	e->stats.creates++;
	/* Kept (and sent again after a wait for quota) as this body: the tree goes as soon as
	 * the POST is on its way, while still in the CPU's caches. A pod goes in protobuf where
	 * the client encodes it, anything else as JSON text. */
	json_t *built = x->pending;
	x->pending = NULL;
	if (built) {
		free(x->sent);
		x->sent = NULL;
		struct fpd_error perr;
		int prc = fpd_kube_encode_create(e->kube, &ref, built, SENT_PB_MAX, &x->sent,
		                                 &x->sent_len, &perr);
		x->sent_pb = prc == FPD_OK;
		if (!x->sent_pb) {
			if (prc != FPD_ENOENT)
				fpd_log(FPD_LOG_DEBUG, "engine", "%s: sent as JSON: %s", x->key,
				        perr.text);
			x->sent = fpd_json_text(built, false, &x->sent_len);
		}
	}
	int rc = !x->sent   ? fpd_error_set(&err, FPD_EINVAL, "%s: the object cannot be serialised",
	                                    x->key)
	         : x->sent_pb ? fpd_kube_create_protobuf(e->kube, &ref, x->sent, x->sent_len, &opts,
	                                                 on_created, c, &err)
	                      : fpd_kube_create_text(e->kube, &ref, x->sent, x->sent_len, &opts,
	                                             on_created, c, &err);
	if (rc == FPD_AGAIN && x->sent_pb)
		e->stats.create_bodies_protobuf++;
	else if (rc == FPD_AGAIN)
		e->stats.create_bodies_json++;
	json_decref(built);
	if (rc != FPD_AGAIN) {
		call_reply_error(c, FPD_EIO, "%s", err.text);
		drop_group(e, x);
		call_free(e, c);
		exec_remove(e, x);
	}
}

/* ---- Volcano's PodGroup (engine/volcano.h): created first, deleted with the object ---- */

static void note_poll(struct fpd_engine *e, struct execution *x);
static void answer_get(struct fpd_engine *e, struct pending_call *c, struct execution *x);

static void on_group_deleted(void *ud, const struct fpd_kube_result *res)
{
	struct pending_call *c = ud;
	if (res->code == FPD_OK)
		fpd_log(FPD_LOG_INFO, "engine", "%s/%s: Volcano PodGroup deleted",
		        c->meta.namespace_, c->meta.name);
	else if (res->code != FPD_ENOENT)
		fpd_log(FPD_LOG_WARN, "engine", "%s/%s: deleting Volcano PodGroup: %s",
		        c->meta.namespace_, c->meta.name, res->err.text);
	call_free(c->engine, c);
}

/* Deletes the PodGroup ns/name whose uid is group_uid: the precondition leaves a group made
 * since under that name alone. */
static void delete_group_uid(struct fpd_engine *e, const char *ns, const char *name,
                             const char *group_uid)
{
	struct fpd_kube_gvr gvr;
	struct fpd_error err;
	if (fpd_volcano_gvr(&gvr, &err))
		return;
	struct pending_call *c = call_new(e, NULL, NULL);
	snprintf(c->meta.namespace_, sizeof(c->meta.namespace_), "%s", ns);
	snprintf(c->meta.name, sizeof(c->meta.name), "%s", name);
	snprintf(c->meta.uid, sizeof(c->meta.uid), "%s", group_uid);
	struct fpd_kube_ref ref = {&gvr, ns, name, NULL};
	struct fpd_kube_delete_opts opts = {
	    .uid = c->meta.uid, .propagation = FPD_KUBE_PROPAGATE_BACKGROUND, .grace_period_s = -1};
	if (fpd_kube_delete(e->kube, &ref, &opts, on_group_deleted, c, &err) != FPD_AGAIN) {
		fpd_log(FPD_LOG_WARN, "engine", "%s/%s: deleting Volcano PodGroup: %s", ns, name,
		        err.text);
		call_free(e, c);
	}
}

/* Deletes the PodGroup x created when its object never will be (refused, failed, aborted). */
static void drop_group(struct fpd_engine *e, struct execution *x)
{
	if (!x->group_uid)
		return;
	delete_group_uid(e, x->namespace_, x->name, x->group_uid);
	free(x->group_uid);
	x->group_uid = NULL;
}

static void on_group_owned(void *ud, const struct fpd_kube_result *res)
{
	struct pending_call *c = ud;
	if (res->code != FPD_OK)
		fpd_log(FPD_LOG_WARN, "engine",
		        "%s: making the object own its Volcano PodGroup: %s", c->exec->key,
		        res->err.text);
	call_free(c->engine, c);
}

/* Makes x's object (created, x->uid) the owner of x's PodGroup: Kubernetes' garbage collector
 * then deletes the group with the object on every path, also those flyteplugd does not see.
 * The group's uid in the patch makes it fail on a group that replaced ours. */
static void own_group(struct fpd_engine *e, struct execution *x)
{
	struct fpd_kube_gvr gvr;
	struct fpd_error err;
	if (!x->group_uid || !x->uid[0] || fpd_volcano_gvr(&gvr, &err))
		return;
	json_t *patch =
	    json_pack("{s:{s:s, s:[{s:s, s:s, s:s, s:s}]}}", "metadata", "uid", x->group_uid,
	              "ownerReferences", "apiVersion", x->plugin->kind->api_version, "kind",
	              x->plugin->kind->kind, "name", x->name, "uid", x->uid);
	struct fpd_kube_ref ref = {&gvr, x->namespace_, x->name, NULL};
	struct pending_call *c = call_new(e, NULL, NULL);
	hold(c, x);
	if (fpd_kube_patch(e->kube, &ref, FPD_KUBE_PATCH_MERGE, patch, NULL, on_group_owned, c,
	                   &err) != FPD_AGAIN) {
		fpd_log(FPD_LOG_WARN, "engine",
		        "%s: making the object own its Volcano PodGroup: %s", x->key, err.text);
		call_free(e, c);
	}
	json_decref(patch);
}

/* Is group the PodGroup of the object of uid obj_uid? Owned by it, or not owned by any object
 * yet and the group x (the entry of that object, or NULL) created or copied its identity.
 * obj_uid "-": the object was never created and flyteplugd has no entry of it (it restarted
 * while the object waited for quota): a group of the attempt's name that no object owns and
 * that flyteplugd made (its label and identity annotation) can be of no other object. */
static bool group_of(const json_t *group, const char *obj_uid, const struct execution *x)
{
	const json_t *owners = fpd_json_get(group, "metadata.ownerReferences");
	if (strcmp(obj_uid, "-") == 0) {
		const char *by = json_string_value(
		    json_object_get(fpd_json_get(group, "metadata.labels"), FPD_LABEL_MANAGED_BY));
		return !json_array_size(owners) && by && !strcmp(by, FPD_MANAGED_BY) &&
		       json_is_string(json_object_get(fpd_json_get(group, "metadata.annotations"),
		                                      FPD_ANNOTATION_IDENTITY));
	}
	for (size_t i = 0; i < json_array_size(owners); i++)
		if (!strcmp(fpd_json_str_or(json_array_get(owners, i), "uid", ""), obj_uid))
			return true;
	if (json_array_size(owners) || !x || strcmp(x->uid, obj_uid) != 0)
		return false;
	if (x->group_uid)
		return !strcmp(x->group_uid, fpd_json_str_or(group, "metadata.uid", ""));
	return fpd_identity_matches(group, &x->id.ref);
}

static void on_group_checked(void *ud, const struct fpd_kube_result *res)
{
	struct pending_call *c = ud;
	struct fpd_engine *e = c->engine;
	const struct execution *x = c->exec && !c->exec->dead ? c->exec : NULL;
	if (res->code == FPD_OK && group_of(res->object, c->meta.uid, x))
		delete_group_uid(e, c->meta.namespace_, c->meta.name,
		                 fpd_json_str_or(res->object, "metadata.uid", ""));
	else if (res->code == FPD_OK)
		fpd_log(FPD_LOG_INFO, "engine",
		        "%s/%s: the Volcano PodGroup is not the one of object uid %s, left alone",
		        c->meta.namespace_, c->meta.name, c->meta.uid);
	else if (res->code != FPD_ENOENT)
		fpd_log(FPD_LOG_WARN, "engine", "%s/%s: reading Volcano PodGroup: %s",
		        c->meta.namespace_, c->meta.name, res->err.text);
	call_free(e, c);
}

void call_delete_group(struct fpd_engine *e, struct execution *x, const char *ns, const char *name,
                       const char *obj_uid)
{
	struct fpd_kube_gvr gvr;
	struct fpd_error err;
	if (!obj_uid[0] || (!(x && x->group_uid) && !fpd_volcano_applies(&e->cfg->settings, ns)) ||
	    fpd_volcano_gvr(&gvr, &err))
		return;
	struct pending_call *c = call_new(e, NULL, NULL);
	snprintf(c->meta.namespace_, sizeof(c->meta.namespace_), "%s", ns);
	snprintf(c->meta.name, sizeof(c->meta.name), "%s", name);
	snprintf(c->meta.uid, sizeof(c->meta.uid), "%s", obj_uid);
	if (x)
		hold(c, x);
	struct fpd_kube_ref ref = {&gvr, ns, name, NULL};
	if (fpd_kube_get(e->kube, &ref, on_group_checked, c, &err) != FPD_AGAIN) {
		fpd_log(FPD_LOG_WARN, "engine", "%s/%s: reading Volcano PodGroup: %s", ns, name,
		        err.text);
		call_free(e, c);
	}
}

/* The group create failed, or was answered after a DeleteTask: x ends, nothing of it stays. */
static void group_create_failed(struct fpd_engine *e, struct pending_call *c, struct execution *x,
                                bool transient, const char *why)
{
	x->state = EXEC_REJECTED;
	e->stats.create_errors++;
	fpd_log(FPD_LOG_WARN, "engine", "%s: creating Volcano PodGroup: %s", x->key, why);
	call_reply_error(c, transient ? FPD_EIO : FPD_EINVAL,
	                 "creating Volcano PodGroup %s/%s for the task, nothing was created: %s",
	                 x->namespace_, x->name, why);
	drop_group(e, x);
	call_free(e, c);
	exec_remove(e, x);
}

/* The group is x's (created, or adopted): the object is next, unless DeleteTask came first. */
static void group_ready(struct fpd_engine *e, struct pending_call *c, struct execution *x,
                        const json_t *group)
{
	free(x->group_uid);
	x->group_uid = fpd_strdup(fpd_json_str_or(group, "metadata.uid", ""));
	if (x->aborted) {
		group_create_failed(e, c, x, false, "aborted by DeleteTask");
		return;
	}
	c->exec = NULL;
	call_post(e, x, c);
	exec_release(x);
}

static void on_group_adopt_get(void *ud, const struct fpd_kube_result *res)
{
	struct pending_call *c = ud;
	struct fpd_engine *e = c->engine;
	struct execution *x = c->exec;
	if (x->dead) {
		call_free(e, c);
		return;
	}
	if (res->code == FPD_OK && fpd_identity_matches(res->object, &x->id.ref)) {
		fpd_log(FPD_LOG_INFO, "engine", "%s: Volcano PodGroup already exists, adopted",
		        x->key);
		group_ready(e, c, x, res->object);
		return;
	}
	if (res->code != FPD_OK) {
		group_create_failed(e, c, x, true, res->err.text);
		return;
	}
	/* Another's group: the task's pods would join it (its queue, its minMember). */
	exec_drop_object(x);
	x->state = EXEC_REJECTED;
	exec_set_phase(x, FPD_PHASE_FAILED, "AlreadyExists", FPD_KIND_USER,
	               "a Volcano PodGroup named %s exists that flyteplugd did not create for this "
	               "task attempt, nothing was created",
	               x->key);
	fpd_log(FPD_LOG_WARN, "engine", "%s: a foreign Volcano PodGroup has the attempt's name",
	        x->key);
	reply_meta(e, c, x);
	call_free(e, c);
}

static void on_group_created(void *ud, const struct fpd_kube_result *res)
{
	struct pending_call *c = ud;
	struct fpd_engine *e = c->engine;
	struct execution *x = c->exec;
	if (x->dead) {
		call_free(e, c);
		return;
	}
	if (res->code == FPD_OK) {
		group_ready(e, c, x, res->object);
		return;
	}
	struct fpd_error err;
	if (res->code == FPD_EEXIST && x->aborted) {
		group_create_failed(e, c, x, false, "aborted by DeleteTask");
		return;
	}
	if (res->code == FPD_EEXIST) {
		/* A repeated CreateTask, or someone else's group: adopt only our own. */
		struct fpd_kube_gvr gvr;
		struct fpd_kube_ref ref = {&gvr, x->namespace_, x->name, NULL};
		if (!fpd_volcano_gvr(&gvr, &err) &&
		    fpd_kube_get(e->kube, &ref, on_group_adopt_get, c, &err) == FPD_AGAIN)
			return;
		group_create_failed(e, c, x, true, err.text);
		return;
	}
	group_create_failed(
	    e, c, x, res->status.http == 0 || res->status.http >= 500 || res->status.http == 429,
	    res->status.message[0] ? res->status.message : res->err.text);
}

/* POSTs group (borrowed), then x's object through call_post. */
static void call_post_group(struct fpd_engine *e, struct execution *x, struct pending_call *c,
                            json_t *group)
{
	struct fpd_kube_gvr gvr;
	struct fpd_error err;
	x->state = EXEC_CREATING;
	hold(c, x);
	struct fpd_kube_ref ref = {&gvr, x->namespace_, NULL, NULL};
	struct fpd_kube_write_opts opts = {.metadata_only = true};
	if (fpd_volcano_gvr(&gvr, &err) ||
	    fpd_kube_create(e->kube, &ref, group, &opts, on_group_created, c, &err) != FPD_AGAIN) {
		call_reply_error(c, FPD_EIO, "%s", err.text);
		call_free(e, c);
		exec_remove(e, x);
	}
}

static void on_group_fetched(void *ud, const struct fpd_kube_result *res)
{
	struct pending_call *c = ud;
	struct fpd_engine *e = c->engine;
	struct execution *x = c->exec;
	struct fpd_phase_info waiting = {0};
	/* The wait keeps the object's log links (those shown while pending). */
	if (!x->dead && res->code == FPD_OK)
		fpd_phase_info_copy(&waiting, &x->phase);
	if (!x->dead && res->code == FPD_OK && fpd_volcano_status(res->object, &waiting)) {
		x->last_poll_ms = fpd_clock_wall_ms();
		note_poll(e, x);
		reply_status(c, &waiting);
	} else if (!x->dead) {
		answer_get(e, c, x);
	} else {
		call_reply_error(c, FPD_EIO, "%s/%s: forgotten while answering", x->namespace_,
		                 x->name);
	}
	fpd_phase_info_clear(&waiting);
	call_free(e, c);
}

/* GetTask of an object not running yet under queueing.volcano: its PodGroup may say why.
 * Returns true when c is answered later (on_group_fetched). */
static bool get_group(struct fpd_engine *e, struct pending_call *c, struct execution *x)
{
	struct fpd_kube_gvr gvr;
	struct fpd_error err;
	if ((x->phase.phase != FPD_PHASE_QUEUED && x->phase.phase != FPD_PHASE_INITIALIZING) ||
	    !fpd_volcano_applies(&e->cfg->settings, x->namespace_) || fpd_volcano_gvr(&gvr, &err))
		return false;
	struct fpd_kube_ref ref = {&gvr, x->namespace_, x->name, NULL};
	hold(c, x);
	if (fpd_kube_get(e->kube, &ref, on_group_fetched, c, &err) == FPD_AGAIN)
		return true;
	c->exec = NULL;
	exec_release(x);
	return false;
}

static const struct fpd_build_env *build_env(const struct fpd_engine *e, struct fpd_build_env *env)
{
	*env = (struct fpd_build_env){e->cfg, e->registry, e->psettings, e->policy};
	return env;
}

void fpd_engine_create(struct fpd_engine *e, const struct fpd_task_request *req,
                       fpd_engine_done_fn done, void *ud)
{
	struct pending_call *c = call_new(e, done, ud);
	struct fpd_build_env env;
	struct fpd_built b;
	struct fpd_error err;
	fpd_error_clear(&err);
	int rc = fpd_build(build_env(e, &env), req, &b, &err);
	if (rc) {
		call_reply_error(c, rc, "%s", err.text);
		call_free(e, c);
		return;
	}
	const struct fpd_prepared *p = &b.prepared;
	struct execution *x = exec_find(e, p->namespace_, p->generated_name);
	if (x && x->state != EXEC_GONE) {
		/* A repeated CreateTask for an attempt already under way: the same answer, no
		 * second POST. (While the first POST is in flight the answer has no uid yet; the
		 * entry in memory still resolves it.) */
		reply_meta(e, c, x);
		call_free(e, c);
		fpd_built_free(&b);
		return;
	}
	if (x)
		exec_remove(e, x);
	x = exec_new(e, b.plugin, kinds_for(e, b.plugin), p->namespace_, p->generated_name);
	exec_set_ref(x, &p->task.ref);
	if (b.object) {
		x->pending = b.object;
		b.object = NULL;
		if (b.podgroup)
			call_post_group(e, x, c, b.podgroup);
		else
			call_post(e, x, c);
	} else {
		/* The plugin or the Pod Security check refused: the attempt fails permanently, as
		 * in Flyte (an error answer would be retried by propeller as a user error). */
		x->state = EXEC_REJECTED;
		if (b.pod_security)
			exec_set_phase(x, FPD_PHASE_FAILED, "PodSecurityViolation", FPD_KIND_USER,
			               "refused by policy.pod_security, nothing was created: %s",
			               err.text);
		else
			exec_set_phase(x, FPD_PHASE_FAILED, "FailedToBuildResource", FPD_KIND_USER,
			               "could not build resource for task: %s", err.text);
		reply_meta(e, c, x);
		call_free(e, c);
	}
	fpd_built_free(&b);
}

/* ---- GetTask ------------------------------------------------------------------------- */

/* Decodes and verifies resource_meta (signature, then policy: a namespace this daemon serves)
 * and finds its plugin; replies with the error itself on failure. */
static int verify_meta(struct fpd_engine *e, struct pending_call *c, const struct fpd_meta *meta,
                       const struct fpd_plugin **plugin)
{
	struct fpd_error err;
	int rc = fpd_resource_meta_decode(meta->data, meta->len, e->signer, &c->meta, &err);
	if (rc) {
		call_reply_error(c, rc, "%s", err.text);
		return rc;
	}
	/* Signed by this deployment is not enough: the namespace must be one this daemon serves
	 * (a replica with a narrower namespaces.watch, a configuration changed since). */
	const struct fpd_strings *watch = &e->cfg->namespaces.watch;
	if (watch->count && !fpd_strings_contains(watch, c->meta.namespace_)) {
		call_reply_error(c, FPD_EPERM,
		                 "namespace \"%s\" is not one flyteplugd serves (namespaces.watch)",
		                 c->meta.namespace_);
		return FPD_EPERM;
	}
	/* The namespace rule of the caller policy again: a namespace refused since. */
	if (fpd_policy_check_access(e->policy, c->meta.namespace_, &err)) {
		fpd_log(FPD_LOG_WARN, "engine", "policy: refused access to %s/%s: %s",
		        c->meta.namespace_, c->meta.name, err.text);
		call_reply_error(c, FPD_EPERM, "%s", err.text);
		return FPD_EPERM;
	}
	*plugin = fpd_registry_by_name(e->registry, c->meta.plugin);
	if (!*plugin) {
		/* A declared type withdrawn since: its running tasks are still followed and can
		 * still be deleted, through the descriptor their entry keeps. */
		const struct execution *x = exec_find(e, c->meta.namespace_, c->meta.name);
		if (x && !strcmp(x->plugin->name, c->meta.plugin))
			*plugin = x->plugin;
	}
	if (!*plugin) {
		call_reply_error(c, FPD_EINVAL, "plugin \"%s\" of this task is not enabled",
		                 c->meta.plugin);
		return FPD_EINVAL;
	}
	return FPD_OK;
}

/* A retryable SYSTEM failure for an attempt flyteplugd has no entry for. */
static void reply_system_failure(struct pending_call *c, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void reply_system_failure(struct pending_call *c, const char *code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	struct fpd_phase_info pi = {0};
	fpd_phase_set(&pi, FPD_PHASE_RETRYABLE_FAILED, code, msg);
	pi.kind = FPD_KIND_SYSTEM;
	reply_status(c, &pi);
	fpd_phase_info_clear(&pi);
}

static void on_poll_noted(void *ud, const struct fpd_kube_result *res)
{
	struct pending_call *c = ud;
	struct execution *x = c->exec;
	x->poll_noting = false;
	if (res->code == FPD_OK && x->last_poll_ms > x->noted_poll_ms)
		x->noted_poll_ms = x->last_poll_ms; /* the watch event brings the same */
	else if (res->code != FPD_OK)
		fpd_log(FPD_LOG_DEBUG, "engine", "%s: recording the last poll: %s", x->key,
		        res->err.text);
	call_free(c->engine, c);
}

/* Records a poll on the object, for the replica that sweeps orphans (it may never see this
 * replica's polls): at most every engine.orphan_after / 4 per object, so a task polled as
 * propeller polls never looks older than 3/4 of orphan_after to the sweeper. The object's
 * uid in the patch makes it fail on an object that replaced ours. */
static void note_poll(struct fpd_engine *e, struct execution *x)
{
	if (x->state != EXEC_ACTIVE || x->deleting || x->poll_noting || !x->uid[0] ||
	    fpd_phase_is_terminal(x->phase.phase) ||
	    x->last_poll_ms - x->noted_poll_ms < e->cfg->engine.orphan_after_ms / 4)
		return;
	char when[40];
	fpd_clock_format_rfc3339(x->last_poll_ms, when, sizeof(when));
	json_t *patch = json_pack("{s:{s:s, s:{s:s}}}", "metadata", "uid", x->uid, "annotations",
	                          FPD_ANNOTATION_LAST_POLL, when);
	struct fpd_kube_ref ref = {&x->kind->gvr, x->namespace_, x->name, NULL};
	struct pending_call *c = call_new(e, NULL, NULL);
	hold(c, x);
	x->poll_noting = true;
	struct fpd_error err;
	if (fpd_kube_patch(e->kube, &ref, FPD_KUBE_PATCH_MERGE, patch, NULL, on_poll_noted, c,
	                   &err) != FPD_AGAIN) {
		x->poll_noting = false;
		call_free(e, c);
	}
	json_decref(patch);
}

static void answer_get(struct fpd_engine *e, struct pending_call *c, struct execution *x)
{
	exec_settle(e, x);
	x->last_poll_ms = fpd_clock_wall_ms();
	note_poll(e, x);
	if (x->phase.recheck_at_ms && x->phase.recheck_at_ms <= x->last_poll_ms)
		exec_recompute(e, x);
	reply_status(c, &x->phase);
}

/* A GetTask call on a cache miss may wait for the informer's list and GET its object at the
 * same time (get_wait): it is freed once neither is outstanding. */
static void get_settle(struct fpd_engine *e, struct pending_call *c)
{
	if (!c->waiting && !c->fetching)
		call_free(e, c);
}

static void on_get_fetched(void *ud, const struct fpd_kube_result *res)
{
	struct pending_call *c = ud;
	struct fpd_engine *e = c->engine;
	c->fetching = false;
	const struct fpd_plugin *plugin = fpd_registry_by_name(e->registry, c->meta.plugin);
	struct execution *x = exec_find(e, c->meta.namespace_, c->meta.name);
	if (!x && res->code == FPD_OK && plugin) {
		x = exec_new(e, plugin, kinds_for(e, plugin), c->meta.namespace_, c->meta.name);
		if (exec_ref_from_object(x, res->object) < 0)
			fpd_log(FPD_LOG_WARN, "engine", "%s: no identity annotation", x->key);
		exec_observe(e, x, res->object);
	}
	if (x && strcmp(x->uid, c->meta.uid) == 0) {
		answer_get(e, c, x);
	} else if (res->code == FPD_OK || res->code == FPD_ENOENT) {
		/* Flyte's rule for a missing object: a system failure, retried by Flyte. */
		reply_system_failure(c, "ResourceDeletedExternally",
		                     "resource not found, name [%s/%s]", c->meta.namespace_,
		                     c->meta.name);
	} else {
		call_reply_error(c, FPD_EIO, "%s", res->err.text);
	}
	get_settle(e, c);
}

/* The cache-miss GET (read budget). Answers c with an error when it cannot be sent. */
static void get_fetch(struct fpd_engine *e, struct pending_call *c, struct watched_kind *k)
{
	struct fpd_kube_ref ref = {&k->gvr, c->meta.namespace_, c->meta.name, NULL};
	struct fpd_error err;
	e->stats.get_fetches++;
	if (fpd_kube_get(e->kube, &ref, on_get_fetched, c, &err) == FPD_AGAIN) {
		c->fetching = true;
		return;
	}
	call_reply_error(c, FPD_EIO, "%s", err.text);
}

static void on_get_waited(void *ud, const struct fpd_kube_obj *obj);

/* Waits for k's informer to deliver c's object, at most timeout_ms; true when c waits. */
static bool get_wait_for(struct pending_call *c, struct watched_kind *k, int64_t timeout_ms)
{
	struct fpd_error err;
	if (fpd_kube_informer_wait(k->informer, c->meta.namespace_, c->meta.name, timeout_ms,
	                           on_get_waited, c, &err) != FPD_AGAIN)
		return false; /* cached now, but not as this task's object */
	c->waiting = k;
	return true;
}

/* GETs c's object (read budget) and waits for the list's delivery as well: c is answered by
 * whichever comes first, and waits no longer than the GET may take. */
static void get_fetch_and_wait(struct fpd_engine *e, struct pending_call *c,
                               struct watched_kind *k)
{
	get_fetch(e, c, k);
	if (!c->fetching || !get_wait_for(c, k, e->cfg->kubernetes.request_timeout_ms))
		get_settle(e, c);
}

/* The wait of get_wait ended: obj is the object the list (or a watch event) delivered, or
 * NULL when the list completed without it or the wait's time passed first. */
static void on_get_waited(void *ud, const struct fpd_kube_obj *obj)
{
	struct pending_call *c = ud;
	struct fpd_engine *e = c->engine;
	struct watched_kind *k = c->waiting;
	c->waiting = NULL;
	bool synced = fpd_kube_informer_synced(k->informer);
	/* The informer built the entry from the object before it called. */
	struct execution *x = exec_find(e, c->meta.namespace_, c->meta.name);
	if (x && strcmp(x->uid, c->meta.uid) == 0) {
		if (c->fetching) {
			/* Its GET, maybe still queued for a token, is not needed any more. */
			fpd_kube_cancel(e->kube, c);
			c->fetching = false;
		}
		if (c->done) {
			e->stats.get_waits_delivered++;
			answer_get(e, c, x);
		}
		call_free(e, c);
		return;
	}
	if (c->fetching || !c->done) {
		get_settle(e, c); /* the GET answers (or has answered) */
		return;
	}
	if (!obj && !synced) {
		/* unlisted_wait passed: GET it too. */
		e->stats.get_waits_timed_out++;
		get_fetch_and_wait(e, c, k);
		return;
	}
	if (!obj)
		e->stats.get_waits_unlisted++;
	/* Not listed, or another object of that name: as without the wait. */
	get_fetch(e, c, k);
	get_settle(e, c);
}

/* After a restart, a GetTask call for an object the informer's first list has not delivered
 * yet is answered when the list delivers it, without waiting for a GET of its own behind the
 * rate limit. Only while that list runs. The call also GETs its object (read budget) once it
 * has waited engine.unlisted_wait (0: at once) and is answered by whichever comes first; a
 * delivery cancels a GET still queued for a token, so GETs of listed objects never run past
 * the list. True when c is taken care of (on_get_waited or on_get_fetched answers it). */
static bool get_wait(struct fpd_engine *e, struct pending_call *c, struct watched_kind *k)
{
	int64_t wait_ms = e->cfg->engine.unlisted_wait_ms;
	if (!k->informer || fpd_kube_informer_synced(k->informer))
		return false;
	if (wait_ms > 0)
		return get_wait_for(c, k, wait_ms);
	get_fetch_and_wait(e, c, k);
	return true;
}

void fpd_engine_get(struct fpd_engine *e, const struct fpd_meta *meta, fpd_engine_done_fn done,
                    void *ud)
{
	struct pending_call *c = call_new(e, done, ud);
	e->stats.gets++;
	const struct fpd_plugin *plugin;
	if (verify_meta(e, c, meta, &plugin) != FPD_OK) {
		call_free(e, c);
		return;
	}
	struct execution *x = exec_find(e, c->meta.namespace_, c->meta.name);
	if (x && (strcmp(c->meta.uid, "-") == 0 || strcmp(x->uid, c->meta.uid) == 0)) {
		if (get_group(e, c, x))
			return;
		answer_get(e, c, x);
	} else if (strcmp(c->meta.uid, "-") == 0) {
		reply_system_failure(c, "CreateLost",
		                     "flyteplugd restarted before the object for this "
		                     "attempt could be created; Flyte will retry the task");
		/* The attempt ends here: the group made for its object goes. */
		call_delete_group(e, NULL, c->meta.namespace_, c->meta.name, "-");
	} else {
		/* Not in the cache: a restart, or created a moment ago by another replica. */
		struct watched_kind *k = kinds_for(e, plugin);
		if (!x && get_wait(e, c, k))
			return;
		get_fetch(e, c, k);
		get_settle(e, c);
		return;
	}
	call_free(e, c);
}

void calls_unwait(struct fpd_engine *e, struct watched_kind *k)
{
	/* A call may be freed: take the next one first. */
	for (struct pending_call *c = e->calls, *next; c; c = next) {
		next = c->next;
		if (c->waiting != k)
			continue;
		c->waiting = NULL;
		if (!c->fetching && c->done)
			get_fetch(e, c, k);
		get_settle(e, c);
	}
}

/* ---- DeleteTask and deletions -------------------------------------------------------- */

static void on_finalizer_removed(void *ud, const struct fpd_kube_result *res)
{
	struct pending_call *c = ud;
	c->exec->finalizer_removing = false;
	if (res->code != FPD_OK && res->code != FPD_ENOENT)
		fpd_log(FPD_LOG_WARN, "engine", "%s: removing finalizer: %s (retried later)",
		        c->exec->key, res->err.text);
	call_free(c->engine, c);
}

/* Removes flyteplugd's finalizer with a JSON patch that tests its position first, so a
 * concurrent change of the list makes the patch fail instead of removing the wrong entry. */
void call_remove_finalizer(struct fpd_engine *e, struct execution *x, const json_t *obj)
{
	const json_t *fins = fpd_json_get(obj, "metadata.finalizers");
	size_t i;
	const json_t *f;
	if (x->finalizer_removing)
		return;
	json_array_foreach(fins, i, f)
	{
		if (strcmp(json_string_value(f) ? json_string_value(f) : "", FPD_FINALIZER) != 0)
			continue;
		char path[64];
		snprintf(path, sizeof(path), "/metadata/finalizers/%zu", i);
		json_t *patch =
		    json_pack("[{s:s, s:s, s:s}, {s:s, s:s}]", "op", "test", "path", path, "value",
		              FPD_FINALIZER, "op", "remove", "path", path);
		struct fpd_kube_ref ref = {&x->kind->gvr, x->namespace_, x->name, NULL};
		struct pending_call *c = call_new(e, NULL, NULL);
		hold(c, x);
		x->finalizer_removing = true;
		struct fpd_error err;
		if (fpd_kube_patch(e->kube, &ref, FPD_KUBE_PATCH_JSON, patch, NULL,
		                   on_finalizer_removed, c, &err) != FPD_AGAIN) {
			x->finalizer_removing = false;
			call_free(e, c);
		}
		json_decref(patch);
		return;
	}
}

static void on_deleted(void *ud, const struct fpd_kube_result *res)
{
	struct pending_call *c = ud;
	struct fpd_engine *e = c->engine;
	struct execution *x = c->exec;
	/* 404: already gone; 409: the uid precondition failed, the object is another one. */
	bool ok = res->code == FPD_OK || res->code == FPD_ENOENT || res->status.http == 409;
	if (res->code == FPD_OK)
		fpd_log(FPD_LOG_INFO, "engine", "%s/%s: deleted", c->meta.namespace_, c->meta.name);
	else if (res->code == FPD_ENOENT)
		fpd_log(FPD_LOG_INFO, "engine", "%s/%s: delete: already gone", c->meta.namespace_,
		        c->meta.name);
	else if (ok)
		fpd_log(FPD_LOG_INFO, "engine",
		        "%s/%s: delete: the object is another one (uid %s "
		        "differs), left alone",
		        c->meta.namespace_, c->meta.name, c->meta.uid);
	else
		fpd_log(FPD_LOG_WARN, "engine", "%s/%s: delete failed: %s", c->meta.namespace_,
		        c->meta.name, res->err.text);
	if (x && !x->dead) {
		x->deleting = ok;
		if (res->code == FPD_OK && res->object)
			call_remove_finalizer(e, x, res->object);
		if (res->code == FPD_ENOENT) {
			x->state = EXEC_GONE;
			x->gone_ms = fpd_clock_wall_ms();
		}
	}
	/* The object is (being) deleted: its group goes too. Not after a 409, when the object
	 * of that name is another one, whose group this is. */
	if (res->code == FPD_OK || res->code == FPD_ENOENT)
		call_delete_group(e, x && !x->dead ? x : NULL, c->meta.namespace_, c->meta.name,
		                  c->meta.uid);
	if (c->done) {
		if (ok)
			reply_ok(c);
		else
			call_reply_error(c, FPD_EIO, "%s", res->err.text);
	}
	call_free(e, c);
}

static void delete_request(struct fpd_engine *e, struct pending_call *c, struct execution *x,
                           const struct fpd_kube_gvr *gvr)
{
	struct fpd_kube_ref ref = {gvr, c->meta.namespace_, c->meta.name, NULL};
	struct fpd_kube_delete_opts opts = {
	    .uid = c->meta.uid, .propagation = FPD_KUBE_PROPAGATE_BACKGROUND, .grace_period_s = -1};
	struct fpd_error err;
	if (x)
		hold(c, x);
	if (fpd_kube_delete(e->kube, &ref, &opts, on_deleted, c, &err) != FPD_AGAIN) {
		call_reply_error(c, FPD_EIO, "%s", err.text);
		call_free(e, c);
	}
}

void call_delete_object(struct fpd_engine *e, struct execution *x, const char *why)
{
	if (x->deleting || !x->uid[0])
		return;
	fpd_log(FPD_LOG_INFO, "engine", "%s: deleting (%s)", x->key, why);
	struct pending_call *c = call_new(e, NULL, NULL);
	meta_of(x, &c->meta);
	x->deleting = true;
	delete_request(e, c, x, &x->kind->gvr);
}

void fpd_engine_delete(struct fpd_engine *e, const struct fpd_meta *meta, fpd_engine_done_fn done,
                       void *ud)
{
	struct pending_call *c = call_new(e, done, ud);
	e->stats.deletes++;
	const struct fpd_plugin *plugin;
	if (verify_meta(e, c, meta, &plugin)) {
		call_free(e, c);
		return;
	}
	fpd_log(FPD_LOG_INFO, "engine", "%s/%s: DeleteTask (uid %s)", c->meta.namespace_,
	        c->meta.name, c->meta.uid);
	struct execution *x = exec_find(e, c->meta.namespace_, c->meta.name);
	if (x) {
		x->aborted = true;
		if (!fpd_phase_is_terminal(x->phase.phase))
			exec_set_phase(x, FPD_PHASE_ABORTED, "Aborted", FPD_KIND_USER,
			               "aborted by DeleteTask");
	}
	if (strcmp(c->meta.uid, "-") == 0) {
		/* Never created (or still waiting for quota): nothing to delete in Kubernetes. */
		fpd_log(FPD_LOG_INFO, "engine", "%s/%s: delete: never created, nothing to delete",
		        c->meta.namespace_, c->meta.name);
		/* Its group may exist while its object waits for quota. (During the group's
		 * POST, on_group_created deletes it.) */
		if (x && x->state != EXEC_CREATING) {
			drop_group(e, x);
			exec_remove(e, x);
		} else if (!x) {
			/* Made before a restart that lost the entry. */
			call_delete_group(e, NULL, c->meta.namespace_, c->meta.name, "-");
		}
		reply_ok(c);
		call_free(e, c);
		return;
	}
	if (x)
		x->deleting = true;
	delete_request(e, c, x, &kinds_for(e, plugin)->gvr);
}
