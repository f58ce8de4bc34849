/*
 * The agent layer owns the wire: the protocols flyteplugd serves over gRPC, each a family
 * described by its names and messages (flyte1.c, flyte2.c) and served by the same services
 * (family.c), which check and decode requests (wire.c, pbcheck.c), call the engine's typed API
 * and encode its results (grpc.health.v1 is the gRPC layer's own):
 *   Flyte 1 (flyte1.h)  flyteidl.service.AgentMetadataService  ListAgents, GetAgent
 *                       flyteidl.service.AsyncAgentService     CreateTask, GetTask, DeleteTask,
 *                                                              GetTaskMetrics, GetTaskLogs
 *   Flyte 2 (flyte2.h)  flyteidl2.connector.ConnectorMetadataService  ListConnectors,
 *                                                                     GetConnector
 *                       flyteidl2.connector.AsyncConnectorService     the same five task calls
 * Both families share the engine, so resource_meta from one is good for the other.
 */
#ifndef FPD_AGENT_AGENT_H
#define FPD_AGENT_AGENT_H

#include <flyteplugd/error.h>
#include "engine/engine.h"
#include "engine/registry.h"
#include "grpc/grpc.h"

struct fpd_agent;

/*
 * Registers every service's methods on srv (borrowed; must not be started yet) answering from
 * reg (borrowed; read-only, must outlive the agent) and engine (borrowed, may be NULL: task
 * calls then get UNAVAILABLE). Returns a new agent, or NULL with err filled (a method path
 * clash).
 */
struct fpd_agent *fpd_agent_new(struct fpd_grpc_server *srv, const struct fpd_registry *reg,
                                struct fpd_engine *engine, struct fpd_error *err);

/* Task calls from now on go to engine (borrowed; NULL: UNAVAILABLE again). */
void fpd_agent_set_engine(struct fpd_agent *agent, struct fpd_engine *engine);

/* Frees the agent. Calls it still holds are failed with UNAVAILABLE first, so it may be freed
 * before or after the server. NULL is ignored. */
void fpd_agent_free(struct fpd_agent *agent);

#endif
