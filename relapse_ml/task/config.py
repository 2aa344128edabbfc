"""Typed options of the prediction task (the ``task`` section of ``pipelines/train.yaml``)."""

from __future__ import annotations

from dataclasses import dataclass

from relapse_ml.task.landmark import CENSORING_RULES


@dataclass(frozen=True)
class TaskConfig:
    """The prediction task: landmark days, horizons, the primary horizon and the censoring rule.

    Parameters
    ----------
    landmarks_days : tuple of int
        Landmark days L, increasing: one model per landmark, for patients alive and
        relapse-free at day L (only data known by day L is used).
    horizons_days : tuple of int
        Horizons H, increasing: cumulative incidences of relapse and of non-relapse
        death by day H after infusion (reported where H > L).
    horizon_days : int
        The primary horizon (one of ``horizons_days``): ``risk``, its explanation,
        the headline metrics and promotion are at this horizon. Every landmark
        must come before it.
    censoring : {"ipcw", "exclude"}
        How patients lost to follow-up before H are handled (logged either way).
    """

    landmarks_days: tuple[int, ...]
    horizons_days: tuple[int, ...]
    horizon_days: int
    censoring: str

    def __post_init__(self) -> None:
        if self.censoring not in CENSORING_RULES:
            raise ValueError(
                f"censoring must be one of {', '.join(CENSORING_RULES)}, not {self.censoring!r}"
            )
        _check_days("landmarks_days", self.landmarks_days, minimum=0)
        _check_days("horizons_days", self.horizons_days, minimum=1)
        if self.horizon_days not in self.horizons_days:
            raise ValueError(
                f"horizon_days ({self.horizon_days!r}) must be one of horizons_days "
                f"{list(self.horizons_days)}"
            )
        late = [day for day in self.landmarks_days if day >= self.horizon_days]
        if late:
            raise ValueError(
                f"landmarks_days {late} are not before the primary horizon {self.horizon_days}"
            )

    @property
    def first_landmark(self) -> int:
        """The earliest landmark: what ``predict`` and ``explain`` use by default."""
        return self.landmarks_days[0]

    def horizons_after(self, landmark_day: int) -> tuple[int, ...]:
        """The horizons reported at ``landmark_day`` (those after it)."""
        return tuple(h for h in self.horizons_days if h > landmark_day)


def _check_days(name: str, days: tuple[int, ...], *, minimum: int) -> None:
    if not days:
        raise ValueError(f"{name} must list at least one day")
    for day in days:
        if isinstance(day, bool) or not isinstance(day, int) or day < minimum:
            raise ValueError(f"{name} must hold whole numbers of days >= {minimum}, not {day!r}")
    if list(days) != sorted(set(days)):
        raise ValueError(f"{name} must be increasing without repeats, not {list(days)}")
