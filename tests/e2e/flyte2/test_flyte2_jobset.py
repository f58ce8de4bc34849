"""clustered-task (a JobSet) through Flyte 2's connector protocol: the scenarios of
tests/e2e/operators/test_jobset.py (created under JobSet v0.12.0's published CRD schema as
rendered, success with a log link per rank, worker failure with restarts, host maintenance,
DeleteTask), with the task calls made by the generated flyteidl2 grpcio stubs. The same task
must read the same through either family: the templates, the status the JobSet controller and
the kubelet would write, and the expected phases and messages are the Flyte 1 tests'. There is
no controller; the tests patch status."""
from __future__ import annotations

import pytest
import test_jobset
from flyteidl2.connector import connector_pb2
from operator_helpers import DAEMON_LOGS, PHASE, CrdTask, links, output_prefix
from test_jobset import JOBSET

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


def test_created_under_the_crd_schema_as_rendered(cluster, jobset_crd, daemon, tmp_path):
    test_jobset.created_under_the_crd_schema_as_rendered(cluster, daemon, tmp_path, JOBSET2)


def test_runs_then_succeeds_with_a_link_per_rank(cluster, jobset_crd, daemon_factory):
    test_jobset.runs_then_succeeds_with_a_link_per_rank(cluster, daemon_factory(extra_yaml=DAEMON_LOGS),
                                                        JOBSET2)


def test_worker_failure_restarts_then_fails(cluster, jobset_crd, daemon):
    """Reaching max_restarts is a retryable failure whose reason is in the message (Flyte 2's
    Resource has no agent_error); Flyte 1's GetTask of the same task says the same."""
    meta = test_jobset.worker_failure_restarts_then_fails(cluster, daemon, JOBSET2)
    assert JOBSET.get(daemon, meta).message == JOBSET2.get(daemon, meta).message


def test_host_maintenance_is_a_system_failure(cluster, jobset_crd, daemon):
    test_jobset.host_maintenance_is_a_system_failure(cluster, daemon, JOBSET2)


def test_delete_removes_the_jobset(cluster, jobset_crd, daemon):
    test_jobset.delete_removes_the_jobset(cluster, daemon, JOBSET2)


def test_sdk_clustered_task(cluster, jobset_crd, daemon_factory, sdk_templates):
    """The Flyte 2 SDK's own clustered task (a ClusteredTaskEnvironment, sdk/tasks.py; task type
    clustered-task version 1) becomes the JobSet its settings say, runs with a log link per
    rank, succeeds, and is deleted, all through Flyte 2's calls."""
    daemon = daemon_factory(extra_yaml=DAEMON_LOGS)
    template = sdk_templates["train"]
    assert (template.type, template.task_type_version) == ("clustered-task", 1)
    ns = cluster.new_namespace("js2sdk")
    meta = JOBSET2.create(daemon, ns, "sdk", template)
    created = JOBSET2.stored(cluster, ns, "sdk-n0-0")
    assert created is not None, daemon.tail()
    spec = created["spec"]
    job = spec["replicatedJobs"][0]["template"]["spec"]
    assert job["parallelism"] == 3 and spec["failurePolicy"]["maxRestarts"] == 2
    assert spec["failurePolicy"]["rules"][0]["action"] == "RestartJobSetAndIgnoreMaxRestarts"
    assert spec["ttlSecondsAfterFinished"] == 600
    env = test_jobset.env_of(created)
    assert env["NNODES"] == "3" and env["NPROC_PER_NODE"] == "1" and env["RDZV_BACKEND"] == "c10d", env
    container = job["template"]["spec"]["containers"][0]
    assert container["image"] == template.container.image
    # The SDK's arguments with Flyte's path variables filled; Flyte 2's run variables
    # ({{.runName}}, {{.actionName}}, {{.runStartTime}}) are left as they are, as the Flyte 2
    # plugin machinery's template.go also leaves them.
    out = output_prefix("sdk")
    filled = {"{{.input}}": out.rsplit("/", 1)[0] + "/inputs.pb", "{{.outputPrefix}}": out,
              "{{.rawOutputDataPrefix}}": out, "{{.checkpointOutputPrefix}}": out + "/_flytecheckpoints",
              "{{.prevCheckpointPrefix}}": '""'}
    assert container["args"] == [filled.get(a, a) for a in template.container.args], container["args"]
    assert container["resources"]["requests"] == {"cpu": "1", "memory": "512Mi"}

    JOBSET2.wait_phase(daemon, meta, PHASE.INITIALIZING, "pods scheduling / DNS resolving")
    JOBSET2.patch(cluster, ns, "sdk-n0-0", {"replicatedJobsStatus": test_jobset.workers(active=1, ready=1)})
    r = JOBSET2.wait_phase(daemon, meta, PHASE.RUNNING, "running")
    assert links(r) == [(f"Daemon workers-0 (rank {i})", f"https://daemon.example.com/{ns}/sdk-n0-0-workers-0-{i}")
                        for i in range(3)], links(r)
    JOBSET2.patch(cluster, ns, "sdk-n0-0", {"replicatedJobsStatus": test_jobset.workers(succeeded=1), "conditions": [
        test_jobset.cond("Completed", "AllJobsCompleted", "jobset completed successfully")]})
    JOBSET2.wait_phase(daemon, meta, PHASE.SUCCEEDED)
    JOBSET2.delete(daemon, meta)
    JOBSET2.wait_deleted(daemon, cluster, ns, "sdk-n0-0")
