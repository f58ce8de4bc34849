"""flyteplugd's protobuf bodies read by the API machinery's own Go decoders, the ones
kube-apiserver reads request bodies with: every pod of the fixtures (the objects the pod plugin
builds as Flyte's Go plugins do, pods in many states, the operators' pod templates: written by
tests/fuzz/seeds_kubepb_encode.py) that flyteplugd would create in protobuf decodes, from its
protobuf and from its JSON, to the same core/v1 Pod (pod_bodies_go/main.go; k8s.io/api and
k8s.io/apimachinery at the version of the daemon's Kubernetes types, proto/k8s/fetch-k8s.py)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT / "tests" / "fuzz"))

import seeds_kubepb_encode  # noqa: E402


def cache_dir() -> Path:
    base = os.environ.get("FPD_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "flyteplugd")
    return Path(base)


def checker() -> Path:
    """pod_bodies_go built from its pinned go.sum (cached under $FPD_CACHE_DIR/tools)."""
    src = HERE / "pod_bodies_go"
    tools = cache_dir() / "tools"
    tools.mkdir(parents=True, exist_ok=True)
    stamp = (src / "go.sum").read_bytes() + (src / "main.go").read_bytes()
    binary, stamp_file = tools / "pod-bodies-go", tools / "pod-bodies-go.stamp"
    if not binary.exists() or not stamp_file.exists() or stamp_file.read_bytes() != stamp:
        subprocess.run(["go", "build", "-o", str(binary), "."], cwd=src, check=True, timeout=900,
                       env={**os.environ, "GOFLAGS": "-mod=readonly"})
        stamp_file.write_bytes(stamp)
    return binary


def test_protobuf_bodies_decode_as_their_json(tmp_path):
    build = Path(os.environ.get("FPD_BIN", ROOT / "build" / "daemon" / "flyteplugd")).resolve()
    pairs_tool = build.parents[1] / "tests" / "unit" / "kube" / "kubepb_pairs"
    assert pairs_tool.exists(), f"{pairs_tool} is built with the tests (FPD_TESTS=ON)"
    seeds_kubepb_encode.main(tmp_path)
    out = subprocess.run([str(pairs_tool), str(tmp_path)], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    encoded = int(re.search(r"^encoded (\d+), left to JSON (\d+)$", out.stdout, re.M).group(1))
    # most fixture pods go in protobuf; those left to JSON hold times (pods with a status)
    assert encoded >= 100, out.stdout
    left = re.findall(r"^\S+: left to JSON: (.*)$", out.stdout, re.M)
    assert all("a time or raw JSON" in why for why in left), left
    r = subprocess.run([str(checker()), str(tmp_path)], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout[-20000:] + r.stderr[-5000:]
    assert re.search(rf"^{encoded} pairs, 0 differ;", r.stdout, re.M), r.stdout
