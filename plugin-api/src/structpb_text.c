/*
 * Text forms of proto3 JSON values: see structpb_text.h. Each parser follows the Go function
 * jsonpb ends up in (strconv.ParseInt, strconv.ParseFloat, time.ParseDuration, time.Parse with
 * RFC3339Nano), because what flyteplugd accepts must match what FlytePropeller accepts.
 */
#include "structpb_text.h"

#include <flyteplugd/error.h>
#include <flyteplugd/mem.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_S 1000000000LL
#define TWO_TO_63 ((uint64_t)1 << 63)

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Counts the digits at s[i..len). */
static size_t digits_at(const char *s, size_t len, size_t i)
{
	size_t n = 0;
	while (i + n < len && is_digit(s[i + n]))
		n++;
	return n;
}

int fpd_pbtext_integer(const char *s, size_t len, bool *neg, uint64_t *magnitude)
{
	size_t i = 0;
	uint64_t v = 0;
	*neg = len > 0 && s[0] == '-';
	if (*neg)
		i++;
	size_t n = digits_at(s, len, i);
	/* JSON forbids leading zeros ("007") and encoding/json follows it. */
	if (n == 0 || i + n != len || (s[i] == '0' && n > 1))
		return FPD_EINVAL;
	for (; i < len; i++) {
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return FPD_ERANGE;
		v = v * 10 + d;
	}
	*magnitude = v;
	return FPD_OK;
}

/* Length of the JSON number literal at the start of s, 0 if there is none. */
static size_t number_syntax(const char *s, size_t len)
{
	size_t i = s[0] == '-' ? 1 : 0;
	size_t n = digits_at(s, len, i);
	if (n == 0 || (s[i] == '0' && n > 1))
		return 0;
	i += n;
	if (i < len && s[i] == '.') {
		n = digits_at(s, len, i + 1);
		if (n == 0)
			return 0;
		i += 1 + n;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		n = digits_at(s, len, i);
		if (n == 0)
			return 0;
		i += n;
	}
	return i;
}

int fpd_pbtext_number(const char *s, size_t len, double *out)
{
	/* The syntax check leaves strtod nothing locale- or hex-dependent to interpret. */
	if (len == 0 || number_syntax(s, len) != len)
		return FPD_EINVAL;
	char *copy = fpd_strndup(s, len);
	double d = strtod(copy, NULL);
	free(copy);
	if (isinf(d))
		return FPD_ERANGE;
	*out = d;
	return FPD_OK;
}

static const struct {
	const char *name;
	uint64_t ns;
} duration_units[] = {
    {"ns", 1},           {"us", 1000},      {"\xc2\xb5s", 1000}, /* U+00B5 micro sign */
    {"\xce\xbcs", 1000},                                         /* U+03BC Greek mu */
    {"ms", 1000000},     {"s", 1000000000}, {"m", 60000000000},  {"h", 3600000000000},
};

/* Digits before a unit, as Go's leadingInt: FPD_ERANGE past 2^63. */
static int duration_int(const char *s, size_t len, size_t *i, uint64_t *out)
{
	uint64_t x = 0;
	for (; *i < len && is_digit(s[*i]); (*i)++) {
		if (x > TWO_TO_63 / 10)
			return FPD_ERANGE;
		x = x * 10 + (uint64_t)(s[*i] - '0');
		if (x > TWO_TO_63)
			return FPD_ERANGE;
	}
	*out = x;
	return FPD_OK;
}

/* Digits after the point, as Go's leadingFraction: digits past what fits are skipped. */
static void duration_fraction(const char *s, size_t len, size_t *i, uint64_t *f, double *scale)
{
	bool overflow = false;
	*f = 0;
	*scale = 1;
	for (; *i < len && is_digit(s[*i]); (*i)++) {
		if (overflow)
			continue;
		uint64_t y = *f * 10 + (uint64_t)(s[*i] - '0');
		if (*f > (TWO_TO_63 - 1) / 10 || y > TWO_TO_63) {
			overflow = true;
			continue;
		}
		*f = y;
		*scale *= 10;
	}
}

/* The unit after a number: every byte up to the next digit or point. 0 if unknown. */
static uint64_t duration_unit(const char *s, size_t len, size_t *i)
{
	size_t start = *i;
	while (*i < len && s[*i] != '.' && !is_digit(s[*i]))
		(*i)++;
	size_t n = *i - start;
	for (size_t u = 0; u < FPD_ARRAY_LEN(duration_units); u++) {
		if (strlen(duration_units[u].name) == n &&
		    memcmp(duration_units[u].name, s + start, n) == 0)
			return duration_units[u].ns;
	}
	return 0;
}

/* One "<number><unit>" term in nanoseconds. */
static int duration_term(const char *s, size_t len, size_t *i, uint64_t *out)
{
	uint64_t v = 0, f = 0;
	double scale = 1;
	size_t start = *i;
	if (!is_digit(s[*i]) && s[*i] != '.')
		return FPD_EINVAL;
	int rc = duration_int(s, len, i, &v);
	if (rc != FPD_OK)
		return rc;
	bool pre = *i != start, post = false;
	if (*i < len && s[*i] == '.') {
		size_t frac_start = ++*i;
		duration_fraction(s, len, i, &f, &scale);
		post = *i != frac_start;
	}
	if (!pre && !post)
		return FPD_EINVAL;
	uint64_t unit = duration_unit(s, len, i);
	if (unit == 0)
		return FPD_EINVAL;
	if (v > TWO_TO_63 / unit)
		return FPD_ERANGE;
	v *= unit;
	if (f > 0) {
		/* Go does this in float64 too; the result is at most 3.6e12 (ns per hour). */
		v += (uint64_t)((double)f * ((double)unit / scale));
		if (v > TWO_TO_63)
			return FPD_ERANGE;
	}
	*out = v;
	return FPD_OK;
}

int fpd_pbtext_duration(const char *s, size_t len, int64_t *seconds, int32_t *nanos)
{
	size_t i = 0;
	bool neg = false;
	uint64_t total = 0;
	if (len > 0 && (s[0] == '-' || s[0] == '+')) {
		neg = s[0] == '-';
		i = 1;
	}
	if (len - i == 1 && s[i] == '0') {
		*seconds = 0;
		*nanos = 0;
		return FPD_OK;
	}
	if (i == len)
		return FPD_EINVAL;
	while (i < len) {
		uint64_t term;
		int rc = duration_term(s, len, &i, &term);
		if (rc != FPD_OK)
			return rc;
		total += term;
		if (total > TWO_TO_63)
			return FPD_ERANGE;
	}
	if (!neg && total == TWO_TO_63)
		return FPD_ERANGE;
	int64_t ns = total == TWO_TO_63 ? INT64_MIN : (int64_t)total;
	if (neg && ns != INT64_MIN)
		ns = -ns;
	*seconds = ns / NS_PER_S;
	*nanos = (int32_t)(ns % NS_PER_S);
	return FPD_OK;
}

/* A fixed-width decimal field in [min, max]; -1 if not. */
static int fixed_field(const char *s, size_t width, int min, int max)
{
	int v = 0;
	for (size_t i = 0; i < width; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v >= min && v <= max ? v : -1;
}

static int days_in_month(int year, int month)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	return month == 2 && leap ? 29 : days[month - 1];
}

/* Days from 1970-01-01 to the given proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* "Z" or "+HH:MM" / "-HH:MM" at s: the offset east of UTC in seconds, via *offset. */
static int timestamp_zone(const char *s, size_t len, int64_t *offset)
{
	if (len == 1 && s[0] == 'Z') {
		*offset = 0;
		return FPD_OK;
	}
	if (len != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':')
		return FPD_EINVAL;
	int hh = fixed_field(s + 1, 2, 0, 23), mm = fixed_field(s + 4, 2, 0, 59);
	if (hh < 0 || mm < 0)
		return FPD_EINVAL;
	*offset = (int64_t)(hh * 60 + mm) * 60 * (s[0] == '-' ? -1 : 1);
	return FPD_OK;
}

int fpd_pbtext_timestamp(const char *s, size_t len, int64_t *seconds, int32_t *nanos)
{
	if (len < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':')
		return FPD_EINVAL;
	int year = fixed_field(s, 4, 0, 9999), month = fixed_field(s + 5, 2, 1, 12);
	if (year < 0 || month < 0)
		return FPD_EINVAL;
	int day = fixed_field(s + 8, 2, 1, days_in_month(year, month));
	int hour = fixed_field(s + 11, 2, 0, 23), min = fixed_field(s + 14, 2, 0, 59);
	int sec = fixed_field(s + 17, 2, 0, 59);
	if (day < 0 || hour < 0 || min < 0 || sec < 0)
		return FPD_EINVAL;
	size_t i = 19;
	int32_t ns = 0;
	/* Go's fast path takes only '.'; its general parser (the fallback) also takes ','. */
	if (i + 1 < len && (s[i] == '.' || s[i] == ',') && is_digit(s[i + 1])) {
		size_t n = digits_at(s, len, i + 1);
		for (size_t k = 0; k < 9; k++)
			ns = ns * 10 + (k < n ? s[i + 1 + k] - '0' : 0);
		i += 1 + n;
	}
	int64_t offset;
	if (timestamp_zone(s + i, len - i, &offset) != FPD_OK)
		return FPD_EINVAL;
	*seconds =
	    days_from_civil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec - offset;
	*nanos = ns;
	return FPD_OK;
}
