/* Expected hashes were computed independently (Python: fnv-1a 32 + base64.b32encode with Flyte's
 * alphabet), not with the code under test. */
#include "engine/naming.h"
#include "fpd_test.h"

START_TEST(fnv32a_reference_values)
{
	/* FNV-1a test vectors from the FNV authors. */
	ck_assert_uint_eq(fpd_name_fnv32a("", 0), 0x811c9dc5u);
	ck_assert_uint_eq(fpd_name_fnv32a("a", 1), 0xe40c292cu);
	ck_assert_uint_eq(fpd_name_fnv32a("foobar", 6), 0xbf9cf968u);
}
END_TEST

START_TEST(parts_join_and_hash)
{
	const char *p1[] = {"a1b2c3", "n0", "0"};
	char *n = fpd_name_for_parts(50, p1, 3);
	ck_assert_str_eq(n, "a1b2c3-n0-0");
	free(n);
	/* Leading empty parts add no separator. */
	const char *p2[] = {"", "", "n0"};
	n = fpd_name_for_parts(50, p2, 3);
	ck_assert_str_eq(n, "n0");
	free(n);
	/* Longer than max: "f" + base32(fnv32a). */
	const char *p3[] = {"fa4b2c3d5e6f7a8b9c0d", "n1-0-dn3-0-n2-0-n0", "12"};
	n = fpd_name_for_parts(20, p3, 3);
	ck_assert_str_eq(n, "fsfoflwy");
	free(n);
	const char *p4[] = {"a1b2c3-n0-0"};
	n = fpd_name_for_parts(8, p4, 1);
	ck_assert_str_eq(n, "fbk6xrwy");
	free(n);
	/* Even the hash does not fit. */
	n = fpd_name_for_parts(5, p4, 1);
	ck_assert_ptr_null(n);
}
END_TEST

START_TEST(generated_names)
{
	char *n = fpd_name_generated("a1b2c3", "n0", 0, 0);
	ck_assert_str_eq(n, "a1b2c3-n0-0");
	free(n);
	/* exactly 50 characters: kept */
	n = fpd_name_generated("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "n", 1, 0);
	ck_assert_str_eq(n, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx-n-1");
	free(n);
	/* Flyte executions may be named with upper case; the result is made DNS-1123. */
	n = fpd_name_generated("MyExec", "n0", 2, 0);
	ck_assert_str_eq(n, "my-exec-n0-2");
	free(n);
}
END_TEST

START_TEST(long_generated_name_is_hashed)
{
	/* 47 x's + "-n-1" is 51 characters: hashed. */
	char *n = fpd_name_generated("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "n", 1, 0);
	ck_assert_str_eq(n, "fvwzlyra"); /* fnv32a of the 52-character joined name */
	free(n);
}
END_TEST

/* A plugin's limit (Ray: 47) instead of 50. Expected names from the same independent Python
 * implementation of Flyte's FixedLengthUniqueIDForParts. */
START_TEST(generated_names_under_a_plugin_limit)
{
	static const struct {
		const char *execution;
		size_t max;
		const char *want;
	} cases[] = {
	    /* 49 characters: kept under the default (0 = 50) and 50, hashed under 47 */
	    {"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 0,
	     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx-n0-0"},
	    {"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 50,
	     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx-n0-0"},
	    {"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 47, "ffkw4wey"},
	    /* exactly 47: kept */
	    {"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 47,
	     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx-n0-0"},
	    /* the smallest limit still takes the hashed form */
	    {"a1b2c3", 8, "fbk6xrwy"},
	    /* the limit applies before the DNS-1123 conversion, as in Flyte: 47 characters
	     * with upper case come out as 48 */
	    {"RayExecaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 47,
	     "ray-execaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-n0-0"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *n = fpd_name_generated(cases[i].execution, "n0", 0, cases[i].max);
		ck_assert_msg(strcmp(n, cases[i].want) == 0, "%s at %zu: got %s, want %s",
		              cases[i].execution, cases[i].max, n, cases[i].want);
		free(n);
	}
}
END_TEST

START_TEST(dns1123)
{
	ck_assert(fpd_name_is_dns1123_subdomain("a1b2c3-n0-0"));
	ck_assert(fpd_name_is_dns1123_subdomain("a.b-c.d"));
	ck_assert(!fpd_name_is_dns1123_subdomain("-a"));
	ck_assert(!fpd_name_is_dns1123_subdomain("a..b"));
	ck_assert(!fpd_name_is_dns1123_subdomain("A"));
	ck_assert(!fpd_name_is_dns1123_subdomain(""));
	char *s = fpd_name_dns1123_subdomain("MyJavaClass_Name.-");
	ck_assert_str_eq(s, "my-java-classname"); /* "_" is dropped, not replaced */
	free(s);
	s = fpd_name_dns1123_subdomain("--Ab__c--");
	ck_assert_str_eq(s, "abc");
	free(s);
	char big[400];
	memset(big, 'Q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	s = fpd_name_dns1123_subdomain(big);
	ck_assert_uint_eq(strlen(s), 253 - 30 - 1 + 1 + 8);
	ck_assert(fpd_name_is_dns1123_subdomain(s));
	free(s);
}
END_TEST

START_TEST(label_values)
{
	static const char *cases[][2] = {
	    {"my_workflow.Name", "my-workflow-name"},
	    {"--a__b--", "a-b"},
	    {"UPPER", "upper"},
	    {"ok-value-1", "ok-value-1"},
	    {"a!!!!!b", "a-b"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = fpd_name_label_value(cases[i][0]);
		ck_assert_msg(strcmp(s, cases[i][1]) == 0, "%s: got %s, want %s", cases[i][0], s,
		              cases[i][1]);
		free(s);
	}
	char big[100];
	memset(big, 'a', 99);
	big[99] = '\0';
	big[62] = '_'; /* becomes '-' at position 62, the last kept, then trimmed */
	char *s = fpd_name_label_value(big);
	ck_assert_uint_eq(strlen(s), 62);
	free(s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("engine/naming");
	TCase *tc = tcase_create("naming");
	tcase_add_test(tc, fnv32a_reference_values);
	tcase_add_test(tc, parts_join_and_hash);
	tcase_add_test(tc, generated_names);
	tcase_add_test(tc, long_generated_name_is_hashed);
	tcase_add_test(tc, generated_names_under_a_plugin_limit);
	tcase_add_test(tc, dns1123);
	tcase_add_test(tc, label_values);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
