/* A minimal external plugin, built as a shared object for the registry's loader tests.
 * TEST_ABI is the ABI it claims, TEST_NAME its name. */
#include <flyteplugd/plugin.h>

static const struct fpd_task_type types[] = {{TEST_NAME "-task", 0, NULL}};

static const struct fpd_plugin plugin = {
	.abi = TEST_ABI,
	.name = TEST_NAME,
	.task_types = types,
	.task_type_count = 1,
};

const struct fpd_plugin *fpd_plugin_entry = &plugin;
