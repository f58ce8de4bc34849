/*
 * Helpers for the kube e2e tests: the fixture cluster's settings, clients, running an
 * asynchronous call to completion on a loop, namespaces and objects, and driving the cluster
 * (kill/start the apiserver, compact etcd) through tests/cluster/cluster.py.
 */
#ifndef FPD_KUBE_E2E_H
#define FPD_KUBE_E2E_H

#include "kube/client.h"
#include "kube/informer.h"
#include "fpd_test.h"

#include <ev.h>
#include <jansson.h>

/* Value of key in the cluster's env file (borrowed, valid for the process); fails the test
 * when the fixture cluster is not there. */
const char *e2e_env(const char *key);

/* Runs `cluster.py <verb> --dir <cluster>` and fails the test unless it succeeds. */
void e2e_cluster(const char *verb);

/* Admin credentials from the fixture's KUBECONFIG (new; fpd_kube_creds_free). */
void e2e_admin_creds(struct fpd_kube_creds *c);

/* Whether informers read pods in protobuf, as the daemon's do by default: yes unless
 * FPD_E2E_JSON=1, which runs the same tests in JSON. */
bool e2e_protobuf(void);

/* A client with the admin credentials; opts may be NULL (generous limits for tests). */
struct fpd_kube_client *e2e_client(struct ev_loop *loop, const struct fpd_kube_client_opts *opts);

/* The outcome of one call, filled by e2e_done. */
struct e2e_call {
	bool done;
	int code;
	struct fpd_kube_status status;
	json_t *obj; /* new reference, released by e2e_call_reset */
	struct fpd_error err;
	bool protobuf; /* the answer came in protobuf */
};

void e2e_done(void *ud, const struct fpd_kube_result *res);
void e2e_call_reset(struct e2e_call *c);

/* Runs loop until *flag is true; fails the test after timeout_s. */
void e2e_wait(struct ev_loop *loop, const bool *flag, double timeout_s, const char *what);
/* Runs loop until pred(ud) is true; fails after timeout_s. */
void e2e_wait_for(struct ev_loop *loop, bool (*pred)(void *ud), void *ud, double timeout_s,
                  const char *what);
/* Runs loop for seconds. */
void e2e_run_for(struct ev_loop *loop, double seconds);

/* Runs the expression (an fpd_kube_* call using e2e_done, call and &e2e_err) to completion. */
#define E2E_CALL(loop, call, expr)                                                                \
	do {                                                                                      \
		struct fpd_error e2e_err;                                                         \
		e2e_call_reset(call);                                                             \
		int e2e_rc = (expr);                                                              \
		ck_assert_msg(e2e_rc == FPD_AGAIN, "%s: did not start: %s", #expr, e2e_err.text); \
		e2e_wait(loop, &(call)->done, 120, #expr);                                        \
	} while (0)

/* Asserts the call succeeded, printing the error otherwise. */
#define E2E_OK(call)                                                          \
	ck_assert_msg((call)->code == FPD_OK, "expected success, got %s: %s", \
	              fpd_strerror((call)->code), (call)->err.text)

/* A new namespace "<prefix>-xxxxx" with its default ServiceAccount (new string). */
char *e2e_namespace(struct ev_loop *loop, struct fpd_kube_client *c, const char *prefix);

/* A minimal pod (new reference) named name with label key=value (key may be NULL). */
json_t *e2e_pod(const char *name, const char *label_key, const char *label_value);

/* Creates ServiceAccount sa in ns (if missing) and returns a bound token for it from the
 * TokenRequest API (new string). */
char *e2e_sa_token(struct ev_loop *loop, struct fpd_kube_client *c, const char *ns, const char *sa);

/* Grants ServiceAccount sa of ns get/list/watch on pods in ns (Role + RoleBinding). */
void e2e_allow_pod_reads(struct ev_loop *loop, struct fpd_kube_client *c, const char *ns,
                         const char *sa);

/* The resources used throughout. */
extern struct fpd_kube_gvr e2e_pods, e2e_configmaps, e2e_namespaces, e2e_serviceaccounts;

#endif
