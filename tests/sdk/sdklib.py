"""Helpers of the SDK tests (the flytekit package in sdk/python and the plugin template in
examples/plugin-template): the engine tests' fixtures and execution metadata
(tests/e2e/engine/conftest.py, loaded under its own name: the tests here never import
`conftest`, which names whichever conftest pytest loaded last when it collects several folders),
a task serialized with the real flytekit, what the daemon serves."""
from __future__ import annotations

import importlib.util
import sys
from collections import OrderedDict
from pathlib import Path

from flyteidl.admin import agent_pb2
from flyteidl.service import agent_pb2_grpc

ENGINE = Path(__file__).resolve().parents[1] / "e2e" / "engine"
sys.path.insert(0, str(Path(__file__).resolve().parent))  # sdk_tasks
_spec = importlib.util.spec_from_file_location("engine_conftest", ENGINE / "conftest.py")
engine_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(engine_conftest)

ROOT = engine_conftest.ROOT
BIN = engine_conftest.BIN
cluster = engine_conftest.cluster
daemon_factory = engine_conftest.daemon_factory
daemon = engine_conftest.daemon
execution_metadata = engine_conftest.execution_metadata


def serialize(task, project="flytesnacks", domain="development", version="v1"):
    """The TaskTemplate (flyteidl protobuf) flytekit registers for `task`."""
    from flytekit.configuration import ImageConfig, SerializationSettings
    from flytekit.tools.translator import get_serializable

    settings = SerializationSettings(image_config=ImageConfig.auto_default_image(),
                                     project=project, domain=domain, version=version)
    return get_serializable(OrderedDict(), settings, task).template.to_flyte_idl()


def served_types(daemon) -> dict:
    """{task type: [versions]} from ListAgents, as propeller reads it."""
    stub = agent_pb2_grpc.AgentMetadataServiceStub(daemon.channel)
    types = {}
    for a in stub.ListAgents(agent_pb2.ListAgentsRequest(), timeout=10).agents:
        for c in a.supported_task_categories:
            types.setdefault(c.name, []).append(c.version)
    return types


def create_request(template, namespace, execution, node="n0"):
    return agent_pb2.CreateTaskRequest(
        template=template, output_prefix=f"s3://bucket/meta/{execution}/{node}/data/0",
        task_execution_metadata=execution_metadata(namespace, execution, node,
                                                   task_name=template.id.name))
