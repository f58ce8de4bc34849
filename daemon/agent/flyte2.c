/* The Flyte 2 protocol family (flyteidl2.connector): its names and request messages for the
 * shared services (family.h), and its CreateTaskRequest read as Flyte 1's (see flyte2.h). */
#include "agent/flyte2.h"

#include "agent/flyte1.h"

#include "flyteidl/admin/agent.pb-c.h"
#include "flyteidl2/connector/connector.pb-c.h"

const struct fpd_family fpd_flyte2_family = {
    .tasks = "flyteidl2.connector.AsyncConnectorService",
    .metadata = "flyteidl2.connector.ConnectorMetadataService",
    .list = "ListConnectors",
    .describe = "GetConnector",
    .entity = "connector",
    .caller = "the Flyte 2 executor",
    .flyte1 = false,
    .request =
        {
            [FPD_FAMILY_CREATE] = &flyteidl2__connector__create_task_request__descriptor,
            [FPD_FAMILY_GET] = &flyteidl2__connector__get_task_request__descriptor,
            [FPD_FAMILY_DELETE] = &flyteidl2__connector__delete_task_request__descriptor,
            [FPD_FAMILY_METRICS] = &flyteidl2__connector__get_task_metrics_request__descriptor,
            [FPD_FAMILY_LOGS] = &flyteidl2__connector__get_task_logs_request__descriptor,
            [FPD_FAMILY_LIST] = &flyteidl2__connector__list_connectors_request__descriptor,
            [FPD_FAMILY_DESCRIBE] = &flyteidl2__connector__get_connector_request__descriptor,
        },
};

int fpd_flyte2_task_request(const uint8_t *bytes, size_t len, struct fpd_wire_arena *a,
                            struct fpd_task_request *out, char *msg, size_t size)
{
	const Flyteidl__Admin__CreateTaskRequest *req =
	    (const Flyteidl__Admin__CreateTaskRequest *)fpd_wire_decode_as(
	        &flyteidl2__connector__create_task_request__descriptor,
	        &flyteidl__admin__create_task_request__descriptor, bytes, len, a, msg, size);
	if (!req)
		return -1;
	fpd_flyte1_task_request(req, &a->arena, out);
	return 0;
}
