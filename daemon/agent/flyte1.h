/*
 * The Flyte 1 protocol family (flyteidl.service), served over gRPC by the shared services
 * (family.h) with the description fpd_flyte1_family (flyte1.c):
 *   AgentMetadataService  ListAgents, GetAgent: one agent per plugin
 *   AsyncAgentService     CreateTask, GetTask, DeleteTask to the engine; GetTaskMetrics and
 *                         GetTaskLogs answer UNIMPLEMENTED
 * and the translation of its messages to the engine's typed requests (flyte1_request.c). The
 * Flyte 2 family (flyteidl2.connector, flyte2.h) reads and writes the same messages.
 */
#ifndef FPD_AGENT_FLYTE1_H
#define FPD_AGENT_FLYTE1_H

#include "agent/family.h"
#include "core/arena.h"
#include "engine/engine.h"
#include "engine/registry.h"

#include "flyteidl/admin/agent.pb-c.h"

#include <stddef.h>
#include <stdint.h>

/* Flyte 1's names and request messages, for fpd_family_serve and fpd_family_encode_*. Its
 * replies carry the deprecated fields older propellers read: Resource.state (set consistently
 * for propellers before v1.10.7) and Agent.supported_task_types (before v1.11). */
extern const struct fpd_family fpd_flyte1_family;

/* ---- messages to engine requests ---- */

/* Fills out from req (borrowed, with everything out points to; the lists are allocated from
 * arena). Never fails: the engine judges what is missing. */
void fpd_flyte1_task_request(const Flyteidl__Admin__CreateTaskRequest *req, struct fpd_arena *arena,
                             struct fpd_task_request *out);

#endif
