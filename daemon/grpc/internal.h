/*
 * Structures shared by the files of daemon/grpc (server.c, conn.c, call.c). Nothing outside
 * this folder includes it.
 */
#ifndef FPD_GRPC_INTERNAL_H
#define FPD_GRPC_INTERNAL_H

#include "grpc/conn.h"
#include "grpc/grpc.h"
#include "grpc/wire.h"

#include <nghttp2/nghttp2.h>
#include <stdbool.h>

/* Longest method path we accept; longer ones cannot be registered, so they are UNIMPLEMENTED. */
#define FPD_GRPC_PATH_MAX 256
/* Request header block bound per stream (names + values), like grpc's default 16 KiB. */
#define FPD_GRPC_HEADER_BYTES_MAX (16 * 1024)
/* Output serialized ahead of the socket; reading pauses above it (slow readers). */
#define FPD_GRPC_OUT_HIGH_WATER (256 * 1024)
/* Longest grpc-message we send, before percent-encoding. */
#define FPD_GRPC_MESSAGE_MAX 1024
/* Streaming responses may queue this much beyond one maximum-size message. */
#define FPD_GRPC_STREAM_SLACK (64 * 1024)

struct fpd_grpc_method {
	char *path;
	enum fpd_grpc_kind kind;
	fpd_grpc_handler handler;
	void *ud;
};

struct fpd_grpc_server {
	struct ev_loop *loop;
	const struct fpd_config_grpc *cfg;
	struct fpd_grpc_method *methods;
	size_t method_count;
	nghttp2_session_callbacks *callbacks;
	nghttp2_option *options;
	nghttp2_mem h2_mem; /* counts nghttp2's memory in stats.http2_state_bytes */
	struct fpd_grpc_stats stats;
	struct fpd_grpc_conn *conns; /* every session (conn.c): idle ones are closed for room */

	/* Sockets (server.c). */
	void *ssl_ctx; /* SSL_CTX *, NULL for h2c */
	int listen_fd;
	int port;
	ev_io accept_watcher;
	ev_timer accept_backoff; /* resumes accepting after EMFILE */
	struct fpd_grpc_socket *sockets;
	struct fpd_grpc_socket *in_io; /* whose I/O callback is running; compared, never used */
	bool draining;
	ev_timer drain_timer;
	ev_timer done_timer;        /* runs done() from the loop, never from inside a teardown */
	ev_timer trim_timer;        /* returns freed memory to the kernel after connections close */
	ev_tstamp refusal_logged;   /* last refused handshake logged */
	uint64_t refusals_unlogged; /* refused since, not logged */
	void (*drain_done)(void *ud);
	void *drain_done_ud;
};

enum call_state {
	CALL_RECEIVING, /* request not complete; the transport owns the call */
	CALL_HANDLER,   /* dispatched; the handler holds it */
	CALL_DONE,      /* completed (by the handler or with an error status) */
};

struct fpd_grpc_call {
	struct fpd_grpc_server *srv;
	struct fpd_grpc_conn *conn; /* NULL once the session is gone */
	struct fpd_grpc_call *prev, *next;
	int32_t stream_id;
	enum call_state state;
	bool stream_closed;
	bool headers_done;  /* request headers complete */
	bool response_open; /* response HEADERS submitted with a data provider */
	bool finished;      /* trailers are to follow the queued data */
	bool compressed_ok; /* the request's grpc-encoding is one we could decode (identity) */
	bool in_cancel;     /* inside the cancel callback */
	bool has_message;   /* one request message complete */
	bool content_type_seen;
	bool teardown; /* its connection is being freed; the teardown loop frees it */
	const struct fpd_grpc_method *method;
	size_t header_bytes;
	char path[FPD_GRPC_PATH_MAX];
	char encoding[32];
	int http_error;     /* early HTTP status to answer with (415, 405), 0 if none */
	int64_t timeout_ms; /* -1: no grpc-timeout; -2: malformed */
	ev_tstamp deadline; /* ev_now() based, valid when timeout_ms >= 0 */
	ev_timer deadline_timer;
	struct fpd_grpc_framer framer;
	/* Request bytes received and not yet returned to the conn window. */
	size_t unconsumed;
	/* Memory of the message buffer charged to the server's max_buffered_request_bytes. */
	size_t charged;
	ev_timer receive_timer; /* receive_timeout: the request must end by then */
	struct fpd_buf out;     /* length-prefixed response messages not yet taken by nghttp2 */
	size_t out_pos;         /* bytes of out already taken */
	int status;
	char *status_message;
	fpd_grpc_cancel_fn cancel_fn;
	void *cancel_ud;
};

struct fpd_grpc_conn {
	struct fpd_grpc_server *srv;
	struct fpd_grpc_conn *srv_prev, *srv_next; /* in srv->conns */
	nghttp2_session *h2;
	struct fpd_buf out;
	size_t out_pos;              /* bytes of out already written to the peer */
	struct fpd_grpc_call *calls; /* every call with a live stream or a handler */
	size_t call_count;
	ev_tstamp idle_since; /* when call_count last became 0 */
	void (*kick)(void *ud);
	void *kick_ud;
	bool in_recv; /* inside nghttp2_session_mem_recv: no kick needed */
	bool preface; /* the client's preface (magic and SETTINGS) has arrived */
	bool served;  /* a request stream has ended (first_request_timeout is met) */
	bool failed;  /* session error: nothing more will be processed */
	bool closing; /* being freed: callbacks touch nothing */
};

/* call.c */
struct fpd_grpc_call *fpd_grpc_call_new(struct fpd_grpc_conn *conn, int32_t stream_id);
/* What one call struct costs: charged to the request budget from creation to free. */
size_t fpd_grpc_call_footprint(void);
/* Runs the handler with the complete request; answers errors found at dispatch. */
void fpd_grpc_call_dispatch(struct fpd_grpc_call *call);
/* The stream closed (RST, end of response, connection gone): cancels or frees the call. */
void fpd_grpc_call_stream_closed(struct fpd_grpc_call *call, enum fpd_grpc_code code);
/* Completes the call with an error status decided by the transport. */
void fpd_grpc_call_abort(struct fpd_grpc_call *call, enum fpd_grpc_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Answers an HTTP-level error (415, 405...) without gRPC semantics beyond a grpc-status. */
void fpd_grpc_call_http_error(struct fpd_grpc_call *call, int http_status);
/* Starts the deadline timer from the parsed grpc-timeout. */
void fpd_grpc_call_start_deadline(struct fpd_grpc_call *call);
/* Connection teardown: cancels the call if a handler holds it, then frees it. */
void fpd_grpc_call_teardown(struct fpd_grpc_call *call, enum fpd_grpc_code code);

/* conn.c */
/* The nghttp2 callbacks and options every session shares (new; freed by the server). */
nghttp2_session_callbacks *fpd_grpc_conn_callbacks(void);
nghttp2_option *fpd_grpc_conn_options(void);
/* The allocator every session of srv uses: nghttp2's memory counted in srv's stats. */
nghttp2_mem fpd_grpc_conn_mem(struct fpd_grpc_server *srv);
/* Returns request bytes to the connection's flow-control window. */
void fpd_grpc_conn_release(struct fpd_grpc_conn *conn, size_t n);
void fpd_grpc_conn_unlink(struct fpd_grpc_conn *conn, struct fpd_grpc_call *call);
/* Asks the owner to flush when outside fpd_grpc_conn_recv. */
void fpd_grpc_conn_kick(struct fpd_grpc_conn *conn);

/* server.c */
const struct fpd_grpc_method *fpd_grpc_server_find(const struct fpd_grpc_server *srv,
                                                   const char *path);

#endif
