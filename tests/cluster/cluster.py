#!/usr/bin/env python3
"""A real kube-apiserver + etcd on 127.0.0.1 for flyteplugd's tests.

Library:

    from cluster import Cluster
    with Cluster() as c:
        ns = c.new_namespace("pods")
        status, pod = c.request("POST", f"/api/v1/namespaces/{ns}/pods", {...})

CLI (for ctest fixtures and the demo):

    python3 tests/cluster/cluster.py up --dir DIR     # detached; prints the kubeconfig path
    set -a; . DIR/env; set +a                          # KUBECONFIG, FPD_TEST_KUBE_SERVER, ...
    python3 tests/cluster/cluster.py kill-apiserver --dir DIR
    python3 tests/cluster/cluster.py start-apiserver --dir DIR
    python3 tests/cluster/cluster.py compact --dir DIR
    python3 tests/cluster/cluster.py down --dir DIR

Only the Python standard library and the `openssl` command are needed. The binaries come from
tests/cluster/build.sh (real upstream kube-apiserver and etcd, built from pinned Go modules).
Nothing here fakes the API: there is simply no scheduler, kubelet or controller-manager, so
the helpers below write what those would (pod status, namespace service accounts).
"""

from __future__ import annotations

import argparse
import atexit
import base64
import ctypes
import http.client
import json
import os
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any, Iterable, Iterator

HERE = Path(__file__).resolve().parent
BUILD_SH = HERE / "build.sh"
MARKER = ".fpd-test-cluster"

REALITY = (
    "real kube-apiserver {kube} + etcd {etcd}; no scheduler/kubelet/controller-manager: "
    "pod status and namespace service accounts are written by the test helpers"
)


class ClusterError(RuntimeError):
    pass


# ----------------------------------------------------------------------------- processes

_PR_SET_PDEATHSIG = 1


def _child_setup(die_with_parent: bool):
    """preexec_fn: own process group, unblocked signals, SIGKILL when our parent dies."""

    parent = os.getpid()
    prctl = None
    if die_with_parent:
        try:  # looked up before fork(): no dlopen in the child
            prctl = ctypes.CDLL(None, use_errno=True).prctl
        except (OSError, AttributeError):  # not Linux: the process group + atexit still apply
            prctl = None

    def fn():
        os.setpgid(0, 0)
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        if prctl is not None:
            # SIGKILL when the thread that started us dies (Python: the calling thread).
            prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
            # The parent may already be gone between fork() and prctl().
            if os.getppid() != parent:
                os._exit(1)

    return fn


def _stop_process(proc: subprocess.Popen | None, timeout: float = 15.0) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, n: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


def build_binaries() -> Path:
    """Runs build.sh (instant when the cache is warm) and returns the bin dir."""
    env_dir = os.environ.get("FPD_CLUSTER_BIN_DIR")
    if env_dir:
        return Path(env_dir)
    out = subprocess.run(["bash", str(BUILD_SH)], stdout=subprocess.PIPE, check=False, text=True)
    if out.returncode != 0:
        raise ClusterError(f"{BUILD_SH} failed with exit code {out.returncode}")
    return Path(out.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- controllers
#
# Real controllers (kwok, kube-scheduler, kube-controller-manager, Kueue, KubeRay), built by
# tests/cluster/controllers/build.sh from their pinned Go modules and run as local processes
# against this API server with the admin kubeconfig. See tests/cluster/README.md.

CONTROLLERS_BUILD_SH = HERE / "controllers" / "build.sh"
KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node"

# One Stage of our own on top of kwok's "fast" stages (taken from the kwok module): a running
# pod that nothing owns and that is not to be restarted (restartPolicy Never, as a task pod)
# completes after a short delay, as the same pod would when its command exits 0.
KWOK_STAGE_COMPLETE_UNOWNED = """apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: fpd-pod-complete-unowned
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.metadata.ownerReferences'
      operator: 'DoesNotExist'
    - key: '.spec.restartPolicy'
      operator: 'In'
      values: ['Never']
    - key: '.status.phase'
      operator: 'In'
      values: ['Running']
  delay:
    durationMilliseconds: {delay_ms}
  next:
    statusTemplate: |
      {{{{ $now := Now }}}}
      conditions:
      - lastTransitionTime: {{{{ $now | Quote }}}}
        status: "False"
        type: Ready
        reason: PodCompleted
      - lastTransitionTime: {{{{ $now | Quote }}}}
        status: "False"
        type: ContainersReady
        reason: PodCompleted
      containerStatuses:
      {{{{ range .spec.containers }}}}
      - image: {{{{ .image | Quote }}}}
        name: {{{{ .name | Quote }}}}
        ready: false
        restartCount: 0
        started: false
        state:
          terminated:
            exitCode: 0
            finishedAt: {{{{ $now | Quote }}}}
            reason: Completed
            startedAt: {{{{ $now | Quote }}}}
      {{{{ end }}}}
      phase: Succeeded
"""


def host_ip() -> str:
    """This host's IPv4 address on its default route (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))
            ip = s.getsockname()[0]
        except OSError as e:
            raise ClusterError(f"no non-loopback IPv4 address: {e}") from None
    if ip.startswith("127.") or ip == "0.0.0.0":
        raise ClusterError(f"no non-loopback IPv4 address (got {ip})")
    return ip


def build_controllers(*names: str) -> Path:
    """Runs controllers/build.sh for `names` (all when empty; instant when cached) and returns
    its bin dir: <name> binaries, <name>.version, kwok.stages/, kueue.crds/, kuberay.crds/."""
    env_dir = os.environ.get("FPD_CONTROLLERS_BIN_DIR")
    if env_dir:
        return Path(env_dir)
    out = subprocess.run(["bash", str(CONTROLLERS_BUILD_SH), *names], stdout=subprocess.PIPE,
                         check=False, text=True)
    if out.returncode != 0:
        raise ClusterError(f"{CONTROLLERS_BUILD_SH} {' '.join(names)} failed with exit code {out.returncode}")
    return Path(out.stdout.strip().splitlines()[-1])


class Controller:
    """A controller process started by Cluster.start_controller (stopped with the cluster)."""

    def __init__(self, name: str, proc: subprocess.Popen, log: Path, version: str):
        self.name, self.proc, self.log, self.version = name, proc, log, version
        self.on_stop = None  # called after the process has stopped

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self, n: int = 30) -> str:
        return _tail(self.log, n)

    def stop(self) -> None:
        _stop_process(self.proc)
        if self.on_stop is not None:
            self.on_stop()


# ----------------------------------------------------------------------------- certificates


def _openssl(*args: str, cwd: Path) -> None:
    r = subprocess.run(["openssl", *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, check=False)
    if r.returncode != 0:
        raise ClusterError(f"openssl {' '.join(args)} failed:\n{r.stdout}")


# TLS test certificates the apiserver serves to a client asking for their name (SNI).
SNI_CERTS = (("cn-only", "cn-only.test"), ("expired", "expired.test"))


def make_pki(pki: Path) -> None:
    """CA, serving cert (127.0.0.1, localhost), admin client cert (O=system:masters),
    service-account RSA key pair; for TLS tests a CN-only and an expired serving cert (served by
    SNI, SNI_CERTS) and an unrelated CA. EC P-256 for TLS keys: fast to generate."""
    pki.mkdir(parents=True, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "3650",
             "-subj", "/CN=flyteplugd-test-ca",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=pki)

    def leaf(name: str, subj: str, ext: str, days: str = "3650") -> None:
        (pki / f"{name}.ext").write_text(ext)
        _openssl("req", "-new", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr",
                 "-subj", subj, cwd=pki)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                 "-CAcreateserial", "-days", days, "-out", f"{name}.crt",
                 "-extfile", f"{name}.ext", cwd=pki)

    leaf("apiserver", "/CN=kube-apiserver",
         "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
         "extendedKeyUsage=serverAuth\n"
         "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,"
         "DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:10.0.0.1\n")
    # Served for their SNI names only (SNI_CERTS), for TLS tests: a certificate whose only
    # name is its subject CN, and one that has expired; and a CA that signed neither.
    serving = "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
    leaf("cn-only", "/CN=cn-only.test", serving)
    leaf("expired", "/CN=expired.test", serving + "subjectAltName=DNS:expired.test\n", days="-1")
    _openssl("req", "-x509", *ec, "-keyout", "other-ca.key", "-out", "other-ca.crt", "-days", "3650",
             "-subj", "/CN=flyteplugd-test-other-ca",
             "-addext", "basicConstraints=critical,CA:TRUE", cwd=pki)
    leaf("admin", "/O=system:masters/CN=flyteplugd-test-admin",
         "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
         "extendedKeyUsage=clientAuth\n")
    _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "sa.key",
             cwd=pki)
    _openssl("pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=pki)
    for p in pki.iterdir():
        if p.suffix in (".key",):
            p.chmod(0o600)


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


# ----------------------------------------------------------------------------- the cluster


class Cluster:
    """etcd + kube-apiserver on 127.0.0.1, in a private work dir.

    Attributes after start(): kubeconfig, server, ca_file, client_cert, client_key, etcd_url,
    workdir, kube_version, etcd_version.
    """

    def __init__(self, workdir: str | os.PathLike | None = None, bin_dir: str | os.PathLike | None = None,
                 *, watch_cache: bool = True, keep: bool | None = None,
                 die_with_parent: bool = True, extra_apiserver_args: Iterable[str] = (),
                 quiet: bool = False, etcd_quota_bytes: int = 256 << 20,
                 apiserver_memory_limit: str | None = None,
                 max_requests_inflight: int | None = None,
                 max_mutating_requests_inflight: int | None = None):
        self._given_dir = workdir is not None
        self._workdir_arg = Path(workdir) if workdir is not None else None
        self._bin_dir_arg = Path(bin_dir) if bin_dir is not None else None
        self.watch_cache = watch_cache
        self.keep = keep if keep is not None else os.environ.get("FPD_CLUSTER_KEEP") == "1"
        self.die_with_parent = die_with_parent
        self.extra_apiserver_args = list(extra_apiserver_args)
        self.quiet = quiet
        # Scale: etcd's backend quota (--quota-backend-bytes; ~4-6 KB per pod) and
        # kube-apiserver's soft memory limit (GOMEMLIMIT; None: $GOMEMLIMIT, else 768MiB;
        # "": none).
        # The in-flight limits (None: kube-apiserver's defaults, 400 and 200) make the server
        # answer 429 early; without API Priority and Fairness (off here) they are the
        # max-in-flight filter, which exempts system:masters (the admin client).
        self.etcd_quota_bytes = int(etcd_quota_bytes)
        self.apiserver_memory_limit = apiserver_memory_limit
        self.max_requests_inflight = max_requests_inflight
        self.max_mutating_requests_inflight = max_mutating_requests_inflight
        self.etcd_proc: subprocess.Popen | None = None
        self.apiserver_proc: subprocess.Popen | None = None
        self._started = False
        self._lock = threading.RLock()

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> "Cluster":
        with self._lock:
            if self._started:
                return self
            bin_dir = self._bin_dir_arg or build_binaries()
            self.kube_apiserver_bin = bin_dir / "kube-apiserver"
            self.etcd_bin = bin_dir / "etcd"
            for b in (self.kube_apiserver_bin, self.etcd_bin):
                if not os.access(b, os.X_OK):
                    raise ClusterError(f"{b} missing: run tests/cluster/build.sh")
            self.kube_version = _read_version(bin_dir / "KUBERNETES_VERSION", self.kube_apiserver_bin)
            self.etcd_version = _read_version(bin_dir / "ETCD_VERSION", self.etcd_bin)

            if self._workdir_arg is None:
                self.workdir = Path(tempfile.mkdtemp(prefix="fpd-cluster-"))
                self._owns_dir = True
            else:
                self.workdir = self._workdir_arg.resolve()
                self._owns_dir = not self.workdir.exists() or not any(self.workdir.iterdir())
                self.workdir.mkdir(parents=True, exist_ok=True)
            (self.workdir / MARKER).write_text("flyteplugd test cluster state\n")
            atexit.register(self.stop)
            self._started = True
            try:
                self._start()
            except BaseException:
                self.stop()
                raise
            return self

    def _start(self) -> None:
        pki = self.workdir / "pki"
        make_pki(pki)
        self.ca_file = str(pki / "ca.crt")
        self.client_cert = str(pki / "admin.crt")
        self.client_key = str(pki / "admin.key")
        self._ssl = ssl.create_default_context(cafile=self.ca_file)
        self._ssl.load_cert_chain(self.client_cert, self.client_key)

        self.etcd_client_port = free_port()
        self.etcd_peer_port = free_port()
        self.etcd_url = f"http://127.0.0.1:{self.etcd_client_port}"
        self._start_etcd()

        self.apiserver_port = free_port()
        self.server = f"https://127.0.0.1:{self.apiserver_port}"
        self.kubeconfig = str(self.workdir / "kubeconfig")
        self._write_kubeconfigs()
        self.start_apiserver()
        self._wait_for("namespace default", lambda: self.request("GET", "/api/v1/namespaces/default")[0] == 200)
        self._ensure_namespace_basics("default")
        if not self.quiet:
            print(self.reality(), file=sys.stderr, flush=True)

    def reality(self) -> str:
        return REALITY.format(kube=self.kube_version, etcd=self.etcd_version)

    def stop(self) -> None:
        with self._lock:
            if not self._started:
                return
            self._started = False
            for ctl in reversed(getattr(self, "controllers", [])):  # before their API server
                ctl.stop()
            self.controllers = []
            _stop_process(self.apiserver_proc)
            _stop_process(self.etcd_proc)
            self.apiserver_proc = self.etcd_proc = None
            try:
                atexit.unregister(self.stop)
            except Exception:
                pass
            if self.keep:
                print(f"cluster state kept in {self.workdir}", file=sys.stderr)
            elif self._owns_dir:
                shutil.rmtree(self.workdir, ignore_errors=True)
            else:
                for name in ("pki", "etcd-data", "kubeconfig", "kubeconfig.paths", "etcd.log",
                             "kube-apiserver.log", "env", MARKER):
                    p = self.workdir / name
                    if p.is_dir():
                        shutil.rmtree(p, ignore_errors=True)
                    else:
                        p.unlink(missing_ok=True)

    def __enter__(self) -> "Cluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- etcd -----------------------------------------------------------------------------

    def _start_etcd(self) -> None:
        peer = f"http://127.0.0.1:{self.etcd_peer_port}"
        args = [
            str(self.etcd_bin),
            "--name=default",
            f"--data-dir={self.workdir / 'etcd-data'}",
            f"--listen-client-urls={self.etcd_url}",
            f"--advertise-client-urls={self.etcd_url}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=default={peer}",
            "--initial-cluster-state=new",
            f"--quota-backend-bytes={self.etcd_quota_bytes}",  # default 256 MiB: plenty for tests
            "--unsafe-no-fsync",  # throwaway data: trade durability for speed
            "--log-level=warn",
        ]
        self.etcd_proc = self._spawn(args, self.workdir / "etcd.log")
        self._wait_for("etcd /health", self._etcd_healthy, proc=self.etcd_proc,
                       log=self.workdir / "etcd.log")

    def _etcd_healthy(self) -> bool:
        try:
            st, body = _http_json("GET", self.etcd_url + "/health", timeout=2)
            return st == 200 and body.get("health") == "true"
        except OSError:
            return False

    def _etcd_post(self, path: str, body: dict) -> tuple[int, Any]:
        return _http_json("POST", self.etcd_url + path, body, timeout=10)

    def etcd_revision(self) -> int:
        return etcd_revision(self.etcd_url)

    def compact_etcd(self, expire_watch_cache: bool = True) -> int:
        """Compacts etcd to its current revision (etcd's own API, through its HTTP/JSON gateway)
        and returns that revision, so that watches and lists from an older resourceVersion get
        410 Gone (reason Expired).

        With the watch cache off (Cluster(watch_cache=False)) that is all: the API server asks
        etcd and relays its 410. With the watch cache on (the default, as in real clusters) the
        API server serves watches from its in-memory window and would keep answering old
        resourceVersions, so kube-apiserver is also restarted (SIGTERM, ~2.5 s): the cache is
        rebuilt at the compacted revision, as after a real apiserver rollout. Pass
        expire_watch_cache=False to skip that restart."""
        rev = compact_etcd(self.etcd_url)
        if self.watch_cache and expire_watch_cache:
            self.kill_apiserver(signal.SIGTERM)
            self.start_apiserver()
        return rev

    # -- kube-apiserver -------------------------------------------------------------------

    def _apiserver_args(self) -> list[str]:
        pki = self.workdir / "pki"
        args = [
            str(self.kube_apiserver_bin),
            f"--etcd-servers={self.etcd_url}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            # 1.37 refuses a loopback address in the `kubernetes` Service endpoints; there is
            # no in-cluster client to use them, so the reconciler is off.
            "--endpoint-reconciler-type=none",
            f"--secure-port={self.apiserver_port}",
            f"--cert-dir={pki}",
            f"--tls-cert-file={pki / 'apiserver.crt'}",
            f"--tls-private-key-file={pki / 'apiserver.key'}",
            *(f"--tls-sni-cert-key={pki / n}.crt,{pki / n}.key:{host}" for n, host in SNI_CERTS),
            f"--client-ca-file={pki / 'ca.crt'}",
            f"--service-account-key-file={pki / 'sa.pub'}",
            f"--service-account-signing-key-file={pki / 'sa.key'}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            "--api-audiences=https://kubernetes.default.svc.cluster.local",
            "--authorization-mode=Node,RBAC",
            "--service-cluster-ip-range=10.0.0.0/24",
            "--allow-privileged=true",
            # Lighter on memory and CPU; nothing the daemon relies on.
            "--enable-priority-and-fairness=false",
            "--profiling=false",
            "--v=1",
        ]
        if not self.watch_cache:
            args.append("--watch-cache=false")
        if self.max_requests_inflight is not None:
            args.append(f"--max-requests-inflight={self.max_requests_inflight}")
        if self.max_mutating_requests_inflight is not None:
            args.append(f"--max-mutating-requests-inflight={self.max_mutating_requests_inflight}")
        return args + self.extra_apiserver_args

    def start_apiserver(self) -> None:
        """Starts kube-apiserver (again) on the same port against the same etcd; waits for /readyz."""
        with self._lock:
            if self.apiserver_proc is not None and self.apiserver_proc.poll() is None:
                return
            log = self.workdir / "kube-apiserver.log"
            env = dict(os.environ)
            if self.apiserver_memory_limit is None:
                env.setdefault("GOMEMLIMIT", "768MiB")
            elif self.apiserver_memory_limit:
                env["GOMEMLIMIT"] = self.apiserver_memory_limit
            else:
                env.pop("GOMEMLIMIT", None)
            self.apiserver_proc = self._spawn(self._apiserver_args(), log, env=env, append=True)
            self._wait_for("kube-apiserver /readyz", self._apiserver_ready, proc=self.apiserver_proc,
                           log=log, timeout=120)

    def kill_apiserver(self, sig: int = signal.SIGKILL) -> None:
        """Stops kube-apiserver (SIGKILL by default: an abrupt loss, connections are reset)."""
        with self._lock:
            proc = self.apiserver_proc
            if proc is None:
                return
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    pass
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
            self.apiserver_proc = None

    def _apiserver_ready(self) -> bool:
        try:
            st, _ = self.request("GET", "/readyz", timeout=3)
            return st == 200
        except (OSError, http.client.HTTPException, ssl.SSLError):
            return False

    # -- kubeconfig -----------------------------------------------------------------------

    def _write_kubeconfigs(self) -> None:
        pki = self.workdir / "pki"
        common = ("apiVersion: v1\nkind: Config\npreferences: {}\n"
                  "current-context: flyteplugd-test\n"
                  "contexts:\n- name: flyteplugd-test\n  context:\n    cluster: flyteplugd-test\n"
                  "    user: flyteplugd-test-admin\n    namespace: default\n")
        data = (common +
                f"clusters:\n- name: flyteplugd-test\n  cluster:\n    server: {self.server}\n"
                f"    certificate-authority-data: {_b64(pki / 'ca.crt')}\n"
                f"users:\n- name: flyteplugd-test-admin\n  user:\n"
                f"    client-certificate-data: {_b64(pki / 'admin.crt')}\n"
                f"    client-key-data: {_b64(pki / 'admin.key')}\n")
        paths = (common +
                 f"clusters:\n- name: flyteplugd-test\n  cluster:\n    server: {self.server}\n"
                 f"    certificate-authority: {pki / 'ca.crt'}\n"
                 f"users:\n- name: flyteplugd-test-admin\n  user:\n"
                 f"    client-certificate: {pki / 'admin.crt'}\n"
                 f"    client-key: {pki / 'admin.key'}\n")
        for name, text in (("kubeconfig", data), ("kubeconfig.paths", paths)):
            p = self.workdir / name
            p.write_text(text)
            p.chmod(0o600)

    # -- REST -----------------------------------------------------------------------------

    def request(self, method: str, path: str, body: Any = None, content_type: str | None = None,
                *, query: dict | None = None, headers: dict | None = None,
                timeout: float = 30) -> tuple[int, Any]:
        """One HTTPS request as the admin user. `body` may be a dict/list (sent as JSON, or
        as `content_type`, e.g. application/merge-patch+json), str or bytes. Returns
        (status, decoded JSON or text or None)."""
        if query:
            path += ("&" if "?" in path else "?") + urllib.parse.urlencode(query)
        data: bytes | None
        if body is None:
            data = None
        elif isinstance(body, (bytes, bytearray)):
            data = bytes(body)
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = json.dumps(body).encode()
        hdrs = {"Accept": "application/json"}
        if data is not None:
            hdrs["Content-Type"] = content_type or (
                "application/merge-patch+json" if method.upper() == "PATCH" else "application/json")
        hdrs.update(headers or {})
        conn = http.client.HTTPSConnection("127.0.0.1", self.apiserver_port, context=self._ssl,
                                           timeout=timeout)
        try:
            conn.request(method.upper(), path, body=data, headers=hdrs)
            resp = conn.getresponse()
            raw = resp.read()
            return resp.status, _decode(raw, resp.getheader("Content-Type", ""))
        finally:
            conn.close()

    def must(self, method: str, path: str, body: Any = None, content_type: str | None = None,
             ok: Iterable[int] = (200, 201), **kw) -> Any:
        st, obj = self.request(method, path, body, content_type, **kw)
        if st not in tuple(ok):
            raise ClusterError(f"{method} {path}: HTTP {st}: {obj}")
        return obj

    def watch(self, path: str, resource_version: str | None = None, *, timeout_seconds: int = 5,
              max_events: int | None = None, query: dict | None = None) -> tuple[int, list[dict]]:
        """A watch request; returns (HTTP status, events) after max_events events or when the
        server ends the watch (timeoutSeconds). A non-200 status returns ([Status object])."""
        q = {"watch": "true", "timeoutSeconds": str(timeout_seconds)}
        if resource_version is not None:
            q["resourceVersion"] = resource_version
        q.update(query or {})
        full = path + ("&" if "?" in path else "?") + urllib.parse.urlencode(q)
        conn = http.client.HTTPSConnection("127.0.0.1", self.apiserver_port, context=self._ssl,
                                           timeout=timeout_seconds + 10)
        try:
            conn.request("GET", full, headers={"Accept": "application/json"})
            resp = conn.getresponse()
            if resp.status != 200:
                return resp.status, [_decode(resp.read(), resp.getheader("Content-Type", ""))]
            events: list[dict] = []
            while max_events is None or len(events) < max_events:
                line = resp.readline()
                if not line:
                    break
                if line.strip():
                    events.append(json.loads(line))
            return 200, events
        finally:
            conn.close()

    # -- what the missing controllers would do ---------------------------------------------

    def new_namespace(self, prefix: str = "t") -> str:
        """Creates a namespace with a generated name, plus what kube-controller-manager would
        add: the `default` ServiceAccount and the `kube-root-ca.crt` ConfigMap."""
        prefix = "".join(ch if ch.isalnum() or ch == "-" else "-" for ch in prefix.lower()).strip("-")
        ns = self.must("POST", "/api/v1/namespaces",
                       {"apiVersion": "v1", "kind": "Namespace",
                        "metadata": {"generateName": f"{(prefix or 't')[:40]}-",
                                     "labels": {"flyteplugd.test/cluster": "true"}}})
        name = ns["metadata"]["name"]
        self._ensure_namespace_basics(name)
        return name

    def _ensure_namespace_basics(self, ns: str) -> None:
        self.must("POST", f"/api/v1/namespaces/{ns}/serviceaccounts",
                  {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}},
                  ok=(201, 409))
        self.must("POST", f"/api/v1/namespaces/{ns}/configmaps",
                  {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kube-root-ca.crt"},
                   "data": {"ca.crt": Path(self.ca_file).read_text()}},
                  ok=(201, 409))

    def token_for(self, serviceaccount: str = "default", namespace: str = "default",
                  expiration_seconds: int = 3600, audiences: list[str] | None = None) -> str:
        """A real bound token for the ServiceAccount (TokenRequest API)."""
        spec: dict[str, Any] = {"expirationSeconds": expiration_seconds}
        if audiences:
            spec["audiences"] = audiences
        tr = self.must("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/{serviceaccount}/token",
                       {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec})
        return tr["status"]["token"]

    def install_crds(self, paths_or_docs: Any, timeout: float = 60) -> list[str]:
        """Creates or updates CustomResourceDefinitions and waits until each is Established.
        Accepts a dict, a YAML/JSON string, a file or directory path, or a list of those
        (multi-document YAML is fine: the API server parses the YAML). Returns CRD names."""
        docs = list(_crd_docs(paths_or_docs))
        base = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
        names = []
        for doc in docs:
            if isinstance(doc, dict):
                body, ctype, apply_ct = json.dumps(doc), "application/json", "application/apply-patch+yaml"
            else:
                body, ctype, apply_ct = doc, "application/yaml", "application/apply-patch+yaml"
            st, obj = self.request("POST", base, body, ctype)
            if st == 409:  # exists: server-side apply the same document
                name = (obj.get("details") or {}).get("name")
                if not name:
                    raise ClusterError(f"CRD create conflict without a name: {obj}")
                self.must("PATCH", f"{base}/{name}", body, apply_ct,
                          query={"fieldManager": "flyteplugd-tests", "force": "true"})
            elif st != 201:
                raise ClusterError(f"creating CRD failed: HTTP {st}: {obj}")
            else:
                name = obj["metadata"]["name"]
            names.append(name)
        for name in names:
            def established(name=name) -> bool:
                st, crd = self.request("GET", f"{base}/{name}")
                conds = (crd.get("status") or {}).get("conditions") or [] if st == 200 else []
                return any(c.get("type") == "Established" and c.get("status") == "True" for c in conds)
            self._wait_for(f"CRD {name} Established", established, timeout=timeout)
        # Discovery and the CR REST endpoint lag Established by a moment; wait for the endpoint.
        for name in names:
            crd = self.must("GET", f"{base}/{name}")
            g, plural = crd["spec"]["group"], crd["spec"]["names"]["plural"]
            v = next(v["name"] for v in crd["spec"]["versions"] if v.get("served", True))
            self._wait_for(f"{plural}.{g} served",
                           lambda: self.request("GET", f"/apis/{g}/{v}/{plural}?limit=1")[0] == 200,
                           timeout=timeout)
        return names

    @staticmethod
    def resource_path(group: str, version: str, plural: str, namespace: str | None, name: str | None = None) -> str:
        base = f"/api/{version}" if group in ("", "core") else f"/apis/{group}/{version}"
        if namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{plural}"
        return base + (f"/{name}" if name else "")

    def patch_status(self, group: str, version: str, plural: str, namespace: str | None, name: str,
                     status: dict, patch_type: str = "application/merge-patch+json") -> dict:
        """Merge-patches the `status` subresource, as an operator would. For a CRD without a
        status subresource, patches `status` in the object itself. Returns the object."""
        path = self.resource_path(group, version, plural, namespace, name)
        st, obj = self.request("PATCH", path + "/status", {"status": status}, patch_type)
        if st == 404:
            st2, _ = self.request("GET", path)
            if st2 == 200:  # no status subresource
                st, obj = self.request("PATCH", path, {"status": status}, patch_type)
        if st != 200:
            raise ClusterError(f"PATCH {path}/status: HTTP {st}: {obj}")
        return obj

    def patch_pod_status(self, namespace: str, name: str, status: dict,
                         patch_type: str = "application/merge-patch+json") -> dict:
        """Writes pod status as the kubelet would (merge patch; pass
        patch_type='application/strategic-merge-patch+json' to merge lists by key)."""
        return self.patch_status("", "v1", "pods", namespace, name, status, patch_type)

    def bind_pod(self, namespace: str, name: str, node: str = "fpd-test-node") -> None:
        """Sets spec.nodeName through the Binding subresource, as the scheduler would. Note:
        without a kubelet, a deleted *bound* pod stays Terminating until deleted with
        gracePeriodSeconds=0."""
        self.must("POST", f"/api/v1/namespaces/{namespace}/pods/{name}/binding",
                  {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": name},
                   "target": {"apiVersion": "v1", "kind": "Node", "name": node}})

    # -- env file for the CLI -------------------------------------------------------------

    def env(self, state: str = "up", supervisor_pid: int | None = None) -> dict[str, str]:
        ap = self.apiserver_proc
        return {
            "KUBECONFIG": self.kubeconfig,
            "FPD_TEST_KUBE_SERVER": self.server,
            "FPD_TEST_KUBE_CA_FILE": self.ca_file,
            "FPD_TEST_KUBE_CLIENT_CERT": self.client_cert,
            "FPD_TEST_KUBE_CLIENT_KEY": self.client_key,
            "FPD_TEST_KUBECONFIG_PATHS": str(self.workdir / "kubeconfig.paths"),
            "FPD_TEST_ETCD_URL": self.etcd_url,
            "FPD_TEST_KUBE_VERSION": self.kube_version,
            "FPD_TEST_ETCD_VERSION": self.etcd_version,
            "FPD_TEST_CLUSTER_DIR": str(self.workdir),
            "FPD_TEST_CLUSTER_STATE": state,
            "FPD_TEST_WATCH_CACHE": "1" if self.watch_cache else "0",
            "FPD_TEST_CLUSTER_PID": str(supervisor_pid or os.getpid()),
            "FPD_TEST_APISERVER_PID": str(ap.pid if ap and ap.poll() is None else 0),
            "FPD_TEST_ETCD_PID": str(self.etcd_proc.pid if self.etcd_proc else 0),
        }

    def write_env(self, state: str = "up", supervisor_pid: int | None = None) -> Path:
        p = self.workdir / "env"
        tmp = p.with_suffix(".tmp")
        tmp.write_text("".join(f"{k}={shlex.quote(v)}\n" for k, v in self.env(state, supervisor_pid).items()))
        tmp.replace(p)
        return p

    # -- controllers (see the controllers section above the class) -------------------------

    def start_controller(self, name: str, args: list[str], *, bin_dir: Path | None = None,
                         env: dict | None = None, ready=None, timeout: float = 90) -> Controller:
        """Starts bin_dir/<name> with `args`; waits until `ready()` (if given) is true."""
        bin_dir = bin_dir or build_controllers(name)
        binary = bin_dir / name
        if not os.access(binary, os.X_OK):
            raise ClusterError(f"{binary} missing: run tests/cluster/controllers/build.sh {name}")
        version = _read_version(bin_dir / f"{name}.version", binary)
        log = self.workdir / f"{name}.log"
        penv = dict(os.environ)
        penv["KUBECONFIG"] = str(self.workdir / "kubeconfig.paths")
        penv.update(env or {})
        penv.setdefault("GOMEMLIMIT", "512MiB")
        proc = self._spawn([str(binary), *args], log, env=penv)
        ctl = Controller(name, proc, log, version)
        if not hasattr(self, "controllers"):
            self.controllers = []
        self.controllers.append(ctl)
        if ready is not None:
            try:
                self._wait_for(f"{name} ready", ready, timeout=timeout, proc=proc, log=log)
            except ClusterError:
                ctl.stop()
                raise
        if not self.quiet:
            print(f"started {name} {version} (real controller; log {log})", file=sys.stderr, flush=True)
        return ctl

    def kwok_nodes(self, names: Iterable[str] = ("fpd-kwok-node-0",), *, cpu: str = "32",
                   memory: str = "128Gi", pods: str = "110") -> list[str]:
        """Creates Nodes for kwok to manage (annotation kwok.x-k8s.io/node=fake)."""
        made = []
        for n in names:
            node = {"apiVersion": "v1", "kind": "Node",
                    "metadata": {"name": n, "annotations": {KWOK_NODE_ANNOTATION: "fake"},
                                 "labels": {"kubernetes.io/hostname": n, "kubernetes.io/os": "linux",
                                            "kubernetes.io/arch": "amd64", "type": "kwok"}},
                    "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": pods},
                               "capacity": {"cpu": cpu, "memory": memory, "pods": pods}}}
            st, obj = self.request("POST", "/api/v1/nodes", node)
            if st not in (201, 409):
                raise ClusterError(f"creating node {n}: HTTP {st}: {obj}")
            made.append(n)
        return made

    def start_kwok(self, nodes: Iterable[str] = ("fpd-kwok-node-0",), *,
                   complete_unowned_after_ms: int = 1000, **node_kw) -> Controller:
        """kwok with the module's fast node/pod stages plus KWOK_STAGE_COMPLETE_UNOWNED; makes
        `nodes` and waits until they are Ready. kwok does what the kubelet would to the API:
        pods bound to its nodes become Running (Ready, pod IPs), Job-owned and unowned
        restartPolicy=Never pods then Succeeded, deleted pods are removed."""
        bin_dir = build_controllers("kwok")
        stages = sorted((bin_dir / "kwok.stages").glob("*.yaml"))
        if not stages:
            raise ClusterError(f"no kwok stages in {bin_dir / 'kwok.stages'}")
        docs = [p.read_text() for p in stages]
        docs.append(KWOK_STAGE_COMPLETE_UNOWNED.format(delay_ms=int(complete_unowned_after_ms)))
        cfg = self.workdir / "kwok.yaml"
        cfg.write_text("\n---\n".join(d.strip() for d in docs) + "\n")
        names = self.kwok_nodes(nodes, **node_kw)

        def nodes_ready() -> bool:
            for n in names:
                st, node = self.request("GET", f"/api/v1/nodes/{n}")
                conds = (node.get("status") or {}).get("conditions") or [] if st == 200 else []
                if not any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds):
                    return False
            return True

        return self.start_controller(
            "kwok",
            [f"--kubeconfig={self.workdir / 'kubeconfig.paths'}", f"--config={cfg}",
             f"--manage-nodes-with-annotation-selector={KWOK_NODE_ANNOTATION}=fake",
             "--node-ip=10.77.0.1", "--cidr=10.77.0.0/16", "--node-lease-duration-seconds=40"],
            bin_dir=bin_dir, ready=nodes_ready)

    def _healthz(self, port: int, path: str = "/healthz", scheme: str = "http"):
        """A ready() for start_controller: GET 127.0.0.1:port/path answers 200 (https: the
        controller's self-signed serving certificate is not checked)."""
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE

        def check() -> bool:
            try:
                conn = (http.client.HTTPSConnection("127.0.0.1", port, timeout=2, context=ctx)
                        if scheme == "https" else http.client.HTTPConnection("127.0.0.1", port, timeout=2))
                try:
                    conn.request("GET", path)
                    return conn.getresponse().status == 200
                finally:
                    conn.close()
            except (OSError, http.client.HTTPException, ssl.SSLError):
                return False
        return check

    def start_scheduler(self) -> Controller:
        """The real kube-scheduler (same k8s.io/kubernetes pin as kube-apiserver)."""
        port = free_port()
        kc = str(self.workdir / "kubeconfig.paths")
        return self.start_controller(
            "kube-scheduler",
            [f"--kubeconfig={kc}", f"--authentication-kubeconfig={kc}", f"--authorization-kubeconfig={kc}",
             "--authentication-skip-lookup", "--leader-elect=false", "--bind-address=127.0.0.1",
             f"--secure-port={port}",
             f"--cert-dir={self.workdir / 'kube-scheduler-certs'}", "--v=1"],
            ready=self._healthz(port, "/healthz", "https"))

    def start_controller_manager(self, controllers: str = "job-controller,garbage-collector-controller,"
                                                          "serviceaccount-controller,node-lifecycle-controller"
                                 ) -> Controller:
        """The real kube-controller-manager running only `controllers` (default: Jobs make
        pods, ownerReferences are garbage-collected, namespaces get their ServiceAccount, and
        the node-lifecycle controller lifts the node.kubernetes.io/not-ready taint that the
        TaintNodesByCondition admission plugin puts on every new Node once kwok reports it
        Ready; kwok renews the node Leases it watches)."""
        port = free_port()
        kc = str(self.workdir / "kubeconfig.paths")
        return self.start_controller(
            "kube-controller-manager",
            [f"--kubeconfig={kc}", f"--authentication-kubeconfig={kc}", f"--authorization-kubeconfig={kc}",
             "--authentication-skip-lookup", "--leader-elect=false", "--bind-address=127.0.0.1",
             f"--secure-port={port}",
             f"--cert-dir={self.workdir / 'kube-controller-manager-certs'}",
             f"--controllers={controllers}", "--use-service-account-credentials=false",
             "--concurrent-job-syncs=5", "--node-monitor-grace-period=120s", "--v=1"],
            ready=self._healthz(port, "/healthz", "https"))

    def install_kueue_crds(self, bin_dir: Path | None = None) -> list[str]:
        """Kueue's own CRDs from the pinned module (config/components/crd/bases), with the
        conversion stanza its kustomize overlay adds (patches/webhook_in_*.yaml): Kueue's cert
        rotator injects its CA there and is not ready until it could. Objects are stored and
        served as v1beta2 and the tests use v1beta2 only, so no conversion call is ever made."""
        bin_dir = bin_dir or build_controllers("kueue")
        names = self.install_crds(sorted(str(p) for p in (bin_dir / "kueue.crds").glob("kueue.x-k8s.io_*.yaml")))
        for plural in ("localqueues", "clusterqueues", "cohorts", "workloads", "multikueueclusters"):
            self.must("PATCH", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{plural}.kueue.x-k8s.io",
                      {"spec": {"conversion": {"strategy": "Webhook", "webhook": {
                          "conversionReviewVersions": ["v1"],
                          "clientConfig": {"service": {"namespace": "kueue-system",
                                                       "name": "kueue-webhook-service",
                                                       "path": "/convert"}}}}}},
                      "application/merge-patch+json")
        return names

    def start_kueue(self, frameworks: Iterable[str] = ("batch/job",), namespace: str = "kueue-system",
                    webhooks: bool = False) -> Controller:
        """The real Kueue controller manager (scheduler, Workload and job-integration
        controllers).

        webhooks=False: its admission webhooks are served on 127.0.0.1 but not registered with
        the API server, so what they would default must be set by the client (a Job is created
        suspended).

        webhooks=True (needs Cluster(extra_apiserver_args=["--enable-aggregator-routing=true"])):
        the module's webhook configurations are registered and reach Kueue as in a cluster:
        kube-apiserver resolves Service kueue-webhook-service to its EndpointSlice, here this
        host's first non-loopback address (loopback is refused in EndpointSlices) and Kueue's
        webhook port, and checks Kueue's own certificate for kueue-webhook-service.<ns>.svc."""
        if webhooks and "--enable-aggregator-routing=true" not in self.extra_apiserver_args:
            raise ClusterError("start_kueue(webhooks=True) needs --enable-aggregator-routing=true")
        bin_dir = build_controllers("kueue")
        self.install_kueue_crds(bin_dir)
        st, obj = self.request("POST", "/api/v1/namespaces",
                               {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        if st not in (201, 409):
            raise ClusterError(f"creating namespace {namespace}: HTTP {st}: {obj}")
        self._ensure_namespace_basics(namespace)
        # Kueue's deployment ships this Secret empty; its cert rotator fills it and fails
        # without it.
        st, obj = self.request("POST", f"/api/v1/namespaces/{namespace}/secrets",
                               {"apiVersion": "v1", "kind": "Secret",
                                "metadata": {"name": "kueue-webhook-server-cert"}})
        if st not in (201, 409):
            raise ClusterError(f"creating the Kueue webhook Secret: HTTP {st}: {obj}")
        cert_dir = self.workdir / "kueue-certs"
        webhook_host, webhook_port = (host_ip() if webhooks else "127.0.0.1"), free_port()
        if webhooks:
            self._register_kueue_webhooks(bin_dir, namespace, webhook_host, webhook_port)
        health = free_port()
        cfg = self.workdir / "kueue.yaml"
        cfg.write_text(
            "apiVersion: config.kueue.x-k8s.io/v1beta2\nkind: Configuration\n"
            f"namespace: {namespace}\n"
            "manageJobsWithoutQueueName: false\n"
            f"health:\n  healthProbeBindAddress: 127.0.0.1:{health}\n"
            "metrics:\n  bindAddress: \"0\"\n"
            f"webhook:\n  host: {webhook_host}\n  port: {webhook_port}\n  certDir: {cert_dir}\n"
            "leaderElection:\n  leaderElect: false\n"
            "internalCertManagement:\n  enable: true\n"
            "featureGates:\n  VisibilityOnDemand: false\n"
            "integrations:\n  frameworks:\n" + "".join(f"  - {f}\n" for f in frameworks))
        # Kueue's rotator writes its certificates to the Secret and waits for them to appear in
        # certDir, where the kubelet would mount that Secret; mount_secret() does that here.
        stop = threading.Event()
        threading.Thread(target=self.mount_secret, args=(namespace, "kueue-webhook-server-cert", cert_dir, stop),
                         daemon=True).start()
        try:
            ctl = self.start_controller(
                "kueue", [f"--config={cfg}", f"--kubeconfig={self.workdir / 'kubeconfig.paths'}",
                          "--zap-log-level=2"],
                bin_dir=bin_dir, ready=self._healthz(health, "/readyz"), timeout=120)
        except BaseException:
            stop.set()
            raise
        ctl.on_stop = stop.set
        return ctl

    def _register_kueue_webhooks(self, bin_dir: Path, namespace: str, host: str, port: int) -> None:
        """Service + EndpointSlice for kueue-webhook-service, and the module's webhook
        configurations (config/components/webhook/manifests.yaml) with the names, Service and
        namespace its kustomize overlay gives them (namePrefix kueue-, namespace)."""
        svc = "kueue-webhook-service"
        base = f"/api/v1/namespaces/{namespace}"
        st, obj = self.request("POST", f"{base}/services", {
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": svc},
            "spec": {"ports": [{"name": "https", "port": 443, "targetPort": port, "protocol": "TCP"}]}})
        if st not in (201, 409):
            raise ClusterError(f"creating Service {svc}: HTTP {st}: {obj}")
        st, obj = self.request("POST", f"/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices", {
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": f"{svc}-local", "labels": {"kubernetes.io/service-name": svc}},
            "addressType": "IPv4", "endpoints": [{"addresses": [host], "conditions": {"ready": True}}],
            "ports": [{"name": "https", "port": port, "protocol": "TCP"}]})
        if st not in (201, 409):
            raise ClusterError(f"creating EndpointSlice for {svc}: HTTP {st}: {obj}")
        text = (bin_dir / "kueue.crds" / "manifests.yaml").read_text()
        text = (text.replace("name: mutating-webhook-configuration", "name: kueue-mutating-webhook-configuration")
                    .replace("name: validating-webhook-configuration", "name: kueue-validating-webhook-configuration")
                    .replace("name: webhook-service", f"name: {svc}")
                    .replace("namespace: system", f"namespace: {namespace}"))
        for doc in (d for d in text.split("\n---\n") if "kind:" in d):
            kind = "mutating" if "kind: MutatingWebhookConfiguration" in doc else "validating"
            st, obj = self.request("POST", f"/apis/admissionregistration.k8s.io/v1/{kind}webhookconfigurations",
                                   doc, "application/yaml")
            if st not in (201, 409):
                raise ClusterError(f"creating the {kind} webhook configuration: HTTP {st}: {obj}")

    def mount_secret(self, namespace: str, name: str, directory: Path, stop: threading.Event) -> None:
        """Keeps `directory` holding the Secret's keys as files, as the kubelet's secret volume
        does for a pod, until `stop` is set."""
        seen = None
        while not stop.wait(0.3):
            try:
                st, sec = self.request("GET", f"/api/v1/namespaces/{namespace}/secrets/{name}", timeout=5)
            except (OSError, http.client.HTTPException, ssl.SSLError):
                continue
            if st != 200 or not sec.get("data") or sec["metadata"]["resourceVersion"] == seen:
                continue
            directory.mkdir(parents=True, exist_ok=True)
            for key, value in sec["data"].items():
                tmp = directory / f".{key}.tmp"
                tmp.write_bytes(base64.b64decode(value))
                tmp.chmod(0o600)
                tmp.replace(directory / key)
            seen = sec["metadata"]["resourceVersion"]

    def start_kuberay(self, extra_args: Iterable[str] = ()) -> Controller:
        """The real KubeRay ray-operator with its own CRDs (config/crd/bases of the pinned
        module); webhooks off (ENABLE_WEBHOOKS unset), no leader election."""
        bin_dir = build_controllers("kuberay")
        self.install_crds(sorted(str(p) for p in (bin_dir / "kuberay.crds").glob("*.yaml")))
        health = free_port()
        return self.start_controller(
            "kuberay", [f"--kubeconfig={self.workdir / 'kubeconfig.paths'}", "--metrics-addr=0",
                        f"--health-probe-bind-address=127.0.0.1:{health}",
                        "--enable-leader-election=false", "--log-stdout-encoder=console",
                        *extra_args],
            bin_dir=bin_dir, ready=self._healthz(health, "/readyz"), timeout=120)

    # -- helpers --------------------------------------------------------------------------

    def _spawn(self, args: list[str], log: Path, env: dict | None = None, append: bool = False) -> subprocess.Popen:
        with open(log, "ab" if append else "wb") as f:
            return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT,
                                    env=env, cwd=self.workdir, close_fds=True,
                                    preexec_fn=_child_setup(self.die_with_parent))

    def _wait_for(self, what: str, check, *, timeout: float = 60, proc: subprocess.Popen | None = None,
                  log: Path | None = None) -> None:
        deadline = time.monotonic() + timeout
        delay = 0.05
        while True:
            if check():
                return
            if proc is not None and proc.poll() is not None:
                raise ClusterError(f"{what}: process exited with {proc.returncode}\n{_tail(log) if log else ''}")
            if time.monotonic() > deadline:
                raise ClusterError(f"timed out after {timeout}s waiting for {what}\n{_tail(log) if log else ''}")
            time.sleep(delay)
            delay = min(delay * 1.5, 0.5)


# ----------------------------------------------------------------------------- small functions


def _decode(raw: bytes, ctype: str) -> Any:
    if not raw:
        return None
    if "json" in ctype:
        try:
            return json.loads(raw)
        except ValueError:
            pass
    return raw.decode(errors="replace")


def _http_json(method: str, url: str, body: Any = None, timeout: float = 10) -> tuple[int, Any]:
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, u.path, body=data, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, _decode(resp.read(), "json")
    finally:
        conn.close()


def etcd_revision(etcd_url: str) -> int:
    # A range over one key: the response header carries the store's current revision.
    st, body = _http_json("POST", etcd_url + "/v3/kv/range",
                          {"key": base64.b64encode(b"/").decode(), "limit": 1})
    if st != 200:
        raise ClusterError(f"etcd range: HTTP {st}: {body}")
    return int(body["header"]["revision"])


def compact_etcd(etcd_url: str) -> int:
    """Compacts etcd so that every resourceVersion older than the newest one is gone.

    A marker key outside /registry is written first and the compaction is at that write's
    revision: a client that has seen the newest object revision R watches from R+1 (the
    marker's revision, still there), while any older R' < R gets 410 Gone. Compacting at R
    itself would leave R-1 in a state where kube-apiserver answers 500 ("etcd event received
    with PrevKv=nil") instead of 410."""
    st, body = _http_json("POST", etcd_url + "/v3/kv/put",
                          {"key": base64.b64encode(b"/flyteplugd-test/compaction-marker").decode(),
                           "value": base64.b64encode(str(time.time()).encode()).decode()})
    if st != 200:
        raise ClusterError(f"etcd put: HTTP {st}: {body}")
    rev = int(body["header"]["revision"])
    st, body = _http_json("POST", etcd_url + "/v3/kv/compaction", {"revision": str(rev), "physical": True},
                          timeout=60)
    if st != 200 and "compacted" not in json.dumps(body):  # already compacted there: fine
        raise ClusterError(f"etcd compaction to {rev}: HTTP {st}: {body}")
    return rev


def _read_version(path: Path, binary: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        out = subprocess.run([str(binary), "--version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, check=False).stdout
        return out.split()[1] if len(out.split()) > 1 else "unknown"


def _crd_docs(x: Any) -> Iterator[Any]:
    """Yields dicts or YAML/JSON document strings."""
    if isinstance(x, dict):
        yield x
    elif isinstance(x, (list, tuple)):
        for item in x:
            yield from _crd_docs(item)
    elif isinstance(x, Path) or (isinstance(x, str) and "\n" not in x and os.path.exists(x)):
        p = Path(x)
        if p.is_dir():
            for f in sorted(p.iterdir()):
                if f.suffix in (".yaml", ".yml", ".json"):
                    yield from _crd_docs(f)
        else:
            yield from _crd_docs_text(p.read_text())
    elif isinstance(x, str):
        yield from _crd_docs_text(x)
    else:
        raise TypeError(f"install_crds: cannot use {type(x).__name__}")


def _crd_docs_text(text: str) -> Iterator[str]:
    s = text.lstrip()
    if s.startswith("{") or s.startswith("["):
        obj = json.loads(s)
        yield from _crd_docs(obj)
        return
    doc: list[str] = []
    for line in text.splitlines(keepends=True):
        if line.rstrip() == "---" or line.startswith("--- "):
            if _meaningful(doc):
                yield "".join(doc)
            doc = []
        else:
            doc.append(line)
    if _meaningful(doc):
        yield "".join(doc)


def _meaningful(lines: list[str]) -> bool:
    return any(ln.strip() and not ln.lstrip().startswith("#") for ln in lines)


# ----------------------------------------------------------------------------- CLI


def _read_env(d: Path) -> dict[str, str]:
    out = {}
    try:
        for line in (d / "env").read_text().splitlines():
            if "=" in line:
                k, v = line.split("=", 1)
                out[k] = shlex.split(v)[0] if v else ""
    except OSError:
        pass
    return out


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is not alive.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def _supervise(args) -> int:
    """Runs in the detached process started by `up`: owns etcd and kube-apiserver (which die
    with it), serves SIGUSR1 (kill apiserver) / SIGUSR2 (start apiserver), stops on SIGTERM."""
    d = Path(args.dir)
    sigs = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2}
    signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    c = Cluster(workdir=d, bin_dir=args.bin_dir, watch_cache=not args.no_watch_cache,
                **_scale_kwargs(args))
    try:
        c.start()
    except Exception as e:
        print(f"cluster start failed: {e}", file=sys.stderr, flush=True)
        (d / "failed").write_text(str(e))
        return 1
    c.write_env("up")
    print(f"cluster up: {c.server}", file=sys.stderr, flush=True)
    while True:
        s = signal.sigwait(sigs)
        try:
            if s == signal.SIGUSR1:
                c.kill_apiserver()
                c.write_env("apiserver-down")
            elif s == signal.SIGUSR2:
                c.start_apiserver()
                c.write_env("up")
            else:
                break
        except Exception as e:  # keep serving; the CLI sees the state in env
            print(f"supervisor: {e}", file=sys.stderr, flush=True)
            c.write_env("error")
    c.stop()
    return 0


_SCALE_OPTS = (  # CLI option, Cluster keyword, type
    ("--etcd-quota-bytes", "etcd_quota_bytes", int),
    ("--apiserver-memory-limit", "apiserver_memory_limit", str),
    ("--max-requests-inflight", "max_requests_inflight", int),
    ("--max-mutating-requests-inflight", "max_mutating_requests_inflight", int),
)


def _scale_kwargs(args) -> dict[str, Any]:
    out = {kw: getattr(args, kw) for _, kw, _ in _SCALE_OPTS if getattr(args, kw) is not None}
    if args.apiserver_arg:
        out["extra_apiserver_args"] = list(args.apiserver_arg)
    return out


def _scale_argv(args) -> list[str]:
    out = []
    for opt, kw, _ in _SCALE_OPTS:
        if getattr(args, kw) is not None:
            out += [opt, str(getattr(args, kw))]
    for a in args.apiserver_arg or ():
        out.append(f"--apiserver-arg={a}")
    return out


def _wait_state(d: Path, want: str, pid: int, timeout: float) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        env = _read_env(d)
        if env.get("FPD_TEST_CLUSTER_STATE") == want:
            return env
        if env.get("FPD_TEST_CLUSTER_STATE") == "error" or (d / "failed").exists() or not _alive(pid):
            break
        time.sleep(0.1)
    raise ClusterError(f"cluster in {d} did not reach state {want!r}; log:\n{_tail(d / 'supervisor.log')}")


def _cli_up(args) -> int:
    d = Path(args.dir).resolve()
    env = _read_env(d)
    if env and _alive(int(env.get("FPD_TEST_CLUSTER_PID", "0"))):
        print(env["KUBECONFIG"])
        return 0
    if d.exists() and any(p.name != MARKER for p in d.iterdir()) and not (d / MARKER).exists():
        print(f"{d} exists and is not empty; pick a new dir", file=sys.stderr)
        return 2
    if (d / MARKER).exists():  # leftovers of a dead cluster
        shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True, exist_ok=True)
    (d / MARKER).write_text("flyteplugd test cluster state\n")
    bin_dir = Path(args.bin_dir) if args.bin_dir else build_binaries()
    cmd = [sys.executable, str(Path(__file__).resolve()), "_supervise", "--dir", str(d), "--bin-dir", str(bin_dir)]
    if args.no_watch_cache:
        cmd.append("--no-watch-cache")
    cmd += _scale_argv(args)
    with open(d / "supervisor.log", "ab") as log:
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
                             close_fds=True)
    try:
        env = _wait_state(d, "up", p.pid, args.timeout)
    except ClusterError as e:
        if p.poll() is None:
            os.kill(p.pid, signal.SIGTERM)
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        print(e, file=sys.stderr)
        return 1
    print(REALITY.format(kube=env["FPD_TEST_KUBE_VERSION"], etcd=env["FPD_TEST_ETCD_VERSION"]),
          file=sys.stderr)
    print(env["KUBECONFIG"])
    return 0


def _cli_down(args) -> int:
    d = Path(args.dir).resolve()
    if not d.exists():
        return 0
    if not (d / MARKER).exists():
        print(f"{d} is not a cluster dir (no {MARKER}); not touching it", file=sys.stderr)
        return 2
    env = _read_env(d)
    pid = int(env.get("FPD_TEST_CLUSTER_PID", "0") or 0)
    if _alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 60
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
    # The children die with the supervisor (PDEATHSIG); make sure anyway.
    for key in ("FPD_TEST_APISERVER_PID", "FPD_TEST_ETCD_PID"):
        cpid = int(env.get(key, "0") or 0)
        if _alive(cpid):
            try:
                os.killpg(cpid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    shutil.rmtree(d, ignore_errors=True)
    return 0


def _cli_signal(args, sig: int, want: str) -> int:
    d = Path(args.dir).resolve()
    env = _read_env(d)
    pid = int(env.get("FPD_TEST_CLUSTER_PID", "0") or 0)
    if not _alive(pid):
        print(f"no cluster running in {d}", file=sys.stderr)
        return 1
    # Clear the state first so that we wait for the supervisor's answer.
    (d / "env").write_text((d / "env").read_text().replace(
        f"FPD_TEST_CLUSTER_STATE={env.get('FPD_TEST_CLUSTER_STATE')}", "FPD_TEST_CLUSTER_STATE=pending"))
    os.kill(pid, sig)
    _wait_state(d, want, pid, args.timeout)
    return 0


def _cli_compact(args) -> int:
    d = Path(args.dir).resolve()
    env = _read_env(d)
    if "FPD_TEST_ETCD_URL" not in env:
        print(f"no cluster in {args.dir}", file=sys.stderr)
        return 1
    rev = compact_etcd(env["FPD_TEST_ETCD_URL"])
    if env.get("FPD_TEST_WATCH_CACHE") == "1" and not args.no_restart:
        # See Cluster.compact_etcd: the watch cache forgets old revisions only on restart.
        for sig, want in ((signal.SIGUSR1, "apiserver-down"), (signal.SIGUSR2, "up")):
            rc = _cli_signal(args, sig, want)
            if rc:
                return rc
    print(rev)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True,
                            metavar="{up,down,kill-apiserver,start-apiserver,compact}")
    for name, hlp in (("up", "start a detached cluster; print the kubeconfig path"),
                      ("down", "stop the cluster and remove DIR"),
                      ("kill-apiserver", "SIGKILL kube-apiserver (etcd keeps running)"),
                      ("start-apiserver", "start kube-apiserver again on the same port"),
                      ("compact", "compact etcd to its current revision and print it; restarts "
                                  "kube-apiserver when its watch cache is on"),
                      ("_supervise", None)):
        p = sub.add_parser(name, help=hlp) if hlp else sub.add_parser(name)
        p.add_argument("--dir", required=True)
        p.add_argument("--timeout", type=float, default=180)
        if name in ("up", "_supervise"):
            p.add_argument("--bin-dir", default=None)
            p.add_argument("--no-watch-cache", action="store_true",
                           help="run kube-apiserver with --watch-cache=false")
            p.add_argument("--etcd-quota-bytes", type=int, default=None,
                           help="etcd --quota-backend-bytes (default 268435456 = 256 MiB)")
            p.add_argument("--apiserver-memory-limit", default=None,
                           help="GOMEMLIMIT of kube-apiserver (default 768MiB; '' = none)")
            p.add_argument("--max-requests-inflight", type=int, default=None,
                           help="kube-apiserver --max-requests-inflight (default: its own, 400)")
            p.add_argument("--max-mutating-requests-inflight", type=int, default=None,
                           help="kube-apiserver --max-mutating-requests-inflight (default 200)")
            p.add_argument("--apiserver-arg", action="append", default=None,
                           help="one more kube-apiserver flag, e.g. --apiserver-arg=--v=2 "
                                "(repeatable)")
        if name == "compact":
            p.add_argument("--no-restart", action="store_true",
                           help="do not restart kube-apiserver to expire its watch cache")
    args = ap.parse_args(argv)
    try:
        if args.cmd == "up":
            return _cli_up(args)
        if args.cmd == "down":
            return _cli_down(args)
        if args.cmd == "kill-apiserver":
            return _cli_signal(args, signal.SIGUSR1, "apiserver-down")
        if args.cmd == "start-apiserver":
            return _cli_signal(args, signal.SIGUSR2, "up")
        if args.cmd == "compact":
            return _cli_compact(args)
        if args.cmd == "_supervise":
            return _supervise(args)
    except ClusterError as e:
        print(e, file=sys.stderr)
        return 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
