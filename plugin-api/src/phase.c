/* struct fpd_phase_info helpers: see plugin-api/include/flyteplugd/phase.h. */
#include <flyteplugd/phase.h>

#include <flyteplugd/mem.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *fpd_phase_name(enum fpd_phase phase)
{
	switch (phase) {
	case FPD_PHASE_UNDEFINED: return "UNDEFINED";
	case FPD_PHASE_QUEUED: return "QUEUED";
	case FPD_PHASE_RUNNING: return "RUNNING";
	case FPD_PHASE_SUCCEEDED: return "SUCCEEDED";
	case FPD_PHASE_ABORTED: return "ABORTED";
	case FPD_PHASE_FAILED: return "FAILED";
	case FPD_PHASE_INITIALIZING: return "INITIALIZING";
	case FPD_PHASE_WAITING_FOR_RESOURCES: return "WAITING_FOR_RESOURCES";
	case FPD_PHASE_RETRYABLE_FAILED: return "RETRYABLE_FAILED";
	}
	return "UNKNOWN";
}

bool fpd_phase_is_failure(enum fpd_phase phase)
{
	return phase == FPD_PHASE_FAILED || phase == FPD_PHASE_RETRYABLE_FAILED;
}

bool fpd_phase_is_terminal(enum fpd_phase phase)
{
	return fpd_phase_is_failure(phase) || phase == FPD_PHASE_SUCCEEDED ||
	       phase == FPD_PHASE_ABORTED;
}

void fpd_phase_set(struct fpd_phase_info *pi, enum fpd_phase phase, const char *code,
                   const char *message)
{
	char *c = fpd_strdup(code), *m = fpd_strdup(message);
	free(pi->code);
	free(pi->message);
	pi->code = c;
	pi->message = m;
	pi->phase = phase;
	pi->kind = fpd_phase_is_failure(phase) ? FPD_KIND_USER : FPD_KIND_UNKNOWN;
}

void fpd_phase_setf(struct fpd_phase_info *pi, enum fpd_phase phase, const char *code,
                    const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *m = fpd_malloc((size_t)(n < 0 ? 0 : n) + 1);
	va_start(ap, fmt);
	vsnprintf(m, (size_t)(n < 0 ? 0 : n) + 1, fmt, ap);
	va_end(ap);
	fpd_phase_set(pi, phase, code, m);
	free(m);
}

void fpd_phase_add_log(struct fpd_phase_info *pi, const char *name, const char *uri,
                       enum fpd_link_format format, bool show_while_pending,
                       bool hide_once_finished)
{
	pi->logs = fpd_realloc(pi->logs, (pi->log_count + 1) * sizeof(*pi->logs));
	struct fpd_log_link *l = &pi->logs[pi->log_count++];
	l->name = fpd_strdup(name ? name : "");
	l->uri = fpd_strdup(uri ? uri : "");
	l->format = format;
	l->show_while_pending = show_while_pending;
	l->hide_once_finished = hide_once_finished;
}

void fpd_phase_take_logs(struct fpd_phase_info *dst, struct fpd_phase_info *src)
{
	if (!src->log_count)
		return;
	dst->logs = fpd_realloc(dst->logs, (dst->log_count + src->log_count) * sizeof(*dst->logs));
	memcpy(dst->logs + dst->log_count, src->logs, src->log_count * sizeof(*src->logs));
	dst->log_count += src->log_count;
	free(src->logs);
	src->logs = NULL;
	src->log_count = 0;
}

void fpd_phase_info_clear(struct fpd_phase_info *pi)
{
	for (size_t i = 0; i < pi->log_count; i++) {
		free(pi->logs[i].name);
		free(pi->logs[i].uri);
	}
	free(pi->logs);
	free(pi->code);
	free(pi->message);
	json_decref(pi->custom_info);
	json_decref(pi->outputs);
	memset(pi, 0, sizeof(*pi));
}

void fpd_phase_info_copy(struct fpd_phase_info *dst, const struct fpd_phase_info *src)
{
	*dst = *src;
	dst->code = fpd_strdup(src->code);
	dst->message = fpd_strdup(src->message);
	dst->custom_info = src->custom_info ? json_deep_copy(src->custom_info) : NULL;
	dst->outputs = src->outputs ? json_deep_copy(src->outputs) : NULL;
	dst->logs = NULL;
	dst->log_count = 0;
	for (size_t i = 0; i < src->log_count; i++)
		fpd_phase_add_log(dst, src->logs[i].name, src->logs[i].uri, src->logs[i].format,
		                  src->logs[i].show_while_pending, src->logs[i].hide_once_finished);
}
