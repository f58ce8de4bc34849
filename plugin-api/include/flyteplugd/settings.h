/*
 * Settings every Kubernetes plugin shares, from the daemon configuration's `k8s:` and `logs:`
 * sections. The keys are those of FlytePropeller's `plugins.k8s` and `plugins.logs`, so an
 * existing propeller configuration can be pasted in. Read-only for plugins.
 */
#ifndef FLYTEPLUGD_SETTINGS_H
#define FLYTEPLUGD_SETTINGS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "flyteplugd/schema.h"

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

/* `logs:` — log links (propeller plugins.logs). */
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

struct fpd_settings {
	struct fpd_k8s_settings k8s;
	struct fpd_log_settings logs;
};

#endif
