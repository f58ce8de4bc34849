/*
 * The agent services (see agent.h). Each protocol family is a file set of its own (flyte1_*.c,
 * flyte2_*.c), both registered on the same server and answering from the same engine;
 * this file only builds and tears them down together. The registry is read-only, so nothing here changes after start
 * except the engine the task calls go to.
 */
#include "agent/agent.h"

#include "agent/flyte1.h"
#include "agent/flyte2.h"
#include "core/mem.h"

#include <stdlib.h>

struct fpd_agent {
	/* Flyte 1: flyteidl.service */
	struct fpd_flyte1_metadata *metadata;
	struct fpd_flyte1_tasks *tasks;
	/* Flyte 2: flyteidl2.connector */
	struct fpd_flyte2_metadata *metadata2;
	struct fpd_flyte2_tasks *tasks2;
};

struct fpd_agent *fpd_agent_new(struct fpd_grpc_server *srv, const struct fpd_registry *reg,
                                struct fpd_engine *engine, struct fpd_error *err)
{
	struct fpd_agent *a = fpd_calloc(1, sizeof(*a));
	a->metadata = fpd_flyte1_metadata_new(srv, reg, err);
	if (a->metadata)
		a->tasks = fpd_flyte1_tasks_new(srv, engine, err);
	if (a->tasks)
		a->metadata2 = fpd_flyte2_metadata_new(srv, reg, err);
	if (a->metadata2)
		a->tasks2 = fpd_flyte2_tasks_new(srv, engine, err);
	if (!a->tasks2) {
		fpd_agent_free(a);
		return NULL;
	}
	return a;
}

void fpd_agent_set_engine(struct fpd_agent *agent, struct fpd_engine *engine)
{
	fpd_flyte1_tasks_set_engine(agent->tasks, engine);
	fpd_flyte2_tasks_set_engine(agent->tasks2, engine);
}

void fpd_agent_free(struct fpd_agent *agent)
{
	if (!agent)
		return;
	fpd_flyte1_metadata_free(agent->metadata);
	fpd_flyte1_tasks_free(agent->tasks);
	fpd_flyte2_metadata_free(agent->metadata2);
	fpd_flyte2_tasks_free(agent->tasks2);
	free(agent);
}
