"""Declared task types get the Pod Security Standards check of every plugin: the pod specs of
the built object are found by their shape (docs/task-types.md), so a privileged container in a
declared Job type is refused with PodSecurityViolation and nothing is created, while a compliant
task of the same type is created; a pod spec a custom field brings whole is checked too."""
from __future__ import annotations

import re

import yaml

import engine_conftest
from operator_helpers import PHASE, CrdTask, create
from test_tasktypes import template

ROOT = engine_conftest.ROOT
JOB = CrdTask("batch", "v1", "jobs", "pss-job")
VIOLATION = (r'PodSecurityViolation: refused by policy\.pod_security, nothing was created: '
             r'pod security "baseline": {where}: container "main": .*\(check: privileged\)')


def job_type(name, manifest):
    doc = yaml.safe_load((ROOT / "examples" / "tasktypes" / "batch-job.yaml").read_text())
    doc["metadata"] = {"name": name}
    doc["spec"]["taskType"] = {"name": name, "version": 0}
    doc["spec"]["manifest"] = manifest
    return doc


# The container's securityContext comes from the task's custom field.
FIELD = """spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: main
          image: {{ .container.image }}
          securityContext: {privileged: {{ .custom.privileged }}}
"""
# The whole pod template comes from the task's custom field.
WHOLE = """spec:
  backoffLimit: 0
  template: {{ .custom.template }}
"""


def test_privileged_container_refused(cluster, tmp_path):
    tdir = tmp_path / "types"
    tdir.mkdir()
    (tdir / "field.yaml").write_text(yaml.safe_dump(job_type("pss-job", FIELD)))
    (tdir / "whole.yaml").write_text(yaml.safe_dump(job_type("pss-whole", WHOLE)))
    wd = tmp_path / "d"
    wd.mkdir()
    d = engine_conftest.Daemon(wd, cluster, extra_yaml=(
        f"plugins:\n  settings:\n    crd:\n      dir: \"{tdir}\"\n")).start()
    try:
        ns = cluster.new_namespace("pss-crd")
        meta = create(d, ns, "priv", template("pss-job", {"privileged": True}))
        r = JOB.get(d, meta)
        assert r.phase == PHASE.FAILED, (r.message, d.tail())
        assert re.fullmatch(VIOLATION.format(where=r"spec\.template\.spec"), r.message), r.message
        pod = {"spec": {"restartPolicy": "Never", "containers": [
            {"name": "main", "image": "busybox", "securityContext": {"privileged": True}}]}}
        meta = create(d, ns, "whole", template("pss-whole", {"template": pod}))
        r = JOB.get(d, meta)
        assert r.phase == PHASE.FAILED, (r.message, d.tail())
        assert re.fullmatch(VIOLATION.format(where=r"spec\.template\.spec"), r.message), r.message
        assert JOB.names(cluster, ns) == [], d.tail()

        # Compliant tasks of the same types run.
        meta = create(d, ns, "plain", template("pss-job", {"privileged": False}))
        JOB.wait_phase(d, meta, PHASE.QUEUED)
        pod["spec"]["containers"][0]["securityContext"]["privileged"] = False
        meta = create(d, ns, "whole2", template("pss-whole", {"template": pod}))
        JOB.wait_phase(d, meta, PHASE.QUEUED)
        assert JOB.names(cluster, ns) == ["plain-n0-0", "whole2-n0-0"], d.tail()
    finally:
        d.stop()
