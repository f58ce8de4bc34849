/*
 * The engine's executions as JSON, for the admin endpoint (/executions).
 */
#ifndef FPD_ENGINE_REPORT_H
#define FPD_ENGINE_REPORT_H

#include "engine/engine.h"

#include <jansson.h>
#include <stddef.h>

/* The tracked executions as JSON (a new reference), sorted by namespace/name:
 * {"count": N, "shown": M, "executions": [...]}, at most limit of them, only those in
 * namespace_ when it is not NULL. Each tells its object (namespace, name, uid, plugin, kind),
 * Flyte identity, state, phase, code, message, log links and times (RFC 3339). */
json_t *fpd_engine_executions(const struct fpd_engine *e, const char *namespace_, size_t limit);

#endif
