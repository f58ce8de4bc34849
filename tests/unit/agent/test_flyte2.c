/*
 * Unit tests for the Flyte 2 wire (daemon/agent/flyte2.c, family.c): a flyteidl2 CreateTaskRequest,
 * packed with the generated Flyte 2 code, read as the engine's request through Flyte 1's
 * messages (template, metadata, inputs, and the Flyte 2-only fields left aside); the checks
 * Flyte 1 requests get (nesting, UTF-8) applied to it; a GetTask status encoded as the Flyte 2
 * GetTaskResponse (decoded back with the generated code); ListConnectors / GetConnector from a
 * registry.
 */
#include "agent/flyte2.h"
#include "agent/pbcheck.h"
#include "agent/wire.h"
#include "fpd_test.h"

#include "flyteidl/admin/agent.pb-c.h"
#include "flyteidl2/connector/connector.pb-c.h"
#include "flyteidl2/task/common.pb-c.h"

/* A Flyte 2 CreateTaskRequest for a container task, with one input, its execution's identity
 * and the Flyte 2-only fields set; packed into a new allocation. custom, when given, becomes
 * TaskTemplate.custom. */
static uint8_t *flyte2_request(size_t *len, Google__Protobuf__Struct *custom, const char *project)
{
	Flyteidl2__Core__Container c = FLYTEIDL2__CORE__CONTAINER__INIT;
	c.image = "ghcr.io/flyteorg/flytekit:py3.11";
	char *args[] = {"pyflyte-execute", "--inputs", "{{.input}}"};
	c.args = args;
	c.n_args = 3;
	Flyteidl2__Core__Identifier task_id = FLYTEIDL2__CORE__IDENTIFIER__INIT;
	task_id.resource_type = FLYTEIDL2__CORE__RESOURCE_TYPE__TASK;
	task_id.project = (char *)project;
	task_id.name = "wf.t1";
	task_id.version = "v1";
	Flyteidl2__Core__TaskMetadata tm = FLYTEIDL2__CORE__TASK_METADATA__INIT;
	tm.interruptible_value_case =
	    FLYTEIDL2__CORE__TASK_METADATA__INTERRUPTIBLE_VALUE_INTERRUPTIBLE;
	tm.interruptible = 1;
	tm.debuggable = 1;    /* Flyte 2 only (17) */
	tm.is_entrypoint = 1; /* Flyte 2 only (20) */
	Flyteidl2__Core__TaskTemplate tmpl = FLYTEIDL2__CORE__TASK_TEMPLATE__INIT;
	tmpl.id = &task_id;
	tmpl.type = "python-task";
	tmpl.task_type_version = 2;
	tmpl.metadata = &tm;
	tmpl.target_case = FLYTEIDL2__CORE__TASK_TEMPLATE__TARGET_CONTAINER;
	tmpl.container = &c;
	tmpl.custom = custom;
	tmpl.worker_kind = FLYTEIDL2__CORE__WORKER_KIND__WORKER_KIND_SANDBOX; /* Flyte 2 only */

	Flyteidl2__Core__Primitive prim = FLYTEIDL2__CORE__PRIMITIVE__INIT;
	prim.value_case = FLYTEIDL2__CORE__PRIMITIVE__VALUE_INTEGER;
	prim.integer = 42;
	Flyteidl2__Core__Scalar scalar = FLYTEIDL2__CORE__SCALAR__INIT;
	scalar.value_case = FLYTEIDL2__CORE__SCALAR__VALUE_PRIMITIVE;
	scalar.primitive = &prim;
	Flyteidl2__Core__Literal lit = FLYTEIDL2__CORE__LITERAL__INIT;
	lit.value_case = FLYTEIDL2__CORE__LITERAL__VALUE_SCALAR;
	lit.scalar = &scalar;
	Flyteidl2__Task__NamedLiteral nl = FLYTEIDL2__TASK__NAMED_LITERAL__INIT;
	nl.name = "x";
	nl.value = &lit;
	Flyteidl2__Task__NamedLiteral *nls[] = {&nl};
	Flyteidl2__Task__Inputs inputs = FLYTEIDL2__TASK__INPUTS__INIT;
	inputs.literals = nls;
	inputs.n_literals = 1;

	Flyteidl2__Core__WorkflowExecutionIdentifier ex =
	    FLYTEIDL2__CORE__WORKFLOW_EXECUTION_IDENTIFIER__INIT;
	ex.project = (char *)project;
	ex.domain = "development";
	ex.name = "r1a2b3";
	Flyteidl2__Core__NodeExecutionIdentifier node =
	    FLYTEIDL2__CORE__NODE_EXECUTION_IDENTIFIER__INIT;
	node.node_id = "a0";
	node.execution_id = &ex;
	Flyteidl2__Core__TaskExecutionIdentifier id =
	    FLYTEIDL2__CORE__TASK_EXECUTION_IDENTIFIER__INIT;
	id.node_execution_id = &node;
	id.task_id = &task_id;
	id.retry_attempt = 1;
	Flyteidl2__Connector__TaskExecutionMetadata__LabelsEntry l0 =
	    FLYTEIDL2__CONNECTOR__TASK_EXECUTION_METADATA__LABELS_ENTRY__INIT;
	l0.key = "team";
	l0.value = "ml";
	Flyteidl2__Connector__TaskExecutionMetadata__LabelsEntry *labels[] = {&l0};
	Flyteidl2__Connector__TaskExecutionMetadata__EnvironmentVariablesEntry e0 =
	    FLYTEIDL2__CONNECTOR__TASK_EXECUTION_METADATA__ENVIRONMENT_VARIABLES_ENTRY__INIT;
	e0.key = "A";
	e0.value = "1";
	Flyteidl2__Connector__TaskExecutionMetadata__EnvironmentVariablesEntry *env[] = {&e0};
	Flyteidl2__Connector__TaskExecutionMetadata meta =
	    FLYTEIDL2__CONNECTOR__TASK_EXECUTION_METADATA__INIT;
	meta.task_execution_id = &id;
	meta.namespace_ = "flytesnacks-development";
	meta.k8s_service_account = "runner";
	meta.labels = labels;
	meta.n_labels = 1;
	meta.environment_variables = env;
	meta.n_environment_variables = 1;
	meta.max_attempts = 3;

	Flyteidl2__Core__Connection conn = FLYTEIDL2__CORE__CONNECTION__INIT;
	conn.task_type = "python-task";

	Flyteidl2__Connector__CreateTaskRequest req =
	    FLYTEIDL2__CONNECTOR__CREATE_TASK_REQUEST__INIT;
	req.inputs = &inputs;
	req.template_ = &tmpl;
	req.output_prefix = "s3://b/r1a2b3/a0/1";
	req.task_execution_metadata = &meta;
	req.connection = &conn;
	*len = flyteidl2__connector__create_task_request__get_packed_size(&req);
	uint8_t *b = malloc(*len);
	flyteidl2__connector__create_task_request__pack(&req, b);
	return b;
}

START_TEST(request_translation)
{
	Google__Protobuf__Value v = GOOGLE__PROTOBUF__VALUE__INIT;
	v.kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE;
	v.string_value = "3.5";
	Google__Protobuf__Struct__FieldsEntry fe = GOOGLE__PROTOBUF__STRUCT__FIELDS_ENTRY__INIT;
	fe.key = "sparkVersion";
	fe.value = &v;
	Google__Protobuf__Struct__FieldsEntry *fes[] = {&fe};
	Google__Protobuf__Struct custom = GOOGLE__PROTOBUF__STRUCT__INIT;
	custom.fields = fes;
	custom.n_fields = 1;
	size_t len;
	uint8_t *b = flyte2_request(&len, &custom, "flytesnacks");

	struct fpd_wire_arena a;
	struct fpd_task_request out;
	char msg[256];
	ck_assert_int_eq(fpd_flyte2_task_request(b, len, &a, &out, msg, sizeof(msg)), 0);
	const Flyteidl__Core__TaskTemplate *t = out.tmpl;
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(t->type, "python-task");
	ck_assert_int_eq(t->task_type_version, 2);
	ck_assert_str_eq(t->id->name, "wf.t1");
	ck_assert_int_eq(t->id->resource_type, FLYTEIDL__CORE__RESOURCE_TYPE__TASK);
	ck_assert_int_eq(t->target_case, FLYTEIDL__CORE__TASK_TEMPLATE__TARGET_CONTAINER);
	ck_assert_str_eq(t->container->image, "ghcr.io/flyteorg/flytekit:py3.11");
	ck_assert_uint_eq(t->container->n_args, 3);
	ck_assert_str_eq(t->container->args[2], "{{.input}}");
	ck_assert(t->metadata->interruptible);
	ck_assert_uint_eq(t->custom->n_fields, 1);
	ck_assert_str_eq(t->custom->fields[0]->key, "sparkVersion");
	ck_assert_str_eq(t->custom->fields[0]->value->string_value, "3.5");
	/* worker_kind (20) and the new TaskMetadata fields: kept aside, not read. */
	ck_assert_uint_eq(t->base.n_unknown_fields, 1);
	ck_assert_uint_eq(t->base.unknown_fields[0].tag, 20);
	ck_assert_uint_eq(t->metadata->base.n_unknown_fields, 2);

	ck_assert_ptr_nonnull(out.inputs);
	ck_assert_uint_eq(out.inputs->n_literals, 1);
	ck_assert_str_eq(out.inputs->literals[0]->key, "x");
	ck_assert_int_eq(out.inputs->literals[0]->value->scalar->primitive->integer, 42);
	ck_assert_str_eq(out.output_prefix, "s3://b/r1a2b3/a0/1");

	const struct fpd_task_meta *m = &out.meta;
	ck_assert_str_eq(m->project, "flytesnacks");
	ck_assert_str_eq(m->domain, "development");
	ck_assert_str_eq(m->execution, "r1a2b3");
	ck_assert_str_eq(m->node_id, "a0");
	ck_assert_uint_eq(m->retry_attempt, 1);
	ck_assert_str_eq(m->task_id->name, "wf.t1");
	ck_assert_str_eq(m->namespace_, "flytesnacks-development");
	ck_assert_str_eq(m->service_account, "runner");
	ck_assert_uint_eq(m->n_labels, 1);
	ck_assert_str_eq(m->labels[0].key, "team");
	ck_assert_uint_eq(m->n_env, 1);
	ck_assert_str_eq(m->env[0].value, "1");
	ck_assert_ptr_nonnull(m->plugin_meta);
	ck_assert_int_eq(m->plugin_meta->max_attempts, 3);
	ck_assert_ptr_null(m->plugin_meta->overrides); /* Flyte 2 has none */
	fpd_wire_release(&a);
	free(b);
}
END_TEST

/* Wire bytes grown at the front. */
struct buf {
	uint8_t *data;
	size_t len;
};

static void prepend(struct buf *b, const uint8_t *p, size_t n)
{
	uint8_t *d = malloc(b->len + n);
	memcpy(d, p, n);
	if (b->len)
		memcpy(d + n, b->data, b->len);
	free(b->data);
	b->data = d;
	b->len += n;
}

/* b becomes field tag (length-delimited) holding b. */
static void wrap(struct buf *b, uint8_t tag)
{
	uint8_t head[11];
	size_t k = 0, n = b->len;
	head[k++] = tag;
	do {
		head[k++] = (uint8_t)((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
		n >>= 7;
	} while (n);
	prepend(b, head, k);
}

/* The checks Flyte 1 requests get: they run on the Flyte 2 descriptor, and name it. */
START_TEST(request_checks)
{
	struct fpd_wire_arena a;
	struct fpd_task_request out;
	char msg[256];
	const uint8_t garbage[] = {0x12, 0x05, 0x01};
	ck_assert_int_eq(
	    fpd_flyte2_task_request(garbage, sizeof(garbage), &a, &out, msg, sizeof(msg)), -1);
	ck_assert_str_eq(msg, "cannot decode flyteidl2.connector.CreateTaskRequest");
	fpd_wire_release(&a);

	size_t len;
	uint8_t *b = flyte2_request(&len, NULL, "bad\xff");
	ck_assert_int_eq(fpd_flyte2_task_request(b, len, &a, &out, msg, sizeof(msg)), -1);
	ck_assert_ptr_nonnull(strstr(msg, "cannot decode flyteidl2.connector.CreateTaskRequest: "));
	ck_assert_ptr_nonnull(strstr(msg, "not valid UTF-8"));
	fpd_wire_release(&a);
	free(b);

	/* TaskTemplate.custom nested deeper than the bound: a Struct field holding lists of lists,
	 * built from the inside out (protobuf-c's own pack would recurse that deep too). */
	struct buf deep = {0};
	for (unsigned i = 0; i < 2 * FPD_PB_MAX_DEPTH; i++)
		wrap(&deep, i % 2 == 0 ? 0x0a /* ListValue.values */ : 0x32 /* Value.list_value */);
	wrap(&deep, 0x12);                                     /* FieldsEntry.value */
	prepend(&deep, (const uint8_t[]){0x0a, 0x01, 'k'}, 3); /* FieldsEntry.key */
	wrap(&deep, 0x0a);                                     /* Struct.fields */
	wrap(&deep, 0x2a);                                     /* TaskTemplate.custom (5) */
	wrap(&deep, 0x12);                                     /* CreateTaskRequest.template */
	struct buf *cur = &deep;
	size_t cur_len = deep.len;
	ck_assert_int_eq(fpd_flyte2_task_request(cur->data, cur_len, &a, &out, msg, sizeof(msg)),
	                 -1);
	ck_assert_msg(strstr(msg, "nested deeper than"), "%s", msg);
	fpd_wire_release(&a);
	free(deep.data);
}
END_TEST

static Flyteidl2__Connector__GetTaskResponse *encode(const struct fpd_engine_result *r)
{
	uint8_t *bytes;
	size_t len;
	fpd_family_encode_resource(&fpd_flyte2_family, r, &bytes, &len);
	Flyteidl2__Connector__GetTaskResponse *resp =
	    flyteidl2__connector__get_task_response__unpack(NULL, len, bytes);
	free(bytes);
	ck_assert_ptr_nonnull(resp);
	ck_assert_ptr_nonnull(resp->resource);
	return resp;
}

START_TEST(resource_encoding)
{
	struct fpd_phase_info pi = {0};
	fpd_phase_set(&pi, FPD_PHASE_RUNNING, NULL, "pod is running");
	pi.logs = calloc(1, sizeof(*pi.logs));
	pi.logs[0] = (struct fpd_log_link){.name = strdup("Kubernetes Logs"),
	                                   .uri = strdup("http://logs/x"),
	                                   .show_while_pending = true};
	pi.log_count = 1;
	pi.custom_info = json_pack("{s:s, s:[i, b]}", "url", "http://ui", "list", 3, 1);
	struct fpd_engine_result r = {.code = FPD_OK, .status = &pi};
	Flyteidl2__Connector__GetTaskResponse *resp = encode(&r);
	const Flyteidl2__Connector__Resource *res = resp->resource;
	ck_assert_int_eq(res->phase, FLYTEIDL2__CORE__TASK_EXECUTION__PHASE__RUNNING);
	ck_assert_str_eq(res->message, "pod is running");
	ck_assert_uint_eq(res->n_log_links, 1);
	ck_assert_str_eq(res->log_links[0]->name, "Kubernetes Logs");
	ck_assert_str_eq(res->log_links[0]->uri, "http://logs/x");
	ck_assert(res->log_links[0]->showwhilepending);
	ck_assert_uint_eq(res->custom_info->n_fields, 2);
	ck_assert_str_eq(res->custom_info->fields[0]->value->string_value, "http://ui");
	ck_assert_ptr_null(res->outputs);
	ck_assert_uint_eq(res->base.n_unknown_fields, 0);
	flyteidl2__connector__get_task_response__free_unpacked(resp, NULL);

	/* A failure: the code goes into the message (Flyte 2 has no error message type). */
	fpd_phase_set(&pi, FPD_PHASE_RETRYABLE_FAILED, "OOMKilled", "container ran out of memory");
	resp = encode(&r);
	ck_assert_int_eq(resp->resource->phase,
	                 FLYTEIDL2__CORE__TASK_EXECUTION__PHASE__RETRYABLE_FAILED);
	ck_assert_str_eq(resp->resource->message, "OOMKilled: container ran out of memory");
	flyteidl2__connector__get_task_response__free_unpacked(resp, NULL);

	/* Outputs: the plugin's LiteralMap (proto3 JSON) becomes Flyte 2's Outputs, name for key. */
	json_t *lm = json_pack("{s:{s:{s:{s:{s:s}}}}}", "literals", "o0", "scalar", "primitive",
	                       "stringValue", "hello");
	ck_assert_ptr_nonnull(lm);
	fpd_phase_set(&pi, FPD_PHASE_SUCCEEDED, NULL, NULL);
	r.outputs = lm;
	resp = encode(&r);
	ck_assert_int_eq(resp->resource->phase, FLYTEIDL2__CORE__TASK_EXECUTION__PHASE__SUCCEEDED);
	const Flyteidl2__Task__Outputs *o = resp->resource->outputs;
	ck_assert_ptr_nonnull(o);
	ck_assert_uint_eq(o->n_literals, 1);
	ck_assert_str_eq(o->literals[0]->name, "o0");
	ck_assert_str_eq(o->literals[0]->value->scalar->primitive->string_value, "hello");
	flyteidl2__connector__get_task_response__free_unpacked(resp, NULL);

	/* Outputs that are no LiteralMap fail the attempt with the reason, as in Flyte 1. */
	json_decref(lm);
	lm = json_pack("{s:i}", "literals", 3);
	r.outputs = lm;
	resp = encode(&r);
	ck_assert_int_eq(resp->resource->phase, FLYTEIDL2__CORE__TASK_EXECUTION__PHASE__FAILED);
	ck_assert_ptr_null(resp->resource->outputs);
	ck_assert_msg(strstr(resp->resource->message, "OutputsInvalid"), "%s",
	              resp->resource->message);
	flyteidl2__connector__get_task_response__free_unpacked(resp, NULL);
	json_decref(lm);
	fpd_phase_info_clear(&pi);
}
END_TEST

static const struct fpd_task_type spark_types[] = {{"spark", 0}, {"spark", 1}, {"pyspark", 0}};
static const struct fpd_task_type ray_types[] = {{"ray", 0}};
static const struct fpd_plugin spark = {
    .abi = FPD_PLUGIN_ABI, .name = "spark", .task_types = spark_types, .task_type_count = 3};
static const struct fpd_plugin ray = {
    .abi = FPD_PLUGIN_ABI, .name = "ray", .task_types = ray_types, .task_type_count = 1};

/* A plugin whose task types are declared elsewhere (as crd's): no connector of its own. */
static const struct fpd_schema_field no_settings[] = {{NULL}};
static const struct fpd_plugin typeless = {
    .abi = FPD_PLUGIN_ABI, .name = "typeless", .settings_schema = no_settings};

static struct fpd_registry *test_registry(void)
{
	struct fpd_registry *reg = fpd_registry_new();
	struct fpd_error err;
	ck_assert_int_eq(fpd_registry_add(reg, &spark, &err), 0);
	ck_assert_int_eq(fpd_registry_add(reg, &typeless, &err), 0);
	ck_assert_int_eq(fpd_registry_add(reg, &ray, &err), 0);
	return reg;
}

START_TEST(encode_connectors)
{
	struct fpd_registry *reg = test_registry();
	uint8_t *out;
	size_t len;
	fpd_family_encode_list(&fpd_flyte2_family, reg, &out, &len);
	Flyteidl2__Connector__ListConnectorsResponse *l =
	    flyteidl2__connector__list_connectors_response__unpack(NULL, len, out);
	free(out);
	ck_assert_ptr_nonnull(l);
	ck_assert_uint_eq(l->n_connectors, 2);
	const Flyteidl2__Connector__Connector *c = l->connectors[0];
	ck_assert_str_eq(c->name, "spark");
	ck_assert_uint_eq(c->n_supported_task_categories, 3);
	ck_assert_str_eq(c->supported_task_categories[1]->name, "spark");
	ck_assert_int_eq(c->supported_task_categories[1]->version, 1);
	ck_assert_str_eq(c->supported_task_categories[2]->name, "pyspark");
	ck_assert_uint_eq(c->base.n_unknown_fields, 0);
	ck_assert_str_eq(l->connectors[1]->name, "ray");
	flyteidl2__connector__list_connectors_response__free_unpacked(l, NULL);

	fpd_family_encode_describe(&fpd_flyte2_family, &ray, &out, &len);
	Flyteidl2__Connector__GetConnectorResponse *g =
	    flyteidl2__connector__get_connector_response__unpack(NULL, len, out);
	free(out);
	ck_assert_ptr_nonnull(g);
	ck_assert_str_eq(g->connector->name, "ray");
	ck_assert_uint_eq(g->connector->n_supported_task_categories, 1);
	flyteidl2__connector__get_connector_response__free_unpacked(g, NULL);
	fpd_registry_free(reg);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("agent/flyte2");
	TCase *tc = tcase_create("flyte2");
	tcase_add_test(tc, request_translation);
	tcase_add_test(tc, request_checks);
	tcase_add_test(tc, resource_encoding);
	tcase_add_test(tc, encode_connectors);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
