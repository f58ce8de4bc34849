#!/usr/bin/env python3
"""Seeds for fuzz_kubepb_encode, written into the directory given: every pod of the fixtures
(the objects the pod plugin builds, tests/fixtures/pod/build/, and pods in many states,
tests/fixtures/*/status/) and every pod template inside the operators' objects, as a pod."""
import json
import sys
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def pods(v):
    """Pods and pod templates (as pods) anywhere in v."""
    if isinstance(v, dict):
        if v.get("kind") == "Pod" or (isinstance(v.get("spec"), dict) and "containers" in v["spec"]):
            yield {"apiVersion": "v1", "kind": "Pod", **{k: x for k, x in v.items()
                                                         if k in ("metadata", "spec", "status")}}
        for x in v.values():
            yield from pods(x)
    elif isinstance(v, list):
        for x in v:
            yield from pods(x)


def main(out: Path):
    out.mkdir(parents=True, exist_ok=True)
    n = 0
    for f in sorted(FIXTURES.glob("*/build/*.json")) + sorted(FIXTURES.glob("*/status/*.json")):
        for i, pod in enumerate(pods(json.loads(f.read_text()))):
            (out / f"{f.parent.parent.name}-{f.parent.name}-{f.stem}-{i}.json").write_text(
                json.dumps(pod))
            n += 1
    if n < 20:
        sys.exit(f"only {n} pods found in the fixtures")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
