/*
 * Access: may this client do these verbs on a resource in these namespaces? Asked of the API
 * server itself with SelfSubjectAccessReview (authorization.k8s.io/v1), one review per verb and
 * namespace, all in flight at once; any authenticated identity may create them (the
 * system:basic-user ClusterRole). The answer is the authorizer's, so RBAC, Node and webhook
 * authorizers are all taken into account.
 */
#ifndef FPD_KUBE_ACCESS_H
#define FPD_KUBE_ACCESS_H

#include <flyteplugd/error.h>
#include "kube/client.h"

#include <stddef.h>

/* At most this many reviews (verbs × namespaces) per check. */
#define FPD_KUBE_ACCESS_MAX 512

struct fpd_kube_access;

/* What to check; everything borrowed for the call to fpd_kube_access_check only. */
struct fpd_kube_access_req {
	const char *group;    /* "" for the core group */
	const char *resource; /* the plural */
	const char *const *verbs;
	size_t nverbs;
	/* The namespaces; none: all namespaces (a ClusterRoleBinding's permission). */
	const char *const *namespaces;
	size_t nnamespaces;
};

/* The answer: FPD_OK when every review allowed; FPD_EPERM when one did not, err naming the
 * first denied (in verb, then namespace order) as `create jobs.batch in namespace "x"` with the
 * authorizer's reason when it gave one; another code when a review could not be made (err
 * says why). Called once, from the loop, never from within fpd_kube_access_check. */
typedef void (*fpd_kube_access_fn)(void *ud, int code, const struct fpd_error *err);

/* Starts the reviews of req through c (borrowed; must outlive the check). *out (new) is freed
 * after cb returns, or by fpd_kube_access_cancel before. FPD_AGAIN on success; FPD_EINVAL for
 * an empty or too large request (cb is not called then). */
int fpd_kube_access_check(struct fpd_kube_client *c, const struct fpd_kube_access_req *req,
                          fpd_kube_access_fn cb, void *ud, struct fpd_kube_access **out,
                          struct fpd_error *err);

/* Abandons a check still under way: cb will not be called, a is freed. NULL is fine. */
void fpd_kube_access_cancel(struct fpd_kube_access *a);

#endif
