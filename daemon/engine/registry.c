/* Plugin registry: see registry.h. A plain array: there are tens of plugins, not thousands. */
#include "engine/registry.h"

#include <flyteplugd/mem.h>
#include "engine/naming.h"
#include "engine/tasktypes.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A copy of one plugins.routes entry: the plugin is looked up by name on each use, since
 * declared task types come and go. */
struct route {
	char *type;
	struct fpd_strings namespaces; /* globs; empty = every namespace */
	char *plugin;
};

struct fpd_registry {
	const struct fpd_plugin **plugins;
	size_t count;
	struct route *routes;
	size_t route_count;
};

struct fpd_registry *fpd_registry_new(void)
{
	return fpd_calloc(1, sizeof(struct fpd_registry));
}

void fpd_registry_free(struct fpd_registry *reg)
{
	if (!reg)
		return;
	for (size_t i = 0; i < reg->route_count; i++) {
		free(reg->routes[i].type);
		fpd_strings_free(&reg->routes[i].namespaces);
		free(reg->routes[i].plugin);
	}
	free(reg->routes);
	free(reg->plugins);
	free(reg);
}

void fpd_registry_set_routes(struct fpd_registry *reg, const struct fpd_list *routes)
{
	FPD_ASSERT(reg->route_count == 0);
	reg->routes = fpd_calloc(routes->count ? routes->count : 1, sizeof(*reg->routes));
	for (size_t i = 0; i < routes->count; i++) {
		const struct fpd_config_route *r =
		    fpd_list_at(routes, sizeof(struct fpd_config_route), i);
		struct route *to = &reg->routes[i];
		to->type = fpd_strdup(r->task_type);
		to->plugin = fpd_strdup(r->plugin);
		for (size_t j = 0; j < r->namespaces.count; j++)
			fpd_strings_push(&to->namespaces, r->namespaces.items[j]);
	}
	reg->route_count = routes->count;
}

/* Does a route send some of type's tasks to the plugin named plugin? */
static bool routed(const struct fpd_registry *reg, const char *plugin, const char *type)
{
	for (size_t i = 0; i < reg->route_count; i++)
		if (!strcmp(reg->routes[i].plugin, plugin) && !strcmp(reg->routes[i].type, type))
			return true;
	return false;
}

static int valid_name(const char *name)
{
	if (!name || !*name || strlen(name) > 63)
		return 0;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		      *p == '_'))
			return 0;
	return 1;
}

/* The checks of fpd_registry_add; a plugin named `replacing` is taken as gone. */
static int check(const struct fpd_registry *reg, const struct fpd_plugin *plugin,
                 const char *replacing, struct fpd_error *err)
{
	if (plugin->abi < FPD_PLUGIN_ABI_MIN || plugin->abi > FPD_PLUGIN_ABI)
		return fpd_error_set(
		    err, FPD_EINVAL,
		    "plugin \"%s\" was built for plugin ABI %u, this daemon loads %u to %u",
		    plugin->name ? plugin->name : "?", plugin->abi, FPD_PLUGIN_ABI_MIN,
		    FPD_PLUGIN_ABI);
	if (!valid_name(plugin->name))
		return fpd_error_set(err, FPD_EINVAL,
		                     "plugin name \"%s\" must be 1-63 characters of [a-z0-9_-]",
		                     plugin->name ? plugin->name : "");
	if (plugin->name_max_len &&
	    (plugin->name_max_len < FPD_NAME_MIN || plugin->name_max_len > FPD_NAME_LIMIT_MAX))
		return fpd_error_set(
		    err, FPD_EINVAL,
		    "plugin \"%s\" limits object names to %u characters: the limit "
		    "must be 0 (Flyte's default, %d) or %d to %d",
		    plugin->name, plugin->name_max_len, FPD_NAME_MAX, FPD_NAME_MIN,
		    FPD_NAME_LIMIT_MAX);
	/* A plugin that builds nothing but owns settings (the crd plugin, whose task types are
	 * declared at run time) may serve no task type of its own. */
	if (plugin->task_type_count == 0 && (plugin->build || !plugin->settings_schema))
		return fpd_error_set(err, FPD_EINVAL, "plugin \"%s\" serves no task type",
		                     plugin->name);
	if (!replacing && fpd_registry_by_name(reg, plugin->name))
		return fpd_error_set(err, FPD_EEXIST, "plugin \"%s\" is registered twice",
		                     plugin->name);
	for (size_t i = 0; i < plugin->task_type_count; i++) {
		const struct fpd_task_type *t = &plugin->task_types[i];
		if (!t->name || !*t->name)
			return fpd_error_set(err, FPD_EINVAL,
			                     "plugin \"%s\" declares a task type without a name",
			                     plugin->name);
		/* A second plugin for a type serves the namespaces plugins.routes gives it; the
		 * first stays the type's default. */
		const struct fpd_plugin *owner = fpd_registry_find(reg, t->name, t->version);
		if (owner && !(replacing && strcmp(owner->name, replacing) == 0) &&
		    !routed(reg, plugin->name, t->name))
			return fpd_error_set(err, FPD_EEXIST,
			                     "task type %s (version %d) is served by both \"%s\" "
			                     "and \"%s\" (leave one out with plugins.enabled, or "
			                     "give \"%s\" namespaces with plugins.routes)",
			                     t->name, t->version, owner->name, plugin->name,
			                     plugin->name);
	}
	return FPD_OK;
}

int fpd_registry_add(struct fpd_registry *reg, const struct fpd_plugin *plugin,
                     struct fpd_error *err)
{
	int rc = check(reg, plugin, NULL, err);
	if (rc)
		return rc;
	reg->plugins = fpd_realloc(reg->plugins, (reg->count + 1) * sizeof(*reg->plugins));
	reg->plugins[reg->count++] = plugin;
	return FPD_OK;
}

static size_t index_of(const struct fpd_registry *reg, const char *name)
{
	size_t i = 0;
	while (i < reg->count && strcmp(reg->plugins[i]->name, name) != 0)
		i++;
	return i;
}

int fpd_registry_put(struct fpd_registry *reg, const struct fpd_plugin *plugin,
                     struct fpd_error *err)
{
	size_t i = plugin->name ? index_of(reg, plugin->name) : reg->count;
	if (i == reg->count)
		return fpd_registry_add(reg, plugin, err);
	int rc = check(reg, plugin, plugin->name, err);
	if (rc)
		return rc;
	reg->plugins[i] = plugin;
	return FPD_OK;
}

int fpd_registry_remove(struct fpd_registry *reg, const char *name)
{
	size_t i = index_of(reg, name);
	if (i == reg->count)
		return FPD_ENOENT;
	memmove(&reg->plugins[i], &reg->plugins[i + 1],
	        (reg->count - i - 1) * sizeof(*reg->plugins));
	reg->count--;
	return FPD_OK;
}

const struct fpd_plugin *fpd_registry_find(const struct fpd_registry *reg, const char *type,
                                           int32_t version)
{
	for (size_t i = 0; i < reg->count; i++) {
		const struct fpd_plugin *p = reg->plugins[i];
		for (size_t j = 0; j < p->task_type_count; j++)
			if (p->task_types[j].version == version &&
			    strcmp(p->task_types[j].name, type) == 0)
				return p;
	}
	return NULL;
}

static bool serves(const struct fpd_plugin *p, const char *type, int32_t version)
{
	for (size_t j = 0; j < p->task_type_count; j++)
		if ((version < 0 || p->task_types[j].version == version) &&
		    strcmp(p->task_types[j].name, type) == 0)
			return true;
	return false;
}

static bool route_takes(const struct route *r, const char *namespace_)
{
	if (r->namespaces.count == 0)
		return true;
	for (size_t i = 0; i < r->namespaces.count; i++)
		if (fnmatch(r->namespaces.items[i], namespace_, 0) == 0)
			return true;
	return false;
}

const struct fpd_plugin *fpd_registry_route(const struct fpd_registry *reg, const char *type,
                                            int32_t version, const char *namespace_)
{
	for (size_t i = 0; i < reg->route_count; i++) {
		const struct route *r = &reg->routes[i];
		if (strcmp(r->type, type) || !route_takes(r, namespace_))
			continue;
		const struct fpd_plugin *p = fpd_registry_by_name(reg, r->plugin);
		if (p && serves(p, type, version))
			return p;
	}
	return fpd_registry_find(reg, type, version);
}

int fpd_registry_check_routes(const struct fpd_registry *reg, struct fpd_error *err)
{
	for (size_t i = 0; i < reg->route_count; i++) {
		const struct route *r = &reg->routes[i];
		const struct fpd_plugin *p = fpd_registry_by_name(reg, r->plugin);
		if (!p)
			return fpd_error_set(
			    err, FPD_EINVAL,
			    "plugins.routes[%zu].plugin: no plugin \"%s\" is loaded "
			    "(a built-in one left out by plugins.enabled, or a module "
			    "named neither in plugins.modules nor in plugins.dir?)",
			    i, r->plugin);
		if (!serves(p, r->type, -1))
			return fpd_error_set(
			    err, FPD_EINVAL,
			    "plugins.routes[%zu].task_type: plugin \"%s\" does not "
			    "serve task type %s",
			    i, r->plugin, r->type);
	}
	return FPD_OK;
}

const struct fpd_plugin *fpd_registry_by_name(const struct fpd_registry *reg, const char *name)
{
	for (size_t i = 0; i < reg->count; i++)
		if (strcmp(reg->plugins[i]->name, name) == 0)
			return reg->plugins[i];
	return NULL;
}

size_t fpd_registry_count(const struct fpd_registry *reg)
{
	return reg->count;
}

const struct fpd_plugin *fpd_registry_at(const struct fpd_registry *reg, size_t i)
{
	return i < reg->count ? reg->plugins[i] : NULL;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_one(struct fpd_registry *reg, const char *path, struct fpd_error *err)
{
	void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!lib)
		return fpd_error_set(err, FPD_EINVAL, "plugin %s: %s", path, dlerror());
	const struct fpd_plugin *const *entry = dlsym(lib, FPD_PLUGIN_ENTRY_SYMBOL);
	if (!entry || !*entry) {
		dlclose(lib);
		return fpd_error_set(err, FPD_EINVAL, "plugin %s: no %s symbol", path,
		                     FPD_PLUGIN_ENTRY_SYMBOL);
	}
	int rc = fpd_registry_add(reg, *entry, err);
	if (rc) {
		dlclose(lib);
		return fpd_error_wrap(err, rc, "plugin %s", path);
	}
	/* Kept loaded: the registry borrows the descriptor for the life of the process. */
	return FPD_OK;
}

int fpd_registry_load_dir(struct fpd_registry *reg, const char *dir, size_t *count,
                          struct fpd_error *err)
{
	*count = 0;
	DIR *d = opendir(dir);
	if (!d)
		return fpd_error_set(err, FPD_EIO, "plugins.dir %s: %s", dir, strerror(errno));
	char **names = NULL;
	size_t n = 0;
	struct dirent *ent;
	while ((ent = readdir(d))) {
		size_t len = strlen(ent->d_name);
		if (len > 3 && strcmp(ent->d_name + len - 3, ".so") == 0) {
			names = fpd_realloc(names, (n + 1) * sizeof(*names));
			names[n++] = fpd_asprintf("%s/%s", dir, ent->d_name);
		}
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_names);
	int rc = FPD_OK;
	for (size_t i = 0; i < n; i++) {
		if (!rc && !(rc = load_one(reg, names[i], err)))
			(*count)++;
		free(names[i]);
	}
	free(names);
	return rc;
}

struct fpd_registry *fpd_registry_from_config(const struct fpd_plugin *const *builtins,
                                              size_t count, const struct fpd_config *cfg,
                                              struct fpd_error *err)
{
	size_t refused;
	return fpd_registry_from_config_counted(builtins, count, cfg, &refused, err);
}

struct fpd_registry *fpd_registry_from_config_counted(const struct fpd_plugin *const *builtins,
                                                      size_t count, const struct fpd_config *cfg,
                                                      size_t *refused, struct fpd_error *err)
{
	struct fpd_registry *reg = fpd_registry_new();
	fpd_registry_set_routes(reg, &cfg->plugins.routes);
	for (size_t i = 0; i < count; i++) {
		if (cfg->plugins.enabled.count &&
		    !fpd_strings_contains(&cfg->plugins.enabled, builtins[i]->name))
			continue;
		if (fpd_registry_add(reg, builtins[i], err)) {
			fpd_registry_free(reg);
			return NULL;
		}
	}
	size_t loaded, declared;
	int rc = FPD_OK;
	for (size_t i = 0; !rc && i < cfg->plugins.modules.count; i++)
		if ((rc = load_one(reg, cfg->plugins.modules.items[i], err)))
			fpd_error_wrap(err, rc, "plugins.modules[%zu]", i);
	if (rc ||
	    (cfg->plugins.dir[0] && fpd_registry_load_dir(reg, cfg->plugins.dir, &loaded, err)) ||
	    fpd_registry_check_routes(reg, err) ||
	    (refused && fpd_tasktypes_load_config(reg, cfg, &declared, refused, err))) {
		fpd_registry_free(reg);
		return NULL;
	}
	return reg;
}
