/* The table of built-in plugins. A new built-in plugin adds one line here. */
#include "builtin.h"

#include "crd/crd.h"
#include "dask/dask.h"
#include "jobset/jobset.h"
#include "kubeflow/kubeflow.h"
#include "pod/pod.h"
#include "ray/ray.h"
#include "spark/spark.h"

static const struct fpd_plugin *const builtins[] = {
    &fpd_plugin_pod,        &fpd_plugin_spark, &fpd_plugin_pytorch,
    &fpd_plugin_tensorflow, &fpd_plugin_mpi,   &fpd_plugin_ray,
    &fpd_plugin_dask,       &fpd_plugin_crd,   &fpd_plugin_jobset,
};

const struct fpd_plugin *const *fpd_builtin_plugins(size_t *count)
{
	*count = sizeof(builtins) / sizeof(builtins[0]);
	return builtins;
}
