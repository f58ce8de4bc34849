/* Flyte's naming rules: see naming.h. */
#include "engine/naming.h"

#include <flyteplugd/buf.h>
#include <flyteplugd/mem.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DNS1123_SUBDOMAIN_MAX 253

uint32_t fpd_name_fnv32a(const char *s, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

/* Go's base32 with Flyte's alphabet, no padding, of the hash's 4 big-endian bytes. */
static void hash_id(const char *s, char out[9])
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz123456";
	uint32_t h = fpd_name_fnv32a(s, strlen(s));
	/* 32 bits, MSB first, in 5-bit groups; the last group is padded with zero bits. */
	uint64_t bits = (uint64_t)h << 3; /* 35 bits = 7 groups */
	out[0] = 'f';
	for (int i = 0; i < 7; i++)
		out[1 + i] = alphabet[(bits >> (5 * (6 - i))) & 31];
	out[8] = '\0';
}

static char *fixed_length(const char *s, size_t max)
{
	if (strlen(s) <= max)
		return fpd_strdup(s);
	char id[9];
	hash_id(s, id);
	return strlen(id) <= max ? fpd_strdup(id) : NULL;
}

char *fpd_name_for_parts(size_t max, const char *const *parts, size_t count)
{
	struct fpd_buf b;
	fpd_buf_init(&b, 1 << 16);
	for (size_t i = 0; i < count; i++) {
		if (i > 0 && b.len > 0)
			fpd_buf_append_byte(&b, '-');
		fpd_buf_append_str(&b, parts[i]);
	}
	char *joined = fpd_buf_steal(&b, NULL);
	char *out = fixed_length(joined, max);
	free(joined);
	return out;
}

char *fpd_name_generated(const char *execution, const char *node_id, uint32_t attempt, size_t max)
{
	char attempt_s[16];
	snprintf(attempt_s, sizeof(attempt_s), "%u", attempt);
	const char *parts[] = {execution, node_id, attempt_s};
	FPD_ASSERT(max == 0 || (max >= FPD_NAME_MIN && max <= FPD_NAME_LIMIT_MAX));
	char *name = fpd_name_for_parts(max ? max : FPD_NAME_MAX, parts, 3);
	if (fpd_name_is_dns1123_subdomain(name))
		return name;
	char *fixed = fpd_name_dns1123_subdomain(name);
	free(name);
	return fixed;
}

static bool is_alnum_lower(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool fpd_name_is_dns1123_subdomain(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > DNS1123_SUBDOMAIN_MAX)
		return false;
	/* Dot-separated labels, each [a-z0-9]([-a-z0-9]*[a-z0-9])?. */
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.') {
			if (!is_alnum_lower(s[i]) && s[i] != '-')
				return false;
			continue;
		}
		if (i == start || !is_alnum_lower(s[start]) || !is_alnum_lower(s[i - 1]))
			return false;
		start = i + 1;
	}
	return true;
}

static bool is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

char *fpd_name_dns1123_subdomain(const char *s)
{
	if (fpd_name_is_dns1123_subdomain(s))
		return fpd_strdup(s);
	size_t n = strlen(s);
	char *kebab = fpd_malloc(2 * n + 1);
	size_t k = 0;
	/* camelCase -> camel-case: a hyphen between [a-z0-9] and [A-Z]. Go's regexp replaces
	 * non-overlapping matches left to right, so "aBC" gives "a-bC" before lowering. */
	for (size_t i = 0; i < n; i++) {
		kebab[k++] = s[i];
		if (i + 1 < n && is_alnum_lower(s[i]) && is_upper(s[i + 1])) {
			kebab[k++] = '-';
			kebab[k++] = s[++i];
		}
	}
	/* lower-case, keep [-.a-z0-9] */
	size_t w = 0;
	for (size_t i = 0; i < k; i++) {
		char c = is_upper(kebab[i]) ? (char)(kebab[i] - 'A' + 'a') : kebab[i];
		if (is_alnum_lower(c) || c == '-' || c == '.')
			kebab[w++] = c;
	}
	kebab[w] = '\0';
	/* trim ".-" from both ends */
	size_t b = 0;
	while (kebab[b] == '.' || kebab[b] == '-')
		b++;
	while (w > b && (kebab[w - 1] == '.' || kebab[w - 1] == '-'))
		w--;
	kebab[w] = '\0';
	char *trimmed = fpd_strdup(kebab + b);
	free(kebab);
	if (strlen(trimmed) > DNS1123_SUBDOMAIN_MAX) {
		char id[9];
		hash_id(trimmed, id);
		char *out = fpd_asprintf("%.*s-%s", DNS1123_SUBDOMAIN_MAX - 30 - 1, trimmed, id);
		free(trimmed);
		return out;
	}
	return trimmed;
}

char *fpd_name_label_value(const char *s)
{
	size_t n = strlen(s);
	char *out = fpd_malloc(n + 1);
	size_t w = 0;
	bool in_run = false;
	for (size_t i = 0; i < n; i++) {
		char c = is_upper(s[i]) ? (char)(s[i] - 'A' + 'a') : s[i];
		if (is_alnum_lower(c) || c == '-') {
			out[w++] = c;
			in_run = false;
		} else if (!in_run) {
			out[w++] = '-';
			in_run = true;
		}
	}
	out[w] = '\0';
	if (w > 63)
		out[w = 63] = '\0';
	size_t b = 0;
	while (out[b] == '-')
		b++;
	while (w > b && out[w - 1] == '-')
		w--;
	out[w] = '\0';
	char *res = fpd_strdup(out + b);
	free(out);
	return res;
}
