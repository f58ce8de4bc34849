/*
 * The Ray plugin (Flyte's plugins/k8s/ray/ray.go at flyteorg/flyte master 89cf9cc7): a `ray`
 * task becomes one RayJob whose head, worker groups and submitter are pod templates built
 * from the task's pod (fpd_pod_build_spec, Flyte's ToK8sPodSpec) and renamed per role.
 *
 * The compiled IDL predates RayCluster.autoscaler_options, so those options are read from
 * TaskTemplate.custom as JSON (camelCase or snake_case keys, as jsonpb accepts).
 *
 * Status follows Flyte's GetTaskPhase table on status.jobDeploymentStatus; see docs/parity/ray.md.
 */
#include "ray.h"

#include "../children.h"

#include <flyteplugd/logs.h>
#include <flyteplugd/object.h>
#include <flyteplugd/pod.h>
#include <flyteplugd/queue.h>
#include <flyteplugd/structpb.h>

#include <flyteplugd/error.h>
#include <flyteplugd/mem.h>
#include "flyteidl/plugins/ray.pb-c.h"
#include "internal.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- settings --- */

#define RS(f) offsetof(struct fpd_ray_settings, f)
#define RN(f) offsetof(struct fpd_ray_node_settings, f)

static const struct fpd_schema_field node_fields[] = {
    {"startParameters", FPD_SCHEMA_JSON, RN(start_parameters)},
    {"ipAddress", FPD_SCHEMA_STRING, RN(ip_address)},
    {0},
};

static const struct fpd_schema_field defaults_fields[] = {
    {"headNode", FPD_SCHEMA_SECTION, RS(head) - RS(head), .fields = node_fields},
    {"workerNode", FPD_SCHEMA_SECTION, RS(worker) - RS(head), .fields = node_fields},
    {0},
};

static const struct fpd_schema_field ray_fields[] = {
    {"shutdownAfterJobFinishes", FPD_SCHEMA_BOOL, RS(shutdown_after_job_finishes)},
    {"ttlSecondsAfterFinished", FPD_SCHEMA_INT, RS(ttl_seconds_after_finished), 0, INT32_MAX},
    {"serviceType", FPD_SCHEMA_STRING, RS(service_type)},
    {"enableIngress", FPD_SCHEMA_BOOL, RS(enable_ingress)},
    {"includeDashboard", FPD_SCHEMA_BOOL, RS(include_dashboard)},
    {"dashboardHost", FPD_SCHEMA_STRING, RS(dashboard_host)},
    {"enableUsageStats", FPD_SCHEMA_BOOL, RS(enable_usage_stats)},
    {"serviceAccount", FPD_SCHEMA_STRING, RS(service_account)},
    /* propeller's ray LogConfig defaults to the zero one: a `logs` section starts empty. */
    {"logs", FPD_SCHEMA_OPTIONAL_SECTION, RS(logs), .fields = fpd_log_settings_fields,
     .elem_size = sizeof(struct fpd_log_settings)},
    {"logsSidecar", FPD_SCHEMA_JSON, RS(logs_sidecar)},
    {"defaults", FPD_SCHEMA_SECTION, RS(head), .fields = defaults_fields},
    {"dashboardURLTemplate", FPD_SCHEMA_SECTION, RS(dashboard_url_template),
     .fields = fpd_log_template_fields},
    {"dashboardLink", FPD_SCHEMA_BOOL, RS(dashboard_link)},
    {"backoffLimit", FPD_SCHEMA_INT, RS(backoff_limit), 0, INT32_MAX},
    {"activeDeadlineSeconds", FPD_SCHEMA_INT, RS(active_deadline_seconds), 0, INT32_MAX},
    {"deletionRules", FPD_SCHEMA_JSON, RS(deletion_rules)},
    {"clusterSelector", FPD_SCHEMA_JSON, RS(cluster_selector)},
    {"kueueQueues", FPD_SCHEMA_JSON, RS(kueue_queues)},
    {0},
};

static void ray_defaults(void *p)
{
	struct fpd_ray_settings *s = p;
	memset(s, 0, sizeof(*s));
	s->shutdown_after_job_finishes = true;
	s->ttl_seconds_after_finished = 3600;
	s->service_type = fpd_strdup("NodePort");
	s->include_dashboard = true;
	s->dashboard_host = fpd_strdup("0.0.0.0");
	s->service_account = fpd_strdup("");
	s->head.ip_address = fpd_strdup("$MY_POD_IP");
	s->worker.ip_address = fpd_strdup("$MY_POD_IP");
}

/* The same defaults for a task that carries no settings (strings are never written). */
static const struct fpd_ray_settings builtin = {
    .shutdown_after_job_finishes = true,
    .ttl_seconds_after_finished = 3600,
    .service_type = (char *)"NodePort",
    .include_dashboard = true,
    .dashboard_host = (char *)"0.0.0.0",
    .service_account = (char *)"",
    .head = {.ip_address = (char *)"$MY_POD_IP"},
    .worker = {.ip_address = (char *)"$MY_POD_IP"},
};

const struct fpd_ray_settings *fpd_ray_settings_of(const void *plugin_settings)
{
	return plugin_settings ? plugin_settings : &builtin;
}

/* --- build --- */

static const char *str_or(const char *s, const char *def)
{
	return s && *s ? s : def;
}

/* custom[a] or custom[b] (jsonpb takes both spellings; the JSON name wins). */
static const json_t *either(const json_t *o, const char *json_name, const char *proto_name)
{
	const json_t *v = json_object_get(o, json_name);
	return v ? v : json_object_get(o, proto_name);
}

/* Start parameters: the group's own when its custom has the map (even empty), else the
 * configured defaults; then Flyte's additions when absent. */
static json_t *start_params(const json_t *group_json, size_t n, void *const *entries,
                            const struct fpd_ray_node_settings *node)
{
	json_t *p = json_object();
	if (either(group_json, "rayStartParams", "ray_start_params")) {
		for (size_t i = 0; i < n; i++) {
			const Flyteidl__Plugins__HeadGroupSpec__RayStartParamsEntry *e = entries[i];
			json_object_set_new(p, e->key, json_string(e->value));
		}
	} else if (!node->start_parameters) {
		json_object_set_new(p, "disable-usage-stats", json_string("true"));
	} else {
		json_object_update(p, node->start_parameters);
	}
	return p;
}

static void set_default(json_t *o, const char *k, const char *v)
{
	if (!json_object_get(o, k))
		json_object_set_new(o, k, json_string(v));
}

static json_t *env_value(const char *name, const char *value)
{
	return json_pack("{s:s,s:s}", "name", name, "value", value);
}

static json_t *env_field(const char *name, const char *path)
{
	return json_pack("{s:s,s:{s:{s:s}}}", "name", name, "valueFrom", "fieldRef", "fieldPath",
	                 path);
}

/* Go writes the selector's zero Quantity divisor as "0" (a struct, so omitempty keeps it). */
static json_t *env_resource(const char *name, const char *resource)
{
	return json_pack("{s:s,s:{s:{s:s,s:s,s:s}}}", "name", name, "valueFrom", "resourceFieldRef",
	                 "containerName", "ray-worker", "resource", resource, "divisor", "0");
}

static void append_all(json_t *c, const char *key, json_t *items)
{
	json_t *a = json_object_get(c, key);
	if (!json_is_array(a)) {
		a = json_array();
		json_object_set_new(c, key, a);
	}
	json_array_extend(a, items);
	json_decref(items);
}

static json_t *ray_ports(void)
{
	return json_pack("[{s:s,s:i},{s:s,s:i},{s:s,s:i}]", "name", "redis", "containerPort", 6379,
	                 "name", "head", "containerPort", 10001, "name", "dashboard",
	                 "containerPort", 8265);
}

/* Flyte's injectLogsSidecar: the sidecar reads the head's /tmp/ray read-only. */
static void logs_sidecar(json_t *spec, json_t *primary, const json_t *sidecar_cfg)
{
	if (!json_is_object(sidecar_cfg))
		return;
	json_t *sidecar = json_deep_copy(sidecar_cfg);
	json_t *mount = NULL;
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(primary, "volumeMounts"), i, m)
	{
		if (!strcmp(fpd_json_str_or(m, "mountPath", ""), "/tmp/ray")) {
			mount = json_deep_copy(m);
			break;
		}
	}
	if (!mount) {
		append_all(spec, "volumes",
		           json_pack("[{s:s,s:{}}]", "name", "system-ray-state", "emptyDir"));
		mount = json_pack("{s:s,s:s}", "name", "system-ray-state", "mountPath", "/tmp/ray");
		/* The primary keeps its own, writable mount; only the sidecar's is read-only. */
		append_all(primary, "volumeMounts", json_pack("[o]", json_deep_copy(mount)));
	}
	json_object_set_new(mount, "readOnly", json_true());
	bool replaced = false;
	json_array_foreach(json_object_get(sidecar, "volumeMounts"), i, m)
	{
		if (!strcmp(fpd_json_str_or(m, "mountPath", ""), "/tmp/ray")) {
			json_array_set(json_object_get(sidecar, "volumeMounts"), i, mount);
			replaced = true;
		}
	}
	if (!replaced)
		append_all(sidecar, "volumeMounts", json_pack("[O]", mount));
	json_decref(mount);
	append_all(spec, "containers", json_pack("[o]", sidecar));
}

/* The labels or annotations of a role's template: UnionMaps(defaults, the pod's, the
 * execution's, the group's K8sPod metadata). */
static json_t *union_maps(const json_t *defaults, const json_t *pod, const json_t *exec, size_t n,
                          void *const *kv)
{
	json_t *m = json_object();
	json_object_update(m, (json_t *)defaults);
	json_object_update(m, (json_t *)pod);
	json_object_update(m, (json_t *)exec);
	for (size_t i = 0; i < n; i++) {
		const Flyteidl__Core__K8sObjectMetadata__LabelsEntry *e = kv[i];
		json_object_set_new(m, e->key, json_string(e->value));
	}
	return m;
}

/* The JSON types a Go PodSpec decode would refuse on its most used fields (Flyte fails the
 * build when the overlay does not unmarshal into a PodSpec). */
static bool pod_spec_shaped(const json_t *spec)
{
	static const char *const lists[] = {"containers",  "initContainers",   "volumes",
	                                    "tolerations", "imagePullSecrets", NULL};
	static const char *const maps[] = {"nodeSelector", "affinity", "securityContext", NULL};
	if (!json_is_object(spec))
		return false;
	for (size_t i = 0; lists[i]; i++) {
		const json_t *v = json_object_get(spec, lists[i]);
		size_t j;
		const json_t *e;
		if (v && !json_is_array(v) && !json_is_null(v))
			return false;
		json_array_foreach(v, j, e) if (!json_is_object(e)) return false;
	}
	for (size_t i = 0; maps[i]; i++) {
		const json_t *v = json_object_get(spec, maps[i]);
		if (v && !json_is_object(v) && !json_is_null(v))
			return false;
	}
	return true;
}

struct role {
	const struct fpd_task *task;
	const struct fpd_pod *pod;
	size_t primary_idx;
};

/* A pod template for one role from a copy of the task's spec. */
static int role_template(const struct role *r, json_t *spec, const Flyteidl__Core__K8sPod *k8s,
                         json_t **out, struct fpd_error *err)
{
	const struct fpd_k8s_settings *k8s_cfg = &r->task->settings->k8s;
	if (k8s && k8s->pod_spec) {
		json_t *overlay = NULL;
		struct fpd_error why;
		int rc = fpd_struct_to_json(k8s->pod_spec, &overlay, &why);
		if (rc == FPD_OK && !pod_spec_shaped(overlay))
			rc = fpd_error_set(&why, FPD_EINVAL, "not a valid PodSpec");
		if (rc) {
			json_decref(overlay);
			json_decref(spec);
			return fpd_error_set(err, rc,
			                     "Unable to unmarshal pod spec [%s], Err: [%s]",
			                     "pod_spec", why.text);
		}
		fpd_ray_merge_overlay(spec, overlay);
		json_decref(overlay);
	}
	fpd_pod_add_extended_resource_tolerations(spec, k8s_cfg);
	fpd_pod_omit_empty(spec);
	fpd_pod_canonical_quantities(spec);
	const Flyteidl__Core__K8sObjectMetadata *md = k8s ? k8s->metadata : NULL;
	json_t *labels = union_maps(k8s_cfg->default_labels, r->pod->labels, r->task->labels,
	                            md ? md->n_labels : 0, md ? (void *const *)md->labels : NULL);
	json_t *ann =
	    union_maps(k8s_cfg->default_annotations, r->pod->annotations, r->task->annotations,
	               md ? md->n_annotations : 0, md ? (void *const *)md->annotations : NULL);
	*out = json_pack("{s:{s:o,s:o},s:o}", "metadata", "labels", labels, "annotations", ann,
	                 "spec", spec);
	fpd_pod_omit_empty(*out);
	return FPD_OK;
}

static int head_template(const struct role *r, const struct fpd_ray_settings *s,
                         const Flyteidl__Plugins__HeadGroupSpec *head, json_t **out,
                         struct fpd_error *err)
{
	json_t *spec = json_deep_copy(r->pod->spec);
	json_t *c = json_array_get(json_object_get(spec, "containers"), r->primary_idx);
	json_object_set_new(c, "name", json_string("ray-head"));
	json_object_set_new(c, "args", json_array());
	append_all(c, "env",
	           json_pack("[o,o,o]", env_field("MY_POD_IP", "status.podIP"),
	                     env_value("RAY_COLOR_PREFIX", "0"),
	                     env_value("RAY_DATA_DISABLE_PROGRESS_BARS", "1")));
	append_all(c, "ports", ray_ports());
	logs_sidecar(spec, c, s->logs_sidecar);
	return role_template(r, spec, head ? head->k8s_pod : NULL, out, err);
}

static int worker_template(const struct role *r, const Flyteidl__Plugins__WorkerGroupSpec *w,
                           json_t **out, struct fpd_error *err)
{
	json_t *spec = json_deep_copy(r->pod->spec);
	json_t *c = json_array_get(json_object_get(spec, "containers"), r->primary_idx);
	json_object_set_new(c, "name", json_string("ray-worker"));
	json_object_set_new(c, "args", json_array());
	/* MEMORY_* refer to cpu, as Flyte writes them. */
	append_all(
	    c, "env",
	    json_pack("[o,o,o,o,o,o,o,o,o,o]", env_value("RAY_DISABLE_DOCKER_CPU_WARNING", "1"),
	              env_value("TYPE", "worker"), env_resource("CPU_REQUEST", "requests.cpu"),
	              env_resource("CPU_LIMITS", "limits.cpu"),
	              env_resource("MEMORY_REQUESTS", "requests.cpu"),
	              env_resource("MEMORY_LIMITS", "limits.cpu"),
	              env_field("MY_POD_NAME", "metadata.name"),
	              env_field("MY_POD_IP", "status.podIP"), env_value("RAY_COLOR_PREFIX", "0"),
	              env_value("RAY_DATA_DISABLE_PROGRESS_BARS", "1")));
	json_object_set_new(c, "lifecycle",
	                    json_pack("{s:{s:{s:[sss]}}}", "preStop", "exec", "command", "/bin/sh",
	                              "-c", "ray stop"));
	append_all(c, "ports", ray_ports());
	return role_template(r, spec, w->k8s_pod, out, err);
}

static const char *const upscaling_modes[] = {NULL, "Default", "Aggressive", "Conservative"};

static const char *upscaling_mode(const json_t *v)
{
	static const char *const names[] = {"UPSCALING_MODE_UNSPECIFIED", "UPSCALING_MODE_DEFAULT",
	                                    "UPSCALING_MODE_AGGRESSIVE",
	                                    "UPSCALING_MODE_CONSERVATIVE"};
	int64_t n = json_is_integer(v) ? json_integer_value(v) : -1;
	for (int i = 0; json_is_string(v) && i < 4; i++)
		if (!strcmp(json_string_value(v), names[i]))
			n = i;
	return n >= 1 && n <= 3 ? upscaling_modes[n] : NULL;
}

/* Flyte's buildAutoscalerOptions, from custom JSON (absent from the compiled IDL). */
static int autoscaler_options(const json_t *cluster, json_t **out)
{
	const json_t *o = either(cluster, "autoscalerOptions", "autoscaler_options");
	*out = NULL;
	if (!json_is_object(o))
		return FPD_OK;
	json_t *a = json_object();
	const json_t *idle = either(o, "idleTimeoutSeconds", "idle_timeout_seconds");
	json_int_t secs = json_is_integer(idle)  ? json_integer_value(idle)
	                  : json_is_string(idle) ? strtoll(json_string_value(idle), NULL, 10)
	                                         : 0;
	if (secs > 0)
		json_object_set_new(a, "idleTimeoutSeconds", json_integer(secs));
	const char *mode = upscaling_mode(either(o, "upscalingMode", "upscaling_mode"));
	if (mode)
		json_object_set_new(a, "upscalingMode", json_string(mode));
	const char *image = json_string_value(json_object_get(o, "image"));
	if (image && *image)
		json_object_set_new(a, "image", json_string(image));
	/* ToK8sResourceRequirements: no resources give empty requirements (kept: a pointer); a
	 * conversion error leaves them out. */
	json_t *res = NULL;
	const json_t *rj = json_object_get(o, "resources");
	if (!rj) {
		res = json_object();
	} else {
		ProtobufCMessage *m = NULL;
		struct fpd_error ignored = {0};
		if (fpd_json_to_message(rj, &flyteidl__core__resources__descriptor, &m, &ignored) ==
		    0) {
			if (fpd_pod_resources_from_proto((void *)m, "nvidia.com/gpu", &res,
			                                 &ignored))
				res = NULL;
			protobuf_c_message_free_unpacked(m, NULL);
		}
	}
	if (res)
		json_object_set_new(a, "resources", res);
	json_t *env = json_array();
	size_t i;
	json_t *kv;
	json_array_foreach(json_object_get(o, "env"), i, kv)
	{
		json_array_append_new(env,
		                      json_pack("{s:s,s:s}", "name", fpd_json_str_or(kv, "key", ""),
		                                "value", fpd_json_str_or(kv, "value", "")));
	}
	json_object_set_new(a, "env", env);
	fpd_pod_omit_empty(a);
	*out = a;
	return FPD_OK;
}

static char *entrypoint(const json_t *primary)
{
	const json_t *args = json_object_get(primary, "args");
	size_t len = 1, i;
	json_t *a;
	json_array_foreach(args, i, a) len += json_string_length(a) + 3;
	char *s = fpd_calloc(len, 1);
	json_array_foreach(args, i, a)
	{
		if (i)
			strcat(s, " ");
		strcat(s, json_string_length(a) ? json_string_value(a) : "''");
	}
	return s;
}

static int cluster_spec(const struct role *r, const struct fpd_ray_settings *s,
                        const Flyteidl__Plugins__RayCluster *rc, const json_t *cluster_json,
                        json_t **out, struct fpd_error *err)
{
	const Flyteidl__Plugins__HeadGroupSpec *head = rc->head_group_spec;
	json_t *hp = start_params(either(cluster_json, "headGroupSpec", "head_group_spec"),
	                          head ? head->n_ray_start_params : 0,
	                          head ? (void *const *)head->ray_start_params : NULL, &s->head);
	set_default(hp, "include-dashboard", s->include_dashboard ? "true" : "false");
	set_default(hp, "node-ip-address", str_or(s->head.ip_address, ""));
	set_default(hp, "dashboard-host", str_or(s->dashboard_host, ""));
	if (!s->enable_usage_stats)
		set_default(hp, "disable-usage-stats", "true");
	json_t *tmpl;
	int rc_ = head_template(r, s, head, &tmpl, err);
	if (rc_) {
		json_decref(hp);
		return rc_;
	}
	json_t *hg = json_pack("{s:o,s:b,s:o}", "template", tmpl, "enableIngress",
	                       s->enable_ingress, "rayStartParams", hp);
	if (s->service_type && *s->service_type)
		json_object_set_new(hg, "serviceType", json_string(s->service_type));
	json_t *workers = json_array();
	const json_t *wj = either(cluster_json, "workerGroupSpec", "worker_group_spec");
	for (size_t i = 0; i < rc->n_worker_group_spec; i++) {
		const Flyteidl__Plugins__WorkerGroupSpec *w = rc->worker_group_spec[i];
		if ((rc_ = worker_template(r, w, &tmpl, err)) != 0) {
			json_decref(workers);
			json_decref(hg);
			return rc_;
		}
		json_t *wp = start_params(json_array_get(wj, i), w->n_ray_start_params,
		                          (void *const *)w->ray_start_params, &s->worker);
		set_default(wp, "node-ip-address", str_or(s->worker.ip_address, ""));
		if (!s->enable_usage_stats)
			set_default(wp, "disable-usage-stats", "true");
		int32_t min = w->min_replicas < w->replicas ? w->min_replicas : w->replicas;
		int32_t max = w->max_replicas > w->replicas ? w->max_replicas : w->replicas;
		json_array_append_new(workers,
		                      json_pack("{s:s,s:i,s:i,s:i,s:o,s:o}", "groupName",
		                                w->group_name ? w->group_name : "", "minReplicas",
		                                min, "maxReplicas", max, "replicas", w->replicas,
		                                "rayStartParams", wp, "template", tmpl));
	}
	json_t *opts;
	autoscaler_options(cluster_json, &opts);
	*out = json_pack("{s:o,s:o,s:b}", "headGroupSpec", hg, "workerGroupSpecs", workers,
	                 "enableInTreeAutoscaling", rc->enable_autoscaling);
	if (opts)
		json_object_set_new(*out, "autoscalerOptions", opts);
	fpd_pod_omit_empty(*out);
	/* KubeRay's ScaleStrategy is a struct field: Go writes the zero one as {}. */
	for (size_t i = 0; i < json_array_size(workers); i++)
		json_object_set_new(json_array_get(workers, i), "scaleStrategy", json_object());
	return FPD_OK;
}

static int job_spec(const struct role *r, const struct fpd_ray_settings *s,
                    const Flyteidl__Plugins__RayJob *job, json_t **out, struct fpd_error *err)
{
	const json_t *cj = either(r->task->custom_json, "rayCluster", "ray_cluster");
	json_t *cluster;
	int rc = cluster_spec(r, s, job->ray_cluster, cj, &cluster, err);
	if (rc)
		return rc;
	char *yaml = NULL;
	/* The deprecated base64 form, converted when it is the only one (Flyte does the same). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	const char *b64 = job->runtime_env;
#pragma GCC diagnostic pop
	if (b64 && *b64 && !(job->runtime_env_yaml && *job->runtime_env_yaml)) {
		yaml = fpd_ray_runtime_env_yaml(b64);
		if (!yaml) {
			json_decref(cluster);
			return fpd_error_set(err, FPD_EINVAL,
			                     "runtime_env is not base64 of a JSON object");
		}
	}
	bool shutdown = s->shutdown_after_job_finishes;
	int64_t ttl = s->ttl_seconds_after_finished;
	if (job->shutdown_after_job_finishes) {
		shutdown = true;
		ttl = job->ttl_seconds_after_finished;
	}
	json_t *submitter = json_deep_copy(r->pod->spec);
	fpd_pod_canonical_quantities(submitter);
	const struct fpd_k8s_settings *k = &r->task->settings->k8s;
	json_t *sub = json_pack(
	    "{s:{s:o,s:o},s:o}", "metadata", "labels",
	    union_maps(k->default_labels, r->pod->labels, r->task->labels, 0, NULL), "annotations",
	    union_maps(k->default_annotations, r->pod->annotations, r->task->annotations, 0, NULL),
	    "spec", submitter);
	fpd_pod_omit_empty(sub);
	char *ep =
	    entrypoint(json_array_get(json_object_get(r->pod->spec, "containers"), r->primary_idx));
	*out =
	    json_pack("{s:o,s:s,s:b,s:I,s:s,s:o}", "rayClusterSpec", cluster, "entrypoint", ep,
	              "shutdownAfterJobFinishes", shutdown, "ttlSecondsAfterFinished",
	              (json_int_t)ttl, "runtimeEnvYAML",
	              yaml ? yaml : str_or(job->runtime_env_yaml, ""), "submitterPodTemplate", sub);
	free(ep);
	free(yaml);
	/* Go's omitempty on entrypoint, shutdownAfterJobFinishes, ttl and runtimeEnvYAML. */
	static const char *const omit[] = {"entrypoint", "runtimeEnvYAML"};
	for (size_t i = 0; i < 2; i++)
		if (!json_string_length(json_object_get(*out, omit[i])))
			json_object_del(*out, omit[i]);
	if (!shutdown)
		json_object_del(*out, "shutdownAfterJobFinishes");
	if (!ttl)
		json_object_del(*out, "ttlSecondsAfterFinished");
	return FPD_OK;
}

#define CLUSTER_SELECTOR_KEY "flyteplugd.ray/cluster-selector"

/* "k=v[,k=v...]" as an object of strings, or NULL when malformed. */
static json_t *parse_selector(const char *text)
{
	json_t *sel = json_object();
	char *copy = fpd_strdup(text), *save = NULL;
	for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		kv += strspn(kv, " ");
		char *eq = strchr(kv, '=');
		if (!eq || eq == kv || !eq[1]) {
			json_decref(sel);
			sel = NULL;
			break;
		}
		*eq = 0;
		json_object_set_new(sel, kv, json_string(eq + 1));
	}
	free(copy);
	if (sel && !json_object_size(sel)) {
		json_decref(sel);
		sel = NULL;
	}
	return sel;
}

static bool all_strings(const json_t *o)
{
	const char *k;
	const json_t *v;
	if (!json_is_object(o) || !json_object_size(o))
		return false;
	json_object_foreach((json_t *)o, k, v) if (!json_is_string(v)) return false;
	return true;
}

/* The KubeRay 1.5+ fields from the settings and the task's config: backoffLimit,
 * activeDeadlineSeconds, deletionStrategy.deletionRules and clusterSelector. KubeRay refuses
 * shutdownAfterJobFinishes together with deletionRules or a cluster selector, and ignores
 * rayClusterSpec when a selector picks an existing cluster. */
static int kuberay_fields(const struct fpd_task *task, const struct fpd_ray_settings *s,
                          json_t *spec, struct fpd_error *err)
{
	const json_t *rules = s->deletion_rules;
	if (rules && !json_is_null(rules)) {
		size_t i;
		const json_t *r;
		if (!json_is_array(rules) || !json_array_size(rules))
			return fpd_error_set(err, FPD_EINVAL,
			                     "plugins.settings.ray.deletionRules must be a "
			                     "non-empty list of rules");
		json_array_foreach(rules, i, r) if (!json_is_object(r)) return fpd_error_set(
		    err, FPD_EINVAL, "plugins.settings.ray.deletionRules[%zu] is not a rule", i);
	} else {
		rules = NULL;
	}
	json_t *sel = NULL;
	const char *text = task->tmpl ? fpd_pod_config_get(task->tmpl, CLUSTER_SELECTOR_KEY) : NULL;
	if (text) {
		if (!(sel = parse_selector(text)))
			return fpd_error_set(err, FPD_EINVAL,
			                     "task config %s: want key=value[,key=value], got [%s]",
			                     CLUSTER_SELECTOR_KEY, text);
	} else if (s->cluster_selector && !json_is_null(s->cluster_selector)) {
		if (!all_strings(s->cluster_selector))
			return fpd_error_set(err, FPD_EINVAL,
			                     "plugins.settings.ray.clusterSelector must map "
			                     "labels to strings");
		sel = json_deep_copy(s->cluster_selector);
	}
	if (s->backoff_limit)
		json_object_set_new(spec, "backoffLimit", json_integer(s->backoff_limit));
	if (s->active_deadline_seconds)
		json_object_set_new(spec, "activeDeadlineSeconds",
		                    json_integer(s->active_deadline_seconds));
	if (rules || sel) {
		json_object_del(spec, "shutdownAfterJobFinishes");
		json_object_del(spec, "ttlSecondsAfterFinished");
	}
	if (rules && !sel)
		json_object_set_new(spec, "deletionStrategy",
		                    json_pack("{s:O}", "deletionRules", rules));
	if (sel) {
		json_object_del(spec, "rayClusterSpec");
		json_object_set_new(spec, "clusterSelector", sel);
	}
	return FPD_OK;
}

static int ray_build(const struct fpd_task *task, json_t **out, struct fpd_error *err)
{
	const Flyteidl__Plugins__RayJob *job = (const void *)task->custom;
	*out = NULL;
	if (!job || !job->ray_cluster)
		return fpd_error_set(err, FPD_EINVAL, "invalid TaskSpecification [%s], Err: [%s]",
		                     "custom", "rayCluster is required");
	const struct fpd_ray_settings *s = fpd_ray_settings_of(task->plugin_settings);
	struct fpd_pod pod = {0};
	int rc = fpd_pod_build_spec(task, NULL, &pod, err);
	if (rc) {
		fpd_error_wrap(err, FPD_EINVAL, "Unable to create pod spec");
		return FPD_EINVAL;
	}
	struct role r = {.task = task, .pod = &pod};
	json_t *containers = json_object_get(pod.spec, "containers");
	bool found = false;
	for (size_t i = 0; i < json_array_size(containers) && !found; i++)
		if (!strcmp(fpd_json_str_or(json_array_get(containers, i), "name", ""),
		            pod.primary)) {
			r.primary_idx = i;
			found = true;
		}
	if (!found) {
		rc = fpd_error_set(err, FPD_EINVAL,
		                   "Unable to get primary container %s from the pod spec",
		                   pod.primary);
		fpd_pod_clear(&pod);
		return rc;
	}
	/* The configured account wins; otherwise the task's (Flyte sets it even when empty). */
	const char *sa =
	    s->service_account && *s->service_account ? s->service_account : task->service_account;
	if (sa && *sa)
		json_object_set_new(pod.spec, "serviceAccountName", json_string(sa));
	else
		json_object_del(pod.spec, "serviceAccountName");
	json_t *spec = NULL;
	rc = job_spec(&r, s, job, &spec, err);
	if (!rc && (rc = kuberay_fields(task, s, spec, err)) != 0) {
		json_decref(spec);
		fpd_pod_clear(&pod);
		return rc;
	}
	/* Flyte sets the RayJob's ObjectMeta to the pod's (the pod template's labels and
	 * annotations); the engine adds its own and the execution's over them. */
	if (!rc) {
		*out = json_pack("{s:s,s:s,s:o}", "apiVersion", "ray.io/v1", "kind", "RayJob",
		                 "spec", spec);
		json_t *meta = json_object();
		if (json_object_size(pod.labels))
			json_object_set(meta, "labels", pod.labels);
		if (json_object_size(pod.annotations))
			json_object_set(meta, "annotations", pod.annotations);
		if (json_object_size(meta))
			json_object_set(*out, "metadata", meta);
		json_decref(meta);
		/* Kueue admits a suspended RayJob by resuming it. */
		fpd_kueue_apply(task, *out, "spec.suspend", s->kueue_queues);
	}
	fpd_pod_clear(&pod);
	return rc ? FPD_EINVAL : FPD_OK;
}

/* --- status --- */

/* The head pod of the RayJob's cluster among the delivered pods, or NULL. */
static const json_t *head_pod(const struct fpd_status_ctx *ctx, const char *cluster)
{
	for (size_t i = 0; i < ctx->pod_count; i++) {
		const json_t *labels = fpd_json_get(ctx->pods[i], "metadata.labels");
		const char *type = json_string_value(json_object_get(labels, "ray.io/node-type"));
		const char *owner = json_string_value(json_object_get(labels, "ray.io/cluster"));
		if (type && !strcmp(type, "head") &&
		    (!*cluster || (owner && !strcmp(owner, cluster))))
			return ctx->pods[i];
	}
	return NULL;
}

static void ray_logs(const struct fpd_status_ctx *ctx, const struct fpd_ray_settings *s,
                     const json_t *head, struct fpd_phase_info *out)
{
	const json_t *obj = ctx->object;
	const char *job_id = fpd_json_str_or(obj, "status.jobId", "");
	const char *cluster = fpd_json_str_or(obj, "status.rayClusterName", "");
	struct fpd_log_var vars[2];
	size_t n = 0;
	if (*job_id)
		vars[n++] = (struct fpd_log_var){"rayJobID", job_id};
	if (*cluster)
		vars[n++] = (struct fpd_log_var){"rayClusterName", cluster};
	/* Flyte's input has no pod: the namespace and the RayJob's creation time only. */
	json_t *pseudo =
	    json_pack("{s:{s:s,s:s},s:{s:[{}]}}", "metadata", "namespace",
	              fpd_json_str_or(obj, "metadata.namespace", ""), "creationTimestamp",
	              fpd_json_str_or(obj, "metadata.creationTimestamp", ""), "spec", "containers");
	/* `logs` configured: exactly Flyte's links. Otherwise the daemon's `logs:`, and
	 * flyteplugd's addition: the head pod's links once it is seen. */
	bool use_head = head && !s->logs;
	struct fpd_log_input in = {.ref = ctx->ref,
	                           .pod = use_head ? head : pseudo,
	                           .log_name = use_head ? " (Ray Head)" : "",
	                           .task_config = ctx->task_config,
	                           .extra_vars = vars,
	                           .extra_var_count = n,
	                           .now_ms = ctx->now_ms};
	fpd_logs_for_pod(s->logs ? s->logs : &ctx->settings->logs, &in, out);
	const struct fpd_log_template *dash = &s->dashboard_url_template;
	if (dash->template_uris.count && *fpd_json_str_or(obj, "status.dashboardURL", "") &&
	    !strcmp(fpd_json_str_or(obj, "status.jobStatus", ""), "RUNNING")) {
		struct fpd_log_settings only = {0};
		only.templates.items = (void *)dash;
		only.templates.count = 1;
		in.pod = pseudo;
		in.log_name = "";
		fpd_logs_for_pod(&only, &in, out);
	} else if (s->dashboard_link && *fpd_json_str_or(obj, "status.dashboardURL", "") &&
	           !strcmp(fpd_json_str_or(obj, "status.jobStatus", ""), "RUNNING")) {
		/* KubeRay writes host:port of the head service's dashboard. */
		const char *url = fpd_json_str_or(obj, "status.dashboardURL", "");
		char *uri = strstr(url, "://") ? fpd_strdup(url) : fpd_asprintf("http://%s", url);
		fpd_phase_add_log(out, "Ray Dashboard", uri, FPD_LOG_FORMAT_UNKNOWN, false, false);
		free(uri);
	}
	json_decref(pseudo);
}

/* "; head pod x: <why>" when the head pod explains a wait. */
static void diagnose_head(const struct fpd_status_ctx *ctx, const json_t *head,
                          struct fpd_phase_info *out)
{
	if (!head)
		return;
	struct fpd_phase_info p = {0};
	fpd_pod_status(head, &ctx->settings->k8s, ctx->now_ms, &p);
	if (p.message && *p.message && p.phase != FPD_PHASE_RUNNING &&
	    p.phase != FPD_PHASE_SUCCEEDED) {
		char *m = fpd_asprintf("%s; head pod %s: %s", out->message ? out->message : "",
		                       fpd_json_str_or(head, "metadata.name", ""), p.message);
		free(out->message);
		out->message = m;
		out->recheck_at_ms = p.recheck_at_ms;
	}
	fpd_phase_info_clear(&p);
}

/* KubeRay's retry counters against spec.backoffLimit, when it reports them. */
static void retries(const json_t *obj, struct fpd_phase_info *out)
{
	int64_t failed = fpd_json_int_or(obj, "status.failed", 0);
	const json_t *limit = fpd_json_get(obj, "spec.backoffLimit");
	if (!failed || !json_is_integer(limit))
		return;
	char *m =
	    fpd_asprintf("%s%s(KubeRay: %lld failed attempts, %lld succeeded, backoffLimit "
	                 "%lld)",
	                 out->message ? out->message : "", out->message ? " " : "",
	                 (long long)failed, (long long)fpd_json_int_or(obj, "status.succeeded", 0),
	                 (long long)json_integer_value(limit));
	free(out->message);
	out->message = m;
}

static void ray_status(const struct fpd_status_ctx *ctx, struct fpd_phase_info *out)
{
	const json_t *obj = ctx->object;
	const struct fpd_ray_settings *s = fpd_ray_settings_of(ctx->plugin_settings);
	const char *st = fpd_json_str_or(obj, "status.jobDeploymentStatus", "");
	const json_t *head = head_pod(ctx, fpd_json_str_or(obj, "status.rayClusterName", ""));
	ray_logs(ctx, s, head, out);
	const char *queue = json_string_value(
	    json_object_get(fpd_json_get(obj, "metadata.labels"), FPD_KUEUE_QUEUE_LABEL));
	if (queue && !strcmp(st, "Suspending")) {
		/* Only a RayJob that was admitted is suspended again: Kueue evicted or preempted
		 * it, and KubeRay is deleting its cluster. */
		fpd_phase_setf(
		    out, FPD_PHASE_RETRYABLE_FAILED, "Evicted",
		    "evicted by Kueue from queue %s: the RayJob was suspended while it ran", queue);
		out->kind = FPD_KIND_SYSTEM;
		out->cleanup = true;
	} else if (fpd_kueue_status(obj, "spec.suspend", out)) {
		/* Kueue's admission state: waiting, or suspended again after admission. */
	} else if (!*st) {
		fpd_phase_set(out, FPD_PHASE_QUEUED, NULL, "Scheduling");
		diagnose_head(ctx, head, out);
	} else if (!strcmp(st, "Initializing")) {
		fpd_phase_set(out, FPD_PHASE_INITIALIZING, NULL, "cluster is creating");
		diagnose_head(ctx, head, out);
	} else if (!strcmp(st, "Running")) {
		fpd_phase_set(out, FPD_PHASE_RUNNING, NULL, NULL);
	} else if (!strcmp(st, "Complete")) {
		fpd_phase_set(out, FPD_PHASE_SUCCEEDED, NULL, NULL);
	} else if (!strcmp(st, "Suspended") || !strcmp(st, "Suspending")) {
		fpd_phase_set(out, FPD_PHASE_QUEUED, NULL, st);
	} else if (!strcmp(st, "Failed")) {
		fpd_phase_setf(out, FPD_PHASE_RETRYABLE_FAILED, "TaskFailedWithError",
		               "Failed to run Ray job %s with error: [%s] %s",
		               fpd_json_str_or(obj, "metadata.name", ""),
		               fpd_json_str_or(obj, "status.reason", ""),
		               fpd_json_str_or(obj, "status.message", ""));
		out->kind = FPD_KIND_SYSTEM;
		out->cleanup = true;
	} else {
		/* Retrying, ValidationFailed, Waiting and anything newer: Flyte has no case and
		 * returns an error, so the last phase stays. */
		const char *msg = fpd_json_str_or(obj, "status.message", "");
		fpd_phase_setf(out, FPD_PHASE_UNDEFINED, NULL,
		               "unknown job deployment status: %s%s%s", st, *msg ? ": " : "", msg);
	}
	retries(obj, out);
	/* The head's or any worker's pod that cannot run fails the job now. */
	if (!fpd_phase_is_terminal(out->phase))
		fpd_children_fail_fast(
		    ctx->pods, ctx->pod_count,
		    (struct fpd_children_filter){"ray.io/cluster",
		                                 fpd_json_str_or(obj, "status.rayClusterName", "")},
		    &ctx->settings->k8s, ctx->now_ms, out);
}

static const struct fpd_task_type ray_task_types[] = {
    {"ray", 0, &flyteidl__plugins__ray_job__descriptor},
    {"ray", 1, &flyteidl__plugins__ray_job__descriptor},
};

static const struct fpd_kind ray_kind = {"ray.io/v1", "RayJob", "rayjobs"};

static const char *const ray_keep[] = {"spec.backoffLimit", "spec.suspend", "metadata.generation",
                                       NULL};

const struct fpd_plugin fpd_plugin_ray = {
    .abi = FPD_PLUGIN_ABI,
    .name = "ray",
    .task_types = ray_task_types,
    .task_type_count = sizeof(ray_task_types) / sizeof(ray_task_types[0]),
    .kind = &ray_kind,
    .pod_owner_label = "ray.io/cluster",
    .keep = ray_keep,
    .settings_schema = ray_fields,
    .settings_size = sizeof(struct fpd_ray_settings),
    .settings_defaults = ray_defaults,
    .build = ray_build,
    .status = ray_status,
    /* Flyte's GeneratedNameMaxLength for RayJobs: KubeRay names the RayCluster and its pods
     * after the RayJob with suffixes of its own. */
    .name_max_len = 47,
    .pod_specs = (const char *const[]){"spec.rayClusterSpec.headGroupSpec.template.spec",
                                       "spec.rayClusterSpec.workerGroupSpecs.*.template.spec",
                                       "spec.submitterPodTemplate.spec", NULL},
};
