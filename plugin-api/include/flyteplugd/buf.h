/*
 * Bounded growable byte buffer. Every buffer has a maximum size fixed at init; an append that
 * would pass it fails with FPD_ERANGE and leaves the buffer unchanged. The data is always
 * NUL-terminated (the terminator is not counted in len), so text can be used as a C string.
 */
#ifndef FLYTEPLUGD_BUF_H
#define FLYTEPLUGD_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct fpd_buf {
	char *data; /* NULL until the first append */
	size_t len;
	size_t cap;
	size_t max;
};

/* Initializes an empty buffer that may hold at most max bytes. Allocates nothing. */
void fpd_buf_init(struct fpd_buf *b, size_t max);
/* Frees the data; the buffer is empty and reusable afterwards with the same max. */
void fpd_buf_free(struct fpd_buf *b);
/* Drops the contents, keeps the allocation. */
void fpd_buf_reset(struct fpd_buf *b);

/* Appends n bytes. FPD_ERANGE if the result would exceed max. */
int fpd_buf_append(struct fpd_buf *b, const void *data, size_t n);
int fpd_buf_append_str(struct fpd_buf *b, const char *s);
int fpd_buf_append_byte(struct fpd_buf *b, unsigned char c);
int fpd_buf_printf(struct fpd_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int fpd_buf_vprintf(struct fpd_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Removes the first n bytes (n <= len). */
void fpd_buf_consume(struct fpd_buf *b, size_t n);

/* Hands the data to the caller (a new allocation to free(), never NULL) and empties b. */
char *fpd_buf_steal(struct fpd_buf *b, size_t *len);

#endif
