/*
 * Arbitrary JSON (size-capped) into the encoder of pods' protobuf bodies (kube/kubepb.h
 * fpd_kubepb_encode), as the engine hands it a pod built from a caller's TaskTemplate. The
 * input gets apiVersion v1 and kind Pod where it has none, so that most inputs reach the walk.
 * The encoder must encode or refuse with an error, never crash, leak or write past its bound;
 * what it encodes must decode (fpd_kubepb_object, everything kept), and encoding what that
 * gives back must decode to the same document. Seeds: written by seeds_kubepb_encode.py from
 * the pods of tests/fixtures (the Go plugins' objects and pods in many states).
 */
#include "kube/kubepb.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define FUZZ_MAX_INPUT (256 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fpd_kubepb *pod;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fpd_error err;
	if (!pod && fpd_kubepb_new("Pod", NULL, &pod, &err))
		abort();
	if (size > FUZZ_MAX_INPUT)
		return 0;
	json_t *obj = json_loadb((const char *)data, size, JSON_ALLOW_NUL, NULL);
	if (!obj)
		return 0;
	if (json_is_object(obj)) {
		if (!json_object_get(obj, "apiVersion"))
			json_object_set_new(obj, "apiVersion", json_string("v1"));
		if (!json_object_get(obj, "kind"))
			json_object_set_new(obj, "kind", json_string("Pod"));
	}
	struct fpd_buf b;
	fpd_buf_init(&b, (size_t)3 << 20); /* the engine's bound (calls.c) */
	int rc = fpd_kubepb_encode(pod, obj, &b, &err);
	if (rc != FPD_OK && rc != FPD_EINVAL && rc != FPD_ERANGE)
		abort();
	if (rc == FPD_OK) {
		json_t *back, *again;
		if (fpd_kubepb_object(pod, b.data, b.len, &back, &err))
			abort(); /* encoded, yet not a pod */
		struct fpd_buf b2;
		fpd_buf_init(&b2, (size_t)64 << 20);
		if (fpd_kubepb_encode(pod, back, &b2, &err) ||
		    fpd_kubepb_object(pod, b2.data, b2.len, &again, &err))
			abort(); /* what the decoder writes is encoded again */
		if (!json_equal(back, again))
			abort();
		json_decref(again);
		json_decref(back);
		fpd_buf_free(&b2);
	} else if (b.len != 0) {
		abort(); /* refused, yet out changed */
	}
	fpd_buf_free(&b);
	json_decref(obj);
	return 0;
}
