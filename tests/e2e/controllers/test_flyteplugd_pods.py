"""flyteplugd's container tasks on a scheduled cluster: the pod the daemon creates has no
nodeName; the real kube-scheduler binds it to the kwok node, kwok runs it and (restartPolicy
Never, no owner) completes it, and GetTask follows: QUEUED/INITIALIZING → RUNNING → SUCCEEDED.
Nothing patches the pod's status but kwok."""
from __future__ import annotations

import time

from flyteidl.admin import agent_pb2
from flyteidl.core import execution_pb2

import engine_conftest
import flytekit_tasks
from ctl_helpers import get

PHASE = execution_pb2.TaskExecution


def test_python_task_scheduled_run_and_succeeded(cluster, kwok, daemon):
    ns = cluster.new_namespace("fpdpod")
    execution = "kwokpod"
    req = agent_pb2.CreateTaskRequest(template=flytekit_tasks.python_task(),
                                      output_prefix=f"s3://bucket/meta/{execution}/n0/data/0",
                                      task_execution_metadata=engine_conftest.execution_metadata(ns, execution))
    meta = daemon.stub.CreateTask(req, timeout=30).resource_meta
    name = f"{execution}-n0-0"
    assert get(cluster, f"/api/v1/namespaces/{ns}/pods/{name}") is not None, daemon.tail()

    seen, last = [], None
    deadline = time.time() + 60
    while time.time() < deadline:
        last = daemon.stub.GetTask(agent_pb2.GetTaskRequest(task_type="python-task", resource_meta=meta),
                                   timeout=30).resource
        phase = PHASE.Phase.Name(last.phase)
        if not seen or seen[-1] != phase:
            seen.append(phase)
        if last.phase == PHASE.RUNNING:
            assert any(name in l.uri for l in last.log_links), last.log_links
        if last.phase == PHASE.SUCCEEDED or last.phase > PHASE.SUCCEEDED:
            break
        time.sleep(0.2)
    assert seen[-1] == "SUCCEEDED", (seen, last.message, daemon.tail())
    assert "RUNNING" in seen, seen

    p = get(cluster, f"/api/v1/namespaces/{ns}/pods/{name}")
    assert p["spec"]["nodeName"] == "fpd-kwok-node-0"
    # ... by kube-scheduler, which only places pods that have no nodeName: its event says so
    st, ev = cluster.request("GET", f"/api/v1/namespaces/{ns}/events",
                             query={"fieldSelector": f"involvedObject.name={name}"})
    assert any(e["reason"] == "Scheduled" and "fpd-kwok-node-0" in e["message"] for e in ev["items"]), ev["items"]
    assert p["status"]["phase"] == "Succeeded"
    term = p["status"]["containerStatuses"][0]["state"]["terminated"]
    assert term["exitCode"] == 0 and term["reason"] == "Completed", term
