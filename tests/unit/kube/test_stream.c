/* Incremental watch-line and list-item parsing (kube/stream.h), fed in every chunking. */
#include "kube/stream.h"
#include "fpd_test.h"

struct pieces {
	char *all[16];
	size_t n;
	size_t stop_after; /* return 1 after this many; 0 = never */
};

static int collect(void *ud, const char *data, size_t len)
{
	struct pieces *p = ud;
	ck_assert_uint_lt(p->n, 16);
	p->all[p->n++] = strndup(data, len);
	return p->stop_after && p->n == p->stop_after ? 1 : 0;
}

static void pieces_free(struct pieces *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->all[i]);
	p->n = 0;
}

START_TEST(lines_any_chunking)
{
	size_t len;
	char *text = fpd_read_fixture("kube/stream/watch.ndjson", &len);
	/* Every chunk size from 1 byte to the whole text gives the same four events. */
	for (size_t chunk = 1; chunk <= len; chunk++) {
		struct fpd_kube_lines l;
		fpd_kube_lines_init(&l, 4096);
		struct pieces p = {0};
		for (size_t off = 0; off < len; off += chunk) {
			size_t n = off + chunk > len ? len - off : chunk;
			ck_assert_int_eq(fpd_kube_lines_feed(&l, text + off, n, collect, &p, NULL),
			                 FPD_OK);
		}
		ck_assert_msg(p.n == 4, "chunk %zu: expected 4 events, got %zu", chunk, p.n);
		for (size_t i = 0; i < p.n; i++) {
			json_t *ev = json_loads(p.all[i], 0, NULL);
			ck_assert_msg(ev != NULL, "chunk %zu: event %zu is not JSON: %s", chunk, i,
			              p.all[i]);
			json_decref(ev);
		}
		ck_assert_ptr_nonnull(strstr(p.all[2], "BOOKMARK"));
		ck_assert(!fpd_kube_lines_pending(&l));
		pieces_free(&p);
		fpd_kube_lines_free(&l);
	}
	free(text);
}
END_TEST

START_TEST(lines_bounded_and_stoppable)
{
	struct fpd_kube_lines l;
	fpd_kube_lines_init(&l, 8);
	struct pieces p = {0};
	struct fpd_error err;
	ck_assert_int_eq(fpd_kube_lines_feed(&l, "1234", 4, collect, &p, &err), FPD_OK);
	ck_assert(fpd_kube_lines_pending(&l));
	ck_assert_int_eq(fpd_kube_lines_feed(&l, "56789", 5, collect, &p, &err), FPD_ERANGE);
	ck_assert_ptr_nonnull(strstr(err.text, "longer than 8"));
	fpd_kube_lines_free(&l);

	fpd_kube_lines_init(&l, 64);
	p.stop_after = 1;
	ck_assert_int_eq(fpd_kube_lines_feed(&l, "a\r\nb\nc\n", 7, collect, &p, &err), 1);
	ck_assert_uint_eq(p.n, 1);
	ck_assert_str_eq(p.all[0], "a");
	pieces_free(&p);
	fpd_kube_lines_free(&l);
}
END_TEST

START_TEST(items_any_chunking)
{
	size_t len;
	char *text = fpd_read_fixture("kube/stream/list.json", &len);
	for (size_t chunk = 1; chunk <= len; chunk++) {
		struct fpd_kube_items it;
		fpd_kube_items_init(&it, 4096, 4096);
		struct pieces p = {0};
		for (size_t off = 0; off < len; off += chunk) {
			size_t n = off + chunk > len ? len - off : chunk;
			struct fpd_error err;
			int rc = fpd_kube_items_feed(&it, text + off, n, collect, &p, &err);
			ck_assert_msg(rc == FPD_OK, "chunk %zu at %zu: %s", chunk, off, err.text);
		}
		ck_assert_msg(p.n == 3, "chunk %zu: expected 3 items, got %zu", chunk, p.n);
		json_t *b = json_loads(p.all[1], 0, NULL);
		ck_assert_msg(b != NULL, "chunk %zu: item 2 is not JSON: %s", chunk, p.all[1]);
		ck_assert_str_eq(
		    json_string_value(json_object_get(json_object_get(b, "metadata"), "name")),
		    "b}\"{[");
		json_decref(b);
		json_t *doc;
		ck_assert_int_eq(fpd_kube_items_finish(&it, &doc, NULL), FPD_OK);
		ck_assert_uint_eq(json_array_size(json_object_get(doc, "items")), 0);
		json_t *meta = json_object_get(doc, "metadata");
		ck_assert_str_eq(json_string_value(json_object_get(meta, "resourceVersion")),
		                 "4242");
		ck_assert_str_eq(json_string_value(json_object_get(meta, "continue")),
		                 "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ");
		/* A nested "items" is not the list: kept whole in the rest. */
		ck_assert_uint_eq(
		    json_array_size(json_object_get(json_object_get(doc, "extra"), "items")), 3);
		json_decref(doc);
		pieces_free(&p);
		fpd_kube_items_free(&it);
	}
	free(text);
}
END_TEST

static int feed_all(const char *text, size_t max_item, struct pieces *p, struct fpd_error *err)
{
	struct fpd_kube_items it;
	fpd_kube_items_init(&it, max_item, 1024);
	int rc = fpd_kube_items_feed(&it, text, strlen(text), collect, p, err);
	if (rc == FPD_OK) {
		json_t *doc;
		rc = fpd_kube_items_finish(&it, &doc, err);
		json_decref(doc);
	}
	fpd_kube_items_free(&it);
	return rc;
}

START_TEST(items_errors)
{
	struct pieces p = {0};
	struct fpd_error err;
	ck_assert_int_eq(feed_all("{\"items\":[]}", 64, &p, &err), FPD_OK);
	ck_assert_uint_eq(p.n, 0);
	ck_assert_int_eq(feed_all("{\"items\":null,\"metadata\":{}}", 64, &p, &err), FPD_OK);
	ck_assert_int_eq(feed_all("[1,2]", 64, &p, &err), FPD_EINVAL);
	ck_assert_int_eq(feed_all("{\"items\":[1]}", 64, &p, &err), FPD_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.text, "not an object"));
	ck_assert_int_eq(feed_all("{\"items\":[{\"a\":1}", 64, &p, &err), FPD_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.text, "truncated"));
	ck_assert_int_eq(feed_all("{\"items\":[{\"a\":\"0123456789\"}]}", 8, &p, &err), FPD_ERANGE);
	ck_assert_int_eq(feed_all("{} x", 64, &p, &err), FPD_EINVAL);
	pieces_free(&p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kube_stream");
	TCase *tc = tcase_create("all");
	tcase_add_test(tc, lines_any_chunking);
	tcase_add_test(tc, lines_bounded_and_stoppable);
	tcase_add_test(tc, items_any_chunking);
	tcase_add_test(tc, items_errors);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
