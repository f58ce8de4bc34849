/* Error records: see error.h. */
#include <flyteplugd/error.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void fpd_error_clear(struct fpd_error *err)
{
	if (err)
		memset(err, 0, sizeof(*err));
}

static void set_location(struct fpd_error *err, const char *file, int line, int column)
{
	err->file[0] = '\0';
	if (file)
		snprintf(err->file, sizeof(err->file), "%s", file);
	err->line = line;
	err->column = column;
}

int fpd_error_set(struct fpd_error *err, int code, const char *fmt, ...)
{
	if (!err)
		return code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->text, sizeof(err->text), fmt, ap);
	va_end(ap);
	set_location(err, NULL, 0, 0);
	return code;
}

int fpd_error_set_at(struct fpd_error *err, int code, const char *file, int line, int column,
                     const char *fmt, ...)
{
	if (!err)
		return code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->text, sizeof(err->text), fmt, ap);
	va_end(ap);
	set_location(err, file, line, column);
	return code;
}

int fpd_error_wrap(struct fpd_error *err, int code, const char *fmt, ...)
{
	if (!err)
		return code;
	char prefix[FPD_ERROR_TEXT];
	char old[FPD_ERROR_TEXT];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->text, sizeof(old));
	char joined[2 * FPD_ERROR_TEXT + 2];
	snprintf(joined, sizeof(joined), "%s: %s", prefix, old);
	/* Truncate to the record's size; the prefix matters more than the tail. */
	memcpy(err->text, joined, sizeof(err->text) - 1);
	err->text[sizeof(err->text) - 1] = '\0';
	return code;
}

const char *fpd_error_format(const struct fpd_error *err, char *out, size_t size)
{
	if (!err->file[0])
		snprintf(out, size, "%s", err->text);
	else if (err->line <= 0)
		snprintf(out, size, "%s: %s", err->file, err->text);
	else if (err->column <= 0)
		snprintf(out, size, "%s:%d: %s", err->file, err->line, err->text);
	else
		snprintf(out, size, "%s:%d:%d: %s", err->file, err->line, err->column, err->text);
	return out;
}

const char *fpd_strerror(int code)
{
	switch (code) {
	case FPD_OK: return "OK";
	case FPD_AGAIN: return "AGAIN";
	case FPD_ERR: return "ERR";
	case FPD_EINVAL: return "EINVAL";
	case FPD_ENOENT: return "ENOENT";
	case FPD_ERANGE: return "ERANGE";
	case FPD_EIO: return "EIO";
	case FPD_EEXIST: return "EEXIST";
	case FPD_EPERM: return "EPERM";
	case FPD_ETIMEDOUT: return "ETIMEDOUT";
	default: return "UNKNOWN";
	}
}
