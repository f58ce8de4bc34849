"""Flyte 2's connector protocol (flyteidl2.connector) end to end: the generated grpcio stubs of
the published flyteidl2 package call every AsyncConnectorService and ConnectorMetadataService
RPC on the real daemon, over h2c and TLS, beside Flyte 1's clients on the same port. Tasks run
on a real kube-apiserver; there is no kubelet or operator: the tests write status as they
would. Templates are the Flyte 2 SDK's (test_sdk_pod_task) or flytekit's, converted to
flyteidl2 by their bytes (see conftest.py)."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import grpc
import pytest
from flyteidl.admin import agent_pb2
from flyteidl2.connector import connector_pb2
from flyteidl2.core import execution_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

import flytekit_tasks
import kubeflow_tasks
from conftest import Clients, execution_metadata, flyte2_metadata, flyte2_template

PHASE = execution_pb2.TaskExecution
ASYNC2 = "flyteidl2.connector.AsyncConnectorService"
META2 = "flyteidl2.connector.ConnectorMetadataService"


def rfc3339(dt=None):
    return (dt or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")


def create2(c, ns, execution, template):
    req = connector_pb2.CreateTaskRequest(
        template=flyte2_template(template),
        output_prefix=f"s3://bucket/meta/{execution}/n0/data/0",
        task_execution_metadata=flyte2_metadata(ns, execution),
        connection={"task_type": template.type})
    return c.tasks2.CreateTask(req, timeout=30).resource_meta


def get2(c, meta, task_type="python-task"):
    req = connector_pb2.GetTaskRequest(resource_meta=meta,
                                       task_category=connector_pb2.TaskCategory(name=task_type))
    return c.tasks2.GetTask(req, timeout=30).resource


def get1(c, meta):
    return c.tasks1.GetTask(agent_pb2.GetTaskRequest(resource_meta=meta), timeout=30).resource


def wait2(d, c, meta, phase, timeout=20):
    deadline = time.time() + timeout
    while True:
        r = get2(c, meta)
        if r.phase == phase:
            return r
        if time.time() >= deadline:
            raise AssertionError(f"phase {PHASE.Phase.Name(r.phase)} ({r.message!r}), wanted "
                                 f"{PHASE.Phase.Name(phase)}\n{d.tail()}")
        time.sleep(0.2)


def pod(cluster, ns, name):
    status, obj = cluster.request("GET", f"/api/v1/namespaces/{ns}/pods/{name}")
    return obj if status == 200 else None


def raw_call(ch, path, payload, timeout=5):
    return ch.unary_unary(path, request_serializer=None, response_deserializer=None)(payload, timeout=timeout)


def categories(entries):
    """{name: {(category, version)}} of ListAgents' agents or ListConnectors' connectors."""
    return {e.name: {(c.name, c.version) for c in e.supported_task_categories} for e in entries}


# ---- without Kubernetes: metadata, health, errors (h2c and TLS) -----------------------------

@pytest.fixture(params=["h2c", "tls"])
def served(request, make_daemon, tls_cert):
    if request.param == "h2c":
        d = make_daemon()
        ch = grpc.insecure_channel(d.target)
    else:
        d = make_daemon({"tls": {"cert_file": tls_cert[0], "key_file": tls_cert[1]}})
        assert "(TLS)" in d.log()
        ch = grpc.secure_channel(d.target, grpc.ssl_channel_credentials(
            root_certificates=Path(tls_cert[0]).read_bytes()))
    yield d, Clients(ch)
    ch.close()


def test_health_of_every_service(served):
    _, c = served
    stub = health_pb2_grpc.HealthStub(c.channel)
    for svc in ("", ASYNC2, META2, "flyteidl.service.AsyncAgentService",
                "flyteidl.service.AgentMetadataService"):
        assert stub.Check(health_pb2.HealthCheckRequest(service=svc), timeout=5).status == \
            health_pb2.HealthCheckResponse.SERVING, svc
    with pytest.raises(grpc.RpcError) as e:
        stub.Check(health_pb2.HealthCheckRequest(service="flyteidl2.connector.SyncConnectorService"), timeout=5)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND


def test_list_connectors_matches_list_agents(served):
    _, c = served
    connectors = c.meta2.ListConnectors(connector_pb2.ListConnectorsRequest(), timeout=5).connectors
    agents = c.meta1.ListAgents(agent_pb2.ListAgentsRequest(), timeout=5).agents
    assert connectors and categories(connectors) == categories(agents)
    assert {"python-task", "pytorch", "spark"} <= {n for cats in categories(connectors).values() for n, _ in cats}
    for conn in connectors:
        got = c.meta2.GetConnector(connector_pb2.GetConnectorRequest(name=conn.name), timeout=5).connector
        assert got == conn
    with pytest.raises(grpc.RpcError) as e:
        c.meta2.GetConnector(connector_pb2.GetConnectorRequest(name="no-such-connector"), timeout=5)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    assert "no-such-connector" in e.value.details()


def test_task_calls_without_kubernetes_and_bad_input(served):
    """With no Kubernetes API the task calls say so; metrics and logs are UNIMPLEMENTED as on
    Flyte 1; requests that are not the method's message get INVALID_ARGUMENT naming the Flyte 2
    message, and the daemon goes on serving."""
    d, c = served
    with pytest.raises(grpc.RpcError) as e:
        c.tasks2.CreateTask(connector_pb2.CreateTaskRequest(output_prefix="s3://b/p"), timeout=5)
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "no Kubernetes API" in e.value.details()
    for call in (lambda: c.tasks2.GetTask(connector_pb2.GetTaskRequest(resource_meta=b"x"), timeout=5),
                 lambda: c.tasks2.DeleteTask(connector_pb2.DeleteTaskRequest(resource_meta=b"x"), timeout=5)):
        with pytest.raises(grpc.RpcError) as e:
            call()
        assert e.value.code() == grpc.StatusCode.UNAVAILABLE
    with pytest.raises(grpc.RpcError) as e:
        c.tasks2.GetTaskMetrics(connector_pb2.GetTaskMetricsRequest(resource_meta=b"x"), timeout=5)
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "AsyncConnectorService/GetTaskMetrics is not implemented" in e.value.details()
    with pytest.raises(grpc.RpcError) as e:
        list(c.tasks2.GetTaskLogs(connector_pb2.GetTaskLogsRequest(resource_meta=b"x"), timeout=5))
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "AsyncConnectorService/GetTaskLogs is not implemented" in e.value.details()
    # Field 2 (template) declared 127 bytes long with 1 present.
    with pytest.raises(grpc.RpcError) as e:
        raw_call(c.channel, f"/{ASYNC2}/CreateTask", b"\x12\x7fx")
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert e.value.details() == "cannot decode flyteidl2.connector.CreateTaskRequest"
    # output_prefix (3) that is not UTF-8: checked on the Flyte 2 descriptor, as on Flyte 1's.
    with pytest.raises(grpc.RpcError) as e:
        raw_call(c.channel, f"/{ASYNC2}/CreateTask", b"\x1a\x02\xc3\x28")
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "flyteidl2.connector.CreateTaskRequest" in e.value.details()
    assert "output_prefix is not valid UTF-8" in e.value.details()
    with pytest.raises(grpc.RpcError) as e:
        raw_call(c.channel, f"/{ASYNC2}/GetTask", b"\x12\x7fx")
    assert e.value.details() == "cannot decode flyteidl2.connector.GetTaskRequest"
    with pytest.raises(grpc.RpcError) as e:
        raw_call(c.channel, f"/{META2}/GetConnector", b"\x0a\x01\xff")
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert c.meta2.ListConnectors(connector_pb2.ListConnectorsRequest(), timeout=5).connectors
    assert d.alive()


# ---- on a real API server -----------------------------------------------------------------

def running_status(name, started):
    return {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{"name": name, "ready": True, "restartCount": 0, "image": "x",
                                   "imageID": "", "containerID": "containerd://abc123",
                                   "state": {"running": {"startedAt": started}}}]}


def succeeded_status(name):
    return {"phase": "Succeeded",
            "containerStatuses": [{"name": name, "ready": False, "restartCount": 0, "image": "x",
                                   "imageID": "", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}


def test_pod_task_lifecycle(cluster, kube_daemon):
    """CreateTask → GetTask through QUEUED, RUNNING (with log links), SUCCEEDED → DeleteTask, all
    on Flyte 2; GetTaskMetrics and GetTaskLogs for a real task answer UNIMPLEMENTED."""
    d, c = kube_daemon
    ns = cluster.new_namespace("f2pod")
    meta = create2(c, ns, "f2a1", flytekit_tasks.python_task())
    p = pod(cluster, ns, "f2a1-n0-0")
    assert p is not None, d.tail()
    assert p["metadata"]["labels"]["execution-id"] == "f2a1"
    ctr = p["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in ctr["env"]}
    assert env["FLYTE_INTERNAL_TASK_NAME"] == "flytekit_tasks.say_hello"
    assert env["EXEC_ENV"] == "yes"
    assert ctr["resources"]["limits"]["memory"] == "512Mi"
    assert ctr["image"].startswith("ghcr.io/flyteorg/flytekit")

    wait2(d, c, meta, PHASE.QUEUED)
    cluster.patch_pod_status(ns, "f2a1-n0-0", running_status(ctr["name"], rfc3339()))
    r = wait2(d, c, meta, PHASE.RUNNING)
    assert any("f2a1-n0-0" in link.uri for link in r.log_links), r
    with pytest.raises(grpc.RpcError) as e:
        c.tasks2.GetTaskMetrics(connector_pb2.GetTaskMetricsRequest(resource_meta=meta), timeout=5)
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED
    with pytest.raises(grpc.RpcError) as e:
        list(c.tasks2.GetTaskLogs(connector_pb2.GetTaskLogsRequest(resource_meta=meta), timeout=5))
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED
    cluster.patch_pod_status(ns, "f2a1-n0-0", succeeded_status(ctr["name"]))
    r = wait2(d, c, meta, PHASE.SUCCEEDED)
    assert not r.HasField("outputs")  # file-based outputs under output_prefix

    c.tasks2.DeleteTask(connector_pb2.DeleteTaskRequest(resource_meta=meta), timeout=30)
    deadline = time.time() + 20
    while pod(cluster, ns, "f2a1-n0-0") and time.time() < deadline:
        time.sleep(0.2)
    assert pod(cluster, ns, "f2a1-n0-0") is None, d.tail()


def test_sdk_pod_task(cluster, daemon, sdk_templates):
    """A Python task as the Flyte 2 SDK writes it (sdk/tasks.py; task type "python") runs as a
    pod through Flyte 2: its image, arguments, resources and environment, then QUEUED, RUNNING,
    SUCCEEDED and DeleteTask."""
    c = Clients(daemon.channel)
    template = sdk_templates["hello"]
    assert (template.type, template.task_type_version) == ("python", 0)
    ns = cluster.new_namespace("f2sdk")
    meta = create2(c, ns, "f2sdk", template)
    p = pod(cluster, ns, "f2sdk-n0-0")
    assert p is not None, daemon.tail()
    ctr = p["spec"]["containers"][0]
    assert ctr["image"] == template.container.image
    out = "s3://bucket/meta/f2sdk/n0/data/0"
    assert ctr["args"][:5] == ["a0", "--inputs", "s3://bucket/meta/f2sdk/n0/data/inputs.pb",
                               "--outputs-path", out], ctr["args"]
    assert len(ctr["args"]) == len(template.container.args)
    assert ctr["resources"]["requests"] == {"cpu": "500m", "memory": "256Mi"}
    env = {e["name"]: e.get("value") for e in ctr["env"]}
    assert env["SDK_ENV"] == "yes" and env["FLYTE_INTERNAL_EXECUTION_ID"] == "f2sdk", env
    wait2(daemon, c, meta, PHASE.QUEUED)
    cluster.patch_pod_status(ns, "f2sdk-n0-0", running_status(ctr["name"], rfc3339()))
    r = wait2(daemon, c, meta, PHASE.RUNNING)
    assert any("f2sdk-n0-0" in link.uri for link in r.log_links), r
    cluster.patch_pod_status(ns, "f2sdk-n0-0", succeeded_status(ctr["name"]))
    wait2(daemon, c, meta, PHASE.SUCCEEDED)
    c.tasks2.DeleteTask(connector_pb2.DeleteTaskRequest(resource_meta=meta), timeout=30)
    deadline = time.time() + 20
    while pod(cluster, ns, "f2sdk-n0-0") and time.time() < deadline:
        time.sleep(0.2)
    assert pod(cluster, ns, "f2sdk-n0-0") is None, daemon.tail()


def test_pod_task_failure_message(cluster, daemon):
    """A failure's code goes into Resource.message (Flyte 2 has no agent_error)."""
    c = Clients(daemon.channel)
    ns = cluster.new_namespace("f2oom")
    meta = create2(c, ns, "f2oom", flytekit_tasks.python_task())
    name = pod(cluster, ns, "f2oom-n0-0")["spec"]["containers"][0]["name"]
    cluster.patch_pod_status(ns, "f2oom-n0-0", {
        "phase": "Failed", "reason": "", "containerStatuses": [
            {"name": name, "ready": False, "restartCount": 0, "image": "x", "imageID": "",
             "state": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}]})
    r = wait2(daemon, c, meta, PHASE.RETRYABLE_FAILED)
    assert r.message.startswith("OOMKilled: "), r.message


def kf_cond(t, at):
    return {"type": t, "status": "True", "reason": t, "message": t, "lastUpdateTime": at,
            "lastTransitionTime": at}


def test_operator_task_pytorch(cluster, crds, daemon):
    """A PyTorchJob (flytekitplugins-kfpytorch's template) through Flyte 2."""
    got = crds.get("kubeflow")
    if not isinstance(got, list):
        pytest.fail(got or "no kubeflow CRDs")
    c = Clients(daemon.channel)
    ns = cluster.new_namespace("f2kf")
    meta = create2(c, ns, "f2torch", kubeflow_tasks.CASES["torch-defaults"]())
    path = cluster.resource_path("kubeflow.org", "v1", "pytorchjobs", ns, "f2torch-n0-0")
    st, job = cluster.request("GET", path)
    assert st == 200, (job, daemon.tail())
    assert job["spec"]["pytorchReplicaSpecs"]["Worker"]["replicas"] >= 1
    r = wait2(daemon, c, meta, PHASE.QUEUED)
    assert any("f2torch-n0-0-worker-0" in link.uri for link in r.log_links), r
    t0 = rfc3339()
    cluster.patch_status("kubeflow.org", "v1", "pytorchjobs", ns, "f2torch-n0-0",
                         {"startTime": t0, "conditions": [kf_cond("Created", t0), kf_cond("Running", t0)]})
    wait2(daemon, c, meta, PHASE.RUNNING)
    run = kf_cond("Running", t0)
    run["status"] = "False"
    cluster.patch_status("kubeflow.org", "v1", "pytorchjobs", ns, "f2torch-n0-0",
                         {"startTime": t0, "conditions": [kf_cond("Created", t0), run, kf_cond("Succeeded", t0)]})
    wait2(daemon, c, meta, PHASE.SUCCEEDED)
    c.tasks2.DeleteTask(connector_pb2.DeleteTaskRequest(resource_meta=meta), timeout=30)
    deadline = time.time() + 20
    while cluster.request("GET", path)[0] == 200 and time.time() < deadline:
        time.sleep(0.2)
    assert cluster.request("GET", path)[0] == 404, daemon.tail()


def test_both_families_at_once(cluster, daemon):
    """One daemon, a Flyte 1 client and a Flyte 2 client on their own connections: each
    creates a task, each reads and deletes the other's, and both poll at the same time."""
    ch1 = grpc.insecure_channel(f"127.0.0.1:{daemon.port}")
    ch2 = grpc.insecure_channel(f"127.0.0.1:{daemon.port}")
    c1, c2 = Clients(ch1), Clients(ch2)
    ns = cluster.new_namespace("f2mix")
    tmpl = flytekit_tasks.python_task()
    meta1 = c1.tasks1.CreateTask(agent_pb2.CreateTaskRequest(
        template=tmpl, output_prefix="s3://bucket/meta/mix1/n0/data/0",
        task_execution_metadata=execution_metadata(ns, "mix1")), timeout=30).resource_meta
    meta2 = create2(c2, ns, "mix2", tmpl)
    assert pod(cluster, ns, "mix1-n0-0") and pod(cluster, ns, "mix2-n0-0"), daemon.tail()

    # Interleaved: each family reads both tasks, and they agree.
    for m in (meta1, meta2):
        r1, r2 = get1(c1, m), get2(c2, m)
        assert r1.phase == r2.phase == PHASE.QUEUED
        assert r1.message == r2.message
        assert [(l.name, l.uri) for l in r1.log_links] == [(l.name, l.uri) for l in r2.log_links]

    name = pod(cluster, ns, "mix2-n0-0")["spec"]["containers"][0]["name"]
    cluster.patch_pod_status(ns, "mix1-n0-0", running_status(name, rfc3339()))
    cluster.patch_pod_status(ns, "mix2-n0-0", running_status(name, rfc3339()))

    # Concurrently: both clients poll both tasks until each sees RUNNING for both.
    errors, seen = [], {}

    def poll(tag, fn):
        try:
            deadline = time.time() + 20
            while time.time() < deadline:
                phases = [fn(meta1).phase, fn(meta2).phase]
                if phases == [PHASE.RUNNING, PHASE.RUNNING]:
                    seen[tag] = phases
                    return
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(f"{tag}: {e!r}")

    threads = [threading.Thread(target=poll, args=("flyte1", lambda m: get1(c1, m))),
               threading.Thread(target=poll, args=("flyte2", lambda m: get2(c2, m)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert set(seen) == {"flyte1", "flyte2"}, (seen, daemon.tail())

    # Each family deletes the other's task.
    c2.tasks2.DeleteTask(connector_pb2.DeleteTaskRequest(resource_meta=meta1), timeout=30)
    c1.tasks1.DeleteTask(agent_pb2.DeleteTaskRequest(resource_meta=meta2), timeout=30)
    deadline = time.time() + 20
    while (pod(cluster, ns, "mix1-n0-0") or pod(cluster, ns, "mix2-n0-0")) and time.time() < deadline:
        time.sleep(0.2)
    assert pod(cluster, ns, "mix1-n0-0") is None and pod(cluster, ns, "mix2-n0-0") is None, daemon.tail()
    ch1.close()
    ch2.close()
