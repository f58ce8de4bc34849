/* Bounded buffers (buf.c): growth, the maximum, printf, consume and steal. */
#include <flyteplugd/buf.h>
#include <flyteplugd/error.h>
#include "fpd_test.h"

START_TEST(append_within_max)
{
	struct fpd_buf b;
	fpd_buf_init(&b, 10);
	ck_assert_int_eq(fpd_buf_append_str(&b, "hello"), FPD_OK);
	ck_assert_int_eq(fpd_buf_append_str(&b, "world"), FPD_OK);
	ck_assert_str_eq(b.data, "helloworld");
	ck_assert_uint_eq(b.len, 10);
	/* One more byte passes the maximum: refused, buffer unchanged. */
	ck_assert_int_eq(fpd_buf_append_byte(&b, '!'), FPD_ERANGE);
	ck_assert_str_eq(b.data, "helloworld");
	fpd_buf_free(&b);
}
END_TEST

START_TEST(printf_respects_max)
{
	struct fpd_buf b;
	fpd_buf_init(&b, 8);
	ck_assert_int_eq(fpd_buf_printf(&b, "%d-%s", 42, "ab"), FPD_OK);
	ck_assert_str_eq(b.data, "42-ab");
	ck_assert_int_eq(fpd_buf_printf(&b, "%s", "abcd"), FPD_ERANGE);
	ck_assert_str_eq(b.data, "42-ab");
	fpd_buf_free(&b);
}
END_TEST

START_TEST(consume_and_steal)
{
	struct fpd_buf b;
	fpd_buf_init(&b, 1 << 20);
	for (int i = 0; i < 1000; i++)
		ck_assert_int_eq(fpd_buf_printf(&b, "%03d", i % 1000), FPD_OK);
	ck_assert_uint_eq(b.len, 3000);
	fpd_buf_consume(&b, 2997);
	ck_assert_str_eq(b.data, "999");
	size_t len;
	char *s = fpd_buf_steal(&b, &len);
	ck_assert_uint_eq(len, 3);
	ck_assert_str_eq(s, "999");
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
	free(s);
	/* Stealing an empty buffer still gives a valid empty string. */
	s = fpd_buf_steal(&b, &len);
	ck_assert_str_eq(s, "");
	free(s);
}
END_TEST

START_TEST(binary_data)
{
	struct fpd_buf b;
	fpd_buf_init(&b, 16);
	const unsigned char bytes[] = {0, 1, 2, 0, 255};
	ck_assert_int_eq(fpd_buf_append(&b, bytes, sizeof(bytes)), FPD_OK);
	ck_assert_uint_eq(b.len, 5);
	ck_assert_mem_eq(b.data, bytes, 5);
	ck_assert_int_eq(b.data[5], 0);
	fpd_buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	fpd_buf_free(&b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lib/buf");
	TCase *tc = tcase_create("buf");
	tcase_add_test(tc, append_within_max);
	tcase_add_test(tc, printf_respects_max);
	tcase_add_test(tc, consume_and_steal);
	tcase_add_test(tc, binary_data);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
