/*
 * The agent services (see agent.h): both protocol families served by the same services
 * (family.c) on the same server, answering from the same engine; this file only builds and
 * tears them down together. The registry is read-only, so nothing here changes after start
 * except the engine the task calls go to.
 */
#include "agent/agent.h"

#include "agent/family.h"
#include "agent/flyte1.h"
#include "agent/flyte2.h"
#include <flyteplugd/mem.h>

#include <stdlib.h>

struct fpd_agent {
	struct fpd_family_services *flyte1; /* flyteidl.service */
	struct fpd_family_services *flyte2; /* flyteidl2.connector */
};

struct fpd_agent *fpd_agent_new(struct fpd_grpc_server *srv, const struct fpd_registry *reg,
                                struct fpd_engine *engine, struct fpd_error *err)
{
	struct fpd_agent *a = fpd_calloc(1, sizeof(*a));
	a->flyte1 = fpd_family_serve(srv, &fpd_flyte1_family, reg, engine, err);
	if (a->flyte1)
		a->flyte2 = fpd_family_serve(srv, &fpd_flyte2_family, reg, engine, err);
	if (!a->flyte2) {
		fpd_agent_free(a);
		return NULL;
	}
	return a;
}

void fpd_agent_set_engine(struct fpd_agent *agent, struct fpd_engine *engine)
{
	fpd_family_set_engine(agent->flyte1, engine);
	fpd_family_set_engine(agent->flyte2, engine);
}

void fpd_agent_free(struct fpd_agent *agent)
{
	if (!agent)
		return;
	fpd_family_services_free(agent->flyte1);
	fpd_family_services_free(agent->flyte2);
	free(agent);
}
