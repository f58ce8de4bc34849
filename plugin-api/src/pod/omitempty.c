/*
 * Go's omitempty on pod JSON. Flyte builds a v1.Pod in Go and the API server stores what Go
 * decodes, so a list or map that is empty never shows up in either, while the Struct of a
 * flytekit pod spec may well carry `"command": []`. Which fields are dropped is decided by
 * their Go type in k8s.io/api core/v1 (v0.34, what Flyte builds with) and apimachinery's
 * metav1, found by JSON key: within the types a pod reaches, no key names a map in one place
 * and a struct in another, and map values are never objects or lists.
 */
#include "internal.h"

#include <flyteplugd/mem.h>

#include <string.h>

/* Map-typed fields (all omitempty): ResourceList limits/requests/overhead, nodeSelector,
 * CSI volumeAttributes, flexVolume options, metav1 labels/annotations/matchLabels. (dnsConfig
 * options is a list, dropped when empty all the same.) Every other object-valued field is a
 * struct or a pointer to one, which Go writes even when empty: `affinity: {}`,
 * `resources: {}`, `emptyDir: {}`. */
static const char *const maps[] = {"annotations", "labels",       "limits",
                                   "matchLabels", "nodeSelector", "options",
                                   "overhead",    "requests",     "volumeAttributes"};

/* Slice fields without omitempty, written by Go even when empty: PodSpec.containers,
 * NodeSelector.nodeSelectorTerms, projected sources, RBD and CephFS monitors. Every other
 * slice field is omitempty. */
static const char *const kept_lists[] = {"containers", "monitors", "nodeSelectorTerms", "sources"};

static bool named(const char *key, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(key, names[i]))
			return true;
	return false;
}

static bool omitted(const char *key, const json_t *v)
{
	if (json_is_array(v))
		return json_array_size(v) == 0 &&
		       !named(key, kept_lists, FPD_ARRAY_LEN(kept_lists));
	if (json_is_object(v))
		return json_object_size(v) == 0 && named(key, maps, FPD_ARRAY_LEN(maps));
	return false;
}

void fpd_pod_omit_empty(json_t *v)
{
	size_t i;
	const char *key;
	json_t *child;
	void *next;
	if (json_is_array(v)) {
		json_array_foreach(v, i, child)
		{
			fpd_pod_omit_empty(child);
		}
		return;
	}
	json_object_foreach_safe(v, next, key, child)
	{
		fpd_pod_omit_empty(child);
		if (omitted(key, child))
			json_object_del(v, key);
	}
}
