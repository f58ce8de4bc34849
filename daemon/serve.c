/*
 * The daemon's lifetime. One libev loop owns everything; signals arrive as ev_signal watchers so
 * shutdown runs on the loop like any other event. Subsystems are started in dependency order
 * and stopped in reverse.
 */
#include "serve.h"

#include "agent/agent.h"
#include "builtin.h"
#include "core/log.h"
#include "engine/registry.h"
#include "grpc/grpc.h"
#include "version.h"

#include <ev.h>
#include <signal.h>

struct daemon {
	struct ev_loop *loop;
	const struct fpd_config *cfg;
	ev_signal sigterm;
	ev_signal sigint;
	int stopping;
	struct fpd_registry *registry;
	struct fpd_grpc_server *grpc;
	struct fpd_agent *agent;
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
	fpd_agent_drain(d->agent);
	fpd_grpc_server_shutdown(d->grpc, on_drained, d);
}

/* The built-in plugins, less those left out of a non-empty plugins.enabled. */
static struct fpd_registry *build_registry(const struct fpd_config *cfg, struct fpd_error *err)
{
	struct fpd_registry *reg = fpd_registry_new();
	size_t n;
	const struct fpd_plugin *const *builtins = fpd_builtin_plugins(&n);
	for (size_t i = 0; i < n; i++) {
		if (cfg->plugins.enabled.count &&
		    !fpd_strings_contains(&cfg->plugins.enabled, builtins[i]->name))
			continue;
		if (fpd_registry_add(reg, builtins[i], err)) {
			fpd_registry_free(reg);
			return NULL;
		}
	}
	return reg;
}

/* Registry, gRPC server and agent services; everything is freed by stop() on failure. */
static int start(struct daemon *d, struct fpd_error *err)
{
	d->registry = build_registry(d->cfg, err);
	if (!d->registry)
		return FPD_EINVAL;
	d->grpc = fpd_grpc_server_new(d->loop, &d->cfg->grpc, err);
	if (!d->grpc)
		return FPD_EINVAL;
	d->agent = fpd_agent_new(d->grpc, d->registry, err);
	if (!d->agent)
		return FPD_EINVAL;
	return fpd_grpc_server_start(d->grpc, err);
}

static void stop(struct daemon *d)
{
	fpd_grpc_server_free(d->grpc);
	fpd_agent_free(d->agent);
	fpd_registry_free(d->registry);
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
