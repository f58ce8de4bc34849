/*
 * Admin endpoints: see admin.h. Design note on exposure:
 *
 * - /healthz, /readyz and /metrics are open to whoever reaches the listener: probes and
 *   Prometheus must not need a secret, and they say nothing about tasks.
 * - /executions lists what runs in the cluster. On a loopback listener (kubectl port-forward,
 *   a sidecar) it is open; elsewhere it needs "Authorization: Bearer <token>" with the token
 *   from admin.token_file, compared as SHA-256 digests with CRYPTO_memcmp so neither content
 *   nor length leaks through timing. The file is stat()ed on each such request and re-read
 *   when it changed, so a rotated Secret takes effect without a restart. Without a token file
 *   a non-loopback listener answers 403 saying how to turn it on.
 * - libmicrohttpd bounds connections in total and per client address and closes connections
 *   silent for connection_timeout, so stalled clients cannot take every slot from the probes.
 */
#include "admin/admin.h"

#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"
#include "engine/report.h"
#include "version.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* Tokens are short secrets; a file larger than this is not one. */
#define TOKEN_FILE_MAX 4096
/* /executions?limit= upper bound: the list is built on the loop in one go. */
#define EXECUTIONS_LIMIT_MAX 10000

struct fpd_admin {
	struct ev_loop *loop;
	const struct fpd_config_admin *cfg;
	struct MHD_Daemon *mhd;
	ev_io io;
	ev_timer timer;
	struct fpd_admin_sources src;
	bool loopback; /* listener bound to 127.0.0.0/8: /executions needs no token */
	bool has_token;
	unsigned char token_digest[32]; /* SHA-256 of the token */
	struct stat token_stat;         /* of the file the digest came from */
};

/* --- bearer token ---------------------------------------------------------------------- */

static void sha256(const void *data, size_t len, unsigned char out[32])
{
	if (EVP_Digest(data, len, out, NULL, EVP_sha256(), NULL) != 1)
		fpd_die("SHA-256 failed");
}

static bool same_file_version(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* (Re)reads admin.token_file: the token is its content without surrounding whitespace. */
static int load_token(struct fpd_admin *a, struct fpd_error *err)
{
	const char *path = a->cfg->token_file;
	FILE *f = fopen(path, "rb");
	if (!f)
		return fpd_error_set(err, FPD_EIO, "admin.token_file %s: %s", path,
		                     strerror(errno));
	char buf[TOKEN_FILE_MAX + 1];
	struct stat st;
	size_t n = fread(buf, 1, sizeof(buf), f);
	int bad = ferror(f) || fstat(fileno(f), &st);
	fclose(f);
	if (bad)
		return fpd_error_set(err, FPD_EIO, "admin.token_file %s: cannot read", path);
	if (n > TOKEN_FILE_MAX)
		return fpd_error_set(err, FPD_EINVAL, "admin.token_file %s: larger than %d bytes",
		                     path, TOKEN_FILE_MAX);
	size_t start = 0;
	while (start < n && strchr(" \t\r\n", buf[start]))
		start++;
	while (n > start && strchr(" \t\r\n", buf[n - 1]))
		n--;
	if (n - start < 16)
		return fpd_error_set(
		    err, FPD_EINVAL,
		    "admin.token_file %s: the token must be at least 16 characters", path);
	sha256(buf + start, n - start, a->token_digest);
	OPENSSL_cleanse(buf, sizeof(buf));
	a->token_stat = st;
	a->has_token = true;
	return FPD_OK;
}

/* Re-reads the token file when it changed since it was read (a rotated Secret). A file that
 * became unreadable or invalid keeps the previous token, with a warning. */
static void refresh_token(struct fpd_admin *a)
{
	struct stat st = {0};
	if (stat(a->cfg->token_file, &st) == 0 && same_file_version(&st, &a->token_stat))
		return;
	struct fpd_error err;
	if (load_token(a, &err)) {
		a->token_stat = st; /* warn once per change, not once per request */
		fpd_log(FPD_LOG_WARN, "admin", "%s; keeping the previous token", err.text);
		return;
	}
	fpd_log(FPD_LOG_INFO, "admin", "admin.token_file re-read");
}

/* True when the request carries "Authorization: Bearer <the token>". */
static bool bearer_ok(struct fpd_admin *a, struct MHD_Connection *conn)
{
	const char *h =
	    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return false;
	h += 7;
	while (*h == ' ')
		h++;
	size_t len = strlen(h);
	while (len && h[len - 1] == ' ')
		len--;
	unsigned char digest[32];
	sha256(h, len, digest);
	return CRYPTO_memcmp(digest, a->token_digest, sizeof(digest)) == 0;
}

static void metric(struct fpd_buf *b, const char *name, const char *type, const char *help,
                   unsigned long long value)
{
	fpd_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name,
	               value);
}

static void render_metrics(const struct fpd_admin *a, struct fpd_buf *b)
{
	fpd_buf_printf(b,
	               "# HELP flyteplugd_build_info Version of the running flyteplugd.\n"
	               "# TYPE flyteplugd_build_info gauge\n"
	               "flyteplugd_build_info{version=\"%s\",flyteidl=\"%s\"} 1\n",
	               FPD_VERSION, FPD_FLYTEIDL_VERSION);
	struct fpd_engine *e = *a->src.engine;
	struct fpd_engine_stats st = {0};
	if (e)
		fpd_engine_get_stats(e, &st);
	metric(b, "flyteplugd_engine_running", "gauge",
	       "1 when the engine runs on a Kubernetes API.", e ? 1 : 0);
	metric(b, "flyteplugd_executions", "gauge", "Task attempts tracked.", st.executions);
	metric(b, "flyteplugd_executions_active", "gauge", "Tracked task attempts not finished.",
	       st.active);
	metric(b, "flyteplugd_creates_total", "counter", "Objects POSTed for CreateTask.",
	       st.creates);
	metric(b, "flyteplugd_create_errors_total", "counter", "Creates the API server refused.",
	       st.create_errors);
	metric(b, "flyteplugd_gettask_total", "counter", "GetTask calls.", st.gets);
	metric(b, "flyteplugd_deletetask_total", "counter", "DeleteTask calls.", st.deletes);
	metric(b, "flyteplugd_cleanups_total", "counter",
	       "Finished objects deleted after the cleanup TTL.", st.cleanups);
	metric(b, "flyteplugd_orphans_deleted_total", "counter",
	       "Unfinished objects nobody asked about, deleted.", st.orphans_deleted);
	metric(b, "flyteplugd_status_unknown_total", "counter",
	       "Object states a plugin did not recognise.", st.status_unknown);
	fpd_buf_printf(b,
	               "# HELP flyteplugd_policy_refusals_total CreateTask, GetTask and DeleteTask "
	               "calls the caller policy refused, by rule.\n"
	               "# TYPE flyteplugd_policy_refusals_total counter\n");
	const struct {
		const char *rule;
		uint64_t n;
	} refusals[] = {
	    {"system_namespace", st.policy.system_namespace},
	    {"unlisted_namespace", st.policy.unlisted_namespace},
	    {"service_account", st.policy.service_account},
	    {"task_type", st.policy.task_type},
	    {"pod_security", st.policy.pod_security},
	};
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++)
		fpd_buf_printf(b, "flyteplugd_policy_refusals_total{rule=\"%s\"} %llu\n",
		               refusals[i].rule, (unsigned long long)refusals[i].n);
	struct fpd_grpc_stats g;
	fpd_grpc_server_stats(a->src.grpc, &g);
	metric(b, "flyteplugd_grpc_connections", "gauge", "Open gRPC connections.", g.connections);
	metric(b, "flyteplugd_grpc_connections_total", "counter", "gRPC connections accepted.",
	       g.connections_total);
	metric(b, "flyteplugd_grpc_connections_refused_total", "counter",
	       "gRPC connections refused at max_connections.", g.connections_refused);
	metric(b, "flyteplugd_grpc_connections_refused_peer_total", "counter",
	       "gRPC connections refused at max_connections_per_peer.", g.connections_refused_peer);
	metric(b, "flyteplugd_grpc_handshakes_refused_total", "counter",
	       "TLS handshakes that failed (no or bad client certificate, no h2).",
	       g.handshakes_refused);
	metric(b, "flyteplugd_grpc_connections_timed_out_total", "counter",
	       "gRPC connections closed for want of a preface or a first request in time.",
	       g.connections_timed_out);
	metric(b, "flyteplugd_grpc_calls_active", "gauge", "gRPC calls in flight.", g.calls_active);
	metric(b, "flyteplugd_grpc_calls_total", "counter", "gRPC calls received.", g.calls_total);
	metric(b, "flyteplugd_grpc_request_bytes_buffered", "gauge",
	       "Request bytes held for messages not yet complete.", g.request_bytes_buffered);
	metric(b, "flyteplugd_grpc_requests_over_budget_total", "counter",
	       "Requests refused at max_buffered_request_bytes.", g.requests_over_budget);
	metric(b, "flyteplugd_grpc_requests_timed_out_total", "counter",
	       "Requests not received completely within receive_timeout.", g.requests_timed_out);
}

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned int status, const char *type,
                               char *body, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(r, "Content-Type", type);
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		                        "Bearer realm=\"flyteplugd-admin\"");
	enum MHD_Result ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result respond_text(struct MHD_Connection *conn, unsigned int status,
                                    const char *text)
{
	char *msg = fpd_strdup(text);
	return respond(conn, status, "text/plain; charset=utf-8", msg, strlen(msg));
}

/* True when the request may see /executions; otherwise the refusal is queued and *ret set. */
static bool executions_allowed(struct fpd_admin *a, struct MHD_Connection *conn,
                               enum MHD_Result *ret)
{
	if (a->loopback)
		return true;
	if (!a->has_token) {
		*ret =
		    respond_text(conn, MHD_HTTP_FORBIDDEN,
		                 "/executions is off: admin.listen is not a loopback address and "
		                 "admin.token_file is not set. Set admin.token_file (then send "
		                 "\"Authorization: Bearer <token>\") or listen on 127.0.0.1 and "
		                 "use kubectl port-forward.\n");
		return false;
	}
	refresh_token(a);
	if (bearer_ok(a, conn))
		return true;
	*ret = respond_text(conn, MHD_HTTP_UNAUTHORIZED,
	                    "/executions needs \"Authorization: Bearer <token>\" with the token of "
	                    "admin.token_file\n");
	return false;
}

/* GET /executions[?namespace=NS][&limit=N]: what the engine tracks, as JSON (at most N,
 * default 1000, of them; "count" says how many there are). */
static enum MHD_Result executions(struct fpd_admin *a, struct MHD_Connection *conn)
{
	enum MHD_Result refused;
	if (!executions_allowed(a, conn, &refused))
		return refused;
	struct fpd_engine *e = *a->src.engine;
	if (!e) {
		char *msg = fpd_strdup("no Kubernetes API yet: nothing is tracked\n");
		return respond(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain; charset=utf-8", msg,
		               strlen(msg));
	}
	const char *ns = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "namespace");
	const char *lim = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "limit");
	size_t limit = 1000;
	if (lim) {
		char *end;
		unsigned long long v = strtoull(lim, &end, 10);
		if (!*lim || *end || !(*lim >= '0' && *lim <= '9') || v > EXECUTIONS_LIMIT_MAX)
			return respond_text(conn, MHD_HTTP_BAD_REQUEST,
			                    "limit must be a number from 0 to 10000\n");
		limit = (size_t)v;
	}
	json_t *j = fpd_engine_executions(e, ns && *ns ? ns : NULL, limit);
	char *body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!body)
		fpd_die("out of memory writing /executions");
	return respond(conn, MHD_HTTP_OK, "application/json", body, strlen(body));
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **state)
{
	struct fpd_admin *a = cls;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return respond(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
		               fpd_strdup("method not allowed\n"), 19);
	struct fpd_buf b;
	fpd_buf_init(&b, 1 << 20);
	unsigned int status = MHD_HTTP_OK;
	const char *type = "text/plain; charset=utf-8";
	if (strcmp(url, "/healthz") == 0) {
		fpd_buf_append_str(&b, "ok\n");
	} else if (strcmp(url, "/readyz") == 0) {
		struct fpd_engine *e = *a->src.engine;
		if (!e) {
			status = MHD_HTTP_SERVICE_UNAVAILABLE;
			fpd_buf_append_str(&b, "not ready: no Kubernetes API yet\n");
		} else if (!fpd_engine_ready(e)) {
			status = MHD_HTTP_SERVICE_UNAVAILABLE;
			fpd_buf_append_str(&b, "not ready: pods have not been listed yet\n");
		} else {
			char kinds[512];
			if (fpd_engine_unlisted(e, kinds, sizeof(kinds)))
				fpd_buf_printf(&b, "ok (not listed yet, CRD missing?: %s)\n",
				               kinds);
			else
				fpd_buf_append_str(&b, "ok\n");
		}
	} else if (strcmp(url, "/metrics") == 0) {
		type = "text/plain; version=0.0.4; charset=utf-8";
		render_metrics(a, &b);
	} else if (strcmp(url, "/executions") == 0) {
		fpd_buf_free(&b);
		return executions(a, conn);
	} else {
		status = MHD_HTTP_NOT_FOUND;
		fpd_buf_append_str(&b,
		                   "not found: try /healthz, /readyz, /metrics or /executions\n");
	}
	size_t len;
	char *body = fpd_buf_steal(&b, &len);
	return respond(conn, status, type, body, len);
}

/* MHD's work is driven by its epoll descriptor and its own timeout. */
static void run(struct fpd_admin *a)
{
	MHD_run(a->mhd);
	MHD_UNSIGNED_LONG_LONG timeout;
	ev_timer_stop(a->loop, &a->timer);
	if (MHD_get_timeout(a->mhd, &timeout) == MHD_YES) {
		ev_timer_set(&a->timer, (double)timeout / 1000.0, 0.);
		ev_timer_start(a->loop, &a->timer);
	}
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	run(fpd_container_of(w, struct fpd_admin, io));
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	run(fpd_container_of(w, struct fpd_admin, timer));
}

struct fpd_admin *fpd_admin_new(struct ev_loop *loop, const struct fpd_config_admin *cfg,
                                const struct fpd_admin_sources *sources, struct fpd_error *err)
{
	char host[256];
	int port;
	if (fpd_config_split_address(cfg->listen, host, sizeof(host), &port)) {
		fpd_error_set(err, FPD_EINVAL, "admin.listen %s: not host:port", cfg->listen);
		return NULL;
	}
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
		fpd_error_set(err, FPD_EINVAL, "admin.listen %s: an IPv4 address is needed",
		              cfg->listen);
		return NULL;
	}
	struct fpd_admin *a = fpd_calloc(1, sizeof(*a));
	a->loop = loop;
	a->cfg = cfg;
	a->src = *sources;
	a->loopback = (ntohl(sin.sin_addr.s_addr) >> 24) == 127;
	if (cfg->token_file && cfg->token_file[0] && load_token(a, err)) {
		free(a);
		return NULL;
	}
	/* Whole seconds for libmicrohttpd, rounded up. */
	unsigned int timeout_s = (unsigned int)((cfg->connection_timeout_ms + 999) / 1000);
	a->mhd = MHD_start_daemon(
	    MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, a, MHD_OPTION_SOCK_ADDR,
	    &sin, MHD_OPTION_CONNECTION_LIMIT, (unsigned int)cfg->max_connections,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)cfg->max_connections_per_peer,
	    MHD_OPTION_CONNECTION_TIMEOUT, timeout_s, MHD_OPTION_END);
	if (!a->mhd) {
		fpd_error_set(err, FPD_EIO, "admin.listen %s: cannot listen", cfg->listen);
		free(a);
		return NULL;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(a->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	ev_io_init(&a->io, on_io, info->epoll_fd, EV_READ);
	ev_io_start(loop, &a->io);
	ev_timer_init(&a->timer, on_timer, 0., 0.);
	fpd_log(FPD_LOG_INFO, "admin",
	        "listening on %s (/healthz, /readyz, /metrics, /executions: %s)", cfg->listen,
	        a->loopback    ? "loopback, open"
	        : a->has_token ? "bearer token"
	                       : "off, no admin.token_file");
	return a;
}

void fpd_admin_free(struct fpd_admin *a)
{
	if (!a)
		return;
	ev_io_stop(a->loop, &a->io);
	ev_timer_stop(a->loop, &a->timer);
	MHD_stop_daemon(a->mhd);
	free(a);
}
