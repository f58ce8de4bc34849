/*
 * Settings every Kubernetes plugin shares, from the daemon configuration's `k8s:`, `logs:`,
 * `storage:` and `logger:` sections. The keys are those of FlytePropeller's `plugins.k8s`,
 * `plugins.logs`, `storage` and `logger`, so an existing propeller configuration can be pasted
 * in. Read-only for plugins.
 */
#ifndef FLYTEPLUGD_SETTINGS_H
#define FLYTEPLUGD_SETTINGS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "flyteplugd/schema.h"

/* `k8s.co-pilot:` — the containers that carry a raw container's inputs in and outputs out
 * (propeller plugins.k8s.co-pilot), added when the task's data_config is enabled. */
struct fpd_copilot_settings {
	char *name;                /* container name prefix: "flyte-copilot-" */
	char *image;               /* "cr.flyte.org/flyteorg/flytecopilot:v0.0.15" */
	char *default_input_path;  /* "/var/flyte/inputs", unless data_config names one */
	char *default_output_path; /* "/var/flyte/outputs", unless data_config names one */
	char *input_vol_name;      /* "flyte-inputs" */
	char *output_vol_name;     /* "flyte-outputs" */
	int64_t start_timeout_ms;  /* 0; accepted for propeller configurations, unused by Flyte */
	int64_t timeout_ms;        /* 1h: upload timeout, and the pod's termination grace period */
	char *cpu;                 /* "500m": requests and limits of both containers */
	char *memory;              /* "128Mi" */
	char *storage;             /* ""; accepted for propeller configurations, unused by Flyte */
};

/* `k8s:` — how pods are built and how their status is read (propeller plugins.k8s). */
struct fpd_k8s_settings {
	json_t *default_annotations;     /* object; default {cluster-autoscaler...safe-to-evict: "false"} */
	json_t *default_labels;          /* object */
	json_t *default_env_vars;        /* object name -> value */
	json_t *default_env_vars_from_env; /* object name -> daemon env var name */
	struct fpd_strings default_env_from_configmaps;
	struct fpd_strings default_env_from_secrets;
	char *default_cpus;              /* "1000m" */
	char *default_memory;            /* "1024Mi" */
	json_t *default_tolerations;     /* array of Toleration */
	json_t *default_node_selector;   /* object */
	json_t *default_affinity;        /* Affinity or NULL */
	char *scheduler_name;
	json_t *interruptible_tolerations;
	json_t *interruptible_node_selector;
	json_t *interruptible_node_selector_requirement;     /* NodeSelectorRequirement or NULL */
	json_t *non_interruptible_node_selector_requirement; /* NodeSelectorRequirement or NULL */
	json_t *resource_tolerations;    /* object resource name -> array of Toleration */
	json_t *default_pod_security_context;
	json_t *default_security_context;
	json_t *default_pod_dns_config;
	json_t *enable_host_networking_pod; /* true, false, or NULL (leave unset) */
	char *image_pull_policy;         /* "" = leave unset */
	char *gpu_resource_name;         /* "nvidia.com/gpu" */
	char *gpu_device_node_label;
	char *gpu_partition_size_node_label;
	struct fpd_strings add_tolerations_for_extended_resources;
	int64_t create_container_error_grace_ms;        /* 3m */
	int64_t create_container_config_error_grace_ms; /* 0 */
	int64_t image_pull_backoff_grace_ms;            /* 3m */
	int64_t pod_pending_timeout_ms;                 /* 0 = off */
	struct fpd_copilot_settings co_pilot;
};

/* One log link template (propeller tasklog.TemplateLogPlugin). */
struct fpd_log_template {
	char *key;  /* the name in dynamic-log-links; unused in templates */
	char *name; /* templates: the name link_type selects dynamicTemplateUris by */
	char *display_name;
	struct fpd_strings template_uris;
	struct fpd_strings dynamic_template_uris;
	int message_format; /* 0 unknown, 1 csv, 2 json */
	bool show_while_pending;
	bool hide_once_finished;
};

/* A log section: the daemon's `logs:` (propeller plugins.logs) and the log sections of plugin
 * settings (propeller's logs.LogConfig wherever it appears). A zeroed struct is Go's zero
 * LogConfig: no links; NULL strings read as "". */
struct fpd_log_settings {
	bool kubernetes_enabled; /* default true */
	char *kubernetes_template_uri;
	char *kubernetes_url; /* deprecated form */
	bool cloudwatch_enabled;
	char *cloudwatch_template_uri;
	char *cloudwatch_region;
	char *cloudwatch_log_group;
	bool stackdriver_enabled;
	char *stackdriver_template_uri;
	char *gcp_project;
	char *stackdriver_logresourcename;
	struct fpd_list templates;         /* of struct fpd_log_template */
	struct fpd_list dynamic_log_links; /* of struct fpd_log_template, key = name */
};

/* The keys of a log section (logs.LogConfig: kubernetes-enabled, ..., templates,
 * dynamic-log-links) into a struct fpd_log_settings. The daemon's `logs:` is validated with this
 * table; a plugin declaring a log section in its settings_schema points its SECTION or
 * OPTIONAL_SECTION field here, so every log section takes the same keys. */
extern const struct fpd_schema_field fpd_log_settings_fields[];

/* The keys of one link template (tasklog.TemplateLogPlugin: name, displayName, templateUris,
 * dynamicTemplateUris, messageFormat, showWhilePending, hideOnceFinished) into a struct
 * fpd_log_template, for a plugin setting that is a single template. */
extern const struct fpd_schema_field fpd_log_template_fields[];

/* Fills a zeroed struct fpd_log_settings (passed as void * to serve as elem_defaults) with
 * propeller's logs.DefaultConfig: Kubernetes links with the localhost:30082 template. Strings
 * are new allocations, released with the schema that fills the struct. */
void fpd_log_settings_defaults(void *logs);

/* `storage.connection:` (propeller's flytestdlib storage.ConnectionConfig). */
struct fpd_storage_connection {
	char *endpoint;   /* "" */
	char *auth_type;  /* "iam" */
	char *access_key; /* "" */
	char *secret_key; /* "" */
	char *region;     /* "us-east-1" */
	bool disable_ssl; /* accepted for propeller configurations; co-pilot does not pass it */
};

/* `storage.stow:` */
struct fpd_storage_stow {
	char *kind;     /* "" */
	json_t *config; /* mapping of names to scalars (checked at load), or NULL */
};

/* `storage:` — the blob store, as propeller's `storage` section. flyteplugd itself never
 * reads or writes it; the co-pilot containers do, and get these values on their command
 * line exactly as propeller passes its own. */
struct fpd_storage_settings {
	char *type;      /* "s3" */
	char *container; /* "" (propeller's InitContainer: the bucket) */
	bool enable_multicontainer;
	struct fpd_storage_connection connection;
	struct fpd_storage_stow stow;
};

/* `logger:` — propeller's logger level (0 panic ... 5 debug, default 3 warn), which propeller
 * hands to the co-pilot containers; flyteplugd's own logging is set by `log:`. */
struct fpd_logger_settings {
	int64_t level;
};

/* `queueing.kueue:` — Kueue for every kind that supports it (see queue.h). Off by default. */
struct fpd_kueue_settings {
	json_t *queues; /* namespace glob -> LocalQueue name (first match), or NULL */
};

/* `queueing.volcano:` — Volcano gang scheduling for every kind with pod templates (see
 * queue.h). Off by default. */
struct fpd_volcano_settings {
	bool enabled;
	struct fpd_strings namespaces; /* globs of the namespaces it applies to; none: every one */
	char *queue;          /* the PodGroups' Volcano queue, or NULL for Volcano's default */
	char *scheduler_name; /* the pods' schedulerName, or NULL for "volcano" */
};

/* `queueing:` — batch schedulers flyteplugd hands tasks to. */
struct fpd_queueing_settings {
	struct fpd_kueue_settings kueue;
	struct fpd_volcano_settings volcano; /* added after kueue: kueue's offset holds */
};

struct fpd_settings {
	struct fpd_k8s_settings k8s;
	struct fpd_log_settings logs;
	struct fpd_storage_settings storage;
	struct fpd_logger_settings logger;
	/* Added after plugin ABI 6, at the end so that older plugins' offsets hold. */
	struct fpd_queueing_settings queueing;
};

#endif
