/* JSON object helpers: see plugin-api/include/flyteplugd/object.h. */
#include <flyteplugd/object.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_KEY 256

/* Copies the next path segment of *path into key and advances *path past it. */
static int next_segment(const char **path, char *key)
{
	const char *dot = strchr(*path, '.');
	size_t n = dot ? (size_t)(dot - *path) : strlen(*path);
	if (n == 0 || n >= MAX_KEY)
		return -1;
	memcpy(key, *path, n);
	key[n] = '\0';
	*path = dot ? dot + 1 : *path + n;
	return dot ? 1 : 0;
}

json_t *fpd_json_get(const json_t *root, const char *path)
{
	char key[MAX_KEY];
	const json_t *cur = root;
	for (;;) {
		if (!json_is_object(cur))
			return NULL;
		int more = next_segment(&path, key);
		if (more < 0)
			return NULL;
		cur = json_object_get(cur, key);
		if (!cur || !more)
			return (json_t *)cur;
	}
}

const char *fpd_json_str(const json_t *root, const char *path)
{
	return json_string_value(fpd_json_get(root, path));
}

const char *fpd_json_str_or(const json_t *root, const char *path, const char *def)
{
	const char *s = fpd_json_str(root, path);
	return s ? s : def;
}

int64_t fpd_json_int_or(const json_t *root, const char *path, int64_t def)
{
	const json_t *v = fpd_json_get(root, path);
	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_real(v))
		return (int64_t)json_real_value(v);
	return def;
}

bool fpd_json_bool_or(const json_t *root, const char *path, bool def)
{
	const json_t *v = fpd_json_get(root, path);
	return json_is_boolean(v) ? json_is_true(v) : def;
}

json_t *fpd_json_ensure_obj(json_t *root, const char *path)
{
	char key[MAX_KEY];
	json_t *cur = root;
	for (;;) {
		if (!json_is_object(cur))
			return NULL;
		int more = next_segment(&path, key);
		if (more < 0)
			return NULL;
		json_t *next = json_object_get(cur, key);
		if (!next || json_is_null(next)) {
			next = json_object();
			json_object_set_new(cur, key, next);
		}
		cur = next;
		if (!more)
			return json_is_object(cur) ? cur : NULL;
	}
}

int fpd_json_set_new(json_t *root, const char *path, json_t *value)
{
	const char *last = strrchr(path, '.');
	json_t *parent = root;
	if (last) {
		char parent_path[1024];
		size_t n = (size_t)(last - path);
		if (n >= sizeof(parent_path)) {
			json_decref(value);
			return -1;
		}
		memcpy(parent_path, path, n);
		parent_path[n] = '\0';
		parent = fpd_json_ensure_obj(root, parent_path);
	}
	if (!json_is_object(parent)) {
		json_decref(value);
		return -1;
	}
	return json_object_set_new(parent, last ? last + 1 : path, value);
}

int fpd_json_set_str(json_t *root, const char *path, const char *s)
{
	return fpd_json_set_new(root, path, json_string(s));
}

json_t *fpd_json_name_value(const char *name, json_t *value)
{
	json_t *n = json_string(name ? name : "");
	if (!n || !value) {
		json_decref(n);
		json_decref(value);
		return NULL;
	}
	json_t *o = json_object();
	json_object_set_new_nocheck(o, "name", n);
	json_object_set_new_nocheck(o, "value", value);
	return o;
}

void fpd_json_merge_into(json_t *dst, const char *path, const json_t *src)
{
	if (!json_is_object(src) || json_object_size(src) == 0)
		return;
	json_t *target = path ? fpd_json_ensure_obj(dst, path) : dst;
	if (target)
		json_object_update(target, (json_t *)src);
}

static int digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++, (*p)++) {
		if (**p < '0' || **p > '9')
			return -1;
		v = v * 10 + (**p - '0');
	}
	*out = v;
	return 0;
}

int64_t fpd_time_parse(const char *s)
{
	if (!s)
		return -1;
	int y, mo, d, h, mi, se;
	const char *p = s;
	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
	    digits(&p, 2, &d) || (*p != 'T' && *p != 't' && *p != ' '))
		return -1;
	p++;
	if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' ||
	    digits(&p, 2, &se))
		return -1;
	int ms = 0;
	if (*p == '.') {
		p++;
		int scale = 100, any = 0;
		for (; *p >= '0' && *p <= '9'; p++, any = 1) {
			ms += (*p - '0') * scale;
			scale /= 10;
		}
		if (!any)
			return -1;
	}
	int offset_min = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1, oh, om;
		if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om))
			return -1;
		offset_min = sign * (oh * 60 + om);
	} else {
		return -1;
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
		return -1;
	struct tm tm = {.tm_year = y - 1900,
	                .tm_mon = mo - 1,
	                .tm_mday = d,
	                .tm_hour = h,
	                .tm_min = mi,
	                .tm_sec = se};
	time_t t = timegm(&tm);
	return ((int64_t)t - offset_min * 60) * 1000 + ms;
}
