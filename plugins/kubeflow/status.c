/*
 * Status of a training-operator job (Flyte's kfoperators/common GetPhaseInfo and GetLogs).
 *
 * The current condition is the newest one with status "True" (by lastTransitionTime, as
 * Flyte's ExtractCurrentCondition); conditions set in the same second tie in Flyte's unstable
 * sort, so here a tie goes to the later state: Failed > Succeeded > Suspended > Restarting >
 * Running > Created. It maps to a phase by this table:
 *
 *   condition            phase              code / message
 *   (none)               QUEUED             "JobCreated"
 *   Created              QUEUED             "JobCreated"
 *   Running              RUNNING
 *   Restarting           RUNNING            "Restarting: <reason> - <message>"
 *   Succeeded            SUCCEEDED
 *   Failed               RETRYABLE_FAILED   DownstreamSystemError (USER)
 *                                           "Job failed:\n\t<reason> - <message>"
 *   Suspended            QUEUED             "Suspended"
 *   other type           UNDEFINED          (the engine keeps the last phase)
 *   none of them True    UNDEFINED          "found no current condition"
 *
 * Before the table: a job Kueue holds or evicted (queue label, runPolicy.suspend) maps by
 * fpd_kueue_status: WAITING_FOR_RESOURCES, or a retryable failure once admitted. A job the
 * operator has not touched (no status.startTime, no condition, not suspended, not queued by
 * Kueue) for longer than the `timeout` setting is a retryable system failure, as
 * Flyte's "kubeflow operator hasn't updated the ... custom resource" error is.
 *
 * The message also tells the operator's own retries ("attempt 2 of 3": container restarts of
 * the job's pods against runPolicy.backoffLimit) and what the lead pod (master, chief or
 * launcher, else worker 0) is stuck on, read with fpd_pod_status.
 */
#include "kubeflow.h"

#include "../children.h"

#include <flyteplugd/logs.h>
#include <flyteplugd/object.h>
#include <flyteplugd/pod.h>

#include <flyteplugd/mem.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LABEL_REPLICA_TYPE "training.kubeflow.org/replica-type"
#define LABEL_REPLICA_INDEX "training.kubeflow.org/replica-index"

static const char *const precedence[] = {"Created",   "Running",   "Restarting",
                                         "Suspended", "Succeeded", "Failed"};

static int rank(const char *type)
{
	for (size_t i = 0; i < sizeof(precedence) / sizeof(precedence[0]); i++)
		if (!strcmp(type, precedence[i]))
			return (int)i + 1;
	return 0;
}

/* The current condition, NULL when there is none; *any is set when conditions exist. */
static const json_t *current_condition(const json_t *obj, bool *any)
{
	const json_t *conds = fpd_json_get(obj, "status.conditions"), *best = NULL, *c;
	int64_t best_t = 0;
	size_t i;
	*any = json_array_size(conds) > 0;
	json_array_foreach((json_t *)conds, i, c)
	{
		if (strcmp(fpd_json_str_or(c, "status", ""), "True"))
			continue;
		int64_t t = fpd_time_parse(fpd_json_str_or(c, "lastTransitionTime", ""));
		const char *type = fpd_json_str_or(c, "type", "");
		if (!best || t > best_t ||
		    (t == best_t && rank(type) > rank(fpd_json_str_or(best, "type", "")))) {
			best = c;
			best_t = t;
		}
	}
	return best;
}

/* A stand-in pod for a log link: Flyte links pods by the names it expects, not by the pods
 * it sees. with_details: container name and the job's creation time as the start. */
static json_t *log_pod(const json_t *obj, const char *name, const char *container,
                       bool with_details)
{
	json_t *pod = json_pack("{s:{s:s,s:s},s:{s:[{s:s}]}}", "metadata", "name", name,
	                        "namespace", fpd_json_str_or(obj, "metadata.namespace", ""), "spec",
	                        "containers", "name", with_details ? container : "");
	const char *created = fpd_json_str(obj, "metadata.creationTimestamp");
	if (with_details && created)
		fpd_json_set_str(pod, "metadata.creationTimestamp", created);
	return pod;
}

#define MAX_LOG_REPLICAS 1000 /* links per replica type */

static void add_logs(const struct fpd_kf_kind *kind, const struct fpd_status_ctx *ctx,
                     struct fpd_phase_info *out)
{
	const json_t *obj = ctx->object;
	const json_t *specs = json_object_get(json_object_get(obj, "spec"), kind->specs_key);
	const char *job = fpd_json_str_or(obj, "metadata.name", "");
	for (size_t r = 0; r < kind->log_role_count; r++) {
		const struct fpd_kf_log_role *role = &kind->log_roles[r];
		const json_t *rs = json_object_get(specs, role->replica_type);
		int64_t n = fpd_json_int_or(rs, "replicas", 0);
		/* Flyte links the master whenever the job has one, its replicas unread. */
		if (role->first_only)
			n = rs && (n > 0 || !strcmp(role->replica_type, "Master")) ? 1 : 0;
		/* A link per replica, as Flyte's: bounded, so that a replica count of billions
		 * (the object's own) cannot make one status call run for minutes. */
		if (n > MAX_LOG_REPLICAS)
			n = MAX_LOG_REPLICAS;
		for (int64_t i = 0; i < n; i++) {
			char name[320];
			snprintf(name, sizeof(name), "%s%s%" PRId64, job, role->pod_infix, i);
			json_t *pod = log_pod(obj, name, kind->container, role->with_details);
			struct fpd_log_input in = {.ref = ctx->ref,
			                           .pod = pod,
			                           .log_name = role->log_name,
			                           .task_config = ctx->task_config,
			                           .now_ms = ctx->now_ms};
			fpd_logs_for_pod(&ctx->settings->logs, &in, out);
			json_decref(pod);
		}
	}
}

/* Container restarts over the job's pods: what the operator counts against backoffLimit. */
static int64_t restarts(const struct fpd_status_ctx *ctx)
{
	int64_t n = 0;
	for (size_t p = 0; p < ctx->pod_count; p++) {
		const json_t *cs;
		size_t i;
		json_array_foreach(fpd_json_get(ctx->pods[p], "status.containerStatuses"), i, cs)
		    n += fpd_json_int_or(cs, "restartCount", 0);
	}
	return n;
}

/* Pod 0 of the first lead replica type that has one. */
static const json_t *lead_pod(const struct fpd_kf_kind *kind, const struct fpd_status_ctx *ctx)
{
	for (const char *const *t = kind->lead_types; *t; t++)
		for (size_t p = 0; p < ctx->pod_count; p++) {
			const json_t *labels = fpd_json_get(ctx->pods[p], "metadata.labels");
			const char *type =
			    json_string_value(json_object_get(labels, LABEL_REPLICA_TYPE));
			const char *idx =
			    json_string_value(json_object_get(labels, LABEL_REPLICA_INDEX));
			if (type && idx && !strcasecmp(type, *t) && !strcmp(idx, "0"))
				return ctx->pods[p];
		}
	return NULL;
}

/* Appends "; <text>" to out's message (or sets it). */
static void append(struct fpd_phase_info *out, const char *text)
{
	char *m = out->message && *out->message ? fpd_asprintf("%s; %s", out->message, text)
	                                        : fpd_strdup(text);
	free(out->message);
	out->message = m;
}

/* What the lead pod is stuck on or died of, when the pod rules find something. */
static void diagnose(const struct fpd_kf_kind *kind, const struct fpd_status_ctx *ctx,
                     struct fpd_phase_info *out)
{
	const json_t *pod = lead_pod(kind, ctx);
	if (!pod || out->phase == FPD_PHASE_SUCCEEDED)
		return;
	struct fpd_phase_info pi = {0};
	fpd_pod_status(pod, &ctx->settings->k8s, ctx->now_ms, &pi);
	const char *name = fpd_json_str_or(pod, "metadata.name", "");
	bool failed = pi.code && *pi.code;
	bool waiting = pi.message && *pi.message && pi.phase != FPD_PHASE_RUNNING &&
	               pi.phase != FPD_PHASE_SUCCEEDED;
	if (failed || waiting) {
		char *text = failed ? fpd_asprintf("pod %s: %s: %s", name, pi.code,
		                                   pi.message ? pi.message : "")
		                    : fpd_asprintf("pod %s: %s", name, pi.message);
		append(out, text);
		free(text);
	}
	if (!fpd_phase_is_terminal(out->phase) && pi.recheck_at_ms &&
	    (!out->recheck_at_ms || pi.recheck_at_ms < out->recheck_at_ms))
		out->recheck_at_ms = pi.recheck_at_ms;
	fpd_phase_info_clear(&pi);
}

static void attempts(const struct fpd_status_ctx *ctx, const char *type, struct fpd_phase_info *out)
{
	int64_t n = restarts(ctx);
	/* The operator restarts a replica without our seeing its pods yet: one restart. */
	if (n == 0 && !strcmp(type, "Restarting"))
		n = 1;
	if (n == 0)
		return;
	const json_t *limit = fpd_json_get(ctx->object, "spec.runPolicy.backoffLimit");
	char text[96];
	if (json_is_integer(limit))
		snprintf(text, sizeof(text), "attempt %" PRId64 " of %" PRId64, n + 1,
		         (int64_t)json_integer_value(limit) + 1);
	else
		snprintf(text, sizeof(text), "attempt %" PRId64, n + 1);
	append(out, text);
}

/* True when the operator should have acted by now; otherwise sets the recheck time. */
static bool stale(const struct fpd_kf_kind *kind, const struct fpd_status_ctx *ctx, bool any,
                  struct fpd_phase_info *out)
{
	const json_t *obj = ctx->object;
	if (any || fpd_json_bool_or(obj, "spec.runPolicy.suspend", false) ||
	    fpd_json_get(obj, "status.startTime"))
		return false;
	/* A job Kueue held may be admitted long after its creation; Kueue's own
	 * waitForPodsReady watches it from there. */
	if (json_object_get(fpd_json_get(obj, "metadata.labels"), FPD_KUEUE_QUEUE_LABEL))
		return false;
	const char *created = fpd_json_str_or(obj, "metadata.creationTimestamp", "");
	int64_t t = fpd_time_parse(created);
	if (t < 0)
		return false;
	int64_t deadline = t + fpd_kf_settings_or_default(ctx->plugin_settings)->timeout_ms;
	if (ctx->now_ms <= deadline) {
		out->recheck_at_ms = deadline + 1;
		return false;
	}
	fpd_phase_setf(out, FPD_PHASE_RETRYABLE_FAILED, "RuntimeFailure",
	               "kubeflow operator hasn't updated the %s custom resource since creation "
	               "time %s",
	               kind->word, created);
	out->kind = FPD_KIND_SYSTEM;
	return true;
}

static void by_condition(const json_t *cond, bool any, struct fpd_phase_info *out)
{
	const char *type = fpd_json_str_or(cond, "type", "");
	const char *reason = fpd_json_str_or(cond, "reason", "");
	const char *msg = fpd_json_str_or(cond, "message", "");
	if (!cond && any)
		fpd_phase_set(out, FPD_PHASE_UNDEFINED, NULL, "found no current condition");
	else if (!cond || !strcmp(type, "Created"))
		fpd_phase_set(out, FPD_PHASE_QUEUED, NULL, "JobCreated");
	else if (!strcmp(type, "Running"))
		fpd_phase_set(out, FPD_PHASE_RUNNING, NULL, NULL);
	else if (!strcmp(type, "Restarting"))
		fpd_phase_setf(out, FPD_PHASE_RUNNING, NULL, "Restarting: %s - %s", reason, msg);
	else if (!strcmp(type, "Succeeded"))
		fpd_phase_set(out, FPD_PHASE_SUCCEEDED, NULL, NULL);
	else if (!strcmp(type, "Failed"))
		fpd_phase_setf(out, FPD_PHASE_RETRYABLE_FAILED, "DownstreamSystemError",
		               "Job failed:\n\t%s - %s", reason, msg);
	else if (!strcmp(type, "Suspended"))
		fpd_phase_set(out, FPD_PHASE_QUEUED, NULL, "Suspended");
	else
		fpd_phase_setf(out, FPD_PHASE_UNDEFINED, NULL,
		               "unknown training-operator condition %s", type);
}

void fpd_kf_status(const struct fpd_kf_kind *kind, const struct fpd_status_ctx *ctx,
                   struct fpd_phase_info *out)
{
	add_logs(kind, ctx, out);
	const json_t *status = json_object_get(ctx->object, "status");
	if (json_is_object(status))
		out->custom_info = json_deep_copy(status);
	/* Held or evicted by Kueue: the operator's conditions say only "Suspended". */
	if (fpd_kueue_status(ctx->object, "spec.runPolicy.suspend", out))
		return;
	bool any;
	const json_t *cond = current_condition(ctx->object, &any);
	if (!stale(kind, ctx, any, out)) {
		int64_t recheck = out->recheck_at_ms;
		by_condition(cond, any, out);
		out->recheck_at_ms = fpd_phase_is_terminal(out->phase) ? 0 : recheck;
		attempts(ctx, fpd_json_str_or(cond, "type", ""), out);
	}
	/* Any replica's pod that cannot run fails the job now: the operator would wait. */
	if (!fpd_phase_is_terminal(out->phase) &&
	    fpd_children_fail_fast(
	        ctx->pods, ctx->pod_count,
	        (struct fpd_children_filter){"training.kubeflow.org/job-name",
	                                     fpd_json_str_or(ctx->object, "metadata.name", "")},
	        &ctx->settings->k8s, ctx->now_ms, out))
		return;
	diagnose(kind, ctx, out);
}
