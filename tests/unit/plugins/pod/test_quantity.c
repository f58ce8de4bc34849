/* Canonical quantities. Expected values are what Go's resource.MustParse(s).String() prints
 * (k8s.io/apimachinery quantity tests and its documented examples). */
#include "fpd_test.h"

#include <flyteplugd/pod.h>
#include <flyteplugd/quantity.h>

START_TEST(canonical_forms)
{
	static const char *cases[][2] = {
	    {"1000m", "1"},         {"1", "1"},        {"0.1", "100m"},
	    {"1.5", "1500m"},       {"2000", "2k"},    {"1500", "1500"},
	    {"100M", "100M"},       {"1024Mi", "1Gi"}, {"1536Mi", "1536Mi"},
	    {"0.5Gi", "512Mi"},     {"1Ki", "1Ki"},    {"512", "512"},
	    {"1e3", "1e3"},         {"1.5e3", "1500"}, {"0", "0"},
	    {"0Gi", "0"},           {"500m", "500m"},  {"256Mi", "256Mi"},
	    {"1G", "1G"},           {"1000000", "1M"}, {"1n", "1n"},
	    {"0.0000000001", "1n"}, {"-1000m", "-1"},  {"1023Ki", "1023Ki"},
	    {"100Ki", "100Ki"},     {"10Gi", "10Gi"},  {"2048", "2048"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *c = fpd_quantity_canonical(cases[i][0]);
		ck_assert_msg(c && strcmp(c, cases[i][1]) == 0, "%s: got %s, want %s", cases[i][0],
		              c ? c : "(null)", cases[i][1]);
		free(c);
	}
	static const char *bad[] = {"", "m", "1x", "1.2.3", "Gi", "1e", "1e99", "--1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(fpd_quantity_canonical(bad[i]) == NULL, "accepted %s", bad[i]);
}
END_TEST

START_TEST(spec_rewrite)
{
	json_t *spec =
	    json_loads("{\"containers\":[{\"name\":\"a\",\"resources\":{\"limits\":"
	               "{\"cpu\":\"1000m\",\"memory\":\"1024Mi\"},\"requests\":{\"cpu\":"
	               "\"0.5\"}}}],\"volumes\":[{\"name\":\"v\",\"emptyDir\":{\"sizeLimit\":"
	               "\"2048Mi\"}}],\"overhead\":{\"cpu\":\"2000m\"}}",
	               0, NULL);
	fpd_pod_canonical_quantities(spec);
	char *s = json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS);
	ck_assert_str_eq(s,
	                 "{\"containers\":[{\"name\":\"a\",\"resources\":{\"limits\":{\"cpu\":"
	                 "\"1\",\"memory\":\"1Gi\"},\"requests\":{\"cpu\":\"500m\"}}}],"
	                 "\"overhead\":{\"cpu\":\"2\"},\"volumes\":[{\"emptyDir\":{\"sizeLimit\":"
	                 "\"2Gi\"},\"name\":\"v\"}]}");
	free(s);
	json_decref(spec);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("plugins/pod/quantity");
	TCase *tc = tcase_create("quantity");
	tcase_add_test(tc, canonical_forms);
	tcase_add_test(tc, spec_rewrite);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
