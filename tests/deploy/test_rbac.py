"""The RBAC of every mode and component, applied to a real kube-apiserver that authorizes with
RBAC (tests/cluster runs --authorization-mode=Node,RBAC), grants flyteplugd's ServiceAccount
exactly what the daemon uses and nothing else, checked with `kubectl auth can-i` as that
ServiceAccount."""
from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from deploylib import FAMILIES, ROOT

SA = "system:serviceaccount:flyte:flyteplugd"
RBAC_KINDS = {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}
OWN = ["create", "get", "list", "watch", "patch", "delete"]
# Granted to every authenticated user (system:basic-user).
SELF_REVIEWS = {"selfsubjectreviews.authentication.k8s.io", "selfsubjectaccessreviews.authorization.k8s.io",
                "selfsubjectrulesreviews.authorization.k8s.io"}
TASK_NS = "tasks-a"
OTHER_NS = "tasks-b"


@pytest.fixture(scope="module")
def operator_crds(cluster):
    """The operators' own CRDs (tests/cluster/crds), so that `kubectl auth can-i` resolves
    their resources as a user's kubectl would."""
    paths = []
    for op in sorted(FAMILIES):  # each family's tests/cluster/crds/<family>.sh
        out = subprocess.run(["bash", str(ROOT / "tests" / "cluster" / "crds" / f"{op}.sh")],
                             capture_output=True, text=True, timeout=900)
        got = out.stdout.split()
        assert out.returncode == 0 and got, f"{op}.sh could not obtain the CRDs: {out.stderr[-600:]}"
        paths += got
    return cluster.install_crds(paths)


@pytest.fixture(scope="module")
def namespaces(kube, operator_crds):
    for ns in ("flyte", TASK_NS, OTHER_NS, "flytesnacks-development", "flytesnacks-staging",
               "flytesnacks-production"):
        out = kube("create", "namespace", ns, check=False)
        assert out.returncode == 0 or "AlreadyExists" in out.stderr, out.stderr


@pytest.fixture
def apply_rbac(render, kube, namespaces):
    """apply_rbac(path, components): creates the set's RBAC objects for real; removed after."""
    applied = []

    def run(path, components=()):
        docs = [d for d in render(path, components) if d["kind"] in RBAC_KINDS]
        text = yaml.safe_dump_all(docs)
        kube("apply", "--server-side", "--field-manager=flyteplugd-tests", "-f", "-", input=text)
        applied.append(text)
        return docs

    yield run
    for text in applied:
        kube("delete", "--ignore-not-found", "--wait=true", "-f", "-", input=text)


def can_i(kube, verb, resource, ns=None, subresource=None, all_namespaces=False) -> bool:
    args = ["auth", "can-i", verb, resource, f"--as={SA}"]
    if subresource:
        args.append(f"--subresource={subresource}")
    args += ["--all-namespaces"] if all_namespaces else (["-n", ns] if ns else [])
    out = kube(*args, check=False)
    assert out.stdout.strip() in ("yes", "no"), f"kubectl {' '.join(args)}: {out.stdout}{out.stderr}"
    return out.stdout.strip() == "yes"


LINE = re.compile(r"^(\S*)\s+\[(.*?)\]\s+\[(.*?)\]\s+\[(.*?)\]\s*$")


def rules_in(kube, ns, who=SA) -> dict:
    """`kubectl auth can-i --list` in ns as flyteplugd: {(resource, resourceNames): verbs},
    without non-resource URLs (discovery) and without what every ServiceAccount may do (the
    rules of an unbound ServiceAccount, e.g. the self-reviews)."""
    baseline = {} if who != SA else rules_in(kube, ns, "system:serviceaccount:flyte:unbound")
    out = kube("auth", "can-i", "--list", f"--as={who}", "-n", ns)
    rules: dict = {}
    for line in out.stdout.splitlines()[1:]:
        m = LINE.match(line)
        assert m, f"unexpected line in can-i --list: {line!r}"
        res, _urls, names, verbs = m.groups()
        if not res:
            continue
        key = (res, names)
        rules[key] = sorted(set(rules.get(key, [])) | set(verbs.split()))
    if who == SA:
        assert SELF_REVIEWS <= {r for r, _ in baseline}, baseline  # the baseline is what it claims
        for key, verbs in baseline.items():
            if rules.get(key) == verbs:
                del rules[key]
    return rules


def expected(families, own_namespace: bool) -> dict:
    want = {("pods", ""): sorted(OWN), ("pods/log", ""): ["get"], ("events", ""): ["create", "patch"]}
    for f in families:
        for group, res in FAMILIES[f]:
            want[(f"{res}.{group}", "")] = sorted(OWN)
    if own_namespace:
        want[("leases.coordination.k8s.io", "")] = sorted(["get", "create", "update"])
        want[("secrets", "flyteplugd-signing-key")] = ["get"]
        want[("secrets", "")] = ["create"]  # the first replica creates the key's Secret
    return want


def test_base_grants_exactly_what_the_daemon_uses(kube, apply_rbac):
    apply_rbac("base")
    assert rules_in(kube, TASK_NS) == expected([], False)
    assert rules_in(kube, "flyte") == expected([], True)
    for verb in OWN:
        assert can_i(kube, verb, "pods", TASK_NS), verb
    assert can_i(kube, "get", "pods", TASK_NS, subresource="log")
    assert can_i(kube, "create", "events", TASK_NS) and can_i(kube, "patch", "events", TASK_NS)
    assert can_i(kube, "create", "leases.coordination.k8s.io", "flyte")
    assert can_i(kube, "get", "secrets/flyteplugd-signing-key", "flyte")
    assert can_i(kube, "create", "secrets", "flyte")
    # ... and nothing else.
    denied = [("update", "pods", TASK_NS), ("deletecollection", "pods", TASK_NS),
              ("create", "pods", TASK_NS, "exec"), ("create", "pods", TASK_NS, "eviction"),
              ("update", "pods", TASK_NS, "status"),
              ("get", "secrets", TASK_NS), ("list", "secrets", "flyte"),
              ("get", "secrets/other", "flyte"), ("get", "configmaps", TASK_NS),
              ("create", "leases.coordination.k8s.io", TASK_NS),
              ("patch", "leases.coordination.k8s.io", "flyte"),
              ("create", "secrets", TASK_NS), ("update", "secrets/flyteplugd-signing-key", "flyte"),
              ("get", "nodes", None), ("list", "nodes", None), ("list", "namespaces", None),
              ("create", "clusterroles.rbac.authorization.k8s.io", None),
              ("create", "clusterrolebindings.rbac.authorization.k8s.io", None),
              ("create", "roles.rbac.authorization.k8s.io", TASK_NS),
              ("create", "rolebindings.rbac.authorization.k8s.io", "flyte"),
              ("escalate", "clusterroles.rbac.authorization.k8s.io", None),
              ("bind", "clusterroles.rbac.authorization.k8s.io", None),
              ("create", "deployments.apps", TASK_NS), ("create", "serviceaccounts/token", TASK_NS),
              ("create", "sparkapplications.sparkoperator.k8s.io", TASK_NS),
              ("create", "rayjobs.ray.io", TASK_NS),
              ("create", "jobsets.jobset.x-k8s.io", TASK_NS)]
    granted = [d for d in denied if can_i(kube, *d)]
    assert granted == [], f"the base grants more than the daemon uses: {granted}"


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_component_grants_exactly_its_kinds(kube, apply_rbac, family):
    apply_rbac("base", (family,))
    assert rules_in(kube, TASK_NS) == expected([family], False)
    for group, res in FAMILIES[family]:
        for verb in OWN:
            assert can_i(kube, verb, f"{res}.{group}", TASK_NS), (verb, res)
        assert not can_i(kube, "update", f"{res}.{group}", TASK_NS)
        assert not can_i(kube, "patch", f"{res}.{group}", TASK_NS, subresource="status")
    for other in set(FAMILIES) - {family}:
        for group, res in FAMILIES[other]:
            assert not can_i(kube, "create", f"{res}.{group}", TASK_NS), (family, res)


def test_flyte_overlay_grants_every_family(kube, apply_rbac):
    apply_rbac("overlays/flyte-binary")
    assert rules_in(kube, TASK_NS) == expected(sorted(FAMILIES), False)
    assert rules_in(kube, "flyte") == expected(sorted(FAMILIES), True)
    assert not can_i(kube, "create", "rayclusters.ray.io", TASK_NS)  # KubeRay's, not ours


def test_namespaced_mode_grants_only_the_listed_namespaces(kube, apply_rbac):
    apply_rbac("overlays/namespaced")
    for ns in ("flytesnacks-development", "flytesnacks-staging", "flytesnacks-production"):
        assert rules_in(kube, ns) == expected(sorted(FAMILIES), False), ns
        assert can_i(kube, "create", "pods", ns)
    for ns in (TASK_NS, "default"):
        assert not can_i(kube, "create", "pods", ns), ns
        assert not can_i(kube, "list", "pods", ns), ns
        assert not can_i(kube, "create", "sparkapplications.sparkoperator.k8s.io", ns), ns
    assert not can_i(kube, "list", "pods", all_namespaces=True)
    assert not can_i(kube, "watch", "rayjobs.ray.io", all_namespaces=True)
    # Its own namespace keeps the Leases and the signing key, nothing more.
    assert rules_in(kube, "flyte") == {k: v for k, v in expected([], True).items()
                                       if k[0] in ("leases.coordination.k8s.io", "secrets")}
