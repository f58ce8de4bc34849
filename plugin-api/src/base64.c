/* Base64 encoding and decoding with the rules of each caller: see base64.h. */
#include <flyteplugd/base64.h>

#include <flyteplugd/error.h>
#include <flyteplugd/mem.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static const char std_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t fpd_base64_encode(const void *data, size_t n, unsigned flags, char *out)
{
	const uint8_t *in = data;
	const char *a = (flags & FPD_BASE64_URL) ? url_alphabet : std_alphabet;
	bool pad = !(flags & FPD_BASE64_NOPAD);
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
		if (i + 1 < n)
			out[o++] = a[v >> 6 & 63];
		else if (pad)
			out[o++] = '=';
		if (i + 2 < n)
			out[o++] = a[v & 63];
		else if (pad)
			out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

/* Value of c in the alphabet, -1 if it is not in it. */
static int value(char c, bool url)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == (url ? '-' : '+'))
		return 62;
	if (c == (url ? '_' : '/'))
		return 63;
	return -1;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int fpd_base64_decode(const char *s, size_t len, unsigned flags, uint8_t **out, size_t *n)
{
	bool url = flags & FPD_BASE64_URL;
	if ((flags & FPD_BASE64_EITHER) && (memchr(s, '-', len) || memchr(s, '_', len)))
		url = true;
	/* The significant characters, and where padding starts among them. */
	char *text = fpd_malloc(len + 1);
	size_t m = 0, pad = 0;
	for (size_t i = 0; i < len; i++) {
		if ((flags & FPD_BASE64_SPACE) && is_space(s[i]))
			continue;
		if (s[i] == '=')
			pad++;
		else if (pad) /* data after padding */
			goto bad;
		text[m++] = s[i];
	}
	/* Padding completes the last group of four, exactly; without NOPAD it is required. */
	if (pad > 2 || (pad && m % 4) || (!pad && m % 4 && !(flags & FPD_BASE64_NOPAD)))
		goto bad;
	m -= pad;
	if (m % 4 == 1)
		goto bad;
	uint8_t *buf = fpd_malloc(m / 4 * 3 + 3);
	size_t o = 0;
	uint32_t acc = 0;
	for (size_t i = 0; i < m; i++) {
		int v = value(text[i], url);
		if (v < 0) {
			free(buf);
			goto bad;
		}
		acc = acc << 6 | (uint32_t)v;
		if (i % 4 == 3) {
			buf[o++] = (uint8_t)(acc >> 16);
			buf[o++] = (uint8_t)(acc >> 8);
			buf[o++] = (uint8_t)acc;
			acc = 0;
		}
	}
	if (m % 4 == 2) {
		buf[o++] = (uint8_t)(acc >> 4);
	} else if (m % 4 == 3) {
		buf[o++] = (uint8_t)(acc >> 10);
		buf[o++] = (uint8_t)(acc >> 2);
	}
	buf[o] = '\0';
	free(text);
	*out = buf;
	*n = o;
	return FPD_OK;
bad:
	free(text);
	return FPD_EINVAL;
}
