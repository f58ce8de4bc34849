/*
 * Container resources the way Flyte settles them (flytek8s container_helper.go): Flyte
 * resource entries to Kubernetes names, overrides merged over the container's own values,
 * requests and limits filled from each other or from k8s.default-cpus/default-memory, and
 * requests clamped to limits. Quantities are compared by value but written back as the text
 * they came in (the API server canonicalizes them when it stores the pod).
 */
#include "internal.h"

#include <flyteplugd/error.h>

#include <flyteplugd/object.h>

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *resource_name(Flyteidl__Core__Resources__ResourceName n, const char *gpu)
{
	switch (n) {
	case FLYTEIDL__CORE__RESOURCES__RESOURCE_NAME__CPU: return "cpu";
	case FLYTEIDL__CORE__RESOURCES__RESOURCE_NAME__MEMORY: return "memory";
	case FLYTEIDL__CORE__RESOURCES__RESOURCE_NAME__GPU: return gpu;
	case FLYTEIDL__CORE__RESOURCES__RESOURCE_NAME__EPHEMERAL_STORAGE:
		return "ephemeral-storage";
	default: return NULL; /* UNKNOWN and STORAGE: Flyte ignores them */
	}
}

static int resource_list(Flyteidl__Core__Resources__ResourceEntry **e, size_t n, const char *gpu,
                         json_t *out, struct fpd_error *err)
{
	for (size_t i = 0; i < n; i++) {
		double v;
		if (fpd_quantity_parse(e[i]->value, &v))
			return fpd_error_set(
			    err, FPD_EINVAL,
			    "Failed to parse resource as a valid quantity.: quantities "
			    "must match the regular expression '" FPD_QUANTITY_SYNTAX
			    "' (got \"%s\")",
			    e[i]->value);
		const char *name = resource_name(e[i]->name, gpu);
		if (name && v != 0)
			json_object_set_new(out, name, json_string(e[i]->value));
	}
	return FPD_OK;
}

int fpd_pod_resources_from_proto(const Flyteidl__Core__Resources *r, const char *gpu_name,
                                 json_t **out, struct fpd_error *err)
{
	json_t *req = json_object(), *lim = json_object();
	int rc = r ? resource_list(r->requests, r->n_requests, gpu_name, req, err) : 0;
	if (!rc && r)
		rc = resource_list(r->limits, r->n_limits, gpu_name, lim, err);
	*out = NULL;
	if (!rc) {
		*out = json_object();
		if (json_object_size(lim))
			json_object_set(*out, "limits", lim);
		if (json_object_size(req))
			json_object_set(*out, "requests", req);
	}
	json_decref(req);
	json_decref(lim);
	return rc;
}

/* A quantity as written (text) and its value in base units; value 0 is Go's IsZero(). */
struct qty {
	char text[FPD_QUANTITY_MAX];
	double value;
};

/* Reads map[name] into q (zero when absent). Kubernetes also accepts JSON numbers. */
/* s into text (cut to its size, as snprintf would; without printf's cost). */
static void set_text(char *text, size_t size, const char *s)
{
	size_t n = strnlen(s, size - 1);
	memcpy(text, s, n);
	text[n] = '\0';
}

static int qty_get(const json_t *map, const char *name, struct qty *q)
{
	const json_t *v = json_object_get(map, name);
	q->text[0] = '\0';
	q->value = 0;
	if (fpd_pod_unset(v))
		return 0;
	if (json_is_string(v) && json_string_length(v) < FPD_QUANTITY_MAX)
		set_text(q->text, sizeof(q->text), json_string_value(v));
	else if (json_is_integer(v))
		snprintf(q->text, sizeof(q->text), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v))
		fpd_go_float(json_real_value(v), q->text, sizeof(q->text));
	else
		return -1;
	return fpd_quantity_parse(q->text, &q->value);
}

/* Go writes a zero Quantity as "0". */
static void qty_set(json_t *map, const char *name, const struct qty *q)
{
	json_object_set_new(map, name, json_string(q->value == 0 ? "0" : q->text));
}

/* Flyte's adjustResourceRequirement with no platform limits: with assign, a missing request
 * takes the limit (else the default) and a missing limit the request; then request <= limit. */
static int adjust(json_t *req, json_t *lim, const char *name, const struct qty *def, bool assign)
{
	struct qty r, l;
	if (qty_get(req, name, &r) || qty_get(lim, name, &l))
		return -1;
	if (assign && r.value == 0)
		r = l.value != 0 ? l : *def;
	if (assign && l.value == 0)
		l = r;
	if (r.value != 0 && l.value != 0 && r.value > l.value)
		r = l;
	qty_set(req, name, &r);
	qty_set(lim, name, &l);
	return 0;
}

/* The object at o[key], created when absent or null; NULL when it is something else. */
static json_t *child_object(json_t *o, const char *key)
{
	json_t *c = json_object_get(o, key);
	if (fpd_pod_unset(c)) {
		c = json_object();
		json_object_set_new(o, key, c);
	}
	return json_is_object(c) ? c : NULL;
}

/* Flyte's SanitizeGPUResourceRequirements: "gpu" becomes the configured GPU resource name. */
static void rename_gpu(json_t *list, const char *gpu)
{
	json_t *v = json_object_get(list, "gpu");
	if (v && strcmp(gpu, "gpu")) {
		json_object_set(list, gpu, v);
		json_object_del(list, "gpu");
	}
}

static bool mentioned(const json_t *req, const json_t *lim, const char *name)
{
	return json_object_get(req, name) || json_object_get(lim, name);
}

static int apply_overrides(json_t *req, json_t *lim, bool assign,
                           const struct fpd_k8s_settings *k8s)
{
	struct qty cpu = {"", 0}, mem = {"", 0}, zero = {"", 0};
	set_text(cpu.text, sizeof(cpu.text), k8s->default_cpus ? k8s->default_cpus : "");
	set_text(mem.text, sizeof(mem.text), k8s->default_memory ? k8s->default_memory : "");
	if (fpd_quantity_parse(cpu.text, &cpu.value) || fpd_quantity_parse(mem.text, &mem.value))
		return -1;
	const char *gpu = k8s->gpu_resource_name;
	int rc = adjust(req, lim, "cpu", &cpu, assign) || adjust(req, lim, "memory", &mem, assign);
	if (!rc && mentioned(req, lim, "ephemeral-storage"))
		rc = adjust(req, lim, "ephemeral-storage", &zero, assign);
	if (!rc && mentioned(req, lim, gpu))
		rc = adjust(req, lim, gpu, &zero, assign);
	return rc;
}

int fpd_pod_settle_resources(json_t *container, const json_t *overrides, enum fpd_res_mode mode,
                             const struct fpd_k8s_settings *k8s, struct fpd_error *err)
{
	const char *name = fpd_json_str_or(container, "name", "");
	json_t *res = child_object(container, "resources");
	json_t *req = res ? child_object(res, "requests") : NULL;
	json_t *lim = res ? child_object(res, "limits") : NULL;
	if (!req || !lim)
		return fpd_error_set(err, FPD_EINVAL,
		                     "container [%s]: resources, requests and "
		                     "limits must be objects",
		                     name);
	rename_gpu(req, k8s->gpu_resource_name);
	rename_gpu(lim, k8s->gpu_resource_name);
	if (mode == FPD_RES_MERGE && overrides) {
		json_object_update_new(lim, json_deep_copy(fpd_json_get(overrides, "limits")));
		json_object_update_new(req, json_deep_copy(fpd_json_get(overrides, "requests")));
	}
	if (apply_overrides(req, lim, mode == FPD_RES_MERGE, k8s))
		return fpd_error_set(err, FPD_EINVAL,
		                     "container [%s]: a resource quantity (or "
		                     "k8s.default-cpus/default-memory) is not a valid "
		                     "quantity",
		                     name);
	return FPD_OK;
}
