"""The container image (deploy/build-image.sh) runs under podman against the test API server as
in a cluster: a ServiceAccount token from the TokenRequest API, the cluster CA and
KUBERNETES_SERVICE_HOST/PORT at the in-cluster paths, the base's RBAC, a read-only root
filesystem, its own non-root UID. The real grpcio + flyteidl client drives it."""
from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import grpc
import pytest
import yaml
from flyteidl.admin import agent_pb2
from flyteidl.core import execution_pb2
from flyteidl.service import agent_pb2_grpc

from deploylib import KUSTOMIZE, ROOT, find

from cluster import free_port  # noqa: E402

# Requests are built as the engine tests build them (flytekit-serialized templates, propeller's
# TaskExecutionMetadata); their conftest is loaded under another name.
_ENGINE = ROOT / "tests" / "e2e" / "engine"
sys.path.insert(0, str(_ENGINE))
import flytekit_tasks  # noqa: E402

_spec = importlib.util.spec_from_file_location("engine_conftest", _ENGINE / "conftest.py")
_engine = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_engine)
execution_metadata = _engine.execution_metadata

BUILD = ROOT / "deploy" / "build-image.sh"
PHASE = execution_pb2.TaskExecution
UID = 65532


def podman(*args, check=True, timeout=120) -> subprocess.CompletedProcess:
    out = subprocess.run(["bash", str(BUILD), "podman", *args], capture_output=True, text=True,
                         timeout=timeout)
    if check:
        assert out.returncode == 0, f"podman {' '.join(args)}: {out.stderr}"
    return out


@pytest.fixture(scope="module")
def image() -> str:
    if subprocess.run(["sh", "-c", "command -v podman"], capture_output=True).returncode != 0:
        pytest.skip("podman is not installed (scripts/install-deps.sh installs it)")
    out = subprocess.run(["bash", str(BUILD)], capture_output=True, text=True, timeout=3600)
    assert out.returncode == 0, f"deploy/build-image.sh failed:\n{out.stderr[-3000:]}"
    ref = out.stdout.strip().splitlines()[-1]
    print(out.stderr.strip())
    # Podman must be able to run a container here at all; if not, say exactly why.
    probe = podman("run", "--rm", "--network=host", ref, "check-config", "/dev/null", check=False)
    if probe.returncode != 0:
        pytest.skip(f"podman cannot run containers on this machine: {probe.stderr.strip()}")
    return ref


def test_image_is_small_and_non_root(image):
    info = json.loads(podman("image", "inspect", image).stdout)[0]
    assert info["Size"] < 40_000_000, f"image is {info['Size']} bytes"
    assert info["Config"]["User"] == f"{UID}:{UID}"
    assert info["Config"]["Entrypoint"] == ["/usr/bin/flyteplugd"] and info["Config"]["Cmd"] == ["serve"]
    # Only the runtime: no shell, no package manager in the image.
    for path in ("/bin/sh", "/usr/bin/apt", "/usr/bin/dpkg"):
        out = podman("run", "--rm", "--network=host", "--entrypoint", path, image, check=False)
        assert out.returncode != 0, f"{path} exists in the image"


def test_image_loads_its_plugin_modules(image, tmp_path):
    """components/kubeflow-v2's configuration names the modules at their image paths: inside
    the image check-config loads them (dlopen, ABI check, their libraries resolved)."""
    cdir = tmp_path / "v2"
    cdir.mkdir()
    (cdir / "config.yaml").write_text((KUSTOMIZE / "components" / "kubeflow-v2" / "config.yaml").read_text())
    cdir.chmod(0o755)
    (cdir / "config.yaml").chmod(0o644)
    out = podman("run", "--rm", "--network=host", "-v", f"{cdir}:/cfg:ro", image,
                 "check-config", "/cfg/config.yaml", check=False)
    assert out.returncode == 0 and "OK" in out.stdout, (out.stdout, out.stderr)
    # The same file with a module the image does not have is refused, naming it.
    (cdir / "config.yaml").write_text((cdir / "config.yaml").read_text().replace("mpi-v2.so", "mpi-v3.so"))
    out = podman("run", "--rm", "--network=host", "-v", f"{cdir}:/cfg:ro", image,
                 "check-config", "/cfg/config.yaml", check=False)
    assert out.returncode == 2 and "mpi-v3.so" in out.stderr, (out.stdout, out.stderr)


@pytest.fixture
def incluster(cluster, kube, render, tmp_path):
    """The base's RBAC and signing key applied; a token for flyteplugd's ServiceAccount; the
    files a kubelet would mount. Yields (dirs, task namespace)."""
    out = kube("create", "namespace", "flyte", check=False)
    assert out.returncode == 0 or "AlreadyExists" in out.stderr, out.stderr
    rbac = [d for d in render("base") if d["kind"] in
            ("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")]
    text = yaml.safe_dump_all(rbac)
    kube("apply", "--server-side", "--field-manager=flyteplugd-tests", "-f", "-", input=text)
    keydir = tmp_path / "signing-key"
    keydir.mkdir()
    (keydir / "key").write_bytes(os.urandom(32))
    kube("delete", "secret", "flyteplugd-signing-key", "-n", "flyte", "--ignore-not-found")
    kube("create", "secret", "generic", "flyteplugd-signing-key", "-n", "flyte",
         f"--from-file=signing-key={keydir / 'key'}")
    token = kube("create", "token", "flyteplugd", "-n", "flyte", "--duration=1h").stdout.strip()
    assert token.count(".") == 2, token
    sa = tmp_path / "serviceaccount"
    sa.mkdir()
    (sa / "token").write_text(token)
    (sa / "ca.crt").write_text(Path(cluster.ca_file).read_text())
    (sa / "namespace").write_text("flyte")
    for p in (sa, keydir):
        p.chmod(0o755)
        for f in p.iterdir():
            f.chmod(0o644)
    yield {"sa": sa, "key": keydir, "rbac": rbac}, cluster.new_namespace("image")
    kube("delete", "--ignore-not-found", "-f", "-", input=text)


class Container:
    """The image run the way the base Deployment runs it: its args, its mount paths, its
    securityContext's user, a read-only root; host network instead of a pod network."""

    def __init__(self, image, cluster, dirs, deployment: dict, tmp_path: Path):
        self.port, self.admin_port = free_port(), free_port()
        pod = deployment["spec"]["template"]["spec"]
        (c,) = pod["containers"]
        mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
        sc = c["securityContext"]
        cfg = yaml.safe_load((KUSTOMIZE / "base" / "config.yaml").read_text())
        cfg["grpc"]["listen"] = f"127.0.0.1:{self.port}"   # host network: loopback only
        cfg["admin"]["listen"] = f"127.0.0.1:{self.admin_port}"
        cfg["plugins"]["enabled"] = ["pod"]                # pods need no operator CRDs
        cfg["log"]["level"] = "debug"
        cdir = tmp_path / "config"
        cdir.mkdir()
        (cdir / "config.yaml").write_text(yaml.safe_dump(cfg))
        cdir.chmod(0o755)
        (cdir / "config.yaml").chmod(0o644)
        assert sc["readOnlyRootFilesystem"] and sc["capabilities"]["drop"] == ["ALL"]
        self.name = f"flyteplugd-test-{os.getpid()}-{self.port}"
        podman("run", "-d", "--name", self.name, "--network=host", "--read-only",
               "--cap-drop=ALL", "--security-opt=no-new-privileges",
               f"--user={sc['runAsUser']}:{sc['runAsGroup']}",
               "--tmpfs", f"{mounts['tmp']}:size=16m",
               "-e", "KUBERNETES_SERVICE_HOST=127.0.0.1",
               "-e", f"KUBERNETES_SERVICE_PORT={cluster.apiserver_port}",
               "-v", f"{dirs['sa']}:/var/run/secrets/kubernetes.io/serviceaccount:ro",
               "-v", f"{cdir}:{mounts['config']}:ro",
               "-e", "POD_NAME=flyteplugd-test", "-e", "POD_NAMESPACE=flyte",
               image, *c["args"])
        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
        self.stub = agent_pb2_grpc.AsyncAgentServiceStub(self.channel)

    def logs(self) -> str:
        out = podman("logs", self.name, check=False)
        return (out.stdout + out.stderr)[-4000:]

    def admin(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}{path}", timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
        except OSError as e:
            return 0, str(e)

    def wait_ready(self, timeout=60):
        deadline = time.time() + timeout
        status = body = None
        while time.time() < deadline:
            status, body = self.admin("/readyz")
            if status == 200:
                return
            time.sleep(0.3)
        raise AssertionError(f"/readyz: {status} {body}\n{self.logs()}")

    def stop(self):
        self.channel.close()
        podman("rm", "-f", "-t", "5", self.name, check=False)


@pytest.fixture
def container(image, cluster, incluster, render, tmp_path):
    dirs, ns = incluster
    c = Container(image, cluster, dirs, find(render("base"), "Deployment", "flyteplugd"), tmp_path)
    try:
        c.wait_ready()
        yield c, ns, dirs
    finally:
        print(c.logs())
        c.stop()


def create_req(ns, execution):
    return agent_pb2.CreateTaskRequest(
        template=flytekit_tasks.python_task(),
        output_prefix=f"s3://bucket/meta/{execution}/n0/data/0",
        task_execution_metadata=execution_metadata(ns, execution))


def test_round_trip_as_in_a_cluster(cluster, container):
    c, ns, _ = container
    # Runs as its own numeric UID, not root.
    pid = podman("inspect", "--format", "{{.State.Pid}}", c.name).stdout.strip()
    uids = re.search(r"^Uid:\s+(.*)$", Path(f"/proc/{pid}/status").read_text(), re.M).group(1).split()
    assert set(uids) == {str(UID)}, uids

    # Propeller's discovery (ListAgents) sees the types of the enabled plugins.
    md = agent_pb2_grpc.AgentMetadataServiceStub(c.channel)
    agents = md.ListAgents(agent_pb2.ListAgentsRequest(), timeout=10).agents
    types = {t.name for a in agents for t in a.supported_task_categories}
    assert {"python-task", "container", "sidecar"} <= types and "spark" not in types, types

    meta = c.stub.CreateTask(create_req(ns, "img1"), timeout=30).resource_meta
    assert meta
    status, pods = cluster.request("GET", f"/api/v1/namespaces/{ns}/pods")
    assert status == 200 and len(pods["items"]) == 1, pods
    pod = pods["items"][0]
    assert pod["metadata"]["labels"]["execution-id"] == "img1"
    res = c.stub.GetTask(agent_pb2.GetTaskRequest(task_type="python-task", resource_meta=meta),
                         timeout=30).resource
    # No kubelet runs it: the pod stays as created.
    assert res.phase == PHASE.QUEUED, (PHASE.Phase.Name(res.phase), res.message)
    c.stub.DeleteTask(agent_pb2.DeleteTaskRequest(task_type="python-task", resource_meta=meta), timeout=30)
    deadline = time.time() + 20
    while time.time() < deadline:
        status, _ = cluster.request("GET", f"/api/v1/namespaces/{ns}/pods/{pod['metadata']['name']}")
        if status == 404:
            break
        time.sleep(0.2)
    assert status == 404, f"pod still there after DeleteTask\n{c.logs()}"

    # Every metric the PrometheusRule and the dashboard use is one the daemon serves.
    status, text = c.admin("/metrics")
    assert status == 200
    served = set(re.findall(r"^(flyteplugd_[a-z_]+)", text, re.M))
    mon = KUSTOMIZE / "components" / "monitoring"
    used = set(re.findall(r"flyteplugd_[a-z_]+", (mon / "prometheusrule.yaml").read_text() +
                          (mon / "dashboard.json").read_text()))
    assert used and used <= served, f"not served: {used - served}"
    # The image's build links mimalloc (its builder stage installs it), and mimalloc serves
    # malloc in the container: its figures replace glibc's.
    assert 'allocator="mimalloc"' in text, re.findall(r"^flyteplugd_build_info.*$", text, re.M)
    committed = re.search(r'^flyteplugd_memory_bytes\{part="heap_committed"\} (\d+)$', text, re.M)
    assert committed and int(committed.group(1)) > 0, text
    assert 'part="heap_in_use"' not in text


def test_missing_verb_is_a_clear_error(cluster, kube, container):
    """RBAC without `create pods`: the refusal reaches propeller at once, as Flyte's own plugins
    report a refused create (plugin_manager.go: a retryable failure with the API server's
    message), in the task's phase: CreateTask answers, and the first GetTask says why."""
    c, ns, dirs = container
    role = find(dirs["rbac"], "ClusterRole", "flyteplugd")
    crippled = json.loads(json.dumps(role))
    crippled["rules"][0]["verbs"] = [v for v in crippled["rules"][0]["verbs"] if v != "create"]
    assert crippled["rules"][0]["resources"] == ["pods"]
    kube("apply", "--server-side", "--field-manager=flyteplugd-tests", "-f", "-",
         input=yaml.safe_dump(crippled))
    start = time.monotonic()
    try:
        meta = c.stub.CreateTask(create_req(ns, "img2"), timeout=30).resource_meta
        res = c.stub.GetTask(agent_pb2.GetTaskRequest(task_type="python-task", resource_meta=meta),
                             timeout=30).resource
    except grpc.RpcError as e:
        # An error status is as clear, provided it names the refusal.
        assert e.code() != grpc.StatusCode.DEADLINE_EXCEEDED, "CreateTask hung"
        assert "cannot create resource" in e.details(), e.details()
        return
    took = time.monotonic() - start
    assert took < 5, f"CreateTask + GetTask took {took:.1f} s"
    assert res.phase == PHASE.RETRYABLE_FAILED, (PHASE.Phase.Name(res.phase), res.message)
    assert 'cannot create resource "pods"' in res.message and "system:serviceaccount:flyte:flyteplugd" \
        in res.message, res.message
    status, pods = cluster.request("GET", f"/api/v1/namespaces/{ns}/pods")
    assert status == 200 and pods["items"] == [], pods
