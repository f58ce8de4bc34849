#include "core/map.h"
#include "fpd_test.h"

START_TEST(put_get_delete_many)
{
	struct fpd_map m;
	fpd_map_init(&m);
	char key[32];
	for (long i = 0; i < 20000; i++) {
		snprintf(key, sizeof(key), "ns/name-%ld", i);
		ck_assert_ptr_null(fpd_map_put(&m, key, (void *)(i + 1)));
	}
	ck_assert_uint_eq(m.count, 20000);
	for (long i = 0; i < 20000; i += 2) {
		snprintf(key, sizeof(key), "ns/name-%ld", i);
		ck_assert_ptr_eq(fpd_map_del(&m, key), (void *)(i + 1));
	}
	ck_assert_uint_eq(m.count, 10000);
	for (long i = 0; i < 20000; i++) {
		snprintf(key, sizeof(key), "ns/name-%ld", i);
		void *want = i % 2 ? (void *)(i + 1) : NULL;
		ck_assert_ptr_eq(fpd_map_get(&m, key), want);
	}
	/* Re-adding deleted keys reuses tombstones; replacing returns the old value. */
	ck_assert_ptr_null(fpd_map_put(&m, "ns/name-0", (void *)7));
	ck_assert_ptr_eq(fpd_map_put(&m, "ns/name-0", (void *)8), (void *)7);
	size_t it = 0, n = 0;
	const char *k;
	void *v;
	while (fpd_map_next(&m, &it, &k, &v)) {
		ck_assert_ptr_nonnull(v);
		n++;
	}
	ck_assert_uint_eq(n, 10001);
	fpd_map_free(&m);
}
END_TEST

START_TEST(delete_while_iterating)
{
	struct fpd_map m;
	fpd_map_init(&m);
	fpd_map_put(&m, "a", (void *)1);
	fpd_map_put(&m, "b", (void *)2);
	fpd_map_put(&m, "c", (void *)3);
	size_t it = 0;
	const char *k;
	void *v;
	while (fpd_map_next(&m, &it, &k, &v))
		if (v != (void *)2)
			fpd_map_del(&m, k);
	ck_assert_uint_eq(m.count, 1);
	ck_assert_ptr_eq(fpd_map_get(&m, "b"), (void *)2);
	ck_assert_ptr_null(fpd_map_get(&m, "a"));
	ck_assert_ptr_null(fpd_map_del(&m, "zz"));
	fpd_map_free(&m);
	ck_assert_ptr_null(fpd_map_get(&m, "b"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("core/map");
	TCase *tc = tcase_create("map");
	tcase_add_test(tc, put_get_delete_many);
	tcase_add_test(tc, delete_while_iterating);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
