/*
 * The Flyte 2 protocol family (flyteidl2.connector), served over gRPC beside Flyte 1's by the
 * same engine:
 *   ConnectorMetadataService  ListConnectors, GetConnector: one connector per plugin
 *                             (flyte2_metadata.c)
 *   AsyncConnectorService     CreateTask, GetTask, DeleteTask to the engine; GetTaskMetrics and
 *                             GetTaskLogs answer UNIMPLEMENTED, as Flyte 1's do (flyte2_tasks.c)
 *
 * Translation. The engine and the plugins read Flyte 1's messages (struct fpd_task exposes
 * flyteidl.core.TaskTemplate and flyteidl.admin.TaskExecutionMetadata). A Flyte 2
 * CreateTaskRequest is checked against its own descriptor, then decoded with Flyte 1's
 * CreateTaskRequest descriptor from the same bytes: every field number the two declare, at
 * every depth the request reaches (template, metadata, inputs as a LiteralMap), has the same
 * type and label on both sides (tests/e2e/flyte2/test_flyte2_wire.py checks it on the
 * descriptors of the published packages). What only Flyte 2 declares (CreateTaskRequest.
 * connection, TaskTemplate.reuse_policy / worker_kind, the new TaskMetadata fields,
 * Literal.artifact_id, ...) is kept by protobuf-c as unknown fields: plugins do not read it.
 * resource_meta is the engine's token for both families, so a task created by one is read
 * and deleted by the other.
 */
#ifndef FPD_AGENT_FLYTE2_H
#define FPD_AGENT_FLYTE2_H

#include "core/error.h"
#include "engine/engine.h"
#include "engine/registry.h"
#include "agent/wire.h"
#include "grpc/grpc.h"

#include <stddef.h>
#include <stdint.h>

/* ---- ConnectorMetadataService ---- */

/* Encodes the ListConnectorsResponse for reg: one Connector per plugin that serves task types of
 * its own, named after it, with supported_task_categories {name, version}: the same as Flyte 1's
 * ListAgents. *out is a new allocation (free()), never NULL. */
void fpd_flyte2_encode_list(const struct fpd_registry *reg, uint8_t **out, size_t *len);

/* Encodes the GetConnectorResponse for plugin. *out is a new allocation (free()). */
void fpd_flyte2_encode_get(const struct fpd_plugin *plugin, uint8_t **out, size_t *len);

struct fpd_flyte2_metadata;

/* Registers ListConnectors and GetConnector on srv, answering from reg (both borrowed, must
 * outlive the result). NULL with err filled on a method path clash. */
struct fpd_flyte2_metadata *fpd_flyte2_metadata_new(struct fpd_grpc_server *srv,
                                                    const struct fpd_registry *reg,
                                                    struct fpd_error *err);
void fpd_flyte2_metadata_free(struct fpd_flyte2_metadata *m);

/* ---- AsyncConnectorService ---- */

struct fpd_flyte2_tasks;

/* Registers the five AsyncConnectorService methods on srv, answering from engine (borrowed,
 * may be NULL: task calls then get UNAVAILABLE). Requests are checked and decoded first
 * (INVALID_ARGUMENT otherwise). Free the result after the server. NULL with err filled on a
 * method path clash. */
struct fpd_flyte2_tasks *fpd_flyte2_tasks_new(struct fpd_grpc_server *srv,
                                              struct fpd_engine *engine, struct fpd_error *err);
void fpd_flyte2_tasks_set_engine(struct fpd_flyte2_tasks *t, struct fpd_engine *engine);
void fpd_flyte2_tasks_free(struct fpd_flyte2_tasks *t);

/* Checks and decodes a Flyte 2 CreateTaskRequest (bytes[0..len)) into out, through Flyte 1's
 * message (see above); what out points to lives in a (initialised here). Returns 0, or -1 with
 * msg (size bytes) saying why the bytes are not a CreateTaskRequest. Release a with
 * fpd_wire_release whatever this returns. */
int fpd_flyte2_task_request(const uint8_t *bytes, size_t len, struct fpd_wire_arena *a,
                            struct fpd_task_request *out, char *msg, size_t size);

/* The GetTaskResponse for a successful get (r->status set): phase, message ("<code>: <message>"
 * on failures; Flyte 2 has no error message type), log links, custom_info as a
 * google.protobuf.Struct, outputs as flyteidl2.task.Outputs (the same bytes as the LiteralMap).
 * *out is a new allocation. */
void fpd_flyte2_encode_resource(const struct fpd_engine_result *r, uint8_t **out, size_t *len);

#endif
