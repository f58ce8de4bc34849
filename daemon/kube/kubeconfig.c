/*
 * kubeconfig loading (client-go tools/clientcmd): see creds.h.
 *
 * Every file of the path list is parsed into a core/yaml tree and kept until the end, so that
 * an error found while resolving a context can still point at the node that caused it.
 */
#include "kube/creds.h"

#include <flyteplugd/mem.h>
#include "core/yaml.h"

#include <flyteplugd/base64.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_FILES 16

struct kfile {
	char *path;
	char *dir; /* for relative paths inside the file */
	struct fpd_yaml_node *root;
};

struct kconf {
	struct kfile files[MAX_FILES];
	size_t nfiles;
};

/* A named entry found in one of the files. */
struct entry {
	const struct kfile *file;
	const struct fpd_yaml_node *item; /* the {name, <kind>} map */
	const struct fpd_yaml_node *body; /* its <kind> map, may be NULL */
};

static int at(struct fpd_error *err, int code, const struct kfile *f, const struct fpd_yaml_node *n,
              const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* An error located at node n of file f (n may be NULL). */
static int at(struct fpd_error *err, int code, const struct kfile *f, const struct fpd_yaml_node *n,
              const char *fmt, ...)
{
	char msg[FPD_ERROR_TEXT];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return fpd_error_set_at(err, code, f->path, n ? n->line : 0, n ? n->column : 0, "%s", msg);
}

static int expect(const struct kfile *f, const struct fpd_yaml_node *n, enum fpd_yaml_kind kind,
                  const char *what, struct fpd_error *err)
{
	static const char *names[] = {"a string", "a mapping", "a sequence"};
	if (!n || fpd_yaml_is_null(n) || n->kind == kind)
		return FPD_OK;
	return at(err, FPD_EINVAL, f, n, "%s must be %s, not %s", what, names[kind],
	          fpd_yaml_kind_name(n));
}

/* A scalar field's text, "" when absent or null; FPD_EINVAL if it is a mapping or sequence. */
static int text(const struct kfile *f, const struct fpd_yaml_node *map, const char *key,
                const char **out, struct fpd_error *err)
{
	const struct fpd_yaml_node *n = fpd_yaml_get(map, key);
	*out = "";
	if (!n || fpd_yaml_is_null(n))
		return FPD_OK;
	int rc = expect(f, n, FPD_YAML_SCALAR, key, err);
	if (rc)
		return rc;
	*out = n->value;
	return FPD_OK;
}

/* The key node of key in map (for messages about the key itself, whose value may start on the
 * next line), or NULL. */
static const struct fpd_yaml_node *key_node(const struct fpd_yaml_node *map, const char *key)
{
	for (size_t i = 0; map && map->kind == FPD_YAML_MAP && i < map->count; i++)
		if (strcmp(map->items[2 * i]->value, key) == 0)
			return map->items[2 * i];
	return NULL;
}

static void kconf_free(struct kconf *k)
{
	for (size_t i = 0; i < k->nfiles; i++) {
		free(k->files[i].path);
		free(k->files[i].dir);
		fpd_yaml_free(k->files[i].root);
	}
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return fpd_strdup(".");
	if (slash == path)
		return fpd_strdup("/");
	return fpd_strndup(path, (size_t)(slash - path));
}

/* Checks the top-level shape of one file. */
static int check_file(const struct kfile *f, struct fpd_error *err)
{
	const struct fpd_yaml_node *root = f->root;
	if (root->kind != FPD_YAML_MAP)
		return at(err, FPD_EINVAL, f, root, "a kubeconfig must be a mapping, not %s",
		          fpd_yaml_kind_name(root));
	const char *lists[] = {"clusters", "users", "contexts"};
	for (size_t i = 0; i < FPD_ARRAY_LEN(lists); i++) {
		const struct fpd_yaml_node *l = fpd_yaml_get(root, lists[i]);
		int rc = expect(f, l, FPD_YAML_SEQ, lists[i], err);
		if (rc)
			return rc;
		for (size_t j = 0; l && l->kind == FPD_YAML_SEQ && j < l->count; j++) {
			const struct fpd_yaml_node *item = l->items[j];
			if (item->kind != FPD_YAML_MAP)
				return at(err, FPD_EINVAL, f, item, "each of %s must be a mapping",
				          lists[i]);
			const char *name;
			if ((rc = text(f, item, "name", &name, err)))
				return rc;
			if (!*name)
				return at(err, FPD_EINVAL, f, item, "an entry of %s has no name",
				          lists[i]);
		}
	}
	const char *cc;
	return text(f, root, "current-context", &cc, err);
}

static int read_files(struct kconf *k, const char *paths, struct fpd_error *err)
{
	char *list = fpd_strdup(paths);
	size_t listed = 0;
	int rc = FPD_OK;
	struct fpd_error first_missing = {{0}};
	for (char *p = list; p && *p && rc == FPD_OK;) {
		char *colon = strchr(p, ':');
		if (colon)
			*colon = '\0';
		if (*p) {
			listed++;
			bool dup = false;
			for (size_t i = 0; i < k->nfiles; i++)
				dup = dup || strcmp(k->files[i].path, p) == 0;
			if (!dup && k->nfiles == MAX_FILES) {
				rc = fpd_error_set(err, FPD_ERANGE, "more than %d kubeconfig files",
				                   MAX_FILES);
			} else if (!dup) {
				struct kfile *f = &k->files[k->nfiles];
				struct fpd_error e;
				fpd_error_clear(&e);
				int prc = fpd_yaml_parse_file(p, &f->root, &e);
				if (prc == FPD_ENOENT) {
					/* client-go skips missing files in a list */
					if (!first_missing.text[0])
						first_missing = e;
				} else if (prc) {
					if (err)
						*err = e;
					rc = prc;
				} else {
					f->path = fpd_strdup(p);
					f->dir = dir_of(p);
					k->nfiles++;
					rc = check_file(f, err);
				}
			}
		}
		p = colon ? colon + 1 : NULL;
	}
	free(list);
	if (rc == FPD_OK && k->nfiles == 0) {
		if (listed == 1 && first_missing.text[0]) {
			if (err)
				*err = first_missing;
			return FPD_ENOENT;
		}
		return fpd_error_set(err, FPD_ENOENT, "no kubeconfig file found in \"%s\"", paths);
	}
	return rc;
}

/* First entry named name in the list called list (clusters/users/contexts) across files. */
static bool find(const struct kconf *k, const char *list, const char *kind, const char *name,
                 struct entry *out)
{
	for (size_t i = 0; i < k->nfiles; i++) {
		const struct fpd_yaml_node *l = fpd_yaml_get(k->files[i].root, list);
		for (size_t j = 0; l && l->kind == FPD_YAML_SEQ && j < l->count; j++) {
			const struct fpd_yaml_node *n = fpd_yaml_get(l->items[j], "name");
			if (n && n->kind == FPD_YAML_SCALAR && strcmp(n->value, name) == 0) {
				out->file = &k->files[i];
				out->item = l->items[j];
				out->body = fpd_yaml_get(l->items[j], kind);
				return true;
			}
		}
	}
	return false;
}

/* "a, b, c" of the names in a list, for "not found" messages. */
static void names_of(const struct kconf *k, const char *list, char *out, size_t size)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < k->nfiles; i++) {
		const struct fpd_yaml_node *l = fpd_yaml_get(k->files[i].root, list);
		for (size_t j = 0; l && l->kind == FPD_YAML_SEQ && j < l->count; j++) {
			const struct fpd_yaml_node *n = fpd_yaml_get(l->items[j], "name");
			if (!n || n->kind != FPD_YAML_SCALAR || used >= size)
				continue;
			int w =
			    snprintf(out + used, size - used, "%s%s", used ? ", " : "", n->value);
			used += w > 0 ? (size_t)w : 0;
		}
	}
	if (!out[0])
		snprintf(out, size, "none");
}

/* A file path from the kubeconfig, resolved against the file's directory and checked to be
 * readable now (a clear error at start beats a TLS failure later). */
static int file_field(const struct entry *e, const char *key, char **out, struct fpd_error *err)
{
	const char *v;
	int rc = text(e->file, e->body, key, &v, err);
	if (rc)
		return rc;
	if (!*v) {
		*out = fpd_strdup("");
		return FPD_OK;
	}
	char *path = v[0] == '/' ? fpd_strdup(v) : fpd_asprintf("%s/%s", e->file->dir, v);
	FILE *f = fopen(path, "rb");
	if (!f) {
		int code = errno == ENOENT ? FPD_ENOENT : FPD_EIO;
		rc = at(err, code, e->file, fpd_yaml_get(e->body, key), "cannot read %s %s: %s",
		        key, path, strerror(errno));
		free(path);
		return rc;
	}
	fclose(f);
	*out = path;
	return FPD_OK;
}

static int data_field(const struct entry *e, const char *key, struct fpd_kube_blob *out,
                      struct fpd_error *err)
{
	const char *v;
	int rc = text(e->file, e->body, key, &v, err);
	if (rc || !*v)
		return rc;
	if (fpd_base64_decode(v, strlen(v), FPD_BASE64_NOPAD | FPD_BASE64_SPACE, &out->data,
	                      &out->len))
		return at(err, FPD_EINVAL, e->file, fpd_yaml_get(e->body, key),
		          "%s is not valid base64", key);
	return FPD_OK;
}

static int bool_field(const struct entry *e, const char *key, bool *out, struct fpd_error *err)
{
	const struct fpd_yaml_node *n = fpd_yaml_get(e->body, key);
	*out = false;
	if (!n || fpd_yaml_is_null(n))
		return FPD_OK;
	if (n->kind == FPD_YAML_SCALAR &&
	    (strcmp(n->value, "true") == 0 || strcmp(n->value, "false") == 0)) {
		*out = n->value[0] == 't';
		return FPD_OK;
	}
	return at(err, FPD_EINVAL, e->file, n, "%s must be true or false", key);
}

static int load_cluster(const struct entry *e, struct fpd_kube_creds *c, struct fpd_error *err)
{
	const char *server, *tls_name, *proxy;
	int rc = expect(e->file, e->body, FPD_YAML_MAP, "cluster", err);
	if (!rc)
		rc = text(e->file, e->body, "server", &server, err);
	if (!rc)
		rc = text(e->file, e->body, "tls-server-name", &tls_name, err);
	if (!rc)
		rc = text(e->file, e->body, "proxy-url", &proxy, err);
	if (rc)
		return rc;
	if (!*server)
		return at(err, FPD_EINVAL, e->file, e->item, "cluster has no server");
	if (strncmp(server, "https://", 8) != 0 && strncmp(server, "http://", 7) != 0)
		return at(err, FPD_EINVAL, e->file, fpd_yaml_get(e->body, "server"),
		          "server \"%s\" must start with https:// or http://", server);
	size_t n = strlen(server);
	while (n > 8 && server[n - 1] == '/')
		n--;
	c->server = fpd_strndup(server, n);
	c->tls_server_name = fpd_strdup(tls_name);
	c->proxy_url = fpd_strdup(proxy);
	if ((rc = bool_field(e, "insecure-skip-tls-verify", &c->insecure, err)))
		return rc;
	if ((rc = data_field(e, "certificate-authority-data", &c->ca, err)))
		return rc;
	/* client-go: the data wins over the file when both are given. */
	return c->ca.data ? (c->ca_file = fpd_strdup(""), FPD_OK)
	                  : file_field(e, "certificate-authority", &c->ca_file, err);
}

static int load_user(const struct entry *e, struct fpd_kube_creds *c, struct fpd_error *err)
{
	int rc = expect(e->file, e->body, FPD_YAML_MAP, "user", err);
	if (rc)
		return rc;
	const char *unsupported[] = {"exec", "auth-provider"};
	for (size_t i = 0; i < FPD_ARRAY_LEN(unsupported); i++) {
		const struct fpd_yaml_node *n = fpd_yaml_get(e->body, unsupported[i]);
		if (n && !fpd_yaml_is_null(n))
			return at(
			    err, FPD_EINVAL, e->file, key_node(e->body, unsupported[i]),
			    "user credentials by %s are not supported; use token, tokenFile or a "
			    "client certificate",
			    unsupported[i]);
	}
	const char *token, *user, *pass;
	if ((rc = text(e->file, e->body, "token", &token, err)) ||
	    (rc = text(e->file, e->body, "username", &user, err)) ||
	    (rc = text(e->file, e->body, "password", &pass, err)))
		return rc;
	c->token = fpd_strdup(token);
	c->username = fpd_strdup(user);
	c->password = fpd_strdup(pass);
	if ((rc = file_field(e, "tokenFile", &c->token_file, err)))
		return rc;
	if (c->token_file[0]) {
		/* The file, once read, takes precedence over an inline token (clientcmd). */
		char *t;
		if ((rc = fpd_kube_read_token(c->token_file, &t, err)))
			return fpd_error_wrap(err, rc, "%s: user %s", e->file->path,
			                      fpd_yaml_get(e->item, "name")->value);
		free(c->token);
		c->token = t;
	}
	if ((rc = data_field(e, "client-certificate-data", &c->cert, err)) ||
	    (rc = data_field(e, "client-key-data", &c->key, err)))
		return rc;
	/* client-go: the data wins over the file when both are given. */
	if (c->cert.data)
		c->cert_file = fpd_strdup("");
	else if ((rc = file_field(e, "client-certificate", &c->cert_file, err)))
		return rc;
	if (c->key.data)
		c->key_file = fpd_strdup("");
	else if ((rc = file_field(e, "client-key", &c->key_file, err)))
		return rc;
	bool has_cert = c->cert.data || c->cert_file[0];
	bool has_key = c->key.data || c->key_file[0];
	if (has_cert != has_key)
		return at(err, FPD_EINVAL, e->file, e->item,
		          "user has a client %s but no client %s", has_cert ? "certificate" : "key",
		          has_cert ? "key" : "certificate");
	return FPD_OK;
}

static const char *current_context(const struct kconf *k, const struct kfile **where)
{
	for (size_t i = 0; i < k->nfiles; i++) {
		const struct fpd_yaml_node *n = fpd_yaml_get(k->files[i].root, "current-context");
		if (n && n->kind == FPD_YAML_SCALAR && n->value[0]) {
			*where = &k->files[i];
			return n->value;
		}
	}
	return NULL;
}

static void fill_empty(struct fpd_kube_creds *c)
{
	char **strs[] = {&c->server,    &c->tls_server_name, &c->proxy_url,  &c->ca_file,
	                 &c->cert_file, &c->key_file,        &c->token,      &c->token_file,
	                 &c->username,  &c->password,        &c->namespace_, &c->source};
	for (size_t i = 0; i < FPD_ARRAY_LEN(strs); i++)
		if (!*strs[i])
			*strs[i] = fpd_strdup("");
}

static int resolve(const struct kconf *k, const char *context, struct fpd_kube_creds *c,
                   struct fpd_error *err)
{
	const struct kfile *ccfile = &k->files[0];
	if (!context || !*context)
		context = current_context(k, &ccfile);
	if (!context)
		return fpd_error_set_at(err, FPD_EINVAL, k->files[0].path, 0, 0,
		                        "no current-context set and no context given "
		                        "(kubernetes.context)");
	char names[256];
	struct entry ctx, cluster, user;
	if (!find(k, "contexts", "context", context, &ctx)) {
		names_of(k, "contexts", names, sizeof(names));
		return fpd_error_set_at(err, FPD_ENOENT, ccfile->path, 0, 0,
		                        "context \"%s\" not found (contexts: %s)", context, names);
	}
	const char *cluster_name, *user_name, *ns;
	int rc = expect(ctx.file, ctx.body, FPD_YAML_MAP, "context", err);
	if (!rc)
		rc = text(ctx.file, ctx.body, "cluster", &cluster_name, err);
	if (!rc)
		rc = text(ctx.file, ctx.body, "user", &user_name, err);
	if (!rc)
		rc = text(ctx.file, ctx.body, "namespace", &ns, err);
	if (rc)
		return rc;
	if (!*cluster_name || !find(k, "clusters", "cluster", cluster_name, &cluster)) {
		names_of(k, "clusters", names, sizeof(names));
		const struct fpd_yaml_node *n = fpd_yaml_get(ctx.body, "cluster");
		return at(err, FPD_ENOENT, ctx.file, n ? n : ctx.item,
		          "context refers to cluster \"%s\", which is not defined (clusters: %s)",
		          cluster_name, names);
	}
	if ((rc = load_cluster(&cluster, c, err)))
		return rc;
	if (*user_name) {
		if (!find(k, "users", "user", user_name, &user)) {
			names_of(k, "users", names, sizeof(names));
			return at(err, FPD_ENOENT, ctx.file, fpd_yaml_get(ctx.body, "user"),
			          "context refers to user \"%s\", which is not defined (users: %s)",
			          user_name, names);
		}
		if ((rc = load_user(&user, c, err)))
			return rc;
	}
	c->namespace_ = fpd_strdup(*ns ? ns : "default");
	c->source = fpd_asprintf("kubeconfig %s (context %s)", ctx.file->path, context);
	return FPD_OK;
}

int fpd_kube_creds_from_kubeconfig(const char *paths, const char *context,
                                   struct fpd_kube_creds *out, struct fpd_error *err)
{
	memset(out, 0, sizeof(*out));
	struct kconf k;
	memset(&k, 0, sizeof(k));
	int rc = read_files(&k, paths, err);
	if (!rc)
		rc = resolve(&k, context, out, err);
	kconf_free(&k);
	if (rc) {
		fpd_kube_creds_free(out);
		return rc;
	}
	fill_empty(out);
	return FPD_OK;
}
