/*
 * fpd_render_template against tests/fixtures/pod/template/render.json: every case is an input
 * string and either the exact output or the exact error message.
 */
#include <flyteplugd/pod.h>

#include <flyteplugd/error.h>
#include "pod/internal.h"
#include "fpd_test.h"
#include "task_fixture.h"

static void run_case(const struct fpd_task *task, const json_t *c, const char *group)
{
	const char *in = json_string_value(json_object_get(c, "in"));
	const char *want = json_string_value(json_object_get(c, "out"));
	const char *want_err = json_string_value(json_object_get(c, "error"));
	ck_assert_msg(in && (want || want_err), "%s: case needs in and out or error", group);
	struct fpd_error err = {0};
	char *out = NULL;
	int rc = fpd_render_template(task, in, &out, &err);
	if (want) {
		ck_assert_msg(rc == 0, "%s: [%s]: expected [%s], got error %d: %s", group, in, want,
		              rc, err.text);
		ck_assert_msg(!strcmp(out, want), "%s: [%s]: expected [%s], got [%s]", group, in,
		              want, out);
	} else {
		ck_assert_msg(rc == FPD_EINVAL, "%s: [%s]: expected EINVAL (%s), got %d [%s]",
		              group, in, want_err, rc, out ? out : "");
		ck_assert_msg(!strcmp(err.text, want_err),
		              "%s: [%s]: expected error [%s], got [%s]", group, in, want_err,
		              err.text);
		ck_assert_ptr_null(out);
	}
	free(out);
}

START_TEST(render_fixture_cases)
{
	json_t *root = fpd_test_json_fixture("pod/template/render.json");
	size_t g, i, ran = 0;
	json_t *group, *c;
	json_array_foreach(json_object_get(root, "groups"), g, group)
	{
		struct fpd_test_task t;
		fpd_test_task_load(&t, json_object_get(group, "task"));
		const char *about = json_string_value(json_object_get(group, "about"));
		json_array_foreach(json_object_get(group, "cases"), i, c)
		{
			run_case(&t.task, c, about);
			ran++;
		}
		fpd_test_task_free(&t);
	}
	ck_assert_uint_eq(ran, 41);
	json_decref(root);
}
END_TEST

START_TEST(rejects_text_over_the_bound)
{
	json_t *fx = json_pack("{s:{s:s}}", "template", "type", "python-task");
	struct fpd_test_task t;
	fpd_test_task_load(&t, fx);
	/* 40 000 placeholders of 35 characters become 40 000 paths of ~33: near 1.3 MiB. */
	size_t n = 40000;
	char *big = malloc(n * 12 + 1);
	for (size_t i = 0; i < n; i++)
		memcpy(big + i * 12, "{{.input}}{{", 12);
	big[n * 12] = '\0';
	struct fpd_error err = {0};
	char *out = NULL;
	ck_assert_int_eq(fpd_render_template(&t.task, big, &out, &err), FPD_ERANGE);
	ck_assert_ptr_null(out);
	ck_assert_ptr_nonnull(strstr(err.text, "longer than"));
	free(big);
	fpd_test_task_free(&t);
	json_decref(fx);
}
END_TEST

/* Go's text forms used in messages, and Kubernetes quantities (internal helpers). */
START_TEST(go_formats_and_quantities)
{
	static const struct {
		int64_t ms;
		const char *text;
	} durations[] = {
	    {0, "0s"},        {500, "500ms"},      {1500, "1.5s"},           {90000, "1m30s"},
	    {180000, "3m0s"}, {3600000, "1h0m0s"}, {5430250, "1h30m30.25s"}, {-2000, "-2s"}};
	char buf[64];
	for (size_t i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
		fpd_go_duration(durations[i].ms, buf, sizeof(buf));
		ck_assert_msg(!strcmp(buf, durations[i].text), "%lld ms: expected %s, got %s",
		              (long long)durations[i].ms, durations[i].text, buf);
	}
	static const struct {
		double v;
		const char *text;
	} floats[] = {{0.0 / 0.0, "NaN"},
	              {1.0 / 0.0, "+Inf"},
	              {-1.0 / 0.0, "-Inf"},
	              {-0.0, "-0"},
	              {0, "0"},
	              {123456789.0, "1.23456789e+08"},
	              {1e-7, "1e-07"},
	              {2.5e-300, "2.5e-300"},
	              {999999, "999999"}};
	for (size_t i = 0; i < sizeof(floats) / sizeof(floats[0]); i++) {
		fpd_go_float(floats[i].v, buf, sizeof(buf));
		ck_assert_msg(!strcmp(buf, floats[i].text), "float %zu: expected %s, got %s", i,
		              floats[i].text, buf);
	}
	static const struct {
		const char *q;
		double v;
	} quantities[] = {{"500m", 0.5},  {"1Gi", 1073741824}, {"1.5", 1.5}, {"1e3", 1000},
	                  {"2E", 2e18},   {"+3k", 3000},       {".5", 0.5},  {"10n", 1e-8},
	                  {"1E-2", 0.01}, {"-1", -1}};
	for (size_t i = 0; i < sizeof(quantities) / sizeof(quantities[0]); i++) {
		double v = -42;
		ck_assert_msg(fpd_quantity_parse(quantities[i].q, &v) == 0 && v == quantities[i].v,
		              "%s: expected %g, got %g", quantities[i].q, quantities[i].v, v);
	}
	static const char *const bad[] = {"",   "1 cpu", "1K",  "m",    "1.2.3",
	                                  "1e", "1Gib",  "1e+", "0x10", NULL};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		double v;
		ck_assert_msg(fpd_quantity_parse(bad[i], &v) == -1, "%s must be refused",
		              bad[i] ? bad[i] : "NULL");
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("plugins/pod/template");
	TCase *tc = tcase_create("render");
	tcase_add_test(tc, render_fixture_cases);
	tcase_add_test(tc, rejects_text_over_the_bound);
	tcase_add_test(tc, go_formats_and_quantities);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
