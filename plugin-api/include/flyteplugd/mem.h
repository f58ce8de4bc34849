/*
 * Allocation wrappers. Out of memory is not recoverable in a daemon that keeps its whole state
 * in memory and is restarted by its supervisor, so these abort with a message instead of
 * returning NULL; callers never check for NULL.
 */
#ifndef FLYTEPLUGD_MEM_H
#define FLYTEPLUGD_MEM_H

#include <stddef.h>

void *fpd_malloc(size_t size);
void *fpd_calloc(size_t count, size_t size);
void *fpd_realloc(void *ptr, size_t size);
/* New copy of s (NULL stays NULL). */
char *fpd_strdup(const char *s);
/* New copy of the first n bytes of s, NUL-terminated. */
char *fpd_strndup(const char *s, size_t n);
/* New string from a printf format. */
char *fpd_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Never returns. Prints "flyteplugd: fatal: <msg>" to stderr and aborts. */
void fpd_die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

#define FPD_ASSERT(cond) \
	((cond) ? (void)0 : fpd_die("assertion failed: %s (%s:%d)", #cond, __FILE__, __LINE__))

#define FPD_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Recover the enclosing struct from a pointer to one of its members (libev watchers). */
#define fpd_container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

#endif
