/* Region allocator: see arena.h. */
#include "core/arena.h"

#include <flyteplugd/mem.h>

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__)
#define ARENA_EACH_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_EACH_MALLOC 1
#endif
#endif

#define ALIGN alignof(max_align_t)
#define FIRST_BLOCK 16384
#define MAX_BLOCK (1u << 20)

struct fpd_arena_block {
	struct fpd_arena_block *next;
	alignas(max_align_t) char data[];
};

void fpd_arena_init(struct fpd_arena *a, void *buf, size_t size)
{
	a->first = buf;
	a->first_size = buf ? size : 0;
	a->next = a->first;
	a->end = a->first ? a->first + a->first_size : NULL;
	a->blocks = NULL;
	a->block_size = FIRST_BLOCK;
}

#ifndef ARENA_EACH_MALLOC
static char *align_up(char *p)
{
	return (char *)(((uintptr_t)p + (ALIGN - 1)) & ~(uintptr_t)(ALIGN - 1));
}

/* A new block from malloc holding at least size bytes; it becomes the current block. */
static struct fpd_arena_block *grow(struct fpd_arena *a, size_t size)
{
	size_t bytes = size > a->block_size ? size : a->block_size;
	if (a->block_size < MAX_BLOCK)
		a->block_size *= 2;
	struct fpd_arena_block *b = fpd_malloc(sizeof(*b) + bytes);
	b->next = a->blocks;
	a->blocks = b;
	a->next = b->data;
	a->end = b->data + bytes;
	return b;
}
#endif

void *fpd_arena_alloc(struct fpd_arena *a, size_t size)
{
	if (size == 0)
		size = 1;
#ifdef ARENA_EACH_MALLOC
	struct fpd_arena_block *b = fpd_malloc(sizeof(*b) + size);
	b->next = a->blocks;
	a->blocks = b;
	return b->data;
#else
	char *p = a->next ? align_up(a->next) : NULL;
	if (!p || p > a->end || (size_t)(a->end - p) < size) {
		grow(a, size);
		p = a->next;
	}
	a->next = p + size;
	return p;
#endif
}

void fpd_arena_release(struct fpd_arena *a)
{
	while (a->blocks) {
		struct fpd_arena_block *b = a->blocks;
		a->blocks = b->next;
		free(b);
	}
	a->next = a->first;
	a->end = a->first ? a->first + a->first_size : NULL;
	a->block_size = FIRST_BLOCK;
}
