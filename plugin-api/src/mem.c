/* Allocation wrappers that abort on exhaustion: see mem.h. */
#include <flyteplugd/mem.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fpd_die(const char *fmt, ...)
{
	va_list ap;
	fputs("flyteplugd: fatal: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

void *fpd_malloc(size_t size)
{
	void *p = malloc(size ? size : 1);
	if (!p)
		fpd_die("out of memory allocating %zu bytes", size);
	return p;
}

void *fpd_calloc(size_t count, size_t size)
{
	void *p = calloc(count ? count : 1, size ? size : 1);
	if (!p)
		fpd_die("out of memory allocating %zu x %zu bytes", count, size);
	return p;
}

void *fpd_realloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);
	if (!p)
		fpd_die("out of memory reallocating to %zu bytes", size);
	return p;
}

char *fpd_strdup(const char *s)
{
	return s ? fpd_strndup(s, strlen(s)) : NULL;
}

char *fpd_strndup(const char *s, size_t n)
{
	char *p = fpd_malloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *fpd_asprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		fpd_die("bad format string %s", fmt);
	char *p = fpd_malloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}
