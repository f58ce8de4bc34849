/*
 * SparkApplication building: every tests/fixtures/spark/build/<case>.json is a task and the
 * exact application Flyte's spark.go would build for it (FLYTE_START_TIME, the one value that
 * depends on the clock, is checked against the clock and then compared as "<now>");
 * errors.json lists tasks that must be refused with an exact message.
 */
#include <flyteplugd/error.h>
#include "fpd_test.h"
#include "spark_fixture.h"

#include <time.h>

#define START_TIME "spark.kubernetes.driverEnv.FLYTE_START_TIME"

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void run_ok_fixture(const char *name, void *ud)
{
	char rel[256];
	snprintf(rel, sizeof(rel), "spark/build/%s", name);
	json_t *fx = fpd_test_json_fixture(rel);
	struct fpd_test_spark s;
	fpd_test_spark_load(&s, json_object_get(fx, "task"));
	struct fpd_error err = {0};
	json_t *out = NULL;
	int64_t before = now_ms();
	int rc = fpd_spark_build(&s.t.task, &out, &err);
	int64_t after = now_ms();
	ck_assert_msg(rc == 0, "%s: build failed (%d): %s", name, rc, err.text);
	json_t *conf = json_object_get(json_object_get(out, "spec"), "sparkConf");
	const char *start = json_string_value(json_object_get(conf, START_TIME));
	ck_assert_msg(start, "%s: no %s", name, START_TIME);
	long long ms = strtoll(start, NULL, 10);
	ck_assert_msg(ms >= before && ms <= after, "%s: %s = %s, expected within [%lld, %lld]",
	              name, START_TIME, start, (long long)before, (long long)after);
	json_object_set_new(conf, START_TIME, json_string("<now>"));
	fpd_test_assert_json_eq(json_object_get(fx, "expect"), out, name);
	json_decref(out);
	fpd_test_spark_free(&s);
	json_decref(fx);
}

START_TEST(builds_fixture_applications)
{
	ck_assert_uint_eq(
	    fpd_fixture_each("spark/build", ".json", "errors.json", run_ok_fixture, NULL), 7);
}
END_TEST

START_TEST(refuses_bad_tasks_with_exact_messages)
{
	json_t *root = fpd_test_json_fixture("spark/build/errors.json");
	size_t i, ran = 0;
	json_t *c;
	json_array_foreach(json_object_get(root, "cases"), i, c)
	{
		struct fpd_test_spark s;
		fpd_test_spark_load(&s, json_object_get(c, "task"));
		struct fpd_error err = {0};
		json_t *out = NULL;
		int rc = fpd_spark_build(&s.t.task, &out, &err);
		const char *want = json_string_value(json_object_get(c, "error"));
		ck_assert_msg(rc == FPD_EINVAL, "case %zu: expected EINVAL [%s], got %d", i, want,
		              rc);
		ck_assert_msg(!strcmp(err.text, want), "case %zu: expected [%s], got [%s]", i, want,
		              err.text);
		ck_assert_ptr_null(out);
		fpd_test_spark_free(&s);
		ran++;
	}
	ck_assert_uint_eq(ran, 4);
	json_decref(root);
}
END_TEST

START_TEST(descriptor_declares_spark_applications)
{
	const struct fpd_plugin *p = &fpd_plugin_spark;
	ck_assert_str_eq(p->name, "spark");
	ck_assert_uint_eq(p->task_type_count, 1);
	ck_assert_str_eq(p->task_types[0].name, "spark");
	ck_assert_int_eq(p->task_types[0].version, 0);
	ck_assert_ptr_eq(p->task_types[0].custom, &flyteidl__plugins__spark_job__descriptor);
	ck_assert_str_eq(p->kind->api_version, "sparkoperator.k8s.io/v1beta2");
	ck_assert_str_eq(p->kind->kind, "SparkApplication");
	ck_assert_str_eq(p->kind->plural, "sparkapplications");
	ck_assert_str_eq(p->pod_owner_label, "spark-app-name");
	ck_assert_str_eq(p->keep[0], "spec.restartPolicy");
	ck_assert_str_eq(p->keep[1], "spec.suspend");        /* Kueue admission */
	ck_assert_str_eq(p->keep[2], "metadata.generation"); /* Kueue eviction */
	ck_assert_ptr_null(p->keep[3]);
	ck_assert_uint_eq(p->settings_size, sizeof(struct fpd_spark_settings));
	ck_assert_str_eq(p->settings_schema[0].key, "spark-config-default");
	ck_assert_str_eq(p->settings_schema[1].key, "spark-history-server-url");
	ck_assert_str_eq(p->settings_schema[2].key, "features");
	ck_assert_str_eq(p->settings_schema[3].key, "logs");
	ck_assert_uint_eq(p->name_max_len, 0); /* Flyte's default, 50 */
}
END_TEST

int main(void)
{
	Suite *s = suite_create("plugins/spark/build");
	TCase *tc = tcase_create("build");
	tcase_add_test(tc, builds_fixture_applications);
	tcase_add_test(tc, refuses_bad_tasks_with_exact_messages);
	tcase_add_test(tc, descriptor_declares_spark_applications);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
