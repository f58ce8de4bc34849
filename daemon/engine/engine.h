/*
 * The engine: runs tasks. It turns CreateTask into a Kubernetes object (prepare → plugin build →
 * decorate → POST), follows every object it manages through informers and keeps each one's
 * Flyte phase current, so GetTask is a lookup, deletes on DeleteTask, and cleans up after
 * itself (finished objects after a TTL, orphans nobody asks about, its own finalizer).
 *
 * Design note. One entry per task attempt ("execution"), keyed namespace/name, in a hash map.
 * An entry holds the plugin, the object's uid, the attempt's identity, the last phase the plugin
 * computed and a compact copy of the trimmed object (kept so time-based rules can be
 * re-evaluated without a new event). Entries are rebuilt from the API server after a restart:
 * the informers list every managed object, and each object carries its identity annotation.
 * Everything a GetTask needs besides that is in resource_meta.
 *
 * Calls complete through a callback, from the loop: at once for lookups, later when the API
 * server answers. The agent layer decodes nothing itself: requests arrive as protobuf bytes and
 * replies leave as packed responses.
 */
#ifndef FPD_ENGINE_ENGINE_H
#define FPD_ENGINE_ENGINE_H

#include "core/config.h"
#include "core/error.h"
#include "engine/plugin_settings.h"
#include "engine/registry.h"

#include <ev.h>
#include <stddef.h>
#include <stdint.h>

struct fpd_engine;
struct fpd_kube_client;

/*
 * Reply callback. code is FPD_OK with bytes/len a packed response message (borrowed for the
 * call), or a negative FPD_E* with a message for the client:
 *   FPD_EINVAL → INVALID_ARGUMENT, FPD_EPERM → PERMISSION_DENIED, FPD_ENOENT → NOT_FOUND,
 *   FPD_EIO / FPD_ETIMEDOUT → UNAVAILABLE, anything else → INTERNAL.
 */
typedef void (*fpd_engine_reply_fn)(void *ud, int code, const char *message, const uint8_t *bytes,
                                    size_t len);

/* A new engine. loop, cfg, registry, psettings (plugin settings) and kube are borrowed and must outlive it. key (copied) signs
 * resource_meta. Nothing runs until fpd_engine_start. */
int fpd_engine_new(struct ev_loop *loop, const struct fpd_config *cfg,
                   const struct fpd_registry *registry, const struct fpd_plugin_settings *psettings,
                   struct fpd_kube_client *kube, const uint8_t *key, size_t key_len,
                   struct fpd_engine **out, struct fpd_error *err);

/* Starts the informers (one per watched kind) and the housekeeping timer. */
int fpd_engine_start(struct fpd_engine *e, struct fpd_error *err);

/* Readiness: true once the informers of Kubernetes' own kinds (pods) have listed. Operator
 * kinds are not waited for: their CRD may not be installed. */
bool fpd_engine_ready(const struct fpd_engine *e);

/* Kinds whose informer has not listed yet, as "resource.group, ..." in out (size bytes,
 * truncated); returns how many. */
size_t fpd_engine_unlisted(const struct fpd_engine *e, char *out, size_t size);

/* The tracked executions as JSON (a new reference), sorted by namespace/name, for the admin
 * endpoint: {"count": N, "shown": M, "executions": [...]}, at most limit of them, only those in
 * namespace when it is not NULL. Each tells its object (namespace, name, uid, plugin, kind),
 * Flyte identity, state, phase, code, message, log links and times (RFC 3339). */
json_t *fpd_engine_executions(const struct fpd_engine *e, const char *namespace_, size_t limit);

/* Stops everything; pending replies are dropped (their calls are cancelled by the caller). */
void fpd_engine_free(struct fpd_engine *e);

/* The three agent calls. req/len (a packed CreateTaskRequest, GetTaskRequest or
 * DeleteTaskRequest) are borrowed for the call only. done runs exactly once, unless
 * fpd_engine_forget(e, ud) is called first. */
void fpd_engine_create_task(struct fpd_engine *e, const uint8_t *req, size_t len,
                            fpd_engine_reply_fn done, void *ud);
void fpd_engine_get_task(struct fpd_engine *e, const uint8_t *req, size_t len,
                         fpd_engine_reply_fn done, void *ud);
void fpd_engine_delete_task(struct fpd_engine *e, const uint8_t *req, size_t len,
                            fpd_engine_reply_fn done, void *ud);

/* The caller of every pending call with user data ud went away: its callback will not run. The
 * work itself goes on (a create still completes and is tracked). */
void fpd_engine_forget(struct fpd_engine *e, void *ud);

struct fpd_engine_stats {
	size_t executions; /* tracked task attempts */
	size_t active;     /* of which not finished */
	uint64_t creates, create_errors, gets, deletes, cleanups, orphans_deleted;
	uint64_t status_unknown; /* objects in a state their plugin did not recognise */
};
void fpd_engine_get_stats(const struct fpd_engine *e, struct fpd_engine_stats *out);

#endif
