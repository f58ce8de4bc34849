#include "core/heap.h"

#include <malloc.h>
#include <stdbool.h>
#include <stdlib.h>

#ifdef FPD_HAVE_MIMALLOC
#include <mimalloc.h>
#endif

/* glibc's own counts are not the allocator's under AddressSanitizer, which replaces malloc. */
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33) &&                            \
    !defined(__SANITIZE_ADDRESS__) && !defined(FPD_SANITIZED)
#define FPD_GLIBC_FIGURES 1
#endif

static enum fpd_heap_allocator detect(void)
{
#ifdef FPD_HAVE_MIMALLOC
	/* Asked of a real allocation: mimalloc serves malloc only if its symbols won the
	 * dynamic linker's lookup (linked ahead of libc, nothing preloaded). */
	void *p = calloc(1, 32); /* calloc: gcc takes a fresh malloc block passed as const for a read */
	bool ours = p && mi_is_in_heap_region(p);
	free(p);
	if (ours)
		return FPD_HEAP_MIMALLOC;
#endif
#ifdef FPD_GLIBC_FIGURES
	/* An allocator preloaded over glibc's leaves glibc's arena untouched: a fresh block that
	 * glibc's counters do not see is someone else's. */
	struct mallinfo2 before = mallinfo2();
	void *q = malloc(4096);
	struct mallinfo2 after = mallinfo2();
	bool glibc = q && after.uordblks >= before.uordblks + 4096;
	free(q);
	if (glibc)
		return FPD_HEAP_GLIBC;
#endif
	return FPD_HEAP_OTHER;
}

enum fpd_heap_allocator fpd_heap_allocator(void)
{
	static int which = -1;
	if (which < 0)
		which = (int)detect();
	return (enum fpd_heap_allocator)which;
}

const char *fpd_heap_allocator_name(void)
{
	switch (fpd_heap_allocator()) {
	case FPD_HEAP_GLIBC:
		return "glibc";
	case FPD_HEAP_MIMALLOC:
		return "mimalloc";
	default:
		return "other";
	}
}

size_t fpd_heap_parts(struct fpd_heap_part out[FPD_HEAP_PARTS_MAX])
{
	switch (fpd_heap_allocator()) {
#ifdef FPD_GLIBC_FIGURES
	case FPD_HEAP_GLIBC: {
		struct mallinfo2 mi = mallinfo2();
		out[0] = (struct fpd_heap_part){"heap_in_use", mi.uordblks};
		out[1] = (struct fpd_heap_part){"heap_free", mi.fordblks};
		out[2] = (struct fpd_heap_part){"heap_mmapped", mi.hblkhd};
		return 3;
	}
#endif
#ifdef FPD_HAVE_MIMALLOC
	case FPD_HEAP_MIMALLOC: {
		size_t committed = 0;
		mi_process_info(NULL, NULL, NULL, NULL, NULL, &committed, NULL, NULL);
		out[0] = (struct fpd_heap_part){"heap_committed", committed};
		return 1;
	}
#endif
	default:
		return 0;
	}
}

void fpd_heap_trim(void)
{
	switch (fpd_heap_allocator()) {
#ifdef FPD_GLIBC_FIGURES
	case FPD_HEAP_GLIBC:
		malloc_trim(0);
		break;
#endif
#ifdef FPD_HAVE_MIMALLOC
	case FPD_HEAP_MIMALLOC:
		mi_collect(true);
		break;
#endif
	default:
		break;
	}
}
