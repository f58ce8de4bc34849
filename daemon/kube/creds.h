/*
 * Where the API server is and how to prove who we are: from a kubeconfig (client-go's
 * clientcmd rules) or from the in-cluster service account (rest.InClusterConfig).
 *
 * Supported: clusters[].cluster.{server, certificate-authority(-data), insecure-skip-tls-verify,
 * tls-server-name, proxy-url}; users[].user.{token, tokenFile, client-certificate(-data),
 * client-key(-data), username/password}; contexts[].context.{cluster, user, namespace};
 * current-context. exec and auth-provider users are refused with a message saying so.
 * A kubeconfig path list ("a:b", like $KUBECONFIG) is merged the client-go way: the first file
 * to define a name wins, relative paths are resolved against the file that holds them.
 *
 * Errors name the file and the line:column of the offending node (core/yaml positions).
 */
#ifndef FPD_KUBE_CREDS_H
#define FPD_KUBE_CREDS_H

#include "core/config.h"
#include <flyteplugd/error.h>

#include <stdbool.h>
#include <stddef.h>

#define FPD_KUBE_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"
#define FPD_KUBE_TOKEN_MAX (64 * 1024)

struct fpd_kube_blob {
	unsigned char *data; /* NULL when absent */
	size_t len;
};

/* Every string is owned and non-NULL ("" when not set). */
struct fpd_kube_creds {
	char *server;          /* "https://host:port", no trailing slash */
	char *tls_server_name; /* name to verify in the server certificate instead of the host */
	char *proxy_url;
	bool insecure;           /* insecure-skip-tls-verify */
	char *ca_file;           /* PEM file, or */
	struct fpd_kube_blob ca; /* PEM bytes (certificate-authority-data) */
	char *cert_file;
	struct fpd_kube_blob cert;
	char *key_file;
	struct fpd_kube_blob key;
	char *token;      /* bearer token as loaded; the transport re-reads token_file */
	char *token_file; /* re-read every minute and after a 401 */
	char *username;   /* basic auth, rarely used */
	char *password;
	char *namespace_; /* the context's namespace, or the service account's; "default" */
	char *source;     /* for messages: "kubeconfig /x (context y)" or "in-cluster" */
};

/* Chooses and loads credentials following the daemon configuration: in_cluster → the service
 * account; kubeconfig set → that file (or path list) with context (empty = current-context);
 * else $KUBECONFIG; else in-cluster when KUBERNETES_SERVICE_HOST is set; else ~/.kube/config.
 * On success *out holds new allocations (release with fpd_kube_creds_free). */
int fpd_kube_creds_load(const struct fpd_config_kube *cfg, struct fpd_kube_creds *out,
                        struct fpd_error *err);

/* Loads a kubeconfig path list (':'-separated; missing files in a list of several are
 * skipped). context NULL or "" = current-context. */
int fpd_kube_creds_from_kubeconfig(const char *paths, const char *context,
                                   struct fpd_kube_creds *out, struct fpd_error *err);

/* In-cluster credentials: KUBERNETES_SERVICE_HOST/PORT from the environment, token and ca.crt
 * from sa_dir (NULL = FPD_KUBE_SA_DIR), namespace from $POD_NAMESPACE, sa_dir/namespace, or
 * "default". */
int fpd_kube_creds_in_cluster(const char *sa_dir, struct fpd_kube_creds *out,
                              struct fpd_error *err);

/* Releases what *c holds (NULL fields are fine) and zeroes it. */
void fpd_kube_creds_free(struct fpd_kube_creds *c);

/* Deep copy of src into *dst (new allocations). */
void fpd_kube_creds_copy(struct fpd_kube_creds *dst, const struct fpd_kube_creds *src);

/* Reads a bearer token file (at most FPD_KUBE_TOKEN_MAX bytes, surrounding whitespace removed)
 * into *token (new string). FPD_ENOENT/FPD_EIO/FPD_EINVAL (empty) with the file named. */
int fpd_kube_read_token(const char *path, char **token, struct fpd_error *err);

#endif
