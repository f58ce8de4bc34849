/*
 * The gRPC server: method table, listening socket, connections (plaintext or TLS) and graceful
 * shutdown. Design note:
 *
 * - One socket = one struct fpd_grpc_socket wrapping a struct fpd_grpc_conn (conn.c), which
 *   knows nothing of file descriptors. Reads feed the session; output the session serializes is
 *   written until the socket would block, then an EV_WRITE watcher takes over. While more than
 *   FPD_GRPC_OUT_HIGH_WATER bytes wait for a slow reader, we stop reading from it, so a client
 *   cannot make us queue without bound.
 * - Calls completed outside a read (timers, other connections' events) "kick" their socket,
 *   which only arms EV_WRITE: nghttp2 must never be re-entered from its own callbacks.
 * - TLS is OpenSSL on the same non-blocking socket; the handshake runs on the loop, and ALPN
 *   must offer "h2" when the client sends ALPN at all. With tls.client_ca_file the client must
 *   present a certificate chaining to it; refused handshakes are logged (at most one line a
 *   second, the rest counted).
 * - Each socket has one timer, checked lazily so activity costs no timer update. A connection
 *   lives by stages, each with its deadline counted from accept: the TLS handshake and the
 *   HTTP/2 client preface within handshake_timeout, one request ended within
 *   first_request_timeout, then the idle timeout (no streams and no bytes either way for
 *   idle_timeout_ms). A socket that never speaks therefore holds its slot for seconds, not for
 *   the idle timeout.
 * - max_connections and max_connections_per_peer are enforced at accept: extra connections
 *   are closed at once. Peers are counted by a scan of the open sockets: a few thousand at
 *   most, and accepting is rare next to reading.
 * - After connections close, a one-second timer returns freed heap pages to the kernel
 *   (fpd_heap_trim): the allocator keeps them otherwise, and a burst of clients would leave
 *   the daemon holding its peak memory for good.
 */
#define _GNU_SOURCE /* accept4: non-blocking and close-on-exec in one call */
#include "grpc/internal.h"

#include "core/heap.h"
#include "core/log.h"
#include <flyteplugd/mem.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_CHUNK (16 * 1024)
#define READS_PER_EVENT 16
#define ACCEPTS_PER_EVENT 64
#define ACCEPT_BACKOFF 0.1
#define TRIM_DELAY 1.

struct fpd_grpc_socket {
	struct fpd_grpc_server *srv;
	struct fpd_grpc_socket *prev, *next;
	int fd;
	int events; /* what io watches now */
	ev_io io;
	ev_timer timer; /* handshake, first-request and idle deadlines */
	ev_tstamp accepted;
	uint8_t peer[16]; /* IPv6, or IPv4-mapped IPv6: what max_connections_per_peer counts */
	SSL *ssl;
	bool handshaking;
	bool read_wants_write; /* TLS: SSL_read asked for writability */
	bool fatal;            /* flush what is queued, then close */
	struct fpd_grpc_conn *conn;
	ev_tstamp last_read;
	ev_tstamp last_write;
};

static void sock_close(struct fpd_grpc_socket *s, enum fpd_grpc_code code);
static bool sock_flush(struct fpd_grpc_socket *s);

/* --- method table ---------------------------------------------------------------------- */

static bool valid_path(const char *path)
{
	size_t len = strlen(path);
	if (len < 4 || len >= FPD_GRPC_PATH_MAX || path[0] != '/')
		return false;
	const char *slash = strchr(path + 1, '/');
	return slash && slash > path + 1 && slash[1] && !strchr(slash + 1, '/');
}

int fpd_grpc_server_add_method(struct fpd_grpc_server *srv, const char *path,
                               enum fpd_grpc_kind kind, fpd_grpc_handler handler, void *ud,
                               struct fpd_error *err)
{
	if (!path || !valid_path(path) || !handler)
		return fpd_error_set(err, FPD_EINVAL, "grpc: bad method path \"%s\"",
		                     path ? path : "(null)");
	if (fpd_grpc_server_find(srv, path))
		return fpd_error_set(err, FPD_EEXIST, "grpc: method %s registered twice", path);
	srv->methods = fpd_realloc(srv->methods, (srv->method_count + 1) * sizeof(*srv->methods));
	srv->methods[srv->method_count++] = (struct fpd_grpc_method){
	    .path = fpd_strdup(path), .kind = kind, .handler = handler, .ud = ud};
	return FPD_OK;
}

const struct fpd_grpc_method *fpd_grpc_server_find(const struct fpd_grpc_server *srv,
                                                   const char *path)
{
	/* Tens of methods: a linear scan beats hashing the path. */
	for (size_t i = 0; i < srv->method_count; i++)
		if (strcmp(srv->methods[i].path, path) == 0)
			return &srv->methods[i];
	return NULL;
}

int fpd_grpc_server_has_service(const struct fpd_grpc_server *srv, const char *service)
{
	size_t n = strlen(service);
	if (n == 0)
		return 0;
	for (size_t i = 0; i < srv->method_count; i++) {
		const char *p = srv->methods[i].path;
		if (strncmp(p + 1, service, n) == 0 && p[n + 1] == '/')
			return 1;
	}
	return 0;
}

/* --- TLS ------------------------------------------------------------------------------- */

static int tls_error(struct fpd_error *err, const char *what, const char *file)
{
	char text[256];
	unsigned long e = ERR_get_error();
	ERR_error_string_n(e, text, sizeof(text));
	ERR_clear_error();
	return fpd_error_set(err, FPD_EINVAL, "grpc.tls: %s %s: %s", what, file, text);
}

static int select_h2(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                     const unsigned char *in, unsigned int inlen, void *arg)
{
	for (unsigned int i = 0; i < inlen;) {
		unsigned int len = in[i];
		if (i + 1 + len > inlen)
			break;
		if (len == 2 && memcmp(in + i + 1, "h2", 2) == 0) {
			*out = in + i + 1;
			*outlen = 2;
			return SSL_TLSEXT_ERR_OK;
		}
		i += 1 + len;
	}
	return SSL_TLSEXT_ERR_ALERT_FATAL; /* gRPC is HTTP/2 only */
}

/* Clients must present a certificate chaining to the CA bundle in file. */
static int tls_client_ca(SSL_CTX *ctx, const char *file, struct fpd_error *err)
{
	static const unsigned char sid_ctx[] = "flyteplugd-grpc";
	if (SSL_CTX_load_verify_locations(ctx, file, NULL) != 1)
		return tls_error(err, "cannot load client CA", file);
	STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(file);
	if (!names)
		return tls_error(err, "no CA certificate in client_ca_file", file);
	SSL_CTX_set_client_CA_list(ctx, names); /* steals names */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	/* Resumed sessions keep the verified client; OpenSSL refuses them without a context. */
	SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
	return FPD_OK;
}

static int tls_setup(struct fpd_grpc_server *srv, struct fpd_error *err)
{
	const struct fpd_config_tls *tls = &srv->cfg->tls;
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx)
		return tls_error(err, "cannot create a context for", tls->cert_file);
	srv->ssl_ctx = ctx;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
	                             SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* Moving buffer: our output buffer may be compacted between a WANT_WRITE and the
	 * retry. Release buffers: idle connections should not keep 2 x 16 KiB each. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
	                          SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_use_certificate_chain_file(ctx, tls->cert_file) != 1)
		return tls_error(err, "cannot load certificate", tls->cert_file);
	if (SSL_CTX_use_PrivateKey_file(ctx, tls->key_file, SSL_FILETYPE_PEM) != 1)
		return tls_error(err, "cannot load key", tls->key_file);
	if (SSL_CTX_check_private_key(ctx) != 1)
		return tls_error(err, "key does not match certificate", tls->cert_file);
	SSL_CTX_set_alpn_select_cb(ctx, select_h2, NULL);
	if (tls->client_ca_file && tls->client_ca_file[0])
		return tls_client_ca(ctx, tls->client_ca_file, err);
	return FPD_OK;
}

/* --- server ---------------------------------------------------------------------------- */

static void on_accept(struct ev_loop *loop, ev_io *w, int revents);
static void on_accept_backoff(struct ev_loop *loop, ev_timer *w, int revents);
static void on_drain_timeout(struct ev_loop *loop, ev_timer *w, int revents);
static void on_done(struct ev_loop *loop, ev_timer *w, int revents);
static void on_trim(struct ev_loop *loop, ev_timer *w, int revents);

struct fpd_grpc_server *fpd_grpc_server_new(struct ev_loop *loop, const struct fpd_config_grpc *cfg,
                                            struct fpd_error *err)
{
	struct fpd_grpc_server *srv = fpd_calloc(1, sizeof(*srv));
	srv->loop = loop;
	srv->cfg = cfg;
	srv->listen_fd = -1;
	srv->callbacks = fpd_grpc_conn_callbacks();
	srv->options = fpd_grpc_conn_options();
	srv->h2_mem = fpd_grpc_conn_mem(srv);
	ev_timer_init(&srv->accept_backoff, on_accept_backoff, ACCEPT_BACKOFF, 0.);
	ev_timer_init(&srv->drain_timer, on_drain_timeout, 0., 0.);
	ev_timer_init(&srv->done_timer, on_done, 0., 0.);
	ev_timer_init(&srv->trim_timer, on_trim, TRIM_DELAY, 0.);
	if (cfg->tls.cert_file && cfg->tls.cert_file[0] && tls_setup(srv, err)) {
		fpd_grpc_server_free(srv);
		return NULL;
	}
	return srv;
}

/* max_connections sockets plus the daemon's own files must fit under RLIMIT_NOFILE. */
static void raise_nofile(int64_t max_connections)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)max_connections + 128;
	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= need)
		return;
	rlim_t want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ? need : rl.rlim_max;
	rl.rlim_cur = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) || want < need)
		fpd_log(FPD_LOG_WARN, "grpc",
		        "open-file limit %llu is below max_connections %lld; connections past it "
		        "will fail to be accepted",
		        (unsigned long long)want, (long long)max_connections);
}

static int listen_on(struct fpd_grpc_server *srv, struct fpd_error *err)
{
	char host[256], port[16];
	int portnum;
	if (fpd_config_split_address(srv->cfg->listen, host, sizeof(host), &portnum))
		return fpd_error_set(err, FPD_EINVAL, "grpc.listen: bad address \"%s\"",
		                     srv->cfg->listen);
	snprintf(port, sizeof(port), "%d", portnum);
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
	                         .ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res;
	int gai = getaddrinfo(host, port, &hints, &res);
	if (gai)
		return fpd_error_set(err, FPD_EIO, "grpc.listen %s: %s", srv->cfg->listen,
		                     gai_strerror(gai));
	int fd = -1, last_errno = 0;
	for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			last_errno = errno;
			continue;
		}
		int one = 1, zero = 0;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ai->ai_family == AF_INET6) /* "[::]" serves IPv4 too */
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, SOMAXCONN)) {
			last_errno = errno;
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0)
		return fpd_error_set(err, FPD_EIO, "grpc.listen %s: %s", srv->cfg->listen,
		                     strerror(last_errno));
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		srv->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
		                                           : ((struct sockaddr_in *)&ss)->sin_port);
	srv->listen_fd = fd;
	return FPD_OK;
}

int fpd_grpc_server_start(struct fpd_grpc_server *srv, struct fpd_error *err)
{
	if (srv->listen_fd >= 0)
		return fpd_error_set(err, FPD_EINVAL, "grpc: server already started");
	raise_nofile(srv->cfg->max_connections);
	int rc = listen_on(srv, err);
	if (rc)
		return rc;
	ev_io_init(&srv->accept_watcher, on_accept, srv->listen_fd, EV_READ);
	ev_io_start(srv->loop, &srv->accept_watcher);
	char host[256];
	int ignored;
	fpd_config_split_address(srv->cfg->listen, host, sizeof(host), &ignored);
	fpd_log(FPD_LOG_INFO, "grpc", "listening on %s%s%s:%d (%s), %zu methods",
	        strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "", srv->port,
	        srv->ssl_ctx ? "TLS" : "h2c", srv->method_count);
	return FPD_OK;
}

int fpd_grpc_server_port(const struct fpd_grpc_server *srv)
{
	return srv->port;
}

void fpd_grpc_server_stats(const struct fpd_grpc_server *srv, struct fpd_grpc_stats *out)
{
	*out = srv->stats;
}

static void stop_listening(struct fpd_grpc_server *srv)
{
	ev_io_stop(srv->loop, &srv->accept_watcher);
	ev_timer_stop(srv->loop, &srv->accept_backoff);
	if (srv->listen_fd >= 0)
		close(srv->listen_fd);
	srv->listen_fd = -1;
}

static void close_all(struct fpd_grpc_server *srv, enum fpd_grpc_code code)
{
	while (srv->sockets)
		sock_close(srv->sockets, code);
}

void fpd_grpc_server_free(struct fpd_grpc_server *srv)
{
	if (!srv)
		return;
	stop_listening(srv);
	srv->drain_done = NULL;
	close_all(srv, FPD_GRPC_UNAVAILABLE);
	ev_timer_stop(srv->loop, &srv->drain_timer);
	ev_timer_stop(srv->loop, &srv->done_timer);
	ev_timer_stop(srv->loop, &srv->trim_timer);
	for (size_t i = 0; i < srv->method_count; i++)
		free(srv->methods[i].path);
	free(srv->methods);
	nghttp2_session_callbacks_del(srv->callbacks);
	nghttp2_option_del(srv->options);
	if (srv->ssl_ctx)
		SSL_CTX_free(srv->ssl_ctx);
	free(srv);
}

static void on_done(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fpd_grpc_server *srv = fpd_container_of(w, struct fpd_grpc_server, done_timer);
	void (*done)(void *) = srv->drain_done;
	srv->drain_done = NULL;
	fpd_log(FPD_LOG_INFO, "grpc", "drained");
	if (done)
		done(srv->drain_done_ud);
}

static void on_trim(struct ev_loop *loop, ev_timer *w, int revents)
{
	fpd_heap_trim();
}

/* Called whenever a socket closes while draining. */
static void check_drained(struct fpd_grpc_server *srv)
{
	if (!srv->draining || srv->sockets)
		return;
	ev_timer_stop(srv->loop, &srv->drain_timer);
	ev_timer_start(srv->loop, &srv->done_timer);
}

static void on_drain_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fpd_grpc_server *srv = fpd_container_of(w, struct fpd_grpc_server, drain_timer);
	fpd_log(FPD_LOG_WARN, "grpc",
	        "drain timeout: cancelling %llu calls in flight on %llu connections",
	        (unsigned long long)srv->stats.calls_active,
	        (unsigned long long)srv->stats.connections);
	close_all(srv, FPD_GRPC_UNAVAILABLE);
}

void fpd_grpc_server_shutdown(struct fpd_grpc_server *srv, void (*done)(void *ud), void *ud)
{
	if (srv->draining)
		return;
	srv->draining = true;
	srv->drain_done = done;
	srv->drain_done_ud = ud;
	stop_listening(srv);
	fpd_log(FPD_LOG_INFO, "grpc", "draining %llu connections, %llu calls in flight",
	        (unsigned long long)srv->stats.connections,
	        (unsigned long long)srv->stats.calls_active);
	for (struct fpd_grpc_socket *s = srv->sockets, *next; s; s = next) {
		next = s->next;
		if (s->handshaking) {
			sock_close(s, FPD_GRPC_UNAVAILABLE);
			continue;
		}
		fpd_grpc_conn_goaway(s->conn);
		sock_flush(s); /* may close s */
	}
	ev_timer_set(&srv->drain_timer, (double)srv->cfg->drain_timeout_ms / 1000., 0.);
	ev_timer_start(srv->loop, &srv->drain_timer);
	check_drained(srv);
}

/* --- sockets --------------------------------------------------------------------------- */

static void sock_set_events(struct fpd_grpc_socket *s, int events)
{
	if (events == s->events)
		return;
	struct ev_loop *loop = s->srv->loop;
	ev_io_stop(loop, &s->io);
	s->events = events;
	if (events) {
		ev_io_set(&s->io, s->fd, events);
		ev_io_start(loop, &s->io);
	}
}

/* The session has output. Inside the socket's own callback the flush that ends it writes it;
 * otherwise (an asynchronous reply, from a Kubernetes answer) a fed write event writes it in
 * this loop iteration, before watchers of lower priority (watch events) run, instead of after
 * the next poll. */
static void sock_kick(void *ud)
{
	struct fpd_grpc_socket *s = ud;
	sock_set_events(s, s->events | EV_WRITE);
	if (s->srv->in_io != s && !s->handshaking)
		ev_feed_event(s->srv->loop, &s->io, EV_WRITE);
}

static void sock_close(struct fpd_grpc_socket *s, enum fpd_grpc_code code)
{
	struct fpd_grpc_server *srv = s->srv;
	ev_io_stop(srv->loop, &s->io);
	ev_timer_stop(srv->loop, &s->timer);
	if (s->prev)
		s->prev->next = s->next;
	else
		srv->sockets = s->next;
	if (s->next)
		s->next->prev = s->prev;
	srv->stats.connections--;
	fpd_grpc_conn_free(s->conn, code);
	if (s->ssl) {
		if (!s->handshaking && !s->fatal)
			SSL_shutdown(s->ssl);
		SSL_free(s->ssl);
	}
	close(s->fd);
	free(s);
	if (!ev_is_active(&srv->trim_timer))
		ev_timer_start(srv->loop, &srv->trim_timer);
	check_drained(srv);
}

/* Writes from the session's output; bytes written, 0 when the socket is full, -1 on error. */
static ssize_t sock_write(struct fpd_grpc_socket *s, const uint8_t *data, size_t len)
{
	if (!s->ssl) {
		ssize_t n = send(s->fd, data, len, MSG_NOSIGNAL);
		if (n >= 0)
			return n;
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
	}
	/* Bounded by int for SSL_write; the remainder goes on the next round. */
	int chunk = len > (1 << 20) ? 1 << 20 : (int)len;
	int n = SSL_write(s->ssl, data, chunk);
	if (n > 0)
		return n;
	int e = SSL_get_error(s->ssl, n);
	ERR_clear_error();
	return e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ ? 0 : -1;
}

/* Serializes and writes until done or the socket is full; then sets the watched events and
 * closes the socket when the session is over. Returns false when s was closed (and freed). */
static bool sock_flush(struct fpd_grpc_socket *s)
{
	bool blocked = false;
	for (;;) {
		if (fpd_grpc_conn_flush(s->conn))
			s->fatal = true;
		size_t len;
		const uint8_t *out = fpd_grpc_conn_output(s->conn, &len);
		if (len == 0)
			break;
		ssize_t n = sock_write(s, out, len);
		if (n < 0) {
			sock_close(s, FPD_GRPC_CANCELLED);
			return false;
		}
		if (n == 0) {
			blocked = true;
			break;
		}
		s->last_write = ev_now(s->srv->loop);
		fpd_grpc_conn_consume(s->conn, (size_t)n);
	}
	if (fpd_grpc_conn_done(s->conn)) {
		sock_close(s, FPD_GRPC_CANCELLED);
		return false;
	}
	int events = 0;
	if (!s->fatal && !fpd_grpc_conn_congested(s->conn))
		events |= EV_READ;
	if (blocked || s->read_wants_write)
		events |= EV_WRITE;
	if (!events) { /* fatal with nothing left to write */
		sock_close(s, FPD_GRPC_CANCELLED);
		return false;
	}
	sock_set_events(s, events);
	return true;
}

/* Reads what is available into the session. Returns false when the socket was closed. */
static bool sock_read(struct fpd_grpc_socket *s)
{
	uint8_t buf[READ_CHUNK];
	s->read_wants_write = false;
	for (int i = 0; i < READS_PER_EVENT && !fpd_grpc_conn_congested(s->conn); i++) {
		ssize_t n;
		if (s->ssl) {
			int r = SSL_read(s->ssl, buf, sizeof(buf));
			if (r <= 0) {
				int e = SSL_get_error(s->ssl, r);
				ERR_clear_error();
				if (e == SSL_ERROR_WANT_READ)
					return true;
				if (e == SSL_ERROR_WANT_WRITE) {
					s->read_wants_write = true;
					return true;
				}
				sock_close(s, FPD_GRPC_CANCELLED);
				return false;
			}
			n = r;
		} else {
			n = recv(s->fd, buf, sizeof(buf), 0);
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
				return true;
			if (n <= 0) {
				sock_close(s, FPD_GRPC_CANCELLED);
				return false;
			}
		}
		s->last_read = ev_now(s->srv->loop);
		if (fpd_grpc_conn_recv(s->conn, buf, (size_t)n)) {
			s->fatal = true;
			return true;
		}
	}
	/* Stopped early with decrypted bytes buffered inside OpenSSL: libev will not report
	 * them, so come back on the next iteration. */
	if (s->ssl && SSL_pending(s->ssl) > 0 && !fpd_grpc_conn_congested(s->conn))
		ev_feed_event(s->srv->loop, &s->io, EV_READ);
	return true;
}

static void start_session(struct fpd_grpc_socket *s)
{
	s->handshaking = false;
	s->conn = fpd_grpc_conn_new(s->srv, sock_kick, s);
	s->last_read = s->last_write = ev_now(s->srv->loop);
	struct ev_loop *loop = s->srv->loop;
	/* The timer set at accept still runs: the client preface is due by the handshake's
	 * deadline. Server preface out; with TLS the client's first bytes may already sit
	 * decrypted in OpenSSL, where libev cannot see them. */
	if (sock_flush(s) && s->ssl)
		ev_feed_event(loop, &s->io, EV_READ);
}

static const char *peer_text(const struct fpd_grpc_socket *s, char *buf, size_t size)
{
	static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (memcmp(s->peer, v4mapped, sizeof(v4mapped)) == 0)
		return inet_ntop(AF_INET, s->peer + 12, buf, (socklen_t)size);
	return inet_ntop(AF_INET6, s->peer, buf, (socklen_t)size);
}

/* A failed handshake: a probe, a client without ALPN h2, or (with client_ca_file) a client
 * without an acceptable certificate. With client certificates required, refusals are logged
 * as warnings, at most once a second so a flood cannot fill the log; otherwise (TCP probes,
 * scanners) at debug level. */
static void handshake_refused(struct fpd_grpc_socket *s)
{
	struct fpd_grpc_server *srv = s->srv;
	const char *ca = srv->cfg->tls.client_ca_file;
	srv->stats.handshakes_refused++;
	if (!ca || !ca[0]) {
		if (fpd_log_enabled(FPD_LOG_DEBUG)) {
			char text[256];
			ERR_error_string_n(ERR_peek_error(), text, sizeof(text));
			fpd_log(FPD_LOG_DEBUG, "grpc", "TLS handshake failed: %s", text);
		}
		return;
	}
	ev_tstamp now = ev_now(srv->loop);
	if (now - srv->refusal_logged < 1.) {
		srv->refusals_unlogged++;
		return;
	}
	char text[256], addr[INET6_ADDRSTRLEN];
	ERR_error_string_n(ERR_peek_error(), text, sizeof(text));
	long verify = SSL_get_verify_result(s->ssl);
	fpd_log(FPD_LOG_WARN, "grpc", "TLS handshake from %s refused: %s%s%s (%llu more since)",
	        peer_text(s, addr, sizeof(addr)), text, verify != X509_V_OK ? ": " : "",
	        verify != X509_V_OK ? X509_verify_cert_error_string(verify) : "",
	        (unsigned long long)srv->refusals_unlogged);
	srv->refusal_logged = now;
	srv->refusals_unlogged = 0;
}

static void sock_handshake(struct fpd_grpc_socket *s)
{
	int r = SSL_do_handshake(s->ssl);
	if (r == 1) {
		start_session(s);
		return;
	}
	int e = SSL_get_error(s->ssl, r);
	if (e == SSL_ERROR_WANT_READ) {
		sock_set_events(s, EV_READ);
	} else if (e == SSL_ERROR_WANT_WRITE) {
		sock_set_events(s, EV_WRITE);
	} else {
		handshake_refused(s);
		ERR_clear_error();
		s->fatal = true;
		sock_close(s, FPD_GRPC_CANCELLED);
	}
}

static void on_sock_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct fpd_grpc_socket *s = fpd_container_of(w, struct fpd_grpc_socket, io);
	struct fpd_grpc_server *srv = s->srv;
	if (s->handshaking) {
		sock_handshake(s);
		return;
	}
	srv->in_io = s;
	if ((revents & EV_READ) || ((revents & EV_WRITE) && s->read_wants_write)) {
		if (!sock_read(s)) {
			srv->in_io = NULL;
			return;
		}
	}
	sock_flush(s);
	srv->in_io = NULL;
}

/* Closes a connection that missed its handshake or first-request deadline. */
static void sock_expire(struct fpd_grpc_socket *s, const char *what)
{
	char addr[INET6_ADDRSTRLEN];
	s->srv->stats.connections_timed_out++;
	fpd_log(FPD_LOG_DEBUG, "grpc", "closing connection from %s: %s",
	        peer_text(s, addr, sizeof(addr)), what);
	if (s->handshaking || !fpd_grpc_conn_preface_received(s->conn)) {
		sock_close(s, FPD_GRPC_CANCELLED); /* no HTTP/2 yet: nothing to say goodbye with */
		return;
	}
	fpd_grpc_conn_goaway(s->conn);
	s->fatal = true; /* write the GOAWAY if the socket takes it, then close */
	sock_flush(s);
}

/* Since when the connection has been idle (nothing in flight, nothing heard) or stuck (output
 * waiting and the peer has taken none of it); now when it is neither. */
static ev_tstamp idle_since(const struct fpd_grpc_socket *s, ev_tstamp now, bool *stuck)
{
	size_t pending;
	fpd_grpc_conn_output(s->conn, &pending);
	*stuck = pending > 0;
	if (fpd_grpc_conn_streams(s->conn) == 0)
		return s->last_read > s->last_write ? s->last_read : s->last_write;
	return pending ? s->last_write : now;
}

static void on_sock_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fpd_grpc_socket *s = fpd_container_of(w, struct fpd_grpc_socket, timer);
	const struct fpd_config_grpc *cfg = s->srv->cfg;
	ev_tstamp now = ev_now(loop), next = now + 24. * 3600.;
	bool opening = s->handshaking || !fpd_grpc_conn_preface_received(s->conn);
	if (opening) {
		ev_tstamp due = s->accepted + (double)cfg->handshake_timeout_ms / 1000.;
		if (now >= due) {
			sock_expire(s, s->handshaking
			                   ? "TLS handshake not done within handshake_timeout"
			                   : "no HTTP/2 preface within handshake_timeout");
			return;
		}
		next = due;
	}
	if (!s->conn || !fpd_grpc_conn_served(s->conn)) {
		ev_tstamp due = s->accepted + (double)cfg->first_request_timeout_ms / 1000.;
		if (now >= due) {
			sock_expire(s, "no request within first_request_timeout");
			return;
		}
		next = due < next ? due : next;
	}
	if (s->conn) { /* a whole idle period idle or stuck: closed, whatever the stage */
		bool stuck;
		ev_tstamp due = idle_since(s, now, &stuck) + (double)cfg->idle_timeout_ms / 1000.;
		if (now >= due) {
			fpd_log(FPD_LOG_DEBUG, "grpc", "closing %s connection",
			        stuck ? "stalled" : "idle");
			if (opening) {
				sock_close(s, FPD_GRPC_CANCELLED);
				return;
			}
			fpd_grpc_conn_goaway(s->conn);
			s->fatal = true; /* write the GOAWAY if the socket takes it, then close */
			sock_flush(s);
			return;
		}
		next = due < next ? due : next;
	}
	ev_timer_set(w, next - now, 0.);
	ev_timer_start(loop, w);
}

static void sock_new(struct fpd_grpc_server *srv, int fd, const uint8_t peer[16])
{
	struct fpd_grpc_socket *s = fpd_calloc(1, sizeof(*s));
	s->srv = srv;
	s->fd = fd;
	memcpy(s->peer, peer, sizeof(s->peer));
	s->accepted = ev_now(srv->loop);
	ev_io_init(&s->io, on_sock_io, fd, 0);
	/* Above watches, below the Kubernetes calls (kube/http.c): requests and replies go
	 * before watch events waiting in the same loop iteration. */
	ev_set_priority(&s->io, 1);
	/* The earliest deadline; on_sock_timer works out the next one each time it runs. */
	int64_t first_ms = srv->cfg->handshake_timeout_ms;
	if (srv->cfg->first_request_timeout_ms < first_ms)
		first_ms = srv->cfg->first_request_timeout_ms;
	if (srv->cfg->idle_timeout_ms < first_ms)
		first_ms = srv->cfg->idle_timeout_ms;
	ev_timer_init(&s->timer, on_sock_timer, (double)first_ms / 1000., 0.);
	ev_timer_start(srv->loop, &s->timer);
	s->next = srv->sockets;
	if (srv->sockets)
		srv->sockets->prev = s;
	srv->sockets = s;
	srv->stats.connections++;
	srv->stats.connections_total++;
	if (!srv->ssl_ctx) {
		start_session(s);
		return;
	}
	s->ssl = SSL_new(srv->ssl_ctx);
	if (!s->ssl || SSL_set_fd(s->ssl, fd) != 1) {
		ERR_clear_error();
		sock_close(s, FPD_GRPC_CANCELLED);
		return;
	}
	SSL_set_accept_state(s->ssl);
	s->handshaking = true;
	sock_handshake(s);
}

static void on_accept_backoff(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fpd_grpc_server *srv = fpd_container_of(w, struct fpd_grpc_server, accept_backoff);
	if (srv->listen_fd >= 0)
		ev_io_start(loop, &srv->accept_watcher);
}

/* The peer's address as 16 bytes, IPv4 as IPv4-mapped IPv6, so both families compare alike. */
static void peer_key(const struct sockaddr_storage *ss, uint8_t out[16])
{
	memset(out, 0, 16);
	if (ss->ss_family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
	} else if (ss->ss_family == AF_INET) {
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	}
}

static int64_t peer_connections(const struct fpd_grpc_server *srv, const uint8_t peer[16])
{
	int64_t n = 0;
	for (const struct fpd_grpc_socket *s = srv->sockets; s; s = s->next)
		n += memcmp(s->peer, peer, 16) == 0;
	return n;
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct fpd_grpc_server *srv = fpd_container_of(w, struct fpd_grpc_server, accept_watcher);
	for (int i = 0; i < ACCEPTS_PER_EVENT; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(srv->listen_fd, (struct sockaddr *)&ss, &sl,
		                 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/* Out of descriptors: retrying at once would spin. */
				fpd_log(FPD_LOG_WARN, "grpc", "accept: %s; pausing accepts",
				        strerror(errno));
				ev_io_stop(loop, w);
				ev_timer_start(loop, &srv->accept_backoff);
			} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
				fpd_log(FPD_LOG_WARN, "grpc", "accept: %s", strerror(errno));
			}
			return;
		}
		if ((int64_t)srv->stats.connections >= srv->cfg->max_connections) {
			srv->stats.connections_refused++;
			fpd_log(FPD_LOG_DEBUG, "grpc", "max_connections (%lld) reached: refusing",
			        (long long)srv->cfg->max_connections);
			close(fd);
			continue;
		}
		uint8_t peer[16];
		peer_key(&ss, peer);
		if (peer_connections(srv, peer) >= srv->cfg->max_connections_per_peer) {
			srv->stats.connections_refused_peer++;
			fpd_log(FPD_LOG_DEBUG, "grpc",
			        "max_connections_per_peer (%lld) reached: refusing",
			        (long long)srv->cfg->max_connections_per_peer);
			close(fd);
			continue;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		sock_new(srv, fd, peer);
	}
}
