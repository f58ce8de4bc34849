/*
 * Unit tests for daemon/engine/build.c, the one build pipeline CreateTask and `flyteplugd
 * render` share: a typed request through prepare, the built-in Pod plugin and decoration, and
 * each way a request is refused (before any plugin runs, or by the plugin).
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

int main(void)
{
	Suite *s = suite_create("engine/build");
	TCase *tc = tcase_create("build");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, builds_a_decorated_pod);
	tcase_add_test(tc, refused_before_any_plugin);
	tcase_add_test(tc, refused_by_the_plugin);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
