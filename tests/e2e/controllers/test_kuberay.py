"""The real KubeRay ray-operator (v1.5.0, its own CRDs) against the real API server, with
kube-scheduler + kwok running the pods it creates and kube-controller-manager's job controller
running its submitter Job.

A RayJob cannot reach SUCCEEDED here, by construction: the operator learns the Ray job's status
only from the Ray dashboard's HTTP API (GET /api/jobs/<id> on the head Service, port 8265), and
a kwok pod is no process, so nothing serves it. What the operator does do is tested: RayCluster
→ head/worker pods → Ready; RayJob → RayCluster → submitter Job → Running, and, once the
submitter Job has finished without a job status from the dashboard, the operator's own verdict
(Failed, JobDeploymentStatusTransitionGracePeriodExceeded, after its fixed 30 s)."""
from __future__ import annotations

from ctl_helpers import condition, get, wait_for

RAY = "/apis/ray.io/v1"
IMAGE = "rayproject/ray:2.46.0"


def group_template(container, cpu="500m"):
    return {"spec": {"containers": [{"name": container, "image": IMAGE,
                                     "resources": {"requests": {"cpu": cpu, "memory": "512Mi"},
                                                   "limits": {"cpu": cpu, "memory": "512Mi"}}}]}}


def cluster_spec(workers=2):
    return {"rayVersion": "2.46.0",
            "headGroupSpec": {"rayStartParams": {}, "template": group_template("ray-head", "1")},
            "workerGroupSpecs": [{"groupName": "workers", "replicas": workers, "minReplicas": 0,
                                  "maxReplicas": 4, "rayStartParams": {},
                                  "template": group_template("ray-worker")}]}


def pods(cluster, ns, selector):
    st, lst = cluster.request("GET", f"/api/v1/namespaces/{ns}/pods", query={"labelSelector": selector})
    assert st == 200, lst
    return lst["items"]


def test_raycluster_reconciled_into_running_pods(cluster, kuberay, kwok):
    ns = cluster.new_namespace("ray")
    cluster.must("POST", f"{RAY}/namespaces/{ns}/rayclusters",
                 {"apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": {"name": "rc"},
                  "spec": cluster_spec(workers=2)})
    rc = wait_for("RayCluster ready", lambda: (lambda o: o if (o.get("status") or {}).get("state") == "ready" else None)(
        get(cluster, f"{RAY}/namespaces/{ns}/rayclusters/rc")), timeout=90)
    st = rc["status"]
    assert st["readyWorkerReplicas"] == 2 and st["desiredWorkerReplicas"] == 2, st
    assert condition(rc, "HeadPodReady") == "True" and condition(rc, "RayClusterProvisioned") == "True", st
    assert st["head"]["podIP"].startswith("10.77."), st["head"]  # the IP kwok gave the pod

    head = pods(cluster, ns, "ray.io/cluster=rc,ray.io/node-type=head")
    workers = pods(cluster, ns, "ray.io/cluster=rc,ray.io/node-type=worker")
    assert len(head) == 1 and len(workers) == 2
    for p in head + workers:
        assert p["status"]["phase"] == "Running" and p["spec"]["nodeName"] == "fpd-kwok-node-0"
        assert p["metadata"]["ownerReferences"][0]["kind"] == "RayCluster"
    svc = get(cluster, f"/api/v1/namespaces/{ns}/services/{st['head']['serviceName']}")
    assert any(p["name"] == "dashboard" and p["port"] == 8265 for p in svc["spec"]["ports"]), svc["spec"]

    # Scale: the operator reconciles the new replica count.
    cluster.must("PATCH", f"{RAY}/namespaces/{ns}/rayclusters/rc",
                 {"spec": {"workerGroupSpecs": [dict(cluster_spec()["workerGroupSpecs"][0], replicas=3)]}},
                 "application/merge-patch+json")
    wait_for("3 worker pods Running", lambda: len([p for p in pods(cluster, ns, "ray.io/cluster=rc,ray.io/node-type=worker")
                                                   if p["status"].get("phase") == "Running"]) == 3, timeout=60)


def test_rayjob_progress_and_operator_verdict_without_dashboard(cluster, kuberay, kwok, controller_manager):
    ns = cluster.new_namespace("ray")
    path = f"{RAY}/namespaces/{ns}/rayjobs/rj"
    cluster.must("POST", f"{RAY}/namespaces/{ns}/rayjobs",
                 {"apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": {"name": "rj"},
                  "spec": {"entrypoint": "python -c 'print(42)'", "submissionMode": "K8sJobMode",
                           "rayClusterSpec": cluster_spec(workers=1)}})
    seen = []

    def status(want):
        def check():
            rj = get(cluster, path)
            s = (rj or {}).get("status") or {}
            d = s.get("jobDeploymentStatus")
            if d and (not seen or seen[-1] != d):
                seen.append(d)
            return rj if d == want else None
        return check

    rj = wait_for("RayJob Running", status("Running"), timeout=120)
    s = rj["status"]
    assert s["rayClusterName"].startswith("rj-") and s["jobId"], s
    assert s["dashboardURL"].endswith(":8265"), s
    rc = get(cluster, f"{RAY}/namespaces/{ns}/rayclusters/{s['rayClusterName']}")
    assert rc["status"]["state"] == "ready", rc["status"]
    assert any(o["kind"] == "RayJob" and o["name"] == "rj" for o in rc["metadata"]["ownerReferences"])
    assert len(pods(cluster, ns, f"ray.io/cluster={s['rayClusterName']}")) == 2
    submitter = wait_for("submitter Job", lambda: get(cluster, f"/apis/batch/v1/namespaces/{ns}/jobs/rj"))
    cmd = " ".join(submitter["spec"]["template"]["spec"]["containers"][0]["command"]
                   + submitter["spec"]["template"]["spec"]["containers"][0].get("args", []))
    assert "ray job submit" in cmd and s["jobId"] in cmd, cmd

    # kwok completes the submitter pod, the job controller marks the Job Complete; the Ray job's
    # own status never comes (no dashboard), and after 30 s the operator gives its verdict.
    wait_for("submitter Job Complete",
             lambda: condition(get(cluster, f"/apis/batch/v1/namespaces/{ns}/jobs/rj"), "Complete") == "True",
             timeout=90)
    rj = wait_for("RayJob Failed", status("Failed"), timeout=120, interval=1)
    s = rj["status"]
    assert s["reason"] == "JobDeploymentStatusTransitionGracePeriodExceeded", s
    assert s["jobStatus"] == "FAILED" and "did not reach terminal state" in s["message"], s
    assert "Running" in seen and seen[-1] == "Failed" and seen.index("Running") < len(seen) - 1, seen
    log = kuberay.log.read_text(errors="replace")
    assert "Failed to get job info" in log, "the operator never asked the dashboard"
