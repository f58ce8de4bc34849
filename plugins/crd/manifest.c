/*
 * Manifest templates of declared task types.
 *
 * A manifest is YAML (libyaml) whose scalars may hold placeholders `{{ .path }}`. It is parsed
 * once, at registration, into a tree of JSON. `{{` would start a YAML flow mapping, so each
 * placeholder is first checked (a known variable; errors give its line and column) and
 * replaced in the text by a token that reads as a plain scalar (`__fpd_var_<n>__`). Then plain
 * scalars are typed by YAML 1.2's core schema, quoted ones are strings, and a plain scalar that
 * is exactly one placeholder becomes a marker object {"\u0001": ".path"} so that rendering puts
 * the variable's own JSON value there (an integer stays an integer, an object or a list is
 * inserted whole). Placeholders inside a longer scalar are replaced by the value's text.
 * Mapping keys are never templated. Aliases are expanded but the node count and depth are
 * bounded, so an alias bomb is refused.
 */
#include "crd/internal.h"

#include <flyteplugd/buf.h>
#include <flyteplugd/mem.h>
#include <flyteplugd/object.h>
#include <flyteplugd/pod.h>
#include <flyteplugd/settings.h>
#include <flyteplugd/structpb.h>

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#define MARKER "\001"
#define TOKEN "__fpd_var_"
#define MAX_PLACEHOLDERS 1024
#define MAX_PATH 256
#define MAX_RENDERED (1024 * 1024)

/* Single-name variables: Flyte's (as the Pod plugin spells them, case-insensitive) and the
 * task's. */
static const char *const flat_vars[] = {"input",
                                        "inputprefix",
                                        "outputprefix",
                                        "rawoutputdataprefix",
                                        "checkpointoutputprefix",
                                        "prevcheckpointprefix",
                                        "tasktemplatepath",
                                        "namespace",
                                        "serviceaccount",
                                        "retryattempt",
                                        "interruptible",
                                        "labels",
                                        "annotations",
                                        "perretryuniquekey",
                                        NULL};
static const char *const container_fields[] = {"image", "command",   "args",
                                               "env",   "resources", NULL};
static const char *const execution_fields[] = {"project", "domain", "name", NULL};
static const char *const task_fields[] = {"project", "domain", "name", "version", NULL};

static bool in_list(const char *const *l, const char *s, size_t n, bool fold)
{
	for (; *l; l++)
		if (strlen(*l) == n && (fold ? strncasecmp(*l, s, n) : strncmp(*l, s, n)) == 0)
			return true;
	return false;
}

/* The path's segments: ".a.b" -> "a", "b". Returns the count, 0 if malformed. */
static size_t split_path(const char *path, const char *seg[8], size_t len[8])
{
	size_t n = 0;
	const char *p = path;
	if (*p != '.')
		return 0;
	while (*p == '.') {
		p++;
		const char *s = p;
		while (isalnum((unsigned char)*p) || *p == '_' || *p == '-')
			p++;
		if (p == s || n == 8)
			return 0;
		seg[n] = s;
		len[n++] = (size_t)(p - s);
	}
	return *p ? 0 : n;
}

bool fpd_crd_var_known(const char *path)
{
	const char *seg[8];
	size_t len[8];
	size_t n = split_path(path, seg, len);
	if (n == 0)
		return false;
	if (n == 1)
		return in_list(flat_vars, seg[0], len[0], true) ||
		       (len[0] == 6 && !strncmp(seg[0], "custom", 6)) ||
		       (len[0] == 6 && !strncmp(seg[0], "inputs", 6));
	if (!strncmp(seg[0], "custom", len[0]) && len[0] == 6)
		return true;
	if (n == 2 && len[0] == 6 && !strncmp(seg[0], "inputs", 6))
		return true;
	if (n == 2 && len[0] == 6 && !strncmp(seg[0], "config", 6))
		return true;
	if (n == 2 && len[0] == 9 && !strncmp(seg[0], "container", 9))
		return in_list(container_fields, seg[1], len[1], false);
	if (n == 2 && len[0] == 9 && !strncmp(seg[0], "execution", 9))
		return in_list(execution_fields, seg[1], len[1], false);
	if (n == 2 && len[0] == 4 && !strncmp(seg[0], "task", 4))
		return in_list(task_fields, seg[1], len[1], false);
	return false;
}

/* ---- parsing ------------------------------------------------------------------------------ */

struct parse {
	yaml_document_t doc;
	size_t nodes;
	char **paths; /* placeholder n's path */
	size_t npaths;
	const char *where;
	struct fpd_error *err;
};

static int at(struct parse *p, const yaml_node_t *n, const char *fmt, const char *what)
{
	return fpd_error_set(p->err, FPD_EINVAL, "%s: line %zu column %zu: %s%s", p->where,
	                     n->start_mark.line + 1, n->start_mark.column + 1, fmt, what);
}

/* Finds the next placeholder in s: [*open, *close) spans "{{ ... }}"; path copied out. */
static int next_placeholder(const char *s, const char **open, const char **close, char *path,
                            size_t size)
{
	const char *o = strstr(s, "{{");
	if (!o)
		return 0;
	const char *c = strstr(o + 2, "}}");
	if (!c)
		return -1;
	const char *a = o + 2, *b = c;
	while (a < b && isspace((unsigned char)*a))
		a++;
	while (b > a && isspace((unsigned char)b[-1]))
		b--;
	if ((size_t)(b - a) >= size)
		return -1;
	memcpy(path, a, (size_t)(b - a));
	path[b - a] = '\0';
	*open = o;
	*close = c + 2;
	return 1;
}

/* The placeholder whose token starts at s, or -1. *len gets the token's length. */
static long token_at(const struct parse *p, const char *s, size_t *len)
{
	if (strncmp(s, TOKEN, strlen(TOKEN)))
		return -1;
	char *end;
	long n = strtol(s + strlen(TOKEN), &end, 10);
	if (end == s + strlen(TOKEN) || strncmp(end, "__", 2) || n < 0 || (size_t)n >= p->npaths)
		return -1;
	*len = (size_t)(end + 2 - s);
	return n;
}

/* A scalar holding tokens, with each put back as "{{ path }}" (new). */
static char *untokenize(const struct parse *p, const char *s)
{
	struct fpd_buf b;
	fpd_buf_init(&b, FPD_CRD_MANIFEST_MAX_BYTES * 2);
	while (*s) {
		size_t len;
		long n = token_at(p, s, &len);
		if (n >= 0) {
			fpd_buf_printf(&b, "{{ %s }}", p->paths[n]);
			s += len;
		} else {
			fpd_buf_append_byte(&b, (unsigned char)*s++);
		}
	}
	size_t n;
	char *r = fpd_buf_steal(&b, &n);
	fpd_buf_free(&b);
	return r ? r : fpd_strdup("");
}

/* Replaces every placeholder of text by a token: a new string in *out, paths in p. */
static int tokenize(struct parse *p, const char *text, char **out)
{
	struct fpd_buf b;
	fpd_buf_init(&b, FPD_CRD_MANIFEST_MAX_BYTES * 2);
	const char *s = text, *o, *c;
	char path[MAX_PATH];
	int r;
	if (strstr(text, TOKEN)) {
		fpd_buf_free(&b);
		return fpd_error_set(p->err, FPD_EINVAL, "%s: %s is reserved", p->where, TOKEN);
	}
	while ((r = next_placeholder(s, &o, &c, path, sizeof(path))) != 0) {
		size_t line = 1, col = 1;
		for (const char *q = text; q < (r > 0 ? o : s); q++, col++)
			if (*q == '\n')
				line++, col = 0;
		if (r < 0 || !fpd_crd_var_known(path) || p->npaths == MAX_PLACEHOLDERS) {
			fpd_buf_free(&b);
			return fpd_error_set(p->err, FPD_EINVAL, "%s: line %zu column %zu: %s%s%s",
			                     p->where, line, col,
			                     r < 0 ? "unterminated or overlong placeholder"
			                     : p->npaths == MAX_PLACEHOLDERS
			                         ? "too many placeholders"
			                         : "unknown variable {{ ",
			                     r < 0 || p->npaths == MAX_PLACEHOLDERS ? "" : path,
			                     r < 0 || p->npaths == MAX_PLACEHOLDERS ? "" : " }}");
		}
		p->paths = fpd_realloc(p->paths, (p->npaths + 1) * sizeof(*p->paths));
		p->paths[p->npaths] = fpd_strdup(path);
		fpd_buf_append(&b, s, (size_t)(o - s));
		fpd_buf_printf(&b, TOKEN "%zu__", p->npaths++);
		s = c;
	}
	fpd_buf_append_str(&b, s);
	size_t n;
	*out = fpd_buf_steal(&b, &n);
	fpd_buf_free(&b);
	if (!*out)
		*out = fpd_strdup("");
	return 0;
}

/* A plain scalar by YAML 1.2's core schema. */
static json_t *plain_scalar(const char *s)
{
	if (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	    !strcmp(s, "NULL"))
		return json_null();
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
		return json_true();
	if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
		return json_false();
	const char *d = s + (*s == '-' || *s == '+');
	if (*d && strspn(d, "0123456789") == strlen(d)) {
		errno = 0;
		long long v = strtoll(s, NULL, 10);
		if (!errno)
			return json_integer(v);
	}
	if (*d && (isdigit((unsigned char)*d) || (*d == '.' && isdigit((unsigned char)d[1])))) {
		char *end;
		errno = 0;
		double v = strtod(s, &end);
		if (!*end && !errno && isfinite(v) && !strpbrk(s, "xXnN"))
			return json_real(v);
	}
	return json_string(s);
}

static int convert(struct parse *p, yaml_node_t *n, int depth, json_t **out)
{
	if (++p->nodes > FPD_CRD_MANIFEST_MAX_NODES || depth > FPD_CRD_MANIFEST_MAX_DEPTH)
		return at(p, n, "manifest too large or too deep (aliases count as copies)", "");
	switch (n->type) {
	case YAML_SCALAR_NODE: {
		const char *s = (const char *)n->data.scalar.value;
		if (strlen(s) != n->data.scalar.length)
			return at(p, n, "NUL in scalar", "");
		bool plain = n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		size_t len;
		long tok = token_at(p, s, &len);
		if (plain && tok >= 0 && !s[len]) {
			*out = json_pack("{ss}", MARKER, p->paths[tok]);
			return 0;
		}
		if (strstr(s, TOKEN)) {
			char *text = untokenize(p, s);
			*out = json_string(text);
			free(text);
		} else {
			*out = plain ? plain_scalar(s) : json_string(s);
		}
		return *out ? 0 : at(p, n, "scalar is not UTF-8", "");
	}
	case YAML_SEQUENCE_NODE: {
		json_t *a = json_array();
		for (yaml_node_item_t *i = n->data.sequence.items.start;
		     i < n->data.sequence.items.top; i++) {
			json_t *v;
			int rc = convert(p, yaml_document_get_node(&p->doc, *i), depth + 1, &v);
			if (rc) {
				json_decref(a);
				return rc;
			}
			json_array_append_new(a, v);
		}
		*out = a;
		return 0;
	}
	case YAML_MAPPING_NODE: {
		json_t *o = json_object();
		for (yaml_node_pair_t *i = n->data.mapping.pairs.start;
		     i < n->data.mapping.pairs.top; i++) {
			yaml_node_t *k = yaml_document_get_node(&p->doc, i->key);
			if (k->type != YAML_SCALAR_NODE ||
			    strstr((char *)k->data.scalar.value, TOKEN) ||
			    !strcmp((char *)k->data.scalar.value, MARKER)) {
				json_decref(o);
				return at(p, k, "a key must be a plain string without placeholders",
				          "");
			}
			json_t *v;
			int rc =
			    convert(p, yaml_document_get_node(&p->doc, i->value), depth + 1, &v);
			if (rc) {
				json_decref(o);
				return rc;
			}
			json_object_set_new(o, (char *)k->data.scalar.value, v);
		}
		*out = o;
		return 0;
	}
	default: return at(p, n, "empty node", "");
	}
}

static void free_paths(struct parse *p)
{
	for (size_t i = 0; i < p->npaths; i++)
		free(p->paths[i]);
	free(p->paths);
}

int fpd_crd_manifest_parse(const char *text, const char *where, json_t **out, struct fpd_error *err)
{
	size_t len = strlen(text);
	if (len > FPD_CRD_MANIFEST_MAX_BYTES)
		return fpd_error_set(err, FPD_EINVAL, "%s: %zu bytes, at most %d", where, len,
		                     FPD_CRD_MANIFEST_MAX_BYTES);
	struct parse p = {.where = where, .err = err};
	char *tokenized = NULL;
	int rc = tokenize(&p, text, &tokenized);
	if (rc) {
		free_paths(&p);
		return rc;
	}
	yaml_parser_t yp;
	yaml_parser_initialize(&yp);
	yaml_parser_set_input_string(&yp, (const unsigned char *)tokenized, strlen(tokenized));
	if (!yaml_parser_load(&yp, &p.doc)) {
		rc = fpd_error_set(err, FPD_EINVAL, "%s: line %zu column %zu: %s", where,
		                   yp.problem_mark.line + 1, yp.problem_mark.column + 1,
		                   yp.problem ? yp.problem : "YAML error");
		yaml_parser_delete(&yp);
		free(tokenized);
		free_paths(&p);
		return rc;
	}
	yaml_node_t *root = yaml_document_get_root_node(&p.doc);
	json_t *tree = NULL;
	if (!root)
		rc = fpd_error_set(err, FPD_EINVAL, "%s: empty manifest", where);
	else if (root->type != YAML_MAPPING_NODE)
		rc = at(&p, root, "the manifest must be a mapping", "");
	else
		rc = convert(&p, root, 0, &tree);
	/* A second document is a mistake, not something to ignore. */
	yaml_document_t extra;
	if (!rc && yaml_parser_load(&yp, &extra)) {
		if (yaml_document_get_root_node(&extra))
			rc =
			    fpd_error_set(err, FPD_EINVAL, "%s: one YAML document expected", where);
		yaml_document_delete(&extra);
	}
	yaml_document_delete(&p.doc);
	yaml_parser_delete(&yp);
	free(tokenized);
	free_paths(&p);
	if (!rc && (json_object_get(tree, "apiVersion") || json_object_get(tree, "kind")))
		rc = fpd_error_set(
		    err, FPD_EINVAL,
		    "%s: apiVersion and kind come from spec.resource; leave them out", where);
	if (!rc && fpd_json_get(tree, "metadata.name"))
		rc = fpd_error_set(err, FPD_EINVAL,
		                   "%s: metadata.name is Flyte's per-attempt name; leave it out",
		                   where);
	if (rc) {
		json_decref(tree);
		return rc;
	}
	*out = tree;
	return 0;
}

/* ---- rendering ---------------------------------------------------------------------------- */

static json_t *primitive_json(const Flyteidl__Core__Primitive *p)
{
	char buf[64];
	switch (p->value_case) {
	case FLYTEIDL__CORE__PRIMITIVE__VALUE_INTEGER: return json_integer(p->integer);
	case FLYTEIDL__CORE__PRIMITIVE__VALUE_FLOAT_VALUE:
		return isfinite(p->float_value) ? json_real(p->float_value) : NULL;
	case FLYTEIDL__CORE__PRIMITIVE__VALUE_STRING_VALUE: return json_string(p->string_value);
	case FLYTEIDL__CORE__PRIMITIVE__VALUE_BOOLEAN: return json_boolean(p->boolean);
	case FLYTEIDL__CORE__PRIMITIVE__VALUE_DURATION:
		if (!p->duration)
			return NULL;
		snprintf(buf, sizeof(buf), "%llds", (long long)p->duration->seconds);
		return json_string(buf);
	default: return NULL;
	}
}

/* An input literal as JSON: primitives and generic Structs; NULL for anything else. */
static json_t *literal_json(const Flyteidl__Core__Literal *l)
{
	if (!l || l->value_case != FLYTEIDL__CORE__LITERAL__VALUE_SCALAR || !l->scalar)
		return NULL;
	const Flyteidl__Core__Scalar *s = l->scalar;
	if (s->value_case == FLYTEIDL__CORE__SCALAR__VALUE_PRIMITIVE && s->primitive)
		return primitive_json(s->primitive);
	if (s->value_case == FLYTEIDL__CORE__SCALAR__VALUE_GENERIC && s->generic) {
		json_t *v = NULL;
		return fpd_struct_to_json(s->generic, &v, NULL) ? NULL : v;
	}
	return NULL;
}

static int container_vars(const struct fpd_task *task, json_t *vars, struct fpd_error *err)
{
	const Flyteidl__Core__Container *c = task->tmpl ? task->tmpl->container : NULL;
	if (!c)
		return 0;
	json_t *cv = json_object();
	json_object_set_new(vars, "container", cv);
	json_object_set_new(cv, "image", json_string(c->image ? c->image : ""));
	const char *names[] = {"command", "args"};
	char **lists[] = {c->command, c->args};
	size_t counts[] = {c->n_command, c->n_args};
	for (int k = 0; k < 2; k++) {
		json_t *a = json_array();
		json_object_set_new(cv, names[k], a);
		for (size_t i = 0; i < counts[k]; i++) {
			char *s = NULL;
			int rc = fpd_render_template(task, lists[k][i], &s, err);
			if (rc)
				return fpd_error_wrap(err, rc, "container.%s[%zu]", names[k], i);
			json_array_append_new(a, json_string(s));
			free(s);
		}
	}
	json_t *env = json_array();
	json_object_set_new(cv, "env", env);
	for (size_t i = 0; i < c->n_env; i++)
		json_array_append_new(
		    env, fpd_json_name_value(c->env[i]->key, json_string(c->env[i]->value)));
	json_array_extend(env, (json_t *)task->injected_env);
	json_t *res = NULL;
	const char *gpu = task->settings && task->settings->k8s.gpu_resource_name
	                      ? task->settings->k8s.gpu_resource_name
	                      : "nvidia.com/gpu";
	if (c->resources) {
		int rc = fpd_pod_resources_from_proto(c->resources, gpu, &res, err);
		if (rc)
			return fpd_error_wrap(err, rc, "container.resources");
	}
	json_object_set_new(cv, "resources", res ? res : json_object());
	return 0;
}

/* Every variable of a task, as one JSON object (new). */
static int task_vars(const struct fpd_task *task, json_t **out, struct fpd_error *err)
{
	json_t *v = json_object();
	const struct fpd_task_paths *p = &task->paths;
	const struct fpd_task_ref *r = &task->ref;
	struct {
		const char *k, *v;
	} flat[] = {{"input", p->input_path},
	            {"inputprefix", p->input_prefix},
	            {"outputprefix", p->output_prefix},
	            {"rawoutputdataprefix", p->raw_output_prefix},
	            {"checkpointoutputprefix", p->checkpoint_prefix},
	            {"prevcheckpointprefix", p->prev_checkpoint_prefix},
	            {"tasktemplatepath", p->task_template_path},
	            {"namespace", r->namespace_},
	            {"serviceaccount", task->service_account},
	            {"perretryuniquekey", r->generated_name}};
	for (size_t i = 0; i < sizeof(flat) / sizeof(flat[0]); i++)
		json_object_set_new(v, flat[i].k, json_string(flat[i].v ? flat[i].v : ""));
	json_object_set_new(v, "retryattempt", json_integer(r->retry_attempt));
	json_object_set_new(v, "interruptible", json_boolean(task->interruptible));
	json_object_set_new(v, "labels",
	                    task->labels ? json_deep_copy(task->labels) : json_object());
	json_object_set_new(v, "annotations",
	                    task->annotations ? json_deep_copy(task->annotations) : json_object());
	json_object_set_new(v, "custom",
	                    task->custom_json ? json_deep_copy(task->custom_json) : json_object());
	json_object_set_new(v, "execution",
	                    json_pack("{ssssss}", "project", r->project, "domain", r->domain,
	                              "name", r->execution));
	json_object_set_new(v, "task",
	                    json_pack("{ssssssss}", "project", r->task_project, "domain",
	                              r->task_domain, "name", r->task_name, "version",
	                              r->task_version));
	json_t *inputs = json_object();
	json_object_set_new(v, "inputs", inputs);
	for (size_t i = 0; task->inputs && i < task->inputs->n_literals; i++) {
		json_t *l = literal_json(task->inputs->literals[i]->value);
		if (l)
			json_object_set_new(inputs, task->inputs->literals[i]->key, l);
	}
	json_t *config = json_object();
	json_object_set_new(v, "config", config);
	for (size_t i = 0; task->tmpl && i < task->tmpl->n_config; i++)
		json_object_set_new(config, task->tmpl->config[i]->key,
		                    json_string(task->tmpl->config[i]->value));
	int rc = container_vars(task, v, err);
	if (rc) {
		json_decref(v);
		return rc;
	}
	*out = v;
	return 0;
}

/* The value of path in vars (borrowed) or NULL with err naming what is missing. */
static const json_t *lookup(const json_t *vars, const char *path, struct fpd_error *err)
{
	const char *seg[8];
	size_t len[8];
	size_t n = split_path(path, seg, len);
	char key[MAX_PATH];
	const json_t *cur = vars;
	for (size_t i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "%.*s", (int)len[i], seg[i]);
		if (i == 0 && n == 1 && in_list(flat_vars, seg[0], len[0], true))
			for (char *k = key; *k; k++)
				*k = (char)tolower((unsigned char)*k);
		const json_t *next = json_is_object(cur) ? json_object_get(cur, key) : NULL;
		if (!next && json_is_array(cur)) {
			char *end;
			long idx = strtol(key, &end, 10);
			if (!*end && idx >= 0)
				next = json_array_get(cur, (size_t)idx);
		}
		if (!next) {
			if (i == 0 && !strcmp(key, "container"))
				fpd_error_set(err, FPD_EINVAL,
				              "{{ %s }}: the task template has no container", path);
			else
				fpd_error_set(err, FPD_EINVAL, "{{ %s }}: the task has no %s", path,
				              i == 0 ? key : path + 1);
			return NULL;
		}
		cur = next;
	}
	return cur;
}

static int append_text(struct fpd_buf *b, const json_t *v)
{
	if (json_is_string(v))
		return fpd_buf_append(b, json_string_value(v), json_string_length(v));
	if (json_is_null(v))
		return 0;
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	int rc = fpd_buf_append_str(b, s);
	free(s);
	return rc;
}

static int render_string(const char *s, const json_t *vars, json_t **out, struct fpd_error *err)
{
	struct fpd_buf b;
	fpd_buf_init(&b, MAX_RENDERED);
	const char *o, *c;
	char path[MAX_PATH];
	int rc = 0;
	while (!rc && next_placeholder(s, &o, &c, path, sizeof(path)) == 1) {
		const json_t *v = lookup(vars, path, err);
		if (!v)
			rc = FPD_EINVAL;
		else if (fpd_buf_append(&b, s, (size_t)(o - s)) || append_text(&b, v))
			rc = fpd_error_set(err, FPD_ERANGE, "rendered text over %d bytes",
			                   MAX_RENDERED);
		s = c;
	}
	if (!rc && fpd_buf_append_str(&b, s))
		rc = fpd_error_set(err, FPD_ERANGE, "rendered text over %d bytes", MAX_RENDERED);
	if (!rc) {
		size_t n;
		char *text = fpd_buf_steal(&b, &n);
		*out = json_stringn(text ? text : "", text ? n : 0);
		free(text);
		if (!*out)
			rc = fpd_error_set(err, FPD_EINVAL, "rendered text is not UTF-8");
	}
	fpd_buf_free(&b);
	return rc;
}

static int render(const json_t *t, const json_t *vars, json_t **out, struct fpd_error *err)
{
	if (json_is_object(t)) {
		const json_t *m = json_object_get(t, MARKER);
		if (m && json_object_size(t) == 1) {
			const json_t *v = lookup(vars, json_string_value(m), err);
			if (!v)
				return FPD_EINVAL;
			*out = json_deep_copy(v);
			return 0;
		}
		json_t *o = json_object();
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)t, k, v)
		{
			json_t *r;
			int rc = render(v, vars, &r, err);
			if (rc) {
				json_decref(o);
				return fpd_error_wrap(err, rc, "%s", k);
			}
			json_object_set_new(o, k, r);
		}
		*out = o;
		return 0;
	}
	if (json_is_array(t)) {
		json_t *a = json_array();
		size_t i;
		json_t *v;
		json_array_foreach(t, i, v)
		{
			json_t *r;
			int rc = render(v, vars, &r, err);
			if (rc) {
				json_decref(a);
				return fpd_error_wrap(err, rc, "[%zu]", i);
			}
			json_array_append_new(a, r);
		}
		*out = a;
		return 0;
	}
	if (json_is_string(t) && strstr(json_string_value(t), "{{"))
		return render_string(json_string_value(t), vars, out, err);
	*out = json_deep_copy(t);
	return 0;
}

int fpd_crd_manifest_render(const json_t *tmpl, const struct fpd_task *task, json_t **out,
                            struct fpd_error *err)
{
	json_t *vars;
	int rc = task_vars(task, &vars, err);
	if (rc)
		return rc;
	rc = render(tmpl, vars, out, err);
	json_decref(vars);
	if (rc)
		return fpd_error_wrap(err, rc, "manifest");
	return 0;
}
