/* JSON text from jansson values: see json_text.h. */
#include "core/json_text.h"

#include <flyteplugd/mem.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct out {
	char *data;
	size_t len, cap;
	bool sorted;
};

static void put_integer(struct out *o, json_int_t v);
static int put_string(struct out *o, const char *str, size_t len);

static void reserve(struct out *o, size_t n)
{
	if (o->cap - o->len >= n)
		return;
	size_t cap = o->cap ? o->cap : 256;
	while (cap - o->len < n)
		cap *= 2;
	o->data = fpd_realloc(o->data, cap);
	o->cap = cap;
}

static void put(struct out *o, const void *s, size_t n)
{
	reserve(o, n);
	memcpy(o->data + o->len, s, n);
	o->len += n;
}

static void put_char(struct out *o, char c)
{
	reserve(o, 1);
	o->data[o->len++] = c;
}

/* Bytes a string cannot copy as they are: escapes (controls, '"', '\\') and UTF-8 lead and
 * continuation bytes, which are checked. */
static const unsigned char special[256] = {
#define X16 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1
#define Z16 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
    X16, X16,                                                       /* 0x00-0x1f */
    0,   0,   1,   0,   0,   0,   0,   0,   0, 0, 0, 0, 0, 0, 0, 0, /* 0x20-0x2f: '"' */
    Z16, Z16,                                                       /* 0x30-0x4f */
    0,   0,   0,   0,   0,   0,   0,   0,   0, 0, 0, 0, 1, 0, 0, 0, /* 0x50-0x5f: '\\' */
    Z16, Z16,                                                       /* 0x60-0x7f */
    X16, X16, X16, X16, X16, X16, X16, X16,                         /* 0x80-0xff */
#undef X16
#undef Z16
};

static int put_string(struct out *o, const char *str, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *s = (const unsigned char *)str, *end = s + len, *run = s;
	/* Every byte may become \u00XX: reserve once, up front, for the common case. */
	reserve(o, len + 2);
	put_char(o, '"');
	while (s < end) {
		unsigned char c = *s;
		if (!special[c]) {
			s++;
			continue;
		}
		if (c >= 0x80) {
			size_t n = fpd_utf8_sequence(s, (size_t)(end - s));
			if (!n)
				return -1;
			s += n;
			continue;
		}
		put(o, run, (size_t)(s - run));
		switch (c) {
		case '"': put(o, "\\\"", 2); break;
		case '\\': put(o, "\\\\", 2); break;
		case '\b': put(o, "\\b", 2); break;
		case '\f': put(o, "\\f", 2); break;
		case '\n': put(o, "\\n", 2); break;
		case '\r': put(o, "\\r", 2); break;
		case '\t': put(o, "\\t", 2); break;
		default: {
			char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			put(o, u, sizeof(u));
		}
		}
		run = ++s;
	}
	put(o, run, (size_t)(s - run));
	put_char(o, '"');
	return 0;
}

static void put_integer(struct out *o, json_int_t v)
{
	char digits[24];
	size_t i = sizeof(digits);
	/* Negative values counted down in unsigned arithmetic: LLONG_MIN has no positive twin. */
	unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
	do {
		digits[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		digits[--i] = '-';
	put(o, digits + i, sizeof(digits) - i);
}

struct member {
	const char *key;
	size_t len;
	json_t *value;
};

static int by_key(const void *a, const void *b)
{
	const struct member *x = a, *y = b;
	int c = memcmp(x->key, y->key, x->len < y->len ? x->len : y->len);
	return c ? c : (x->len > y->len) - (x->len < y->len);
}

static int put_value(struct out *o, const json_t *v, int depth);

static int put_object(struct out *o, const json_t *v, int depth)
{
	put_char(o, '{');
	size_t n = json_object_size(v);
	if (o->sorted && n > 1) {
		struct member *m = fpd_malloc(n * sizeof(*m));
		size_t i = 0;
		for (void *it = json_object_iter((json_t *)v); it && i < n;
		     it = json_object_iter_next((json_t *)v, it), i++)
			m[i] =
			    (struct member){json_object_iter_key(it), json_object_iter_key_len(it),
			                    json_object_iter_value(it)};
		qsort(m, i, sizeof(*m), by_key);
		int rc = 0;
		for (size_t k = 0; k < i && !rc; k++) {
			if (k)
				put_char(o, ',');
			rc = put_string(o, m[k].key, m[k].len);
			if (!rc) {
				put_char(o, ':');
				rc = put_value(o, m[k].value, depth + 1);
			}
		}
		free(m);
		if (rc)
			return rc;
	} else {
		bool first = true;
		for (void *it = json_object_iter((json_t *)v); it;
		     it = json_object_iter_next((json_t *)v, it)) {
			if (!first)
				put_char(o, ',');
			first = false;
			if (put_string(o, json_object_iter_key(it), json_object_iter_key_len(it)))
				return -1;
			put_char(o, ':');
			if (put_value(o, json_object_iter_value(it), depth + 1))
				return -1;
		}
	}
	put_char(o, '}');
	return 0;
}

static int put_value(struct out *o, const json_t *v, int depth)
{
	if (!v || depth > FPD_JSON_TEXT_MAX_DEPTH)
		return -1;
	switch (json_typeof(v)) {
	case JSON_OBJECT: return put_object(o, v, depth);
	case JSON_ARRAY: {
		put_char(o, '[');
		size_t n = json_array_size(v);
		for (size_t i = 0; i < n; i++) {
			if (i)
				put_char(o, ',');
			if (put_value(o, json_array_get(v, i), depth + 1))
				return -1;
		}
		put_char(o, ']');
		return 0;
	}
	case JSON_STRING: return put_string(o, json_string_value(v), json_string_length(v));
	case JSON_INTEGER: put_integer(o, json_integer_value(v)); return 0;
	case JSON_REAL: {
		/* Rare in Kubernetes objects: jansson's own shortest round-trip form. */
		char *r = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		if (!r)
			return -1;
		put(o, r, strlen(r));
		free(r);
		return 0;
	}
	case JSON_TRUE: put(o, "true", 4); return 0;
	case JSON_FALSE: put(o, "false", 5); return 0;
	case JSON_NULL: put(o, "null", 4); return 0;
	}
	return -1;
}

char *fpd_json_text(const json_t *v, bool sorted, size_t *len)
{
	struct out o = {NULL, 0, 0, sorted};
	if (put_value(&o, v, 0)) {
		free(o.data);
		return NULL;
	}
	put_char(&o, '\0');
	if (len)
		*len = o.len - 1;
	return o.data;
}

/* The writer shares the buffer code: its fields are an out's first three. */
static struct out as_out(const struct fpd_json_writer *w)
{
	return (struct out){w->data, w->len, w->cap, false};
}

static void from_out(struct fpd_json_writer *w, const struct out *o)
{
	w->data = o->data;
	w->len = o->len;
	w->cap = o->cap;
}

void fpd_json_writer_raw(struct fpd_json_writer *w, const char *s)
{
	struct out o = as_out(w);
	put(&o, s, strlen(s));
	from_out(w, &o);
}

void fpd_json_writer_string(struct fpd_json_writer *w, const char *s)
{
	struct out o = as_out(w);
	if (put_string(&o, s ? s : "", s ? strlen(s) : 0))
		w->failed = true;
	from_out(w, &o);
}

void fpd_json_writer_int(struct fpd_json_writer *w, json_int_t v)
{
	struct out o = as_out(w);
	put_integer(&o, v);
	from_out(w, &o);
}

char *fpd_json_writer_finish(struct fpd_json_writer *w)
{
	struct out o = as_out(w);
	put_char(&o, '\0');
	char *text = w->failed ? (free(o.data), NULL) : o.data;
	*w = (struct fpd_json_writer){0};
	return text;
}
