"""Fixtures for operator (CRD) task tests: the engine tests' cluster, daemon and execution
metadata (tests/e2e/engine/conftest.py), plus `crds`, which installs every operator's published
CRDs as fetched by tests/cluster/crds/*.sh."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ENGINE = Path(__file__).resolve().parents[1] / "engine"
sys.path.insert(0, str(ENGINE))
_spec = importlib.util.spec_from_file_location("engine_conftest", ENGINE / "conftest.py")
engine_conftest = importlib.util.module_from_spec(_spec)
sys.modules["engine_conftest"] = engine_conftest
_spec.loader.exec_module(engine_conftest)

ROOT = engine_conftest.ROOT
BIN = engine_conftest.BIN
cluster = engine_conftest.cluster
daemon_factory = engine_conftest.daemon_factory
daemon = engine_conftest.daemon
execution_metadata = engine_conftest.execution_metadata
CRD_SCRIPTS = ROOT / "tests" / "cluster" / "crds"


@pytest.fixture(scope="session")
def crds(cluster):
    """Installs the CRDs every tests/cluster/crds/*.sh prints (one YAML path a line). Returns
    {operator: installed CRD names, or the reason they could not be obtained}."""
    result = {}
    for script in sorted(CRD_SCRIPTS.glob("*.sh")):
        out = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=900)
        paths = [line for line in out.stdout.splitlines() if line.strip()]
        if out.returncode != 0 or not paths:
            result[script.stem] = f"{script.name} could not obtain the CRDs: {out.stderr.strip()[-600:]}"
            continue
        result[script.stem] = cluster.install_crds(paths)
    return result


@pytest.fixture(autouse=True)
def _operator_crds(request):
    """A test module naming its operator (CRD = "spark") needs that operator's own published
    CRDs: every operator's are obtainable by tests/cluster/crds/*.sh, so a failure to fetch or
    install them fails the test with the reason instead of skipping it."""
    operator = getattr(request.module, "CRD", None)
    if operator is None:
        return
    got = request.getfixturevalue("crds").get(operator)
    if not isinstance(got, list):
        pytest.fail(got or f"no tests/cluster/crds/{operator}.sh")
