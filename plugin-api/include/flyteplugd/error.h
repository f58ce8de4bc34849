/*
 * Return codes and the error record every fallible call fills.
 *
 * Functions return 0 (FPD_OK) on success and a negative FPD_E* code on failure; a function that
 * can wait returns FPD_AGAIN. When a call fails it writes a human-readable message into the
 * caller's struct fpd_error (which may be NULL when the caller does not care), and, for errors
 * in a file, the file, line and column (1-based; 0 when unknown).
 */
#ifndef FLYTEPLUGD_ERROR_H
#define FLYTEPLUGD_ERROR_H

#include <stddef.h>

enum {
	FPD_OK = 0,
	FPD_AGAIN = 1,      /* not done yet; a callback will follow */
	FPD_ERR = -1,       /* generic failure, see the message */
	FPD_EINVAL = -2,    /* bad input */
	FPD_ENOENT = -3,    /* not found */
	FPD_ERANGE = -4,    /* value out of range or over a limit */
	FPD_EIO = -5,       /* system or network I/O failed */
	FPD_EEXIST = -6,    /* already exists */
	FPD_EPERM = -7,     /* not allowed */
	FPD_ETIMEDOUT = -8, /* deadline passed */
};

#define FPD_ERROR_TEXT 512

struct fpd_error {
	char text[FPD_ERROR_TEXT];
	char file[256]; /* empty when the error is not about a file */
	int line;       /* 1-based, 0 when unknown */
	int column;     /* 1-based, 0 when unknown */
};

/* Clears err (may be NULL). */
void fpd_error_clear(struct fpd_error *err);

/* Formats a message into err (may be NULL) and returns code, so callers can write
 * `return fpd_error_set(err, FPD_EINVAL, "bad %s", what);`. Clears the location. */
int fpd_error_set(struct fpd_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like fpd_error_set, with a location in a file. file may be NULL. */
int fpd_error_set_at(struct fpd_error *err, int code, const char *file, int line, int column,
                     const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Prepends "prefix: " to the message already in err (may be NULL). Returns code. */
int fpd_error_wrap(struct fpd_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes "file:line:col: text" (or the parts that are known) into out, NUL-terminated,
 * truncated to size. Returns out. */
const char *fpd_error_format(const struct fpd_error *err, char *out, size_t size);

/* A short name for a return code ("EINVAL"), never NULL. */
const char *fpd_strerror(int code);

#endif
