/*
 * The agent services (see agent.h). Each service lives in its own file; this one only builds
 * and tears them down together. The registry is read-only, so nothing here changes after start
 * except the engine the task calls go to.
 */
#include "agent/agent.h"

#include "agent/async.h"
#include "agent/metadata.h"
#include "core/mem.h"

#include <stdlib.h>

struct fpd_agent {
	struct fpd_metadata *metadata;
	struct fpd_async *async;
};

struct fpd_agent *fpd_agent_new(struct fpd_grpc_server *srv, const struct fpd_registry *reg,
                                struct fpd_engine *engine, struct fpd_error *err)
{
	struct fpd_agent *a = fpd_calloc(1, sizeof(*a));
	a->metadata = fpd_metadata_new(srv, reg, err);
	if (a->metadata)
		a->async = fpd_async_new(srv, engine, err);
	if (!a->metadata || !a->async) {
		fpd_agent_free(a);
		return NULL;
	}
	return a;
}

void fpd_agent_set_engine(struct fpd_agent *agent, struct fpd_engine *engine)
{
	fpd_async_set_engine(agent->async, engine);
}

void fpd_agent_free(struct fpd_agent *agent)
{
	if (!agent)
		return;
	fpd_metadata_free(agent->metadata);
	fpd_async_free(agent->async);
	free(agent);
}
