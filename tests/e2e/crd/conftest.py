"""Fixtures for the declared task type tests: the engine tests' cluster and daemon
(tests/e2e/engine/conftest.py) and the operators' helpers (tests/e2e/operators/), plus the
JobSet and Trainer v2 CRDs as their projects publish them (FPD_UPSTREAM_CRDS, a folder holding
jobset-v0.12.0/ and trainer-v2.3.0/)."""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

E2E = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(E2E / "engine"))
sys.path.insert(0, str(E2E / "operators"))
# One engine_conftest module for the whole run (tests/e2e/operators loads it the same way).
engine_conftest = sys.modules.get("engine_conftest")
if engine_conftest is None:
    _spec = importlib.util.spec_from_file_location("engine_conftest", E2E / "engine" / "conftest.py")
    engine_conftest = importlib.util.module_from_spec(_spec)
    sys.modules["engine_conftest"] = engine_conftest
    _spec.loader.exec_module(engine_conftest)

ROOT = engine_conftest.ROOT
cluster = engine_conftest.cluster
execution_metadata = engine_conftest.execution_metadata
UPSTREAM = Path(os.environ.get("FPD_UPSTREAM_CRDS", ROOT.parent / "shared" / "upstream" / "crds"))
CRD_FILES = {
    "jobset": UPSTREAM / "jobset-v0.12.0" / "jobset.x-k8s.io_jobsets.yaml",
    "trainer": UPSTREAM / "trainer-v2.3.0" / "trainer.kubeflow.org_trainjobs.yaml",
}


@pytest.fixture(scope="session")
def upstream_crds(cluster):
    """Installs the JobSet and TrainJob CRDs; fails naming the file when one is missing."""
    missing = [str(p) for p in CRD_FILES.values() if not p.is_file()]
    if missing:
        pytest.fail(f"upstream CRDs not found (set FPD_UPSTREAM_CRDS): {missing}")
    return cluster.install_crds([str(p) for p in CRD_FILES.values()])


@pytest.fixture
def crd_daemon(cluster, tmp_path):
    """A daemon declaring examples/tasktypes/ through plugins.settings.crd.dir."""
    wd = tmp_path / "crd-daemon"
    wd.mkdir()
    d = engine_conftest.Daemon(wd, cluster, extra_yaml=(
        "plugins:\n  settings:\n    crd:\n"
        f"      dir: \"{ROOT / 'examples' / 'tasktypes'}\"\n"))
    d.start()
    yield d
    d.stop()
