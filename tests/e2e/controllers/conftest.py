"""Fixtures for the real-controller tests: one real kube-apiserver + etcd (tests/cluster) for the
session, and the real controllers (kwok, kube-scheduler, kube-controller-manager, Kueue, KubeRay)
started on it on first use, each built by tests/cluster/controllers/build.sh from its pinned Go
module. Nothing here writes status on a controller's behalf."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(os.environ.get("FPD_ROOT", Path(__file__).resolve().parents[3]))
sys.path.insert(0, str(ROOT / "tests" / "cluster"))

from cluster import Cluster, build_controllers  # noqa: E402
from ctl_helpers import get, wait_for  # noqa: E402

# The daemon and the flytekit task templates of the engine and operator tests.
E2E = Path(__file__).resolve().parents[1]
if "engine_conftest" not in sys.modules:  # tests/e2e/operators/conftest.py may have loaded it
    _spec = importlib.util.spec_from_file_location("engine_conftest", E2E / "engine" / "conftest.py")
    _mod = importlib.util.module_from_spec(_spec)
    sys.modules["engine_conftest"] = _mod
    _spec.loader.exec_module(_mod)
engine_conftest = sys.modules["engine_conftest"]
sys.path.insert(0, str(E2E / "operators"))
sys.path.insert(0, str(E2E / "engine"))


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    c = Cluster(workdir=tmp_path_factory.mktemp("ctl-cluster"))
    c.start()
    yield c
    for ctl in getattr(c, "controllers", []):
        print(f"--- {ctl.name} {ctl.version} log tail ---\n{ctl.tail(15)}")
    c.stop()


@pytest.fixture(scope="session")
def controller_manager(cluster):
    kcm = cluster.start_controller_manager()
    yield kcm
    assert kcm.alive(), f"kube-controller-manager died:\n{kcm.tail()}"


@pytest.fixture(scope="session")
def kwok(cluster, controller_manager):
    """A kwok node: kube-scheduler places pods, kwok runs them (the node-lifecycle controller
    of kube-controller-manager untaints the node once kwok reports it Ready)."""
    sched = cluster.start_scheduler()
    kw = cluster.start_kwok(["fpd-kwok-node-0"], complete_unowned_after_ms=3000)
    wait_for("node-lifecycle controller to untaint fpd-kwok-node-0",
             lambda: not (get(cluster, "/api/v1/nodes/fpd-kwok-node-0")["spec"].get("taints")), timeout=60)
    yield kw
    assert kw.alive(), f"kwok died:\n{kw.tail()}"
    assert sched.alive(), f"kube-scheduler died:\n{sched.tail()}"


@pytest.fixture(scope="session")
def kueue(cluster):
    """Kueue with its batch/job, ray.io/rayjob and kubeflow.org/pytorchjob integrations
    (KubeRay's and the training operator's CRDs first: Kueue sets up an integration only for a
    kind the API server serves)."""
    ray_crds = build_controllers("kuberay") / "kuberay.crds"
    cluster.install_crds(sorted(str(p) for p in ray_crds.glob("*.yaml")))
    kf = subprocess.run(["bash", str(ROOT / "tests" / "cluster" / "crds" / "kubeflow.sh")],
                        capture_output=True, text=True, timeout=900)
    assert kf.returncode == 0 and kf.stdout.strip(), f"kubeflow.sh: {kf.stderr[-600:]}"
    cluster.install_crds([line for line in kf.stdout.splitlines() if line.strip()])
    kq = cluster.start_kueue(frameworks=("batch/job", "ray.io/rayjob", "kubeflow.org/pytorchjob"))
    yield kq
    assert kq.alive(), f"kueue died:\n{kq.tail()}"


@pytest.fixture(scope="session")
def kuberay(cluster):
    kr = cluster.start_kuberay()
    yield kr
    assert kr.alive(), f"kuberay died:\n{kr.tail()}"


@pytest.fixture
def daemon(cluster, tmp_path):
    """flyteplugd (FPD_BIN) on this session's cluster."""
    d = engine_conftest.Daemon(tmp_path, cluster).start()
    yield d
    d.stop()
