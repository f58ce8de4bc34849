"""A FlyteplugdTask's template sent to the real daemon with the real grpcio client: a task type
nobody declared is refused with a clear error; a declared one (the crd plugin serves task types
declared as FlyteTaskType resources) runs."""
from __future__ import annotations

import time

import grpc
import pytest
import yaml
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


def _flyte_task_type_crd():
    """The FlyteTaskType CRD the crd plugin ships, or None while there is none."""
    for path in sorted(ROOT.glob("kustomize/**/*.yaml")) + sorted(ROOT.glob("tests/cluster/crds/*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if (isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition"
                    and doc.get("spec", {}).get("names", {}).get("kind") == "FlyteTaskType"):
                return doc
    return None


# batch-job, version 2: a ConfigMap holding the task's custom.queue and custom.steps.
DECLARATION = {
    "taskType": "batch-job",
    "version": 2,
    "manifest": ("apiVersion: v1\nkind: ConfigMap\ndata:\n"
                 "  queue: \"{{ .custom.queue }}\"\n  steps: \"{{ .custom.steps }}\"\n"),
}


def test_declared_task_type_runs(cluster, daemon):
    crd = _flyte_task_type_crd()
    if crd:
        cluster.install_crds([crd])
        group, plural = crd["spec"]["group"], crd["spec"]["names"]["plural"]
        version = next(v["name"] for v in crd["spec"]["versions"] if v.get("storage"))
        scope_ns = "default" if crd["spec"].get("scope") == "Namespaced" else None
        path = cluster.resource_path(group, version, plural, scope_ns)
        cluster.request("POST", path, {"apiVersion": f"{group}/{version}", "kind": "FlyteTaskType",
                                       "metadata": {"name": "batch-job"}, "spec": DECLARATION})
    deadline = time.time() + 15
    while 2 not in served_types(daemon).get("batch-job", []) and crd and time.time() < deadline:
        time.sleep(0.5)
    if 2 not in served_types(daemon).get("batch-job", []):
        pytest.skip("needs the crd plugin: ListAgents does not list task type batch-job version 2")
    ns = cluster.new_namespace("sdkrun")
    meta = daemon.stub.CreateTask(create_request(serialize(sdk_tasks.train), ns, "decl1"),
                                  timeout=30).resource_meta
    r = daemon.stub.GetTask(agent_pb2.GetTaskRequest(task_type="batch-job", resource_meta=meta),
                            timeout=30).resource
    assert r.phase not in (PHASE.FAILED, PHASE.RETRYABLE_FAILED), (r, daemon.tail())
    daemon.stub.DeleteTask(agent_pb2.DeleteTaskRequest(task_type="batch-job", resource_meta=meta),
                           timeout=30)
