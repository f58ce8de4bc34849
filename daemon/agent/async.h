/*
 * flyteidl.service.AsyncAgentService. Every request is decoded (INVALID_ARGUMENT with the
 * message type when the bytes are not that message), then answered UNIMPLEMENTED until the
 * execution engine is wired in.
 */
#ifndef FPD_AGENT_ASYNC_H
#define FPD_AGENT_ASYNC_H

#include "core/error.h"
#include "grpc/grpc.h"

/* Registers the five AsyncAgentService methods on srv. */
int fpd_async_register(struct fpd_grpc_server *srv, struct fpd_error *err);

#endif
