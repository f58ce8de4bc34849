/*
 * The Dask plugin (Flyte's plugins/k8s/dask): `dask` tasks as a DaskJob (kubernetes.dask.org/v1).
 */
#ifndef FPD_PLUGINS_DASK_H
#define FPD_PLUGINS_DASK_H

#include <flyteplugd/plugin.h>
#include <flyteplugd/settings.h>

/* `plugins.settings.dask`: propeller's plugins.dask keys (flyteplugins k8s/dask/config.go). */
struct fpd_dask_settings {
	/* `logs`: the job-runner pod's links. NULL: the daemon's `logs:`; when set it starts from
	 * propeller's default (Kubernetes links), as Flyte's dask LogConfig does. */
	struct fpd_log_settings *logs;
};

extern const struct fpd_plugin fpd_plugin_dask;

#endif
