/*
 * Unit tests for daemon/engine/build.c, the one build pipeline CreateTask and `flyteplugd
 * render` share: a typed request through prepare, the built-in Pod plugin and decoration, and
 * each way a request is refused (before any plugin runs, by the caller policy, by the plugin,
 * by the Pod Security check), and where each plugin's pod specs are read.
 */
#include "builtin.h"
#include "engine/build.h"
#include "engine/decorate.h"
#include "fpd_test.h"

#include <flyteplugd/object.h>

static struct fpd_config cfg;
static struct fpd_registry *reg;
static struct fpd_plugin_settings *ps;

static void setup(void)
{
	struct fpd_error err;
	fpd_config_defaults(&cfg);
	size_t n;
	const struct fpd_plugin *const *builtins = fpd_builtin_plugins(&n);
	reg = fpd_registry_from_config(builtins, n, &cfg, &err);
	ck_assert_ptr_nonnull(reg);
	ps = fpd_plugin_settings_load(reg, &cfg, &err);
	ck_assert_ptr_nonnull(ps);
}

static void teardown(void)
{
	fpd_plugin_settings_free(ps);
	fpd_registry_free(reg);
	fpd_config_free(&cfg);
}

/* A python-task request: one container, an execution, labels and env. */
struct sample {
	Flyteidl__Core__TaskTemplate tmpl;
	Flyteidl__Core__Container container;
	char *args[2];
	struct fpd_kv labels[1];
	struct fpd_kv env[1];
	struct fpd_task_request req;
};

static void sample_init(struct sample *s)
{
	memset(s, 0, sizeof(*s));
	flyteidl__core__task_template__init(&s->tmpl);
	flyteidl__core__container__init(&s->container);
	s->tmpl.type = "python-task";
	s->container.image = "python:3.12";
	s->args[0] = "pyflyte-execute";
	s->args[1] = "--inputs";
	s->container.args = s->args;
	s->container.n_args = 2;
	s->tmpl.target_case = FLYTEIDL__CORE__TASK_TEMPLATE__TARGET_CONTAINER;
	s->tmpl.container = &s->container;
	s->labels[0] = (struct fpd_kv){"team", "ml"};
	s->env[0] = (struct fpd_kv){"A", "1"};
	s->req.tmpl = &s->tmpl;
	s->req.output_prefix = "s3://b/meta/n0/data/0";
	struct fpd_task_meta *m = &s->req.meta;
	m->project = "flytesnacks";
	m->domain = "development";
	m->execution = "abc123";
	m->node_id = "n0";
	m->namespace_ = "flytesnacks-development";
	m->labels = s->labels;
	m->n_labels = 1;
	m->env = s->env;
	m->n_env = 1;
}

static int build_with(const struct fpd_policy *policy, const struct fpd_task_request *req,
                      struct fpd_built *b, struct fpd_error *err)
{
	struct fpd_build_env env = {&cfg, reg, ps, policy};
	fpd_error_clear(err);
	return fpd_build(&env, req, b, err);
}

static int build(const struct fpd_task_request *req, struct fpd_built *b, struct fpd_error *err)
{
	struct fpd_build_env env = {&cfg, reg, ps};
	fpd_error_clear(err);
	return fpd_build(&env, req, b, err);
}

static const char *env_value(const json_t *container, const char *name)
{
	size_t i;
	const json_t *e;
	json_array_foreach(json_object_get(container, "env"), i, e)
	{
		if (strcmp(fpd_json_str_or(e, "name", ""), name) == 0)
			return fpd_json_str(e, "value");
	}
	return NULL;
}

START_TEST(builds_a_decorated_pod)
{
	struct sample s;
	sample_init(&s);
	struct fpd_built b;
	struct fpd_error err;
	ck_assert_int_eq(build(&s.req, &b, &err), FPD_OK);
	ck_assert_msg(b.object != NULL, "no object: %s", err.text);
	ck_assert_str_eq(b.plugin->name, "pod");
	ck_assert_str_eq(fpd_json_str(b.object, "kind"), "Pod");
	ck_assert_str_eq(fpd_json_str(b.object, "metadata.name"), "abc123-n0-0");
	ck_assert_str_eq(fpd_json_str(b.object, "metadata.namespace"), "flytesnacks-development");
	ck_assert_str_eq(b.prepared.namespace_, "flytesnacks-development");
	ck_assert_str_eq(b.prepared.generated_name, "abc123-n0-0");
	const json_t *labels = fpd_json_get(b.object, "metadata.labels");
	ck_assert_str_eq(json_string_value(json_object_get(labels, "team")), "ml");
	ck_assert_str_eq(json_string_value(json_object_get(labels, FPD_LABEL_MANAGED_BY)),
	                 FPD_MANAGED_BY);
	const json_t *c = json_array_get(fpd_json_get(b.object, "spec.containers"), 0);
	ck_assert_str_eq(env_value(c, "A"), "1");
	ck_assert_str_eq(env_value(c, "FLYTE_INTERNAL_EXECUTION_ID"), "abc123");
	ck_assert_str_eq(env_value(c, "FLYTE_INTERNAL_EXECUTION_PROJECT"), "flytesnacks");
	fpd_built_free(&b);
}
END_TEST

START_TEST(refused_before_any_plugin)
{
	struct sample s;
	struct fpd_built b;
	struct fpd_error err;

	sample_init(&s);
	s.tmpl.type = "no-such-type";
	ck_assert_int_eq(build(&s.req, &b, &err), FPD_ENOENT);
	ck_assert_ptr_null(b.object);
	ck_assert_msg(strstr(err.text, "no plugin serves task type no-such-type"), "%s", err.text);

	sample_init(&s);
	s.req.tmpl = NULL;
	ck_assert_int_eq(build(&s.req, &b, &err), FPD_EINVAL);

	sample_init(&s);
	s.req.meta.node_id = NULL;
	ck_assert_int_eq(build(&s.req, &b, &err), FPD_EINVAL);
	ck_assert_msg(strstr(err.text, "execution name and node id"), "%s", err.text);
	ck_assert_ptr_null(b.object);

	sample_init(&s);
	fpd_strings_push(&cfg.namespaces.watch, "only-this-one");
	ck_assert_int_eq(build(&s.req, &b, &err), FPD_EPERM);
	ck_assert_msg(strstr(err.text, "flytesnacks-development"), "%s", err.text);
	ck_assert_ptr_null(b.object);
}
END_TEST

START_TEST(refused_by_the_plugin)
{
	struct sample s;
	sample_init(&s);
	s.tmpl.target_case = FLYTEIDL__CORE__TASK_TEMPLATE__TARGET__NOT_SET;
	s.tmpl.container = NULL;
	struct fpd_built b;
	struct fpd_error err;
	ck_assert_int_eq(build(&s.req, &b, &err), FPD_OK);
	ck_assert_ptr_null(b.object);
	ck_assert_msg(err.text[0] != '\0', "the plugin's refusal has no message");
	/* Who the attempt is stays known: CreateTask records the failure under its name. */
	ck_assert_str_eq(b.prepared.generated_name, "abc123-n0-0");
	fpd_built_free(&b);
}
END_TEST

START_TEST(refused_by_the_policy)
{
	struct fpd_policy *policy;
	struct fpd_error err;
	ck_assert_int_eq(fpd_policy_new(&cfg.policy, "flyteplugd", &policy, &err), FPD_OK);
	struct sample s;
	struct fpd_built b;

	/* Admitted at baseline: a plain container. */
	sample_init(&s);
	ck_assert_int_eq(build_with(policy, &s.req, &b, &err), FPD_OK);
	ck_assert_msg(b.object != NULL, "%s", err.text);
	ck_assert(!b.pod_security);
	fpd_built_free(&b);

	/* The caller rules refuse before anything is built. */
	const char *refused[][2] = {{"kube-system", "default"},
	                            {"flyteplugd", "default"},
	                            {"flytesnacks-development", "admin"}};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		sample_init(&s);
		s.req.meta.namespace_ = refused[i][0];
		s.req.meta.service_account = refused[i][1];
		ck_assert_int_eq(build_with(policy, &s.req, &b, &err), FPD_EPERM);
		ck_assert_ptr_null(b.object);
		ck_assert_ptr_null(b.plugin);
	}
	ck_assert_uint_eq(fpd_policy_stats(policy)->system_namespace, 2);
	ck_assert_uint_eq(fpd_policy_stats(policy)->service_account, 1);
	fpd_policy_free(policy);

	/* restricted: the plain container runs as root; the object is built, then refused. */
	cfg.policy.pod_security_level = FPD_PSS_RESTRICTED;
	ck_assert_int_eq(fpd_policy_new(&cfg.policy, "", &policy, &err), FPD_OK);
	sample_init(&s);
	ck_assert_int_eq(build_with(policy, &s.req, &b, &err), FPD_OK);
	ck_assert_ptr_null(b.object);
	ck_assert(b.pod_security);
	ck_assert_msg(strstr(err.text, "pod security \"restricted\": spec: ") == err.text, "%s",
	              err.text);
	ck_assert_str_eq(b.prepared.generated_name, "abc123-n0-0");
	ck_assert_uint_eq(fpd_policy_stats(policy)->pod_security, 1);
	fpd_built_free(&b);
	fpd_policy_free(policy);
}
END_TEST

/* pod_specs is read only from descriptors built for ABI 6 or later: an older one ends before
 * the field, so whatever lies there must not be read. */
START_TEST(pod_specs_by_abi)
{
	static const char *const mine[] = {"spec.x.spec", NULL};
	static const struct fpd_kind pod = {"v1", "Pod", "pods"};
	static const struct fpd_kind job = {"batch/v1", "Job", "jobs"};
	struct fpd_plugin p = {.abi = 5, .name = "old", .kind = &pod, .pod_specs = mine};
	const char *const *got = fpd_build_pod_specs(&p);
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got[0], "spec");
	ck_assert_ptr_null(got[1]);
	p.kind = &job;
	ck_assert_ptr_null(fpd_build_pod_specs(&p));
	p.abi = 6;
	ck_assert_ptr_eq(fpd_build_pod_specs(&p), mine);
	p.pod_specs = NULL;
	ck_assert_ptr_null(fpd_build_pod_specs(&p));
	p.kind = &pod;
	ck_assert_str_eq(fpd_build_pod_specs(&p)[0], "spec");

	/* Every built-in plugin that builds objects says where their pods are. */
	for (size_t i = 0; i < fpd_registry_count(reg); i++) {
		const struct fpd_plugin *b = fpd_registry_at(reg, i);
		if (b->build && strcmp(b->name, "crd") != 0)
			ck_assert_msg(fpd_build_pod_specs(b) != NULL,
			              "plugin %s declares no pod specs", b->name);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("engine/build");
	TCase *tc = tcase_create("build");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, builds_a_decorated_pod);
	tcase_add_test(tc, refused_before_any_plugin);
	tcase_add_test(tc, refused_by_the_plugin);
	tcase_add_test(tc, refused_by_the_policy);
	tcase_add_test(tc, pod_specs_by_abi);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
