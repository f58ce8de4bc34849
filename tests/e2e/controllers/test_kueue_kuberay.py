"""The real Kueue queueing a RayJob that the real KubeRay operator runs: admitted while the
ClusterQueue has quota (Kueue unsuspends it, KubeRay then creates its RayCluster), held while it
has not (KubeRay keeps it Suspended, with no RayCluster)."""
from __future__ import annotations

from ctl_helpers import condition, get, wait_for
from test_kuberay import cluster_spec
from test_kueue import KQ, QUEUE_LABEL

RAY = "/apis/ray.io/v1"


def rayjob(name, queue, head_cpu="1"):
    spec = cluster_spec(workers=1)
    head = spec["headGroupSpec"]["template"]["spec"]["containers"][0]["resources"]
    head["requests"]["cpu"] = head["limits"]["cpu"] = head_cpu
    return {"apiVersion": "ray.io/v1", "kind": "RayJob",
            "metadata": {"name": name, "labels": {QUEUE_LABEL: queue}},
            "spec": {"suspend": True, "shutdownAfterJobFinishes": True, "entrypoint": "python -c 'print(1)'",
                     "rayClusterSpec": spec}}


def workload_of(cluster, ns, owner):
    st, lst = cluster.request("GET", f"{KQ}/namespaces/{ns}/workloads")
    assert st == 200, lst
    for wl in lst["items"]:
        if any(o.get("kind") == "RayJob" and o.get("name") == owner for o in wl["metadata"].get("ownerReferences") or []):
            return wl
    return None


def test_kueue_admits_a_rayjob_kuberay_runs_it(cluster, kueue, kuberay, kwok):
    ns = cluster.new_namespace("kqray")
    flavor, cq = f"{ns}-flavor", f"{ns}-cq"
    cluster.must("POST", f"{KQ}/resourceflavors", {"apiVersion": "kueue.x-k8s.io/v1beta2",
                                                   "kind": "ResourceFlavor", "metadata": {"name": flavor}})
    cluster.must("POST", f"{KQ}/clusterqueues", {
        "apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue", "metadata": {"name": cq},
        "spec": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}},
                 "resourceGroups": [{"coveredResources": ["cpu", "memory"], "flavors": [{
                     "name": flavor, "resources": [{"name": "cpu", "nominalQuota": "4"},
                                                   {"name": "memory", "nominalQuota": "8Gi"}]}]}]}})
    cluster.must("POST", f"{KQ}/namespaces/{ns}/localqueues", {
        "apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "LocalQueue",
        "metadata": {"name": "lq"}, "spec": {"clusterQueue": cq}})
    wait_for("LocalQueue Active",
             lambda: condition(get(cluster, f"{KQ}/namespaces/{ns}/localqueues/lq"), "Active") == "True")

    jobs = f"{RAY}/namespaces/{ns}/rayjobs"
    cluster.must("POST", jobs, rayjob("fits", "lq"))
    wl = wait_for("Workload of `fits` admitted",
                  lambda: (lambda w: w if condition(w, "Admitted") == "True" else None)(workload_of(cluster, ns, "fits")))
    assert {ps["name"] for ps in wl["spec"]["podSets"]} >= {"head", "workers"}, wl["spec"]["podSets"]
    rj = wait_for("`fits` unsuspended and Running", lambda: (lambda o: o if not o["spec"].get("suspend") and (
        o.get("status") or {}).get("jobDeploymentStatus") == "Running" else None)(get(cluster, f"{jobs}/fits")),
        timeout=90)
    rc = get(cluster, f"{RAY}/namespaces/{ns}/rayclusters/{rj['status']['rayClusterName']}")
    assert rc["status"]["state"] == "ready", rc["status"]

    cluster.must("POST", jobs, rayjob("toobig", "lq", head_cpu="6"))  # head alone > 4 CPUs

    def held():
        w = workload_of(cluster, ns, "toobig")
        return w if condition(w, "QuotaReserved") == "False" else None

    w = held() or wait_for("Workload of `toobig` held", held)
    assert condition(w, "Admitted") != "True"
    rj = wait_for("`toobig` Suspended", lambda: (lambda o: o if (o.get("status") or {}).get(
        "jobDeploymentStatus") == "Suspended" else None)(get(cluster, f"{jobs}/toobig")))
    assert rj["spec"]["suspend"] is True and not rj["status"].get("rayClusterName"), rj["status"]
    st, lst = cluster.request("GET", f"{RAY}/namespaces/{ns}/rayclusters")
    assert [c["metadata"]["name"] for c in lst["items"]] == [rc["metadata"]["name"]], lst["items"]
