/*
 * The request queue of the transport: see http.h. Everything between "start this request"
 * and "here is its answer": the client-side rate limit, Retry-After retries, each attempt's
 * deadline, cancellation, bearer tokens. The transfers themselves are libcurl's: transfer.h
 * turns an attempt into an easy handle, multi.h runs the easy handles on the loop, endpoint.h
 * says where the server is and how it is trusted.
 *
 * Two lanes, each a multi handle with connections of its own: watches, multiplexed over
 * HTTP/2; and calls (everything else), whose sockets the loop serves first. Calls use
 * kept-alive HTTP/1.1 connections by default (opts.calls_http1, config call_protocol),
 * chosen by measurement: on the real API server a sequential pod create is answered 20-50 µs
 * sooner over HTTP/1.1 than as an HTTP/2 stream (median ~1.17 vs ~1.19 ms), and with 32 in
 * flight neither protocol leads (bench/kube/README.md, "Calls").
 * Easy handles of finished attempts are reused, connections stay open between calls.
 *
 * A request moves QUEUED (waiting for a rate-limit token, or for the next loop iteration) →
 * ACTIVE (its easy handle is on a multi handle) → DONE (callback running), with RETRY_WAIT
 * between attempts when the server sent Retry-After. Each attempt has a deadline: libcurl's
 * transfer timeout, and a timer of ours for a transfer still waiting for a free connection,
 * which libcurl does not time out. Nothing touches a multi handle from inside one of its
 * libcurl callbacks: requests started then are queued and started by the `kick` timer, and a
 * request cancelled then is marked and removed at the next kick.
 */
#include "kube/http.h"

#include "core/clock.h"
#include "core/log.h"
#include <flyteplugd/mem.h>
#include "kube/endpoint.h"
#include "kube/multi.h"
#include "kube/ratelimit.h"
#include "kube/transfer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG "kube"
/* libcurl's own timeout ends an attempt that was sent; ours follows it only as a backstop. */
#define DEADLINE_GRACE_S 0.05

enum req_state { R_QUEUED, R_RETRY_WAIT, R_ACTIVE, R_DONE };

struct lane {
	struct fpd_kube_multi multi;
	struct fpd_kube_transfer_conf conf; /* of its easy handles */
};

enum { LANE_CALLS, LANE_WATCHES, LANE_COUNT };

struct fpd_kube_http_req {
	struct fpd_kube_http *h;
	struct lane *lane;                     /* where its transfers run */
	struct fpd_kube_http_req *prev, *next; /* every live request, for free and stats */
	struct fpd_kube_http_req *qnext;       /* the start queue */
	enum req_state state;
	bool cancelled_active; /* cancelled inside its lane's libcurl: reaped at the next kick */
	char *method, *path, *url, *content_type, *accept, *body;
	size_t body_len;
	bool unlimited, no_retry;
	enum fpd_kube_budget budget;
	int64_t timeout_ms;
	fpd_kube_http_done_fn on_done;
	void *ud;
	int attempts;
	int64_t first_start_ms;
	ev_timer retry_timer;
	ev_timer deadline;          /* of the current attempt */
	struct fpd_kube_transfer t; /* the current attempt, and the last answer */
};

struct fpd_kube_http {
	struct ev_loop *loop;
	struct lane lanes[LANE_COUNT];
	ev_timer kick;        /* starts queued requests, reaps cancelled ones */
	ev_timer token_timer; /* token file re-read */
	struct fpd_kube_creds creds;
	struct fpd_kube_endpoint ep;
	struct fpd_kube_http_opts opts;
	char *user_agent;
	struct fpd_kube_ratelimit rl;                             /* the overall limit */
	struct fpd_kube_ratelimit budgets[FPD_KUBE_BUDGET_COUNT]; /* each budget's own */
	struct fpd_kube_http_req *reqs;
	/* Start queues: one per budget, and the last for unlimited requests (watches). */
	struct queue {
		struct fpd_kube_http_req *head, *tail;
	} queues[FPD_KUBE_BUDGET_COUNT + 1];
	unsigned next_budget;    /* where the next dispatch round starts: budgets take turns */
	int busy;                /* > 0 while the kick runs */
	size_t cancelled_active; /* cancelled while in libcurl, still on a multi handle */
	bool closing;
	int64_t last_401_reload_ms;
	struct fpd_kube_http_stats stats;
};

static void enqueue(struct fpd_kube_http_req *req);

static const char *const budget_names[FPD_KUBE_BUDGET_COUNT] = {"other", "create", "read",
                                                                "delete"};

const char *fpd_kube_budget_name(enum fpd_kube_budget b)
{
	return (unsigned)b < FPD_KUBE_BUDGET_COUNT ? budget_names[b] : "?";
}

static struct queue *queue_of(struct fpd_kube_http_req *req)
{
	return &req->h->queues[req->unlimited ? FPD_KUBE_BUDGET_COUNT : req->budget];
}

/* Whether this file or libcurl is on the stack: a request started now waits for the kick. */
static bool busy(const struct fpd_kube_http *h)
{
	return h->busy || h->lanes[LANE_CALLS].multi.busy || h->lanes[LANE_WATCHES].multi.busy;
}

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

/* Takes req's attempt off libcurl; its easy handle goes back to the lane's pool. */
static void release_transfer(struct fpd_kube_http_req *req)
{
	struct fpd_kube_multi *m = &req->lane->multi;
	ev_timer_stop(req->h->loop, &req->deadline);
	if (req->t.easy)
		fpd_kube_multi_remove(m, req->t.easy);
	CURL *e = fpd_kube_transfer_end(&req->t);
	if (e)
		fpd_kube_multi_recycle(m, e, !req->h->closing);
}

static void unqueue(struct fpd_kube_http_req *req)
{
	struct queue *q = queue_of(req);
	struct fpd_kube_http_req **pp = &q->head, *prev = NULL;
	while (*pp && *pp != req) {
		prev = *pp;
		pp = &(*pp)->qnext;
	}
	if (!*pp)
		return;
	*pp = req->qnext;
	if (q->tail == req)
		q->tail = prev;
	req->qnext = NULL;
}

static struct fpd_kube_http_req *pop(struct queue *q)
{
	struct fpd_kube_http_req *req = q->head;
	q->head = req->qnext;
	if (!q->head)
		q->tail = NULL;
	req->qnext = NULL;
	return req;
}

/* 0 and a token of req's budget and of the overall limit taken, or how long until both are
 * there (nothing taken). */
static int64_t take_tokens(struct fpd_kube_http_req *req, int64_t now)
{
	struct fpd_kube_http *h = req->h;
	if (req->unlimited)
		return 0;
	struct fpd_kube_ratelimit *b = &h->budgets[req->budget];
	int64_t wb = fpd_kube_ratelimit_wait(b, now), wo = fpd_kube_ratelimit_wait(&h->rl, now);
	if (wb || wo)
		return wb > wo ? wb : wo;
	fpd_kube_ratelimit_take(b, now);
	fpd_kube_ratelimit_take(&h->rl, now);
	return 0;
}

static void req_free(struct fpd_kube_http_req *req)
{
	struct fpd_kube_http *h = req->h;
	release_transfer(req);
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
	fpd_buf_free(&req->t.body);
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
	r->body = req->t.body.data ? req->t.body.data : "";
	r->len = req->t.body.len;
	r->status = req->t.status;
	r->retry_after_ms = req->t.retry_after_ms;
	r->attempts = req->attempts;
	r->http_version = req->t.http_version;
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
	fpd_error_set(&r.err, code, "%s %s%s: %s", req->method, req->h->ep.base_url, req->path,
	              detail);
	deliver(req, &r);
}

static int start_attempt(struct fpd_kube_http_req *req)
{
	struct fpd_kube_http *h = req->h;
	struct lane *l = req->lane;
	req->attempts++;
	CURL *e = fpd_kube_multi_take_idle(&l->multi);
	if (!e)
		e = fpd_kube_transfer_easy_new(&l->conf);
	struct fpd_kube_transfer_req tr = {
	    .method = req->method,
	    .url = req->url,
	    .accept = req->accept,
	    .content_type = req->content_type,
	    .token = h->creds.token,
	    .body = req->body,
	    .body_len = req->body_len,
	    .timeout_ms = req->timeout_ms,
	};
	fpd_kube_transfer_begin(&req->t, e, &tr);
	if (fpd_kube_multi_add(&l->multi, e)) {
		release_transfer(req);
		return FPD_ERR;
	}
	req->state = R_ACTIVE;
	h->stats.started++;
	ev_timer_set(&req->deadline, (double)req->timeout_ms / 1000.0 + DEADLINE_GRACE_S, 0.);
	ev_timer_start(h->loop, &req->deadline);
	return FPD_OK;
}

/* libcurl ends a transfer at CURLOPT_TIMEOUT_MS, but (7.88) not while it waits for a
 * connection of the lane to be free: this ends it then, never sent. */
static void deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fpd_kube_http_req *req = fpd_container_of(w, struct fpd_kube_http_req, deadline);
	if (req->cancelled_active)
		return; /* the owner is gone; the kick takes it down */
	curl_off_t sent_us = 0;
	curl_easy_getinfo(req->t.easy, CURLINFO_PRETRANSFER_TIME_T, &sent_us);
	char detail[160];
	if (sent_us == 0)
		snprintf(detail, sizeof(detail), "no connection free within %lld ms: never sent",
		         (long long)req->timeout_ms);
	else
		snprintf(detail, sizeof(detail), "no complete answer within %lld ms",
		         (long long)req->timeout_ms);
	fail(req, FPD_ETIMEDOUT, detail);
}

static void reap_cancelled(struct fpd_kube_http *h)
{
	if (!h->cancelled_active)
		return;
	for (struct fpd_kube_http_req *req = h->reqs, *next; req; req = next) {
		next = req->next;
		if (req->cancelled_active)
			req_free(req);
	}
	h->cancelled_active = 0;
}

static void dispatch_one(struct fpd_kube_http_req *req)
{
	if (start_attempt(req))
		fail(req, FPD_ERR, "libcurl refused the transfer");
}

/* Starts what may start: watches, then the budgets' heads in turns (one request of each per
 * round, so that when the overall limit binds no budget takes all of it), until every head
 * waits for a token; the kick comes back when the first of them will have one. */
static void dispatch(struct fpd_kube_http *h)
{
	int64_t now = fpd_clock_mono_ms();
	struct queue *uq = &h->queues[FPD_KUBE_BUDGET_COUNT];
	while (uq->head)
		dispatch_one(pop(uq));
	int64_t min_wait = 0;
	bool progress = true;
	while (progress) {
		progress = false;
		min_wait = 0;
		for (unsigned i = 0; i < FPD_KUBE_BUDGET_COUNT; i++) {
			unsigned bi = (h->next_budget + i) % FPD_KUBE_BUDGET_COUNT;
			struct queue *q = &h->queues[bi];
			if (!q->head)
				continue;
			int64_t wait = take_tokens(q->head, now);
			if (wait > 0) {
				if (!min_wait || wait < min_wait)
					min_wait = wait;
				continue;
			}
			dispatch_one(pop(q));
			progress = true;
		}
		h->next_budget = (h->next_budget + 1) % FPD_KUBE_BUDGET_COUNT;
	}
	if (min_wait > 0) {
		h->stats.throttled++;
		arm_kick(h, (double)min_wait / 1000.0);
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
	if (busy(h) || queue_of(req)->head || take_tokens(req, fpd_clock_mono_ms()) > 0) {
		enqueue(req);
		return;
	}
	if (start_attempt(req)) {
		enqueue(req); /* the next kick retries and reports the refusal */
		return;
	}
	fpd_kube_multi_send_now(&req->lane->multi);
}

static void enqueue(struct fpd_kube_http_req *req)
{
	struct queue *q = queue_of(req);
	req->state = R_QUEUED;
	req->qnext = NULL;
	if (q->tail)
		q->tail->qnext = req;
	else
		q->head = req;
	q->tail = req;
	arm_kick(req->h, 0.);
}

static void retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fpd_kube_http_req *req = fpd_container_of(w, struct fpd_kube_http_req, retry_timer);
	enqueue(req);
}

static bool should_retry(const struct fpd_kube_http_req *req)
{
	const struct fpd_kube_http *h = req->h;
	long status = req->t.status;
	bool pushback =
	    status == 429 || (status >= 500 && status <= 599 && req->t.retry_after_ms >= 0);
	return !req->no_retry && !h->closing && pushback && req->attempts <= h->opts.max_retries;
}

/* The delay a 429 or 5xx answer asks for: its Retry-After (at most max_retry_after_ms), or
 * 1 s for a 429 without one (the server's own default). */
static int64_t pushback_delay(const struct fpd_kube_http_req *req)
{
	int64_t delay = req->t.retry_after_ms >= 0 ? req->t.retry_after_ms : 1000;
	return delay > req->h->opts.max_retry_after_ms ? req->h->opts.max_retry_after_ms : delay;
}

/* A 429: counted, and req's budget waits with it (watches spend no budget). */
static void too_many_requests(struct fpd_kube_http_req *req)
{
	struct fpd_kube_http *h = req->h;
	h->stats.too_many_requests++;
	if (req->t.apf)
		h->stats.apf_rejections++;
	if (req->unlimited)
		return;
	int64_t now = fpd_clock_mono_ms(), until = now + pushback_delay(req);
	struct fpd_kube_ratelimit *b = &h->budgets[req->budget];
	if (until > b->paused_until_ms) {
		/* One line per episode (not per answer): an overloaded server sends hundreds. */
		h->stats.budget_pauses[req->budget]++;
		fpd_log(now >= b->paused_until_ms ? FPD_LOG_INFO : FPD_LOG_DEBUG, LOG,
		        "%s budget paused for %lld ms: %s %s: 429 from the server%s",
		        fpd_kube_budget_name(req->budget), (long long)pushback_delay(req),
		        req->method, req->path, req->t.apf ? " (API Priority and Fairness)" : "");
	}
	fpd_kube_ratelimit_pause(b, now, until);
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

/* An answer arrived: retried after its Retry-After, or delivered. */
static void answered(struct fpd_kube_http_req *req)
{
	struct fpd_kube_http *h = req->h;
	if (req->t.status == 401)
		maybe_reload_token(h);
	if (req->t.status == 429)
		too_many_requests(req);
	if (should_retry(req)) {
		int64_t delay = pushback_delay(req);
		fpd_log(FPD_LOG_DEBUG, LOG, "%s %s: HTTP %ld, retrying in %lld ms (Retry-After)",
		        req->method, req->path, req->t.status, (long long)delay);
		h->stats.retries++;
		release_transfer(req);
		req->state = R_RETRY_WAIT;
		ev_timer_set(&req->retry_timer, (double)delay / 1000.0, 0.);
		ev_timer_start(h->loop, &req->retry_timer);
		return;
	}
	struct fpd_kube_http_result r;
	memset(&r, 0, sizeof(r));
	r.code = FPD_OK;
	deliver(req, &r);
}

/* multi.h reports a finished transfer of one of the lanes. */
static void transfer_done(void *ud, CURL *easy, CURLcode cc)
{
	struct fpd_kube_http *h = ud;
	char *priv = NULL;
	curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
	struct fpd_kube_http_req *req = (struct fpd_kube_http_req *)(void *)priv;
	if (req->cancelled_active) {
		h->cancelled_active--;
		req_free(req);
		return;
	}
	long connects;
	int code = fpd_kube_transfer_outcome(&req->t, cc, &connects);
	h->stats.connects += (uint64_t)connects;
	/* The answer is delivered before its transfer is taken down (req_free does that after
	 * the callback): the caller waits for the answer, not for libcurl's cleanup. */
	const char *why = req->t.errbuf[0] ? req->t.errbuf : curl_easy_strerror(cc);
	char detail[CURL_ERROR_SIZE + 1024];
	switch (code) {
	case FPD_OK: answered(req); return;
	case FPD_ERR: fail(req, FPD_ERR, "stopped by the caller"); return;
	case FPD_ERANGE:
		snprintf(detail, sizeof(detail), "response larger than %zu bytes", req->t.body.max);
		fail(req, FPD_ERANGE, detail);
		return;
	case FPD_ETIMEDOUT:
		snprintf(detail, sizeof(detail), "no complete answer within %lld ms (%s)",
		         (long long)req->timeout_ms, why);
		fail(req, FPD_ETIMEDOUT, detail);
		return;
	default:
		/* Refused, unreachable, or the server not trusted: a line in the log whoever the
		 * caller is, as an operator looks there first. */
		if (fpd_kube_endpoint_describe_failure(&h->ep, easy, cc, req->t.errbuf, detail,
		                                       sizeof(detail))) {
			fpd_log(FPD_LOG_WARN, LOG, "%s %s: %s", req->method, req->path, detail);
			why = detail;
		}
		fail(req, FPD_EIO, why);
		return;
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
		o->max_call_connections = 64;
}

static void lane_init(struct fpd_kube_http *h, struct lane *l, int priority, bool http1,
                      long buffer_size)
{
	l->conf = (struct fpd_kube_transfer_conf){
	    .ep = &h->ep,
	    .user_agent = h->user_agent,
	    .http1 = http1,
	    .connect_timeout_ms = h->opts.connect_timeout_ms,
	    .buffer_size = buffer_size,
	};
	long conns = http1 ? h->opts.max_call_connections : h->opts.max_connections;
	fpd_kube_multi_init(&l->multi, h->loop, priority, conns, h->opts.max_streams, transfer_done,
	                    h);
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
	int rc = fpd_kube_endpoint_init(&h->ep, &h->creds, err);
	if (rc) {
		fpd_kube_endpoint_free(&h->ep);
		fpd_kube_creds_free(&h->creds);
		free(h->user_agent);
		free(h);
		curl_global_cleanup();
		return rc;
	}
	int64_t now = fpd_clock_mono_ms();
	fpd_kube_ratelimit_init(&h->rl, h->opts.qps, h->opts.burst, now);
	for (int i = 0; i < FPD_KUBE_BUDGET_COUNT; i++) {
		const struct fpd_kube_budget_opts *b = &h->opts.budgets[i];
		fpd_kube_ratelimit_init(&h->budgets[i], i == FPD_KUBE_BUDGET_OTHER ? 0 : b->qps,
		                        b->burst, now);
	}
	/* Calls' sockets are served first: a CreateTask waits for its POST, while a watch event
	 * can wait a few microseconds. */
	/* Calls keep libcurl's 16 KiB receive buffer (each running transfer holds one, and a
	 * wave of creates runs call_connections at once); their answers are a few KiB. Watches
	 * and streamed lists read megabytes through 128 KiB. */
	lane_init(h, &h->lanes[LANE_CALLS], EV_MAXPRI, h->opts.calls_http1, 0);
	lane_init(h, &h->lanes[LANE_WATCHES], 0, false, 128L * 1024);
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
		release_transfer(req);
		if (req->cancelled_active) {
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
		fpd_kube_multi_cleanup(&h->lanes[i].multi);
	fpd_kube_endpoint_free(&h->ep);
	fpd_kube_creds_free(&h->creds);
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
	if ((unsigned)spec->budget >= FPD_KUBE_BUDGET_COUNT)
		return fpd_error_set(err, FPD_EINVAL, "no such rate-limit budget %d", spec->budget);
	for (const char *c = spec->path; *c; c++)
		if ((unsigned char)*c <= 0x20 || *c == 0x7f)
			return fpd_error_set(err, FPD_EINVAL,
			                     "request path has a space or a control character");
	struct fpd_kube_http_req *req = fpd_calloc(1, sizeof(*req));
	req->h = h;
	req->method = fpd_strdup(spec->method);
	req->path = fpd_strdup(spec->path);
	req->url = fpd_asprintf("%s%s", h->ep.base_url, spec->path);
	req->content_type = spec->content_type ? fpd_strdup(spec->content_type) : NULL;
	req->accept = spec->accept ? fpd_strdup(spec->accept) : NULL;
	if (spec->body) {
		req->body = fpd_malloc(spec->body_len + 1);
		memcpy(req->body, spec->body, spec->body_len);
		req->body[spec->body_len] = '\0';
		req->body_len = spec->body_len;
	}
	req->lane = &h->lanes[spec->stream ? LANE_WATCHES : LANE_CALLS];
	req->unlimited = spec->unlimited;
	req->budget = spec->budget;
	req->no_retry = spec->no_retry;
	req->timeout_ms = spec->timeout_ms > 0 ? spec->timeout_ms : h->opts.timeout_ms;
	req->on_done = spec->on_done;
	req->ud = spec->ud;
	req->first_start_ms = fpd_clock_mono_ms();
	req->t.stream = spec->stream;
	req->t.on_data = spec->on_data;
	req->t.ud = spec->ud;
	req->t.owner = req;
	req->t.bytes_in = &h->stats.bytes_in;
	req->t.retry_after_ms = -1;
	fpd_buf_init(&req->t.body, spec->max_response ? spec->max_response : h->opts.max_response);
	ev_timer_init(&req->retry_timer, retry_cb, 0., 0.);
	ev_timer_init(&req->deadline, deadline_cb, 0., 0.);
	req->next = h->reqs;
	if (h->reqs)
		h->reqs->prev = req;
	h->reqs = req;
	h->stats.active++;
	/* Before the start: libcurl may hand over the first bytes at once, and on_data may ask
	 * for the answer's Content-Type through the handle. */
	if (out)
		*out = req;
	start_or_enqueue(req);
	return FPD_OK;
}

void fpd_kube_http_cancel(struct fpd_kube_http *h, struct fpd_kube_http_req *req)
{
	if (!req || req->cancelled_active || req->state == R_DONE)
		return;
	if (req->state == R_ACTIVE && req->lane->multi.in_curl) {
		/* libcurl is running this lane (we are inside one of its callbacks): it must not
		 * be re-entered; mark the request and let the next kick remove it. */
		req->cancelled_active = true;
		req->t.cancelled = true;
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
	for (int i = 0; i < FPD_KUBE_BUDGET_COUNT; i++) {
		out->waiting[i] = 0;
		for (const struct fpd_kube_http_req *r = h->queues[i].head; r; r = r->qnext)
			out->waiting[i]++;
	}
}

const char *fpd_kube_http_content_type(const struct fpd_kube_http_req *req)
{
	return req->t.content_type;
}
