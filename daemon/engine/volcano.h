/*
 * Volcano gang scheduling in the engine (queueing.volcano): the pod templates of a built object
 * pointed at Volcano's scheduler and its PodGroup, made in the build pipeline; the group's phase
 * read back for GetTask. calls.c creates the group before the object and deletes it with it.
 * The group has the object's name, so nothing need be kept per execution to find it again.
 */
#ifndef FPD_ENGINE_VOLCANO_H
#define FPD_ENGINE_VOLCANO_H

#include <flyteplugd/error.h>
#include "kube/resource.h"

#include <flyteplugd/phase.h>
#include <flyteplugd/settings.h>
#include <jansson.h>
#include <stdbool.h>

/* When queueing.volcano applies to obj's namespace (a decorated object: it has its name and
 * namespace): sets schedulerName and the group annotation on every pod template of obj at
 * pod_specs (the plugin's paths, fpd_build_pod_specs; a "spark:" path names a SparkPodSpec,
 * "**" finds pod specs by their shape) and returns the PodGroup to create before obj (new
 * reference). Returns NULL, obj untouched, when Volcano does not apply, obj has no pod
 * template at those paths, obj names its own batch scheduler (a SparkApplication's
 * spec.batchScheduler: the Spark operator then makes the group), or obj is a TrainJob (whose
 * runtimePatches cannot set schedulerName). */
json_t *fpd_volcano_group(json_t *obj, const char *const *pod_specs,
                          const struct fpd_settings *settings);

/* The PodGroup resource (scheduling.volcano.sh/v1beta1 podgroups) into g. */
int fpd_volcano_gvr(struct fpd_kube_gvr *g, struct fpd_error *err);

/* For a task whose object does not run yet: true, and out's phase, code and message set (its
 * logs and custom info kept) to WAITING_FOR_RESOURCES naming the group, when the PodGroup
 * group (borrowed, from the API server) is Pending or Inqueue; false, out untouched,
 * otherwise. */
bool fpd_volcano_status(const json_t *group, struct fpd_phase_info *out);

#endif
