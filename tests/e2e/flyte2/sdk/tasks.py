"""Tasks written with the Flyte 2 SDK (`flyte` on PyPI, pinned in requirements.txt) and
serialized offline, as `flyte deploy` does before it talks to a server: run by the SDK's own
venv (../conftest.py makes it), this writes each task's flyteidl2.core.TaskTemplate as
<out>/<name>.pb.

flyte._internal.runtime.task_serde.translate_task_to_wire is the SDK's serializer (TaskSpec
with the TaskTemplate inside); it needs no server, only a SerializationContext naming a root
directory, from which the task's module is resolved at run time."""
from __future__ import annotations

import pathlib
import sys

import flyte
from flyte._internal.runtime.task_serde import translate_task_to_wire
from flyte.clustered import ClusteredTaskEnvironment, ClusterFailurePolicy, TorchRun
from flyte.models import SerializationContext

IMAGE = "ghcr.io/flyteorg/flyte:py3.12-v2.12.1"

env = flyte.TaskEnvironment(name="f2pod", image=IMAGE,
                            resources=flyte.Resources(cpu="500m", memory="256Mi"),
                            env_vars={"SDK_ENV": "yes"})

train_env = ClusteredTaskEnvironment(
    name="f2train", image=IMAGE, resources=flyte.Resources(cpu="1", memory="512Mi"),
    replicas=3, nproc_per_node=1, runtime=TorchRun(rdzv_backend="c10d"),
    failure_policy=ClusterFailurePolicy(max_restarts=2, restart_on_host_maintenance=True),
    ttl_seconds_after_finished=600)


@env.task
def hello(name: str) -> str:
    return f"hello {name}"


@train_env.task
def train(epochs: int) -> int:
    return epochs


def main(out: pathlib.Path) -> None:
    ctx = SerializationContext(version="v1", project="flytesnacks", domain="development",
                               root_dir=pathlib.Path(__file__).parent)
    for name, task in (("hello", hello), ("train", train)):
        spec = translate_task_to_wire(task, ctx)
        (out / f"{name}.pb").write_bytes(spec.task_template.SerializeToString())


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1]))
