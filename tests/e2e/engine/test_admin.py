"""The admin endpoints of a running daemon: health, readiness as the engine comes up, and
Prometheus metrics that move with the work done."""
from __future__ import annotations

import re
import time
import urllib.error
import urllib.request

from flyteidl.admin import agent_pb2

import flytekit_tasks
from conftest import execution_metadata


def http_get(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def metric(text, name):
    m = re.search(rf"^{name} (\d+)$", text, re.M)
    assert m, f"{name} missing from /metrics:\n{text}"
    return int(m.group(1))


def test_health_readiness_and_metrics(cluster, daemon_factory):
    d = daemon_factory(admin=True)
    assert http_get(d.admin_port, "/healthz") == (200, "ok\n")
    deadline = time.time() + 20
    while http_get(d.admin_port, "/readyz")[0] != 200 and time.time() < deadline:
        time.sleep(0.2)
    status, body = http_get(d.admin_port, "/readyz")
    # The operators' CRDs are not installed in this cluster: ready, and it says so.
    assert status == 200 and body.startswith("ok"), (status, body, d.tail())
    assert "sparkapplications.sparkoperator.k8s.io" in body, body
    assert http_get(d.admin_port, "/nope")[0] == 404

    _, before = http_get(d.admin_port, "/metrics")
    assert 'flyteplugd_build_info{version="' in before
    assert metric(before, "flyteplugd_engine_running") == 1
    ns = cluster.new_namespace("admin")
    meta = d.stub.CreateTask(agent_pb2.CreateTaskRequest(
        template=flytekit_tasks.python_task(), output_prefix="s3://b/m/adm/n0/data/0",
        task_execution_metadata=execution_metadata(ns, "adm")), timeout=30).resource_meta
    d.stub.GetTask(agent_pb2.GetTaskRequest(resource_meta=meta), timeout=30)
    _, after = http_get(d.admin_port, "/metrics")
    assert metric(after, "flyteplugd_creates_total") == metric(before, "flyteplugd_creates_total") + 1
    assert metric(after, "flyteplugd_gettask_total") == metric(before, "flyteplugd_gettask_total") + 1
    assert metric(after, "flyteplugd_executions_active") >= 1
    assert metric(after, "flyteplugd_grpc_calls_total") >= 2


def test_executions_lists_what_is_tracked(cluster, daemon_factory):
    """/executions: every tracked task with its object, identity, phase and log links, sorted,
    filtered by namespace, bounded by limit; bad parameters refused."""
    import json
    d = daemon_factory(admin=True)
    ns, other = cluster.new_namespace("exa"), cluster.new_namespace("exb")
    for n, execution in ((ns, "exe2"), (ns, "exe1"), (other, "exe3")):
        d.stub.CreateTask(agent_pb2.CreateTaskRequest(
            template=flytekit_tasks.python_task(), output_prefix=f"s3://b/m/{execution}/n0/data/0",
            task_execution_metadata=execution_metadata(n, execution)), timeout=30)
    deadline = time.time() + 20
    while time.time() < deadline:
        status, body = http_get(d.admin_port, f"/executions?namespace={ns}")
        got = json.loads(body)
        if status == 200 and all(x["phase"] == "QUEUED" and x["log_links"] for x in got["executions"]):
            break
        time.sleep(0.2)
    assert status == 200, body
    assert got["count"] == 2 and got["shown"] == 2, got
    first = got["executions"][0]
    assert [x["name"] for x in got["executions"]] == ["exe1-n0-0", "exe2-n0-0"], got
    assert first["namespace"] == ns and first["plugin"] == "pod" and first["kind"] == "Pod"
    assert first["state"] == "active" and len(first["uid"]) == 36, first
    assert first["execution"]["name"] == "exe1" and first["execution"]["node"] == "n0", first
    assert first["task"]["type"] == "python-task", first
    assert first["log_links"][0]["uri"].startswith("http"), first
    assert "started" in first and not first["aborted"], first
    _, body = http_get(d.admin_port, "/executions?limit=1")
    everything = json.loads(body)
    assert everything["count"] >= 3 and everything["shown"] == 1, everything
    for bad in ("/executions?limit=x", "/executions?limit=-1", "/executions?limit="):
        assert http_get(d.admin_port, bad)[0] == 400, bad
    assert http_get(d.admin_port, "/executions?namespace=none-such")[1] == \
        '{"count":0,"shown":0,"executions":[]}'


def test_not_ready_without_kubernetes(tmp_path):
    """A daemon with no Kubernetes API is healthy (it serves metadata) but not ready."""
    import subprocess
    from cluster import free_port
    from conftest import BIN
    port, admin = free_port(), free_port()
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f'grpc: {{listen: "127.0.0.1:{port}"}}\nadmin: {{listen: "127.0.0.1:{admin}"}}\n'
                   f'kubernetes: {{kubeconfig: "{tmp_path}/missing-kubeconfig"}}\n')
    p = subprocess.Popen([BIN, "serve", "--config", str(cfg)], stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                if http_get(admin, "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        assert http_get(admin, "/healthz") == (200, "ok\n")
        status, body = http_get(admin, "/readyz")
        assert status == 503 and "no Kubernetes API" in body
        _, text = http_get(admin, "/metrics")
        assert metric(text, "flyteplugd_engine_running") == 0
        assert http_get(admin, "/executions")[0] == 503
    finally:
        p.terminate()
        assert p.wait(timeout=30) == 0
