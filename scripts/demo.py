"""The flyteplugd demo: a flytekit task, serialized by the real flytekit, runs as a pod on a
real kube-apiserver through the agent protocol FlytePropeller speaks.

Run through scripts/demo.sh, which builds everything first.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "cluster"))
sys.path.insert(0, str(ROOT / "tests" / "e2e" / "engine"))

import grpc  # noqa: E402
from flyteidl.admin import agent_pb2  # noqa: E402
from flyteidl.core import execution_pb2  # noqa: E402
from flyteidl.service import agent_pb2_grpc  # noqa: E402

import flytekit_tasks  # noqa: E402
from cluster import Cluster, free_port  # noqa: E402
from conftest import execution_metadata  # noqa: E402

PHASE = execution_pb2.TaskExecution.Phase
BOLD, DIM, OFF = ("\033[1m", "\033[2m", "\033[0m") if sys.stdout.isatty() else ("", "", "")


def say(text: str) -> None:
    print(f"{BOLD}==> {text}{OFF}", flush=True)


def show(resource) -> None:
    print(f"    phase: {BOLD}{PHASE.Name(resource.phase)}{OFF}"
          + (f"   message: {resource.message}" if resource.message else ""))
    for link in resource.log_links:
        print(f"    log link: {link.name} -> {link.uri}")


def poll(stub, meta, want, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = stub.GetTask(agent_pb2.GetTaskRequest(task_type="python-task", resource_meta=meta),
                         timeout=10).resource
        if r.phase == want:
            return r
        time.sleep(0.2)
    raise SystemExit(f"the task did not reach {PHASE.Name(want)}")


def kubelet_status(phase, container, state):
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    ready = phase == "Running"
    return {"phase": phase,
            "conditions": [{"type": "PodScheduled", "status": "True"},
                           {"type": "Ready", "status": "True" if ready else "False",
                            "reason": "" if ready else "ContainersNotReady", "lastTransitionTime": now}],
            "containerStatuses": [{"name": container, "ready": ready, "restartCount": 0,
                                   "image": flytekit_tasks.IMAGE, "imageID": "",
                                   "containerID": "containerd://demo", "state": state}]}


def main() -> int:
    binary = os.environ.get("FPD_BIN", str(ROOT / "build" / "daemon" / "flyteplugd"))
    work = Path(tempfile.mkdtemp(prefix="flyteplugd-demo-"))
    say("Starting a real kube-apiserver and etcd on 127.0.0.1 (tests/cluster)")
    with Cluster(workdir=work / "cluster") as cluster:
        ns = cluster.new_namespace("flytesnacks-development")
        port = free_port()
        key = work / "signing.key"
        key.write_bytes(os.urandom(32))
        config = work / "flyteplugd.yaml"
        config.write_text(f'grpc: {{listen: "127.0.0.1:{port}"}}\nadmin: {{enabled: false}}\n'
                          f'kubernetes: {{kubeconfig: "{cluster.kubeconfig}"}}\n'
                          f'engine: {{signing_key_file: "{key}"}}\n')
        say(f"Starting flyteplugd on 127.0.0.1:{port} (log: {work / 'flyteplugd.log'})")
        log = open(work / "flyteplugd.log", "wb")
        daemon = subprocess.Popen([binary, "serve", "--config", str(config)], stdout=log,
                                  stderr=subprocess.STDOUT)
        try:
            channel = grpc.insecure_channel(f"127.0.0.1:{port}")
            grpc.channel_ready_future(channel).result(timeout=30)
            stub = agent_pb2_grpc.AsyncAgentServiceStub(channel)

            say("Serializing a flytekit task (flytekit_tasks.say_hello) with the real flytekit")
            template = flytekit_tasks.python_task()
            print(f"    type {template.type}, image {template.container.image}")
            say("CreateTask through the agent protocol (grpcio + flyteidl), as FlytePropeller does")
            execution = "demo" + os.urandom(3).hex()
            meta = stub.CreateTask(agent_pb2.CreateTaskRequest(
                template=template, output_prefix=f"s3://demo-bucket/metadata/{execution}/n0/data/0",
                task_execution_metadata=execution_metadata(ns, execution)), timeout=30).resource_meta
            print(f"    resource_meta ({len(meta)} bytes): {meta.decode()}")
            name = f"{execution}-n0-0"
            status, pod = cluster.request("GET", f"/api/v1/namespaces/{ns}/pods/{name}")
            container = pod["spec"]["containers"][0]["name"]
            print(f"    pod {ns}/{name} created, container {container}, labels:")
            for k, v in sorted(pod["metadata"]["labels"].items()):
                print(f"      {k}={v}")
            show(poll(stub, meta, PHASE.QUEUED))

            say("No kubelet runs here: the demo writes pod status as a kubelet would")
            print(f"    {DIM}kubelet: pulling the image, creating the container{OFF}")
            cluster.patch_pod_status(ns, name, kubelet_status(
                "Pending", container, {"waiting": {"reason": "ContainerCreating"}}))
            show(poll(stub, meta, PHASE.INITIALIZING))
            print(f"    {DIM}kubelet: container started{OFF}")
            started = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            cluster.patch_pod_status(ns, name, kubelet_status(
                "Running", container, {"running": {"startedAt": started}}))
            show(poll(stub, meta, PHASE.RUNNING))
            print(f"    {DIM}kubelet: container exited 0{OFF}")
            cluster.patch_pod_status(ns, name, kubelet_status(
                "Succeeded", container, {"terminated": {"exitCode": 0, "reason": "Completed"}}))
            show(poll(stub, meta, PHASE.SUCCEEDED))

            say("DeleteTask (propeller calls it on abort; finished tasks are also cleaned up after engine.cleanup_ttl)")
            stub.DeleteTask(agent_pb2.DeleteTaskRequest(task_type="python-task", resource_meta=meta),
                            timeout=30)
            for _ in range(100):
                status, _ = cluster.request("GET", f"/api/v1/namespaces/{ns}/pods/{name}")
                if status == 404:
                    break
                time.sleep(0.1)
            print(f"    pod {ns}/{name}: {'deleted' if status == 404 else 'still there'}")
            channel.close()
        finally:
            daemon.terminate()
            rc = daemon.wait(timeout=30)
            say(f"flyteplugd stopped (exit code {rc}); stopping the cluster")
    return 0


if __name__ == "__main__":
    sys.exit(main())
