/*
 * Logging: one line per event on stderr, as text for terminals or JSON for log collectors.
 *
 *   fpd_log(FPD_LOG_INFO, "grpc", "listening on %s", addr);
 *
 * text: 2026-01-02T03:04:05.678Z INFO  grpc: listening on 0.0.0.0:8000
 * json: {"ts":"2026-01-02T03:04:05.678Z","level":"info","component":"grpc","msg":"listening ..."}
 *
 * The logger is process-wide configuration set once at start (and on SIGHUP); it holds no other
 * state. Messages longer than FPD_LOG_LINE are truncated, never split.
 */
#ifndef FPD_CORE_LOG_H
#define FPD_CORE_LOG_H

#include <stdarg.h>
#include <stdio.h>

enum fpd_log_level {
	FPD_LOG_DEBUG = 0,
	FPD_LOG_INFO = 1,
	FPD_LOG_WARN = 2,
	FPD_LOG_ERROR = 3,
};

enum fpd_log_format {
	FPD_LOG_TEXT = 0,
	FPD_LOG_JSON = 1,
};

#define FPD_LOG_LINE 4096

/* Sets the threshold and format; out NULL means stderr. */
void fpd_log_setup(enum fpd_log_level level, enum fpd_log_format format, FILE *out);
enum fpd_log_level fpd_log_level(void);
int fpd_log_enabled(enum fpd_log_level level);

void fpd_log(enum fpd_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void fpd_vlog(enum fpd_log_level level, const char *component, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/* Parse "debug|info|warn|error" / "text|json"; -1 if unknown. */
int fpd_log_level_parse(const char *s);
int fpd_log_format_parse(const char *s);

#endif
