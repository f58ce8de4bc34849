"""The real Kueue (v0.17.0 controller manager, its own CRDs) against the real API server:
queue-labelled batch Jobs are admitted while the ClusterQueue has quota and held while it has
not; with the real job controller (kube-controller-manager) and kwok running the pods, the first
Job finishing releases the quota and the held Job is admitted."""
from __future__ import annotations

import pytest

from ctl_helpers import condition, get, wait_for

KQ = "/apis/kueue.x-k8s.io/v1beta2"
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"


def job(name, queue, cpu="600m", node_selector=None):
    container = {"name": "main", "image": "registry.invalid/fpd/noop:1",
                 "resources": {"requests": {"cpu": cpu, "memory": "128Mi"}}}
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "labels": {QUEUE_LABEL: queue}},
            "spec": {"suspend": True, "parallelism": 1, "completions": 1, "backoffLimit": 0,
                     "template": {"spec": {"restartPolicy": "Never", "nodeSelector": node_selector or {},
                                           "containers": [container]}}}}


def workload_of(cluster, ns, job_name):
    st, lst = cluster.request("GET", f"{KQ}/namespaces/{ns}/workloads")
    assert st == 200, lst
    for wl in lst["items"]:
        if any(o.get("kind") == "Job" and o.get("name") == job_name
               for o in wl["metadata"].get("ownerReferences") or []):
            return wl
    return None


@pytest.fixture
def queues(cluster, kueue):
    """ResourceFlavor + ClusterQueue (1 CPU, 1Gi) + LocalQueue `lq` in a new namespace."""
    ns = cluster.new_namespace("kueue")
    flavor, cq = f"{ns}-flavor", f"{ns}-cq"
    cluster.must("POST", f"{KQ}/resourceflavors", {"apiVersion": "kueue.x-k8s.io/v1beta2",
                                                   "kind": "ResourceFlavor", "metadata": {"name": flavor}})
    cluster.must("POST", f"{KQ}/clusterqueues", {
        "apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue", "metadata": {"name": cq},
        "spec": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}},
                 "resourceGroups": [{"coveredResources": ["cpu", "memory"], "flavors": [{
                     "name": flavor, "resources": [{"name": "cpu", "nominalQuota": "1"},
                                                   {"name": "memory", "nominalQuota": "1Gi"}]}]}]}})
    cluster.must("POST", f"{KQ}/namespaces/{ns}/localqueues", {
        "apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "LocalQueue",
        "metadata": {"name": "lq"}, "spec": {"clusterQueue": cq}})
    wait_for("ClusterQueue Active", lambda: condition(get(cluster, f"{KQ}/clusterqueues/{cq}"), "Active") == "True")
    wait_for("LocalQueue Active",
             lambda: condition(get(cluster, f"{KQ}/namespaces/{ns}/localqueues/lq"), "Active") == "True")
    return ns, cq


def test_clusterqueue_is_active(cluster, queues):
    ns, cq = queues
    q = get(cluster, f"{KQ}/clusterqueues/{cq}")
    assert condition(q, "Active") == "True", q["status"]


# Pods no node matches: if kwok and the job controller run in this session, the first Job must
# still not finish (and release its quota) while the second is checked.
NOWHERE = {"fpd-test/no-such-node": "true"}


def test_job_admitted_within_quota_and_held_beyond(cluster, queues):
    ns, cq = queues
    jobs = f"/apis/batch/v1/namespaces/{ns}/jobs"
    cluster.must("POST", jobs, job("first", "lq", node_selector=NOWHERE))
    wl = wait_for("Workload of `first` admitted",
                  lambda: (lambda w: w if condition(w, "Admitted") == "True" else None)(workload_of(cluster, ns, "first")))
    assert condition(wl, "QuotaReserved") == "True"
    assert wl["spec"]["queueName"] == "lq"
    assert wl["status"]["admission"]["clusterQueue"] == cq
    assert wait_for("`first` unsuspended", lambda: get(cluster, f"{jobs}/first")["spec"]["suspend"] is False)

    cluster.must("POST", jobs, job("second", "lq", node_selector=NOWHERE))  # 600m + 600m > 1 CPU

    def pending():
        w = workload_of(cluster, ns, "second")
        for c in ((w or {}).get("status") or {}).get("conditions") or []:
            if c["type"] == "QuotaReserved" and c["status"] == "False" and "insufficient" in c.get("message", ""):
                return w
        return None

    wl2 = wait_for("Workload of `second` held for quota", pending)
    assert condition(wl2, "Admitted") != "True"
    assert get(cluster, f"{jobs}/second")["spec"]["suspend"] is True
    wait_for("ClusterQueue counts 1 admitted, 1 pending",
             lambda: (lambda st: st.get("admittedWorkloads") == 1 and st.get("pendingWorkloads") == 1)(
                 get(cluster, f"{KQ}/clusterqueues/{cq}").get("status") or {}))
    assert get(cluster, f"{jobs}/second")["spec"]["suspend"] is True


def test_finished_job_releases_quota(cluster, queues, kwok, controller_manager):
    """Job controller makes the pod, kube-scheduler places it, kwok runs and completes it, the
    job controller marks the Job Complete, Kueue finishes the Workload and admits the next."""
    ns, cq = queues
    jobs = f"/apis/batch/v1/namespaces/{ns}/jobs"
    cluster.must("POST", jobs, job("a", "lq"))
    wait_for("`a` unsuspended", lambda: get(cluster, f"{jobs}/a")["spec"]["suspend"] is False)
    cluster.must("POST", jobs, job("b", "lq"))
    wait_for("Workload of `b` exists", lambda: workload_of(cluster, ns, "b"))
    assert get(cluster, f"{jobs}/b")["spec"]["suspend"] is True

    done = wait_for("`a` Complete", lambda: (lambda j: j if condition(j, "Complete") == "True" else None)(
        get(cluster, f"{jobs}/a")), timeout=90)
    assert done["status"]["succeeded"] == 1
    wl_a = wait_for("Workload of `a` Finished",
                    lambda: (lambda w: w if condition(w, "Finished") == "True" else None)(workload_of(cluster, ns, "a")))
    assert wl_a
    wait_for("`b` admitted", lambda: condition(workload_of(cluster, ns, "b"), "Admitted") == "True", timeout=60)
    wait_for("`b` unsuspended", lambda: get(cluster, f"{jobs}/b")["spec"]["suspend"] is False)
    wait_for("`b` Complete", lambda: condition(get(cluster, f"{jobs}/b"), "Complete") == "True", timeout=90)
