"""The admin endpoints of a running daemon: health, readiness as the engine comes up, and
Prometheus metrics that move with the work done."""
from __future__ import annotations

import os
import re
import subprocess
import time
import urllib.error
import urllib.request

from flyteidl.admin import agent_pb2
from flyteidl.core import execution_pb2

import flytekit_tasks
from conftest import BIN, execution_metadata


def http_get(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def metric(text, name):
    m = re.search(rf"^{re.escape(name)} (\d+)$", text, re.M)
    assert m, f"{name} missing from /metrics:\n{text}"
    return int(m.group(1))


def test_health_readiness_and_metrics(cluster, daemon_factory):
    d = daemon_factory(admin=True)
    assert http_get(d.admin_port, "/healthz") == (200, "ok\n")
    deadline = time.time() + 20
    while http_get(d.admin_port, "/readyz")[0] != 200 and time.time() < deadline:
        time.sleep(0.2)
    status, body = http_get(d.admin_port, "/readyz")
    # The operators' CRDs are not installed in this cluster: ready, and it says so.
    assert status == 200 and body.startswith("ok"), (status, body, d.tail())
    assert "sparkapplications.sparkoperator.k8s.io" in body, body
    assert http_get(d.admin_port, "/nope")[0] == 404

    _, before = http_get(d.admin_port, "/metrics")
    assert 'flyteplugd_build_info{version="' in before
    assert metric(before, "flyteplugd_engine_running") == 1
    ns = cluster.new_namespace("admin")
    makes = (flytekit_tasks.python_task, flytekit_tasks.pod_template_task,
             flytekit_tasks.raw_container_task)
    for i, make in enumerate(makes):
        meta = d.stub.CreateTask(agent_pb2.CreateTaskRequest(
            template=make(), output_prefix=f"s3://b/m/adm{i}/n0/data/0",
            task_execution_metadata=execution_metadata(ns, f"adm{i}")), timeout=30).resource_meta
    d.stub.GetTask(agent_pb2.GetTaskRequest(resource_meta=meta), timeout=30)
    _, after = http_get(d.admin_port, "/metrics")
    assert metric(after, "flyteplugd_creates_total") == metric(before, "flyteplugd_creates_total") + 3
    # flytekit's pods go in protobuf (in JSON with kubernetes.protobuf_creates off)
    bodies = {e: metric(after, f'flyteplugd_create_bodies_total{{encoding="{e}"}}') -
              metric(before, f'flyteplugd_create_bodies_total{{encoding="{e}"}}')
              for e in ("protobuf", "json")}
    pb = os.environ.get("FPD_E2E_JSON") != "1"
    assert bodies == {"protobuf": 3 if pb else 0, "json": 0 if pb else 3}, (bodies, d.tail())
    assert metric(after, "flyteplugd_gettask_total") == metric(before, "flyteplugd_gettask_total") + 1
    assert metric(after, "flyteplugd_executions_active") >= 1
    assert metric(after, "flyteplugd_grpc_calls_total") >= 2
    # nghttp2's memory for the open connection is counted (against the request budget)
    assert metric(after, "flyteplugd_grpc_http2_state_bytes") > 0


def test_created_objects_are_judged_from_the_watch(cluster, daemon_factory):
    """A created object's first status comes from the API server's copy the watch brings, not
    from the object as sent, when the watch is quicker than the window (0.25 s) and no GetTask
    asks first: flyteplugd_creates_seen_as_sent_total counts the others (a GetTask in the
    window is answered from the object as sent: test_queued_until_the_object_has_a_status)."""
    d = daemon_factory(admin=True)
    ns = cluster.new_namespace("seen")
    _, text = http_get(d.admin_port, "/metrics")
    before = metric(text, "flyteplugd_creates_seen_as_sent_total")
    n = 20
    metas = [d.stub.CreateTask(agent_pb2.CreateTaskRequest(
        template=flytekit_tasks.python_task(), output_prefix=f"s3://b/m/seen{i}/n0/data/0",
        task_execution_metadata=execution_metadata(ns, f"seen{i}")), timeout=30).resource_meta
        for i in range(n)]
    time.sleep(1.0)  # every window is over
    _, text = http_get(d.admin_port, "/metrics")
    as_sent = metric(text, "flyteplugd_creates_seen_as_sent_total") - before
    assert 0 <= as_sent < n, (as_sent, d.tail())
    for m in metas:
        r = d.stub.GetTask(agent_pb2.GetTaskRequest(resource_meta=m), timeout=30).resource
        assert r.phase == execution_pb2.TaskExecution.QUEUED, (r, d.tail())


def memory_parts(text):
    return {k: int(v) for k, v in re.findall(r'^flyteplugd_memory_bytes\{part="(\w+)"\} (\d+)$',
                                             text, re.M)}


def test_memory_by_part(cluster, daemon_factory):
    """flyteplugd_memory_bytes: what the execution table and the informer cache hold grows with
    the tasks tracked, and an execution stays small (100,000 must fit in 256 MiB)."""
    d = daemon_factory(admin=True)
    ns = cluster.new_namespace("mem")
    _, text = http_get(d.admin_port, "/metrics")
    before, tracked = memory_parts(text), metric(text, "flyteplugd_executions")
    assert {"executions", "informer_cache"} <= set(before), text
    # The allocator's own totals: glibc's, mimalloc's, or none under AddressSanitizer (whose
    # allocator replaces malloc); build_info names the one serving, which must be the one the
    # executable under test links.
    allocator = re.search(r'^flyteplugd_build_info\{.*allocator="(\w+)"', text, re.M).group(1)
    needed = subprocess.run(["readelf", "-d", BIN], capture_output=True, text=True,
                            check=True).stdout
    linked = ("other" if "libasan" in needed else
              "mimalloc" if "libmimalloc" in needed else "glibc")
    assert allocator == linked, (allocator, needed)
    heap = {"glibc": {"heap_in_use", "heap_free", "heap_mmapped"},
            "mimalloc": {"heap_committed"}, "other": set()}[allocator]
    assert set(before) - {"executions", "informer_cache"} == heap, (allocator, text)
    n = 40
    metas = [d.stub.CreateTask(agent_pb2.CreateTaskRequest(
        template=flytekit_tasks.python_task(), output_prefix=f"s3://b/m/mem{i}/n0/data/0",
        task_execution_metadata=execution_metadata(ns, f"mem{i}")), timeout=30).resource_meta
        for i in range(n)]
    for m in metas:
        d.stub.GetTask(agent_pb2.GetTaskRequest(resource_meta=m), timeout=30)
    # every object seen by the watch (the cache holds them all, the entries keep its copy)
    deadline = time.time() + 20
    while True:
        _, text = http_get(d.admin_port, "/metrics")
        after = memory_parts(text)
        if after["informer_cache"] - before["informer_cache"] >= n * 64 or time.time() > deadline:
            break
        time.sleep(0.2)
    assert metric(text, "flyteplugd_executions") == tracked + n, text
    per_exec = (after["executions"] - before["executions"]) / n
    # An entry, its strings, its kept object and its share of the table: about 1.5 KiB for
    # a pod task here (2.3 KiB before the strings were packed and the kept text sized).
    assert 600 < per_exec < 2000, (per_exec, before, after)
    assert after["informer_cache"] - before["informer_cache"] >= n * 64, (before, after)
    total = after.get("heap_in_use", after.get("heap_committed"))
    assert allocator == "other" or total > after["executions"] + after["informer_cache"], after


def test_executions_lists_what_is_tracked(cluster, daemon_factory):
    """/executions: every tracked task with its object, identity, phase and log links, sorted,
    filtered by namespace, bounded by limit; bad parameters refused."""
    import json
    d = daemon_factory(admin=True)
    ns, other = cluster.new_namespace("exa"), cluster.new_namespace("exb")
    for n, execution in ((ns, "exe2"), (ns, "exe1"), (other, "exe3")):
        d.stub.CreateTask(agent_pb2.CreateTaskRequest(
            template=flytekit_tasks.python_task(), output_prefix=f"s3://b/m/{execution}/n0/data/0",
            task_execution_metadata=execution_metadata(n, execution)), timeout=30)
    deadline = time.time() + 20
    while time.time() < deadline:
        status, body = http_get(d.admin_port, f"/executions?namespace={ns}")
        got = json.loads(body)
        if status == 200 and all(x["phase"] == "QUEUED" and x["log_links"] for x in got["executions"]):
            break
        time.sleep(0.2)
    assert status == 200, body
    assert got["count"] == 2 and got["shown"] == 2, got
    first = got["executions"][0]
    assert [x["name"] for x in got["executions"]] == ["exe1-n0-0", "exe2-n0-0"], got
    assert first["namespace"] == ns and first["plugin"] == "pod" and first["kind"] == "Pod"
    assert first["state"] == "active" and len(first["uid"]) == 36, first
    assert first["execution"]["name"] == "exe1" and first["execution"]["node"] == "n0", first
    assert first["task"]["type"] == "python-task", first
    assert first["log_links"][0]["uri"].startswith("http"), first
    assert "started" in first and not first["aborted"], first
    _, body = http_get(d.admin_port, "/executions?limit=1")
    everything = json.loads(body)
    assert everything["count"] >= 3 and everything["shown"] == 1, everything
    for bad in ("/executions?limit=x", "/executions?limit=-1", "/executions?limit=",
                "/executions?limit=0"):
        assert http_get(d.admin_port, bad)[0] == 400, bad
    assert http_get(d.admin_port, "/executions?namespace=none-such")[1] == \
        '{"count":0,"executions":[],"shown":0}'


def create_named(d, ns, executions):
    """CreateTask for each execution name in ns; their resource_meta by name."""
    metas = {}
    for ex in executions:
        metas[ex] = d.stub.CreateTask(agent_pb2.CreateTaskRequest(
            template=flytekit_tasks.python_task(), output_prefix=f"s3://b/m/{ex}/n0/data/0",
            task_execution_metadata=execution_metadata(ns, ex)), timeout=30).resource_meta
    return metas


def get_json(port, path):
    status, body = http_get(port, path)
    assert status == 200, (path, status, body)
    return json.loads(body)


def walk(port, query, limit, between=None):
    """Every page of /executions?query with limit, following continue; the pages."""
    pages, token = [], None
    while True:
        path = f"/executions?{query}&limit={limit}" + (f"&continue={token}" if token else "")
        page = get_json(port, path)
        assert page["shown"] == len(page["executions"]) <= limit, page
        pages.append(page)
        token = page.get("continue")
        if not token:
            return pages
        assert len(pages) < 1000, len(pages)
        if between:
            between(len(pages))


def test_executions_pages_walk_everything_once(cluster, daemon_factory):
    """A small limit: the pages, following continue, give every execution once, in order."""
    d = daemon_factory(admin=True)
    ns, other = cluster.new_namespace("pga"), cluster.new_namespace("pgb")
    names = [f"pg{i}" for i in (4, 0, 6, 2, 1, 5, 3)]
    create_named(d, ns, names)
    create_named(d, other, ["pgx"])
    pages = walk(d.admin_port, f"namespace={ns}", 2)
    assert [p["count"] for p in pages] == [7] * 4, pages
    assert [p["shown"] for p in pages] == [2, 2, 2, 1], pages
    assert "continue" not in pages[-1], pages[-1]
    seen = [x["name"] for p in pages for x in p["executions"]]
    assert seen == [f"pg{i}-n0-0" for i in range(7)], seen
    assert {x["namespace"] for p in pages for x in p["executions"]} == {ns}
    # Without a filter, limit 1: every execution of the daemon (those of earlier tests in
    # this cluster too), each once, sorted by namespace/name.
    pages = walk(d.admin_port, "", 1)
    keys = [f'{x["namespace"]}/{x["name"]}' for p in pages for x in p["executions"]]
    assert len(keys) == pages[0]["count"] and keys == sorted(set(keys)), keys
    assert {f"{ns}/{n}-n0-0" for n in names} | {f"{other}/pgx-n0-0"} <= set(keys), keys
    # An exact page: no continue, nothing more to fetch.
    last = get_json(d.admin_port, f"/executions?namespace={ns}&limit=7")
    assert last["shown"] == 7 and "continue" not in last, last
    # The default limit holds them all here.
    assert get_json(d.admin_port, f"/executions?namespace={ns}")["shown"] == 7


def test_executions_bad_continue_and_limit_refused(cluster, daemon_factory):
    """A continue token that is not one, or was made for another filter, and a limit out of
    bounds: 400 saying why; the daemon keeps serving."""
    import base64
    d = daemon_factory(admin=True)
    ns = cluster.new_namespace("tok")
    create_named(d, ns, ["tk0", "tk1", "tk2"])
    first = get_json(d.admin_port, f"/executions?namespace={ns}&limit=1")
    token = first["continue"]

    def b64(raw):
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert raw == f"v1\n{ns}\n{ns}/tk0-n0-0".encode(), raw
    k8s = base64.urlsafe_b64encode(b'{"v":"meta.k8s.io/v1","rv":12,"start":"x"}').decode()
    for bad, why in ((f"continue=%21%21%21", "not base64url"),
                     (f"continue={k8s.rstrip('=')}", "not a token from /executions"),
                     (f"namespace={ns}&continue={b64(b'v2' + raw[2:])}", "not a token"),
                     (f"namespace={ns}&continue={b64(raw.split(b'/')[0])}", "not a token"),
                     (f"namespace={ns}&continue={b64(raw + bytes(1))}", "not a token"),
                     (f"continue={token}", "another namespace filter"),
                     (f"namespace=other&continue={token}", "another namespace filter"),
                     (f"continue={'A' * 2000}", "not base64url"),
                     (f"namespace={ns}&limit=10001", "limit must be a number from 1 to 10000"),
                     (f"namespace={ns}&limit=0", "limit must be a number from 1 to 10000")):
        status, body = http_get(d.admin_port, f"/executions?{bad}")
        assert status == 400 and why in body, (bad, status, body)
    assert http_get(d.admin_port, "/healthz") == (200, "ok\n")
    nxt = get_json(d.admin_port, f"/executions?namespace={ns}&limit=10000&continue={token}")
    assert [x["name"] for x in nxt["executions"]] == ["tk1-n0-0", "tk2-n0-0"], nxt
    assert nxt["count"] == 3 and "continue" not in nxt, nxt


def test_executions_pages_stable_under_changes(cluster, daemon_factory):
    """Tasks created and deleted between pages: every unchanged execution is shown exactly
    once; one created after the cursor shows up, one created before it does not."""
    d = daemon_factory(admin=True)
    ns = cluster.new_namespace("chg")
    metas = create_named(d, ns, [f"ch{i}" for i in range(1, 9)])  # ch1 .. ch8

    def change(page_number):
        if page_number == 1:  # shown so far: ch1, ch2, ch3
            create_named(d, ns, ["ch0", "ch9"])  # before the cursor, after it
            for gone in ("ch2", "ch5"):  # one shown, one not yet
                d.stub.DeleteTask(agent_pb2.DeleteTaskRequest(
                    task_type="python-task", resource_meta=metas[gone]), timeout=30)

    pages = walk(d.admin_port, f"namespace={ns}", 3, between=change)
    seen = [x["name"][:3] for p in pages for x in p["executions"]]
    assert len(seen) == len(set(seen)), seen
    unchanged = {"ch1", "ch3", "ch4", "ch6", "ch7", "ch8"}
    assert unchanged <= set(seen), seen
    assert seen[:3] == ["ch1", "ch2", "ch3"], seen
    assert "ch9" in seen and "ch0" not in seen, seen
    assert seen == sorted(seen), seen


def test_executions_large_pages_written_while_serving(cluster, daemon_factory):
    """Pages far larger than one slice, read by several clients at once: each arrives whole
    and correct (its connection is suspended and resumed, one slice at a time, when the loop
    is idle) while GetTask and /healthz keep being answered, and a client that stops reading
    in the middle of its page holds up nobody."""
    from concurrent.futures import ThreadPoolExecutor
    d = daemon_factory(admin=True)
    ns = cluster.new_namespace("big")
    names = [f"big{i:03d}" for i in range(150)]
    with ThreadPoolExecutor(16) as pool:
        metas = list(pool.map(lambda n: create_named(d, ns, [n])[n], names))
    stalled = socket.create_connection(("127.0.0.1", d.admin_port), timeout=10)
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.sendall(f"GET /executions?namespace={ns}&limit=10000 HTTP/1.1\r\n"
                    f"Host: x\r\n\r\n".encode())
    assert stalled.recv(64).startswith(b"HTTP/1.1 200"), "the stalled reader got no answer"

    def read_all(_):
        bodies = []
        for _ in range(3):
            page = get_json(d.admin_port, f"/executions?namespace={ns}&limit=10000")
            bodies.append([x["name"] for x in page["executions"]])
        return bodies

    with ThreadPoolExecutor(4) as pool:
        readers = [pool.submit(read_all, i) for i in range(4)]
        answered = probes = 0
        while not all(r.done() for r in readers):
            d.stub.GetTask(agent_pb2.GetTaskRequest(resource_meta=metas[answered % 150]),
                           timeout=10)
            answered += 1
            if answered % 10 == 0:
                assert http_get(d.admin_port, "/healthz")[0] == 200
                probes += 1
        pages = [names for r in readers for names in r.result()]
    assert len(pages) == 12 and answered > 0
    for got in pages:
        assert got == [f"{n}-n0-0" for n in names], got[:5]
    # The stalled reader's page is still whole once it reads on.
    stalled.settimeout(30)
    raw = b""
    while not raw.endswith(b"0\r\n\r\n"):
        chunk = stalled.recv(65536)
        assert chunk, "connection closed before the end of the page"
        raw += chunk
    stalled.close()
    body = raw.split(b"\r\n\r\n", 1)[1]
    text, rest = b"", body
    while True:  # chunked transfer encoding
        size, rest = rest.split(b"\r\n", 1)
        if int(size, 16) == 0:
            break
        text, rest = text + rest[:int(size, 16)], rest[int(size, 16) + 2:]
    page = json.loads(text)
    assert [x["name"] for x in page["executions"]] == [f"{n}-n0-0" for n in names]


def test_not_ready_without_kubernetes(tmp_path):
    """A daemon with no Kubernetes API is healthy (it serves metadata) but not ready."""
    import subprocess
    from cluster import free_port
    from conftest import BIN
    port, admin = free_port(), free_port()
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f'grpc: {{listen: "127.0.0.1:{port}"}}\nadmin: {{listen: "127.0.0.1:{admin}"}}\n'
                   f'kubernetes: {{kubeconfig: "{tmp_path}/missing-kubeconfig"}}\n')
    p = subprocess.Popen([BIN, "serve", "--config", str(cfg)], stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                if http_get(admin, "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        assert http_get(admin, "/healthz") == (200, "ok\n")
        status, body = http_get(admin, "/readyz")
        assert status == 503 and "no Kubernetes API" in body
        _, text = http_get(admin, "/metrics")
        assert metric(text, "flyteplugd_engine_running") == 0
        assert http_get(admin, "/executions")[0] == 503
    finally:
        p.terminate()
        assert p.wait(timeout=30) == 0


# --- exposure: who may read what, and probes under stalled clients ------------------------

import json
import socket

import pytest

from conftest import Daemon


@pytest.fixture
def admin_daemon(cluster, tmp_path):
    """Factory: admin_daemon(admin_yaml) starts a daemon whose admin section is admin_yaml
    (a YAML flow mapping body; "{port}" is replaced by a free port)."""
    started = []

    def make(admin_yaml):
        wd = tmp_path / f"a{len(started)}"
        wd.mkdir()
        d = Daemon(wd, cluster, admin=True)
        text = d.config.read_text()
        line = f'admin: {{listen: "127.0.0.1:{d.admin_port}"}}'
        assert line in text
        d.config.write_text(text.replace(
            line, "admin: {" + admin_yaml.replace("{port}", str(d.admin_port)) + "}"))
        started.append(d)
        return d.start()

    yield make
    for d in started:
        d.stop()


def get(port, path, token=None, host="127.0.0.1", timeout=10):
    req = urllib.request.Request(f"http://{host}:{port}{path}")
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)


def wait_ready(port):
    deadline = time.time() + 20
    while get(port, "/readyz")[0] != 200 and time.time() < deadline:
        time.sleep(0.2)


def test_executions_needs_the_token_off_loopback(admin_daemon, tmp_path):
    """On a non-loopback listener /executions needs the bearer token from admin.token_file
    (re-read when the file changes); probes and metrics stay open; limit is bounded."""
    token_file = tmp_path / "token"
    token_file.write_text("s3cret-token-0123456789\n")
    d = admin_daemon(f'listen: "0.0.0.0:{{port}}", token_file: "{token_file}"')
    port = d.admin_port
    wait_ready(port)
    assert get(port, "/healthz")[:2] == (200, "ok\n")
    assert get(port, "/readyz")[0] == 200
    assert get(port, "/metrics")[0] == 200
    status, body, headers = get(port, "/executions")
    assert status == 401 and "Authorization: Bearer" in body, (status, body)
    assert headers.get("WWW-Authenticate", "").startswith("Bearer"), headers
    for wrong in ("s3cret-token-012345678", "s3cret-token-01234567890", "", "x" * 5000):
        assert get(port, "/executions", token=wrong)[0] == 401, wrong
    status, body, _ = get(port, "/executions", token="s3cret-token-0123456789")
    assert status == 200 and "executions" in json.loads(body), body
    # limit is bounded: the list is built on the event loop.
    assert get(port, "/executions?limit=10000", token="s3cret-token-0123456789")[0] == 200
    status, body, _ = get(port, "/executions?limit=10001", token="s3cret-token-0123456789")
    assert status == 400 and "1 to 10000" in body, (status, body)
    assert get(port, "/executions?limit=1000000", token="s3cret-token-0123456789")[0] == 400
    # A rotated Secret: the new token works, the old one no longer does.
    time.sleep(0.05)
    token_file.write_text("rotated-token-abcdefghij")
    assert get(port, "/executions", token="rotated-token-abcdefghij")[0] == 200
    assert get(port, "/executions", token="s3cret-token-0123456789")[0] == 401


def test_executions_off_without_token_and_open_on_loopback(admin_daemon):
    """No token file and a non-loopback listener: /executions is 403 and says how to turn it
    on. On a loopback listener it needs no token."""
    d = admin_daemon('listen: "0.0.0.0:{port}"')
    status, body, _ = get(d.admin_port, "/executions")
    assert status == 403 and "admin.token_file" in body and "127.0.0.1" in body, (status, body)
    assert get(d.admin_port, "/healthz")[0] == 200
    loop = admin_daemon('listen: "127.0.0.1:{port}"')
    wait_ready(loop.admin_port)
    assert get(loop.admin_port, "/executions")[0] == 200
    assert get(loop.admin_port, "/executions?limit=10000")[0] == 200
    status, body, _ = get(loop.admin_port, "/executions?limit=10001")
    assert status == 400 and "1 to 10000" in body, (status, body)


def stalled(port, source):
    """An admin connection that sends half a request line and then nothing."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    return s


def test_stalled_connections_do_not_starve_probes(admin_daemon):
    """64 stalled connections took every admin slot and /healthz timed out (a liveness probe
    would restart the pod). Now one address holds at most max_connections_per_peer (16), many
    addresses fit under max_connections (128), /healthz answers within 1 s throughout, and
    stalled connections are closed after connection_timeout (10 s)."""
    d = admin_daemon('listen: "127.0.0.1:{port}"')
    port = d.admin_port
    one_source = [stalled(port, "127.0.0.2") for _ in range(80)]
    many_sources = [stalled(port, f"127.0.1.{i % 8 + 1}") for i in range(64)]
    time.sleep(0.3)
    for _ in range(5):
        t0 = time.time()
        assert get(port, "/healthz", timeout=1)[:2] == (200, "ok\n")
        assert time.time() - t0 < 1
    t0 = time.time()
    alive = many_sources[0]
    alive.settimeout(15)
    assert alive.recv(100) == b"", "a stalled connection was not closed"
    assert 8 < time.time() - t0 + 0.3 < 13, time.time() - t0
    for s in one_source + many_sources:
        s.close()
    assert get(port, "/healthz", timeout=1)[0] == 200
