/*
 * Admin HTTP endpoints for people and probes, on libmicrohttpd driven by the daemon's libev
 * loop (MHD's epoll descriptor is one ev_io; no threads):
 *
 *   GET /healthz   200 "ok" while the process serves
 *   GET /readyz    200 once the engine runs and every informer has listed, else 503 + reason;
 *                  the text ends with the leader Lease's state ("leader: this replica" or
 *                  "leader: <holder>"); with "?format=json" the same as a JSON object
 *   GET /metrics   Prometheus text: executions, calls, cleanups, gRPC connections and calls,
 *                  flyteplugd_leader{identity}, flyteplugd_signing_keys
 *   GET /executions  the tracked executions as JSON, a page at a time (engine/report.h),
 *                    written in slices with a bounded share of each loop iteration
 */
#ifndef FPD_ADMIN_ADMIN_H
#define FPD_ADMIN_ADMIN_H

#include "core/config.h"
#include <flyteplugd/error.h>
#include "engine/engine.h"
#include "grpc/grpc.h"

#include <ev.h>

struct fpd_admin;
struct fpd_keys;
struct fpd_lease;
struct fpd_tasktypes_watch;

/* What the endpoints read. engine points at the daemon's engine pointer (NULL until the
 * Kubernetes API is reachable); all borrowed, read from the loop only. */
struct fpd_admin_sources {
	struct fpd_engine *const *engine;
	const struct fpd_grpc_server *grpc;
	struct fpd_lease *const *lease; /* NULL or *lease NULL: leader election is off */
	struct fpd_keys *const *keys;   /* NULL or *keys NULL: no keys yet */
	/* NULL or *tasktypes NULL: no declared task types are checked */
	struct fpd_tasktypes_watch *const *tasktypes;
};

/* Listens on cfg->listen. New server, or NULL with err filled (address taken, bad address). */
struct fpd_admin *fpd_admin_new(struct ev_loop *loop, const struct fpd_config_admin *cfg,
                                const struct fpd_admin_sources *sources, struct fpd_error *err);
void fpd_admin_free(struct fpd_admin *a);

#endif
