/* Plugins' own settings: see plugin_settings.h. */
#include "engine/plugin_settings.h"

#include <flyteplugd/mem.h>
#include "core/schema.h"

#include <stdlib.h>
#include <string.h>

struct fpd_plugin_settings {
	const struct fpd_plugin **plugins;
	void **data;
	size_t count;
};

void fpd_plugin_settings_free(struct fpd_plugin_settings *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->count; i++) {
		fpd_schema_free(s->plugins[i]->settings_schema, s->data[i]);
		free(s->data[i]);
	}
	free(s->plugins);
	free(s->data);
	free(s);
}

struct fpd_plugin_settings *fpd_plugin_settings_load(const struct fpd_registry *reg,
                                                     const struct fpd_config *cfg,
                                                     struct fpd_error *err)
{
	const struct fpd_yaml_node *all = cfg->plugins.settings;
	const char *file = cfg->source;
	/* Every section must name a plugin this daemon serves. */
	for (size_t i = 0; all && all->kind == FPD_YAML_MAP && i < all->count; i++) {
		const struct fpd_yaml_node *key = all->items[2 * i];
		const struct fpd_plugin *p = fpd_registry_by_name(reg, key->value);
		if (!p || !p->settings_schema) {
			fpd_error_set_at(err, FPD_EINVAL, file, key->line, key->column,
			                 p ? "plugins.settings.%s: this plugin takes no settings"
			                   : "plugins.settings.%s: no such plugin is enabled",
			                 key->value);
			return NULL;
		}
	}
	struct fpd_plugin_settings *s = fpd_calloc(1, sizeof(*s));
	size_t n = fpd_registry_count(reg);
	s->plugins = fpd_calloc(n ? n : 1, sizeof(*s->plugins));
	s->data = fpd_calloc(n ? n : 1, sizeof(*s->data));
	for (size_t i = 0; i < n; i++) {
		const struct fpd_plugin *p = fpd_registry_at(reg, i);
		if (!p->settings_schema)
			continue;
		void *data = fpd_calloc(1, p->settings_size ? p->settings_size : 1);
		if (p->settings_defaults)
			p->settings_defaults(data);
		s->plugins[s->count] = p;
		s->data[s->count++] = data;
		const struct fpd_yaml_node *node = fpd_yaml_get(all, p->name);
		if (node && fpd_schema_apply(p->settings_schema, node, data, file, err)) {
			fpd_error_wrap(err, FPD_EINVAL, "plugins.settings.%s", p->name);
			fpd_plugin_settings_free(s);
			return NULL;
		}
	}
	return s;
}

const void *fpd_plugin_settings_get(const struct fpd_plugin_settings *s,
                                    const struct fpd_plugin *plugin)
{
	for (size_t i = 0; s && i < s->count; i++)
		if (s->plugins[i] == plugin)
			return s->data[i];
	return NULL;
}
