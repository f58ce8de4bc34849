/* Access checks (SelfSubjectAccessReview) against the real API server, which authorizes with
 * RBAC: a ServiceAccount allowed to read pods in its namespace is allowed exactly that; the
 * first denied verb and namespace are named; a cancelled check never calls back. */
#include "e2e.h"

#include "kube/access.h"

#include <stdlib.h>
#include <string.h>

static struct ev_loop *loop;
static struct fpd_kube_client *admin;

struct answer {
	bool done;
	int code;
	struct fpd_error err;
};

static void answered(void *ud, int code, const struct fpd_error *err)
{
	struct answer *a = ud;
	a->done = true;
	a->code = code;
	if (err)
		a->err = *err;
}

static int check(struct fpd_kube_client *c, const char *group, const char *resource,
                 const char *const *verbs, size_t nverbs, const char *const *nss, size_t nns,
                 struct answer *a)
{
	memset(a, 0, sizeof(*a));
	struct fpd_kube_access_req req = {group, resource, verbs, nverbs, nss, nns};
	struct fpd_kube_access *acc;
	struct fpd_error err;
	int rc = fpd_kube_access_check(c, &req, answered, a, &acc, &err);
	ck_assert_msg(rc == FPD_AGAIN, "access check did not start: %s", err.text);
	e2e_wait(loop, &a->done, 60, "access reviews");
	return a->code;
}

/* A client authenticating as ServiceAccount sa of ns with a bound token. */
static struct fpd_kube_client *sa_client(const char *ns, const char *sa)
{
	char *token = e2e_sa_token(loop, admin, ns, sa);
	struct fpd_kube_creds creds;
	e2e_admin_creds(&creds);
	free(creds.cert.data);
	free(creds.key.data);
	creds.cert.data = creds.key.data = NULL;
	creds.cert.len = creds.key.len = 0;
	free(creds.token);
	creds.token = token;
	struct fpd_kube_client *c;
	struct fpd_error err;
	ck_assert_msg(fpd_kube_client_new(loop, &creds, NULL, &c, &err) == FPD_OK, "%s", err.text);
	fpd_kube_creds_free(&creds);
	return c;
}

START_TEST(allowed_denied_and_cancelled)
{
	char *ns = e2e_namespace(loop, admin, "access");
	e2e_allow_pod_reads(loop, admin, ns, "reader");
	struct fpd_kube_client *c = sa_client(ns, "reader");
	static const char *const reads[] = {"get", "list", "watch"};
	static const char *const all[] = {"get", "list", "create", "delete"};
	const char *const mine[] = {ns};
	const char *const two[] = {ns, "default"};
	struct answer a;

	ck_assert_int_eq(check(c, "", "pods", reads, 3, mine, 1, &a), FPD_OK);
	/* create is the first verb denied, in the one namespace */
	ck_assert_int_eq(check(c, "", "pods", all, 4, mine, 1, &a), FPD_EPERM);
	char want[256];
	snprintf(want, sizeof(want), "create pods in namespace \"%s\"", ns);
	ck_assert_msg(!strncmp(a.err.text, want, strlen(want)), "expected \"%s...\", got \"%s\"",
	              want, a.err.text);
	/* reads in another namespace, and in all namespaces, are not granted */
	ck_assert_int_eq(check(c, "", "pods", reads, 3, two, 2, &a), FPD_EPERM);
	ck_assert_msg(strstr(a.err.text, "get pods in namespace \"default\""), "%s", a.err.text);
	ck_assert_int_eq(check(c, "", "pods", reads, 1, NULL, 0, &a), FPD_EPERM);
	ck_assert_msg(strstr(a.err.text, "get pods in all namespaces"), "%s", a.err.text);
	ck_assert_int_eq(check(c, "batch", "jobs", reads, 1, mine, 1, &a), FPD_EPERM);
	ck_assert_msg(strstr(a.err.text, "get jobs.batch in namespace"), "%s", a.err.text);
	/* the admin may do all of it */
	ck_assert_int_eq(check(admin, "batch", "jobs", all, 4, two, 2, &a), FPD_OK);

	/* bad requests are refused at once; a cancelled check never answers */
	struct fpd_kube_access_req empty = {"", "pods", reads, 0, NULL, 0};
	struct fpd_kube_access *acc = NULL;
	struct fpd_error err;
	memset(&a, 0, sizeof(a));
	ck_assert_int_eq(fpd_kube_access_check(c, &empty, answered, &a, &acc, &err), FPD_EINVAL);
	struct fpd_kube_access_req big = {"", "pods", reads, 3, NULL, 0};
	big.nnamespaces = FPD_KUBE_ACCESS_MAX;
	big.namespaces = two; /* not read: refused for its size first */
	ck_assert_int_eq(fpd_kube_access_check(c, &big, answered, &a, &acc, &err), FPD_EINVAL);
	struct fpd_kube_access_req req = {"", "pods", reads, 3, mine, 1};
	ck_assert_int_eq(fpd_kube_access_check(c, &req, answered, &a, &acc, &err), FPD_AGAIN);
	fpd_kube_access_cancel(acc);
	e2e_run_for(loop, 1);
	ck_assert(!a.done);

	fpd_kube_client_free(c);
	free(ns);
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
	Suite *s = suite_create("e2e_kube_access");
	TCase *tc = tcase_create("all");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, allowed_denied_and_cancelled);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
