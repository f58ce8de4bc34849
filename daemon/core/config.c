/* Daemon configuration: schema, defaults and cross-field checks. See config.h. */
#include "core/config.h"

#include "core/log.h"
#include <flyteplugd/mem.h>
#include "core/yaml.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIB (1024 * 1024)
#define HOUR_MS (3600 * 1000)

static const char *const log_levels[] = {"debug", "info", "warn", "error", NULL};
static const char *const log_formats[] = {"text", "json", NULL};
static const char *const call_protocols[] = {"http/1.1", "http/2", NULL}; /* fpd_call_protocol */

static const struct fpd_schema_field log_fields[] = {
    {"level", FPD_SCHEMA_ENUM, offsetof(struct fpd_config_log, level), .names = log_levels},
    {"format", FPD_SCHEMA_ENUM, offsetof(struct fpd_config_log, format), .names = log_formats},
    {NULL},
};

static const struct fpd_schema_field tls_fields[] = {
    {"cert_file", FPD_SCHEMA_STRING, offsetof(struct fpd_config_tls, cert_file)},
    {"key_file", FPD_SCHEMA_STRING, offsetof(struct fpd_config_tls, key_file)},
    {"client_ca_file", FPD_SCHEMA_STRING, offsetof(struct fpd_config_tls, client_ca_file)},
    {NULL},
};

static const struct fpd_schema_field grpc_fields[] = {
    {"listen", FPD_SCHEMA_STRING, offsetof(struct fpd_config_grpc, listen), .nonempty = true},
    {"tls", FPD_SCHEMA_SECTION, offsetof(struct fpd_config_grpc, tls), .fields = tls_fields},
    {"max_concurrent_streams", FPD_SCHEMA_INT,
     offsetof(struct fpd_config_grpc, max_concurrent_streams), 1, 1 << 20},
    {"max_connections", FPD_SCHEMA_INT, offsetof(struct fpd_config_grpc, max_connections), 1,
     1 << 20},
    {"max_recv_message_bytes", FPD_SCHEMA_SIZE,
     offsetof(struct fpd_config_grpc, max_recv_message_bytes), 1024, 1024 * MIB},
    {"max_send_message_bytes", FPD_SCHEMA_SIZE,
     offsetof(struct fpd_config_grpc, max_send_message_bytes), 1024, 1024 * MIB},
    {"idle_timeout", FPD_SCHEMA_DURATION, offsetof(struct fpd_config_grpc, idle_timeout_ms), 1000,
     24 * (int64_t)HOUR_MS},
    {"drain_timeout", FPD_SCHEMA_DURATION, offsetof(struct fpd_config_grpc, drain_timeout_ms), 0,
     HOUR_MS},
    {"max_connections_per_peer", FPD_SCHEMA_INT,
     offsetof(struct fpd_config_grpc, max_connections_per_peer), 1, 1 << 20},
    {"handshake_timeout", FPD_SCHEMA_DURATION,
     offsetof(struct fpd_config_grpc, handshake_timeout_ms), 100, 5 * 60 * 1000},
    {"first_request_timeout", FPD_SCHEMA_DURATION,
     offsetof(struct fpd_config_grpc, first_request_timeout_ms), 100, 24 * (int64_t)HOUR_MS},
    {"receive_timeout", FPD_SCHEMA_DURATION, offsetof(struct fpd_config_grpc, receive_timeout_ms),
     100, HOUR_MS},
    {"max_buffered_request_bytes", FPD_SCHEMA_SIZE,
     offsetof(struct fpd_config_grpc, max_buffered_request_bytes), MIB, 64 * 1024 * (int64_t)MIB},
    {NULL},
};

static const struct fpd_schema_field admin_fields[] = {
    {"enabled", FPD_SCHEMA_BOOL, offsetof(struct fpd_config_admin, enabled)},
    {"listen", FPD_SCHEMA_STRING, offsetof(struct fpd_config_admin, listen), .nonempty = true},
    {"token_file", FPD_SCHEMA_STRING, offsetof(struct fpd_config_admin, token_file)},
    {"max_connections", FPD_SCHEMA_INT, offsetof(struct fpd_config_admin, max_connections), 4,
     65536},
    {"max_connections_per_peer", FPD_SCHEMA_INT,
     offsetof(struct fpd_config_admin, max_connections_per_peer), 1, 65536},
    {"connection_timeout", FPD_SCHEMA_DURATION,
     offsetof(struct fpd_config_admin, connection_timeout_ms), 1000, HOUR_MS},
    {NULL},
};

static const struct fpd_schema_field budget_fields[] = {
    {"qps", FPD_SCHEMA_DOUBLE, offsetof(struct fpd_config_kube_budget, qps), 0, 100000},
    {"burst", FPD_SCHEMA_INT, offsetof(struct fpd_config_kube_budget, burst), 1, 100000},
    {NULL},
};

static const struct fpd_schema_field budgets_fields[] = {
    {"create", FPD_SCHEMA_SECTION, offsetof(struct fpd_config_kube, budget_create),
     .fields = budget_fields},
    {"read", FPD_SCHEMA_SECTION, offsetof(struct fpd_config_kube, budget_read),
     .fields = budget_fields},
    {"delete", FPD_SCHEMA_SECTION, offsetof(struct fpd_config_kube, budget_delete),
     .fields = budget_fields},
    {NULL},
};

static const struct fpd_schema_field kube_fields[] = {
    {"kubeconfig", FPD_SCHEMA_STRING, offsetof(struct fpd_config_kube, kubeconfig)},
    {"context", FPD_SCHEMA_STRING, offsetof(struct fpd_config_kube, context)},
    {"in_cluster", FPD_SCHEMA_BOOL, offsetof(struct fpd_config_kube, in_cluster)},
    {"qps", FPD_SCHEMA_DOUBLE, offsetof(struct fpd_config_kube, qps), 1, 100000},
    {"burst", FPD_SCHEMA_INT, offsetof(struct fpd_config_kube, burst), 1, 100000},
    /* The budgets sit in struct fpd_config_kube itself: the section's offset is 0. */
    {"budgets", FPD_SCHEMA_SECTION, 0, .fields = budgets_fields},
    {"request_timeout", FPD_SCHEMA_DURATION, offsetof(struct fpd_config_kube, request_timeout_ms),
     100, 10 * 60 * 1000},
    {"watch_timeout", FPD_SCHEMA_DURATION, offsetof(struct fpd_config_kube, watch_timeout_ms),
     60 * 1000, 2 * (int64_t)HOUR_MS},
    {"call_protocol", FPD_SCHEMA_ENUM, offsetof(struct fpd_config_kube, call_protocol),
     .names = call_protocols},
    {"call_connections", FPD_SCHEMA_INT, offsetof(struct fpd_config_kube, call_connections), 1,
     1024},
    {"watch_list", FPD_SCHEMA_BOOL, offsetof(struct fpd_config_kube, watch_list)},
    {"protobuf", FPD_SCHEMA_BOOL, offsetof(struct fpd_config_kube, protobuf)},
    {"protobuf_creates", FPD_SCHEMA_BOOL, offsetof(struct fpd_config_kube, protobuf_creates)},
    {"list_page_size", FPD_SCHEMA_INT, offsetof(struct fpd_config_kube, list_page_size), 1,
     100000},
    {NULL},
};

static const struct fpd_schema_field namespaces_fields[] = {
    {"watch", FPD_SCHEMA_STRINGS, offsetof(struct fpd_config_namespaces, watch)},
    {"default", FPD_SCHEMA_STRING, offsetof(struct fpd_config_namespaces, default_namespace),
     .nonempty = true},
    {NULL},
};

#define ROUTE(f) offsetof(struct fpd_config_route, f)
static const struct fpd_schema_field route_fields[] = {
    {"task_type", FPD_SCHEMA_STRING, ROUTE(task_type), .nonempty = true},
    {"namespaces", FPD_SCHEMA_STRINGS, ROUTE(namespaces)},
    {"plugin", FPD_SCHEMA_STRING, ROUTE(plugin), .nonempty = true},
    {NULL},
};

static const struct fpd_schema_field plugins_fields[] = {
    {"dir", FPD_SCHEMA_STRING, offsetof(struct fpd_config_plugins, dir)},
    {"modules", FPD_SCHEMA_STRINGS, offsetof(struct fpd_config_plugins, modules)},
    {"enabled", FPD_SCHEMA_STRINGS, offsetof(struct fpd_config_plugins, enabled)},
    {"routes", FPD_SCHEMA_SECTIONS, offsetof(struct fpd_config_plugins, routes),
     .fields = route_fields, .elem_size = sizeof(struct fpd_config_route)},
    {"settings", FPD_SCHEMA_NODE, offsetof(struct fpd_config_plugins, settings)},
    {NULL},
};

static const struct fpd_schema_field engine_fields[] = {
    {"signing_key_file", FPD_SCHEMA_STRING, offsetof(struct fpd_config_engine, signing_key_file)},
    {"signing_key_previous_files", FPD_SCHEMA_STRINGS,
     offsetof(struct fpd_config_engine, signing_key_previous_files)},
    {"signing_key_secret", FPD_SCHEMA_STRING,
     offsetof(struct fpd_config_engine, signing_key_secret)},
    {"cleanup_ttl", FPD_SCHEMA_DURATION, offsetof(struct fpd_config_engine, cleanup_ttl_ms), 0,
     30 * 24 * (int64_t)HOUR_MS},
    {"orphan_after", FPD_SCHEMA_DURATION, offsetof(struct fpd_config_engine, orphan_after_ms), 1000,
     30 * 24 * (int64_t)HOUR_MS},
    {"sweep_interval", FPD_SCHEMA_DURATION, offsetof(struct fpd_config_engine, sweep_interval_ms),
     1000, 24 * (int64_t)HOUR_MS},
    {"create_retry_max", FPD_SCHEMA_DURATION,
     offsetof(struct fpd_config_engine, create_retry_max_ms), 1000, HOUR_MS},
    {"operator_timeout", FPD_SCHEMA_DURATION,
     offsetof(struct fpd_config_engine, operator_timeout_ms), 1000, 24 * (int64_t)HOUR_MS},
    {"unlisted_wait", FPD_SCHEMA_DURATION,
     offsetof(struct fpd_config_engine, unlisted_wait_ms), 0, 10 * 60 * 1000},
    {NULL},
};

static const struct fpd_schema_field leader_election_fields[] = {
    {"enabled", FPD_SCHEMA_BOOL, offsetof(struct fpd_config_leader_election, enabled)},
    {"lease_name", FPD_SCHEMA_STRING, offsetof(struct fpd_config_leader_election, lease_name),
     .nonempty = true},
    {"namespace", FPD_SCHEMA_STRING, offsetof(struct fpd_config_leader_election, namespace_)},
    {"lease_duration", FPD_SCHEMA_DURATION,
     offsetof(struct fpd_config_leader_election, lease_duration_ms), 1000, HOUR_MS},
    {"renew_deadline", FPD_SCHEMA_DURATION,
     offsetof(struct fpd_config_leader_election, renew_deadline_ms), 100, HOUR_MS},
    {"retry_period", FPD_SCHEMA_DURATION,
     offsetof(struct fpd_config_leader_election, retry_period_ms), 100, HOUR_MS},
    {NULL},
};

/* Same order as enum fpd_pss_level (engine/podsecurity.h). */
static const char *const pss_levels[] = {"privileged", "baseline", "restricted", NULL};

#define RULE(f) offsetof(struct fpd_config_policy_rule, f)
static const struct fpd_schema_field policy_rule_fields[] = {
    {"namespaces", FPD_SCHEMA_STRING, RULE(namespaces), .nonempty = true},
    {"allow", FPD_SCHEMA_STRINGS, RULE(allow)},
    {NULL},
};

/* Each override starts without a level, so a missing `level` is caught. */
static void pss_override_defaults(void *elem)
{
	((struct fpd_config_pss_override *)elem)->level = -1;
}

#define OVERRIDE(f) offsetof(struct fpd_config_pss_override, f)
static const struct fpd_schema_field pss_override_fields[] = {
    {"namespaces", FPD_SCHEMA_STRING, OVERRIDE(namespaces), .nonempty = true},
    {"level", FPD_SCHEMA_ENUM, OVERRIDE(level), .names = pss_levels},
    {NULL},
};

#define POLICY(f) offsetof(struct fpd_config_policy, f)
/* `policy.namespaces` has one key: its section is the string list itself (offset 0 in it). */
static const struct fpd_schema_field policy_namespaces_fields[] = {
    {"allow", FPD_SCHEMA_STRINGS, 0, .nonempty = true},
    {NULL},
};

/* `policy.pod_security` is a section over the whole policy struct (offset 0), so its fields'
 * offsets are the policy's. */
static const struct fpd_schema_field pod_security_fields[] = {
    {"level", FPD_SCHEMA_ENUM, POLICY(pod_security_level), .names = pss_levels},
    {"overrides", FPD_SCHEMA_SECTIONS, POLICY(pss_overrides), .fields = pss_override_fields,
     .elem_size = sizeof(struct fpd_config_pss_override), .elem_defaults = pss_override_defaults},
    {NULL},
};

static const struct fpd_schema_field policy_fields[] = {
    {"namespaces", FPD_SCHEMA_SECTION, POLICY(namespaces_allow),
     .fields = policy_namespaces_fields},
    {"own_namespace", FPD_SCHEMA_STRING, POLICY(own_namespace)},
    {"service_accounts", FPD_SCHEMA_SECTIONS, POLICY(service_accounts),
     .fields = policy_rule_fields, .elem_size = sizeof(struct fpd_config_policy_rule)},
    {"task_types", FPD_SCHEMA_SECTIONS, POLICY(task_types), .fields = policy_rule_fields,
     .nonempty = true, .elem_size = sizeof(struct fpd_config_policy_rule)},
    {"pod_security", FPD_SCHEMA_SECTION, 0, .fields = pod_security_fields},
    {NULL},
};

#define COPILOT(f) offsetof(struct fpd_copilot_settings, f)
static const struct fpd_schema_field copilot_fields[] = {
    {"name", FPD_SCHEMA_STRING, COPILOT(name)},
    {"image", FPD_SCHEMA_STRING, COPILOT(image), .nonempty = true},
    {"default-input-path", FPD_SCHEMA_STRING, COPILOT(default_input_path), .nonempty = true},
    {"default-output-path", FPD_SCHEMA_STRING, COPILOT(default_output_path), .nonempty = true},
    {"input-vol-name", FPD_SCHEMA_STRING, COPILOT(input_vol_name), .nonempty = true},
    {"output-vol-name", FPD_SCHEMA_STRING, COPILOT(output_vol_name), .nonempty = true},
    {"start-timeout", FPD_SCHEMA_DURATION, COPILOT(start_timeout_ms), 0, 7 * 24 * (int64_t)HOUR_MS},
    {"timeout", FPD_SCHEMA_DURATION, COPILOT(timeout_ms), 0, 7 * 24 * (int64_t)HOUR_MS},
    {"cpu", FPD_SCHEMA_STRING, COPILOT(cpu), .nonempty = true},
    {"memory", FPD_SCHEMA_STRING, COPILOT(memory), .nonempty = true},
    {"storage", FPD_SCHEMA_STRING, COPILOT(storage)},
    {NULL},
};

#define K8S(f) offsetof(struct fpd_k8s_settings, f)
static const struct fpd_schema_field k8s_fields[] = {
    {"default-annotations", FPD_SCHEMA_JSON, K8S(default_annotations)},
    {"default-labels", FPD_SCHEMA_JSON, K8S(default_labels)},
    {"default-env-vars", FPD_SCHEMA_JSON, K8S(default_env_vars)},
    {"default-env-vars-from-env", FPD_SCHEMA_JSON, K8S(default_env_vars_from_env)},
    {"default-env-from-configmaps", FPD_SCHEMA_STRINGS, K8S(default_env_from_configmaps)},
    {"default-env-from-secrets", FPD_SCHEMA_STRINGS, K8S(default_env_from_secrets)},
    {"default-cpus", FPD_SCHEMA_STRING, K8S(default_cpus), .nonempty = true},
    {"default-memory", FPD_SCHEMA_STRING, K8S(default_memory), .nonempty = true},
    {"default-tolerations", FPD_SCHEMA_JSON, K8S(default_tolerations)},
    {"default-node-selector", FPD_SCHEMA_JSON, K8S(default_node_selector)},
    {"default-affinity", FPD_SCHEMA_JSON, K8S(default_affinity)},
    {"scheduler-name", FPD_SCHEMA_STRING, K8S(scheduler_name)},
    {"interruptible-tolerations", FPD_SCHEMA_JSON, K8S(interruptible_tolerations)},
    {"interruptible-node-selector", FPD_SCHEMA_JSON, K8S(interruptible_node_selector)},
    {"interruptible-node-selector-requirement", FPD_SCHEMA_JSON,
     K8S(interruptible_node_selector_requirement)},
    {"non-interruptible-node-selector-requirement", FPD_SCHEMA_JSON,
     K8S(non_interruptible_node_selector_requirement)},
    {"resource-tolerations", FPD_SCHEMA_JSON, K8S(resource_tolerations)},
    {"default-pod-security-context", FPD_SCHEMA_JSON, K8S(default_pod_security_context)},
    {"default-security-context", FPD_SCHEMA_JSON, K8S(default_security_context)},
    {"default-pod-dns-config", FPD_SCHEMA_JSON, K8S(default_pod_dns_config)},
    {"enable-host-networking-pod", FPD_SCHEMA_JSON, K8S(enable_host_networking_pod)},
    {"image-pull-policy", FPD_SCHEMA_STRING, K8S(image_pull_policy)},
    {"gpu-resource-name", FPD_SCHEMA_STRING, K8S(gpu_resource_name), .nonempty = true},
    {"gpu-device-node-label", FPD_SCHEMA_STRING, K8S(gpu_device_node_label)},
    {"gpu-partition-size-node-label", FPD_SCHEMA_STRING, K8S(gpu_partition_size_node_label)},
    {"add-tolerations-for-extended-resources", FPD_SCHEMA_STRINGS,
     K8S(add_tolerations_for_extended_resources)},
    {"create-container-error-grace-period", FPD_SCHEMA_DURATION,
     K8S(create_container_error_grace_ms), 0, 24 * (int64_t)HOUR_MS},
    {"create-container-config-error-grace-period", FPD_SCHEMA_DURATION,
     K8S(create_container_config_error_grace_ms), 0, 24 * (int64_t)HOUR_MS},
    {"image-pull-backoff-grace-period", FPD_SCHEMA_DURATION, K8S(image_pull_backoff_grace_ms), 0,
     24 * (int64_t)HOUR_MS},
    {"pod-pending-timeout", FPD_SCHEMA_DURATION, K8S(pod_pending_timeout_ms), 0,
     7 * 24 * (int64_t)HOUR_MS},
    {"co-pilot", FPD_SCHEMA_SECTION, K8S(co_pilot), .fields = copilot_fields},
    {NULL},
};

#define CONN(f) offsetof(struct fpd_storage_connection, f)
static const struct fpd_schema_field storage_connection_fields[] = {
    {"endpoint", FPD_SCHEMA_STRING, CONN(endpoint)},
    {"auth-type", FPD_SCHEMA_STRING, CONN(auth_type)},
    {"access-key", FPD_SCHEMA_STRING, CONN(access_key)},
    {"secret-key", FPD_SCHEMA_STRING, CONN(secret_key)},
    {"region", FPD_SCHEMA_STRING, CONN(region)},
    {"disable-ssl", FPD_SCHEMA_BOOL, CONN(disable_ssl)},
    {NULL},
};

static const struct fpd_schema_field storage_stow_fields[] = {
    {"kind", FPD_SCHEMA_STRING, offsetof(struct fpd_storage_stow, kind)},
    {"config", FPD_SCHEMA_JSON, offsetof(struct fpd_storage_stow, config)},
    {NULL},
};

#define STORAGE(f) offsetof(struct fpd_storage_settings, f)
static const struct fpd_schema_field storage_fields[] = {
    {"type", FPD_SCHEMA_STRING, STORAGE(type), .nonempty = true},
    {"container", FPD_SCHEMA_STRING, STORAGE(container)},
    {"enable-multicontainer", FPD_SCHEMA_BOOL, STORAGE(enable_multicontainer)},
    {"connection", FPD_SCHEMA_SECTION, STORAGE(connection), .fields = storage_connection_fields},
    {"stow", FPD_SCHEMA_SECTION, STORAGE(stow), .fields = storage_stow_fields},
    {NULL},
};

static const struct fpd_schema_field logger_fields[] = {
    {"level", FPD_SCHEMA_INT, offsetof(struct fpd_logger_settings, level), 0, 5},
    {NULL},
};

static const struct fpd_schema_field kueue_fields[] = {
    {"queues", FPD_SCHEMA_JSON, offsetof(struct fpd_kueue_settings, queues)},
    {NULL},
};

#define VOLCANO(f) offsetof(struct fpd_volcano_settings, f)
static const struct fpd_schema_field volcano_fields[] = {
    {"enabled", FPD_SCHEMA_BOOL, VOLCANO(enabled)},
    {"namespaces", FPD_SCHEMA_STRINGS, VOLCANO(namespaces)},
    {"queue", FPD_SCHEMA_STRING, VOLCANO(queue), .nonempty = true},
    {"scheduler_name", FPD_SCHEMA_STRING, VOLCANO(scheduler_name), .nonempty = true},
    {NULL},
};

static const struct fpd_schema_field queueing_fields[] = {
    {"kueue", FPD_SCHEMA_SECTION, offsetof(struct fpd_queueing_settings, kueue),
     .fields = kueue_fields},
    {"volcano", FPD_SCHEMA_SECTION, offsetof(struct fpd_queueing_settings, volcano),
     .fields = volcano_fields},
    {NULL},
};

static const struct fpd_schema_field config_fields[] = {
    {"log", FPD_SCHEMA_SECTION, offsetof(struct fpd_config, log), .fields = log_fields},
    {"grpc", FPD_SCHEMA_SECTION, offsetof(struct fpd_config, grpc), .fields = grpc_fields},
    {"admin", FPD_SCHEMA_SECTION, offsetof(struct fpd_config, admin), .fields = admin_fields},
    {"kubernetes", FPD_SCHEMA_SECTION, offsetof(struct fpd_config, kubernetes),
     .fields = kube_fields},
    {"namespaces", FPD_SCHEMA_SECTION, offsetof(struct fpd_config, namespaces),
     .fields = namespaces_fields},
    {"plugins", FPD_SCHEMA_SECTION, offsetof(struct fpd_config, plugins), .fields = plugins_fields},
    {"engine", FPD_SCHEMA_SECTION, offsetof(struct fpd_config, engine), .fields = engine_fields},
    {"policy", FPD_SCHEMA_SECTION, offsetof(struct fpd_config, policy), .fields = policy_fields},
    {"leader_election", FPD_SCHEMA_SECTION, offsetof(struct fpd_config, leader_election),
     .fields = leader_election_fields},
    {"k8s", FPD_SCHEMA_SECTION, offsetof(struct fpd_config, settings.k8s), .fields = k8s_fields},
    {"logs", FPD_SCHEMA_SECTION, offsetof(struct fpd_config, settings.logs),
     .fields = fpd_log_settings_fields},
    {"storage", FPD_SCHEMA_SECTION, offsetof(struct fpd_config, settings.storage),
     .fields = storage_fields},
    {"logger", FPD_SCHEMA_SECTION, offsetof(struct fpd_config, settings.logger),
     .fields = logger_fields},
    {"queueing", FPD_SCHEMA_SECTION, offsetof(struct fpd_config, settings.queueing),
     .fields = queueing_fields},
    {NULL},
};

/* propeller's defaults (flytek8s/config/config.go). */
static void copilot_defaults(struct fpd_copilot_settings *c)
{
	c->name = fpd_strdup("flyte-copilot-");
	c->image = fpd_strdup("cr.flyte.org/flyteorg/flytecopilot:v0.0.15");
	c->default_input_path = fpd_strdup("/var/flyte/inputs");
	c->default_output_path = fpd_strdup("/var/flyte/outputs");
	c->input_vol_name = fpd_strdup("flyte-inputs");
	c->output_vol_name = fpd_strdup("flyte-outputs");
	c->timeout_ms = HOUR_MS;
	c->cpu = fpd_strdup("500m");
	c->memory = fpd_strdup("128Mi");
	c->storage = fpd_strdup("");
}

/* flytestdlib's storage defaults (storage/config.go). */
static void storage_defaults(struct fpd_storage_settings *s)
{
	s->type = fpd_strdup("s3");
	s->container = fpd_strdup("");
	s->connection.endpoint = fpd_strdup("");
	s->connection.auth_type = fpd_strdup("iam");
	s->connection.access_key = fpd_strdup("");
	s->connection.secret_key = fpd_strdup("");
	s->connection.region = fpd_strdup("us-east-1");
	s->stow.kind = fpd_strdup("");
}

void fpd_config_defaults(struct fpd_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->source = fpd_strdup("");
	cfg->log.level = FPD_LOG_INFO;
	cfg->log.format = FPD_LOG_TEXT;
	cfg->grpc.listen = fpd_strdup("0.0.0.0:8000");
	cfg->grpc.tls.cert_file = fpd_strdup("");
	cfg->grpc.tls.key_file = fpd_strdup("");
	cfg->grpc.tls.client_ca_file = fpd_strdup("");
	cfg->grpc.max_concurrent_streams = 1024;
	cfg->grpc.max_connections = 4096;
	cfg->grpc.max_recv_message_bytes = 16 * MIB;
	cfg->grpc.max_send_message_bytes = 16 * MIB;
	cfg->grpc.idle_timeout_ms = 30 * 60 * 1000;
	cfg->grpc.drain_timeout_ms = 30 * 1000;
	cfg->grpc.max_connections_per_peer = 256;
	cfg->grpc.handshake_timeout_ms = 10 * 1000;
	cfg->grpc.first_request_timeout_ms = 30 * 1000;
	cfg->grpc.receive_timeout_ms = 30 * 1000;
	/* Eight maximum-size requests at once, or thousands of ordinary ones (a few KiB): well
	 * inside a 512 MiB container with room for the watch cache. docs/security.md. */
	cfg->grpc.max_buffered_request_bytes = 128 * MIB;
	cfg->admin.enabled = true;
	cfg->admin.listen = fpd_strdup("0.0.0.0:10254");
	cfg->admin.token_file = fpd_strdup("");
	cfg->admin.max_connections = 128;
	cfg->admin.max_connections_per_peer = 16;
	cfg->admin.connection_timeout_ms = 10 * 1000;
	cfg->kubernetes.kubeconfig = fpd_strdup("");
	cfg->kubernetes.context = fpd_strdup("");
	/* Measured: docs/configuration.md, "Rate limits". */
	cfg->kubernetes.qps = 6000;
	cfg->kubernetes.burst = 100;
	cfg->kubernetes.budget_create = (struct fpd_config_kube_budget){5000, 100};
	cfg->kubernetes.budget_read = (struct fpd_config_kube_budget){500, 500};
	cfg->kubernetes.budget_delete = (struct fpd_config_kube_budget){200, 100};
	cfg->kubernetes.request_timeout_ms = 30 * 1000;
	cfg->kubernetes.watch_timeout_ms = 10 * 60 * 1000;
	cfg->kubernetes.call_protocol = FPD_CALLS_HTTP1;
	cfg->kubernetes.call_connections = 64;
	cfg->kubernetes.watch_list = true;
	cfg->kubernetes.protobuf = true;
	cfg->kubernetes.protobuf_creates = true;
	cfg->kubernetes.list_page_size = 500;
	cfg->namespaces.default_namespace = fpd_strdup("default");
	cfg->plugins.dir = fpd_strdup("");

	cfg->engine.signing_key_file = fpd_strdup("");
	cfg->engine.signing_key_secret = fpd_strdup("");
	/* client-go's leaderelection defaults */
	cfg->leader_election.enabled = true;
	cfg->leader_election.lease_name = fpd_strdup("flyteplugd");
	cfg->leader_election.namespace_ = fpd_strdup("");
	cfg->leader_election.lease_duration_ms = 15 * 1000;
	cfg->leader_election.renew_deadline_ms = 10 * 1000;
	cfg->leader_election.retry_period_ms = 2 * 1000;
	cfg->engine.cleanup_ttl_ms = HOUR_MS;
	cfg->engine.orphan_after_ms = 24 * (int64_t)HOUR_MS;
	cfg->engine.operator_timeout_ms = 10 * 60 * 1000;
	/* 0: a cache miss while the first list runs GETs its object at once, and is answered by
	 * the GET or by the list's delivery, whichever comes first. */
	cfg->engine.unlisted_wait_ms = 0;
	cfg->engine.sweep_interval_ms = 60 * 1000;
	cfg->engine.create_retry_max_ms = 20 * 1000;

	fpd_strings_push(&cfg->policy.namespaces_allow, "*");
	cfg->policy.own_namespace = fpd_strdup("");
	cfg->policy.pod_security_level = 1; /* baseline */

	struct fpd_k8s_settings *k = &cfg->settings.k8s;
	k->default_annotations =
	    json_pack("{s:s}", "cluster-autoscaler.kubernetes.io/safe-to-evict", "false");
	k->default_cpus = fpd_strdup("1000m");
	k->default_memory = fpd_strdup("1024Mi");
	k->scheduler_name = fpd_strdup("");
	k->image_pull_policy = fpd_strdup("");
	k->gpu_resource_name = fpd_strdup("nvidia.com/gpu");
	k->gpu_device_node_label = fpd_strdup("k8s.amazonaws.com/accelerator");
	k->gpu_partition_size_node_label = fpd_strdup("k8s.amazonaws.com/gpu-partition-size");
	k->create_container_error_grace_ms = 3 * 60 * 1000;
	k->create_container_config_error_grace_ms = 0;
	k->image_pull_backoff_grace_ms = 3 * 60 * 1000;
	k->pod_pending_timeout_ms = 0;
	copilot_defaults(&k->co_pilot);
	storage_defaults(&cfg->settings.storage);
	cfg->settings.logger.level = 3; /* flytestdlib's WarnLevel */

	fpd_log_settings_defaults(&cfg->settings.logs);
}

void fpd_config_free(struct fpd_config *cfg)
{
	fpd_schema_free(config_fields, cfg);
	free(cfg->source);
	cfg->source = NULL;
}

int fpd_config_split_address(const char *addr, char *host_out, size_t size, int *port)
{
	const char *colon;
	const char *host = addr;
	size_t host_len;
	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');
		if (!close || close[1] != ':')
			return FPD_EINVAL;
		host = addr + 1;
		host_len = (size_t)(close - host);
		colon = close + 1;
	} else {
		colon = strrchr(addr, ':');
		if (!colon || strchr(addr, ':') != colon)
			return FPD_EINVAL;
		host_len = (size_t)(colon - addr);
	}
	if (host_len == 0 || host_len >= size)
		return FPD_EINVAL;
	char *end;
	long p = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end || p < 0 || p > 65535)
		return FPD_EINVAL;
	memcpy(host_out, host, host_len);
	host_out[host_len] = '\0';
	*port = (int)p;
	return FPD_OK;
}

/* Rules that span fields; node positions are looked up again for the message. */
static int check_address(const struct fpd_yaml_node *root, const char *section, const char *addr,
                         const char *file, struct fpd_error *err)
{
	char host[256];
	int port;
	if (fpd_config_split_address(addr, host, sizeof(host), &port) == FPD_OK)
		return FPD_OK;
	const struct fpd_yaml_node *n = fpd_yaml_get(fpd_yaml_get(root, section), "listen");
	return fpd_error_set_at(err, FPD_EINVAL, file, n ? n->line : 0, n ? n->column : 0,
	                        "%s.listen must be host:port (port 0-65535), not \"%s\"", section,
	                        addr);
}

/* storage.stow.config becomes `--storage.stow.config key=value` arguments: a flat mapping. */
static int check_stow_config(const struct fpd_yaml_node *root, const json_t *config,
                             const char *file, struct fpd_error *err)
{
	const char *k;
	json_t *v;
	bool flat = !config || json_is_null(config) || json_is_object(config);
	json_object_foreach((json_t *)config, k, v)
	{
		flat = flat && (json_is_string(v) || json_is_number(v) || json_is_boolean(v));
	}
	if (flat)
		return FPD_OK;
	const struct fpd_yaml_node *n =
	    fpd_yaml_get(fpd_yaml_get(fpd_yaml_get(root, "storage"), "stow"), "config");
	return fpd_error_set_at(err, FPD_EINVAL, file, n ? n->line : 0, n ? n->column : 0,
	                        "storage.stow.config must be a mapping of names to scalars");
}

/* queueing.kueue.queues: namespace glob -> LocalQueue name. */
static int check_kueue_queues(const struct fpd_yaml_node *root, const json_t *queues,
                              const char *file, struct fpd_error *err)
{
	const char *k;
	json_t *v;
	bool ok = !queues || json_is_null(queues) || json_is_object(queues);
	json_object_foreach((json_t *)queues, k, v)
	{
		ok = ok && json_string_length(v) > 0;
	}
	if (ok)
		return FPD_OK;
	const struct fpd_yaml_node *n =
	    fpd_yaml_get(fpd_yaml_get(fpd_yaml_get(root, "queueing"), "kueue"), "queues");
	return fpd_error_set_at(err, FPD_EINVAL, file, n ? n->line : 0, n ? n->column : 0,
	                        "queueing.kueue.queues must map namespace globs to queue names");
}

static int error_at_key(const struct fpd_yaml_node *root, const char *section, const char *key,
                        const char *file, struct fpd_error *err, const char *text)
{
	const struct fpd_yaml_node *n = fpd_yaml_get(fpd_yaml_get(root, section), key);
	return fpd_error_set_at(err, FPD_EINVAL, file, n ? n->line : 0, n ? n->column : 0, "%s",
	                        text);
}

static int check_signing_keys(const struct fpd_yaml_node *root, const struct fpd_config_engine *e,
                              const char *file, struct fpd_error *err)
{
	if (e->signing_key_file[0] && e->signing_key_secret[0])
		return error_at_key(root, "engine", "signing_key_secret", file, err,
		                    "engine.signing_key_secret and engine.signing_key_file are "
		                    "mutually exclusive");
	if (e->signing_key_previous_files.count && !e->signing_key_file[0])
		return error_at_key(root, "engine", "signing_key_previous_files", file, err,
		                    "engine.signing_key_previous_files needs "
		                    "engine.signing_key_file (the key that signs)");
	if (e->signing_key_previous_files.count >= 8)
		return error_at_key(root, "engine", "signing_key_previous_files", file, err,
		                    "engine.signing_key_previous_files: at most 7 previous keys");
	return FPD_OK;
}

/* client-go's rules: a leader must give up (renew deadline) before others may take over
 * (lease duration), and have retried more than once before that. The message points at the
 * shorter of the two keys when it is written, else at the other. */
static int check_leader_election(const struct fpd_yaml_node *root,
                                 const struct fpd_config_leader_election *le, const char *file,
                                 struct fpd_error *err)
{
	const struct fpd_yaml_node *sec = fpd_yaml_get(root, "leader_election");
	if (le->lease_duration_ms <= le->renew_deadline_ms) {
		const char *at =
		    fpd_yaml_get(sec, "renew_deadline") ? "renew_deadline" : "lease_duration";
		return error_at_key(root, "leader_election", at, file, err,
		                    "leader_election.lease_duration must be longer than "
		                    "leader_election.renew_deadline");
	}
	if (le->renew_deadline_ms * 10 <= le->retry_period_ms * 12) {
		const char *at =
		    fpd_yaml_get(sec, "retry_period") ? "retry_period" : "renew_deadline";
		return error_at_key(root, "leader_election", at, file, err,
		                    "leader_election.renew_deadline must be longer than 1.2 times "
		                    "leader_election.retry_period");
	}
	return FPD_OK;
}

/*
 * The request budget charges memory as allocated (daemon/grpc/conn.c): a maximum-size message
 * takes its length plus the terminator rounded up to pages, and its call and the connection's
 * HTTP/2 session (about 26 KiB) count too. Idle connections' sessions are closed to make room,
 * so what one request needs beside its buffer is its own call and session: BUDGET_HEADROOM is
 * ten times that.
 */
#define BUDGET_HEADROOM (256 * 1024)

static int check_request_budget(const struct fpd_yaml_node *root,
                                const struct fpd_config_grpc *grpc, const char *file,
                                struct fpd_error *err)
{
	int64_t need = (grpc->max_recv_message_bytes + 1 + 4095) / 4096 * 4096 + BUDGET_HEADROOM;
	if (grpc->max_buffered_request_bytes >= need)
		return FPD_OK;
	const struct fpd_yaml_node *b =
	    fpd_yaml_get(fpd_yaml_get(root, "grpc"), "max_buffered_request_bytes");
	if (!b)
		b = fpd_yaml_get(fpd_yaml_get(root, "grpc"), "max_recv_message_bytes");
	return fpd_error_set_at(err, FPD_EINVAL, file, b ? b->line : 0, b ? b->column : 0,
	                        "grpc.max_buffered_request_bytes (%lld) must be at least %lld: "
	                        "one grpc.max_recv_message_bytes (%lld) message as buffered "
	                        "(rounded up to 4KiB pages) plus 256KiB for its call and "
	                        "connection, or no maximum-size request could ever be received",
	                        (long long)grpc->max_buffered_request_bytes, (long long)need,
	                        (long long)grpc->max_recv_message_bytes);
}

static int check_rules(const struct fpd_yaml_node *root, const struct fpd_config *cfg,
                       const char *file, struct fpd_error *err)
{
	int rc = check_address(root, "grpc", cfg->grpc.listen, file, err);
	if (!rc)
		rc = check_address(root, "admin", cfg->admin.listen, file, err);
	if (rc)
		return rc;
	bool has_cert = cfg->grpc.tls.cert_file[0], has_key = cfg->grpc.tls.key_file[0];
	if (has_cert != has_key) {
		const struct fpd_yaml_node *tls = fpd_yaml_get(fpd_yaml_get(root, "grpc"), "tls");
		return fpd_error_set_at(err, FPD_EINVAL, file, tls ? tls->line : 0,
		                        tls ? tls->column : 0,
		                        "grpc.tls needs both cert_file and key_file");
	}
	if (cfg->grpc.tls.client_ca_file[0] && !has_cert) {
		const struct fpd_yaml_node *ca =
		    fpd_yaml_get(fpd_yaml_get(fpd_yaml_get(root, "grpc"), "tls"), "client_ca_file");
		return fpd_error_set_at(
		    err, FPD_EINVAL, file, ca ? ca->line : 0, ca ? ca->column : 0,
		    "grpc.tls.client_ca_file needs cert_file and key_file (client "
		    "certificates are verified on TLS connections only)");
	}
	rc = check_request_budget(root, &cfg->grpc, file, err);
	if (rc)
		return rc;
	if (cfg->kubernetes.in_cluster && cfg->kubernetes.kubeconfig[0]) {
		const struct fpd_yaml_node *k =
		    fpd_yaml_get(fpd_yaml_get(root, "kubernetes"), "kubeconfig");
		return fpd_error_set_at(err, FPD_EINVAL, file, k ? k->line : 0, k ? k->column : 0,
		                        "kubernetes.in_cluster and kubernetes.kubeconfig are "
		                        "mutually exclusive");
	}
	rc = check_stow_config(root, cfg->settings.storage.stow.config, file, err);
	if (!rc)
		rc = check_signing_keys(root, &cfg->engine, file, err);
	if (!rc)
		rc = check_leader_election(root, &cfg->leader_election, file, err);
	if (!rc)
		rc = check_kueue_queues(root, cfg->settings.queueing.kueue.queues, file, err);
	if (rc)
		return rc;
	const struct fpd_yaml_node *settings = cfg->plugins.settings;
	if (settings && !fpd_yaml_is_null(settings) && settings->kind != FPD_YAML_MAP)
		return fpd_error_set_at(err, FPD_EINVAL, file, settings->line, settings->column,
		                        "plugins.settings must be a mapping of plugin name to "
		                        "settings");
	return FPD_OK;
}

/* Glob patterns of the policy, checked here so that a typo is a file:line error rather than a
 * rule that silently matches nothing. extra: characters names of this kind may hold besides
 * lowercase letters, digits and '-'. Brackets must close (fnmatch takes a lone '[' literally). */
static bool valid_glob(const char *p, const char *extra)
{
	size_t n = strlen(p);
	bool open = false;
	if (n == 0 || n > 253)
		return false;
	for (; *p; p++) {
		char c = *p;
		if (c == '[') {
			if (open)
				return false;
			open = true;
		} else if (c == ']') {
			if (!open)
				return false;
			open = false;
		} else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		             c == '*' || c == '?' || (c == '!' && open) ||
		             (c && strchr(extra, c)))) {
			return false;
		}
	}
	return !open;
}

/* What a namespace name is: a DNS-1123 label. */
static bool dns_label(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

/* What a pattern matches: names made of lowercase letters, digits, '-' and extra. */
struct glob_kind {
	const char *what;
	const char *extra;
	const char *chars; /* for messages */
};

static const struct glob_kind ns_glob = {"namespace", "", "lowercase letters, digits, '-'"};
static const struct glob_kind sa_glob = {"service account", ".",
                                         "lowercase letters, digits, '-', '.'"};
static const struct glob_kind type_glob = {"task type", "ABCDEFGHIJKLMNOPQRSTUVWXYZ_.:/",
                                           "letters, digits, '-', '_', '.', ':', '/'"};

static int bad_glob(const struct fpd_yaml_node *n, const char *key, const char *value,
                    const struct glob_kind *k, const char *file, struct fpd_error *err)
{
	return fpd_error_set_at(err, FPD_EINVAL, file, n ? n->line : 0, n ? n->column : 0,
	                        "%s: \"%s\" is not a %s pattern (%s and the glob characters "
	                        "* ? [...], brackets closed)",
	                        key, value, k->what, k->chars);
}

/* Each rule's `namespaces` and `allow` entries. key is "policy.service_accounts" or
 * "policy.task_types"; kind is what `allow` matches. */
static int check_rules_list(const struct fpd_yaml_node *seq, const struct fpd_list *rules,
                            const char *key, const struct glob_kind *kind, const char *file,
                            struct fpd_error *err)
{
	for (size_t i = 0; i < rules->count; i++) {
		const struct fpd_config_policy_rule *r =
		    fpd_list_at(rules, sizeof(struct fpd_config_policy_rule), i);
		const struct fpd_yaml_node *item = seq && i < seq->count ? seq->items[i] : NULL;
		char where[64];
		snprintf(where, sizeof(where), "%s[%zu]", key, i);
		if (!r->namespaces)
			return fpd_error_set_at(
			    err, FPD_EINVAL, file, item ? item->line : 0, item ? item->column : 0,
			    "%s needs \"namespaces\" (a namespace pattern)", where);
		if (!valid_glob(r->namespaces, ns_glob.extra))
			return bad_glob(fpd_yaml_get(item, "namespaces"), where, r->namespaces,
			                &ns_glob, file, err);
		const struct fpd_yaml_node *allow = fpd_yaml_get(item, "allow");
		for (size_t j = 0; j < r->allow.count; j++)
			if (!valid_glob(r->allow.items[j], kind->extra))
				return bad_glob(allow && j < allow->count ? allow->items[j] : item,
				                where, r->allow.items[j], kind, file, err);
	}
	return FPD_OK;
}

/* plugins.routes: both names given and the namespace patterns well formed; whether the plugin
 * is loaded and serves the type is the registry's check (fpd_registry_from_config). */
static int check_routes(const struct fpd_yaml_node *root, const struct fpd_config *cfg,
                        const char *file, struct fpd_error *err)
{
	const struct fpd_list *routes = &cfg->plugins.routes;
	const struct fpd_yaml_node *seq = fpd_yaml_get(fpd_yaml_get(root, "plugins"), "routes");
	for (size_t i = 0; i < routes->count; i++) {
		const struct fpd_config_route *r =
		    fpd_list_at(routes, sizeof(struct fpd_config_route), i);
		const struct fpd_yaml_node *item = seq && i < seq->count ? seq->items[i] : NULL;
		char where[64];
		snprintf(where, sizeof(where), "plugins.routes[%zu]", i);
		if (!r->task_type || !r->plugin)
			return fpd_error_set_at(
			    err, FPD_EINVAL, file, item ? item->line : 0, item ? item->column : 0,
			    "%s needs both \"task_type\" and \"plugin\"", where);
		const struct fpd_yaml_node *ns = fpd_yaml_get(item, "namespaces");
		for (size_t j = 0; j < r->namespaces.count; j++)
			if (!valid_glob(r->namespaces.items[j], ns_glob.extra))
				return bad_glob(ns && j < ns->count ? ns->items[j] : item, where,
				                r->namespaces.items[j], &ns_glob, file, err);
	}
	return FPD_OK;
}

/* The policy's defaults that depend on other keys, and its patterns. */
static int finish_policy(const struct fpd_yaml_node *root, struct fpd_config *cfg, const char *file,
                         struct fpd_error *err)
{
	struct fpd_config_policy *p = &cfg->policy;
	const struct fpd_yaml_node *policy = fpd_yaml_get(root, "policy");
	const struct fpd_yaml_node *allow =
	    fpd_yaml_get(fpd_yaml_get(policy, "namespaces"), "allow");
	if (!allow && cfg->namespaces.watch.count) {
		fpd_strings_free(&p->namespaces_allow);
		for (size_t i = 0; i < cfg->namespaces.watch.count; i++)
			fpd_strings_push(&p->namespaces_allow, cfg->namespaces.watch.items[i]);
	}
	const struct fpd_yaml_node *types = fpd_yaml_get(policy, "task_types");
	p->task_types_set = types && !fpd_yaml_is_null(types);

	for (size_t i = 0; allow && i < p->namespaces_allow.count; i++)
		if (!valid_glob(p->namespaces_allow.items[i], ns_glob.extra))
			return bad_glob(allow->items[i], "policy.namespaces.allow",
			                p->namespaces_allow.items[i], &ns_glob, file, err);
	if (p->own_namespace[0] && !dns_label(p->own_namespace)) {
		const struct fpd_yaml_node *n = fpd_yaml_get(policy, "own_namespace");
		return fpd_error_set_at(err, FPD_EINVAL, file, n ? n->line : 0, n ? n->column : 0,
		                        "policy.own_namespace: \"%s\" is not a namespace name",
		                        p->own_namespace);
	}
	int rc = check_rules_list(fpd_yaml_get(policy, "service_accounts"), &p->service_accounts,
	                          "policy.service_accounts", &sa_glob, file, err);
	if (!rc)
		rc = check_rules_list(types, &p->task_types, "policy.task_types", &type_glob, file,
		                      err);
	if (rc)
		return rc;
	const struct fpd_yaml_node *ovs =
	    fpd_yaml_get(fpd_yaml_get(policy, "pod_security"), "overrides");
	for (size_t i = 0; i < p->pss_overrides.count; i++) {
		const struct fpd_config_pss_override *o =
		    fpd_list_at(&p->pss_overrides, sizeof(*o), i);
		const struct fpd_yaml_node *item = ovs && i < ovs->count ? ovs->items[i] : NULL;
		char where[64];
		snprintf(where, sizeof(where), "policy.pod_security.overrides[%zu]", i);
		if (!o->namespaces || o->level < 0)
			return fpd_error_set_at(
			    err, FPD_EINVAL, file, item ? item->line : 0, item ? item->column : 0,
			    "%s needs both \"namespaces\" and \"level\"", where);
		if (!valid_glob(o->namespaces, ns_glob.extra))
			return bad_glob(fpd_yaml_get(item, "namespaces"), where, o->namespaces,
			                &ns_glob, file, err);
	}
	return FPD_OK;
}

static int load_tree(const struct fpd_yaml_node *root, const char *name, struct fpd_config *cfg,
                     struct fpd_error *err)
{
	fpd_config_defaults(cfg);
	free(cfg->source);
	cfg->source = fpd_strdup(name);
	int rc = fpd_schema_apply(config_fields, root, cfg, name, err);
	if (!rc)
		rc = check_rules(root, cfg, name, err);
	if (!rc)
		rc = finish_policy(root, cfg, name, err);
	if (!rc)
		rc = check_routes(root, cfg, name, err);
	if (rc)
		fpd_config_free(cfg);
	return rc;
}

int fpd_config_load(const char *path, struct fpd_config *cfg, struct fpd_error *err)
{
	struct fpd_yaml_node *root;
	memset(cfg, 0, sizeof(*cfg));
	int rc = fpd_yaml_parse_file(path, &root, err);
	if (rc)
		return rc;
	rc = load_tree(root, path, cfg, err);
	fpd_yaml_free(root);
	return rc;
}

int fpd_config_load_text(const char *text, size_t len, const char *name, struct fpd_config *cfg,
                         struct fpd_error *err)
{
	struct fpd_yaml_node *root;
	memset(cfg, 0, sizeof(*cfg));
	int rc = fpd_yaml_parse(text, len, name, &root, err);
	if (rc)
		return rc;
	rc = load_tree(root, name, cfg, err);
	fpd_yaml_free(root);
	return rc;
}
