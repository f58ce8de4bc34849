"""Kueue with its admission webhooks registered and reached by the real API server (its own
cluster: kube-apiserver with --enable-aggregator-routing, so that a webhook Service resolves to
its EndpointSlice). The webhooks then do what clients had to do without them: a queue-labelled
Job created running is suspended on admission, and a queue-labelled plain Pod is gated and
labelled managed (pod integration), both then admitted by Kueue and run by kwok; and a
flyteplugd task whose execution carries the queue label is held, then admitted."""
from __future__ import annotations

import time

import engine_conftest
import flytekit_tasks
import pytest
from cluster import Cluster
from ctl_helpers import condition, get, wait_for
from flyteidl.admin import agent_pb2
from flyteidl.core import execution_pb2
from test_kueue import KQ, QUEUE_LABEL, job

GATE = "kueue.x-k8s.io/admission"
PHASE = execution_pb2.TaskExecution


@pytest.fixture(scope="module")
def whcluster(tmp_path_factory):
    c = Cluster(workdir=tmp_path_factory.mktemp("kueue-wh"),
                extra_apiserver_args=["--enable-aggregator-routing=true"])
    c.start()
    c.start_controller_manager()
    c.start_scheduler()
    c.start_kwok(["fpd-kwok-node-0"], complete_unowned_after_ms=1000)
    wait_for("node untainted", lambda: not get(c, "/api/v1/nodes/fpd-kwok-node-0")["spec"].get("taints"), timeout=60)
    kq = c.start_kueue(frameworks=("batch/job", "pod"), webhooks=True)
    ns = c.new_namespace("kqwh")
    flavor, cq = f"{ns}-flavor", f"{ns}-cq"
    c.must("POST", f"{KQ}/resourceflavors", {"apiVersion": "kueue.x-k8s.io/v1beta2",
                                             "kind": "ResourceFlavor", "metadata": {"name": flavor}})
    c.must("POST", f"{KQ}/clusterqueues", {
        "apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue", "metadata": {"name": cq},
        "spec": {"namespaceSelector": {}, "resourceGroups": [{"coveredResources": ["cpu", "memory"], "flavors": [{
            "name": flavor, "resources": [{"name": "cpu", "nominalQuota": "2"},
                                          {"name": "memory", "nominalQuota": "4Gi"}]}]}]}})
    c.must("POST", f"{KQ}/namespaces/{ns}/localqueues", {
        "apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "LocalQueue",
        "metadata": {"name": "lq"}, "spec": {"clusterQueue": cq}})
    wait_for("LocalQueue Active", lambda: condition(get(c, f"{KQ}/namespaces/{ns}/localqueues/lq"), "Active") == "True")
    yield c, ns
    assert kq.alive(), kq.tail()
    c.stop()


def test_job_webhook_suspends_then_kueue_admits(whcluster):
    c, ns = whcluster
    j = job("unsuspended", "lq")
    j["spec"]["suspend"] = False
    created = c.must("POST", f"/apis/batch/v1/namespaces/{ns}/jobs", j)
    assert created["spec"]["suspend"] is True, "Kueue's Job webhook did not suspend it"
    done = wait_for("Job Complete", lambda: (lambda o: o if condition(o, "Complete") == "True" else None)(
        get(c, f"/apis/batch/v1/namespaces/{ns}/jobs/unsuspended")), timeout=90)
    assert done["spec"]["suspend"] is False and done["status"]["succeeded"] == 1


def test_validating_webhook_rejects_a_bad_queue_label(whcluster):
    c, ns = whcluster
    j = job("badlabel", "Bad_Queue")  # a valid label value, not a valid queue (DNS subdomain) name
    st, obj = c.request("POST", f"/apis/batch/v1/namespaces/{ns}/jobs", j)
    assert st == 403 and 'admission webhook "vjob.kb.io" denied the request' in obj["message"], (st, obj)
    assert "Bad_Queue" in obj["message"], obj["message"]


def test_pod_integration_gates_admits_and_runs(whcluster):
    c, ns = whcluster
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "queued", "labels": {QUEUE_LABEL: "lq"}},
           "spec": {"restartPolicy": "Never", "containers": [{
               "name": "main", "image": "registry.invalid/fpd/noop:1",
               "resources": {"requests": {"cpu": "500m", "memory": "128Mi"}}}]}}
    created = c.must("POST", f"/api/v1/namespaces/{ns}/pods", pod)
    assert {"name": GATE} in created["spec"].get("schedulingGates", []), created["spec"]
    assert created["metadata"]["labels"].get("kueue.x-k8s.io/managed") == "true", created["metadata"]["labels"]
    p = wait_for("pod Succeeded", lambda: (lambda o: o if o["status"].get("phase") == "Succeeded" else None)(
        get(c, f"/api/v1/namespaces/{ns}/pods/queued")), timeout=90)
    assert GATE not in [g["name"] for g in p["spec"].get("schedulingGates", [])]
    assert p["spec"]["nodeName"] == "fpd-kwok-node-0"
    st, lst = c.request("GET", f"{KQ}/namespaces/{ns}/workloads")
    wl = [w for w in lst["items"] if any(o["kind"] == "Pod" and o["name"] == "queued"
                                         for o in w["metadata"].get("ownerReferences") or [])]
    assert wl and condition(wl[0], "Admitted") == "True", lst["items"]


def test_flyteplugd_pod_held_then_admitted_by_kueue(whcluster, tmp_path):
    """A flyteplugd task whose execution carries the queue label: Kueue's pod webhook gates the
    pod the daemon creates, GetTask reports it WAITING_FOR_RESOURCES while the ClusterQueue holds, and once
    the hold is lifted Kueue admits it and the task runs to SUCCEEDED on the kwok node."""
    c, _ = whcluster
    ns = c.new_namespace("kqfpd")
    flavor, cq = f"{ns}-flavor", f"{ns}-cq"
    c.must("POST", f"{KQ}/resourceflavors", {"apiVersion": "kueue.x-k8s.io/v1beta2",
                                             "kind": "ResourceFlavor", "metadata": {"name": flavor}})
    c.must("POST", f"{KQ}/clusterqueues", {
        "apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue", "metadata": {"name": cq},
        "spec": {"stopPolicy": "Hold",
                 "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}},
                 "resourceGroups": [{"coveredResources": ["cpu", "memory"], "flavors": [{
                     "name": flavor, "resources": [{"name": "cpu", "nominalQuota": "2"},
                                                   {"name": "memory", "nominalQuota": "4Gi"}]}]}]}})
    c.must("POST", f"{KQ}/namespaces/{ns}/localqueues", {
        "apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "LocalQueue",
        "metadata": {"name": "fpdq"}, "spec": {"clusterQueue": cq}})

    d = engine_conftest.Daemon(tmp_path, c).start()
    try:
        execution = "kqfpd"
        md = engine_conftest.execution_metadata(ns, execution, extra_labels={QUEUE_LABEL: "fpdq"})
        req = agent_pb2.CreateTaskRequest(template=flytekit_tasks.python_task(),
                                          output_prefix=f"s3://bucket/meta/{execution}/n0/data/0",
                                          task_execution_metadata=md)
        meta = d.stub.CreateTask(req, timeout=30).resource_meta
        name = f"{execution}-n0-0"

        def gettask():
            return d.stub.GetTask(agent_pb2.GetTaskRequest(task_type="python-task", resource_meta=meta),
                                  timeout=30).resource

        p = get(c, f"/api/v1/namespaces/{ns}/pods/{name}")
        assert p is not None, d.tail()
        assert p["metadata"]["labels"][QUEUE_LABEL] == "fpdq"
        assert {"name": GATE} in p["spec"].get("schedulingGates", []), p["spec"]
        time.sleep(3)  # held: the ClusterQueue admits nothing
        p = get(c, f"/api/v1/namespaces/{ns}/pods/{name}")
        assert {"name": GATE} in p["spec"].get("schedulingGates", []) and not p["spec"].get("nodeName")
        r = gettask()
        assert (r.phase, r.message) == (PHASE.WAITING_FOR_RESOURCES, "waiting for Kueue admission in queue fpdq"), \
            (PHASE.Phase.Name(r.phase), r.message)

        c.must("PATCH", f"{KQ}/clusterqueues/{cq}", {"spec": {"stopPolicy": "None"}}, "application/merge-patch+json")
        deadline, seen = time.time() + 90, []
        while time.time() < deadline:
            r = gettask()
            name_ = PHASE.Phase.Name(r.phase)
            if not seen or seen[-1] != name_:
                seen.append(name_)
            if r.phase in (PHASE.SUCCEEDED, PHASE.FAILED, PHASE.RETRYABLE_FAILED):
                break
            time.sleep(0.2)
        assert seen[-1] == "SUCCEEDED", (seen, r.message, d.tail())
        p = get(c, f"/api/v1/namespaces/{ns}/pods/{name}")
        assert p["spec"]["nodeName"] == "fpd-kwok-node-0" and not p["spec"].get("schedulingGates")
    finally:
        d.stop()
