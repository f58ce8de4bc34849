"""libcurl against a plain OpenSSL client for the POST flyteplugd makes on each CreateTask.

    FPD_BIN=build/daemon/flyteplugd .venv/bin/python bench/transport/run.py [--samples 400]

Starts the real kube-apiserver + etcd (tests/cluster), renders the pod a flytekit python task
becomes (`flyteplugd render`), builds h1post.c with the system compiler (libcurl, OpenSSL) and
runs it: the same pod POSTed alternately by libcurl and by OpenSSL alone over kept-alive HTTP/1.1
connections. The difference of the medians is what libcurl's own work costs per call.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "cluster"))
sys.path.insert(0, str(ROOT / "tests" / "e2e" / "engine"))

import flytekit_tasks  # noqa: E402
from cluster import Cluster  # noqa: E402
from conftest import execution_metadata  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=400)
    a = ap.parse_args()
    binary = os.environ.get("FPD_BIN", str(ROOT / "build" / "daemon" / "flyteplugd"))
    work = Path(tempfile.mkdtemp(prefix="fpd-bench-transport-"))
    tool = work / "h1post"
    subprocess.run(["cc", "-O2", "-o", str(tool), str(Path(__file__).with_name("h1post.c")),
                    "-lcurl", "-lssl", "-lcrypto"], check=True)
    with Cluster(workdir=work / "cluster") as cluster:
        ns = cluster.new_namespace("transport")
        (work / "t.pb").write_bytes(flytekit_tasks.python_task().SerializeToString())
        (work / "m.pb").write_bytes(execution_metadata(ns, "x").SerializeToString())
        pod = json.loads(subprocess.run(
            [binary, "render", "--template", str(work / "t.pb"), "--metadata", str(work / "m.pb"),
             "-o", "json"], capture_output=True, text=True, check=True).stdout)
        pod["metadata"]["name"] = "NAMEX"
        (work / "pod.json").write_text(json.dumps(pod, separators=(",", ":")))
        host, port = cluster.server.replace("https://", "").split(":")
        subprocess.run([str(tool), host, port, str(cluster.ca_file), str(cluster.client_cert),
                        str(cluster.client_key), str(work / "pod.json"), ns, str(a.samples)],
                       check=True)


if __name__ == "__main__":
    main()
