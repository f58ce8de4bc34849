/*
 * HTTP to the API server, on libcurl alone: an asynchronous exchange per request with a
 * completion callback, no blocking call and no thread. The pieces, each a file of its own:
 *   http.c       the request queue: rate limit, retries, deadlines, cancellation, tokens
 *   multi.h      libcurl's multi-socket interface on the libev loop (curl's evhiperfifo)
 *   transfer.h   one attempt as an easy handle, and reading its answer
 *   endpoint.h   where the server is and how it is trusted (TLS, client certificate, proxy)
 * Two lanes, each a multi handle with its own connections: watches multiplexed over HTTP/2,
 * and calls (kept-alive HTTP/1.1 with opts.calls_http1, the daemon's default; else HTTP/2),
 * whose sockets are served first when both are ready.
 *
 * Each request is an asynchronous exchange with a completion callback. Around it:
 * - client-side token buckets: each request belongs to a budget (creates, reads of one object,
 *   deletes, everything else), waits first come first served in its budget's queue for a
 *   token of its budget and one of the overall limit (qps/burst). A budget's queue never
 *   blocks another's: a thousand cache-miss GETs after a restart do not hold up a create.
 *   Requests marked `unlimited` (watches) skip all of it;
 * - Retry-After: a 429 or 5xx answer carrying it is retried after that delay, up to
 *   max_retries times (client-go rest.Request checkWait), unless the request says no_retry;
 *   a 429 without one after 1 s. A 429 (the server's max-in-flight filter or API Priority
 *   and Fairness) also pauses the request's budget until then: the rest of that budget waits
 *   too instead of adding to the overload, and resumes at its qps from an empty bucket;
 * - a timeout on every attempt; bounded response buffers;
 * - bearer tokens from a token file re-read every token_reload_ms and after a 401.
 *
 * libcurl forbids calling the multi API from inside its callbacks; starting or cancelling a
 * request from inside on_data is therefore allowed and deferred to the next loop iteration.
 */
#ifndef FPD_KUBE_HTTP_H
#define FPD_KUBE_HTTP_H

#include <flyteplugd/error.h>
#include "kube/creds.h"

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fpd_kube_http;
struct fpd_kube_http_req;

/* What a request spends its rate-limit token from, besides the overall limit. */
enum fpd_kube_budget {
	FPD_KUBE_BUDGET_OTHER,  /* lists, updates, patches, leases, discovery, ... */
	FPD_KUBE_BUDGET_CREATE, /* POST of a new object */
	FPD_KUBE_BUDGET_READ,   /* GET of one object */
	FPD_KUBE_BUDGET_DELETE, /* DELETE of one object */
	FPD_KUBE_BUDGET_COUNT,
};

/* Names for logs and metrics: "other", "create", "read", "delete". */
const char *fpd_kube_budget_name(enum fpd_kube_budget b);

struct fpd_kube_budget_opts {
	double qps;    /* <= 0: no limit of its own (the overall limit still applies) */
	int64_t burst; /* < 1: 1 */
};

struct fpd_kube_http_opts {
	double qps;    /* overall limit on every request but watches; <= 0: none */
	int64_t burst; /* default 10 */
	/* Each budget's own limit; [FPD_KUBE_BUDGET_OTHER] is not used (other requests spend
	 * only from the overall limit), all zero: none. */
	struct fpd_kube_budget_opts budgets[FPD_KUBE_BUDGET_COUNT];
	int64_t timeout_ms;         /* per attempt of a request with no timeout of its own; 30 s */
	int64_t connect_timeout_ms; /* default 10 s */
	int64_t token_reload_ms;    /* token file re-read period; default 60 s */
	size_t max_response;        /* buffered body bound; default 64 MiB */
	int max_retries;            /* Retry-After retries; default 10; < 0: none */
	int64_t max_retry_after_ms; /* a longer Retry-After is cut to this; default 60 s */
	long max_connections;       /* HTTP/2 connections per lane; more requests wait; 4 */
	long max_streams;           /* HTTP/2 streams per connection (watches hold one); 100 */
	/* Calls (every request but watches) over kept-alive HTTP/1.1 connections, at most
	 * max_call_connections of them (default 64), instead of HTTP/2: the API server answers a
	 * single request faster over HTTP/1.1 (bench/kube/README.md, "Calls"). Watches always use
	 * HTTP/2, on connections of their own. */
	bool calls_http1;
	long max_call_connections;
	const char *user_agent; /* copied; default "flyteplugd" */
};

struct fpd_kube_http_result {
	/* FPD_OK when a response arrived (whatever its HTTP status); otherwise FPD_EIO (could not
	 * connect, connection lost, TLS), FPD_ETIMEDOUT, FPD_ERANGE (response over the bound),
	 * FPD_ERR (on_data asked to stop). */
	int code;
	long status;      /* HTTP status; 0 when none arrived */
	const char *body; /* borrowed, NUL-terminated: the buffered body ("" for a streamed 2xx) */
	size_t len;
	int64_t retry_after_ms; /* the last Retry-After seen, -1 when none */
	int attempts;
	long http_version;    /* CURL_HTTP_VERSION_2_0 when multiplexed over HTTP/2 */
	int64_t elapsed_ms;   /* from the first attempt's start to completion */
	struct fpd_error err; /* when code != FPD_OK: what happened, naming the server */
};

/* Streaming: called with each chunk of a 2xx body (borrowed). Return nonzero to stop the
 * transfer; on_done then reports FPD_ERR. */
typedef int (*fpd_kube_data_fn)(void *ud, const char *data, size_t len);
/* Completion: called exactly once per started request unless it was cancelled; the result and
 * everything it points to are borrowed for the duration of the call. */
typedef void (*fpd_kube_http_done_fn)(void *ud, const struct fpd_kube_http_result *r);

struct fpd_kube_http_spec {
	const char *method;       /* "GET", "POST", "PUT", "PATCH", "DELETE" */
	const char *path;         /* path and query, starting with '/' */
	const char *content_type; /* of body; NULL without a body */
	const void *body;         /* copied; may be NULL */
	size_t body_len;
	bool stream;    /* hand a 2xx body to on_data as it arrives instead of buffering it */
	bool unlimited; /* skip the rate limiter (watches) */
	bool no_retry;  /* the caller retries by itself: report 429/5xx as they come */
	enum fpd_kube_budget budget; /* which rate-limit budget; default other */
	int64_t timeout_ms;          /* 0: opts.timeout_ms */
	size_t max_response;         /* 0: opts.max_response */
	const char *accept;          /* the Accept header's value; NULL: application/json */
	fpd_kube_data_fn on_data;
	fpd_kube_http_done_fn on_done;
	void *ud;
};

struct fpd_kube_http_stats {
	uint64_t started;   /* attempts put on the wire */
	uint64_t completed; /* requests finished (callback called) */
	uint64_t retries;   /* attempts repeated after Retry-After */
	uint64_t throttled; /* times a request had to wait for the rate limiter */
	/* The server's pushback: 429 answers; of them, those API Priority and Fairness sent
	 * (X-Kubernetes-PF-FlowSchema-UID); budget pauses they caused, per budget. */
	uint64_t too_many_requests;
	uint64_t apf_rejections;
	uint64_t budget_pauses[FPD_KUBE_BUDGET_COUNT];
	size_t waiting[FPD_KUBE_BUDGET_COUNT]; /* requests queued for a token now */
	uint64_t bytes_in;
	uint64_t connects; /* new connections opened (all else reused or multiplexed) */
	uint64_t token_reloads;
	size_t active; /* requests not finished */
};

/* A new transport for the server in creds (copied) on loop (borrowed; must outlive it). opts may
 * be NULL for the defaults. FPD_EINVAL if creds has no usable server URL. */
int fpd_kube_http_new(struct ev_loop *loop, const struct fpd_kube_creds *creds,
                      const struct fpd_kube_http_opts *opts, struct fpd_kube_http **out,
                      struct fpd_error *err);

/* Finishes every pending request with FPD_EIO "client closed" (their callbacks run), then frees
 * the transport. Must not be called from one of its callbacks. NULL is fine. */
void fpd_kube_http_free(struct fpd_kube_http *h);

/* Starts a request. On success returns FPD_OK and, if out is not NULL, a borrowed handle valid
 * until on_done returns (or until cancelled). Errors (FPD_EINVAL for a bad spec) are returned
 * at once and on_done is not called. */
int fpd_kube_http_start(struct fpd_kube_http *h, const struct fpd_kube_http_spec *spec,
                        struct fpd_kube_http_req **out, struct fpd_error *err);

/* The Content-Type of the answer whose body on_data is being given ("" when it has none);
 * meant for on_data, which may see a retried attempt's answer after a failed one's. */
const char *fpd_kube_http_content_type(const struct fpd_kube_http_req *req);

/* Abandons a request: no callback follows. Harmless from inside its own on_data or on_done. */
void fpd_kube_http_cancel(struct fpd_kube_http *h, struct fpd_kube_http_req *req);

/* Re-reads the token file now (the transport also does so every token_reload_ms and after a
 * 401). FPD_OK when there is no token file. */
int fpd_kube_http_reload_token(struct fpd_kube_http *h, struct fpd_error *err);

/* The credentials in use (borrowed). */
const struct fpd_kube_creds *fpd_kube_http_creds(const struct fpd_kube_http *h);
struct ev_loop *fpd_kube_http_loop(const struct fpd_kube_http *h);
void fpd_kube_http_get_stats(const struct fpd_kube_http *h, struct fpd_kube_http_stats *out);

/* Milliseconds a Retry-After header value asks for (delta-seconds or an HTTP date, relative to
 * now_wall_ms), or -1 if it is neither. */
int64_t fpd_kube_http_parse_retry_after(const char *value, size_t len, int64_t now_wall_ms);

#endif
