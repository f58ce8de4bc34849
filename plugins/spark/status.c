/*
 * SparkApplication status to Flyte phase, after Flyte's spark.go GetTaskPhase and
 * getEventInfoForSpark: one table row per status.applicationState.state of the operator's
 * v1beta2 API, the operator's own retries in the message, the driver pod read with the pod
 * rules when the engine delivers it (Flyte 2 fails fast on a failed driver the same way), log
 * links from `logs.{mixed,user,system,all-user}` (mixed falling back to the daemon's `logs:`)
 * for the driver, each executor and the application, and the Spark UI / history server links.
 */
#include "spark.h"

#include "../children.h"

#include <flyteplugd/logs.h>
#include <flyteplugd/object.h>
#include <flyteplugd/pod.h>
#include <flyteplugd/queue.h>

#include <flyteplugd/mem.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DRIVER_CONTAINER "spark-kubernetes-driver"
#define ERROR_CODE "DownstreamSystemError"

/* Which of the operator's retry counters a state reports. */
enum attempts { NO_ATTEMPTS, EXECUTION_ATTEMPTS, SUBMISSION_ATTEMPTS };

struct state_rule {
	const char *state;
	enum fpd_phase phase;
	const char *code;
	const char *message;
	enum attempts attempts;
	bool with_error; /* message is followed by status.applicationState.errorMessage */
};

/* Flyte maps "" to Queued, SUBMITTED to Initializing, FAILED and SUBMISSION_FAILED to a
 * retryable user failure, COMPLETED to Success and every other string to Running; flyteplugd
 * keeps that for the states the operator defines and leaves strings it does not know undefined.
 * The messages of the first rows are Flyte's (the double space included). */
static const struct state_rule rules[] = {
    {"", FPD_PHASE_QUEUED, NULL, "job queued", NO_ATTEMPTS},
    {"SUBMITTED", FPD_PHASE_INITIALIZING, NULL, "job submitted", SUBMISSION_ATTEMPTS},
    {"SUBMISSION_FAILED", FPD_PHASE_RETRYABLE_FAILED, ERROR_CODE,
     "Spark Job  Submission Failed with Error: ", SUBMISSION_ATTEMPTS, true},
    {"FAILED", FPD_PHASE_RETRYABLE_FAILED, ERROR_CODE,
     "Spark Job Failed with Error: ", EXECUTION_ATTEMPTS, true},
    {"COMPLETED", FPD_PHASE_SUCCEEDED, NULL, NULL, NO_ATTEMPTS},
    {"RUNNING", FPD_PHASE_RUNNING, NULL, "job running", EXECUTION_ATTEMPTS},
    {"PENDING_RERUN", FPD_PHASE_RUNNING, NULL,
     "PENDING_RERUN: the operator is resubmitting the application", EXECUTION_ATTEMPTS},
    {"INVALIDATING", FPD_PHASE_RUNNING, NULL,
     "INVALIDATING: the application changed, the operator is restarting it", NO_ATTEMPTS},
    {"SUCCEEDING", FPD_PHASE_RUNNING, NULL, "SUCCEEDING: the driver completed", EXECUTION_ATTEMPTS},
    {"FAILING", FPD_PHASE_RUNNING, NULL, "FAILING: the driver failed: ", EXECUTION_ATTEMPTS, true},
    {"UNKNOWN", FPD_PHASE_RUNNING, NULL, "UNKNOWN: the operator does not know the driver state",
     EXECUTION_ATTEMPTS},
    /* spec.suspend (operator 2.2+): Flyte's default row would say Running; nothing runs. */
    {"SUSPENDING", FPD_PHASE_QUEUED, NULL, "SUSPENDING: the application is being suspended",
     NO_ATTEMPTS},
    {"SUSPENDED", FPD_PHASE_QUEUED, NULL, "SUSPENDED: the application is suspended", NO_ATTEMPTS},
    {"RESUMING", FPD_PHASE_QUEUED, NULL, "RESUMING: the application is being resumed", NO_ATTEMPTS},
};

static const struct state_rule *find_rule(const char *state)
{
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (!strcmp(rules[i].state, state))
			return &rules[i];
	return NULL;
}

/* The attempt the operator is at and how many it makes (0: unbounded), from the status
 * counters and spec.restartPolicy. */
static void attempt_counts(const json_t *app, enum attempts which, int64_t *at, int64_t *of)
{
	const json_t *rp = fpd_json_get(app, "spec.restartPolicy");
	const char *type = fpd_json_str_or(rp, "type", "Never");
	if (which == SUBMISSION_ATTEMPTS) {
		*at = fpd_json_int_or(app, "status.submissionAttempts", 0);
		*of = fpd_json_int_or(rp, "onSubmissionFailureRetries", 0) + 1;
	} else {
		*at = fpd_json_int_or(app, "status.executionAttempts", 0);
		*of = !strcmp(type, "Always")      ? 0
		      : !strcmp(type, "OnFailure") ? fpd_json_int_or(rp, "onFailureRetries", 0) + 1
		                                   : 1;
	}
	if (strcmp(type, "Never") && strcmp(type, "OnFailure") && strcmp(type, "Always"))
		*of = 0;
}

/* Whether the operator itself will run the driver again after it fails. */
static bool operator_retries(const json_t *app)
{
	int64_t at, of;
	attempt_counts(app, EXECUTION_ATTEMPTS, &at, &of);
	return of == 0 || (at < 1 ? 1 : at) < of;
}

static void set_from_rule(const json_t *app, const struct state_rule *r, struct fpd_phase_info *out)
{
	if (!r->message) {
		fpd_phase_set(out, r->phase, r->code, NULL);
		return;
	}
	char *text = fpd_asprintf(
	    "%s%s", r->message,
	    r->with_error ? fpd_json_str_or(app, "status.applicationState.errorMessage", "") : "");
	int64_t at = 0, of = 0;
	if (r->attempts != NO_ATTEMPTS)
		attempt_counts(app, r->attempts, &at, &of);
	const char *what = r->attempts == SUBMISSION_ATTEMPTS ? "submission " : "";
	if (at > 0 && of > 0)
		fpd_phase_setf(out, r->phase, r->code, "%s (%sattempt %lld of %lld)", text, what,
		               (long long)at, (long long)of);
	else if (at > 0)
		fpd_phase_setf(out, r->phase, r->code, "%s (%sattempt %lld)", text, what,
		               (long long)at);
	else
		fpd_phase_set(out, r->phase, r->code, text);
	free(text);
}

static const char *role_of(const json_t *pod)
{
	return fpd_json_str_or(fpd_json_get(pod, "metadata.labels"), "spark-role", "");
}

/* The driver among the delivered pods: the one status.driverInfo.podName names, else the
 * one labelled spark-role=driver (borrowed), or NULL. */
static const json_t *driver_pod(const struct fpd_status_ctx *ctx, const char *name)
{
	const json_t *labelled = NULL;
	for (size_t i = 0; i < ctx->pod_count; i++) {
		const json_t *p = ctx->pods[i];
		if (*name && !strcmp(fpd_json_str_or(p, "metadata.name", ""), name))
			return p;
		if (!labelled && !strcmp(role_of(p), "driver"))
			labelled = p;
	}
	return labelled;
}

/* The log settings of the driver and executor links: `logs.mixed`, else the daemon's `logs:`. */
static const struct fpd_log_settings *mixed_logs(const struct fpd_status_ctx *ctx)
{
	const struct fpd_spark_settings *s = ctx->plugin_settings;
	return s && s->logs.mixed ? s->logs.mixed : &ctx->settings->logs;
}

/* Flyte's finish time for Spark's links: the application's termination time once it COMPLETED
 * or FAILED, else 0 (the epoch, not now). */
static int64_t links_finish_ms(const json_t *app, const char *state)
{
	if (strcmp(state, "COMPLETED") && strcmp(state, "FAILED"))
		return 0;
	int64_t t = fpd_time_parse(fpd_json_str(app, "status.terminationTime"));
	return t > 0 ? t : 0;
}

/* Flyte's start time for Spark's links is the application's creation: pod (a new object) gets
 * it, or loses its own when the application has none (Go's zero time). */
static void app_start_time(json_t *pod, const json_t *app)
{
	const char *created = fpd_json_str(app, "metadata.creationTimestamp");
	if (created)
		fpd_json_set_str(pod, "metadata.creationTimestamp", created);
	else
		json_object_del(fpd_json_get(pod, "metadata"), "creationTimestamp");
}

/* A pod by name only, as Flyte's tasklog.Input for the links it makes without a pod (a new
 * object; no name when pod_name is empty, and the variables left unreplaced, as Flyte). */
static json_t *named_pod(const json_t *app, const char *namespace_, const char *pod_name)
{
	json_t *pod =
	    json_pack("{s:{s:s},s:{s:[{}]}}", "metadata", "namespace",
	              fpd_json_str_or(app, "metadata.namespace", namespace_), "spec", "containers");
	if (*pod_name)
		fpd_json_set_str(pod, "metadata.name", pod_name);
	app_start_time(pod, app);
	return pod;
}

/* `logs.mixed` for the driver, "(Driver Logs)": the pod the engine delivered (its container,
 * uid and node fill variables Flyte leaves unreplaced), else the one status.driverInfo names,
 * which Flyte links before it is seen. */
static void driver_logs(const struct fpd_status_ctx *ctx, const json_t *driver, int64_t finish_ms,
                        struct fpd_phase_info *out)
{
	const json_t *app = ctx->object;
	const char *name = fpd_json_str_or(app, "status.driverInfo.podName", "");
	json_t *pod;
	if (driver) {
		pod = json_deep_copy(driver);
		app_start_time(pod, app);
	} else if (*name) {
		pod = named_pod(app, ctx->ref->namespace_, name);
		fpd_json_set_new(pod, "spec.containers",
		                 json_pack("[{s:s}]", "name", DRIVER_CONTAINER));
	} else {
		return;
	}
	struct fpd_log_input in = {.ref = ctx->ref,
	                           .pod = pod,
	                           .log_name = "(Driver Logs)",
	                           .task_config = ctx->task_config,
	                           .now_ms = finish_ms};
	fpd_logs_for_pod(mixed_logs(ctx), &in, out);
	json_decref(pod);
}

/* flyteplugd's addition: `logs.mixed` for each executor pod, with the pod's own times. */
static void executor_logs(const struct fpd_status_ctx *ctx, struct fpd_phase_info *out)
{
	for (size_t i = 0; i < ctx->pod_count; i++) {
		const json_t *p = ctx->pods[i];
		if (strcmp(role_of(p), "executor"))
			continue;
		char log_name[320];
		const char *id =
		    fpd_json_str_or(fpd_json_get(p, "metadata.labels"), "spark-exec-id", "");
		snprintf(log_name, sizeof(log_name), "(Executor %s Logs)",
		         *id ? id : fpd_json_str_or(p, "metadata.name", ""));
		struct fpd_log_input in = {.ref = ctx->ref,
		                           .pod = p,
		                           .log_name = log_name,
		                           .task_config = ctx->task_config,
		                           .now_ms = ctx->now_ms};
		fpd_logs_for_pod(mixed_logs(ctx), &in, out);
	}
}

/* One of `logs.user`, `logs.system`, `logs.all-user` when configured, for pod_name (maybe "").
 * Flyte gives these inputs no task template: no dynamic links. */
static void section_logs(const struct fpd_status_ctx *ctx, const struct fpd_log_settings *logs,
                         const char *pod_name, const char *log_name, bool show_while_pending,
                         int64_t finish_ms, struct fpd_phase_info *out)
{
	if (!logs)
		return;
	json_t *pod = named_pod(ctx->object, ctx->ref->namespace_, pod_name);
	struct fpd_task_ref ref = *ctx->ref;
	ref.link_types = "";
	struct fpd_log_input in = {
	    .ref = &ref, .pod = pod, .log_name = log_name, .now_ms = finish_ms};
	size_t first = out->log_count;
	fpd_logs_for_pod(logs, &in, out);
	for (size_t i = first; show_while_pending && i < out->log_count; i++)
		out->logs[i].show_while_pending = true;
	json_decref(pod);
}

/* Flyte's getEventInfoForSpark links, in its order, with the executors' after the driver's. */
static void log_links(const struct fpd_status_ctx *ctx, const json_t *driver, const char *state,
                      struct fpd_phase_info *out)
{
	const struct fpd_spark_settings *s = ctx->plugin_settings;
	const json_t *app = ctx->object;
	int64_t finish = links_finish_ms(app, state);
	driver_logs(ctx, driver, finish, out);
	executor_logs(ctx, out);
	if (!s)
		return;
	const char *driver_name = fpd_json_str_or(app, "status.driverInfo.podName", "");
	const char *app_name = fpd_json_str_or(app, "metadata.name", "");
	section_logs(ctx, s->logs.user, driver_name, "(User Logs)", false, finish, out);
	section_logs(ctx, s->logs.system, app_name, "(System Logs)", false, finish, out);
	section_logs(ctx, s->logs.all_user, app_name, "(Spark-Submit/All User Logs)", true, finish,
	             out);
}

static bool has_scheme(const char *uri)
{
	return !strncmp(uri, "http://", 7) || !strncmp(uri, "https://", 8);
}

/* Flyte's Spark UI links: the history server once the application ended, the driver UI
 * (ingress; the in-cluster address when there is no ingress) while it runs. */
static void ui_links(const struct fpd_status_ctx *ctx, const char *state,
                     struct fpd_phase_info *out)
{
	const struct fpd_spark_settings *s = ctx->plugin_settings;
	const json_t *app = ctx->object;
	const char *history = s && s->spark_history_server_url ? s->spark_history_server_url : "";
	const char *app_id = fpd_json_str_or(app, "status.sparkApplicationId", "");
	const char *ingress = fpd_json_str_or(app, "status.driverInfo.webUIIngressAddress", "");
	const char *address = fpd_json_str_or(app, "status.driverInfo.webUIAddress", "");
	json_t *info = json_object();
	char *uri = NULL;
	const char *key = NULL, *name = NULL;
	if (!strcmp(state, "COMPLETED") || !strcmp(state, "FAILED")) {
		if (*app_id && *history) {
			uri = fpd_asprintf("%s/history/%s", history, app_id);
			key = "sparkHistoryUI";
			name = "Spark History UI";
		}
	} else if (!strcmp(state, "RUNNING") && (*ingress || *address)) {
		const char *a = *ingress ? ingress : address;
		uri = has_scheme(a) ? fpd_strdup(a)
		      : *ingress    ? fpd_asprintf("https://%s", a)
		                    : fpd_asprintf("http://%s", a);
		key = "sparkDriverUI";
		name = "Spark Driver UI";
	}
	if (uri) {
		json_object_set_new(info, key, json_string(uri));
		fpd_phase_add_log(out, name, uri, FPD_LOG_FORMAT_JSON, false, false);
		free(uri);
	}
	json_decref(out->custom_info);
	out->custom_info = info;
}

/* The pod rules on the driver: a driver that failed for good fails the task at once (the
 * operator would only report it later), a stuck one explains the wait. */
static void diagnose_driver(const struct fpd_status_ctx *ctx, const json_t *driver,
                            struct fpd_phase_info *out)
{
	struct fpd_phase_info d = {0};
	fpd_pod_status(driver, &ctx->settings->k8s, ctx->now_ms, &d);
	const char *pod = fpd_json_str_or(driver, "metadata.name", "");
	if (fpd_phase_is_failure(d.phase) && !operator_retries(ctx->object)) {
		fpd_phase_setf(out, d.phase, d.code, "driver pod %s: %s", pod,
		               d.message ? d.message : "");
		out->kind = d.kind;
		out->cleanup = d.cleanup;
	} else if ((d.phase == FPD_PHASE_QUEUED || d.phase == FPD_PHASE_WAITING_FOR_RESOURCES ||
	            d.phase == FPD_PHASE_INITIALIZING) &&
	           d.message && *d.message) {
		char *m = fpd_asprintf("%s; driver pod %s: %s", out->message ? out->message : "",
		                       pod, d.message);
		free(out->message);
		out->message = m;
	}
	if (d.recheck_at_ms > 0)
		out->recheck_at_ms = d.recheck_at_ms;
	fpd_phase_info_clear(&d);
}

void fpd_spark_status(const struct fpd_status_ctx *ctx, struct fpd_phase_info *out)
{
	const json_t *app = ctx->object;
	const char *state = fpd_json_str_or(app, "status.applicationState.state", "");
	const json_t *driver =
	    driver_pod(ctx, fpd_json_str_or(app, "status.driverInfo.podName", ""));
	log_links(ctx, driver, state, out);
	ui_links(ctx, state, out);
	if (fpd_kueue_status(app, "spec.suspend", out))
		return;
	const struct state_rule *r = find_rule(state);
	if (!r) {
		fpd_phase_setf(out, FPD_PHASE_UNDEFINED, "UnknownSparkApplicationState",
		               "unknown SparkApplication state \"%s\"", state);
		return;
	}
	set_from_rule(app, r, out);
	/* An executor's pod that cannot run fails the application now (the driver's pod is
	 * read below, where the operator's own retries are taken into account). */
	if (!fpd_phase_is_terminal(r->phase) &&
	    fpd_children_fail_fast(ctx->pods, ctx->pod_count,
	                           (struct fpd_children_filter){"spark-role", "executor"},
	                           &ctx->settings->k8s, ctx->now_ms, out))
		return;
	if (driver && !fpd_phase_is_terminal(r->phase) && r->phase != FPD_PHASE_QUEUED)
		diagnose_driver(ctx, driver, out);
}
