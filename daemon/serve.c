/*
 * The daemon's lifetime. One libev loop owns everything; signals arrive as ev_signal watchers so
 * shutdown runs on the loop like any other event. Subsystems are started in dependency order
 * and stopped in reverse.
 */
#include "serve.h"

#include "admin/admin.h"
#include "agent/agent.h"
#include "builtin.h"
#include "core/log.h"
#include "engine/engine.h"
#include "engine/plugin_settings.h"
#include "engine/registry.h"
#include "engine/tasktypes.h"
#include "grpc/health.h"
#include "grpc/grpc.h"
#include "kube/client.h"
#include "kube/creds.h"
#include "version.h"

#include <errno.h>
#include <ev.h>
#include <openssl/evp.h>
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
	uint8_t key[32];
	size_t key_len;
};

static void on_drained(void *ud)
{
	struct daemon *d = ud;
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
	/* In-flight calls get grpc.drain_timeout to finish; on_drained ends the loop. */
	/* Health turns NOT_SERVING and its Watch streams end, so they do not hold the drain. */
	fpd_health_drain(d->health);
	fpd_grpc_server_shutdown(d->grpc, on_drained, d);
}

/* The resource_meta signing key: a file (a mounted Secret), hashed to 32 bytes so any
 * length of at least 16 works; or, without one, a random key for this process only. */
static int load_key(struct daemon *d, struct fpd_error *err)
{
	const char *path = d->cfg->engine.signing_key_file;
	d->key_len = sizeof(d->key);
	if (!path[0]) {
		fpd_log(FPD_LOG_WARN, "daemon",
		        "engine.signing_key_file is not set: using a random key, so tasks started "
		        "before a restart cannot be followed after it");
		return RAND_bytes(d->key, (int)d->key_len) == 1
		           ? FPD_OK
		           : fpd_error_set(err, FPD_EIO, "no random bytes for a signing key");
	}
	FILE *f = fopen(path, "rb");
	if (!f)
		return fpd_error_set(err, FPD_EIO, "engine.signing_key_file %s: %s", path,
		                     strerror(errno));
	uint8_t buf[4096];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (n < 16)
		return fpd_error_set(
		    err, FPD_EINVAL,
		    "engine.signing_key_file %s: the key must be at least 16 bytes", path);
	unsigned int out = 0;
	EVP_Digest(buf, n, d->key, &out, EVP_sha256(), NULL);
	OPENSSL_cleanse(buf, sizeof(buf));
	return FPD_OK;
}

/* A task type declared by a FlyteTaskType object: the engine follows its kind from now on. */
static int on_tasktype_declared(void *ud, const struct fpd_plugin *plugin, struct fpd_error *err)
{
	struct daemon *d = ud;
	return fpd_engine_watch_kind(d->engine, plugin, err);
}

/* Connects to the Kubernetes API and starts the engine. On failure (no or bad credentials)
 * the daemon keeps serving metadata and health, and tries again with backoff. */
static int start_kube(struct daemon *d, struct fpd_error *err)
{
	struct fpd_kube_creds creds;
	memset(&creds, 0, sizeof(creds));
	int rc = fpd_kube_creds_load(&d->cfg->kubernetes, &creds, err);
	if (!rc) {
		struct fpd_kube_client_opts opts;
		fpd_kube_client_opts_from_config(&d->cfg->kubernetes, &opts);
		rc = fpd_kube_client_new(d->loop, &creds, &opts, &d->kube, err);
	}
	fpd_kube_creds_free(&creds);
	if (!rc)
		rc = fpd_engine_new(d->loop, d->cfg, d->registry, d->psettings, d->kube, d->key,
		                    d->key_len, &d->engine, err);
	if (!rc)
		rc = fpd_engine_start(d->engine, err);
	if (!rc && fpd_registry_by_name(d->registry, "crd") &&
	    !(rc = fpd_tasktypes_watch_new(d->kube, d->registry, &d->tasktypes, err)))
		fpd_tasktypes_watch_on_declare(d->tasktypes, on_tasktype_declared, d);
	if (rc) {
		fpd_tasktypes_watch_free(d->tasktypes);
		d->tasktypes = NULL;
		fpd_engine_free(d->engine);
		d->engine = NULL;
		fpd_kube_client_free(d->kube);
		d->kube = NULL;
		return rc;
	}
	fpd_agent_set_engine(d->agent, d->engine);
	fpd_log(FPD_LOG_INFO, "daemon", "running tasks on the Kubernetes API");
	return FPD_OK;
}

static void on_kube_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct daemon *d = w->data;
	struct fpd_error err;
	fpd_error_clear(&err);
	if (start_kube(d, &err) == FPD_OK)
		return;
	d->kube_retry_s =
	    d->kube_retry_s * 2 > KUBE_RETRY_MAX ? KUBE_RETRY_MAX : d->kube_retry_s * 2;
	fpd_log(FPD_LOG_ERROR, "daemon", "Kubernetes API: %s (retrying in %.0f s)", err.text,
	        d->kube_retry_s);
	ev_timer_set(w, d->kube_retry_s, 0);
	ev_timer_start(loop, w);
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
	int rc = load_key(d, err);
	if (!rc)
		rc = fpd_grpc_server_start(d->grpc, err);
	if (rc)
		return rc;
	if (d->cfg->admin.enabled) {
		struct fpd_admin_sources src = {.engine = &d->engine, .grpc = d->grpc};
		d->admin = fpd_admin_new(d->loop, &d->cfg->admin, &src, err);
		if (!d->admin)
			return FPD_EIO;
	}
	struct fpd_error kerr;
	fpd_error_clear(&kerr);
	d->kube_retry_s = KUBE_RETRY_FIRST;
	ev_timer_init(&d->kube_retry, on_kube_retry, d->kube_retry_s, 0);
	d->kube_retry.data = d;
	if (start_kube(d, &kerr)) {
		fpd_log(FPD_LOG_ERROR, "daemon",
		        "Kubernetes API: %s (serving without it; retrying in %.0f s)", kerr.text,
		        d->kube_retry_s);
		ev_timer_start(d->loop, &d->kube_retry);
	}
	return FPD_OK;
}

static void stop(struct daemon *d)
{
	ev_timer_stop(d->loop, &d->kube_retry);
	fpd_admin_free(d->admin);
	fpd_grpc_server_free(d->grpc);
	fpd_agent_free(d->agent);
	fpd_health_free(d->health);
	fpd_tasktypes_watch_free(d->tasktypes);
	fpd_engine_free(d->engine);
	fpd_kube_client_free(d->kube);
	fpd_plugin_settings_free(d->psettings);
	fpd_registry_free(d->registry);
	OPENSSL_cleanse(d->key, sizeof(d->key));
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

	fpd_log(FPD_LOG_INFO, "daemon", "flyteplugd %s starting (config: %s)", FPD_VERSION,
	        cfg->source[0] ? cfg->source : "defaults");
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
