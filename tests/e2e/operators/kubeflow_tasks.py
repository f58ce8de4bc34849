"""Kubeflow training tasks as users write them, serialized at test time by the real
flytekitplugins-kfpytorch / -kftensorflow / -kfmpi (flytekit's own translator)."""
from __future__ import annotations

import sys
import types
from contextlib import contextmanager

from flytekit import PodTemplate, Resources, task
from flytekitplugins.kfmpi import Launcher, MPIJob
from flytekitplugins.kfmpi import Worker as MPIWorker
from flytekitplugins.kfpytorch import (CleanPodPolicy, Elastic, Master, PyTorch, RestartPolicy,
                                       RunPolicy, Worker)
from flytekitplugins.kftensorflow import PS, Chief, Evaluator, TfJob
from flytekitplugins.kftensorflow import Worker as TFWorker

from kubernetes.client import V1Container, V1EmptyDirVolumeSource, V1PodSpec, V1Toleration, V1Volume, V1VolumeMount

from flytekit_tasks import serialize


@contextmanager
def _torch_run_stub():
    """flytekit's Elastic task imports torch.distributed.run only to parse `nnodes`; the tests do
    not install PyTorch (hundreds of MB) just for that, so that one function stands in while an
    Elastic task is made and serialized. It is removed afterwards: left in sys.modules, the
    stand-in (no torch.nn) breaks flytekit's type lookups in every later test of the session."""
    if "torch" in sys.modules:
        yield
        return
    torch, dist, run = (types.ModuleType(n) for n in ("torch", "torch.distributed", "torch.distributed.run"))

    def parse_min_max_nnodes(nnodes: str):
        parts = nnodes.split(":")
        return int(parts[0]), int(parts[-1])

    run.parse_min_max_nnodes = parse_min_max_nnodes
    dist.run, torch.distributed = run, dist
    names = ("torch", "torch.distributed", "torch.distributed.run")
    sys.modules.update(dict(zip(names, (torch, dist, run))))
    try:
        yield
    finally:
        for n in names:
            sys.modules.pop(n, None)


@task(task_config=PyTorch(num_workers=2))
def torch_defaults() -> None:
    ...


@task(task_config=PyTorch(
    master=Master(image="ghcr.io/me/master:1", requests=Resources(cpu="2"), restart_policy=RestartPolicy.FAILURE),
    worker=Worker(replicas=3, image="ghcr.io/me/worker:1", limits=Resources(mem="1Gi"),
                  restart_policy=RestartPolicy.ALWAYS),
    run_policy=RunPolicy(clean_pod_policy=CleanPodPolicy.ALL, ttl_seconds_after_finished=60,
                         active_deadline_seconds=600, backoff_limit=3)),
      pod_template=PodTemplate(primary_container_name="primary", labels={"team": "ml"},
                               annotations={"owner": "alice"}))
def torch_every_option() -> None:
    ...


@task(task_config=TfJob(worker=TFWorker(replicas=2), chief=Chief(replicas=0), ps=PS(replicas=0)))
def tf_defaults() -> None:
    ...


@task(task_config=TfJob(worker=TFWorker(replicas=2, image="ghcr.io/me/tf:1", requests=Resources(cpu="1")),
                        ps=PS(replicas=1), chief=Chief(replicas=1, restart_policy=RestartPolicy.FAILURE),
                        evaluator=Evaluator(replicas=1),
                        run_policy=RunPolicy(clean_pod_policy=CleanPodPolicy.RUNNING, backoff_limit=2)))
def tf_every_option() -> None:
    ...


@task(task_config=MPIJob(launcher=Launcher(replicas=1), worker=MPIWorker(replicas=2), slots=2))
def mpi_defaults() -> None:
    ...


@task(task_config=MPIJob(launcher=Launcher(replicas=1, command=["mpirun", "-np", "4", "python", "train.py"]),
                         worker=MPIWorker(replicas=2, command=["/usr/sbin/sshd", "-De"], limits=Resources(mem="2Gi")),
                         run_policy=RunPolicy(backoff_limit=1)))
def mpi_commands() -> None:
    ...


def elastic_train() -> None:
    ...


def torch_elastic():
    global torch_elastic_task
    with _torch_run_stub():
        torch_elastic_task = task(task_config=Elastic(nnodes=2, nproc_per_node=4, max_restarts=2))(elastic_train)
        return serialize(torch_elastic_task)


def torch_v0():
    """The old form (flytekit < 1.6): task_type_version 0, custom {"workers": n}."""
    t = serialize(torch_defaults)
    t.task_type_version = 0
    t.custom.Clear()
    t.custom.update({"workers": 2})
    return t


def tf_v0():
    t = serialize(tf_defaults)
    t.task_type_version = 0
    t.custom.Clear()
    t.custom.update({"workers": 2, "psReplicas": 1, "chiefReplicas": 1})
    return t


def mpi_v0():
    t = serialize(mpi_defaults)
    t.task_type_version = 0
    t.custom.Clear()
    t.custom.update({"numWorkers": 2, "numLauncherReplicas": 1, "slots": 2})
    t.config["worker_spec_command"] = "/usr/sbin/sshd -De"
    return t


CASES = {
    "torch-defaults": lambda: serialize(torch_defaults),
    "torch-every-option": lambda: serialize(torch_every_option),
    "torch-elastic": torch_elastic,
    "torch-v0": torch_v0,
    "tf-defaults": lambda: serialize(tf_defaults),
    "tf-every-option": lambda: serialize(tf_every_option),
    "tf-v0": tf_v0,
    "mpi-defaults": lambda: serialize(mpi_defaults),
    "mpi-commands": lambda: serialize(mpi_commands),
    "mpi-v0": mpi_v0,
}



def torch_elastic_single():
    """Elastic(nnodes=1): flytekit writes task type python-task, version 1, for one pod."""
    global torch_elastic_single_task
    with _torch_run_stub():
        torch_elastic_single_task = task(task_config=Elastic(nnodes=1, nproc_per_node=2))(elastic_train)
        return serialize(torch_elastic_single_task)


# For the Trainer v2 (TrainJob) plugin: what maps (a pod template, a fixed elastic node count)
# and what it refuses (a node range).
@task(task_config=PyTorch(worker=Worker(replicas=1, image="ghcr.io/me/train:1", requests=Resources(cpu="1", mem="1Gi")),
                          run_policy=RunPolicy(active_deadline_seconds=600)),
      pod_template=PodTemplate(primary_container_name="primary", labels={"team": "ml"}, annotations={"owner": "alice"},
                               pod_spec=V1PodSpec(
                                   containers=[V1Container(name="primary",
                                                           volume_mounts=[V1VolumeMount(name="data", mount_path="/data")])],
                                   volumes=[V1Volume(name="data", empty_dir=V1EmptyDirVolumeSource())],
                                   node_selector={"pool": "gpu"},
                                   tolerations=[V1Toleration(key="gpu", operator="Exists", effect="NoSchedule")])))
def torch_trainjob_pod_template() -> None:
    ...


def torch_elastic_fixed():
    global torch_elastic_fixed_task
    with _torch_run_stub():
        torch_elastic_fixed_task = task(task_config=Elastic(nnodes=2, nproc_per_node=4))(elastic_train)
        return serialize(torch_elastic_fixed_task)


def torch_elastic_range():
    global torch_elastic_range_task
    with _torch_run_stub():
        torch_elastic_range_task = task(task_config=Elastic(nnodes="1:3"))(elastic_train)
        return serialize(torch_elastic_range_task)


TRAINJOB_CASES = {
    "torch-defaults": lambda: serialize(torch_defaults),
    "torch-pod-template": lambda: serialize(torch_trainjob_pod_template),
    "torch-elastic-fixed": torch_elastic_fixed,
    "torch-elastic-range": torch_elastic_range,
    "torch-every-option": lambda: serialize(torch_every_option),
    "torch-v0": torch_v0,
}
