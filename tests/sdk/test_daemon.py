"""A FlyteplugdTask's template sent to the real daemon with the real grpcio client: a task type
nobody declared is refused with a clear error; a declared one (the crd plugin serves task types
declared as FlyteTaskType documents) runs."""
from __future__ import annotations

import time

import grpc
import pytest
from flyteidl.admin import agent_pb2
from flyteidl.core import execution_pb2

import sdk_tasks
from sdklib import ROOT, create_request, serialize, served_types

PHASE = execution_pb2.TaskExecution


def test_undeclared_task_type_is_refused(cluster, daemon):
    template = serialize(sdk_tasks.train)
    assert "batch-job" not in served_types(daemon)
    ns = cluster.new_namespace("sdk")
    with pytest.raises(grpc.RpcError) as e:
        daemon.stub.CreateTask(create_request(template, ns, "undecl1"), timeout=30)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND, e.value
    assert e.value.details() == "no plugin serves task type batch-job (version 2)", e.value.details()
    # Nothing was created, and the daemon keeps serving.
    status, objs = cluster.request("GET", f"/api/v1/namespaces/{ns}/pods")
    assert status == 200 and objs["items"] == [], objs
    assert served_types(daemon)


def job(cluster, ns, name):
    status, obj = cluster.request("GET", f"/apis/batch/v1/namespaces/{ns}/jobs/{name}")
    return obj if status == 200 else None


def test_declared_task_type_runs(cluster, daemon_factory):
    """The same kind of task, of the type examples/tasktypes/batch-job.yaml declares, through the
    crd plugin (plugins.settings.crd.dir): a Job from the task's container and config."""
    declared = ROOT / "examples" / "tasktypes" / "batch-job.yaml"
    if not declared.is_file():
        pytest.skip("needs the crd plugin: no examples/tasktypes/batch-job.yaml to declare")
    d = daemon_factory(extra_yaml=f'plugins:\n  settings:\n    crd:\n      dir: "{declared.parent}"\n')
    if 0 not in served_types(d).get("batch-job", []):
        pytest.skip("needs the crd plugin: ListAgents does not list task type batch-job version 0")
    ns = cluster.new_namespace("sdkrun")
    req = create_request(serialize(sdk_tasks.batch), ns, "decl1")
    req.inputs.literals["n"].scalar.primitive.integer = 7
    meta = d.stub.CreateTask(req, timeout=30).resource_meta
    j = job(cluster, ns, "decl1-n0-0")
    assert j is not None, d.tail()
    assert j["spec"]["backoffLimit"] == 2, j["spec"]  # config -> custom -> {{ .custom.backoffLimit }}
    c = j["spec"]["template"]["spec"]["containers"][0]
    assert c["image"] == "busybox:1.36", c
    assert c["args"] == ["echo", "7"], c["args"]

    def phase():
        return d.stub.GetTask(agent_pb2.GetTaskRequest(task_type="batch-job", resource_meta=meta),
                              timeout=30).resource

    r = phase()
    assert r.phase == PHASE.QUEUED, (r, d.tail())
    t = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    cond = {"status": "True", "lastProbeTime": t, "lastTransitionTime": t,
            "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods"}
    cluster.patch_status("batch", "v1", "jobs", ns, "decl1-n0-0", {
        "startTime": t, "completionTime": t, "succeeded": 1, "active": 0,
        "conditions": [dict(cond, type="SuccessCriteriaMet"), dict(cond, type="Complete")]})
    deadline = time.time() + 20
    while (r := phase()).phase != PHASE.SUCCEEDED and time.time() < deadline:
        time.sleep(0.2)
    assert r.phase == PHASE.SUCCEEDED, (r, d.tail())
    d.stub.DeleteTask(agent_pb2.DeleteTaskRequest(task_type="batch-job", resource_meta=meta),
                      timeout=30)
    deadline = time.time() + 20
    while job(cluster, ns, "decl1-n0-0") and time.time() < deadline:
        time.sleep(0.2)
    assert job(cluster, ns, "decl1-n0-0") is None, d.tail()
