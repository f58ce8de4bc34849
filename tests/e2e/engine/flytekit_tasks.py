"""Tasks written the way Flyte users write them, serialized by the real flytekit at test time.

Each function returns a flyteidl.core.tasks_pb2.TaskTemplate exactly as `pyflyte register`
would send it to Flyte (flytekit's own translator, no hand-written protobuf).
"""
from __future__ import annotations

from collections import OrderedDict

from flytekit import ContainerTask, PodTemplate, Resources, kwtypes, task
from flytekit.configuration import Image, ImageConfig, SerializationSettings
from flytekit.core.utils import ClassDecorator
from flytekit.tools.translator import get_serializable

IMAGE = "ghcr.io/flyteorg/flytekit:py3.11-1.16.31"


def settings(project="flytesnacks", domain="development", version="v1") -> SerializationSettings:
    return SerializationSettings(
        image_config=ImageConfig(default_image=Image(name="default", fqn=IMAGE.split(":")[0], tag=IMAGE.split(":")[1]),
                                 images=[]),
        project=project, domain=domain, version=version)


def serialize(entity, ss: SerializationSettings | None = None):
    return get_serializable(OrderedDict(), ss or settings(), entity).template.to_flyte_idl()


@task(requests=Resources(cpu="500m", mem="256Mi"), limits=Resources(cpu="1", mem="512Mi"))
def say_hello(name: str) -> str:
    return f"hello {name}"


@task(pod_template=PodTemplate(primary_container_name="primary",
                               labels={"team": "ml"}, annotations={"owner": "alice"}))
def with_pod_template(x: int) -> int:
    return x + 1


class experiment_tracker(ClassDecorator):
    """A task decorator in the shape of flytekitplugins-wandb's wandb_init: flytekit's translator
    puts its extra config into TaskTemplate.config, naming a dynamic log link (link_type) and
    the values that link's template reads as {{ .taskConfig.<key> }}."""

    def execute(self, *args, **kwargs):
        return self.task_function(*args, **kwargs)

    def get_extra_config(self):
        return {self.LINK_TYPE_KEY: "tracker-run", "entity": self.decorator_kwargs["entity"],
                "project": self.decorator_kwargs["project"]}


@task
@experiment_tracker(entity="flyte", project="demo")
def tracked(x: int) -> int:
    return x


echo = ContainerTask(name="echo", image="alpine:3.20", command=["echo"],
                     arguments=["{{.inputs.x}}", "{{.outputPrefix}}"], inputs=kwtypes(x=int))


def python_task():
    return serialize(say_hello)


def pod_template_task():
    return serialize(with_pod_template)


def tracked_task():
    return serialize(tracked)


def raw_container_task():
    return serialize(echo)
