/* gRPC wire helpers: see wire.h. */
#define _GNU_SOURCE /* mremap */
#include "grpc/wire.h"

#include <flyteplugd/error.h>
#include <flyteplugd/mem.h>

#include <string.h>
#include <sys/mman.h>

/*
 * Body buffers double up to GROW_STEP and then grow GROW_STEP at a time, never past the
 * declared length: a buffer holds at most one step more than it has received, and a message
 * ends in a buffer of its length plus the terminator (rounded to pages when mapped).
 *
 * From MAP_MIN up a body is mapped by the framer itself (mmap, grown with mremap, no copy)
 * rather than left to malloc: its cost is then exactly its pages, and freeing it returns
 * them at once. malloc would place such blocks in its heap once its dynamic mmap threshold
 * has risen, where interleaved growth of many streams leaves free chunks the budget cannot
 * see.
 */
#define GROW_STEP (256 * 1024)
#define MAP_MIN (64 * 1024)
#define PAGE ((size_t)4096)

static size_t page_round(size_t n)
{
	return (n + PAGE - 1) / PAGE * PAGE;
}

size_t fpd_grpc_alloc_footprint(size_t n)
{
	if (n == 0)
		return 0;
	/* glibc: blocks from its mmap threshold (128 KiB unless raised) are whole pages;
	 * others carry a size_t header and are 16-aligned. */
	if (n + 16 >= 128 * 1024)
		return page_round(n + 16);
	return (n + 8 + 15) / 16 * 16;
}

/* The capacity a body buffer of cap bytes grows to so that it holds need bytes, need <= limit. */
static size_t grow_cap(size_t cap, size_t need, size_t limit)
{
	if (need <= cap)
		return cap;
	if (cap < 64)
		cap = 64;
	while (cap < need)
		cap = cap < GROW_STEP ? cap * 2 : cap + GROW_STEP;
	if (cap > limit)
		cap = limit;
	return cap >= MAP_MIN ? page_round(cap) : cap;
}

static size_t body_footprint(size_t cap)
{
	return cap >= MAP_MIN ? cap : fpd_grpc_alloc_footprint(cap);
}

static void body_free(struct fpd_buf *b)
{
	if (b->cap >= MAP_MIN)
		munmap(b->data, b->cap);
	else
		free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

/* Grows b's allocation to cap bytes (from grow_cap), keeping its contents. FPD_ERR, with b
 * unchanged, when the kernel refuses the mapping (address space or vm.max_map_count): one
 * request then fails, not the daemon. */
static int body_grow(struct fpd_buf *b, size_t cap)
{
	if (cap < MAP_MIN) {
		b->data = fpd_realloc(b->data, cap);
	} else if (b->cap >= MAP_MIN) {
		void *p = mremap(b->data, b->cap, cap, MREMAP_MAYMOVE);
		if (p == MAP_FAILED)
			return FPD_ERR;
		b->data = p;
	} else {
		void *p =
		    mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return FPD_ERR;
		if (b->data)
			memcpy(p, b->data, b->len + 1);
		free(b->data);
		b->data = p;
	}
	b->cap = cap;
	return FPD_OK;
}

static const char *const code_names[] = {
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
};

const char *fpd_grpc_code_name(int code)
{
	if (code < 0 || (size_t)code >= sizeof(code_names) / sizeof(code_names[0]))
		return "UNKNOWN_CODE";
	return code_names[code];
}

size_t fpd_grpc_framer_footprint(const struct fpd_grpc_framer *f)
{
	return body_footprint(f->msg.cap);
}

size_t fpd_grpc_framer_footprint_after(const struct fpd_grpc_framer *f, const uint8_t *data,
                                       size_t len)
{
	uint8_t prefix[FPD_GRPC_PREFIX_LEN];
	size_t have = f->prefix_len;
	memcpy(prefix, f->prefix, have);
	size_t take = FPD_GRPC_PREFIX_LEN - have;
	if (take > len)
		take = len;
	memcpy(prefix + have, data, take);
	if (have + take < FPD_GRPC_PREFIX_LEN || prefix[0] > 1)
		return fpd_grpc_framer_footprint(f);
	size_t msg_len = (size_t)prefix[1] << 24 | (size_t)prefix[2] << 16 |
	                 (size_t)prefix[3] << 8 | (size_t)prefix[4];
	if (msg_len > f->msg.max)
		return fpd_grpc_framer_footprint(f);
	size_t body = f->msg.len + (len - take);
	if (body > msg_len)
		body = msg_len;
	if (body == f->msg.len) /* nothing to store: feed allocates nothing */
		return fpd_grpc_framer_footprint(f);
	return body_footprint(grow_cap(f->msg.cap, body + 1, msg_len + 1));
}

void fpd_grpc_framer_init(struct fpd_grpc_framer *f, size_t max)
{
	f->prefix_len = 0;
	f->compressed = false;
	f->msg_len = 0;
	fpd_buf_init(&f->msg, max);
}

void fpd_grpc_framer_free(struct fpd_grpc_framer *f)
{
	body_free(&f->msg);
	f->prefix_len = 0;
	f->compressed = false;
	f->msg_len = 0;
}

void fpd_grpc_framer_next(struct fpd_grpc_framer *f)
{
	fpd_buf_reset(&f->msg);
	f->prefix_len = 0;
	f->compressed = false;
	f->msg_len = 0;
}

bool fpd_grpc_framer_idle(const struct fpd_grpc_framer *f)
{
	return f->prefix_len == 0;
}

int fpd_grpc_framer_feed(struct fpd_grpc_framer *f, const uint8_t *data, size_t len, size_t *used)
{
	size_t pos = 0;
	*used = 0;
	if (f->prefix_len < FPD_GRPC_PREFIX_LEN) {
		size_t take = FPD_GRPC_PREFIX_LEN - f->prefix_len;
		if (take > len)
			take = len;
		memcpy(f->prefix + f->prefix_len, data, take);
		f->prefix_len += take;
		pos = take;
		if (f->prefix_len < FPD_GRPC_PREFIX_LEN) {
			*used = pos;
			return FPD_AGAIN;
		}
		if (f->prefix[0] > 1) {
			*used = pos;
			return FPD_EINVAL;
		}
		f->compressed = f->prefix[0] == 1;
		f->msg_len = (uint32_t)f->prefix[1] << 24 | (uint32_t)f->prefix[2] << 16 |
		             (uint32_t)f->prefix[3] << 8 | (uint32_t)f->prefix[4];
		/* Decided on the declared length, before any body byte is stored: a client cannot
		 * make us buffer a message we will refuse anyway. */
		if (f->msg_len > f->msg.max) {
			*used = pos;
			return FPD_ERANGE;
		}
	} else if (f->prefix[0] > 1) {
		return FPD_EINVAL;
	} else if (f->msg_len > f->msg.max) {
		return FPD_ERANGE;
	}
	size_t want = f->msg_len - f->msg.len;
	size_t take = len - pos < want ? len - pos : want;
	size_t cap = grow_cap(f->msg.cap, f->msg.len + take + 1, (size_t)f->msg_len + 1);
	/* Grown here, not by fpd_buf_append, which would double it. */
	if (take && cap > f->msg.cap && body_grow(&f->msg, cap)) {
		*used = pos;
		return FPD_ERR;
	}
	if (take && fpd_buf_append(&f->msg, data + pos, take))
		return FPD_ERANGE; /* unreachable: msg_len <= max was checked */
	pos += take;
	*used = pos;
	return f->msg.len == f->msg_len ? FPD_OK : FPD_AGAIN;
}

void fpd_grpc_prefix_write(uint8_t out[FPD_GRPC_PREFIX_LEN], uint32_t len)
{
	out[0] = 0;
	out[1] = (uint8_t)(len >> 24);
	out[2] = (uint8_t)(len >> 16);
	out[3] = (uint8_t)(len >> 8);
	out[4] = (uint8_t)len;
}

int fpd_grpc_timeout_parse(const char *value, size_t len, int64_t *ms)
{
	/* The spec allows at most 8 digits, which also keeps every unit below int64 overflow. */
	if (len < 2 || len > 9)
		return FPD_EINVAL;
	int64_t n = 0;
	for (size_t i = 0; i + 1 < len; i++) {
		if (value[i] < '0' || value[i] > '9')
			return FPD_EINVAL;
		n = n * 10 + (value[i] - '0');
	}
	switch (value[len - 1]) {
	case 'H': *ms = n * 3600 * 1000; break;
	case 'M': *ms = n * 60 * 1000; break;
	case 'S': *ms = n * 1000; break;
	case 'm': *ms = n; break;
	case 'u': *ms = (n + 999) / 1000; break;
	case 'n': *ms = (n + 999999) / 1000000; break;
	default: return FPD_EINVAL;
	}
	return FPD_OK;
}

size_t fpd_grpc_percent_encode(const char *msg, char *out, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;
	if (size == 0)
		return 0;
	for (const unsigned char *p = (const unsigned char *)msg; p && *p; p++) {
		bool plain = *p >= 0x20 && *p <= 0x7E && *p != '%';
		size_t need = plain ? 1 : 3;
		if (n + need >= size)
			break;
		if (plain) {
			out[n++] = (char)*p;
		} else {
			out[n++] = '%';
			out[n++] = hex[*p >> 4];
			out[n++] = hex[*p & 15];
		}
	}
	out[n] = '\0';
	return n;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t fpd_grpc_percent_decode(const char *msg, size_t len, char *out, size_t size)
{
	size_t n = 0;
	if (size == 0)
		return 0;
	for (size_t i = 0; i < len && n + 1 < size; i++) {
		int hi, lo;
		if (msg[i] == '%' && i + 2 < len && (hi = hexval(msg[i + 1])) >= 0 &&
		    (lo = hexval(msg[i + 2])) >= 0) {
			out[n++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[n++] = msg[i];
		}
	}
	out[n] = '\0';
	return n;
}

bool fpd_grpc_content_type_ok(const char *value, size_t len)
{
	static const char base[] = "application/grpc";
	size_t blen = sizeof(base) - 1;
	if (len < blen || strncmp(value, base, blen) != 0)
		return false;
	return len == blen || value[blen] == '+' || value[blen] == ';';
}
