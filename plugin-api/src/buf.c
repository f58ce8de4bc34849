/* Bounded growable buffer: see buf.h. */
#include <flyteplugd/buf.h>

#include <flyteplugd/error.h>
#include <flyteplugd/mem.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fpd_buf_init(struct fpd_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void fpd_buf_free(struct fpd_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void fpd_buf_reset(struct fpd_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

/* Makes room for extra bytes plus the terminator. */
static int reserve(struct fpd_buf *b, size_t extra)
{
	if (extra > b->max || b->len > b->max - extra)
		return FPD_ERANGE;
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return FPD_OK;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (cap > b->max + 1)
		cap = b->max + 1;
	b->data = fpd_realloc(b->data, cap);
	b->cap = cap;
	return FPD_OK;
}

int fpd_buf_append(struct fpd_buf *b, const void *data, size_t n)
{
	int rc = reserve(b, n);
	if (rc)
		return rc;
	if (n)
		memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
	return FPD_OK;
}

int fpd_buf_append_str(struct fpd_buf *b, const char *s)
{
	return fpd_buf_append(b, s, strlen(s));
}

int fpd_buf_append_byte(struct fpd_buf *b, unsigned char c)
{
	return fpd_buf_append(b, &c, 1);
}

int fpd_buf_vprintf(struct fpd_buf *b, const char *fmt, va_list ap)
{
	va_list copy;
	va_copy(copy, ap);
	int n = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (n < 0)
		return FPD_EINVAL;
	int rc = reserve(b, (size_t)n);
	if (rc)
		return rc;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return FPD_OK;
}

int fpd_buf_printf(struct fpd_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = fpd_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void fpd_buf_consume(struct fpd_buf *b, size_t n)
{
	FPD_ASSERT(n <= b->len);
	if (n == 0)
		return;
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

char *fpd_buf_steal(struct fpd_buf *b, size_t *len)
{
	char *p = b->data ? b->data : fpd_calloc(1, 1);
	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}
