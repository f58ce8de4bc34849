"""Fixtures for the SDK tests: the engine tests' cluster and daemon (see sdklib.py)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sdklib import cluster, daemon, daemon_factory  # noqa: E402,F401
