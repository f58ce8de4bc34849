/*
 * One HTTP/2 connection's gRPC session (see conn.h): nghttp2 callbacks turn frames into calls.
 *
 * Flow control is manual (NGHTTP2_OPT_NO_AUTO_WINDOW_UPDATE) so that request bytes we hold
 * count against the connection window until the handler has seen them: stream windows are
 * returned as soon as bytes arrive (each stream is bounded by max_recv_message_bytes anyway),
 * connection windows only when the buffered request is released. A client therefore cannot
 * make one connection hold more than the connection window in request buffers, however many
 * streams it opens.
 *
 * Across connections, the memory requests hold counts against the server's
 * max_buffered_request_bytes: a stream whose next DATA would take it over is answered
 * RESOURCE_EXHAUSTED (and reset) instead of buffered. What counts is what the allocator gives,
 * not the bytes received: each call's own struct, the capacity of its message buffer (wire.c
 * grows it in bounded steps, never to the declared length at once) with malloc's headers and
 * page rounding, and every byte nghttp2 allocates for its sessions and streams (counted by its
 * nghttp2_mem hooks). The check is made before the buffer grows, and again when a stream's
 * headers are complete, so streams that send no DATA are bounded too. Together with
 * receive_timeout (call.c), which ends requests that do not finish, memory held for requests
 * has a ceiling and every byte of it is given back in bounded time.
 *
 * Idle sessions cost too (about 26 KiB each), and an idle connection may stay for idle_timeout:
 * enough of them would fill the budget and refuse every request for that long. So before a
 * request is refused, idle connections other than its own are closed with GOAWAY and their
 * sessions freed, oldest idle first, until it fits. Idle means: a request has been served on
 * it, none is open, and none for RECLAIM_IDLE. Connections yet to serve a request are left to
 * first_request_timeout, and a client between two calls keeps its connection. A client loses
 * nothing by it: a GOAWAY with no stream in flight only makes it connect again.
 */
#include "grpc/internal.h"

#include "core/log.h"
#include <flyteplugd/mem.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Per-stream receive window: large enough that a typical CreateTask needs no WINDOW_UPDATE. */
#define STREAM_WINDOW (1024 * 1024)
/* Idle connections are closed for request memory once idle this long (seconds): a client
 * between two calls keeps its connection. */
#define RECLAIM_IDLE 5.
/* Output buffer hard bound: the high-water mark plus one maximum frame. */
#define OUT_MAX (FPD_GRPC_OUT_HIGH_WATER + 64 * 1024)

static struct fpd_grpc_call *stream_call(nghttp2_session *h2, int32_t stream_id)
{
	return nghttp2_session_get_stream_user_data(h2, stream_id);
}

void fpd_grpc_conn_kick(struct fpd_grpc_conn *conn)
{
	if (conn && !conn->in_recv && conn->kick)
		conn->kick(conn->kick_ud);
}

void fpd_grpc_conn_release(struct fpd_grpc_conn *conn, size_t n)
{
	if (conn && conn->h2 && !conn->closing && n)
		nghttp2_session_consume_connection(conn->h2, n);
}

void fpd_grpc_conn_unlink(struct fpd_grpc_conn *conn, struct fpd_grpc_call *call)
{
	if (call->prev)
		call->prev->next = call->next;
	else
		conn->calls = call->next;
	if (call->next)
		call->next->prev = call->prev;
	call->prev = call->next = NULL;
	if (--conn->call_count == 0)
		conn->idle_since = ev_now(conn->srv->loop);
}

static ssize_t on_send(nghttp2_session *h2, const uint8_t *data, size_t len, int flags, void *ud)
{
	struct fpd_grpc_conn *conn = ud;
	struct fpd_buf *out = &conn->out;
	if (conn->out_pos == out->len) {
		fpd_buf_reset(out);
		conn->out_pos = 0;
	} else if (conn->out_pos > out->len / 2) {
		/* Compact rarely and only when most of the buffer is already written. */
		memmove(out->data, out->data + conn->out_pos, out->len - conn->out_pos);
		out->len -= conn->out_pos;
		conn->out_pos = 0;
	}
	if (out->len - conn->out_pos >= FPD_GRPC_OUT_HIGH_WATER)
		return NGHTTP2_ERR_WOULDBLOCK;
	size_t room = out->max - out->len;
	if (len > room)
		len = room;
	if (len == 0)
		return NGHTTP2_ERR_WOULDBLOCK;
	fpd_buf_append(out, data, len);
	return (ssize_t)len;
}

static int on_begin_headers(nghttp2_session *h2, const nghttp2_frame *frame, void *ud)
{
	struct fpd_grpc_conn *conn = ud;
	if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	struct fpd_grpc_call *call = fpd_grpc_call_new(conn, frame->hd.stream_id);
	nghttp2_session_set_stream_user_data(h2, frame->hd.stream_id, call);
	return 0;
}

static bool header_is(const uint8_t *name, size_t len, const char *want)
{
	size_t n = strlen(want);
	return len == n && memcmp(name, want, n) == 0;
}

static void copy_value(char *dst, size_t size, const uint8_t *value, size_t len)
{
	if (len >= size)
		len = size - 1;
	memcpy(dst, value, len);
	dst[len] = '\0';
}

static int on_header(nghttp2_session *h2, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
	struct fpd_grpc_call *call = stream_call(h2, frame->hd.stream_id);
	if (!call || call->headers_done) /* trailers from a client carry nothing we use */
		return 0;
	call->header_bytes += namelen + valuelen + 32;
	if (call->header_bytes > FPD_GRPC_HEADER_BYTES_MAX)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* resets this stream only */
	if (header_is(name, namelen, ":path")) {
		if (valuelen >= sizeof(call->path))
			call->path[0] = '\0'; /* too long to be a registered method */
		else
			copy_value(call->path, sizeof(call->path), value, valuelen);
	} else if (header_is(name, namelen, ":method")) {
		if (!(valuelen == 4 && memcmp(value, "POST", 4) == 0))
			call->http_error = 405;
	} else if (header_is(name, namelen, "content-type")) {
		if (!fpd_grpc_content_type_ok((const char *)value, valuelen) && !call->http_error)
			call->http_error = 415;
		call->content_type_seen = true;
	} else if (header_is(name, namelen, "grpc-timeout")) {
		int64_t ms;
		call->timeout_ms =
		    fpd_grpc_timeout_parse((const char *)value, valuelen, &ms) ? -2 : ms;
	} else if (header_is(name, namelen, "grpc-encoding")) {
		copy_value(call->encoding, sizeof(call->encoding), value, valuelen);
	}
	return 0;
}

static uint64_t held(const struct fpd_grpc_server *srv)
{
	return srv->stats.request_bytes_buffered + srv->stats.http2_state_bytes;
}

static bool reclaimable(const struct fpd_grpc_conn *c, const struct fpd_grpc_conn *keep,
                        ev_tstamp now)
{
	return c != keep && c->served && c->call_count == 0 &&
	       now - c->idle_since >= RECLAIM_IDLE && !c->failed && !c->closing;
}

static int idle_older(const void *a, const void *b)
{
	ev_tstamp x = (*(struct fpd_grpc_conn *const *)a)->idle_since;
	ev_tstamp y = (*(struct fpd_grpc_conn *const *)b)->idle_since;
	return x < y ? -1 : x > y;
}

/* Closes an idle connection for the memory its session holds: the GOAWAY goes into its
 * output, the session is freed, and its owner, kicked, writes the GOAWAY and closes it. */
static void shed(struct fpd_grpc_conn *c)
{
	nghttp2_submit_goaway(c->h2, NGHTTP2_FLAG_NONE,
	                      nghttp2_session_get_last_proc_stream_id(c->h2), NGHTTP2_NO_ERROR,
	                      NULL, 0);
	nghttp2_session_send(c->h2);
	nghttp2_session_del(c->h2);
	c->h2 = NULL;
	c->failed = true;
	c->srv->stats.connections_reclaimed++;
	fpd_grpc_conn_kick(c);
}

/* True when the server may hold more bytes for a request of conn; when it may not, closes
 * idle connections other than conn, oldest idle first, until it may or none is left. */
static bool budget_room(struct fpd_grpc_conn *conn, uint64_t more)
{
	struct fpd_grpc_server *srv = conn->srv;
	uint64_t budget = (uint64_t)srv->cfg->max_buffered_request_bytes;
	if (held(srv) + more <= budget)
		return true;
	ev_tstamp now = ev_now(srv->loop);
	size_t n = 0;
	for (struct fpd_grpc_conn *c = srv->conns; c; c = c->srv_next)
		n += reclaimable(c, conn, now);
	if (n == 0)
		return false;
	struct fpd_grpc_conn **idle = fpd_malloc(n * sizeof(*idle));
	size_t i = 0;
	for (struct fpd_grpc_conn *c = srv->conns; c; c = c->srv_next)
		if (reclaimable(c, conn, now))
			idle[i++] = c;
	qsort(idle, n, sizeof(*idle), idle_older);
	for (i = 0; i < n && held(srv) + more > budget; i++)
		shed(idle[i]);
	free(idle);
	return held(srv) + more <= budget;
}

/* Answers call RESOURCE_EXHAUSTED: the server holds held bytes for requests, too many for more. */
static void over_budget(struct fpd_grpc_call *call, uint64_t held)
{
	struct fpd_grpc_server *srv = call->srv;
	srv->stats.requests_over_budget++;
	fpd_grpc_call_abort(call, FPD_GRPC_RESOURCE_EXHAUSTED,
	                    "server is holding its limit of request memory (%llu of "
	                    "max_buffered_request_bytes %llu); retry later",
	                    (unsigned long long)held,
	                    (unsigned long long)srv->cfg->max_buffered_request_bytes);
}

/* Request headers complete: route, or answer at once when the request cannot be served. */
static void on_request_headers(struct fpd_grpc_call *call)
{
	call->headers_done = true;
	if (!call->content_type_seen && !call->http_error)
		call->http_error = 415;
	if (call->http_error) {
		fpd_grpc_call_http_error(call, call->http_error);
		return;
	}
	struct fpd_grpc_server *srv = call->srv;
	if (!budget_room(call->conn, 0)) {
		/* Streams that only send headers hold memory too. */
		over_budget(call, held(srv));
		return;
	}
	call->method = fpd_grpc_server_find(srv, call->path);
	if (!call->method) {
		fpd_grpc_call_abort(call, FPD_GRPC_UNIMPLEMENTED, "unknown method %s",
		                    call->path[0] ? call->path : "(path too long)");
		return;
	}
	if (call->timeout_ms == -2) {
		fpd_grpc_call_abort(call, FPD_GRPC_INTERNAL, "malformed grpc-timeout");
		return;
	}
	if (call->timeout_ms >= 0)
		fpd_grpc_call_start_deadline(call);
}

/* Client half-closed: the request is complete (or incomplete for good). */
static void on_request_end(struct fpd_grpc_call *call)
{
	if (call->state != CALL_RECEIVING)
		return;
	if (call->has_message)
		fpd_grpc_call_dispatch(call);
	else if (!fpd_grpc_framer_idle(&call->framer))
		fpd_grpc_call_abort(call, FPD_GRPC_INTERNAL,
		                    "request ended mid-message (%zu of %u bytes received)",
		                    call->framer.msg.len, call->framer.msg_len);
	else
		fpd_grpc_call_abort(call, FPD_GRPC_INTERNAL, "request has no message");
}

static int on_frame_recv(nghttp2_session *h2, const nghttp2_frame *frame, void *ud)
{
	struct fpd_grpc_conn *conn = ud;
	if (frame->hd.type == NGHTTP2_SETTINGS) /* nghttp2 checked the magic before it */
		conn->preface = true;
	if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
		return 0;
	struct fpd_grpc_call *call = stream_call(h2, frame->hd.stream_id);
	if (!call)
		return 0;
	if (frame->hd.type == NGHTTP2_HEADERS && !call->headers_done)
		on_request_headers(call);
	if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) {
		conn->served = true;
		on_request_end(call);
	}
	return 0;
}

/* Charges what call's message buffer will hold once it has taken data[0..len) to the server's
 * budget; false (and the call answered RESOURCE_EXHAUSTED) when that would go over it. */
static bool charge(struct fpd_grpc_call *call, const uint8_t *data, size_t len)
{
	struct fpd_grpc_server *srv = call->srv;
	size_t now = fpd_grpc_framer_footprint(&call->framer);
	size_t after = fpd_grpc_framer_footprint_after(&call->framer, data, len);
	size_t more = after > now ? after - now : 0;
	if (more && !budget_room(call->conn, more)) {
		over_budget(call, held(srv));
		return false;
	}
	srv->stats.request_bytes_buffered += more;
	call->charged += more;
	call->unconsumed += len;
	return true;
}

/* A complete message sits in the framer: check what gRPC says about it. */
static void on_message(struct fpd_grpc_call *call)
{
	if (call->has_message) {
		fpd_grpc_call_abort(call, FPD_GRPC_INTERNAL,
		                    "more than one request message for a unary or "
		                    "server-streaming method");
		return;
	}
	call->has_message = true;
	if (!call->framer.compressed)
		return;
	if (!call->encoding[0] || strcmp(call->encoding, "identity") == 0)
		fpd_grpc_call_abort(call, FPD_GRPC_INTERNAL,
		                    "compressed message without a grpc-encoding");
	else
		fpd_grpc_call_abort(call, FPD_GRPC_UNIMPLEMENTED,
		                    "grpc-encoding \"%s\" is not supported (only identity)",
		                    call->encoding);
}

static int on_data_chunk(nghttp2_session *h2, uint8_t flags, int32_t stream_id, const uint8_t *data,
                         size_t len, void *ud)
{
	struct fpd_grpc_conn *conn = ud;
	nghttp2_session_consume_stream(h2, stream_id, len);
	struct fpd_grpc_call *call = stream_call(h2, stream_id);
	if (!call || call->state != CALL_RECEIVING || !call->headers_done ||
	    !charge(call, data, len)) {
		fpd_grpc_conn_release(conn, len);
		return 0;
	}
	while (len && call->state == CALL_RECEIVING) {
		if (call->has_message) { /* bytes past the one message we accept */
			on_message(call);
			break;
		}
		size_t used;
		int rc = fpd_grpc_framer_feed(&call->framer, data, len, &used);
		data += used;
		len -= used;
		if (rc == FPD_OK)
			on_message(call);
		else if (rc == FPD_ERANGE)
			fpd_grpc_call_abort(call, FPD_GRPC_RESOURCE_EXHAUSTED,
			                    "received message larger than max (%u vs. %zu)",
			                    call->framer.msg_len, call->framer.msg.max);
		else if (rc == FPD_EINVAL)
			fpd_grpc_call_abort(call, FPD_GRPC_INTERNAL,
			                    "invalid message compression flag %u",
			                    call->framer.prefix[0]);
		else if (rc == FPD_ERR) /* abort frees the buffer and its charge */
			fpd_grpc_call_abort(
			    call, FPD_GRPC_RESOURCE_EXHAUSTED,
			    "server is out of memory for request buffers; retry later");
	}
	return 0;
}

static int on_stream_close(nghttp2_session *h2, int32_t stream_id, uint32_t error_code, void *ud)
{
	struct fpd_grpc_conn *conn = ud;
	if (conn->closing)
		return 0;
	conn->served = true;
	struct fpd_grpc_call *call = stream_call(h2, stream_id);
	if (call)
		fpd_grpc_call_stream_closed(call, FPD_GRPC_CANCELLED);
	return 0;
}

static int on_frame_send(nghttp2_session *h2, const nghttp2_frame *frame, void *ud)
{
	/* Like grpc-go: once the status is out, a client still sending is told to stop, so an
	 * early error does not leave the stream (and its window) open until the client ends. */
	if (frame->hd.type == NGHTTP2_HEADERS && (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) &&
	    !nghttp2_session_get_stream_remote_close(h2, frame->hd.stream_id))
		nghttp2_submit_rst_stream(h2, NGHTTP2_FLAG_NONE, frame->hd.stream_id,
		                          NGHTTP2_NO_ERROR);
	return 0;
}

/* nghttp2's allocations, counted in the server's http2_state_bytes. Each block carries its size
 * in a 16-byte header so that free and realloc can subtract it. */
#define MEM_HDR 16

static void *mem_account(void *p, size_t size, struct fpd_grpc_server *srv)
{
	*(size_t *)p = size;
	srv->stats.http2_state_bytes += fpd_grpc_alloc_footprint(size + MEM_HDR);
	return (char *)p + MEM_HDR;
}

static void mem_free(void *ptr, void *ud)
{
	if (!ptr)
		return;
	struct fpd_grpc_server *srv = ud;
	char *p = (char *)ptr - MEM_HDR;
	srv->stats.http2_state_bytes -= fpd_grpc_alloc_footprint(*(size_t *)p + MEM_HDR);
	free(p);
}

static void *mem_malloc(size_t size, void *ud)
{
	if (size > SIZE_MAX - MEM_HDR)
		return NULL;
	void *p = malloc(size + MEM_HDR);
	return p ? mem_account(p, size, ud) : NULL;
}

static void *mem_calloc(size_t n, size_t size, void *ud)
{
	if (size && n > (SIZE_MAX - MEM_HDR) / size)
		return NULL;
	void *p = calloc(1, n * size + MEM_HDR);
	return p ? mem_account(p, n * size, ud) : NULL;
}

static void *mem_realloc(void *ptr, size_t size, void *ud)
{
	if (!ptr)
		return mem_malloc(size, ud);
	if (size > SIZE_MAX - MEM_HDR)
		return NULL;
	struct fpd_grpc_server *srv = ud;
	char *old = (char *)ptr - MEM_HDR;
	size_t old_size = *(size_t *)old;
	char *p = realloc(old, size + MEM_HDR);
	if (!p)
		return NULL;
	srv->stats.http2_state_bytes -= fpd_grpc_alloc_footprint(old_size + MEM_HDR);
	return mem_account(p, size, srv);
}

nghttp2_mem fpd_grpc_conn_mem(struct fpd_grpc_server *srv)
{
	return (nghttp2_mem){srv, mem_malloc, mem_free, mem_calloc, mem_realloc};
}

nghttp2_session_callbacks *fpd_grpc_conn_callbacks(void)
{
	nghttp2_session_callbacks *cb;
	if (nghttp2_session_callbacks_new(&cb))
		fpd_die("out of memory");
	nghttp2_session_callbacks_set_send_callback(cb, on_send);
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
	nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
	return cb;
}

nghttp2_option *fpd_grpc_conn_options(void)
{
	nghttp2_option *opt;
	if (nghttp2_option_new(&opt))
		fpd_die("out of memory");
	nghttp2_option_set_no_auto_window_update(opt, 1);
	/* Rapid-reset and SETTINGS-flood bounds (nghttp2's defaults, stated so they are visible). */
	nghttp2_option_set_stream_reset_rate_limit(opt, 1000, 33);
	nghttp2_option_set_max_settings(opt, 32);
	nghttp2_option_set_max_outbound_ack(opt, 1000);
	/* Closed streams are kept only for RFC 7540 priorities, which we ignore; freeing them at
	 * once keeps a refused stream from holding memory after its RST_STREAM. */
	nghttp2_option_set_no_closed_streams(opt, 1);
	return opt;
}

struct fpd_grpc_conn *fpd_grpc_conn_new(struct fpd_grpc_server *srv, void (*kick)(void *ud),
                                        void *ud)
{
	struct fpd_grpc_conn *conn = fpd_calloc(1, sizeof(*conn));
	conn->srv = srv;
	conn->kick = kick;
	conn->kick_ud = ud;
	fpd_buf_init(&conn->out, OUT_MAX);
	if (nghttp2_session_server_new3(&conn->h2, srv->callbacks, conn, srv->options,
	                                &srv->h2_mem))
		fpd_die("out of memory");
	const struct fpd_config_grpc *cfg = srv->cfg;
	nghttp2_settings_entry settings[] = {
	    {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, (uint32_t)cfg->max_concurrent_streams},
	    {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW},
	    {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, FPD_GRPC_HEADER_BYTES_MAX},
	    {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
	};
	nghttp2_submit_settings(conn->h2, NGHTTP2_FLAG_NONE, settings, FPD_ARRAY_LEN(settings));
	conn->idle_since = ev_now(srv->loop);
	conn->srv_next = srv->conns;
	if (srv->conns)
		srv->conns->srv_prev = conn;
	srv->conns = conn;
	/* Two maximum-size requests may be buffered at once; see the note at the top. */
	int64_t window = 2 * (cfg->max_recv_message_bytes + FPD_GRPC_PREFIX_LEN);
	if (window > NGHTTP2_MAX_WINDOW_SIZE)
		window = NGHTTP2_MAX_WINDOW_SIZE;
	nghttp2_session_set_local_window_size(conn->h2, NGHTTP2_FLAG_NONE, 0, (int32_t)window);
	return conn;
}

int fpd_grpc_conn_recv(struct fpd_grpc_conn *conn, const uint8_t *data, size_t len)
{
	if (conn->failed)
		return FPD_EIO;
	conn->in_recv = true;
	ssize_t rc = nghttp2_session_mem_recv(conn->h2, data, len);
	conn->in_recv = false;
	if (rc < 0) {
		fpd_log(FPD_LOG_DEBUG, "grpc", "closing connection: %s", nghttp2_strerror((int)rc));
		conn->failed = true;
		return FPD_EIO;
	}
	return FPD_OK;
}

int fpd_grpc_conn_flush(struct fpd_grpc_conn *conn)
{
	if (!conn->h2) /* shed: its GOAWAY is in the output already */
		return FPD_EIO;
	/* Even a failed session gets to write its GOAWAY. */
	int rc = nghttp2_session_send(conn->h2);
	if (rc) {
		conn->failed = true;
		return FPD_EIO;
	}
	return conn->failed ? FPD_EIO : FPD_OK;
}

const uint8_t *fpd_grpc_conn_output(const struct fpd_grpc_conn *conn, size_t *len)
{
	*len = conn->out.len - conn->out_pos;
	return (const uint8_t *)conn->out.data + conn->out_pos;
}

void fpd_grpc_conn_consume(struct fpd_grpc_conn *conn, size_t n)
{
	conn->out_pos += n;
	if (conn->out_pos < conn->out.len)
		return;
	conn->out_pos = 0;
	/* Idle connections should cost little: give back large buffers once drained. */
	if (conn->out.cap > 16 * 1024)
		fpd_buf_free(&conn->out);
	else
		fpd_buf_reset(&conn->out);
}

bool fpd_grpc_conn_congested(const struct fpd_grpc_conn *conn)
{
	return conn->out.len - conn->out_pos >= FPD_GRPC_OUT_HIGH_WATER;
}

bool fpd_grpc_conn_done(const struct fpd_grpc_conn *conn)
{
	if (conn->out.len > conn->out_pos)
		return false;
	if (conn->failed)
		return true;
	return !nghttp2_session_want_read(conn->h2) && !nghttp2_session_want_write(conn->h2);
}

bool fpd_grpc_conn_preface_received(const struct fpd_grpc_conn *conn)
{
	return conn->preface;
}

bool fpd_grpc_conn_served(const struct fpd_grpc_conn *conn)
{
	return conn->served;
}

size_t fpd_grpc_conn_streams(const struct fpd_grpc_conn *conn)
{
	return conn->call_count;
}

void fpd_grpc_conn_goaway(struct fpd_grpc_conn *conn)
{
	if (conn->failed)
		return;
	nghttp2_submit_goaway(conn->h2, NGHTTP2_FLAG_NONE,
	                      nghttp2_session_get_last_proc_stream_id(conn->h2), NGHTTP2_NO_ERROR,
	                      NULL, 0);
}

void fpd_grpc_conn_free(struct fpd_grpc_conn *conn, enum fpd_grpc_code code)
{
	if (!conn)
		return;
	conn->closing = true;
	conn->kick = NULL;
	/* Detach every call first: a cancel callback may complete another call of this
	 * connection, which must then find it detached rather than half freed. */
	struct fpd_grpc_call *list = conn->calls;
	conn->calls = NULL;
	for (struct fpd_grpc_call *c = list; c; c = c->next) {
		c->conn = NULL;
		c->stream_closed = true;
		c->teardown = true;
	}
	while (list) {
		struct fpd_grpc_call *c = list;
		list = c->next;
		fpd_grpc_call_teardown(c, code);
	}
	nghttp2_session_del(conn->h2);
	struct fpd_grpc_server *srv = conn->srv;
	if (conn->srv_prev)
		conn->srv_prev->srv_next = conn->srv_next;
	else
		srv->conns = conn->srv_next;
	if (conn->srv_next)
		conn->srv_next->srv_prev = conn->srv_prev;
	fpd_buf_free(&conn->out);
	free(conn);
}
