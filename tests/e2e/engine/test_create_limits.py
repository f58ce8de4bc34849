"""What the API server's storage refuses: an object larger than etcd accepts in one request
(--max-request-bytes, 1.5 MiB by default, which tests/cluster keeps) passes the API server's own
body limit (3 MiB) and is refused by etcd with HTTP 500 "etcdserver: request is too large". The
same object is refused every time, so the task fails permanently with that message rather than
as an outage propeller retries. Past 2 MiB the API server's etcd client refuses to send it
("trying to send message larger than max", also HTTP 500): the same."""
from __future__ import annotations

import pytest
from flyteidl.admin import agent_pb2
from flyteidl.core import execution_pb2

import flytekit_tasks
from conftest import execution_metadata

PHASE = execution_pb2.TaskExecution


@pytest.mark.parametrize("size,message", [
    (1700 << 10, "etcdserver: request is too large"),
    (2 << 20, "trying to send message larger than max")])
def test_object_too_large_for_etcd_fails_permanently(cluster, daemon, size, message):
    ns = cluster.new_namespace("big")
    md = execution_metadata(ns, "big1")
    md.environment_variables["BIG"] = "x" * size
    req = agent_pb2.CreateTaskRequest(template=flytekit_tasks.python_task(),
                                      output_prefix="s3://bucket/meta/big1/n0/data/0",
                                      task_execution_metadata=md)
    meta = daemon.stub.CreateTask(req, timeout=60).resource_meta
    r = daemon.stub.GetTask(agent_pb2.GetTaskRequest(task_type="python-task", resource_meta=meta),
                            timeout=30).resource
    assert r.phase == PHASE.FAILED, (PHASE.Phase.Name(r.phase), r.message)
    assert r.message.startswith("EntityTooLarge: ") and message in r.message, r.message
    status, _ = cluster.request("GET", f"/api/v1/namespaces/{ns}/pods/big1-n0-0")
    assert status == 404
    # The daemon goes on serving.
    meta = daemon.stub.CreateTask(agent_pb2.CreateTaskRequest(
        template=flytekit_tasks.python_task(), output_prefix="s3://bucket/meta/small/n0/data/0",
        task_execution_metadata=execution_metadata(ns, "small")), timeout=30).resource_meta
    assert cluster.request("GET", f"/api/v1/namespaces/{ns}/pods/small-n0-0")[0] == 200


def test_delete_task_is_logged(cluster, daemon):
    """DeleteTask leaves a line naming the object and the outcome."""
    ns = cluster.new_namespace("dlog")
    req = agent_pb2.CreateTaskRequest(template=flytekit_tasks.python_task(),
                                      output_prefix="s3://bucket/meta/dl1/n0/data/0",
                                      task_execution_metadata=execution_metadata(ns, "dl1"))
    meta = daemon.stub.CreateTask(req, timeout=30).resource_meta
    for _ in range(2):
        daemon.stub.DeleteTask(agent_pb2.DeleteTaskRequest(task_type="python-task", resource_meta=meta),
                               timeout=30)
    log = daemon.log.read_text(errors="replace")
    assert f"{ns}/dl1-n0-0: DeleteTask (uid " in log, daemon.tail()
    assert f"{ns}/dl1-n0-0: deleted" in log, daemon.tail()
