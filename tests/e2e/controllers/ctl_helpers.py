"""Polling and small accessors the controller tests share (imported by name: pytest puts this
folder on sys.path)."""
from __future__ import annotations

import time


def wait_for(what, fn, timeout=60.0, interval=0.2):
    """Polls fn() until it returns something truthy; returns it, or fails with `what` and the
    last value seen."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")


def get(cluster, path):
    st, obj = cluster.request("GET", path)
    return obj if st == 200 else None


def condition(obj, ctype):
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == ctype:
            return c.get("status")
    return None
