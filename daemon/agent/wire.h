/*
 * What every protocol family shares on the wire: requests checked (fpd_pb_check) and decoded
 * into an arena that lives as long as the call's handler, and the gRPC status an engine result
 * code maps to.
 */
#ifndef FPD_AGENT_WIRE_H
#define FPD_AGENT_WIRE_H

#include "core/arena.h"
#include "grpc/grpc.h"

#include "google/protobuf/struct.pb-c.h"

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>

/* A request decoded into an arena on the caller's stack: one release instead of a malloc and a
 * free for every field (a CreateTaskRequest has hundreds). Nothing decoded outlives it. */
struct fpd_wire_arena {
	struct fpd_arena arena;
	ProtobufCAllocator pb;
	alignas(max_align_t) char space[8192];
};

/*
 * Checks bytes[0..len) and decodes them as a message of type desc into a (initialised here;
 * release it with fpd_wire_release whatever this returns). Returns the message (borrowed from
 * a), or NULL with msg (size bytes) saying "cannot decode <type>[: <reason>]".
 */
ProtobufCMessage *fpd_wire_decode(const ProtobufCMessageDescriptor *desc, const uint8_t *bytes,
                                  size_t len, struct fpd_wire_arena *a, char *msg, size_t size);

/*
 * Like fpd_wire_decode, but the bytes are checked as a message of type check and decoded as one
 * of type as: for a message of one protocol family that another's reads unchanged on the wire
 * (every field number both declare has the same type and label in both, recursively; fields
 * only check declares are kept by protobuf-c as unknown fields). msg names check.
 */
ProtobufCMessage *fpd_wire_decode_as(const ProtobufCMessageDescriptor *check,
                                     const ProtobufCMessageDescriptor *as, const uint8_t *bytes,
                                     size_t len, struct fpd_wire_arena *a, char *msg, size_t size);

/* size bytes from a's arena (for what a decoded request is converted into): same lifetime. */
void *fpd_wire_alloc(struct fpd_wire_arena *a, size_t size);

void fpd_wire_release(struct fpd_wire_arena *a);

/* The gRPC status for an engine result code (a negative FPD_E*):
 *   FPD_EINVAL → INVALID_ARGUMENT, FPD_EPERM → PERMISSION_DENIED, FPD_ENOENT → NOT_FOUND,
 *   FPD_EEXIST → ALREADY_EXISTS, FPD_EIO / FPD_ETIMEDOUT → UNAVAILABLE, else INTERNAL. */
enum fpd_grpc_code fpd_wire_grpc_code(int code);

/* Packs msg and replies with it on call; small replies are packed on the stack. */
void fpd_wire_reply(struct fpd_grpc_call *call, const ProtobufCMessage *msg);

/* A JSON object (borrowed: the message points into it, so it must outlive the message) as a
 * google.protobuf.Struct, new; free it with fpd_wire_struct_free. */
Google__Protobuf__Struct *fpd_wire_struct_new(const json_t *obj);
void fpd_wire_struct_free(Google__Protobuf__Struct *s);

#endif
