/*
 * One HTTP/2 connection's gRPC session, separated from sockets and TLS: bytes in through
 * fpd_grpc_conn_recv, bytes out through fpd_grpc_conn_output/consume. server.c wraps it around
 * a socket; the unit tests and the fuzzer drive it from memory.
 */
#ifndef FPD_GRPC_CONN_H
#define FPD_GRPC_CONN_H

#include "grpc/grpc.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fpd_grpc_conn;

/*
 * New session for srv (borrowed; must outlive the connection). kick(ud) runs when a call
 * completed outside fpd_grpc_conn_recv queued output, so the owner should call
 * fpd_grpc_conn_flush soon (from the loop, not from inside kick). The server preface (SETTINGS)
 * is queued at once.
 */
struct fpd_grpc_conn *fpd_grpc_conn_new(struct fpd_grpc_server *srv, void (*kick)(void *ud),
                                        void *ud);

/* Processes len bytes from the peer. FPD_OK, or FPD_EIO on a connection-level protocol error
 * (a GOAWAY is queued: flush what is pending, then close). */
int fpd_grpc_conn_recv(struct fpd_grpc_conn *conn, const uint8_t *data, size_t len);

/*
 * Serializes queued frames into the output buffer, up to its high-water mark. FPD_OK, or
 * FPD_EIO when the session failed (close the connection).
 */
int fpd_grpc_conn_flush(struct fpd_grpc_conn *conn);

/* Bytes ready to be written to the peer (borrowed until the next conn call); *len may be 0. */
const uint8_t *fpd_grpc_conn_output(const struct fpd_grpc_conn *conn, size_t *len);
/* Marks n output bytes as written. */
void fpd_grpc_conn_consume(struct fpd_grpc_conn *conn, size_t n);
/* True when output is above the high-water mark: stop reading until it drains. */
bool fpd_grpc_conn_congested(const struct fpd_grpc_conn *conn);

/* True when the session has nothing left to read or write: the owner closes the socket. */
bool fpd_grpc_conn_done(const struct fpd_grpc_conn *conn);
/* Streams open on this connection (requests in flight or responses not fully sent). */
size_t fpd_grpc_conn_streams(const struct fpd_grpc_conn *conn);

/* True once the client's HTTP/2 preface (the magic string and its SETTINGS) has arrived. */
bool fpd_grpc_conn_preface_received(const struct fpd_grpc_conn *conn);
/* True once a request stream has ended here (answered, refused or reset, either side). */
bool fpd_grpc_conn_served(const struct fpd_grpc_conn *conn);

/* Starts a graceful close: GOAWAY with the last processed stream; calls in flight go on. */
void fpd_grpc_conn_goaway(struct fpd_grpc_conn *conn);

/* Cancels calls still held by handlers (code given to their cancel callbacks) and frees the
 * session. NULL is ignored. */
void fpd_grpc_conn_free(struct fpd_grpc_conn *conn, enum fpd_grpc_code code);

#endif
