/*
 * The plugin contract: what a task-type plugin declares and implements.
 *
 * A plugin is one static, const struct fpd_plugin (like an nginx module). Built-in plugins are
 * compiled in; external ones are shared objects exporting `fpd_plugin_entry`, a pointer to their
 * descriptor, checked against FPD_PLUGIN_ABI when loaded.
 *
 * This header is the only one a plugin includes from the daemon (with its siblings in
 * flyteplugd/). Everything a plugin receives is borrowed for the duration of the call unless a
 * comment says otherwise.
 */
#ifndef FLYTEPLUGD_PLUGIN_H
#define FLYTEPLUGD_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

/* Bumped whenever struct fpd_plugin or a type it refers to changes incompatibly. */
#define FPD_PLUGIN_ABI 1

/* A Flyte task category: TaskTemplate.type plus TaskTemplate.task_type_version. */
struct fpd_task_type {
	const char *name;
	int32_t version;
};

struct fpd_plugin {
	uint32_t abi; /* FPD_PLUGIN_ABI */
	/* Unique plugin name, reported as the agent name by AgentMetadataService
	 * (lowercase, [a-z0-9-]). */
	const char *name;
	/* The task categories this plugin serves. */
	const struct fpd_task_type *task_types;
	size_t task_type_count;
};

/* An external plugin's shared object exports this symbol. */
#define FPD_PLUGIN_ENTRY_SYMBOL "fpd_plugin_entry"

#endif
