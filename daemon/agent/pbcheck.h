/*
 * Checks on protobuf wire bytes that protobuf-c's unpack does not make, run before it: nesting
 * (unpack recurses once per level, so a deep message from the network would exhaust the
 * stack) and UTF-8 in string fields (proto3 requires it; JSON, and so every Kubernetes
 * object built from a request, cannot carry anything else).
 */
#ifndef FPD_AGENT_PBCHECK_H
#define FPD_AGENT_PBCHECK_H

#include <flyteplugd/structpb.h>
#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

/* Enough for any google.protobuf.Struct the Struct converter accepts (three message levels
 * per JSON level) inside a request. */
#define FPD_PB_MAX_DEPTH (3 * FPD_STRUCTPB_MAX_DEPTH + 16)

/* 0 when the message of type desc in data[0..len) nests at most FPD_PB_MAX_DEPTH messages
 * deep and every string field of it (at any depth, repeated, in maps) is valid UTF-8; else -1
 * with why saying what is wrong ("field flyteidl.core.Identifier.project is not valid UTF-8").
 * Bytes that are not a message at all may pass: unpack refuses those. */
int fpd_pb_check(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len, char *why,
                 size_t why_size);

#endif
