/*
 * The caller policy (engine/policy.h) and its configuration (the policy: section of
 * core/config.h): every rule admitting and refusing with the rule named, globs, the system
 * namespaces and the daemon's own, service-account and task-type rules, Pod Security levels by
 * namespace, the refusal counters, the S1 reproduction, and the configuration's keys and its
 * file:line:col errors (tests/fixtures/policy/).
 */
#include "engine/policy.h"

#include "core/config.h"
#include "fpd_test.h"

#include <stdlib.h>
#include <unistd.h>

/* A policy from configuration text; own namespace "flyteplugd". */
static struct fpd_policy *policy_from(const char *yaml)
{
	struct fpd_config cfg;
	struct fpd_error err;
	int rc = fpd_config_load_text(yaml, strlen(yaml), "test.yaml", &cfg, &err);
	ck_assert_msg(rc == FPD_OK, "config: %s:%d:%d: %s", err.file, err.line, err.column,
	              err.text);
	struct fpd_policy *p;
	rc = fpd_policy_new(&cfg.policy, "flyteplugd", &p, &err);
	ck_assert_msg(rc == FPD_OK, "%s", err.text);
	fpd_config_free(&cfg);
	return p;
}

/* check_create must refuse with exactly message (or admit when message is NULL). */
static void expect_create(const struct fpd_policy *p, const char *ns, const char *sa,
                          const char *type, const char *message)
{
	struct fpd_error err;
	fpd_error_clear(&err);
	int rc = fpd_policy_check_create(p, ns, sa, type, &err);
	if (!message) {
		ck_assert_msg(rc == FPD_OK, "%s/%s/%s: expected admitted, got %s", ns, sa, type,
		              err.text);
		return;
	}
	ck_assert_msg(rc == FPD_EPERM, "%s/%s/%s: expected EPERM, got %s", ns, sa, type,
	              fpd_strerror(rc));
	ck_assert_str_eq(err.text, message);
}

START_TEST(defaults_refuse_system_and_own_namespaces)
{
	struct fpd_policy *p = policy_from("");
	expect_create(p, "team-a", "", "python-task", NULL);
	expect_create(p, "team-a", "default", "python-task", NULL);
	expect_create(p, "anything-else", NULL, "spark", NULL);
	expect_create(p, "kube-system", "", "python-task",
	              "namespace \"kube-system\" is a system namespace: refused unless listed "
	              "explicitly in policy.namespaces.allow");
	expect_create(p, "kube-public", "", "python-task",
	              "namespace \"kube-public\" is a system namespace: refused unless listed "
	              "explicitly in policy.namespaces.allow");
	expect_create(p, "kube-node-lease", "", "python-task",
	              "namespace \"kube-node-lease\" is a system namespace: refused unless listed "
	              "explicitly in policy.namespaces.allow");
	expect_create(p, "flyteplugd", "", "python-task",
	              "namespace \"flyteplugd\" is the daemon's own namespace: refused unless "
	              "listed explicitly in policy.namespaces.allow");
	expect_create(p, "team-a", "admin", "python-task",
	              "service account \"admin\" in namespace \"team-a\" is not allowed by "
	              "policy.service_accounts (allowed: \"default\"; rules: none for this "
	              "namespace)");
	const struct fpd_policy_stats *st = fpd_policy_stats(p);
	ck_assert_uint_eq(st->system_namespace, 4);
	ck_assert_uint_eq(st->service_account, 1);
	ck_assert_uint_eq(st->unlisted_namespace, 0);
	ck_assert_uint_eq(st->task_type, 0);
	ck_assert_int_eq(fpd_policy_pod_security_level(p, "team-a"), FPD_PSS_BASELINE);
	fpd_policy_free(p);
}
END_TEST

START_TEST(namespace_globs)
{
	struct fpd_policy *p = policy_from("policy:\n"
	                                   "  namespaces:\n"
	                                   "    allow: [\"team-*\", \"flytesnacks-?\", "
	                                   "\"proj-[ab]\", \"kube-*\", \"*\"]\n");
	expect_create(p, "team-a", "", "t", NULL);
	expect_create(p, "flytesnacks-x", "", "t", NULL);
	expect_create(p, "proj-b", "", "t", NULL);
	expect_create(p, "kube-flow", "", "t", NULL);
	/* neither "kube-*" nor "*" hands out a protected namespace */
	expect_create(p, "kube-system", "", "t",
	              "namespace \"kube-system\" is a system namespace: refused unless listed "
	              "explicitly in policy.namespaces.allow");
	expect_create(p, "flyteplugd", "", "t",
	              "namespace \"flyteplugd\" is the daemon's own namespace: refused unless "
	              "listed explicitly in policy.namespaces.allow");
	fpd_policy_free(p);

	p = policy_from("policy:\n  namespaces:\n    allow: [\"team-*\", \"proj-[ab]\"]\n");
	expect_create(p, "proj-c", "", "t",
	              "namespace \"proj-c\" is not allowed by policy.namespaces.allow (\"team-*\", "
	              "\"proj-[ab]\")");
	expect_create(p, "team", "", "t",
	              "namespace \"team\" is not allowed by policy.namespaces.allow (\"team-*\", "
	              "\"proj-[ab]\")");
	ck_assert_uint_eq(fpd_policy_stats(p)->unlisted_namespace, 2);
	fpd_policy_free(p);
}
END_TEST

START_TEST(protected_namespaces_by_exact_entry)
{
	struct fpd_policy *p =
	    policy_from("policy:\n  namespaces:\n    allow: [kube-system, flyteplugd, \"*\"]\n");
	expect_create(p, "kube-system", "", "t", NULL);
	expect_create(p, "flyteplugd", "", "t", NULL);
	expect_create(p, "kube-public", "", "t",
	              "namespace \"kube-public\" is a system namespace: refused unless listed "
	              "explicitly in policy.namespaces.allow");
	fpd_policy_free(p);
}
END_TEST

START_TEST(namespaces_default_to_watch)
{
	struct fpd_policy *p = policy_from("namespaces:\n  watch: [flytesnacks-development, "
	                                   "kube-system]\n");
	expect_create(p, "flytesnacks-development", "", "t", NULL);
	/* the watch list names namespaces exactly, so a watched system namespace is admitted */
	expect_create(p, "kube-system", "", "t", NULL);
	expect_create(p, "team-a", "", "t",
	              "namespace \"team-a\" is not allowed by policy.namespaces.allow "
	              "(\"flytesnacks-development\", \"kube-system\")");
	fpd_policy_free(p);
	/* an explicit allow list wins over the watch list */
	p = policy_from("namespaces:\n  watch: [a]\npolicy:\n  namespaces:\n    allow: [b]\n");
	expect_create(p, "b", "", "t", NULL);
	expect_create(p, "a", "", "t",
	              "namespace \"a\" is not allowed by policy.namespaces.allow (\"b\")");
	fpd_policy_free(p);
}
END_TEST

START_TEST(service_account_rules)
{
	struct fpd_policy *p = policy_from("policy:\n"
	                                   "  service_accounts:\n"
	                                   "    - {namespaces: \"team-*\", allow: [spark, "
	                                   "\"ray-*\"]}\n"
	                                   "    - {namespaces: \"team-b\", allow: [trainer]}\n"
	                                   "    - {namespaces: ml, allow: [\"*\"]}\n");
	expect_create(p, "team-a", "spark", "t", NULL);
	expect_create(p, "team-a", "ray-worker", "t", NULL);
	expect_create(p, "team-a", "", "t", NULL);
	expect_create(p, "team-b", "trainer", "t", NULL); /* rules add up */
	expect_create(p, "ml", "cluster-admin-ish", "t", NULL);
	expect_create(
	    p, "team-a", "trainer", "t",
	    "service account \"trainer\" in namespace \"team-a\" is not allowed by "
	    "policy.service_accounts (allowed: \"default\"; rules: \"spark\", \"ray-*\")");
	expect_create(p, "team-b", "admin", "t",
	              "service account \"admin\" in namespace \"team-b\" is not allowed by "
	              "policy.service_accounts (allowed: \"default\"; rules: \"spark\", \"ray-*\", "
	              "\"trainer\")");
	expect_create(p, "other", "spark", "t",
	              "service account \"spark\" in namespace \"other\" is not allowed by "
	              "policy.service_accounts (allowed: \"default\"; rules: none for this "
	              "namespace)");
	ck_assert_uint_eq(fpd_policy_stats(p)->service_account, 3);
	fpd_policy_free(p);
}
END_TEST

START_TEST(task_type_rules)
{
	struct fpd_policy *p = policy_from("policy:\n"
	                                   "  task_types:\n"
	                                   "    - {namespaces: \"*\", allow: [python-task, "
	                                   "container_array]}\n"
	                                   "    - {namespaces: \"ml-*\", allow: [pytorch, "
	                                   "\"spark*\"]}\n");
	expect_create(p, "team-a", "", "python-task", NULL);
	expect_create(p, "ml-x", "", "pytorch", NULL);
	expect_create(p, "ml-x", "", "spark-connect", NULL);
	expect_create(p, "ml-x", "", "container_array", NULL);
	expect_create(p, "team-a", "", "pytorch",
	              "task type \"pytorch\" in namespace \"team-a\" is not allowed by "
	              "policy.task_types (rules: \"python-task\", \"container_array\")");
	expect_create(p, "team-a", "", NULL,
	              "task type \"\" in namespace \"team-a\" is not allowed by policy.task_types "
	              "(rules: \"python-task\", \"container_array\")");
	ck_assert_uint_eq(fpd_policy_stats(p)->task_type, 2);
	fpd_policy_free(p);
	/* no rule for a namespace: nothing is admitted there */
	p = policy_from("policy:\n  task_types:\n    - {namespaces: \"ml\", allow: [\"*\"]}\n");
	expect_create(p, "ml", "", "anything", NULL);
	expect_create(p, "team-a", "", "python-task",
	              "task type \"python-task\" in namespace \"team-a\" is not allowed by "
	              "policy.task_types (rules: none for this namespace)");
	fpd_policy_free(p);
}
END_TEST

START_TEST(access_checks_namespaces_only)
{
	struct fpd_policy *p = policy_from("policy:\n  namespaces:\n    allow: [\"team-*\"]\n");
	struct fpd_error err;
	ck_assert_int_eq(fpd_policy_check_access(p, "team-a", &err), FPD_OK);
	ck_assert_int_eq(fpd_policy_check_access(p, "kube-system", &err), FPD_EPERM);
	ck_assert_str_eq(err.text, "namespace \"kube-system\" is a system namespace: refused "
	                           "unless listed explicitly in policy.namespaces.allow");
	ck_assert_int_eq(fpd_policy_check_access(p, "other", &err), FPD_EPERM);
	ck_assert_str_eq(
	    err.text, "namespace \"other\" is not allowed by policy.namespaces.allow (\"team-*\")");
	ck_assert_int_eq(fpd_policy_check_access(p, "", &err), FPD_EINVAL);
	ck_assert_int_eq(fpd_policy_check_access(p, NULL, &err), FPD_EINVAL);
	fpd_policy_free(p);
}
END_TEST

START_TEST(pod_security_levels_by_namespace)
{
	struct fpd_policy *p =
	    policy_from("policy:\n"
	                "  pod_security:\n"
	                "    level: restricted\n"
	                "    overrides:\n"
	                "      - {namespaces: \"ml-*\", level: baseline}\n"
	                "      - {namespaces: \"ml-gpu\", level: privileged}\n"
	                "      - {namespaces: \"infra-?\", level: privileged}\n");
	ck_assert_int_eq(fpd_policy_pod_security_level(p, "team-a"), FPD_PSS_RESTRICTED);
	ck_assert_int_eq(fpd_policy_pod_security_level(p, "ml-x"), FPD_PSS_BASELINE);
	/* first match wins: ml-gpu is caught by "ml-*" */
	ck_assert_int_eq(fpd_policy_pod_security_level(p, "ml-gpu"), FPD_PSS_BASELINE);
	ck_assert_int_eq(fpd_policy_pod_security_level(p, "infra-1"), FPD_PSS_PRIVILEGED);

	json_t *pod = json_pack("{s:{s:[{s:s}]}}", "spec", "containers", "name", "main");
	static const char *const paths[] = {"spec", NULL};
	struct fpd_error err;
	ck_assert_int_eq(fpd_policy_check_object(p, "ml-x", pod, paths, &err), FPD_OK);
	ck_assert_int_eq(fpd_policy_check_object(p, "team-a", pod, paths, &err), FPD_EPERM);
	ck_assert_str_eq(err.text, "pod security \"restricted\": spec: container \"main\": "
	                           "securityContext.allowPrivilegeEscalation must be false "
	                           "(check: allowPrivilegeEscalation)");
	ck_assert_uint_eq(fpd_policy_stats(p)->pod_security, 1);
	json_decref(pod);
	fpd_policy_free(p);
}
END_TEST

/* S1: one CreateTask put a privileged, host-network, host-PID pod mounting the node's / into
 * kube-system under the service account "admin". Each layer refuses it, naming its rule. */
START_TEST(s1_reproduction_refused)
{
	json_t *f = json_load_file(fpd_fixture("podsecurity/objects/s1-pod-fail.json"), 0, NULL);
	ck_assert_ptr_nonnull(f);
	const json_t *pod = json_object_get(f, "object");
	const char *ns =
	    json_string_value(json_object_get(json_object_get(pod, "metadata"), "namespace"));
	const char *sa =
	    json_string_value(json_object_get(json_object_get(pod, "spec"), "serviceAccountName"));
	ck_assert_str_eq(ns, "kube-system");
	ck_assert_str_eq(sa, "admin");
	static const char *const paths[] = {"spec", NULL};
	struct fpd_error err;

	struct fpd_policy *p = policy_from("");
	ck_assert_int_eq(fpd_policy_check_create(p, ns, sa, "python-task", &err), FPD_EPERM);
	ck_assert_str_eq(err.text, "namespace \"kube-system\" is a system namespace: refused "
	                           "unless listed explicitly in policy.namespaces.allow");
	ck_assert_int_eq(fpd_policy_check_object(p, ns, pod, paths, &err), FPD_EPERM);
	ck_assert_str_eq(err.text, "pod security \"baseline\": spec: pod: hostNetwork=true is not "
	                           "allowed (check: hostNamespaces)");
	fpd_policy_free(p);

	/* even with kube-system listed, the service account is refused */
	p = policy_from("policy:\n  namespaces:\n    allow: [kube-system]\n");
	ck_assert_int_eq(fpd_policy_check_create(p, ns, sa, "python-task", &err), FPD_EPERM);
	ck_assert_str_eq(err.text, "service account \"admin\" in namespace \"kube-system\" is not "
	                           "allowed by policy.service_accounts (allowed: \"default\"; "
	                           "rules: none for this namespace)");
	fpd_policy_free(p);

	/* and without the host namespaces, the privileged container is refused next */
	json_t *spec = json_object_get(pod, "spec");
	json_object_del(spec, "hostNetwork");
	json_object_del(spec, "hostPID");
	ck_assert_int_eq(fpd_podsecurity_check(FPD_PSS_BASELINE, spec, NULL, &err), FPD_EPERM);
	ck_assert_str_eq(err.text, "pod security \"baseline\": container \"main\": "
	                           "securityContext.privileged=true is not allowed (check: "
	                           "privileged)");
	json_object_set_new(json_array_get(json_object_get(spec, "containers"), 0),
	                    "securityContext", json_object());
	ck_assert_int_eq(fpd_podsecurity_check(FPD_PSS_BASELINE, spec, NULL, &err), FPD_EPERM);
	ck_assert_str_eq(err.text, "pod security \"baseline\": pod: volume \"host\": hostPath "
	                           "volumes are not allowed (check: hostPathVolumes)");
	json_decref(f);
}
END_TEST

START_TEST(constructor_checks)
{
	struct fpd_config cfg;
	struct fpd_error err;
	struct fpd_policy *p = (struct fpd_policy *)1;
	fpd_config_defaults(&cfg);
	ck_assert_int_eq(fpd_policy_new(&cfg.policy, "Bad_NS", &p, &err), FPD_EINVAL);
	ck_assert_ptr_null(p);
	ck_assert_str_eq(err.text, "policy: own namespace \"Bad_NS\" is not a namespace name");
	cfg.policy.pod_security_level = 5;
	ck_assert_int_eq(fpd_policy_new(&cfg.policy, NULL, &p, &err), FPD_EINVAL);
	cfg.policy.pod_security_level = FPD_PSS_BASELINE;
	/* no own namespace known: only the system namespaces are protected */
	ck_assert_int_eq(fpd_policy_new(&cfg.policy, NULL, &p, &err), FPD_OK);
	expect_create(p, "flyteplugd", "", "t", NULL);
	expect_create(p, "kube-system", "", "t",
	              "namespace \"kube-system\" is a system namespace: refused unless listed "
	              "explicitly in policy.namespaces.allow");
	fpd_policy_free(p);
	fpd_config_free(&cfg);
}
END_TEST

START_TEST(own_namespace_discovery)
{
	char ns[64], path[] = "/tmp/fpd-policy-nsXXXXXX";
	struct fpd_error err;
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "flyte\n", 6), 6);
	close(fd);

	unsetenv("POD_NAMESPACE");
	ck_assert_int_eq(fpd_policy_own_namespace("", path, ns, sizeof(ns), &err), FPD_OK);
	ck_assert_str_eq(ns, "flyte");
	setenv("POD_NAMESPACE", "from-env", 1);
	ck_assert_int_eq(fpd_policy_own_namespace("", path, ns, sizeof(ns), &err), FPD_OK);
	ck_assert_str_eq(ns, "from-env");
	ck_assert_int_eq(fpd_policy_own_namespace("configured", path, ns, sizeof(ns), &err),
	                 FPD_OK);
	ck_assert_str_eq(ns, "configured");
	setenv("POD_NAMESPACE", "Not A Name", 1);
	ck_assert_int_eq(fpd_policy_own_namespace("", path, ns, sizeof(ns), &err), FPD_EINVAL);
	ck_assert_str_eq(err.text, "$POD_NAMESPACE: \"Not A Name\" is not a namespace name");
	unsetenv("POD_NAMESPACE");
	ck_assert_int_eq(
	    fpd_policy_own_namespace("", "/nonexistent/namespace", ns, sizeof(ns), &err), FPD_OK);
	ck_assert_str_eq(ns, "");
	ck_assert_int_eq(fpd_policy_own_namespace("", NULL, ns, sizeof(ns), &err), FPD_OK);
	ck_assert_str_eq(ns, "");
	ck_assert_int_eq(fpd_policy_own_namespace("configured", NULL, ns, 4, &err), FPD_ERANGE);
	unlink(path);
}
END_TEST

START_TEST(config_defaults)
{
	struct fpd_config cfg;
	fpd_config_defaults(&cfg);
	ck_assert_uint_eq(cfg.policy.namespaces_allow.count, 1);
	ck_assert_str_eq(cfg.policy.namespaces_allow.items[0], "*");
	ck_assert_str_eq(cfg.policy.own_namespace, "");
	ck_assert_uint_eq(cfg.policy.service_accounts.count, 0);
	ck_assert(!cfg.policy.task_types_set);
	ck_assert_int_eq(cfg.policy.pod_security_level, FPD_PSS_BASELINE);
	ck_assert_uint_eq(cfg.policy.pss_overrides.count, 0);
	fpd_config_free(&cfg);
}
END_TEST

START_TEST(config_every_key)
{
	struct fpd_config cfg;
	struct fpd_error err;
	int rc = fpd_config_load(fpd_fixture("policy/good/every-key.yaml"), &cfg, &err);
	ck_assert_msg(rc == FPD_OK, "%s:%d:%d: %s", err.file, err.line, err.column, err.text);
	const struct fpd_config_policy *c = &cfg.policy;
	ck_assert_uint_eq(c->namespaces_allow.count, 4);
	ck_assert_str_eq(c->namespaces_allow.items[2], "kube-system");
	ck_assert_str_eq(c->own_namespace, "flyteplugd");
	ck_assert_uint_eq(c->service_accounts.count, 2);
	const struct fpd_config_policy_rule *r = fpd_list_at(&c->service_accounts, sizeof(*r), 0);
	ck_assert_str_eq(r->namespaces, "team-*");
	ck_assert_uint_eq(r->allow.count, 2);
	ck_assert_str_eq(r->allow.items[1], "ray-*");
	ck_assert(c->task_types_set);
	ck_assert_uint_eq(c->task_types.count, 2);
	r = fpd_list_at(&c->task_types, sizeof(*r), 0);
	ck_assert_str_eq(r->allow.items[1], "container_array");
	ck_assert_int_eq(c->pod_security_level, FPD_PSS_RESTRICTED);
	ck_assert_uint_eq(c->pss_overrides.count, 2);
	const struct fpd_config_pss_override *o = fpd_list_at(&c->pss_overrides, sizeof(*o), 1);
	ck_assert_str_eq(o->namespaces, "kube-system");
	ck_assert_int_eq(o->level, FPD_PSS_PRIVILEGED);

	struct fpd_policy *p;
	ck_assert_int_eq(fpd_policy_new(c, c->own_namespace, &p, &err), FPD_OK);
	expect_create(p, "team-a", "ray-head", "python-task", NULL);
	expect_create(p, "ml", "anyone", "ray-cluster", NULL);
	expect_create(p, "team-a", "", "pytorch",
	              "task type \"pytorch\" in namespace \"team-a\" is not allowed by "
	              "policy.task_types (rules: \"python-task\", \"container_array\", "
	              "\"sidecar\")");
	ck_assert_int_eq(fpd_policy_pod_security_level(p, "kube-system"), FPD_PSS_PRIVILEGED);
	ck_assert_int_eq(fpd_policy_pod_security_level(p, "team-a"), FPD_PSS_RESTRICTED);
	fpd_policy_free(p);
	fpd_config_free(&cfg);
}
END_TEST

static int load_config(const char *path, struct fpd_error *err)
{
	struct fpd_config cfg;
	int rc = fpd_config_load(path, &cfg, err);
	if (rc == FPD_OK)
		fpd_config_free(&cfg);
	return rc;
}

START_TEST(config_bad_values_at_location)
{
	ck_assert_int_ge(fpd_check_bad_fixtures("policy/bad", load_config), 14);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("engine_policy");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, defaults_refuse_system_and_own_namespaces);
	tcase_add_test(tc, namespace_globs);
	tcase_add_test(tc, protected_namespaces_by_exact_entry);
	tcase_add_test(tc, namespaces_default_to_watch);
	tcase_add_test(tc, service_account_rules);
	tcase_add_test(tc, task_type_rules);
	tcase_add_test(tc, access_checks_namespaces_only);
	tcase_add_test(tc, pod_security_levels_by_namespace);
	tcase_add_test(tc, s1_reproduction_refused);
	tcase_add_test(tc, constructor_checks);
	tcase_add_test(tc, own_namespace_discovery);
	tcase_add_test(tc, config_defaults);
	tcase_add_test(tc, config_every_key);
	tcase_add_test(tc, config_bad_values_at_location);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
