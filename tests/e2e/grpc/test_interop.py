"""Interop: real gRPC clients (Python grpcio with the flyteidl stubs propeller's protocol is
generated from, and grpcurl on grpc-go) against `flyteplugd serve`, over h2c and TLS."""

import json
import os
import subprocess
import time
from pathlib import Path

import grpc
import pytest
from flyteidl.admin import agent_pb2
from flyteidl.service import agent_pb2_grpc
from google.protobuf import descriptor_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from conftest import cache_dir, connect_raw
from rawh2 import RawClient, grpc_message

METADATA = "flyteidl.service.AgentMetadataService"
ASYNC = "flyteidl.service.AsyncAgentService"


def channel(d, tls=None):
    if tls is None:
        return grpc.insecure_channel(d.target)
    creds = grpc.ssl_channel_credentials(root_certificates=Path(tls[0]).read_bytes())
    return grpc.secure_channel(d.target, creds)


@pytest.fixture(params=["h2c", "tls"])
def served(request, make_daemon, tls_cert):
    """(daemon, channel) over plaintext h2c and over TLS with ALPN h2."""
    if request.param == "h2c":
        d = make_daemon()
        ch = channel(d)
    else:
        d = make_daemon({"tls": {"cert_file": tls_cert[0], "key_file": tls_cert[1]}})
        assert "(TLS)" in d.log()
        ch = channel(d, tls_cert)
    yield d, ch
    ch.close()


def raw_call(ch, path, payload, timeout=5):
    """A unary call with the request given as raw bytes (to send what no stub would)."""
    return ch.unary_unary(path, request_serializer=None,
                          response_deserializer=None)(payload, timeout=timeout)


def test_health_check(served):
    _, ch = served
    stub = health_pb2_grpc.HealthStub(ch)
    for svc in ("", METADATA, ASYNC, "grpc.health.v1.Health"):
        resp = stub.Check(health_pb2.HealthCheckRequest(service=svc), timeout=5)
        assert resp.status == health_pb2.HealthCheckResponse.SERVING, svc
    with pytest.raises(grpc.RpcError) as e:
        stub.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=5)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND


def test_list_agents(served):
    _, ch = served
    resp = agent_pb2_grpc.AgentMetadataServiceStub(ch).ListAgents(
        agent_pb2.ListAgentsRequest(), timeout=5)
    assert len(resp.agents) >= 1
    names = [a.name for a in resp.agents]
    assert len(names) == len(set(names))
    for agent in resp.agents:
        assert not agent.is_sync
        assert agent.supported_task_categories, agent.name
        cats = {(c.name, c.version) for c in agent.supported_task_categories}
        # The deprecated list holds each category's name (older propellers route by it).
        assert set(agent.supported_task_types) == {n for n, _ in cats}


def test_get_agent(served):
    _, ch = served
    stub = agent_pb2_grpc.AgentMetadataServiceStub(ch)
    listed = stub.ListAgents(agent_pb2.ListAgentsRequest(), timeout=5).agents
    for agent in listed:
        got = stub.GetAgent(agent_pb2.GetAgentRequest(name=agent.name), timeout=5).agent
        assert got == agent
    with pytest.raises(grpc.RpcError) as e:
        stub.GetAgent(agent_pb2.GetAgentRequest(name="no-such-agent"), timeout=5)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    assert "no-such-agent" in e.value.details()


def test_async_service_without_kubernetes_and_invalid(served):
    """These daemons run with no Kubernetes API: task calls say so (tests/e2e/engine runs them
    against a real API server); calls propeller never makes are UNIMPLEMENTED."""
    _, ch = served
    stub = agent_pb2_grpc.AsyncAgentServiceStub(ch)
    with pytest.raises(grpc.RpcError) as e:
        stub.CreateTask(agent_pb2.CreateTaskRequest(output_prefix="s3://b/p"), timeout=5)
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "no Kubernetes API" in e.value.details()
    with pytest.raises(grpc.RpcError) as e:
        stub.GetTask(agent_pb2.GetTaskRequest(resource_meta=b"x"), timeout=5)
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE
    with pytest.raises(grpc.RpcError) as e:
        stub.GetTaskMetrics(agent_pb2.GetTaskMetricsRequest(resource_meta=b"x"), timeout=5)
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED
    # Field 2 (template) declared 127 bytes long with 1 present: not a CreateTaskRequest.
    with pytest.raises(grpc.RpcError) as e:
        raw_call(ch, f"/{ASYNC}/CreateTask", b"\x12\x7fx")
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert e.value.details() == "cannot decode flyteidl.admin.CreateTaskRequest"


def test_unknown_method_and_service(served):
    _, ch = served
    for path in (f"/{METADATA}/Nope", "/no.Such/Method",
                 "/flyteidl.service.SyncAgentService/ExecuteTaskSync"):
        with pytest.raises(grpc.RpcError) as e:
            raw_call(ch, path, b"")
        assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED, path


def test_message_too_large(make_daemon):
    d = make_daemon({"max_recv_message_bytes": 4096})
    with channel(d) as ch:
        name = "x" * 5000
        with pytest.raises(grpc.RpcError) as e:
            agent_pb2_grpc.AgentMetadataServiceStub(ch).GetAgent(
                agent_pb2.GetAgentRequest(name=name), timeout=5)
        assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "larger than max" in e.value.details()
        # The same channel still works afterwards.
        health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=5)


def name_request(n):
    """A GetAgentRequest whose name is n bytes: tag, varint length, bytes."""
    varint, v = b"", n
    while True:
        varint += bytes([(v & 0x7f) | (0x80 if v > 0x7f else 0)])
        v >>= 7
        if not v:
            break
    return b"\x0a" + varint + b"y" * n


def test_default_limit_is_16_mib(daemon):
    limit = 16 * 1024 * 1024
    with channel(daemon) as ch:
        call = ch.unary_unary(f"/{METADATA}/GetAgent")
        with pytest.raises(grpc.RpcError) as e:
            call(name_request(limit), timeout=30)  # 16 MiB + 5 bytes
        assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        with pytest.raises(grpc.RpcError) as e:
            call(name_request(limit - 5), timeout=30)  # exactly 16 MiB
        assert e.value.code() == grpc.StatusCode.NOT_FOUND  # decoded: no such agent


def test_deadline_on_watch(served):
    """Health/Watch never ends on its own: the client's deadline ends it."""
    _, ch = served
    stream = health_pb2_grpc.HealthStub(ch).Watch(health_pb2.HealthCheckRequest(), timeout=0.5)
    first = next(stream)
    assert first.status == health_pb2.HealthCheckResponse.SERVING
    t0 = time.time()
    with pytest.raises(grpc.RpcError) as e:
        next(stream)
    assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert time.time() - t0 < 3


def test_server_enforces_grpc_timeout(daemon):
    """The server itself ends the call at the grpc-timeout with DEADLINE_EXCEEDED trailers
    (a raw HTTP/2 client that never cancels proves it is not the client's doing)."""
    c = RawClient(daemon.port)
    c.handshake()
    t0 = time.time()
    sid = c.request("/grpc.health.v1.Health/Watch", grpc_message(b""),
                    extra=[("grpc-timeout", "300m")])
    st = c.wait_status(sid, timeout=5)
    elapsed = time.time() - t0
    c.close()
    assert st.grpc_status == 4, (st.headers, st.trailers)
    assert len(st.data) == 5 + 2  # SERVING first, then the deadline
    assert 0.25 <= elapsed < 2, elapsed


def test_graceful_shutdown_finishes_in_flight_call(make_daemon):
    """SIGTERM: GOAWAY to connected clients, new connections refused, a request already in
    flight still completes, then exit 0."""
    d = make_daemon({"drain_timeout": "10s"})
    c = RawClient(d.port)
    c.handshake()
    sid = c.request(f"/{METADATA}/ListAgents", b"\x00\x00\x00", end=False)  # half a prefix
    c.pump(timeout=0.3)
    d.terminate()
    assert c.pump(lambda c: c.goaway is not None, timeout=5)
    assert c.goaway == (sid, 0)  # NO_ERROR, and our stream is below the line
    with pytest.raises(OSError):
        connect_raw(d.port, timeout=1).recv(1)
    assert d.alive()
    c.data(sid, b"\x00\x00", end=True)
    st = c.wait_status(sid)
    assert st.grpc_status == 0
    resp = agent_pb2.ListAgentsResponse.FromString(st.data[5:])
    assert len(resp.agents) >= 1
    c.pump(timeout=2)
    assert c.closed  # the server closed the drained connection
    c.close()
    log = d.stop(timeout=10)
    assert "drained" in log


def test_drain_timeout_bounds_shutdown(make_daemon):
    d = make_daemon({"drain_timeout": "1s"})
    c = RawClient(d.port)
    c.handshake()
    c.request(f"/{METADATA}/ListAgents", b"", end=False)  # never finished
    c.pump(timeout=0.2)
    t0 = time.time()
    log = d.stop(timeout=10)
    assert 0.8 < time.time() - t0 < 5
    assert "drain timeout" in log
    c.close()


def test_watch_ends_on_shutdown(make_daemon):
    d = make_daemon()
    ch = channel(d)
    stream = health_pb2_grpc.HealthStub(ch).Watch(health_pb2.HealthCheckRequest(), timeout=30)
    assert next(stream).status == health_pb2.HealthCheckResponse.SERVING
    d.terminate()
    assert next(stream).status == health_pb2.HealthCheckResponse.NOT_SERVING
    with pytest.raises(grpc.RpcError) as e:
        next(stream)
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE
    ch.close()
    d.stop(timeout=10)


def test_max_connections(make_daemon):
    d = make_daemon({"max_connections": 2})

    def served(c):
        sid = c.request("/grpc.health.v1.Health/Check", grpc_message(b""))
        return c.wait_status(sid).grpc_status == 0

    clients = [RawClient(d.port) for _ in range(2)]
    for c in clients:
        c.handshake()
        assert served(c)
    extra = connect_raw(d.port)
    extra.settimeout(5)
    assert extra.recv(1) == b"", "a third connection should be closed at once"
    extra.close()
    clients[0].close()
    time.sleep(0.3)
    again = RawClient(d.port)  # a slot is free again
    again.handshake()
    assert served(again)
    for c in clients[1:] + [again]:
        c.close()


def test_idle_timeout_closes_connection(make_daemon):
    d = make_daemon({"idle_timeout": "1s"})
    sock = connect_raw(d.port)
    sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
    sock.settimeout(5)
    t0 = time.time()
    received = b""
    while True:
        data = sock.recv(65536)
        if not data:
            break
        received += data
    assert 0.9 < time.time() - t0 < 4
    assert b"\x07\x00\x00\x00\x00\x00" in received  # a GOAWAY frame header precedes the close
    sock.close()


# --- Go client: grpcurl on grpc-go ------------------------------------------------------

GOCLIENT = Path(__file__).resolve().parent / "goclient"


@pytest.fixture(scope="session")
def grpcurl():
    """grpcurl built from the pinned module in goclient/ (cached under $FPD_CACHE_DIR/tools)."""
    tools = cache_dir() / "tools"
    tools.mkdir(parents=True, exist_ok=True)
    stamp = (GOCLIENT / "go.sum").read_bytes()
    binary, stamp_file = tools / "grpcurl", tools / "grpcurl.go.sum"
    if not binary.exists() or not stamp_file.exists() or stamp_file.read_bytes() != stamp:
        subprocess.run(["go", "build", "-o", str(binary),
                        "github.com/fullstorydev/grpcurl/cmd/grpcurl"],
                       cwd=GOCLIENT, check=True, timeout=900)
        stamp_file.write_bytes(stamp)
    return binary


@pytest.fixture(scope="session")
def protoset(tmp_path_factory):
    """The flyteidl service descriptors (and their imports) from the PyPI flyteidl package."""
    from flyteidl.service import agent_pb2 as service_pb2
    fds = descriptor_pb2.FileDescriptorSet()
    seen = set()

    def add(fd):
        if fd.name in seen:
            return
        seen.add(fd.name)
        for dep in fd.dependencies:
            add(dep)
        proto = descriptor_pb2.FileDescriptorProto()
        fd.CopyToProto(proto)
        fds.file.append(proto)

    add(service_pb2.DESCRIPTOR)
    add(health_pb2.DESCRIPTOR)
    path = tmp_path_factory.mktemp("protoset") / "flyteidl.protoset"
    path.write_bytes(fds.SerializeToString())
    return path


def run_grpcurl(binary, protoset, d, method, data, tls=None, extra=()):
    args = [str(binary), "-protoset", str(protoset), "-format-error", "-max-time", "10"]
    args += ["-cacert", str(tls[0])] if tls else ["-plaintext"]
    args += list(extra) + ["-d", json.dumps(data), d.target, method]
    return subprocess.run(args, capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("mode", ["h2c", "tls"])
def test_go_client(mode, make_daemon, tls_cert, grpcurl, protoset):
    tls = tls_cert if mode == "tls" else None
    settings = {"tls": {"cert_file": tls_cert[0], "key_file": tls_cert[1]}} if tls else {}
    d = make_daemon(settings)
    r = run_grpcurl(grpcurl, protoset, d, f"{METADATA}/ListAgents", {}, tls)
    assert r.returncode == 0, r.stderr
    agents = json.loads(r.stdout)["agents"]
    assert agents and all(a["supportedTaskCategories"] for a in agents)
    name = agents[0]["name"]
    r = run_grpcurl(grpcurl, protoset, d, f"{METADATA}/GetAgent", {"name": name}, tls)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["agent"] == agents[0]
    r = run_grpcurl(grpcurl, protoset, d, f"{METADATA}/GetAgent", {"name": "nope"}, tls)
    assert json.loads(r.stderr)["code"] == 5  # NOT_FOUND
    r = run_grpcurl(grpcurl, protoset, d, "grpc.health.v1.Health/Check", {}, tls)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["status"] == "SERVING"
    r = run_grpcurl(grpcurl, protoset, d, f"{ASYNC}/CreateTask", {"outputPrefix": "s3://b"}, tls)
    assert json.loads(r.stderr)["code"] == 14  # UNAVAILABLE: these daemons have no Kubernetes
    r = run_grpcurl(grpcurl, protoset, d, "grpc.health.v1.Health/Watch", {}, tls,
                    extra=["-max-time", "0.5"])
    assert json.loads(r.stdout.split("}")[0] + "}")["status"] == "SERVING"
    assert json.loads(r.stderr)["code"] == 4  # DEADLINE_EXCEEDED
