/*
 * Kubernetes' protobuf encoding (application/vnd.kubernetes.protobuf) read into the same pruned
 * JSON that prune.h builds from the API server's JSON for the same object and the same set of
 * kept pointers, so that an informer can ask for either and its owner never sees a difference.
 *
 * The wire forms (k8s.io/apimachinery/pkg/runtime/serializer/protobuf):
 * - a response body is the magic "k8s\0" and a runtime.Unknown {typeMeta, raw, contentEncoding,
 *   contentType}, raw holding the object (a Pod, a PodList) as its message;
 * - a watch (";stream=watch") is frames of a 4-byte big-endian length and a meta.v1.WatchEvent
 *   {type, object}, whose object.raw holds the object as a response body does (magic included).
 *
 * Messages are unpacked by protobuf-c (fpd_k8s_proto, generated at build time from the API's own
 * generated.proto) and walked by their descriptors along the kept pointers only. The JSON name of
 * a field and when the API server's JSON leaves it out come from the Go struct tags the .proto
 * files were generated from (proto/k8s/json-fields.py): protobuf writes every non-pointer field,
 * JSON omits the empty ones marked omitempty. meta.v1.Time and MicroTime become RFC 3339 UTC
 * strings (a zero time null), resource.Quantity its string, intstr.IntOrString a number or a
 * string, runtime.RawExtension and meta.v1.FieldsV1 the JSON they hold, bytes base64, maps
 * objects. Kinds: Pod, ConfigMap and Event of core/v1 (informers ask for protobuf for pods,
 * see fpd_kubepb_kind_for), and meta.k8s.io/v1 PartialObjectMetadata (answers to writes that
 * ask for the object's metadata only, client.h). One difference from prune.h remains: a pointer that goes into the
 * JSON a RawExtension or FieldsV1 holds keeps nothing of it (a pointer that ends there keeps it
 * whole); no informer keeps such paths.
 *
 * The other way, fpd_kubepb_encode writes a pod the daemon creates in protobuf, the body
 * client-go sends with the same content type: the same tables read backwards, by JSON name.
 * Writing protobuf by hand rather than filling protobuf-c's structs for protobuf_c_message_pack
 * spares an allocation per field (a pod has hundreds) and a second walk; the wire format is five
 * lines (varint, tag, length-delimited bytes).
 */
#ifndef FPD_KUBE_KUBEPB_H
#define FPD_KUBE_KUBEPB_H

#include <flyteplugd/buf.h>
#include <flyteplugd/error.h>

#include "kube/prune.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define FPD_KUBEPB_MEDIA "application/vnd.kubernetes.protobuf"
#define FPD_KUBEPB_MAGIC "k8s\0" /* an enveloped body's first bytes */
#define FPD_KUBEPB_MAGIC_LEN 4

/* True if data (len bytes) starts with the magic: a body in Kubernetes' protobuf (JSON never
 * starts so). */
static inline bool fpd_kubepb_enveloped(const void *data, size_t len)
{
	return len >= FPD_KUBEPB_MAGIC_LEN &&
	       memcmp(data, FPD_KUBEPB_MAGIC, FPD_KUBEPB_MAGIC_LEN) == 0;
}

/* The core/v1 kind ("Pod") whose objects a collection (group "", version "v1", resource "pods")
 * holds, when this decoder knows it; NULL otherwise. */
const char *fpd_kubepb_kind_for(const char *group, const char *version, const char *resource);

struct fpd_kubepb;

/* A decoder of core/v1 objects of kind (copied), keeping what node keeps (NULL: everything;
 * borrowed: the pointer set must outlive the decoder). FPD_EINVAL for a kind this decoder does
 * not know, or a pointer naming an array index past 1024. */
int fpd_kubepb_new(const char *kind, const struct fpd_kube_prune_node *node,
                   struct fpd_kubepb **out, struct fpd_error *err);
void fpd_kubepb_free(struct fpd_kubepb *pb);

/* An object in its envelope ("k8s\0" + runtime.Unknown). *out is a new reference; apiVersion and
 * kind come from the envelope, as JSON has them, where kept. FPD_EINVAL for input that is not
 * such an object of the decoder's kind. */
int fpd_kubepb_object(struct fpd_kubepb *pb, const void *data, size_t len, json_t **out,
                      struct fpd_error *err);

/* An error answer's body: a meta.v1.Status in its envelope, whole (*out new). */
int fpd_kubepb_status(struct fpd_kubepb *pb, const void *data, size_t len, json_t **out,
                      struct fpd_error *err);

/* The object's message alone, as a list's items hold it. As fpd_kubepb_object otherwise. */
int fpd_kubepb_item(struct fpd_kubepb *pb, const void *data, size_t len, json_t **out,
                    struct fpd_error *err);

/* A watch event (one frame's payload, a meta.v1.WatchEvent): *out (new) is {"type": ...,
 * "object": ...}, the object pruned like fpd_kubepb_object's, or whole for an ERROR event's
 * meta.v1.Status. FPD_EINVAL for anything else. */
int fpd_kubepb_event(struct fpd_kubepb *pb, const void *data, size_t len, json_t **out,
                     struct fpd_error *err);

/* The protobuf body of a write of obj (borrowed), an object of the decoder's kind as JSON,
 * appended to out: "k8s\0" and a runtime.Unknown holding the message, as client-go sends it.
 * FPD_EINVAL where the API server would not read the two as the same object (a member the
 * type does not have, a value of another JSON type, an integer out of range, a time, raw JSON,
 * an empty array or object JSON writes back as such, a quantity string other than a plain
 * one, nesting past 64) or the decoder would not read it back whole (a string with a NUL),
 * FPD_ERANGE past out's maximum: out is then as it was, and the caller sends the JSON instead.
 * An empty array or object where JSON leaves the member out when empty goes as none: Go's
 * decoders then give a nil slice or map instead of an empty one, which the API server does
 * not tell apart. What the decoder keeps plays no part. */
int fpd_kubepb_encode(struct fpd_kubepb *pb, const json_t *obj, struct fpd_buf *out,
                      struct fpd_error *err);

/* A list response body, split into its items as it arrives so that no page is ever held whole
 * (see stream.h for the JSON counterpart). */
typedef int (*fpd_kubepb_piece_fn)(void *ud, const char *data, size_t len);

struct fpd_kubepb_list {
	struct fpd_buf in;   /* bytes not yet consumed */
	struct fpd_buf meta; /* the list's ListMeta */
	struct fpd_buf type; /* the envelope's typeMeta */
	size_t max_item;     /* one item */
	int state;           /* where in the envelope the next byte is */
	uint64_t list_left;  /* bytes of raw (the list message) not yet consumed */
	uint64_t skip_left;  /* bytes of a field to skip */
	uint64_t field_left; /* bytes of the field being collected */
	int field;           /* which one: an item, the ListMeta or the typeMeta */
	int ret;             /* the state to return to after the field */
	bool raw_seen;
	bool bad_encoding; /* a contentEncoding: the raw bytes are not the message */
	size_t count;      /* items delivered */
};

/* Initializes an empty splitter; an item may be at most max_item bytes. Allocates nothing. */
void fpd_kubepb_list_init(struct fpd_kubepb_list *l, size_t max_item);
void fpd_kubepb_list_free(struct fpd_kubepb_list *l);

/* Feeds bytes; calls fn with each item's message as soon as it is complete. FPD_EINVAL for
 * input that is not an enveloped list, FPD_ERANGE for an item longer than the maximum (before
 * anything of it is buffered). A nonzero return of fn stops the feed, which returns it. */
int fpd_kubepb_list_feed(struct fpd_kubepb_list *l, const char *data, size_t len,
                         fpd_kubepb_piece_fn fn, void *ud, struct fpd_error *err);

/* After the last feed: the list's kind is list_kind ("PodList"), and *doc (new) is
 * {"metadata": {"resourceVersion": ..., "continue": ...}} as the JSON list has it. FPD_EINVAL
 * for an incomplete body or another kind. */
int fpd_kubepb_list_finish(struct fpd_kubepb_list *l, const char *list_kind, json_t **doc,
                           struct fpd_error *err);

/* A watch stream split into frames (4-byte big-endian length, then the payload). */
struct fpd_kubepb_frames {
	struct fpd_buf in;
	size_t max_frame;
};

void fpd_kubepb_frames_init(struct fpd_kubepb_frames *f, size_t max_frame);
void fpd_kubepb_frames_free(struct fpd_kubepb_frames *f);

/* Feeds bytes; calls fn with each complete frame's payload. FPD_ERANGE for a frame length
 * past the maximum, refused as soon as its 4 bytes arrive. */
int fpd_kubepb_frames_feed(struct fpd_kubepb_frames *f, const char *data, size_t len,
                           fpd_kubepb_piece_fn fn, void *ud, struct fpd_error *err);

/* True if bytes of an unfinished frame are pending. */
bool fpd_kubepb_frames_pending(const struct fpd_kubepb_frames *f);

#endif
