/* flyteidl.service.AsyncAgentService: see async.h. */
#include "agent/async.h"

#include "core/mem.h"
#include "engine/pbcheck.h"

#include "flyteidl/admin/agent.pb-c.h"

#include <stdio.h>
#include <stdlib.h>

typedef void (*engine_call_fn)(struct fpd_engine *e, const uint8_t *req, size_t len,
                               fpd_engine_reply_fn done, void *ud);

struct async_method {
	const char *path;
	const char *name; /* for messages */
	enum fpd_grpc_kind kind;
	const ProtobufCMessageDescriptor *request;
	engine_call_fn engine_call; /* NULL: not implemented */
};

struct async_service {
	struct fpd_engine *engine;
	const struct async_method *method;
};

static const struct async_method methods[] = {
    {"/flyteidl.service.AsyncAgentService/CreateTask", "CreateTask", FPD_GRPC_UNARY,
     &flyteidl__admin__create_task_request__descriptor, fpd_engine_create_task},
    {"/flyteidl.service.AsyncAgentService/GetTask", "GetTask", FPD_GRPC_UNARY,
     &flyteidl__admin__get_task_request__descriptor, fpd_engine_get_task},
    {"/flyteidl.service.AsyncAgentService/DeleteTask", "DeleteTask", FPD_GRPC_UNARY,
     &flyteidl__admin__delete_task_request__descriptor, fpd_engine_delete_task},
    {"/flyteidl.service.AsyncAgentService/GetTaskMetrics", "GetTaskMetrics", FPD_GRPC_UNARY,
     &flyteidl__admin__get_task_metrics_request__descriptor, NULL},
    {"/flyteidl.service.AsyncAgentService/GetTaskLogs", "GetTaskLogs", FPD_GRPC_SERVER_STREAM,
     &flyteidl__admin__get_task_logs_request__descriptor, NULL},
};

static enum fpd_grpc_code grpc_code(int code)
{
	switch (code) {
	case FPD_EINVAL: return FPD_GRPC_INVALID_ARGUMENT;
	case FPD_EPERM: return FPD_GRPC_PERMISSION_DENIED;
	case FPD_ENOENT: return FPD_GRPC_NOT_FOUND;
	case FPD_EEXIST: return FPD_GRPC_ALREADY_EXISTS;
	case FPD_EIO:
	case FPD_ETIMEDOUT: return FPD_GRPC_UNAVAILABLE;
	default: return FPD_GRPC_INTERNAL;
	}
}

static void on_engine_reply(void *ud, int code, const char *message, const uint8_t *bytes,
                            size_t len)
{
	struct fpd_grpc_call *call = ud;
	if (code == FPD_OK)
		fpd_grpc_call_reply(call, bytes, len);
	else
		fpd_grpc_call_fail(call, grpc_code(code), message);
}

/* The client went away (or its deadline passed): the engine must not reply to it. */
static void on_cancel(struct fpd_grpc_call *call, enum fpd_grpc_code code, void *ud)
{
	struct fpd_engine *engine = ud;
	fpd_engine_forget(engine, call);
}

static void on_request(struct fpd_grpc_call *call, const uint8_t *req, size_t len, void *ud)
{
	const struct async_service *svc = ud;
	const struct async_method *m = svc->method;
	char msg[256];
	if (!m->engine_call || !svc->engine) {
		/* Otherwise the engine decodes the request (once) and answers a bad one itself. */
		char why[192];
		ProtobufCMessage *r = fpd_pb_check(m->request, req, len, why, sizeof(why)) == 0
		                          ? protobuf_c_message_unpack(m->request, NULL, len, req)
		                          : NULL;
		if (!r) {
			snprintf(msg, sizeof(msg), "cannot decode %s%s%s", m->request->name,
			         why[0] ? ": " : "", why);
			fpd_grpc_call_fail(call, FPD_GRPC_INVALID_ARGUMENT, msg);
			return;
		}
		protobuf_c_message_free_unpacked(r, NULL);
	}
	if (!m->engine_call) {
		snprintf(msg, sizeof(msg),
		         "AsyncAgentService/%s is not implemented by flyteplugd (FlytePropeller "
		         "does not call it)",
		         m->name);
		fpd_grpc_call_fail(call, FPD_GRPC_UNIMPLEMENTED, msg);
		return;
	}
	if (!svc->engine) {
		fpd_grpc_call_fail(call, FPD_GRPC_UNAVAILABLE,
		                   "flyteplugd has no Kubernetes API to run tasks on (see "
		                   "kubernetes.kubeconfig / in_cluster in the configuration)");
		return;
	}
	fpd_grpc_call_on_cancel(call, on_cancel, svc->engine);
	m->engine_call(svc->engine, req, len, on_engine_reply, call);
}

struct fpd_async {
	struct async_service services[FPD_ARRAY_LEN(methods)];
};

struct fpd_async *fpd_async_new(struct fpd_grpc_server *srv, struct fpd_engine *engine,
                                struct fpd_error *err)
{
	struct fpd_async *a = fpd_calloc(1, sizeof(*a));
	for (size_t i = 0; i < FPD_ARRAY_LEN(methods); i++) {
		a->services[i].engine = engine;
		a->services[i].method = &methods[i];
		if (fpd_grpc_server_add_method(srv, methods[i].path, methods[i].kind, on_request,
		                               &a->services[i], err)) {
			free(a);
			return NULL;
		}
	}
	return a;
}

void fpd_async_set_engine(struct fpd_async *a, struct fpd_engine *engine)
{
	for (size_t i = 0; i < FPD_ARRAY_LEN(methods); i++)
		a->services[i].engine = engine;
}

void fpd_async_free(struct fpd_async *a)
{
	free(a);
}
