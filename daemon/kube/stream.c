/* Incremental watch-line and list-item splitting: see stream.h. */
#include "kube/stream.h"

#include <string.h>

void fpd_kube_lines_init(struct fpd_kube_lines *l, size_t max_line)
{
	fpd_buf_init(&l->partial, max_line);
}

void fpd_kube_lines_free(struct fpd_kube_lines *l)
{
	fpd_buf_free(&l->partial);
}

bool fpd_kube_lines_pending(const struct fpd_kube_lines *l)
{
	return l->partial.len > 0;
}

static int deliver_line(const char *s, size_t n, fpd_kube_piece_fn fn, void *ud)
{
	if (n && s[n - 1] == '\r')
		n--;
	return n ? fn(ud, s, n) : 0;
}

int fpd_kube_lines_feed(struct fpd_kube_lines *l, const char *data, size_t len,
                        fpd_kube_piece_fn fn, void *ud, struct fpd_error *err)
{
	while (len) {
		const char *nl = memchr(data, '\n', len);
		size_t n = nl ? (size_t)(nl - data) : len;
		if (l->partial.len + n > l->partial.max) {
			fpd_buf_reset(&l->partial);
			return fpd_error_set(err, FPD_ERANGE, "watch event longer than %zu bytes",
			                     l->partial.max);
		}
		if (!nl) {
			/* Keep the start of the line for the next chunk. */
			fpd_buf_append(&l->partial, data, n);
			return FPD_OK;
		}
		int rc;
		if (l->partial.len) {
			fpd_buf_append(&l->partial, data, n);
			rc = deliver_line(l->partial.data, l->partial.len, fn, ud);
			fpd_buf_reset(&l->partial);
		} else {
			/* The common case: a whole line inside one chunk, no copy. */
			rc = deliver_line(data, n, fn, ud);
		}
		if (rc)
			return rc;
		data += n + 1;
		len -= n + 1;
	}
	return FPD_OK;
}

/* ---- list items ---- */

void fpd_kube_items_init(struct fpd_kube_items *it, size_t max_item, size_t max_rest)
{
	memset(it, 0, sizeof(*it));
	fpd_buf_init(&it->item, max_item);
	fpd_buf_init(&it->rest, max_rest);
}

void fpd_kube_items_free(struct fpd_kube_items *it)
{
	fpd_buf_free(&it->item);
	fpd_buf_free(&it->rest);
}

static int bad(struct fpd_error *err, const char *what)
{
	return fpd_error_set(err, FPD_EINVAL, "list response: %s", what);
}

/* Where a byte of the response goes. */
enum dest { TO_NOWHERE, TO_REST, TO_ITEM };

static int flush(struct fpd_kube_items *it, enum dest d, const char *from, const char *to,
                 struct fpd_error *err)
{
	if (d == TO_NOWHERE || to <= from)
		return FPD_OK;
	struct fpd_buf *b = d == TO_ITEM ? &it->item : &it->rest;
	if (fpd_buf_append(b, from, (size_t)(to - from)))
		return fpd_error_set(err, FPD_ERANGE, "list response: %s longer than %zu bytes",
		                     d == TO_ITEM ? "an item" : "the list metadata", b->max);
	return FPD_OK;
}

static bool space(char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/* Inside a string: tracks escapes and the end, and records a top-level key. */
static void string_byte(struct fpd_kube_items *it, char c)
{
	if (it->escape) {
		it->escape = false;
	} else if (c == '\\') {
		it->escape = true;
	} else if (c == '"') {
		it->in_string = false;
		it->in_key = false;
		return;
	}
	if (it->in_key) {
		if (it->key_len < sizeof(it->key))
			it->key[it->key_len] = c;
		it->key_len++;
	}
}

/* A byte of the document outside the items array. */
static int top_byte(struct fpd_kube_items *it, char c, struct fpd_error *err)
{
	switch (c) {
	case '"':
		it->in_string = true;
		if (it->depth == 1 && it->expect_key) {
			it->in_key = true;
			it->expect_key = false;
			it->key_len = 0;
		}
		return FPD_OK;
	case '{':
	case '[':
		if (it->depth == 0 && c != '{')
			return bad(err, "not a JSON object");
		it->depth++;
		if (it->depth == 1)
			it->expect_key = true;
		else if (it->depth == 2 && it->items_next && c == '[')
			it->items_depth = 2;
		return FPD_OK;
	case '}':
	case ']':
		if (it->depth == 0)
			return bad(err, "unbalanced brackets");
		it->depth--;
		if (it->depth == 1)
			it->items_next = false;
		else if (it->depth == 0)
			it->done = true;
		return FPD_OK;
	case ',':
		if (it->depth == 1) {
			it->expect_key = true;
			it->items_next = false;
		}
		return FPD_OK;
	case ':':
		if (it->depth == 1)
			it->items_next = it->key_len == 5 && memcmp(it->key, "items", 5) == 0;
		return FPD_OK;
	default:
		if (it->depth == 0 && !space(c))
			return bad(err, "not a JSON object");
		return FPD_OK;
	}
}

int fpd_kube_items_feed(struct fpd_kube_items *it, const char *data, size_t len,
                        fpd_kube_piece_fn fn, void *ud, struct fpd_error *err)
{
	const char *end = data + len;
	/* Bytes are copied in spans of the same destination, not one by one. */
	const char *span = data;
	enum dest span_to = TO_NOWHERE;
	int rc;
	for (const char *p = data; p < end; p++) {
		char c = *p;
		enum dest to;
		bool item_done = false;
		if (it->done) {
			if (!space(c))
				return bad(err, "text after the end of the document");
			to = TO_NOWHERE;
		} else if (it->items_depth && it->depth >= 3) {
			to = TO_ITEM;
			if (it->in_string) {
				string_byte(it, c);
			} else if (c == '"') {
				it->in_string = true;
			} else if (c == '{' || c == '[') {
				it->depth++;
			} else if (c == '}' || c == ']') {
				it->depth--;
				item_done = it->depth == 2;
			}
		} else if (it->items_depth && it->depth == 2) {
			/* Between items: only '{', ',', ']' and blanks may appear. */
			if (c == '{') {
				to = TO_ITEM;
				it->depth++;
			} else if (c == ',' || space(c)) {
				to = TO_NOWHERE;
			} else if (c == ']') {
				to = TO_REST;
				it->depth--;
				it->items_depth = 0;
				it->items_next = false;
			} else {
				return bad(err, "an item is not an object");
			}
		} else {
			to = TO_REST;
			if (it->in_string)
				string_byte(it, c);
			else if ((rc = top_byte(it, c, err)))
				return rc;
		}
		if (to != span_to) {
			if ((rc = flush(it, span_to, span, p, err)))
				return rc;
			span = p;
			span_to = to;
		}
		if (item_done) {
			if ((rc = flush(it, TO_ITEM, span, p + 1, err)))
				return rc;
			span = p + 1;
			span_to = TO_NOWHERE;
			it->count++;
			rc = fn(ud, it->item.data, it->item.len);
			fpd_buf_reset(&it->item);
			if (rc)
				return rc;
		}
	}
	return flush(it, span_to, span, end, err);
}

int fpd_kube_items_finish(struct fpd_kube_items *it, json_t **doc, struct fpd_error *err)
{
	*doc = NULL;
	if (!it->done)
		return bad(err, "truncated");
	json_error_t jerr;
	json_t *d = json_loadb(it->rest.data ? it->rest.data : "", it->rest.len, 0, &jerr);
	if (!json_is_object(d)) {
		json_decref(d);
		return fpd_error_set(err, FPD_EINVAL, "list response: %s", jerr.text);
	}
	*doc = d;
	return FPD_OK;
}
