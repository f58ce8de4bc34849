/* Request decoding and result codes shared by the protocol families: see wire.h. */
#include "agent/wire.h"

#include "agent/pbcheck.h"
#include <flyteplugd/error.h>
#include <flyteplugd/mem.h>

#include <stdio.h>
#include <stdlib.h>

static void *arena_alloc(void *arena, size_t size)
{
	return fpd_arena_alloc(arena, size);
}

static void arena_free(void *arena, void *ptr)
{
	(void)arena;
	(void)ptr;
}

ProtobufCMessage *fpd_wire_decode_as(const ProtobufCMessageDescriptor *check,
                                     const ProtobufCMessageDescriptor *as, const uint8_t *bytes,
                                     size_t len, struct fpd_wire_arena *a, char *msg, size_t size)
{
	char why[192];
	ProtobufCMessage *m = NULL;
	fpd_arena_init(&a->arena, a->space, sizeof(a->space));
	a->pb = (ProtobufCAllocator){arena_alloc, arena_free, &a->arena};
	if (fpd_pb_check(check, bytes, len, why, sizeof(why)) == 0)
		m = protobuf_c_message_unpack(as, &a->pb, len, bytes);
	if (!m)
		snprintf(msg, size, "cannot decode %s%s%s", check->name, why[0] ? ": " : "", why);
	return m;
}

ProtobufCMessage *fpd_wire_decode(const ProtobufCMessageDescriptor *desc, const uint8_t *bytes,
                                  size_t len, struct fpd_wire_arena *a, char *msg, size_t size)
{
	return fpd_wire_decode_as(desc, desc, bytes, len, a, msg, size);
}

void *fpd_wire_alloc(struct fpd_wire_arena *a, size_t size)
{
	return fpd_arena_alloc(&a->arena, size);
}

void fpd_wire_release(struct fpd_wire_arena *a)
{
	fpd_arena_release(&a->arena);
}

enum fpd_grpc_code fpd_wire_grpc_code(int code)
{
	switch (code) {
	case FPD_EINVAL: return FPD_GRPC_INVALID_ARGUMENT;
	case FPD_EPERM: return FPD_GRPC_PERMISSION_DENIED;
	case FPD_ENOENT: return FPD_GRPC_NOT_FOUND;
	case FPD_EEXIST: return FPD_GRPC_ALREADY_EXISTS;
	case FPD_EIO:
	case FPD_ETIMEDOUT: return FPD_GRPC_UNAVAILABLE;
	default: return FPD_GRPC_INTERNAL;
	}
}

/* Small replies (every GetTask without custom info) are packed on the stack. */
void fpd_wire_reply(struct fpd_grpc_call *call, const ProtobufCMessage *msg)
{
	uint8_t small[1024];
	size_t n = protobuf_c_message_get_packed_size(msg);
	uint8_t *buf = n <= sizeof(small) ? small : fpd_malloc(n);
	protobuf_c_message_pack(msg, buf);
	fpd_grpc_call_reply(call, buf, n);
	if (buf != small)
		free(buf);
}

/* json_t -> google.protobuf.Value/Struct, heap-allocated; freed with fpd_wire_struct_free. */
static Google__Protobuf__Value *to_value(const json_t *j);

Google__Protobuf__Struct *fpd_wire_struct_new(const json_t *obj)
{
	Google__Protobuf__Struct *s = fpd_malloc(sizeof(*s));
	google__protobuf__struct__init(s);
	s->n_fields = json_object_size(obj);
	s->fields = fpd_calloc(s->n_fields ? s->n_fields : 1, sizeof(*s->fields));
	size_t i = 0;
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)obj, k, v)
	{
		Google__Protobuf__Struct__FieldsEntry *e = fpd_malloc(sizeof(*e));
		google__protobuf__struct__fields_entry__init(e);
		e->key = (char *)k;
		e->value = to_value(v);
		s->fields[i++] = e;
	}
	return s;
}

static Google__Protobuf__Value *to_value(const json_t *j)
{
	Google__Protobuf__Value *v = fpd_malloc(sizeof(*v));
	google__protobuf__value__init(v);
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE;
		v->struct_value = fpd_wire_struct_new(j);
		break;
	case JSON_ARRAY: {
		v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE;
		Google__Protobuf__ListValue *l = fpd_malloc(sizeof(*l));
		google__protobuf__list_value__init(l);
		l->n_values = json_array_size(j);
		l->values = fpd_calloc(l->n_values ? l->n_values : 1, sizeof(*l->values));
		for (size_t i = 0; i < l->n_values; i++)
			l->values[i] = to_value(json_array_get(j, i));
		v->list_value = l;
		break;
	}
	case JSON_STRING:
		v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE;
		v->string_value = (char *)json_string_value(j);
		break;
	case JSON_INTEGER:
	case JSON_REAL:
		v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE;
		v->number_value = json_number_value(j);
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE;
		v->bool_value = json_is_true(j);
		break;
	default:
		v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE;
		v->null_value = GOOGLE__PROTOBUF__NULL_VALUE__NULL_VALUE;
		break;
	}
	return v;
}

static void free_value(Google__Protobuf__Value *v);

void fpd_wire_struct_free(Google__Protobuf__Struct *s)
{
	for (size_t i = 0; i < s->n_fields; i++) {
		free_value(s->fields[i]->value);
		free(s->fields[i]);
	}
	free(s->fields);
	free(s);
}

static void free_value(Google__Protobuf__Value *v)
{
	if (v->kind_case == GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE)
		fpd_wire_struct_free(v->struct_value);
	else if (v->kind_case == GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE) {
		for (size_t i = 0; i < v->list_value->n_values; i++)
			free_value(v->list_value->values[i]);
		free(v->list_value->values);
		free(v->list_value);
	}
	free(v);
}
