/*
 * Plugins' own settings: `plugins.settings.<plugin name>` in the configuration, validated with
 * the plugin's schema (the same rules and file:line:col errors as the rest of the file).
 */
#ifndef FPD_ENGINE_PLUGIN_SETTINGS_H
#define FPD_ENGINE_PLUGIN_SETTINGS_H

#include "core/config.h"
#include "engine/registry.h"

struct fpd_plugin_settings;

/* Validates and loads the settings of every plugin in reg from cfg (both borrowed; they must
 * outlive the result). A section naming no registered plugin is an error. New object on
 * success; NULL with err filled otherwise. */
struct fpd_plugin_settings *fpd_plugin_settings_load(const struct fpd_registry *reg,
                                                     const struct fpd_config *cfg,
                                                     struct fpd_error *err);

/* The loaded settings struct of plugin (borrowed), or NULL when it declares none. */
const void *fpd_plugin_settings_get(const struct fpd_plugin_settings *s,
                                    const struct fpd_plugin *plugin);

void fpd_plugin_settings_free(struct fpd_plugin_settings *s);

#endif
