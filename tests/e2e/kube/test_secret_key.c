/* A shared key in a Secret against the real API server: replicas racing to create it end with
 * the same key, an existing Secret is used as it is, and a ServiceAccount without RBAC on
 * secrets gets an error that says what is missing. */
#include "e2e.h"

#include <flyteplugd/mem.h>
#include "kube/secret_key.h"

static struct ev_loop *loop;
static struct fpd_kube_client *admin;
static char *ns;
static struct fpd_kube_gvr secrets = {"", "v1", "secrets", "Secret", true};

struct outcome {
	bool done;
	int code;
	bool created;
	char *value; /* the data key's base64 value */
	struct fpd_error err;
};

static void on_key(void *ud, int code, const json_t *data, bool created,
                   const struct fpd_error *err)
{
	struct outcome *o = ud;
	o->done = true;
	o->code = code;
	o->created = created;
	if (code == FPD_OK)
		o->value = fpd_strdup(json_string_value(json_object_get(data, "signing-key")));
	else
		o->err = *err;
}

static void start(struct fpd_kube_client *c, const char *name, struct outcome *o)
{
	struct fpd_secret_key_opts opts = {
	    .namespace_ = ns, .name = name, .data_key = "signing-key"};
	struct fpd_secret_key *h = NULL;
	struct fpd_error err;
	ck_assert_msg(fpd_secret_key_ensure(c, &opts, on_key, o, &h, &err) == FPD_AGAIN, "%s",
	              err.text);
	ck_assert_ptr_nonnull(h);
}

static void setup(void)
{
	loop = ev_default_loop(0);
	admin = e2e_client(loop, NULL);
	ns = e2e_namespace(loop, admin, "kube-secret-key");
}

static void teardown(void)
{
	struct e2e_call call = {0};
	struct fpd_kube_ref ref = {&e2e_namespaces, NULL, ns, NULL};
	E2E_CALL(loop, &call, fpd_kube_delete(admin, &ref, NULL, e2e_done, &call, &e2e_err));
	e2e_call_reset(&call);
	free(ns);
	fpd_kube_client_free(admin);
}

START_TEST(racing_replicas_share_one_key)
{
	/* Three rounds, each with a fresh Secret name: the replicas start in the same loop
	 * iteration, so their GETs usually all miss and their POSTs race. */
	for (int round = 0; round < 3; round++) {
		char name[32];
		snprintf(name, sizeof(name), "race-%d", round);
		struct fpd_kube_client *c[3];
		struct outcome o[3] = {{0}};
		for (int i = 0; i < 3; i++)
			c[i] = e2e_client(loop, NULL);
		for (int i = 0; i < 3; i++)
			start(c[i], name, &o[i]);
		for (int i = 0; i < 3; i++)
			e2e_wait(loop, &o[i].done, 60, "secret key bootstrap");
		int created = 0;
		for (int i = 0; i < 3; i++) {
			ck_assert_msg(o[i].code == FPD_OK, "replica %d: %s", i, o[i].err.text);
			created += o[i].created;
			ck_assert_msg(strcmp(o[i].value, o[0].value) == 0,
			              "replica %d ended with another key than replica 0", i);
		}
		ck_assert_msg(created == 1, "exactly one replica creates the Secret, %d did",
		              created);

		/* what the Secret holds is what they got: 32 random bytes */
		struct e2e_call call = {0};
		struct fpd_kube_ref ref = {&secrets, ns, name, NULL};
		E2E_CALL(loop, &call, fpd_kube_get(admin, &ref, e2e_done, &call, &e2e_err));
		E2E_OK(&call);
		const char *stored = json_string_value(
		    json_object_get(json_object_get(call.obj, "data"), "signing-key"));
		ck_assert_str_eq(stored, o[0].value);
		ck_assert_uint_eq(strlen(stored), 44); /* base64 of 32 bytes */
		e2e_call_reset(&call);
		for (int i = 0; i < 3; i++) {
			free(o[i].value);
			fpd_kube_client_free(c[i]);
		}
	}
}
END_TEST

START_TEST(existing_secret_used_as_is)
{
	const char *mine = "b3BlcmF0b3ItY2hvc2VuLWtleS0wMTIzNDU2Nzg5"; /* operator-chosen... */
	json_t *obj = json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:s}}", "apiVersion", "v1", "kind",
	                        "Secret", "metadata", "name", "given", "data", "signing-key", mine,
	                        "signing-key.previous", "cHJldmlvdXMta2V5LTAxMjM0NTY3ODk=");
	struct e2e_call call = {0};
	struct fpd_kube_ref coll = {&secrets, ns, NULL, NULL};
	E2E_CALL(loop, &call, fpd_kube_create(admin, &coll, obj, NULL, e2e_done, &call, &e2e_err));
	json_decref(obj);
	E2E_OK(&call);
	e2e_call_reset(&call);

	struct outcome o = {0};
	start(admin, "given", &o);
	e2e_wait(loop, &o.done, 60, "secret key read");
	ck_assert_msg(o.code == FPD_OK, "%s", o.err.text);
	ck_assert_msg(!o.created, "an existing Secret is not created again");
	ck_assert_str_eq(o.value, mine);
	free(o.value);

	/* A Secret of that name without the data key is an error, never overwritten. */
	obj = json_pack("{s:s, s:s, s:{s:s}, s:{s:s}}", "apiVersion", "v1", "kind", "Secret",
	                "metadata", "name", "other", "data", "unrelated", "eA==");
	E2E_CALL(loop, &call, fpd_kube_create(admin, &coll, obj, NULL, e2e_done, &call, &e2e_err));
	json_decref(obj);
	E2E_OK(&call);
	e2e_call_reset(&call);
	struct outcome bad = {0};
	start(admin, "other", &bad);
	e2e_wait(loop, &bad.done, 60, "secret key read");
	ck_assert_msg(bad.code == FPD_ENOENT && strstr(bad.err.text, "without the data key"),
	              "expected ENOENT naming the missing key, got %s: %s", fpd_strerror(bad.code),
	              bad.err.text);
}
END_TEST

START_TEST(rbac_denied_is_clear)
{
	/* a ServiceAccount that may read pods, not secrets */
	e2e_allow_pod_reads(loop, admin, ns, "nosecrets");
	char *token = e2e_sa_token(loop, admin, ns, "nosecrets");
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

	struct outcome o = {0};
	start(c, "signing", &o);
	e2e_wait(loop, &o.done, 60, "secret key read");
	ck_assert_msg(o.code == FPD_EPERM, "expected EPERM, got %s: %s", fpd_strerror(o.code),
	              o.err.text);
	ck_assert_msg(strstr(o.err.text, "reading Secret") && strstr(o.err.text, "/signing") &&
	                  strstr(o.err.text, "get and create on secrets") &&
	                  strstr(o.err.text, "forbidden"),
	              "the message says what is missing: %s", o.err.text);
	fpd_kube_client_free(c);
}
END_TEST

/* Cancelling a call under way: its callback never runs. */
START_TEST(cancel_under_way)
{
	struct outcome o = {0};
	struct fpd_secret_key_opts opts = {
	    .namespace_ = ns, .name = "cancelled", .data_key = "signing-key"};
	struct fpd_secret_key *h = NULL;
	struct fpd_error err;
	ck_assert_int_eq(fpd_secret_key_ensure(admin, &opts, on_key, &o, &h, &err), FPD_AGAIN);
	fpd_secret_key_cancel(h);
	e2e_run_for(loop, 1.0);
	ck_assert_msg(!o.done, "a cancelled call must not call back");
	ck_assert_int_eq(fpd_kube_pending(admin), 0);
	opts.data_key = "";
	ck_assert_int_eq(fpd_secret_key_ensure(admin, &opts, on_key, &o, &h, &err), FPD_EINVAL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kube_secret_key");
	TCase *tc = tcase_create("secret_key");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, racing_replicas_share_one_key);
	tcase_add_test(tc, existing_secret_used_as_is);
	tcase_add_test(tc, rbac_denied_is_clear);
	tcase_add_test(tc, cancel_under_way);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
