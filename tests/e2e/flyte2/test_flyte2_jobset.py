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
from operator_helpers import DAEMON_LOGS, CrdTask, output_prefix
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
