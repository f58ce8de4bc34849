/*
 * flyteidl2.connector.AsyncConnectorService: each request is checked and decoded here (a
 * CreateTaskRequest through Flyte 1's message, see flyte2.h), CreateTask, GetTask and
 * DeleteTask go to the engine as typed calls, and their results are encoded as the Flyte 2
 * responses.
 */
#include "agent/flyte2.h"

#include "agent/flyte1.h"
#include "agent/wire.h"
#include "core/mem.h"

#include <flyteplugd/structpb.h>

#include "flyteidl/admin/agent.pb-c.h"
#include "flyteidl2/connector/connector.pb-c.h"
#include "flyteidl2/task/common.pb-c.h"

#include <stdio.h>
#include <stdlib.h>

/* Runs a decoded request (borrowed from a, which the handler releases when this returns). */
typedef void (*run_fn)(struct fpd_engine *e, const ProtobufCMessage *req, struct fpd_wire_arena *a,
                       struct fpd_grpc_call *call);

struct method {
	const char *path;
	const char *name; /* for messages */
	enum fpd_grpc_kind kind;
	const ProtobufCMessageDescriptor *request; /* what the bytes are checked as */
	const ProtobufCMessageDescriptor *as;      /* what they are decoded as: NULL, request */
	run_fn run;                                /* NULL: not implemented */
};

struct service {
	struct fpd_engine *engine;
	const struct method *method;
};

/* ---- requests -------------------------------------------------------------------------- */

int fpd_flyte2_task_request(const uint8_t *bytes, size_t len, struct fpd_wire_arena *a,
                            struct fpd_task_request *out, char *msg, size_t size)
{
	const Flyteidl__Admin__CreateTaskRequest *req =
	    (const Flyteidl__Admin__CreateTaskRequest *)fpd_wire_decode_as(
	        &flyteidl2__connector__create_task_request__descriptor,
	        &flyteidl__admin__create_task_request__descriptor, bytes, len, a, msg, size);
	if (!req)
		return -1;
	fpd_flyte1_task_request(req, &a->arena, out);
	return 0;
}

/* ---- replies --------------------------------------------------------------------------- */

/* An engine error as the call's gRPC status; true when r was one. */
static bool failed(struct fpd_grpc_call *call, const struct fpd_engine_result *r)
{
	if (r->code == FPD_OK)
		return false;
	fpd_grpc_call_fail(call, fpd_wire_grpc_code(r->code), r->message);
	return true;
}

static void on_created(void *ud, const struct fpd_engine_result *r)
{
	if (failed(ud, r))
		return;
	Flyteidl2__Connector__CreateTaskResponse resp =
	    FLYTEIDL2__CONNECTOR__CREATE_TASK_RESPONSE__INIT;
	resp.resource_meta.data = (uint8_t *)r->resource_meta;
	resp.resource_meta.len = r->resource_meta_len;
	fpd_wire_reply(ud, &resp.base);
}

static void on_deleted(void *ud, const struct fpd_engine_result *r)
{
	if (failed(ud, r))
		return;
	Flyteidl2__Connector__DeleteTaskResponse resp =
	    FLYTEIDL2__CONNECTOR__DELETE_TASK_RESPONSE__INIT;
	fpd_wire_reply(ud, &resp.base);
}

/* The GetTaskResponse for r (pointing into the allocations here: free with resource_clear). */
struct resource_msg {
	Flyteidl2__Connector__GetTaskResponse resp;
	Flyteidl2__Connector__Resource res;
	Flyteidl2__Core__TaskLog *logs;
	Flyteidl2__Core__TaskLog **log_ptrs;
	char *message;
};

/* The plugin's outputs (proto3 JSON of a flyteidl.core.LiteralMap) as Flyte 2's Outputs: the
 * same bytes (a map entry {key = 1, value = 2} is a NamedLiteral {name = 1, value = 2}), so the
 * LiteralMap is packed and read back rather than copied field by field. A value that is not a
 * LiteralMap fails the attempt with the reason, as in Flyte 1's GetTask; NULL when there is
 * nothing. */
static Flyteidl2__Task__Outputs *outputs_of(struct resource_msg *m, const json_t *json,
                                            Flyteidl2__Core__TaskExecution__Phase *phase)
{
	if (!json)
		return NULL;
	ProtobufCMessage *lm = NULL;
	struct fpd_error err = {0};
	if (fpd_json_to_message(json, &flyteidl__core__literal_map__descriptor, &lm, &err) != FPD_OK) {
		*phase = FLYTEIDL2__CORE__TASK_EXECUTION__PHASE__FAILED;
		free(m->message);
		m->message = fpd_asprintf("OutputsInvalid: the task's outputs are not a LiteralMap: %s",
		                          err.text);
		return NULL;
	}
	size_t n = protobuf_c_message_get_packed_size(lm);
	uint8_t *buf = fpd_malloc(n ? n : 1);
	protobuf_c_message_pack(lm, buf);
	protobuf_c_message_free_unpacked(lm, NULL);
	Flyteidl2__Task__Outputs *o = flyteidl2__task__outputs__unpack(NULL, n, buf);
	free(buf);
	return o;
}

static void resource_fill(struct resource_msg *m, const struct fpd_engine_result *r)
{
	const struct fpd_phase_info *pi = r->status;
	Flyteidl2__Connector__Resource *res = &m->res;
	flyteidl2__connector__resource__init(res);
	res->phase = (Flyteidl2__Core__TaskExecution__Phase)pi->phase;
	if (pi->code && pi->message && fpd_phase_is_failure(pi->phase))
		m->message = fpd_asprintf("%s: %s", pi->code, pi->message);
	else
		m->message = fpd_strdup(pi->message ? pi->message : "");
	res->message = m->message;
	m->logs = fpd_calloc(pi->log_count + 1, sizeof(*m->logs));
	m->log_ptrs = fpd_calloc(pi->log_count + 1, sizeof(*m->log_ptrs));
	for (size_t i = 0; i < pi->log_count; i++) {
		Flyteidl2__Core__TaskLog *l = &m->logs[i];
		flyteidl2__core__task_log__init(l);
		l->uri = pi->logs[i].uri;
		l->name = pi->logs[i].name;
		l->message_format = (Flyteidl2__Core__TaskLog__MessageFormat)pi->logs[i].format;
		l->showwhilepending = pi->logs[i].show_while_pending;
		l->hideoncefinished = pi->logs[i].hide_once_finished;
		m->log_ptrs[i] = l;
	}
	res->n_log_links = pi->log_count;
	res->log_links = m->log_ptrs;
	if (json_is_object(pi->custom_info))
		res->custom_info = fpd_wire_struct_new(pi->custom_info);
	res->outputs = outputs_of(m, r->outputs, &res->phase);
	res->message = m->message;
	flyteidl2__connector__get_task_response__init(&m->resp);
	m->resp.resource = res;
}

static void resource_clear(struct resource_msg *m)
{
	if (m->res.custom_info)
		fpd_wire_struct_free(m->res.custom_info);
	if (m->res.outputs)
		flyteidl2__task__outputs__free_unpacked(m->res.outputs, NULL);
	free(m->log_ptrs);
	free(m->logs);
	free(m->message);
}

void fpd_flyte2_encode_resource(const struct fpd_engine_result *r, uint8_t **out, size_t *len)
{
	struct resource_msg m;
	resource_fill(&m, r);
	*len = protobuf_c_message_get_packed_size(&m.resp.base);
	*out = fpd_malloc(*len ? *len : 1);
	protobuf_c_message_pack(&m.resp.base, *out);
	resource_clear(&m);
}

static void on_status(void *ud, const struct fpd_engine_result *r)
{
	if (failed(ud, r))
		return;
	struct resource_msg m;
	resource_fill(&m, r);
	fpd_wire_reply(ud, &m.resp.base);
	resource_clear(&m);
}

/* ---- calls ----------------------------------------------------------------------------- */

/* msg is the Flyte 2 request decoded as Flyte 1's (see flyte2.h). */
static void run_create(struct fpd_engine *e, const ProtobufCMessage *msg, struct fpd_wire_arena *a,
                       struct fpd_grpc_call *call)
{
	struct fpd_task_request req;
	fpd_flyte1_task_request((const Flyteidl__Admin__CreateTaskRequest *)msg, &a->arena, &req);
	fpd_engine_create(e, &req, on_created, call);
}

static void run_get(struct fpd_engine *e, const ProtobufCMessage *msg, struct fpd_wire_arena *a,
                    struct fpd_grpc_call *call)
{
	const Flyteidl2__Connector__GetTaskRequest *req =
	    (const Flyteidl2__Connector__GetTaskRequest *)msg;
	struct fpd_meta meta = {req->resource_meta.data, req->resource_meta.len};
	fpd_engine_get(e, &meta, on_status, call);
}

static void run_delete(struct fpd_engine *e, const ProtobufCMessage *msg, struct fpd_wire_arena *a,
                       struct fpd_grpc_call *call)
{
	const Flyteidl2__Connector__DeleteTaskRequest *req =
	    (const Flyteidl2__Connector__DeleteTaskRequest *)msg;
	struct fpd_meta meta = {req->resource_meta.data, req->resource_meta.len};
	fpd_engine_delete(e, &meta, on_deleted, call);
}

#define SERVICE "/flyteidl2.connector.AsyncConnectorService/"

static const struct method methods[] = {
    {SERVICE "CreateTask", "CreateTask", FPD_GRPC_UNARY,
     &flyteidl2__connector__create_task_request__descriptor,
     &flyteidl__admin__create_task_request__descriptor, run_create},
    {SERVICE "GetTask", "GetTask", FPD_GRPC_UNARY,
     &flyteidl2__connector__get_task_request__descriptor, NULL, run_get},
    {SERVICE "DeleteTask", "DeleteTask", FPD_GRPC_UNARY,
     &flyteidl2__connector__delete_task_request__descriptor, NULL, run_delete},
    {SERVICE "GetTaskMetrics", "GetTaskMetrics", FPD_GRPC_UNARY,
     &flyteidl2__connector__get_task_metrics_request__descriptor, NULL, NULL},
    {SERVICE "GetTaskLogs", "GetTaskLogs", FPD_GRPC_SERVER_STREAM,
     &flyteidl2__connector__get_task_logs_request__descriptor, NULL, NULL},
};

/* The client went away (or its deadline passed): the engine must not answer it. */
static void on_cancel(struct fpd_grpc_call *call, enum fpd_grpc_code code, void *ud)
{
	struct fpd_engine *engine = ud;
	fpd_engine_forget(engine, call);
}

static void on_request(struct fpd_grpc_call *call, const uint8_t *bytes, size_t len, void *ud)
{
	const struct service *svc = ud;
	const struct method *m = svc->method;
	struct fpd_wire_arena a;
	char msg[256];
	ProtobufCMessage *req = fpd_wire_decode_as(m->request, m->as ? m->as : m->request, bytes,
	                                           len, &a, msg, sizeof(msg));
	if (!req) {
		fpd_grpc_call_fail(call, FPD_GRPC_INVALID_ARGUMENT, msg);
	} else if (!m->run) {
		snprintf(msg, sizeof(msg),
		         "AsyncConnectorService/%s is not implemented by flyteplugd (the Flyte 2 "
		         "executor does not call it)",
		         m->name);
		fpd_grpc_call_fail(call, FPD_GRPC_UNIMPLEMENTED, msg);
	} else if (!svc->engine) {
		fpd_grpc_call_fail(call, FPD_GRPC_UNAVAILABLE,
		                   "flyteplugd has no Kubernetes API to run tasks on (see "
		                   "kubernetes.kubeconfig / in_cluster in the configuration)");
	} else {
		fpd_grpc_call_on_cancel(call, on_cancel, svc->engine);
		m->run(svc->engine, req, &a, call);
	}
	fpd_wire_release(&a);
}

struct fpd_flyte2_tasks {
	struct service services[FPD_ARRAY_LEN(methods)];
};

struct fpd_flyte2_tasks *fpd_flyte2_tasks_new(struct fpd_grpc_server *srv,
                                              struct fpd_engine *engine, struct fpd_error *err)
{
	struct fpd_flyte2_tasks *t = fpd_calloc(1, sizeof(*t));
	for (size_t i = 0; i < FPD_ARRAY_LEN(methods); i++) {
		t->services[i].engine = engine;
		t->services[i].method = &methods[i];
		if (fpd_grpc_server_add_method(srv, methods[i].path, methods[i].kind, on_request,
		                               &t->services[i], err)) {
			free(t);
			return NULL;
		}
	}
	return t;
}

void fpd_flyte2_tasks_set_engine(struct fpd_flyte2_tasks *t, struct fpd_engine *engine)
{
	for (size_t i = 0; i < FPD_ARRAY_LEN(methods); i++)
		t->services[i].engine = engine;
}

void fpd_flyte2_tasks_free(struct fpd_flyte2_tasks *t)
{
	free(t);
}
