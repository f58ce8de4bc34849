/*
 * The daemon's configuration: one YAML file, every key documented in docs/configuration.md,
 * defaults that work with an empty file. Loading validates everything (unknown keys, types,
 * ranges, cross-field rules) and reports the first problem with file:line:col; the daemon never
 * starts on a configuration it did not fully understand.
 */
#ifndef FPD_CORE_CONFIG_H
#define FPD_CORE_CONFIG_H

#include <flyteplugd/error.h>
#include "core/schema.h"

#include <flyteplugd/settings.h>

#include <stdbool.h>
#include <stdint.h>

struct fpd_config_log {
	int level;  /* enum fpd_log_level */
	int format; /* enum fpd_log_format */
};

struct fpd_config_tls {
	char *cert_file; /* PEM; empty = plaintext h2c */
	char *key_file;
	char *client_ca_file; /* PEM CA bundle; set: clients must present a certificate from it */
};

struct fpd_config_grpc {
	char *listen; /* "host:port"; "[::]:8000" for IPv6 */
	struct fpd_config_tls tls;
	int64_t max_concurrent_streams; /* per connection */
	int64_t max_connections;
	int64_t max_recv_message_bytes;
	int64_t max_send_message_bytes;
	int64_t idle_timeout_ms;            /* close connections idle this long */
	int64_t drain_timeout_ms;           /* on SIGTERM, how long in-flight calls may take */
	int64_t max_connections_per_peer;   /* per client IP address */
	int64_t handshake_timeout_ms;       /* accept to TLS handshake + HTTP/2 preface */
	int64_t first_request_timeout_ms;   /* accept to the first complete request */
	int64_t receive_timeout_ms;         /* a request's HEADERS to its end of stream */
	int64_t max_buffered_request_bytes; /* request bytes held by all connections together */
};

struct fpd_config_admin {
	bool enabled;
	char *listen;
	/* Bearer token for /executions (a file, e.g. a mounted Secret, re-read when it changes).
	 * Empty: /executions is served only on a loopback listener. */
	char *token_file;
	int64_t max_connections;
	int64_t max_connections_per_peer; /* per client IP address */
	int64_t connection_timeout_ms;    /* a connection silent this long is closed */
};

/* A client-side rate-limit budget: qps 0 = no limit of its own. */
struct fpd_config_kube_budget {
	double qps;
	int64_t burst;
};

struct fpd_config_kube {
	char *kubeconfig; /* empty: $KUBECONFIG, then in-cluster */
	char *context;    /* empty: the kubeconfig's current-context */
	bool in_cluster;  /* force in-cluster service-account auth */
	double qps;       /* the overall limit on calls (watches are exempt) */
	int64_t burst;
	/* kubernetes.budgets: creates, GETs of one object, deletes each spend from a budget of
	 * their own as well as from the overall limit. */
	struct fpd_config_kube_budget budget_create, budget_read, budget_delete;
	int64_t request_timeout_ms;
	int64_t watch_timeout_ms; /* upper bound of the randomized watch timeout */
	int call_protocol;        /* enum fpd_call_protocol: how calls (not watches) are sent */
	int64_t call_connections; /* HTTP/1.1 connections kept for calls */
	bool watch_list;          /* informers list by streaming (WatchList) where the server can */
	bool protobuf;            /* informers read pods in protobuf, not JSON */
	bool protobuf_creates;    /* pods are created with protobuf bodies, not JSON */
	int64_t list_page_size;   /* items per page of a paged list (no streaming list) */
};

enum fpd_call_protocol { FPD_CALLS_HTTP1, FPD_CALLS_HTTP2 };

struct fpd_config_namespaces {
	/* Namespaces the daemon may create objects in and watches; empty = any (cluster-wide
	 * watches). A task whose namespace is not listed is refused with PERMISSION_DENIED. */
	struct fpd_strings watch;
	/* Used when the execution metadata carries no namespace. */
	char *default_namespace;
};

/* `plugins.routes`: tasks of task_type in a namespace matching one of the globs in
 * namespaces (every namespace when empty) are built by the plugin named plugin, where it serves
 * the task's version. The first matching route wins; a task no route takes goes to the plugin
 * registered first for its type (engine/registry.h). */
struct fpd_config_route {
	char *task_type;
	struct fpd_strings namespaces;
	char *plugin;
};

struct fpd_config_plugins {
	char *dir;                  /* external plugins (*.so); empty = none */
	struct fpd_strings modules; /* more external plugins, each a *.so path */
	struct fpd_strings enabled; /* empty = every built-in and external plugin */
	struct fpd_list routes;     /* of struct fpd_config_route */
	/* Per-plugin settings by plugin name, validated by each plugin's own schema when the
	 * plugin registry is built (a mapping node, or NULL). */
	struct fpd_yaml_node *settings;
};

struct fpd_config_engine {
	/* HMAC key for resource_meta (a file holding at least 16 bytes, e.g. a mounted Secret).
	 * Empty: a random key per process, so tasks cannot be followed across restarts. */
	char *signing_key_file;
	/* Keys replaced by a rotation: they still verify, signing_key_file signs (engine/keys.h).
	 * Needs signing_key_file. */
	struct fpd_strings signing_key_previous_files;
	/* A Secret in the daemon's namespace holding the key (`signing-key`, and
	 * `signing-key.previous` while rotating), created with a random key when missing
	 * (kube/secret_key.h). Exclusive with signing_key_file; empty: not used. */
	char *signing_key_secret;
	int64_t cleanup_ttl_ms;      /* delete objects this long after they finished */
	int64_t orphan_after_ms;     /* delete unfinished objects nobody asked about this long */
	int64_t sweep_interval_ms;   /* how often the cleanup runs */
	int64_t create_retry_max_ms; /* backoff cap while a resource quota blocks a create */
	/* An operator's object (not a Pod) whose status is still empty this long after its
	 * creation fails, retryably: the operator is not running or not watching it. */
	int64_t operator_timeout_ms;
	/* How long a GetTask for an object not cached yet waits for the informer's first list to
	 * deliver it before it GETs it (engine/calls.c); 0: it GETs at once. */
	int64_t unlisted_wait_ms;
};

/* `policy.service_accounts` and `policy.task_types`: in namespaces matching the glob
 * `namespaces`, the names matching one of the globs in `allow` are admitted. */
struct fpd_config_policy_rule {
	char *namespaces;
	struct fpd_strings allow;
};

/* `policy.pod_security.overrides`: the level for namespaces matching the glob (first match). */
struct fpd_config_pss_override {
	char *namespaces;
	int level; /* enum fpd_pss_level (engine/podsecurity.h): privileged, baseline, restricted */
};

/* Who may create what where, enforced by engine/policy.h. Patterns are fnmatch(3) globs. */
struct fpd_config_policy {
	/* Namespaces tasks may use. Default: namespaces.watch when that is set, else ["*"].
	 * System namespaces and the daemon's own are admitted only by an exact entry. */
	struct fpd_strings namespaces_allow;
	/* The daemon's own namespace; empty: $POD_NAMESPACE, then the service account's
	 * namespace file (fpd_policy_own_namespace). */
	char *own_namespace;
	struct fpd_list service_accounts; /* of struct fpd_config_policy_rule; `default` always */
	/* Of struct fpd_config_policy_rule; task_types_set false (key absent) admits every type. */
	struct fpd_list task_types;
	bool task_types_set;
	int pod_security_level;        /* enum fpd_pss_level; default baseline */
	struct fpd_list pss_overrides; /* of struct fpd_config_pss_override */
};

/* One replica (the holder of a coordination.k8s.io Lease) runs cleanup and sweeps
 * (kube/lease.h). Durations as client-go's: lease > renew deadline > 1.2 * retry period. */
struct fpd_config_leader_election {
	bool enabled; /* false: every replica acts as the leader */
	char *lease_name;
	char *namespace_; /* empty: the daemon's own namespace */
	int64_t lease_duration_ms;
	int64_t renew_deadline_ms;
	int64_t retry_period_ms;
};

struct fpd_config {
	char *source; /* the file it came from, for messages; "" for defaults */
	struct fpd_config_log log;
	struct fpd_config_grpc grpc;
	struct fpd_config_admin admin;
	struct fpd_config_kube kubernetes;
	struct fpd_config_namespaces namespaces;
	struct fpd_config_plugins plugins;
	struct fpd_config_engine engine;
	struct fpd_config_policy policy;
	struct fpd_config_leader_election leader_election;
	/* `k8s:` and `logs:`: shared by every Kubernetes plugin (propeller's plugins.k8s and
	 * plugins.logs keys). */
	struct fpd_settings settings;
};

/* Fills cfg with defaults (new allocations; release with fpd_config_free). */
void fpd_config_defaults(struct fpd_config *cfg);

/* Loads path over the defaults. On failure cfg is released and err says file:line:col. */
int fpd_config_load(const char *path, struct fpd_config *cfg, struct fpd_error *err);

/* Same from text already in memory (name used in messages). */
int fpd_config_load_text(const char *text, size_t len, const char *name, struct fpd_config *cfg,
                         struct fpd_error *err);

void fpd_config_free(struct fpd_config *cfg);

/* Splits "host:port" / "[v6]:port"; host is copied into host_out (size bytes). */
int fpd_config_split_address(const char *addr, char *host_out, size_t size, int *port);

#endif
