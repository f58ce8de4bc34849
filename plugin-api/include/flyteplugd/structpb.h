/*
 * google.protobuf.Struct to JSON, and JSON to any protobuf-c message by the proto3 JSON mapping,
 * generic over ProtobufCMessageDescriptor. The engine decodes TaskTemplate.custom with these
 * (task->custom, task->custom_json); plugins use them for the Structs inside a task (a K8sPod's
 * pod_spec) and for parts of custom their compiled IDL lacks.
 *
 * Flyte's Go plugins marshal the Struct to JSON and run jsonpb.Unmarshal with AllowUnknownFields
 * (flytestdlib/utils.UnmarshalStructToPb); flyteplugd must accept what that accepts:
 *   - a key matches a field by its lowerCamelCase JSON name or by its name in the .proto file
 *     (both present: the JSON name wins, as in jsonpb); unknown keys are ignored;
 *   - null leaves a field unset (a google.protobuf.Value field gets null_value); a null element
 *     of an array or map value is the element type's default, as jsonpb does;
 *   - 32-bit integers as numbers or decimal strings, integral and in range; 64-bit integers the
 *     same (a number from a Struct is a double, so it must be integral and in range);
 *   - float and double as numbers, numeric strings or "NaN", "Infinity", "-Infinity";
 *   - bool as true/false; bytes as standard or URL-safe base64, padded or not;
 *   - enums by value name, or by number (numbers the enum does not define are kept);
 *   - repeated fields from arrays, map fields from objects (keys converted to the key type);
 *   - at most one member of a oneof may be set;
 *   - google.protobuf.Struct, Value, ListValue: any JSON; Duration: Go duration text ("1.5s",
 *     "-3s", "1m30s", as jsonpb uses time.ParseDuration); Timestamp: RFC 3339; the wrappers
 *     (Int32Value, StringValue, ...) as plain values. google.protobuf.Any is refused.
 * Where this departs from jsonpb: a NaN or infinite number_value in the Struct is an error
 * (jsonpb would turn it into the string "NaN"), a oneof given twice is an error (jsonpb keeps
 * the later member), and bytes also take URL-safe or unpadded base64 (as protojson does; jsonpb
 * takes padded standard base64 only). A message type named "<Parent>.<Field>Entry" with fields
 * key = 1 and value = 2 is taken for a map entry (protobuf-c records no map flag); the Flyte IDL
 * has no other message of that shape.
 *
 * Every error names the JSON path of the offending value, e.g.
 * "rayCluster.headGroupSpec.rayStartParams: expected an object"; map keys appear as ["key"].
 * Nesting is bounded by FPD_STRUCTPB_MAX_DEPTH and one conversion by FPD_STRUCTPB_MAX_VALUES
 * values and FPD_STRUCTPB_MAX_BYTES bytes of strings and keys.
 *
 * Ownership in jansson's words: arguments are borrowed for the call and nothing here steals;
 * err may be NULL when the caller does not want the message. Functions return 0 on success and
 * a negative code with a message in err on failure: FPD_EINVAL (-2) or FPD_ERANGE (-4).
 */
#ifndef FLYTEPLUGD_STRUCTPB_H
#define FLYTEPLUGD_STRUCTPB_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "google/protobuf/struct.pb-c.h"

#include "flyteplugd/error.h"

/* Objects and arrays inside one another, the outermost counting as 1. */
#define FPD_STRUCTPB_MAX_DEPTH 64
/* JSON values (of any kind) visited by one conversion. */
#define FPD_STRUCTPB_MAX_VALUES (1u << 18)
/* Bytes of strings and object keys visited by one conversion. */
#define FPD_STRUCTPB_MAX_BYTES (16u << 20)

/*
 * Converts a Struct (with its Values and ListValues) to a JSON object: a new reference in *out
 * on success, which the caller releases with json_decref. s is borrowed. Keys keep the Struct's
 * order (a repeated key: the last one wins). A number_value that is integral and at most 2^53
 * in magnitude becomes a JSON integer (as Go prints it, so `containerPort: 8080` stays an
 * integer for Kubernetes), any other a JSON real; null_value becomes JSON null.
 * Errors (*out untouched): FPD_EINVAL for a NULL s, a NaN or infinite number, a Value with no
 * kind set, a missing entry or element, or a key or string that is not UTF-8; FPD_ERANGE past
 * the limits above.
 */
int fpd_struct_to_json(const Google__Protobuf__Struct *s, json_t **out, struct fpd_error *err);

/*
 * Builds a message of type desc from json (borrowed) by the rules above. On success *out is a
 * new message owned by the caller, laid out as protobuf_c_message_unpack lays it out (every part
 * from the default allocator), so it is released with protobuf_c_message_free_unpacked(msg,
 * NULL). A top-level null gives an empty message, as in jsonpb. Errors (*out untouched):
 * FPD_EINVAL for a value of the wrong type or form, FPD_ERANGE for a number out of range or past
 * the limits above.
 */
int fpd_json_to_message(const json_t *json, const ProtobufCMessageDescriptor *desc,
                        ProtobufCMessage **out, struct fpd_error *err);

/* fpd_struct_to_json then fpd_json_to_message: s is borrowed, *out as for fpd_json_to_message. */
int fpd_struct_to_message(const Google__Protobuf__Struct *s, const ProtobufCMessageDescriptor *desc,
                          ProtobufCMessage **out, struct fpd_error *err);

#endif
