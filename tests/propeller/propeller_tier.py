"""What the FlytePropeller tier shares (conftest.py holds its fixtures, bench/propeller uses it too):
the real FlytePropeller v1.16.8 (tests/propeller/build.sh) runs workflows against the real
kube-apiserver (tests/cluster) and routes their tasks to the real flyteplugd through its
connector-service plugin, configured from the flyte-binary overlay's fragment. The cluster and
the daemon are the engine tests' (tests/e2e/engine/conftest.py).
No kubelet or operator runs: the tests write pod and custom-resource status as they would, and
the files a task's container writes (outputs.pb) into propeller's local storage."""
from __future__ import annotations

import copy
import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

import yaml
from flyteidl.core import literals_pb2

HERE = Path(__file__).resolve().parent
ENGINE = HERE.parent / "e2e" / "engine"
sys.path.insert(0, str(ENGINE))
sys.path.insert(0, str(HERE))
engine_conftest = sys.modules.get("engine_conftest")  # tests/e2e/operators loads it the same way
if engine_conftest is None:
    _spec = importlib.util.spec_from_file_location("engine_conftest", ENGINE / "conftest.py")
    engine_conftest = importlib.util.module_from_spec(_spec)
    sys.modules["engine_conftest"] = engine_conftest
    _spec.loader.exec_module(engine_conftest)

ROOT = engine_conftest.ROOT
free_port = engine_conftest.free_port
OVERLAY = ROOT / "kustomize" / "overlays" / "flyte-binary" / "propeller-connector.yaml"
BUILD_SH = HERE / "build.sh"

FLYTEWORKFLOWS = ("flyte.lyft.com", "v1alpha1", "flyteworkflows")
# v1alpha1.WorkflowPhase and NodePhase, as propeller stores them (ints) in the FlyteWorkflow.
WF = {n: i for i, n in enumerate(["Ready", "Running", "Succeeding", "Success", "Failing", "Failed",
                                  "Aborted", "HandlingFailureNode"])}
NODE = {n: i for i, n in enumerate(["NotYetStarted", "Queued", "Running", "Failing", "Succeeding",
                                    "Succeeded", "Failed", "Skipped", "RetryableFailure", "TimingOut",
                                    "TimedOut", "DynamicRunning", "Recovered"])}
# pluginmachinery core.Phase: the task's phase as the connector reported it (TaskNodeStatus.phase).
TASK = {n: i for i, n in enumerate(["Undefined", "NotReady", "WaitingForResources", "Queued", "Initializing",
                                    "Running", "Success", "RetryableFailure", "PermanentFailure"])}
WF_NAME = {v: k for k, v in WF.items()}
NODE_NAME = {v: k for k, v in NODE.items()}
TASK_NAME = {v: k for k, v in TASK.items()}


class SourcesMissing(Exception):
    """build.sh found no Flyte sources (its message says where it looked and what to do)."""


def propeller_bin_dir() -> Path:
    """The bin dir of build.sh; SourcesMissing when the sources are absent."""
    out = subprocess.run(["bash", str(BUILD_SH)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, check=False)
    if out.returncode == 3:
        raise SourcesMissing(out.stderr.strip())
    if out.returncode != 0:
        raise RuntimeError(f"{BUILD_SH} failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return Path(out.stdout.strip().splitlines()[-1])


def operator_crds(cluster, *operators):
    """Installs the operators' published CRDs that tests/cluster/crds/<operator>.sh prints."""
    for op in operators:
        out = subprocess.run(["bash", str(ROOT / "tests" / "cluster" / "crds" / f"{op}.sh")],
                             capture_output=True, text=True, timeout=900)
        paths = [line for line in out.stdout.splitlines() if line.strip()]
        assert out.returncode == 0 and paths, f"{op}.sh could not obtain the CRDs: {out.stderr[-600:]}"
        cluster.install_crds(paths)


def connector_config(endpoint: str, webapi: dict | None = None) -> dict:
    """The overlay's plugins: and tasks: sections with what a test must change: the endpoint,
    python-task routed to flyteplugd, and (for the benchmark) webApi settings replaced."""
    frag = yaml.safe_load(OVERLAY.read_text())
    conn = frag["plugins"]["connector-service"]
    conn["defaultConnector"]["endpoint"] = endpoint
    for d in (conn.get("connectors") or {}).values():
        d["endpoint"] = endpoint
    if webapi is not None:
        conn["webApi"] = copy.deepcopy(webapi)
    frag["tasks"]["task-plugins"]["default-for-task-types"]["python-task"] = "connector-service"
    return frag


class Propeller:
    """One flytepropeller process without flyteadmin: local storage, no catalog, events logged."""

    def __init__(self, workdir: Path, cluster, bin_dir: Path, endpoint: str, webapi: dict | None = None,
                 propeller: dict | None = None):
        """webapi replaces the overlay's connector webApi block; propeller adds to (or replaces)
        keys of propeller's own section, e.g. workflow-reeval-duration."""
        self.workdir, self.cluster, self.bin_dir = workdir, cluster, bin_dir
        self.store = workdir / "store"
        (self.store / "bucket").mkdir(parents=True)
        self.log = workdir / "propeller.log"
        self.config = workdir / "propeller.yaml"
        cfg = connector_config(endpoint, webapi)
        cfg.update({
            "propeller": {
                "kube-config": cluster.kubeconfig,
                "workers": 4,
                "limit-namespace": "all",
                "prof-port": free_port(),
                "metadata-prefix": "metadata/propeller",
                "rawoutput-prefix": "file://bucket/raw",
                "enable-admin-launcher": False,
                "create-flyteworkflow-crd": True,
                "leader-election": {"enabled": False},
                **(propeller or {}),
            },
            "storage": {"type": "stow", "container": "bucket",
                        "stow": {"kind": "local", "config": {"path": str(self.store)}}},
            # Never dialled (no launch plans, no signals, events logged), but propeller builds
            # its admin client at start and panics on an empty endpoint.
            "admin": {"endpoint": f"dns:///127.0.0.1:{free_port()}", "insecure": True},
            "catalog-cache": {"type": "noop"},
            "event": {"type": "log"},
            "logger": {"level": 4, "show-source": False, "formatter": {"type": "text"}},
        })
        self.config.write_text(yaml.safe_dump(cfg, sort_keys=False))
        self.proc = None

    def start(self) -> "Propeller":
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([str(self.bin_dir / "flytepropeller"), "--config", str(self.config)],
                                         stdout=out, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while "Started workers" not in self.log.read_text(errors="replace"):
            if self.proc.poll() is not None:
                raise AssertionError(f"flytepropeller exited {self.proc.returncode}:\n{self.tail()}")
            if time.time() > deadline:
                raise AssertionError(f"flytepropeller did not start its workers:\n{self.tail()}")
            time.sleep(0.2)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def tail(self, n=40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    # -- workflows ------------------------------------------------------------------------

    def create(self, ns: str, execution: str, closure, inputs: literals_pb2.LiteralMap | None = None):
        """kubectl-flyte create: compiles the closure and creates FlyteWorkflow `execution` in ns."""
        d = self.workdir / execution
        d.mkdir()
        (d / "closure.pb").write_bytes(closure.SerializeToString())
        args = [str(self.bin_dir / "kubectl-flyte"), "create", "--kubeconfig", self.cluster.kubeconfig,
                "-n", ns, "--proto-path", str(d / "closure.pb"), "--format", "proto",
                "--execution-id", execution]
        # Always given: without inputs kubectl-flyte fails ("Marshal called with nil").
        (d / "inputs.pb").write_bytes((inputs or literals_pb2.LiteralMap()).SerializeToString())
        args += ["--input-path", str(d / "inputs.pb")]
        out = subprocess.run(args, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, f"kubectl-flyte create failed:\n{out.stdout}\n{out.stderr}"

    def workflow(self, ns: str, name: str) -> dict | None:
        st, obj = self.cluster.request("GET", self.cluster.resource_path(*FLYTEWORKFLOWS, ns, name))
        return obj if st == 200 else None

    def local(self, ref: str) -> Path:
        """The file behind a file://bucket/... reference of propeller's local storage."""
        assert ref.startswith("file://"), ref
        return self.store / ref[len("file://"):]


def wf_phase(wf: dict | None) -> str | None:
    return None if wf is None else WF_NAME.get(wf.get("status", {}).get("phase", 0))


def node(wf: dict | None, node_id: str) -> dict:
    return ((wf or {}).get("status", {}).get("nodeStatus") or {}).get(node_id) or {}


def node_phase(wf: dict | None, node_id: str) -> str:
    return NODE_NAME.get(node(wf, node_id).get("phase", 0))


def task_phase(wf: dict | None, node_id: str) -> str:
    return TASK_NAME.get((node(wf, node_id).get("TaskNodeStatus") or {}).get("phase", 0))


def summary(wf: dict | None) -> str:
    if wf is None:
        return "no such FlyteWorkflow"
    st = wf.get("status", {})
    nodes = {k: (NODE_NAME.get(v.get("phase", 0)), TASK_NAME.get((v.get("TaskNodeStatus") or {}).get("phase", 0)),
                 v.get("attempts", 0), v.get("message", ""))
             for k, v in (st.get("nodeStatus") or {}).items()}
    return json.dumps({"phase": WF_NAME.get(st.get("phase", 0)), "message": st.get("message", ""),
                       "nodes": nodes})


def task_pods(cluster, ns: str, execution: str) -> list[dict]:
    """The pods of an execution (propeller's execution-id label), oldest first."""
    st, obj = cluster.request("GET", f"/api/v1/namespaces/{ns}/pods?labelSelector=execution-id%3D{execution}")
    assert st == 200, obj
    return sorted(obj["items"], key=lambda p: (p["metadata"]["creationTimestamp"], p["metadata"]["name"]))


class Execution:
    """One workflow execution: its FlyteWorkflow, its task pods, and what to print when a wait
    fails (the FlyteWorkflow status, propeller's and flyteplugd's log tails)."""

    def __init__(self, propeller: Propeller, daemon, ns: str, name: str):
        self.propeller, self.daemon, self.ns, self.name = propeller, daemon, ns, name
        self.cluster = propeller.cluster

    def diagnose(self) -> str:
        return (f"FlyteWorkflow {self.ns}/{self.name}: {summary(self.propeller.workflow(self.ns, self.name))}\n"
                f"propeller:\n{self.propeller.tail()}\nflyteplugd:\n{self.daemon.tail(30)}")

    def wait(self, pred, what: str, timeout: float = 90) -> dict:
        deadline = time.time() + timeout
        while True:
            wf = self.propeller.workflow(self.ns, self.name)
            if wf is not None and pred(wf):
                return wf
            if time.time() >= deadline:
                raise AssertionError(f"wanted {what}\n{self.diagnose()}")
            time.sleep(0.2)

    def wait_phase(self, phase: str, timeout: float = 90) -> dict:
        return self.wait(lambda wf: wf_phase(wf) == phase, f"workflow phase {phase}", timeout)

    def wait_node(self, node_id: str, phase: str, timeout: float = 90) -> dict:
        return self.wait(lambda wf: node_phase(wf, node_id) == phase, f"node {node_id} {phase}", timeout)

    def pod(self, node_id: str = "n0", attempt: int = 0, timeout: float = 60) -> dict:
        """Waits for flyteplugd's pod of that node and attempt and returns it."""
        name = f"{self.name}-{node_id}-{attempt}"
        deadline = time.time() + timeout
        while True:
            st, pod = self.cluster.request("GET", f"/api/v1/namespaces/{self.ns}/pods/{name}")
            if st == 200:
                return pod
            if time.time() >= deadline:
                have = [p["metadata"]["name"] for p in task_pods(self.cluster, self.ns, self.name)]
                raise AssertionError(f"no pod {name}; pods {have}\n{self.diagnose()}")
            time.sleep(0.2)

    def gone(self, timeout: float = 60) -> None:
        """Waits until the FlyteWorkflow is deleted (propeller removed its finalizer)."""
        deadline = time.time() + timeout
        while self.propeller.workflow(self.ns, self.name) is not None:
            if time.time() >= deadline:
                raise AssertionError(f"FlyteWorkflow still there\n{self.diagnose()}")
            time.sleep(0.2)

    def pod_gone(self, name: str, timeout: float = 60) -> None:
        """Waits until pod name is deleted."""
        deadline = time.time() + timeout
        while self.cluster.request("GET", f"/api/v1/namespaces/{self.ns}/pods/{name}")[0] != 404:
            if time.time() >= deadline:
                raise AssertionError(f"pod {name} still there\n{self.diagnose()}")
            time.sleep(0.2)


# -- what a kubelet would do ----------------------------------------------------------------

def arg(pod: dict, flag: str) -> str:
    """The value after flag in the primary container's args (propeller rendered it)."""
    args = pod["spec"]["containers"][0]["args"]
    assert flag in args, args
    return args[args.index(flag) + 1]


def _container(pod: dict, state: dict, ready: bool) -> list[dict]:
    return [{"name": c["name"], "ready": ready, "restartCount": 0, "image": c["image"], "imageID": "",
             "state": state} for c in pod["spec"]["containers"]]


def start_pod(cluster, pod: dict) -> None:
    """The pod's containers started, as the kubelet reports it."""
    now = rfc3339()
    cluster.patch_pod_status(pod["metadata"]["namespace"], pod["metadata"]["name"], {
        "phase": "Running", "startTime": now,
        "conditions": [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "True"}],
        "containerStatuses": _container(pod, {"running": {"startedAt": now}}, True)})


def finish_pod(cluster, pod: dict, exit_code: int = 0) -> None:
    """The pod's containers exited with exit_code: Succeeded on 0, else Failed."""
    now = rfc3339()
    term = {"terminated": {"exitCode": exit_code, "reason": "Completed" if exit_code == 0 else "Error",
                           "startedAt": now, "finishedAt": now}}
    cluster.patch_pod_status(pod["metadata"]["namespace"], pod["metadata"]["name"], {
        "phase": "Succeeded" if exit_code == 0 else "Failed",
        "conditions": [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "False"}],
        "containerStatuses": _container(pod, term, False)})


def rfc3339() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
