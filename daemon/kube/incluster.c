/* In-cluster service-account credentials (client-go rest.InClusterConfig): see creds.h. */
#include "kube/creds.h"

#include <flyteplugd/mem.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *read_namespace(const char *dir)
{
	const char *env = getenv("POD_NAMESPACE");
	if (env && *env)
		return fpd_strdup(env);
	char *path = fpd_asprintf("%s/namespace", dir);
	char *ns = NULL;
	/* Same format as a token: one line, whitespace trimmed. */
	if (fpd_kube_read_token(path, &ns, NULL) != FPD_OK)
		ns = fpd_strdup("default");
	free(path);
	return ns;
}

int fpd_kube_creds_in_cluster(const char *sa_dir, struct fpd_kube_creds *out, struct fpd_error *err)
{
	memset(out, 0, sizeof(*out));
	const char *dir = sa_dir ? sa_dir : FPD_KUBE_SA_DIR;
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	if (!host || !*host || !port || !*port)
		return fpd_error_set(err, FPD_ENOENT,
		                     "not running in a cluster: KUBERNETES_SERVICE_HOST and "
		                     "KUBERNETES_SERVICE_PORT must both be set");
	char *token_file = fpd_asprintf("%s/token", dir);
	char *token;
	int rc = fpd_kube_read_token(token_file, &token, err);
	if (rc) {
		free(token_file);
		return fpd_error_wrap(err, rc, "in-cluster service account");
	}
	char *ca_file = fpd_asprintf("%s/ca.crt", dir);
	FILE *f = fopen(ca_file, "rb");
	if (!f) {
		rc = fpd_error_set(err, errno == ENOENT ? FPD_ENOENT : FPD_EIO,
		                   "in-cluster service account: cannot read %s: %s", ca_file,
		                   strerror(errno));
		free(token_file);
		free(token);
		free(ca_file);
		return rc;
	}
	fclose(f);
	/* An IPv6 address needs brackets in a URL (net.JoinHostPort). */
	bool v6 = strchr(host, ':') != NULL;
	out->server = fpd_asprintf("https://%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "", port);
	out->token = token;
	out->token_file = token_file;
	out->ca_file = ca_file;
	out->namespace_ = read_namespace(dir);
	out->source = fpd_strdup("in-cluster service account");
	out->tls_server_name = fpd_strdup("");
	out->proxy_url = fpd_strdup("");
	out->cert_file = fpd_strdup("");
	out->key_file = fpd_strdup("");
	out->username = fpd_strdup("");
	out->password = fpd_strdup("");
	return FPD_OK;
}
