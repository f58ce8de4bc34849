"""The Pod Security check reaches into operator objects: a pod template asking for the host
(privileged, hostNetwork, hostPID) in a PyTorchJob's replicas, a SparkApplication's driver, a
RayJob's head group or a DaskJob's pods fails the task permanently under the default level
(baseline), the check and the place named, and nothing is created in the real API server. Under
a `privileged` override the same task is created."""
from __future__ import annotations

import re

import pytest
from flytekit import PodTemplate, task
from flytekitplugins.dask import Dask
from flytekitplugins.kfpytorch import PyTorch
from flytekitplugins.ray import HeadNodeConfig, RayJobConfig, WorkerNodeConfig
from flytekitplugins.spark import Spark
from kubernetes.client import V1Container, V1PodSpec, V1SecurityContext

from flytekit_tasks import serialize
from operator_helpers import PHASE, CrdTask, create

HOST = V1PodSpec(host_network=True, host_pid=True,
                 containers=[V1Container(name="primary",
                                         security_context=V1SecurityContext(privileged=True))])


def host_pod():
    return PodTemplate(primary_container_name="primary", pod_spec=HOST)


@task(task_config=PyTorch(num_workers=2), pod_template=host_pod())
def torch_host() -> None:
    ...


@task(pod_template=PodTemplate(primary_container_name="primary"),
      task_config=Spark(spark_conf={"spark.executor.instances": "1"}, driver_pod=host_pod()))
def spark_host(x: int) -> int:
    return x


@task(task_config=RayJobConfig(head_node_config=HeadNodeConfig(pod_template=host_pod()),
                               worker_node_config=[WorkerNodeConfig(group_name="wg", replicas=1)]))
def ray_host(x: int) -> int:
    return x


@task(task_config=Dask(), pod_template=host_pod())
def dask_host(x: int) -> int:
    return x


# operator (tests/cluster/crds/<operator>.sh), its resource, the task, where the message says the
# first refused pod is
CASES = {
    "pytorch": ("kubeflow", CrdTask("kubeflow.org", "v1", "pytorchjobs", "pytorch"), torch_host,
                r"spec\.pytorchReplicaSpecs\.(Master|Worker)\.template\.spec"),
    "spark": ("spark", CrdTask("sparkoperator.k8s.io", "v1beta2", "sparkapplications", "spark"),
              spark_host, r"spark:spec\.driver|spec\.driver\.template\.spec"),
    "ray": ("ray", CrdTask("ray.io", "v1", "rayjobs", "ray"), ray_host,
            r"spec\.rayClusterSpec\.headGroupSpec\.template\.spec"),
    "dask": ("dask", CrdTask("kubernetes.dask.org", "v1", "daskjobs", "dask"), dask_host,
             r"spec\.job\.spec|spec\.cluster\.spec\.(scheduler|worker)\.spec"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_host_access_in_operator_pods_is_refused(cluster, crds, daemon_factory, case):
    operator, kind, fn, where = CASES[case]
    if not isinstance(crds.get(operator), list):
        pytest.fail(crds.get(operator) or f"no tests/cluster/crds/{operator}.sh")
    template = serialize(fn)
    ns = cluster.new_namespace("pss")
    d = daemon_factory()
    meta = create(d, ns, "host1", template)
    r = kind.get(d, meta)
    assert r.phase == PHASE.FAILED, (r.message, d.tail())
    assert re.fullmatch(r'PodSecurityViolation: refused by policy\.pod_security, nothing was created: '
                        rf'pod security "baseline": ({where}): .*\(check: (hostNamespaces|privileged)\)',
                        r.message), r.message
    assert kind.names(cluster, ns) == []
    # The namespace admitted at `privileged`: the same task is created.
    priv = cluster.new_namespace("pssok")
    d2 = daemon_factory(extra_yaml="policy:\n  pod_security:\n    overrides:\n"
                                   f"      - namespaces: \"{priv}\"\n        level: privileged\n")
    create(d2, priv, "host2", template)
    assert kind.names(cluster, priv) == ["host2-n0-0"], d2.tail()
