"""GetTask over Flyte 2 (flyteidl2.connector) next to Flyte 1 (flyteidl.service), same run.

    FPD_BIN=build/daemon/flyteplugd .venv/bin/python bench/engine/flyte2.py [--tasks 1000]

Starts a real kube-apiserver + etcd (tests/cluster) and flyteplugd (use a release build),
creates --tasks pod tasks through Flyte 1's CreateTask, then sends --calls GetTask calls for one
tracked task with h2load (4 connections x 16 streams, as run.py), alternating the two families
for --rounds rounds so that both see the same machine. Reports, per family, the median calls/s
and the median CPU time flyteplugd spent per call (utime + stime from /proc: unlike calls/s,
not skewed by other load on a shared machine), and their ratios. Target (issue 16): Flyte 2
within 10% of Flyte 1.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import struct
import subprocess
import tempfile
from pathlib import Path

import grpc
from flyteidl.admin import agent_pb2
from flyteidl.service import agent_pb2_grpc
from flyteidl2.connector import connector_pb2, service_pb2_grpc
from flyteidl2.core import execution_pb2

# bench/engine/run.py: its cluster, CreateTask and h2load helpers
from run import ROOT, Cluster, create_all, flytekit_tasks, free_port

FLYTE1 = "/flyteidl.service.AsyncAgentService/GetTask"
FLYTE2 = "/flyteidl2.connector.AsyncConnectorService/GetTask"


def cpu_s(pid):
    """CPU time (user + system) of process pid so far, in seconds."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def h2load_calls(port, path, req, calls, work: Path, pid):
    """calls GetTask calls; returns (calls/s, flyteplugd CPU µs per call)."""
    body = work / "gettask.body"
    body.write_bytes(b"\0" + struct.pack(">I", len(req)) + req)
    before = cpu_s(pid)
    out = subprocess.run(["h2load", "-n", str(calls), "-c", "4", "-m", "16", "-t", "1", "-d", str(body),
                          "-H", "content-type: application/grpc", "-H", "te: trailers",
                          f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True).stdout
    used = cpu_s(pid) - before
    ok = int(re.search(r"status codes: (\d+) 2xx", out).group(1))
    assert ok == calls, out
    return float(re.search(r"finished in [\d.]+[a-z]+, ([\d.]+) req/s", out).group(1)), used * 1e6 / calls


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=1000)
    ap.add_argument("--calls", type=int, default=500000)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    binary = os.environ.get("FPD_BIN", str(ROOT / "build" / "daemon" / "flyteplugd"))
    work = Path(tempfile.mkdtemp(prefix="fpd-bench-flyte2-"))
    with Cluster(workdir=work / "cluster") as cluster:
        port = free_port()
        key = work / "key"
        key.write_bytes(os.urandom(32))
        config = work / "flyteplugd.yaml"
        config.write_text(f'log: {{level: warn}}\ngrpc: {{listen: "127.0.0.1:{port}"}}\n'
                          f'admin: {{enabled: false}}\n'
                          f'kubernetes: {{kubeconfig: "{cluster.kubeconfig}", qps: 5000, burst: 5000}}\n'
                          f'engine: {{signing_key_file: "{key}", orphan_after: 24h}}\n')
        log = open(work / "flyteplugd.log", "wb")
        daemon = subprocess.Popen([binary, "serve", "--config", str(config)], stdout=log, stderr=log)
        try:
            ch = grpc.insecure_channel(f"127.0.0.1:{port}")
            grpc.channel_ready_future(ch).result(timeout=30)
            stub = agent_pb2_grpc.AsyncAgentServiceStub(ch)
            ns = cluster.new_namespace("bench")
            metas = create_all(stub, ns, flytekit_tasks.python_task(), a.tasks, "b")
            meta = metas[len(metas) // 2]
            req2 = connector_pb2.GetTaskRequest(
                resource_meta=meta, task_category=connector_pb2.TaskCategory(name="python-task")).SerializeToString()
            # h2load counts HTTP statuses only (a gRPC error is HTTP 200 too): check once with
            # the real client that the Flyte 2 call answers the task.
            got = service_pb2_grpc.AsyncConnectorServiceStub(ch).GetTask(
                connector_pb2.GetTaskRequest.FromString(req2), timeout=30).resource
            assert got.phase == execution_pb2.TaskExecution.QUEUED, got
            req1 = agent_pb2.GetTaskRequest(task_type="python-task", resource_meta=meta).SerializeToString()
            rates, cpu = {FLYTE1: [], FLYTE2: []}, {FLYTE1: [], FLYTE2: []}
            h2load_calls(port, FLYTE1, req1, a.calls // 10, work, daemon.pid)  # warm-up
            for _ in range(a.rounds):
                for path, req in ((FLYTE1, req1), (FLYTE2, req2)):
                    rps, us = h2load_calls(port, path, req, a.calls, work, daemon.pid)
                    rates[path].append(rps)
                    cpu[path].append(us)
                    print(f"  {path}: {rps:,.0f} calls/s, {us:.2f} µs CPU per call")
            r1, r2 = statistics.median(rates[FLYTE1]), statistics.median(rates[FLYTE2])
            c1, c2 = statistics.median(cpu[FLYTE1]), statistics.median(cpu[FLYTE2])
            print(f"GetTask from cache, {a.tasks} tasks tracked, median of {a.rounds} rounds of "
                  f"{a.calls} calls (64 concurrent streams):")
            print(f"  Flyte 1 (flyteidl.service.AsyncAgentService):        {r1:,.0f} calls/s, {c1:.2f} µs CPU/call")
            print(f"  Flyte 2 (flyteidl2.connector.AsyncConnectorService): {r2:,.0f} calls/s, {c2:.2f} µs CPU/call")
            print(f"  Flyte 2 / Flyte 1: calls/s {r2 / r1:.3f}, CPU per call {c2 / c1:.3f} "
                  f"(target: within 10%)")
        finally:
            daemon.terminate()
            daemon.wait(timeout=30)


if __name__ == "__main__":
    main()
