#define _GNU_SOURCE /* RTLD_DEFAULT, dladdr */
#include "core/heap.h"

#include <dlfcn.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#ifdef FPD_HAVE_MIMALLOC
#include <mimalloc.h>
#endif

/* glibc's own counts are not the allocator's under AddressSanitizer, which replaces malloc. */
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33) && \
    !defined(__SANITIZE_ADDRESS__) && !defined(FPD_SANITIZED)
#define FPD_GLIBC_FIGURES 1
#endif

/* The file name of the shared object that defines m, or "". */
static const char *provider_of(void *m)
{
	Dl_info info;
	if (!m || !dladdr(m, &info) || !info.dli_fname)
		return "";
	const char *slash = strrchr(info.dli_fname, '/');
	return slash ? slash + 1 : info.dli_fname;
}

/* Decided by where the malloc the process calls lives (the dynamic linker's lookup from the
 * global scope: the executable, then its libraries in load order), not by allocating: a
 * sanitizer's malloc (in the executable or its own library), one preloaded, mimalloc's or
 * glibc's. */
static enum fpd_heap_allocator detect(void)
{
	void *m = dlsym(RTLD_DEFAULT, "malloc");
	const char *provider = provider_of(m);
#ifdef FPD_HAVE_MIMALLOC
	if (m == (void *)mi_malloc || strncmp(provider, "libmimalloc", 11) == 0)
		return FPD_HEAP_MIMALLOC;
#endif
#ifdef FPD_GLIBC_FIGURES
	if (strncmp(provider, "libc.so", 7) == 0)
		return FPD_HEAP_GLIBC;
#endif
	(void)provider;
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
	case FPD_HEAP_GLIBC: return "glibc";
	case FPD_HEAP_MIMALLOC: return "mimalloc";
	default: return "other";
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
	default: return 0;
	}
}

void fpd_heap_trim(void)
{
	switch (fpd_heap_allocator()) {
#ifdef FPD_GLIBC_FIGURES
	case FPD_HEAP_GLIBC: malloc_trim(0); break;
#endif
#ifdef FPD_HAVE_MIMALLOC
	case FPD_HEAP_MIMALLOC: mi_collect(true); break;
#endif
	default: break;
	}
}
