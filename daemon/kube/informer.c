/* List+watch with a compact cache, following client-go's reflector: see informer.h. */
#include "kube/informer.h"

#include <flyteplugd/buf.h>
#include "core/clock.h"
#include "core/json_text.h"
#include "core/log.h"
#include "core/map.h"
#include <flyteplugd/mem.h>
#include "kube/backoff.h"
#include "kube/http.h"
#include "kube/kubepb.h"
#include "kube/prune.h"
#include "kube/stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG "kube"
#define RV_MAX 128
#define PATH_MAX_LEN 8192
#define WATCH_MARGIN_MS 30000 /* client timeout past the server's timeoutSeconds */
#define SHORT_WATCH_MS 1000   /* client-go VeryShortWatchError */
#define FIELD_MAX (64 * 1024)
#define WATCH_LIST_IDLE_MS 10000 /* silence before the end bookmark that means "unsupported" */
#define INITIAL_EVENTS_END "k8s.io/initial-events-end"
/* As client-go asks: protobuf where the server has it, JSON otherwise (CRDs). */
#define ACCEPT_LIST FPD_KUBEPB_MEDIA ", application/json"
#define ACCEPT_WATCH FPD_KUBEPB_MEDIA ";stream=watch, application/json"

/* How an answer's body is encoded: known from its Content-Type when its first bytes arrive. */
enum encoding { ENC_UNKNOWN, ENC_JSON, ENC_PROTOBUF };

enum step { STEP_LIST, STEP_WATCH };

struct fpd_kube_proj {
	size_t n;
	const char *values[FPD_KUBE_MAX_FIELDS];
	char *owned[FPD_KUBE_MAX_FIELDS]; /* what values[i] points to when we made it */
};

struct fpd_kube_informer_waiter {
	struct fpd_kube_informer *inf;
	struct fpd_kube_informer_waiter *next; /* of the same key */
	char *key;                             /* "namespace/name" */
	fpd_kube_wait_fn fn;
	void *ud;
	ev_timer timer;
};

struct fpd_kube_informer {
	struct fpd_kube_http *http;
	struct ev_loop *loop;
	struct fpd_kube_informer_opts o; /* strings below are our copies */
	char *ns, *label_selector, *field_selector;
	struct fpd_kube_field fields[FPD_KUBE_MAX_FIELDS];
	int64_t watch_timeout_ms;

	struct fpd_kube_store *store;
	/* What to build of a list item and of a watch event; NULL: everything. */
	struct fpd_kube_prune *item_prune, *event_prune;
	/* The same in protobuf, for kinds kubepb.h knows; NULL: JSON is asked for. */
	struct fpd_kubepb *item_pb, *event_pb;
	char list_kind[64]; /* "PodList" */
	struct fpd_kube_backoff backoff;
	ev_timer timer; /* the next step after a backoff */
	/* The last failure reported at WARN: the same one again (an operator's CRD that stays
	 * missing) is logged at debug level until a list succeeds or an event arrives. */
	char last_failure[FPD_ERROR_TEXT];
	enum step next_step;
	struct fpd_kube_http_req *req; /* the list page or watch in flight */
	bool started;

	char rv[RV_MAX];     /* resume point: last list or event resourceVersion */
	bool rv_unavailable; /* the server said 410 to a list at rv: next list is at "" */
	bool synced;

	/* the list in progress */
	struct fpd_kube_items items;
	struct fpd_kubepb_list pb_items;
	enum encoding list_enc;
	char *continue_token;
	char list_rv[RV_MAX]; /* the RV the first page was asked at */
	bool list_broken;     /* an item could not be used: the list is retried */
	struct fpd_error list_err;

	/* the streaming list (a watch with sendInitialEvents) */
	bool watch_list_off;     /* disabled, or the server does not do it: paged lists */
	bool initial;            /* the watch in progress is still sending the initial list */
	int64_t initial_last_ms; /* when its last event arrived */
	int64_t watch_list_idle_ms;
	ev_timer initial_timer; /* falls back when the end bookmark does not come */

	/* waiters by "namespace/name": heads of lists of struct fpd_kube_informer_waiter */
	struct fpd_map waiters;
	size_t nwaiters;

	/* the watch in progress */
	struct fpd_kube_lines lines;
	struct fpd_kubepb_frames frames;
	enum encoding watch_enc;
	int64_t watch_start_ms;
	uint64_t watch_events;
	bool watch_gone;   /* 410 in the stream */
	bool watch_broken; /* ERROR event or garbage: back off and relist */
	struct fpd_error watch_err;

	struct fpd_kube_informer_stats stats;
};

static void do_list(struct fpd_kube_informer *inf);
static void do_watch(struct fpd_kube_informer *inf);
static void start_watch(struct fpd_kube_informer *inf, bool initial);
static void wake_waiters(struct fpd_kube_informer *inf, const struct fpd_kube_obj *o);

/* ---- JSON Pointer and projection ---- */

json_t *fpd_kube_json_pointer(json_t *root, const char *ptr)
{
	if (!ptr || !*ptr)
		return root;
	if (*ptr != '/')
		return NULL;
	json_t *cur = root;
	char token[256];
	while (cur && *ptr == '/') {
		ptr++;
		size_t n = 0;
		while (*ptr && *ptr != '/') {
			char c = *ptr++;
			if (c == '~') {
				if (*ptr != '0' && *ptr != '1')
					return NULL;
				c = *ptr++ == '0' ? '~' : '/';
			}
			if (n + 1 >= sizeof(token))
				return NULL;
			token[n++] = c;
		}
		token[n] = '\0';
		if (json_is_object(cur)) {
			cur = json_object_get(cur, token);
		} else if (json_is_array(cur)) {
			char *end;
			if (n == 0 || (n > 1 && token[0] == '0'))
				return NULL;
			unsigned long idx = strtoul(token, &end, 10);
			if (*end)
				return NULL;
			cur = json_array_get(cur, idx);
		} else {
			return NULL;
		}
	}
	return cur;
}

const char *fpd_kube_proj_get(const struct fpd_kube_proj *p, size_t i)
{
	return i < p->n ? p->values[i] : NULL;
}

void fpd_kube_proj_set(struct fpd_kube_proj *p, size_t i, const char *value)
{
	if (i >= p->n)
		return;
	free(p->owned[i]);
	p->owned[i] = value ? fpd_strdup(value) : NULL;
	p->values[i] = p->owned[i];
}

static void proj_clear(struct fpd_kube_proj *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->owned[i]);
		p->owned[i] = NULL;
		p->values[i] = NULL;
	}
}

/* Text of a JSON value for the cache: strings as they are, others as compact JSON. */
static void project_value(struct fpd_kube_proj *p, size_t i, json_t *v)
{
	if (!v || json_is_null(v))
		return;
	if (json_is_string(v)) {
		p->values[i] = json_string_value(v);
		return;
	}
	p->owned[i] = fpd_json_text(v, false, NULL);
	p->values[i] = p->owned[i];
}

static void project(struct fpd_kube_informer *inf, json_t *obj, struct fpd_kube_proj *p)
{
	memset(p, 0, sizeof(*p));
	p->n = inf->o.nfields;
	for (size_t i = 0; i < p->n; i++)
		if (inf->fields[i].pointer)
			project_value(p, i, fpd_kube_json_pointer(obj, inf->fields[i].pointer));
	if (inf->o.project)
		inf->o.project(inf->o.ud, obj, p);
	for (size_t i = 0; i < p->n; i++) {
		if (p->values[i] && strlen(p->values[i]) > FIELD_MAX) {
			/* Not silently: an owner asking for a huge subtree should hear about it. */
			fpd_log(FPD_LOG_WARN, LOG,
			        "%s: field %zu is longer than %d bytes; not kept",
			        inf->o.gvr.resource, i, FIELD_MAX);
			fpd_kube_proj_set(p, i, NULL);
		}
	}
}

/* ---- cache updates ---- */

static const char *meta_str(json_t *meta, const char *key)
{
	return json_string_value(json_object_get(meta, key));
}

/* A cache object for a JSON object, or NULL (with a log line) if it has no name. */
static struct fpd_kube_obj *make_obj(struct fpd_kube_informer *inf, json_t *obj)
{
	json_t *meta = json_object_get(obj, "metadata");
	const char *name = meta_str(meta, "name");
	if (!name || !*name) {
		fpd_log(FPD_LOG_WARN, LOG, "%s: ignoring an object without metadata.name",
		        inf->o.gvr.resource);
		return NULL;
	}
	struct fpd_kube_proj p;
	project(inf, obj, &p);
	struct fpd_kube_obj *o =
	    fpd_kube_store_make(inf->store, meta_str(meta, "namespace"), name,
	                        meta_str(meta, "uid"), meta_str(meta, "resourceVersion"), p.values);
	proj_clear(&p);
	return o;
}

static void emit_add(struct fpd_kube_informer *inf, const struct fpd_kube_obj *o)
{
	inf->stats.adds++;
	if (inf->o.on_add)
		inf->o.on_add(inf->o.ud, o);
}

static void emit_delete(struct fpd_kube_informer *inf, const struct fpd_kube_obj *o, bool inferred)
{
	if (inferred)
		inf->stats.inferred_deletes++;
	else
		inf->stats.deletes++;
	if (inf->o.on_delete)
		inf->o.on_delete(inf->o.ud, o, inferred);
}

/* Puts o in the cache (steals it) and tells the owner what changed. from_list: an object the
 * list shows unchanged produces no callback. */
static void upsert(struct fpd_kube_informer *inf, struct fpd_kube_obj *o, bool from_list)
{
	fpd_kube_obj_set_mark(o, 1);
	struct fpd_kube_obj *old =
	    fpd_kube_store_get(inf->store, fpd_kube_obj_namespace(o), fpd_kube_obj_name(o));
	if (!old) {
		fpd_kube_store_put(inf->store, o);
		emit_add(inf, o);
		wake_waiters(inf, o);
		return;
	}
	if (strcmp(fpd_kube_obj_uid(old), fpd_kube_obj_uid(o)) != 0) {
		/* Same name, new incarnation: the old one was deleted while we did not look. */
		fpd_kube_store_take(inf->store, fpd_kube_obj_namespace(o), fpd_kube_obj_name(o));
		emit_delete(inf, old, true);
		fpd_kube_store_release(inf->store, old);
		fpd_kube_store_put(inf->store, o);
		emit_add(inf, o);
		wake_waiters(inf, o);
		return;
	}
	if (from_list &&
	    strcmp(fpd_kube_obj_resource_version(old), fpd_kube_obj_resource_version(o)) == 0) {
		fpd_kube_obj_set_mark(old, 1);
		fpd_kube_store_release(inf->store, o);
		return;
	}
	fpd_kube_store_put(inf->store, o);
	inf->stats.updates++;
	if (inf->o.on_update)
		inf->o.on_update(inf->o.ud, old, o);
	fpd_kube_store_release(inf->store, old);
}

static void remove_obj(struct fpd_kube_informer *inf, struct fpd_kube_obj *final_state)
{
	struct fpd_kube_obj *old = fpd_kube_store_take(
	    inf->store, fpd_kube_obj_namespace(final_state), fpd_kube_obj_name(final_state));
	if (old)
		emit_delete(inf, final_state, false);
	fpd_kube_store_release(inf->store, old);
	fpd_kube_store_release(inf->store, final_state);
}

struct sweep {
	const struct fpd_kube_obj **gone;
	size_t n, cap;
};

static void collect_unmarked(void *ud, const struct fpd_kube_obj *o)
{
	struct sweep *s = ud;
	if (fpd_kube_obj_mark(o))
		return;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->gone = fpd_realloc(s->gone, s->cap * sizeof(*s->gone));
	}
	s->gone[s->n++] = o;
}

/* After a complete list: whatever the list did not show is gone. */
static void sweep_unlisted(struct fpd_kube_informer *inf)
{
	struct sweep s = {0};
	fpd_kube_store_each(inf->store, collect_unmarked, &s);
	for (size_t i = 0; i < s.n; i++) {
		struct fpd_kube_obj *o = fpd_kube_store_take(
		    inf->store, fpd_kube_obj_namespace(s.gone[i]), fpd_kube_obj_name(s.gone[i]));
		emit_delete(inf, o, true);
		fpd_kube_store_release(inf->store, o);
	}
	free(s.gone);
}

/* ---- waiters ---- */

static char *waiter_key(const char *ns, const char *name)
{
	return fpd_asprintf("%s/%s", ns ? ns : "", name);
}

static void waiter_free(struct fpd_kube_informer_waiter *w)
{
	ev_timer_stop(w->inf->loop, &w->timer);
	w->inf->nwaiters--;
	free(w->key);
	free(w);
}

/* Takes w off its key's list (it is there). */
static void waiter_unlink(struct fpd_kube_informer_waiter *w)
{
	struct fpd_kube_informer *inf = w->inf;
	struct fpd_kube_informer_waiter *head = fpd_map_get(&inf->waiters, w->key);
	if (head == w) {
		if (w->next)
			fpd_map_put(&inf->waiters, w->key, w->next);
		else
			fpd_map_del(&inf->waiters, w->key);
		return;
	}
	for (struct fpd_kube_informer_waiter *p = head; p; p = p->next) {
		if (p->next == w) {
			p->next = w->next;
			return;
		}
	}
}

/* Answers a chain of waiters already off the map with o (borrowed; NULL: not there). Each is
 * freed before its callback runs, so the callback may wait again. */
static void answer_chain(struct fpd_kube_informer_waiter *w, const struct fpd_kube_obj *o)
{
	while (w) {
		struct fpd_kube_informer_waiter *next = w->next;
		fpd_kube_wait_fn fn = w->fn;
		void *ud = w->ud;
		waiter_free(w);
		fn(ud, o);
		w = next;
	}
}

static void wake_waiters(struct fpd_kube_informer *inf, const struct fpd_kube_obj *o)
{
	if (!inf->nwaiters)
		return;
	char *key = waiter_key(fpd_kube_obj_namespace(o), fpd_kube_obj_name(o));
	struct fpd_kube_informer_waiter *w = fpd_map_del(&inf->waiters, key);
	free(key);
	answer_chain(w, o);
}

/* A list completed: whoever still waits is not in it. */
static void wake_all_missing(struct fpd_kube_informer *inf)
{
	if (!inf->nwaiters)
		return;
	struct fpd_kube_informer_waiter *all = NULL;
	const char *k;
	void *v;
	for (size_t i = 0; fpd_map_next(&inf->waiters, &i, &k, &v);) {
		struct fpd_kube_informer_waiter *w = v, *last = w;
		while (last->next)
			last = last->next;
		last->next = all;
		all = w;
		fpd_map_del(&inf->waiters, k);
	}
	answer_chain(all, NULL);
}

static void waiter_timeout_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct fpd_kube_informer_waiter *w =
	    fpd_container_of(t, struct fpd_kube_informer_waiter, timer);
	waiter_unlink(w);
	w->next = NULL;
	answer_chain(w, NULL);
}

int fpd_kube_informer_wait(struct fpd_kube_informer *inf, const char *ns, const char *name,
                           int64_t timeout_ms, fpd_kube_wait_fn fn, void *ud, struct fpd_error *err)
{
	if (!name || !name[0] || !fn)
		return fpd_error_set(err, FPD_EINVAL,
		                     "informer wait: a name and a callback are needed");
	if (fpd_kube_store_get(inf->store, ns, name))
		return FPD_OK;
	struct fpd_kube_informer_waiter *w = fpd_calloc(1, sizeof(*w));
	w->inf = inf;
	w->key = waiter_key(ns, name);
	w->fn = fn;
	w->ud = ud;
	ev_timer_init(&w->timer, waiter_timeout_cb, (double)timeout_ms / 1000.0, 0.);
	if (timeout_ms > 0)
		ev_timer_start(inf->loop, &w->timer);
	w->next = fpd_map_get(&inf->waiters, w->key);
	fpd_map_put(&inf->waiters, w->key, w);
	inf->nwaiters++;
	return FPD_AGAIN;
}

void fpd_kube_informer_wait_cancel(struct fpd_kube_informer *inf, void *ud)
{
	/* Found first, unlinked after: the map must not change while it is walked. */
	struct fpd_kube_informer_waiter **found = NULL;
	size_t n = 0, cap = 0;
	const char *k;
	void *v;
	for (size_t i = 0; fpd_map_next(&inf->waiters, &i, &k, &v);) {
		for (struct fpd_kube_informer_waiter *w = v; w; w = w->next) {
			if (w->ud != ud)
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				found = fpd_realloc(found, cap * sizeof(*found));
			}
			found[n++] = w;
		}
	}
	for (size_t i = 0; i < n; i++) {
		waiter_unlink(found[i]);
		waiter_free(found[i]);
	}
	free(found);
}

size_t fpd_kube_informer_waiting(const struct fpd_kube_informer *inf)
{
	return inf->nwaiters;
}

static void set_rv(struct fpd_kube_informer *inf, const char *rv)
{
	if (rv && *rv && strlen(rv) < RV_MAX)
		snprintf(inf->rv, sizeof(inf->rv), "%s", rv);
}

/* ---- scheduling ---- */

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fpd_kube_informer *inf = fpd_container_of(w, struct fpd_kube_informer, timer);
	if (inf->next_step == STEP_LIST)
		do_list(inf);
	else
		do_watch(inf);
}

static void schedule(struct fpd_kube_informer *inf, enum step step, int64_t delay_ms)
{
	inf->next_step = step;
	ev_timer_stop(inf->loop, &inf->timer);
	ev_timer_set(&inf->timer, (double)delay_ms / 1000.0, 0.);
	ev_timer_start(inf->loop, &inf->timer);
}

/* Reports err and tries step again after the next backoff delay (at least min_ms). */
static void back_off(struct fpd_kube_informer *inf, enum step step, const struct fpd_error *err,
                     int64_t min_ms)
{
	int64_t delay = fpd_kube_backoff_next(&inf->backoff, fpd_clock_mono_ms());
	if (delay < min_ms)
		delay = min_ms;
	inf->stats.failures++;
	bool again = strcmp(inf->last_failure, err->text) == 0;
	fpd_log(again ? FPD_LOG_DEBUG : FPD_LOG_WARN, LOG, "%s; %s again in %lld ms%s", err->text,
	        step == STEP_LIST ? "listing" : "watching", (long long)delay,
	        again ? "" : " (the same failure again is logged at debug level)");
	snprintf(inf->last_failure, sizeof(inf->last_failure), "%s", err->text);
	if (inf->o.on_error)
		inf->o.on_error(inf->o.ud, err, delay);
	schedule(inf, step, delay);
}

static int collection_path(struct fpd_kube_informer *inf, struct fpd_buf *b)
{
	struct fpd_kube_ref ref = {&inf->o.gvr, inf->ns, NULL, NULL};
	int rc = fpd_kube_path(b, &ref, NULL);
	if (!rc)
		rc = fpd_kube_query(b, "labelSelector", inf->label_selector);
	if (!rc)
		rc = fpd_kube_query(b, "fieldSelector", inf->field_selector);
	return rc;
}

/* ---- list ---- */

/* One object (a list item or a watch event) as a new reference, pruned by p if given. */
static json_t *parse(const struct fpd_kube_prune *p, const char *data, size_t len,
                     struct fpd_error *err)
{
	if (p) {
		json_t *v;
		return fpd_kube_prune_parse(p, data, len, &v, err) ? NULL : v;
	}
	json_error_t jerr;
	json_t *v = json_loadb(data, len, 0, &jerr);
	if (!v)
		fpd_error_set(err, FPD_EINVAL, "%s at byte %d", jerr.text, jerr.position);
	return v;
}

/* A list item (obj stolen; NULL: err says why). Nonzero stops the list. */
static int list_object(struct fpd_kube_informer *inf, json_t *obj, const struct fpd_error *err)
{
	if (!json_is_object(obj)) {
		json_decref(obj);
		inf->list_broken = true;
		fpd_error_set(&inf->list_err, FPD_EINVAL, "list of %s: invalid item: %s",
		              inf->o.gvr.resource, obj ? "not an object" : err->text);
		return 1;
	}
	struct fpd_kube_obj *o = make_obj(inf, obj);
	json_decref(obj);
	if (o)
		upsert(inf, o, true);
	return 0;
}

static int list_item(void *ud, const char *data, size_t len)
{
	struct fpd_kube_informer *inf = ud;
	struct fpd_error err;
	json_t *obj = parse(inf->item_prune, data, len, &err);
	return list_object(inf, obj, &err);
}

static int list_item_pb(void *ud, const char *data, size_t len)
{
	struct fpd_kube_informer *inf = ud;
	struct fpd_error err;
	json_t *obj;
	fpd_kubepb_item(inf->item_pb, data, len, &obj, &err);
	return list_object(inf, obj, &err);
}

static bool is_protobuf(const struct fpd_kube_informer *inf)
{
	const char *ct = fpd_kube_http_content_type(inf->req);
	return strncmp(ct, FPD_KUBEPB_MEDIA, strlen(FPD_KUBEPB_MEDIA)) == 0;
}

/* An error answer's Status, which comes in protobuf when protobuf was asked for. */
static void answer_status(struct fpd_kube_informer *inf, const struct fpd_kube_http_result *r,
                          struct fpd_kube_status *st)
{
	json_t *obj = NULL;
	struct fpd_error err;
	if (inf->item_pb && r->len >= 4 && memcmp(r->body, "k8s", 4) == 0 &&
	    fpd_kubepb_status(inf->item_pb, r->body, r->len, &obj, &err) == FPD_OK) {
		fpd_kube_status_from_json(r->status, obj, st);
		json_decref(obj);
		return;
	}
	fpd_kube_status_parse(r->status, r->body, r->len, st);
}

static int list_data(void *ud, const char *data, size_t len)
{
	struct fpd_kube_informer *inf = ud;
	struct fpd_error err;
	if (inf->list_enc == ENC_UNKNOWN)
		inf->list_enc = inf->item_pb && is_protobuf(inf) ? ENC_PROTOBUF : ENC_JSON;
	int rc = inf->list_enc == ENC_PROTOBUF
	             ? fpd_kubepb_list_feed(&inf->pb_items, data, len, list_item_pb, inf, &err)
	             : fpd_kube_items_feed(&inf->items, data, len, list_item, inf, &err);
	if (rc && !inf->list_broken) {
		inf->list_broken = true;
		inf->list_err = err;
	}
	return rc;
}

/* A complete list, paged or streamed (the initial events of a watch), was applied at rv;
 * enc: how it came. */
static void list_complete(struct fpd_kube_informer *inf, const char *rv, enum encoding enc)
{
	sweep_unlisted(inf);
	set_rv(inf, rv);
	inf->rv_unavailable = false;
	inf->synced = true;
	inf->stats.lists++;
	if (inf->last_failure[0])
		fpd_log(FPD_LOG_INFO, LOG, "%s: listed again after: %s", inf->o.gvr.resource,
		        inf->last_failure);
	inf->last_failure[0] = '\0';
	fpd_log(FPD_LOG_DEBUG, LOG, "%s: listed %zu objects at resourceVersion %s (%s)",
	        inf->o.gvr.resource, fpd_kube_store_count(inf->store), inf->rv,
	        enc == ENC_PROTOBUF ? "protobuf" : "JSON");
	if (inf->o.on_synced)
		inf->o.on_synced(inf->o.ud);
	wake_all_missing(inf);
}

static void list_finished(struct fpd_kube_informer *inf, const char *rv)
{
	list_complete(inf, rv, inf->list_enc);
	do_watch(inf);
}

static void list_bufs_free(struct fpd_kube_informer *inf)
{
	fpd_kube_items_free(&inf->items);
	fpd_kubepb_list_free(&inf->pb_items);
}

static void list_done(void *ud, const struct fpd_kube_http_result *r)
{
	struct fpd_kube_informer *inf = ud;
	inf->req = NULL;
	json_t *doc = NULL;
	struct fpd_error err;
	fpd_error_clear(&err);

	if (inf->list_broken) {
		err = inf->list_err;
	} else if (r->code != FPD_OK) {
		fpd_error_set(&err, r->code, "list of %s: %s", inf->o.gvr.resource, r->err.text);
	} else if (r->status != 200) {
		struct fpd_kube_status st;
		answer_status(inf, r, &st);
		fpd_error_set(&err, FPD_ERR, "list of %s: %s (HTTP %ld): %s", inf->o.gvr.resource,
		              st.reason_text, r->status, st.message[0] ? st.message : "no message");
		/* The RV (or continue token) expired, or the server has not reached it (after an
		 * etcd restore: "Too large resource version"): list again from a fresh quorum read,
		 * at once, as client-go does. */
		bool too_large = st.code == 504 && strstr(st.message, "Too large resource version");
		if (fpd_kube_status_is_gone(&st) || too_large) {
			inf->stats.relists_gone++;
			/* An expired continue token: the list starts over (at the newest version). */
			bool was_unavailable = inf->rv_unavailable && !inf->continue_token;
			inf->rv_unavailable = true;
			free(inf->continue_token);
			inf->continue_token = NULL;
			list_bufs_free(inf);
			fpd_log(FPD_LOG_INFO, LOG, "%s: %s; listing again at the newest version",
			        inf->o.gvr.resource, err.text);
			if (!was_unavailable) {
				do_list(inf);
				return;
			}
		}
	} else if ((inf->list_enc == ENC_PROTOBUF
	                ? fpd_kubepb_list_finish(&inf->pb_items, inf->list_kind, &doc, &err)
	                : fpd_kube_items_finish(&inf->items, &doc, &err)) == FPD_OK) {
		json_t *meta = json_object_get(doc, "metadata");
		const char *cont = meta_str(meta, "continue");
		inf->stats.list_pages++;
		free(inf->continue_token);
		inf->continue_token = cont && *cont ? fpd_strdup(cont) : NULL;
		char rv[RV_MAX] = "";
		snprintf(rv, sizeof(rv), "%s",
		         meta_str(meta, "resourceVersion") ? meta_str(meta, "resourceVersion")
		                                           : "");
		json_decref(doc);
		list_bufs_free(inf);
		if (inf->continue_token) {
			do_list(inf);
			return;
		}
		list_finished(inf, rv);
		return;
	}
	list_bufs_free(inf);
	free(inf->continue_token);
	inf->continue_token = NULL;
	back_off(inf, STEP_LIST, &err, 0);
}

static void do_list(struct fpd_kube_informer *inf)
{
	bool first_page = inf->continue_token == NULL;
	if (first_page) {
		/* Objects the coming list shows get mark 1; the others are deleted at its end. */
		fpd_kube_store_clear_marks(inf->store);
		if (!inf->watch_list_off) {
			start_watch(inf, true);
			return;
		}
		const char *rv = inf->rv_unavailable ? "" : inf->rv;
		snprintf(inf->list_rv, sizeof(inf->list_rv), "%s", rv);
	}
	struct fpd_buf b;
	fpd_buf_init(&b, PATH_MAX_LEN);
	int rc = collection_path(inf, &b);
	char limit[32];
	snprintf(limit, sizeof(limit), "%lld", (long long)inf->o.page_size);
	if (!rc && !first_page) {
		rc = fpd_kube_query(&b, "limit", limit);
		if (!rc)
			rc = fpd_kube_query(&b, "continue", inf->continue_token);
	} else if (!rc) {
		/* Pages of page_size: no response holds the whole collection. The first page is
		 * a consistent read (no RV), or at least as new as the RV the informer has. */
		rc = fpd_kube_query(&b, "limit", limit);
		if (!rc && inf->list_rv[0])
			rc = fpd_kube_query(&b, "resourceVersion", inf->list_rv);
		if (!rc && inf->list_rv[0])
			rc = fpd_kube_query(&b, "resourceVersionMatch", "NotOlderThan");
	}
	inf->list_broken = false;
	fpd_kube_items_init(&inf->items, inf->o.max_object_bytes, 1u << 20);
	fpd_kubepb_list_init(&inf->pb_items, inf->o.max_object_bytes);
	inf->list_enc = ENC_UNKNOWN;
	struct fpd_error err;
	fpd_error_clear(&err);
	if (!rc) {
		struct fpd_kube_http_spec spec = {
		    .method = "GET",
		    .path = b.data,
		    .stream = true,
		    .timeout_ms = inf->o.list_timeout_ms,
		    .accept = inf->item_pb ? ACCEPT_LIST : NULL,
		    .on_data = list_data,
		    .on_done = list_done,
		    .ud = inf,
		};
		rc = fpd_kube_http_start(inf->http, &spec, &inf->req, &err);
		if (rc)
			fpd_error_wrap(&err, rc, "list of %s", inf->o.gvr.resource);
	} else {
		fpd_error_set(&err, rc, "list of %s: request path too long", inf->o.gvr.resource);
	}
	fpd_buf_free(&b);
	if (rc) {
		list_bufs_free(inf);
		back_off(inf, STEP_LIST, &err, 0);
	}
}

/* ---- watch ---- */

static int watch_fail(struct fpd_kube_informer *inf, int code, const char *what, const char *detail)
{
	inf->watch_broken = true;
	fpd_error_set(&inf->watch_err, code, "watch of %s: %s%s%s", inf->o.gvr.resource, what,
	              detail ? ": " : "", detail ? detail : "");
	return 1;
}

/* A watch event (ev stolen; NULL: err says why). Nonzero stops the watch. */
static int watch_event_json(struct fpd_kube_informer *inf, json_t *ev, const struct fpd_error *err)
{
	const char *type = json_string_value(json_object_get(ev, "type"));
	json_t *obj = json_object_get(ev, "object");
	int rc = 0;
	if (!type || !json_is_object(obj)) {
		rc = watch_fail(inf, FPD_EINVAL, "invalid event",
		                ev ? "no type or object" : err->text);
	} else if (strcmp(type, "ERROR") == 0) {
		struct fpd_kube_status st;
		fpd_kube_status_from_json(200, obj, &st);
		if (fpd_kube_status_is_gone(&st)) {
			inf->watch_gone = true;
			fpd_error_set(&inf->watch_err, FPD_ERR, "watch of %s: %s (%d): %s",
			              inf->o.gvr.resource, st.reason_text, st.code, st.message);
			rc = 1;
		} else {
			rc = watch_fail(inf, FPD_ERR, st.reason_text, st.message);
		}
	} else {
		inf->watch_events++;
		inf->last_failure[0] = '\0'; /* working again: a new failure is news */
		json_t *meta = json_object_get(obj, "metadata");
		const char *rv = meta_str(meta, "resourceVersion");
		if (inf->initial)
			inf->initial_last_ms = fpd_clock_mono_ms();
		if (strcmp(type, "BOOKMARK") == 0) {
			inf->stats.bookmarks++;
			const char *end =
			    meta_str(json_object_get(meta, "annotations"), INITIAL_EVENTS_END);
			if (inf->initial && end && strcmp(end, "true") == 0) {
				/* The list is complete: from here on the stream is the watch. */
				inf->initial = false;
				ev_timer_stop(inf->loop, &inf->initial_timer);
				inf->stats.watch_lists++;
				list_complete(inf, rv, inf->watch_enc);
			}
		} else if (strcmp(type, "ADDED") == 0 || strcmp(type, "MODIFIED") == 0) {
			struct fpd_kube_obj *o = make_obj(inf, obj);
			if (o)
				upsert(inf, o, inf->initial);
		} else if (strcmp(type, "DELETED") == 0) {
			struct fpd_kube_obj *o = make_obj(inf, obj);
			if (o)
				remove_obj(inf, o);
		} else {
			rc = watch_fail(inf, FPD_EINVAL, "unknown event type", type);
		}
		/* The initial events carry each object's own RV, older than the list's: the
		 * resume point is the end bookmark's. */
		if (!rc && !inf->initial)
			set_rv(inf, rv);
	}
	json_decref(ev);
	return rc;
}

static int watch_event(void *ud, const char *line, size_t len)
{
	struct fpd_kube_informer *inf = ud;
	struct fpd_error err;
	json_t *ev = parse(inf->event_prune, line, len, &err);
	const char *type = json_string_value(json_object_get(ev, "type"));
	if (type && strcmp(type, "ERROR") == 0 && inf->event_prune) {
		/* A Status, not an object of ours: the pruning set does not cover it. */
		json_decref(ev);
		ev = parse(NULL, line, len, &err);
	}
	return watch_event_json(inf, ev, &err);
}

static int watch_frame(void *ud, const char *data, size_t len)
{
	struct fpd_kube_informer *inf = ud;
	struct fpd_error err;
	json_t *ev;
	fpd_kubepb_event(inf->event_pb, data, len, &ev, &err);
	return watch_event_json(inf, ev, &err);
}

static void watch_bufs_free(struct fpd_kube_informer *inf)
{
	fpd_kube_lines_free(&inf->lines);
	fpd_kubepb_frames_free(&inf->frames);
}

static int watch_data(void *ud, const char *data, size_t len)
{
	struct fpd_kube_informer *inf = ud;
	struct fpd_error err;
	if (inf->watch_enc == ENC_UNKNOWN)
		inf->watch_enc = inf->event_pb && is_protobuf(inf) ? ENC_PROTOBUF : ENC_JSON;
	int rc = inf->watch_enc == ENC_PROTOBUF
	             ? fpd_kubepb_frames_feed(&inf->frames, data, len, watch_frame, inf, &err)
	             : fpd_kube_lines_feed(&inf->lines, data, len, watch_event, inf, &err);
	if (rc && !inf->watch_gone && !inf->watch_broken)
		watch_fail(inf, rc, "stream", err.text);
	return rc;
}

/* A server without streaming lists rejects the parameters (400 Bad Request, 422 Invalid,
 * "sendInitialEvents is forbidden", 405/501 for a resource that cannot do it); 401, 403, 404
 * and the rest would fail a paged list as well and are handled like any list failure. */
static bool refuses_watch_list(long status)
{
	return status == 400 || status == 422 || status == 405 || status == 501;
}

/* A streaming list the server refused or never ended: paged lists from now on. */
static void watch_list_unsupported(struct fpd_kube_informer *inf, const char *why)
{
	inf->watch_list_off = true;
	inf->initial = false;
	ev_timer_stop(inf->loop, &inf->initial_timer);
	inf->stats.watch_list_fallbacks++;
	fpd_log(FPD_LOG_WARN, LOG, "%s: no streaming list (%s); listing in pages of %lld",
	        inf->o.gvr.resource, why, (long long)inf->o.page_size);
	do_list(inf);
}

static void initial_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fpd_kube_informer *inf =
	    fpd_container_of(w, struct fpd_kube_informer, initial_timer);
	if (!inf->initial)
		return;
	int64_t idle = fpd_clock_mono_ms() - inf->initial_last_ms;
	if (idle < inf->watch_list_idle_ms) {
		ev_timer_set(w, (double)(inf->watch_list_idle_ms - idle) / 1000.0, 0.);
		ev_timer_start(loop, w);
		return;
	}
	if (inf->req)
		fpd_kube_http_cancel(inf->http, inf->req);
	inf->req = NULL;
	watch_bufs_free(inf);
	char why[96];
	snprintf(why, sizeof(why), "no end-of-list bookmark after %lld ms without events",
	         (long long)inf->watch_list_idle_ms);
	watch_list_unsupported(inf, why);
}

static void watch_done(void *ud, const struct fpd_kube_http_result *r)
{
	struct fpd_kube_informer *inf = ud;
	inf->req = NULL;
	watch_bufs_free(inf);
	int64_t lasted = fpd_clock_mono_ms() - inf->watch_start_ms;
	struct fpd_error err;
	fpd_error_clear(&err);
	bool initial = inf->initial;
	inf->initial = false;
	ev_timer_stop(inf->loop, &inf->initial_timer);
	/* A streaming list that did not reach its end is retried as a list. */
	enum step again = initial ? STEP_LIST : STEP_WATCH;
	const char *what = initial ? "list" : "watch"; /* a streaming list fails as a list */

	if (initial && r->code == FPD_OK && refuses_watch_list(r->status)) {
		struct fpd_kube_status st;
		answer_status(inf, r, &st);
		char why[FPD_ERROR_TEXT + 32];
		snprintf(why, sizeof(why), "HTTP %ld: %.*s", r->status, FPD_ERROR_TEXT - 1,
		         st.message[0] ? st.message : st.reason_text);
		watch_list_unsupported(inf, why);
		return;
	}
	if (inf->watch_gone) {
		if (initial)
			inf->rv_unavailable = true;
		inf->stats.relists_gone++;
		fpd_log(FPD_LOG_INFO, LOG, "%s; listing again", inf->watch_err.text);
		do_list(inf);
		return;
	}
	if (inf->watch_broken) {
		back_off(inf, STEP_LIST, &inf->watch_err, 0);
		return;
	}
	if (r->code == FPD_ETIMEDOUT || (r->code == FPD_OK && r->status == 200)) {
		/* The server ended the watch at timeoutSeconds (or went quiet past it): resume
		 * from the last RV. A watch that ends at once without events is a failure. */
		if (lasted < SHORT_WATCH_MS && inf->watch_events == 0) {
			fpd_error_set(&err, FPD_EIO, "%s of %s ended after %lld ms without events",
			              what, inf->o.gvr.resource, (long long)lasted);
			back_off(inf, again, &err, 0);
			return;
		}
		if (initial) {
			fpd_error_set(&err, FPD_EIO, "watch of %s ended before the end of its list",
			              inf->o.gvr.resource);
			back_off(inf, STEP_LIST, &err, 0);
			return;
		}
		inf->stats.watch_timeouts++;
		do_watch(inf);
		return;
	}
	if (r->code != FPD_OK) {
		/* Connection refused, reset, TLS: the server may be restarting. */
		fpd_error_set(&err, r->code, "%s of %s: %s", what, inf->o.gvr.resource,
		              r->err.text);
		back_off(inf, again, &err, 0);
		return;
	}
	struct fpd_kube_status st;
	answer_status(inf, r, &st);
	fpd_error_set(&err, FPD_ERR, "%s of %s: %s (HTTP %ld): %s", what, inf->o.gvr.resource,
	              st.reason_text, r->status, st.message[0] ? st.message : "no message");
	if (fpd_kube_status_is_gone(&st)) {
		inf->stats.relists_gone++;
		if (initial)
			inf->rv_unavailable = true;
		fpd_log(FPD_LOG_INFO, LOG, "%s; listing again", err.text);
		do_list(inf);
		return;
	}
	/* 429 and 5xx are the server's trouble: watch again. Anything else (401, 403, 404)
	 * may mean the world changed: list again. Both after a backoff, and never sooner than
	 * the server asked. */
	bool retriable = r->status == 429 || r->status >= 500;
	back_off(inf, retriable ? again : STEP_LIST, &err,
	         r->retry_after_ms > 0 ? r->retry_after_ms : 0);
}

static void do_watch(struct fpd_kube_informer *inf)
{
	start_watch(inf, false);
}

/* A watch from the informer's RV; initial: a streaming list, the current state as ADDED
 * events up to a bookmark annotated k8s.io/initial-events-end (KEP-3157 WatchList), then
 * the watch goes on in the same stream. */
static void start_watch(struct fpd_kube_informer *inf, bool initial)
{
	int64_t max_s = inf->watch_timeout_ms / 1000;
	if (max_s < 2)
		max_s = 2;
	int64_t timeout_s = fpd_kube_backoff_rand(&inf->backoff, max_s / 2, max_s);
	char timeout[32];
	snprintf(timeout, sizeof(timeout), "%lld", (long long)timeout_s);
	struct fpd_buf b;
	fpd_buf_init(&b, PATH_MAX_LEN);
	int rc = collection_path(inf, &b);
	if (!rc)
		rc = fpd_kube_query(&b, "watch", "1");
	const char *rv = initial && inf->rv_unavailable ? "" : inf->rv;
	if (!rc && initial)
		rc = fpd_kube_query(&b, "sendInitialEvents", "true");
	if (!rc && initial)
		rc = fpd_kube_query(&b, "resourceVersionMatch", "NotOlderThan");
	if (!rc)
		rc = fpd_kube_query(&b, "resourceVersion", rv);
	if (!rc)
		rc = fpd_kube_query(&b, "allowWatchBookmarks", "true");
	if (!rc)
		rc = fpd_kube_query(&b, "timeoutSeconds", timeout);
	fpd_kube_lines_init(&inf->lines, inf->o.max_object_bytes);
	fpd_kubepb_frames_init(&inf->frames, inf->o.max_object_bytes);
	inf->watch_enc = ENC_UNKNOWN;
	inf->watch_start_ms = fpd_clock_mono_ms();
	inf->watch_events = 0;
	inf->watch_gone = inf->watch_broken = false;
	fpd_error_clear(&inf->watch_err);
	struct fpd_error err;
	fpd_error_clear(&err);
	if (!rc) {
		struct fpd_kube_http_spec spec = {
		    .method = "GET",
		    .path = b.data,
		    .stream = true,
		    .unlimited = true,
		    .no_retry = true,
		    .timeout_ms = timeout_s * 1000 + WATCH_MARGIN_MS,
		    .max_response = 1u << 20, /* error bodies only: events are streamed */
		    .accept = inf->event_pb ? ACCEPT_WATCH : NULL,
		    .on_data = watch_data,
		    .on_done = watch_done,
		    .ud = inf,
		};
		rc = fpd_kube_http_start(inf->http, &spec, &inf->req, &err);
		if (rc)
			fpd_error_wrap(&err, rc, "watch of %s", inf->o.gvr.resource);
	} else {
		fpd_error_set(&err, rc, "watch of %s: request path too long", inf->o.gvr.resource);
	}
	fpd_buf_free(&b);
	if (rc) {
		watch_bufs_free(inf);
		back_off(inf, initial ? STEP_LIST : STEP_WATCH, &err, 0);
		return;
	}
	inf->stats.watches++;
	inf->initial = initial;
	if (initial) {
		inf->initial_last_ms = inf->watch_start_ms;
		ev_timer_set(&inf->initial_timer, (double)inf->watch_list_idle_ms / 1000.0, 0.);
		ev_timer_start(inf->loop, &inf->initial_timer);
	}
}

/* ---- public ---- */

/* The pointers an object is pruned to, under prefix ("" for list items, "/object" for watch
 * events). NULL when the projection callback may read anything. */
static struct fpd_kube_prune *prune_set(const struct fpd_kube_informer *inf, const char *prefix)
{
	if (inf->o.project && !inf->o.keep)
		return NULL;
	static const char *const meta[] = {"/metadata/name", "/metadata/namespace", "/metadata/uid",
	                                   "/metadata/resourceVersion"};
	struct fpd_kube_prune *p = fpd_kube_prune_new();
	char ptr[1024];
	int rc = FPD_OK;
	for (size_t i = 0; i < FPD_ARRAY_LEN(meta) && !rc; i++) {
		snprintf(ptr, sizeof(ptr), "%s%s", prefix, meta[i]);
		rc = fpd_kube_prune_add(p, ptr, NULL);
	}
	for (size_t i = 0; i < inf->o.nfields && !rc; i++) {
		if (!inf->fields[i].pointer)
			continue;
		snprintf(ptr, sizeof(ptr), "%s%s", prefix, inf->fields[i].pointer);
		rc = fpd_kube_prune_add(p, ptr, NULL);
	}
	for (size_t i = 0; i < inf->o.nkeep && !rc; i++) {
		snprintf(ptr, sizeof(ptr), "%s%s", prefix, inf->o.keep[i]);
		rc = fpd_kube_prune_add(p, ptr, NULL);
	}
	if (!rc && prefix[0])
		rc = fpd_kube_prune_add(p, "/type", NULL);
	if (!rc && prefix[0])
		rc = fpd_kube_prune_add(
		    p, "/object/metadata/annotations/k8s.io~1initial-events-end", NULL);
	if (rc) {
		/* A pointer the pruner cannot follow: fall back to whole objects. */
		fpd_kube_prune_free(p);
		return NULL;
	}
	return p;
}

/* Decoders of the kind's protobuf with the same pointers as the JSON pruning sets, when the
 * client reads in protobuf and kubepb.h knows the kind; JSON otherwise. */
static void protobuf_setup(struct fpd_kube_informer *inf, const struct fpd_kube_client *c)
{
	const char *kind =
	    fpd_kubepb_kind_for(inf->o.gvr.group, inf->o.gvr.version, inf->o.gvr.resource);
	if (!kind || !fpd_kube_client_opts(c)->protobuf)
		return;
	const struct fpd_kube_prune_node *item = NULL, *event = NULL;
	if (inf->item_prune)
		item = fpd_kube_prune_root(inf->item_prune);
	if (inf->event_prune)
		event = fpd_kube_prune_child(fpd_kube_prune_root(inf->event_prune), "object", 6);
	struct fpd_error err;
	if (fpd_kubepb_new(kind, item, &inf->item_pb, &err) ||
	    fpd_kubepb_new(kind, event, &inf->event_pb, &err)) {
		fpd_log(FPD_LOG_WARN, LOG, "%s: reading JSON, not protobuf: %s",
		        inf->o.gvr.resource, err.text);
		fpd_kubepb_free(inf->item_pb);
		inf->item_pb = NULL;
		return;
	}
	snprintf(inf->list_kind, sizeof(inf->list_kind), "%sList", kind);
}

int fpd_kube_informer_new(struct fpd_kube_client *c, const struct fpd_kube_informer_opts *opts,
                          struct fpd_kube_informer **out, struct fpd_error *err)
{
	*out = NULL;
	if (!opts->gvr.version[0] || !opts->gvr.resource[0])
		return fpd_error_set(err, FPD_EINVAL, "informer: no resource given");
	if (opts->nfields > FPD_KUBE_MAX_FIELDS)
		return fpd_error_set(err, FPD_EINVAL, "informer: at most %d fields",
		                     FPD_KUBE_MAX_FIELDS);
	int rc = fpd_kube_label_selector_check(opts->label_selector, err);
	if (!rc)
		rc = fpd_kube_field_selector_check(opts->field_selector, err);
	if (rc)
		return rc;
	struct fpd_kube_informer *inf = fpd_calloc(1, sizeof(*inf));
	inf->http = fpd_kube_client_http(c);
	inf->loop = fpd_kube_http_loop(inf->http);
	inf->o = *opts;
	inf->ns = fpd_strdup(opts->namespace_ ? opts->namespace_ : "");
	inf->label_selector = fpd_strdup(opts->label_selector ? opts->label_selector : "");
	inf->field_selector = fpd_strdup(opts->field_selector ? opts->field_selector : "");
	uint32_t intern_mask = 0;
	for (size_t i = 0; i < opts->nfields; i++) {
		inf->fields[i].pointer =
		    opts->fields[i].pointer ? fpd_strdup(opts->fields[i].pointer) : NULL;
		inf->fields[i].intern = opts->fields[i].intern;
		if (opts->fields[i].intern)
			intern_mask |= 1u << i;
	}
	inf->o.namespace_ = inf->ns;
	inf->o.label_selector = inf->label_selector;
	inf->o.field_selector = inf->field_selector;
	inf->o.fields = inf->fields;
	inf->watch_timeout_ms = opts->watch_timeout_ms > 0
	                            ? opts->watch_timeout_ms
	                            : fpd_kube_client_opts(c)->watch_timeout_ms;
	if (inf->o.list_timeout_ms <= 0)
		inf->o.list_timeout_ms = 5 * 60 * 1000;
	if (inf->o.page_size <= 0)
		inf->o.page_size = 500;
	if (inf->o.max_object_bytes == 0)
		inf->o.max_object_bytes = 16u << 20;
	inf->item_prune = prune_set(inf, "");
	inf->event_prune = prune_set(inf, "/object");
	protobuf_setup(inf, c);
	/* The caller's keep strings are not ours; they were only needed for the sets. */
	inf->o.keep = NULL;
	inf->o.nkeep = 0;
	inf->store = fpd_kube_store_new(opts->nfields, intern_mask);
	uint64_t seed = (uint64_t)fpd_clock_wall_ms() ^ ((uint64_t)(uintptr_t)inf << 16);
	fpd_kube_backoff_init(&inf->backoff, opts->backoff_initial_ms, opts->backoff_max_ms, 0,
	                      seed);
	ev_timer_init(&inf->timer, timer_cb, 0., 0.);
	ev_timer_init(&inf->initial_timer, initial_timer_cb, 0., 0.);
	inf->watch_list_off = opts->no_watch_list || fpd_kube_client_opts(c)->no_watch_list;
	inf->watch_list_idle_ms =
	    opts->watch_list_idle_ms > 0 ? opts->watch_list_idle_ms : WATCH_LIST_IDLE_MS;
	fpd_map_init(&inf->waiters);
	*out = inf;
	return FPD_OK;
}

void fpd_kube_informer_start(struct fpd_kube_informer *inf)
{
	if (inf->started)
		return;
	inf->started = true;
	do_list(inf);
}

void fpd_kube_informer_free(struct fpd_kube_informer *inf)
{
	if (!inf)
		return;
	if (inf->req)
		fpd_kube_http_cancel(inf->http, inf->req);
	ev_timer_stop(inf->loop, &inf->timer);
	ev_timer_stop(inf->loop, &inf->initial_timer);
	const char *k;
	void *v;
	for (size_t i = 0; fpd_map_next(&inf->waiters, &i, &k, &v);) {
		for (struct fpd_kube_informer_waiter *w = v, *next; w; w = next) {
			next = w->next;
			waiter_free(w);
		}
	}
	fpd_map_free(&inf->waiters);
	list_bufs_free(inf);
	watch_bufs_free(inf);
	free(inf->continue_token);
	fpd_kubepb_free(inf->item_pb);
	fpd_kubepb_free(inf->event_pb);
	fpd_kube_store_free(inf->store);
	fpd_kube_prune_free(inf->item_prune);
	fpd_kube_prune_free(inf->event_prune);
	for (size_t i = 0; i < inf->o.nfields; i++)
		free((char *)inf->fields[i].pointer);
	free(inf->ns);
	free(inf->label_selector);
	free(inf->field_selector);
	free(inf);
}

bool fpd_kube_informer_synced(const struct fpd_kube_informer *inf)
{
	return inf->synced;
}

const struct fpd_kube_obj *fpd_kube_informer_get(const struct fpd_kube_informer *inf,
                                                 const char *ns, const char *name)
{
	return fpd_kube_store_get(inf->store, ns, name);
}

size_t fpd_kube_informer_count(const struct fpd_kube_informer *inf)
{
	return fpd_kube_store_count(inf->store);
}

void fpd_kube_informer_each(const struct fpd_kube_informer *inf,
                            void (*fn)(void *ud, const struct fpd_kube_obj *o), void *ud)
{
	fpd_kube_store_each(inf->store, fn, ud);
}

const char *fpd_kube_informer_resource_version(const struct fpd_kube_informer *inf)
{
	return inf->rv;
}

void fpd_kube_informer_get_stats(const struct fpd_kube_informer *inf,
                                 struct fpd_kube_informer_stats *out)
{
	*out = inf->stats;
}

size_t fpd_kube_informer_bytes(const struct fpd_kube_informer *inf)
{
	return fpd_kube_store_bytes(inf->store);
}
