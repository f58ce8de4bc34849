/* In-memory gRPC connection harness: see harness.h. */
#include "harness.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct h2h_stream *find(struct h2h *h, int32_t id)
{
	for (size_t i = 0; i < h->nstreams; i++)
		if (h->streams[i].id == id)
			return &h->streams[i];
	return NULL;
}

static void on_kick(void *ud)
{
	struct h2h *h = ud;
	h->kicks++;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
	struct h2h_stream *st = find(ud, frame->hd.stream_id);
	if (!st)
		return 0;
	char v[2048];
	size_t n = valuelen < sizeof(v) - 1 ? valuelen : sizeof(v) - 1;
	memcpy(v, value, n);
	v[n] = '\0';
	if (namelen == 7 && memcmp(name, ":status", 7) == 0)
		st->http_status = (int)strtol(v, NULL, 10);
	else if (namelen == 11 && memcmp(name, "grpc-status", 11) == 0)
		st->grpc_status = (int)strtol(v, NULL, 10);
	else if (namelen == 12 && memcmp(name, "grpc-message", 12) == 0)
		memcpy(st->grpc_message, v, n + 1);
	return 0;
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *frame, void *ud)
{
	struct h2h_stream *st = find(ud, frame->hd.stream_id);
	if (st && frame->hd.type == NGHTTP2_HEADERS)
		st->header_blocks++;
	return 0;
}

static int on_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
                   void *ud)
{
	struct h2h_stream *st = find(ud, id);
	ck_assert_ptr_nonnull(st);
	ck_assert_uint_le(st->data_len + len, sizeof(st->data));
	memcpy(st->data + st->data_len, data, len);
	st->data_len += len;
	return 0;
}

static int on_close(nghttp2_session *s, int32_t id, uint32_t code, void *ud)
{
	struct h2h_stream *st = find(ud, id);
	if (st) {
		st->closed = true;
		st->rst_code = code;
	}
	return 0;
}

void h2h_init(struct h2h *h, int64_t max_recv)
{
	memset(h, 0, sizeof(*h));
	h->loop = ev_loop_new(EVFLAG_AUTO);
	h->cfg.listen = "127.0.0.1:0";
	h->cfg.tls.cert_file = "";
	h->cfg.tls.key_file = "";
	h->cfg.max_concurrent_streams = 100;
	h->cfg.max_connections = 10;
	h->cfg.max_recv_message_bytes = max_recv;
	h->cfg.max_send_message_bytes = 64 * 1024;
	h->cfg.idle_timeout_ms = 60000;
	h->cfg.drain_timeout_ms = 1000;
	h->cfg.max_connections_per_peer = 10;
	h->cfg.handshake_timeout_ms = 10000;
	h->cfg.first_request_timeout_ms = 30000;
	h->cfg.receive_timeout_ms = 30000;
	h->cfg.max_buffered_request_bytes = 64 * 1024 * 1024;
	struct fpd_error err;
	h->srv = fpd_grpc_server_new(h->loop, &h->cfg, &err);
	ck_assert_ptr_nonnull(h->srv);
}

void h2h_connect(struct h2h *h)
{
	nghttp2_session_callbacks *cb;
	nghttp2_session_callbacks_new(&cb);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_close);
	ck_assert_int_eq(nghttp2_session_client_new(&h->client, cb, h), 0);
	nghttp2_session_callbacks_del(cb);
	nghttp2_submit_settings(h->client, NGHTTP2_FLAG_NONE, NULL, 0);
	h->conn = fpd_grpc_conn_new(h->srv, on_kick, h);
	h2h_pump(h);
}

static ssize_t read_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length,
                         uint32_t *flags, nghttp2_data_source *src, void *ud)
{
	struct h2h_stream *st = src->ptr;
	size_t left = st->body_len - st->body_pos;
	size_t n = left < length ? left : length;
	if (st->chunk && n > st->chunk)
		n = st->chunk;
	memcpy(buf, st->body + st->body_pos, n);
	st->body_pos += n;
	if (st->body_pos == st->body_len) {
		if (st->hold)
			return n ? (ssize_t)n : NGHTTP2_ERR_DEFERRED;
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	}
	return (ssize_t)n;
}

#define NV(n, v)                                                                           \
	{                                                                                  \
		(uint8_t *)(n), (uint8_t *)(v), strlen(n), strlen(v), NGHTTP2_NV_FLAG_NONE \
	}

struct h2h_stream *h2h_request(struct h2h *h, const char *path, const char *content_type,
                               const char *timeout, const char *encoding, const uint8_t *body,
                               size_t len, size_t chunk, bool hold)
{
	ck_assert_uint_lt(h->nstreams, H2H_STREAMS);
	struct h2h_stream *st = &h->streams[h->nstreams++];
	memset(st, 0, sizeof(*st));
	st->grpc_status = -1;
	st->body = body;
	st->body_len = len;
	st->chunk = chunk;
	st->hold = hold;
	nghttp2_nv nv[8] = {
	    NV(":method", "POST"), NV(":scheme", "http"), NV(":authority", "test"),
	    NV(":path", path),     NV("te", "trailers"),
	};
	size_t n = 5;
	if (content_type == NULL || content_type[0])
		nv[n++] = (nghttp2_nv)NV("content-type",
		                         content_type ? content_type : "application/grpc");
	if (timeout)
		nv[n++] = (nghttp2_nv)NV("grpc-timeout", timeout);
	if (encoding)
		nv[n++] = (nghttp2_nv)NV("grpc-encoding", encoding);
	nghttp2_data_provider prd = {.source.ptr = st, .read_callback = read_body};
	st->id = nghttp2_submit_request(h->client, NULL, nv, n, &prd, h);
	ck_assert_int_gt(st->id, 0);
	h2h_pump(h);
	return st;
}

const uint8_t *h2h_frame(const void *msg, size_t len, size_t *out_len)
{
	static uint8_t buf[H2H_STREAMS][H2H_DATA_MAX];
	static size_t next;
	uint8_t *b = buf[next++ % H2H_STREAMS];
	ck_assert_uint_le(len + 5, H2H_DATA_MAX);
	b[0] = 0;
	b[1] = (uint8_t)(len >> 24);
	b[2] = (uint8_t)(len >> 16);
	b[3] = (uint8_t)(len >> 8);
	b[4] = (uint8_t)len;
	memcpy(b + 5, msg, len);
	*out_len = len + 5;
	return b;
}

void h2h_pump(struct h2h *h)
{
	for (int round = 0; round < 100000; round++) {
		bool progress = false;
		const uint8_t *data;
		ssize_t n;
		while ((n = nghttp2_session_mem_send(h->client, &data)) > 0) {
			progress = true;
			if (fpd_grpc_conn_recv(h->conn, data, (size_t)n))
				h->conn_failed = true;
		}
		ck_assert_int_ge(n, 0);
		if (fpd_grpc_conn_flush(h->conn))
			h->conn_failed = true;
		size_t len;
		const uint8_t *out = fpd_grpc_conn_output(h->conn, &len);
		if (len) {
			progress = true;
			ssize_t r = nghttp2_session_mem_recv(h->client, out, len);
			ck_assert_int_eq(r, (ssize_t)len);
			fpd_grpc_conn_consume(h->conn, len);
		}
		for (size_t i = 0; i < h->nstreams; i++) /* held bodies may have grown */
			if (h->streams[i].id > 0 && !h->streams[i].closed)
				nghttp2_session_resume_data(h->client, h->streams[i].id);
		if (!progress)
			return;
	}
	ck_abort_msg("h2h_pump: no quiescence after 100000 rounds");
}

void h2h_run_timers(struct h2h *h, double seconds)
{
	ev_tstamp end = ev_time() + seconds;
	while (ev_time() < end) {
		ev_run(h->loop, EVRUN_NOWAIT);
		h2h_pump(h);
		ev_sleep(0.005);
	}
	/* Once more after the end: on a loaded machine the last sleep can overrun it. */
	ev_run(h->loop, EVRUN_NOWAIT);
	h2h_pump(h);
}

void h2h_reset(struct h2h *h, struct h2h_stream *s)
{
	nghttp2_submit_rst_stream(h->client, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_CANCEL);
	h2h_pump(h);
}

const uint8_t *h2h_message(const struct h2h_stream *s, size_t n, size_t *len)
{
	size_t pos = 0;
	for (size_t i = 0; pos + 5 <= s->data_len; i++) {
		size_t l = (size_t)s->data[pos + 1] << 24 | (size_t)s->data[pos + 2] << 16 |
		           (size_t)s->data[pos + 3] << 8 | s->data[pos + 4];
		if (pos + 5 + l > s->data_len)
			return NULL;
		if (i == n) {
			*len = l;
			return s->data + pos + 5;
		}
		pos += 5 + l;
	}
	return NULL;
}

void h2h_disconnect(struct h2h *h, enum fpd_grpc_code code)
{
	fpd_grpc_conn_free(h->conn, code);
	h->conn = NULL;
	nghttp2_session_del(h->client);
	h->client = NULL;
}

void h2h_free(struct h2h *h)
{
	if (h->conn)
		h2h_disconnect(h, FPD_GRPC_UNAVAILABLE);
	fpd_grpc_server_free(h->srv);
	ev_loop_destroy(h->loop);
}
