/*
 * The Ray plugin's two conversions that are not Ray-specific: Flyte's overlay of a worker or
 * head group's pod spec onto the task's (flytek8s.MergeOverlayPodSpecOntoBase, which is mergo
 * with override and appended slices) and the base64 runtime_env to YAML.
 */
#include "internal.h"

#include <flyteplugd/base64.h>
#include <flyteplugd/mem.h>

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
		/* A copy: merging replaces b's own "name" string. */
		const char *bn = json_string_value(json_object_get(b, "name"));
		char *name = bn ? fpd_strdup(bn) : NULL;
		json_array_foreach(json_object_get(overlay, key), j, o)
		{
			const char *oname = json_string_value(json_object_get(o, "name"));
			if (name && oname && !strcmp(name, oname))
				merge_obj(b, o, false);
		}
		free(name);
	}
}

void fpd_ray_merge_overlay(json_t *base, const json_t *overlay)
{
	merge_obj(base, overlay, true);
	merge_named(base, overlay, "containers");
	merge_named(base, overlay, "initContainers");
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

/* yaml.v2's resolve: would the string read back as something other than a string (a bool or
 * null of YAML 1.1, a number, a base 60 float, ".inf"/".nan", the merge key)? Then the encoder
 * double-quotes it. */
static bool resolves_other(const char *s)
{
	static const char *const words[] = {
	    "y",    "Y",    "yes",   "Yes",   "YES",   "n",     "N",     "no",    "No",   "NO",
	    "true", "True", "TRUE",  "false", "False", "FALSE", "on",    "On",    "ON",   "off",
	    "Off",  "OFF",  "~",     "null",  "Null",  "NULL",  ".nan",  ".NaN",  ".NAN", ".inf",
	    ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", "<<",   NULL};
	if (!*s)
		return true;
	for (size_t i = 0; words[i]; i++)
		if (!strcmp(s, words[i]))
			return true;
	if (!strchr("+-.0123456789", *s))
		return false;
	/* Go's ParseInt(base 0) and ParseFloat on the text without underscores. */
	char *plain = fpd_calloc(strlen(s) + 1, 1), *end;
	size_t n = 0;
	bool base60 = false;
	for (const char *p = s; *p; p++)
		if (*p != '_')
			plain[n++] = *p;
	(void)strtoll(plain, &end, 0);
	bool number = !*end;
	if (!number) {
		(void)strtod(plain, &end);
		number = !*end;
	}
	/* isBase60Float: [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)? */
	const char *p = s + (*s == '+' || *s == '-');
	if (*p >= '0' && *p <= '9' && strchr(p, ':')) {
		base60 = true;
		while (*p && *p != ':' && base60)
			base60 = (*p >= '0' && *p <= '9') || *p == '_', p++;
		while (base60 && *p == ':') {
			p++;
			int d = 0;
			while (*p >= '0' && *p <= '9')
				d++, p++;
			base60 = d >= 1 && d <= 2 && (d == 1 || p[-2] <= '5');
		}
		if (base60 && *p == '.')
			for (p++; *p && base60; p++)
				base60 = (*p >= '0' && *p <= '9') || *p == '_';
		base60 = base60 && !*p;
	}
	free(plain);
	return number || base60;
}

static bool blank_at(const char *s)
{
	return !*s || *s == ' ' || *s == '\t';
}

/* Not printable for the emitter: only double quotes can carry it. */
static bool control(const char *s)
{
	for (const unsigned char *p = (const void *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return true;
	return false;
}

/* The emitter's analysis (yaml_emitter_analyze_scalar) for a block context: may the string be
 * written plain? */
static bool plain_ok(const char *s)
{
	size_t n = strlen(s);
	if (!n || s[0] == ' ' || s[n - 1] == ' ' || !strncmp(s, "---", 3) || !strncmp(s, "...", 3))
		return false;
	if (strchr("#,[]{}&*!|>'\"%@`", s[0]))
		return false;
	if (strchr("?:-", s[0]) && blank_at(s + 1))
		return false;
	for (size_t i = 1; i < n; i++) {
		if (s[i] == ':' && blank_at(s + i + 1))
			return false;
		if (s[i] == '#' && (s[i - 1] == ' ' || s[i - 1] == '\t'))
			return false;
	}
	return !control(s);
}

/* Go's strconv.FormatFloat(f, 'g', -1, 64), which yaml.v2 uses for every JSON number (they
 * decode to float64). */
static void go_float(struct buf *b, double f)
{
	char s[64];
	int p = 1;
	for (; p < 17; p++) {
		snprintf(s, sizeof(s), "%.*e", p - 1, f);
		if (strtod(s, NULL) == f)
			break;
	}
	snprintf(s, sizeof(s), "%.*e", p - 1, f);
	int exp = atoi(strchr(s, 'e') + 1);
	if (exp >= -4 && exp < 6) {
		int dec = p - 1 - exp;
		snprintf(s, sizeof(s), "%.*f", dec > 0 ? dec : 0, f);
	}
	put(b, s);
}

static void quoted(struct buf *b, const char *s, bool single)
{
	if (single) {
		put(b, "'");
		for (const char *p = s; *p; p++)
			put(b, *p == '\'' ? "''" : (char[]){*p, 0});
		put(b, "'");
		return;
	}
	json_t *j = json_string(s);
	char *d = json_dumps(j, JSON_ENCODE_ANY);
	put(b, d ? d : "\"\"");
	free(d);
	json_decref(j);
}

static void scalar(struct buf *b, const json_t *v)
{
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		if (resolves_other(s) || strchr(s, '\n'))
			quoted(b, s, false);
		else if (plain_ok(s))
			put(b, s);
		else
			quoted(b, s, !control(s));
		return;
	}
	if (json_is_number(v)) {
		go_float(b, json_number_value(v));
		return;
	}
	put(b, json_is_true(v) ? "true" : json_is_false(v) ? "false" : "null");
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
	/* Go's base64.StdEncoding.DecodeString: padded standard alphabet only. */
	uint8_t *raw;
	size_t len;
	if (fpd_base64_decode(b64, strlen(b64), 0, &raw, &len))
		return NULL;
	json_t *obj = json_loadb((const char *)raw, len, JSON_DECODE_ANY, NULL);
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
