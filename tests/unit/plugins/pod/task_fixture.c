/* Fixture loading for the pod plugin tests: see task_fixture.h. */
#include "task_fixture.h"

#include "fpd_test.h"
#include "pbjson.h"

#include <flyteplugd/object.h>

#include <flyteplugd/error.h>
#include "core/schema.h"
#include "core/yaml.h"

static const char *str_or(const json_t *o, const char *key, const char *def)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : def;
}

json_t *fpd_test_json_fixture(const char *rel)
{
	json_error_t e;
	json_t *j = json_load_file(fpd_fixture(rel), 0, &e);
	ck_assert_msg(j != NULL, "fixture %s: %s (line %d)", rel, e.text, e.line);
	return j;
}

/* Finds the first difference between *a and *b: its path goes into path, *a and *b are moved
 * to the values that differ there (NULL when missing). */
static void first_difference(const json_t **a, const json_t **b, char *path, size_t size)
{
	size_t len = strlen(path);
	const char *k;
	json_t *v;
	if (json_is_object(*a) && json_is_object(*b)) {
		json_object_foreach((json_t *)*a, k, v)
		{
			if (!json_equal(v, json_object_get(*b, k))) {
				snprintf(path + len, size - len, ".%s", k);
				*a = v;
				*b = json_object_get(*b, k);
				first_difference(a, b, path, size);
				return;
			}
		}
		json_object_foreach((json_t *)*b, k, v)
		{
			if (!json_object_get(*a, k)) {
				snprintf(path + len, size - len, ".%s", k);
				*a = NULL;
				*b = v;
				return;
			}
		}
	} else if (json_is_array(*a) && json_is_array(*b) &&
	           json_array_size(*a) == json_array_size(*b)) {
		for (size_t i = 0; i < json_array_size(*a); i++)
			if (!json_equal(json_array_get(*a, i), json_array_get(*b, i))) {
				snprintf(path + len, size - len, "[%zu]", i);
				*a = json_array_get(*a, i);
				*b = json_array_get(*b, i);
				first_difference(a, b, path, size);
				return;
			}
	}
}

void fpd_test_assert_json_eq(const json_t *expected, const json_t *actual, const char *what)
{
	if (json_equal(expected, actual))
		return;
	size_t flags = JSON_INDENT(1) | JSON_SORT_KEYS | JSON_ENCODE_ANY;
	char *e = json_dumps(expected, flags), *a = json_dumps(actual, flags);
	fprintf(stderr, "%s: expected\n%s\nbut got\n%s\n", what, e ? e : "NULL", a ? a : "NULL");
	free(e);
	free(a);
	char path[512] = "";
	first_difference(&expected, &actual, path, sizeof(path));
	e = expected ? json_dumps(expected, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	a = actual ? json_dumps(actual, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	ck_abort_msg("%s: differs at %s: expected %.300s, got %.300s (documents on stderr)", what,
	             *path ? path : "(root)", e ? e : "(nothing)", a ? a : "(nothing)");
}

static const char *kind_name(enum fpd_error_kind k)
{
	return k == FPD_KIND_USER ? "USER" : k == FPD_KIND_SYSTEM ? "SYSTEM" : "UNKNOWN";
}

static void check_str(const char *what, const char *field, const json_t *want, const char *got)
{
	const char *w = json_string_value(want);
	ck_assert_msg((!w && !got) || (w && got && !strcmp(w, got)),
	              "%s: %s: expected [%s], got [%s]", what, field, w ? w : "(none)",
	              got ? got : "(none)");
}

void fpd_test_assert_outcome(const json_t *expect, const struct fpd_phase_info *pi,
                             const char *what)
{
	const char *phase = json_string_value(json_object_get(expect, "phase"));
	ck_assert_msg(phase && !strcmp(fpd_phase_name(pi->phase), phase),
	              "%s: phase: expected %s, got %s", what, phase, fpd_phase_name(pi->phase));
	check_str(what, "code", json_object_get(expect, "code"), pi->code);
	check_str(what, "message", json_object_get(expect, "message"), pi->message);
	check_str(what, "kind", json_object_get(expect, "kind"), kind_name(pi->kind));
	bool cleanup = json_is_true(json_object_get(expect, "cleanup"));
	ck_assert_msg(pi->cleanup == cleanup, "%s: cleanup: expected %d, got %d", what, cleanup,
	              pi->cleanup);
	const char *recheck = json_string_value(json_object_get(expect, "recheck_at"));
	int64_t want_recheck = recheck ? fpd_time_parse(recheck) : 0;
	ck_assert_msg(pi->recheck_at_ms == want_recheck, "%s: recheck_at: expected %lld, got %lld",
	              what, (long long)want_recheck, (long long)pi->recheck_at_ms);
}

void fpd_test_assert_links(const json_t *expected, const struct fpd_phase_info *pi,
                           const char *what)
{
	json_t *got = json_array();
	for (size_t i = 0; i < pi->log_count; i++) {
		const struct fpd_log_link *l = &pi->logs[i];
		json_t *o = json_pack("{s:s,s:s}", "name", l->name, "uri", l->uri);
		if (l->show_while_pending)
			json_object_set_new(o, "showWhilePending", json_true());
		json_array_append_new(got, o);
	}
	json_t *none = json_array();
	fpd_test_assert_json_eq(expected ? expected : none, got, what);
	json_decref(none);
	json_decref(got);
}

void fpd_test_config_load(struct fpd_config *cfg, const json_t *config)
{
	struct fpd_error err = {0};
	if (!config) {
		fpd_config_defaults(cfg);
		return;
	}
	/* JSON is YAML: the configuration loader reads it as it is. */
	char *text = json_dumps(config, JSON_COMPACT);
	int rc = fpd_config_load_text(text, strlen(text), "fixture", cfg, &err);
	free(text);
	ck_assert_msg(rc == 0, "fixture config: %s", err.text);
}

void *fpd_test_plugin_settings(const struct fpd_plugin *plugin, const json_t *section)
{
	ck_assert_ptr_nonnull(plugin->settings_schema);
	void *data = calloc(1, plugin->settings_size);
	ck_assert_ptr_nonnull(data);
	if (plugin->settings_defaults)
		plugin->settings_defaults(data);
	if (!section)
		return data;
	/* JSON is YAML: the section goes through the same parser and schema as a file. */
	struct fpd_error err = {0};
	struct fpd_yaml_node *root = NULL;
	char *text = json_dumps(section, JSON_COMPACT);
	int rc = fpd_yaml_parse(text, strlen(text), "fixture", &root, &err);
	if (!rc)
		rc = fpd_schema_apply(plugin->settings_schema, root, data, "fixture", &err);
	fpd_yaml_free(root);
	ck_assert_msg(rc == 0, "plugins.settings.%s %s: %s", plugin->name, text, err.text);
	free(text);
	return data;
}

void fpd_test_plugin_settings_free(const struct fpd_plugin *plugin, void *settings)
{
	if (!settings)
		return;
	fpd_schema_free(plugin->settings_schema, settings);
	free(settings);
}

void fpd_test_config_free(struct fpd_config *cfg)
{
	fpd_config_free(cfg);
}

static void *proto(const ProtobufCMessageDescriptor *d, const json_t *j)
{
	char why[256];
	if (!j)
		return NULL;
	void *m = fpd_test_pb_from_json(d, j, why, sizeof(why));
	ck_assert_msg(m != NULL, "fixture %s: %s", d->name, why);
	return m;
}

static void fill_ref(struct fpd_task *task, const json_t *r, const json_t *tmpl)
{
	struct fpd_task_ref *ref = &task->ref;
	ref->project = str_or(r, "project", "flytesnacks");
	ref->domain = str_or(r, "domain", "development");
	ref->execution = str_or(r, "execution", "f8a4b2c1d0");
	ref->node_id = str_or(r, "node_id", "n0");
	ref->retry_attempt = (uint32_t)json_integer_value(json_object_get(r, "retry_attempt"));
	ref->task_project = str_or(r, "task_project", "flytesnacks");
	ref->task_domain = str_or(r, "task_domain", "development");
	ref->task_name = str_or(r, "task_name", "workflows.hello.say_hello");
	ref->task_version = str_or(r, "task_version", "v1");
	ref->task_type = str_or(tmpl, "type", "");
	ref->task_type_version =
	    (int32_t)json_integer_value(json_object_get(tmpl, "task_type_version"));
	ref->generated_name = str_or(r, "generated_name", "f8a4b2c1d0-n0-0");
	ref->namespace_ = str_or(r, "namespace", "flytesnacks-development");
	ref->link_types = str_or(r, "link_types", "");
}

static void fill_paths(struct fpd_task_paths *p, const json_t *j)
{
	p->input_path = str_or(j, "input_path", "s3://meta/f8a4b2c1d0/n0/inputs.pb");
	p->input_prefix = str_or(j, "input_prefix", "s3://meta/f8a4b2c1d0/n0");
	p->output_prefix = str_or(j, "output_prefix", "s3://meta/f8a4b2c1d0/n0/0");
	p->raw_output_prefix = str_or(j, "raw_output_prefix", "s3://raw/ab/f8a4b2c1d0-n0-0");
	p->checkpoint_prefix =
	    str_or(j, "checkpoint_prefix", "s3://raw/ab/f8a4b2c1d0-n0-0/_flytecheckpoints");
	p->prev_checkpoint_prefix = str_or(j, "prev_checkpoint_prefix", "");
	p->task_template_path = str_or(j, "task_template_path", "");
}

void fpd_test_task_load(struct fpd_test_task *t, json_t *fixture)
{
	memset(t, 0, sizeof(*t));
	t->fixture = json_incref(fixture);
	fpd_test_config_load(&t->cfg, json_object_get(fixture, "config"));
	const json_t *tmpl = json_object_get(fixture, "template");
	t->tmpl = proto(&flyteidl__core__task_template__descriptor, tmpl);
	ck_assert_msg(t->tmpl != NULL, "fixture has no template");
	t->meta = proto(&flyteidl__admin__task_execution_metadata__descriptor,
	                json_object_get(fixture, "meta"));
	t->inputs =
	    proto(&flyteidl__core__literal_map__descriptor, json_object_get(fixture, "inputs"));
	struct fpd_task *task = &t->task;
	fill_ref(task, json_object_get(fixture, "ref"), tmpl);
	fill_paths(&task->paths, json_object_get(fixture, "paths"));
	task->tmpl = t->tmpl;
	task->meta = t->meta;
	task->inputs = t->inputs;
	json_t *custom = json_object_get(tmpl, "custom");
	if (!custom) {
		custom = json_object();
		json_object_set_new(fixture, "custom_json", custom);
	}
	task->custom_json = custom;
	task->service_account = str_or(fixture, "service_account", "");
	task->interruptible = json_is_true(json_object_get(fixture, "interruptible"));
	json_t *env = json_object_get(fixture, "injected_env");
	if (!env) {
		env = json_array();
		json_object_set_new(fixture, "injected_env", env);
	}
	task->injected_env = env;
	task->settings = &t->cfg.settings;
}

void fpd_test_task_free(struct fpd_test_task *t)
{
	if (t->tmpl)
		protobuf_c_message_free_unpacked(&t->tmpl->base, NULL);
	if (t->meta)
		protobuf_c_message_free_unpacked(&t->meta->base, NULL);
	if (t->inputs)
		protobuf_c_message_free_unpacked(&t->inputs->base, NULL);
	fpd_test_config_free(&t->cfg);
	json_decref(t->fixture);
	memset(t, 0, sizeof(*t));
}

struct status_cases {
	const char *dir;
	const char *(*run)(const char *file, size_t i, json_t *c);
	const char *const *states;
	size_t n;
	bool *seen;
	size_t ran;
};

static void status_file(const char *name, void *ud)
{
	struct status_cases *sc = ud;
	char rel[512];
	snprintf(rel, sizeof(rel), "%s/%s", sc->dir, name);
	json_t *fx = fpd_test_json_fixture(rel);
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(fx, "cases"), i, c)
	{
		const char *st = sc->run(name, i, c);
		for (size_t k = 0; k < sc->n; k++)
			if (!strcmp(sc->states[k], st))
				sc->seen[k] = true;
		sc->ran++;
	}
	json_decref(fx);
}

size_t fpd_test_status_cases(const char *dir,
                             const char *(*run)(const char *file, size_t i, json_t *c),
                             const char *const *states, size_t n)
{
	struct status_cases sc = {dir, run, states, n, calloc(n ? n : 1, sizeof(bool)), 0};
	ck_assert_ptr_nonnull(sc.seen);
	fpd_fixture_each(dir, ".json", NULL, status_file, &sc);
	for (size_t k = 0; k < n; k++)
		ck_assert_msg(sc.seen[k], "no fixture case for state [%s]", states[k]);
	free(sc.seen);
	return sc.ran;
}
