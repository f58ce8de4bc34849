/*
 * gRPC wire details that need no socket and no HTTP/2 session: the length-prefixed message
 * framer, grpc-timeout parsing, grpc-message percent-encoding and status code names. Pure
 * functions, so the unit tests and the fuzzer exercise them directly.
 *
 * Message framing (gRPC over HTTP/2, "Length-Prefixed-Message"):
 *   1 byte compressed flag (0 or 1), 4 bytes big-endian length, then length bytes.
 * A message may arrive split across any number of DATA frames, and one DATA frame may carry
 * the end of one message and the start of the next.
 */
#ifndef FPD_GRPC_WIRE_H
#define FPD_GRPC_WIRE_H

#include <flyteplugd/buf.h>
#include "grpc/grpc.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FPD_GRPC_PREFIX_LEN 5

/* Reassembles one length-prefixed message at a time from arbitrary chunks. */
struct fpd_grpc_framer {
	uint8_t prefix[FPD_GRPC_PREFIX_LEN];
	size_t prefix_len;  /* bytes of the prefix seen so far */
	bool compressed;    /* the current message's flag (valid once the prefix is complete) */
	uint32_t msg_len;   /* the current message's declared length (likewise) */
	struct fpd_buf msg; /* body bytes received so far, at most max; its memory is the
	                       framer's (never fpd_buf_free it): large bodies are mapped */
};

/* Initializes an empty framer accepting messages of at most max bytes. Allocates nothing. */
void fpd_grpc_framer_init(struct fpd_grpc_framer *f, size_t max);
/* Frees the body buffer; the framer is empty and reusable afterwards. */
void fpd_grpc_framer_free(struct fpd_grpc_framer *f);
/* Drops a completed message so the next one can be read; keeps the allocation. */
void fpd_grpc_framer_next(struct fpd_grpc_framer *f);
/* True when no byte of a message has been seen since init/next (a clean message boundary). */
bool fpd_grpc_framer_idle(const struct fpd_grpc_framer *f);

/*
 * Feeds up to len bytes; *used gets how many were taken. Returns:
 *   FPD_AGAIN   every byte was taken and the message is not complete yet;
 *   FPD_OK      a message is complete: f->msg holds the body, f->compressed its flag; bytes
 *               after *used belong to the next message (call fpd_grpc_framer_next first);
 *   FPD_ERANGE  the declared length is over max (f->msg_len says how long);
 *   FPD_EINVAL  the flag byte is neither 0 nor 1;
 *   FPD_ERR     the body buffer could not grow (the kernel refused the mapping): the body
 *               bytes of data were not taken and what was received is intact.
 * After an error the framer stays in error until fpd_grpc_framer_free.
 */
int fpd_grpc_framer_feed(struct fpd_grpc_framer *f, const uint8_t *data, size_t len, size_t *used);

/*
 * What holding a message costs, for the server's request budget (conn.c).
 * fpd_grpc_alloc_footprint: the memory malloc takes for a block of n bytes (headers, alignment,
 * whole pages for mapped blocks).
 * fpd_grpc_framer_footprint: what the body buffer takes now.
 * fpd_grpc_framer_footprint_after: what it will take once fpd_grpc_framer_feed has been given
 * data[0..len) (the first message in it; bytes past it are refused by the caller). Pure: the
 * budget is checked before anything is allocated.
 */
size_t fpd_grpc_alloc_footprint(size_t n);
size_t fpd_grpc_framer_footprint(const struct fpd_grpc_framer *f);
size_t fpd_grpc_framer_footprint_after(const struct fpd_grpc_framer *f, const uint8_t *data,
                                       size_t len);

/* Writes the 5-byte prefix for an uncompressed message of len bytes into out. */
void fpd_grpc_prefix_write(uint8_t out[FPD_GRPC_PREFIX_LEN], uint32_t len);

/*
 * Parses a grpc-timeout header value ("1*8DIGIT unit", unit one of H M S m u n) into
 * milliseconds, rounding up so that a positive timeout never becomes zero. FPD_EINVAL when
 * malformed.
 */
int fpd_grpc_timeout_parse(const char *value, size_t len, int64_t *ms);

/*
 * Percent-encodes a grpc-message value as the gRPC spec asks: bytes outside 0x20..0x7E and '%'
 * become %XX. Writes at most size-1 characters plus a NUL into out, never splitting an escape;
 * returns the length written.
 */
size_t fpd_grpc_percent_encode(const char *msg, char *out, size_t size);
/* The reverse (lenient: a malformed escape is kept as is), for tests and clients. */
size_t fpd_grpc_percent_decode(const char *msg, size_t len, char *out, size_t size);

/* True for "application/grpc", "application/grpc+proto", "application/grpc;..." */
bool fpd_grpc_content_type_ok(const char *value, size_t len);

#endif
