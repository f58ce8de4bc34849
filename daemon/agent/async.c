/* flyteidl.service.AsyncAgentService: see async.h. */
#include "agent/async.h"

#include "core/mem.h"

#include "flyteidl/admin/agent.pb-c.h"

#include <stdio.h>

struct async_method {
	const char *path;
	const char *name; /* for messages */
	enum fpd_grpc_kind kind;
	const ProtobufCMessageDescriptor *request;
};

static const struct async_method methods[] = {
    {"/flyteidl.service.AsyncAgentService/CreateTask", "CreateTask", FPD_GRPC_UNARY,
     &flyteidl__admin__create_task_request__descriptor},
    {"/flyteidl.service.AsyncAgentService/GetTask", "GetTask", FPD_GRPC_UNARY,
     &flyteidl__admin__get_task_request__descriptor},
    {"/flyteidl.service.AsyncAgentService/DeleteTask", "DeleteTask", FPD_GRPC_UNARY,
     &flyteidl__admin__delete_task_request__descriptor},
    {"/flyteidl.service.AsyncAgentService/GetTaskMetrics", "GetTaskMetrics", FPD_GRPC_UNARY,
     &flyteidl__admin__get_task_metrics_request__descriptor},
    {"/flyteidl.service.AsyncAgentService/GetTaskLogs", "GetTaskLogs", FPD_GRPC_SERVER_STREAM,
     &flyteidl__admin__get_task_logs_request__descriptor},
};

static void on_request(struct fpd_grpc_call *call, const uint8_t *req, size_t len, void *ud)
{
	const struct async_method *m = ud;
	char msg[256];
	ProtobufCMessage *r = protobuf_c_message_unpack(m->request, NULL, len, req);
	if (!r) {
		snprintf(msg, sizeof(msg), "cannot decode %s", m->request->name);
		fpd_grpc_call_fail(call, FPD_GRPC_INVALID_ARGUMENT, msg);
		return;
	}
	protobuf_c_message_free_unpacked(r, NULL);
	snprintf(msg, sizeof(msg),
	         "flyteplugd does not run tasks yet: AsyncAgentService/%s is not implemented in "
	         "this build",
	         m->name);
	fpd_grpc_call_fail(call, FPD_GRPC_UNIMPLEMENTED, msg);
}

int fpd_async_register(struct fpd_grpc_server *srv, struct fpd_error *err)
{
	for (size_t i = 0; i < FPD_ARRAY_LEN(methods); i++) {
		int rc = fpd_grpc_server_add_method(srv, methods[i].path, methods[i].kind,
		                                    on_request, (void *)&methods[i], err);
		if (rc)
			return rc;
	}
	return FPD_OK;
}
