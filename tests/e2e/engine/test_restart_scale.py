"""A restart over many existing tasks: GetTask calls (Flyte 1 and Flyte 2 services alike) for
objects the informer has not listed yet are answered when its first list delivers them, without
a GET of their own (counted by the real API server's apiserver_request_total); an object the
list completes without is fetched, and a call whose GET the read budget holds back is still
answered by the list, whether it GETs at once (engine.unlisted_wait 0s, the default) or after
a wait. The list is slowed on purpose: paged (no streaming list), pages of 20, and an overall
client rate of ten requests per second."""
from __future__ import annotations

import re
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from flyteidl.admin import agent_pb2
from flyteidl.core import execution_pb2
from flyteidl2.connector import connector_pb2, service_pb2_grpc

import flytekit_tasks
from conftest import execution_metadata

PHASE = execution_pb2.TaskExecution
TASKS = 240
SLOW_LIST = "qps: 10, burst: 1, watch_list: false, list_page_size: 20}"


def create_many(daemon, ns, n):
    def one(i):
        req = agent_pb2.CreateTaskRequest(
            template=flytekit_tasks.python_task(), output_prefix=f"s3://bucket/meta/r{i}/n0/data/0",
            task_execution_metadata=execution_metadata(ns, f"r{i:04d}"))
        return daemon.stub.CreateTask(req, timeout=60).resource_meta
    with ThreadPoolExecutor(16) as pool:
        return list(pool.map(one, range(n)))


def get_all(daemon, metas):
    """GetTask for every meta at once, every other one through the Flyte 2 service."""
    stub2 = service_pb2_grpc.AsyncConnectorServiceStub(daemon.channel)

    def one(im):
        i, meta = im
        if i % 2:
            return stub2.GetTask(connector_pb2.GetTaskRequest(
                resource_meta=meta, task_category=connector_pb2.TaskCategory(name="python-task")),
                timeout=30).resource
        return daemon.stub.GetTask(agent_pb2.GetTaskRequest(task_type="python-task",
                                                            resource_meta=meta), timeout=30).resource
    with ThreadPoolExecutor(len(metas)) as pool:
        return list(pool.map(one, enumerate(metas)))


def pod_gets(cluster) -> int:
    """GETs of one pod the API server has answered, whatever their code."""
    status, text = cluster.request("GET", "/metrics", headers={"Accept": "text/plain"})
    assert status == 200, text
    n = 0
    for line in text.splitlines():
        if (line.startswith("apiserver_request_total{") and 'verb="GET"' in line and
                'resource="pods"' in line and 'scope="resource"' in line and
                'subresource=""' in line):
            n += int(float(line.rsplit(" ", 1)[1]))
    return n


def daemon_metrics(daemon) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{daemon.admin_port}/metrics", timeout=10) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        m = re.match(r"^(flyteplugd_gettask_[a-z_]+(?:\{[^}]*\})?) (\S+)$", line)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def succeed(cluster, ns, name):
    cluster.patch_pod_status(ns, name, {
        "phase": "Succeeded",
        "containerStatuses": [{"name": "primary", "ready": False, "restartCount": 0, "image": "x",
                               "imageID": "", "state": {"terminated": {
                                   "exitCode": 0, "reason": "Completed",
                                   "startedAt": "2026-01-01T00:00:00Z",
                                   "finishedAt": "2026-01-01T00:00:05Z"}}}]})


def restart_slowly(daemon, kube="", **engine):
    """Restarts daemon with a slow first list, more kubernetes settings (kube, YAML flow-map
    members) and engine settings as YAML values."""
    text = daemon.config.read_text()
    assert "qps: 1000, burst: 1000}" in text
    text = text.replace("qps: 1000, burst: 1000}", (kube + ", " if kube else "") + SLOW_LIST)
    for k, v in engine.items():
        text = text.replace("engine:\n", f"engine:\n  {k}: {v}\n", 1)
    daemon.config.write_text(text)
    if daemon.proc:
        daemon.kill()
    daemon.start()


def before_restart(cluster, daemon, ns):
    """TASKS tasks, a few of them finished: their metas, a sample of their indexes, what GetTask
    answered for the sample before the restart, and the index a test may delete."""
    metas = create_many(daemon, ns, TASKS)
    sample = list(range(0, TASKS, 6))
    done = set(sample[1::5])
    for i in done:
        succeed(cluster, ns, f"r{i:04d}-n0-0")
    deadline = time.time() + 30
    while time.time() < deadline:
        before = get_all(daemon, [metas[i] for i in sample])
        if all((r.phase == PHASE.SUCCEEDED) == (i in done) for i, r in zip(sample, before)):
            break
        time.sleep(0.3)
    else:
        raise AssertionError(f"the finished pods were not seen\n{daemon.tail()}")
    assert all(r.phase in (PHASE.QUEUED, PHASE.SUCCEEDED) for r in before), before
    gone = sample[-1]
    return metas, sample, before, gone


def test_restart_answers_from_the_first_list_without_gets(cluster, daemon_factory):
    """Every call is answered by the list, the API server sees one pod GET: the pod deleted
    while the daemon was down, which the list completes without."""
    ns = cluster.new_namespace("rscale")
    daemon = daemon_factory(admin=True)
    metas, sample, before, gone = before_restart(cluster, daemon, ns)
    daemon.kill()
    path = f"/api/v1/namespaces/{ns}/pods/r{gone:04d}-n0-0"
    cluster.must("PATCH", path, {"metadata": {"finalizers": None}})
    cluster.must("DELETE", path, {"gracePeriodSeconds": 0})
    gets_before = pod_gets(cluster)
    restart_slowly(daemon, unlisted_wait="30s")  # no timeouts even on a loaded machine
    started = time.time()
    after = get_all(daemon, [metas[i] for i in sample])
    took = time.time() - started
    gets = pod_gets(cluster) - gets_before
    m = daemon_metrics(daemon)

    for i, b, a in zip(sample, before, after):
        if i == gone:
            assert a.phase == PHASE.RETRYABLE_FAILED, (PHASE.Phase.Name(a.phase), a.message)
            assert "ResourceDeletedExternally" in a.message or "not found" in a.message, a.message
        else:
            assert a.phase == b.phase, (i, PHASE.Phase.Name(a.phase), PHASE.Phase.Name(b.phase),
                                        a.message)
    assert gets == 1, f"the API server answered {gets} pod GETs, wanted 1 (the deleted pod)"
    delivered = m['flyteplugd_gettask_waits_total{result="delivered"}']
    # The first page may be in before the calls come; most calls wait for a later one.
    assert delivered >= len(sample) // 2, (m, took, daemon.tail())
    assert m['flyteplugd_gettask_waits_total{result="timed_out"}'] == 0, m
    # Only the deleted pod, which the list completed without, is fetched (and found missing).
    assert m['flyteplugd_gettask_waits_total{result="not_listed"}'] == 1, m
    assert m["flyteplugd_gettask_fetches_total"] == 1, m


@pytest.mark.parametrize("unlisted_wait", ["300ms", "0s"])
def test_delivery_answers_calls_whose_get_waits_for_a_token(cluster, daemon_factory,
                                                            unlisted_wait):
    """Calls the slow list has not reached GET their objects as well, after engine.unlisted_wait
    or (0s, the default) at once, but the read budget holds their GETs back (one token, then one
    per 100 s): the list's delivery answers them all the same, and cancels the GETs still
    waiting."""
    ns = cluster.new_namespace("rslow")
    daemon = daemon_factory(admin=True)
    metas, sample, before, _ = before_restart(cluster, daemon, ns)
    gets_before = pod_gets(cluster)
    restart_slowly(daemon, kube="budgets: {read: {qps: 0.01, burst: 1}}",
                   unlisted_wait=unlisted_wait)
    started = time.time()
    after = get_all(daemon, [metas[i] for i in sample])
    took = time.time() - started
    m = daemon_metrics(daemon)
    for i, b, a in zip(sample, before, after):
        assert a.phase == b.phase, (i, PHASE.Phase.Name(a.phase), PHASE.Phase.Name(b.phase),
                                    a.message)
    timed_out = m['flyteplugd_gettask_waits_total{result="timed_out"}']
    if unlisted_wait == "0s":
        assert timed_out == 0, m
        assert m["flyteplugd_gettask_fetches_total"] >= len(sample) // 2, (m, took)
    else:
        assert timed_out >= len(sample) // 2, (m, took)
        assert m["flyteplugd_gettask_fetches_total"] == timed_out, m
    assert m['flyteplugd_gettask_waits_total{result="delivered"}'] >= len(sample) - 1, m
    assert took < 25, f"answered in {took:.1f} s: the calls waited for their GETs"
    time.sleep(1)
    gets = pod_gets(cluster) - gets_before
    assert gets <= 1, f"the API server answered {gets} pod GETs; the read budget allows 1"

