"""Memory per tracked execution, right after creating the tasks and after a restart + relist.

    FPD_BIN=build/daemon/flyteplugd .venv/bin/python bench/engine/memory.py --tasks 100000 \
        --etcd-quota-mib 2048 --apiserver-memory 8GiB

1. starts a real kube-apiserver + etcd (tests/cluster; at 100,000 pods etcd needs ~600 MiB of
   quota and kube-apiserver ~5.5 GiB) and flyteplugd with its admin page on loopback;
2. creates --tasks pod tasks through CreateTask (grpcio + flyteidl, 64 in flight), checks a
   sample answers GetTask, and reports the daemon's RSS and its own breakdown
   (flyteplugd_memory_bytes on /metrics: informer cache, execution table, malloc's heap);
3. restarts the daemon, waits until the relist has rebuilt every execution, and reports the
   same again.
Bytes per task are (RSS with the tasks - RSS idle) / tasks, idle measured right after start.
Target (issue 18): <= 2,500 bytes per task at 100,000, after creating and after the relist.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "cluster"))
sys.path.insert(0, str(ROOT / "tests" / "e2e" / "engine"))

import grpc  # noqa: E402
from flyteidl.admin import agent_pb2  # noqa: E402
from flyteidl.service import agent_pb2_grpc  # noqa: E402

import flytekit_tasks  # noqa: E402
from cluster import Cluster, free_port  # noqa: E402
from conftest import execution_metadata  # noqa: E402


def status_kib(pid: int) -> dict[str, int]:
    out = {}
    for line in open(f"/proc/{pid}/status"):
        k, _, v = line.partition(":")
        if k in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
            out[k] = int(v.split()[0])
    return out


def metrics(admin: int) -> dict[str, float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics", timeout=30).read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            k, _, v = line.rpartition(" ")
            out[k] = float(v)
    return out


def breakdown(m: dict[str, float]) -> str:
    parts = [(k.split('"')[1], v) for k, v in m.items() if k.startswith("flyteplugd_memory_bytes{")]
    return ", ".join(f"{name} {v / 1048576:.1f} MiB" for name, v in parts) or "(no breakdown)"


class Daemon:
    def __init__(self, binary: str, config: Path, log: Path, admin: int):
        self.admin = admin
        self.proc = subprocess.Popen([binary, "serve", "--config", str(config)],
                                     stdout=open(log, "ab"), stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 120) -> float:
        t0 = time.time()
        while time.time() - t0 < timeout:
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{self.admin}/readyz", timeout=5).status == 200:
                    return time.time() - t0
            except OSError:
                pass
            time.sleep(0.05)
        raise TimeoutError("flyteplugd not ready")

    def wait_executions(self, n: int, timeout: float = 600) -> float:
        t0 = time.time()
        while time.time() - t0 < timeout:
            if metrics(self.admin).get("flyteplugd_executions", 0) >= n:
                return time.time() - t0
            time.sleep(0.2)
        raise TimeoutError(f"flyteplugd tracks fewer than {n} executions")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=60)


def report(label: str, d: Daemon, idle_kib: int, tasks: int) -> None:
    s = status_kib(d.proc.pid)
    t0 = time.perf_counter()
    m = metrics(d.admin)
    scrape_ms = (time.perf_counter() - t0) * 1000
    per_task = (s["VmRSS"] - idle_kib) * 1024 / tasks
    print(f"{label}: RSS {s['VmRSS'] / 1024:.1f} MiB (anonymous {s['RssAnon'] / 1024:.1f}, "
          f"peak {s['VmHWM'] / 1024:.1f}), {per_task:,.0f} bytes per task; "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"  breakdown: {breakdown(m)} (/metrics answered in {scrape_ms:.1f} ms)")


def create_all(stub, ns, template, n):
    def one(i):
        ex = f"m{i}"
        return stub.CreateTask(agent_pb2.CreateTaskRequest(
            template=template, output_prefix=f"s3://b/m/{ex}/n0/data/0",
            task_execution_metadata=execution_metadata(ns, ex)), timeout=300).resource_meta
    with ThreadPoolExecutor(64) as pool:
        return list(pool.map(one, range(n)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=10000)
    ap.add_argument("--etcd-quota-mib", type=int, default=256)
    ap.add_argument("--apiserver-memory", default=None, help="kube-apiserver GOMEMLIMIT, e.g. 8GiB")
    ap.add_argument("--no-restart", action="store_true", help="skip the restart + relist")
    a = ap.parse_args()
    binary = os.environ.get("FPD_BIN", str(ROOT / "build" / "daemon" / "flyteplugd"))
    work = Path(tempfile.mkdtemp(prefix="fpd-bench-memory-"))
    with Cluster(workdir=work / "cluster", etcd_quota_bytes=a.etcd_quota_mib << 20,
                 apiserver_memory_limit=a.apiserver_memory) as cluster:
        port, admin = free_port(), free_port()
        key = work / "key"
        key.write_bytes(os.urandom(32))
        config = work / "flyteplugd.yaml"
        config.write_text(f'log: {{level: warn}}\ngrpc: {{listen: "127.0.0.1:{port}"}}\n'
                          f'admin: {{enabled: true, listen: "127.0.0.1:{admin}"}}\n'
                          f'kubernetes: {{kubeconfig: "{cluster.kubeconfig}", qps: 5000, burst: 5000}}\n'
                          f'engine: {{signing_key_file: "{key}", orphan_after: 24h}}\n')
        log = work / "flyteplugd.log"
        d = Daemon(binary, config, log, admin)
        try:
            d.wait_ready()
            idle = status_kib(d.proc.pid)["VmRSS"]
            print(f"idle: RSS {idle / 1024:.1f} MiB")
            ch = grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.max_concurrent_streams", 100)])
            stub = agent_pb2_grpc.AsyncAgentServiceStub(ch)
            ns = cluster.new_namespace("mem")
            t0 = time.time()
            metas = create_all(stub, ns, flytekit_tasks.python_task(), a.tasks)
            print(f"created {a.tasks} tasks in {time.time() - t0:.1f} s")
            for m in metas[:: max(1, len(metas) // 200)]:
                stub.GetTask(agent_pb2.GetTaskRequest(resource_meta=m), timeout=60)
            ch.close()
            d.wait_executions(a.tasks)
            time.sleep(3)
            report("after creating", d, idle, a.tasks)
            if a.no_restart:
                return
            d.stop()
            d = Daemon(binary, config, log, admin)
            ready = d.wait_ready()
            idle_restart = status_kib(d.proc.pid)["VmRSS"]
            relisted = d.wait_executions(a.tasks)
            print(f"restart: /readyz after {ready:.2f} s, {a.tasks} executions after {relisted:.2f} s")
            time.sleep(3)
            report("after a restart and relist", d, idle, a.tasks)
            print(f"  (RSS at /readyz {idle_restart / 1024:.1f} MiB)")
        finally:
            d.stop()


if __name__ == "__main__":
    main()
