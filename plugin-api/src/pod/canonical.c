/*
 * A pod spec's quantities in Go's canonical form (container resources, overhead, emptyDir size
 * limits), as the API server stores them: see fpd_pod_canonical_quantities in pod.h.
 */
#include "internal.h"

#include <flyteplugd/object.h>
#include <flyteplugd/quantity.h>

#include <stdlib.h>

/* Canonicalizes every string value of a ResourceList object in place. */
static void canonical_list(json_t *list)
{
	const char *k;
	json_t *v;
	json_object_foreach(list, k, v)
	{
		char *c =
		    json_is_string(v) ? fpd_quantity_canonical(json_string_value(v)) : NULL;
		if (c)
			json_string_set(v, c);
		free(c);
	}
}

static void canonical_containers(json_t *containers)
{
	size_t i;
	json_t *c;
	json_array_foreach(containers, i, c)
	{
		canonical_list(fpd_json_get(c, "resources.limits"));
		canonical_list(fpd_json_get(c, "resources.requests"));
	}
}

void fpd_pod_canonical_quantities(json_t *spec)
{
	canonical_containers(json_object_get(spec, "containers"));
	canonical_containers(json_object_get(spec, "initContainers"));
	canonical_containers(json_object_get(spec, "ephemeralContainers"));
	canonical_list(json_object_get(spec, "overhead"));
	size_t i;
	json_t *vol;
	json_array_foreach(json_object_get(spec, "volumes"), i, vol)
	{
		json_t *size = fpd_json_get(vol, "emptyDir.sizeLimit");
		char *c = json_is_string(size) ? fpd_quantity_canonical(json_string_value(size))
		                               : NULL;
		if (c)
			json_string_set(size, c);
		free(c);
	}
}
