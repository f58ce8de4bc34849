/*
 * Pruned JSON parsing: build only the parts of a document that a set of JSON Pointers reach,
 * skipping everything else at scanning speed. An informer keeps a handful of fields of each
 * object; building a whole jansson tree for an 8 KiB pod to read eight strings costs an order
 * of magnitude more CPU than the scan.
 *
 * The result is a jansson value shaped like the input but holding only the kept paths
 * (objects keep only the members on a kept path; arrays keep element positions, with null for
 * the elements skipped before the last kept one). The subtree under a kept pointer is parsed
 * whole, by jansson. Skipped parts are checked for structure (balanced brackets, terminated
 * strings, no control characters in strings), not for every lexical rule of JSON.
 */
#ifndef FPD_KUBE_PRUNE_H
#define FPD_KUBE_PRUNE_H

#include <flyteplugd/error.h>

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct fpd_kube_prune;

/* A new, empty set (keeps nothing: parsing yields an empty object or array). */
struct fpd_kube_prune *fpd_kube_prune_new(void);
void fpd_kube_prune_free(struct fpd_kube_prune *p);

/* Adds an RFC 6901 pointer whose value is kept whole; "" keeps the whole document. A token "*"
 * stands for every element of an array: spec, containers, *, name keeps each container's name
 * (a member named "*" is matched by it too). FPD_EINVAL for a malformed pointer. */
int fpd_kube_prune_add(struct fpd_kube_prune *p, const char *pointer, struct fpd_error *err);

/* Parses one JSON value from text. On success *out is a new reference (NULL never). FPD_EINVAL
 * with the byte offset for malformed input. */
int fpd_kube_prune_parse(const struct fpd_kube_prune *p, const char *text, size_t len, json_t **out,
                         struct fpd_error *err);

/* Read-only walk of the set, for decoders of other encodings that must keep the same paths
 * (kubepb.c). Nodes are borrowed from the set. */
struct fpd_kube_prune_node;
const struct fpd_kube_prune_node *fpd_kube_prune_root(const struct fpd_kube_prune *p);
/* The child for one (unescaped) reference token, or NULL. */
const struct fpd_kube_prune_node *fpd_kube_prune_child(const struct fpd_kube_prune_node *n,
                                                       const char *token, size_t len);
size_t fpd_kube_prune_nchildren(const struct fpd_kube_prune_node *n);
const struct fpd_kube_prune_node *fpd_kube_prune_child_at(const struct fpd_kube_prune_node *n,
                                                          size_t i);
const char *fpd_kube_prune_token(const struct fpd_kube_prune_node *n);
/* True if a pointer ends at n: its value is kept whole. */
bool fpd_kube_prune_whole(const struct fpd_kube_prune_node *n);
/* The largest array index among n's children, -1 when none is numeric. */
long fpd_kube_prune_max_index(const struct fpd_kube_prune_node *n);

#endif
