"""FlyteplugdTask (sdk/python) with the real flytekit: the TaskTemplate it serializes to, what
`pyflyte package` writes, that the package installs with pip, and that a local execution refuses
to run it unless mocked."""
from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from flyteidl.admin import task_pb2
from flytekit import Resources, kwtypes
from flytekit.testing import task_mock
from google.protobuf.json_format import MessageToDict

from sdklib import ROOT, serialize
from flytekitplugins.flyteplugd import FlyteplugdLocalExecutionError, FlyteplugdTask
import sdk_tasks

HERE = Path(__file__).resolve().parent
PY = sys.executable


def test_template_carries_type_version_custom_interface_container():
    t = serialize(sdk_tasks.train)
    assert t.type == "batch-job" and t.task_type_version == 2, t
    assert t.id.name == "sdk_tasks.train"
    assert MessageToDict(t.custom) == {"queue": "gpu", "steps": 100, "ratio": 0.5, "tags": ["a", "b"],
                                       "nested": {"on": True, "none": None}}
    assert t.custom.fields["queue"].string_value == "gpu"  # a plain Struct, no wrapping
    ins = {k: v.type.simple for k, v in t.interface.inputs.variables.items()}
    outs = {k: v.type.simple for k, v in t.interface.outputs.variables.items()}
    assert ins == {"n": 1, "label": 3} and outs == {"result": 3}, (ins, outs)  # INTEGER, STRING
    c = t.container
    assert c.image == "ghcr.io/acme/trainer:1.2"
    assert list(c.command) == ["train"] and list(c.args) == ["--n", "{{.inputs.n}}"]
    assert {e.key: e.value for e in c.env} == {"MODE": "fast"}
    req = {r.name: r.value for r in c.resources.requests}
    lim = {r.name: r.value for r in c.resources.limits}
    assert req == {1: "1", 3: "2Gi"} and lim == {1: "2", 3: "4Gi"}, (req, lim)  # CPU, MEMORY


def test_template_without_image_has_no_container():
    t = serialize(sdk_tasks.report)
    assert t.type == "batch-job" and t.task_type_version == 0
    assert not t.HasField("container"), t.container
    assert MessageToDict(t.custom) == {"greeting": "hello"}
    assert t.WhichOneof("target") is None


def test_container_image_alias_and_empty_config():
    t = serialize(FlyteplugdTask(name="alias", task_type="batch-job", container_image="busybox:1.36"))
    assert t.container.image == "busybox:1.36"
    assert not t.HasField("custom")  # flytekit leaves an empty custom unset
    assert not t.interface.inputs.variables and not t.interface.outputs.variables


@pytest.mark.parametrize("kwargs,error", [
    ({"task_type": "Batch Job"}, "task_type 'Batch Job'"),
    ({"task_type": ""}, "task_type ''"),
    ({"task_type": "batch-job", "task_type_version": -1}, "task_type_version -1"),
    ({"task_type": "batch-job", "task_type_version": "1"}, "task_type_version '1'"),
    ({"task_type": "batch-job", "config": ["a"]}, "config: expected a dict"),
    ({"task_type": "batch-job", "requests": Resources(cpu="1")}, "need a container"),
    ({"task_type": "batch-job", "image": "a", "container_image": "b"}, "different images"),
])
def test_bad_arguments_are_refused(kwargs, error):
    with pytest.raises((ValueError, TypeError)) as e:
        FlyteplugdTask(name="bad", **kwargs)
    assert error in str(e.value)


def test_local_execution_refuses_with_a_clear_error():
    with pytest.raises(FlyteplugdLocalExecutionError) as e:
        sdk_tasks.pipeline(n=3)
    text = str(e.value)
    assert "sdk_tasks.train" in text and "batch-job" in text and "task_mock" in text, text


def test_local_execution_with_task_mock():
    with task_mock(sdk_tasks.train) as train, task_mock(sdk_tasks.report) as report:
        train.return_value = "trained"
        report.return_value = True
        assert sdk_tasks.pipeline(n=5) is True
    train.assert_called_once_with(n=5, label="x")
    report.assert_called_once_with(text="trained")


def test_pyflyte_package_writes_the_task_spec(tmp_path):
    out = tmp_path / "flyte-package.tgz"
    env = dict(os.environ, PYTHONPATH=str(HERE))
    r = subprocess.run([str(Path(PY).parent / "pyflyte"), "--pkgs", "sdk_tasks", "package",
                        "--image", "ghcr.io/acme/base:1", "--output", str(out), "--force"],
                       cwd=HERE, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    specs = {}
    with tarfile.open(out) as tar:
        for m in tar.getmembers():
            if m.name.endswith(".pb") and "_1.pb" in m.name:  # tasks (0: workflows, 2: launch plans)
                spec = task_pb2.TaskSpec()
                spec.ParseFromString(tar.extractfile(m).read())
                specs[spec.template.id.name] = spec.template
    assert set(specs) >= {"sdk_tasks.train", "sdk_tasks.report"}, sorted(specs)
    train = specs["sdk_tasks.train"]
    assert train.type == "batch-job" and train.task_type_version == 2
    assert train.container.image == "ghcr.io/acme/trainer:1.2"
    assert MessageToDict(train.custom)["steps"] == 100
    assert not specs["sdk_tasks.report"].HasField("container")


def test_pip_installs_the_package(tmp_path):
    target = tmp_path / "site"
    r = subprocess.run([PY, "-m", "pip", "install", "-q", "--no-deps",
                        "--target", str(target), str(ROOT / "sdk" / "python")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    probe = ("import flytekitplugins.flyteplugd as m, importlib.metadata as md; print(m.__file__); "
             "print([e.value for e in md.entry_points(group='flytekit.plugins') "
             "if e.name == 'flyteplugd'])")
    r = subprocess.run([PY, "-c", probe], env=dict(os.environ, PYTHONPATH=str(target)),
                       capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    where, entry = r.stdout.splitlines()
    assert where.startswith(str(target)), where
    assert entry == "['flytekitplugins.flyteplugd']", entry


@pytest.mark.skipif(not os.environ.get("FPD_FLYTEADMIN"),
                    reason="pyflyte register needs a flyteadmin: set FPD_FLYTEADMIN=host:port")
def test_pyflyte_register_non_fast():
    env = dict(os.environ, PYTHONPATH=str(HERE), FLYTE_PLATFORM_URL=os.environ["FPD_FLYTEADMIN"],
               FLYTE_PLATFORM_INSECURE="true")
    r = subprocess.run([str(Path(PY).parent / "pyflyte"), "register", "--non-fast", "--project",
                        "flytesnacks", "--domain", "development", "--image", "ghcr.io/acme/base:1",
                        "--version", f"sdk-{os.getpid()}", "sdk_tasks.py"],
                       cwd=HERE, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "sdk_tasks.train" in r.stdout, r.stdout
