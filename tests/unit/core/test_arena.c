#include "core/arena.h"
#include "fpd_test.h"

#include <stdalign.h>
#include <stdint.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define EACH_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EACH_MALLOC 1
#endif
#endif

/* n allocations of varied sizes: each aligned, and each keeps its own bytes. */
static void fill_and_check(struct fpd_arena *a, int n)
{
	unsigned char *ptrs[512];
	size_t sizes[512];
	ck_assert_int_le(n, 512);
	for (int i = 0; i < n; i++) {
		sizes[i] = (size_t)(i * 37 % 700) + (i % 50 == 0 ? 40000 : 0);
		ptrs[i] = fpd_arena_alloc(a, sizes[i]);
		ck_assert_ptr_nonnull(ptrs[i]);
		ck_assert_uint_eq((uintptr_t)ptrs[i] % alignof(max_align_t), 0);
		memset(ptrs[i], i & 0xff, sizes[i]);
	}
	for (int i = 0; i < n; i++)
		for (size_t j = 0; j < sizes[i]; j++)
			ck_assert_uint_eq(ptrs[i][j], (unsigned)(i & 0xff));
}

START_TEST(first_block_then_malloc)
{
	alignas(max_align_t) char buf[1024];
	struct fpd_arena a;
	fpd_arena_init(&a, buf, sizeof(buf));
	char *p = fpd_arena_alloc(&a, 100);
#ifndef EACH_MALLOC
	/* Small allocations come from the caller's block until it is full. */
	ck_assert_ptr_eq(p, buf);
	char *q = fpd_arena_alloc(&a, 100);
	ck_assert(q >= buf + 100 && q + 100 <= buf + sizeof(buf));
	char *big = fpd_arena_alloc(&a, 4000);
	ck_assert(big < buf || big >= buf + sizeof(buf));
#endif
	(void)p;
	fill_and_check(&a, 300);
	fpd_arena_release(&a);
	/* Released: the caller's block is used again. */
	p = fpd_arena_alloc(&a, 8);
#ifndef EACH_MALLOC
	ck_assert_ptr_eq(p, buf);
#endif
	fill_and_check(&a, 512);
	fpd_arena_release(&a);
}
END_TEST

START_TEST(without_first_block)
{
	struct fpd_arena a;
	fpd_arena_init(&a, NULL, 0);
	fill_and_check(&a, 200);
	/* zero bytes still gives a distinct pointer */
	void *z1 = fpd_arena_alloc(&a, 0), *z2 = fpd_arena_alloc(&a, 0);
	ck_assert_ptr_ne(z1, z2);
	fpd_arena_release(&a);
	fpd_arena_release(&a); /* twice is harmless */
}
END_TEST

int main(void)
{
	Suite *s = suite_create("core/arena");
	TCase *tc = tcase_create("arena");
	tcase_add_test(tc, first_block_then_malloc);
	tcase_add_test(tc, without_first_block);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
