"""kwok + kube-scheduler: pods without a nodeName are scheduled by the real kube-scheduler onto a
kwok node, and kwok moves them through their phases as a kubelet would report them."""
from __future__ import annotations

import time

from ctl_helpers import condition, get, wait_for


def pod(name, restart="Always", **spec):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"restartPolicy": restart,
                     "containers": [{"name": "main", "image": "registry.invalid/fpd/noop:1",
                                     "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}],
                     **spec}}


def test_node_is_ready_and_managed_by_kwok(cluster, kwok):
    node = get(cluster, "/api/v1/nodes/fpd-kwok-node-0")
    assert condition(node, "Ready") == "True", node["status"]
    assert node["status"]["nodeInfo"]["kubeletVersion"].startswith("kwok-"), node["status"]["nodeInfo"]
    assert node["status"]["allocatable"]["cpu"] == "32"


def test_unscheduled_pod_is_scheduled_and_runs(cluster, kwok):
    ns = cluster.new_namespace("kwok")
    cluster.must("POST", f"/api/v1/namespaces/{ns}/pods", pod("runner"))
    path = f"/api/v1/namespaces/{ns}/pods/runner"
    p = wait_for("pod Running", lambda: (lambda o: o if o and o["status"].get("phase") == "Running" else None)(
        get(cluster, path)))
    assert p["spec"]["nodeName"] == "fpd-kwok-node-0"  # written by kube-scheduler (Binding)
    assert condition(p, "PodScheduled") == "True"
    assert condition(p, "Ready") == "True"
    assert p["status"]["podIP"].startswith("10.77."), p["status"]
    assert p["status"]["containerStatuses"][0]["state"].get("running"), p["status"]
    # restartPolicy Always: it stays Running
    time.sleep(3)
    assert get(cluster, path)["status"]["phase"] == "Running"


def test_restart_never_pod_succeeds(cluster, kwok):
    ns = cluster.new_namespace("kwok")
    cluster.must("POST", f"/api/v1/namespaces/{ns}/pods", pod("task", restart="Never"))
    path = f"/api/v1/namespaces/{ns}/pods/task"
    seen = []

    def succeeded():
        o = get(cluster, path)
        ph = o and o["status"].get("phase")
        if ph and (not seen or seen[-1] != ph):
            seen.append(ph)
        return o if ph == "Succeeded" else None

    p = wait_for("pod Succeeded", succeeded, interval=0.1)
    assert "Running" in seen or p["status"].get("startTime"), seen
    st = p["status"]["containerStatuses"][0]["state"]["terminated"]
    assert st["exitCode"] == 0 and st["reason"] == "Completed"


def test_unschedulable_pod_stays_pending(cluster, kwok):
    """The real scheduler's verdict: no node has 1000 CPUs."""
    ns = cluster.new_namespace("kwok")
    big = pod("too-big")
    big["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "1000"
    cluster.must("POST", f"/api/v1/namespaces/{ns}/pods", big)
    path = f"/api/v1/namespaces/{ns}/pods/too-big"

    def unschedulable():
        o = get(cluster, path)
        for c in o["status"].get("conditions") or []:
            if c["type"] == "PodScheduled" and c["status"] == "False":
                return c
        return None

    c = wait_for("PodScheduled=False", unschedulable)
    assert c["reason"] == "Unschedulable" and "Insufficient cpu" in c["message"], c
    p = get(cluster, path)
    assert p["status"]["phase"] == "Pending" and not p["spec"].get("nodeName")


def test_deleted_pod_is_removed(cluster, kwok):
    """A bound pod needs its kubelet to confirm deletion; kwok's pod-delete stage does."""
    ns = cluster.new_namespace("kwok")
    cluster.must("POST", f"/api/v1/namespaces/{ns}/pods", pod("gone"))
    path = f"/api/v1/namespaces/{ns}/pods/gone"
    wait_for("pod Running", lambda: (get(cluster, path) or {}).get("status", {}).get("phase") == "Running")
    cluster.must("DELETE", path)
    wait_for("pod removed", lambda: cluster.request("GET", path)[0] == 404)
