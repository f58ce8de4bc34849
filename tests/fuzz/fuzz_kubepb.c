/*
 * Arbitrary bytes (size-capped) into the decoder of Kubernetes' protobuf that informers use on
 * what the API server sends (kube/kubepb.h): as an enveloped object, a list item, an error
 * Status, a watch event, a watch stream of frames and a list body, the last two fed in pieces;
 * and as the PartialObjectMetadata answer to a metadata-only write (kube/client.c).
 * Each must accept or refuse with an error, never crash, leak or read out of bounds, with the
 * engine's keep set and with everything kept. Seeds: corpus/kubepb/ (a pod list, pods and watch
 * events captured from a real kube-apiserver by tests/e2e/kube/test_protobuf.c).
 */
#include "kube/client.h"
#include "kube/kubepb.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define FUZZ_MAX_INPUT (256 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const keep[] = {
    "/apiVersion",
    "/kind",
    "/metadata/name",
    "/metadata/labels",
    "/metadata/annotations/a~1b",
    "/metadata/creationTimestamp",
    "/metadata/ownerReferences",
    "/status",
    "/spec/containers/*/name",
    "/spec/containers/1/image",
    "/spec/volumes/*/emptyDir",
    "/status/phase/deeper",
};

/* A set with message nodes none of whose fields exist (a misspelt or newer field): their
 * narrowed descriptors would have no fields. */
static const char *const odd[] = {
    "/metadata/name",
    "/spec/notAField/x",
    "/status/phase/deeper",
    "/metadata/ownerReferences/*/notAField",
};

static struct fpd_kubepb *pruned, *whole, *odd_pb, *meta_pb;
static struct fpd_kube_prune *set, *odd_set, *meta_set;

static void init(void)
{
	set = fpd_kube_prune_new();
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		if (fpd_kube_prune_add(set, keep[i], NULL))
			abort();
	odd_set = fpd_kube_prune_new();
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++)
		if (fpd_kube_prune_add(odd_set, odd[i], NULL))
			abort();
	meta_set = fpd_kube_prune_new();
	for (const char *const *p = fpd_kube_metadata_kept; *p; p++) /* the client's own */
		if (fpd_kube_prune_add(meta_set, *p, NULL))
			abort();
	if (fpd_kubepb_new("Pod", fpd_kube_prune_root(set), &pruned, NULL) ||
	    fpd_kubepb_new("Pod", NULL, &whole, NULL) ||
	    fpd_kubepb_new("Pod", fpd_kube_prune_root(odd_set), &odd_pb, NULL) ||
	    fpd_kubepb_new("PartialObjectMetadata", fpd_kube_prune_root(meta_set), &meta_pb, NULL))
		abort();
}

static int on_item(void *ud, const char *data, size_t len)
{
	json_t *v;
	struct fpd_error err;
	if (fpd_kubepb_item(ud, data, len, &v, &err) == FPD_OK)
		json_decref(v);
	return 0;
}

static int on_frame(void *ud, const char *data, size_t len)
{
	json_t *v;
	struct fpd_error err;
	if (fpd_kubepb_event(ud, data, len, &v, &err) == FPD_OK)
		json_decref(v);
	return 0;
}

static void one(struct fpd_kubepb *pb, const uint8_t *data, size_t size, size_t step)
{
	json_t *v;
	struct fpd_error err;
	int (*const whole_fns[])(struct fpd_kubepb *, const void *, size_t, json_t **,
	                         struct fpd_error *) = {fpd_kubepb_object, fpd_kubepb_item,
	                                                fpd_kubepb_status, fpd_kubepb_event};
	for (size_t i = 0; i < sizeof(whole_fns) / sizeof(whole_fns[0]); i++) {
		v = NULL;
		int rc = whole_fns[i](pb, data, size, &v, &err);
		if ((rc == FPD_OK) != (v != NULL))
			abort(); /* a value exactly when it succeeds */
		json_decref(v);
	}
	struct fpd_kubepb_frames f;
	fpd_kubepb_frames_init(&f, 64 * 1024);
	for (size_t off = 0; off < size; off += step)
		if (fpd_kubepb_frames_feed(&f, (const char *)data + off,
		                           size - off < step ? size - off : step, on_frame, pb,
		                           &err))
			break;
	fpd_kubepb_frames_free(&f);
	struct fpd_kubepb_list l;
	fpd_kubepb_list_init(&l, 64 * 1024);
	int rc = FPD_OK;
	for (size_t off = 0; off < size && !rc; off += step)
		rc = fpd_kubepb_list_feed(&l, (const char *)data + off,
		                          size - off < step ? size - off : step, on_item, pb, &err);
	if (!rc && fpd_kubepb_list_finish(&l, "PodList", &v, &err) == FPD_OK)
		json_decref(v);
	fpd_kubepb_list_free(&l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!pruned)
		init();
	if (size > FUZZ_MAX_INPUT)
		return 0;
	size_t step = size ? 1 + data[size - 1] % 97 : 1;
	one(pruned, data, size, step);
	one(whole, data, size, size ? size : 1);
	one(odd_pb, data, size, size ? size : 1);
	/* the answer to a metadata-only write, and its error Status */
	json_t *v = NULL;
	struct fpd_error err;
	if ((fpd_kubepb_object(meta_pb, data, size, &v, &err) == FPD_OK) != (v != NULL))
		abort();
	json_decref(v);
	v = NULL;
	if ((fpd_kubepb_status(meta_pb, data, size, &v, &err) == FPD_OK) != (v != NULL))
		abort();
	json_decref(v);
	return 0;
}
