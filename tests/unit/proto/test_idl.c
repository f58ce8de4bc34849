/*
 * The generated Flyte IDL library: a TaskTemplate and a CreateTaskRequest survive a pack/unpack
 * round trip with every field we rely on intact, and re-packing gives identical bytes.
 */
#include "fpd_test.h"

#include "flyteidl/admin/agent.pb-c.h"
#include "flyteidl/core/tasks.pb-c.h"
#include "google/protobuf/struct.pb-c.h"

/* Heap-free message graph for the test: everything lives on this function's stack. */
struct template_parts {
	Flyteidl__Core__Identifier id;
	Google__Protobuf__Struct custom;
	Google__Protobuf__Struct__FieldsEntry entry_a, entry_n, *entries[2];
	Google__Protobuf__Value value_a, value_n;
	Flyteidl__Core__Container container;
	char *args[4];
	Flyteidl__Core__KeyValuePair env0, *env[1];
	Flyteidl__Core__TaskTemplate__ConfigEntry cfg0, *cfg[1];
	Flyteidl__Core__TaskTemplate tmpl;
};

static void build_template(struct template_parts *p)
{
	flyteidl__core__identifier__init(&p->id);
	p->id.resource_type = FLYTEIDL__CORE__RESOURCE_TYPE__TASK;
	p->id.project = "flytesnacks";
	p->id.domain = "development";
	p->id.name = "workflows.example.say_hello";
	p->id.version = "v1";

	google__protobuf__value__init(&p->value_a);
	p->value_a.kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE;
	p->value_a.string_value = "b";
	google__protobuf__value__init(&p->value_n);
	p->value_n.kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE;
	p->value_n.number_value = 3.5;
	google__protobuf__struct__fields_entry__init(&p->entry_a);
	p->entry_a.key = "a";
	p->entry_a.value = &p->value_a;
	google__protobuf__struct__fields_entry__init(&p->entry_n);
	p->entry_n.key = "n";
	p->entry_n.value = &p->value_n;
	p->entries[0] = &p->entry_a;
	p->entries[1] = &p->entry_n;
	google__protobuf__struct__init(&p->custom);
	p->custom.n_fields = 2;
	p->custom.fields = p->entries;

	flyteidl__core__container__init(&p->container);
	p->container.image = "ghcr.io/flyteorg/flytekit:py3.11";
	p->args[0] = "pyflyte-execute";
	p->args[1] = "--inputs";
	p->args[2] = "{{.input}}";
	p->args[3] = "--output-prefix";
	p->container.n_args = 4;
	p->container.args = p->args;
	flyteidl__core__key_value_pair__init(&p->env0);
	p->env0.key = "FLYTE_SDK_LOGGING_LEVEL";
	p->env0.value = "20";
	p->env[0] = &p->env0;
	p->container.n_env = 1;
	p->container.env = p->env;

	flyteidl__core__task_template__config_entry__init(&p->cfg0);
	p->cfg0.key = "primary_container_name";
	p->cfg0.value = "main";
	p->cfg[0] = &p->cfg0;

	flyteidl__core__task_template__init(&p->tmpl);
	p->tmpl.id = &p->id;
	p->tmpl.type = "python-task";
	p->tmpl.custom = &p->custom;
	p->tmpl.task_type_version = 2;
	p->tmpl.target_case = FLYTEIDL__CORE__TASK_TEMPLATE__TARGET_CONTAINER;
	p->tmpl.container = &p->container;
	p->tmpl.n_config = 1;
	p->tmpl.config = p->cfg;
}

static void check_template(const Flyteidl__Core__TaskTemplate *t)
{
	ck_assert_str_eq(t->type, "python-task");
	ck_assert_int_eq(t->task_type_version, 2);
	ck_assert_int_eq(t->id->resource_type, FLYTEIDL__CORE__RESOURCE_TYPE__TASK);
	ck_assert_str_eq(t->id->name, "workflows.example.say_hello");
	ck_assert_int_eq(t->target_case, FLYTEIDL__CORE__TASK_TEMPLATE__TARGET_CONTAINER);
	ck_assert_str_eq(t->container->image, "ghcr.io/flyteorg/flytekit:py3.11");
	ck_assert_uint_eq(t->container->n_args, 4);
	ck_assert_str_eq(t->container->args[2], "{{.input}}");
	ck_assert_str_eq(t->container->env[0]->key, "FLYTE_SDK_LOGGING_LEVEL");
	ck_assert_uint_eq(t->custom->n_fields, 2);
	int seen = 0;
	for (size_t i = 0; i < t->custom->n_fields; i++) {
		const Google__Protobuf__Struct__FieldsEntry *e = t->custom->fields[i];
		if (strcmp(e->key, "a") == 0) {
			ck_assert_int_eq(e->value->kind_case,
			                 GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE);
			ck_assert_str_eq(e->value->string_value, "b");
			seen |= 1;
		} else if (strcmp(e->key, "n") == 0) {
			ck_assert_double_eq(e->value->number_value, 3.5);
			seen |= 2;
		}
	}
	ck_assert_int_eq(seen, 3);
	ck_assert_str_eq(t->config[0]->value, "main");
}

START_TEST(task_template_round_trip)
{
	struct template_parts p;
	build_template(&p);
	size_t n = flyteidl__core__task_template__get_packed_size(&p.tmpl);
	uint8_t *bytes = malloc(n);
	ck_assert_uint_eq(flyteidl__core__task_template__pack(&p.tmpl, bytes), n);

	Flyteidl__Core__TaskTemplate *back = flyteidl__core__task_template__unpack(NULL, n, bytes);
	ck_assert_ptr_nonnull(back);
	check_template(back);
	uint8_t *again = malloc(n);
	ck_assert_uint_eq(flyteidl__core__task_template__get_packed_size(back), n);
	flyteidl__core__task_template__pack(back, again);
	ck_assert_mem_eq(bytes, again, n);
	flyteidl__core__task_template__free_unpacked(back, NULL);
	free(bytes);
	free(again);
}
END_TEST

START_TEST(create_task_request_round_trip)
{
	struct template_parts p;
	build_template(&p);

	Flyteidl__Core__Primitive prim;
	flyteidl__core__primitive__init(&prim);
	prim.value_case = FLYTEIDL__CORE__PRIMITIVE__VALUE_INTEGER;
	prim.integer = -42;
	Flyteidl__Core__Scalar scalar;
	flyteidl__core__scalar__init(&scalar);
	scalar.value_case = FLYTEIDL__CORE__SCALAR__VALUE_PRIMITIVE;
	scalar.primitive = &prim;
	Flyteidl__Core__Literal lit;
	flyteidl__core__literal__init(&lit);
	lit.value_case = FLYTEIDL__CORE__LITERAL__VALUE_SCALAR;
	lit.scalar = &scalar;
	Flyteidl__Core__LiteralMap__LiteralsEntry lit_entry, *lit_entries[1] = {&lit_entry};
	flyteidl__core__literal_map__literals_entry__init(&lit_entry);
	lit_entry.key = "x";
	lit_entry.value = &lit;
	Flyteidl__Core__LiteralMap inputs;
	flyteidl__core__literal_map__init(&inputs);
	inputs.n_literals = 1;
	inputs.literals = lit_entries;

	Flyteidl__Core__TaskExecutionIdentifier texid;
	flyteidl__core__task_execution_identifier__init(&texid);
	texid.task_id = &p.id;
	texid.retry_attempt = 2;
	Flyteidl__Admin__TaskExecutionMetadata__LabelsEntry label, *labels[1] = {&label};
	flyteidl__admin__task_execution_metadata__labels_entry__init(&label);
	label.key = "team";
	label.value = "ml";
	Flyteidl__Admin__TaskExecutionMetadata meta;
	flyteidl__admin__task_execution_metadata__init(&meta);
	meta.task_execution_id = &texid;
	meta.namespace_ = "flytesnacks-development";
	meta.k8s_service_account = "default";
	meta.n_labels = 1;
	meta.labels = labels;

	Flyteidl__Admin__CreateTaskRequest req;
	flyteidl__admin__create_task_request__init(&req);
	req.inputs = &inputs;
	req.template_ = &p.tmpl;
	req.output_prefix = "s3://bucket/metadata/propeller/a/n0/data/0";
	req.task_execution_metadata = &meta;

	size_t n = flyteidl__admin__create_task_request__get_packed_size(&req);
	uint8_t *bytes = malloc(n);
	flyteidl__admin__create_task_request__pack(&req, bytes);
	Flyteidl__Admin__CreateTaskRequest *back =
	    flyteidl__admin__create_task_request__unpack(NULL, n, bytes);
	ck_assert_ptr_nonnull(back);
	check_template(back->template_);
	ck_assert_str_eq(back->output_prefix, "s3://bucket/metadata/propeller/a/n0/data/0");
	ck_assert_str_eq(back->task_execution_metadata->namespace_, "flytesnacks-development");
	ck_assert_uint_eq(back->task_execution_metadata->task_execution_id->retry_attempt, 2);
	ck_assert_str_eq(back->task_execution_metadata->labels[0]->value, "ml");
	ck_assert_uint_eq(back->inputs->n_literals, 1);
	ck_assert_int_eq(back->inputs->literals[0]->value->scalar->primitive->integer, -42);

	uint8_t *again = malloc(n);
	ck_assert_uint_eq(flyteidl__admin__create_task_request__pack(back, again), n);
	ck_assert_mem_eq(bytes, again, n);
	flyteidl__admin__create_task_request__free_unpacked(back, NULL);
	free(bytes);
	free(again);
}
END_TEST

START_TEST(truncated_bytes_are_rejected)
{
	struct template_parts p;
	build_template(&p);
	size_t n = flyteidl__core__task_template__get_packed_size(&p.tmpl);
	uint8_t *bytes = malloc(n);
	flyteidl__core__task_template__pack(&p.tmpl, bytes);
	/* Cutting inside a length-delimited field must fail cleanly, never crash. */
	for (size_t cut = 1; cut < n; cut += 7) {
		Flyteidl__Core__TaskTemplate *t =
		    flyteidl__core__task_template__unpack(NULL, n - cut, bytes);
		if (t)
			flyteidl__core__task_template__free_unpacked(t, NULL);
	}
	ck_assert_ptr_null(flyteidl__core__task_template__unpack(NULL, n - 1, bytes));
	free(bytes);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("proto/idl");
	TCase *tc = tcase_create("idl");
	tcase_add_test(tc, task_template_round_trip);
	tcase_add_test(tc, create_task_request_round_trip);
	tcase_add_test(tc, truncated_bytes_are_rejected);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
