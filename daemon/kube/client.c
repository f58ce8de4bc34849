/* REST verbs and typed errors on top of the transport: see client.h. */
#include "kube/client.h"

#include <flyteplugd/buf.h>
#include "core/json_text.h"
#include "core/log.h"
#include <flyteplugd/mem.h>
#include "kube/kubepb.h"
#include "kube/prune.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_MAX_LEN 8192

struct op {
	struct fpd_kube_client *c;
	struct op *prev, *next;
	struct fpd_kube_http_req *req;
	fpd_kube_done_fn done;
	void *ud;
	char *what;     /* "GET /api/v1/..." for messages */
	bool finishing; /* its callback is running: cancel must leave it alone */
	bool metadata_only;
};

struct fpd_kube_client {
	struct fpd_kube_http *http;
	struct fpd_kube_client_opts opts;
	char *user_agent;
	struct fpd_kube_prune *metadata; /* a PartialObjectMetadata answer without managedFields */
	struct fpd_kubepb *metadata_pb;  /* the same in protobuf (opts.protobuf), or NULL */
	struct fpd_kubepb *pod_pb;       /* pods' bodies in protobuf (opts.protobuf_creates), or NULL */
	struct op *ops;
	size_t pending;
};

void fpd_kube_client_opts_from_config(const struct fpd_config_kube *cfg,
                                      struct fpd_kube_client_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->qps = cfg->qps;
	o->burst = cfg->burst;
	o->budgets[FPD_KUBE_BUDGET_CREATE] =
	    (struct fpd_kube_budget_opts){cfg->budget_create.qps, cfg->budget_create.burst};
	o->budgets[FPD_KUBE_BUDGET_READ] =
	    (struct fpd_kube_budget_opts){cfg->budget_read.qps, cfg->budget_read.burst};
	o->budgets[FPD_KUBE_BUDGET_DELETE] =
	    (struct fpd_kube_budget_opts){cfg->budget_delete.qps, cfg->budget_delete.burst};
	o->request_timeout_ms = cfg->request_timeout_ms;
	o->watch_timeout_ms = cfg->watch_timeout_ms;
	o->calls_http1 = cfg->call_protocol == FPD_CALLS_HTTP1;
	o->no_watch_list = !cfg->watch_list;
	o->protobuf = cfg->protobuf;
	o->protobuf_creates = cfg->protobuf_creates;
	o->call_connections = (long)cfg->call_connections;
}

/* Of a PartialObjectMetadata answer, the object's identity and version: the caller has the
 * rest (it sent it), and labels, annotations and managedFields are most of the bytes. */
const char *const fpd_kube_metadata_kept[] = {
    "/apiVersion",
    "/kind",
    "/metadata/name",
    "/metadata/generateName",
    "/metadata/namespace",
    "/metadata/uid",
    "/metadata/resourceVersion",
    "/metadata/generation",
    "/metadata/creationTimestamp",
    "/metadata/deletionTimestamp",
    "/metadata/deletionGracePeriodSeconds",
    NULL,
};

int fpd_kube_client_new(struct ev_loop *loop, const struct fpd_kube_creds *creds,
                        const struct fpd_kube_client_opts *opts, struct fpd_kube_client **out,
                        struct fpd_error *err)
{
	*out = NULL;
	struct fpd_kube_client *c = fpd_calloc(1, sizeof(*c));
	if (opts) {
		c->opts = *opts;
	} else {
		c->opts.qps = 5;
		c->opts.burst = 10;
	}
	if (c->opts.request_timeout_ms <= 0)
		c->opts.request_timeout_ms = 30000;
	if (c->opts.watch_timeout_ms <= 0)
		c->opts.watch_timeout_ms = 10 * 60 * 1000;
	c->user_agent = fpd_strdup(c->opts.user_agent ? c->opts.user_agent : "flyteplugd");
	c->opts.user_agent = c->user_agent;
	struct fpd_kube_http_opts ho = {
	    .qps = c->opts.qps,
	    .burst = c->opts.burst,
	    .budgets = {c->opts.budgets[0], c->opts.budgets[1], c->opts.budgets[2],
	                c->opts.budgets[3]},
	    .timeout_ms = c->opts.request_timeout_ms,
	    .token_reload_ms = c->opts.token_reload_ms,
	    .max_response = c->opts.max_response,
	    .user_agent = c->user_agent,
	    .calls_http1 = c->opts.calls_http1,
	    .max_call_connections = c->opts.call_connections,
	};
	int rc = fpd_kube_http_new(loop, creds, &ho, &c->http, err);
	if (rc) {
		free(c->user_agent);
		free(c);
		return rc;
	}
	c->metadata = fpd_kube_prune_new();
	for (const char *const *p = fpd_kube_metadata_kept; *p; p++)
		if (fpd_kube_prune_add(c->metadata, *p, NULL))
			fpd_die("bad JSON Pointer %s", *p);
	if (c->opts.protobuf && fpd_kubepb_new("PartialObjectMetadata",
	                                       fpd_kube_prune_root(c->metadata), &c->metadata_pb,
	                                       err))
		fpd_die("metadata decoder: %s", err->text);
	if (c->opts.protobuf_creates && fpd_kubepb_new("Pod", NULL, &c->pod_pb, err))
		fpd_die("pod encoder: %s", err->text);
	*out = c;
	return FPD_OK;
}

void fpd_kube_client_free(struct fpd_kube_client *c)
{
	if (!c)
		return;
	/* Pending calls complete with "client closed" from inside http_free. */
	fpd_kube_http_free(c->http);
	FPD_ASSERT(c->ops == NULL);
	fpd_kubepb_free(c->metadata_pb); /* borrows c->metadata's pointers */
	fpd_kubepb_free(c->pod_pb);
	fpd_kube_prune_free(c->metadata);
	free(c->user_agent);
	free(c);
}

struct fpd_kube_http *fpd_kube_client_http(const struct fpd_kube_client *c)
{
	return c->http;
}

const char *fpd_kube_client_namespace(const struct fpd_kube_client *c)
{
	return fpd_kube_http_creds(c->http)->namespace_;
}

const struct fpd_kube_client_opts *fpd_kube_client_opts(const struct fpd_kube_client *c)
{
	return &c->opts;
}

size_t fpd_kube_pending(const struct fpd_kube_client *c)
{
	return c->pending;
}

static void op_free(struct op *op)
{
	struct fpd_kube_client *c = op->c;
	if (op->prev)
		op->prev->next = op->next;
	else
		c->ops = op->next;
	if (op->next)
		op->next->prev = op->prev;
	c->pending--;
	free(op->what);
	free(op);
}

/* An answer in Kubernetes' protobuf (its "k8s\0" magic; JSON never starts so), to a client
 * that asked for it. */
static bool protobuf_answer(const struct fpd_kube_client *c, const struct fpd_kube_http_result *r)
{
	return c->metadata_pb && fpd_kubepb_enveloped(r->body, r->len);
}

static void op_done(void *ud, const struct fpd_kube_http_result *r)
{
	struct op *op = ud;
	struct fpd_kube_result res;
	memset(&res, 0, sizeof(res));
	op->req = NULL;
	if (r->code != FPD_OK) {
		res.code = r->code;
		res.status.http = r->status;
		res.err = r->err;
	} else if (r->status >= 200 && r->status < 300) {
		fpd_kube_status_parse(r->status, NULL, 0, &res.status);
		if (r->len && op->metadata_only && protobuf_answer(op->c, r)) {
			struct fpd_error perr;
			res.protobuf = true;
			if (fpd_kubepb_object(op->c->metadata_pb, r->body, r->len, &res.object,
			                      &perr))
				res.code = fpd_error_set(&res.err, FPD_EINVAL,
				                         "%s: invalid protobuf in the response: %s",
				                         op->what, perr.text);
		} else if (r->len && op->metadata_only && op->c->metadata) {
			struct fpd_error perr;
			if (fpd_kube_prune_parse(op->c->metadata, r->body, r->len, &res.object,
			                         &perr))
				res.code = fpd_error_set(&res.err, FPD_EINVAL,
				                         "%s: invalid JSON in the response: %s",
				                         op->what, perr.text);
		} else if (r->len) {
			json_error_t jerr;
			res.object = json_loadb(r->body, r->len, 0, &jerr);
			if (!res.object) {
				res.code = fpd_error_set(&res.err, FPD_EINVAL,
				                         "%s: invalid JSON in the response: %s",
				                         op->what, jerr.text);
			}
		}
	} else {
		const char *body = r->body;
		size_t len = r->len;
		char *text = NULL;
		if (protobuf_answer(op->c, r)) {
			/* A Status in protobuf: read as its JSON (undecodable: by the HTTP status
			 * alone). */
			json_t *st = NULL;
			struct fpd_error perr;
			res.protobuf = true;
			if (!fpd_kubepb_status(op->c->metadata_pb, r->body, r->len, &st, &perr))
				text = fpd_json_text(st, false, &len);
			json_decref(st);
			body = text;
			len = text ? len : 0;
		}
		fpd_kube_status_parse(r->status, body, len, &res.status);
		free(text);
		res.code = fpd_kube_status_errcode(&res.status);
		fpd_error_set(&res.err, res.code, "%s: %s (HTTP %ld): %s", op->what,
		              res.status.reason_text, r->status,
		              res.status.message[0] ? res.status.message : "no message");
	}
	op->finishing = true;
	op->done(op->ud, &res);
	json_decref(res.object);
	op_free(op);
}

/* Starts method on path with the body text (borrowed, len bytes; NULL: no body). */
static int start_text(struct fpd_kube_client *c, enum fpd_kube_budget budget, const char *method,
                      const char *path, const char *text, size_t len, const char *content_type,
                      const char *accept, fpd_kube_done_fn done, void *ud, struct fpd_error *err)
{
	if (!done)
		return fpd_error_set(err, FPD_EINVAL, "%s %s: no completion callback", method,
		                     path);
	struct op *op = fpd_calloc(1, sizeof(*op));
	op->c = c;
	op->done = done;
	op->ud = ud;
	op->what = fpd_asprintf("%s %s", method, path);
	op->metadata_only = accept != NULL; /* the one Accept there is besides the default */
	struct fpd_kube_http_spec spec = {
	    .method = method,
	    .path = path,
	    .content_type = text ? (content_type ? content_type : "application/json") : NULL,
	    .body = text,
	    .body_len = text ? len : 0,
	    .accept = accept,
	    .budget = budget,
	    .on_done = op_done,
	    .ud = op,
	};
	int rc = fpd_kube_http_start(c->http, &spec, &op->req, err);
	if (rc) {
		free(op->what);
		free(op);
		return rc;
	}
	op->next = c->ops;
	if (c->ops)
		c->ops->prev = op;
	c->ops = op;
	c->pending++;
	return FPD_AGAIN;
}

/* Starts an operation; the body (if any) is serialised here so that the caller's object is
 * only borrowed. */
static int start(struct fpd_kube_client *c, enum fpd_kube_budget budget, const char *method,
                 const char *path, json_t *body, const char *content_type, const char *accept,
                 fpd_kube_done_fn done, void *ud, struct fpd_error *err)
{
	char *text = NULL;
	size_t len = 0;
	if (body) {
		text = fpd_json_text(body, false, &len);
		if (!text)
			return fpd_error_set(err, FPD_EINVAL, "%s %s: body cannot be serialised",
			                     method, path);
	}
	int rc = start_text(c, budget, method, path, text, len, content_type, accept, done, ud,
	                    err);
	free(text);
	return rc;
}

/* The metadata of the object in answer instead of all of it (the server's
 * PartialObjectMetadata transformation): a fraction of the bytes to encode, send and parse.
 * In protobuf where the client reads protobuf, JSON as the fallback (client-go's metadata
 * client asks the same): the API server encodes the answer's managedFields (raw JSON it must
 * validate and compact for a JSON answer) as bytes, and the daemon skips them by their length
 * instead of scanning them. Error answers come in JSON either way (the API server negotiates
 * those without the conversion), or in protobuf as a Status, which op_done also reads. */
#define ACCEPT_METADATA "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
#define ACCEPT_METADATA_PB                                                                       \
	FPD_KUBEPB_MEDIA ";as=PartialObjectMetadata;g=meta.k8s.io;v=v1, " ACCEPT_METADATA

static const char *accept_of(const struct fpd_kube_client *c, const struct fpd_kube_write_opts *o)
{
	if (!o || !o->metadata_only)
		return NULL;
	return c->metadata_pb ? ACCEPT_METADATA_PB : ACCEPT_METADATA;
}

static int build_path(struct fpd_buf *b, const struct fpd_kube_ref *ref, bool want_name,
                      struct fpd_error *err)
{
	bool has_name = ref->name && ref->name[0];
	if (want_name != has_name)
		return fpd_error_set(
		    err, FPD_EINVAL, "%s: %s", ref->gvr ? ref->gvr->resource : "resource",
		    want_name ? "an object name is required" : "a collection takes no object name");
	return fpd_kube_path(b, ref, err);
}

static int query_error(struct fpd_buf *b, struct fpd_error *err)
{
	fpd_buf_free(b);
	return fpd_error_set(err, FPD_ERANGE, "request path longer than %d bytes", PATH_MAX_LEN);
}

static int write_query(struct fpd_buf *b, const struct fpd_kube_write_opts *o)
{
	if (!o)
		return FPD_OK;
	int rc = fpd_kube_query(b, "fieldManager", o->field_manager);
	if (!rc && o->dry_run)
		rc = fpd_kube_query(b, "dryRun", "All");
	return rc;
}

int fpd_kube_get(struct fpd_kube_client *c, const struct fpd_kube_ref *ref, fpd_kube_done_fn done,
                 void *ud, struct fpd_error *err)
{
	struct fpd_buf b;
	fpd_buf_init(&b, PATH_MAX_LEN);
	int rc = build_path(&b, ref, true, err);
	if (!rc)
		rc = start(c, FPD_KUBE_BUDGET_READ, "GET", b.data, NULL, NULL, NULL, done, ud, err);
	fpd_buf_free(&b);
	return rc;
}

int fpd_kube_list(struct fpd_kube_client *c, const struct fpd_kube_ref *ref,
                  const struct fpd_kube_list_opts *o, fpd_kube_done_fn done, void *ud,
                  struct fpd_error *err)
{
	struct fpd_buf b;
	fpd_buf_init(&b, PATH_MAX_LEN);
	int rc = build_path(&b, ref, false, err);
	if (rc) {
		fpd_buf_free(&b);
		return rc;
	}
	if (o) {
		if ((rc = fpd_kube_label_selector_check(o->label_selector, err)) ||
		    (rc = fpd_kube_field_selector_check(o->field_selector, err))) {
			fpd_buf_free(&b);
			return rc;
		}
		char limit[32] = "";
		if (o->limit > 0)
			snprintf(limit, sizeof(limit), "%lld", (long long)o->limit);
		if (fpd_kube_query(&b, "labelSelector", o->label_selector) ||
		    fpd_kube_query(&b, "fieldSelector", o->field_selector) ||
		    fpd_kube_query(&b, "limit", limit) ||
		    fpd_kube_query(&b, "continue", o->continue_token) ||
		    fpd_kube_query(&b, "resourceVersion", o->resource_version) ||
		    fpd_kube_query(&b, "resourceVersionMatch", o->resource_version_match))
			return query_error(&b, err);
	}
	rc = start(c, FPD_KUBE_BUDGET_OTHER, "GET", b.data, NULL, NULL, NULL, done, ud, err);
	fpd_buf_free(&b);
	return rc;
}

int fpd_kube_create(struct fpd_kube_client *c, const struct fpd_kube_ref *ref, json_t *obj,
                    const struct fpd_kube_write_opts *o, fpd_kube_done_fn done, void *ud,
                    struct fpd_error *err)
{
	if (!json_is_object(obj))
		return fpd_error_set(err, FPD_EINVAL, "create: the object must be a JSON object");
	size_t len;
	char *text = fpd_json_text(obj, false, &len);
	if (!text)
		return fpd_error_set(err, FPD_EINVAL, "create: the object cannot be serialised");
	int rc = fpd_kube_create_text(c, ref, text, len, o, done, ud, err);
	free(text);
	return rc;
}

static int create_body(struct fpd_kube_client *c, const struct fpd_kube_ref *ref,
                       const char *body, size_t len, const char *content_type,
                       const struct fpd_kube_write_opts *o, fpd_kube_done_fn done, void *ud,
                       struct fpd_error *err)
{
	struct fpd_buf b;
	fpd_buf_init(&b, PATH_MAX_LEN);
	int rc = build_path(&b, ref, false, err);
	if (!rc && write_query(&b, o))
		return query_error(&b, err);
	if (!rc)
		rc = start_text(c, FPD_KUBE_BUDGET_CREATE, "POST", b.data, body, len, content_type,
		                accept_of(c, o), done, ud, err);
	fpd_buf_free(&b);
	return rc;
}

int fpd_kube_create_text(struct fpd_kube_client *c, const struct fpd_kube_ref *ref,
                         const char *text, size_t len, const struct fpd_kube_write_opts *o,
                         fpd_kube_done_fn done, void *ud, struct fpd_error *err)
{
	if (!text || len == 0 || text[0] != '{')
		return fpd_error_set(err, FPD_EINVAL, "create: the object must be a JSON object");
	return create_body(c, ref, text, len, NULL, o, done, ud, err);
}

int fpd_kube_encode_create(struct fpd_kube_client *c, const struct fpd_kube_ref *ref,
                           const json_t *obj, size_t max, char **out, size_t *len,
                           struct fpd_error *err)
{
	const struct fpd_kube_gvr *g = ref->gvr;
	if (!c->pod_pb || !fpd_kubepb_kind_for(g->group, g->version, g->resource))
		return fpd_error_set(err, FPD_ENOENT, "%s: sent as JSON", g->resource);
	struct fpd_buf b;
	fpd_buf_init(&b, max);
	int rc = fpd_kubepb_encode(c->pod_pb, obj, &b, err);
	if (rc) {
		fpd_buf_free(&b);
		return rc;
	}
	*out = fpd_buf_steal(&b, len);
	return FPD_OK;
}

int fpd_kube_create_protobuf(struct fpd_kube_client *c, const struct fpd_kube_ref *ref,
                             const char *body, size_t len, const struct fpd_kube_write_opts *o,
                             fpd_kube_done_fn done, void *ud, struct fpd_error *err)
{
	if (!body || !fpd_kubepb_enveloped(body, len))
		return fpd_error_set(err, FPD_EINVAL, "create: the body is not Kubernetes' protobuf");
	return create_body(c, ref, body, len, FPD_KUBEPB_MEDIA, o, done, ud, err);
}

int fpd_kube_decode_created(struct fpd_kube_client *c, const char *body, size_t len,
                            json_t **out, struct fpd_error *err)
{
	*out = NULL;
	if (!c->pod_pb)
		return fpd_error_set(err, FPD_EINVAL, "the client encodes nothing in protobuf");
	return fpd_kubepb_object(c->pod_pb, body, len, out, err);
}

int fpd_kube_update(struct fpd_kube_client *c, const struct fpd_kube_ref *ref, json_t *obj,
                    const struct fpd_kube_write_opts *o, fpd_kube_done_fn done, void *ud,
                    struct fpd_error *err)
{
	if (!json_is_object(obj))
		return fpd_error_set(err, FPD_EINVAL, "update: the object must be a JSON object");
	struct fpd_buf b;
	fpd_buf_init(&b, PATH_MAX_LEN);
	int rc = build_path(&b, ref, true, err);
	if (!rc && write_query(&b, o))
		return query_error(&b, err);
	if (!rc)
		rc = start(c, FPD_KUBE_BUDGET_OTHER, "PUT", b.data, obj, NULL, accept_of(c, o), done,
		           ud, err);
	fpd_buf_free(&b);
	return rc;
}

static const char *patch_content_type(enum fpd_kube_patch_type t)
{
	switch (t) {
	case FPD_KUBE_PATCH_JSON: return "application/json-patch+json";
	case FPD_KUBE_PATCH_STRATEGIC: return "application/strategic-merge-patch+json";
	/* JSON is YAML: client-go sends apply patches as JSON with this type. */
	case FPD_KUBE_PATCH_APPLY: return "application/apply-patch+yaml";
	case FPD_KUBE_PATCH_MERGE:
	default: return "application/merge-patch+json";
	}
}

int fpd_kube_patch(struct fpd_kube_client *c, const struct fpd_kube_ref *ref,
                   enum fpd_kube_patch_type type, json_t *patch,
                   const struct fpd_kube_write_opts *o, fpd_kube_done_fn done, void *ud,
                   struct fpd_error *err)
{
	if (type == FPD_KUBE_PATCH_JSON ? !json_is_array(patch) : !json_is_object(patch))
		return fpd_error_set(err, FPD_EINVAL, "patch: a %s patch must be a JSON %s",
		                     type == FPD_KUBE_PATCH_JSON ? "JSON" : "merge or apply",
		                     type == FPD_KUBE_PATCH_JSON ? "array" : "object");
	if (type == FPD_KUBE_PATCH_APPLY && (!o || !o->field_manager || !o->field_manager[0]))
		return fpd_error_set(err, FPD_EINVAL, "server-side apply needs a field manager");
	if (type == FPD_KUBE_PATCH_APPLY &&
	    json_object_get(json_object_get(patch, "metadata"), "managedFields"))
		return fpd_error_set(err, FPD_EINVAL,
		                     "an apply patch must not carry metadata.managedFields");
	struct fpd_buf b;
	fpd_buf_init(&b, PATH_MAX_LEN);
	int rc = build_path(&b, ref, true, err);
	if (!rc && (write_query(&b, o) || (type == FPD_KUBE_PATCH_APPLY && o->force &&
	                                   fpd_kube_query(&b, "force", "true"))))
		return query_error(&b, err);
	if (!rc)
		rc = start(c, FPD_KUBE_BUDGET_OTHER, "PATCH", b.data, patch,
		           patch_content_type(type), accept_of(c, o), done, ud, err);
	fpd_buf_free(&b);
	return rc;
}

static json_t *delete_options(const struct fpd_kube_delete_opts *o)
{
	static const char *const policies[] = {NULL, "Background", "Foreground", "Orphan"};
	json_t *d = json_pack("{s:s, s:s}", "apiVersion", "v1", "kind", "DeleteOptions");
	if (!o)
		return d;
	json_t *pre = json_object();
	if (o->uid && o->uid[0])
		json_object_set_new(pre, "uid", json_string(o->uid));
	if (o->resource_version && o->resource_version[0])
		json_object_set_new(pre, "resourceVersion", json_string(o->resource_version));
	if (json_object_size(pre))
		json_object_set_new(d, "preconditions", pre);
	else
		json_decref(pre);
	if (o->propagation > FPD_KUBE_PROPAGATE_DEFAULT &&
	    o->propagation <= FPD_KUBE_PROPAGATE_ORPHAN)
		json_object_set_new(d, "propagationPolicy", json_string(policies[o->propagation]));
	if (o->grace_period_s >= 0)
		json_object_set_new(d, "gracePeriodSeconds", json_integer(o->grace_period_s));
	if (o->dry_run)
		json_object_set_new(d, "dryRun", json_pack("[s]", "All"));
	return d;
}

int fpd_kube_delete(struct fpd_kube_client *c, const struct fpd_kube_ref *ref,
                    const struct fpd_kube_delete_opts *o, fpd_kube_done_fn done, void *ud,
                    struct fpd_error *err)
{
	struct fpd_buf b;
	fpd_buf_init(&b, PATH_MAX_LEN);
	int rc = build_path(&b, ref, true, err);
	if (!rc) {
		json_t *body = delete_options(o);
		rc = start(c, FPD_KUBE_BUDGET_DELETE, "DELETE", b.data, body, NULL, NULL, done, ud,
		           err);
		json_decref(body);
	}
	fpd_buf_free(&b);
	return rc;
}

int fpd_kube_request(struct fpd_kube_client *c, const char *method, const char *path, json_t *body,
                     const char *content_type, fpd_kube_done_fn done, void *ud,
                     struct fpd_error *err)
{
	if (!method || !path || path[0] != '/')
		return fpd_error_set(err, FPD_EINVAL, "request needs a method and a path from '/'");
	return start(c, FPD_KUBE_BUDGET_OTHER, method, path, body, content_type, NULL, done, ud,
	             err);
}

void fpd_kube_cancel(struct fpd_kube_client *c, void *ud)
{
	for (struct op *op = c->ops, *next; op; op = next) {
		next = op->next;
		if (op->ud != ud || op->finishing)
			continue;
		fpd_kube_http_cancel(c->http, op->req);
		op_free(op);
	}
}
