/*
 * Go's text forms of durations, floats and times. Flyte puts them into messages and command
 * lines ("Grace period [3m0s] exceeded", {{ .Inputs.x }}); users and tools match on them, so
 * they are reproduced exactly rather than approximated with printf.
 */
#include "internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Drops trailing '0's of a fraction written after a '.', and the '.' if nothing is left. */
static void trim_fraction(char *s)
{
	size_t n = strlen(s);
	while (n > 1 && s[n - 1] == '0')
		s[--n] = '\0';
	if (n == 1 && s[0] == '.')
		s[0] = '\0';
}

void fpd_go_duration(int64_t ms, char *out, size_t size)
{
	if (ms == 0) {
		snprintf(out, size, "0s");
		return;
	}
	const char *sign = ms < 0 ? "-" : "";
	uint64_t u = ms < 0 ? (uint64_t)(-(ms + 1)) + 1 : (uint64_t)ms;
	if (u < 1000) {
		snprintf(out, size, "%s%" PRIu64 "ms", sign, u);
		return;
	}
	uint64_t h = u / 3600000, m = u / 60000 % 60, s = u / 1000 % 60;
	char frac[8];
	snprintf(frac, sizeof(frac), ".%03u", (unsigned)(u % 1000));
	trim_fraction(frac);
	if (h)
		snprintf(out, size, "%s%" PRIu64 "h%" PRIu64 "m%" PRIu64 "%ss", sign, h, m, s,
		         frac);
	else if (m)
		snprintf(out, size, "%s%" PRIu64 "m%" PRIu64 "%ss", sign, m, s, frac);
	else
		snprintf(out, size, "%s%" PRIu64 "%ss", sign, s, frac);
}

/* Shortest decimal digits that read back as v (v finite, non-zero): digits in d (no dot),
 * their count in *nd, the decimal exponent of the first digit in *exp. */
static void shortest_digits(double v, char d[20], int *nd, int *exp)
{
	char e[40];
	for (int p = 1; p <= 17; p++) {
		snprintf(e, sizeof(e), "%.*e", p - 1, v);
		if (strtod(e, NULL) == v)
			break;
	}
	const char *q = e + (e[0] == '-');
	*nd = 0;
	for (; *q && *q != 'e'; q++)
		if (*q != '.')
			d[(*nd)++] = *q;
	*exp = (int)strtol(q + 1, NULL, 10);
	while (*nd > 1 && d[*nd - 1] == '0')
		(*nd)--;
	d[*nd] = '\0';
}

void fpd_go_float(double v, char *out, size_t size)
{
	if (isnan(v) || isinf(v) || v == 0) {
		snprintf(out, size, "%s",
		         isnan(v)     ? "NaN"
		         : isinf(v)   ? (v > 0 ? "+Inf" : "-Inf")
		         : signbit(v) ? "-0"
		                      : "0");
		return;
	}
	char d[20];
	int nd, exp;
	shortest_digits(v, d, &nd, &exp);
	const char *sign = v < 0 ? "-" : "";
	/* strconv 'g' with the shortest precision switches to %e outside [1e-4, 1e6). */
	if (exp < -4 || exp >= 6) {
		snprintf(out, size, "%s%c%s%se%c%02d", sign, d[0], nd > 1 ? "." : "", d + 1,
		         exp < 0 ? '-' : '+', abs(exp));
		return;
	}
	char zeros[8] = "00000"; /* at most 5 are needed: -4 <= exp < 6 */
	int dp = exp + 1;        /* digits before the decimal point */
	if (dp <= 0)
		snprintf(out, size, "%s0.%.*s%s", sign, -dp, zeros, d);
	else if (dp >= nd)
		snprintf(out, size, "%s%s%.*s", sign, d, dp - nd, zeros);
	else
		snprintf(out, size, "%s%.*s.%s", sign, dp, d, d + dp);
}

int fpd_go_rfc3339(int64_t sec, int32_t nanos, char *out, size_t size)
{
	/* time.Format writes 4-digit years; ptypes rejects anything outside 0001-9999. */
	if (sec < -62135596800LL || sec > 253402300799LL)
		return -1;
	time_t t = (time_t)sec;
	struct tm tm;
	gmtime_r(&t, &tm);
	char frac[12] = "";
	if (nanos > 0) {
		snprintf(frac, sizeof(frac), ".%09d", (int)nanos);
		trim_fraction(frac);
	}
	snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900, tm.tm_mon + 1,
	         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
	return 0;
}
