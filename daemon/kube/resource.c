/* Resource paths, queries and selector checks: see resource.h. */
#include "kube/resource.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

int fpd_kube_gvr_set(struct fpd_kube_gvr *g, const char *group, const char *version,
                     const char *resource, bool namespaced, struct fpd_error *err)
{
	memset(g, 0, sizeof(*g));
	if (!group)
		group = "";
	if (!version || !*version || !resource || !*resource)
		return fpd_error_set(err, FPD_EINVAL, "resource needs a version and a plural name");
	if (strlen(group) >= sizeof(g->group) || strlen(version) >= sizeof(g->version) ||
	    strlen(resource) >= sizeof(g->resource))
		return fpd_error_set(err, FPD_EINVAL, "resource name too long: %s/%s %s", group,
		                     version, resource);
	snprintf(g->group, sizeof(g->group), "%s", group);
	snprintf(g->version, sizeof(g->version), "%s", version);
	snprintf(g->resource, sizeof(g->resource), "%s", resource);
	g->namespaced = namespaced;
	return FPD_OK;
}

static bool unreserved(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

int fpd_kube_escape(struct fpd_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		int rc;
		if (unreserved(*p)) {
			rc = fpd_buf_append_byte(b, *p);
		} else {
			char enc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
			rc = fpd_buf_append(b, enc, 3);
		}
		if (rc)
			return rc;
	}
	return FPD_OK;
}

static int segment(struct fpd_buf *b, const char *s)
{
	int rc = fpd_buf_append_byte(b, '/');
	return rc ? rc : fpd_kube_escape(b, s);
}

static bool empty(const char *s)
{
	return !s || !*s;
}

int fpd_kube_path(struct fpd_buf *b, const struct fpd_kube_ref *ref, struct fpd_error *err)
{
	const struct fpd_kube_gvr *g = ref->gvr;
	if (!g || !g->version[0] || !g->resource[0])
		return fpd_error_set(err, FPD_EINVAL, "no resource given");
	if (g->namespaced && !empty(ref->name) && empty(ref->namespace_))
		return fpd_error_set(err, FPD_EINVAL, "%s %s needs a namespace", g->resource,
		                     ref->name);
	if (!empty(ref->subresource) && empty(ref->name))
		return fpd_error_set(err, FPD_EINVAL, "subresource %s needs an object name",
		                     ref->subresource);
	if (!empty(ref->name) && (strcmp(ref->name, ".") == 0 || strcmp(ref->name, "..") == 0))
		return fpd_error_set(err, FPD_EINVAL, "invalid object name %s", ref->name);
	int rc = g->group[0] ? fpd_buf_append_str(b, "/apis") : fpd_buf_append_str(b, "/api");
	if (!rc && g->group[0])
		rc = segment(b, g->group);
	if (!rc)
		rc = segment(b, g->version);
	if (!rc && g->namespaced && !empty(ref->namespace_)) {
		rc = fpd_buf_append_str(b, "/namespaces");
		if (!rc)
			rc = segment(b, ref->namespace_);
	}
	if (!rc)
		rc = segment(b, g->resource);
	if (!rc && !empty(ref->name))
		rc = segment(b, ref->name);
	if (!rc && !empty(ref->subresource))
		rc = segment(b, ref->subresource);
	if (rc)
		return fpd_error_set(err, rc, "request path too long");
	return FPD_OK;
}

int fpd_kube_query(struct fpd_buf *b, const char *key, const char *value)
{
	if (empty(value))
		return FPD_OK;
	bool has_query = b->data && memchr(b->data, '?', b->len);
	int rc = fpd_buf_append_byte(b, has_query ? '&' : '?');
	if (!rc)
		rc = fpd_kube_escape(b, key);
	if (!rc)
		rc = fpd_buf_append_byte(b, '=');
	if (!rc)
		rc = fpd_kube_escape(b, value);
	return rc;
}

/* ---- label selectors (k8s.io/apimachinery/pkg/labels/selector.go grammar) ---- */

static bool name_char(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '_' || c == '.';
}

/* A qualified name part: 1..63 of [A-Za-z0-9._-], alphanumeric at both ends. */
static bool qualified_name_ok(const char *s, size_t n)
{
	if (n == 0 || n > 63 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!name_char((unsigned char)s[i]))
			return false;
	return true;
}

/* A DNS-1123 subdomain: lowercase labels separated by dots, at most 253 characters. */
static bool dns_subdomain_ok(const char *s, size_t n)
{
	if (n == 0 || n > 253)
		return false;
	size_t label = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!(islower(c) || isdigit(c) || c == '-') || (label == 0 && c == '-'))
			return false;
		label++;
	}
	return label > 0 && s[n - 1] != '-';
}

static bool key_ok(const char *k, size_t n)
{
	const char *slash = memchr(k, '/', n);
	if (!slash)
		return qualified_name_ok(k, n);
	size_t p = (size_t)(slash - k);
	return dns_subdomain_ok(k, p) && qualified_name_ok(slash + 1, n - p - 1);
}

static bool value_ok(const char *v, size_t n)
{
	return n == 0 || qualified_name_ok(v, n);
}

bool fpd_kube_label_value_ok(const char *v)
{
	return v && value_ok(v, strlen(v));
}

bool fpd_kube_label_key_ok(const char *k)
{
	return k && key_ok(k, strlen(k));
}

struct lexer {
	const char *s;
	size_t pos;
};

static void skip_space(struct lexer *lx)
{
	while (lx->s[lx->pos] == ' ' || lx->s[lx->pos] == '\t')
		lx->pos++;
}

/* A run of characters that can make up a key or value (stops at operators, ',', '(', ')'). */
static size_t word(struct lexer *lx, const char **start)
{
	skip_space(lx);
	*start = lx->s + lx->pos;
	size_t n = 0;
	for (;;) {
		unsigned char c = (unsigned char)lx->s[lx->pos];
		if (!c || c == ' ' || c == '\t' || c == ',' || c == '=' || c == '!' || c == '(' ||
		    c == ')' || c == '<' || c == '>')
			break;
		lx->pos++;
		n++;
	}
	return n;
}

static int sel_error(struct fpd_error *err, const struct lexer *lx, const char *what)
{
	return fpd_error_set(err, FPD_EINVAL, "label selector \"%s\": %s at column %zu", lx->s,
	                     what, lx->pos + 1);
}

static bool is_keyword(const char *w, size_t n, const char *kw)
{
	return n == strlen(kw) && strncmp(w, kw, n) == 0;
}

/* "(v1, v2, ...)" after in/notin. */
static int value_set(struct lexer *lx, struct fpd_error *err)
{
	skip_space(lx);
	if (lx->s[lx->pos] != '(')
		return sel_error(err, lx, "expected '(' after in/notin");
	lx->pos++;
	for (;;) {
		const char *v;
		size_t n = word(lx, &v);
		if (!value_ok(v, n))
			return sel_error(err, lx, "invalid label value");
		skip_space(lx);
		char c = lx->s[lx->pos];
		if (c == ')') {
			lx->pos++;
			return FPD_OK;
		}
		if (c != ',')
			return sel_error(err, lx, "expected ',' or ')' in value set");
		lx->pos++;
	}
}

static int requirement(struct lexer *lx, struct fpd_error *err)
{
	skip_space(lx);
	bool negated = false;
	if (lx->s[lx->pos] == '!') {
		negated = true;
		lx->pos++;
	}
	const char *k;
	size_t kn = word(lx, &k);
	if (kn == 0)
		return sel_error(err, lx, "expected a label key");
	if (!key_ok(k, kn))
		return sel_error(err, lx, "invalid label key");
	skip_space(lx);
	char c = lx->s[lx->pos];
	if (negated || c == ',' || c == '\0')
		return (negated && c != ',' && c != '\0') ? sel_error(err, lx, "unexpected text")
		                                          : FPD_OK;
	if (c == '=' || c == '!') {
		lx->pos++;
		if (c == '!' && lx->s[lx->pos] != '=')
			return sel_error(err, lx, "expected '!='");
		if (lx->s[lx->pos] == '=')
			lx->pos++;
		const char *v;
		size_t vn = word(lx, &v);
		return value_ok(v, vn) ? FPD_OK : sel_error(err, lx, "invalid label value");
	}
	if (c == '<' || c == '>') {
		lx->pos++;
		const char *v;
		size_t vn = word(lx, &v);
		bool digits = vn > 0;
		for (size_t i = 0; i < vn; i++)
			digits =
			    digits && (isdigit((unsigned char)v[i]) || (i == 0 && v[i] == '-'));
		return digits ? FPD_OK : sel_error(err, lx, "expected an integer after < or >");
	}
	const char *op;
	size_t on = word(lx, &op);
	if (is_keyword(op, on, "in") || is_keyword(op, on, "notin"))
		return value_set(lx, err);
	return sel_error(err, lx, "expected an operator (=, ==, !=, in, notin)");
}

int fpd_kube_label_selector_check(const char *sel, struct fpd_error *err)
{
	if (empty(sel))
		return FPD_OK;
	struct lexer lx = {sel, 0};
	for (;;) {
		int rc = requirement(&lx, err);
		if (rc)
			return rc;
		skip_space(&lx);
		if (lx.s[lx.pos] == '\0')
			return FPD_OK;
		if (lx.s[lx.pos] != ',')
			return sel_error(err, &lx, "expected ','");
		lx.pos++;
	}
}

int fpd_kube_field_selector_check(const char *sel, struct fpd_error *err)
{
	if (empty(sel))
		return FPD_OK;
	const char *p = sel;
	while (*p) {
		const char *term = p;
		/* key: up to an unescaped operator */
		size_t kn = 0;
		while (p[kn] && p[kn] != '=' && p[kn] != '!' && p[kn] != ',')
			kn++;
		if (kn == 0 || (p[kn] != '=' && p[kn] != '!'))
			return fpd_error_set(
			    err, FPD_EINVAL,
			    "field selector \"%s\": expected key=value at column %zu", sel,
			    (size_t)(term - sel) + 1);
		p += kn;
		if (*p == '!') {
			if (p[1] != '=')
				return fpd_error_set(
				    err, FPD_EINVAL,
				    "field selector \"%s\": expected '!=' at column %zu", sel,
				    (size_t)(p - sel) + 1);
			p += 2;
		} else {
			p += p[1] == '=' ? 2 : 1;
		}
		while (*p && *p != ',') {
			if (*p == '\\') {
				if (!p[1] || !strchr("\\,=!", p[1]))
					return fpd_error_set(
					    err, FPD_EINVAL,
					    "field selector \"%s\": invalid escape at "
					    "column %zu",
					    sel, (size_t)(p - sel) + 1);
				p += 2;
				continue;
			}
			if (*p == '=' || *p == '!')
				return fpd_error_set(
				    err, FPD_EINVAL,
				    "field selector \"%s\": unescaped '%c' in value at "
				    "column %zu",
				    sel, *p, (size_t)(p - sel) + 1);
			p++;
		}
		if (*p == ',') {
			p++;
			if (!*p)
				return fpd_error_set(err, FPD_EINVAL,
				                     "field selector \"%s\": trailing ','", sel);
		}
	}
	return FPD_OK;
}
