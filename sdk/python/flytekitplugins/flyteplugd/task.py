"""FlyteplugdTask: a flytekit task whose TaskTemplate names a task type flyteplugd serves.

The daemon builds the Kubernetes object from the template alone, so the task carries no Python
function: like flytekit's connector tasks (BigQueryTask and friends) it is a PythonTask with a
custom section, an interface the user declares, and, when asked for, a container."""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Type

from flytekit.configuration import SerializationSettings
from flytekit.core.base_task import PythonTask
from flytekit.core.interface import Interface
from flytekit.core.resources import Resources, convert_resources_to_resource_model
from flytekit.exceptions.user import FlyteUserException
from flytekit.models import task as _task_model

# Task type names the daemon accepts: what a Kubernetes name may be (the crd plugin declares them
# as resources), at most 63 characters.
_TYPE_RE = re.compile(r"^[a-z0-9]([-a-z0-9_.]{0,61}[a-z0-9])?$")


class FlyteplugdLocalExecutionError(FlyteUserException):
    """A FlyteplugdTask was called in a local execution, where nothing can run it."""

    _ERROR_CODE = "USER:FlyteplugdLocalExecution"


class FlyteplugdTask(PythonTask):
    """A task of a type flyteplugd serves (declared in YAML, or a plugin of one's own).

    :param name: the task's name (unique in its project and domain)
    :param task_type: TaskTemplate.type, the declared task type name
    :param task_type_version: TaskTemplate.task_type_version, the declared version
    :param config: TaskTemplate.custom, a JSON-compatible dictionary
    :param inputs: the inputs, e.g. kwtypes(n=int)
    :param outputs: the outputs, e.g. kwtypes(result=str)
    :param image: when set, the template carries a container with this image (alias:
        container_image), with command, args, env and the requests/limits
    """

    _TASK_TYPE = "flyteplugd"  # a placeholder only: every instance names its own type

    def __init__(
        self,
        name: str,
        task_type: str,
        config: Optional[Dict[str, Any]] = None,
        task_type_version: int = 0,
        inputs: Optional[Dict[str, Type]] = None,
        outputs: Optional[Dict[str, Type]] = None,
        image: Optional[str] = None,
        container_image: Optional[str] = None,
        command: Optional[List[str]] = None,
        args: Optional[List[str]] = None,
        env: Optional[Dict[str, str]] = None,
        requests: Optional[Resources] = None,
        limits: Optional[Resources] = None,
        **kwargs,
    ):
        if not isinstance(task_type, str) or not _TYPE_RE.match(task_type):
            raise ValueError(f"task_type {task_type!r}: expected a name of lowercase letters, digits, "
                             f"'-', '_' or '.', at most 63 characters")
        if isinstance(task_type_version, bool) or not isinstance(task_type_version, int) or \
                not 0 <= task_type_version < 2**31:
            raise ValueError(f"task_type_version {task_type_version!r}: expected an integer from 0")
        if config is not None and not isinstance(config, dict):
            raise TypeError(f"config: expected a dict, got {type(config).__name__}")
        if image and container_image and image != container_image:
            raise ValueError("image and container_image name different images: pass one")
        self._config = dict(config or {})
        self._image = image or container_image
        if not self._image and (command or args or env or requests or limits):
            raise ValueError("command, args, env, requests and limits need a container: pass image=")
        self._command = list(command or [])
        self._args = list(args or [])
        self._env = dict(env or {})
        self._resources = (convert_resources_to_resource_model(requests=requests, limits=limits)
                           if requests or limits else _task_model.Resources(requests=[], limits=[]))
        super().__init__(
            task_type=task_type,
            name=name,
            task_config=None,
            interface=Interface(inputs=inputs or {}, outputs=outputs or {}),
            task_type_version=task_type_version,
            **kwargs,
        )

    @property
    def config(self) -> Dict[str, Any]:
        return self._config

    def get_custom(self, settings: SerializationSettings) -> Dict[str, Any]:
        return dict(self._config)

    def get_container(self, settings: SerializationSettings) -> Optional[_task_model.Container]:
        if not self._image:
            return None
        return _task_model.Container(
            image=self._image,
            command=self._command,
            args=self._args,
            resources=self._resources,
            env=self._env,
            config={},
        )

    def execute(self, **kwargs) -> Any:
        raise FlyteplugdLocalExecutionError(
            f"task {self.name!r} (task type {self.task_type!r}, version {self.task_type_version}) "
            f"runs only on a cluster, where flyteplugd serves its type; in a local execution, "
            f"mock it with flytekit.testing.task_mock")
