/*
 * Calls: the handler-facing half of a stream (see the lifetime rules in grpc.h).
 *
 * A call moves RECEIVING → HANDLER → DONE, or RECEIVING → DONE when the transport answers an
 * error itself. Its memory is freed when two things are true: the handler side no longer
 * holds it (not HANDLER, not inside its cancel callback) and its HTTP/2 stream is closed.
 * Whichever comes last frees it: completion (stream already gone), the stream-close callback,
 * or the connection teardown.
 */
#include "grpc/internal.h"

#include <flyteplugd/mem.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NV_STATIC(name, value)                                                              \
	{                                                                                   \
		(uint8_t *)(name), (uint8_t *)(value), sizeof(name) - 1, sizeof(value) - 1, \
		    NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE            \
	}
#define NV_COPY(name, value, len)                                               \
	{                                                                       \
		(uint8_t *)(name), (uint8_t *)(value), sizeof(name) - 1, (len), \
		    NGHTTP2_NV_FLAG_NO_COPY_NAME                                \
	}

static void on_deadline(struct ev_loop *loop, ev_timer *w, int revents);
static void on_receive_timeout(struct ev_loop *loop, ev_timer *w, int revents);

struct fpd_grpc_call *fpd_grpc_call_new(struct fpd_grpc_conn *conn, int32_t stream_id)
{
	struct fpd_grpc_server *srv = conn->srv;
	struct fpd_grpc_call *call = fpd_calloc(1, sizeof(*call));
	call->srv = srv;
	call->conn = conn;
	call->stream_id = stream_id;
	call->state = CALL_RECEIVING;
	call->timeout_ms = -1;
	fpd_grpc_framer_init(&call->framer, (size_t)srv->cfg->max_recv_message_bytes);
	fpd_buf_init(&call->out, (size_t)srv->cfg->max_send_message_bytes + FPD_GRPC_PREFIX_LEN +
	                             FPD_GRPC_STREAM_SLACK);
	ev_timer_init(&call->deadline_timer, on_deadline, 0., 0.);
	ev_timer_init(&call->receive_timer, on_receive_timeout,
	              (double)srv->cfg->receive_timeout_ms / 1000., 0.);
	ev_timer_start(srv->loop, &call->receive_timer);
	call->next = conn->calls;
	if (conn->calls)
		conn->calls->prev = call;
	conn->calls = call;
	conn->call_count++;
	srv->stats.calls_total++;
	srv->stats.request_bytes_buffered += fpd_grpc_call_footprint();
	return call;
}

size_t fpd_grpc_call_footprint(void)
{
	return fpd_grpc_alloc_footprint(sizeof(struct fpd_grpc_call));
}

/* Frees the request bytes and returns them to the connection window and the server budget. */
static void release_request(struct fpd_grpc_call *call)
{
	ev_timer_stop(call->srv->loop, &call->receive_timer);
	fpd_grpc_framer_free(&call->framer);
	fpd_grpc_conn_release(call->conn, call->unconsumed);
	call->srv->stats.request_bytes_buffered -= call->charged;
	call->unconsumed = 0;
	call->charged = 0;
}

static void destroy(struct fpd_grpc_call *call)
{
	ev_timer_stop(call->srv->loop, &call->deadline_timer);
	release_request(call);
	if (call->conn)
		fpd_grpc_conn_unlink(call->conn, call);
	fpd_buf_free(&call->out);
	free(call->status_message);
	call->srv->stats.request_bytes_buffered -= fpd_grpc_call_footprint();
	free(call);
}

static void maybe_free(struct fpd_grpc_call *call)
{
	if (call->teardown || call->in_cancel || call->state == CALL_HANDLER)
		return;
	if (call->stream_closed)
		destroy(call);
}

/* Runs the cancel callback of a call that has just left the HANDLER state. */
static void notify_cancel(struct fpd_grpc_call *call, enum fpd_grpc_code code)
{
	if (!call->cancel_fn)
		return;
	call->in_cancel = true;
	call->cancel_fn(call, code, call->cancel_ud);
	call->in_cancel = false;
}

/* Moves the call to DONE; true if the handler held it until now. */
static bool leave_handler(struct fpd_grpc_call *call)
{
	bool held = call->state == CALL_HANDLER;
	if (held)
		call->srv->stats.calls_active--;
	call->state = CALL_DONE;
	ev_timer_stop(call->srv->loop, &call->deadline_timer);
	release_request(call);
	return held;
}

static void set_status(struct fpd_grpc_call *call, int code, const char *message)
{
	char encoded[FPD_GRPC_MESSAGE_MAX * 3 + 1];
	call->status = code;
	free(call->status_message);
	call->status_message = NULL;
	if (!message || !*message)
		return;
	char truncated[FPD_GRPC_MESSAGE_MAX + 1];
	snprintf(truncated, sizeof(truncated), "%s", message);
	fpd_grpc_percent_encode(truncated, encoded, sizeof(encoded));
	call->status_message = fpd_strdup(encoded);
}

/* Fills nv[0..] with grpc-status (and grpc-message); status_text must outlive the submit. */
static size_t status_nv(const struct fpd_grpc_call *call, nghttp2_nv *nv, char status_text[12])
{
	size_t n = 0;
	int len = snprintf(status_text, 12, "%d", call->status);
	nv[n++] = (nghttp2_nv)NV_COPY("grpc-status", status_text, (size_t)len);
	if (call->status_message)
		nv[n++] = (nghttp2_nv)NV_COPY("grpc-message", call->status_message,
		                              strlen(call->status_message));
	return n;
}

static void submit_trailers(struct fpd_grpc_call *call)
{
	nghttp2_nv nv[2];
	char status_text[12];
	size_t n = status_nv(call, nv, status_text);
	nghttp2_submit_trailer(call->conn->h2, call->stream_id, nv, n);
}

static ssize_t read_body(nghttp2_session *h2, int32_t stream_id, uint8_t *buf, size_t length,
                         uint32_t *flags, nghttp2_data_source *source, void *ud)
{
	struct fpd_grpc_call *call = source->ptr;
	size_t pending = call->out.len - call->out_pos;
	size_t n = pending < length ? pending : length;
	if (n)
		memcpy(buf, call->out.data + call->out_pos, n);
	call->out_pos += n;
	if (call->out_pos < call->out.len)
		return (ssize_t)n;
	call->out_pos = 0;
	if (call->finished) {
		fpd_buf_free(&call->out);
		*flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
		submit_trailers(call);
		return (ssize_t)n;
	}
	fpd_buf_reset(&call->out);
	return n ? (ssize_t)n : NGHTTP2_ERR_DEFERRED;
}

/* Response HEADERS plus a data provider reading call->out; later sends resume it. */
static void open_response(struct fpd_grpc_call *call)
{
	if (call->response_open) {
		nghttp2_session_resume_data(call->conn->h2, call->stream_id);
		return;
	}
	static const nghttp2_nv nv[] = {
	    NV_STATIC(":status", "200"),
	    NV_STATIC("content-type", "application/grpc"),
	};
	nghttp2_data_provider prd = {.source.ptr = call, .read_callback = read_body};
	call->response_open = true;
	nghttp2_submit_response(call->conn->h2, call->stream_id, nv, FPD_ARRAY_LEN(nv), &prd);
}

/* Queues the response status on the stream: as trailers after the data, or trailers-only. */
static void send_status(struct fpd_grpc_call *call)
{
	if (call->stream_closed || !call->conn)
		return;
	if (call->response_open) {
		call->finished = true;
		nghttp2_session_resume_data(call->conn->h2, call->stream_id);
	} else {
		nghttp2_nv nv[4] = {
		    NV_STATIC(":status", "200"),
		    NV_STATIC("content-type", "application/grpc"),
		};
		char status_text[12];
		size_t n = 2 + status_nv(call, nv + 2, status_text);
		nghttp2_submit_response(call->conn->h2, call->stream_id, nv, n, NULL);
	}
	fpd_grpc_conn_kick(call->conn);
}

/* Completion by the handler side: status out, then free if the stream is already gone. */
static int complete(struct fpd_grpc_call *call, int code, const char *message)
{
	if (call->state != CALL_HANDLER || call->in_cancel)
		return FPD_EINVAL;
	leave_handler(call);
	set_status(call, code, message);
	send_status(call);
	maybe_free(call);
	return FPD_OK;
}

void fpd_grpc_call_abort(struct fpd_grpc_call *call, enum fpd_grpc_code code, const char *fmt, ...)
{
	if (call->state == CALL_DONE)
		return;
	char text[FPD_GRPC_MESSAGE_MAX + 1];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	bool held = leave_handler(call);
	set_status(call, code, text);
	send_status(call);
	if (held)
		notify_cancel(call, code);
	maybe_free(call);
}

void fpd_grpc_call_http_error(struct fpd_grpc_call *call, int http_status)
{
	if (call->state != CALL_RECEIVING)
		return;
	leave_handler(call);
	char status_text[12];
	int len = snprintf(status_text, sizeof(status_text), "%d", http_status);
	static const char msg415[] = "invalid gRPC request content-type";
	static const char msg405[] = "gRPC requests use POST";
	const char *msg = http_status == 415 ? msg415 : msg405;
	nghttp2_nv nv[] = {
	    NV_COPY(":status", status_text, (size_t)len),
	    NV_STATIC("content-type", "application/grpc"),
	    NV_STATIC("grpc-status", "13"),
	    NV_COPY("grpc-message", msg, strlen(msg)),
	};
	call->status = FPD_GRPC_INTERNAL;
	nghttp2_submit_response(call->conn->h2, call->stream_id, nv, FPD_ARRAY_LEN(nv), NULL);
	fpd_grpc_conn_kick(call->conn);
}

void fpd_grpc_call_dispatch(struct fpd_grpc_call *call)
{
	static const uint8_t empty[1];
	ev_timer_stop(call->srv->loop, &call->receive_timer);
	call->state = CALL_HANDLER;
	call->srv->stats.calls_active++;
	const uint8_t *req = call->framer.msg.data ? (const uint8_t *)call->framer.msg.data : empty;
	/* The stream cannot close while the handler runs (we are inside the frame callback), so
	 * the call is still here afterwards whatever the handler did. */
	call->method->handler(call, req, call->framer.msg.len, call->method->ud);
	release_request(call);
}

void fpd_grpc_call_stream_closed(struct fpd_grpc_call *call, enum fpd_grpc_code code)
{
	call->stream_closed = true;
	if (leave_handler(call))
		notify_cancel(call, code);
	maybe_free(call);
}

void fpd_grpc_call_teardown(struct fpd_grpc_call *call, enum fpd_grpc_code code)
{
	if (leave_handler(call))
		notify_cancel(call, code);
	destroy(call);
}

static void on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fpd_grpc_call *call = fpd_container_of(w, struct fpd_grpc_call, deadline_timer);
	fpd_grpc_call_abort(call, FPD_GRPC_DEADLINE_EXCEEDED, "deadline exceeded");
}

/* The request did not end within receive_timeout: whatever it holds is given back. */
static void on_receive_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fpd_grpc_call *call = fpd_container_of(w, struct fpd_grpc_call, receive_timer);
	if (call->state != CALL_RECEIVING)
		return;
	call->srv->stats.requests_timed_out++;
	fpd_grpc_call_abort(call, FPD_GRPC_DEADLINE_EXCEEDED,
	                    "request not received completely within receive_timeout (%lld ms)",
	                    (long long)call->srv->cfg->receive_timeout_ms);
}

void fpd_grpc_call_start_deadline(struct fpd_grpc_call *call)
{
	struct ev_loop *loop = call->srv->loop;
	double seconds = (double)call->timeout_ms / 1000.;
	call->deadline = ev_now(loop) + seconds;
	ev_timer_set(&call->deadline_timer, seconds, 0.);
	ev_timer_start(loop, &call->deadline_timer);
}

/* --- public API ------------------------------------------------------------------------ */

void fpd_grpc_call_on_cancel(struct fpd_grpc_call *call, fpd_grpc_cancel_fn fn, void *ud)
{
	call->cancel_fn = fn;
	call->cancel_ud = ud;
}

const char *fpd_grpc_call_method(const struct fpd_grpc_call *call)
{
	return call->path;
}

int64_t fpd_grpc_call_remaining_ms(const struct fpd_grpc_call *call)
{
	if (call->timeout_ms < 0)
		return -1;
	double left = (call->deadline - ev_now(call->srv->loop)) * 1000.;
	return left > 0 ? (int64_t)left : 0;
}

/* Appends one length-prefixed message to the response queue. */
static int queue_message(struct fpd_grpc_call *call, const void *msg, size_t len)
{
	uint8_t prefix[FPD_GRPC_PREFIX_LEN];
	if (call->out_pos) { /* bounded by out.max, so the move is cheap enough */
		memmove(call->out.data, call->out.data + call->out_pos,
		        call->out.len - call->out_pos);
		call->out.len -= call->out_pos;
		call->out_pos = 0;
	}
	if (call->out.len + FPD_GRPC_PREFIX_LEN + len > call->out.max)
		return FPD_ERANGE;
	fpd_grpc_prefix_write(prefix, (uint32_t)len);
	fpd_buf_append(&call->out, prefix, sizeof(prefix));
	fpd_buf_append(&call->out, msg, len);
	return FPD_OK;
}

int fpd_grpc_call_reply(struct fpd_grpc_call *call, const void *msg, size_t len)
{
	if (call->state != CALL_HANDLER || call->in_cancel)
		return FPD_EINVAL;
	if (len > (size_t)call->srv->cfg->max_send_message_bytes) {
		char text[128];
		snprintf(text, sizeof(text), "response message larger than max (%zu vs. %lld)", len,
		         (long long)call->srv->cfg->max_send_message_bytes);
		complete(call, FPD_GRPC_RESOURCE_EXHAUSTED, text);
		return FPD_ERANGE;
	}
	if (queue_message(call, msg, len)) {
		complete(call, FPD_GRPC_RESOURCE_EXHAUSTED, "response queue full");
		return FPD_ERANGE;
	}
	if (!call->stream_closed && call->conn)
		open_response(call);
	return complete(call, FPD_GRPC_OK, NULL);
}

int fpd_grpc_call_send(struct fpd_grpc_call *call, const void *msg, size_t len)
{
	if (call->state != CALL_HANDLER || call->in_cancel ||
	    call->method->kind != FPD_GRPC_SERVER_STREAM)
		return FPD_EINVAL;
	if (len > (size_t)call->srv->cfg->max_send_message_bytes)
		return FPD_ERANGE;
	int rc = queue_message(call, msg, len);
	if (rc)
		return rc;
	open_response(call);
	fpd_grpc_conn_kick(call->conn);
	return FPD_OK;
}

int fpd_grpc_call_fail(struct fpd_grpc_call *call, enum fpd_grpc_code code, const char *message)
{
	return complete(call, code, message);
}

int fpd_grpc_call_finish(struct fpd_grpc_call *call, enum fpd_grpc_code code, const char *message)
{
	return complete(call, code, message);
}
