/*
 * Logging: see log.h. One fwrite per line so lines from one process never interleave, and the
 * JSON form escapes everything a collector would choke on (control bytes, quotes, invalid UTF-8
 * is passed through byte for byte as \u00XX).
 */
#include "core/log.h"

#include "core/clock.h"

#include <string.h>

static struct {
	enum fpd_log_level level;
	enum fpd_log_format format;
	FILE *out;
} logger = {FPD_LOG_INFO, FPD_LOG_TEXT, NULL};

static const char *const level_names[] = {"debug", "info", "warn", "error"};
static const char *const level_tags[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};

void fpd_log_setup(enum fpd_log_level level, enum fpd_log_format format, FILE *out)
{
	logger.level = level;
	logger.format = format;
	logger.out = out;
}

enum fpd_log_level fpd_log_level(void)
{
	return logger.level;
}

int fpd_log_enabled(enum fpd_log_level level)
{
	return level >= logger.level;
}

int fpd_log_level_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(s, level_names[i]) == 0)
			return (int)i;
	if (strcmp(s, "warning") == 0)
		return FPD_LOG_WARN;
	return -1;
}

int fpd_log_format_parse(const char *s)
{
	if (strcmp(s, "text") == 0)
		return FPD_LOG_TEXT;
	if (strcmp(s, "json") == 0)
		return FPD_LOG_JSON;
	return -1;
}

/* Appends s to line[*pos..size) as JSON string content; always leaves room for the tail. */
static void json_escape(char *line, size_t size, size_t *pos, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	for (; *s && *pos + 8 < size; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			line[(*pos)++] = '\\';
			line[(*pos)++] = (char)c;
		} else if (c == '\n') {
			line[(*pos)++] = '\\';
			line[(*pos)++] = 'n';
		} else if (c < 0x20 || c == 0x7f) {
			memcpy(line + *pos, "\\u00", 4);
			line[*pos + 4] = hex[c >> 4];
			line[*pos + 5] = hex[c & 15];
			*pos += 6;
		} else {
			line[(*pos)++] = (char)c;
		}
	}
}

void fpd_vlog(enum fpd_log_level level, const char *component, const char *fmt, va_list ap)
{
	if (level < logger.level)
		return;
	if ((unsigned)level > FPD_LOG_ERROR)
		level = FPD_LOG_ERROR;
	char msg[FPD_LOG_LINE];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	char ts[40];
	fpd_clock_format_rfc3339(fpd_clock_wall_ms(), ts, sizeof(ts));

	char line[FPD_LOG_LINE * 2];
	size_t pos = 0;
	if (logger.format == FPD_LOG_JSON) {
		int n =
		    snprintf(line, sizeof(line), "{\"ts\":\"%s\",\"level\":\"%s\",\"component\":\"",
		             ts, level_names[level]);
		pos = (size_t)n;
		json_escape(line, sizeof(line), &pos, component);
		memcpy(line + pos, "\",\"msg\":\"", 9);
		pos += 9;
		json_escape(line, sizeof(line), &pos, msg);
		memcpy(line + pos, "\"}\n", 3);
		pos += 3;
	} else {
		/* Text stays on one line too: newlines in a message become spaces. */
		for (char *p = msg; *p; p++)
			if (*p == '\n' || *p == '\r')
				*p = ' ';
		int n = snprintf(line, sizeof(line), "%s %s %s: %s\n", ts, level_tags[level],
		                 component, msg);
		pos = n < 0 ? 0 : (size_t)n >= sizeof(line) ? sizeof(line) - 1 : (size_t)n;
		if (pos == sizeof(line) - 1)
			line[pos - 1] = '\n';
	}
	FILE *out = logger.out ? logger.out : stderr;
	fwrite(line, 1, pos, out);
	fflush(out);
}

void fpd_log(enum fpd_log_level level, const char *component, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fpd_vlog(level, component, fmt, ap);
	va_end(ap);
}
