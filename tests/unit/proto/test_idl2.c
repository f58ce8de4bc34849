/*
 * The generated Flyte 2 IDL library (fpd_proto2): a flyteidl2 CreateTaskRequest built in C
 * survives a pack/unpack round trip (and ctest has the flyteidl2 Python package read it back),
 * and the bytes the Python package writes (idl2_request.py, run by ctest just before this test)
 * unpack into the values it set, with no field left unknown.
 */
#include "fpd_test.h"

#include <stdint.h>

#include "flyteidl2/connector/connector.pb-c.h"
#include "flyteidl2/core/tasks.pb-c.h"
#include "flyteidl2/task/common.pb-c.h"
#include "google/protobuf/struct.pb-c.h"

/* Unknown fields anywhere in m and the messages it holds: protobuf-c keeps what it cannot
 * name, so a field missing from the compiled IDL would otherwise unpack without complaint. */
static size_t unknown_fields(const ProtobufCMessage *m)
{
	const char *base = (const char *)m;
	size_t n = m->n_unknown_fields;
	for (unsigned i = 0; i < m->descriptor->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &m->descriptor->fields[i];
		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t count = *(const size_t *)(base + f->quantifier_offset);
			ProtobufCMessage *const *items =
			    *(ProtobufCMessage *const *const *)(base + f->offset);
			for (size_t k = 0; k < count; k++)
				n += unknown_fields(items[k]);
			continue;
		}
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)(base + f->quantifier_offset) != f->id)
			continue;
		const ProtobufCMessage *sub = *(ProtobufCMessage *const *)(base + f->offset);
		if (sub)
			n += unknown_fields(sub);
	}
	return n;
}

/* Heap-free message graph for the round trip: everything lives on the caller's stack. */
struct request_parts {
	Flyteidl2__Core__Identifier id;
	Google__Protobuf__Struct custom;
	Google__Protobuf__Struct__FieldsEntry entry_a, entry_n, *entries[2];
	Google__Protobuf__Value value_a, value_n;
	Flyteidl2__Core__Container container;
	char *args[4];
	Flyteidl2__Core__KeyValuePair env0, *env[1];
	Flyteidl2__Core__TaskTemplate__ConfigEntry cfg0, *cfg[1];
	Flyteidl2__Core__TaskTemplate tmpl;
	Flyteidl2__Core__Primitive prim;
	Flyteidl2__Core__Scalar scalar;
	Flyteidl2__Core__Literal literal;
	Flyteidl2__Task__NamedLiteral named, *named_list[1];
	Flyteidl2__Task__Inputs inputs;
	Flyteidl2__Core__TaskExecutionIdentifier texid;
	Flyteidl2__Connector__TaskExecutionMetadata__LabelsEntry label, *labels[1];
	Flyteidl2__Connector__TaskExecutionMetadata meta;
	Flyteidl2__Connector__CreateTaskRequest req;
};

static void build_template(struct request_parts *p)
{
	flyteidl2__core__identifier__init(&p->id);
	p->id.resource_type = FLYTEIDL2__CORE__RESOURCE_TYPE__TASK;
	p->id.project = "flytesnacks";
	p->id.domain = "development";
	p->id.name = "workflows.example.say_hello";
	p->id.version = "v1";
	p->id.org = "acme";

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

	flyteidl2__core__container__init(&p->container);
	p->container.image = "ghcr.io/flyteorg/flyte:py3.12";
	p->args[0] = "a0";
	p->args[1] = "--inputs";
	p->args[2] = "{{.input}}";
	p->args[3] = "a3";
	p->container.n_args = 4;
	p->container.args = p->args;
	flyteidl2__core__key_value_pair__init(&p->env0);
	p->env0.key = "FLYTE_SDK_LOGGING_LEVEL";
	p->env0.value = "20";
	p->env[0] = &p->env0;
	p->container.n_env = 1;
	p->container.env = p->env;

	flyteidl2__core__task_template__config_entry__init(&p->cfg0);
	p->cfg0.key = "primary_container_name";
	p->cfg0.value = "main";
	p->cfg[0] = &p->cfg0;

	flyteidl2__core__task_template__init(&p->tmpl);
	p->tmpl.id = &p->id;
	p->tmpl.type = "python-task";
	p->tmpl.custom = &p->custom;
	p->tmpl.task_type_version = 2;
	p->tmpl.target_case = FLYTEIDL2__CORE__TASK_TEMPLATE__TARGET_CONTAINER;
	p->tmpl.container = &p->container;
	p->tmpl.n_config = 1;
	p->tmpl.config = p->cfg;
}

static void build_request(struct request_parts *p)
{
	build_template(p);

	flyteidl2__core__primitive__init(&p->prim);
	p->prim.value_case = FLYTEIDL2__CORE__PRIMITIVE__VALUE_INTEGER;
	p->prim.integer = -42;
	flyteidl2__core__scalar__init(&p->scalar);
	p->scalar.value_case = FLYTEIDL2__CORE__SCALAR__VALUE_PRIMITIVE;
	p->scalar.primitive = &p->prim;
	flyteidl2__core__literal__init(&p->literal);
	p->literal.value_case = FLYTEIDL2__CORE__LITERAL__VALUE_SCALAR;
	p->literal.scalar = &p->scalar;
	flyteidl2__task__named_literal__init(&p->named);
	p->named.name = "x";
	p->named.value = &p->literal;
	p->named_list[0] = &p->named;
	flyteidl2__task__inputs__init(&p->inputs);
	p->inputs.n_literals = 1;
	p->inputs.literals = p->named_list;

	flyteidl2__core__task_execution_identifier__init(&p->texid);
	p->texid.task_id = &p->id;
	p->texid.retry_attempt = 2;
	flyteidl2__connector__task_execution_metadata__labels_entry__init(&p->label);
	p->label.key = "team";
	p->label.value = "ml";
	p->labels[0] = &p->label;
	flyteidl2__connector__task_execution_metadata__init(&p->meta);
	p->meta.task_execution_id = &p->texid;
	p->meta.namespace_ = "flytesnacks-development";
	p->meta.k8s_service_account = "default";
	p->meta.n_labels = 1;
	p->meta.labels = p->labels;
	p->meta.max_attempts = 4;
	p->meta.interruptible = 1;

	flyteidl2__connector__create_task_request__init(&p->req);
	p->req.inputs = &p->inputs;
	p->req.template_ = &p->tmpl;
	p->req.output_prefix = "s3://bucket/metadata/a/n0/data/0";
	p->req.task_execution_metadata = &p->meta;
}

/* The values both build_request and idl2_request.py set. */
static void check_request(const Flyteidl2__Connector__CreateTaskRequest *r)
{
	const Flyteidl2__Core__TaskTemplate *t = r->template_;
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(t->type, "python-task");
	ck_assert_int_eq(t->task_type_version, 2);
	ck_assert_int_eq(t->id->resource_type, FLYTEIDL2__CORE__RESOURCE_TYPE__TASK);
	ck_assert_str_eq(t->id->name, "workflows.example.say_hello");
	ck_assert_str_eq(t->id->org, "acme");
	ck_assert_int_eq(t->target_case, FLYTEIDL2__CORE__TASK_TEMPLATE__TARGET_CONTAINER);
	ck_assert_str_eq(t->container->image, "ghcr.io/flyteorg/flyte:py3.12");
	ck_assert_uint_eq(t->container->n_args, 4);
	ck_assert_str_eq(t->container->args[2], "{{.input}}");
	ck_assert_uint_eq(t->container->n_env, 1);
	ck_assert_str_eq(t->container->env[0]->key, "FLYTE_SDK_LOGGING_LEVEL");
	ck_assert_str_eq(t->container->env[0]->value, "20");
	ck_assert_uint_eq(t->n_config, 1);
	ck_assert_str_eq(t->config[0]->key, "primary_container_name");
	ck_assert_str_eq(t->config[0]->value, "main");
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
			ck_assert_int_eq(e->value->kind_case,
			                 GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE);
			ck_assert_double_eq(e->value->number_value, 3.5);
			seen |= 2;
		}
	}
	ck_assert_int_eq(seen, 3);

	ck_assert_uint_eq(r->inputs->n_literals, 1);
	ck_assert_str_eq(r->inputs->literals[0]->name, "x");
	const Flyteidl2__Core__Literal *lit = r->inputs->literals[0]->value;
	ck_assert_int_eq(lit->value_case, FLYTEIDL2__CORE__LITERAL__VALUE_SCALAR);
	ck_assert_int_eq(lit->scalar->value_case, FLYTEIDL2__CORE__SCALAR__VALUE_PRIMITIVE);
	ck_assert_int_eq(lit->scalar->primitive->value_case,
	                 FLYTEIDL2__CORE__PRIMITIVE__VALUE_INTEGER);
	ck_assert_int_eq(lit->scalar->primitive->integer, -42);
	ck_assert_str_eq(r->output_prefix, "s3://bucket/metadata/a/n0/data/0");

	const Flyteidl2__Connector__TaskExecutionMetadata *m = r->task_execution_metadata;
	ck_assert_str_eq(m->namespace_, "flytesnacks-development");
	ck_assert_str_eq(m->k8s_service_account, "default");
	ck_assert_uint_eq(m->task_execution_id->retry_attempt, 2);
	ck_assert_str_eq(m->task_execution_id->task_id->project, "flytesnacks");
	ck_assert_uint_eq(m->n_labels, 1);
	ck_assert_str_eq(m->labels[0]->key, "team");
	ck_assert_str_eq(m->labels[0]->value, "ml");
	ck_assert_int_eq(m->max_attempts, 4);
	ck_assert_int_eq(m->interruptible, 1);
}

START_TEST(create_task_request_round_trip)
{
	struct request_parts p;
	build_request(&p);
	size_t n = flyteidl2__connector__create_task_request__get_packed_size(&p.req);
	uint8_t *bytes = malloc(n);
	ck_assert_uint_eq(flyteidl2__connector__create_task_request__pack(&p.req, bytes), n);

	Flyteidl2__Connector__CreateTaskRequest *back =
	    flyteidl2__connector__create_task_request__unpack(NULL, n, bytes);
	ck_assert_ptr_nonnull(back);
	check_request(back);
	ck_assert_uint_eq(unknown_fields(&back->base), 0);
	uint8_t *again = malloc(n);
	ck_assert_uint_eq(flyteidl2__connector__create_task_request__get_packed_size(back), n);
	flyteidl2__connector__create_task_request__pack(back, again);
	ck_assert_mem_eq(bytes, again, n);
	flyteidl2__connector__create_task_request__free_unpacked(back, NULL);

	/* For idl2_request.py --check: the Python package must read what C wrote. */
	const char *out = getenv("FPD_IDL2_C_BYTES");
	if (out) {
		FILE *f = fopen(out, "wb");
		ck_assert_msg(f != NULL, "cannot write %s", out);
		ck_assert_uint_eq(fwrite(bytes, 1, n, f), n);
		ck_assert_int_eq(fclose(f), 0);
	}

	/* A truncated message is refused, not half-read. */
	ck_assert_ptr_null(flyteidl2__connector__create_task_request__unpack(NULL, n - 3, bytes));
	free(bytes);
	free(again);
}
END_TEST

START_TEST(python_written_request)
{
	const char *path = getenv("FPD_IDL2_PY_BYTES");
	ck_assert_msg(path != NULL, "FPD_IDL2_PY_BYTES not set (ctest sets it after running "
	                            "idl2_request.py)");
	FILE *f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	uint8_t buf[8192];
	size_t n = fread(buf, 1, sizeof(buf), f);
	ck_assert_msg(feof(f) && n > 0, "%s: expected 1..%zu bytes", path, sizeof(buf));
	fclose(f);

	Flyteidl2__Connector__CreateTaskRequest *r =
	    flyteidl2__connector__create_task_request__unpack(NULL, n, buf);
	ck_assert_msg(r != NULL, "the C library could not unpack the Python package's bytes");
	check_request(r);
	ck_assert_uint_eq(unknown_fields(&r->base), 0);

	/* Only the Python side sets these: the renamed Backoff.base and the proto3 optional
	 * Backoff.factor (a one-field oneof in C), TaskMetadata's oneof, core.Identity. */
	const Flyteidl2__Core__TaskMetadata *md = r->template_->metadata;
	ck_assert_ptr_nonnull(md);
	ck_assert_int_eq(md->interruptible_value_case,
	                 FLYTEIDL2__CORE__TASK_METADATA__INTERRUPTIBLE_VALUE_INTERRUPTIBLE);
	ck_assert_int_eq(md->interruptible, 1);
	ck_assert_uint_eq(md->retries->retries, 3);
	const Flyteidl2__Core__Backoff *b = md->retries->backoff;
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(b->base_->seconds, 5);
	ck_assert_int_eq(b->cap->seconds, 60);
	ck_assert_int_eq(b->_factor_case, FLYTEIDL2__CORE__BACKOFF___FACTOR_FACTOR);
	ck_assert_double_eq(b->factor, 2.0);
	ck_assert_str_eq(r->task_execution_metadata->identity->k8s_service_account, "runner");

	/* Packing it again gives the Python package's bytes back. */
	ck_assert_uint_eq(flyteidl2__connector__create_task_request__get_packed_size(r), n);
	uint8_t again[sizeof(buf)];
	flyteidl2__connector__create_task_request__pack(r, again);
	ck_assert_mem_eq(buf, again, n);
	flyteidl2__connector__create_task_request__free_unpacked(r, NULL);
}
END_TEST

START_TEST(unset_optional_is_absent)
{
	/* proto3 optional compiled as a oneof keeps presence: an unset factor is not sent, a set
	 * zero is. */
	Flyteidl2__Core__Backoff b;
	flyteidl2__core__backoff__init(&b);
	ck_assert_uint_eq(flyteidl2__core__backoff__get_packed_size(&b), 0);
	b._factor_case = FLYTEIDL2__CORE__BACKOFF___FACTOR_FACTOR;
	b.factor = 0.0;
	uint8_t out[16];
	ck_assert_uint_eq(flyteidl2__core__backoff__pack(&b, out), 9);
	Flyteidl2__Core__Backoff *back = flyteidl2__core__backoff__unpack(NULL, 9, out);
	ck_assert_ptr_nonnull(back);
	ck_assert_int_eq(back->_factor_case, FLYTEIDL2__CORE__BACKOFF___FACTOR_FACTOR);
	flyteidl2__core__backoff__free_unpacked(back, NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("proto_idl2");
	TCase *tc = tcase_create("flyteidl2");
	tcase_add_test(tc, create_task_request_round_trip);
	tcase_add_test(tc, python_written_request);
	tcase_add_test(tc, unset_optional_is_absent);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
