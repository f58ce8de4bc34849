/* Daemon configuration: schema, defaults and cross-field checks. See config.h. */
#include "core/config.h"

#include "core/log.h"
#include "core/mem.h"
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
    {NULL},
};

static const struct fpd_schema_field admin_fields[] = {
    {"enabled", FPD_SCHEMA_BOOL, offsetof(struct fpd_config_admin, enabled)},
    {"listen", FPD_SCHEMA_STRING, offsetof(struct fpd_config_admin, listen), .nonempty = true},
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
    {NULL},
};

static const struct fpd_schema_field namespaces_fields[] = {
    {"watch", FPD_SCHEMA_STRINGS, offsetof(struct fpd_config_namespaces, watch)},
    {"default", FPD_SCHEMA_STRING, offsetof(struct fpd_config_namespaces, default_namespace),
     .nonempty = true},
    {NULL},
};

static const struct fpd_schema_field plugins_fields[] = {
    {"dir", FPD_SCHEMA_STRING, offsetof(struct fpd_config_plugins, dir)},
    {"enabled", FPD_SCHEMA_STRINGS, offsetof(struct fpd_config_plugins, enabled)},
    {"settings", FPD_SCHEMA_NODE, offsetof(struct fpd_config_plugins, settings)},
    {NULL},
};

static const struct fpd_schema_field engine_fields[] = {
    {"signing_key_file", FPD_SCHEMA_STRING, offsetof(struct fpd_config_engine, signing_key_file)},
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
    {"k8s", FPD_SCHEMA_SECTION, offsetof(struct fpd_config, settings.k8s), .fields = k8s_fields},
    {"logs", FPD_SCHEMA_SECTION, offsetof(struct fpd_config, settings.logs),
     .fields = fpd_log_settings_fields},
    {"storage", FPD_SCHEMA_SECTION, offsetof(struct fpd_config, settings.storage),
     .fields = storage_fields},
    {"logger", FPD_SCHEMA_SECTION, offsetof(struct fpd_config, settings.logger),
     .fields = logger_fields},
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
	cfg->grpc.max_concurrent_streams = 1024;
	cfg->grpc.max_connections = 4096;
	cfg->grpc.max_recv_message_bytes = 16 * MIB;
	cfg->grpc.max_send_message_bytes = 16 * MIB;
	cfg->grpc.idle_timeout_ms = 30 * 60 * 1000;
	cfg->grpc.drain_timeout_ms = 30 * 1000;
	cfg->admin.enabled = true;
	cfg->admin.listen = fpd_strdup("0.0.0.0:10254");
	cfg->kubernetes.kubeconfig = fpd_strdup("");
	cfg->kubernetes.context = fpd_strdup("");
	/* Measured: docs/configuration.md, "Rate limits". */
	cfg->kubernetes.qps = 2000;
	cfg->kubernetes.burst = 100;
	cfg->kubernetes.budget_create = (struct fpd_config_kube_budget){1500, 100};
	cfg->kubernetes.budget_read = (struct fpd_config_kube_budget){200, 100};
	cfg->kubernetes.budget_delete = (struct fpd_config_kube_budget){200, 100};
	cfg->kubernetes.request_timeout_ms = 30 * 1000;
	cfg->kubernetes.watch_timeout_ms = 10 * 60 * 1000;
	cfg->kubernetes.call_protocol = FPD_CALLS_HTTP1;
	cfg->kubernetes.call_connections = 16;
	cfg->kubernetes.watch_list = true;
	cfg->namespaces.default_namespace = fpd_strdup("default");
	cfg->plugins.dir = fpd_strdup("");

	cfg->engine.signing_key_file = fpd_strdup("");
	cfg->engine.cleanup_ttl_ms = HOUR_MS;
	cfg->engine.orphan_after_ms = 24 * (int64_t)HOUR_MS;
	cfg->engine.operator_timeout_ms = 10 * 60 * 1000;
	cfg->engine.sweep_interval_ms = 60 * 1000;
	cfg->engine.create_retry_max_ms = 20 * 1000;

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
	if (cfg->kubernetes.in_cluster && cfg->kubernetes.kubeconfig[0]) {
		const struct fpd_yaml_node *k =
		    fpd_yaml_get(fpd_yaml_get(root, "kubernetes"), "kubeconfig");
		return fpd_error_set_at(err, FPD_EINVAL, file, k ? k->line : 0, k ? k->column : 0,
		                        "kubernetes.in_cluster and kubernetes.kubeconfig are "
		                        "mutually exclusive");
	}
	rc = check_stow_config(root, cfg->settings.storage.stow.config, file, err);
	if (rc)
		return rc;
	const struct fpd_yaml_node *settings = cfg->plugins.settings;
	if (settings && !fpd_yaml_is_null(settings) && settings->kind != FPD_YAML_MAP)
		return fpd_error_set_at(err, FPD_EINVAL, file, settings->line, settings->column,
		                        "plugins.settings must be a mapping of plugin name to "
		                        "settings");
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
