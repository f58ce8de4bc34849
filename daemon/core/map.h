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
	size_t used; /* count + tombstones */
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
 * current key during iteration, not to put. */
bool fpd_map_next(const struct fpd_map *m, size_t *iter, const char **key, void **value);

#endif
