/*
 * Test harness: an in-memory gRPC connection (daemon/grpc/conn.h) talking to a real nghttp2
 * client session, with no socket in between. Used by the grpc and agent unit tests.
 */
#ifndef FPD_TEST_GRPC_HARNESS_H
#define FPD_TEST_GRPC_HARNESS_H

#include "grpc/conn.h"
#include "grpc/grpc.h"

#include <ev.h>
#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define H2H_STREAMS 64
#define H2H_DATA_MAX (256 * 1024)

struct h2h_stream {
	int32_t id;
	/* request body as the client sends it */
	const uint8_t *body;
	size_t body_len, body_pos, chunk; /* chunk: bytes per DATA frame (0 = as many as fit) */
	bool hold;                        /* do not end the stream after the body */
	/* response */
	int http_status;
	int grpc_status; /* -1 until seen */
	char grpc_message[2048];
	uint8_t data[H2H_DATA_MAX];
	size_t data_len;
	bool closed;
	uint32_t rst_code;
	int header_blocks;
};

struct h2h {
	struct ev_loop *loop;
	struct fpd_config_grpc cfg;
	struct fpd_grpc_server *srv;
	struct fpd_grpc_conn *conn;
	nghttp2_session *client;
	int kicks;
	bool conn_failed;
	struct h2h_stream streams[H2H_STREAMS];
	size_t nstreams;
};

/* New server (no socket) with max_recv bytes per message; add methods, then h2h_connect. */
void h2h_init(struct h2h *h, int64_t max_recv);
/* Connection plus client session; exchanges the prefaces. */
void h2h_connect(struct h2h *h);
/* Starts a request. content_type NULL: "application/grpc"; timeout/encoding NULL: none. The
 * body must stay alive until the request is sent. Returns the stream record. */
struct h2h_stream *h2h_request(struct h2h *h, const char *path, const char *content_type,
                               const char *timeout, const char *encoding, const uint8_t *body,
                               size_t len, size_t chunk, bool hold);
/* A body holding one uncompressed message (prefix + msg) in a static buffer. */
const uint8_t *h2h_frame(const void *msg, size_t len, size_t *out_len);
/* Moves bytes both ways until neither side has anything to say. */
void h2h_pump(struct h2h *h);
/* Runs the loop once without blocking (timers), then pumps. */
void h2h_run_timers(struct h2h *h, double seconds);
/* Resets a stream from the client. */
void h2h_reset(struct h2h *h, struct h2h_stream *s);
/* The n-th response message on s (0-based); NULL if absent. */
const uint8_t *h2h_message(const struct h2h_stream *s, size_t n, size_t *len);
/* Frees the connection (cancelling held calls with code) but keeps the server. */
void h2h_disconnect(struct h2h *h, enum fpd_grpc_code code);
void h2h_free(struct h2h *h);

#endif
