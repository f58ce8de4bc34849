/* Unit tests for daemon/agent/pbcheck.c: UTF-8 in every string field and the nesting bound,
 * checked before protobuf-c decodes a request. */
#include "agent/pbcheck.h"
#include "fpd_test.h"

#include "flyteidl/admin/agent.pb-c.h"
#include "google/protobuf/struct.pb-c.h"

/* A packed message, to free(). */
static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
	*len = protobuf_c_message_get_packed_size(m);
	uint8_t *b = malloc(*len ? *len : 1);
	protobuf_c_message_pack(m, b);
	return b;
}

static int check(const ProtobufCMessageDescriptor *d, const ProtobufCMessage *m, char *why)
{
	size_t len;
	uint8_t *b = pack(m, &len);
	int rc = fpd_pb_check(d, b, len, why, 192);
	free(b);
	return rc;
}

/* A CreateTaskRequest with strings at several depths, in a repeated field and in a map. */
START_TEST(utf8_everywhere)
{
	char project[32] = "flytesnacks", label[32] = "team", value[32] = "ml", arg[32] = "--x";
	Flyteidl__Core__Identifier id = FLYTEIDL__CORE__IDENTIFIER__INIT;
	id.project = project;
	Flyteidl__Core__Container c = FLYTEIDL__CORE__CONTAINER__INIT;
	char *args[] = {"pyflyte-execute", arg};
	c.n_args = 2;
	c.args = args;
	Flyteidl__Core__TaskTemplate t = FLYTEIDL__CORE__TASK_TEMPLATE__INIT;
	t.id = &id;
	t.type = "python-task";
	t.target_case = FLYTEIDL__CORE__TASK_TEMPLATE__TARGET_CONTAINER;
	t.container = &c;
	Flyteidl__Admin__TaskExecutionMetadata__LabelsEntry e =
	    FLYTEIDL__ADMIN__TASK_EXECUTION_METADATA__LABELS_ENTRY__INIT;
	e.key = label;
	e.value = value;
	Flyteidl__Admin__TaskExecutionMetadata__LabelsEntry *labels[] = {&e};
	Flyteidl__Admin__TaskExecutionMetadata md = FLYTEIDL__ADMIN__TASK_EXECUTION_METADATA__INIT;
	md.n_labels = 1;
	md.labels = labels;
	Flyteidl__Admin__CreateTaskRequest req = FLYTEIDL__ADMIN__CREATE_TASK_REQUEST__INIT;
	req.template_ = &t;
	req.task_execution_metadata = &md;
	req.output_prefix = "s3://bucket/é/日本";
	const ProtobufCMessageDescriptor *d = &flyteidl__admin__create_task_request__descriptor;
	char why[192];
	ck_assert_int_eq(check(d, &req.base, why), 0);
	ck_assert_str_eq(why, "");

	struct {
		char *field;
		const char *bad;
		const char *want;
	} cases[] = {
	    {project, "\xff", "field flyteidl.core.Identifier.project is not valid UTF-8"},
	    {arg, "a\xc0\xaf", "field flyteidl.core.Container.args is not valid UTF-8"},
	    {label, "\xed\xa0\x80", /* a surrogate */
	     "field flyteidl.admin.TaskExecutionMetadata.LabelsEntry.key is not valid UTF-8"},
	    {value, "\xf4\x90\x80\x80", /* past U+10FFFF */
	     "field flyteidl.admin.TaskExecutionMetadata.LabelsEntry.value is not valid UTF-8"},
	    {project, "ok \xe6\x97", "field flyteidl.core.Identifier.project is not valid UTF-8"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char saved[32];
		strcpy(saved, cases[i].field);
		strcpy(cases[i].field, cases[i].bad);
		ck_assert_int_eq(check(d, &req.base, why), -1);
		ck_assert_str_eq(why, cases[i].want);
		strcpy(cases[i].field, saved);
	}
	ck_assert_int_eq(check(d, &req.base, why), 0);
}
END_TEST

/* google.protobuf.Value holding lists that many deep (Value{list_value: ListValue{values:
 * [Value{...}]}}), written from the inside out: protobuf-c's own pack recurses too. */
static uint8_t *nested_value(unsigned lists, size_t *len)
{
	size_t cap = (size_t)lists * 12 + 16, start = cap;
	uint8_t *b = malloc(cap);
	for (unsigned i = 0; i < 2 * lists; i++) {
		uint64_t n = cap - start;
		uint8_t v[10];
		size_t k = 0;
		do {
			v[k++] = (uint8_t)((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
			n >>= 7;
		} while (n);
		start -= k;
		memcpy(b + start, v, k);
		b[--start] = i % 2 == 0 ? 0x0a /* ListValue.values */ : 0x32 /* Value.list_value */;
	}
	*len = cap - start;
	memmove(b, b + start, *len);
	return b;
}

START_TEST(depth_is_bounded)
{
	/* lists lists: 2 * lists + 1 message levels */
	unsigned fits = (FPD_PB_MAX_DEPTH - 1) / 2;
	char why[192];
	size_t len;
	uint8_t *b = nested_value(fits, &len);
	ck_assert_int_eq(fpd_pb_check(&google__protobuf__value__descriptor, b, len, why, 192), 0);
	ProtobufCMessage *m = protobuf_c_message_unpack(&google__protobuf__value__descriptor, NULL,
	                                                len, b); /* the bytes are a Value */
	ck_assert_ptr_nonnull(m);
	protobuf_c_message_free_unpacked(m, NULL);
	free(b);
	b = nested_value(fits + 1, &len);
	ck_assert_int_eq(fpd_pb_check(&google__protobuf__value__descriptor, b, len, why, 192), -1);
	ck_assert_ptr_nonnull(strstr(why, "nested deeper than"));
	free(b);
	b = nested_value(100000, &len); /* far deeper: refused without recursing that deep */
	ck_assert_int_eq(fpd_pb_check(&google__protobuf__value__descriptor, b, len, why, 192), -1);
	free(b);
}
END_TEST

START_TEST(leaves_malformed_bytes_to_unpack)
{
	char why[192];
	/* truncated length, a group, a bad wire type, an unknown field holding invalid UTF-8 */
	static const uint8_t truncated[] = {0x12, 0x7f, 'x'}, group[] = {0x0b, 0x0c},
	                     wiretype[] = {0x0f}, unknown[] = {0xca, 0x01, 0x01, 0xff};
	const ProtobufCMessageDescriptor *d = &flyteidl__admin__create_task_request__descriptor;
	ck_assert_int_eq(fpd_pb_check(d, truncated, sizeof(truncated), why, 192), 0);
	ck_assert_int_eq(fpd_pb_check(d, group, sizeof(group), why, 192), 0);
	ck_assert_int_eq(fpd_pb_check(d, wiretype, sizeof(wiretype), why, 192), 0);
	ck_assert_int_eq(fpd_pb_check(d, unknown, sizeof(unknown), why, 192), 0);
	ck_assert_int_eq(fpd_pb_check(d, NULL, 0, why, 192), 0);
	ck_assert_ptr_null(protobuf_c_message_unpack(d, NULL, sizeof(truncated), truncated));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("agent/pbcheck");
	TCase *tc = tcase_create("pbcheck");
	tcase_add_test(tc, utf8_everywhere);
	tcase_add_test(tc, depth_is_bounded);
	tcase_add_test(tc, leaves_malformed_bytes_to_unpack);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
