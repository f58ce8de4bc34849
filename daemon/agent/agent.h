/*
 * The Flyte agent services flyteplugd serves over gRPC:
 *   grpc.health.v1.Health                  Check, Watch
 *   flyteidl.service.AgentMetadataService  ListAgents, GetAgent (one agent per plugin)
 *   flyteidl.service.AsyncAgentService     CreateTask, GetTask, DeleteTask, GetTaskMetrics,
 *                                          GetTaskLogs (requests decoded; the engine answers
 *                                          them in a later issue, UNIMPLEMENTED until then)
 */
#ifndef FPD_AGENT_AGENT_H
#define FPD_AGENT_AGENT_H

#include "core/error.h"
#include "engine/registry.h"
#include "grpc/grpc.h"

struct fpd_agent;

/*
 * Registers every service's methods on srv (borrowed; must not be started yet) answering from
 * reg (borrowed; read-only, must outlive the agent). Returns a new agent, or NULL with err
 * filled (a method path clash).
 */
struct fpd_agent *fpd_agent_new(struct fpd_grpc_server *srv, const struct fpd_registry *reg,
                                struct fpd_error *err);

/*
 * The daemon is about to drain: health turns NOT_SERVING, and Health/Watch streams are told so
 * and then ended with UNAVAILABLE, so they do not hold the drain open. Call before
 * fpd_grpc_server_shutdown.
 */
void fpd_agent_drain(struct fpd_agent *agent);

/* Frees the agent. Calls it still holds are failed with UNAVAILABLE first, so it may be freed
 * before or after the server. NULL is ignored. */
void fpd_agent_free(struct fpd_agent *agent);

#endif
