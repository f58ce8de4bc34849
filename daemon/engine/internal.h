/* Engine internals shared by engine.c, exec.c, calls.c and reply.c. Not for other subsystems. */
#ifndef FPD_ENGINE_INTERNAL_H
#define FPD_ENGINE_INTERNAL_H

#include "core/map.h"
#include "engine/engine.h"
#include "engine/resource_meta.h"
#include "kube/client.h"
#include "kube/informer.h"

#include <flyteplugd/plugin.h>

enum exec_state {
	EXEC_CREATING,      /* POST in flight */
	EXEC_WAITING_QUOTA, /* a resource quota refused the POST; retried with backoff */
	EXEC_REJECTED,      /* never created: the plugin or the API server refused it */
	EXEC_ACTIVE,        /* the object exists */
	EXEC_GONE,          /* the object was deleted; kept a while so GetTask can say so */
};

/* Owned copy of a task attempt's identity (struct fpd_task_ref points into it). */
struct exec_ref {
	struct fpd_task_ref ref;
	char *strings[12];
};

struct watched_kind;

struct execution {
	char *key; /* namespace/name */
	const struct fpd_plugin *plugin;
	struct watched_kind *kind;
	char *namespace_;
	char *name;
	char *uid; /* "" until created */
	enum exec_state state;
	struct exec_ref id;
	json_t *pending; /* CREATING / WAITING_QUOTA: the object to POST */
	char *observed;  /* compact JSON of the trimmed object as last seen, or NULL */
	struct fpd_phase_info phase;
	int64_t started_ms, last_poll_ms, finished_ms, gone_ms;
	int64_t next_create_ms, create_backoff_ms;
	bool deleting;           /* we asked the API server to delete it */
	bool finalizer_removing; /* a PATCH removing our finalizer is in flight */
	bool aborted;            /* DeleteTask was called */
	struct fpd_map pods;     /* related pods (operator plugins): name -> trimmed JSON */
	int busy;                /* kube calls in flight that refer to this entry */
	bool dead;               /* removed from the map; freed when busy drops to 0 */
};

/* One informer per kind the plugins create, plus pods when an operator plugin follows the
 * pods its operator creates. */
struct watched_kind {
	struct fpd_engine *engine;
	const struct fpd_plugin *plugin; /* the first plugin creating this kind, or NULL */
	char api_version[128];
	struct fpd_kube_gvr gvr;
	struct fpd_kube_informer *informer;
};

/* A call waiting for the API server. */
struct fpd_meta_signer;

struct pending_call {
	struct pending_call *next;
	struct fpd_engine *engine;
	struct execution *exec; /* may be NULL */
	fpd_engine_reply_fn done;
	void *ud;
	struct fpd_resource_meta meta;
};

struct fpd_engine {
	struct ev_loop *loop;
	const struct fpd_config *cfg;
	const struct fpd_registry *registry;
	const struct fpd_plugin_settings *psettings;
	struct fpd_kube_client *kube;
	struct fpd_meta_signer *signer; /* signs and verifies resource_meta */
	struct fpd_map execs;           /* key -> struct execution */
	struct watched_kind *kinds;
	size_t kind_count;
	struct pending_call *calls; /* every call waiting on the API server */
	ev_timer tick;
	/* Objects just created, observed once their CreateTask reply is out (engine.c). */
	ev_timer created_later;
	struct created *created_head;
	int64_t started_ms;
	int64_t last_sweep_ms;
	struct fpd_engine_stats stats;
};

/* exec.c */
struct execution *exec_new(struct fpd_engine *e, const struct fpd_plugin *plugin, const char *ns,
                           const char *name);
struct execution *exec_find(struct fpd_engine *e, const char *ns, const char *name);
void exec_remove(struct fpd_engine *e, struct execution *x);
void exec_release(struct execution *x); /* busy--, frees a dead entry at 0 */
void exec_set_ref(struct execution *x, const struct fpd_task_ref *ref);
int exec_ref_from_object(struct execution *x, const json_t *obj);
/* What an entry keeps of its object (dotted paths, "a.b[].c" for field c of each element of
 * the array a.b, NULL-terminated): always these, then its plugin's keep list. */
extern const char *const exec_kept_always[];
/* What status() may read of a related pod: the same as of a Pod plugin's own pod. */
extern const char *const exec_related_pod_keep[];

/* The object was created with this uid (borrowed): the entry is active. */
void exec_created(struct execution *x, const char *uid);
/* Observes obj (a new reference, taken) for x later in this loop iteration, after the replies
 * and requests waiting in it, unless the watch has shown x's object by then. */
void engine_observe_created(struct fpd_engine *e, struct execution *x, json_t *obj);
/* A new or changed object (full JSON, borrowed): trims it, keeps it, recomputes the phase. */
void exec_observe(struct fpd_engine *e, struct execution *x, json_t *obj);
/* Recomputes the phase from the kept object (time-based rules). */
void exec_recompute(struct fpd_engine *e, struct execution *x);
/* A related pod (full JSON, borrowed) changed (gone: deleted); recomputes the phase. */
void exec_observe_pod(struct fpd_engine *e, struct execution *x, json_t *pod, bool gone);
void exec_set_phase(struct execution *x, enum fpd_phase phase, const char *code,
                    enum fpd_error_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
struct watched_kind *engine_kind_for(struct fpd_engine *e, const struct fpd_plugin *plugin);

/* calls.c */
struct pending_call *call_new(struct fpd_engine *e, fpd_engine_reply_fn done, void *ud);
void call_reply_error(struct pending_call *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void call_free(struct fpd_engine *e, struct pending_call *c);
void engine_post(struct fpd_engine *e, struct execution *x, struct pending_call *c);
void engine_delete_object(struct fpd_engine *e, struct execution *x, const char *why);
void engine_remove_finalizer(struct fpd_engine *e, struct execution *x, const json_t *obj);

/* reply.c: packed responses (new allocations via out/len). */
void reply_create(struct pending_call *c, const struct fpd_resource_meta *meta,
                  const struct fpd_meta_signer *signer);
void reply_resource(struct pending_call *c, const struct fpd_phase_info *phase);
void reply_empty_delete(struct pending_call *c);

#endif
