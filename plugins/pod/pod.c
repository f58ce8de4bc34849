/*
 * The Pod plugin descriptor. Task types are those Flyte's `container` and `sidecar` Kubernetes
 * plugins serve: flytekit's function tasks (python-task), container tasks (raw-container), the
 * generic `container` type, and pod tasks (`sidecar`, versions 0-2 of its custom format).
 */
#include "pod/pod.h"

static const struct fpd_task_type pod_task_types[] = {
	{"python-task", 0}, {"container", 0}, {"raw-container", 0},
	{"sidecar", 0},     {"sidecar", 1},   {"sidecar", 2},
};

const struct fpd_plugin fpd_plugin_pod = {
	.abi = FPD_PLUGIN_ABI,
	.name = "pod",
	.task_types = pod_task_types,
	.task_type_count = sizeof(pod_task_types) / sizeof(pod_task_types[0]),
};
