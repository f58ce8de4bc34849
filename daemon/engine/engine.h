/*
 * The engine: runs tasks. It turns a task request into a Kubernetes object (prepare → plugin
 * build → decorate → POST), follows every object it manages through informers and keeps each
 * one's Flyte phase current, so a status request is a lookup, deletes on request, and cleans up
 * after itself (finished objects after a TTL, orphans nobody asks about, its own finalizer).
 *
 * Design note. One entry per task attempt ("execution", exec.h), keyed namespace/name, in a hash
 * map. An entry holds the plugin, the object's uid, the attempt's identity, the last phase the
 * plugin computed and a compact copy of the trimmed object (kept so time-based rules can be
 * re-evaluated without a new event). Entries are rebuilt from the API server after a restart:
 * the informers list every managed object, and each object carries its identity annotation.
 * Everything a status request needs besides that is in resource_meta, the engine's own signed
 * token (bytes out of create, bytes into get and delete).
 *
 * The API is typed and knows no wire format: the agent layer decodes a protocol's requests into
 * the structs below and encodes the results in its replies. Calls complete through a callback,
 * from the loop: at once for lookups, later when the API server answers.
 *
 * Files, each using only those before it (no two call each other):
 *   naming.c, decorate.c, prepare.c, registry.c, plugin_settings.c, resource_meta.c
 *   build.c    the pure pipeline prepare → build → decorate (CreateTask and `render`)
 *   kinds.c    the kinds the engine watches, one per plugin kind (+ pods)
 *   exec.c     the execution table and its state transitions (exec.h)
 *   report.c   the executions as JSON for the admin endpoint, chosen and written in slices
 *              (report.h)
 *   calls.c    create, get and delete, and the Kubernetes requests they make
 *   engine.c   lifecycle: informers, the housekeeping tick, statistics
 */
#ifndef FPD_ENGINE_ENGINE_H
#define FPD_ENGINE_ENGINE_H

#include "core/config.h"
#include <flyteplugd/error.h>
#include "engine/plugin_settings.h"
#include "engine/policy.h"
#include "engine/registry.h"

#include <flyteplugd/phase.h>
#include <flyteplugd/task.h>

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fpd_engine;
struct fpd_keys;
struct fpd_kube_client;

/* A string pair (a label, an annotation, an environment variable). */
struct fpd_kv {
	const char *key;
	const char *value;
};

/* Who runs a task attempt, and where. Every pointer is borrowed for the call; NULL strings and
 * empty lists mean "not given". */
struct fpd_task_meta {
	/* The attempt's identity: execution project, domain and name, node id, retry attempt.
	 * The execution name and the node id are required. */
	const char *project;
	const char *domain;
	const char *execution;
	const char *node_id;
	uint32_t retry_attempt;
	/* The task's id (project, domain, name, version); NULL: the template's id. */
	const Flyteidl__Core__Identifier *task_id;
	const char *namespace_;      /* NULL or "": namespaces.default */
	const char *service_account; /* Kubernetes service account, unless the template names one */
	const struct fpd_kv *labels; /* on the object and its pod templates */
	size_t n_labels;
	const struct fpd_kv *annotations;
	size_t n_annotations;
	const struct fpd_kv *env; /* the execution's environment variables */
	size_t n_env;
	bool interruptible;
	/* What plugins read as fpd_task.meta (overrides, the run-as identity, max attempts): the
	 * protocol's execution metadata in Flyte 1's form, or NULL. */
	const Flyteidl__Admin__TaskExecutionMetadata *plugin_meta;
};

/* A task to run (CreateTask). Borrowed for the call. */
struct fpd_task_request {
	const Flyteidl__Core__TaskTemplate *tmpl; /* required, with a type */
	const Flyteidl__Core__LiteralMap *inputs; /* may be NULL */
	const char *output_prefix;                /* NULL: "" */
	struct fpd_task_meta meta;
};

/* A task the engine started: the resource_meta bytes its create returned. Borrowed. */
struct fpd_meta {
	const uint8_t *data;
	size_t len;
};

/*
 * What a call answers, borrowed for the callback. code is FPD_OK, or a negative FPD_E* when the
 * call itself failed, with message saying why:
 *   FPD_EINVAL the request is malformed, FPD_EPERM not allowed (a forged resource_meta, a
 *   namespace not served), FPD_ENOENT no plugin serves the task type, FPD_EIO / FPD_ETIMEDOUT
 *   the Kubernetes API did not answer (worth retrying), anything else an internal error.
 * On success:
 *   create: resource_meta/resource_meta_len, the token to hand back on get and delete;
 *   get:    status, the attempt's phase, its code, error kind and message, log links and
 *           custom info; outputs, the status's outputs: proto3 JSON of a
 *           flyteidl.core.LiteralMap the plugin computed (NULL: the task writes its outputs
 *           under output_prefix);
 *   delete: nothing.
 */
struct fpd_engine_result {
	int code;
	const char *message;
	const uint8_t *resource_meta;
	size_t resource_meta_len;
	const struct fpd_phase_info *status;
	const json_t *outputs;
};

typedef void (*fpd_engine_done_fn)(void *ud, const struct fpd_engine_result *result);

/* A new engine. loop, cfg, registry, psettings (plugin settings) and kube are borrowed and must
 * outlive it. keys (borrowed, copied into the engine's signer: may be freed afterwards) sign
 * resource_meta with the first key and verify it with any (engine/keys.h). Nothing runs until
 * fpd_engine_start. The engine starts with cleanup on (see fpd_engine_set_cleanup). */
int fpd_engine_new(struct ev_loop *loop, const struct fpd_config *cfg,
                   const struct fpd_registry *registry, const struct fpd_plugin_settings *psettings,
                   struct fpd_kube_client *kube, const struct fpd_keys *keys,
                   struct fpd_engine **out, struct fpd_error *err);

/* Turns the sweeps on or off: deleting finished objects after engine.cleanup_ttl and orphans
 * after engine.orphan_after. With several replicas only the holder of the leader Lease sweeps
 * (serve.c), so that two replicas never race to delete the same object. Every replica still
 * follows every object and answers every call whatever this says. */
void fpd_engine_set_cleanup(struct fpd_engine *e, bool on);
bool fpd_engine_cleanup(const struct fpd_engine *e);

/* Starts the informers (one per watched kind) and the housekeeping timer. */
int fpd_engine_start(struct fpd_engine *e, struct fpd_error *err);

/* Follows the objects of plugin's kind (borrowed; it must outlive the engine, as a withdrawn
 * declared type does): a plugin put in the registry after fpd_engine_new (a task type declared
 * at run time) has its kind watched from now on. Idempotent; an informer whose plugins now
 * keep more of each object lists again. Errors as fpd_kube_informer_new's. */
int fpd_engine_watch_kind(struct fpd_engine *e, const struct fpd_plugin *plugin,
                          struct fpd_error *err);

/* Readiness: true once the informers of Kubernetes' own kinds (pods) have listed. Operator
 * kinds are not waited for: their CRD may not be installed. */
bool fpd_engine_ready(const struct fpd_engine *e);

/* Kinds whose informer has not listed yet, as "resource.group, ..." in out (size bytes,
 * truncated); returns how many. */
size_t fpd_engine_unlisted(const struct fpd_engine *e, char *out, size_t size);

/* Stops everything; pending replies are dropped (their calls are cancelled by the caller). */
void fpd_engine_free(struct fpd_engine *e);

/* The three task calls. done runs exactly once (maybe before the function returns), unless
 * fpd_engine_forget(e, ud) is called first. */
void fpd_engine_create(struct fpd_engine *e, const struct fpd_task_request *req,
                       fpd_engine_done_fn done, void *ud);
void fpd_engine_get(struct fpd_engine *e, const struct fpd_meta *meta, fpd_engine_done_fn done,
                    void *ud);
void fpd_engine_delete(struct fpd_engine *e, const struct fpd_meta *meta, fpd_engine_done_fn done,
                       void *ud);

/* The caller of every pending call with user data ud went away: its callback will not run. The
 * work itself goes on (a create still completes and is tracked). */
void fpd_engine_forget(struct fpd_engine *e, void *ud);

struct fpd_engine_stats {
	size_t executions; /* tracked task attempts */
	size_t active;     /* of which not finished */
	uint64_t creates, create_errors, gets, deletes, cleanups, orphans_deleted;
	uint64_t status_unknown; /* objects in a state their plugin did not recognise */
	/* Created objects first judged as sent: no copy of the API server's had been observed
	 * when a GetTask asked or the window after the create passed (calls.c). */
	uint64_t creates_seen_as_sent;
	/* Creates' POSTs with a body in protobuf (pods), and in JSON. */
	uint64_t create_bodies_protobuf, create_bodies_json;
	/* GetTask cache misses: GETs sent; calls that waited for the informer's first list and
	 * were answered by its delivery, that it completed without (then GET), and that passed
	 * engine.unlisted_wait (then GET too, still answered by a delivery that comes first). */
	uint64_t get_fetches, get_waits_delivered, get_waits_unlisted, get_waits_timed_out;
	struct fpd_policy_stats policy; /* refusals by rule of the caller policy */
};
void fpd_engine_get_stats(const struct fpd_engine *e, struct fpd_engine_stats *out);

/* Heap bytes the engine holds, by part, as malloc counts them (its rounding and headers
 * included; JSON values that plugins attach to a phase are not counted). */
struct fpd_engine_memory {
	/* the entries, their strings, kept objects and the table: exact up to 1,024 entries,
	 * beyond that the mean of 1,024 of them times the count */
	size_t executions;
	size_t informer_cache; /* the informers' stores */
};
void fpd_engine_get_memory(const struct fpd_engine *e, struct fpd_engine_memory *out);

#endif
