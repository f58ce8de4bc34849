"""Admin benchmark: GetTask latency while clients read /executions (finding D7).

    FPD_BIN=build/daemon/flyteplugd .venv/bin/python bench/admin/run.py \
        [--tasks 1000] [--clients 16] [--limit 500] [--seconds 10] [--slices]

1. starts a real kube-apiserver + etcd (tests/cluster) and flyteplugd with the admin listener
   on loopback;
2. creates --tasks pod tasks through CreateTask (grpcio + flyteidl, as bench/engine/run.py);
3. GetTask latency, unloaded: h2load, one connection, one stream, so every call waits for the
   one before (its latency is the loop's response time), for --seconds;
4. the same while --clients processes (niced, so that they load the daemon rather than starve
   the measuring client of CPU) each walk every page of /executions?limit=--limit over and
   over, following "continue" (a daemon without pages answers the first --limit executions:
   with --limit 10000 that is the whole table in one body, the load of the finding); with
   --idle-readers they run as SCHED_IDLE: on 2 cores, 16 busy reader processes otherwise
   preempt the daemon and h2load themselves, whatever the daemon does;
5. with --trace, perf trace records the syscalls of the daemon and of h2load, and each
   GetTask is also timed inside the daemon: from h2load's write of the request to the end of
   the daemon's send of the reply (waited + served), and from the daemon's recv to that send
   (served); perf trace slows every syscall a little, in both runs alike;
6. with --slices, the daemon logs at debug level and the admin's own timing of each page
   (slices written, the longest) is summarised.
Target: loaded GetTask p99 within 2x of unloaded.
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import re
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "cluster"))
sys.path.insert(0, str(ROOT / "tests" / "e2e" / "engine"))

# grpc, flyteidl and the cluster helpers are imported in main(): the /executions clients are
# spawned processes that import this file, and need none of them.

def create_all(*args):
    """bench/engine/run.py's create_all (that file is not a package)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("engine_bench", ROOT / "bench" / "engine" / "run.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.create_all(*args)


def gettask_latency(port, meta, seconds, work: Path, tag, trace_pid=None):
    """Sequential GetTask calls (h2load -c1 -m1) for seconds: latencies in ms, sorted. With
    trace_pid (the daemon), also the daemon's own share of each call from syscall times
    (trace_latency): (client, waited + served, served)."""
    from flyteidl.admin import agent_pb2
    req = agent_pb2.GetTaskRequest(task_type="python-task", resource_meta=meta).SerializeToString()
    body = work / "gettask.body"
    body.write_bytes(b"\0" + struct.pack(">I", len(req)) + req)
    log = work / f"h2load-{tag}.log"
    h2load = subprocess.Popen(
        ["h2load", "-D", str(seconds), "--warm-up-time=1", "-c", "1", "-m", "1",
         "-t", "1", "-d", str(body), "-H", "content-type: application/grpc",
         "-H", "te: trailers", "--log-file", str(log),
         f"http://127.0.0.1:{port}/flyteidl.service.AsyncAgentService/GetTask"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    perf = None
    if trace_pid:
        time.sleep(0.5)  # h2load's worker thread exists (perf -p attaches to threads now)
        out = work / f"trace-{tag}.txt"
        perf = subprocess.Popen(["perf", "trace", "-p", f"{trace_pid},{h2load.pid}", "-o",
                                 str(out), "-e", "recvfrom,sendto,read,write,writev,sched:sched_switch"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if h2load.wait() != 0:
        raise SystemExit("h2load failed")
    client = sorted(float(l.split()[2]) / 1000.0 for l in open(log) if l.strip())
    if not perf:
        return client
    perf.send_signal(2)
    perf.wait(timeout=60)
    return (client,) + trace_latency(out, trace_pid)


SWITCH_LINE = re.compile(r"^\s*([\d.]+) \([\s\d.ms]*\): \S+?/(\d+) sched:sched_switch")
TRACE_LINE = re.compile(r"^\s*([\d.]+) \(\s*([\d.]+) ms\): \S+?/(\d+) (\w+)\(fd: (\d+)"
                        r".*\)\s+= (-?\d+)")


def trace_latency(path: Path, daemon: int):
    """From perf trace's syscall times, for each GetTask: from the client's write of the
    request (on loopback the bytes are in the daemon's socket when it returns) to the end of
    the daemon's send of the reply (waited + served), and from the daemon's first recv of it to
    that send (served), and waited + served of the calls during which the daemon was never
    switched out (what the daemon itself spends, without the scheduler's share). The daemon's
    gRPC socket is the one it receives on most, h2load's the one its threads (every thread not
    the daemon's) read most. All sorted,
    in ms; the first second (h2load's warm-up, perf attaching) is left out."""
    events, counts, ccounts = [], {}, {}
    for line in path.read_text(errors="replace").splitlines():
        m = SWITCH_LINE.match(line)
        if m:
            if int(m[2]) == daemon:
                events.append((float(m[1]), 0.0, daemon, "switch", -1, 1))
            continue
        m = TRACE_LINE.match(line)
        if not m:
            continue
        t, dur, tid, call, fd, ret = (float(m[1]), float(m[2]), int(m[3]), m[4], int(m[5]),
                                      int(m[6]))
        events.append((t, dur, tid, call, fd, ret))
        if tid == daemon and call == "recvfrom" and ret > 0:
            counts[fd] = counts.get(fd, 0) + 1
        if tid != daemon and call == "read" and ret > 0:
            ccounts[fd] = ccounts.get(fd, 0) + 1
    if not counts or not ccounts:
        return [0.0], [0.0], [0.0]
    events.sort()
    gfd, cfd = max(counts, key=counts.get), max(ccounts, key=ccounts.get)
    start = events[0][0] + 1000.0
    total, served, running = [], [], []
    sent = read = None
    switched = False
    for t, dur, tid, call, fd, ret in events:
        if t < start or ret <= 0:
            continue
        if call == "switch":
            switched = True
        elif tid != daemon and fd == cfd and call in ("write", "writev", "sendto"):
            sent, read, switched = t + dur, None, False
        elif tid == daemon and fd == gfd and call == "recvfrom" and sent is not None:
            read = t if read is None else read
        elif tid == daemon and fd == gfd and call == "sendto" and read is not None:
            total.append(t + dur - sent)
            served.append(t + dur - read)
            if not switched:
                running.append(t + dur - sent)
            sent = read = None
    return sorted(total) or [0.0], sorted(served) or [0.0], sorted(running) or [0.0]


def fetcher(admin_port, limit, stop, counters, idle_class=False):
    """Walks every page of /executions, again and again, until stop is set."""
    os.nice(10)
    if idle_class:  # runs only when a CPU has nothing else to do
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    conn = http.client.HTTPConnection("127.0.0.1", admin_port, timeout=60)
    pages = walks = nbytes = 0
    while not stop.is_set():
        token = None
        while True:
            path = f"/executions?limit={limit}" + (f"&continue={token}" if token else "")
            conn.request("GET", path)
            r = conn.getresponse()
            body = r.read()
            if r.status != 200:
                raise SystemExit(f"{path}: {r.status} {body[:200]!r}")
            pages += 1
            if pages == 1:
                with counters.get_lock():
                    counters[3] += 1  # started
            nbytes += len(body)
            token = json.loads(body).get("continue")
            if not token or stop.is_set():
                break
        walks += 1
    with counters.get_lock():
        counters[0] += pages
        counters[1] += walks
        counters[2] += nbytes


def summary(lat):
    return (f"p50 {lat[len(lat) // 2]:.3f} ms, p99 {lat[int(len(lat) * 0.99)]:.3f} ms, "
            f"max {lat[-1]:.2f} ms ({len(lat)} calls)")


def main():
    import grpc
    from flyteidl.admin import agent_pb2
    from flyteidl.service import agent_pb2_grpc

    import flytekit_tasks
    from cluster import Cluster, free_port

    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--limit", type=int, default=500)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--slices", action="store_true")
    ap.add_argument("--idle-readers", action="store_true",
                    help="run the /executions clients as SCHED_IDLE, so that they load the "
                         "daemon without taking CPU from it or from h2load")
    ap.add_argument("--trace", action="store_true",
                    help="also time each GetTask inside the daemon (perf trace)")
    a = ap.parse_args()
    binary = os.environ.get("FPD_BIN", str(ROOT / "build" / "daemon" / "flyteplugd"))
    work = Path(tempfile.mkdtemp(prefix="fpd-bench-admin-"))
    with Cluster(workdir=work / "cluster") as cluster:
        port, admin = free_port(), free_port()
        key = work / "key"
        key.write_bytes(os.urandom(32))
        config = work / "flyteplugd.yaml"
        level = "debug" if a.slices else "warn"
        config.write_text(f'log: {{level: {level}}}\ngrpc: {{listen: "127.0.0.1:{port}"}}\n'
                          f'admin: {{listen: "127.0.0.1:{admin}", max_connections_per_peer: 64}}\n'
                          f'kubernetes: {{kubeconfig: "{cluster.kubeconfig}", qps: 5000, burst: 5000}}\n'
                          f'engine: {{signing_key_file: "{key}", orphan_after: 24h}}\n')
        logpath = work / "flyteplugd.log"
        log = open(logpath, "wb")
        daemon = subprocess.Popen([binary, "serve", "--config", str(config)], stdout=log, stderr=log)
        try:
            ch = grpc.insecure_channel(f"127.0.0.1:{port}")
            grpc.channel_ready_future(ch).result(timeout=30)
            stub = agent_pb2_grpc.AsyncAgentServiceStub(ch)
            ns = cluster.new_namespace("bench")
            metas = create_all(stub, ns, flytekit_tasks.python_task(), a.tasks, "b")
            for m in metas[:: max(1, len(metas) // 100)]:
                stub.GetTask(agent_pb2.GetTaskRequest(resource_meta=m), timeout=30)
            time.sleep(2)
            meta = metas[len(metas) // 2]
            stub.GetTask(agent_pb2.GetTaskRequest(task_type="python-task", resource_meta=meta),
                         timeout=30)  # the call h2load repeats succeeds
            print(f"binary: {binary}\ntasks tracked: {a.tasks}; /executions?limit={a.limit}, "
                  f"{a.clients} clients")
            tpid = daemon.pid if a.trace else None
            idle = gettask_latency(port, meta, a.seconds, work, "idle", tpid)
            if a.trace:
                idle, idle_total, idle_served, idle_running = idle
            print(f"GetTask unloaded: {summary(idle)}")
            if a.trace:
                print(f"  in the daemon, waited + served: {summary(idle_total)}")
                print(f"  in the daemon, served (recv -> send): {summary(idle_served)}")
                print(f"  in the daemon, waited + served, never switched out: "
                      f"{summary(idle_running)}")

            mp = multiprocessing.get_context("spawn")
            stop = mp.Event()
            counters = mp.Array("q", 4)
            procs = [mp.Process(target=fetcher, args=(admin, a.limit, stop, counters,
                                                          a.idle_readers))
                     for _ in range(a.clients)]
            for p in procs:
                p.start()
            while counters[3] < a.clients:  # every client has read a page
                time.sleep(0.1)
            t0 = time.time()
            loaded = gettask_latency(port, meta, a.seconds, work, "loaded", tpid)
            if a.trace:
                loaded, loaded_total, loaded_served, loaded_running = loaded
            elapsed = time.time() - t0
            stop.set()
            for p in procs:
                p.join(timeout=120)
                if p.exitcode != 0:
                    raise SystemExit(f"a /executions client failed (exit {p.exitcode})")
            pages, walks, nbytes, _ = counters[:]
            print(f"GetTask with {a.clients} clients reading /executions: {summary(loaded)}")
            print(f"  /executions served: {pages} pages, {walks} whole walks, "
                  f"{nbytes / 1e6 / elapsed:.1f} MB/s (over ~{elapsed:.0f} s)")
            print(f"  p99 loaded / unloaded: "
                  f"{loaded[int(len(loaded) * 0.99)] / idle[int(len(idle) * 0.99)]:.2f}x")
            if a.trace:
                print(f"  in the daemon, waited + served: {summary(loaded_total)}")
                print(f"  in the daemon, served (recv -> send): {summary(loaded_served)}")
                print(f"  in the daemon, waited + served, never switched out: "
                      f"{summary(loaded_running)}")
                def ratio(x, y):
                    return x[int(len(x) * 0.99)] / max(y[int(len(y) * 0.99)], 1e-9)
                print(f"  in the daemon, p99 loaded / unloaded: waited + served "
                      f"{ratio(loaded_total, idle_total):.2f}x, served "
                      f"{ratio(loaded_served, idle_served):.2f}x, never switched out "
                      f"{ratio(loaded_running, idle_running):.2f}x")
            if a.slices:
                rx = re.compile(r"/executions: (\d+) executions chosen in (\d+) slices, ([\d.]+) ms in all, "
                                r"longest ([\d.]+) ms \((\d+) restarts\), written in (\d+) slices, "
                                r"([\d.]+) ms in all, longest ([\d.]+) ms \(([\d.]+) ms on the CPU\)")
                rows = [tuple(float(g) for g in m.groups())
                        for m in map(rx.search, logpath.read_text(errors="replace").splitlines())
                        if m]
                if rows:
                    choose = [r[2] for r in rows]
                    choose_longest = [r[3] for r in rows]
                    restarts = sum(r[4] for r in rows)
                    rows = [r[:1] + r[5:] for r in rows]
                    longest = sorted(r[3] for r in rows)
                    cpu = sorted(r[4] for r in rows)
                    per = [r[2] / r[1] for r in rows if r[1]]
                    print(f"  page chosen in (CPU) p50 {statistics.median(choose):.3f} ms, max {max(choose):.3f} ms; "
                          f"longest choosing slice max {max(choose_longest):.3f} ms; {restarts:.0f} restarts")
                    print(f"  pages timed: {len(rows)}; per page {statistics.median(r[1] for r in rows):.0f} "
                          f"slices, {statistics.median(r[2] for r in rows):.2f} ms in all (medians); "
                          f"mean slice {statistics.mean(per) * 1000:.0f} us; longest slice p50 "
                          f"{longest[len(longest) // 2]:.3f} ms, p99 "
                          f"{longest[int(len(longest) * 0.99)]:.3f} ms, max {longest[-1]:.3f} ms; its CPU time "
                          f"p99 {cpu[int(len(cpu) * 0.99)]:.3f} ms, max {cpu[-1]:.3f} ms")
        finally:
            daemon.terminate()
            daemon.wait(timeout=30)


if __name__ == "__main__":
    main()
