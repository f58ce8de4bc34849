/* Compact object cache: see store.h. */
#include "kube/store.h"

#include <flyteplugd/mem.h>

#include <stdlib.h>
#include <string.h>

enum { NAME, UID, RV, FIRST_FIELD };

struct fpd_kube_obj {
	uint32_t hash; /* of namespace and name */
	uint8_t mark;
	uint8_t nfields;
	const char *ns; /* interned */
	/* name, uid, rv, then the fields; point into the tail of this allocation, or to
	 * interned strings for interned fields; NULL for absent fields. */
	const char *str[];
};

/* An interned string: reference counted, found by content. */
struct istr {
	uint32_t refs;
	uint32_t hash;
	char s[];
};

/* Open addressing with linear probing over pointers; the hash of an entry is read back from
 * the entry itself (hash_of) so that deletion can shift entries back. */
struct table {
	void **slots;
	size_t cap; /* power of two, or 0 */
	size_t count;
};

struct fpd_kube_store {
	struct table objs;
	struct table strings;
	size_t nfields;
	uint32_t intern_mask;
	size_t bytes;
};

static uint32_t hash_bytes(uint32_t h, const char *s, size_t n)
{
	/* FNV-1a: short keys, no need for more. */
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

static uint32_t hash_key(const char *ns, const char *name)
{
	/* The NUL keeps ("ab", "c") and ("a", "bc") apart. */
	uint32_t h = hash_bytes(2166136261u, ns, strlen(ns) + 1);
	return hash_bytes(h, name, strlen(name));
}

static uint32_t obj_hash(const void *p)
{
	return ((const struct fpd_kube_obj *)p)->hash;
}

static uint32_t istr_hash(const void *p)
{
	return ((const struct istr *)p)->hash;
}

/* ---- the table ---- */

static void table_grow(struct table *t, uint32_t (*hash_of)(const void *), size_t *bytes)
{
	size_t cap = t->cap ? t->cap * 2 : 16;
	void **slots = fpd_calloc(cap, sizeof(void *));
	for (size_t i = 0; i < t->cap; i++) {
		void *e = t->slots[i];
		if (!e)
			continue;
		size_t j = hash_of(e) & (cap - 1);
		while (slots[j])
			j = (j + 1) & (cap - 1);
		slots[j] = e;
	}
	*bytes += (cap - t->cap) * sizeof(void *);
	free(t->slots);
	t->slots = slots;
	t->cap = cap;
}

/* Removes the entry at slot i, shifting later entries of the same probe run back so that
 * lookups never need tombstones. */
static void table_delete_at(struct table *t, size_t i, uint32_t (*hash_of)(const void *))
{
	size_t mask = t->cap - 1;
	size_t hole = i;
	size_t j = i;
	for (;;) {
		j = (j + 1) & mask;
		void *e = t->slots[j];
		if (!e)
			break;
		size_t home = hash_of(e) & mask;
		/* e may move into the hole only if its home is not in (hole, j]. */
		bool movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
		if (movable) {
			t->slots[hole] = e;
			hole = j;
		}
	}
	t->slots[hole] = NULL;
	t->count--;
}

/* ---- interned strings ---- */

static const char *intern(struct fpd_kube_store *s, const char *str)
{
	size_t n = strlen(str);
	uint32_t h = hash_bytes(2166136261u, str, n);
	if (s->strings.cap) {
		size_t mask = s->strings.cap - 1;
		for (size_t i = h & mask; s->strings.slots[i]; i = (i + 1) & mask) {
			struct istr *e = s->strings.slots[i];
			if (e->hash == h && strcmp(e->s, str) == 0) {
				e->refs++;
				return e->s;
			}
		}
	}
	if ((s->strings.count + 1) * 4 > s->strings.cap * 3)
		table_grow(&s->strings, istr_hash, &s->bytes);
	struct istr *e = fpd_malloc(sizeof(*e) + n + 1);
	s->bytes += sizeof(*e) + n + 1;
	e->refs = 1;
	e->hash = h;
	memcpy(e->s, str, n + 1);
	size_t mask = s->strings.cap - 1;
	size_t i = h & mask;
	while (s->strings.slots[i])
		i = (i + 1) & mask;
	s->strings.slots[i] = e;
	s->strings.count++;
	return e->s;
}

static void unintern(struct fpd_kube_store *s, const char *str)
{
	struct istr *e = fpd_container_of(str, struct istr, s);
	if (--e->refs)
		return;
	size_t mask = s->strings.cap - 1;
	size_t i = e->hash & mask;
	while (s->strings.slots[i] != e)
		i = (i + 1) & mask;
	table_delete_at(&s->strings, i, istr_hash);
	s->bytes -= sizeof(*e) + strlen(e->s) + 1;
	free(e);
}

/* ---- objects ---- */

const char *fpd_kube_obj_namespace(const struct fpd_kube_obj *o)
{
	return o->ns;
}

const char *fpd_kube_obj_name(const struct fpd_kube_obj *o)
{
	return o->str[NAME];
}

const char *fpd_kube_obj_uid(const struct fpd_kube_obj *o)
{
	return o->str[UID];
}

const char *fpd_kube_obj_resource_version(const struct fpd_kube_obj *o)
{
	return o->str[RV];
}

const char *fpd_kube_obj_field(const struct fpd_kube_obj *o, size_t i)
{
	return i < o->nfields ? o->str[FIRST_FIELD + i] : NULL;
}

size_t fpd_kube_obj_nfields(const struct fpd_kube_obj *o)
{
	return o->nfields;
}

uint8_t fpd_kube_obj_mark(const struct fpd_kube_obj *o)
{
	return o->mark;
}

void fpd_kube_obj_set_mark(struct fpd_kube_obj *o, uint8_t mark)
{
	o->mark = mark;
}

static bool interned_field(const struct fpd_kube_store *s, size_t f)
{
	return (s->intern_mask >> f) & 1u;
}

/* A string is stored in the object itself unless it is an interned field. */
static bool owned(const struct fpd_kube_store *s, size_t i)
{
	return i < FIRST_FIELD || !interned_field(s, i - FIRST_FIELD);
}

static size_t obj_size(const struct fpd_kube_store *s, const struct fpd_kube_obj *o)
{
	size_t nstr = FIRST_FIELD + o->nfields;
	size_t size = sizeof(*o) + nstr * sizeof(char *);
	for (size_t i = 0; i < nstr; i++)
		if (o->str[i] && owned(s, i))
			size += strlen(o->str[i]) + 1;
	return size;
}

struct fpd_kube_obj *fpd_kube_store_make(struct fpd_kube_store *s, const char *ns, const char *name,
                                         const char *uid, const char *rv, const char *const *fields)
{
	size_t nstr = FIRST_FIELD + s->nfields;
	const char *src[FIRST_FIELD + FPD_KUBE_MAX_FIELDS];
	src[NAME] = name ? name : "";
	src[UID] = uid ? uid : "";
	src[RV] = rv ? rv : "";
	for (size_t f = 0; f < s->nfields; f++)
		src[FIRST_FIELD + f] = fields ? fields[f] : NULL;

	size_t lens[FIRST_FIELD + FPD_KUBE_MAX_FIELDS];
	size_t size = sizeof(struct fpd_kube_obj) + nstr * sizeof(char *);
	for (size_t i = 0; i < nstr; i++) {
		lens[i] = src[i] && owned(s, i) ? strlen(src[i]) + 1 : 0;
		size += lens[i];
	}
	struct fpd_kube_obj *o = fpd_malloc(size);
	s->bytes += size;
	o->mark = 0;
	o->nfields = (uint8_t)s->nfields;
	o->ns = intern(s, ns ? ns : "");
	o->hash = hash_key(o->ns, src[NAME]);
	char *tail = (char *)o + sizeof(*o) + nstr * sizeof(char *);
	for (size_t i = 0; i < nstr; i++) {
		if (!src[i]) {
			o->str[i] = NULL;
		} else if (!lens[i]) {
			o->str[i] = intern(s, src[i]);
		} else {
			memcpy(tail, src[i], lens[i]);
			o->str[i] = tail;
			tail += lens[i];
		}
	}
	return o;
}

void fpd_kube_store_release(struct fpd_kube_store *s, struct fpd_kube_obj *o)
{
	if (!o)
		return;
	s->bytes -= obj_size(s, o);
	for (size_t f = 0; f < o->nfields; f++)
		if (interned_field(s, f) && o->str[FIRST_FIELD + f])
			unintern(s, o->str[FIRST_FIELD + f]);
	unintern(s, o->ns);
	free(o);
}

struct fpd_kube_store *fpd_kube_store_new(size_t nfields, uint32_t intern_mask)
{
	FPD_ASSERT(nfields <= FPD_KUBE_MAX_FIELDS);
	struct fpd_kube_store *s = fpd_calloc(1, sizeof(*s));
	s->nfields = nfields;
	s->intern_mask = nfields < 32 ? intern_mask & ((1u << nfields) - 1) : intern_mask;
	return s;
}

void fpd_kube_store_free(struct fpd_kube_store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->objs.cap; i++)
		if (s->objs.slots[i])
			fpd_kube_store_release(s, s->objs.slots[i]);
	free(s->objs.slots);
	/* Every interned string belonged to some object and is gone by now. */
	FPD_ASSERT(s->strings.count == 0);
	free(s->strings.slots);
	free(s);
}

/* Slot of the object with that key, or of the empty slot where it would go. */
static size_t find_slot(const struct fpd_kube_store *s, uint32_t h, const char *ns,
                        const char *name)
{
	size_t mask = s->objs.cap - 1;
	size_t i = h & mask;
	for (;; i = (i + 1) & mask) {
		const struct fpd_kube_obj *o = s->objs.slots[i];
		if (!o ||
		    (o->hash == h && strcmp(o->str[NAME], name) == 0 && strcmp(o->ns, ns) == 0))
			return i;
	}
}

struct fpd_kube_obj *fpd_kube_store_get(const struct fpd_kube_store *s, const char *ns,
                                        const char *name)
{
	if (!s->objs.cap)
		return NULL;
	ns = ns ? ns : "";
	return s->objs.slots[find_slot(s, hash_key(ns, name), ns, name)];
}

struct fpd_kube_obj *fpd_kube_store_put(struct fpd_kube_store *s, struct fpd_kube_obj *o)
{
	if ((s->objs.count + 1) * 4 > s->objs.cap * 3)
		table_grow(&s->objs, obj_hash, &s->bytes);
	size_t i = find_slot(s, o->hash, o->ns, o->str[NAME]);
	struct fpd_kube_obj *old = s->objs.slots[i];
	s->objs.slots[i] = o;
	if (!old)
		s->objs.count++;
	return old;
}

struct fpd_kube_obj *fpd_kube_store_take(struct fpd_kube_store *s, const char *ns, const char *name)
{
	if (!s->objs.cap)
		return NULL;
	ns = ns ? ns : "";
	size_t i = find_slot(s, hash_key(ns, name), ns, name);
	struct fpd_kube_obj *o = s->objs.slots[i];
	if (o)
		table_delete_at(&s->objs, i, obj_hash);
	return o;
}

size_t fpd_kube_store_count(const struct fpd_kube_store *s)
{
	return s->objs.count;
}

void fpd_kube_store_each(const struct fpd_kube_store *s,
                         void (*fn)(void *ud, const struct fpd_kube_obj *o), void *ud)
{
	for (size_t i = 0; i < s->objs.cap; i++)
		if (s->objs.slots[i])
			fn(ud, s->objs.slots[i]);
}

size_t fpd_kube_store_bytes(const struct fpd_kube_store *s)
{
	return s->bytes;
}

void fpd_kube_store_clear_marks(struct fpd_kube_store *s)
{
	for (size_t i = 0; i < s->objs.cap; i++)
		if (s->objs.slots[i])
			((struct fpd_kube_obj *)s->objs.slots[i])->mark = 0;
}
