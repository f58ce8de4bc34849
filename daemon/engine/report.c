/*
 * The executions the engine tracks, as JSON for the admin endpoint (/executions): a report
 * read from the execution table, changing nothing.
 *
 * Paging. The table is a hash map; a page is "the limit smallest keys after the token's key".
 * fpd_engine_page_new finds them in one pass with a max-heap of limit entries (a key larger
 * than the heap's largest is dropped at one strcmp), so a request costs O(n log limit) with
 * no table-wide sort and no index for the engine to keep up to date on each insert/removal.
 * The token names the last key shown: the next page starts strictly after it, so executions
 * created or removed between pages never make an unchanged one appear twice or be skipped.
 * It is base64url("v1\n" namespace-filter "\n" key), not signed: it only says where to start.
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
#include <stdlib.h>
#include <string.h>

#define TOKEN_VERSION "v1\n"

struct fpd_engine_page {
	char *namespace_; /* the filter, or NULL */
	char **keys;      /* sorted */
	size_t n, next;
	size_t count; /* tracked executions in the namespace */
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

/* A max-heap of keys (borrowed from the table, valid while the table does not change). */
static void sift_down(const char **h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < n && strcmp(h[l], h[m]) > 0)
			m = l;
		if (r < n && strcmp(h[r], h[m]) > 0)
			m = r;
		if (m == i)
			return;
		const char *t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static void sift_up(const char **h, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (strcmp(h[p], h[i]) >= 0)
			return;
		const char *t = h[i];
		h[i] = h[p];
		h[p] = t;
		i = p;
	}
}

struct fpd_engine_page *fpd_engine_page_new(const struct fpd_engine *e, const char *namespace_,
                                            const char *continue_token, size_t limit,
                                            struct fpd_error *err)
{
	char *after = NULL;
	if (continue_token && *continue_token &&
	    !(after = token_decode(continue_token, namespace_, err)))
		return NULL;
	if (limit == 0)
		limit = 1;
	const char **heap = NULL;
	size_t n = 0, cap = 0, count = 0;
	bool more = false;
	const char *key;
	void *v;
	for (size_t it = 0; fpd_map_next(&e->execs, &it, &key, &v);) {
		const struct execution *x = v;
		if (namespace_ && strcmp(x->namespace_, namespace_) != 0)
			continue;
		count++;
		if (after && strcmp(key, after) <= 0)
			continue;
		if (n < limit) {
			if (n == cap) {
				cap = cap ? 2 * cap : 64;
				if (cap > limit)
					cap = limit;
				heap = fpd_realloc(heap, cap * sizeof(*heap));
			}
			heap[n] = key;
			sift_up(heap, n++);
			continue;
		}
		more = true;
		if (strcmp(key, heap[0]) < 0) {
			heap[0] = key;
			sift_down(heap, n, 0);
		}
	}
	free(after);
	struct fpd_engine_page *p = fpd_calloc(1, sizeof(*p));
	p->namespace_ = namespace_ ? fpd_strdup(namespace_) : NULL;
	p->count = count;
	p->more = more;
	p->n = n;
	p->keys = fpd_calloc(n ? n : 1, sizeof(*p->keys));
	/* heapsort: the largest goes last */
	for (size_t m = n; m > 0; m--) {
		p->keys[m - 1] = fpd_strdup(heap[0]);
		heap[0] = heap[m - 1];
		sift_down(heap, m - 1, 0);
	}
	free(heap);
	fpd_buf_init(&p->out, (size_t)1 << 30);
	return p;
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
		free(p->keys[i]);
	free(p->keys);
	free(p->namespace_);
	fpd_buf_free(&p->out);
	free(p);
}
