"""The Flyte IDL flyteplugd compiles (the pinned @flyteorg/flyteidl npm package) describes the same
messages, field for field, as the `flyteidl` Python package that flytekit and propeller's tests use.

The npm package trails PyPI by patch releases; this test is what makes that pin safe: any field
added, renumbered or retyped in the protos flyteplugd compiles shows up here by name.
"""
import glob
import importlib
import os
import subprocess

import pytest
from google.protobuf import descriptor_pb2

ROOT = os.environ.get("FPD_ROOT", os.path.abspath(os.path.join(os.path.dirname(__file__), "../../..")))
BUILD = os.environ.get("FPD_BUILD", os.path.join(ROOT, "build"))


# Known differences, each with its reason. Anything not listed fails the test.
# flyteidl 1.16.7 (PyPI) added Ray autoscaler options; the newest npm release is 1.16.5, so the
# compiled IDL lacks them. flytekit's Ray plugin sends them inside TaskTemplate.custom (a Struct),
# so the Ray plugin reads `autoscalerOptions` from the Struct itself (see docs/parity.md).
KNOWN_DRIFT = {
    ("flyteidl/plugins/ray.proto", "RayCluster.autoscaler_options"),
    ("flyteidl/plugins/ray.proto", "AutoscalerOptions.upscaling_mode"),
    ("flyteidl/plugins/ray.proto", "AutoscalerOptions.idle_timeout_seconds"),
    ("flyteidl/plugins/ray.proto", "AutoscalerOptions.env"),
    ("flyteidl/plugins/ray.proto", "AutoscalerOptions.image"),
    ("flyteidl/plugins/ray.proto", "AutoscalerOptions.resources"),
    ("flyteidl/plugins/ray.proto", "AutoscalerOptions.UpscalingMode.UPSCALING_MODE_UNSPECIFIED"),
    ("flyteidl/plugins/ray.proto", "AutoscalerOptions.UpscalingMode.UPSCALING_MODE_DEFAULT"),
    ("flyteidl/plugins/ray.proto", "AutoscalerOptions.UpscalingMode.UPSCALING_MODE_AGGRESSIVE"),
    ("flyteidl/plugins/ray.proto", "AutoscalerOptions.UpscalingMode.UPSCALING_MODE_CONSERVATIVE"),
}


def _protos_dir():
    dirs = glob.glob(os.path.join(BUILD, "proto", "flyteidl-*", "package", "protos"))
    if not dirs:
        pytest.fail(f"no unpacked Flyte IDL under {BUILD}/proto: build flyteplugd first")
    return dirs[0]


def _compiled_files(protos):
    """The .proto files proto/CMakeLists.txt compiles (flyteidl/ ones)."""
    cmake = open(os.path.join(ROOT, "proto", "CMakeLists.txt")).read()
    names = [w for w in cmake.split() if w.startswith("flyteidl/") and w.endswith(".proto")]
    assert len(names) > 20, "could not read the proto list from proto/CMakeLists.txt"
    return names


def _descriptor_set(protos, files, tmp_path):
    out = tmp_path / "set.pb"
    subprocess.run(["protoc", f"-I{protos}", "-I/usr/include", f"--descriptor_set_out={out}", *files],
                   check=True)
    fds = descriptor_pb2.FileDescriptorSet()
    fds.ParseFromString(out.read_bytes())
    return {f.name: f for f in fds.file}


def _fields(msg, prefix=""):
    """Flattens a DescriptorProto into {qualified field: (number, type, label, type_name, oneof)}."""
    name = prefix + msg.name
    out = {}
    for f in msg.field:
        oneof = msg.oneof_decl[f.oneof_index].name if f.HasField("oneof_index") else ""
        out[f"{name}.{f.name}"] = (f.number, f.type, f.label, f.type_name, oneof)
    for nested in msg.nested_type:
        out.update(_fields(nested, name + "."))
    for enum in msg.enum_type:
        out.update(_enum(enum, name + "."))
    return out


def _enum(enum, prefix=""):
    return {f"{prefix}{enum.name}.{v.name}": v.number for v in enum.value}


def _flatten(fdp):
    out = {}
    for m in fdp.message_type:
        out.update(_fields(m))
    for e in fdp.enum_type:
        out.update(_enum(e))
    return out


def test_npm_idl_matches_pypi_flyteidl(tmp_path):
    protos = _protos_dir()
    files = _compiled_files(protos)
    ours = _descriptor_set(protos, files, tmp_path)
    checked = 0
    problems = []
    drift_seen = set()
    for name in files:
        module = importlib.import_module(name[:-len(".proto")].replace("/", ".") + "_pb2")
        theirs = descriptor_pb2.FileDescriptorProto()
        module.DESCRIPTOR.CopyToProto(theirs)
        a, b = _flatten(ours[name]), _flatten(theirs)
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                if (name, key) in KNOWN_DRIFT and a.get(key) is None:
                    drift_seen.add((name, key))
                    continue
                problems.append(f"{name}: {key}: npm {a.get(key)} vs PyPI {b.get(key)}")
        checked += len(a)
    assert checked > 500, f"only {checked} fields compared"
    stale = KNOWN_DRIFT - drift_seen
    assert not stale, f"KNOWN_DRIFT lists differences that are gone; remove them: {sorted(stale)}"
    assert not problems, "Flyte IDL drift between the npm pin and PyPI flyteidl:\n" + "\n".join(problems)
