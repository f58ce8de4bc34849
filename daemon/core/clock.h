/* Time helpers. Monotonic time for timeouts and ages; wall time only for timestamps people read. */
#ifndef FPD_CORE_CLOCK_H
#define FPD_CORE_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Milliseconds on a monotonic clock (arbitrary origin). */
int64_t fpd_clock_mono_ms(void);
/* Milliseconds since the Unix epoch. */
int64_t fpd_clock_wall_ms(void);
/* Formats wall-clock ms as RFC 3339 UTC with milliseconds ("2026-01-02T03:04:05.678Z"). */
void fpd_clock_format_rfc3339(int64_t wall_ms, char *out, size_t size);

#endif
