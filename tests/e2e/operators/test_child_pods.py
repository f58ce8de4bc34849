"""Fail fast on an operator's child pods, whatever their role: a Spark executor, a PyTorchJob
worker and a Ray worker stuck in ImagePullBackOff fail the task once the (shortened) grace
period has passed, and the failure names the pod and its container. The pods are created as
each operator creates them (its role template's labels plus its own) and their status is
written as a kubelet would; there are no operators."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

import kubeflow_tasks
import ray_dask_tasks
import spark_tasks
from operator_helpers import PHASE, CrdTask, create, rfc3339

CRD = "spark"  # the crds fixture installs every operator's; spark, kubeflow and ray are used

SPARK = CrdTask("sparkoperator.k8s.io", "v1beta2", "sparkapplications", "spark",
                status_defaults={"driverInfo": {}})  # the CRD requires it
PYTORCH = CrdTask("kubeflow.org", "v1", "pytorchjobs", "pytorch")
RAY = CrdTask("ray.io", "v1", "rayjobs", "ray")

GRACE = "k8s:\n  image-pull-backoff-grace-period: 2s\n"


@pytest.fixture
def fast(daemon_factory):
    return daemon_factory(extra_yaml=GRACE)


def stuck(cluster, ns, pod, labels, container):
    """Creates pod with labels and writes it as stuck pulling its image since 10s ago."""
    cluster.must("POST", f"/api/v1/namespaces/{ns}/pods", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": pod, "namespace": ns, "labels": labels},
        "spec": {"containers": [{"name": container, "image": "registry.invalid/nope:1"}]}})
    since = rfc3339(datetime.now(timezone.utc) - timedelta(seconds=10))
    cluster.patch_pod_status(ns, pod, {
        "phase": "Pending",
        "conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                        "message": f"containers with unready status: [{container}]",
                        "lastTransitionTime": since}],
        "containerStatuses": [{"name": container, "ready": False, "restartCount": 0,
                               "image": "registry.invalid/nope:1", "imageID": "",
                               "state": {"waiting": {"reason": "ImagePullBackOff",
                                                     "message": "Back-off pulling image"}}}]})


def assert_names(r, pod, container):
    assert r.phase == PHASE.RETRYABLE_FAILED, (PHASE.Phase.Name(r.phase), r.message)
    assert f"pod {pod} container {container}: " in r.message, r.message
    assert "ImagePullBackOff" in r.message and "Grace period [2s] exceeded" in r.message, r.message


def test_spark_executor(cluster, crds, fast):
    ns = cluster.new_namespace("child")
    meta = create(fast, ns, "sx", spark_tasks.basic())
    name = "sx-n0-0"
    SPARK.patch(cluster, ns, name, {"applicationState": {"state": "RUNNING"}, "executionAttempts": 1})
    SPARK.wait_for(fast, meta, lambda r: r.phase == PHASE.RUNNING, "RUNNING")
    labels = dict(SPARK.stored(cluster, ns, name)["spec"]["executor"].get("labels", {}))
    labels.update({"spark-app-name": name, "spark-role": "executor", "spark-exec-id": "1"})
    stuck(cluster, ns, f"{name}-exec-1", labels, "spark-kubernetes-executor")
    r = SPARK.wait_for(fast, meta, lambda r: fail(r), "a failure")
    assert_names(r, f"{name}-exec-1", "spark-kubernetes-executor")


def test_pytorch_worker(cluster, crds, fast):
    ns = cluster.new_namespace("child")
    meta = create(fast, ns, "pw", kubeflow_tasks.CASES["torch-defaults"]())
    name = "pw-n0-0"
    t = rfc3339()
    cond = [{"type": "Created", "status": "True", "reason": "Created", "message": "created",
             "lastUpdateTime": t, "lastTransitionTime": t}]
    PYTORCH.patch(cluster, ns, name, {"startTime": t, "conditions": cond})
    spec = PYTORCH.stored(cluster, ns, name)["spec"]["pytorchReplicaSpecs"]["Worker"]
    labels = dict(spec["template"]["metadata"].get("labels", {}))
    labels.update({"training.kubeflow.org/job-name": name, "training.kubeflow.org/replica-type": "worker",
                   "training.kubeflow.org/replica-index": "1"})
    stuck(cluster, ns, f"{name}-worker-1", labels, "pytorch")
    r = PYTORCH.wait_for(fast, meta, lambda r: fail(r), "a failure")
    assert_names(r, f"{name}-worker-1", "pytorch")


def test_ray_worker(cluster, crds, fast):
    ns = cluster.new_namespace("child")
    meta = create(fast, ns, "rw", ray_dask_tasks.template("ray_basic"))
    name, rc = "rw-n0-0", "rw-n0-0-rc"
    RAY.patch(cluster, ns, name, {"jobDeploymentStatus": "Running", "rayClusterName": rc})
    RAY.wait_for(fast, meta, lambda r: r.phase == PHASE.RUNNING, "RUNNING")
    wg = RAY.stored(cluster, ns, name)["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]
    labels = dict(wg["template"]["metadata"].get("labels", {}))
    labels.update({"ray.io/cluster": rc, "ray.io/node-type": "worker", "ray.io/group": wg["groupName"]})
    stuck(cluster, ns, f"{rc}-wg-worker-x1", labels, "ray-worker")
    r = RAY.wait_for(fast, meta, lambda r: fail(r), "a failure")
    assert_names(r, f"{rc}-wg-worker-x1", "ray-worker")


def fail(r):
    return r.phase in (PHASE.FAILED, PHASE.RETRYABLE_FAILED)
