#!/usr/bin/env python3
"""Seeds for fuzz_status, written into the directory given: every object (and its pods) of the
plugins' status fixtures (tests/fixtures/*/status/), as {"object": ..., "pods": [...]}."""
import json
import sys
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def main(out: Path):
    out.mkdir(parents=True, exist_ok=True)
    n = 0
    for f in sorted(FIXTURES.glob("*/status/*.json")):
        doc = json.loads(f.read_text())
        if not isinstance(doc, dict):
            continue
        for i, case in enumerate(doc.get("cases", [doc])):
            obj = case.get("object", case.get("pod"))
            if not isinstance(obj, dict):
                continue
            seed = {"object": obj, "pods": case.get("pods", [])}
            (out / f"{f.parent.parent.name}-{f.stem}-{i}.json").write_text(json.dumps(seed))
            n += 1
    if n == 0:
        sys.exit("no status fixtures found")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
