/*
 * One libcurl multi handle driven by a libev loop, with no blocking call and no thread: curl's
 * evhiperfifo pattern. CURLMOPT_SOCKETFUNCTION keeps one ev_io per socket libcurl wants
 * watched, CURLMOPT_TIMERFUNCTION one ev_timer; both hand their events back to
 * curl_multi_socket_action, and every transfer libcurl reports finished is passed to the owner's
 * `done` callback. The multi handle keeps its connections open between transfers (HTTP/1.1
 * keep-alive, or HTTP/2 streams multiplexed over them) and a pool of finished easy handles, so
 * a new transfer costs neither a handshake nor a handle set up from nothing.
 *
 * libcurl forbids calling the multi API from inside its own callbacks: `in_curl` tells the
 * owner when that is the case (see http.c, which defers such calls).
 */
#ifndef FPD_KUBE_MULTI_H
#define FPD_KUBE_MULTI_H

#include <curl/curl.h>
#include <ev.h>
#include <stdbool.h>

/* A finished transfer: easy is still on the multi handle (borrowed; remove it with
 * fpd_kube_multi_remove), result is libcurl's. */
typedef void (*fpd_kube_multi_done_fn)(void *ud, CURL *easy, CURLcode result);

#define FPD_KUBE_MULTI_POOL 32

struct fpd_kube_multi_sock;

struct fpd_kube_multi {
	struct ev_loop *loop;
	CURLM *multi;
	ev_timer timer; /* libcurl's single timeout */
	struct fpd_kube_multi_sock *socks;
	int priority; /* of the libev watchers: sockets of a higher one are served first */
	int in_curl;  /* > 0 inside curl_multi_socket_action: libcurl must not be re-entered */
	int busy;     /* > 0 while libcurl runs or finished transfers are being reported */
	fpd_kube_multi_done_fn done;
	void *ud;
	CURL *idle[FPD_KUBE_MULTI_POOL]; /* finished easy handles, kept for the next transfer */
	int n_idle;
};

/* Sets m up on loop (borrowed; must outlive m). At most max_connections connections, all kept
 * open; at most max_streams HTTP/2 streams on each. done is called for each finished transfer.
 * Aborts when out of memory. */
void fpd_kube_multi_init(struct fpd_kube_multi *m, struct ev_loop *loop, int priority,
                         long max_connections, long max_streams, fpd_kube_multi_done_fn done,
                         void *ud);

/* Closes every connection and frees the pooled easy handles. Transfers still added must have
 * been removed first. */
void fpd_kube_multi_cleanup(struct fpd_kube_multi *m);

/* A pooled easy handle (new to the caller: add it, or free it with curl_easy_cleanup), or NULL
 * when the pool is empty. It keeps every option of its last transfer. */
CURL *fpd_kube_multi_take_idle(struct fpd_kube_multi *m);

/* Starts the transfer set up on e (borrowed until removed). FPD_ERR if libcurl refuses it.
 * Must not be called while m->in_curl. */
int fpd_kube_multi_add(struct fpd_kube_multi *m, CURL *e);

/* Takes e (borrowed) off the multi handle, finished or not. Harmless if it is not on it. Must
 * not be called while m->in_curl. */
void fpd_kube_multi_remove(struct fpd_kube_multi *m, CURL *e);

/* Gives back an easy handle that is on no multi handle (steals e): into the pool when keep is
 * true and there is room, freed otherwise. */
void fpd_kube_multi_recycle(struct fpd_kube_multi *m, CURL *e, bool keep);

/* Lets libcurl send what was just added now instead of on the next loop iteration. Transfers
 * this finishes are reported from the loop, once the caller is off the stack. */
void fpd_kube_multi_send_now(struct fpd_kube_multi *m);

#endif
