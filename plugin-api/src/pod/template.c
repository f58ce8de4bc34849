/*
 * Command and argument templating, as Flyte's core/template.Render: one pass per variable in
 * Flyte's order (namespace last, so it also fills placeholders embedded in the paths), then
 * {{ .Inputs.<name> }} with the input literal serialized as Flyte serializes it.
 */
#include "internal.h"

#include <flyteplugd/buf.h>
#include <flyteplugd/error.h>
#include <flyteplugd/mem.h>

#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_LITERAL_DEPTH 32

static bool word_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* Flyte's PerRetryUniqueKey: the generated name with a leading run of characters other than
 * [a-zA-Z_] replaced by "a", then each run of [^a-zA-Z0-9_] by "_". */
static char *per_retry_key(const char *name)
{
	char *k = fpd_malloc(strlen(name) + 2), *o = k;
	const char *p = name;
	if (*p && !isalpha((unsigned char)*p) && *p != '_') {
		*o++ = 'a';
		while (*p && !isalpha((unsigned char)*p) && *p != '_')
			p++;
	}
	while (*p) {
		if (word_char(*p)) {
			*o++ = *p++;
			continue;
		}
		*o++ = '_';
		while (*p && !word_char(*p))
			p++;
	}
	*o = '\0';
	return k;
}

static int serialize_literal(const Flyteidl__Core__Literal *l, struct fpd_buf *b, int depth,
                             struct fpd_error *err);

static int serialize_primitive(const Flyteidl__Core__Primitive *p, struct fpd_buf *b,
                               struct fpd_error *err)
{
	char tmp[64];
	switch (p->value_case) {
	case FLYTEIDL__CORE__PRIMITIVE__VALUE_INTEGER:
		return fpd_buf_printf(b, "%" PRId64, p->integer);
	case FLYTEIDL__CORE__PRIMITIVE__VALUE_FLOAT_VALUE:
		fpd_go_float(p->float_value, tmp, sizeof(tmp));
		return fpd_buf_append_str(b, tmp);
	case FLYTEIDL__CORE__PRIMITIVE__VALUE_STRING_VALUE:
		return fpd_buf_append_str(b, p->string_value);
	case FLYTEIDL__CORE__PRIMITIVE__VALUE_BOOLEAN:
		return fpd_buf_append_str(b, p->boolean ? "true" : "false");
	case FLYTEIDL__CORE__PRIMITIVE__VALUE_DATETIME: {
		const Google__Protobuf__Timestamp *ts = p->datetime;
		if (!ts || ts->nanos < 0 || ts->nanos >= 1000000000 ||
		    fpd_go_rfc3339(ts->seconds, ts->nanos, tmp, sizeof(tmp)))
			return fpd_error_set(err, FPD_EINVAL, "datetime out of range");
		return fpd_buf_append_str(b, tmp);
	}
	case FLYTEIDL__CORE__PRIMITIVE__VALUE_DURATION: {
		/* Go's Duration.String() is the compact protobuf text form; zero fields are left
		 * out, so a zero duration is "". */
		const Google__Protobuf__Duration *d = p->duration;
		int rc = FPD_OK;
		if (d && d->seconds)
			rc = fpd_buf_printf(b, "seconds:%" PRId64, d->seconds);
		if (!rc && d && d->nanos)
			rc = fpd_buf_printf(b, "%snanos:%d", d->seconds ? " " : "", (int)d->nanos);
		return rc;
	}
	default: return fpd_error_set(err, FPD_EINVAL, "received an unexpected primitive type");
	}
}

static int serialize_scalar(const Flyteidl__Core__Scalar *s, struct fpd_buf *b,
                            struct fpd_error *err)
{
	switch (s->value_case) {
	case FLYTEIDL__CORE__SCALAR__VALUE_PRIMITIVE:
		return serialize_primitive(s->primitive, b, err);
	case FLYTEIDL__CORE__SCALAR__VALUE_BLOB: return fpd_buf_append_str(b, s->blob->uri);
	case FLYTEIDL__CORE__SCALAR__VALUE_SCHEMA: return fpd_buf_append_str(b, s->schema->uri);
	default: return fpd_error_set(err, FPD_EINVAL, "received an unexpected scalar type");
	}
}

static int serialize_literal(const Flyteidl__Core__Literal *l, struct fpd_buf *b, int depth,
                             struct fpd_error *err)
{
	if (depth > MAX_LITERAL_DEPTH)
		return fpd_error_set(err, FPD_EINVAL, "literal nested too deeply");
	if (l->value_case == FLYTEIDL__CORE__LITERAL__VALUE_SCALAR)
		return serialize_scalar(l->scalar, b, err);
	if (l->value_case != FLYTEIDL__CORE__LITERAL__VALUE_COLLECTION)
		return fpd_error_set(err, FPD_EINVAL, "received an unexpected literal type");
	int rc = fpd_buf_append_byte(b, '[');
	for (size_t i = 0; !rc && i < l->collection->n_literals; i++) {
		if (i)
			rc = fpd_buf_append_byte(b, ',');
		if (!rc)
			rc = serialize_literal(l->collection->literals[i], b, depth + 1, err);
	}
	return rc ? rc : fpd_buf_append_byte(b, ']');
}

struct inputs_arg {
	const Flyteidl__Core__LiteralMap *inputs;
	struct fpd_buf value;
	struct fpd_error *err;
	int rc;
};

static const char *skip_space(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\f' || *p == '\r')
		p++;
	return p;
}

/* Go: (?i){{\s*[.$]Inputs\.([^}\s]+)\s*}} ; the value of the named input replaces it. */
static size_t match_input(const char *s, void *argp, const char **value)
{
	struct inputs_arg *a = argp;
	const char *p = skip_space(s + 2);
	if (a->rc || s[1] != '{' || (*p != '.' && *p != '$') || strncasecmp(p + 1, "Inputs.", 7))
		return 0;
	const char *name = p + 8;
	size_t n = strcspn(name, "} \t\n\f\r");
	const char *q = skip_space(name + n);
	if (!n || q[0] != '}' || q[1] != '}')
		return 0;
	size_t len = (size_t)(q + 2 - s);
	const Flyteidl__Core__Literal *lit = NULL;
	for (size_t i = 0; i < a->inputs->n_literals && !lit; i++)
		if (strlen(a->inputs->literals[i]->key) == n &&
		    !memcmp(a->inputs->literals[i]->key, name, n))
			lit = a->inputs->literals[i]->value;
	fpd_buf_reset(&a->value);
	if (!lit)
		a->rc = fpd_error_set(a->err, FPD_EINVAL,
		                      "input template [%.*s]: requested input is not found [%.*s]",
		                      (int)len, s, (int)n, name);
	else if ((a->rc = serialize_literal(lit, &a->value, 0, a->err)) != 0)
		fpd_error_wrap(a->err, a->rc,
		               "input template [%.*s]: failed to bind a value to "
		               "inputName [%.*s]",
		               (int)len, s, (int)n, name);
	*value = a->rc ? NULL : a->value.data ? a->value.data : "";
	return a->rc ? 0 : len;
}

static int render_inputs(const struct fpd_task *task, char *in, char **out, struct fpd_error *err)
{
	if (!task->inputs || task->inputs->n_literals == 0) {
		*out = in;
		return FPD_OK;
	}
	struct inputs_arg a = {.inputs = task->inputs, .err = err};
	fpd_buf_init(&a.value, FPD_POD_TEXT_MAX);
	struct fpd_tpl_sub sub = {match_input, &a};
	int rc = fpd_tpl_substitute(in, &sub, out);
	fpd_buf_free(&a.value);
	free(in);
	if (rc)
		return fpd_error_set(err, rc, "rendered text longer than %zu bytes",
		                     FPD_POD_TEXT_MAX);
	if (a.rc) {
		free(*out);
		*out = NULL;
	}
	return a.rc;
}

/* Whether the text mentions {{ .taskTemplatePath }} anywhere. */
static bool mentions(const char *s, const char *name)
{
	for (const char *p = strchr(s, '{'); p; p = strchr(p + 1, '{'))
		if (fpd_tpl_var_len(p, name))
			return true;
	return false;
}

int fpd_render_template(const struct fpd_task *task, const char *in, char **out,
                        struct fpd_error *err)
{
	if (!strstr(in, "{{")) { /* no variable to render: most arguments */
		if (strlen(in) > FPD_POD_TEXT_MAX)
			return fpd_error_set(err, FPD_ERANGE, "rendered text longer than %zu bytes",
			                     FPD_POD_TEXT_MAX);
		*out = fpd_strdup(in);
		return FPD_OK;
	}
	const struct fpd_task_paths *pp = &task->paths;
	const char *prev = pp->prev_checkpoint_prefix && *pp->prev_checkpoint_prefix
	                       ? pp->prev_checkpoint_prefix
	                       : "\"\"";
	char *key = per_retry_key(task->ref.generated_name ? task->ref.generated_name : "");
	const char *vars[][2] = {
	    {"Input", pp->input_path},           {"OutputPrefix", pp->output_prefix},
	    {"InputPrefix", pp->input_prefix},   {"RawOutputDataPrefix", pp->raw_output_prefix},
	    {"PrevCheckpointPrefix", prev},      {"CheckpointOutputPrefix", pp->checkpoint_prefix},
	    {"PerRetryUniqueKey", key},          {"TaskTemplatePath", pp->task_template_path},
	    {"Namespace", task->ref.namespace_},
	};
	char *cur = fpd_strdup(in);
	int rc = FPD_OK;
	/* Replaced one variable after the other, as Flyte does (a value may bring a later
	 * variable in); once no "{{" is left, nothing further can match. */
	for (size_t i = 0; i < FPD_ARRAY_LEN(vars) && !rc && strstr(cur, "{{"); i++) {
		/* Flyte offloads the template only when asked for it; without a path it fails. */
		if (i == 7 && mentions(cur, vars[i][0]) && !(vars[i][1] && *vars[i][1])) {
			rc = fpd_error_set(err, FPD_EINVAL,
			                   "{{ .taskTemplatePath }} is used but the "
			                   "task template is not offloaded");
			break;
		}
		if (fpd_tpl_replace_var_in(&cur, vars[i][0], vars[i][1]))
			rc = fpd_error_set(err, FPD_ERANGE, "rendered text longer than %zu bytes",
			                   FPD_POD_TEXT_MAX);
	}
	free(key);
	if (rc) {
		free(cur);
		return rc;
	}
	if (!strstr(cur, "{{")) {
		*out = cur;
		return FPD_OK;
	}
	return render_inputs(task, cur, out, err);
}
