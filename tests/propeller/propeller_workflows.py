"""Workflows written the way Flyte users write them, turned at test time by the real flytekit
(get_serializable, flytekit's own translator) into the core.WorkflowClosure that
`kubectl-flyte create` compiles with propeller's compiler and creates as a FlyteWorkflow."""
from __future__ import annotations

import sys
from collections import OrderedDict
from pathlib import Path

from flyteidl.core import literals_pb2, workflow_closure_pb2
from flytekit import Resources, task, workflow
from flytekit.models.task import TaskSpec
from flytekit.tools.translator import get_serializable
from flytekitplugins.kfpytorch import PyTorch
from flytekitplugins.spark import Spark

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e" / "engine"))
from flytekit_tasks import settings  # noqa: E402 (the engine tests' SerializationSettings)


def closure(wf) -> workflow_closure_pb2.WorkflowClosure:
    """The workflow and every task it calls, as flytekit serializes them for registration."""
    entities = OrderedDict()
    spec = get_serializable(entities, settings(), wf)
    tasks = [e.template.to_flyte_idl() for e in entities.values() if isinstance(e, TaskSpec)]
    return workflow_closure_pb2.WorkflowClosure(workflow=spec.template.to_flyte_idl(), tasks=tasks)


def ints(**values) -> literals_pb2.LiteralMap:
    """A LiteralMap of integers, as flytekit writes inputs.pb/outputs.pb for int values."""
    return literals_pb2.LiteralMap(literals={
        k: literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(integer=v)))
        for k, v in values.items()})


@task(requests=Resources(cpu="100m", mem="64Mi"))
def greet() -> None:
    ...


@workflow
def single():
    greet()


@task
def double(x: int) -> int:
    return 2 * x


@task
def inc(x: int) -> int:
    return x + 1


@workflow
def chain(x: int) -> int:
    return inc(x=double(x=x))


@task(retries=2)
def flaky() -> None:
    ...


@workflow
def retried():
    flaky()


@task(task_config=Spark(spark_conf={"spark.driver.cores": "1", "spark.executor.instances": "1"}))
def spark_job() -> None:
    ...


@workflow
def spark():
    spark_job()


@task(task_config=PyTorch(num_workers=1))
def torch_job() -> None:
    ...


@workflow
def pytorch():
    torch_job()
