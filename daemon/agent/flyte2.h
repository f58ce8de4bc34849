/*
 * The Flyte 2 protocol family (flyteidl2.connector), served over gRPC beside Flyte 1's by the
 * same engine and the same services (family.h), with the description fpd_flyte2_family
 * (flyte2.c):
 *   ConnectorMetadataService  ListConnectors, GetConnector: one connector per plugin
 *   AsyncConnectorService     CreateTask, GetTask, DeleteTask to the engine; GetTaskMetrics and
 *                             GetTaskLogs answer UNIMPLEMENTED, as Flyte 1's do
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
 * GetTaskRequest and DeleteTaskRequest are decoded the same way (Flyte 2 adds connection), and
 * every reply is Flyte 1's message without the fields Flyte 2 lacks (Resource.state and
 * agent_error, Agent.supported_task_types and is_sync): the same bytes as Flyte 2's message.
 * resource_meta is the engine's token for both families, so a task created by one is read
 * and deleted by the other.
 */
#ifndef FPD_AGENT_FLYTE2_H
#define FPD_AGENT_FLYTE2_H

#include "agent/family.h"
#include "agent/wire.h"
#include "engine/engine.h"
#include "engine/registry.h"

#include <stddef.h>
#include <stdint.h>

/* Flyte 2's names and request messages, for fpd_family_serve and fpd_family_encode_*. A
 * failure's code is in Resource.message (Flyte 2 has no error message type). */
extern const struct fpd_family fpd_flyte2_family;

/* Checks and decodes a Flyte 2 CreateTaskRequest (bytes[0..len)) into out, through Flyte 1's
 * message (see above); what out points to lives in a (initialised here). Returns 0, or -1 with
 * msg (size bytes) saying why the bytes are not a CreateTaskRequest. Release a with
 * fpd_wire_release whatever this returns. */
int fpd_flyte2_task_request(const uint8_t *bytes, size_t len, struct fpd_wire_arena *a,
                            struct fpd_task_request *out, char *msg, size_t size);

#endif
