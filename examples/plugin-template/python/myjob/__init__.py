"""flytekit task for task type myjob: the plugin in ../myjob.c runs it as a Kubernetes Job.

myjob_pb2 is generated from ../proto/myjob.proto (see README.md):
    protoc --python_out=python/myjob -Iproto proto/myjob.proto
"""
from .task import MyJobTask

__all__ = ["MyJobTask"]
