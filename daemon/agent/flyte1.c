/* The Flyte 1 protocol family (flyteidl.service): its names and request messages for the
 * shared services (family.h; see flyte1.h). */
#include "agent/flyte1.h"

#include "flyteidl/admin/agent.pb-c.h"

const struct fpd_family fpd_flyte1_family = {
    .tasks = "flyteidl.service.AsyncAgentService",
    .metadata = "flyteidl.service.AgentMetadataService",
    .list = "ListAgents",
    .describe = "GetAgent",
    .entity = "agent",
    .caller = "FlytePropeller",
    .flyte1 = true,
    .request =
        {
            [FPD_FAMILY_CREATE] = &flyteidl__admin__create_task_request__descriptor,
            [FPD_FAMILY_GET] = &flyteidl__admin__get_task_request__descriptor,
            [FPD_FAMILY_DELETE] = &flyteidl__admin__delete_task_request__descriptor,
            [FPD_FAMILY_METRICS] = &flyteidl__admin__get_task_metrics_request__descriptor,
            [FPD_FAMILY_LOGS] = &flyteidl__admin__get_task_logs_request__descriptor,
            [FPD_FAMILY_LIST] = &flyteidl__admin__list_agents_request__descriptor,
            [FPD_FAMILY_DESCRIBE] = &flyteidl__admin__get_agent_request__descriptor,
        },
};
