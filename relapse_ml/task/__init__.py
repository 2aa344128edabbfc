"""The prediction task: who is at risk at the landmark day, their label by the horizon, their weight."""

from relapse_ml.task.config import TaskConfig
from relapse_ml.task.landmark import (
    CENSORING_RULES,
    DEATH_COLUMN,
    LandmarkTask,
    TaskDefinitionError,
    build_landmark_task,
)
from relapse_ml.task.survival import KaplanMeier, censoring_survival, kaplan_meier

__all__ = [
    "CENSORING_RULES",
    "DEATH_COLUMN",
    "KaplanMeier",
    "LandmarkTask",
    "TaskConfig",
    "TaskDefinitionError",
    "build_landmark_task",
    "censoring_survival",
    "kaplan_meier",
]
