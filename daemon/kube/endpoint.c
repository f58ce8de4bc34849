/*
 * The API server's address, trust and credentials as libcurl options: see endpoint.h.
 *
 * The TLS context is libcurl's, one per connection; CURLOPT_SSL_CTX_FUNCTION lets us adjust
 * it before the handshake: the verify callback that wants a subjectAltName, and buffers kept
 * across idle periods.
 */
#include "kube/endpoint.h"

#include "core/log.h"
#include <flyteplugd/mem.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#define LOG "kube"

/* For tls-server-name: the URL names the certificate's host and CONNECT_TO sends the
 * connection to the real one. */
int fpd_kube_endpoint_init(struct fpd_kube_endpoint *ep, const struct fpd_kube_creds *c,
                           struct fpd_error *err)
{
	memset(ep, 0, sizeof(*ep));
	ep->creds = c;
	CURLU *u = curl_url();
	if (!u)
		fpd_die("out of memory parsing a URL");
	char *host = NULL, *port = NULL, *url = NULL;
	int rc = FPD_OK;
	if (curl_url_set(u, CURLUPART_URL, c->server, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
		rc = fpd_error_set(err, FPD_EINVAL, "%s: server \"%s\" is not a valid URL",
		                   c->source, c->server);
		goto out;
	}
	if (c->tls_server_name[0]) {
		if (curl_url_set(u, CURLUPART_HOST, c->tls_server_name, 0) != CURLUE_OK ||
		    curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK) {
			rc = fpd_error_set(err, FPD_EINVAL, "%s: bad tls-server-name \"%s\"",
			                   c->source, c->tls_server_name);
			goto out;
		}
		char *entry = fpd_asprintf("%s:%s:%s:%s", c->tls_server_name, port, host, port);
		ep->connect_to = curl_slist_append(NULL, entry);
		free(entry);
		if (!ep->connect_to)
			fpd_die("out of memory building CONNECT_TO");
		size_t n = strlen(url);
		while (n && url[n - 1] == '/')
			n--;
		ep->base_url = fpd_strndup(url, n);
	} else {
		ep->base_url = fpd_strdup(c->server);
	}
	if (c->insecure)
		fpd_log(FPD_LOG_WARN, LOG,
		        "%s: insecure-skip-tls-verify is set: the API server %s is not "
		        "authenticated, anyone on the path can read and change every request",
		        c->source, c->server);
out:
	curl_free(host);
	curl_free(port);
	curl_free(url);
	curl_url_cleanup(u);
	return rc;
}

void fpd_kube_endpoint_free(struct fpd_kube_endpoint *ep)
{
	curl_slist_free_all(ep->connect_to);
	free(ep->base_url);
	memset(ep, 0, sizeof(*ep));
}

/* Whether cert names anything in subjectAltName that libcurl checks (DNS or IP). */
static bool has_san(X509 *cert)
{
	GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	bool found = false;
	for (int i = 0; names && i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
		if (gn->type == GEN_DNS || gn->type == GEN_IPADD)
			found = true;
	}
	GENERAL_NAMES_free(names);
	return found;
}

/* OpenSSL's verdict stands, except that a server certificate without a DNS or IP
 * subjectAltName is refused: libcurl would otherwise match the name against its CN. The
 * error is one only we set, so that the failure can say why. */
static int verify_cb(int ok, X509_STORE_CTX *x)
{
	if (!ok || X509_STORE_CTX_get_error_depth(x) != 0)
		return ok;
	X509 *leaf = X509_STORE_CTX_get_current_cert(x);
	if (leaf && !has_san(leaf)) {
		X509_STORE_CTX_set_error(x, X509_V_ERR_APPLICATION_VERIFICATION);
		return 0;
	}
	return 1;
}

static CURLcode ssl_ctx_cb(CURL *e, void *ssl_ctx, void *ud)
{
	SSL_CTX *ctx = ssl_ctx;
	const struct fpd_kube_endpoint *ep = ud;
	/* libcurl has OpenSSL free a connection's buffers whenever it goes idle
	 * (SSL_MODE_RELEASE_BUFFERS), so every answer would allocate them again: a 17 KiB
	 * malloc on the path of each call. The few long-lived connections keep theirs. */
	SSL_CTX_clear_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (!ep->creds->insecure)
		SSL_CTX_set_verify(ctx, SSL_CTX_get_verify_mode(ctx), verify_cb);
	return CURLE_OK;
}

static void set_blob(CURL *e, CURLoption opt, const struct fpd_kube_blob *b)
{
	/* The blobs belong to the credentials, which outlive every transfer: no copy. */
	struct curl_blob blob = {b->data, b->len, CURL_BLOB_NOCOPY};
	curl_easy_setopt(e, opt, &blob);
}

void fpd_kube_endpoint_setup(const struct fpd_kube_endpoint *ep, CURL *e)
{
	const struct fpd_kube_creds *c = ep->creds;
	curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb);
	curl_easy_setopt(e, CURLOPT_SSL_CTX_DATA, (void *)ep);
	if (c->ca.data)
		set_blob(e, CURLOPT_CAINFO_BLOB, &c->ca);
	else if (c->ca_file[0])
		curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
#if LIBCURL_VERSION_NUM >= 0x075700
	/* Read the CA file for each new connection (libcurl keeps it a day otherwise): a
	 * rotated CA is trusted from the next connection on. Connections are few and kept. */
	curl_easy_setopt(e, CURLOPT_CA_CACHE_TIMEOUT, 0L);
#endif
	if (c->cert.data) {
		set_blob(e, CURLOPT_SSLCERT_BLOB, &c->cert);
		curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
	} else if (c->cert_file[0]) {
		curl_easy_setopt(e, CURLOPT_SSLCERT, c->cert_file);
	}
	if (c->key.data) {
		set_blob(e, CURLOPT_SSLKEY_BLOB, &c->key);
		curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
	} else if (c->key_file[0]) {
		curl_easy_setopt(e, CURLOPT_SSLKEY, c->key_file);
	}
	if (c->insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (ep->connect_to)
		curl_easy_setopt(e, CURLOPT_CONNECT_TO, ep->connect_to);
	if (c->proxy_url[0])
		curl_easy_setopt(e, CURLOPT_PROXY, c->proxy_url);
	if (c->username[0]) {
		curl_easy_setopt(e, CURLOPT_USERNAME, c->username);
		curl_easy_setopt(e, CURLOPT_PASSWORD, c->password);
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	}
}

static bool is_tls(CURLcode cc)
{
	switch (cc) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_USE_SSL_FAILED:
#if LIBCURL_VERSION_NUM >= 0x074d00
	case CURLE_SSL_CLIENTCERT:
#endif
		return true;
	default: return false;
	}
}

bool fpd_kube_endpoint_describe_failure(const struct fpd_kube_endpoint *ep, CURL *e, CURLcode cc,
                                        const char *errbuf, char *out, size_t n)
{
	const char *why = errbuf && errbuf[0] ? errbuf : curl_easy_strerror(cc);
	const struct fpd_kube_creds *c = ep->creds;
	char name[300] = "";
	if (c->tls_server_name[0])
		snprintf(name, sizeof(name), " (tls-server-name %s)", c->tls_server_name);
	if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
	    cc == CURLE_COULDNT_RESOLVE_PROXY) {
		snprintf(out, n, "cannot connect to the API server %s%s: %s", c->server, name, why);
		return true;
	}
	if (!is_tls(cc))
		return false;
	long vr = X509_V_OK;
	curl_easy_getinfo(e, CURLINFO_SSL_VERIFYRESULT, &vr);
	if (vr == X509_V_ERR_APPLICATION_VERIFICATION)
		snprintf(out, n,
		         "TLS with the API server %s%s failed: %s; certificate verify result %ld: "
		         "the server certificate has no DNS or IP subjectAltName (its subject CN "
		         "is not used for the name, as in client-go)",
		         c->server, name, why, vr);
	else if (vr == X509_V_ERR_UNSPECIFIED)
		/* libcurl's value until it reads OpenSSL's: the handshake ended before the chain
		 * was judged, or the chain passed and the name check (in errbuf) failed. */
		snprintf(out, n,
		         "TLS with the API server %s%s failed: %s; no certificate verify result",
		         c->server, name, why);
	else
		snprintf(
		    out, n,
		    "TLS with the API server %s%s failed: %s; certificate verify result %ld: %s",
		    c->server, name, why, vr, X509_verify_cert_error_string(vr));
	return true;
}
