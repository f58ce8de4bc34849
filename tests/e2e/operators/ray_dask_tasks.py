"""Ray and Dask tasks as users write them, serialized by the real flytekitplugins-ray and
flytekitplugins-dask (1.16.31) at test time."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))

from flytekit import Resources, task  # noqa: E402
from flytekitplugins.dask import Dask, Scheduler, WorkerGroup  # noqa: E402
from flytekitplugins.ray import HeadNodeConfig, RayJobConfig, WorkerNodeConfig  # noqa: E402

from flytekit_tasks import serialize  # noqa: E402


@task(task_config=RayJobConfig(worker_node_config=[WorkerNodeConfig(group_name="wg", replicas=2)]),
      requests=Resources(cpu="500m", mem="256Mi"), limits=Resources(cpu="1", mem="512Mi"))
def ray_basic(x: int) -> int:
    return x


@task(task_config=RayJobConfig(
    head_node_config=HeadNodeConfig(ray_start_params={"num-cpus": "0"}),
    worker_node_config=[WorkerNodeConfig(group_name="a", replicas=1, min_replicas=0, max_replicas=4,
                                         ray_start_params={"num-gpus": "0"})],
    runtime_env={"pip": ["numpy"], "env_vars": {"A": "1"}},
    enable_autoscaling=True, shutdown_after_job_finishes=True, ttl_seconds_after_finished=120))
def ray_full(x: int) -> int:
    return x


@task(task_config=Dask(scheduler=Scheduler(limits=Resources(cpu="1", mem="1Gi")),
                       workers=WorkerGroup(number_of_workers=3, limits=Resources(cpu="2", mem="2Gi"))))
def dask_basic(x: int) -> int:
    return x


@task(task_config=Dask(workers=WorkerGroup(number_of_workers=1, image="daskdev/dask:latest")),
      requests=Resources(cpu="250m", mem="128Mi"))
def dask_image(x: int) -> int:
    return x


TASKS = {"ray_basic": ray_basic, "ray_full": ray_full, "dask_basic": dask_basic, "dask_image": dask_image}


def template(name: str):
    return serialize(TASKS[name])


if __name__ == "__main__":
    from google.protobuf.json_format import MessageToJson
    print(MessageToJson(template(sys.argv[1])))
