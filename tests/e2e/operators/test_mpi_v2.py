"""MPIJob v2beta1 (mpi-operator v0.8) end to end: flytekitplugins-kfmpi templates go in through
CreateTask to a daemon that loads the mpi-v2 module in place of the built-in mpi plugin. The
mpi-operator's CRD has the training operator's name (mpijobs.kubeflow.org), so the objects are
created in a cluster of their own that has only mpi-operator's CRD; the shared cluster, which
has the training operator's v1 MPIJob, shows the error when the configured API is absent."""
from __future__ import annotations

import subprocess
from pathlib import Path

import grpc
import pytest
from flytekit import PodTemplate, task
from flytekitplugins.kfmpi import Launcher, MPIJob
from flytekitplugins.kfmpi import Worker as MPIWorker
from kubernetes.client import V1Container, V1PodSpec, V1SecurityContext

import engine_conftest
import kubeflow_tasks
from flytekit_tasks import serialize
from operator_helpers import PHASE, CrdTask, create, render, subset_mismatch

CRD = "kubeflow"  # the shared cluster's: MPIJob v1 only

MPI2 = CrdTask("kubeflow.org", "v2beta1", "mpijobs", "mpi")
MODULES = Path(engine_conftest.BIN).resolve().parents[1] / "plugins" / "modules" / "mpi-v2"
SCRIPT = engine_conftest.ROOT / "tests" / "cluster" / "crds" / "own-cluster" / "mpi-operator.sh"
CONFIG = f"""\
plugins:
  enabled: [pod, spark, pytorch, tensorflow, ray, dask]
  dir: "{MODULES}"
  settings:
    mpi-v2: {{mpi_implementation: MPICH}}
"""


@pytest.fixture(scope="module")
def mpi_cluster(tmp_path_factory):
    out = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=900)
    paths = [line for line in out.stdout.splitlines() if line.strip()]
    assert out.returncode == 0 and paths, out.stderr[-600:]
    c = engine_conftest.Cluster(workdir=tmp_path_factory.mktemp("mpicluster"))
    c.start()
    c.install_crds(paths)
    yield c
    c.stop()


@pytest.fixture
def mpi_daemon(mpi_cluster, tmp_path):
    assert (MODULES / "mpi-v2.so").is_file(), f"no mpi-v2 module in {MODULES}"
    d = engine_conftest.Daemon(tmp_path, mpi_cluster, extra_yaml=CONFIG)
    d.start()
    yield d
    d.stop()


@pytest.mark.parametrize("case", ["mpi-defaults", "mpi-commands", "mpi-v0"])
def test_render_equals_created_v2beta1_job(mpi_cluster, mpi_daemon, tmp_path, case):
    ns = mpi_cluster.new_namespace("mpi2")
    template = kubeflow_tasks.CASES[case]()
    execution = "m" + case.replace("-", "")
    rendered = render(mpi_daemon, tmp_path, ns, execution, template)
    assert rendered["apiVersion"] == "kubeflow.org/v2beta1"
    create(mpi_daemon, ns, execution, template)
    created = MPI2.stored(mpi_cluster, ns, f"{execution}-n0-0")
    assert created is not None, mpi_daemon.tail()
    mismatch = subset_mismatch(rendered, created)
    assert mismatch is None, mismatch
    spec = created["spec"]
    assert spec["mpiImplementation"] == "MPICH"
    assert spec["slotsPerWorker"] == (1 if case == "mpi-commands" else 2)  # the task's slots
    assert spec["mpiReplicaSpecs"]["Worker"]["replicas"] == 2
    assert spec["mpiReplicaSpecs"]["Launcher"]["replicas"] == 1


def cond(t, at, status="True", reason="", message=""):
    return {"type": t, "status": status, "reason": reason or t, "message": message or t,
            "lastUpdateTime": at, "lastTransitionTime": at}


def test_status_sequence_and_delete(mpi_cluster, mpi_daemon):
    from operator_helpers import rfc3339
    ns = mpi_cluster.new_namespace("mpi2")
    meta = create(mpi_daemon, ns, "seq", kubeflow_tasks.CASES["mpi-defaults"]())
    MPI2.wait_for(mpi_daemon, meta, lambda r: r.phase == PHASE.QUEUED, "QUEUED")
    t = rfc3339()
    MPI2.patch(mpi_cluster, ns, "seq-n0-0", {"startTime": t, "conditions": [cond("Created", t), cond("Running", t)]})
    MPI2.wait_for(mpi_daemon, meta, lambda r: r.phase == PHASE.RUNNING, "RUNNING")
    MPI2.patch(mpi_cluster, ns, "seq-n0-0", {"conditions": [
        cond("Created", t), cond("Running", t, "False"),
        cond("Failed", t, reason="MPIJobFailed", message="launcher failed")]})
    r = MPI2.wait_for(mpi_daemon, meta, lambda r: r.phase == PHASE.RETRYABLE_FAILED, "a failure")
    assert "MPIJobFailed - launcher failed" in r.message, r.message
    MPI2.delete(mpi_daemon, meta)
    MPI2.wait_deleted(mpi_daemon, mpi_cluster, ns, "seq-n0-0")


def test_absent_api_is_named(cluster, crds, daemon_factory):
    """The shared cluster serves the training operator's MPIJob v1 only."""
    d = daemon_factory(extra_yaml=CONFIG)
    ns = cluster.new_namespace("mpi2")
    try:
        meta = create(d, ns, "absent", kubeflow_tasks.CASES["mpi-defaults"]())
    except grpc.RpcError as e:
        message = e.details()
    else:
        r = MPI2.wait_for(d, meta, lambda r: r.phase in (PHASE.FAILED, PHASE.RETRYABLE_FAILED), "a failure")
        message = r.message
    assert "kubeflow.org/v2beta1" in message, message


@task(task_config=MPIJob(launcher=Launcher(replicas=1), worker=MPIWorker(replicas=1)),
      pod_template=PodTemplate(primary_container_name="primary", pod_spec=V1PodSpec(
          containers=[V1Container(name="primary",
                                  security_context=V1SecurityContext(privileged=True))])))
def mpi_privileged() -> None:
    ...


def test_privileged_replica_is_refused(mpi_cluster, mpi_daemon):
    """The module declares its pod specs: the Pod Security check (baseline) refuses a
    privileged replica and nothing is created."""
    ns = mpi_cluster.new_namespace("mpi2pss")
    meta = create(mpi_daemon, ns, "priv", serialize(mpi_privileged))
    r = MPI2.get(mpi_daemon, meta)
    assert r.phase == PHASE.FAILED, (r.message, mpi_daemon.tail())
    assert r.message.startswith("PodSecurityViolation: refused by policy.pod_security, nothing "
                                "was created: "), r.message
    assert "spec.mpiReplicaSpecs." in r.message and "(check: privileged)" in r.message, r.message
    assert MPI2.names(mpi_cluster, ns) == []
