/*
 * Unit tests for daemon/agent/family.c for Flyte 1: ListAgents/GetAgent
 * encoding from a registry of test plugins, decoded back with the generated protobuf-c code,
 * and the answers of the AsyncAgentService stubs.
 */
#include "agent/agent.h"
#include "agent/flyte1.h"
#include "fpd_test.h"
#include "harness.h"

#include "flyteidl/admin/agent.pb-c.h"

#pragma GCC diagnostic ignored "-Wdeprecated-declarations" /* supported_task_types */

static const struct fpd_task_type spark_types[] = {{"spark", 0}, {"spark", 1}, {"pyspark", 0}};
static const struct fpd_task_type ray_types[] = {{"ray", 0}};
static const struct fpd_plugin spark = {
    .abi = FPD_PLUGIN_ABI, .name = "spark", .task_types = spark_types, .task_type_count = 3};
static const struct fpd_plugin ray = {
    .abi = FPD_PLUGIN_ABI, .name = "ray", .task_types = ray_types, .task_type_count = 1};

/* Owns settings but serves no task type of its own (as the crd plugin): not an agent. */
static const struct fpd_schema_field typeless_fields[] = {{0}};
static const struct fpd_plugin typeless = {
    .abi = FPD_PLUGIN_ABI, .name = "typeless", .settings_schema = typeless_fields};

static struct fpd_registry *test_registry(void)
{
	struct fpd_registry *reg = fpd_registry_new();
	struct fpd_error err;
	ck_assert_int_eq(fpd_registry_add(reg, &typeless, &err), 0);
	ck_assert_int_eq(fpd_registry_add(reg, &spark, &err), 0);
	ck_assert_int_eq(fpd_registry_add(reg, &ray, &err), 0);
	return reg;
}

static void check_spark(const Flyteidl__Admin__Agent *a)
{
	ck_assert_str_eq(a->name, "spark");
	ck_assert(!a->is_sync);
	ck_assert_uint_eq(a->n_supported_task_types, 2); /* names, once each */
	ck_assert_str_eq(a->supported_task_types[0], "spark");
	ck_assert_str_eq(a->supported_task_types[1], "pyspark");
	ck_assert_uint_eq(a->n_supported_task_categories, 3);
	ck_assert_str_eq(a->supported_task_categories[1]->name, "spark");
	ck_assert_int_eq(a->supported_task_categories[1]->version, 1);
	ck_assert_str_eq(a->supported_task_categories[2]->name, "pyspark");
	ck_assert_int_eq(a->supported_task_categories[2]->version, 0);
}

START_TEST(encode_list)
{
	struct fpd_registry *reg = test_registry();
	uint8_t *out;
	size_t len;
	fpd_family_encode_list(&fpd_flyte1_family, reg, &out, &len);
	Flyteidl__Admin__ListAgentsResponse *r =
	    flyteidl__admin__list_agents_response__unpack(NULL, len, out);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->n_agents, 2);
	check_spark(r->agents[0]);
	ck_assert_str_eq(r->agents[1]->name, "ray");
	ck_assert_uint_eq(r->agents[1]->n_supported_task_categories, 1);
	flyteidl__admin__list_agents_response__free_unpacked(r, NULL);
	free(out);
	fpd_registry_free(reg);
}
END_TEST

/* A second plugin for spark 0 and ray, routed to some namespaces: each category is listed once,
 * by its default plugin, and a plugin left with none is no agent; GetAgent still tells all. */
START_TEST(encode_list_names_each_category_once)
{
	static const struct fpd_task_type alt_types[] = {{"spark", 0}};
	static const struct fpd_plugin alt = {
	    .abi = FPD_PLUGIN_ABI, .name = "alt", .task_types = alt_types, .task_type_count = 1};
	struct fpd_config_route route = {.task_type = "spark", .plugin = "alt"};
	struct fpd_list routes = {&route, 1};
	struct fpd_registry *reg = fpd_registry_new();
	struct fpd_error err;
	fpd_registry_set_routes(reg, &routes);
	ck_assert_int_eq(fpd_registry_add(reg, &spark, &err), 0);
	ck_assert_int_eq(fpd_registry_add(reg, &alt, &err), 0);
	uint8_t *out;
	size_t len;
	fpd_family_encode_list(&fpd_flyte1_family, reg, &out, &len);
	Flyteidl__Admin__ListAgentsResponse *r =
	    flyteidl__admin__list_agents_response__unpack(NULL, len, out);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->n_agents, 1);
	check_spark(r->agents[0]);
	flyteidl__admin__list_agents_response__free_unpacked(r, NULL);
	free(out);
	fpd_family_encode_describe(&fpd_flyte1_family, &alt, &out, &len);
	Flyteidl__Admin__GetAgentResponse *g =
	    flyteidl__admin__get_agent_response__unpack(NULL, len, out);
	ck_assert_ptr_nonnull(g);
	ck_assert_uint_eq(g->agent->n_supported_task_categories, 1);
	flyteidl__admin__get_agent_response__free_unpacked(g, NULL);
	free(out);
	fpd_registry_free(reg);
}
END_TEST

START_TEST(encode_list_empty)
{
	struct fpd_registry *reg = fpd_registry_new();
	uint8_t *out;
	size_t len;
	fpd_family_encode_list(&fpd_flyte1_family, reg, &out, &len);
	ck_assert_uint_eq(len, 0);
	free(out);
	fpd_registry_free(reg);
}
END_TEST

static struct h2h h;
static struct fpd_registry *reg;
static struct fpd_agent *agent;

static void setup(void)
{
	struct fpd_error err;
	reg = test_registry();
	h2h_init(&h, 4096);
	agent = fpd_agent_new(h.srv, reg, NULL, &err);
	ck_assert_ptr_nonnull(agent);
	h2h_connect(&h);
}

static void teardown(void)
{
	h2h_free(&h);
	fpd_agent_free(agent);
	fpd_registry_free(reg);
}

static struct h2h_stream *call(const char *path, const ProtobufCMessage *msg)
{
	static uint8_t buf[H2H_STREAMS][1024];
	static size_t next;
	uint8_t *b = buf[next++ % H2H_STREAMS];
	size_t n = protobuf_c_message_pack(msg, b), len;
	const uint8_t *body = h2h_frame(b, n, &len);
	return h2h_request(&h, path, NULL, NULL, NULL, body, len, 0, false);
}

static struct h2h_stream *call_raw(const char *path, const void *bytes, size_t n)
{
	size_t len;
	const uint8_t *body = h2h_frame(bytes, n, &len);
	return h2h_request(&h, path, NULL, NULL, NULL, body, len, 0, false);
}

START_TEST(list_agents_call)
{
	Flyteidl__Admin__ListAgentsRequest req = FLYTEIDL__ADMIN__LIST_AGENTS_REQUEST__INIT;
	struct h2h_stream *s = call("/flyteidl.service.AgentMetadataService/ListAgents", &req.base);
	ck_assert_int_eq(s->grpc_status, 0);
	size_t len;
	const uint8_t *m = h2h_message(s, 0, &len);
	ck_assert_ptr_nonnull(m);
	Flyteidl__Admin__ListAgentsResponse *r =
	    flyteidl__admin__list_agents_response__unpack(NULL, len, m);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->n_agents, 2);
	flyteidl__admin__list_agents_response__free_unpacked(r, NULL);
}
END_TEST

START_TEST(get_agent_call)
{
	Flyteidl__Admin__GetAgentRequest req = FLYTEIDL__ADMIN__GET_AGENT_REQUEST__INIT;
	req.name = "spark";
	struct h2h_stream *s = call("/flyteidl.service.AgentMetadataService/GetAgent", &req.base);
	ck_assert_int_eq(s->grpc_status, 0);
	size_t len;
	const uint8_t *m = h2h_message(s, 0, &len);
	Flyteidl__Admin__GetAgentResponse *r =
	    flyteidl__admin__get_agent_response__unpack(NULL, len, m);
	ck_assert_ptr_nonnull(r);
	check_spark(r->agent);
	flyteidl__admin__get_agent_response__free_unpacked(r, NULL);

	req.name = "dask";
	s = call("/flyteidl.service.AgentMetadataService/GetAgent", &req.base);
	ck_assert_int_eq(s->grpc_status, FPD_GRPC_NOT_FOUND);
	ck_assert_str_eq(s->grpc_message, "no agent named \"dask\"");

	const uint8_t junk[] = {0x0a, 0x7f, 'x'};
	s = call_raw("/flyteidl.service.AgentMetadataService/GetAgent", junk, sizeof(junk));
	ck_assert_int_eq(s->grpc_status, FPD_GRPC_INVALID_ARGUMENT);
}
END_TEST

START_TEST(async_service_stubs)
{
	const uint8_t junk[] = {0x12, 0x7f, 'x'}; /* template: length past the end */
	struct h2h_stream *s =
	    call_raw("/flyteidl.service.AsyncAgentService/CreateTask", junk, sizeof(junk));
	ck_assert_int_eq(s->grpc_status, FPD_GRPC_INVALID_ARGUMENT);
	ck_assert_str_eq(s->grpc_message, "cannot decode flyteidl.admin.CreateTaskRequest");

	Flyteidl__Admin__CreateTaskRequest req = FLYTEIDL__ADMIN__CREATE_TASK_REQUEST__INIT;
	req.output_prefix = "s3://bucket/prefix";
	/* No engine (no Kubernetes API): task calls are unavailable, and say why. */
	s = call("/flyteidl.service.AsyncAgentService/CreateTask", &req.base);
	ck_assert_int_eq(s->grpc_status, FPD_GRPC_UNAVAILABLE);
	ck_assert_ptr_nonnull(strstr(s->grpc_message, "no Kubernetes API"));

	const char *task_calls[] = {"GetTask", "DeleteTask"};
	for (size_t i = 0; i < 2; i++) {
		char path[128];
		snprintf(path, sizeof(path), "/flyteidl.service.AsyncAgentService/%s",
		         task_calls[i]);
		s = call_raw(path, "", 0);
		ck_assert_msg(s->grpc_status == FPD_GRPC_UNAVAILABLE, "%s: %d", task_calls[i],
		              s->grpc_status);
	}
	/* Never called by propeller: not implemented. */
	const char *others[] = {"GetTaskMetrics", "GetTaskLogs"};
	for (size_t i = 0; i < 2; i++) {
		char path[128];
		snprintf(path, sizeof(path), "/flyteidl.service.AsyncAgentService/%s", others[i]);
		s = call_raw(path, "", 0);
		ck_assert_msg(s->grpc_status == FPD_GRPC_UNIMPLEMENTED, "%s: %d", others[i],
		              s->grpc_status);
	}
	/* Not served at all: flyteplugd is not a sync agent. */
	s = call_raw("/flyteidl.service.SyncAgentService/ExecuteTaskSync", "", 0);
	ck_assert_int_eq(s->grpc_status, FPD_GRPC_UNIMPLEMENTED);
	ck_assert_str_eq(s->grpc_message,
	                 "unknown method /flyteidl.service.SyncAgentService/ExecuteTaskSync");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("agent/flyte1_metadata");
	TCase *enc = tcase_create("encode");
	tcase_add_test(enc, encode_list);
	tcase_add_test(enc, encode_list_empty);
	tcase_add_test(enc, encode_list_names_each_category_once);
	suite_add_tcase(s, enc);
	TCase *svc = tcase_create("service");
	tcase_add_checked_fixture(svc, setup, teardown);
	tcase_add_test(svc, list_agents_call);
	tcase_add_test(svc, get_agent_call);
	tcase_add_test(svc, async_service_stubs);
	suite_add_tcase(s, svc);
	return fpd_run_suite(s);
}
