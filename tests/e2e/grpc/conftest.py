"""Fixtures for the gRPC interop and robustness tests.

Each test talks to the real `flyteplugd serve` binary (FPD_BIN, default build/daemon/flyteplugd)
listening on 127.0.0.1 with port 0; the bound port is read from the daemon's log line. When a
daemon stops, the test fails if it did not exit 0 after SIGTERM or if its stderr holds a
sanitizer report (the same tests run against a -DFPD_SANITIZE=ON build).
"""

import os
import re
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "SUMMARY: UndefinedBehaviorSanitizer", "SUMMARY: AddressSanitizer")


def fpd_bin():
    path = Path(os.environ.get("FPD_BIN", REPO / "build" / "daemon" / "flyteplugd"))
    if not path.exists():
        pytest.fail(f"flyteplugd binary not found at {path} (set FPD_BIN or build first)")
    return path


def cache_dir():
    base = os.environ.get("FPD_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "flyteplugd")
    return Path(base)


class Daemon:
    """A running flyteplugd with its own config, log file and port."""

    def __init__(self, workdir, grpc_settings=None, log_level="info"):
        self.workdir = Path(workdir)
        settings = {"listen": "127.0.0.1:0"}
        settings.update(grpc_settings or {})
        lines = ["log:", f"  level: {log_level}", "grpc:"]
        for key, value in settings.items():
            if isinstance(value, dict):
                lines.append(f"  {key}:")
                lines += [f"    {k}: {v}" for k, v in value.items()]
            else:
                lines.append(f"  {key}: {value}")
        lines += ["admin:", "  enabled: false"]
        self.config = self.workdir / "flyteplugd.yaml"
        self.config.write_text("\n".join(lines) + "\n")
        self.stderr_path = self.workdir / "flyteplugd.stderr"
        self.proc = None
        self.port = None
        self.terminated = False

    def start(self):
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen([str(fpd_bin()), "serve", "--config", str(self.config)],
                                     stdin=subprocess.DEVNULL, stdout=self._stderr,
                                     stderr=self._stderr, env=env)
        deadline = time.time() + 15
        while time.time() < deadline:
            m = re.search(r"listening on \S+:(\d+) \((h2c|TLS)\)", self.log())
            if m:
                self.port = int(m.group(1))
                return self
            if self.proc.poll() is not None:
                pytest.fail(f"flyteplugd exited with {self.proc.returncode}:\n{self.log()}")
            time.sleep(0.02)
        pytest.fail(f"flyteplugd did not start listening:\n{self.log()}")

    @property
    def target(self):
        return f"127.0.0.1:{self.port}"

    def log(self):
        try:
            return self.stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def rss_kib(self):
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))

    def alive(self):
        return self.proc.poll() is None

    def terminate(self):
        """Sends SIGTERM once (a second one would mean "exit now")."""
        if not self.terminated and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        self.terminated = True

    def stop(self, timeout=30):
        """SIGTERM, wait, and assert a clean exit with no sanitizer report."""
        self.terminate()
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"flyteplugd did not exit within {timeout}s of SIGTERM:\n{self.log()}")
        finally:
            self._stderr.close()
        log = self.log()
        reports = [m for m in SANITIZER_MARKERS if m in log]
        assert not reports, f"sanitizer report in flyteplugd stderr:\n{log}"
        assert rc == 0, f"flyteplugd exited with {rc} after SIGTERM:\n{log}"
        return log


@pytest.fixture
def make_daemon(tmp_path):
    """Factory: make_daemon(grpc_settings) starts a daemon; all are stopped (and checked) at
    the end of the test."""
    started = []

    def make(grpc_settings=None, **kw):
        d = Daemon(tempfile.mkdtemp(dir=tmp_path), grpc_settings, **kw).start()
        started.append(d)
        return d

    yield make
    for d in started:
        if d.proc.returncode is None:
            d.stop()


@pytest.fixture
def daemon(make_daemon):
    return make_daemon()


@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 / localhost: (cert_path, key_path)."""
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                    "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def connect_raw(port, timeout=5.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s
