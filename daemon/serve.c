/*
 * The daemon's lifetime. One libev loop owns everything; signals arrive as ev_signal watchers so
 * shutdown runs on the loop like any other event. Subsystems are started in dependency order
 * and stopped in reverse.
 */
#include "serve.h"

#include "core/log.h"
#include "version.h"

#include <ev.h>
#include <signal.h>

struct daemon {
	struct ev_loop *loop;
	const struct fpd_config *cfg;
	ev_signal sigterm;
	ev_signal sigint;
	int stopping;
};

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
	ev_break(loop, EVBREAK_ALL);
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
	ev_run(d.loop, 0);

	ev_signal_stop(d.loop, &d.sigterm);
	ev_signal_stop(d.loop, &d.sigint);
	ev_loop_destroy(d.loop);
	fpd_log(FPD_LOG_INFO, "daemon", "stopped");
	return 0;
}
