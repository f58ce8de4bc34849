/*
 * Flyte's UpdatePod over a JSON pod spec. Go leaves empty strings, maps and lists out of the
 * JSON it sends (omitempty) but always writes a non-nil pointer, so `affinity: {}` appears on
 * every pod Flyte builds; both are reproduced.
 */
#include "internal.h"

#include <flyteplugd/object.h>

#include <string.h>

void fpd_pod_extend_copy(json_t *dst, const json_t *src)
{
	size_t i;
	json_t *v;
	json_array_foreach(src, i, v)
	{
		json_array_append_new(dst, json_deep_copy(v));
	}
}

static bool empty_string(const json_t *spec, const char *key)
{
	const char *s = fpd_json_str(spec, key);
	return !s || !*s;
}

static void set_if_empty(json_t *spec, const char *key, const char *value)
{
	if (empty_string(spec, key) && value && *value)
		json_object_set_new(spec, key, json_string(value));
}

static void copy_if_unset(json_t *spec, const char *key, const json_t *def)
{
	if (fpd_pod_unset(json_object_get(spec, key)) && !fpd_pod_unset(def))
		json_object_set_new(spec, key, json_deep_copy(def));
}

/* Names of the resources the containers ask for, limits before requests, each once. */
static json_t *requested_resources(const json_t *spec)
{
	json_t *names = json_object(), *c;
	size_t i;
	json_array_foreach(json_object_get(spec, "containers"), i, c)
	{
		const char *lists[] = {"resources.limits", "resources.requests"};
		for (size_t l = 0; l < 2; l++) {
			const char *k;
			json_t *v;
			json_object_foreach(fpd_json_get(c, lists[l]), k, v)
			{
				json_object_set_new(names, k, json_true());
			}
		}
	}
	return names;
}

/* GetPodTolerations (resource, interruptible, default) ahead of the spec's own. */
static void set_tolerations(const struct fpd_k8s_settings *k8s, bool interruptible, json_t *spec)
{
	json_t *tols = json_array(), *names = requested_resources(spec), *v;
	const char *name;
	json_object_foreach(names, name, v)
	{
		fpd_pod_extend_copy(tols, json_object_get(k8s->resource_tolerations, name));
	}
	json_decref(names);
	if (interruptible)
		fpd_pod_extend_copy(tols, k8s->interruptible_tolerations);
	fpd_pod_extend_copy(tols, k8s->default_tolerations);
	fpd_pod_extend_copy(tols, json_object_get(spec, "tolerations"));
	if (json_array_size(tols))
		json_object_set_new(spec, "tolerations", tols);
	else {
		json_object_del(spec, "tolerations");
		json_decref(tols);
	}
}

/* default-node-selector, then the spec's own, then interruptible-node-selector. */
static void set_node_selector(const struct fpd_k8s_settings *k8s, bool interruptible, json_t *spec)
{
	json_t *ns = json_object();
	json_object_update_new(ns, json_deep_copy(k8s->default_node_selector));
	json_object_update_new(ns, json_deep_copy(json_object_get(spec, "nodeSelector")));
	if (interruptible)
		json_object_update_new(ns, json_deep_copy(k8s->interruptible_node_selector));
	if (json_object_size(ns))
		json_object_set_new(spec, "nodeSelector", ns);
	else {
		json_object_del(spec, "nodeSelector");
		json_decref(ns);
	}
}

void fpd_pod_require_node(json_t *spec, const json_t *requirement)
{
	json_t *required = fpd_json_ensure_obj(
	    spec, "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution");
	if (!required)
		return;
	json_t *terms = json_object_get(required, "nodeSelectorTerms"), *term;
	size_t i;
	if (json_array_size(terms) == 0) {
		json_object_set_new(
		    required, "nodeSelectorTerms",
		    json_pack("[{s:[o]}]", "matchExpressions", json_deep_copy(requirement)));
		return;
	}
	json_array_foreach(terms, i, term)
	{
		json_t *exprs = json_object_get(term, "matchExpressions");
		if (fpd_pod_unset(exprs)) {
			exprs = json_array();
			json_object_set_new(term, "matchExpressions", exprs);
		}
		json_array_append_new(exprs, json_deep_copy(requirement));
	}
}

void fpd_pod_update(const struct fpd_task *task, bool interruptible, json_t *spec)
{
	const struct fpd_k8s_settings *k8s = &task->settings->k8s;
	set_if_empty(spec, "restartPolicy", "Never");
	set_tolerations(k8s, interruptible, spec);
	set_if_empty(spec, "serviceAccountName", task->service_account);
	set_if_empty(spec, "schedulerName", k8s->scheduler_name);
	set_node_selector(k8s, interruptible, spec);
	copy_if_unset(spec, "affinity", k8s->default_affinity);
	copy_if_unset(spec, "securityContext", k8s->default_pod_security_context);
	if (json_is_true(k8s->enable_host_networking_pod))
		json_object_set_new(spec, "hostNetwork", json_true());
	else if (json_is_false(k8s->enable_host_networking_pod))
		json_object_del(spec, "hostNetwork"); /* false is omitted by Go */
	copy_if_unset(spec, "dnsConfig", k8s->default_pod_dns_config);
	/* ApplyInterruptibleNodeAffinity always leaves a (possibly empty) affinity. */
	fpd_json_ensure_obj(spec, "affinity");
	const json_t *req = interruptible ? k8s->interruptible_node_selector_requirement
	                                  : k8s->non_interruptible_node_selector_requirement;
	if (!fpd_pod_unset(req))
		fpd_pod_require_node(spec, req);
}
