/* JSON to protobuf-c for test fixtures: see pbjson.h. Test code: aborts on impossible input. */
#include "pbjson.h"

#include "google/protobuf/struct.pb-c.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ctx {
	char *why;
	size_t size;
};

static ProtobufCMessage *message(const ProtobufCMessageDescriptor *d, const json_t *j,
                                 struct ctx *c);

static void *zalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);
	if (!p)
		abort();
	return p;
}

static char *dup(const char *s)
{
	char *p = strdup(s);
	if (!p)
		abort();
	return p;
}

static Google__Protobuf__Value *value(const json_t *j);

static Google__Protobuf__Struct *gstruct(const json_t *j)
{
	Google__Protobuf__Struct *s = zalloc(sizeof(*s));
	google__protobuf__struct__init(s);
	s->fields = zalloc(json_object_size(j) * sizeof(*s->fields));
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)j, k, v)
	{
		Google__Protobuf__Struct__FieldsEntry *e = zalloc(sizeof(*e));
		google__protobuf__struct__fields_entry__init(e);
		e->key = dup(k);
		e->value = value(v);
		s->fields[s->n_fields++] = e;
	}
	return s;
}

static Google__Protobuf__Value *value(const json_t *j)
{
	Google__Protobuf__Value *v = zalloc(sizeof(*v));
	google__protobuf__value__init(v);
	if (json_is_object(j)) {
		v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE;
		v->struct_value = gstruct(j);
	} else if (json_is_array(j)) {
		Google__Protobuf__ListValue *l = zalloc(sizeof(*l));
		google__protobuf__list_value__init(l);
		l->values = zalloc(json_array_size(j) * sizeof(*l->values));
		size_t i;
		json_t *e;
		json_array_foreach(j, i, e)
		{
			l->values[l->n_values++] = value(e);
		}
		v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE;
		v->list_value = l;
	} else if (json_is_string(j)) {
		v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE;
		v->string_value = dup(json_string_value(j));
	} else if (json_is_number(j)) {
		v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE;
		v->number_value = json_number_value(j);
	} else if (json_is_boolean(j)) {
		v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE;
		v->bool_value = json_is_true(j);
	} else {
		v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE;
	}
	return v;
}

static size_t elem_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64: return 8;
	case PROTOBUF_C_TYPE_DOUBLE: return sizeof(double);
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE: return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
	default: return 4;
	}
}

static bool fail(struct ctx *c, const char *what, const char *name)
{
	snprintf(c->why, c->size, "%s: %s", name, what);
	return false;
}

/* Writes one value of field f at dst. */
static bool scalar(const ProtobufCFieldDescriptor *f, void *dst, const json_t *j, struct ctx *c)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32: *(int32_t *)dst = (int32_t)json_integer_value(j); break;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32: *(uint32_t *)dst = (uint32_t)json_integer_value(j); break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64: *(int64_t *)dst = json_integer_value(j); break;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64: *(uint64_t *)dst = (uint64_t)json_integer_value(j); break;
	case PROTOBUF_C_TYPE_FLOAT: *(float *)dst = (float)json_number_value(j); break;
	case PROTOBUF_C_TYPE_DOUBLE: *(double *)dst = json_number_value(j); break;
	case PROTOBUF_C_TYPE_BOOL: *(protobuf_c_boolean *)dst = json_is_true(j); break;
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumValue *ev = json_is_string(j)
		                                   ? protobuf_c_enum_descriptor_get_value_by_name(
		                                         f->descriptor, json_string_value(j))
		                                   : NULL;
		if (json_is_string(j) && !ev)
			return fail(c, "unknown enum value", f->name);
		*(int *)dst = ev ? ev->value : (int)json_integer_value(j);
		break;
	}
	case PROTOBUF_C_TYPE_STRING:
		if (!json_is_string(j))
			return fail(c, "not a string", f->name);
		*(char **)dst = dup(json_string_value(j));
		break;
	case PROTOBUF_C_TYPE_BYTES: {
		ProtobufCBinaryData *b = dst;
		b->len = json_string_length(j);
		b->data = (uint8_t *)dup(json_string_value(j));
		break;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		ProtobufCMessage *m = message(f->descriptor, j, c);
		if (!m)
			return false;
		*(ProtobufCMessage **)dst = m;
		break;
	}
	}
	return true;
}

/* A JSON object for a map field becomes [{key, value}, ...]. */
static json_t *map_entries(const ProtobufCFieldDescriptor *f, const json_t *j)
{
	const ProtobufCMessageDescriptor *d = f->descriptor;
	if (f->type != PROTOBUF_C_TYPE_MESSAGE || !json_is_object(j) || d->n_fields != 2 ||
	    strcmp(d->fields[0].name, "key"))
		return json_incref((json_t *)j);
	json_t *a = json_array();
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)j, k, v)
	{
		json_array_append_new(a, json_pack("{s:s,s:O}", "key", k, "value", v));
	}
	return a;
}

static bool repeated(ProtobufCMessage *m, const ProtobufCFieldDescriptor *f, const json_t *j,
                     struct ctx *c)
{
	json_t *list = map_entries(f, j);
	bool ok = json_is_array(list) || fail(c, "not a list", f->name);
	size_t n = json_array_size(list), sz = elem_size(f->type);
	char *items = zalloc(n * sz);
	*(size_t *)((char *)m + f->quantifier_offset) = 0;
	*(void **)((char *)m + f->offset) = items;
	for (size_t i = 0; ok && i < n; i++) {
		ok = scalar(f, items + i * sz, json_array_get(list, i), c);
		if (ok)
			(*(size_t *)((char *)m + f->quantifier_offset))++;
	}
	json_decref(list);
	return ok;
}

static ProtobufCMessage *message(const ProtobufCMessageDescriptor *d, const json_t *j,
                                 struct ctx *c)
{
	if (d == &google__protobuf__struct__descriptor)
		return json_is_object(j) ? (ProtobufCMessage *)gstruct(j) : NULL;
	if (d == &google__protobuf__value__descriptor)
		return (ProtobufCMessage *)value(j);
	if (!json_is_object(j)) {
		fail(c, "not an object", d->name);
		return NULL;
	}
	ProtobufCMessage *m = zalloc(d->sizeof_message);
	protobuf_c_message_init(d, m);
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)j, k, v)
	{
		const ProtobufCFieldDescriptor *f =
		    protobuf_c_message_descriptor_get_field_by_name(d, k);
		bool ok = f ? true : fail(c, "no such field", k);
		if (ok && f->label == PROTOBUF_C_LABEL_REPEATED)
			ok = repeated(m, f, v, c);
		else if (ok) {
			if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE)
				*(void **)((char *)m + f->offset) = NULL; /* no default to free */
			ok = scalar(f, (char *)m + f->offset, v, c);
			if (ok && (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
				*(uint32_t *)((char *)m + f->quantifier_offset) = f->id;
			else if (ok && f->label == PROTOBUF_C_LABEL_OPTIONAL)
				*(protobuf_c_boolean *)((char *)m + f->quantifier_offset) = 1;
		}
		if (!ok) {
			protobuf_c_message_free_unpacked(m, NULL);
			return NULL;
		}
	}
	return m;
}

ProtobufCMessage *fpd_test_pb_from_json(const ProtobufCMessageDescriptor *d, const json_t *j,
                                        char *why, size_t why_size)
{
	struct ctx c = {why, why_size};
	why[0] = '\0';
	return message(d, j, &c);
}
