/*
 * The base64 codec (base64.c) in each of the modes its callers use, checked against what the
 * Go decoder each mirrors gives for the same input: protojson's bytes (either alphabet, padding
 * optional), Go's StdEncoding (Ray's runtime_env), kubeconfig data (whitespace skipped) and the
 * encoders (StdEncoding for co-pilot, RawURLEncoding for resource_meta signatures).
 */
#include <flyteplugd/base64.h>
#include <flyteplugd/error.h>
#include <flyteplugd/mem.h>

#include "fpd_test.h"

#include <string.h>

#define PROTOJSON (FPD_BASE64_EITHER | FPD_BASE64_NOPAD)
#define KUBE (FPD_BASE64_NOPAD | FPD_BASE64_SPACE)

static const struct {
	const char *in;
	unsigned flags;
	const char *out; /* NULL: must be refused */
} cases[] = {
    {"", PROTOJSON, ""},
    {"aGk=", PROTOJSON, "hi"},
    {"aGk", PROTOJSON, "hi"},
    {"aGVsbG8=", PROTOJSON, "hello"},
    {"aGVsbG8", PROTOJSON, "hello"},
    {"aGVsbG8h", PROTOJSON, "hello!"},
    {"+/8=", PROTOJSON, "\xfb\xff"},
    {"-_8=", PROTOJSON, "\xfb\xff"},
    {"-_8", PROTOJSON, "\xfb\xff"},
    {"aGk==", PROTOJSON, NULL}, /* padding where the length says there is none */
    {"aG=k", PROTOJSON, NULL},  /* padding in the middle */
    {"a", PROTOJSON, NULL},     /* a lone character carries no byte */
    {"aGVsb", PROTOJSON, NULL}, /* likewise after a full group */
    {"a===", PROTOJSON, NULL},  /* too much padding */
    {"+_8=", PROTOJSON, NULL},  /* mixed alphabets */
    {"aGk\n", PROTOJSON, NULL}, /* no whitespace */
    {"aGk*", PROTOJSON, NULL},
    {"aGk=", 0, "hi"}, /* Go's StdEncoding: padded, standard alphabet */
    {"aGk", 0, NULL},
    {"-_8=", 0, NULL},
    {"aGk=aGk=", 0, NULL},
    {"e30=", 0, "{}"},
    {"aGVs\nbG8=", KUBE, "hello"}, /* kubeconfig: whitespace anywhere, padding optional */
    {" aGVsbG8 \r\n", KUBE, "hello"},
    {"aGVsbG8", KUBE, "hello"},
    {"aGV$", KUBE, NULL},
    {"aGVsb", KUBE, NULL},
    {"aG==Vs", KUBE, NULL},
    {"-_8", FPD_BASE64_URL | FPD_BASE64_NOPAD, "\xfb\xff"},
    {"+/8", FPD_BASE64_URL | FPD_BASE64_NOPAD, NULL},
};

START_TEST(decode)
{
	const char *in = cases[_i].in;
	uint8_t *data = (uint8_t *)"sentinel";
	size_t n = 99;
	int rc = fpd_base64_decode(in, strlen(in), cases[_i].flags, &data, &n);
	if (!cases[_i].out) {
		ck_assert_msg(rc == FPD_EINVAL, "\"%s\" (flags %u): expected EINVAL, got %d", in,
		              cases[_i].flags, rc);
		ck_assert_msg(n == 99 && !strcmp((char *)data, "sentinel"),
		              "\"%s\": outputs written on failure", in);
		return;
	}
	ck_assert_msg(rc == FPD_OK, "\"%s\" (flags %u): expected OK, got %d", in, cases[_i].flags,
	              rc);
	ck_assert_msg(n == strlen(cases[_i].out) && memcmp(data, cases[_i].out, n) == 0,
	              "\"%s\": decoded to %zu unexpected bytes", in, n);
	ck_assert_msg(data[n] == '\0', "\"%s\": output not NUL-terminated", in);
	free(data);
}
END_TEST

/* Every length of a 0..255 byte run, through each encoding and back. */
START_TEST(encode_round_trip)
{
	static const unsigned modes[] = {0, FPD_BASE64_NOPAD, FPD_BASE64_URL | FPD_BASE64_NOPAD,
	                                 FPD_BASE64_URL};
	uint8_t bytes[256];
	for (size_t i = 0; i < sizeof(bytes); i++)
		bytes[i] = (uint8_t)(255 - i);
	char text[FPD_BASE64_LEN(sizeof(bytes)) + 1];
	for (size_t m = 0; m < FPD_ARRAY_LEN(modes); m++) {
		for (size_t n = 0; n <= sizeof(bytes); n++) {
			size_t len = fpd_base64_encode(bytes, n, modes[m], text);
			size_t want = (modes[m] & FPD_BASE64_NOPAD) ? FPD_BASE64_RAW_LEN(n)
			                                            : FPD_BASE64_LEN(n);
			ck_assert_msg(len == want && strlen(text) == len,
			              "mode %u, %zu bytes: %zu characters, want %zu", modes[m], n,
			              len, want);
			uint8_t *back;
			size_t got;
			ck_assert_int_eq(
			    fpd_base64_decode(text, len, modes[m] | FPD_BASE64_NOPAD, &back, &got),
			    FPD_OK);
			ck_assert_msg(got == n && memcmp(back, bytes, n) == 0,
			              "mode %u, %zu bytes: round trip differs", modes[m], n);
			free(back);
		}
	}
}
END_TEST

/* The exact texts Go prints: StdEncoding and RawURLEncoding. */
START_TEST(encode_known)
{
	char out[32];
	fpd_base64_encode("hi", 2, 0, out);
	ck_assert_str_eq(out, "aGk=");
	fpd_base64_encode("\xfb\xff", 2, 0, out);
	ck_assert_str_eq(out, "+/8=");
	fpd_base64_encode("\xfb\xff", 2, FPD_BASE64_URL | FPD_BASE64_NOPAD, out);
	ck_assert_str_eq(out, "-_8");
	fpd_base64_encode("", 0, 0, out);
	ck_assert_str_eq(out, "");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lib/base64");
	TCase *tc = tcase_create("all");
	tcase_add_loop_test(tc, decode, 0, (int)FPD_ARRAY_LEN(cases));
	tcase_add_test(tc, encode_round_trip);
	tcase_add_test(tc, encode_known);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
