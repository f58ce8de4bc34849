/*
 * Kubernetes resource quantities: the one parser (their value) and their canonical form, as
 * Go's resource.Quantity prints them after parsing ("1000m" -> "1", "1024Mi" -> "1Gi", "0.1" -> "100m", "2000" -> "2k").
 * Flyte builds pods in Go, and the API server stores canonical quantities, so a pod built here
 * must carry them too for `render` and the created object to agree.
 *
 * Values are held exactly in nano-units in a 128-bit integer; finer precision is rounded up to
 * a nano-unit, as Go does.
 */
#include <flyteplugd/quantity.h>

#include <flyteplugd/mem.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef __int128 i128;

enum qformat { DECIMAL_SI, BINARY_SI, DECIMAL_EXPONENT };

#define NANO ((i128)1000000000)
#define I128_MAX ((i128)(((unsigned __int128)1 << 127) - 1))

static const struct {
	const char *suffix;
	int exp10; /* decimal: power of ten; binary: -1 */
	int exp2;  /* binary: power of two */
} suffixes[] = {
    {"Ki", -1, 10}, {"Mi", -1, 20}, {"Gi", -1, 30}, {"Ti", -1, 40}, {"Pi", -1, 50},
    {"Ei", -1, 60}, {"n", -9, 0},   {"u", -6, 0},   {"m", -3, 0},   {"k", 3, 0},
    {"M", 6, 0},    {"G", 9, 0},    {"T", 12, 0},   {"P", 15, 0},   {"E", 18, 0},
};

static i128 pow10i(int n)
{
	i128 v = 1;
	while (n-- > 0)
		v *= 10;
	return v;
}

/* Parses s into nano-units and its format; false if s is not a quantity. */
static bool parse(const char *s, i128 *nano, enum qformat *fmt)
{
	if (!s || strlen(s) >= FPD_QUANTITY_MAX)
		return false;
	bool neg = false;
	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	i128 digits = 0;
	int frac = 0, ndigits = 0;
	bool dot = false;
	for (; (*s >= '0' && *s <= '9') || (*s == '.' && !dot); s++) {
		if (*s == '.') {
			dot = true;
			continue;
		}
		if (ndigits++ > 30)
			return false;
		digits = digits * 10 + (*s - '0');
		frac += dot;
	}
	if (ndigits == 0)
		return false;
	int exp10 = 0, exp2 = 0;
	*fmt = DECIMAL_SI;
	if ((*s == 'e' || *s == 'E') && s[1] && strchr("+-0123456789", s[1])) { /* not E, Ei */
		char *end;
		long e = strtol(s + 1, &end, 10);
		if (end == s + 1 || *end || e < -18 || e > 18)
			return false;
		exp10 = (int)e;
		*fmt = DECIMAL_EXPONENT;
	} else if (*s) {
		size_t i = 0;
		while (i < FPD_ARRAY_LEN(suffixes) && strcmp(s, suffixes[i].suffix) != 0)
			i++;
		if (i == FPD_ARRAY_LEN(suffixes))
			return false;
		if (suffixes[i].exp10 == -1) {
			exp2 = suffixes[i].exp2;
			*fmt = BINARY_SI;
		} else {
			exp10 = suffixes[i].exp10;
		}
	}
	/* value = digits * 10^(exp10 - frac) * 2^exp2, in nano-units: * 10^9 */
	if (digits > (I128_MAX >> exp2))
		return false;
	i128 v = digits << exp2;
	int scale = exp10 - frac + 9;
	if (scale >= 0) {
		i128 p = pow10i(scale); /* scale <= 27 */
		if (v > I128_MAX / p)
			return false;
		v *= p;
	} else if (-scale > 37) {
		v = v != 0; /* digits < 10^31: less than one nano-unit, rounded up */
	} else {
		i128 d = pow10i(-scale);
		v = v / d + (v % d != 0); /* round up, as Go does below a nano-unit */
	}
	*nano = neg ? -v : v;
	return true;
}

static void format_i128(i128 v, char *out, size_t size)
{
	char tmp[48];
	int n = 0;
	bool neg = v < 0;
	if (neg)
		v = -v;
	do {
		tmp[n++] = (char)('0' + (int)(v % 10));
		v /= 10;
	} while (v && n < 46);
	size_t o = 0;
	if (neg && o + 1 < size)
		out[o++] = '-';
	while (n && o + 1 < size)
		out[o++] = tmp[--n];
	out[o] = '\0';
}

int fpd_quantity_parse(const char *s, double *value)
{
	i128 nano;
	enum qformat fmt;
	if (!parse(s, &nano, &fmt))
		return -1;
	/* Whole units and the nano-unit rest apart: each converts exactly (or nearest) to a
	 * double, so "2E" is exactly 2e18 and "500m" exactly 0.5. */
	*value = (double)(nano / NANO) + (double)(nano % NANO) / 1e9;
	return 0;
}

/* num followed by suffix, as a new string. */
static char *joined(const char *num, const char *suffix)
{
	size_t a = strlen(num), b = strlen(suffix);
	char *out = fpd_malloc(a + b + 1);
	memcpy(out, num, a);
	memcpy(out + a, suffix, b + 1);
	return out;
}

char *fpd_quantity_canonical(const char *s)
{
	i128 nano;
	enum qformat fmt;
	if (!parse(s, &nano, &fmt))
		return NULL;
	if (nano == 0)
		return fpd_strdup("0");
	i128 mag = nano < 0 ? -nano : nano;
	/* Binary only for whole numbers of at least 1024 (Go's CanonicalizeBytes). */
	if (fmt == BINARY_SI && (mag < 1024 * NANO || nano % NANO != 0))
		fmt = DECIMAL_SI;
	char num[48], *out;
	if (fmt == BINARY_SI) {
		static const char *const bin[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
		i128 v = nano / NANO;
		int k = 0;
		while (k < 6 && v % 1024 == 0) {
			v /= 1024;
			k++;
		}
		format_i128(v, num, sizeof(num));
		out = joined(num, bin[k]);
	} else {
		i128 m = nano;
		int exp = -9;
		while (exp < 18 && m % 1000 == 0) {
			m /= 1000;
			exp += 3;
		}
		format_i128(m, num, sizeof(num));
		if (fmt == DECIMAL_EXPONENT) {
			out = exp ? fpd_asprintf("%se%d", num, exp) : fpd_strdup(num);
		} else {
			static const char *const dec[] = {"n", "u", "m", "",  "k",
			                                  "M", "G", "T", "P", "E"};
			out = joined(num, dec[(exp + 9) / 3]);
		}
	}
	return out;
}
