"""kustomize/ renders in every overlay and mode, with the fields the deployment relies on;
the configuration files it ships are valid flyteplugd configurations."""
from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from deploylib import BIN, FAMILIES, KUSTOMIZE, OVERLAYS, find

DEPRECATED = {"commonLabels", "patchesStrategicMerge", "patchesJson6902", "bases", "vars",
              "imageTags", "commonAnnotations"}


def test_no_deprecated_kustomize_fields():
    files = sorted(KUSTOMIZE.rglob("kustomization.yaml"))
    assert len(files) >= 12, files
    for f in files:
        doc = yaml.safe_load(f.read_text())
        bad = DEPRECATED & set(doc)
        assert not bad, f"{f.relative_to(KUSTOMIZE)} uses deprecated fields {bad}"
        assert doc["kind"] in ("Kustomization", "Component"), f
        if doc["kind"] == "Component":
            assert f.parent.parent.name == "components", f"{f}: a Component outside components/"


@pytest.mark.parametrize("path", OVERLAYS)
def test_deployment(render, path):
    docs = render(path)
    dep = find(docs, "Deployment", "flyteplugd")
    assert dep["metadata"]["namespace"] == "flyte"
    assert dep["spec"]["replicas"] == (1 if path == "overlays/dev" else 2)
    pod = dep["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "flyteplugd"
    (c,) = pod["containers"]
    assert c["args"][:1] == ["serve"]
    assert c["readinessProbe"]["grpc"] == {"port": 8000}, c["readinessProbe"]
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "admin"}
    assert {p["name"]: p["containerPort"] for p in c["ports"]} == {"grpc": 8000, "admin": 10254}
    assert c["resources"]["requests"]["cpu"] and c["resources"]["limits"]["memory"]
    # Pod Security Standards "restricted".
    psc, sc = pod["securityContext"], c["securityContext"]
    assert psc["runAsNonRoot"] is True and isinstance(psc["runAsUser"], int) and psc["runAsUser"] > 0
    assert psc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert sc["allowPrivilegeEscalation"] is False and sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"] == {"drop": ["ALL"]} and sc["runAsNonRoot"] is True
    # The config file and the signing key are where the configuration says.
    vols = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    cm = find(docs, "ConfigMap", vols["config"]["configMap"]["name"])
    assert c["args"] == ["serve", "--config", mounts["config"] + "/config.yaml"]
    cfg = yaml.safe_load(cm["data"]["config.yaml"])
    # The key is the Secret the replicas share (no file mounted); the Lease identity and the
    # daemon's namespace come from the downward API.
    assert cfg["engine"]["signing_key_secret"] == "flyteplugd-signing-key"
    assert "signing_key_file" not in cfg["engine"] and "signing-key" not in vols
    assert cfg["leader_election"]["enabled"] is True
    env = {e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"] for e in c["env"]}
    assert env == {"POD_NAME": "metadata.name", "POD_NAMESPACE": "metadata.namespace"}, env
    assert cfg["grpc"]["listen"].endswith(":8000") and cfg["admin"]["listen"].endswith(":10254")
    assert cfg["kubernetes"]["in_cluster"] is True
    # Two replicas only with the key shared through the Secret; spread and kept one by one.
    if dep["spec"]["replicas"] > 1:
        assert pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
        assert {t["topologyKey"] for t in pod["topologySpreadConstraints"]} == \
            {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}
        assert find(docs, "PodDisruptionBudget", "flyteplugd")["spec"]["minAvailable"] == 1


@pytest.mark.parametrize("path", OVERLAYS)
def test_service_and_network_policy(render, path):
    docs = render(path)
    svc = find(docs, "Service", "flyteplugd")
    grpc = next(p for p in svc["spec"]["ports"] if p["name"] == "grpc")
    assert grpc["port"] == 8000 and grpc["appProtocol"] == "kubernetes.io/h2c"
    assert svc["spec"]["selector"] == {"app.kubernetes.io/name": "flyteplugd"}
    nps = [d for d in docs if d["kind"] == "NetworkPolicy"]
    if path == "overlays/dev":
        assert nps == [] and not [d for d in docs if d["kind"] == "PodDisruptionBudget"]
        return
    (np,) = nps
    grpc_rule, admin_rule = np["spec"]["ingress"]
    assert grpc_rule["ports"] == [{"port": "grpc", "protocol": "TCP"}]
    peer = grpc_rule["from"][0]["podSelector"]["matchLabels"]
    want = "flyte-binary" if path in ("overlays/flyte-binary", "overlays/flyte2") else "flytepropeller"
    assert peer == {"app.kubernetes.io/name": want}, (path, peer)
    assert admin_rule["ports"] == [{"port": "admin", "protocol": "TCP"}]
    assert admin_rule["from"] == [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "monitoring"}}}]


def test_propeller_connector_fragment():
    frag = yaml.safe_load((KUSTOMIZE / "overlays/flyte-binary/propeller-connector.yaml").read_text())
    assert set(frag) == {"plugins", "tasks"}
    cs = frag["plugins"]["connector-service"]
    assert cs["defaultConnector"]["endpoint"] == "dns:///flyteplugd.flyte.svc.cluster.local:8000"
    assert cs["defaultConnector"]["insecure"] is True
    assert cs["defaultConnector"]["timeouts"]["ListConnectors"] == "3s"
    ops = ["spark", "pytorch", "tensorflow", "mpi", "ray", "dask", "clustered-task"]
    assert sorted(cs["supportedTaskTypes"]) == sorted(ops)
    web = cs["webApi"]
    assert web["readRateLimiter"]["qps"] > 10 and web["resourceQuotas"]["default"] > 1000
    resync = web["caching"]["resyncInterval"]
    assert re.fullmatch(r"\d+s", resync) and 5 <= int(resync[:-1]) < 30, resync
    tp = frag["tasks"]["task-plugins"]
    # No Go plugin for a type flyteplugd serves; connector-service enabled.
    assert "connector-service" in tp["enabled-plugins"]
    assert not set(tp["enabled-plugins"]) & {"spark", "pytorch", "tensorflow", "mpi", "ray", "dask",
                                             "kf-pytorch", "kf-tensorflow", "kf-mpi"}
    # Only operator types go to the connector; python-task and map tasks stay in propeller.
    d = tp["default-for-task-types"]
    assert {t for t, p in d.items() if p == "connector-service"} == set(ops)
    assert d["python-task"] == "container" and d["container"] == "container"
    assert d["container_array"] == "k8s-array"


def test_propeller_configmaps(render):
    frag = (KUSTOMIZE / "overlays/flyte-binary/propeller-connector.yaml").read_text()
    binary = find(render("overlays/flyte-binary"), "ConfigMap", "flyte-binary-config", "flyte")
    assert binary["data"] == {"200-flyteplugd.yaml": frag}
    core = find(render("overlays/flyte-core"), "ConfigMap", "flyte-propeller-config", "flyte")
    assert core["data"] == {"zz-flyteplugd.yaml": frag}
    # Propeller merges its config files in name order: ours must come after the charts' keys.
    assert sorted(["000-core.yaml", "001-plugins.yaml", "100-inline-config.yaml",
                   "200-flyteplugd.yaml"])[-1] == "200-flyteplugd.yaml"
    assert sorted(["core.yaml", "enabled_plugins.yaml", "task_logs.yaml", "zz-flyteplugd.yaml"])[-1] \
        == "zz-flyteplugd.yaml"


def _check_config(path):
    out = subprocess.run([BIN, "check-config", str(path)], capture_output=True, text=True)
    assert out.returncode == 0, f"flyteplugd check-config {path}: {out.stderr}"
    return out


@pytest.mark.parametrize("rel", ["base/config.yaml", "components/python-tasks/config.yaml",
                                 "overlays/namespaced/config.yaml"])
def test_config_files_are_valid(rel, tmp_path):
    _check_config(KUSTOMIZE / rel)
    # The check can fail: a misspelt key in the same file is refused.
    bad = tmp_path / "bad.yaml"
    bad.write_text((KUSTOMIZE / rel).read_text().replace("signing_key_secret:", "signing_keysecret:"))
    out = subprocess.run([BIN, "check-config", str(bad)], capture_output=True, text=True)
    assert out.returncode == 2 and "signing_keysecret" in out.stderr, out.stderr


@pytest.mark.parametrize("path", OVERLAYS)
def test_rendered_config_is_valid(render, path, tmp_path):
    """What each overlay actually ships in the daemon's ConfigMap passes check-config."""
    docs = render(path)
    dep = find(docs, "Deployment", "flyteplugd")
    name = next(v["configMap"]["name"] for v in dep["spec"]["template"]["spec"]["volumes"]
                if v["name"] == "config")
    cfg = tmp_path / "config.yaml"
    cfg.write_text(find(docs, "ConfigMap", name)["data"]["config.yaml"])
    _check_config(cfg)


def test_derived_configs_differ_only_where_they_say():
    base = yaml.safe_load((KUSTOMIZE / "base/config.yaml").read_text())
    assert base["plugins"]["enabled"] == ["spark", "pytorch", "tensorflow", "mpi", "ray", "dask",
                                          "clustered-task"]
    py = yaml.safe_load((KUSTOMIZE / "components/python-tasks/config.yaml").read_text())
    assert py["plugins"].pop("enabled") == ["pod"] + base["plugins"]["enabled"]
    ns = yaml.safe_load((KUSTOMIZE / "overlays/namespaced/config.yaml").read_text())
    watch = ns["namespaces"]["watch"]
    assert watch and ns["namespaces"]["default"] in watch
    for d in (py, ns):
        d.get("plugins", {}).pop("enabled", None)
        d.pop("namespaces")
    b = dict(base)
    b["plugins"] = {k: v for k, v in base["plugins"].items() if k != "enabled"}
    b.pop("namespaces")
    assert py == b and ns == b


def test_namespaced_mode_binds_exactly_the_watched_namespaces(render):
    docs = render("overlays/namespaced")
    assert not [d for d in docs if d["kind"] == "ClusterRoleBinding"]
    cm = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("flyteplugd-config"))
    watch = yaml.safe_load(cm["data"]["config.yaml"])["namespaces"]["watch"]
    rbs = [d for d in docs if d["kind"] == "RoleBinding" and d["roleRef"]["kind"] == "ClusterRole"]
    assert sorted(rb["metadata"]["namespace"] for rb in rbs) == sorted(watch)
    for rb in rbs:
        assert rb["roleRef"]["name"] == "flyteplugd"
        assert rb["subjects"] == [{"kind": "ServiceAccount", "name": "flyteplugd", "namespace": "flyte"}]
    # Cluster mode (the base and the Flyte overlays) binds cluster-wide.
    crb = find(render("overlays/flyte-binary"), "ClusterRoleBinding", "flyteplugd")
    assert crb["subjects"] == [{"kind": "ServiceAccount", "name": "flyteplugd", "namespace": "flyte"}]


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_component_adds_exactly_its_kinds(render, family):
    base_rules = find(render("base"), "ClusterRole", "flyteplugd")["rules"]
    rules = find(render("base", (family,)), "ClusterRole", "flyteplugd")["rules"]
    assert rules[:len(base_rules)] == base_rules
    added = rules[len(base_rules):]
    got = sorted((g, r) for rule in added for g in rule["apiGroups"] for r in rule["resources"])
    assert got == sorted(FAMILIES[family])
    for rule in added:
        assert sorted(rule["verbs"]) == sorted(["create", "get", "list", "watch", "patch", "delete"])
        assert "resourceNames" not in rule


def test_python_tasks_component_enables_the_pod_plugin(render):
    docs = render("overlays/flyte-binary", ("python-tasks",))
    cm = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("flyteplugd-config"))
    assert yaml.safe_load(cm["data"]["config.yaml"])["plugins"]["enabled"][0] == "pod"


def test_monitoring_component(render):
    docs = render("overlays/flyte-binary", ("monitoring",))
    sm = find(docs, "ServiceMonitor", "flyteplugd", "flyte")
    assert sm["spec"]["endpoints"][0]["port"] == "admin"
    svc = find(docs, "Service", "flyteplugd")
    assert "admin" in {p["name"] for p in svc["spec"]["ports"]}
    assert sm["spec"]["selector"]["matchLabels"].items() <= svc["metadata"]["labels"].items()
    rule = find(docs, "PrometheusRule", "flyteplugd", "flyte")
    alerts = {r["alert"] for g in rule["spec"]["groups"] for r in g["rules"]}
    assert {"FlyteplugdCreateErrors", "FlyteplugdUnknownOperatorStates"} <= alerts
    dash = find(docs, "ConfigMap", "flyteplugd-grafana-dashboard", "flyte")
    assert dash["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert "flyteplugd_creates_total" in dash["data"]["flyteplugd.json"]


def test_volcano_component_grants_podgroups(render):
    """components/volcano: create, get, patch (the object's ownerReference) and delete on
    PodGroups (queueing.volcano), nothing else."""
    base_rules = find(render("base"), "ClusterRole", "flyteplugd")["rules"]
    rules = find(render("base", ("volcano",)), "ClusterRole", "flyteplugd")["rules"]
    assert rules[:len(base_rules)] == base_rules
    assert rules[len(base_rules):] == [{"apiGroups": ["scheduling.volcano.sh"], "resources": ["podgroups"],
                                        "verbs": ["create", "get", "patch", "delete"]}]
