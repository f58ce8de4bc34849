/*
 * Log links for a pod, as FlytePropeller's plugins.logs produces them (logs.InitializeLogPlugins
 * and tasklog.TemplateLogPlugin): the Kubernetes, CloudWatch and Stackdriver providers, each
 * entry of `templates`, then the `dynamic-log-links` a task asks for by name in
 * TaskTemplate.config["link_type"].
 *
 * Template variables are matched case-insensitively with a `.` or `$` prefix ({{ .podName }},
 * {{$podname}}); a variable whose value is empty is left in place, as Flyte does:
 * logName, podName, podUID, namespace, containerName, containerID (without its `scheme://`),
 * hostname, nodeName, nodeID, generatedName, taskRetryAttempt, taskID, taskVersion, taskProject,
 * taskDomain, executionName, executionProject, executionDomain, podRFC3339StartTime,
 * podUnixStartTime (the pod's creationTimestamp), podRFC3339FinishTime, podUnixFinishTime (now),
 * any extra variables of the caller, and in dynamic links {{ .taskConfig.<key> }}.
 */
#ifndef FLYTEPLUGD_LOGS_H
#define FLYTEPLUGD_LOGS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "flyteplugd/phase.h"
#include "flyteplugd/settings.h"
#include "flyteplugd/task.h"

/* An extra template variable of an operator plugin, e.g. {"rayClusterName", "..."}. */
struct fpd_log_var {
	const char *name;
	const char *value;
};

/* Everything a set of links is made from; all borrowed. */
struct fpd_log_input {
	const struct fpd_task_ref *ref; /* ids and ref->link_types */
	const json_t *pod;              /* the pod (metadata, spec.containers, status) */
	size_t container_index;         /* which container's name and id to use (0 for Flyte) */
	const char *log_name;           /* appended to each display name, e.g. " (User)" */
	/* TaskTemplate.config as an object of strings for {{ .taskConfig.<key> }}, or NULL. */
	const json_t *task_config;
	const struct fpd_log_var *extra_vars; /* replaced right after logName, in this order */
	size_t extra_var_count;
	int64_t now_ms; /* the finish time of a pod that is still running */
};

/*
 * Appends the log links for in->pod to out (names and URIs are copied). A pod without the
 * requested container gets none, as in Flyte. Returns the number of links added.
 */
size_t fpd_logs_for_pod(const struct fpd_log_settings *logs, const struct fpd_log_input *in,
                        struct fpd_phase_info *out);

#endif
