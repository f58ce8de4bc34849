/* Engine internals shared by the engine's files (see engine.h for their order). Not for other
 * subsystems. */
#ifndef FPD_ENGINE_INTERNAL_H
#define FPD_ENGINE_INTERNAL_H

#include "core/map.h"
#include "engine/engine.h"
#include "engine/exec.h"
#include "engine/policy.h"
#include "engine/resource_meta.h"
#include "kube/client.h"
#include "kube/informer.h"

#include <flyteplugd/plugin.h>

/* One informer per kind the plugins create, plus pods when an operator plugin follows the
 * pods its operator creates. */
struct watched_kind {
	struct fpd_engine *engine;
	const struct fpd_plugin *plugin; /* the first plugin creating this kind, or NULL */
	char api_version[128];
	struct fpd_kube_gvr gvr;
	struct fpd_kube_informer *informer;
	size_t nkeep; /* how many paths the informer keeps (a new plugin may add some) */
};

/* A call waiting for the API server. */
struct fpd_meta_signer;

struct pending_call {
	struct pending_call *next;
	struct fpd_engine *engine;
	struct execution *exec;       /* may be NULL */
	struct watched_kind *waiting; /* a GetTask waiting on this kind's informer, or NULL */
	bool fetching;                /* a GetTask whose GET is outstanding */
	fpd_engine_done_fn done;
	void *ud;
	struct fpd_resource_meta meta;
};

struct created;

struct fpd_engine {
	struct ev_loop *loop;
	const struct fpd_config *cfg;
	const struct fpd_registry *registry;
	const struct fpd_plugin_settings *psettings;
	struct fpd_kube_client *kube;
	struct fpd_meta_signer *signer; /* signs and verifies resource_meta */
	struct fpd_policy *policy;      /* the caller policy (cfg->policy) */
	struct fpd_map execs;           /* key -> struct execution */
	struct watched_kind **kinds; /* each allocated alone: entries and informers point at them */
	size_t kind_count;
	bool started;
	struct pending_call *calls; /* every call waiting on the API server */
	ev_timer tick;
	/* Objects just created whose API server copy has not been observed yet (calls.c). */
	ev_timer created_later;
	struct created *created_head;
	int64_t started_ms;
	int64_t last_sweep_ms;
	bool cleanup;             /* this replica sweeps (fpd_engine_set_cleanup) */
	int64_t cleanup_since_ms; /* when it last started to (0: since it started) */
	struct fpd_engine_stats stats;
};

/* kinds.c */
extern const struct fpd_kind kinds_pods;
int kinds_add(struct fpd_engine *e, const struct fpd_kind *kind, const struct fpd_plugin *plugin,
              struct fpd_error *err);
struct watched_kind *kinds_for(struct fpd_engine *e, const struct fpd_plugin *plugin);
bool kinds_is_pods(const struct watched_kind *k);
/* The kind of api_version/kind (borrowed), or NULL. */
struct watched_kind *kinds_find(struct fpd_engine *e, const char *api_version, const char *kind);

/* engine.c: (re)starts k's informer when its keep list grew (a plugin added at run time). */
int engine_watch(struct fpd_engine *e, struct watched_kind *k, struct fpd_error *err);

/* calls.c */
void calls_init(struct fpd_engine *e);
/* Cancels every call waiting on the API server (no callback runs) and drops the objects
 * waiting to be observed. */
void calls_free(struct fpd_engine *e);
struct pending_call *call_new(struct fpd_engine *e, fpd_engine_done_fn done, void *ud);
void call_free(struct fpd_engine *e, struct pending_call *c);
/* POSTs x's object (x->pending as built, or x->sent again after a wait for quota); c (from
 * call_new) is freed when it completes. */
void call_post(struct fpd_engine *e, struct execution *x, struct pending_call *c);
/* The GetTask calls waiting on k's informer (about to be replaced) GET their objects. */
void calls_unwait(struct fpd_engine *e, struct watched_kind *k);
void call_delete_object(struct fpd_engine *e, struct execution *x, const char *why);
/* Deletes the Volcano PodGroup ns/name once the object of uid obj_uid is deleted, if a GET
 * shows it is that object's (owned by it, or made for x, its entry, or NULL); a group made
 * for another object of that name is left alone. */
void call_delete_group(struct fpd_engine *e, struct execution *x, const char *ns, const char *name,
                       const char *obj_uid);
void call_remove_finalizer(struct fpd_engine *e, struct execution *x, const json_t *obj);

#endif
