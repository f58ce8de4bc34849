/*
 * Execution entries: one per task attempt, in the engine's table (keyed namespace/name), what
 * the engine knows of its object, and the phase the plugin computed from it. This module owns
 * the table and every state transition of an entry; it calls no other engine file.
 */
#ifndef FPD_ENGINE_EXEC_H
#define FPD_ENGINE_EXEC_H

#include "core/map.h"

#include <flyteplugd/plugin.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>

struct fpd_engine;
struct watched_kind;

enum exec_state {
	EXEC_CREATING,      /* POST in flight */
	EXEC_WAITING_QUOTA, /* a resource quota refused the POST; retried with backoff */
	EXEC_REJECTED,      /* never created: the plugin or the API server refused it */
	EXEC_ACTIVE,        /* the object exists */
	EXEC_GONE,          /* the object was deleted; kept a while so GetTask can say so */
};

/* Owned copy of a task attempt's identity: ref's strings all live in block. */
struct exec_ref {
	struct fpd_task_ref ref;
	char *block;
};

/* One per tracked attempt; 100,000 of them must fit in a few hundred bytes each, so strings
 * share allocations and rarely used parts are allocated when used. */
struct execution {
	char *key; /* "namespace/name\0namespace\0name": namespace_ and name point into it */
	char *namespace_;
	char *name;
	char *uid; /* "" until created */
	/* The uid of the Volcano PodGroup flyteplugd created for this attempt, or NULL. */
	char *group_uid;
	const struct fpd_plugin *plugin;
	struct watched_kind *kind;
	struct exec_ref id;
	/* The object built for this attempt until its first POST (call_post), then NULL. */
	json_t *pending;
	/* CREATING / WAITING_QUOTA: the body POSTed (sent_len bytes; Kubernetes' protobuf when
	 * sent_pb, else JSON text), sent again after a wait for quota. ACTIVE with pending_sent:
	 * the object as created, with the metadata the API server answered (sent_meta), kept
	 * until the API server's copy is observed or exec_settle observes it. The body, not the
	 * tree: most are dropped unread (the watch shows the object first), and freeing a tree
	 * built a millisecond earlier, no longer in the CPU's caches, cost the daemon ~8% of its
	 * CPU time per create. */
	char *sent;
	size_t sent_len;
	bool sent_pb;
	json_t *sent_meta;
	/* Compact JSON of the trimmed object as last seen, or NULL; without the identity
	 * annotation, and without the name, namespace and uid when they are the entry's. */
	char *observed;
	struct fpd_map *pods; /* related pods (operator plugins): name -> trimmed JSON; or NULL */
	struct fpd_phase_info phase;
	int64_t started_ms, last_poll_ms, finished_ms, gone_ms;
	/* The latest poll any replica recorded on the object (FPD_ANNOTATION_LAST_POLL), or its
	 * creation (a CreateTask is a sign of life too): 0 until observed. */
	int64_t noted_poll_ms;
	int64_t next_create_ms, create_backoff_ms;
	enum exec_state state;
	int busy;                /* kube calls in flight that refer to this entry */
	bool poll_noting;        /* a PATCH recording a poll is in flight */
	bool deleting;           /* we asked the API server to delete it */
	bool finalizer_removing; /* a PATCH removing our finalizer is in flight */
	bool aborted;            /* DeleteTask was called */
	bool observed_as_sent;   /* observed is the object as sent, not the API server's copy */
	bool pending_sent;       /* sent is the object as created, not observed yet */
	bool dead;               /* removed from the map; freed when busy drops to 0 */
};

/* A new entry for plugin's object ns/name, of kind (borrowed, the plugin's), in e's table. */
struct execution *exec_new(struct fpd_engine *e, const struct fpd_plugin *plugin,
                           struct watched_kind *kind, const char *ns, const char *name);
/* The entry for ns/name (borrowed), or NULL. */
struct execution *exec_find(struct fpd_engine *e, const char *ns, const char *name);
/* Takes x out of the table; it is freed now, or when its last holder releases it. */
void exec_remove(struct fpd_engine *e, struct execution *x);
void exec_hold(struct execution *x);    /* busy++: a call refers to x */
void exec_release(struct execution *x); /* busy--, frees a dead entry at 0 */
void exec_set_ref(struct execution *x, const struct fpd_task_ref *ref);
int exec_ref_from_object(struct execution *x, const json_t *obj);

/* The parts of obj an entry keeps (exec_kept_always and keep: dotted paths, "a.b[].c" for
 * field c of each element of array a.b), without the identity annotation: a new object that
 * shares obj's values, valid while obj is unchanged. Its metadata and annotations are its own
 * objects. */
json_t *exec_kept_object(const json_t *obj, const char *const *keep);
/* What an entry keeps of its object (dotted paths, "a.b[].c" for field c of each element of
 * the array a.b, NULL-terminated): always these, then its plugin's keep list. */
extern const char *const exec_kept_always[];
/* What status() may read of a related pod: the same as of a Pod plugin's own pod. */
extern const char *const exec_related_pod_keep[];

/* Drops the object built or sent for this attempt (pending, sent, sent_meta). */
void exec_drop_object(struct execution *x);
/* The object was created with this uid (borrowed): the entry is active. */
void exec_created(struct execution *x, const char *uid);
/* A new or changed object (full JSON, borrowed): trims it, keeps it, recomputes the phase. */
void exec_observe(struct fpd_engine *e, struct execution *x, json_t *obj);
/* If x still holds the object as it created it (pending_sent: no copy of the API server's has
 * been observed since), observes that now and drops it: the object as CreateTask sent it, with
 * the metadata the API server answered, kept like exec_observe's, but until the API server's
 * own copy is observed the phase computed from it is at most QUEUED (that copy carries the
 * status the sent one lacks). */
void exec_settle(struct fpd_engine *e, struct execution *x);
/* Recomputes the phase from the kept object (time-based rules). */
void exec_recompute(struct fpd_engine *e, struct execution *x);
/* A related pod (full JSON, borrowed) changed (gone: deleted); recomputes the phase. */
void exec_observe_pod(struct fpd_engine *e, struct execution *x, json_t *pod, bool gone);
void exec_set_phase(struct execution *x, enum fpd_phase phase, const char *code,
                    enum fpd_error_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* The create was refused (HTTP status http, the API server's message msg, the whole error
 * error); Flyte's classification (plugin_manager.go launchResource): a quota refusal waits and
 * is retried with backoff (up to retry_max_ms), the rest fail the attempt. Returns true when it
 * waits for quota. */
bool exec_create_refused(struct execution *x, int http, const char *msg, const char *error,
                         int64_t retry_max_ms);
/* Heap bytes of an allocation as malloc counts them (0 for NULL). */
static inline size_t exec_usable(const void *p)
{
	return p ? malloc_usable_size((void *)p) : 0;
}
/* Heap bytes x holds (exec_usable of each of its allocations). */
size_t exec_bytes(const struct execution *x);
/* An entry's state as the admin endpoint shows it ("active", "waiting-for-quota", ...). */
const char *exec_state_name(enum exec_state s);

#endif
