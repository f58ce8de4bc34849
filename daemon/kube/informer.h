/*
 * Informer: one list+watch of a resource (optionally one namespace, label and field selected)
 * keeping a cache of what matches, with add/update/delete callbacks — client-go's reflector
 * plus a store, for a single-threaded event loop.
 *
 * The reflector rules it follows (tools/cache/reflector.go):
 * - the list is a streaming list where the server has one (WatchList, KEP-3157): a WATCH with
 *   sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true sends
 *   the current state as ADDED events, then a BOOKMARK annotated k8s.io/initial-events-end at
 *   the list's resourceVersion, and goes on as the watch in the same stream: no response ever
 *   holds the whole collection, and the server encodes one object at a time from its watch
 *   cache. The informer is synced at that bookmark, not before;
 * - a server that refuses that watch (400, 422, 405, 501), or sends no event
 *   for watch_list_idle_ms before the bookmark, has no streaming list: from then on the
 *   informer LISTs in pages of page_size (limit/continue; the first page a consistent read,
 *   or NotOlderThan the RV it has); a 410 on a continue token starts that list over. So does
 *   opts.no_watch_list (or the client's);
 * - after a list, WATCH from its resourceVersion with allowWatchBookmarks=true and
 *   timeoutSeconds drawn uniformly from [watch_timeout/2, watch_timeout];
 * - every event's resourceVersion, BOOKMARKs included, becomes the point to resume from;
 * - the server ending the watch (its timeout), EOF, or the client timeout (server timeout plus
 *   a margin) → watch again from the last RV, no relist; a watch that ends in under a second
 *   with no event counts as a failure;
 * - 410 Gone/Expired, as HTTP status or as an ERROR event in a 200 stream → relist at the last
 *   RV; if that list is 410 too, relist at "" (a quorum read);
 * - connection errors, 429 and 5xx → exponential backoff with jitter (800 ms doubling to
 *   30 s, reset after 2 min without failures), then watch again; any other error → backoff and
 *   relist;
 * - after a list, cached objects the list did not contain get a delete callback (final state
 *   unknown), changed ones an update; nothing the server ends up with is missed.
 *
 * Memory and CPU: the informer never keeps JSON. Each object is reduced by a projection to its
 * namespace, name, uid, resourceVersion and the fields the owner declared (JSON Pointers,
 * optionally rewritten by a callback), stored compactly (store.h). List responses and watch
 * streams are parsed incrementally (stream.h), one object at a time, and each object is parsed
 * pruned to what the projection reads (prune.h). Pods are asked for in Kubernetes' protobuf
 * encoding when the client's opts.protobuf is set, as client-go asks (JSON accepted too, and
 * read when the answer's Content-Type says so): the same pruning, from protobuf (kubepb.h),
 * costs the API server and the informer less than JSON does.
 *
 * Callbacks run from the loop (from inside libcurl's write callback for watch events): they may
 * start requests, but must not free the informer or the client.
 */
#ifndef FPD_KUBE_INFORMER_H
#define FPD_KUBE_INFORMER_H

#include <flyteplugd/error.h>
#include "kube/client.h"
#include "kube/resource.h"
#include "kube/store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct fpd_kube_informer;
struct fpd_kube_proj;

/* One field to keep: an RFC 6901 JSON Pointer into the object ("/status/phase",
 * "/metadata/labels/app.kubernetes.io~1name"). Strings are kept as they are, numbers and
 * booleans as their JSON text, objects and arrays as compact JSON; a missing or null value is
 * NULL. intern: share equal values between objects (phases, label values), not for unique
 * ones (uids, timestamps). */
struct fpd_kube_field {
	const char *pointer; /* may be NULL for a field only the projection callback fills */
	bool intern;
};

/* The projection callback sees each object (borrowed, valid for the call) after the declared
 * pointers were applied and may rewrite any field with fpd_kube_proj_set. */
typedef void (*fpd_kube_project_fn)(void *ud, json_t *obj, struct fpd_kube_proj *p);

/* Field i as the pointers left it (borrowed), or NULL. */
const char *fpd_kube_proj_get(const struct fpd_kube_proj *p, size_t i);
/* Sets field i to a copy of value (NULL clears it). */
void fpd_kube_proj_set(struct fpd_kube_proj *p, size_t i, const char *value);

struct fpd_kube_informer_opts {
	struct fpd_kube_gvr gvr;    /* copied */
	const char *namespace_;     /* NULL/"": all namespaces (or a cluster-scoped resource) */
	const char *label_selector; /* copied; checked at creation */
	const char *field_selector;
	const struct fpd_kube_field *fields; /* copied; at most FPD_KUBE_MAX_FIELDS */
	size_t nfields;
	fpd_kube_project_fn project; /* optional */
	/* Pointers the projection callback reads (besides the fields'). Objects are parsed
	 * pruned to the metadata, the fields and these; a callback without keep sees the whole
	 * object, at the cost of parsing all of it. */
	const char *const *keep;
	size_t nkeep;

	/* Handlers, all optional; objects are borrowed for the call (see store.h accessors). */
	void (*on_add)(void *ud, const struct fpd_kube_obj *obj);
	void (*on_update)(void *ud, const struct fpd_kube_obj *old, const struct fpd_kube_obj *obj);
	/* obj is the object's last state: from the DELETED event, or, when the deletion was
	 * inferred from a relist (final_state_unknown), the last state the cache had. */
	void (*on_delete)(void *ud, const struct fpd_kube_obj *obj, bool final_state_unknown);
	void (*on_synced)(void *ud); /* after each complete list */
	void (*on_error)(void *ud, const struct fpd_error *err, int64_t retry_in_ms);
	void *ud; /* passed to every handler and to project */

	int64_t watch_timeout_ms;   /* 0: the client's watch_timeout_ms */
	int64_t list_timeout_ms;    /* per list page; 0: 5 min */
	int64_t backoff_initial_ms; /* 0: 800 ms */
	int64_t backoff_max_ms;     /* 0: 30 s */
	int64_t page_size;          /* list limit; 0: 500 */
	size_t max_object_bytes;    /* one watch event or list item; 0: 16 MiB */
	bool no_watch_list;         /* paged lists only, never a streaming list */
	int64_t watch_list_idle_ms; /* silence before the end bookmark = unsupported; 0: 10 s */
};

struct fpd_kube_informer_stats {
	uint64_t lists; /* complete lists */
	uint64_t list_pages;
	uint64_t relists_gone;   /* lists caused by 410 */
	uint64_t watches;        /* watch requests started */
	uint64_t watch_timeouts; /* watches the server (or the client timeout) ended normally */
	uint64_t failures;       /* errors reported through on_error */
	uint64_t adds, updates, deletes, inferred_deletes, bookmarks;
	uint64_t watch_lists;          /* of the complete lists, those streamed (WatchList) */
	uint64_t watch_list_fallbacks; /* times the server had no streaming list: paged lists */
};

/* A new informer on client c (borrowed; must outlive it). Nothing is sent until start.
 * FPD_EINVAL for a bad selector or too many fields. */
int fpd_kube_informer_new(struct fpd_kube_client *c, const struct fpd_kube_informer_opts *opts,
                          struct fpd_kube_informer **out, struct fpd_error *err);

/* Starts listing and watching. */
void fpd_kube_informer_start(struct fpd_kube_informer *inf);

/* Stops everything and frees the informer and its cache (no delete callbacks). Not from one of
 * its own callbacks. NULL is fine. */
void fpd_kube_informer_free(struct fpd_kube_informer *inf);

/* True once the first complete list has been applied. */
bool fpd_kube_informer_synced(const struct fpd_kube_informer *inf);

/* Borrowed cached object, or NULL. ns NULL for cluster-scoped objects. */
const struct fpd_kube_obj *fpd_kube_informer_get(const struct fpd_kube_informer *inf,
                                                 const char *ns, const char *name);
size_t fpd_kube_informer_count(const struct fpd_kube_informer *inf);
void fpd_kube_informer_each(const struct fpd_kube_informer *inf,
                            void (*fn)(void *ud, const struct fpd_kube_obj *o), void *ud);

/* Called once per wait: obj (borrowed for the call) is the object as the informer received it,
 * or NULL when a list completed without it or the wait timed out. */
typedef void (*fpd_kube_wait_fn)(void *ud, const struct fpd_kube_obj *obj);

/* Tells the caller when object ns/name (ns NULL for cluster-scoped) is in the cache: for a
 * cache miss that should not cost a GET of its own, e.g. a status call after a restart while
 * the first list is still arriving, or an object created a moment ago whose watch event is on
 * its way. Returns FPD_OK when the object is cached now (read it with fpd_kube_informer_get;
 * fn is not called). Otherwise returns FPD_AGAIN and calls fn exactly once, from the loop:
 * - with the object, from the list item or watch event that delivers it;
 * - with NULL when the list in progress (or the next one, when the informer is watching)
 *   completes without it: the caller then GETs it, or knows it is not there;
 * - with NULL after timeout_ms (> 0; <= 0: no timeout, only a list completion ends it).
 * A synced informer that keeps watching completes no list until a relist: give such waits a
 * timeout. fn may wait again or cancel other waits. FPD_EINVAL without a name or fn.
 * Waits still pending when the informer is freed are dropped without a call. */
int fpd_kube_informer_wait(struct fpd_kube_informer *inf, const char *ns, const char *name,
                           int64_t timeout_ms, fpd_kube_wait_fn fn, void *ud,
                           struct fpd_error *err);

/* Drops every pending wait whose ud is ud, without calls: for an owner that goes away. */
void fpd_kube_informer_wait_cancel(struct fpd_kube_informer *inf, void *ud);

/* Number of pending waits. */
size_t fpd_kube_informer_waiting(const struct fpd_kube_informer *inf);

/* The resourceVersion the informer would resume from (borrowed; "" before the first list). */
const char *fpd_kube_informer_resource_version(const struct fpd_kube_informer *inf);
void fpd_kube_informer_get_stats(const struct fpd_kube_informer *inf,
                                 struct fpd_kube_informer_stats *out);
/* Heap bytes held by the cache (store.h). */
size_t fpd_kube_informer_bytes(const struct fpd_kube_informer *inf);

/* RFC 6901 JSON Pointer lookup: the borrowed value at ptr in root, or NULL. "" is root itself. */
json_t *fpd_kube_json_pointer(json_t *root, const char *ptr);

#endif
