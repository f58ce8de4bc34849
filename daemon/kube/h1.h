/*
 * Kept-alive HTTP/1.1 connections of flyteplugd's own (OpenSSL on libev), for the calls lane of
 * kube/http.c: one request at a time per connection, no pipelining, no streaming.
 *
 * Why not libcurl here: every CreateTask waits for one POST, and libcurl's own work per request
 * (its state machine, header callbacks, connection checks, socket callbacks) costs more than
 * writing the request and reading the answer (bench/transport). libcurl keeps everything else:
 * watches, proxies, HTTP/2 and servers named by DNS (resolving here would block the loop).
 *
 * Two parts: an incremental response parser (pure, fuzzed), and a pool of connections to one
 * server address that runs exchanges (request bytes in, status + body out) on the loop.
 */
#ifndef FPD_KUBE_H1_H
#define FPD_KUBE_H1_H

#include "core/buf.h"
#include "core/error.h"
#include "kube/creds.h"

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- response parser ---- */

enum fpd_h1_parse {
	FPD_H1_MORE,    /* the response is not complete yet */
	FPD_H1_DONE,    /* complete; *used says how many bytes it took */
	FPD_H1_BAD,     /* not HTTP/1.x as this parser accepts it; why says what */
	FPD_H1_TOO_BIG, /* the body passed its buffer's bound */
};

struct fpd_h1_parser {
	int status;             /* of the final (non-1xx) response; 0 until its status line */
	int64_t retry_after_ms; /* -1 when the response has no (valid) Retry-After */
	bool keep_alive;        /* false: the server closes the connection after this response */
	char why[128];
	/* private */
	struct fpd_buf *body;
	struct fpd_buf line;
	int state;
	bool chunked;
	bool http10;
	int header_lines;
	int64_t length; /* Content-Length, -1 when none */
	uint64_t remaining;
};

/* Starts a parser of the response to one request. The body goes to body (borrowed, bounded by
 * its max). The client sends no HEAD requests: only 204 and 304 answers have no body. Free
 * with fpd_h1_parser_free. */
void fpd_h1_parser_init(struct fpd_h1_parser *p, struct fpd_buf *body);
void fpd_h1_parser_free(struct fpd_h1_parser *p);
/* Feeds len bytes. After FPD_H1_DONE, *used is the number of bytes that belonged to the
 * response (more is a protocol error for a client that does not pipeline). */
enum fpd_h1_parse fpd_h1_parser_feed(struct fpd_h1_parser *p, const char *data, size_t len,
                                     size_t *used);
/* The connection closed: FPD_H1_DONE for a body that ends with the connection, else BAD. */
enum fpd_h1_parse fpd_h1_parser_eof(struct fpd_h1_parser *p);

/* ---- connections ---- */

struct fpd_h1;
struct h1_conn;

struct fpd_h1_exchange;
/* code: FPD_OK (a complete response: x->status, x->retry_after_ms, the body in x->body),
 * FPD_EIO (connection, TLS or protocol), FPD_ETIMEDOUT, FPD_ERANGE (body over its bound);
 * detail names the server and what happened (borrowed for the call). */
typedef void (*fpd_h1_done_fn)(struct fpd_h1_exchange *x, int code, const char *detail);

struct fpd_h1_exchange {
	/* set by the caller, borrowed until done or cancel */
	const char *request; /* the request line, headers, blank line and body */
	size_t request_len;
	struct fpd_buf *body; /* where the response body goes */
	int64_t timeout_ms;   /* from start to the end of the response */
	fpd_h1_done_fn done;
	/* results */
	int status;
	int64_t retry_after_ms;
	/* private */
	struct fpd_h1 *pool;
	struct h1_conn *conn;
	ev_timer wait_timer; /* its deadline while it waits for a connection */
	struct fpd_h1_exchange *wnext;
	bool waiting;
	bool fresh; /* retried once on a new connection after a kept-alive one failed */
	int64_t deadline_ms;
};

struct fpd_h1_target {
	const char *address; /* IPv4 or IPv6 literal to connect to */
	int port;
	bool tls;
	/* TLS: the name (or address) the server certificate must carry, sent as SNI when a
	 * name; the certificates and key to use */
	const char *verify_name;
	const struct fpd_kube_creds *creds;
	int max_connections;
	int64_t connect_timeout_ms;
	int priority; /* of its libev watchers */
};

struct fpd_h1_stats {
	uint64_t connects;
	uint64_t bytes_in;
};

/* A pool for target on loop. FPD_EINVAL when address is not an IP literal. TLS set-up errors
 * (a CA that does not parse, a key that does not match) are not returned: every exchange fails
 * with them, as a request through libcurl would. */
int fpd_h1_new(struct ev_loop *loop, const struct fpd_h1_target *target, struct fpd_h1 **out,
               struct fpd_error *err);
/* Closes every connection. Exchanges must have finished or been cancelled. NULL is fine. */
void fpd_h1_free(struct fpd_h1 *p);
/* Runs x: on an idle connection at once, on a new one, or when one is free (first come first
 * served; one whose deadline passes while it waits fails with FPD_ETIMEDOUT, unsent). x->done
 * is always called later, from the loop, never from inside this call. */
void fpd_h1_start(struct fpd_h1 *p, struct fpd_h1_exchange *x);
/* Abandons x (its connection, if it was on one, is closed): done is not called. Harmless for an
 * exchange that is not running. */
void fpd_h1_cancel(struct fpd_h1 *p, struct fpd_h1_exchange *x);
void fpd_h1_get_stats(const struct fpd_h1 *p, struct fpd_h1_stats *out);
/* From now on no waiting exchange is started: for a pool about to cancel everything. */
void fpd_h1_shutdown(struct fpd_h1 *p);

/* address as an IP literal ("[::1]" → "::1" in out) when it is one; false for a DNS name. */
bool fpd_h1_ip_literal(const char *host, char *out, size_t size);

#endif
