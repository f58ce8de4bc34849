"""Task types declared at run time: FlyteTaskType objects applied with the real kubectl to a
daemon that is already serving. ListAgents names an accepted type within 5 s of `kubectl
apply`, its kind is followed from then on (status changes reach GetTask), an edit replaces the
served type, a refused declaration says why and where in its status, and a delete stops new
CreateTasks of the type while its running task is still followed and can still be deleted."""
from __future__ import annotations

import subprocess
import time
from pathlib import Path

import grpc
import pytest
import yaml
from flyteidl.admin import agent_pb2
from flyteidl.service import agent_pb2_grpc
from flyteidl2.connector import connector_pb2, service_pb2_grpc

import engine_conftest
from operator_helpers import PHASE, CrdTask, create
from test_tasktypes import cond, template

ROOT = engine_conftest.ROOT
TT_CRD = ROOT / "kustomize" / "components" / "crd-tasktypes" / "flytetasktypes.yaml"
TT_PATH = ("flyteplugd.flyte.org", "v1alpha1", "flytetasktypes")
LIVE = CrdTask("jobset.x-k8s.io", "v1alpha2", "jobsets", "live-jobset")
REGISTER_WITHIN_S = 5.0


@pytest.fixture(scope="module")
def kubectl():
    """The kubectl tests/cluster/build.sh builds with the API server."""
    bin_dir = subprocess.run(["bash", str(ROOT / "tests" / "cluster" / "build.sh")],
                             stdout=subprocess.PIPE, text=True, check=True).stdout.strip()
    path = Path(bin_dir) / "kubectl"
    if not path.exists():
        pytest.fail(f"no kubectl in {bin_dir} (tests/cluster/build.sh builds it by default)")
    return path


@pytest.fixture
def live_daemon(cluster, upstream_crds, tmp_path):
    """A daemon serving no declared type at start, with the FlyteTaskType CRD installed."""
    cluster.install_crds([str(TT_CRD)])
    wd = tmp_path / "live"
    wd.mkdir()
    d = engine_conftest.Daemon(wd, cluster)
    d.start()
    yield d
    d.stop()


def apply(kubectl, cluster, doc):
    r = subprocess.run([str(kubectl), "--kubeconfig", cluster.kubeconfig, "apply", "-f", "-"],
                       input=yaml.safe_dump(doc), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def kdelete(kubectl, cluster, name):
    r = subprocess.run([str(kubectl), "--kubeconfig", cluster.kubeconfig, "delete",
                        "flytetasktypes.flyteplugd.flyte.org", name, "--wait=false"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def categories(daemon):
    stub = agent_pb2_grpc.AgentMetadataServiceStub(daemon.channel)
    agents = stub.ListAgents(agent_pb2.ListAgentsRequest(), timeout=5).agents
    return {(c.name, c.version) for a in agents for c in a.supported_task_categories}


def categories2(daemon):
    """categories() as Flyte 2's ListConnectors describes them."""
    stub = service_pb2_grpc.ConnectorMetadataServiceStub(daemon.channel)
    conns = stub.ListConnectors(connector_pb2.ListConnectorsRequest(), timeout=5).connectors
    return {(c.name, c.version) for conn in conns for c in conn.supported_task_categories}


def wait_listed(daemon, category, present=True, timeout=REGISTER_WITHIN_S):
    """Seconds until ListAgents names (or no longer names) category; fails past timeout."""
    t0 = time.monotonic()
    while (category in categories(daemon)) != present:
        if time.monotonic() - t0 > timeout:
            pytest.fail(f"{category} {'not listed' if present else 'still listed'} after "
                        f"{timeout} s; listed {sorted(categories(daemon))}\n{daemon.tail()}")
        time.sleep(0.05)
    return time.monotonic() - t0


def accepted(cluster, name, timeout=10):
    """The Accepted condition of FlyteTaskType name, once the daemon wrote it."""
    path = cluster.resource_path(*TT_PATH, None, name)
    deadline = time.time() + timeout
    while time.time() < deadline:
        st, obj = cluster.request("GET", path)
        assert st == 200, obj
        for c in obj.get("status", {}).get("conditions", []):
            if c["type"] == "Accepted" and c.get("observedGeneration") == \
                    obj["metadata"]["generation"]:
                return c
        time.sleep(0.1)
    pytest.fail(f"FlyteTaskType {name}: no Accepted condition for its generation: {obj}")


def declaration(name, version=0):
    doc = yaml.safe_load((ROOT / "examples" / "tasktypes" / "jobset.yaml").read_text())
    doc["metadata"] = {"name": name}
    doc["spec"]["taskType"] = {"name": name, "version": version}
    return doc


def test_apply_edit_delete(cluster, live_daemon, kubectl):
    d = live_daemon
    assert ("live-jobset", 0) not in categories(d)
    apply(kubectl, cluster, declaration("live-jobset"))
    took = wait_listed(d, ("live-jobset", 0))
    print(f"listed {took:.2f} s after kubectl apply")
    assert categories2(d) == categories(d)  # Flyte 2 sees the declared type as well
    c = accepted(cluster, "live-jobset")
    assert (c["status"], c["reason"]) == ("True", "Declared"), c

    # Its kind (not watched at start) is followed: a status change reaches GetTask.
    ns = cluster.new_namespace("live")
    meta = create(d, ns, "live", template("live-jobset", {"replicas": 1, "maxRestarts": 0}))
    name = "live-n0-0"
    LIVE.wait_phase(d, meta, PHASE.QUEUED)
    LIVE.patch(cluster, ns, name, {"conditions": [cond("Suspended", message="held by Kueue")]})
    LIVE.wait_phase(d, meta, PHASE.WAITING_FOR_RESOURCES, "held by Kueue")

    # An edit replaces the served type.
    apply(kubectl, cluster, declaration("live-jobset", version=1))
    wait_listed(d, ("live-jobset", 1))
    assert ("live-jobset", 0) not in categories(d)

    # A delete: no new task of the type ...
    kdelete(kubectl, cluster, "live-jobset")
    wait_listed(d, ("live-jobset", 1), present=False)
    assert categories2(d) == categories(d)
    with pytest.raises(grpc.RpcError) as e:
        create(d, ns, "live2", template("live-jobset", {"replicas": 1, "maxRestarts": 0}))
    assert e.value.code() == grpc.StatusCode.NOT_FOUND, e.value
    assert "no plugin serves task type live-jobset" in e.value.details(), e.value.details()
    # ... but the running one is still followed, and DeleteTask still removes its object.
    LIVE.patch(cluster, ns, name, {"conditions": [cond("Suspended", "False", "resumed")],
                                   "replicatedJobsStatus": [{"name": "workers", "active": 1,
                                                             "ready": 1, "succeeded": 0,
                                                             "failed": 0, "suspended": 0}]})
    LIVE.wait_phase(d, meta, PHASE.RUNNING, "1 of 1 ready")
    LIVE.delete(d, meta)
    LIVE.wait_deleted(d, cluster, ns, name)


BAD = [
    # (what, how the example's spec is changed, the location, part of the message)
    ("manifest-yaml", lambda s: s.update(manifest="spec: [unclosed\n"), "spec.manifest",
     "spec.manifest"),
    ("manifest-variable", lambda s: s.update(manifest="spec:\n  x: {{ .nosuch }}\n"),
     "spec.manifest", "nosuch"),
    ("jq-syntax", lambda s: s["status"].update(failed=".status | (("), "spec.status.failed",
     "spec.status.failed"),
    ("jq-builtin", lambda s: s["status"].update(failed='input_filename'), "spec.status.failed",
     "input_filename"),
    # Checked against the API server's discovery.
    ("unknown-kind", lambda s: s["resource"].update(kind="NoSuchSet"), "spec.resource",
     "the API server serves no kind NoSuchSet in jobset.x-k8s.io/v1alpha2"),
    ("wrong-plural", lambda s: s["resource"].update(plural="jobsetz"), "spec.resource.plural",
     'serves kind JobSet as "jobsets", not "jobsetz"'),
    ("cluster-scoped", lambda s: s["resource"].update(apiVersion="v1", kind="Namespace",
                                                     plural="namespaces"),
     "spec.resource", "Namespace is cluster-scoped"),
]


@pytest.mark.parametrize("what,change,location,fragment", BAD, ids=[b[0] for b in BAD])
def test_refused_declaration(cluster, live_daemon, kubectl, what, change, location, fragment):
    """A bad declaration is refused alone: Accepted False, reason Invalid (ResourceNotFound for
    a kind not served), the field in location and the problem in the message; the daemon keeps
    serving the others."""
    name = f"live-bad-{what}"
    doc = declaration(name)
    change(doc["spec"])
    apply(kubectl, cluster, doc)
    c = accepted(cluster, name)
    # A resource not served yet may be served later: it is checked again (test_tasktype_rbac.py).
    reason = "ResourceNotFound" if what == "unknown-kind" else "Invalid"
    assert (c["status"], c["reason"], c.get("location")) == ("False", reason, location), c
    assert fragment in c["message"], c
    assert (name, 0) not in categories(live_daemon)
    kdelete(kubectl, cluster, name)
