/*
 * What a plugin reports about a task: the Flyte phase, why, and where to look.
 *
 * Phases use the numbering of flyteidl's core.TaskExecution.Phase, so they go on the wire as they
 * are. A failure is FPD_PHASE_FAILED (permanent: Flyte does not retry) or
 * FPD_PHASE_RETRYABLE_FAILED (consumes a user or system retry, by kind).
 *
 * Ownership: a struct fpd_phase_info owns every string, link and custom_info it holds; release
 * with fpd_phase_info_clear(). Setters copy their string arguments.
 */
#ifndef FLYTEPLUGD_PHASE_H
#define FLYTEPLUGD_PHASE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum fpd_phase {
	FPD_PHASE_UNDEFINED = 0,
	FPD_PHASE_QUEUED = 1,
	FPD_PHASE_RUNNING = 2,
	FPD_PHASE_SUCCEEDED = 3,
	FPD_PHASE_ABORTED = 4,
	FPD_PHASE_FAILED = 5,
	FPD_PHASE_INITIALIZING = 6,
	FPD_PHASE_WAITING_FOR_RESOURCES = 7,
	FPD_PHASE_RETRYABLE_FAILED = 8,
};

/* Who is to blame for a failure: decides which retry budget Flyte charges. */
enum fpd_error_kind {
	FPD_KIND_UNKNOWN = 0,
	FPD_KIND_USER = 1,
	FPD_KIND_SYSTEM = 2,
};

enum fpd_link_format {
	FPD_LOG_FORMAT_UNKNOWN = 0,
	FPD_LOG_FORMAT_CSV = 1,
	FPD_LOG_FORMAT_JSON = 2,
};

struct fpd_log_link {
	char *name;
	char *uri;
	enum fpd_link_format format;
	bool show_while_pending;
	bool hide_once_finished;
};

struct fpd_phase_info {
	enum fpd_phase phase;
	/* Machine-readable cause for failures and waits ("OOMKilled", "ImagePullBackOff"). */
	char *code;
	/* What a person should read. */
	char *message;
	enum fpd_error_kind kind;
	/* On failure, delete the object (ImagePullBackOff, pending timeout, ...). */
	bool cleanup;
	struct fpd_log_link *logs;
	size_t log_count;
	/* Plugin-specific details for TaskExecutionEvent.custom_info (a JSON object), or NULL. */
	json_t *custom_info;
	/* When set (> 0): the phase depends on time (a grace period); the engine re-evaluates the
	 * object at this wall-clock time (ms since the epoch) even if nothing changes. */
	int64_t recheck_at_ms;
	/* The task's outputs, for GetTask's outputs (a succeeded task only): proto3 JSON of a
	 * flyteidl.core.LiteralMap ({"literals": {"n": {"scalar": {"primitive": {"integer":
	 * "3"}}}}}), or NULL when the plugin reports none (Flyte then reads outputs.pb from the
	 * output prefix). Added by plugin ABI 5. */
	json_t *outputs;
};

const char *fpd_phase_name(enum fpd_phase phase);
bool fpd_phase_is_terminal(enum fpd_phase phase);
bool fpd_phase_is_failure(enum fpd_phase phase);

/* Sets phase, code and message (copies; NULL allowed for code/message) and resets kind to
 * USER for failures, UNKNOWN otherwise. Keeps logs and custom_info. */
void fpd_phase_set(struct fpd_phase_info *pi, enum fpd_phase phase, const char *code,
                   const char *message);
/* Like fpd_phase_set with a printf message. */
void fpd_phase_setf(struct fpd_phase_info *pi, enum fpd_phase phase, const char *code,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Appends a log link (copies the strings). */
void fpd_phase_add_log(struct fpd_phase_info *pi, const char *name, const char *uri,
                       enum fpd_link_format format, bool show_while_pending,
                       bool hide_once_finished);
/* Moves src's logs to the end of dst's (src loses them). */
void fpd_phase_take_logs(struct fpd_phase_info *dst, struct fpd_phase_info *src);
/* Frees everything and zeroes pi. */
void fpd_phase_info_clear(struct fpd_phase_info *pi);
/* Deep copy into dst (which must be zeroed or cleared). */
void fpd_phase_info_copy(struct fpd_phase_info *dst, const struct fpd_phase_info *src);

#endif
