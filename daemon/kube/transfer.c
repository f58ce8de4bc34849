/*
 * A request attempt as libcurl options, and its answer through libcurl's callbacks: see
 * transfer.h.
 *
 * Easy handles are reused from attempt to attempt (multi.h keeps finished ones): what is the
 * same for every transfer of a lane is set once in fpd_kube_transfer_easy_new, what belongs to
 * one attempt is set in fpd_kube_transfer_begin and cleared again in fpd_kube_transfer_end, so
 * that nothing of an attempt outlives it in a pooled handle.
 */
#include "kube/transfer.h"

#include "core/clock.h"
#include <flyteplugd/mem.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static size_t write_cb(char *data, size_t size, size_t nmemb, void *ud)
{
	struct fpd_kube_transfer *t = ud;
	size_t n = size * nmemb;
	if (t->cancelled)
		return 0; /* stop reading for an owner who is gone */
	*t->bytes_in += n;
	if (!t->status) {
		curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->status);
		const char *ct = NULL;
		curl_easy_getinfo(t->easy, CURLINFO_CONTENT_TYPE, &ct);
		snprintf(t->content_type, sizeof(t->content_type), "%s", ct ? ct : "");
	}
	if (t->stream && t->on_data && t->status >= 200 && t->status < 300) {
		if (t->on_data(t->ud, data, n) || t->cancelled) {
			t->aborted = true;
			return 0;
		}
		return n;
	}
	if (fpd_buf_append(&t->body, data, n)) {
		t->overflow = true;
		return 0;
	}
	return n;
}

int64_t fpd_kube_http_parse_retry_after(const char *v, size_t n, int64_t now_wall_ms)
{
	while (n && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
		n--;
	if (n == 0)
		return -1;
	int64_t secs = 0;
	size_t i = 0;
	while (i < n && v[i] >= '0' && v[i] <= '9' && secs < 1000000)
		secs = secs * 10 + (v[i++] - '0');
	if (i == n)
		return secs * 1000;
	char date[128];
	if (n >= sizeof(date))
		return -1;
	memcpy(date, v, n);
	date[n] = '\0';
	time_t when = curl_getdate(date, NULL);
	if (when < 0)
		return -1;
	int64_t delta = ((int64_t)when * 1000) - now_wall_ms;
	return delta > 0 ? delta : 0;
}

static size_t header_cb(char *line, size_t size, size_t nmemb, void *ud)
{
	struct fpd_kube_transfer *t = ud;
	size_t n = size * nmemb;
	static const char apf[] = "x-kubernetes-pf-flowschema-uid:";
	if (n >= 5 && memcmp(line, "HTTP/", 5) == 0) {
		t->retry_after_ms = -1; /* a new response begins */
		t->apf = false;
	} else if (n > sizeof(apf) - 1 && strncasecmp(line, apf, sizeof(apf) - 1) == 0) {
		t->apf = true;
	} else if (n > 12 && strncasecmp(line, "retry-after:", 12) == 0)
		t->retry_after_ms =
		    fpd_kube_http_parse_retry_after(line + 12, n - 12, fpd_clock_wall_ms());
	return n;
}

CURL *fpd_kube_transfer_easy_new(const struct fpd_kube_transfer_conf *conf)
{
	CURL *e = curl_easy_init();
	if (!e)
		fpd_die("out of memory creating a transfer");
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	if (conf->http1) {
		curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	} else {
		curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
		/* Wait for the lane's connection rather than opening another: all multiplex. */
		curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
	}
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)conf->connect_timeout_ms);
	/* A dead peer must not hang a watch for the kernel's 15+ minutes (client-go#374). */
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 10L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, conf->user_agent);
	if (conf->buffer_size > 0)
		curl_easy_setopt(e, CURLOPT_BUFFERSIZE, conf->buffer_size);
	fpd_kube_endpoint_setup(conf->ep, e);
	return e;
}

static void add_header(struct curl_slist **list, const char *h)
{
	struct curl_slist *l = curl_slist_append(*list, h);
	if (!l)
		fpd_die("out of memory building request headers");
	*list = l;
}

/* "name: <prefix><value>" (libcurl copies it): on the stack unless it is long (a token). */
static void add_header2(struct curl_slist **list, const char *name, const char *prefix,
                        const char *value)
{
	char small[256];
	size_t n = strlen(name), p = strlen(prefix), v = strlen(value), len = n + 2 + p + v;
	char *h = len < sizeof(small) ? small : fpd_malloc(len + 1);
	memcpy(h, name, n);
	memcpy(h + n, ": ", 2);
	memcpy(h + n + 2, prefix, p);
	memcpy(h + n + 2 + p, value, v + 1);
	add_header(list, h);
	if (h != small)
		free(h);
}

static void set_method(CURL *e, const struct fpd_kube_transfer_req *r)
{
	/* A handle may come from an earlier request: back to a GET without a body first. */
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, NULL);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)-1);
	curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, NULL);
	bool post = strcmp(r->method, "POST") == 0;
	if (strcmp(r->method, "GET") == 0 && !r->body)
		return;
	if (post)
		curl_easy_setopt(e, CURLOPT_POST, 1L);
	else
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
	if (r->body || post) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body ? r->body : "");
	}
}

void fpd_kube_transfer_begin(struct fpd_kube_transfer *t, CURL *e,
                             const struct fpd_kube_transfer_req *r)
{
	t->easy = e;
	t->errbuf[0] = '\0';
	t->status = 0;
	t->content_type[0] = '\0';
	t->http_version = 0;
	t->retry_after_ms = -1;
	t->apf = false;
	t->aborted = t->overflow = false;
	fpd_buf_reset(&t->body);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
	curl_easy_setopt(e, CURLOPT_PRIVATE, t->owner);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(e, CURLOPT_URL, r->url);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)r->timeout_ms);
	set_method(e, r);
	add_header2(&t->headers, "Accept", "", r->accept ? r->accept : "application/json");
	add_header(&t->headers, "Expect:");
	if (r->content_type)
		add_header2(&t->headers, "Content-Type", "", r->content_type);
	if (r->token && r->token[0])
		add_header2(&t->headers, "Authorization", "Bearer ", r->token);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
}

int fpd_kube_transfer_outcome(struct fpd_kube_transfer *t, CURLcode cc, long *connects)
{
	if (!t->status)
		curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->status);
	*connects = 0;
	curl_easy_getinfo(t->easy, CURLINFO_NUM_CONNECTS, connects);
	curl_easy_getinfo(t->easy, CURLINFO_HTTP_VERSION, &t->http_version);
	return cc == CURLE_OK                           ? FPD_OK
	       : cc == CURLE_WRITE_ERROR && t->aborted  ? FPD_ERR
	       : cc == CURLE_WRITE_ERROR && t->overflow ? FPD_ERANGE
	       : cc == CURLE_OPERATION_TIMEDOUT         ? FPD_ETIMEDOUT
	                                                : FPD_EIO;
}

CURL *fpd_kube_transfer_end(struct fpd_kube_transfer *t)
{
	CURL *e = t->easy;
	if (e) {
		/* nothing of the attempt may outlive it in a pooled handle */
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, NULL);
		curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
		curl_easy_setopt(e, CURLOPT_PRIVATE, NULL);
	}
	curl_slist_free_all(t->headers);
	t->headers = NULL;
	t->easy = NULL;
	return e;
}
