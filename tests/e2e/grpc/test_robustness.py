"""Robustness: hostile and broken HTTP/2 clients against one long-running `flyteplugd serve`.

After each scenario the daemon must still answer a well-behaved grpcio client, and its RSS
(VmRSS) must come back near the baseline taken after warm-up. Under a sanitizer build the RSS
bounds are not meaningful (ASan's quarantine and shadow memory dominate) and are skipped; every
other check still runs, and the daemon's exit is checked for sanitizer reports at the end.
"""

import resource
import socket
import struct
import subprocess
import time

import grpc
import pytest
from flyteidl.admin import agent_pb2
from flyteidl.service import agent_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from conftest import Daemon, connect_raw, fpd_bin
from rawh2 import DATA, HEADERS, RST_STREAM, RawClient, frame, grpc_message, PREFACE

METADATA = "/flyteidl.service.AgentMetadataService"
# RSS may exceed the baseline by this much once a scenario is over (allocator slack).
RSS_SLACK_KIB = 3 * 1024


def sanitized():
    out = subprocess.run(["ldd", str(fpd_bin())], capture_output=True, text=True).stdout
    return "libasan" in out or "libubsan" in out


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    # Every client here is 127.0.0.1: the per-peer bound would be the first limit hit.
    daemon = Daemon(tmp_path_factory.mktemp("robust"), {"max_concurrent_streams": 1024,
                                                          "max_connections": 4096,
                                                          "max_connections_per_peer": 4096}).start()
    daemon.sanitized = sanitized()
    healthy(daemon)
    for _ in range(200):  # warm-up: allocator arenas, TLS-free code paths
        healthy(daemon)
    daemon.baseline = daemon.rss_kib()
    yield daemon
    daemon.stop()


def healthy(d):
    """A well-behaved client gets correct answers."""
    with grpc.insecure_channel(d.target) as ch:
        r = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert r.status == health_pb2.HealthCheckResponse.SERVING
        agents = agent_pb2_grpc.AgentMetadataServiceStub(ch).ListAgents(
            agent_pb2.ListAgentsRequest(), timeout=5).agents
        assert agents


def settle(d, limit_kib=RSS_SLACK_KIB, timeout=5.0):
    """Waits for RSS to come back within limit_kib of the baseline."""
    assert d.alive(), d.log()
    healthy(d)
    if d.sanitized:
        return
    end = time.time() + timeout
    while True:
        rss = d.rss_kib()
        if rss <= d.baseline + limit_kib:
            return
        if time.time() > end:
            pytest.fail(f"RSS {rss} KiB stayed above baseline {d.baseline} KiB + {limit_kib}")
        time.sleep(0.1)


def test_garbage_bytes(d):
    for junk in (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", bytes(range(256)) * 64,
                 b"\x00" * 100000, PREFACE + b"\xff" * 5000):
        s = connect_raw(d.port)
        try:
            s.sendall(junk)
        except OSError:
            pass  # the server may close before everything is sent
        s.settimeout(5)
        try:
            while s.recv(65536):
                pass
        except ConnectionResetError:
            pass
        s.close()
    settle(d)


def test_truncated_preface(d):
    for cut in (1, 10, len(PREFACE) - 1):
        s = connect_raw(d.port)
        s.sendall(PREFACE[:cut])
        healthy(d)  # others are served while this one waits
        s.close()
    # A wrong preface of the right length is refused at once.
    s = connect_raw(d.port)
    s.sendall(b"PRI * HTTP/1.1\r\n\r\nSM\r\n\r\n")
    s.settimeout(5)
    assert s.recv(65536) is not None
    s.close()
    settle(d)


def test_message_one_byte_per_data_frame(d):
    c = RawClient(d.port)
    c.handshake()
    body = grpc_message(agent_pb2.GetAgentRequest(name="no-such-agent-" + "x" * 200)
                        .SerializeToString())
    sid = c.request(f"{METADATA}/GetAgent", body, chunk=1)
    st = c.wait_status(sid)
    assert st.grpc_status == 5, st.trailers or st.headers  # decoded whole: NOT_FOUND
    assert "no-such-agent-" in st.headers.get("grpc-message", "")
    body = grpc_message(agent_pb2.ListAgentsRequest().SerializeToString())
    sid = c.request(f"{METADATA}/ListAgents", body, chunk=1)
    st = c.wait_status(sid)
    assert st.grpc_status == 0
    assert agent_pb2.ListAgentsResponse.FromString(st.data[5:]).agents
    c.close()
    settle(d)


def test_declared_length_larger_than_sent(d):
    c = RawClient(d.port)
    c.handshake()
    lying = b"\x00" + struct.pack(">I", 1000) + b"only ten b"
    sid = c.request(f"{METADATA}/GetAgent", lying)  # ends the stream after 15 bytes
    st = c.wait_status(sid)
    assert st.grpc_status == 13
    assert st.headers["grpc-message"] == "request ended mid-message (10 of 1000 bytes received)"
    # Declared over the 16 MiB limit: refused before any body arrives.
    sid = c.request(f"{METADATA}/GetAgent", b"\x00" + struct.pack(">I", 0xffffffff), end=False)
    st = c.wait_status(sid)
    assert st.grpc_status == 8
    # The connection still works.
    sid = c.request("/grpc.health.v1.Health/Check", grpc_message(b""))
    assert c.wait_status(sid).grpc_status == 0
    c.close()
    settle(d)


def test_10000_streams_opened_and_reset(d):
    """Requests that reach a handler (Watch stays open) and requests still receiving, each
    reset by the client. nghttp2's rapid-reset guard may end a connection with GOAWAY; the
    client then reconnects, as real clients do."""
    total, c, opened = 10000, None, 0
    watch = grpc_message(b"")
    while opened < total:
        if c is None or c.closed or c.goaway:
            if c:
                c.close()
            c = RawClient(d.port)
            c.handshake()
        batch = []
        for _ in range(min(100, total - opened)):
            if opened % 2:
                sid, raw = c.headers("/grpc.health.v1.Health/Watch")
                raw += frame(DATA, 1, sid, watch)
            else:
                sid, raw = c.headers(f"{METADATA}/GetAgent")
                raw += frame(DATA, 0, sid, b"\x00\x00\x00")
            batch.append(raw + frame(RST_STREAM, 0, sid, struct.pack(">I", 8)))
            opened += 1
        try:
            c.send(b"".join(batch))
        except OSError:
            c.closed = True
        c.pump(timeout=0.05)
        c.streams.clear()
    c.close()
    time.sleep(0.5)
    settle(d)


def test_slow_readers(d):
    """Clients that ask for a lot and read nothing: the server stops reading them once their
    output backs up, so memory stays bounded, and others are still served."""
    readers = []
    req = grpc_message(agent_pb2.ListAgentsRequest().SerializeToString())
    for _ in range(20):
        c = RawClient(d.port, window_updates=False)
        c.handshake()
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raws = []
        for _ in range(1000):
            sid, raw = c.headers(f"{METADATA}/ListAgents")
            raws.append(raw + frame(DATA, 1, sid, req))
        c.sock.setblocking(False)
        data = b"".join(raws)
        try:
            while data:
                n = c.sock.send(data)
                data = data[n:]
        except BlockingIOError:
            pass  # the server stopped reading us: what the test is about
        c.sock.setblocking(True)
        readers.append(c)
    time.sleep(0.5)
    healthy(d)
    if not d.sanitized:
        held = d.rss_kib() - d.baseline
        assert held < 40 * 1024, f"20 slow readers hold {held} KiB"
    for c in readers:
        c.close()
    settle(d)


def test_1000_idle_connections(d):
    socks = []
    for i in range(1000):
        s = connect_raw(d.port)
        if i % 2:  # half complete the HTTP/2 preface, half say nothing at all
            s.sendall(PREFACE + frame(4, 0, 0))
        socks.append(s)
    time.sleep(0.5)
    healthy(d)
    if not d.sanitized:
        per_conn = (d.rss_kib() - d.baseline) / 1000
        assert per_conn < 64, f"{per_conn:.1f} KiB per idle connection"
    for s in socks:
        s.close()
    time.sleep(0.5)
    settle(d)
