/*
 * The Pod Security Standards checks (engine/podsecurity.h) against the fixtures of
 * tests/fixtures/podsecurity: <level>/<check>[-variant]-{pass,fail,invalid}.json is one pod
 * (metadata and spec) with, when refused, the exact message in "expect"; objects/ holds operator
 * objects with the paths their plugin declares. Every check of each level has a passing and a
 * failing fixture, and the objects the built-in plugins build (their build fixtures) are walked
 * with the paths each plugin would declare.
 */
#include "engine/podsecurity.h"

#include <flyteplugd/error.h>
#include "fpd_test.h"

#include <jansson.h>
#include <stdbool.h>

static json_t *load_json(const char *rel)
{
	json_error_t jerr;
	json_t *v = json_load_file(fpd_fixture(rel), 0, &jerr);
	ck_assert_msg(v != NULL, "%s: %s (line %d)", rel, jerr.text, jerr.line);
	return v;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcmp(s + n - m, suffix);
}

/* The code a fixture's name asks for. */
static int wanted(const char *name)
{
	if (ends_with(name, "-fail.json"))
		return FPD_EPERM;
	if (ends_with(name, "-invalid.json"))
		return FPD_EINVAL;
	ck_assert_msg(ends_with(name, "-pass.json"), "%s: name must end -pass, -fail, -invalid",
	              name);
	return FPD_OK;
}

static void check_result(const char *rel, int rc, const struct fpd_error *err, int want,
                         const json_t *fixture)
{
	ck_assert_msg(rc == want, "%s: expected %s, got %s: %s", rel, fpd_strerror(want),
	              fpd_strerror(rc), rc ? err->text : "");
	if (want == FPD_OK)
		return;
	const char *expect = json_string_value(json_object_get(fixture, "expect"));
	ck_assert_msg(expect != NULL, "%s has no \"expect\"", rel);
	ck_assert_msg(!strcmp(err->text, expect), "%s:\n expected: %s\n      got: %s", rel, expect,
	              err->text);
}

struct level_run {
	const char *dir;
	enum fpd_pss_level level;
	size_t refused;
};

static void run_pod_fixture(const char *name, void *ud)
{
	struct level_run *r = ud;
	char rel[512];
	snprintf(rel, sizeof(rel), "podsecurity/%s/%s", r->dir, name);
	json_t *f = load_json(rel);
	struct fpd_error err;
	fpd_error_clear(&err);
	int want = wanted(name);
	int rc = fpd_podsecurity_check(r->level, json_object_get(f, "spec"),
	                               json_object_get(f, "metadata"), &err);
	check_result(rel, rc, &err, want, f);
	r->refused += rc == FPD_EPERM;
	json_decref(f);
}

START_TEST(baseline_fixtures)
{
	struct level_run r = {"baseline", FPD_PSS_BASELINE, 0};
	ck_assert_uint_ge(
	    fpd_fixture_each("podsecurity/baseline", ".json", NULL, run_pod_fixture, &r), 40);
	ck_assert_uint_ge(r.refused, 20);
}
END_TEST

START_TEST(restricted_fixtures)
{
	struct level_run r = {"restricted", FPD_PSS_RESTRICTED, 0};
	ck_assert_uint_ge(
	    fpd_fixture_each("podsecurity/restricted", ".json", NULL, run_pod_fixture, &r), 50);
	ck_assert_uint_ge(r.refused, 25);
}
END_TEST

START_TEST(privileged_fixtures)
{
	struct level_run r = {"privileged", FPD_PSS_PRIVILEGED, 0};
	ck_assert_uint_eq(
	    fpd_fixture_each("podsecurity/privileged", ".json", NULL, run_pod_fixture, &r), 1);
}
END_TEST

/* Each published check, by level, has a fixture that passes and one that fails. */
START_TEST(every_check_has_fixtures)
{
	static const char *const baseline[] = {"windowsHostProcess",
	                                       "hostNamespaces",
	                                       "privileged",
	                                       "capabilities_baseline",
	                                       "hostPathVolumes",
	                                       "hostPorts",
	                                       "hostProbesAndHostLifecycle",
	                                       "appArmorProfile",
	                                       "seLinuxOptions",
	                                       "procMount",
	                                       "seccompProfile_baseline",
	                                       "sysctls",
	                                       NULL};
	static const char *const restricted[] = {"windowsHostProcess",
	                                         "hostNamespaces",
	                                         "privileged",
	                                         "hostPorts",
	                                         "hostProbesAndHostLifecycle",
	                                         "appArmorProfile",
	                                         "seLinuxOptions",
	                                         "procMount_restricted",
	                                         "sysctls",
	                                         "restrictedVolumes",
	                                         "allowPrivilegeEscalation",
	                                         "runAsNonRoot",
	                                         "runAsUser",
	                                         "seccompProfile_restricted",
	                                         "capabilities_restricted",
	                                         NULL};
	static const struct {
		const char *dir;
		const char *const *ids;
	} levels[] = {{"baseline", baseline}, {"restricted", restricted}};
	for (size_t l = 0; l < 2; l++)
		for (const char *const *id = levels[l].ids; *id; id++)
			for (int pass = 0; pass < 2; pass++) {
				char rel[256];
				snprintf(rel, sizeof(rel), "podsecurity/%s/%s-%s.json",
				         levels[l].dir, *id, pass ? "pass" : "fail");
				FILE *f = fopen(fpd_fixture(rel), "r");
				ck_assert_msg(f != NULL, "missing fixture %s", rel);
				fclose(f);
			}
}
END_TEST

/* A failing fixture fails for the check its name gives (the "(check: X)" of its message). */
static void check_named(const char *name, void *ud)
{
	const char *dir = ud;
	char rel[512];
	if (!ends_with(name, "-fail.json"))
		return;
	snprintf(rel, sizeof(rel), "podsecurity/%s/%s", dir, name);
	json_t *f = load_json(rel);
	char id[128];
	snprintf(id, sizeof(id), "(check: %.*s)", (int)strcspn(name, "-"), name);
	const char *expect = json_string_value(json_object_get(f, "expect"));
	ck_assert_msg(expect && strstr(expect, id), "%s: expected a message ending %s", rel, id);
	json_decref(f);
}

START_TEST(fail_fixtures_name_their_check)
{
	fpd_fixture_each("podsecurity/baseline", ".json", "baseline-pod-fail.json", check_named,
	                 "baseline");
	fpd_fixture_each("podsecurity/restricted", ".json", "baseline-pod-fail.json", check_named,
	                 "restricted");
}
END_TEST

static enum fpd_pss_level level_named(const char *s)
{
	if (!strcmp(s, "privileged"))
		return FPD_PSS_PRIVILEGED;
	if (!strcmp(s, "restricted"))
		return FPD_PSS_RESTRICTED;
	ck_assert_str_eq(s, "baseline");
	return FPD_PSS_BASELINE;
}

static void run_object_fixture(const char *name, void *ud)
{
	size_t *refused = ud;
	char rel[512];
	snprintf(rel, sizeof(rel), "podsecurity/objects/%s", name);
	json_t *f = load_json(rel);
	const json_t *jpaths = json_object_get(f, "paths");
	const char *paths[16] = {0};
	ck_assert(json_array_size(jpaths) < 16);
	for (size_t i = 0; i < json_array_size(jpaths); i++)
		paths[i] = json_string_value(json_array_get(jpaths, i));
	struct fpd_error err;
	fpd_error_clear(&err);
	int rc = fpd_podsecurity_check_object(
	    level_named(json_string_value(json_object_get(f, "level"))),
	    json_object_get(f, "object"), paths, &err);
	check_result(rel, rc, &err, wanted(name), f);
	*refused += rc == FPD_EPERM;
	json_decref(f);
}

START_TEST(object_fixtures)
{
	size_t refused = 0;
	ck_assert_uint_ge(
	    fpd_fixture_each("podsecurity/objects", ".json", NULL, run_object_fixture, &refused),
	    15);
	ck_assert_uint_ge(refused, 10);
}
END_TEST

/* The pod spec paths each built-in plugin would declare (podsecurity.h's path language). */
static const char *const pod_paths[] = {"spec", NULL};
static const char *const kubeflow_paths[] = {"spec.pytorchReplicaSpecs.*.template.spec",
                                             "spec.tfReplicaSpecs.*.template.spec",
                                             "spec.mpiReplicaSpecs.*.template.spec", NULL};
static const char *const spark_paths[] = {"spark:spec.driver", "spark:spec.executor",
                                          "spec.driver.template.spec",
                                          "spec.executor.template.spec", NULL};
static const char *const ray_paths[] = {"spec.rayClusterSpec.headGroupSpec.template.spec",
                                        "spec.rayClusterSpec.workerGroupSpecs.*.template.spec",
                                        "spec.submitterPodTemplate.spec", NULL};
static const char *const dask_paths[] = {"spec.job.spec", "spec.cluster.spec.scheduler.spec",
                                         "spec.cluster.spec.worker.spec", NULL};

struct built {
	const char *dir;
	const char *const *paths;
	size_t checked;
};

/* The built objects baseline refuses: tasks asking for the host network, which Flyte copies
 * onto the pod (and onto a SparkPodSpec). Every other built object passes. */
static const struct {
	const char *rel;
	const char *message;
} refused_builds[] = {
    {"pod/build/container-settings.json",
     "spec: pod: hostNetwork=true is not allowed (check: hostNamespaces)"},
    {"spark/build/pod-templates.json",
     "spark:spec.executor: pod: hostNetwork=true is not allowed (check: hostNamespaces)"},
    {"spark/build/operator-v2-role-templates.json",
     "spark:spec.executor: pod: hostNetwork=true is not allowed (check: hostNamespaces)"},
    {"spark/build/r-security.json",
     "spark:spec.driver: pod: hostNetwork=true is not allowed (check: hostNamespaces)"},
};

static const char *refusal_of(const char *rel)
{
	for (size_t i = 0; i < sizeof(refused_builds) / sizeof(refused_builds[0]); i++)
		if (!strcmp(refused_builds[i].rel, rel))
			return refused_builds[i].message;
	return NULL;
}

/* Each case's "expect" of a plugin's build fixture: the object the plugin builds. */
static void run_built(const char *name, void *ud)
{
	struct built *b = ud;
	char rel[512];
	snprintf(rel, sizeof(rel), "%s/%s", b->dir, name);
	json_t *f = load_json(rel);
	const json_t *cases = json_object_get(f, "cases");
	size_t n = cases ? json_array_size(cases) : 1;
	for (size_t i = 0; i < n; i++) {
		const json_t *c = cases ? json_array_get(cases, i) : f;
		const json_t *obj = json_object_get(c, "expect");
		if (json_is_object(json_object_get(obj, "object")))
			obj = json_object_get(obj, "object");
		if (!json_is_object(obj) || !json_object_get(obj, "spec"))
			continue;
		struct fpd_error err;
		fpd_error_clear(&err);
		int rc = fpd_podsecurity_check_object(FPD_PSS_BASELINE, obj, b->paths, &err);
		const char *refusal = refusal_of(rel);
		ck_assert_msg(rc == (refusal ? FPD_EPERM : FPD_OK), "%s: %s", rel,
		              rc ? err.text : "passed");
		if (refusal)
			ck_assert_msg(strstr(err.text, refusal), "%s: %s", rel, err.text);
		b->checked++;
	}
	json_decref(f);
}

START_TEST(built_objects_meet_baseline)
{
	struct built plugins[] = {
	    {"pod/build", pod_paths, 0},     {"kubeflow/build", kubeflow_paths, 0},
	    {"ray/build", ray_paths, 0},     {"dask/build", dask_paths, 0},
	    {"spark/build", spark_paths, 0},
	};
	for (size_t i = 0; i < sizeof(plugins) / sizeof(plugins[0]); i++) {
		fpd_fixture_each(plugins[i].dir, ".json", "errors.json", run_built, &plugins[i]);
		ck_assert_msg(plugins[i].checked >= 3, "%s: only %zu built objects checked",
		              plugins[i].dir, plugins[i].checked);
	}
}
END_TEST

START_TEST(type_errors_are_einval)
{
	struct fpd_error err;
	json_t *spec = json_pack("{s:s}", "hostNetwork", "true");
	ck_assert_int_eq(fpd_podsecurity_check(FPD_PSS_BASELINE, spec, NULL, &err), FPD_EINVAL);
	ck_assert_str_eq(err.text, "pod security \"baseline\": pod: hostNetwork must be a boolean");
	json_decref(spec);
	spec = json_pack("{s:{s:[i]}}", "securityContext", "sysctls", 1);
	ck_assert_int_eq(fpd_podsecurity_check(FPD_PSS_BASELINE, spec, NULL, &err), FPD_EINVAL);
	ck_assert_str_eq(err.text, "pod security \"baseline\": pod: securityContext.sysctls[0] "
	                           "must be an object");
	json_decref(spec);
	spec = json_pack("{s:[{s:s,s:i}]}", "containers", "name", "main", "securityContext", 3);
	ck_assert_int_eq(fpd_podsecurity_check(FPD_PSS_BASELINE, spec, NULL, &err), FPD_EINVAL);
	ck_assert_str_eq(err.text, "pod security \"baseline\": container \"main\": "
	                           "securityContext must be an object");
	json_decref(spec);
	ck_assert_int_eq(fpd_podsecurity_check(FPD_PSS_BASELINE, json_null(), NULL, &err),
	                 FPD_EINVAL);
	ck_assert_int_eq(fpd_podsecurity_check((enum fpd_pss_level)7, json_null(), NULL, &err),
	                 FPD_EINVAL);
	ck_assert_str_eq(err.text, "pod security: unknown level 7");
}
END_TEST

/* Absent and null fields are unset, as Kubernetes reads them. */
START_TEST(null_is_unset)
{
	struct fpd_error err;
	json_t *spec =
	    json_pack("{s:n,s:n,s:[{s:s,s:{s:n,s:n}}]}", "hostNetwork", "volumes", "containers",
	              "name", "main", "securityContext", "privileged", "capabilities");
	ck_assert_int_eq(fpd_podsecurity_check(FPD_PSS_BASELINE, spec, NULL, &err), FPD_OK);
	json_decref(spec);
}
END_TEST

START_TEST(object_paths_refused)
{
	struct fpd_error err;
	json_t *obj = json_pack("{s:{}}", "spec");
	static const char *const star_spark[] = {"spark:spec.*", NULL};
	static const char *const empty[] = {"", NULL};
	static const char *const none[] = {NULL};
	ck_assert_int_eq(fpd_podsecurity_check_object(FPD_PSS_BASELINE, obj, star_spark, &err),
	                 FPD_EINVAL);
	ck_assert_msg(strstr(err.text, "a Spark pod needs a named role"), "%s", err.text);
	ck_assert_int_eq(fpd_podsecurity_check_object(FPD_PSS_BASELINE, obj, empty, &err),
	                 FPD_EINVAL);
	ck_assert_int_eq(fpd_podsecurity_check_object(FPD_PSS_BASELINE, obj, none, &err),
	                 FPD_EINVAL);
	ck_assert_str_eq(err.text, "pod security: no pod spec paths given");
	ck_assert_int_eq(
	    fpd_podsecurity_check_object(FPD_PSS_BASELINE, json_null(), pod_paths, &err),
	    FPD_EINVAL);
	/* an empty spec is a pod with nothing to refuse */
	ck_assert_int_eq(fpd_podsecurity_check_object(FPD_PSS_BASELINE, obj, pod_paths, &err),
	                 FPD_OK);
	json_decref(obj);
}
END_TEST

/* "**" finds pod specs by shape wherever they are, with their metadata, and checks them all. */
START_TEST(search_by_shape)
{
	struct fpd_error err;
	static const char *const search[] = {FPD_POD_SPECS_SEARCH, NULL};
	json_t *obj = json_loads(
	    "{\"spec\":{\"groups\":[{\"template\":{\"metadata\":{},\"spec\":{\"containers\":"
	    "[{\"name\":\"a\"}]}}},{\"template\":{\"metadata\":{\"annotations\":{"
	    "\"container.apparmor.security.beta.kubernetes.io/b\":\"unconfined\"}},\"spec\":"
	    "{\"containers\":[{\"name\":\"b\"}]}}}]}}",
	    0, NULL);
	ck_assert_ptr_nonnull(obj);
	ck_assert_int_eq(fpd_podsecurity_check_object(FPD_PSS_BASELINE, obj, search, &err),
	                 FPD_EPERM);
	ck_assert_msg(strstr(err.text, "spec.groups[1].template.spec: "), "%s", err.text);
	json_object_del(
	    json_object_get(
	        json_object_get(
	            json_array_get(json_object_get(json_object_get(obj, "spec"), "groups"), 1),
	            "template"),
	        "metadata"),
	    "annotations");
	ck_assert_int_eq(fpd_podsecurity_check_object(FPD_PSS_BASELINE, obj, search, &err), FPD_OK);
	/* deep inside a list of a custom field, and privileged */
	json_t *deep = json_loads("{\"spec\":{\"x\":[[{\"containers\":[{\"name\":\"c\","
	                          "\"securityContext\":{\"privileged\":true}}]}]]}}",
	                          0, NULL);
	ck_assert_int_eq(fpd_podsecurity_check_object(FPD_PSS_BASELINE, deep, search, &err),
	                 FPD_EPERM);
	ck_assert_msg(strstr(err.text, "spec.x[0][0]: container \"c\""), "%s", err.text);
	/* no pod spec at all is allowed with a search, refused with a path */
	json_t *none = json_pack("{s:{s:i}}", "spec", "replicas", 1);
	ck_assert_int_eq(fpd_podsecurity_check_object(FPD_PSS_BASELINE, none, search, &err),
	                 FPD_OK);
	json_decref(none);
	json_decref(deep);
	json_decref(obj);
}
END_TEST

START_TEST(level_names)
{
	ck_assert_str_eq(fpd_pss_level_name(FPD_PSS_PRIVILEGED), "privileged");
	ck_assert_str_eq(fpd_pss_level_name(FPD_PSS_BASELINE), "baseline");
	ck_assert_str_eq(fpd_pss_level_name(FPD_PSS_RESTRICTED), "restricted");
	ck_assert_str_eq(fpd_pss_level_name((enum fpd_pss_level)9), "?");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("engine_podsecurity");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, baseline_fixtures);
	tcase_add_test(tc, restricted_fixtures);
	tcase_add_test(tc, privileged_fixtures);
	tcase_add_test(tc, every_check_has_fixtures);
	tcase_add_test(tc, fail_fixtures_name_their_check);
	tcase_add_test(tc, object_fixtures);
	tcase_add_test(tc, built_objects_meet_baseline);
	tcase_add_test(tc, type_errors_are_einval);
	tcase_add_test(tc, null_is_unset);
	tcase_add_test(tc, object_paths_refused);
	tcase_add_test(tc, search_by_shape);
	tcase_add_test(tc, level_names);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
