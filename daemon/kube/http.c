/*
 * libcurl multi-socket on libev: see http.h.
 *
 * A request moves QUEUED (waiting for a rate-limit token, or for the next loop iteration) →
 * ACTIVE (its easy handle is on the multi handle) → DONE (callback running), with RETRY_WAIT
 * between attempts when the server sent Retry-After. Nothing touches the multi handle from
 * inside a libcurl callback: new requests are queued and started by the `kick` timer, and a
 * request cancelled from inside one is marked and removed at the next kick.
 */
#include "kube/http.h"

#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "kube/ratelimit.h"

#include <curl/curl.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

enum req_state { R_QUEUED, R_RETRY_WAIT, R_ACTIVE, R_DONE };

struct lane;

struct fpd_kube_http_req {
	struct fpd_kube_http *h;
	struct lane *lane; /* where its transfers run */
	long http_version;
	struct fpd_kube_http_req *prev, *next; /* every live request, for free and stats */
	struct fpd_kube_http_req *qnext;       /* the start queue */
	enum req_state state;
	bool cancelled; /* by the owner while libcurl was running: reaped at the next kick */
	bool aborted;   /* on_data asked to stop */
	bool overflow;  /* the body passed max_response */
	char *method, *path, *url, *content_type, *accept, *body;
	size_t body_len;
	bool stream, unlimited, no_retry;
	int64_t timeout_ms;
	fpd_kube_data_fn on_data;
	fpd_kube_http_done_fn on_done;
	void *ud;
	CURL *easy;
	struct curl_slist *headers;
	struct fpd_buf resp;
	long status;
	int64_t retry_after_ms;
	int attempts;
	int64_t first_start_ms;
	ev_timer retry_timer;
	char errbuf[CURL_ERROR_SIZE];
};

struct sock {
	ev_io io;
	struct lane *lane;
	curl_socket_t fd;
	struct sock *prev, *next;
};

/*
 * A multi handle with its own connections. Watches and calls run in separate lanes so that a
 * call's answer never waits behind watch events on a shared connection, and the call lane's
 * sockets are served first when both are readable in the same loop iteration (libev watcher
 * priority): a CreateTask waits for its POST, while a watch event can wait a few microseconds.
 */
#define EASY_POOL 32

struct lane {
	struct fpd_kube_http *h;
	CURLM *multi;
	ev_timer curl_timer; /* libcurl's single timeout for this multi handle */
	struct sock *socks;
	int priority; /* of its libev watchers */
	bool http1;   /* kept-alive HTTP/1.1 connections instead of multiplexed HTTP/2 */
	/* Easy handles of finished transfers, set up with everything that is the same for
	 * every request of the lane: the next request takes one instead of building it anew. */
	CURL *idle[EASY_POOL];
	int n_idle;
};

enum { LANE_CALLS, LANE_WATCHES, LANE_COUNT };

struct fpd_kube_http {
	struct ev_loop *loop;
	struct lane lanes[LANE_COUNT];
	ev_timer kick;        /* starts queued requests, reaps cancelled ones */
	ev_timer token_timer; /* token file re-read */
	struct fpd_kube_creds creds;
	struct fpd_kube_http_opts opts;
	char *user_agent;
	char *base_url;
	struct curl_slist *connect_to; /* tls-server-name: connect to the real host */
	struct fpd_kube_ratelimit rl;
	struct fpd_kube_http_req *reqs;
	struct fpd_kube_http_req *queue_head, *queue_tail;
	struct sock *socks;
	int in_curl;             /* > 0 while libcurl is running (its callbacks may call us) */
	int busy;                /* > 0 while this file is on the stack (curl, completions) */
	size_t cancelled_active; /* cancelled while in_curl, still on the multi handle */
	bool closing;
	int64_t last_401_reload_ms;
	struct fpd_kube_http_stats stats;
};

#define LOG "kube"

static void check_done(struct lane *l);
static void enqueue(struct fpd_kube_http_req *req);

/* ---- libcurl ↔ libev glue ---- */

static void socket_action(struct lane *l, curl_socket_t fd, int action)
{
	struct fpd_kube_http *h = l->h;
	int running;
	h->busy++;
	h->in_curl++;
	curl_multi_socket_action(l->multi, fd, action, &running);
	h->in_curl--;
	check_done(l);
	h->busy--;
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sock *s = fpd_container_of(w, struct sock, io);
	int action = ((revents & EV_READ) ? CURL_CSELECT_IN : 0) |
	             ((revents & EV_WRITE) ? CURL_CSELECT_OUT : 0);
	/* s may be freed inside (CURL_POLL_REMOVE): copy what is needed first. */
	struct lane *l = s->lane;
	socket_action(l, s->fd, action);
}

static void curl_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct lane *l = fpd_container_of(w, struct lane, curl_timer);
	socket_action(l, CURL_SOCKET_TIMEOUT, 0);
}

static void sock_free(struct lane *l, struct sock *s)
{
	ev_io_stop(l->h->loop, &s->io);
	if (s->prev)
		s->prev->next = s->next;
	else
		l->socks = s->next;
	if (s->next)
		s->next->prev = s->prev;
	free(s);
}

static int sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct lane *l = userp;
	struct ev_loop *loop = l->h->loop;
	struct sock *s = socketp;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			curl_multi_assign(l->multi, fd, NULL);
			sock_free(l, s);
		}
		return 0;
	}
	int events =
	    ((what & CURL_POLL_IN) ? EV_READ : 0) | ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
	if (!s) {
		s = fpd_calloc(1, sizeof(*s));
		s->lane = l;
		s->next = l->socks;
		if (l->socks)
			l->socks->prev = s;
		l->socks = s;
		curl_multi_assign(l->multi, fd, s);
	} else {
		ev_io_stop(loop, &s->io);
	}
	/* Always re-init: the same number may be a new descriptor (ev.pod, "disappearing file
	 * descriptors"). */
	s->fd = fd;
	ev_io_init(&s->io, io_cb, fd, events);
	ev_set_priority(&s->io, l->priority);
	ev_io_start(loop, &s->io);
	return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct lane *l = userp;
	struct ev_loop *loop = l->h->loop;
	ev_timer_stop(loop, &l->curl_timer);
	if (timeout_ms >= 0) {
		/* 0 means "soon, but not from inside this callback": a 0 s timer fires on the next
		 * loop iteration. Divide by 1000.0, not 1000 (evhiperfifo's integer-division bug). */
		ev_timer_set(&l->curl_timer, (double)timeout_ms / 1000.0, 0.);
		ev_timer_start(loop, &l->curl_timer);
	}
	return 0;
}

/* ---- request bookkeeping ---- */

static void arm_kick(struct fpd_kube_http *h, double after_s)
{
	if (ev_is_active(&h->kick)) {
		if (ev_timer_remaining(h->loop, &h->kick) <= after_s)
			return;
		ev_timer_stop(h->loop, &h->kick);
	}
	ev_timer_set(&h->kick, after_s, 0.);
	ev_timer_start(h->loop, &h->kick);
}

/* Takes req off whatever runs its attempt: its own connection (cancelled there), or libcurl
 * (the easy handle back to the lane's pool). */
static void release_transport(struct fpd_kube_http_req *req)
{
	if (req->easy) {
		struct lane *l = req->lane;
		curl_multi_remove_handle(l->multi, req->easy);
		if (l->n_idle < EASY_POOL && !req->h->closing) {
			/* nothing of req's may outlive it in the idle handle */
			curl_easy_setopt(req->easy, CURLOPT_HTTPHEADER, NULL);
			curl_easy_setopt(req->easy, CURLOPT_POSTFIELDS, NULL);
			curl_easy_setopt(req->easy, CURLOPT_ERRORBUFFER, NULL);
			l->idle[l->n_idle++] = req->easy;
		} else
			curl_easy_cleanup(req->easy);
		req->easy = NULL;
	}
	curl_slist_free_all(req->headers);
	req->headers = NULL;
}

static void unqueue(struct fpd_kube_http_req *req)
{
	struct fpd_kube_http *h = req->h;
	struct fpd_kube_http_req **pp = &h->queue_head, *prev = NULL;
	while (*pp && *pp != req) {
		prev = *pp;
		pp = &(*pp)->qnext;
	}
	if (!*pp)
		return;
	*pp = req->qnext;
	if (h->queue_tail == req)
		h->queue_tail = prev;
	req->qnext = NULL;
}

static void req_free(struct fpd_kube_http_req *req)
{
	struct fpd_kube_http *h = req->h;
	release_transport(req);
	if (req->state == R_QUEUED)
		unqueue(req);
	ev_timer_stop(h->loop, &req->retry_timer);
	if (req->prev)
		req->prev->next = req->next;
	else
		h->reqs = req->next;
	if (req->next)
		req->next->prev = req->prev;
	h->stats.active--;
	fpd_buf_free(&req->resp);
	free(req->method);
	free(req->path);
	free(req->url);
	free(req->content_type);
	free(req->accept);
	free(req->body);
	free(req);
}

static void deliver(struct fpd_kube_http_req *req, struct fpd_kube_http_result *r)
{
	r->body = req->resp.data ? req->resp.data : "";
	r->len = req->resp.len;
	r->status = req->status;
	r->retry_after_ms = req->retry_after_ms;
	r->attempts = req->attempts;
	r->http_version = req->http_version;
	r->elapsed_ms = fpd_clock_mono_ms() - req->first_start_ms;
	req->state = R_DONE;
	req->h->stats.completed++;
	if (req->on_done)
		req->on_done(req->ud, r);
	req_free(req);
}

/* Completes req with a transport error; detail says what went wrong. */
static void fail(struct fpd_kube_http_req *req, int code, const char *detail)
{
	struct fpd_kube_http_result r;
	memset(&r, 0, sizeof(r));
	r.code = code;
	fpd_error_set(&r.err, code, "%s %s%s: %s", req->method, req->h->base_url, req->path,
	              detail);
	deliver(req, &r);
}

/* ---- callbacks from libcurl for one transfer ---- */

static size_t write_cb(char *data, size_t size, size_t nmemb, void *ud)
{
	struct fpd_kube_http_req *req = ud;
	size_t n = size * nmemb;
	if (req->cancelled)
		return 0; /* stop reading for an owner who is gone */
	req->h->stats.bytes_in += n;
	if (!req->status)
		curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &req->status);
	if (req->stream && req->on_data && req->status >= 200 && req->status < 300) {
		if (req->on_data(req->ud, data, n) || req->cancelled) {
			req->aborted = true;
			return 0;
		}
		return n;
	}
	if (fpd_buf_append(&req->resp, data, n)) {
		req->overflow = true;
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
	time_t t = curl_getdate(date, NULL);
	if (t < 0)
		return -1;
	int64_t delta = ((int64_t)t * 1000) - now_wall_ms;
	return delta > 0 ? delta : 0;
}

static size_t header_cb(char *line, size_t size, size_t nmemb, void *ud)
{
	struct fpd_kube_http_req *req = ud;
	size_t n = size * nmemb;
	if (n >= 5 && memcmp(line, "HTTP/", 5) == 0)
		req->retry_after_ms = -1; /* a new response begins */
	else if (n > 12 && strncasecmp(line, "retry-after:", 12) == 0)
		req->retry_after_ms =
		    fpd_kube_http_parse_retry_after(line + 12, n - 12, fpd_clock_wall_ms());
	return n;
}

/* ---- attempts ---- */

static int add_header(struct curl_slist **list, const char *h)
{
	struct curl_slist *l = curl_slist_append(*list, h);
	if (!l)
		fpd_die("out of memory building request headers");
	*list = l;
	return FPD_OK;
}

static void set_blob(CURL *e, CURLoption opt, const struct fpd_kube_blob *b)
{
	/* The blobs belong to h->creds, which outlives every transfer: no copy per request. */
	struct curl_blob blob = {b->data, b->len, CURL_BLOB_NOCOPY};
	curl_easy_setopt(e, opt, &blob);
}

/* libcurl has OpenSSL free a connection's buffers whenever it goes idle
 * (SSL_MODE_RELEASE_BUFFERS), so every answer allocates them again: a 17 KiB malloc, which
 * makes glibc consolidate its fast bins first, on the path of each call. The few long-lived
 * connections keep theirs. (Ignored by libcurl built with another TLS library.) */
static CURLcode keep_tls_buffers(CURL *e, void *ssl_ctx, void *ud)
{
	SSL_CTX_clear_mode((SSL_CTX *)ssl_ctx, SSL_MODE_RELEASE_BUFFERS);
	return CURLE_OK;
}

static void setup_tls(struct fpd_kube_http *h, CURL *e)
{
	curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, keep_tls_buffers);
	const struct fpd_kube_creds *c = &h->creds;
	if (c->ca.data)
		set_blob(e, CURLOPT_CAINFO_BLOB, &c->ca);
	else if (c->ca_file[0])
		curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
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
	if (h->connect_to)
		curl_easy_setopt(e, CURLOPT_CONNECT_TO, h->connect_to);
	if (c->proxy_url[0])
		curl_easy_setopt(e, CURLOPT_PROXY, c->proxy_url);
	if (c->username[0]) {
		curl_easy_setopt(e, CURLOPT_USERNAME, c->username);
		curl_easy_setopt(e, CURLOPT_PASSWORD, c->password);
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	}
}

static void setup_method(struct fpd_kube_http_req *req, CURL *e)
{
	/* A handle may come from an earlier request: back to a GET without a body first. */
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, NULL);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)-1);
	curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, NULL);
	if (strcmp(req->method, "GET") == 0 && !req->body)
		return;
	if (strcmp(req->method, "POST") == 0)
		curl_easy_setopt(e, CURLOPT_POST, 1L);
	else
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
	if (req->body || strcmp(req->method, "POST") == 0) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body ? req->body : "");
	}
}

/* A new easy handle with the options every request of lane l shares. */
static CURL *new_easy(struct lane *l)
{
	struct fpd_kube_http *h = l->h;
	CURL *e = curl_easy_init();
	if (!e)
		fpd_die("out of memory creating a transfer");
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	if (l->http1) {
		curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	} else {
		curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
		/* Wait for the lane's connection rather than opening another: all multiplex. */
		curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
	}
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)h->opts.connect_timeout_ms);
	/* A dead peer must not hang a watch for the kernel's 15+ minutes (client-go#374). */
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 10L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, h->user_agent);
	curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 128L * 1024);
	setup_tls(h, e);
	return e;
}

static void complete(struct fpd_kube_http_req *req, int code, const char *why);

static int start_attempt(struct fpd_kube_http_req *req)
{
	struct fpd_kube_http *h = req->h;
	struct lane *l = req->lane;
	req->attempts++;
	req->status = 0;
	req->aborted = req->overflow = false;
	req->retry_after_ms = -1;
	fpd_buf_reset(&req->resp);
	CURL *e = l->n_idle ? l->idle[--l->n_idle] : new_easy(l);
	req->easy = e;
	req->errbuf[0] = '\0';

	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, req->errbuf);
	curl_easy_setopt(e, CURLOPT_PRIVATE, req);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, req);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, req);
	curl_easy_setopt(e, CURLOPT_URL, req->url);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
	setup_method(req, e);

	if (req->accept) {
		char *accept = fpd_asprintf("Accept: %s", req->accept);
		add_header(&req->headers, accept);
		free(accept);
	} else {
		add_header(&req->headers, "Accept: application/json");
	}
	add_header(&req->headers, "Expect:");
	if (req->content_type) {
		char ct[256];
		snprintf(ct, sizeof(ct), "Content-Type: %s", req->content_type);
		add_header(&req->headers, ct);
	}
	if (h->creds.token[0]) {
		char *auth = fpd_asprintf("Authorization: Bearer %s", h->creds.token);
		add_header(&req->headers, auth);
		free(auth);
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, req->headers);

	if (curl_multi_add_handle(req->lane->multi, e) != CURLM_OK) {
		release_transport(req);
		return FPD_ERR;
	}
	req->state = R_ACTIVE;
	h->stats.started++;
	return FPD_OK;
}

static void reap_cancelled(struct fpd_kube_http *h)
{
	if (!h->cancelled_active)
		return;
	for (struct fpd_kube_http_req *req = h->reqs, *next; req; req = next) {
		next = req->next;
		if (req->cancelled && req->state == R_ACTIVE)
			req_free(req);
	}
	h->cancelled_active = 0;
}

static void dispatch(struct fpd_kube_http *h)
{
	int64_t now = fpd_clock_mono_ms();
	while (h->queue_head) {
		struct fpd_kube_http_req *req = h->queue_head;
		if (!req->unlimited) {
			int64_t wait = fpd_kube_ratelimit_take(&h->rl, now);
			if (wait > 0) {
				h->stats.throttled++;
				arm_kick(h, (double)wait / 1000.0);
				return;
			}
		}
		h->queue_head = req->qnext;
		if (!h->queue_head)
			h->queue_tail = NULL;
		req->qnext = NULL;
		if (start_attempt(req))
			fail(req, FPD_ERR, "libcurl refused the transfer");
	}
}

static void kick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fpd_kube_http *h = fpd_container_of(w, struct fpd_kube_http, kick);
	h->busy++;
	reap_cancelled(h);
	dispatch(h);
	h->busy--;
}

/* Starts req at once when nothing is queued before it, a token is free and no libcurl call or
 * completion is under way (curl_multi_add_handle only arms libcurl's timer: no callback of
 * req's can run before the caller has its handle). Otherwise req waits in the queue. */
static void start_or_enqueue(struct fpd_kube_http_req *req)
{
	struct fpd_kube_http *h = req->h;
	if (h->busy || h->queue_head ||
	    (!req->unlimited && fpd_kube_ratelimit_take(&h->rl, fpd_clock_mono_ms()) > 0)) {
		enqueue(req);
		return;
	}
	if (start_attempt(req)) {
		enqueue(req); /* the next kick retries and reports the refusal */
		return;
	}
	/* Send now rather than on the next loop iteration, when libcurl's zero timeout would fire.
	 * A completion this causes waits in libcurl for check_done, run from the fed timer
	 * event once the caller has req and is off the stack. */
	struct lane *l = req->lane;
	int running;
	h->busy++;
	h->in_curl++;
	curl_multi_socket_action(l->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	h->in_curl--;
	h->busy--;
	ev_feed_event(h->loop, &l->curl_timer, EV_TIMER);
}

static void enqueue(struct fpd_kube_http_req *req)
{
	struct fpd_kube_http *h = req->h;
	req->state = R_QUEUED;
	req->qnext = NULL;
	/* Unlimited requests (watches) jump the queue: they never wait for tokens. */
	if (req->unlimited) {
		req->qnext = h->queue_head;
		h->queue_head = req;
		if (!h->queue_tail)
			h->queue_tail = req;
	} else {
		if (h->queue_tail)
			h->queue_tail->qnext = req;
		else
			h->queue_head = req;
		h->queue_tail = req;
	}
	arm_kick(h, 0.);
}

static void retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fpd_kube_http_req *req = fpd_container_of(w, struct fpd_kube_http_req, retry_timer);
	enqueue(req);
}

static bool should_retry(const struct fpd_kube_http_req *req)
{
	const struct fpd_kube_http *h = req->h;
	bool pushback = req->status == 429 || (req->status >= 500 && req->status <= 599);
	return !req->no_retry && !h->closing && pushback && req->retry_after_ms >= 0 &&
	       req->attempts <= h->opts.max_retries;
}

static void maybe_reload_token(struct fpd_kube_http *h)
{
	int64_t now = fpd_clock_mono_ms();
	if (!h->creds.token_file[0] || now - h->last_401_reload_ms < 1000)
		return;
	h->last_401_reload_ms = now;
	struct fpd_error err;
	if (fpd_kube_http_reload_token(h, &err))
		fpd_log(FPD_LOG_WARN, LOG, "after 401: %s", err.text);
}

/* How an attempt ended, whichever transport ran it: code FPD_OK for an answer (retried after
 * its Retry-After, or delivered), else the failure, why saying what happened. */
static void complete(struct fpd_kube_http_req *req, int code, const char *why)
{
	struct fpd_kube_http *h = req->h;
	if (req->cancelled) {
		h->cancelled_active--;
		req_free(req);
		return;
	}
	char detail[CURL_ERROR_SIZE + 400];
	switch (code) {
	case FPD_OK: {
		if (req->status == 401)
			maybe_reload_token(h);
		if (should_retry(req)) {
			int64_t delay = req->retry_after_ms;
			if (delay > h->opts.max_retry_after_ms)
				delay = h->opts.max_retry_after_ms;
			fpd_log(FPD_LOG_INFO, LOG,
			        "%s %s: HTTP %ld, retrying in %lld ms (Retry-After)", req->method,
			        req->path, req->status, (long long)delay);
			h->stats.retries++;
			release_transport(req);
			req->state = R_RETRY_WAIT;
			ev_timer_set(&req->retry_timer, (double)delay / 1000.0, 0.);
			ev_timer_start(h->loop, &req->retry_timer);
			return;
		}
		struct fpd_kube_http_result r;
		memset(&r, 0, sizeof(r));
		r.code = FPD_OK;
		deliver(req, &r);
		return;
	}
	case FPD_ERR: fail(req, FPD_ERR, "stopped by the caller"); return;
	case FPD_ERANGE:
		snprintf(detail, sizeof(detail), "response larger than %zu bytes", req->resp.max);
		fail(req, FPD_ERANGE, detail);
		return;
	case FPD_ETIMEDOUT:
		snprintf(detail, sizeof(detail), "no complete answer within %lld ms (%s)",
		         (long long)req->timeout_ms, why);
		fail(req, FPD_ETIMEDOUT, detail);
		return;
	default: fail(req, FPD_EIO, why); return;
	}
}

static void finish(struct fpd_kube_http_req *req, CURLcode cc)
{
	struct fpd_kube_http *h = req->h;
	if (!req->status)
		curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &req->status);
	long connects = 0;
	curl_easy_getinfo(req->easy, CURLINFO_NUM_CONNECTS, &connects);
	curl_easy_getinfo(req->easy, CURLINFO_HTTP_VERSION, &req->http_version);
	h->stats.connects += (uint64_t)connects;
	/* An answer is delivered before its transfer is taken down (req_free does that after the
	 * callback): the caller waits for the answer, not for libcurl's cleanup. */
	const char *why = req->errbuf[0] ? req->errbuf : curl_easy_strerror(cc);
	int code = cc == CURLE_OK                             ? FPD_OK
	           : cc == CURLE_WRITE_ERROR && req->aborted  ? FPD_ERR
	           : cc == CURLE_WRITE_ERROR && req->overflow ? FPD_ERANGE
	           : cc == CURLE_OPERATION_TIMEDOUT           ? FPD_ETIMEDOUT
	                                                      : FPD_EIO;
	complete(req, code, why);
}

static void check_done(struct lane *l)
{
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(l->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		char *priv = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
		finish((struct fpd_kube_http_req *)(void *)priv, msg->data.result);
	}
}

/* ---- tokens ---- */

int fpd_kube_http_reload_token(struct fpd_kube_http *h, struct fpd_error *err)
{
	if (!h->creds.token_file[0])
		return FPD_OK;
	char *token;
	int rc = fpd_kube_read_token(h->creds.token_file, &token, err);
	if (rc)
		return rc;
	if (strcmp(token, h->creds.token) != 0) {
		free(h->creds.token);
		h->creds.token = token;
		h->stats.token_reloads++;
		fpd_log(FPD_LOG_INFO, LOG, "bearer token reloaded from %s", h->creds.token_file);
	} else {
		free(token);
	}
	return FPD_OK;
}

static void token_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fpd_kube_http *h = fpd_container_of(w, struct fpd_kube_http, token_timer);
	struct fpd_error err;
	if (fpd_kube_http_reload_token(h, &err))
		fpd_log(FPD_LOG_WARN, LOG, "keeping the previous token: %s", err.text);
}

/* ---- public ---- */

static void defaults(struct fpd_kube_http_opts *o, const struct fpd_kube_http_opts *given)
{
	memset(o, 0, sizeof(*o));
	if (given)
		*o = *given;
	if (o->burst <= 0)
		o->burst = 10;
	if (o->timeout_ms <= 0)
		o->timeout_ms = 30000;
	if (o->connect_timeout_ms <= 0)
		o->connect_timeout_ms = 10000;
	if (o->token_reload_ms <= 0)
		o->token_reload_ms = 60000;
	if (o->max_response == 0)
		o->max_response = 64u << 20;
	if (given == NULL || o->max_retries == 0)
		o->max_retries = 10;
	if (o->max_retries < 0)
		o->max_retries = 0;
	if (o->max_retry_after_ms <= 0)
		o->max_retry_after_ms = 60000;
	if (o->max_connections <= 0)
		o->max_connections = 4;
	if (o->max_streams <= 0)
		o->max_streams = 100;
	if (o->max_call_connections <= 0)
		o->max_call_connections = 16;
}

/* For tls-server-name: the URL names the certificate's host and CONNECT_TO sends the
 * connection to the real one. */
static int setup_urls(struct fpd_kube_http *h, struct fpd_error *err)
{
	const struct fpd_kube_creds *c = &h->creds;
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
		h->connect_to = curl_slist_append(NULL, entry);
		free(entry);
		size_t n = strlen(url);
		while (n && url[n - 1] == '/')
			n--;
		h->base_url = fpd_strndup(url, n);
	} else {
		h->base_url = fpd_strdup(c->server);
	}
out:
	curl_free(host);
	curl_free(port);
	curl_free(url);
	curl_url_cleanup(u);
	return rc;
}

static void lane_init(struct fpd_kube_http *h, struct lane *l, int priority, bool http1)
{
	l->h = h;
	l->priority = priority;
	l->http1 = http1;
	l->multi = curl_multi_init();
	if (!l->multi)
		fpd_die("out of memory creating the libcurl multi handle");
	curl_multi_setopt(l->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(l->multi, CURLMOPT_SOCKETDATA, l);
	curl_multi_setopt(l->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(l->multi, CURLMOPT_TIMERDATA, l);
	curl_multi_setopt(l->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	/* A burst of requests shares a few multiplexed connections instead of opening one per
	 * request (hundreds of TLS handshakes would starve the loop, and the API server closes
	 * watches it finds unresponsive). Beyond max_streams per connection libcurl queues. */
	long conns = http1 ? h->opts.max_call_connections : h->opts.max_connections;
	curl_multi_setopt(l->multi, CURLMOPT_MAX_HOST_CONNECTIONS, conns);
	/* Keep every connection the lane may open: a closed one costs a TLS handshake. */
	curl_multi_setopt(l->multi, CURLMOPT_MAXCONNECTS, conns);
	curl_multi_setopt(l->multi, CURLMOPT_MAX_CONCURRENT_STREAMS, h->opts.max_streams);
	ev_timer_init(&l->curl_timer, curl_timer_cb, 0., 0.);
	ev_set_priority(&l->curl_timer, priority);
}

static void lane_free(struct lane *l)
{
	ev_timer_stop(l->h->loop, &l->curl_timer);
	while (l->n_idle)
		curl_easy_cleanup(l->idle[--l->n_idle]);
	curl_multi_cleanup(l->multi);
	while (l->socks)
		sock_free(l, l->socks);
}

int fpd_kube_http_new(struct ev_loop *loop, const struct fpd_kube_creds *creds,
                      const struct fpd_kube_http_opts *opts, struct fpd_kube_http **out,
                      struct fpd_error *err)
{
	*out = NULL;
	if (!creds || !creds->server || !creds->server[0])
		return fpd_error_set(err, FPD_EINVAL, "no API server URL");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return fpd_error_set(err, FPD_ERR, "libcurl initialisation failed");
	struct fpd_kube_http *h = fpd_calloc(1, sizeof(*h));
	h->loop = loop;
	fpd_kube_creds_copy(&h->creds, creds);
	defaults(&h->opts, opts);
	h->user_agent = fpd_strdup(h->opts.user_agent ? h->opts.user_agent : "flyteplugd");
	h->opts.user_agent = h->user_agent;
	int rc = setup_urls(h, err);
	if (rc) {
		fpd_kube_creds_free(&h->creds);
		free(h->user_agent);
		free(h);
		curl_global_cleanup();
		return rc;
	}
	fpd_kube_ratelimit_init(&h->rl, h->opts.qps, h->opts.burst, fpd_clock_mono_ms());
	for (int i = 0; i < LANE_COUNT; i++)
		lane_init(h, &h->lanes[i], i == LANE_CALLS ? EV_MAXPRI : 0,
		          i == LANE_CALLS && h->opts.calls_http1);
	ev_timer_init(&h->kick, kick_cb, 0., 0.);
	double period = (double)h->opts.token_reload_ms / 1000.0;
	ev_timer_init(&h->token_timer, token_timer_cb, period, period);
	if (h->creds.token_file[0]) {
		ev_timer_start(loop, &h->token_timer);
		/* The timer must not keep an otherwise idle loop running. */
		ev_unref(loop);
	}
	*out = h;
	return FPD_OK;
}

void fpd_kube_http_free(struct fpd_kube_http *h)
{
	if (!h)
		return;
	h->closing = true;
	while (h->reqs) {
		struct fpd_kube_http_req *req = h->reqs;
		release_transport(req);
		if (req->cancelled) {
			req_free(req);
			continue;
		}
		if (req->state == R_QUEUED)
			unqueue(req);
		req->state = R_DONE;
		struct fpd_kube_http_result r;
		memset(&r, 0, sizeof(r));
		r.code = FPD_EIO;
		fpd_error_set(&r.err, FPD_EIO, "%s %s: client closed", req->method, req->path);
		deliver(req, &r);
	}
	ev_timer_stop(h->loop, &h->kick);
	if (ev_is_active(&h->token_timer)) {
		ev_ref(h->loop);
		ev_timer_stop(h->loop, &h->token_timer);
	}
	for (int i = 0; i < LANE_COUNT; i++)
		lane_free(&h->lanes[i]);
	curl_slist_free_all(h->connect_to);
	fpd_kube_creds_free(&h->creds);
	free(h->base_url);
	free(h->user_agent);
	free(h);
	curl_global_cleanup();
}

int fpd_kube_http_start(struct fpd_kube_http *h, const struct fpd_kube_http_spec *spec,
                        struct fpd_kube_http_req **out, struct fpd_error *err)
{
	if (out)
		*out = NULL;
	if (h->closing)
		return fpd_error_set(err, FPD_EIO, "client closed");
	if (!spec->method || !spec->path || spec->path[0] != '/' || !spec->on_done)
		return fpd_error_set(err, FPD_EINVAL, "request needs a method, a path and on_done");
	if (spec->stream && !spec->on_data)
		return fpd_error_set(err, FPD_EINVAL, "a streamed request needs on_data");
	for (const char *c = spec->path; *c; c++)
		if ((unsigned char)*c <= 0x20 || *c == 0x7f)
			return fpd_error_set(err, FPD_EINVAL,
			                     "request path has a space or a control character");
	struct fpd_kube_http_req *req = fpd_calloc(1, sizeof(*req));
	req->h = h;
	req->method = fpd_strdup(spec->method);
	req->path = fpd_strdup(spec->path);
	req->url = fpd_asprintf("%s%s", h->base_url, spec->path);
	req->content_type = spec->content_type ? fpd_strdup(spec->content_type) : NULL;
	req->accept = spec->accept ? fpd_strdup(spec->accept) : NULL;
	if (spec->body) {
		req->body = fpd_malloc(spec->body_len + 1);
		memcpy(req->body, spec->body, spec->body_len);
		req->body[spec->body_len] = '\0';
		req->body_len = spec->body_len;
	}
	req->stream = spec->stream;
	req->lane = &h->lanes[spec->stream ? LANE_WATCHES : LANE_CALLS];
	req->unlimited = spec->unlimited;
	req->no_retry = spec->no_retry;
	req->timeout_ms = spec->timeout_ms > 0 ? spec->timeout_ms : h->opts.timeout_ms;
	req->on_data = spec->on_data;
	req->on_done = spec->on_done;
	req->ud = spec->ud;
	req->retry_after_ms = -1;
	req->first_start_ms = fpd_clock_mono_ms();
	fpd_buf_init(&req->resp, spec->max_response ? spec->max_response : h->opts.max_response);
	ev_timer_init(&req->retry_timer, retry_cb, 0., 0.);
	req->next = h->reqs;
	if (h->reqs)
		h->reqs->prev = req;
	h->reqs = req;
	h->stats.active++;
	start_or_enqueue(req);
	if (out)
		*out = req;
	return FPD_OK;
}

void fpd_kube_http_cancel(struct fpd_kube_http *h, struct fpd_kube_http_req *req)
{
	if (!req || req->cancelled || req->state == R_DONE)
		return;
	if (req->state == R_ACTIVE && h->in_curl) {
		/* libcurl is running (we are inside one of its callbacks): it must not be
		 * re-entered; mark the request and let the next kick remove it. */
		req->cancelled = true;
		h->cancelled_active++;
		arm_kick(h, 0.);
		return;
	}
	req_free(req);
}

const struct fpd_kube_creds *fpd_kube_http_creds(const struct fpd_kube_http *h)
{
	return &h->creds;
}

struct ev_loop *fpd_kube_http_loop(const struct fpd_kube_http *h)
{
	return h->loop;
}

void fpd_kube_http_get_stats(const struct fpd_kube_http *h, struct fpd_kube_http_stats *out)
{
	*out = h->stats;
}
