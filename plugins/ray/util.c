/*
 * The Ray plugin's two conversions that are not Ray-specific: Flyte's overlay of a worker or
 * head group's pod spec onto the task's (flytek8s.MergeOverlayPodSpecOntoBase, which is mergo
 * with override and appended slices) and the base64 runtime_env to YAML.
 */
#include "ray/internal.h"

#include "core/mem.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* mergo skips source values that are Go zero values. */
static bool zero(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_NULL:
	case JSON_FALSE: return true;
	case JSON_STRING: return json_string_length(v) == 0;
	case JSON_INTEGER: return json_integer_value(v) == 0;
	case JSON_REAL: return json_real_value(v) == 0;
	case JSON_ARRAY: return json_array_size(v) == 0;
	case JSON_OBJECT: return json_object_size(v) == 0;
	default: return false;
	}
}

static void merge_obj(json_t *dst, const json_t *src, bool spec_level)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)src, k, v)
	{
		/* Containers are merged by name below; unmatched overlay containers are dropped. */
		if (spec_level && (!strcmp(k, "containers") || !strcmp(k, "initContainers")))
			continue;
		if (zero(v))
			continue;
		json_t *d = json_object_get(dst, k);
		if (json_is_object(d) && json_is_object(v))
			merge_obj(d, v, false);
		else if (json_is_array(d) && json_is_array(v)) {
			json_t *c = json_deep_copy(v);
			json_array_extend(d, c);
			json_decref(c);
		} else
			json_object_set_new(dst, k, json_deep_copy(v));
	}
}

static void merge_named(json_t *base, const json_t *overlay, const char *key)
{
	size_t i, j;
	json_t *b, *o;
	json_array_foreach(json_object_get(base, key), i, b)
	{
		const char *name = json_string_value(json_object_get(b, "name"));
		json_array_foreach(json_object_get(overlay, key), j, o)
		{
			const char *oname = json_string_value(json_object_get(o, "name"));
			if (name && oname && !strcmp(name, oname))
				merge_obj(b, o, false);
		}
	}
}

void fpd_ray_merge_overlay(json_t *base, const json_t *overlay)
{
	merge_obj(base, overlay, true);
	merge_named(base, overlay, "containers");
	merge_named(base, overlay, "initContainers");
}

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Go's base64.StdEncoding.DecodeString: padded standard alphabet only. */
static char *b64decode(const char *s, size_t *len)
{
	size_t n = strlen(s);
	if (n % 4)
		return NULL;
	char *out = fpd_calloc(n / 4 * 3 + 1, 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i += 4) {
		int v[4];
		int pad = 0;
		for (int k = 0; k < 4; k++) {
			if (s[i + k] == '=' && i + 4 == n && k >= 2) {
				v[k] = 0;
				pad++;
			} else if (pad || (v[k] = b64val((unsigned char)s[i + k])) < 0) {
				free(out);
				return NULL;
			}
		}
		uint32_t w = (uint32_t)(v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3]);
		out[o++] = (char)(w >> 16);
		if (pad < 2)
			out[o++] = (char)(w >> 8 & 0xff);
		if (pad < 1)
			out[o++] = (char)(w & 0xff);
	}
	*len = o;
	return out;
}

struct buf {
	char *p;
	size_t len, cap;
};

static void put(struct buf *b, const char *s)
{
	size_t n = strlen(s);
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		char *np = realloc(b->p, b->cap);
		if (!np)
			abort();
		b->p = np;
	}
	memcpy(b->p + b->len, s, n + 1);
	b->len += n;
}

static void indent(struct buf *b, int depth)
{
	for (int i = 0; i < depth; i++)
		put(b, "  ");
}

/* yaml.v2 writes a string plain unless it could be read back as something else. */
static bool plain_ok(const char *s)
{
	static const char *const words[] = {"true", "false", "yes", "no", "on", "off",
	                                    "null", "y",     "n",   "~",  NULL};
	if (!*s)
		return false;
	for (size_t i = 0; words[i]; i++)
		if (!strcasecmp(s, words[i]))
			return false;
	char *end;
	(void)strtod(s, &end);
	if (!*end)
		return false;
	for (const char *p = s; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./=+-",
		            *p))
			return false;
	return !strchr("-.+", *s) || (s[1] && *s == '.');
}

static void scalar(struct buf *b, const json_t *v)
{
	if (json_is_string(v) && plain_ok(json_string_value(v))) {
		put(b, json_string_value(v));
		return;
	}
	if (json_is_null(v)) {
		put(b, "null");
		return;
	}
	char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
	put(b, s ? s : "null");
	free(s);
}

static void emit(struct buf *b, const json_t *v, int depth);

static void emit_entry(struct buf *b, const json_t *v, int depth)
{
	if (json_is_object(v) && json_object_size(v)) {
		put(b, "\n");
		emit(b, v, depth + 1);
	} else if (json_is_array(v) && json_array_size(v)) {
		put(b, "\n");
		emit(b, v, depth); /* yaml.v2 does not indent a sequence under its key */
	} else {
		put(b, " ");
		if (json_is_object(v))
			put(b, "{}");
		else if (json_is_array(v))
			put(b, "[]");
		else
			scalar(b, v);
		put(b, "\n");
	}
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void emit(struct buf *b, const json_t *v, int depth)
{
	if (json_is_object(v)) {
		size_t n = json_object_size(v), i = 0;
		const char **keys = fpd_calloc(n ? n : 1, sizeof(*keys));
		const char *k;
		json_t *x;
		json_object_foreach((json_t *)v, k, x) keys[i++] = k;
		qsort(keys, n, sizeof(*keys), cmp);
		for (i = 0; i < n; i++) {
			indent(b, depth);
			json_t *key = json_string(keys[i]);
			scalar(b, key);
			json_decref(key);
			put(b, ":");
			emit_entry(b, json_object_get(v, keys[i]), depth);
		}
		free(keys);
		return;
	}
	size_t i;
	json_t *x;
	json_array_foreach(v, i, x)
	{
		indent(b, depth);
		put(b, "-");
		if (json_is_object(x) && json_object_size(x)) {
			/* "- key: v" with the rest of the mapping aligned under the first key. */
			struct buf inner = {0};
			emit(&inner, x, depth + 1);
			put(b, " ");
			put(b, inner.p + (size_t)(depth + 1) * 2);
			free(inner.p);
		} else {
			emit_entry(b, x, depth);
		}
	}
}

char *fpd_ray_runtime_env_yaml(const char *b64)
{
	size_t len;
	char *raw = b64decode(b64, &len);
	if (!raw)
		return NULL;
	json_t *obj = json_loadb(raw, len, JSON_DECODE_ANY, NULL);
	free(raw);
	if (!json_is_object(obj)) {
		json_decref(obj);
		return NULL;
	}
	struct buf b = {0};
	if (json_object_size(obj))
		emit(&b, obj, 0);
	else
		put(&b, "{}\n");
	json_decref(obj);
	return b.p;
}
