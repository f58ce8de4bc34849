/*
 * google.protobuf.Struct to JSON, and JSON (TaskTemplate.custom) to plugin messages by the proto3
 * JSON mapping: see flyteplugd/structpb.h, part of the plugin API, for the rules.
 *
 * Design. The Go path is Struct -> JSON text -> jsonpb; ours is Struct -> jansson tree -> message,
 * with no text in between. The decoder walks the message descriptor the way jsonpb does: for
 * each field in number order it looks the key up in the JSON object (proto name, then JSON name,
 * which therefore wins), so unknown keys are never visited. Messages are built directly in the
 * layout protobuf_c_message_unpack produces, every part from malloc (protobuf-c's default
 * allocator), and each field is written only once its value is complete, so a message that
 * fails half-way is always consistent enough for protobuf_c_message_free_unpacked. protobuf-c
 * descriptors carry neither JSON names nor a map flag: JSON names are derived as protoc derives
 * them, and map fields are recognised by protoc's synthesized "<Field>Entry" type. Only proto3
 * semantics are implemented (proto2 required fields are not checked).
 *
 * One struct walk travels through a conversion: the JSON path for error messages (cut at
 * PATH_MAX_LEN) and the depth, value and byte counts the limits in flyteplugd/structpb.h bound.
 */
#include <flyteplugd/structpb.h>

#include <flyteplugd/base64.h>

#include <flyteplugd/error.h>
#include <flyteplugd/mem.h>
#include "structpb_text.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_MAX_LEN 200
#define NAME_MAX_LEN 128
#define TWO_TO_53 9007199254740992.0
#define TWO_TO_64 18446744073709551616.0

struct walk {
	struct fpd_error *err;
	char path[PATH_MAX_LEN + sizeof("...")];
	size_t path_len;
	unsigned depth;
	size_t values;
	size_t bytes;
};

_Static_assert(PATH_MAX_LEN + sizeof("...: ") < FPD_ERROR_TEXT / 2,
               "the path must leave walk_fail room for the message");

static void walk_init(struct walk *w, struct fpd_error *err)
{
	memset(w, 0, sizeof(*w));
	w->err = err;
}

/* Appends a segment to the path; returns the length path_pop restores. A path that would pass
 * PATH_MAX_LEN ends in "..." and grows no more. */
__attribute__((format(printf, 2, 3))) static size_t path_push(struct walk *w, const char *fmt, ...)
{
	size_t saved = w->path_len;
	if (saved >= PATH_MAX_LEN)
		return saved;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(w->path + saved, PATH_MAX_LEN + 1 - saved, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n > PATH_MAX_LEN - saved) {
		memcpy(w->path + PATH_MAX_LEN, "...", sizeof("..."));
		w->path_len = PATH_MAX_LEN;
	} else {
		w->path_len = saved + (size_t)n;
	}
	return saved;
}

/* Appends an object key: "key" at the top, ".key" below it. */
static size_t path_push_key(struct walk *w, const char *key)
{
	return path_push(w, "%s%s", w->path_len ? "." : "", key);
}

static void path_pop(struct walk *w, size_t saved)
{
	w->path_len = saved;
	w->path[saved] = '\0';
}

/* Sets the error to "<path>: <message>" and returns code. Keys and values in it come from the
 * task's author and end up in logs and in FlytePropeller's UI: control characters become '?'. */
__attribute__((format(printf, 3, 4))) static int walk_fail(struct walk *w, int code,
                                                           const char *fmt, ...)
{
	char text[FPD_ERROR_TEXT];
	/* The path is far shorter than text, so n leaves room for the message. */
	int n = snprintf(text, sizeof(text), "%s: ", w->path_len ? w->path : "top level");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text + n, sizeof(text) - (size_t)n, fmt, ap);
	va_end(ap);
	for (char *p = text; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
	return fpd_error_set(w->err, code, "%s", text);
}

/* Goes one object or array deeper. */
static int walk_enter(struct walk *w)
{
	if (w->depth >= FPD_STRUCTPB_MAX_DEPTH)
		return walk_fail(w, FPD_ERANGE, "nested deeper than %d objects and arrays",
		                 FPD_STRUCTPB_MAX_DEPTH);
	w->depth++;
	return FPD_OK;
}

static void walk_leave(struct walk *w)
{
	w->depth--;
}

/* Accounts for values and string bytes about to be converted. */
static int walk_take(struct walk *w, size_t values, size_t bytes)
{
	if (values > FPD_STRUCTPB_MAX_VALUES - w->values)
		return walk_fail(w, FPD_ERANGE, "more than %u values", FPD_STRUCTPB_MAX_VALUES);
	if (bytes > FPD_STRUCTPB_MAX_BYTES - w->bytes)
		return walk_fail(w, FPD_ERANGE, "more than %u bytes of strings",
		                 FPD_STRUCTPB_MAX_BYTES);
	w->values += values;
	w->bytes += bytes;
	return FPD_OK;
}

/* What j is, for messages: the type, or the value of a number, boolean or short string. */
static const char *describe(const json_t *j, char *buf, size_t size)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_TRUE: return "true";
	case JSON_FALSE: return "false";
	case JSON_NULL: return "null";
	case JSON_INTEGER:
		snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
		break;
	case JSON_REAL: snprintf(buf, size, "%.17g", json_real_value(j)); break;
	case JSON_STRING:
		snprintf(buf, size, "\"%.40s%s\"", json_string_value(j),
		         json_string_length(j) > 40 ? "..." : "");
		break;
	}
	return buf;
}

/* Fails with "expected <what>, got <j>". */
static int walk_expected(struct walk *w, const char *what, const json_t *j)
{
	char buf[64];
	return walk_fail(w, FPD_EINVAL, "expected %s, got %s", what, describe(j, buf, sizeof(buf)));
}

/* ---- Struct to JSON --------------------------------------------------------------------- */

static int value_to_json(struct walk *w, const Google__Protobuf__Value *v, json_t **out);

static int number_to_json(struct walk *w, double d, json_t **out)
{
	if (isnan(d) || isinf(d))
		return walk_fail(w, FPD_EINVAL, "number_value is %s, which JSON cannot hold",
		                 isnan(d) ? "NaN"
		                 : d > 0  ? "Infinity"
		                          : "-Infinity");
	/* Integral values print as Go prints them (no ".0"); up to 2^53 the integer is exact. */
	if (d == trunc(d) && fabs(d) <= TWO_TO_53)
		*out = json_integer((json_int_t)d);
	else
		*out = json_real(d);
	return FPD_OK;
}

static int string_to_json(struct walk *w, const char *s, json_t **out)
{
	json_t *j = json_string(s ? s : "");
	if (!j)
		return walk_fail(w, FPD_EINVAL, "string is not valid UTF-8");
	*out = j;
	return FPD_OK;
}

static int struct_entry_to_json(struct walk *w, const Google__Protobuf__Struct__FieldsEntry *e,
                                json_t *obj)
{
	const char *key = e && e->key ? e->key : "";
	size_t saved = path_push_key(w, key);
	json_t *v = NULL;
	int rc = walk_take(w, 0, strlen(key));
	if (rc == FPD_OK && (!e || !e->value))
		rc = walk_fail(w, FPD_EINVAL, "Struct entry has no value");
	if (rc == FPD_OK)
		rc = value_to_json(w, e->value, &v);
	/* json_object_set_new takes v even when it fails (on a key that is not UTF-8). */
	if (rc == FPD_OK && json_object_set_new(obj, key, v) != 0)
		rc = walk_fail(w, FPD_EINVAL, "key is not valid UTF-8");
	path_pop(w, saved);
	return rc;
}

static int struct_to_json(struct walk *w, const Google__Protobuf__Struct *s, json_t **out)
{
	int rc = walk_enter(w);
	if (rc != FPD_OK)
		return rc;
	json_t *obj = json_object();
	for (size_t i = 0; i < s->n_fields && rc == FPD_OK; i++)
		rc = struct_entry_to_json(w, s->fields[i], obj);
	walk_leave(w);
	if (rc != FPD_OK) {
		json_decref(obj);
		return rc;
	}
	*out = obj;
	return FPD_OK;
}

static int list_to_json(struct walk *w, const Google__Protobuf__ListValue *l, json_t **out)
{
	int rc = walk_enter(w);
	if (rc != FPD_OK)
		return rc;
	json_t *arr = json_array();
	for (size_t i = 0; i < l->n_values && rc == FPD_OK; i++) {
		size_t saved = path_push(w, "[%zu]", i);
		json_t *v = NULL;
		if (!l->values[i])
			rc = walk_fail(w, FPD_EINVAL, "ListValue element is missing");
		else
			rc = value_to_json(w, l->values[i], &v);
		if (rc == FPD_OK)
			json_array_append_new(arr, v);
		path_pop(w, saved);
	}
	walk_leave(w);
	if (rc != FPD_OK) {
		json_decref(arr);
		return rc;
	}
	*out = arr;
	return FPD_OK;
}

static int value_to_json(struct walk *w, const Google__Protobuf__Value *v, json_t **out)
{
	bool str = v->kind_case == GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE && v->string_value;
	int rc = walk_take(w, 1, str ? strlen(v->string_value) : 0);
	if (rc != FPD_OK)
		return rc;
	switch (v->kind_case) {
	case GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE: *out = json_null(); return FPD_OK;
	case GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE:
		return number_to_json(w, v->number_value, out);
	case GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE:
		return string_to_json(w, v->string_value, out);
	case GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE:
		*out = json_boolean(v->bool_value);
		return FPD_OK;
	case GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE:
		if (v->struct_value)
			return struct_to_json(w, v->struct_value, out);
		break;
	case GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE:
		if (v->list_value)
			return list_to_json(w, v->list_value, out);
		break;
	default: break;
	}
	return walk_fail(w, FPD_EINVAL, "Value has no kind set");
}

int fpd_struct_to_json(const Google__Protobuf__Struct *s, json_t **out, struct fpd_error *err)
{
	struct walk w;
	walk_init(&w, err);
	if (!s)
		return walk_fail(&w, FPD_EINVAL, "no Struct");
	return struct_to_json(&w, s, out);
}

/* ---- JSON to message: names and layout -------------------------------------------------- */

/* name in CamelCase as protoc writes it: each letter after '_' upper-cased (and the first one if
 * upper_first), '_' dropped. Writes buf (NUL-terminated) and returns its length; 0 if it does
 * not fit in size bytes. */
static size_t camel_case(const char *name, bool upper_first, char *buf, size_t size)
{
	size_t n = 0;
	bool upper = upper_first;
	for (const char *p = name; *p; p++) {
		if (*p == '_') {
			upper = true;
			continue;
		}
		if (n + 1 >= size)
			return 0;
		buf[n++] = (upper && *p >= 'a' && *p <= 'z') ? (char)(*p - 'a' + 'A') : *p;
		upper = false;
	}
	buf[n] = '\0';
	return n;
}

/* The field's JSON name (lowerCamelCase) in buf; NULL if it does not fit. */
static const char *json_name(const char *name, char *buf, size_t size)
{
	return camel_case(name, false, buf, size) || !*name ? buf : NULL;
}

/* Whether name is the entry type protoc synthesizes for map field `field`: "<FieldName>Entry". */
static bool is_entry_name(const char *field, const char *name)
{
	char buf[NAME_MAX_LEN];
	size_t n = camel_case(field, true, buf, sizeof(buf) - sizeof("Entry"));
	if (n == 0)
		return false;
	memcpy(buf + n, "Entry", sizeof("Entry"));
	return strcmp(buf, name) == 0;
}

/* protobuf-c keeps no map flag: a map field is a repeated message field whose type is protoc's
 * synthesized entry, nested in the parent, named after the field, with key = 1 and value = 2. */
static bool is_map_field(const ProtobufCMessageDescriptor *parent,
                         const ProtobufCFieldDescriptor *fd)
{
	if (fd->type != PROTOBUF_C_TYPE_MESSAGE)
		return false;
	const ProtobufCMessageDescriptor *e = fd->descriptor;
	size_t plen = strlen(parent->name);
	return e->n_fields == 2 && e->fields[0].id == 1 && strcmp(e->fields[0].name, "key") == 0 &&
	       e->fields[1].id == 2 && strcmp(e->fields[1].name, "value") == 0 &&
	       strncmp(e->name, parent->name, plen) == 0 && e->name[plen] == '.' &&
	       strcmp(e->name + plen + 1, e->short_name) == 0 &&
	       is_entry_name(fd->name, e->short_name);
}

static void *member(ProtobufCMessage *m, unsigned offset)
{
	return (char *)m + offset;
}

/* Size of one element of a repeated field, as protobuf-c lays the array out. */
static size_t elem_size(ProtobufCType type)
{
	switch (type) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE: return 8;
	case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING: return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE: return sizeof(ProtobufCMessage *);
	default: return 4; /* the 32-bit integers, float and enum */
	}
}

static ProtobufCMessage *message_new(const ProtobufCMessageDescriptor *d)
{
	ProtobufCMessage *m = fpd_malloc(d->sizeof_message);
	d->message_init(m);
	return m;
}

/* ---- JSON to message: scalars ----------------------------------------------------------- */

/* The integer field types by range; jsonpb parses each with encoding/json into that Go type. */
struct int_type {
	const char *name;
	uint64_t max;     /* largest positive value */
	uint64_t neg_max; /* largest magnitude of a negative value; 0 for unsigned */
	bool wide;        /* stored in 64 bits */
};

static const struct int_type int32_type = {"int32", INT32_MAX, (uint64_t)INT32_MAX + 1, false};
static const struct int_type int64_type = {"int64", INT64_MAX, (uint64_t)INT64_MAX + 1, true};
static const struct int_type uint32_type = {"uint32", UINT32_MAX, 0, false};
static const struct int_type uint64_type = {"uint64", UINT64_MAX, 0, true};

static const struct int_type *int_type_of(ProtobufCType type)
{
	switch (type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32: return &int32_type;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64: return &int64_type;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32: return &uint32_type;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64: return &uint64_type;
	default: return NULL;
	}
}

/* Stores the integer with sign neg and magnitude mag into slot as type t, if it is in range. */
static int int_store(struct walk *w, const struct int_type *t, bool neg, uint64_t mag, void *slot)
{
	/* "-0" counts as negative: Go's ParseUint refuses it. */
	if (neg ? (mag > t->neg_max || t->neg_max == 0) : mag > t->max)
		return walk_fail(w, FPD_ERANGE, "%s%" PRIu64 " is out of range for %s",
		                 neg ? "-" : "", mag, t->name);
	if (t->neg_max == 0) {
		uint64_t u64 = mag;
		uint32_t u32 = (uint32_t)mag;
		memcpy(slot, t->wide ? (void *)&u64 : (void *)&u32, t->wide ? 8 : 4);
		return FPD_OK;
	}
	int64_t s64 = !neg ? (int64_t)mag : mag > INT64_MAX ? INT64_MIN : -(int64_t)mag;
	int32_t s32 = (int32_t)s64;
	memcpy(slot, t->wide ? (void *)&s64 : (void *)&s32, t->wide ? 8 : 4);
	return FPD_OK;
}

static int int_expected(struct walk *w, const struct int_type *t, const json_t *j)
{
	char buf[64];
	return walk_fail(w, FPD_EINVAL, "expected an integer (%s), got %s", t->name,
	                 describe(j, buf, sizeof(buf)));
}

/* j as an integer of type t: a JSON integer, an integral number (what a Struct's doubles give),
 * or an integer literal in a string (jsonpb strips the quotes and parses what is left). */
static int int_from_json(struct walk *w, const struct int_type *t, const json_t *j, void *slot)
{
	bool neg = false;
	uint64_t mag = 0;
	json_int_t i;
	double d;
	switch (json_typeof(j)) {
	case JSON_NULL: break; /* an array element or map value: the default */
	case JSON_INTEGER:
		i = json_integer_value(j);
		neg = i < 0;
		mag = neg ? (uint64_t)(-(i + 1)) + 1 : (uint64_t)i;
		break;
	case JSON_REAL:
		d = json_real_value(j);
		if (d != trunc(d))
			return int_expected(w, t, j);
		if (fabs(d) >= TWO_TO_64)
			return walk_fail(w, FPD_ERANGE, "%.17g is out of range for %s", d, t->name);
		neg = d < 0;
		mag = (uint64_t)fabs(d);
		break;
	case JSON_STRING:
		switch (
		    fpd_pbtext_integer(json_string_value(j), json_string_length(j), &neg, &mag)) {
		case FPD_OK: break;
		case FPD_ERANGE:
			return walk_fail(w, FPD_ERANGE, "%.40s is out of range for %s",
			                 json_string_value(j), t->name);
		default: return int_expected(w, t, j);
		}
		break;
	default: return int_expected(w, t, j);
	}
	return int_store(w, t, neg, mag, slot);
}

/* Whether j is the string lit, exactly (jansson strings may hold NULs). */
static bool string_is(const json_t *j, const char *lit)
{
	return json_string_length(j) == strlen(lit) &&
	       memcmp(json_string_value(j), lit, strlen(lit)) == 0;
}

static int number_from_string(struct walk *w, const json_t *j, double *d)
{
	if (string_is(j, "NaN")) {
		*d = NAN;
	} else if (string_is(j, "Infinity")) {
		*d = INFINITY;
	} else if (string_is(j, "-Infinity")) {
		*d = -INFINITY;
	} else {
		int rc = fpd_pbtext_number(json_string_value(j), json_string_length(j), d);
		if (rc == FPD_ERANGE)
			return walk_fail(w, FPD_ERANGE, "%.40s is out of range for double",
			                 json_string_value(j));
		if (rc != FPD_OK)
			return walk_expected(w, "a number", j);
	}
	return FPD_OK;
}

/* float or double: a number, a number in a string, or "NaN", "Infinity", "-Infinity". */
static int float_from_json(struct walk *w, const json_t *j, bool single, void *slot)
{
	double d = 0;
	int rc;
	switch (json_typeof(j)) {
	case JSON_NULL: break;
	case JSON_INTEGER: d = (double)json_integer_value(j); break;
	case JSON_REAL: d = json_real_value(j); break;
	case JSON_STRING:
		rc = number_from_string(w, j, &d);
		if (rc != FPD_OK)
			return rc;
		break;
	default: return walk_expected(w, "a number", j);
	}
	if (!single) {
		memcpy(slot, &d, sizeof(d));
		return FPD_OK;
	}
	/* Go refuses what overflows float32; converting it in C would be undefined. */
	if (isfinite(d) && fabs(d) > FLT_MAX)
		return walk_fail(w, FPD_ERANGE, "%.17g is out of range for float", d);
	float f = (float)d;
	memcpy(slot, &f, sizeof(f));
	return FPD_OK;
}

static int bool_from_json(struct walk *w, const json_t *j, void *slot)
{
	if (!json_is_boolean(j) && !json_is_null(j))
		return walk_expected(w, "true or false", j);
	protobuf_c_boolean b = json_is_true(j);
	memcpy(slot, &b, sizeof(b));
	return FPD_OK;
}

static int string_from_json(struct walk *w, const json_t *j, void *slot)
{
	char *s;
	if (json_is_null(j)) {
		s = fpd_strdup("");
	} else if (!json_is_string(j)) {
		return walk_expected(w, "a string", j);
	} else if (memchr(json_string_value(j), '\0', json_string_length(j))) {
		/* protobuf-c strings end at the first NUL: refuse rather than cut. */
		return walk_fail(w, FPD_EINVAL, "string contains a NUL character");
	} else {
		s = fpd_strndup(json_string_value(j), json_string_length(j));
	}
	memcpy(slot, &s, sizeof(s));
	return FPD_OK;
}

static int bytes_from_json(struct walk *w, const json_t *j, void *slot)
{
	ProtobufCBinaryData b = {0, NULL};
	if (json_is_string(j)) {
		/* protojson: either alphabet, padding optional. */
		if (fpd_base64_decode(json_string_value(j), json_string_length(j),
		                      FPD_BASE64_EITHER | FPD_BASE64_NOPAD, &b.data,
		                      &b.len) != FPD_OK)
			return walk_fail(w, FPD_EINVAL, "not valid base64");
	} else if (!json_is_null(j)) {
		return walk_expected(w, "a base64 string", j);
	}
	memcpy(slot, &b, sizeof(b));
	return FPD_OK;
}

/* An enum by value name (exact) or by number (any int32, known to the enum or not). */
static int enum_from_json(struct walk *w, const ProtobufCEnumDescriptor *ed, const json_t *j,
                          void *slot)
{
	char buf[64];
	if (json_is_number(j) || json_is_null(j))
		return int_from_json(w, &int32_type, j, slot);
	if (!json_is_string(j))
		return walk_fail(w, FPD_EINVAL, "expected a value of enum %s, got %s", ed->name,
		                 describe(j, buf, sizeof(buf)));
	const char *name = json_string_value(j);
	const ProtobufCEnumValue *v = NULL;
	if (strlen(name) == json_string_length(j))
		v = protobuf_c_enum_descriptor_get_value_by_name(ed, name);
	if (!v)
		return walk_fail(w, FPD_EINVAL, "unknown value %s for enum %s",
		                 describe(j, buf, sizeof(buf)), ed->name);
	int32_t n = v->value;
	memcpy(slot, &n, sizeof(n));
	return FPD_OK;
}

/* A value of any type but message into slot (laid out as protobuf-c lays out fd's type). */
static int scalar_from_json(struct walk *w, const ProtobufCFieldDescriptor *fd, const json_t *j,
                            void *slot)
{
	const struct int_type *t = int_type_of(fd->type);
	if (t)
		return int_from_json(w, t, j, slot);
	switch (fd->type) {
	case PROTOBUF_C_TYPE_FLOAT: return float_from_json(w, j, true, slot);
	case PROTOBUF_C_TYPE_DOUBLE: return float_from_json(w, j, false, slot);
	case PROTOBUF_C_TYPE_BOOL: return bool_from_json(w, j, slot);
	case PROTOBUF_C_TYPE_ENUM: return enum_from_json(w, fd->descriptor, j, slot);
	case PROTOBUF_C_TYPE_STRING: return string_from_json(w, j, slot);
	case PROTOBUF_C_TYPE_BYTES: return bytes_from_json(w, j, slot);
	default: break;
	}
	return walk_fail(w, FPD_EINVAL, "field type %d is not supported", (int)fd->type);
}

/* ---- JSON to message: fields ------------------------------------------------------------ */

static int message_from_json(struct walk *w, const json_t *j, const ProtobufCMessageDescriptor *d,
                             void *slot);

/* A value of fd's type (message or not) into slot, counted against the limits. */
static int value_from_json(struct walk *w, const ProtobufCFieldDescriptor *fd, const json_t *j,
                           void *slot)
{
	if (fd->type == PROTOBUF_C_TYPE_MESSAGE)
		return message_from_json(w, j, fd->descriptor, slot);
	int rc = walk_take(w, 1, json_is_string(j) ? json_string_length(j) : 0);
	return rc != FPD_OK ? rc : scalar_from_json(w, fd, j, slot);
}

/* Records that fd holds a value where protobuf-c keeps such a record: the oneof case, or the
 * has_ flag of an optional field of a type without a NULL to mean "unset". */
static void mark_set(ProtobufCMessage *m, const ProtobufCFieldDescriptor *fd)
{
	if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
		uint32_t id = fd->id;
		memcpy(member(m, fd->quantifier_offset), &id, sizeof(id));
	} else if (fd->label == PROTOBUF_C_LABEL_OPTIONAL && fd->type != PROTOBUF_C_TYPE_STRING &&
	           fd->type != PROTOBUF_C_TYPE_MESSAGE) {
		protobuf_c_boolean has = 1;
		memcpy(member(m, fd->quantifier_offset), &has, sizeof(has));
	}
}

/* Goes one level deeper for an array or object of n members that fills repeated field fd, and
 * sets up its array (NULL when n is 0). n is checked against the values left under the limit
 * first, so a huge array is refused before it is allocated. The caller leaves the level. */
static int array_enter(struct walk *w, ProtobufCMessage *m, const ProtobufCFieldDescriptor *fd,
                       size_t n, char **arr)
{
	*arr = NULL;
	if (n > FPD_STRUCTPB_MAX_VALUES - w->values)
		return walk_fail(w, FPD_ERANGE, "more than %u values", FPD_STRUCTPB_MAX_VALUES);
	int rc = walk_enter(w);
	if (rc != FPD_OK || n == 0)
		return rc;
	*arr = fpd_calloc(n, elem_size(fd->type));
	memcpy(member(m, fd->offset), arr, sizeof(*arr));
	return FPD_OK;
}

/* A repeated field from an array. The count grows with each element, so that on failure
 * free_unpacked releases exactly the elements built. */
static int list_from_json(struct walk *w, ProtobufCMessage *m, const ProtobufCFieldDescriptor *fd,
                          const json_t *j)
{
	if (!json_is_array(j))
		return walk_expected(w, "an array", j);
	size_t n = json_array_size(j), esize = elem_size(fd->type);
	size_t *count = member(m, fd->quantifier_offset);
	char *arr;
	int rc = array_enter(w, m, fd, n, &arr);
	if (rc != FPD_OK)
		return rc;
	for (size_t i = 0; i < n && rc == FPD_OK; i++) {
		size_t saved = path_push(w, "[%zu]", i);
		rc = value_from_json(w, fd, json_array_get(j, i), arr + i * esize);
		path_pop(w, saved);
		if (rc == FPD_OK)
			(*count)++;
	}
	walk_leave(w);
	return rc;
}

static bool is_value_type(const ProtobufCMessageDescriptor *d)
{
	return strcmp(d->name, "google.protobuf.Value") == 0;
}

static bool is_struct_type(const ProtobufCMessageDescriptor *d)
{
	return strcmp(d->name, "google.protobuf.Struct") == 0;
}

/* A map key (always a string in JSON) converted to the key type kf. */
static int map_key_from_text(struct walk *w, const ProtobufCFieldDescriptor *kf, const char *key,
                             size_t len, void *slot)
{
	bool neg = false;
	uint64_t mag = 0;
	if (memchr(key, '\0', len))
		return walk_fail(w, FPD_EINVAL, "key contains a NUL character");
	if (kf->type == PROTOBUF_C_TYPE_STRING) {
		char *s = fpd_strndup(key, len);
		memcpy(slot, &s, sizeof(s));
		return FPD_OK;
	}
	if (kf->type == PROTOBUF_C_TYPE_BOOL) {
		protobuf_c_boolean b = strcmp(key, "true") == 0;
		if (!b && strcmp(key, "false") != 0)
			return walk_fail(w, FPD_EINVAL, "expected a key true or false");
		memcpy(slot, &b, sizeof(b));
		return FPD_OK;
	}
	const struct int_type *t = int_type_of(kf->type);
	if (!t)
		return walk_fail(w, FPD_EINVAL, "map key type %d is not supported", (int)kf->type);
	int rc = fpd_pbtext_integer(key, len, &neg, &mag);
	if (rc == FPD_ERANGE)
		return walk_fail(w, FPD_ERANGE, "key is out of range for %s", t->name);
	if (rc != FPD_OK)
		return walk_fail(w, FPD_EINVAL, "expected an integer key (%s)", t->name);
	return int_store(w, t, neg, mag, slot);
}

/* One map entry message (type ed) from an object member. A Struct's keys are JSON object keys
 * and appear in the path as such; a map's keys appear as ["key"]. */
static int map_entry_from_json(struct walk *w, const ProtobufCMessageDescriptor *ed, void *iter,
                               bool struct_keys, ProtobufCMessage **out)
{
	const char *key = json_object_iter_key(iter);
	size_t len = json_object_iter_key_len(iter);
	size_t saved = struct_keys ? path_push_key(w, key) : path_push(w, "[\"%s\"]", key);
	ProtobufCMessage *e = message_new(ed);
	int rc = walk_take(w, 0, len);
	if (rc == FPD_OK)
		rc =
		    map_key_from_text(w, &ed->fields[0], key, len, member(e, ed->fields[0].offset));
	if (rc == FPD_OK) {
		mark_set(e, &ed->fields[0]);
		rc = value_from_json(w, &ed->fields[1], json_object_iter_value(iter),
		                     member(e, ed->fields[1].offset));
	}
	path_pop(w, saved);
	if (rc != FPD_OK) {
		protobuf_c_message_free_unpacked(e, NULL);
		return rc;
	}
	mark_set(e, &ed->fields[1]);
	*out = e;
	return FPD_OK;
}

/* A map field (repeated entries, in the object's order) from an object. */
static int map_from_json(struct walk *w, ProtobufCMessage *m, const ProtobufCFieldDescriptor *fd,
                         const json_t *j)
{
	if (!json_is_object(j))
		return walk_expected(w, "an object", j);
	size_t n = json_object_size(j);
	size_t *count = member(m, fd->quantifier_offset);
	char *arr;
	int rc = array_enter(w, m, fd, n, &arr);
	if (rc != FPD_OK)
		return rc;
	ProtobufCMessage **entries = (ProtobufCMessage **)(void *)arr;
	/* jansson's iterator wants a non-const object; nothing here modifies it. */
	json_t *obj = (json_t *)j;
	for (void *it = json_object_iter(obj); it && *count < n && rc == FPD_OK;
	     it = json_object_iter_next(obj, it)) {
		rc = map_entry_from_json(w, fd->descriptor, it, is_struct_type(m->descriptor),
		                         &entries[*count]);
		if (rc == FPD_OK)
			(*count)++;
	}
	walk_leave(w);
	return rc;
}

/* jsonpb keeps the later member when a oneof is given twice; flyteplugd refuses it, naming
 * both, because one of the two values would be silently ignored. */
static int oneof_check(struct walk *w, ProtobufCMessage *m, const ProtobufCFieldDescriptor *fd)
{
	uint32_t set;
	if (!(fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
		return FPD_OK;
	memcpy(&set, member(m, fd->quantifier_offset), sizeof(set));
	if (set == 0)
		return FPD_OK;
	const ProtobufCFieldDescriptor *other =
	    protobuf_c_message_descriptor_get_field(m->descriptor, set);
	char a[NAME_MAX_LEN], b[NAME_MAX_LEN];
	const char *an = other ? json_name(other->name, a, sizeof(a)) : NULL;
	const char *bn = json_name(fd->name, b, sizeof(b));
	return walk_fail(w, FPD_EINVAL, "only one of %s and %s may be set (they form a oneof)",
	                 an ? an : "another member", bn ? bn : fd->name);
}

static int field_from_json(struct walk *w, ProtobufCMessage *m, const ProtobufCFieldDescriptor *fd,
                           const json_t *j)
{
	if (fd->label == PROTOBUF_C_LABEL_REPEATED)
		return is_map_field(m->descriptor, fd) ? map_from_json(w, m, fd, j)
		                                       : list_from_json(w, m, fd, j);
	int rc = oneof_check(w, m, fd);
	if (rc == FPD_OK)
		rc = value_from_json(w, fd, j, member(m, fd->offset));
	if (rc == FPD_OK)
		mark_set(m, fd);
	return rc;
}

/* The member of obj for fd, looked up as jsonpb does: by the .proto name, then by the JSON
 * name, which wins when both are there. *key is the key found (buf may hold it). */
static const json_t *field_lookup(const json_t *obj, const ProtobufCFieldDescriptor *fd, char *buf,
                                  size_t size, const char **key)
{
	const json_t *j = json_object_get(obj, fd->name);
	const char *jn = json_name(fd->name, buf, size);
	*key = fd->name;
	if (jn && strcmp(jn, fd->name) != 0) {
		const json_t *camel = json_object_get(obj, jn);
		if (camel) {
			j = camel;
			*key = jn;
		}
	}
	return j;
}

/* Fills m's fields from obj. Keys that name no field are never looked at: unknown fields are
 * ignored, as with AllowUnknownFields. */
static int fields_from_object(struct walk *w, const json_t *obj, ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *fd = &d->fields[i];
		char buf[NAME_MAX_LEN];
		const char *key;
		const json_t *j = field_lookup(obj, fd, buf, sizeof(buf), &key);
		if (!j)
			continue;
		/* null leaves a field unset, except a singular Value, which then holds the null. */
		if (json_is_null(j) &&
		    !(fd->label != PROTOBUF_C_LABEL_REPEATED &&
		      fd->type == PROTOBUF_C_TYPE_MESSAGE && is_value_type(fd->descriptor)))
			continue;
		size_t saved = path_push_key(w, key);
		int rc = field_from_json(w, m, fd, j);
		path_pop(w, saved);
		if (rc != FPD_OK)
			return rc;
	}
	return FPD_OK;
}

/* ---- JSON to message: well-known types and messages ------------------------------------- */

enum wkt {
	WKT_NONE,
	WKT_STRUCT,
	WKT_VALUE,
	WKT_LIST,
	WKT_DURATION,
	WKT_TIMESTAMP,
	WKT_WRAPPER,
	WKT_ANY
};

/* The well-known types jsonpb maps specially (FieldMask and Empty it treats as plain messages). */
static enum wkt wkt_of(const ProtobufCMessageDescriptor *d)
{
	static const struct {
		const char *name;
		enum wkt kind;
	} types[] = {
	    {"Struct", WKT_STRUCT},       {"Value", WKT_VALUE},
	    {"ListValue", WKT_LIST},      {"Duration", WKT_DURATION},
	    {"Timestamp", WKT_TIMESTAMP}, {"Any", WKT_ANY},
	    {"DoubleValue", WKT_WRAPPER}, {"FloatValue", WKT_WRAPPER},
	    {"Int64Value", WKT_WRAPPER},  {"UInt64Value", WKT_WRAPPER},
	    {"Int32Value", WKT_WRAPPER},  {"UInt32Value", WKT_WRAPPER},
	    {"BoolValue", WKT_WRAPPER},   {"StringValue", WKT_WRAPPER},
	    {"BytesValue", WKT_WRAPPER},
	};
	static const char prefix[] = "google.protobuf.";
	if (strncmp(d->name, prefix, sizeof(prefix) - 1) != 0)
		return WKT_NONE;
	for (size_t i = 0; i < FPD_ARRAY_LEN(types); i++) {
		if (strcmp(d->name + sizeof(prefix) - 1, types[i].name) == 0)
			return types[i].kind;
	}
	return WKT_NONE;
}

/* Duration or Timestamp from its string; both are (int64 seconds = 1, int32 nanos = 2). */
static int time_from_json(struct walk *w, const json_t *j, ProtobufCMessage *m, bool duration)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	char buf[64];
	int64_t sec;
	int32_t ns;
	FPD_ASSERT(d->n_fields == 2 && d->fields[0].type == PROTOBUF_C_TYPE_INT64 &&
	           d->fields[1].type == PROTOBUF_C_TYPE_INT32);
	if (!json_is_string(j))
		return walk_expected(w, duration ? "a duration string" : "a timestamp string", j);
	const char *s = json_string_value(j);
	size_t len = json_string_length(j);
	int rc = duration ? fpd_pbtext_duration(s, len, &sec, &ns)
	                  : fpd_pbtext_timestamp(s, len, &sec, &ns);
	if (rc != FPD_OK)
		return walk_fail(w, rc, "%s is not a valid %s", describe(j, buf, sizeof(buf)),
		                 duration ? "duration (e.g. \"1.5s\", \"1m30s\")"
		                          : "RFC 3339 timestamp");
	memcpy(member(m, d->fields[0].offset), &sec, sizeof(sec));
	memcpy(member(m, d->fields[1].offset), &ns, sizeof(ns));
	return FPD_OK;
}

static int message_build(struct walk *w, const json_t *j, const ProtobufCMessageDescriptor *d,
                         void *slot);

/* google.protobuf.Value: the member that matches j's JSON type. */
static int value_kind_from_json(struct walk *w, const json_t *j, ProtobufCMessage *m)
{
	static const char *const member_for[] = {
	    [JSON_OBJECT] = "struct_value", [JSON_ARRAY] = "list_value",
	    [JSON_STRING] = "string_value", [JSON_INTEGER] = "number_value",
	    [JSON_REAL] = "number_value",   [JSON_TRUE] = "bool_value",
	    [JSON_FALSE] = "bool_value",    [JSON_NULL] = "null_value",
	};
	const ProtobufCFieldDescriptor *fd = protobuf_c_message_descriptor_get_field_by_name(
	    m->descriptor, member_for[json_typeof(j)]);
	FPD_ASSERT(fd != NULL);
	void *slot = member(m, fd->offset);
	int rc = fd->type == PROTOBUF_C_TYPE_MESSAGE ? message_build(w, j, fd->descriptor, slot)
	                                             : scalar_from_json(w, fd, j, slot);
	if (rc == FPD_OK)
		mark_set(m, fd);
	return rc;
}

/* Fills a new message m of kind `kind` from j (not null, unless m is a Value). */
static int message_fill(struct walk *w, const json_t *j, ProtobufCMessage *m, enum wkt kind)
{
	const ProtobufCFieldDescriptor *first = &m->descriptor->fields[0];
	switch (kind) {
	case WKT_STRUCT: return map_from_json(w, m, first, j);
	case WKT_LIST: return list_from_json(w, m, first, j);
	case WKT_VALUE: return value_kind_from_json(w, j, m);
	case WKT_DURATION: return time_from_json(w, j, m, true);
	case WKT_TIMESTAMP: return time_from_json(w, j, m, false);
	case WKT_WRAPPER: return scalar_from_json(w, first, j, member(m, first->offset));
	case WKT_ANY: return walk_fail(w, FPD_EINVAL, "google.protobuf.Any is not supported");
	case WKT_NONE: break;
	}
	if (!json_is_object(j))
		return walk_expected(w, "an object", j);
	int rc = walk_enter(w);
	if (rc != FPD_OK)
		return rc;
	rc = fields_from_object(w, j, m);
	walk_leave(w);
	return rc;
}

/* A new message of type d from j into slot (a ProtobufCMessage *), not counted against the
 * limits (the caller did). Writes slot only on success. */
static int message_build(struct walk *w, const json_t *j, const ProtobufCMessageDescriptor *d,
                         void *slot)
{
	ProtobufCMessage *m = message_new(d);
	enum wkt kind = wkt_of(d);
	int rc = FPD_OK;
	/* jsonpb: null is an empty message, except that a Value holds it. */
	if (!json_is_null(j) || kind == WKT_VALUE)
		rc = message_fill(w, j, m, kind);
	if (rc != FPD_OK) {
		protobuf_c_message_free_unpacked(m, NULL);
		return rc;
	}
	memcpy(slot, &m, sizeof(m));
	return FPD_OK;
}

static int message_from_json(struct walk *w, const json_t *j, const ProtobufCMessageDescriptor *d,
                             void *slot)
{
	int rc = walk_take(w, 1, json_is_string(j) ? json_string_length(j) : 0);
	return rc != FPD_OK ? rc : message_build(w, j, d, slot);
}

int fpd_json_to_message(const json_t *json, const ProtobufCMessageDescriptor *desc,
                        ProtobufCMessage **out, struct fpd_error *err)
{
	struct walk w;
	FPD_ASSERT(desc != NULL && desc->magic == PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC);
	walk_init(&w, err);
	return message_from_json(&w, json, desc, out);
}

int fpd_struct_to_message(const Google__Protobuf__Struct *s, const ProtobufCMessageDescriptor *desc,
                          ProtobufCMessage **out, struct fpd_error *err)
{
	json_t *json;
	int rc = fpd_struct_to_json(s, &json, err);
	if (rc != FPD_OK)
		return rc;
	rc = fpd_json_to_message(json, desc, out, err);
	json_decref(json);
	return rc;
}
