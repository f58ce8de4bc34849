"""Volcano gang scheduling with queueing.volcano configured: a Pod task and a PyTorchJob task made
by the real flytekit plugins get schedulerName and the group annotation on every pod template,
and a PodGroup (scheduling.volcano.sh/v1beta1, Volcano's published CRD) of the object's name with
minMember from the replicas is created before the object; GetTask reports WAITING_FOR_RESOURCES
while the group is Pending or Inqueue and follows the object once Volcano runs it; DeleteTask
removes both. There is no Volcano scheduler here: the tests write the PodGroup's status as
Volcano does."""
from __future__ import annotations

import time

import flytekit_tasks
import grpc
import jobset_tasks
import kubeflow_tasks
import pytest
import ray_dask_tasks
import spark_tasks

from operator_helpers import PHASE, CrdTask, create, rfc3339

CRD = "volcano"
GROUP_ANNOTATION = "scheduling.k8s.io/group-name"
CONFIG = """\
queueing:
  volcano:
    enabled: true
    namespaces: ["vc*"]
    queue: research
"""
PODGROUP = CrdTask("scheduling.volcano.sh", "v1beta1", "podgroups", "python-task")
POD = CrdTask("", "v1", "pods", "python-task")
PYTORCH = CrdTask("kubeflow.org", "v1", "pytorchjobs", "pytorch")


@pytest.fixture
def volcano_daemon(crds, daemon_factory):
    if not isinstance(crds.get("kubeflow"), list):
        pytest.fail(crds.get("kubeflow") or "no tests/cluster/crds/kubeflow.sh")
    return daemon_factory(extra_yaml=CONFIG)


def group_status(cluster, ns, name, phase, unschedulable=None):
    """Writes the PodGroup's status as Volcano's scheduler does."""
    status = {"phase": phase}
    if unschedulable:
        status["conditions"] = [{"type": "Unschedulable", "status": "True", "reason": "NotEnoughResources",
                                 "message": unschedulable, "transitionID": "1",
                                 "lastTransitionTime": rfc3339()}]
    PODGROUP.patch(cluster, ns, name, status)


def wait_gone(cluster, task, ns, name, daemon, timeout=20):
    """Waits until the object is gone, or terminating: a pod bound to a node stays until its
    kubelet (there is none here) has stopped it."""
    def there():
        obj = task.stored(cluster, ns, name)
        return obj is not None and "deletionTimestamp" not in obj["metadata"]
    deadline = time.time() + timeout
    while there() and time.time() < deadline:
        time.sleep(0.2)
    assert not there(), f"{task.plural} {ns}/{name} left\n{daemon.tail()}"


def test_pod_task_gang(cluster, volcano_daemon):
    d = volcano_daemon
    ns = cluster.new_namespace("vcpod")
    name = "vcpod-n0-0"
    meta = create(d, ns, "vcpod", flytekit_tasks.python_task())
    pod = POD.stored(cluster, ns, name)
    assert pod is not None, d.tail()
    assert pod["spec"]["schedulerName"] == "volcano", pod["spec"]
    assert pod["metadata"]["annotations"][GROUP_ANNOTATION] == name, pod["metadata"]
    group = PODGROUP.stored(cluster, ns, name)
    assert group is not None, d.tail()
    assert group["spec"]["minMember"] == 1 and group["spec"]["queue"] == "research", group["spec"]
    assert group["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "flyteplugd", group["metadata"]
    # Created before the pod, so that no pod of the task runs without its group.
    assert group["metadata"]["creationTimestamp"] <= pod["metadata"]["creationTimestamp"]
    POD.wait_phase(d, meta, PHASE.WAITING_FOR_RESOURCES,
                   f"waiting for Volcano to schedule PodGroup {name} (Pending, minMember 1, queue research)")
    group_status(cluster, ns, name, "Inqueue", "1/1 tasks in gang unschedulable: 1 Insufficient cpu")
    POD.wait_phase(d, meta, PHASE.WAITING_FOR_RESOURCES,
                   f"waiting for Volcano to schedule PodGroup {name} (Inqueue, minMember 1, queue research): "
                   "1/1 tasks in gang unschedulable: 1 Insufficient cpu")
    group_status(cluster, ns, name, "Running")
    r = POD.wait_for(d, meta, lambda r: r.phase != PHASE.WAITING_FOR_RESOURCES, "the pod's own phase")
    assert r.phase == PHASE.QUEUED, (PHASE.Phase.Name(r.phase), r.message)
    cluster.bind_pod(ns, name)
    cluster.patch_pod_status(ns, name, {"phase": "Running", "startTime": rfc3339(), "containerStatuses": [{
        "name": pod["spec"]["containers"][0]["name"], "ready": True, "restartCount": 0,
        "image": "x", "imageID": "", "state": {"running": {"startedAt": rfc3339()}}}]})
    POD.wait_phase(d, meta, PHASE.RUNNING)
    POD.delete(d, meta)
    wait_gone(cluster, PODGROUP, ns, name, d)
    wait_gone(cluster, POD, ns, name, d)


def test_pytorch_job_gang(cluster, volcano_daemon):
    d = volcano_daemon
    ns = cluster.new_namespace("vcpt")
    name = "vcpt-n0-0"
    meta = create(d, ns, "vcpt", kubeflow_tasks.serialize(kubeflow_tasks.torch_every_option))
    job = PYTORCH.stored(cluster, ns, name)
    assert job is not None, d.tail()
    specs = job["spec"]["pytorchReplicaSpecs"]
    assert sorted(specs) == ["Master", "Worker"], specs
    for role, spec in specs.items():
        tmpl = spec["template"]
        assert tmpl["spec"]["schedulerName"] == "volcano", (role, tmpl["spec"])
        assert tmpl["metadata"]["annotations"][GROUP_ANNOTATION] == name, (role, tmpl["metadata"])
        # The task's own pod template annotations stay.
        assert tmpl["metadata"]["annotations"]["owner"] == "alice", (role, tmpl["metadata"])
    group = PODGROUP.stored(cluster, ns, name)
    assert group is not None, d.tail()
    # Master 1 + Worker 3.
    assert group["spec"] == {"minMember": 4, "queue": "research"}, group["spec"]
    PYTORCH.wait_phase(d, meta, PHASE.WAITING_FOR_RESOURCES,
                       f"waiting for Volcano to schedule PodGroup {name} (Pending, minMember 4, queue research)")
    group_status(cluster, ns, name, "Running")
    PYTORCH.patch(cluster, ns, name, {"startTime": rfc3339(), "conditions": [
        {"type": "Created", "status": "True", "reason": "Created", "message": "created",
         "lastUpdateTime": rfc3339(), "lastTransitionTime": rfc3339()},
        {"type": "Running", "status": "True", "reason": "Running", "message": "running",
         "lastUpdateTime": rfc3339(), "lastTransitionTime": rfc3339()}]})
    PYTORCH.wait_phase(d, meta, PHASE.RUNNING)
    PYTORCH.delete(d, meta)
    wait_gone(cluster, PODGROUP, ns, name, d)
    wait_gone(cluster, PYTORCH, ns, name, d)


def test_volcano_off_and_other_namespaces(cluster, crds, daemon_factory):
    """Without queueing.volcano, and in a namespace its globs do not match, nothing of it."""
    for d, prefix in ((daemon_factory(), "vcoff"), (daemon_factory(extra_yaml=CONFIG), "novc")):
        ns = cluster.new_namespace(prefix)
        name = f"{prefix}-n0-0"
        meta = create(d, ns, prefix, flytekit_tasks.python_task())
        pod = POD.stored(cluster, ns, name)
        assert pod is not None, d.tail()
        assert "schedulerName" not in pod["spec"] or pod["spec"]["schedulerName"] == "default-scheduler", pod["spec"]
        assert GROUP_ANNOTATION not in pod["metadata"].get("annotations", {}), pod["metadata"]
        assert PODGROUP.names(cluster, ns) == [], d.tail()
        r = POD.wait_for(d, meta, lambda r: r.phase != PHASE.UNDEFINED, "a phase")
        assert r.phase == PHASE.QUEUED, (PHASE.Phase.Name(r.phase), r.message)


def test_podgroup_refused_fails_create(cluster, volcano_daemon):
    """A PodGroup the API server refuses (here a ResourceQuota on PodGroups) fails CreateTask
    with the reason, and nothing is created; the daemon keeps serving."""
    d = volcano_daemon
    ns = cluster.new_namespace("vcquota")
    cluster.must("POST", f"/api/v1/namespaces/{ns}/resourcequotas", {
        "apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "no-podgroups"},
        "spec": {"hard": {"count/podgroups.scheduling.volcano.sh": "0"}}})
    # The status the quota controller writes (there is none here), which admission enforces.
    cluster.patch_status("", "v1", "resourcequotas", ns, "no-podgroups", {
        "hard": {"count/podgroups.scheduling.volcano.sh": "0"},
        "used": {"count/podgroups.scheduling.volcano.sh": "0"}})
    with pytest.raises(grpc.RpcError) as info:
        create(d, ns, "vcquota", flytekit_tasks.python_task())
    details = info.value.details()
    assert "creating Volcano PodGroup" in details and "exceeded quota" in details, details
    assert POD.stored(cluster, ns, "vcquota-n0-0") is None, d.tail()
    assert PODGROUP.names(cluster, ns) == []
    ok = cluster.new_namespace("vcok")
    create(d, ok, "vcok", flytekit_tasks.python_task())
    assert PODGROUP.stored(cluster, ok, "vcok-n0-0") is not None, d.tail()


def test_cleanup_and_sweep_delete_groups(cluster, crds, daemon_factory):
    """The cleanup of a finished task (after engine.cleanup_ttl) and the orphan sweep delete the
    PodGroup with the object; a polled task keeps its group."""
    d = daemon_factory(extra_yaml=CONFIG, cleanup_ttl="2s", orphan_after="4s", sweep_interval="1s")
    ns = cluster.new_namespace("vcsweep")
    done = create(d, ns, "done", flytekit_tasks.python_task())
    create(d, ns, "orphan", flytekit_tasks.python_task())
    kept = create(d, ns, "kept", flytekit_tasks.python_task())
    assert PODGROUP.names(cluster, ns) == ["done-n0-0", "kept-n0-0", "orphan-n0-0"], d.tail()
    group_status(cluster, ns, "done-n0-0", "Running")
    primary = POD.stored(cluster, ns, "done-n0-0")["spec"]["containers"][0]["name"]
    cluster.patch_pod_status(ns, "done-n0-0", {"phase": "Succeeded", "containerStatuses": [
        {"name": primary, "ready": False, "restartCount": 0, "image": "x", "imageID": "",
         "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]})
    POD.wait_phase(d, done, PHASE.SUCCEEDED)
    deadline = time.time() + 30
    while time.time() < deadline and PODGROUP.names(cluster, ns) != ["kept-n0-0"]:
        POD.get(d, kept)  # polled: not an orphan
        time.sleep(0.5)
    assert PODGROUP.names(cluster, ns) == ["kept-n0-0"], d.tail()
    assert POD.names(cluster, ns) == ["kept-n0-0"], d.tail()


def pod_templates(node, holder=None):
    """Every (template, pod spec) in a stored object: a pod spec is an object with containers."""
    if isinstance(node, dict):
        if isinstance(node.get("containers"), list):
            yield holder, node
            return
        for v in node.values():
            yield from pod_templates(v, node)
    elif isinstance(node, list):
        for v in node:
            yield from pod_templates(v, node)


OTHER_KINDS = {
    # kind: (operator, CrdTask, template, expected minMember, how many pod templates); Ray's
    # are the head's, the worker group's and the submitter's, Dask's the job's, the
    # scheduler's and the workers'.
    "spark": ("spark", CrdTask("sparkoperator.k8s.io", "v1beta2", "sparkapplications", "spark"),
              lambda: flytekit_tasks.serialize(spark_tasks.hello_spark), 4, 0),
    "ray": ("ray", CrdTask("ray.io", "v1", "rayjobs", "ray"), lambda: ray_dask_tasks.template("ray_basic"), 3, 3),
    "dask": ("dask", CrdTask("kubernetes.dask.org", "v1", "daskjobs", "dask"),
             lambda: ray_dask_tasks.template("dask_basic"), 5, 3),
    "jobset": ("jobset", CrdTask("jobset.x-k8s.io", "v1alpha2", "jobsets", "clustered-task"),
               lambda: jobset_tasks.template("train"), 2, 1),
}


@pytest.mark.parametrize("case", sorted(OTHER_KINDS))
def test_other_kinds_grouped(cluster, crds, daemon_factory, case):
    """Spark, Ray, Dask and JobSet objects with every pod template pointed at Volcano, stored
    under their operators' CRD schemas, and a PodGroup with minMember from their replicas."""
    operator, crd, make, members, templates = OTHER_KINDS[case]
    if not isinstance(crds.get(operator), list):
        pytest.fail(crds.get(operator) or f"no tests/cluster/crds/{operator}.sh")
    d = daemon_factory(extra_yaml=CONFIG)
    ns = cluster.new_namespace("vc" + case)
    name = f"vc{case}-n0-0"
    meta = create(d, ns, f"vc{case}", make())
    stored = crd.stored(cluster, ns, name)
    assert stored is not None, d.tail()
    found = list(pod_templates(stored["spec"]))
    assert len(found) == templates, [t for t, _ in found]
    for tmpl, spec in found:
        assert spec.get("schedulerName") == "volcano", spec
        assert tmpl["metadata"]["annotations"][GROUP_ANNOTATION] == name, tmpl["metadata"]
    if case == "spark":
        for role in ("driver", "executor"):
            pod = stored["spec"][role]
            assert pod["schedulerName"] == "volcano" and pod["annotations"][GROUP_ANNOTATION] == name, pod
    group = PODGROUP.stored(cluster, ns, name)
    assert group is not None, d.tail()
    assert group["spec"] == {"minMember": members, "queue": "research"}, group["spec"]
    crd.wait_phase(d, meta, PHASE.WAITING_FOR_RESOURCES,
                   f"waiting for Volcano to schedule PodGroup {name} (Pending, minMember {members}, queue research)")
    crd.delete(d, meta)
    wait_gone(cluster, PODGROUP, ns, name, d)


def wait_until(pred, what, daemon, timeout=20):
    deadline = time.time() + timeout
    while not pred() and time.time() < deadline:
        time.sleep(0.2)
    assert pred(), f"wanted {what}\n{daemon.tail()}"


def test_group_owned_by_object(cluster, volcano_daemon):
    """Once the object is created, it owns its PodGroup: the garbage collector deletes the
    group with the object on any path."""
    d = volcano_daemon
    ns = cluster.new_namespace("vcown")
    name = "vcown-n0-0"
    create(d, ns, "vcown", flytekit_tasks.python_task())
    pod = POD.stored(cluster, ns, name)
    assert pod is not None, d.tail()
    want = [{"apiVersion": "v1", "kind": "Pod", "name": name, "uid": pod["metadata"]["uid"]}]
    wait_until(lambda: PODGROUP.stored(cluster, ns, name)["metadata"].get("ownerReferences") == want,
               f"ownerReferences {want}: {PODGROUP.stored(cluster, ns, name)['metadata']}", d)


def test_refused_object_leaves_no_group(cluster, volcano_daemon):
    """An object the API server refuses for good (here a LimitRange's minimum) fails the task,
    and its PodGroup, created first, is deleted; the daemon keeps serving."""
    d = volcano_daemon
    ns = cluster.new_namespace("vclimit")
    cluster.must("POST", f"/api/v1/namespaces/{ns}/limitranges", {
        "apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "huge-minimum"},
        "spec": {"limits": [{"type": "Container", "min": {"cpu": "100"}}]}})
    meta = create(d, ns, "vclimit", flytekit_tasks.python_task())
    r = POD.wait_for(d, meta, lambda r: r.phase != PHASE.UNDEFINED, "a phase")
    assert r.phase == PHASE.RETRYABLE_FAILED and "minimum cpu usage" in r.message, (
        PHASE.Phase.Name(r.phase), r.message)
    assert POD.stored(cluster, ns, "vclimit-n0-0") is None, d.tail()
    wait_until(lambda: PODGROUP.names(cluster, ns) == [], "no PodGroup left", d)
    ok = cluster.new_namespace("vcok")
    create(d, ok, "vcok", flytekit_tasks.python_task())
    assert PODGROUP.stored(cluster, ok, "vcok-n0-0") is not None, d.tail()


def test_foreign_group_fails_create(cluster, volcano_daemon):
    """A PodGroup with the attempt's name that flyteplugd did not make (another queue, a
    minMember no gang reaches) is not adopted: the task fails, nothing is created, the group is
    left as it was."""
    d = volcano_daemon
    ns = cluster.new_namespace("vcforeign")
    name = "vcforeign-n0-0"
    foreign = cluster.must("POST", PODGROUP.path(cluster, ns), {
        "apiVersion": "scheduling.volcano.sh/v1beta1", "kind": "PodGroup",
        "metadata": {"name": name}, "spec": {"minMember": 1000, "queue": "other"}})
    meta = create(d, ns, "vcforeign", flytekit_tasks.python_task())
    r = POD.wait_for(d, meta, lambda r: r.phase != PHASE.UNDEFINED, "a phase")
    assert r.phase == PHASE.FAILED and f"a Volcano PodGroup named {ns}/{name} exists that flyteplugd did not create" \
        in r.message, (PHASE.Phase.Name(r.phase), r.message)
    assert POD.stored(cluster, ns, name) is None, d.tail()
    group = PODGROUP.stored(cluster, ns, name)
    assert group is not None, d.tail()
    assert group["metadata"]["uid"] == foreign["metadata"]["uid"], group["metadata"]
    assert group["metadata"]["resourceVersion"] == foreign["metadata"]["resourceVersion"], group
    POD.delete(d, meta)
    time.sleep(1)
    assert PODGROUP.stored(cluster, ns, name)["metadata"]["uid"] == foreign["metadata"]["uid"], d.tail()


def pods_quota_of_zero(cluster, ns):
    """A ResourceQuota that refuses every pod of ns, with the status the quota controller (not
    running here) would write, which admission enforces."""
    cluster.must("POST", f"/api/v1/namespaces/{ns}/resourcequotas", {
        "apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "no-pods"},
        "spec": {"hard": {"pods": "0"}}})
    cluster.patch_status("", "v1", "resourcequotas", ns, "no-pods",
                         {"hard": {"pods": "0"}, "used": {"pods": "0"}})


@pytest.mark.parametrize("call", ["get", "delete"])
def test_group_of_a_create_lost_in_a_restart_is_deleted(cluster, volcano_daemon, call):
    """The PodGroup made for an object that waited for quota when flyteplugd restarted (its
    resource_meta has no uid, and no entry survives) is deleted by the attempt's next GetTask,
    which answers CreateLost, or by its DeleteTask. A group of an attempt's name that
    flyteplugd did not make is left alone in the same case."""
    d = volcano_daemon
    ns, other = cluster.new_namespace("vclost"), cluster.new_namespace("vcforeign")
    pods_quota_of_zero(cluster, ns)
    name = "vclost-n0-0"
    meta = create(d, ns, "vclost", flytekit_tasks.python_task())
    POD.wait_for(d, meta, lambda r: r.phase == PHASE.WAITING_FOR_RESOURCES, "waiting for quota")
    assert PODGROUP.stored(cluster, ns, name) is not None, d.tail()
    assert POD.stored(cluster, ns, name) is None, d.tail()
    foreign_name = "vcforeign-n0-0"
    foreign = cluster.must("POST", PODGROUP.path(cluster, other), {
        "apiVersion": "scheduling.volcano.sh/v1beta1", "kind": "PodGroup",
        "metadata": {"name": foreign_name}, "spec": {"minMember": 1000, "queue": "other"}})
    refused = create(d, other, "vcforeign", flytekit_tasks.python_task())
    POD.wait_for(d, refused, lambda r: r.phase == PHASE.FAILED, "the foreign group refused")

    d.kill()
    d.start()
    for m in (meta, refused):
        if call == "get":
            r = POD.get(d, m)
            assert r.phase == PHASE.RETRYABLE_FAILED and "restarted before the object" in \
                r.message, (PHASE.Phase.Name(r.phase), r.message)
        else:
            POD.delete(d, m)
    wait_gone(cluster, PODGROUP, ns, name, d)
    time.sleep(1)
    still = PODGROUP.stored(cluster, other, foreign_name)
    assert still is not None and still["metadata"]["uid"] == foreign["metadata"]["uid"], d.tail()


def test_late_delete_spares_new_group(cluster, volcano_daemon):
    """An object deleted outside flyteplugd takes its group along; the attempt created again
    gets a new object and group, which a late DeleteTask with the first object's meta leaves
    alone."""
    d = volcano_daemon
    ns = cluster.new_namespace("vcre")
    name = "vcre-n0-0"
    old = create(d, ns, "vcre", flytekit_tasks.python_task())
    assert PODGROUP.stored(cluster, ns, name) is not None, d.tail()
    cluster.must("DELETE", POD.path(cluster, ns, name))
    POD.wait_deleted(d, cluster, ns, name)
    wait_gone(cluster, PODGROUP, ns, name, d)
    POD.wait_for(d, old, lambda r: r.phase == PHASE.RETRYABLE_FAILED, "ResourceDeletedExternally")
    create(d, ns, "vcre", flytekit_tasks.python_task())
    pod = POD.stored(cluster, ns, name)
    group = PODGROUP.stored(cluster, ns, name)
    assert pod is not None and group is not None, d.tail()
    POD.delete(d, old)
    time.sleep(1.5)
    assert POD.stored(cluster, ns, name)["metadata"]["uid"] == pod["metadata"]["uid"], d.tail()
    still = PODGROUP.stored(cluster, ns, name)
    assert still is not None and still["metadata"]["uid"] == group["metadata"]["uid"], d.tail()


def test_own_group_adopted(cluster, volcano_daemon):
    """A PodGroup of the attempt's name that carries the attempt's identity (a CreateTask
    repeated after the group's POST) is used: the object is created and owns it."""
    d = volcano_daemon
    first = cluster.new_namespace("vcadopt")
    create(d, first, "vcadopt", flytekit_tasks.python_task())
    made = PODGROUP.stored(cluster, first, "vcadopt-n0-0")
    assert made is not None, d.tail()
    # The identity names the task attempt, not the namespace: the same attempt's group.
    ns = cluster.new_namespace("vcadopt")
    name = "vcadopt-n0-0"
    ours = cluster.must("POST", PODGROUP.path(cluster, ns), {
        "apiVersion": "scheduling.volcano.sh/v1beta1", "kind": "PodGroup",
        "metadata": {"name": name, "annotations": made["metadata"]["annotations"]},
        "spec": {"minMember": 1, "queue": "research"}})
    create(d, ns, "vcadopt", flytekit_tasks.python_task())
    pod = POD.stored(cluster, ns, name)
    assert pod is not None, d.tail()
    want = [{"apiVersion": "v1", "kind": "Pod", "name": name, "uid": pod["metadata"]["uid"]}]
    wait_until(lambda: PODGROUP.stored(cluster, ns, name)["metadata"].get("ownerReferences") == want,
               "the adopted group owned by the pod", d)
    assert PODGROUP.stored(cluster, ns, name)["metadata"]["uid"] == ours["metadata"]["uid"]
