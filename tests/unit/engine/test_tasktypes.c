/*
 * Declared task types in the registry: from plugins.settings.crd (a bad declaration refused
 * alone), re-declared in place, withdrawn, and never taking a built-in plugin's name or types.
 */
#include "core/config.h"
#include "crd/crd.h"
#include "engine/registry.h"
#include "engine/tasktypes.h"
#include "fpd_test.h"

static const struct fpd_task_type pod_types[] = {{"python-task", 0}};
static const struct fpd_plugin pod = {FPD_PLUGIN_ABI, "pod", pod_types, 1};

static const char config_text[] =
    "plugins:\n"
    "  settings:\n"
    "    crd:\n"
    "      task_types:\n"
    "        - taskType: {name: good, version: 1}\n"
    "          resource: {apiVersion: batch/v1, kind: Job, plural: jobs}\n"
    "          manifest: |\n"
    "            spec: {backoffLimit: 0}\n"
    "          status: {failed: '.status.failed > 0', succeeded: '.status.succeeded > 0'}\n"
    "        - taskType: {name: bad}\n"
    "          resource: {apiVersion: batch/v1, kind: Job, plural: jobs}\n"
    "          manifest: 'spec: {a: {{ .nope }}}'\n"
    "          status: {failed: 'false', succeeded: 'true'}\n";

static json_t *decl(const char *name, const char *type)
{
	return json_pack("{s{sssi}s{ssssss}sss{ssss}}", "taskType", "name", name, "version", 0,
	                 "resource", "apiVersion", "batch/v1", "kind", "Job", "plural", "jobs",
	                 "manifest", "spec: {}", "status", "failed", "false", "succeeded",
	                 type ? type : "true");
}

START_TEST(config_declares_good_types_and_refuses_bad_ones)
{
	struct fpd_config cfg;
	struct fpd_error err = {0};
	ck_assert_msg(
	    fpd_config_load_text(config_text, sizeof(config_text) - 1, "cfg.yaml", &cfg, &err) == 0,
	    "%s", err.text);
	const struct fpd_plugin *builtins[] = {&pod, &fpd_plugin_crd};
	struct fpd_registry *reg = fpd_registry_from_config(builtins, 2, &cfg, &err);
	ck_assert_msg(reg != NULL, "%s", err.text);
	const struct fpd_plugin *good = fpd_registry_find(reg, "good", 1);
	ck_assert_ptr_nonnull(good);
	ck_assert_str_eq(good->kind->kind, "Job");
	ck_assert_ptr_null(fpd_registry_find(reg, "bad", 0));
	ck_assert_uint_eq(fpd_registry_count(reg), 3); /* pod, crd, good */
	fpd_registry_free(reg);
	fpd_config_free(&cfg);
	fpd_crd_shutdown();
}
END_TEST

START_TEST(declare_replace_withdraw)
{
	struct fpd_registry *reg = fpd_registry_new();
	struct fpd_error err = {0};
	ck_assert_int_eq(fpd_registry_add(reg, &pod, &err), FPD_OK);
	json_t *d = decl("jobs", NULL);
	ck_assert_msg(fpd_tasktypes_declare(reg, d, &err) == 0, "%s", err.text);
	const struct fpd_plugin *first = fpd_registry_find(reg, "jobs", 0);
	ck_assert_ptr_nonnull(first);
	/* Again: the registry now points at the new descriptor, at the same place. */
	ck_assert_msg(fpd_tasktypes_declare(reg, d, &err) == 0, "%s", err.text);
	const struct fpd_plugin *second = fpd_registry_find(reg, "jobs", 0);
	ck_assert_ptr_ne(first, second);
	ck_assert_uint_eq(fpd_registry_count(reg), 2);
	ck_assert_ptr_eq(fpd_registry_at(reg, 1), second);
	/* A bad re-declaration leaves the good one in place. */
	json_t *bad = decl("jobs", "range(10)");
	ck_assert_int_eq(fpd_tasktypes_declare(reg, bad, &err), FPD_EINVAL);
	ck_assert_msg(strstr(err.text, "spec.status.succeeded: column 1: range"), "%s", err.text);
	ck_assert_ptr_eq(fpd_registry_find(reg, "jobs", 0), second);
	/* Built-in names and task types are not for taking. */
	json_t *steal = decl("pod", NULL);
	ck_assert_int_eq(fpd_tasktypes_declare(reg, steal, &err), FPD_EEXIST);
	json_t *steal_type = decl("other", NULL);
	json_object_set_new(json_object_get(steal_type, "taskType"), "name",
	                    json_string("python-task"));
	ck_assert_int_eq(fpd_tasktypes_declare(reg, steal_type, &err), FPD_EEXIST);
	ck_assert_ptr_eq(fpd_registry_find(reg, "python-task", 0), &pod);
	ck_assert_int_eq(fpd_tasktypes_withdraw(reg, "jobs"), FPD_OK);
	ck_assert_ptr_null(fpd_registry_find(reg, "jobs", 0));
	ck_assert_int_eq(fpd_tasktypes_withdraw(reg, "jobs"), FPD_ENOENT);
	ck_assert_int_eq(fpd_tasktypes_withdraw(reg, "pod"), FPD_ENOENT);
	ck_assert_uint_eq(fpd_registry_count(reg), 1);
	json_decref(d);
	json_decref(bad);
	json_decref(steal);
	json_decref(steal_type);
	fpd_registry_free(reg);
	fpd_crd_shutdown();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("engine_tasktypes");
	TCase *tc = tcase_create("tasktypes");
	tcase_add_test(tc, config_declares_good_types_and_refuses_bad_ones);
	tcase_add_test(tc, declare_replace_withdraw);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
