"""Fixtures for the Flyte 2 connector tests: the engine tests' real kube-apiserver and daemon
(tests/e2e/engine/conftest.py), the operator tests' CRDs (tests/e2e/operators/conftest.py), the
gRPC tests' daemon without Kubernetes and TLS certificate (tests/e2e/grpc/conftest.py),
helpers that turn Flyte 1 messages into Flyte 2 ones, and `sdk_templates`: tasks written and
serialized by the real Flyte 2 SDK.

Two sources of templates. The Flyte 2 SDK (`flyte` on PyPI) serializes a task offline
(sdk/tasks.py, in a venv of its own made here from sdk/requirements.txt: flyte pins flyteidl2
2.0.51 and protobuf >= 6, which flytekit's venv cannot hold); it writes Flyte 2's own types,
`python` and `clustered-task` version 1. Every other template (the operator types the SDK has
no plugin for here, and the Flyte 1/Flyte 2 comparisons) is written with flytekit and converted
to flyteidl2 by its bytes: flyteidl2.core.TaskTemplate declares every field of
flyteidl.core.TaskTemplate with the same number and type (test_flyte2_wire.py checks that), so
parsing Flyte 1 bytes as the Flyte 2 message is exact."""
from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from flyteidl.service import agent_pb2_grpc
from flyteidl2.connector import connector_pb2, service_pb2_grpc
from flyteidl2.core import tasks_pb2

HERE = Path(__file__).resolve().parent
E2E = HERE.parent


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


sys.path.insert(0, str(E2E / "engine"))     # flytekit_tasks
sys.path.insert(0, str(E2E / "operators"))  # kubeflow_tasks, operator_helpers
operators_conftest = _load("flyte2_operators_conftest", E2E / "operators" / "conftest.py")
engine_conftest = operators_conftest.engine_conftest
grpc_conftest = _load("flyte2_grpc_conftest", E2E / "grpc" / "conftest.py")

cluster = engine_conftest.cluster
daemon_factory = engine_conftest.daemon_factory
daemon = engine_conftest.daemon
crds = operators_conftest.crds
make_daemon = grpc_conftest.make_daemon
tls_cert = grpc_conftest.tls_cert
execution_metadata = engine_conftest.execution_metadata


SDK = HERE / "sdk"


def sdk_python():
    """The Flyte 2 SDK's venv (sdk/requirements.txt), made once per requirements file under
    the cache directory; its python."""
    reqs = SDK / "requirements.txt"
    key = hashlib.sha256(reqs.read_bytes()).hexdigest()[:16]
    venv = grpc_conftest.cache_dir() / f"flyte2-sdk-{key}"
    python = venv / "bin" / "python"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f"flyte2-sdk-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another run may be making it
        if not (venv / ".complete").exists():
            for cmd in ([sys.executable, "-m", "venv", "--clear", str(venv)],
                        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                         "-r", str(reqs)]):
                out = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
                if out.returncode != 0:
                    pytest.fail(f"cannot make the Flyte 2 SDK venv ({' '.join(cmd)}):\n"
                                f"{out.stdout[-1000:]}{out.stderr[-2000:]}")
            (venv / ".complete").write_text("")
    return python


@pytest.fixture(scope="session")
def sdk_templates(tmp_path_factory):
    """{task name: flyteidl2.core.TaskTemplate} as the Flyte 2 SDK serializes sdk/tasks.py."""
    out = tmp_path_factory.mktemp("sdk")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["HOME"] = str(out)  # the SDK may write its configuration there
    run = subprocess.run([str(sdk_python()), str(SDK / "tasks.py"), str(out)], capture_output=True,
                         text=True, timeout=300, env=env, cwd=SDK)
    assert run.returncode == 0, f"sdk/tasks.py failed:\n{run.stdout}{run.stderr}"
    return {p.stem: tasks_pb2.TaskTemplate.FromString(p.read_bytes()) for p in out.glob("*.pb")}


def to_flyte2(message, flyte2_type):
    """A Flyte 1 message as the Flyte 2 message of the same wire layout (by its bytes)."""
    return flyte2_type.FromString(message.SerializeToString())


def flyte2_template(template):
    """template as flyteidl2's TaskTemplate (unchanged when it is one: the SDK's)."""
    if isinstance(template, tasks_pb2.TaskTemplate):
        return template
    return to_flyte2(template, tasks_pb2.TaskTemplate)


def flyte2_metadata(ns, execution, node="n0", attempt=0):
    """TaskExecutionMetadata as the Flyte 2 executor fills it (the same fields as propeller)."""
    return to_flyte2(execution_metadata(ns, execution, node, attempt), connector_pb2.TaskExecutionMetadata)


class Clients:
    """The generated grpcio stubs of both families on one channel."""

    def __init__(self, channel):
        self.channel = channel
        self.tasks2 = service_pb2_grpc.AsyncConnectorServiceStub(channel)
        self.meta2 = service_pb2_grpc.ConnectorMetadataServiceStub(channel)
        self.tasks1 = agent_pb2_grpc.AsyncAgentServiceStub(channel)
        self.meta1 = agent_pb2_grpc.AgentMetadataServiceStub(channel)


@pytest.fixture(params=["h2c", "tls"])
def kube_daemon(request, daemon_factory, tls_cert):
    """A daemon on the real API server, reached over h2c or over TLS (ALPN h2): (daemon,
    Clients)."""
    d = daemon_factory()
    if request.param == "h2c":
        yield d, Clients(d.channel)
        return
    # The same configuration with TLS: restart the daemon on it.
    d.kill(sig=15)
    text = d.config.read_text()
    cert, key = tls_cert
    d.config.write_text(text.replace("drain_timeout: 2s}",
                                     f"drain_timeout: 2s, tls: {{cert_file: \"{cert}\", key_file: \"{key}\"}}}}"))
    out = open(d.log, "ab")
    d.proc = subprocess.Popen([engine_conftest.BIN, "serve", "--config", str(d.config)], stdout=out,
                              stderr=subprocess.STDOUT)
    creds = grpc.ssl_channel_credentials(root_certificates=Path(cert).read_bytes())
    d.channel = grpc.secure_channel(f"127.0.0.1:{d.port}", creds)
    try:
        grpc.channel_ready_future(d.channel).result(timeout=30)
    except grpc.FutureTimeoutError:
        raise AssertionError(f"flyteplugd (TLS) did not start:\n{d.tail()}")
    assert "(TLS)" in d.tail(200), d.tail()
    d.stub = agent_pb2_grpc.AsyncAgentServiceStub(d.channel)
    yield d, Clients(d.channel)
