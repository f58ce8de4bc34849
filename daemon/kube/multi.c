/*
 * libcurl's multi-socket interface on libev: see multi.h.
 *
 * Each socket libcurl announces gets an ev_io (re-initialised on every change: the same
 * number may be a new descriptor, ev.pod "disappearing file descriptors"); libcurl's timeout is
 * one ev_timer. After every curl_multi_socket_action the finished transfers are read off
 * curl_multi_info_read and reported, outside libcurl (in_curl is 0 again) so that the owner may
 * remove them, add new ones, or cancel others from its callback.
 */
#include "kube/multi.h"

#include <flyteplugd/error.h>
#include <flyteplugd/mem.h>

#include <stdlib.h>

struct fpd_kube_multi_sock {
	ev_io io;
	struct fpd_kube_multi *m;
	curl_socket_t fd;
	struct fpd_kube_multi_sock *prev, *next;
};

static void report_done(struct fpd_kube_multi *m)
{
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(m->multi, &left)))
		if (msg->msg == CURLMSG_DONE)
			m->done(m->ud, msg->easy_handle, msg->data.result);
}

static void socket_action(struct fpd_kube_multi *m, curl_socket_t fd, int action)
{
	int running;
	m->busy++;
	m->in_curl++;
	curl_multi_socket_action(m->multi, fd, action, &running);
	m->in_curl--;
	report_done(m);
	m->busy--;
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct fpd_kube_multi_sock *s = fpd_container_of(w, struct fpd_kube_multi_sock, io);
	int action = ((revents & EV_READ) ? CURL_CSELECT_IN : 0) |
	             ((revents & EV_WRITE) ? CURL_CSELECT_OUT : 0);
	/* s may be freed inside (CURL_POLL_REMOVE): copy what is needed first. */
	struct fpd_kube_multi *m = s->m;
	socket_action(m, s->fd, action);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fpd_kube_multi *m = fpd_container_of(w, struct fpd_kube_multi, timer);
	socket_action(m, CURL_SOCKET_TIMEOUT, 0);
}

static void sock_free(struct fpd_kube_multi *m, struct fpd_kube_multi_sock *s)
{
	ev_io_stop(m->loop, &s->io);
	if (s->prev)
		s->prev->next = s->next;
	else
		m->socks = s->next;
	if (s->next)
		s->next->prev = s->prev;
	free(s);
}

static int sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct fpd_kube_multi *m = userp;
	struct fpd_kube_multi_sock *s = socketp;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			curl_multi_assign(m->multi, fd, NULL);
			sock_free(m, s);
		}
		return 0;
	}
	int events =
	    ((what & CURL_POLL_IN) ? EV_READ : 0) | ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
	if (!s) {
		s = fpd_calloc(1, sizeof(*s));
		s->m = m;
		s->next = m->socks;
		if (m->socks)
			m->socks->prev = s;
		m->socks = s;
		curl_multi_assign(m->multi, fd, s);
	} else {
		ev_io_stop(m->loop, &s->io);
	}
	s->fd = fd;
	ev_io_init(&s->io, io_cb, fd, events);
	ev_set_priority(&s->io, m->priority);
	ev_io_start(m->loop, &s->io);
	return 0;
}

static int curl_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct fpd_kube_multi *m = userp;
	ev_timer_stop(m->loop, &m->timer);
	if (timeout_ms >= 0) {
		/* 0 means "soon, but not from inside this callback": a 0 s timer fires on the next
		 * loop iteration. Divide by 1000.0, not 1000 (evhiperfifo's integer-division bug). */
		ev_timer_set(&m->timer, (double)timeout_ms / 1000.0, 0.);
		ev_timer_start(m->loop, &m->timer);
	}
	return 0;
}

void fpd_kube_multi_init(struct fpd_kube_multi *m, struct ev_loop *loop, int priority,
                         long max_connections, long max_streams, fpd_kube_multi_done_fn done,
                         void *ud)
{
	*m = (struct fpd_kube_multi){.loop = loop, .priority = priority, .done = done, .ud = ud};
	m->multi = curl_multi_init();
	if (!m->multi)
		fpd_die("out of memory creating a libcurl multi handle");
	curl_multi_setopt(m->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(m->multi, CURLMOPT_SOCKETDATA, m);
	curl_multi_setopt(m->multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb);
	curl_multi_setopt(m->multi, CURLMOPT_TIMERDATA, m);
	curl_multi_setopt(m->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	/* A burst of transfers shares a few connections instead of opening one each (hundreds
	 * of TLS handshakes would starve the loop); beyond that libcurl queues them. */
	curl_multi_setopt(m->multi, CURLMOPT_MAX_HOST_CONNECTIONS, max_connections);
	/* Keep every connection that may be opened: a closed one costs a TLS handshake. */
	curl_multi_setopt(m->multi, CURLMOPT_MAXCONNECTS, max_connections);
	curl_multi_setopt(m->multi, CURLMOPT_MAX_CONCURRENT_STREAMS, max_streams);
	ev_timer_init(&m->timer, timer_cb, 0., 0.);
	ev_set_priority(&m->timer, priority);
}

void fpd_kube_multi_cleanup(struct fpd_kube_multi *m)
{
	ev_timer_stop(m->loop, &m->timer);
	while (m->n_idle)
		curl_easy_cleanup(m->idle[--m->n_idle]);
	curl_multi_cleanup(m->multi);
	while (m->socks)
		sock_free(m, m->socks);
}

CURL *fpd_kube_multi_take_idle(struct fpd_kube_multi *m)
{
	return m->n_idle ? m->idle[--m->n_idle] : NULL;
}

int fpd_kube_multi_add(struct fpd_kube_multi *m, CURL *e)
{
	FPD_ASSERT(!m->in_curl);
	return curl_multi_add_handle(m->multi, e) == CURLM_OK ? FPD_OK : FPD_ERR;
}

void fpd_kube_multi_remove(struct fpd_kube_multi *m, CURL *e)
{
	FPD_ASSERT(!m->in_curl);
	curl_multi_remove_handle(m->multi, e);
}

void fpd_kube_multi_recycle(struct fpd_kube_multi *m, CURL *e, bool keep)
{
	if (keep && m->n_idle < FPD_KUBE_MULTI_POOL)
		m->idle[m->n_idle++] = e;
	else
		curl_easy_cleanup(e);
}

void fpd_kube_multi_send_now(struct fpd_kube_multi *m)
{
	/* curl_multi_add_handle only armed libcurl's timer; running it now puts the request on
	 * the wire at once. A completion this causes waits in libcurl for report_done, run from
	 * the fed timer event. */
	int running;
	m->busy++;
	m->in_curl++;
	curl_multi_socket_action(m->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	m->in_curl--;
	m->busy--;
	ev_feed_event(m->loop, &m->timer, EV_TIMER);
}
