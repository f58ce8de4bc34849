/*
 * Engine lifecycle: informers per watched kind, the housekeeping tick (rechecks, quota retries,
 * cleanup of finished objects and orphans), statistics. See engine.h for the design note.
 */
#include "engine/internal.h"

#include "core/clock.h"
#include "core/log.h"
#include <flyteplugd/mem.h>
#include "engine/decorate.h"

#include <flyteplugd/object.h>
#include <stdlib.h>
#include <string.h>

#define TICK_SECONDS 1.0
#define GONE_KEEP_MS (10 * 60 * 1000) /* GetTask may still ask about a deleted object */

/* What the pods informer keeps of each pod, so that a deletion can be attributed. */
enum { POD_FIELD_OWNER, POD_FIELD_PLUGIN };
static const struct fpd_kube_field pod_fields[] = {
    {"/metadata/labels/flyteplugd.flyte.org~1owner", false},
    {"/metadata/labels/flyteplugd.flyte.org~1plugin", true},
};

int fpd_engine_new(struct ev_loop *loop, const struct fpd_config *cfg,
                   const struct fpd_registry *registry, const struct fpd_plugin_settings *psettings,
                   struct fpd_kube_client *kube, const struct fpd_keys *keys,
                   struct fpd_engine **out, struct fpd_error *err)
{
	char own_ns[256];
	struct fpd_policy *policy;
	if (fpd_policy_own_namespace(cfg->policy.own_namespace, FPD_POLICY_NAMESPACE_FILE, own_ns,
	                             sizeof(own_ns), err) ||
	    fpd_policy_new(&cfg->policy, own_ns, &policy, err))
		return FPD_EINVAL;
	struct fpd_meta_signer *signer;
	if (fpd_meta_signer_new(keys, &signer, err)) {
		fpd_policy_free(policy);
		return FPD_ERR;
	}
	struct fpd_engine *e = fpd_calloc(1, sizeof(*e));
	e->signer = signer;
	e->policy = policy;
	e->loop = loop;
	e->cfg = cfg;
	e->registry = registry;
	e->psettings = psettings;
	e->kube = kube;
	e->cleanup = true;
	fpd_map_init(&e->execs);
	calls_init(e);
	int rc = FPD_OK;
	for (size_t i = 0; !rc && i < fpd_registry_count(registry); i++) {
		const struct fpd_plugin *p = fpd_registry_at(registry, i);
		if (!p->kind || !p->build || !p->status)
			continue;
		rc = kinds_add(e, p->kind, p, err);
		if (!rc && p->pod_owner_label)
			rc = kinds_add(e, &kinds_pods, NULL, err);
	}
	if (rc) {
		fpd_engine_free(e);
		return rc;
	}
	*out = e;
	return FPD_OK;
}

/* ---- informer callbacks -------------------------------------------------------------- */

static const struct fpd_plugin *plugin_of(struct fpd_engine *e, const json_t *obj,
                                          struct watched_kind *k)
{
	/* label keys contain dots: look the label up directly, not by path */
	const json_t *labels = fpd_json_get(obj, "metadata.labels");
	const char *name = json_string_value(json_object_get(labels, FPD_LABEL_PLUGIN));
	const struct fpd_plugin *p = name ? fpd_registry_by_name(e->registry, name) : NULL;
	return p ? p : k->plugin;
}

/* Whether a pod whose plugin label says `plugin` (NULL: no label) is a task's own object,
 * built by a plugin that creates pods. The label alone does not say so: some operators copy
 * their object's labels onto every pod they create (the Dask operator does), and such a pod
 * carries the label of a plugin whose object is not a pod. */
static bool own_pod(struct fpd_engine *e, const char *plugin)
{
	const struct fpd_plugin *p = plugin ? fpd_registry_by_name(e->registry, plugin) : NULL;
	return p && p->kind && !strcmp(p->kind->api_version, kinds_pods.api_version) &&
	       !strcmp(p->kind->kind, kinds_pods.kind);
}

/* A pod that is not itself a task's object: one an operator created for a task's object,
 * found through the owner label its pod template (or its operator) carried. */
static bool related_pod(struct fpd_engine *e, json_t *obj)
{
	const json_t *labels = fpd_json_get(obj, "metadata.labels");
	if (own_pod(e, json_string_value(json_object_get(labels, FPD_LABEL_PLUGIN))))
		return false;
	const char *owner = json_string_value(json_object_get(labels, FPD_LABEL_OWNER));
	const char *ns = fpd_json_str(obj, "metadata.namespace");
	struct execution *x = owner && ns ? exec_find(e, ns, owner) : NULL;
	fpd_log(FPD_LOG_DEBUG, "engine", "pod %s/%s: owner %s%s", ns ? ns : "?",
	        fpd_json_str_or(obj, "metadata.name", "?"), owner ? owner : "(none)",
	        x ? "" : " (not tracked)");
	if (x && x->plugin->pod_owner_label)
		exec_observe_pod(e, x, obj, false);
	return true;
}

static void on_object(void *ud, json_t *obj, struct fpd_kube_proj *proj)
{
	struct watched_kind *k = ud;
	struct fpd_engine *e = k->engine;
	const char *ns = fpd_json_str(obj, "metadata.namespace");
	const char *name = fpd_json_str(obj, "metadata.name");
	if (!ns || !name)
		return;
	if (kinds_is_pods(k) && related_pod(e, obj))
		return;
	struct execution *x = exec_find(e, ns, name);
	if (!x) {
		if (!k->plugin)
			return;
		/* Listed after a restart, or created by another replica: rebuild the entry from
		 * the object's identity annotation. */
		const struct fpd_plugin *plugin = plugin_of(e, obj, k);
		x = exec_new(e, plugin, kinds_for(e, plugin), ns, name);
		if (exec_ref_from_object(x, obj) < 0)
			fpd_log(FPD_LOG_WARN, "engine", "%s: managed object without identity",
			        x->key);
		x->last_poll_ms = e->started_ms;
	}
	exec_observe(e, x, obj);
	if (fpd_json_get(obj, "metadata.deletionTimestamp")) {
		/* Someone (maybe us) deletes it: the final state is recorded above; let it go. */
		x->deleting = true;
		call_remove_finalizer(e, x, obj);
	}
	(void)proj;
}

static void on_delete(void *ud, const struct fpd_kube_obj *obj, bool final_state_unknown)
{
	struct watched_kind *k = ud;
	struct fpd_engine *e = k->engine;
	if (kinds_is_pods(k) && !own_pod(e, fpd_kube_obj_field(obj, POD_FIELD_PLUGIN))) {
		/* Not a task's own pod: maybe one an operator created for a task. */
		const char *owner = fpd_kube_obj_field(obj, POD_FIELD_OWNER);
		struct execution *x =
		    owner ? exec_find(e, fpd_kube_obj_namespace(obj), owner) : NULL;
		if (x && x->plugin->pod_owner_label) {
			json_t *stub =
			    json_pack("{s:{s:s}}", "metadata", "name", fpd_kube_obj_name(obj));
			exec_observe_pod(e, x, stub, true);
			json_decref(stub);
		}
		return;
	}
	struct execution *x = exec_find(e, fpd_kube_obj_namespace(obj), fpd_kube_obj_name(obj));
	if (!x)
		return;
	if (!fpd_phase_is_terminal(x->phase.phase))
		exec_set_phase(x, FPD_PHASE_RETRYABLE_FAILED, "ResourceDeletedExternally",
		               FPD_KIND_SYSTEM, "resource not found, name [%s]%s", x->key,
		               final_state_unknown ? " (deleted while flyteplugd was not watching)"
		                                   : "");
	/* Its group goes too (also when someone else deleted the object). */
	if (x->state != EXEC_GONE)
		call_delete_group(e, x, x->namespace_, x->name, x->uid);
	x->state = EXEC_GONE;
	x->gone_ms = fpd_clock_wall_ms();
}

static void on_error(void *ud, const struct fpd_error *err, int64_t retry_in_ms)
{
	struct watched_kind *k = ud;
	/* The informer has logged it (at WARN the first time). */
	fpd_log(FPD_LOG_DEBUG, "engine", "watching %s: %s (retrying in %lld ms)", k->gvr.resource,
	        err->text, (long long)retry_in_ms);
}

/* ---- housekeeping -------------------------------------------------------------------- */

/* When the task was last known to be wanted. With replicas, propeller's polls go to any of
 * them, so this replica's own poll times are not enough: the object carries the last poll any
 * replica recorded (calls.c, note_poll) and its creation. Nor may a replica that has just
 * started sweeping judge by what it saw before: it counts from then at the earliest. */
static int64_t last_sign_of_life(const struct fpd_engine *e, const struct execution *x)
{
	int64_t t = x->last_poll_ms;
	if (x->noted_poll_ms > t)
		t = x->noted_poll_ms;
	if (e->cleanup_since_ms > t)
		t = e->cleanup_since_ms;
	return t;
}

static void housekeep(struct fpd_engine *e, struct execution *x, int64_t now, bool sweep)
{
	const struct fpd_config_engine *c = &e->cfg->engine;
	if (x->state == EXEC_WAITING_QUOTA && now >= x->next_create_ms && (x->pending || x->sent)) {
		call_post(e, x, call_new(e, NULL, NULL));
		return;
	}
	if (x->phase.recheck_at_ms && now >= x->phase.recheck_at_ms) {
		x->phase.recheck_at_ms = 0;
		exec_recompute(e, x);
	}
	/* Orphans and TTLs are judged only once this kind's informer has listed: until then an
	 * object may just not be known yet. (Kinds are independent: an operator whose CRD is
	 * not installed must not stop the cleanup of the others.) */
	if (!sweep || !x->kind->informer || !fpd_kube_informer_synced(x->kind->informer))
		return;
	if (x->state == EXEC_GONE && now - x->gone_ms >= GONE_KEEP_MS) {
		exec_remove(e, x);
		return;
	}
	if (x->state == EXEC_REJECTED && x->finished_ms &&
	    now - x->finished_ms >= c->cleanup_ttl_ms) {
		exec_remove(e, x);
		return;
	}
	/* Deleting objects is the sweeper's alone (the Lease holder); forgetting entries above is
	 * every replica's own memory. */
	if (!e->cleanup || x->state != EXEC_ACTIVE || x->deleting)
		return;
	if (fpd_phase_is_terminal(x->phase.phase) && x->finished_ms &&
	    now - x->finished_ms >= c->cleanup_ttl_ms) {
		e->stats.cleanups++;
		call_delete_object(e, x, "finished, cleanup TTL passed");
	} else if (!fpd_phase_is_terminal(x->phase.phase) &&
	           now - last_sign_of_life(e, x) >= c->orphan_after_ms) {
		e->stats.orphans_deleted++;
		exec_set_phase(x, FPD_PHASE_ABORTED, "Orphaned", FPD_KIND_SYSTEM,
		               "nobody asked about this task for %lld s",
		               (long long)(c->orphan_after_ms / 1000));
		call_delete_object(e, x, "orphan: not polled");
	}
}

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fpd_engine *e = w->data;
	int64_t now = fpd_clock_wall_ms();
	bool sweep = now - e->last_sweep_ms >= e->cfg->engine.sweep_interval_ms;
	if (sweep)
		e->last_sweep_ms = now;
	size_t it = 0;
	const char *key;
	void *v;
	while (fpd_map_next(&e->execs, &it, &key, &v))
		housekeep(e, v, now, sweep);
}

/* A dotted keep path as a JSON Pointer for the pruner: "spec.runPolicy.backoffLimit" ->
 * "/spec/runPolicy/backoffLimit"; "[]." (each element) becomes the pruner's "*" token. */
static void add_keep(struct fpd_strings *ptrs, const char *const *paths)
{
	for (const char *const *p = paths; p && *p; p++) {
		char ptr[512];
		size_t n = 0;
		ptr[n++] = '/';
		for (const char *c = *p; *c && n + 4 < sizeof(ptr); c++) {
			if (strncmp(c, "[].", 3) == 0) {
				memcpy(ptr + n, "/*/", 3);
				n += 3;
				c += 2;
			} else if (*c == '.') {
				ptr[n++] = '/';
			} else if (*c == '~' || *c == '/') {
				ptr[n++] = '~';
				ptr[n++] = *c == '~' ? '0' : '1';
			} else {
				ptr[n++] = *c;
			}
		}
		ptr[n] = '\0';
		if (!fpd_strings_contains(ptrs, ptr))
			fpd_strings_push(ptrs, ptr);
	}
}

/* What the engine and the plugins read of objects of kind k (exec_observe trims to it): the
 * informer builds only these, skipping managedFields, most of spec and the rest at scanning
 * speed instead of building them and throwing them away. */
static void keep_pointers(const struct fpd_engine *e, const struct watched_kind *k,
                          struct fpd_strings *ptrs)
{
	add_keep(ptrs, exec_kept_always);
	for (size_t i = 0; i < fpd_registry_count(e->registry); i++) {
		const struct fpd_plugin *p = fpd_registry_at(e->registry, i);
		if (p->kind && strcmp(p->kind->api_version, k->api_version) == 0 &&
		    strcmp(p->kind->kind, k->gvr.kind) == 0)
			add_keep(ptrs, p->keep);
	}
	if (kinds_is_pods(k))
		add_keep(ptrs, exec_related_pod_keep);
}

int engine_watch(struct fpd_engine *e, struct watched_kind *k, struct fpd_error *err)
{
	struct fpd_strings keep = {0};
	keep_pointers(e, k, &keep);
	if (k->informer && keep.count == k->nkeep) {
		fpd_strings_free(&keep);
		return FPD_OK;
	}
	char selector[128];
	snprintf(selector, sizeof(selector), "%s=%s", FPD_LABEL_MANAGED_BY, FPD_MANAGED_BY);
	struct fpd_kube_informer_opts o = {
	    .gvr = k->gvr,
	    .label_selector = selector,
	    .project = on_object,
	    .on_delete = on_delete,
	    .on_error = on_error,
	    .ud = k,
	    .keep = (const char *const *)keep.items,
	    .nkeep = keep.count,
	    .page_size = e->cfg->kubernetes.list_page_size,
	};
	if (kinds_is_pods(k)) {
		o.fields = pod_fields;
		o.nfields = FPD_ARRAY_LEN(pod_fields);
	}
	/* A plugin declared at run time reads more of the objects: list them again with it. */
	struct fpd_kube_informer *inf;
	int rc = fpd_kube_informer_new(e->kube, &o, &inf, err);
	fpd_strings_free(&keep);
	if (rc)
		return rc;
	if (k->informer)
		calls_unwait(e, k);
	fpd_kube_informer_free(k->informer);
	k->informer = inf;
	k->nkeep = o.nkeep;
	fpd_kube_informer_start(inf);
	return FPD_OK;
}

int fpd_engine_start(struct fpd_engine *e, struct fpd_error *err)
{
	e->started_ms = fpd_clock_wall_ms();
	e->last_sweep_ms = e->started_ms;
	for (size_t i = 0; i < e->kind_count; i++) {
		int rc = engine_watch(e, e->kinds[i], err);
		if (rc)
			return rc;
	}
	e->started = true;
	ev_timer_init(&e->tick, on_tick, TICK_SECONDS, TICK_SECONDS);
	e->tick.data = e;
	ev_timer_start(e->loop, &e->tick);
	return FPD_OK;
}

int fpd_engine_watch_kind(struct fpd_engine *e, const struct fpd_plugin *plugin,
                          struct fpd_error *err)
{
	if (!plugin->kind || !plugin->build || !plugin->status)
		return FPD_OK;
	int rc = kinds_add(e, plugin->kind, plugin, err);
	struct watched_kind *k = kinds_find(e, plugin->kind->api_version, plugin->kind->kind);
	if (!rc && plugin->pod_owner_label)
		rc = kinds_add(e, &kinds_pods, NULL, err);
	if (rc || !e->started)
		return rc;
	if (!k->plugin)
		k->plugin = plugin;
	rc = engine_watch(e, k, err);
	if (!rc && plugin->pod_owner_label)
		rc = engine_watch(e, kinds_find(e, kinds_pods.api_version, kinds_pods.kind), err);
	return rc;
}

bool fpd_engine_ready(const struct fpd_engine *e)
{
	/* Built-in kinds must have listed; an operator's kind may be missing from a cluster that
	 * does not run that operator, and must not keep every other task type unserved. */
	for (size_t i = 0; i < e->kind_count; i++)
		if (!e->kinds[i]->gvr.group[0] && !fpd_kube_informer_synced(e->kinds[i]->informer))
			return false;
	return true;
}

size_t fpd_engine_unlisted(const struct fpd_engine *e, char *out, size_t size)
{
	size_t n = 0, used = 0;
	if (size)
		out[0] = '\0';
	for (size_t i = 0; i < e->kind_count; i++) {
		const struct watched_kind *k = e->kinds[i];
		if (k->informer && fpd_kube_informer_synced(k->informer))
			continue;
		n++;
		if (used < size)
			used += (size_t)snprintf(out + used, size - used, "%s%s.%s",
			                         n > 1 ? ", " : "", k->gvr.resource,
			                         k->gvr.group[0] ? k->gvr.group : "core");
	}
	return n;
}

void fpd_engine_free(struct fpd_engine *e)
{
	if (!e)
		return;
	ev_timer_stop(e->loop, &e->tick);
	/* Pending Kubernetes calls hold pointers to calls and entries: abandon them first. */
	calls_free(e);
	for (size_t i = 0; i < e->kind_count; i++)
		fpd_kube_informer_free(e->kinds[i]->informer);
	size_t it = 0;
	const char *key;
	void *v;
	while (fpd_map_next(&e->execs, &it, &key, &v)) {
		struct execution *x = v;
		x->busy = 0;
		exec_remove(e, x);
	}
	fpd_map_free(&e->execs);
	for (size_t i = 0; i < e->kind_count; i++)
		free(e->kinds[i]);
	free(e->kinds);
	fpd_meta_signer_free(e->signer);
	fpd_policy_free(e->policy);
	free(e);
}

void fpd_engine_set_cleanup(struct fpd_engine *e, bool on)
{
	if (on && !e->cleanup)
		e->cleanup_since_ms = fpd_clock_wall_ms();
	if (on != e->cleanup)
		fpd_log(FPD_LOG_INFO, "engine", "cleanup of finished and orphaned objects %s",
		        on ? "on: this replica sweeps" : "off: another replica sweeps");
	e->cleanup = on;
}

bool fpd_engine_cleanup(const struct fpd_engine *e)
{
	return e->cleanup;
}

void fpd_engine_get_memory(const struct fpd_engine *e, struct fpd_engine_memory *out)
{
	*out = (struct fpd_engine_memory){0};
	/* A scrape must not hold the loop for a walk of 100,000 entries: the first ones in slot
	 * order (by hash, so in no order of their own) stand for all. */
	enum { SAMPLE = 1024 };
	size_t it = 0, n = 0, bytes = 0;
	const char *key;
	void *v;
	while (n < SAMPLE && fpd_map_next(&e->execs, &it, &key, &v)) {
		bytes += exec_bytes(v) + exec_usable(key);
		n++;
	}
	if (n)
		out->executions = (size_t)((double)bytes * (double)e->execs.count / (double)n);
	out->executions += exec_usable(e->execs.slots);
	for (size_t i = 0; i < e->kind_count; i++)
		if (e->kinds[i]->informer)
			out->informer_cache += fpd_kube_informer_bytes(e->kinds[i]->informer);
}

void fpd_engine_get_stats(const struct fpd_engine *e, struct fpd_engine_stats *out)
{
	*out = e->stats;
	out->policy = *fpd_policy_stats(e->policy);
	out->executions = e->execs.count;
	out->active = 0;
	size_t it = 0;
	const char *key;
	void *v;
	while (fpd_map_next(&e->execs, &it, &key, &v))
		if (!fpd_phase_is_terminal(((struct execution *)v)->phase.phase))
			out->active++;
}
