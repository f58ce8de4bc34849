/*
 * The Dask plugin (Flyte's plugins/k8s/dask): `dask` tasks as a DaskJob (kubernetes.dask.org/v1).
 */
#ifndef FPD_PLUGINS_DASK_H
#define FPD_PLUGINS_DASK_H

#include <flyteplugd/plugin.h>

extern const struct fpd_plugin fpd_plugin_dask;

#endif
