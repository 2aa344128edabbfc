"""Typed options of the prediction task (the ``task`` section of ``pipelines/train.yaml``)."""

from __future__ import annotations

from dataclasses import dataclass

from relapse_ml.task.landmark import CENSORING_RULES


@dataclass(frozen=True)
class TaskConfig:
    """The prediction task besides the landmark: horizon H and the censoring rule.

    Parameters
    ----------
    horizon_days : int
        Relapse by day H after infusion is the label.
    censoring : {"ipcw", "exclude"}
        How patients lost to follow-up before H are handled (logged either way).
    """

    horizon_days: int
    censoring: str

    def __post_init__(self) -> None:
        if self.censoring not in CENSORING_RULES:
            raise ValueError(
                f"censoring must be one of {', '.join(CENSORING_RULES)}, not {self.censoring!r}"
            )
        if isinstance(self.horizon_days, bool) or not isinstance(self.horizon_days, int):
            raise ValueError(
                f"horizon_days must be a whole number of days, not {self.horizon_days!r}"
            )
        if self.horizon_days <= 0:
            raise ValueError(f"horizon_days must be positive, not {self.horizon_days}")
