/*
 * Arbitrary bytes as JSON (size-capped) into the plugin messages behind TaskTemplate.custom,
 * both straight (fpd_json_to_message) and the production way through a google.protobuf.Struct
 * (fpd_struct_to_message). Each must be accepted or refused with an error, never crash, leak or
 * read out of bounds. Beyond that the driver checks what it can know:
 *   - an accepted message passes protobuf_c_message_check and packs, unpacks and packs again
 *     to the same bytes (so its layout is the one protobuf-c itself builds);
 *   - a Struct built from JSON converts back to the same JSON (numbers compared by value).
 * Seeds: corpus/structpb/ (the camelCase fixtures and edge cases); dictionary:
 * fuzz_structpb.dict (field names and enum values of the targets).
 */
#include <flyteplugd/structpb.h>

#include <flyteplugd/error.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flyteidl/plugins/dask.pb-c.h"
#include "flyteidl/plugins/kubeflow/pytorch.pb-c.h"
#include "flyteidl/plugins/ray.pb-c.h"
#include "flyteidl/plugins/spark.pb-c.h"

#define FUZZ_MAX_INPUT (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const ProtobufCMessageDescriptor *const targets[] = {
    &flyteidl__plugins__spark_job__descriptor,
    &flyteidl__plugins__ray_job__descriptor,
    &flyteidl__plugins__dask_job__descriptor,
    &flyteidl__plugins__kubeflow__distributed_py_torch_training_task__descriptor,
};

static uint8_t *pack(const ProtobufCMessage *m, size_t *n)
{
	*n = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(*n ? *n : 1);
	if (!buf || protobuf_c_message_pack(m, buf) != *n)
		abort();
	return buf;
}

/* m is a well-formed protobuf-c message: checks, packs and round-trips; then frees it. */
static void check_message(ProtobufCMessage *m)
{
	size_t n, n2;
	if (!protobuf_c_message_check(m))
		abort();
	uint8_t *bytes = pack(m, &n);
	ProtobufCMessage *back = protobuf_c_message_unpack(m->descriptor, NULL, n, bytes);
	if (!back)
		abort();
	uint8_t *again = pack(back, &n2);
	if (n2 != n || memcmp(bytes, again, n) != 0)
		abort();
	free(again);
	free(bytes);
	protobuf_c_message_free_unpacked(back, NULL);
	protobuf_c_message_free_unpacked(m, NULL);
}

/* a and b hold the same JSON, numbers compared by value (the Struct holds doubles). */
static bool json_same(const json_t *a, const json_t *b)
{
	if (json_is_number(a) && json_is_number(b))
		return json_number_value(a) == json_number_value(b);
	if (json_typeof(a) != json_typeof(b))
		return false;
	if (json_is_array(a)) {
		if (json_array_size(a) != json_array_size(b))
			return false;
		for (size_t i = 0; i < json_array_size(a); i++) {
			if (!json_same(json_array_get(a, i), json_array_get(b, i)))
				return false;
		}
		return true;
	}
	if (json_is_object(a)) {
		const char *k;
		json_t *v;
		if (json_object_size(a) != json_object_size(b))
			return false;
		json_object_foreach((json_t *)a, k, v)
		{
			const json_t *w = json_object_get(b, k);
			if (!w || !json_same(v, w))
				return false;
		}
		return true;
	}
	return json_equal(a, b);
}

/* JSON -> Struct -> JSON must give the input back; then the Struct path into every target. */
static void via_struct(const json_t *json)
{
	ProtobufCMessage *s = NULL, *m = NULL;
	json_t *back = NULL;
	struct fpd_error err;
	/* Only an object is a Struct (a top-level null would give the empty one). */
	if (!json_is_object(json) ||
	    fpd_json_to_message(json, &google__protobuf__struct__descriptor, &s, &err) != FPD_OK)
		return;
	/* The Struct side counts depth and size no more strictly than the JSON side. */
	if (fpd_struct_to_json((Google__Protobuf__Struct *)s, &back, &err) != FPD_OK)
		abort();
	if (!json_same(json, back))
		abort();
	json_decref(back);
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		if (fpd_struct_to_message((Google__Protobuf__Struct *)s, targets[i], &m, &err) ==
		    FPD_OK)
			check_message(m);
	}
	protobuf_c_message_free_unpacked(s, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t jerr;
	ProtobufCMessage *m = NULL;
	struct fpd_error err;
	if (size > FUZZ_MAX_INPUT)
		return 0;
	json_t *json =
	    json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if (!json)
		return 0;
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		if (fpd_json_to_message(json, targets[i], &m, &err) == FPD_OK)
			check_message(m);
	}
	via_struct(json);
	json_decref(json);
	return 0;
}
