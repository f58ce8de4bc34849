/*
 * The task as a plugin sees it, at build time (struct fpd_task) and at status time
 * (struct fpd_task_ref + struct fpd_status_ctx).
 *
 * Everything is borrowed from the engine for the duration of the call.
 */
#ifndef FLYTEPLUGD_TASK_H
#define FLYTEPLUGD_TASK_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stdint.h>

#include "flyteidl/admin/agent.pb-c.h"
#include "flyteidl/core/tasks.pb-c.h"

struct fpd_settings; /* shared pod and log settings, see settings.h */

/* Who a task attempt is: enough to name its objects and fill log-link variables. Every string is
 * non-NULL ("" when unknown). */
struct fpd_task_ref {
	const char *project;   /* execution project */
	const char *domain;    /* execution domain */
	const char *execution; /* execution name */
	const char *node_id;   /* unique node id */
	uint32_t retry_attempt;
	const char *task_project;
	const char *task_domain;
	const char *task_name;
	const char *task_version;
	const char *task_type;
	int32_t task_type_version;
	const char *generated_name; /* Flyte's per-attempt object name */
	const char *namespace_;
	/* TaskTemplate.config["link_type"] (comma-separated dynamic log link names) or "". */
	const char *link_types;
};

/* Paths the container arguments refer to ({{.input}}, {{.outputPrefix}}, ...). */
struct fpd_task_paths {
	const char *input_path; /* <input prefix>/inputs.pb */
	const char *input_prefix;
	const char *output_prefix;
	const char *raw_output_prefix;
	const char *checkpoint_prefix;      /* this attempt's checkpoints */
	const char *prev_checkpoint_prefix; /* "" when none */
	const char *task_template_path;     /* "" when the template is not offloaded */
};

struct fpd_task {
	struct fpd_task_ref ref;
	struct fpd_task_paths paths;
	const Flyteidl__Core__TaskTemplate *tmpl;
	/* TaskTemplate.custom decoded into the message the plugin declared for this task type and
	 * version (proto3 JSON rules), or NULL when it declared none or custom is absent. */
	const ProtobufCMessage *custom;
	/* TaskTemplate.custom as plain JSON (an object; {} when absent), for plugins whose custom
	 * is not a protobuf message (pod specs). */
	const json_t *custom_json;
	/* The execution metadata from CreateTask; NULL when rendering without one. */
	const Flyteidl__Admin__TaskExecutionMetadata *meta;
	const Flyteidl__Core__LiteralMap *inputs; /* may be NULL */
	const char *service_account;              /* "" = the namespace's default */
	bool interruptible;
	/* Env every container the plugin builds must receive (FLYTE_INTERNAL_*, execution env),
	 * a JSON array of {name, value}. */
	const json_t *injected_env;
	/* Labels and annotations Flyte puts on the object and on pod templates (JSON objects). */
	const json_t *labels;
	const json_t *annotations;
	const struct fpd_settings *settings;
	const void *plugin_settings; /* the plugin's own settings struct, or NULL */
};

/* What status() gets. Objects are the engine's trimmed copies (see fpd_plugin.keep). */
struct fpd_status_ctx {
	const struct fpd_task_ref *ref;
	const json_t *object;      /* the created object as last observed */
	const json_t *const *pods; /* related pods (for operator plugins), may be empty */
	size_t pod_count;
	const struct fpd_settings *settings;
	const void *plugin_settings;
	int64_t now_ms; /* wall clock, ms since the epoch */
	/* TaskTemplate.config as an object of strings when the task has dynamic log links
	 * (config key link_type), for {{ .taskConfig.<key> }} in them (fpd_log_input); else
	 * NULL. Read back from the object, so it survives a restart of the daemon. */
	const json_t *task_config;
};

#endif
