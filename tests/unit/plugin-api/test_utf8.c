/* UTF-8 validation (utf8.c): what jansson accepts, byte for byte, and what it refuses. */
#include <flyteplugd/mem.h>
#include <flyteplugd/utf8.h>

#include "fpd_test.h"

#include <jansson.h>
#include <string.h>

static const struct {
	const char *s;
	size_t n; /* 0: strlen */
	bool valid;
} cases[] = {
    {"", 0, true},
    {"plain", 0, true},
    {"nul\0inside", 10, true},
    {"\xc3\xa9", 0, true},          /* U+00E9 */
    {"\xe2\x82\xac", 0, true},      /* U+20AC */
    {"\xf0\x9f\x98\x80", 0, true},  /* U+1F600 */
    {"\xf4\x8f\xbf\xbf", 0, true},  /* U+10FFFF */
    {"\xc0\xaf", 0, false},         /* overlong '/' */
    {"\xe0\x80\xaf", 0, false},     /* overlong, 3 bytes */
    {"\xed\xa0\x80", 0, false},     /* a surrogate */
    {"\xf4\x90\x80\x80", 0, false}, /* past U+10FFFF */
    {"\x80", 0, false},             /* a lone continuation byte */
    {"\xe2\x82", 0, false},         /* truncated */
    {"\xc3\x28", 0, false},         /* a bad continuation */
};

START_TEST(validity)
{
	const char *s = cases[_i].s;
	size_t n = cases[_i].n ? cases[_i].n : strlen(s);
	ck_assert_msg(fpd_utf8_valid(s, n) == cases[_i].valid, "case %d: expected %s", _i,
	              cases[_i].valid ? "valid" : "invalid");
	/* jansson agrees (it takes NUL bytes only through the length-counted call). */
	json_t *j = json_stringn(s, n);
	ck_assert_msg((j != NULL) == cases[_i].valid, "case %d: jansson disagrees", _i);
	json_decref(j);
}
END_TEST

START_TEST(sequence_lengths)
{
	ck_assert_uint_eq(fpd_utf8_sequence((const unsigned char *)"\xc3\xa9z", 3), 2);
	ck_assert_uint_eq(fpd_utf8_sequence((const unsigned char *)"\xf0\x9f\x98\x80", 4), 4);
	ck_assert_uint_eq(fpd_utf8_sequence((const unsigned char *)"\xf0\x9f\x98\x80", 3), 0);
	ck_assert_uint_eq(fpd_utf8_sequence((const unsigned char *)"a", 1), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lib/utf8");
	TCase *tc = tcase_create("all");
	tcase_add_loop_test(tc, validity, 0, (int)FPD_ARRAY_LEN(cases));
	tcase_add_test(tc, sequence_lengths);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
