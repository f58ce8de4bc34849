/*
 * Plugin registry: which plugin serves which task category. Built at start from the built-in
 * plugins and the configuration (with the task types it declares for the crd plugin); task
 * types declared later are added, replaced and removed by name (fpd_registry_put/remove) on
 * the loop thread, so a lookup's answer is only good until the loop runs again.
 */
#ifndef FPD_ENGINE_REGISTRY_H
#define FPD_ENGINE_REGISTRY_H

#include "core/config.h"
#include <flyteplugd/error.h>

#include <flyteplugd/plugin.h>
#include <stddef.h>
#include <stdint.h>

struct fpd_registry;

/* New empty registry. */
struct fpd_registry *fpd_registry_new(void);
void fpd_registry_free(struct fpd_registry *reg);

/* Adds a plugin (borrowed: the descriptor must outlive the registry). FPD_EINVAL if its ABI is
 * not FPD_PLUGIN_ABI, its name is malformed, its name_max_len is not 0 or 8-253, or it serves
 * no task type while it builds objects or owns no settings; FPD_EEXIST
 * if its name, or one of its task categories, is already served by another plugin (unless a
 * route set by fpd_registry_set_routes names it for that task type). */
int fpd_registry_add(struct fpd_registry *reg, const struct fpd_plugin *plugin,
                     struct fpd_error *err);

/* Adds plugin (borrowed, as for fpd_registry_add) or, when a plugin of the same name is
 * registered, takes its place (same position; the old descriptor is no longer referenced by
 * the registry, but the caller keeps it alive while executions may point at it). The checks of
 * fpd_registry_add apply, task categories of the replaced plugin not counting as taken. */
int fpd_registry_put(struct fpd_registry *reg, const struct fpd_plugin *plugin,
                     struct fpd_error *err);

/* Removes the plugin named name: FPD_OK, or FPD_ENOENT when there is none. */
int fpd_registry_remove(struct fpd_registry *reg, const char *name);

/* The plugin serving (type, version), or NULL. Borrowed. */
const struct fpd_plugin *fpd_registry_find(const struct fpd_registry *reg, const char *type,
                                           int32_t version);
/* The plugin that builds a task of (type, version) in namespace_: the plugin of the first
 * plugins.routes entry for type whose namespace patterns take namespace_ and whose plugin
 * serves that version, else fpd_registry_find's (the type's default: the plugin registered
 * first for it). NULL when none serves it. Borrowed. */
const struct fpd_plugin *fpd_registry_route(const struct fpd_registry *reg, const char *type,
                                            int32_t version, const char *namespace_);

/* Sets the routes (plugins.routes, copied) before any plugin is added: a plugin serving a task
 * type already served is accepted only when a route names it for that type. Once. */
void fpd_registry_set_routes(struct fpd_registry *reg, const struct fpd_list *routes);

/* FPD_EINVAL, naming the key, when a route names a plugin not registered or one that does not
 * serve its task type (in any version). */
int fpd_registry_check_routes(const struct fpd_registry *reg, struct fpd_error *err);

/* The plugin named name, or NULL. Borrowed. */
const struct fpd_plugin *fpd_registry_by_name(const struct fpd_registry *reg, const char *name);

/* Loads every *.so in dir (sorted by name) as an external plugin: dlopen, the symbol
 * FPD_PLUGIN_ENTRY_SYMBOL (a `const struct fpd_plugin *`), then fpd_registry_add (which checks
 * the ABI version). Libraries stay loaded for the life of the process. The first failure stops
 * the load with a message naming the file. Returns the number loaded in *count. */
int fpd_registry_load_dir(struct fpd_registry *reg, const char *dir, size_t *count,
                          struct fpd_error *err);

/* The registry a configuration asks for: its plugins.routes, the built-in plugins (borrowed,
 * count of them) less those a non-empty plugins.enabled leaves out, then the external plugins
 * of plugins.modules (in order) and of plugins.dir, the routes checked
 * (fpd_registry_check_routes),
 * then the task types the crd plugin's settings declare (fpd_tasktypes_load_config: a refused
 * one is logged with its file:line:col and left out). New registry, or NULL with err filled. */
struct fpd_registry *fpd_registry_from_config(const struct fpd_plugin *const *builtins,
                                              size_t count, const struct fpd_config *cfg,
                                              struct fpd_error *err);
/* The same, counting the refused task type declarations in *refused (check-config fails on
 * any); with refused NULL, declared task types are not loaded at all (serve's early check of
 * the plugins' settings, so that serve compiles each declaration once). */
struct fpd_registry *fpd_registry_from_config_counted(const struct fpd_plugin *const *builtins,
                                                      size_t count, const struct fpd_config *cfg,
                                                      size_t *refused, struct fpd_error *err);

size_t fpd_registry_count(const struct fpd_registry *reg);
/* The i-th plugin in registration order (i < count). Borrowed. */
const struct fpd_plugin *fpd_registry_at(const struct fpd_registry *reg, size_t i);

#endif
