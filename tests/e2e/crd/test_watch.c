/*
 * Live registration of declared task types against the real API server: the FlyteTaskType CRD
 * is installed, objects are created, changed and deleted, and the registry and the objects'
 * Accepted conditions follow.
 */
#include "core/schema.h"
#include "core/yaml.h"
#include "crd/crd.h"
#include "e2e.h"
#include "engine/registry.h"
#include "engine/tasktypes.h"

#include <stdio.h>
#include <string.h>

#define TT_PATH "/apis/flyteplugd.flyte.org/v1alpha1/flytetasktypes"

static json_t *yaml_json(const char *rel)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", FPD_SOURCE_DIR, rel);
	struct fpd_yaml_node *root = NULL;
	struct fpd_error err = {0};
	ck_assert_msg(fpd_yaml_parse_file(path, &root, &err) == 0, "%s: %s", path, err.text);
	json_t *j = fpd_yaml_to_json(root);
	fpd_yaml_free(root);
	return j;
}

struct env {
	struct ev_loop *loop;
	struct fpd_kube_client *c;
	struct fpd_registry *reg;
	struct e2e_call call;
	const char *want_name;
	const char *want_status; /* of the Accepted condition */
};

static void request(struct env *e, const char *method, const char *path, json_t *body)
{
	E2E_CALL(e->loop, &e->call,
	         fpd_kube_request(e->c, method, path, body, NULL, e2e_done, &e->call, &e2e_err));
}

static bool crd_served(void *ud)
{
	struct env *e = ud;
	request(e, "GET", TT_PATH, NULL);
	return e->call.code == FPD_OK;
}

static bool accepted_is(void *ud)
{
	struct env *e = ud;
	char path[256];
	snprintf(path, sizeof(path), TT_PATH "/%s", e->want_name);
	request(e, "GET", path, NULL);
	json_t *conds = json_object_get(json_object_get(e->call.obj, "status"), "conditions");
	const char *st = json_string_value(json_object_get(json_array_get(conds, 0), "status"));
	return st && !strcmp(st, e->want_status);
}

static bool registered(void *ud)
{
	struct env *e = ud;
	return fpd_registry_find(e->reg, "watch-job", 0) != NULL;
}

static bool withdrawn(void *ud)
{
	return !registered(ud);
}

static const char *condition_field(struct env *e, const char *key)
{
	json_t *conds = json_object_get(json_object_get(e->call.obj, "status"), "conditions");
	return json_string_value(json_object_get(json_array_get(conds, 0), key));
}

START_TEST(flytetasktypes_declare_and_withdraw_live)
{
	struct env e = {.loop = ev_loop_new(EVFLAG_AUTO)};
	e.c = e2e_client(e.loop, NULL);
	json_t *crd = yaml_json("kustomize/components/crd-tasktypes/flytetasktypes.yaml");
	request(&e, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd);
	ck_assert_msg(e.call.code == FPD_OK || e.call.code == FPD_EEXIST, "%s", e.call.err.text);
	json_decref(crd);
	e2e_wait_for(e.loop, crd_served, &e, 60, "the FlyteTaskType CRD to be served");

	e.reg = fpd_registry_new();
	struct fpd_tasktypes_watch *w = NULL;
	struct fpd_error err = {0};
	ck_assert_int_eq(fpd_tasktypes_watch_new(e.loop, e.c, e.reg, NULL, &w, &err), FPD_OK);

	/* A good declaration: registered, Accepted True. */
	json_t *job = yaml_json("examples/tasktypes/batch-job.yaml");
	json_object_set_new(json_object_get(job, "metadata"), "name", json_string("e2e-watch-job"));
	json_object_set_new(json_object_get(json_object_get(job, "spec"), "taskType"), "name",
	                    json_string("watch-job"));
	request(&e, "DELETE", TT_PATH "/e2e-watch-job", NULL); /* a previous run's */
	request(&e, "POST", TT_PATH, job);
	E2E_OK(&e.call);
	e2e_wait_for(e.loop, registered, &e, 30, "watch-job to be registered");
	const struct fpd_plugin *first = fpd_registry_find(e.reg, "watch-job", 0);
	ck_assert_str_eq(first->kind->kind, "Job");
	e.want_name = "e2e-watch-job";
	e.want_status = "True";
	e2e_wait_for(e.loop, accepted_is, &e, 30, "e2e-watch-job Accepted=True");
	ck_assert_str_eq(condition_field(&e, "reason"), "Declared");

	/* A changed spec is declared again: a new descriptor serves the type. */
	json_t *patch = json_pack("{s{s{ss}}}", "spec", "status", "running", ".status.active > 0");
	E2E_CALL(e.loop, &e.call,
	         fpd_kube_request(e.c, "PATCH", TT_PATH "/e2e-watch-job", patch,
	                          "application/merge-patch+json", e2e_done, &e.call, &e2e_err));
	E2E_OK(&e.call);
	json_decref(patch);
	e2e_run_for(e.loop, 2);
	ck_assert_ptr_ne(fpd_registry_find(e.reg, "watch-job", 0), first);

	/* A bad declaration: refused, Accepted False with the reason and the field. */
	json_t *bad = json_deep_copy(job);
	json_object_set_new(json_object_get(bad, "metadata"), "name", json_string("e2e-watch-bad"));
	json_object_set_new(json_object_get(json_object_get(bad, "spec"), "taskType"), "name",
	                    json_string("watch-bad"));
	json_object_set_new(json_object_get(json_object_get(bad, "spec"), "status"), "failed",
	                    json_string("def f: f; f"));
	request(&e, "DELETE", TT_PATH "/e2e-watch-bad", NULL);
	request(&e, "POST", TT_PATH, bad);
	E2E_OK(&e.call);
	e.want_name = "e2e-watch-bad";
	e.want_status = "False";
	e2e_wait_for(e.loop, accepted_is, &e, 30, "e2e-watch-bad Accepted=False");
	ck_assert_str_eq(condition_field(&e, "reason"), "Invalid");
	ck_assert_str_eq(condition_field(&e, "location"), "spec.status.failed");
	ck_assert_msg(strstr(condition_field(&e, "message"), "def is not allowed"), "%s",
	              condition_field(&e, "message"));
	ck_assert_ptr_null(fpd_registry_find(e.reg, "watch-bad", 0));

	/* Deleting the object withdraws the type. */
	request(&e, "DELETE", TT_PATH "/e2e-watch-job", NULL);
	E2E_OK(&e.call);
	e2e_wait_for(e.loop, withdrawn, &e, 30, "watch-job to be withdrawn");
	request(&e, "DELETE", TT_PATH "/e2e-watch-bad", NULL);

	json_decref(job);
	json_decref(bad);
	fpd_tasktypes_watch_free(w);
	fpd_registry_free(e.reg);
	fpd_crd_shutdown();
	e2e_call_reset(&e.call);
	fpd_kube_client_free(e.c);
	ev_loop_destroy(e.loop);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("e2e_crd_watch");
	TCase *tc = tcase_create("watch");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, flytetasktypes_declare_and_withdraw_live);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
