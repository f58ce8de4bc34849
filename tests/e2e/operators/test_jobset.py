"""clustered-task end to end: tasks serialized by the real flytekit (jobset_tasks.py) go in
through CreateTask, become JobSets the real API server accepts under JobSet v0.12.0's own
published CRD schema, and report phases through GetTask as their status (and their rank-0 pod's)
is written the way the JobSet controller and the kubelet write them. There is no controller:
the tests patch status. Each test is a scenario run with a CrdTask, the Flyte 1 calls here;
tests/e2e/flyte2/test_flyte2_jobset.py runs the same scenarios through Flyte 2's."""
from __future__ import annotations

from datetime import datetime, timezone

import jobset_tasks
import pytest

from operator_helpers import DAEMON_LOGS, PHASE, CrdTask, links, render, rfc3339, subset_mismatch

CRD = "jobset"  # its published CRD, installed by the crds fixture

JOBSET = CrdTask("jobset.x-k8s.io", "v1alpha2", "jobsets", "clustered-task")


def cond(t, reason, message, status="True"):
    return {"type": t, "status": status, "reason": reason, "message": message,
            "lastTransitionTime": rfc3339(datetime.now(timezone.utc))}


def workers(active=0, ready=0, succeeded=0, failed=0):
    return [{"name": "workers", "active": active, "ready": ready, "succeeded": succeeded,
             "failed": failed, "suspended": 0}]


def env_of(jobset):
    pod = jobset["spec"]["replicatedJobs"][0]["template"]["spec"]["template"]
    return {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}


def created_under_the_crd_schema_as_rendered(cluster, daemon, tmp_path, task):
    ns = cluster.new_namespace("js")
    template = jobset_tasks.template("train_restarts")
    rendered = render(daemon, tmp_path, ns, "build", template)
    task.create(daemon, ns, "build", template)
    created = task.stored(cluster, ns, "build-n0-0")
    assert created is not None, daemon.tail()
    mismatch = subset_mismatch(rendered, created)
    assert mismatch is None, mismatch
    spec = created["spec"]
    (rj,) = spec["replicatedJobs"]
    job = rj["template"]["spec"]
    assert rj["name"] == "workers" and job["parallelism"] == 3 and job["completionMode"] == "Indexed"
    assert spec["failurePolicy"]["maxRestarts"] == 2
    assert spec["failurePolicy"]["rules"][0]["action"] == "RestartJobSetAndIgnoreMaxRestarts"
    assert job["podFailurePolicy"]["rules"][0]["onPodConditions"][0]["type"] == "DisruptionTarget"
    assert spec["ttlSecondsAfterFinished"] == 600 and spec["network"]["enableDNSHostnames"] is True
    env = env_of(created)
    assert env["NNODES"] == "3" and env["NPROC_PER_NODE"] == "1" and env["RDZV_BACKEND"] == "c10d"
    assert env["FLYTE_INTERNAL_EXECUTION_ID"] == "build"  # Flyte's env, as for a pod task
    pod = job["template"]
    assert pod["spec"]["subdomain"] == "build-n0-0" and pod["spec"]["restartPolicy"] == "Never"
    assert pod["metadata"]["labels"]["execution-id"] == "build"


@pytest.fixture
def logged(daemon_factory):
    return daemon_factory(extra_yaml=DAEMON_LOGS)


def runs_then_succeeds_with_a_link_per_rank(cluster, daemon, task):
    """daemon has DAEMON_LOGS."""
    ns = cluster.new_namespace("js")
    meta = task.create(daemon, ns, "ok", jobset_tasks.template("train"))
    task.wait_phase(daemon, meta, PHASE.INITIALIZING, "pods scheduling / DNS resolving")
    task.patch(cluster, ns, "ok-n0-0", {"replicatedJobsStatus": workers(active=1, ready=1)})
    r = task.wait_phase(daemon, meta, PHASE.RUNNING, "running")
    assert links(r) == [
        ("Daemon workers-0 (rank 0)", f"https://daemon.example.com/{ns}/ok-n0-0-workers-0-0"),
        ("Daemon workers-0 (rank 1)", f"https://daemon.example.com/{ns}/ok-n0-0-workers-0-1")], links(r)
    task.patch(cluster, ns, "ok-n0-0", {"replicatedJobsStatus": workers(succeeded=1), "conditions": [
        cond("Completed", "AllJobsCompleted", "jobset completed successfully")]})
    r = task.wait_phase(daemon, meta, PHASE.SUCCEEDED)
    assert not r.HasField("outputs")  # file-based outputs under output_prefix


def worker_failure_restarts_then_fails(cluster, daemon, task):
    """Returns the failed task's resource_meta."""
    ns = cluster.new_namespace("js")
    meta = task.create(daemon, ns, "rs", jobset_tasks.template("train_restarts"))
    task.patch(cluster, ns, "rs-n0-0", {"restarts": 1, "restartsCountTowardsMax": 1,
                                        "replicatedJobsStatus": workers(active=1)})
    r = task.wait_for(daemon, meta, lambda r: r.phase == PHASE.RUNNING and "restart attempt 1" in r.message,
                      "RUNNING after a restart")
    assert r.message == "running (restart attempt 1, 1 of 2 counted)", r.message
    task.patch(cluster, ns, "rs-n0-0", {"restarts": 2, "restartsCountTowardsMax": 2, "conditions": [
        cond("Failed", "ReachedMaxRestarts", "jobset failed due to reaching max number of restarts")]})
    r = task.wait_for(daemon, meta, lambda r: r.phase == PHASE.RETRYABLE_FAILED, "retryable failure")
    assert r.message == "ReachedMaxRestarts: jobset failed due to reaching max number of restarts", r.message
    return meta


def rank0_disrupted(cluster, ns, jobset):
    """Creates jobset's rank-0 pod as the Job controller would and writes it as the kubelet
    does when its node shuts down for maintenance."""
    tmpl = jobset["spec"]["replicatedJobs"][0]["template"]["spec"]["template"]
    name = jobset["metadata"]["name"]
    labels = dict(tmpl["metadata"].get("labels", {}))
    labels.update({"jobset.sigs.k8s.io/jobset-name": name,
                   "jobset.sigs.k8s.io/replicatedjob-name": "workers",
                   "jobset.sigs.k8s.io/job-index": "0",
                   "batch.kubernetes.io/job-completion-index": "0"})
    pod = f"{name}-workers-0-0-x1"
    cluster.must("POST", f"/api/v1/namespaces/{ns}/pods", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": pod, "namespace": ns, "labels": labels},
        "spec": {"containers": [{"name": tmpl["spec"]["containers"][0]["name"], "image": "busybox"}]}})
    t = rfc3339()
    cluster.patch_pod_status(ns, pod, {
        "phase": "Failed", "reason": "Terminated", "message": "node is shutting down",
        "conditions": [{"type": "DisruptionTarget", "status": "True", "reason": "TerminationByKubelet",
                        "message": "node shutdown", "lastTransitionTime": t}]})


def host_maintenance_is_a_system_failure(cluster, daemon, task):
    ns = cluster.new_namespace("js")
    meta = task.create(daemon, ns, "hm", jobset_tasks.template("train_restarts"))
    rank0_disrupted(cluster, ns, task.stored(cluster, ns, "hm-n0-0"))
    task.patch(cluster, ns, "hm-n0-0", {"conditions": [
        cond("Failed", "FailedJobs", "jobset failed due to failed jobs")]})
    r = task.wait_for(daemon, meta, lambda r: r.phase == PHASE.RETRYABLE_FAILED, "retryable failure")
    assert r.message == "HostMaintenance: pod evicted due to host maintenance; retrying without charging max_restarts", r.message


def delete_removes_the_jobset(cluster, daemon, task):
    ns = cluster.new_namespace("js")
    meta = task.create(daemon, ns, "del", jobset_tasks.template("train"))
    assert task.stored(cluster, ns, "del-n0-0") is not None, daemon.tail()
    task.delete(daemon, meta)
    task.wait_deleted(daemon, cluster, ns, "del-n0-0")


# ---- the scenarios through Flyte 1 ----------------------------------------------------------

def test_created_under_the_crd_schema_as_rendered(cluster, crds, daemon, tmp_path):
    created_under_the_crd_schema_as_rendered(cluster, daemon, tmp_path, JOBSET)


def test_runs_then_succeeds_with_a_link_per_rank(cluster, crds, logged):
    runs_then_succeeds_with_a_link_per_rank(cluster, logged, JOBSET)


def test_worker_failure_restarts_then_fails(cluster, crds, daemon):
    worker_failure_restarts_then_fails(cluster, daemon, JOBSET)


def test_host_maintenance_is_a_system_failure(cluster, crds, daemon):
    host_maintenance_is_a_system_failure(cluster, daemon, JOBSET)


def test_delete_removes_the_jobset(cluster, crds, daemon):
    delete_removes_the_jobset(cluster, daemon, JOBSET)
