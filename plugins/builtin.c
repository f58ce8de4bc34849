/* The table of built-in plugins. A new built-in plugin adds one line here. */
#include "builtin.h"

#include "pod/pod.h"

static const struct fpd_plugin *const builtins[] = {
	&fpd_plugin_pod,
};

const struct fpd_plugin *const *fpd_builtin_plugins(size_t *count)
{
	*count = sizeof(builtins) / sizeof(builtins[0]);
	return builtins;
}
