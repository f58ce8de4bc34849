"""Ray and Dask tasks as users write them, serialized by the real flytekitplugins-ray and
flytekitplugins-dask (1.16.31) at test time."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))

from flytekit import PodTemplate, Resources, task  # noqa: E402
from flytekitplugins.dask import Dask, Scheduler, WorkerGroup  # noqa: E402
from flytekitplugins.ray import HeadNodeConfig, RayJobConfig, WorkerNodeConfig  # noqa: E402
from kubernetes.client import (V1Container, V1EmptyDirVolumeSource, V1HTTPGetAction, V1PodSpec,  # noqa: E402
                               V1Probe, V1Toleration, V1Volume, V1VolumeMount)

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


# Flyte sets the RayJob's own metadata from the pod template's labels and annotations.
@task(task_config=RayJobConfig(worker_node_config=[WorkerNodeConfig(group_name="wg", replicas=1)]),
      pod_template=PodTemplate(primary_container_name="primary", labels={"team": "ml"},
                               annotations={"owner": "alice"},
                               pod_spec=V1PodSpec(containers=[V1Container(name="primary")])))
def ray_pod_template(x: int) -> int:
    return x


@task(task_config=Dask(scheduler=Scheduler(limits=Resources(cpu="1", mem="1Gi")),
                       workers=WorkerGroup(number_of_workers=3, limits=Resources(cpu="2", mem="2Gi"))))
def dask_basic(x: int) -> int:
    return x


@task(task_config=Dask(workers=WorkerGroup(number_of_workers=1, image="daskdev/dask:latest")),
      requests=Resources(cpu="250m", mem="128Mi"))
def dask_image(x: int) -> int:
    return x


@task(task_config=Dask())
def dask_defaults(x: int) -> int:
    return x


@task(task_config=Dask(
    scheduler=Scheduler(image="ghcr.io/dask/dask:2026.3.0", requests=Resources(cpu="500m", mem="512Mi"),
                        limits=Resources(cpu="1", mem="1Gi")),
    workers=WorkerGroup(number_of_workers=4, image="ghcr.io/dask/dask:2026.3.0-py3.12",
                        requests=Resources(cpu="1", mem="1Gi"), limits=Resources(cpu="1500m", mem="1.5Gi"))),
    requests=Resources(cpu="250m", mem="256Mi"), limits=Resources(cpu="500m", mem="512Mi"),
    pod_template=PodTemplate(
        primary_container_name="primary", labels={"team": "ml"}, annotations={"owner": "alice"},
        pod_spec=V1PodSpec(
            containers=[V1Container(name="primary",
                                    readiness_probe=V1Probe(http_get=V1HTTPGetAction(path="/health",
                                                                                     port="dashboard"),
                                                            period_seconds=10),
                                    volume_mounts=[V1VolumeMount(name="scratch", mount_path="/scratch")]),
                        V1Container(name="sidecar", image="busybox:1.36", args=["sleep", "infinity"])],
            volumes=[V1Volume(name="scratch", empty_dir=V1EmptyDirVolumeSource())],
            tolerations=[V1Toleration(key="dask", operator="Exists", effect="NoSchedule")])))
def dask_every_option(x: int) -> int:
    return x


# The operator's CRDs type every int-or-string field (probe ports, service target ports) as a
# string: an integer port, which Kubernetes itself accepts, is refused there.
@task(task_config=Dask(), pod_template=PodTemplate(primary_container_name="primary", pod_spec=V1PodSpec(
    containers=[V1Container(name="primary", liveness_probe=V1Probe(http_get=V1HTTPGetAction(path="/", port=8787)))])))
def dask_int_probe_port(x: int) -> int:
    return x


TASKS = {"ray_basic": ray_basic, "ray_full": ray_full, "ray_pod_template": ray_pod_template, "dask_basic": dask_basic, "dask_image": dask_image,
         "dask_defaults": dask_defaults, "dask_every_option": dask_every_option,
         "dask_int_probe_port": dask_int_probe_port}


def template(name: str):
    return serialize(TASKS[name])


if __name__ == "__main__":
    from google.protobuf.json_format import MessageToJson
    print(MessageToJson(template(sys.argv[1])))
