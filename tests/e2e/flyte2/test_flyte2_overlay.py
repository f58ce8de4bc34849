"""kustomize/overlays/flyte2: renders with every family's RBAC, ships the executor fragment as
the last config.d key of the Flyte 2 flyte-binary chart's ConfigMap, and the fragment routes
exactly the operator task types and clustered-task, which flyteplugd announces over
ListConnectors, to connector-service, with the keys the Flyte 2 executor reads
(plugins.connector-service.supportedTaskTypes, tasks.task-plugins.default-for-task-types)."""
from __future__ import annotations

import subprocess
from pathlib import Path

import grpc
import yaml
from cluster import build_binaries  # tests/cluster, on sys.path through conftest.py
from flyteidl2.connector import connector_pb2, service_pb2_grpc

OVERLAY = Path(__file__).resolve().parents[3] / "kustomize" / "overlays" / "flyte2"
ROUTED_TYPES = {"spark", "pytorch", "tensorflow", "mpi", "ray", "dask", "clustered-task"}


def fragment():
    return yaml.safe_load((OVERLAY / "executor-connector.yaml").read_text())


def test_fragment_routes_operator_types():
    frag = fragment()
    assert set(frag) == {"plugins", "tasks"}
    cs = frag["plugins"]["connector-service"]
    assert cs["defaultConnector"]["endpoint"] == "dns:///flyteplugd.flyte.svc.cluster.local:8000"
    assert cs["defaultConnector"]["insecure"] is True
    assert set(cs["supportedTaskTypes"]) == ROUTED_TYPES
    d = frag["tasks"]["task-plugins"]["default-for-task-types"]
    assert d == {t: "connector-service" for t in ROUTED_TYPES}
    # The executor has no enabled-plugins list (propeller's key): nothing that looks like one.
    assert set(frag["tasks"]["task-plugins"]) == {"default-for-task-types"}


def test_overlay_renders():
    kubectl = build_binaries() / "kubectl"  # the one tests/cluster builds, as tests/deploy
    out = subprocess.run([str(kubectl), "kustomize", str(OVERLAY)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    docs = [d for d in yaml.safe_load_all(out.stdout) if d]
    cm = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "flyte-binary-config")
    assert cm["metadata"]["namespace"] == "flyte"
    assert cm["data"] == {"200-flyteplugd.yaml": (OVERLAY / "executor-connector.yaml").read_text()}
    # The chart's own keys are 000-core.yaml, 001-plugins.yaml, ...: ours is read last.
    assert sorted(["000-core.yaml", "001-plugins.yaml", "200-flyteplugd.yaml"])[-1] == "200-flyteplugd.yaml"
    role = next(d for d in docs if d["kind"] == "ClusterRole" and d["metadata"]["name"] == "flyteplugd")
    granted = {(g, r) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]}
    assert ("jobset.x-k8s.io", "jobsets") in granted, role["rules"]  # clustered-task's kind
    (np,) = [d for d in docs if d["kind"] == "NetworkPolicy"]
    assert np["spec"]["ingress"][0]["from"][0]["podSelector"]["matchLabels"] == \
        {"app.kubernetes.io/name": "flyte-binary"}


def test_daemon_announces_the_routed_types(make_daemon):
    """Every type the fragment routes to connector-service is one flyteplugd's ListConnectors
    announces (with the default plugins)."""
    d = make_daemon()
    with grpc.insecure_channel(d.target) as ch:
        resp = service_pb2_grpc.ConnectorMetadataServiceStub(ch).ListConnectors(
            connector_pb2.ListConnectorsRequest(), timeout=5)
    announced = {c.name for conn in resp.connectors for c in conn.supported_task_categories}
    assert set(fragment()["plugins"]["connector-service"]["supportedTaskTypes"]) <= announced
