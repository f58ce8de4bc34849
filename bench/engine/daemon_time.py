"""The daemon's own time per CreateTask, from its system calls.

    FPD_BIN=build/daemon/flyteplugd .venv/bin/python bench/engine/daemon_time.py [--creates 200]
    ... daemon_time.py --callgrind [--creates 100]     instructions per create instead
    ... [--call-protocol http/2]                       calls over HTTP/2 (default HTTP/1.1)
    ... --pin                                          the daemon alone on CPU 0

Starts the test API server (tests/cluster) and flyteplugd, warms the connections up with a few
creates, then attaches `perf trace` (strace -ttt -T when --strace is given) to the daemon and
sends --creates CreateTask calls one at a time (grpcio, a pause of --settle-ms before each, so
that one create is in flight and the watch events of the previous one are handled). Sockets
are told apart by fd: the accepted gRPC connection (local port = the gRPC port) and the API
server connections (remote port = the API server's); the call connection is the API server
connection that carries the POSTs (writes of 1000 bytes or more; watches only write HTTP/2
frames of a few dozen bytes).

For each create it pairs, in order:
  request: start of the read that brings the CreateTaskRequest on the gRPC socket
           -> end of the last write of the POST on the call connection;
  answer:  start of the first read of the API server's answer on the call connection
           -> end of the first write of the gRPC reply on the gRPC socket;
and prints medians and p90 of both and of their sum. The times include the system calls at
both ends and are taken from the kernel's timestamps, so they measure what the daemon spends,
not what the load generator or the API server does; tracing adds a few microseconds per
system call (compare with the count of calls per interval that is printed too). Before the
traced creates, as many untraced ones give the daemon's CPU time per create and the time it was
runnable but waiting for a CPU (/proc/PID/schedstat): on a loaded machine the wall-clock
intervals above include such waits, the CPU time does not. With --pin the daemon runs alone on
CPU 0 and everything else (kube-apiserver, etcd, this client, the tracer) on CPU 1, as when the
control plane and the callers run on other machines: the intervals then hold the daemon's own
time only (the wait printed is ~0), where on two shared cores the API server's and the
client's work land inside them.

With --callgrind the daemon runs under valgrind's callgrind, which counts the instructions it
executes: load-independent, unlike the times above. Counting is switched on only for the
--creates creates after the warm-up; the total is divided by the number of creates and split
into the parts that start in a few functions (inclusive costs): the request up to the POST
handed to libcurl and sent, the answer's parse and the reply, the first status after the reply
and the watch events of the created object. The total also holds what the daemon does on its
own meanwhile (informer relists of absent CRDs, lease renewals), a few percent.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
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

SYSCALLS = "read,write,readv,writev,recvfrom,sendto,recvmsg,sendmsg"
READS = {"read", "readv", "recvfrom", "recvmsg"}
WRITES = {"write", "writev", "sendto", "sendmsg"}
REQUEST_MIN = 200     # bytes: a CreateTaskRequest read, not a PING or WINDOW_UPDATE
REPLY_MIN = 60        # bytes: the reply's HEADERS + DATA, not a PING ack
POST_MIN = 1000       # bytes: a POST of a pod on the call connection


def sockets(pid: int) -> dict[int, tuple[int, int]]:
    """fd -> (local port, remote port) for the daemon's TCP sockets."""
    inode_ports = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(f"/proc/{pid}/net/{table.rsplit('/', 1)[1]}").read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            inode_ports[f[9]] = (int(f[1].rsplit(":", 1)[1], 16), int(f[2].rsplit(":", 1)[1], 16))
    out = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        m = re.fullmatch(r"socket:\[(\d+)\]", link)
        if m and m.group(1) in inode_ports:
            out[int(fd)] = inode_ports[m.group(1)]
    return out


# perf trace -T:  6231136.698 ( 0.005 ms): [flyteplugd/1234 ]read(fd: 5, buf: 0x.., count: 11160) = 11159
PERF = re.compile(r"^\s*([\d.]+) \(\s*([\d.]+) ms\):\s+(?:\S+/\d+ )?(\w+)\(fd: (\d+)[^)]*\)\s+= (-?\d+)")
# strace -ttt -T:  1700000000.123456 read(12, "..."..., 16384) = 345 <0.000010>
STRACE = re.compile(r"^(?:\[pid\s+\d+\] |\d+ )?([\d.]+) (\w+)\((\d+),.*= (-?\d+).*<([\d.]+)>$")


def parse(path: Path, strace: bool):
    """[(start_s, end_s, syscall, fd, ret)] in time order."""
    events = []
    for line in open(path, errors="replace"):
        if strace:
            m = STRACE.match(line.rstrip())
            if m:
                t, dur = float(m.group(1)), float(m.group(5))
                events.append((t, t + dur, m.group(2), int(m.group(3)), int(m.group(4))))
        else:
            m = PERF.match(line)
            if m:
                t, dur = float(m.group(1)) / 1000, float(m.group(2)) / 1000
                events.append((t, t + dur, m.group(3), int(m.group(4)), int(m.group(5))))
    events.sort()
    return events


def pair(events, client_fds, api_fds):
    """Per create: (request interval, answer interval, syscalls in each)."""
    post_bytes = {}
    for _, _, sc, fd, ret in events:
        if fd in api_fds and sc in WRITES and ret >= POST_MIN:
            post_bytes[fd] = post_bytes.get(fd, 0) + 1
    call_fds = set(post_bytes)
    out = []
    state, t_req, t_post, t_ans, n1, n2 = 0, 0.0, 0.0, 0.0, 0, 0
    for start, end, sc, fd, ret in events:
        if ret <= 0:
            if state in (1, 3):
                n1 += state == 1
                n2 += state == 3
            continue
        if state == 0:
            if fd in client_fds and sc in READS and ret >= REQUEST_MIN:
                state, t_req, n1, post_fd = 1, start, 1, None
            continue
        if state == 1:          # request read; the POST goes out
            n1 += 1
            if fd in call_fds and sc in WRITES:
                t_post, post_fd = end, fd
            elif post_fd is not None and fd == post_fd and sc in READS:
                state, t_ans, n2 = 3, start, 1
                n1 -= 1
            continue
        if state == 3:          # answer read; the reply goes out
            n2 += 1
            if fd in client_fds and sc in WRITES and ret >= REPLY_MIN:
                out.append((t_post - t_req, end - t_ans, n1, n2))
                state = 0
    return out, call_fds


def schedstat(pid: int) -> tuple[int, int]:
    """(ns on a CPU, ns runnable but waiting) summed over the daemon's threads."""
    run = wait = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        f = open(f"/proc/{pid}/task/{tid}/schedstat").read().split()
        run, wait = run + int(f[0]), wait + int(f[1])
    return run, wait


def pct(values, q):
    v = sorted(values)
    return v[min(len(v) - 1, int(q * len(v)))]


# Parts of the work per create, as inclusive costs of the functions that start them.
CALLGRIND_PARTS = {
    "request: decode, build, POST handed to libcurl and sent": ("family.c", "on_request"),
    "  of it: the object built (prepare, build, decorate)": ("build.c", "fpd_build"),
    "  of it: the POST (body encoded, tree freed, libcurl)": ("calls.c", "call_post"),
    "answer: parsed and replied (after libcurl's read)": ("client.c", "op_done"),
    "after the reply: first status from the object sent": ("calls.c", "drop_created"),
    "watch events (the daemon's own object coming back)": ("informer.c", "watch_data"),
}


def daemon_setup(work: Path, cluster, call_protocol: str = "http/1.1") -> tuple[Path, int]:
    """The daemon's configuration (written under work) and its gRPC port."""
    port = free_port()
    key = work / "key"
    key.write_bytes(os.urandom(32))
    config = work / "flyteplugd.yaml"
    config.write_text(f'log: {{level: warn}}\ngrpc: {{listen: "127.0.0.1:{port}"}}\n'
                      f'admin: {{enabled: false}}\n'
                      f'kubernetes: {{kubeconfig: "{cluster.kubeconfig}", qps: 5000, burst: 5000, '
                      f'call_protocol: "{call_protocol}"}}\n'
                      f'engine: {{signing_key_file: "{key}", orphan_after: 24h}}\n')
    return config, port


def callgrind(a) -> None:
    """Instructions per create: the daemon under callgrind, collecting only while --creates
    creates run (after --warmup untraced ones). Everything the daemon does for them counts:
    request, POST, answer, reply, the watch events and the bookkeeping after the reply."""
    binary = os.environ.get("FPD_BIN", str(ROOT / "build" / "daemon" / "flyteplugd"))
    for tool in ("valgrind", "callgrind_control", "callgrind_annotate"):
        if not shutil.which(tool):
            sys.exit(f"daemon_time.py: {tool} missing")
    work = Path(tempfile.mkdtemp(prefix="fpd-bench-daemon-instr-"))
    out = work / "callgrind.out"
    with Cluster(workdir=work / "cluster") as cluster:
        config, port = daemon_setup(work, cluster, a.call_protocol)
        log = open(work / "flyteplugd.log", "wb")
        daemon = subprocess.Popen(["valgrind", "--tool=callgrind", "--instr-atstart=no",
                                   f"--callgrind-out-file={out}", binary, "serve", "--config",
                                   str(config)], stdout=log, stderr=log)
        try:
            ch = grpc.insecure_channel(f"127.0.0.1:{port}")
            grpc.channel_ready_future(ch).result(timeout=120)
            stub = agent_pb2_grpc.AsyncAgentServiceStub(ch)
            template = flytekit_tasks.python_task()
            ns = cluster.new_namespace("dt")

            def create(name):
                stub.CreateTask(agent_pb2.CreateTaskRequest(
                    template=template, output_prefix=f"s3://b/m/{name}/n0/data/0",
                    task_execution_metadata=execution_metadata(ns, name)), timeout=60)

            for i in range(a.warmup):
                create(f"w{i}")
                time.sleep(a.settle_ms / 1000)
            time.sleep(1)
            subprocess.run(["callgrind_control", "-i", "on", str(daemon.pid)], check=True,
                           stdout=subprocess.DEVNULL)
            for i in range(a.creates):
                time.sleep(a.settle_ms / 1000)
                create(f"c{i}")
            time.sleep(1)   # the watch events of the last creates
            subprocess.run(["callgrind_control", "-i", "off", str(daemon.pid)], check=True,
                           stdout=subprocess.DEVNULL)
            ch.close()
        finally:
            daemon.terminate()
            daemon.wait(timeout=120)
    ann = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=99", str(out)],
                         check=True, capture_output=True, text=True).stdout
    total, parts = 0, {}
    for line in ann.splitlines():
        m = re.match(r"^\s*([\d,]+) \(100\.0%\)\s+PROGRAM TOTALS", line)
        if m:
            total = int(m.group(1).replace(",", ""))
        m = re.match(r"^\s*([\d,]+) \([\d. ]+%\)\s+(\S+):(\w+) ", line)
        if m and (m.group(2).rsplit("/", 1)[-1], m.group(3)) in CALLGRIND_PARTS.values():
            parts[(m.group(2).rsplit("/", 1)[-1], m.group(3))] = int(m.group(1).replace(",", ""))
    if not total:
        sys.exit(f"daemon_time.py: no totals in {out}")
    print(f"instructions per CreateTask (callgrind, everything the daemon did for {a.creates} "
          f"creates, divided): {total / a.creates:,.0f}")
    for name, fn in CALLGRIND_PARTS.items():
        print(f"  {name:58s} {parts.get(fn, 0) / a.creates:10,.0f}")
    if a.keep:
        print(f"callgrind output: {out}")
    else:
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--creates", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--settle-ms", type=float, default=20)
    ap.add_argument("--strace", action="store_true", help="trace with strace instead of perf trace")
    ap.add_argument("--keep", action="store_true", help="keep the trace and print where")
    ap.add_argument("--call-protocol", default="http/1.1", choices=("http/1.1", "http/2"),
                    help="kubernetes.call_protocol of the daemon")
    ap.add_argument("--pin", action="store_true",
                    help="the daemon alone on CPU 0; kube-apiserver, etcd, this client and the "
                         "tracer on CPU 1 (so that the intervals hold no time the daemon spends "
                         "waiting for a CPU the others hold)")
    ap.add_argument("--callgrind", action="store_true",
                    help="run the daemon under valgrind's callgrind instead and report the "
                         "instructions it executes per create (load-independent)")
    a = ap.parse_args()
    if a.callgrind:
        return callgrind(a)
    binary = os.environ.get("FPD_BIN", str(ROOT / "build" / "daemon" / "flyteplugd"))
    tracer = shutil.which("strace" if a.strace else "perf")
    if not tracer:
        sys.exit("daemon_time.py: " + ("strace" if a.strace else "perf") + " missing")
    work = Path(tempfile.mkdtemp(prefix="fpd-bench-daemon-time-"))
    with Cluster(workdir=work / "cluster") as cluster:
        config, port = daemon_setup(work, cluster, a.call_protocol)
        log = open(work / "flyteplugd.log", "wb")
        daemon = subprocess.Popen([binary, "serve", "--config", str(config)], stdout=log, stderr=log)
        tracer_proc = None
        try:
            if a.pin:
                for pid, cpus in ((daemon.pid, "0"), (cluster.apiserver_proc.pid, "1"),
                                  (cluster.etcd_proc.pid, "1"), (os.getpid(), "1")):
                    subprocess.run(["taskset", "-a", "-pc", cpus, str(pid)], check=True,
                                   capture_output=True)
            ch = grpc.insecure_channel(f"127.0.0.1:{port}")
            grpc.channel_ready_future(ch).result(timeout=30)
            stub = agent_pb2_grpc.AsyncAgentServiceStub(ch)
            template = flytekit_tasks.python_task()
            ns = cluster.new_namespace("dt")

            def create(name):
                stub.CreateTask(agent_pb2.CreateTaskRequest(
                    template=template, output_prefix=f"s3://b/m/{name}/n0/data/0",
                    task_execution_metadata=execution_metadata(ns, name)), timeout=30)

            for i in range(a.warmup):
                create(f"w{i}")
                time.sleep(a.settle_ms / 1000)
            # Untraced: the daemon's CPU time per create, everything included (the watch event
            # and the bookkeeping after the reply too), and its time runnable but waiting for a
            # CPU, from the scheduler's own accounting (/proc/PID/schedstat, ns).
            s0 = schedstat(daemon.pid)
            for i in range(a.creates):
                time.sleep(a.settle_ms / 1000)
                create(f"u{i}")
            time.sleep(0.2)
            s1 = schedstat(daemon.pid)
            cpu_ms = (s1[0] - s0[0]) / a.creates / 1e6
            wait_ms = (s1[1] - s0[1]) / a.creates / 1e6
            api_port = int(cluster.server.rsplit(":", 1)[1])
            socks = sockets(daemon.pid)
            client_fds = {fd for fd, (lp, _) in socks.items() if lp == port}
            api_fds = {fd for fd, (_, rp) in socks.items() if rp == api_port}
            trace = work / "trace.txt"
            if a.strace:
                cmd = [tracer, "-ttt", "-T", "-f", "-e", f"trace={SYSCALLS}", "-o", str(trace),
                       "-p", str(daemon.pid)]
            else:
                cmd = [tracer, "trace", "-T", "-e", SYSCALLS, "-o", str(trace), "-p", str(daemon.pid)]
            tracer_proc = subprocess.Popen(cmd, stderr=subprocess.DEVNULL)
            # wait until the tracer sees the daemon's calls (ListAgents goes through the gRPC socket)
            meta = agent_pb2_grpc.AgentMetadataServiceStub(ch)
            for _ in range(200):
                meta.ListAgents(agent_pb2.ListAgentsRequest(), timeout=10)
                time.sleep(0.05)
                if trace.exists() and trace.stat().st_size > 0:
                    break
            time.sleep(0.5)
            for i in range(a.creates):
                time.sleep(a.settle_ms / 1000)
                create(f"c{i}")
            time.sleep(0.2)
            tracer_proc.send_signal(signal.SIGINT)
            tracer_proc.wait(timeout=60)
            tracer_proc = None
            ch.close()
            pairs, call_fds = pair(parse(trace, a.strace), client_fds, api_fds)
        finally:
            if tracer_proc:
                tracer_proc.send_signal(signal.SIGINT)
                tracer_proc.wait(timeout=60)
            daemon.terminate()
            daemon.wait(timeout=60)
    if a.keep:
        print(f"trace: {trace}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    load = open("/proc/loadavg").read().split()[:3]
    print(f"fds: gRPC {sorted(client_fds)}, API server {sorted(api_fds)} (calls on {sorted(call_fds)}); "
          f"{len(pairs)} of {a.creates} creates paired; load average {' '.join(load)}"
          + ("; the daemon alone on CPU 0" if a.pin else ""))
    if not pairs:
        sys.exit("daemon_time.py: no create paired (see --keep)")
    req = [p[0] * 1000 for p in pairs]
    ans = [p[1] * 1000 for p in pairs]
    tot = [r + s for r, s in zip(req, ans)]
    tracer_name = "strace" if a.strace else "perf trace"
    print(f"in-daemon time per CreateTask ({tracer_name}), ms:     median    p90")
    for name, v in (("request read -> POST written", req), ("answer read -> reply written", ans),
                    ("sum", tot)):
        print(f"  {name:30s} {statistics.median(v):8.3f} {pct(v, 0.9):6.3f}")
    print(f"  system calls per interval (median): {statistics.median(p[2] for p in pairs):.0f} + "
          f"{statistics.median(p[3] for p in pairs):.0f}")
    print(f"untraced, per create: daemon CPU {cpu_ms:.3f} ms (all of its work, watch event "
          f"included), waiting for a CPU {wait_ms:.3f} ms")


if __name__ == "__main__":
    main()
