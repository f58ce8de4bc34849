/*
 * The Pod plugin: Flyte's container and pod task types as a single Pod. The pod building it
 * shares with the operator plugins is libflyteplugd's (<flyteplugd/pod.h>).
 */
#ifndef FPD_PLUGINS_POD_H
#define FPD_PLUGINS_POD_H

#include <flyteplugd/plugin.h>

extern const struct fpd_plugin fpd_plugin_pod;

#endif
