"""Dask tasks end to end: flytekitplugins-dask serializes the tasks, CreateTask turns them into
DaskJobs the real API server accepts under the Dask operator's own published CRDs
(tests/cluster/crds/dask.sh), and the test plays the operator: it creates the DaskCluster,
DaskWorkerGroup and pods its controller (dask_kubernetes/operator/controller/controller.py,
2026.3.0) would create from the DaskJob, with the labels it sets, and writes status.jobStatus
through the values the controller writes (JobCreated, ClusterCreated, Running, Successful,
Failed). There is no operator and no kubelet: pod status is written the way a kubelet would."""
from __future__ import annotations

import copy
import json
import re
import urllib.request

import pytest

import engine_conftest
import ray_dask_tasks
from conftest import execution_metadata
from operator_helpers import (PHASE, CrdTask, create, links, plugin_settings_config, render, rfc3339,
                              subset_mismatch)

CRD = "dask"  # skipped, with the reason, when the operator's published CRDs cannot be obtained

DASK = CrdTask("kubernetes.dask.org", "v1", "daskjobs", "dask")

# A link whose URI needs the scheduler pod's name (Flyte's {{ .daskSchedulerName }}).
LOGS = """logs:
  kubernetes-enabled: true
  templates:
    - displayName: Dask Dashboard
      templateUris: ["https://dash.example.com/{{ .namespace }}/{{ .daskSchedulerName }}/status"]
"""


@pytest.fixture
def dask_daemon(cluster, tmp_path):
    """A daemon with the dashboard link above and the admin endpoints (for its metrics)."""
    wd = tmp_path / "dask-daemon"
    wd.mkdir()
    d = engine_conftest.Daemon(wd, cluster, admin=True)
    with open(d.config, "a") as f:
        f.write(LOGS)
    d.start()
    yield d
    d.stop()


def meta_for(ns, execution, name):
    return execution_metadata(ns, execution, task_name=f"ray_dask_tasks.{name}")


def create_case(daemon, ns, execution, name):
    """CreateTask for the ray_dask_tasks task `name`, named after it in the metadata."""
    return create(daemon, ns, execution, ray_dask_tasks.template(name), meta_for(ns, execution, name))


def render_case(daemon, tmp_path, ns, execution, name):
    """`flyteplugd render` of what create_case sends."""
    return render(daemon, tmp_path, ns, execution, ray_dask_tasks.template(name),
                  meta_for(ns, execution, name))


def containers(spec):
    return {c["name"]: c for c in spec["containers"]}


CASES = ["dask_defaults", "dask_basic", "dask_image", "dask_every_option"]


@pytest.mark.parametrize("name", CASES)
def test_render_equals_created_dask_job(cluster, crds, daemon, tmp_path, name):
    ns = cluster.new_namespace("dask")
    execution = "r" + name.replace("_", "")
    rendered = render_case(daemon, tmp_path, ns, execution, name)
    create_case(daemon, ns, execution, name)
    created = DASK.stored(cluster, ns, f"{execution}-n0-0")
    assert created is not None, daemon.tail()
    mismatch = subset_mismatch(rendered, created)
    assert mismatch is None, mismatch
    # Nothing pruned, nothing added but the schema's one default: the spec is the rendered one.
    stored = copy.deepcopy(created["spec"])
    assert stored["cluster"]["spec"].pop("idleTimeout") == 0
    assert stored == rendered["spec"], json.dumps(stored, indent=1)

    spec = created["spec"]
    runner = containers(spec["job"]["spec"])["job-runner"]
    worker_spec = spec["cluster"]["spec"]["worker"]
    worker = containers(worker_spec["spec"])["dask-worker"]
    scheduler_group = spec["cluster"]["spec"]["scheduler"]
    scheduler = containers(scheduler_group["spec"])["scheduler"]
    assert runner["args"][0] == "pyflyte-execute" and spec["job"]["spec"]["restartPolicy"] == "Never"
    assert scheduler["args"][:2] == ["dask", "scheduler"] and worker["args"][:2] == ["dask", "worker"]
    assert [p["containerPort"] for p in scheduler["ports"]] == [8786, 8787]
    assert scheduler_group["service"]["selector"] == {"dask.org/cluster-name": f"{execution}-n0-0",
                                                       "dask.org/component": "scheduler"}
    assert worker_spec["spec"]["restartPolicy"] == scheduler_group["spec"]["restartPolicy"] == "Always"
    for c in (runner, worker, scheduler):
        env = {e["name"]: e.get("value") for e in c.get("env", [])}
        assert env["FLYTE_INTERNAL_EXECUTION_ID"] == execution, c["name"]
    labels = created["metadata"]["labels"]
    assert labels["execution-id"] == execution and labels["flyteplugd.flyte.org/owner"] == f"{execution}-n0-0"
    probe = {"httpGet": {"port": "dashboard"}, "initialDelaySeconds": 5, "periodSeconds": 5,
             "failureThreshold": 30}
    if name == "dask_defaults":
        assert worker_spec["replicas"] == 1 and scheduler["readinessProbe"] == probe
        assert worker["args"] == ["dask", "worker", "--name", "$(DASK_WORKER_NAME)", "--nthreads", "1",
                                  "--memory-limit", "1Gi"]
    elif name == "dask_basic":
        assert worker_spec["replicas"] == 3
        assert worker["args"][4:] == ["--nthreads", "2", "--memory-limit", "2Gi"]
        assert scheduler["resources"] == {"limits": {"cpu": "1", "memory": "1Gi"},
                                          "requests": {"cpu": "1", "memory": "1Gi"}}
    elif name == "dask_image":
        assert worker["image"] == "daskdev/dask:latest" and scheduler["image"] == runner["image"]
    else:
        assert worker_spec["replicas"] == 4
        assert (scheduler["image"], worker["image"]) == ("ghcr.io/dask/dask:2026.3.0",
                                                         "ghcr.io/dask/dask:2026.3.0-py3.12")
        assert scheduler["resources"] == {"limits": {"cpu": "1", "memory": "1Gi"},
                                          "requests": {"cpu": "500m", "memory": "512Mi"}}
        assert worker["resources"] == {"limits": {"cpu": "1500m", "memory": "1536Mi"},
                                       "requests": {"cpu": "1", "memory": "1Gi"}}
        assert worker["args"][4:] == ["--nthreads", "2", "--memory-limit", "1536Mi"]
        assert runner["resources"]["limits"] == {"cpu": "500m", "memory": "512Mi"}
        # The pod template's own probe wins on the scheduler; its sidecar, volume and
        # toleration reach every role; its labels and annotations the DaskJob.
        assert scheduler["readinessProbe"] == {"httpGet": {"path": "/health", "port": "dashboard"},
                                               "periodSeconds": 10}
        for pod_spec in (spec["job"]["spec"], worker_spec["spec"], scheduler_group["spec"]):
            assert "sidecar" in containers(pod_spec) and pod_spec["volumes"][0]["name"] == "scratch"
            assert {"key": "dask", "operator": "Exists", "effect": "NoSchedule"} in pod_spec["tolerations"]
        assert labels["team"] == "ml" and created["metadata"]["annotations"]["owner"] == "alice"


def test_spec_cluster_metadata_is_pruned_by_the_published_crd(cluster, crds, daemon, tmp_path):
    """Why flyteplugd leaves out spec.cluster.metadata, which Flyte's Go plugin sets: the
    operator's CRD has no such field, so the API server drops it."""
    ns = cluster.new_namespace("dask")
    obj = render_case(daemon, tmp_path, ns, "prune", "dask_basic")
    obj["metadata"].pop("finalizers")
    obj["spec"]["cluster"]["metadata"] = {"labels": {"execution-id": "prune"},
                                          "annotations": {"flyte.org/owner": "e2e"}}
    stored = cluster.must("POST", DASK.path(cluster, ns), obj, query={"dryRun": "All"})
    assert "metadata" not in stored["spec"]["cluster"], stored["spec"]["cluster"].keys()
    assert stored["spec"]["cluster"]["spec"]["worker"]["replicas"] == 3


def test_integer_probe_port_is_refused_by_the_published_crd(cluster, crds, daemon):
    """The operator's CRDs type int-or-string fields as strings: a pod template with an integer
    probe port (valid in a Pod, and what Flyte's Go plugin sends too) makes a DaskJob the API
    server refuses, reported as a permanent failure with the API server's reason."""
    ns = cluster.new_namespace("dask")
    meta = create_case(daemon, ns, "intport", "dask_int_probe_port")
    r = DASK.wait_phase(daemon, meta, PHASE.FAILED)
    assert "livenessProbe.httpGet.port in body must be of type string" in r.message, r.message
    assert DASK.stored(cluster, ns, "intport-n0-0") is None


# ---- the operator, played by the test ---------------------------------------------------------


def operator_meta(dj, name, component, **more_labels):
    """The metadata the controller gives what it creates for DaskJob dj: the DaskJob's own
    labels and annotations (copied whole: _get_labels/_get_annotations ignore none) plus its
    own labels."""
    cluster_name = dj["metadata"]["name"]
    labels = dict(dj["metadata"].get("labels", {}))
    labels.update({"dask.org/cluster-name": cluster_name, **more_labels})
    if component:
        labels["dask.org/component"] = component
    return {"name": name, "labels": labels, "annotations": dict(dj["metadata"].get("annotations", {}))}


def operator_pod(dj, ns, component, name, spec, env):
    spec = copy.deepcopy(spec)
    for c in spec["containers"]:
        names = {e["name"] for e in c.get("env", [])}
        c.setdefault("env", []).extend(e for e in env if e["name"] not in names)
    meta = operator_meta(dj, name, component, **{"sidecar.istio.io/inject": "false"})
    if component == "worker":
        meta["labels"]["dask.org/workergroup-name"] = f"{dj['metadata']['name']}-default"
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


def play_operator_create(cluster, ns, name):
    """daskjob_create_components and daskcluster_create_components: the DaskCluster, its
    default DaskWorkerGroup (both under the operator's CRDs), the job-runner pod, the scheduler
    pod (from its Deployment) and one worker pod, each accepted by the real API server."""
    dj = DASK.stored(cluster, ns, name)
    address = {"name": "DASK_SCHEDULER_ADDRESS", "value": f"tcp://{name}-scheduler.{ns}.svc.cluster.local:8786"}
    cl = dj["spec"]["cluster"]["spec"]
    cluster.must("POST", cluster.resource_path(DASK.group, DASK.version, "daskclusters", ns),
                 {"apiVersion": f"{DASK.group}/{DASK.version}", "kind": "DaskCluster",
                  "metadata": operator_meta(dj, name, None),
                  "spec": {"worker": cl["worker"], "scheduler": cl["scheduler"]}})
    cluster.must("POST", cluster.resource_path(DASK.group, DASK.version, "daskworkergroups", ns),
                 {"apiVersion": f"{DASK.group}/{DASK.version}", "kind": "DaskWorkerGroup",
                  "metadata": operator_meta(dj, f"{name}-default", "workergroup"),
                  "spec": {"cluster": name, "worker": cl["worker"]}})
    pods = {
        "runner": operator_pod(dj, ns, "job-runner", f"{name}-runner", dj["spec"]["job"]["spec"], [address]),
        "scheduler": operator_pod(dj, ns, "scheduler", f"{name}-scheduler-6d5f9c8b7-x2k4q",
                                  cl["scheduler"]["spec"], []),
        "worker": operator_pod(dj, ns, "worker", f"{name}-default-worker-0a1b2c3d4e", cl["worker"]["spec"],
                               [{"name": "DASK_WORKER_NAME", "value": f"{name}-default-worker-0a1b2c3d4e"},
                                address]),
    }
    for p in pods.values():
        cluster.must("POST", f"/api/v1/namespaces/{ns}/pods", p)
    return {k: p["metadata"]["name"] for k, p in pods.items()}


def runner_status(phase, state, ready=False):
    return {"phase": phase, "containerStatuses": [
        {"name": "job-runner", "ready": ready, "restartCount": 0, "image": "x", "imageID": "", "state": state}]}


def metric(daemon, name):
    with urllib.request.urlopen(f"http://127.0.0.1:{daemon.admin_port}/metrics", timeout=10) as r:
        m = re.search(rf"^{name} (\d+)$", r.read().decode(), re.M)
    assert m, name
    return int(m.group(1))


def started(cluster, daemon, execution, name="dask_basic"):
    ns = cluster.new_namespace("dask")
    meta = create_case(daemon, ns, execution, name)
    job_name = f"{execution}-n0-0"
    assert DASK.stored(cluster, ns, job_name) is not None, daemon.tail()
    DASK.wait_phase(daemon, meta, PHASE.INITIALIZING, "unknown")
    return ns, job_name, meta


def test_walks_the_operators_job_states(cluster, crds, dask_daemon):
    d = dask_daemon
    ns, name, meta = started(cluster, d, "daskok")
    DASK.patch(cluster, ns, name, {"jobStatus": "JobCreated"})
    r = DASK.wait_phase(d, meta, PHASE.INITIALIZING, "job created")
    assert "{{ .podName }}" in dict(links(r))["Kubernetes Logs"], links(r)  # no runner pod named yet

    tracked = metric(d, "flyteplugd_executions")
    pods = play_operator_create(cluster, ns, name)
    DASK.patch(cluster, ns, name, {"clusterName": name, "jobStatus": "ClusterCreated",
                                   "jobRunnerPodName": pods["runner"]})
    r = DASK.wait_for(d, meta, lambda r: r.message == "cluster created" and pods["scheduler"] in
                      dict(links(r)).get("Dask Dashboard", ""), "cluster created, with the scheduler's link")
    assert r.phase == PHASE.INITIALIZING
    assert dict(links(r)) == {
        "Kubernetes Logs": f"http://localhost:30082/#!/log/{ns}/{pods['runner']}/pod?namespace={ns}",
        "Dask Dashboard": f"https://dash.example.com/{ns}/{pods['scheduler']}/status"}
    # The operator's pods carry the DaskJob's labels (flyteplugd's plugin label included) and
    # identity annotation: followed as the DaskJob's pods, never taken for tasks of their own.
    assert metric(d, "flyteplugd_executions") == tracked, d.tail()
    for p in pods.values():
        assert cluster.request("GET", f"/api/v1/namespaces/{ns}/pods/{p}")[0] == 200, p

    cluster.patch_pod_status(ns, pods["runner"], runner_status(
        "Running", {"running": {"startedAt": rfc3339()}}, ready=True))
    DASK.patch(cluster, ns, name, {"jobStatus": "Running", "startTime": rfc3339()})
    r = DASK.wait_phase(d, meta, PHASE.RUNNING)
    assert pods["runner"] in dict(links(r))["Kubernetes Logs"]

    cluster.patch_pod_status(ns, pods["runner"], runner_status(
        "Succeeded", {"terminated": {"exitCode": 0, "reason": "Completed"}}))
    DASK.patch(cluster, ns, name, {"jobStatus": "Successful", "endTime": rfc3339()})
    DASK.wait_phase(d, meta, PHASE.SUCCEEDED)


def test_failed_job_without_a_runner_pod(cluster, crds, daemon):
    ns, name, meta = started(cluster, daemon, "daskfail")
    DASK.patch(cluster, ns, name, {"jobStatus": "Running", "jobRunnerPodName": f"{name}-runner"})
    DASK.wait_phase(daemon, meta, PHASE.RUNNING)
    DASK.patch(cluster, ns, name, {"jobStatus": "Failed", "endTime": rfc3339()})
    DASK.wait_phase(daemon, meta, PHASE.RETRYABLE_FAILED, "DownstreamSystemError: Dask Job failed")


def test_failed_runner_pod_fails_the_task_first(cluster, crds, daemon):
    """Flyte master reads the job-runner pod before the job: its failure is the task's, with
    the container's exit, even while the job still says Running."""
    ns, name, meta = started(cluster, daemon, "daskoom")
    pods = play_operator_create(cluster, ns, name)
    DASK.patch(cluster, ns, name, {"clusterName": name, "jobStatus": "Running", "jobRunnerPodName": pods["runner"]})
    DASK.wait_phase(daemon, meta, PHASE.RUNNING)
    cluster.patch_pod_status(ns, pods["runner"], runner_status(
        "Failed", {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}))
    r = DASK.wait_for(daemon, meta, lambda r: r.phase == PHASE.RETRYABLE_FAILED, "runner failure")
    assert r.message == ("OOMKilled: Pod failed. No message received from kubernetes.\r\n[job-runner] "
                         "terminated with exit code (137). Reason [OOMKilled]. Message: \n."), repr(r.message)
    assert pods["runner"] in dict(links(r))["Kubernetes Logs"]


def test_runner_pod_explains_a_slow_start(cluster, crds, daemon):
    ns, name, meta = started(cluster, daemon, "daskslow")
    pods = play_operator_create(cluster, ns, name)
    DASK.patch(cluster, ns, name, {"clusterName": name, "jobStatus": "ClusterCreated",
                                   "jobRunnerPodName": pods["runner"]})
    status = runner_status("Pending", {"waiting": {"reason": "ImagePullBackOff",
                                                   "message": "Back-off pulling image \"x\""}})
    status["conditions"] = [{"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                             "message": "containers with unready status: [job-runner]",
                             "lastTransitionTime": rfc3339()}]
    cluster.patch_pod_status(ns, pods["runner"], status)
    r = DASK.wait_for(daemon, meta, lambda r: "Back-off pulling image" in r.message, "runner pod diagnosis")
    assert r.phase == PHASE.INITIALIZING, PHASE.Phase.Name(r.phase)
    assert r.message == (f"cluster created; job-runner pod {pods['runner']}: [ContainersNotReady|ImagePullBackOff]: "
                         "containers with unready status: [job-runner]|Back-off pulling image \"x\""), r.message


def test_unknown_state_keeps_the_last_phase(cluster, crds, daemon):
    ns, name, meta = started(cluster, daemon, "daskodd")
    DASK.patch(cluster, ns, name, {"jobStatus": "Running"})
    DASK.wait_phase(daemon, meta, PHASE.RUNNING)
    DASK.patch(cluster, ns, name, {"jobStatus": "NOT_A_STATE"})
    DASK.keeps_phase(daemon, meta, PHASE.RUNNING)


def test_delete_removes_the_dask_job(cluster, crds, daemon):
    ns, name, meta = started(cluster, daemon, "daskdel")
    DASK.delete(daemon, meta)
    DASK.wait_deleted(daemon, cluster, ns, name)
    DASK.delete(daemon, meta)  # again, with nothing left to delete


# The daemon's own logs: must not be used once plugins.settings.dask.logs is set.
DASK_LOGS_CONFIG = plugin_settings_config("dask", """\
logs:
  templates:
    - displayName: Dask Dashboard
      templateUris: ["https://dask.example.com/{{ .namespace }}/{{ .daskSchedulerName }}/status"]
""")


def test_per_plugin_logs(cluster, crds, daemon_factory):
    """plugins.settings.dask.logs in the daemon's configuration: GetTask's links come from that
    section, which starts from propeller's default (Kubernetes links, the localhost template) as
    Flyte's does, for the job-runner pod with the scheduler pod's name as
    {{ .daskSchedulerName }}; the daemon's logs: plays no part."""
    d = daemon_factory(extra_yaml=DASK_LOGS_CONFIG)
    ns, name, meta = started(cluster, d, "dasklogs")

    def want(runner, scheduler):
        return [("Kubernetes Logs", f"http://localhost:30082/#!/log/{ns}/{runner}/pod?namespace={ns}"),
                ("Dask Dashboard", f"https://dask.example.com/{ns}/{scheduler}/status")]

    r = DASK.get(d, meta)
    assert links(r) == want("{{ .podName }}", "{{ .daskSchedulerName }}"), links(r)
    pods = play_operator_create(cluster, ns, name)
    DASK.patch(cluster, ns, name, {"clusterName": name, "jobStatus": "Running", "jobRunnerPodName": pods["runner"]})
    expected = want(pods["runner"], pods["scheduler"])
    r = DASK.wait_for(d, meta, lambda r: r.phase == PHASE.RUNNING and links(r) == expected, f"links {expected}")
    DASK.patch(cluster, ns, name, {"jobStatus": "Successful", "endTime": rfc3339()})
    r = DASK.wait_phase(d, meta, PHASE.SUCCEEDED)
    assert links(r) == expected, links(r)
