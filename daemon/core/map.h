/*
 * String-keyed hash map (open addressing, linear probing, tombstones), values are void *.
 * Keys are copied; values are borrowed (the owner frees them). Iteration order is unspecified.
 * Grows at 70% load; never shrinks below its peak (tombstones are reused).
 */
#ifndef FPD_CORE_MAP_H
#define FPD_CORE_MAP_H

#include <stdbool.h>
#include <stddef.h>

struct fpd_map_slot {
	char *key; /* NULL: empty; FPD_MAP_TOMBSTONE: deleted */
	void *value;
	size_t hash;
};

struct fpd_map {
	struct fpd_map_slot *slots;
	size_t cap; /* power of two, or 0 */
	size_t count;
	size_t used;     /* count + tombstones */
	size_t rehashes; /* times the slots were rebuilt (entries moved): a walk across loop
	                  * turns (fpd_map_next with a kept iter) is void once this changes */
};

void fpd_map_init(struct fpd_map *m);
/* Frees the keys and the table (not the values). */
void fpd_map_free(struct fpd_map *m);
/* The value for key, or NULL. */
void *fpd_map_get(const struct fpd_map *m, const char *key);
/* Sets key to value, returning the previous value (or NULL). */
void *fpd_map_put(struct fpd_map *m, const char *key, void *value);
/* Removes key, returning its value (or NULL). */
void *fpd_map_del(struct fpd_map *m, const char *key);
/* Iteration: for (size_t i = 0; fpd_map_next(m, &i, &k, &v);) ... Safe to fpd_map_del the
 * current key during iteration, not to put. A walk may be resumed after puts and dels as long
 * as rehashes is unchanged: every key present throughout is then seen (a key put or deleted
 * meanwhile may or may not be, and a key deleted and put again may be seen twice). */
bool fpd_map_next(const struct fpd_map *m, size_t *iter, const char **key, void **value);
/* fpd_map_next looking at slots before end only: false when none of them holds a key, *iter
 * then being end (or cap if smaller). Bounds the work of one step of a walk kept across loop
 * turns, however sparse the table. */
bool fpd_map_next_before(const struct fpd_map *m, size_t *iter, size_t end, const char **key,
                         void **value);

#endif
