/* What an execution keeps of its object (exec_kept_object): the kept paths only, shared with
 * the object rather than copied, the object left as it was, the identity annotation left out. */
#include "fpd_test.h"

#include "engine/decorate.h"
#include "engine/exec.h"

#include <flyteplugd/object.h>
#include <string.h>


static void expect_json(const json_t *got, const char *want)
{
	json_t *w = fpd_test_json(want);
	char *g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);
	ck_assert_msg(json_equal(got, w), "got %s", g);
	free(g);
	json_decref(w);
}

#define POD                                                                                       \
	"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"namespace\":\"n\","  \
	"\"uid\":\"u\",\"resourceVersion\":\"9\",\"labels\":{\"a\":\"b\"},\"annotations\":{"         \
	"\"flyteplugd.flyte.org/task-execution\":\"{}\",\"x\":\"y\"},\"managedFields\":[{}]},"       \
	"\"spec\":{\"nodeName\":\"node\",\"containers\":[{\"name\":\"c1\",\"image\":\"i\","          \
	"\"env\":[{\"name\":\"E\",\"value\":\"v\"}]},{\"name\":\"c2\",\"image\":\"i\"}]},"           \
	"\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\"}]}}"

START_TEST(keeps_the_paths_and_shares_their_values)
{
	json_t *o = fpd_test_json(POD);
	char *before = json_dumps(o, JSON_SORT_KEYS);
	const char *keep[] = {"spec.containers[].name", "spec.nodeName", NULL};
	json_t *t = exec_kept_object(o, keep);
	expect_json(t, "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\","
	               "\"namespace\":\"n\",\"uid\":\"u\",\"labels\":{\"a\":\"b\"},"
	               "\"annotations\":{\"x\":\"y\"}},\"spec\":{\"nodeName\":\"node\","
	               "\"containers\":[{\"name\":\"c1\"},{\"name\":\"c2\"}]},"
	               "\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\"}]}}");
	/* Not copied: the same values. */
	ck_assert_ptr_eq(json_object_get(t, "status"), json_object_get(o, "status"));
	ck_assert_ptr_eq(fpd_json_get(t, "metadata.labels"), fpd_json_get(o, "metadata.labels"));
	/* The object is as it was, identity annotation included, also after the kept object's
	 * own parts change as an entry changes them. */
	json_object_del(json_object_get(t, "metadata"), "name");
	json_object_clear(fpd_json_get(t, "metadata.annotations"));
	char *after = json_dumps(o, JSON_SORT_KEYS);
	ck_assert_str_eq(after, before);
	ck_assert_ptr_ne(fpd_json_get(t, "metadata"), fpd_json_get(o, "metadata"));
	json_decref(t);
	json_decref(o);
	free(before);
	free(after);
}
END_TEST

START_TEST(fields_of_one_array_land_in_the_same_elements)
{
	json_t *o = fpd_test_json("{\"spec\":{\"replicatedJobs\":[{\"name\":\"a\",\"replicas\":1,"
	                "\"template\":{\"spec\":{\"parallelism\":2,\"x\":1}}},{\"name\":\"b\"}]}}");
	const char *keep[] = {"spec.replicatedJobs[].name",
	                      "spec.replicatedJobs[].template.spec.parallelism", NULL};
	json_t *t = exec_kept_object(o, keep);
	expect_json(t, "{\"spec\":{\"replicatedJobs\":[{\"name\":\"a\",\"template\":{\"spec\":"
	               "{\"parallelism\":2}}},{\"name\":\"b\"}]}}");
	json_decref(t);
	json_decref(o);
}
END_TEST

START_TEST(a_whole_value_covers_deeper_paths_in_either_order)
{
	json_t *o = fpd_test_json("{\"spec\":{\"suspend\":true,\"runPolicy\":{\"suspend\":false,\"x\":1},"
	                "\"metadataish\":1}}");
	const char *deeper_first[] = {"spec.runPolicy.suspend", "spec.runPolicy", "spec.suspend",
	                              NULL};
	const char *whole_first[] = {"spec.runPolicy", "spec.runPolicy.suspend", "spec.suspend",
	                             NULL};
	const char *const *orders[] = {deeper_first, whole_first};
	for (size_t i = 0; i < 2; i++) {
		json_t *t = exec_kept_object(o, orders[i]);
		expect_json(t, "{\"spec\":{\"suspend\":true,\"runPolicy\":{\"suspend\":false,"
		               "\"x\":1}}}");
		ck_assert_ptr_eq(fpd_json_get(t, "spec.runPolicy"), fpd_json_get(o, "spec.runPolicy"));
		json_decref(t);
	}
	json_decref(o);
}
END_TEST

START_TEST(metadata_kept_whole_is_still_its_own)
{
	json_t *o = fpd_test_json(POD);
	const char *keep[] = {"metadata", NULL};
	json_t *t = exec_kept_object(o, keep);
	ck_assert_ptr_ne(json_object_get(t, "metadata"), json_object_get(o, "metadata"));
	ck_assert_ptr_nonnull(fpd_json_get(t, "metadata.managedFields"));
	ck_assert_ptr_null(json_object_get(fpd_json_get(t, "metadata.annotations"),
	                                   FPD_ANNOTATION_IDENTITY));
	ck_assert_ptr_nonnull(json_object_get(fpd_json_get(o, "metadata.annotations"),
	                                      FPD_ANNOTATION_IDENTITY));
	json_decref(t);
	json_decref(o);
}
END_TEST

START_TEST(missing_and_mistyped_paths_keep_nothing)
{
	json_t *o = fpd_test_json("{\"spec\":{\"containers\":{\"name\":\"not a list\"},\"a\":\"scalar\"}}");
	const char *keep[] = {"spec.containers[].name", "spec.a.b", "spec.none", "spec..x", NULL};
	json_t *t = exec_kept_object(o, keep);
	expect_json(t, "{}");
	json_decref(t);
	json_decref(o);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("engine/kept");
	TCase *tc = tcase_create("kept");
	tcase_add_test(tc, keeps_the_paths_and_shares_their_values);
	tcase_add_test(tc, fields_of_one_array_land_in_the_same_elements);
	tcase_add_test(tc, a_whole_value_covers_deeper_paths_in_either_order);
	tcase_add_test(tc, metadata_kept_whole_is_still_its_own);
	tcase_add_test(tc, missing_and_mistyped_paths_keep_nothing);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
