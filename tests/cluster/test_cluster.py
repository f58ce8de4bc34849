"""The test cluster helper against the real kube-apiserver + etcd it starts.

Run: .venv/bin/python -m pytest tests/cluster -q
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cluster import Cluster, ClusterError, _alive  # noqa: E402

CLUSTER_PY = Path(__file__).resolve().parent / "cluster.py"


@pytest.fixture(scope="module")
def cluster():
    with Cluster() as c:
        yield c


def pod_body(name: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "flyteplugd"}},
        "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "main", "image": "example.invalid/never-pulled:1", "command": ["true"]}],
        },
    }


def configmap(name: str, data: dict) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


CRD_YAML = """\
# a comment before the document
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.test.flyteplugd.io
spec:
  group: test.flyteplugd.io
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer, minimum: 1}
          status:
            type: object
            properties:
              phase: {type: string}
              message: {type: string}
"""


def test_start_is_real_and_secured(cluster: Cluster):
    st, version = cluster.request("GET", "/version")
    assert st == 200
    assert version["gitVersion"] == cluster.kube_version
    assert cluster.kube_version.startswith("v1.3")
    assert cluster.etcd_version.startswith("v3.6.")
    assert cluster.request("GET", "/readyz")[0] == 200
    kc = Path(cluster.kubeconfig).read_text()
    assert f"server: {cluster.server}" in kc and "client-certificate-data:" in kc
    assert Path(cluster.ca_file).is_file() and Path(cluster.client_cert).is_file() and Path(cluster.client_key).is_file()

    # Without a client certificate the request is anonymous, and RBAC forbids it.
    ctx = ssl.create_default_context(cafile=cluster.ca_file)
    conn = http.client.HTTPSConnection("127.0.0.1", cluster.apiserver_port, context=ctx, timeout=10)
    conn.request("GET", "/api/v1/namespaces/default/pods")
    resp = conn.getresponse()
    assert resp.status in (401, 403), resp.read()
    conn.close()

    # A service-account token is real too: authenticated, then denied by RBAC.
    ns = cluster.new_namespace("auth")
    token = cluster.token_for("default", ns)
    st, review = cluster.request("POST", "/apis/authentication.k8s.io/v1/tokenreviews",
                                 {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                                  "spec": {"token": token}})
    assert st == 201 and review["status"]["authenticated"] is True
    assert review["status"]["user"]["username"] == f"system:serviceaccount:{ns}:default"
    conn = http.client.HTTPSConnection("127.0.0.1", cluster.apiserver_port, context=ctx, timeout=10)
    conn.request("GET", f"/api/v1/namespaces/{ns}/pods", headers={"Authorization": f"Bearer {token}"})
    resp = conn.getresponse()
    body = json.loads(resp.read())
    assert resp.status == 403 and body["reason"] == "Forbidden"
    conn.close()


def test_pod_in_new_namespace(cluster: Cluster):
    ns = cluster.new_namespace("Pods_Test")
    assert ns.startswith("pods-test-")
    sa = cluster.must("GET", f"/api/v1/namespaces/{ns}/serviceaccounts/default")
    assert sa["metadata"]["name"] == "default"

    created = cluster.must("POST", f"/api/v1/namespaces/{ns}/pods", pod_body("p1"), ok=(201,))
    got = cluster.must("GET", f"/api/v1/namespaces/{ns}/pods/p1")
    assert got["metadata"]["uid"] == created["metadata"]["uid"]
    # The real ServiceAccount admission plugin ran: token volume injected.
    assert got["spec"]["serviceAccountName"] == "default"
    assert any(v["name"].startswith("kube-api-access-") for v in got["spec"]["volumes"])
    assert got["status"]["phase"] == "Pending"
    assert "nodeName" not in got["spec"]

    # A bare namespace (no helper) has no service account, so pods are refused, as in a
    # cluster whose controller-manager has not caught up yet.
    bare = cluster.must("POST", "/api/v1/namespaces",
                        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"generateName": "bare-"}})
    st, err = cluster.request("POST", f"/api/v1/namespaces/{bare['metadata']['name']}/pods", pod_body("p1"))
    assert st == 403 and "serviceaccount" in err["message"].lower()

    # Unknown namespace: 404.
    st, err = cluster.request("GET", "/api/v1/namespaces/does-not-exist/pods/p1")
    assert st == 404 and err["reason"] == "NotFound"


def test_patch_pod_status(cluster: Cluster):
    ns = cluster.new_namespace("status")
    pod = cluster.must("POST", f"/api/v1/namespaces/{ns}/pods", pod_body("p"), ok=(201,))
    cluster.bind_pod(ns, "p", "node-a")
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    out = cluster.patch_pod_status(ns, "p", {
        "phase": "Running",
        "startTime": now,
        "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": now}],
        "containerStatuses": [{
            "name": "main", "image": "example.invalid/never-pulled:1", "imageID": "", "ready": True,
            "restartCount": 0, "started": True, "state": {"running": {"startedAt": now}},
        }],
    })
    assert out["status"]["phase"] == "Running"
    got = cluster.must("GET", f"/api/v1/namespaces/{ns}/pods/p")
    assert got["spec"]["nodeName"] == "node-a"
    assert got["status"]["phase"] == "Running"
    assert got["status"]["containerStatuses"][0]["state"]["running"]["startedAt"] == now
    assert int(got["metadata"]["resourceVersion"]) > int(pod["metadata"]["resourceVersion"])

    cluster.patch_pod_status(ns, "p", {
        "phase": "Failed",
        "containerStatuses": [{
            "name": "main", "image": "example.invalid/never-pulled:1", "imageID": "", "ready": False,
            "restartCount": 0, "state": {"terminated": {"exitCode": 3, "reason": "Error",
                                                        "startedAt": now, "finishedAt": now}},
        }],
    })
    got = cluster.must("GET", f"/api/v1/namespaces/{ns}/pods/p")
    assert got["status"]["phase"] == "Failed"
    assert got["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 3

    # The API server's own validation applies to what the helper writes.
    with pytest.raises(ClusterError, match="HTTP 422"):
        cluster.patch_pod_status(ns, "p", {"containerStatuses": [{
            "name": "main", "image": "x", "imageID": "", "ready": False, "restartCount": -1, "state": {}}]})

    # A bound pod stays Terminating without a kubelet; gracePeriodSeconds=0 removes it.
    cluster.must("DELETE", f"/api/v1/namespaces/{ns}/pods/p", {"gracePeriodSeconds": 0})
    assert cluster.request("GET", f"/api/v1/namespaces/{ns}/pods/p")[0] == 404


def test_crd_and_custom_object(cluster: Cluster, tmp_path: Path):
    (tmp_path / "widgets.yaml").write_text(CRD_YAML)
    assert cluster.install_crds(tmp_path / "widgets.yaml") == ["widgets.test.flyteplugd.io"]
    # Idempotent, and the same document as a string works too (server-side apply).
    assert cluster.install_crds(CRD_YAML) == ["widgets.test.flyteplugd.io"]

    ns = cluster.new_namespace("crd")
    base = f"/apis/test.flyteplugd.io/v1/namespaces/{ns}/widgets"
    w = {"apiVersion": "test.flyteplugd.io/v1", "kind": "Widget", "metadata": {"name": "w1"}, "spec": {"size": 2}}
    cluster.must("POST", base, w, ok=(201,))
    # The CRD's schema is enforced by the real API server.
    st, err = cluster.request("POST", base, {**w, "metadata": {"name": "w2"}, "spec": {"size": 0}})
    assert st == 422 and err["reason"] == "Invalid"

    # The status subresource: a status write through the main resource is dropped...
    cluster.must("PATCH", f"{base}/w1", {"status": {"phase": "Ignored"}})
    assert "status" not in cluster.must("GET", f"{base}/w1")
    # ...and goes through patch_status, as an operator writes it.
    cluster.patch_status("test.flyteplugd.io", "v1", "widgets", ns, "w1", {"phase": "Succeeded", "message": "ok"})
    got = cluster.must("GET", f"{base}/w1")
    assert got["status"] == {"phase": "Succeeded", "message": "ok"}
    assert got["spec"] == {"size": 2}
    lst = cluster.must("GET", base)
    assert [i["metadata"]["name"] for i in lst["items"]] == ["w1"]


def test_kill_and_restart_apiserver(cluster: Cluster):
    ns = cluster.new_namespace("restart")
    cm = cluster.must("POST", f"/api/v1/namespaces/{ns}/configmaps", configmap("c", {"k": "v"}), ok=(201,))
    old_pid = cluster.apiserver_proc.pid
    cluster.kill_apiserver()
    assert not _alive(old_pid)
    with pytest.raises(ConnectionRefusedError):
        cluster.request("GET", f"/api/v1/namespaces/{ns}/configmaps/c", timeout=5)
    cluster.start_apiserver()
    assert cluster.apiserver_proc.pid != old_pid
    got = cluster.must("GET", f"/api/v1/namespaces/{ns}/configmaps/c")
    assert got["metadata"]["uid"] == cm["metadata"]["uid"]
    assert got["data"] == {"k": "v"}
    # Writes work after the restart too.
    cluster.must("POST", f"/api/v1/namespaces/{ns}/configmaps", configmap("d", {}), ok=(201,))


def test_compact_etcd_expires_old_resource_versions(cluster: Cluster):
    ns = cluster.new_namespace("compact")
    path = f"/api/v1/namespaces/{ns}/configmaps"
    cluster.must("POST", path, configmap("c", {"n": "0"}), ok=(201,))
    old_rv = cluster.must("GET", path)["metadata"]["resourceVersion"]
    for i in range(1, 4):
        cluster.must("PATCH", f"{path}/c", {"data": {"n": str(i)}})

    # Before compaction, a watch from old_rv replays the three updates.
    st, events = cluster.watch(path, old_rv, max_events=3)
    assert st == 200 and [e["type"] for e in events] == ["MODIFIED"] * 3
    assert events[-1]["object"]["data"] == {"n": "3"}

    rev = cluster.compact_etcd()  # watch cache on: this also restarts kube-apiserver
    assert rev >= int(old_rv)
    assert_expired(cluster, path, old_rv)

    # The client's recovery path works: list again and watch from the new resourceVersion.
    lst = cluster.must("GET", path)
    assert lst["items"][0]["data"] == {"n": "3"}
    cluster.must("PATCH", f"{path}/c", {"data": {"n": "4"}})
    st, events = cluster.watch(path, lst["metadata"]["resourceVersion"], max_events=1)
    assert st == 200 and events[0]["type"] == "MODIFIED" and events[0]["object"]["data"] == {"n": "4"}


def assert_expired(cluster: Cluster, path: str, old_rv: str) -> None:
    # A watch from before the compaction: 410 Gone, as an HTTP status or an ERROR event.
    st, events = cluster.watch(path, old_rv, max_events=1)
    if st == 200:
        assert events and events[0]["type"] == "ERROR", events
        status = events[0]["object"]
    else:
        status = events[0]
    assert st in (200, 410) and status["code"] == 410 and status["reason"] == "Expired", status
    # A list at exactly that revision is gone too.
    st, status = cluster.request("GET", path, query={"resourceVersion": old_rv, "resourceVersionMatch": "Exact"})
    assert st == 410 and status["reason"] == "Expired", status


def test_compact_without_watch_cache_needs_no_restart():
    with Cluster(watch_cache=False) as c:
        ns = c.new_namespace("nocache")
        path = f"/api/v1/namespaces/{ns}/configmaps"
        c.must("POST", path, configmap("c", {"n": "0"}), ok=(201,))
        old_rv = c.must("GET", path)["metadata"]["resourceVersion"]
        c.must("PATCH", f"{path}/c", {"data": {"n": "1"}})
        pid = c.apiserver_proc.pid
        new_rv = c.must("GET", path)["metadata"]["resourceVersion"]
        c.compact_etcd()
        assert c.apiserver_proc.pid == pid  # the same process answers 410, straight from etcd
        assert_expired(c, path, old_rv)
        # A client that has seen the newest resourceVersion keeps watching.
        c.must("PATCH", f"{path}/c", {"data": {"n": "2"}})
        st, events = c.watch(path, new_rv, max_events=1)
        assert st == 200 and events[0]["type"] == "MODIFIED" and events[0]["object"]["data"] == {"n": "2"}


def _cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(CLUSTER_PY), *args], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=timeout)


def _env(d: Path) -> dict[str, str]:
    out = subprocess.run(["bash", "-c", f'set -a; . "{d}/env"; env -0'], stdout=subprocess.PIPE, check=True)
    return dict(kv.split("=", 1) for kv in out.stdout.decode().split("\0") if "=" in kv)


def test_cli_up_down_detached(tmp_path: Path):
    d = tmp_path / "c"
    up = _cli("up", "--dir", str(d))
    assert up.returncode == 0, up.stderr
    assert "real kube-apiserver v1.3" in up.stderr and "no scheduler/kubelet/controller-manager" in up.stderr
    try:
        env = _env(d)  # the env file is shell-sourceable
        assert up.stdout.strip() == env["KUBECONFIG"]
        assert env["FPD_TEST_KUBE_SERVER"].startswith("https://127.0.0.1:")
        sup, api, etcd = (int(env[k]) for k in ("FPD_TEST_CLUSTER_PID", "FPD_TEST_APISERVER_PID", "FPD_TEST_ETCD_PID"))
        assert all(_alive(p) for p in (sup, api, etcd))
        # The cluster outlived the CLI process and answers with the files it wrote.
        ctx = ssl.create_default_context(cafile=env["FPD_TEST_KUBE_CA_FILE"])
        ctx.load_cert_chain(env["FPD_TEST_KUBE_CLIENT_CERT"], env["FPD_TEST_KUBE_CLIENT_KEY"])
        port = int(env["FPD_TEST_KUBE_SERVER"].rsplit(":", 1)[1])

        def get(path: str) -> int:
            conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=5)
            try:
                conn.request("GET", path)
                return conn.getresponse().status
            finally:
                conn.close()

        assert get("/api/v1/namespaces/default/serviceaccounts/default") == 200
        bin_dir = subprocess.run(["bash", str(CLUSTER_PY.parent / "build.sh")], stdout=subprocess.PIPE,
                                 text=True, check=True).stdout.strip()
        kubectl = Path(bin_dir) / "kubectl"
        if kubectl.exists():  # built by default; FPD_CLUSTER_KUBECTL=0 skips it
            for kc in (env["KUBECONFIG"], env["FPD_TEST_KUBECONFIG_PATHS"]):
                out = subprocess.run([str(kubectl), "--kubeconfig", kc, "get", "serviceaccount", "default",
                                      "-o", "jsonpath={.metadata.name}"], stdout=subprocess.PIPE, text=True)
                assert out.returncode == 0 and out.stdout == "default"
        assert _cli("up", "--dir", str(d)).stdout.strip() == env["KUBECONFIG"]  # idempotent

        assert _cli("kill-apiserver", "--dir", str(d)).returncode == 0
        assert not _alive(api) and _env(d)["FPD_TEST_APISERVER_PID"] == "0"
        with pytest.raises(ConnectionRefusedError):
            get("/readyz")
        assert _cli("start-apiserver", "--dir", str(d)).returncode == 0
        assert get("/readyz") == 200
        compact = _cli("compact", "--dir", str(d))
        assert compact.returncode == 0 and int(compact.stdout) > 0

        # If the supervisor dies, etcd and kube-apiserver die with it (PDEATHSIG).
        api = int(_env(d)["FPD_TEST_APISERVER_PID"])
        os.kill(sup, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while (_alive(api) or _alive(etcd)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(api) and not _alive(etcd)
    finally:
        down = _cli("down", "--dir", str(d))
    assert down.returncode == 0, down.stderr
    assert not d.exists()
