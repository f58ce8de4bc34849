/*
 * The connector services of a protocol family (see family.h): requests checked and decoded,
 * task calls sent to the engine as typed calls, metadata answered from the registry, and
 * results encoded as Flyte 1's messages less the fields the family does not declare.
 */
#include "agent/family.h"

#include "agent/flyte1.h"
#include "agent/wire.h"
#include <flyteplugd/mem.h>

#include <flyteplugd/structpb.h>

#include "flyteidl/admin/agent.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a method is decoded as (NULL: its own message, for the ones only checked) and how it is
 * registered. */
static const struct {
	const char *name; /* NULL: the family's list / describe name */
	bool metadata;    /* on the metadata service, not the task service */
	enum fpd_grpc_kind kind;
	const ProtobufCMessageDescriptor *as;
} methods[FPD_FAMILY_METHODS] = {
    [FPD_FAMILY_CREATE] = {"CreateTask", false, FPD_GRPC_UNARY,
                           &flyteidl__admin__create_task_request__descriptor},
    [FPD_FAMILY_GET] = {"GetTask", false, FPD_GRPC_UNARY,
                        &flyteidl__admin__get_task_request__descriptor},
    [FPD_FAMILY_DELETE] = {"DeleteTask", false, FPD_GRPC_UNARY,
                           &flyteidl__admin__delete_task_request__descriptor},
    [FPD_FAMILY_METRICS] = {"GetTaskMetrics", false, FPD_GRPC_UNARY, NULL},
    [FPD_FAMILY_LOGS] = {"GetTaskLogs", false, FPD_GRPC_SERVER_STREAM, NULL},
    [FPD_FAMILY_LIST] = {NULL, true, FPD_GRPC_UNARY, NULL},
    [FPD_FAMILY_DESCRIBE] = {NULL, true, FPD_GRPC_UNARY,
                             &flyteidl__admin__get_agent_request__descriptor},
};

struct method {
	struct fpd_family_services *services;
	enum fpd_family_method id;
};

struct fpd_family_services {
	const struct fpd_family *family;
	const struct fpd_registry *reg;
	struct fpd_engine *engine;
	struct method methods[FPD_FAMILY_METHODS];
};

/* ---- GetTask's resource ---------------------------------------------------------------- */

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

/* The GetTaskResponse for a result, pointing into the allocations here: free with
 * resource_clear. */
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
                         enum fpd_phase *phase)
{
	struct fpd_error err = {0};
	m->outputs = NULL;
	if (!r->outputs)
		return;
	if (fpd_json_to_message(r->outputs, &flyteidl__core__literal_map__descriptor, &m->outputs,
	                        &err) == FPD_OK)
		return;
	*phase = FPD_PHASE_FAILED;
	free(m->message);
	m->message =
	    fpd_asprintf("OutputsInvalid: the task's outputs are not a LiteralMap: %s", err.text);
}

static void links_fill(struct resource_msg *m, const struct fpd_phase_info *pi)
{
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
	m->res.n_log_links = pi->log_count;
	m->res.log_links = m->log_ptrs;
}

/* flyte1: fill Flyte 1's deprecated Resource.state too. */
static void resource_fill(struct resource_msg *m, bool flyte1, const struct fpd_engine_result *r)
{
	const struct fpd_phase_info *pi = r->status;
	Flyteidl__Admin__Resource *res = &m->res;
	/* The INIT macro names the deprecated field; the init function does not. */
	flyteidl__admin__resource__init(res);
	if (pi->code && pi->message && fpd_phase_is_failure(pi->phase))
		m->message = fpd_asprintf("%s: %s", pi->code, pi->message);
	else
		m->message = fpd_strdup(pi->message ? pi->message : "");
	links_fill(m, pi);
	if (json_is_object(pi->custom_info))
		res->custom_info = fpd_wire_struct_new(pi->custom_info);
	enum fpd_phase phase = pi->phase;
	outputs_fill(m, r, &phase);
	res->phase = (Flyteidl__Core__TaskExecution__Phase)phase;
	res->message = m->message;
	res->outputs = (Flyteidl__Core__LiteralMap *)m->outputs;
	if (flyte1) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
		res->state = legacy_state(phase); /* deliberately set: see legacy_state */
#pragma GCC diagnostic pop
	}
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

static void pack(const ProtobufCMessage *msg, uint8_t **out, size_t *len)
{
	*len = protobuf_c_message_get_packed_size(msg);
	*out = fpd_malloc(*len ? *len : 1);
	protobuf_c_message_pack(msg, *out);
}

void fpd_family_encode_resource(const struct fpd_family *f, const struct fpd_engine_result *r,
                                uint8_t **out, size_t *len)
{
	struct resource_msg m;
	resource_fill(&m, f->flyte1, r);
	pack(&m.resp.base, out, len);
	resource_clear(&m);
}

/* ---- engine results as replies --------------------------------------------------------- */

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

/* The engine calls back with the call only: one callback per kind of resource. */
static void reply_status(struct fpd_grpc_call *call, bool flyte1, const struct fpd_engine_result *r)
{
	if (failed(call, r))
		return;
	struct resource_msg m;
	resource_fill(&m, flyte1, r);
	fpd_wire_reply(call, &m.resp.base);
	resource_clear(&m);
}

static void on_status_flyte1(void *ud, const struct fpd_engine_result *r)
{
	reply_status(ud, true, r);
}

static void on_status(void *ud, const struct fpd_engine_result *r)
{
	reply_status(ud, false, r);
}

/* ---- metadata -------------------------------------------------------------------------- */

/* An Agent message borrowing the plugin's strings; release with agent_clear. */
struct agent_msg {
	Flyteidl__Admin__Agent agent;
	Flyteidl__Admin__TaskCategory *categories;
	Flyteidl__Admin__TaskCategory **category_ptrs;
	char **type_names;
};

/* reg non-NULL: only the task categories p is the default plugin for (a second plugin for a
 * type, serving the namespaces plugins.routes gives it, does not list it again). */
static bool listed(const struct fpd_registry *reg, const struct fpd_plugin *p,
                   const struct fpd_task_type *t)
{
	return !reg || fpd_registry_find(reg, t->name, t->version) == p;
}

static void agent_fill(struct agent_msg *m, const struct fpd_family *f, const struct fpd_plugin *p,
                       const struct fpd_registry *reg)
{
	size_t total = p->task_type_count, n = 0, names = 0;
	flyteidl__admin__agent__init(&m->agent);
	m->agent.name = (char *)p->name;
	m->agent.is_sync = 0; /* CreateTask, then GetTask polls */
	m->categories = fpd_calloc(total ? total : 1, sizeof(*m->categories));
	m->category_ptrs = fpd_calloc(total ? total : 1, sizeof(*m->category_ptrs));
	m->type_names = fpd_calloc(total ? total : 1, sizeof(*m->type_names));
	for (size_t i = 0; i < total; i++) {
		const struct fpd_task_type *t = &p->task_types[i];
		if (!listed(reg, p, t))
			continue;
		flyteidl__admin__task_category__init(&m->categories[n]);
		m->categories[n].name = (char *)t->name;
		m->categories[n].version = t->version;
		m->category_ptrs[n] = &m->categories[n];
		n++;
		/* One name per type even when a plugin serves several versions of it. */
		size_t j = 0;
		while (j < names && strcmp(m->type_names[j], t->name) != 0)
			j++;
		if (j == names)
			m->type_names[names++] = (char *)t->name;
	}
	m->agent.n_supported_task_categories = n;
	m->agent.supported_task_categories = m->category_ptrs;
	if (f->flyte1) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
		m->agent.n_supported_task_types = names;
		m->agent.supported_task_types = m->type_names;
#pragma GCC diagnostic pop
	}
}

static void agent_clear(struct agent_msg *m)
{
	free(m->categories);
	free(m->category_ptrs);
	free(m->type_names);
}

void fpd_family_encode_list(const struct fpd_family *f, const struct fpd_registry *reg,
                            uint8_t **out, size_t *len)
{
	size_t count = fpd_registry_count(reg), n = 0;
	struct agent_msg *msgs = fpd_calloc(count ? count : 1, sizeof(*msgs));
	Flyteidl__Admin__Agent **ptrs = fpd_calloc(count ? count : 1, sizeof(*ptrs));
	for (size_t i = 0; i < count; i++) {
		/* A plugin serving no task type of its own (the crd plugin: its declared types are
		 * agents of their own), or only types another plugin lists, is left out: each
		 * category is listed once, and propeller routes by supported_task_categories. */
		const struct fpd_plugin *p = fpd_registry_at(reg, i);
		agent_fill(&msgs[n], f, p, reg);
		if (!msgs[n].agent.n_supported_task_categories) {
			agent_clear(&msgs[n]);
			continue;
		}
		ptrs[n] = &msgs[n].agent;
		n++;
	}
	Flyteidl__Admin__ListAgentsResponse resp = FLYTEIDL__ADMIN__LIST_AGENTS_RESPONSE__INIT;
	resp.n_agents = n;
	resp.agents = ptrs;
	pack(&resp.base, out, len);
	for (size_t i = 0; i < n; i++)
		agent_clear(&msgs[i]);
	free(msgs);
	free(ptrs);
}

void fpd_family_encode_describe(const struct fpd_family *f, const struct fpd_plugin *plugin,
                                uint8_t **out, size_t *len)
{
	struct agent_msg m;
	agent_fill(&m, f, plugin, NULL);
	Flyteidl__Admin__GetAgentResponse resp = FLYTEIDL__ADMIN__GET_AGENT_RESPONSE__INIT;
	resp.agent = &m.agent;
	pack(&resp.base, out, len);
	agent_clear(&m);
}

static void reply_encoded(struct fpd_grpc_call *call, uint8_t *out, size_t len)
{
	fpd_grpc_call_reply(call, out, len);
	free(out);
}

/* ---- calls ----------------------------------------------------------------------------- */

/* The client went away (or its deadline passed): the engine must not answer it. */
static void on_cancel(struct fpd_grpc_call *call, enum fpd_grpc_code code, void *ud)
{
	struct fpd_engine *engine = ud;
	fpd_engine_forget(engine, call);
}

/* The last part of a service's full name: "AsyncAgentService". */
static const char *short_name(const char *service)
{
	const char *dot = strrchr(service, '.');
	return dot ? dot + 1 : service;
}

static void run_task_call(const struct fpd_family_services *s, enum fpd_family_method id,
                          const ProtobufCMessage *req, struct fpd_wire_arena *a,
                          struct fpd_grpc_call *call)
{
	struct fpd_engine *e = s->engine;
	fpd_grpc_call_on_cancel(call, on_cancel, e);
	if (id == FPD_FAMILY_CREATE) {
		struct fpd_task_request tr;
		fpd_flyte1_task_request((const Flyteidl__Admin__CreateTaskRequest *)req, &a->arena,
		                        &tr);
		fpd_engine_create(e, &tr, on_created, call);
		return;
	}
	/* GetTaskRequest and DeleteTaskRequest both hold resource_meta as field 2. */
	const ProtobufCBinaryData *rm =
	    id == FPD_FAMILY_GET
	        ? &((const Flyteidl__Admin__GetTaskRequest *)req)->resource_meta
	        : &((const Flyteidl__Admin__DeleteTaskRequest *)req)->resource_meta;
	struct fpd_meta meta = {rm->data, rm->len};
	if (id == FPD_FAMILY_GET)
		fpd_engine_get(e, &meta, s->family->flyte1 ? on_status_flyte1 : on_status, call);
	else
		fpd_engine_delete(e, &meta, on_deleted, call);
}

static void run_describe(const struct fpd_family_services *s, const ProtobufCMessage *req,
                         struct fpd_grpc_call *call)
{
	const char *name = ((const Flyteidl__Admin__GetAgentRequest *)req)->name;
	const struct fpd_plugin *p = fpd_registry_by_name(s->reg, name ? name : "");
	if (!p) {
		char msg[256];
		snprintf(msg, sizeof(msg), "no %s named \"%.200s\"", s->family->entity,
		         name ? name : "");
		fpd_grpc_call_fail(call, FPD_GRPC_NOT_FOUND, msg);
		return;
	}
	uint8_t *out;
	size_t len;
	fpd_family_encode_describe(s->family, p, &out, &len);
	reply_encoded(call, out, len);
}

static void on_request(struct fpd_grpc_call *call, const uint8_t *bytes, size_t len, void *ud)
{
	const struct method *m = ud;
	const struct fpd_family_services *s = m->services;
	const struct fpd_family *f = s->family;
	const ProtobufCMessageDescriptor *check = f->request[m->id];
	struct fpd_wire_arena a;
	char msg[256];
	ProtobufCMessage *req = fpd_wire_decode_as(
	    check, methods[m->id].as ? methods[m->id].as : check, bytes, len, &a, msg, sizeof(msg));
	if (!req) {
		fpd_grpc_call_fail(call, FPD_GRPC_INVALID_ARGUMENT, msg);
	} else if (m->id == FPD_FAMILY_LIST) {
		uint8_t *out;
		size_t out_len;
		fpd_family_encode_list(f, s->reg, &out, &out_len);
		reply_encoded(call, out, out_len);
	} else if (m->id == FPD_FAMILY_DESCRIBE) {
		run_describe(s, req, call);
	} else if (m->id == FPD_FAMILY_METRICS || m->id == FPD_FAMILY_LOGS) {
		snprintf(msg, sizeof(msg),
		         "%s/%s is not implemented by flyteplugd (%s does not call it)",
		         short_name(f->tasks), methods[m->id].name, f->caller);
		fpd_grpc_call_fail(call, FPD_GRPC_UNIMPLEMENTED, msg);
	} else if (!s->engine) {
		fpd_grpc_call_fail(call, FPD_GRPC_UNAVAILABLE,
		                   "flyteplugd has no Kubernetes API to run tasks on (see "
		                   "kubernetes.kubeconfig / in_cluster in the configuration)");
	} else {
		run_task_call(s, m->id, req, &a, call);
	}
	fpd_wire_release(&a);
}

struct fpd_family_services *fpd_family_serve(struct fpd_grpc_server *srv,
                                             const struct fpd_family *family,
                                             const struct fpd_registry *reg,
                                             struct fpd_engine *engine, struct fpd_error *err)
{
	struct fpd_family_services *s = fpd_calloc(1, sizeof(*s));
	s->family = family;
	s->reg = reg;
	s->engine = engine;
	for (size_t i = 0; i < FPD_FAMILY_METHODS; i++) {
		const char *name = methods[i].name;
		if (i == FPD_FAMILY_LIST)
			name = family->list;
		else if (i == FPD_FAMILY_DESCRIBE)
			name = family->describe;
		char path[160];
		snprintf(path, sizeof(path), "/%s/%s",
		         methods[i].metadata ? family->metadata : family->tasks, name);
		s->methods[i] = (struct method){s, (enum fpd_family_method)i};
		if (fpd_grpc_server_add_method(srv, path, methods[i].kind, on_request,
		                               &s->methods[i], err)) {
			free(s);
			return NULL;
		}
	}
	return s;
}

void fpd_family_set_engine(struct fpd_family_services *s, struct fpd_engine *engine)
{
	s->engine = engine;
}

void fpd_family_services_free(struct fpd_family_services *s)
{
	free(s);
}
