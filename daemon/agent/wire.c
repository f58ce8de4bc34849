/* Request decoding and result codes shared by the protocol families: see wire.h. */
#include "agent/wire.h"

#include "agent/pbcheck.h"
#include "core/error.h"

#include <stdio.h>

static void *arena_alloc(void *arena, size_t size)
{
	return fpd_arena_alloc(arena, size);
}

static void arena_free(void *arena, void *ptr)
{
	(void)arena;
	(void)ptr;
}

ProtobufCMessage *fpd_wire_decode(const ProtobufCMessageDescriptor *desc, const uint8_t *bytes,
                                  size_t len, struct fpd_wire_arena *a, char *msg, size_t size)
{
	char why[192];
	ProtobufCMessage *m = NULL;
	fpd_arena_init(&a->arena, a->space, sizeof(a->space));
	a->pb = (ProtobufCAllocator){arena_alloc, arena_free, &a->arena};
	if (fpd_pb_check(desc, bytes, len, why, sizeof(why)) == 0)
		m = protobuf_c_message_unpack(desc, &a->pb, len, bytes);
	if (!m)
		snprintf(msg, size, "cannot decode %s%s%s", desc->name, why[0] ? ": " : "", why);
	return m;
}

void *fpd_wire_alloc(struct fpd_wire_arena *a, size_t size)
{
	return fpd_arena_alloc(&a->arena, size);
}

void fpd_wire_release(struct fpd_wire_arena *a)
{
	fpd_arena_release(&a->arena);
}

enum fpd_grpc_code fpd_wire_grpc_code(int code)
{
	switch (code) {
	case FPD_EINVAL: return FPD_GRPC_INVALID_ARGUMENT;
	case FPD_EPERM: return FPD_GRPC_PERMISSION_DENIED;
	case FPD_ENOENT: return FPD_GRPC_NOT_FOUND;
	case FPD_EEXIST: return FPD_GRPC_ALREADY_EXISTS;
	case FPD_EIO:
	case FPD_ETIMEDOUT: return FPD_GRPC_UNAVAILABLE;
	default: return FPD_GRPC_INTERNAL;
	}
}
