/*
 * Unit tests for the Flyte 1 task wire (daemon/agent/flyte1_request.c, family.c, wire.c):
 * a CreateTaskRequest translated into the engine's request, a GetTask status encoded as the
 * GetTaskResponse propeller reads (decoded back with the generated code), request decoding
 * errors, and the gRPC status of every engine result code.
 */
#include "agent/flyte1.h"
#include "agent/wire.h"
#include "fpd_test.h"

#include "flyteidl/admin/agent.pb-c.h"

#pragma GCC diagnostic ignored "-Wdeprecated-declarations" /* Resource.state */

START_TEST(request_translation)
{
	Flyteidl__Core__TaskTemplate tmpl = FLYTEIDL__CORE__TASK_TEMPLATE__INIT;
	tmpl.type = "python-task";
	Flyteidl__Core__Identifier task_id = FLYTEIDL__CORE__IDENTIFIER__INIT;
	task_id.name = "wf.t1";
	Flyteidl__Core__WorkflowExecutionIdentifier ex =
	    FLYTEIDL__CORE__WORKFLOW_EXECUTION_IDENTIFIER__INIT;
	ex.project = "flytesnacks";
	ex.domain = "development";
	ex.name = "abc123";
	Flyteidl__Core__NodeExecutionIdentifier node =
	    FLYTEIDL__CORE__NODE_EXECUTION_IDENTIFIER__INIT;
	node.node_id = "n0";
	node.execution_id = &ex;
	Flyteidl__Core__TaskExecutionIdentifier id =
	    FLYTEIDL__CORE__TASK_EXECUTION_IDENTIFIER__INIT;
	id.node_execution_id = &node;
	id.retry_attempt = 2;
	id.task_id = &task_id;
	Flyteidl__Admin__TaskExecutionMetadata__LabelsEntry l0 =
	    FLYTEIDL__ADMIN__TASK_EXECUTION_METADATA__LABELS_ENTRY__INIT;
	l0.key = "team";
	l0.value = "ml";
	Flyteidl__Admin__TaskExecutionMetadata__LabelsEntry *labels[] = {&l0};
	Flyteidl__Admin__TaskExecutionMetadata__AnnotationsEntry a0 =
	    FLYTEIDL__ADMIN__TASK_EXECUTION_METADATA__ANNOTATIONS_ENTRY__INIT;
	a0.key = "note";
	a0.value = "x";
	Flyteidl__Admin__TaskExecutionMetadata__AnnotationsEntry *annotations[] = {&a0};
	Flyteidl__Admin__TaskExecutionMetadata__EnvironmentVariablesEntry e0 =
	    FLYTEIDL__ADMIN__TASK_EXECUTION_METADATA__ENVIRONMENT_VARIABLES_ENTRY__INIT;
	e0.key = "A";
	e0.value = "1";
	Flyteidl__Admin__TaskExecutionMetadata__EnvironmentVariablesEntry e1 = e0;
	e1.key = "B";
	e1.value = "2";
	Flyteidl__Admin__TaskExecutionMetadata__EnvironmentVariablesEntry *env[] = {&e0, &e1};
	Flyteidl__Admin__TaskExecutionMetadata meta =
	    FLYTEIDL__ADMIN__TASK_EXECUTION_METADATA__INIT;
	meta.task_execution_id = &id;
	meta.namespace_ = "flytesnacks-development";
	meta.k8s_service_account = "runner";
	meta.n_labels = 1;
	meta.labels = labels;
	meta.n_annotations = 1;
	meta.annotations = annotations;
	meta.n_environment_variables = 2;
	meta.environment_variables = env;
	meta.interruptible = 1;
	Flyteidl__Admin__CreateTaskRequest req = FLYTEIDL__ADMIN__CREATE_TASK_REQUEST__INIT;
	req.template_ = &tmpl;
	req.task_execution_metadata = &meta;
	req.output_prefix = "s3://b/x/n0/data/2";

	struct fpd_arena arena;
	fpd_arena_init(&arena, NULL, 0);
	struct fpd_task_request out;
	fpd_flyte1_task_request(&req, &arena, &out);
	ck_assert_ptr_eq(out.tmpl, &tmpl);
	ck_assert_str_eq(out.output_prefix, "s3://b/x/n0/data/2");
	const struct fpd_task_meta *m = &out.meta;
	ck_assert_str_eq(m->project, "flytesnacks");
	ck_assert_str_eq(m->domain, "development");
	ck_assert_str_eq(m->execution, "abc123");
	ck_assert_str_eq(m->node_id, "n0");
	ck_assert_uint_eq(m->retry_attempt, 2);
	ck_assert_ptr_eq(m->task_id, &task_id);
	ck_assert_str_eq(m->namespace_, "flytesnacks-development");
	ck_assert_str_eq(m->service_account, "runner");
	ck_assert_uint_eq(m->n_labels, 1);
	ck_assert_str_eq(m->labels[0].key, "team");
	ck_assert_str_eq(m->labels[0].value, "ml");
	ck_assert_uint_eq(m->n_annotations, 1);
	ck_assert_str_eq(m->annotations[0].key, "note");
	ck_assert_uint_eq(m->n_env, 2);
	ck_assert_str_eq(m->env[1].key, "B");
	ck_assert_str_eq(m->env[1].value, "2");
	ck_assert(m->interruptible);
	ck_assert_ptr_eq(m->plugin_meta, &meta);

	/* Without metadata: nothing given, nothing invented (the engine refuses it). */
	req.task_execution_metadata = NULL;
	fpd_flyte1_task_request(&req, &arena, &out);
	ck_assert_ptr_null(out.meta.execution);
	ck_assert_ptr_null(out.meta.plugin_meta);
	ck_assert_uint_eq(out.meta.n_labels, 0);
	fpd_arena_release(&arena);
}
END_TEST

static Flyteidl__Admin__GetTaskResponse *encode(const struct fpd_phase_info *pi)
{
	struct fpd_engine_result r = {.code = FPD_OK, .status = pi};
	uint8_t *bytes;
	size_t len;
	fpd_family_encode_resource(&fpd_flyte1_family, &r, &bytes, &len);
	Flyteidl__Admin__GetTaskResponse *resp =
	    flyteidl__admin__get_task_response__unpack(NULL, len, bytes);
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
	pi.custom_info = json_pack("{s:s, s:[i, b], s:{s:n}}", "url", "http://ui", "list", 3, 1,
	                           "nested", "none");
	Flyteidl__Admin__GetTaskResponse *resp = encode(&pi);
	const Flyteidl__Admin__Resource *res = resp->resource;
	ck_assert_int_eq(res->phase, FLYTEIDL__CORE__TASK_EXECUTION__PHASE__RUNNING);
	ck_assert_int_eq(res->state, FLYTEIDL__ADMIN__STATE__RUNNING);
	ck_assert_str_eq(res->message, "pod is running");
	ck_assert_uint_eq(res->n_log_links, 1);
	ck_assert_str_eq(res->log_links[0]->name, "Kubernetes Logs");
	ck_assert_str_eq(res->log_links[0]->uri, "http://logs/x");
	ck_assert(res->log_links[0]->showwhilepending);
	ck_assert_ptr_nonnull(res->custom_info);
	ck_assert_uint_eq(res->custom_info->n_fields, 3);
	const Google__Protobuf__Struct__FieldsEntry *url = res->custom_info->fields[0];
	ck_assert_str_eq(url->key, "url");
	ck_assert_str_eq(url->value->string_value, "http://ui");
	const Google__Protobuf__Value *list = res->custom_info->fields[1]->value;
	ck_assert_int_eq(list->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE);
	ck_assert_double_eq(list->list_value->values[0]->number_value, 3);
	ck_assert(list->list_value->values[1]->bool_value);
	flyteidl__admin__get_task_response__free_unpacked(resp, NULL);
	fpd_phase_info_clear(&pi);

	/* A failure reads "<code>: <message>"; the deprecated state says permanent, and an old
	 * propeller must not read the zero value (RETRYABLE_FAILURE) for a pending task. */
	fpd_phase_set(&pi, FPD_PHASE_FAILED, "OOMKilled", "container ran out of memory");
	resp = encode(&pi);
	ck_assert_str_eq(resp->resource->message, "OOMKilled: container ran out of memory");
	ck_assert_int_eq(resp->resource->state, FLYTEIDL__ADMIN__STATE__PERMANENT_FAILURE);
	ck_assert_ptr_null(resp->resource->custom_info);
	flyteidl__admin__get_task_response__free_unpacked(resp, NULL);
	fpd_phase_set(&pi, FPD_PHASE_QUEUED, NULL, NULL);
	resp = encode(&pi);
	ck_assert_int_eq(resp->resource->state, FLYTEIDL__ADMIN__STATE__PENDING);
	ck_assert_str_eq(resp->resource->message, "");
	flyteidl__admin__get_task_response__free_unpacked(resp, NULL);
	fpd_phase_info_clear(&pi);
}
END_TEST

START_TEST(decode_errors)
{
	struct fpd_wire_arena a;
	char msg[256];
	static const uint8_t garbage[] = {0xff, 0xff, 0xff};
	ck_assert_ptr_null(fpd_wire_decode(&flyteidl__admin__get_task_request__descriptor, garbage,
	                                   sizeof(garbage), &a, msg, sizeof(msg)));
	ck_assert_str_eq(msg, "cannot decode flyteidl.admin.GetTaskRequest");
	fpd_wire_release(&a);

	/* task_type (field 1) that is not UTF-8: refused with the reason. */
	static const uint8_t bad_utf8[] = {0x0a, 0x02, 0xc3, 0x28};
	ck_assert_ptr_null(fpd_wire_decode(&flyteidl__admin__get_task_request__descriptor, bad_utf8,
	                                   sizeof(bad_utf8), &a, msg, sizeof(msg)));
	ck_assert_msg(strstr(msg, "cannot decode flyteidl.admin.GetTaskRequest: field ") == msg &&
	                  strstr(msg, "not valid UTF-8"),
	              "got \"%s\"", msg);
	fpd_wire_release(&a);

	/* resource_meta (field 2) is bytes: anything goes. */
	static const uint8_t ok[] = {0x12, 0x02, 0xc3, 0x28};
	const Flyteidl__Admin__GetTaskRequest *r =
	    (const Flyteidl__Admin__GetTaskRequest *)fpd_wire_decode(
	        &flyteidl__admin__get_task_request__descriptor, ok, sizeof(ok), &a, msg,
	        sizeof(msg));
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->resource_meta.len, 2);
	fpd_wire_release(&a);
}
END_TEST

START_TEST(grpc_codes)
{
	ck_assert_int_eq(fpd_wire_grpc_code(FPD_EINVAL), FPD_GRPC_INVALID_ARGUMENT);
	ck_assert_int_eq(fpd_wire_grpc_code(FPD_EPERM), FPD_GRPC_PERMISSION_DENIED);
	ck_assert_int_eq(fpd_wire_grpc_code(FPD_ENOENT), FPD_GRPC_NOT_FOUND);
	ck_assert_int_eq(fpd_wire_grpc_code(FPD_EEXIST), FPD_GRPC_ALREADY_EXISTS);
	ck_assert_int_eq(fpd_wire_grpc_code(FPD_EIO), FPD_GRPC_UNAVAILABLE);
	ck_assert_int_eq(fpd_wire_grpc_code(FPD_ETIMEDOUT), FPD_GRPC_UNAVAILABLE);
	ck_assert_int_eq(fpd_wire_grpc_code(FPD_ERR), FPD_GRPC_INTERNAL);
	ck_assert_int_eq(fpd_wire_grpc_code(FPD_ERANGE), FPD_GRPC_INTERNAL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("agent/flyte1_tasks");
	TCase *tc = tcase_create("flyte1_tasks");
	tcase_add_test(tc, request_translation);
	tcase_add_test(tc, resource_encoding);
	tcase_add_test(tc, decode_errors);
	tcase_add_test(tc, grpc_codes);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
