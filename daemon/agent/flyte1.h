/*
 * The Flyte 1 protocol family (flyteidl.service), served over gRPC:
 *   AgentMetadataService  ListAgents, GetAgent: one agent per plugin (flyte1_metadata.c)
 *   AsyncAgentService     CreateTask, GetTask, DeleteTask to the engine; GetTaskMetrics and
 *                         GetTaskLogs answer UNIMPLEMENTED (flyte1_tasks.c)
 * and the translation of its messages to the engine's typed requests (flyte1_request.c). A
 * Flyte 2 family (flyteidl2.connector) is another file set beside this one.
 */
#ifndef FPD_AGENT_FLYTE1_H
#define FPD_AGENT_FLYTE1_H

#include "core/arena.h"
#include "core/error.h"
#include "engine/engine.h"
#include "engine/registry.h"
#include "grpc/grpc.h"

#include "flyteidl/admin/agent.pb-c.h"

#include <stddef.h>
#include <stdint.h>

/* ---- AgentMetadataService ---- */

/* Encodes the ListAgentsResponse for reg: one agent per plugin that serves a task type (a
 * plugin with none is left out). *out is a new allocation (free()), never NULL. Both the
 * deprecated supported_task_types (names, for propellers before v1.11) and
 * supported_task_categories ({name, version}) are filled; is_sync is false (CreateTask, then
 * GetTask polls). */
void fpd_flyte1_encode_list(const struct fpd_registry *reg, uint8_t **out, size_t *len);

/* Encodes the GetAgentResponse for plugin. *out is a new allocation (free()), never NULL. */
void fpd_flyte1_encode_get(const struct fpd_plugin *plugin, uint8_t **out, size_t *len);

struct fpd_flyte1_metadata;

/* Registers ListAgents and GetAgent on srv, answering from reg (both borrowed, must outlive the
 * result). The ListAgents answer is encoded once here: the registry is read-only. */
struct fpd_flyte1_metadata *fpd_flyte1_metadata_new(struct fpd_grpc_server *srv,
                                                    const struct fpd_registry *reg,
                                                    struct fpd_error *err);
void fpd_flyte1_metadata_free(struct fpd_flyte1_metadata *m);

/* ---- AsyncAgentService ---- */

struct fpd_flyte1_tasks;

/* Registers the five AsyncAgentService methods on srv, answering from engine (borrowed, may be
 * NULL: task calls then get UNAVAILABLE). Every request is checked and decoded first: bytes
 * that are not the method's message get INVALID_ARGUMENT. Returns a new handle owning what
 * the server borrows: free it after the server (or once no call can arrive). NULL with err
 * filled on a method path clash. */
struct fpd_flyte1_tasks *fpd_flyte1_tasks_new(struct fpd_grpc_server *srv,
                                              struct fpd_engine *engine, struct fpd_error *err);
void fpd_flyte1_tasks_set_engine(struct fpd_flyte1_tasks *t, struct fpd_engine *engine);
void fpd_flyte1_tasks_free(struct fpd_flyte1_tasks *t);

/* The GetTaskResponse for a successful get (r->status set): phase, the deprecated state (set
 * consistently for propellers before v1.10.7), message ("<code>: <message>" on failures), log
 * links, custom_info as a google.protobuf.Struct, outputs. *out is a new allocation. */
void fpd_flyte1_encode_resource(const struct fpd_engine_result *r, uint8_t **out, size_t *len);

/* ---- messages to engine requests ---- */

/* Fills out from req (borrowed, with everything out points to; the lists are allocated from
 * arena). Never fails: the engine judges what is missing. */
void fpd_flyte1_task_request(const Flyteidl__Admin__CreateTaskRequest *req, struct fpd_arena *arena,
                             struct fpd_task_request *out);

#endif
