"""What the operator (CRD) task tests share: CreateTask and `flyteplugd render` of a task,
`CrdTask` for one operator's custom resource (the stored object, status patches as the operator
writes them, Flyte 1's CreateTask, GetTask and DeleteTask for its task type, waits for a phase), and the daemon
configuration of the per-plugin log tests; subset_mismatch (the stored object against the
rendered one) is the engine tests' (engine/conftest.py).
The test modules import it by name: pytest puts this folder on sys.path, as for conftest."""
from __future__ import annotations

import json
import subprocess
import textwrap
import time
from datetime import datetime, timezone

from flyteidl.admin import agent_pb2
from flyteidl.core import execution_pb2

import engine_conftest
from engine_conftest import subset_mismatch  # noqa: F401 (the test modules' comparison)

PHASE = execution_pb2.TaskExecution


def output_prefix(execution):
    return f"s3://bucket/meta/{execution}/n0/data/0"


def create(daemon, ns, execution, template, metadata=None):
    """CreateTask for template, node n0 attempt 0 of execution in ns; metadata is the
    TaskExecutionMetadata (engine_conftest.execution_metadata's when None). Returns the
    resource_meta."""
    if metadata is None:
        metadata = engine_conftest.execution_metadata(ns, execution)
    req = agent_pb2.CreateTaskRequest(template=template, output_prefix=output_prefix(execution),
                                      task_execution_metadata=metadata)
    return daemon.stub.CreateTask(req, timeout=30).resource_meta


def render(daemon, tmp_path, ns, execution, template, metadata=None):
    """`flyteplugd render` of what create() sends, under the daemon's configuration: the object
    it would create, as JSON."""
    if metadata is None:
        metadata = engine_conftest.execution_metadata(ns, execution)
    (tmp_path / "t.pb").write_bytes(template.SerializeToString())
    (tmp_path / "m.pb").write_bytes(metadata.SerializeToString())
    out = subprocess.run([engine_conftest.BIN, "render", "--template", str(tmp_path / "t.pb"),
                          "--metadata", str(tmp_path / "m.pb"), "--config", str(daemon.config),
                          "--output-prefix", output_prefix(execution), "-o", "json"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def links(resource):
    """GetTask's log links, in order, as (name, uri) pairs."""
    return [(l.name, l.uri) for l in resource.log_links]


def rfc3339(dt=None):
    """dt (now when None) as the API server writes times."""
    return (dt or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")


def unix(text):
    """An RFC 3339 time as Unix seconds."""
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z").timestamp())


class CrdTask:
    """Tasks of one task type that run as one operator's custom resource."""

    def __init__(self, group, version, plural, task_type, status_defaults=None):
        self.group, self.version, self.plural, self.task_type = group, version, plural, task_type
        # Status fields the CRD requires and the operator always writes: patch() adds them.
        self.status_defaults = status_defaults or {}

    def path(self, cluster, ns, name=None):
        return cluster.resource_path(self.group, self.version, self.plural, ns, name)

    def stored(self, cluster, ns, name):
        """The object as the API server stores it, or None when there is none."""
        st, obj = cluster.request("GET", self.path(cluster, ns, name))
        return obj if st == 200 else None

    def names(self, cluster, ns):
        """The names of every such object in ns, sorted."""
        st, obj = cluster.request("GET", self.path(cluster, ns))
        assert st == 200, obj
        return sorted(o["metadata"]["name"] for o in obj["items"])

    def patch(self, cluster, ns, name, status):
        """Merge-patches the object's status as the operator writes it."""
        cluster.patch_status(self.group, self.version, self.plural, ns, name,
                             {**self.status_defaults, **status})

    def create(self, daemon, ns, execution, template):
        """create() (Flyte 1's CreateTask); the resource_meta."""
        return create(daemon, ns, execution, template)

    def get(self, daemon, meta):
        """GetTask's resource for the task."""
        req = agent_pb2.GetTaskRequest(task_type=self.task_type, resource_meta=meta)
        return daemon.stub.GetTask(req, timeout=30).resource

    def delete(self, daemon, meta):
        req = agent_pb2.DeleteTaskRequest(task_type=self.task_type, resource_meta=meta)
        daemon.stub.DeleteTask(req, timeout=30)

    def wait_for(self, daemon, meta, pred, what, timeout=20):
        """Polls GetTask until pred(resource) holds and returns that resource. Fails with what
        was wanted, the last phase, message and links, and the daemon's log tail."""
        deadline = time.time() + timeout
        while True:
            r = self.get(daemon, meta)
            if pred(r):
                return r
            if time.time() >= deadline:
                raise AssertionError(f"wanted {what}; last {PHASE.Phase.Name(r.phase)} ({r.message!r}) "
                                     f"{links(r)}\n{daemon.tail()}")
            time.sleep(0.2)

    def wait_phase(self, daemon, meta, phase, message=None):
        """wait_for the phase, with that message when one is given."""
        return self.wait_for(daemon, meta,
                             lambda r: r.phase == phase and (message is None or r.message == message),
                             PHASE.Phase.Name(phase) + ("" if message is None else f" {message!r}"))

    def keeps_phase(self, daemon, meta, phase, seconds=1.5):
        """After a status the plugin does not know: the task is still in phase seconds later."""
        time.sleep(seconds)
        r = self.get(daemon, meta)
        assert r.phase == phase, (PHASE.Phase.Name(r.phase), r.message)

    def wait_deleted(self, daemon, cluster, ns, name, timeout=20):
        """Waits until the object is gone; fails with the daemon's log tail."""
        deadline = time.time() + timeout
        while self.stored(cluster, ns, name) is not None and time.time() < deadline:
            time.sleep(0.2)
        assert self.stored(cluster, ns, name) is None, daemon.tail()


# The daemon's own logs: section in the per-plugin log tests. A plugin whose
# plugins.settings.<plugin>.logs is set must not use it.
DAEMON_LOGS = """\
logs:
  kubernetes-enabled: false
  templates:
    - displayName: Daemon
      templateUris: ["https://daemon.example.com/{{ .namespace }}/{{ .podName }}"]
"""


def plugin_settings_config(plugin, settings):
    """Configuration text for a daemon (daemon_factory's extra_yaml): DAEMON_LOGS, and settings
    (YAML text written from column 0) as plugins.settings.<plugin>."""
    return DAEMON_LOGS + f"plugins:\n  settings:\n    {plugin}:\n" + textwrap.indent(settings, " " * 6)
