/*
 * The agent services (see agent.h). Each protocol family is a file set of its own (flyte1_*.c);
 * this file only builds and tears them down together. The registry is read-only, so nothing here changes after start
 * except the engine the task calls go to.
 */
#include "agent/agent.h"

#include "agent/flyte1.h"
#include "core/mem.h"

#include <stdlib.h>

struct fpd_agent {
	/* Flyte 1: flyteidl.service */
	struct fpd_flyte1_metadata *metadata;
	struct fpd_flyte1_tasks *tasks;
};

struct fpd_agent *fpd_agent_new(struct fpd_grpc_server *srv, const struct fpd_registry *reg,
                                struct fpd_engine *engine, struct fpd_error *err)
{
	struct fpd_agent *a = fpd_calloc(1, sizeof(*a));
	a->metadata = fpd_flyte1_metadata_new(srv, reg, err);
	if (a->metadata)
		a->tasks = fpd_flyte1_tasks_new(srv, engine, err);
	if (!a->metadata || !a->tasks) {
		fpd_agent_free(a);
		return NULL;
	}
	return a;
}

void fpd_agent_set_engine(struct fpd_agent *agent, struct fpd_engine *engine)
{
	fpd_flyte1_tasks_set_engine(agent->tasks, engine);
}

void fpd_agent_free(struct fpd_agent *agent)
{
	if (!agent)
		return;
	fpd_flyte1_metadata_free(agent->metadata);
	fpd_flyte1_tasks_free(agent->tasks);
	free(agent);
}
