/* Pruned JSON parsing (kube/prune.h): the result equals the full parse restricted to the kept
 * pointers; malformed input is refused wherever it is. */
#include "kube/informer.h"
#include "kube/prune.h"
#include "fpd_test.h"

static json_t *prune(const char *text, const char *const *ptrs, size_t n)
{
	struct fpd_kube_prune *p = fpd_kube_prune_new();
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(fpd_kube_prune_add(p, ptrs[i], NULL), FPD_OK);
	json_t *out = NULL;
	struct fpd_error err;
	int rc = fpd_kube_prune_parse(p, text, strlen(text), &out, &err);
	ck_assert_msg(rc == FPD_OK, "prune failed: %s", err.text);
	fpd_kube_prune_free(p);
	return out;
}

static void expect_json(json_t *got, const char *want)
{
	json_t *w = json_loads(want, 0, NULL);
	ck_assert_ptr_nonnull(w);
	char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
	ck_assert_msg(json_equal(got, w), "got %s, want %s", g, want);
	free(g);
	json_decref(w);
	json_decref(got);
}

START_TEST(keeps_only_pointers)
{
	const char *doc = "{\"metadata\":{\"name\":\"p\",\"labels\":{\"a/b\":\"x\",\"c\":\"y\"},"
	                  "\"managedFields\":[{\"f\":{\"g\":[1,2,{\"h\":\"}]\\\"\"}]}}]},"
	                  "\"spec\":{\"containers\":[{\"name\":\"c0\"},{\"name\":\"c1\"}]},"
	                  "\"status\":{\"phase\":\"Running\",\"n\":-1.5e3,\"ok\":true,\"z\":null}}";
	const char *ptrs[] = {"/metadata/name",  "/metadata/labels/a~1b",
	                      "/status/phase",   "/spec/containers/1/name",
	                      "/status/missing", "/metadata/name/deeper"};
	expect_json(prune(doc, ptrs, 5),
	            "{\"metadata\":{\"name\":\"p\",\"labels\":{\"a/b\":\"x\"}},"
	            "\"spec\":{\"containers\":[null,{\"name\":\"c1\"}]},"
	            "\"status\":{\"phase\":\"Running\"}}");
	/* A pointer going deeper than a scalar finds nothing (no error). */
	expect_json(prune(doc, ptrs + 5, 1), "{\"metadata\":{}}");
	/* Whole subtrees, and the whole document. */
	const char *sub[] = {"/status"};
	expect_json(prune(doc, sub, 1),
	            "{\"status\":{\"phase\":\"Running\",\"n\":-1.5e3,\"ok\":true,\"z\":null}}");
	const char *all[] = {""};
	json_t *full = json_loads(doc, 0, NULL);
	char *text = json_dumps(full, JSON_COMPACT);
	expect_json(prune(doc, all, 1), text);
	free(text);
	json_decref(full);
	/* Pointer lookups see the same values in the pruned and the full tree. */
	json_t *p = prune(doc, ptrs, 4);
	ck_assert_str_eq(json_string_value(fpd_kube_json_pointer(p, "/spec/containers/1/name")),
	                 "c1");
	json_decref(p);
}
END_TEST

/* "*" keeps a member of every element of an array (and a member named "*" of an object). */
START_TEST(every_element)
{
	const char *doc = "{\"spec\":{\"containers\":[{\"name\":\"a\",\"env\":[{\"v\":1}]},"
	                  "{\"image\":\"x\"},7,{\"name\":\"c\",\"args\":[\"]\"]}]},"
	                  "\"m\":{\"*\":1,\"b\":2}}";
	const char *ptrs[] = {"/spec/containers/*/name", "/m/*"};
	expect_json(prune(doc, ptrs, 2),
	            "{\"spec\":{\"containers\":[{\"name\":\"a\"},{},null,{\"name\":\"c\"}]},"
	            "\"m\":{\"*\":1}}");
	/* A repeated key: the last one counts, as for jansson, even when it keeps nothing. */
	const char *dup[] = {"/metadata/name", "/status"};
	expect_json(prune("{\"metadata\":{\"name\":\"a\"},\"metadata\":5,"
	                  "\"status\":1,\"status\":{\"s\":2}}",
	                  dup, 2),
	            "{\"status\":{\"s\":2}}");
	const char *empty[] = {"/spec/containers/*/name"};
	expect_json(prune("{\"spec\":{\"containers\":[]}}", empty, 1),
	            "{\"spec\":{\"containers\":[]}}");
}
END_TEST

START_TEST(escaped_keys_and_strings)
{
	const char *doc = "{\"we\\u0069rd\":{\"k\":\"v\"},\"s\":\"a\\\\\",\"t\":[\"\\\"]\"]}";
	const char *ptrs[] = {"/weird/k", "/t/0"};
	expect_json(prune(doc, ptrs, 2), "{\"weird\":{\"k\":\"v\"},\"t\":[\"\\\"]\"]}");
}
END_TEST

START_TEST(malformed_refused)
{
	const char *bad[] = {
	    "{\"a\":1",
	    "{\"a\" 1}",
	    "{\"skip\":[1,2}",
	    "{\"skip\":\"abc}",
	    "{\"a\":1}x",
	    "",
	    "{\"skip\":{\"x\":1]}",
	    "{\"skip\":\"a\nb\"}",
	    "{\"keep\":{\"x\":tru}}",
	    "[1,,2]",
	};
	const char *ptrs[] = {"/keep/x", "/a"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fpd_kube_prune *p = fpd_kube_prune_new();
		for (size_t j = 0; j < 2; j++)
			fpd_kube_prune_add(p, ptrs[j], NULL);
		json_t *out = NULL;
		struct fpd_error err;
		int rc = fpd_kube_prune_parse(p, bad[i], strlen(bad[i]), &out, &err);
		ck_assert_msg(rc == FPD_EINVAL && out == NULL, "input %zu (%s) was accepted", i,
		              bad[i]);
		ck_assert_ptr_nonnull(strstr(err.text, "invalid JSON at byte"));
		fpd_kube_prune_free(p);
	}
	struct fpd_kube_prune *p = fpd_kube_prune_new();
	struct fpd_error err;
	ck_assert_int_eq(fpd_kube_prune_add(p, "status", &err), FPD_EINVAL);
	ck_assert_int_eq(fpd_kube_prune_add(p, "/a~2", &err), FPD_EINVAL);
	fpd_kube_prune_free(p);
}
END_TEST

START_TEST(list_fixture_items)
{
	/* Every item of the list fixture, pruned, agrees with the full parse on the kept paths. */
	size_t len;
	char *text = fpd_read_fixture("kube/stream/list.json", &len);
	json_t *full = json_loads(text, 0, NULL);
	const char *ptrs[] = {"/metadata/name", "/metadata/uid", "/status/phase",
	                      "/metadata/annotations/tricky"};
	json_t *items = json_object_get(full, "items");
	for (size_t i = 0; i < json_array_size(items); i++) {
		char *item = json_dumps(json_array_get(items, i), 0);
		json_t *p = prune(item, ptrs, 4);
		for (size_t k = 0; k < 4; k++) {
			json_t *a = fpd_kube_json_pointer(json_array_get(items, i), ptrs[k]);
			json_t *b = fpd_kube_json_pointer(p, ptrs[k]);
			ck_assert_msg((!a && !b) || json_equal(a, b), "item %zu, %s differs", i,
			              ptrs[k]);
		}
		json_decref(p);
		free(item);
	}
	json_decref(full);
	free(text);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kube_prune");
	TCase *tc = tcase_create("all");
	tcase_add_test(tc, keeps_only_pointers);
	tcase_add_test(tc, every_element);
	tcase_add_test(tc, escaped_keys_and_strings);
	tcase_add_test(tc, malformed_refused);
	tcase_add_test(tc, list_fixture_items);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
