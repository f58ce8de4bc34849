/* flyteidl.service.AgentMetadataService: one Agent per registered plugin, named after it (see
 * flyte1.h). */
#include "agent/flyte1.h"

#include "agent/wire.h"

#include "core/mem.h"

#include "flyteidl/admin/agent.pb-c.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_PATH "/flyteidl.service.AgentMetadataService/ListAgents"
#define GET_PATH "/flyteidl.service.AgentMetadataService/GetAgent"

struct fpd_flyte1_metadata {
	const struct fpd_registry *reg;
};

/* An Agent message borrowing the plugin's strings; release with agent_clear. */
struct agent_msg {
	Flyteidl__Admin__Agent agent;
	Flyteidl__Admin__TaskCategory *categories;
	Flyteidl__Admin__TaskCategory **category_ptrs;
	char **type_names;
};

/* supported_task_types is deprecated in the IDL but still read by propellers before v1.11, so
 * it is filled on purpose; the generated accessors carry a deprecation attribute. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
/* reg non-NULL: only the task categories p is the default plugin for (a second plugin for
 * a type, serving the namespaces plugins.routes gives it, does not list it again). */
static bool listed(const struct fpd_registry *reg, const struct fpd_plugin *p,
                   const struct fpd_task_type *t)
{
	return !reg || fpd_registry_find(reg, t->name, t->version) == p;
}

static void agent_fill(struct agent_msg *m, const struct fpd_plugin *p,
                       const struct fpd_registry *reg)
{
	size_t total = p->task_type_count, n = 0;
	flyteidl__admin__agent__init(&m->agent);
	m->agent.name = (char *)p->name;
	m->agent.is_sync = 0;
	m->categories = fpd_calloc(total ? total : 1, sizeof(*m->categories));
	m->category_ptrs = fpd_calloc(total ? total : 1, sizeof(*m->category_ptrs));
	m->type_names = fpd_calloc(total ? total : 1, sizeof(*m->type_names));
	size_t names = 0;
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
	m->agent.n_supported_task_types = names;
	m->agent.supported_task_types = m->type_names;
}
#pragma GCC diagnostic pop

static void agent_clear(struct agent_msg *m)
{
	free(m->categories);
	free(m->category_ptrs);
	free(m->type_names);
}

static void pack(const ProtobufCMessage *msg, uint8_t **out, size_t *len)
{
	*len = protobuf_c_message_get_packed_size(msg);
	*out = fpd_malloc(*len ? *len : 1);
	protobuf_c_message_pack(msg, *out);
}

void fpd_flyte1_encode_list(const struct fpd_registry *reg, uint8_t **out, size_t *len)
{
	/* A plugin serving no task type (the crd plugin itself: its declared types are agents
	 * of their own) is left out: propeller routes by supported_task_categories only. So is
	 * one that serves only types another plugin lists (each category is listed once). */
	size_t count = fpd_registry_count(reg), n = 0;
	struct agent_msg *msgs = fpd_calloc(count ? count : 1, sizeof(*msgs));
	Flyteidl__Admin__Agent **ptrs = fpd_calloc(count ? count : 1, sizeof(*ptrs));
	for (size_t i = 0; i < count; i++) {
		const struct fpd_plugin *p = fpd_registry_at(reg, i);
		agent_fill(&msgs[n], p, reg);
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

void fpd_flyte1_encode_get(const struct fpd_plugin *plugin, uint8_t **out, size_t *len)
{
	struct agent_msg m;
	agent_fill(&m, plugin, NULL);
	Flyteidl__Admin__GetAgentResponse resp = FLYTEIDL__ADMIN__GET_AGENT_RESPONSE__INIT;
	resp.agent = &m.agent;
	pack(&resp.base, out, len);
	agent_clear(&m);
}

/* Encoded for each call: task types declared at run time come and go. */
static void reply_list(struct fpd_grpc_call *call, const struct fpd_registry *reg)
{
	uint8_t *out;
	size_t len;
	fpd_flyte1_encode_list(reg, &out, &len);
	fpd_grpc_call_reply(call, out, len);
	free(out);
}

static void on_list(struct fpd_grpc_call *call, const uint8_t *req, size_t len, void *ud)
{
	struct fpd_flyte1_metadata *m = ud;
	struct fpd_wire_arena a;
	char msg[256];
	/* ListAgentsRequest has no fields, but garbage is still garbage. */
	if (!fpd_wire_decode(&flyteidl__admin__list_agents_request__descriptor, req, len, &a, msg,
	                     sizeof(msg)))
		fpd_grpc_call_fail(call, FPD_GRPC_INVALID_ARGUMENT, msg);
	else
		reply_list(call, m->reg);
	fpd_wire_release(&a);
}

static void on_get(struct fpd_grpc_call *call, const uint8_t *req, size_t len, void *ud)
{
	struct fpd_flyte1_metadata *m = ud;
	struct fpd_wire_arena a;
	char msg[256];
	const Flyteidl__Admin__GetAgentRequest *r =
	    (const Flyteidl__Admin__GetAgentRequest *)fpd_wire_decode(
	        &flyteidl__admin__get_agent_request__descriptor, req, len, &a, msg, sizeof(msg));
	const struct fpd_plugin *p = NULL;
	if (!r) {
		fpd_grpc_call_fail(call, FPD_GRPC_INVALID_ARGUMENT, msg);
	} else if (!(p = fpd_registry_by_name(m->reg, r->name ? r->name : ""))) {
		snprintf(msg, sizeof(msg), "no agent named \"%.200s\"", r->name ? r->name : "");
		fpd_grpc_call_fail(call, FPD_GRPC_NOT_FOUND, msg);
	} else {
		uint8_t *out;
		size_t out_len;
		fpd_flyte1_encode_get(p, &out, &out_len);
		fpd_grpc_call_reply(call, out, out_len);
		free(out);
	}
	fpd_wire_release(&a);
}

struct fpd_flyte1_metadata *fpd_flyte1_metadata_new(struct fpd_grpc_server *srv,
                                                    const struct fpd_registry *reg,
                                                    struct fpd_error *err)
{
	struct fpd_flyte1_metadata *m = fpd_calloc(1, sizeof(*m));
	m->reg = reg;
	if (fpd_grpc_server_add_method(srv, LIST_PATH, FPD_GRPC_UNARY, on_list, m, err) ||
	    fpd_grpc_server_add_method(srv, GET_PATH, FPD_GRPC_UNARY, on_get, m, err)) {
		fpd_flyte1_metadata_free(m);
		return NULL;
	}
	return m;
}

void fpd_flyte1_metadata_free(struct fpd_flyte1_metadata *m)
{
	if (!m)
		return;
	free(m);
}
