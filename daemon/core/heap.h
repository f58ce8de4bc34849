/*
 * The allocator the daemon runs on, and what it can say of itself.
 *
 * The executable links mimalloc when the build finds it (FPD_ALLOCATOR, CMakeLists.txt):
 * linked ahead of libc, its malloc and free serve every allocation in the process, libcurl's,
 * jansson's and plugin modules' included. Per CreateTask the daemon allocates and frees
 * hundreds of small objects (the pod's JSON tree, libcurl's per-transfer state, the watch
 * event's tree); glibc's malloc was 17% of the daemon's CPU samples under sustained creates,
 * and mimalloc took 7% off the daemon's CPU per create at the same RSS (bench/engine/README.md).
 * Sanitizer, fuzzing and coverage builds keep the C library's allocator, which the sanitizers
 * replace with their own.
 *
 * Which one serves is checked at run time (the shared object that defines the malloc the
 * process calls), not assumed from the build: an LD_PRELOADed allocator would take precedence
 * over both.
 */
#ifndef FPD_CORE_HEAP_H
#define FPD_CORE_HEAP_H

#include <stddef.h>

enum fpd_heap_allocator {
	FPD_HEAP_GLIBC,    /* the C library's malloc (glibc) */
	FPD_HEAP_MIMALLOC, /* mimalloc, linked by the build */
	FPD_HEAP_OTHER,    /* a sanitizer's, or one preloaded: no figures */
};

/* Which allocator serves malloc in this process (decided once). */
enum fpd_heap_allocator fpd_heap_allocator(void);
/* Its name, for /metrics and the log: "glibc", "mimalloc" or "other". */
const char *fpd_heap_allocator_name(void);

/* One figure of the allocator's own: a part label for flyteplugd_memory_bytes and bytes. */
struct fpd_heap_part {
	const char *part;
	size_t bytes;
};
#define FPD_HEAP_PARTS_MAX 3
/* The allocator's own totals: glibc's heap_in_use, heap_free (free inside the heap) and
 * heap_mmapped (mallinfo2); mimalloc's heap_committed (memory it has committed from the
 * kernel, mi_process_info). Returns how many were written (0 for FPD_HEAP_OTHER). */
size_t fpd_heap_parts(struct fpd_heap_part out[FPD_HEAP_PARTS_MAX]);

/* Returns freed memory to the kernel now (malloc_trim(0), or mi_collect(true)); a no-op for
 * FPD_HEAP_OTHER. */
void fpd_heap_trim(void);

#endif
