"""clustered-task (a JobSet) through Flyte 2's connector protocol: the generated flyteidl2
grpcio stubs create the task, follow it through GetTask and delete it with DeleteTask. The
templates, the status the JobSet controller and the kubelet would write, and the expected
phases and messages are the Flyte 1 tests' (tests/e2e/operators/test_jobset.py): the same task
must read the same through either family. The JobSet is stored under JobSet v0.12.0's own
published CRD schema; there is no controller, the tests patch status."""
from __future__ import annotations

import jobset_tasks
import pytest
from flyteidl2.connector import connector_pb2
from operator_helpers import DAEMON_LOGS, PHASE, CrdTask, links, output_prefix, render, subset_mismatch
from test_jobset import JOBSET, cond, env_of, rank0_disrupted, workers

from conftest import Clients, flyte2_metadata, flyte2_template


class Flyte2Task(CrdTask):
    """CrdTask whose task calls are Flyte 2's (AsyncConnectorService) on the daemon's channel."""

    def create(self, daemon, ns, execution, template):
        req = connector_pb2.CreateTaskRequest(
            template=flyte2_template(template), output_prefix=output_prefix(execution),
            task_execution_metadata=flyte2_metadata(ns, execution),
            connection={"task_type": template.type})
        return Clients(daemon.channel).tasks2.CreateTask(req, timeout=30).resource_meta

    def get(self, daemon, meta):
        req = connector_pb2.GetTaskRequest(resource_meta=meta,
                                           task_category=connector_pb2.TaskCategory(name=self.task_type))
        return Clients(daemon.channel).tasks2.GetTask(req, timeout=30).resource

    def delete(self, daemon, meta):
        Clients(daemon.channel).tasks2.DeleteTask(connector_pb2.DeleteTaskRequest(resource_meta=meta),
                                                  timeout=30)


JOBSET2 = Flyte2Task(JOBSET.group, JOBSET.version, JOBSET.plural, JOBSET.task_type)


@pytest.fixture
def jobset_crd(crds):
    got = crds.get("jobset")
    if not isinstance(got, list):
        pytest.fail(got or "no tests/cluster/crds/jobset.sh")


@pytest.fixture
def logged(daemon_factory):
    return daemon_factory(extra_yaml=DAEMON_LOGS)


def test_created_under_the_crd_schema(cluster, jobset_crd, daemon, tmp_path):
    """What Flyte 2's CreateTask stores is what `flyteplugd render` builds from the template."""
    ns = cluster.new_namespace("js2")
    template = jobset_tasks.template("train_restarts")
    rendered = render(daemon, tmp_path, ns, "b2", template)
    JOBSET2.create(daemon, ns, "b2", template)
    created = JOBSET2.stored(cluster, ns, "b2-n0-0")
    assert created is not None, daemon.tail()
    mismatch = subset_mismatch(rendered, created)
    assert mismatch is None, mismatch
    spec = created["spec"]
    assert spec["replicatedJobs"][0]["template"]["spec"]["parallelism"] == 3
    assert spec["failurePolicy"]["maxRestarts"] == 2
    env = env_of(created)
    assert env["NNODES"] == "3" and env["RDZV_BACKEND"] == "c10d", env
    assert env["FLYTE_INTERNAL_EXECUTION_ID"] == "b2"


def test_runs_then_succeeds_with_a_link_per_rank(cluster, jobset_crd, logged):
    daemon = logged
    ns = cluster.new_namespace("js2")
    meta = JOBSET2.create(daemon, ns, "ok", jobset_tasks.template("train"))
    JOBSET2.wait_phase(daemon, meta, PHASE.INITIALIZING, "pods scheduling / DNS resolving")
    JOBSET2.patch(cluster, ns, "ok-n0-0", {"replicatedJobsStatus": workers(active=1, ready=1)})
    r = JOBSET2.wait_phase(daemon, meta, PHASE.RUNNING, "running")
    assert links(r) == [
        ("Daemon workers-0 (rank 0)", f"https://daemon.example.com/{ns}/ok-n0-0-workers-0-0"),
        ("Daemon workers-0 (rank 1)", f"https://daemon.example.com/{ns}/ok-n0-0-workers-0-1")], links(r)
    JOBSET2.patch(cluster, ns, "ok-n0-0", {"replicatedJobsStatus": workers(succeeded=1), "conditions": [
        cond("Completed", "AllJobsCompleted", "jobset completed successfully")]})
    r = JOBSET2.wait_phase(daemon, meta, PHASE.SUCCEEDED)
    assert not r.HasField("outputs")  # file-based outputs under output_prefix


def test_worker_failure_restarts_then_fails(cluster, jobset_crd, daemon):
    """Restarts show in the message; reaching max_restarts is a retryable failure whose reason
    is in the message (Flyte 2's Resource has no agent_error)."""
    ns = cluster.new_namespace("js2")
    meta = JOBSET2.create(daemon, ns, "rs", jobset_tasks.template("train_restarts"))
    JOBSET2.patch(cluster, ns, "rs-n0-0", {"restarts": 1, "restartsCountTowardsMax": 1,
                                           "replicatedJobsStatus": workers(active=1)})
    r = JOBSET2.wait_for(daemon, meta, lambda r: r.phase == PHASE.RUNNING and "restart attempt 1" in r.message,
                         "RUNNING after a restart")
    assert r.message == "running (restart attempt 1, 1 of 2 counted)", r.message
    JOBSET2.patch(cluster, ns, "rs-n0-0", {"restarts": 2, "restartsCountTowardsMax": 2, "conditions": [
        cond("Failed", "ReachedMaxRestarts", "jobset failed due to reaching max number of restarts")]})
    r = JOBSET2.wait_for(daemon, meta, lambda r: r.phase == PHASE.RETRYABLE_FAILED, "retryable failure")
    assert r.message == "ReachedMaxRestarts: jobset failed due to reaching max number of restarts", r.message
    # The same task read through Flyte 1 says the same.
    assert JOBSET.get(daemon, meta).message == r.message


def test_host_maintenance_is_a_system_failure(cluster, jobset_crd, daemon):
    ns = cluster.new_namespace("js2")
    meta = JOBSET2.create(daemon, ns, "hm", jobset_tasks.template("train_restarts"))
    rank0_disrupted(cluster, ns, JOBSET2.stored(cluster, ns, "hm-n0-0"))
    JOBSET2.patch(cluster, ns, "hm-n0-0", {"conditions": [
        cond("Failed", "FailedJobs", "jobset failed due to failed jobs")]})
    r = JOBSET2.wait_for(daemon, meta, lambda r: r.phase == PHASE.RETRYABLE_FAILED, "retryable failure")
    assert r.message == ("HostMaintenance: pod evicted due to host maintenance; retrying without "
                         "charging max_restarts"), r.message


def test_delete_removes_the_jobset(cluster, jobset_crd, daemon):
    ns = cluster.new_namespace("js2")
    meta = JOBSET2.create(daemon, ns, "del", jobset_tasks.template("train"))
    assert JOBSET2.stored(cluster, ns, "del-n0-0") is not None, daemon.tail()
    JOBSET2.delete(daemon, meta)
    JOBSET2.wait_deleted(daemon, cluster, ns, "del-n0-0")
