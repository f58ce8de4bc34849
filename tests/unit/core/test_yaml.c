#include "core/yaml.h"
#include "fpd_test.h"

static struct fpd_yaml_node *parse_ok(const char *text)
{
	struct fpd_yaml_node *root = NULL;
	struct fpd_error err;
	fpd_error_clear(&err);
	int rc = fpd_yaml_parse(text, strlen(text), "t.yaml", &root, &err);
	ck_assert_msg(rc == FPD_OK, "parse failed: %s (line %d col %d)", err.text, err.line,
	              err.column);
	return root;
}

static struct fpd_error parse_fail(const char *text, int want_rc)
{
	struct fpd_yaml_node *root = NULL;
	struct fpd_error err;
	fpd_error_clear(&err);
	int rc = fpd_yaml_parse(text, strlen(text), "t.yaml", &root, &err);
	ck_assert_msg(rc == want_rc, "expected %d, got %d (%s)", want_rc, rc, err.text);
	ck_assert_ptr_null(root);
	ck_assert_str_eq(err.file, "t.yaml");
	return err;
}

START_TEST(positions_and_kinds)
{
	struct fpd_yaml_node *root = parse_ok("a: 1\nb:\n  c: [x, \"y\"]\n  d: ~\n");
	ck_assert_int_eq(root->kind, FPD_YAML_MAP);
	ck_assert_uint_eq(root->count, 2);
	const struct fpd_yaml_node *b = fpd_yaml_get(root, "b");
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(b->kind, FPD_YAML_MAP);
	ck_assert_int_eq(b->line, 3);
	ck_assert_int_eq(b->column, 3);
	const struct fpd_yaml_node *c = fpd_yaml_get(b, "c");
	ck_assert_int_eq(c->kind, FPD_YAML_SEQ);
	ck_assert_uint_eq(c->count, 2);
	ck_assert_str_eq(c->items[0]->value, "x");
	ck_assert(c->items[0]->plain);
	ck_assert_str_eq(c->items[1]->value, "y");
	ck_assert(!c->items[1]->plain);
	ck_assert_int_eq(c->items[1]->line, 3);
	ck_assert_int_eq(c->items[1]->column, 10);
	ck_assert(fpd_yaml_is_null(fpd_yaml_get(b, "d")));
	ck_assert_ptr_null(fpd_yaml_get(root, "missing"));
	ck_assert_ptr_null(fpd_yaml_get(c, "x")); /* not a map */
	fpd_yaml_free(root);
}
END_TEST

START_TEST(quoted_null_is_string)
{
	struct fpd_yaml_node *root = parse_ok("a: \"null\"\nb: null\n");
	ck_assert(!fpd_yaml_is_null(fpd_yaml_get(root, "a")));
	ck_assert(fpd_yaml_is_null(fpd_yaml_get(root, "b")));
	fpd_yaml_free(root);
}
END_TEST

START_TEST(empty_documents_are_empty_maps)
{
	const char *docs[] = {"", "# comment only\n", "~\n", "---\n...\n"};
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		struct fpd_yaml_node *root = parse_ok(docs[i]);
		ck_assert_int_eq(root->kind, FPD_YAML_MAP);
		ck_assert_uint_eq(root->count, 0);
		fpd_yaml_free(root);
	}
}
END_TEST

START_TEST(errors_have_locations)
{
	struct fpd_error e = parse_fail("a: 1\na: 2\n", FPD_EINVAL);
	ck_assert_int_eq(e.line, 2);
	ck_assert_ptr_nonnull(strstr(e.text, "duplicate key \"a\""));
	e = parse_fail("x: &anchor 1\ny: *anchor\n", FPD_EINVAL);
	ck_assert_int_eq(e.line, 1);
	ck_assert_ptr_nonnull(strstr(e.text, "aliases"));
	e = parse_fail("a: [1, 2\n", FPD_EINVAL);
	ck_assert_ptr_nonnull(strstr(e.text, "invalid YAML"));
	ck_assert_int_gt(e.line, 0);
	e = parse_fail("? [complex]\n: key\n", FPD_EINVAL);
	ck_assert_ptr_nonnull(strstr(e.text, "mapping keys"));
	e = parse_fail("a: 1\n---\nb: 2\n", FPD_EINVAL);
	ck_assert_int_eq(e.line, 2);
}
END_TEST

START_TEST(depth_is_bounded)
{
	char deep[4 * FPD_YAML_MAX_DEPTH + 16];
	size_t n = 0;
	for (int i = 0; i < FPD_YAML_MAX_DEPTH + 2; i++)
		deep[n++] = '[';
	for (int i = 0; i < FPD_YAML_MAX_DEPTH + 2; i++)
		deep[n++] = ']';
	deep[n] = '\0';
	struct fpd_error e = parse_fail(deep, FPD_ERANGE);
	ck_assert_ptr_nonnull(strstr(e.text, "nesting deeper"));
}
END_TEST

START_TEST(node_count_is_bounded)
{
	size_t items = FPD_YAML_MAX_NODES + 10;
	char *text = malloc(items * 3 + 4);
	size_t n = 0;
	text[n++] = '[';
	for (size_t i = 0; i < items; i++) {
		text[n++] = '1';
		text[n++] = ',';
	}
	text[n - 1] = ']';
	text[n] = '\0';
	struct fpd_error e = parse_fail(text, FPD_ERANGE);
	ck_assert_ptr_nonnull(strstr(e.text, "nodes"));
	free(text);
}
END_TEST

START_TEST(missing_file)
{
	struct fpd_yaml_node *root;
	struct fpd_error err;
	ck_assert_int_eq(fpd_yaml_parse_file("/nonexistent/flyteplugd.yaml", &root, &err),
	                 FPD_ENOENT);
	ck_assert_str_eq(err.file, "/nonexistent/flyteplugd.yaml");
	ck_assert_ptr_nonnull(strstr(err.text, "No such file"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("core/yaml");
	TCase *tc = tcase_create("yaml");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, positions_and_kinds);
	tcase_add_test(tc, quoted_null_is_string);
	tcase_add_test(tc, empty_documents_are_empty_maps);
	tcase_add_test(tc, errors_have_locations);
	tcase_add_test(tc, depth_is_bounded);
	tcase_add_test(tc, node_count_is_bounded);
	tcase_add_test(tc, missing_file);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
