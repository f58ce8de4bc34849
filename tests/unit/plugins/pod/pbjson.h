/*
 * Test helper: builds protobuf-c messages from JSON so fixtures can describe TaskTemplates,
 * execution metadata and inputs readably. Keys are proto field names (snake_case); enums by
 * name or number; maps as JSON objects; google.protobuf.Struct from any JSON object.
 */
#ifndef FPD_TEST_PBJSON_H
#define FPD_TEST_PBJSON_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

/* A new message (free with protobuf_c_message_free_unpacked(m, NULL)), or NULL with the
 * reason in why. */
ProtobufCMessage *fpd_test_pb_from_json(const ProtobufCMessageDescriptor *d, const json_t *j,
                                        char *why, size_t why_size);

#endif
