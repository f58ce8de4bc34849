/*
 * Shared by the files of the Ray plugin; not part of the plugin API.
 */
#ifndef FPD_PLUGINS_RAY_INTERNAL_H
#define FPD_PLUGINS_RAY_INTERNAL_H

#include <flyteplugd/settings.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* `plugins.settings.ray`: propeller's plugins.ray keys (flyteplugins k8s/ray/config.go). */
struct fpd_ray_node_settings {
	json_t *start_parameters; /* object of strings; NULL: {disable-usage-stats: "true"} */
	char *ip_address;         /* "$MY_POD_IP" */
};

struct fpd_ray_settings {
	bool shutdown_after_job_finishes;   /* true */
	int64_t ttl_seconds_after_finished; /* 3600 */
	char *service_type;                 /* "NodePort" */
	bool enable_ingress;                /* false */
	bool include_dashboard;             /* true */
	char *dashboard_host;               /* "0.0.0.0" */
	bool enable_usage_stats;            /* false */
	char *service_account;              /* "": the task's */
	/* `logs`: the RayJob's links, exactly as Flyte makes them (no pod; starts empty, as
	 * propeller's zero LogConfig). NULL: the daemon's `logs:`, with the head pod's links once
	 * it is seen. */
	struct fpd_log_settings *logs;
	json_t *logs_sidecar; /* a Container, or NULL */
	struct fpd_ray_node_settings head;
	struct fpd_ray_node_settings worker;
	/* dashboardURLTemplate: used when it has template URIs. */
	struct fpd_log_template dashboard_url_template;
	/* KubeRay 1.5+ RayJob fields, all off by default (flyteplugd's additions). */
	bool dashboard_link;             /* "Ray Dashboard" from status.dashboardURL */
	int64_t backoff_limit;           /* spec.backoffLimit; 0: omitted */
	int64_t active_deadline_seconds; /* spec.activeDeadlineSeconds; 0: omitted */
	json_t *deletion_rules;          /* spec.deletionStrategy.deletionRules, or NULL */
	json_t *cluster_selector;        /* spec.clusterSelector (object of strings), or NULL */
	/* Kueue: namespace glob -> queue name (first match), or NULL. */
	json_t *kueue_queues;
};

/* The settings the task carries, or the built-in defaults when it carries none. */
const struct fpd_ray_settings *fpd_ray_settings_of(const void *plugin_settings);

/* Flyte's mergo.Merge(base, overlay, WithOverride, WithAppendSlice) of two PodSpecs followed by
 * the per-name container merge of MergeOverlayPodSpecOntoBase: base is edited in place. */
void fpd_ray_merge_overlay(json_t *base, const json_t *overlay);

/* Flyte's convertBase64RuntimeEnvToYaml: base64 JSON object to YAML (yaml.v2 layout: sorted
 * keys, unindented sequences). New string, or NULL when not base64 of a JSON object. */
char *fpd_ray_runtime_env_yaml(const char *b64);

#endif
