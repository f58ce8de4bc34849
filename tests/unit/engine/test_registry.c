#include "engine/registry.h"
#include "fpd_test.h"

static const struct fpd_task_type spark_types[] = {{"spark", 0}};
static const struct fpd_task_type pod_types[] = {{"python-task", 0}, {"sidecar", 1}};
static const struct fpd_plugin spark = {FPD_PLUGIN_ABI, "spark", spark_types, 1};
static const struct fpd_plugin pod = {FPD_PLUGIN_ABI, "pod", pod_types, 2};

START_TEST(find_by_type_and_version)
{
	struct fpd_registry *reg = fpd_registry_new();
	struct fpd_error err;
	ck_assert_int_eq(fpd_registry_add(reg, &pod, &err), FPD_OK);
	ck_assert_int_eq(fpd_registry_add(reg, &spark, &err), FPD_OK);
	ck_assert_ptr_eq(fpd_registry_find(reg, "sidecar", 1), &pod);
	ck_assert_ptr_null(fpd_registry_find(reg, "sidecar", 0));
	ck_assert_ptr_eq(fpd_registry_find(reg, "spark", 0), &spark);
	ck_assert_ptr_null(fpd_registry_find(reg, "ray", 0));
	ck_assert_ptr_eq(fpd_registry_by_name(reg, "spark"), &spark);
	ck_assert_uint_eq(fpd_registry_count(reg), 2);
	ck_assert_ptr_eq(fpd_registry_at(reg, 0), &pod);
	ck_assert_ptr_null(fpd_registry_at(reg, 2));
	fpd_registry_free(reg);
}
END_TEST

START_TEST(rejects_conflicts_and_bad_descriptors)
{
	struct fpd_registry *reg = fpd_registry_new();
	struct fpd_error err;
	ck_assert_int_eq(fpd_registry_add(reg, &pod, &err), FPD_OK);
	ck_assert_int_eq(fpd_registry_add(reg, &pod, &err), FPD_EEXIST);

	static const struct fpd_plugin other = {FPD_PLUGIN_ABI, "other", pod_types + 1, 1};
	ck_assert_int_eq(fpd_registry_add(reg, &other, &err), FPD_EEXIST);
	ck_assert_ptr_nonnull(strstr(err.text, "sidecar"));
	ck_assert_ptr_nonnull(strstr(err.text, "\"pod\""));

	static const struct fpd_plugin old_abi = {FPD_PLUGIN_ABI + 7, "future", spark_types, 1};
	ck_assert_int_eq(fpd_registry_add(reg, &old_abi, &err), FPD_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.text, "ABI"));
	/* ABI 2 and 3 descriptors still load (3 only added a field at the end of the status
	 * context, 4 changed what the daemon exports, no layout); ABI 1 ones do not. */
	static const struct fpd_task_type abi2_types[] = {{"abi2-task", 0}};
	static const struct fpd_plugin abi2 = {2, "abi2", abi2_types, 1};
	ck_assert_int_eq(fpd_registry_add(reg, &abi2, &err), FPD_OK);
	static const struct fpd_task_type abi3_types[] = {{"abi3-task", 0}};
	static const struct fpd_plugin abi3 = {3, "abi3", abi3_types, 1};
	ck_assert_int_eq(fpd_registry_add(reg, &abi3, &err), FPD_OK);
	static const struct fpd_plugin abi1 = {1, "abi1", spark_types, 1};
	ck_assert_int_eq(fpd_registry_add(reg, &abi1, &err), FPD_EINVAL);

	static const struct fpd_plugin bad_name = {FPD_PLUGIN_ABI, "Bad Name", spark_types, 1};
	ck_assert_int_eq(fpd_registry_add(reg, &bad_name, &err), FPD_EINVAL);

	static const struct fpd_plugin no_types = {FPD_PLUGIN_ABI, "empty", NULL, 0};
	ck_assert_int_eq(fpd_registry_add(reg, &no_types, &err), FPD_EINVAL);
	ck_assert_uint_eq(fpd_registry_count(reg), 3); /* pod, abi2 and abi3 */
	fpd_registry_free(reg);
}
END_TEST

START_TEST(put_replaces_by_name_and_remove_drops)
{
	struct fpd_registry *reg = fpd_registry_new();
	struct fpd_error err = {0};
	ck_assert_int_eq(fpd_registry_put(reg, &pod, &err), FPD_OK);
	ck_assert_int_eq(fpd_registry_put(reg, &spark, &err), FPD_OK);
	/* Same name, other task types: replaces in place; the old types are gone. */
	static const struct fpd_task_type new_types[] = {{"python-task", 0}, {"container", 0}};
	static const struct fpd_plugin pod2 = {FPD_PLUGIN_ABI, "pod", new_types, 2};
	ck_assert_int_eq(fpd_registry_put(reg, &pod2, &err), FPD_OK);
	ck_assert_ptr_eq(fpd_registry_at(reg, 0), &pod2);
	ck_assert_ptr_null(fpd_registry_find(reg, "sidecar", 1));
	ck_assert_ptr_eq(fpd_registry_find(reg, "container", 0), &pod2);
	/* A replacement may not take another plugin's task type. */
	static const struct fpd_plugin pod3 = {FPD_PLUGIN_ABI, "pod", spark_types, 1};
	ck_assert_int_eq(fpd_registry_put(reg, &pod3, &err), FPD_EEXIST);
	ck_assert_ptr_eq(fpd_registry_at(reg, 0), &pod2);
	ck_assert_int_eq(fpd_registry_remove(reg, "pod"), FPD_OK);
	ck_assert_int_eq(fpd_registry_remove(reg, "pod"), FPD_ENOENT);
	ck_assert_uint_eq(fpd_registry_count(reg), 1);
	ck_assert_ptr_eq(fpd_registry_at(reg, 0), &spark);
	/* A plugin serving no task type of its own is fine when it only owns settings. */
	static const struct fpd_schema_field fields[] = {{.key = "x", .type = FPD_SCHEMA_BOOL}, {0}};
	static const struct fpd_plugin settings_only = {
	    .abi = FPD_PLUGIN_ABI, .name = "crd", .settings_schema = fields, .settings_size = 1};
	ck_assert_int_eq(fpd_registry_add(reg, &settings_only, &err), FPD_OK);
	fpd_registry_free(reg);
}
END_TEST

START_TEST(name_limits_are_0_or_8_to_253)
{
	/* Flyte refuses a GeneratedNameMaxLength under 8 (the hashed form's length); a name
	 * longer than a DNS-1123 subdomain could not be created. */
	static const struct {
		uint32_t limit;
		int want;
	} cases[] = {{0, FPD_OK},  {7, FPD_EINVAL}, {8, FPD_OK},
	             {47, FPD_OK}, {253, FPD_OK},   {254, FPD_EINVAL}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fpd_registry *reg = fpd_registry_new();
		struct fpd_error err = {0};
		const struct fpd_plugin p = {.abi = FPD_PLUGIN_ABI,
		                             .name = "limited",
		                             .task_types = spark_types,
		                             .task_type_count = 1,
		                             .name_max_len = cases[i].limit};
		int rc = fpd_registry_add(reg, &p, &err);
		ck_assert_msg(rc == cases[i].want, "limit %u: expected %d, got %d (%s)",
		              cases[i].limit, cases[i].want, rc, err.text);
		if (rc)
			ck_assert_msg(strstr(err.text, "limits object names") != NULL,
			              "limit %u: message [%s]", cases[i].limit, err.text);
		fpd_registry_free(reg);
	}
}
END_TEST

START_TEST(loads_external_plugins)
{
	struct fpd_registry *reg = fpd_registry_new();
	struct fpd_error err;
	size_t n;
	ck_assert_int_eq(fpd_registry_load_dir(reg, PLUGINS_OK, &n, &err), FPD_OK);
	ck_assert_uint_eq(n, 1);
	const struct fpd_plugin *p = fpd_registry_find(reg, "extra-task", 0);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p->name, "extra");
	/* Another ABI is refused, naming the file. */
	ck_assert_int_eq(fpd_registry_load_dir(reg, PLUGINS_BAD, &n, &err), FPD_EINVAL);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_nonnull(strstr(err.text, "badabi-plugin.so"));
	ck_assert_ptr_nonnull(strstr(err.text, "ABI 999"));
	ck_assert_ptr_null(fpd_registry_by_name(reg, "future"));
	ck_assert_int_eq(fpd_registry_load_dir(reg, "/no/such/dir", &n, &err), FPD_EIO);
	fpd_registry_free(reg);
}
END_TEST

/* Two plugins for one task type: plugins.routes gives the second the namespaces it names. */
static const struct fpd_task_type torch_types[] = {{"pytorch", 0}, {"pytorch", 1}};
static const struct fpd_task_type torch_v0[] = {{"pytorch", 0}};
static const struct fpd_plugin job_v1 = {FPD_PLUGIN_ABI, "pytorch", torch_types, 2};
static const struct fpd_plugin job_v2 = {FPD_PLUGIN_ABI, "trainer", torch_v0, 1};

/* The registry yaml asks for from pod, job_v1 and, when with_v2, job_v2. */
static struct fpd_registry *routed_registry(const char *yaml, bool with_v2, struct fpd_error *err)
{
	static const struct fpd_plugin *const builtins[] = {&pod, &job_v1, &job_v2};
	struct fpd_config cfg;
	ck_assert_msg(fpd_config_load_text(yaml, strlen(yaml), "t.yaml", &cfg, err) == FPD_OK,
	              "config: %s", err->text);
	struct fpd_registry *reg = fpd_registry_from_config(builtins, with_v2 ? 3 : 2, &cfg, err);
	fpd_config_free(&cfg);
	return reg;
}

START_TEST(routes_choose_by_namespace)
{
	struct fpd_error err = {0};
	struct fpd_registry *reg = routed_registry(
	    "plugins:\n"
	    "  routes:\n"
	    "  - {task_type: pytorch, namespaces: ['ml-*', team-x], plugin: trainer}\n"
	    "  - {task_type: pytorch, namespaces: ['ml-old'], plugin: pytorch}\n",
	    true, &err);
	ck_assert_msg(reg != NULL, "%s", err.text);
	ck_assert_ptr_eq(fpd_registry_route(reg, "pytorch", 0, "ml-a"), &job_v2);
	ck_assert_ptr_eq(fpd_registry_route(reg, "pytorch", 0, "team-x"), &job_v2);
	/* First match wins: ml-old matches ml-* first. */
	ck_assert_ptr_eq(fpd_registry_route(reg, "pytorch", 0, "ml-old"), &job_v2);
	ck_assert_ptr_eq(fpd_registry_route(reg, "pytorch", 0, "team-b"), &job_v1);
	/* A version the routed plugin does not serve goes to the default. */
	ck_assert_ptr_eq(fpd_registry_route(reg, "pytorch", 1, "ml-a"), &job_v1);
	ck_assert_ptr_eq(fpd_registry_route(reg, "python-task", 0, "ml-a"), &pod);
	ck_assert_ptr_null(fpd_registry_route(reg, "ray", 0, "ml-a"));
	/* The default is the plugin registered first. */
	ck_assert_ptr_eq(fpd_registry_find(reg, "pytorch", 0), &job_v1);
	fpd_registry_free(reg);

	/* No namespaces: every namespace (a global route). */
	reg = routed_registry("plugins:\n  routes: [{task_type: pytorch, plugin: trainer}]\n", true,
	                      &err);
	ck_assert_msg(reg != NULL, "%s", err.text);
	ck_assert_ptr_eq(fpd_registry_route(reg, "pytorch", 0, "anything"), &job_v2);
	fpd_registry_free(reg);
}
END_TEST

START_TEST(routes_are_checked_at_start)
{
	static const struct {
		const char *yaml;
		bool with_v2;
		const char *want;
	} cases[] = {
	    /* Without a route the second plugin for a type is refused, as before. */
	    {"plugins: {}\n", true, "served by both \"pytorch\" and \"trainer\""},
	    {"plugins:\n  routes: [{task_type: pytorch, plugin: tranier}]\n", false,
	     "plugins.routes[0].plugin: no plugin \"tranier\" is loaded"},
	    {"plugins:\n  enabled: [pod, pytorch]\n  routes: [{task_type: pytorch, plugin: "
	     "trainer}]\n",
	     true, "plugins.routes[0].plugin: no plugin \"trainer\" is loaded"},
	    {"plugins:\n  routes: [{task_type: pytorch, plugin: trainer}, {task_type: sidecar, "
	     "plugin: trainer}]\n",
	     true,
	     "plugins.routes[1].task_type: plugin \"trainer\" does not serve task type sidecar"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fpd_error err = {0};
		struct fpd_registry *reg = routed_registry(cases[i].yaml, cases[i].with_v2, &err);
		ck_assert_msg(reg == NULL, "case %zu: accepted", i);
		ck_assert_msg(strstr(err.text, cases[i].want) != NULL,
		              "case %zu: expected [%s] in [%s]", i, cases[i].want, err.text);
	}
	/* The configuration's own checks: both names, well-formed namespace patterns. */
	static const char *const bad[] = {
	    "plugins:\n  routes: [{task_type: pytorch}]\n",
	    "plugins:\n  routes: [{task_type: pytorch, plugin: trainer, namespaces: ['ML_*']}]\n",
	    "plugins:\n  routes: [{task_type: pytorch, plugin: trainer, nodes: 1}]\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fpd_config cfg;
		struct fpd_error err = {0};
		ck_assert_msg(fpd_config_load_text(bad[i], strlen(bad[i]), "t.yaml", &cfg, &err) ==
		                  FPD_EINVAL,
		              "bad %zu accepted", i);
		ck_assert_msg(strstr(err.text, "plugins.routes") != NULL ||
		                  strstr(err.text, "nodes") != NULL,
		              "bad %zu: [%s]", i, err.text);
	}
}
END_TEST

START_TEST(loads_listed_modules)
{
	struct fpd_error err = {0};
	struct fpd_registry *reg = routed_registry(
	    "plugins:\n  modules: [\"" PLUGINS_OK "/ok-plugin.so\"]\n", false, &err);
	ck_assert_msg(reg != NULL, "%s", err.text);
	ck_assert_ptr_nonnull(fpd_registry_by_name(reg, "extra"));
	fpd_registry_free(reg);
	reg = routed_registry("plugins:\n  modules: [/no/such/module.so]\n", false, &err);
	ck_assert_ptr_null(reg);
	ck_assert_msg(strstr(err.text, "plugins.modules[0]") &&
	                  strstr(err.text, "/no/such/module.so"),
	              "%s", err.text);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("engine/registry");
	TCase *tc = tcase_create("registry");
	tcase_add_test(tc, find_by_type_and_version);
	tcase_add_test(tc, rejects_conflicts_and_bad_descriptors);
	tcase_add_test(tc, name_limits_are_0_or_8_to_253);
	tcase_add_test(tc, put_replaces_by_name_and_remove_drops);
	tcase_add_test(tc, loads_external_plugins);
	tcase_add_test(tc, routes_choose_by_namespace);
	tcase_add_test(tc, routes_are_checked_at_start);
	tcase_add_test(tc, loads_listed_modules);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
