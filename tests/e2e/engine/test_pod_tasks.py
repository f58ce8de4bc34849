"""Container tasks end to end: flytekit-serialized templates go in through CreateTask (real
grpcio + flyteidl client), become pods in a real API server, and report their phase as the pod
moves. There is no kubelet: the tests patch pod status the way a kubelet would."""
from __future__ import annotations

import json
import re
import subprocess
import time
from datetime import datetime, timedelta, timezone

import grpc
import pytest
import yaml
from flyteidl.admin import agent_pb2
from flyteidl.core import execution_pb2

import flytekit_tasks
from conftest import BIN, execution_metadata, subset_mismatch


def daemon_bin():
    return BIN

PHASE = execution_pb2.TaskExecution


def rfc3339(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def create(daemon, ns, execution, template=None, node="n0", attempt=0):
    req = agent_pb2.CreateTaskRequest(template=template or flytekit_tasks.python_task(),
                                      output_prefix=f"s3://bucket/meta/{execution}/{node}/data/{attempt}",
                                      task_execution_metadata=execution_metadata(ns, execution, node, attempt))
    return daemon.stub.CreateTask(req, timeout=30).resource_meta


def get(daemon, meta):
    return daemon.stub.GetTask(agent_pb2.GetTaskRequest(task_type="python-task", resource_meta=meta),
                               timeout=30).resource


def wait_phase(daemon, meta, phase, timeout=20):
    deadline = time.time() + timeout
    r = None
    while time.time() < deadline:
        r = get(daemon, meta)
        if r.phase == phase:
            return r
        time.sleep(0.2)
    raise AssertionError(f"phase {PHASE.Phase.Name(r.phase)} ({r.message!r}), wanted "
                         f"{PHASE.Phase.Name(phase)}\n{daemon.tail()}")


def pod(cluster, ns, name):
    status, obj = cluster.request("GET", f"/api/v1/namespaces/{ns}/pods/{name}")
    return obj if status == 200 else None


def running_status(name, started):
    return {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{"name": name, "ready": True, "restartCount": 0, "image": "x",
                                   "imageID": "", "containerID": "containerd://abc123",
                                   "state": {"running": {"startedAt": started}}}]}


def test_python_task_lifecycle(cluster, daemon):
    ns = cluster.new_namespace("pod")
    meta = create(daemon, ns, "a1b2c3")
    assert len(meta) < 256
    p = pod(cluster, ns, "a1b2c3-n0-0")
    assert p is not None, daemon.tail()
    labels = p["metadata"]["labels"]
    assert labels["execution-id"] == "a1b2c3" and labels["node-id"] == "n0"
    assert labels["app.kubernetes.io/managed-by"] == "flyteplugd"
    c = p["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert env["FLYTE_INTERNAL_EXECUTION_ID"] == "a1b2c3"
    assert env["FLYTE_INTERNAL_TASK_NAME"] == "flytekit_tasks.say_hello"
    assert env["FLYTE_ATTEMPT_NUMBER"] == "0"
    assert env["EXEC_ENV"] == "yes"
    assert c["resources"]["limits"]["memory"] == "512Mi"
    assert "{{" not in " ".join(c["args"]), c["args"]
    assert p["spec"]["restartPolicy"] == "Never"
    assert p["spec"]["serviceAccountName"] == "default"

    r = wait_phase(daemon, meta, PHASE.QUEUED)
    now = rfc3339(datetime.now(timezone.utc))
    cluster.patch_pod_status(ns, "a1b2c3-n0-0", {
        "phase": "Pending",
        "conditions": [{"type": "PodScheduled", "status": "True"},
                       {"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                        "message": "containers with unready status", "lastTransitionTime": now}],
        "containerStatuses": [{"name": c["name"], "ready": False, "restartCount": 0, "image": "x",
                               "imageID": "", "state": {"waiting": {"reason": "ContainerCreating"}}}]})
    wait_phase(daemon, meta, PHASE.INITIALIZING)
    cluster.patch_pod_status(ns, "a1b2c3-n0-0", running_status(c["name"], now))
    r = wait_phase(daemon, meta, PHASE.RUNNING)
    assert any("Kubernetes Logs" in l.name for l in r.log_links), r
    assert any("a1b2c3-n0-0" in l.uri for l in r.log_links)
    cluster.patch_pod_status(ns, "a1b2c3-n0-0", {
        "phase": "Succeeded",
        "containerStatuses": [{"name": c["name"], "ready": False, "restartCount": 0, "image": "x",
                               "imageID": "", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]})
    r = wait_phase(daemon, meta, PHASE.SUCCEEDED)


@pytest.mark.parametrize("case,status,phase,code", [
    ("oom", {"phase": "Failed", "reason": "", "containerStatuses": [
        {"name": "PRIMARY", "ready": False, "restartCount": 0, "image": "x", "imageID": "",
         "state": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}]},
     PHASE.RETRYABLE_FAILED, "OOMKilled"),
    ("preempted", {"phase": "Failed", "reason": "", "containerStatuses": [
        {"name": "PRIMARY", "ready": False, "restartCount": 0, "image": "x", "imageID": "",
         "state": {"terminated": {"exitCode": 137, "reason": "Error"}}}]},
     PHASE.RETRYABLE_FAILED, "Interrupted"),
    ("config-error", {"phase": "Pending", "conditions": [
        {"type": "Ready", "status": "False", "reason": "ContainersNotReady", "message": "m",
         "lastTransitionTime": "NOW"}], "containerStatuses": [
        {"name": "PRIMARY", "ready": False, "restartCount": 0, "image": "x", "imageID": "",
         "state": {"waiting": {"reason": "CreateContainerConfigError", "message": "secret missing"}}}]},
     PHASE.FAILED, "CreateContainerConfigError"),
    ("image-pull-after-grace", {"phase": "Pending", "conditions": [
        {"type": "Ready", "status": "False", "reason": "ContainersNotReady", "message": "m",
         "lastTransitionTime": "LONG_AGO"}], "containerStatuses": [
        {"name": "PRIMARY", "ready": False, "restartCount": 0, "image": "x", "imageID": "",
         "state": {"waiting": {"reason": "ImagePullBackOff", "message": "back-off pulling"}}}]},
     PHASE.RETRYABLE_FAILED, "ImagePullBackOff"),
])
def test_failure_classes(cluster, daemon, case, status, phase, code):
    ns = cluster.new_namespace("fail")
    execution = f"f{case.replace('-', '')}"[:20]
    meta = create(daemon, ns, execution)
    name = f"{execution}-n0-0"
    primary = pod(cluster, ns, name)["spec"]["containers"][0]["name"]
    now = datetime.now(timezone.utc)
    text = (json.dumps(status).replace("PRIMARY", primary).replace("LONG_AGO", rfc3339(now - timedelta(minutes=10)))
            .replace('"NOW"', json.dumps(rfc3339(now))))
    cluster.patch_pod_status(ns, name, json.loads(text))
    r = wait_phase(daemon, meta, phase)
    assert code in r.message, r.message


def test_image_pull_within_grace_is_initializing(cluster, daemon):
    ns = cluster.new_namespace("grace")
    meta = create(daemon, ns, "graceful")
    name = "graceful-n0-0"
    primary = pod(cluster, ns, name)["spec"]["containers"][0]["name"]
    cluster.patch_pod_status(ns, name, {"phase": "Pending", "conditions": [
        {"type": "Ready", "status": "False", "reason": "ContainersNotReady", "message": "m",
         "lastTransitionTime": rfc3339(datetime.now(timezone.utc))}], "containerStatuses": [
        {"name": primary, "ready": False, "restartCount": 0, "image": "x", "imageID": "",
         "state": {"waiting": {"reason": "ImagePullBackOff", "message": "back-off"}}}]})
    wait_phase(daemon, meta, PHASE.INITIALIZING)


def test_create_twice_makes_one_pod(cluster, daemon):
    ns = cluster.new_namespace("twice")
    m1 = create(daemon, ns, "twice1")
    m2 = create(daemon, ns, "twice1")
    assert m1 == m2
    status, pods = cluster.request("GET", f"/api/v1/namespaces/{ns}/pods")
    assert [p["metadata"]["name"] for p in pods["items"]] == ["twice1-n0-0"]


def test_delete_removes_pod_and_is_idempotent(cluster, daemon):
    ns = cluster.new_namespace("del")
    meta = create(daemon, ns, "del1")
    assert pod(cluster, ns, "del1-n0-0")
    req = agent_pb2.DeleteTaskRequest(task_type="python-task", resource_meta=meta)
    daemon.stub.DeleteTask(req, timeout=30)
    deadline = time.time() + 20
    while pod(cluster, ns, "del1-n0-0") and time.time() < deadline:
        time.sleep(0.2)
    assert pod(cluster, ns, "del1-n0-0") is None, daemon.tail()
    daemon.stub.DeleteTask(req, timeout=30)  # again: still OK


def test_forged_resource_meta_is_refused(cluster, daemon):
    ns = cluster.new_namespace("forge")
    meta = create(daemon, ns, "forge1")
    forged = meta.replace(b"forge1-n0-0", b"forge2-n0-0")
    for bad, code in ((forged, grpc.StatusCode.PERMISSION_DENIED),
                      (b'{"job_id": "x"}', grpc.StatusCode.INVALID_ARGUMENT)):
        with pytest.raises(grpc.RpcError) as e:
            get(daemon, bad)
        assert e.value.code() == code
        with pytest.raises(grpc.RpcError) as e:
            daemon.stub.DeleteTask(agent_pb2.DeleteTaskRequest(resource_meta=bad), timeout=30)
        assert e.value.code() == code
    assert pod(cluster, ns, "forge1-n0-0") is not None


def test_meta_outside_served_namespaces_is_refused(cluster, daemon_factory):
    """A resource_meta this deployment signed, naming a namespace this daemon does not serve
    (namespaces.watch), is refused with PERMISSION_DENIED by GetTask and DeleteTask, and the
    object is left alone."""
    a = daemon_factory()
    ns = cluster.new_namespace("scope")
    meta = create(a, ns, "scope1")
    b = daemon_factory(extra_yaml="namespaces:\n  watch: [\"only-this-one\"]\n")
    b.kill()
    b.key.write_bytes(a.key.read_bytes())  # the same deployment: the signature verifies
    b.start()
    calls = (("GetTask", lambda: get(b, meta)),
             ("DeleteTask", lambda: b.stub.DeleteTask(
                 agent_pb2.DeleteTaskRequest(task_type="python-task", resource_meta=meta), timeout=30)))
    for name, call in calls:
        with pytest.raises(grpc.RpcError) as e:
            call()
        assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED, (name, e.value)
        assert e.value.details() == (f'namespace "{ns}" is not one flyteplugd serves '
                                     "(namespaces.watch)"), (name, e.value.details())
    assert pod(cluster, ns, "scope1-n0-0") is not None
    assert get(a, meta).phase == PHASE.QUEUED  # the daemon serving the namespace still answers


def test_undecodable_requests_are_refused(cluster, daemon):
    """Bytes that are not the request message: INVALID_ARGUMENT naming it, and the daemon goes
    on serving (the engine decodes each request once; nothing is created)."""
    junk = b"\x12\x7fx"  # field 2 declared 127 bytes long, 1 present
    for method, message in (("CreateTask", "CreateTaskRequest"), ("GetTask", "GetTaskRequest"),
                            ("DeleteTask", "DeleteTaskRequest")):
        call = daemon.channel.unary_unary(f"/flyteidl.service.AsyncAgentService/{method}",
                                          request_serializer=None, response_deserializer=None)
        with pytest.raises(grpc.RpcError) as e:
            call(junk, timeout=10)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert e.value.details() == f"cannot decode flyteidl.admin.{message}"
    ns = cluster.new_namespace("junk")
    meta = create(daemon, ns, "junk1")
    assert get(daemon, meta).phase != PHASE.UNDEFINED


def test_invalid_utf8_strings_are_refused(cluster, daemon):
    """proto3 strings must be UTF-8, but protobuf-c does not check: a CreateTaskRequest whose
    project, execution, label or env var holds other bytes gets INVALID_ARGUMENT (or a task
    that fails to build), never a crash, and the daemon goes on serving."""
    ns = cluster.new_namespace("utf8")
    md = execution_metadata(ns, "utfx")
    md.labels["team"] = "utfmark"
    md.environment_variables["MARK"] = "utfmark"
    req = agent_pb2.CreateTaskRequest(template=flytekit_tasks.python_task(),
                                      output_prefix="s3://bucket/meta/utfx/n0/data/0",
                                      task_execution_metadata=md)
    raw = req.SerializeToString()
    call = daemon.channel.unary_unary("/flyteidl.service.AsyncAgentService/CreateTask",
                                      request_serializer=None, response_deserializer=None)
    for good in (b"flytesnacks", b"utfx", b"utfmark", b"development"):
        assert good in raw
        bad = raw.replace(good, b"\xff" + good[1:])
        try:
            call(bad, timeout=10)
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, (good, e.code(), e.details())
            assert "UTF-8" in e.details(), e.details()
        assert daemon.proc.poll() is None, daemon.tail()
    meta = create(daemon, ns, "utf1")
    assert get(daemon, meta).phase != PHASE.UNDEFINED


def _field(number, payload):
    def varint(n):
        out = b""
        while True:
            b, n = n & 0x7F, n >> 7
            if not n:
                return out + bytes([b])
            out += bytes([b | 0x80])
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def test_deeply_nested_request_is_refused(cluster, daemon):
    """A template whose custom Struct nests 100,000 lists deep (1.1 MB): INVALID_ARGUMENT
    before decoding, which would otherwise recurse once per level and exhaust the stack."""
    ns = cluster.new_namespace("deep")
    value = b""
    for _ in range(100_000):  # google.protobuf.Value{list_value: ListValue{values: [value]}}
        value = _field(6, _field(1, value))
    entry = _field(1, b"k") + _field(2, value)  # Struct.fields map entry
    req = agent_pb2.CreateTaskRequest(template=flytekit_tasks.python_task(),
                                      output_prefix="s3://bucket/meta/deep1/n0/data/0",
                                      task_execution_metadata=execution_metadata(ns, "deep1"))
    raw = req.SerializeToString() + _field(2, _field(5, _field(1, entry)))  # merged into template
    call = daemon.channel.unary_unary("/flyteidl.service.AsyncAgentService/CreateTask",
                                      request_serializer=None, response_deserializer=None)
    with pytest.raises(grpc.RpcError) as e:
        call(raw, timeout=30)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT, e.value.details()
    assert e.value.details() == ("cannot decode flyteidl.admin.CreateTaskRequest: messages "
                                 "nested deeper than 208"), e.value.details()
    assert daemon.proc.poll() is None, daemon.tail()
    meta = create(daemon, ns, "deep2")
    assert get(daemon, meta).phase != PHASE.UNDEFINED


def test_dynamic_log_link_reads_task_config(cluster, daemon_factory):
    """A task whose config names a dynamic log link and carries the values its template reads
    ({{ .taskConfig.<key> }}, as flytekit's Weights & Biases plugin uses them): GetTask renders
    the link, also after the daemon is killed and restarted, from the object's annotation."""
    d = daemon_factory(extra_yaml=(
        "logs:\n  kubernetes-enabled: false\n  dynamic-log-links:\n    tracker-run:\n"
        "      displayName: Tracker\n      showWhilePending: true\n      templateUris:\n"
        "        - \"https://tracker.example/{{ .taskConfig.entity }}/{{ .taskConfig.project }}"
        "/runs/{{ .podName }}\"\n"))
    ns = cluster.new_namespace("tcfg")
    template = flytekit_tasks.tracked_task()
    assert dict(template.config) == {"link_type": "tracker-run", "entity": "flyte", "project": "demo"}
    meta = create(d, ns, "tcfg1", template=template)
    want = "https://tracker.example/flyte/demo/runs/tcfg1-n0-0"
    assert [l.uri for l in get(d, meta).log_links] == [want], get(d, meta)
    obj = pod(cluster, ns, "tcfg1-n0-0")
    assert json.loads(obj["metadata"]["annotations"]["flyteplugd.flyte.org/task-config"]) == \
        {"link_type": "tracker-run", "entity": "flyte", "project": "demo"}
    d.kill()
    d.start()
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            links = [l.uri for l in get(d, meta).log_links]
            if links:
                break
        except grpc.RpcError:
            pass
        time.sleep(0.2)
    assert links == [want], d.tail()
    # A task without dynamic links gets no such annotation.
    create(d, ns, "tcfg2")
    assert "flyteplugd.flyte.org/task-config" not in \
        pod(cluster, ns, "tcfg2-n0-0")["metadata"].get("annotations", {})


def test_queued_until_the_object_has_a_status(cluster, daemon):
    """Right after CreateTask the engine knows the pod only as it sent it, without a status
    (the pod rules read an empty pod phase as running): GetTask says QUEUED, and keeps saying
    it once the API server's pending pod comes through the watch."""
    ns = cluster.new_namespace("first")
    for i in range(5):
        meta = create(daemon, ns, f"first{i}")
        phases = [PHASE.Phase.Name(get(daemon, meta).phase) for _ in range(20)]
        assert set(phases) == {"QUEUED"}, (phases, daemon.tail())


def test_pod_refused_for_quota_is_created_once_quota_allows(cluster, daemon):
    """A pod the API server refuses for a ResourceQuota waits (WAITING_FOR_RESOURCES) and is
    POSTed again, the same object, once the quota allows it: the same pod as one created at
    once from the same template."""
    ns = cluster.new_namespace("quota")
    cluster.must("POST", f"/api/v1/namespaces/{ns}/resourcequotas", {
        "apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "no-pods"},
        "spec": {"hard": {"pods": "0"}}})
    # The status the quota controller writes (there is none here), which admission enforces.
    cluster.patch_status("", "v1", "resourcequotas", ns, "no-pods",
                         {"hard": {"pods": "0"}, "used": {"pods": "0"}})
    template = flytekit_tasks.python_task()
    meta = create(daemon, ns, "held", template)
    r = wait_phase(daemon, meta, PHASE.WAITING_FOR_RESOURCES)
    assert "exceeded quota" in r.message, r.message
    assert pod(cluster, ns, "held-n0-0") is None
    cluster.must("DELETE", f"/api/v1/namespaces/{ns}/resourcequotas/no-pods")
    # Retried after 2 s, then 4 s, ...: the admission's quota cache forgets the quota at once.
    wait_phase(daemon, meta, PHASE.QUEUED, timeout=30)
    held = pod(cluster, ns, "held-n0-0")
    assert held is not None, daemon.tail()
    free = cluster.new_namespace("quotafree")
    create(daemon, free, "held", template)
    at_once = pod(cluster, free, "held-n0-0")

    def comparable(obj, namespace):
        # the namespace is in names, env and the identity; the API server names the token
        # volume it adds at random
        text = json.dumps({"spec": obj["spec"], "labels": obj["metadata"]["labels"]},
                          sort_keys=True)
        return json.loads(re.sub(r"kube-api-access-\w+", "kube-api-access",
                                 text.replace(namespace, "NS")))

    assert comparable(held, ns) == comparable(at_once, free), (held, at_once)
    assert sorted(held["metadata"].get("annotations", {})) == sorted(
        at_once["metadata"].get("annotations", {}))


def test_reported_phase_never_goes_back(cluster, daemon):
    """Once GetTask said RUNNING, an older-looking state of the pod (here: pending again) does
    not turn it back into QUEUED for the same attempt."""
    ns = cluster.new_namespace("mono")
    meta = create(daemon, ns, "mono1")
    wait_phase(daemon, meta, PHASE.QUEUED)
    primary = pod(cluster, ns, "mono1-n0-0")["spec"]["containers"][0]["name"]
    cluster.patch_pod_status(ns, "mono1-n0-0",
                             running_status(primary, rfc3339(datetime.now(timezone.utc))))
    wait_phase(daemon, meta, PHASE.RUNNING)
    back = cluster.patch_pod_status(ns, "mono1-n0-0", {"phase": "Pending", "conditions": None,
                                                       "containerStatuses": None})
    assert back["status"]["phase"] == "Pending"
    deadline = time.time() + 3
    while time.time() < deadline:
        r = get(daemon, meta)
        assert r.phase == PHASE.RUNNING, (PHASE.Phase.Name(r.phase), r.message, daemon.tail())
        time.sleep(0.1)


def test_restart_after_sigkill(cluster, daemon):
    ns = cluster.new_namespace("restart")
    meta = create(daemon, ns, "rs1")
    wait_phase(daemon, meta, PHASE.QUEUED)
    daemon.kill()
    primary = pod(cluster, ns, "rs1-n0-0")["spec"]["containers"][0]["name"]
    cluster.patch_pod_status(ns, "rs1-n0-0", running_status(primary, rfc3339(datetime.now(timezone.utc))))
    daemon.start()
    wait_phase(daemon, meta, PHASE.RUNNING)
    daemon.stub.DeleteTask(agent_pb2.DeleteTaskRequest(resource_meta=meta), timeout=30)
    deadline = time.time() + 20
    while pod(cluster, ns, "rs1-n0-0") and time.time() < deadline:
        time.sleep(0.2)
    assert pod(cluster, ns, "rs1-n0-0") is None


def test_ttl_cleanup_and_orphan_sweep(cluster, daemon_factory):
    d = daemon_factory(cleanup_ttl="2s", orphan_after="4s", sweep_interval="1s")
    ns = cluster.new_namespace("sweep")
    done = create(d, ns, "done1")
    orphan = create(d, ns, "orphan1")
    kept = create(d, ns, "kept1")
    primary = pod(cluster, ns, "done1-n0-0")["spec"]["containers"][0]["name"]
    cluster.patch_pod_status(ns, "done1-n0-0", {"phase": "Succeeded", "containerStatuses": [
        {"name": primary, "ready": False, "restartCount": 0, "image": "x", "imageID": "",
         "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]})
    wait_phase(d, done, PHASE.SUCCEEDED)
    # an object flyteplugd does not manage, in the same namespace, must survive
    cluster.must("POST", f"/api/v1/namespaces/{ns}/pods", {
        "metadata": {"name": "not-ours"}, "spec": {"containers": [{"name": "c", "image": "x"}]}})
    deadline = time.time() + 30
    while time.time() < deadline:
        get(d, kept)  # polled: not an orphan
        if pod(cluster, ns, "done1-n0-0") is None and pod(cluster, ns, "orphan1-n0-0") is None:
            break
        time.sleep(0.5)
    assert pod(cluster, ns, "done1-n0-0") is None, "finished pod not cleaned up after its TTL"
    assert pod(cluster, ns, "orphan1-n0-0") is None, "unpolled pod not swept"
    assert pod(cluster, ns, "kept1-n0-0") is not None, "a polled, running task was deleted"
    assert pod(cluster, ns, "not-ours") is not None, "an unmanaged pod was deleted"


@pytest.mark.parametrize("name,make", [("python", flytekit_tasks.python_task),
                                       ("podtemplate", flytekit_tasks.pod_template_task),
                                       ("container", flytekit_tasks.raw_container_task)])
def test_render_equals_created_object(cluster, daemon, tmp_path, name, make):
    ns = cluster.new_namespace("render")
    template = make()
    execution = f"render{name}"
    meta = execution_metadata(ns, execution)
    (tmp_path / "t.pb").write_bytes(template.SerializeToString())
    (tmp_path / "m.pb").write_bytes(meta.SerializeToString())
    prefix = f"s3://bucket/meta/{execution}/n0/data/0"
    out = subprocess.run([daemon_bin(), "render", "--template", str(tmp_path / "t.pb"), "--metadata",
                          str(tmp_path / "m.pb"), "--config", str(daemon.config), "--output-prefix",
                          prefix, "-o", "json"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    rendered = json.loads(out.stdout)
    create(daemon, ns, execution, template=template)
    created = pod(cluster, ns, f"{execution}-n0-0")
    assert created is not None, daemon.tail()
    assert rendered["metadata"]["name"] == f"{execution}-n0-0"
    # The ServiceAccount admission plugin appends the token volume and its mounts.
    mismatch = subset_mismatch(rendered, created, appended=(".volumes", ".volumeMounts"))
    assert mismatch is None, mismatch
    # and the YAML form parses to the same object
    out = subprocess.run([daemon_bin(), "render", "--template", str(tmp_path / "t.pb"), "--metadata",
                          str(tmp_path / "m.pb"), "--config", str(daemon.config), "--output-prefix",
                          prefix], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert yaml.safe_load(out.stdout) == rendered
