/*
 * The clustered-task plugin (Flyte 2's plugins/k8s/clustered): `clustered-task` tasks
 * (flyteidl2.plugins.ClusteredTaskSpec) as a JobSet (jobset.x-k8s.io/v1alpha2) running torchrun.
 */
#ifndef FPD_PLUGINS_JOBSET_H
#define FPD_PLUGINS_JOBSET_H

#include <flyteplugd/plugin.h>

extern const struct fpd_plugin fpd_plugin_jobset;

#endif
