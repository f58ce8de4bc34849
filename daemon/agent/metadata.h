/*
 * flyteidl.service.AgentMetadataService: one Agent per registered plugin, named after it.
 * Both the deprecated supported_task_types (names, for propellers before v1.11) and
 * supported_task_categories ({name, version}) are filled; is_sync is false (flyteplugd is an
 * asynchronous agent: CreateTask, then GetTask polls).
 */
#ifndef FPD_AGENT_METADATA_H
#define FPD_AGENT_METADATA_H

#include "core/error.h"
#include "engine/registry.h"
#include "grpc/grpc.h"

#include <stddef.h>
#include <stdint.h>

/* Encodes the ListAgentsResponse for reg. *out is a new allocation (free()), never NULL. */
void fpd_metadata_encode_list(const struct fpd_registry *reg, uint8_t **out, size_t *len);

/* Encodes the GetAgentResponse for plugin. *out is a new allocation (free()), never NULL. */
void fpd_metadata_encode_get(const struct fpd_plugin *plugin, uint8_t **out, size_t *len);

struct fpd_metadata;

/* Registers ListAgents and GetAgent on srv, answering from reg (both borrowed, must outlive the
 * result). The ListAgents answer is encoded once here: the registry is read-only. */
struct fpd_metadata *fpd_metadata_new(struct fpd_grpc_server *srv, const struct fpd_registry *reg,
                                      struct fpd_error *err);
void fpd_metadata_free(struct fpd_metadata *m);

#endif
