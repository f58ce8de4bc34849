/*
 * The executions the engine tracks, as JSON for the admin endpoint (/executions): a report
 * read from the execution table, changing nothing.
 *
 * Paging. The table is a hash map; a page is "the limit smallest keys after the token's key".
 * fpd_engine_page_choose finds them in one pass with a max-heap of limit entries (a key larger
 * than the heap's largest is dropped at one strcmp), so a request costs O(n log limit) with
 * no table-wide sort and no index for the engine to keep up to date on each insert/removal.
 * The token names the last key shown: the next page starts strictly after it, so executions
 * created or removed between pages never make an unchanged one appear twice or be skipped.
 * It is base64url("v1\n" namespace-filter "\n" key), not signed: it only says where to start.
 *
 * Choosing in slices. 100,000 executions take some 4 - 12 ms to walk, too long to hold the
 * loop, so the walk is resumable: each call looks at a bounded number of slots (the cursor
 * is a slot index) and then the heap is sorted a bounded number of keys per call. The table
 * may change between calls, with the same guarantees as between pages: the heap holds copies
 * of the keys, so a key removed after it was taken is only skipped by the writer; a key added
 * lands before or after the cursor and may or may not be seen; a key removed and put back can
 * move past the cursor and be seen twice, and the sort keeps it once. A rehash (the table grew
 * or dropped its tombstones: fpd_map's rehashes changes) moves every key, so the walk starts
 * over; after FPD_ENGINE_PAGE_RESTARTS_MAX restarts the rest is chosen in one go, so a walk
 * always ends. count is what the walk saw, exact when the table did not change meanwhile.
 *
 * Writing. The page keeps copies of its keys; fpd_engine_page_read looks each one up when
 * its turn comes and formats only as many executions as fill the caller's buffer, so the
 * admin server can write a large page in small slices, one per writable socket.
 */
#include "engine/report.h"

#include <flyteplugd/buf.h>
#include "core/clock.h"
#include <flyteplugd/mem.h>
#include "engine/internal.h"

#include <flyteplugd/base64.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_VERSION "v1\n"
/* A key taken off the heap (sift_down over up to 2 log2(limit) strcmp) costs about as much
 * CPU as this many slots of the walk (bench_engine_report). */
#define FPD_ENGINE_PAGE_SORT_COST 8

struct fpd_engine_page {
	char *namespace_; /* the filter, or NULL */
	/* Choosing: a walk over the table's slots, resumed slice after slice. */
	char *after; /* the token's key, or NULL */
	size_t limit;
	char **heap; /* owned keys, a max-heap of at most limit */
	size_t heap_n, heap_cap;
	size_t iter;     /* next slot of the table */
	size_t rehashes; /* the table's when the walk (re)started */
	unsigned restarts;
	bool walking, sorting, chosen;
	/* The chosen page. */
	/* Sorted, owned: keys[first] .. keys[first + n - 1]; first is 0 once chosen. */
	char **keys;
	size_t first, n, next;
	size_t count; /* tracked executions in the namespace, as the walk saw them */
	size_t shown;
	bool more; /* executions sort after keys[n - 1] */
	enum { PAGE_HEAD, PAGE_ITEMS, PAGE_TAIL, PAGE_DONE } stage;
	struct fpd_buf out; /* formatted, not yet handed out */
};

static void set_time(json_t *o, const char *key, int64_t wall_ms)
{
	char t[64];
	if (wall_ms <= 0)
		return;
	fpd_clock_format_rfc3339(wall_ms, t, sizeof(t));
	json_object_set_new(o, key, json_string(t));
}

static json_t *execution_json(const struct execution *x)
{
	const struct fpd_task_ref *r = &x->id.ref;
	json_t *links = json_array();
	for (size_t i = 0; i < x->phase.log_count; i++)
		json_array_append_new(links, json_pack("{s:s, s:s}", "name", x->phase.logs[i].name,
		                                       "uri", x->phase.logs[i].uri));
	json_t *o = json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s?, s:s?, s:o, s:b, s:b,"
	    " s:{s:s, s:s, s:s, s:s}, s:{s:s, s:s, s:s, s:s, s:s}}",
	    "namespace", x->namespace_, "name", x->name, "uid", x->uid, "plugin", x->plugin->name,
	    "kind", x->plugin->kind ? x->plugin->kind->kind : "", "state",
	    exec_state_name(x->state), "phase", fpd_phase_name(x->phase.phase), "code",
	    x->phase.code, "message", x->phase.message, "log_links", links, "deleting", x->deleting,
	    "aborted", x->aborted, "execution", "project", r->project, "domain", r->domain, "name",
	    r->execution, "node", r->node_id, "task", "project", r->task_project, "domain",
	    r->task_domain, "name", r->task_name, "version", r->task_version, "type", r->task_type);
	if (!o) /* a string that is not UTF-8 (json_pack refuses it): say little, but say it */
		o = json_pack("{s:s, s:s}", "namespace", x->namespace_, "name", x->name);
	if (!o)
		o = json_object();
	set_time(o, "started", x->started_ms);
	set_time(o, "last_poll", x->last_poll_ms);
	set_time(o, "finished", x->finished_ms);
	return o;
}

/* --- continue tokens ------------------------------------------------------------------- */

static char *token_encode(const char *namespace_, const char *key)
{
	struct fpd_buf b;
	fpd_buf_init(&b, FPD_ENGINE_PAGE_TOKEN_MAX);
	fpd_buf_printf(&b, TOKEN_VERSION "%s\n%s", namespace_ ? namespace_ : "", key);
	char *t = fpd_malloc(FPD_BASE64_RAW_LEN(b.len) + 1);
	fpd_base64_encode(b.data, b.len, FPD_BASE64_URL | FPD_BASE64_NOPAD, t);
	fpd_buf_free(&b);
	return t;
}

/* The key a token names, a new string; NULL with err filled when it is not one of ours or
 * was made for another namespace filter. */
static char *token_decode(const char *token, const char *namespace_, struct fpd_error *err)
{
	size_t len = strlen(token), n;
	uint8_t *raw;
	if (len > FPD_ENGINE_PAGE_TOKEN_MAX ||
	    fpd_base64_decode(token, len, FPD_BASE64_URL | FPD_BASE64_NOPAD, &raw, &n)) {
		fpd_error_set(err, FPD_EINVAL,
		              "continue is not a token from /executions (not base64url)");
		return NULL;
	}
	const char *s = (const char *)raw, *ns = s + strlen(TOKEN_VERSION), *nl;
	char *key = NULL;
	if (n < strlen(TOKEN_VERSION) || memcmp(s, TOKEN_VERSION, strlen(TOKEN_VERSION)) != 0 ||
	    memchr(s, '\0', n) || !(nl = strchr(ns, '\n')) || strchr(nl + 1, '\n') ||
	    !strchr(nl + 1, '/')) {
		fpd_error_set(err, FPD_EINVAL, "continue is not a token from /executions");
	} else if ((size_t)(nl - ns) != (namespace_ ? strlen(namespace_) : 0) ||
	           (namespace_ && memcmp(ns, namespace_, strlen(namespace_)) != 0)) {
		fpd_error_set(err, FPD_EINVAL,
		              "continue token was made for another namespace filter; "
		              "repeat the namespace parameter of the first page");
	} else {
		key = fpd_strdup(nl + 1);
	}
	free(raw);
	return key;
}

/* --- choosing a page ------------------------------------------------------------------- */

/* A max-heap of owned keys: the table may change between two slices of the walk. */
static void sift_down(char **h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < n && strcmp(h[l], h[m]) > 0)
			m = l;
		if (r < n && strcmp(h[r], h[m]) > 0)
			m = r;
		if (m == i)
			return;
		char *t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static void sift_up(char **h, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (strcmp(h[p], h[i]) >= 0)
			return;
		char *t = h[i];
		h[i] = h[p];
		h[p] = t;
		i = p;
	}
}

struct fpd_engine_page *fpd_engine_page_new(const char *namespace_, const char *continue_token,
                                            size_t limit, struct fpd_error *err)
{
	char *after = NULL;
	if (continue_token && *continue_token &&
	    !(after = token_decode(continue_token, namespace_, err)))
		return NULL;
	struct fpd_engine_page *p = fpd_calloc(1, sizeof(*p));
	p->namespace_ = namespace_ ? fpd_strdup(namespace_) : NULL;
	p->after = after;
	p->limit = limit ? limit : 1;
	fpd_buf_init(&p->out, (size_t)1 << 30);
	return p;
}

/* Forgets what the walk collected: the table was rehashed, slots moved. */
static void walk_reset(struct fpd_engine_page *p)
{
	for (size_t i = 0; i < p->heap_n; i++)
		free(p->heap[i]);
	p->heap_n = 0;
	p->iter = 0;
	p->count = 0;
	p->more = false;
}

static void heap_offer(struct fpd_engine_page *p, const char *key)
{
	if (p->heap_n < p->limit) {
		if (p->heap_n == p->heap_cap) {
			p->heap_cap = p->heap_cap ? 2 * p->heap_cap : 64;
			if (p->heap_cap > p->limit)
				p->heap_cap = p->limit;
			p->heap = fpd_realloc(p->heap, p->heap_cap * sizeof(*p->heap));
		}
		p->heap[p->heap_n] = fpd_strdup(key);
		sift_up(p->heap, p->heap_n++);
		return;
	}
	p->more = true;
	if (strcmp(key, p->heap[0]) < 0) {
		free(p->heap[0]);
		p->heap[0] = fpd_strdup(key);
		sift_down(p->heap, p->heap_n, 0);
	}
}

/* The walk is over: the heap is sorted into keys, from the largest down, a few keys a call. */
static void sort_start(struct fpd_engine_page *p)
{
	p->keys = fpd_calloc(p->heap_n ? p->heap_n : 1, sizeof(*p->keys));
	p->first = p->heap_n;
	p->n = 0;
	p->sorting = true;
	free(p->after);
	p->after = NULL;
}

/* Takes at most k keys off the heap into keys[first - 1]. A key deleted and put again during
 * the walk can have been seen twice: it is kept once. */
static void sort_some(struct fpd_engine_page *p, size_t k)
{
	for (; k > 0 && p->heap_n > 0; k--) {
		char *top = p->heap[0];
		p->heap[0] = p->heap[--p->heap_n];
		sift_down(p->heap, p->heap_n, 0);
		if (p->n && strcmp(p->keys[p->first], top) == 0) {
			free(top);
			continue;
		}
		p->keys[--p->first] = top;
		p->n++;
	}
	if (p->heap_n > 0)
		return;
	memmove(p->keys, p->keys + p->first, p->n * sizeof(*p->keys));
	p->first = 0;
	free(p->heap);
	p->heap = NULL;
	p->heap_cap = 0;
	p->chosen = true;
}

/* Walks at most slots slots of e's table; FPD_OK when it reached the end. */
static int walk(struct fpd_engine_page *p, const struct fpd_engine *e, size_t slots)
{
	const struct fpd_map *m = &e->execs;
	if (!p->walking) {
		p->walking = true;
		p->rehashes = m->rehashes;
	} else if (p->rehashes != m->rehashes) {
		walk_reset(p);
		p->restarts++;
		p->rehashes = m->rehashes;
	}
	if (p->restarts >= FPD_ENGINE_PAGE_RESTARTS_MAX || slots > SIZE_MAX - p->iter)
		slots = SIZE_MAX - p->iter;
	size_t end = p->iter + slots;
	const char *key;
	void *v;
	while (fpd_map_next_before(m, &p->iter, end, &key, &v)) {
		const struct execution *x = v;
		if (p->namespace_ && strcmp(x->namespace_, p->namespace_) != 0)
			continue;
		p->count++;
		if (!p->after || strcmp(key, p->after) > 0)
			heap_offer(p, key);
	}
	return p->iter < m->cap ? FPD_AGAIN : FPD_OK;
}

int fpd_engine_page_choose(struct fpd_engine_page *p, const struct fpd_engine *e, size_t slots)
{
	if (p->chosen)
		return FPD_OK;
	if (!e) /* the engine is gone: the page is what was found */
		slots = SIZE_MAX;
	if (!p->sorting) {
		if (e && walk(p, e, slots) == FPD_AGAIN)
			return FPD_AGAIN;
		/* a table rehashed again and again under the walk: the rest in one go, so that
		 * the walk ends before the table changes again */
		if (p->restarts >= FPD_ENGINE_PAGE_RESTARTS_MAX)
			slots = SIZE_MAX;
		sort_start(p);
		if (slots != SIZE_MAX && p->heap_n > 0)
			return FPD_AGAIN;
	}
	sort_some(p, slots == SIZE_MAX ? SIZE_MAX : slots / FPD_ENGINE_PAGE_SORT_COST + 1);
	return p->chosen ? FPD_OK : FPD_AGAIN;
}

unsigned fpd_engine_page_restarts(const struct fpd_engine_page *p)
{
	return p->restarts;
}

const char *fpd_engine_page_key(const struct fpd_engine_page *p, size_t i)
{
	return p->chosen && i < p->n ? p->keys[i] : NULL;
}

size_t fpd_engine_page_size(const struct fpd_engine_page *p)
{
	return p->n;
}

/* --- writing it ------------------------------------------------------------------------ */

static void append_item(struct fpd_engine_page *p, const struct execution *x)
{
	json_t *j = execution_json(x);
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!text)
		fpd_die("out of memory writing /executions");
	if (p->shown++)
		fpd_buf_append_byte(&p->out, ',');
	fpd_buf_append_str(&p->out, text);
	free(text);
}

size_t fpd_engine_page_read(struct fpd_engine_page *p, const struct fpd_engine *e, char *buf,
                            size_t max)
{
	fpd_engine_page_choose(p, e, SIZE_MAX);
	while (p->out.len < max && p->stage != PAGE_DONE) {
		switch (p->stage) {
		case PAGE_HEAD:
			fpd_buf_printf(&p->out, "{\"count\":%zu,", p->count);
			if (p->more && p->n) {
				char *t = token_encode(p->namespace_, p->keys[p->n - 1]);
				fpd_buf_printf(&p->out, "\"continue\":\"%s\",", t);
				free(t);
			}
			fpd_buf_append_str(&p->out, "\"executions\":[");
			p->stage = PAGE_ITEMS;
			break;
		case PAGE_ITEMS:
			if (!e || p->next == p->n) {
				p->stage = PAGE_TAIL;
				break;
			}
			{
				const struct execution *x = fpd_map_get(&e->execs, p->keys[p->next++]);
				if (x)
					append_item(p, x);
			}
			break;
		case PAGE_TAIL:
			fpd_buf_printf(&p->out, "],\"shown\":%zu}", p->shown);
			p->stage = PAGE_DONE;
			break;
		case PAGE_DONE:
			break;
		}
	}
	size_t n = p->out.len < max ? p->out.len : max;
	if (n) {
		memcpy(buf, p->out.data, n);
		fpd_buf_consume(&p->out, n);
	}
	return n;
}

void fpd_engine_page_free(struct fpd_engine_page *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		free(p->keys[p->first + i]);
	free(p->keys);
	for (size_t i = 0; i < p->heap_n; i++)
		free(p->heap[i]);
	free(p->heap);
	free(p->after);
	free(p->namespace_);
	fpd_buf_free(&p->out);
	free(p);
}
