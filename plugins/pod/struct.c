/*
 * google.protobuf.Struct to JSON, the way Go's json.Marshal of a structpb.Struct writes it
 * before Flyte decodes a pod spec from it. Struct numbers are doubles; integral ones are
 * written as JSON integers because Kubernetes rejects 8080.0 for an int32 field.
 */
#include "internal.h"

#include <math.h>

#define MAX_DEPTH 64

static json_t *value_to_json(const Google__Protobuf__Value *v, int depth);

static json_t *struct_to_json(const Google__Protobuf__Struct *s, int depth)
{
	if (!s || depth > MAX_DEPTH)
		return NULL;
	json_t *o = json_object();
	for (size_t i = 0; i < s->n_fields; i++) {
		json_t *v = value_to_json(s->fields[i]->value, depth + 1);
		if (!v) {
			json_decref(o);
			return NULL;
		}
		json_object_set_new(o, s->fields[i]->key, v);
	}
	return o;
}

static json_t *list_to_json(const Google__Protobuf__ListValue *l, int depth)
{
	if (!l || depth > MAX_DEPTH)
		return NULL;
	json_t *a = json_array();
	for (size_t i = 0; i < l->n_values; i++) {
		json_t *v = value_to_json(l->values[i], depth + 1);
		if (!v) {
			json_decref(a);
			return NULL;
		}
		json_array_append_new(a, v);
	}
	return a;
}

static json_t *number_to_json(double d)
{
	if (!isfinite(d))
		return NULL;
	/* Within 2^53 a double holds every integer exactly. */
	if (d == floor(d) && fabs(d) <= 9007199254740992.0)
		return json_integer((json_int_t)d);
	return json_real(d);
}

static json_t *value_to_json(const Google__Protobuf__Value *v, int depth)
{
	if (!v)
		return NULL;
	switch (v->kind_case) {
	case GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE: return json_null();
	case GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE: return number_to_json(v->number_value);
	case GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE: return json_string(v->string_value);
	case GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE: return json_boolean(v->bool_value);
	case GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE:
		return struct_to_json(v->struct_value, depth);
	case GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE: return list_to_json(v->list_value, depth);
	default: return NULL; /* no kind set: Go's protojson refuses it too */
	}
}

json_t *fpd_pod_struct_to_json(const Google__Protobuf__Struct *s)
{
	return struct_to_json(s, 0);
}
