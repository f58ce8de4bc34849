/*
 * Plugin settings (`plugins.settings.<plugin>`) through the built-in plugins' own schemas: the
 * per-plugin log sections of Spark, Ray and Dask (which log sections are set, their defaults,
 * the shared log schema behind them), and every tests/fixtures/config/bad-plugins file refused
 * at the line:col and with the text its "# expect: L:C text" header names.
 */
#include "builtin.h"
#include "dask/dask.h"
#include "engine/plugin_settings.h"
#include "fpd_test.h"
#include "ray/internal.h"
#include "spark/spark.h"

#include <unistd.h>

struct loaded {
	struct fpd_config cfg;
	struct fpd_registry *reg;
	struct fpd_plugin_settings *ps;
};

/* Loads a configuration file, the built-in registry and the plugin settings; rc of the step that
 * failed (err filled) or FPD_OK. */
static int load_file(const char *path, struct loaded *l, struct fpd_error *err)
{
	memset(l, 0, sizeof(*l));
	fpd_error_clear(err);
	int rc = fpd_config_load(path, &l->cfg, err);
	if (rc)
		return rc;
	size_t n;
	const struct fpd_plugin *const *builtins = fpd_builtin_plugins(&n);
	l->reg = fpd_registry_from_config(builtins, n, &l->cfg, err);
	ck_assert_msg(l->reg != NULL, "%s: registry: %s", path, err->text);
	l->ps = fpd_plugin_settings_load(l->reg, &l->cfg, err);
	return l->ps ? FPD_OK : FPD_EINVAL;
}

static void load_text(const char *text, struct loaded *l)
{
	char path[] = "/tmp/fpd-plugin-settings-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	FILE *f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	struct fpd_error err;
	int rc = load_file(path, l, &err);
	unlink(path);
	ck_assert_msg(rc == FPD_OK, "%s: %s (%d:%d)", text, err.text, err.line, err.column);
}

static void unload(struct loaded *l)
{
	fpd_plugin_settings_free(l->ps);
	fpd_registry_free(l->reg);
	fpd_config_free(&l->cfg);
}

static const void *settings_of(const struct loaded *l, const char *plugin)
{
	const struct fpd_plugin *p = fpd_registry_by_name(l->reg, plugin);
	ck_assert_ptr_nonnull(p);
	return fpd_plugin_settings_get(l->ps, p);
}

/* plugins.settings.dask.logs: NULL when the configuration leaves it out. */
static const struct fpd_log_settings *dask_logs(const struct loaded *l)
{
	const struct fpd_dask_settings *dask = settings_of(l, "dask");
	return dask->logs;
}

static const struct fpd_log_template *template_at(const struct fpd_list *list, size_t i)
{
	return fpd_list_at(list, sizeof(struct fpd_log_template), i);
}

START_TEST(per_plugin_log_sections_from_the_good_fixture)
{
	struct loaded l;
	struct fpd_error err;
	int rc = load_file(fpd_fixture("config/good/plugin-logs.yaml"), &l, &err);
	ck_assert_msg(rc == FPD_OK, "%s (%d:%d)", err.text, err.line, err.column);

	const struct fpd_spark_settings *sp = settings_of(&l, "spark");
	ck_assert_str_eq(sp->spark_history_server_url, "https://history.example.com");
	ck_assert_msg(sp->logs.mixed == NULL, "mixed was not configured: the daemon's logs apply");
	/* user/system/all-user start from propeller's zero LogConfig: Kubernetes off. */
	const struct fpd_log_settings *user = sp->logs.user;
	ck_assert_ptr_nonnull(user);
	ck_assert(!user->kubernetes_enabled && user->cloudwatch_enabled);
	ck_assert_str_eq(user->cloudwatch_template_uri,
	                 "https://cw.example.com/user/{{ .podName }}");
	const struct fpd_log_settings *sys = sp->logs.system;
	ck_assert_ptr_nonnull(sys);
	ck_assert(!sys->kubernetes_enabled);
	ck_assert_uint_eq(sys->templates.count, 1);
	ck_assert_str_eq(template_at(&sys->templates, 0)->display_name, "System");
	ck_assert_int_eq(template_at(&sys->templates, 0)->message_format, 2);
	const struct fpd_log_settings *all = sp->logs.all_user;
	ck_assert_ptr_nonnull(all);
	ck_assert(all->stackdriver_enabled && !all->kubernetes_enabled);
	ck_assert_str_eq(all->gcp_project, "my-project");
	ck_assert_str_eq(all->stackdriver_logresourcename, "k8s_container");

	const struct fpd_ray_settings *ray = settings_of(&l, "ray");
	ck_assert_ptr_nonnull(ray->logs);
	ck_assert(ray->logs->kubernetes_enabled);
	ck_assert_str_eq(ray->logs->kubernetes_template_uri,
	                 "https://k8s.example.com/ray/{{ .rayClusterName }}");
	ck_assert_uint_eq(ray->logs->dynamic_log_links.count, 1);
	const struct fpd_log_template *vscode = template_at(&ray->logs->dynamic_log_links, 0);
	ck_assert_str_eq(vscode->key, "vscode");
	ck_assert_str_eq(vscode->display_name, "VS Code");
	ck_assert_str_eq(ray->dashboard_url_template.display_name, "Ray Dashboard");
	ck_assert_uint_eq(ray->dashboard_url_template.template_uris.count, 1);

	const struct fpd_log_settings *dask = dask_logs(&l);
	ck_assert_ptr_nonnull(dask);
	ck_assert(!dask->kubernetes_enabled && !dask->cloudwatch_enabled);
	ck_assert_uint_eq(dask->templates.count, 1);
	const struct fpd_log_template *dash = template_at(&dask->templates, 0);
	ck_assert_str_eq(dash->display_name, "Dask Dashboard");
	ck_assert_uint_eq(dash->template_uris.count, 1);
	ck_assert_str_eq(
	    dash->template_uris.items[0],
	    "https://dask.example.com/{{ .namespace }}/{{ .daskSchedulerName }}/status");
	ck_assert(dash->show_while_pending && !dash->hide_once_finished);
	ck_assert_int_eq(dash->message_format, 2);
	/* The daemon's own section is untouched by the plugins'. */
	ck_assert_str_eq(l.cfg.settings.logs.kubernetes_template_uri,
	                 "https://k8s.example.com/{{ .namespace }}/{{ .podName }}");
	unload(&l);
}
END_TEST

/* What each section starts from when it is present: Spark's mixed and Dask's logs from
 * propeller's DefaultConfig (Kubernetes on, the localhost template), every other one empty. */
START_TEST(section_defaults_follow_propeller)
{
	struct loaded l;
	load_text("plugins:\n"
	          "  settings:\n"
	          "    spark:\n"
	          "      logs:\n"
	          "        mixed: {cloudwatch-enabled: true}\n"
	          "        user: {}\n"
	          "    ray:\n"
	          "      logs:\n"
	          "    dask:\n"
	          "      logs: {cloudwatch-enabled: true}\n",
	          &l);
	const struct fpd_spark_settings *sp = settings_of(&l, "spark");
	const struct fpd_log_settings *mixed = sp->logs.mixed;
	ck_assert_ptr_nonnull(mixed);
	ck_assert(mixed->kubernetes_enabled && mixed->cloudwatch_enabled);
	ck_assert_str_eq(mixed->kubernetes_template_uri,
	                 "http://localhost:30082/#!/log/{{ .namespace }}/{{ .podName }}/"
	                 "pod?namespace={{ .namespace }}");
	ck_assert_ptr_nonnull(sp->logs.user);
	ck_assert(!sp->logs.user->kubernetes_enabled && !sp->logs.user->cloudwatch_enabled &&
	          !sp->logs.user->stackdriver_enabled && !sp->logs.user->templates.count);
	ck_assert_ptr_null(sp->logs.system);
	ck_assert_ptr_null(sp->logs.all_user);
	const struct fpd_ray_settings *ray = settings_of(&l, "ray");
	ck_assert_msg(ray->logs != NULL, "a null `logs:` is a present, empty section");
	ck_assert(!ray->logs->kubernetes_enabled);
	const struct fpd_log_settings *dask = dask_logs(&l);
	ck_assert_ptr_nonnull(dask);
	ck_assert(dask->kubernetes_enabled && dask->cloudwatch_enabled);
	ck_assert_str_eq(dask->kubernetes_template_uri, mixed->kubernetes_template_uri);
	unload(&l);

	/* Nothing configured: no section, every plugin falls back to the daemon's logs. */
	load_text("plugins: {settings: {spark: {}, ray: {}, dask: {}}}\n", &l);
	sp = settings_of(&l, "spark");
	ck_assert(!sp->logs.mixed && !sp->logs.user && !sp->logs.system && !sp->logs.all_user);
	ck_assert_ptr_null(((const struct fpd_ray_settings *)settings_of(&l, "ray"))->logs);
	ck_assert_ptr_null(dask_logs(&l));
	unload(&l);

	/* No dask section at all: still its settings, without logs. */
	load_text("logs: {kubernetes-enabled: false}\n", &l);
	ck_assert_ptr_null(dask_logs(&l));
	unload(&l);
}
END_TEST

/* Loads a configuration and the plugin settings (fpd_check_bad_fixtures' load). */
static int load_and_unload(const char *path, struct fpd_error *err)
{
	struct loaded l;
	int rc = load_file(path, &l, err);
	unload(&l);
	return rc;
}

START_TEST(bad_plugin_settings_rejected_at_location)
{
	ck_assert_int_ge(fpd_check_bad_fixtures("config/bad-plugins", load_and_unload), 13);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("engine/plugin_settings");
	TCase *tc = tcase_create("plugin_settings");
	tcase_add_test(tc, per_plugin_log_sections_from_the_good_fixture);
	tcase_add_test(tc, section_defaults_follow_propeller);
	tcase_add_test(tc, bad_plugin_settings_rejected_at_location);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
