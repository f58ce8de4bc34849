"""Kubeflow training tasks end to end: TaskTemplates serialized by the real flytekit Kubeflow
plugins go in through CreateTask, become PyTorchJobs, TFJobs and MPIJobs that the real API server
accepts under the training operator's own published CRD schemas, and report phases as their
status is patched the way the operator writes it. There is no operator: the tests patch status."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from flyteidl.admin import agent_pb2
from flyteidl.core import execution_pb2

sys.path.insert(0, str(Path(__file__).resolve().parent))

import kubeflow_tasks  # noqa: E402
from conftest import BIN, execution_metadata  # noqa: E402

CRD = "kubeflow"  # its published CRDs, installed by the crds fixture

PHASE = execution_pb2.TaskExecution
KINDS = {"pytorch": ("pytorchjobs", "PyTorchJob"), "tensorflow": ("tfjobs", "TFJob"), "mpi": ("mpijobs", "MPIJob")}


def rfc3339(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def create(daemon, ns, execution, template):
    req = agent_pb2.CreateTaskRequest(template=template,
                                      output_prefix=f"s3://bucket/meta/{execution}/n0/data/0",
                                      task_execution_metadata=execution_metadata(ns, execution))
    return daemon.stub.CreateTask(req, timeout=30).resource_meta


def get(daemon, meta, task_type):
    return daemon.stub.GetTask(agent_pb2.GetTaskRequest(task_type=task_type, resource_meta=meta),
                               timeout=30).resource


def wait_for(daemon, meta, task_type, pred, what, timeout=20):
    deadline = time.time() + timeout
    r = None
    while time.time() < deadline:
        r = get(daemon, meta, task_type)
        if pred(r):
            return r
        time.sleep(0.2)
    raise AssertionError(f"wanted {what}, last {PHASE.Phase.Name(r.phase)} ({r.message!r})\n{daemon.tail()}")


def job(cluster, ns, plural, name):
    status, obj = cluster.request("GET", cluster.resource_path("kubeflow.org", "v1", plural, ns, name))
    return obj if status == 200 else None


def subset_mismatch(want, got, path="$"):
    """Where `got` (what the API server stored) differs from `want` (what render printed)."""
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return f"{path}: {got!r} is not an object"
        for k, v in want.items():
            if k not in got:
                return f"{path}.{k}: missing"
            m = subset_mismatch(v, got[k], f"{path}.{k}")
            if m:
                return m
        return None
    if isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            return f"{path}: {got!r} vs {want!r}"
        for i, (w, g) in enumerate(zip(want, got)):
            m = subset_mismatch(w, g, f"{path}[{i}]")
            if m:
                return m
        return None
    return None if want == got else f"{path}: {got!r} != {want!r}"


@pytest.mark.parametrize("case", list(kubeflow_tasks.CASES))
def test_render_equals_created_job(cluster, crds, daemon, tmp_path, case):
    ns = cluster.new_namespace("kf")
    template = kubeflow_tasks.CASES[case]()
    plural, kind = KINDS[template.type]
    execution = "r" + case.replace("-", "")
    meta = execution_metadata(ns, execution)
    (tmp_path / "t.pb").write_bytes(template.SerializeToString())
    (tmp_path / "m.pb").write_bytes(meta.SerializeToString())
    out = subprocess.run([BIN, "render", "--template", str(tmp_path / "t.pb"), "--metadata", str(tmp_path / "m.pb"),
                          "--config", str(daemon.config), "--output-prefix",
                          f"s3://bucket/meta/{execution}/n0/data/0", "-o", "json"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    rendered = json.loads(out.stdout)
    assert rendered["kind"] == kind
    create(daemon, ns, execution, template)
    created = job(cluster, ns, plural, f"{execution}-n0-0")
    assert created is not None, daemon.tail()
    mismatch = subset_mismatch(rendered, created)
    assert mismatch is None, mismatch


def test_replica_roles_as_flyte_builds_them(cluster, crds, daemon):
    ns = cluster.new_namespace("kf")
    create(daemon, ns, "roles", kubeflow_tasks.CASES["torch-every-option"]())
    spec = job(cluster, ns, "pytorchjobs", "roles-n0-0")["spec"]
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
    spec = job(cluster, ns, "pytorchjobs", "elastic-n0-0")["spec"]
    assert "Master" not in spec["pytorchReplicaSpecs"]
    assert spec["elasticPolicy"] == {"minReplicas": 2, "maxReplicas": 2, "rdzvBackend": "c10d",
                                     "nProcPerNode": 4, "maxRestarts": 2}


def cond(t, at, status="True", reason="", message=""):
    return {"type": t, "status": status, "reason": reason or t, "message": message or t,
            "lastUpdateTime": at, "lastTransitionTime": at}


def patch(cluster, ns, plural, name, *conds, **extra):
    status = {"startTime": conds[0]["lastTransitionTime"], "conditions": list(conds)}
    status.update(extra)
    cluster.patch_status("kubeflow.org", "v1", plural, ns, name, status)


T = [rfc3339(datetime.now(timezone.utc) + timedelta(seconds=i)) for i in range(6)]


@pytest.mark.parametrize("case", ["torch-defaults", "tf-defaults", "mpi-defaults"])
def test_created_running_succeeded(cluster, crds, daemon, case):
    ns = cluster.new_namespace("kf")
    template = kubeflow_tasks.CASES[case]()
    plural, _ = KINDS[template.type]
    meta = create(daemon, ns, "ok", template)
    r = wait_for(daemon, meta, template.type, lambda r: r.phase == PHASE.QUEUED, "QUEUED")
    assert r.message == "JobCreated"
    names = [link.name for link in r.log_links]
    uris = [link.uri for link in r.log_links]
    assert any("ok-n0-0-worker-0" in u for u in uris) and any("ok-n0-0-worker-1" in u for u in uris), uris
    if template.type == "pytorch":
        assert names[0] == "Kubernetes Logsmaster" and "ok-n0-0-master-0" in uris[0]
    patch(cluster, ns, plural, "ok-n0-0", cond("Created", T[0]))
    wait_for(daemon, meta, template.type, lambda r: r.phase == PHASE.QUEUED and r.message == "JobCreated", "Created")
    patch(cluster, ns, plural, "ok-n0-0", cond("Created", T[0]), cond("Running", T[1]))
    wait_for(daemon, meta, template.type, lambda r: r.phase == PHASE.RUNNING, "RUNNING")
    patch(cluster, ns, plural, "ok-n0-0", cond("Created", T[0]), cond("Running", T[1], "False"),
          cond("Succeeded", T[2]))
    wait_for(daemon, meta, template.type, lambda r: r.phase == PHASE.SUCCEEDED, "SUCCEEDED")


def test_failed_is_retryable_with_reason(cluster, crds, daemon):
    ns = cluster.new_namespace("kf")
    meta = create(daemon, ns, "fail", kubeflow_tasks.CASES["torch-defaults"]())
    patch(cluster, ns, "pytorchjobs", "fail-n0-0", cond("Created", T[0]), cond("Running", T[1], "False"),
          cond("Failed", T[2], reason="PyTorchJobFailed", message="1 Master replica(s) failed."))
    r = wait_for(daemon, meta, "pytorch", lambda r: r.phase in (PHASE.FAILED, PHASE.RETRYABLE_FAILED), "a failure")
    assert "Job failed:\n\tPyTorchJobFailed - 1 Master replica(s) failed." in r.message, r.message


def test_restarting_counts_attempts(cluster, crds, daemon):
    ns = cluster.new_namespace("kf")
    meta = create(daemon, ns, "restart", kubeflow_tasks.CASES["torch-every-option"]())  # backoffLimit 3
    patch(cluster, ns, "pytorchjobs", "restart-n0-0", cond("Created", T[0]), cond("Running", T[1], "False"),
          cond("Restarting", T[2], reason="PyTorchJobRestarting", message="restarting"))
    r = wait_for(daemon, meta, "pytorch", lambda r: r.phase == PHASE.RUNNING, "RUNNING")
    assert r.message == "Restarting: PyTorchJobRestarting - restarting; attempt 2 of 4", r.message


def test_suspended_then_unknown_keeps_phase(cluster, crds, daemon):
    ns = cluster.new_namespace("kf")
    meta = create(daemon, ns, "susp", kubeflow_tasks.CASES["mpi-defaults"]())
    patch(cluster, ns, "mpijobs", "susp-n0-0", cond("Created", T[0]), cond("Suspended", T[1]))
    wait_for(daemon, meta, "mpi", lambda r: r.phase == PHASE.QUEUED and r.message == "Suspended", "Suspended")
    patch(cluster, ns, "mpijobs", "susp-n0-0", cond("Created", T[0]), cond("Suspended", T[1], "False"),
          cond("Running", T[2]))
    wait_for(daemon, meta, "mpi", lambda r: r.phase == PHASE.RUNNING, "RUNNING")
    # A condition type the plugin does not know: the engine keeps the last phase.
    patch(cluster, ns, "mpijobs", "susp-n0-0", cond("Created", T[0]), cond("Running", T[2]),
          cond("Paused", T[4]))
    time.sleep(1.5)
    assert get(daemon, meta, "mpi").phase == PHASE.RUNNING


def test_delete_removes_job(cluster, crds, daemon):
    ns = cluster.new_namespace("kf")
    meta = create(daemon, ns, "del", kubeflow_tasks.CASES["tf-defaults"]())
    assert job(cluster, ns, "tfjobs", "del-n0-0") is not None
    daemon.stub.DeleteTask(agent_pb2.DeleteTaskRequest(task_type="tensorflow", resource_meta=meta), timeout=30)
    deadline = time.time() + 20
    while time.time() < deadline and job(cluster, ns, "tfjobs", "del-n0-0") is not None:
        time.sleep(0.2)
    assert job(cluster, ns, "tfjobs", "del-n0-0") is None, daemon.tail()


def test_master_pod_diagnosis_in_message(cluster, crds, daemon):
    ns = cluster.new_namespace("kf")
    meta = create(daemon, ns, "diag", kubeflow_tasks.CASES["torch-defaults"]())
    patch(cluster, ns, "pytorchjobs", "diag-n0-0", cond("Created", T[0]))
    # As the training operator creates it: the replica's template labels plus its own.
    status, job = cluster.request("GET", f"/apis/kubeflow.org/v1/namespaces/{ns}/pytorchjobs/diag-n0-0")
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
    wait_for(daemon, meta, "pytorch", lambda r: "pod diag-n0-0-master-0:" in r.message, "a pod diagnosis",
             timeout=10)
