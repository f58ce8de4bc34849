"""A declaration is served only once the daemon's own identity may use its resource, and only
once the API server serves it. The daemon authenticates as a ServiceAccount with a bound token
(the API server of tests/cluster authorizes with RBAC), granted what it needs for itself and for
JobSets but not for batch Jobs: a Job type is refused with MissingRBAC (the verb, the resource
and the namespace in its message) while the JobSet type is served; granting the Role makes the
Job type served without touching its FlyteTaskType. The same holds for declarations of the
configuration (logged, not served, then served). A type whose CRD is missing is refused with
ResourceNotFound and served within seconds of the CRD being applied."""
from __future__ import annotations

import os
import re
import time
import urllib.request
import uuid

from pathlib import Path

import pytest
import yaml

import engine_conftest
from operator_helpers import PHASE, CrdTask, create
from test_live import (TT_CRD, accepted, apply, categories, declaration, kdelete, kubectl,  # noqa: F401
                       wait_listed)
from test_tasktypes import template

ROOT = engine_conftest.ROOT
RBAC = "/apis/rbac.authorization.k8s.io/v1"
ALL_VERBS = ["create", "get", "list", "watch", "patch", "delete"]
# Re-checks come after 1 s, then twice the previous wait, at most 10 s (tasktypes.h): a
# permission granted or a CRD applied is seen within 10 s, plus the check itself.
SEEN_WITHIN_S = 20.0
UPSTREAM = Path(os.environ.get("FPD_UPSTREAM_CRDS", ROOT.parent / "shared" / "upstream" / "crds"))
PODGROUP_CRD = UPSTREAM / "volcano-v1.15.1" / "scheduling.volcano.sh_podgroups.yaml"
JOB = CrdTask("batch", "v1", "jobs", "rbac-job")


class Identity:
    """A ServiceAccount of its own namespace with a kubeconfig holding a bound token."""

    def __init__(self, cluster, tmp_path):
        self.cluster = cluster
        self.ns = cluster.new_namespace("fpd-sa")
        self.name = "flyteplugd"
        self.tag = uuid.uuid4().hex[:8]
        cluster.must("POST", f"/api/v1/namespaces/{self.ns}/serviceaccounts",
                     {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": self.name}})
        self.subject = [{"kind": "ServiceAccount", "name": self.name, "namespace": self.ns}]
        self.created = []
        # What the daemon needs for itself and for the JobSet type: not batch Jobs.
        self.cluster_role("base", [
            {"apiGroups": [""], "resources": ["pods"], "verbs": ALL_VERBS},
            {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
            {"apiGroups": ["flyteplugd.flyte.org"], "resources": ["flytetasktypes"],
             "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["flyteplugd.flyte.org"], "resources": ["flytetasktypes/status"],
             "verbs": ["get", "patch", "update"]},
            {"apiGroups": ["jobset.x-k8s.io"], "resources": ["jobsets"], "verbs": ALL_VERBS},
        ])
        token = cluster.token_for(self.name, self.ns)
        self.kubeconfig = tmp_path / "restricted.kubeconfig"
        self.kubeconfig.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "sa",
            "clusters": [{"name": "c", "cluster": {"server": cluster.server,
                                                   "certificate-authority": cluster.ca_file}}],
            "users": [{"name": "sa", "user": {"token": token}}],
            "contexts": [{"name": "sa", "context": {"cluster": "c", "user": "sa",
                                                    "namespace": self.ns}}]}))

    def cluster_role(self, what, rules):
        name = f"fpd-e2e-{what}-{self.tag}"
        self.cluster.must("POST", f"{RBAC}/clusterroles", {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": name}, "rules": rules})
        self.cluster.must("POST", f"{RBAC}/clusterrolebindings", {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": name}, "subjects": self.subject,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": name}})
        self.created += [f"{RBAC}/clusterrolebindings/{name}", f"{RBAC}/clusterroles/{name}"]

    def role(self, ns, rules):
        """A Role and RoleBinding in ns only."""
        name = f"fpd-e2e-{self.tag}"
        self.cluster.must("POST", f"{RBAC}/namespaces/{ns}/roles", {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": name}, "rules": rules})
        self.cluster.must("POST", f"{RBAC}/namespaces/{ns}/rolebindings", {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": name}, "subjects": self.subject,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name}})

    def cleanup(self):
        for path in self.created:
            self.cluster.request("DELETE", path)


JOBS_RULE = [{"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ALL_VERBS}]


@pytest.fixture
def identity(cluster, upstream_crds, tmp_path):
    cluster.install_crds([str(TT_CRD)])
    ident = Identity(cluster, tmp_path)
    yield ident
    ident.cleanup()


def restricted_daemon(ident, tmp_path, extra_yaml="", watch=None):
    """A daemon authenticating as ident, serving the pod and crd plugins."""
    wd = tmp_path / "restricted"
    wd.mkdir()
    ns_yaml = f"namespaces:\n  watch: [{watch}]\n" if watch else ""
    d = engine_conftest.Daemon(wd, type("C", (), {"kubeconfig": str(ident.kubeconfig)}),
                               admin=True,
                               extra_yaml="plugins:\n  enabled: [pod, crd]\n" + extra_yaml + ns_yaml)
    return d.start()


def config_refused(d):
    """flyteplugd_tasktypes_config_refused from the daemon's /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{d.admin_port}/metrics", timeout=5) as r:
        text = r.read().decode()
    m = re.search(r"^flyteplugd_tasktypes_config_refused (\d+)$", text, re.M)
    assert m, text
    return int(m.group(1))


def job_declaration(name):
    doc = yaml.safe_load((ROOT / "examples" / "tasktypes" / "batch-job.yaml").read_text())
    doc["metadata"] = {"name": name}
    doc["spec"]["taskType"] = {"name": name, "version": 0}
    return doc


def wait_condition(cluster, name, status, reason, timeout=SEEN_WITHIN_S):
    """The Accepted condition of name once it has status and reason; fails past timeout."""
    t0 = time.monotonic()
    while True:
        c = accepted(cluster, name)
        if (c["status"], c["reason"]) == (status, reason):
            return c, time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            pytest.fail(f"{name}: Accepted is not {status}/{reason} after {timeout} s: {c}")
        time.sleep(0.2)


def test_missing_rbac_then_granted(cluster, identity, kubectl, tmp_path):
    """Live declarations under a restricted identity that watches one namespace."""
    ns = cluster.new_namespace("rbac")
    d = restricted_daemon(identity, tmp_path, watch=ns)
    try:
        apply(kubectl, cluster, job_declaration("rbac-job"))
        apply(kubectl, cluster, declaration("rbac-jobset"))
        c, _ = wait_condition(cluster, "rbac-job", "False", "MissingRBAC")
        assert c.get("location") == "spec.resource", c
        assert f'may not create jobs.batch in namespace "{ns}"' in c["message"], c
        # The other declared type is unaffected.
        c2, _ = wait_condition(cluster, "rbac-jobset", "True", "Declared")
        wait_listed(d, ("rbac-jobset", 0))
        assert ("rbac-job", 0) not in categories(d), d.tail()

        # Granting a Role in the namespace serves the type; its FlyteTaskType is not edited.
        gen = cluster.must("GET", cluster.resource_path(
            "flyteplugd.flyte.org", "v1alpha1", "flytetasktypes", None, "rbac-job"))["metadata"]["generation"]
        identity.role(ns, JOBS_RULE)
        c, took = wait_condition(cluster, "rbac-job", "True", "Declared")
        print(f"served {took:.1f} s after the Role was granted")
        assert c["observedGeneration"] == gen, c
        wait_listed(d, ("rbac-job", 0))
        # ... and runs tasks under that identity.
        meta = create(d, ns, "rj", template("rbac-job", {"backoffLimit": 0}))
        JOB.wait_phase(d, meta, PHASE.QUEUED)
        assert JOB.names(cluster, ns) == ["rj-n0-0"], d.tail()
    finally:
        kdelete(kubectl, cluster, "rbac-job")
        kdelete(kubectl, cluster, "rbac-jobset")
        d.stop()


def test_config_declarations_checked_at_start(cluster, identity, tmp_path):
    """Declarations of the configuration: refused ones are logged and not served, the others
    are; one granted later is served then."""
    tdir = tmp_path / "types"
    tdir.mkdir()
    (tdir / "job.yaml").write_text(yaml.safe_dump(job_declaration("cfg-job")))
    (tdir / "jobset.yaml").write_text(yaml.safe_dump(declaration("cfg-jobset")))
    d = restricted_daemon(identity, tmp_path,
                          extra_yaml=f"  settings:\n    crd:\n      dir: \"{tdir}\"\n")
    try:
        deadline = time.monotonic() + SEEN_WITHIN_S
        while "task type cfg-job of the configuration not served (MissingRBAC)" not in d.tail(400):
            assert time.monotonic() < deadline, d.tail()
            time.sleep(0.1)
        assert "may not create jobs.batch in all namespaces" in d.tail(400), d.tail()
        assert ("cfg-job", 0) not in categories(d)
        assert ("cfg-jobset", 0) in categories(d), d.tail()
        assert config_refused(d) == 1

        identity.cluster_role("jobs", JOBS_RULE)
        took = wait_listed(d, ("cfg-job", 0), timeout=SEEN_WITHIN_S)
        print(f"served {took:.1f} s after the ClusterRole was granted")
        assert "task type cfg-job of the configuration served" in d.tail(400), d.tail()
        assert config_refused(d) == 0
    finally:
        d.stop()


@pytest.fixture
def no_podgroup_crd(cluster):
    """The Volcano PodGroup CRD, absent at the start of the test (deleted if a previous run
    left it) and deleted at its end."""
    if not PODGROUP_CRD.is_file():
        pytest.fail(f"upstream CRD not found (set FPD_UPSTREAM_CRDS): {PODGROUP_CRD}")
    path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/podgroups.scheduling.volcano.sh"
    cluster.request("DELETE", path)
    deadline = time.monotonic() + 60
    while cluster.request("GET", "/apis/scheduling.volcano.sh/v1beta1")[0] != 404:
        assert time.monotonic() < deadline, "the PodGroup CRD is still served"
        time.sleep(0.2)
    yield
    cluster.request("DELETE", path)


def test_missing_crd_then_applied(cluster, upstream_crds, no_podgroup_crd, kubectl, tmp_path):
    """A type whose CRD is missing is ResourceNotFound, then served once the CRD is applied."""
    cluster.install_crds([str(TT_CRD)])
    wd = tmp_path / "admin"
    wd.mkdir()
    d = engine_conftest.Daemon(wd, cluster).start()
    try:
        doc = job_declaration("late-podgroup")
        doc["spec"]["resource"] = {"apiVersion": "scheduling.volcano.sh/v1beta1",
                                   "kind": "PodGroup", "plural": "podgroups"}
        apply(kubectl, cluster, doc)
        c, _ = wait_condition(cluster, "late-podgroup", "False", "ResourceNotFound")
        assert "serves no kind PodGroup in scheduling.volcano.sh/v1beta1" in c["message"], c
        assert ("late-podgroup", 0) not in categories(d)
        time.sleep(2)  # a few re-checks go by while it is still missing
        cluster.install_crds([str(PODGROUP_CRD)])
        c, took = wait_condition(cluster, "late-podgroup", "True", "Declared")
        print(f"served {took:.1f} s after the CRD was established")
        wait_listed(d, ("late-podgroup", 0))
        kdelete(kubectl, cluster, "late-podgroup")
    finally:
        d.stop()
