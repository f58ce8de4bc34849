"""The plugin template's kustomize component (examples/plugin-template/kustomize) on
flyteplugd's base, rendered by kubectl kustomize and applied to the real API server: the
ClusterRole gains exactly the Job verbs the daemon uses, and the Deployment an init container
that fills the plugins folder the daemon container mounts."""
from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
import yaml

from sdklib import ROOT

sys.path.insert(0, str(ROOT / "tests" / "cluster"))
from cluster import build_binaries  # noqa: E402


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    # kustomize refuses absolute paths and files above a kustomization's root: render a copy.
    tmp = tmp_path_factory.mktemp("kustomize")
    shutil.copytree(ROOT / "kustomize", tmp / "kustomize")
    shutil.copytree(ROOT / "examples" / "plugin-template" / "kustomize", tmp / "myjob")
    (tmp / "top").mkdir()
    (tmp / "top" / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "resources": ["../kustomize/base"], "components": ["../myjob"]}))
    kubectl = build_binaries() / "kubectl"
    r = subprocess.run([str(kubectl), "kustomize", str(tmp / "top")], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(r.stdout) if d}


def test_component_grants_the_job_verbs(rendered):
    role = rendered[("ClusterRole", "flyteplugd")]
    jobs = [r for r in role["rules"] if "jobs" in r.get("resources", [])]
    assert jobs == [{"apiGroups": ["batch"], "resources": ["jobs"],
                     "verbs": ["create", "get", "list", "watch", "patch", "delete"]}], jobs


def test_component_ships_the_module_to_plugins_dir(rendered):
    pod = rendered[("Deployment", "flyteplugd")]["spec"]["template"]["spec"]
    init = pod["initContainers"]
    assert [c["name"] for c in init] == ["myjob-plugin"], init
    assert init[0]["command"] == ["cp", "/myjob.so", "/plugins/myjob.so"]
    assert init[0]["volumeMounts"] == [{"name": "plugins", "mountPath": "/plugins"}]
    daemon = pod["containers"][0]
    mount = [m for m in daemon["volumeMounts"] if m["name"] == "plugins"]
    assert mount == [{"name": "plugins", "mountPath": "/etc/flyteplugd/plugins", "readOnly": True}]
    assert {"name": "plugins", "emptyDir": {}} in pod["volumes"]


def test_rendered_deployment_is_accepted_by_the_api_server(cluster, rendered):
    dep = rendered[("Deployment", "flyteplugd")]
    ns = cluster.new_namespace("myjobdeploy")
    dep["metadata"]["namespace"] = ns
    status, obj = cluster.request("POST", f"/apis/apps/v1/namespaces/{ns}/deployments?dryRun=All", dep)
    assert status == 201, obj
