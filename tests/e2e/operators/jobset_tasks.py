"""clustered-task tasks as a Flyte 1 user writes them with the real flytekit (1.16.31): a
PythonFunctionTask subclass whose get_custom returns the ClusteredTaskSpec fields in proto3 JSON
(docs/parity/jobset.md shows the same class), serialized at test time."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))

from flytekit import Resources, task  # noqa: E402
from flytekit.configuration import SerializationSettings  # noqa: E402
from flytekit.core.python_function_task import PythonFunctionTask  # noqa: E402
from flytekit.extend import TaskPlugins  # noqa: E402

from flytekit_tasks import serialize  # noqa: E402


@dataclass
class Clustered:
    replicas: int
    nproc_per_node: int
    rdzv_backend: str = "STATIC"
    interconnect: str = "TCP"
    max_restarts: int = 0
    restart_on_host_maintenance: bool = False
    ttl_seconds_after_finished: Optional[int] = None


class ClusteredTask(PythonFunctionTask[Clustered]):
    def __init__(self, task_config: Clustered, task_function, **kwargs):
        super().__init__(task_config=task_config, task_function=task_function,
                         task_type="clustered-task", **kwargs)

    def get_custom(self, settings: SerializationSettings) -> Dict[str, Any]:
        c = self.task_config
        custom = {"replicas": c.replicas, "nprocPerNode": c.nproc_per_node,
                  "runtime": {"torchrun": {"rdzvBackend": c.rdzv_backend}},
                  "interconnect": c.interconnect,
                  "failurePolicy": {"maxRestarts": c.max_restarts,
                                    "restartOnHostMaintenance": c.restart_on_host_maintenance}}
        if c.ttl_seconds_after_finished is not None:
            custom["ttlSecondsAfterFinished"] = c.ttl_seconds_after_finished
        return custom


TaskPlugins.register_pythontask_plugin(Clustered, ClusteredTask)


@task(task_config=Clustered(replicas=2, nproc_per_node=4),
      requests=Resources(cpu="500m", mem="256Mi"), limits=Resources(cpu="1", mem="512Mi"))
def train(x: int) -> int:
    return x


@task(task_config=Clustered(replicas=3, nproc_per_node=1, rdzv_backend="C10D", max_restarts=2,
                            restart_on_host_maintenance=True, ttl_seconds_after_finished=600))
def train_restarts(x: int) -> int:
    return x


def template(name):
    return serialize(globals()[name])
