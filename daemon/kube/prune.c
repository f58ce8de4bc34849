/* Pruned JSON parsing: see prune.h. */
#include "kube/prune.h"

#include <flyteplugd/mem.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SKIP_DEPTH 1024 /* deeper than any Kubernetes object; bounds pathological input */
#define MAX_KEY 256

/* The pointers form a trie: one node per reference token. */
struct node {
	char *token;
	bool whole; /* a pointer ends here: keep the value whole */
	struct node **kids;
	size_t nkids;
	long max_index; /* largest array index among kids, -1 when none is numeric */
};

struct fpd_kube_prune {
	struct node root;
};

struct fpd_kube_prune *fpd_kube_prune_new(void)
{
	struct fpd_kube_prune *p = fpd_calloc(1, sizeof(*p));
	p->root.max_index = -1;
	return p;
}

static void node_free(struct node *n)
{
	for (size_t i = 0; i < n->nkids; i++) {
		node_free(n->kids[i]);
		free(n->kids[i]);
	}
	free(n->kids);
	free(n->token);
}

void fpd_kube_prune_free(struct fpd_kube_prune *p)
{
	if (!p)
		return;
	node_free(&p->root);
	free(p);
}

static struct node *kid(const struct node *n, const char *token, size_t len)
{
	for (size_t i = 0; i < n->nkids; i++)
		if (strlen(n->kids[i]->token) == len && memcmp(n->kids[i]->token, token, len) == 0)
			return n->kids[i];
	return NULL;
}

/* A canonical array index ("0", "17"), or -1. */
static long index_of(const char *t)
{
	if (!*t || (t[0] == '0' && t[1]) || strlen(t) > 9)
		return -1;
	long v = 0;
	for (; *t; t++) {
		if (*t < '0' || *t > '9')
			return -1;
		v = v * 10 + (*t - '0');
	}
	return v;
}

int fpd_kube_prune_add(struct fpd_kube_prune *p, const char *ptr, struct fpd_error *err)
{
	struct node *n = &p->root;
	if (*ptr && *ptr != '/')
		return fpd_error_set(err, FPD_EINVAL, "JSON pointer \"%s\" must start with '/'",
		                     ptr);
	while (*ptr == '/') {
		ptr++;
		char token[MAX_KEY];
		size_t len = 0;
		while (*ptr && *ptr != '/') {
			char c = *ptr++;
			if (c == '~') {
				if (*ptr != '0' && *ptr != '1')
					return fpd_error_set(
					    err, FPD_EINVAL,
					    "JSON pointer: '~' must be followed by 0 or 1");
				c = *ptr++ == '0' ? '~' : '/';
			}
			if (len + 1 >= sizeof(token))
				return fpd_error_set(err, FPD_EINVAL,
				                     "JSON pointer token too long");
			token[len++] = c;
		}
		token[len] = '\0';
		struct node *k = kid(n, token, len);
		if (!k) {
			k = fpd_calloc(1, sizeof(*k));
			k->token = fpd_strdup(token);
			k->max_index = -1;
			n->kids = fpd_realloc(n->kids, (n->nkids + 1) * sizeof(*n->kids));
			n->kids[n->nkids++] = k;
			long idx = index_of(token);
			if (idx > n->max_index)
				n->max_index = idx;
		}
		n = k;
	}
	n->whole = true;
	return FPD_OK;
}

/* ---- walking ---- */

struct fpd_kube_prune_node {
	struct node n;
};

const struct fpd_kube_prune_node *fpd_kube_prune_root(const struct fpd_kube_prune *p)
{
	return (const struct fpd_kube_prune_node *)&p->root;
}

const struct fpd_kube_prune_node *fpd_kube_prune_child(const struct fpd_kube_prune_node *n,
                                                       const char *token, size_t len)
{
	return (const struct fpd_kube_prune_node *)kid(&n->n, token, len);
}

size_t fpd_kube_prune_nchildren(const struct fpd_kube_prune_node *n)
{
	return n->n.nkids;
}

const struct fpd_kube_prune_node *fpd_kube_prune_child_at(const struct fpd_kube_prune_node *n,
                                                          size_t i)
{
	return (const struct fpd_kube_prune_node *)n->n.kids[i];
}

const char *fpd_kube_prune_token(const struct fpd_kube_prune_node *n)
{
	return n->n.token ? n->n.token : "";
}

bool fpd_kube_prune_whole(const struct fpd_kube_prune_node *n)
{
	return n->n.whole;
}

long fpd_kube_prune_max_index(const struct fpd_kube_prune_node *n)
{
	return n->n.max_index;
}

/* ---- scanning ---- */

struct scan {
	const char *s, *end;
	const char *p;
	struct fpd_error *err;
};

static int bad(struct scan *sc, const char *what)
{
	return fpd_error_set(sc->err, FPD_EINVAL, "invalid JSON at byte %zu: %s",
	                     (size_t)(sc->p - sc->s), what);
}

static void blanks(struct scan *sc)
{
	while (sc->p < sc->end &&
	       (*sc->p == ' ' || *sc->p == '\n' || *sc->p == '\r' || *sc->p == '\t'))
		sc->p++;
}

/* The high bit of each of the eight bytes of x (in memory order) that is '"', a backslash or
 * below 0x20. Exact up to the first such byte; bytes after it may be marked falsely. */
static uint64_t word_special(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
	uint64_t quote = x ^ (ones * '"'), backslash = x ^ (ones * '\\');
	uint64_t below = (x - ones * 0x20) & ~x & high;
	uint64_t q = (quote - ones) & ~quote & high;
	uint64_t b = (backslash - ones) & ~backslash & high;
	return below | q | b;
}

/* Past a string whose opening quote is at sc->p: plain bytes eight at a time. */
static int skip_string(struct scan *sc)
{
	const unsigned char *p = (const unsigned char *)sc->p + 1;
	const unsigned char *end = (const unsigned char *)sc->end;
	for (;;) {
		while (end - p >= 8) {
			uint64_t x;
			memcpy(&x, p, sizeof(x));
			uint64_t special = word_special(x);
			if (special) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
				p += __builtin_ctzll(special) >> 3; /* straight to the first one */
#endif
				break;
			}
			p += 8;
		}
		if (p >= end)
			break;
		unsigned char c = *p;
		if (c == '"') {
			sc->p = (const char *)p + 1;
			return FPD_OK;
		}
		if (c == '\\') {
			if (end - p < 2)
				break;
			c = p[1];
			p++;
		}
		if (c < 0x20) {
			sc->p = (const char *)p;
			return bad(sc, "control character in a string");
		}
		p++;
	}
	sc->p = sc->end;
	return bad(sc, "unterminated string");
}

/* Past one value of any kind, checking only its structure: strings end, brackets match. */
static int skip_value(struct scan *sc)
{
	/* One bit per open bracket: 1 for '{', 0 for '['. */
	uint64_t kinds[MAX_SKIP_DEPTH / 64] = {0};
	int depth = 0;
	blanks(sc);
	do {
		if (sc->p >= sc->end)
			return bad(sc, "unexpected end");
		char c = *sc->p;
		if (c == '"') {
			int rc = skip_string(sc);
			if (rc)
				return rc;
		} else if (c == '{' || c == '[') {
			if (depth == MAX_SKIP_DEPTH)
				return bad(sc, "nested too deeply");
			uint64_t bit = 1ull << (depth % 64);
			kinds[depth / 64] =
			    c == '{' ? kinds[depth / 64] | bit : kinds[depth / 64] & ~bit;
			depth++;
			sc->p++;
		} else if (c == '}' || c == ']') {
			if (depth == 0)
				return bad(sc, "unexpected bracket");
			depth--;
			bool brace = (kinds[depth / 64] >> (depth % 64)) & 1;
			if (brace != (c == '}'))
				return bad(sc, "mismatched bracket");
			sc->p++;
		} else if (c == ',' || c == ':' || c == ' ' || c == '\n' || c == '\r' ||
		           c == '\t') {
			if (depth == 0)
				return bad(sc, "unexpected character");
			sc->p++;
		} else {
			/* a number or a literal: up to the next delimiter */
			const char *start = sc->p;
			while (sc->p < sc->end && !strchr(",:]} \n\r\t\"{[", *sc->p))
				sc->p++;
			if (sc->p == start)
				return bad(sc, "unexpected character");
		}
	} while (depth > 0);
	return FPD_OK;
}

/* A scalar without escapes or odd spellings, built directly: most kept values are such
 * strings and small integers, and jansson's parser costs microseconds per call. NULL for
 * anything else (and for invalid UTF-8), which jansson then parses, or refuses with its error. */
static json_t *plain_scalar(const char *s, size_t n)
{
	if (n >= 2 && s[0] == '"')
		return memchr(s, '\\', n) ? NULL : json_stringn(s + 1, n - 2);
	if (n == 4 && memcmp(s, "true", 4) == 0)
		return json_true();
	if (n == 5 && memcmp(s, "false", 5) == 0)
		return json_false();
	if (n == 4 && memcmp(s, "null", 4) == 0)
		return json_null();
	size_t i = s[0] == '-';
	size_t digits = n - i;
	if (digits == 0 || digits > 18 || (s[i] == '0' && digits > 1))
		return NULL;
	json_int_t v = 0;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return NULL;
		v = v * 10 + (s[i] - '0');
	}
	return json_integer(s[0] == '-' ? -v : v);
}

/* A whole value parsed by jansson (or built directly when it is a plain scalar). */
static int whole(struct scan *sc, json_t **out)
{
	blanks(sc);
	const char *start = sc->p;
	int rc = skip_value(sc);
	if (rc)
		return rc;
	if (*start != '{' && *start != '[' && (*out = plain_scalar(start, (size_t)(sc->p - start))))
		return FPD_OK;
	json_error_t jerr;
	*out = json_loadb(start, (size_t)(sc->p - start), JSON_DECODE_ANY, &jerr);
	if (!*out) {
		sc->p = start + jerr.position;
		return bad(sc, jerr.text);
	}
	return FPD_OK;
}

/* A key: its text (unescaped when it has escapes) into buf, NUL-terminated. */
static int read_key(struct scan *sc, char *buf, size_t size, size_t *len)
{
	if (sc->p >= sc->end || *sc->p != '"')
		return bad(sc, "expected a key");
	const char *start = sc->p;
	int rc = skip_string(sc);
	if (rc)
		return rc;
	size_t n = (size_t)(sc->p - start) - 2;
	if (!memchr(start + 1, '\\', n)) {
		if (n >= size) {
			*len = SIZE_MAX; /* too long to be a kept token */
			return FPD_OK;
		}
		memcpy(buf, start + 1, n);
		buf[n] = '\0';
		*len = n;
		return FPD_OK;
	}
	json_t *k = json_loadb(start, (size_t)(sc->p - start), JSON_DECODE_ANY, NULL);
	const char *t = json_string_value(k);
	size_t tn = t ? json_string_length(k) : 0;
	if (!t || tn >= size) {
		*len = SIZE_MAX;
	} else {
		memcpy(buf, t, tn + 1);
		*len = tn;
	}
	json_decref(k);
	return t ? FPD_OK : bad(sc, "invalid key");
}

static int expect(struct scan *sc, char c, const char *what)
{
	blanks(sc);
	if (sc->p >= sc->end || *sc->p != c)
		return bad(sc, what);
	sc->p++;
	return FPD_OK;
}

static int pruned(struct scan *sc, const struct node *n, json_t **out);

static int pruned_object(struct scan *sc, const struct node *n, json_t **out)
{
	json_t *obj = json_object();
	*out = obj;
	sc->p++; /* '{' */
	blanks(sc);
	if (sc->p < sc->end && *sc->p == '}') {
		sc->p++;
		return FPD_OK;
	}
	for (;;) {
		char key[MAX_KEY];
		size_t len;
		int rc;
		blanks(sc);
		if ((rc = read_key(sc, key, sizeof(key), &len)) ||
		    (rc = expect(sc, ':', "expected ':'")))
			return rc;
		const struct node *k = len == SIZE_MAX ? NULL : kid(n, key, len);
		if (k) {
			json_t *v = NULL;
			if ((rc = pruned(sc, k, &v)))
				return rc;
			if (v)
				json_object_set_new_nocheck(obj, key, v);
			else /* a repeated key: the last one counts, as for jansson */
				json_object_del(obj, key);
		} else if ((rc = skip_value(sc))) {
			return rc;
		}
		blanks(sc);
		if (sc->p < sc->end && *sc->p == ',') {
			sc->p++;
			continue;
		}
		return expect(sc, '}', "expected ',' or '}'");
	}
}

static int pruned_array(struct scan *sc, const struct node *n, json_t **out)
{
	json_t *arr = json_array();
	*out = arr;
	sc->p++; /* '[' */
	blanks(sc);
	if (sc->p < sc->end && *sc->p == ']') {
		sc->p++;
		return FPD_OK;
	}
	const struct node *every = kid(n, "*", 1);
	for (long i = 0;; i++) {
		int rc;
		const struct node *k = every;
		if (!k && i <= n->max_index) {
			char token[24];
			snprintf(token, sizeof(token), "%ld", i);
			k = kid(n, token, strlen(token));
		}
		if (k) {
			json_t *v = NULL;
			if ((rc = pruned(sc, k, &v)))
				return rc;
			json_array_append_new(arr, v ? v : json_null());
		} else {
			if ((rc = skip_value(sc)))
				return rc;
			/* Keep positions up to the last kept index. */
			if (i < n->max_index)
				json_array_append_new(arr, json_null());
		}
		blanks(sc);
		if (sc->p < sc->end && *sc->p == ',') {
			sc->p++;
			blanks(sc);
			continue;
		}
		return expect(sc, ']', "expected ',' or ']'");
	}
}

/* The value at sc->p for trie node n: whole, pruned, or (a scalar where the pointers go deeper)
 * skipped with *out left NULL. */
static int pruned(struct scan *sc, const struct node *n, json_t **out)
{
	*out = NULL;
	if (n->whole)
		return whole(sc, out);
	blanks(sc);
	if (sc->p >= sc->end)
		return bad(sc, "unexpected end");
	int rc;
	if (*sc->p == '{')
		rc = pruned_object(sc, n, out);
	else if (*sc->p == '[')
		rc = pruned_array(sc, n, out);
	else
		return skip_value(sc);
	if (rc) {
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}

int fpd_kube_prune_parse(const struct fpd_kube_prune *p, const char *text, size_t len, json_t **out,
                         struct fpd_error *err)
{
	struct scan sc = {text, text + len, text, err};
	*out = NULL;
	int rc = pruned(&sc, &p->root, out);
	if (!rc) {
		blanks(&sc);
		if (sc.p != sc.end)
			rc = bad(&sc, "text after the value");
	}
	if (!rc && !*out)
		rc = bad(&sc, "expected an object or an array");
	if (rc) {
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}
