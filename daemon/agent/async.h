/*
 * flyteidl.service.AsyncAgentService: CreateTask, GetTask and DeleteTask go to the engine;
 * GetTaskMetrics and GetTaskLogs (which propeller never calls) answer UNIMPLEMENTED. Every
 * request is decoded first: bytes that are not the method's message get INVALID_ARGUMENT.
 * Without an engine (no Kubernetes API configured) task calls get UNAVAILABLE.
 */
#ifndef FPD_AGENT_ASYNC_H
#define FPD_AGENT_ASYNC_H

#include "core/error.h"
#include "engine/engine.h"
#include "grpc/grpc.h"

struct fpd_async;

/* Registers the five AsyncAgentService methods on srv, answering from engine (borrowed, may be
 * NULL). Returns a new handle owning what the server borrows: free it after the server (or
 * once no call can arrive). NULL with err filled on a method path clash. */
struct fpd_async *fpd_async_new(struct fpd_grpc_server *srv, struct fpd_engine *engine,
                                struct fpd_error *err);
void fpd_async_set_engine(struct fpd_async *a, struct fpd_engine *engine);
void fpd_async_free(struct fpd_async *a);

#endif
