"""Fixtures of the FlytePropeller tier (tests/propeller): the engine tests' real kube-apiserver,
one flyteplugd and one FlytePropeller v1.16.8 for the whole session (propeller_tier.py). The tier
skips, saying why, when the Flyte sources it builds propeller from are absent."""
from __future__ import annotations

import pytest

import propeller_tier as tier

cluster = tier.engine_conftest.cluster


@pytest.fixture(scope="session")
def propeller_bin():
    try:
        return tier.propeller_bin_dir()
    except tier.SourcesMissing as e:
        pytest.skip(str(e))
    except RuntimeError as e:
        pytest.fail(str(e))


@pytest.fixture(scope="session")
def daemon(cluster, tmp_path_factory):
    """flyteplugd for the whole tier; started before propeller, which asks it for task types,
    and after the operators' CRDs, which it watches."""
    tier.operator_crds(cluster, "spark", "kubeflow")
    d = tier.engine_conftest.Daemon(tmp_path_factory.mktemp("flyteplugd"), cluster)
    d.start()
    yield d
    d.stop()


@pytest.fixture(scope="session")
def propeller(propeller_bin, cluster, daemon, tmp_path_factory):
    # A workflow round every 2 s instead of 10 s: the connector's status cache does not wake a
    # workflow, so each step of a test would otherwise wait up to 10 s (bench/propeller).
    p = tier.Propeller(tmp_path_factory.mktemp("propeller"), cluster, propeller_bin,
                       f"dns:///127.0.0.1:{daemon.port}",
                       propeller={"workflow-reeval-duration": "2s"}).start()
    yield p
    p.stop()


