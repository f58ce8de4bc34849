/* Discovery against the real API server: core and group kinds, scope, caching, one refresh for
 * a kind missing from the cache (a CRD installed after the first lookup), shared requests. */
#include "e2e.h"

#include "kube/discovery.h"

static struct ev_loop *loop;
static struct fpd_kube_client *admin;

struct lookup {
	bool done;
	int code;
	struct fpd_kube_gvr gvr;
	struct fpd_error err;
};

static void resolved(void *ud, int code, const struct fpd_kube_gvr *gvr,
                     const struct fpd_error *err)
{
	struct lookup *l = ud;
	l->done = true;
	l->code = code;
	if (gvr)
		l->gvr = *gvr;
	if (err)
		l->err = *err;
}

/* Resolves and waits if needed; returns the code, *was_cached tells if it answered at once. */
static int resolve(struct fpd_kube_discovery *d, const char *g, const char *v, const char *k,
                   struct lookup *l, bool *was_cached)
{
	memset(l, 0, sizeof(*l));
	struct fpd_error err;
	int rc = fpd_kube_resolve(d, g, v, k, &l->gvr, resolved, l, &err);
	*was_cached = rc == FPD_OK;
	if (rc == FPD_OK)
		return FPD_OK;
	ck_assert_msg(rc == FPD_AGAIN, "resolve %s/%s %s: %s", g, v, k, err.text);
	e2e_wait(loop, &l->done, 60, "discovery");
	return l->code;
}

static void install_crd(const char *group, const char *kind, const char *plural)
{
	struct fpd_kube_gvr crds = {"apiextensions.k8s.io", "v1", "customresourcedefinitions", "",
	                            false};
	char name[256];
	snprintf(name, sizeof(name), "%s.%s", plural, group);
	json_t *crd = json_pack(
	    "{s:s, s:s, s:{s:s}, s:{s:s, s:s, s:{s:s, s:s}, s:[{s:s, s:b, s:b, s:{s:{s:s, "
	    "s:b}}}]}}",
	    "apiVersion", "apiextensions.k8s.io/v1", "kind", "CustomResourceDefinition", "metadata",
	    "name", name, "spec", "group", group, "scope", "Cluster", "names", "plural", plural,
	    "kind", kind, "versions", "name", "v1", "served", 1, "storage", 1, "schema",
	    "openAPIV3Schema", "type", "object", "x-kubernetes-preserve-unknown-fields", 1);
	ck_assert_ptr_nonnull(crd);
	struct e2e_call call = {0};
	struct fpd_kube_ref ref = {&crds, NULL, NULL, NULL};
	E2E_CALL(loop, &call, fpd_kube_create(admin, &ref, crd, NULL, e2e_done, &call, &e2e_err));
	json_decref(crd);
	ck_assert_msg(call.code == FPD_OK || call.code == FPD_EEXIST, "%s", call.err.text);
	/* Served once the group/version lists it. */
	char path[300];
	snprintf(path, sizeof(path), "/apis/%s/v1", group);
	for (int i = 0; i < 300; i++) {
		E2E_CALL(
		    loop, &call,
		    fpd_kube_request(admin, "GET", path, NULL, NULL, e2e_done, &call, &e2e_err));
		char *text = call.code == FPD_OK ? json_dumps(call.obj, 0) : NULL;
		bool listed = text && strstr(text, kind);
		free(text);
		if (listed)
			break;
		e2e_run_for(loop, 0.1);
	}
	e2e_call_reset(&call);
}

START_TEST(core_kinds_scope_and_cache)
{
	struct fpd_kube_discovery *d = fpd_kube_discovery_new(admin);
	struct lookup l;
	bool cached;
	ck_assert_int_eq(resolve(d, "", "v1", "Pod", &l, &cached), FPD_OK);
	ck_assert(!cached);
	ck_assert_str_eq(l.gvr.resource, "pods");
	ck_assert(l.gvr.namespaced);
	ck_assert_int_eq(resolve(d, "", "v1", "Namespace", &l, &cached), FPD_OK);
	ck_assert(cached);
	ck_assert_str_eq(l.gvr.resource, "namespaces");
	ck_assert(!l.gvr.namespaced);
	ck_assert_uint_eq(fpd_kube_discovery_fetches(d), 1);
	ck_assert_int_eq(resolve(d, "apps", "v1", "Deployment", &l, &cached), FPD_OK);
	ck_assert_str_eq(l.gvr.resource, "deployments");
	ck_assert_str_eq(l.gvr.group, "apps");

	/* Unknown kind: one refresh, then a clear NotFound. */
	ck_assert_int_eq(resolve(d, "", "v1", "Gizmo", &l, &cached), FPD_ENOENT);
	ck_assert_uint_eq(fpd_kube_discovery_fetches(d), 3);
	ck_assert_ptr_nonnull(strstr(l.err.text, "kind Gizmo is not served by v1"));
	ck_assert_int_eq(resolve(d, "nope.example.com", "v1", "Thing", &l, &cached), FPD_ENOENT);
	ck_assert_ptr_nonnull(strstr(l.err.text, "is the CRD installed"));

	/* Two lookups of an uncached group/version share one request. */
	unsigned long before = fpd_kube_discovery_fetches(d);
	struct lookup a, b;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	ck_assert_int_eq(fpd_kube_resolve(d, "batch", "v1", "Job", &a.gvr, resolved, &a, NULL),
	                 FPD_AGAIN);
	ck_assert_int_eq(fpd_kube_resolve(d, "batch", "v1", "CronJob", &b.gvr, resolved, &b, NULL),
	                 FPD_AGAIN);
	e2e_wait(loop, &a.done, 60, "Job");
	e2e_wait(loop, &b.done, 60, "CronJob");
	ck_assert_str_eq(a.gvr.resource, "jobs");
	ck_assert_str_eq(b.gvr.resource, "cronjobs");
	ck_assert_uint_eq(fpd_kube_discovery_fetches(d), before + 1);
	fpd_kube_discovery_free(d);
}
END_TEST

START_TEST(crd_installed_after_first_lookup)
{
	const char *group = "disc.e2e.flyteplugd.io";
	struct fpd_kube_discovery *d = fpd_kube_discovery_new(admin);
	struct lookup l;
	bool cached;
	install_crd(group, "Gadget", "gadgets");
	ck_assert_int_eq(resolve(d, group, "v1", "Gadget", &l, &cached), FPD_OK);
	ck_assert_str_eq(l.gvr.resource, "gadgets");
	ck_assert(!l.gvr.namespaced);
	/* A second CRD in the same group appears after the group/version was cached. */
	install_crd(group, "Doohickey", "doohickeys");
	unsigned long before = fpd_kube_discovery_fetches(d);
	ck_assert_int_eq(resolve(d, group, "v1", "Doohickey", &l, &cached), FPD_OK);
	ck_assert(!cached);
	ck_assert_str_eq(l.gvr.resource, "doohickeys");
	ck_assert_uint_eq(fpd_kube_discovery_fetches(d), before + 1);
	ck_assert_int_eq(resolve(d, group, "v1", "Gadget", &l, &cached), FPD_OK);
	ck_assert(cached);
	/* Lookups abandoned by their owner are not called back. */
	fpd_kube_discovery_forget(d, group, "v1");
	struct lookup gone = {0};
	ck_assert_int_eq(
	    fpd_kube_resolve(d, group, "v1", "Gadget", &gone.gvr, resolved, &gone, NULL),
	    FPD_AGAIN);
	fpd_kube_discovery_cancel(d, &gone);
	e2e_run_for(loop, 0.5);
	ck_assert(!gone.done);
	fpd_kube_discovery_free(d);
}
END_TEST

static void setup(void)
{
	loop = ev_default_loop(0);
	admin = e2e_client(loop, NULL);
}

static void teardown(void)
{
	fpd_kube_client_free(admin);
}

int main(void)
{
	Suite *s = suite_create("e2e_kube_discovery");
	TCase *tc = tcase_create("all");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, core_kinds_scope_and_cache);
	tcase_add_test(tc, crd_installed_after_first_lookup);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
