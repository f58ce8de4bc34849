/*
 * Pod status to Flyte phase: Flyte's DemystifyPodStatus (pod/plugin.go) with
 * DemystifyPending, DemystifySuccess, DemystifyFailure and DeterminePrimaryContainerPhase
 * (flytek8s/pod_helper.go), rule for rule and message for message.
 */
#include "internal.h"

#include <flyteplugd/object.h>

#include <flyteplugd/buf.h>
#include <flyteplugd/mem.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIGKILL_EXIT 137
#define UNSIGNED_SIGKILL_EXIT 247 /* 256 - 9 */

static void set(struct fpd_phase_info *out, enum fpd_phase phase, enum fpd_error_kind kind,
                bool cleanup, const char *code, const char *message)
{
	fpd_phase_set(out, phase, code, message);
	if (fpd_phase_is_failure(phase))
		out->kind = kind;
	out->cleanup = cleanup;
}

/* Flyte's phases built with a bare TaskInfo{OccurredAt} carry no log links. */
static void drop_logs(struct fpd_phase_info *out)
{
	struct fpd_phase_info tmp = {0};
	fpd_phase_take_logs(&tmp, out);
	fpd_phase_info_clear(&tmp);
}

static const json_t *terminated(const json_t *cs, const char *state)
{
	const json_t *t = fpd_json_get(fpd_json_get(cs, state), "terminated");
	return json_is_object(t) ? t : NULL;
}

static bool state_has(const json_t *cs, const char *what)
{
	return json_is_object(fpd_json_get(fpd_json_get(cs, "state"), what));
}

static bool sigkilled(const json_t *term)
{
	int64_t code = fpd_json_int_or(term, "exitCode", 0);
	return code == SIGKILL_EXIT || code == UNSIGNED_SIGKILL_EXIT;
}

static bool oom_killed(const json_t *term)
{
	return strstr(fpd_json_str_or(term, "reason", ""), "OOMKilled") != NULL;
}

/* "\r\n[<name>] terminated with exit code (<n>). Reason [<r>]. Message: \n<m>." */
static void append_termination(struct fpd_buf *b, const char *name, const json_t *term)
{
	fpd_buf_printf(b,
	               "\r\n[%s] terminated with exit code (%" PRId64 "). Reason [%s]. Message: "
	               "\n%s.",
	               name, fpd_json_int_or(term, "exitCode", 0),
	               fpd_json_str_or(term, "reason", ""), fpd_json_str_or(term, "message", ""));
}

/* Calls fn on every init, regular and ephemeral container status, in that order. */
static void each_status(const json_t *status, void (*fn)(const json_t *cs, void *arg), void *arg)
{
	static const char *const lists[] = {"initContainerStatuses", "containerStatuses",
	                                    "ephemeralContainerStatuses"};
	for (size_t l = 0; l < 3; l++) {
		size_t i;
		json_t *cs;
		json_array_foreach(json_object_get(status, lists[l]), i, cs)
		{
			fn(cs, arg);
		}
	}
}

static void find_oom(const json_t *cs, void *arg)
{
	const json_t *t = terminated(cs, "state");
	if (t && oom_killed(t))
		*(bool *)arg = true;
}

static void demystify_success(const json_t *status, struct fpd_phase_info *out)
{
	bool oom = false;
	each_status(status, find_oom, &oom);
	if (oom)
		set(out, FPD_PHASE_RETRYABLE_FAILED, FPD_KIND_USER, false, "OOMKilled",
		    "Pod reported success despite being OOMKilled");
	else
		set(out, FPD_PHASE_SUCCEEDED, FPD_KIND_UNKNOWN, false, NULL, NULL);
}

struct failure {
	const char *primary;
	const char *code;
	bool system;
	struct fpd_buf message;
};

static void inspect_failed(const json_t *cs, void *arg)
{
	struct failure *f = arg;
	const json_t *t = terminated(cs, "lastState");
	if (!t)
		t = terminated(cs, "state");
	if (!t)
		return;
	const char *name = fpd_json_str_or(cs, "name", "");
	if (oom_killed(t)) {
		f->code = "OOMKilled";
	} else if (sigkilled(t)) {
		/* Node termination often SIGKILLs every container; blamed on the system only for
		 * the primary container. */
		f->code = "Interrupted";
		if (!strcmp(name, f->primary))
			f->system = true;
	}
	if (fpd_json_int_or(t, "exitCode", 0) == 0)
		fpd_buf_printf(&f->message, "\r\n[%s] terminated with ExitCode 0.", name);
	else
		append_termination(&f->message, name, t);
}

static void demystify_failure(const json_t *status, const char *primary, struct fpd_phase_info *out)
{
	static const char *const node_gone[] = {"Shutdown", "Terminated", "NodeShutdown",
	                                        "NodeAffinity"};
	const char *reason = fpd_json_str_or(status, "reason", "");
	const char *message = fpd_json_str_or(status, "message", "");
	struct failure f = {.primary = primary, .code = *reason ? reason : "UnknownError"};
	fpd_buf_init(&f.message, FPD_POD_TEXT_MAX);
	fpd_buf_append_str(&f.message,
	                   *message ? message : "Pod failed. No message received from kubernetes.");
	for (size_t i = 0; i < FPD_ARRAY_LEN(node_gone); i++)
		if (!strcmp(f.code, node_gone[i]))
			f.system = true;
	each_status(status, inspect_failed, &f);
	if (!strcmp(f.code, "UnknownError"))
		f.system = true;
	if (f.system)
		set(out, FPD_PHASE_RETRYABLE_FAILED, FPD_KIND_SYSTEM, false, "Interrupted",
		    f.message.data);
	else
		set(out, FPD_PHASE_RETRYABLE_FAILED, FPD_KIND_USER, false, f.code, f.message.data);
	fpd_buf_free(&f.message);
}

/* DeterminePrimaryContainerPhase; returns false for PrimaryContainerNotFound. */
static bool primary_phase(const json_t *status, const char *primary, struct fpd_phase_info *out)
{
	size_t i;
	json_t *cs;
	json_array_foreach(json_object_get(status, "containerStatuses"), i, cs)
	{
		if (strcmp(fpd_json_str_or(cs, "name", ""), primary))
			continue;
		if (state_has(cs, "waiting") || state_has(cs, "running")) {
			set(out, FPD_PHASE_RUNNING, FPD_KIND_UNKNOWN, false, NULL, NULL);
			return true;
		}
		const json_t *t = terminated(cs, "state");
		if (!t)
			continue;
		const char *reason = fpd_json_str_or(t, "reason", "");
		struct fpd_buf msg;
		fpd_buf_init(&msg, FPD_POD_TEXT_MAX);
		append_termination(&msg, primary, t);
		if (oom_killed(t) || (!sigkilled(t) && fpd_json_int_or(t, "exitCode", 0) != 0))
			set(out, FPD_PHASE_RETRYABLE_FAILED, FPD_KIND_USER, false, reason,
			    msg.data);
		else if (sigkilled(t)) /* most likely preemption: the system's retry budget */
			set(out, FPD_PHASE_RETRYABLE_FAILED, FPD_KIND_SYSTEM, false, reason,
			    msg.data);
		else
			set(out, FPD_PHASE_SUCCEEDED, FPD_KIND_UNKNOWN, false, NULL, NULL);
		fpd_buf_free(&msg);
		return true;
	}
	return false;
}

static bool all_terminated_ok(const json_t *list)
{
	size_t i;
	json_t *cs;
	json_array_foreach(list, i, cs)
	{
		const json_t *t = terminated(cs, "state");
		if (state_has(cs, "waiting") || state_has(cs, "running") ||
		    (t && fpd_json_int_or(t, "exitCode", 0) != 0))
			return false;
	}
	return true;
}

/* Running, Unknown or any other phase. */
static void demystify_running(const json_t *pod, const json_t *status, const char *primary,
                              struct fpd_phase_info *out)
{
	if (!primary) {
		/* Every container done and successful: success before the pod phase flips. */
		const json_t *cs = json_object_get(status, "containerStatuses");
		if (json_array_size(cs) > 0 && all_terminated_ok(cs) &&
		    all_terminated_ok(json_object_get(status, "initContainerStatuses")))
			demystify_success(status, out);
		else
			set(out, FPD_PHASE_RUNNING, FPD_KIND_UNKNOWN, false, NULL, NULL);
		return;
	}
	if (primary_phase(status, primary, out))
		return;
	if (fpd_pod_find_container(fpd_json_get(pod, "spec"), primary)) {
		set(out, FPD_PHASE_RUNNING, FPD_KIND_UNKNOWN, false, NULL, NULL);
		return;
	}
	char *msg =
	    fpd_asprintf("Primary container [%s] not found in pod's container statuses", primary);
	set(out, FPD_PHASE_FAILED, FPD_KIND_USER, false, "PrimaryContainerNotFound", msg);
	free(msg);
}

/* Go decodes a missing (or unreadable) timestamp as its zero time, long ago. */
static int64_t k8s_time(const json_t *o, const char *key)
{
	int64_t t = fpd_time_parse(fpd_json_str(o, key));
	return t == -1 ? FPD_GO_ZERO_TIME_MS : t;
}

static void initializing(struct fpd_phase_info *out, const char *reason, const char *message)
{
	char *m = fpd_asprintf("[%s]: %s", reason, message);
	set(out, FPD_PHASE_INITIALIZING, FPD_KIND_UNKNOWN, false, NULL, m);
	free(m);
}

/* A grace-period rule: past the grace, fail with fail_phase; within it, Initializing until
 * the grace expires (the engine re-evaluates then). */
static void within_grace(struct fpd_phase_info *out, int64_t t, int64_t grace_ms, int64_t now_ms,
                         enum fpd_phase fail_phase, const char *reason, const char *message)
{
	if (now_ms - t >= grace_ms) {
		char g[48];
		fpd_go_duration(grace_ms, g, sizeof(g));
		char *m = fpd_asprintf("Grace period [%s] exceeded|%s", g, message);
		set(out, fail_phase, FPD_KIND_USER, true, reason, m);
		free(m);
		return;
	}
	initializing(out, reason, message);
	out->recheck_at_ms = t + grace_ms;
}

/* A container that is not ready and waiting, under a Ready=False condition, decides the
 * phase; returns false for any other container. */
static bool waiting_container(const json_t *cond, const json_t *cs, int64_t t,
                              const struct fpd_k8s_settings *k8s, int64_t now_ms,
                              struct fpd_phase_info *out)
{
	const json_t *w = fpd_json_get(cs, "state.waiting");
	if (fpd_json_bool_or(cs, "ready", false) || !json_is_object(w))
		return false;
	const char *why = fpd_json_str_or(w, "reason", "");
	char *reason = fpd_asprintf("%s|%s", fpd_json_str_or(cond, "reason", ""), why);
	char *message = fpd_asprintf("%s|%s", fpd_json_str_or(cond, "message", ""),
	                             fpd_json_str_or(w, "message", ""));
	if (!strcmp(why, "ErrImagePull") || !strcmp(why, "ContainerCreating") ||
	    !strcmp(why, "PodInitializing"))
		initializing(out, reason, message); /* pulling, creating, init containers */
	else if (!strcmp(why, "CreateContainerError"))
		within_grace(out, t, k8s->create_container_error_grace_ms, now_ms, FPD_PHASE_FAILED,
		             reason, message);
	else if (!strcmp(why, "CreateContainerConfigError"))
		within_grace(out, t, k8s->create_container_config_error_grace_ms, now_ms,
		             FPD_PHASE_FAILED, reason, message);
	else if (!strcmp(why, "InvalidImageName"))
		set(out, FPD_PHASE_FAILED, FPD_KIND_USER, true, reason, message);
	else if (!strcmp(why, "ImagePullBackOff"))
		within_grace(out, t, k8s->image_pull_backoff_grace_ms, now_ms,
		             FPD_PHASE_RETRYABLE_FAILED, reason, message);
	else /* not a known transient reason: fail now rather than wait for the pod to vanish */
		set(out, FPD_PHASE_RETRYABLE_FAILED, FPD_KIND_SYSTEM, true, reason, message);
	drop_logs(out);
	free(reason);
	free(message);
	return true;
}

/* demystifyPendingHelper: the phase in *out, the time of the condition that decided it. */
static int64_t pending_phase(const json_t *status, const struct fpd_k8s_settings *k8s,
                             int64_t now_ms, struct fpd_phase_info *out)
{
	int64_t t = now_ms;
	size_t i, j;
	json_t *c, *cs;
	set(out, FPD_PHASE_QUEUED, FPD_KIND_UNKNOWN, false, NULL, "Demistify Pending");
	json_array_foreach(json_object_get(status, "conditions"), i, c)
	{
		t = k8s_time(c, "lastTransitionTime");
		const char *type = fpd_json_str_or(c, "type", "");
		bool is_false = !strcmp(fpd_json_str_or(c, "status", ""), "False");
		if ((!strcmp(type, "PodScheduled") && is_false) || !strcmp(type, "Unschedulable")) {
			char *m = fpd_asprintf("%s:%s", fpd_json_str_or(c, "reason", ""),
			                       fpd_json_str_or(c, "message", ""));
			set(out, FPD_PHASE_QUEUED, FPD_KIND_UNKNOWN, false, NULL, m);
			free(m);
			return t;
		}
		if (strcmp(type, "Ready") || !is_false)
			continue;
		json_array_foreach(json_object_get(status, "containerStatuses"), j, cs)
		{
			if (waiting_container(c, cs, t, k8s, now_ms, out))
				return t;
		}
	}
	return t;
}

static void demystify_pending(const json_t *status, const struct fpd_k8s_settings *k8s,
                              int64_t now_ms, struct fpd_phase_info *out)
{
	int64_t t = pending_phase(status, k8s, now_ms, out);
	int64_t timeout = k8s->pod_pending_timeout_ms;
	if (fpd_phase_is_terminal(out->phase) || timeout <= 0)
		return;
	if (now_ms - t >= timeout) {
		char *reason = fpd_strdup(out->message);
		set(out, FPD_PHASE_RETRYABLE_FAILED, FPD_KIND_USER, true, "PodPendingTimeout",
		    reason);
		free(reason);
		out->recheck_at_ms = 0;
		drop_logs(out);
	} else if (!out->recheck_at_ms || t + timeout < out->recheck_at_ms) {
		out->recheck_at_ms = t + timeout;
	}
}

void fpd_pod_status(const json_t *pod, const struct fpd_k8s_settings *k8s, int64_t now_ms,
                    struct fpd_phase_info *out)
{
	const json_t *status = fpd_json_get(pod, "status");
	const char *phase = fpd_json_str_or(status, "phase", "");
	const json_t *annotation =
	    json_object_get(fpd_json_get(pod, "metadata.annotations"), FPD_POD_PRIMARY_ANNOTATION);
	const char *primary = json_string_value(annotation);
	out->recheck_at_ms = 0;
	if (!strcmp(phase, "Succeeded"))
		demystify_success(status, out);
	else if (!strcmp(phase, "Failed"))
		demystify_failure(status, primary ? primary : "", out);
	else if (!strcmp(phase, "Pending"))
		demystify_pending(status, k8s, now_ms, out);
	else if (!strcmp(phase, "Unschedulable"))
		set(out, FPD_PHASE_QUEUED, FPD_KIND_UNKNOWN, false, NULL, "pod unschedulable");
	else
		demystify_running(pod, status, primary, out);
}
