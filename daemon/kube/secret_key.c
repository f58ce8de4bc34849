/* A shared random key in a Secret: GET, or POST once and on 409 GET the winner's. See
 * secret_key.h. */
#include "kube/secret_key.h"

#include <flyteplugd/mem.h>

#include <flyteplugd/base64.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <string.h>

#define RANDOM_MAX 4096

static const struct fpd_kube_gvr secrets = {"", "v1", "secrets", "Secret", true};

enum step { READ, CREATE, READ_WINNER };

struct fpd_secret_key {
	struct fpd_kube_client *c;
	char *namespace_, *name, *data_key;
	size_t random_bytes;
	enum step step;
	fpd_secret_key_fn done;
	void *ud;
};

static void release(struct fpd_secret_key *s)
{
	free(s->namespace_);
	free(s->name);
	free(s->data_key);
	free(s);
}

static void finish(struct fpd_secret_key *s, int code, const json_t *data, bool created,
                   const struct fpd_error *err)
{
	s->done(s->ud, code, data, created, err);
	release(s);
}

/* RBAC refused verb: say which permission is missing. */
static void forbidden(struct fpd_secret_key *s, const char *verb, const char *why)
{
	struct fpd_error err;
	fpd_error_set(&err, FPD_EPERM,
	              "%s Secret %s/%s is forbidden: the daemon's ServiceAccount needs get and "
	              "create on secrets in its namespace, or the Secret must exist beforehand "
	              "(%s)",
	              verb, s->namespace_, s->name, why);
	finish(s, FPD_EPERM, NULL, false, &err);
}

static void on_result(void *ud, const struct fpd_kube_result *res);

static int start_get(struct fpd_secret_key *s, struct fpd_error *err)
{
	struct fpd_kube_ref ref = {&secrets, s->namespace_, s->name, NULL};
	return fpd_kube_get(s->c, &ref, on_result, s, err);
}

/* The Secret as we want it: data_key = random bytes, labelled as ours. */
static json_t *new_secret(const struct fpd_secret_key *s, struct fpd_error *err)
{
	uint8_t raw[RANDOM_MAX];
	char b64[FPD_BASE64_LEN(RANDOM_MAX) + 1];
	if (RAND_bytes(raw, (int)s->random_bytes) != 1) {
		fpd_error_set(err, FPD_EIO, "no random bytes for Secret %s/%s", s->namespace_,
		              s->name);
		return NULL;
	}
	fpd_base64_encode(raw, s->random_bytes, 0, b64);
	OPENSSL_cleanse(raw, sizeof(raw));
	json_t *obj = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:s, s:{s:s}}", "apiVersion",
	                        "v1", "kind", "Secret", "metadata", "name", s->name, "namespace",
	                        s->namespace_, "labels", "app.kubernetes.io/managed-by",
	                        "flyteplugd", "type", "Opaque", "data", s->data_key, b64);
	OPENSSL_cleanse(b64, sizeof(b64));
	return obj;
}

static void start_create(struct fpd_secret_key *s)
{
	struct fpd_error err;
	fpd_error_clear(&err);
	json_t *obj = new_secret(s, &err);
	int rc = FPD_EIO;
	if (obj) {
		struct fpd_kube_ref coll = {&secrets, s->namespace_, NULL, NULL};
		s->step = CREATE;
		rc = fpd_kube_create(s->c, &coll, obj, NULL, on_result, s, &err);
		json_decref(obj);
	}
	if (rc != FPD_AGAIN)
		finish(s, rc, NULL, false, &err);
}

static void on_read(struct fpd_secret_key *s, const struct fpd_kube_result *res)
{
	if (res->code == FPD_ENOENT && s->step == READ) {
		start_create(s);
		return;
	}
	if (res->code == FPD_EPERM && res->status.http == 403) {
		forbidden(s, "reading", res->status.message);
		return;
	}
	if (res->code) {
		finish(s, res->code, NULL, false, &res->err);
		return;
	}
	json_t *data = json_object_get(res->object, "data");
	if (!json_is_string(json_object_get(data, s->data_key))) {
		struct fpd_error err;
		fpd_error_set(&err, FPD_ENOENT, "Secret %s/%s exists without the data key %s",
		              s->namespace_, s->name, s->data_key);
		finish(s, FPD_ENOENT, NULL, false, &err);
		return;
	}
	finish(s, FPD_OK, data, false, NULL);
}

static void on_created(struct fpd_secret_key *s, const struct fpd_kube_result *res)
{
	if (res->code == FPD_EEXIST) { /* another replica won the race: use its key */
		struct fpd_error err;
		s->step = READ_WINNER;
		int rc = start_get(s, &err);
		if (rc != FPD_AGAIN)
			finish(s, rc, NULL, false, &err);
		return;
	}
	if (res->code == FPD_EPERM && res->status.http == 403) {
		forbidden(s, "creating", res->status.message);
		return;
	}
	if (res->code) {
		finish(s, res->code, NULL, false, &res->err);
		return;
	}
	finish(s, FPD_OK, json_object_get(res->object, "data"), true, NULL);
}

static void on_result(void *ud, const struct fpd_kube_result *res)
{
	struct fpd_secret_key *s = ud;
	if (s->step == CREATE)
		on_created(s, res);
	else
		on_read(s, res);
}

int fpd_secret_key_ensure(struct fpd_kube_client *c, const struct fpd_secret_key_opts *opts,
                          fpd_secret_key_fn done, void *ud, struct fpd_secret_key **out,
                          struct fpd_error *err)
{
	if (!opts->name || !opts->name[0] || !opts->data_key || !opts->data_key[0])
		return fpd_error_set(err, FPD_EINVAL, "a key Secret needs a name and a data key");
	size_t n = opts->random_bytes ? opts->random_bytes : 32;
	if (n < 16 || n > RANDOM_MAX)
		return fpd_error_set(err, FPD_EINVAL, "a random key must be 16 to %d bytes",
		                     RANDOM_MAX);
	const char *ns = opts->namespace_ && opts->namespace_[0] ? opts->namespace_
	                                                         : fpd_kube_client_namespace(c);
	struct fpd_secret_key *s = fpd_calloc(1, sizeof(*s));
	*s = (struct fpd_secret_key){.c = c,
	                             .namespace_ = fpd_strdup(ns),
	                             .name = fpd_strdup(opts->name),
	                             .data_key = fpd_strdup(opts->data_key),
	                             .random_bytes = n,
	                             .step = READ,
	                             .done = done,
	                             .ud = ud};
	int rc = start_get(s, err);
	if (rc != FPD_AGAIN) {
		release(s);
		return rc;
	}
	*out = s;
	return FPD_AGAIN;
}

void fpd_secret_key_cancel(struct fpd_secret_key *s)
{
	if (!s)
		return;
	fpd_kube_cancel(s->c, s);
	release(s);
}
