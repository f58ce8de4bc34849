#include "core/json_text.h"
#include "fpd_test.h"

#include <stdint.h>

/* fpd_json_text(v) is json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY [| JSON_SORT_KEYS]). */
static void same_as_jansson(const json_t *v)
{
	for (int sorted = 0; sorted <= 1; sorted++) {
		char *want =
		    json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | (sorted ? JSON_SORT_KEYS : 0));
		size_t len = 0;
		char *got = fpd_json_text(v, sorted, &len);
		ck_assert_ptr_nonnull(want);
		ck_assert_ptr_nonnull(got);
		ck_assert_str_eq(got, want);
		ck_assert_uint_eq(len, strlen(want));
		free(want);
		free(got);
	}
}

static void fixture_file(const char *name, void *dir)
{
	char rel[512];
	snprintf(rel, sizeof(rel), "%s/%s", (const char *)dir, name);
	json_error_t jerr;
	json_t *v = json_load_file(fpd_fixture(rel), 0, &jerr);
	ck_assert_msg(v != NULL, "%s: %s", rel, jerr.text);
	same_as_jansson(v);
	json_decref(v);
}

/* Every JSON fixture of the plugins (templates, built objects, watch events). */
START_TEST(fixtures_equal_jansson)
{
	static const char *const dirs[] = {"pod/build",   "pod/status",     "pod/logs",
	                                   "spark/build", "kubeflow/build", "ray/build",
	                                   "dask/build"};
	size_t n = 0;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		n += fpd_fixture_each(dirs[i], ".json", NULL, fixture_file, (void *)dirs[i]);
	ck_assert_uint_gt(n, 20);
}
END_TEST

START_TEST(scalars_and_escapes)
{
	json_t *v = json_pack("[s,s,s,s,I,I,I,i,f,f,f,b,b,n,{},[]]", "plain", "",
	                      "quote \" backslash \\ slash / tab \t nl \n cr \r bs \b ff \f",
	                      "é ü 日本 😀 \x7f", (json_int_t)INT64_MAX, (json_int_t)INT64_MIN,
	                      (json_int_t)-1, 0, 1.5, -0.001, 1e300, 1, 0);
	json_array_append_new(v, json_stringn("a\0b\x01\x1f", 5)); /* NUL and controls: \u00XX */
	json_t *o = json_object();
	json_object_set_new(o, "zeta", json_integer(1));
	json_object_set_new(o, "alpha", v);
	json_object_set_new(o, "Beta \"q\"", json_string("x"));
	json_object_setn_new(o, "k\0z", 3, json_true());
	json_object_setn_new(o, "k", 1, json_false());
	same_as_jansson(o);
	char *t = fpd_json_text(o, true, NULL);
	ck_assert_ptr_nonnull(strstr(t, "\"a\\u0000b\\u0001\\u001F\""));
	ck_assert(strncmp(t, "{\"Beta \\\"q\\\"\":", 14) == 0);
	free(t);
	json_decref(o);
}
END_TEST

START_TEST(refuses_what_jansson_refuses)
{
	/* Invalid UTF-8 (unchecked strings): a lone continuation byte, an overlong form, a
	 * surrogate, past U+10FFFF, a truncated sequence. */
	static const char *const bad[] = {"\x80", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
	                                  "ok \xe6\x97"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *s = json_string_nocheck(bad[i]);
		ck_assert_ptr_null(json_dumps(s, JSON_ENCODE_ANY));
		ck_assert_ptr_null(fpd_json_text(s, false, NULL));
		json_t *o = json_object();
		json_object_set_new_nocheck(o, bad[i], json_null()); /* as a key too */
		ck_assert_ptr_null(fpd_json_text(o, false, NULL));
		json_decref(o);
		json_decref(s);
	}
	/* Past the depth bound (as a cycle would be). */
	json_t *deep = json_array(), *inner = deep;
	for (int i = 0; i < FPD_JSON_TEXT_MAX_DEPTH + 1; i++) {
		json_t *a = json_array();
		json_array_append_new(inner, a);
		inner = a;
	}
	ck_assert_ptr_null(fpd_json_text(deep, false, NULL));
	json_decref(deep);
}
END_TEST

START_TEST(writer)
{
	struct fpd_json_writer w = {0};
	fpd_json_writer_raw(&w, "{\"k\":");
	fpd_json_writer_string(&w, "a\"b\n");
	fpd_json_writer_raw(&w, ",\"n\":");
	fpd_json_writer_int(&w, -42);
	fpd_json_writer_raw(&w, "}");
	char *t = fpd_json_writer_finish(&w);
	ck_assert_str_eq(t, "{\"k\":\"a\\\"b\\n\",\"n\":-42}");
	free(t);
	ck_assert_ptr_null(w.data);
	fpd_json_writer_string(&w, "\xff");
	ck_assert_ptr_null(fpd_json_writer_finish(&w)); /* not UTF-8: refused, nothing leaked */
	ck_assert(!w.failed);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("core/json_text");
	TCase *tc = tcase_create("json_text");
	tcase_add_test(tc, fixtures_equal_jansson);
	tcase_add_test(tc, scalars_and_escapes);
	tcase_add_test(tc, refuses_what_jansson_refuses);
	tcase_add_test(tc, writer);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
