"""The prediction task: who is at risk at the landmark day, their label by the horizon, their weight."""

from relapse_ml.task.config import TaskConfig
from relapse_ml.task.landmark import (
    CENSORING_RULES,
    KaplanMeier,
    LandmarkTask,
    TaskDefinitionError,
    build_landmark_task,
    censoring_survival,
    kaplan_meier,
)

__all__ = [
    "CENSORING_RULES",
    "KaplanMeier",
    "LandmarkTask",
    "TaskConfig",
    "TaskDefinitionError",
    "build_landmark_task",
    "censoring_survival",
    "kaplan_meier",
]
