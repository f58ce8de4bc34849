/*
 * Naming things on the API server: a resource (group, version, plural, scope), the REST path of
 * a collection or an object, query strings, and checks of label/field selectors so that a typo
 * is reported where it was written instead of as a 400 from the server.
 */
#ifndef FPD_KUBE_RESOURCE_H
#define FPD_KUBE_RESOURCE_H

#include <flyteplugd/buf.h>
#include <flyteplugd/error.h>

#include <stdbool.h>

/* A resource type as discovery reports it. Fixed-size fields: a value can be copied with `=`
 * and owns nothing. group is "" for the core group ("v1" pods, configmaps...). */
struct fpd_kube_gvr {
	char group[254];   /* DNS subdomain, at most 253 characters */
	char version[64];  /* "v1", "v1beta2" */
	char resource[64]; /* the plural: "pods", "sparkapplications" */
	char kind[64];     /* "Pod"; informational, may be "" */
	bool namespaced;
};

/* One object or collection: gvr is borrowed; namespace NULL/"" for cluster-scoped resources or
 * all namespaces; name NULL/"" for the collection; subresource NULL/"" or "status", "scale". */
struct fpd_kube_ref {
	const struct fpd_kube_gvr *gvr;
	const char *namespace_;
	const char *name;
	const char *subresource;
};

/* Fills g; FPD_EINVAL (message in err) if a part is empty where required or too long. */
int fpd_kube_gvr_set(struct fpd_kube_gvr *g, const char *group, const char *version,
                     const char *resource, bool namespaced, struct fpd_error *err);

/* Appends the REST path of ref to b ("/api/v1/namespaces/ns/pods/name/status"), each segment
 * percent-encoded. FPD_EINVAL for a namespaced name without a namespace or a subresource without
 * a name; FPD_ERANGE if b is full. */
int fpd_kube_path(struct fpd_buf *b, const struct fpd_kube_ref *ref, struct fpd_error *err);

/* Appends "?key=value" or "&key=value" (whichever fits what b holds), percent-encoding both.
 * A NULL or empty value appends nothing. FPD_ERANGE if b is full. */
int fpd_kube_query(struct fpd_buf *b, const char *key, const char *value);

/* Appends s percent-encoded (everything but RFC 3986 unreserved characters). */
int fpd_kube_escape(struct fpd_buf *b, const char *s);

/* Checks a label selector ("app=x,tier!=db,env in (a,b),!legacy,release") against the grammar
 * of k8s.io/apimachinery/pkg/labels. FPD_EINVAL with the offending part and its 1-based
 * column in err. NULL or "" is a valid (match-everything) selector. */
int fpd_kube_label_selector_check(const char *sel, struct fpd_error *err);

/* Checks a field selector ("metadata.name=x,status.phase!=Running"): key=value, key==value or
 * key!=value terms, with \ escaping ',', '=', '!' and '\' in values. */
int fpd_kube_field_selector_check(const char *sel, struct fpd_error *err);

/* Checks a label value (empty, or at most 63 of [A-Za-z0-9._-] beginning and ending with an
 * alphanumeric) and a label key ([prefix/]name). */
bool fpd_kube_label_value_ok(const char *v);
bool fpd_kube_label_key_ok(const char *k);

#endif
