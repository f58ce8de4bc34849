#!/usr/bin/env python3
"""Seeds for fuzz_build, written into the directory given: one CreateTaskRequest per task
that flytekit's own plugins serialize (container, pod template, raw container, Spark, PyTorch,
TensorFlow, MPI, Ray, Dask, clustered-task), each behind the driver's plugin byte (0). Run by the fuzz stage
of scripts/test.sh with the project's venv, so the templates are never typed in by hand."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for d in ("tests/e2e/engine", "tests/e2e/operators", "tests/cluster"):
    sys.path.insert(0, str(ROOT / d))

from flyteidl.admin import agent_pb2  # noqa: E402

import flytekit_tasks  # noqa: E402
import jobset_tasks  # noqa: E402
import kubeflow_tasks  # noqa: E402
import ray_dask_tasks  # noqa: E402
import spark_tasks  # noqa: E402
from conftest import execution_metadata  # noqa: E402


def main(out: Path):
    templates = {
        "python-task": flytekit_tasks.python_task(),
        "pod-template": flytekit_tasks.pod_template_task(),
        "raw-container": flytekit_tasks.raw_container_task(),
        "spark": spark_tasks.basic(),
        "spark-pod-templates": spark_tasks.pod_templates(),
        **{name: make() for name, make in kubeflow_tasks.CASES.items()},
        **{name: ray_dask_tasks.template(name) for name in ray_dask_tasks.TASKS},
        **{name: jobset_tasks.template(name) for name in ("train", "train_restarts")},
    }
    out.mkdir(parents=True, exist_ok=True)
    for name, template in templates.items():
        md = execution_metadata("fuzz", "f1a2b3", attempt=1)
        md.labels["team"] = "fuzz"
        md.environment_variables["EXTRA"] = "1"
        req = agent_pb2.CreateTaskRequest(template=template, task_execution_metadata=md,
                                          output_prefix="s3://bucket/metadata/f1a2b3/n0/data/1")
        (out / f"{name}.bin").write_bytes(b"\0" + req.SerializeToString())


if __name__ == "__main__":
    main(Path(sys.argv[1]))
