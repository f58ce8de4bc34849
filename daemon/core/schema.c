/* Schema-driven validation of YAML into structs: see schema.h. */
#include "core/schema.h"

#include <flyteplugd/mem.h>

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIELD_PTR(dest, f) ((void *)((char *)(dest) + (f)->offset))

void fpd_strings_push(struct fpd_strings *list, const char *s)
{
	list->items = fpd_realloc(list->items, (list->count + 1) * sizeof(*list->items));
	list->items[list->count++] = fpd_strdup(s);
}

void fpd_strings_free(struct fpd_strings *list)
{
	for (size_t i = 0; i < list->count; i++)
		free(list->items[i]);
	free(list->items);
	list->items = NULL;
	list->count = 0;
}

bool fpd_strings_contains(const struct fpd_strings *list, const char *s)
{
	for (size_t i = 0; i < list->count; i++)
		if (strcmp(list->items[i], s) == 0)
			return true;
	return false;
}

struct fpd_yaml_node *fpd_yaml_clone(const struct fpd_yaml_node *node)
{
	struct fpd_yaml_node *c = fpd_calloc(1, sizeof(*c));
	*c = *node;
	c->value = node->value ? fpd_strndup(node->value, node->len) : NULL;
	size_t n = node->kind == FPD_YAML_MAP ? node->count * 2 : node->count;
	c->items = n ? fpd_calloc(n, sizeof(*c->items)) : NULL;
	for (size_t i = 0; i < n; i++)
		c->items[i] = fpd_yaml_clone(node->items[i]);
	return c;
}

static json_t *scalar_to_json(const struct fpd_yaml_node *n)
{
	if (!n->plain)
		return json_stringn(n->value, n->len);
	if (fpd_yaml_is_null(n))
		return json_null();
	static const char *const yes[] = {"true", "True", "TRUE"};
	static const char *const no[] = {"false", "False", "FALSE"};
	for (size_t i = 0; i < FPD_ARRAY_LEN(yes); i++) {
		if (strcmp(n->value, yes[i]) == 0)
			return json_true();
		if (strcmp(n->value, no[i]) == 0)
			return json_false();
	}
	char *end;
	errno = 0;
	long long i = strtoll(n->value, &end, 10);
	if (*end == '\0' && errno == 0 &&
	    (n->value[0] == '-' || (n->value[0] >= '0' && n->value[0] <= '9')))
		return json_integer(i);
	errno = 0;
	double d = strtod(n->value, &end);
	if (*end == '\0' && errno == 0 && isfinite(d) &&
	    (n->value[0] == '-' || n->value[0] == '.' ||
	     (n->value[0] >= '0' && n->value[0] <= '9')))
		return json_real(d);
	return json_stringn(n->value, n->len);
}

json_t *fpd_yaml_to_json(const struct fpd_yaml_node *node)
{
	switch (node->kind) {
	case FPD_YAML_MAP: {
		json_t *obj = json_object();
		for (size_t i = 0; i < node->count; i++)
			json_object_set_new(obj, node->items[2 * i]->value,
			                    fpd_yaml_to_json(node->items[2 * i + 1]));
		return obj;
	}
	case FPD_YAML_SEQ: {
		json_t *arr = json_array();
		for (size_t i = 0; i < node->count; i++)
			json_array_append_new(arr, fpd_yaml_to_json(node->items[i]));
		return arr;
	}
	default: return scalar_to_json(node);
	}
}

/* Strict whole-string integer parse. */
static int parse_int(const char *s, int64_t *out)
{
	if (!*s)
		return FPD_EINVAL;
	errno = 0;
	char *end;
	long long v = strtoll(s, &end, 10);
	if (*end || errno == ERANGE)
		return errno == ERANGE ? FPD_ERANGE : FPD_EINVAL;
	*out = v;
	return FPD_OK;
}

int fpd_parse_duration_ms(const char *s, int64_t *out)
{
	/* A bare number is seconds, as in most YAML configs of Kubernetes tools. */
	int64_t secs;
	int rc = parse_int(s, &secs);
	if (rc != FPD_EINVAL) {
		if (rc || secs < 0 || secs > INT64_MAX / 1000)
			return FPD_ERANGE;
		*out = secs * 1000;
		return FPD_OK;
	}
	/* Go-style: a sequence of <decimal><unit>, units ms, s, m, h. */
	double total = 0;
	const char *p = s;
	if (!*p)
		return FPD_EINVAL;
	while (*p) {
		/* digits with an optional fraction; no sign, no exponent (as Go's durations) */
		double v = 0, scale = 1;
		bool digits = false, dot = false;
		for (; (*p >= '0' && *p <= '9') || (*p == '.' && !dot); p++) {
			if (*p == '.') {
				dot = true;
				continue;
			}
			digits = true;
			if (dot)
				v += (*p - '0') * (scale /= 10);
			else
				v = v * 10 + (*p - '0');
			if (v > 9.0e15)
				return FPD_ERANGE;
		}
		if (!digits)
			return FPD_EINVAL;
		double unit;
		if (strncmp(p, "ms", 2) == 0) {
			unit = 1;
			p += 2;
		} else if (*p == 's') {
			unit = 1000;
			p++;
		} else if (*p == 'm') {
			unit = 60000;
			p++;
		} else if (*p == 'h') {
			unit = 3600000;
			p++;
		} else {
			return FPD_EINVAL;
		}
		total += v * unit;
		if (total > 9.0e15)
			return FPD_ERANGE;
	}
	*out = (int64_t)llround(total);
	return FPD_OK;
}

int fpd_parse_size(const char *s, int64_t *out)
{
	char *end;
	errno = 0;
	if (!(*s >= '0' && *s <= '9'))
		return FPD_EINVAL;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return FPD_ERANGE;
	static const struct {
		const char *suffix;
		unsigned long long mult;
	} units[] = {{"", 1},
	             {"B", 1},
	             {"KiB", 1ull << 10},
	             {"MiB", 1ull << 20},
	             {"GiB", 1ull << 30},
	             {"KB", 1000},
	             {"MB", 1000 * 1000},
	             {"GB", 1000 * 1000 * 1000}};
	for (size_t i = 0; i < FPD_ARRAY_LEN(units); i++) {
		if (strcmp(end, units[i].suffix) == 0) {
			if (v > (unsigned long long)INT64_MAX / units[i].mult)
				return FPD_ERANGE;
			*out = (int64_t)(v * units[i].mult);
			return FPD_OK;
		}
	}
	return FPD_EINVAL;
}

static int type_error(const struct fpd_yaml_node *v, const char *key, const char *want,
                      const char *file, struct fpd_error *err)
{
	return fpd_error_set_at(err, FPD_EINVAL, file, v->line, v->column,
	                        "\"%s\" must be %s, not %s", key, want, fpd_yaml_kind_name(v));
}

static int check_range(const struct fpd_schema_field *f, const struct fpd_yaml_node *v, int64_t x,
                       const char *unit, const char *file, struct fpd_error *err)
{
	if (f->min == 0 && f->max == 0)
		return FPD_OK;
	if (x < f->min || x > f->max)
		return fpd_error_set_at(err, FPD_ERANGE, file, v->line, v->column,
		                        "\"%s\" is out of range: %s (allowed %" PRId64
		                        "%s to %" PRId64 "%s)",
		                        f->key, v->value, f->min, unit, f->max, unit);
	return FPD_OK;
}

static int apply_scalar(const struct fpd_schema_field *f, const struct fpd_yaml_node *v, void *dest,
                        const char *file, struct fpd_error *err)
{
	if (v->kind != FPD_YAML_SCALAR)
		return type_error(v, f->key, "a scalar", file, err);
	void *slot = FIELD_PTR(dest, f);
	int64_t x;
	int rc;
	switch (f->type) {
	case FPD_SCHEMA_STRING: {
		if (fpd_yaml_is_null(v) && v->len > 0)
			return type_error(v, f->key, "a string", file, err);
		if (f->nonempty && v->len == 0)
			return fpd_error_set_at(err, FPD_EINVAL, file, v->line, v->column,
			                        "\"%s\" must not be empty", f->key);
		if (strlen(v->value) != v->len)
			return fpd_error_set_at(err, FPD_EINVAL, file, v->line, v->column,
			                        "\"%s\" contains a NUL byte", f->key);
		char **s = slot;
		free(*s);
		*s = fpd_strdup(v->value);
		return FPD_OK;
	}
	case FPD_SCHEMA_BOOL: {
		static const char *const yes[] = {"true", "True", "TRUE", "yes", "on"};
		static const char *const no[] = {"false", "False", "FALSE", "no", "off"};
		for (size_t i = 0; v->plain && i < FPD_ARRAY_LEN(yes); i++) {
			if (strcmp(v->value, yes[i]) == 0) {
				*(bool *)slot = true;
				return FPD_OK;
			}
			if (strcmp(v->value, no[i]) == 0) {
				*(bool *)slot = false;
				return FPD_OK;
			}
		}
		return fpd_error_set_at(err, FPD_EINVAL, file, v->line, v->column,
		                        "\"%s\" must be true or false, not \"%s\"", f->key,
		                        v->value);
	}
	case FPD_SCHEMA_INT:
		rc = v->plain ? parse_int(v->value, &x) : FPD_EINVAL;
		if (rc == FPD_ERANGE)
			return fpd_error_set_at(err, FPD_ERANGE, file, v->line, v->column,
			                        "\"%s\" is out of range: %s", f->key, v->value);
		if (rc)
			return fpd_error_set_at(err, FPD_EINVAL, file, v->line, v->column,
			                        "\"%s\" must be an integer, not \"%s\"", f->key,
			                        v->value);
		if ((rc = check_range(f, v, x, "", file, err)))
			return rc;
		*(int64_t *)slot = x;
		return FPD_OK;
	case FPD_SCHEMA_DOUBLE: {
		char *end;
		errno = 0;
		double d = v->plain && v->len ? strtod(v->value, &end) : 0;
		if (!v->plain || !v->len || *end || errno == ERANGE || !isfinite(d))
			return fpd_error_set_at(err, FPD_EINVAL, file, v->line, v->column,
			                        "\"%s\" must be a number, not \"%s\"", f->key,
			                        v->value);
		if ((f->min || f->max) && (d < (double)f->min || d > (double)f->max))
			return fpd_error_set_at(err, FPD_ERANGE, file, v->line, v->column,
			                        "\"%s\" is out of range: %s (allowed %" PRId64
			                        " to %" PRId64 ")",
			                        f->key, v->value, f->min, f->max);
		*(double *)slot = d;
		return FPD_OK;
	}
	case FPD_SCHEMA_DURATION:
		rc = fpd_parse_duration_ms(v->value, &x);
		if (rc == FPD_EINVAL)
			return fpd_error_set_at(
			    err, FPD_EINVAL, file, v->line, v->column,
			    "\"%s\" must be a duration such as 30s, 5m or 250ms, "
			    "not \"%s\"",
			    f->key, v->value);
		if (rc)
			return fpd_error_set_at(err, FPD_ERANGE, file, v->line, v->column,
			                        "\"%s\" is out of range: %s", f->key, v->value);
		if ((rc = check_range(f, v, x, "ms", file, err)))
			return rc;
		*(int64_t *)slot = x;
		return FPD_OK;
	case FPD_SCHEMA_SIZE:
		rc = fpd_parse_size(v->value, &x);
		if (rc == FPD_EINVAL)
			return fpd_error_set_at(
			    err, FPD_EINVAL, file, v->line, v->column,
			    "\"%s\" must be a size such as 4096, 64KiB or 16MiB, "
			    "not \"%s\"",
			    f->key, v->value);
		if (rc)
			return fpd_error_set_at(err, FPD_ERANGE, file, v->line, v->column,
			                        "\"%s\" is out of range: %s", f->key, v->value);
		if ((rc = check_range(f, v, x, " bytes", file, err)))
			return rc;
		*(int64_t *)slot = x;
		return FPD_OK;
	case FPD_SCHEMA_ENUM: {
		for (int i = 0; f->names[i]; i++) {
			if (strcmp(f->names[i], v->value) == 0) {
				*(int *)slot = i;
				return FPD_OK;
			}
		}
		char allowed[256] = "";
		size_t used = 0;
		for (int i = 0; f->names[i] && used < sizeof(allowed); i++)
			used += (size_t)snprintf(allowed + used, sizeof(allowed) - used, "%s%s",
			                         i ? ", " : "", f->names[i]);
		return fpd_error_set_at(err, FPD_EINVAL, file, v->line, v->column,
		                        "\"%s\" must be one of %s, not \"%s\"", f->key, allowed,
		                        v->value);
	}
	default: FPD_ASSERT(!"not a scalar type"); return FPD_ERR;
	}
}

static void free_list(const struct fpd_schema_field *f, struct fpd_list *list)
{
	for (size_t i = 0; i < list->count; i++) {
		void *elem = fpd_list_at(list, f->elem_size, i);
		fpd_schema_free(f->fields, elem);
		if (f->type == FPD_SCHEMA_SECTION_MAP)
			free(*(char **)elem); /* the name, set from the mapping key */
	}
	free(list->items);
	list->items = NULL;
	list->count = 0;
}

/* SECTIONS (a sequence of mappings) and SECTION_MAP (name -> mapping). */
static int apply_list(const struct fpd_schema_field *f, const struct fpd_yaml_node *v, void *dest,
                      const char *file, struct fpd_error *err)
{
	bool is_map = f->type == FPD_SCHEMA_SECTION_MAP;
	if (fpd_yaml_is_null(v))
		return FPD_OK;
	if (v->kind != (is_map ? FPD_YAML_MAP : FPD_YAML_SEQ))
		return type_error(v, f->key, is_map ? "a mapping" : "a sequence of mappings", file,
		                  err);
	if (f->nonempty && v->count == 0)
		return fpd_error_set_at(err, FPD_EINVAL, file, v->line, v->column,
		                        "\"%s\" must not be empty", f->key);
	struct fpd_list *list = FIELD_PTR(dest, f);
	free_list(f, list);
	list->items = fpd_calloc(v->count, f->elem_size);
	for (size_t i = 0; i < v->count; i++) {
		void *elem = fpd_list_at(list, f->elem_size, i);
		if (f->elem_defaults)
			f->elem_defaults(elem);
		list->count++;
		const struct fpd_yaml_node *item = is_map ? v->items[2 * i + 1] : v->items[i];
		if (is_map) {
			char **name = elem;
			free(*name);
			*name = fpd_strdup(v->items[2 * i]->value);
		}
		if (item->kind != FPD_YAML_MAP)
			return type_error(item, is_map ? v->items[2 * i]->value : f->key,
			                  "a mapping", file, err);
		int rc = fpd_schema_apply(f->fields, item, elem, file, err);
		if (rc)
			return rc;
	}
	return FPD_OK;
}

static int apply_field(const struct fpd_schema_field *f, const struct fpd_yaml_node *v, void *dest,
                       const char *file, struct fpd_error *err)
{
	switch (f->type) {
	case FPD_SCHEMA_SECTION:
		if (v->kind != FPD_YAML_MAP && !fpd_yaml_is_null(v))
			return type_error(v, f->key, "a mapping", file, err);
		return fpd_schema_apply(f->fields, v, FIELD_PTR(dest, f), file, err);
	case FPD_SCHEMA_STRINGS: {
		if (v->kind != FPD_YAML_SEQ)
			return type_error(v, f->key, "a sequence of strings", file, err);
		if (f->nonempty && v->count == 0)
			return fpd_error_set_at(err, FPD_EINVAL, file, v->line, v->column,
			                        "\"%s\" must not be empty", f->key);
		struct fpd_strings *list = FIELD_PTR(dest, f);
		fpd_strings_free(list);
		for (size_t i = 0; i < v->count; i++) {
			const struct fpd_yaml_node *item = v->items[i];
			if (item->kind != FPD_YAML_SCALAR || fpd_yaml_is_null(item) ||
			    strlen(item->value) != item->len)
				return fpd_error_set_at(
				    err, FPD_EINVAL, file, item->line, item->column,
				    "items of \"%s\" must be non-empty strings", f->key);
			fpd_strings_push(list, item->value);
		}
		return FPD_OK;
	}
	case FPD_SCHEMA_NODE: {
		struct fpd_yaml_node **slot = FIELD_PTR(dest, f);
		fpd_yaml_free(*slot);
		*slot = fpd_yaml_clone(v);
		return FPD_OK;
	}
	case FPD_SCHEMA_JSON: {
		json_t **slot = FIELD_PTR(dest, f);
		json_decref(*slot);
		*slot = fpd_yaml_to_json(v);
		return FPD_OK;
	}
	case FPD_SCHEMA_OPTIONAL_SECTION: {
		if (v->kind != FPD_YAML_MAP && !fpd_yaml_is_null(v))
			return type_error(v, f->key, "a mapping", file, err);
		void **slot = FIELD_PTR(dest, f);
		if (!*slot) {
			*slot = fpd_calloc(1, f->elem_size);
			if (f->elem_defaults)
				f->elem_defaults(*slot);
		}
		return fpd_schema_apply(f->fields, v, *slot, file, err);
	}
	case FPD_SCHEMA_SECTIONS:
	case FPD_SCHEMA_SECTION_MAP: return apply_list(f, v, dest, file, err);
	default: return apply_scalar(f, v, dest, file, err);
	}
}

int fpd_schema_apply(const struct fpd_schema_field *fields, const struct fpd_yaml_node *map,
                     void *dest, const char *file, struct fpd_error *err)
{
	if (fpd_yaml_is_null(map))
		return FPD_OK;
	if (map->kind != FPD_YAML_MAP)
		return fpd_error_set_at(err, FPD_EINVAL, file, map->line, map->column,
		                        "expected a mapping, found %s", fpd_yaml_kind_name(map));
	for (size_t i = 0; i < map->count; i++) {
		const struct fpd_yaml_node *key = map->items[2 * i];
		const struct fpd_yaml_node *value = map->items[2 * i + 1];
		const struct fpd_schema_field *f = fields;
		while (f->key && strcmp(f->key, key->value) != 0)
			f++;
		if (!f->key) {
			char known[384] = "";
			size_t used = 0;
			for (const struct fpd_schema_field *k = fields;
			     k->key && used < sizeof(known); k++)
				used += (size_t)snprintf(known + used, sizeof(known) - used, "%s%s",
				                         k == fields ? "" : ", ", k->key);
			return fpd_error_set_at(err, FPD_EINVAL, file, key->line, key->column,
			                        "unknown key \"%s\" (expected one of: %s)",
			                        key->value, known);
		}
		int rc = apply_field(f, value, dest, file, err);
		if (rc)
			return rc;
	}
	return FPD_OK;
}

void fpd_schema_free(const struct fpd_schema_field *fields, void *dest)
{
	for (const struct fpd_schema_field *f = fields; f->key; f++) {
		void *slot = FIELD_PTR(dest, f);
		switch (f->type) {
		case FPD_SCHEMA_STRING: {
			char **s = slot;
			free(*s);
			*s = NULL;
			break;
		}
		case FPD_SCHEMA_STRINGS: fpd_strings_free(slot); break;
		case FPD_SCHEMA_SECTION: fpd_schema_free(f->fields, slot); break;
		case FPD_SCHEMA_NODE: {
			struct fpd_yaml_node **n = slot;
			fpd_yaml_free(*n);
			*n = NULL;
			break;
		}
		case FPD_SCHEMA_JSON: {
			json_t **j = slot;
			json_decref(*j);
			*j = NULL;
			break;
		}
		case FPD_SCHEMA_OPTIONAL_SECTION: {
			void **p = slot;
			if (*p)
				fpd_schema_free(f->fields, *p);
			free(*p);
			*p = NULL;
			break;
		}
		case FPD_SCHEMA_SECTIONS:
		case FPD_SCHEMA_SECTION_MAP: free_list(f, slot); break;
		default: break;
		}
	}
}
