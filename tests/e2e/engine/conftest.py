"""Fixtures for end-to-end task tests: a real kube-apiserver + etcd (tests/cluster), the real
flyteplugd binary, and the real grpcio + flyteidl client talking to it."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
from flyteidl.admin import agent_pb2
from flyteidl.core import identifier_pb2
from flyteidl.service import agent_pb2_grpc

ROOT = Path(os.environ.get("FPD_ROOT", Path(__file__).resolve().parents[3]))
sys.path.insert(0, str(ROOT / "tests" / "cluster"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cluster import Cluster, free_port  # noqa: E402

BIN = os.environ.get("FPD_BIN", str(ROOT / "build" / "daemon" / "flyteplugd"))
# Informers read pods in protobuf and pods are created in it (the defaults); FPD_E2E_JSON=1 runs
# the same tests in JSON.
KUBE_EXTRA = ("protobuf: false, protobuf_creates: false, " if os.environ.get("FPD_E2E_JSON") == "1"
              else "")


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    c = Cluster(workdir=tmp_path_factory.mktemp("cluster"))
    c.start()
    print(c.reality())
    yield c
    c.stop()


class Daemon:
    """One flyteplugd process; restartable on the same port and key."""

    def __init__(self, workdir: Path, cluster, admin: bool = False, extra_yaml: str = "", **engine):
        self.workdir = workdir
        self.port = free_port()
        self.admin_port = free_port() if admin else None
        self.key = workdir / "signing.key"
        self.key.write_bytes(os.urandom(32))
        self.log = workdir / "flyteplugd.log"
        self.config = workdir / "flyteplugd.yaml"
        engine_yaml = "".join(f"  {k}: {v}\n" for k, v in engine.items())
        self.config.write_text(
            f"log: {{level: debug}}\n"
            f"grpc: {{listen: \"127.0.0.1:{self.port}\", drain_timeout: 2s}}\n"
            + (f"admin: {{listen: \"127.0.0.1:{self.admin_port}\"}}\n" if admin
               else "admin: {enabled: false}\n") +
            f"kubernetes: {{kubeconfig: \"{cluster.kubeconfig}\", {KUBE_EXTRA}qps: 1000, "
            f"burst: 1000}}\n"
            f"engine:\n  signing_key_file: \"{self.key}\"\n{engine_yaml}"
            # One daemon per test sweeps as the only replica; test_replicas.py campaigns.
            + ("" if "leader_election:" in extra_yaml else "leader_election: {enabled: false}\n")
            # more top-level sections (e.g. logs:, plugins:), as YAML text
            + extra_yaml)
        self.proc = None
        self.channel = None
        self.stub = None

    def start(self):
        out = open(self.log, "ab")
        self.proc = subprocess.Popen([BIN, "serve", "--config", str(self.config)], stdout=out,
                                     stderr=subprocess.STDOUT)
        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
        try:
            grpc.channel_ready_future(self.channel).result(timeout=30)
        except grpc.FutureTimeoutError:
            raise AssertionError(f"flyteplugd did not start:\n{self.tail()}")
        self.stub = agent_pb2_grpc.AsyncAgentServiceStub(self.channel)
        return self

    def tail(self, n=60) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def kill(self, sig=signal.SIGKILL):
        if self.channel:
            self.channel.close()
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=30)
        self.proc = None
        return rc

    def stop(self):
        if self.proc:
            rc = self.kill(signal.SIGTERM)
            assert rc == 0, f"flyteplugd exited {rc} on SIGTERM:\n{self.tail()}"
            text = self.log.read_text(errors="replace")
            assert "ERROR: AddressSanitizer" not in text and "runtime error:" not in text, self.tail(200)
            assert "LeakSanitizer" not in text, self.tail(200)


@pytest.fixture
def daemon_factory(cluster, tmp_path):
    started = []

    def make(admin=False, extra_yaml="", **engine):
        wd = tmp_path / f"d{len(started)}"
        wd.mkdir()
        d = Daemon(wd, cluster, admin=admin, extra_yaml=extra_yaml, **engine)
        started.append(d)
        return d.start()

    yield make
    for d in started:
        d.stop()


@pytest.fixture
def daemon(daemon_factory):
    return daemon_factory()


def execution_metadata(namespace: str, execution: str, node: str = "n0", attempt: int = 0,
                       task_name: str = "flytekit_tasks.say_hello", extra_labels=None):
    """TaskExecutionMetadata the way propeller fills it (agent/plugin.go)."""
    labels = {"execution-id": execution, "project": "flytesnacks", "domain": "development",
              "workflow-name": "flytekit-tasks-wf", "node-id": node, "task-name": "say-hello",
              "interruptible": "false", "shard-key": "7"}
    labels.update(extra_labels or {})
    return agent_pb2.TaskExecutionMetadata(
        task_execution_id=identifier_pb2.TaskExecutionIdentifier(
            task_id=identifier_pb2.Identifier(resource_type=identifier_pb2.TASK, project="flytesnacks",
                                              domain="development", name=task_name, version="v1"),
            node_execution_id=identifier_pb2.NodeExecutionIdentifier(
                node_id=node,
                execution_id=identifier_pb2.WorkflowExecutionIdentifier(
                    project="flytesnacks", domain="development", name=execution)),
            retry_attempt=attempt),
        namespace=namespace, labels=labels, annotations={"flyte.org/owner": "e2e"},
        k8s_service_account="default", environment_variables={"EXEC_ENV": "yes"})


def subset_mismatch(want, got, path="$", appended=()):
    """Where `got` (what the API server stored) differs from `want` (what render printed): every
    key render printed must be there with the same value; the server may add more keys, and more
    elements at the end of a list whose path ends with one of `appended`. None when they agree."""
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return f"{path}: {got!r} is not an object"
        for k, v in want.items():
            if k not in got:
                return f"{path}.{k}: missing"
            m = subset_mismatch(v, got[k], f"{path}.{k}", appended)
            if m:
                return m
        return None
    if isinstance(want, list):
        longer = path.endswith(tuple(appended))
        if not isinstance(got, list) or len(got) < len(want) or (len(got) != len(want) and not longer):
            return f"{path}: {got!r} vs {want!r}"
        for i, (w, g) in enumerate(zip(want, got)):
            m = subset_mismatch(w, g, f"{path}[{i}]", appended)
            if m:
                return m
        return None
    return None if want == got else f"{path}: {got!r} != {want!r}"
