"""examples/plugin-template as its user takes it: the SDK installed to a scratch prefix, the
template copied out of the source tree and built there against the SDK alone (find_package,
protoc-c for its proto), its Python proto code generated with protoc, and the module loaded by
the daemon from plugins.dir. Then a task serialized by the template's flytekit class runs
through the real daemon and API server: a batch/v1 Job, its conditions as phases, deletion."""
from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import grpc
import pytest
from flyteidl.admin import agent_pb2
from flyteidl.core import execution_pb2
from flytekit import Resources, kwtypes
from google.protobuf.json_format import MessageToDict

from sdklib import BIN, ROOT, create_request, serialize, served_types

PHASE = execution_pb2.TaskExecution
TEMPLATE = ROOT / "examples" / "plugin-template"
BUILD = Path(os.environ.get("FPD_BUILD", Path(BIN).resolve().parents[1]))


def run(*cmd, cwd=None):
    r = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"{' '.join(map(str, cmd))}: exit {r.returncode}\n{r.stdout}{r.stderr}"
    return r.stdout


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """The template built out of tree: (folder holding myjob.so, the myjob Python module)."""
    tmp = tmp_path_factory.mktemp("template")
    sdk, src, build = tmp / "sdk", tmp / "src", tmp / "build"
    run("cmake", "--install", BUILD, "--component", "sdk", "--prefix", sdk)
    shutil.copytree(TEMPLATE, src, ignore=shutil.ignore_patterns("myjob_pb2.py", "__pycache__"))
    run("cmake", "-S", src, "-B", build, "-DCMAKE_PREFIX_PATH=" + str(sdk),
        "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON")
    run("cmake", "--build", build)
    commands = (build / "compile_commands.json").read_text()
    assert str(ROOT) not in commands and str(BUILD) not in commands, commands  # the SDK only
    plugins = tmp / "plugins"
    plugins.mkdir()
    shutil.copy(build / "myjob.so", plugins)
    run("protoc", "--python_out=" + str(src / "python" / "myjob"), "-I", src / "proto",
        src / "proto" / "myjob.proto")
    sys.path.insert(0, str(src / "python"))
    try:
        myjob = importlib.import_module("myjob")
    finally:
        sys.path.remove(str(src / "python"))
    return plugins, myjob


@pytest.fixture
def plugin_daemon(template, daemon_factory):
    plugins, _ = template
    return daemon_factory(extra_yaml=f'plugins: {{dir: "{plugins}"}}\n')


def job_task(myjob, name="template.train", **kwargs):
    args = dict(image="busybox:1.36", replicas=2, params={"MODE": "fast", "SEED": "7"},
                backoff_limit=1, inputs=kwtypes(n=int), outputs=kwtypes(result=str))
    args.update(kwargs)
    return myjob.MyJobTask(name=name, **args)


def get(daemon, meta):
    return daemon.stub.GetTask(agent_pb2.GetTaskRequest(task_type="myjob", resource_meta=meta),
                               timeout=30).resource


def wait_phase(daemon, meta, phase, message=None, timeout=20):
    """GetTask until the phase (and the message, if given) is the one wanted."""
    deadline, r = time.time() + timeout, None
    while time.time() < deadline:
        r = get(daemon, meta)
        if r.phase == phase and message in (None, r.message):
            return r
        time.sleep(0.2)
    raise AssertionError(f"phase {PHASE.Phase.Name(r.phase)} ({r.message!r}), wanted "
                         f"{PHASE.Phase.Name(phase)} ({message!r})\n{daemon.tail()}")


def job(cluster, ns, name):
    status, obj = cluster.request("GET", f"/apis/batch/v1/namespaces/{ns}/jobs/{name}")
    return obj if status == 200 else None


def now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def condition(type_, reason, message):
    return {"type": type_, "status": "True", "reason": reason, "message": message,
            "lastProbeTime": now(), "lastTransitionTime": now()}


def test_template_custom_is_the_proto_message(template):
    _, myjob = template
    t = serialize(job_task(myjob))
    assert t.type == "myjob" and t.task_type_version == 0
    assert MessageToDict(t.custom) == {"image": "busybox:1.36", "replicas": 2, "backoffLimit": 1,
                                       "params": {"MODE": "fast", "SEED": "7"}}, t.custom
    assert t.container.image == "busybox:1.36"
    with pytest.raises(TypeError):  # the message checks field types when the task is defined
        job_task(myjob, replicas="two")


def test_list_agents_lists_the_plugin(plugin_daemon):
    assert served_types(plugin_daemon).get("myjob") == [0], served_types(plugin_daemon)


def test_job_lifecycle(cluster, plugin_daemon, template):
    _, myjob = template
    d = plugin_daemon
    ns = cluster.new_namespace("myjob")
    tmpl = serialize(job_task(myjob, requests=Resources(cpu="500m", mem="256Mi")))
    meta = d.stub.CreateTask(create_request(tmpl, ns, "job1"), timeout=30).resource_meta
    j = job(cluster, ns, "job1-n0-0")
    assert j is not None, d.tail()
    spec = j["spec"]
    assert (spec["parallelism"], spec["completions"], spec["backoffLimit"]) == (2, 2, 1), spec
    c = spec["template"]["spec"]["containers"][0]
    assert c["image"] == "busybox:1.36"
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert env["MODE"] == "fast" and env["SEED"] == "7", env
    assert env["FLYTE_INTERNAL_EXECUTION_ID"] == "job1", env
    assert c["resources"]["requests"] == {"cpu": "500m", "memory": "256Mi"}, c["resources"]
    assert spec["template"]["metadata"]["labels"]["execution-id"] == "job1"
    assert j["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "flyteplugd"

    wait_phase(d, meta, PHASE.QUEUED)
    started = now()
    cluster.patch_status("batch", "v1", "jobs", ns, "job1-n0-0",
                         {"startTime": started, "active": 2, "ready": 2})
    wait_phase(d, meta, PHASE.RUNNING, "2 pods active")
    met = condition("SuccessCriteriaMet", "CompletionsReached", "Reached expected number of succeeded pods")
    cluster.patch_status("batch", "v1", "jobs", ns, "job1-n0-0", {
        "startTime": started, "active": 0, "ready": 0, "succeeded": 2, "conditions": [met]})
    # still running while its pods terminate
    wait_phase(d, meta, PHASE.RUNNING, "finishing: CompletionsReached")
    cluster.patch_status("batch", "v1", "jobs", ns, "job1-n0-0", {
        "startTime": started, "completionTime": now(), "active": 0, "ready": 0, "succeeded": 2,
        "conditions": [met, condition("Complete", "CompletionsReached", "Reached expected number of succeeded pods")]})
    wait_phase(d, meta, PHASE.SUCCEEDED)

    d.stub.DeleteTask(agent_pb2.DeleteTaskRequest(task_type="myjob", resource_meta=meta), timeout=30)
    deadline = time.time() + 20
    while job(cluster, ns, "job1-n0-0") and time.time() < deadline:
        time.sleep(0.2)
    assert job(cluster, ns, "job1-n0-0") is None, d.tail()


def test_failed_job_is_a_user_failure(cluster, plugin_daemon, template):
    _, myjob = template
    d = plugin_daemon
    ns = cluster.new_namespace("myjobfail")
    meta = d.stub.CreateTask(create_request(serialize(job_task(myjob)), ns, "job2"),
                             timeout=30).resource_meta
    wait_phase(d, meta, PHASE.QUEUED)
    started = now()
    cluster.patch_status("batch", "v1", "jobs", ns, "job2-n0-0", {
        "startTime": started, "active": 0, "failed": 2,
        "conditions": [condition("FailureTarget", "BackoffLimitExceeded", "Job has reached the specified backoff limit"),
                       condition("Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit")]})
    r = wait_phase(d, meta, PHASE.FAILED)
    assert "Job failed: Job has reached the specified backoff limit" in r.message, r.message


def test_image_from_the_task_container(cluster, plugin_daemon, template):
    _, myjob = template
    ns = cluster.new_namespace("myjobimg")
    tmpl = serialize(job_task(myjob, image="", container_image="ghcr.io/acme/fallback:1",
                              command=["run"], args=["--n", "{{ .inputs.n }}", "--out", "{{.outputPrefix}}"]))
    req = create_request(tmpl, ns, "job3")
    req.inputs.literals["n"].scalar.primitive.integer = 42
    plugin_daemon.stub.CreateTask(req, timeout=30)
    c = job(cluster, ns, "job3-n0-0")["spec"]["template"]["spec"]["containers"][0]
    assert (c["image"], c["command"]) == ("ghcr.io/acme/fallback:1", ["run"]), c
    assert c["args"] == ["--n", "42", "--out", "s3://bucket/meta/job3/n0/data/0"], c["args"]


@pytest.mark.parametrize("custom,refused,error", [
    # build() refuses: a permanent failure, reported through GetTask
    ({"replicas": 2}, False, "custom.image: empty, and the task has no container image"),
    ({"image": "busybox", "replicas": 5000}, False, "custom.replicas: 5000 is not from 1 to 1000"),
    # custom does not decode into mycompany.MyJob: CreateTask itself is refused
    ({"image": "busybox", "replicas": "two"}, True,
     'TaskTemplate.custom as mycompany.MyJob: replicas: expected an integer (int32), got "two"'),
])
def test_bad_custom_is_refused(cluster, plugin_daemon, custom, refused, error):
    from flyteidl.core import tasks_pb2
    from google.protobuf import json_format, struct_pb2

    tmpl = tasks_pb2.TaskTemplate(type="myjob", custom=json_format.ParseDict(custom, struct_pb2.Struct()))
    tmpl.id.name = "template.bad"
    ns = cluster.new_namespace("myjobbad")
    if refused:
        with pytest.raises(grpc.RpcError) as e:
            plugin_daemon.stub.CreateTask(create_request(tmpl, ns, "bad1"), timeout=30)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT, e.value
        assert e.value.details() == error, e.value.details()
        return
    meta = plugin_daemon.stub.CreateTask(create_request(tmpl, ns, "bad1"), timeout=30).resource_meta
    r = wait_phase(plugin_daemon, meta, PHASE.FAILED)
    assert r.message.endswith(error), r.message
    assert job(cluster, ns, "bad1-n0-0") is None
