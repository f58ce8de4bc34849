/*
 * Kubernetes' protobuf read into pruned JSON: see kubepb.h.
 *
 * A decoder holds two kinds of plans, built once: for each message type
 * reachable from its kind, how each field is written in JSON (struct mplan,
 * shared by everything that converts a subtree whole); and for the kept
 * pointers, which fields of which message the walk descends into (struct kplan,
 * one per node of the pointer set). Each kplan also has a copy of its message's
 * descriptor that lists only the fields it descends into, so that protobuf-c
 * unpacks those and passes over the rest as unknown fields (a copy of their
 * bytes, no parsing). Unpacking allocates from an arena that is emptied after
 * each object, so an object costs no malloc per field.
 */
#include "kube/kubepb.h"

#include "core/map.h"
#include "kubepb_fields.h"
#include <flyteplugd/base64.h>
#include <flyteplugd/mem.h>
#include <flyteplugd/utf8.h>

#include "k8s.io/api/core/v1/generated.pb-c.h"
#include "k8s.io/apimachinery/pkg/apis/meta/v1/generated.pb-c.h"
#include "k8s.io/apimachinery/pkg/runtime/generated.pb-c.h"

#include <inttypes.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_INDEX 1024 /* array indices a pointer may name; more is refused at new() */
#define ARENA_CHUNK (64 * 1024)
#define META_MAX \
	(64 * 1024) /* a list's ListMeta and the envelope's typeMeta  \
                              */
/* What unpacking one input may allocate: real objects take 4-8 times their size
 * (the copies of raw, the structs, protobuf-c's scan slabs). Without a bound,
 * protobuf-c's allocations are not: a non-repeated message field sent N times
 * is merged each time into a new array of its repeated members (the arena never
 * frees), N^2 bytes for 4N of input; an empty element of a repeated message
 * field costs its struct (PodSpec: ~500 bytes) for 2 bytes. */
#define ARENA_BASE (1024 * 1024)
#define ARENA_RATIO 32
#define ARENA_MAX ((size_t)256 << 20)
/* What a JSON value built by the walk is charged against the same budget: a
 * field protobuf leaves out is still written where JSON has it (a zero, "",
 * false), so a 2-byte empty element of a repeated message becomes an object of
 * several members (~650 bytes for a ContainerStatus). */
#define JSON_VALUE_COST 64

#define PKG_META "k8s.io.apimachinery.pkg.apis.meta.v1."

enum special { SP_NONE, SP_TIME, SP_MICROTIME, SP_QUANTITY, SP_INTORSTR, SP_RAW };

struct mplan;

struct finfo {
	const ProtobufCFieldDescriptor *fd;
	const char *json;
	int flags;
	bool has_json;           /* the field is in the JSON form (kubepb_fields.h) */
	bool map;                /* a repeated key/value entry message: a JSON object */
	const struct mplan *sub; /* message fields: the message's (for maps: the value's) plan */
};

/* A JSON member of a message: field fi, itself a member of the inline field via or not. */
struct jmember {
	const struct finfo *fi;
	const struct finfo *via;
};

struct mplan {
	const ProtobufCMessageDescriptor *d;
	enum special sp;
	struct finfo *f;
	size_t n;
	/* Encoding (built at the first fpd_kubepb_encode): JSON name -> struct jmember. */
	struct fpd_map by_json;
	struct jmember *jm;
};

struct kplan;

struct kelem {
	bool whole;
	struct kplan *plan; /* when not whole and the element is a message */
	bool set;           /* the pointer set names this element */
};

struct kfield {
	const struct finfo *fi;
	const struct finfo *via; /* the inline field fi is a member of, or NULL */
	bool whole;
	const struct fpd_kube_prune_node *node; /* maps: which keys */
	struct kplan *plan;                     /* a message kept in part */
	struct kelem every;                     /* arrays: "*" */
	struct kelem *index;                    /* arrays: named elements, max_index + 1 */
	long max_index;
};

struct kplan {
	const struct mplan *m;
	struct kfield *f;
	size_t n;
	bool api_version, kind; /* the root keeps the envelope's apiVersion / kind */
	/* m's descriptor with only the fields the plan reads, their message types
   * narrowed the same way: what the message is unpacked with */
	ProtobufCMessageDescriptor desc;
	ProtobufCFieldDescriptor *fields;
	unsigned *by_name;
	ProtobufCIntRange *ranges;
};

struct chunk {
	struct chunk *next;
	size_t used, size;
	alignas(max_align_t) unsigned char data[];
};

struct fpd_kubepb {
	const ProtobufCMessageDescriptor *desc;
	char *kind;
	const char *api_version; /* of kind */
	struct fpd_map plans; /* message name -> struct mplan */
	const struct mplan *root;
	struct kplan *keep;   /* NULL: everything */
	struct kplan *status; /* an ERROR event's Status, whole */
	const struct mplan *status_plan;
	bool indexed; /* every plan's by_json is built */
	struct chunk *arena;
	size_t arena_used, arena_budget; /* bytes given out since the last reset; at most */
	bool arena_over;                 /* an allocation was refused */
	ProtobufCAllocator alloc;
};

/* ---- the arena ---- */

static void *arena_alloc(void *ud, size_t size)
{
	struct fpd_kubepb *pb = ud;
	if (size > SIZE_MAX - alignof(max_align_t))
		return NULL;
	size = (size + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
	/* NULL past the budget: protobuf-c then fails the unpack, which reports
   * invalid input */
	if (size > pb->arena_budget - pb->arena_used) {
		pb->arena_over = true;
		return NULL;
	}
	pb->arena_used += size;
	struct chunk *c = pb->arena;
	if (!c || c->size - c->used < size) {
		size_t cap = size > ARENA_CHUNK ? size : ARENA_CHUNK;
		struct chunk *n = fpd_malloc(sizeof(*n) + cap);
		n->used = 0;
		n->size = cap;
		n->next = c;
		pb->arena = c = n;
	}
	void *p = c->data + c->used;
	c->used += size;
	return p;
}

static void arena_free(void *ud, void *p)
{
}

/* Frees all but one chunk, which is kept for the next object. */
static void arena_reset(struct fpd_kubepb *pb)
{
	struct chunk *c = pb->arena, *keep = NULL;
	while (c) {
		struct chunk *next = c->next;
		if (!keep && c->size == ARENA_CHUNK) {
			keep = c;
			keep->used = 0;
			keep->next = NULL;
		} else {
			free(c);
		}
		c = next;
	}
	pb->arena = keep;
	pb->arena_used = 0;
	pb->arena_budget = 0;
	pb->arena_over = false;
}

/* The budget for decoding len bytes of input (set once per public call: an
 * event's envelope and object share it). */
static void arena_budget(struct fpd_kubepb *pb, size_t len)
{
	size_t b = len > (ARENA_MAX - ARENA_BASE) / ARENA_RATIO ? ARENA_MAX
	                                                        : ARENA_BASE + ARENA_RATIO * len;
	pb->arena_used = 0;
	pb->arena_budget = b;
}

/* ---- plans ---- */

static int field_cmp(const void *key, const void *elem)
{
	const struct fpd_kubepb_field_json *a = key, *b = elem;
	int c = strcmp(a->message, b->message);
	return c ? c : strcmp(a->field, b->field);
}

static const struct fpd_kubepb_field_json *field_json(const char *message, const char *field)
{
	struct fpd_kubepb_field_json key = {message, field, NULL, 0};
	return bsearch(&key, fpd_kubepb_fields, fpd_kubepb_nfields, sizeof(key), field_cmp);
}

static enum special special_of(const char *name)
{
	static const struct {
		const char *name;
		enum special sp;
	} specials[] = {
	    {PKG_META "Time", SP_TIME},
	    {PKG_META "MicroTime", SP_MICROTIME},
	    {PKG_META "FieldsV1", SP_RAW},
	    {"k8s.io.apimachinery.pkg.api.resource.Quantity", SP_QUANTITY},
	    {"k8s.io.apimachinery.pkg.util.intstr.IntOrString", SP_INTORSTR},
	    {"k8s.io.apimachinery.pkg.runtime.RawExtension", SP_RAW},
	};
	for (size_t i = 0; i < FPD_ARRAY_LEN(specials); i++)
		if (strcmp(name, specials[i].name) == 0)
			return specials[i].sp;
	return SP_NONE;
}

static bool is_map_entry(const ProtobufCMessageDescriptor *d)
{
	size_t len = strlen(d->name);
	return len > 5 && strcmp(d->name + len - 5, "Entry") == 0 && d->n_fields == 2 &&
	       strcmp(d->fields[0].name, "key") == 0 && strcmp(d->fields[1].name, "value") == 0;
}

static const struct mplan *mplan_of(struct fpd_kubepb *pb, const ProtobufCMessageDescriptor *d)
{
	struct mplan *m = fpd_map_get(&pb->plans, d->name);
	if (m)
		return m;
	m = fpd_calloc(1, sizeof(*m));
	m->d = d;
	m->sp = special_of(d->name);
	fpd_map_init(&m->by_json);
	fpd_map_put(&pb->plans, d->name, m); /* before the fields: types may refer to themselves */
	m->n = d->n_fields;
	m->f = fpd_calloc(d->n_fields ? d->n_fields : 1, sizeof(*m->f));
	for (unsigned i = 0; i < d->n_fields; i++) {
		struct finfo *f = &m->f[i];
		f->fd = &d->fields[i];
		const struct fpd_kubepb_field_json *j = field_json(d->name, f->fd->name);
		f->json = j ? j->json : f->fd->name;
		f->flags = j ? j->flags : 0;
		f->has_json = j != NULL;
		if (f->fd->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		const ProtobufCMessageDescriptor *sd = f->fd->descriptor;
		if (f->fd->label == PROTOBUF_C_LABEL_REPEATED && is_map_entry(sd)) {
			f->map = true;
			if (sd->fields[1].type == PROTOBUF_C_TYPE_MESSAGE)
				f->sub = mplan_of(pb, sd->fields[1].descriptor);
		} else {
			f->sub = mplan_of(pb, sd);
		}
	}
	return m;
}

static void kplan_free(struct kplan *k);

static void kelem_free(struct kelem *e)
{
	kplan_free(e->plan);
}

static void kplan_free(struct kplan *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k->n; i++) {
		kelem_free(&k->f[i].every);
		if (k->f[i].index)
			for (long j = 0; j <= k->f[i].max_index; j++)
				kelem_free(&k->f[i].index[j]);
		free(k->f[i].index);
		kplan_free(k->f[i].plan);
	}
	free(k->f);
	free(k->fields);
	free(k->by_name);
	free(k->ranges);
	free(k);
}

static int kplan_new(const struct mplan *m, const struct fpd_kube_prune_node *node,
                     struct kplan **out, struct fpd_error *err);

/* The element plan of an array member for pointer node n. */
static int kelem_init(const struct finfo *fi, const struct fpd_kube_prune_node *n, struct kelem *e,
                      struct fpd_error *err)
{
	e->set = true;
	e->whole = fpd_kube_prune_whole(n);
	if (e->whole || fi->fd->type != PROTOBUF_C_TYPE_MESSAGE || fi->map || !fi->sub ||
	    fi->sub->sp != SP_NONE)
		return FPD_OK;
	return kplan_new(fi->sub, n, &e->plan, err);
}

/* The field of m whose JSON name is token: a member of m, or of one of m's
 * inline members. */
static bool find_member(const struct mplan *m, const char *token, const struct finfo **fi,
                        const struct finfo **via)
{
	for (size_t i = 0; i < m->n; i++) {
		if (!(m->f[i].flags & FPD_KUBEPB_INLINE) && strcmp(m->f[i].json, token) == 0) {
			*fi = &m->f[i];
			*via = NULL;
			return true;
		}
	}
	for (size_t i = 0; i < m->n; i++) {
		const struct mplan *s = m->f[i].sub;
		if (!(m->f[i].flags & FPD_KUBEPB_INLINE) || !s)
			continue;
		for (size_t j = 0; j < s->n; j++) {
			if (strcmp(s->f[j].json, token) == 0) {
				*fi = &s->f[j];
				*via = &m->f[i];
				return true;
			}
		}
	}
	return false;
}

static int kfield_init(const struct finfo *fi, const struct fpd_kube_prune_node *n,
                       struct kfield *kf, struct fpd_error *err)
{
	kf->fi = fi;
	kf->max_index = -1;
	kf->whole = fpd_kube_prune_whole(n);
	if (kf->whole)
		return FPD_OK;
	if (fi->map) {
		kf->node = n;
		return FPD_OK;
	}
	if (fi->fd->label != PROTOBUF_C_LABEL_REPEATED) {
		if (fi->fd->type != PROTOBUF_C_TYPE_MESSAGE || !fi->sub || fi->sub->sp != SP_NONE)
			return FPD_OK; /* a scalar where the pointers go deeper: nothing of it */
		return kplan_new(fi->sub, n, &kf->plan, err);
	}
	const struct fpd_kube_prune_node *every = fpd_kube_prune_child(n, "*", 1);
	int rc = every ? kelem_init(fi, every, &kf->every, err) : FPD_OK;
	long max = fpd_kube_prune_max_index(n);
	if (rc || max < 0)
		return rc;
	if (max > MAX_INDEX)
		return fpd_error_set(err, FPD_EINVAL, "protobuf: array index %ld too large", max);
	kf->max_index = max;
	kf->index = fpd_calloc((size_t)max + 1, sizeof(*kf->index));
	for (size_t i = 0; i < fpd_kube_prune_nchildren(n) && !rc; i++) {
		const struct fpd_kube_prune_node *c = fpd_kube_prune_child_at(n, i);
		const char *t = fpd_kube_prune_token(c);
		char *end;
		long idx = strtol(t, &end, 10);
		if (*t < '0' || *t > '9' || *end || idx > max || (t[0] == '0' && t[1]))
			continue;
		rc = kelem_init(fi, c, &kf->index[idx], err);
	}
	return rc;
}

/* The descriptor a message field kept in part is unpacked with; NULL when
 * nothing of it is read. */
static const ProtobufCMessageDescriptor *narrowed(const struct kfield *kf)
{
	const ProtobufCFieldDescriptor *fd = kf->fi->fd;
	if (kf->plan)
		return &kf->plan->desc;
	if (fd->label != PROTOBUF_C_LABEL_REPEATED)
		return NULL; /* a special type (a JSON scalar) where the pointers go deeper
                  */
	if (kf->index || !kf->every.set || kf->every.whole || !kf->every.plan)
		return fd->descriptor; /* elements kept differently: all of each */
	return &kf->every.plan->desc;
}

static int by_id(const void *a, const void *b)
{
	const ProtobufCFieldDescriptor *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* k->desc: m's descriptor with the fields k reads (an inline member whole). */
static void narrow(struct kplan *k)
{
	const ProtobufCMessageDescriptor *d = k->m->d;
	k->fields = fpd_calloc(k->n + 1, sizeof(*k->fields));
	unsigned n = 0;
	for (size_t i = 0; i < k->n; i++) {
		const struct kfield *kf = &k->f[i];
		const ProtobufCFieldDescriptor *fd = kf->via ? kf->via->fd : kf->fi->fd;
		bool dup = false;
		for (unsigned j = 0; j < n; j++)
			dup |= k->fields[j].id == fd->id;
		if (dup)
			continue;
		const void *sub = fd->descriptor; /* all of it */
		if (!kf->via && !kf->whole && !kf->fi->map) {
			if (fd->type == PROTOBUF_C_TYPE_MESSAGE)
				sub = narrowed(kf);
			else if (fd->label != PROTOBUF_C_LABEL_REPEATED)
				continue; /* a scalar where the pointers go deeper: not read */
			if (fd->type == PROTOBUF_C_TYPE_MESSAGE && !sub)
				continue;
		}
		k->fields[n] = *fd;
		k->fields[n].descriptor = sub;
		n++;
	}
	if (n == 0) {
		/* protobuf-c reads desc->fields[0] even when n_fields is 0 (its last-field
     * shortcut): a zeroed entry there has id 0, which a non-minimal tag (0x80
     * 0x00) matches, and its offset 0 type int32 overwrites base.descriptor
     * with the input's value. A message none of whose fields are read is
     * unpacked with its own descriptor instead. */
		k->desc = *d;
		return;
	}
	qsort(k->fields, n, sizeof(*k->fields), by_id);
	k->by_name = fpd_calloc(n + 1, sizeof(*k->by_name));
	for (unsigned i = 0; i < n; i++) { /* insertion sort: a handful of names */
		unsigned j = i;
		for (; j > 0 && strcmp(k->fields[k->by_name[j - 1]].name, k->fields[i].name) > 0;
		     j--)
			k->by_name[j] = k->by_name[j - 1];
		k->by_name[j] = i;
	}
	/* runs of consecutive field numbers, then the end (protobuf-c's lookup table)
   */
	k->ranges = fpd_calloc(n + 1, sizeof(*k->ranges));
	unsigned nr = 0;
	for (unsigned i = 0; i < n; i++) {
		if (i == 0 || k->fields[i].id != k->fields[i - 1].id + 1)
			k->ranges[nr++] = (ProtobufCIntRange){(int)k->fields[i].id, i};
	}
	k->ranges[nr] = (ProtobufCIntRange){0, n};
	k->desc = *d;
	k->desc.n_fields = n;
	k->desc.fields = k->fields;
	k->desc.fields_sorted_by_name = k->by_name;
	k->desc.n_field_ranges = nr;
	k->desc.field_ranges = k->ranges;
}

static int kplan_new(const struct mplan *m, const struct fpd_kube_prune_node *node,
                     struct kplan **out, struct fpd_error *err)
{
	struct kplan *k = fpd_calloc(1, sizeof(*k));
	size_t nkids = fpd_kube_prune_nchildren(node);
	k->m = m;
	k->f = fpd_calloc(nkids ? nkids : 1, sizeof(*k->f));
	int rc = FPD_OK;
	for (size_t i = 0; i < nkids && !rc; i++) {
		const struct fpd_kube_prune_node *c = fpd_kube_prune_child_at(node, i);
		const char *token = fpd_kube_prune_token(c);
		const struct finfo *fi, *via;
		if (!find_member(m, token, &fi, &via))
			continue; /* not in this type: JSON would not have it either */
		k->f[k->n].via = via;
		rc = kfield_init(fi, c, &k->f[k->n], err);
		k->n++;
	}
	if (rc) {
		kplan_free(k);
		return rc;
	}
	narrow(k);
	*out = k;
	return FPD_OK;
}

static const ProtobufCMessageDescriptor *kind_descriptor(const char *kind)
{
	static const struct {
		const char *kind;
		const ProtobufCMessageDescriptor *d;
	} kinds[] = {
	    {"Pod", &k8s__io__api__core__v1__pod__descriptor},
	    {"ConfigMap", &k8s__io__api__core__v1__config_map__descriptor},
	    {"Event", &k8s__io__api__core__v1__event__descriptor},
	    {"PartialObjectMetadata",
	     &k8s__io__apimachinery__pkg__apis__meta__v1__partial_object_metadata__descriptor},
	};
	for (size_t i = 0; i < FPD_ARRAY_LEN(kinds); i++)
		if (strcmp(kind, kinds[i].kind) == 0)
			return kinds[i].d;
	return NULL;
}

const char *fpd_kubepb_kind_for(const char *group, const char *version, const char *resource)
{
	if ((group && *group) || strcmp(version, "v1") != 0)
		return NULL;
	return strcmp(resource, "pods") == 0 ? "Pod" : NULL;
}

int fpd_kubepb_new(const char *kind, const struct fpd_kube_prune_node *node,
                   struct fpd_kubepb **out, struct fpd_error *err)
{
	*out = NULL;
	const ProtobufCMessageDescriptor *d = kind_descriptor(kind);
	if (!d)
		return fpd_error_set(err, FPD_EINVAL, "protobuf: no decoder for kind %s", kind);
	struct fpd_kubepb *pb = fpd_calloc(1, sizeof(*pb));
	pb->desc = d;
	pb->kind = fpd_strdup(kind);
	pb->api_version = strcmp(kind, "PartialObjectMetadata") == 0 ? "meta.k8s.io/v1" : "v1";
	fpd_map_init(&pb->plans);
	pb->root = mplan_of(pb, d);
	pb->status_plan =
	    mplan_of(pb, &k8s__io__apimachinery__pkg__apis__meta__v1__status__descriptor);
	pb->alloc = (ProtobufCAllocator){arena_alloc, arena_free, pb};
	if (node && !fpd_kube_prune_whole(node)) {
		int rc = kplan_new(pb->root, node, &pb->keep, err);
		if (rc) {
			fpd_kubepb_free(pb);
			return rc;
		}
		pb->keep->api_version = fpd_kube_prune_child(node, "apiVersion", 10) != NULL;
		pb->keep->kind = fpd_kube_prune_child(node, "kind", 4) != NULL;
	}
	*out = pb;
	return FPD_OK;
}

void fpd_kubepb_free(struct fpd_kubepb *pb)
{
	if (!pb)
		return;
	kplan_free(pb->keep);
	const char *k;
	void *v;
	for (size_t i = 0; fpd_map_next(&pb->plans, &i, &k, &v);) {
		struct mplan *m = v;
		fpd_map_free(&m->by_json);
		free(m->jm);
		free(m->f);
		free(m);
	}
	fpd_map_free(&pb->plans);
	for (struct chunk *c = pb->arena, *next; c; c = next) {
		next = c->next;
		free(c);
	}
	free(pb->kind);
	free(pb);
}

/* ---- values ---- */

/* One more JSON value: charged to the decode's budget (see JSON_VALUE_COST). */
static int charge(struct fpd_kubepb *pb, struct fpd_error *err)
{
	if (JSON_VALUE_COST > pb->arena_budget - pb->arena_used)
		return fpd_error_set(err, FPD_EINVAL,
		                     "protobuf: the object makes more JSON than its size allows");
	pb->arena_used += JSON_VALUE_COST;
	return FPD_OK;
}

static const void *at(const void *msg, unsigned offset)
{
	return (const char *)msg + offset;
}

static size_t elem_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64: return sizeof(int64_t);
	case PROTOBUF_C_TYPE_DOUBLE: return sizeof(double);
	case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE: return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
	default: return sizeof(int32_t);
	}
}

/* s (n bytes) into b with each byte that does not start a valid UTF-8 sequence as U+FFFD, as
 * Go's JSON encoder writes strings and object keys. */
static void utf8_replaced(const char *s, size_t n, struct fpd_buf *b)
{
	fpd_buf_init(b, 3 * n + 4); /* each byte at most a 3-byte U+FFFD */
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		size_t len = u[i] < 0x80 ? 1 : fpd_utf8_sequence(u + i, n - i);
		if (len) {
			fpd_buf_append(b, s + i, len);
			i += len;
		} else {
			fpd_buf_append(b, "\xef\xbf\xbd", 3);
			i++;
		}
	}
}

/* A string as JSON has it (utf8_replaced). */
static json_t *string_json(const char *s, size_t n)
{
	json_t *v = json_stringn(s, n);
	if (v)
		return v;
	struct fpd_buf b;
	utf8_replaced(s, n, &b);
	v = json_stringn(b.data ? b.data : "", b.len);
	fpd_buf_free(&b);
	return v;
}

/* Go's time.RFC3339 in UTC, with micro: RFC3339 with 6 fractional digits
 * (MicroTime). */
static json_t *time_json(int64_t seconds, int32_t nanos, bool micro)
{
	time_t t = (time_t)seconds;
	struct tm tm;
	if (!gmtime_r(&t, &tm))
		return json_null();
	char buf[64];
	size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	if (micro)
		snprintf(buf + n, sizeof(buf) - n, ".%06dZ", (nanos > 0 ? nanos : 0) / 1000);
	else
		snprintf(buf + n, sizeof(buf) - n, "Z");
	return json_string(buf);
}

static json_t *bytes_json(const ProtobufCBinaryData *b)
{
	char *text = fpd_malloc(FPD_BASE64_LEN(b->len) + 1);
	size_t n = fpd_base64_encode(b->data, b->len, 0, text);
	json_t *v = json_stringn(text, n);
	free(text);
	return v;
}

/* A scalar element at p. */
static json_t *scalar_json(ProtobufCType t, const void *p)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_ENUM: return json_integer(*(const int32_t *)p);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32: return json_integer(*(const uint32_t *)p);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64: return json_integer(*(const int64_t *)p);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64: return json_integer((json_int_t) * (const uint64_t *)p);
	case PROTOBUF_C_TYPE_FLOAT: return json_real(*(const float *)p);
	case PROTOBUF_C_TYPE_DOUBLE: return json_real(*(const double *)p);
	case PROTOBUF_C_TYPE_BOOL: return json_boolean(*(const protobuf_c_boolean *)p);
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;
		return s ? string_json(s, strlen(s)) : json_string("");
	}
	case PROTOBUF_C_TYPE_BYTES: return bytes_json(p);
	default: return NULL;
	}
}

static bool scalar_zero(ProtobufCType t, const void *p)
{
	switch (t) {
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;
		return !s || !*s;
	}
	case PROTOBUF_C_TYPE_BYTES: return ((const ProtobufCBinaryData *)p)->len == 0;
	case PROTOBUF_C_TYPE_BOOL: return !*(const protobuf_c_boolean *)p;
	case PROTOBUF_C_TYPE_FLOAT: return *(const float *)p == 0;
	case PROTOBUF_C_TYPE_DOUBLE: return *(const double *)p == 0;
	default:
		return elem_size(t) == sizeof(int64_t) ? *(const int64_t *)p == 0
		                                       : *(const int32_t *)p == 0;
	}
}

static int message_json(struct fpd_kubepb *pb, const struct mplan *m, const ProtobufCMessage *msg,
                        json_t **out, struct fpd_error *err);

static int raw_json(const ProtobufCBinaryData *raw, json_t **out, struct fpd_error *err)
{
	if (!raw->len) {
		*out = json_null();
		return FPD_OK;
	}
	json_error_t jerr;
	*out = json_loadb((const char *)raw->data, raw->len, JSON_DECODE_ANY, &jerr);
	if (!*out)
		return fpd_error_set(err, FPD_EINVAL, "protobuf: raw JSON in an object: %s",
		                     jerr.text);
	return FPD_OK;
}

/* A message of a special type as the single JSON value it is written as. */
static int special_json(struct fpd_kubepb *pb, const struct mplan *m, const ProtobufCMessage *msg,
                        json_t **out, struct fpd_error *err)
{
	switch (m->sp) {
	case SP_TIME:
	case SP_MICROTIME: {
		const K8s__Io__Apimachinery__Pkg__Apis__Meta__V1__Time *t = (const void *)msg;
		/* Time and MicroTime have the same fields; a zero time is written without
     * them */
		*out = t->has_seconds || t->has_nanos
		           ? time_json(t->seconds, t->nanos, m->sp == SP_MICROTIME)
		           : json_null();
		return FPD_OK;
	}
	case SP_QUANTITY: {
		const char *s = *(char *const *)at(msg, m->d->fields[0].offset);
		*out = json_string(s && *s ? s : "0");
		return *out ? FPD_OK : fpd_error_set(err, FPD_EINVAL, "protobuf: bad quantity");
	}
	case SP_INTORSTR: {
		const K8s__Io__Apimachinery__Pkg__Util__Intstr__IntOrString *v = (const void *)msg;
		*out = v->type == 1 ? string_json(v->strval ? v->strval : "",
		                                  v->strval ? strlen(v->strval) : 0)
		                    : json_integer(v->intval);
		return FPD_OK;
	}
	case SP_RAW: {
		/* RawExtension and FieldsV1: field 1, raw bytes */
		const ProtobufCFieldDescriptor *fd = &m->d->fields[0];
		return raw_json(at(msg, fd->offset), out, err);
	}
	default: return message_json(pb, m, msg, out, err);
	}
}

/* One element of a repeated field (or a singular field's value) at p, whole. */
static int value_json(struct fpd_kubepb *pb, const struct finfo *f, const void *p, json_t **out,
                      struct fpd_error *err)
{
	if (charge(pb, err))
		return FPD_EINVAL;
	if (f->fd->type == PROTOBUF_C_TYPE_MESSAGE) {
		const ProtobufCMessage *msg = *(const ProtobufCMessage *const *)p;
		if (!msg) {
			*out = json_null();
			return FPD_OK;
		}
		return special_json(pb, f->sub, msg, out, err);
	}
	*out = scalar_json(f->fd->type, p);
	return *out ? FPD_OK : fpd_error_set(err, FPD_EINVAL, "protobuf: field %s", f->json);
}

/* A map field's entries as an object; keep (may be NULL: all) says which keys.
 */
static int map_json(struct fpd_kubepb *pb, const struct finfo *f, const void *msg,
                    const struct fpd_kube_prune_node *keep, json_t **out, struct fpd_error *err)
{
	size_t n = *(const size_t *)at(msg, f->fd->quantifier_offset);
	ProtobufCMessage *const *entries =
	    *(ProtobufCMessage *const *const *)at(msg, f->fd->offset);
	const ProtobufCMessageDescriptor *ed = f->fd->descriptor;
	struct finfo vf = {.fd = &ed->fields[1], .json = "value", .sub = f->sub};
	json_t *obj = json_object();
	for (size_t i = 0; i < n; i++) {
		const char *key = *(char *const *)at(entries[i], ed->fields[0].offset);
		if (!key)
			key = "";
		size_t key_len = strlen(key);
		struct fpd_buf fixed = {0};
		if (!fpd_utf8_valid(key, key_len)) {
			/* The API server's validation lets none in; Go's JSON would show U+FFFD. */
			utf8_replaced(key, key_len, &fixed);
			key = fixed.data ? fixed.data : "";
			key_len = fixed.len;
		}
		if (keep) {
			const struct fpd_kube_prune_node *k = fpd_kube_prune_child(keep, key, key_len);
			if (!k || !fpd_kube_prune_whole(k)) {
				fpd_buf_free(&fixed);
				continue; /* deeper pointers into a map's value: not for these types */
			}
		}
		json_t *v;
		int rc = value_json(pb, &vf, at(entries[i], ed->fields[1].offset), &v, err);
		if (!rc && json_object_setn_new(obj, key, key_len, v))
			rc = fpd_error_set(err, FPD_EINVAL, "protobuf: map key of %s refused", f->json);
		fpd_buf_free(&fixed);
		if (rc) {
			json_decref(obj);
			return rc;
		}
	}
	*out = obj;
	return FPD_OK;
}

static int emit_fields(struct fpd_kubepb *pb, const struct mplan *m, const ProtobufCMessage *msg,
                       json_t *obj, struct fpd_error *err);

/* Field f of msg, whole, into obj under its JSON name, or nothing where the API
 * server's JSON has nothing. */
static int emit_field(struct fpd_kubepb *pb, const struct finfo *f, const ProtobufCMessage *msg,
                      json_t *obj, struct fpd_error *err)
{
	const ProtobufCFieldDescriptor *fd = f->fd;
	json_t *v = NULL;
	int rc = FPD_OK;
	if (charge(pb, err))
		return FPD_EINVAL;
	if (f->flags & FPD_KUBEPB_INLINE) {
		const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)at(msg, fd->offset);
		return sub && f->sub ? emit_fields(pb, f->sub, sub, obj, err) : FPD_OK;
	}
	if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
		size_t n = *(const size_t *)at(msg, fd->quantifier_offset);
		if (n == 0) {
			/* nil in Go: left out with omitempty, else null */
			if (!(f->flags & FPD_KUBEPB_OMITEMPTY))
				json_object_set_new(obj, f->json, json_null());
			return FPD_OK;
		}
		if (f->map) {
			rc = map_json(pb, f, msg, NULL, &v, err);
		} else {
			const char *arr = *(const char *const *)at(msg, fd->offset);
			size_t size = elem_size(fd->type);
			v = json_array();
			for (size_t i = 0; i < n && !rc; i++) {
				json_t *e;
				rc = value_json(pb, f, arr + i * size, &e, err);
				if (!rc)
					json_array_append_new(v, e);
			}
		}
	} else if (fd->type == PROTOBUF_C_TYPE_MESSAGE) {
		const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)at(msg, fd->offset);
		if (!sub)
			return FPD_OK;
		rc = special_json(pb, f->sub, sub, &v, err);
		if (!rc && json_is_null(v) && (f->flags & FPD_KUBEPB_OMITZERO)) {
			json_decref(v);
			return FPD_OK;
		}
	} else {
		const void *p = at(msg, fd->offset);
		bool has;
		if (fd->type == PROTOBUF_C_TYPE_STRING)
			has = *(char *const *)p != NULL;
		else if (fd->label == PROTOBUF_C_LABEL_OPTIONAL)
			has = *(const protobuf_c_boolean *)at(msg, fd->quantifier_offset);
		else
			has = true;
		if (!has && (f->flags & FPD_KUBEPB_POINTER))
			return FPD_OK; /* a nil pointer */
		if (!(f->flags & FPD_KUBEPB_POINTER) && (f->flags & FPD_KUBEPB_OMITEMPTY) &&
		    (!has || scalar_zero(fd->type, p)))
			return FPD_OK;
		v = has                                  ? scalar_json(fd->type, p)
		    : fd->type == PROTOBUF_C_TYPE_STRING ? json_string("")
		    : fd->type == PROTOBUF_C_TYPE_BOOL   ? json_false()
		    : fd->type == PROTOBUF_C_TYPE_BYTES  ? json_string("")
		                                         : json_integer(0);
		if (!v)
			rc = fpd_error_set(err, FPD_EINVAL, "protobuf: field %s", f->json);
	}
	if (rc) {
		json_decref(v);
		return rc;
	}
	json_object_set_new(obj, f->json, v);
	return FPD_OK;
}

static int emit_fields(struct fpd_kubepb *pb, const struct mplan *m, const ProtobufCMessage *msg,
                       json_t *obj, struct fpd_error *err)
{
	int rc = FPD_OK;
	for (size_t i = 0; i < m->n && !rc; i++)
		rc = emit_field(pb, &m->f[i], msg, obj, err);
	return rc;
}

static int message_json(struct fpd_kubepb *pb, const struct mplan *m, const ProtobufCMessage *msg,
                        json_t **out, struct fpd_error *err)
{
	json_t *obj = json_object();
	int rc = emit_fields(pb, m, msg, obj, err);
	if (rc) {
		json_decref(obj);
		return rc;
	}
	*out = obj;
	return FPD_OK;
}

static int kept_json(struct fpd_kubepb *pb, const struct kplan *k, const ProtobufCMessage *msg,
                     json_t **out, struct fpd_error *err);

/* An element of a kept-in-part array. *out NULL: a message element kept in part
 * that is NULL. */
static int kept_elem(struct fpd_kubepb *pb, const struct kfield *kf, const struct kelem *e,
                     const void *p, json_t **out, struct fpd_error *err)
{
	if (e->whole)
		return value_json(pb, kf->fi, p, out, err);
	if (e->plan) {
		const ProtobufCMessage *msg = *(const ProtobufCMessage *const *)p;
		if (msg)
			return kept_json(pb, e->plan, msg, out, err);
	}
	*out = json_null(); /* a scalar where the pointers go deeper */
	return FPD_OK;
}

static int kept_array(struct fpd_kubepb *pb, const struct kfield *kf, const ProtobufCMessage *msg,
                      json_t **out, struct fpd_error *err)
{
	const ProtobufCFieldDescriptor *fd = kf->fi->fd;
	size_t n = *(const size_t *)at(msg, fd->quantifier_offset);
	const char *arr = *(const char *const *)at(msg, fd->offset);
	size_t size = elem_size(fd->type);
	json_t *v = json_array();
	int rc = FPD_OK;
	for (size_t i = 0; i < n && !rc; i++) {
		const struct kelem *e = kf->every.set ? &kf->every
		                        : (long)i <= kf->max_index && kf->index[i].set
		                            ? &kf->index[i]
		                            : NULL;
		json_t *ev = NULL;
		if (e)
			rc = kept_elem(pb, kf, e, arr + i * size, &ev, err);
		else if ((long)i < kf->max_index)
			ev = json_null(); /* positions up to the last kept index */
		else
			continue;
		if (!rc)
			json_array_append_new(v, ev);
	}
	if (rc) {
		json_decref(v);
		return rc;
	}
	*out = v;
	return FPD_OK;
}

/* Member kf of msg, kept in part, into obj. */
static int kept_member(struct fpd_kubepb *pb, const struct kfield *kf, const ProtobufCMessage *msg,
                       json_t *obj, struct fpd_error *err)
{
	const struct finfo *fi = kf->fi;
	const ProtobufCFieldDescriptor *fd = fi->fd;
	json_t *v = NULL;
	int rc = FPD_OK;
	if (kf->whole)
		return emit_field(pb, fi, msg, obj, err);
	if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
		/* empty: left out, or null, which has nothing deeper */
		if (*(const size_t *)at(msg, fd->quantifier_offset) == 0)
			return FPD_OK;
		rc = fi->map ? map_json(pb, fi, msg, kf->node, &v, err)
		             : kept_array(pb, kf, msg, &v, err);
	} else if (kf->plan) {
		const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)at(msg, fd->offset);
		if (!sub)
			return FPD_OK;
		rc = kept_json(pb, kf->plan, sub, &v, err);
	} else {
		return FPD_OK; /* a scalar (in JSON) where the pointers go deeper */
	}
	if (rc)
		return rc;
	json_object_set_new(obj, fi->json, v);
	return FPD_OK;
}

static int kept_json(struct fpd_kubepb *pb, const struct kplan *k, const ProtobufCMessage *msg,
                     json_t **out, struct fpd_error *err)
{
	if (charge(pb, err))
		return FPD_EINVAL;
	json_t *obj = json_object();
	int rc = FPD_OK;
	for (size_t i = 0; i < k->n && !rc; i++) {
		const struct kfield *kf = &k->f[i];
		const ProtobufCMessage *src = msg;
		if (kf->via) {
			src = *(const ProtobufCMessage *const *)at(msg, kf->via->fd->offset);
			if (!src)
				continue;
		}
		rc = kept_member(pb, kf, src, obj, err);
	}
	if (rc) {
		json_decref(obj);
		return rc;
	}
	*out = obj;
	return FPD_OK;
}

/* ---- objects ---- */

static int unpack(struct fpd_kubepb *pb, const ProtobufCMessageDescriptor *d, const void *data,
                  size_t len, ProtobufCMessage **out, struct fpd_error *err)
{
	*out = protobuf_c_message_unpack(d, &pb->alloc, len, data);
	if (!*out && pb->arena_over)
		return fpd_error_set(
		    err, FPD_EINVAL,
		    "protobuf: a %s message of %zu bytes unpacks into more than its "
		    "budget of %zu bytes",
		    d->short_name, len, pb->arena_budget);
	if (!*out)
		return fpd_error_set(err, FPD_EINVAL,
		                     "protobuf: not a valid %s message (%zu bytes)", d->short_name,
		                     len);
	return FPD_OK;
}

/* The object message msg of the decoder's kind, pruned. */
static int object_json(struct fpd_kubepb *pb, const ProtobufCMessage *msg, json_t **out,
                       struct fpd_error *err)
{
	return pb->keep ? kept_json(pb, pb->keep, msg, out, err)
	                : message_json(pb, pb->root, msg, out, err);
}

static int item(struct fpd_kubepb *pb, const void *data, size_t len, json_t **out,
                struct fpd_error *err)
{
	ProtobufCMessage *msg;
	int rc = unpack(pb, pb->keep ? &pb->keep->desc : pb->desc, data, len, &msg, err);
	if (!rc)
		rc = object_json(pb, msg, out, err);
	return rc;
}

int fpd_kubepb_item(struct fpd_kubepb *pb, const void *data, size_t len, json_t **out,
                    struct fpd_error *err)
{
	*out = NULL;
	arena_budget(pb, len);
	int rc = item(pb, data, len, out, err);
	arena_reset(pb);
	return rc;
}

enum want { WANT_OBJECT, WANT_EITHER, WANT_STATUS };

/* An enveloped object: of the decoder's kind, a Status, or either. */
static int envelope(struct fpd_kubepb *pb, const void *data, size_t len, enum want want,
                    json_t **out, struct fpd_error *err)
{
	if (!fpd_kubepb_enveloped(data, len))
		return fpd_error_set(err, FPD_EINVAL,
		                     "protobuf: an object does not start with the k8s magic");
	ProtobufCMessage *m;
	int rc =
	    unpack(pb, &k8s__io__apimachinery__pkg__runtime__unknown__descriptor,
	           (const char *)data + FPD_KUBEPB_MAGIC_LEN, len - FPD_KUBEPB_MAGIC_LEN, &m, err);
	if (rc)
		return rc;
	const K8s__Io__Apimachinery__Pkg__Runtime__Unknown *u = (const void *)m;
	const char *kind = u->typemeta && u->typemeta->kind ? u->typemeta->kind : "";
	const char *api = u->typemeta && u->typemeta->apiversion ? u->typemeta->apiversion : "";
	if (u->contentencoding && *u->contentencoding)
		return fpd_error_set(err, FPD_EINVAL,
		                     "protobuf: content encoding %s is not supported",
		                     u->contentencoding);
	bool is_status = want != WANT_OBJECT && strcmp(kind, "Status") == 0;
	if (!is_status && (want == WANT_STATUS || strcmp(kind, pb->kind) != 0))
		return fpd_error_set(err, FPD_EINVAL, "protobuf: expected a %s, got kind \"%.64s\"",
		                     want == WANT_STATUS ? "Status" : pb->kind, kind);
	const ProtobufCMessageDescriptor *d =
	    is_status  ? &k8s__io__apimachinery__pkg__apis__meta__v1__status__descriptor
	    : pb->keep ? &pb->keep->desc
	               : pb->desc;
	ProtobufCMessage *obj;
	if ((rc = unpack(pb, d, u->raw.data, u->raw.len, &obj, err)))
		return rc;
	rc = is_status ? message_json(pb, pb->status_plan, obj, out, err)
	               : object_json(pb, obj, out, err);
	if (rc)
		return rc;
	if (is_status || !pb->keep || pb->keep->kind)
		json_object_set_new(*out, "kind", json_string(kind));
	if ((is_status || !pb->keep || pb->keep->api_version) && *api)
		json_object_set_new(*out, "apiVersion", string_json(api, strlen(api)));
	return FPD_OK;
}

int fpd_kubepb_object(struct fpd_kubepb *pb, const void *data, size_t len, json_t **out,
                      struct fpd_error *err)
{
	*out = NULL;
	arena_budget(pb, len);
	int rc = envelope(pb, data, len, WANT_OBJECT, out, err);
	arena_reset(pb);
	return rc;
}

int fpd_kubepb_status(struct fpd_kubepb *pb, const void *data, size_t len, json_t **out,
                      struct fpd_error *err)
{
	*out = NULL;
	arena_budget(pb, len);
	int rc = envelope(pb, data, len, WANT_STATUS, out, err);
	arena_reset(pb);
	return rc;
}

static int event(struct fpd_kubepb *pb, const void *data, size_t len, json_t **out,
                 struct fpd_error *err)
{
	ProtobufCMessage *m;
	int rc = unpack(pb, &k8s__io__apimachinery__pkg__apis__meta__v1__watch_event__descriptor,
	                data, len, &m, err);
	if (rc)
		return rc;
	const K8s__Io__Apimachinery__Pkg__Apis__Meta__V1__WatchEvent *ev = (const void *)m;
	if (!ev->type || !*ev->type || !ev->object || !ev->object->has_raw)
		return fpd_error_set(err, FPD_EINVAL, "protobuf: a watch event without %s",
		                     !ev->type || !*ev->type ? "a type" : "an object");
	json_t *obj = NULL;
	if ((rc = envelope(pb, ev->object->raw.data, ev->object->raw.len,
	                   strcmp(ev->type, "ERROR") == 0 ? WANT_EITHER : WANT_OBJECT, &obj, err)))
		return rc;
	*out = json_object();
	json_object_set_new(*out, "type", string_json(ev->type, strlen(ev->type)));
	json_object_set_new(*out, "object", obj);
	return FPD_OK;
}

int fpd_kubepb_event(struct fpd_kubepb *pb, const void *data, size_t len, json_t **out,
                     struct fpd_error *err)
{
	*out = NULL;
	arena_budget(pb, len);
	int rc = event(pb, data, len, out, err);
	arena_reset(pb);
	return rc;
}

/* ---- encoding: an object's JSON into protobuf ----
 *
 * The walk goes over the JSON members and finds each one's field through the plan's JSON
 * names: the reverse of message_json. Where the two encodings would not give the API server the
 * same Go object it refuses (the caller sends the JSON): a member the type does not have, a
 * value of another JSON type, an integer out of the field's range, a time or raw JSON, an
 * empty array or object JSON would write back as such, a string with a NUL. */

#define ENC_MAX_DEPTH 64 /* message nesting; core/v1 types nest a dozen deep */

enum { WT_VARINT = 0, WT_LEN = 2 };

/* Each plan's JSON members: the fields of the plan that have a JSON form, and those of its
 * inline members; a field of the message itself wins a name both have, as in find_member. */
static void index_plans(struct fpd_kubepb *pb)
{
	const char *k;
	void *v;
	for (size_t i = 0; fpd_map_next(&pb->plans, &i, &k, &v);) {
		struct mplan *m = v;
		size_t n = 0;
		for (size_t j = 0; j < m->n; j++)
			n += (m->f[j].flags & FPD_KUBEPB_INLINE) && m->f[j].sub ? m->f[j].sub->n : 1;
		m->jm = fpd_calloc(n ? n : 1, sizeof(*m->jm));
		size_t used = 0;
		for (size_t j = 0; j < m->n; j++) {
			const struct finfo *f = &m->f[j];
			if (!(f->flags & FPD_KUBEPB_INLINE) || !f->sub || f->sub->sp != SP_NONE)
				continue;
			for (size_t x = 0; x < f->sub->n; x++) {
				const struct finfo *sf = &f->sub->f[x];
				if (!sf->has_json || (sf->flags & FPD_KUBEPB_INLINE) || !*sf->json)
					continue;
				m->jm[used] = (struct jmember){sf, f};
				fpd_map_put(&m->by_json, sf->json, &m->jm[used++]);
			}
		}
		for (size_t j = 0; j < m->n; j++) {
			const struct finfo *f = &m->f[j];
			if (!f->has_json || (f->flags & FPD_KUBEPB_INLINE) || !*f->json)
				continue;
			m->jm[used] = (struct jmember){f, NULL};
			fpd_map_put(&m->by_json, f->json, &m->jm[used++]);
		}
	}
	pb->indexed = true;
}

static size_t varint_put(unsigned char *p, uint64_t v)
{
	size_t n = 0;
	do {
		p[n++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	return n;
}

/* The bytes are written into a buffer of the encoder's own, grown in doublings and checked once
 * per primitive (a pod is some 200 of them), then handed to the caller's. */
struct enc {
	unsigned char *p; /* cap + 1 bytes (the caller's buffer keeps a NUL after the data) */
	size_t len, cap, max;
	struct fpd_error *err;
	int depth;
};

static int enc_full(struct enc *en)
{
	return fpd_error_set(en->err, FPD_ERANGE, "protobuf: the object is over %zu bytes",
	                     en->max);
}

static bool grow(struct enc *en, size_t n)
{
	if (n > en->max - en->len)
		return false;
	size_t cap = en->cap ? en->cap : 4096;
	while (cap - en->len < n)
		cap = cap > SIZE_MAX / 4 ? en->max : cap * 2;
	if (cap > en->max)
		cap = en->max;
	en->p = fpd_realloc(en->p, cap + 1);
	en->cap = cap;
	return true;
}

static inline bool room(struct enc *en, size_t n)
{
	return n <= en->cap - en->len || grow(en, n);
}

static inline size_t varint_len(uint64_t v)
{
	size_t n = 1;
	while (v > 0x7f) {
		v >>= 7;
		n++;
	}
	return n;
}

static int put_varint(struct enc *en, uint64_t v)
{
	if (!room(en, varint_len(v)))
		return enc_full(en);
	en->len += varint_put(en->p + en->len, v);
	return FPD_OK;
}

static int put_tag(struct enc *en, uint32_t id, int wt)
{
	return put_varint(en, (uint64_t)id << 3 | (uint64_t)wt);
}

static int put_bytes(struct enc *en, uint32_t id, const void *p, size_t n)
{
	uint64_t tag = (uint64_t)id << 3 | WT_LEN;
	size_t tl = varint_len(tag), nl = varint_len(n);
	if (n > SIZE_MAX - tl - nl || !room(en, tl + nl + n))
		return enc_full(en);
	en->len += varint_put(en->p + en->len, tag);
	en->len += varint_put(en->p + en->len, n);
	if (n)
		memcpy(en->p + en->len, p, n);
	en->len += n;
	return FPD_OK;
}

static int put_int(struct enc *en, uint32_t id, int64_t v)
{
	/* a negative int32 as its int64 (ten bytes), as protobuf writes it */
	return put_tag(en, id, WT_VARINT) || put_varint(en, (uint64_t)v) ? FPD_ERANGE : FPD_OK;
}

/* A length-delimited field whose bytes are written next: its tag now, *mark where they
 * start; sub_close puts their length before them. */
static int sub_open(struct enc *en, uint32_t id, size_t *mark)
{
	*mark = en->len;
	if (++en->depth > ENC_MAX_DEPTH)
		return fpd_error_set(en->err, FPD_EINVAL,
		                     "protobuf: the object nests more than %d messages deep",
		                     ENC_MAX_DEPTH);
	int rc = put_tag(en, id, WT_LEN);
	*mark = en->len;
	return rc;
}

static int sub_close(struct enc *en, size_t mark)
{
	en->depth--;
	size_t n = en->len - mark, k = varint_len(n);
	if (!room(en, k))
		return enc_full(en);
	memmove(en->p + mark + k, en->p + mark, n);
	varint_put(en->p + mark, n);
	en->len += k;
	return FPD_OK;
}

static int refuse(struct enc *en, const char *name, const char *why)
{
	return fpd_error_set(en->err, FPD_EINVAL, "protobuf: \"%.64s\": %s", name, why);
}

/* A string value holding a NUL. The daemon's decoder (message_json) reads protobuf-c's C
 * strings, which end at the first NUL: such a string goes as JSON, so that the object as sent
 * reads back whole (fpd_kube_decode_created). */
static bool has_nul(const json_t *v)
{
	return strlen(json_string_value(v)) != json_string_length(v);
}

static const ProtobufCFieldDescriptor *field_named(const struct mplan *m, const char *name)
{
	return protobuf_c_message_descriptor_get_field_by_name(m->d, name);
}

/* A quantity string both of the API server's decoders read alike: its JSON decoder trims
 * spaces and reads the bytes between the quotes unescaped, its protobuf decoder neither. */
static bool quantity_plain(const char *s, size_t n)
{
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      c == '.' || c == '+' || c == '-'))
			return false;
	}
	return true;
}

static int enc_message(struct enc *en, const struct mplan *m, const json_t *obj, bool root);

/* A message of a special type from the JSON scalar it is written as, as field id. */
static int enc_special(struct enc *en, const char *name, const struct mplan *sub, uint32_t id,
                       const json_t *v)
{
	size_t mark = 0;
	int rc;
	switch (sub->sp) {
	case SP_QUANTITY: {
		const ProtobufCFieldDescriptor *s = field_named(sub, "string");
		char num[32];
		const char *text;
		size_t n;
		if (json_is_integer(v)) {
			n = (size_t)snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
			                     json_integer_value(v));
			text = num;
		} else if (json_is_string(v) &&
		           quantity_plain(json_string_value(v), json_string_length(v))) {
			text = json_string_value(v);
			n = json_string_length(v);
		} else {
			return refuse(en, name, "a quantity other than an integer or a plain string");
		}
		if (!s)
			return refuse(en, name, "no quantity field");
		if ((rc = sub_open(en, id, &mark)) || (rc = put_bytes(en, s->id, text, n)))
			return rc;
		return sub_close(en, mark);
	}
	case SP_INTORSTR: {
		const ProtobufCFieldDescriptor *t = field_named(sub, "type"),
		                               *iv = field_named(sub, "intVal"),
		                               *sv = field_named(sub, "strVal");
		if (!t || !iv || !sv)
			return refuse(en, name, "no int-or-string fields");
		if (json_is_integer(v)) {
			json_int_t i = json_integer_value(v);
			if (i < INT32_MIN || i > INT32_MAX)
				return refuse(en, name, "an integer out of int32's range");
			if ((rc = sub_open(en, id, &mark)) || (rc = put_int(en, t->id, 0)) ||
			    (rc = put_int(en, iv->id, i)))
				return rc;
		} else if (json_is_string(v) && !has_nul(v)) {
			if ((rc = sub_open(en, id, &mark)) || (rc = put_int(en, t->id, 1)) ||
			    (rc = put_bytes(en, sv->id, json_string_value(v), json_string_length(v))))
				return rc;
		} else {
			return refuse(en, name, "neither an integer nor a string without a NUL");
		}
		return sub_close(en, mark);
	}
	default: return refuse(en, name, "a time or raw JSON (sent as JSON)");
	}
}

/* One value (an element of a repeated field, a map's value) of field fd as field id. */
static int enc_value(struct enc *en, const char *name, const ProtobufCFieldDescriptor *fd,
                     const struct mplan *sub, uint32_t id, const json_t *v)
{
	switch (fd->type) {
	case PROTOBUF_C_TYPE_MESSAGE: {
		if (!sub)
			return refuse(en, name, "a message of no known type");
		if (sub->sp != SP_NONE)
			return enc_special(en, name, sub, id, v);
		if (!json_is_object(v))
			return refuse(en, name, "not an object");
		size_t mark = 0;
		int rc = sub_open(en, id, &mark);
		if (!rc)
			rc = enc_message(en, sub, v, false);
		return rc ? rc : sub_close(en, mark);
	}
	case PROTOBUF_C_TYPE_STRING:
		if (!json_is_string(v))
			return refuse(en, name, "not a string");
		if (has_nul(v))
			return refuse(en, name, "a string with a NUL (sent as JSON)");
		return put_bytes(en, id, json_string_value(v), json_string_length(v));
	case PROTOBUF_C_TYPE_BOOL:
		if (!json_is_boolean(v))
			return refuse(en, name, "not a boolean");
		return put_int(en, id, json_is_true(v));
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_INT64: {
		if (!json_is_integer(v))
			return refuse(en, name, "not an integer");
		json_int_t i = json_integer_value(v);
		if (fd->type == PROTOBUF_C_TYPE_INT32 && (i < INT32_MIN || i > INT32_MAX))
			return refuse(en, name, "an integer out of int32's range");
		return put_int(en, id, i);
	}
	case PROTOBUF_C_TYPE_BYTES: {
		uint8_t *raw;
		size_t n;
		if (!json_is_string(v) ||
		    fpd_base64_decode(json_string_value(v), json_string_length(v), 0, &raw, &n))
			return refuse(en, name, "not a base64 string");
		int rc = put_bytes(en, id, raw, n);
		free(raw);
		return rc;
	}
	default: return refuse(en, name, "a field type the encoder does not write");
	}
}

/* Member f of a message, v its JSON value (not null). */
static int enc_field(struct enc *en, const char *name, const struct finfo *f, const json_t *v)
{
	const ProtobufCFieldDescriptor *fd = f->fd;
	if (fd->label != PROTOBUF_C_LABEL_REPEATED)
		return enc_value(en, name, fd, f->sub, fd->id, v);
	/* Empty: protobuf makes a nil slice or map where Go's JSON decoder makes an empty one.
	 * Where JSON leaves the member out when empty (omitempty) nothing in the API server tells
	 * the two apart (validation reads lengths, the managedFields converter and the storage
	 * encoding write neither), so it goes as none; elsewhere JSON writes [] or {} back where
	 * protobuf gives null: refused. */
	if ((f->map && json_is_object(v) && json_object_size(v) == 0) ||
	    (!f->map && json_is_array(v) && json_array_size(v) == 0))
		return f->flags & FPD_KUBEPB_OMITEMPTY
		           ? FPD_OK
		           : refuse(en, name, "empty where JSON has an empty, not a nil, value");
	int rc = FPD_OK;
	if (f->map) {
		if (!json_is_object(v))
			return refuse(en, name, "not an object");
		const ProtobufCMessageDescriptor *ed = fd->descriptor;
		const char *key;
		size_t key_len;
		json_t *value;
		json_object_keylen_foreach((json_t *)v, key, key_len, value)
		{
			size_t mark = 0;
			if (json_is_null(value))
				return refuse(en, name, "a null value in a map");
			if (strlen(key) != key_len)
				return refuse(en, name, "a map key with a NUL (sent as JSON)");
			if ((rc = sub_open(en, fd->id, &mark)) ||
			    (rc = put_bytes(en, ed->fields[0].id, key, key_len)) ||
			    (rc = enc_value(en, name, &ed->fields[1], f->sub, ed->fields[1].id,
			                    value)) ||
			    (rc = sub_close(en, mark)))
				return rc;
		}
		return FPD_OK;
	}
	if (!json_is_array(v))
		return refuse(en, name, "not an array");
	size_t i;
	json_t *e;
	json_array_foreach(v, i, e)
	{
		if (json_is_null(e))
			return refuse(en, name, "a null element");
		if ((rc = enc_value(en, name, fd, f->sub, fd->id, e)))
			return rc;
	}
	return FPD_OK;
}

/* The members of obj (an m) whose field is a member of m's inline field via, or of m itself
 * (via NULL: this pass refuses a member m does not have). */
static int enc_members(struct enc *en, const struct mplan *m, const json_t *obj, bool root,
                       const struct finfo *via)
{
	const char *key;
	size_t key_len;
	json_t *v;
	json_object_keylen_foreach((json_t *)obj, key, key_len, v)
	{
		bool plain = strlen(key) == key_len; /* else a NUL in it: no field's name */
		if (plain && root && (strcmp(key, "apiVersion") == 0 || strcmp(key, "kind") == 0))
			continue; /* the envelope's */
		const struct jmember *j = plain ? fpd_map_get(&m->by_json, key) : NULL;
		if (!j) {
			/* JSON drops a member its type does not have; protobuf cannot carry it */
			return fpd_error_set(en->err, FPD_EINVAL,
			                     "protobuf: \"%.64s\" is not a member of %s", key,
			                     m->d->short_name);
		}
		if (j->via != via || json_is_null(v))
			continue; /* null: the zero value, as when left out */
		int rc = enc_field(en, key, j->fi, v);
		if (rc)
			return rc;
	}
	return FPD_OK;
}

static int enc_message(struct enc *en, const struct mplan *m, const json_t *obj, bool root)
{
	int rc = enc_members(en, m, obj, root, NULL);
	for (size_t i = 0; i < m->n && !rc; i++) {
		const struct finfo *f = &m->f[i];
		if (!(f->flags & FPD_KUBEPB_INLINE) || !f->sub || f->sub->sp != SP_NONE)
			continue;
		size_t tag_at = en->len, mark = 0;
		if ((rc = sub_open(en, f->fd->id, &mark)) ||
		    (rc = enc_members(en, m, obj, root, f)))
			break;
		if (en->len == mark) {
			en->depth--;
			en->len = tag_at; /* none of its members: no message */
		} else {
			rc = sub_close(en, mark);
		}
	}
	return rc;
}

int fpd_kubepb_encode(struct fpd_kubepb *pb, const json_t *obj, struct fpd_buf *out,
                      struct fpd_error *err)
{
	const char *api = json_string_value(json_object_get(obj, "apiVersion"));
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	if (!json_is_object(obj) || !api || !kind || strcmp(kind, pb->kind) != 0 ||
	    strcmp(api, pb->api_version) != 0 ||
	    json_string_length(json_object_get(obj, "kind")) != strlen(kind) ||
	    json_string_length(json_object_get(obj, "apiVersion")) != strlen(api))
		return fpd_error_set(err, FPD_EINVAL, "protobuf: not an object of kind %s/%s",
		                     pb->api_version, pb->kind);
	if (!pb->indexed)
		index_plans(pb);
	struct enc en = {.max = out->max - out->len, .err = err};
	size_t mark = 0, tmark = 0;
	int rc;
	if ((rc = room(&en, FPD_KUBEPB_MAGIC_LEN) ? FPD_OK : enc_full(&en)) == FPD_OK) {
		memcpy(en.p, FPD_KUBEPB_MAGIC, FPD_KUBEPB_MAGIC_LEN);
		en.len = FPD_KUBEPB_MAGIC_LEN;
	}
	if (rc || (rc = sub_open(&en, 1, &tmark)) || (rc = put_bytes(&en, 1, api, strlen(api))) ||
	    (rc = put_bytes(&en, 2, kind, strlen(kind))) || (rc = sub_close(&en, tmark)) ||
	    (rc = sub_open(&en, 2, &mark)) || (rc = enc_message(&en, pb->root, obj, true)) ||
	    (rc = sub_close(&en, mark)) || (rc = put_bytes(&en, 3, "", 0)) ||
	    (rc = put_bytes(&en, 4, "", 0))) {
		free(en.p);
		return rc;
	}
	if (out->len == 0) { /* the buffer itself, without a copy */
		free(out->data);
		out->data = (char *)en.p;
		out->data[en.len] = '\0';
		out->len = en.len;
		out->cap = en.cap + 1;
		return FPD_OK;
	}
	rc = fpd_buf_append(out, en.p, en.len) ? enc_full(&en) : FPD_OK;
	free(en.p);
	return rc;
}

/* ---- streams ---- */

/* A varint at p (at most end); 0 when more bytes are needed, -1 when malformed,
 * else its length. */
static int varint(const unsigned char *p, const unsigned char *end, uint64_t *v)
{
	*v = 0;
	for (int i = 0; i < 10; i++) {
		if (p + i >= end)
			return 0;
		*v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80))
			return i + 1;
	}
	return -1;
}

enum { L_MAGIC, L_ENVELOPE, L_LIST, L_COLLECT, L_SKIP };
enum { F_ITEM, F_META, F_TYPE, F_ENCODING };

void fpd_kubepb_list_init(struct fpd_kubepb_list *l, size_t max_item)
{
	memset(l, 0, sizeof(*l));
	fpd_buf_init(&l->in, max_item + 64);
	fpd_buf_init(&l->meta, META_MAX);
	fpd_buf_init(&l->type, META_MAX);
	l->max_item = max_item;
}

void fpd_kubepb_list_free(struct fpd_kubepb_list *l)
{
	fpd_buf_free(&l->in);
	fpd_buf_free(&l->meta);
	fpd_buf_free(&l->type);
}

static int list_bad(struct fpd_error *err, const char *what)
{
	return fpd_error_set(err, FPD_EINVAL, "protobuf list: %s", what);
}

/* One step on the buffered bytes p..end: *used is what it consumed; 0 consumed
 * with FPD_OK means more bytes are needed. */
static int list_step(struct fpd_kubepb_list *l, const unsigned char *p, const unsigned char *end,
                     size_t *used, fpd_kubepb_piece_fn fn, void *ud, struct fpd_error *err)
{
	*used = 0;
	size_t avail = (size_t)(end - p);
	switch (l->state) {
	case L_MAGIC:
		if (avail < FPD_KUBEPB_MAGIC_LEN)
			return FPD_OK;
		if (!fpd_kubepb_enveloped(p, avail))
			return list_bad(err, "the body does not start with the k8s magic");
		l->state = L_ENVELOPE;
		*used = FPD_KUBEPB_MAGIC_LEN;
		return FPD_OK;
	case L_ENVELOPE:
	case L_LIST: {
		uint64_t tag, len = 0;
		int a = varint(p, end, &tag), b = 0;
		if (a < 0)
			return list_bad(err, "malformed tag");
		if (a == 0)
			return FPD_OK;
		unsigned wire = tag & 7;
		uint64_t field = tag >> 3;
		if (wire == 0) { /* a varint field: skipped */
			b = varint(p + a, end, &len);
			len = 0;
		} else if (wire == 2) {
			b = varint(p + a, end, &len);
		} else {
			return list_bad(err, "unexpected wire type");
		}
		if (b < 0)
			return list_bad(err, "malformed length");
		if (b == 0)
			return FPD_OK;
		size_t head = (size_t)(a + b);
		if (l->state == L_LIST) {
			/* len is the input's, up to 2^64 - 1: compare without adding to it */
			if (head > l->list_left || (wire == 2 && len > l->list_left - head))
				return list_bad(err, "a field runs past the end of the list");
			l->list_left -= head + (wire == 2 ? len : 0);
		}
		*used = head;
		if (wire == 0)
			return FPD_OK;
		l->ret = l->state;
		if (l->state == L_ENVELOPE && field == 2) {
			if (l->raw_seen)
				return list_bad(err, "two lists in one body");
			l->raw_seen = true;
			l->list_left = len;
			l->state = L_LIST;
			return FPD_OK;
		}
		struct fpd_buf *into = NULL;
		if (l->state == L_ENVELOPE && field == 1) {
			l->field = F_TYPE;
			into = &l->type;
		} else if (l->state == L_ENVELOPE && field == 3 && len) {
			l->bad_encoding = true;
		} else if (l->state == L_LIST && field == 2) {
			if (len > l->max_item)
				return fpd_error_set(err, FPD_ERANGE,
				                     "protobuf list: an item of %" PRIu64
				                     " bytes is larger than %zu",
				                     len, l->max_item);
			l->field = F_ITEM;
			into = &l->in;
		} else if (l->state == L_LIST && field == 1) {
			l->field = F_META;
			into = &l->meta;
		}
		if (!into) {
			l->skip_left = len;
			l->state = L_SKIP;
			return FPD_OK;
		}
		if (into != &l->in) {
			fpd_buf_reset(into);
			if (len > into->max)
				return list_bad(err, "list metadata too large");
		}
		l->field_left = len;
		l->state = L_COLLECT;
		return FPD_OK;
	}
	case L_SKIP: {
		size_t n = avail < l->skip_left ? avail : (size_t)l->skip_left;
		l->skip_left -= n;
		*used = n;
		if (!l->skip_left)
			l->state = l->ret;
		return FPD_OK;
	}
	case L_COLLECT: {
		if (l->field == F_ITEM) {
			/* the item is read in place once all of it is buffered */
			if (avail < l->field_left)
				return FPD_OK;
			int rc = fn(ud, (const char *)p, (size_t)l->field_left);
			*used = (size_t)l->field_left;
			l->count++;
			l->state = l->ret;
			return rc;
		}
		struct fpd_buf *into = l->field == F_META ? &l->meta : &l->type;
		size_t n = avail < l->field_left ? avail : (size_t)l->field_left;
		if (fpd_buf_append(into, p, n))
			return list_bad(err, "list metadata too large");
		l->field_left -= n;
		*used = n;
		if (!l->field_left)
			l->state = l->ret;
		return FPD_OK;
	}
	}
	return list_bad(err, "bad state");
}

int fpd_kubepb_list_feed(struct fpd_kubepb_list *l, const char *data, size_t len,
                         fpd_kubepb_piece_fn fn, void *ud, struct fpd_error *err)
{
	/* Work on the caller's bytes where nothing is pending; buffer only a
   * remainder. */
	const unsigned char *p, *end;
	bool buffered = l->in.len > 0;
	if (buffered) {
		if (fpd_buf_append(&l->in, data, len)) {
			/* more than one item and its header: take what fits, as the item's bound
       */
			size_t room = l->in.max - l->in.len;
			if (fpd_buf_append(&l->in, data, room))
				return list_bad(err, "buffer");
			int rc = fpd_kubepb_list_feed(l, NULL, 0, fn, ud, err);
			return rc ? rc
			          : fpd_kubepb_list_feed(l, data + room, len - room, fn, ud, err);
		}
		p = (const unsigned char *)l->in.data;
		end = p + l->in.len;
	} else {
		p = (const unsigned char *)data;
		end = p + len;
	}
	for (;;) {
		size_t used;
		int state = l->state;
		int rc = list_step(l, p, end, &used, fn, ud, err);
		if (rc)
			return rc;
		if (!used && l->state == state)
			break; /* more bytes needed (an empty field moves on without any) */
		p += used;
		if (l->state == L_LIST && !l->list_left)
			l->state = L_ENVELOPE;
	}
	size_t rest = (size_t)(end - p);
	if (buffered) {
		fpd_buf_consume(&l->in, l->in.len - rest);
		return FPD_OK;
	}
	if (rest && fpd_buf_append(&l->in, p, rest))
		return list_bad(err, "buffer");
	return FPD_OK;
}

int fpd_kubepb_list_finish(struct fpd_kubepb_list *l, const char *list_kind, json_t **doc,
                           struct fpd_error *err)
{
	*doc = NULL;
	if (l->state != L_ENVELOPE || l->in.len || !l->raw_seen)
		return list_bad(err, "the body ended early");
	if (l->bad_encoding)
		return list_bad(err, "a content encoding is not supported");
	ProtobufCAllocator *a = NULL;
	K8s__Io__Apimachinery__Pkg__Runtime__TypeMeta *tm =
	    k8s__io__apimachinery__pkg__runtime__type_meta__unpack(
	        a, l->type.len, (const uint8_t *)(l->type.data ? l->type.data : ""));
	const char *kind = tm && tm->kind ? tm->kind : "";
	int rc = strcmp(kind, list_kind) == 0
	             ? FPD_OK
	             : fpd_error_set(err, FPD_EINVAL, "protobuf list: expected a %s, got \"%.64s\"",
	                             list_kind, kind);
	if (tm)
		k8s__io__apimachinery__pkg__runtime__type_meta__free_unpacked(tm, a);
	if (rc)
		return rc;
	K8s__Io__Apimachinery__Pkg__Apis__Meta__V1__ListMeta *lm =
	    k8s__io__apimachinery__pkg__apis__meta__v1__list_meta__unpack(
	        a, l->meta.len, (const uint8_t *)(l->meta.data ? l->meta.data : ""));
	if (!lm)
		return list_bad(err, "invalid list metadata");
	json_t *meta = json_object();
	if (lm->resourceversion && *lm->resourceversion)
		json_object_set_new(meta, "resourceVersion",
		                    string_json(lm->resourceversion, strlen(lm->resourceversion)));
	if (lm->continue_ && *lm->continue_)
		json_object_set_new(meta, "continue",
		                    string_json(lm->continue_, strlen(lm->continue_)));
	k8s__io__apimachinery__pkg__apis__meta__v1__list_meta__free_unpacked(lm, a);
	*doc = json_pack("{s:o}", "metadata", meta);
	return FPD_OK;
}

void fpd_kubepb_frames_init(struct fpd_kubepb_frames *f, size_t max_frame)
{
	fpd_buf_init(&f->in, max_frame + 4);
	f->max_frame = max_frame;
}

void fpd_kubepb_frames_free(struct fpd_kubepb_frames *f)
{
	fpd_buf_free(&f->in);
}

bool fpd_kubepb_frames_pending(const struct fpd_kubepb_frames *f)
{
	return f->in.len > 0;
}

/* Frames complete in p..end, delivered; *used what they took. */
static int frames_run(struct fpd_kubepb_frames *f, const unsigned char *p, size_t n, size_t *used,
                      fpd_kubepb_piece_fn fn, void *ud, struct fpd_error *err)
{
	size_t off = 0;
	*used = 0;
	while (n - off >= 4) {
		uint32_t len = (uint32_t)p[off] << 24 | (uint32_t)p[off + 1] << 16 |
		               (uint32_t)p[off + 2] << 8 | p[off + 3];
		if (len > f->max_frame)
			return fpd_error_set(err, FPD_ERANGE,
			                     "protobuf watch: a frame of %" PRIu32
			                     " bytes is larger than %zu",
			                     len, f->max_frame);
		if (n - off - 4 < len)
			break;
		int rc = fn(ud, (const char *)p + off + 4, len);
		off += 4 + (size_t)len;
		*used = off;
		if (rc)
			return rc;
	}
	return FPD_OK;
}

int fpd_kubepb_frames_feed(struct fpd_kubepb_frames *f, const char *data, size_t len,
                           fpd_kubepb_piece_fn fn, void *ud, struct fpd_error *err)
{
	size_t used;
	int rc;
	while (f->in.len) {
		/* complete the pending frame first, a bounded piece at a time */
		size_t need = 4;
		if (f->in.len >= 4) {
			const unsigned char *h = (const unsigned char *)f->in.data;
			uint32_t flen = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 |
			                (uint32_t)h[2] << 8 | h[3];
			need = 4 + (size_t)flen;
		}
		size_t take = need - f->in.len;
		if (take > len)
			take = len;
		if (fpd_buf_append(&f->in, data, take))
			return fpd_error_set(err, FPD_ERANGE, "protobuf watch: frame too large");
		data += take;
		len -= take;
		rc =
		    frames_run(f, (const unsigned char *)f->in.data, f->in.len, &used, fn, ud, err);
		if (rc)
			return rc;
		if (used) {
			fpd_buf_consume(&f->in, used);
		} else if (!len) {
			return FPD_OK;
		}
	}
	rc = frames_run(f, (const unsigned char *)data, len, &used, fn, ud, err);
	if (rc)
		return rc;
	if (len - used && fpd_buf_append(&f->in, data + used, len - used))
		return fpd_error_set(err, FPD_ERANGE, "protobuf watch: frame too large");
	return FPD_OK;
}
