"""Kubeflow training tasks end to end: TaskTemplates serialized by the real flytekit Kubeflow
plugins go in through CreateTask, become PyTorchJobs, TFJobs and MPIJobs that the real API server
accepts under the training operator's own published CRD schemas, and report phases as their
status is patched the way the operator writes it. There is no operator: the tests patch status."""
from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import kubeflow_tasks  # noqa: E402
from operator_helpers import PHASE, CrdTask, create, render, rfc3339, subset_mismatch  # noqa: E402

CRD = "kubeflow"  # its published CRDs, installed by the crds fixture

PYTORCH = CrdTask("kubeflow.org", "v1", "pytorchjobs", "pytorch")
TFJOB = CrdTask("kubeflow.org", "v1", "tfjobs", "tensorflow")
MPIJOB = CrdTask("kubeflow.org", "v1", "mpijobs", "mpi")
# By task type: the training operator's resource and its kind.
KINDS = {"pytorch": (PYTORCH, "PyTorchJob"), "tensorflow": (TFJOB, "TFJob"), "mpi": (MPIJOB, "MPIJob")}


@pytest.mark.parametrize("case", list(kubeflow_tasks.CASES))
def test_render_equals_created_job(cluster, crds, daemon, tmp_path, case):
    ns = cluster.new_namespace("kf")
    template = kubeflow_tasks.CASES[case]()
    kf, kind = KINDS[template.type]
    execution = "r" + case.replace("-", "")
    rendered = render(daemon, tmp_path, ns, execution, template)
    assert rendered["kind"] == kind
    create(daemon, ns, execution, template)
    created = kf.stored(cluster, ns, f"{execution}-n0-0")
    assert created is not None, daemon.tail()
    mismatch = subset_mismatch(rendered, created)
    assert mismatch is None, mismatch


def test_replica_roles_as_flyte_builds_them(cluster, crds, daemon):
    ns = cluster.new_namespace("kf")
    create(daemon, ns, "roles", kubeflow_tasks.CASES["torch-every-option"]())
    spec = PYTORCH.stored(cluster, ns, "roles-n0-0")["spec"]
    master, worker = spec["pytorchReplicaSpecs"]["Master"], spec["pytorchReplicaSpecs"]["Worker"]
    assert (master["replicas"], master["restartPolicy"]) == (1, "OnFailure")
    assert (worker["replicas"], worker["restartPolicy"]) == (3, "Always")
    mc = next(c for c in master["template"]["spec"]["containers"] if c["name"] == "pytorch")
    wc = next(c for c in worker["template"]["spec"]["containers"] if c["name"] == "pytorch")
    assert (mc["image"], wc["image"]) == ("ghcr.io/me/master:1", "ghcr.io/me/worker:1")
    assert mc["resources"]["requests"]["cpu"] == "2" and wc["resources"]["limits"]["memory"] == "1Gi"
    assert {"name": "_F_WN", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}} \
        in wc["env"]
    run_policy = {k: v for k, v in spec["runPolicy"].items() if k != "suspend"}  # a CRD default
    assert run_policy == {"cleanPodPolicy": "All", "ttlSecondsAfterFinished": 60,
                                 "activeDeadlineSeconds": 600, "backoffLimit": 3}
    labels = worker["template"]["metadata"]["labels"]
    assert labels["team"] == "ml" and labels["execution-id"] == "roles"
    assert worker["template"]["metadata"]["annotations"]["flyte.org/owner"] == "e2e"
    assert worker["template"]["spec"]["serviceAccountName"] == "default"
    elastic = create(daemon, ns, "elastic", kubeflow_tasks.CASES["torch-elastic"]())
    assert elastic
    spec = PYTORCH.stored(cluster, ns, "elastic-n0-0")["spec"]
    assert "Master" not in spec["pytorchReplicaSpecs"]
    assert spec["elasticPolicy"] == {"minReplicas": 2, "maxReplicas": 2, "rdzvBackend": "c10d",
                                     "nProcPerNode": 4, "maxRestarts": 2}


def test_single_node_elastic_runs_as_pod(cluster, crds, daemon):
    """Flyte's container plugin serves python-task of any version: Elastic(nnodes=1) is a pod."""
    ns = cluster.new_namespace("kf")
    template = kubeflow_tasks.torch_elastic_single()
    assert (template.type, template.task_type_version) == ("python-task", 1)
    assert create(daemon, ns, "single", template)
    st, pod = cluster.request("GET", f"/api/v1/namespaces/{ns}/pods/single-n0-0")
    assert st == 200, (st, pod, daemon.tail())
    primary = pod["metadata"]["annotations"]["primary_container_name"]
    assert [c["name"] for c in pod["spec"]["containers"]] == [primary]
    assert PYTORCH.names(cluster, ns) == []


def cond(t, at, status="True", reason="", message=""):
    return {"type": t, "status": status, "reason": reason or t, "message": message or t,
            "lastUpdateTime": at, "lastTransitionTime": at}


def patch(cluster, ns, kf, name, *conds, **extra):
    """Writes conds (and extra) as the training operator's status of kf's object name."""
    kf.patch(cluster, ns, name,
             {"startTime": conds[0]["lastTransitionTime"], "conditions": list(conds), **extra})


T = [rfc3339(datetime.now(timezone.utc) + timedelta(seconds=i)) for i in range(6)]


@pytest.mark.parametrize("case", ["torch-defaults", "tf-defaults", "mpi-defaults"])
def test_created_running_succeeded(cluster, crds, daemon, case):
    ns = cluster.new_namespace("kf")
    template = kubeflow_tasks.CASES[case]()
    kf, _ = KINDS[template.type]
    meta = create(daemon, ns, "ok", template)
    r = kf.wait_for(daemon, meta, lambda r: r.phase == PHASE.QUEUED, "QUEUED")
    assert r.message == "JobCreated"
    names = [link.name for link in r.log_links]
    uris = [link.uri for link in r.log_links]
    assert any("ok-n0-0-worker-0" in u for u in uris) and any("ok-n0-0-worker-1" in u for u in uris), uris
    if template.type == "pytorch":
        assert names[0] == "Kubernetes Logsmaster" and "ok-n0-0-master-0" in uris[0]
    patch(cluster, ns, kf, "ok-n0-0", cond("Created", T[0]))
    kf.wait_for(daemon, meta, lambda r: r.phase == PHASE.QUEUED and r.message == "JobCreated", "Created")
    patch(cluster, ns, kf, "ok-n0-0", cond("Created", T[0]), cond("Running", T[1]))
    kf.wait_for(daemon, meta, lambda r: r.phase == PHASE.RUNNING, "RUNNING")
    patch(cluster, ns, kf, "ok-n0-0", cond("Created", T[0]), cond("Running", T[1], "False"),
          cond("Succeeded", T[2]))
    kf.wait_for(daemon, meta, lambda r: r.phase == PHASE.SUCCEEDED, "SUCCEEDED")


def test_failed_is_retryable_with_reason(cluster, crds, daemon):
    ns = cluster.new_namespace("kf")
    meta = create(daemon, ns, "fail", kubeflow_tasks.CASES["torch-defaults"]())
    patch(cluster, ns, PYTORCH, "fail-n0-0", cond("Created", T[0]), cond("Running", T[1], "False"),
          cond("Failed", T[2], reason="PyTorchJobFailed", message="1 Master replica(s) failed."))
    r = PYTORCH.wait_for(daemon, meta, lambda r: r.phase in (PHASE.FAILED, PHASE.RETRYABLE_FAILED), "a failure")
    assert "Job failed:\n\tPyTorchJobFailed - 1 Master replica(s) failed." in r.message, r.message


def test_restarting_counts_attempts(cluster, crds, daemon):
    ns = cluster.new_namespace("kf")
    meta = create(daemon, ns, "restart", kubeflow_tasks.CASES["torch-every-option"]())  # backoffLimit 3
    patch(cluster, ns, PYTORCH, "restart-n0-0", cond("Created", T[0]), cond("Running", T[1], "False"),
          cond("Restarting", T[2], reason="PyTorchJobRestarting", message="restarting"))
    r = PYTORCH.wait_for(daemon, meta, lambda r: r.phase == PHASE.RUNNING, "RUNNING")
    assert r.message == "Restarting: PyTorchJobRestarting - restarting; attempt 2 of 4", r.message


def test_suspended_then_unknown_keeps_phase(cluster, crds, daemon):
    ns = cluster.new_namespace("kf")
    meta = create(daemon, ns, "susp", kubeflow_tasks.CASES["mpi-defaults"]())
    patch(cluster, ns, MPIJOB, "susp-n0-0", cond("Created", T[0]), cond("Suspended", T[1]))
    MPIJOB.wait_for(daemon, meta, lambda r: r.phase == PHASE.QUEUED and r.message == "Suspended", "Suspended")
    patch(cluster, ns, MPIJOB, "susp-n0-0", cond("Created", T[0]), cond("Suspended", T[1], "False"),
          cond("Running", T[2]))
    MPIJOB.wait_for(daemon, meta, lambda r: r.phase == PHASE.RUNNING, "RUNNING")
    # A condition type the plugin does not know: the engine keeps the last phase.
    patch(cluster, ns, MPIJOB, "susp-n0-0", cond("Created", T[0]), cond("Running", T[2]),
          cond("Paused", T[4]))
    MPIJOB.keeps_phase(daemon, meta, PHASE.RUNNING)


def test_delete_removes_job(cluster, crds, daemon):
    ns = cluster.new_namespace("kf")
    meta = create(daemon, ns, "del", kubeflow_tasks.CASES["tf-defaults"]())
    assert TFJOB.stored(cluster, ns, "del-n0-0") is not None
    TFJOB.delete(daemon, meta)
    TFJOB.wait_deleted(daemon, cluster, ns, "del-n0-0")


def test_master_pod_diagnosis_in_message(cluster, crds, daemon):
    ns = cluster.new_namespace("kf")
    meta = create(daemon, ns, "diag", kubeflow_tasks.CASES["torch-defaults"]())
    patch(cluster, ns, PYTORCH, "diag-n0-0", cond("Created", T[0]))
    # As the training operator creates it: the replica's template labels plus its own.
    job = PYTORCH.stored(cluster, ns, "diag-n0-0")
    labels = dict(job["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["metadata"].get("labels", {}))
    labels.update({"training.kubeflow.org/job-name": "diag-n0-0", "training.kubeflow.org/replica-type": "master",
                   "training.kubeflow.org/replica-index": "0"})
    cluster.must("POST", f"/api/v1/namespaces/{ns}/pods", {
        "metadata": {"name": "diag-n0-0-master-0", "labels": labels},
        "spec": {"containers": [{"name": "pytorch", "image": "nope:1"}]}})
    cluster.patch_pod_status(ns, "diag-n0-0-master-0", {
        "phase": "Pending",
        "conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                        "message": "containers with unready status: [pytorch]", "lastTransitionTime": T[0]}],
        "containerStatuses": [{"name": "pytorch", "ready": False, "restartCount": 0, "image": "nope:1", "imageID": "",
                               "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off"}}}]})
    # The pod's condition dates from T[0], so its grace period is long spent: the diagnosis may
    # come as the master's message or as the child-pod failure (plugins/children.c), which names
    # the container too. Either way it names the pod and what keeps it from starting.
    PYTORCH.wait_for(daemon, meta,
                     lambda r: "pod diag-n0-0-master-0" in r.message and "ImagePullBackOff" in r.message,
                     "a pod diagnosis", timeout=10)
