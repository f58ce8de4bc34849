/*
 * The text forms behind proto3 JSON (structpb_text.c), each checked against what the Go function
 * jsonpb relies on gives for the same input (strconv, time.ParseDuration,
 * time.Parse(RFC3339Nano)).
 */
#include <flyteplugd/error.h>
#include <flyteplugd/mem.h>
#include "structpb_text.h" /* plugin-api/src: internal to libflyteplugd */
#include "fpd_test.h"

#include <math.h>
#include <stdint.h>

static const struct {
	const char *in;
	int rc;
	bool neg;
	uint64_t mag;
} integers[] = {
    {"0", FPD_OK, false, 0},
    {"-0", FPD_OK, true, 0},
    {"42", FPD_OK, false, 42},
    {"-2147483648", FPD_OK, true, 2147483648u},
    {"18446744073709551615", FPD_OK, false, UINT64_MAX},
    {"18446744073709551616", FPD_ERANGE, false, 0},
    {"99999999999999999999999", FPD_ERANGE, false, 0},
    {"", FPD_EINVAL, false, 0},
    {"-", FPD_EINVAL, false, 0},
    {"007", FPD_EINVAL, false, 0},
    {"+1", FPD_EINVAL, false, 0},
    {" 1", FPD_EINVAL, false, 0},
    {"1 ", FPD_EINVAL, false, 0},
    {"1.0", FPD_EINVAL, false, 0},
    {"1e3", FPD_EINVAL, false, 0},
    {"0x10", FPD_EINVAL, false, 0},
};

START_TEST(integer_literals)
{
	const char *in = integers[_i].in;
	bool neg = !integers[_i].neg;
	uint64_t mag = 12345;
	int rc = fpd_pbtext_integer(in, strlen(in), &neg, &mag);
	ck_assert_msg(rc == integers[_i].rc, "\"%s\": expected rc %d, got %d", in, integers[_i].rc,
	              rc);
	if (rc == FPD_OK) {
		ck_assert_msg(neg == integers[_i].neg && mag == integers[_i].mag,
		              "\"%s\": expected %s%llu, got %s%llu", in,
		              integers[_i].neg ? "-" : "", (unsigned long long)integers[_i].mag,
		              neg ? "-" : "", (unsigned long long)mag);
	}
}
END_TEST

START_TEST(integer_not_nul_terminated)
{
	bool neg;
	uint64_t mag;
	/* Only the first two bytes count: "12", not "123". */
	ck_assert_int_eq(fpd_pbtext_integer("123", 2, &neg, &mag), FPD_OK);
	ck_assert_uint_eq(mag, 12);
}
END_TEST

static const struct {
	const char *in;
	int rc;
	double want;
} numbers[] = {
    {"0", FPD_OK, 0},         {"-1.5", FPD_OK, -1.5},    {"1e3", FPD_OK, 1000},
    {"2.5E-1", FPD_OK, 0.25}, {"1e-400", FPD_OK, 0}, /* underflow is 0 in Go too */
    {"1e400", FPD_ERANGE, 0}, {"-1e400", FPD_ERANGE, 0}, {"", FPD_EINVAL, 0},
    {".5", FPD_EINVAL, 0},    {"5.", FPD_EINVAL, 0},     {"01", FPD_EINVAL, 0},
    {"1e", FPD_EINVAL, 0},    {"0x1p3", FPD_EINVAL, 0},  {"inf", FPD_EINVAL, 0},
    {"NaN", FPD_EINVAL, 0}, /* the special strings are handled by the caller, exactly */
    {" 1", FPD_EINVAL, 0},
};

START_TEST(number_literals)
{
	const char *in = numbers[_i].in;
	double d = -99;
	int rc = fpd_pbtext_number(in, strlen(in), &d);
	ck_assert_msg(rc == numbers[_i].rc, "\"%s\": expected rc %d, got %d", in, numbers[_i].rc,
	              rc);
	if (rc == FPD_OK)
		ck_assert_msg(d == numbers[_i].want, "\"%s\": expected %g, got %g", in,
		              numbers[_i].want, d);
}
END_TEST

static const struct {
	const char *in;
	int rc;
	int64_t sec;
	int32_t ns;
} durations[] = {
    {"1.5s", FPD_OK, 1, 500000000},
    {"-3s", FPD_OK, -3, 0},
    {"0.000000001s", FPD_OK, 0, 1},
    {"-1.5s", FPD_OK, -1, -500000000}, /* nanos carry the sign, as jsonpb splits it */
    {"0", FPD_OK, 0, 0},
    {"+0", FPD_OK, 0, 0},
    {"1h2m3.5s", FPD_OK, 3723, 500000000},
    {"300ms", FPD_OK, 0, 300000000},
    {"1.5h", FPD_OK, 5400, 0},
    {"2us", FPD_OK, 0, 2000},
    {"2\xc2\xb5s", FPD_OK, 0, 2000},
    {"2\xce\xbcs", FPD_OK, 0, 2000},
    {"7ns", FPD_OK, 0, 7},
    {".5s", FPD_OK, 0, 500000000},
    {"1.s", FPD_OK, 1, 0},
    {"2562047h", FPD_OK, 9223369200, 0},
    {"9223372036854775807ns", FPD_OK, 9223372036, 854775807},
    {"-9223372036854775808ns", FPD_OK, -9223372036, -854775808},
    {"9223372036854775808ns", FPD_ERANGE, 0, 0},
    {"2562048h", FPD_ERANGE, 0, 0},
    {"99999999999999999999s", FPD_ERANGE, 0, 0},
    {"", FPD_EINVAL, 0, 0},
    {"-", FPD_EINVAL, 0, 0},
    {"1", FPD_EINVAL, 0, 0}, /* a unit is required except for "0" */
    {"00", FPD_EINVAL, 0, 0},
    {"1d", FPD_EINVAL, 0, 0},
    {"s", FPD_EINVAL, 0, 0},
    {".s", FPD_EINVAL, 0, 0},
    {"1s ", FPD_EINVAL, 0, 0},
    {"1S", FPD_EINVAL, 0, 0},
};

START_TEST(duration_forms)
{
	const char *in = durations[_i].in;
	int64_t sec = -77;
	int32_t ns = -77;
	int rc = fpd_pbtext_duration(in, strlen(in), &sec, &ns);
	ck_assert_msg(rc == durations[_i].rc, "\"%s\": expected rc %d, got %d", in,
	              durations[_i].rc, rc);
	if (rc == FPD_OK)
		ck_assert_msg(sec == durations[_i].sec && ns == durations[_i].ns,
		              "\"%s\": expected %lld s %d ns, got %lld s %d ns", in,
		              (long long)durations[_i].sec, durations[_i].ns, (long long)sec, ns);
}
END_TEST

static const struct {
	const char *in;
	int rc;
	int64_t sec;
	int32_t ns;
} timestamps[] = {
    {"1970-01-01T00:00:00Z", FPD_OK, 0, 0},
    {"2024-02-29T12:30:00.5+01:00", FPD_OK, 1709206200, 500000000},
    {"2009-11-10T23:00:00.123456789123Z", FPD_OK, 1257894000, 123456789},
    {"2009-11-10T23:00:00,25Z", FPD_OK, 1257894000, 250000000},
    {"1969-12-31T23:59:59-00:30", FPD_OK, 1799, 0},
    {"0000-01-01T00:00:00Z", FPD_OK, -62167219200, 0},
    {"9999-12-31T23:59:59Z", FPD_OK, 253402300799, 0},
    {"2023-02-29T00:00:00Z", FPD_EINVAL, 0, 0},
    {"2024-13-01T00:00:00Z", FPD_EINVAL, 0, 0},
    {"2024-01-01T24:00:00Z", FPD_EINVAL, 0, 0},
    {"2024-01-01T00:00:60Z", FPD_EINVAL, 0, 0},
    {"2024-01-01 00:00:00Z", FPD_EINVAL, 0, 0},
    {"2024-01-01T00:00:00z", FPD_EINVAL, 0, 0},
    {"2024-01-01T00:00:00", FPD_EINVAL, 0, 0},
    {"2024-01-01T00:00:00+0100", FPD_EINVAL, 0, 0},
    {"2024-01-01T00:00:00+24:00", FPD_EINVAL, 0, 0},
    {"2024-01-01T00:00:00.Z", FPD_EINVAL, 0, 0},
    {"2024-1-01T00:00:00Z", FPD_EINVAL, 0, 0},
    {"", FPD_EINVAL, 0, 0},
};

START_TEST(timestamp_forms)
{
	const char *in = timestamps[_i].in;
	int64_t sec = -77;
	int32_t ns = -77;
	int rc = fpd_pbtext_timestamp(in, strlen(in), &sec, &ns);
	ck_assert_msg(rc == timestamps[_i].rc, "\"%s\": expected rc %d, got %d", in,
	              timestamps[_i].rc, rc);
	if (rc == FPD_OK)
		ck_assert_msg(sec == timestamps[_i].sec && ns == timestamps[_i].ns,
		              "\"%s\": expected %lld s %d ns, got %lld s %d ns", in,
		              (long long)timestamps[_i].sec, timestamps[_i].ns, (long long)sec, ns);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lib/structpb_text");
	TCase *tc = tcase_create("text");
	tcase_add_loop_test(tc, integer_literals, 0, (int)FPD_ARRAY_LEN(integers));
	tcase_add_test(tc, integer_not_nul_terminated);
	tcase_add_loop_test(tc, number_literals, 0, (int)FPD_ARRAY_LEN(numbers));
	tcase_add_loop_test(tc, duration_forms, 0, (int)FPD_ARRAY_LEN(durations));
	tcase_add_loop_test(tc, timestamp_forms, 0, (int)FPD_ARRAY_LEN(timestamps));
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
