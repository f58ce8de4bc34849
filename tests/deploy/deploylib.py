"""What the deployment tests share (a module of its own: pytest runs several directories whose
conftest.py files would shadow each other as `conftest`)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(os.environ.get("FPD_ROOT", Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(ROOT / "tests" / "cluster"))

KUSTOMIZE = ROOT / "kustomize"
BIN = os.environ.get("FPD_BIN", str(ROOT / "build" / "daemon" / "flyteplugd"))

# Every renderable set: the overlays, and the base alone and with each component, so that each
# component is checked on its own.
OVERLAYS = ["base", "overlays/flyte-binary", "overlays/flyte-core", "overlays/flyte2", "overlays/dev",
            "overlays/namespaced"]
FAMILIES = {
    "spark": [("sparkoperator.k8s.io", "sparkapplications")],
    "kubeflow": [("kubeflow.org", "pytorchjobs"), ("kubeflow.org", "tfjobs"), ("kubeflow.org", "mpijobs")],
    "ray": [("ray.io", "rayjobs")],
    "dask": [("kubernetes.dask.org", "daskjobs")],
    "jobset": [("jobset.x-k8s.io", "jobsets")],
}


def find(docs: list[dict], kind: str, name: str | None = None, namespace: str | None = None) -> dict:
    got = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)
           and (namespace is None or d["metadata"].get("namespace") == namespace)]
    assert len(got) == 1, f"expected one {kind} {name or ''}, found {len(got)}: {[d['metadata'] for d in got]}"
    return got[0]
