#!/usr/bin/env python3
"""How long the real FlytePropeller v1.16.8 takes to see a finished task through flyteplugd: from
the moment a task's pod turns Succeeded (written as the kubelet would) to the moment propeller
records the node as Succeeded in its FlyteWorkflow, with the flyte-binary overlay's tuned
connector webApi settings, with the connector's defaults (10 qps reads, 30 s resync), and with
the tuned settings plus a shorter workflow re-evaluation period.

Reuses the propeller tier's fixtures (tests/propeller/conftest.py): the real kube-apiserver, the
real flyteplugd ($FPD_BIN), propeller built by tests/propeller/build.sh."""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "propeller"))

import propeller_tier as tier  # noqa: E402
import propeller_workflows as workflows  # noqa: E402

# connector-service's own defaults (flyteplugins webapi/connector/config.go), written out so
# that the overlay's tuned block is replaced by them.
DEFAULTS = {"readRateLimiter": {"qps": 10, "burst": 100}, "writeRateLimiter": {"qps": 10, "burst": 100},
            "caching": {"size": 500000, "resyncInterval": "30s", "workers": 10, "maxSystemFailures": 5},
            "resourceQuotas": {"default": 1000}}


def sample(propeller, daemon, cluster, name, pause: float) -> float:
    ns = cluster.new_namespace("bench")
    propeller.create(ns, name, workflows.closure(workflows.single))
    ex = tier.Execution(propeller, daemon, ns, name)
    pod = ex.pod()
    tier.start_pod(cluster, pod)
    ex.wait(lambda wf: tier.task_phase(wf, "n0") == "Running", "task n0 Running", timeout=120)
    # Propeller saw Running at one of its workflow rounds: without a pause every sample would
    # start at the same point of the round (the worst case); a pod finishes at any time.
    time.sleep(pause)
    t0 = time.monotonic()
    tier.finish_pod(cluster, pod)
    deadline = t0 + 120
    while tier.node_phase(propeller.workflow(ns, name), "n0") != "Succeeded":
        if time.monotonic() > deadline:
            raise AssertionError(f"node n0 not Succeeded after 120 s\n{ex.diagnose()}")
        time.sleep(0.05)
    return time.monotonic() - t0


# (label, connector webApi block (None: the overlay's), propeller section overrides)
VARIANTS = [
    ("tuned", None, {}),
    ("defaults", DEFAULTS, {}),
    # propeller re-evaluates a workflow every workflow-reeval-duration (10 s by default); the
    # connector's cache does not wake the workflow when a task's phase changes.
    ("tuned-reeval2s", None, {"workflow-reeval-duration": "2s"}),
]


def measure(label, webapi, overrides, cluster, daemon, bin_dir, samples, work: Path, pauses,
            max_pause: float) -> list[float]:
    wd = work / label
    wd.mkdir()
    p = tier.Propeller(wd, cluster, bin_dir, f"dns:///127.0.0.1:{daemon.port}", webapi, overrides).start()
    try:
        got = []
        for i in range(samples):
            pause = pauses.uniform(0, max_pause)
            got.append(sample(p, daemon, cluster, f"{label}{i}", pause))
            print(f"{label} sample {i}: {got[-1]:.2f} s (after a {pause:.1f} s pause)", flush=True)
        return got
    finally:
        p.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1, help="of the pauses before a pod finishes")
    ap.add_argument("--max-pause", type=float, default=10.0,
                    help="pauses are uniform in [0, max-pause] s (0: none, the worst case)")
    ap.add_argument("--variants", nargs="+", default=[v[0] for v in VARIANTS],
                    choices=[v[0] for v in VARIANTS])
    args = ap.parse_args()
    out = tier.subprocess.run(["bash", str(tier.BUILD_SH)], capture_output=True, text=True)
    if out.returncode != 0:
        print(out.stderr, file=sys.stderr)
        return 1
    bin_dir = Path(out.stdout.strip().splitlines()[-1])
    with tempfile.TemporaryDirectory(prefix="fpd-bench-propeller-") as tmp:
        work = Path(tmp)
        with tier.engine_conftest.Cluster(workdir=work / "cluster") as cluster:
            (work / "daemon").mkdir()
            daemon = tier.engine_conftest.Daemon(work / "daemon", cluster).start()
            try:
                results = {label: measure(label, webapi, overrides, cluster, daemon, bin_dir, args.samples, work,
                                          random.Random(args.seed), args.max_pause)
                           for label, webapi, overrides in VARIANTS if label in args.variants}
            finally:
                daemon.stop()
    print("\npod Succeeded -> propeller node Succeeded (s)")
    for label, xs in results.items():
        print(f"{label:15s} n={len(xs)} min {min(xs):.2f} median {statistics.median(xs):.2f} "
              f"max {max(xs):.2f}  all {' '.join(f'{x:.2f}' for x in xs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
