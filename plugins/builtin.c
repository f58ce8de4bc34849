/* The table of built-in plugins. A new built-in plugin adds one line here. */
#include "builtin.h"

#include "kubeflow/kubeflow.h"
#include "pod/pod.h"
#include "spark/spark.h"

/* plugins/ray and plugins/dask are left out until they have tests. */
static const struct fpd_plugin *const builtins[] = {
    &fpd_plugin_pod,        &fpd_plugin_spark, &fpd_plugin_pytorch,
    &fpd_plugin_tensorflow, &fpd_plugin_mpi,
};

const struct fpd_plugin *const *fpd_builtin_plugins(size_t *count)
{
	*count = sizeof(builtins) / sizeof(builtins[0]);
	return builtins;
}
