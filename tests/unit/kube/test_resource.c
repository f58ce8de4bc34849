/* Paths, query encoding and selector checks (kube/resource.h). */
#include "kube/resource.h"
#include "fpd_test.h"

static const char *path_of(const struct fpd_kube_ref *ref, struct fpd_buf *b)
{
	fpd_buf_reset(b);
	struct fpd_error err;
	int rc = fpd_kube_path(b, ref, &err);
	ck_assert_msg(rc == FPD_OK, "path failed: %s", err.text);
	return b->data;
}

START_TEST(paths)
{
	struct fpd_kube_gvr pods, crd, nodes;
	ck_assert_int_eq(fpd_kube_gvr_set(&pods, "", "v1", "pods", true, NULL), FPD_OK);
	ck_assert_int_eq(fpd_kube_gvr_set(&crd, "ray.io", "v1", "rayjobs", true, NULL), FPD_OK);
	ck_assert_int_eq(fpd_kube_gvr_set(&nodes, NULL, "v1", "nodes", false, NULL), FPD_OK);
	struct fpd_buf b;
	fpd_buf_init(&b, 1024);
	struct fpd_kube_ref r1 = {&pods, "ns", "p", "status"};
	ck_assert_str_eq(path_of(&r1, &b), "/api/v1/namespaces/ns/pods/p/status");
	struct fpd_kube_ref r2 = {&pods, NULL, NULL, NULL};
	ck_assert_str_eq(path_of(&r2, &b), "/api/v1/pods");
	struct fpd_kube_ref r3 = {&crd, "flyte", "a b/c", NULL};
	ck_assert_str_eq(path_of(&r3, &b), "/apis/ray.io/v1/namespaces/flyte/rayjobs/a%20b%2Fc");
	struct fpd_kube_ref r4 = {&nodes, "ignored", "n1", NULL};
	ck_assert_str_eq(path_of(&r4, &b), "/api/v1/nodes/n1");

	struct fpd_error err;
	struct fpd_kube_ref bad = {&pods, "", "p", NULL};
	fpd_buf_reset(&b);
	ck_assert_int_eq(fpd_kube_path(&b, &bad, &err), FPD_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.text, "needs a namespace"));
	struct fpd_kube_ref bad2 = {&pods, "ns", NULL, "status"};
	ck_assert_int_eq(fpd_kube_path(&b, &bad2, &err), FPD_EINVAL);
	struct fpd_kube_ref dots = {&pods, "ns", "..", NULL};
	ck_assert_int_eq(fpd_kube_path(&b, &dots, &err), FPD_EINVAL);
	ck_assert_int_eq(fpd_kube_gvr_set(&pods, "", "", "pods", true, &err), FPD_EINVAL);
	fpd_buf_free(&b);
}
END_TEST

START_TEST(query_encoding)
{
	struct fpd_buf b;
	fpd_buf_init(&b, 1024);
	fpd_buf_append_str(&b, "/api/v1/pods");
	ck_assert_int_eq(fpd_kube_query(&b, "labelSelector", "app in (a,b),tier!=db"), FPD_OK);
	ck_assert_int_eq(fpd_kube_query(&b, "continue", ""), FPD_OK); /* empty: nothing */
	ck_assert_int_eq(fpd_kube_query(&b, "limit", "500"), FPD_OK);
	ck_assert_str_eq(b.data, "/api/v1/pods?labelSelector=app%20in%20%28a%2Cb%29%2Ctier%21%3Ddb"
	                         "&limit=500");
	fpd_buf_free(&b);
	/* Bounded: a query that does not fit is refused. */
	fpd_buf_init(&b, 16);
	fpd_buf_append_str(&b, "/x");
	ck_assert_int_eq(fpd_kube_query(&b, "labelSelector", "aaaaaaaaaaaa"), FPD_ERANGE);
	fpd_buf_free(&b);
}
END_TEST

START_TEST(label_selectors)
{
	const char *good[] = {
	    "",
	    "app",
	    "!app",
	    "app=x",
	    "app==x",
	    "app!=x",
	    "app.kubernetes.io/managed-by=flyteplugd",
	    " env in (prod, qa) , tier notin (db),!legacy",
	    "app=",
	    "replicas>3",
	    "example.com/x-y_z.1=v-1_2.3",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct fpd_error err;
		ck_assert_msg(fpd_kube_label_selector_check(good[i], &err) == FPD_OK,
		              "\"%s\" should be valid: %s", good[i], err.text);
	}
	const char *bad[] = {
	    "app=x y",         "=x",     "app in a,b", "app in (a", "-app=x",  "app=-x",
	    "Example.com/x=y", "app=x,", "!app=x",     "app>x",     "app ~ x", "a/b/c=d",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fpd_error err;
		ck_assert_msg(fpd_kube_label_selector_check(bad[i], &err) == FPD_EINVAL,
		              "\"%s\" should be refused", bad[i]);
		ck_assert_ptr_nonnull(strstr(err.text, "column"));
	}
	ck_assert(fpd_kube_label_value_ok(""));
	ck_assert(!fpd_kube_label_value_ok("x_"));
	char long_value[70];
	memset(long_value, 'a', 64);
	long_value[64] = '\0';
	ck_assert(!fpd_kube_label_value_ok(long_value));
	ck_assert(fpd_kube_label_key_ok("flyte.org/execution-id"));
}
END_TEST

START_TEST(field_selectors)
{
	struct fpd_error err;
	ck_assert_int_eq(fpd_kube_field_selector_check("metadata.name=x", &err), FPD_OK);
	ck_assert_int_eq(
	    fpd_kube_field_selector_check("status.phase!=Running,spec.nodeName==n", &err), FPD_OK);
	ck_assert_int_eq(fpd_kube_field_selector_check("metadata.name=a\\,b", &err), FPD_OK);
	ck_assert_int_eq(fpd_kube_field_selector_check("metadata.name", &err), FPD_EINVAL);
	ck_assert_int_eq(fpd_kube_field_selector_check("a=b=c", &err), FPD_EINVAL);
	ck_assert_int_eq(fpd_kube_field_selector_check("a=b,", &err), FPD_EINVAL);
	ck_assert_int_eq(fpd_kube_field_selector_check("a=\\q", &err), FPD_EINVAL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kube_resource");
	TCase *tc = tcase_create("all");
	tcase_add_test(tc, paths);
	tcase_add_test(tc, query_encoding);
	tcase_add_test(tc, label_selectors);
	tcase_add_test(tc, field_selectors);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
