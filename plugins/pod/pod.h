/*
 * The Pod plugin: Flyte's container and pod task types as a single Pod, and the pod-building
 * base every operator plugin uses for its pod templates.
 */
#ifndef FPD_PLUGINS_POD_H
#define FPD_PLUGINS_POD_H

#include <flyteplugd/plugin.h>

extern const struct fpd_plugin fpd_plugin_pod;

#endif
