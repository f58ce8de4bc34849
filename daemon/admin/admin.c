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
 * - /executions is paged (limit, continue) and written through a content reader a slice at a
 *   time, and only when the loop has nothing else to do: a reader that wants a slice is
 *   suspended and queued, and an ev_idle watcher at the lowest priority (gRPC sockets and the
 *   Kubernetes client are above it) resumes one reader per loop iteration for one slice.
 *   Choosing the page is sliced the same way before writing starts: a turn walks
 *   FPD_ENGINE_PAGE_CHOOSE_SLOTS slots of the execution table (report.h). A GetTask that
 *   arrives while /executions is being chosen or read therefore waits for at most one slice
 *   (some 30 us of CPU, at most 0.2 ms; bench/admin) before the loop sees it, however many
 *   executions are tracked.
 */
#include "admin/admin.h"

#include <flyteplugd/buf.h>
#include "core/heap.h"
#include "core/log.h"
#include <flyteplugd/mem.h>
#include "engine/keys.h"
#include "engine/report.h"
#include "engine/tasktypes.h"
#include "kube/lease.h"
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
#include <time.h>

/* Tokens are short secrets; a file larger than this is not one. */
#define TOKEN_FILE_MAX 4096
/* /executions?limit=: default and upper bound of a page. */
#define EXECUTIONS_LIMIT_DEFAULT 500
#define EXECUTIONS_LIMIT_MAX 10000
/* Bytes of /executions formatted per slice: 3 to 4 executions, some 25 us of CPU. This is
 * the longest a gRPC call waits for the admin (bench/admin). */
#define EXECUTIONS_SLICE (2 * 1024)

struct executions_reply;

struct fpd_admin {
	struct ev_loop *loop;
	const struct fpd_config_admin *cfg;
	struct MHD_Daemon *mhd;
	ev_io io;
	ev_timer timer;
	ev_idle idle;                     /* the loop is idle: one slice of /executions */
	struct executions_reply *waiting; /* suspended until their turn, oldest first */
	struct executions_reply **waiting_tail;
	bool grant; /* on_idle allows one slice */
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

/* Heap bytes by part: the engine's own (executions, informer caches) and malloc's totals, so
 * that what the allocator keeps beyond the live data (free chunks between live ones) shows. */
static void memory_metrics(struct fpd_buf *b, const struct fpd_engine *e)
{
	struct fpd_engine_memory m = {0};
	if (e)
		fpd_engine_get_memory(e, &m);
	fpd_buf_printf(b, "# HELP flyteplugd_memory_bytes Heap bytes by part: executions and "
	                  "informer_cache (the engine's, with malloc's rounding); the allocator's "
	                  "totals: heap_in_use, heap_free (free inside the heap) and heap_mmapped "
	                  "under glibc's malloc, heap_committed under mimalloc.\n"
	                  "# TYPE flyteplugd_memory_bytes gauge\n");
	fpd_buf_printf(b, "flyteplugd_memory_bytes{part=\"executions\"} %zu\n", m.executions);
	fpd_buf_printf(b, "flyteplugd_memory_bytes{part=\"informer_cache\"} %zu\n",
	               m.informer_cache);
	struct fpd_heap_part parts[FPD_HEAP_PARTS_MAX];
	size_t n = fpd_heap_parts(parts);
	for (size_t i = 0; i < n; i++)
		fpd_buf_printf(b, "flyteplugd_memory_bytes{part=\"%s\"} %zu\n", parts[i].part,
		               parts[i].bytes);
}

/* A Prometheus label value: backslash, double quote and newline escaped (new string). */
static char *label_escape(const char *v)
{
	struct fpd_buf b;
	fpd_buf_init(&b, 4096);
	for (const char *c = v; *c; c++) {
		if (*c == '\\' || *c == '"')
			fpd_buf_printf(&b, "\\%c", *c);
		else if (*c == '\n')
			fpd_buf_append_str(&b, "\\n");
		else
			fpd_buf_printf(&b, "%c", *c);
	}
	size_t len;
	return fpd_buf_steal(&b, &len);
}

/* The leader Lease, for /readyz: a line of text, or members of a JSON object. */
static void render_leader(const struct fpd_admin *a, struct fpd_buf *b, json_t *j)
{
	const struct fpd_lease *lease = a->src.lease ? *a->src.lease : NULL;
	const char *holder = lease ? fpd_lease_holder(lease) : "";
	bool leader = lease && fpd_lease_is_leader(lease);
	if (j) {
		json_object_set_new(j, "leader_election", json_boolean(lease != NULL));
		json_object_set_new(j, "leader", json_boolean(leader));
		json_object_set_new(j, "identity",
		                    json_string(lease ? fpd_lease_identity(lease) : ""));
		json_object_set_new(j, "lease_holder", json_string(holder));
		return;
	}
	if (!lease)
		fpd_buf_append_str(b, "leader: this replica (leader election off)\n");
	else if (leader)
		fpd_buf_printf(b, "leader: this replica (%s)\n", fpd_lease_identity(lease));
	else
		fpd_buf_printf(b, "leader: %s\n", holder[0] ? holder : "nobody yet");
}

static void render_metrics(const struct fpd_admin *a, struct fpd_buf *b)
{
	fpd_buf_printf(b,
	               "# HELP flyteplugd_build_info Version of the running flyteplugd, and the "
	               "allocator serving its malloc.\n"
	               "# TYPE flyteplugd_build_info gauge\n"
	               "flyteplugd_build_info{version=\"%s\",flyteidl=\"%s\",allocator=\"%s\"} 1\n",
	               FPD_VERSION, FPD_FLYTEIDL_VERSION, fpd_heap_allocator_name());
	struct fpd_engine *e = *a->src.engine;
	struct fpd_engine_stats st = {0};
	if (e)
		fpd_engine_get_stats(e, &st);
	metric(b, "flyteplugd_engine_running", "gauge",
	       "1 when the engine runs on a Kubernetes API.", e ? 1 : 0);
	metric(b, "flyteplugd_executions", "gauge", "Task attempts tracked.", st.executions);
	metric(b, "flyteplugd_executions_active", "gauge", "Tracked task attempts not finished.",
	       st.active);
	memory_metrics(b, e);
	metric(b, "flyteplugd_creates_total", "counter", "Objects POSTed for CreateTask.",
	       st.creates);
	metric(b, "flyteplugd_create_errors_total", "counter", "Creates the API server refused.",
	       st.create_errors);
	metric(b, "flyteplugd_creates_seen_as_sent_total", "counter",
	       "Created objects whose first status came from the object as sent: the watch had "
	       "not shown the API server's copy 0.25 s after the create, or when a GetTask asked.",
	       st.creates_seen_as_sent);
	fpd_buf_printf(b,
	               "# HELP flyteplugd_create_bodies_total POSTs of created objects by the "
	               "encoding of their body: protobuf (pods), json (custom resources, and "
	               "pods the protobuf encoder leaves to JSON).\n"
	               "# TYPE flyteplugd_create_bodies_total counter\n"
	               "flyteplugd_create_bodies_total{encoding=\"protobuf\"} %llu\n"
	               "flyteplugd_create_bodies_total{encoding=\"json\"} %llu\n",
	               (unsigned long long)st.create_bodies_protobuf,
	               (unsigned long long)st.create_bodies_json);
	metric(b, "flyteplugd_gettask_total", "counter", "GetTask calls.", st.gets);
	metric(b, "flyteplugd_deletetask_total", "counter", "DeleteTask calls.", st.deletes);
	metric(b, "flyteplugd_gettask_fetches_total", "counter",
	       "GETs of an object GetTask found in no cache.", st.get_fetches);
	fpd_buf_printf(b,
	               "# HELP flyteplugd_gettask_waits_total GetTask calls that waited for the "
	               "informer's first list: answered by its delivery, not in it (then GET), "
	               "past engine.unlisted_wait (then GET too).\n"
	               "# TYPE flyteplugd_gettask_waits_total counter\n"
	               "flyteplugd_gettask_waits_total{result=\"delivered\"} %llu\n"
	               "flyteplugd_gettask_waits_total{result=\"not_listed\"} %llu\n"
	               "flyteplugd_gettask_waits_total{result=\"timed_out\"} %llu\n",
	               (unsigned long long)st.get_waits_delivered,
	               (unsigned long long)st.get_waits_unlisted,
	               (unsigned long long)st.get_waits_timed_out);
	metric(b, "flyteplugd_cleanups_total", "counter",
	       "Finished objects deleted after the cleanup TTL.", st.cleanups);
	metric(b, "flyteplugd_orphans_deleted_total", "counter",
	       "Unfinished objects nobody asked about, deleted.", st.orphans_deleted);
	metric(b, "flyteplugd_status_unknown_total", "counter",
	       "Object states a plugin did not recognise.", st.status_unknown);
	const struct fpd_tasktypes_watch *tt = a->src.tasktypes ? *a->src.tasktypes : NULL;
	metric(b, "flyteplugd_tasktypes_config_refused", "gauge",
	       "Task types the configuration declares that are not served: a check of the "
	       "cluster (resource, RBAC) refuses them (docs/task-types.md).",
	       fpd_tasktypes_watch_config_refused(tt));
	const struct fpd_keys *keys = a->src.keys ? *a->src.keys : NULL;
	metric(b, "flyteplugd_signing_keys", "gauge",
	       "resource_meta keys held: the signing one and those a rotation left behind.",
	       keys ? fpd_keys_count(keys) : 0);
	const struct fpd_lease *lease = a->src.lease ? *a->src.lease : NULL;
	if (lease) {
		char *id = label_escape(fpd_lease_identity(lease));
		fpd_buf_printf(
		    b,
		    "# HELP flyteplugd_leader 1 when this replica holds the leader Lease "
		    "(it runs cleanup).\n# TYPE flyteplugd_leader gauge\n"
		    "flyteplugd_leader{identity=\"%s\"} %d\n",
		    id, fpd_lease_is_leader(lease) ? 1 : 0);
		free(id);
	} else if (e) {
		metric(b, "flyteplugd_leader", "gauge",
		       "1 when this replica holds the leader Lease (it runs cleanup).",
		       fpd_engine_cleanup(e) ? 1 : 0);
	}
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
	       "Memory held for requests: calls and message buffers as allocated.",
	       g.request_bytes_buffered);
	metric(b, "flyteplugd_grpc_http2_state_bytes", "gauge",
	       "Memory nghttp2 holds for HTTP/2 sessions and streams.", g.http2_state_bytes);
	metric(b, "flyteplugd_grpc_requests_over_budget_total", "counter",
	       "Requests refused at max_buffered_request_bytes.", g.requests_over_budget);
	metric(b, "flyteplugd_grpc_connections_reclaimed_total", "counter",
	       "Idle gRPC connections closed to make room in max_buffered_request_bytes.",
	       g.connections_reclaimed);
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

/* A page of /executions on its way to a client: chosen a slice of the execution table at a
 * time, then written as libmicrohttpd asks for the next slice of at most EXECUTIONS_SLICE
 * bytes when the socket has room for it. Each slice is one turn of the idle watcher. */
struct executions_reply {
	struct fpd_admin *a;
	struct MHD_Connection *conn;
	struct executions_reply *next_waiting;
	bool suspended; /* on a->waiting */
	bool chosen;    /* fpd_engine_page_choose said FPD_OK */
	struct fpd_engine_page *page;
	unsigned slices, choose_slices;
	int64_t longest_ns, total_ns;
	int64_t longest_cpu_ns; /* CPU time of the longest: the rest was the process not running */
	int64_t choose_ns, choose_longest_ns; /* fpd_engine_page_choose, in all and at most */
};

static int64_t now_ns(clockid_t clock)
{
	struct timespec t;
	clock_gettime(clock, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Suspends r until on_idle gives it its turn (the loop has nothing else to do). */
static void wait_turn(struct executions_reply *r)
{
	struct fpd_admin *a = r->a;
	MHD_suspend_connection(r->conn);
	r->suspended = true;
	r->next_waiting = NULL;
	*a->waiting_tail = r;
	a->waiting_tail = &r->next_waiting;
	ev_idle_start(a->loop, &a->idle);
}

/* One slice of choosing the page: FPD_ENGINE_PAGE_CHOOSE_SLOTS slots of the table. */
static void choose_slice(struct executions_reply *r)
{
	int64_t t0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
	r->chosen = fpd_engine_page_choose(r->page, *r->a->src.engine,
	                                   FPD_ENGINE_PAGE_CHOOSE_SLOTS) == FPD_OK;
	int64_t dt = now_ns(CLOCK_THREAD_CPUTIME_ID) - t0;
	r->choose_slices++;
	r->choose_ns += dt;
	if (dt > r->choose_longest_ns)
		r->choose_longest_ns = dt;
}

static ssize_t executions_slice(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct executions_reply *r = cls;
	struct fpd_admin *a = r->a;
	if (!a->grant) {
		wait_turn(r);
		return 0;
	}
	a->grant = false;
	if (!r->chosen) { /* this turn chooses; a later one writes */
		choose_slice(r);
		wait_turn(r);
		return 0;
	}
	/* libmicrohttpd offers all the room its buffer has; format no more than a slice */
	if (max > EXECUTIONS_SLICE)
		max = EXECUTIONS_SLICE;
	int64_t t0 = now_ns(CLOCK_MONOTONIC), c0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
	size_t n = fpd_engine_page_read(r->page, *a->src.engine, buf, max);
	int64_t dt = now_ns(CLOCK_MONOTONIC) - t0;
	r->slices++;
	r->total_ns += dt;
	if (dt > r->longest_ns) {
		r->longest_ns = dt;
		r->longest_cpu_ns = now_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
	}
	return n ? (ssize_t)n : MHD_CONTENT_READER_END_OF_STREAM;
}

static void executions_done(void *cls)
{
	struct executions_reply *r = cls;
	struct fpd_admin *a = r->a;
	for (struct executions_reply **w = &a->waiting; r->suspended && *w; w = &(*w)->next_waiting)
		if (*w == r) {
			*w = r->next_waiting;
			if (a->waiting_tail == &r->next_waiting)
				a->waiting_tail = w;
			break;
		}
	if (fpd_log_enabled(FPD_LOG_DEBUG))
		fpd_log(FPD_LOG_DEBUG, "admin",
		        "/executions: %zu executions chosen in %u slices, %.3f ms in all, longest "
		        "%.3f ms (%u restarts), written in %u slices, %.3f ms in all, longest %.3f "
		        "ms (%.3f ms on the CPU)",
		        fpd_engine_page_size(r->page), r->choose_slices, (double)r->choose_ns / 1e6,
		        (double)r->choose_longest_ns / 1e6, fpd_engine_page_restarts(r->page),
		        r->slices, (double)r->total_ns / 1e6, (double)r->longest_ns / 1e6,
		        (double)r->longest_cpu_ns / 1e6);
	fpd_engine_page_free(r->page);
	free(r);
}

/* GET /executions[?namespace=NS][&limit=N][&continue=TOKEN]: a page of what the engine
 * tracks, as JSON (report.h), at most N (default EXECUTIONS_LIMIT_DEFAULT) executions after
 * the token's. The page is started here, then chosen and written slice by slice, one slice
 * per idle turn of the loop, as the client reads it. */
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
	const char *token = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "continue");
	size_t limit = EXECUTIONS_LIMIT_DEFAULT;
	if (lim) {
		char *end;
		unsigned long long v = strtoull(lim, &end, 10);
		if (!*lim || *end || !(*lim >= '0' && *lim <= '9') || v < 1 ||
		    v > EXECUTIONS_LIMIT_MAX)
			return respond_text(conn, MHD_HTTP_BAD_REQUEST,
			                    "limit must be a number from 1 to 10000\n");
		limit = (size_t)v;
	}
	struct fpd_error err;
	struct fpd_engine_page *page =
	    fpd_engine_page_new(ns && *ns ? ns : NULL, token, limit, &err);
	if (!page) {
		char msg[sizeof(err.text) + 2];
		snprintf(msg, sizeof(msg), "%s\n", err.text);
		return respond_text(conn, MHD_HTTP_BAD_REQUEST, msg);
	}
	struct executions_reply *r = fpd_calloc(1, sizeof(*r));
	r->a = a;
	r->conn = conn;
	r->page = page;
	struct MHD_Response *resp = MHD_create_response_from_callback(
	    MHD_SIZE_UNKNOWN, EXECUTIONS_SLICE, executions_slice, r, executions_done);
	if (!resp)
		fpd_die("out of memory answering /executions");
	MHD_add_response_header(resp, "Content-Type", "application/json");
	enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
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
		const char *fmt =
		    MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "format");
		json_t *j = fmt && strcmp(fmt, "json") == 0 ? json_object() : NULL;
		struct fpd_buf reason;
		fpd_buf_init(&reason, 1024);
		if (!e) {
			status = MHD_HTTP_SERVICE_UNAVAILABLE;
			fpd_buf_append_str(&reason, "not ready: no Kubernetes API yet");
		} else if (!fpd_engine_ready(e)) {
			status = MHD_HTTP_SERVICE_UNAVAILABLE;
			fpd_buf_append_str(&reason, "not ready: pods have not been listed yet");
		} else {
			char kinds[512];
			if (fpd_engine_unlisted(e, kinds, sizeof(kinds)))
				fpd_buf_printf(&reason, "ok (not listed yet, CRD missing?: %s)",
				               kinds);
			else
				fpd_buf_append_str(&reason, "ok");
		}
		if (j) {
			json_object_set_new(j, "ready", json_boolean(status == MHD_HTTP_OK));
			json_object_set_new(
			    j, "status", json_stringn(reason.data ? reason.data : "", reason.len));
			render_leader(a, &b, j);
			char *text = json_dumps(j, JSON_COMPACT);
			json_decref(j);
			if (!text)
				fpd_die("out of memory writing /readyz");
			fpd_buf_printf(&b, "%s\n", text);
			free(text);
			type = "application/json";
		} else {
			fpd_buf_printf(&b, "%.*s\n", (int)reason.len,
			               reason.data ? reason.data : "");
			if (e)
				render_leader(a, &b, NULL);
		}
		fpd_buf_free(&reason);
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

/* Resumes the oldest waiting /executions reader; false when none waits. */
static bool resume_one(struct fpd_admin *a)
{
	struct executions_reply *r = a->waiting;
	if (!r)
		return false;
	a->waiting = r->next_waiting;
	if (!a->waiting)
		a->waiting_tail = &a->waiting;
	r->suspended = false;
	MHD_resume_connection(r->conn);
	return true;
}

/* Nothing else is pending in the loop: one slice for the oldest waiting reader. */
static void on_idle(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct fpd_admin *a = fpd_container_of(w, struct fpd_admin, idle);
	if (!resume_one(a)) {
		ev_idle_stop(loop, w);
		return;
	}
	a->grant = true;
	run(a);
	a->grant = false;
	/* libmicrohttpd sends what the reader produced on its next pass over the connection:
	 * make that pass now, so that slices do not pile up and go out in one burst later. */
	run(a);
	if (!a->waiting)
		ev_idle_stop(loop, w);
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
	    MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME, 0, NULL, NULL, on_request, a, MHD_OPTION_SOCK_ADDR,
	    &sin, MHD_OPTION_CONNECTION_LIMIT, (unsigned int)cfg->max_connections,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)cfg->max_connections_per_peer,
	    MHD_OPTION_CONNECTION_TIMEOUT, timeout_s, MHD_OPTION_END);
	if (!a->mhd) {
		fpd_error_set(err, FPD_EIO, "admin.listen %s: cannot listen", cfg->listen);
		free(a);
		return NULL;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(a->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	/* Below gRPC and the Kubernetes client: when both are pending in one loop iteration,
	 * the admin's sockets are served last. */
	ev_io_init(&a->io, on_io, info->epoll_fd, EV_READ);
	ev_set_priority(&a->io, EV_MINPRI);
	ev_io_start(loop, &a->io);
	ev_timer_init(&a->timer, on_timer, 0., 0.);
	ev_set_priority(&a->timer, EV_MINPRI);
	ev_idle_init(&a->idle, on_idle);
	ev_set_priority(&a->idle, EV_MINPRI);
	a->waiting_tail = &a->waiting;
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
	ev_idle_stop(a->loop, &a->idle);
	while (resume_one(a))
		;
	MHD_stop_daemon(a->mhd);
	free(a);
}
