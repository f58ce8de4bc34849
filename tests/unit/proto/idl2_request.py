"""A flyteidl2.connector.CreateTaskRequest made with the pinned flyteidl2 Python package, for the
C library to read, and the check of the one the C library writes.

    idl2_request.py OUT         writes the request's bytes to OUT
    idl2_request.py --check IN  parses IN (written by test_idl2.c) and compares it with the same
                                request less the fields only Python sets

test_idl2.c (python_written_request) unpacks OUT with the compiled C library and checks every
value set here, so the two files change together. The request uses the fields flyteplugd will
read and the two that fetch-idl2.sh edits for protoc-c: Backoff.base (renamed base_ in C) and
Backoff.factor (proto3 optional, a one-field oneof in C).
"""
import sys

from flyteidl2.connector import connector_pb2
from flyteidl2.core import identifier_pb2, literals_pb2, security_pb2, tasks_pb2
from flyteidl2.task import common_pb2


def request():
    task_id = identifier_pb2.Identifier(
        resource_type=identifier_pb2.TASK, project="flytesnacks", domain="development",
        name="workflows.example.say_hello", version="v1", org="acme")
    template = tasks_pb2.TaskTemplate(
        id=task_id, type="python-task", task_type_version=2,
        container=tasks_pb2.Container(
            image="ghcr.io/flyteorg/flyte:py3.12",
            args=["a0", "--inputs", "{{.input}}", "a3"],
            env=[literals_pb2.KeyValuePair(key="FLYTE_SDK_LOGGING_LEVEL", value="20")]),
        config={"primary_container_name": "main"},
        metadata=tasks_pb2.TaskMetadata(
            retries=literals_pb2.RetryStrategy(
                retries=3,
                backoff=literals_pb2.Backoff(factor=2.0)),
            interruptible=True))
    template.custom.update({"a": "b", "n": 3.5})
    template.metadata.retries.backoff.base.seconds = 5
    template.metadata.retries.backoff.cap.seconds = 60

    literal = literals_pb2.Literal(
        scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(integer=-42)))
    meta = connector_pb2.TaskExecutionMetadata(
        namespace="flytesnacks-development", k8s_service_account="default",
        labels={"team": "ml"}, max_attempts=4, interruptible=True,
        identity=security_pb2.Identity(k8s_service_account="runner"))
    meta.task_execution_id.task_id.CopyFrom(task_id)
    meta.task_execution_id.retry_attempt = 2
    return connector_pb2.CreateTaskRequest(
        inputs=common_pb2.Inputs(literals=[common_pb2.NamedLiteral(name="x", value=literal)]),
        template=template,
        output_prefix="s3://bucket/metadata/a/n0/data/0",
        task_execution_metadata=meta)


def check(path):
    """The C test builds request() without TaskTemplate.metadata and the executor's identity."""
    want = request()
    want.template.ClearField("metadata")
    want.task_execution_metadata.ClearField("identity")
    with open(path, "rb") as f:
        got = connector_pb2.CreateTaskRequest.FromString(f.read())
    if got != want:
        sys.exit(f"{path}: the C library wrote\n{got}\nexpected\n{want}")
    print(f"{path}: the Python package reads what the C library wrote")


if __name__ == "__main__":
    if sys.argv[1] == "--check":
        check(sys.argv[2])
    else:
        with open(sys.argv[1], "wb") as f:
            f.write(request().SerializeToString())
