/*
 * Extended resources (Flyte's ApplyGPUNodeSelectors, ApplySharedMemory and
 * AddTolerationsForExtendedResources): node affinity and tolerations for a GPU accelerator,
 * a memory-backed emptyDir for shared memory, tolerations for configured extended resources.
 */
#include "internal.h"

#include <flyteplugd/object.h>

#include <flyteplugd/error.h>
#include <flyteplugd/mem.h>

#include <stdlib.h>
#include <string.h>

/* Tolerations are appended to, so a null or missing list is created first. */
static json_t *tolerations(json_t *spec)
{
	json_t *t = json_object_get(spec, "tolerations");
	if (fpd_pod_unset(t)) {
		t = json_array();
		json_object_set_new(spec, "tolerations", t);
	}
	return t;
}

static void require_and_tolerate(json_t *spec, const char *label, const char *value)
{
	json_t *nsr = json_pack("{s:s,s:s,s:[s]}", "key", label, "operator", "In", "values", value);
	fpd_pod_require_node(spec, nsr);
	json_decref(nsr);
	json_array_append_new(tolerations(spec),
	                      json_pack("{s:s,s:s,s:s,s:s}", "key", label, "operator", "Equal",
	                                "value", value, "effect", "NoSchedule"));
}

static bool uses_gpu(const json_t *spec, const char *gpu)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(spec, "containers"), i, c)
	{
		if (json_object_get(fpd_json_get(c, "resources.limits"), gpu))
			return true;
	}
	return false;
}

static void apply_gpu(const struct fpd_k8s_settings *k8s, json_t *spec,
                      const Flyteidl__Core__GPUAccelerator *acc)
{
	if (!uses_gpu(spec, k8s->gpu_resource_name))
		return;
	fpd_json_ensure_obj(spec, "affinity");
	if (acc->device && *acc->device)
		require_and_tolerate(spec, k8s->gpu_device_node_label, acc->device);
	switch (acc->partition_size_value_case) {
	case FLYTEIDL__CORE__GPUACCELERATOR__PARTITION_SIZE_VALUE_UNPARTITIONED:
		if (acc->unpartitioned) {
			/* gpu-unpartitioned-node-selector-requirement/-toleration are not settings
			 * yet, so Flyte's defaults apply: the label must not exist, no toleration. */
			json_t *nsr =
			    json_pack("{s:s,s:s}", "key", k8s->gpu_partition_size_node_label,
			              "operator", "DoesNotExist");
			fpd_pod_require_node(spec, nsr);
			json_decref(nsr);
		}
		break;
	case FLYTEIDL__CORE__GPUACCELERATOR__PARTITION_SIZE_VALUE_PARTITION_SIZE:
		require_and_tolerate(spec, k8s->gpu_partition_size_node_label, acc->partition_size);
		break;
	default: break;
	}
}

static bool any_named(const json_t *list, const char *key, const char *value)
{
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
	{
		if (!strcmp(fpd_json_str_or(v, key, ""), value))
			return true;
	}
	return false;
}

static int apply_shared_memory(struct fpd_pod *pod, const Flyteidl__Core__SharedMemory *shm,
                               struct fpd_error *err)
{
	const char *name = shm->mount_name ? shm->mount_name : "";
	const char *path = shm->mount_path ? shm->mount_path : "";
	const char *size = shm->size_limit ? shm->size_limit : "";
	json_t *primary = fpd_pod_find_container(pod->spec, pod->primary);
	json_t *mounts = json_object_get(primary, "volumeMounts");
	double v;
	if (!*name)
		return fpd_error_set(err, FPD_EINVAL, "mount name is not set");
	if (!*path)
		return fpd_error_set(err, FPD_EINVAL, "mount path is not set");
	if (!primary)
		return fpd_error_set(err, FPD_EINVAL, "Unable to find primary container");
	if (any_named(json_object_get(pod->spec, "volumes"), "name", name))
		return fpd_error_set(err, FPD_EINVAL, "A volume is already named %s in pod spec",
		                     name);
	if (any_named(mounts, "name", name))
		return fpd_error_set(err, FPD_EINVAL, "A volume is already named %s in container",
		                     name);
	if (any_named(mounts, "mountPath", path))
		return fpd_error_set(err, FPD_EINVAL, "%s is already mounted in container", path);
	if (*size && fpd_quantity_parse(size, &v))
		return fpd_error_set(
		    err, FPD_EINVAL,
		    "Unable to parse size limit: quantities must match the regular "
		    "expression '" FPD_QUANTITY_SYNTAX "'");
	json_t *volumes = json_object_get(pod->spec, "volumes");
	if (fpd_pod_unset(volumes)) {
		volumes = json_array();
		json_object_set_new(pod->spec, "volumes", volumes);
	}
	/* Flyte always sets sizeLimit; an unset limit is the zero quantity, which the kubelet
	 * treats as no limit. */
	json_array_append_new(volumes,
	                      json_pack("{s:s,s:{s:s,s:s}}", "name", name, "emptyDir", "medium",
	                                "Memory", "sizeLimit", *size ? size : "0"));
	if (fpd_pod_unset(mounts)) {
		mounts = json_array();
		json_object_set_new(primary, "volumeMounts", mounts);
	}
	json_array_append_new(mounts, json_pack("{s:s,s:s}", "name", name, "mountPath", path));
	return FPD_OK;
}

int fpd_pod_extended_resources(const struct fpd_task *task, const struct fpd_pod_options *opts,
                               struct fpd_pod *pod, struct fpd_error *err)
{
	const Flyteidl__Core__ExtendedResources *base = task->tmpl->extended_resources;
	const Flyteidl__Core__ExtendedResources *ov =
	    opts && opts->extended_resources      ? opts->extended_resources
	    : task->meta && task->meta->overrides ? task->meta->overrides->extended_resources
	                                          : NULL;
	const Flyteidl__Core__GPUAccelerator *gpu = ov && ov->gpu_accelerator ? ov->gpu_accelerator
	                                            : base ? base->gpu_accelerator
	                                                   : NULL;
	const Flyteidl__Core__SharedMemory *shm = ov && ov->shared_memory ? ov->shared_memory
	                                          : base                  ? base->shared_memory
	                                                                  : NULL;
	if (gpu)
		apply_gpu(&task->settings->k8s, pod->spec, gpu);
	return shm ? apply_shared_memory(pod, shm, err) : FPD_OK;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool requested(const json_t *spec, const char *name)
{
	const char *lists[] = {"containers", "initContainers"};
	for (size_t l = 0; l < 2; l++) {
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(spec, lists[l]), i, c)
		{
			if (json_object_get(fpd_json_get(c, "resources.requests"), name))
				return true;
		}
	}
	return false;
}

/* Kubernetes' Toleration.MatchToleration: same key, effect, operator and value. */
static bool has_toleration(const json_t *list, const json_t *t)
{
	static const char *const fields[] = {"key", "effect", "operator", "value"};
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
	{
		size_t f = 0;
		while (f < 4 && !strcmp(fpd_json_str_or(v, fields[f], ""),
		                        fpd_json_str_or(t, fields[f], "")))
			f++;
		if (f == 4)
			return true;
	}
	return false;
}

void fpd_pod_add_extended_resource_tolerations(json_t *spec, const struct fpd_k8s_settings *k8s)
{
	const struct fpd_strings *names = &k8s->add_tolerations_for_extended_resources;
	char **wanted = fpd_calloc(names->count + 1, sizeof(*wanted));
	size_t n = 0;
	for (size_t i = 0; i < names->count; i++)
		if (requested(spec, names->items[i]))
			wanted[n++] = names->items[i];
	qsort(wanted, n, sizeof(*wanted), cmp_str); /* Go walks a sorted set */
	for (size_t i = 0; i < n; i++) {
		if (i && !strcmp(wanted[i], wanted[i - 1]))
			continue;
		json_t *t = json_pack("{s:s,s:s,s:s}", "key", wanted[i], "operator", "Exists",
		                      "effect", "NoSchedule");
		if (!has_toleration(json_object_get(spec, "tolerations"), t))
			json_array_append(tolerations(spec), t);
		json_decref(t);
	}
	free(wanted);
}
