"""The Flyte 2 IDL compiled into fpd_proto2 (from the pinned flyteidl2 wheel) describes the same
messages, field for field, as the flyteidl2 Python package the tests install.

The C side is what protobuf-c's own descriptors say (build/tests/unit/proto/idl2_dump); the
Python side is the package's runtime descriptors. Every message and enum of every compiled file
is compared: names, numbers, labels, types, type names, presence, packing and oneof membership.
The file list in proto/CMakeLists.txt must be closed under imports, and connector/service.proto
(not compiled) must still declare the RPCs docs/protocols.md lists.
"""
import importlib
import importlib.metadata
import json
import os
import re
import subprocess

import pytest
from google.protobuf.descriptor import FieldDescriptor

ROOT = os.environ.get("FPD_ROOT", os.path.abspath(os.path.join(os.path.dirname(__file__), "../../..")))
BUILD = os.environ.get("FPD_BUILD", os.path.join(ROOT, "build"))
CMAKE = os.path.join(ROOT, "proto", "CMakeLists.txt")

# Known differences, each with its reason. Anything not listed fails the test.
# protoc-c declares a field `base` next to every message's own `ProtobufCMessage base`, so
# fetch-idl2.sh renames it (the number, and so the wire format, is unchanged).
KNOWN_RENAMES = {("flyteidl2.core.Backoff", "base"): "base_"}

TYPES = {getattr(FieldDescriptor, n): n[len("TYPE_"):].lower()
         for n in dir(FieldDescriptor) if n.startswith("TYPE_")}

# The two services of flyteidl2/connector/service.proto: method -> (input, output, server streaming).
SERVICES = {
    "flyteidl2.connector.AsyncConnectorService": {
        "CreateTask": ("CreateTaskRequest", "CreateTaskResponse", False),
        "GetTask": ("GetTaskRequest", "GetTaskResponse", False),
        "DeleteTask": ("DeleteTaskRequest", "DeleteTaskResponse", False),
        "GetTaskMetrics": ("GetTaskMetricsRequest", "GetTaskMetricsResponse", False),
        "GetTaskLogs": ("GetTaskLogsRequest", "GetTaskLogsResponse", True),
    },
    "flyteidl2.connector.ConnectorMetadataService": {
        "GetConnector": ("GetConnectorRequest", "GetConnectorResponse", False),
        "ListConnectors": ("ListConnectorsRequest", "ListConnectorsResponse", False),
    },
}


def _cmake_list(name):
    text = open(CMAKE).read()
    m = re.search(r"set\(" + name + r"\s+([^)]*)\)", text)
    assert m, f"no set({name} ...) in {CMAKE}"
    return m.group(1).split()


def _module(proto):
    return importlib.import_module(proto[: -len(".proto")].replace("/", ".") + "_pb2")


def _label(f):
    if f.is_repeated:
        return "repeated"
    return "required" if f.is_required else "optional"


def _python_side(files):
    messages, enums = {}, {}

    def walk(d):
        fields = {}
        for f in d.fields:
            type_name = None
            if f.message_type is not None:
                type_name = f.message_type.full_name
            elif f.enum_type is not None:
                type_name = f.enum_type.full_name
            oneof = sorted(g.name for g in f.containing_oneof.fields) if f.containing_oneof else None
            fields[f.name] = {"number": f.number, "label": _label(f), "type": TYPES[f.type],
                              "type_name": type_name, "presence": f.has_presence,
                              "packed": f.is_packed, "oneof": oneof}
        messages[d.full_name] = fields
        for n in d.nested_types:
            walk(n)
        for e in d.enum_types:
            enums[e.full_name] = {v.name: v.number for v in e.values}

    for name in files:
        fd = _module(name).DESCRIPTOR
        for d in fd.message_types_by_name.values():
            walk(d)
        for e in fd.enum_types_by_name.values():
            enums[e.full_name] = {v.name: v.number for v in e.values}
    return messages, enums


def _c_side():
    exe = os.path.join(BUILD, "tests", "unit", "proto", "idl2_dump")
    if not os.access(exe, os.X_OK):
        pytest.fail(f"{exe} missing: build flyteplugd with -DFPD_TESTS=ON first")
    out = json.loads(subprocess.run([exe], check=True, capture_output=True).stdout)
    messages = {}
    for m in out["messages"]:
        fields = {}
        for f in m["fields"]:
            label = "optional" if f["label"] == "none" else f["label"]
            fields[f["name"]] = {"number": f["number"], "label": label, "type": f["type"],
                                 "type_name": f.get("type_name"), "presence": f["presence"],
                                 "packed": f["packed"],
                                 "oneof": sorted(f["oneof"]) if f["oneof"] is not None else None}
        messages[m["name"]] = fields
    return messages, {e["name"]: e["values"] for e in out["enums"]}


def test_pinned_versions_agree():
    pin = _cmake_list("FPD_FLYTEIDL2_VERSION")[0]
    assert importlib.metadata.version("flyteidl2") == pin, \
        "tests/requirements.txt and proto/CMakeLists.txt pin different flyteidl2 versions"


def test_compiled_files_are_closed_under_imports():
    compiled = set(_cmake_list("flyte2_protos"))
    wkt = set(_cmake_list("wkt_protos"))
    assert {"flyteidl2/connector/connector.proto", "flyteidl2/plugins/clustered.proto",
            "flyteidl2/core/tasks.proto", "flyteidl2/task/common.proto"} <= compiled
    missing = sorted(f"{name} imports {dep.name}" for name in compiled
                     for dep in _module(name).DESCRIPTOR.dependencies
                     if dep.name not in compiled and dep.name not in wkt)
    assert not missing, "imports missing from flyte2_protos/wkt_protos:\n" + "\n".join(missing)


def test_c_library_matches_pypi_flyteidl2():
    files = _cmake_list("flyte2_protos")
    theirs_m, theirs_e = _python_side(files)
    ours_m, ours_e = _c_side()
    problems = []
    for name in sorted(set(ours_m) ^ set(theirs_m)):
        problems.append(f"message {name}: {'only in C' if name in ours_m else 'missing from C'}")
    for name in sorted(set(ours_e) ^ set(theirs_e)):
        problems.append(f"enum {name}: {'only in C' if name in ours_e else 'missing from C'}")
    renames_seen = set()
    checked = 0
    for name in sorted(set(ours_m) & set(theirs_m)):
        ours = dict(ours_m[name])
        for (msg, py_name), c_name in KNOWN_RENAMES.items():
            if msg == name and c_name in ours:
                ours[py_name] = ours.pop(c_name)
                renames_seen.add((msg, py_name))
        for field in sorted(set(ours) | set(theirs_m[name])):
            a, b = ours.get(field), theirs_m[name].get(field)
            if a != b:
                problems.append(f"{name}.{field}: C {a} vs PyPI {b}")
            checked += 1
    for name in sorted(set(ours_e) & set(theirs_e)):
        if ours_e[name] != theirs_e[name]:
            problems.append(f"enum {name}: C {ours_e[name]} vs PyPI {theirs_e[name]}")
        checked += len(theirs_e[name])
    assert checked > 1000, f"only {checked} fields and enum values compared"
    stale = set(KNOWN_RENAMES) - renames_seen
    assert not stale, f"KNOWN_RENAMES lists renames that are gone; remove them: {sorted(stale)}"
    assert not problems, "Flyte 2 IDL drift between fpd_proto2 and PyPI flyteidl2:\n" + "\n".join(problems)


def test_connector_services():
    from flyteidl2.connector import service_pb2
    found = {}
    for svc in service_pb2.DESCRIPTOR.services_by_name.values():
        found[svc.full_name] = {
            m.name: (m.input_type.name, m.output_type.name, m.server_streaming)
            for m in svc.methods}
        assert all(m.input_type.file.name == "flyteidl2/connector/connector.proto"
                   for m in svc.methods), f"{svc.full_name}: messages outside connector.proto"
        assert not any(m.client_streaming for m in svc.methods)
    assert found == SERVICES
    # The grpcio client and server classes later tests will use are in the package.
    from flyteidl2.connector import service_pb2_grpc
    for full_name in SERVICES:
        short = full_name.rsplit(".", 1)[1]
        assert hasattr(service_pb2_grpc, short + "Stub") and hasattr(service_pb2_grpc, short + "Servicer")


def _fields(message):
    return {f.name: (f.number, f.message_type.full_name if f.message_type else None)
            for f in message.DESCRIPTOR.fields}


def test_documented_differences():
    """The Flyte 1 / Flyte 2 differences docs/protocols.md states, from both Python packages."""
    from flyteidl.admin import agent_pb2 as v1
    from flyteidl2.connector import connector_pb2 as v2

    assert _fields(v2.CreateTaskRequest)["inputs"] == (1, "flyteidl2.task.Inputs")
    assert _fields(v1.CreateTaskRequest)["inputs"] == (1, "flyteidl.core.LiteralMap")
    assert _fields(v2.CreateTaskRequest)["connection"] == (5, "flyteidl2.core.Connection")
    assert _fields(v2.Resource)["outputs"] == (2, "flyteidl2.task.Outputs")
    assert set(_fields(v1.Resource)) - set(_fields(v2.Resource)) == {"state", "agent_error"}
    assert not hasattr(v2, "AgentError")
    assert set(_fields(v2.Connector)) == {"name", "supported_task_categories"}
    assert set(_fields(v1.TaskExecutionMetadata)) - set(_fields(v2.TaskExecutionMetadata)) == {"overrides"}
    assert set(_fields(v2.TaskExecutionMetadata)) <= set(_fields(v1.TaskExecutionMetadata))
    assert _fields(v2.GetTaskLogsResponseBody)["lines"] == (2, "flyteidl2.logs.dataplane.LogLine")
    assert _fields(v1.GetTaskLogsResponseBody)["structured_lines"] == (2, "flyteidl.admin.LogLine")
    for name in ("GetTaskRequest", "DeleteTaskRequest", "GetTaskMetricsRequest", "GetTaskLogsRequest"):
        assert "task_type" in _fields(getattr(v1, name)) and "task_type" not in _fields(getattr(v2, name))
        assert _fields(getattr(v2, name))["resource_meta"] == (2, None)
    assert _fields(v2.CreateTaskResponse) == {"resource_meta": (1, None)}
    from flyteidl.core import execution_pb2 as e1
    from flyteidl2.core import execution_pb2 as e2

    def phases(enum):
        return {v.name: v.number for v in enum.DESCRIPTOR.values}
    assert phases(e1.TaskExecution.Phase) == phases(e2.TaskExecution.Phase)
    assert set(_fields(e2.TaskLog)) - set(_fields(e1.TaskLog)) == {"link_type", "ready", "icon_uri"}


def test_literal_map_is_wire_compatible():
    """A Flyte 1 LiteralMap and Flyte 2 task.Inputs / task.Outputs share their bytes."""
    from flyteidl.core import literals_pb2 as l1
    from flyteidl2.task import common_pb2 as c2

    lm = l1.LiteralMap(literals={"x": l1.Literal(scalar=l1.Scalar(primitive=l1.Primitive(integer=7)))})
    for cls in (c2.Inputs, c2.Outputs):
        msg = cls.FromString(lm.SerializeToString())
        assert [(n.name, n.value.scalar.primitive.integer) for n in msg.literals] == [("x", 7)]
        assert l1.LiteralMap.FromString(msg.SerializeToString()) == lm
