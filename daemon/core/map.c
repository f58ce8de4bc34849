/* String-keyed hash map: see map.h. */
#include "core/map.h"

#include <flyteplugd/mem.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static char tombstone;
#define TOMBSTONE (&tombstone)

static size_t hash_str(const char *s)
{
	/* FNV-1a, 64-bit */
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return (size_t)h;
}

void fpd_map_init(struct fpd_map *m)
{
	memset(m, 0, sizeof(*m));
}

void fpd_map_free(struct fpd_map *m)
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].key && m->slots[i].key != TOMBSTONE)
			free(m->slots[i].key);
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

/* Index of key's slot, or of the first free slot (tombstone or empty) where it would go. */
static size_t find(const struct fpd_map *m, const char *key, size_t h, bool *found)
{
	size_t mask = m->cap - 1, i = h & mask, free_slot = SIZE_MAX;
	for (;;) {
		const struct fpd_map_slot *s = &m->slots[i];
		if (!s->key) {
			*found = false;
			return free_slot != SIZE_MAX ? free_slot : i;
		}
		if (s->key == TOMBSTONE) {
			if (free_slot == SIZE_MAX)
				free_slot = i;
		} else if (s->hash == h && strcmp(s->key, key) == 0) {
			*found = true;
			return i;
		}
		i = (i + 1) & mask;
	}
}

static void grow(struct fpd_map *m)
{
	size_t old_cap = m->cap;
	struct fpd_map_slot *old = m->slots;
	m->cap = old_cap ? (m->count * 2 >= old_cap ? old_cap * 2 : old_cap) : 16;
	m->slots = fpd_calloc(m->cap, sizeof(*m->slots));
	m->used = m->count;
	m->rehashes++;
	for (size_t i = 0; i < old_cap; i++) {
		if (!old[i].key || old[i].key == TOMBSTONE)
			continue;
		size_t j = old[i].hash & (m->cap - 1);
		while (m->slots[j].key)
			j = (j + 1) & (m->cap - 1);
		m->slots[j] = old[i];
	}
	free(old);
}

void *fpd_map_get(const struct fpd_map *m, const char *key)
{
	if (!m->cap)
		return NULL;
	bool found;
	size_t i = find(m, key, hash_str(key), &found);
	return found ? m->slots[i].value : NULL;
}

void *fpd_map_put(struct fpd_map *m, const char *key, void *value)
{
	if ((m->used + 1) * 10 >= m->cap * 7)
		grow(m);
	size_t h = hash_str(key);
	bool found;
	size_t i = find(m, key, h, &found);
	struct fpd_map_slot *s = &m->slots[i];
	if (found) {
		void *old = s->value;
		s->value = value;
		return old;
	}
	if (!s->key)
		m->used++;
	s->key = fpd_strdup(key);
	s->value = value;
	s->hash = h;
	m->count++;
	return NULL;
}

void *fpd_map_del(struct fpd_map *m, const char *key)
{
	if (!m->cap)
		return NULL;
	bool found;
	size_t i = find(m, key, hash_str(key), &found);
	if (!found)
		return NULL;
	struct fpd_map_slot *s = &m->slots[i];
	void *v = s->value;
	free(s->key);
	s->key = TOMBSTONE;
	s->value = NULL;
	m->count--;
	return v;
}

bool fpd_map_next(const struct fpd_map *m, size_t *iter, const char **key, void **value)
{
	return fpd_map_next_before(m, iter, m->cap, key, value);
}

bool fpd_map_next_before(const struct fpd_map *m, size_t *iter, size_t end, const char **key,
                         void **value)
{
	if (end > m->cap)
		end = m->cap;
	for (; *iter < end; (*iter)++) {
		const struct fpd_map_slot *s = &m->slots[*iter];
		if (s->key && s->key != TOMBSTONE) {
			*key = s->key;
			*value = s->value;
			(*iter)++;
			return true;
		}
	}
	return false;
}
