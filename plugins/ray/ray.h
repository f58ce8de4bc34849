/*
 * The Ray plugin (Flyte's plugins/k8s/ray): `ray` tasks as a KubeRay RayJob (ray.io/v1).
 */
#ifndef FPD_PLUGINS_RAY_H
#define FPD_PLUGINS_RAY_H

#include <flyteplugd/plugin.h>

extern const struct fpd_plugin fpd_plugin_ray;

#endif
