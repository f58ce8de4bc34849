/*
 * Log links: every tests/fixtures/pod/logs/<case>.json is settings, a task reference, a pod,
 * the time, and the exact list of links (name, URI, format, flags) fpd_logs_for_pod adds.
 */
#include <flyteplugd/logs.h>
#include <flyteplugd/object.h>

#include "fpd_test.h"
#include "task_fixture.h"

static const char *format_name(enum fpd_link_format f)
{
	return f == FPD_LOG_FORMAT_JSON ? "JSON" : f == FPD_LOG_FORMAT_CSV ? "CSV" : "UNKNOWN";
}

static json_t *links_json(const struct fpd_phase_info *pi, size_t from)
{
	json_t *a = json_array();
	for (size_t i = from; i < pi->log_count; i++) {
		const struct fpd_log_link *l = &pi->logs[i];
		json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:b,s:b}", "name", l->name, "uri",
		                                   l->uri, "format", format_name(l->format),
		                                   "show_while_pending", l->show_while_pending,
		                                   "hide_once_finished", l->hide_once_finished));
	}
	return a;
}

static void run_fixture(const char *name, void *ud)
{
	char rel[256];
	snprintf(rel, sizeof(rel), "pod/logs/%s", name);
	json_t *fx = fpd_test_json_fixture(rel);
	/* The standard task reference of the fixtures, with the fixture's overrides. */
	json_t *task_fx = json_pack("{s:{s:s},s:O?}", "template", "type", "python-task", "ref",
	                            json_object_get(fx, "ref"));
	struct fpd_test_task t;
	fpd_test_task_load(&t, task_fx);
	struct fpd_config cfg;
	fpd_test_config_load(&cfg, json_object_get(fx, "config"));

	const json_t *extra = json_object_get(fx, "extra_vars"), *v;
	struct fpd_log_var vars[8];
	size_t n = 0, i;
	json_array_foreach(extra, i, v)
	{
		ck_assert_uint_lt(n, 8);
		vars[n++] = (struct fpd_log_var){json_string_value(json_object_get(v, "name")),
		                                 json_string_value(json_object_get(v, "value"))};
	}
	struct fpd_log_input in = {
	    .ref = &t.task.ref,
	    .pod = json_object_get(fx, "pod"),
	    .container_index = (size_t)json_integer_value(json_object_get(fx, "container_index")),
	    .log_name = json_string_value(json_object_get(fx, "log_name")),
	    .task_config = json_object_get(fx, "task_config"),
	    .extra_vars = vars,
	    .extra_var_count = n,
	    .now_ms = fpd_time_parse(json_string_value(json_object_get(fx, "now"))),
	};
	struct fpd_phase_info pi = {0};
	fpd_phase_add_log(&pi, "earlier", "kept", FPD_LOG_FORMAT_UNKNOWN, false, false);
	size_t added = fpd_logs_for_pod(&cfg.settings.logs, &in, &pi);
	json_t *got = links_json(&pi, 1);
	fpd_test_assert_json_eq(json_object_get(fx, "expect"), got, name);
	ck_assert_uint_eq(added, json_array_size(got));
	ck_assert_str_eq(pi.logs[0].name, "earlier");
	json_decref(got);
	fpd_phase_info_clear(&pi);
	fpd_test_config_free(&cfg);
	fpd_test_task_free(&t);
	json_decref(task_fx);
	json_decref(fx);
}

START_TEST(log_fixtures)
{
	ck_assert_uint_eq(fpd_fixture_each("pod/logs", ".json", NULL, run_fixture, NULL), 5);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("plugins/pod/logs");
	TCase *tc = tcase_create("logs");
	tcase_add_test(tc, log_fixtures);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
