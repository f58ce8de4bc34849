"""Declared task types end to end (examples/tasktypes/): the daemon reads the declarations from
plugins.settings.crd.dir, CreateTask builds the object from the manifest and the real API server
accepts it (batch/v1 Job natively, JobSet and TrainJob under their projects' published CRDs),
the test writes status as each controller would, and GetTask answers the phases, messages and
log links the declarations' jq rules give; DeleteTask removes the object. Task templates are
built with flytekit's models, the way the flytekit task class will: custom is a plain Struct."""
from __future__ import annotations

import pytest
from datetime import timedelta

from flytekit.models import interface as ifm
from flytekit.models import literals
from flytekit.models import task as tm
from flytekit.models import types as ty
from flytekit.models.core import identifier as idm
from google.protobuf import json_format, struct_pb2

import engine_conftest
from operator_helpers import PHASE, CrdTask, create, links, render, rfc3339, subset_mismatch

IMAGE = "ghcr.io/flyteorg/flytekit:py3.11-1.16.31"
ARGS = ["pyflyte-execute", "--inputs", "{{.input}}", "--output-prefix", "{{.outputPrefix}}"]


def template(task_type, custom, outputs=None):
    """A TaskTemplate of task_type with custom (a dict) as its Struct and a container."""
    s = struct_pb2.Struct()
    s.update(custom)
    iface = ifm.TypedInterface(
        inputs={}, outputs={k: ifm.Variable(ty.LiteralType(simple=v), k)
                            for k, v in (outputs or {}).items()})
    t = tm.TaskTemplate(
        id=idm.Identifier(idm.ResourceType.TASK, "flytesnacks", "development", f"tt.{task_type}", "v1"),
        type=task_type,
        metadata=tm.TaskMetadata(False, tm.RuntimeMetadata(tm.RuntimeMetadata.RuntimeType.FLYTE_SDK,
                                                           "1.16.31", "python"),
                                 timedelta(0), literals.RetryStrategy(0), False, "", "", False, "",
                                 []),
        interface=iface,
        custom=json_format.MessageToDict(s),
        container=tm.Container(image=IMAGE, command=[], args=ARGS,
                               resources=tm.Resources(requests=[tm.Resources.ResourceEntry(
                                   tm.Resources.ResourceName.CPU, "500m")], limits=[]),
                               env={"MODE": "fast"}, config={}),
    )
    return t.to_flyte_idl()


def cond(type_, status="True", message="", reason="Reason"):
    return {"type": type_, "status": status, "message": message, "reason": reason,
            "lastTransitionTime": rfc3339()}


JOB = CrdTask("batch", "v1", "jobs", "batch-job")
JOBSET = CrdTask("jobset.x-k8s.io", "v1alpha2", "jobsets", "jobset")
TRAINJOB = CrdTask("trainer.kubeflow.org", "v1alpha1", "trainjobs", "trainjob")


def start(daemon, cluster, tmp_path, task, ns, execution, tmpl):
    """CreateTask; checks the stored object holds everything `flyteplugd render` builds."""
    meta = engine_conftest.execution_metadata(ns, execution)
    rendered = render(daemon, tmp_path, ns, execution, tmpl, meta)
    rmeta = create(daemon, ns, execution, tmpl, meta)
    name = f"{execution}-n0-0"
    stored = task.stored(cluster, ns, name)
    assert stored is not None, daemon.tail()
    mismatch = subset_mismatch(rendered, stored)
    assert mismatch is None, mismatch
    return rmeta, name, stored


def test_batch_job(cluster, crd_daemon, tmp_path):
    ns = cluster.new_namespace("ttjob")
    tmpl = template("batch-job", {"backoffLimit": 2}, {"succeeded_pods": ty.SimpleType.INTEGER})
    meta, name, job = start(crd_daemon, cluster, tmp_path, JOB, ns, "ttjob", tmpl)
    assert job["spec"]["backoffLimit"] == 2
    c = job["spec"]["template"]["spec"]["containers"][0]
    assert c["image"] == IMAGE and c["resources"]["requests"]["cpu"] == "500m"
    assert c["args"][2] == "s3://bucket/meta/ttjob/n0/data/inputs.pb", c["args"]
    assert {"name": "MODE", "value": "fast"} in c["env"]
    assert job["metadata"]["annotations"]["flyteplugd.flyte.org/output-types"] == \
        '{"succeeded_pods":"integer"}'

    r = JOB.wait_phase(crd_daemon, meta, PHASE.QUEUED)
    assert ("Job events", f"https://console.example.com/{ns}/jobs/{name}") in links(r)
    JOB.patch(cluster, ns, name, {"startTime": rfc3339(), "active": 1})
    JOB.wait_phase(crd_daemon, meta, PHASE.RUNNING, "1 pod(s) active")
    JOB.patch(cluster, ns, name, {"active": 0, "failed": 3, "conditions": [
        cond("FailureTarget", message="Job has reached the specified backoff limit",
             reason="BackoffLimitExceeded"),
        cond("Failed", message="Job has reached the specified backoff limit",
             reason="BackoffLimitExceeded")]})
    r = JOB.wait_phase(crd_daemon, meta, PHASE.FAILED, "Failed: Job has reached the specified backoff limit")
    JOB.delete(crd_daemon, meta)
    JOB.wait_deleted(crd_daemon, cluster, ns, name)


def test_jobset(cluster, upstream_crds, crd_daemon, tmp_path):
    ns = cluster.new_namespace("ttjs")
    tmpl = template("jobset", {"replicas": 3, "maxRestarts": 2})
    meta, name, js = start(crd_daemon, cluster, tmp_path, JOBSET, ns, "ttjs", tmpl)
    rj = js["spec"]["replicatedJobs"][0]
    assert rj["replicas"] == 3 and js["spec"]["failurePolicy"]["maxRestarts"] == 2
    assert rj["template"]["spec"]["template"]["spec"]["containers"][0]["image"] == IMAGE

    JOBSET.wait_phase(crd_daemon, meta, PHASE.QUEUED)
    JOBSET.patch(cluster, ns, name, {"conditions": [cond("Suspended", message="suspended by Kueue")]})
    JOBSET.wait_phase(crd_daemon, meta, PHASE.WAITING_FOR_RESOURCES, "suspended by Kueue")
    JOBSET.patch(cluster, ns, name, {"conditions": [cond("Suspended", "False", "resumed")],
                                     "replicatedJobsStatus": [{"name": "workers", "active": 3,
                                                               "ready": 3, "succeeded": 0,
                                                               "failed": 0, "suspended": 0}]})
    # The message rule reads a spec field the declaration keeps (spec.keep).
    JOBSET.wait_phase(crd_daemon, meta, PHASE.RUNNING, "3 of 3 ready")
    # A failure with restarts left is retryable; the jq message rule picks the condition's text.
    JOBSET.patch(cluster, ns, name, {"restarts": 1, "terminalState": "Failed", "conditions": [
        cond("Suspended", "False", "resumed"), cond("Failed", message="jobset failed: workers")]})
    JOBSET.wait_phase(crd_daemon, meta, PHASE.RETRYABLE_FAILED, "Failed: jobset failed: workers")
    JOBSET.delete(crd_daemon, meta)
    JOBSET.wait_deleted(crd_daemon, cluster, ns, name)


def test_trainjob(cluster, upstream_crds, crd_daemon, tmp_path):
    ns = cluster.new_namespace("tttj")
    tmpl = template("trainjob", {"runtime": "torch-distributed", "nodes": 2},
                    {"loss": ty.SimpleType.FLOAT})
    meta, name, tj = start(crd_daemon, cluster, tmp_path, TRAINJOB, ns, "tttj", tmpl)
    assert tj["spec"]["runtimeRef"]["name"] == "torch-distributed"
    assert tj["spec"]["trainer"]["numNodes"] == 2
    assert tj["spec"]["trainer"]["resourcesPerNode"]["requests"]["cpu"] == "500m"
    assert tj["metadata"]["labels"]["example.com/runtime"] == "torch-distributed"

    r = TRAINJOB.wait_phase(crd_daemon, meta, PHASE.QUEUED)
    TRAINJOB.patch(cluster, ns, name, {"jobsStatus": [{"name": "node", "active": 2, "ready": 2,
                                                       "succeeded": 0, "failed": 0,
                                                       "suspended": 0}],
                                       "trainerStatus": {"progressPercentage": 40,
                                                         "lastUpdatedTime": rfc3339()}})
    r = TRAINJOB.wait_phase(crd_daemon, meta, PHASE.RUNNING, "40% done")
    assert ("TrainJob", f"https://console.example.com/{ns}/trainjobs/{name}") in links(r)
    TRAINJOB.patch(cluster, ns, name, {
        "conditions": [cond("Complete", message="TrainJob completed")],
        "trainerStatus": {"progressPercentage": 100, "lastUpdatedTime": rfc3339(),
                          "metrics": [{"name": "loss", "value": "0.125"}]}})
    r = TRAINJOB.wait_phase(crd_daemon, meta, PHASE.SUCCEEDED)
    # The declared output, typed by the task's interface, is GetTask's outputs LiteralMap.
    assert list(r.outputs.literals) == ["loss"], r.outputs
    assert r.outputs.literals["loss"].scalar.primitive.float_value == 0.125, r.outputs
    TRAINJOB.delete(crd_daemon, meta)
    TRAINJOB.wait_deleted(crd_daemon, cluster, ns, name)


def test_trainjob_mistyped_output_fails(cluster, upstream_crds, crd_daemon, tmp_path):
    """An output whose value is not of the interface's type fails the task, saying which."""
    ns = cluster.new_namespace("tttjbad")
    tmpl = template("trainjob", {"runtime": "torch-distributed", "nodes": 1},
                    {"loss": ty.SimpleType.BOOLEAN})
    meta = create(crd_daemon, ns, "tttjbad", tmpl)
    name = "tttjbad-n0-0"
    TRAINJOB.wait_phase(crd_daemon, meta, PHASE.QUEUED)
    TRAINJOB.patch(cluster, ns, name, {
        "conditions": [cond("Complete", message="TrainJob completed")],
        "trainerStatus": {"progressPercentage": 100, "lastUpdatedTime": rfc3339(),
                          "metrics": [{"name": "loss", "value": "0.125"}]}})
    r = TRAINJOB.wait_phase(crd_daemon, meta, PHASE.FAILED)
    assert r.message == ("OutputsMissing: output loss: expected a boolean, the expression "
                         "gave 0.125"), r.message
    assert not r.outputs.literals, r.outputs
    TRAINJOB.delete(crd_daemon, meta)
    TRAINJOB.wait_deleted(crd_daemon, cluster, ns, name)


def test_bad_declaration_is_refused_alone(cluster, tmp_path):
    """A folder with one bad declaration: the daemon starts, logs where the problem is, and
    serves the good ones."""
    import shutil
    folder = tmp_path / "types"
    folder.mkdir()
    shutil.copy(engine_conftest.ROOT / "examples" / "tasktypes" / "batch-job.yaml", folder)
    (folder / "zz-bad.yaml").write_text(
        "apiVersion: flyteplugd.flyte.org/v1alpha1\nkind: FlyteTaskType\nmetadata: {name: bad}\n"
        "spec:\n  taskType: {name: bad}\n  resource: {apiVersion: batch/v1, kind: Job, plural: jobs}\n"
        "  manifest: 'spec: {}'\n  status: {failed: 'def f: f; f', succeeded: 'true'}\n")
    wd = tmp_path / "d"
    wd.mkdir()
    d = engine_conftest.Daemon(wd, cluster, extra_yaml=(
        f"plugins:\n  settings:\n    crd:\n      dir: \"{folder}\"\n"))
    d.start()
    try:
        text = d.log.read_text()
        assert "zz-bad.yaml:8:20: FlyteTaskType: task type refused: spec.status.failed: column 1: " \
               "def is not allowed" in text, d.tail()
        ns = cluster.new_namespace("ttbad")
        meta = create(d, ns, "ttbad", template("batch-job", {"backoffLimit": 0}))
        JOB.wait_phase(d, meta, PHASE.QUEUED)
    finally:
        d.stop()


def test_flytetasktype_crd_accepts_the_examples(cluster):
    """The FlyteTaskType CRD of kustomize/components/crd-tasktypes: the API server stores the
    examples and refuses a declaration its schema forbids, naming the field."""
    import yaml
    root = engine_conftest.ROOT
    cluster.install_crds([str(root / "kustomize" / "components" / "crd-tasktypes" /
                              "flytetasktypes.yaml")])
    path = cluster.resource_path("flyteplugd.flyte.org", "v1alpha1", "flytetasktypes", None)
    for f in sorted((root / "examples" / "tasktypes").glob("*.yaml")):
        doc = yaml.safe_load(f.read_text())
        doc["metadata"]["name"] = "crd-test-" + doc["metadata"]["name"]
        cluster.request("DELETE", f"{path}/{doc['metadata']['name']}")
        st, obj = cluster.request("POST", path, doc)
        assert st == 201, (f.name, obj)
        st, obj = cluster.request("GET", f"{path}/{doc['metadata']['name']}")
        assert st == 200 and obj["spec"] == doc["spec"], (f.name, obj)
        cluster.request("DELETE", f"{path}/{doc['metadata']['name']}")
    bad = yaml.safe_load((root / "examples" / "tasktypes" / "batch-job.yaml").read_text())
    bad["metadata"]["name"] = "bad-kind"
    bad["spec"]["status"]["failureKind"] = "operator"
    bad["spec"]["taskType"]["name"] = "Bad Name"
    st, obj = cluster.request("POST", path, bad)
    assert st == 422, obj
    assert "spec.status.failureKind" in obj["message"] and "spec.taskType.name" in obj["message"], obj


def test_list_agents_names_declared_types(crd_daemon):
    """ListAgents reports each declared type as an agent serving it (so propeller routes it);
    the crd plugin itself serves none of its own and is not listed."""
    from flyteidl.admin import agent_pb2
    from flyteidl.service import agent_pb2_grpc
    stub = agent_pb2_grpc.AgentMetadataServiceStub(crd_daemon.channel)
    agents = {a.name: a for a in stub.ListAgents(agent_pb2.ListAgentsRequest(), timeout=5).agents}
    for name in ("batch-job", "jobset", "trainjob"):
        assert name in agents, sorted(agents)
        assert [(t.name, t.version) for t in agents[name].supported_task_categories] == [(name, 0)]
    # The crd plugin serves no task type of its own: propeller routes by categories, so an
    # agent with none is not listed.
    assert "crd" not in agents, sorted(agents)
    assert all(a.supported_task_categories for a in agents.values()), agents


def test_check_config_refuses_a_bad_declaration(tmp_path):
    """check-config exits 2 when a declaration would be refused, naming its file:line:col and
    the problem; the same folder without it is OK."""
    import shutil
    import subprocess
    folder = tmp_path / "types"
    folder.mkdir()
    shutil.copy(engine_conftest.ROOT / "examples" / "tasktypes" / "batch-job.yaml", folder)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"plugins:\n  settings:\n    crd:\n      dir: \"{folder}\"\n")
    r = subprocess.run([engine_conftest.BIN, "check-config", str(cfg)],
                       capture_output=True, text=True)
    assert r.returncode == 0, (r.returncode, r.stderr)
    (folder / "zz-bad.yaml").write_text(
        "apiVersion: flyteplugd.flyte.org/v1alpha1\nkind: FlyteTaskType\nmetadata: {name: bad}\n"
        "spec:\n  taskType: {name: bad}\n  resource: {apiVersion: batch/v1, kind: Job, plural: jobs}\n"
        "  manifest: 'spec: {x: {{ .nosuch }}}'\n  status: {failed: 'false', succeeded: 'true'}\n")
    r = subprocess.run([engine_conftest.BIN, "check-config", str(cfg)],
                       capture_output=True, text=True)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert f"{folder}/zz-bad.yaml:7:13: FlyteTaskType: task type refused: spec.manifest: " \
           in r.stderr and "unknown variable {{ .nosuch }}" in r.stderr, r.stderr
    assert "1 task type declaration(s) refused" in r.stderr, r.stderr
