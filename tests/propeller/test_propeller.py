"""The real FlytePropeller v1.16.8 runs flytekit workflows whose tasks it sends to flyteplugd through
its connector-service plugin (the flyte-binary overlay's routing). The tests play the kubelet and
the operators (pod and custom-resource status, the outputs.pb a task writes) and assert the
workflow and node phases propeller records in the FlyteWorkflow."""
from __future__ import annotations

import time

from flyteidl.core import literals_pb2

import propeller_workflows as workflows
from propeller_tier import (Execution, arg, finish_pod, node, node_phase, rfc3339, start_pod, summary, task_phase,
                            task_pods)


def run(propeller, daemon, cluster, name, wf, inputs=None) -> Execution:
    ns = cluster.new_namespace("propeller")
    propeller.create(ns, name, workflows.closure(wf), inputs)
    return Execution(propeller, daemon, ns, name)


def assert_ours(pod):
    """The pod was created by flyteplugd (CreateTask), not by propeller's own container plugin."""
    assert pod["metadata"]["labels"].get("app.kubernetes.io/managed-by") == "flyteplugd", pod["metadata"]


def test_python_task(propeller, daemon, cluster):
    ex = run(propeller, daemon, cluster, "pyone", workflows.single)
    pod = ex.pod()
    assert_ours(pod)
    labels = pod["metadata"]["labels"]
    assert labels["execution-id"] == "pyone" and labels["node-id"] == "n0", labels
    # propeller rendered the task's templated args before CreateTask
    assert "{{" not in " ".join(pod["spec"]["containers"][0]["args"]), pod["spec"]["containers"][0]["args"]
    ex.wait(lambda wf: task_phase(wf, "n0") == "Queued", "task n0 Queued (the connector's QUEUED)")
    start_pod(cluster, pod)
    ex.wait(lambda wf: task_phase(wf, "n0") == "Running", "task n0 Running")
    assert node_phase(propeller.workflow(ex.ns, ex.name), "n0") == "Running"
    finish_pod(cluster, pod)
    wf = ex.wait_phase("Success")
    assert node_phase(wf, "n0") == "Succeeded", summary(wf)


def test_chain_passes_outputs(propeller, daemon, cluster):
    ex = run(propeller, daemon, cluster, "chain", workflows.chain, workflows.ints(x=20))
    first = ex.pod("n0")
    assert_ours(first)
    start_pod(cluster, first)
    # The container would read its inputs and write outputs.pb under the rendered prefix.
    inputs = literals_pb2.LiteralMap()
    inputs.ParseFromString(propeller.local(arg(first, "--inputs")).read_bytes())
    assert inputs.literals["x"].scalar.primitive.integer == 20, inputs
    out = propeller.local(arg(first, "--output-prefix")) / "outputs.pb"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(workflows.ints(o0=40).SerializeToString())
    finish_pod(cluster, first)
    ex.wait_node("n0", "Succeeded")

    second = ex.pod("n1")
    assert_ours(second)
    got = literals_pb2.LiteralMap()
    got.ParseFromString(propeller.local(arg(second, "--inputs")).read_bytes())
    assert got.literals["x"].scalar.primitive.integer == 40, "n1 did not get n0's output"
    out = propeller.local(arg(second, "--output-prefix")) / "outputs.pb"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(workflows.ints(o0=41).SerializeToString())
    start_pod(cluster, second)
    finish_pod(cluster, second)
    wf = ex.wait_phase("Success")
    assert [node_phase(wf, n) for n in ("n0", "n1")] == ["Succeeded", "Succeeded"], summary(wf)
    # the workflow's output is n1's, bound by propeller's end node
    outputs = literals_pb2.LiteralMap()
    outputs.ParseFromString(propeller.local(wf["status"]["outputRef"]).read_bytes())
    assert outputs.literals["o0"].scalar.primitive.integer == 41, outputs


def test_retries_then_success(propeller, daemon, cluster):
    ex = run(propeller, daemon, cluster, "flaky", workflows.retried)
    for attempt in (0, 1):
        pod = ex.pod(attempt=attempt)
        assert_ours(pod)
        env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
        assert env["FLYTE_ATTEMPT_NUMBER"] == str(attempt), env
        start_pod(cluster, pod)
        finish_pod(cluster, pod, exit_code=1)
    pod = ex.pod(attempt=2)
    # NodeStatus.attempts counts the failed attempts, i.e. it is the current attempt's number;
    # read while the node runs (a succeeded node's status is collapsed to its phase).
    wf = ex.wait(lambda wf: node(wf, "n0").get("attempts") == 2, "node n0 at attempt 2")
    assert node_phase(wf, "n0") in ("Queued", "Running"), summary(wf)
    start_pod(cluster, pod)
    finish_pod(cluster, pod)
    wf = ex.wait_phase("Success")
    assert node_phase(wf, "n0") == "Succeeded", summary(wf)
    # propeller aborts a failed attempt before the next one: DeleteTask removed their pods
    assert [p["metadata"]["name"] for p in task_pods(cluster, ex.ns, "flaky")] == ["flaky-n0-2"]


def test_retries_exhausted_fails_workflow(propeller, daemon, cluster):
    ex = run(propeller, daemon, cluster, "doomed", workflows.retried)
    for attempt in (0, 1, 2):
        pod = ex.pod(attempt=attempt)
        start_pod(cluster, pod)
        finish_pod(cluster, pod, exit_code=1)
    wf = ex.wait_phase("Failed")
    n0 = node(wf, "n0")
    assert node_phase(wf, "n0") == "Failed" and n0.get("attempts") == 2, summary(wf)
    # 1 + retries=2 attempts, all counted against the task's retries
    assert n0["error"]["code"] == "RetriesExhausted|TaskFailedWithError", n0["error"]
    assert n0["error"]["message"].startswith("[3/3]"), n0["error"]
    # with flyteplugd's message for the last attempt
    assert "[doomed-n0-2] terminated with exit code (1)" in n0["error"]["message"], n0["error"]
    # no fourth attempt; the first two were aborted (DeleteTask) before their retries, the last
    # one is left to flyteplugd's cleanup
    assert [p["metadata"]["name"] for p in task_pods(cluster, ex.ns, "doomed")] == ["doomed-n0-2"]


def test_abort_deletes_the_pod(propeller, daemon, cluster):
    ex = run(propeller, daemon, cluster, "aborted", workflows.single)
    pod = ex.pod()
    start_pod(cluster, pod)
    ex.wait(lambda wf: task_phase(wf, "n0") == "Running", "task n0 Running")
    # flyteadmin aborts an execution by deleting its FlyteWorkflow; propeller's finalizer holds
    # it until the abort is done (DeleteTask to flyteplugd).
    path = cluster.resource_path("flyte.lyft.com", "v1alpha1", "flyteworkflows", ex.ns, "aborted")
    cluster.must("DELETE", path)
    # Nothing else deletes a running task's pod: its going is flyteplugd's DeleteTask.
    ex.pod_gone("aborted-n0-0")
    ex.gone()


SPARK = ("sparkoperator.k8s.io", "v1beta2", "sparkapplications")
PYTORCH = ("kubeflow.org", "v1", "pytorchjobs")


def custom_resource(ex, gvr, timeout=60):
    """Waits for flyteplugd's object of the execution's node n0 and returns it."""
    deadline = time.time() + timeout
    path = ex.cluster.resource_path(*gvr, ex.ns, f"{ex.name}-n0-0")
    while True:
        st, obj = ex.cluster.request("GET", path)
        if st == 200:
            return obj
        if time.time() >= deadline:
            raise AssertionError(f"no {gvr[2]} {ex.name}-n0-0\n{ex.diagnose()}")
        time.sleep(0.2)


def test_spark_task(propeller, daemon, cluster):
    ex = run(propeller, daemon, cluster, "spark", workflows.spark)
    app = custom_resource(ex, SPARK)
    assert app["metadata"]["labels"].get("app.kubernetes.io/managed-by") == "flyteplugd"
    # the driver's arguments as propeller rendered them: its own storage, no template left
    args = app["spec"]["arguments"]
    assert args[args.index("--output-prefix") + 1].startswith("file://bucket/metadata/"), args
    assert "{{" not in " ".join(args), args
    name = app["metadata"]["name"]
    for status in ({"applicationState": {"state": "SUBMITTED"}, "submissionAttempts": 1,
                    "driverInfo": {"podName": f"{name}-driver"}},
                   {"applicationState": {"state": "RUNNING"}, "executionAttempts": 1, "driverInfo": {}}):
        cluster.patch_status(*SPARK, ex.ns, name, status)
    ex.wait(lambda wf: task_phase(wf, "n0") == "Running", "task n0 Running")
    cluster.patch_status(*SPARK, ex.ns, name, {"applicationState": {"state": "COMPLETED"},
                                               "terminationTime": rfc3339(), "driverInfo": {}})
    wf = ex.wait_phase("Success")
    assert node_phase(wf, "n0") == "Succeeded", summary(wf)


def test_pytorch_task(propeller, daemon, cluster):
    ex = run(propeller, daemon, cluster, "torch", workflows.pytorch)
    job = custom_resource(ex, PYTORCH)
    assert job["metadata"]["labels"].get("app.kubernetes.io/managed-by") == "flyteplugd"
    t = rfc3339()

    def cond(kind, status="True"):
        return {"type": kind, "status": status, "reason": kind, "message": kind,
                "lastUpdateTime": t, "lastTransitionTime": t}

    cluster.patch_status(*PYTORCH, ex.ns, job["metadata"]["name"],
                         {"startTime": t, "conditions": [cond("Created"), cond("Running")]})
    ex.wait(lambda wf: task_phase(wf, "n0") == "Running", "task n0 Running")
    cluster.patch_status(*PYTORCH, ex.ns, job["metadata"]["name"],
                         {"startTime": t, "completionTime": t,
                          "conditions": [cond("Created"), cond("Running", "False"), cond("Succeeded")]})
    wf = ex.wait_phase("Success")
    assert node_phase(wf, "n0") == "Succeeded", summary(wf)
