/*
 * jq programs of declared task types (libjq): the safety scan, compilation, evaluation.
 *
 * libjq has no step or memory limit and cannot be interrupted, and the daemon runs every status
 * rule on its one event loop. So a program is accepted only if its cost is bounded by the size
 * of the document it reads, and that is decided from its text before jq compiles it:
 *   - at most FPD_CRD_JQ_MAX_LEN bytes;
 *   - every name it calls is in an allow-list of builtins that do a bounded amount of work per
 *     input value: no `def` (user functions are the only way to recurse), no `recurse`, `..`,
 *     `while`, `until`, `repeat`, `range`, `limit`-free generators, `reduce`, `foreach` (which
 *     can double a value per step), `walk`, `paths`, regular expressions (backtracking),
 *     `input`, `$ENV`, `env`, `now`, `halt`, `debug`, `error` sinks or module directives;
 *   - no `*` (string repetition by a number from the document);
 *   - at most FPD_CRD_JQ_MAX_ITER iteration points (`[]`, `map`, `any`, `to_entries`, ...): a
 *     program's cost is at most polynomial in the document's size with that degree;
 *   - at most FPD_CRD_JQ_MAX_GROW operations that can make a value larger than their input (`+`,
 *     `tojson`, `tostring`, `add`, `join`, `@formats`), so a result is at most 2^4 times the
 *     document.
 * The document is the engine's trimmed copy of the object, itself bounded by the kube client's
 * response limits. Only the first output of a program is ever taken: jq stops there.
 */
#include "crd/internal.h"

#include <flyteplugd/mem.h>
#include <flyteplugd/utf8.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <jq.h>
#include <stdlib.h>
#include <string.h>

struct fpd_crd_jq {
	jq_state *jq;
	char *text;
};

/* Builtins and keywords a program may use. Anything else named is refused. */
static const char *const allowed[] = {"and",
                                      "or",
                                      "not",
                                      "if",
                                      "then",
                                      "elif",
                                      "else",
                                      "end",
                                      "as",
                                      "try",
                                      "catch",
                                      "label",
                                      "break",
                                      "null",
                                      "true",
                                      "false",
                                      "empty",
                                      "error",
                                      "select",
                                      "length",
                                      "utf8length",
                                      "type",
                                      "has",
                                      "in",
                                      "contains",
                                      "inside",
                                      "startswith",
                                      "endswith",
                                      "ltrimstr",
                                      "rtrimstr",
                                      "tonumber",
                                      "ascii_downcase",
                                      "ascii_upcase",
                                      "first",
                                      "last",
                                      "nth",
                                      "flatten",
                                      "min",
                                      "max",
                                      "reverse",
                                      "sort",
                                      "unique",
                                      "keys_unsorted",
                                      "values",
                                      "nulls",
                                      "booleans",
                                      "numbers",
                                      "strings",
                                      "arrays",
                                      "objects",
                                      "iterables",
                                      "scalars",
                                      "floor",
                                      "sqrt",
                                      "fabs",
                                      "round",
                                      "ceil",
                                      "del",
                                      "getpath",
                                      "index",
                                      "rindex",
                                      "indices",
                                      "split",
                                      "fromjson",
                                      "isempty",
                                      "fromdateiso8601",
                                      "todateiso8601",
                                      "fromdate",
                                      "todate",
                                      "dateadd",
                                      "datesub",
                                      "tostring",
                                      "tojson",
                                      "add",
                                      "join",
                                      "map",
                                      "map_values",
                                      "any",
                                      "all",
                                      "to_entries",
                                      "from_entries",
                                      "with_entries",
                                      "keys",
                                      "sort_by",
                                      "group_by",
                                      "unique_by",
                                      "min_by",
                                      "max_by",
                                      "limit",
                                      "infinite",
                                      "nan",
                                      "isinfinite",
                                      "isnan",
                                      "isnormal",
                                      "ascii",
                                      "implode",
                                      "explode",
                                      "tostream",
                                      NULL};
/* Of those, the ones that iterate over their input. */
static const char *const iterating[] = {
    "map",    "map_values",    "any",     "all",      "to_entries", "from_entries", "with_entries",
    "keys",   "keys_unsorted", "sort_by", "group_by", "unique_by",  "min_by",       "max_by",
    "values", "flatten",       "indices", "index",    "rindex",     "tostream",     "contains",
    "inside", "unique",        "sort",    NULL};
/* And the ones whose output can be larger than their input. */
static const char *const growing[] = {"tojson",  "tostring", "add",     "join",
                                      "flatten", "tostream", "explode", NULL};
static const char *const formats[] = {"text", "json", "csv",    "tsv",     "html",
                                      "uri",  "sh",   "base64", "base64d", NULL};

static bool listed(const char *const *list, const char *s, size_t n)
{
	for (; *list; list++)
		if (strlen(*list) == n && memcmp(*list, s, n) == 0)
			return true;
	return false;
}

struct scan {
	const char *text, *p, *end;
	unsigned iter, grow;
	struct fpd_error *err;
	const char *where;
};

static int refuse(struct scan *s, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int refuse(struct scan *s, const char *at, const char *fmt, ...)
{
	char what[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return fpd_error_set(s->err, FPD_EINVAL, "%s: column %d: %s", s->where,
	                     (int)(at - s->text) + 1, what);
}

static int scan_code(struct scan *s, bool in_interp);

/* A string literal, from after its opening quote; interpolations \( ... ) are code. */
static int scan_string(struct scan *s)
{
	while (s->p < s->end) {
		char c = *s->p++;
		if (c == '"')
			return 0;
		if (c == '\\' && s->p < s->end) {
			if (*s->p == '(') {
				s->p++;
				int rc = scan_code(s, true);
				if (rc)
					return rc;
				continue;
			}
			s->p++;
		}
	}
	return refuse(s, s->end, "unterminated string");
}

/* Whether the parenthesised arguments starting at p hold a top-level `;`. */
static bool two_args(const char *p, const char *end)
{
	int depth = 0;
	bool str = false;
	for (; p < end; p++) {
		if (str) {
			if (*p == '\\')
				p++;
			else if (*p == '"')
				str = false;
		} else if (*p == '"') {
			str = true;
		} else if (*p == '(') {
			depth++;
		} else if (*p == ')') {
			if (--depth == 0)
				return false;
		} else if (*p == ';' && depth == 1) {
			return true;
		}
	}
	return false;
}

static int scan_name(struct scan *s, const char *start, char prev)
{
	while (s->p < s->end && (isalnum((unsigned char)*s->p) || *s->p == '_'))
		s->p++;
	int n = (int)(s->p - start);
	if (s->p + 1 < s->end && s->p[0] == ':' && s->p[1] == ':')
		return refuse(s, start, "module paths are refused: %.*s", n, start);
	if (prev == '.')
		return 0; /* a field: .status */
	if (prev == '$') {
		if ((n == 3 && memcmp(start, "ENV", 3) == 0) || (n > 2 && start[0] == '_'))
			return refuse(s, start, "$%.*s is refused", n, start);
		return 0;
	}
	if (prev == '@') {
		if (!listed(formats, start, (size_t)n))
			return refuse(s, start, "unknown format @%.*s", n, start);
		s->grow++;
		return 0;
	}
	/* `{name: ...}` object keys and `$__loc__` aside, a bare name is a call or a keyword. */
	const char *q = s->p;
	while (q < s->end && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r'))
		q++;
	if (q < s->end && *q == ':' && !(q + 1 < s->end && q[1] == ':'))
		return 0;
	if (n == 5 && memcmp(start, "split", 5) == 0 && q < s->end && *q == '(' &&
	    two_args(q, s->end))
		return refuse(s, start, "%.*s with two arguments is a regular expression: refused",
		              n, start);
	if (!listed(allowed, start, (size_t)n))
		return refuse(s, start,
		              "%.*s is not allowed in a status rule (see docs/task-types.md)", n,
		              start);
	if (listed(iterating, start, (size_t)n))
		s->iter++;
	if (listed(growing, start, (size_t)n))
		s->grow++;
	return 0;
}

static int scan_code(struct scan *s, bool in_interp)
{
	int depth = 0;
	char prev = 0;
	while (s->p < s->end) {
		const char *at = s->p;
		char c = *s->p++;
		if (c == '"') {
			int rc = scan_string(s);
			if (rc)
				return rc;
			prev = '"';
			continue;
		}
		if (c == '#') {
			while (s->p < s->end && *s->p != '\n')
				s->p++;
			continue;
		}
		if (isalpha((unsigned char)c) || c == '_') {
			int rc = scan_name(s, at, prev);
			if (rc)
				return rc;
			prev = 'a';
			continue;
		}
		if (c == '(') {
			depth++;
		} else if (c == ')') {
			if (in_interp && depth == 0)
				return 0;
			depth--;
		} else if (c == '.' && s->p < s->end && *s->p == '.') {
			return refuse(s, at, ".. (recurse) is not allowed");
		} else if (c == '*') {
			return refuse(s, at,
			              "* is not allowed (a string times a number repeats it)");
		} else if (c == '[') {
			const char *q = s->p;
			while (q < s->end && isspace((unsigned char)*q))
				q++;
			if (q < s->end && *q == ']')
				s->iter++;
		} else if (c == '+') {
			s->grow++;
		}
		if (!isspace((unsigned char)c))
			prev = c;
	}
	if (in_interp)
		return refuse(s, s->end, "unterminated interpolation");
	return 0;
}

int fpd_crd_jq_check(const char *text, const char *where, struct fpd_error *err)
{
	size_t n = strlen(text);
	if (n == 0)
		return fpd_error_set(err, FPD_EINVAL, "%s: empty program", where);
	if (n > FPD_CRD_JQ_MAX_LEN)
		return fpd_error_set(err, FPD_EINVAL, "%s: %zu bytes, at most %d", where, n,
		                     FPD_CRD_JQ_MAX_LEN);
	/* Also spares libjq 1.6 input its lexer leaks on (invalid UTF-8). */
	if (!fpd_utf8_valid(text, n))
		return fpd_error_set(err, FPD_EINVAL, "%s: not valid UTF-8", where);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)text[i] < 0x20 && !strchr("\t\n\r", text[i]))
			return fpd_error_set(err, FPD_EINVAL, "%s: column %zu: control character",
			                     where, i + 1);
	struct scan s = {.text = text, .p = text, .end = text + n, .err = err, .where = where};
	int rc = scan_code(&s, false);
	if (rc)
		return rc;
	if (s.iter > FPD_CRD_JQ_MAX_ITER)
		return fpd_error_set(err, FPD_EINVAL, "%s: %u iterations, at most %d", where,
		                     s.iter, FPD_CRD_JQ_MAX_ITER);
	if (s.grow > FPD_CRD_JQ_MAX_GROW)
		return fpd_error_set(err, FPD_EINVAL,
		                     "%s: %u operations that grow values (+, tojson, add, join, "
		                     "@formats...), at most %d",
		                     where, s.grow, FPD_CRD_JQ_MAX_GROW);
	return 0;
}

struct compile_msg {
	char text[256];
};

static void on_jq_error(void *data, jv msg)
{
	struct compile_msg *m = data;
	if (!m->text[0]) {
		jv s = jv_get_kind(msg) == JV_KIND_STRING ? jv_copy(msg)
		                                          : jv_dump_string(jv_copy(msg), 0);
		snprintf(m->text, sizeof(m->text), "%s", jv_string_value(s));
		jv_free(s);
	}
	jv_free(msg);
}

static void drop_jq_error(void *data, jv msg)
{
	(void)data;
	jv_free(msg);
}

int fpd_crd_jq_compile(const char *text, const char *where, struct fpd_crd_jq **out,
                       struct fpd_error *err)
{
	int rc = fpd_crd_jq_check(text, where, err);
	if (rc)
		return rc;
	struct compile_msg m = {{0}};
	jq_state *jq = jq_init();
	if (!jq)
		return fpd_error_set(err, FPD_ERR, "%s: jq_init failed", where);
	jq_set_error_cb(jq, on_jq_error, &m);
	if (!jq_compile(jq, text)) {
		jq_teardown(&jq);
		return fpd_error_set(err, FPD_EINVAL, "%s: %s", where,
		                     m.text[0] ? m.text : "jq cannot compile it");
	}
	/* Runtime errors are results (invalid values); anything jq would still report goes
	 * nowhere rather than to its default, stderr. */
	jq_set_error_cb(jq, drop_jq_error, NULL);
	struct fpd_crd_jq *q = fpd_calloc(1, sizeof(*q));
	q->jq = jq;
	q->text = fpd_strdup(text);
	*out = q;
	return 0;
}

void fpd_crd_jq_free(struct fpd_crd_jq *q)
{
	if (!q)
		return;
	jq_teardown(&q->jq);
	free(q->text);
	free(q);
}

const char *fpd_crd_jq_text(const struct fpd_crd_jq *q)
{
	return q->text;
}

jv fpd_crd_jv_from_json(const json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!s)
		return jv_null();
	jv r = jv_parse(s);
	free(s);
	return jv_is_valid(r) ? r : (jv_free(r), jv_null());
}

static json_t *json_from_jv(jv v)
{
	jv s = jv_dump_string(v, 0);
	json_t *r = json_loads(jv_string_value(s), JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	jv_free(s);
	return r;
}

int fpd_crd_jq_first(struct fpd_crd_jq *q, jv input, json_t **out, char *msg, size_t size)
{
	*out = NULL;
	jq_start(q->jq, input, 0);
	jv v = jq_next(q->jq);
	if (jv_is_valid(v)) {
		*out = json_from_jv(v);
		return 0;
	}
	if (!jv_invalid_has_msg(jv_copy(v))) {
		jv_free(v);
		return 0; /* no output */
	}
	jv m = jv_invalid_get_msg(v);
	jv t = jv_get_kind(m) == JV_KIND_STRING ? m : jv_dump_string(m, 0);
	snprintf(msg, size, "%s", jv_string_value(t));
	jv_free(t);
	return FPD_EINVAL;
}

bool fpd_crd_truthy(const json_t *v)
{
	return v && !json_is_null(v) && !json_is_false(v);
}
