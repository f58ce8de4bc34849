/* Credential sources and helpers shared by kubeconfig and in-cluster loading: see creds.h. */
#include "kube/creds.h"

#include <flyteplugd/mem.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void free_blob(struct fpd_kube_blob *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
}

void fpd_kube_creds_free(struct fpd_kube_creds *c)
{
	char **strs[] = {&c->server,    &c->tls_server_name, &c->proxy_url,  &c->ca_file,
	                 &c->cert_file, &c->key_file,        &c->token,      &c->token_file,
	                 &c->username,  &c->password,        &c->namespace_, &c->source};
	for (size_t i = 0; i < FPD_ARRAY_LEN(strs); i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
	free_blob(&c->ca);
	free_blob(&c->cert);
	free_blob(&c->key);
	c->insecure = false;
}

static void copy_blob(struct fpd_kube_blob *dst, const struct fpd_kube_blob *src)
{
	dst->len = src->len;
	dst->data = NULL;
	if (src->data) {
		dst->data = fpd_malloc(src->len + 1);
		memcpy(dst->data, src->data, src->len);
		dst->data[src->len] = '\0';
	}
}

static char *dup_or_empty(const char *s)
{
	return fpd_strdup(s ? s : "");
}

void fpd_kube_creds_copy(struct fpd_kube_creds *dst, const struct fpd_kube_creds *src)
{
	dst->server = dup_or_empty(src->server);
	dst->tls_server_name = dup_or_empty(src->tls_server_name);
	dst->proxy_url = dup_or_empty(src->proxy_url);
	dst->insecure = src->insecure;
	dst->ca_file = dup_or_empty(src->ca_file);
	dst->cert_file = dup_or_empty(src->cert_file);
	dst->key_file = dup_or_empty(src->key_file);
	dst->token = dup_or_empty(src->token);
	dst->token_file = dup_or_empty(src->token_file);
	dst->username = dup_or_empty(src->username);
	dst->password = dup_or_empty(src->password);
	dst->namespace_ = dup_or_empty(src->namespace_);
	dst->source = dup_or_empty(src->source);
	copy_blob(&dst->ca, &src->ca);
	copy_blob(&dst->cert, &src->cert);
	copy_blob(&dst->key, &src->key);
}

int fpd_kube_read_token(const char *path, char **token, struct fpd_error *err)
{
	*token = NULL;
	FILE *f = fopen(path, "rb");
	if (!f)
		return fpd_error_set(err, errno == ENOENT ? FPD_ENOENT : FPD_EIO,
		                     "cannot read token file %s: %s", path, strerror(errno));
	char *buf = fpd_malloc(FPD_KUBE_TOKEN_MAX + 1);
	size_t n = fread(buf, 1, FPD_KUBE_TOKEN_MAX + 1, f);
	int bad_read = ferror(f);
	fclose(f);
	if (bad_read || n > FPD_KUBE_TOKEN_MAX) {
		free(buf);
		return fpd_error_set(err, bad_read ? FPD_EIO : FPD_ERANGE,
		                     bad_read ? "cannot read token file %s"
		                              : "token file %s is larger than 64 KiB",
		                     path);
	}
	size_t start = 0;
	while (start < n && strchr(" \t\r\n", buf[start]))
		start++;
	while (n > start && strchr(" \t\r\n", buf[n - 1]))
		n--;
	if (n == start) {
		free(buf);
		return fpd_error_set(err, FPD_EINVAL, "token file %s is empty", path);
	}
	*token = fpd_strndup(buf + start, n - start);
	free(buf);
	return FPD_OK;
}

static bool file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

int fpd_kube_creds_load(const struct fpd_config_kube *cfg, struct fpd_kube_creds *out,
                        struct fpd_error *err)
{
	const char *context = cfg && cfg->context ? cfg->context : "";
	if (cfg && cfg->in_cluster)
		return fpd_kube_creds_in_cluster(NULL, out, err);
	if (cfg && cfg->kubeconfig && cfg->kubeconfig[0])
		return fpd_kube_creds_from_kubeconfig(cfg->kubeconfig, context, out, err);
	const char *env = getenv("KUBECONFIG");
	if (env && *env)
		return fpd_kube_creds_from_kubeconfig(env, context, out, err);
	if (getenv("KUBERNETES_SERVICE_HOST"))
		return fpd_kube_creds_in_cluster(NULL, out, err);
	const char *home = getenv("HOME");
	if (home && *home) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/.kube/config", home);
		if (file_exists(path))
			return fpd_kube_creds_from_kubeconfig(path, context, out, err);
	}
	return fpd_error_set(err, FPD_ENOENT,
	                     "no Kubernetes credentials: set kubernetes.kubeconfig or $KUBECONFIG, "
	                     "run in a cluster, or create ~/.kube/config");
}
