/*
 * The JSON form of each protobuf field of the Kubernetes API types, generated at build time from
 * the Go struct tags (json-fields.py): which JSON member a field is, and when the API server's
 * JSON leaves it out. Sorted by message, then field: bsearch with fpd_kubepb_field_cmp order.
 */
#ifndef FPD_KUBEPB_FIELDS_H
#define FPD_KUBEPB_FIELDS_H

#include <stddef.h>

enum {
	FPD_KUBEPB_OMITEMPTY =
	    1,                   /* json:",omitempty": a zero scalar or an empty list is left out */
	FPD_KUBEPB_POINTER = 2,  /* a Go pointer: in protobuf only when set, then always in JSON */
	FPD_KUBEPB_OMITZERO = 4, /* json:",omitzero": a zero value (a zero time) is left out */
	FPD_KUBEPB_INLINE = 8,   /* an embedded struct: its members are the parent's */
};

struct fpd_kubepb_field_json {
	const char *message; /* full protobuf name, "k8s.io.api.core.v1.Pod" */
	const char *field;   /* protobuf field name */
	const char *json;    /* JSON member name; "" when FPD_KUBEPB_INLINE */
	int flags;
};

extern const struct fpd_kubepb_field_json fpd_kubepb_fields[];
extern const size_t fpd_kubepb_nfields;

#endif
