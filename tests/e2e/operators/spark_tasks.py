"""Spark tasks written the way Flyte users write them (flytekitplugins-spark), serialized by the
real flytekit at test time into the TaskTemplates `pyflyte register` would send."""
from __future__ import annotations

import sys
from pathlib import Path

from flytekit import PodTemplate, Resources, task
from flytekitplugins.spark import Spark
from flytekitplugins.spark.generic_task import GenericSparkConf
from kubernetes.client import V1Container, V1PodSpec, V1Toleration

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
from flytekit_tasks import serialize  # noqa: E402


@task(task_config=Spark(spark_conf={"spark.driver.memory": "1000M", "spark.driver.cores": "1",
                                    "spark.executor.memory": "1000M", "spark.executor.cores": "2",
                                    "spark.executor.instances": "3"},
                        hadoop_conf={"fs.s3a.aws.credentials.provider": "x.Provider"}),
      requests=Resources(cpu="1", mem="1Gi"))
def hello_spark(partitions: int) -> float:
    return 1.0


def _pod(labels, node_selector, toleration_key):
    return PodTemplate(
        primary_container_name="primary",
        labels=labels, annotations={"owner": "alice"},
        pod_spec=V1PodSpec(containers=[V1Container(name="primary")], node_selector=node_selector,
                           tolerations=[V1Toleration(key=toleration_key, operator="Exists",
                                                     effect="NoSchedule")]))


# The task's own pod names its container "primary" too: Flyte merges the driver/executor pod
# specs into the task's pod by container name, and refuses a primary container it lacks.
@task(pod_template=PodTemplate(primary_container_name="primary", labels={"team": "ml"}),
      task_config=Spark(spark_conf={"spark.executor.instances": "2",
                                    "spark.kubernetes.executor.request.cores": "500m"},
                        executor_path="/opt/venv/bin/python3",
                        applications_path="local:///opt/app/entry.py",
                        driver_pod=_pod({"role": "driver"}, {"pool": "stable"}, "driver-only"),
                        executor_pod=_pod({"role": "executor"}, {"pool": "spot"}, "spot")))
def with_pod_templates(x: int) -> int:
    return x


@task(task_config=GenericSparkConf(main_class="org.example.Main",
                                   applications_path="/opt/app/main.jar",
                                   spark_conf={"spark.driver.cores": "2"}))
def generic_spark(x: int) -> int:
    return x


@task(task_config=Spark(driver_pod=_pod({"role": "driver"}, {"pool": "stable"}, "x")))
def driver_pod_without_task_pod(x: int) -> int:
    return x


def basic():
    return serialize(hello_spark)


def pod_templates():
    return serialize(with_pod_templates)


def generic():
    return serialize(generic_spark)


def unmatched_primary():
    return serialize(driver_pod_without_task_pod)
