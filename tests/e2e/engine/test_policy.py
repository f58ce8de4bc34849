"""The caller policy end to end: whoever reaches the gRPC port gets flyteplugd's RBAC, so
CreateTask is checked (namespace, service account, task type) before anything is built, and
every pod the built object would run is checked against the namespace's Pod Security Standards
level before it is sent. Each refusal leaves nothing in the (real) API server."""
from __future__ import annotations

import re
import subprocess
import urllib.request

import grpc
import pytest
from flyteidl.admin import agent_pb2
from flyteidl.core import execution_pb2
from flytekit import PodTemplate, task
from kubernetes.client import (V1Capabilities, V1Container, V1HostPathVolumeSource, V1PodSpec,
                               V1PodSecurityContext, V1SeccompProfile, V1SecurityContext,
                               V1Volume, V1VolumeMount)

import flytekit_tasks
from conftest import BIN, execution_metadata

PHASE = execution_pb2.TaskExecution

# S1: a task asking for the node itself (privileged, the host's network and process namespaces,
# the host's root filesystem), as a Flyte user writes it: a flytekit pod template.
S1_POD = PodTemplate(
    primary_container_name="primary",
    pod_spec=V1PodSpec(
        host_network=True, host_pid=True,
        containers=[V1Container(name="primary",
                                security_context=V1SecurityContext(privileged=True),
                                volume_mounts=[V1VolumeMount(name="host", mount_path="/host")])],
        volumes=[V1Volume(name="host", host_path=V1HostPathVolumeSource(path="/"))]))

# What the restricted level asks of a pod.
HARDENED_POD = PodTemplate(
    primary_container_name="primary",
    pod_spec=V1PodSpec(
        security_context=V1PodSecurityContext(run_as_non_root=True, run_as_user=1000,
                                              seccomp_profile=V1SeccompProfile(type="RuntimeDefault")),
        containers=[V1Container(name="primary", security_context=V1SecurityContext(
            allow_privilege_escalation=False, capabilities=V1Capabilities(drop=["ALL"])))]))


@task(pod_template=S1_POD)
def s1(x: int) -> int:
    return x


@task(pod_template=HARDENED_POD)
def hardened(x: int) -> int:
    return x


def request(ns, execution, template, sa="default"):
    md = execution_metadata(ns, execution)
    md.k8s_service_account = sa
    return agent_pb2.CreateTaskRequest(template=template,
                                       output_prefix=f"s3://bucket/meta/{execution}/n0/data/0",
                                       task_execution_metadata=md)


def create(daemon, ns, execution, template=None, sa="default"):
    return daemon.stub.CreateTask(request(ns, execution, template or flytekit_tasks.python_task(),
                                          sa), timeout=30).resource_meta


def get(daemon, meta):
    return daemon.stub.GetTask(agent_pb2.GetTaskRequest(task_type="python-task", resource_meta=meta),
                               timeout=30).resource


def managed_pods(cluster, ns):
    status, obj = cluster.request(
        "GET", f"/api/v1/namespaces/{ns}/pods?labelSelector=app.kubernetes.io%2Fmanaged-by%3Dflyteplugd")
    assert status == 200, obj
    return [p["metadata"]["name"] for p in obj["items"]]


def refusals(daemon):
    with urllib.request.urlopen(f"http://127.0.0.1:{daemon.admin_port}/metrics", timeout=10) as r:
        text = r.read().decode()
    return {m.group(1): int(m.group(2)) for m in
            re.finditer(r'^flyteplugd_policy_refusals_total\{rule="([a-z_]+)"\} (\d+)$', text, re.M)}


def test_system_namespace_is_refused(cluster, daemon_factory):
    """S1: CreateTask for a pod in kube-system is PERMISSION_DENIED naming the rule; nothing is
    created there; the refusal is counted and logged; the daemon goes on serving."""
    d = daemon_factory(admin=True)
    before = managed_pods(cluster, "kube-system")
    with pytest.raises(grpc.RpcError) as e:
        create(d, "kube-system", "sys1")
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert e.value.details() == ('namespace "kube-system" is a system namespace: refused unless '
                                 'listed explicitly in policy.namespaces.allow')
    assert managed_pods(cluster, "kube-system") == before
    assert refusals(d)["system_namespace"] == 1
    assert re.search(r"WARN.*namespace kube-system, service account default, task type python-task",
                     d.tail(200)), d.tail()
    ns = cluster.new_namespace("ok")
    create(d, ns, "ok1")
    assert managed_pods(cluster, ns) == ["ok1-n0-0"]


def test_foreign_service_account_is_refused(cluster, daemon_factory):
    """A service account other than `default` needs a policy.service_accounts rule."""
    d = daemon_factory(admin=True)
    ns = cluster.new_namespace("sa")
    with pytest.raises(grpc.RpcError) as e:
        create(d, ns, "sa1", sa="cluster-admin-sa")
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert e.value.details().startswith(
        f'service account "cluster-admin-sa" in namespace "{ns}" is not allowed by '
        'policy.service_accounts'), e.value.details()
    assert managed_pods(cluster, ns) == []
    assert refusals(d)["service_account"] == 1
    # Admitted by a rule: created (the service account exists: the API server's admission
    # refuses a pod naming one that does not).
    cluster.must("POST", f"/api/v1/namespaces/{ns}/serviceaccounts",
                 {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "cluster-admin-sa"}})
    d2 = daemon_factory(extra_yaml="policy:\n  service_accounts:\n"
                                   f"    - namespaces: \"{ns}\"\n      allow: [\"cluster-admin-sa\"]\n")
    create(d2, ns, "sa2", sa="cluster-admin-sa")
    assert managed_pods(cluster, ns) == ["sa2-n0-0"]


def test_task_type_rule(cluster, daemon_factory):
    d = daemon_factory(extra_yaml="policy:\n  task_types:\n    - namespaces: \"*\"\n"
                                  "      allow: [container]\n")
    ns = cluster.new_namespace("tt")
    with pytest.raises(grpc.RpcError) as e:
        create(d, ns, "tt1")
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert 'task type "python-task"' in e.value.details() and "policy.task_types" in e.value.details()
    assert managed_pods(cluster, ns) == []


def test_privileged_host_pod_is_refused(cluster, daemon_factory):
    """S1: a privileged pod on the host's network and PID namespaces with the host's / mounted
    fails permanently under the default level (baseline), the first violated check named;
    nothing is created. The caller's GetTask sees the failure; propeller does not retry it."""
    d = daemon_factory(admin=True)
    ns = cluster.new_namespace("s1")
    meta = create(d, ns, "s1a", template=flytekit_tasks.serialize(s1))
    r = get(d, meta)
    assert r.phase == PHASE.FAILED, r
    assert r.message == ('PodSecurityViolation: refused by policy.pod_security, nothing was created: pod security '
                         '"baseline": spec: pod: hostNetwork=true is not allowed '
                         '(check: hostNamespaces)'), r.message
    assert managed_pods(cluster, ns) == []
    assert refusals(d)["pod_security"] == 1
    # A repeated CreateTask (at least once delivery) creates nothing either.
    assert create(d, ns, "s1a", template=flytekit_tasks.serialize(s1)) == meta
    assert managed_pods(cluster, ns) == []


def test_privileged_level_override_admits_s1(cluster, daemon_factory):
    ns = cluster.new_namespace("priv")
    d = daemon_factory(extra_yaml="policy:\n  pod_security:\n    overrides:\n"
                                  f"      - namespaces: \"{ns}\"\n        level: privileged\n")
    meta = create(d, ns, "s1b", template=flytekit_tasks.serialize(s1))
    assert managed_pods(cluster, ns) == ["s1b-n0-0"]
    assert get(d, meta).phase != PHASE.FAILED
    status, pod = cluster.request("GET", f"/api/v1/namespaces/{ns}/pods/s1b-n0-0")
    assert pod["spec"]["hostNetwork"] is True and pod["spec"]["hostPID"] is True
    # Other namespaces keep the default level.
    other = cluster.new_namespace("base")
    assert get(d, create(d, other, "s1c", template=flytekit_tasks.serialize(s1))).phase == PHASE.FAILED
    assert managed_pods(cluster, other) == []


def test_restricted_level(cluster, daemon_factory):
    """Under restricted, flytekit's plain python task (root, no seccomp profile, privilege
    escalation allowed) is refused; one whose pod template hardens it runs."""
    d = daemon_factory(extra_yaml="policy:\n  pod_security: {level: restricted}\n")
    ns = cluster.new_namespace("restr")
    r = get(d, create(d, ns, "plain1"))
    assert r.phase == PHASE.FAILED
    assert 'pod security "restricted"' in r.message and "(check: allowPrivilegeEscalation)" in r.message, r.message
    assert managed_pods(cluster, ns) == []
    meta = create(d, ns, "hard1", template=flytekit_tasks.serialize(hardened))
    assert managed_pods(cluster, ns) == ["hard1-n0-0"], get(d, meta).message


def test_access_rechecks_namespace(cluster, daemon_factory):
    """GetTask and DeleteTask check the namespace rule again: a namespace no longer allowed is
    refused, and its object left alone."""
    a = daemon_factory()
    ns = cluster.new_namespace("acc")
    meta = create(a, ns, "acc1")
    b = daemon_factory(extra_yaml="policy:\n  namespaces:\n    allow: [\"somewhere-else\"]\n")
    b.kill()
    b.key.write_bytes(a.key.read_bytes())
    b.start()
    with pytest.raises(grpc.RpcError) as e:
        get(b, meta)
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert e.value.details() == (f'namespace "{ns}" is not allowed by policy.namespaces.allow '
                                 '("somewhere-else")')
    with pytest.raises(grpc.RpcError) as e:
        b.stub.DeleteTask(agent_pb2.DeleteTaskRequest(task_type="python-task", resource_meta=meta),
                          timeout=30)
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert managed_pods(cluster, ns) == ["acc1-n0-0"]


def test_render_reports_refusal(cluster, daemon, tmp_path):
    """`flyteplugd render` applies the same policy: exit 1 with the rule on stderr."""
    ns = cluster.new_namespace("rend")
    (tmp_path / "t.pb").write_bytes(flytekit_tasks.serialize(s1).SerializeToString())
    (tmp_path / "m.pb").write_bytes(execution_metadata(ns, "r1").SerializeToString())
    out = subprocess.run([BIN, "render", "--template", str(tmp_path / "t.pb"), "--metadata",
                          str(tmp_path / "m.pb"), "--config", str(daemon.config), "-o", "json"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1, out
    assert out.stdout == ""
    assert out.stderr.strip().splitlines()[-1] == ('flyteplugd render: refused by the policy: pod security "baseline": '
                                  'spec: pod: hostNetwork=true is not allowed (check: hostNamespaces)')
