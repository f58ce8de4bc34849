/*
 * The plugins compiled into flyteplugd. The daemon registers every one of them (subject to
 * plugins.enabled in the configuration) before it starts serving.
 */
#ifndef FPD_PLUGINS_BUILTIN_H
#define FPD_PLUGINS_BUILTIN_H

#include <flyteplugd/plugin.h>
#include <stddef.h>

/* The built-in descriptors (borrowed, static). *count receives their number. */
const struct fpd_plugin *const *fpd_builtin_plugins(size_t *count);

#endif
