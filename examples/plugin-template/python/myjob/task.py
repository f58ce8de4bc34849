"""MyJobTask: fills the mycompany.MyJob message the plugin reads from TaskTemplate.custom.

Going through the generated message, not a plain dict, checks the fields where the task is
defined: a string for replicas fails on the user's machine, not when the daemon decodes custom."""
from __future__ import annotations

from typing import Any, Dict, Optional

from flytekit.configuration import SerializationSettings
from flytekitplugins.flyteplugd import FlyteplugdTask
from google.protobuf.json_format import MessageToDict

from . import myjob_pb2

TASK_TYPE = "myjob"
TASK_TYPE_VERSION = 0


class MyJobTask(FlyteplugdTask):
    """A task run as a Kubernetes Job of `replicas` pods of `image`, with `params` as env.
    Other keyword arguments are FlyteplugdTask's (inputs, outputs, requests, command, ...)."""

    def __init__(self, name: str, image: str = "", replicas: int = 1,
                 params: Optional[Dict[str, str]] = None, backoff_limit: int = 0, **kwargs):
        self._job = myjob_pb2.MyJob(image=image, replicas=replicas, params=params or {},
                                    backoff_limit=backoff_limit)
        # The image is also the task's container image, so that requests, limits, command and
        # args (which the plugin reads from the container) can be given.
        if image and not kwargs.get("container_image"):
            kwargs["image"] = image
        super().__init__(name=name, task_type=TASK_TYPE, task_type_version=TASK_TYPE_VERSION,
                         **kwargs)

    def get_custom(self, settings: SerializationSettings) -> Dict[str, Any]:
        # proto3 JSON names (backoffLimit), which the daemon decodes by the same rules.
        return MessageToDict(self._job)
