/* The fuzzers' shared plugin set-up: see plugins_env.h. */
#include "plugins_env.h"

#include "builtin.h"

#include <stdlib.h>

const struct fuzz_plugins *fuzz_plugins(void)
{
	static struct fuzz_plugins env;
	if (env.reg)
		return &env;
	struct fpd_error err;
	fpd_config_defaults(&env.cfg);
	env.builtins = fpd_builtin_plugins(&env.n_builtins);
	env.reg = fpd_registry_from_config(env.builtins, env.n_builtins, &env.cfg, &err);
	env.settings = env.reg ? fpd_plugin_settings_load(env.reg, &env.cfg, &err) : NULL;
	if (!env.settings)
		abort();
	return &env;
}
