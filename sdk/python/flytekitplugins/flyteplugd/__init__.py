"""
flytekit tasks for task types flyteplugd serves: a task is its type, its interface and a config
dictionary (TaskTemplate.custom); no Python code of the task runs anywhere.

.. autosummary::
   FlyteplugdTask
   FlyteplugdLocalExecutionError
"""
from .task import FlyteplugdLocalExecutionError, FlyteplugdTask

__all__ = ["FlyteplugdTask", "FlyteplugdLocalExecutionError"]
