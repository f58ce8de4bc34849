/* flyteidl2.connector.ConnectorMetadataService: one Connector per registered plugin, named after
 * it (see flyte2.h). */
#include "agent/flyte2.h"

#include "agent/wire.h"
#include "core/mem.h"

#include "flyteidl2/connector/connector.pb-c.h"

#include <stdio.h>
#include <stdlib.h>

#define LIST_PATH "/flyteidl2.connector.ConnectorMetadataService/ListConnectors"
#define GET_PATH "/flyteidl2.connector.ConnectorMetadataService/GetConnector"

struct fpd_flyte2_metadata {
	const struct fpd_registry *reg;
	uint8_t *list; /* the encoded ListConnectorsResponse */
	size_t list_len;
};

/* A Connector message borrowing the plugin's strings; release with connector_clear. */
struct connector_msg {
	Flyteidl2__Connector__Connector connector;
	Flyteidl2__Connector__TaskCategory *categories;
	Flyteidl2__Connector__TaskCategory **category_ptrs;
};

/* reg non-NULL: only the task categories p is the default plugin for (as ListAgents). */
static void connector_fill(struct connector_msg *m, const struct fpd_plugin *p,
                           const struct fpd_registry *reg)
{
	size_t total = p->task_type_count, n = 0;
	flyteidl2__connector__connector__init(&m->connector);
	m->connector.name = (char *)p->name;
	m->categories = fpd_calloc(total ? total : 1, sizeof(*m->categories));
	m->category_ptrs = fpd_calloc(total ? total : 1, sizeof(*m->category_ptrs));
	for (size_t i = 0; i < total; i++) {
		const struct fpd_task_type *t = &p->task_types[i];
		if (reg && fpd_registry_find(reg, t->name, t->version) != p)
			continue;
		flyteidl2__connector__task_category__init(&m->categories[n]);
		m->categories[n].name = (char *)t->name;
		m->categories[n].version = t->version;
		m->category_ptrs[n] = &m->categories[n];
		n++;
	}
	m->connector.n_supported_task_categories = n;
	m->connector.supported_task_categories = m->category_ptrs;
}

static void connector_clear(struct connector_msg *m)
{
	free(m->categories);
	free(m->category_ptrs);
}

static void pack(const ProtobufCMessage *msg, uint8_t **out, size_t *len)
{
	*len = protobuf_c_message_get_packed_size(msg);
	*out = fpd_malloc(*len ? *len : 1);
	protobuf_c_message_pack(msg, *out);
}

void fpd_flyte2_encode_list(const struct fpd_registry *reg, uint8_t **out, size_t *len)
{
	size_t total = fpd_registry_count(reg), n = 0;
	struct connector_msg *msgs = fpd_calloc(total ? total : 1, sizeof(*msgs));
	Flyteidl2__Connector__Connector **ptrs = fpd_calloc(total ? total : 1, sizeof(*ptrs));
	/* As ListAgents: a plugin that serves no task type of its own (crd, whose declared types
	 * are plugins of their own), or only types another plugin lists, is no connector. */
	for (size_t i = 0; i < total; i++) {
		const struct fpd_plugin *p = fpd_registry_at(reg, i);
		connector_fill(&msgs[n], p, reg);
		if (!msgs[n].connector.n_supported_task_categories) {
			connector_clear(&msgs[n]);
			continue;
		}
		ptrs[n] = &msgs[n].connector;
		n++;
	}
	Flyteidl2__Connector__ListConnectorsResponse resp =
	    FLYTEIDL2__CONNECTOR__LIST_CONNECTORS_RESPONSE__INIT;
	resp.n_connectors = n;
	resp.connectors = ptrs;
	pack(&resp.base, out, len);
	for (size_t i = 0; i < n; i++)
		connector_clear(&msgs[i]);
	free(msgs);
	free(ptrs);
}

void fpd_flyte2_encode_get(const struct fpd_plugin *plugin, uint8_t **out, size_t *len)
{
	struct connector_msg m;
	connector_fill(&m, plugin, NULL);
	Flyteidl2__Connector__GetConnectorResponse resp =
	    FLYTEIDL2__CONNECTOR__GET_CONNECTOR_RESPONSE__INIT;
	resp.connector = &m.connector;
	pack(&resp.base, out, len);
	connector_clear(&m);
}

static void on_list(struct fpd_grpc_call *call, const uint8_t *req, size_t len, void *ud)
{
	struct fpd_flyte2_metadata *m = ud;
	struct fpd_wire_arena a;
	char msg[256];
	if (!fpd_wire_decode(&flyteidl2__connector__list_connectors_request__descriptor, req, len,
	                     &a, msg, sizeof(msg)))
		fpd_grpc_call_fail(call, FPD_GRPC_INVALID_ARGUMENT, msg);
	else
		fpd_grpc_call_reply(call, m->list, m->list_len);
	fpd_wire_release(&a);
}

static void on_get(struct fpd_grpc_call *call, const uint8_t *req, size_t len, void *ud)
{
	struct fpd_flyte2_metadata *m = ud;
	struct fpd_wire_arena a;
	char msg[256];
	const Flyteidl2__Connector__GetConnectorRequest *r =
	    (const Flyteidl2__Connector__GetConnectorRequest *)fpd_wire_decode(
	        &flyteidl2__connector__get_connector_request__descriptor, req, len, &a, msg,
	        sizeof(msg));
	const struct fpd_plugin *p = NULL;
	if (!r) {
		fpd_grpc_call_fail(call, FPD_GRPC_INVALID_ARGUMENT, msg);
	} else if (!(p = fpd_registry_by_name(m->reg, r->name ? r->name : ""))) {
		snprintf(msg, sizeof(msg), "no connector named \"%.200s\"", r->name ? r->name : "");
		fpd_grpc_call_fail(call, FPD_GRPC_NOT_FOUND, msg);
	} else {
		uint8_t *out;
		size_t out_len;
		fpd_flyte2_encode_get(p, &out, &out_len);
		fpd_grpc_call_reply(call, out, out_len);
		free(out);
	}
	fpd_wire_release(&a);
}

struct fpd_flyte2_metadata *fpd_flyte2_metadata_new(struct fpd_grpc_server *srv,
                                                    const struct fpd_registry *reg,
                                                    struct fpd_error *err)
{
	struct fpd_flyte2_metadata *m = fpd_calloc(1, sizeof(*m));
	m->reg = reg;
	fpd_flyte2_encode_list(reg, &m->list, &m->list_len);
	if (fpd_grpc_server_add_method(srv, LIST_PATH, FPD_GRPC_UNARY, on_list, m, err) ||
	    fpd_grpc_server_add_method(srv, GET_PATH, FPD_GRPC_UNARY, on_get, m, err)) {
		fpd_flyte2_metadata_free(m);
		return NULL;
	}
	return m;
}

void fpd_flyte2_metadata_free(struct fpd_flyte2_metadata *m)
{
	if (!m)
		return;
	free(m->list);
	free(m);
}
