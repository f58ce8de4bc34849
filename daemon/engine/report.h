/*
 * The engine's executions as JSON, for the admin endpoint (/executions), one page at a time
 * and written in slices so that a large page never holds the event loop for long.
 */
#ifndef FPD_ENGINE_REPORT_H
#define FPD_ENGINE_REPORT_H

#include <flyteplugd/error.h>
#include "engine/engine.h"

#include <stddef.h>

/* Longest continue token accepted (a key is at most 63 + 1 + 253 bytes). */
#define FPD_ENGINE_PAGE_TOKEN_MAX 1024

/* A page of /executions being written (opaque). */
struct fpd_engine_page;

/* Chooses a page: the tracked executions (only those in namespace_ when it is not NULL) whose
 * namespace/name key sorts strictly after the one continue_token names (NULL or "": from the
 * first), at most limit (>= 1) of them, in key order. One pass over the table that keeps the
 * limit smallest keys in a heap (O(n log limit)); the page holds copies of the keys, not the
 * executions. NULL with err filled when continue_token is malformed or was made for another
 * namespace filter. The caller owns the page (fpd_engine_page_free). */
struct fpd_engine_page *fpd_engine_page_new(const struct fpd_engine *e, const char *namespace_,
                                            const char *continue_token, size_t limit,
                                            struct fpd_error *err);

/* Writes the next at most max bytes of the page's JSON to buf and returns how many; 0 when it
 * is all written. The JSON:
 *   {"count": N, "continue": "<token>", "executions": [...], "shown": M}
 * count: tracked executions (in the namespace); continue: present when executions sort after
 * the page's last (pass it back for the next page); shown: executions on this page. Each
 * execution tells its object (namespace, name, uid, plugin, kind), Flyte identity, state,
 * phase, code, message, log links and times (RFC 3339). Executions are read from e at each
 * call: one removed since fpd_engine_page_new is left out. Each call formats about max bytes
 * of JSON, so its cost is bounded by max. e may be NULL (the engine is gone): the JSON is
 * closed. */
size_t fpd_engine_page_read(struct fpd_engine_page *p, const struct fpd_engine *e, char *buf,
                            size_t max);

/* Executions on the page (chosen, not yet written). */
size_t fpd_engine_page_size(const struct fpd_engine_page *p);

void fpd_engine_page_free(struct fpd_engine_page *p);

#endif
