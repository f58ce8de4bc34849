/* The compact cache (kube/store.h): table behaviour under growth and deletion, interning. */
#include "kube/store.h"
#include "fpd_test.h"

START_TEST(put_get_take)
{
	struct fpd_kube_store *s = fpd_kube_store_new(2, 1u << 0);
	const char *f[] = {"Running", "10.0.0.1"};
	struct fpd_kube_obj *o = fpd_kube_store_make(s, "ns", "a", "uid-a", "1", f);
	ck_assert_ptr_null(fpd_kube_store_put(s, o));
	const struct fpd_kube_obj *got = fpd_kube_store_get(s, "ns", "a");
	ck_assert_ptr_eq(got, o);
	ck_assert_str_eq(fpd_kube_obj_namespace(got), "ns");
	ck_assert_str_eq(fpd_kube_obj_name(got), "a");
	ck_assert_str_eq(fpd_kube_obj_uid(got), "uid-a");
	ck_assert_str_eq(fpd_kube_obj_resource_version(got), "1");
	ck_assert_str_eq(fpd_kube_obj_field(got, 0), "Running");
	ck_assert_str_eq(fpd_kube_obj_field(got, 1), "10.0.0.1");
	ck_assert_ptr_null(fpd_kube_obj_field(got, 2));
	ck_assert_ptr_null(fpd_kube_store_get(s, "other", "a"));
	ck_assert_ptr_null(fpd_kube_store_get(s, NULL, "a"));

	/* Replace returns the old object; missing fields stay NULL. */
	const char *f2[] = {"Succeeded", NULL};
	struct fpd_kube_obj *o2 = fpd_kube_store_make(s, "ns", "a", "uid-a", "2", f2);
	struct fpd_kube_obj *old = fpd_kube_store_put(s, o2);
	ck_assert_ptr_eq(old, o);
	fpd_kube_store_release(s, old);
	ck_assert_ptr_null(fpd_kube_obj_field(fpd_kube_store_get(s, "ns", "a"), 1));
	ck_assert_uint_eq(fpd_kube_store_count(s), 1);

	struct fpd_kube_obj *t = fpd_kube_store_take(s, "ns", "a");
	ck_assert_ptr_eq(t, o2);
	fpd_kube_store_release(s, t);
	ck_assert_uint_eq(fpd_kube_store_count(s), 0);
	ck_assert_ptr_null(fpd_kube_store_take(s, "ns", "a"));
	/* Everything given back: only the (empty) tables remain accounted. */
	size_t bytes = fpd_kube_store_bytes(s);
	ck_assert_msg(bytes < 1024, "expected only table overhead, got %zu bytes", bytes);
	fpd_kube_store_free(s);
}
END_TEST

static void count_each(void *ud, const struct fpd_kube_obj *o)
{
	(*(size_t *)ud)++;
	ck_assert_ptr_nonnull(fpd_kube_obj_name(o));
}

START_TEST(many_objects_with_deletes)
{
	/* Enough to force several table growths, then delete every other one: backward-shift
	 * deletion must keep every survivor reachable. */
	enum { N = 20000 };
	struct fpd_kube_store *s = fpd_kube_store_new(1, 1u);
	char name[32], ns[16];
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "pod-%d", i);
		snprintf(ns, sizeof(ns), "ns-%d", i % 7);
		const char *f[] = {i % 2 ? "Running" : "Pending"};
		ck_assert_ptr_null(
		    fpd_kube_store_put(s, fpd_kube_store_make(s, ns, name, NULL, "1", f)));
	}
	ck_assert_uint_eq(fpd_kube_store_count(s), N);
	for (int i = 0; i < N; i += 2) {
		snprintf(name, sizeof(name), "pod-%d", i);
		snprintf(ns, sizeof(ns), "ns-%d", i % 7);
		struct fpd_kube_obj *o = fpd_kube_store_take(s, ns, name);
		ck_assert_msg(o != NULL, "%s/%s missing", ns, name);
		fpd_kube_store_release(s, o);
	}
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "pod-%d", i);
		snprintf(ns, sizeof(ns), "ns-%d", i % 7);
		const struct fpd_kube_obj *o = fpd_kube_store_get(s, ns, name);
		if (i % 2) {
			ck_assert_msg(o != NULL, "%s/%s lost after deletions", ns, name);
			ck_assert_str_eq(fpd_kube_obj_field(o, 0), "Running");
		} else {
			ck_assert_ptr_null(o);
		}
	}
	size_t seen = 0;
	fpd_kube_store_each(s, count_each, &seen);
	ck_assert_uint_eq(seen, N / 2);
	/* Interning: the phase is stored once, so an object costs roughly its header, its
	 * pointers and its own strings. */
	size_t per_obj = fpd_kube_store_bytes(s) / (N / 2);
	ck_assert_msg(per_obj < 120, "expected under 120 bytes per object, got %zu", per_obj);
	fpd_kube_store_free(s);
}
END_TEST

START_TEST(interned_values_shared_and_freed)
{
	struct fpd_kube_store *s = fpd_kube_store_new(1, 1u);
	const char *f[] = {"Running"};
	struct fpd_kube_obj *a = fpd_kube_store_make(s, "ns", "a", "", "1", f);
	struct fpd_kube_obj *b = fpd_kube_store_make(s, "ns", "b", "", "1", f);
	ck_assert_ptr_eq(fpd_kube_obj_field(a, 0), fpd_kube_obj_field(b, 0));
	ck_assert_ptr_eq(fpd_kube_obj_namespace(a), fpd_kube_obj_namespace(b));
	fpd_kube_store_release(s, a);
	ck_assert_str_eq(fpd_kube_obj_field(b, 0), "Running");
	fpd_kube_store_release(s, b);
	/* Marks (relist bookkeeping) are per object and cleared all at once. */
	struct fpd_kube_obj *c = fpd_kube_store_make(s, "", "c", "", "", NULL);
	fpd_kube_obj_set_mark(c, 1);
	fpd_kube_store_put(s, c);
	ck_assert_uint_eq(fpd_kube_obj_mark(fpd_kube_store_get(s, "", "c")), 1);
	fpd_kube_store_clear_marks(s);
	ck_assert_uint_eq(fpd_kube_obj_mark(fpd_kube_store_get(s, "", "c")), 0);
	fpd_kube_store_free(s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kube_store");
	TCase *tc = tcase_create("all");
	tcase_add_test(tc, put_get_take);
	tcase_add_test(tc, many_objects_with_deletes);
	tcase_add_test(tc, interned_values_shared_and_freed);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
