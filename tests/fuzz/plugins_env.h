/* What the fuzzers over the plugins share: the default configuration, the built-in plugins and
 * a registry of them with their settings, set up once per process. */
#ifndef FPD_FUZZ_PLUGINS_ENV_H
#define FPD_FUZZ_PLUGINS_ENV_H

#include "core/config.h"
#include "engine/plugin_settings.h"
#include "engine/registry.h"

#include <stddef.h>

struct fuzz_plugins {
	struct fpd_config cfg;
	struct fpd_registry *reg;
	struct fpd_plugin_settings *settings;
	const struct fpd_plugin *const *builtins;
	size_t n_builtins;
};

/* Set up on the first call; aborts if the built-ins cannot be registered. */
const struct fuzz_plugins *fuzz_plugins(void);

#endif
