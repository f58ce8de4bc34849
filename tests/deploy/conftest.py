"""Fixtures for the deployment tests: kustomize renderings (kubectl kustomize of the kubectl
that tests/cluster/build.sh builds), a real kube-apiserver + etcd with RBAC authorization
(tests/cluster), and the container image from deploy/build-image.sh run under podman."""
from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from deploylib import KUSTOMIZE, ROOT  # noqa: E402

sys.path.insert(0, str(ROOT / "tests" / "cluster"))
from cluster import Cluster, build_binaries  # noqa: E402


@pytest.fixture(scope="session")
def bin_dir() -> Path:
    return build_binaries()


@pytest.fixture(scope="session")
def kubectl(bin_dir) -> str:
    k = bin_dir / "kubectl"
    assert os.access(k, os.X_OK), f"{k} missing: tests/cluster/build.sh builds it"
    return str(k)


@pytest.fixture(scope="session")
def render(kubectl, tmp_path_factory):
    """render(path, components=()) -> list of documents. `path` is relative to kustomize/;
    with components, a throwaway kustomization (inside kustomize/, as kustomize refuses
    files above its root) adds them to `path`."""
    cache: dict = {}

    def run(path: str, components: tuple[str, ...] = ()) -> list[dict]:
        key = (path, tuple(components))
        if key in cache:
            return copy.deepcopy(cache[key])  # callers may change what they get
        target = KUSTOMIZE / path
        tmp = None
        if components:
            tmp = KUSTOMIZE / f".test-{os.getpid()}-{len(cache)}"
            tmp.mkdir()
            (tmp / "kustomization.yaml").write_text(yaml.safe_dump({
                "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                "resources": [f"../{path}"],
                "components": [f"../components/{c}" for c in components]}))
            target = tmp
        try:
            out = subprocess.run([kubectl, "kustomize", str(target)], capture_output=True, text=True)
        finally:
            if tmp:
                shutil.rmtree(tmp)
        assert out.returncode == 0, f"kubectl kustomize {path} {components}: {out.stderr}"
        docs = [d for d in yaml.safe_load_all(out.stdout) if d]
        cache[key] = docs
        return copy.deepcopy(docs)

    return run


@pytest.fixture(scope="session")
def cluster(tmp_path_factory, bin_dir):
    c = Cluster(workdir=tmp_path_factory.mktemp("cluster"), bin_dir=bin_dir)
    c.start()
    print(c.reality())
    yield c
    c.stop()


@pytest.fixture(scope="session")
def kube(cluster, kubectl):
    """kube(*args, input=None, check=True) runs kubectl against the test cluster as admin."""

    def run(*args, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        out = subprocess.run([kubectl, "--kubeconfig", cluster.kubeconfig, *args], input=input,
                             capture_output=True, text=True, timeout=120)
        if check:
            assert out.returncode == 0, f"kubectl {' '.join(args)}: {out.stderr}{out.stdout}"
        return out

    return run
