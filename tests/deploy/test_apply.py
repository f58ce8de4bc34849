"""Every rendered set is accepted by a real kube-apiserver with server-side validation (strict
field validation, admission, CRD schemas for the monitoring kinds): `kubectl apply --server-side
--dry-run=server`."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from deploylib import FAMILIES, OVERLAYS, ROOT

SETS = [(o, ()) for o in OVERLAYS] + [
    ("base", tuple(sorted(FAMILIES))),
    ("overlays/flyte-binary", ("monitoring", "python-tasks")),
    ("overlays/flyte-binary", ("kubeflow-v2",)),
    ("overlays/flyte-core", ("monitoring",)),
]


@pytest.fixture(scope="module")
def monitoring_crds(cluster):
    """The prometheus-operator's ServiceMonitor and PrometheusRule CRDs, from its Go module."""
    out = subprocess.run(["sh", str(Path(__file__).with_name("monitoring-crds.sh"))],
                         capture_output=True, text=True, timeout=600, env=dict(os.environ))
    paths = out.stdout.split()
    if out.returncode != 0 or len(paths) != 2:
        pytest.skip("the prometheus-operator CRDs could not be fetched through the Go module "
                    f"proxy, so ServiceMonitor/PrometheusRule are checked by rendering only: {out.stderr[-500:]}")
    return cluster.install_crds(paths)


@pytest.fixture(scope="module")
def namespaces(kube):
    for ns in ("flyte", "monitoring", "flytesnacks-development", "flytesnacks-staging",
               "flytesnacks-production"):
        out = kube("create", "namespace", ns, check=False)
        assert out.returncode == 0 or "AlreadyExists" in out.stderr, out.stderr


def dry_run(kube, docs, check=False):
    return kube("apply", "--server-side", "--dry-run=server", "--field-manager=flyteplugd-tests",
                "--validate=strict", "-f", "-", input=yaml.safe_dump_all(docs), check=check)


@pytest.mark.parametrize("path,components", SETS, ids=[f"{p}+{'+'.join(c)}" if c else p for p, c in SETS])
def test_server_side_dry_run(render, kube, namespaces, monitoring_crds, path, components):
    docs = render(path, components)
    out = dry_run(kube, docs)
    assert out.returncode == 0, f"{path} {components}:\n{out.stderr}"
    applied = [line for line in out.stdout.splitlines() if "serverside-applied" in line]
    assert len(applied) == len(docs), out.stdout


def test_server_side_validation_can_refuse(render, kube, namespaces):
    """The same check refuses a Deployment with a misspelt field and a Service with a bad port:
    the dry run above validates, it does not just echo."""
    docs = render("base")
    for d in docs:
        if d["kind"] == "Deployment":
            d["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["grcp"] = {"port": 8000}
    out = dry_run(kube, docs)
    assert out.returncode != 0 and "grcp" in out.stderr, out.stderr
    docs = render("base")
    for d in docs:
        if d["kind"] == "Service":
            d["spec"]["ports"][0]["port"] = 70000
    out = dry_run(kube, docs)
    assert out.returncode != 0 and "70000" in out.stderr, out.stderr
