/* Permission checks through SelfSubjectAccessReview: see access.h. */
#include "kube/access.h"

#include <flyteplugd/mem.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct review {
	struct fpd_kube_access *a;
	size_t index; /* verb-major: verbs[index / nns], namespaces[index % nns] */
	char verb[32];
	char namespace_[64];
};

struct fpd_kube_access {
	struct fpd_kube_client *c;
	fpd_kube_access_fn cb;
	void *ud;
	char what[320]; /* "jobs.batch" */
	struct review *reviews;
	size_t count, outstanding;
	size_t denied; /* index of the first denial; count when none */
	int code;      /* the first failure other than a denial */
	struct fpd_error err, denial;
};

static void free_access(struct fpd_kube_access *a)
{
	for (size_t i = 0; a->outstanding && i < a->count; i++)
		fpd_kube_cancel(a->c, &a->reviews[i]);
	free(a->reviews);
	free(a);
}

static void reviewed(void *ud, const struct fpd_kube_result *res)
{
	struct review *r = ud;
	struct fpd_kube_access *a = r->a;
	a->outstanding--;
	const json_t *status = json_object_get(res->object, "status");
	if (res->code) {
		if (!a->code) {
			a->code = res->code;
			a->err = res->err;
		}
	} else if (!json_is_true(json_object_get(status, "allowed")) && r->index < a->denied) {
		const char *reason = json_string_value(json_object_get(status, "reason"));
		a->denied = r->index;
		char where[96] = "in all namespaces";
		if (r->namespace_[0])
			snprintf(where, sizeof(where), "in namespace \"%s\"", r->namespace_);
		fpd_error_set(&a->denial, FPD_EPERM, "%s %s %s%s%s", r->verb, a->what, where,
		              reason && reason[0] ? ": " : "", reason ? reason : "");
	}
	if (a->outstanding)
		return;
	if (a->denied < a->count)
		a->cb(a->ud, FPD_EPERM, &a->denial);
	else
		a->cb(a->ud, a->code, a->code ? &a->err : NULL);
	free_access(a);
}

static json_t *review_body(const char *group, const char *resource, const struct review *r)
{
	json_t *attrs =
	    json_pack("{ss ss ss}", "verb", r->verb, "group", group, "resource", resource);
	if (r->namespace_[0])
		json_object_set_new(attrs, "namespace", json_string(r->namespace_));
	return json_pack("{ss ss s{so}}", "apiVersion", "authorization.k8s.io/v1", "kind",
	                 "SelfSubjectAccessReview", "spec", "resourceAttributes", attrs);
}

int fpd_kube_access_check(struct fpd_kube_client *c, const struct fpd_kube_access_req *req,
                          fpd_kube_access_fn cb, void *ud, struct fpd_kube_access **out,
                          struct fpd_error *err)
{
	*out = NULL;
	size_t nns = req->nnamespaces ? req->nnamespaces : 1;
	if (!req->nverbs || !req->resource || !req->resource[0] || !cb ||
	    req->nverbs > FPD_KUBE_ACCESS_MAX / nns)
		return fpd_error_set(err, FPD_EINVAL,
		                     "access check: 1 to %d verbs × namespaces and a resource",
		                     FPD_KUBE_ACCESS_MAX);
	struct fpd_kube_access *a = fpd_calloc(1, sizeof(*a));
	a->c = c;
	a->cb = cb;
	a->ud = ud;
	const char *group = req->group ? req->group : "";
	snprintf(a->what, sizeof(a->what), "%s%s%s", req->resource, group[0] ? "." : "", group);
	a->count = req->nverbs * nns;
	a->denied = a->count;
	a->reviews = fpd_calloc(a->count, sizeof(*a->reviews));
	for (size_t i = 0; i < a->count; i++) {
		struct review *r = &a->reviews[i];
		r->a = a;
		r->index = i;
		snprintf(r->verb, sizeof(r->verb), "%s", req->verbs[i / nns]);
		if (req->nnamespaces)
			snprintf(r->namespace_, sizeof(r->namespace_), "%s",
			         req->namespaces[i % nns]);
		json_t *body = review_body(group, req->resource, r);
		struct fpd_error rerr;
		int rc = fpd_kube_request(c, "POST",
		                          "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
		                          body, NULL, reviewed, r, &rerr);
		json_decref(body);
		if (rc == FPD_AGAIN) {
			a->outstanding++;
		} else if (!a->code) {
			a->code = rc ? rc : FPD_EIO;
			a->err = rerr;
		}
	}
	if (!a->outstanding) {
		int code = a->code;
		*err = a->err;
		free_access(a);
		return code;
	}
	*out = a;
	return FPD_AGAIN;
}

void fpd_kube_access_cancel(struct fpd_kube_access *a)
{
	if (a)
		free_access(a);
}
