"""Hostile callers against a real `flyteplugd serve`: sockets that never speak, TLS clients that
go quiet after the handshake, requests that never finish, one address opening every
connection, and clients without the right certificate. Each scenario ends with a well-behaved
grpcio client being served.
"""

import os
import socket
import ssl
import struct
import subprocess
import threading
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from conftest import connect_raw, fpd_bin
from rawh2 import PREFACE, SETTINGS, RawClient, frame
from test_robustness import healthy, sanitized

MIB = 1024 * 1024


def check(target, creds=None, timeout=5):
    """One health Check; returns the grpc.StatusCode (OK when served)."""
    ch = grpc.secure_channel(target, creds) if creds else grpc.insecure_channel(target)
    try:
        health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=timeout)
        return grpc.StatusCode.OK
    except grpc.RpcError as e:
        return e.code()
    finally:
        ch.close()


def closed_by_peer(sock, timeout):
    """True when the server closes sock within timeout (EOF or reset); bytes it sends first,
    like a GOAWAY, are read and ignored."""
    end = time.time() + timeout
    while time.time() < end:
        sock.settimeout(max(0.01, end - time.time()))
        try:
            if not sock.recv(65536):
                return True
        except socket.timeout:
            return False
        except (ConnectionError, ssl.SSLError):
            return True
    return False


def test_silent_sockets_are_closed_at_the_handshake_deadline(make_daemon):
    """D1: max_connections sockets that never send a byte locked every client out for the
    idle timeout (30 min). With the default handshake_timeout (10 s) they are closed and a
    real client is served again."""
    n = 50
    d = make_daemon({"max_connections": n})
    silent = [connect_raw(d.port) for _ in range(n)]
    time.sleep(0.3)
    # Every slot is taken: this is the lock-out the deadline has to end.
    assert check(d.target, timeout=1) != grpc.StatusCode.OK
    start = time.time()
    assert closed_by_peer(silent[0], 12), "a silent socket was kept past handshake_timeout"
    waited = time.time() - start
    assert 8 < waited + 0.3 < 11.5, f"closed after {waited + 0.3:.1f}s, expected ~10s"
    assert all(closed_by_peer(s, 1) for s in silent), "some silent sockets were kept"
    assert check(d.target) == grpc.StatusCode.OK, d.log()
    for s in silent:
        s.close()


def test_preface_without_request_is_closed_at_first_request_timeout(make_daemon):
    """A client that sends the HTTP/2 preface and then nothing holds its slot until
    first_request_timeout, not for the idle timeout; it is told GOAWAY first. One that sends a
    request within it stays open."""
    d = make_daemon({"max_connections": 20, "first_request_timeout": "2s"})
    # A real client that connects ahead of its first call is closed too, and its call later
    # still succeeds (it reconnects).
    early = grpc.insecure_channel(d.target)
    grpc.channel_ready_future(early).result(timeout=5)
    quiet = RawClient(d.port)
    quiet.handshake()
    busy = RawClient(d.port)
    busy.handshake()
    sid = busy.request("/grpc.health.v1.Health/Check", b"\x00\x00\x00\x00\x00")
    assert busy.wait_status(sid).grpc_status == 0
    start = time.time()
    quiet.pump(lambda c: c.goaway is not None and c.closed, timeout=5)
    assert quiet.goaway is not None and quiet.closed, "quiet connection not closed"
    assert 1.5 < time.time() - start < 3.5
    busy.pump(timeout=1)
    assert not busy.closed and busy.goaway is None, "a connection that made a request was closed"
    quiet.close()
    busy.close()
    r = health_pb2_grpc.HealthStub(early).Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert r.status == health_pb2.HealthCheckResponse.SERVING
    early.close()
    healthy(d)


def test_tls_silent_after_handshake_is_closed(make_daemon, tls_cert):
    """D1 over TLS: a handshake that completes and is followed by silence (no HTTP/2 preface)
    is closed at the same deadline (default 10 s), not after the idle timeout."""
    cert, key = tls_cert
    d = make_daemon({"tls": {"cert_file": cert, "key_file": key}})
    ctx = ssl.create_default_context(cafile=str(cert))
    ctx.set_alpn_protocols(["h2"])
    raw = socket.create_connection(("127.0.0.1", d.port), timeout=5)
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    assert s.selected_alpn_protocol() == "h2"
    start = time.time()
    assert closed_by_peer(s, 12), "TLS connection silent after the handshake was kept"
    assert 8 < time.time() - start < 11.5
    s.close()
    creds = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
    assert check(d.target, creds) == grpc.StatusCode.OK


def test_max_connections_per_peer(make_daemon):
    """One address cannot take every connection: past max_connections_per_peer (default 256)
    it is refused while another address is still served."""
    d = make_daemon({"max_connections": 400})
    held = [connect_raw(d.port) for _ in range(256)]
    time.sleep(0.3)
    extra = connect_raw(d.port)
    assert closed_by_peer(extra, 2), "connection 257 from 127.0.0.1 was accepted"
    assert not closed_by_peer(held[-1], 0.2), "connection 256 from 127.0.0.1 was refused"
    # Another loopback address is another peer.
    s = socket.create_connection(("127.0.0.1", d.port), timeout=5, source_address=("127.0.0.2", 0))
    assert not closed_by_peer(s, 0.5), "a connection from 127.0.0.2 was refused"
    s.close()
    for h in held:
        h.close()
    extra.close()
    time.sleep(0.3)
    assert check(d.target) == grpc.StatusCode.OK
    # The bound is a setting.
    d = make_daemon({"max_connections": 100, "max_connections_per_peer": 5})
    held = [connect_raw(d.port) for _ in range(5)]
    extra = connect_raw(d.port)
    assert closed_by_peer(extra, 2), "a sixth connection from 127.0.0.1 was accepted"
    for h in held + [extra]:
        h.close()


class RssSampler(threading.Thread):
    """Samples the daemon's VmRSS every 20 ms; .peak is the highest seen."""

    def __init__(self, d):
        super().__init__(daemon=True)
        self.d, self.peak, self.stop = d, 0, threading.Event()

    def run(self):
        while not self.stop.is_set():
            try:
                self.peak = max(self.peak, self.d.rss_kib())
            except (FileNotFoundError, ProcessLookupError, AttributeError):
                return
            time.sleep(0.02)


def partial_messages(port, streams, body=MIB - 64, declared=16 * MIB):
    """One connection opening `streams` requests, each declaring a `declared`-byte message
    and sending `body` bytes of it, never ending. Stays within the flow-control windows the
    server advertises (1 MiB per stream, 32 MiB per connection)."""
    c = RawClient(port, timeout=30)
    c.handshake()
    # The server's SETTINGS and WINDOW_UPDATE open the windows; our SETTINGS ACK goes back
    # ahead of the DATA, so the larger stream window applies to it.
    c.pump(timeout=0.3)
    prefix = b"\x00" + struct.pack(">I", declared)
    chunk = b"x" * 16000
    sids = []
    for _ in range(streams):
        sid, raw = c.headers("/flyteidl.service.AgentMetadataService/GetAgent")
        c.send(raw)
        sent = 0
        payload = prefix
        while sent < body:
            n = min(len(chunk), body - sent)
            c.send(frame(0, 0, sid, payload + chunk[:n]))
            payload = b""
            sent += n
        sids.append(sid)
    return c, sids


def test_buffered_request_budget_and_receive_timeout(make_daemon):
    """D2: 32 connections x 30 streams each sending 1 MiB of a declared 16 MiB message took the
    daemon from 14 MiB to 979 MiB until the clients left. With a 64 MiB budget the streams past
    it get RESOURCE_EXHAUSTED, RSS stays under baseline + budget, and receive_timeout gives the
    rest back while the attackers are still connected."""
    budget = 64 * MIB
    d = make_daemon({"max_buffered_request_bytes": "64MiB", "receive_timeout": "3s",
                     "first_request_timeout": "60s"})
    for _ in range(50):
        healthy(d)
    baseline = d.rss_kib()
    sampler = RssSampler(d)
    sampler.start()
    results = [None] * 32

    def attack(i):
        results[i] = partial_messages(d.port, 30)

    threads = [threading.Thread(target=attack, args=(i,)) for i in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    refused = 0
    for c, sids in results:
        c.pump(timeout=0.2)  # refusals were sent while the attack went on
        refused += sum(1 for s in sids if c.streams[s].grpc_status == 8)
    held = d.rss_kib() - baseline
    assert d.alive(), d.log()
    # 960 MiB were offered; at most 64 MiB may be held, so most streams were refused.
    assert refused >= 32 * 30 - 64, f"only {refused} of 960 streams got RESOURCE_EXHAUSTED"
    if not sanitized():
        assert sampler.peak - baseline < budget // 1024 + 24 * 1024, \
            f"RSS peaked at {sampler.peak} KiB, baseline {baseline} KiB, budget 64 MiB"
    # The streams still receiving end at receive_timeout (DEADLINE_EXCEEDED), the attackers
    # still connected, and their memory goes back.
    for c, sids in results:
        c.pump(lambda c: all(c.streams[s].grpc_status is not None for s in sids), timeout=6)
        codes = {c.streams[s].grpc_status for s in sids}
        assert codes <= {4, 8}, codes
    sampler.stop.set()
    healthy(d)
    if not sanitized():
        end = time.time() + 5
        while d.rss_kib() > baseline + 8 * 1024 and time.time() < end:
            time.sleep(0.1)
        assert d.rss_kib() <= baseline + 8 * 1024, \
            f"RSS {d.rss_kib()} KiB after the deadline, baseline {baseline} KiB (held {held})"
    for c, _ in results:
        c.close()
    healthy(d)


def test_buffered_request_budget_default(make_daemon):
    """D2 with the defaults (128 MiB budget): the same attack is refused past the budget and
    the daemon's RSS stays under baseline + budget while the attackers hold their streams."""
    d = make_daemon()
    for _ in range(50):
        healthy(d)
    baseline = d.rss_kib()
    sampler = RssSampler(d)
    sampler.start()
    results = [None] * 32
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(
        i, partial_messages(d.port, 30))) for i in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    refused = 0
    for c, sids in results:
        c.pump(timeout=0.2)
        refused += sum(1 for s in sids if c.streams[s].grpc_status == 8)
    sampler.stop.set()
    assert d.alive(), d.log()
    assert refused >= 32 * 30 - 128, f"only {refused} of 960 streams got RESOURCE_EXHAUSTED"
    if not sanitized():
        # The budget counts what the allocator and nghttp2 really hold; 1 MiB is for code
        # pages and stack touched for the first time (128 + 3.4 MiB before it did).
        assert sampler.peak - baseline < 129 * 1024, \
            f"RSS peaked at {sampler.peak} KiB, baseline {baseline} KiB, budget 128 MiB"
    for c, _ in results:
        c.close()
    healthy(d)


def test_small_budget_refuses_then_recovers(make_daemon):
    """A stream that would take the memory held for requests over the budget gets
    RESOURCE_EXHAUSTED at once; when the holder's request times out the same request is served.
    The hog's 1000 KiB sit in a 1 MiB + 4 KiB buffer, the 250 KiB message would take 252 KiB,
    and both connections' HTTP/2 state counts: over 1300 KiB (1 MiB messages need at least
    1284 KiB)."""
    d = make_daemon({"max_recv_message_bytes": "1MiB", "max_buffered_request_bytes": "1300KiB",
                     "receive_timeout": "1s"})
    hog, sids = partial_messages(d.port, 1, body=1000 * 1024, declared=MIB)
    c = RawClient(d.port)
    c.handshake()
    c.pump(timeout=0.3)
    msg = b"\x00" + struct.pack(">I", 250 * 1024) + b"y" * 250 * 1024
    sid = c.request("/grpc.health.v1.Health/Check", msg)
    st = c.wait_status(sid)
    assert st.grpc_status == 8, (st.headers, st.trailers)
    assert "max_buffered_request_bytes" in (st.headers or {}).get("grpc-message", "")
    hog.pump(lambda h: h.streams[sids[0]].grpc_status is not None, timeout=3)
    assert hog.streams[sids[0]].grpc_status == 4
    assert "receive_timeout" in hog.streams[sids[0]].headers.get("grpc-message", "")
    sid = c.request("/grpc.health.v1.Health/Check", b"\x00\x00\x00\x00\x00")
    assert c.wait_status(sid).grpc_status == 0
    hog.close()
    c.close()


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """Two CAs; a server certificate and a client certificate from the first, a client
    certificate from the second."""
    d = tmp_path_factory.mktemp("pki")

    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=d)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for ca in ("ca", "other-ca"):
        run("req", "-x509", *ec, "-days", "2", "-subj", f"/CN={ca}", "-keyout", f"{ca}.key",
            "-out", f"{ca}.pem", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign")
    for name, ca, ext in (("server", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
                          ("client", "ca", "extendedKeyUsage=clientAuth"),
                          ("stranger", "other-ca", "extendedKeyUsage=clientAuth")):
        run("req", *ec, "-subj", f"/CN={name}", "-keyout", f"{name}.key", "-out", f"{name}.csr")
        (d / f"{name}.ext").write_text(ext + "\n")
        run("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.pem")
    return d


def test_client_certificates(make_daemon, pki):
    """tls.client_ca_file: no certificate is refused, a certificate from another CA is
    refused (and logged), one from the configured CA is served."""
    d = make_daemon({"tls": {"cert_file": pki / "server.pem", "key_file": pki / "server.key",
                             "client_ca_file": pki / "ca.pem"}})
    root = (pki / "ca.pem").read_bytes()

    def creds(name=None):
        if not name:
            return grpc.ssl_channel_credentials(root_certificates=root)
        return grpc.ssl_channel_credentials(root_certificates=root,
                                            private_key=(pki / f"{name}.key").read_bytes(),
                                            certificate_chain=(pki / f"{name}.pem").read_bytes())

    assert check(d.target, creds(), timeout=3) != grpc.StatusCode.OK
    assert check(d.target, creds("stranger"), timeout=3) != grpc.StatusCode.OK
    assert check(d.target, creds("client")) == grpc.StatusCode.OK
    log = d.log()
    assert "TLS handshake from 127.0.0.1 refused" in log, log
    # Without client_ca_file the same server takes clients with no certificate.
    plain = make_daemon({"tls": {"cert_file": pki / "server.pem",
                                 "key_file": pki / "server.key"}})
    assert check(plain.target, creds()) == grpc.StatusCode.OK


@pytest.mark.parametrize("snippet,expect", [
    ("grpc:\n  max_buffered_request_bytes: 1MiB\n",
     "grpc.max_buffered_request_bytes (1048576) must be at least 17043456: one "
     "grpc.max_recv_message_bytes (16777216) message"),
    ("grpc:\n  tls:\n    client_ca_file: /x.pem\n",
     "grpc.tls.client_ca_file needs cert_file and key_file"),
    ("grpc:\n  handshake_timeout: 10ms\n",
     '2:22: "handshake_timeout" is out of range: 10ms (allowed 100ms to 300000ms)'),
    ("admin:\n  max_connections_per_peer: 0\n",
     '2:29: "max_connections_per_peer" is out of range: 0 (allowed 1 to 65536)'),
    ("admin:\n  connection_timeout: 500ms\n",
     '2:23: "connection_timeout" is out of range: 500ms (allowed 1000ms to 3600000ms)'),
])
def test_config_rules(tmp_path, snippet, expect):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(snippet)
    r = subprocess.run([str(fpd_bin()), "check-config", str(cfg)], capture_output=True,
                       text=True)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert f"{cfg}:" in r.stderr and expect in r.stderr, r.stderr
