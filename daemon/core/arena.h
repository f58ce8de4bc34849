/*
 * A region allocator: allocations are bumped from blocks and released together. For values
 * that live exactly as long as one request (a decoded protobuf message), where a malloc and a
 * free for every field would cost more than the work done with them.
 *
 * The first block may be the caller's (a buffer on the stack); later ones come from malloc.
 * Builds with AddressSanitizer give every allocation a malloc of its own instead, so that an
 * access past one is still caught.
 */
#ifndef FPD_CORE_ARENA_H
#define FPD_CORE_ARENA_H

#include <stddef.h>

struct fpd_arena_block;

struct fpd_arena {
	char *next, *end;               /* the free part of the current block */
	char *first;                    /* the caller's block, */
	size_t first_size;              /* and its size */
	struct fpd_arena_block *blocks; /* malloc'd blocks, newest first */
	size_t block_size;              /* of the next block from malloc */
};

/* An arena whose first block is buf[0..size) (buf may be NULL with size 0); the caller keeps
 * buf alive until fpd_arena_release. */
void fpd_arena_init(struct fpd_arena *a, void *buf, size_t size);

/* size bytes aligned for any type, uninitialised; never NULL (out of memory aborts). Valid
 * until fpd_arena_release. */
void *fpd_arena_alloc(struct fpd_arena *a, size_t size);

/* Releases every allocation; the arena is empty, and can be used again, with its first block. */
void fpd_arena_release(struct fpd_arena *a);

#endif
