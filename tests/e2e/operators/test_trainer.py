"""Kubeflow Trainer v2 end to end: PyTorch TaskTemplates serialized by the real
flytekitplugins-kfpytorch go in through CreateTask to a daemon that loads the trainer module in
place of the built-in pytorch plugin, become TrainJobs the real API server accepts under
Trainer v2.3.0's own published CRD schema, and report phases as their status is patched the way
the Trainer controller writes it. There is no controller: the tests patch status."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import grpc
import pytest

import kubeflow_tasks
from operator_helpers import PHASE, CrdTask, create, render, rfc3339, subset_mismatch
from engine_conftest import BIN

CRD = "trainer"  # its published CRDs, installed by the crds fixture

TRAINJOB = CrdTask("trainer.kubeflow.org", "v1alpha1", "trainjobs", "pytorch")
MODULES = Path(BIN).resolve().parents[1] / "plugins" / "modules" / "trainer"
# Every built-in plugin but pytorch, and the trainer module from plugins.dir.
CONFIG = f"""\
plugins:
  enabled: [pod, spark, tensorflow, mpi, ray, dask]
  dir: "{MODULES}"
"""


@pytest.fixture
def trainer(daemon_factory):
    assert (MODULES / "trainer.so").is_file(), f"no trainer module in {MODULES}"
    return daemon_factory(extra_yaml=CONFIG)


@pytest.mark.parametrize("case", ["torch-defaults", "torch-pod-template", "torch-elastic-fixed", "torch-v0"])
def test_render_equals_created_trainjob(cluster, crds, trainer, tmp_path, case):
    ns = cluster.new_namespace("tj")
    template = kubeflow_tasks.TRAINJOB_CASES[case]()
    execution = "t" + case.replace("-", "")
    rendered = render(trainer, tmp_path, ns, execution, template)
    assert rendered["kind"] == "TrainJob"
    create(trainer, ns, execution, template)
    created = TRAINJOB.stored(cluster, ns, f"{execution}-n0-0")
    assert created is not None, trainer.tail()
    mismatch = subset_mismatch(rendered, created)
    assert mismatch is None, mismatch
    spec = created["spec"]
    assert spec["runtimeRef"]["name"] == "torch-distributed"
    assert spec["runtimeRef"]["kind"] == "ClusterTrainingRuntime"
    want_nodes = {"torch-defaults": 3, "torch-pod-template": 2, "torch-elastic-fixed": 2, "torch-v0": 3}[case]
    assert spec["trainer"]["numNodes"] == want_nodes
    env = {e["name"]: e.get("value") for e in spec["trainer"]["env"]}
    assert env["FLYTE_INTERNAL_EXECUTION_ID"] == execution  # Flyte's injected env
    (patch,) = spec["runtimePatches"]
    (job,) = patch["trainingRuntimeSpec"]["template"]["spec"]["replicatedJobs"]
    pod = job["template"]["spec"]["template"]
    assert job["name"] == "node" and pod["metadata"]["labels"]["execution-id"] == execution
    if case == "torch-pod-template":
        assert created["metadata"]["labels"]["team"] == "ml" and pod["metadata"]["labels"]["team"] == "ml"
        assert created["metadata"]["annotations"]["owner"] == "alice"
        assert pod["spec"]["nodeSelector"] == {"pool": "gpu"}
        assert {"name": "data", "mountPath": "/data"} in pod["spec"]["containers"][0]["volumeMounts"]
        assert spec["trainer"]["image"] == "ghcr.io/me/train:1"
        assert spec["trainer"]["resourcesPerNode"]["requests"] == {"cpu": "1", "memory": "1Gi"}
        assert spec["activeDeadlineSeconds"] == 600
    if case == "torch-elastic-fixed":
        assert spec["trainer"]["numProcPerNode"] == 4


def test_elastic_node_range_is_refused_with_the_reason(cluster, crds, trainer):
    ns = cluster.new_namespace("tj")
    try:
        meta = create(trainer, ns, "range", kubeflow_tasks.TRAINJOB_CASES["torch-elastic-range"]())
    except grpc.RpcError as e:
        assert "numNodes is fixed" in e.details(), e.details()
    else:
        r = TRAINJOB.wait_for(trainer, meta, lambda r: r.phase == PHASE.FAILED, "permanent failure")
        assert "numNodes is fixed" in r.message, r.message
    assert TRAINJOB.names(cluster, ns) == []


def cond(t, status="True", reason="", message=""):
    return {"type": t, "status": status, "reason": reason or t, "message": message or t,
            "lastTransitionTime": rfc3339(datetime.now(timezone.utc))}


def jobs(active=0, ready=0, succeeded=0, failed=0):
    return [{"name": "node", "active": active, "ready": ready, "succeeded": succeeded, "failed": failed,
             "suspended": 0}]


def test_running_with_progress_then_complete(cluster, crds, trainer):
    ns = cluster.new_namespace("tj")
    meta = create(trainer, ns, "ok", kubeflow_tasks.TRAINJOB_CASES["torch-defaults"]())
    TRAINJOB.wait_phase(trainer, meta, PHASE.QUEUED, "TrainJob created")
    TRAINJOB.patch(cluster, ns, "ok-n0-0", {"jobsStatus": jobs(active=1, ready=1),
                                            "trainerStatus": {"progressPercentage": 40,
                                                              "estimatedRemainingSeconds": 120,
                                                              "lastUpdatedTime": rfc3339()}})
    r = TRAINJOB.wait_for(trainer, meta, lambda r: r.phase == PHASE.RUNNING, "RUNNING")
    assert r.message.endswith("; progress 40%, about 120s left"), r.message
    assert r.custom_info["trainerStatus"]["progressPercentage"] == 40
    TRAINJOB.patch(cluster, ns, "ok-n0-0", {"jobsStatus": jobs(succeeded=1),
                                            "conditions": [cond("Complete", reason="JobsCompleted",
                                                                message="TrainJob is completed")]})
    TRAINJOB.wait_phase(trainer, meta, PHASE.SUCCEEDED, "TrainJob is completed")


def test_failed_is_retryable_with_the_reason(cluster, crds, trainer):
    ns = cluster.new_namespace("tj")
    meta = create(trainer, ns, "fail", kubeflow_tasks.TRAINJOB_CASES["torch-defaults"]())
    TRAINJOB.patch(cluster, ns, "fail-n0-0", {"jobsStatus": jobs(failed=1), "conditions": [
        cond("Failed", reason="DeadlineExceeded", message="TrainJob exceeded its active deadline")]})
    r = TRAINJOB.wait_for(trainer, meta, lambda r: r.phase == PHASE.RETRYABLE_FAILED, "retryable failure")
    assert "TrainJob failed:\n\tDeadlineExceeded - TrainJob exceeded its active deadline" in r.message, r.message


def test_suspended_is_queued_then_runs(cluster, crds, trainer):
    ns = cluster.new_namespace("tj")
    meta = create(trainer, ns, "susp", kubeflow_tasks.TRAINJOB_CASES["torch-defaults"]())
    TRAINJOB.patch(cluster, ns, "susp-n0-0", {"conditions": [
        cond("Suspended", reason="Suspended", message="TrainJob is suspended")]})
    TRAINJOB.wait_phase(trainer, meta, PHASE.QUEUED, "Suspended: TrainJob is suspended")
    TRAINJOB.patch(cluster, ns, "susp-n0-0", {"jobsStatus": jobs(active=1), "conditions": [
        cond("Suspended", "False", reason="Resumed", message="TrainJob is resumed")]})
    TRAINJOB.wait_for(trainer, meta, lambda r: r.phase == PHASE.RUNNING, "RUNNING")


def test_delete_removes_the_trainjob(cluster, crds, trainer):
    ns = cluster.new_namespace("tj")
    meta = create(trainer, ns, "del", kubeflow_tasks.TRAINJOB_CASES["torch-defaults"]())
    assert TRAINJOB.stored(cluster, ns, "del-n0-0") is not None
    TRAINJOB.delete(trainer, meta)
    TRAINJOB.wait_deleted(trainer, cluster, ns, "del-n0-0")
