"""The translation flyteplugd makes of a Flyte 2 CreateTaskRequest (daemon/agent/flyte2.h): the
bytes are decoded with Flyte 1's CreateTaskRequest, which is exact only if every field number
both IDLs declare, at every depth the request reaches, has the same type and label on both
sides. Checked here on the descriptors of the published flyteidl and flyteidl2 packages, and
what only Flyte 2 declares (which plugins therefore never see) is pinned: a new flyteidl2 field
fails this test until it is looked at."""
from __future__ import annotations

from flyteidl.admin import agent_pb2
from flyteidl.core import literals_pb2
from flyteidl2.connector import connector_pb2
from flyteidl2.task import common_pb2
from google.protobuf.descriptor import FieldDescriptor

# Flyte 2 fields absent from Flyte 1, by message: kept by protobuf-c as unknown fields.
FLYTE2_ONLY = {
    "flyteidl2.connector.CreateTaskRequest": {"connection"},
    "flyteidl2.core.TaskTemplate": {"reuse_policy", "worker_kind"},
    "flyteidl2.core.TaskMetadata": {"debuggable", "log_links", "image_build_run", "is_entrypoint",
                                    "code_bundle_uri", "timeouts", "produces_artifacts",
                                    "cache_max_age"},
    "flyteidl2.core.RetryStrategy": {"backoff"},
    "flyteidl2.core.Literal": {"artifact_id"},
    "flyteidl2.task.Inputs": {"context"},
    "flyteidl2.core.GPUAccelerator": {"device_class", "accelerator_model"},
    "flyteidl2.core.DataLoadingConfig": {"file_input_layout"},
    "flyteidl2.core.TimePartition": {"key"},
}


def is_repeated(f):
    return f.is_repeated


def compare(d2, d1, seen, only, problems):
    """Walks Flyte 2's message d2 against Flyte 1's d1."""
    if (d2.full_name, d1.full_name) in seen:
        return
    seen.add((d2.full_name, d1.full_name))
    by_number = {f.number: f for f in d1.fields}
    for f2 in d2.fields:
        f1 = by_number.get(f2.number)
        if f1 is None:
            only.setdefault(d2.full_name, set()).add(f2.name)
            continue
        where = f"{d2.full_name}.{f2.name} ({f2.number}) vs {d1.full_name}.{f1.name}"
        if f2.type != f1.type or is_repeated(f2) != is_repeated(f1):
            problems.append(f"{where}: type {f2.type}/{f1.type}, repeated {is_repeated(f2)}/{is_repeated(f1)}")
        elif f2.type == FieldDescriptor.TYPE_MESSAGE:
            compare(f2.message_type, f1.message_type, seen, only, problems)


def test_create_task_request_reads_as_flyte1():
    only, problems = {}, []
    compare(connector_pb2.CreateTaskRequest.DESCRIPTOR, agent_pb2.CreateTaskRequest.DESCRIPTOR,
            set(), only, problems)
    assert not problems, "\n".join(problems)
    assert only == FLYTE2_ONLY


def test_outputs_are_a_literal_map():
    """GetTask's outputs: Flyte 1's LiteralMap bytes are Flyte 2's Outputs (the reverse walk)."""
    only, problems = {}, []
    compare(literals_pb2.LiteralMap.DESCRIPTOR, common_pb2.Outputs.DESCRIPTOR, set(), only, problems)
    assert not problems, "\n".join(problems)
    lm = literals_pb2.LiteralMap(literals={"o0": literals_pb2.Literal(
        scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(integer=7)))})
    out = common_pb2.Outputs.FromString(lm.SerializeToString())
    assert [(n.name, n.value.scalar.primitive.integer) for n in out.literals] == [("o0", 7)]
