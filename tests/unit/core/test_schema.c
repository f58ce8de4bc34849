#include "core/schema.h"
#include "fpd_test.h"

#include <stddef.h>

START_TEST(durations)
{
	int64_t ms;
	ck_assert_int_eq(fpd_parse_duration_ms("30s", &ms), FPD_OK);
	ck_assert_int_eq(ms, 30000);
	ck_assert_int_eq(fpd_parse_duration_ms("250ms", &ms), FPD_OK);
	ck_assert_int_eq(ms, 250);
	ck_assert_int_eq(fpd_parse_duration_ms("1h30m", &ms), FPD_OK);
	ck_assert_int_eq(ms, 90 * 60 * 1000);
	ck_assert_int_eq(fpd_parse_duration_ms("1.5s", &ms), FPD_OK);
	ck_assert_int_eq(ms, 1500);
	ck_assert_int_eq(fpd_parse_duration_ms("45", &ms), FPD_OK);
	ck_assert_int_eq(ms, 45000);
	ck_assert_int_eq(fpd_parse_duration_ms("0", &ms), FPD_OK);
	ck_assert_int_eq(ms, 0);
	const char *bad[] = {"", "s", "5 s", "5d", "-5s", "5sx", "abc", "1e3s"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(fpd_parse_duration_ms(bad[i], &ms) != FPD_OK, "accepted \"%s\"",
		              bad[i]);
	ck_assert_int_eq(fpd_parse_duration_ms("99999999999999999999", &ms), FPD_ERANGE);
}
END_TEST

START_TEST(sizes)
{
	int64_t v;
	ck_assert_int_eq(fpd_parse_size("1024", &v), FPD_OK);
	ck_assert_int_eq(v, 1024);
	ck_assert_int_eq(fpd_parse_size("16MiB", &v), FPD_OK);
	ck_assert_int_eq(v, 16 << 20);
	ck_assert_int_eq(fpd_parse_size("10MB", &v), FPD_OK);
	ck_assert_int_eq(v, 10000000);
	ck_assert_int_eq(fpd_parse_size("1GiB", &v), FPD_OK);
	ck_assert_int_eq(v, 1 << 30);
	ck_assert_int_eq(fpd_parse_size("5XB", &v), FPD_EINVAL);
	ck_assert_int_eq(fpd_parse_size("-1", &v), FPD_EINVAL);
	ck_assert_int_eq(fpd_parse_size("", &v), FPD_EINVAL);
	ck_assert_int_eq(fpd_parse_size("99999999999GiB", &v), FPD_ERANGE);
}
END_TEST

struct inner {
	char *name;
};
struct sample {
	int64_t count;
	double ratio;
	bool flag;
	int mode;
	struct fpd_strings tags;
	struct inner inner;
	struct fpd_yaml_node *raw;
	struct inner *opt;
};
static const char *const modes[] = {"fast", "slow", NULL};
static const struct fpd_schema_field inner_fields[] = {
    {"name", FPD_SCHEMA_STRING, offsetof(struct inner, name), .nonempty = true},
    {NULL},
};
static void inner_defaults(void *p)
{
	((struct inner *)p)->name = strdup("default");
}
static const struct fpd_schema_field sample_fields[] = {
    {"count", FPD_SCHEMA_INT, offsetof(struct sample, count), -5, 5},
    {"ratio", FPD_SCHEMA_DOUBLE, offsetof(struct sample, ratio)},
    {"flag", FPD_SCHEMA_BOOL, offsetof(struct sample, flag)},
    {"mode", FPD_SCHEMA_ENUM, offsetof(struct sample, mode), .names = modes},
    {"tags", FPD_SCHEMA_STRINGS, offsetof(struct sample, tags)},
    {"inner", FPD_SCHEMA_SECTION, offsetof(struct sample, inner), .fields = inner_fields},
    {"raw", FPD_SCHEMA_NODE, offsetof(struct sample, raw)},
    {"opt", FPD_SCHEMA_OPTIONAL_SECTION, offsetof(struct sample, opt), .fields = inner_fields,
     .elem_size = sizeof(struct inner), .elem_defaults = inner_defaults},
    {NULL},
};

static int apply(const char *text, struct sample *out, struct fpd_error *err)
{
	struct fpd_yaml_node *root;
	memset(out, 0, sizeof(*out));
	int rc = fpd_yaml_parse(text, strlen(text), "s.yaml", &root, err);
	ck_assert_int_eq(rc, FPD_OK);
	rc = fpd_schema_apply(sample_fields, root, out, "s.yaml", err);
	fpd_yaml_free(root);
	return rc;
}

START_TEST(apply_values)
{
	struct sample s;
	struct fpd_error err;
	int rc = apply("count: -5\nratio: 0.25\nflag: yes\nmode: slow\ntags: [a, b]\n"
	               "inner: {name: n}\nraw: {any: [thing, 1]}\n",
	               &s, &err);
	ck_assert_msg(rc == FPD_OK, "%s", err.text);
	ck_assert_int_eq(s.count, -5);
	ck_assert_double_eq(s.ratio, 0.25);
	ck_assert(s.flag);
	ck_assert_int_eq(s.mode, 1);
	ck_assert_uint_eq(s.tags.count, 2);
	ck_assert_str_eq(s.tags.items[1], "b");
	ck_assert(fpd_strings_contains(&s.tags, "a"));
	ck_assert(!fpd_strings_contains(&s.tags, "c"));
	ck_assert_str_eq(s.inner.name, "n");
	ck_assert_ptr_nonnull(s.raw);
	ck_assert_int_eq(s.raw->kind, FPD_YAML_MAP);
	ck_assert_str_eq(fpd_yaml_get(s.raw, "any")->items[0]->value, "thing");
	fpd_schema_free(sample_fields, &s);
	ck_assert_ptr_null(s.inner.name);
	ck_assert_ptr_null(s.raw);
}
END_TEST

START_TEST(apply_errors)
{
	static const struct {
		const char *text;
		int line, column;
		const char *fragment;
	} cases[] = {
	    {"count: 6\n", 1, 8, "out of range"},
	    {"count: 1.5\n", 1, 8, "must be an integer"},
	    {"count: \"3\"\n", 1, 8, "must be an integer"},
	    {"ratio: fast\n", 1, 8, "must be a number"},
	    {"ratio: .nan\n", 1, 8, "must be a number"},
	    {"flag: 1\n", 1, 7, "true or false"},
	    {"mode: medium\n", 1, 7, "one of fast, slow"},
	    {"tags: [a, [b]]\n", 1, 11, "non-empty strings"},
	    {"tags: [a, ~]\n", 1, 11, "non-empty strings"},
	    {"inner: {name: \"\"}\n", 1, 15, "must not be empty"},
	    {"inner: [x]\n", 1, 8, "must be a mapping"},
	    {"inner: {nam: x}\n", 1, 9, "unknown key \"nam\""},
	    {"count: [1]\n", 1, 8, "must be a scalar"},
	    {"opt: [x]\n", 1, 6, "\"opt\" must be a mapping"},
	    {"opt: {nam: x}\n", 1, 7, "unknown key \"nam\""},
	    {"opt: {name: \"\"}\n", 1, 13, "must not be empty"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sample s;
		struct fpd_error err;
		fpd_error_clear(&err);
		int rc = apply(cases[i].text, &s, &err);
		ck_assert_msg(rc != FPD_OK, "accepted: %s", cases[i].text);
		ck_assert_msg(err.line == cases[i].line && err.column == cases[i].column,
		              "%s: expected %d:%d, got %d:%d", cases[i].text, cases[i].line,
		              cases[i].column, err.line, err.column);
		ck_assert_msg(strstr(err.text, cases[i].fragment) != NULL,
		              "%s: expected \"%s\" in \"%s\"", cases[i].text, cases[i].fragment,
		              err.text);
		fpd_schema_free(sample_fields, &s);
	}
}
END_TEST

/* An optional section is NULL until its key appears; then it holds its defaults overridden by
 * what the key gives (an empty or null value keeps just the defaults). */
START_TEST(optional_section)
{
	static const struct {
		const char *text;
		const char *want; /* NULL: the section stays NULL */
	} cases[] = {
	    {"count: 1\n", NULL},
	    {"opt: {}\n", "default"},
	    {"opt:\n", "default"},
	    {"opt: {name: given}\n", "given"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sample s;
		struct fpd_error err;
		ck_assert_msg(apply(cases[i].text, &s, &err) == FPD_OK, "%s: %s", cases[i].text,
		              err.text);
		if (!cases[i].want)
			ck_assert_msg(s.opt == NULL, "%s: section set", cases[i].text);
		else
			ck_assert_msg(s.opt && !strcmp(s.opt->name, cases[i].want),
			              "%s: expected name %s, got %s", cases[i].text, cases[i].want,
			              s.opt ? s.opt->name : "(no section)");
		fpd_schema_free(sample_fields, &s);
		ck_assert_ptr_null(s.opt);
	}
}
END_TEST

START_TEST(later_value_replaces_earlier)
{
	/* Applying twice (defaults then file) must not leak the first string or list. */
	struct sample s;
	struct fpd_error err;
	ck_assert_int_eq(apply("inner: {name: one}\ntags: [x]\n", &s, &err), FPD_OK);
	struct fpd_yaml_node *root;
	const char *second = "inner: {name: two}\ntags: [y, z]\n";
	ck_assert_int_eq(fpd_yaml_parse(second, strlen(second), "s2", &root, &err), FPD_OK);
	ck_assert_int_eq(fpd_schema_apply(sample_fields, root, &s, "s2", &err), FPD_OK);
	fpd_yaml_free(root);
	ck_assert_str_eq(s.inner.name, "two");
	ck_assert_uint_eq(s.tags.count, 2);
	ck_assert_str_eq(s.tags.items[0], "y");
	fpd_schema_free(sample_fields, &s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("core/schema");
	TCase *tc = tcase_create("schema");
	tcase_add_test(tc, durations);
	tcase_add_test(tc, sizes);
	tcase_add_test(tc, apply_values);
	tcase_add_test(tc, apply_errors);
	tcase_add_test(tc, optional_section);
	tcase_add_test(tc, later_value_replaces_earlier);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
