/*
 * Every message and enum descriptor compiled into fpd_proto2 (the Flyte 2 IDL), as two
 * NULL-terminated arrays written at build time by idl2-index.sh from the generated headers.
 */
#ifndef FPD_IDL2_INDEX_H
#define FPD_IDL2_INDEX_H

#include <protobuf-c/protobuf-c.h>

/* Borrowed: static descriptors of the generated code. */
extern const ProtobufCMessageDescriptor *const fpd_idl2_messages[];
extern const ProtobufCEnumDescriptor *const fpd_idl2_enums[];

#endif
