/*
 * kube — a small, asynchronous Kubernetes API client for a libev daemon.
 *
 * Design note. The module has one job: talk to one API server robustly, the way client-go does,
 * without threads or blocking calls, and knowing nothing about what the objects mean.
 *
 *   creds.h      where the server is and who we are (kubeconfig, in-cluster)
 *   http.h       requests on libcurl: rate limit, Retry-After, deadlines, cancellation
 *                ← multi.h (libcurl on libev), transfer.h, endpoint.h (TLS, trust)
 *   client.h     REST verbs with typed API errors (this file)      ← status.h, resource.h
 *   discovery.h  kind → resource plural and scope, cached
 *   informer.h   list+watch per resource into a compact cache  ← store.h, stream.h, prune.h,
 *                backoff.h
 *
 * Calls are asynchronous: a function returns FPD_AGAIN once the request is under way and calls
 * `done` exactly once later, from the loop; or it returns a negative FPD_E* at once (bad
 * arguments) and never calls `done`. JSON is jansson: objects passed in are borrowed (the
 * client serialises them before returning); the result's object is borrowed for the duration of
 * the callback (json_incref it to keep it).
 */
#ifndef FPD_KUBE_CLIENT_H
#define FPD_KUBE_CLIENT_H

#include "core/config.h"
#include <flyteplugd/error.h>
#include "kube/creds.h"
#include "kube/http.h"
#include "kube/resource.h"
#include "kube/status.h"

#include <ev.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct fpd_kube_client;

struct fpd_kube_client_opts {
	double qps; /* overall client-side rate limit on calls; <= 0 disables it */
	int64_t burst;
	/* Own limits of creates (fpd_kube_create), reads of one object (fpd_kube_get) and
	 * deletes (fpd_kube_delete), spent besides the overall one (http.h); index by enum
	 * fpd_kube_budget, [FPD_KUBE_BUDGET_OTHER] unused; zero: none. */
	struct fpd_kube_budget_opts budgets[FPD_KUBE_BUDGET_COUNT];
	int64_t request_timeout_ms; /* every non-watch request */
	int64_t watch_timeout_ms;   /* informers watch for a random time in [this/2, this] */
	int64_t token_reload_ms;    /* token file re-read period; 0: 60 s */
	size_t max_response;        /* bound on a buffered response; 0: 64 MiB */
	const char *user_agent;     /* NULL: "flyteplugd" */
	bool calls_http1;           /* see fpd_kube_http_opts */
	bool no_watch_list;         /* informers list in pages, never streamed (informer.h) */
	bool protobuf;              /* informers read core/v1 pods in protobuf (kubepb.h) */
	bool protobuf_creates;      /* pods are created in protobuf (fpd_kube_encode_create) */
	long call_connections;      /* 0: 64 */
};

/* What the client keeps of the answer to a metadata_only write (JSON Pointers, NULL-ended). */
extern const char *const fpd_kube_metadata_kept[];

/* Fills o from the daemon configuration's kubernetes section (borrowed). */
void fpd_kube_client_opts_from_config(const struct fpd_config_kube *cfg,
                                      struct fpd_kube_client_opts *o);

/* A new client for creds (copied) on loop (borrowed; must outlive the client). opts may be NULL
 * (client-go's defaults: 5 qps, burst 10, 30 s requests, 10 min watches). */
int fpd_kube_client_new(struct ev_loop *loop, const struct fpd_kube_creds *creds,
                        const struct fpd_kube_client_opts *opts, struct fpd_kube_client **out,
                        struct fpd_error *err);

/* Frees the client. Pending calls complete first with FPD_EIO "client closed". Informers and
 * discovery caches built on the client must be freed before it. NULL is fine. */
void fpd_kube_client_free(struct fpd_kube_client *c);

/* Borrowed: the transport (informers use it), the default namespace of the credentials. */
struct fpd_kube_http *fpd_kube_client_http(const struct fpd_kube_client *c);
const char *fpd_kube_client_namespace(const struct fpd_kube_client *c);
const struct fpd_kube_client_opts *fpd_kube_client_opts(const struct fpd_kube_client *c);

struct fpd_kube_result {
	/* FPD_OK, or: for an API error fpd_kube_status_errcode(&status) (FPD_ENOENT for
	 * NotFound, FPD_EEXIST for AlreadyExists, FPD_EPERM, FPD_EINVAL, ...); for a transport
	 * failure FPD_EIO / FPD_ETIMEDOUT / FPD_ERANGE. */
	int code;
	struct fpd_kube_status status; /* status.http is 0 when no response arrived */
	json_t *object;                /* borrowed: the response document on success, or NULL */
	bool protobuf;                 /* the answer came in protobuf (a metadata_only answer) */
	struct fpd_error err; /* when code != FPD_OK: "GET /api/v1/...: NotFound (404): ..." */
};

/* Completion callback: res and what it points to are borrowed for the call. */
typedef void (*fpd_kube_done_fn)(void *ud, const struct fpd_kube_result *res);

struct fpd_kube_list_opts {
	const char *label_selector; /* checked before sending (fpd_kube_label_selector_check) */
	const char *field_selector;
	int64_t limit;              /* 0: no limit */
	const char *continue_token; /* from a previous page's metadata.continue */
	const char *resource_version;
	const char *resource_version_match; /* "NotOlderThan", "Exact" */
};

enum fpd_kube_patch_type {
	FPD_KUBE_PATCH_MERGE,     /* application/merge-patch+json (RFC 7386) */
	FPD_KUBE_PATCH_JSON,      /* application/json-patch+json (RFC 6902): patch is an array */
	FPD_KUBE_PATCH_STRATEGIC, /* application/strategic-merge-patch+json (built-in types) */
	FPD_KUBE_PATCH_APPLY,     /* server-side apply; needs field_manager */
};

struct fpd_kube_write_opts {
	const char *field_manager; /* required for apply */
	bool force;                /* apply: take fields other managers own */
	bool dry_run;              /* dryRun=All: validate and admit, persist nothing */
	/* Answer with the object's identity and version only (kind PartialObjectMetadata,
	 * apiVersion meta.k8s.io/v1; metadata name, generateName, namespace, uid,
	 * resourceVersion, generation, creationTimestamp, deletionTimestamp and
	 * deletionGracePeriodSeconds): for callers that have the rest, or learn it from a
	 * watch. */
	bool metadata_only;
};

enum fpd_kube_propagation {
	FPD_KUBE_PROPAGATE_DEFAULT, /* the resource's default */
	FPD_KUBE_PROPAGATE_BACKGROUND,
	FPD_KUBE_PROPAGATE_FOREGROUND,
	FPD_KUBE_PROPAGATE_ORPHAN,
};

struct fpd_kube_delete_opts {
	const char *uid; /* precondition: delete only this incarnation (409 otherwise) */
	const char *resource_version; /* precondition */
	enum fpd_kube_propagation propagation;
	int64_t grace_period_s; /* < 0: the object's default */
	bool dry_run;
};

/* GET one object (ref->name set). */
int fpd_kube_get(struct fpd_kube_client *c, const struct fpd_kube_ref *ref, fpd_kube_done_fn done,
                 void *ud, struct fpd_error *err);

/* GET a collection (ref->name empty; namespace empty = all namespaces). The whole page is
 * buffered: use limit/continue for big collections, or an informer. opts may be NULL. */
int fpd_kube_list(struct fpd_kube_client *c, const struct fpd_kube_ref *ref,
                  const struct fpd_kube_list_opts *opts, fpd_kube_done_fn done, void *ud,
                  struct fpd_error *err);

/* POST obj (borrowed) to the collection of ref. 409 AlreadyExists gives FPD_EEXIST. opts may be
 * NULL. */
int fpd_kube_create(struct fpd_kube_client *c, const struct fpd_kube_ref *ref, json_t *obj,
                    const struct fpd_kube_write_opts *opts, fpd_kube_done_fn done, void *ud,
                    struct fpd_error *err);
/* fpd_kube_create of an object already serialised: text (borrowed, len bytes) is its JSON. */
int fpd_kube_create_text(struct fpd_kube_client *c, const struct fpd_kube_ref *ref,
                         const char *text, size_t len, const struct fpd_kube_write_opts *opts,
                         fpd_kube_done_fn done, void *ud, struct fpd_error *err);

/* A create's body in Kubernetes' protobuf, the one client-go sends, which costs the API server
 * less to read than JSON: *out (new, for free(); *len bytes) is obj (borrowed), an object of
 * ref's collection, when the client creates in protobuf (opts.protobuf_creates), the
 * collection is core/v1 pods and the encoder takes obj (fpd_kubepb_encode: it refuses what the
 * API server would not read as it reads the JSON). FPD_ENOENT for another collection or with
 * protobuf_creates off,
 * FPD_EINVAL or FPD_ERANGE (past max bytes) for an object left to JSON; nothing allocated. */
int fpd_kube_encode_create(struct fpd_kube_client *c, const struct fpd_kube_ref *ref,
                           const json_t *obj, size_t max, char **out, size_t *len,
                           struct fpd_error *err);

/* fpd_kube_create_text with a body from fpd_kube_encode_create (borrowed, len bytes). */
int fpd_kube_create_protobuf(struct fpd_kube_client *c, const struct fpd_kube_ref *ref,
                             const char *body, size_t len, const struct fpd_kube_write_opts *o,
                             fpd_kube_done_fn done, void *ud, struct fpd_error *err);

/* The object a body from fpd_kube_encode_create holds, as the API server's JSON writes it
 * (*out new): the zero values JSON writes are there, nothing else differs. */
int fpd_kube_decode_created(struct fpd_kube_client *c, const char *body, size_t len,
                            json_t **out, struct fpd_error *err);

/* PUT obj (borrowed) over the object (or its subresource, e.g. "status"); a
 * metadata.resourceVersion in obj makes it a compare-and-swap (409 Conflict on a race). */
int fpd_kube_update(struct fpd_kube_client *c, const struct fpd_kube_ref *ref, json_t *obj,
                    const struct fpd_kube_write_opts *opts, fpd_kube_done_fn done, void *ud,
                    struct fpd_error *err);

/* PATCH the object (or its subresource) with patch (borrowed) of the given type. */
int fpd_kube_patch(struct fpd_kube_client *c, const struct fpd_kube_ref *ref,
                   enum fpd_kube_patch_type type, json_t *patch,
                   const struct fpd_kube_write_opts *opts, fpd_kube_done_fn done, void *ud,
                   struct fpd_error *err);

/* DELETE the object with DeleteOptions built from opts (may be NULL). 404 gives FPD_ENOENT,
 * a failed precondition 409 Conflict. */
int fpd_kube_delete(struct fpd_kube_client *c, const struct fpd_kube_ref *ref,
                    const struct fpd_kube_delete_opts *opts, fpd_kube_done_fn done, void *ud,
                    struct fpd_error *err);

/* Any other call: method, path with query (starting with '/'), an optional body (borrowed,
 * serialised) with its content type (NULL: application/json). */
int fpd_kube_request(struct fpd_kube_client *c, const char *method, const char *path, json_t *body,
                     const char *content_type, fpd_kube_done_fn done, void *ud,
                     struct fpd_error *err);

/* Abandons every pending call whose ud is ud: their callbacks will not run. For an owner that
 * goes away with calls in flight. */
void fpd_kube_cancel(struct fpd_kube_client *c, void *ud);

/* Number of calls in flight. */
size_t fpd_kube_pending(const struct fpd_kube_client *c);

#endif
