"""flyteplugd (FPD_BIN) against the real KubeRay operator: CreateTask of a flytekit Ray task makes
a RayJob, the operator reconciles it into a RayCluster whose pods kwok runs, and GetTask reports
the phase the daemon maps from the status the operator writes: Running, then the operator's own
failure once the submitter has finished (no Ray dashboard answers here, see test_kuberay.py).
DeleteTask removes the RayJob through the operator's finalizer; the garbage collector removes
its RayCluster and pods."""
from __future__ import annotations

from ctl_helpers import get, wait_for

import ray_dask_tasks  # noqa: E402  (tests/e2e/operators, put on sys.path by conftest)
from operator_helpers import PHASE, CrdTask, create  # noqa: E402

RAY = CrdTask("ray.io", "v1", "rayjobs", "ray")


def pods(cluster, ns, selector):
    st, lst = cluster.request("GET", f"/api/v1/namespaces/{ns}/pods", query={"labelSelector": selector})
    assert st == 200, lst
    return lst["items"]


def test_flyteplugd_rayjob_reconciled_by_kuberay(cluster, kuberay, kwok, daemon):
    ns = cluster.new_namespace("fpdray")
    execution = "fpdray"
    name = f"{execution}-n0-0"
    meta = create(daemon, ns, execution, ray_dask_tasks.template("ray_basic"))
    assert RAY.stored(cluster, ns, name) is not None, daemon.tail()

    # The operator: finalizer, job id, RayCluster, head + 2 workers Running on the kwok node.
    rj = wait_for("RayJob Running", lambda: (lambda o: o if ((o or {}).get("status") or {}).get(
        "jobDeploymentStatus") == "Running" else None)(RAY.stored(cluster, ns, name)), timeout=90)
    assert "ray.io/rayjob-finalizer" in rj["metadata"]["finalizers"], rj["metadata"]  # the operator's
    rc_name = rj["status"]["rayClusterName"]
    rc = get(cluster, f"/apis/ray.io/v1/namespaces/{ns}/rayclusters/{rc_name}")
    assert rc["status"]["state"] == "ready", rc["status"]
    running = [p for p in pods(cluster, ns, f"ray.io/cluster={rc_name}") if p["status"].get("phase") == "Running"]
    assert len(running) == 3, [(p["metadata"]["name"], p["status"].get("phase")) for p in running]
    for p in running:  # the daemon's labels reach the pods the operator makes
        assert p["metadata"]["labels"]["execution-id"] == execution

    r = RAY.wait_phase(daemon, meta, PHASE.RUNNING)
    assert r.log_links, "no log links"

    # The submitter Job completes (kwok), the Ray job's status never comes: the operator fails
    # the RayJob 30 s later and the daemon reports that as a retryable failure.
    r = RAY.wait_for(daemon, meta, lambda r: r.phase == PHASE.RETRYABLE_FAILED, "retryable failure", timeout=120)
    assert f"Failed to run Ray job {name} with error: [JobDeploymentStatusTransitionGracePeriodExceeded]" \
        in r.message, r.message
    assert "did not reach terminal state" in r.message, r.message

    RAY.delete(daemon, meta)
    RAY.wait_deleted(daemon, cluster, ns, name, timeout=60)
    wait_for("RayCluster garbage-collected",
             lambda: cluster.request("GET", f"/apis/ray.io/v1/namespaces/{ns}/rayclusters/{rc_name}")[0] == 404,
             timeout=60)
    wait_for("Ray pods removed", lambda: not pods(cluster, ns, f"ray.io/cluster={rc_name}"), timeout=60)
