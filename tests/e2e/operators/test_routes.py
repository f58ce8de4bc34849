"""plugins.routes end to end: one daemon loads both the built-in pytorch plugin (PyTorchJob,
training operator v1) and the trainer module (TrainJob, Trainer v2) and chooses by the task's
namespace. A task made by the real flytekitplugins-kfpytorch becomes a TrainJob in `ml-*` and a
PyTorchJob elsewhere, each accepted by the real API server under its own published CRD schema,
followed to its phase from the status its operator writes (patched here: no controllers) and
deleted through the resource_meta it was created with. ListAgents names pytorch once. A
privileged container routed to a TrainJob is refused by the Pod Security check with nothing
created. A route the daemon cannot honour stops check-config with exit code 2."""
from __future__ import annotations

import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import grpc
import pytest
from flyteidl.admin import agent_pb2
from flyteidl.service import agent_pb2_grpc
from flyteidl2.connector import connector_pb2
from flyteidl2.connector import service_pb2_grpc
from flytekit import PodTemplate, task
from flytekitplugins.kfpytorch import PyTorch
from kubernetes.client import V1Container, V1PodSpec, V1SecurityContext

import kubeflow_tasks
from engine_conftest import BIN
from flytekit_tasks import serialize
from operator_helpers import PHASE, CrdTask, create, render, rfc3339

TRAINJOB = CrdTask("trainer.kubeflow.org", "v1alpha1", "trainjobs", "pytorch")
PYTORCHJOB = CrdTask("kubeflow.org", "v1", "pytorchjobs", "pytorch")
TRAINER_DIR = Path(BIN).resolve().parents[1] / "plugins" / "modules" / "trainer"
ROUTES = f"""\
plugins:
  dir: "{TRAINER_DIR}"
  routes:
  - task_type: pytorch
    namespaces: ["ml-*"]
    plugin: trainer
"""


@pytest.fixture
def routed(crds, daemon_factory):
    for operator in ("kubeflow", "trainer"):
        if not isinstance(crds.get(operator), list):
            pytest.fail(crds.get(operator) or f"no tests/cluster/crds/{operator}.sh")
    assert (TRAINER_DIR / "trainer.so").is_file(), f"no trainer module in {TRAINER_DIR}"
    return daemon_factory(extra_yaml=ROUTES)


def kf_cond(t, at, status="True"):
    return {"type": t, "status": status, "reason": t, "message": t, "lastUpdateTime": at,
            "lastTransitionTime": at}


def tj_cond(t, message):
    return {"type": t, "status": "True", "reason": t, "message": message,
            "lastTransitionTime": rfc3339(datetime.now(timezone.utc))}


def test_namespace_chooses_trainjob_or_pytorchjob(cluster, routed, tmp_path):
    template = kubeflow_tasks.TRAINJOB_CASES["torch-defaults"]()
    assert template.type == "pytorch"
    ml, team = cluster.new_namespace("ml-a"), cluster.new_namespace("team-b")

    # render chooses as CreateTask does.
    assert render(routed, tmp_path, ml, "r1", template)["kind"] == "TrainJob"
    assert render(routed, tmp_path, team, "r1", template)["kind"] == "PyTorchJob"

    tj_meta = create(routed, ml, "job", template)
    pt_meta = create(routed, team, "job", template)
    assert TRAINJOB.names(cluster, ml) == ["job-n0-0"] and PYTORCHJOB.names(cluster, ml) == []
    assert PYTORCHJOB.names(cluster, team) == ["job-n0-0"] and TRAINJOB.names(cluster, team) == []
    assert TRAINJOB.stored(cluster, ml, "job-n0-0")["spec"]["trainer"]["numNodes"] == 3

    # Each follows its own kind's status.
    TRAINJOB.wait_phase(routed, tj_meta, PHASE.QUEUED, "TrainJob created")
    PYTORCHJOB.wait_for(routed, pt_meta, lambda r: r.phase == PHASE.QUEUED, "QUEUED")
    TRAINJOB.patch(cluster, ml, "job-n0-0", {"conditions": [
        tj_cond("Complete", "TrainJob is completed")]})
    TRAINJOB.wait_phase(routed, tj_meta, PHASE.SUCCEEDED, "TrainJob is completed")
    t = [rfc3339(datetime.now(timezone.utc) + timedelta(seconds=i)) for i in range(2)]
    PYTORCHJOB.patch(cluster, team, "job-n0-0", {"startTime": t[0], "conditions": [
        kf_cond("Created", t[0]), kf_cond("Running", t[1])]})
    PYTORCHJOB.wait_for(routed, pt_meta, lambda r: r.phase == PHASE.RUNNING, "RUNNING")

    # DeleteTask follows the plugin that created each.
    TRAINJOB.delete(routed, tj_meta)
    PYTORCHJOB.delete(routed, pt_meta)
    TRAINJOB.wait_deleted(routed, cluster, ml, "job-n0-0")
    PYTORCHJOB.wait_deleted(routed, cluster, team, "job-n0-0")


def test_each_task_category_is_listed_once(routed):
    agents = agent_pb2_grpc.AgentMetadataServiceStub(routed.channel).ListAgents(
        agent_pb2.ListAgentsRequest(), timeout=10).agents
    owners = [(c.name, c.version, a.name) for a in agents for c in a.supported_task_categories]
    torch = [o for o in owners if o[0] == "pytorch"]
    assert sorted(torch) == [("pytorch", 0, "pytorch"), ("pytorch", 1, "pytorch")], torch
    assert len(owners) == len({(n, v) for n, v, _ in owners}), owners
    connectors = service_pb2_grpc.ConnectorMetadataServiceStub(routed.channel).ListConnectors(
        connector_pb2.ListConnectorsRequest(), timeout=10).connectors
    cats = [(c.name, c.version) for k in connectors for c in k.supported_task_categories]
    assert cats.count(("pytorch", 0)) == 1 and cats.count(("pytorch", 1)) == 1, cats
    assert "trainer" not in {k.name for k in connectors}


@task(task_config=PyTorch(num_workers=1),
      pod_template=PodTemplate(primary_container_name="primary", pod_spec=V1PodSpec(
          containers=[V1Container(name="primary",
                                  security_context=V1SecurityContext(privileged=True))])))
def torch_privileged() -> None:
    ...


def test_privileged_trainjob_is_refused(cluster, routed):
    ns = cluster.new_namespace("ml-pss")
    meta = create(routed, ns, "priv", serialize(torch_privileged))
    r = TRAINJOB.get(routed, meta)
    assert r.phase == PHASE.FAILED, (r.message, routed.tail())
    assert r.message.startswith("PodSecurityViolation: refused by policy.pod_security, nothing "
                                "was created: "), r.message
    assert "spec.runtimePatches[0].trainingRuntimeSpec.template.spec.replicatedJobs[0]" \
           ".template.spec.template.spec" in r.message, r.message
    assert "(check: privileged)" in r.message, r.message
    assert TRAINJOB.names(cluster, ns) == [] and PYTORCHJOB.names(cluster, ns) == []


@pytest.mark.parametrize("plugins,want", [
    # The module is not loaded (no plugins.dir).
    ("routes: [{task_type: pytorch, plugin: trainer}]", 'plugins.routes[0].plugin: no plugin "trainer"'),
    (f'dir: "{TRAINER_DIR}"\n  routes: [{{task_type: pytorch, plugin: trainer}}, '
     '{task_type: ray, plugin: trainer}]',
     'plugins.routes[1].task_type: plugin "trainer" does not serve task type ray'),
    # Two plugins for pytorch and no route: as before routes existed.
    (f'dir: "{TRAINER_DIR}"', 'is served by both "pytorch" and "trainer"'),
    ("routes: [{task_type: pytorch, plugin: trainer, namespaces: ['ML_*']}]",
     'plugins.routes[0]: "ML_*" is not a namespace pattern'),
])
def test_bad_route_fails_check_config(tmp_path, plugins, want):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"plugins:\n  {plugins}\n")
    out = subprocess.run([BIN, "check-config", str(cfg)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    assert want in out.stderr, out.stderr


def test_finished_tasks_of_both_kinds_are_cleaned_up(cluster, crds, daemon_factory):
    """Cleanup (no DeleteTask after success) removes each kind once its task has finished."""
    d = daemon_factory(extra_yaml=ROUTES, cleanup_ttl="2s", orphan_after="1h", sweep_interval="1s")
    template = kubeflow_tasks.TRAINJOB_CASES["torch-defaults"]()
    ml, team = cluster.new_namespace("ml-gc"), cluster.new_namespace("team-gc")
    tj_meta = create(d, ml, "gc", template)
    pt_meta = create(d, team, "gc", template)
    TRAINJOB.patch(cluster, ml, "gc-n0-0", {"conditions": [tj_cond("Complete", "TrainJob is completed")]})
    t = [rfc3339(datetime.now(timezone.utc) + timedelta(seconds=i)) for i in range(3)]
    PYTORCHJOB.patch(cluster, team, "gc-n0-0", {"startTime": t[0], "conditions": [
        kf_cond("Created", t[0]), kf_cond("Running", t[1], "False"), kf_cond("Succeeded", t[2])]})
    TRAINJOB.wait_phase(d, tj_meta, PHASE.SUCCEEDED, "TrainJob is completed")
    PYTORCHJOB.wait_for(d, pt_meta, lambda r: r.phase == PHASE.SUCCEEDED, "SUCCEEDED")
    TRAINJOB.wait_deleted(d, cluster, ml, "gc-n0-0")
    PYTORCHJOB.wait_deleted(d, cluster, team, "gc-n0-0")
