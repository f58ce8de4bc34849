"""Ray tasks end to end: flytekitplugins-ray serializes the tasks, CreateTask turns them into
RayJobs the real API server accepts under KubeRay's own CRD schema, and status patches written
the way the KubeRay operator writes them walk the task through its phases. There is no operator:
the tests patch status (and create the head pod) themselves."""
from __future__ import annotations

import base64

import pytest

import ray_dask_tasks
from operator_helpers import (PHASE, CrdTask, create, links, plugin_settings_config, render,
                              rfc3339, subset_mismatch, unix)

CRD = "ray"  # its published CRDs, installed by the crds fixture

RAY = CrdTask("ray.io", "v1", "rayjobs", "ray")


# Flyte's GeneratedNameMaxLength for RayJobs (flyteplugins k8s/ray/ray.go GetProperties): KubeRay
# derives the RayCluster's and the pods' names from the RayJob's.
RAY_NAME_MAX = 47


def flyte_generated_name(parts, max_length):
    """Flyte's FixedLengthUniqueIDForParts (pluginmachinery/encoding/encoder.go), written here
    independently of the daemon: the parts joined by '-' (no separator while the result is still
    empty) and, when longer than max_length, "f" + base32 of the 32-bit FNV-1a hash with Flyte's
    alphabet and no padding."""
    joined = ""
    for i, p in enumerate(parts):
        if i > 0 and joined:
            joined += "-"
        joined += p
    if len(joined) <= max_length:
        return joined
    h = 0x811C9DC5
    for b in joined.encode():
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    std = base64.b32encode(h.to_bytes(4, "big")).decode().rstrip("=")
    return "f" + std.translate(str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567",
                                             "abcdefghijklmnopqrstuvwxyz123456"))


@pytest.mark.parametrize("name", ["ray_basic", "ray_full", "ray_pod_template"])
def test_render_equals_created_ray_job(cluster, crds, daemon, tmp_path, name):
    ns = cluster.new_namespace("ray")
    template = ray_dask_tasks.template(name)
    assert template.type == "ray"
    execution = name.replace("_", "")
    rendered = render(daemon, tmp_path, ns, execution, template)
    create(daemon, ns, execution, template)
    created = RAY.stored(cluster, ns, f"{execution}-n0-0")
    assert created is not None, daemon.tail()
    mismatch = subset_mismatch(rendered, created)
    assert mismatch is None, mismatch
    spec = created["spec"]
    cl = spec["rayClusterSpec"]
    head = cl["headGroupSpec"]
    assert head["template"]["spec"]["containers"][0]["name"] == "ray-head"
    assert head["rayStartParams"]["dashboard-host"] == "0.0.0.0"
    assert head["serviceType"] == "NodePort" and head["enableIngress"] is False
    (wg,) = cl["workerGroupSpecs"]
    assert wg["template"]["spec"]["containers"][0]["name"] == "ray-worker"
    for tmpl in (head["template"], wg["template"], spec["submitterPodTemplate"]):
        assert tmpl["metadata"]["labels"]["execution-id"] == execution
        assert tmpl["metadata"]["annotations"]["flyte.org/owner"] == "e2e"
        env = {e["name"]: e.get("value") for e in tmpl["spec"]["containers"][0]["env"]}
        assert env["FLYTE_INTERNAL_EXECUTION_ID"] == execution
    assert spec["entrypoint"].startswith("pyflyte-execute --inputs s3://bucket/meta/")
    assert spec["shutdownAfterJobFinishes"] is True
    # As Flyte's objects: the zero ScaleStrategy and Quantity divisors are written.
    assert wg["scaleStrategy"] == {}
    refs = [e["valueFrom"]["resourceFieldRef"] for e in wg["template"]["spec"]["containers"][0]["env"]
            if "resourceFieldRef" in e.get("valueFrom", {})]
    assert len(refs) == 4 and all(r["divisor"] == "0" for r in refs), refs
    if name == "ray_pod_template":
        meta = created["metadata"]
        assert meta["labels"]["team"] == "ml" and meta["annotations"]["owner"] == "alice", meta
        assert meta["labels"]["execution-id"] == execution
    elif name == "ray_basic":
        assert (wg["groupName"], wg["replicas"], wg["minReplicas"], wg["maxReplicas"]) == ("wg", 2, 2, 2)
        assert spec["ttlSecondsAfterFinished"] == 3600 and "runtimeEnvYAML" not in spec
    else:
        assert (wg["groupName"], wg["minReplicas"], wg["maxReplicas"]) == ("a", 0, 4)
        assert head["rayStartParams"]["num-cpus"] == "0" and wg["rayStartParams"]["num-gpus"] == "0"
        assert cl["enableInTreeAutoscaling"] is True and spec["ttlSecondsAfterFinished"] == 120
        assert spec["runtimeEnvYAML"] == "env_vars:\n  A: '1'\npip:\n- numpy\n"


@pytest.mark.parametrize("length", [42, 44, 60])
def test_long_execution_names_follow_flytes_ray_limit(cluster, crds, daemon, tmp_path, length):
    """The RayJob's name is Flyte's per-attempt name under Ray's 47-character limit: kept at 47
    (42 + "-n0-0"), hashed at 49 (which the default limit of 50 would keep) and beyond. CreateTask,
    render, GetTask, a restart and a repeated CreateTask all use that one name."""
    # The helper reproduces Flyte's own encoder_test.go vectors (32-bit FNV).
    assert flyte_generated_name(["x", "y", "z"], 10) == "x-y-z"
    assert flyte_generated_name(["x" * 24], 20) == "fuaa3aji"
    assert flyte_generated_name(list("xyzmnyzmnyzmn"), 15) == "fe63sz6y"
    ns = cluster.new_namespace("raylong")
    execution = "r" + "x" * (length - 1)
    joined = f"{execution}-n0-0"
    want = flyte_generated_name([execution, "n0", "0"], RAY_NAME_MAX)
    if len(joined) <= RAY_NAME_MAX:
        assert want == joined
    else:
        assert len(want) == 8 and want.startswith("f") and want != joined, want
    assert len(want) <= RAY_NAME_MAX
    template = ray_dask_tasks.template("ray_basic")
    assert render(daemon, tmp_path, ns, execution, template)["metadata"]["name"] == want
    meta = create(daemon, ns, execution, template)
    assert RAY.names(cluster, ns) == [want], daemon.tail()
    created = RAY.stored(cluster, ns, want)
    for tmpl in (created["spec"]["rayClusterSpec"]["headGroupSpec"]["template"],
                 created["spec"]["submitterPodTemplate"]):
        assert tmpl["metadata"]["labels"]["execution-id"] == execution
    RAY.wait_phase(daemon, meta, PHASE.QUEUED, "Scheduling")
    # After a restart the object is found again by its name, and a repeated CreateTask (which
    # propeller may send) answers for the same object instead of creating another.
    daemon.kill()
    daemon.start()
    RAY.wait_phase(daemon, meta, PHASE.QUEUED, "Scheduling")
    again = create(daemon, ns, execution, template)
    RAY.wait_phase(daemon, again, PHASE.QUEUED, "Scheduling")
    assert RAY.names(cluster, ns) == [want], daemon.tail()
    RAY.patch(cluster, ns, want, {"jobDeploymentStatus": "Failed", "jobStatus": "FAILED", "reason": "AppFailed",
                                  "message": "exit code 1"})
    r = RAY.wait_for(daemon, meta, lambda r: r.phase == PHASE.RETRYABLE_FAILED, "retryable failure")
    assert f"Failed to run Ray job {want} with error: [AppFailed] exit code 1" in r.message, r.message


def started(cluster, crds, daemon, execution):
    ns = cluster.new_namespace("ray")
    meta = create(daemon, ns, execution, ray_dask_tasks.template("ray_basic"))
    name = f"{execution}-n0-0"
    assert RAY.stored(cluster, ns, name) is not None, daemon.tail()
    RAY.wait_phase(daemon, meta, PHASE.QUEUED, "Scheduling")
    return ns, name, meta


def test_initializing_running_complete(cluster, crds, daemon):
    ns, name, meta = started(cluster, crds, daemon, "rayok")
    RAY.patch(cluster, ns, name, {"jobDeploymentStatus": "Initializing", "rayClusterName": f"{name}-rc"})
    RAY.wait_phase(daemon, meta, PHASE.INITIALIZING, "cluster is creating")
    RAY.patch(cluster, ns, name, {"jobDeploymentStatus": "Running", "jobStatus": "RUNNING", "jobId": "rj-1",
                                  "dashboardURL": "10.0.0.1:8265"})
    r = RAY.wait_phase(daemon, meta, PHASE.RUNNING)
    assert r.log_links, "no log links"
    RAY.patch(cluster, ns, name, {"jobDeploymentStatus": "Complete", "jobStatus": "SUCCEEDED"})
    RAY.wait_phase(daemon, meta, PHASE.SUCCEEDED)


def test_failed_is_a_retryable_system_failure(cluster, crds, daemon):
    ns, name, meta = started(cluster, crds, daemon, "rayfail")
    RAY.patch(cluster, ns, name, {"jobDeploymentStatus": "Running", "jobStatus": "RUNNING"})
    RAY.wait_phase(daemon, meta, PHASE.RUNNING)
    RAY.patch(cluster, ns, name, {"jobDeploymentStatus": "Failed", "jobStatus": "FAILED", "reason": "AppFailed",
                                  "message": "exit code 1"})
    r = RAY.wait_for(daemon, meta, lambda r: r.phase == PHASE.RETRYABLE_FAILED, "retryable failure")
    assert f"Failed to run Ray job {name} with error: [AppFailed] exit code 1" in r.message, r.message


def test_unknown_state_keeps_the_last_phase(cluster, crds, daemon):
    ns, name, meta = started(cluster, crds, daemon, "rayodd")
    RAY.patch(cluster, ns, name, {"jobDeploymentStatus": "Running", "jobStatus": "RUNNING"})
    RAY.wait_phase(daemon, meta, PHASE.RUNNING)
    RAY.patch(cluster, ns, name, {"jobDeploymentStatus": "NOT_A_STATE"})
    RAY.keeps_phase(daemon, meta, PHASE.RUNNING)


def head_pod(cluster, name, ns, cluster_name):
    """The head pod as KubeRay would create it: the head group template's labels (they carry
    the owner label the engine attributes pods by) plus KubeRay's own."""
    tmpl = RAY.stored(cluster, ns, name)["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]
    labels = dict(tmpl["metadata"].get("labels", {}))
    labels.update({"ray.io/cluster": cluster_name, "ray.io/node-type": "head"})
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"{cluster_name}-head-x1", "namespace": ns, "labels": labels},
            "spec": {"containers": [{"name": "ray-head", "image": "rayproject/ray:2"}]}}


def test_head_pod_explains_a_slow_start(cluster, crds, daemon):
    ns, name, meta = started(cluster, crds, daemon, "rayhead")
    rc = f"{name}-rc"
    cluster.must("POST", f"/api/v1/namespaces/{ns}/pods", head_pod(cluster, name, ns, rc))
    RAY.patch(cluster, ns, name, {"jobDeploymentStatus": "Initializing", "rayClusterName": rc})
    cluster.patch_pod_status(ns, f"{rc}-head-x1", {"phase": "Pending", "containerStatuses": [
        {"name": "ray-head", "ready": False, "restartCount": 0, "image": "x", "imageID": "",
         "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image"}}}],
        "conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                        "message": "containers with unready status: [ray-head]",
                        # within the image pull grace period: explained, not failed
                        "lastTransitionTime": rfc3339()}]})
    r = RAY.wait_for(daemon, meta, lambda r: "Back-off pulling image" in r.message, "head pod diagnosis")
    assert r.phase == PHASE.INITIALIZING, PHASE.Phase.Name(r.phase)
    assert r.message.startswith(f"cluster is creating; head pod {rc}-head-x1: "), r.message
    assert any(f"{rc}-head-x1" in l.uri for l in r.log_links), r.log_links


def test_delete_removes_the_ray_job(cluster, crds, daemon):
    ns, name, meta = started(cluster, crds, daemon, "raydel")
    RAY.delete(daemon, meta)
    RAY.wait_deleted(daemon, cluster, ns, name)
    RAY.delete(daemon, meta)  # again, with nothing left to delete


# The daemon's own logs: must not be used once plugins.settings.ray.logs is set.
RAY_LOGS_CONFIG = plugin_settings_config("ray", """\
logs:
  templates:
    - displayName: Ray Job
      templateUris: ["https://logs.example.com/{{ .namespace }}/{{ .rayClusterName }}/{{ .rayJobID }}?start={{ .podUnixStartTime }}"]
dashboardURLTemplate:
  displayName: Ray Dashboard
  templateUris: ["https://ray.example.com/{{ .rayClusterName }}/#/jobs/{{ .rayJobID }}"]
""")


def test_per_plugin_logs(cluster, crds, daemon_factory):
    """plugins.settings.ray.logs in the daemon's configuration: GetTask's links are Flyte's for
    that section (no pod, the RayJob's creation as start, unknown variables left in place) and the
    dashboard link while Ray's job runs; the daemon's logs: and the head pod play no part."""
    d = daemon_factory(extra_yaml=RAY_LOGS_CONFIG)
    ns, name, meta = started(cluster, crds, d, "raylogs")
    start = unix(RAY.stored(cluster, ns, name)["metadata"]["creationTimestamp"])
    assert links(RAY.get(d, meta)) == [
        ("Ray Job", f"https://logs.example.com/{ns}/{{{{ .rayClusterName }}}}/{{{{ .rayJobID }}}}?start={start}")]
    rc = f"{name}-rc"
    cluster.must("POST", f"/api/v1/namespaces/{ns}/pods", head_pod(cluster, name, ns, rc))
    RAY.patch(cluster, ns, name, {"jobDeploymentStatus": "Running", "jobStatus": "RUNNING", "jobId": "rj-1",
                                  "rayClusterName": rc, "dashboardURL": "10.0.0.1:8265"})
    want = [("Ray Job", f"https://logs.example.com/{ns}/{rc}/rj-1?start={start}"),
            ("Ray Dashboard", f"https://ray.example.com/{rc}/#/jobs/rj-1")]
    r = RAY.wait_for(d, meta, lambda r: r.phase == PHASE.RUNNING and links(r) == want, f"links {want}")
    RAY.patch(cluster, ns, name, {"jobDeploymentStatus": "Complete", "jobStatus": "SUCCEEDED"})
    r = RAY.wait_phase(d, meta, PHASE.SUCCEEDED)
    assert links(r) == want[:1], links(r)


def test_silent_operator_fails_retryably(cluster, crds, daemon_factory):
    """No operator writes the RayJob's status: once engine.operator_timeout has passed since
    its creation, the task fails retryably and says why; an object the operator did answer
    keeps its phase."""
    d = daemon_factory(operator_timeout="3s")
    ns = cluster.new_namespace("raysilent")
    template = ray_dask_tasks.template("ray_basic")
    silent = create(d, ns, "silent", template)
    answered = create(d, ns, "answered", template)
    RAY.patch(cluster, ns, "answered-n0-0", {"jobDeploymentStatus": "Initializing"})
    r = RAY.get(d, silent)
    assert r.phase not in (PHASE.RETRYABLE_FAILED, PHASE.FAILED), r
    r = RAY.wait_phase(d, silent, PHASE.RETRYABLE_FAILED)
    assert "RayJob" in r.message and "no status" in r.message and "operator_timeout" in r.message, r.message
    assert RAY.get(d, answered).phase == PHASE.INITIALIZING


# KubeRay 1.5+ fields, all off by default: set here through plugins.settings.ray.
RAY_KUBERAY_CONFIG = plugin_settings_config("ray", """\
backoffLimit: 2
activeDeadlineSeconds: 900
dashboardLink: true
deletionRules:
  - condition: {jobStatus: SUCCEEDED, ttlSeconds: 30}
    policy: DeleteCluster
  - condition: {jobDeploymentStatus: Failed, ttlSeconds: 300}
    policy: DeleteCluster
""")


def test_kuberay_fields_are_accepted_by_the_crd(cluster, crds, daemon_factory):
    """backoffLimit, activeDeadlineSeconds and deletionRules from the settings land on a RayJob
    the API server stores under KubeRay's CRD (its CEL rules on deletionStrategy included),
    without shutdownAfterJobFinishes, which KubeRay refuses next to deletionRules; the status
    dashboardURL becomes the "Ray Dashboard" link while Ray's job runs."""
    d = daemon_factory(extra_yaml=RAY_KUBERAY_CONFIG)
    ns, name, meta = started(cluster, crds, d, "raykr")
    spec = RAY.stored(cluster, ns, name)["spec"]
    assert spec["backoffLimit"] == 2 and spec["activeDeadlineSeconds"] == 900, spec
    assert spec["deletionStrategy"]["deletionRules"] == [
        {"condition": {"jobStatus": "SUCCEEDED", "ttlSeconds": 30}, "policy": "DeleteCluster"},
        {"condition": {"jobDeploymentStatus": "Failed", "ttlSeconds": 300}, "policy": "DeleteCluster"}], spec
    # The CRD defaults ttlSecondsAfterFinished to 0.
    assert "shutdownAfterJobFinishes" not in spec and spec.get("ttlSecondsAfterFinished", 0) == 0, spec
    assert "rayClusterSpec" in spec
    RAY.patch(cluster, ns, name, {"jobDeploymentStatus": "Running", "jobStatus": "RUNNING", "jobId": "rj-1",
                                  "rayClusterName": f"{name}-rc", "dashboardURL": f"{name}-head-svc.{ns}.svc:8265"})
    r = RAY.wait_for(d, meta, lambda r: r.phase == PHASE.RUNNING and any(n == "Ray Dashboard" for n, _ in links(r)),
                     "the dashboard link")
    assert ("Ray Dashboard", f"http://{name}-head-svc.{ns}.svc:8265") in links(r), links(r)
    RAY.patch(cluster, ns, name, {"jobDeploymentStatus": "Complete", "jobStatus": "SUCCEEDED"})
    r = RAY.wait_phase(d, meta, PHASE.SUCCEEDED)
    assert not any(n == "Ray Dashboard" for n, _ in links(r)), links(r)


def test_cluster_selector_runs_on_an_existing_cluster(cluster, crds, daemon):
    """The task's config flyteplugd.ray/cluster-selector makes a RayJob that selects an existing
    RayCluster by labels: no rayClusterSpec, no shutdown (KubeRay refuses it with a selector);
    a malformed selector fails the task permanently with the reason."""
    ns = cluster.new_namespace("ray")
    template = ray_dask_tasks.template("ray_basic")
    template.config["flyteplugd.ray/cluster-selector"] = "ray.io/cluster=shared-ray,team=ml"
    meta = create(daemon, ns, "raysel", template)
    stored = RAY.stored(cluster, ns, "raysel-n0-0")
    assert stored is not None, daemon.tail()
    spec = stored["spec"]
    assert spec["clusterSelector"] == {"ray.io/cluster": "shared-ray", "team": "ml"}, spec
    assert "rayClusterSpec" not in spec and "shutdownAfterJobFinishes" not in spec, spec
    RAY.wait_phase(daemon, meta, PHASE.QUEUED, "Scheduling")
    RAY.patch(cluster, ns, "raysel-n0-0", {"jobDeploymentStatus": "Running", "jobStatus": "RUNNING",
                                           "rayClusterName": "shared-ray"})
    RAY.wait_phase(daemon, meta, PHASE.RUNNING)
    bad = ray_dask_tasks.template("ray_basic")
    bad.config["flyteplugd.ray/cluster-selector"] = "shared-ray"
    bad_meta = create(daemon, ns, "raybad", bad)
    r = RAY.wait_phase(daemon, bad_meta, PHASE.FAILED)
    assert "flyteplugd.ray/cluster-selector: want key=value[,key=value], got [shared-ray]" in r.message, r.message
    assert RAY.stored(cluster, ns, "raybad-n0-0") is None


RAY_KUEUE_CONFIG = plugin_settings_config("ray", """\
kueueQueues:
  "no-such-*": other-queue
  "*": team-queue
""")


def test_kueue_admission_and_eviction(cluster, crds, daemon_factory):
    """kueueQueues in the settings: the RayJob is stored with Kueue's queue label and suspended;
    while suspended it waits for Kueue's admission, Kueue's resume (spec.suspend false, as Kueue
    writes it) lets KubeRay start it, and a suspension while it runs (Kueue's eviction or
    preemption, KubeRay Suspending) is a retryable system failure."""
    d = daemon_factory(extra_yaml=RAY_KUEUE_CONFIG)
    ns = cluster.new_namespace("ray")
    meta = create(d, ns, "raykq", ray_dask_tasks.template("ray_basic"))
    name = "raykq-n0-0"
    stored = RAY.stored(cluster, ns, name)
    assert stored is not None, d.tail()
    assert stored["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "team-queue", stored["metadata"]
    assert stored["spec"]["suspend"] is True, stored["spec"]
    want = "waiting for Kueue admission in queue team-queue"
    RAY.wait_phase(d, meta, PHASE.WAITING_FOR_RESOURCES, want)
    RAY.patch(cluster, ns, name, {"jobDeploymentStatus": "Suspended"})
    RAY.keeps_phase(d, meta, PHASE.WAITING_FOR_RESOURCES)
    path = cluster.resource_path("ray.io", "v1", "rayjobs", ns, name)
    cluster.must("PATCH", path, {"spec": {"suspend": False}}, "application/merge-patch+json")
    RAY.patch(cluster, ns, name, {"jobDeploymentStatus": "Initializing", "rayClusterName": f"{name}-rc"})
    RAY.wait_phase(d, meta, PHASE.INITIALIZING, "cluster is creating")
    RAY.patch(cluster, ns, name, {"jobDeploymentStatus": "Running", "jobStatus": "RUNNING"})
    RAY.wait_phase(d, meta, PHASE.RUNNING)
    cluster.must("PATCH", path, {"spec": {"suspend": True}}, "application/merge-patch+json")
    RAY.patch(cluster, ns, name, {"jobDeploymentStatus": "Suspending"})
    r = RAY.wait_for(d, meta, lambda r: r.phase == PHASE.RETRYABLE_FAILED, "a retryable failure")
    assert "evicted by Kueue from queue team-queue: the RayJob was suspended while it ran" in r.message, r.message


def test_no_queue_no_suspend(cluster, crds, daemon):
    """Without kueueQueues, a queue label or config key, the RayJob is neither labelled nor
    suspended (Kueue is off by default)."""
    ns = cluster.new_namespace("ray")
    create(daemon, ns, "raynq", ray_dask_tasks.template("ray_basic"))
    stored = RAY.stored(cluster, ns, "raynq-n0-0")
    assert stored is not None, daemon.tail()
    assert "kueue.x-k8s.io/queue-name" not in stored["metadata"].get("labels", {}), stored["metadata"]
    assert not stored["spec"].get("suspend"), stored["spec"]
