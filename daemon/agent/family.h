/*
 * One implementation of the connector services for both protocol families. Every message
 * flyteplugd reads or writes in Flyte 2's flyteidl2.connector has the wire layout of its Flyte 1
 * (flyteidl.admin) counterpart less some fields: the same field numbers with the same types, at
 * every depth used (tests/e2e/flyte2/test_flyte2_wire.py checks it on the published
 * descriptors). So a request is checked against the family's own descriptor and decoded as
 * Flyte 1's message, and a reply is Flyte 1's message with the fields the family does not
 * declare left unset. What differs between the families is a struct fpd_family.
 */
#ifndef FPD_AGENT_FAMILY_H
#define FPD_AGENT_FAMILY_H

#include <flyteplugd/error.h>
#include "engine/engine.h"
#include "engine/registry.h"
#include "grpc/grpc.h"

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The methods of a family, in the order of struct fpd_family.request. */
enum fpd_family_method {
	FPD_FAMILY_CREATE,   /* CreateTask */
	FPD_FAMILY_GET,      /* GetTask */
	FPD_FAMILY_DELETE,   /* DeleteTask */
	FPD_FAMILY_METRICS,  /* GetTaskMetrics: UNIMPLEMENTED */
	FPD_FAMILY_LOGS,     /* GetTaskLogs (server streaming): UNIMPLEMENTED */
	FPD_FAMILY_LIST,     /* ListAgents / ListConnectors */
	FPD_FAMILY_DESCRIBE, /* GetAgent / GetConnector */
	FPD_FAMILY_METHODS
};

struct fpd_family {
	const char *tasks;    /* the task service: "flyteidl.service.AsyncAgentService" */
	const char *metadata; /* the metadata service: "flyteidl.service.AgentMetadataService" */
	const char *list;     /* its two methods: "ListAgents" */
	const char *describe; /* "GetAgent" */
	const char *entity;   /* what describe's NOT_FOUND names: "agent" */
	const char *caller;   /* who never calls GetTaskMetrics/GetTaskLogs: "FlytePropeller" */
	/* Fill Flyte 1's own fields: Resource.state (deprecated, read by propellers before
	 * v1.10.7) and Agent.supported_task_types (deprecated, read before v1.11). */
	bool flyte1;
	/* What each method's request is checked as (its own message in this family). */
	const ProtobufCMessageDescriptor *request[FPD_FAMILY_METHODS];
};

struct fpd_family_services;

/*
 * Registers the family's seven methods on srv, answering from reg and engine (all borrowed:
 * they must outlive the result; engine may be NULL, task calls then get UNAVAILABLE). Every
 * request is checked and decoded first: bytes that are not the method's message get
 * INVALID_ARGUMENT. Returns a new handle owning what the server borrows: free it after the
 * server. NULL with err filled on a method path clash.
 */
struct fpd_family_services *fpd_family_serve(struct fpd_grpc_server *srv,
                                             const struct fpd_family *family,
                                             const struct fpd_registry *reg,
                                             struct fpd_engine *engine, struct fpd_error *err);
void fpd_family_set_engine(struct fpd_family_services *s, struct fpd_engine *engine);
void fpd_family_services_free(struct fpd_family_services *s);

/*
 * The GetTaskResponse for a successful get (r->status set): phase, message ("<code>: <message>"
 * on failures), log links, custom_info as a google.protobuf.Struct, outputs (a LiteralMap:
 * Flyte 2's Outputs has its bytes); a value that is not a LiteralMap fails the attempt with the
 * reason. *out is a new allocation (free()).
 */
void fpd_family_encode_resource(const struct fpd_family *f, const struct fpd_engine_result *r,
                                uint8_t **out, size_t *len);

/* The list response for reg: one entry per plugin that serves task types of its own (crd,
 * whose declared types are plugins of their own, is left out), named after the plugin, with
 * supported_task_categories {name, version}. Encoded per call: task types declared at run time
 * come and go. *out is a new allocation (free()), never NULL. */
void fpd_family_encode_list(const struct fpd_family *f, const struct fpd_registry *reg,
                            uint8_t **out, size_t *len);

/* The describe response for plugin. *out is a new allocation (free()). */
void fpd_family_encode_describe(const struct fpd_family *f, const struct fpd_plugin *plugin,
                                uint8_t **out, size_t *len);

#endif
