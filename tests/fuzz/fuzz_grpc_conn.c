/*
 * Arbitrary bytes as what a client sends on one HTTP/2 connection, fed to the in-memory gRPC
 * session (daemon/grpc/conn.h) with the real agent services registered, plus one method that
 * holds its calls so the asynchronous completion and cancellation paths run too. Must never
 * crash, leak, read out of bounds or hang.
 *
 * Input layout: byte 0 is control: bit 0 set = prepend the client connection preface and an
 * empty SETTINGS frame (so mutations go into frames, not into the fixed preface); bits 1-7 =
 * chunk size - 1 for feeding the rest, so frame boundaries fall anywhere.
 */
#include "agent/agent.h"
#include "grpc/conn.h"
#include "grpc/health.h"

#include <ev.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct fpd_task_type types[] = {{"python-task", 0}, {"spark", 1}};
static const struct fpd_plugin plugin = {
    .abi = FPD_PLUGIN_ABI, .name = "fuzz", .task_types = types, .task_type_count = 2};

#define HELD_MAX 64
static struct fpd_grpc_call *held[HELD_MAX];
static size_t held_count;

static void on_cancel(struct fpd_grpc_call *call, enum fpd_grpc_code code, void *ud)
{
	for (size_t i = 0; i < held_count; i++)
		if (held[i] == call)
			held[i] = held[--held_count];
}

static void on_hold(struct fpd_grpc_call *call, const uint8_t *req, size_t len, void *ud)
{
	if (held_count == HELD_MAX || (len && req[0] == 'f')) {
		fpd_grpc_call_fail(call, FPD_GRPC_ABORTED, "held \xff too many\n");
		return;
	}
	held[held_count++] = call;
	fpd_grpc_call_on_cancel(call, on_cancel, NULL);
	if (len && req[0] == 's') /* a streaming-ish answer that stays open */
		fpd_grpc_call_send(call, req, len);
}

static struct fpd_grpc_server *server(void)
{
	/* Process lifetime, like the daemon's (static so LeakSanitizer sees them reachable). */
	static struct fpd_grpc_server *srv;
	static struct fpd_registry *reg;
	static struct fpd_agent *agent;
	static struct fpd_config_grpc cfg = {
	    .listen = "127.0.0.1:0",
	    .tls = {"", "", ""},
	    .max_concurrent_streams = 100,
	    .max_connections = 10,
	    .max_recv_message_bytes = 64 * 1024,
	    .max_send_message_bytes = 64 * 1024,
	    .idle_timeout_ms = 1000,
	    .drain_timeout_ms = 1000,
	    .max_connections_per_peer = 10,
	    .handshake_timeout_ms = 1000,
	    .first_request_timeout_ms = 1000,
	    .receive_timeout_ms = 1000,
	    /* Below the 4 KiB inputs libFuzzer makes, so the refusal path is reached; above
	     * every seed's request, so dispatch is too. */
	    .max_buffered_request_bytes = 3 * 1024,
	};
	if (srv)
		return srv;
	struct fpd_error err;
	reg = fpd_registry_new();
	if (fpd_registry_add(reg, &plugin, &err))
		abort();
	srv = fpd_grpc_server_new(ev_default_loop(0), &cfg, &err);
	if (!srv || !fpd_health_new(srv, &err) || !(agent = fpd_agent_new(srv, reg, NULL, &err)) ||
	    fpd_grpc_server_add_method(srv, "/fuzz.Hold/Unary", FPD_GRPC_UNARY, on_hold, NULL,
	                               &err) ||
	    fpd_grpc_server_add_method(srv, "/fuzz.Hold/Stream", FPD_GRPC_SERVER_STREAM, on_hold,
	                               NULL, &err))
		abort();
	return srv;
}

static void drain(struct fpd_grpc_conn *conn)
{
	for (int i = 0; i < 64; i++) {
		fpd_grpc_conn_flush(conn);
		size_t len;
		fpd_grpc_conn_output(conn, &len);
		if (!len)
			return;
		fpd_grpc_conn_consume(conn, len);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
	                                 "\x00\x00\x00\x04\x00\x00\x00\x00\x00";
	if (size == 0)
		return 0;
	struct fpd_grpc_conn *conn = fpd_grpc_conn_new(server(), NULL, NULL);
	bool ok = true;
	if (data[0] & 1)
		ok = fpd_grpc_conn_recv(conn, preface, sizeof(preface) - 1) == 0;
	size_t chunk = (size_t)(data[0] >> 1) + 1;
	for (size_t pos = 1; ok && pos < size; pos += chunk) {
		size_t n = size - pos < chunk ? size - pos : chunk;
		ok = fpd_grpc_conn_recv(conn, data + pos, n) == 0;
		drain(conn);
	}
	/* Complete half of what was held asynchronously; the rest is cancelled by the free. */
	for (size_t i = 0; i < held_count; i += 2) {
		struct fpd_grpc_call *c = held[i];
		held[i] = held[--held_count];
		fpd_grpc_call_reply(c, "late", 4);
	}
	drain(conn);
	fpd_grpc_conn_free(conn, FPD_GRPC_UNAVAILABLE);
	if (held_count)
		abort(); /* every held call must have been cancelled */
	return 0;
}
