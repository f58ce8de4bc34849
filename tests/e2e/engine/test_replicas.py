"""Replicas on a real kube-apiserver: two daemons with one configuration share the signing key
kept in a Secret (created once, by whichever starts first), answer each other's tasks, and
exactly one of them, the holder of the leader Lease, cleans up; killing it hands cleanup over.
Then key rotation: previous keys still verify, unknown keys do not, and key files are read
whole."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import time
import uuid

import grpc
import pytest
from flyteidl.admin import agent_pb2

from conftest import Daemon, free_port
from test_admin import http_get
from test_pod_tasks import PHASE, create, get, pod, wait_phase


def replica_yaml(cluster, d, secret, lease, lease_ns):
    return (
        "log: {level: debug}\n"
        f"grpc: {{listen: \"127.0.0.1:{d.port}\", drain_timeout: 2s}}\n"
        f"admin: {{listen: \"127.0.0.1:{d.admin_port}\"}}\n"
        f"kubernetes: {{kubeconfig: \"{cluster.kubeconfig}\", qps: 1000, burst: 1000}}\n"
        "engine:\n"
        f"  signing_key_secret: {secret}\n"
        "  cleanup_ttl: 1s\n  orphan_after: 1h\n  sweep_interval: 1s\n"
        "leader_election:\n"
        f"  enabled: true\n  lease_name: {lease}\n  namespace: {lease_ns}\n"
        "  lease_duration: 3s\n  renew_deadline: 2s\n  retry_period: 500ms\n")


def replica(cluster, workdir, secret, lease, lease_ns, started):
    workdir.mkdir()
    d = Daemon(workdir, cluster, admin=True)
    d.key.unlink()  # the key comes from the Secret
    # free_port() may hand out a port twice before anyone binds it: four distinct ones.
    used = {p for o in started for p in (o.port, o.admin_port)}
    while d.port in used or d.admin_port in used | {d.port}:
        d.port, d.admin_port = free_port(), free_port()
    d.config.write_text(replica_yaml(cluster, d, secret, lease, lease_ns))
    started.append(d)
    return d


def leader_of(d):
    """(is leader, identity) from /metrics, or None while the daemon has no engine yet."""
    try:
        _, text = http_get(d.admin_port, "/metrics")
    except OSError:
        return None
    m = re.search(r'^flyteplugd_leader\{identity="([^"]*)"\} (\d)$', text, re.M)
    return (m.group(2) == "1", m.group(1)) if m else None


def wait_for(what, cond, timeout, diag=lambda: ""):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}\n{diag()}")


def succeed(cluster, ns, name):
    primary = pod(cluster, ns, name)["spec"]["containers"][0]["name"]
    cluster.patch_pod_status(ns, name, {"phase": "Succeeded", "containerStatuses": [
        {"name": primary, "ready": False, "restartCount": 0, "image": "x", "imageID": "",
         "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]})


def deleted_by(d, ns, name):
    return f"{ns}/{name}: deleting (finished, cleanup TTL passed)" in d.log.read_text(errors="replace")


@pytest.fixture
def replicas(cluster, tmp_path):
    started = []
    tag = uuid.uuid4().hex[:8]
    lease_ns = cluster.new_namespace("lease")
    args = (f"fpd-key-{tag}", f"fpd-lease-{tag}", lease_ns)
    a = replica(cluster, tmp_path / "a", *args, started)
    b = replica(cluster, tmp_path / "b", *args, started)
    yield a, b, args
    for d in started:
        if d.proc:
            d.stop()


def test_replicas_share_key_and_one_cleans_up(cluster, replicas):
    a, b, (secret, lease, lease_ns) = replicas
    a.start()
    b.start()
    both = lambda: f"--- a ---\n{a.tail()}\n--- b ---\n{b.tail()}"
    states = wait_for("both replicas to know the leader",
                      lambda: (lambda x, y: (x, y) if x and y and (x[0] or y[0]) else None)(
                          leader_of(a), leader_of(b)), 20, both)
    # The key Secret exists once, made by exactly one of them, and both use it.
    st, sec = cluster.request("GET", f"/api/v1/namespaces/default/secrets/{secret}")
    assert st == 200 and len(base64.b64decode(sec["data"]["signing-key"])) == 32, sec
    logs = [d.log.read_text(errors="replace") for d in (a, b)]
    assert all(f"keys: 1 from Secret default/{secret}" in t for t in logs), both()
    assert sum(f"default/{secret} (created it)" in t for t in logs) == 1, both()

    for d in (a, b):
        _, text = http_get(d.admin_port, "/metrics")
        assert re.search(r"^flyteplugd_signing_keys 1$", text, re.M), text
    # Exactly one leader; /readyz names it on both.
    assert states[0][0] != states[1][0], states
    leader, follower = (a, b) if states[0][0] else (b, a)
    holder = leader_of(leader)[1]
    st, body = http_get(follower.admin_port, "/readyz?format=json")
    ready = json.loads(body)
    assert ready["lease_holder"] == holder and ready["leader"] is False, body
    st, text = http_get(leader.admin_port, "/readyz")
    assert f"leader: this replica ({holder})" in text, text
    st, lease_obj = cluster.request(
        "GET", f"/apis/coordination.k8s.io/v1/namespaces/{lease_ns}/leases/{lease}")
    assert lease_obj["spec"]["holderIdentity"] == holder, lease_obj

    # A task created on A is answered and deleted by B.
    ns = cluster.new_namespace("replicas")
    m1 = create(a, ns, "rep1")
    m2 = create(a, ns, "rep2")
    wait_phase(b, m1, PHASE.QUEUED)
    b.stub.DeleteTask(agent_pb2.DeleteTaskRequest(resource_meta=m2), timeout=30)
    wait_for("rep2's pod to go", lambda: pod(cluster, ns, "rep2-n0-0") is None, 20, both)

    # A finished object past the TTL is deleted, by the leader only.
    succeed(cluster, ns, "rep1-n0-0")
    wait_phase(follower, m1, PHASE.SUCCEEDED)
    wait_for("rep1's pod to be cleaned up", lambda: pod(cluster, ns, "rep1-n0-0") is None, 20, both)
    assert deleted_by(leader, ns, "rep1-n0-0"), both()
    assert not deleted_by(follower, ns, "rep1-n0-0"), both()

    # The leader dies without a word: the other takes the Lease and cleans up after it.
    m3 = create(follower, ns, "rep3")
    wait_phase(follower, m3, PHASE.QUEUED)
    leader.kill()
    killed = time.time()
    wait_for("the survivor to lead", lambda: (leader_of(follower) or (False,))[0], 10,
             follower.tail)
    assert time.time() - killed < 3 + 2, "the Lease was not taken within lease_duration + retry"
    succeed(cluster, ns, "rep3-n0-0")
    wait_for("rep3's pod to be cleaned up", lambda: pod(cluster, ns, "rep3-n0-0") is None, 20,
             follower.tail)
    assert deleted_by(follower, ns, "rep3-n0-0"), follower.tail()


def test_orphans_judged_by_polls_on_any_replica(cluster, replicas):
    """Polls that reach only the follower keep a task alive: the leader reads them from the
    object's last-poll annotation instead of judging by its own (absent) polls."""
    a, b, (secret, lease, lease_ns) = replicas
    for d in (a, b):
        d.config.write_text(d.config.read_text().replace("orphan_after: 1h", "orphan_after: 4s"))
    a.start()
    b.start()
    both = lambda: f"--- a ---\n{a.tail()}\n--- b ---\n{b.tail()}"
    states = wait_for("a leader", lambda: (lambda x, y: (x, y) if x and y and (x[0] or y[0])
                                           else None)(leader_of(a), leader_of(b)), 20, both)
    leader, follower = (a, b) if states[0][0] else (b, a)
    ns = cluster.new_namespace("orphans")
    kept = create(follower, ns, "kept")
    create(follower, ns, "lost")
    deadline = time.time() + 12  # three times orphan_after
    while time.time() < deadline:
        get(follower, kept)  # only the follower is ever asked
        time.sleep(0.5)
    assert pod(cluster, ns, "kept-n0-0") is not None, f"a task polled on a replica was swept\n{both()}"
    annotations = pod(cluster, ns, "kept-n0-0")["metadata"]["annotations"]
    assert "flyteplugd.flyte.org/last-poll" in annotations, annotations
    wait_for("the unpolled task to be swept", lambda: pod(cluster, ns, "lost-n0-0") is None, 10,
             both)
    assert "lost-n0-0: deleting (orphan" in leader.log.read_text(errors="replace"), both()


# ---- keys -------------------------------------------------------------------------------

def sign_like_flyteplugd(material: bytes, meta: bytes) -> bytes:
    """resource_meta signed with the key of material (SHA-256 of it, engine/keys.h)."""
    prefix = meta[:meta.rindex(b"|") + 1]
    mac = hmac.new(hashlib.sha256(material).digest(), prefix, hashlib.sha256).digest()[:16]
    return prefix + base64.urlsafe_b64encode(mac).rstrip(b"=")


def keyed_daemon(cluster, workdir, signing: bytes, previous=()):
    workdir.mkdir(exist_ok=True)
    d = Daemon(workdir, cluster)
    d.key.write_bytes(signing)
    text = d.config.read_text()
    if previous:
        paths = []
        for i, p in enumerate(previous):
            f = workdir / f"previous-{i}.key"
            f.write_bytes(p)
            paths.append(f'"{f}"')
        text = text.replace(f'  signing_key_file: "{d.key}"\n',
                            f'  signing_key_file: "{d.key}"\n'
                            f'  signing_key_previous_files: [{", ".join(paths)}]\n')
    d.config.write_text(text)
    return d


def refused(d, meta):
    with pytest.raises(grpc.RpcError) as e:
        get(d, meta)
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED, e.value
    assert "signature" in e.value.details(), e.value.details()


def test_key_rotation(cluster, tmp_path):
    old, new, stranger = os.urandom(32), os.urandom(32), os.urandom(32)
    ns = cluster.new_namespace("rotate")
    d = keyed_daemon(cluster, tmp_path / "old", old).start()
    try:
        meta = create(d, ns, "rot1")
        assert sign_like_flyteplugd(old, meta) == meta  # the documented signature
    finally:
        d.stop()
    d = keyed_daemon(cluster, tmp_path / "new", new, previous=[old]).start()
    try:
        wait_phase(d, meta, PHASE.QUEUED)  # signed with the old key: still followed
        fresh = create(d, ns, "rot2")
        assert sign_like_flyteplugd(new, fresh) == fresh, "the new key must sign"
        refused(d, sign_like_flyteplugd(stranger, meta))
        d.stub.DeleteTask(agent_pb2.DeleteTaskRequest(resource_meta=meta), timeout=30)
        wait_for("rot1's pod to go", lambda: pod(cluster, ns, "rot1-n0-0") is None, 20, d.tail)
    finally:
        d.stop()
    # Once the old key is dropped, what it signed is refused.
    d = keyed_daemon(cluster, tmp_path / "dropped", new).start()
    try:
        refused(d, sign_like_flyteplugd(old, fresh))
        wait_phase(d, fresh, PHASE.QUEUED)
    finally:
        d.stop()


def test_key_file_read_whole(cluster, tmp_path):
    """Two 5000-byte key files equal in their first 4096 bytes are different keys."""
    first = os.urandom(5000)
    second = first[:4500] + bytes([first[4500] ^ 1]) + first[4501:]
    ns = cluster.new_namespace("longkey")
    d = keyed_daemon(cluster, tmp_path / "long", first).start()
    try:
        meta = create(d, ns, "long1")
        assert sign_like_flyteplugd(first, meta) == meta
        refused(d, sign_like_flyteplugd(second, meta))
        wait_phase(d, meta, PHASE.QUEUED)
    finally:
        d.stop()


def test_key_rotation_in_the_secret(cluster, tmp_path):
    """The Secret's `signing-key.previous` still verifies, `signing-key` signs."""
    old, new, stranger = os.urandom(32), os.urandom(32), os.urandom(32)
    name = f"fpd-rot-{uuid.uuid4().hex[:8]}"
    cluster.must("POST", "/api/v1/namespaces/default/secrets", {
        "metadata": {"name": name},
        "data": {"signing-key": base64.b64encode(new).decode(),
                 "signing-key.previous": base64.b64encode(old).decode()}})
    ns = cluster.new_namespace("secretrot")
    d = keyed_daemon(cluster, tmp_path / "secret", old)
    d.config.write_text(d.config.read_text().replace(
        f'  signing_key_file: "{d.key}"\n', f"  signing_key_secret: {name}\n"))
    d.start()
    try:
        meta = wait_for("the engine", lambda: _try_create(d, ns, "sec1"), 20, d.tail)
        assert sign_like_flyteplugd(new, meta) == meta, "signing-key must sign"
        wait_phase(d, sign_like_flyteplugd(old, meta), PHASE.QUEUED)  # previous verifies
        refused(d, sign_like_flyteplugd(stranger, meta))
        assert "resource_meta keys: 2 from Secret" in d.log.read_text(errors="replace")
    finally:
        d.stop()


def _try_create(d, ns, name):
    try:
        return create(d, ns, name)
    except grpc.RpcError:
        return None


def test_secret_without_signing_key_is_reported(cluster, tmp_path):
    name = f"fpd-bad-{uuid.uuid4().hex[:8]}"
    cluster.must("POST", "/api/v1/namespaces/default/secrets", {
        "metadata": {"name": name}, "data": {"key": base64.b64encode(os.urandom(32)).decode()}})
    d = keyed_daemon(cluster, tmp_path / "bad", os.urandom(32))
    d.config.write_text(d.config.read_text().replace(
        f'  signing_key_file: "{d.key}"\n', f"  signing_key_secret: {name}\n"))
    d.start()
    try:
        wait_for("the error", lambda: "signing key" in d.log.read_text(errors="replace")
                 and "ERROR" in d.log.read_text(errors="replace"), 20, d.tail)
        assert d.proc.poll() is None, d.tail()
        with pytest.raises(grpc.RpcError) as e:  # no engine: no tasks, but an answer
            create(d, cluster.new_namespace("nokey"), "nokey1")
        assert e.value.code() == grpc.StatusCode.UNAVAILABLE, e.value
        st, sec = cluster.request("GET", f"/api/v1/namespaces/default/secrets/{name}")
        assert set(sec["data"]) == {"key"}, "an existing Secret must never be rewritten"
    finally:
        d.stop()
