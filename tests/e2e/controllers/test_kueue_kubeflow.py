"""The real Kueue (its kubeflow.org/pytorchjob integration) admitting a PyTorchJob that
flyteplugd created from a real flytekitplugins-kfpytorch task: the daemon creates it suspended
with the execution's queue label, GetTask reports WAITING_FOR_RESOURCES while the ClusterQueue
holds it, and once the hold is lifted Kueue admits the Workload and clears runPolicy.suspend, and
the task leaves the wait. No training operator runs: the job's own phases are tests/e2e/operators'."""
from __future__ import annotations

import time

import engine_conftest
import kubeflow_tasks
from ctl_helpers import condition, get, wait_for
from flyteidl.admin import agent_pb2
from flyteidl.core import execution_pb2
from test_kueue import KQ, QUEUE_LABEL

PHASE = execution_pb2.TaskExecution


def workload_of(cluster, ns, kind, owner):
    st, lst = cluster.request("GET", f"{KQ}/namespaces/{ns}/workloads")
    assert st == 200, lst
    for wl in lst["items"]:
        if any(o.get("kind") == kind and o.get("name") == owner for o in wl["metadata"].get("ownerReferences") or []):
            return wl
    return None


def test_kueue_admits_a_flyteplugd_pytorchjob(cluster, kueue, daemon):
    ns = cluster.new_namespace("kqkf")
    flavor, cq = f"{ns}-flavor", f"{ns}-cq"
    cluster.must("POST", f"{KQ}/resourceflavors", {"apiVersion": "kueue.x-k8s.io/v1beta2",
                                                   "kind": "ResourceFlavor", "metadata": {"name": flavor}})
    cluster.must("POST", f"{KQ}/clusterqueues", {
        "apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue", "metadata": {"name": cq},
        "spec": {"stopPolicy": "Hold",
                 "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}},
                 "resourceGroups": [{"coveredResources": ["cpu", "memory"], "flavors": [{
                     "name": flavor, "resources": [{"name": "cpu", "nominalQuota": "8"},
                                                   {"name": "memory", "nominalQuota": "16Gi"}]}]}]}})
    cluster.must("POST", f"{KQ}/namespaces/{ns}/localqueues", {
        "apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "LocalQueue",
        "metadata": {"name": "lq"}, "spec": {"clusterQueue": cq}})

    execution = "kqtorch"
    md = engine_conftest.execution_metadata(ns, execution, extra_labels={QUEUE_LABEL: "lq"})
    req = agent_pb2.CreateTaskRequest(template=kubeflow_tasks.CASES["torch-defaults"](),
                                      output_prefix=f"s3://bucket/meta/{execution}/n0/data/0",
                                      task_execution_metadata=md)
    meta = daemon.stub.CreateTask(req, timeout=30).resource_meta
    name = f"{execution}-n0-0"
    path = f"/apis/kubeflow.org/v1/namespaces/{ns}/pytorchjobs/{name}"

    def gettask():
        return daemon.stub.GetTask(agent_pb2.GetTaskRequest(task_type="pytorch", resource_meta=meta),
                                   timeout=30).resource

    job = get(cluster, path)
    assert job is not None, daemon.tail()
    assert job["metadata"]["labels"][QUEUE_LABEL] == "lq" and job["spec"]["runPolicy"]["suspend"] is True
    wl = wait_for("Kueue's Workload for the PyTorchJob", lambda: workload_of(cluster, ns, "PyTorchJob", name))
    assert {ps["name"] for ps in wl["spec"]["podSets"]} == {"master", "worker"}, wl["spec"]["podSets"]
    time.sleep(3)  # held: the ClusterQueue admits nothing
    assert get(cluster, path)["spec"]["runPolicy"]["suspend"] is True
    r = gettask()
    assert (r.phase, r.message) == (PHASE.WAITING_FOR_RESOURCES, "waiting for Kueue admission in queue lq"), \
        (PHASE.Phase.Name(r.phase), r.message)

    cluster.must("PATCH", f"{KQ}/clusterqueues/{cq}", {"spec": {"stopPolicy": "None"}},
                 "application/merge-patch+json")
    wait_for("Workload admitted", lambda: condition(workload_of(cluster, ns, "PyTorchJob", name), "Admitted") == "True",
             timeout=60)
    wait_for("runPolicy.suspend cleared by Kueue",
             lambda: get(cluster, path)["spec"]["runPolicy"].get("suspend") is False, timeout=60)
    r = wait_for("GetTask past the wait", lambda: (lambda r: r if r.phase != PHASE.WAITING_FOR_RESOURCES else None)(
        gettask()), timeout=30)
    assert r.phase == PHASE.QUEUED, (PHASE.Phase.Name(r.phase), r.message)
