/* Pure parts of the informer: JSON Pointer lookup used by projections (kube/informer.h).
 * The list+watch state machine is tested against a real API server in tests/e2e/kube. */
#include "kube/informer.h"
#include "fpd_test.h"

START_TEST(json_pointer)
{
	json_t *doc = json_loads("{\"metadata\":{\"labels\":{\"app.kubernetes.io/name\":\"x\","
	                         "\"a~b\":\"tilde\"}},\"status\":{\"conditions\":[{\"type\":\"A\"},"
	                         "{\"type\":\"B\"}],\"phase\":\"Running\"},\"\":{\"e\":1}}",
	                         0, NULL);
	ck_assert_ptr_nonnull(doc);
	ck_assert_ptr_eq(fpd_kube_json_pointer(doc, ""), doc);
	ck_assert_str_eq(json_string_value(fpd_kube_json_pointer(doc, "/status/phase")), "Running");
	ck_assert_str_eq(json_string_value(fpd_kube_json_pointer(
	                     doc, "/metadata/labels/app.kubernetes.io~1name")),
	                 "x");
	ck_assert_str_eq(json_string_value(fpd_kube_json_pointer(doc, "/metadata/labels/a~0b")),
	                 "tilde");
	ck_assert_str_eq(json_string_value(fpd_kube_json_pointer(doc, "/status/conditions/1/type")),
	                 "B");
	ck_assert_int_eq(json_integer_value(fpd_kube_json_pointer(doc, "//e")), 1);
	ck_assert_ptr_null(fpd_kube_json_pointer(doc, "/status/conditions/2/type"));
	ck_assert_ptr_null(fpd_kube_json_pointer(doc, "/status/conditions/01"));
	ck_assert_ptr_null(fpd_kube_json_pointer(doc, "/status/conditions/-"));
	ck_assert_ptr_null(fpd_kube_json_pointer(doc, "/status/phase/x"));
	ck_assert_ptr_null(fpd_kube_json_pointer(doc, "status"));
	ck_assert_ptr_null(fpd_kube_json_pointer(doc, "/metadata/labels/a~2b"));
	json_decref(doc);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kube_informer");
	TCase *tc = tcase_create("all");
	tcase_add_test(tc, json_pointer);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
