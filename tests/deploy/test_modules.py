"""components/kubeflow-v2: the image's plugin modules (trainer.so, mpi-v2.so) enabled by
configuration. Its configuration is the base's plus plugins.modules and plugins.routes with
`mpi` left out, passes `flyteplugd check-config` with the modules this build made (the image
test runs the same check inside the image, where the modules are at the paths the file names),
and its rendering adds exactly the TrainJob verbs to the role."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

from deploylib import BIN, KUSTOMIZE, find

CONFIG = KUSTOMIZE / "components" / "kubeflow-v2" / "config.yaml"
IMAGE_DIR = "/usr/lib/flyteplugd/"
OWN = ["create", "get", "list", "watch", "patch", "delete"]


def built_module(path: str) -> Path:
    """The build's module for an image path: /usr/lib/flyteplugd/x.so -> build/plugins/modules/x/x.so."""
    assert path.startswith(IMAGE_DIR), path
    name = Path(path).name
    return Path(BIN).resolve().parents[1] / "plugins" / "modules" / name[:-3] / name


def host_config(tmp_path: Path, cfg: dict) -> Path:
    cfg["plugins"]["modules"] = [str(built_module(m)) for m in cfg["plugins"]["modules"]]
    out = tmp_path / "config.yaml"
    out.write_text(yaml.safe_dump(cfg))
    return out


def test_config_adds_only_the_modules_and_routes():
    base = yaml.safe_load((KUSTOMIZE / "base" / "config.yaml").read_text())
    v2 = yaml.safe_load(CONFIG.read_text())
    assert v2["plugins"].pop("modules") == [IMAGE_DIR + "trainer.so", IMAGE_DIR + "mpi-v2.so"]
    assert v2["plugins"].pop("routes") == [{"task_type": "pytorch", "namespaces": ["*"], "plugin": "trainer"}]
    assert v2["plugins"]["enabled"] == [p for p in base["plugins"]["enabled"] if p != "mpi"]
    v2["plugins"]["enabled"] = base["plugins"]["enabled"]
    assert v2 == base


def test_config_passes_check_config_with_the_built_modules(tmp_path):
    cfg = host_config(tmp_path, yaml.safe_load(CONFIG.read_text()))
    for m in yaml.safe_load(cfg.read_text())["plugins"]["modules"]:
        assert Path(m).is_file(), f"{m} missing: ninja builds fpd_trainer and fpd_mpi_v2"
    out = subprocess.run([BIN, "check-config", str(cfg)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    # It can fail: with the built-in mpi plugin left in, mpi is served twice.
    bad = yaml.safe_load(CONFIG.read_text())
    bad["plugins"]["enabled"].append("mpi")
    out = subprocess.run([BIN, "check-config", str(host_config(tmp_path, bad))], capture_output=True, text=True)
    assert out.returncode == 2 and 'served by both "mpi" and "mpi-v2"' in out.stderr, out.stderr
    # ... and a module that is not there is named.
    bad = yaml.safe_load(CONFIG.read_text())
    bad["plugins"]["modules"][0] = str(tmp_path / "trainer.so")
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(bad))
    out = subprocess.run([BIN, "check-config", str(tmp_path / "bad.yaml")], capture_output=True, text=True)
    assert out.returncode == 2 and re.search(r"plugins\.modules\[0\].*trainer\.so", out.stderr), out.stderr


def test_component_renders_its_config_and_trainjob_verbs(render):
    base_rules = find(render("base"), "ClusterRole", "flyteplugd")["rules"]
    docs = render("overlays/flyte-binary", ("kubeflow-v2",))
    rules = find(docs, "ClusterRole", "flyteplugd")["rules"]
    plain = find(render("overlays/flyte-binary"), "ClusterRole", "flyteplugd")["rules"]
    assert rules[:len(plain)] == plain and rules[:len(base_rules)] == base_rules
    assert rules[len(plain):] == [{"apiGroups": ["trainer.kubeflow.org"], "resources": ["trainjobs"],
                                   "verbs": OWN}]
    dep = find(docs, "Deployment", "flyteplugd")
    name = next(v["configMap"]["name"] for v in dep["spec"]["template"]["spec"]["volumes"]
                if v["name"] == "config")
    assert yaml.safe_load(find(docs, "ConfigMap", name)["data"]["config.yaml"]) == \
        yaml.safe_load(CONFIG.read_text())
