/*
 * Placeholder matching for Flyte's templates. Flyte uses Go regular expressions of the form
 * (?i){{\s*[.$]name\s*}}; these are matched by hand here (ASCII case folding, Go's \s set),
 * one pass per variable, in Flyte's order, so values that contain other placeholders behave
 * the same way (e.g. a raw output prefix containing {{ .namespace }}).
 */
#include "internal.h"

#include <flyteplugd/buf.h>
#include <flyteplugd/error.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* RE2's \s: space, \t, \n, \f, \r (not \v). */
static bool go_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

/* Length of word if s starts with it ignoring ASCII case, else 0. */
static size_t starts_ci(const char *s, const char *word)
{
	size_t n = 0;
	for (; word[n]; n++)
		if (tolower((unsigned char)s[n]) != tolower((unsigned char)word[n]))
			return 0;
	return n;
}

size_t fpd_tpl_var_len(const char *s, const char *name)
{
	if (s[0] != '{' || s[1] != '{')
		return 0;
	const char *p = s + 2;
	while (go_space(*p))
		p++;
	if (*p != '.' && *p != '$')
		return 0;
	size_t n = starts_ci(++p, name);
	if (!n)
		return 0;
	for (p += n; go_space(*p); p++)
		;
	if (p[0] != '}' || p[1] != '}')
		return 0;
	return (size_t)(p + 2 - s);
}

int fpd_tpl_substitute(const char *in, const struct fpd_tpl_sub *sub, char **out)
{
	struct fpd_buf b;
	fpd_buf_init(&b, FPD_POD_TEXT_MAX);
	int rc = FPD_OK;
	for (const char *p = in; *p && !rc;) {
		const char *value = NULL;
		size_t n = *p == '{' ? sub->match(p, sub->arg, &value) : 0;
		if (n && value) {
			rc = fpd_buf_append_str(&b, value);
			p += n;
		} else {
			/* Not a placeholder (or one kept as is): copy up to the next '{'. */
			size_t run = n ? n : 1 + strcspn(p + 1, "{");
			rc = fpd_buf_append(&b, p, run);
			p += run;
		}
	}
	if (rc) {
		fpd_buf_free(&b);
		*out = NULL;
		return FPD_ERANGE;
	}
	*out = fpd_buf_steal(&b, NULL);
	return FPD_OK;
}

struct var_arg {
	const char *name;
	const char *value;
};

static size_t match_var(const char *s, void *arg, const char **value)
{
	const struct var_arg *v = arg;
	*value = v->value;
	return fpd_tpl_var_len(s, v->name);
}

/* Whether a pass of sub over in would replace anything. A '{' inside a placeholder that the
 * pass keeps may match here and not there: that costs a pass, never a wrong answer. */
static bool replaces(const char *in, const struct fpd_tpl_sub *sub)
{
	for (const char *p = strchr(in, '{'); p; p = strchr(p + 1, '{')) {
		const char *value = NULL;
		if (sub->match(p, sub->arg, &value) && value)
			return true;
	}
	return false;
}

int fpd_tpl_substitute_in(char **s, const struct fpd_tpl_sub *sub)
{
	if (strlen(*s) > FPD_POD_TEXT_MAX)
		return FPD_ERANGE;
	if (!replaces(*s, sub))
		return FPD_OK;
	char *out;
	if (fpd_tpl_substitute(*s, sub, &out))
		return FPD_ERANGE;
	free(*s);
	*s = out;
	return FPD_OK;
}

int fpd_tpl_replace_var_in(char **s, const char *name, const char *value)
{
	struct var_arg arg = {name, value ? value : ""};
	struct fpd_tpl_sub sub = {match_var, &arg};
	return fpd_tpl_substitute_in(s, &sub);
}
