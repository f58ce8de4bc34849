"""A declared task type with `kueue: {suspend: spec.suspend}` (examples/tasktypes/jobset.yaml)
under queueing.kueue: the JobSet is stored under JobSet's published CRD with Kueue's queue label
and suspended; GetTask reports WAITING_FOR_RESOURCES until Kueue's admission (spec.suspend false,
as Kueue writes it), then the declaration's own rules, and a retryable failure when Kueue
suspends it again. A declaration whose kueue.suspend is not a path is refused."""
from __future__ import annotations

import subprocess

import engine_conftest
import pytest

from operator_helpers import PHASE, create
from test_tasktypes import JOBSET, cond, template

QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
ROOT = engine_conftest.ROOT


@pytest.fixture
def kueue_crd_daemon(cluster, tmp_path):
    wd = tmp_path / "kq-crd-daemon"
    wd.mkdir()
    d = engine_conftest.Daemon(wd, cluster, extra_yaml=(
        "plugins:\n  settings:\n    crd:\n"
        f"      dir: \"{ROOT / 'examples' / 'tasktypes'}\"\n"
        "queueing:\n  kueue:\n    queues:\n      \"*\": team-queue\n"))
    d.start()
    yield d
    d.stop()


def test_declared_jobset_held_admitted_evicted(cluster, upstream_crds, kueue_crd_daemon):
    d = kueue_crd_daemon
    ns = cluster.new_namespace("ttkq")
    meta = create(d, ns, "ttkq", template("jobset", {"replicas": 2, "maxRestarts": 1}),
                  engine_conftest.execution_metadata(ns, "ttkq"))
    name = "ttkq-n0-0"
    js = JOBSET.stored(cluster, ns, name)
    assert js is not None, d.tail()
    assert js["metadata"]["labels"][QUEUE_LABEL] == "team-queue" and js["spec"]["suspend"] is True, js
    JOBSET.wait_phase(d, meta, PHASE.WAITING_FOR_RESOURCES, "waiting for Kueue admission in queue team-queue")
    path = JOBSET.path(cluster, ns, name)
    cluster.must("PATCH", path, {"spec": {"suspend": False}}, "application/merge-patch+json")
    JOBSET.patch(cluster, ns, name, {"conditions": [cond("Suspended", "False", "resumed")],
                                     "replicatedJobsStatus": [{"name": "workers", "active": 2, "ready": 2,
                                                               "succeeded": 0, "failed": 0, "suspended": 0}]})
    JOBSET.wait_phase(d, meta, PHASE.RUNNING)
    cluster.must("PATCH", path, {"spec": {"suspend": True}}, "application/merge-patch+json")
    r = JOBSET.wait_for(d, meta, lambda r: r.phase == PHASE.RETRYABLE_FAILED, "a retryable failure")
    assert "evicted by Kueue from queue team-queue: the JobSet was suspended while it ran" in r.message, r.message


def test_bad_kueue_suspend_is_refused(tmp_path):
    decl = (ROOT / "examples" / "tasktypes" / "jobset.yaml").read_text().replace(
        "kueue: {suspend: spec.suspend}", "kueue: {suspend: \"spec.$suspend\"}")
    (tmp_path / "types").mkdir()
    (tmp_path / "types" / "jobset.yaml").write_text(decl)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"plugins:\n  settings:\n    crd:\n      dir: \"{tmp_path / 'types'}\"\n")
    out = subprocess.run([engine_conftest.BIN, "check-config", str(cfg)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode != 0 and "spec.kueue.suspend: expected a dotted path" in out.stderr, (out.returncode,
                                                                                              out.stderr)
