"""Engine benchmark: many tracked executions, GetTask from the cache, CreateTask latency.

    FPD_BIN=build/daemon/flyteplugd .venv/bin/python bench/engine/run.py [--tasks 10000]

1. starts a real kube-apiserver + etcd (tests/cluster) and flyteplugd (use a release build);
2. creates --tasks pod tasks through CreateTask (grpcio + flyteidl, 64 in flight) and waits
   until every one answers GetTask from the daemon's cache; reports flyteplugd's RSS;
3. GetTask throughput and latency with h2load (4 connections x 16 streams, --seconds) for a
   tracked task (a cache lookup: the informer keeps every entry current);
4. CreateTask latency next to a bare POST of the same pod to the API server (the object
   `flyteplugd render` prints), --latency-samples each, one at a time and interleaved: with
   the Go clients FlytePropeller and client-go are built on (bench/engine/goclient: grpc-go,
   net/http over HTTP/1.1 and HTTP/2), then with the Python ones (grpcio, http.client);
   reported as medians and ratios.
Targets (issue 5): GetTask >= 20,000 calls/s; RSS < 64 MiB at 10,000 tasks; CreateTask within
1.2x of the bare POST.

    FPD_BIN=build/daemon/flyteplugd .venv/bin/python bench/engine/run.py --scale [--tasks 100000]

Scale mode (issue 18; not in CI: the API server needs ~6 GiB and etcd ~1 GiB at 100,000 pods),
with flyteplugd's default settings throughout (no kubernetes.qps or budgets in its config):
1. sustained creates: with the Go client (bench/engine/goclient: grpc-go, net/http), 64 in
   flight, --rate-creates bare POSTs of the pod CreateTask builds (HTTP/1.1, 64 kept-alive
   connections, into a namespace flyteplugd does not track) and then as many CreateTask calls;
   --rounds rounds (2; bare POSTs first in odd rounds, creates first in even ones, as the API
   server's CPU per request drifts as it fills), median creates/s of each and their ratio
   (target >= 0.9), and the CPU time flyteplugd,
   kube-apiserver, etcd and the client spent per request in each. Twice: with every process
   free to run on both CPUs (the four share two cores, so the ratio is the share of CPU the
   create path costs), then with kube-apiserver and etcd on CPU 1 and flyteplugd and the
   client on CPU 0 (taskset), as when the control plane runs on machines of its own: whether
   flyteplugd keeps up with what the API server can take;
2. creates the rest of --tasks through CreateTask; RSS once every task answers (target < 256 MiB);
3. GetTask throughput and p99 with h2load as above (target >= 250,000 calls/s);
4. restarts the daemon (SIGTERM, same configuration) and at once sends GetTask for --sample old
   resource_metas, all at the same time; reports the time from the restart to /readyz (target
   <= 5 s), to every sampled call answered with the phase it had before (target <= 2 s), the
   GetTask waits and cache-miss GETs the daemon counted, and the RSS after the relist.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import socket
import ssl
import http.client
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
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


def rss_mib(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def create_all(stub, ns, template, n, prefix):
    def one(i):
        ex = f"{prefix}{i}"
        return stub.CreateTask(agent_pb2.CreateTaskRequest(
            template=template, output_prefix=f"s3://b/m/{ex}/n0/data/0",
            task_execution_metadata=execution_metadata(ns, ex)), timeout=120).resource_meta
    with ThreadPoolExecutor(64) as pool:
        return list(pool.map(one, range(n)))


def h2load_gettask(port, meta, seconds, work: Path):
    req = agent_pb2.GetTaskRequest(task_type="python-task", resource_meta=meta).SerializeToString()
    body = work / "gettask.body"
    body.write_bytes(b"\0" + struct.pack(">I", len(req)) + req)
    out = subprocess.run(["h2load", "-D", str(seconds), "--warm-up-time=2", "-c", "4", "-m", "16",
                          "-t", "1", "-d", str(body), "-H", "content-type: application/grpc",
                          "-H", "te: trailers", "--log-file", str(work / "h2load.log"),
                          f"http://127.0.0.1:{port}/flyteidl.service.AsyncAgentService/GetTask"],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"finished in [\d.]+s, ([\d.]+) req/s", out).group(1))
    lat = sorted(float(l.split()[2]) / 1000.0 for l in open(work / "h2load.log") if l.strip())
    ok = re.search(r"status codes: (\d+) 2xx", out).group(1)
    return rps, lat[len(lat) // 2], lat[int(len(lat) * 0.99)], int(ok), out


# A pause before each measured request, in which the work the previous one left behind (watch
# events the daemon processes, the API server's own) finishes: every request meets an idle system.
SETTLE_S = 0.010


def api_connection(cluster):
    ctx = ssl.create_default_context(cafile=cluster.ca_file)
    ctx.load_cert_chain(cluster.client_cert, cluster.client_key)
    host, port = cluster.server.replace("https://", "").split(":")
    return http.client.HTTPSConnection(host, int(port), context=ctx)


def bare_post(conn, ns, obj):
    body = json.dumps(obj)
    t0 = time.perf_counter()
    conn.request("POST", f"/api/v1/namespaces/{ns}/pods", body, {"Content-Type": "application/json"})
    r = conn.getresponse()
    r.read()
    elapsed = time.perf_counter() - t0
    assert r.status == 201, r.status
    return elapsed


def go_client(work: Path) -> Path:
    """bench/engine/goclient built from its pinned go.sum, cached under $FPD_CACHE_DIR/tools."""
    cache = Path(os.environ.get("FPD_CACHE_DIR", Path.home() / ".cache" / "flyteplugd")) / "tools"
    src = ROOT / "bench" / "engine" / "goclient"
    stamp = (src / "go.sum").read_bytes() + (src / "main.go").read_bytes()
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError:
        cache = work
    binary, stamp_file = cache / "bench-goclient", cache / "bench-goclient.stamp"
    if not binary.exists() or not stamp_file.exists() or stamp_file.read_bytes() != stamp:
        go = os.environ.get("GO") or shutil.which("go") or "/usr/local/go/bin/go"
        subprocess.run([go, "build", "-o", str(binary), "."], cwd=src, check=True, timeout=900,
                       env={**os.environ, "GOFLAGS": "-mod=readonly"})
        stamp_file.write_bytes(stamp)
    return binary


def render(binary, config, work, template_pb, metadata):
    (work / "m.pb").write_bytes(metadata.SerializeToString())
    out = subprocess.run([binary, "render", "--template", str(template_pb), "--metadata",
                          str(work / "m.pb"), "--config", str(config), "-o", "json"],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def renamed(obj, prefix):
    o = json.loads(json.dumps(obj))
    o["metadata"]["name"] = f"{prefix}-{o['metadata']['name']}"
    return o


def ms(values):
    return statistics.median(values) * 1000


def admin_get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read().decode()
    except OSError:
        return 0, ""
    finally:
        conn.close()


def go_rates(client, port, cluster, samples: Path, ns, raw_ns, obj, template, n, tag, daemon_pid,
             pin=False, post_accept="", creates_first=False, post_body="json"):
    """CreateTask calls/s and bare POSTs/s of the same pod from the Go client, 64 in flight, and
    the CPU each process spent per request in each (microseconds). The bare POSTs go first
    unless creates_first: the rounds alternate the order, as the API server's CPU per request
    drifts while its store grows."""
    if samples.exists():
        shutil.rmtree(samples)
    samples.mkdir()
    (samples / "path").write_text(f"/api/v1/namespaces/{raw_ns}/pods")
    for i in range(n):
        ex = f"{tag}{i}"
        (samples / f"create-{i}.pb").write_bytes(agent_pb2.CreateTaskRequest(
            template=template, output_prefix=f"s3://b/m/{ex}/n0/data/0",
            task_execution_metadata=execution_metadata(ns, ex)).SerializeToString())
        (samples / f"h1-{i}.json").write_text(json.dumps(renamed(obj, ex)))
    procs = {"flyteplugd": daemon_pid, "kube-apiserver": cluster.apiserver_proc.pid,
             "etcd": cluster.etcd_proc.pid}
    rates, cpu = {}, {}
    for only in (("create", "post") if creates_first else ("post", "create")):
        before = {k: cpu_s(pid) for k, pid in procs.items()}
        sys0 = cpu_s(daemon_pid, kernel_only=True)
        child0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = subprocess.run((["taskset", "-c", "0"] if pin else []) + [
            str(client), "-grpc", f"127.0.0.1:{port}", "-server", cluster.server,
            "-ca", str(cluster.ca_file), "-cert", str(cluster.client_cert),
            "-key", str(cluster.client_key), "-samples", str(samples), "-n", str(n),
            "-inflight", "64", "-only", only, "-accept", post_accept, "-post-body", post_body],
            capture_output=True,
            text=True, check=True).stdout
        child1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        used = {k: cpu_s(pid) - before[k] for k, pid in procs.items()}
        used["client"] = (child1.ru_utime + child1.ru_stime) - (child0.ru_utime + child0.ru_stime)
        cpu[only] = {k: v * 1e6 / n for k, v in used.items()}
        cpu[only + " kernel"] = (cpu_s(daemon_pid, kernel_only=True) - sys0) * 1e6 / n
        rates.update(json.loads(out))
    return rates["create_per_s"], rates["post_per_s"], cpu


def pin_cluster(cluster, cpus):
    """Every thread of kube-apiserver and etcd onto cpus ("1"; "0-1" to undo)."""
    for proc in (cluster.apiserver_proc, cluster.etcd_proc):
        subprocess.run(["taskset", "-a", "-pc", cpus, str(proc.pid)], check=True,
                       capture_output=True)


def start_daemon(binary, config, log):
    return subprocess.Popen([binary, "serve", "--config", str(config)], stdout=log, stderr=log)


def gettask_metrics(port):
    _, text = admin_get(port, "/metrics")
    return {m.group(1): float(m.group(2)) for m in
            re.finditer(r"^(flyteplugd_gettask_(?:waits|fetches)_total(?:\{[^}]*\})?) (\S+)$",
                        text, re.M)}


def cpu_s(pid: int, kernel_only=False) -> float:
    """utime + stime of pid so far (stime alone with kernel_only), in seconds."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return ((0 if kernel_only else int(fields[11])) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def write_config(path: Path, settings: dict, overrides: list[str]):
    """settings with each --set KEY=VALUE (a dotted key; VALUE as JSON, else a string) applied,
    written to path as the daemon's configuration (JSON is YAML)."""
    for item in overrides:
        key, _, value = item.partition("=")
        *parents, leaf = key.split(".")
        node = settings
        for part in parents:
            node = node.setdefault(part, {})
        try:
            node[leaf] = json.loads(value)
        except ValueError:
            node[leaf] = value  # a duration, a name
    path.write_text(json.dumps(settings, indent=1) + "\n")
    if overrides:
        print(f"settings other than the defaults: {', '.join(overrides)}")


def load():
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def scale(a, binary, work: Path):
    tasks = a.tasks or 100000
    print(f"scale run: {tasks} tasks; work directory {work}")
    with Cluster(workdir=work / "cluster", etcd_quota_bytes=8 << 30,
                 apiserver_memory_limit=a.apiserver_memory) as cluster:
        port, admin = free_port(), free_port()
        key = work / "key"
        key.write_bytes(os.urandom(32))
        config = work / "flyteplugd.yaml"
        # Default settings: only where the API server is, the key, and the listeners (and
        # what --set names, for comparisons: the targets are for the defaults).
        settings = {"log": {"level": "warn"}, "grpc": {"listen": f"127.0.0.1:{port}"},
                    "admin": {"listen": f"127.0.0.1:{admin}"},
                    "leader_election": {"enabled": False},
                    "kubernetes": {"kubeconfig": str(cluster.kubeconfig)},
                    "engine": {"signing_key_file": str(key)}}
        write_config(config, settings, a.set)
        log = open(work / "flyteplugd.log", "wb")
        daemon = start_daemon(binary, config, log)
        try:
            ch = grpc.insecure_channel(f"127.0.0.1:{port}")
            grpc.channel_ready_future(ch).result(timeout=30)
            stub = agent_pb2_grpc.AsyncAgentServiceStub(ch)
            idle = rss_mib(daemon.pid)
            template = flytekit_tasks.python_task()
            tpl = work / "t.pb"
            tpl.write_bytes(template.SerializeToString())
            ns = cluster.new_namespace("scale")
            raw_ns = cluster.new_namespace("raw")

            # 1. Sustained creates next to bare POSTs of the same pod, rounds alternating.
            obj = render(binary, config, work, tpl, execution_metadata(raw_ns, "raw"))
            if not a.post_watched:
                obj["metadata"]["labels"].pop("app.kubernetes.io/managed-by", None)  # not tracked
            n = a.rate_creates
            client = go_client(work)
            metas = []
            for pin in (False, True):
                if pin:
                    subprocess.run(["taskset", "-a", "-pc", "0", str(daemon.pid)], check=True,
                                   capture_output=True)
                    pin_cluster(cluster, "1")
                creates, posts, cpus = [], [], []
                for r in range(a.rounds):
                    c, p, cpu = go_rates(client, port, cluster, work / "samples", ns, raw_ns, obj,
                                         template, n, f"g{int(pin)}{r}-", daemon.pid, pin,
                                         a.post_accept, creates_first=r % 2 == 1,
                                         post_body=a.post_body)
                    creates.append(c)
                    posts.append(p)
                    cpus.append(cpu)
                create_rate, post_rate = statistics.median(creates), statistics.median(posts)
                where = ("kube-apiserver and etcd on CPU 1, flyteplugd and the client on CPU 0, "
                         "as on separate machines" if pin else "every process on both CPUs")
                print(f"sustained, 64 in flight, default settings, Go client (grpc-go; net/http "
                      f"over HTTP/1.1), {n} per round, {a.rounds} rounds, {where}: CreateTask "
                      f"{create_rate:,.0f}/s ({', '.join(f'{c:,.0f}' for c in creates)}), bare "
                      f"POSTs of the same pod ({a.post_body}) {post_rate:,.0f}/s "
                      f"({', '.join(f'{p:,.0f}' for p in posts)}); ratio "
                      f"{create_rate / post_rate:.2f} (target >= 0.9); {load()}")
                for only, label in (("post", "bare POST"), ("create", "CreateTask")):
                    parts = {k: statistics.mean(c[only][k] for c in cpus) for k in cpus[0][only]}
                    print(f"  CPU per {label} (us, mean of the rounds; each round): " + ", ".join(
                        f"{k} {v:.0f} ({', '.join(f'{c[only][k]:.0f}' for c in cpus)})"
                        for k, v in parts.items()) +
                        f"; total {sum(parts.values()):.0f} (flyteplugd in the kernel: "
                        f"{statistics.mean(c[only + ' kernel'] for c in cpus):.0f})")
            subprocess.run(["taskset", "-a", "-pc", "0-1", str(daemon.pid)], check=True,
                           capture_output=True)
            pin_cluster(cluster, "0-1")

            # 2. The rest of the tasks; RSS once every one answers from the cache.
            t0 = time.time()
            metas = create_all(stub, ns, template, tasks - 2 * a.rounds * n, "b")
            print(f"created {tasks} tasks ({time.time() - t0:.0f} s for the last {len(metas)})")
            step = max(1, len(metas) // a.sample)
            sample = metas[::step][: a.sample]
            futures = [stub.GetTask.future(agent_pb2.GetTaskRequest(resource_meta=m), timeout=60)
                       for m in sample]
            before = [f.result().resource.phase for f in futures]
            time.sleep(2)
            rss = rss_mib(daemon.pid)
            print(f"flyteplugd RSS: idle {idle:.1f} MiB; with {tasks} tasks, after creating "
                  f"them: {rss:.1f} MiB ({(rss - idle) * 1048576 / tasks:,.0f} B/task; "
                  f"target < 256 MiB; {load()})")

            # 3. GetTask at this scale.
            rps, p50, p99, ok, _ = h2load_gettask(port, metas[len(metas) // 2], a.seconds, work)
            print(f"GetTask from cache at {tasks}: {rps:,.0f} calls/s, p50 {p50:.2f} ms, "
                  f"p99 {p99:.2f} ms ({ok} responses, 64 streams; target >= 250,000/s); {load()}")

            # 4. Restart; old metas answered; readiness.
            ch.close()
            daemon.terminate()
            daemon.wait(timeout=120)
            ready = {}

            def poll_ready():
                while time.perf_counter() - t0 < 300:
                    if admin_get(admin, "/readyz")[0] == 200:
                        ready["s"] = time.perf_counter() - t0
                        ready["cpu"] = cpu_s(daemon.pid)
                        ready["api_cpu"] = cpu_s(cluster.apiserver_proc.pid) - api_cpu0
                        return
                    time.sleep(0.01)
            api_cpu0 = cpu_s(cluster.apiserver_proc.pid)
            t0 = time.perf_counter()
            daemon = start_daemon(binary, config, log)
            poller = threading.Thread(target=poll_ready)
            poller.start()
            while True:  # the port accepts: connect at once, not after a gRPC reconnect backoff
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if daemon.poll() is not None:
                        raise SystemExit(f"flyteplugd exited {daemon.returncode}; see {work}")
                    time.sleep(0.005)
            ch = grpc.insecure_channel(f"127.0.0.1:{port}")
            grpc.channel_ready_future(ch).result(timeout=60)
            stub = agent_pb2_grpc.AsyncAgentServiceStub(ch)
            grpc_s = time.perf_counter() - t0
            pending = dict(enumerate(sample))
            retries = 0
            while pending and time.perf_counter() - t0 < 120:
                futs = {i: stub.GetTask.future(agent_pb2.GetTaskRequest(resource_meta=m),
                                               timeout=60) for i, m in pending.items()}
                for i, f in futs.items():
                    try:
                        if f.result().resource.phase == before[i]:
                            del pending[i]
                    except grpc.RpcError:
                        pass
                retries += 1 if pending else 0
            answered_s = time.perf_counter() - t0
            poller.join()
            ready_s = ready.get("s")
            print(f"restart at {tasks}: gRPC up {grpc_s:.2f} s; every one of {len(sample)} "
                  f"old resource_metas answered as before: "
                  + (f"{answered_s:.2f} s" if not pending else f"NOT ALL ({len(pending)} left)")
                  + f" (rounds repeated: {retries}; target <= 2 s); /readyz "
                  + (f"{ready_s:.2f} s" if ready_s is not None else "never") + " (target <= 5 s)" + f"; {load()}")
            if ready_s is not None:
                print(f"  CPU time from the restart to /readyz (independent of the load): "
                      f"flyteplugd {ready['cpu']:.2f} s, kube-apiserver {ready['api_cpu']:.2f} s")
            print(f"  GetTask waits and cache-miss GETs: {gettask_metrics(admin)}")
            time.sleep(2)
            rss2 = rss_mib(daemon.pid)
            print(f"flyteplugd RSS after the restart and relist: {rss2:.1f} MiB "
                  f"({(rss2 - idle) * 1048576 / tasks:,.0f} B/task; target < 256 MiB); {load()}")
            ch.close()
        finally:
            daemon.terminate()
            daemon.wait(timeout=120)
            log.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=None, help="10000; 100000 with --scale")
    ap.add_argument("--scale", action="store_true", help="the restart-at-scale run (issue 18)")
    ap.add_argument("--sample", type=int, default=1000, help="--scale: old metas asked after the restart")
    ap.add_argument("--rounds", type=int, default=2,
                    help="--scale: rounds of bare POSTs and creates, each way (order alternating)")
    ap.add_argument("--rate-creates", type=int, default=2000,
                    help="--scale: creates and bare POSTs per round of the sustained-rate measure")
    ap.add_argument("--apiserver-memory", default="10GiB",
                    help="--scale: kube-apiserver's GOMEMLIMIT")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="--scale: a configuration key for comparisons, e.g. "
                         "kubernetes.watch_list=false (the targets are for the defaults)")
    ap.add_argument("--post-accept", default="",
                    help="--scale: Accept header of the bare POSTs (for comparisons; flyteplugd's "
                         "POST asks for application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1)")
    ap.add_argument("--post-body", choices=("json", "protobuf"), default="json",
                    help="--scale: the bare POSTs' bodies: JSON, or protobuf as client-go can send "
                         "a pod (converted by k8s.io/api before the clock starts; flyteplugd "
                         "sends its pods in protobuf)")
    ap.add_argument("--post-watched", action="store_true",
                    help="--scale: the bare POSTs keep flyteplugd's managed-by label, so its pod "
                         "watch receives them too (for comparisons)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (etcd's data)")
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--latency-samples", type=int, default=200)
    a = ap.parse_args()
    binary = os.environ.get("FPD_BIN", str(ROOT / "build" / "daemon" / "flyteplugd"))
    if a.scale:
        work = Path(tempfile.mkdtemp(prefix="fpd-bench-scale-"))
        try:
            scale(a, binary, work)
        finally:
            keep_or_remove(work, a.keep)
        return
    a.tasks = a.tasks or 10000
    work = Path(tempfile.mkdtemp(prefix="fpd-bench-engine-"))
    try:
        engine(a, binary, work)
    finally:
        keep_or_remove(work, a.keep)


def keep_or_remove(work: Path, keep: bool):
    """The work directory holds etcd's data (gigabytes at 100,000 pods): removed unless --keep."""
    if keep:
        print(f"work directory kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


def engine(a, binary, work: Path):
    with Cluster(workdir=work / "cluster") as cluster:
        port = free_port()
        key = work / "key"
        key.write_bytes(os.urandom(32))
        config = work / "flyteplugd.yaml"
        write_config(config, {"log": {"level": "warn"}, "grpc": {"listen": f"127.0.0.1:{port}"},
                              "admin": {"enabled": False},
                              "kubernetes": {"kubeconfig": str(cluster.kubeconfig), "qps": 5000,
                                             "burst": 5000},
                              "engine": {"signing_key_file": str(key), "orphan_after": "24h"}},
                     a.set)
        log = open(work / "flyteplugd.log", "wb")
        daemon = subprocess.Popen([binary, "serve", "--config", str(config)], stdout=log, stderr=log)
        try:
            ch = grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.max_concurrent_streams", 100)])
            grpc.channel_ready_future(ch).result(timeout=30)
            stub = agent_pb2_grpc.AsyncAgentServiceStub(ch)
            idle = rss_mib(daemon.pid)
            template = flytekit_tasks.python_task()
            ns = cluster.new_namespace("bench")
            t0 = time.time()
            metas = create_all(stub, ns, template, a.tasks, "b")
            created_s = time.time() - t0
            # every task answered from the cache
            for m in metas[:: max(1, len(metas) // 200)]:
                stub.GetTask(agent_pb2.GetTaskRequest(resource_meta=m), timeout=30)
            time.sleep(2)
            rss = rss_mib(daemon.pid)
            print(f"tasks tracked: {a.tasks} (created in {created_s:.1f} s)")
            print(f"flyteplugd RSS: idle {idle:.1f} MiB, with {a.tasks} tasks {rss:.1f} MiB "
                  f"({(rss - idle) * 1024 * 1024 / a.tasks:.0f} bytes per task)")
            rps, p50, p99, ok, _ = h2load_gettask(port, metas[len(metas) // 2], a.seconds, work)
            print(f"GetTask from cache: {rps:,.0f} calls/s, p50 {p50:.2f} ms, p99 {p99:.2f} ms "
                  f"({ok} responses, 64 concurrent streams)")

            # CreateTask latency next to a bare POST of the object it creates, one sample at a
            # time, each measure right after the other so that all see the same API server
            # (its load drifts as objects accumulate).
            lat_ns = cluster.new_namespace("lat")
            tpl = work / "t.pb"
            tpl.write_bytes(template.SerializeToString())
            n = a.latency_samples

            # 1. The transports FlytePropeller and client-go use (grpc-go, net/http).
            samples = work / "samples"
            samples.mkdir()
            (samples / "path").write_text(f"/api/v1/namespaces/{lat_ns}/pods")
            for i in range(n):
                md = execution_metadata(lat_ns, f"go{i}")
                req = agent_pb2.CreateTaskRequest(template=template, output_prefix=f"s3://b/m/go{i}/n0/data/0",
                                                  task_execution_metadata=md)
                (samples / f"create-{i}.pb").write_bytes(req.SerializeToString())
                obj = render(binary, config, work, tpl, md)
                for proto in ("h1", "h2"):
                    (samples / f"{proto}-{i}.json").write_text(json.dumps(renamed(obj, proto)))
            out = subprocess.run([str(go_client(work)), "-grpc", f"127.0.0.1:{port}", "-server", cluster.server,
                                  "-ca", str(cluster.ca_file), "-cert", str(cluster.client_cert),
                                  "-key", str(cluster.client_key), "-samples", str(samples), "-n", str(n),
                                  "-settle", f"{SETTLE_S * 1000:g}ms"],
                                 capture_output=True, text=True, check=True).stdout
            go = {k: statistics.median(v) / 1000 for k, v in json.loads(out).items()}
            print(f"CreateTask latency, Go client (grpc-go; net/http for the bare POSTs), {n} samples:")
            print(f"  CreateTask median {go['create']:.2f} ms; bare POST of the same pod: "
                  f"HTTP/1.1 {go['post_h1']:.2f} ms, HTTP/2 {go['post_h2']:.2f} ms")
            print(f"  ratio to the bare POST: {go['create'] / go['post_h1']:.2f} (HTTP/1.1), "
                  f"{go['create'] / go['post_h2']:.2f} (HTTP/2); target <= 1.2; "
                  f"gRPC client floor (ListAgents) {go['list_agents']:.2f} ms")

            # 2. The Python clients (grpcio + flyteidl; http.client over HTTP/1.1).
            post_conn = api_connection(cluster)
            create_t, post_t = [], []
            for i in range(n):
                md = execution_metadata(lat_ns, f"py{i}")
                obj = renamed(render(binary, config, work, tpl, md), "raw")
                req = agent_pb2.CreateTaskRequest(template=template, output_prefix=f"s3://b/m/py{i}/n0/data/0",
                                                  task_execution_metadata=md)
                def create():
                    t0 = time.perf_counter()
                    stub.CreateTask(req, timeout=30)
                    create_t.append(time.perf_counter() - t0)

                # alternately first, as the Go client rotates its three measures
                for measure in ((create, lambda: post_t.append(bare_post(post_conn, lat_ns, obj)))
                                if i % 2 == 0 else
                                (lambda: post_t.append(bare_post(post_conn, lat_ns, obj)), create)):
                    time.sleep(SETTLE_S)
                    measure()
            post_conn.close()
            meta_stub = agent_pb2_grpc.AgentMetadataServiceStub(ch)
            floor_t = []
            for _ in range(n):
                t0 = time.perf_counter()
                meta_stub.ListAgents(agent_pb2.ListAgentsRequest(), timeout=30)
                floor_t.append(time.perf_counter() - t0)
            c, p, f = ms(create_t), ms(post_t), ms(floor_t)
            print(f"CreateTask latency, Python clients (grpcio; http.client over HTTP/1.1), {n} samples:")
            print(f"  CreateTask median {c:.2f} ms; bare POST {p:.2f} ms; ratio {c / p:.2f}; "
                  f"gRPC client floor (ListAgents) {f:.2f} ms")
            ch.close()
        finally:
            daemon.terminate()
            daemon.wait(timeout=60)


if __name__ == "__main__":
    main()
