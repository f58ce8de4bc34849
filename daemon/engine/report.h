/*
 * The engine's executions as JSON, for the admin endpoint (/executions), one page at a time,
 * chosen and written in slices so that a large page never holds the event loop for long.
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

/* Slots of the execution table one fpd_engine_page_choose slice looks at: 5 - 10 us of CPU on
 * average, at most some 40 us at 100,000 executions (bench/admin/README.md), no longer than a
 * slice of fpd_engine_page_read. */
#define FPD_ENGINE_PAGE_CHOOSE_SLOTS 256
/* Rehashes of the table that restart a walk before the walk is finished in one go. */
#define FPD_ENGINE_PAGE_RESTARTS_MAX 3

/* Starts a page: the tracked executions (only those in namespace_ when it is not NULL) whose
 * namespace/name key sorts strictly after the one continue_token names (NULL or "": from the
 * first), at most limit (0 means 1) of them, in key order. Nothing is read from the engine
 * yet: fpd_engine_page_choose walks the table. The page copies namespace_ and the token's key.
 * NULL with err filled when continue_token is malformed or was made for another namespace
 * filter. The caller owns the page (fpd_engine_page_free). */
struct fpd_engine_page *fpd_engine_page_new(const char *namespace_, const char *continue_token,
                                            size_t limit, struct fpd_error *err);

/* Chooses the page's executions by walking e's table, at most slots slots per call (SIZE_MAX:
 * to the end), keeping the limit smallest keys in a heap of copies (O(n log limit) in all).
 * FPD_AGAIN: call again (a later loop turn) to go on; FPD_OK: the page is chosen (again FPD_OK
 * from then on). The table may change between calls: a key removed after it was taken is
 * left out by fpd_engine_page_read, a key added may or may not be on the page (as with the
 * continue token), and a rehash of the table (it grew) restarts the walk; after
 * FPD_ENGINE_PAGE_RESTARTS_MAX restarts the call walks to the end whatever slots says, so a
 * walk always ends. count (see fpd_engine_page_read) is what the walk saw. e may be NULL (the
 * engine is gone): the page is what was found so far. Borrows e for the call only. */
int fpd_engine_page_choose(struct fpd_engine_page *p, const struct fpd_engine *e, size_t slots);

/* Restarts of the walk so far (the table was rehashed under it). */
unsigned fpd_engine_page_restarts(const struct fpd_engine_page *p);

/* The page's i-th key ("namespace/name", borrowed from the page), in key order; NULL when
 * i >= fpd_engine_page_size or the page is not chosen yet. */
const char *fpd_engine_page_key(const struct fpd_engine_page *p, size_t i);

/* Writes the next at most max bytes of the page's JSON to buf and returns how many; 0 when it
 * is all written. The JSON:
 *   {"count": N, "continue": "<token>", "executions": [...], "shown": M}
 * count: tracked executions (in the namespace); continue: present when executions sort after
 * the page's last (pass it back for the next page); shown: executions on this page. Each
 * execution tells its object (namespace, name, uid, plugin, kind), Flyte identity, state,
 * phase, code, message, log links and times (RFC 3339). Executions are read from e at each
 * call: one removed since it was chosen is left out. A page not yet chosen is chosen first, in
 * one go (fpd_engine_page_choose with SIZE_MAX): a caller that bounds its time per loop turn
 * calls fpd_engine_page_choose until FPD_OK first. Each call formats about max bytes
 * of JSON, so its cost is bounded by max. e may be NULL (the engine is gone): the JSON is
 * closed. */
size_t fpd_engine_page_read(struct fpd_engine_page *p, const struct fpd_engine *e, char *buf,
                            size_t max);

/* Executions on the page (chosen, not yet written; 0 before it is chosen). */
size_t fpd_engine_page_size(const struct fpd_engine_page *p);

void fpd_engine_page_free(struct fpd_engine_page *p);

#endif
