/*
 * flyteidl.service.AsyncAgentService: each request is checked and decoded here, CreateTask,
 * GetTask and DeleteTask go to the engine as typed calls, and their results are encoded as the
 * method's response (or its error as a gRPC status). See flyte1.h.
 */
#include "agent/flyte1.h"

#include "agent/wire.h"
#include "core/mem.h"

#include <flyteplugd/structpb.h>

#include <stdio.h>
#include <stdlib.h>

/* Runs a decoded request (borrowed from a, which the handler releases when this returns). */
typedef void (*run_fn)(struct fpd_engine *e, const ProtobufCMessage *req, struct fpd_wire_arena *a,
                       struct fpd_grpc_call *call);

struct method {
	const char *path;
	const char *name; /* for messages */
	enum fpd_grpc_kind kind;
	const ProtobufCMessageDescriptor *request;
	run_fn run; /* NULL: not implemented */
};

struct service {
	struct fpd_engine *engine;
	const struct method *method;
};

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
	Flyteidl__Admin__CreateTaskResponse resp = FLYTEIDL__ADMIN__CREATE_TASK_RESPONSE__INIT;
	resp.resource_meta.data = (uint8_t *)r->resource_meta;
	resp.resource_meta.len = r->resource_meta_len;
	fpd_wire_reply(ud, &resp.base);
}

static void on_deleted(void *ud, const struct fpd_engine_result *r)
{
	if (failed(ud, r))
		return;
	Flyteidl__Admin__DeleteTaskResponse resp = FLYTEIDL__ADMIN__DELETE_TASK_RESPONSE__INIT;
	fpd_wire_reply(ud, &resp.base);
}

/* The deprecated Resource.state for propellers older than v1.10.7 (phase is what new ones
 * read); its zero value means RETRYABLE_FAILURE, so it must always be set consistently. */
static Flyteidl__Admin__State legacy_state(enum fpd_phase p)
{
	switch (p) {
	case FPD_PHASE_RUNNING: return FLYTEIDL__ADMIN__STATE__RUNNING;
	case FPD_PHASE_SUCCEEDED: return FLYTEIDL__ADMIN__STATE__SUCCEEDED;
	case FPD_PHASE_FAILED:
	case FPD_PHASE_ABORTED: return FLYTEIDL__ADMIN__STATE__PERMANENT_FAILURE;
	case FPD_PHASE_RETRYABLE_FAILED: return FLYTEIDL__ADMIN__STATE__RETRYABLE_FAILURE;
	default: return FLYTEIDL__ADMIN__STATE__PENDING;
	}
}

/* The GetTaskResponse for r into resp/res (pointing into the returned allocations: free with
 * resource_clear). */
struct resource_msg {
	Flyteidl__Admin__GetTaskResponse resp;
	Flyteidl__Admin__Resource res;
	Flyteidl__Core__TaskLog *logs;
	Flyteidl__Core__TaskLog **log_ptrs;
	char *message;
	ProtobufCMessage *outputs; /* decoded from the result's proto3 JSON, or NULL */
};

/* The plugin's outputs (proto3 JSON of a flyteidl.core.LiteralMap) as the message; a value
 * that is not one fails the attempt with the reason, rather than GetTask. */
static void outputs_fill(struct resource_msg *m, const struct fpd_engine_result *r,
                         Flyteidl__Core__TaskExecution__Phase *phase)
{
	struct fpd_error err = {0};
	m->outputs = NULL;
	if (!r->outputs)
		return;
	if (fpd_json_to_message(r->outputs, &flyteidl__core__literal_map__descriptor, &m->outputs,
	                        &err) == FPD_OK)
		return;
	*phase = FLYTEIDL__CORE__TASK_EXECUTION__PHASE__FAILED;
	free(m->message);
	m->message =
	    fpd_asprintf("OutputsInvalid: the task's outputs are not a LiteralMap: %s", err.text);
}

static void resource_fill(struct resource_msg *m, const struct fpd_engine_result *r)
{
	const struct fpd_phase_info *pi = r->status;
	Flyteidl__Admin__Resource *res = &m->res;
	/* The INIT macro names the deprecated field; the init function does not. */
	flyteidl__admin__resource__init(res);
	res->phase = (Flyteidl__Core__TaskExecution__Phase)pi->phase;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	res->state = legacy_state(pi->phase); /* deliberately set: see legacy_state */
#pragma GCC diagnostic pop
	if (pi->code && pi->message && fpd_phase_is_failure(pi->phase))
		m->message = fpd_asprintf("%s: %s", pi->code, pi->message);
	else
		m->message = fpd_strdup(pi->message ? pi->message : "");
	res->message = m->message;
	m->logs = fpd_calloc(pi->log_count + 1, sizeof(*m->logs));
	m->log_ptrs = fpd_calloc(pi->log_count + 1, sizeof(*m->log_ptrs));
	for (size_t i = 0; i < pi->log_count; i++) {
		Flyteidl__Core__TaskLog *l = &m->logs[i];
		flyteidl__core__task_log__init(l);
		l->uri = pi->logs[i].uri;
		l->name = pi->logs[i].name;
		l->message_format = (Flyteidl__Core__TaskLog__MessageFormat)pi->logs[i].format;
		l->showwhilepending = pi->logs[i].show_while_pending;
		l->hideoncefinished = pi->logs[i].hide_once_finished;
		m->log_ptrs[i] = l;
	}
	res->n_log_links = pi->log_count;
	res->log_links = m->log_ptrs;
	if (json_is_object(pi->custom_info))
		res->custom_info = fpd_wire_struct_new(pi->custom_info);
	Flyteidl__Core__TaskExecution__Phase phase = res->phase;
	outputs_fill(m, r, &phase);
	if (phase != res->phase) {
		res->phase = phase;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
		res->state = legacy_state((enum fpd_phase)phase);
#pragma GCC diagnostic pop
		res->message = m->message;
	}
	res->outputs = (Flyteidl__Core__LiteralMap *)m->outputs;
	flyteidl__admin__get_task_response__init(&m->resp);
	m->resp.resource = res;
}

static void resource_clear(struct resource_msg *m)
{
	if (m->res.custom_info)
		fpd_wire_struct_free(m->res.custom_info);
	if (m->outputs)
		protobuf_c_message_free_unpacked(m->outputs, NULL);
	free(m->log_ptrs);
	free(m->logs);
	free(m->message);
}

void fpd_flyte1_encode_resource(const struct fpd_engine_result *r, uint8_t **out, size_t *len)
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
	const Flyteidl__Admin__GetTaskRequest *req = (const Flyteidl__Admin__GetTaskRequest *)msg;
	struct fpd_meta meta = {req->resource_meta.data, req->resource_meta.len};
	fpd_engine_get(e, &meta, on_status, call);
}

static void run_delete(struct fpd_engine *e, const ProtobufCMessage *msg, struct fpd_wire_arena *a,
                       struct fpd_grpc_call *call)
{
	const Flyteidl__Admin__DeleteTaskRequest *req =
	    (const Flyteidl__Admin__DeleteTaskRequest *)msg;
	struct fpd_meta meta = {req->resource_meta.data, req->resource_meta.len};
	fpd_engine_delete(e, &meta, on_deleted, call);
}

static const struct method methods[] = {
    {"/flyteidl.service.AsyncAgentService/CreateTask", "CreateTask", FPD_GRPC_UNARY,
     &flyteidl__admin__create_task_request__descriptor, run_create},
    {"/flyteidl.service.AsyncAgentService/GetTask", "GetTask", FPD_GRPC_UNARY,
     &flyteidl__admin__get_task_request__descriptor, run_get},
    {"/flyteidl.service.AsyncAgentService/DeleteTask", "DeleteTask", FPD_GRPC_UNARY,
     &flyteidl__admin__delete_task_request__descriptor, run_delete},
    {"/flyteidl.service.AsyncAgentService/GetTaskMetrics", "GetTaskMetrics", FPD_GRPC_UNARY,
     &flyteidl__admin__get_task_metrics_request__descriptor, NULL},
    {"/flyteidl.service.AsyncAgentService/GetTaskLogs", "GetTaskLogs", FPD_GRPC_SERVER_STREAM,
     &flyteidl__admin__get_task_logs_request__descriptor, NULL},
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
	ProtobufCMessage *req = fpd_wire_decode(m->request, bytes, len, &a, msg, sizeof(msg));
	if (!req) {
		fpd_grpc_call_fail(call, FPD_GRPC_INVALID_ARGUMENT, msg);
	} else if (!m->run) {
		snprintf(msg, sizeof(msg),
		         "AsyncAgentService/%s is not implemented by flyteplugd (FlytePropeller "
		         "does not call it)",
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

struct fpd_flyte1_tasks {
	struct service services[FPD_ARRAY_LEN(methods)];
};

struct fpd_flyte1_tasks *fpd_flyte1_tasks_new(struct fpd_grpc_server *srv,
                                              struct fpd_engine *engine, struct fpd_error *err)
{
	struct fpd_flyte1_tasks *t = fpd_calloc(1, sizeof(*t));
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

void fpd_flyte1_tasks_set_engine(struct fpd_flyte1_tasks *t, struct fpd_engine *engine)
{
	for (size_t i = 0; i < FPD_ARRAY_LEN(methods); i++)
		t->services[i].engine = engine;
}

void fpd_flyte1_tasks_free(struct fpd_flyte1_tasks *t)
{
	free(t);
}
