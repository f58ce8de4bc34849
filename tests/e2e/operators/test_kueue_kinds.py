"""Kueue for every kind whose API can be suspended, with queueing.kueue configured: tasks made by
the real flytekit plugins become PyTorchJobs, TFJobs, MPIJobs, JobSets and Pods that the real API
server stores under the operators' published CRD schemas with Kueue's queue label, created
suspended; GetTask reports WAITING_FOR_RESOURCES while Kueue holds them, follows the operator once
Kueue admits them (suspend set to false, as Kueue writes it), and reports a retryable failure
when Kueue suspends an admitted object again (eviction, preemption). There is no Kueue here: the
tests write spec.suspend and status as Kueue and the operators do (tests/e2e/controllers has the
real Kueue)."""
from __future__ import annotations

from datetime import datetime, timezone

import flytekit_tasks
import jobset_tasks
import kubeflow_tasks
import pytest
from flytekit import PodTemplate, task
from kubernetes.client import V1Container, V1PodSchedulingGate, V1PodSpec

from operator_helpers import PHASE, CrdTask, create, render, rfc3339

QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
CONFIG = """\
queueing:
  kueue:
    queues:
      "no-such-*": other-queue
      "*": team-queue
"""
MERGE = "application/merge-patch+json"

PYTORCH = CrdTask("kubeflow.org", "v1", "pytorchjobs", "pytorch")
TFJOB = CrdTask("kubeflow.org", "v1", "tfjobs", "tensorflow")
MPIJOB = CrdTask("kubeflow.org", "v1", "mpijobs", "mpi")
JOBSET = CrdTask("jobset.x-k8s.io", "v1alpha2", "jobsets", "clustered-task")
KF = {"torch-defaults": (PYTORCH, "PyTorchJob"), "tf-defaults": (TFJOB, "TFJob"),
      "mpi-defaults": (MPIJOB, "MPIJob")}


@pytest.fixture
def kueue_daemon(crds, daemon_factory):
    for operator in ("kubeflow", "jobset"):
        if not isinstance(crds.get(operator), list):
            pytest.fail(crds.get(operator) or f"no tests/cluster/crds/{operator}.sh")
    return daemon_factory(extra_yaml=CONFIG)


def cond(t, reason, message, status="True"):
    now = rfc3339(datetime.now(timezone.utc))
    return {"type": t, "status": status, "reason": reason, "message": message,
            "lastUpdateTime": now, "lastTransitionTime": now}


def set_suspend(cluster, crd, ns, name, path, value):
    """spec.<path> = value, as Kueue writes it on admission (false) and eviction (true)."""
    patch = value
    for key in reversed(["spec"] + path.split(".")):
        patch = {key: patch}
    cluster.must("PATCH", crd.path(cluster, ns, name), patch, MERGE)


@pytest.mark.parametrize("case", list(KF))
def test_kubeflow_job_held_admitted_evicted(cluster, kueue_daemon, tmp_path, case):
    d = kueue_daemon
    kf, kind = KF[case]
    ns = cluster.new_namespace("kqkf")
    execution = "kq" + case.split("-")[0]
    name = f"{execution}-n0-0"
    template = kubeflow_tasks.CASES[case]()
    rendered = render(d, tmp_path, ns, execution, template)
    assert rendered["spec"]["runPolicy"]["suspend"] is True, rendered["spec"]["runPolicy"]
    meta = create(d, ns, execution, template)
    stored = kf.stored(cluster, ns, name)
    assert stored is not None, d.tail()
    assert stored["metadata"]["labels"][QUEUE_LABEL] == "team-queue", stored["metadata"]
    assert stored["spec"]["runPolicy"]["suspend"] is True, stored["spec"]["runPolicy"]
    kf.wait_phase(d, meta, PHASE.WAITING_FOR_RESOURCES, "waiting for Kueue admission in queue team-queue")
    # The training operator's word on a suspended job.
    kf.patch(cluster, ns, name, {"conditions": [cond("Created", "Created", f"{kind} {name} is created."),
                                                cond("Suspended", "Suspended", f"{kind} {name} is suspended.")]})
    kf.wait_phase(d, meta, PHASE.WAITING_FOR_RESOURCES,
                  f"waiting for Kueue admission in queue team-queue: {kind} {name} is suspended.")
    set_suspend(cluster, kf, ns, name, "runPolicy.suspend", False)
    kf.patch(cluster, ns, name, {"startTime": rfc3339(), "conditions": [
        cond("Created", "Created", "created"), cond("Suspended", "Resumed", "resumed", status="False"),
        cond("Running", "Running", "running")]})
    kf.wait_phase(d, meta, PHASE.RUNNING)
    set_suspend(cluster, kf, ns, name, "runPolicy.suspend", True)
    kf.patch(cluster, ns, name, {"conditions": [
        cond("Created", "Created", "created"), cond("Running", "Suspended", "suspended", status="False"),
        cond("Suspended", "Suspended", f"{kind} {name} is suspended.")]})
    r = kf.wait_for(d, meta, lambda r: r.phase == PHASE.RETRYABLE_FAILED, "a retryable failure")
    # Kueue suspends first, the operator's Suspended condition may follow: the failure is
    # reported at the first of them.
    assert f"evicted by Kueue from queue team-queue: the {kind} was suspended while it ran" in r.message, r.message


def test_jobset_held_admitted_evicted(cluster, kueue_daemon):
    d = kueue_daemon
    ns = cluster.new_namespace("kqjs")
    meta = create(d, ns, "kqjs", jobset_tasks.template("train_restarts"))
    name = "kqjs-n0-0"
    stored = JOBSET.stored(cluster, ns, name)
    assert stored is not None, d.tail()
    assert stored["metadata"]["labels"][QUEUE_LABEL] == "team-queue", stored["metadata"]
    assert stored["spec"]["suspend"] is True, stored["spec"]
    JOBSET.patch(cluster, ns, name, {"conditions": [cond("Suspended", "SuspendJobs", "jobset is suspended")],
                                     "restarts": 0})
    JOBSET.wait_phase(d, meta, PHASE.WAITING_FOR_RESOURCES,
                      "waiting for Kueue admission in queue team-queue: jobset is suspended")
    set_suspend(cluster, JOBSET, ns, name, "suspend", False)
    JOBSET.patch(cluster, ns, name, {"conditions": [cond("Suspended", "ResumeJobs", "jobset is resumed", "False")]})
    # Between the two patches the JobSet is unsuspended but still has its Suspended
    # condition, which a poll may see (QUEUED, "JobSet suspended"): wait for the JobSet's own
    # phase once the condition is gone too.
    r = JOBSET.wait_for(d, meta, lambda r: r.phase == PHASE.INITIALIZING,
                        "the JobSet's own phase once admitted")
    assert r.phase == PHASE.INITIALIZING, (PHASE.Phase.Name(r.phase), r.message)
    set_suspend(cluster, JOBSET, ns, name, "suspend", True)
    JOBSET.patch(cluster, ns, name, {"conditions": [cond("Suspended", "SuspendJobs", "jobset is suspended")]})
    r = JOBSET.wait_for(d, meta, lambda r: r.phase == PHASE.RETRYABLE_FAILED, "a retryable failure")
    assert "evicted by Kueue from queue team-queue: the JobSet was suspended while it ran" in r.message, r.message


def test_unqueued_namespace_and_explicit_queue(cluster, crds, daemon_factory):
    """Without queueing.kueue the objects are neither labelled nor suspended; the execution's
    queue label alone hands a PyTorchJob to Kueue."""
    d = daemon_factory()
    ns = cluster.new_namespace("kqoff")
    create(d, ns, "off", kubeflow_tasks.CASES["torch-defaults"]())
    stored = PYTORCH.stored(cluster, ns, "off-n0-0")
    assert stored is not None, d.tail()
    assert QUEUE_LABEL not in stored["metadata"].get("labels", {}) and \
        not stored["spec"]["runPolicy"].get("suspend"), stored
    import engine_conftest
    md = engine_conftest.execution_metadata(ns, "lbl", extra_labels={QUEUE_LABEL: "by-label"})
    meta = create(d, ns, "lbl", kubeflow_tasks.CASES["torch-defaults"](), metadata=md)
    stored = PYTORCH.stored(cluster, ns, "lbl-n0-0")
    assert stored["metadata"]["labels"][QUEUE_LABEL] == "by-label" and stored["spec"]["runPolicy"]["suspend"]
    PYTORCH.wait_phase(d, meta, PHASE.WAITING_FOR_RESOURCES, "waiting for Kueue admission in queue by-label")


@task(pod_template=PodTemplate(primary_container_name="primary", pod_spec=V1PodSpec(
    containers=[V1Container(name="primary")],
    scheduling_gates=[V1PodSchedulingGate(name="kueue.x-k8s.io/admission")])))
def gated(x: int) -> int:
    return x


POD = CrdTask("", "v1", "pods", "python-task")


def test_pod_gated_admitted_stopped(cluster, kueue_daemon):
    """A Pod task gets the queue label; Kueue's pod webhook (stood in for by the gate in the
    task's pod template) holds it: WAITING_FOR_RESOURCES until the gate goes, then the pod's own
    phases, and Kueue's stop (a TerminationTarget condition) is a retryable failure."""
    d = kueue_daemon
    ns = cluster.new_namespace("kqpod")
    meta = create(d, ns, "kqpod", flytekit_tasks.serialize(gated))
    name = "kqpod-n0-0"
    st, pod = cluster.request("GET", f"/api/v1/namespaces/{ns}/pods/{name}")
    assert st == 200, d.tail()
    assert pod["metadata"]["labels"][QUEUE_LABEL] == "team-queue", pod["metadata"]
    POD.wait_phase(d, meta, PHASE.WAITING_FOR_RESOURCES, "waiting for Kueue admission in queue team-queue")
    cluster.must("PATCH", f"/api/v1/namespaces/{ns}/pods/{name}", {"spec": {"schedulingGates": None}}, MERGE)
    r = POD.wait_for(d, meta, lambda r: r.phase != PHASE.WAITING_FOR_RESOURCES, "the pod's own phase")
    assert r.phase == PHASE.QUEUED, (PHASE.Phase.Name(r.phase), r.message)
    cluster.patch_pod_status(ns, name, {"conditions": [{
        "type": "TerminationTarget", "status": "True", "reason": "WorkloadEvicted",
        "message": "Preempted to accommodate a workload (UID: 1) due to prioritization in the ClusterQueue",
        "lastTransitionTime": rfc3339()}]})
    r = POD.wait_for(d, meta, lambda r: r.phase == PHASE.RETRYABLE_FAILED, "a retryable failure")
    assert "stopped by Kueue in queue team-queue: WorkloadEvicted - Preempted to accommodate" in r.message, r.message


def test_admitted_late_is_not_stale(cluster, crds, daemon_factory):
    """The training-operator timeout counts from creation; a job Kueue admits after it is not
    an operator that never came: it stays QUEUED until the operator writes status."""
    d = daemon_factory(extra_yaml=CONFIG + "plugins:\n  settings:\n    pytorch:\n      timeout: 1s\n")
    ns = cluster.new_namespace("kqlate")
    meta = create(d, ns, "late", kubeflow_tasks.CASES["torch-defaults"]())
    PYTORCH.wait_phase(d, meta, PHASE.WAITING_FOR_RESOURCES, "waiting for Kueue admission in queue team-queue")
    PYTORCH.keeps_phase(d, meta, PHASE.WAITING_FOR_RESOURCES, seconds=2)
    set_suspend(cluster, PYTORCH, ns, "late-n0-0", "runPolicy.suspend", False)
    PYTORCH.wait_phase(d, meta, PHASE.QUEUED, "JobCreated")
    PYTORCH.keeps_phase(d, meta, PHASE.QUEUED, seconds=2)


def test_trainjob_held_admitted_evicted(cluster, crds, daemon_factory):
    """The trainer module (loaded from plugins.dir, resolving queue.h from the daemon) hands a
    TrainJob to Kueue as the built-in plugins do."""
    from test_trainer import CONFIG as TRAINER_CONFIG, MODULES, TRAINJOB
    if not isinstance(crds.get("trainer"), list):
        pytest.fail(crds.get("trainer") or "no tests/cluster/crds/trainer.sh")
    assert (MODULES / "trainer.so").is_file(), f"no trainer module in {MODULES}"
    d = daemon_factory(extra_yaml=TRAINER_CONFIG + CONFIG)
    ns = cluster.new_namespace("kqtj")
    meta = create(d, ns, "kqtj", kubeflow_tasks.TRAINJOB_CASES["torch-defaults"]())
    name = "kqtj-n0-0"
    stored = TRAINJOB.stored(cluster, ns, name)
    assert stored is not None, d.tail()
    assert stored["metadata"]["labels"][QUEUE_LABEL] == "team-queue" and stored["spec"]["suspend"] is True, stored
    TRAINJOB.wait_phase(d, meta, PHASE.WAITING_FOR_RESOURCES, "waiting for Kueue admission in queue team-queue")
    set_suspend(cluster, TRAINJOB, ns, name, "suspend", False)
    TRAINJOB.patch(cluster, ns, name, {"jobsStatus": [{"name": "node", "active": 1, "ready": 1, "succeeded": 0,
                                                       "failed": 0, "suspended": 0}]})
    TRAINJOB.wait_for(d, meta, lambda r: r.phase == PHASE.RUNNING, "RUNNING")
    set_suspend(cluster, TRAINJOB, ns, name, "suspend", True)
    r = TRAINJOB.wait_for(d, meta, lambda r: r.phase == PHASE.RETRYABLE_FAILED, "a retryable failure")
    assert "evicted by Kueue from queue team-queue: the TrainJob was suspended while it ran" in r.message, r.message
