/*
 * The informer cache: objects keyed by namespace/name, each reduced to what its owner chose to
 * keep (see informer.h, "projection"), so that 10,000 pods cost kilobytes, not the hundreds of
 * megabytes of the JSON they came as.
 *
 * An object is one allocation: a small header, one pointer per string, then the strings.
 * Namespaces, and the fields the owner marks as repetitive (a phase, a label value), are
 * interned: stored once, shared by reference count. The table is open addressing with linear
 * probing and backward-shift deletion (no tombstones), so a lookup touches one or two cache
 * lines and an entry costs one pointer.
 *
 * Objects handed to callers are borrowed: valid until the store changes.
 */
#ifndef FPD_KUBE_STORE_H
#define FPD_KUBE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FPD_KUBE_MAX_FIELDS 32

struct fpd_kube_obj;
struct fpd_kube_store;

/* Accessors. The object is borrowed; strings live as long as it does. namespace is "" for
 * cluster-scoped objects; uid and resource version are "" when the server sent none. */
const char *fpd_kube_obj_namespace(const struct fpd_kube_obj *o);
const char *fpd_kube_obj_name(const struct fpd_kube_obj *o);
const char *fpd_kube_obj_uid(const struct fpd_kube_obj *o);
const char *fpd_kube_obj_resource_version(const struct fpd_kube_obj *o);
/* Projected field i (0-based, in the order the owner declared), or NULL when the object had
 * no value for it or i is out of range. */
const char *fpd_kube_obj_field(const struct fpd_kube_obj *o, size_t i);
size_t fpd_kube_obj_nfields(const struct fpd_kube_obj *o);

/* The rest is for the informer. */

/* New empty store for objects with nfields fields (at most FPD_KUBE_MAX_FIELDS); bit i of
 * intern_mask interns field i. */
struct fpd_kube_store *fpd_kube_store_new(size_t nfields, uint32_t intern_mask);
/* Frees the store and every object in it. NULL is fine. */
void fpd_kube_store_free(struct fpd_kube_store *s);

/* A new object, not yet in the store; the strings are copied (or interned). ns, uid, rv may be
 * NULL (stored as ""); fields has nfields entries, each may be NULL. Release with
 * fpd_kube_store_release unless put in the store. */
struct fpd_kube_obj *fpd_kube_store_make(struct fpd_kube_store *s, const char *ns, const char *name,
                                         const char *uid, const char *rv,
                                         const char *const *fields);
/* Frees an object that is not in the store. NULL is fine. */
void fpd_kube_store_release(struct fpd_kube_store *s, struct fpd_kube_obj *o);

/* Borrowed object with that key, or NULL. ns NULL means "". */
struct fpd_kube_obj *fpd_kube_store_get(const struct fpd_kube_store *s, const char *ns,
                                        const char *name);
/* Inserts o (steals it), replacing an object with the same key; returns the replaced object
 * (the caller must release it) or NULL. */
struct fpd_kube_obj *fpd_kube_store_put(struct fpd_kube_store *s, struct fpd_kube_obj *o);
/* Removes the object with that key and returns it (the caller must release it), or NULL. */
struct fpd_kube_obj *fpd_kube_store_take(struct fpd_kube_store *s, const char *ns,
                                         const char *name);

size_t fpd_kube_store_count(const struct fpd_kube_store *s);

/* Calls fn for each object (borrowed) in no particular order. fn must not change the store. */
void fpd_kube_store_each(const struct fpd_kube_store *s,
                         void (*fn)(void *ud, const struct fpd_kube_obj *o), void *ud);

/* Heap bytes the store has asked for (objects, table, interned strings; not malloc's own
 * overhead). */
size_t fpd_kube_store_bytes(const struct fpd_kube_store *s);

/* Relist bookkeeping: a small tag per object, set when the object was last seen in a list. */
uint8_t fpd_kube_obj_mark(const struct fpd_kube_obj *o);
void fpd_kube_obj_set_mark(struct fpd_kube_obj *o, uint8_t mark);
/* Sets every object's mark to 0. */
void fpd_kube_store_clear_marks(struct fpd_kube_store *s);

#endif
