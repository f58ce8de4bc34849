/* Protobuf wire checks: see pbcheck.h. */
#include "agent/pbcheck.h"

#include "core/json_text.h"

#include <stdbool.h>
#include <stdio.h>

struct scan {
	char *why;
	size_t why_size;
};

/* A varint at *p (before end) into *v; false when truncated or longer than ten bytes. */
static bool varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (unsigned shift = 0; shift < 70 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;
		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

static int message(struct scan *sc, const ProtobufCMessageDescriptor *desc, const uint8_t *p,
                   const uint8_t *end, unsigned depth)
{
	if (depth > FPD_PB_MAX_DEPTH) {
		snprintf(sc->why, sc->why_size, "messages nested deeper than %d", FPD_PB_MAX_DEPTH);
		return -1;
	}
	while (p < end) {
		uint64_t tag, n;
		if (!varint(&p, end, &tag))
			return 0; /* malformed: unpack says so */
		switch (tag & 7) {
		case PROTOBUF_C_WIRE_TYPE_VARINT:
			if (!varint(&p, end, &n))
				return 0;
			break;
		case PROTOBUF_C_WIRE_TYPE_64BIT:
			if (end - p < 8)
				return 0;
			p += 8;
			break;
		case PROTOBUF_C_WIRE_TYPE_32BIT:
			if (end - p < 4)
				return 0;
			p += 4;
			break;
		case PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED: {
			if (!varint(&p, end, &n) || n > (uint64_t)(end - p))
				return 0;
			const uint8_t *body = p;
			p += n;
			const ProtobufCFieldDescriptor *f =
			    tag >> 3 <= UINT32_MAX ? protobuf_c_message_descriptor_get_field(
			                                 desc, (unsigned)(tag >> 3))
			                           : NULL;
			if (!f)
				break; /* an unknown field: kept as bytes, never interpreted */
			if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
				if (message(sc, f->descriptor, body, p, depth + 1))
					return -1;
			} else if (f->type == PROTOBUF_C_TYPE_STRING &&
			           !fpd_utf8_valid((const char *)body, (size_t)n)) {
				snprintf(sc->why, sc->why_size, "field %s.%s is not valid UTF-8",
				         desc->name, f->name);
				return -1;
			}
			break;
		}
		default: return 0; /* groups and invalid wire types: unpack refuses them */
		}
	}
	return 0;
}

int fpd_pb_check(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len, char *why,
                 size_t why_size)
{
	struct scan sc = {why, why_size};
	if (why_size)
		why[0] = '\0';
	return message(&sc, desc, data, data + len, 1);
}
