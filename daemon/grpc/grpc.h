/*
 * gRPC server on HTTP/2 (nghttp2), driven by the daemon's libev loop. Knows nothing of Flyte.
 *
 * A server listens on one address, plaintext h2c with prior knowledge or TLS with ALPN "h2".
 * Methods are registered by full path ("/package.Service/Method") before the server starts.
 * When a request message has fully arrived (and the client half-closed), the method's handler
 * runs with a call object and the request bytes. The handler may answer at once or keep the
 * call and answer later from any callback of the same loop.
 *
 * Call lifetime (the rules every handler follows):
 *   - The handler receives a *borrowed* reference to the call. It stays valid until the handler
 *     side completes it with fpd_grpc_call_reply(), fpd_grpc_call_fail() or
 *     fpd_grpc_call_finish(), or until the call's cancel callback returns, whichever is first.
 *     After that the pointer must not be used again.
 *   - A call that is never completed is still released: when the client resets the stream or
 *     goes away, when the deadline from grpc-timeout passes (the client then gets
 *     DEADLINE_EXCEEDED), when draining times out, or when the server is freed. Each of these
 *     runs the cancel callback, once, if one is set. The callback must not complete the call;
 *     it drops whatever pending work refers to it.
 *   - Completion never calls the cancel callback. A completed call is never cancelled.
 *   - Request bytes passed to the handler are borrowed for the duration of the handler only.
 *   - Response bytes passed to reply/send are copied; the caller keeps ownership.
 *
 * No function here may be called from another thread. Handlers and cancel callbacks must not
 * free the server.
 */
#ifndef FPD_GRPC_GRPC_H
#define FPD_GRPC_GRPC_H

#include "core/config.h"
#include <flyteplugd/error.h>

#include <ev.h>
#include <stddef.h>
#include <stdint.h>

/* gRPC status codes (google.rpc.Code). */
enum fpd_grpc_code {
	FPD_GRPC_OK = 0,
	FPD_GRPC_CANCELLED = 1,
	FPD_GRPC_UNKNOWN = 2,
	FPD_GRPC_INVALID_ARGUMENT = 3,
	FPD_GRPC_DEADLINE_EXCEEDED = 4,
	FPD_GRPC_NOT_FOUND = 5,
	FPD_GRPC_ALREADY_EXISTS = 6,
	FPD_GRPC_PERMISSION_DENIED = 7,
	FPD_GRPC_RESOURCE_EXHAUSTED = 8,
	FPD_GRPC_FAILED_PRECONDITION = 9,
	FPD_GRPC_ABORTED = 10,
	FPD_GRPC_OUT_OF_RANGE = 11,
	FPD_GRPC_UNIMPLEMENTED = 12,
	FPD_GRPC_INTERNAL = 13,
	FPD_GRPC_UNAVAILABLE = 14,
	FPD_GRPC_DATA_LOSS = 15,
	FPD_GRPC_UNAUTHENTICATED = 16,
};

/* "OK", "CANCELLED", ... ; "UNKNOWN_CODE" for values outside the enum. Never NULL. */
const char *fpd_grpc_code_name(int code);

enum fpd_grpc_kind {
	FPD_GRPC_UNARY,         /* one request, one response */
	FPD_GRPC_SERVER_STREAM, /* one request, zero or more responses */
};

struct fpd_grpc_server;
struct fpd_grpc_call;

/*
 * Runs when a request has arrived. req/len are borrowed for this call only; call is borrowed
 * until completed or cancelled (see the lifetime rules above). ud is the pointer given to
 * fpd_grpc_server_add_method.
 */
typedef void (*fpd_grpc_handler)(struct fpd_grpc_call *call, const uint8_t *req, size_t len,
                                 void *ud);

/*
 * Runs once when an uncompleted call goes away: code is FPD_GRPC_CANCELLED (client reset or
 * disconnect), FPD_GRPC_DEADLINE_EXCEEDED (grpc-timeout passed) or FPD_GRPC_UNAVAILABLE
 * (server draining timed out or freed). The call is still readable (method name, user data)
 * during the callback and gone after it returns.
 */
typedef void (*fpd_grpc_cancel_fn)(struct fpd_grpc_call *call, enum fpd_grpc_code code, void *ud);

/* Counters for the admin endpoint. */
struct fpd_grpc_stats {
	uint64_t connections;              /* open now */
	uint64_t connections_total;        /* accepted since start */
	uint64_t connections_refused;      /* closed at once because of max_connections */
	uint64_t connections_refused_peer; /* closed at once: max_connections_per_peer */
	uint64_t handshakes_refused;       /* TLS handshakes that failed (bad or no client cert) */
	uint64_t connections_timed_out;    /* no preface in handshake_timeout, or no request in
	                                      first_request_timeout */
	uint64_t calls_active;             /* dispatched and not yet completed or cancelled */
	uint64_t calls_total;              /* request streams opened since start */
	uint64_t request_bytes_buffered;   /* memory held now for requests: calls and their
	                                      message buffers as malloc takes them */
	uint64_t http2_state_bytes;        /* memory nghttp2 holds now for sessions and streams;
	                                      counts against max_buffered_request_bytes too */
	uint64_t requests_over_budget;     /* refused: max_buffered_request_bytes reached */
	uint64_t connections_reclaimed;    /* idle connections closed (GOAWAY) to make room in
	                                      max_buffered_request_bytes for a request */
	uint64_t requests_timed_out;       /* not received completely within receive_timeout */
};

/*
 * New server for loop (borrowed, must outlive the server) configured by cfg (borrowed, must
 * outlive the server). Loads the TLS certificate and key when cfg->tls names them, so a bad
 * certificate is reported before anything listens. Does not listen yet. NULL and err filled on
 * failure.
 */
struct fpd_grpc_server *fpd_grpc_server_new(struct ev_loop *loop, const struct fpd_config_grpc *cfg,
                                            struct fpd_error *err);

/*
 * Registers a method under its full path ("/pkg.Service/Method", copied). handler and ud are
 * borrowed until the server is freed. FPD_EEXIST when the path is taken, FPD_EINVAL when it is
 * malformed. Methods are added before fpd_grpc_server_start.
 */
int fpd_grpc_server_add_method(struct fpd_grpc_server *srv, const char *path,
                               enum fpd_grpc_kind kind, fpd_grpc_handler handler, void *ud,
                               struct fpd_error *err);

/* True when at least one method of service ("pkg.Service") is registered. */
int fpd_grpc_server_has_service(const struct fpd_grpc_server *srv, const char *service);

/*
 * Binds and listens on cfg->listen and starts accepting on the loop. Raises the open-file soft
 * limit when max_connections needs it. Logs the bound address (port 0 picks a free port, see
 * fpd_grpc_server_port). FPD_EIO with a message when the address cannot be bound.
 */
int fpd_grpc_server_start(struct fpd_grpc_server *srv, struct fpd_error *err);

/* The bound TCP port, 0 before start. */
int fpd_grpc_server_port(const struct fpd_grpc_server *srv);

/*
 * Graceful shutdown: stops accepting, sends GOAWAY on every connection, lets in-flight calls
 * complete for up to cfg->drain_timeout_ms, then cancels what remains (UNAVAILABLE) and closes
 * every connection. done(ud) runs once from the loop when no connection is left (it may free
 * the server). Calling it again while draining does nothing.
 */
void fpd_grpc_server_shutdown(struct fpd_grpc_server *srv, void (*done)(void *ud), void *ud);

/* Closes everything at once, cancelling uncompleted calls (UNAVAILABLE), and frees the server.
 * NULL is ignored. */
void fpd_grpc_server_free(struct fpd_grpc_server *srv);

/* Fills out with the current counters. */
void fpd_grpc_server_stats(const struct fpd_grpc_server *srv, struct fpd_grpc_stats *out);

/* --- calls ------------------------------------------------------------------------------ */

/* Sets (or replaces) the cancel callback and its user data (borrowed). */
void fpd_grpc_call_on_cancel(struct fpd_grpc_call *call, fpd_grpc_cancel_fn fn, void *ud);

/* The method's full path (borrowed, valid as long as the call). */
const char *fpd_grpc_call_method(const struct fpd_grpc_call *call);

/* Milliseconds left before the call's deadline, or -1 when the client set none. */
int64_t fpd_grpc_call_remaining_ms(const struct fpd_grpc_call *call);

/*
 * Unary success: sends msg (len bytes, copied) and status OK, completing the call.
 * When len is over max_send_message_bytes the client gets RESOURCE_EXHAUSTED instead and this
 * returns FPD_ERANGE; the call is completed either way. FPD_EINVAL if already completed.
 */
int fpd_grpc_call_reply(struct fpd_grpc_call *call, const void *msg, size_t len);

/*
 * Completes the call with a non-OK status (OK is allowed and ends a stream without error) and
 * a human-readable message (copied; may be NULL; long messages are truncated, the wire form is
 * percent-encoded). Returns FPD_OK, or FPD_EINVAL if already completed.
 */
int fpd_grpc_call_fail(struct fpd_grpc_call *call, enum fpd_grpc_code code, const char *message);

/*
 * Server streaming: queues one message (copied). The call stays open. FPD_ERANGE when len is
 * over max_send_message_bytes or the client is not reading fast enough for the queued bytes to
 * stay under the per-call bound (the caller may fail the call); FPD_EINVAL if completed or not
 * a streaming call.
 */
int fpd_grpc_call_send(struct fpd_grpc_call *call, const void *msg, size_t len);

/* Server streaming: ends the stream with status code and message (like fpd_grpc_call_fail,
 * which it is; the separate name reads better at call sites that end a stream normally). */
int fpd_grpc_call_finish(struct fpd_grpc_call *call, enum fpd_grpc_code code, const char *message);

#endif
