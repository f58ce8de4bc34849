/*
 * HTTP/1.1 exchanges over kept-alive connections (see h1.h).
 */
#include "kube/h1.h"

#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "kube/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- response parser ---------------------------------------------------------------- */

#define MAX_LINE (16u << 10) /* one header or chunk-size line */
#define MAX_HEADERS 256      /* header lines of one response */

enum {
	P_STATUS,      /* the status line */
	P_HEADERS,     /* header lines up to the blank one */
	P_BODY_LENGTH, /* `remaining` bytes of a Content-Length body */
	P_CHUNK_SIZE,  /* a chunk-size line */
	P_CHUNK_DATA,  /* `remaining` bytes of a chunk */
	P_CHUNK_END,   /* the CRLF after a chunk's data */
	P_TRAILERS,    /* trailer lines up to the blank one */
	P_BODY_CLOSE,  /* a body that ends with the connection */
	P_DONE,
};

void fpd_h1_parser_init(struct fpd_h1_parser *p, struct fpd_buf *body)
{
	memset(p, 0, sizeof(*p));
	p->body = body;
	p->retry_after_ms = -1;
	p->length = -1;
	p->keep_alive = true;
	p->state = P_STATUS;
	fpd_buf_init(&p->line, MAX_LINE);
}

void fpd_h1_parser_free(struct fpd_h1_parser *p)
{
	fpd_buf_free(&p->line);
}

static enum fpd_h1_parse bad(struct fpd_h1_parser *p, const char *why)
{
	snprintf(p->why, sizeof(p->why), "%s", why);
	return FPD_H1_BAD;
}

/* A token list header value (Connection) contains tok, case-insensitively. */
static bool has_token(const char *v, size_t n, const char *tok)
{
	size_t t = strlen(tok);
	for (size_t i = 0; i < n;) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		size_t s = i;
		while (i < n && v[i] != ',')
			i++;
		size_t e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s == t && strncasecmp(v + s, tok, t) == 0)
			return true;
	}
	return false;
}

static enum fpd_h1_parse status_line(struct fpd_h1_parser *p, const char *l, size_t n)
{
	/* HTTP/1.x SP 3DIGIT [SP reason] */
	if (n < 12 || memcmp(l, "HTTP/1.", 7) != 0 || (l[7] != '0' && l[7] != '1') || l[8] != ' ')
		return bad(p, "not an HTTP/1.x status line");
	for (int i = 9; i < 12; i++)
		if (l[i] < '0' || l[i] > '9')
			return bad(p, "bad status code");
	if (n > 12 && l[12] != ' ')
		return bad(p, "bad status code");
	p->status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
	if (p->status < 100)
		return bad(p, "bad status code");
	p->http10 = l[7] == '0';
	p->keep_alive = !p->http10;
	p->state = P_HEADERS;
	return FPD_H1_MORE;
}

static enum fpd_h1_parse header_line(struct fpd_h1_parser *p, const char *l, size_t n)
{
	const char *colon = memchr(l, ':', n);
	if (!colon || colon == l)
		return bad(p, "bad header line");
	size_t nl = (size_t)(colon - l);
	for (size_t i = 0; i < nl; i++)
		if (l[i] == ' ' || l[i] == '\t')
			return bad(p, "bad header name");
	const char *v = colon + 1;
	size_t vn = n - nl - 1;
	while (vn && (*v == ' ' || *v == '\t'))
		v++, vn--;
	while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
		vn--;
	if (nl == 14 && strncasecmp(l, "content-length", 14) == 0) {
		if (!vn || vn > 15)
			return bad(p, "bad Content-Length");
		int64_t len = 0;
		for (size_t i = 0; i < vn; i++) {
			if (v[i] < '0' || v[i] > '9')
				return bad(p, "bad Content-Length");
			len = len * 10 + (v[i] - '0');
		}
		if (p->length >= 0 && p->length != len)
			return bad(p, "conflicting Content-Length headers");
		p->length = len;
	} else if (nl == 17 && strncasecmp(l, "transfer-encoding", 17) == 0) {
		/* chunked must be the last coding, and the only one this client accepts (it asks
		 * for no other). */
		if (!has_token(v, vn, "chunked") || vn != 7)
			return bad(p, "unsupported Transfer-Encoding");
		p->chunked = true;
	} else if (nl == 10 && strncasecmp(l, "connection", 10) == 0) {
		if (has_token(v, vn, "close"))
			p->keep_alive = false;
		else if (p->http10 && has_token(v, vn, "keep-alive"))
			p->keep_alive = true;
	} else if (nl == 11 && strncasecmp(l, "retry-after", 11) == 0) {
		p->retry_after_ms = fpd_kube_http_parse_retry_after(v, vn, fpd_clock_wall_ms());
	}
	return FPD_H1_MORE;
}

/* The blank line after the headers: how the body is delimited. */
static enum fpd_h1_parse headers_end(struct fpd_h1_parser *p)
{
	if (p->status < 200) {
		/* An interim response (100 Continue, 103 Early Hints): the real one follows. */
		if (p->status == 101)
			return bad(p, "unexpected 101 Switching Protocols");
		p->header_lines = 0;
		p->length = -1;
		p->chunked = false;
		p->status = 0;
		p->retry_after_ms = -1;
		p->state = P_STATUS;
		return FPD_H1_MORE;
	}
	if (p->status == 204 || p->status == 304) {
		p->state = P_DONE;
	} else if (p->chunked) {
		p->state = P_CHUNK_SIZE;
	} else if (p->length >= 0) {
		p->remaining = (uint64_t)p->length;
		p->state = p->length ? P_BODY_LENGTH : P_DONE;
	} else {
		p->keep_alive = false;
		p->state = P_BODY_CLOSE;
	}
	return FPD_H1_MORE;
}

static enum fpd_h1_parse chunk_size(struct fpd_h1_parser *p, const char *l, size_t n)
{
	uint64_t size = 0;
	size_t i = 0;
	for (; i < n; i++) {
		int d = l[i] >= '0' && l[i] <= '9'   ? l[i] - '0'
		        : l[i] >= 'a' && l[i] <= 'f' ? l[i] - 'a' + 10
		        : l[i] >= 'A' && l[i] <= 'F' ? l[i] - 'A' + 10
		                                     : -1;
		if (d < 0)
			break;
		if (size >> 40)
			return bad(p, "chunk size too large");
		size = size * 16 + (uint64_t)d;
	}
	if (i == 0 || (i < n && l[i] != ';' && l[i] != ' ' && l[i] != '\t'))
		return bad(p, "bad chunk size");
	p->remaining = size;
	p->state = size ? P_CHUNK_DATA : P_TRAILERS;
	return FPD_H1_MORE;
}

/* One complete line (without its line end) in the state that reads lines. */
static enum fpd_h1_parse on_line(struct fpd_h1_parser *p, const char *l, size_t n)
{
	switch (p->state) {
	case P_STATUS: return status_line(p, l, n);
	case P_HEADERS: return n ? header_line(p, l, n) : headers_end(p);
	case P_CHUNK_SIZE: return chunk_size(p, l, n);
	case P_CHUNK_END:
		if (n)
			return bad(p, "chunk data longer than its size");
		p->state = P_CHUNK_SIZE;
		return FPD_H1_MORE;
	case P_TRAILERS:
		if (!n)
			p->state = P_DONE;
		return FPD_H1_MORE;
	}
	return bad(p, "internal parser state");
}

static bool reads_lines(int state)
{
	return state == P_STATUS || state == P_HEADERS || state == P_CHUNK_SIZE ||
	       state == P_CHUNK_END || state == P_TRAILERS;
}

enum fpd_h1_parse fpd_h1_parser_feed(struct fpd_h1_parser *p, const char *data, size_t len,
                                     size_t *used)
{
	size_t i = 0;
	*used = 0;
	while (p->state != P_DONE) {
		if (reads_lines(p->state)) {
			if (i == len)
				return FPD_H1_MORE;
			const char *nl = memchr(data + i, '\n', len - i);
			size_t take = nl ? (size_t)(nl - (data + i)) : len - i;
			if (fpd_buf_append(&p->line, data + i, take))
				return bad(p, "line too long");
			i += take;
			if (!nl)
				return FPD_H1_MORE;
			i++; /* the '\n' */
			size_t n = p->line.len;
			if (n && p->line.data[n - 1] == '\r')
				n--;
			if (p->state == P_HEADERS && ++p->header_lines > MAX_HEADERS)
				return bad(p, "too many header lines");
			enum fpd_h1_parse r = on_line(p, p->line.data ? p->line.data : "", n);
			fpd_buf_reset(&p->line);
			if (r != FPD_H1_MORE)
				return r;
			continue;
		}
		if (i == len)
			return FPD_H1_MORE;
		size_t avail = len - i;
		if (p->state == P_BODY_CLOSE) {
			if (fpd_buf_append(p->body, data + i, avail))
				return FPD_H1_TOO_BIG;
			i = len;
			continue;
		}
		/* P_BODY_LENGTH or P_CHUNK_DATA */
		size_t take = avail < p->remaining ? avail : (size_t)p->remaining;
		if (fpd_buf_append(p->body, data + i, take))
			return FPD_H1_TOO_BIG;
		i += take;
		p->remaining -= take;
		if (!p->remaining)
			p->state = p->state == P_CHUNK_DATA ? P_CHUNK_END : P_DONE;
	}
	*used = i;
	return FPD_H1_DONE;
}

enum fpd_h1_parse fpd_h1_parser_eof(struct fpd_h1_parser *p)
{
	if (p->state == P_DONE || p->state == P_BODY_CLOSE) {
		p->state = P_DONE;
		return FPD_H1_DONE;
	}
	return bad(p, p->state == P_STATUS && !p->line.len ? "connection closed before an answer"
	                                                   : "connection closed mid-answer");
}

/* ---- TLS ------------------------------------------------------------------------------ */

/* The socket BIO writes with write(2): a peer that has gone would raise SIGPIPE in a process
 * that has not ignored it. This one sends with MSG_NOSIGNAL. */
static int bio_write(BIO *b, const char *data, int len)
{
	int fd = (int)(intptr_t)BIO_get_data(b);
	BIO_clear_retry_flags(b);
	ssize_t n = send(fd, data, (size_t)len, MSG_NOSIGNAL);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		BIO_set_retry_write(b);
	return (int)n;
}

static int bio_read(BIO *b, char *data, int len)
{
	int fd = (int)(intptr_t)BIO_get_data(b);
	BIO_clear_retry_flags(b);
	ssize_t n = recv(fd, data, (size_t)len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		BIO_set_retry_read(b);
	return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	switch (cmd) {
	case BIO_CTRL_FLUSH: return 1;
	case BIO_C_GET_FD:
		if (ptr)
			*(int *)ptr = (int)(intptr_t)BIO_get_data(b);
		return (long)(intptr_t)BIO_get_data(b);
	default: return 0;
	}
}

static int bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static BIO_METHOD *socket_method(void)
{
	static BIO_METHOD *m;
	if (!m) {
		m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "flyteplugd socket");
		if (!m)
			fpd_die("out of memory creating a BIO method");
		BIO_meth_set_write(m, bio_write);
		BIO_meth_set_read(m, bio_read);
		BIO_meth_set_ctrl(m, bio_ctrl);
		BIO_meth_set_create(m, bio_create);
	}
	return m;
}

/* The first OpenSSL error on the queue as text (and the queue cleared). */
static void ssl_error_text(char *out, size_t size, const char *fallback)
{
	unsigned long e = ERR_get_error();
	if (e) {
		char text[256];
		ERR_error_string_n(e, text, sizeof(text));
		snprintf(out, size, "%s", text);
	} else {
		snprintf(out, size, "%s", fallback);
	}
	ERR_clear_error();
}

/* Every certificate in a PEM blob added to the context's trust store. */
static int load_ca_blob(SSL_CTX *ctx, const struct fpd_kube_blob *b, struct fpd_error *err)
{
	BIO *bio = BIO_new_mem_buf(b->data, (int)b->len);
	if (!bio)
		fpd_die("out of memory reading certificates");
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	int n = 0;
	X509 *cert;
	while ((cert = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		X509_STORE_add_cert(store, cert);
		X509_free(cert);
		n++;
	}
	ERR_clear_error();
	BIO_free(bio);
	if (!n)
		return fpd_error_set(err, FPD_EINVAL,
		                     "certificate-authority data holds no PEM certificate");
	return FPD_OK;
}

static int load_cert_blob(SSL_CTX *ctx, const struct fpd_kube_blob *b, struct fpd_error *err)
{
	BIO *bio = BIO_new_mem_buf(b->data, (int)b->len);
	if (!bio)
		fpd_die("out of memory reading certificates");
	X509 *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	int rc = FPD_OK;
	if (!cert || SSL_CTX_use_certificate(ctx, cert) != 1) {
		rc = fpd_error_set(err, FPD_EINVAL,
		                   "client certificate data is not a PEM certificate");
	} else {
		X509 *extra;
		while ((extra = PEM_read_bio_X509(bio, NULL, NULL, NULL)))
			if (SSL_CTX_add_extra_chain_cert(ctx, extra) != 1)
				X509_free(extra);
	}
	X509_free(cert);
	ERR_clear_error();
	BIO_free(bio);
	return rc;
}

static int load_key_blob(SSL_CTX *ctx, const struct fpd_kube_blob *b, struct fpd_error *err)
{
	BIO *bio = BIO_new_mem_buf(b->data, (int)b->len);
	if (!bio)
		fpd_die("out of memory reading a key");
	EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	int rc = FPD_OK;
	if (!key || SSL_CTX_use_PrivateKey(ctx, key) != 1)
		rc = fpd_error_set(err, FPD_EINVAL, "client key data is not a PEM private key");
	EVP_PKEY_free(key);
	ERR_clear_error();
	BIO_free(bio);
	return rc;
}

static int tls_context(const struct fpd_kube_creds *c, SSL_CTX **out, struct fpd_error *err)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx)
		fpd_die("out of memory creating a TLS context");
	*out = ctx;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* Whole records are read at once: one recv per answer instead of a header and a body. */
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
	/* A peer that closes without close_notify (Go's server does) ends the stream; a cut
	 * answer is still caught by its framing (fpd_h1_parser_eof). */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
	if (c->insecure) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		/* A CA bundle may end at an intermediate certificate (libcurl allows it too). */
		X509_STORE_set_flags(SSL_CTX_get_cert_store(ctx), X509_V_FLAG_PARTIAL_CHAIN);
		int rc = FPD_OK;
		if (c->ca.data)
			rc = load_ca_blob(ctx, &c->ca, err);
		else if (c->ca_file[0] && SSL_CTX_load_verify_locations(ctx, c->ca_file, NULL) != 1)
			rc = fpd_error_set(err, FPD_EINVAL, "cannot load CA file %s", c->ca_file);
		else if (!c->ca_file[0] && SSL_CTX_set_default_verify_paths(ctx) != 1)
			rc = fpd_error_set(err, FPD_EINVAL,
			                   "cannot load the system's CA certificates");
		if (rc)
			return rc;
	}
	if (c->cert.data) {
		if (load_cert_blob(ctx, &c->cert, err))
			return FPD_EINVAL;
	} else if (c->cert_file[0] && SSL_CTX_use_certificate_chain_file(ctx, c->cert_file) != 1) {
		ERR_clear_error();
		return fpd_error_set(err, FPD_EINVAL, "cannot load client certificate %s",
		                     c->cert_file);
	}
	if (c->key.data) {
		if (load_key_blob(ctx, &c->key, err))
			return FPD_EINVAL;
	} else if (c->key_file[0] &&
	           SSL_CTX_use_PrivateKey_file(ctx, c->key_file, SSL_FILETYPE_PEM) != 1) {
		ERR_clear_error();
		return fpd_error_set(err, FPD_EINVAL, "cannot load client key %s", c->key_file);
	}
	if ((c->cert.data || c->cert_file[0]) && SSL_CTX_check_private_key(ctx) != 1) {
		ERR_clear_error();
		return fpd_error_set(err, FPD_EINVAL, "client key does not match its certificate");
	}
	return FPD_OK;
}

/* ---- connections ---------------------------------------------------------------------- */

enum conn_state { C_CONNECT, C_HANDSHAKE, C_SEND, C_RECV, C_IDLE };

struct h1_conn {
	struct fpd_h1 *pool;
	int fd;
	SSL *ssl;
	ev_io io;
	ev_timer timer;
	enum conn_state state;
	int events;        /* the io watcher's */
	int connect_errno; /* a connect that failed at once, reported from the loop */
	bool reused;       /* served an exchange before */
	bool got_bytes;    /* of the current exchange's answer */
	int64_t connect_deadline_ms;
	struct fpd_h1_exchange *x;
	size_t sent;
	struct fpd_h1_parser parser;
	struct h1_conn *prev, *next; /* every connection */
	struct h1_conn *inext;       /* the idle stack */
};

struct fpd_h1 {
	struct ev_loop *loop;
	int priority;
	struct sockaddr_storage addr;
	socklen_t addr_len;
	char name[160]; /* "host:port" for messages */
	bool tls;
	SSL_CTX *ctx;
	char tls_error[FPD_ERROR_TEXT + 16]; /* set-up error every exchange fails with */
	char *verify_name;
	bool verify_ip;
	bool insecure;
	int max_conns;
	int n_conns;
	int64_t connect_timeout_ms;
	struct h1_conn *conns, *idle;
	struct fpd_h1_exchange *wait_head, *wait_tail;
	bool pumping;
	bool closing;
	struct fpd_h1_stats stats;
	char rbuf[32u << 10];
};

#define LOG "kube"

static void conn_io(struct ev_loop *loop, ev_io *w, int revents);
static void conn_timer(struct ev_loop *loop, ev_timer *w, int revents);
static void pump(struct fpd_h1 *p);

bool fpd_h1_ip_literal(const char *host, char *out, size_t size)
{
	size_t n = strlen(host);
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		host++;
		n -= 2;
	}
	if (n == 0 || n >= size || n >= INET6_ADDRSTRLEN)
		return false;
	char a[INET6_ADDRSTRLEN];
	memcpy(a, host, n);
	a[n] = '\0';
	unsigned char bin[sizeof(struct in6_addr)];
	if (inet_pton(AF_INET, a, bin) != 1 && inet_pton(AF_INET6, a, bin) != 1)
		return false;
	memcpy(out, a, n + 1);
	return true;
}

int fpd_h1_new(struct ev_loop *loop, const struct fpd_h1_target *t, struct fpd_h1 **out,
               struct fpd_error *err)
{
	*out = NULL;
	struct fpd_h1 *p = fpd_calloc(1, sizeof(*p));
	struct sockaddr_in *v4 = (struct sockaddr_in *)&p->addr;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&p->addr;
	if (inet_pton(AF_INET, t->address, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)t->port);
		p->addr_len = sizeof(*v4);
		snprintf(p->name, sizeof(p->name), "%s:%d", t->address, t->port);
	} else if (inet_pton(AF_INET6, t->address, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)t->port);
		p->addr_len = sizeof(*v6);
		snprintf(p->name, sizeof(p->name), "[%s]:%d", t->address, t->port);
	} else {
		free(p);
		return fpd_error_set(err, FPD_EINVAL, "\"%s\" is not an IP address", t->address);
	}
	p->loop = loop;
	p->priority = t->priority;
	p->max_conns = t->max_connections > 0 ? t->max_connections : 16;
	p->connect_timeout_ms = t->connect_timeout_ms > 0 ? t->connect_timeout_ms : 10000;
	p->tls = t->tls;
	if (p->tls) {
		struct fpd_error terr;
		if (tls_context(t->creds, &p->ctx, &terr))
			snprintf(p->tls_error, sizeof(p->tls_error), "TLS set-up: %s", terr.text);
		p->insecure = t->creds->insecure;
		p->verify_name = fpd_strdup(t->verify_name ? t->verify_name : t->address);
		char ip[INET6_ADDRSTRLEN];
		p->verify_ip = fpd_h1_ip_literal(p->verify_name, ip, sizeof(ip));
		if (p->verify_ip) {
			free(p->verify_name);
			p->verify_name = fpd_strdup(ip);
		}
	}
	*out = p;
	return FPD_OK;
}

static void set_events(struct h1_conn *c, int events)
{
	if (c->events == events && ev_is_active(&c->io))
		return;
	ev_io_stop(c->pool->loop, &c->io);
	ev_io_set(&c->io, c->fd, events);
	c->events = events;
	ev_io_start(c->pool->loop, &c->io);
}

static void conn_close(struct h1_conn *c)
{
	struct fpd_h1 *p = c->pool;
	ev_io_stop(p->loop, &c->io);
	ev_timer_stop(p->loop, &c->timer);
	ev_clear_pending(p->loop, &c->io);
	/* No close_notify: the peer may be gone, and nothing waits for it. */
	if (c->ssl)
		SSL_free(c->ssl);
	if (c->fd >= 0)
		close(c->fd);
	fpd_h1_parser_free(&c->parser);
	if (c->prev)
		c->prev->next = c->next;
	else
		p->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	for (struct h1_conn **i = &p->idle; *i; i = &(*i)->inext)
		if (*i == c) {
			*i = c->inext;
			break;
		}
	if (c->x)
		c->x->conn = NULL;
	p->n_conns--;
	free(c);
}

static void arm_timer(struct h1_conn *c)
{
	struct fpd_h1 *p = c->pool;
	ev_timer_stop(p->loop, &c->timer);
	if (!c->x)
		return;
	int64_t deadline = c->x->deadline_ms;
	if ((c->state == C_CONNECT || c->state == C_HANDSHAKE) && c->connect_deadline_ms < deadline)
		deadline = c->connect_deadline_ms;
	int64_t left = deadline - fpd_clock_mono_ms();
	ev_timer_set(&c->timer, left > 0 ? (double)left / 1000.0 : 0., 0.);
	ev_timer_start(p->loop, &c->timer);
}

/* Ends x (detached from any connection) with code; the pool is pumped afterwards, so that a
 * waiting exchange gets the connection slot x had. Nothing of c may be used after this. */
static void finish(struct fpd_h1 *p, struct fpd_h1_exchange *x, int code, const char *detail)
{
	x->conn = NULL;
	x->done(x, code, detail);
	pump(p);
}

/* The connection failed: it is closed, and its exchange, if any, fails too, or is tried once
 * more on a new connection when a kept-alive one had not begun to answer (the server closed
 * it while idle). */
static void conn_fail(struct h1_conn *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void conn_fail(struct h1_conn *c, int code, const char *fmt, ...)
{
	struct fpd_h1 *p = c->pool;
	struct fpd_h1_exchange *x = c->x;
	bool again = x && code == FPD_EIO && c->reused && !c->got_bytes && !x->fresh &&
	             (c->state == C_SEND || c->state == C_RECV);
	char detail[384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (x && c->parser.status >= 200)
		x->status = c->parser.status; /* as far as the answer got */
	c->x = NULL;
	conn_close(c);
	if (!x) {
		pump(p);
		return;
	}
	if (again) {
		fpd_log(FPD_LOG_DEBUG, LOG, "%s: kept-alive connection failed (%s), retrying once",
		        p->name, detail);
		x->fresh = true;
		x->conn = NULL;
		fpd_h1_start(p, x);
		return;
	}
	char full[sizeof(detail) + 200];
	snprintf(full, sizeof(full), "%s: %s", p->name, detail);
	finish(p, x, code, full);
}

/* A failure found inside fpd_h1_start is reported from the loop: done never runs inside it. */
static void fail_later(struct h1_conn *c, int err_no)
{
	c->connect_errno = err_no ? err_no : EIO;
	ev_feed_event(c->pool->loop, &c->io, EV_CUSTOM);
}

static struct h1_conn *conn_new(struct fpd_h1 *p)
{
	struct h1_conn *c = fpd_calloc(1, sizeof(*c));
	c->pool = p;
	c->fd = -1;
	c->state = C_CONNECT;
	ev_init(&c->io, conn_io);
	ev_set_priority(&c->io, p->priority);
	ev_init(&c->timer, conn_timer);
	ev_set_priority(&c->timer, p->priority);
	fpd_h1_parser_init(&c->parser, NULL);
	c->next = p->conns;
	if (p->conns)
		p->conns->prev = c;
	p->conns = c;
	p->n_conns++;
	p->stats.connects++;
	c->connect_deadline_ms = fpd_clock_mono_ms() + p->connect_timeout_ms;
	c->fd = socket(p->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		ev_io_set(&c->io, -1, 0);
		fail_later(c, errno);
		return c;
	}
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* A dead peer must not hang a call for the kernel's 15+ minutes. */
	int idle = 30, intvl = 10;
	setsockopt(c->fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(c->fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(c->fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	ev_io_set(&c->io, c->fd, EV_WRITE);
	c->events = EV_WRITE;
	if (connect(c->fd, (struct sockaddr *)&p->addr, p->addr_len) == 0 || errno == EINPROGRESS)
		ev_io_start(p->loop, &c->io);
	else
		fail_later(c, errno);
	return c;
}

static void attach(struct h1_conn *c, struct fpd_h1_exchange *x)
{
	c->x = x;
	x->conn = c;
	c->sent = 0;
	c->got_bytes = false;
	fpd_h1_parser_free(&c->parser);
	fpd_h1_parser_init(&c->parser, x->body);
	arm_timer(c);
}

/* Writes what is left of the request. Returns 0 when all of it is out, 1 when the socket is
 * full (events set to wait), -1 after conn_fail. */
static int send_request(struct h1_conn *c)
{
	struct fpd_h1_exchange *x = c->x;
	while (c->sent < x->request_len) {
		const char *at = x->request + c->sent;
		size_t left = x->request_len - c->sent;
		if (c->ssl) {
			ERR_clear_error();
			size_t n = 0;
			int r = SSL_write_ex(c->ssl, at, left, &n);
			if (r == 1) {
				c->sent += n;
				continue;
			}
			int e = SSL_get_error(c->ssl, r);
			if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
				set_events(c, e == SSL_ERROR_WANT_WRITE ? EV_WRITE : EV_READ);
				return 1;
			}
			char t[256];
			ssl_error_text(t, sizeof(t),
			               e == SSL_ERROR_SYSCALL ? strerror(errno) : "TLS error");
			conn_fail(c, FPD_EIO, "sending the request: %s", t);
			return -1;
		}
		ssize_t n = send(c->fd, at, left, MSG_NOSIGNAL);
		if (n > 0) {
			c->sent += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
			set_events(c, EV_WRITE);
			return 1;
		}
		conn_fail(c, FPD_EIO, "sending the request: %s", strerror(errno));
		return -1;
	}
	c->state = C_RECV;
	set_events(c, EV_READ);
	return 0;
}

/* Reads into the pool's buffer. > 0 bytes, 0 at the end of the stream, -1 nothing more for now,
 * -2 an error (text in why). */
static ssize_t conn_read(struct h1_conn *c, char *why, size_t why_size)
{
	struct fpd_h1 *p = c->pool;
	if (c->ssl) {
		ERR_clear_error();
		errno = 0;
		size_t n = 0;
		int r = SSL_read_ex(c->ssl, p->rbuf, sizeof(p->rbuf), &n);
		if (r == 1)
			return (ssize_t)n;
		int e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_WANT_READ)
			return -1;
		if (e == SSL_ERROR_WANT_WRITE) {
			set_events(c, EV_READ | EV_WRITE);
			return -1;
		}
		if (e == SSL_ERROR_ZERO_RETURN)
			return 0;
		if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && errno == 0)
			return 0; /* closed without close_notify, as Go's server does */
		ssl_error_text(why, why_size,
		               e == SSL_ERROR_SYSCALL ? strerror(errno) : "TLS error");
		return -2;
	}
	ssize_t n = recv(c->fd, p->rbuf, sizeof(p->rbuf), 0);
	if (n >= 0)
		return n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return -1;
	snprintf(why, why_size, "%s", strerror(errno));
	return -2;
}

/* The answer is complete: the connection goes back to the idle stack (or is closed), then x
 * ends. */
static void answered(struct h1_conn *c)
{
	struct fpd_h1 *p = c->pool;
	struct fpd_h1_exchange *x = c->x;
	x->status = c->parser.status;
	x->retry_after_ms = c->parser.retry_after_ms;
	c->x = NULL;
	c->reused = true;
	ev_timer_stop(p->loop, &c->timer);
	if (c->parser.keep_alive) {
		c->state = C_IDLE;
		c->inext = p->idle;
		p->idle = c;
	} else {
		conn_close(c);
	}
	finish(p, x, FPD_OK, NULL);
}

static void receive(struct h1_conn *c)
{
	struct fpd_h1 *p = c->pool;
	char why[256];
	for (;;) {
		ssize_t n = conn_read(c, why, sizeof(why));
		if (n == -1)
			return;
		if (n == -2) {
			conn_fail(c, FPD_EIO, "reading the answer: %s", why);
			return;
		}
		enum fpd_h1_parse r;
		size_t used = 0;
		if (n == 0) {
			r = fpd_h1_parser_eof(&c->parser);
			if (r == FPD_H1_DONE)
				c->parser.keep_alive = false;
		} else {
			c->got_bytes = true;
			size_t before = c->x->body->len;
			r = fpd_h1_parser_feed(&c->parser, p->rbuf, (size_t)n, &used);
			p->stats.bytes_in +=
			    c->x->body->len - before; /* body bytes, as libcurl counts */
		}
		switch (r) {
		case FPD_H1_MORE: continue;
		case FPD_H1_DONE:
			/* Bytes past the answer (read, or still in OpenSSL's buffer): the server
			 * is not speaking to this client. */
			if ((n > 0 && used < (size_t)n) || (c->ssl && SSL_has_pending(c->ssl)))
				c->parser.keep_alive = false;
			answered(c);
			return;
		case FPD_H1_TOO_BIG:
			conn_fail(c, FPD_ERANGE, "response larger than %zu bytes", c->x->body->max);
			return;
		case FPD_H1_BAD: conn_fail(c, FPD_EIO, "%s", c->parser.why); return;
		}
	}
}

/* An idle connection became readable: the server closed it (or sent what nobody asked for). */
static void idle_readable(struct h1_conn *c)
{
	char why[256];
	for (;;) {
		ssize_t n = conn_read(c, why, sizeof(why));
		if (n == -1)
			return; /* TLS housekeeping (a session ticket) */
		conn_fail(c, FPD_EIO, "closed while idle");
		return;
	}
}

static void handshake(struct h1_conn *c)
{
	struct fpd_h1 *p = c->pool;
	ERR_clear_error();
	int r = SSL_connect(c->ssl);
	if (r == 1) {
		c->state = C_SEND;
		arm_timer(c);
		send_request(c);
		return;
	}
	int e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		set_events(c, e == SSL_ERROR_WANT_READ ? EV_READ : EV_WRITE);
		return;
	}
	long v = SSL_get_verify_result(c->ssl);
	char t[256];
	if (v != X509_V_OK)
		snprintf(t, sizeof(t), "certificate verify failed: %s (name %s)",
		         X509_verify_cert_error_string(v), p->verify_name);
	else
		ssl_error_text(t, sizeof(t),
		               e == SSL_ERROR_SYSCALL ? "connection closed" : "TLS error");
	conn_fail(c, FPD_EIO, "TLS handshake: %s", t);
}

static void start_tls(struct h1_conn *c)
{
	struct fpd_h1 *p = c->pool;
	c->ssl = SSL_new(p->ctx);
	BIO *bio = BIO_new(socket_method());
	if (!c->ssl || !bio)
		fpd_die("out of memory starting TLS");
	BIO_set_data(bio, (void *)(intptr_t)c->fd);
	SSL_set_bio(c->ssl, bio, bio);
	SSL_set_connect_state(c->ssl);
	static const unsigned char alpn[] = "\x08http/1.1";
	SSL_set_alpn_protos(c->ssl, alpn, sizeof(alpn) - 1);
	if (!p->verify_ip)
		SSL_set_tlsext_host_name(c->ssl, p->verify_name);
	if (!p->insecure) {
		X509_VERIFY_PARAM *param = SSL_get0_param(c->ssl);
		if (p->verify_ip)
			X509_VERIFY_PARAM_set1_ip_asc(param, p->verify_name);
		else
			SSL_set1_host(c->ssl, p->verify_name);
	}
	c->state = C_HANDSHAKE;
	handshake(c);
}

static void connected(struct h1_conn *c)
{
	int so = 0;
	socklen_t sl = sizeof(so);
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &so, &sl) < 0)
		so = errno;
	if (so) {
		conn_fail(c, FPD_EIO, "cannot connect: %s", strerror(so));
		return;
	}
	if (c->pool->tls && c->pool->tls_error[0]) {
		conn_fail(c, FPD_EIO, "%s", c->pool->tls_error);
	} else if (c->pool->tls) {
		start_tls(c);
	} else {
		c->state = C_SEND;
		arm_timer(c);
		send_request(c);
	}
}

static void conn_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct h1_conn *c = fpd_container_of(w, struct h1_conn, io);
	if (c->connect_errno) {
		conn_fail(c, FPD_EIO, "cannot connect: %s", strerror(c->connect_errno));
		return;
	}
	switch (c->state) {
	case C_CONNECT: connected(c); return;
	case C_HANDSHAKE: handshake(c); return;
	case C_SEND: send_request(c); return;
	case C_RECV:
		if (c->events & EV_WRITE)
			set_events(c, EV_READ); /* a TLS read that had to write first */
		receive(c);
		return;
	case C_IDLE: idle_readable(c); return;
	}
}

static void conn_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct h1_conn *c = fpd_container_of(w, struct h1_conn, timer);
	if (!c->x)
		return;
	int64_t now = fpd_clock_mono_ms();
	if (now < c->x->deadline_ms && (c->state == C_CONNECT || c->state == C_HANDSHAKE)) {
		conn_fail(c, FPD_ETIMEDOUT, "connection not established within %lld ms",
		          (long long)c->pool->connect_timeout_ms);
		return;
	}
	conn_fail(c, FPD_ETIMEDOUT, "no complete answer in time (%s)",
	          c->state == C_CONNECT     ? "connecting"
	          : c->state == C_HANDSHAKE ? "in the TLS handshake"
	          : c->state == C_SEND      ? "sending the request"
	          : c->got_bytes            ? "part of the answer arrived"
	                                    : "no answer yet");
}

/* An exchange onto an idle connection or a new one; the caller has made sure there is room. */
static void place(struct fpd_h1 *p, struct fpd_h1_exchange *x)
{
	if (p->idle && !x->fresh) {
		struct h1_conn *c = p->idle;
		p->idle = c->inext;
		c->inext = NULL;
		c->state = C_SEND;
		attach(c, x);
		send_request(c);
		return;
	}
	if (p->n_conns >= p->max_conns && x->fresh && p->idle) {
		struct h1_conn *old = p->idle;
		p->idle = old->inext;
		conn_close(old);
	}
	if (p->n_conns < p->max_conns) {
		struct h1_conn *c = conn_new(p);
		attach(c, x);
	}
}

static void unqueue(struct fpd_h1 *p, struct fpd_h1_exchange *x)
{
	struct fpd_h1_exchange **i = &p->wait_head, *prev = NULL;
	while (*i && *i != x) {
		prev = *i;
		i = &(*i)->wnext;
	}
	if (*i) {
		*i = x->wnext;
		if (p->wait_tail == x)
			p->wait_tail = prev;
	}
	x->waiting = false;
	x->wnext = NULL;
	ev_timer_stop(p->loop, &x->wait_timer);
}

/* Waited past its deadline for a connection: it fails without having been sent. */
static void wait_expired(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fpd_h1_exchange *x = fpd_container_of(w, struct fpd_h1_exchange, wait_timer);
	struct fpd_h1 *p = x->pool;
	unqueue(p, x);
	char detail[256];
	snprintf(detail, sizeof(detail), "%s: no connection free in time (%d of %d busy)", p->name,
	         p->n_conns, p->max_conns);
	x->done(x, FPD_ETIMEDOUT, detail);
}

/* Waiting exchanges onto free connections, first come first served; one past its deadline is
 * never sent (its timer fails it). Re-entered from place() (a retry): the outer call goes on. */
static void pump(struct fpd_h1 *p)
{
	if (p->closing || p->pumping)
		return;
	p->pumping = true;
	while (p->idle || p->n_conns < p->max_conns) {
		int64_t now = fpd_clock_mono_ms();
		struct fpd_h1_exchange *x = p->wait_head;
		while (x && x->deadline_ms <= now)
			x = x->wnext;
		if (!x)
			break;
		unqueue(p, x);
		place(p, x);
	}
	p->pumping = false;
}

void fpd_h1_start(struct fpd_h1 *p, struct fpd_h1_exchange *x)
{
	int64_t now = fpd_clock_mono_ms();
	x->pool = p;
	x->conn = NULL;
	x->status = 0;
	x->retry_after_ms = -1;
	if (!x->fresh)
		x->deadline_ms = now + (x->timeout_ms > 0 ? x->timeout_ms : 30000);
	ev_init(&x->wait_timer, wait_expired);
	ev_set_priority(&x->wait_timer, p->priority);
	int64_t left = x->deadline_ms - now;
	ev_timer_set(&x->wait_timer, left > 0 ? (double)left / 1000.0 : 0., 0.);
	ev_timer_start(p->loop, &x->wait_timer);
	x->waiting = true;
	x->wnext = NULL;
	if (p->wait_tail)
		p->wait_tail->wnext = x;
	else
		p->wait_head = x;
	p->wait_tail = x;
	pump(p);
}

void fpd_h1_cancel(struct fpd_h1 *p, struct fpd_h1_exchange *x)
{
	if (x->waiting) {
		unqueue(p, x);
		return;
	}
	struct h1_conn *c = x->conn;
	if (!c)
		return;
	c->x = NULL;
	x->conn = NULL;
	conn_close(c);
	pump(p);
}

void fpd_h1_shutdown(struct fpd_h1 *p)
{
	if (p)
		p->closing = true;
}

void fpd_h1_free(struct fpd_h1 *p)
{
	if (!p)
		return;
	while (p->conns)
		conn_close(p->conns);
	SSL_CTX_free(p->ctx);
	free(p->verify_name);
	free(p);
}

void fpd_h1_get_stats(const struct fpd_h1 *p, struct fpd_h1_stats *out)
{
	*out = p->stats;
}
