"""Tasks of the flyteplugd flytekit package, as a user writes them: a task type declared in YAML
(batch-job), with and without a container, called from a workflow."""
from flytekit import Resources, kwtypes, workflow
from flytekitplugins.flyteplugd import FlyteplugdTask

train = FlyteplugdTask(
    name="sdk_tasks.train",
    task_type="batch-job",
    task_type_version=2,
    config={"queue": "gpu", "steps": 100, "ratio": 0.5, "tags": ["a", "b"],
            "nested": {"on": True, "none": None}},
    inputs=kwtypes(n=int, label=str),
    outputs=kwtypes(result=str),
    image="ghcr.io/acme/trainer:1.2",
    command=["train"],
    args=["--n", "{{.inputs.n}}"],
    env={"MODE": "fast"},
    requests=Resources(cpu="1", mem="2Gi"),
    limits=Resources(cpu="2", mem="4Gi"),
)

report = FlyteplugdTask(
    name="sdk_tasks.report",
    task_type="batch-job",
    config={"greeting": "hello"},
    inputs=kwtypes(text=str),
    outputs=kwtypes(done=bool),
)

# The task type examples/tasktypes/batch-job.yaml declares (the crd plugin): a Job running the
# task's container, custom.backoffLimit its retries.
batch = FlyteplugdTask(
    name="sdk_tasks.batch",
    task_type="batch-job",
    config={"backoffLimit": 2},
    inputs=kwtypes(n=int),
    image="busybox:1.36",
    args=["echo", "{{.inputs.n}}"],
    requests=Resources(cpu="100m", mem="64Mi"),
)


@workflow
def pipeline(n: int = 3) -> bool:
    r = train(n=n, label="x")
    return report(text=r)
