/*
 * Prints, as JSON on stdout, every message and enum compiled into fpd_proto2 as protobuf-c
 * describes it: fields with number, label, type, type name, presence, packing and oneof
 * membership; enum values. tests/e2e/idl/test_idl2_pypi.py compares it with the descriptors of
 * the pinned flyteidl2 Python package.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "idl2_index.h"

static const char *const fpd_type_names[] = {
    [PROTOBUF_C_TYPE_INT32] = "int32",       [PROTOBUF_C_TYPE_SINT32] = "sint32",
    [PROTOBUF_C_TYPE_SFIXED32] = "sfixed32", [PROTOBUF_C_TYPE_INT64] = "int64",
    [PROTOBUF_C_TYPE_SINT64] = "sint64",     [PROTOBUF_C_TYPE_SFIXED64] = "sfixed64",
    [PROTOBUF_C_TYPE_UINT32] = "uint32",     [PROTOBUF_C_TYPE_FIXED32] = "fixed32",
    [PROTOBUF_C_TYPE_UINT64] = "uint64",     [PROTOBUF_C_TYPE_FIXED64] = "fixed64",
    [PROTOBUF_C_TYPE_FLOAT] = "float",       [PROTOBUF_C_TYPE_DOUBLE] = "double",
    [PROTOBUF_C_TYPE_BOOL] = "bool",         [PROTOBUF_C_TYPE_ENUM] = "enum",
    [PROTOBUF_C_TYPE_STRING] = "string",     [PROTOBUF_C_TYPE_BYTES] = "bytes",
    [PROTOBUF_C_TYPE_MESSAGE] = "message",
};

static const char *const fpd_label_names[] = {
    [PROTOBUF_C_LABEL_REQUIRED] = "required",
    [PROTOBUF_C_LABEL_OPTIONAL] = "optional",
    [PROTOBUF_C_LABEL_REPEATED] = "repeated",
    [PROTOBUF_C_LABEL_NONE] = "none",
};

static void *checked(void *p)
{
	if (!p) {
		fputs("idl2_dump: out of memory\n", stderr);
		exit(2);
	}
	return p;
}

/* The names of the fields sharing f's oneof (its case member, at quantifier_offset). */
static json_t *oneof_members(const ProtobufCMessageDescriptor *d, const ProtobufCFieldDescriptor *f)
{
	json_t *names = checked(json_array());
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *g = &d->fields[i];
		if ((g->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    g->quantifier_offset == f->quantifier_offset)
			json_array_append_new(names, checked(json_string(g->name)));
	}
	return names;
}

static json_t *field_json(const ProtobufCMessageDescriptor *d, const ProtobufCFieldDescriptor *f)
{
	const char *type_name = NULL;
	if (f->type == PROTOBUF_C_TYPE_MESSAGE)
		type_name = ((const ProtobufCMessageDescriptor *)f->descriptor)->name;
	else if (f->type == PROTOBUF_C_TYPE_ENUM)
		type_name = ((const ProtobufCEnumDescriptor *)f->descriptor)->name;
	int oneof = (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0;
	/* Whether protobuf-c tells "unset" from the default: a has_ or case member, a pointer, or
	 * a required field. Never for repeated fields. */
	int presence =
	    f->label != PROTOBUF_C_LABEL_REPEATED &&
	    (oneof || f->type == PROTOBUF_C_TYPE_MESSAGE || f->label == PROTOBUF_C_LABEL_OPTIONAL ||
	     f->label == PROTOBUF_C_LABEL_REQUIRED);
	return checked(json_pack("{s:s, s:i, s:s, s:s, s:s?, s:b, s:b, s:o}", "name", f->name,
	                         "number", (int)f->id, "label", fpd_label_names[f->label], "type",
	                         fpd_type_names[f->type], "type_name", type_name, "presence",
	                         presence, "packed", (f->flags & PROTOBUF_C_FIELD_FLAG_PACKED) != 0,
	                         "oneof", oneof ? oneof_members(d, f) : json_null()));
}

static json_t *message_json(const ProtobufCMessageDescriptor *d)
{
	json_t *fields = checked(json_array());
	for (unsigned i = 0; i < d->n_fields; i++)
		json_array_append_new(fields, field_json(d, &d->fields[i]));
	return checked(json_pack("{s:s, s:o}", "name", d->name, "fields", fields));
}

static json_t *enum_json(const ProtobufCEnumDescriptor *d)
{
	json_t *values = checked(json_object());
	for (unsigned i = 0; i < d->n_values; i++)
		json_object_set_new(values, d->values[i].name,
		                    checked(json_integer(d->values[i].value)));
	return checked(json_pack("{s:s, s:o}", "name", d->name, "values", values));
}

int main(void)
{
	json_t *messages = checked(json_array()), *enums = checked(json_array());
	for (size_t i = 0; fpd_idl2_messages[i]; i++)
		json_array_append_new(messages, message_json(fpd_idl2_messages[i]));
	for (size_t i = 0; fpd_idl2_enums[i]; i++)
		json_array_append_new(enums, enum_json(fpd_idl2_enums[i]));
	json_t *all = checked(json_pack("{s:o, s:o}", "messages", messages, "enums", enums));
	int rc = json_dumpf(all, stdout, JSON_INDENT(1) | JSON_SORT_KEYS) == 0 ? 0 : 1;
	json_decref(all);
	return rc;
}
