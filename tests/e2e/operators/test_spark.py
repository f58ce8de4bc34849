"""Spark tasks end to end: flytekitplugins-spark serializes the tasks, CreateTask turns them into
SparkApplications the real API server accepts under the operator's own CRD schema, and status
patches written the way the spark-operator writes them walk the task through its phases.
There is no operator: the tests patch status (and create the driver pod) themselves."""
from __future__ import annotations

import grpc
import pytest

import spark_tasks
from operator_helpers import (PHASE, CrdTask, create, links, plugin_settings_config, render, rfc3339,
                              subset_mismatch, unix)

CRD = "spark"  # its published CRDs, installed by the crds fixture

# The CRD requires status.driverInfo; the operator always writes it (Go's non-omitempty struct).
SPARK = CrdTask("sparkoperator.k8s.io", "v1beta2", "sparkapplications", "spark",
                status_defaults={"driverInfo": {}})
START_TIME = "spark.kubernetes.driverEnv.FLYTE_START_TIME"


@pytest.mark.parametrize("name,make", [("basic", spark_tasks.basic),
                                       ("podtemplates", spark_tasks.pod_templates),
                                       ("generic", spark_tasks.generic)])
def test_render_equals_created_application(cluster, crds, daemon, tmp_path, name, make):
    ns = cluster.new_namespace("spark")
    template = make()
    assert (template.type, template.task_type_version) == ("spark", 0)
    execution = f"spark{name}"
    rendered = render(daemon, tmp_path, ns, execution, template)
    create(daemon, ns, execution, template)
    created = SPARK.stored(cluster, ns, f"{execution}-n0-0")
    assert created is not None, daemon.tail()
    # The start time is the clock's at build time: render and CreateTask differ there only.
    for obj in (rendered, created):
        assert obj["spec"]["sparkConf"].pop(START_TIME).isdigit()
    mismatch = subset_mismatch(rendered, created)
    assert mismatch is None, mismatch
    spec = created["spec"]
    assert spec["mode"] == "cluster" and spec["restartPolicy"]["onSubmissionFailureRetries"] == 14
    assert spec["sparkConf"]["spark.kubernetes.executor.podNamePrefix"] == f"{execution}-n0-0"
    for role in ("driver", "executor"):
        assert spec[role]["labels"]["execution-id"] == execution
        assert spec[role]["annotations"]["flyte.org/owner"] == "e2e"
        assert spec[role]["serviceAccount"] == "default"
        env = {e["name"]: e.get("value") for e in spec[role]["env"]}
        assert env["FLYTE_INTERNAL_EXECUTION_ID"] == execution and "FLYTE_MAX_ATTEMPTS" in env
    if name == "basic":
        assert spec["driver"]["cores"] == 1 and spec["executor"]["instances"] == 3
        assert spec["hadoopConf"] == {"fs.s3a.aws.credentials.provider": "x.Provider"}
    if name == "podtemplates":
        assert spec["driver"]["nodeSelector"] == {"pool": "stable"}
        assert spec["executor"]["tolerations"][-1]["key"] == "spot"
    if name == "generic":
        assert spec["mainClass"] == "org.example.Main"


def test_unmatched_primary_container_is_refused(cluster, crds, daemon):
    ns = cluster.new_namespace("spark")
    try:
        meta = create(daemon, ns, "sparkbad", spark_tasks.unmatched_primary())
    except grpc.RpcError as e:
        assert "container [primary] not defined" in e.details(), e.details()
        return
    r = SPARK.wait_for(daemon, meta, lambda r: r.phase == PHASE.FAILED, "permanent failure")
    assert "container [primary] not defined" in r.message, r.message


def started(cluster, crds, daemon, execution):
    ns = cluster.new_namespace("spark")
    meta = create(daemon, ns, execution, spark_tasks.basic())
    name = f"{execution}-n0-0"
    assert SPARK.stored(cluster, ns, name) is not None, daemon.tail()
    SPARK.wait_phase(daemon, meta, PHASE.QUEUED, "job queued")
    return ns, name, meta


def test_submitted_running_completed(cluster, crds, daemon):
    ns, name, meta = started(cluster, crds, daemon, "sparkok")
    SPARK.patch(cluster, ns, name, {"applicationState": {"state": "SUBMITTED"}, "submissionAttempts": 1,
                                    "driverInfo": {"podName": f"{name}-driver"}})
    r = SPARK.wait_phase(daemon, meta, PHASE.INITIALIZING, "job submitted (submission attempt 1 of 15)")
    assert [l.name for l in r.log_links] == ["Kubernetes Logs(Driver Logs)"], r.log_links
    assert f"/{ns}/{name}-driver/pod" in r.log_links[0].uri
    SPARK.patch(cluster, ns, name, {"applicationState": {"state": "RUNNING"}, "executionAttempts": 1,
                                    "driverInfo": {"webUIIngressAddress": "spark.example.com/ui"}})
    r = SPARK.wait_phase(daemon, meta, PHASE.RUNNING, "job running (attempt 1 of 1)")
    assert ("Spark Driver UI", "https://spark.example.com/ui") in links(r)
    SPARK.patch(cluster, ns, name, {"applicationState": {"state": "SUCCEEDING"}})
    SPARK.wait_phase(daemon, meta, PHASE.RUNNING, "SUCCEEDING: the driver completed (attempt 1 of 1)")
    SPARK.patch(cluster, ns, name, {"applicationState": {"state": "COMPLETED"}, "sparkApplicationId": "spark-1",
                                    "terminationTime": rfc3339()})
    SPARK.wait_phase(daemon, meta, PHASE.SUCCEEDED)


def test_failing_then_failed_is_retryable(cluster, crds, daemon):
    ns, name, meta = started(cluster, crds, daemon, "sparkfail")
    SPARK.patch(cluster, ns, name, {"applicationState": {"state": "RUNNING"}, "executionAttempts": 1})
    SPARK.wait_phase(daemon, meta, PHASE.RUNNING)
    SPARK.patch(cluster, ns, name, {"applicationState": {"state": "FAILING", "errorMessage": "exit 1"}})
    SPARK.wait_phase(daemon, meta, PHASE.RUNNING, "FAILING: the driver failed: exit 1 (attempt 1 of 1)")
    SPARK.patch(cluster, ns, name, {"applicationState": {"state": "FAILED", "errorMessage": "exit 1"}})
    r = SPARK.wait_phase(daemon, meta, PHASE.RETRYABLE_FAILED)
    assert r.message == "DownstreamSystemError: Spark Job Failed with Error: exit 1 (attempt 1 of 1)", r.message


def test_submission_failure_and_pending_rerun(cluster, crds, daemon):
    ns, name, meta = started(cluster, crds, daemon, "sparkrerun")
    SPARK.patch(cluster, ns, name, {"applicationState": {"state": "PENDING_RERUN"}, "executionAttempts": 1})
    SPARK.wait_phase(daemon, meta, PHASE.RUNNING,
                     "PENDING_RERUN: the operator is resubmitting the application (attempt 1 of 1)")
    SPARK.patch(cluster, ns, name, {"applicationState": {"state": "SUBMISSION_FAILED", "errorMessage": "quota"},
                                    "submissionAttempts": 3})
    r = SPARK.wait_phase(daemon, meta, PHASE.RETRYABLE_FAILED)
    assert r.message == "DownstreamSystemError: Spark Job  Submission Failed with Error: quota (submission attempt 3 of 15)"


def test_unknown_state_keeps_the_last_phase(cluster, crds, daemon):
    ns, name, meta = started(cluster, crds, daemon, "sparkodd")
    SPARK.patch(cluster, ns, name, {"applicationState": {"state": "RUNNING"}, "executionAttempts": 1})
    SPARK.wait_phase(daemon, meta, PHASE.RUNNING, "job running (attempt 1 of 1)")
    SPARK.patch(cluster, ns, name, {"applicationState": {"state": "NOT_A_STATE"}})
    SPARK.keeps_phase(daemon, meta, PHASE.RUNNING)


def driver_pod(cluster, name, ns):
    """The driver pod as the Spark operator would create it: the application's driver labels
    plus the operator's own."""
    labels = dict(SPARK.stored(cluster, ns, name)["spec"]["driver"].get("labels", {}))
    labels.update({"spark-app-name": name, "spark-role": "driver"})
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"{name}-driver", "namespace": ns, "labels": labels},
            "spec": {"containers": [{"name": "spark-kubernetes-driver", "image": "spark:3"}]}}


def test_driver_pod_failure_fails_fast(cluster, crds, daemon):
    ns, name, meta = started(cluster, crds, daemon, "sparkpod")
    cluster.must("POST", f"/api/v1/namespaces/{ns}/pods", driver_pod(cluster, name, ns))
    SPARK.patch(cluster, ns, name, {"applicationState": {"state": "RUNNING"}, "executionAttempts": 1,
                                    "driverInfo": {"podName": f"{name}-driver"}})
    SPARK.wait_phase(daemon, meta, PHASE.RUNNING)
    cluster.patch_pod_status(ns, f"{name}-driver", {"phase": "Failed", "containerStatuses": [
        {"name": "spark-kubernetes-driver", "ready": False, "restartCount": 0, "image": "x", "imageID": "",
         "state": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}]})
    r = SPARK.wait_for(daemon, meta, lambda r: r.phase == PHASE.RETRYABLE_FAILED, "driver OOM")
    assert r.message.startswith(f"OOMKilled: driver pod {name}-driver: "), r.message


def test_delete_removes_the_application(cluster, crds, daemon):
    ns, name, meta = started(cluster, crds, daemon, "sparkdel")
    SPARK.delete(daemon, meta)
    SPARK.wait_deleted(daemon, cluster, ns, name)
    SPARK.delete(daemon, meta)  # again, with nothing left to delete


# The daemon's own logs: must not be used for the driver once logs.mixed is set.
SPARK_LOGS_CONFIG = plugin_settings_config("spark", """\
logs:
  mixed:
    kubernetes-enabled: false
    templates:
      - displayName: Driver
        templateUris: ["https://logs.example.com/{{ .namespace }}/{{ .podName }}?start={{ .podUnixStartTime }}&end={{ .podUnixFinishTime }}"]
  user:
    templates:
      - displayName: User
        templateUris: ["https://user.example.com/{{ .podName }}"]
  system:
    kubernetes-enabled: true
    kubernetes-template-uri: "https://k8s.example.com/{{ .namespace }}/{{ .podName }}"
  all-user:
    templates:
      - displayName: All
        templateUris: ["https://all.example.com/{{ .podName }}"]
""")


def test_per_plugin_logs(cluster, crds, daemon_factory):
    """plugins.settings.spark.logs in the daemon's configuration: GetTask's links are Flyte's
    getEventInfoForSpark ones: mixed for the driver, user for the driver pod, system and all-user
    for the application (all-user shown while pending), with the application's creation as start
    and its termination time (0 while it runs) as finish; the daemon's logs: plays no part."""
    d = daemon_factory(extra_yaml=SPARK_LOGS_CONFIG)
    ns, name, meta = started(cluster, crds, d, "sparklogs")
    start = unix(SPARK.stored(cluster, ns, name)["metadata"]["creationTimestamp"])
    driver = f"{name}-driver"

    def want(end):
        return [("Driver(Driver Logs)", f"https://logs.example.com/{ns}/{driver}?start={start}&end={end}", False),
                ("User(User Logs)", f"https://user.example.com/{driver}", False),
                ("Kubernetes Logs(System Logs)", f"https://k8s.example.com/{ns}/{name}", False),
                ("All(Spark-Submit/All User Logs)", f"https://all.example.com/{name}", True)]

    def got(r):
        return [(l.name, l.uri, l.ShowWhilePending) for l in r.log_links]

    SPARK.patch(cluster, ns, name, {"applicationState": {"state": "SUBMITTED"}, "submissionAttempts": 1,
                                    "driverInfo": {"podName": driver}})
    r = SPARK.wait_phase(d, meta, PHASE.INITIALIZING, "job submitted (submission attempt 1 of 15)")
    assert got(r) == want(0), got(r)
    ended = rfc3339()
    SPARK.patch(cluster, ns, name, {"applicationState": {"state": "COMPLETED"}, "terminationTime": ended,
                                    "driverInfo": {"podName": driver}})
    r = SPARK.wait_phase(d, meta, PHASE.SUCCEEDED)
    assert got(r) == want(unix(ended)), got(r)



# spark-operator v2 fields (docs/parity/spark.md): the pinned v2.3.0 CRD has the role templates
# and batchSchedulerOptions (spec.suspend came with 2.4 and is covered by the unit fixtures).
OPERATOR_V2_CONFIG = plugin_settings_config("spark", """\
enable-pod-template: true
batch-scheduler: volcano
batch-scheduler-queue: research
""")


@pytest.mark.parametrize("name,make", [("v2basic", spark_tasks.basic), ("v2roles", spark_tasks.pod_templates)])
def test_operator_v2_fields_are_stored_under_the_crd(cluster, crds, daemon_factory, tmp_path, name, make):
    d = daemon_factory(extra_yaml=OPERATOR_V2_CONFIG)
    ns = cluster.new_namespace("spark")
    template = make()
    rendered = render(d, tmp_path, ns, name, template)
    create(d, ns, name, template)
    created = SPARK.stored(cluster, ns, f"{name}-n0-0")
    assert created is not None, d.tail()
    for obj in (rendered, created):
        assert obj["spec"]["sparkConf"].pop(START_TIME).isdigit()
    mismatch = subset_mismatch(rendered, created)
    assert mismatch is None, mismatch
    spec = created["spec"]
    assert spec["sparkVersion"] == "3.0.0"
    assert spec["batchScheduler"] == "volcano" and spec["batchSchedulerOptions"] == {"queue": "research"}
    conf = spec["sparkConf"]
    assert conf["spark.kubernetes.driver.podTemplateContainerName"] == "spark-kubernetes-driver"
    assert conf["spark.kubernetes.executor.podTemplateContainerName"] == "spark-kubernetes-executor"
    driver, executor = spec["driver"]["template"]["spec"], spec["executor"]["template"]["spec"]
    if name == "v2basic":
        (dc,) = driver["containers"]
        assert dc["name"] == "spark-kubernetes-driver" and "args" not in dc and "command" not in dc
        assert executor["containers"][0]["name"] == "spark-kubernetes-executor"
    else:  # the roles' own pod specs, verbatim
        assert driver["nodeSelector"] == spec["driver"]["nodeSelector"]
        assert executor["nodeSelector"] == spec["executor"]["nodeSelector"]
