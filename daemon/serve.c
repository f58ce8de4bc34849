/*
 * The daemon's lifetime. One libev loop owns everything; signals arrive as ev_signal watchers so
 * shutdown runs on the loop like any other event. Subsystems are started in dependency order
 * and stopped in reverse.
 */
#include "serve.h"

#include "admin/admin.h"
#include "agent/agent.h"
#include "builtin.h"
#include "core/heap.h"
#include "core/log.h"
#include "engine/engine.h"
#include "engine/keys.h"
#include "engine/plugin_settings.h"
#include "engine/registry.h"
#include "engine/tasktypes.h"
#include "grpc/health.h"
#include "grpc/grpc.h"
#include "kube/client.h"
#include "kube/creds.h"
#include "kube/lease.h"
#include "kube/secret_key.h"
#include "version.h"

#include <errno.h>
#include <ev.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#define KUBE_RETRY_FIRST 5.0
#define KUBE_RETRY_MAX 300.0

struct daemon {
	struct ev_loop *loop;
	const struct fpd_config *cfg;
	ev_signal sigterm;
	ev_signal sigint;
	int stopping;
	int stop_steps; /* shutdown steps still under way */
	struct fpd_registry *registry;
	struct fpd_grpc_server *grpc;
	struct fpd_health *health;
	struct fpd_agent *agent;
	struct fpd_engine *engine; /* NULL until the Kubernetes API is configured */
	/* FlyteTaskType objects in the cluster; NULL without the crd plugin or the engine */
	struct fpd_tasktypes_watch *tasktypes;
	struct fpd_kube_client *kube;
	struct fpd_plugin_settings *psettings;
	struct fpd_admin *admin;
	ev_timer kube_retry;
	double kube_retry_s;
	struct fpd_keys *keys;             /* from files; NULL: from a Secret or random */
	struct fpd_secret_key *secret_key; /* reading or creating the key's Secret */
	struct fpd_lease *lease;           /* NULL: leader election is off */
	bool in_cluster;                   /* the credentials are the service account's */
};

/* The Secret that holds the signing key when no file is configured: engine.signing_key_secret,
 * or in a cluster this default (so that replicas share a key without configuration). */
#define DEFAULT_KEY_SECRET "flyteplugd-signing-key"

/* The loop ends once the gRPC drain and the Lease release have both finished. */
static void on_stop_step_done(void *ud)
{
	struct daemon *d = ud;
	if (--d->stop_steps == 0)
		ev_break(d->loop, EVBREAK_ALL);
}

static void on_stop_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct daemon *d = w->data;
	if (d->stopping) {
		fpd_log(FPD_LOG_WARN, "daemon", "second signal %d: exiting now", w->signum);
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	d->stopping = 1;
	fpd_log(FPD_LOG_INFO, "daemon", "signal %d: shutting down", w->signum);
	/* In-flight calls get grpc.drain_timeout to finish; on_stop_step_done ends the loop. */
	/* Health turns NOT_SERVING and its Watch streams end, so they do not hold the drain. */
	fpd_health_drain(d->health);
	d->stop_steps = 1;
	/* A successor takes the Lease at its next retry instead of waiting for it to expire. */
	if (d->lease && fpd_lease_release(d->lease, on_stop_step_done, d) == FPD_AGAIN)
		d->stop_steps++;
	fpd_grpc_server_shutdown(d->grpc, on_stop_step_done, d);
}

/* The resource_meta signing keys from files (engine.signing_key_file and the previous ones);
 * without them d->keys stays NULL and start_kube decides: a Secret, or a random key. */
static int load_keys(struct daemon *d, struct fpd_error *err)
{
	int rc = fpd_keys_load_config(&d->cfg->engine, &d->keys, err);
	if (rc == FPD_ENOENT) {
		fpd_error_clear(err);
		return FPD_OK;
	}
	if (!rc)
		fpd_log(FPD_LOG_INFO, "daemon", "resource_meta keys: %zu from files",
		        fpd_keys_count(d->keys));
	return rc;
}

/* A random key for this process only: `serve` outside a cluster without a configured key. */
static int random_keys(struct daemon *d, struct fpd_error *err)
{
	uint8_t material[32];
	if (RAND_bytes(material, sizeof(material)) != 1)
		return fpd_error_set(err, FPD_EIO, "no random bytes for a signing key");
	fpd_log(FPD_LOG_WARN, "daemon",
	        "no signing key configured (engine.signing_key_file, engine.signing_key_secret): "
	        "using a random key, so tasks started before a restart cannot be followed after it "
	        "and no other replica can answer for them");
	d->keys = fpd_keys_new();
	int rc = fpd_keys_add(d->keys, material, sizeof(material), "random key", err);
	OPENSSL_cleanse(material, sizeof(material));
	if (rc) { /* weak random bytes (fewer than 8 distinct values): draw again next time */
		fpd_keys_free(d->keys);
		d->keys = NULL;
	}
	return rc;
}

static void kube_retry_later(struct daemon *d, const struct fpd_error *err, bool first);

static void on_started_leading(void *ud)
{
	struct daemon *d = ud;
	fpd_log(FPD_LOG_INFO, "daemon", "leader (Lease held by %s): this replica cleans up",
	        fpd_lease_identity(d->lease));
	if (d->engine)
		fpd_engine_set_cleanup(d->engine, true);
}

static void on_stopped_leading(void *ud)
{
	struct daemon *d = ud;
	fpd_log(FPD_LOG_INFO, "daemon", "no longer the leader: cleanup is left to the holder");
	if (d->engine)
		fpd_engine_set_cleanup(d->engine, false);
}

static void on_new_leader(void *ud, const char *holder)
{
	(void)ud;
	fpd_log(FPD_LOG_INFO, "daemon", "the leader Lease is held by %s",
	        holder[0] ? holder : "nobody");
}

/* With leader election, only the holder of the Lease sweeps; the engine waits for it. */
static int start_lease(struct daemon *d, struct fpd_error *err)
{
	const struct fpd_config_leader_election *le = &d->cfg->leader_election;
	if (!le->enabled)
		return FPD_OK;
	struct fpd_lease_opts o = {0};
	fpd_lease_opts_from_config(le, &o);
	o.on_started_leading = on_started_leading;
	o.on_stopped_leading = on_stopped_leading;
	o.on_new_leader = on_new_leader;
	o.ud = d;
	int rc = fpd_lease_new(d->loop, d->kube, &o, &d->lease, err);
	if (rc)
		return rc;
	fpd_engine_set_cleanup(d->engine, false);
	fpd_lease_start(d->lease);
	return FPD_OK;
}

/* A task type declared by a FlyteTaskType object: the engine follows its kind from now on. */
static int on_tasktype_declared(void *ud, const struct fpd_plugin *plugin, struct fpd_error *err)
{
	struct daemon *d = ud;
	return fpd_engine_watch_kind(d->engine, plugin, err);
}

/* The engine on d->kube with d->keys; on failure the engine, the elector and the task type
 * watcher are torn down (the client is kept for the next attempt: this may run inside one of
 * its callbacks). */
static int start_engine(struct daemon *d, struct fpd_error *err)
{
	int rc = fpd_engine_new(d->loop, d->cfg, d->registry, d->psettings, d->kube, d->keys,
	                        &d->engine, err);
	if (!rc)
		rc = start_lease(d, err);
	if (!rc)
		rc = fpd_engine_start(d->engine, err);
	if (!rc && fpd_registry_by_name(d->registry, "crd") &&
	    !(rc = fpd_tasktypes_watch_new(d->loop, d->kube, d->registry, &d->cfg->namespaces.watch,
	                                   &d->tasktypes, err)))
		fpd_tasktypes_watch_on_declare(d->tasktypes, on_tasktype_declared, d);
	if (rc) {
		fpd_tasktypes_watch_free(d->tasktypes);
		d->tasktypes = NULL;
		fpd_lease_free(d->lease);
		d->lease = NULL;
		fpd_engine_free(d->engine);
		d->engine = NULL;
		return rc;
	}
	fpd_agent_set_engine(d->agent, d->engine);
	fpd_log(FPD_LOG_INFO, "daemon", "running tasks on the Kubernetes API");
	return FPD_OK;
}

static void on_secret_key(void *ud, int code, const json_t *data, bool created,
                          const struct fpd_error *kerr)
{
	struct daemon *d = ud;
	d->secret_key = NULL;
	struct fpd_error err;
	fpd_error_clear(&err);
	char what[300];
	snprintf(what, sizeof(what), "Secret %s/%s", fpd_kube_client_namespace(d->kube),
	         d->cfg->engine.signing_key_secret[0] ? d->cfg->engine.signing_key_secret
	                                              : DEFAULT_KEY_SECRET);
	int rc = code;
	if (rc)
		fpd_error_set(&err, rc, "signing key: %s", kerr->text);
	else
		rc = fpd_keys_from_secret_data(data, what, &d->keys, &err);
	if (!rc) {
		fpd_log(FPD_LOG_INFO, "daemon", "resource_meta keys: %zu from %s%s",
		        fpd_keys_count(d->keys), what, created ? " (created it)" : "");
		rc = start_engine(d, &err);
	}
	if (rc)
		kube_retry_later(d, &err, false);
}

/* Connects to the Kubernetes API and starts the engine, at once or once the key's Secret is
 * read (FPD_AGAIN). On failure (no or bad credentials) the daemon keeps serving metadata and
 * health, and tries again with backoff. */
static int start_kube(struct daemon *d, struct fpd_error *err)
{
	int rc = FPD_OK;
	if (!d->kube) {
		struct fpd_kube_creds creds;
		memset(&creds, 0, sizeof(creds));
		rc = fpd_kube_creds_load(&d->cfg->kubernetes, &creds, err);
		if (!rc) {
			struct fpd_kube_client_opts opts;
			fpd_kube_client_opts_from_config(&d->cfg->kubernetes, &opts);
			d->in_cluster = strncmp(creds.source, "in-cluster", 10) == 0;
			rc = fpd_kube_client_new(d->loop, &creds, &opts, &d->kube, err);
		}
		fpd_kube_creds_free(&creds);
		if (rc)
			return rc;
	}
	const char *secret = d->cfg->engine.signing_key_secret;
	if (!d->keys && !secret[0] && d->in_cluster)
		secret = DEFAULT_KEY_SECRET;
	if (d->keys || !secret[0]) {
		rc = d->keys ? FPD_OK : random_keys(d, err);
		return rc ? rc : start_engine(d, err);
	}
	struct fpd_secret_key_opts so = {.name = secret, .data_key = FPD_KEYS_SECRET_SIGNING};
	rc = fpd_secret_key_ensure(d->kube, &so, on_secret_key, d, &d->secret_key, err);
	return rc; /* FPD_AGAIN: on_secret_key goes on */
}

static void kube_retry_later(struct daemon *d, const struct fpd_error *err, bool first)
{
	if (!first)
		d->kube_retry_s =
		    d->kube_retry_s * 2 > KUBE_RETRY_MAX ? KUBE_RETRY_MAX : d->kube_retry_s * 2;
	fpd_log(FPD_LOG_ERROR, "daemon", "Kubernetes API: %s (%sretrying in %.0f s)", err->text,
	        first ? "serving without it; " : "", d->kube_retry_s);
	ev_timer_set(&d->kube_retry, d->kube_retry_s, 0);
	ev_timer_start(d->loop, &d->kube_retry);
}

static void on_kube_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct daemon *d = w->data;
	struct fpd_error err;
	fpd_error_clear(&err);
	int rc = start_kube(d, &err);
	if (rc != FPD_OK && rc != FPD_AGAIN)
		kube_retry_later(d, &err, false);
	(void)loop;
	(void)revents;
}

/* Registry, gRPC server and agent services; everything is freed by stop() on failure. */
static int start(struct daemon *d, struct fpd_error *err)
{
	size_t n;
	const struct fpd_plugin *const *builtins = fpd_builtin_plugins(&n);
	d->registry = fpd_registry_from_config(builtins, n, d->cfg, err);
	if (!d->registry)
		return FPD_EINVAL;
	fpd_log(FPD_LOG_INFO, "daemon", "serving %zu plugin(s)", fpd_registry_count(d->registry));
	d->psettings = fpd_plugin_settings_load(d->registry, d->cfg, err);
	if (!d->psettings)
		return FPD_EINVAL;
	d->grpc = fpd_grpc_server_new(d->loop, &d->cfg->grpc, err);
	if (!d->grpc)
		return FPD_EINVAL;
	d->health = fpd_health_new(d->grpc, err);
	if (!d->health)
		return FPD_EINVAL;
	d->agent = fpd_agent_new(d->grpc, d->registry, NULL, err);
	if (!d->agent)
		return FPD_EINVAL;
	int rc = load_keys(d, err);
	if (!rc)
		rc = fpd_grpc_server_start(d->grpc, err);
	if (rc)
		return rc;
	if (d->cfg->admin.enabled) {
		struct fpd_admin_sources src = {.engine = &d->engine,
		                                .grpc = d->grpc,
		                                .lease = &d->lease,
		                                .keys = &d->keys,
		                                .tasktypes = &d->tasktypes};
		d->admin = fpd_admin_new(d->loop, &d->cfg->admin, &src, err);
		if (!d->admin)
			return FPD_EIO;
	}
	struct fpd_error kerr;
	fpd_error_clear(&kerr);
	d->kube_retry_s = KUBE_RETRY_FIRST;
	ev_timer_init(&d->kube_retry, on_kube_retry, d->kube_retry_s, 0);
	d->kube_retry.data = d;
	rc = start_kube(d, &kerr);
	if (rc != FPD_OK && rc != FPD_AGAIN)
		kube_retry_later(d, &kerr, true);
	return FPD_OK;
}

static void stop(struct daemon *d)
{
	ev_timer_stop(d->loop, &d->kube_retry);
	fpd_admin_free(d->admin);
	fpd_grpc_server_free(d->grpc);
	fpd_agent_free(d->agent);
	fpd_health_free(d->health);
	if (d->secret_key)
		fpd_secret_key_cancel(d->secret_key);
	fpd_tasktypes_watch_free(d->tasktypes);
	fpd_lease_free(d->lease);
	fpd_engine_free(d->engine);
	fpd_kube_client_free(d->kube);
	fpd_plugin_settings_free(d->psettings);
	fpd_registry_free(d->registry);
	fpd_keys_free(d->keys);
}

int fpd_serve(const struct fpd_config *cfg)
{
	struct daemon d = {.cfg = cfg};
	d.loop = ev_default_loop(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
	if (!d.loop) {
		fpd_log(FPD_LOG_ERROR, "daemon", "could not create the event loop");
		return -1;
	}
	/* A peer closing a socket must be an error return, not a signal that kills us. */
	signal(SIGPIPE, SIG_IGN);

	ev_signal_init(&d.sigterm, on_stop_signal, SIGTERM);
	d.sigterm.data = &d;
	ev_signal_start(d.loop, &d.sigterm);
	ev_signal_init(&d.sigint, on_stop_signal, SIGINT);
	d.sigint.data = &d;
	ev_signal_start(d.loop, &d.sigint);

	fpd_log(FPD_LOG_INFO, "daemon", "flyteplugd %s starting (config: %s, allocator: %s)",
	        FPD_VERSION, cfg->source[0] ? cfg->source : "defaults", fpd_heap_allocator_name());
	struct fpd_error err;
	fpd_error_clear(&err);
	int rc = start(&d, &err);
	if (rc)
		fpd_log(FPD_LOG_ERROR, "daemon", "%s", err.text);
	else
		ev_run(d.loop, 0);
	stop(&d);

	ev_signal_stop(d.loop, &d.sigterm);
	ev_signal_stop(d.loop, &d.sigint);
	ev_loop_destroy(d.loop);
	fpd_log(FPD_LOG_INFO, "daemon", "stopped");
	return rc;
}
