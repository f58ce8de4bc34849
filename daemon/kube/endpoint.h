/*
 * How a transfer reaches and trusts the API server: the URL (and, for tls-server-name, the
 * CONNECT_TO entry that sends it to the real host), the CA to verify the server with, the
 * client certificate, basic auth and proxy of the credentials; and what a failure to connect
 * or to verify means, said in one line for a log and an error.
 *
 * Verification is client-go's: libcurl checks the chain and the name, and a server
 * certificate must carry the name in subjectAltName. libcurl with OpenSSL falls back to the
 * subject CN when a certificate has no DNS or IP subjectAltName; Go (since 1.15), and so every
 * Kubernetes client, does not, and neither do we: a verify callback installed on each TLS
 * context refuses such a leaf. The CA file is read for every new connection, so a rotated CA
 * or client certificate file is used from the next connection on.
 */
#ifndef FPD_KUBE_ENDPOINT_H
#define FPD_KUBE_ENDPOINT_H

#include <flyteplugd/error.h>
#include "kube/creds.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>

struct fpd_kube_endpoint {
	char *base_url;                /* new: the server URL every request path is appended to */
	struct curl_slist *connect_to; /* new: tls-server-name → the real host; NULL otherwise */
	const struct fpd_kube_creds *creds; /* borrowed; must outlive every transfer */
};

/* Fills ep for creds (borrowed). FPD_EINVAL, naming creds->source, when the server URL or the
 * tls-server-name is not usable. Logs a WARN when creds skip TLS verification. */
int fpd_kube_endpoint_init(struct fpd_kube_endpoint *ep, const struct fpd_kube_creds *creds,
                           struct fpd_error *err);
void fpd_kube_endpoint_free(struct fpd_kube_endpoint *ep);

/* Sets the TLS, proxy and authentication options of ep on e. */
void fpd_kube_endpoint_setup(const struct fpd_kube_endpoint *ep, CURL *e);

/* For a transfer on e that ended with cc before any answer: whether it is a failure to connect
 * or to verify the server (refused, unreachable, TLS), and if so a line into out naming the
 * server, libcurl's error (errbuf, may be empty) and OpenSSL's verify result. */
bool fpd_kube_endpoint_describe_failure(const struct fpd_kube_endpoint *ep, CURL *e, CURLcode cc,
                                        const char *errbuf, char *out, size_t n);

#endif
