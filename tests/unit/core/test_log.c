#include "core/log.h"
#include "fpd_test.h"

#include <jansson.h>

/* Runs one log call into a temporary file and returns what was written (new string). */
static char *capture(enum fpd_log_level threshold, enum fpd_log_format format,
                     enum fpd_log_level level, const char *msg)
{
	FILE *f = tmpfile();
	ck_assert_ptr_nonnull(f);
	fpd_log_setup(threshold, format, f);
	fpd_log(level, "test", "%s", msg);
	fpd_log_setup(FPD_LOG_INFO, FPD_LOG_TEXT, NULL);
	long n = ftell(f);
	rewind(f);
	char *out = calloc(1, (size_t)n + 1);
	ck_assert_uint_eq(fread(out, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return out;
}

START_TEST(json_line_is_valid_json)
{
	const char *nasty = "quote\" backslash\\ newline\n tab\t bell\a del\x7f end";
	char *line = capture(FPD_LOG_DEBUG, FPD_LOG_JSON, FPD_LOG_WARN, nasty);
	/* Exactly one line. */
	char *nl = strchr(line, '\n');
	ck_assert_ptr_nonnull(nl);
	ck_assert_str_eq(nl, "\n");
	json_error_t jerr;
	json_t *obj = json_loads(line, 0, &jerr);
	ck_assert_msg(obj != NULL, "not JSON (%s): %s", jerr.text, line);
	ck_assert_str_eq(json_string_value(json_object_get(obj, "level")), "warn");
	ck_assert_str_eq(json_string_value(json_object_get(obj, "component")), "test");
	ck_assert_str_eq(json_string_value(json_object_get(obj, "msg")), nasty);
	ck_assert_ptr_nonnull(json_string_value(json_object_get(obj, "ts")));
	json_decref(obj);
	free(line);
}
END_TEST

START_TEST(text_is_one_line)
{
	char *line = capture(FPD_LOG_INFO, FPD_LOG_TEXT, FPD_LOG_ERROR, "two\nlines");
	ck_assert_ptr_nonnull(strstr(line, "ERROR test: two lines\n"));
	ck_assert_ptr_eq(strchr(line, '\n'), line + strlen(line) - 1);
	free(line);
}
END_TEST

START_TEST(threshold_filters)
{
	char *line = capture(FPD_LOG_WARN, FPD_LOG_TEXT, FPD_LOG_INFO, "hidden");
	ck_assert_str_eq(line, "");
	free(line);
	ck_assert_int_eq(fpd_log_level_parse("debug"), FPD_LOG_DEBUG);
	ck_assert_int_eq(fpd_log_level_parse("warning"), FPD_LOG_WARN);
	ck_assert_int_eq(fpd_log_level_parse("loud"), -1);
	ck_assert_int_eq(fpd_log_format_parse("json"), FPD_LOG_JSON);
	ck_assert_int_eq(fpd_log_format_parse("xml"), -1);
}
END_TEST

START_TEST(long_message_truncated_not_split)
{
	char *big = malloc(3 * FPD_LOG_LINE);
	memset(big, 'y', 3 * FPD_LOG_LINE - 1);
	big[3 * FPD_LOG_LINE - 1] = '\0';
	char *line = capture(FPD_LOG_INFO, FPD_LOG_JSON, FPD_LOG_INFO, big);
	ck_assert_ptr_eq(strchr(line, '\n'), line + strlen(line) - 1);
	json_t *obj = json_loads(line, 0, NULL);
	ck_assert_ptr_nonnull(obj);
	ck_assert_uint_eq(strlen(json_string_value(json_object_get(obj, "msg"))), FPD_LOG_LINE - 1);
	json_decref(obj);
	free(line);
	free(big);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("core/log");
	TCase *tc = tcase_create("log");
	tcase_add_test(tc, json_line_is_valid_json);
	tcase_add_test(tc, text_is_one_line);
	tcase_add_test(tc, threshold_filters);
	tcase_add_test(tc, long_message_truncated_not_split);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
