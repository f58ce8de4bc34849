/*
 * Unit tests for daemon/grpc/conn.c and call.c: a real nghttp2 client talks to an in-memory
 * connection (harness.c). Covers routing, status trailers, reassembly, limits, deadlines,
 * cancellation and asynchronous completion.
 */
#include "fpd_test.h"
#include "grpc/internal.h"
#include "harness.h"

struct held {
	struct fpd_grpc_call *call;
	int cancelled; /* times the cancel callback ran */
	int cancel_code;
	int handled;
	size_t req_len;
};

static struct held held;

static void on_echo(struct fpd_grpc_call *call, const uint8_t *req, size_t len, void *ud)
{
	held.handled++;
	held.req_len = len;
	ck_assert_int_eq(fpd_grpc_call_reply(call, req, len), FPD_OK);
	/* Completed: a second completion is refused, not a crash. */
	ck_assert_int_eq(fpd_grpc_call_fail(call, FPD_GRPC_INTERNAL, "again"), FPD_EINVAL);
}

static void on_cancel(struct fpd_grpc_call *call, enum fpd_grpc_code code, void *ud)
{
	struct held *h = ud;
	h->cancelled++;
	h->cancel_code = code;
	/* The call may not be completed from its own cancel callback. */
	ck_assert_int_eq(fpd_grpc_call_reply(call, "x", 1), FPD_EINVAL);
	ck_assert_str_eq(fpd_grpc_call_method(call), "/t.T/Hold");
	h->call = NULL;
}

static void on_hold(struct fpd_grpc_call *call, const uint8_t *req, size_t len, void *ud)
{
	held.handled++;
	held.call = call;
	held.req_len = len;
	fpd_grpc_call_on_cancel(call, on_cancel, &held);
}

static void on_fail(struct fpd_grpc_call *call, const uint8_t *req, size_t len, void *ud)
{
	fpd_grpc_call_fail(call, FPD_GRPC_INVALID_ARGUMENT, "bad\n100%");
}

static void on_stream(struct fpd_grpc_call *call, const uint8_t *req, size_t len, void *ud)
{
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(fpd_grpc_call_send(call, req, len), FPD_OK);
	ck_assert_int_eq(fpd_grpc_call_finish(call, FPD_GRPC_OK, NULL), FPD_OK);
}

static void on_big(struct fpd_grpc_call *call, const uint8_t *req, size_t len, void *ud)
{
	static uint8_t big[64 * 1024 + 1];
	ck_assert_int_eq(fpd_grpc_call_reply(call, big, sizeof(big)), FPD_ERANGE);
}

static struct h2h h;

static void setup(void)
{
	memset(&held, 0, sizeof(held));
	h2h_init(&h, 4096);
	struct fpd_error err;
	ck_assert_int_eq(
	    fpd_grpc_server_add_method(h.srv, "/t.T/Echo", FPD_GRPC_UNARY, on_echo, NULL, &err), 0);
	ck_assert_int_eq(
	    fpd_grpc_server_add_method(h.srv, "/t.T/Hold", FPD_GRPC_UNARY, on_hold, NULL, &err), 0);
	ck_assert_int_eq(
	    fpd_grpc_server_add_method(h.srv, "/t.T/Fail", FPD_GRPC_UNARY, on_fail, NULL, &err), 0);
	ck_assert_int_eq(fpd_grpc_server_add_method(h.srv, "/t.T/Stream", FPD_GRPC_SERVER_STREAM,
	                                            on_stream, NULL, &err),
	                 0);
	ck_assert_int_eq(
	    fpd_grpc_server_add_method(h.srv, "/t.T/Big", FPD_GRPC_UNARY, on_big, NULL, &err), 0);
	h2h_connect(&h);
}

static void teardown(void)
{
	h2h_free(&h);
}

START_TEST(method_table)
{
	struct fpd_error err;
	ck_assert_int_eq(
	    fpd_grpc_server_add_method(h.srv, "/t.T/Echo", FPD_GRPC_UNARY, on_echo, NULL, &err),
	    FPD_EEXIST);
	const char *bad[] = {"t.T/Echo", "/t.T", "/t.T/", "//Echo", "/a/b/c"};
	for (size_t i = 0; i < 5; i++)
		ck_assert_msg(fpd_grpc_server_add_method(h.srv, bad[i], FPD_GRPC_UNARY, on_echo,
		                                         NULL, &err) == FPD_EINVAL,
		              "%s accepted", bad[i]);
	ck_assert(fpd_grpc_server_has_service(h.srv, "t.T"));
	ck_assert(!fpd_grpc_server_has_service(h.srv, "t"));
	ck_assert(!fpd_grpc_server_has_service(h.srv, ""));
}
END_TEST

START_TEST(unary_echo)
{
	size_t len;
	const uint8_t *body = h2h_frame("ping", 4, &len);
	struct h2h_stream *s = h2h_request(&h, "/t.T/Echo", NULL, NULL, NULL, body, len, 0, false);
	ck_assert_int_eq(s->http_status, 200);
	ck_assert_int_eq(s->grpc_status, 0);
	ck_assert_int_eq(s->header_blocks, 2); /* headers, then trailers */
	size_t mlen;
	const uint8_t *m = h2h_message(s, 0, &mlen);
	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(mlen, 4);
	ck_assert_mem_eq(m, "ping", 4);
	ck_assert(s->closed);
	ck_assert_uint_eq(fpd_grpc_conn_streams(h.conn), 0); /* the call was freed */
}
END_TEST

START_TEST(one_byte_per_data_frame)
{
	char msg[300];
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (char)('a' + i % 26);
	size_t len;
	const uint8_t *body = h2h_frame(msg, sizeof(msg), &len);
	struct h2h_stream *s = h2h_request(&h, "/t.T/Echo", NULL, NULL, NULL, body, len, 1, false);
	ck_assert_int_eq(s->grpc_status, 0);
	size_t mlen;
	const uint8_t *m = h2h_message(s, 0, &mlen);
	ck_assert_uint_eq(mlen, sizeof(msg));
	ck_assert_mem_eq(m, msg, sizeof(msg));
}
END_TEST

START_TEST(empty_message)
{
	size_t len;
	const uint8_t *body = h2h_frame("", 0, &len);
	struct h2h_stream *s = h2h_request(&h, "/t.T/Echo", NULL, NULL, NULL, body, len, 0, false);
	ck_assert_int_eq(s->grpc_status, 0);
	ck_assert_int_eq(held.handled, 1);
	ck_assert_uint_eq(held.req_len, 0);
}
END_TEST

START_TEST(unknown_method)
{
	size_t len;
	const uint8_t *body = h2h_frame("x", 1, &len);
	struct h2h_stream *s = h2h_request(&h, "/t.T/Nope", NULL, NULL, NULL, body, len, 0, false);
	ck_assert_int_eq(s->http_status, 200);
	ck_assert_int_eq(s->grpc_status, FPD_GRPC_UNIMPLEMENTED);
	ck_assert_int_eq(s->header_blocks, 1); /* trailers-only */
	ck_assert_str_eq(s->grpc_message, "unknown method /t.T/Nope");
	s = h2h_request(&h, "/other.Svc/Echo", NULL, NULL, NULL, body, len, 0, false);
	ck_assert_int_eq(s->grpc_status, FPD_GRPC_UNIMPLEMENTED);
}
END_TEST

START_TEST(wrong_content_type)
{
	size_t len;
	const uint8_t *body = h2h_frame("x", 1, &len);
	struct h2h_stream *s =
	    h2h_request(&h, "/t.T/Echo", "application/json", NULL, NULL, body, len, 0, false);
	ck_assert_int_eq(s->http_status, 415);
	s = h2h_request(&h, "/t.T/Echo", "", NULL, NULL, body, len, 0, false); /* none at all */
	ck_assert_int_eq(s->http_status, 415);
	ck_assert_int_eq(held.handled, 0);
	s = h2h_request(&h, "/t.T/Echo", "application/grpc+proto", NULL, NULL, body, len, 0, false);
	ck_assert_int_eq(s->grpc_status, 0);
}
END_TEST

START_TEST(message_too_large)
{
	static char msg[4097];
	size_t len;
	const uint8_t *body = h2h_frame(msg, sizeof(msg), &len);
	struct h2h_stream *s = h2h_request(&h, "/t.T/Echo", NULL, NULL, NULL, body, len, 0, false);
	ck_assert_int_eq(s->grpc_status, FPD_GRPC_RESOURCE_EXHAUSTED);
	ck_assert_str_eq(s->grpc_message, "received message larger than max (4097 vs. 4096)");
	ck_assert_int_eq(held.handled, 0);
	/* The connection still serves, and its window was given back. */
	for (int i = 0; i < 40; i++) {
		body = h2h_frame(msg, 4096, &len);
		s = h2h_request(&h, "/t.T/Echo", NULL, NULL, NULL, body, len, 0, false);
		ck_assert_int_eq(s->grpc_status, 0);
		h.nstreams = 0;
	}
}
END_TEST

START_TEST(response_too_large)
{
	size_t len;
	const uint8_t *body = h2h_frame("x", 1, &len);
	struct h2h_stream *s = h2h_request(&h, "/t.T/Big", NULL, NULL, NULL, body, len, 0, false);
	ck_assert_int_eq(s->grpc_status, FPD_GRPC_RESOURCE_EXHAUSTED);
	ck_assert_uint_eq(s->data_len, 0);
}
END_TEST

START_TEST(truncated_message)
{
	/* Declares 100 bytes, sends 10, then ends the stream. */
	uint8_t body[15] = {0, 0, 0, 0, 100, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'};
	struct h2h_stream *s =
	    h2h_request(&h, "/t.T/Echo", NULL, NULL, NULL, body, sizeof(body), 0, false);
	ck_assert_int_eq(s->grpc_status, FPD_GRPC_INTERNAL);
	ck_assert_str_eq(s->grpc_message, "request ended mid-message (10 of 100 bytes received)");
	s = h2h_request(&h, "/t.T/Echo", NULL, NULL, NULL, body, 0, 0, false);
	ck_assert_int_eq(s->grpc_status, FPD_GRPC_INTERNAL);
	ck_assert_str_eq(s->grpc_message, "request has no message");
	ck_assert_int_eq(held.handled, 0);
}
END_TEST

START_TEST(two_messages_on_unary)
{
	uint8_t body[12] = {0, 0, 0, 0, 1, 'a', 0, 0, 0, 0, 1, 'b'};
	struct h2h_stream *s =
	    h2h_request(&h, "/t.T/Echo", NULL, NULL, NULL, body, sizeof(body), 0, false);
	ck_assert_int_eq(s->grpc_status, FPD_GRPC_INTERNAL);
	ck_assert_int_eq(held.handled, 0);
}
END_TEST

START_TEST(compressed_message)
{
	uint8_t body[6] = {1, 0, 0, 0, 1, 'z'};
	struct h2h_stream *s =
	    h2h_request(&h, "/t.T/Echo", NULL, NULL, "gzip", body, sizeof(body), 0, false);
	ck_assert_int_eq(s->grpc_status, FPD_GRPC_UNIMPLEMENTED);
	ck_assert_str_eq(s->grpc_message,
	                 "grpc-encoding \"gzip\" is not supported (only identity)");
	s = h2h_request(&h, "/t.T/Echo", NULL, NULL, NULL, body, sizeof(body), 0, false);
	ck_assert_int_eq(s->grpc_status, FPD_GRPC_INTERNAL);
	/* An encoding header alone is fine when the message is not compressed. */
	body[0] = 0;
	s = h2h_request(&h, "/t.T/Echo", NULL, NULL, "gzip", body, sizeof(body), 0, false);
	ck_assert_int_eq(s->grpc_status, 0);
	ck_assert_int_eq(held.handled, 1);
}
END_TEST

START_TEST(status_message_is_percent_encoded)
{
	size_t len;
	const uint8_t *body = h2h_frame("x", 1, &len);
	struct h2h_stream *s = h2h_request(&h, "/t.T/Fail", NULL, NULL, NULL, body, len, 0, false);
	ck_assert_int_eq(s->grpc_status, FPD_GRPC_INVALID_ARGUMENT);
	ck_assert_str_eq(s->grpc_message, "bad%0A100%25");
}
END_TEST

START_TEST(server_streaming)
{
	size_t len;
	const uint8_t *body = h2h_frame("tick", 4, &len);
	struct h2h_stream *s =
	    h2h_request(&h, "/t.T/Stream", NULL, NULL, NULL, body, len, 0, false);
	ck_assert_int_eq(s->grpc_status, 0);
	for (size_t i = 0; i < 3; i++) {
		size_t mlen;
		const uint8_t *m = h2h_message(s, i, &mlen);
		ck_assert_msg(m != NULL, "message %zu missing", i);
		ck_assert_mem_eq(m, "tick", 4);
	}
	size_t mlen;
	ck_assert_ptr_null(h2h_message(s, 3, &mlen));
}
END_TEST

START_TEST(async_completion)
{
	size_t len;
	const uint8_t *body = h2h_frame("later", 5, &len);
	struct h2h_stream *s = h2h_request(&h, "/t.T/Hold", NULL, NULL, NULL, body, len, 0, false);
	ck_assert_ptr_nonnull(held.call);
	ck_assert_int_eq(s->grpc_status, -1); /* nothing yet */
	ck_assert_int_eq(fpd_grpc_call_remaining_ms(held.call), -1);
	struct fpd_grpc_stats st;
	fpd_grpc_server_stats(h.srv, &st);
	ck_assert_uint_eq(st.calls_active, 1);
	int kicks = h.kicks;
	ck_assert_int_eq(fpd_grpc_call_reply(held.call, "done", 4), FPD_OK);
	ck_assert_int_gt(h.kicks, kicks); /* the owner was asked to flush */
	h2h_pump(&h);
	ck_assert_int_eq(s->grpc_status, 0);
	size_t mlen;
	const uint8_t *m = h2h_message(s, 0, &mlen);
	ck_assert_mem_eq(m, "done", 4);
	ck_assert_int_eq(held.cancelled, 0);
	fpd_grpc_server_stats(h.srv, &st);
	ck_assert_uint_eq(st.calls_active, 0);
}
END_TEST

START_TEST(client_reset_cancels)
{
	size_t len;
	const uint8_t *body = h2h_frame("x", 1, &len);
	struct h2h_stream *s = h2h_request(&h, "/t.T/Hold", NULL, NULL, NULL, body, len, 0, false);
	ck_assert_ptr_nonnull(held.call);
	h2h_reset(&h, s);
	ck_assert_int_eq(held.cancelled, 1);
	ck_assert_int_eq(held.cancel_code, FPD_GRPC_CANCELLED);
	ck_assert_uint_eq(fpd_grpc_conn_streams(h.conn), 0);
}
END_TEST

START_TEST(disconnect_cancels)
{
	size_t len;
	const uint8_t *body = h2h_frame("x", 1, &len);
	h2h_request(&h, "/t.T/Hold", NULL, NULL, NULL, body, len, 0, false);
	ck_assert_ptr_nonnull(held.call);
	h2h_disconnect(&h, FPD_GRPC_UNAVAILABLE);
	ck_assert_int_eq(held.cancelled, 1);
	ck_assert_int_eq(held.cancel_code, FPD_GRPC_UNAVAILABLE);
}
END_TEST

START_TEST(deadline_exceeded_held_call)
{
	size_t len;
	const uint8_t *body = h2h_frame("x", 1, &len);
	struct h2h_stream *s = h2h_request(&h, "/t.T/Hold", NULL, "50m", NULL, body, len, 0, false);
	ck_assert_ptr_nonnull(held.call);
	int64_t left = fpd_grpc_call_remaining_ms(held.call);
	ck_assert_msg(left >= 0 && left <= 50, "remaining %lld", (long long)left);
	h2h_run_timers(&h, 0.2);
	ck_assert_int_eq(held.cancelled, 1);
	ck_assert_int_eq(held.cancel_code, FPD_GRPC_DEADLINE_EXCEEDED);
	ck_assert_int_eq(s->grpc_status, FPD_GRPC_DEADLINE_EXCEEDED);
	ck_assert(s->closed);
}
END_TEST

START_TEST(deadline_while_receiving)
{
	/* Half a message, stream left open: the deadline still ends it. */
	uint8_t body[7] = {0, 0, 0, 0, 10, 'a', 'b'};
	struct h2h_stream *s =
	    h2h_request(&h, "/t.T/Echo", NULL, "20m", NULL, body, sizeof(body), 0, true);
	ck_assert_int_eq(s->grpc_status, -1);
	h2h_run_timers(&h, 0.15);
	ck_assert_int_eq(s->grpc_status, FPD_GRPC_DEADLINE_EXCEEDED);
	ck_assert_int_eq(held.handled, 0);
	/* The server then resets the client's open half (NO_ERROR), freeing the stream. */
	ck_assert(s->closed);
	ck_assert_uint_eq(fpd_grpc_conn_streams(h.conn), 0);
}
END_TEST

START_TEST(malformed_timeout)
{
	size_t len;
	const uint8_t *body = h2h_frame("x", 1, &len);
	struct h2h_stream *s =
	    h2h_request(&h, "/t.T/Echo", NULL, "soon", NULL, body, len, 0, false);
	ck_assert_int_eq(s->grpc_status, FPD_GRPC_INTERNAL);
	ck_assert_str_eq(s->grpc_message, "malformed grpc-timeout");
}
END_TEST

START_TEST(many_streams_reset)
{
	/* Open and reset streams in batches: every call is freed, the connection survives
	 * (or, past nghttp2's rapid-reset budget, ends cleanly with GOAWAY). */
	size_t len;
	const uint8_t *body = h2h_frame("x", 1, &len);
	for (int i = 0; i < 500 && !h.conn_failed; i++) {
		h.nstreams = 0;
		struct h2h_stream *s =
		    h2h_request(&h, "/t.T/Hold", NULL, NULL, NULL, body, len, 0, false);
		h2h_reset(&h, s);
	}
	ck_assert_int_eq(held.cancelled, held.handled);
	ck_assert_uint_eq(fpd_grpc_conn_streams(h.conn), 0);
	struct fpd_grpc_stats st;
	fpd_grpc_server_stats(h.srv, &st);
	ck_assert_uint_eq(st.calls_active, 0);
}
END_TEST

START_TEST(garbage_preface)
{
	h2h_disconnect(&h, FPD_GRPC_CANCELLED);
	struct fpd_grpc_conn *c = fpd_grpc_conn_new(h.srv, NULL, NULL);
	const char junk[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	ck_assert_int_eq(fpd_grpc_conn_recv(c, (const uint8_t *)junk, sizeof(junk) - 1), FPD_EIO);
	fpd_grpc_conn_flush(c);
	size_t len;
	fpd_grpc_conn_output(c, &len);
	fpd_grpc_conn_consume(c, len);
	ck_assert(fpd_grpc_conn_done(c));
	fpd_grpc_conn_free(c, FPD_GRPC_CANCELLED);
}
END_TEST

static struct fpd_grpc_stats stats(void)
{
	struct fpd_grpc_stats st;
	fpd_grpc_server_stats(h.srv, &st);
	return st;
}

static uint64_t buffered(void)
{
	return stats().request_bytes_buffered;
}

/* What the server holds against max_buffered_request_bytes. */
static uint64_t held_now(void)
{
	struct fpd_grpc_stats st = stats();
	return st.request_bytes_buffered + st.http2_state_bytes;
}

START_TEST(buffered_request_budget)
{
	/* One request holds 2,005 bytes of an unfinished message (a 2,048-byte buffer); a second
	 * that would take the server past the budget is refused at once; when the first goes,
	 * the second fits. */
	static uint8_t partial[5 + 2000] = {0, 0, 0, 0x0f, 0xa0}; /* declares 4,000 */
	struct h2h_stream *a =
	    h2h_request(&h, "/t.T/Echo", NULL, NULL, NULL, partial, sizeof(partial), 0, true);
	ck_assert_int_eq(a->grpc_status, -1);
	ck_assert_uint_eq(buffered(), fpd_grpc_call_footprint() + fpd_grpc_alloc_footprint(2048));
	h.cfg.max_buffered_request_bytes = (int64_t)held_now() + 1500;
	static uint8_t msg[1500];
	size_t len;
	const uint8_t *body = h2h_frame(msg, sizeof(msg), &len);
	uint64_t before = buffered();
	struct h2h_stream *b = h2h_request(&h, "/t.T/Echo", NULL, NULL, NULL, body, len, 0, false);
	ck_assert_int_eq(b->grpc_status, FPD_GRPC_RESOURCE_EXHAUSTED);
	ck_assert_ptr_nonnull(strstr(b->grpc_message, "max_buffered_request_bytes"));
	ck_assert_int_eq(held.handled, 0);
	ck_assert_uint_eq(buffered(), before); /* the refused bytes were not kept */
	ck_assert_uint_eq(stats().requests_over_budget, 1);
	h2h_reset(&h, a);
	ck_assert_uint_eq(buffered(), 0);
	b = h2h_request(&h, "/t.T/Echo", NULL, NULL, NULL, body, len, 0, false);
	ck_assert_int_eq(b->grpc_status, FPD_GRPC_OK);
	ck_assert_uint_eq(held.req_len, sizeof(msg));
	ck_assert_uint_eq(buffered(), 0);
}
END_TEST

START_TEST(budget_counts_capacity)
{
	/* 1,100 bytes received, but the buffer holding them is 2,048 bytes: the budget is
	 * charged what the allocator gives. A budget that fits the bytes but not the buffer
	 * refuses the request. */
	static uint8_t partial[5 + 1100] = {0, 0, 0, 0x0f, 0xa0}; /* declares 4,000 */
	struct h2h_stream *a =
	    h2h_request(&h, "/t.T/Echo", NULL, NULL, NULL, partial, sizeof(partial), 0, true);
	ck_assert_int_eq(a->grpc_status, -1);
	ck_assert_uint_eq(buffered(), fpd_grpc_call_footprint() + fpd_grpc_alloc_footprint(2048));
	h2h_reset(&h, a);
	ck_assert_uint_eq(buffered(), 0);
	h.cfg.max_buffered_request_bytes =
	    (int64_t)(held_now() + fpd_grpc_call_footprint() + sizeof(partial) + 600);
	a = h2h_request(&h, "/t.T/Echo", NULL, NULL, NULL, partial, sizeof(partial), 0, true);
	ck_assert_int_eq(a->grpc_status, FPD_GRPC_RESOURCE_EXHAUSTED);
	ck_assert_uint_eq(buffered(), 0);
}
END_TEST

START_TEST(budget_counts_http2_state)
{
	/* nghttp2's own memory for the session is counted, and a stream that arrives when the
	 * server already holds its budget is refused at its headers, even without DATA. */
	ck_assert_uint_gt(stats().http2_state_bytes, 4096);
	h.cfg.max_buffered_request_bytes = (int64_t)held_now() - 1;
	size_t len;
	const uint8_t *body = h2h_frame("x", 1, &len);
	struct h2h_stream *s = h2h_request(&h, "/t.T/Echo", NULL, NULL, NULL, body, len, 0, false);
	ck_assert_int_eq(s->grpc_status, FPD_GRPC_RESOURCE_EXHAUSTED);
	ck_assert_int_eq(held.handled, 0);
	h.cfg.max_buffered_request_bytes = (int64_t)held_now() + 64 * 1024;
	s = h2h_request(&h, "/t.T/Echo", NULL, NULL, NULL, body, len, 0, false);
	ck_assert_int_eq(s->grpc_status, FPD_GRPC_OK);
	/* Closing the connection gives nghttp2's memory back. */
	h2h_disconnect(&h, FPD_GRPC_CANCELLED);
	ck_assert_uint_eq(stats().http2_state_bytes, 0);
	h2h_connect(&h);
}
END_TEST

static void count_kick(void *ud)
{
	(*(int *)ud)++;
}

/* True when the connection's output holds a GOAWAY frame. */
static bool output_has_goaway(const struct fpd_grpc_conn *c)
{
	size_t len;
	const uint8_t *p = fpd_grpc_conn_output(c, &len);
	size_t at = 0;
	while (at + 9 <= len) {
		if (p[at + 3] == NGHTTP2_GOAWAY)
			return true;
		at += 9 + ((size_t)p[at] << 16 | (size_t)p[at + 1] << 8 | p[at + 2]);
	}
	return false;
}

START_TEST(idle_connections_make_room)
{
	/* Idle sessions fill the budget: a request on another connection is served, not refused,
	 * because the connection idle the longest is closed (GOAWAY, session freed) for room. */
	static const uint8_t preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
	                                 "\0\0\0\4\0\0\0\0\0";
	struct fpd_grpc_conn *idle[3];
	int kicks[3] = {0};
	for (int i = 0; i < 3; i++) {
		idle[i] = fpd_grpc_conn_new(h.srv, count_kick, &kicks[i]);
		ck_assert_int_eq(fpd_grpc_conn_recv(idle[i], preface, sizeof(preface) - 1), FPD_OK);
		idle[i]->served = true;
		idle[i]->idle_since = ev_now(h.loop) - 100 + i; /* idle[0] the longest */
	}
	h.cfg.max_buffered_request_bytes = (int64_t)held_now() - 1;
	size_t len;
	const uint8_t *body = h2h_frame("x", 1, &len);
	/* Not yet: two are idle too briefly, one has served no request. */
	idle[0]->idle_since = idle[2]->idle_since = ev_now(h.loop) - 1;
	idle[1]->served = false;
	struct h2h_stream *s = h2h_request(&h, "/t.T/Echo", NULL, NULL, NULL, body, len, 0, false);
	ck_assert_int_eq(s->grpc_status, FPD_GRPC_RESOURCE_EXHAUSTED);
	ck_assert_uint_eq(stats().connections_reclaimed, 0);
	idle[0]->idle_since = ev_now(h.loop) - 100;
	idle[2]->idle_since = ev_now(h.loop) - 98;
	idle[1]->served = true;
	s = h2h_request(&h, "/t.T/Echo", NULL, NULL, NULL, body, len, 0, false);
	ck_assert_msg(s->grpc_status == FPD_GRPC_OK, "expected OK, got %d (%s)", s->grpc_status,
	              s->grpc_message);
	ck_assert_uint_eq(stats().connections_reclaimed, 1);
	ck_assert_uint_eq(stats().requests_over_budget, 1); /* the first try above */
	/* The oldest went: its owner was kicked to write the GOAWAY and then close it. */
	ck_assert_int_eq(kicks[0], 1);
	ck_assert(output_has_goaway(idle[0]));
	ck_assert_int_eq(fpd_grpc_conn_flush(idle[0]), FPD_EIO);
	fpd_grpc_conn_output(idle[0], &len);
	fpd_grpc_conn_consume(idle[0], len);
	ck_assert(fpd_grpc_conn_done(idle[0]));
	ck_assert_int_eq(fpd_grpc_conn_recv(idle[0], preface, 9), FPD_EIO);
	/* The others stay. */
	for (int i = 1; i < 3; i++) {
		ck_assert_int_eq(kicks[i], 0);
		ck_assert_int_eq(fpd_grpc_conn_flush(idle[i]), FPD_OK);
		ck_assert(!output_has_goaway(idle[i]));
	}
	/* With no idle connection left to close, a request over the budget is refused. */
	fpd_grpc_conn_free(idle[1], FPD_GRPC_CANCELLED);
	fpd_grpc_conn_free(idle[2], FPD_GRPC_CANCELLED);
	fpd_grpc_conn_free(idle[0], FPD_GRPC_CANCELLED);
	h.cfg.max_buffered_request_bytes = (int64_t)held_now() - 1;
	s = h2h_request(&h, "/t.T/Echo", NULL, NULL, NULL, body, len, 0, false);
	ck_assert_int_eq(s->grpc_status, FPD_GRPC_RESOURCE_EXHAUSTED);
	ck_assert_uint_eq(stats().connections_reclaimed, 1);
}
END_TEST

START_TEST(receive_timeout_ends_unfinished_request)
{
	/* No grpc-timeout from the client: receive_timeout alone ends the request and gives its
	 * bytes back. */
	h.cfg.receive_timeout_ms = 100;
	h2h_disconnect(&h, FPD_GRPC_CANCELLED);
	h2h_connect(&h); /* calls take the timeout when they start */
	static uint8_t partial[5 + 100] = {0, 0, 0, 0x03, 0xe8};
	struct h2h_stream *s =
	    h2h_request(&h, "/t.T/Echo", NULL, NULL, NULL, partial, sizeof(partial), 0, true);
	ck_assert_int_eq(s->grpc_status, -1);
	ck_assert_uint_eq(buffered(), fpd_grpc_call_footprint() + fpd_grpc_alloc_footprint(128));
	h2h_run_timers(&h, 0.15);
	ck_assert_int_eq(s->grpc_status, FPD_GRPC_DEADLINE_EXCEEDED);
	ck_assert_str_eq(s->grpc_message,
	                 "request not received completely within receive_timeout (100 ms)");
	ck_assert(s->closed);
	ck_assert_uint_eq(buffered(), 0);
	ck_assert_uint_eq(fpd_grpc_conn_streams(h.conn), 0);
	/* A request that completes in time is not touched by it. */
	size_t len;
	const uint8_t *body = h2h_frame("ok", 2, &len);
	s = h2h_request(&h, "/t.T/Echo", NULL, NULL, NULL, body, len, 0, false);
	ck_assert_int_eq(s->grpc_status, FPD_GRPC_OK);
	h2h_run_timers(&h, 0.15);
	ck_assert_int_eq(s->grpc_status, FPD_GRPC_OK);
}
END_TEST

START_TEST(preface_and_first_request)
{
	/* What the socket layer's handshake and first-request deadlines look at. */
	ck_assert(fpd_grpc_conn_preface_received(h.conn));
	ck_assert(!fpd_grpc_conn_served(h.conn));
	size_t len;
	const uint8_t *body = h2h_frame("x", 1, &len);
	struct h2h_stream *s = h2h_request(&h, "/t.T/Hold", NULL, NULL, NULL, body, len, 0, false);
	ck_assert_int_eq(held.handled, 1);
	ck_assert(fpd_grpc_conn_served(h.conn)); /* ended by the client, still being answered */
	ck_assert_int_eq(fpd_grpc_call_reply(held.call, "y", 1), FPD_OK);
	h2h_pump(&h);
	ck_assert_int_eq(s->grpc_status, FPD_GRPC_OK);
	struct fpd_grpc_conn *c = fpd_grpc_conn_new(h.srv, NULL, NULL);
	ck_assert(!fpd_grpc_conn_preface_received(c));
	static const char magic[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	ck_assert_int_eq(fpd_grpc_conn_recv(c, (const uint8_t *)magic, sizeof(magic) - 1), FPD_OK);
	ck_assert(!fpd_grpc_conn_preface_received(c)); /* the magic alone is not the preface */
	static const uint8_t settings[9] = {0, 0, 0, 4, 0, 0, 0, 0, 0};
	ck_assert_int_eq(fpd_grpc_conn_recv(c, settings, sizeof(settings)), FPD_OK);
	ck_assert(fpd_grpc_conn_preface_received(c));
	ck_assert(!fpd_grpc_conn_served(c));
	fpd_grpc_conn_free(c, FPD_GRPC_CANCELLED);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("grpc_conn");
	TCase *tc = tcase_create("conn");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, method_table);
	tcase_add_test(tc, unary_echo);
	tcase_add_test(tc, one_byte_per_data_frame);
	tcase_add_test(tc, empty_message);
	tcase_add_test(tc, unknown_method);
	tcase_add_test(tc, wrong_content_type);
	tcase_add_test(tc, message_too_large);
	tcase_add_test(tc, response_too_large);
	tcase_add_test(tc, truncated_message);
	tcase_add_test(tc, two_messages_on_unary);
	tcase_add_test(tc, compressed_message);
	tcase_add_test(tc, status_message_is_percent_encoded);
	tcase_add_test(tc, server_streaming);
	tcase_add_test(tc, async_completion);
	tcase_add_test(tc, client_reset_cancels);
	tcase_add_test(tc, disconnect_cancels);
	tcase_add_test(tc, deadline_exceeded_held_call);
	tcase_add_test(tc, deadline_while_receiving);
	tcase_add_test(tc, malformed_timeout);
	tcase_add_test(tc, many_streams_reset);
	tcase_add_test(tc, garbage_preface);
	tcase_add_test(tc, buffered_request_budget);
	tcase_add_test(tc, budget_counts_capacity);
	tcase_add_test(tc, budget_counts_http2_state);
	tcase_add_test(tc, idle_connections_make_room);
	tcase_add_test(tc, receive_timeout_ends_unfinished_request);
	tcase_add_test(tc, preface_and_first_request);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
