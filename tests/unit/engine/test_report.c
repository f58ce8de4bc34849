/*
 * Choosing a page of /executions (engine/report.c) in slices: a page chosen a few slots of the
 * execution table at a time is the page chosen in one go, executions added or removed between
 * slices neither break the page nor let a key that stayed be skipped, and a rehash of the table
 * between slices restarts the walk (at most FPD_ENGINE_PAGE_RESTARTS_MAX times).
 */
#include "fpd_test.h"

#include "core/map.h"
#include "engine/internal.h"
#include "engine/report.h"

#include <flyteplugd/mem.h>
#include <flyteplugd/plugin.h>

#include <stdint.h>

static const struct fpd_plugin test_plugin = {.name = "test"};

/* An engine with just an execution table: all report.c reads. */
static void engine_init(struct fpd_engine *e)
{
	memset(e, 0, sizeof(*e));
	fpd_map_init(&e->execs);
}

static void exec_free(struct execution *x)
{
	free(x->namespace_);
	free(x->name);
	free(x);
}

static void add(struct fpd_engine *e, const char *ns, const char *name)
{
	char key[256];
	snprintf(key, sizeof(key), "%s/%s", ns, name);
	struct execution *x = fpd_calloc(1, sizeof(*x));
	x->namespace_ = fpd_strdup(ns);
	x->name = fpd_strdup(name);
	x->plugin = &test_plugin;
	ck_assert_ptr_null(fpd_map_put(&e->execs, key, x));
}

static void del(struct fpd_engine *e, const char *key)
{
	struct execution *x = fpd_map_del(&e->execs, key);
	ck_assert_msg(x != NULL, "expected %s in the table", key);
	exec_free(x);
}

static void engine_free(struct fpd_engine *e)
{
	const char *k;
	void *v;
	for (size_t it = 0; fpd_map_next(&e->execs, &it, &k, &v);)
		exec_free(v);
	fpd_map_free(&e->execs);
}

/* n executions, spread over namespaces ns-0 .. ns-(spaces - 1), in an order that is not the
 * key order. */
static void fill(struct fpd_engine *e, const char *prefix, size_t n, size_t spaces)
{
	for (size_t i = 0; i < n; i++) {
		char ns[32], name[64];
		snprintf(ns, sizeof(ns), "ns-%zu", i % spaces);
		snprintf(name, sizeof(name), "%s-%08zx", prefix, (i * 2654435761u) % 1000003);
		add(e, ns, name);
	}
}

static struct fpd_engine_page *page_new(const char *ns, const char *token, size_t limit)
{
	struct fpd_error err;
	struct fpd_engine_page *p = fpd_engine_page_new(ns, token, limit, &err);
	ck_assert_msg(p != NULL, "page refused: %s", err.text);
	return p;
}

/* Chooses p slots slots at a time; returns how many calls it took. */
static size_t choose(struct fpd_engine_page *p, const struct fpd_engine *e, size_t slots)
{
	size_t calls = 1;
	while (fpd_engine_page_choose(p, e, slots) == FPD_AGAIN)
		calls++;
	return calls;
}

/* The whole JSON of a chosen page (a new string). */
static char *page_json(struct fpd_engine_page *p, const struct fpd_engine *e)
{
	struct fpd_buf b;
	fpd_buf_init(&b, (size_t)1 << 30);
	char chunk[700];
	size_t n;
	while ((n = fpd_engine_page_read(p, e, chunk, sizeof(chunk))) > 0)
		fpd_buf_append(&b, chunk, n);
	char *s = fpd_strndup(b.data ? (const char *)b.data : "", b.len);
	fpd_buf_free(&b);
	return s;
}

/* The page's keys, comma-separated (a new string). */
static char *page_keys(const struct fpd_engine_page *p)
{
	struct fpd_buf b;
	fpd_buf_init(&b, (size_t)1 << 30);
	for (size_t i = 0; i < fpd_engine_page_size(p); i++)
		fpd_buf_printf(&b, "%s%s", i ? "," : "", fpd_engine_page_key(p, i));
	char *s = fpd_strndup(b.data ? (const char *)b.data : "", b.len);
	fpd_buf_free(&b);
	return s;
}

/* The continue token in a page's JSON (a new string), or NULL. */
static char *json_token(const char *json)
{
	const char *t = strstr(json, "\"continue\":\"");
	if (!t)
		return NULL;
	t += strlen("\"continue\":\"");
	return fpd_strndup(t, (size_t)(strchr(t, '"') - t));
}

/* Whole pages, one after the other (following continue), chosen slots at a time, equal the
 * same pages chosen in one go: the same keys, the same JSON (count, continue, shown). */
static void check_same_pages(const struct fpd_engine *e, const char *ns, size_t limit, size_t slots)
{
	char *token = NULL;
	size_t pages = 0, sliced_calls = 0;
	do {
		struct fpd_engine_page *one = page_new(ns, token, limit);
		struct fpd_engine_page *sliced = page_new(ns, token, limit);
		ck_assert_uint_eq(choose(one, e, SIZE_MAX), 1);
		sliced_calls += choose(sliced, e, slots);
		char *k1 = page_keys(one), *k2 = page_keys(sliced);
		ck_assert_msg(strcmp(k1, k2) == 0,
		              "limit %zu, %zu slots, page %zu: expected keys %.200s, saw %.200s",
		              limit, slots, pages, k1, k2);
		char *j1 = page_json(one, e), *j2 = page_json(sliced, e);
		ck_assert_msg(strcmp(j1, j2) == 0, "page %zu: expected %.300s, saw %.300s", pages,
		              j1, j2);
		free(token);
		token = json_token(j1);
		free(k1);
		free(k2);
		free(j1);
		free(j2);
		fpd_engine_page_free(one);
		fpd_engine_page_free(sliced);
		pages++;
	} while (token);
	/* the slices were real: each page took about cap / slots calls */
	ck_assert_uint_ge(sliced_calls, pages * (e->execs.cap / slots));
}

START_TEST(test_sliced_equals_one_go)
{
	struct fpd_engine e;
	engine_init(&e);
	fill(&e, "task", 1000, 3);
	size_t limits[] = {1, 7, 100, 400, 5000};
	size_t slotss[] = {1, 5, 64, 1000};
	for (size_t i = 0; i < sizeof(limits) / sizeof(*limits); i++)
		for (size_t j = 0; j < sizeof(slotss) / sizeof(*slotss); j++) {
			if (limits[i] < 100 && slotss[j] < 64)
				continue; /* hundreds of pages: slow, and no new case */
			check_same_pages(&e, NULL, limits[i], slotss[j]);
			check_same_pages(&e, "ns-1", limits[i], slotss[j]);
		}
	engine_free(&e);
}
END_TEST

/* Chosen in slices of 16 slots while, between slices, executions are added and removed (no
 * rehash): the page is sorted and without repeats, holds every key present throughout that
 * sorts before its last (none skipped), and the JSON leaves out what was removed. */
START_TEST(test_changes_between_slices)
{
	struct fpd_engine e;
	engine_init(&e);
	fill(&e, "task", 600, 2);
	size_t rehashes = e.execs.rehashes, cap = e.execs.cap;
	/* the keys present at the start; those touched below are struck off */
	size_t n0 = e.execs.count;
	char **stable = fpd_calloc(n0, sizeof(*stable));
	bool *touched = fpd_calloc(n0, sizeof(*touched));
	size_t ns = 0;
	const char *k;
	void *v;
	for (size_t it = 0; fpd_map_next(&e.execs, &it, &k, &v);)
		stable[ns++] = fpd_strdup(k);

	struct fpd_engine_page *p = page_new(NULL, NULL, 250);
	size_t turn = 0, added = 0;
	while (fpd_engine_page_choose(p, &e, 16) == FPD_AGAIN) {
		/* remove one key from each end of the start order (walked and not yet walked) */
		size_t a = turn, b = n0 - 1 - turn;
		if (a < b && turn % 2 == 0) {
			del(&e, stable[a]);
			del(&e, stable[b]);
			touched[a] = touched[b] = true;
		}
		/* remove one and put it back (it may move, and be seen again) */
		if (turn % 3 == 0 && a + 1 < b - 1 && !touched[a + 1]) {
			del(&e, stable[a + 1]);
			char nsb[64];
			const char *slash = strchr(stable[a + 1], '/');
			snprintf(nsb, sizeof(nsb), "%.*s", (int)(slash - stable[a + 1]),
			         stable[a + 1]);
			add(&e, nsb, slash + 1);
			touched[a + 1] = true;
		}
		/* add keys that sort first: they may or may not be on the page */
		if (e.execs.used + 4 < e.execs.cap * 6 / 10) {
			char name[32];
			snprintf(name, sizeof(name), "aaa-%04zu", added++);
			add(&e, "ns-0", name);
		}
		turn++;
	}
	ck_assert_msg(e.execs.rehashes == rehashes && e.execs.cap == cap,
	              "the test meant no rehash, saw %zu (cap %zu -> %zu)",
	              e.execs.rehashes - rehashes, cap, e.execs.cap);
	ck_assert_uint_gt(turn, 30);
	ck_assert_uint_eq(fpd_engine_page_restarts(p), 0);

	size_t n = fpd_engine_page_size(p);
	ck_assert_uint_eq(n, 250);
	for (size_t i = 1; i < n; i++)
		ck_assert_msg(strcmp(fpd_engine_page_key(p, i - 1), fpd_engine_page_key(p, i)) < 0,
		              "expected sorted keys without repeats, saw %s then %s",
		              fpd_engine_page_key(p, i - 1), fpd_engine_page_key(p, i));
	const char *last = fpd_engine_page_key(p, n - 1);
	for (size_t i = 0; i < n0; i++) {
		if (touched[i] || strcmp(stable[i], last) > 0)
			continue;
		bool on = false;
		for (size_t j = 0; j < n && !on; j++)
			on = strcmp(fpd_engine_page_key(p, j), stable[i]) == 0;
		ck_assert_msg(on, "expected %s (present throughout, before %s) on the page",
		              stable[i], last);
	}
	/* the writer shows the page's keys still present, and only those */
	size_t present = 0;
	for (size_t j = 0; j < n; j++)
		present += fpd_map_get(&e.execs, fpd_engine_page_key(p, j)) != NULL;
	ck_assert_uint_lt(present, n); /* some were removed after they were taken */
	char *json = page_json(p, &e);
	char want[64];
	snprintf(want, sizeof(want), "\"shown\":%zu}", present);
	ck_assert_msg(strstr(json, want) != NULL, "expected %s at the end, saw %s", want,
	              json + (strlen(json) > 80 ? strlen(json) - 80 : 0));
	free(json);
	fpd_engine_page_free(p);
	for (size_t i = 0; i < n0; i++)
		free(stable[i]);
	free(stable);
	free(touched);
	engine_free(&e);
}
END_TEST

/* The slot core/map.c gives key first in a table of cap slots (its FNV-1a hash). */
static size_t home_slot(const char *key, size_t cap)
{
	uint64_t h = 1469598103934665603ull;
	for (; *key; key++) {
		h ^= (unsigned char)*key;
		h *= 1099511628211ull;
	}
	return (size_t)h & (cap - 1);
}

/* The next name n-<i> whose key "ns-0/n-<i>" starts in a slot for which want(slot) holds. */
static void name_with_home(size_t *i, bool (*want)(size_t), char *name, size_t size)
{
	char key[64];
	for (;; (*i)++) {
		snprintf(name, size, "n-%zu", *i);
		snprintf(key, sizeof(key), "ns-0/%s", name);
		if (want(home_slot(key, 16)))
			break;
	}
	(*i)++;
}

static bool home_14(size_t slot)
{
	return slot == 14;
}

static bool home_low(size_t slot)
{
	return slot >= 2 && slot <= 8;
}

/* A key taken from the last slot of the walk's first slice, then removed and put back where
 * the walk has yet to go (its probe wraps around the table's end): the walk sees it twice,
 * the page shows it once. */
START_TEST(test_key_seen_twice)
{
	struct fpd_engine e;
	engine_init(&e);
	char x[32], y[32], k[32], key_x[64], key_k[64];
	size_t i = 0;
	name_with_home(&i, home_14, x, sizeof(x)); /* slot 14 */
	name_with_home(&i, home_14, y, sizeof(y)); /* slot 15 */
	name_with_home(&i, home_14, k, sizeof(k)); /* wraps: slot 0 */
	add(&e, "ns-0", x);
	add(&e, "ns-0", y);
	add(&e, "ns-0", k);
	for (int f = 0; f < 4; f++) {
		char name[32];
		name_with_home(&i, home_low, name, sizeof(name));
		add(&e, "ns-0", name);
	}
	snprintf(key_x, sizeof(key_x), "ns-0/%s", x);
	snprintf(key_k, sizeof(key_k), "ns-0/%s", k);
	ck_assert_uint_eq(e.execs.cap, 16);
	ck_assert_str_eq(e.execs.slots[0].key, key_k);

	struct fpd_engine_page *p = page_new(NULL, NULL, 10);
	ck_assert_int_eq(fpd_engine_page_choose(p, &e, 1), FPD_AGAIN); /* slot 0: k */
	del(&e, key_x);
	del(&e, key_k);
	add(&e, "ns-0", k); /* into x's tombstone, slot 14 */
	ck_assert_str_eq(e.execs.slots[14].key, key_k);
	size_t rehashes = e.execs.rehashes;
	choose(p, &e, 1);
	ck_assert_uint_eq(e.execs.rehashes, rehashes);

	struct fpd_engine_page *ref = page_new(NULL, NULL, 10);
	choose(ref, &e, SIZE_MAX);
	char *k1 = page_keys(ref), *k2 = page_keys(p);
	ck_assert_msg(strcmp(k1, k2) == 0, "expected keys %s, saw %s", k1, k2);
	free(k1);
	free(k2);
	fpd_engine_page_free(ref);
	fpd_engine_page_free(p);
	engine_free(&e);
}
END_TEST

/* Adds executions until the table is rehashed (it grows). */
static void grow_table(struct fpd_engine *e, const char *prefix)
{
	size_t before = e->execs.rehashes, cap = e->execs.cap;
	for (size_t i = 0; e->execs.rehashes == before; i++) {
		char name[64];
		snprintf(name, sizeof(name), "%s-%zu", prefix, i);
		add(e, "ns-0", name);
	}
	ck_assert_uint_gt(e->execs.cap, cap);
}

/* The table grows past its capacity in the middle of the walk: the walk restarts and the page
 * is the one chosen in one go from the grown table. */
START_TEST(test_rehash_between_slices)
{
	struct fpd_engine e;
	engine_init(&e);
	fill(&e, "task", 300, 2);
	struct fpd_engine_page *p = page_new(NULL, NULL, 120);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(fpd_engine_page_choose(p, &e, 32), FPD_AGAIN);
	grow_table(&e, "grown"); /* "grown-..." sorts before "task-...": they belong on the page */
	size_t calls = choose(p, &e, 32);
	ck_assert_uint_gt(calls, 2);
	ck_assert_uint_eq(fpd_engine_page_restarts(p), 1);

	struct fpd_engine_page *ref = page_new(NULL, NULL, 120);
	choose(ref, &e, SIZE_MAX);
	char *k1 = page_keys(ref), *k2 = page_keys(p);
	ck_assert_msg(strcmp(k1, k2) == 0, "expected keys %.200s, saw %.200s", k1, k2);
	ck_assert_msg(strncmp(k2, "ns-0/grown-", strlen("ns-0/grown-")) == 0,
	              "expected the keys added before the restart first, saw %.80s", k2);
	char *j1 = page_json(ref, &e), *j2 = page_json(p, &e);
	ck_assert_msg(strcmp(j1, j2) == 0, "expected %.300s, saw %.300s", j1, j2);
	free(k1);
	free(k2);
	free(j1);
	free(j2);
	fpd_engine_page_free(ref);
	fpd_engine_page_free(p);
	engine_free(&e);
}
END_TEST

/* A table rehashed between every two slices: after FPD_ENGINE_PAGE_RESTARTS_MAX restarts the
 * walk is finished in one call, and the page is still right. */
START_TEST(test_rehash_restarts_bounded)
{
	struct fpd_engine e;
	engine_init(&e);
	fill(&e, "task", 20, 1);
	struct fpd_engine_page *p = page_new(NULL, NULL, 10);
	int rc = fpd_engine_page_choose(p, &e, 2);
	for (unsigned i = 0; i < FPD_ENGINE_PAGE_RESTARTS_MAX; i++) {
		ck_assert_int_eq(rc, FPD_AGAIN);
		char prefix[16];
		snprintf(prefix, sizeof(prefix), "g%u", i);
		grow_table(&e, prefix);
		rc = fpd_engine_page_choose(p, &e, 2);
		ck_assert_uint_eq(fpd_engine_page_restarts(p), i + 1);
	}
	ck_assert_msg(rc == FPD_OK, "expected the walk finished in one go after %d restarts",
	              FPD_ENGINE_PAGE_RESTARTS_MAX);
	struct fpd_engine_page *ref = page_new(NULL, NULL, 10);
	choose(ref, &e, SIZE_MAX);
	char *k1 = page_keys(ref), *k2 = page_keys(p);
	ck_assert_msg(strcmp(k1, k2) == 0, "expected keys %s, saw %s", k1, k2);
	free(k1);
	free(k2);
	fpd_engine_page_free(ref);
	fpd_engine_page_free(p);
	engine_free(&e);
}
END_TEST

/* A page freed half chosen, and one whose engine went away half way, free everything (ASan). */
START_TEST(test_abandoned_walk)
{
	struct fpd_engine e;
	engine_init(&e);
	fill(&e, "task", 200, 1);
	struct fpd_engine_page *p = page_new(NULL, NULL, 50);
	ck_assert_int_eq(fpd_engine_page_choose(p, &e, 64), FPD_AGAIN);
	fpd_engine_page_free(p);
	p = page_new(NULL, NULL, 50);
	ck_assert_int_eq(fpd_engine_page_choose(p, &e, 64), FPD_AGAIN);
	size_t seen = fpd_engine_page_size(p);
	ck_assert_uint_eq(seen, 0); /* not chosen yet */
	ck_assert_int_eq(fpd_engine_page_choose(p, NULL, 64), FPD_OK);
	ck_assert_uint_gt(fpd_engine_page_size(p), 0);
	ck_assert_uint_le(fpd_engine_page_size(p), 50);
	char *json = page_json(p, NULL);
	ck_assert_msg(strstr(json, "\"shown\":0}") != NULL, "expected nothing shown, saw %s", json);
	free(json);
	fpd_engine_page_free(p);
	engine_free(&e);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("engine_report");
	TCase *tc = tcase_create("page");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_sliced_equals_one_go);
	tcase_add_test(tc, test_changes_between_slices);
	tcase_add_test(tc, test_key_seen_twice);
	tcase_add_test(tc, test_rehash_between_slices);
	tcase_add_test(tc, test_rehash_restarts_bounded);
	tcase_add_test(tc, test_abandoned_walk);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
